//! The sockets that reach outside an isolated sandbox, which only the monitor
//! makes.
//!
//! In isolated mode the agent's sockets live in the sandbox's own network
//! namespace, whose one interface is `lo`: whatever the agent does with them
//! (any syscall, flag or socket option, any family), they reach nothing but that
//! loopback. When the policy allows a `connect` (or a datagram `send`) to an
//! address outside, the monitor makes a socket of the same family, type and
//! protocol in its *own* namespace, gives it what the agent set on its socket
//! (non-blocking mode, close-on-exec, the options programs commonly set), binds
//! it where the agent had bound its own (if the policy allows that bind), and
//! installs it in place of the agent's descriptor, at the same number, in one step
//! (`SECCOMP_IOCTL_NOTIF_ADDFD` with `SECCOMP_ADDFD_FLAG_SETFD`); the caller then
//! connects it (or sends on it) and keeps a duplicate for revocation. Data flows
//! at kernel speed from then on.
//!
//! This module knows sockets and namespaces; it does not decide (the caller does,
//! with the policy) and does not know which addresses stay inside
//! (`Ir::stays_inside`).

use crate::monitor::{Fail, Monitor};
use crate::notify::Notification;
use crate::sockaddr::SocketKind;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// The monitor's own network namespace (device and inode of `/proc/self/ns/net`).
fn own_netns() -> Option<(u64, u64)> {
    static NS: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    *NS.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata("/proc/self/ns/net").ok()?;
        Some((m.dev(), m.ino()))
    })
}

/// Is `sock` in the monitor's network namespace (one the monitor made for the
/// agent, or one inherited from outside), rather than the sandbox's own?
/// Unknown counts as the monitor's: such a socket is decided and never replaced.
pub(super) fn is_host_socket(sock: &OwnedFd) -> bool {
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor.
    let ns = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGSKNS) };
    if ns < 0 {
        return true;
    }
    // SAFETY: a fresh descriptor, owned here.
    let ns = unsafe { OwnedFd::from_raw_fd(ns) };
    // SAFETY: st is written by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on a descriptor we own.
    if unsafe { libc::fstat(ns.as_raw_fd(), &mut st) } != 0 {
        return true;
    }
    own_netns().is_none_or(|own| own == (st.st_dev, st.st_ino))
}

/// The options copied from the agent's socket (level, name). Only values that
/// differ from a fresh socket's are set: setting a buffer size turns the
/// kernel's autotuning off. Not copied: what names devices or marks of the
/// sandbox's namespace (`SO_BINDTODEVICE`, `SO_MARK`), and what sends or connects
/// by itself (`TCP_FASTOPEN_CONNECT`, `UDP_CORK`, `TCP_CORK`).
const OPTIONS: &[(i32, i32)] = &[
    (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
    (libc::SOL_SOCKET, libc::SO_RCVBUF),
    (libc::SOL_SOCKET, libc::SO_SNDBUF),
    (libc::SOL_SOCKET, libc::SO_REUSEADDR),
    (libc::SOL_SOCKET, libc::SO_REUSEPORT),
    (libc::SOL_SOCKET, libc::SO_LINGER),
    (libc::SOL_SOCKET, libc::SO_RCVTIMEO),
    (libc::SOL_SOCKET, libc::SO_SNDTIMEO),
    (libc::SOL_SOCKET, libc::SO_BROADCAST),
    (libc::SOL_SOCKET, libc::SO_OOBINLINE),
    (libc::SOL_SOCKET, libc::SO_PRIORITY),
    (libc::SOL_SOCKET, libc::SO_RCVLOWAT),
    (libc::IPPROTO_TCP, libc::TCP_NODELAY),
    (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
    (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
    (libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
    (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT),
    (libc::IPPROTO_TCP, libc::TCP_QUICKACK),
    (libc::IPPROTO_IP, libc::IP_TOS),
    (libc::IPPROTO_IP, libc::IP_TTL),
    (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
    (libc::IPPROTO_IPV6, libc::IPV6_TCLASS),
    (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS),
];

/// An option's value (at most 16 bytes: a `struct timeval`), if the socket has it.
fn get(fd: &OwnedFd, level: i32, name: i32) -> Option<Vec<u8>> {
    let mut buf = [0u8; 16];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: buf and len are valid for the call.
    let r = unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, buf.as_mut_ptr().cast(), &mut len) };
    (r == 0).then(|| buf[..(len as usize).min(buf.len())].to_vec())
}

fn int_opt(fd: &OwnedFd, level: i32, name: i32) -> Option<i32> {
    let v = get(fd, level, name)?;
    Some(i32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

/// Copies what the agent set on `from` to `to` (best effort: an option the new
/// socket refuses is left as the kernel made it).
fn copy_options(from: &OwnedFd, to: &OwnedFd) {
    for &(level, name) in OPTIONS {
        let (Some(mut theirs), Some(fresh)) = (get(from, level, name), get(to, level, name)) else {
            continue;
        };
        if theirs == fresh {
            continue;
        }
        if level == libc::SOL_SOCKET && (name == libc::SO_RCVBUF || name == libc::SO_SNDBUF) {
            // getsockopt reports twice what setsockopt was given.
            if let Some(v) = theirs.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                theirs = (i32::from_ne_bytes(v) / 2).to_ne_bytes().to_vec();
            }
        }
        // SAFETY: theirs is valid for its length.
        unsafe {
            libc::setsockopt(
                to.as_raw_fd(),
                level,
                name,
                theirs.as_ptr().cast(),
                theirs.len() as libc::socklen_t,
            );
        }
    }
}

/// The port `sock` is bound to (0 when it is not bound), and its address bytes.
fn bound(sock: &OwnedFd) -> Option<(u16, Vec<u8>)> {
    let mut ss = [0u8; crate::sockaddr::MAX_ADDR];
    let mut len = ss.len() as libc::socklen_t;
    // SAFETY: ss and len are valid for the call.
    let r = unsafe { libc::getsockname(sock.as_raw_fd(), ss.as_mut_ptr().cast(), &mut len) };
    if r != 0 || (len as usize) < 4 || len as usize > ss.len() {
        return None;
    }
    Some((u16::from_be_bytes([ss[2], ss[3]]), ss[..len as usize].to_vec()))
}

/// Is the address of an `AF_INET`/`AF_INET6` sockaddr the wildcard?
fn wildcard(addr: &[u8]) -> bool {
    let family = i32::from(u16::from_ne_bytes([addr[0], addr[1]]));
    match family {
        libc::AF_INET => addr.get(4..8).is_some_and(|a| a == [0; 4]),
        libc::AF_INET6 => addr.get(8..24).is_some_and(|a| a == [0; 16]),
        _ => false,
    }
}

/// Makes, in the monitor's namespace, the socket that replaces the agent's `sock`
/// (not yet installed: see [`install`]).
pub(super) fn make(m: &Monitor, sock: &OwnedFd, kind: SocketKind) -> Result<OwnedFd, Fail> {
    let ty = int_opt(sock, libc::SOL_SOCKET, libc::SO_TYPE).ok_or(Fail::Errno(libc::ENOTSOCK))?;
    let proto = int_opt(sock, libc::SOL_SOCKET, libc::SO_PROTOCOL).ok_or(Fail::Errno(libc::ENOTSOCK))?;
    // Only plain TCP and UDP sockets are ever made for the agent (never raw,
    // packet, SCTP, MPTCP...: what no endpoint rule describes stays inside).
    let plain = matches!(
        (ty, proto),
        (libc::SOCK_STREAM, libc::IPPROTO_TCP) | (libc::SOCK_DGRAM, libc::IPPROTO_UDP)
    );
    if !plain || !matches!(kind.family, libc::AF_INET | libc::AF_INET6) {
        return Err(Fail::Errno(libc::EPERM));
    }
    // SAFETY: plain syscall; the descriptor is owned below.
    let fd = unsafe { libc::socket(kind.family, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: a fresh descriptor.
    let new = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain fcntls on descriptors we own (the agent's file's status flags).
    unsafe {
        let fl = libc::fcntl(sock.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 && fl & libc::O_NONBLOCK != 0 {
            libc::fcntl(new.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
        }
    }
    copy_options(sock, &new);
    // A port the agent bound (to the wildcard: the sandbox has no other address
    // outside lo) is bound again here if the policy allows it in this state.
    if let Some((port, addr)) = bound(sock) {
        if port != 0 && wildcard(&addr) {
            let at = crate::sockaddr::parse(&addr, kind).ok().flatten();
            let nr = m.table().by_name("bind").map_or(u32::MAX, |s| s.nr);
            let allowed = at.is_some_and(|a| {
                m.peek(
                    nr,
                    &[claw_ir::Access::Net {
                        verb: claw_ir::Verb::Bind,
                        addr: a,
                        name: None,
                    }],
                )
                .allowed()
            });
            if allowed {
                // SAFETY: addr is a sockaddr of its length, read back from the kernel.
                let r = unsafe {
                    libc::bind(
                        new.as_raw_fd(),
                        addr.as_ptr().cast(),
                        addr.len() as libc::socklen_t,
                    )
                };
                if r != 0 {
                    return Err(std::io::Error::last_os_error().into());
                }
            }
        }
    }
    Ok(new)
}

/// Whether the agent's descriptor `fd` is close-on-exec (its `fdinfo` flags).
fn cloexec(tgid: u32, fd: i32) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{tgid}/fdinfo/{fd}")) else {
        return true;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .is_none_or(|f| f & libc::O_CLOEXEC as u32 != 0)
}

/// Installs `new` as the agent's descriptor `fd` (same number, its close-on-exec
/// flag kept), replacing the socket of the sandbox's namespace.
pub(super) fn install(m: &Monitor, n: &Notification, fd: i32, new: &OwnedFd) -> Result<(), Fail> {
    let tgid = m.asker(n).tgid();
    let ce = cloexec(tgid, fd);
    m.valid(n)?;
    m.listener
        .install_fd(n.id, new.as_fd(), fd, ce)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Fail::Gone,
            _ => Fail::from(e),
        })
}
