//! The values of path variables (`$WORKSPACE`, `$HOME`...) for a run, the
//! assumption every value must satisfy ([`check_var`], which the verifier's proofs
//! rest on and the runtime enforces), and matching a pattern that starts with a
//! variable against a path. Which variables exist is the vocabulary's
//! ([`crate::PATH_VARIABLES`]); how the runtime finds their values is not known here.

use crate::glob_match;
use std::collections::HashMap;

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
