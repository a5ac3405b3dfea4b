//! Socket addresses as the monitor reads them from the agent, and the facts about a
//! socket (family, protocol, peer) that decide which endpoint rules apply.

use claw_ir::{NetAddr, Proto};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

/// The largest address the kernel accepts (`sizeof(struct sockaddr_storage)`).
pub const MAX_ADDR: usize = 128;

/// What a socket is: its address family and the protocol its addresses are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketKind {
    /// The address family (`AF_INET`, `AF_UNIX`...).
    pub family: i32,
    /// `Some` for TCP, UDP and unix sockets; `None` for anything else (raw, ICMP,
    /// SCTP...), whose addresses no endpoint rule describes.
    pub proto: Option<Proto>,
}

fn sockopt(fd: &OwnedFd, opt: i32) -> io::Result<i32> {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for the call.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&raw mut v).cast(),
            &mut len,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(v)
    }
}

/// The kind of a socket (`ENOTSOCK` for anything else).
pub fn kind(fd: &OwnedFd) -> io::Result<SocketKind> {
    let family = sockopt(fd, libc::SO_DOMAIN)?;
    let protocol = sockopt(fd, libc::SO_PROTOCOL)?;
    // The type too: a raw socket (`SOCK_RAW`, `IPPROTO_TCP`) reports protocol 6
    // but ignores ports, sends whole IP packets of any protocol with
    // `IP_HDRINCL` and is not a TCP endpoint a rule describes.
    let ty = sockopt(fd, libc::SO_TYPE)?;
    let proto = match family {
        libc::AF_UNIX => Some(Proto::Unix),
        libc::AF_INET | libc::AF_INET6 => match (protocol, ty) {
            (libc::IPPROTO_TCP, libc::SOCK_STREAM) => Some(Proto::Tcp),
            (libc::IPPROTO_UDP, libc::SOCK_DGRAM) => Some(Proto::Udp),
            _ => None,
        },
        _ => None,
    };
    Ok(SocketKind { family, proto })
}

/// What an address names, for a socket of `kind`: `Ok(None)` when it names nothing
/// an endpoint rule can describe (another family, an unnamed unix address).
pub fn parse(bytes: &[u8], kind: SocketKind) -> Result<Option<NetAddr>, i32> {
    if bytes.len() < 2 {
        return Err(libc::EINVAL);
    }
    let family = i32::from(u16::from_ne_bytes([bytes[0], bytes[1]]));
    let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
    match family {
        libc::AF_INET if bytes.len() >= 16 => {
            let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
            Ok(kind
                .proto
                .filter(|p| *p != Proto::Unix)
                .map(|proto| NetAddr::Inet {
                    proto,
                    ip: IpAddr::V4(ip),
                    port: port(bytes),
                }))
        }
        libc::AF_INET6 if bytes.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&bytes[8..24]);
            Ok(kind
                .proto
                .filter(|p| *p != Proto::Unix)
                .map(|proto| NetAddr::Inet {
                    proto,
                    ip: IpAddr::V6(Ipv6Addr::from(a)),
                    port: port(bytes),
                }))
        }
        libc::AF_INET | libc::AF_INET6 => Err(libc::EINVAL),
        libc::AF_UNIX => {
            let path = &bytes[2..];
            if path.is_empty() {
                return Ok(None);
            }
            if path[0] == 0 {
                return Ok(Some(NetAddr::UnixAbstract(
                    String::from_utf8_lossy(&path[1..]).into_owned(),
                )));
            }
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            Ok(Some(NetAddr::UnixPath(
                String::from_utf8_lossy(&path[..end]).into_owned(),
            )))
        }
        _ => Ok(None),
    }
}

/// A `sockaddr_un` for a pathname (at most 107 bytes).
pub fn unix_addr(path: &str) -> Option<Vec<u8>> {
    if path.len() >= 108 {
        return None;
    }
    let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(path.as_bytes());
    v.push(0);
    Some(v)
}

/// The address a connected socket talks to; `None` if it is not connected or its
/// peer has no name (a `socketpair`).
pub fn peer(fd: &OwnedFd, kind: SocketKind) -> Option<NetAddr> {
    let mut buf = [0u8; MAX_ADDR];
    let mut len = MAX_ADDR as libc::socklen_t;
    // SAFETY: buf and len are valid for the call.
    let r = unsafe { libc::getpeername(fd.as_raw_fd(), buf.as_mut_ptr().cast(), &mut len) };
    if r < 0 {
        return None;
    }
    parse(&buf[..(len as usize).min(MAX_ADDR)], kind).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_and_datagram_sockets_are_tcp_and_udp() {
        use std::os::fd::FromRawFd;
        let make = |ty: i32, proto: i32| {
            // SAFETY: socket takes integers only; a descriptor it returns (checked
            // non-negative) is new and owned by exactly one OwnedFd.
            unsafe {
                let fd = libc::socket(libc::AF_INET, ty, proto);
                (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
            }
        };
        let tcp = make(libc::SOCK_STREAM, 0).unwrap();
        assert_eq!(kind(&tcp).unwrap().proto, Some(Proto::Tcp));
        let udp = make(libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0).unwrap();
        assert_eq!(kind(&udp).unwrap().proto, Some(Proto::Udp));
        // Needs CAP_NET_RAW: only where the tests run as root.
        for proto in [libc::IPPROTO_TCP, libc::IPPROTO_UDP] {
            if let Some(raw) = make(libc::SOCK_RAW, proto) {
                assert_eq!(kind(&raw).unwrap().proto, None, "raw, protocol {proto}");
            }
        }
    }

    const TCP: SocketKind = SocketKind {
        family: libc::AF_INET,
        proto: Some(Proto::Tcp),
    };

    #[test]
    fn parses_inet_and_unix() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&443u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[10, 0, 0, 1]);
        assert_eq!(
            parse(&v4, TCP),
            Ok(Some(NetAddr::Inet {
                proto: Proto::Tcp,
                ip: "10.0.0.1".parse().unwrap(),
                port: 443
            }))
        );
        assert_eq!(parse(&v4[..8], TCP), Err(libc::EINVAL), "short");
        let raw = SocketKind {
            family: libc::AF_INET,
            proto: None,
        };
        assert_eq!(parse(&v4, raw), Ok(None), "raw/ICMP sockets match no endpoint");
        let unix = SocketKind {
            family: libc::AF_UNIX,
            proto: Some(Proto::Unix),
        };
        let mut abs = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abs.extend_from_slice(b"\0daemon");
        assert_eq!(
            parse(&abs, unix),
            Ok(Some(NetAddr::UnixAbstract("daemon".into())))
        );
        let p = unix_addr("/run/docker.sock").unwrap();
        assert_eq!(
            parse(&p, unix),
            Ok(Some(NetAddr::UnixPath("/run/docker.sock".into())))
        );
        assert_eq!(parse(&p[..2], unix), Ok(None), "unnamed");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn kinds() -> impl Strategy<Value = SocketKind> {
        (
            prop_oneof![
                Just(libc::AF_INET),
                Just(libc::AF_INET6),
                Just(libc::AF_UNIX),
                any::<i32>()
            ],
            prop_oneof![
                Just(Some(Proto::Tcp)),
                Just(Some(Proto::Udp)),
                Just(Some(Proto::Unix)),
                Just(None)
            ],
        )
            .prop_map(|(family, proto)| SocketKind { family, proto })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any bytes of any length up to `sockaddr_storage`, of any family (the
        /// first two bytes are often a real one): parsed or refused, never a
        /// panic; an inet address is only read from a long enough buffer.
        #[test]
        fn any_address_bytes_parse_or_are_refused(
            family in prop_oneof![
                Just(libc::AF_INET as u16),
                Just(libc::AF_INET6 as u16),
                Just(libc::AF_UNIX as u16),
                any::<u16>()
            ],
            rest in proptest::collection::vec(any::<u8>(), 0..MAX_ADDR),
            cut in 0usize..=MAX_ADDR,
            kind in kinds(),
        ) {
            let mut b = family.to_ne_bytes().to_vec();
            b.extend_from_slice(&rest);
            b.truncate(cut.clamp(2, MAX_ADDR));
            let r = parse(&b, kind);
            if let Ok(Some(NetAddr::Inet { ip, .. })) = &r {
                let need = if ip.is_ipv4() { 16 } else { 24 };
                prop_assert!(b.len() >= need);
            }
            prop_assert!(parse(&b[..b.len().min(1)], kind).is_err());
        }
    }
}
