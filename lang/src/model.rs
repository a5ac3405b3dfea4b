//! The checked form of a policy: every name resolved, every literal validated, every
//! constant evaluated for one target architecture. This is what the compiler lowers
//! to its IR; it still carries spans so later stages can point back at the source.

use crate::span::Span;
pub use claw_stdlib::Arch;
use std::fmt;
use std::net::IpAddr;

/// What a rule does to a matching request. Ordered by severity: when several rules
/// match, the most severe wins (`Kill > Deny > Log > Allow`), as stacked seccomp
/// filters combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Let the call happen.
    Allow,
    /// Allow, and record it in the audit log.
    Log,
    /// Fail the syscall with this errno.
    Deny(u16),
    /// Kill the whole process.
    Kill,
}

impl Action {
    /// Higher is more severe.
    pub fn severity(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Log => 1,
            Action::Deny(_) => 2,
            Action::Kill => 3,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// The five path permissions of the ClawLess model plus the network verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// Open for reading, list a directory.
    Read,
    /// Create, modify, truncate, rename, delete.
    Write,
    /// Open for appending only (no truncation, no rewrite).
    Append,
    /// Execute a program.
    Exec,
    /// See that it exists: stat, access, readlink, but not its contents.
    Visible,
    /// Connect a socket to an endpoint.
    Connect,
    /// Send a datagram to an endpoint without connecting.
    Send,
    /// Bind a socket to a local endpoint (be a server).
    Bind,
}

/// What kind of entity a verb applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// A filesystem path.
    Path,
    /// A network endpoint.
    Endpoint,
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntityKind::Path => "path",
            EntityKind::Endpoint => "endpoint",
        })
    }
}

impl Verb {
    /// Every verb, in a fixed order.
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

    /// The verb as written in a policy.
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

    /// The verb written `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The entity kind this verb takes.
    pub fn entity_kind(self) -> EntityKind {
        match self {
            Verb::Connect | Verb::Send | Verb::Bind => EntityKind::Endpoint,
            _ => EntityKind::Path,
        }
    }
}

/// A path glob, validated. `~` has been rewritten to `$HOME`; the only
/// metacharacters are `*` (within a component), `?` and `**` (any depth).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathPattern {
    /// The pattern (`$WORKSPACE/**`).
    pub pattern: String,
    /// Where it is written.
    pub span: Span,
}

impl PathPattern {
    /// The variable the pattern starts with (`WORKSPACE`), if any.
    pub fn variable(&self) -> Option<&str> {
        let rest = self.pattern.strip_prefix('$')?;
        Some(rest.split('/').next().unwrap_or(rest))
    }
}

/// A transport of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `tcp`
    Tcp,
    /// `udp`
    Udp,
    /// `unix`
    Unix,
}

/// Where an endpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addr {
    /// `"*"`: any IPv4 or IPv6 address.
    Any,
    /// An address block; the host bits are zero.
    Cidr(IpAddr, u8),
    /// A pathname unix socket (glob allowed).
    UnixPath(String),
    /// An abstract unix socket name (written `"@name"`).
    UnixAbstract(String),
    /// A domain name or `*.` wildcard: the addresses the monitor's resolver
    /// returned for a name it matches (docs/language.md, "Domain endpoints").
    Domain(claw_stdlib::domain::DomainPattern),
}

/// A checked endpoint: transport, address and ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The transport.
    pub proto: Proto,
    /// Where it is.
    pub addr: Addr,
    /// Inclusive port range; `0..=65535` when not given (and for unix sockets).
    pub ports: (u16, u16),
    /// Where it is written.
    pub span: Span,
}

/// A set of entities of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entity {
    /// Path patterns.
    Paths(Vec<PathPattern>),
    /// Network endpoints.
    Endpoints(Vec<Endpoint>),
}

impl Entity {
    /// Whether these are paths or endpoints.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Paths(_) => EntityKind::Path,
            Entity::Endpoints(_) => EntityKind::Endpoint,
        }
    }
}

pub use crate::ast::CmpOp;

/// `arg & mask OP value` on one syscall argument, already truncated to the width the
/// kernel reads (so comparing fewer bits cannot be bypassed with the upper half).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArgCond {
    /// The argument's register (0-5).
    pub arg: usize,
    /// The argument's name as written (`flags`).
    pub arg_name: String,
    /// Bits the kernel reads: 16, 32 or 64.
    pub width: u32,
    /// The mask, if written.
    pub mask: Option<u64>,
    /// The comparison.
    pub op: CmpOp,
    /// The value, evaluated for the architecture and truncated to `width`.
    pub value: u64,
}

/// One syscall, optionally restricted by argument conditions (all must hold).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyscallMatch {
    /// The syscall's name.
    pub name: String,
    /// Its number on the policy's architecture.
    pub nr: u32,
    /// Conditions on its arguments.
    pub conds: Vec<ArgCond>,
}

/// What a rule, event or property is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Syscalls, with conditions.
    Syscalls(Vec<SyscallMatch>),
    /// Verbs on entities. `entity` is `None` only in properties (`never connect`:
    /// any endpoint).
    Access {
        /// The verbs.
        verbs: Vec<Verb>,
        /// The entity (`None`: any).
        entity: Option<Entity>,
    },
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What it does.
    pub action: Action,
    /// What it applies to.
    pub target: Target,
    /// Where it is written.
    pub span: Span,
}

/// A checked transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The calls that fire it.
    pub event: Target,
    /// Index into [`Policy::states`].
    pub to: usize,
    /// Where it is written.
    pub span: Span,
}

/// A checked state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Its name (empty for the implicit single state).
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// Its transitions, in source order.
    pub transitions: Vec<Transition>,
}

/// A checked property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// No reachable state allows `what` (after `after` has happened, if given).
    Never {
        /// What must never be allowed.
        what: Target,
        /// After what, if given.
        after: Option<Target>,
    },
    /// Every allowed `verbs` request is on something within `within`.
    Always {
        /// The verbs bounded.
        verbs: Vec<Verb>,
        /// What they stay within.
        within: Entity,
    },
}

/// A checked assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `assert NAME: ...`; a child policy's assertion of the same name replaces it.
    pub name: Option<String>,
    /// What it asserts.
    pub property: Property,
    /// Where it is written.
    pub span: Span,
}

/// A checked policy for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// The target architecture.
    pub arch: Arch,
    /// Where the policy is written.
    pub span: Span,
    /// The action when no rule matches.
    pub default: Action,
    /// Where the default is written.
    pub default_span: Span,
    /// Rules in force in every state.
    pub always: Vec<Rule>,
    /// At least one state; a policy without `state` blocks has one implicit state.
    pub states: Vec<State>,
    /// The index of the initial state in `states`.
    pub initial: usize,
    /// Assertions, the inherited ones included.
    pub asserts: Vec<Assertion>,
}

/// Variables a path pattern may start with; the runtime supplies their values.
pub const PATH_VARIABLES: &[(&str, &str)] = &[
    (
        "WORKSPACE",
        "the directory given to `clawless exec --workspace` (default: the current directory)",
    ),
    ("HOME", "the invoking user's home directory (also written `~`)"),
    ("TMPDIR", "the temporary directory (default /tmp)"),
    ("XDG_CONFIG_HOME", "per-user configuration (default ~/.config)"),
    ("XDG_CACHE_HOME", "per-user caches (default ~/.cache)"),
    ("XDG_DATA_HOME", "per-user data (default ~/.local/share)"),
    (
        "XDG_RUNTIME_DIR",
        "per-user runtime files (default /run/user/UID)",
    ),
    ("CARGO_HOME", "Cargo's home (default ~/.cargo)"),
    ("RUSTUP_HOME", "rustup's toolchains (default ~/.rustup)"),
    ("PYENV_ROOT", "pyenv's Pythons (default ~/.pyenv)"),
    ("NVM_DIR", "nvm's Node.js versions (default ~/.nvm)"),
];
