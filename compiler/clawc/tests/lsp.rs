//! Drives `clawc lsp` as an editor would: JSON-RPC with Content-Length framing over
//! the real process's stdin and stdout.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: mpsc::Receiver<Value>,
    next_id: i64,
    /// Messages read while waiting for something else.
    backlog: Vec<Value>,
}

fn read_message(r: &mut BufReader<ChildStdout>) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clawc"))
            .arg("lsp")
            .env(
                "XDG_CACHE_HOME",
                std::env::temp_dir().join(format!("claw-lsp-test-{}", std::process::id())),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clawc lsp");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Some(m) = read_message(&mut stdout) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            rx,
            next_id: 1,
            backlog: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": "file:///work/project", "capabilities": {} }),
        );
        assert!(init["result"]["capabilities"]["hoverProvider"].as_bool().unwrap());
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_string(&v).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait(|m| m["id"] == id)
    }

    fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        loop {
            let m = self
                .rx
                .recv_timeout(Duration::from_secs(60))
                .expect("server answered in time");
            if pred(&m) {
                return m;
            }
            self.backlog.push(m);
        }
    }

    /// The next diagnostics published for `uri` whose codes satisfy `pred`.
    fn diagnostics_where(&mut self, uri: &str, pred: impl Fn(&[String]) -> bool) -> Vec<Value> {
        let m = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && pred(&codes(m["params"]["diagnostics"].as_array().unwrap()))
        });
        m["params"]["diagnostics"].as_array().unwrap().clone()
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "claw", "version": 1, "text": text } }),
        );
    }

    fn change(&mut self, uri: &str, version: usize, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } }),
        )
    }

    fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none());
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "server exit: {status:?}");
    }
}

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

const POLICY: &str = "use std::paths::{secrets};
policy agent {
    let workspace = path \"$WORKSPACE/**\";
    default deny(EPERM);
    always { allow read, write workspace; allow getpid; }
    state clean initial {
        allow connect endpoint tcp \"*\" port 443;
        on read secrets -> tainted;
    }
    state tainted { }
    assert never connect after read secrets;
}
";

#[test]
fn diagnostics_use_utf16_columns() {
    let mut c = Client::start();
    let uri = "file:///work/project/unicode.claw";
    // `é` is 2 bytes and 1 UTF-16 unit; `🦀` is 4 bytes and 2 units.
    c.open(uri, "// é 🦀\npolicy p { default deny(EPERM); always { allow opnat; } } // é🦀\n/* 🦀🦀 */ let x = path \"é🦀/x\";\n");
    let diags = c.diagnostics_where(uri, |codes| !codes.is_empty());
    let e0105 = diags
        .iter()
        .find(|d| d["code"] == "E0105")
        .expect("unknown syscall reported");
    assert_eq!(e0105["range"]["start"], json!({ "line": 1, "character": 47 }));
    assert!(e0105["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `openat`?"));
    let e0211 = diags
        .iter()
        .find(|d| d["code"] == "E0211")
        .expect("relative path reported");
    // Line 2: `/* 🦀🦀 */ let x = path ` is 22 characters but 24 UTF-16 units.
    assert_eq!(e0211["range"]["start"], json!({ "line": 2, "character": 24 }));
    c.shutdown();
}

#[test]
fn hover_definition_completion_symbols() {
    let mut c = Client::start();
    let uri = "file:///work/project/agent.claw";
    c.open(uri, POLICY);
    c.diagnostics_where(uri, |_| true);

    // Hover on `getpid` (line 4): a syscall with its numbers.
    let h = c.at("textDocument/hover", uri, 4, 52);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("syscall `getpid()`") && text.contains("39 on x86_64"),
        "{text}"
    );
    // Hover on the binding `workspace` in the rule: its definition and kind.
    let h = c.at("textDocument/hover", uri, 4, 38);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("let workspace = path \"$WORKSPACE/**\";") && text.contains("a set of paths"),
        "{text}"
    );
    // Hover on the path pattern: what it expands to here.
    let h = c.at("textDocument/hover", uri, 2, 27);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(text.contains("expands to `/work/project/**`"), "{text}");
    // Hover on an imported group from the stdlib.
    let h = c.at("textDocument/hover", uri, 7, 17);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("let secrets =") && text.contains("from `std::paths`"),
        "{text}"
    );

    // Definition of `workspace` in the rule → its `let` on line 2.
    let d = c.at("textDocument/definition", uri, 4, 38);
    assert_eq!(d["result"]["uri"], uri);
    assert_eq!(
        d["result"]["range"]["start"],
        json!({ "line": 2, "character": 8 })
    );
    // Definition of the state in a transition.
    let d = c.at("textDocument/definition", uri, 7, 31);
    assert_eq!(
        d["result"]["range"]["start"],
        json!({ "line": 9, "character": 10 })
    );
    // Definition of a stdlib import: the module, written out so editors can open it.
    let d = c.at("textDocument/definition", uri, 7, 17);
    let target = d["result"]["uri"].as_str().unwrap();
    assert!(
        target.starts_with("file://") && target.ends_with("std/paths.claw"),
        "{target}"
    );
    let path = target.trim_start_matches("file://");
    assert!(std::fs::read_to_string(path).unwrap().contains("let secrets ="));

    // Completion after `->`: the policy's states.
    let mut text = POLICY.to_string();
    text = text.replace("on read secrets -> tainted;", "on read secrets -> ");
    c.change(uri, 2, &text);
    let comp = c.at("textDocument/completion", uri, 7, 27);
    let labels: Vec<&str> = comp["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["clean", "tainted"]);
    // Completion elsewhere: keywords, syscalls, bindings.
    let comp = c.at("textDocument/completion", uri, 4, 13);
    let labels: Vec<String> = comp["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect();
    for want in ["allow", "openat", "workspace", "secrets", "visible"] {
        assert!(labels.iter().any(|l| l == want), "missing {want}");
    }

    // Completion inside `deny(`: errno names.
    let text = POLICY.replace("default deny(EPERM);", "default deny(EA");
    c.change(uri, 3, &text);
    let comp = c.at("textDocument/completion", uri, 3, 19);
    let labels: Vec<String> = comp["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect();
    assert!(
        labels.contains(&"EACCES".to_string()) && labels.contains(&"EPERM".to_string()),
        "{labels:?}"
    );
    assert!(
        !labels.contains(&"openat".to_string()),
        "only errno names in deny("
    );
    c.change(uri, 4, POLICY);

    // Document symbols: the policy with its states.
    let s = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let p = &s["result"][0];
    assert_eq!(p["name"], "agent");
    let states: Vec<&str> = p["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["clean", "tainted"]);
    c.shutdown();
}

#[test]
fn half_typed_files_and_unknown_documents() {
    let mut c = Client::start();
    let uri = "file:///work/project/typing.claw";
    c.open(uri, "");
    // Every prefix of a policy, as if typed character by character: never a crash.
    for (i, _) in POLICY.char_indices().step_by(7) {
        c.change(uri, i + 2, &POLICY[..i]);
        let _ = c.at("textDocument/hover", uri, 0, 5);
    }
    let h = c.at("textDocument/completion", uri, 3, 3);
    assert!(h.get("result").is_some(), "{h}");
    // A request about a document never opened is an error response, not a crash.
    let r = c.at("textDocument/hover", "file:///nowhere.claw", 0, 0);
    assert_eq!(r["error"]["code"], -32602);
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown document"));
    let r = c.request("workspace/symbol", json!({ "query": "x" }));
    assert_eq!(r["error"]["code"], -32601);
    c.shutdown();
}

#[test]
fn saving_shows_verification_results() {
    let mut c = Client::start();
    let uri = "file:///work/project/leaky.claw";
    // The tainted state still allows the network: the property fails.
    let leaky = POLICY.replace(
        "state tainted { }",
        "state tainted { allow connect endpoint tcp \"*\" port 443; }",
    );
    c.open(uri, &leaky);
    let diags = c.diagnostics_where(uri, |_| true);
    assert!(codes(&diags).is_empty(), "the policy checks: {diags:?}");
    c.notify("textDocument/didSave", json!({ "textDocument": { "uri": uri } }));
    let diags = c.diagnostics_where(uri, |codes| codes.iter().any(|c| c == "E0401"));
    let e = diags.iter().find(|d| d["code"] == "E0401").unwrap();
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("counterexample") && msg.contains("tainted") && msg.contains("connect tcp"),
        "{msg}"
    );
    assert_eq!(e["range"]["start"]["line"], 10, "on the assert");
    c.shutdown();
}

#[test]
fn formatting_is_clawc_fmt_as_one_edit() {
    let mut c = Client::start();
    let uri = "file:///work/project/fmt.claw";
    c.open(uri, "policy p{default deny(EPERM); // é\nalways{allow getpid;}}");
    let r = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    let edits = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(edits.len(), 1, "{r}");
    assert_eq!(edits[0]["range"]["end"], json!({ "line": 1, "character": 22 }));
    assert_eq!(
        edits[0]["newText"],
        "policy p {\n    default deny(EPERM); // é\n    always {\n        allow getpid;\n    }\n}\n"
    );
    // Already formatted: no edits. Broken: an error, and no edit.
    c.change(uri, 2, edits[0]["newText"].as_str().unwrap());
    let r = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": {} }),
    );
    assert_eq!(r["result"], json!([]));
    c.change(uri, 3, "policy p { default deny(EPERM) }");
    let r = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": {} }),
    );
    assert!(
        r["error"]["message"].as_str().unwrap().contains("does not parse"),
        "{r}"
    );
    c.shutdown();
}

#[test]
fn one_syntax_error_leaves_hover_and_uses_working() {
    let mut c = Client::start();
    let uri = "file:///work/project/broken.claw";
    // A rule without its `;` in the last state: everything above still parses.
    let text = POLICY.replace("state tainted { }", "state tainted { allow getpid }");
    c.open(uri, &text);
    let diags = c.diagnostics_where(uri, |codes| !codes.is_empty());
    let codes = codes(&diags);
    assert!(codes.contains(&"E0010".to_string()), "{codes:?}");
    assert!(
        !codes.iter().any(|c| c == "W0001" || c == "W0002"),
        "nothing is reported unused in a file with a syntax error: {codes:?}"
    );
    // Hover on `getpid` (line 4) and on the imported `secrets` (line 7).
    let h = c.at("textDocument/hover", uri, 4, 52);
    let t = h["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(t.contains("syscall `getpid()`"), "{h}");
    let h = c.at("textDocument/hover", uri, 7, 17);
    let t = h["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(t.contains("let secrets ="), "{h}");
    c.shutdown();
}

#[test]
fn a_list_nested_20000_deep_is_a_diagnostic_and_the_server_survives() {
    let mut c = Client::start();
    let uri = "file:///work/project/deep.claw";
    let deep = format!(
        "let x = {}path \"/a\"{};\n{POLICY}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    c.open(uri, &deep);
    let diags = c.diagnostics_where(uri, |codes| !codes.is_empty());
    assert!(codes(&diags).contains(&"E0012".to_string()), "{diags:?}");
    // Still answering: a hover on the policy below.
    let h = c.at("textDocument/hover", uri, 5, 52);
    assert!(h.get("result").is_some(), "{h}");
    c.shutdown();
}
