//! The sandbox's resolver in isolated mode: a UDP and a TCP socket on
//! `127.0.0.53:53` of the sandbox's network namespace, bound by our init before
//! the agent existed (so the agent can neither take the port first nor bind a
//! wildcard over it: neither socket sets `SO_REUSEADDR` or `SO_REUSEPORT`) and
//! served here, by the monitor.
//!
//! Each message is read with `hickory-proto`; anything that is not one plain
//! query (an answer, a malformed packet, several questions, another opcode or
//! class) gets no query out of the sandbox. A query for a name the current state
//! could not use (`Ir::forwards`) is answered `NXDOMAIN` at once — after the
//! taint a query for `<secret>.attacker.example` goes nowhere. Otherwise the
//! monitor asks the upstream itself (`upstream`: a fresh query with only the
//! name and type, A or AAAA; other types of a usable name are answered with no
//! records), keeps the answers the policy admits (`Ir::admits_answer`: private
//! and loopback addresses are dropped unless the policy names their block) in
//! the table connects consult, and returns those only. Every query is recorded
//! in the audit log (`"syscall": "dns"`), which `clawless learn` reads.
//!
//! The agent can only slow its own resolution: UDP and TCP are served by a
//! thread each, one message at a time, every exchange bounded in size and time.

use super::Dns;
use crate::audit::Record;
use crate::monitor::Monitor;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{DNSClass, RData, Record as Rr, RecordType};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

/// The largest query read (a query is a name and a few fixed fields).
const MAX_QUERY: usize = 4096;
/// At most this many address records in one answer (fits 512 bytes over UDP).
const MAX_RECORDS: usize = 16;
/// How long a TCP client may take per message, and messages per connection.
const TCP_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_MESSAGES: usize = 4;

/// The forwarder's sockets, in the sandbox's network namespace.
pub struct Sockets {
    /// The UDP socket on the sandbox's resolver address.
    pub udp: OwnedFd,
    /// The listening TCP socket on the same address.
    pub tcp: OwnedFd,
}

/// Serves both sockets on threads of their own, for the life of the process.
pub fn start(m: &Arc<Monitor>, s: Sockets) {
    let udp = UdpSocket::from(s.udp);
    let tcp = TcpListener::from(s.tcp);
    let mu = Arc::clone(m);
    let _ = std::thread::Builder::new()
        .name("claw-dns-udp".into())
        .spawn(move || serve_udp(&mu, &udp));
    let mt = Arc::clone(m);
    let _ = std::thread::Builder::new()
        .name("claw-dns-tcp".into())
        .spawn(move || serve_tcp(&mt, &tcp));
}

fn serve_udp(m: &Monitor, s: &UdpSocket) {
    let mut buf = vec![0u8; MAX_QUERY];
    loop {
        let Ok((n, from)) = s.recv_from(&mut buf) else {
            // A persistent error must not spin a core (a client that left
            // before its answer costs one such error: ECONNREFUSED).
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        if let Some(out) = answer(m, &buf[..n], "udp") {
            let _ = s.send_to(&out, from);
        }
    }
}

fn serve_tcp(m: &Monitor, l: &TcpListener) {
    loop {
        let Ok((c, _)) = l.accept() else {
            // Out of descriptors, say: do not spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        serve_connection(m, c);
    }
}

fn serve_connection(m: &Monitor, mut c: TcpStream) {
    if c.set_read_timeout(Some(TCP_TIMEOUT)).is_err() || c.set_write_timeout(Some(TCP_TIMEOUT)).is_err() {
        return;
    }
    for _ in 0..TCP_MESSAGES {
        let mut l = [0u8; 2];
        if c.read_exact(&mut l).is_err() {
            return;
        }
        let len = usize::from(u16::from_be_bytes(l));
        if len > MAX_QUERY {
            return;
        }
        let mut q = vec![0u8; len];
        if c.read_exact(&mut q).is_err() {
            return;
        }
        let Some(out) = answer(m, &q, "tcp") else { return };
        let Ok(n) = u16::try_from(out.len()) else { return };
        let mut framed = n.to_be_bytes().to_vec();
        framed.extend_from_slice(&out);
        if c.write_all(&framed).is_err() {
            return;
        }
    }
}

/// A response to `q` with `code` and `answers`.
fn reply(q: &Message, code: ResponseCode, answers: Vec<Rr>) -> Option<Vec<u8>> {
    let mut r = Message::new();
    r.set_id(q.id())
        .set_message_type(MessageType::Response)
        .set_op_code(q.op_code())
        .set_recursion_desired(q.recursion_desired())
        .set_recursion_available(true)
        .set_response_code(code);
    for query in q.queries().iter().take(1) {
        r.add_query(query.clone());
    }
    for a in answers {
        r.add_answer(a);
    }
    r.to_vec().ok()
}

/// What the forwarder says to one message (`None`: nothing, it is no query).
pub fn answer(m: &Monitor, packet: &[u8], transport: &str) -> Option<Vec<u8>> {
    let q = Message::from_vec(packet).ok()?;
    if q.message_type() != MessageType::Query {
        return None; // an answer sent to the resolver: dropped
    }
    if q.op_code() != OpCode::Query {
        return reply(&q, ResponseCode::NotImp, vec![]);
    }
    let [query] = q.queries() else {
        return reply(&q, ResponseCode::FormErr, vec![]);
    };
    let shown_name = query.name().to_ascii();
    let Some(name) = claw_stdlib::domain::normalize(&shown_name) else {
        record(
            m,
            &shown_name,
            query.query_type(),
            transport,
            "deny(FORMERR)",
            &[],
        );
        return reply(&q, ResponseCode::FormErr, vec![]);
    };
    let rtype = query.query_type();
    let state = m.state();
    if query.query_class() != DNSClass::IN || !m.ir.forwards(state, &name) {
        record(m, &name, rtype, transport, "deny(NXDOMAIN)", &[]);
        return reply(&q, ResponseCode::NXDomain, vec![]);
    }
    let dns: &Dns = m.dns()?;
    if !matches!(rtype, RecordType::A | RecordType::AAAA) {
        record(m, &name, rtype, transport, "allow(no records)", &[]);
        return reply(&q, ResponseCode::NoError, vec![]);
    }
    let Some(a) = dns.resolve(&m.ir, &name, rtype) else {
        record(m, &name, rtype, transport, "allow(SERVFAIL)", &[]);
        return reply(&q, ResponseCode::ServFail, vec![]);
    };
    let ttl_max = u32::try_from(dns.answers.ttl().max.as_secs()).unwrap_or(u32::MAX);
    let records: Vec<Rr> = a
        .addrs
        .iter()
        .take(MAX_RECORDS)
        .map(|(ip, ttl)| {
            let data = match ip {
                IpAddr::V4(v4) => RData::A(A(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
            };
            Rr::from_rdata(query.name().clone(), (*ttl).min(ttl_max), data)
        })
        .collect();
    let ips: Vec<IpAddr> = a.addrs.iter().map(|(ip, _)| *ip).collect();
    record(m, &name, rtype, transport, "allow", &ips);
    let code = if a.code == ResponseCode::NXDomain {
        ResponseCode::NXDomain
    } else {
        ResponseCode::NoError
    };
    reply(&q, code, records)
}

/// An audit record of a query: the name, the type, what was done, the answers.
fn record(m: &Monitor, name: &str, rtype: RecordType, transport: &str, decision: &str, answers: &[IpAddr]) {
    let audit = m.audit();
    if !audit.enabled() {
        return;
    }
    let state = &m.ir.states[m.state() as usize];
    let answers: Vec<String> = answers.iter().map(ToString::to_string).collect();
    audit.record(
        &Record {
            time: crate::audit::now(),
            pid: 0,
            tid: 0,
            syscall: "dns",
            args: json!({ "name": name, "type": rtype.to_string(), "transport": transport, "answers": answers }),
            decision: decision.to_string(),
            rule: "forwarder",
            state_before: state,
            state_after: state,
        },
        decision.starts_with("deny"),
    );
}
