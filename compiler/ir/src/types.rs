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
    pub arg: u8,
    /// 16, 32 or 64: the bits the kernel reads; higher bits are ignored, as the
    /// kernel ignores them.
    pub width: u8,
    pub mask: Option<u64>,
    pub op: CmpOp,
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

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub proto: Proto,
    pub addr: Addr,
    pub ports: (u16, u16),
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

impl Ir {
    pub fn table(&self) -> &'static SyscallTable {
        SyscallTable::get(self.arch)
    }

    pub fn state_id(&self, name: &str) -> Option<u32> {
        self.states.iter().position(|s| s == name).map(|i| i as u32)
    }
}
