//! Loopback servers for the network attacks: each test binds its own on a
//! 127.77.x address, lets the sandbox talk to it, and reads what arrived. A
//! server never answers: what it received is what left the sandbox.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

/// A loopback TCP server on port `port` of `ip`; what it received, read after the
/// sandbox finished (or while it runs, by [`Tcp::wait_for`]).
pub struct Tcp(pub TcpListener);

impl Tcp {
    /// Binds `ip:port` (non-blocking), failing the test with the address if it cannot.
    pub fn new(ip: &str, port: u16) -> Tcp {
        let l = TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("binding {ip}:{port}: {e}"));
        l.set_nonblocking(true).unwrap();
        Tcp(l)
    }

    /// Everything every connection sent (connections queue until accepted).
    pub fn received(&self) -> String {
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

    /// What arrived while the sandbox runs: [`Tcp::received`] every 10 ms until
    /// the text holds `marker` or `limit` has passed. Returns all of it (the
    /// caller asserts on it: a missing marker is a channel that did not work).
    pub fn wait_for(&self, marker: &str, limit: Duration) -> String {
        let start = Instant::now();
        let mut got = String::new();
        while start.elapsed() < limit && !got.contains(marker) {
            got.push_str(&self.received());
            std::thread::sleep(Duration::from_millis(10));
        }
        got
    }

    /// The attack scripts' first step, `./attack tcp IP 443 PRE-TAINT-CHANNEL-OK`:
    /// waits up to 120 s for it to arrive and asserts that it did (the channel
    /// works before the taint). `what` names the case in the failure message.
    /// Returns what arrived, for the later check that nothing secret followed.
    pub fn wait_pre_taint(&self, what: &str) -> String {
        let got = self.wait_for("PRE-TAINT", Duration::from_secs(120));
        assert!(
            got.starts_with("PRE-TAINT-CHANNEL-OK"),
            "{what}: the sandbox did not get to its send: {got:?}"
        );
        got
    }
}

/// A loopback UDP server on port `port` of `ip`; the datagrams it received.
pub struct Udp(pub UdpSocket);

impl Udp {
    /// Binds `ip:port` (non-blocking), failing the test with the address if it cannot.
    pub fn new(ip: &str, port: u16) -> Udp {
        let s = UdpSocket::bind((ip, port)).unwrap_or_else(|e| panic!("binding udp {ip}:{port}: {e}"));
        s.set_nonblocking(true).unwrap();
        Udp(s)
    }

    /// Every datagram received so far, in order.
    pub fn received(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = self.0.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}
