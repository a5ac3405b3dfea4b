//! `clawc lsp`: a Language Server Protocol server for Claw over stdio.
//!
//! Every change re-checks the document (the front end is fast and never panics) and
//! publishes its diagnostics with the same codes and messages as `clawc check`,
//! columns counted in UTF-16 as LSP requires. Saving also verifies the document's
//! policies on a worker thread, so typing is never blocked; the results are
//! published only if the document has not changed since. Hover, go-to-definition,
//! completion and document symbols come from the symbol index of the parse tree;
//! formatting is `clawc fmt`'s.

use crate::verify::{findings, timeout_ms};
use claw_lang::check::{check_file, Options};
use claw_lang::diag::{Diagnostic, Severity};
use claw_lang::symbols::{self, Role, Symbol};
use claw_lang::{ast, FileId, SourceMap};
use claw_stdlib::{Arch, SyscallTable};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Runs the server until the client says `exit`.
pub fn run() -> Result<(), String> {
    let (conn, io) = Connection::stdio();
    let caps = json!({
        "textDocumentSync": { "openClose": true, "change": 1, "save": { "includeText": false } },
        "hoverProvider": true,
        "definitionProvider": true,
        "completionProvider": { "triggerCharacters": [":", "(", ">", " "] },
        "documentSymbolProvider": true,
        "documentFormattingProvider": true,
    });
    let init = conn
        .initialize(caps)
        .map_err(|e| format!("initialize failed: {e}"))?;
    let root = init
        .get("rootUri")
        .and_then(Value::as_str)
        .and_then(uri_path)
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        });
    let mut server = Server {
        conn,
        docs: HashMap::new(),
        versions: Arc::new(Mutex::new(HashMap::new())),
        root,
    };
    server.main_loop()?;
    drop(server);
    io.join().map_err(|e| format!("I/O thread failed: {e}"))
}

struct Doc {
    text: String,
    version: i32,
}

struct Server {
    conn: Connection,
    docs: HashMap<String, Doc>,
    /// Latest version of each document, shared with verification threads so that
    /// stale results are dropped.
    versions: Arc<Mutex<HashMap<String, i32>>>,
    root: Option<String>,
}

/// A checked document.
struct Analysis {
    sources: SourceMap,
    file: FileId,
    tree: ast::File,
    symbols: Vec<Symbol>,
    checked: claw_lang::check::Checked,
}

fn analyze(uri: &str, text: &str) -> Analysis {
    let mut sources = SourceMap::new();
    let name = uri_path(uri).unwrap_or_else(|| uri.to_string());
    let file = sources.add(name, text);
    let checked = check_file(
        &mut sources,
        file,
        &Options {
            arch: Arch::native().unwrap_or(Arch::X86_64),
            require_policy: true,
        },
    );
    let (tree, _) = claw_lang::parse::parse(file, text);
    let symbols = symbols::symbols(&tree);
    Analysis {
        sources,
        file,
        tree,
        symbols,
        checked,
    }
}

/// `file:///a/b%20c` → `/a/b c`.
fn uri_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&rest[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn path_uri(path: &str) -> String {
    let mut s = String::from("file://");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn range(sources: &SourceMap, span: claw_lang::Span) -> Value {
    let f = sources.get(span.file);
    let (l1, c1) = f.line_col_utf16(span.start as usize);
    let (l2, c2) = f.line_col_utf16(span.end as usize);
    json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
}

/// LSP diagnostics for the diagnostics located in `file`.
fn lsp_diagnostics(sources: &SourceMap, file: FileId, uri: &str, diags: &[Diagnostic]) -> Vec<Value> {
    diags
        .iter()
        .filter(|d| d.span.file == file)
        .map(|d| {
            let mut message = d.message.clone();
            if !d.label.is_empty() {
                message += &format!(": {}", d.label);
            }
            for n in &d.notes {
                message += &format!("\n{n}");
            }
            if let Some(h) = &d.hint {
                message += &format!("\nhelp: {h}");
            }
            let related: Vec<Value> = d
                .labels
                .iter()
                .filter(|l| l.span.file == file)
                .map(|l| json!({ "location": { "uri": uri, "range": range(sources, l.span) }, "message": l.message }))
                .collect();
            json!({
                "range": range(sources, d.span),
                "severity": if d.severity == Severity::Error { 1 } else { 2 },
                "code": d.code,
                "source": "clawc",
                "message": message,
                "relatedInformation": related,
            })
        })
        .collect()
}

fn publish(conn: &Connection, uri: &str, version: i32, diagnostics: Vec<Value>) {
    let params = json!({ "uri": uri, "version": version, "diagnostics": diagnostics });
    let _ = conn.sender.send(Message::Notification(Notification::new(
        "textDocument/publishDiagnostics".into(),
        params,
    )));
}

impl Server {
    fn main_loop(&mut self) -> Result<(), String> {
        while let Ok(msg) = self.conn.receiver.recv() {
            match msg {
                Message::Request(req) => {
                    if self.conn.handle_shutdown(&req).map_err(|e| e.to_string())? {
                        return Ok(());
                    }
                    let resp = self.request(&req);
                    let _ = self.conn.sender.send(Message::Response(resp));
                }
                Message::Notification(n) => self.notification(n),
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn notification(&mut self, n: Notification) {
        let uri = n
            .params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(uri) = uri else { return };
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let text = n
                    .params
                    .pointer("/textDocument/text")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let version = n
                    .params
                    .pointer("/textDocument/version")
                    .and_then(Value::as_i64)
                    .unwrap_or(0) as i32;
                self.set(&uri, text.to_string(), version);
            }
            "textDocument/didChange" => {
                // Full sync: the last change holds the whole text.
                let text = n
                    .params
                    .get("contentChanges")
                    .and_then(Value::as_array)
                    .and_then(|c| c.last())
                    .and_then(|c| c.get("text"))
                    .and_then(Value::as_str);
                let version = n
                    .params
                    .pointer("/textDocument/version")
                    .and_then(Value::as_i64)
                    .unwrap_or(0) as i32;
                if let Some(text) = text {
                    self.set(&uri, text.to_string(), version);
                }
            }
            "textDocument/didSave" => self.verify_in_background(&uri),
            "textDocument/didClose" => {
                self.docs.remove(&uri);
                if let Ok(mut v) = self.versions.lock() {
                    v.remove(&uri);
                }
                publish(&self.conn, &uri, 0, vec![]);
            }
            _ => {}
        }
    }

    fn set(&mut self, uri: &str, text: String, version: i32) {
        let a = analyze(uri, &text);
        publish(
            &self.conn,
            uri,
            version,
            lsp_diagnostics(&a.sources, a.file, uri, &a.checked.diagnostics),
        );
        if let Ok(mut v) = self.versions.lock() {
            v.insert(uri.to_string(), version);
        }
        self.docs.insert(uri.to_string(), Doc { text, version });
    }

    /// Verifies on a worker thread (z3 contexts are per thread) and publishes the
    /// check and verification diagnostics together, unless the document changed.
    fn verify_in_background(&self, uri: &str) {
        let Some(doc) = self.docs.get(uri) else { return };
        let (uri, text, version) = (uri.to_string(), doc.text.clone(), doc.version);
        let sender = self.conn.sender.clone();
        let versions = Arc::clone(&self.versions);
        std::thread::spawn(move || {
            let a = analyze(&uri, &text);
            let mut diags = a.checked.diagnostics.clone();
            if !a.checked.has_errors() {
                for p in &a.checked.policies {
                    let (ir, spans) = claw_lower::lower_with_spans(p, &a.sources);
                    let Ok(program) = claw_bpf::compile(&ir) else {
                        continue;
                    };
                    let opts = claw_verify::Options {
                        timeout_ms: timeout_ms(10),
                        lints: true,
                    };
                    let report = claw_verify::verify(&ir, Some(&program), opts);
                    diags.extend(findings(&ir, &spans, &report).diagnostics);
                }
            }
            let current = versions.lock().ok().and_then(|v| v.get(&uri).copied());
            if current == Some(version) {
                let params = json!({
                    "uri": uri,
                    "version": version,
                    "diagnostics": lsp_diagnostics(&a.sources, a.file, &uri, &diags),
                });
                let _ = sender.send(Message::Notification(Notification::new(
                    "textDocument/publishDiagnostics".into(),
                    params,
                )));
            }
        });
    }

    fn request(&self, req: &Request) -> Response {
        let id = req.id.clone();
        let handler: fn(&Server, &Request, &Doc) -> Result<Value, String> = match req.method.as_str() {
            "textDocument/hover" => Server::hover,
            "textDocument/definition" => Server::definition,
            "textDocument/completion" => Server::completion,
            "textDocument/documentSymbol" => Server::document_symbols,
            "textDocument/formatting" => Server::formatting,
            other => {
                return error(
                    id,
                    ErrorCode::MethodNotFound,
                    format!("unsupported request `{other}`"),
                )
            }
        };
        let uri = req.params.pointer("/textDocument/uri").and_then(Value::as_str);
        let Some(doc) = uri.and_then(|u| self.docs.get(u)) else {
            let msg = format!("unknown document `{}`: open it first", uri.unwrap_or("(none)"));
            return error(id, ErrorCode::InvalidParams, msg);
        };
        match handler(self, req, doc) {
            Ok(v) => Response::new_ok(id, v),
            Err(e) => error(id, ErrorCode::InvalidParams, e),
        }
    }

    fn position(req: &Request, a: &Analysis) -> Result<usize, String> {
        let line = req
            .params
            .pointer("/position/line")
            .and_then(Value::as_u64)
            .ok_or("missing position")?;
        let ch = req
            .params
            .pointer("/position/character")
            .and_then(Value::as_u64)
            .ok_or("missing position")?;
        Ok(a.sources.get(a.file).offset_utf16(line as usize, ch as usize))
    }

    fn analysis(req: &Request, doc: &Doc) -> Analysis {
        let uri = req
            .params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .unwrap_or("");
        analyze(uri, &doc.text)
    }

    /// The whole document laid out by `clawc fmt`, as one edit (none if it already
    /// is). A document that does not parse is not formatted.
    fn formatting(&self, _req: &Request, doc: &Doc) -> Result<Value, String> {
        let (_, diags) = claw_lang::parse::parse(FileId(0), &doc.text);
        if diags.iter().any(Diagnostic::is_error) {
            return Err("the document does not parse: fix its errors first".into());
        }
        let out = claw_lang::format::format(&doc.text).map_err(|e| e.to_string())?;
        if out == doc.text {
            return Ok(json!([]));
        }
        let lines = doc.text.matches('\n').count();
        let last = doc.text.rsplit('\n').next().unwrap_or("");
        let end = json!({ "line": lines, "character": last.encode_utf16().count() });
        Ok(json!([{ "range": { "start": { "line": 0, "character": 0 }, "end": end }, "newText": out }]))
    }

    fn hover(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let a = Server::analysis(req, doc);
        let offset = Server::position(req, &a)?;
        let Some(s) = symbols::at(&a.symbols, offset) else {
            return Ok(Value::Null);
        };
        let Some(text) = describe(&a, s, self.root.as_deref()) else {
            return Ok(Value::Null);
        };
        Ok(json!({ "contents": { "kind": "markdown", "value": text }, "range": range(&a.sources, s.span) }))
    }

    fn definition(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let uri = req
            .params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .unwrap_or("");
        let a = Server::analysis(req, doc);
        let offset = Server::position(req, &a)?;
        let Some(s) = symbols::at(&a.symbols, offset) else {
            return Ok(Value::Null);
        };
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
            return Ok(json!({ "uri": uri, "range": range(&a.sources, d.span) }));
        }
        // In a standard module: materialise it on disk so the editor can open it.
        if matches!(s.role, Role::NameRef { .. } | Role::Import { .. } | Role::Parent) {
            if let Some((module, def)) = std_definition(&a.tree, &s.name) {
                let (file, text) = claw_stdlib::modules::source(&module).ok_or("unknown module")?;
                let dir = std_dir();
                let path = dir.join(file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
                    std::fs::write(&path, text).map_err(|e| e.to_string())?;
                }
                let mut sm = SourceMap::new();
                let fid = sm.add(file, text);
                let span = claw_lang::Span { file: fid, ..def };
                return Ok(json!({ "uri": path_uri(&path.to_string_lossy()), "range": range(&sm, span) }));
            }
        }
        Ok(Value::Null)
    }

    fn completion(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let a = Server::analysis(req, doc);
        let offset = Server::position(req, &a)?;
        let before = &doc.text[..offset.min(doc.text.len())];
        let line = before.rsplit('\n').next().unwrap_or("");
        let word_start = line.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
        let context = word_start.trim_end();
        let mut items: Vec<Value> = Vec::new();
        let mut add = |label: &str, kind: u32, detail: &str| {
            items.push(json!({ "label": label, "kind": kind, "detail": detail }));
        };
        // LSP CompletionItemKind: 3 function, 6 variable, 14 keyword, 20 enum member,
        // 21 constant, 9 module, 22 struct.
        if context.ends_with("->") {
            let policy = enclosing_policy(&a.tree, offset);
            for s in &a.symbols {
                if matches!(&s.role, Role::StateDef { policy: p } if Some(p.as_str()) == policy.as_deref()) {
                    add(&s.name, 20, "state");
                }
            }
        } else if context.ends_with("deny(") {
            for e in claw_stdlib::errno::all() {
                add(e.name, 21, e.description);
            }
        } else if context.ends_with("use std::") || context.ends_with("use") {
            for m in claw_stdlib::modules::names() {
                add(m.trim_start_matches("std::"), 9, "standard module");
            }
        } else if let Some(module) = use_module(context) {
            for name in module_exports(&module) {
                add(&name, 6, &module);
            }
        } else {
            for k in claw_lang::lexer::KEYWORDS {
                add(k, 14, "keyword");
            }
            for v in claw_lang::model::Verb::ALL {
                add(v.name(), 14, "verb");
            }
            let mut seen = std::collections::HashSet::new();
            for s in &a.symbols {
                if matches!(s.role, Role::LetDef { .. } | Role::Import { .. }) && seen.insert(s.name.clone())
                {
                    add(&s.name, 6, "binding");
                }
            }
            for m in glob_modules(&a.tree) {
                for name in module_exports(&m) {
                    if seen.insert(name.clone()) {
                        add(&name, 6, &m);
                    }
                }
            }
            let arch = Arch::native().unwrap_or(Arch::X86_64);
            for sc in SyscallTable::get(arch).iter() {
                add(sc.name, 3, "syscall");
            }
        }
        Ok(json!({ "isIncomplete": false, "items": items }))
    }

    fn document_symbols(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let a = Server::analysis(req, doc);
        let mut out = Vec::new();
        for item in &a.tree.items {
            let ast::Item::Policy(p) = item else { continue };
            let children: Vec<Value> = p
                .items
                .iter()
                .filter_map(|i| match i {
                    ast::PolicyItem::State(s) => Some(json!({
                        "name": s.name.name,
                        "detail": if s.initial.is_some() { "initial state" } else { "state" },
                        "kind": 10,
                        "range": range(&a.sources, s.span),
                        "selectionRange": range(&a.sources, s.name.span),
                    })),
                    _ => None,
                })
                .collect();
            out.push(json!({
                "name": p.name.name,
                "detail": "policy",
                "kind": 2,
                "range": range(&a.sources, p.span),
                "selectionRange": range(&a.sources, p.name.span),
                "children": children,
            }));
        }
        Ok(Value::Array(out))
    }
}

fn error(id: RequestId, code: ErrorCode, message: String) -> Response {
    Response::new_err(id, code as i32, message)
}

/// Where standard modules are written for go-to-definition.
fn std_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("clawless")
        .join(concat!("std-", env!("CARGO_PKG_VERSION")))
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
    let (tree, _) = claw_lang::parse::parse(FileId(0), text);
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
fn std_definition(tree: &ast::File, name: &str) -> Option<(String, claw_lang::Span)> {
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
        let (mtree, _) = claw_lang::parse::parse(FileId(0), text);
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
fn describe(a: &Analysis, s: &Symbol, root: Option<&str>) -> Option<String> {
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
                let (mtree, _) = claw_lang::parse::parse(FileId(0), src);
                if let Some(t) = let_text(&mtree, src, &s.name, None) {
                    return Some(format!("{}\n\n{} from `{module}`", code(&t), kind_of(&t)));
                }
                return Some(format!("policy `{}` from `{module}`", s.name));
            }
            syscall_hover(&s.name)
        }
        Role::Import { module } => {
            let (_, src) = claw_stdlib::modules::source(module)?;
            let (mtree, _) = claw_lang::parse::parse(FileId(0), src);
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
            let sc = SyscallTable::get(Arch::native().unwrap_or(Arch::X86_64)).by_name(syscall)?;
            let i = sc.arg_index(&s.name)?;
            Some(format!(
                "argument `{}` of `{syscall}`: arg{i}, {} bits",
                sc.args[i].name,
                sc.args[i].kind.bits()
            ))
        }
        Role::PathPattern => {
            let mut env = claw_ir::Env::new();
            if let Some(r) = root {
                env.set("WORKSPACE", r);
            }
            if let Some(h) = std::env::var_os("HOME") {
                env.set("HOME", &h.to_string_lossy());
            }
            env.set(
                "TMPDIR",
                &std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into()),
            );
            let pattern = match s.name.strip_prefix("~/") {
                Some(rest) => format!("$HOME/{rest}"),
                None if s.name == "~" => "$HOME".into(),
                None => s.name.clone(),
            };
            let expanded = env
                .expand(&pattern)
                .unwrap_or_else(|| format!("{pattern} (variable not set here)"));
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
    match claw_lang::model::Verb::from_name(name) {
        Some(v) => format!("verb `{name}`: {}", v.doc()),
        None => format!("`{name}`"),
    }
}
