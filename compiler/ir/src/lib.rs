//! The policy IR: states, rules, transitions and a default, for one architecture.
//!
//! It is the single source of truth for decisions. The code generator compiles the
//! parts the kernel can decide into cBPF; the monitor calls [`Ir::decide`] for the
//! rest; the verifier proves that the two agree. It depends on nothing but the
//! platform tables, so the runtime can use it without the front end.

pub mod domain;
mod glob;
pub mod isolate;
pub mod landlock;
pub mod mediation;
pub mod netns;
pub mod route;

pub use glob::glob_match;
pub use mediation::{Mediation, SyscallEffect};
pub use route::{ArgRule, FilterOutcome, KernelDecision, MonitorReason, Route};

pub use claw_stdlib::domain::DomainPattern;
// The vocabulary is shared with the front end (one definition, in
// `claw_stdlib::vocab`); the most severe of several actions is `Action::rank`'s
// maximum.
pub use claw_stdlib::vocab::{Action, Addr, CmpOp, EntityKind, Proto, Verb, PATH_VARIABLES};
use claw_stdlib::{Arch, SyscallTable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// `(arg & mask) OP value` on the low `width` bits of one argument register.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArgCond {
    pub arg: u8,
    /// 16, 32 or 64: the bits the kernel reads; higher bits are ignored, as the
    /// kernel ignores them.
    pub width: u8,
    pub mask: Option<u64>,
    pub op: CmpOp,
    pub value: u64,
}

impl ArgCond {
    /// The bits of `raw` this condition looks at.
    pub fn operand(&self, raw: u64) -> u64 {
        let w = width_mask(self.width);
        raw & w & self.mask.unwrap_or(u64::MAX)
    }

    pub fn holds(&self, args: &[u64; 6]) -> bool {
        let a = self.operand(args[self.arg as usize]);
        let v = self.value & width_mask(self.width);
        self.op.holds(a, v)
    }
}

/// All ones in the low `width` bits.
pub fn width_mask(width: u8) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub proto: Proto,
    pub addr: Addr,
    pub ports: (u16, u16),
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

/// A set of entities: path globs (possibly starting with `$VAR`) or endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Entity {
    Paths(Vec<String>),
    Endpoints(Vec<Endpoint>),
}

/// What a rule or transition applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Matcher {
    /// One syscall, with conditions on register arguments (all must hold).
    Syscall { nr: u32, conds: Vec<ArgCond> },
    /// Verbs on entities; `entity: None` means anything (used by properties only).
    Access { verbs: Vec<Verb>, entity: Entity },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub action: Action,
    /// States the rule is in force in; `None` for `always` rules.
    pub states: Option<Vec<u32>>,
    pub matcher: Matcher,
    /// Where it came from (`policy.claw:12`), for the audit log and explanations.
    pub origin: String,
}

impl Rule {
    pub fn in_state(&self, state: u32) -> bool {
        self.states.as_ref().is_none_or(|s| s.contains(&state))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: u32,
    pub to: u32,
    pub event: Matcher,
    pub origin: String,
}

/// What a property is about: syscalls (with conditions), or verbs on an entity —
/// any entity when `entity` is `None` (`never connect`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pattern {
    Syscalls(Vec<(u32, Vec<ArgCond>)>),
    Access {
        verbs: Vec<Verb>,
        entity: Option<Entity>,
    },
}

/// A temporal property the verifier proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Property {
    /// No reachable state allows `what`; with `after`, none reachable once `after`
    /// has been performed (counting descriptors opened before it, which survive).
    Never { what: Pattern, after: Option<Pattern> },
    /// Every allowed access with one of `verbs` is to something within `within`.
    Always { verbs: Vec<Verb>, within: Entity },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    pub property: Property,
    /// The assertion as written (`never connect after read secrets`).
    pub text: String,
    pub origin: String,
}

/// A compiled policy for one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ir {
    pub name: String,
    pub arch: Arch,
    pub default: Action,
    /// State names; index = state id. An implicit single state has the name "".
    pub states: Vec<String>,
    pub initial: u32,
    pub rules: Vec<Rule>,
    pub transitions: Vec<Transition>,
    /// The policy's assertions, for the verifier.
    #[serde(default)]
    pub assertions: Vec<Assertion>,
}

/// A network address as the monitor read it from a `sockaddr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetAddr {
    Inet { proto: Proto, ip: IpAddr, port: u16 },
    UnixPath(String),
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
    Path {
        verb: Verb,
        path: String,
    },
    /// `name`: the name the monitor's resolver returned `addr` for (a fact the
    /// monitor recorded, never one the agent states), for domain endpoints.
    Net {
        verb: Verb,
        addr: NetAddr,
        name: Option<String>,
    },
}

impl Access {
    pub fn verb(&self) -> Verb {
        match self {
            Access::Path { verb, .. } | Access::Net { verb, .. } => *verb,
        }
    }
}

/// Directories no path variable may be, or be inside. The verifier proves
/// properties under this assumption and the runtime refuses such values, so a
/// workspace of `/dev` cannot make "never write workspace" and "allow write
/// devices" the same rule.
pub const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys",
    "/usr",
];

/// Path variables that may lie strictly below one directory inside a system
/// directory: `$XDG_RUNTIME_DIR` is `/run/user/UID` on an ordinary machine (and the
/// runtime's default). A proof covers these values too.
pub const VAR_ALLOWED_BELOW: &[(&str, &str)] = &[("XDG_RUNTIME_DIR", "/run/user")];

/// What every path variable's value must be, the one definition the verifier
/// assumes and the runtime checks: a canonical absolute directory (no empty, `.`
/// or `..` component, no trailing `/`, no NUL), not `/`, and neither a system
/// directory nor inside one, unless [`VAR_ALLOWED_BELOW`] lets `var` lie below
/// that directory.
pub fn check_var(var: &str, value: &str) -> Result<(), String> {
    let comps: Vec<&str> = value.split('/').skip(1).collect();
    if !value.starts_with('/')
        || value.contains('\0')
        || comps.iter().any(|c| c.is_empty() || *c == "." || *c == "..")
    {
        return Err(format!("{var}={value} is not a canonical absolute directory"));
    }
    if VAR_ALLOWED_BELOW
        .iter()
        .any(|(v, below)| *v == var && value.starts_with(&format!("{below}/")))
    {
        return Ok(());
    }
    match SYSTEM_DIRS
        .iter()
        .find(|s| value == **s || value.starts_with(&format!("{s}/")))
    {
        Some(sys) => Err(format!(
            "{var}={value} is {} {sys}: the policy's proofs assume path variables lie outside system directories",
            if value == *sys { "the system directory" } else { "inside" }
        )),
        None => Ok(()),
    }
}

/// Values of the path variables (`WORKSPACE`, `HOME`...), supplied by the runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn new() -> Env {
        Env::default()
    }

    pub fn set(&mut self, var: &str, value: &str) -> &mut Env {
        self.vars
            .insert(var.to_string(), value.trim_end_matches('/').to_string());
        self
    }

    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars.get(var).map(String::as_str)
    }

    /// Does `pattern` (which may start with `$VAR`) match `path`? Unset variables
    /// match nothing. Equivalent to expanding then [`glob_match`], without
    /// allocating.
    pub fn matches(&self, pattern: &str, path: &str) -> bool {
        let Some(rest) = pattern.strip_prefix('$') else {
            return glob_match(pattern, path);
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let Some(value) = self.get(&rest[..end]) else {
            return false;
        };
        let (tail, Some(remaining)) = (&rest[end..], path.strip_prefix(value)) else {
            return false;
        };
        if tail.is_empty() {
            return remaining.is_empty() || remaining == "/";
        }
        match remaining {
            "" => glob_match(tail, "/"),
            r if r.starts_with('/') || value.is_empty() => glob_match(tail, r),
            _ => false,
        }
    }

    /// A pattern with its leading `$VAR` replaced; `None` if the variable is unset
    /// (such a pattern matches nothing: fail closed).
    pub fn expand(&self, pattern: &str) -> Option<String> {
        let Some(rest) = pattern.strip_prefix('$') else {
            return Some(pattern.to_string());
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let value = self.get(&rest[..end])?;
        Some(format!("{value}{}", &rest[end..]))
    }
}

/// A request as the interpreter sees it: the syscall, its registers and the
/// accesses the monitor established (empty for syscalls that touch no entity).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub nr: u32,
    pub args: [u64; 6],
    pub accesses: &'a [Access],
}

/// The outcome of [`Ir::decide`]: the action and the rule that decided it (`None`
/// when the default did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub rule: Option<usize>,
}

impl Ir {
    pub fn table(&self) -> &'static SyscallTable {
        SyscallTable::get(self.arch)
    }

    pub fn state_id(&self, name: &str) -> Option<u32> {
        self.states.iter().position(|s| s == name).map(|i| i as u32)
    }

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

#[cfg(test)]
mod tests;
