//! Drives the real `clawc` binary: exit codes, output streams, JSON, colour.

use std::process::{Command, Output};

fn clawc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clawc"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run clawc")
}

fn write_tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("clawc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const GOOD: &str = "policy p { default deny(EPERM); always { allow getpid; } }\n";
const BAD: &str =
    "policy p {\n  let workspace = path \"$WORKSPACE/**\";\n  default deny(EPERM);\n  always { allow read workspce; }\n}\n";

#[test]
fn clean_policy_exits_zero() {
    let f = write_tmp("good.claw", GOOD);
    let out = clawc(&["check", &f]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ok: 1 policy checked"));
}

#[test]
fn errors_exit_one_with_code_span_and_hint() {
    let f = write_tmp("bad.claw", BAD);
    let out = clawc(&["check", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[E0101]"), "{err}");
    assert!(err.contains("bad.claw:4:"), "{err}");
    assert!(err.contains("Help:"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no colour when stderr is not a terminal: {err:?}"
    );
}

#[test]
fn colour_can_be_forced() {
    let f = write_tmp("bad-colour.claw", BAD);
    let out = clawc(&["check", "--color", "always", &f]);
    assert!(String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn json_diagnostics_for_tools() {
    let f = write_tmp("bad-json.claw", BAD);
    let out = clawc(&["check", "--format", "json", &f]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let all = v.as_array().expect("an array of diagnostics");
    let d = all.iter().find(|d| d["code"] == "E0101").expect("the E0101");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["span"]["line"], 4);
    assert_eq!(d["span"]["column"], 23);
    assert_eq!(d["hint"], "did you mean `workspace`?");
    assert!(d["file"].as_str().unwrap().ends_with("bad-json.claw"));
}

#[test]
fn several_files_and_missing_file() {
    let good = write_tmp("good2.claw", GOOD);
    let out = clawc(&["check", &good, "/nonexistent/policy.claw"]);
    assert_eq!(out.status.code(), Some(2), "I/O errors exit 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read `/nonexistent/policy.claw`"));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(clawc(&["check"]).status.code(), Some(2));
    assert_eq!(clawc(&["frobnicate"]).status.code(), Some(2));
    let f = write_tmp("good3.claw", GOOD);
    assert_eq!(clawc(&["check", "--target", "mips", &f]).status.code(), Some(2));
    assert_eq!(clawc(&["--help"]).status.code(), Some(0));
}

#[test]
fn invalid_utf8_is_an_io_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("clawc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("binary.claw");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    let out = clawc(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8"));
}

#[test]
fn standard_profiles_check_on_both_targets() {
    for target in ["x86_64", "aarch64"] {
        let out = clawc(&["check", "--target", target, "std::profiles"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("3 policies"));
    }
    assert_eq!(clawc(&["check", "std::nope"]).status.code(), Some(2));
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::Read;
    // A listing far larger than a pipe's buffer, so writes fail once we hang up.
    let rules: Vec<String> = (0..1200).map(|n| format!("allow fcntl(arg1 == {n});")).collect();
    let policy = write_tmp(
        "big.claw",
        &format!(
            "policy big {{ default deny(EPERM); always {{ {} }} }}",
            rules.join(" ")
        ),
    );
    let bin = std::env::temp_dir().join(format!("clawc-pipe-{}.bin", std::process::id()));
    let o = clawc(&["compile", &policy, "-o", bin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let listing = clawc(&["disasm", bin.to_str().unwrap()]).stdout;
    assert!(
        listing.len() > 1 << 17,
        "listing of {} bytes is too small for this test",
        listing.len()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_clawc"))
        .args(["disasm", bin.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then hang up, as `| head -c1` would.
    let mut one = [0u8; 1];
    child.stdout.as_mut().unwrap().read_exact(&mut one).unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.as_mut().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        status.code() == Some(0)
            || std::os::unix::process::ExitStatusExt::signal(&status) == Some(libc::SIGPIPE)
    );
}

/// `clawc fmt` rewrites a file in place, keeps its comments and permissions, and
/// then leaves it alone; `--check` lists what is not formatted and changes nothing.
#[test]
fn fmt_formats_in_place_and_check_reports() {
    use std::os::unix::fs::PermissionsExt;
    let messy = "// keep me\npolicy p{default deny(EPERM);always{allow getpid;   // and me\n}}\n";
    let tidy = "// keep me\npolicy p {\n    default deny(EPERM);\n    always {\n        allow getpid;   // and me\n    }\n}\n";
    let f = write_tmp("fmt-messy.claw", messy);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();

    let out = clawc(&["fmt", "--check", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), f);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        messy,
        "--check changes nothing"
    );

    let out = clawc(&["fmt", &f]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), tidy);
    let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "permissions kept");

    let out = clawc(&["fmt", "--check", &f]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

/// A file that does not parse is shown with its diagnostics and left untouched;
/// standard input is formatted to standard output.
#[test]
fn fmt_refuses_broken_files_and_reads_stdin() {
    let broken = "policy p { default deny(EPERM) always { allow getpid; } }\n";
    let f = write_tmp("fmt-broken.claw", broken);
    let out = clawc(&["fmt", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[E0") && err.contains("does not parse"), "{err}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), broken);

    let out = clawc(&["fmt", "/nonexistent/x.claw"]);
    assert_eq!(out.status.code(), Some(2));
    let out = clawc(&["fmt", "std::profiles"]);
    assert_eq!(out.status.code(), Some(2));

    let mut child = Command::new(env!("CARGO_BIN_EXE_clawc"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(GOOD.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "policy p {\n    default deny(EPERM);\n    always {\n        allow getpid;\n    }\n}\n"
    );
}

/// `std::profiles::coding_agent` (as the module's header recommends) names the
/// policy of a standard module, for `explain`, `compile` and `verify` alike.
#[test]
fn a_standard_policy_is_named_module_then_policy() {
    let out = clawc(&[
        "explain",
        "std::profiles::coding_agent",
        "--syscall",
        "openat",
        "--path",
        "/etc/passwd",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("allow by rule at std/profiles.claw"), "{text}");
    let out = clawc(&["compile", "std::profiles::coding_agent", "--policy", "offline"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("names the policy `coding_agent`"), "{err}");
    let out = clawc(&["compile", "std::profiles::nosuch", "-o", "/dev/null"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("no policy `nosuch`"), "{err}");
}
