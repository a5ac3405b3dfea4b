//! `clawc compile`, `disasm` and `explain` driven as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn clawc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clawc"))
        .args(args)
        .output()
        .expect("run clawc")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clawc-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn compile_then_disasm_every_example() {
    for ex in [
        "examples/coding_agent.claw",
        "examples/offline_analysis.claw",
        "examples/registries_and_model_api.claw",
        "examples/readonly_reviewer.claw",
    ] {
        for target in ["x86_64", "aarch64"] {
            let out = tmp(&format!("{}-{target}.bin", ex.replace('/', "_")));
            let o = clawc(&[
                "compile",
                &repo(ex),
                "-o",
                out.to_str().unwrap(),
                "--target",
                target,
            ]);
            assert_eq!(o.status.code(), Some(0), "{ex}: {}", text(&o));
            let d = clawc(&["disasm", out.to_str().unwrap()]);
            assert_eq!(d.status.code(), Some(0));
            let listing = String::from_utf8_lossy(&d.stdout);
            let arch = if target == "x86_64" {
                "ARCH_X86_64"
            } else {
                "ARCH_AARCH64"
            };
            assert!(
                listing.contains(&format!("if (arch == {arch}) goto 0003")),
                "{listing}"
            );
            assert!(listing.contains("return KILL_PROCESS"));
            assert!(listing.contains(&format!("({target})")));
        }
    }
}

#[test]
fn small_policy_listing() {
    let out = tmp("small.bin");
    let o = clawc(&[
        "compile",
        &repo("compiler/clawc/tests/fixtures/small.claw"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let d = clawc(&["disasm", out.to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&d.stdout);
    // The header names the temporary source path; snapshot the program itself.
    let program = &listing[listing.find(" line ").unwrap()..];
    insta::assert_snapshot!(program);
}

#[test]
fn policy_errors_write_nothing() {
    let src = tmp("bad.claw");
    std::fs::write(&src, "policy p { default deny(EPERM); always { allow opnat; } }").unwrap();
    let out = tmp("bad.bin");
    let _ = std::fs::remove_file(&out);
    let o = clawc(&["compile", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("E0105"));
    assert!(!out.exists(), "no artifact for a policy with errors");
}

#[test]
fn choosing_a_policy() {
    let out = tmp("profile.bin");
    let o = clawc(&["compile", "std::profiles", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("choose one with --policy (offline, readonly_workspace, coding_agent)"),
        "{}",
        text(&o)
    );
    let o = clawc(&[
        "compile",
        "std::profiles",
        "--policy",
        "coding_agent",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = clawc(&[
        "compile",
        "std::profiles",
        "--policy",
        "nope",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn disasm_refuses_bad_artifacts() {
    let junk = tmp("junk.bin");
    std::fs::write(&junk, b"not an artifact").unwrap();
    let o = clawc(&["disasm", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad magic"));

    let good = tmp("good.bin");
    clawc(&[
        "compile",
        &repo("examples/coding_agent.claw"),
        "-o",
        good.to_str().unwrap(),
    ]);
    let mut bytes = std::fs::read(&good).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let bad = tmp("flipped.bin");
    std::fs::write(&bad, &bytes).unwrap();
    let o = clawc(&["disasm", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("checksum mismatch"), "{}", text(&o));
    bytes.truncate(100);
    std::fs::write(&bad, &bytes).unwrap();
    assert!(text(&clawc(&["disasm", bad.to_str().unwrap()])).contains("truncated"));
}

#[test]
fn explain_shows_both_decisions() {
    let bin = tmp("explain.bin");
    let o = clawc(&[
        "compile",
        &repo("examples/coding_agent.claw"),
        "-o",
        bin.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let b = bin.to_str().unwrap();

    let o = clawc(&["explain", b, "--syscall", "ioctl", "--arg", "cmd=TIOCSTI"]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    assert!(
        t.contains("filter:   ERRNO(EACCES)") && t.contains("decided in the kernel"),
        "{t}"
    );
    assert!(t.contains("policy:   deny(EACCES) by rule at"), "{t}");

    let o = clawc(&[
        "explain",
        b,
        "--syscall",
        "openat",
        "--arg",
        "flags=O_RDONLY",
        "--path",
        "/w/src/lib.rs",
        "--env",
        "WORKSPACE=/w",
    ]);
    let t = text(&o);
    assert!(
        t.contains("USER_NOTIF") && t.contains("the monitor decides"),
        "{t}"
    );
    assert!(t.contains("policy:   allow by rule at"), "{t}");

    let o = clawc(&[
        "explain",
        b,
        "--syscall",
        "openat",
        "--path",
        "/home/u/.ssh/id_ed25519",
        "--env",
        "HOME=/home/u",
        "--env",
        "WORKSPACE=/home/u",
    ]);
    let t = text(&o);
    assert!(t.contains("then:     the sandbox moves to `tainted`"), "{t}");

    let o = clawc(&[
        "explain",
        b,
        "--state",
        "tainted",
        "--syscall",
        "connect",
        "--addr",
        "tcp:1.2.3.4:443",
    ]);
    assert!(
        text(&o).contains("policy:   deny(EPERM) by the default"),
        "{}",
        text(&o)
    );
    let o = clawc(&[
        "explain",
        b,
        "--state",
        "clean",
        "--syscall",
        "connect",
        "--addr",
        "tcp:1.2.3.4:443",
    ]);
    assert!(text(&o).contains("policy:   allow by rule"), "{}", text(&o));

    // A policy source works too, compiled on the fly.
    let o = clawc(&[
        "explain",
        &repo("examples/coding_agent.claw"),
        "--syscall",
        "ptrace",
    ]);
    assert!(text(&o).contains("KILL_PROCESS"), "{}", text(&o));

    // Bad questions are usage errors.
    assert_eq!(
        clawc(&["explain", b, "--syscall", "frobnicate"]).status.code(),
        Some(2)
    );
    assert_eq!(
        clawc(&["explain", b, "--syscall", "getpid", "--state", "nope"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        clawc(&["explain", b, "--syscall", "socket", "--arg", "domain=2"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn compile_refuses_an_unproved_policy_unless_asked() {
    let src = tmp("leaky.claw");
    std::fs::write(
        &src,
        "use std::paths::secrets;\npolicy leaky {\n  let ws = path \"$WORKSPACE/**\";\n  default deny(EPERM);\n  \
         always { allow read ws; allow connect endpoint tcp \"*\" port 443; }\n  state clean initial { on read secrets -> t; }\n  \
         state t { }\n  assert never connect after read secrets;\n}\n",
    )
    .unwrap();
    let out = tmp("leaky.bin");
    let _ = std::fs::remove_file(&out);
    let o = clawc(&[
        "compile",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("E0401") && text(&o).contains("counterexample"),
        "{}",
        text(&o)
    );
    assert!(!out.exists(), "an unproved policy is not written");

    let o = clawc(&[
        "compile",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--allow-unverified",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let d = String::from_utf8_lossy(&clawc(&["disasm", out.to_str().unwrap()]).stdout).into_owned();
    assert!(
        d.contains("FAILED   assert never connect after read secrets"),
        "the artifact records the failure:\n{d}"
    );
    assert!(
        d.contains("proved   the compiled filter implements the policy in every state"),
        "{d}"
    );
}

#[test]
fn compile_records_proofs() {
    let out = tmp("proved.bin");
    let o = clawc(&[
        "compile",
        &repo("examples/coding_agent.claw"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("proved: assert never connect after read secrets"),
        "{}",
        text(&o)
    );
    let d = String::from_utf8_lossy(&clawc(&["disasm", out.to_str().unwrap()]).stdout).into_owned();
    assert!(
        d.contains("proved   assert never connect after read secrets"),
        "{d}"
    );
    assert!(d.contains("4 of 4 proved"), "{d}");
}

#[test]
fn explain_answers_in_json_and_in_batches_with_the_file_system_notes() {
    let bin = tmp("explain-json.bin");
    let o = clawc(&[
        "compile",
        &repo("examples/readonly_reviewer.claw"),
        "-o",
        bin.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let b = bin.to_str().unwrap();
    // O_WRONLY|O_CREAT|O_APPEND of the report: creating is a write (refused),
    // appending to the existing report is allowed.
    let o = clawc(&[
        "explain",
        b,
        "--syscall",
        "openat",
        "--arg",
        "flags=O_WRONLY|O_CREAT|O_APPEND",
        "--path",
        "/w/.review/report.md",
        "--env",
        "WORKSPACE=/w",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision"], "deny(EACCES)", "{v}");
    assert_eq!(v["errno"], 13, "{v}");
    assert_eq!(v["decided_by"], "monitor", "{v}");
    assert_eq!(v["if_exists"]["allowed"], true, "{v}");
    assert_eq!(v["if_exists"]["verbs"], serde_json::json!(["append"]), "{v}");
    assert_eq!(
        v["paths"][0]["if_missing"], "kernel",
        "the workspace is visible: {v}"
    );

    // A batch: rename decided on both paths; a secret is hidden; a bad question
    // gets an error line, the others still answered.
    let batch = tmp("questions.jsonl");
    std::fs::write(
        &batch,
        concat!(
            r#"{"syscall":"rename","paths":["/w/.review/report.md","/w/x"]}"#,
            "\n",
            r#"{"syscall":"stat","paths":["/root/.ssh/nothing-here"],"env":["HOME=/root"]}"#,
            "\n",
            r#"{"syscall":"no_such_call"}"#,
            "\n",
        ),
    )
    .unwrap();
    let o = clawc(&[
        "explain",
        b,
        "--batch",
        batch.to_str().unwrap(),
        "--env",
        "WORKSPACE=/w",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "{}", text(&o));
    assert_eq!(
        answers[0]["accesses"].as_array().unwrap().len(),
        4,
        "read and write of both names (the new name is read too): {}",
        answers[0]
    );
    assert_eq!(
        answers[0]["accesses"][0],
        serde_json::json!({"verb": "read", "path": "/w/.review/report.md"}),
        "{}",
        answers[0]
    );
    assert_eq!(answers[0]["allowed"], false, "{}", answers[0]);
    assert!(answers[1]["decision"].is_string(), "{}", answers[1]);
    assert!(
        answers[2]["error"].as_str().unwrap().contains("no_such_call"),
        "{}",
        answers[2]
    );
}

/// A policy the isolated plan cannot carry compiles to mediated mode with a note
/// naming each rule that forced it; `--require-isolation` makes that an error
/// and writes nothing.
#[test]
fn the_isolation_note_names_the_rules_and_require_isolation_refuses() {
    let out = tmp("mediated.bin");
    let ex = repo("examples/coding_agent.claw");
    let o = clawc(&["compile", &ex, "-o", out.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("note: mediated mode only:"), "{t}");
    assert!(
        t.contains("  - `write` and `append` differ on $WORKSPACE/.agent/log/**"),
        "{t}"
    );
    assert!(t.contains("mediated mode only ->"), "{t}");
    let d = clawc(&["disasm", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&d.stdout).contains("isolated:  none (mediated mode only"));

    let strict = tmp("strict.bin");
    let o = clawc(&[
        "compile",
        &ex,
        "-o",
        strict.to_str().unwrap(),
        "--require-isolation",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("error: mediated mode only:"), "{t}");
    assert!(t.contains("--require-isolation"), "{t}");
    assert!(!strict.exists());
}
