//! Editor features over a checked document: hover text, go-to-definition,
//! completion and the document outline, as plain data (byte offsets and
//! [`Span`]s in, strings and spans out).
//!
//! It knows the parse tree, the symbol index ([`crate::symbols`]), the checker's
//! results and the embedded stdlib. It knows nothing of the Language Server
//! Protocol (positions in UTF-16, JSON, URIs: `clawc lsp` converts), of the disk
//! or of the environment: what a path variable expands to is the caller's to say.

use crate::ast;
use crate::check::{check_file, Checked, Options};
use crate::model::Verb;
use crate::span::{FileId, SourceMap, Span};
use crate::symbols::{self, Role, Symbol};
use claw_stdlib::{Arch, SyscallTable};

/// A document and everything the editor features read: its sources, parse tree,
/// symbol index and check results.
pub struct Analysis {
    /// The document (and any stdlib module the checker loaded).
    pub sources: SourceMap,
    /// The document's id in `sources`.
    pub file: FileId,
    /// Its parse tree (recovered where it has syntax errors).
    pub tree: ast::File,
    /// Every name in it, in source order.
    pub symbols: Vec<Symbol>,
    /// What `clawc check` says about it.
    pub checked: Checked,
    /// The architecture whose syscall table the document is checked against.
    pub arch: Arch,
}

/// Checks `text` (displayed as `name`) for `arch` and indexes its symbols.
pub fn analyze(name: &str, text: &str, arch: Arch) -> Analysis {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let checked = check_file(
        &mut sources,
        file,
        &Options {
            arch,
            require_policy: true,
        },
    );
    let (tree, _) = crate::parse::parse(file, text);
    let symbols = symbols::symbols(&tree);
    Analysis {
        sources,
        file,
        tree,
        symbols,
        checked,
        arch,
    }
}

/// What a hover shows: Markdown, for the symbol at `span`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hover {
    /// The text, in Markdown.
    pub markdown: String,
    /// The symbol hovered.
    pub span: Span,
}

/// The hover for the symbol at byte `offset`, if there is one there and
/// something to say about it. `expand` gives what a path pattern starting with a
/// variable expands to here (`None`: the variable is not set).
pub fn hover(a: &Analysis, offset: usize, expand: &dyn Fn(&str) -> Option<String>) -> Option<Hover> {
    let s = symbols::at(&a.symbols, offset)?;
    let markdown = describe(a, s, expand)?;
    Some(Hover {
        markdown,
        span: s.span,
    })
}

/// Where the symbol under the cursor is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definition {
    /// In the document itself (a binding, a policy, a state).
    Local(Span),
    /// In an embedded standard module.
    Std {
        /// The module (`std::paths`).
        module: String,
        /// Its file name (`std/paths.claw`).
        file: &'static str,
        /// Its source text.
        text: &'static str,
        /// The definition's byte range in `text` (its `file` is not meaningful).
        span: Span,
    },
}

/// The definition of the symbol at byte `offset`.
pub fn definition(a: &Analysis, offset: usize) -> Option<Definition> {
    let s = symbols::at(&a.symbols, offset)?;
    // In this document: a binding, a policy or a state.
    let local = a.symbols.iter().find(|d| {
        d.name == s.name
            && match (&s.role, &d.role) {
                (Role::NameRef { policy }, Role::LetDef { policy: p }) => p.is_none() || p == policy,
                (Role::Parent, Role::PolicyDef) => true,
                (Role::StateRef { policy }, Role::StateDef { policy: p }) => p == policy,
                _ => false,
            }
    });
    // Prefer the policy's own binding over the file's.
    let local = a
        .symbols
        .iter()
        .find(|d| d.name == s.name && matches!((&s.role, &d.role), (Role::NameRef { policy: Some(p) }, Role::LetDef { policy: Some(q) }) if p == q))
        .or(local);
    if let Some(d) = local {
        return Some(Definition::Local(d.span));
    }
    if matches!(s.role, Role::NameRef { .. } | Role::Import { .. } | Role::Parent) {
        if let Some((module, span)) = std_definition(&a.tree, &s.name) {
            let (file, text) = claw_stdlib::modules::source(&module)?;
            return Some(Definition::Std {
                module,
                file,
                text,
                span,
            });
        }
    }
    None
}

/// What a completion item is (the editor picks an icon by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    /// A syscall.
    Function,
    /// A binding or an imported name.
    Variable,
    /// A keyword or a verb.
    Keyword,
    /// A state.
    EnumMember,
    /// An errno name.
    Constant,
    /// A standard module.
    Module,
}

/// One completion item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text inserted.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// A few words shown beside it.
    pub detail: String,
}

/// The completions at byte `offset`, chosen by what precedes the word there:
/// states after `->`, errnos after `deny(`, modules after `use`, a module's
/// names inside its `use`, else keywords, verbs, bindings and syscalls.
pub fn completions(a: &Analysis, offset: usize) -> Vec<Completion> {
    let text = &a.sources.get(a.file).text;
    let before = &text[..offset.min(text.len())];
    let line = before.rsplit('\n').next().unwrap_or("");
    let word_start = line.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
    let context = word_start.trim_end();
    let mut items: Vec<Completion> = Vec::new();
    let mut add = |label: &str, kind: CompletionKind, detail: &str| {
        items.push(Completion {
            label: label.to_string(),
            kind,
            detail: detail.to_string(),
        });
    };
    if context.ends_with("->") {
        let policy = enclosing_policy(&a.tree, offset);
        for s in &a.symbols {
            if matches!(&s.role, Role::StateDef { policy: p } if Some(p.as_str()) == policy.as_deref()) {
                add(&s.name, CompletionKind::EnumMember, "state");
            }
        }
    } else if context.ends_with("deny(") {
        for e in claw_stdlib::errno::all() {
            add(e.name, CompletionKind::Constant, e.description);
        }
    } else if context.ends_with("use std::") || context.ends_with("use") {
        for m in claw_stdlib::modules::names() {
            add(
                m.trim_start_matches("std::"),
                CompletionKind::Module,
                "standard module",
            );
        }
    } else if let Some(module) = use_module(context) {
        for name in module_exports(&module) {
            add(&name, CompletionKind::Variable, &module);
        }
    } else {
        for k in crate::lexer::KEYWORDS {
            add(k, CompletionKind::Keyword, "keyword");
        }
        for v in Verb::ALL {
            add(v.name(), CompletionKind::Keyword, "verb");
        }
        let mut seen = std::collections::HashSet::new();
        for s in &a.symbols {
            if matches!(s.role, Role::LetDef { .. } | Role::Import { .. }) && seen.insert(s.name.clone()) {
                add(&s.name, CompletionKind::Variable, "binding");
            }
        }
        for m in glob_modules(&a.tree) {
            for name in module_exports(&m) {
                if seen.insert(name.clone()) {
                    add(&name, CompletionKind::Variable, &m);
                }
            }
        }
        for sc in SyscallTable::get(a.arch).iter() {
            add(sc.name, CompletionKind::Function, "syscall");
        }
    }
    items
}

/// What an outline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlineKind {
    /// A policy.
    Policy,
    /// A state of a policy.
    State,
}

/// One entry of the document outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineItem {
    /// The policy's or state's name.
    pub name: String,
    /// `policy`, `state` or `initial state`.
    pub detail: &'static str,
    /// What it is.
    pub kind: OutlineKind,
    /// The whole definition.
    pub span: Span,
    /// Its name.
    pub name_span: Span,
    /// A policy's states.
    pub children: Vec<OutlineItem>,
}

/// The document's policies with their states, in source order.
pub fn outline(tree: &ast::File) -> Vec<OutlineItem> {
    let mut out = Vec::new();
    for item in &tree.items {
        let ast::Item::Policy(p) = item else { continue };
        let children = p
            .items
            .iter()
            .filter_map(|i| match i {
                ast::PolicyItem::State(s) => Some(OutlineItem {
                    name: s.name.name.clone(),
                    detail: if s.initial.is_some() {
                        "initial state"
                    } else {
                        "state"
                    },
                    kind: OutlineKind::State,
                    span: s.span,
                    name_span: s.name.span,
                    children: Vec::new(),
                }),
                _ => None,
            })
            .collect();
        out.push(OutlineItem {
            name: p.name.name.clone(),
            detail: "policy",
            kind: OutlineKind::Policy,
            span: p.span,
            name_span: p.name.span,
            children,
        });
    }
    out
}

fn enclosing_policy(tree: &ast::File, offset: usize) -> Option<String> {
    tree.items.iter().find_map(|i| match i {
        ast::Item::Policy(p) if (p.span.start as usize) <= offset && offset <= p.span.end as usize => {
            Some(p.name.name.clone())
        }
        _ => None,
    })
}

/// `use std::paths::{se` → `std::paths`.
fn use_module(context: &str) -> Option<String> {
    let rest = context.trim_start().strip_prefix("use ")?;
    let module = rest.trim_end_matches(['{', ',', ' ']).trim_end_matches("::");
    let module = module.split("::{").next().unwrap_or(module);
    claw_stdlib::modules::source(module).map(|_| module.to_string())
}

fn glob_modules(tree: &ast::File) -> Vec<String> {
    tree.items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Use(u) if matches!(u.names, ast::UseNames::Glob(_)) => Some(
                u.module
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join("::"),
            ),
            _ => None,
        })
        .collect()
}

/// Top-level bindings and policies of a standard module.
fn module_exports(module: &str) -> Vec<String> {
    let Some((_, text)) = claw_stdlib::modules::source(module) else {
        return vec![];
    };
    let (tree, _) = crate::parse::parse(FileId(0), text);
    tree.items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Let(l) => Some(l.name.name.clone()),
            ast::Item::Policy(p) => Some(p.name.name.clone()),
            _ => None,
        })
        .collect()
}

/// The standard module and definition span (in that module) of `name`, if the
/// document imports it.
fn std_definition(tree: &ast::File, name: &str) -> Option<(String, Span)> {
    for item in &tree.items {
        let ast::Item::Use(u) = item else { continue };
        let module: String = u
            .module
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("::");
        let imported = match &u.names {
            ast::UseNames::One(i) => i.name == name,
            ast::UseNames::List(v) => v.iter().any(|i| i.name == name),
            ast::UseNames::Glob(_) => true,
        };
        if !imported {
            continue;
        }
        let (_, text) = claw_stdlib::modules::source(&module)?;
        let (mtree, _) = crate::parse::parse(FileId(0), text);
        for mi in &mtree.items {
            match mi {
                ast::Item::Let(l) if l.name.name == name => return Some((module, l.name.span)),
                ast::Item::Policy(p) if p.name.name == name => return Some((module, p.name.span)),
                _ => {}
            }
        }
    }
    None
}

/// Markdown for a hover.
fn describe(a: &Analysis, s: &Symbol, expand: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let code = |t: &str| format!("```claw\n{t}\n```");
    let let_text = |tree: &ast::File, src: &str, name: &str, policy: Option<&str>| -> Option<String> {
        let mut found = None;
        for item in &tree.items {
            match item {
                ast::Item::Let(l) if l.name.name == name => found = found.or(Some(l.span)),
                ast::Item::Policy(p) if policy == Some(p.name.name.as_str()) => {
                    for pi in &p.items {
                        if let ast::PolicyItem::Let(l) = pi {
                            if l.name.name == name {
                                return src.get(l.span.range()).map(str::to_string);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        found.and_then(|sp| src.get(sp.range()).map(str::to_string))
    };
    let text = &a.sources.get(a.file).text;
    match &s.role {
        Role::NameRef { policy } | Role::LetDef { policy } => {
            if let Some(t) = let_text(&a.tree, text, &s.name, policy.as_deref()) {
                return Some(format!("{}\n\n{}", code(&t), kind_of(&t)));
            }
            if let Some((module, _)) = std_definition(&a.tree, &s.name) {
                let (_, src) = claw_stdlib::modules::source(&module)?;
                let (mtree, _) = crate::parse::parse(FileId(0), src);
                if let Some(t) = let_text(&mtree, src, &s.name, None) {
                    return Some(format!("{}\n\n{} from `{module}`", code(&t), kind_of(&t)));
                }
                return Some(format!("policy `{}` from `{module}`", s.name));
            }
            syscall_hover(&s.name)
        }
        Role::Import { module } => {
            let (_, src) = claw_stdlib::modules::source(module)?;
            let (mtree, _) = crate::parse::parse(FileId(0), src);
            let t = let_text(&mtree, src, &s.name, None)?;
            Some(format!("{}\n\n{} from `{module}`", code(&t), kind_of(&t)))
        }
        Role::Verb => Some(verb_hover(&s.name)),
        Role::StateDef { policy } | Role::StateRef { policy } => {
            Some(format!("state `{}` of policy `{policy}`", s.name))
        }
        Role::PolicyDef | Role::Parent => Some(format!("policy `{}`", s.name)),
        Role::Errno => {
            let e = claw_stdlib::errno::by_name(&s.name)?;
            Some(format!("`{}` = {}: {}", e.name, e.value, e.description))
        }
        Role::Constant => {
            let c = claw_stdlib::constants::by_name(&s.name)?;
            Some(format!(
                "`{}` = {:#x} on x86_64, {:#x} on aarch64",
                c.name, c.x86_64, c.aarch64
            ))
        }
        Role::Argument { syscall } => {
            let sc = SyscallTable::get(a.arch).by_name(syscall)?;
            let i = sc.arg_index(&s.name)?;
            Some(format!(
                "argument `{}` of `{syscall}`: arg{i}, {} bits",
                sc.args[i].name,
                sc.args[i].kind.bits()
            ))
        }
        Role::PathPattern => {
            let pattern = match s.name.strip_prefix("~/") {
                Some(rest) => format!("$HOME/{rest}"),
                None if s.name == "~" => "$HOME".into(),
                None => s.name.clone(),
            };
            let expanded = expand(&pattern).unwrap_or_else(|| format!("{pattern} (variable not set here)"));
            Some(format!(
                "path pattern `{}`\n\nhere it expands to `{expanded}`; `*` and `?` match within one component, `**` any number of components",
                s.name
            ))
        }
    }
}

fn kind_of(let_text: &str) -> &'static str {
    let value = let_text.split_once('=').map_or("", |(_, v)| v.trim_start());
    if value.starts_with("path") {
        "a set of paths"
    } else if value.starts_with("endpoint") {
        "a set of endpoints"
    } else if value.starts_with("syscalls") {
        "a group of syscalls"
    } else {
        "a union"
    }
}

fn syscall_hover(name: &str) -> Option<String> {
    let x = SyscallTable::get(Arch::X86_64).by_name(name);
    let a = SyscallTable::get(Arch::Aarch64).by_name(name);
    let sc = x.or(a)?;
    let args: Vec<String> = sc
        .args
        .iter()
        .map(|a| format!("{}: {:?}", a.name, a.kind).to_lowercase())
        .collect();
    let nr = |s: Option<&claw_stdlib::Syscall>| s.map_or("absent".to_string(), |s| s.nr.to_string());
    Some(format!(
        "syscall `{name}({})`\n\nnumber: {} on x86_64, {} on aarch64",
        args.join(", "),
        nr(x),
        nr(a)
    ))
}

fn verb_hover(name: &str) -> String {
    match Verb::from_name(name) {
        Some(v) => format!("verb `{name}`: {}", v.doc()),
        None => format!("`{name}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "use std::paths::{secrets};\n\
                       let work = path \"$WORKSPACE/**\";\n\
                       policy p {\n    \
                           default deny(EPERM);\n    \
                           state start initial {\n        \
                               allow read work;\n        \
                               allow openat(flags == O_RDONLY);\n        \
                               on read secrets -> tainted;\n    \
                           }\n    \
                           state tainted { allow read work; }\n\
                       }\n";

    fn at(text: &str, needle: &str) -> usize {
        text.find(needle).expect("needle in the document")
    }

    fn analysis() -> Analysis {
        analyze("p.claw", DOC, Arch::X86_64)
    }

    #[test]
    fn the_document_checks() {
        let a = analysis();
        assert!(!a.checked.has_errors(), "{:?}", a.checked.diagnostics);
    }

    #[test]
    fn hover_shows_a_binding_its_errno_its_syscall_and_a_path_expanded() {
        let a = analysis();
        let none = |_: &str| None;
        let h = hover(&a, at(DOC, "work;") + 1, &none).expect("hover on a binding");
        assert!(h.markdown.contains("let work = path"), "{}", h.markdown);
        assert!(h.markdown.contains("a set of paths"), "{}", h.markdown);
        assert_eq!(&DOC[h.span.range()], "work");
        let h = hover(&a, at(DOC, "EPERM") + 1, &none).expect("hover on an errno");
        assert!(h.markdown.starts_with("`EPERM` = 1:"), "{}", h.markdown);
        let h = hover(&a, at(DOC, "openat") + 1, &none).expect("hover on a syscall");
        assert!(h.markdown.contains("syscall `openat("), "{}", h.markdown);
        let expand = |p: &str| Some(p.replace("$WORKSPACE", "/w"));
        let h = hover(&a, at(DOC, "$WORKSPACE") + 2, &expand).expect("hover on a path");
        assert!(h.markdown.contains("expands to `/w/**`"), "{}", h.markdown);
        let h = hover(&a, at(DOC, "$WORKSPACE") + 2, &none).expect("hover on a path");
        assert!(h.markdown.contains("(variable not set here)"), "{}", h.markdown);
        assert_eq!(
            hover(&a, at(DOC, "default") + 1, &none),
            None,
            "a keyword has no hover"
        );
    }

    #[test]
    fn definition_finds_local_bindings_states_and_std_names() {
        let a = analysis();
        let Some(Definition::Local(span)) = definition(&a, at(DOC, "work;") + 1) else {
            panic!("a local binding");
        };
        assert_eq!(span.start as usize, at(DOC, "work ="));
        let Some(Definition::Local(span)) = definition(&a, at(DOC, "-> tainted") + 4) else {
            panic!("a state");
        };
        assert_eq!(span.start as usize, at(DOC, "tainted {"));
        match definition(&a, at(DOC, "secrets ->") + 1) {
            Some(Definition::Std {
                module, text, span, ..
            }) => {
                assert_eq!(module, "std::paths");
                assert_eq!(&text[span.range()], "secrets");
            }
            other => panic!("a std definition, got {other:?}"),
        }
        assert_eq!(definition(&a, at(DOC, "default") + 1), None);
    }

    #[test]
    fn completion_follows_the_context() {
        let labels = |text: &str, offset: usize| -> Vec<(String, CompletionKind)> {
            let a = analyze("c.claw", text, Arch::X86_64);
            completions(&a, offset)
                .into_iter()
                .map(|c| (c.label, c.kind))
                .collect()
        };
        let states = labels(DOC, at(DOC, "tainted;"));
        assert_eq!(
            states,
            vec![
                ("start".to_string(), CompletionKind::EnumMember),
                ("tainted".to_string(), CompletionKind::EnumMember)
            ]
        );
        let errnos = labels(DOC, at(DOC, "EPERM"));
        assert!(errnos.contains(&("EACCES".to_string(), CompletionKind::Constant)));
        let text = "use std::paths::{";
        let names = labels(text, text.len());
        assert!(
            names.contains(&("secrets".to_string(), CompletionKind::Variable)),
            "{names:?}"
        );
        let text = "policy p { default deny; state s initial { allow ";
        let all = labels(text, text.len());
        for verb in Verb::ALL {
            assert!(all.contains(&(verb.name().to_string(), CompletionKind::Keyword)));
        }
        assert!(all.contains(&("openat".to_string(), CompletionKind::Function)));
        assert!(all.contains(&("policy".to_string(), CompletionKind::Keyword)));
    }

    #[test]
    fn the_outline_lists_policies_and_their_states() {
        let a = analysis();
        let o = outline(&a.tree);
        assert_eq!(o.len(), 1);
        assert_eq!(
            (o[0].name.as_str(), o[0].kind, o[0].detail),
            ("p", OutlineKind::Policy, "policy")
        );
        let states: Vec<(&str, &str)> = o[0]
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.detail))
            .collect();
        assert_eq!(states, vec![("start", "initial state"), ("tainted", "state")]);
        assert_eq!(&DOC[o[0].children[1].name_span.range()], "tainted");
    }
}
