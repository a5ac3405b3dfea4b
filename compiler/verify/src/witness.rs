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
    pub access: Option<Access>,
}

impl CReq {
    fn request(&self) -> Request<'_> {
        Request {
            nr: self.nr,
            args: self.args,
            accesses: self.access.as_slice(),
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
        ("CARGO_HOME", "/home/agent/.cargo"),
        ("RUSTUP_HOME", "/home/agent/.rustup"),
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
    pub fn new(ir: &'a Ir) -> Witnesses<'a> {
        let mut env = Env::new();
        for (k, v) in witness_env() {
            env.set(k, v);
        }
        let env_values = witness_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
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
                            for (_, dir) in witness_env() {
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
        let mut push = |nr: Option<u32>, args: [u64; 6], access: Option<Access>| {
            if let Some(nr) = nr {
                candidates.push(CReq { nr, args, access });
            }
        };
        let (rdonly, wronly, rdwr) = (
            const_of(ir, "O_RDONLY"),
            const_of(ir, "O_WRONLY"),
            const_of(ir, "O_RDWR"),
        );
        let (creat, trunc, append) = (
            const_of(ir, "O_CREAT"),
            const_of(ir, "O_TRUNC"),
            const_of(ir, "O_APPEND"),
        );
        let opath = const_of(ir, "O_PATH");
        let open_at = |flags: u64| [(-100i64) as u64, 0, flags, 0, 0, 0];
        for p in &paths {
            let acc = |verb| {
                Some(Access::Path {
                    verb,
                    path: p.clone(),
                })
            };
            push(nr("openat"), open_at(rdonly), acc(Verb::Read));
            push(nr("openat"), open_at(rdwr), acc(Verb::Read));
            push(nr("openat"), open_at(wronly | creat | trunc), acc(Verb::Write));
            push(nr("openat"), open_at(rdwr), acc(Verb::Write));
            push(nr("openat"), open_at(wronly | append), acc(Verb::Append));
            push(nr("openat"), open_at(opath), acc(Verb::Visible));
            push(nr("newfstatat"), [0; 6], acc(Verb::Visible));
            push(nr("unlinkat"), [0; 6], acc(Verb::Write));
            push(nr("execve"), [0; 6], acc(Verb::Exec));
            push(nr("open"), [0, rdonly, 0, 0, 0, 0], acc(Verb::Read));
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
            }
        }
        for a in &addrs {
            let acc = |verb| {
                Some(Access::Net {
                    verb,
                    addr: a.clone(),
                })
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
            push(Some(*n), [0; 6], None);
            for c in conds {
                for v in [
                    c.value,
                    c.value.wrapping_add(1),
                    c.value.wrapping_sub(1),
                    c.mask.unwrap_or(0),
                ] {
                    let mut args = [0u64; 6];
                    args[c.arg as usize] = v;
                    push(Some(*n), args, None);
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

    /// The first candidate allowed in `state` that satisfies `pred`.
    pub fn find(&self, state: u32, pred: impl Fn(&CReq) -> bool) -> Option<&CReq> {
        self.candidates.iter().find(|r| pred(r) && self.allowed(state, r))
    }

    /// Every candidate (for searches that need all witnesses, not just one).
    pub fn all(&self) -> &[CReq] {
        &self.candidates
    }

    pub fn matches(&self, m: &Matcher, r: &CReq) -> bool {
        match m {
            Matcher::Syscall { nr, conds } => r.nr == *nr && conds.iter().all(|c| c.holds(&r.args)),
            m @ Matcher::Access { .. } => r
                .access
                .as_ref()
                .is_some_and(|a| claw_ir::matches_access(m, a, &self.env)),
        }
    }

    pub fn matches_pattern(&self, p: &Pattern, r: &CReq) -> bool {
        match p {
            Pattern::Syscalls(v) => v
                .iter()
                .any(|(nr, conds)| r.nr == *nr && conds.iter().all(|c| c.holds(&r.args))),
            Pattern::Access { verbs, entity: None } => {
                r.access.as_ref().is_some_and(|a| verbs.contains(&a.verb()))
            }
            Pattern::Access {
                verbs,
                entity: Some(e),
            } => self.matches(
                &Matcher::Access {
                    verbs: verbs.clone(),
                    entity: e.clone(),
                },
                r,
            ),
        }
    }

    pub fn in_entity(&self, e: &Entity, r: &CReq) -> bool {
        let verb = match &r.access {
            Some(a) => a.verb(),
            None => return false,
        };
        self.matches(
            &Matcher::Access {
                verbs: vec![verb],
                entity: e.clone(),
            },
            r,
        )
    }

    /// Renders a candidate as the verifier's report shows requests.
    pub fn concrete(&self, r: &CReq) -> crate::Concrete {
        let syscall = self
            .ir
            .table()
            .by_nr(r.nr)
            .map_or_else(|| format!("syscall {}", r.nr), |s| s.name.to_string());
        let access = r.access.as_ref().map(|a| match a {
            Access::Path { verb, path } => format!("{} {path}", verb.name()),
            Access::Net { verb, addr } => format!("{} {addr}", verb.name()),
        });
        crate::Concrete {
            syscall,
            args: r.args,
            access,
        }
    }
}
