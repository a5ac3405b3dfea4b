//! Prints a syntax tree back as canonical Claw source. Parsing the output gives the
//! same tree (up to spans): the round-trip property the test suite checks. Comments
//! are not part of the tree and are not printed, which is why `clawc fmt` lays out
//! tokens instead (see `format`).

use crate::ast::*;
use std::fmt::Write;

/// Canonical source text for a file.
pub fn file(f: &File) -> String {
    let mut out = String::new();
    let mut first = true;
    for item in &f.items {
        if !first {
            out.push('\n');
        }
        first = false;
        match item {
            Item::Use(u) => out.push_str(&use_decl(u)),
            Item::Let(l) => {
                out.push_str(&let_decl(l));
                out.push('\n');
            }
            Item::Policy(p) => policy(&mut out, p),
            Item::Error(_) => first = true,
        }
    }
    out
}

fn use_decl(u: &Use) -> String {
    let module: Vec<&str> = u.module.iter().map(|i| i.name.as_str()).collect();
    let names = match &u.names {
        UseNames::One(i) => i.name.clone(),
        UseNames::List(v) => format!(
            "{{{}}}",
            v.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        UseNames::Glob(_) => "*".to_string(),
    };
    format!("use {}::{names};\n", module.join("::"))
}

fn let_decl(l: &Let) -> String {
    format!("let {} = {};", l.name.name, expr(&l.value))
}

/// Canonical text of an expression.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Name(i) => i.name.clone(),
        ExprKind::Paths(v) if v.len() == 1 => format!("path {}", string(&v[0].value)),
        ExprKind::Paths(v) => {
            format!(
                "path [{}]",
                v.iter().map(|s| string(&s.value)).collect::<Vec<_>>().join(", ")
            )
        }
        ExprKind::Endpoint(ep) => {
            let mut s = format!("endpoint {} {}", ep.proto.name, string(&ep.addr.value));
            if let Some(p) = &ep.ports {
                if p.lo == p.hi {
                    let _ = write!(s, " port {}", p.lo);
                } else {
                    let _ = write!(s, " port {}..{}", p.lo, p.hi);
                }
            }
            s
        }
        ExprKind::Syscalls(v) => {
            format!(
                "syscalls [{}]",
                v.iter().map(syscall_ref).collect::<Vec<_>>().join(", ")
            )
        }
        ExprKind::List(v) => format!("[{}]", v.iter().map(expr).collect::<Vec<_>>().join(", ")),
    }
}

/// A string literal with the escapes the lexer understands.
pub fn string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn syscall_ref(r: &SyscallRef) -> String {
    match &r.conds {
        None => r.name.name.clone(),
        Some(cs) => format!(
            "{}({})",
            r.name.name,
            cs.iter().map(cond).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn cond(c: &Cond) -> String {
    match &c.mask {
        None => format!("{} {} {}", c.arg.name, c.op.text(), value(&c.value)),
        Some(m) => format!(
            "{} & {} {} {}",
            c.arg.name,
            value(m),
            c.op.text(),
            value(&c.value)
        ),
    }
}

fn value(v: &Value) -> String {
    v.terms
        .iter()
        .map(|t| match t {
            Term::Int(n, _) => n.to_string(),
            Term::Name(i) => i.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn action(a: &Action) -> String {
    match &a.kind {
        ActionKind::Allow => "allow".into(),
        ActionKind::Log => "log".into(),
        ActionKind::Kill => "kill".into(),
        ActionKind::Deny(None) => "deny".into(),
        ActionKind::Deny(Some(ErrnoRef::Name(i))) => format!("deny({})", i.name),
        ActionKind::Deny(Some(ErrnoRef::Number(n, _))) => format!("deny({n})"),
    }
}

/// Canonical text of a rule/event target.
pub fn target(t: &Target) -> String {
    let items = t.items.iter().map(syscall_ref).collect::<Vec<_>>().join(", ");
    match &t.object {
        None => items,
        Some(o) => format!("{items} {}", expr(o)),
    }
}

fn rule(r: &Rule) -> String {
    format!("{} {};", action(&r.action), target(&r.target))
}

fn policy(out: &mut String, p: &Policy) {
    let _ = write!(out, "policy {}", p.name.name);
    if let Some(e) = &p.extends {
        let _ = write!(out, " extends {}", e.name);
    }
    out.push_str(" {\n");
    for item in &p.items {
        match item {
            PolicyItem::Let(l) => {
                let _ = writeln!(out, "    {}", let_decl(l));
            }
            PolicyItem::Default(a, _) => {
                let _ = writeln!(out, "    default {};", action(a));
            }
            PolicyItem::Always(rules, _) => {
                out.push_str("    always {\n");
                for r in rules {
                    let _ = writeln!(out, "        {}", rule(r));
                }
                out.push_str("    }\n");
            }
            PolicyItem::State(s) => {
                let init = if s.initial.is_some() { " initial" } else { "" };
                let _ = writeln!(out, "    state {}{init} {{", s.name.name);
                for r in &s.rules {
                    let _ = writeln!(out, "        {}", rule(r));
                }
                for t in &s.transitions {
                    let _ = writeln!(out, "        on {} -> {};", target(&t.event), t.to.name);
                }
                out.push_str("    }\n");
            }
            PolicyItem::Assert(a) => {
                let text = match &a.property {
                    Property::Never { what, after: None } => format!("never {}", target(what)),
                    Property::Never { what, after: Some(b) } => {
                        format!("never {} after {}", target(what), target(b))
                    }
                    Property::Always { what, within } => {
                        format!("always {} within {}", target(what), expr(within))
                    }
                };
                match &a.name {
                    Some(n) => {
                        let _ = writeln!(out, "    assert {}: {text};", n.name);
                    }
                    None => {
                        let _ = writeln!(out, "    assert {text};");
                    }
                }
            }
            PolicyItem::Error(_) => {}
        }
    }
    out.push_str("}\n");
}
