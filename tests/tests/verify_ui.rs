//! Verification diagnostics: each `tests/verify/*.claw` declares the codes that
//! `clawc verify` reports for it; the test asserts exactly those codes and
//! snapshots the rendered counterexamples.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn expected_codes(text: &str) -> BTreeSet<String> {
    let line = text.lines().next().unwrap_or("");
    let list = line
        .strip_prefix("// expect:")
        .expect("first line must be `// expect: CODE...`");
    list.split_whitespace().map(str::to_string).collect()
}

fn clawc() -> String {
    // The workspace's clawc, built by the same `cargo test` run.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("clawc");
        if p.exists() {
            return p.to_string_lossy().into_owned();
        }
    }
    panic!("clawc binary not built; run `cargo build -p clawc` first");
}

#[test]
fn verify_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("verify");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut mismatches = Vec::new();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("../snapshots/verify");
    let _guard = settings.bind_to_scope();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut cmd = Command::new(clawc());
        cmd.current_dir(&dir).args(["verify", &name, "--color", "never"]);
        if name.starts_with("E0402") {
            cmd.env("CLAW_VERIFY_TIMEOUT_MS", "1");
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let codes: BTreeSet<String> = stderr
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix('['))
            .filter_map(|l| l.split(']').next())
            .map(str::to_string)
            .collect();
        let want = expected_codes(&text);
        if codes != want {
            mismatches.push(format!("{name}: expected {want:?}, got {codes:?}\n{stderr}"));
        }
        let exit = out.status.code();
        let want_exit = if want.contains("E0401") {
            Some(1)
        } else if want.contains("E0402") {
            Some(2)
        } else {
            Some(0)
        };
        if exit != want_exit {
            mismatches.push(format!("{name}: exit {exit:?}, expected {want_exit:?}\n{stderr}"));
        }
        // Timings vary; snapshot everything else.
        let stable: String = stderr
            .lines()
            .map(|l| match l.rfind(" (") {
                Some(i) if l.ends_with(" s)") || l.contains(" s): ") => format!("{}{}", &l[..i], ""),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(name.clone(), stable);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
