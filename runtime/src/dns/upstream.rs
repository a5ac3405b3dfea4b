//! The upstream resolver the monitor asks, from its own network namespace: the
//! first `nameserver` of the host's `/etc/resolv.conf`, or `CLAWLESS_DNS_UPSTREAM`
//! (`ADDR:PORT`, for tests). A query is built afresh from a name and a type (never
//! the agent's bytes: its ID, flags, EDNS options and extra records stay in the
//! sandbox), sent over UDP with a random ID, retried over TCP when truncated; the
//! answer is read with `hickory-proto` (no DNS is parsed by hand).
//!
//! It knows the wire format and sockets; it does not know the policy.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

/// How long one upstream exchange may take.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The largest DNS message read over UDP (EDNS payloads are larger than 512).
const MAX_UDP: usize = 4096;
/// CNAME links followed in an answer.
const MAX_CHAIN: usize = 16;

/// Where queries go.
#[derive(Debug, Clone, Copy)]
pub struct Upstream {
    /// The upstream resolver's address.
    pub addr: SocketAddr,
}

/// What the upstream answered for a name and type: its code, and the addresses
/// (the name's own or its CNAME chain's) with their TTLs.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The response code.
    pub code: ResponseCode,
    /// The addresses with their TTLs in seconds.
    pub addrs: Vec<(IpAddr, u32)>,
}

/// The upstream `clawless --dns-upstream` names (see [`Upstream::choose`]).
static CHOSEN: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();

impl Upstream {
    /// Makes `addr` the upstream of this run, before any other choice (the
    /// `--dns-upstream` option). Only the first call counts.
    pub fn choose(addr: SocketAddr) {
        let _ = CHOSEN.set(addr);
    }

    /// The address given to [`Upstream::choose`], else `CLAWLESS_DNS_UPSTREAM` if
    /// set, else the host's first nameserver; `None` when none gives an address.
    pub fn from_env() -> Result<Option<Upstream>, String> {
        if let Some(&addr) = CHOSEN.get() {
            return Ok(Some(Upstream { addr }));
        }
        if let Ok(v) = std::env::var("CLAWLESS_DNS_UPSTREAM") {
            if !v.is_empty() {
                let addr = v
                    .parse::<SocketAddr>()
                    .map_err(|_| format!("CLAWLESS_DNS_UPSTREAM={v}: expected ADDR:PORT"))?;
                return Ok(Some(Upstream { addr }));
            }
        }
        let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        Ok(first_nameserver(&text).map(|ip| Upstream {
            addr: SocketAddr::new(ip, 53),
        }))
    }

    /// Asks for `name`'s records of type `rtype` (A or AAAA).
    pub fn query(&self, name: &str, rtype: RecordType) -> Result<Answer, String> {
        let qname = Name::from_ascii(format!("{name}.")).map_err(|e| e.to_string())?;
        let id = random_id();
        let mut msg = Message::new();
        msg.set_id(id)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(true)
            .add_query(Query::query(qname.clone(), rtype));
        let bytes = msg.to_vec().map_err(|e| e.to_string())?;
        let reply = self.over_udp(&bytes, id, &qname, rtype)?;
        let reply = if reply.truncated() {
            self.over_tcp(&bytes, id, &qname, rtype)?
        } else {
            reply
        };
        Ok(Answer {
            code: reply.response_code(),
            addrs: addresses(&reply, &qname, rtype),
        })
    }

    fn over_udp(&self, q: &[u8], id: u16, name: &Name, rtype: RecordType) -> Result<Message, String> {
        let local: SocketAddr = if self.addr.is_ipv4() {
            "0.0.0.0:0".parse().map_err(|_| "address")?
        } else {
            "[::]:0".parse().map_err(|_| "address")?
        };
        let s = UdpSocket::bind(local).map_err(|e| e.to_string())?;
        s.connect(self.addr).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
        s.send(q).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; MAX_UDP];
        // Bounded: a connected socket hears only the upstream; a stray answer
        // (wrong ID or question) is skipped, a few times at most.
        for _ in 0..8 {
            let n = s.recv(&mut buf).map_err(|e| e.to_string())?;
            if let Some(m) = matching(&buf[..n], id, name, rtype) {
                return Ok(m);
            }
        }
        Err("no matching answer".into())
    }

    fn over_tcp(&self, q: &[u8], id: u16, name: &Name, rtype: RecordType) -> Result<Message, String> {
        let mut s = TcpStream::connect_timeout(&self.addr, TIMEOUT).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
        let len = u16::try_from(q.len()).map_err(|_| "query too long")?;
        let mut out = len.to_be_bytes().to_vec();
        out.extend_from_slice(q);
        s.write_all(&out).map_err(|e| e.to_string())?;
        let mut l = [0u8; 2];
        s.read_exact(&mut l).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(l))];
        s.read_exact(&mut buf).map_err(|e| e.to_string())?;
        matching(&buf, id, name, rtype).ok_or_else(|| "no matching answer".into())
    }
}

/// The answer to our query, or `None` (not an answer, not to this query).
fn matching(b: &[u8], id: u16, name: &Name, rtype: RecordType) -> Option<Message> {
    let m = Message::from_vec(b).ok()?;
    let q = m.queries().first()?;
    // Names compare without case (hickory's `Name` equality).
    (m.message_type() == MessageType::Response
        && m.id() == id
        && m.queries().len() == 1
        && q.query_type() == rtype
        && q.name() == name)
        .then_some(m)
}

/// The addresses of type `rtype` for `name` in the answer section: its own
/// records and those of the CNAME chain that starts at it (at most
/// [`MAX_CHAIN`] links).
fn addresses(m: &Message, name: &Name, rtype: RecordType) -> Vec<(IpAddr, u32)> {
    let mut names = vec![name.clone()];
    for _ in 0..MAX_CHAIN {
        let before = names.len();
        for r in m.answers() {
            if let RData::CNAME(c) = r.data() {
                if names.iter().any(|n| n == r.name()) && !names.iter().any(|n| n == &c.0) {
                    names.push(c.0.clone());
                }
            }
        }
        if names.len() == before {
            break;
        }
    }
    m.answers()
        .iter()
        .filter(|r| names.iter().any(|n| n == r.name()))
        .filter_map(|r| match (r.data(), rtype) {
            (RData::A(a), RecordType::A) => Some((IpAddr::V4(a.0), r.ttl())),
            (RData::AAAA(a), RecordType::AAAA) => Some((IpAddr::V6(a.0), r.ttl())),
            _ => None,
        })
        .collect()
}

/// The first `nameserver` address of a resolv.conf.
pub fn first_nameserver(text: &str) -> Option<IpAddr> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("nameserver"))
            .then(|| w.next())
            .flatten()
            .and_then(|a| a.split('%').next())
            .and_then(|a| a.parse().ok())
    })
}

/// A random query ID (from the kernel's generator).
pub fn random_id() -> u16 {
    let mut b = [0u8; 2];
    // SAFETY: b is valid for its length.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != 2 {
        // The clock's low bits: unpredictable enough against nobody (the
        // upstream path is outside the sandbox).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        return (t ^ (t >> 16)) as u16;
    }
    u16::from_ne_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_nameserver() {
        let t = "# generated\nsearch example\nnameserver 10.255.255.53\nnameserver 1.1.1.1\n";
        assert_eq!(first_nameserver(t), Some("10.255.255.53".parse().unwrap()));
        assert_eq!(
            first_nameserver("nameserver fe80::1%eth0\n"),
            Some("fe80::1".parse().unwrap())
        );
        assert_eq!(first_nameserver("options edns0\n"), None);
    }
}
