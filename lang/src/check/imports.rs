//! Modules and imports: registers a file's items (its `let`s, policies and
//! `use` declarations), loads the embedded stdlib modules it imports, checks a
//! module's items in order and reports unused bindings and imports.
//!
//! It knows the module table and the `use` forms; it does not know what a name
//! means (`names`) or how an expression evaluates (`expressions`).

use super::{Checker, LetKey, Module};
use crate::ast::{self, UseNames};
use crate::diag::{suggest, Diagnostic};
use crate::parse::parse;
use crate::span::{FileId, Span};
use claw_stdlib::modules;
use std::collections::HashMap;

impl Checker<'_> {
    /// Parses and registers a module's top-level names and imports.
    pub(super) fn register(&mut self, path: String, file: FileId, text: &str, is_std: bool) -> usize {
        let (tree, parse_diags) = parse(file, text);
        self.syntax_errors
            .extend(parse_diags.iter().filter(|d| d.is_error()).map(|d| d.span));
        self.diags.extend(parse_diags);
        let idx = self.modules.len();
        self.by_path.insert(path, idx);
        self.modules.push(Module {
            file,
            is_std,
            items: Vec::new(),
            imports: HashMap::new(),
            globs: Vec::new(),
            policies: HashMap::new(),
        });
        for item in &tree.items {
            match item {
                ast::Item::Use(u) => self.register_use(idx, u),
                ast::Item::Let(l) => {
                    let key = LetKey {
                        module: idx,
                        policy: None,
                        name: l.name.name.clone(),
                    };
                    self.define_let(key, l);
                }
                ast::Item::Policy(p) => {
                    if let Some(prev) = self.modules[idx].policies.get(&p.name.name) {
                        let prev_span = prev.name.span;
                        self.err(
                            Diagnostic::error(
                                "E0308",
                                p.name.span,
                                format!("policy `{}` is defined twice", p.name.name),
                            )
                            .with_label("second definition")
                            .with_secondary(prev_span, "first defined here")
                            .with_hint("rename one of them"),
                        );
                    } else {
                        self.modules[idx].policies.insert(p.name.name.clone(), p.clone());
                    }
                }
                ast::Item::Error(_) => {}
            }
        }
        self.modules[idx].items = tree.items;
        idx
    }

    pub(super) fn define_let(&mut self, key: LetKey, l: &ast::Let) {
        if let Some(prev) = self.lets.get(&key) {
            let prev_span = prev.name.span;
            self.err(
                Diagnostic::error(
                    "E0104",
                    l.name.span,
                    format!("`{}` is defined twice", l.name.name),
                )
                .with_label("second definition")
                .with_secondary(prev_span, "first defined here")
                .with_hint("rename one of them or merge them into a list: `[a, b]`"),
            );
        } else {
            self.lets.insert(key, l.clone());
        }
    }

    pub(super) fn load_std(&mut self, path: &str) -> Option<usize> {
        if let Some(&m) = self.by_path.get(path) {
            return Some(m);
        }
        let (file_name, src) = modules::source(path)?;
        let file = match self.sources.find(file_name) {
            Some(f) => f,
            None => self.sources.add(file_name, src),
        };
        Some(self.register(path.to_string(), file, src, true))
    }

    pub(super) fn register_use(&mut self, m: usize, u: &ast::Use) {
        let path: Vec<&str> = u.module.iter().map(|i| i.name.as_str()).collect();
        let path = path.join("::");
        let mod_span = u.module[0].span.to(u.module[u.module.len() - 1].span);
        let Some(target) = self.load_std(&path) else {
            let mut d = Diagnostic::error("E0102", mod_span, format!("unknown module `{path}`"))
                .with_label("no such module");
            d = match suggest(&path, modules::names()) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint(format!(
                    "the standard modules are {}",
                    modules::names()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            self.err(d);
            return;
        };
        let names: Vec<&ast::Ident> = match &u.names {
            UseNames::One(i) => vec![i],
            UseNames::List(v) => v.iter().collect(),
            UseNames::Glob(span) => {
                self.modules[m].globs.push((target, *span));
                return;
            }
        };
        for name in names {
            if self.exports(target, &name.name) {
                self.modules[m]
                    .imports
                    .insert(name.name.clone(), (target, name.span));
            } else {
                let candidates = self.export_names(target);
                let mut d = Diagnostic::error(
                    "E0103",
                    name.span,
                    format!("`{}` is not defined in `{path}`", name.name),
                )
                .with_label("not found in this module");
                if let Some(s) = suggest(&name.name, candidates.iter().map(String::as_str)) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                } else {
                    d = d.with_hint(format!("`{path}` defines: {}", candidates.join(", ")));
                }
                self.err(d);
            }
        }
    }

    pub(super) fn exports(&self, m: usize, name: &str) -> bool {
        self.lets.contains_key(&LetKey {
            module: m,
            policy: None,
            name: name.to_string(),
        }) || self.modules[m].policies.contains_key(name)
    }

    pub(super) fn export_names(&self, m: usize) -> Vec<String> {
        let mut v: Vec<String> = self
            .lets
            .keys()
            .filter(|k| k.module == m && k.policy.is_none())
            .map(|k| k.name.clone())
            .chain(self.modules[m].policies.keys().cloned())
            .collect();
        v.sort();
        v
    }

    /// Checks every binding and policy of a module the user asked about.
    pub(super) fn check_module(&mut self, m: usize) {
        let mut keys: Vec<LetKey> = self
            .lets
            .keys()
            .filter(|k| k.module == m && k.policy.is_none())
            .cloned()
            .collect();
        keys.sort_by_key(|k| self.lets[k].span.start);
        for k in &keys {
            self.eval_let(k);
        }
        let mut names: Vec<(u32, String)> = self.modules[m]
            .policies
            .values()
            .map(|p| (p.span.start, p.name.name.clone()))
            .collect();
        names.sort();
        for (_, name) in &names {
            if let Some(p) = self.check_policy(m, name) {
                self.checked.push(p);
            }
        }
        let file = self.modules[m].file;
        let damaged = self.syntax_errors.iter().any(|s| s.file == file);
        if names.is_empty() && self.opts.require_policy && !self.modules[m].is_std && !damaged {
            let end = self.sources.get(file).text.len();
            self.err(
                Diagnostic::error(
                    "E0309",
                    Span::new(file, 0, end.min(1)),
                    "this file defines no policy",
                )
                .with_label("expected a `policy NAME { ... }` block")
                .with_hint("add `policy NAME { default deny(EPERM); }` and grant what the agent needs"),
            );
        }
        // A syntax error may have swallowed the uses: "unused" would be a guess.
        if !self.modules[m].is_std && !damaged {
            self.report_unused(m);
        }
    }

    pub(super) fn report_unused(&mut self, m: usize) {
        let mut unused: Vec<(Span, String)> = self
            .lets
            .iter()
            .filter(|(k, _)| k.module == m && !self.used_lets.contains(*k))
            .map(|(_, l)| (l.name.span, l.name.name.clone()))
            .collect();
        unused.sort_by_key(|(s, _)| s.start);
        for (span, name) in unused {
            if name.starts_with('_') {
                continue;
            }
            self.err(
                Diagnostic::warning("W0001", span, format!("`{name}` is never used"))
                    .with_label("unused binding")
                    .with_hint(format!("remove it, or rename it `_{name}` to keep it")),
            );
        }
        let mut imports: Vec<(String, Span)> = self.modules[m]
            .imports
            .iter()
            .filter(|(n, _)| !self.used_imports.contains(&(m, (*n).clone())))
            .map(|(n, (_, s))| (n.clone(), *s))
            .collect();
        imports.sort_by_key(|(_, s)| s.start);
        for (name, span) in imports {
            self.err(
                Diagnostic::warning("W0002", span, format!("unused import `{name}`"))
                    .with_label("imported but never used")
                    .with_hint("remove it from the `use` list"),
            );
        }
        let globs = self.modules[m].globs.clone();
        for (target, span) in globs {
            if !self.used_globs.contains(&(m, target)) {
                self.err(
                    Diagnostic::warning("W0002", span, "unused glob import")
                        .with_label("nothing from this module is used")
                        .with_hint("remove this `use`"),
                );
            }
        }
    }
}
