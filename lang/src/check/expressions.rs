//! Expressions: evaluates an entity or syscall expression (`path [...]`,
//! `endpoint ...`, `syscalls [...]`, lists, names) to a value, and resolves a
//! syscall reference (a name, a group, a `syscall_NNN`) against the target's
//! syscall table.
//!
//! It knows the value kinds and how lists combine; it does not validate
//! literals (`literals`) or argument conditions (`conditions`).

use super::{article, Checker, Def, Scope, Val};
use crate::ast::{self, ExprKind};
use crate::diag::{suggest, Diagnostic};
use crate::model::{ArgCond, Entity, EntityKind, SyscallMatch, Verb};
use crate::span::Span;
use claw_stdlib::syscalls;

impl Checker<'_> {
    pub(super) fn eval_expr(&mut self, scope: &Scope, e: &ast::Expr) -> Val {
        match &e.kind {
            ExprKind::Name(id) => match self.lookup(scope, &id.name) {
                Some(Def::Let(k)) => {
                    self.used_lets.insert(k.clone());
                    self.eval_let(&k)
                }
                Some(Def::Policy(..)) => {
                    self.err(
                        Diagnostic::error("E0214", id.span, format!("`{}` is a policy, not a set", id.name))
                            .with_label("a policy cannot be used as a value")
                            .with_hint("use `extends` to build on a policy"),
                    );
                    Val::Error
                }
                None => {
                    if self.table.by_name(&id.name).is_some() || syscalls::known_anywhere(&id.name) {
                        let r = ast::SyscallRef {
                            name: id.clone(),
                            conds: None,
                            span: id.span,
                        };
                        return self.eval_syscall_ref(scope, &r);
                    }
                    let names = self.visible_names(scope);
                    let mut d = Diagnostic::error("E0101", id.span, format!("unknown name `{}`", id.name))
                        .with_label("not defined or imported");
                    d = match suggest(&id.name, names.iter().map(String::as_str)) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint(format!(
                            "define it with `let {} = ...;` or import it with `use std::...`",
                            id.name
                        )),
                    };
                    self.err(d);
                    Val::Error
                }
            },
            ExprKind::Paths(strs) => {
                let mut out = Vec::new();
                for s in strs {
                    if let Some(p) = self.check_path(s) {
                        out.push(p);
                    }
                }
                if out.len() == strs.len() {
                    Val::Entity(Entity::Paths(out))
                } else {
                    Val::Error
                }
            }
            ExprKind::Endpoint(ep) => match self.check_endpoint(ep, e.span) {
                Some(x) => Val::Entity(Entity::Endpoints(vec![x])),
                None => Val::Error,
            },
            ExprKind::Syscalls(refs) => {
                let mut out = Vec::new();
                let mut failed = false;
                for r in refs {
                    match self.eval_syscall_ref(scope, r) {
                        Val::Syscalls(v) => out.extend(v),
                        _ => failed = true,
                    }
                }
                if failed {
                    Val::Error
                } else {
                    Val::Syscalls(out)
                }
            }
            ExprKind::List(items) => self.eval_list(scope, items, e.span),
        }
    }

    pub(super) fn eval_list(&mut self, scope: &Scope, items: &[ast::Expr], span: Span) -> Val {
        if items.is_empty() {
            self.err(
                Diagnostic::error("E0214", span, "an empty list has no kind")
                    .with_label("empty list")
                    .with_hint("list at least one path, endpoint or syscall"),
            );
            return Val::Error;
        }
        let mut syscalls_out = Vec::new();
        let mut paths = Vec::new();
        let mut endpoints = Vec::new();
        let mut first: [Option<Span>; 3] = [None; 3];
        let mut failed = false;
        for item in items {
            match self.eval_expr(scope, item) {
                Val::Syscalls(v) => {
                    first[0].get_or_insert(item.span);
                    syscalls_out.extend(v);
                }
                Val::Entity(Entity::Paths(v)) => {
                    first[1].get_or_insert(item.span);
                    paths.extend(v);
                }
                Val::Entity(Entity::Endpoints(v)) => {
                    first[2].get_or_insert(item.span);
                    endpoints.extend(v);
                }
                Val::Error => failed = true,
            }
        }
        let kinds: Vec<(usize, Span)> = first
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s)))
            .collect();
        if kinds.len() > 1 {
            const NAMES: [&str; 3] = ["syscalls", "paths", "endpoints"];
            let (k0, s0) = kinds[0];
            let (k1, s1) = kinds[1];
            self.err(
                Diagnostic::error(
                    "E0214",
                    s1,
                    format!("this list mixes {} and {}", NAMES[k0], NAMES[k1]),
                )
                .with_label(format!("these are {}", NAMES[k1]))
                .with_secondary(s0, format!("but these are {}", NAMES[k0]))
                .with_hint("a list is the union of one kind of thing; split it into separate rules"),
            );
            return Val::Error;
        }
        if failed {
            return Val::Error;
        }
        match kinds.first().map(|k| k.0) {
            Some(0) => Val::Syscalls(syscalls_out),
            Some(1) => Val::Entity(Entity::Paths(paths)),
            Some(_) => Val::Entity(Entity::Endpoints(endpoints)),
            None => Val::Error,
        }
    }

    pub(super) fn eval_syscall_ref(&mut self, scope: &Scope, r: &ast::SyscallRef) -> Val {
        let name = &r.name.name;
        let mut def = self.lookup(scope, name);
        // Inside its own definition a group named after a syscall (`let time =
        // syscalls [time, ...]`) means that syscall, not itself.
        if let Some(Def::Let(k)) = &def {
            if self.in_progress.contains(k) && syscalls::known_anywhere(name) {
                def = None;
            }
        }
        match def {
            Some(Def::Let(k)) => {
                self.used_lets.insert(k.clone());
                let v = self.eval_let(&k);
                match (&v, &r.conds) {
                    (Val::Syscalls(_), Some(conds)) if !conds.is_empty() || r.conds.is_some() => {
                        self.err(
                            Diagnostic::error(
                                "E0205",
                                r.span,
                                format!("argument conditions on the group `{name}`"),
                            )
                            .with_label("conditions apply to one syscall, not a group")
                            .with_hint("write the condition on each syscall it is meant for: `socket(family == AF_INET)`"),
                        );
                        Val::Error
                    }
                    (Val::Entity(e), _) => {
                        let kind = e.kind();
                        let hint = match kind {
                            EntityKind::Path => {
                                format!("to grant access to paths, name a verb: `allow read {name};`")
                            }
                            EntityKind::Endpoint => {
                                format!("to grant network access, name a verb: `allow connect {name};`")
                            }
                        };
                        self.err(
                            Diagnostic::error(
                                "E0202",
                                r.span,
                                format!("expected syscalls, found {kind} set `{name}`"),
                            )
                            .with_label(format!("this is {} set", article(kind)))
                            .with_hint(hint),
                        );
                        Val::Error
                    }
                    _ => v,
                }
            }
            Some(Def::Policy(..)) => {
                self.err(
                    Diagnostic::error(
                        "E0202",
                        r.span,
                        format!("expected syscalls, found policy `{name}`"),
                    )
                    .with_label("a policy")
                    .with_hint("use `extends` to build on a policy"),
                );
                Val::Error
            }
            None => {
                if let Some(sc) = self.table.by_name(name) {
                    let conds = match &r.conds {
                        None => Vec::new(),
                        Some(cs) => {
                            let mut out = Vec::new();
                            for c in cs {
                                match self.check_cond(sc, c) {
                                    Some(x) => out.push(x),
                                    None => return Val::Error,
                                }
                            }
                            let refs: Vec<&ArgCond> = out.iter().collect();
                            if let Some((i, j)) = crate::overlap::contradiction(&refs) {
                                self.err(
                                    Diagnostic::error("E0207", cs[j].span, "these conditions can never all be true")
                                        .with_label(format!(
                                            "cannot hold together with the other condition on register {} (`{}`)",
                                            out[i].arg, out[i].arg_name
                                        ))
                                        .with_secondary(cs[i].span, "this condition")
                                        .with_hint("both test the same register; a rule whose conditions never hold never applies"),
                                );
                                return Val::Error;
                            }
                            out
                        }
                    };
                    return Val::Syscalls(vec![SyscallMatch {
                        name: sc.name.to_string(),
                        nr: sc.nr,
                        conds,
                    }]);
                }
                if let Some(nr) = numbered_syscall(name) {
                    return self.numbered_syscall(r, name, nr);
                }
                if syscalls::known_anywhere(name) {
                    if !self.is_std(scope) {
                        let arch = self.opts.arch;
                        self.err(
                            Diagnostic::warning("W0003", r.span, format!("`{name}` does not exist on {arch}"))
                                .with_label(format!("ignored when compiling for {arch}"))
                                .with_hint("name the syscall this architecture uses instead (aarch64 has `openat`, not `open`)"),
                        );
                    }
                    return Val::Syscalls(Vec::new());
                }
                let mut d = Diagnostic::error("E0105", r.name.span, format!("unknown syscall `{name}`"))
                    .with_label("not a syscall, group or binding");
                let mut cands: Vec<String> = self.table.iter().map(|s| s.name.to_string()).collect();
                cands.extend(self.visible_names(scope));
                if Verb::from_name(name).is_some() {
                    d = d.with_hint(format!(
                        "`{name}` is a verb and needs an object: `allow {name} PATHS;`"
                    ));
                } else if let Some(s) = suggest(name, cands.iter().map(String::as_str)) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                } else {
                    d = d.with_hint(
                        "syscall names are those of the Linux syscall table, e.g. `openat`, `socket`",
                    );
                }
                self.err(d);
                Val::Error
            }
        }
    }

    /// `syscall_NNN`: a syscall by number, for numbers the table does not name (new
    /// syscalls, private ones). It takes no conditions: nothing says what its
    /// arguments are.
    pub(super) fn numbered_syscall(&mut self, r: &ast::SyscallRef, name: &str, nr: u32) -> Val {
        if let Some(sc) = self.table.by_nr(nr) {
            self.err(
                Diagnostic::error(
                    "E0105",
                    r.name.span,
                    format!("syscall {nr} has a name: `{}`", sc.name),
                )
                .with_label("numbered syscalls are for numbers the table does not name")
                .with_hint(format!("write `{}`", sc.name)),
            );
            return Val::Error;
        }
        if nr >= syscalls::X32_SYSCALL_BIT || nr >= 1 << 20 {
            self.err(
                Diagnostic::error("E0105", r.name.span, format!("`{name}` is not a syscall number"))
                    .with_label("x32 numbers and numbers this large are killed by every filter")
                    .with_hint("syscall numbers are below 0x40000000; x32 syscalls are refused"),
            );
            return Val::Error;
        }
        if let Some(c) = r.conds.as_ref().and_then(|cs| cs.first()) {
            self.err(
                Diagnostic::error("E0204", c.arg.span, format!("`{name}` has no argument table"))
                    .with_label("conditions need the syscall's arguments")
                    .with_hint("a syscall given by number is allowed or denied whatever its arguments"),
            );
            return Val::Error;
        }
        Val::Syscalls(vec![SyscallMatch {
            name: name.to_string(),
            nr,
            conds: Vec::new(),
        }])
    }
}

/// The number of a `syscall_NNN` name (decimal, or `syscall_0x1cc`).
fn numbered_syscall(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("syscall_")?;
    match digits.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok(),
        None => None,
    }
}
