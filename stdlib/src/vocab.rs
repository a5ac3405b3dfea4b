//! The vocabulary every stage shares: what a rule does ([`Action`]) and which of
//! them is the most severe ([`Action::rank`]), the verbs ([`Verb`]) and the kinds of
//! entity they take, protocols and addresses of endpoints, argument comparisons,
//! and the path variables a pattern may start with.
//!
//! One definition of each: the front end (`claw_lang::model`, `claw_lang::ast`)
//! and the IR (`claw_ir`) re-export these types, so a checked policy lowers to the
//! IR without converting between copies, and the language server's hover text is
//! the verbs' own documentation. It knows nothing of spans, syscall numbers or how a
//! request is decided (that is `claw_ir`'s `decide`).

use crate::domain::DomainPattern;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// What happens to a matching request. When several rules match, the most severe
/// wins ([`Action::rank`]: `Kill > Deny > Log > Allow`), as stacked seccomp filters
/// combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// The one definition of "most severe": a total order, `Kill > Deny > Log >
    /// Allow`; between two denies the smaller errno wins, so the outcome never
    /// depends on rule order.
    pub fn rank(self) -> (u8, u16) {
        match self {
            Action::Allow => (0, 0),
            Action::Log => (1, 0),
            Action::Deny(e) => (2, u16::MAX - e),
            Action::Kill => (3, 0),
        }
    }

    /// The more severe of two actions (by [`Action::rank`]).
    pub fn max(self, other: Action) -> Action {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Does the request go ahead (`allow` or `log`)?
    pub fn is_allowing(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Allow => f.write_str("allow"),
            Action::Log => f.write_str("log"),
            Action::Deny(e) => match crate::errno::by_value(*e) {
                Some(n) => write!(f, "deny({})", n.name),
                None => write!(f, "deny({e})"),
            },
            Action::Kill => f.write_str("kill"),
        }
    }
}

/// The path permissions of the ClawLess model plus the network verbs. Verbs are
/// independent: `write` does not include `append`, `read` does not include
/// `visible`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verb {
    /// Open for reading, list a directory, give the object another name.
    Read,
    /// Create, open for writing, truncate, rename, link, delete, change metadata.
    Write,
    /// Open for appending only (no truncation, no rewrite).
    Append,
    /// Execute as a program.
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

    /// The keyword, as written in a policy.
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

    /// What the verb permits, in one line (the language server's hover text).
    pub fn doc(self) -> &'static str {
        match self {
            Verb::Read => "open for reading, list a directory, give the object another name (rename, link)",
            Verb::Write => "create, open for writing, truncate, rename, link, delete, change metadata",
            Verb::Append => "open for appending only",
            Verb::Exec => "execute as a program",
            Verb::Visible => "see that it exists (stat, access, readlink), not its contents",
            Verb::Connect => "connect a socket to the endpoint",
            Verb::Send => "send datagrams to the endpoint",
            Verb::Bind => "bind a socket to the endpoint",
        }
    }

    /// The entity kind this verb takes.
    pub fn entity_kind(self) -> EntityKind {
        match self {
            Verb::Connect | Verb::Send | Verb::Bind => EntityKind::Endpoint,
            _ => EntityKind::Path,
        }
    }

    /// Does the verb take an endpoint (rather than a path)?
    pub fn is_network(self) -> bool {
        self.entity_kind() == EntityKind::Endpoint
    }
}

/// The protocol of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Proto {
    /// `tcp`
    Tcp,
    /// `udp`
    Udp,
    /// `unix` (stream or datagram)
    Unix,
}

/// Where an endpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    Domain(DomainPattern),
}

/// Comparison of a syscall argument with a constant (unsigned).
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

impl CmpOp {
    /// The operator as written in a policy.
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Does `a OP b` hold?
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// Variables a path pattern may start with, each with what it stands for; the
/// runtime supplies their values. The one list: the checker accepts these names,
/// the runtime defines these (`claw_runtime::paths`), the verifier's witnesses give
/// each a value, and docs/language.md's list is tested against it.
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

/// The names of [`PATH_VARIABLES`], in order.
pub fn path_variable_names() -> impl Iterator<Item = &'static str> {
    PATH_VARIABLES.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_is_total_and_breaks_deny_ties_by_smaller_errno() {
        assert_eq!(Action::Deny(1).max(Action::Deny(13)), Action::Deny(1));
        assert_eq!(Action::Deny(13).max(Action::Deny(1)), Action::Deny(1));
        assert_eq!(Action::Log.max(Action::Deny(13)), Action::Deny(13));
        assert_eq!(Action::Deny(1).max(Action::Kill), Action::Kill);
        assert_eq!(Action::Allow.max(Action::Log), Action::Log);
    }

    #[test]
    fn verbs_round_trip_by_name() {
        for v in Verb::ALL {
            assert_eq!(Verb::from_name(v.name()), Some(v));
            assert!(!v.doc().is_empty());
        }
        assert_eq!(Verb::from_name("delete"), None);
    }

    #[test]
    fn docs_language_lists_every_path_variable() {
        let doc = include_str!("../../docs/language.md");
        let section = doc
            .split("### Path patterns")
            .nth(1)
            .and_then(|s| s.split("###").next())
            .expect("docs/language.md has a \"Path patterns\" section");
        let mut listed = std::collections::BTreeSet::new();
        let mut rest = section;
        while let Some(i) = rest.find("`$") {
            let tail = &rest[i + 2..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if tail[end..].starts_with('`') {
                listed.insert(&tail[..end]);
            }
            rest = &tail[end..];
        }
        assert_eq!(listed, path_variable_names().collect());
    }
}
