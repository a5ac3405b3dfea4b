//! The tripwires' fanotify listener: a process of its own, so that a stopped
//! `clawless` does not stall every process on the host that opens a file it
//! marked (red team round 3/4: "a stopped clawless stalls outside opens").
//!
//! A fanotify permission event blocks the opener until the group answers. The
//! group's events are read here, in a child of `clawless` forked at start-up, in
//! its own process group (a terminal's `^Z`, `^C` and `^\` go to the foreground
//! group, which it is not in), ignoring `SIGTSTP`, `SIGTTIN` and `SIGTTOU`, and
//! dying with the thread that forked it (`PR_SET_PDEATHSIG`). An opener in
//! `clawless`'s own pid namespace is outside the sandbox (every sandbox process is
//! in the sandbox's namespace, below ours): it is answered `FAN_ALLOW` here at
//! once, with no look at the file, whatever `clawless` is doing (stopped by
//! `SIGSTOP` or `^Z`, busy). Every other event is passed, with its descriptor, to
//! `clawless` over a `SOCK_SEQPACKET` pair (without blocking: a full socket
//! leaves it queued here, and a full queue refuses the open, fail closed) and
//! answered when `clawless` sends the answer back.
//!
//! If this process dies, `clawless` sees the end of the socket, kills the
//! sandbox, waits for its init to end (the kernel ends every process of the pid
//! namespace first), and only then drops its own copy of the group (closing a
//! group allows every pending open): the sandbox never outlives its tripwires.
//!
//! What it does not cover: a `SIGSTOP` sent to this process itself stalls outside
//! opens again (the user's explicit choice, docs/threat-model.md); an outside
//! process in a third pid namespace (a container) is not recognised here and
//! waits for `clawless`'s answer.
//!
//! The child runs after `fork` in a process with threads: it only makes system
//! calls on memory allocated before the fork (no allocation, no lock, no output).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// An event passed to `clawless`: the key is the event's descriptor number here
/// (the answer names it), the descriptor itself goes along with `SCM_RIGHTS`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Ask {
    /// The event's descriptor number in the listener (the answer's key).
    pub key: i32,
    /// The opener's thread id (our pid namespace).
    pub tid: i32,
    /// The event's mask.
    pub mask: u64,
}

/// `clawless`'s answer to an [`Ask`].
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Answer {
    /// The [`Ask`]'s key.
    pub key: i32,
    /// The fanotify response.
    pub response: u32,
}

/// `struct fanotify_response`.
#[repr(C)]
struct Response {
    fd: i32,
    response: u32,
}

/// The most events the listener holds for `clawless` (queued or awaiting an
/// answer); past it a sandbox open is refused.
const CAP: usize = 4096;

/// Forks the listener for the fanotify group `fan`; `own_ns` is the inode of our
/// pid namespace. Returns our end of the socket and the listener's pid. Must be
/// called from a thread that lives as long as the run (the listener dies with it).
pub(crate) fn spawn(fan: i32, own_ns: u64) -> Result<(OwnedFd, i32), String> {
    let mut sv = [0i32; 2];
    // SAFETY: sv is valid for two descriptors.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    } != 0
    {
        return Err(format!(
            "the tripwire listener's socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fresh descriptors.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
    // Everything the child uses, allocated before the fork.
    let mut events = vec![0u8; 64 * 1024];
    let mut queue = vec![Ask::default(); CAP];
    let mut answers = vec![Answer::default(); 1];
    let mut path = [0u8; 64];
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the child only runs `listen`, which makes system calls on the
    // memory above and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!(
            "forking the tripwire listener: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        // SAFETY: in the child of a fork: see `listen`.
        unsafe {
            listen(
                fan,
                theirs.as_raw_fd(),
                parent,
                own_ns,
                &mut events,
                &mut queue,
                &mut answers,
                &mut path,
            )
        }
    }
    drop(theirs);
    Ok((ours, pid))
}

/// `/proc/<tid>/ns/pid` written into `buf` (NUL-terminated), without allocating.
fn ns_path(tid: i32, buf: &mut [u8; 64]) {
    let head = b"/proc/";
    let tail = b"/ns/pid\0";
    let mut digits = [0u8; 12];
    let mut n = tid.unsigned_abs();
    let mut k = 0;
    loop {
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        k += 1;
        if n == 0 || k == digits.len() {
            break;
        }
    }
    let mut i = 0;
    for &b in head {
        buf[i] = b;
        i += 1;
    }
    for j in (0..k).rev() {
        buf[i] = digits[j];
        i += 1;
    }
    for &b in tail {
        buf[i] = b;
        i += 1;
    }
}

/// The listener's loop (never returns).
///
/// # Safety
/// Only in the child of `fork`: it makes system calls on the given memory and
/// `_exit`s; `fan` and `sock` are open descriptors.
#[allow(clippy::too_many_arguments)]
unsafe fn listen(
    fan: i32,
    sock: i32,
    parent: i32,
    own_ns: u64,
    events: &mut [u8],
    queue: &mut [Ask],
    answers: &mut [Answer],
    path: &mut [u8; 64],
) -> ! {
    // SAFETY: plain system calls on our own memory; see the function's contract.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        libc::prctl(libc::PR_SET_NAME, c"claw-tripwires".as_ptr());
        libc::setpgid(0, 0);
        for s in [
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGINT,
            libc::SIGQUIT,
        ] {
            libc::signal(s, libc::SIG_IGN);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        // Nothing of `clawless`'s but the group and the socket (a pipe end kept
        // here would keep `clawless` from seeing its end).
        let (lo, hi) = (fan.min(sock) as u32, fan.max(sock) as u32);
        if lo > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, lo - 1, 0u32);
        }
        if hi > lo + 1 {
            libc::syscall(libc::SYS_close_range, lo + 1, hi - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, hi + 1, u32::MAX, 0u32);
        let head = std::mem::size_of::<libc::fanotify_event_metadata>();
        // queue[first..first+queued] (ring) are not sent yet; `held` counts
        // these and the ones sent and awaiting an answer.
        let (mut first, mut queued, mut held) = (0usize, 0usize, 0usize);
        loop {
            let mut p = [
                libc::pollfd {
                    fd: fan,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: sock,
                    events: if queued > 0 {
                        libc::POLLIN | libc::POLLOUT
                    } else {
                        libc::POLLIN
                    },
                    revents: 0,
                },
            ];
            if libc::poll(p.as_mut_ptr(), 2, -1) < 0 {
                continue; // EINTR
            }
            if p[1].revents & (libc::POLLHUP | libc::POLLERR) != 0 && p[1].revents & libc::POLLIN == 0 {
                libc::_exit(0); // clawless is gone
            }
            if p[0].revents & libc::POLLIN != 0 {
                let n = libc::read(fan, events.as_mut_ptr().cast(), events.len());
                if n <= 0
                    && *libc::__errno_location() != libc::EINTR
                    && *libc::__errno_location() != libc::EAGAIN
                {
                    libc::_exit(0);
                }
                let n = n.max(0) as usize;
                let mut off = 0usize;
                while off + head <= n {
                    let ev: libc::fanotify_event_metadata =
                        std::ptr::read_unaligned(events[off..].as_ptr().cast());
                    let len = ev.event_len as usize;
                    if len < head {
                        break;
                    }
                    off = off.saturating_add(len);
                    if ev.fd < 0 {
                        continue;
                    }
                    ns_path(ev.pid, path);
                    let mut st: libc::stat = std::mem::zeroed();
                    // No pid: an opener our namespace cannot see (above it).
                    let outside = ev.pid <= 0
                        || (libc::stat(path.as_ptr().cast(), &mut st) == 0 && st.st_ino == own_ns);
                    if outside || held >= queue.len() {
                        // Outside: at once. Inside with no room: refused (fail closed).
                        respond(fan, ev.fd, if outside { libc::FAN_ALLOW } else { libc::FAN_DENY });
                        libc::close(ev.fd);
                        continue;
                    }
                    let at = (first + queued) % queue.len();
                    queue[at] = Ask {
                        key: ev.fd,
                        tid: ev.pid,
                        mask: ev.mask,
                    };
                    queued += 1;
                    held += 1;
                }
            }
            // Pass on what is queued, as far as the socket takes it now.
            while queued > 0 {
                let a = queue[first];
                let mut cbuf = [0u64; 4]; // CMSG_SPACE(sizeof(int)), aligned
                let mut io = libc::iovec {
                    iov_base: (&raw const a).cast_mut().cast(),
                    iov_len: std::mem::size_of::<Ask>(),
                };
                let mut mh: libc::msghdr = std::mem::zeroed();
                mh.msg_iov = &mut io;
                mh.msg_iovlen = 1;
                mh.msg_control = cbuf.as_mut_ptr().cast();
                mh.msg_controllen = libc::CMSG_SPACE(4) as _;
                let c = libc::CMSG_FIRSTHDR(&mh);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(4) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), a.key);
                if libc::sendmsg(sock, &mh, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) < 0 {
                    let e = *libc::__errno_location();
                    if e == libc::EAGAIN || e == libc::EINTR {
                        break;
                    }
                    libc::_exit(0);
                }
                first = (first + 1) % queue.len();
                queued -= 1;
            }
            if p[1].revents & libc::POLLIN != 0 {
                let size = std::mem::size_of::<Answer>();
                loop {
                    let r = libc::recv(sock, answers.as_mut_ptr().cast(), size, libc::MSG_DONTWAIT);
                    if r == 0 {
                        libc::_exit(0);
                    }
                    if r < 0 {
                        break;
                    }
                    if r as usize != size {
                        continue;
                    }
                    let a = answers[0];
                    respond(fan, a.key, a.response);
                    libc::close(a.key);
                    held = held.saturating_sub(1);
                }
            }
        }
    }
}

/// Writes one response; an errno the kernel does not take becomes a plain deny.
fn respond(fan: i32, fd: i32, response: u32) {
    let mut r = Response { fd, response };
    for _ in 0..2 {
        // SAFETY: r is a valid fanotify_response.
        let w = unsafe { libc::write(fan, (&raw const r).cast(), std::mem::size_of::<Response>()) };
        if w >= 0 || r.response == libc::FAN_ALLOW || r.response == libc::FAN_DENY {
            return;
        }
        r.response = libc::FAN_DENY;
    }
}
