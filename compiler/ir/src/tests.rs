use super::*;
use claw_stdlib::{Arch, SyscallTable};

fn nr(name: &str) -> u32 {
    SyscallTable::get(Arch::X86_64).by_name(name).unwrap().nr
}

fn rule(action: Action, states: Option<Vec<u32>>, matcher: Matcher) -> Rule {
    Rule {
        action,
        states,
        matcher,
        origin: "test".into(),
    }
}

fn sys(name: &str, conds: Vec<ArgCond>) -> Matcher {
    Matcher::Syscall { nr: nr(name), conds }
}

fn paths(verbs: &[Verb], pats: &[&str]) -> Matcher {
    Matcher::Access {
        verbs: verbs.to_vec(),
        entity: Entity::Paths(pats.iter().map(|p| p.to_string()).collect()),
    }
}

fn two_state_ir() -> Ir {
    Ir {
        name: "t".into(),
        arch: Arch::X86_64,
        default: Action::Deny(1),
        states: vec!["clean".into(), "tainted".into()],
        initial: 0,
        rules: vec![
            rule(Action::Allow, None, sys("getpid", vec![])),
            rule(
                Action::Allow,
                None,
                paths(&[Verb::Read, Verb::Write], &["$WORKSPACE/**"]),
            ),
            rule(Action::Deny(13), None, paths(&[Verb::Read], &["$WORKSPACE/.env"])),
            rule(Action::Allow, Some(vec![0]), sys("socket", vec![])),
            rule(Action::Kill, None, sys("ptrace", vec![])),
            rule(
                Action::Deny(13),
                None,
                sys(
                    "ioctl",
                    vec![ArgCond {
                        arg: 1,
                        width: 32,
                        mask: None,
                        op: CmpOp::Eq,
                        value: 0x5412,
                    }],
                ),
            ),
            rule(Action::Allow, None, sys("ioctl", vec![])),
        ],
        transitions: vec![Transition {
            from: 0,
            to: 1,
            event: paths(&[Verb::Read], &["$HOME/.ssh/**"]),
            origin: "test".into(),
        }],
        assertions: vec![],
    }
}

fn env() -> Env {
    let mut e = Env::new();
    e.set("WORKSPACE", "/w").set("HOME", "/home/u");
    e
}

#[test]
fn decide_combines_by_severity() {
    let ir = two_state_ir();
    let env = env();
    let read = |p: &str| {
        vec![Access::Path {
            verb: Verb::Read,
            path: p.into(),
        }]
    };
    let d = |state, name: &str, acc: &[Access]| {
        ir.decide(
            state,
            &Request {
                nr: nr(name),
                args: [0; 6],
                accesses: acc,
            },
            &env,
        )
        .action
    };
    assert_eq!(d(0, "getpid", &[]), Action::Allow);
    assert_eq!(d(0, "openat", &read("/w/src/main.rs")), Action::Allow);
    assert_eq!(
        d(0, "openat", &read("/w/.env")),
        Action::Deny(13),
        "deny is more severe than allow"
    );
    assert_eq!(d(0, "openat", &read("/etc/passwd")), Action::Deny(1), "default");
    // O_RDWR on a file only readable: the write access falls to the default.
    let rw = vec![
        Access::Path {
            verb: Verb::Read,
            path: "/w/.env".into(),
        },
        Access::Path {
            verb: Verb::Write,
            path: "/w/.env".into(),
        },
    ];
    assert_eq!(d(0, "openat", &rw), Action::Deny(13));
    assert_eq!(d(0, "socket", &[]), Action::Allow);
    assert_eq!(
        d(1, "socket", &[]),
        Action::Deny(1),
        "state rules end with the state"
    );
    assert_eq!(d(0, "ptrace", &[]), Action::Kill);
}

#[test]
fn unset_variables_match_nothing() {
    let ir = two_state_ir();
    let acc = [Access::Path {
        verb: Verb::Read,
        path: "/w/a".into(),
    }];
    let d = ir.decide(
        0,
        &Request {
            nr: nr("openat"),
            args: [0; 6],
            accesses: &acc,
        },
        &Env::new(),
    );
    assert_eq!(d.action, Action::Deny(1));
}

#[test]
fn transitions_fire_on_matching_accesses() {
    let ir = two_state_ir();
    let acc = [Access::Path {
        verb: Verb::Read,
        path: "/home/u/.ssh/id_ed25519".into(),
    }];
    let req = Request {
        nr: nr("openat"),
        args: [0; 6],
        accesses: &acc,
    };
    assert_eq!(ir.next_state(0, &req, &env()).map(|t| t.0), Some(1));
    assert_eq!(ir.next_state(1, &req, &env()), None);
}

#[test]
fn partition() {
    let ir = two_state_ir();
    let k = |name: &str| match ir.route(nr(name)) {
        Route::Kernel(k) => Some(k),
        Route::Monitor(_) => None,
    };
    assert_eq!(k("getpid").unwrap().constant(), Some(Action::Allow));
    assert_eq!(k("ptrace").unwrap().constant(), Some(Action::Kill));
    assert_eq!(
        k("reboot").unwrap().constant(),
        Some(Action::Deny(1)),
        "unmentioned: default"
    );
    let ioctl = k("ioctl").expect("decided from registers in the kernel");
    assert_eq!(ioctl.constant(), None);
    let mut args = [0u64; 6];
    args[1] = 0x5412;
    assert_eq!(ioctl.eval(&args), Action::Deny(13));
    args[1] = 0xffff_ffff_0000_5412;
    assert_eq!(
        ioctl.eval(&args),
        Action::Deny(13),
        "upper half of a 32-bit argument is ignored"
    );
    args[1] = 0x5413;
    assert_eq!(ioctl.eval(&args), Action::Allow);
    assert_eq!(
        ir.route(nr("socket")),
        Route::Monitor(MonitorReason::StateDependent)
    );
    assert!(matches!(
        ir.route(nr("openat")),
        Route::Monitor(MonitorReason::Transition)
    ));
    assert!(matches!(
        ir.route(nr("unlink")),
        Route::Monitor(MonitorReason::Mediated(Verb::Write))
    ));
    assert_eq!(k("clone3").unwrap().constant(), Some(Action::Deny(route::ENOSYS)));
}

#[test]
fn filter_outcome_checks_arch_and_x32() {
    let ir = two_state_ir();
    let x86 = Arch::X86_64.audit_arch();
    assert_eq!(
        ir.filter_outcome(x86, nr("getpid"), &[0; 6]),
        route::FilterOutcome::Act(Action::Allow)
    );
    assert_eq!(
        ir.filter_outcome(0x4000_0003, nr("getpid"), &[0; 6]),
        route::FilterOutcome::KillProcess
    );
    assert_eq!(
        ir.filter_outcome(x86, nr("getpid") | route::X32_BIT, &[0; 6]),
        route::FilterOutcome::KillProcess
    );
    assert_eq!(
        ir.filter_outcome(x86, 5000, &[0; 6]),
        route::FilterOutcome::Act(Action::Deny(1))
    );
}

#[test]
fn cidr_and_endpoints() {
    let ep = Endpoint {
        proto: Proto::Tcp,
        addr: Addr::Cidr("10.0.0.0".parse().unwrap(), 8),
        ports: (443, 443),
    };
    let a = |ip: &str, port| NetAddr::Inet {
        proto: Proto::Tcp,
        ip: ip.parse().unwrap(),
        port,
    };
    assert!(ep.matches(&a("10.1.2.3", 443)));
    assert!(!ep.matches(&a("11.1.2.3", 443)));
    assert!(!ep.matches(&a("10.1.2.3", 80)));
    assert!(ep.matches(&a("::ffff:10.1.2.3", 443)), "IPv4-mapped IPv6");
    let udp = NetAddr::Inet {
        proto: Proto::Udp,
        ip: "10.1.2.3".parse().unwrap(),
        port: 443,
    };
    assert!(!ep.matches(&udp));
    let any = Endpoint {
        proto: Proto::Udp,
        addr: Addr::Any,
        ports: (53, 53),
    };
    assert!(any.matches(&NetAddr::Inet {
        proto: Proto::Udp,
        ip: "::1".parse().unwrap(),
        port: 53
    }));
}

#[test]
fn a_verb_allowed_on_every_path_is_decided_in_the_kernel() {
    let mut ir = two_state_ir();
    let stat = nr("newfstatat");
    let refused = |r: Route| matches!(r, Route::Kernel(k) if k.constant() == Some(Action::Deny(1)));
    assert!(
        refused(ir.route(stat)),
        "no visible rule: the default, in the kernel"
    );
    ir.rules
        .push(rule(Action::Allow, None, paths(&[Verb::Visible], &["/**"])));
    assert_eq!(
        ir.route(stat),
        Route::Kernel(KernelDecision {
            rules: vec![],
            fallback: Action::Allow
        })
    );
    // Opens also read and write: they still go to the monitor.
    assert!(matches!(ir.route(nr("openat")), Route::Monitor(_)));
    // A refusal on some path brings the monitor back.
    let mut hidden = ir.clone();
    hidden.rules.push(rule(
        Action::Deny(13),
        None,
        paths(&[Verb::Visible], &["/secret/**"]),
    ));
    assert!(matches!(hidden.route(stat), Route::Monitor(_)));
    // So does an allow in one state only.
    let mut one_state = two_state_ir();
    one_state.rules.push(rule(
        Action::Allow,
        Some(vec![0]),
        paths(&[Verb::Visible], &["/**"]),
    ));
    assert!(matches!(one_state.route(stat), Route::Monitor(_)));
}

#[test]
fn env_matches_is_expand_then_glob() {
    let mut env = Env::new();
    env.set("WS", "/home/u/proj").set("EMPTY", "/");
    let patterns = [
        "$WS/**",
        "$WS",
        "$WS/src/*.rs",
        "$WS/a",
        "$NOPE/**",
        "/home/**",
        "$EMPTY/**",
        "$WS/**/x",
    ];
    let paths = [
        "/home/u/proj",
        "/home/u/proj/",
        "/home/u/projx",
        "/home/u/proj/a",
        "/home/u/proj/src/m.rs",
        "/home/u/proj/b/x",
        "/etc",
        "/",
    ];
    for p in patterns {
        for q in paths {
            let slow = env.expand(p).is_some_and(|e| glob_match(&e, q));
            assert_eq!(env.matches(p, q), slow, "{p} vs {q}");
        }
    }
}

#[test]
fn name_changes_read_so_read_rules_route_them_to_the_monitor() {
    // Only a read rule: renames and links read what they rename, so they go to
    // the monitor; unlink (a write only) stays a kernel default.
    let ir = Ir {
        name: "t".into(),
        arch: Arch::X86_64,
        default: Action::Allow,
        states: vec![String::new()],
        initial: 0,
        rules: vec![rule(Action::Deny(13), None, paths(&[Verb::Read], &["/**/.env"]))],
        transitions: vec![],
        assertions: vec![],
    };
    for name in ["rename", "renameat", "renameat2", "link", "linkat"] {
        assert_eq!(
            ir.route(nr(name)),
            Route::Monitor(MonitorReason::Mediated(Verb::Read)),
            "{name}"
        );
        let req = Request {
            nr: nr(name),
            args: [0; 6],
            accesses: &[
                Access::Path {
                    verb: Verb::Write,
                    path: "/w/.env".into(),
                },
                Access::Path {
                    verb: Verb::Write,
                    path: "/w/notes".into(),
                },
                Access::Path {
                    verb: Verb::Read,
                    path: "/w/.env".into(),
                },
            ],
        };
        assert_eq!(ir.decide(0, &req, &env()).action, Action::Deny(13), "{name}");
    }
    assert!(matches!(ir.route(nr("unlink")), Route::Kernel(_)));
    // Reading and writing allowed everywhere: back to a kernel allow.
    let mut open = ir.clone();
    open.rules = vec![rule(
        Action::Allow,
        None,
        paths(&[Verb::Read, Verb::Write], &["/**"]),
    )];
    assert_eq!(
        open.route(nr("rename")),
        Route::Kernel(KernelDecision {
            rules: vec![],
            fallback: Action::Allow
        })
    );
    // Writing alone allowed everywhere is not enough: the read is decided too.
    open.rules = vec![rule(Action::Allow, None, paths(&[Verb::Write], &["/**"]))];
    assert!(matches!(open.route(nr("rename")), Route::Monitor(_)));
}

#[test]
fn a_syscall_allow_of_rename_leaves_reading_bounded_by_landlock() {
    // The kernel checks no read right for a rename (the monitor decides its read),
    // so `allow rename` must not make Landlock give up on reading.
    let ir = Ir {
        name: "t".into(),
        arch: Arch::X86_64,
        default: Action::Deny(1),
        states: vec![String::new()],
        initial: 0,
        rules: vec![
            rule(Action::Allow, None, sys("rename", vec![])),
            rule(Action::Allow, None, paths(&[Verb::Read], &["/usr/**"])),
        ],
        transitions: vec![],
        assertions: vec![],
    };
    let plan = ir.landlock_plan();
    assert!(plan.handled_fs.contains(&landlock::FsRight::ReadFile), "{plan:?}");
    assert!(
        !plan.handled_fs.contains(&landlock::FsRight::RemoveFile),
        "{plan:?}"
    );
}

#[test]
fn loopback_stays_inside_unless_an_endpoint_names_it() {
    let mut ir = two_state_ir();
    let a = |proto, ip: &str, port| NetAddr::Inet {
        proto,
        ip: ip.parse().unwrap(),
        port,
    };
    // No network rule at all: every loopback address is the sandbox's own.
    for ip in ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"] {
        assert!(ir.stays_inside(&a(Proto::Tcp, ip, 8080)), "{ip}");
    }
    assert!(!ir.stays_inside(&a(Proto::Tcp, "10.0.0.1", 8080)), "not loopback");
    assert!(!ir.stays_inside(&NetAddr::UnixAbstract("x".into())));
    // `*:443` names every address on port 443, loopback included.
    ir.rules.push(rule(
        Action::Allow,
        Some(vec![0]),
        Matcher::Access {
            verbs: vec![Verb::Connect],
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Tcp,
                addr: Addr::Any,
                ports: (443, 443),
            }]),
        },
    ));
    // A deny names its endpoints too (the host's database stays refused).
    ir.rules.push(rule(
        Action::Deny(13),
        None,
        Matcher::Access {
            verbs: vec![Verb::Send],
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Udp,
                addr: Addr::Cidr("127.0.0.53".parse().unwrap(), 32),
                ports: (53, 53),
            }]),
        },
    ));
    assert!(!ir.stays_inside(&a(Proto::Tcp, "127.0.0.1", 443)));
    assert!(!ir.stays_inside(&a(Proto::Tcp, "::1", 443)));
    assert!(
        ir.stays_inside(&a(Proto::Udp, "127.0.0.1", 443)),
        "another protocol"
    );
    assert!(ir.stays_inside(&a(Proto::Tcp, "127.0.0.1", 444)));
    assert!(!ir.stays_inside(&a(Proto::Udp, "127.0.0.53", 53)));
    assert!(ir.stays_inside(&a(Proto::Udp, "127.0.0.54", 53)));
    // A bind rule does not make an address the host's.
    ir.rules.push(rule(
        Action::Allow,
        None,
        Matcher::Access {
            verbs: vec![Verb::Bind],
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Tcp,
                addr: Addr::Any,
                ports: (9000, 9000),
            }]),
        },
    ));
    assert!(ir.stays_inside(&a(Proto::Tcp, "127.0.0.1", 9000)));
}

fn domain(p: &str, port: u16) -> Endpoint {
    Endpoint {
        proto: Proto::Tcp,
        addr: Addr::Domain(DomainPattern::parse(p).unwrap()),
        ports: (port, port),
    }
}

fn inet(ip: &str, port: u16) -> NetAddr {
    NetAddr::Inet {
        proto: Proto::Tcp,
        ip: ip.parse().unwrap(),
        port,
    }
}

/// A policy allowing `api.example.com` and `*.cdn.example` on 443 in `clean`.
fn domain_ir() -> Ir {
    let mut ir = two_state_ir();
    ir.rules.push(rule(
        Action::Allow,
        Some(vec![0]),
        Matcher::Access {
            verbs: vec![Verb::Connect],
            entity: Entity::Endpoints(vec![domain("api.example.com", 443), domain("*.cdn.example", 443)]),
        },
    ));
    ir
}

#[test]
fn a_domain_endpoint_matches_the_name_an_address_was_reached_as() {
    let ir = domain_ir();
    let env = Env::new();
    let connect = |addr: NetAddr, name: Option<&str>, state| {
        let acc = [Access::Net {
            verb: Verb::Connect,
            addr,
            name: name.map(str::to_string),
        }];
        let req = Request {
            nr: nr("connect"),
            args: [0; 6],
            accesses: &acc,
        };
        ir.decide(state, &req, &env).action.is_allowing()
    };
    assert!(connect(inet("203.0.113.7", 443), Some("api.example.com"), 0));
    assert!(connect(inet("203.0.113.7", 443), Some("a.b.cdn.example"), 0));
    assert!(
        !connect(inet("203.0.113.7", 443), Some("cdn.example"), 0),
        "the wildcard is below, not at"
    );
    assert!(
        !connect(inet("203.0.113.7", 443), None, 0),
        "no name: no domain endpoint"
    );
    assert!(
        !connect(inet("203.0.113.7", 80), Some("api.example.com"), 0),
        "another port"
    );
    assert!(
        !connect(inet("203.0.113.7", 443), Some("api.example.com"), 1),
        "after the taint"
    );
    assert!(!connect(inet("203.0.113.7", 443), Some("evil.example"), 0));
}

#[test]
fn answers_in_special_blocks_are_kept_only_where_the_policy_names_the_block() {
    let mut ir = domain_ir();
    for ip in [
        "10.1.2.3",
        "127.0.0.1",
        "169.254.169.254",
        "192.168.1.1",
        "::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ] {
        assert!(!ir.admits_answer("api.example.com", ip.parse().unwrap()), "{ip}");
    }
    assert!(ir.admits_answer("api.example.com", "203.0.113.7".parse().unwrap()));
    assert!(ir.admits_answer("localhost", "127.0.0.1".parse().unwrap()));
    assert!(ir.admits_answer("localhost", "::1".parse().unwrap()));
    assert!(
        !ir.admits_answer("localhost", "203.0.113.7".parse().unwrap()),
        "localhost is loopback only"
    );
    // A rule of any verb and action naming 10/8 admits answers there.
    ir.rules.push(rule(
        Action::Deny(13),
        None,
        Matcher::Access {
            verbs: vec![Verb::Send],
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Tcp,
                addr: Addr::Cidr("10.0.0.0".parse().unwrap(), 8),
                ports: (443, 443),
            }]),
        },
    ));
    assert!(ir.admits_answer("api.example.com", "10.1.2.3".parse().unwrap()));
    assert!(!ir.admits_answer("api.example.com", "192.168.1.1".parse().unwrap()));
}

#[test]
fn queries_leave_only_in_states_that_could_use_the_name() {
    let mut ir = domain_ir();
    assert!(ir.forwards(0, "api.example.com"));
    assert!(ir.forwards(0, "x.cdn.example"));
    assert!(!ir.forwards(0, "secret.attacker.example"));
    assert!(
        !ir.forwards(1, "api.example.com"),
        "after the taint nothing leaves"
    );
    assert!(ir.has_domains() && ir.domain_matters("x.cdn.example") && !ir.domain_matters("cdn.example"));
    // An `*` endpoint allows every address on its ports: every name may leave.
    ir.rules.push(rule(
        Action::Allow,
        Some(vec![0]),
        Matcher::Access {
            verbs: vec![Verb::Connect],
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Tcp,
                addr: Addr::Any,
                ports: (443, 443),
            }]),
        },
    ));
    assert!(ir.forwards(0, "anything.example"));
    assert!(!ir.forwards(1, "anything.example"));
}

#[test]
fn the_resolver_address_and_names_reaching_loopback_in_isolated_mode() {
    let mut ir = two_state_ir();
    let resolver = NetAddr::Inet {
        proto: Proto::Udp,
        ip: "127.0.0.53".parse().unwrap(),
        port: 53,
    };
    assert!(ir.stays_inside(&resolver), "no domain endpoint: plain loopback");
    ir.rules.push(rule(
        Action::Allow,
        None,
        Matcher::Access {
            verbs: vec![Verb::Send],
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Udp,
                addr: Addr::Any,
                ports: (53, 53),
            }]),
        },
    ));
    assert!(!ir.stays_inside(&resolver), "named by `*`: the host's");
    ir.rules.push(rule(
        Action::Allow,
        Some(vec![0]),
        Matcher::Access {
            verbs: vec![Verb::Connect],
            entity: Entity::Endpoints(vec![domain("localhost", 8080), domain("db.example", 5432)]),
        },
    ));
    assert!(
        ir.stays_inside(&resolver),
        "with domain endpoints the resolver is the sandbox's own"
    );
    assert!(
        !ir.stays_inside(&inet("127.0.0.1", 8080)),
        "localhost:8080 is the host's"
    );
    assert!(ir.stays_inside(&inet("127.0.0.1", 8081)));
    assert!(ir.stays_inside(&inet("127.0.0.9", 5432)));
    assert!(
        !ir.stays_inside_as(&inet("127.0.0.9", 5432), &["db.example".to_string()]),
        "reached as a name: the host's"
    );
}
