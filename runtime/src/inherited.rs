//! Sockets `clawless` inherits from whoever started it (any descriptor, 0, 1 and
//! 2 included). The agent inherits them in turn, and a socket connected before
//! the session is as good a channel as one the monitor connected, so each must be
//! within revocation's reach: found here before `clawless` makes any descriptor
//! of its own, then handed to the monitor ([`crate::monitor::Monitor::adopt`]),
//! which tracks a duplicate with its peer (and shuts it down at once if the
//! initial state does not allow that peer).
//!
//! What this module decides per socket: one with a named peer (TCP, UDP, a unix
//! socket connected to a path or an abstract name) is tracked; one without a peer
//! that an endpoint rule could describe (an unnamed `socketpair`, an unconnected
//! unix, TCP or UDP socket: its sends come to the monitor) is left alone; any other
//! socket (raw, packet, netlink, SCTP, ...: addresses no rule describes) is
//! replaced by `/dev/null` so the agent never holds it. A unix socket at 0, 1 or
//! 2 is marked [`Inherited::stdio`]: it may be the launcher's own channel, like a
//! pipe there (journald's stdout stream), which the monitor leaves alone unless
//! the policy names its peer (a host daemon: see `Monitor::adopt`). It does not
//! know the policy.

use crate::sockaddr;
use claw_ir::{NetAddr, Proto};
use std::os::fd::{FromRawFd, OwnedFd};

/// At most this many descriptors are looked at (a table larger than this is not
/// inherited by any ordinary launcher; the rest are left as they are).
const MAX_SCANNED: usize = 65_536;

/// An inherited socket to track: a duplicate, its peer, and whether it is UDP.
pub struct Inherited {
    /// The monitor's duplicate of the socket.
    pub sock: OwnedFd,
    /// Its peer's address.
    pub peer: NetAddr,
    /// Whether it is a UDP socket.
    pub udp: bool,
    /// A unix socket at standard input, output or error.
    pub stdio: bool,
}

/// What was found: the sockets to track and the descriptors replaced.
#[derive(Default)]
pub struct Found {
    /// The sockets to track (revoked with the monitor's own).
    pub tracked: Vec<Inherited>,
    /// The descriptors replaced (numbers of the agent's).
    pub replaced: Vec<i32>,
}

fn is_socket(fd: i32) -> bool {
    // SAFETY: `stat` is plain old data: all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writing; `fd` may be any number: fstat of a bad one
    // fails (EBADF) without touching anything.
    (unsafe { libc::fstat(fd, &mut st) } == 0) && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
}

/// Scans this process's descriptors (call before making any socket of its own).
pub fn find() -> Found {
    let mut found = Found::default();
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return found;
    };
    let fds: Vec<i32> = dir
        .take(MAX_SCANNED)
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if !is_socket(fd) {
            continue; // also the directory's own descriptor, closed by now
        }
        // SAFETY: F_DUPFD_CLOEXEC takes integers only; the duplicate it returns is new
        // and owned below.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            continue;
        }
        // SAFETY: dup is a fresh descriptor nobody else owns.
        let sock = unsafe { OwnedFd::from_raw_fd(dup) };
        let Ok(kind) = sockaddr::kind(&sock) else {
            continue;
        };
        if kind.proto.is_none() {
            replace_with_null(fd);
            found.replaced.push(fd);
            continue;
        }
        if let Some(peer) = sockaddr::peer(&sock, kind) {
            found.tracked.push(Inherited {
                sock,
                peer,
                udp: kind.proto == Some(Proto::Udp),
                stdio: fd <= 2 && kind.family == libc::AF_UNIX,
            });
        }
    }
    found
}

/// Puts `/dev/null` at `fd` (the socket there is closed in this process, so the
/// agent never inherits it).
fn replace_with_null(fd: i32) {
    // SAFETY: a literal C path, and integer descriptors: `fd` is one the caller
    // decided to replace (owned by no OwnedFd), `null` is ours and closed once.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup2(null, fd);
            libc::close(null);
        } else {
            libc::close(fd);
        }
    }
}
