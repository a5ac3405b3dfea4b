//! Domain endpoints and DNS through the monitor, on the real kernel. Each test
//! runs its own DNS server (written with `hickory-proto`, on a loopback address,
//! `CLAWLESS_DNS_UPSTREAM`) whose names resolve to loopback addresses in
//! `127.78.0.0/16`, where the test's TCP servers listen on the host; the policy
//! names that block (`deny(EACCES) send` of TCP to it, which decides nothing a connect
//! asks), so answers there are kept and its addresses are the host's in
//! isolated mode.
//! The DNS server records every name it was asked: what left the sandbox.
//!
//! Isolated mode: the agent's resolver is the monitor's forwarder
//! (`127.0.0.53`). Mediated mode (`CLAWLESS_MODE=mediated`, or `--mode
//! mediated`): the monitor resolves the policy's exact names itself, and the
//! agent connects by address.

mod common;
use common::net::Tcp;
use common::*;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A DNS server for the test: each name has answer sets, served in turn (the
/// k-th query gets set k mod n: CDN-style rotation); other names are NXDOMAIN.
struct DnsServer {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    fn new(ip: &str, zone: &[(&str, &[&[&str]])], ttl: u32) -> DnsServer {
        let sock = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("binding the DNS server on {ip}: {e}"));
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let port = sock.local_addr().unwrap().port();
        let zone: HashMap<String, Vec<Vec<Ipv4Addr>>> = zone
            .iter()
            .map(|(n, sets)| {
                let sets = sets
                    .iter()
                    .map(|s| s.iter().map(|a| a.parse().unwrap()).collect())
                    .collect();
                (n.to_string(), sets)
            })
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut turn: HashMap<String, usize> = HashMap::new();
            let mut buf = [0u8; 4096];
            while !stop2.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let Some(query) = q.queries().first().cloned() else {
                    continue;
                };
                let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
                seen2.lock().unwrap().push(name.clone());
                let mut r = Message::new();
                r.set_id(q.id())
                    .set_message_type(MessageType::Response)
                    .set_op_code(q.op_code())
                    .set_recursion_desired(true)
                    .set_recursion_available(true)
                    .add_query(query.clone());
                match zone.get(&name) {
                    None => {
                        r.set_response_code(ResponseCode::NXDomain);
                    }
                    Some(sets) => {
                        let k = turn.entry(name.clone()).or_default();
                        let set = &sets[*k % sets.len()];
                        *k += 1;
                        if query.query_type() == RecordType::A {
                            for ip in set {
                                r.add_answer(Record::from_rdata(query.name().clone(), ttl, RData::A(A(*ip))));
                            }
                        }
                    }
                }
                if let Ok(b) = r.to_vec() {
                    let _ = sock.send_to(&b, from);
                }
            }
        });
        DnsServer { port, seen, stop }
    }

    fn upstream(&self, ip: &str) -> String {
        format!("{ip}:{}", self.port)
    }

    /// Every name the server was asked, in order.
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The test policy: `api.test` and `*.cdn.test` on port 8443 (and what
/// `extra` adds) until `.env` or a secret is read; the test block named.
fn policy(extra: &str) -> String {
    format!(
        r#"
use std::groups::*;
use std::paths::{{secrets, system_ro}};

policy dnstest {{
    let workspace = path "$WORKSPACE/**";
    // Names the test's loopback block, so that the resolver keeps answers
    // there (and its addresses are the host's); it allows nothing.
    let testnet = endpoint tcp "127.78.0.0/16" port 8443;
    let api = endpoint tcp "api.test" port 8443;
    let cdn = endpoint tcp "*.cdn.test" port 8443;
    default deny(EACCES);
    always {{
        allow memory, time, signals, process_basic, process, io, net_sockets;
        allow read, exec system_ro;
        allow read, write, exec workspace;
        allow read, write path "/dev/null";
        allow visible path "/**";
        deny(EACCES) send testnet;
    }}
    state clean initial {{
        allow connect [api, cdn];
        {extra}
        on read secrets -> tainted;
        on read path "$WORKSPACE/.env" -> tainted;
    }}
    state tainted {{ }}
    assert never connect after read secrets;
    assert never connect api after read path "$WORKSPACE/.env";
}}
"#
    )
}

struct Run {
    f: Fixture,
    policy: String,
    audit: std::path::PathBuf,
}

impl Run {
    fn new(name: &str, extra: &str) -> Run {
        clawc_is_built();
        let f = Fixture::new(name).with_attack();
        std::fs::write(f.ws.join(".env"), "API_TOKEN=TOP-SECRET\n").unwrap();
        let src = f.root.join("dns.claw");
        std::fs::write(&src, self::policy(extra)).unwrap();
        // Compiled (and proved) once, for every run of the test.
        let policy = f.root.join("dns.bin");
        let clawc = std::path::Path::new(clawless()).with_file_name("clawc");
        let o = std::process::Command::new(clawc)
            .arg("compile")
            .arg(&src)
            .arg("-o")
            .arg(&policy)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", show(&o));
        let audit = f.root.join("audit.jsonl");
        Run {
            policy: policy.display().to_string(),
            audit,
            f,
        }
    }

    fn exec(
        &self,
        upstream: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        cmd: &[&str],
    ) -> std::process::Output {
        let mut args = vec![
            "--policy",
            &self.policy,
            "--audit-log",
            self.audit.to_str().unwrap(),
        ];
        args.extend_from_slice(&["--dns-upstream", upstream]);
        args.extend_from_slice(extra);
        let mut c = self.f.command(&args, cmd);
        for (k, v) in env {
            c.env(k, v);
        }
        run_with_deadline(c, Duration::from_secs(120))
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(&self.audit).unwrap_or_default()
    }
}

/// The isolated-mode tests check the forwarder; under `CLAWLESS_MODE=mediated`
/// there is none (the mediated test below covers that mode).
fn isolated() -> bool {
    !mediated()
}

#[test]
fn exact_and_wildcard_names_resolve_and_connect() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new(
        "127.78.1.53",
        &[
            ("api.test", &[&["127.78.1.1"]]),
            ("x.cdn.test", &[&["127.78.1.2"]]),
            ("a.b.cdn.test", &[&["127.78.1.3"]]),
            ("cdn.test", &[&["127.78.1.4"]]),
        ],
        300,
    );
    let servers: Vec<Tcp> = (1..=4)
        .map(|i| Tcp::new(&format!("127.78.1.{i}"), 8443))
        .collect();
    let r = Run::new("dns-names", "");
    let up = dns.upstream("127.78.1.53");
    for (name, msg) in [
        ("api.test", "m1"),
        ("x.cdn.test", "m2"),
        ("a.b.cdn.test", "m3"),
        ("cdn.test", "m4"),
    ] {
        let o = r.exec(&up, &[], &[], &["./attack", "dns-connect", name, "8443", msg]);
        let out = stdout(&o);
        if name == "cdn.test" {
            // `*.cdn.test` is every name below cdn.test, not cdn.test itself: the
            // query never leaves.
            assert!(out.contains("resolve cdn.test: failed="), "{}", show(&o));
        } else {
            assert!(out.contains(&format!("{name} connect: ok=0")), "{}", show(&o));
            assert!(out.contains(&format!("{name} send: ok=2")), "{}", show(&o));
        }
    }
    assert_eq!(servers[0].received(), "m1");
    assert_eq!(servers[1].received(), "m2");
    assert_eq!(servers[2].received(), "m3");
    assert_eq!(servers[3].received(), "");
    assert!(!dns.seen().contains(&"cdn.test".to_string()), "{:?}", dns.seen());
    // Every query is in the audit log, with its answers.
    let audit = r.audit();
    assert!(
        audit.contains(r#""syscall":"dns""#) && audit.contains("127.78.1.1"),
        "{audit}"
    );
}

#[test]
fn an_address_no_allowed_name_resolved_to_is_refused() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new(
        "127.78.2.53",
        &[
            ("api.test", &[&["127.78.2.1"]]),
            ("other.test", &[&["127.78.2.9"]]),
        ],
        300,
    );
    let good = Tcp::new("127.78.2.1", 8443);
    let other = Tcp::new("127.78.2.9", 8443);
    let r = Run::new("dns-noname", "");
    let up = dns.upstream("127.78.2.53");
    // The channel works: api.test resolves and connects.
    let o = r.exec(
        &up,
        &[],
        &[],
        &["./attack", "dns-connect", "api.test", "8443", "ok"],
    );
    assert!(stdout(&o).contains("api.test connect: ok=0"), "{}", show(&o));
    // An address no allowed name resolved to, by address: refused with the
    // policy's errno.
    let o = r.exec(&up, &[], &[], &["./attack", "tcp", "127.78.2.9", "8443", "leak"]);
    assert!(stdout(&o).contains("errno=13"), "{}", show(&o));
    // A name no endpoint matches: its query never leaves the sandbox.
    let o = r.exec(
        &up,
        &[],
        &[],
        &["./attack", "dns-connect", "other.test", "8443", "leak"],
    );
    assert!(stdout(&o).contains("resolve other.test: failed="), "{}", show(&o));
    assert_eq!(good.received(), "ok");
    assert_eq!(other.received(), "");
    assert!(
        !dns.seen().contains(&"other.test".to_string()),
        "{:?}",
        dns.seen()
    );
}

#[test]
fn answers_that_rotate_between_queries_keep_working() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new(
        "127.78.3.53",
        &[(
            "api.test",
            &[&["127.78.3.1"], &["127.78.3.2"], &["127.78.3.3", "127.78.3.1"]],
        )],
        300,
    );
    let s: Vec<Tcp> = (1..=3)
        .map(|i| Tcp::new(&format!("127.78.3.{i}"), 8443))
        .collect();
    let r = Run::new("dns-rotate", "");
    let o = r.exec(
        &dns.upstream("127.78.3.53"),
        &[],
        &[],
        &["./attack", "dns-repeat", "api.test", "8443", "3", "r"],
    );
    let out = stdout(&o);
    assert_eq!(out.matches("api.test connect: ok=0").count(), 3, "{}", show(&o));
    assert_eq!(s[0].received(), "r");
    assert_eq!(s[1].received(), "r");
    assert_eq!(s[2].received(), "r");
}

#[test]
fn a_name_resolving_to_a_loopback_or_private_address_is_refused_unless_the_policy_names_the_block() {
    if !isolated() {
        return;
    }
    // 127.0.0.2 is loopback outside the block the policy names: dropped from the
    // answer. 127.78.4.1 is inside it: kept (the control).
    let dns = DnsServer::new(
        "127.78.4.53",
        &[
            ("x.cdn.test", &[&["127.0.0.2"]]),
            ("api.test", &[&["127.78.4.1", "127.0.0.2"]]),
        ],
        300,
    );
    let host = Tcp::new("127.0.0.2", 8443);
    let named = Tcp::new("127.78.4.1", 8443);
    let r = Run::new("dns-private", "");
    let up = dns.upstream("127.78.4.53");
    let o = r.exec(
        &up,
        &[],
        &[],
        &["./attack", "dns-connect", "x.cdn.test", "8443", "rebind"],
    );
    let out = stdout(&o);
    assert!(out.contains("resolve x.cdn.test: failed="), "{}", show(&o));
    let o = r.exec(
        &up,
        &[],
        &[],
        &["./attack", "dns-connect", "api.test", "8443", "named"],
    );
    let out = stdout(&o);
    assert!(out.contains("resolve api.test: addr=127.78.4.1"), "{}", show(&o));
    assert!(!out.contains("addr=127.0.0.2"), "{}", show(&o));
    // And by address, 127.0.0.2 is no name's answer: refused (mediated), or
    // the sandbox's own loopback, where nothing listens (isolated).
    let o = r.exec(&up, &[], &[], &["./attack", "tcp", "127.0.0.2", "8443", "direct"]);
    assert!(stdout(&o).contains("errno="), "{}", show(&o));
    assert_eq!(host.received(), "");
    assert_eq!(named.received(), "named");
    assert!(
        dns.seen().contains(&"x.cdn.test".to_string()),
        "the query was made: {:?}",
        dns.seen()
    );
}

#[test]
fn localhost_reaches_the_hosts_server_on_that_port() {
    let dns = DnsServer::new("127.78.5.53", &[], 300);
    let port = 18_473;
    let host = Tcp::new("127.0.0.1", port);
    let r = Run::new(
        "dns-localhost",
        &format!("allow connect endpoint tcp \"localhost\" port {port};"),
    );
    let o = r.exec(
        &dns.upstream("127.78.5.53"),
        &[],
        &[],
        &["./attack", "dns-connect", "localhost", &port.to_string(), "local"],
    );
    assert!(stdout(&o).contains("localhost connect: ok=0"), "{}", show(&o));
    assert_eq!(host.received(), "local");
    // Another port of localhost is not named: refused (mediated mode, where
    // loopback is the host's) or the sandbox's own loopback (isolated: nothing
    // listens there).
    let o = r.exec(
        &dns.upstream("127.78.5.53"),
        &[],
        &[],
        &["./attack", "tcp", "127.0.0.1", "18474", "x"],
    );
    assert!(stdout(&o).contains("errno="), "{}", show(&o));
}

#[test]
fn after_the_taint_no_query_leaves_the_sandbox() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new("127.78.6.53", &[("api.test", &[&["127.78.6.1"]])], 300);
    let r = Run::new("dns-taint", "");
    let o = r.exec(
        &dns.upstream("127.78.6.53"),
        &[],
        &[],
        &["./attack", "dns-taint", "api.test", ".env", "leak.cdn.test"],
    );
    let out = stdout(&o);
    // The marker query went out before the taint: the channel works.
    assert!(out.contains("before api.test: addr=127.78.6.1"), "{}", show(&o));
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    assert!(out.contains("after ") && out.contains("failed="), "{}", show(&o));
    assert!(
        out.contains("tcp query") && out.contains("failed"),
        "{}",
        show(&o)
    );
    assert!(out.contains("after marker api.test: failed="), "{}", show(&o));
    let seen = dns.seen();
    assert_eq!(seen.iter().filter(|n| *n == "api.test").count(), 1, "{seen:?}");
    assert!(
        !seen.iter().any(|n| n.contains("leak")),
        "the secret left as a name: {seen:?}"
    );
}

#[test]
fn answers_expire_after_their_ttl() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new("127.78.7.53", &[("api.test", &[&["127.78.7.1"]])], 1);
    let s = Tcp::new("127.78.7.1", 8443);
    let r = Run::new("dns-ttl", "");
    let o = r.exec(
        &dns.upstream("127.78.7.53"),
        &[],
        &[("CLAWLESS_DNS_MIN_TTL", "1")],
        &["./attack", "dns-later", "api.test", "8443", "3", "t"],
    );
    let out = stdout(&o);
    assert!(out.contains("first connect: ok=0"), "{}", show(&o));
    assert!(out.contains("later connect: errno=13"), "{}", show(&o));
    assert_eq!(s.received(), "t");
}

#[test]
fn in_mediated_mode_exact_names_work_by_the_monitor_resolving_them_itself() {
    let dns = DnsServer::new(
        "127.78.8.53",
        &[
            ("api.test", &[&["127.78.8.1"]]),
            ("x.cdn.test", &[&["127.78.8.2"]]),
        ],
        300,
    );
    let s1 = Tcp::new("127.78.8.1", 8443);
    let s2 = Tcp::new("127.78.8.2", 8443);
    let r = Run::new("dns-mediated", "");
    let up = dns.upstream("127.78.8.53");
    let mediated = ["--mode", "mediated"];
    let o = r.exec(
        &up,
        &mediated,
        &[],
        &["./attack", "tcp", "127.78.8.1", "8443", "exact"],
    );
    assert!(stdout(&o).contains("tcp send: ok=5"), "{}", show(&o));
    // A wildcard's names are unknown to the monitor here: refused.
    let o = r.exec(
        &up,
        &mediated,
        &[],
        &["./attack", "tcp", "127.78.8.2", "8443", "wild"],
    );
    assert!(stdout(&o).contains("errno=13"), "{}", show(&o));
    assert_eq!(s1.received(), "exact");
    assert_eq!(s2.received(), "");
    assert!(dns.seen().contains(&"api.test".to_string()), "{:?}", dns.seen());
}

#[test]
fn a_name_the_resolver_cannot_resolve_is_refused_at_connect_with_an_audit_record_naming_it() {
    let dns = DnsServer::new("127.78.9.53", &[], 300);
    let s = Tcp::new("127.78.9.1", 8443);
    let r = Run::new("dns-unresolved", "");
    let up = dns.upstream("127.78.9.53");
    let o = r.exec(
        &up,
        &[],
        &[],
        &["./attack", "dns-connect", "api.test", "8443", "x"],
    );
    if isolated() {
        assert!(stdout(&o).contains("resolve api.test: failed="), "{}", show(&o));
    }
    let o = r.exec(&up, &[], &[], &["./attack", "tcp", "127.78.9.1", "8443", "x"]);
    assert!(stdout(&o).contains("errno=13"), "{}", show(&o));
    assert_eq!(s.received(), "");
    let audit = r.audit();
    let line = audit
        .lines()
        .find(|l| l.contains(r#""syscall":"connect""#) && l.contains("127.78.9.1"))
        .unwrap_or_else(|| panic!("no record of the connect: {audit}"));
    assert!(
        line.contains("deny(EACCES)") && line.contains("unresolved") && line.contains("api.test"),
        "{line}"
    );
    assert!(dns.seen().contains(&"api.test".to_string()), "{:?}", dns.seen());
}

// ---- attacks on the forwarder ----

#[test]
fn the_agent_cannot_take_the_resolvers_port() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new("127.78.10.53", &[("api.test", &[&["127.78.10.1"]])], 300);
    let r = Run::new(
        "dns-bind",
        "allow net_server;\n        allow bind [endpoint udp \"*\" port 53, endpoint tcp \"*\" port 53];",
    );
    let o = r.exec(
        &dns.upstream("127.78.10.53"),
        &[],
        &[],
        &["./attack", "dns-bind", "api.test"],
    );
    let out = stdout(&o);
    assert_eq!(
        out.matches("bind ").count(),
        18,
        "every attempt ran: {}",
        show(&o)
    );
    assert!(
        !out.lines().any(|l| l.starts_with("bind ") && l.contains("ok=")),
        "{}",
        show(&o)
    );
    assert!(
        out.contains("resolve after api.test: addr=127.78.10.1"),
        "{}",
        show(&o)
    );
}

#[test]
fn flooding_and_malformed_packets_do_not_stop_the_resolver() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new("127.78.11.53", &[("api.test", &[&["127.78.11.1"]])], 300);
    let r = Run::new("dns-flood", "");
    let o = r.exec(
        &dns.upstream("127.78.11.53"),
        &[],
        &[],
        &["./attack", "dns-flood", "api.test", "300"],
    );
    let out = stdout(&o);
    assert!(
        out.contains("resolve before api.test: addr=127.78.11.1"),
        "{}",
        show(&o)
    );
    assert!(out.contains("flood: sent 300"), "{}", show(&o));
    assert!(
        out.contains("resolve after api.test: addr=127.78.11.1"),
        "{}",
        show(&o)
    );
    assert!(
        !dns.seen().iter().any(|n| n.contains("flood")),
        "{:?}",
        dns.seen()
    );
}

#[test]
fn queries_over_tcp_are_decided_as_over_udp() {
    if !isolated() {
        return;
    }
    let dns = DnsServer::new("127.78.12.53", &[("api.test", &[&["127.78.12.1"]])], 300);
    let r = Run::new("dns-tcp", "");
    let up = dns.upstream("127.78.12.53");
    let o = r.exec(&up, &[], &[], &["./attack", "dns-tcp", "api.test"]);
    assert!(
        stdout(&o).contains("tcp query api.test: answers=1"),
        "{}",
        show(&o)
    );
    let o = r.exec(&up, &[], &[], &["./attack", "dns-tcp", "secret-data.other.test"]);
    assert!(
        stdout(&o).contains("tcp query secret-data.other.test: failed"),
        "{}",
        show(&o)
    );
    assert!(
        !dns.seen().iter().any(|n| n.contains("secret-data")),
        "{:?}",
        dns.seen()
    );
}

#[test]
fn a_resolver_of_the_agents_own_is_decided_by_the_connect_rules() {
    // A resolver the agent picks (8.8.8.8 in real life; a loopback address of
    // the host here, so that nothing leaves the machine): no rule allows
    // sending there, so the query is refused; the sandbox's own resolver answers
    // (isolated mode).
    let own = UdpSocket::bind("127.78.13.53:5353").unwrap();
    own.set_nonblocking(true).unwrap();
    let dns = DnsServer::new("127.78.13.54", &[("api.test", &[&["127.78.13.1"]])], 300);
    let r = Run::new(
        "dns-own",
        "deny(EACCES) send endpoint udp \"127.78.0.0/16\" port 5353;",
    );
    let o = r.exec(
        &dns.upstream("127.78.13.54"),
        &[],
        &[],
        &[
            "./attack",
            "dns-own",
            "127.78.13.53",
            "5353",
            "secret.attacker.test",
            "0",
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("own resolver sendto: errno=13"), "{}", show(&o));
    let mut buf = [0u8; 512];
    assert!(
        own.recv(&mut buf).is_err(),
        "the agent's own resolver heard the query"
    );
    if isolated() {
        assert!(out.contains("sandbox resolver sendto: ok="), "{}", show(&o));
        assert!(
            !dns.seen().iter().any(|n| n.contains("attacker")),
            "{:?}",
            dns.seen()
        );
    }
}

#[test]
fn a_socket_connected_by_name_is_revoked_at_the_taint() {
    // Both modes: isolated, the name resolves through the forwarder first;
    // mediated, the monitor resolves it at the connect.
    let dns = DnsServer::new("127.78.14.53", &[("api.test", &[&["127.78.14.1"]])], 300);
    let s = Tcp::new("127.78.14.1", 8443);
    let r = Run::new("dns-revoke", "");
    let o = r.exec(
        &dns.upstream("127.78.14.53"),
        &[],
        &[],
        &[
            "/bin/sh",
            "-c",
            "./attack dns-connect api.test 8443 pre; ./attack hold tcp 127.78.14.1 8443 .env",
        ],
    );
    let out = stdout(&o);
    // The channel works: connected as api.test, bytes sent before the taint.
    assert!(
        out.contains("connect: ok=0") && out.contains("write before: ok=7"),
        "{}",
        show(&o)
    );
    assert!(out.contains("open secret: ok="), "{}", show(&o));
    let got = s.received();
    assert!(got.contains("before\n"), "{got:?}\n{}", show(&o));
    assert!(
        !got.contains("after"),
        "sent after the taint: {got:?}\n{}",
        show(&o)
    );
}
