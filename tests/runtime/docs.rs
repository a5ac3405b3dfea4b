//! Documents that run: every complete policy in README.md and docs/*.md — a
//! ` ```claw ` (or ` ```claw,warn=CODE `) block; ` ,fragment ` and ` fail=` blocks
//! only illustrate — is compiled and proved by `clawless exec --policy FILE.claw`
//! and runs a small workload on the real kernel, doing what the text around it
//! says. tests/tests/docs.rs checks the same blocks' diagnostics; this file knows
//! nothing about those. A policy added to the docs without a workload here fails
//! `every_complete_policy_in_the_docs_has_a_workload`.
//!
//! docs/agents.md's profile is also driven by a stand-in agent
//! (`progs/standin_agent.py`) that talks to a fake model API on loopback.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The model API's address in docs/agents.md, and the loopback address of the fake
/// that stands in for it here (the only change made to a document's policy).
const MODEL_API_DOC: &str = "\"160.79.104.0/23\"";
const MODEL_API_FAKE: &str = "127.77.17.50";

/// A complete policy of a document: (document, first line of the block, policy
/// name, source).
struct Block {
    doc: String,
    line: usize,
    policy: String,
    source: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

fn complete_policies() -> Vec<Block> {
    let mut out = Vec::new();
    for path in documents() {
        let doc = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = if doc == "README.md" {
            doc
        } else {
            format!("docs/{doc}")
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let mut current: Option<(String, String, usize)> = None;
        for (i, line) in text.lines().enumerate() {
            if let Some(info) = line.strip_prefix("```") {
                match current.take() {
                    Some((info, source, line)) => {
                        let runs = info == "claw"
                            || (info.starts_with("claw,warn=") && !info.ends_with(",fragment"));
                        if runs {
                            let policy = source
                                .lines()
                                .filter_map(|l| l.trim_start().strip_prefix("policy "))
                                .filter_map(|l| l.split_whitespace().next())
                                .next_back()
                                .unwrap_or_else(|| panic!("{doc}:{line}: a claw block without a policy"))
                                .to_string();
                            out.push(Block {
                                doc: doc.clone(),
                                line,
                                policy,
                                source,
                            });
                        }
                    }
                    None => current = Some((info.to_string(), String::new(), i + 1)),
                }
            } else if let Some((_, source, _)) = current.as_mut() {
                source.push_str(line);
                source.push('\n');
            }
        }
    }
    out
}

/// What each complete policy runs, and what its output must show. The scripts
/// run in the workspace (`ws/`, with `.env` holding a secret), HOME is the
/// fixture's; `127.77.17.60:443` is a server that records what it receives.
struct Workload {
    doc: &'static str,
    policy: &'static str,
    script: &'static str,
    /// Lines the output must contain.
    expect: &'static [&'static str],
    /// Whether the server must have received exactly one "BEFORE" (a connection
    /// before the secret, and none after it).
    network: bool,
}

const CONNECT: &str = "python3 -c 'import socket; s = socket.create_connection((\"127.77.17.60\", 443), 5); s.sendall(b\"%s\"); s.close()'";

const WORKLOADS: &[Workload] = &[
    Workload {
        doc: "README.md",
        policy: "coding_agent",
        script: "set -e; echo hello > notes.txt; cat notes.txt; ls -l notes.txt > /dev/null
                 CONNECT(BEFORE) && echo CONNECTED
                 cat .env > /dev/null && echo READ-ENV
                 CONNECT(AFTER) 2>/dev/null && echo LEAKED || echo REFUSED
                 echo still-writing >> notes.txt && tail -n 1 notes.txt",
        expect: &["hello", "CONNECTED", "READ-ENV", "REFUSED", "still-writing"],
        network: true,
    },
    Workload {
        doc: "docs/language.md",
        policy: "coding_agent",
        script: "set -e; echo draft > plan.txt; cat plan.txt; cat .env > /dev/null && echo READ-ENV
                 echo after > plan.txt && cat plan.txt
                 echo x > /tmp/out-$$ 2>/dev/null && echo OUTSIDE || echo ONLY-WORKSPACE",
        expect: &["draft", "READ-ENV", "after", "ONLY-WORKSPACE"],
        network: false,
    },
    Workload {
        doc: "docs/language.md",
        policy: "stricter",
        script: "set -e; echo x > vendor/lib.c 2>/dev/null && echo WROTE-VENDOR || echo VENDOR-REFUSED
                 echo ok > main.c && cat main.c
                 CONNECT(BEFORE) && echo CONNECTED",
        expect: &["VENDOR-REFUSED", "ok", "CONNECTED"],
        network: true,
    },
    Workload {
        doc: "docs/language.md",
        policy: "with_cargo_cache",
        script: "set -e; mkdir -p ~/.cargo/registry/cache
                 echo crate > ~/.cargo/registry/cache/x.crate && cat ~/.cargo/registry/cache/x.crate
                 echo x > ~/.cargo/other 2>/dev/null && echo WROTE-OTHER || echo ONLY-THE-REGISTRY",
        expect: &["crate", "ONLY-THE-REGISTRY"],
        network: false,
    },
    Workload {
        doc: "docs/agents.md",
        policy: "agent_cli",
        script: "set -e; mkdir -p ~/.agent && echo session >> ~/.agent/log && cat ~/.agent/log
                 CONNECT(BEFORE) && echo CONNECTED
                 cat .env > /dev/null && echo READ-ENV
                 CONNECT(AFTER) 2>/dev/null && echo LEAKED || echo REFUSED",
        expect: &["session", "CONNECTED", "READ-ENV", "REFUSED"],
        network: true,
    },
];

#[test]
fn every_complete_policy_in_the_docs_has_a_workload() {
    let blocks = complete_policies();
    assert!(blocks.len() >= 5, "found only {} complete policies", blocks.len());
    for b in &blocks {
        assert!(
            WORKLOADS.iter().any(|w| w.doc == b.doc && w.policy == b.policy),
            "{}:{}: policy `{}` runs nothing in tests/runtime/docs.rs: add a workload (or mark the block `,fragment` if it is not a complete policy)",
            b.doc,
            b.line,
            b.policy
        );
    }
    for w in WORKLOADS {
        assert!(
            blocks.iter().any(|b| w.doc == b.doc && w.policy == b.policy),
            "the workload for {} `{}` has no policy in the docs any more",
            w.doc,
            w.policy
        );
    }
}

/// A server on `ip:port` that keeps what each connection sent.
fn recorder(ip: &str, port: u16) -> Arc<Mutex<Vec<String>>> {
    let server = TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for conn in server.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let mut s = String::new();
            let _ = conn.read_to_string(&mut s);
            keep.lock().unwrap().push(s);
        }
    });
    got
}

#[test]
fn every_complete_policy_in_the_docs_runs_its_workload() {
    clawc_is_built();
    let blocks = complete_policies();
    let server = recorder("127.77.17.60", 443);
    let mut failures = Vec::new();
    for b in &blocks {
        let Some(w) = WORKLOADS.iter().find(|w| w.doc == b.doc && w.policy == b.policy) else {
            continue; // the test above names it
        };
        server.lock().unwrap().clear();
        let f = Fixture::new(&format!("doc-{}", b.policy));
        std::fs::write(f.ws.join(".env"), "TOKEN=doc-secret\n").unwrap();
        std::fs::create_dir_all(f.ws.join("vendor")).unwrap();
        std::fs::create_dir_all(f.home.join(".cargo")).unwrap();
        let source = b.source.replace(MODEL_API_DOC, &format!("\"{MODEL_API_FAKE}\""));
        let file = f.root.join(format!("{}.claw", b.policy));
        std::fs::write(&file, source).unwrap();
        let script = w
            .script
            .replace("CONNECT(BEFORE)", &CONNECT.replace("%s", "BEFORE"))
            .replace("CONNECT(AFTER)", &CONNECT.replace("%s", "AFTER"));
        let o = run_with_deadline(
            f.command(
                &[
                    "--policy",
                    &file.display().to_string(),
                    "--require-landlock",
                    "--log-denials",
                ],
                &["/bin/sh", "-c", &script],
            ),
            std::time::Duration::from_secs(300),
        );
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        let mut why = Vec::new();
        if code(&o) != 0 {
            why.push(format!("exit {}", code(&o)));
        }
        for e in w.expect {
            if !lines.contains(e) {
                why.push(format!("no line `{e}`"));
            }
        }
        if w.network {
            // Give the server a moment to read the last connection.
            std::thread::sleep(std::time::Duration::from_millis(200));
            let got = server.lock().unwrap().clone();
            if got != ["BEFORE"] {
                why.push(format!("the server received {got:?}, not exactly [\"BEFORE\"]"));
            }
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}:{} `{}`: {}\n{}",
                b.doc,
                b.line,
                b.policy,
                why.join("; "),
                show(&o)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The fake model API: answers each request with the next tool call of `script`
/// (then `{"done": true}`), and keeps each request's body and API key.
struct FakeModel {
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeModel {
    fn start(ip: &str, script: Vec<String>) -> FakeModel {
        let server = TcpListener::bind((ip, 443)).unwrap_or_else(|e| panic!("bind {ip}:443: {e}"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let keep = requests.clone();
        std::thread::spawn(move || {
            for (i, conn) in server.incoming().enumerate() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let Some((key, body)) = read_http(&mut conn) else {
                    continue;
                };
                keep.lock().unwrap().push((key, body));
                let reply = match script.get(i) {
                    Some(cmd) => format!("{{\"tool\": {}}}", json_string(cmd)),
                    None => "{\"done\": true}".to_string(),
                };
                let _ = write!(
                    conn,
                    "HTTP/1.0 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        FakeModel { requests }
    }
}

/// Reads one HTTP request: (the `x-api-key` header, the body).
fn read_http(conn: &mut std::net::TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 || buf.len() > 65536 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let len: usize = header("content-length:").parse().ok()?;
    let mut body = vec![0u8; len.min(1 << 20)];
    conn.read_exact(&mut body).ok()?;
    Some((header("x-api-key:"), String::from_utf8_lossy(&body).into_owned()))
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn a_stand_in_agent_keeps_its_model_and_loses_everything_else() {
    clawc_is_built();
    let block = complete_policies()
        .into_iter()
        .find(|b| b.doc == "docs/agents.md" && b.policy == "agent_cli")
        .expect("docs/agents.md has the agent_cli profile");
    assert!(
        block.source.contains(MODEL_API_DOC),
        "the profile names the model API as {MODEL_API_DOC}"
    );
    let f = Fixture::new("doc-agent");
    std::fs::write(f.ws.join(".env"), format!("API_TOKEN={SECRET}\n")).unwrap();
    let file = f.root.join("agent_cli.claw");
    std::fs::write(
        &file,
        block
            .source
            .replace(MODEL_API_DOC, &format!("\"{MODEL_API_FAKE}\"")),
    )
    .unwrap();
    std::fs::copy(
        repo().join("tests/runtime/progs/standin_agent.py"),
        f.ws.join("agent.py"),
    )
    .unwrap();
    let other = recorder("127.77.17.51", 443);
    let send = |what: &str| {
        format!(
            "python3 -c 'import socket; s = socket.create_connection((\"127.77.17.51\", 443), 5); s.sendall(b\"{what}\"); s.close()'"
        )
    };
    let tools = vec![
        "echo token=${OTHER_TOKEN:-withheld}".to_string(),
        "printf 'int main(void){return 0;}\\n' > t.c && cc -o t t.c && ./t && echo BUILT".to_string(),
        format!("{} && echo FETCHED", send("BEFORE")),
        "cat .env".to_string(),
        format!("{} 2>/dev/null && echo LEAKED || echo EXFIL-REFUSED", send("LEAK")),
        "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"LEAK\", (\"127.77.17.51\", 53))' 2>/dev/null && echo DNS-LEAKED || echo DNS-REFUSED".to_string(),
    ];
    let model = FakeModel::start(MODEL_API_FAKE, tools);
    let mut c = f.command(
        &[
            "--policy",
            &file.display().to_string(),
            "--require-landlock",
            "--log-denials",
            "--env-keep",
            "MODEL_API_KEY",
        ],
        &["/usr/bin/python3", "agent.py", "fix the build"],
    );
    c.env("MODEL_API", format!("{MODEL_API_FAKE}:443"))
        .env("MODEL_API_KEY", "sk-fake-key")
        .env("OTHER_TOKEN", "must-not-pass");
    let o = run_with_deadline(c, std::time::Duration::from_secs(300));
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    for want in [
        "token=withheld",
        "BUILT",
        "FETCHED",
        "EXFIL-REFUSED",
        "DNS-REFUSED",
        "AGENT-DONE 6",
    ] {
        assert!(out.contains(want), "no `{want}`\n{}", show(&o));
    }
    assert!(!out.contains("LEAKED"), "{}", show(&o));
    let requests = model.requests.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        7,
        "the model was asked 7 times, 4 of them after the secret\n{}",
        show(&o)
    );
    assert!(
        requests.iter().all(|(key, _)| key == "sk-fake-key"),
        "the kept key reached the model"
    );
    assert!(
        requests[4].1.contains(SECRET),
        "the model saw the tool output after the taint (the trade-off docs/agents.md names)"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(*other.lock().unwrap(), ["BEFORE"], "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("-> tainted"), "the transition is announced\n{err}");
    assert!(
        err.contains("OTHER_TOKEN"),
        "the withheld name is said once\n{err}"
    );
}
