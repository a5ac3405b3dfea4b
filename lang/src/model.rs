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
