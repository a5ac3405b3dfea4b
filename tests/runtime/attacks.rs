//! The attack suite: one program per bypass class in DESIGN.md, each run under the
//! default policy (std::profiles::coding_agent) on the real kernel, each blocked.
//! Network attacks talk to servers this test starts on its own loopback address.

mod common;
use common::*;
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::time::Duration;

const SIGSYS_EXIT: i32 = 128 + libc::SIGSYS;

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
    assert!(stdout(&o).contains("O_RDWR: errno=1"), "{}", show(&o));
}

fn assert_race_lost(kind: &str, o: &std::process::Output) {
    let out = stdout(o);
    assert_eq!(code(o), 0, "{kind}: the secret leaked\n{}", show(o));
    assert!(out.contains("leaked=0"), "{}", show(o));
    // The benign half of the race must have worked at least sometimes, or the
    // test shows nothing.
    let good: u32 = out
        .split("good=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(good > 0, "{kind}: no benign open succeeded\n{}", show(o));
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
    let o = attack(&f, &["vfork-race", &ok, &secret, "3000"]);
    assert_race_lost("CLONE_VM race", &o);
}

#[test]
fn symlink_swap_cannot_redirect_an_open() {
    let f = Fixture::new("swap").with_attack();
    let (link, ok, secret) = (f.path("swap"), f.path("ok.txt"), f.secret.display().to_string());
    let o = attack(&f, &["symlink-swap", &link, &ok, &secret, "2000"]);
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
    assert!(out.contains("reopen via /proc/self/fd: errno=1"), "{}", show(&o));
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

/// A loopback TCP server on port `port` of `ip`; what it received, read after the
/// sandbox finished.
struct Tcp(TcpListener);

impl Tcp {
    fn new(ip: &str, port: u16) -> Tcp {
        let l = TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("binding {ip}:{port}: {e}"));
        l.set_nonblocking(true).unwrap();
        Tcp(l)
    }

    /// Everything every connection sent (connections queue until accepted).
    fn received(&self) -> String {
        let mut all = String::new();
        while let Ok((mut s, _)) = self.0.accept() {
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            all.push_str(&buf);
        }
        all
    }
}

struct Udp(UdpSocket);

impl Udp {
    fn new(ip: &str, port: u16) -> Udp {
        let s = UdpSocket::bind((ip, port)).unwrap_or_else(|e| panic!("binding udp {ip}:{port}: {e}"));
        s.set_nonblocking(true).unwrap();
        Udp(s)
    }

    fn received(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = self.0.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
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
    // The script outlives the monitor: after it is killed, every call the filter
    // routes to the monitor (opens, execs) must fail; builtins still print.
    let script =
        "sleep 2; cat ok.txt && echo READ-AFTER-DEATH; echo x > new.txt && echo WROTE-AFTER-DEATH; echo END";
    let mut cmd = f.command(&[], &["/bin/sh", "-c", script]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    // The orphaned shell keeps the pipes open until it ends.
    let o = wait_with_deadline(child, Duration::from_secs(60));
    let mut rest = String::new();
    let out = stdout(&o);
    rest.push_str(&out);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !rest.contains("END") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        rest.contains("END"),
        "the shell went on after the monitor died\n{}",
        show(&o)
    );
    assert!(!rest.contains("READ-AFTER-DEATH"), "{}", show(&o));
    assert!(!rest.contains("WROTE-AFTER-DEATH"), "{}", show(&o));
    assert!(!rest.contains("ordinary workspace file"), "{}", show(&o));
    assert!(!f.ws.join("new.txt").exists());
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
