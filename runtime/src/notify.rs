//! The seccomp user-notification listener: receive a notification, check that it is
//! still pending, answer it, inject a descriptor. A thin, safe wrapper over the
//! `SECCOMP_IOCTL_NOTIF_*` ioctls.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// One intercepted syscall, as the kernel reported it. `pid` is the calling thread.
#[derive(Debug, Clone, Copy)]
pub struct Notification {
    /// The notification's cookie (for the reply and `ID_VALID`).
    pub id: u64,
    /// The calling thread, in the monitor's pid namespace.
    pub tid: u32,
    /// The syscall number.
    pub nr: u32,
    /// The `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// The argument registers.
    pub args: [u64; 6],
    /// `seccomp_data.instruction_pointer`, for running the policy's filter on it.
    pub ip: u64,
}

/// How the monitor answers a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The syscall returns this value (the monitor performed it).
    Value(i64),
    /// The syscall fails with this errno.
    Errno(i32),
    /// The kernel runs the syscall itself. Only for decisions that depended on no
    /// memory the agent can rewrite (see `docs/architecture.md`).
    Continue,
}

/// The listener descriptor returned by `seccomp(SECCOMP_SET_MODE_FILTER,
/// SECCOMP_FILTER_FLAG_NEW_LISTENER)`.
pub struct Listener {
    fd: OwnedFd,
}

fn ioctl(fd: i32, req: libc::Ioctl, arg: *mut libc::c_void) -> io::Result<()> {
    // SAFETY: `arg` points at the structure `req` expects, owned by the caller.
    let r = unsafe { libc::ioctl(fd, req, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Listener {
    /// The listener on a notification descriptor.
    pub fn new(fd: OwnedFd) -> Listener {
        Listener { fd }
    }

    /// Asks for synchronous wake-ups (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux
    /// 6.6+): the kernel hands the CPU straight from the notifying thread to a
    /// waiting worker and back, which roughly halves the cost of a round trip.
    /// Older kernels refuse the flag; nothing else changes.
    pub fn sync_wakeups(&self) -> bool {
        // The flags are the ioctl's argument itself, not a pointer to them.
        // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
        const SYNC_WAKE_UP: usize = 1;
        // SAFETY: an ioctl on our own listener whose argument is an integer, not
        // a pointer: no memory is read or written.
        unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                SYNC_WAKE_UP,
            ) == 0
        }
    }

    /// The notification descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Blocks until a notification arrives. Retries when the kernel drops one whose
    /// caller died before it was read (`ENOENT`) or a signal interrupts the wait;
    /// fails once no process uses the filter any more (the kernel then answers
    /// `ENOENT` at once, every time, and the listener polls as hung up).
    pub fn recv(&self) -> io::Result<Notification> {
        loop {
            // SAFETY: all-zero is a valid seccomp_notif (and the kernel requires it).
            let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
            match ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                (&raw mut n).cast(),
            ) {
                Ok(()) => {
                    return Ok(Notification {
                        id: n.id,
                        tid: n.pid,
                        nr: n.data.nr as u32,
                        arch: n.data.arch,
                        args: n.data.args,
                        ip: n.data.instruction_pointer,
                    })
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && self.hung_up() => return Err(e),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::ENOENT)) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Has every process using the filter exited?
    fn hung_up(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: 0,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        unsafe { libc::poll(&mut p, 1, 0) == 1 && p.revents & libc::POLLHUP != 0 }
    }

    /// Is the notification still pending (its thread alive and still waiting)? After
    /// reading the caller's memory or opening its `/proc` entries, this proves that
    /// what was read belongs to that caller, not to a process that reused its pid.
    pub fn id_valid(&self, id: u64) -> bool {
        let mut id = id;
        ioctl(
            self.fd.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            (&raw mut id).cast(),
        )
        .is_ok()
    }

    /// Answers a notification. An error means the caller is gone (nothing to do).
    pub fn respond(&self, id: u64, reply: Reply) -> io::Result<()> {
        // SAFETY: all-zero is a valid seccomp_notif_resp.
        let mut r: libc::seccomp_notif_resp = unsafe { std::mem::zeroed() };
        r.id = id;
        match reply {
            Reply::Value(v) => r.val = v,
            Reply::Errno(e) => r.error = -e,
            Reply::Continue => r.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        }
        ioctl(
            self.fd.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            (&raw mut r).cast(),
        )
    }

    /// Installs `src` in the caller's descriptor table *as* descriptor `at`,
    /// replacing what was there atomically (`SECCOMP_ADDFD_FLAG_SETFD`, as
    /// `dup3`); the syscall stays pending, to be answered.
    pub fn install_fd(&self, id: u64, src: BorrowedFd<'_>, at: i32, cloexec: bool) -> io::Result<()> {
        // SAFETY: all-zero is a valid seccomp_notif_addfd.
        let mut a: libc::seccomp_notif_addfd = unsafe { std::mem::zeroed() };
        a.id = id;
        a.flags = libc::SECCOMP_ADDFD_FLAG_SETFD as u32;
        a.srcfd = src.as_raw_fd() as u32;
        a.newfd = u32::try_from(at).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        a.newfd_flags = if cloexec { libc::O_CLOEXEC as u32 } else { 0 };
        // SAFETY: `a` is a valid seccomp_notif_addfd.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ADDFD, &raw mut a) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Installs `src` in the caller's descriptor table and completes the syscall
    /// with the new descriptor's number, in one step (`SECCOMP_ADDFD_FLAG_SEND`).
    pub fn send_fd(&self, id: u64, src: BorrowedFd<'_>, cloexec: bool) -> io::Result<i32> {
        // SAFETY: all-zero is a valid seccomp_notif_addfd.
        let mut a: libc::seccomp_notif_addfd = unsafe { std::mem::zeroed() };
        a.id = id;
        a.flags = libc::SECCOMP_ADDFD_FLAG_SEND as u32;
        a.srcfd = src.as_raw_fd() as u32;
        a.newfd_flags = if cloexec { libc::O_CLOEXEC as u32 } else { 0 };
        // SAFETY: `a` is a valid seccomp_notif_addfd.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ADDFD, &raw mut a) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;
    use std::time::Duration;

    /// A listener for a filter installed by a thread that has since exited (an
    /// allow-everything filter: only its listener matters here).
    fn orphaned_listener() -> Listener {
        let fd = std::thread::spawn(|| {
            let allow = [libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ALLOW,
            }];
            let prog = libc::sock_fprog {
                len: 1,
                filter: allow.as_ptr().cast_mut(),
            };
            // SAFETY: plain syscalls on this thread only (no TSYNC); `prog` lives
            // across the call.
            unsafe {
                assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
                let fd = libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                    &prog as *const libc::sock_fprog,
                );
                assert!(fd >= 0, "seccomp: {}", io::Error::last_os_error());
                fd as i32
            }
        })
        .join()
        .unwrap();
        // SAFETY: a fresh descriptor the thread handed over.
        Listener::new(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    #[test]
    fn recv_ends_once_no_process_uses_the_filter() {
        let listener = orphaned_listener();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(listener.recv().map(|n| n.id));
        });
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("recv must return, not spin, once nothing can notify");
        assert!(got.is_err(), "{got:?}");
    }
}
