//! `clawless exec` as a user meets it: exit statuses, refusals before anything
//! runs, policies from source, the audit log, signals, and a monitor that keeps up
//! with many processes at once.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

fn default_artifact(arch: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("default/coding_agent.{arch}.bin"));
    std::fs::read(p).unwrap()
}

#[test]
fn exit_status_is_the_commands_own() {
    let f = Fixture::new("exit");
    assert_eq!(code(&f.sh("exit 7")), 7);
    assert_eq!(code(&f.sh("true")), 0);
}

#[test]
fn a_command_killed_by_a_signal_exits_128_plus_the_signal() {
    let f = Fixture::new("killed");
    let o = f.sh("kill -TERM $$; sleep 5");
    assert_eq!(code(&o), 128 + libc::SIGTERM, "{}", show(&o));
}

#[test]
fn a_command_that_cannot_start_gets_a_clear_error() {
    let f = Fixture::new("nostart");
    let o = f.run(&[], &["definitely-not-a-command-xyz"]);
    assert_eq!(code(&o), 127, "{}", show(&o));
    assert!(
        stderr(&o).contains("definitely-not-a-command-xyz: command not found"),
        "{}",
        show(&o)
    );

    std::fs::write(f.ws.join("notexec.sh"), "#!/bin/sh\necho hi\n").unwrap();
    let o = f.run(&[], &["./notexec.sh"]);
    assert_eq!(code(&o), 126, "{}", show(&o));
    assert!(stderr(&o).contains("not an executable file"), "{}", show(&o));

    // Found and executable, but the policy does not let it run (no rule allows exec in /tmp).
    let tmp = format!("/tmp/claw-cli-true-{}", std::process::id());
    std::fs::copy("/bin/true", &tmp).unwrap();
    let o = f.run(&[], &[&tmp]);
    let _ = std::fs::remove_file(&tmp);
    assert_eq!(code(&o), 126, "{}", show(&o));
    assert!(stderr(&o).contains("refused by the policy"), "{}", show(&o));
}

#[test]
fn corrupt_truncated_or_foreign_artifacts_are_refused_before_anything_runs() {
    let f = Fixture::new("corrupt");
    let good = default_artifact(std::env::consts::ARCH);
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let foreign = default_artifact(if cfg!(target_arch = "x86_64") {
        "aarch64"
    } else {
        "x86_64"
    });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("flipped", flipped),
        ("truncated", good[..good.len() - 9].to_vec()),
        ("empty", Vec::new()),
        ("text", b"policy p { default allow; }".to_vec()),
        ("foreign", foreign),
    ];
    for (name, bytes) in cases {
        let art = f.root.join(format!("{name}.bin"));
        std::fs::write(&art, bytes).unwrap();
        let marker = f.ws.join(format!("ran-{name}"));
        let o = f.run(
            &["--policy", art.to_str().unwrap()],
            &["/bin/sh", "-c", &format!("touch {}", marker.display())],
        );
        assert_eq!(code(&o), 125, "{name}\n{}", show(&o));
        assert!(stderr(&o).contains("refusing"), "{name}\n{}", show(&o));
        assert!(!marker.exists(), "{name}: the command ran");
    }
    // The good artifact, as a file, runs.
    let art = f.root.join("good.bin");
    std::fs::write(&art, &good).unwrap();
    let o = f.run(&["--policy", art.to_str().unwrap()], &["/bin/true"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
}

#[test]
fn a_claw_source_is_compiled_and_proved_on_the_fly() {
    clawc_is_built();
    let f = Fixture::new("source");
    std::fs::write(f.ws.join("forbidden.txt"), "no\n").unwrap();
    let src = f.root.join("mine.claw");
    std::fs::write(
        &src,
        "use std::profiles::coding_agent;\n\
         policy mine extends coding_agent {\n\
         \x20   let forbidden = path \"$WORKSPACE/forbidden.txt\";\n\
         \x20   always { deny(EACCES) read forbidden; }\n\
         }\n",
    )
    .unwrap();
    let o = f.run(
        &["--policy", src.to_str().unwrap()],
        &["/bin/sh", "-c", "cat ok.txt; cat forbidden.txt; echo rc=$?"],
    );
    assert!(stdout(&o).contains("ordinary workspace file"), "{}", show(&o));
    assert!(stdout(&o).contains("rc=1"), "{}", show(&o));
    // Where the kernel performs opens, the rule is a refusing tripwire, which
    // answers fanotify's EPERM (it takes no EACCES: docs/threat-model.md).
    let want = if kernel_opens() {
        "Operation not permitted"
    } else {
        "Permission denied"
    };
    assert!(
        stderr(&o).contains(want),
        "EACCES, as the policy says\n{}",
        show(&o)
    );
    assert!(stderr(&o).contains("proved"), "the proofs ran\n{}", show(&o));

    // A broken policy: diagnostics with a code, and nothing runs.
    std::fs::write(
        &src,
        "policy broken { default allow; always { allow frobnicate; } }\n",
    )
    .unwrap();
    let o = f.run(
        &["--policy", src.to_str().unwrap()],
        &["/bin/sh", "-c", "touch ran"],
    );
    assert_eq!(code(&o), 125, "{}", show(&o));
    assert!(stderr(&o).contains("[E0"), "a coded diagnostic\n{}", show(&o));
    assert!(!f.ws.join("ran").exists());
}

#[test]
fn path_variables_in_system_directories_are_refused() {
    let f = Fixture::new("sysdir");
    let mut cmd = std::process::Command::new(clawless());
    cmd.args(["exec", "--workspace", "/usr/share", "--", "/bin/true"]);
    let o = run_with_deadline(cmd, Duration::from_secs(30));
    assert_eq!(code(&o), 125, "{}", show(&o));
    assert!(
        stderr(&o).contains("WORKSPACE=/usr/share is inside /usr"),
        "{}",
        show(&o)
    );
    drop(f);
}

#[test]
fn the_audit_log_records_decisions_rules_and_transitions() {
    let f = Fixture::new("audit");
    std::fs::write(f.ws.join(".env"), "TOKEN=x\n").unwrap();
    let log = f.root.join("audit.jsonl");
    // Each read twice, by absolute path (decided as written, and remembered):
    // every one is still recorded, and the second read of .env is in `tainted`.
    let (ok, env) = (f.path("ok.txt"), f.path(".env"));
    let script = format!(
        "cat {ok} {ok} >/dev/null; cat {env} >/dev/null; cat {env} >/dev/null; cat {} 2>/dev/null; true",
        f.secret.display()
    );
    let o = f.run(
        &["--audit-log", log.to_str().unwrap()],
        &["/bin/sh", "-c", &script],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(records.len() > 10, "{text}");
    for r in &records {
        for key in [
            "time",
            "pid",
            "tid",
            "syscall",
            "args",
            "decision",
            "rule",
            "state_before",
            "state_after",
        ] {
            assert!(r.get(key).is_some(), "record lacks `{key}`: {r}");
        }
    }
    let path_is = |r: &serde_json::Value, p: &str| r["args"]["path"].as_str().is_some_and(|x| x.ends_with(p));
    let taint = records
        .iter()
        .find(|r| path_is(r, "/ws/.env"))
        .expect("the read of .env is recorded");
    assert_eq!(taint["decision"], "allow");
    assert_eq!(taint["state_before"], "clean");
    assert_eq!(taint["state_after"], "tainted");
    assert!(
        taint["rule"].as_str().unwrap().starts_with("std/profiles.claw:"),
        "{taint}"
    );
    assert_eq!(taint["args"]["verbs"][0], "read");
    let env_reads: Vec<_> = records.iter().filter(|r| path_is(r, "/ws/.env")).collect();
    assert_eq!(env_reads.len(), 2, "{text}");
    assert_eq!(env_reads[1]["state_before"], "tainted");
    assert_eq!(env_reads[1]["state_after"], "tainted");
    assert_eq!(
        records.iter().filter(|r| path_is(r, "/ws/ok.txt")).count(),
        2,
        "{text}"
    );
    let denied = records
        .iter()
        .find(|r| path_is(r, "/.ssh/id_test"))
        .expect("the denied read is recorded");
    assert_eq!(denied["decision"], "deny(EPERM)");
    assert_eq!(denied["rule"], "default");
    assert_eq!(denied["state_before"], "tainted");
}

#[test]
fn log_denials_explains_each_refusal_on_stderr() {
    let f = Fixture::new("denials");
    let o = f.run(&["--log-denials"], &["/bin/cat", f.secret.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("clawless: deny(EPERM) openat")
            && err.contains(".ssh/id_test")
            && err.contains("rule default"),
        "{err}"
    );
    assert!(!stdout(&o).contains("TOP-SECRET"));
}

#[test]
fn signals_sent_to_clawless_reach_the_command() {
    let f = Fixture::new("signals");
    let mut cmd = f.command(
        &[],
        &[
            "/bin/sh",
            "-c",
            "trap 'echo got-TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    out.read_line(&mut rest).unwrap();
    let o = wait_with_deadline(child, Duration::from_secs(30));
    assert_eq!(rest.trim(), "got-TERM", "{}", show(&o));
    assert_eq!(code(&o), 3, "{}", show(&o));
}

#[test]
fn many_processes_at_once_and_blocked_opens_do_not_stall_the_monitor() {
    let f = Fixture::new("parallel");
    // A FIFO open blocks in the monitor until a writer comes. Three of them tie
    // up more workers than wait for notifications (the watchdog must add more);
    // meanwhile eight shells open files as fast as they can. Then the FIFOs get
    // their writers.
    let script = "set -e
        for p in 1 2 3; do mkfifo pipe$p; (cat pipe$p > got$p.txt) & done
        for i in 1 2 3 4 5 6 7 8; do
          (for j in $(seq 1 40); do cat ok.txt > /dev/null; done; echo w$i >> done.txt) &
        done
        n=0
        while [ \"$(wc -l < done.txt 2>/dev/null || echo 0)\" -lt 8 ]; do
          n=$((n+1)); [ $n -lt 600 ] || { echo \"stalled: $(cat done.txt 2>&1)\" >&2; break; }
          sleep 0.05
        done
        for p in 1 2 3; do echo through-fifo-$p > pipe$p; done
        wait
        cat got1.txt got2.txt got3.txt; wc -l < done.txt";
    let o = f.sh(script);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    for p in 1..=3 {
        assert!(out.contains(&format!("through-fifo-{p}")), "{out}");
    }
    assert_eq!(out.lines().last().map(str::trim), Some("8"), "{out}");
}

#[test]
fn a_signal_during_a_call_the_monitor_performs_does_not_make_it_happen_twice() {
    // 2,000 O_EXCL creations, writes, renames and mkdirs while SIGALRM (with an
    // SA_RESTART handler) comes every 50 us. Were a call the monitor had
    // performed thrown away when the signal came, the restarted call would meet
    // its own work (EEXIST): before WAIT_KILLABLE_RECV about 800 of them did.
    let f = Fixture::new("sigstorm").with_attack();
    let o = f.run(&[], &["./attack", "signals-during-calls", "2000"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("signals="))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    let signals: u64 = line["signals=".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(signals > 100, "the storm did not run: {line}");
    assert!(line.ends_with("excl_failed=0 other_failed=0"), "{}", show(&o));
}

#[test]
fn a_signal_handler_still_breaks_off_an_open_that_waits() {
    // A FIFO open with no writer waits on a thread of the monitor; SIGALRM with a
    // handler must still end it (EINTR without SA_RESTART; with SA_RESTART the
    // open goes on and completes when the writer comes), as in the kernel.
    let f = Fixture::new("sigwait").with_attack();
    let o = f.run(&[], &["./attack", "signal-breaks-a-wait"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    let first = out
        .lines()
        .find(|l| l.starts_with("no-restart:"))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(first.contains("fd=-1 errno=Interrupted system call"), "{first}");
    assert!(first.ends_with("handler=1"), "{first}");
    let ms: u64 = first
        .split("after=")
        .nth(1)
        .unwrap()
        .split("ms")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((900..10_000).contains(&ms), "broken off after {ms} ms (alarm(1))");
    assert!(
        out.contains("restart: fd_ok=1 read=late handler=1"),
        "{}",
        show(&o)
    );
}

#[test]
fn the_embedded_default_policy_is_the_standard_profile_as_compiled_today() {
    clawc_is_built();
    let clawc = std::path::Path::new(clawless()).with_file_name("clawc");
    for arch in ["x86_64", "aarch64"] {
        let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("default-{arch}-{}.bin", std::process::id()));
        let st = std::process::Command::new(&clawc)
            .args([
                "compile",
                "std::profiles",
                "--policy",
                "coding_agent",
                "--target",
                arch,
                "-o",
            ])
            .arg(&out)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let fresh = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(
            fresh == default_artifact(arch),
            "runtime/default/coding_agent.{arch}.bin is stale: regenerate it with `clawc compile std::profiles --policy coding_agent --target {arch} -o runtime/default/coding_agent.{arch}.bin`"
        );
    }
}

#[test]
fn the_mode_is_said_once_and_can_be_forced() {
    let f = Fixture::new("modes");
    let script = "echo pid=$$";
    let run = |extra: &[&str], env: Option<&str>| {
        let mut c = f.command(extra, &["/bin/sh", "-c", script]);
        match env {
            Some(v) => c.env("CLAWLESS_MODE", v),
            None => c.env_remove("CLAWLESS_MODE"),
        };
        run_with_deadline(c, Duration::from_secs(60))
    };
    // Default here (root, namespaces available): isolated, the shell is pid 2.
    let o = run(&[], None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        stderr(&o).matches("clawless: isolated mode").count(),
        1,
        "{}",
        show(&o)
    );
    assert!(stdout(&o).contains("pid=2\n"), "{}", show(&o));
    for (extra, env) in [(&["--mode", "mediated"][..], None), (&[][..], Some("mediated"))] {
        let o = run(extra, env);
        assert_eq!(code(&o), 0, "{}", show(&o));
        assert_eq!(
            stderr(&o).matches("clawless: mediated mode").count(),
            1,
            "{}",
            show(&o)
        );
        assert!(!stdout(&o).contains("pid=2\n"), "{}", show(&o));
    }
    // The command line wins over the environment.
    let o = run(&["--mode", "isolated", "--require-isolation"], Some("mediated"));
    assert!(stderr(&o).contains("clawless: isolated mode"), "{}", show(&o));
    // Contradictions and unknown modes are refused before anything runs.
    let o = run(&["--mode", "mediated", "--require-isolation"], None);
    assert_eq!(code(&o), 125, "{}", show(&o));
    assert!(!stdout(&o).contains("pid="), "{}", show(&o));
    let o = run(&[], Some("jail"));
    assert_eq!(code(&o), 125, "{}", show(&o));
    assert!(stderr(&o).contains("CLAWLESS_MODE=jail"), "{}", show(&o));
}

#[test]
fn an_unprivileged_user_runs_isolated_in_a_user_namespace() {
    use std::os::unix::process::CommandExt;
    let f = Fixture::new("unpriv");
    for d in [&f.root, &f.ws, &f.home] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    let mut c = f.command(
        &[],
        &["/bin/sh", "-c", "id -u; echo pid=$$; echo made > mine.txt"],
    );
    c.env_remove("CLAWLESS_MODE").uid(65534).gid(65534);
    let o = run_with_deadline(c, Duration::from_secs(60));
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stderr(&o).contains("clawless: isolated mode (user, pid, mount and network namespaces"),
        "{}",
        show(&o)
    );
    assert!(stdout(&o).starts_with("65534\npid=2\n"), "{}", show(&o));
    // The file it made belongs to the user (the namespace maps it to itself).
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(f.ws.join("mine.txt")).unwrap().uid(), 65534);
}

#[test]
fn without_namespaces_it_falls_back_or_refuses_as_asked() {
    // A parent that makes creating a pid namespace fail (EPERM), as a platform
    // without them does.
    let f = Fixture::new("nons").with_attack();
    let run = |extra: &[&str]| {
        let mut c = std::process::Command::new(f.ws.join("attack"));
        c.arg("no-namespaces")
            .arg(clawless())
            .arg("exec")
            .args(extra)
            .arg("--workspace")
            .arg(&f.ws)
            .args(["--", "/bin/sh", "-c", "echo pid=$$"])
            .current_dir(&f.ws)
            .env("HOME", &f.home)
            .env_remove("CLAWLESS_MODE")
            .stdin(Stdio::null());
        run_with_deadline(c, Duration::from_secs(60))
    };
    let o = run(&[]);
    assert!(stdout(&o).contains("no-namespaces: filter on"), "{}", show(&o));
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stderr(&o).contains("clawless: mediated mode (cannot create pid, mount and network namespaces"),
        "the fallback is said, with why\n{}",
        show(&o)
    );
    assert!(
        stdout(&o).contains("pid=") && !stdout(&o).contains("pid=2\n"),
        "{}",
        show(&o)
    );
    for extra in [&["--require-isolation"][..], &["--mode", "isolated"][..]] {
        let o = run(extra);
        assert!(stdout(&o).contains("no-namespaces: filter on"), "{}", show(&o));
        assert_eq!(code(&o), 125, "{extra:?}\n{}", show(&o));
        assert!(
            stderr(&o).contains("isolation is required but not available"),
            "{}",
            show(&o)
        );
        assert!(!stdout(&o).contains("pid="), "nothing ran\n{}", show(&o));
    }
}

#[test]
fn the_command_gets_the_descriptor_limit_clawless_was_given() {
    use std::os::unix::process::CommandExt;
    // clawless raises its own soft limit to the hard one; the command must not
    // inherit that.
    let f = Fixture::new("nofile");
    let mut c = f.command(&[], &["/bin/sh", "-c", "ulimit -Sn; ulimit -Hn"]);
    // SAFETY: setrlimit is async-signal-safe; runs in the forked child.
    unsafe {
        c.pre_exec(|| {
            let mut lim: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
            lim.rlim_cur = 777.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let o = run_with_deadline(c, Duration::from_secs(60));
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).starts_with("777\n"), "{}", show(&o));
}

#[test]
fn a_file_size_limit_on_clawless_cannot_kill_the_monitor() {
    use std::os::unix::process::CommandExt;
    // What `prlimit64(getppid(), RLIMIT_FSIZE, 0)` did before the process filter
    // refused it: the monitor's next audit write exceeded the limit. SIGXFSZ is
    // ignored, the write fails, enforcement and the command go on.
    let f = Fixture::new("fsize");
    let audit = f.root.join("audit.jsonl");
    let mut c = f.command(
        &["--audit-log", audit.to_str().unwrap()],
        &["/bin/sh", "-c", "cat ok.txt; echo END"],
    );
    // SAFETY: setrlimit is async-signal-safe; runs in the forked child.
    unsafe {
        c.pre_exec(|| {
            let mut lim: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim);
            lim.rlim_cur = 16;
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            Ok(())
        });
    }
    let o = run_with_deadline(c, Duration::from_secs(60));
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stdout(&o).contains("ordinary workspace file\nEND"),
        "{}",
        show(&o)
    );
    assert!(std::fs::metadata(&audit).unwrap().len() <= 16, "the limit held");
}

/// The audit log on a FIFO whose reader never reads, and `--log-denials` on a
/// stderr pipe nobody reads: both fill after a few hundred lines. Decisions must
/// not wait for them: thousands of opens (allowed and refused, each a record,
/// the refused ones each a stderr line) finish with the right results, and
/// `clawless` exits with the command's status.
#[test]
fn an_audit_log_and_a_stderr_nobody_reads_never_stall_decisions() {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = Fixture::new("stuckaudit").with_attack();
    let fifo = f.root.join("audit.fifo");
    let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: `c` is a NUL-terminated path alive for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Holds the FIFO open (so clawless can open it for writing) and never reads.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let secret = f.secret.display().to_string();
    let script = format!("./attack open-loop {secret} 4000; ./attack open-loop ok.txt 4000; exit 7");
    let fifo_arg = fifo.display().to_string();
    let mut cmd = f.command(
        &["--audit-log", &fifo_arg, "--log-denials"],
        &["/bin/sh", "-c", &script],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    // Held open, never read.
    let _stderr = child.stderr.take().unwrap();
    let reading = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("clawless stalled on its audit log or stderr");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reading.join().unwrap();
    assert_eq!(status.code(), Some(7), "{out}");
    let refused = out.lines().next().unwrap_or_default();
    assert!(
        refused.starts_with("open-loop: ok=0 refused=4000 errno="),
        "{out}"
    );
    assert!(out.contains("open-loop: ok=4000 refused=0 errno=0"), "{out}");
}

/// Opens of devices finish on a thread of their own (they may block), which
/// answers with `SECCOMP_ADDFD_FLAG_SEND`. Once that is queued the kernel reports
/// the notification as no longer pending, and the monitor's sweep of abandoned
/// calls used to interrupt the `ADDFD` then: the agent's open returned 0 with no
/// descriptor, a shell duplicated its stdin onto stdout, and `cat` failed with
/// EBADF (about one run in four of this script). Eight shells redirecting to
/// `/dev/null` in parallel, several times: every redirection must work.
#[test]
fn offloaded_device_opens_always_return_their_descriptor() {
    let f = Fixture::new("devnull-offload");
    let script = "for i in 1 2 3 4 5 6 7 8; do
          (for j in $(seq 1 40); do cat ok.txt > /dev/null || echo FAIL; done; echo done$i) &
        done; wait";
    for round in 0..3 {
        let o = f.sh(script);
        assert_eq!(code(&o), 0, "round {round}\n{}", show(&o));
        let out = stdout(&o);
        assert_eq!(out.matches("done").count(), 8, "round {round}\n{}", show(&o));
        assert!(
            !out.contains("FAIL") && !stderr(&o).contains("Bad file descriptor"),
            "round {round}: a redirection got no descriptor\n{}",
            show(&o)
        );
    }
}

/// An audit log the policy lets the agent write, append to, create or remove (or
/// rename a directory above) is refused before anything runs (exit 125, naming the
/// rule and the verb); one out of the agent's reach is accepted.
#[test]
fn an_audit_log_the_agent_could_change_is_refused() {
    let f = Fixture::new("audit-reach");
    let marker = f.ws.join("ran");
    let script = format!("touch {}", marker.display());
    let inside = f.ws.join("audit.jsonl");
    let in_sub = f.ws.join("logs/a.jsonl");
    std::fs::create_dir_all(f.ws.join("logs")).unwrap();
    // A symlink outside the workspace to a file inside it is the file inside.
    let via_link = f.root.join("link.jsonl");
    std::os::unix::fs::symlink(&inside, &via_link).unwrap();
    let tmp = format!("/tmp/claw-audit-{}.jsonl", std::process::id());
    for log in [
        inside.display().to_string(),
        in_sub.display().to_string(),
        via_link.display().to_string(),
        tmp.clone(),
    ] {
        let o = f.run(&["--audit-log", &log], &["/bin/sh", "-c", &script]);
        assert_eq!(code(&o), 125, "{log}\n{}", show(&o));
        let err = stderr(&o);
        assert!(
            err.contains("refusing --audit-log")
                && err.contains("lets the agent write")
                && err.contains("std/profiles.claw:"),
            "{log}: the message names the verb and the rule\n{}",
            show(&o)
        );
        assert!(!marker.exists(), "{log}: the command must not run");
    }
    assert!(
        !std::path::Path::new(&tmp).exists(),
        "a refused log is not created"
    );
    // `allow append` alone is enough to refuse it (the offline example's audit file).
    clawc_is_built();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/offline_analysis.claw");
    let o = f.run(
        &[
            "--policy",
            example.to_str().unwrap(),
            "--audit-log",
            &f.ws.join("audit.log").display().to_string(),
        ],
        &["/bin/sh", "-c", "true"],
    );
    assert_eq!(code(&o), 125, "{}", show(&o));
    assert!(stderr(&o).contains("lets the agent append"), "{}", show(&o));

    let outside = f.root.join("audit.jsonl");
    let o = f.run(
        &["--audit-log", outside.to_str().unwrap()],
        &["/bin/sh", "-c", &script],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(marker.exists(), "the command ran");
    assert!(
        std::fs::read_to_string(&outside)
            .unwrap()
            .contains("\"decision\""),
        "decisions were logged"
    );
}

/// An artifact whose proofs did not all succeed (or that records none) is refused
/// unless `--allow-unverified` is given; then it runs, with a warning naming what
/// was not proved.
#[test]
fn an_unverified_artifact_is_refused_unless_allowed() {
    let f = Fixture::new("unverified");
    let good = claw_artifact::Artifact::from_bytes(&default_artifact(std::env::consts::ARCH)).unwrap();
    let mut none = good.clone();
    none.metadata.proofs.clear();
    let mut failed = good.clone();
    failed.metadata.proofs[0].outcome = claw_artifact::ProofOutcome::Failed;
    let failed_check = failed.metadata.proofs[0].check.clone();
    for (name, art) in [("none", none), ("failed", failed)] {
        let path = f.root.join(format!("{name}.bin"));
        std::fs::write(&path, art.to_bytes()).unwrap();
        let marker = f.ws.join(format!("ran-{name}"));
        let touch = format!("touch {}", marker.display());
        let o = f.run(&["--policy", path.to_str().unwrap()], &["/bin/sh", "-c", &touch]);
        assert_eq!(code(&o), 125, "{name}\n{}", show(&o));
        assert!(stderr(&o).contains("--allow-unverified"), "{name}\n{}", show(&o));
        assert!(!marker.exists(), "{name}: the command ran");
        if name == "failed" {
            assert!(
                stderr(&o).contains(&failed_check),
                "names the check\n{}",
                show(&o)
            );
        }
        let o = f.run(
            &["--policy", path.to_str().unwrap(), "--allow-unverified"],
            &["/bin/sh", "-c", &touch],
        );
        assert_eq!(code(&o), 0, "{name}\n{}", show(&o));
        assert!(
            stderr(&o).contains("warning: running the policy"),
            "{name}\n{}",
            show(&o)
        );
        assert!(marker.exists(), "{name}: allowed, it ran");
    }
}

/// `--policy X.claw` compiles and proves once: a second run takes the artifact
/// from the cache (`$XDG_CACHE_HOME/clawless`); a changed source, another
/// compiler (here: a changed `clawc` next to `clawless`) and a corrupt entry
/// each compile again. `clawc` is a wrapper that counts its runs.
#[test]
fn compiled_policies_are_cached_and_invalidated() {
    clawc_is_built();
    let f = Fixture::new("cache");
    let bin = f.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(clawless(), bin.join("clawless")).unwrap();
    let real = std::path::Path::new(clawless()).with_file_name("clawc");
    let count = f.root.join("count");
    let wrapper = |extra: &str| {
        let w = bin.join("clawc");
        let _ = std::fs::remove_file(&w);
        std::fs::write(
            &w,
            format!(
                "#!/bin/sh\n{extra}\necho run >> {}\nexec {} \"$@\"\n",
                count.display(),
                real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&w, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    wrapper("");
    let cache = f.root.join("cache");
    let src = f.root.join("mine.claw");
    std::fs::write(&src, "policy mine { default allow; }\n").unwrap();
    let runs = || {
        std::fs::read_to_string(&count)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let go = || {
        let mut c = f.command(&["--policy", src.to_str().unwrap()], &["/bin/true"]);
        c.env("XDG_CACHE_HOME", &cache);
        let mut c2 = std::process::Command::new(bin.join("clawless"));
        c2.args(c.get_args());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => c2.env(k, v),
                None => c2.env_remove(k),
            };
        }
        c2.current_dir(&f.ws).stdin(std::process::Stdio::null());
        let o = run_with_deadline(c2, std::time::Duration::from_secs(180));
        assert_eq!(code(&o), 0, "{}", show(&o));
        o
    };
    go();
    assert_eq!(runs(), 1, "compiled once");
    let entries = |ext: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(cache.join("clawless"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect()
    };
    assert_eq!(entries("bin").len(), 1);
    assert!(entries("tmp").is_empty(), "no temporary file left");
    let o = go();
    assert_eq!(runs(), 1, "reused\n{}", show(&o));
    assert!(stderr(&o).contains("reused from"), "{}", show(&o));
    // The source changes: compiled again.
    std::fs::write(&src, "// touched\npolicy mine { default allow; }\n").unwrap();
    go();
    assert_eq!(runs(), 2, "a changed source is compiled again");
    go();
    assert_eq!(runs(), 2);
    // Another compiler: compiled again.
    wrapper("# another version");
    go();
    assert_eq!(runs(), 3, "another compiler compiles again");
    // A corrupt entry: said, compiled again, replaced.
    for e in entries("bin") {
        std::fs::write(e, b"garbage").unwrap();
    }
    let o = go();
    assert_eq!(runs(), 4, "{}", show(&o));
    assert!(stderr(&o).contains("corrupt cached policy"), "{}", show(&o));
    go();
    assert_eq!(runs(), 4, "the replaced entry is reused");
}

/// Credentials in the environment do not reach the sandbox (said once, by name);
/// `--env-keep` passes one, `--env-drop` withholds more; the rest passes.
#[test]
fn credential_variables_are_withheld_from_the_sandbox() {
    let f = Fixture::new("envfilter");
    let mut c = f.command(
        &["--env-keep", "KEEP_ME_TOKEN", "--env-drop", "EXTRA_*"],
        &["/usr/bin/env"],
    );
    c.env("GITHUB_TOKEN", "ghp_secret1")
        .env("ANTHROPIC_API_KEY", "sk-ant-secret2")
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret3")
        .env("KEEP_ME_TOKEN", "kept4")
        .env("EXTRA_THING", "extra5")
        .env("ORDINARY_VAR", "ordinary6");
    let o = run_with_deadline(c, std::time::Duration::from_secs(60));
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    for secret in ["ghp_secret1", "sk-ant-secret2", "aws-secret3", "extra5"] {
        assert!(!out.contains(secret), "{secret} reached the sandbox\n{out}");
    }
    assert!(out.contains("KEEP_ME_TOKEN=kept4"), "{out}");
    assert!(out.contains("ORDINARY_VAR=ordinary6"), "{out}");
    let err = stderr(&o);
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("not passed to the sandbox"))
        .collect();
    assert_eq!(said.len(), 1, "said once\n{err}");
    for name in [
        "ANTHROPIC_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "EXTRA_THING",
        "GITHUB_TOKEN",
    ] {
        assert!(said[0].contains(name), "{name}\n{err}");
    }
    assert!(
        !said[0].contains("KEEP_ME_TOKEN") && !said[0].contains("ghp_"),
        "{err}"
    );
}

/// A refused `execve` through a symlink is logged with the name the agent ran
/// (`"name"`) as well as the target it was decided on (`"path"`).
#[test]
fn a_refused_exec_through_a_symlink_is_logged_under_the_name_run() {
    let f = Fixture::new("execname");
    let target = format!("/tmp/claw-exec-target-{}", std::process::id());
    std::fs::copy("/bin/true", &target).unwrap();
    std::os::unix::fs::symlink(&target, f.ws.join("mytool")).unwrap();
    let o = f.run(&["--log-denials"], &["/bin/sh", "-c", "./mytool; echo rc=$?"]);
    let _ = std::fs::remove_file(&target);
    assert!(stdout(&o).contains("rc=126"), "{}", show(&o));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.contains("execve") && l.contains(&target))
        .unwrap_or_else(|| panic!("no denial line for the exec\n{err}"));
    assert!(line.contains("\"name\":\"./mytool\""), "{line}");
}

/// `CLAWLESS_KERNEL_OPENS`: `1` asks for kernel-decided opens, `0` or unset does
/// not, anything else is refused before anything runs (exit 125, like an unknown
/// `CLAWLESS_MODE`). Whatever is asked, exactly one mode line is printed, and in
/// isolated mode it says who decides opens and, when they stay mediated, why.
#[test]
fn kernel_opens_are_asked_for_with_1_and_the_mode_line_says_why_not() {
    use std::os::unix::process::CommandExt;
    clawc_is_built();
    let f = Fixture::new("kopens-env");
    std::fs::write(f.ws.join(".env"), "A=1\n").unwrap();
    // A policy whose rules the isolated plan cannot carry (an append-only report).
    let reviewer = f.root.join("reviewer.bin");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/readonly_reviewer.claw");
    let st = std::process::Command::new(std::path::Path::new(clawless()).with_file_name("clawc"))
        .arg("compile")
        .arg(&src)
        .arg("-o")
        .arg(&reviewer)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "compiling {}", src.display());
    // SAFETY: geteuid takes nothing and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let run = |extra: &[&str], value: Option<&str>, unprivileged: bool| {
        let mut c = f.command(extra, &["/bin/sh", "-c", "cat ok.txt >/dev/null && echo ran"]);
        c.env_remove("CLAWLESS_MODE");
        match value {
            Some(v) => c.env("CLAWLESS_KERNEL_OPENS", v),
            None => c.env_remove("CLAWLESS_KERNEL_OPENS"),
        };
        if unprivileged {
            c.uid(65534).gid(65534);
        }
        run_with_deadline(c, Duration::from_secs(120))
    };
    // One mode line; returns it.
    let line = |o: &std::process::Output| -> String {
        let err = stderr(o);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("clawless: isolated mode") || l.starts_with("clawless: mediated mode"))
            .collect();
        assert_eq!(lines.len(), 1, "one mode line\n{}", show(o));
        lines[0].to_string()
    };
    for bad in ["yes", "true", "2", " 1"] {
        let o = run(&[], Some(bad), false);
        assert_eq!(code(&o), 125, "{bad:?}\n{}", show(&o));
        assert!(
            stderr(&o).contains(&format!("CLAWLESS_KERNEL_OPENS={bad}: expected `0`")),
            "{bad:?}\n{}",
            show(&o)
        );
        assert!(!stdout(&o).contains("ran"), "{bad:?}: nothing runs\n{}", show(&o));
    }
    // Off: `0`, empty or unset.
    for value in [Some("0"), Some(""), None] {
        let o = run(&[], value, false);
        assert_eq!(code(&o), 0, "{value:?}\n{}", show(&o));
        assert!(stdout(&o).contains("ran"), "{}", show(&o));
        assert!(
            line(&o).ends_with(
                "; opens are mediated: kernel-decided opens are experimental (CLAWLESS_KERNEL_OPENS=1))"
            ),
            "{value:?}\n{}",
            show(&o)
        );
    }
    // On.
    let o = run(&[], Some("1"), false);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("ran"), "{}", show(&o));
    if root {
        assert!(line(&o).contains("; the kernel decides opens, "), "{}", show(&o));
    }
    // On, but this run keeps opens mediated, and says why.
    let policy = reviewer.to_str().unwrap();
    for (extra, why) in [
        (
            &["--log-denials"][..],
            "opens are mediated: the audit log and --log-denials see every open",
        ),
        (
            &["--policy", policy][..],
            "opens are mediated: the policy needs mediated opens: `write` and `append` differ",
        ),
    ] {
        let o = run(extra, Some("1"), false);
        assert_eq!(code(&o), 0, "{extra:?}\n{}", show(&o));
        assert!(stdout(&o).contains("ran"), "{}", show(&o));
        let l = line(&o);
        assert!(
            l.starts_with("clawless: isolated mode"),
            "{extra:?}\n{}",
            show(&o)
        );
        assert!(l.contains(why), "{extra:?}: says why\n{}", show(&o));
    }
    let o = run(&["--mode", "mediated"], Some("1"), false);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        line(&o).starts_with("clawless: mediated mode (--mode mediated)"),
        "{}",
        show(&o)
    );
    // Without root: whichever layer decides, the line says it (and why not).
    for d in [&f.root, &f.ws, &f.home] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    let o = run(&[], Some("1"), true);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let l = line(&o);
    let why = l
        .split_once("; opens are mediated: ")
        .map(|(_, w)| w.trim_end_matches(')'));
    assert!(
        l.contains("; the kernel decides opens, ") || why.is_some_and(|w| w.len() > 10),
        "unprivileged: says who decides opens\n{}",
        show(&o)
    );
}

/// The secret-name listing (`claw_ir::names`) has bounds the model does not: a
/// listing cut short says so on stderr, and one within its bounds says nothing.
#[test]
fn a_secret_name_listing_cut_short_is_said() {
    let f = Fixture::new("names-bound");
    let o = f.sh("echo ran");
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("ran"), "{}", show(&o));
    assert!(!stderr(&o).contains("secret names:"), "{}", show(&o));
    // Deeper than the listing goes (claw_ir::names::MAX_DEPTH levels).
    let mut deep = f.ws.clone();
    for i in 0..=claw_ir::names::MAX_DEPTH {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let o = f.sh("echo ran");
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("ran"), "{}", show(&o));
    let said = stderr(&o);
    assert_eq!(said.matches("clawless: secret names:").count(), 1, "{}", show(&o));
    assert!(
        said.contains("levels below where the listing began"),
        "{}",
        show(&o)
    );
}
