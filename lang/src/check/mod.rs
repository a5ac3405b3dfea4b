//! Name resolution, type checking and state-machine checks: [`ast`] in,
//! [`model::Policy`] out, with every problem reported as a [`Diagnostic`].
//!
//! Names resolve, innermost first: the policy's own `let`s, the file's `let`s, the
//! file's policies, explicit imports, glob imports; in syscall position a name that
//! is none of those is looked up in the target architecture's syscall table.
//! Bindings are evaluated lazily and memoised, so order does not matter and cycles
//! are reported instead of looping.
//!
//! The checker is one `Checker` (the module table, the memo tables, the
//! diagnostics) whose methods live in one file per job: `imports` (files and
//! their `use`s), `names` (resolution), `expressions`, `conditions` (argument
//! conditions), `literals` (paths and endpoints), `rules` and `policies`.

mod conditions;
mod expressions;
mod imports;
mod literals;
mod names;
mod policies;
mod rules;

use crate::ast::{self};
use crate::diag::Diagnostic;
use crate::model::{self, Entity, EntityKind, SyscallMatch};
use crate::span::{FileId, SourceMap, Span};
use claw_stdlib::{Arch, SyscallTable};
use std::collections::{HashMap, HashSet};

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
}

/// "a path" or "an endpoint", for messages.
fn article(kind: EntityKind) -> String {
    match kind {
        EntityKind::Path => "a path".to_string(),
        EntityKind::Endpoint => "an endpoint".to_string(),
    }
}
