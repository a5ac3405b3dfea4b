//! The checked form of a policy: every name resolved, every literal validated, every
//! constant evaluated for one target architecture. This is what the compiler lowers
//! to its IR; it still carries spans so later stages can point back at the source.

use crate::span::Span;
pub use claw_stdlib::vocab::{Action, Addr, CmpOp, EntityKind, Proto, Verb, PATH_VARIABLES};
pub use claw_stdlib::Arch;

/// A path glob, validated. `~` has been rewritten to `$HOME`; the only
/// metacharacters are `*` (within a component), `?` and `**` (any depth).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathPattern {
    pub pattern: String,
    pub span: Span,
}

impl PathPattern {
    /// The variable the pattern starts with (`WORKSPACE`), if any.
    pub fn variable(&self) -> Option<&str> {
        let rest = self.pattern.strip_prefix('$')?;
        Some(rest.split('/').next().unwrap_or(rest))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub proto: Proto,
    pub addr: Addr,
    /// Inclusive port range; `0..=65535` when not given (and for unix sockets).
    pub ports: (u16, u16),
    pub span: Span,
}

/// A set of entities of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entity {
    Paths(Vec<PathPattern>),
    Endpoints(Vec<Endpoint>),
}

impl Entity {
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Paths(_) => EntityKind::Path,
            Entity::Endpoints(_) => EntityKind::Endpoint,
        }
    }
}

/// `arg & mask OP value` on one syscall argument, already truncated to the width the
/// kernel reads (so comparing fewer bits cannot be bypassed with the upper half).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArgCond {
    pub arg: usize,
    pub arg_name: String,
    /// Bits the kernel reads: 16, 32 or 64.
    pub width: u32,
    pub mask: Option<u64>,
    pub op: CmpOp,
    pub value: u64,
}

/// One syscall, optionally restricted by argument conditions (all must hold).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyscallMatch {
    pub name: String,
    pub nr: u32,
    pub conds: Vec<ArgCond>,
}

/// What a rule, event or property is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Syscalls(Vec<SyscallMatch>),
    /// Verbs on entities. `entity` is `None` only in properties (`never connect`:
    /// any endpoint).
    Access {
        verbs: Vec<Verb>,
        entity: Option<Entity>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    pub target: Target,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub event: Target,
    /// Index into [`Policy::states`].
    pub to: usize,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub name: String,
    pub span: Span,
    pub rules: Vec<Rule>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// No reachable state allows `what` (after `after` has happened, if given).
    Never { what: Target, after: Option<Target> },
    /// Every allowed `verbs` request is on something within `within`.
    Always { verbs: Vec<Verb>, within: Entity },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `assert NAME: ...`; a child policy's assertion of the same name replaces it.
    pub name: Option<String>,
    pub property: Property,
    pub span: Span,
}

/// A checked policy for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub arch: Arch,
    pub span: Span,
    pub default: Action,
    pub default_span: Span,
    /// Rules in force in every state.
    pub always: Vec<Rule>,
    /// At least one state; a policy without `state` blocks has one implicit state.
    pub states: Vec<State>,
    pub initial: usize,
    pub asserts: Vec<Assertion>,
}
