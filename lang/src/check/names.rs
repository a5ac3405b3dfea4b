//! Name resolution: looks a name up in a scope, innermost first (the policy's
//! own `let`s, the file's `let`s, its policies, explicit imports, glob imports),
//! and evaluates a binding lazily, memoised, reporting cycles.
//!
//! It knows scopes and the import tables; it does not know syscall names (the
//! syscall table is consulted by `expressions` when no binding matches).

use super::{Checker, Def, LetKey, Scope, Val};
use crate::diag::Diagnostic;

impl Checker<'_> {
    pub(super) fn lookup(&mut self, scope: &Scope, name: &str) -> Option<Def> {
        let m = scope.module;
        if let Some(p) = &scope.policy {
            let k = LetKey {
                module: m,
                policy: Some(p.clone()),
                name: name.to_string(),
            };
            if self.lets.contains_key(&k) {
                return Some(Def::Let(k));
            }
        }
        let k = LetKey {
            module: m,
            policy: None,
            name: name.to_string(),
        };
        if self.lets.contains_key(&k) {
            return Some(Def::Let(k));
        }
        if self.modules[m].policies.contains_key(name) {
            return Some(Def::Policy(m, name.to_string()));
        }
        if let Some(&(t, _)) = self.modules[m].imports.get(name) {
            self.used_imports.insert((m, name.to_string()));
            return self.lookup_export(t, name);
        }
        let globs = self.modules[m].globs.clone();
        for (t, _) in globs {
            if let Some(d) = self.lookup_export(t, name) {
                self.used_globs.insert((m, t));
                return Some(d);
            }
        }
        None
    }

    pub(super) fn lookup_export(&self, t: usize, name: &str) -> Option<Def> {
        let k = LetKey {
            module: t,
            policy: None,
            name: name.to_string(),
        };
        if self.lets.contains_key(&k) {
            Some(Def::Let(k))
        } else if self.modules[t].policies.contains_key(name) {
            Some(Def::Policy(t, name.to_string()))
        } else {
            None
        }
    }

    /// Names visible in `scope`, for "did you mean" hints.
    pub(super) fn visible_names(&self, scope: &Scope) -> Vec<String> {
        let m = scope.module;
        let mut v: Vec<String> = self
            .lets
            .keys()
            .filter(|k| k.module == m && (k.policy.is_none() || k.policy == scope.policy))
            .map(|k| k.name.clone())
            .collect();
        v.extend(self.modules[m].imports.keys().cloned());
        for (t, _) in &self.modules[m].globs {
            v.extend(self.export_names(*t));
        }
        v
    }

    pub(super) fn eval_let(&mut self, key: &LetKey) -> Val {
        if let Some(v) = self.memo.get(key) {
            return v.clone();
        }
        let Some(l) = self.lets.get(key).cloned() else {
            return Val::Error;
        };
        if !self.in_progress.insert(key.clone()) {
            self.err(
                Diagnostic::error(
                    "E0108",
                    l.name.span,
                    format!("`{}` is defined in terms of itself", key.name),
                )
                .with_label("this definition refers back to itself")
                .with_hint("a binding may use other bindings, but not in a cycle"),
            );
            self.memo.insert(key.clone(), Val::Error);
            return Val::Error;
        }
        let scope = Scope {
            module: key.module,
            policy: key.policy.clone(),
        };
        let v = self.eval_expr(&scope, &l.value);
        self.in_progress.remove(key);
        self.memo.entry(key.clone()).or_insert(v).clone()
    }

    pub(super) fn is_std(&self, scope: &Scope) -> bool {
        self.modules[scope.module].is_std
    }
}
