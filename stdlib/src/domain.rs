//! Domain names as endpoints name them: `"api.anthropic.com"` (exactly that name)
//! and `"*.githubusercontent.com"` (any name strictly below it, one label deep or
//! more: `raw.githubusercontent.com`, `a.b.githubusercontent.com`, never
//! `githubusercontent.com` itself).
//!
//! The one definition every stage shares: the checker validates a pattern with
//! [`DomainPattern::parse`], the IR and the verifier match names with
//! [`DomainPattern::matches`] (and its regular shape), and the runtime normalises
//! the names its resolver sees with [`normalize`] before matching them. It knows
//! nothing of addresses or of DNS itself.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest name in text form, without the final dot (RFC 1035: 255 octets on
/// the wire).
pub const MAX_NAME: usize = 253;
/// The longest label (RFC 1035).
pub const MAX_LABEL: usize = 63;

/// A domain pattern: lowercase, no final dot; `wildcard` for a leading `*.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DomainPattern {
    /// `*.base`: every name strictly below `base`.
    pub wildcard: bool,
    /// The name (or the suffix, for a wildcard), normalised.
    pub base: String,
}

/// Why a pattern is not a domain: a message and a hint, for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    /// What is wrong with the pattern.
    pub message: String,
    /// How to write it instead.
    pub hint: String,
}

fn err(message: impl Into<String>, hint: impl Into<String>) -> DomainError {
    DomainError {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Is `c` a letter, digit or hyphen (the hostname alphabet of RFC 952/1123)?
fn ldh(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Checks one label of a policy's name.
fn check_label(label: &str, whole: &str) -> Result<(), DomainError> {
    if label.is_empty() {
        return Err(err(
            format!("`{whole}` has an empty label"),
            "labels are separated by single dots: `api.example.com`",
        ));
    }
    if label.len() > MAX_LABEL {
        return Err(err(
            format!("a label of `{whole}` is longer than {MAX_LABEL} characters"),
            "a DNS label is 1 to 63 characters",
        ));
    }
    if label.contains('*') {
        return Err(err(
            format!("`{whole}`: `*` may only be a whole first label"),
            "write `*.example.com` for every name below example.com; `foo*.example.com`, `a.*.example.com` and `**` are not patterns",
        ));
    }
    if let Some(c) = label.bytes().find(|c| !ldh(*c)) {
        let hint = if c >= 0x80 {
            "write an internationalised name in its ASCII form (`xn--...`)".to_string()
        } else {
            format!(
                "`{}` is not allowed in a host name: use letters, digits and `-`",
                c as char
            )
        };
        return Err(err(format!("`{whole}` is not a valid domain name"), hint));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(err(
            format!("`{whole}`: a label starts or ends with `-`"),
            "a host name label begins and ends with a letter or digit",
        ));
    }
    Ok(())
}

impl DomainPattern {
    /// Parses and validates a policy's domain pattern. Uppercase is folded (DNS
    /// names are case-insensitive). Refused: empty labels (and a final dot),
    /// characters outside letters, digits and `-`, labels over 63 characters,
    /// names over 253, a `*` anywhere but as a whole first label, a wildcard
    /// over fewer than two labels (`*.com` is every name of a top-level domain),
    /// and names whose last label is numeric (they read as an IPv4 address).
    pub fn parse(s: &str) -> Result<DomainPattern, DomainError> {
        if s.ends_with('.') && s.len() > 1 {
            return Err(err(
                format!("`{s}` ends with a dot"),
                format!(
                    "write `{}`: names are always absolute here",
                    s.trim_end_matches('.')
                ),
            ));
        }
        let lower = s.to_ascii_lowercase();
        let (wildcard, base) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        if base.len() > MAX_NAME {
            return Err(err(
                format!("`{s}` is longer than {MAX_NAME} characters"),
                "a domain name is at most 253 characters",
            ));
        }
        for label in base.split('.') {
            check_label(label, s)?;
        }
        let labels: Vec<&str> = base.split('.').collect();
        if labels
            .last()
            .is_some_and(|l| l.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(err(
                format!("`{s}` is neither an IP address nor a domain name"),
                "an IPv4 address has four numbers (`192.0.2.1`); a domain's last label is not numeric",
            ));
        }
        if wildcard && labels.len() < 2 {
            return Err(err(
                format!("`{s}` is a wildcard over a whole top-level domain"),
                "a wildcard needs at least two labels after `*.`: `*.example.com`",
            ));
        }
        Ok(DomainPattern {
            wildcard,
            base: base.to_string(),
        })
    }

    /// Does the pattern cover `name` (normalised: see [`normalize`])? An exact
    /// pattern is that name; `*.base` is every name that ends in `.base` with at
    /// least one label before it.
    pub fn matches(&self, name: &str) -> bool {
        if !self.wildcard {
            return name == self.base;
        }
        name.len() > self.base.len() + 1
            && name.ends_with(self.base.as_str())
            && name.as_bytes()[name.len() - self.base.len() - 1] == b'.'
    }

    /// Is this the name `localhost` (answered by the monitor itself, with the
    /// loopback addresses)?
    pub fn is_localhost(&self) -> bool {
        !self.wildcard && self.base == "localhost"
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*.{}", self.base)
        } else {
            f.write_str(&self.base)
        }
    }
}

/// Is `b` a byte a resolved name's label may hold? Letters, digits, `-` and `_`
/// (service labels such as `_dmarc`): what the runtime accepts from a query and
/// the verifier's names range over.
pub fn name_byte(b: u8) -> bool {
    ldh(b) || b == b'_'
}

/// The form names are compared in: lowercase, without the final dot; `None` for
/// a name that is not a plain host name (empty labels, bytes outside
/// [`name_byte`], a label or the whole over its limit) — such a name matches no
/// pattern, and the runtime refuses to look it up.
pub fn normalize(name: &str) -> Option<String> {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() || n.len() > MAX_NAME {
        return None;
    }
    let ok = n
        .split('.')
        .all(|l| !l.is_empty() && l.len() <= MAX_LABEL && l.bytes().all(name_byte));
    ok.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard_match() {
        let e = DomainPattern::parse("API.Anthropic.com").unwrap();
        assert_eq!(e.to_string(), "api.anthropic.com");
        assert!(e.matches("api.anthropic.com"));
        assert!(!e.matches("x.api.anthropic.com"));
        let w = DomainPattern::parse("*.githubusercontent.com").unwrap();
        assert!(w.matches("raw.githubusercontent.com"));
        assert!(w.matches("a.b.githubusercontent.com"));
        assert!(!w.matches("githubusercontent.com"));
        assert!(!w.matches("evilgithubusercontent.com"));
        assert!(!w.matches(".githubusercontent.com"));
    }

    #[test]
    fn refuses_what_is_not_a_domain() {
        for bad in [
            "",
            "a..b",
            "example.com.",
            "foo*.example.com",
            "a.*.example.com",
            "**.example.com",
            "*",
            "*.com",
            "-a.example.com",
            "a-.example.com",
            "a_b.example.com",
            "ex ample.com",
            "exämple.com",
            "10.0.0.300",
            "1.2.3",
        ] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(DomainPattern::parse(&long).is_err());
        assert!(DomainPattern::parse("localhost").unwrap().is_localhost());
        assert!(DomainPattern::parse("xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn normalizes_resolved_names() {
        assert_eq!(
            normalize("Raw.GitHubusercontent.com.").as_deref(),
            Some("raw.githubusercontent.com")
        );
        assert_eq!(
            normalize("_dmarc.example.com").as_deref(),
            Some("_dmarc.example.com")
        );
        assert_eq!(normalize("a..b"), None);
        assert_eq!(normalize("."), None);
        assert_eq!(normalize("a\u{0}b"), None);
    }
}
