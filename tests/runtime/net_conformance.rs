//! Network conformance: for every network verb (connect, send, bind) and socket
//! type (TCP, UDP connected and unconnected, unix stream and datagram by path and
//! by abstract name), in each state of a compiled policy, what a real program
//! gets from the kernel under `clawless` equals what `clawc explain` says the
//! policy decides. Two policies: a small one of this test's own (allow and deny
//! rules on loopback endpoints the test serves, a rule kept after the taint) and
//! the embedded default profile. A request counts as refused by the runtime when
//! it fails with the policy's errno (`EPERM`); any other answer (success, or a
//! network error such as `ECONNREFUSED`) means the runtime let it through.
//! Runs in both modes (`CLAWLESS_MODE`).

mod common;
use common::*;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The loopback address of the policy of our own (the default profile's run
/// uses another, and abstract names of its own: the two tests run at once).
const IP: &str = "127.77.3.1";

fn policy(ws: &Path) -> String {
    let ws = ws.display();
    format!(
        r#"
use std::groups::*;
use std::paths::*;
policy conformance {{
    let workspace = path "$WORKSPACE/**";
    default deny(EPERM);
    always {{
        allow memory, time, signals, process_basic, identity, process, io, ipc;
        allow read, visible, exec system_ro;
        allow read, visible proc_info;
        allow visible everything;
        allow read [root, dev_config];
        allow read, write, append, visible devices;
        allow read, write, append, visible, exec workspace;
        allow net_sockets;
        allow connect endpoint tcp "{IP}" port 443;
        allow bind [endpoint unix "{ws}/new-ok.sock", endpoint udp "{IP}" port 5353];
    }}
    state clean initial {{
        allow connect [endpoint udp "{IP}" port 53, endpoint unix "{ws}/ok.sock", endpoint unix "@clawconf-ok"];
        allow send [endpoint udp "{IP}" port 53, endpoint unix "{ws}/okd.sock", endpoint unix "@clawconf-okd"];
        on read path "{ws}/.env" -> tainted;
    }}
    state tainted {{
    }}
}}
"#
    )
}

/// Every request: the probe's spelling, and the syscall and address `explain`
/// is asked about.
fn requests(ws: &Path, ip: &str, tag: &str) -> Vec<(String, &'static str, String)> {
    let w = ws.display();
    let mut v = Vec::new();
    for port in [443, 444] {
        v.push((
            format!("connect:tcp:{ip}:{port}"),
            "connect",
            format!("tcp:{ip}:{port}"),
        ));
    }
    for port in [53, 54] {
        v.push((
            format!("connect:udp:{ip}:{port}"),
            "connect",
            format!("udp:{ip}:{port}"),
        ));
        v.push((
            format!("send:udp:{ip}:{port}"),
            "sendto",
            format!("udp:{ip}:{port}"),
        ));
    }
    for port in [5353, 5354] {
        v.push((
            format!("bind:udp:{ip}:{port}"),
            "bind",
            format!("udp:{ip}:{port}"),
        ));
    }
    for name in ["ok", "bad"] {
        v.push((
            format!("connect:unix:{w}/{name}.sock"),
            "connect",
            format!("unix:{w}/{name}.sock"),
        ));
        v.push((
            format!("send:unixd:{w}/{name}d.sock"),
            "sendto",
            format!("unix:{w}/{name}d.sock"),
        ));
        v.push((
            format!("bind:unix:{w}/new-{name}.sock"),
            "bind",
            format!("unix:{w}/new-{name}.sock"),
        ));
        v.push((
            format!("connect:abs:{tag}-{name}"),
            "connect",
            format!("unix:@{tag}-{name}"),
        ));
        v.push((
            format!("send:absd:{tag}-{name}d"),
            "sendto",
            format!("unix:@{tag}-{name}d"),
        ));
    }
    v
}

/// Servers for every endpoint a request may reach (allowed or not, so that a
/// refusal is the policy's and not a missing peer).
struct Servers {
    _held: Vec<Box<dyn std::any::Any>>,
}

fn servers(ws: &Path, ip: &str, tag: &str) -> Servers {
    let mut held: Vec<Box<dyn std::any::Any>> = Vec::new();
    for port in [443, 444] {
        held.push(Box::new(
            std::net::TcpListener::bind((ip, port)).expect("tcp server"),
        ));
    }
    for port in [53, 54] {
        held.push(Box::new(
            std::net::UdpSocket::bind((ip, port)).expect("udp server"),
        ));
    }
    for name in ["ok", "bad"] {
        held.push(Box::new(
            UnixListener::bind(ws.join(format!("{name}.sock"))).unwrap(),
        ));
        held.push(Box::new(
            UnixDatagram::bind(ws.join(format!("{name}d.sock"))).unwrap(),
        ));
        let a = SocketAddr::from_abstract_name(format!("{tag}-{name}")).unwrap();
        held.push(Box::new(UnixListener::bind_addr(&a).unwrap()));
        let a = SocketAddr::from_abstract_name(format!("{tag}-{name}d")).unwrap();
        held.push(Box::new(UnixDatagram::bind_addr(&a).unwrap()));
    }
    Servers { _held: held }
}

fn clawc() -> std::path::PathBuf {
    Path::new(clawless()).with_file_name("clawc")
}

/// `clawc explain`'s policy decision: allowed or not; and whether explain notes
/// that in isolated mode the address is the sandbox's own loopback (no endpoint
/// names it: the call stays inside, undecided by the policy).
fn explain(artifact: &Path, state: &str, syscall: &str, addr: &str, ws: &Path, home: &Path) -> (bool, bool) {
    let o = Command::new(clawc())
        .arg("explain")
        .arg(artifact)
        .args(["--syscall", syscall, "--addr", addr, "--state", state])
        .arg("--env")
        .arg(format!("WORKSPACE={}", ws.display()))
        .arg("--env")
        .arg(format!("HOME={}", home.display()))
        .output()
        .expect("clawc explain");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = out.lines().find(|l| l.starts_with("policy:")).unwrap_or_else(|| {
        panic!(
            "no policy line from explain {syscall} {addr} in {state}\n{}",
            show(&o)
        )
    });
    let inside = out.contains("stays inside the sandbox");
    (line.contains("allow") || line.contains("log "), inside)
}

/// Does the policy let the agent make the socket for `addr` (`tcp:`/`udp:`, an
/// IPv4 socket of protocol 0) in `state`? A call that stays inside needs one.
fn socket_allowed(artifact: &Path, state: &str, addr: &str) -> bool {
    let ty = if addr.starts_with("udp:") { "2" } else { "1" };
    let o = Command::new(clawc())
        .arg("explain")
        .arg(artifact)
        .args(["--syscall", "socket", "--state", state])
        .args(["--arg", "0=2", "--arg", &format!("1={ty}"), "--arg", "2=0"])
        .output()
        .expect("clawc explain");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    out.lines()
        .find(|l| l.starts_with("policy:"))
        .is_some_and(|l| l.contains("allow") || l.contains("log "))
}

/// Runs the probe under `clawless` in `state` (tainted: it reads `.env` first)
/// and compares every request with `explain`.
/// Returns how many requests there were and how many the runtime let through.
fn conform(f: &Fixture, extra: &[&str], artifact: &Path, state: &str, ip: &str, tag: &str) -> (usize, usize) {
    for name in ["new-ok.sock", "new-bad.sock"] {
        let _ = std::fs::remove_file(f.ws.join(name));
    }
    let reqs = requests(&f.ws, ip, tag);
    let mut cmd = vec![
        "./attack",
        "net-probe",
        if state == "tainted" { ".env" } else { "-" },
    ];
    cmd.extend(reqs.iter().map(|r| r.0.as_str()));
    let o = run_with_deadline(f.command(extra, &cmd), Duration::from_secs(120));
    let out = stdout(&o);
    if state == "tainted" {
        assert!(out.contains("open secret: ok="), "{}", show(&o));
    }
    let mut wrong = Vec::new();
    let mut through = 0;
    for (probe, syscall, addr) in &reqs {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{probe}: ")))
            .unwrap_or_else(|| panic!("the probe did not make {probe}\n{}", show(&o)));
        let runtime = !line.contains("errno=1 ");
        through += usize::from(runtime);
        let (allows, inside) = explain(artifact, state, syscall, addr, &f.ws, &f.home);
        // Isolated, an address explain says stays inside is the kernel's to
        // answer in the sandbox's own network: never refused by the policy.
        let model = allows || (inside && !mediated() && socket_allowed(artifact, state, addr));
        if runtime != model {
            wrong.push(format!(
                "{state}: {probe}: runtime {line:?}, explain allows: {model}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "runtime and explain disagree:\n{}\n{}",
        wrong.join("\n"),
        show(&o)
    );
    (reqs.len(), through)
}

fn fixture(name: &str) -> Fixture {
    clawc_is_built();
    let f = Fixture::new(name).with_attack();
    std::fs::write(f.ws.join(".env"), "API_TOKEN=TOP-SECRET\n").unwrap();
    f
}

#[test]
fn a_policy_of_our_own_agrees_with_explain_on_every_verb_and_socket_type() {
    let f = fixture("conf-own");
    let _servers = servers(&f.ws, IP, "clawconf");
    let src = f.root.join("conformance.claw");
    std::fs::write(&src, policy(&f.ws)).unwrap();
    let bin = f.root.join("conformance.bin");
    let o = Command::new(clawc())
        .arg("compile")
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let b = bin.display().to_string();
    let run = |state| conform(&f, &["--policy", &b], &bin, state, IP, "clawconf");
    // Both answers occur in both states (the rule kept after the taint), and
    // the taint takes grants away.
    let (n, clean) = run("clean");
    let (_, tainted) = run("tainted");
    assert_eq!(n, 18);
    assert!(
        clean > tainted && tainted > 0 && clean < n,
        "clean {clean}, tainted {tainted} of {n}"
    );
}

#[test]
fn the_default_profile_agrees_with_explain_on_every_verb_and_socket_type() {
    let f = fixture("conf-default");
    let (ip, tag) = ("127.77.3.2", "clawconfdef");
    let _servers = servers(&f.ws, ip, tag);
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("default/coding_agent.x86_64.bin");
    let (_, clean) = conform(&f, &[], &bin, "clean", ip, tag);
    let (_, tainted) = conform(&f, &[], &bin, "tainted", ip, tag);
    // https and dns before the taint, nothing after.
    assert!(clean >= 3 && tainted == 0, "clean {clean}, tainted {tainted}");
}

/// The socket kinds the default profile refuses by argument rules: for each
/// `socket()` the attack program makes (`attack socket-kinds`, in its order),
/// the runtime's answer equals `explain`'s, errno included.
#[test]
fn socket_kinds_agree_with_explain_errno_for_errno() {
    let f = fixture("conf-kinds");
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("default/coding_agent.x86_64.bin");
    // (family, type, protocol) of each line the program prints.
    let kinds: [(i32, i32, i32); 21] = [
        (17, 3, 768),
        (2, 3, 255),
        (2, 3 | libc::SOCK_CLOEXEC, 1),
        (10, 3, 255),
        (2, 2, 1),
        (2, 1, 132),
        (2, 5, 132),
        (10, 1, 132),
        (2, 1, 262),
        (10, 1, 262),
        (2, 2, 136),
        (2, 10, 768),
        (40, 1, 0),
        (15, 3, 2),
        (30, 4, 0),
        (21, 5, 0),
        (2, 1 | libc::SOCK_NONBLOCK, 0),
        (2, 2, 17),
        (10, 1, 6),
        (1, 2, 0),
        (16, 3 | libc::SOCK_CLOEXEC, 0),
    ];
    let o = run_with_deadline(
        f.command(&[], &["./attack", "socket-kinds"]),
        Duration::from_secs(60),
    );
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), kinds.len(), "{}", show(&o));
    let errnos = [
        ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
        ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
        ("EPERM", libc::EPERM),
    ];
    let mut refused = 0;
    for (line, (family, ty, proto)) in lines.iter().zip(kinds) {
        let e = Command::new(clawc())
            .arg("explain")
            .arg(&bin)
            .args(["--syscall", "socket"])
            .args([
                "--arg",
                &format!("family={family}"),
                "--arg",
                &format!("type={ty}"),
            ])
            .args(["--arg", &format!("protocol={proto}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&e.stdout).into_owned();
        let policy = text
            .lines()
            .find(|l| l.starts_with("policy:"))
            .unwrap_or_else(|| panic!("{}", show(&e)));
        if policy.contains(" allow") {
            assert!(line.contains(": ok="), "{line}: explain says {policy}");
            continue;
        }
        refused += 1;
        let (name, num) = errnos
            .iter()
            .find(|(n, _)| policy.contains(&format!("deny({n})")))
            .unwrap_or_else(|| panic!("unexpected decision {policy}"));
        assert!(
            line.contains(&format!(": errno={num} ")),
            "{line}: explain says deny({name})"
        );
    }
    assert_eq!(refused, 16, "{out}");
}

/// The calls that would connect or cork without a `connect`: `explain` gives
/// the errno the attack suite sees the runtime answer (`tcp_fast_open_by_*`,
/// `udp_msg_more_*`, `udp_cork_*` in tests/runtime/attacks.rs assert errno 95
/// and 92 for the same calls).
#[test]
fn fast_open_and_corking_are_refused_in_explain_as_in_the_runtime() {
    clawc_is_built();
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("default/coding_agent.x86_64.bin");
    let cases: [(&str, &[&str], &str); 7] = [
        ("sendto", &["flags=MSG_FASTOPEN"], "deny(EOPNOTSUPP)"),
        ("sendmsg", &["flags=MSG_FASTOPEN"], "deny(EOPNOTSUPP)"),
        ("sendmmsg", &["flags=MSG_FASTOPEN"], "deny(EOPNOTSUPP)"),
        ("sendto", &["flags=32832"], "deny(EOPNOTSUPP)"),
        ("sendmsg", &["flags=MSG_MORE"], "deny(EOPNOTSUPP)"),
        (
            "setsockopt",
            &["level=IPPROTO_TCP", "optname=TCP_FASTOPEN_CONNECT"],
            "deny(ENOPROTOOPT)",
        ),
        (
            "setsockopt",
            &["level=IPPROTO_UDP", "optname=UDP_CORK"],
            "deny(ENOPROTOOPT)",
        ),
    ];
    for (syscall, args, want) in cases {
        let mut c = Command::new(clawc());
        c.arg("explain")
            .arg(&bin)
            .args(["--syscall", syscall, "--addr", "udp:127.77.3.9:53"]);
        for a in args {
            c.args(["--arg", a]);
        }
        let o = c.output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            text.lines().any(|l| l.starts_with("policy:") && l.contains(want)),
            "{syscall} {args:?}: want {want}\n{}",
            show(&o)
        );
    }
    // And the same calls without those flags are allowed before the taint.
    let o = Command::new(clawc())
        .arg("explain")
        .arg(&bin)
        .args([
            "--syscall",
            "sendto",
            "--addr",
            "udp:127.77.3.9:53",
            "--arg",
            "flags=64",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("policy:   allow"),
        "{}",
        show(&o)
    );
}
