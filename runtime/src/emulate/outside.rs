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
use claw_ir::Proto;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// `SO_NETNS_COOKIE` (Linux 5.14; the same number on every architecture the
/// runtime supports): the 64-bit cookie of the socket's network namespace.
const SO_NETNS_COOKIE: i32 = 71;

/// The cookie of a socket's network namespace.
fn netns_cookie(sock: i32) -> Option<u64> {
    let mut v: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: v and len are valid for the call.
    let r = unsafe {
        libc::getsockopt(
            sock,
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&raw mut v).cast(),
            &mut len,
        )
    };
    (r == 0 && len as usize == std::mem::size_of::<u64>()).then_some(v)
}

/// The cookie of the monitor's own network namespace (read once, from a socket
/// made for that).
fn own_netns() -> Option<u64> {
    static NS: OnceLock<Option<u64>> = OnceLock::new();
    *NS.get_or_init(|| {
        // SAFETY: plain syscall; the descriptor is owned below.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        netns_cookie(fd.as_raw_fd())
    })
}

/// Is `sock` in the monitor's network namespace (one the monitor made for the
/// agent, or one inherited from outside), rather than the sandbox's own?
/// Unknown counts as the monitor's: such a socket is decided and never replaced.
/// (One `getsockopt`: no namespace descriptor is opened.)
pub(super) fn is_host_socket(sock: &OwnedFd) -> bool {
    match (netns_cookie(sock.as_raw_fd()), own_netns()) {
        (Some(theirs), Some(own)) => theirs == own,
        _ => true,
    }
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

/// What a fresh socket of the monitor's namespace has for each of [`OPTIONS`]
/// (`None`: it has no such option), for each of the four kinds of socket ever
/// made (IPv4/IPv6, TCP/UDP). Read once per kind: they come from the
/// namespace's settings, not from any socket (reading them from each new
/// socket doubled the `getsockopt`s of a connect).
fn fresh(family: i32, ty: i32, proto: i32) -> &'static [Option<Vec<u8>>] {
    static FRESH: [OnceLock<Vec<Option<Vec<u8>>>>; 4] = [const { OnceLock::new() }; 4];
    let i = usize::from(family == libc::AF_INET6) * 2 + usize::from(ty == libc::SOCK_DGRAM);
    FRESH[i].get_or_init(|| {
        // SAFETY: plain syscall; the descriptor is owned below.
        let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, proto) };
        if fd < 0 {
            return Vec::new();
        }
        // SAFETY: a fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        OPTIONS
            .iter()
            .map(|&(level, name)| get(&fd, level, name))
            .collect()
    })
}

/// Copies what the agent set on `from` to `to`, a fresh socket of
/// (`family`, `ty`, `proto`) (best effort: an option the new socket refuses
/// is left as the kernel made it).
fn copy_options(from: &OwnedFd, to: &OwnedFd, family: i32, ty: i32, proto: i32) {
    let fresh = fresh(family, ty, proto);
    for (i, &(level, name)) in OPTIONS.iter().enumerate() {
        let Some(Some(fresh)) = fresh.get(i) else {
            continue;
        };
        let Some(mut theirs) = get(from, level, name) else {
            continue;
        };
        if theirs == *fresh {
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
    // Only plain TCP and UDP sockets are ever made for the agent (never raw,
    // packet, SCTP, MPTCP...: what no endpoint rule describes stays inside).
    // `kind` read the socket's type and protocol: TCP is exactly a
    // `SOCK_STREAM` socket of `IPPROTO_TCP`, UDP a `SOCK_DGRAM` of `IPPROTO_UDP`.
    let (ty, proto) = match kind.proto {
        Some(Proto::Tcp) => (libc::SOCK_STREAM, libc::IPPROTO_TCP),
        Some(Proto::Udp) => (libc::SOCK_DGRAM, libc::IPPROTO_UDP),
        _ => return Err(Fail::Errno(libc::EPERM)),
    };
    if !matches!(kind.family, libc::AF_INET | libc::AF_INET6) {
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
    copy_options(sock, &new, kind.family, ty, proto);
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

/// Whether the descriptor `fd` of thread `tid` is close-on-exec (its `fdinfo`
/// flags, in the thread's own table: see `agent::take_thread_fd`). Unknown
/// counts as close-on-exec. One `read` of the start of the file, where `flags:`
/// is (`pos:` comes first; both are short), instead of reading all of it.
fn cloexec(tid: u32, fd: i32) -> bool {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(format!("/proc/{tid}/fdinfo/{fd}")) else {
        return true;
    };
    let mut buf = [0u8; 128];
    let n = f.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .is_none_or(|f| f & libc::O_CLOEXEC as u32 != 0)
}

/// Installs `new` as the agent's descriptor `fd` (same number, its close-on-exec
/// flag kept), replacing the socket of the sandbox's namespace.
pub(super) fn install(m: &Monitor, n: &Notification, fd: i32, new: &OwnedFd) -> Result<(), Fail> {
    let ce = cloexec(n.tid, fd);
    m.valid(n)?;
    m.listener
        .install_fd(n.id, new.as_fd(), fd, ce)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Fail::Gone,
            _ => Fail::from(e),
        })
}
