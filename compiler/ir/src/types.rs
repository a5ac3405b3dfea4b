//! The IR's data: a policy for one architecture as states, rules (each in force in
//! some states or all), transitions, a default and the assertions the verifier
//! proves. Plain data, serialised into the artifact; how a request is decided
//! against it is [`crate::decide`]'s job, where the kernel/monitor line falls is
//! [`crate::route`]'s.

use crate::{Action, Addr, CmpOp, Proto, Verb};
use claw_stdlib::{Arch, SyscallTable};
use serde::{Deserialize, Serialize};

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

/// All ones in the low `width` bits.
pub fn width_mask(width: u8) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
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

impl Ir {
    /// The syscall table of the policy's architecture.
    pub fn table(&self) -> &'static SyscallTable {
        SyscallTable::get(self.arch)
    }

    /// The id of the state called `name`.
    pub fn state_id(&self, name: &str) -> Option<u32> {
        self.states.iter().position(|s| s == name).map(|i| i as u32)
    }
}
