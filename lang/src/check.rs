//! Name resolution, type checking and state-machine checks: [`ast`] in,
//! [`model::Policy`] out, with every problem reported as a [`Diagnostic`].
//!
//! Names resolve, innermost first: the policy's own `let`s, the file's `let`s, the
//! file's policies, explicit imports, glob imports; in syscall position a name that
//! is none of those is looked up in the target architecture's syscall table.
//! Bindings are evaluated lazily and memoised, so order does not matter and cycles
//! are reported instead of looping.

use crate::ast::{self, ExprKind, Term, UseNames};
use crate::diag::{suggest, Diagnostic};
use crate::model::{
    self, Action, Addr, ArgCond, CmpOp, Endpoint, Entity, EntityKind, PathPattern, Proto, SyscallMatch,
    Target, Verb, PATH_VARIABLES,
};
use crate::parse::parse;
use crate::span::{FileId, SourceMap, Span};
use claw_stdlib::{constants, errno, modules, syscalls, Arch, ArgKind, SyscallTable};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Architecture whose syscall table and constants are used.
    pub arch: Arch,
    /// Report a file that defines no policy (E0309). Off for library modules.
    pub require_policy: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            arch: Arch::native().unwrap_or(Arch::X86_64),
            require_policy: true,
        }
    }
}

/// The result of checking one file.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Every policy of the file that checked without errors.
    pub policies: Vec<model::Policy>,
    /// Errors and warnings, errors first within each file position order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Is any diagnostic an error?
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks the file `file` already in `sources`; stdlib modules it imports are added.
pub fn check_file(sources: &mut SourceMap, file: FileId, opts: &Options) -> Checked {
    let mut c = Checker::new(sources, opts);
    let text = c.sources.get(file).text.clone();
    let name = c.sources.get(file).name.clone();
    let m = c.register(name, file, &text, false);
    c.check_module(m);
    c.finish()
}

/// Checks a standard module (`std::profiles`) as if it were a user file, so that a
/// ready profile can be compiled by name.
pub fn check_std_module(sources: &mut SourceMap, module: &str, opts: &Options) -> Option<Checked> {
    let mut c = Checker::new(sources, opts);
    let m = c.load_std(module)?;
    c.check_module(m);
    Some(c.finish())
}

#[derive(Debug, Clone)]
enum Val {
    Syscalls(Vec<SyscallMatch>),
    Entity(Entity),
    /// Already reported; suppresses follow-on errors.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LetKey {
    module: usize,
    policy: Option<String>,
    name: String,
}

#[derive(Debug, Clone)]
enum Def {
    Let(LetKey),
    Policy(usize, String),
}

struct Module {
    file: FileId,
    is_std: bool,
    items: Vec<ast::Item>,
    /// Explicit imports: local name → (target module, span of the name in the `use`).
    imports: HashMap<String, (usize, Span)>,
    /// Glob imports: (target module, span of `*`).
    globs: Vec<(usize, Span)>,
    policies: HashMap<String, ast::Policy>,
}

/// Where a name is looked up.
#[derive(Clone)]
struct Scope {
    module: usize,
    policy: Option<String>,
}

struct Checker<'a> {
    sources: &'a mut SourceMap,
    opts: &'a Options,
    table: &'static SyscallTable,
    modules: Vec<Module>,
    by_path: HashMap<String, usize>,
    lets: HashMap<LetKey, ast::Let>,
    memo: HashMap<LetKey, Val>,
    in_progress: HashSet<LetKey>,
    used_lets: HashSet<LetKey>,
    used_imports: HashSet<(usize, String)>,
    used_globs: HashSet<(usize, usize)>,
    policy_memo: HashMap<(usize, String), Option<model::Policy>>,
    policy_in_progress: HashSet<(usize, String)>,
    diags: Vec<Diagnostic>,
    checked: Vec<model::Policy>,
    /// Where syntax errors were: checks for missing things ("no default", "no
    /// policy") stay quiet there, since the parser may have dropped the thing.
    syntax_errors: Vec<Span>,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a mut SourceMap, opts: &'a Options) -> Checker<'a> {
        Checker {
            sources,
            opts,
            table: SyscallTable::get(opts.arch),
            modules: Vec::new(),
            by_path: HashMap::new(),
            lets: HashMap::new(),
            memo: HashMap::new(),
            in_progress: HashSet::new(),
            used_lets: HashSet::new(),
            used_imports: HashSet::new(),
            used_globs: HashSet::new(),
            policy_memo: HashMap::new(),
            policy_in_progress: HashSet::new(),
            diags: Vec::new(),
            checked: Vec::new(),
            syntax_errors: Vec::new(),
        }
    }

    fn finish(mut self) -> Checked {
        let order = |d: &Diagnostic| (d.span.file, d.span.start, d.span.end);
        self.diags.sort_by_key(order);
        Checked {
            policies: self.checked,
            diagnostics: self.diags,
        }
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    // ----- modules -------------------------------------------------------------

    /// Parses and registers a module's top-level names and imports.
    fn register(&mut self, path: String, file: FileId, text: &str, is_std: bool) -> usize {
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

    fn define_let(&mut self, key: LetKey, l: &ast::Let) {
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

    fn load_std(&mut self, path: &str) -> Option<usize> {
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

    fn register_use(&mut self, m: usize, u: &ast::Use) {
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

    fn exports(&self, m: usize, name: &str) -> bool {
        self.lets.contains_key(&LetKey {
            module: m,
            policy: None,
            name: name.to_string(),
        }) || self.modules[m].policies.contains_key(name)
    }

    fn export_names(&self, m: usize) -> Vec<String> {
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
    fn check_module(&mut self, m: usize) {
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

    fn report_unused(&mut self, m: usize) {
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

    // ----- names -----------------------------------------------------------------

    fn lookup(&mut self, scope: &Scope, name: &str) -> Option<Def> {
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

    fn lookup_export(&self, t: usize, name: &str) -> Option<Def> {
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
    fn visible_names(&self, scope: &Scope) -> Vec<String> {
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

    fn eval_let(&mut self, key: &LetKey) -> Val {
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

    fn is_std(&self, scope: &Scope) -> bool {
        self.modules[scope.module].is_std
    }

    // ----- expressions -------------------------------------------------------------

    fn eval_expr(&mut self, scope: &Scope, e: &ast::Expr) -> Val {
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

    fn eval_list(&mut self, scope: &Scope, items: &[ast::Expr], span: Span) -> Val {
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

    fn eval_syscall_ref(&mut self, scope: &Scope, r: &ast::SyscallRef) -> Val {
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
    fn numbered_syscall(&mut self, r: &ast::SyscallRef, name: &str, nr: u32) -> Val {
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

    // ----- argument conditions -------------------------------------------------------

    fn check_cond(&mut self, sc: &claw_stdlib::Syscall, c: &ast::Cond) -> Option<ArgCond> {
        let Some(idx) = sc.arg_index(&c.arg.name) else {
            let names: Vec<&str> = sc.args.iter().map(|a| a.name).collect();
            let hint = if names.is_empty() {
                format!("`{}` takes no arguments", sc.name)
            } else {
                format!(
                    "`{}` takes ({}); refer to them by name or as arg0..arg{}",
                    sc.name,
                    names.join(", "),
                    names.len() - 1
                )
            };
            self.err(
                Diagnostic::error(
                    "E0204",
                    c.arg.span,
                    format!("`{}` has no argument `{}`", sc.name, c.arg.name),
                )
                .with_label("no such argument")
                .with_hint(hint),
            );
            return None;
        };
        let arg = &sc.args[idx];
        if arg.kind == ArgKind::Ptr {
            self.err(
                Diagnostic::error(
                    "E0206",
                    c.arg.span,
                    format!("`{}` of `{}` is a pointer", arg.name, sc.name),
                )
                .with_label("a filter sees the address, not what it points to")
                .with_hint("decide on paths and addresses with verbs (`allow read PATHS`); the monitor reads them safely"),
            );
            return None;
        }
        let width = arg.kind.bits();
        let mask = match &c.mask {
            Some(m) => Some(self.eval_value(m, width, arg.name)?),
            None => None,
        };
        let value = self.eval_value(&c.value, width, arg.name)?;
        let max = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        let never = match (mask, c.op) {
            (Some(m), CmpOp::Eq) if value & !m != 0 => Some(format!(
                "`{}` & {m:#x} can never equal {value:#x}: that value has bits outside the mask",
                arg.name
            )),
            (Some(m), CmpOp::Gt) if value >= m => Some(format!(
                "`{}` & {m:#x} is never greater than {value:#x}",
                arg.name
            )),
            (_, CmpOp::Lt) if value == 0 => Some(format!("`{}` is unsigned and never less than 0", arg.name)),
            (_, CmpOp::Gt) if value == max => Some(format!(
                "`{}` is {width} bits wide and never greater than {value:#x}",
                arg.name
            )),
            _ => None,
        };
        if let Some(msg) = never {
            self.err(
                Diagnostic::error("E0207", c.span, "this condition can never be true")
                    .with_label(msg)
                    .with_hint("a rule whose condition never holds never applies; fix the mask or the value"),
            );
            return None;
        }
        Some(ArgCond {
            arg: idx,
            arg_name: arg.name.to_string(),
            width,
            mask,
            op: c.op,
            value,
        })
    }

    /// Evaluates `A | B | 3` to the bits the kernel reads from a `width`-bit argument.
    fn eval_value(&mut self, v: &ast::Value, width: u32, arg: &str) -> Option<u64> {
        let mut acc: u64 = 0;
        for t in &v.terms {
            let (n, span): (i128, Span) = match t {
                Term::Int(n, s) => (*n, *s),
                Term::Name(id) => match constants::by_name(&id.name) {
                    Some(c) => (c.value(self.opts.arch) as i128, id.span),
                    None => {
                        let mut d =
                            Diagnostic::error("E0107", id.span, format!("unknown constant `{}`", id.name))
                                .with_label("not a known constant");
                        d = match suggest(&id.name, constants::all().iter().map(|c| c.name)) {
                            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                            None => d.with_hint("write the number itself, e.g. `0x80000`"),
                        };
                        self.err(d);
                        return None;
                    }
                },
            };
            let lo = -(1i128 << (width - 1));
            let hi = (1i128 << width) - 1;
            if n < lo || n > hi {
                self.err(
                    Diagnostic::error("E0208", span, format!("{n} does not fit in `{arg}`"))
                        .with_label(format!("`{arg}` is {width} bits wide"))
                        .with_hint(format!(
                            "the kernel reads only the low {width} bits of this argument"
                        )),
                );
                return None;
            }
            let bits = if width == 64 {
                (n as u128 & u64::MAX as u128) as u64
            } else {
                (n as u64) & ((1u64 << width) - 1)
            };
            acc |= bits;
        }
        Some(acc)
    }

    // ----- entities -------------------------------------------------------------------

    fn check_path(&mut self, s: &ast::StrLit) -> Option<PathPattern> {
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

    fn never_matches(&mut self, s: &ast::StrLit, why: &str, hint: &str) {
        self.err(
            Diagnostic::error("E0212", s.span, "this path pattern can never match")
                .with_label(format!("the pattern {why}"))
                .with_hint(hint.to_string()),
        );
    }

    fn check_endpoint(&mut self, ep: &ast::EndpointExpr, span: Span) -> Option<Endpoint> {
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

    // ----- rules ----------------------------------------------------------------------

    fn eval_action(&mut self, a: &ast::Action) -> Option<Action> {
        Some(match &a.kind {
            ast::ActionKind::Allow => Action::Allow,
            ast::ActionKind::Log => Action::Log,
            ast::ActionKind::Kill => Action::Kill,
            ast::ActionKind::Deny(None) => Action::Deny(1),
            ast::ActionKind::Deny(Some(ast::ErrnoRef::Name(id))) => match errno::by_name(&id.name) {
                Some(e) => Action::Deny(e.value),
                None => {
                    let mut d = Diagnostic::error("E0106", id.span, format!("unknown errno `{}`", id.name))
                        .with_label("not an errno name");
                    d = match suggest(&id.name, errno::all().iter().map(|e| e.name)) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint("errno names are those of errno(3): EPERM, EACCES, ENOENT, ..."),
                    };
                    self.err(d);
                    return None;
                }
            },
            ast::ActionKind::Deny(Some(ast::ErrnoRef::Number(n, span))) => {
                // `deny(0)`: not executed, reported as a success ("pretend success",
                // Docker's and nsjail's `ERRNO(0)`).
                if *n > u64::from(errno::MAX_ERRNO) {
                    self.err(
                        Diagnostic::error("E0215", *span, format!("errno {n} is out of range"))
                            .with_label("the kernel accepts errno values 0 to 4095")
                            .with_hint(
                                "use a name such as `EPERM` or a number from 0 (pretend success) to 4095",
                            ),
                    );
                    return None;
                }
                Action::Deny(*n as u16)
            }
        })
    }

    /// Where a target appears decides how a bare verb name is read.
    fn eval_target(&mut self, scope: &Scope, t: &ast::Target, in_property: bool) -> Option<Target> {
        let Some(obj) = &t.object else {
            let all_verbs = t
                .items
                .iter()
                .all(|i| i.conds.is_none() && Verb::from_name(&i.name.name).is_some());
            if in_property && all_verbs {
                let verbs = t
                    .items
                    .iter()
                    .filter_map(|i| Verb::from_name(&i.name.name))
                    .collect();
                return Some(Target::Access { verbs, entity: None });
            }
            let mut out = Vec::new();
            let mut ok = true;
            for r in &t.items {
                match self.eval_syscall_ref(scope, r) {
                    Val::Syscalls(v) => out.extend(v),
                    _ => ok = false,
                }
            }
            return ok.then_some(Target::Syscalls(out));
        };
        let mut verbs = Vec::new();
        let mut ok = true;
        for r in &t.items {
            let name = &r.name.name;
            match Verb::from_name(name) {
                Some(v) if r.conds.is_none() => verbs.push((v, r.span)),
                Some(_) => {
                    self.err(
                        Diagnostic::error(
                            "E0203",
                            r.span,
                            format!("the verb `{name}` takes no argument conditions"),
                        )
                        .with_label("conditions belong on syscalls")
                        .with_hint(format!("write `{name} OBJECT` without parentheses")),
                    );
                    ok = false;
                }
                None => {
                    let known = Verb::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
                    let mut d = Diagnostic::error("E0203", r.name.span, format!("unknown verb `{name}`"))
                        .with_label("a rule with an object needs verbs")
                        .with_hint(format!("the verbs are {known}"));
                    if self.table.by_name(name).is_some() || syscalls::known_anywhere(name) {
                        d = d.with_hint(format!(
                            "`{name}` is a syscall; syscall rules take no object (`allow {name};`), path and network access uses verbs ({known})"
                        ));
                    } else if let Some(s) = suggest(name, Verb::ALL.iter().map(|v| v.name())) {
                        d = d.with_hint(format!("did you mean `{s}`?"));
                    }
                    self.err(d);
                    ok = false;
                }
            }
        }
        let entity = match self.eval_expr(scope, obj) {
            Val::Entity(e) => Some(e),
            Val::Syscalls(_) => {
                self.err(
                    Diagnostic::error("E0217", obj.span, "expected paths or endpoints, found syscalls")
                        .with_label("these are syscalls")
                        .with_hint("verbs apply to paths and endpoints; allow syscalls without a verb: `allow NAME;`"),
                );
                None
            }
            Val::Error => None,
        };
        let entity = entity?;
        for (v, span) in &verbs {
            if v.entity_kind() != entity.kind() {
                let hint = match v.entity_kind() {
                    EntityKind::Endpoint => format!(
                        "`{}` takes an endpoint, e.g. `endpoint tcp \"10.0.0.0/8\" port 443`",
                        v.name()
                    ),
                    EntityKind::Path => {
                        format!("`{}` takes paths, e.g. `path \"$WORKSPACE/**\"`", v.name())
                    }
                };
                self.err(
                    Diagnostic::error(
                        "E0201",
                        *span,
                        format!(
                            "`{}` applies to {}s, not {}s",
                            v.name(),
                            v.entity_kind(),
                            entity.kind()
                        ),
                    )
                    .with_label(format!("expects {}", v.entity_kind()))
                    .with_secondary(obj.span, format!("this is {} set", article(entity.kind())))
                    .with_hint(hint),
                );
                ok = false;
            }
        }
        let mut verbs: Vec<Verb> = verbs.into_iter().map(|(v, _)| v).collect();
        verbs.sort();
        verbs.dedup();
        ok.then_some(Target::Access {
            verbs,
            entity: Some(entity),
        })
    }

    fn eval_rules(&mut self, scope: &Scope, rules: &[ast::Rule]) -> Vec<model::Rule> {
        let mut out = Vec::new();
        let mut denies: HashMap<Target, (u16, Span)> = HashMap::new();
        for r in rules {
            let action = self.eval_action(&r.action);
            let target = self.eval_target(scope, &r.target, false);
            let (Some(action), Some(target)) = (action, target) else {
                continue;
            };
            if let Action::Deny(e) = action {
                if let Some(&(prev, prev_span)) = denies.get(&target) {
                    if prev != e {
                        self.err(
                            Diagnostic::error(
                                "E0216",
                                r.span,
                                "the same requests are denied with different errnos",
                            )
                            .with_label(format!("denied with {}", Action::Deny(e)))
                            .with_secondary(prev_span, format!("denied with {} here", Action::Deny(prev)))
                            .with_hint("a request fails one way only; keep one of the two rules"),
                        );
                        continue;
                    }
                }
                denies.insert(target.clone(), (e, r.span));
            }
            out.push(model::Rule {
                action,
                target,
                span: r.span,
            });
        }
        out
    }

    /// W0005: two denies with different errnos that can match one request in one
    /// state. The decision is deterministic (the smaller errno wins, see
    /// docs/language.md), but probably not what was meant. Identical targets in
    /// one block are E0216 (reported in `eval_rules`).
    fn overlapping_denies(&mut self, always: &[model::Rule], states: &[model::State]) {
        let mut reported: HashSet<(Span, Span)> = HashSet::new();
        for st in states {
            let rules: Vec<&model::Rule> = always.iter().chain(&st.rules).collect();
            for (i, a) in rules.iter().enumerate() {
                let Action::Deny(ea) = a.action else { continue };
                for b in &rules[i + 1..] {
                    let Action::Deny(eb) = b.action else { continue };
                    if ea == eb {
                        continue;
                    }
                    if !crate::overlap::may_overlap(&a.target, &b.target)
                        || !reported.insert((a.span, b.span))
                    {
                        continue;
                    }
                    let win = Action::Deny(ea.min(eb));
                    self.err(
                        Diagnostic::warning("W0005", b.span, "these rules may deny the same requests with different errnos")
                            .with_label(format!("denies with {}", b.action))
                            .with_secondary(a.span, format!("denies with {} here", a.action))
                            .with_hint(format!(
                                "where both match, the smaller errno wins ({win}); narrow one rule or use one errno"
                            )),
                    );
                }
            }
        }
    }

    // ----- policies ---------------------------------------------------------------------

    fn check_policy(&mut self, m: usize, name: &str) -> Option<model::Policy> {
        let key = (m, name.to_string());
        if let Some(p) = self.policy_memo.get(&key) {
            return p.clone();
        }
        let p = self.modules[m].policies.get(name)?.clone();
        if !self.policy_in_progress.insert(key.clone()) {
            self.err(
                Diagnostic::error("E0110", p.name.span, format!("policy `{name}` extends itself"))
                    .with_label("part of an `extends` cycle")
                    .with_hint("remove one `extends` from the cycle"),
            );
            self.policy_memo.insert(key, None);
            return None;
        }
        let result = self.build_policy(m, &p);
        self.policy_in_progress.remove(&key);
        self.policy_memo.insert(key, result.clone());
        result
    }

    fn build_policy(&mut self, m: usize, p: &ast::Policy) -> Option<model::Policy> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let errors_diag_start = self.diags.len();
        let scope = Scope {
            module: m,
            policy: Some(p.name.name.clone()),
        };
        let parent = match &p.extends {
            None => None,
            Some(id) => match self.lookup(
                &Scope {
                    module: m,
                    policy: None,
                },
                &id.name,
            ) {
                Some(Def::Policy(pm, pn)) => match self.check_policy(pm, &pn) {
                    Some(pp) => Some(pp),
                    None => return None,
                },
                _ => {
                    let mut names: Vec<String> = self.modules[m].policies.keys().cloned().collect();
                    names.extend(self.visible_names(&Scope {
                        module: m,
                        policy: None,
                    }));
                    let mut d = Diagnostic::error("E0109", id.span, format!("unknown policy `{}`", id.name))
                        .with_label("no policy of this name is defined or imported");
                    d = match suggest(&id.name, names.iter().map(String::as_str)) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint("import a profile with `use std::profiles::coding_agent;`"),
                    };
                    self.err(d);
                    return None;
                }
            },
        };
        for item in &p.items {
            if let ast::PolicyItem::Let(l) = item {
                let key = LetKey {
                    module: m,
                    policy: Some(p.name.name.clone()),
                    name: l.name.name.clone(),
                };
                self.define_let(key, l);
            }
        }
        // Evaluate the policy's own bindings so their errors show even if unused.
        let mut own: Vec<&ast::Let> = p
            .items
            .iter()
            .filter_map(|i| {
                if let ast::PolicyItem::Let(l) = i {
                    Some(l)
                } else {
                    None
                }
            })
            .collect();
        own.sort_by_key(|l| l.span.start);
        for l in own {
            let key = LetKey {
                module: m,
                policy: Some(p.name.name.clone()),
                name: l.name.name.clone(),
            };
            self.eval_let(&key);
        }

        let mut default: Option<(Action, Span)> = parent.as_ref().map(|pp| (pp.default, pp.default_span));
        let mut own_default: Option<Span> = None;
        let mut always = parent.as_ref().map(|pp| pp.always.clone()).unwrap_or_default();
        // A parent without `state` blocks has one implicit, unnamed state holding no
        // rules of its own; the child's states (or its own implicit one) replace it.
        let mut states: Vec<model::State> = Vec::new();
        let mut initial_marks: Vec<(usize, Span)> = Vec::new();
        if let Some(pp) = &parent {
            if pp.states.iter().any(|s| !s.name.is_empty()) {
                states = pp.states.clone();
                initial_marks.push((pp.initial, pp.states[pp.initial].span));
            }
        }
        let mut own_states: Vec<(usize, &ast::State)> = Vec::new();
        let mut asserts = parent.as_ref().map(|pp| pp.asserts.clone()).unwrap_or_default();
        let inherited_asserts = asserts.len();
        let mut own_assert_names: HashMap<String, Span> = HashMap::new();
        let mut seen_states: HashMap<String, Span> = HashMap::new();

        for item in &p.items {
            match item {
                ast::PolicyItem::Default(a, span) => {
                    if let Some(prev) = own_default {
                        self.err(
                            Diagnostic::error("E0306", *span, "`default` is given twice")
                                .with_label("second `default`")
                                .with_secondary(prev, "first given here")
                                .with_hint("a policy has exactly one default action; keep one"),
                        );
                        continue;
                    }
                    own_default = Some(*span);
                    if let Some(a) = self.eval_action(a) {
                        default = Some((a, *span));
                    }
                }
                ast::PolicyItem::Always(rules, _) => {
                    let rs = self.eval_rules(&scope, rules);
                    always.extend(rs);
                }
                ast::PolicyItem::State(s) => {
                    if let Some(prev) = seen_states.get(&s.name.name) {
                        self.err(
                            Diagnostic::error(
                                "E0303",
                                s.name.span,
                                format!("state `{}` is defined twice", s.name.name),
                            )
                            .with_label("second definition")
                            .with_secondary(*prev, "first defined here")
                            .with_hint("merge the two blocks into one"),
                        );
                        continue;
                    }
                    seen_states.insert(s.name.name.clone(), s.name.span);
                    let rules = self.eval_rules(&scope, &s.rules);
                    // A state named like a parent's state extends it.
                    let idx = match states.iter().position(|x| x.name == s.name.name) {
                        Some(i) => {
                            states[i].rules.extend(rules);
                            i
                        }
                        None => {
                            states.push(model::State {
                                name: s.name.name.clone(),
                                span: s.name.span,
                                rules,
                                transitions: Vec::new(),
                            });
                            states.len() - 1
                        }
                    };
                    if let Some(init) = s.initial {
                        initial_marks.retain(|(i, _)| *i != idx);
                        initial_marks.push((idx, init));
                    }
                    own_states.push((idx, s));
                }
                ast::PolicyItem::Assert(a) => {
                    if let Some(n) = &a.name {
                        if let Some(prev) = own_assert_names.get(&n.name) {
                            self.err(
                                Diagnostic::error(
                                    "E0104",
                                    n.span,
                                    format!("assertion `{}` is defined twice", n.name),
                                )
                                .with_label("second definition")
                                .with_secondary(*prev, "first defined here")
                                .with_hint("rename one of them"),
                            );
                            continue;
                        }
                        own_assert_names.insert(n.name.clone(), n.span);
                    }
                    let Some(prop) = self.eval_property(&scope, &a.property) else {
                        continue;
                    };
                    let new = model::Assertion {
                        name: a.name.as_ref().map(|n| n.name.clone()),
                        property: prop,
                        span: a.span,
                    };
                    // A named assertion of the parent (or further up) is replaced
                    // by the child's of the same name, and the checker says so.
                    let replaced = a.name.as_ref().and_then(|n| {
                        asserts[..inherited_asserts]
                            .iter()
                            .position(|x| x.name.as_deref() == Some(n.name.as_str()))
                    });
                    match (replaced, &a.name, &p.extends) {
                        (Some(i), Some(n), Some(from)) => {
                            let old = std::mem::replace(&mut asserts[i], new);
                            if without_spans(&old.property) != without_spans(&asserts[i].property) {
                                let d = self.replaced_assertion(&n.name, &from.name, &old, &asserts[i]);
                                self.err(d);
                            }
                        }
                        _ => asserts.push(new),
                    }
                }
                ast::PolicyItem::Let(_) | ast::PolicyItem::Error(_) => {}
            }
        }

        // Transitions, now that every state name is known.
        for (idx, s) in &own_states {
            for t in &s.transitions {
                let event = self.eval_target(&scope, &t.event, false);
                let to = match states.iter().position(|x| x.name == t.to.name) {
                    Some(i) => Some(i),
                    None => {
                        let names: Vec<&str> = states.iter().map(|x| x.name.as_str()).collect();
                        let mut d =
                            Diagnostic::error("E0304", t.to.span, format!("unknown state `{}`", t.to.name))
                                .with_label("no state of this name");
                        d = match suggest(&t.to.name, names.iter().copied()) {
                            Some(sug) => d.with_hint(format!("did you mean `{sug}`?")),
                            None => d.with_hint(format!("declare it: `state {} {{ }}`", t.to.name)),
                        };
                        self.err(d);
                        None
                    }
                };
                if to == Some(*idx) {
                    self.err(
                        Diagnostic::warning(
                            "W0004",
                            t.span,
                            format!("transition from `{}` to itself", s.name.name),
                        )
                        .with_label("this transition changes nothing")
                        .with_hint("remove it, or point it at another state"),
                    );
                }
                if let (Some(event), Some(to)) = (event, to) {
                    states[*idx].transitions.push(model::Transition {
                        event,
                        to,
                        span: t.span,
                    });
                }
            }
        }

        let damaged = self
            .syntax_errors
            .iter()
            .any(|s| s.file == p.span.file && s.start >= p.span.start && s.start <= p.span.end);
        let Some((default, default_span)) = default else {
            if own_default.is_some() || damaged {
                // The `default` was written but did not check, or may have been
                // lost to a syntax error: that error has been reported already.
                return None;
            }
            self.err(
                Diagnostic::error(
                    "E0307",
                    p.name.span,
                    format!("policy `{}` has no `default`", p.name.name),
                )
                .with_label("every request no rule matches needs an answer")
                .with_hint("add `default deny(EPERM);` (or `kill`) as the policy's first line"),
            );
            return None;
        };

        let initial = if states.is_empty() {
            states.push(model::State {
                name: String::new(),
                span: p.name.span,
                rules: Vec::new(),
                transitions: Vec::new(),
            });
            0
        } else {
            match initial_marks.as_slice() {
                [] if damaged => return None,
                [] => {
                    let first = states[0].span;
                    self.err(
                        Diagnostic::error(
                            "E0301",
                            p.name.span,
                            format!("policy `{}` has no initial state", p.name.name),
                        )
                        .with_label("which state does the sandbox start in?")
                        .with_secondary(first, "mark one state `initial`, e.g. this one")
                        .with_hint(format!("write `state {} initial {{ ... }}`", states[0].name)),
                    );
                    return None;
                }
                [(i, _)] => *i,
                [(_, first), rest @ ..] => {
                    let mut d = Diagnostic::error("E0302", rest[0].1, "more than one initial state")
                        .with_label("also marked `initial`")
                        .with_secondary(*first, "first marked `initial` here");
                    for (_, s) in &rest[1..] {
                        d = d.with_secondary(*s, "also marked `initial`");
                    }
                    self.err(
                        d.with_hint("the sandbox starts in exactly one state; remove the extra `initial`"),
                    );
                    return None;
                }
            }
        };

        self.overlapping_denies(&always, &states);

        // Reachability from the initial state. A transition to a misspelled state
        // has been reported; its intended target would be unreachable only because
        // of that typo, so skip the check then.
        let typo = self.diags[errors_diag_start..].iter().any(|d| d.code == "E0304");
        if typo || damaged {
            return None;
        }
        let mut reached = vec![false; states.len()];
        let mut queue = VecDeque::from([initial]);
        reached[initial] = true;
        while let Some(s) = queue.pop_front() {
            for t in &states[s].transitions {
                if !reached[t.to] {
                    reached[t.to] = true;
                    queue.push_back(t.to);
                }
            }
        }
        for (i, s) in states.iter().enumerate() {
            if !reached[i] {
                let init = states[initial].span;
                self.diags.push(
                    Diagnostic::error("E0305", s.span, format!("state `{}` is unreachable", s.name))
                        .with_label("no transition leads here")
                        .with_secondary(init, "the sandbox starts here")
                        .with_hint(format!(
                            "add `on EVENT -> {};` to a reachable state, or remove this state",
                            s.name
                        )),
                );
            }
        }

        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        if errors_after > errors_before {
            return None;
        }
        Some(model::Policy {
            name: p.name.name.clone(),
            arch: self.opts.arch,
            span: p.name.span,
            default,
            default_span,
            always,
            states,
            initial,
            asserts,
        })
    }

    /// W0006: a child's named assertion replaces an inherited one. Says what the
    /// replacement lets through that the inherited one did not (for `always
    /// … within`: the places added to the set, the verbs no longer covered), or,
    /// when the two are not comparable that way, shows the inherited text.
    fn replaced_assertion(
        &self,
        name: &str,
        parent: &str,
        old: &model::Assertion,
        new: &model::Assertion,
    ) -> Diagnostic {
        // The property as written, without `assert NAME:` and `;`.
        let text = |a: &model::Assertion| -> String {
            let t = self
                .sources
                .get(a.span.file)
                .text
                .get(a.span.range())
                .unwrap_or("");
            let t = t.trim_start_matches("assert").trim_start();
            let t = t
                .strip_prefix(name)
                .map_or(t, |r| r.trim_start().trim_start_matches(':'));
            t.trim().trim_end_matches(';').trim_end().to_string()
        };
        let old_text = text(old);
        let mut d = Diagnostic::warning(
            "W0006",
            new.span,
            format!("`{name}` replaces the assertion `{name}` inherited from `{parent}`"),
        )
        .with_secondary(old.span, "the inherited assertion, no longer proved")
        .with_hint(format!(
            "if the widening is meant, nothing to do; to keep `{parent}`'s assertion too, give yours another name"
        ));
        use model::Property::Always;
        let label = match (&old.property, &new.property) {
            (
                Always {
                    verbs: ov,
                    within: ow,
                },
                Always {
                    verbs: nv,
                    within: nw,
                },
            ) => {
                let members = |e: &model::Entity| -> Vec<String> {
                    match e {
                        model::Entity::Paths(ps) => ps
                            .iter()
                            .map(|p| match p.pattern.strip_prefix("$HOME") {
                                Some(rest) => format!("~{rest}"),
                                None => p.pattern.clone(),
                            })
                            .collect(),
                        model::Entity::Endpoints(es) => es
                            .iter()
                            .map(|e| format!("{:?} {:?} port {}..{}", e.proto, e.addr, e.ports.0, e.ports.1))
                            .collect(),
                    }
                };
                let (om, nm) = (members(ow), members(nw));
                let added: Vec<&str> = nm
                    .iter()
                    .filter(|m| !om.contains(m))
                    .map(String::as_str)
                    .collect();
                let removed: Vec<&str> = om
                    .iter()
                    .filter(|m| !nm.contains(m))
                    .map(String::as_str)
                    .collect();
                let dropped: Vec<&str> = ov.iter().filter(|v| !nv.contains(v)).map(|v| v.name()).collect();
                let verbs: Vec<&str> = nv.iter().map(|v| v.name()).collect();
                let mut wider = Vec::new();
                if !added.is_empty() {
                    wider.push(format!(
                        "{} may now also go to {}",
                        verbs.join(", "),
                        added.join(", ")
                    ));
                }
                if !dropped.is_empty() {
                    wider.push(format!("{} no longer bounded", dropped.join(", ")));
                }
                let narrower =
                    (!removed.is_empty()).then(|| format!("no longer within {}", removed.join(", ")));
                match (wider.is_empty(), narrower) {
                    (true, None) => "the same property".to_string(),
                    (true, Some(n)) => format!("narrows it: {n}"),
                    (false, None) => format!("widens it: {}", wider.join("; ")),
                    (false, Some(n)) => format!("widens it: {}; {n}", wider.join("; ")),
                }
            }
            _ => format!("replaces `{old_text}`"),
        };
        d = d.with_label(label);
        d.with_note(format!("inherited: {old_text}"))
    }

    fn eval_property(&mut self, scope: &Scope, prop: &ast::Property) -> Option<model::Property> {
        match prop {
            ast::Property::Never { what, after } => {
                let w = self.eval_target(scope, what, true);
                let a = match after {
                    Some(a) => Some(self.eval_target(scope, a, true)?),
                    None => None,
                };
                Some(model::Property::Never { what: w?, after: a })
            }
            ast::Property::Always { what, within } => {
                let t = self.eval_target(scope, what, true)?;
                let Target::Access { verbs, entity: None } = t else {
                    self.err(
                        Diagnostic::error("E0203", what.span, "`always ... within` takes verbs only")
                            .with_label("expected verbs such as `write`")
                            .with_hint("write `assert always write within workspace;`"),
                    );
                    return None;
                };
                let within_span = within.span;
                let within = match self.eval_expr(scope, within) {
                    Val::Entity(e) => e,
                    Val::Syscalls(_) => {
                        self.err(
                            Diagnostic::error(
                                "E0217",
                                within.span,
                                "expected paths or endpoints, found syscalls",
                            )
                            .with_label("these are syscalls")
                            .with_hint("`within` takes the set the verbs must stay inside"),
                        );
                        return None;
                    }
                    Val::Error => return None,
                };
                for v in &verbs {
                    if v.entity_kind() != within.kind() {
                        self.err(
                            Diagnostic::error(
                                "E0201",
                                what.span,
                                format!(
                                    "`{}` applies to {}s, not {}s",
                                    v.name(),
                                    v.entity_kind(),
                                    within.kind()
                                ),
                            )
                            .with_label(format!("expects {}", v.entity_kind()))
                            .with_secondary(within_span, format!("this is {} set", article(within.kind())))
                            .with_hint("a property's verbs and its `within` set must be of the same kind"),
                        );
                        return None;
                    }
                }
                Some(model::Property::Always { verbs, within })
            }
        }
    }
}

/// A property as text without its spans: two properties are the same when
/// they say the same, wherever they are written.
fn without_spans(p: &model::Property) -> String {
    let text = format!("{p:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("span: Span {") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = rest.find('}').map_or("", |j| &rest[j + 1..]);
    }
    out.push_str(rest);
    out
}

fn article(kind: EntityKind) -> String {
    match kind {
        EntityKind::Path => "a path".to_string(),
        EntityKind::Endpoint => "an endpoint".to_string(),
    }
}

/// Parses `"*"`, `"10.0.0.0/8"`, `"10.1.2.3"`, `"::1/128"`.
/// Is `s` meant as a domain name rather than an address? Anything with a letter,
/// `*.` or `-` that has no `/` or `:` (an address block or an IPv6 address):
/// `10.0.0.300` stays an address error, `api..example.com` a domain error.
fn looks_like_a_name(s: &str) -> bool {
    !s.contains(['/', ':']) && s.bytes().any(|c| !(c.is_ascii_digit() || c == b'.'))
}

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

/// The number of a `syscall_NNN` name (decimal, or `syscall_0x1cc`).
fn numbered_syscall(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("syscall_")?;
    match digits.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok(),
        None => None,
    }
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
