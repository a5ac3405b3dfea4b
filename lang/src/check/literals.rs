//! Literals: validates path patterns (variables, `~`, globs, what can never
//! match) and endpoints (protocol, address block or domain, ports).
//!
//! It knows the path variables and the address syntax; it does not resolve
//! names or know which verb the entity is used with (`rules`).

use super::Checker;
use crate::ast::{self};
use crate::diag::{suggest, Diagnostic};
use crate::model::{Addr, Endpoint, PathPattern, Proto, PATH_VARIABLES};
use crate::span::Span;
use std::net::IpAddr;

impl Checker<'_> {
    pub(super) fn check_path(&mut self, s: &ast::StrLit) -> Option<PathPattern> {
        let raw = &s.value;
        let bad = |msg: &str, label: &str, hint: &str| {
            Diagnostic::error("E0211", s.span, msg.to_string())
                .with_label(label.to_string())
                .with_hint(hint.to_string())
        };
        if raw.is_empty() {
            self.err(bad(
                "empty path pattern",
                "matches nothing",
                "write an absolute pattern such as `/srv/data/**`",
            ));
            return None;
        }
        if raw.contains('\0') {
            self.err(bad(
                "path pattern contains a NUL byte",
                "paths cannot contain NUL",
                "remove the `\\0`",
            ));
            return None;
        }
        let pattern = if raw == "~" {
            "$HOME".to_string()
        } else if let Some(rest) = raw.strip_prefix("~/") {
            format!("$HOME/{rest}")
        } else if raw.starts_with('~') {
            self.err(bad(
                "`~user` is not supported",
                "only the invoking user's `~` is known",
                "write the absolute path instead",
            ));
            return None;
        } else {
            raw.clone()
        };
        let (pattern, body) = if let Some(rest) = pattern.strip_prefix('$') {
            let (var, tail) = match rest.strip_prefix('{') {
                Some(braced) => match braced.split_once('}') {
                    Some((v, t)) => (v.to_string(), t.to_string()),
                    None => (braced.to_string(), String::new()),
                },
                None => {
                    let (v, t) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    (v.to_string(), t.to_string())
                }
            };
            if !PATH_VARIABLES.iter().any(|(v, _)| *v == var) {
                let mut d = Diagnostic::error("E0213", s.span, format!("unknown variable `${var}`"))
                    .with_label("the runtime does not supply this variable");
                d = match suggest(&var, PATH_VARIABLES.iter().map(|(v, _)| *v)) {
                    Some(sug) => d.with_hint(format!("did you mean `${sug}`?")),
                    None => d.with_hint(format!(
                        "known variables: {}",
                        PATH_VARIABLES
                            .iter()
                            .map(|(v, _)| format!("${v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.err(d);
                return None;
            }
            if !tail.is_empty() && !tail.starts_with('/') {
                self.err(bad(
                    "a variable must be followed by `/`",
                    &format!("`${var}` runs into `{tail}`"),
                    &format!("write `${var}/{}`", tail.trim_start_matches('/')),
                ));
                return None;
            }
            (format!("${var}{tail}"), tail)
        } else if pattern.starts_with('/') {
            (pattern.clone(), pattern)
        } else {
            self.err(bad(
                &format!("relative path pattern `{raw}`"),
                "the monitor compares absolute, canonical paths",
                "start it with `/`, `~/` or a variable such as `$WORKSPACE/`",
            ));
            return None;
        };
        if body.contains('$') {
            self.err(bad(
                "a variable may only start a path pattern",
                "`$` in the middle of a pattern",
                "put the variable first: `$WORKSPACE/src/**`",
            ));
            return None;
        }
        if body.is_empty() || body == "/" {
            return Some(PathPattern {
                pattern,
                span: s.span,
            });
        }
        if body.len() > 1 && body.ends_with('/') {
            self.never_matches(
                s,
                "ends with `/`",
                "remove the trailing `/`, or write `dir/**` for everything below",
            );
            return None;
        }
        for comp in body.split('/').skip(1) {
            match comp {
                "" => {
                    self.never_matches(s, "has an empty component (`//`)", "write a single `/`");
                    return None;
                }
                "." | ".." => {
                    self.never_matches(
                        s,
                        &format!("has a `{comp}` component"),
                        "the monitor matches canonical paths, which never contain `.` or `..`; write the resolved path",
                    );
                    return None;
                }
                c if c.contains("**") && c != "**" => {
                    self.err(bad(
                        "`**` must be a whole path component",
                        &format!("`{c}` mixes `**` with other text"),
                        "use `*` within a component (`*.rs`) and `**` alone for any depth (`src/**/*.rs`)",
                    ));
                    return None;
                }
                _ => {}
            }
        }
        Some(PathPattern {
            pattern,
            span: s.span,
        })
    }

    pub(super) fn never_matches(&mut self, s: &ast::StrLit, why: &str, hint: &str) {
        self.err(
            Diagnostic::error("E0212", s.span, "this path pattern can never match")
                .with_label(format!("the pattern {why}"))
                .with_hint(hint.to_string()),
        );
    }

    pub(super) fn check_endpoint(&mut self, ep: &ast::EndpointExpr, span: Span) -> Option<Endpoint> {
        let proto = match ep.proto.name.as_str() {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "unix" => Proto::Unix,
            other => {
                let mut d = Diagnostic::error("E0219", ep.proto.span, format!("unknown protocol `{other}`"))
                    .with_label("expected `tcp`, `udp` or `unix`");
                if let Some(s) = suggest(other, ["tcp", "udp", "unix"]) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                } else {
                    d = d.with_hint("endpoints are `endpoint tcp \"CIDR\" port N`, `endpoint udp ...` or `endpoint unix \"/path\"`");
                }
                self.err(d);
                return None;
            }
        };
        let a = &ep.addr;
        if proto == Proto::Unix {
            if let Some(p) = &ep.ports {
                self.err(
                    Diagnostic::error("E0218", p.span, "unix sockets have no ports")
                        .with_label("not meaningful for `unix`")
                        .with_hint("remove the `port` clause"),
                );
                return None;
            }
            let addr = if let Some(name) = a.value.strip_prefix('@') {
                Addr::UnixAbstract(name.to_string())
            } else if a.value.starts_with('/') {
                Addr::UnixPath(a.value.clone())
            } else {
                self.err(
                    Diagnostic::error(
                        "E0210",
                        a.span,
                        format!("invalid unix socket address `{}`", a.value),
                    )
                    .with_label("expected an absolute path or `@name`")
                    .with_hint(
                        "write `\"/run/app.sock\"` for a pathname socket or `\"@name\"` for an abstract one",
                    ),
                );
                return None;
            };
            return Some(Endpoint {
                proto,
                addr,
                ports: (0, 65535),
                span,
            });
        }
        let addr = match parse_cidr(&a.value) {
            Ok(addr) => addr,
            Err(_) if looks_like_a_name(&a.value) => {
                match claw_stdlib::domain::DomainPattern::parse(&a.value) {
                    Ok(d) => Addr::Domain(d),
                    Err(e) => {
                        self.err(
                            Diagnostic::error("E0210", a.span, e.message)
                                .with_label("not a valid domain name")
                                .with_hint(e.hint),
                        );
                        return None;
                    }
                }
            }
            Err((msg, hint)) => {
                self.err(
                    Diagnostic::error("E0210", a.span, msg)
                        .with_label("not a valid address block")
                        .with_hint(hint),
                );
                return None;
            }
        };
        let ports = match &ep.ports {
            None => (0, 65535),
            Some(p) => {
                if p.lo > 65535 || p.hi > 65535 {
                    self.err(
                        Diagnostic::error("E0209", p.span, "port out of range")
                            .with_label("ports are 0 to 65535")
                            .with_hint("use a port between 0 and 65535"),
                    );
                    return None;
                }
                if p.lo > p.hi {
                    self.err(
                        Diagnostic::error("E0209", p.span, format!("empty port range {}..{}", p.lo, p.hi))
                            .with_label("the first port is above the last")
                            .with_hint(format!("write `port {}..{}`", p.hi, p.lo)),
                    );
                    return None;
                }
                (p.lo as u16, p.hi as u16)
            }
        };
        Some(Endpoint {
            proto,
            addr,
            ports,
            span,
        })
    }
}

/// Is `s` meant as a domain name rather than an address? Anything with a letter,
/// `*.` or `-` that has no `/` or `:` (an address block or an IPv6 address):
/// `10.0.0.300` stays an address error, `api..example.com` a domain error.
fn looks_like_a_name(s: &str) -> bool {
    !s.contains(['/', ':']) && s.bytes().any(|c| !(c.is_ascii_digit() || c == b'.'))
}

/// Parses `"*"`, `"10.0.0.0/8"`, `"10.1.2.3"`, `"::1/128"`.
fn parse_cidr(s: &str) -> Result<Addr, (String, String)> {
    if s == "*" {
        return Ok(Addr::Any);
    }
    let (ip, prefix) = match s.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = ip.parse().map_err(|_| {
        (
            format!("`{s}` is not an IP address or block"),
            "write an IPv4/IPv6 address, a CIDR block such as `10.0.0.0/8`, `*`, or a domain name such as `api.example.com`".to_string(),
        )
    })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                return Err((
                    format!("invalid prefix length `/{p}`"),
                    format!(
                        "an {} prefix is 0 to {max}",
                        if max == 32 { "IPv4" } else { "IPv6" }
                    ),
                ))
            }
        },
    };
    let host_bits_set = match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            prefix < 32 && bits & (u32::MAX >> prefix) != 0
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            prefix < 128 && bits & (u128::MAX >> prefix) != 0
        }
    };
    if host_bits_set {
        let net = match ip {
            IpAddr::V4(v4) => IpAddr::from(
                (u32::from(v4) & !(u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0))).to_be_bytes(),
            ),
            IpAddr::V6(v6) => IpAddr::from(
                (u128::from(v6) & !(u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0))).to_be_bytes(),
            ),
        };
        return Err((
            format!("`{s}` has host bits set"),
            format!("did you mean `{net}/{prefix}`?"),
        ));
    }
    Ok(Addr::Cidr(ip, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        assert_eq!(parse_cidr("*").unwrap(), Addr::Any);
        assert_eq!(
            parse_cidr("10.0.0.0/8").unwrap(),
            Addr::Cidr("10.0.0.0".parse().unwrap(), 8)
        );
        assert_eq!(
            parse_cidr("1.2.3.4").unwrap(),
            Addr::Cidr("1.2.3.4".parse().unwrap(), 32)
        );
        assert_eq!(
            parse_cidr("::1/128").unwrap(),
            Addr::Cidr("::1".parse().unwrap(), 128)
        );
        assert!(parse_cidr("10.0.0.1/8").unwrap_err().1.contains("10.0.0.0/8"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("example.com").is_err());
    }
}
