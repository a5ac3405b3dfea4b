//! Concrete witnesses before symbolic search. Most "is there an allowed request
//! that …" questions have an obvious answer among requests built from the policy's
//! own patterns and endpoints. Each candidate is checked with the reference
//! interpreter (`Ir::decide`), so a witness found here is a real one; only when
//! none is found does the question go to z3, which then usually proves there is
//! none. This keeps verification in seconds: z3's string solver is slow at
//! *finding* paths through many globs, fast at refuting them.

use claw_ir::{mediation, Access, Addr, Entity, Env, Ir, Matcher, NetAddr, Pattern, Proto, Request, Verb};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A concrete request.
#[derive(Debug, Clone)]
pub struct CReq {
    pub nr: u32,
    pub args: [u64; 6],
    /// What the monitor establishes: one access, or several (an `O_RDWR` open
    /// reads and writes; a rename writes two paths).
    pub accesses: Vec<Access>,
}

impl CReq {
    pub fn request(&self) -> Request<'_> {
        Request {
            nr: self.nr,
            args: self.args,
            accesses: &self.accesses,
        }
    }
}

/// Values for path variables in witnesses: plausible, distinct directories that
/// satisfy what the verifier assumes of them.
pub fn witness_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("WORKSPACE", "/work/project"),
        ("HOME", "/home/agent"),
        ("TMPDIR", "/tmp"),
        ("XDG_CONFIG_HOME", "/home/agent/.config"),
        ("XDG_CACHE_HOME", "/home/agent/.cache"),
        ("XDG_DATA_HOME", "/home/agent/.local/share"),
        ("XDG_RUNTIME_DIR", "/run/user/1000"),
        // Not `~/.cargo`: a value apart from `$HOME` (as in the Rust images'
        // `/usr/local/cargo`) lets a candidate show that a `~/.cargo/…` rule is
        // outside `$CARGO_HOME/…` (z3 struggles to find such values itself).
        ("CARGO_HOME", "/opt/cargo"),
        ("RUSTUP_HOME", "/opt/rustup"),
        ("PYENV_ROOT", "/home/agent/.pyenv"),
        ("NVM_DIR", "/home/agent/.nvm"),
    ]
}

pub struct Witnesses<'a> {
    ir: &'a Ir,
    pub env: Env,
    pub env_values: Vec<(String, String)>,
    candidates: Vec<CReq>,
    clone3: Option<u32>,
}

fn instantiate(pattern: &str) -> Vec<String> {
    // Each wildcard component replaced by a plain name, `**` also dropped.
    let mut outs = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for o in &outs {
            if comp == "**" {
                next.push(o.clone());
                next.push(format!("{o}/sub"));
            } else {
                let c: String = comp
                    .chars()
                    .map(|ch| if ch == '*' || ch == '?' { 'x' } else { ch })
                    .collect();
                next.push(format!("{o}/{c}"));
            }
        }
        next.truncate(8);
        outs = next;
    }
    outs.into_iter()
        .map(|o| if o.is_empty() { "/".to_string() } else { o })
        .collect()
}

fn const_of(ir: &Ir, name: &str) -> u64 {
    claw_stdlib::constants::by_name(name).map_or(0, |c| c.value(ir.arch) as u64)
}

impl<'a> Witnesses<'a> {
    /// With `values` in place of some of the witness values (to find a whole
    /// trace under the values one of its steps needed).
    pub fn with_values(ir: &'a Ir, values: &[(String, String)]) -> Witnesses<'a> {
        let mut env_values: Vec<(String, String)> = witness_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in values {
            match env_values.iter_mut().find(|(n, _)| n == k) {
                Some(e) => e.1 = v.clone(),
                None => env_values.push((k.clone(), v.clone())),
            }
        }
        let mut env = Env::new();
        for (k, v) in &env_values {
            env.set(k, v);
        }
        let table = ir.table();
        let nr = |n: &str| table.by_name(n).map(|s| s.nr);

        // Every path and endpoint the policy mentions.
        let mut paths: Vec<String> = vec!["/".into(), "/etc/passwd".into(), "/tmp/x".into()];
        let mut endpoints: Vec<claw_ir::Endpoint> = Vec::new();
        let mut all_patterns: Vec<String> = Vec::new();
        let mut entities: Vec<&Entity> = Vec::new();
        let mut syscalls: Vec<(u32, Vec<claw_ir::ArgCond>)> = Vec::new();
        let mut take = |m: &'a Matcher, entities: &mut Vec<&'a Entity>| match m {
            Matcher::Access { entity, .. } => entities.push(entity),
            Matcher::Syscall { nr, conds } => syscalls.push((*nr, conds.clone())),
        };
        for r in &ir.rules {
            take(&r.matcher, &mut entities);
        }
        for t in &ir.transitions {
            take(&t.event, &mut entities);
        }
        for a in &ir.assertions {
            match &a.property {
                claw_ir::Property::Never { what, after } => {
                    for p in std::iter::once(what).chain(after.iter()) {
                        match p {
                            Pattern::Access { entity: Some(e), .. } => entities.push(e),
                            Pattern::Syscalls(v) => syscalls.extend(v.iter().cloned()),
                            Pattern::Access { entity: None, .. } => {}
                        }
                    }
                }
                claw_ir::Property::Always { within, .. } => entities.push(within),
            }
        }
        for e in entities {
            match e {
                Entity::Paths(ps) => {
                    all_patterns.extend(ps.iter().cloned());
                    for p in ps {
                        if let Some(x) = env.expand(p) {
                            paths.extend(instantiate(&x));
                        }
                        // `/**/x` also below each variable's directory.
                        if let Some(rest) = p.strip_prefix("/**/") {
                            for (_, dir) in &env_values {
                                paths.extend(instantiate(&format!("{dir}/{rest}")));
                            }
                        }
                    }
                }
                Entity::Endpoints(es) => endpoints.extend(es.iter().cloned()),
            }
        }
        // `A/**/B` also with `**` as each directory other patterns name below `A`
        // (`/data/**/key.pem` with `/data/s0/**` gives `/data/s0/key.pem`).
        let dirs: Vec<String> = paths
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string()))
            .collect();
        let mut combined = Vec::new();
        for p in &all_patterns {
            let Some(x) = env.expand(p) else { continue };
            if let Some((a, b)) = x.split_once("/**/") {
                for d in dirs.iter().chain(paths.iter()) {
                    if d.starts_with(a) && d.len() > a.len() && combined.len() < 4096 {
                        combined.extend(instantiate(&format!("{d}/{b}")));
                    }
                }
            }
        }
        paths.extend(combined);
        paths.sort();
        paths.dedup();

        let mut candidates = Vec::new();
        let mut push = |nr: Option<u32>, args: [u64; 6], accesses: Vec<Access>| {
            if let Some(nr) = nr {
                candidates.push(CReq { nr, args, accesses });
            }
        };
        let flag = |names: &[&str]| names.iter().map(|n| const_of(ir, n)).fold(0, |a, b| a | b);
        // One open for each set of verbs an open can ask (`mediation::open_verbs`).
        let opens = [
            flag(&["O_RDONLY"]),
            flag(&["O_RDWR"]),
            flag(&["O_WRONLY", "O_CREAT", "O_TRUNC"]),
            flag(&["O_WRONLY", "O_APPEND"]),
            flag(&["O_RDWR", "O_APPEND"]),
            flag(&["O_PATH"]),
        ];
        let open_at = |flags: u64| [(-100i64) as u64, 0, flags, 0, 0, 0];
        let on = |verbs: &[Verb], p: &str| -> Vec<Access> {
            verbs
                .iter()
                .map(|&verb| Access::Path {
                    verb,
                    path: p.to_string(),
                })
                .collect()
        };
        let rename_reads = mediation::of("renameat2").is_some_and(|m| m.verbs().contains(&Verb::Read));
        for p in &paths {
            for flags in opens {
                push(
                    nr("openat"),
                    open_at(flags),
                    on(&mediation::open_verbs(flags, ir.arch), p),
                );
            }
            push(nr("open"), [0; 6], on(&[Verb::Read], p));
            push(nr("newfstatat"), [0; 6], on(&[Verb::Visible], p));
            push(nr("unlinkat"), [0; 6], on(&[Verb::Write], p));
            push(nr("execve"), [0; 6], on(&[Verb::Exec], p));
            // A rename within the same directory tree: source and target.
            let mut acc = on(&[Verb::Write], p);
            if rename_reads {
                acc.extend(on(&[Verb::Read], p));
            }
            acc.extend(on(&[Verb::Write], &format!("{p}.new")));
            push(nr("renameat2"), [0; 6], acc);
        }
        let mut addrs: Vec<NetAddr> = vec![
            NetAddr::Inet {
                proto: Proto::Tcp,
                ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
                port: 443,
            },
            NetAddr::Inet {
                proto: Proto::Udp,
                ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
                port: 53,
            },
        ];
        // Requests reached as a name: an address the resolver may return for it.
        let mut named: Vec<(NetAddr, String)> = Vec::new();
        for e in &endpoints {
            let ports = [e.ports.0, e.ports.1];
            match &e.addr {
                Addr::Any => {
                    for port in ports {
                        addrs.push(NetAddr::Inet {
                            proto: e.proto,
                            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
                            port,
                        });
                        addrs.push(NetAddr::Inet {
                            proto: e.proto,
                            ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
                            port,
                        });
                    }
                }
                Addr::Cidr(ip, prefix) => {
                    let host = match ip {
                        IpAddr::V4(v4) if *prefix < 32 => IpAddr::V4(Ipv4Addr::from(u32::from(*v4) | 1)),
                        IpAddr::V6(v6) if *prefix < 128 => IpAddr::V6(Ipv6Addr::from(u128::from(*v6) | 1)),
                        other => *other,
                    };
                    for port in ports {
                        addrs.push(NetAddr::Inet {
                            proto: e.proto,
                            ip: host,
                            port,
                        });
                    }
                }
                Addr::UnixPath(p) => addrs.extend(instantiate(p).into_iter().map(NetAddr::UnixPath)),
                Addr::UnixAbstract(n) => addrs.push(NetAddr::UnixAbstract(n.clone())),
                Addr::Domain(d) => {
                    let name = if d.wildcard {
                        format!("x.{}", d.base)
                    } else {
                        d.base.clone()
                    };
                    let ip = if d.is_localhost() {
                        IpAddr::V4(Ipv4Addr::LOCALHOST)
                    } else {
                        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))
                    };
                    for port in ports {
                        named.push((
                            NetAddr::Inet {
                                proto: e.proto,
                                ip,
                                port,
                            },
                            name.clone(),
                        ));
                    }
                }
            }
        }
        let unnamed = addrs.iter().map(|a| (a.clone(), None));
        let all: Vec<(NetAddr, Option<String>)> = unnamed
            .chain(named.into_iter().map(|(a, n)| (a, Some(n))))
            .collect();
        for (a, name) in &all {
            let acc = |verb| {
                vec![Access::Net {
                    verb,
                    addr: a.clone(),
                    name: name.clone(),
                }]
            };
            push(nr("connect"), [0; 6], acc(Verb::Connect));
            push(nr("sendto"), [0; 6], acc(Verb::Send));
            push(nr("sendmsg"), [0; 6], acc(Verb::Send));
            push(nr("bind"), [0; 6], acc(Verb::Bind));
        }
        // Syscalls the policy names, with argument values around its conditions.
        syscalls.sort_by_key(|(n, _)| *n);
        for (n, conds) in &syscalls {
            // Mediated syscalls always come with an access.
            if table.by_nr(*n).is_some_and(|s| mediation::of(s.name).is_some()) {
                continue;
            }
            push(Some(*n), [0; 6], vec![]);
            for c in conds {
                for v in [
                    c.value,
                    c.value.wrapping_add(1),
                    c.value.wrapping_sub(1),
                    c.mask.unwrap_or(0),
                ] {
                    let mut args = [0u64; 6];
                    args[c.arg as usize] = v;
                    push(Some(*n), args, vec![]);
                }
            }
        }
        Witnesses {
            ir,
            env,
            env_values,
            candidates,
            clone3: nr("clone3"),
        }
    }

    pub fn allowed(&self, state: u32, r: &CReq) -> bool {
        Some(r.nr) != self.clone3
            && self
                .ir
                .decide(state, &r.request(), &self.env)
                .action
                .is_allowing()
    }

    /// `clone3`'s number (refused by every filter).
    pub fn clone3(&self) -> Option<u32> {
        self.clone3
    }

    /// The first candidate allowed in `state` that satisfies `pred`.
    pub fn find(&self, state: u32, pred: impl Fn(&CReq) -> bool) -> Option<&CReq> {
        self.candidates.iter().find(|r| pred(r) && self.allowed(state, r))
    }

    /// Every candidate (for searches that need all witnesses, not just one).
    pub fn all(&self) -> &[CReq] {
        &self.candidates
    }

    /// `m` matches the request: its registers, or any of its accesses.
    pub fn matches(&self, m: &Matcher, r: &CReq) -> bool {
        match m {
            Matcher::Syscall { nr, conds } => r.nr == *nr && conds.iter().all(|c| c.holds(&r.args)),
            m @ Matcher::Access { .. } => r
                .accesses
                .iter()
                .any(|a| claw_ir::matches_access(m, a, &self.env)),
        }
    }

    /// The transition the interpreter takes on `r` in `state`, if any.
    pub fn next_index(&self, state: u32, r: &CReq) -> Option<usize> {
        self.ir.next_state(state, &r.request(), &self.env).map(|(_, i)| i)
    }

    /// The state after `r` in `state`, as the interpreter moves.
    pub fn next(&self, state: u32, r: &CReq) -> u32 {
        self.ir
            .next_state(state, &r.request(), &self.env)
            .map_or(state, |(to, _)| to)
    }

    pub fn matches_pattern(&self, p: &Pattern, r: &CReq) -> bool {
        pattern_matches(p, r, &self.env)
    }

    /// Some access of `r` has one of `verbs` and is outside `e`.
    pub fn outside(&self, verbs: &[Verb], e: &Entity, r: &CReq) -> bool {
        access_outside(verbs, e, r, &self.env)
    }

    /// Renders a candidate as the verifier's report shows requests.
    pub fn concrete(&self, r: &CReq) -> crate::Concrete {
        let syscall = self
            .ir
            .table()
            .by_nr(r.nr)
            .map_or_else(|| format!("syscall {}", r.nr), |s| s.name.to_string());
        crate::Concrete {
            syscall,
            args: r.args,
            access: show_accesses(&r.accesses),
            accesses: r.accesses.clone(),
        }
    }
}

/// `read /x, write /x`: paths with control characters escaped.
pub fn show_accesses(accesses: &[Access]) -> Option<String> {
    let shown: Vec<String> = accesses
        .iter()
        .map(|a| match a {
            Access::Path { verb, path } => format!("{} {}", verb.name(), path.escape_debug()),
            Access::Net { verb, addr, name } => format!(
                "{} {}{}",
                verb.name(),
                addr.to_string().escape_debug(),
                claw_ir::domain::show_name(name.as_deref())
            ),
        })
        .collect();
    (!shown.is_empty()).then(|| shown.join(", "))
}

/// The request performs `p`: its registers match a syscall pattern, or one of its
/// accesses matches an access pattern.
pub fn pattern_matches(p: &Pattern, r: &CReq, env: &Env) -> bool {
    match p {
        Pattern::Syscalls(v) => v
            .iter()
            .any(|(nr, conds)| r.nr == *nr && conds.iter().all(|c| c.holds(&r.args))),
        Pattern::Access { verbs, entity: None } => r.accesses.iter().any(|a| verbs.contains(&a.verb())),
        Pattern::Access {
            verbs,
            entity: Some(e),
        } => {
            let m = Matcher::Access {
                verbs: verbs.clone(),
                entity: e.clone(),
            };
            r.accesses.iter().any(|a| claw_ir::matches_access(&m, a, env))
        }
    }
}

/// Some access of `r` has one of `verbs` and is outside `e`.
pub fn access_outside(verbs: &[Verb], e: &Entity, r: &CReq, env: &Env) -> bool {
    r.accesses.iter().any(|a| {
        let m = Matcher::Access {
            verbs: vec![a.verb()],
            entity: e.clone(),
        };
        verbs.contains(&a.verb()) && !claw_ir::matches_access(&m, a, env)
    })
}

/// Does the request of a trace step perform `p`, under the step's variable values?
pub fn step_matches(ir: &Ir, step: &crate::Step, p: &Pattern) -> bool {
    let mut env = Env::new();
    for (n, v) in &step.vars {
        env.set(n, v);
    }
    let r = CReq {
        nr: ir
            .table()
            .by_name(&step.request.syscall)
            .map_or(u32::MAX, |s| s.nr),
        args: step.request.args,
        accesses: step.request.accesses.clone(),
    };
    pattern_matches(p, &r, &env)
}
