//! The policy IR: states, rules, transitions and a default, for one architecture.
//!
//! It is the single source of truth for decisions. The code generator compiles the
//! parts the kernel can decide into cBPF; the monitor calls [`Ir::decide`] for the
//! rest; the verifier proves that the two agree. It depends on nothing but the
//! platform tables, so the runtime can use it without the front end.
//!
//! The crate, one job per module:
//!
//! - `types`: the IR's data ([`Ir`], [`Rule`], [`Matcher`], [`Property`]...), as
//!   the artifact stores it;
//! - [`decide`]: how a request is decided ([`Ir::decide`], [`Ir::next_state`],
//!   [`matches_access`]), and the request and decision types;
//! - `env`: path variables' values ([`Env`]) and what they must satisfy
//!   ([`check_var`]);
//! - [`route`]: which syscalls the kernel decides and which go to the monitor;
//! - [`mediation`]: what each mediated syscall does, for the router and the monitor;
//! - [`names`]: the secret names on the file system (hard links, secret-named
//!   symlinks) that make an object with an ordinary canonical path a secret,
//!   shared by the runtime and `clawc explain`;
//! - [`landlock`], [`isolate`], [`netns`], [`domain`]: the plans derived from the
//!   IR for Landlock, isolated files, the network namespace and domain endpoints.
//!
//! The vocabulary ([`Action`], [`Verb`], [`Proto`], [`Addr`], [`CmpOp`], the path
//! variables) is `claw_stdlib::vocab`'s, shared with the front end.

pub mod decide;
pub mod domain;
mod env;
mod glob;
pub mod isolate;
pub mod landlock;
pub mod mediation;
pub mod names;
pub mod netns;
pub mod route;
mod types;

pub use decide::{cidr_contains, matches_access, Access, Decision, NetAddr, Request};
pub use env::{check_var, Env, SYSTEM_DIRS, VAR_ALLOWED_BELOW};
pub use glob::glob_match;
pub use mediation::{Mediation, SyscallEffect};
pub use route::{ArgRule, FilterOutcome, KernelDecision, MonitorReason, Route};
pub use types::{
    width_mask, ArgCond, Assertion, Endpoint, Entity, Ir, Matcher, Pattern, Property, Rule, Transition,
};

pub use claw_stdlib::domain::DomainPattern;
pub use claw_stdlib::vocab::{Action, Addr, CmpOp, EntityKind, Proto, Verb, PATH_VARIABLES};

#[cfg(test)]
mod tests;
