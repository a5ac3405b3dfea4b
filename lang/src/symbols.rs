//! Every name in a syntax tree with its role and span: what editors need for hover,
//! go-to-definition, completion and outlines, without re-walking the tree.

use crate::ast::*;
use crate::span::Span;

/// The role a name plays where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `let NAME = …` (in `policy`, if inside one).
    LetDef {
        /// The policy it is in (`None`: at the top level).
        policy: Option<String>,
    },
    /// `policy NAME`.
    PolicyDef,
    /// `state NAME` in `policy`.
    StateDef {
        /// The policy it is in.
        policy: String,
    },
    /// A reference to a binding, import, group or syscall.
    NameRef {
        /// The policy it is in (`None`: at the top level).
        policy: Option<String>,
    },
    /// A verb in a rule with an object (`read` in `allow read workspace`).
    Verb,
    /// `-> NAME` in `policy`.
    StateRef {
        /// The policy it is in.
        policy: String,
    },
    /// `deny(NAME)`.
    Errno,
    /// A constant in an argument condition.
    Constant,
    /// An argument name in a condition, of the syscall named `syscall`.
    Argument {
        /// The syscall the argument belongs to.
        syscall: String,
    },
    /// A name imported by `use module::{…}`.
    Import {
        /// The module imported from.
        module: String,
    },
    /// `extends NAME`.
    Parent,
    /// A path pattern literal (`name` is the pattern).
    PathPattern,
}

/// One name occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The name as written.
    pub name: String,
    /// Where.
    pub span: Span,
    /// What it is there.
    pub role: Role,
}

/// Every name in `file`, in source order.
pub fn symbols(file: &File) -> Vec<Symbol> {
    let mut out = Vec::new();
    for item in &file.items {
        match item {
            Item::Use(u) => {
                let module: Vec<&str> = u.module.iter().map(|i| i.name.as_str()).collect();
                let module = module.join("::");
                let names: Vec<&Ident> = match &u.names {
                    UseNames::One(i) => vec![i],
                    UseNames::List(v) => v.iter().collect(),
                    UseNames::Glob(_) => vec![],
                };
                for n in names {
                    out.push(sym(
                        n,
                        Role::Import {
                            module: module.clone(),
                        },
                    ));
                }
            }
            Item::Let(l) => {
                out.push(sym(&l.name, Role::LetDef { policy: None }));
                expr(&mut out, &l.value, None);
            }
            Item::Policy(p) => policy(&mut out, p),
            Item::Error(_) => {}
        }
    }
    out.sort_by_key(|s| s.span.start);
    out
}

fn sym(i: &Ident, role: Role) -> Symbol {
    Symbol {
        name: i.name.clone(),
        span: i.span,
        role,
    }
}

fn policy(out: &mut Vec<Symbol>, p: &Policy) {
    let name = p.name.name.clone();
    out.push(sym(&p.name, Role::PolicyDef));
    if let Some(e) = &p.extends {
        out.push(sym(e, Role::Parent));
    }
    let scope = Some(name.clone());
    for item in &p.items {
        match item {
            PolicyItem::Let(l) => {
                out.push(sym(
                    &l.name,
                    Role::LetDef {
                        policy: scope.clone(),
                    },
                ));
                expr(out, &l.value, scope.as_deref());
            }
            PolicyItem::Default(a, _) => action(out, a),
            PolicyItem::Always(rules, _) => rules.iter().for_each(|r| rule(out, r, &scope)),
            PolicyItem::State(s) => {
                out.push(sym(&s.name, Role::StateDef { policy: name.clone() }));
                s.rules.iter().for_each(|r| rule(out, r, &scope));
                for t in &s.transitions {
                    target(out, &t.event, &scope);
                    out.push(sym(&t.to, Role::StateRef { policy: name.clone() }));
                }
            }
            PolicyItem::Assert(a) => match &a.property {
                Property::Never { what, after } => {
                    target(out, what, &scope);
                    if let Some(b) = after {
                        target(out, b, &scope);
                    }
                }
                Property::Always { what, within } => {
                    target(out, what, &scope);
                    expr(out, within, scope.as_deref());
                }
            },
            PolicyItem::Error(_) => {}
        }
    }
}

fn action(out: &mut Vec<Symbol>, a: &Action) {
    if let ActionKind::Deny(Some(ErrnoRef::Name(i))) = &a.kind {
        out.push(sym(i, Role::Errno));
    }
}

fn rule(out: &mut Vec<Symbol>, r: &Rule, scope: &Option<String>) {
    action(out, &r.action);
    target(out, &r.target, scope);
}

fn target(out: &mut Vec<Symbol>, t: &Target, scope: &Option<String>) {
    for item in &t.items {
        if t.object.is_some() {
            out.push(sym(&item.name, Role::Verb));
        } else {
            syscall_ref(out, item, scope.as_deref());
        }
    }
    if let Some(o) = &t.object {
        expr(out, o, scope.as_deref());
    }
}

fn syscall_ref(out: &mut Vec<Symbol>, r: &SyscallRef, scope: Option<&str>) {
    out.push(sym(
        &r.name,
        Role::NameRef {
            policy: scope.map(str::to_string),
        },
    ));
    for c in r.conds.iter().flatten() {
        out.push(sym(
            &c.arg,
            Role::Argument {
                syscall: r.name.name.clone(),
            },
        ));
        for v in c.mask.iter().chain(std::iter::once(&c.value)) {
            for t in &v.terms {
                if let Term::Name(i) = t {
                    out.push(sym(i, Role::Constant));
                }
            }
        }
    }
}

fn expr(out: &mut Vec<Symbol>, e: &Expr, scope: Option<&str>) {
    match &e.kind {
        ExprKind::Name(i) => out.push(sym(
            i,
            Role::NameRef {
                policy: scope.map(str::to_string),
            },
        )),
        ExprKind::Syscalls(v) => v.iter().for_each(|r| syscall_ref(out, r, scope)),
        ExprKind::List(v) => v.iter().for_each(|x| expr(out, x, scope)),
        ExprKind::Paths(v) => {
            for lit in v {
                out.push(Symbol {
                    name: lit.value.clone(),
                    span: lit.span,
                    role: Role::PathPattern,
                });
            }
        }
        ExprKind::Endpoint(_) => {}
    }
}

/// The symbol whose span contains byte `offset` (end inclusive, so a cursor just
/// after a name still finds it).
pub fn at(symbols: &[Symbol], offset: usize) -> Option<&Symbol> {
    symbols
        .iter()
        .find(|s| (s.span.start as usize) <= offset && offset <= s.span.end as usize)
}
