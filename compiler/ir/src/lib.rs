//! The policy IR: states, rules, transitions and a default, for one architecture.
//!
//! It is the single source of truth for decisions. The code generator compiles the
//! parts the kernel can decide into cBPF; the monitor calls [`Ir::decide`] for the
//! rest; the verifier proves that the two agree. It depends on nothing but the
//! platform tables, so the runtime can use it without the front end.

#![forbid(unsafe_code)]

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
use claw_stdlib::{Arch, SyscallTable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// What happens to a request. Ordered by severity (see [`Action::rank`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Let the call happen.
    Allow,
    /// Allow and record in the audit log.
    Log,
    /// Fail with this errno.
    Deny(u16),
    /// Kill the process.
    Kill,
}

impl Action {
    /// A total order: `Kill > Deny > Log > Allow`; between two denies the smaller
    /// errno wins, so the outcome never depends on rule order.
    pub fn rank(self) -> (u8, u16) {
        match self {
            Action::Allow => (0, 0),
            Action::Log => (1, 0),
            Action::Deny(e) => (2, u16::MAX - e),
            Action::Kill => (3, 0),
        }
    }

    /// The more severe of two actions.
    pub fn max(self, other: Action) -> Action {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Does the call happen (`allow` or `log`)?
    pub fn is_allowing(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Allow => f.write_str("allow"),
            Action::Log => f.write_str("log"),
            Action::Deny(e) => match claw_stdlib::errno::by_value(*e) {
                Some(n) => write!(f, "deny({})", n.name),
                None => write!(f, "deny({e})"),
            },
            Action::Kill => f.write_str("kill"),
        }
    }
}

/// Path and network verbs (the same set as the language's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verb {
    /// Read a file or list a directory.
    Read,
    /// Write, create, remove or change a file.
    Write,
    /// Write only at the end of a file.
    Append,
    /// Execute a file.
    Exec,
    /// Learn that a path exists (stat, access, readlink).
    Visible,
    /// Connect a socket to an endpoint (and then talk to it).
    Connect,
    /// Send a datagram addressed to an endpoint.
    Send,
    /// Bind a socket to a local address.
    Bind,
}

impl Verb {
    /// Every verb, in a fixed order (the verifier encodes verbs by this index).
    pub const ALL: [Verb; 8] = [
        Verb::Read,
        Verb::Write,
        Verb::Append,
        Verb::Exec,
        Verb::Visible,
        Verb::Connect,
        Verb::Send,
        Verb::Bind,
    ];

    /// The verb as the language writes it.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Read => "read",
            Verb::Write => "write",
            Verb::Append => "append",
            Verb::Exec => "exec",
            Verb::Visible => "visible",
            Verb::Connect => "connect",
            Verb::Send => "send",
            Verb::Bind => "bind",
        }
    }

    /// Is it one of the network verbs (`connect`, `send`, `bind`)?
    pub fn is_network(self) -> bool {
        matches!(self, Verb::Connect | Verb::Send | Verb::Bind)
    }
}

/// Comparison of an argument (unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// `(arg & mask) OP value` on the low `width` bits of one argument register.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArgCond {
    /// The argument register (0-5).
    pub arg: u8,
    /// 16, 32 or 64: the bits the kernel reads; higher bits are ignored, as the
    /// kernel ignores them.
    pub width: u8,
    /// Bits to keep before comparing (`flags & O_ACCMODE`); `None` keeps all.
    pub mask: Option<u64>,
    /// The comparison.
    pub op: CmpOp,
    /// The value compared with.
    pub value: u64,
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
        match self.op {
            CmpOp::Eq => a == v,
            CmpOp::Ne => a != v,
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Gt => a > v,
            CmpOp::Ge => a >= v,
        }
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

/// A transport of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Proto {
    /// TCP (stream sockets of AF_INET/AF_INET6).
    Tcp,
    /// UDP (datagram sockets of AF_INET/AF_INET6).
    Udp,
    /// Unix-domain sockets.
    Unix,
}

/// The address part of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Addr {
    /// Any address.
    Any,
    /// An IP network: address and prefix length.
    Cidr(IpAddr, u8),
    /// A unix socket path glob.
    UnixPath(String),
    /// An abstract unix socket name (without the leading NUL).
    UnixAbstract(String),
    /// A domain name or `*.` wildcard: addresses the monitor's resolver
    /// returned for a name it matches (see [`domain`]).
    Domain(DomainPattern),
}

/// A network endpoint: transport, address and port range.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// The transport.
    pub proto: Proto,
    /// The address or network.
    pub addr: Addr,
    /// The inclusive port range (`(0, 65535)` for any port).
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

/// A set of entities: path globs (possibly starting with `$VAR`) or endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Entity {
    /// Path globs.
    Paths(Vec<String>),
    /// Network endpoints.
    Endpoints(Vec<Endpoint>),
}

/// What a rule or transition applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Matcher {
    /// One syscall, with conditions on register arguments (all must hold).
    Syscall {
        /// The syscall number.
        nr: u32,
        /// Conditions on its registers.
        conds: Vec<ArgCond>,
    },
    /// Verbs on entities; `entity: None` means anything (used by properties only).
    Access {
        /// The verbs.
        verbs: Vec<Verb>,
        /// The entities.
        entity: Entity,
    },
}

/// One rule: an action for what a matcher matches, in some states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// What the rule does.
    pub action: Action,
    /// States the rule is in force in; `None` for `always` rules.
    pub states: Option<Vec<u32>>,
    /// What it applies to.
    pub matcher: Matcher,
    /// Where it came from (`policy.claw:12`), for the audit log and explanations.
    pub origin: String,
}

impl Rule {
    /// Is the rule in force in `state`?
    pub fn in_state(&self, state: u32) -> bool {
        self.states.as_ref().is_none_or(|s| s.contains(&state))
    }
}

/// A state transition: in `from`, an allowed call matching `event` moves to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The state it leaves.
    pub from: u32,
    /// The state it enters.
    pub to: u32,
    /// The calls that fire it.
    pub event: Matcher,
    /// Where it came from (`policy.claw:12`).
    pub origin: String,
}

/// What a property is about: syscalls (with conditions), or verbs on an entity —
/// any entity when `entity` is `None` (`never connect`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pattern {
    /// Syscalls, each with conditions on its registers.
    Syscalls(Vec<(u32, Vec<ArgCond>)>),
    /// Verbs on an entity.
    Access {
        /// The verbs.
        verbs: Vec<Verb>,
        /// The entity; `None` for any.
        entity: Option<Entity>,
    },
}

/// A temporal property the verifier proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Property {
    /// No reachable state allows `what`; with `after`, none reachable once `after`
    /// has been performed (counting descriptors opened before it, which survive).
    Never {
        /// What must never be allowed.
        what: Pattern,
        /// After what (`None`: from the start).
        after: Option<Pattern>,
    },
    /// Every allowed access with one of `verbs` is to something within `within`.
    Always {
        /// The verbs the property bounds.
        verbs: Vec<Verb>,
        /// What they stay within.
        within: Entity,
    },
}

/// An assertion of the policy, with the property the verifier proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    /// The property.
    pub property: Property,
    /// The assertion as written (`never connect after read secrets`).
    pub text: String,
    /// Where it came from (`policy.claw:12`).
    pub origin: String,
}

/// A compiled policy for one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ir {
    /// The policy's name.
    pub name: String,
    /// The architecture the syscall numbers belong to.
    pub arch: Arch,
    /// The action when no rule matches.
    pub default: Action,
    /// State names; index = state id. An implicit single state has the name "".
    pub states: Vec<String>,
    /// The state the agent starts in.
    pub initial: u32,
    /// The rules, in source order.
    pub rules: Vec<Rule>,
    /// The state transitions, in source order (the first that fires wins).
    pub transitions: Vec<Transition>,
    /// The policy's assertions, for the verifier.
    #[serde(default)]
    pub assertions: Vec<Assertion>,
}

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
    /// No variable set.
    pub fn new() -> Env {
        Env::default()
    }

    /// Sets `var` to `value` (a trailing `/` dropped).
    pub fn set(&mut self, var: &str, value: &str) -> &mut Env {
        self.vars
            .insert(var.to_string(), value.trim_end_matches('/').to_string());
        self
    }

    /// The value of `var`, if set.
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
    /// The syscall table of the policy's architecture.
    pub fn table(&self) -> &'static SyscallTable {
        SyscallTable::get(self.arch)
    }

    /// The id of the state called `name`.
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
