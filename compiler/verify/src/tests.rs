use super::*;
use claw_ir::*;
use claw_stdlib::{Arch, SyscallTable};

/// Every solver feature the verifier uses, so a libz3 without one fails here at
/// link or run time rather than in the field.
#[test]
fn solver_features_link_and_work() {
    use z3::ast::{Bool, Regexp, String as Str, BV};
    let s = z3::Solver::new();
    let x = BV::new_const("x", 64);
    let path = Str::new_const("p");
    let var = Str::new_const("v");
    let not_slash = Regexp::union(&[Regexp::range(&'\u{1}', &'.'), Regexp::range(&'0', &'\u{7f}')]);
    let seg = Regexp::intersect(&[not_slash.plus(), Regexp::literal("..").complement()]);
    let re = Regexp::union(&[
        Regexp::literal("/"),
        Regexp::concat(&[Regexp::literal("/"), seg]).star(),
    ]);
    let suffix = path.substr(var.length(), path.length() - var.length());
    s.assert(Bool::and(&[
        x.extract(31, 0)
            .bvand(BV::from_u64(0xff, 32))
            .eq(BV::from_u64(7, 32)),
        x.bvuge(BV::from_u64(1 << 40, 64)),
        var.eq(Str::from("/ws")),
        var.prefix(&path),
        suffix.regex_matches(&re),
        path.length().gt(z3::ast::Int::from_u64(5)),
        x.concat(&x).extract(127, 64).eq(&x),
        Bool::from_bool(true).ite(&x, &x).eq(&x),
    ]));
    assert_eq!(s.check(), z3::SatResult::Sat);
    let m = s.get_model().unwrap();
    let p = m.eval(&path, true).unwrap().as_string().unwrap();
    assert!(p.starts_with("/ws/") && p.len() > 5, "{p}");
    assert_eq!(m.eval(&x, true).unwrap().as_u64().unwrap() & 0xff, 7);
}

fn nr(n: &str) -> u32 {
    SyscallTable::get(Arch::X86_64).by_name(n).unwrap().nr
}

fn paths(verbs: &[Verb], p: &[&str]) -> Matcher {
    Matcher::Access {
        verbs: verbs.to_vec(),
        entity: Entity::Paths(p.iter().map(|s| s.to_string()).collect()),
    }
}

fn rule(action: Action, states: Option<Vec<u32>>, matcher: Matcher) -> Rule {
    Rule {
        action,
        states,
        matcher,
        origin: "t".into(),
    }
}

fn https() -> Entity {
    Entity::Endpoints(vec![Endpoint {
        proto: Proto::Tcp,
        addr: Addr::Any,
        ports: (443, 443),
    }])
}

/// The signature policy: network until a secret is read.
fn exfil_ir(leaky: bool) -> Ir {
    let mut rules = vec![
        rule(
            Action::Allow,
            None,
            paths(&[Verb::Read, Verb::Write], &["$WORKSPACE/**"]),
        ),
        rule(
            Action::Allow,
            Some(vec![0]),
            Matcher::Access {
                verbs: vec![Verb::Connect],
                entity: https(),
            },
        ),
    ];
    if leaky {
        // A forgotten rule: the tainted state may still connect.
        rules.push(rule(
            Action::Allow,
            Some(vec![1]),
            Matcher::Access {
                verbs: vec![Verb::Connect],
                entity: https(),
            },
        ));
    }
    Ir {
        name: "exfil".into(),
        arch: Arch::X86_64,
        default: Action::Deny(1),
        states: vec!["clean".into(), "tainted".into()],
        initial: 0,
        rules,
        transitions: vec![Transition {
            from: 0,
            to: 1,
            event: paths(&[Verb::Read], &["$HOME/.ssh/**", "/**/.env"]),
            origin: "t".into(),
        }],
        assertions: vec![
            Assertion {
                property: Property::Never {
                    what: Pattern::Access {
                        verbs: vec![Verb::Connect],
                        entity: None,
                    },
                    after: Some(Pattern::Access {
                        verbs: vec![Verb::Read],
                        entity: Some(Entity::Paths(vec!["$HOME/.ssh/**".into(), "/**/.env".into()])),
                    }),
                },
                text: "never connect after read secrets".into(),
                origin: "t".into(),
            },
            Assertion {
                property: Property::Always {
                    verbs: vec![Verb::Write],
                    within: Entity::Paths(vec!["$WORKSPACE/**".into()]),
                },
                text: "always write within workspace".into(),
                origin: "t".into(),
            },
        ],
    }
}

#[test]
fn no_network_after_secrets_is_proved() {
    let ir = exfil_ir(false);
    let prog = claw_bpf::compile(&ir).unwrap();
    let r = verify(&ir, Some(&prog), Options::default());
    for c in &r.checks {
        assert_eq!(c.outcome, Outcome::Proved, "{:?}", c.check);
    }
}

#[test]
fn a_leak_is_found_with_a_trace() {
    let ir = exfil_ir(true);
    let r = verify(&ir, None, Options::default());
    let Outcome::Failed(cex) = &r.checks[0].outcome else {
        panic!("expected a counterexample: {:?}", r.checks[0])
    };
    let text = cex.to_string();
    // Read a secret in `clean` (inside the workspace, so it is allowed), then connect.
    assert!(
        cex.steps.iter().any(|s| s.state == "clean"
            && s.request
                .access
                .as_deref()
                .is_some_and(|a| a.starts_with("read "))),
        "{text}"
    );
    let last = cex.steps.last().unwrap();
    assert_eq!(last.state, "tainted", "{text}");
    assert!(
        last.request
            .access
            .as_deref()
            .is_some_and(|a| a.starts_with("connect tcp") && a.ends_with(":443")),
        "{text}"
    );
    assert!(
        text.contains("$WORKSPACE = ") && text.contains("$HOME = "),
        "{text}"
    );
}

#[test]
fn always_within_finds_a_write_outside() {
    let mut ir = exfil_ir(false);
    ir.rules
        .push(rule(Action::Allow, None, paths(&[Verb::Write], &["/tmp/**"])));
    let r = verify(&ir, None, Options::default());
    let Outcome::Failed(cex) = &r.checks[1].outcome else {
        panic!("{:?}", r.checks[1])
    };
    let access = cex.steps.last().unwrap().request.access.clone().unwrap();
    assert!(access.starts_with("write /tmp"), "{cex}");
}

#[test]
fn open_files_survive_the_transition() {
    // "never write workspace after read secrets" fails even though the tainted state
    // has no write rule: a file opened for writing before stays writable.
    let mut ir = exfil_ir(false);
    ir.rules[0].states = Some(vec![0]);
    ir.assertions = vec![Assertion {
        property: Property::Never {
            what: Pattern::Access {
                verbs: vec![Verb::Write],
                entity: Some(Entity::Paths(vec!["$WORKSPACE/**".into()])),
            },
            after: Some(Pattern::Access {
                verbs: vec![Verb::Read],
                entity: Some(Entity::Paths(vec!["/**/.env".into()])),
            }),
        },
        text: "never write workspace after read secrets".into(),
        origin: "t".into(),
    }];
    let r = verify(&ir, None, Options::default());
    let Outcome::Failed(cex) = &r.checks[0].outcome else {
        panic!("{:?}", r.checks[0])
    };
    assert!(
        cex.explanation
            .as_deref()
            .is_some_and(|e| e.contains("cannot be revoked")),
        "{cex}"
    );
}

#[test]
fn lints_find_dead_rules_and_transitions() {
    let mut ir = exfil_ir(false);
    // Shadowed: every request it matches is killed by a more severe rule.
    ir.rules.push(rule(
        Action::Kill,
        None,
        Matcher::Syscall {
            nr: nr("ptrace"),
            conds: vec![],
        },
    ));
    ir.rules.push(rule(
        Action::Allow,
        None,
        Matcher::Syscall {
            nr: nr("ptrace"),
            conds: vec![],
        },
    ));
    // No effect: denies what the default denies and overrides nothing.
    ir.rules.push(rule(
        Action::Deny(1),
        None,
        Matcher::Syscall {
            nr: nr("reboot"),
            conds: vec![],
        },
    ));
    // Never fires: nothing allows exec. (Reading /etc would not do: $WORKSPACE is
    // an unknown directory and may well be /etc.)
    ir.transitions.push(Transition {
        from: 0,
        to: 1,
        event: paths(&[Verb::Exec], &["/etc/**"]),
        origin: "t".into(),
    });
    let r = verify(&ir, None, Options::default());
    let codes: Vec<(&str, String)> = r
        .lints
        .iter()
        .map(|l| {
            let at = match l {
                Lint::Rule { rule, .. } => format!("rule {rule}"),
                Lint::Transition { transition, .. } => format!("transition {transition}"),
                Lint::State { state, .. } => format!("state {state}"),
            };
            (l.code(), at)
        })
        .collect();
    let n = ir.rules.len();
    assert!(codes.contains(&("W0401", format!("rule {}", n - 2))), "{codes:?}");
    assert!(codes.contains(&("W0402", format!("rule {}", n - 1))), "{codes:?}");
    assert!(codes.contains(&("W0403", "transition 1".into())), "{codes:?}");
    assert!(
        !codes.iter().any(|(_, at)| at == "rule 0" || at == "transition 0"),
        "{codes:?}"
    );
}

#[test]
fn translation_validation_catches_planted_bugs() {
    let ir = exfil_ir(false);
    let mut ir = ir;
    ir.rules.push(rule(
        Action::Deny(13),
        None,
        Matcher::Syscall {
            nr: nr("ioctl"),
            conds: vec![ArgCond {
                arg: 1,
                width: 32,
                mask: None,
                op: CmpOp::Eq,
                value: 0x5412,
            }],
        },
    ));
    ir.rules.push(rule(
        Action::Allow,
        None,
        Matcher::Syscall {
            nr: nr("ioctl"),
            conds: vec![],
        },
    ));
    ir.rules.push(rule(
        Action::Allow,
        None,
        Matcher::Syscall {
            nr: nr("getpid"),
            conds: vec![],
        },
    ));
    let prog = claw_bpf::compile(&ir).unwrap();
    assert_eq!(validate_translation(&ir, &prog, 20_000), Outcome::Proved);

    let mut mutants = Vec::new();
    // Flip a conditional jump of the syscall tree.
    let jge = prog
        .iter()
        .position(|i| i.code == claw_bpf::BPF_JMP | claw_bpf::BPF_JGE)
        .unwrap();
    let mut m = prog.clone();
    let insn = &mut m[jge];
    std::mem::swap(&mut insn.jt, &mut insn.jf);
    mutants.push(("flipped jump", m));
    // Change the constant the ioctl argument is compared with.
    let jeq = prog
        .iter()
        .position(|i| i.code == claw_bpf::BPF_JMP | claw_bpf::BPF_JEQ && i.k == 0x5412)
        .unwrap();
    let mut m = prog.clone();
    m[jeq].k = 0x5413;
    mutants.push(("changed constant", m));
    // Compare the argument's upper half instead of the lower.
    let ld = prog
        .iter()
        .position(|i| *i == claw_bpf::Insn::ld_abs(claw_bpf::OFF_ARGS + 8))
        .unwrap();
    let mut m = prog.clone();
    m[ld].k += 4;
    mutants.push(("wrong half", m));
    // Drop the architecture check.
    let mut m = prog.clone();
    m[1].k = Arch::Aarch64.audit_arch();
    mutants.push(("wrong arch", m));

    for (what, bad) in mutants {
        match validate_translation(&ir, &bad, 20_000) {
            Outcome::Failed(cex) => {
                // The counterexample is real: the emulator shows the mutant and the
                // original disagree on it.
                let step = &cex.steps[0];
                let d = claw_bpf::SeccompData {
                    // A number outside the table is shown as `syscall N`.
                    nr: step
                        .request
                        .syscall
                        .strip_prefix("syscall ")
                        .map_or_else(|| nr(&step.request.syscall), |n| n.parse().unwrap()),
                    arch: if step
                        .note
                        .starts_with(&format!("arch {:#x}", Arch::X86_64.audit_arch()))
                    {
                        Arch::X86_64.audit_arch()
                    } else {
                        u32::from_str_radix(
                            step.note.trim_start_matches("arch 0x").split(':').next().unwrap(),
                            16,
                        )
                        .unwrap()
                    },
                    instruction_pointer: 0,
                    args: step.request.args,
                };
                let (good, _) = claw_bpf::run(&prog, &d).unwrap();
                let (mutant, _) = claw_bpf::run(&bad, &d).unwrap();
                assert_ne!(
                    good, mutant,
                    "{what}: counterexample does not separate them: {cex}"
                );
            }
            other => panic!("{what}: expected a failure, got {other:?}"),
        }
    }
}

/// `allow visible "/**"` lets the partition answer `stat` in the kernel; the proof
/// accepts that filter for that policy, and refuses it for a policy that hides a
/// path (which needs the monitor to decide `stat`).
#[test]
fn a_kernel_allowed_path_syscall_is_proved_only_when_every_path_is_allowed() {
    let mut open = exfil_ir(false);
    open.rules
        .push(rule(Action::Allow, None, paths(&[Verb::Visible], &["/**"])));
    let stat = nr("newfstatat");
    assert!(matches!(open.route(stat), Route::Kernel(_)));
    assert_eq!(tv::kernel_allowed_mediation(&open), Outcome::Proved);
    let prog = claw_bpf::compile(&open).unwrap();
    assert_eq!(validate_translation(&open, &prog, 20_000), Outcome::Proved);

    let mut hiding = open.clone();
    hiding.rules.push(rule(
        Action::Deny(13),
        None,
        paths(&[Verb::Visible], &["/secret/**"]),
    ));
    assert!(matches!(hiding.route(stat), Route::Monitor(_)));
    match validate_translation(&hiding, &prog, 20_000) {
        Outcome::Failed(cex) => {
            let d = claw_bpf::SeccompData {
                nr: nr(&cex.steps[0].request.syscall),
                arch: Arch::X86_64.audit_arch(),
                instruction_pointer: 0,
                args: cex.steps[0].request.args,
            };
            let right = claw_bpf::compile(&hiding).unwrap();
            assert_ne!(
                claw_bpf::run(&prog, &d).unwrap().0,
                claw_bpf::run(&right, &d).unwrap().0,
                "the counterexample shows the two filters disagree: {cex:?}"
            );
        }
        other => panic!("a kernel allow of stat passed for a policy hiding /secret: {other:?}"),
    }
}

/// Under `default allow` with no rule about paths, every path syscall goes to the
/// kernel as an allow, and that is what the policy says: proved, with no rule
/// needed. Adding a transition on reads makes the same filter wrong.
#[test]
fn default_allow_needs_no_rule_for_a_kernel_allowed_path_syscall() {
    let mut ir = exfil_ir(false);
    ir.default = Action::Allow;
    ir.rules.clear();
    ir.transitions.clear();
    let open = nr("openat");
    assert!(matches!(ir.route(open), Route::Kernel(_)));
    assert_eq!(tv::kernel_allowed_mediation(&ir), Outcome::Proved);
    let prog = claw_bpf::compile(&ir).unwrap();
    assert_eq!(validate_translation(&ir, &prog, 20_000), Outcome::Proved);

    let mut watched = exfil_ir(false);
    watched.default = Action::Allow;
    watched.rules.clear();
    assert!(matches!(watched.route(open), Route::Monitor(_)));
    assert!(
        matches!(validate_translation(&watched, &prog, 20_000), Outcome::Failed(_)),
        "a filter that lets the kernel open files was proved for a policy with a transition on reads"
    );
}

/// A name change reads the object it renames (docs/language.md, "Names"): a policy
/// that allows `rename` whatever its paths cannot prove that a `.env` is never
/// read, though no rule lets anything open one. The model's verbs for a name
/// change are `Mediation::verbs`, which the monitor's decisions equal.
#[test]
fn a_rename_allowed_by_a_syscall_rule_reads_what_it_renames() {
    let ir = Ir {
        name: "names".into(),
        arch: Arch::X86_64,
        default: Action::Deny(1),
        states: vec![String::new()],
        initial: 0,
        rules: vec![
            rule(
                Action::Allow,
                None,
                Matcher::Syscall {
                    nr: nr("rename"),
                    conds: vec![],
                },
            ),
            rule(
                Action::Allow,
                None,
                paths(&[Verb::Read], &["$WORKSPACE/src/*.rs"]),
            ),
        ],
        transitions: vec![],
        assertions: vec![Assertion {
            property: Property::Never {
                what: Pattern::Access {
                    verbs: vec![Verb::Read],
                    entity: Some(Entity::Paths(vec!["/**/.env".into()])),
                },
                after: None,
            },
            text: "never read dotenv".into(),
            origin: "t".into(),
        }],
    };
    let r = verify(&ir, None, Options::default());
    let Outcome::Failed(cex) = &r.checks[0].outcome else {
        panic!("renaming a .env reads it: {:?}", r.checks[0])
    };
    let last = cex.steps.last().unwrap();
    assert_eq!(last.request.syscall, "rename", "{cex}");
    assert!(
        last.request.access.as_deref().is_some_and(|a| a
            .split(", ")
            .any(|x| x.starts_with("read ") && x.ends_with(".env"))),
        "{cex}"
    );
    // With the read denied, it holds: renaming is refused like opening.
    let mut ir = ir;
    ir.rules
        .push(rule(Action::Deny(13), None, paths(&[Verb::Read], &["/**/.env"])));
    let r = verify(&ir, None, Options::default());
    assert_eq!(r.checks[0].outcome, Outcome::Proved, "{:?}", r.checks[0]);
}

/// The values witnesses give path variables are ones the runtime accepts
/// (`claw_ir::check_var`, the assumption the proofs rest on).
#[test]
fn witness_values_satisfy_the_assumption() {
    for (var, value) in crate::witness::witness_env() {
        assert_eq!(claw_ir::check_var(var, value), Ok(()), "{var}={value}");
    }
}

/// Witnesses give every path variable of the vocabulary's one list a value, and
/// no other.
#[test]
fn witnesses_cover_every_path_variable() {
    let witnessed: Vec<&str> = crate::witness::witness_env().iter().map(|(v, _)| *v).collect();
    let vocab: Vec<&str> = claw_ir::PATH_VARIABLES.iter().map(|(v, _)| *v).collect();
    assert_eq!(witnessed, vocab);
}

/// The product construction behind pattern pruning, against brute force over
/// small components.
#[test]
fn pattern_overlap_is_exact_for_one_origin() {
    use crate::encode::{may_overlap, subsumes};
    assert!(!may_overlap("$HOME/.ssh/*", "$HOME/.ssh/*/x"));
    assert!(may_overlap("$HOME/.ssh/*", "$HOME/**/x"));
    assert!(may_overlap("/data/??/x", "/data/é/**"), "bytes: ?? is é");
    assert!(!may_overlap("/data/?/x", "/data/ab/x"));
    assert!(may_overlap("/a*b/c", "/ab/c"));
    assert!(!may_overlap("/a*b/c", "/ba/c"));
    assert!(may_overlap("/**", "$WORKSPACE/x"));
    assert!(subsumes("/opt/**", "/opt/tools/*"));
    assert!(subsumes("/opt/*", "/opt/tools"));
    assert!(!subsumes("/opt/*", "/opt/tools/*"));
    assert!(!subsumes("/opt/**", "$HOME/x"));
    // Against the interpreter's matcher on every short component sequence.
    let comps = ["a", "b", "ab", "*", "a*", "?", "**"];
    let names = ["a", "b", "ab", "ba", "aa"];
    let mut pats = vec![];
    for x in comps {
        pats.push(format!("/{x}"));
        for y in comps {
            pats.push(format!("/{x}/{y}"));
        }
    }
    let mut paths = vec!["/".to_string()];
    for x in names {
        paths.push(format!("/{x}"));
        for y in names {
            paths.push(format!("/{x}/{y}"));
            for z in names {
                paths.push(format!("/{x}/{y}/{z}"));
            }
        }
    }
    for p in &pats {
        for q in &pats {
            let common = paths
                .iter()
                .any(|x| claw_ir::glob_match(p, x) && claw_ir::glob_match(q, x));
            if common {
                assert!(may_overlap(p, q), "{p} and {q} share a path");
            }
            if subsumes(q, p) {
                assert!(
                    paths
                        .iter()
                        .all(|x| !claw_ir::glob_match(p, x) || claw_ir::glob_match(q, x)),
                    "{q} does not contain {p}"
                );
            }
        }
    }
}

#[test]
fn the_logging_filter_is_proved_equivalent_and_mutants_are_caught() {
    let mut ir = exfil_ir(false);
    ir.rules.push(rule(
        Action::Deny(13),
        None,
        Matcher::Syscall {
            nr: nr("ioctl"),
            conds: vec![ArgCond {
                arg: 1,
                width: 32,
                mask: None,
                op: CmpOp::Eq,
                value: 0x5412,
            }],
        },
    ));
    ir.rules.push(rule(
        Action::Kill,
        None,
        Matcher::Syscall {
            nr: nr("ptrace"),
            conds: vec![],
        },
    ));
    ir.rules.push(rule(
        Action::Allow,
        None,
        Matcher::Syscall {
            nr: nr("getpid"),
            conds: vec![],
        },
    ));
    let prog = claw_bpf::compile(&ir).unwrap();
    assert_eq!(validate_translation(&ir, &prog, 20_000), Outcome::Proved);
    let logging = claw_bpf::logging::logging_filter(&prog).unwrap();
    claw_bpf::logging::check_pair(&prog, &logging).unwrap();
    assert_eq!(validate_logging(&ir, &logging, 20_000), Outcome::Proved);
    // The policy's own filter is not a logging filter: it refuses in the kernel.
    assert!(matches!(validate_logging(&ir, &prog, 20_000), Outcome::Failed(_)));
    // A logging filter that lets a refused call through, or hands an allowed one
    // to the monitor, is caught.
    let refusing = prog
        .iter()
        .position(|i| i.code == claw_bpf::BPF_RET | claw_bpf::BPF_K && claw_bpf::logging::refuses(i.k))
        .unwrap();
    let mut m = logging.clone();
    m[refusing] = claw_bpf::Insn::ret(claw_bpf::RET_ALLOW);
    assert!(matches!(validate_logging(&ir, &m, 20_000), Outcome::Failed(_)));
    let allowing = prog
        .iter()
        .position(|i| *i == claw_bpf::Insn::ret(claw_bpf::RET_ALLOW))
        .unwrap();
    let mut m = logging.clone();
    m[allowing] = claw_bpf::Insn::ret(claw_bpf::RET_USER_NOTIF);
    assert!(matches!(validate_logging(&ir, &m, 20_000), Outcome::Failed(_)));
}
