//! Deciding a request: [`Ir::decide`] (the reference semantics the monitor runs,
//! `clawc explain` reports and the verifier's encoding mirrors) and
//! [`Ir::next_state`] (the transition a performed request fires), with what they
//! need to match a request against a rule: argument conditions, endpoints, access
//! matchers. The question ([`Request`], its [`Access`]es) and the answer
//! ([`Decision`]) are defined here too. It knows nothing of how the monitor
//! established the accesses, or of the kernel's share of the decisions
//! ([`crate::route`]).

use crate::{glob_match, width_mask, Action, Addr, ArgCond, Endpoint, Entity, Env, Ir, Matcher, Proto, Verb};
use std::net::IpAddr;

/// A network address as the monitor read it from a `sockaddr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetAddr {
    /// An IP address and port, with the socket's transport.
    Inet {
        /// TCP or UDP (from the socket's type).
        proto: Proto,
        /// The address (IPv4 or IPv6).
        ip: IpAddr,
        /// The port.
        port: u16,
    },
    /// A unix socket path.
    UnixPath(String),
    /// An abstract unix socket name.
    UnixAbstract(String),
}

impl std::fmt::Display for NetAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetAddr::Inet { proto, ip, port } => {
                let p = if *proto == Proto::Udp { "udp" } else { "tcp" };
                write!(f, "{p} {}", std::net::SocketAddr::new(*ip, *port))
            }
            NetAddr::UnixPath(p) => write!(f, "unix {p}"),
            NetAddr::UnixAbstract(n) => write!(f, "unix @{n}"),
        }
    }
}

/// One access a syscall performs, established by the monitor (a canonical path it
/// resolved, an address it read and will itself use).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Access {
    /// A path the call performs `verb` on.
    Path {
        /// The verb.
        verb: Verb,
        /// The canonical path the monitor resolved.
        path: String,
    },
    /// `name`: the name the monitor's resolver returned `addr` for (a fact the
    /// monitor recorded, never one the agent states), for domain endpoints.
    Net {
        /// The verb.
        verb: Verb,
        /// The address the monitor read.
        addr: NetAddr,
        /// The resolver's name for it, if any.
        name: Option<String>,
    },
}

impl Access {
    /// The verb of the access.
    pub fn verb(&self) -> Verb {
        match self {
            Access::Path { verb, .. } | Access::Net { verb, .. } => *verb,
        }
    }
}

/// A request as the interpreter sees it: the syscall, its registers and the
/// accesses the monitor established (empty for syscalls that touch no entity).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The syscall number.
    pub nr: u32,
    /// The argument registers.
    pub args: [u64; 6],
    /// The accesses the monitor established.
    pub accesses: &'a [Access],
}

/// The outcome of [`Ir::decide`]: the action and the rule that decided it (`None`
/// when the default did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What happens to the request.
    pub action: Action,
    /// The index in [`Ir::rules`] of the rule that decided, if any.
    pub rule: Option<usize>,
}

impl Ir {
    /// The reference semantics. The syscall-level rules that match the registers
    /// apply to the request as a whole; for each access, those plus the access rules
    /// matching it are combined by severity (the default if none matches); the
    /// request's action is the most severe over its accesses.
    pub fn decide(&self, state: u32, req: &Request<'_>, env: &Env) -> Decision {
        let mut base: Option<Decision> = None;
        for (i, r) in self.rules.iter().enumerate() {
            if !r.in_state(state) {
                continue;
            }
            if let Matcher::Syscall { nr, conds } = &r.matcher {
                if *nr == req.nr && conds.iter().all(|c| c.holds(&req.args)) {
                    base = Some(combine(base, r.action, i));
                }
            }
        }
        if req.accesses.is_empty() {
            return base.unwrap_or(Decision {
                action: self.default,
                rule: None,
            });
        }
        let mut overall: Option<Decision> = None;
        for access in req.accesses {
            let mut d = base;
            for (i, r) in self.rules.iter().enumerate() {
                if r.in_state(state) && matches_access(&r.matcher, access, env) {
                    d = Some(combine(d, r.action, i));
                }
            }
            let d = d.unwrap_or(Decision {
                action: self.default,
                rule: None,
            });
            overall = Some(match overall {
                Some(o) if o.action.rank() >= d.action.rank() => o,
                _ => d,
            });
        }
        overall.unwrap_or(Decision {
            action: self.default,
            rule: None,
        })
    }

    /// The state after `req` was performed in `state`: the first transition out of
    /// `state` whose event matches (transitions are checked to be deterministic by
    /// the verifier; here the lowest index wins).
    pub fn next_state(&self, state: u32, req: &Request<'_>, env: &Env) -> Option<(u32, usize)> {
        self.transitions.iter().enumerate().find_map(|(i, t)| {
            if t.from != state {
                return None;
            }
            let fires = match &t.event {
                Matcher::Syscall { nr, conds } => *nr == req.nr && conds.iter().all(|c| c.holds(&req.args)),
                m @ Matcher::Access { .. } => req.accesses.iter().any(|a| matches_access(m, a, env)),
            };
            fires.then_some((t.to, i))
        })
    }
}

fn combine(d: Option<Decision>, action: Action, rule: usize) -> Decision {
    match d {
        Some(d) if d.action.rank() >= action.rank() => d,
        _ => Decision {
            action,
            rule: Some(rule),
        },
    }
}

/// Does an access matcher cover this access?
pub fn matches_access(m: &Matcher, access: &Access, env: &Env) -> bool {
    let Matcher::Access { verbs, entity } = m else {
        return false;
    };
    if !verbs.contains(&access.verb()) {
        return false;
    }
    match (entity, access) {
        (Entity::Paths(pats), Access::Path { path, .. }) => pats.iter().any(|p| env.matches(p, path)),
        (Entity::Endpoints(eps), Access::Net { addr, name, .. }) => {
            eps.iter().any(|e| e.matches_named(addr, name.as_deref()))
        }
        _ => false,
    }
}

impl ArgCond {
    /// The bits of `raw` this condition looks at.
    pub fn operand(&self, raw: u64) -> u64 {
        let w = width_mask(self.width);
        raw & w & self.mask.unwrap_or(u64::MAX)
    }

    /// Does the condition hold for these registers?
    pub fn holds(&self, args: &[u64; 6]) -> bool {
        let a = self.operand(args[self.arg as usize]);
        let v = self.value & width_mask(self.width);
        self.op.holds(a, v)
    }
}

impl Endpoint {
    /// Does the endpoint cover `net` reached without a name? A domain endpoint
    /// never does (see [`Endpoint::matches_named`]).
    pub fn matches(&self, net: &NetAddr) -> bool {
        self.matches_named(net, None)
    }

    /// Does the endpoint cover `net`, reached as `name` (the name the monitor's
    /// resolver returned that address for, normalised; `None` if none did)?
    /// Address endpoints ignore the name; a domain endpoint matches the name.
    pub fn matches_named(&self, net: &NetAddr, name: Option<&str>) -> bool {
        match (net, &self.addr) {
            (NetAddr::Inet { proto, ip, port }, addr) => {
                if *proto != self.proto || *port < self.ports.0 || *port > self.ports.1 {
                    return false;
                }
                match addr {
                    Addr::Any => true,
                    Addr::Cidr(net_ip, prefix) => cidr_contains(*net_ip, *prefix, *ip),
                    Addr::Domain(d) => name.is_some_and(|n| d.matches(n)),
                    _ => false,
                }
            }
            (NetAddr::UnixPath(p), Addr::UnixPath(pat)) => glob_match(pat, p),
            (NetAddr::UnixAbstract(n), Addr::UnixAbstract(want)) => n == want,
            _ => false,
        }
    }
}

/// Is `ip` inside `net/prefix`? An IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn cidr_contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    // An IPv4-mapped IPv6 address is the IPv4 address it maps.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}
