//! Emulation: the monitor performs what it allows itself, on objects it resolved
//! itself, and hands the agent the result (a descriptor injected with
//! `SECCOMP_IOCTL_NOTIF_ADDFD`, a structure written to its memory, a return
//! value). Three cannot be emulated and are answered CONTINUE after an allowing
//! decision: `execve`/`execveat` (bounded race-free by Landlock's execute right),
//! `chdir` and `O_PATH` opens (the kernel cannot inject an `O_PATH` descriptor).
//! A working directory or an `O_PATH` handle grants nothing but a look: every path
//! used through them is resolved and decided by the monitor again. See
//! docs/architecture.md.

mod fs;
mod names;
mod net;
mod outside;

use crate::monitor::{Fail, Monitor, Outcome};
use crate::notify::Notification;
use claw_ir::Mediation;

/// Routes a mediated syscall to its emulation.
pub fn dispatch(m: &Monitor, n: &Notification, name: &str, med: Mediation) -> Outcome {
    let a = n.args;
    match med {
        Mediation::Open { dirfd, path, flags } => {
            let dfd = dirfd.map_or(libc::AT_FDCWD, |i| a[i as usize] as i32);
            let mode = a[flags as usize + 1];
            fs::open(
                m,
                n,
                name,
                dfd,
                a[path as usize],
                a[flags as usize] as u32 as u64,
                mode,
                0,
            )
        }
        Mediation::OpenHow { dirfd, path, how } => {
            // The whole structure the agent gave (up to a page): bytes past the
            // known fields must be zero, as copy_struct_from_user requires.
            let size = crate::wire::open_how_size(a[3]).map_err(Fail::Errno)?;
            let bytes = crate::agent::read_mem(n.tid, a[how as usize], size)?;
            m.valid(n)?;
            let h = crate::wire::parse_open_how(&bytes).map_err(Fail::Errno)?;
            fs::open(
                m,
                n,
                name,
                a[dirfd as usize] as i32,
                a[path as usize],
                h.flags,
                h.mode,
                h.resolve,
            )
        }
        Mediation::Creat { path } => {
            let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64;
            fs::open(m, n, name, libc::AT_FDCWD, a[path as usize], flags, a[1], 0)
        }
        Mediation::Exec { dirfd, path } => fs::exec(m, n, name, dirfd, path),
        Mediation::Look { dirfd, path } => fs::look(m, n, name, dirfd, path),
        Mediation::Modify { .. } | Mediation::Symlink { .. } => fs::modify(m, n, name),
        Mediation::NameChange { .. } => names::name_change(m, n, name),
        Mediation::FdModify { fd } => fs::fd_modify(m, n, name, a[fd as usize] as i32),
        Mediation::Connect { .. } | Mediation::Bind { .. } => net::connect_or_bind(m, n, name, med),
        Mediation::SendTo { .. } => net::sendto(m, n, name),
        Mediation::SendMsg { .. } => net::sendmsg(m, n, name),
    }
}

/// A libc return value as a result.
fn cvt(r: libc::c_long) -> Result<i64, Fail> {
    if r < 0 {
        Err(Fail::Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        ))
    } else {
        Ok(r)
    }
}
