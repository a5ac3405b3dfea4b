//! `clawless learn` on real workloads: a make build, git, a Python script and a
//! cargo build. Each learns a draft, which must check and verify with the real
//! `clawc`, and the workload must then succeed under the draft from a clean start.
//! And what stays refused while learning: `dangerous` is killed, and said.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn clawc() -> std::path::PathBuf {
    Path::new(clawless()).with_file_name("clawc")
}

/// Learns `cmd` in the fixture's workspace; checks and verifies the draft;
/// returns it.
fn learn(f: &Fixture, cmd: &[&str], path_env: &str) -> String {
    clawc_is_built();
    let draft = f.root.join("draft.claw");
    let mut c = Command::new(clawless());
    c.arg("learn")
        .arg("-o")
        .arg(&draft)
        .arg("--workspace")
        .arg(&f.ws)
        .arg("--")
        .args(cmd)
        .current_dir(&f.ws)
        .env("HOME", &f.home)
        .env("PATH", path_env)
        .stdin(std::process::Stdio::null());
    let o = run_with_deadline(c, Duration::from_secs(300));
    assert_eq!(code(&o), 0, "the command runs while learning\n{}", show(&o));
    assert!(
        stderr(&o).contains("learning: everything is allowed"),
        "{}",
        show(&o)
    );
    let text = std::fs::read_to_string(&draft).unwrap();
    for sub in ["check", "verify"] {
        let mut c = Command::new(clawc());
        c.arg(sub).arg(&draft);
        let o = run_with_deadline(c, Duration::from_secs(300));
        assert_eq!(code(&o), 0, "clawc {sub} of the draft\n{text}\n{}", show(&o));
    }
    text
}

/// Runs `cmd` under the draft.
fn under_draft(f: &Fixture, cmd: &[&str], path_env: &str) -> std::process::Output {
    let draft = f.root.join("draft.claw");
    let mut c = f.command(&["--policy", draft.to_str().unwrap(), "--log-denials"], cmd);
    c.env("PATH", path_env);
    run_with_deadline(c, Duration::from_secs(300))
}

const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[test]
fn a_make_build_learns_a_policy_it_then_runs_under() {
    let f = Fixture::new("learn-make");
    std::fs::write(f.ws.join("a.c"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(f.ws.join("Makefile"), "a: a.c\n\tcc -o a a.c\n").unwrap();
    let d = learn(&f, &["make"], PATH);
    assert!(d.contains("system_ro") && d.contains("workspace;"), "{d}");
    assert!(d.contains("allow memory"), "syscall groups\n{d}");
    assert!(
        d.contains("on read secrets -> tainted;"),
        "the default's taint is kept\n{d}"
    );
    std::fs::remove_file(f.ws.join("a")).unwrap();
    let o = under_draft(&f, &["make"], PATH);
    assert_eq!(code(&o), 0, "{d}\n{}", show(&o));
    assert!(f.ws.join("a").is_file(), "{}", show(&o));
}

#[test]
fn git_learns_a_policy_it_then_runs_under() {
    let f = Fixture::new("learn-git");
    let script = "git init -q . && echo hi > f && git add f && \
                  git -c user.email=a@b -c user.name=n commit -q -m f && git log --oneline | wc -l";
    std::fs::write(f.ws.join("g.sh"), script).unwrap();
    learn(&f, &["/bin/sh", "g.sh"], PATH);
    std::fs::remove_dir_all(f.ws.join(".git")).unwrap();
    let o = under_draft(&f, &["/bin/sh", "g.sh"], PATH);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(stdout(&o).trim(), "1", "{}", show(&o));
}

#[test]
fn a_python_script_that_reads_a_secret_is_called_out() {
    let f = Fixture::new("learn-py");
    std::fs::write(f.ws.join(".env"), "TOKEN=x\n").unwrap();
    std::fs::write(
        f.ws.join("s.py"),
        "import json, os\nopen('out.json', 'w').write(json.dumps({'env': open('.env').read()}))\nprint('done')\n",
    )
    .unwrap();
    let d = learn(&f, &["/usr/bin/python3", "s.py"], PATH);
    assert!(
        d.contains(&format!("// read a secret: {}", f.path(".env"))),
        "the secret is called out\n{d}"
    );
    std::fs::remove_file(f.ws.join("out.json")).unwrap();
    let o = under_draft(&f, &["/usr/bin/python3", "s.py"], PATH);
    assert_eq!(code(&o), 0, "{d}\n{}", show(&o));
    assert!(stdout(&o).contains("done"), "{}", show(&o));
    assert!(f.ws.join("out.json").is_file());
}

#[test]
fn a_cargo_build_learns_a_policy_it_then_runs_under() {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cargo_bin = format!("{home}/.cargo/bin");
    if !Path::new(&cargo_bin).join("cargo").is_file() {
        panic!("cargo is needed in {cargo_bin} for this test");
    }
    let f = Fixture::new("learn-cargo");
    let path = format!("{cargo_bin}:{PATH}");
    // A crate of its own (not a member of this workspace), with no dependencies.
    std::fs::create_dir_all(f.ws.join("src")).unwrap();
    std::fs::write(
        f.ws.join("Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(f.ws.join("src/main.rs"), "fn main() { println!(\"hi\"); }\n").unwrap();
    // The real toolchain lives in the real home; the fixture's HOME is empty.
    let cargo = format!("{cargo_bin}/cargo");
    let cmd = [
        "/usr/bin/env".to_string(),
        format!("CARGO_HOME={home}/.cargo"),
        format!("RUSTUP_HOME={home}/.rustup"),
        cargo,
        "build".into(),
        "--offline".into(),
    ];
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let d = learn(&f, &cmd, &path);
    std::fs::remove_dir_all(f.ws.join("target")).unwrap();
    let o = under_draft(&f, &cmd, &path);
    assert_eq!(code(&o), 0, "{d}\n{}", show(&o));
    assert!(f.ws.join("target/debug/hello").is_file(), "{}", show(&o));
}

#[test]
fn dangerous_calls_stay_killed_while_learning_and_it_is_said() {
    clawc_is_built();
    let f = Fixture::new("learn-kill").with_attack();
    let draft = f.root.join("draft.claw");
    let mut c = Command::new(clawless());
    c.args(["learn", "-o", draft.to_str().unwrap(), "--workspace"])
        .arg(&f.ws)
        .args(["--", "./attack", "ptrace"])
        .current_dir(&f.ws)
        .env("HOME", &f.home);
    let o = run_with_deadline(c, Duration::from_secs(120));
    assert_eq!(code(&o), 128 + libc::SIGSYS, "{}", show(&o));
    assert!(!stdout(&o).contains("ptrace(TRACEME):"), "{}", show(&o));
    assert!(
        stderr(&o).contains("except std::groups::dangerous, which is still killed"),
        "{}",
        show(&o)
    );
    let d = std::fs::read_to_string(&draft).unwrap();
    assert!(d.contains("kill dangerous;"), "{d}");
}
