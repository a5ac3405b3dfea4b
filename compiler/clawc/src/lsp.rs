//! `clawc lsp`: a Language Server Protocol server for Claw over stdio.
//!
//! Every change re-checks the document (the front end is fast and never panics) and
//! publishes its diagnostics with the same codes and messages as `clawc check`,
//! columns counted in UTF-16 as LSP requires. Saving also verifies the document's
//! policies on a worker thread, so typing is never blocked; the results are
//! published only if the document has not changed since. Hover, go-to-definition,
//! completion and document symbols are the front end's (`claw_lang::ide`); this
//! file is the protocol: the message loop, document versions, and the conversion
//! of offsets, spans and items to LSP's JSON (UTF-16 positions, URIs, kinds).
//! Formatting is `clawc fmt`'s.

use crate::verify::{findings, timeout_ms};
use claw_lang::diag::{Diagnostic, Severity};
use claw_lang::ide::{self, Analysis, CompletionKind, Definition, OutlineItem, OutlineKind};
use claw_lang::{FileId, SourceMap};
use claw_stdlib::Arch;
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

/// Checks a document; its name is the file's path when the URI has one.
fn analyze(uri: &str, text: &str) -> Analysis {
    let name = uri_path(uri).unwrap_or_else(|| uri.to_string());
    ide::analyze(&name, text, Arch::native().unwrap_or(Arch::X86_64))
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
        let env = self.path_env();
        let Some(h) = ide::hover(&a, offset, &|pattern| env.expand(pattern)) else {
            return Ok(Value::Null);
        };
        Ok(
            json!({ "contents": { "kind": "markdown", "value": h.markdown }, "range": range(&a.sources, h.span) }),
        )
    }

    /// The path variables a hover expands: the workspace (the editor's root) and
    /// the server's own `HOME` and `TMPDIR`.
    fn path_env(&self) -> claw_ir::Env {
        let mut env = claw_ir::Env::new();
        if let Some(r) = self.root.as_deref() {
            env.set("WORKSPACE", r);
        }
        if let Some(h) = std::env::var_os("HOME") {
            env.set("HOME", &h.to_string_lossy());
        }
        env.set(
            "TMPDIR",
            &std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into()),
        );
        env
    }

    fn definition(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let uri = req
            .params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .unwrap_or("");
        let a = Server::analysis(req, doc);
        let offset = Server::position(req, &a)?;
        match ide::definition(&a, offset) {
            None => Ok(Value::Null),
            Some(Definition::Local(span)) => Ok(json!({ "uri": uri, "range": range(&a.sources, span) })),
            // A standard module: materialise it on disk so the editor can open it.
            Some(Definition::Std { file, text, span, .. }) => {
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
                let span = claw_lang::Span { file: fid, ..span };
                Ok(json!({ "uri": path_uri(&path.to_string_lossy()), "range": range(&sm, span) }))
            }
        }
    }

    fn completion(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let a = Server::analysis(req, doc);
        let offset = Server::position(req, &a)?;
        let items: Vec<Value> = ide::completions(&a, offset)
            .into_iter()
            .map(|c| json!({ "label": c.label, "kind": completion_kind(c.kind), "detail": c.detail }))
            .collect();
        Ok(json!({ "isIncomplete": false, "items": items }))
    }

    fn document_symbols(&self, req: &Request, doc: &Doc) -> Result<Value, String> {
        let a = Server::analysis(req, doc);
        let out: Vec<Value> = ide::outline(&a.tree)
            .iter()
            .map(|o| document_symbol(&a.sources, o))
            .collect();
        Ok(Value::Array(out))
    }
}

/// LSP's `CompletionItemKind`.
fn completion_kind(k: CompletionKind) -> u32 {
    match k {
        CompletionKind::Function => 3,
        CompletionKind::Variable => 6,
        CompletionKind::Module => 9,
        CompletionKind::Keyword => 14,
        CompletionKind::EnumMember => 20,
        CompletionKind::Constant => 21,
    }
}

/// An outline entry as an LSP `DocumentSymbol` (`SymbolKind` 2 module for a
/// policy, 10 enum for a state).
fn document_symbol(sources: &SourceMap, o: &OutlineItem) -> Value {
    let mut v = json!({
        "name": o.name,
        "detail": o.detail,
        "kind": match o.kind { OutlineKind::Policy => 2, OutlineKind::State => 10 },
        "range": range(sources, o.span),
        "selectionRange": range(sources, o.name_span),
    });
    if o.kind == OutlineKind::Policy {
        v["children"] = Value::Array(o.children.iter().map(|c| document_symbol(sources, c)).collect());
    }
    v
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
