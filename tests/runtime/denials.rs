//! Every refusal visible when asked for (`--log-denials`, `--audit-log`): calls the
//! kernel decides (through the proved logging filter), with the rule, its text
//! when it is in the standard library, a hint, the state; transitions; and the
//! syscall a `kill` ended the command for. Each run also shows that the answer
//! the command got is the one it gets without logging.

mod common;
use common::*;

/// A policy with no `ioctl` rule at all (the default refuses it, in the kernel).
const NO_IOCTL: &str = "use std::groups::*;\n\
use std::paths::*;\n\
policy no_ioctl {\n\
    let workspace = path \"$WORKSPACE/**\";\n\
    default deny(EPERM);\n\
    always {\n\
        allow memory, time, signals, process_basic, identity, process, io, ipc;\n\
        allow read, visible, exec system_ro;\n\
        allow read, visible proc_info;\n\
        allow read [root, dev_config];\n\
        allow read, write, append, visible devices;\n\
        allow read, write, append, visible, exec workspace;\n\
        kill dangerous;\n\
    }\n\
}\n";

fn no_ioctl(f: &Fixture) -> String {
    let src = f.root.join("no_ioctl.claw");
    std::fs::write(&src, NO_IOCTL).unwrap();
    src.display().to_string()
}

#[test]
fn a_call_the_kernel_refuses_is_reported_with_its_rule_and_a_hint() {
    clawc_is_built();
    let f = Fixture::new("kdeny").with_attack();
    let policy = no_ioctl(&f);
    let log = f.root.join("audit.jsonl");
    let o = f.run(
        &[
            "--policy",
            &policy,
            "--log-denials",
            "--audit-log",
            log.to_str().unwrap(),
        ],
        &["./attack", "truncation"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    // It ran, and got the policy's answer.
    assert!(stdout(&o).contains("ioctl TIOCSTI: errno=1 "), "{}", show(&o));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| {
            // 0x5412 = TIOCSTI, in the registers as decided.
            l.starts_with("clawless: deny(EPERM) ioctl")
                && l.contains("\"decided_by\":\"kernel\"")
                && l.contains(&format!("[0,{},", 0x5412))
        })
        .unwrap_or_else(|| panic!("no kernel denial reported\n{}", show(&o)));
    assert!(line.contains("rule default"), "{line}");
    assert!(line.contains("hint: add `allow ioctl;`"), "{line}");
    let text = std::fs::read_to_string(&log).unwrap();
    let rec: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["syscall"] == "ioctl" && r["args"]["decided_by"] == "kernel")
        .unwrap_or_else(|| panic!("no kernel record in the audit log\n{text}"));
    assert_eq!(rec["decision"], "deny(EPERM)");
    assert_eq!(rec["rule"], "default");
    assert_eq!(rec["state_before"], "");

    // Without logging: the policy's own filter, the same answer, nothing said.
    let o = f.run(&["--policy", &policy], &["./attack", "truncation"]);
    assert!(stdout(&o).contains("ioctl TIOCSTI: errno=1 "), "{}", show(&o));
    assert!(!stderr(&o).contains("deny(EPERM) ioctl"), "{}", show(&o));
}

#[test]
fn a_stdlib_rule_is_shown_with_its_text() {
    let f = Fixture::new("kstd").with_attack();
    // The default profile refuses TIOCSTI by a rule of std/profiles.claw.
    let o = f.run(&["--log-denials"], &["./attack", "truncation"]);
    assert!(stdout(&o).contains("ioctl TIOCSTI: errno=13 "), "{}", show(&o));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.starts_with("clawless: deny(EACCES) ioctl"))
        .unwrap_or_else(|| panic!("no denial reported\n{}", show(&o)));
    assert!(
        line.contains("rule std/profiles.claw:") && line.contains("`deny(EACCES) ioctl(cmd == TIOCSTI);"),
        "{line}"
    );
    assert!(line.contains("in state clean"), "{line}");
    assert!(line.contains("narrow or remove it to allow `ioctl`"), "{line}");
}

#[test]
fn a_missing_send_rule_is_named_in_the_hint() {
    let f = Fixture::new("ksend").with_attack();
    let o = f.run(&["--log-denials"], &["./attack", "udp", "10.1.2.3", "9", "HI"]);
    assert!(stdout(&o).contains("udp sendto: errno=1 "), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("clawless: deny(EPERM) sendto {\"addr\":\"udp 10.1.2.3:9\"} in state clean")
            && err.contains("hint: add `allow send endpoint udp \"10.1.2.3\" port 9;`"),
        "{err}"
    );
}

#[test]
fn a_kill_names_the_syscall_and_the_rule() {
    let f = Fixture::new("kkill").with_attack();
    for extra in [&["--log-denials"][..], &[]] {
        let o = f.run(extra, &["./attack", "ptrace"]);
        assert_eq!(code(&o), 128 + libc::SIGSYS, "as the kernel's kill\n{}", show(&o));
        assert!(!stdout(&o).contains("ptrace(TRACEME):"), "{}", show(&o));
        let err = stderr(&o);
        if extra.is_empty() {
            assert!(err.contains("killed by SIGSYS"), "{err}");
        } else {
            assert!(
                err.contains("clawless: kill ptrace") && err.contains("\"decided_by\":\"kernel\""),
                "the call itself is reported\n{err}"
            );
            assert!(
                err.contains("clawless: killed by SIGSYS: the policy kills `ptrace`")
                    && err.contains("`kill dangerous;`"),
                "{err}"
            );
        }
    }
    // A foreign architecture's call: the filter's architecture check.
    let o = f.run(&["--log-denials"], &["./attack", "int80"]);
    assert_eq!(code(&o), 128 + libc::SIGSYS, "{}", show(&o));
    assert!(!stdout(&o).contains("int80 getpid"), "{}", show(&o));
    assert!(
        stderr(&o).contains("the filter's architecture check"),
        "{}",
        show(&o)
    );
}

#[test]
fn transitions_are_printed() {
    let f = Fixture::new("ktrans");
    std::fs::write(f.ws.join(".env"), "TOKEN=x\n").unwrap();
    let o = f.run(&["--log-denials"], &["/bin/cat", ".env"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("TOKEN=x"), "{}", show(&o));
    let want = format!("clawless: clean -> tainted: read {} (pid ", f.path(".env"));
    assert!(stderr(&o).contains(&want), "{want}\n{}", show(&o));
    // Without --log-denials nothing is said.
    let o = f.run(&[], &["/bin/cat", ".env"]);
    assert!(!stderr(&o).contains("clean -> tainted"), "{}", show(&o));
}
