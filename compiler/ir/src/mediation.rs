//! Which syscalls act on paths or endpoints, with which verbs, and where their
//! pointer arguments are. The partition routes a syscall to the monitor when the
//! policy has verb rules about what it does; the monitor uses the same table to know
//! what to read and emulate.

use crate::Verb;

/// How a syscall reaches an entity. Argument indices refer to the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mediation {
    /// `open(path, flags)`, `openat(dirfd, path, flags)`: verbs follow the flags.
    Open {
        /// Register of the directory descriptor (`None`: relative to the cwd).
        dirfd: Option<u8>,
        /// Register of the path pointer.
        path: u8,
        /// Register of the open flags.
        flags: u8,
    },
    /// `openat2(dirfd, path, how, size)`: flags and RESOLVE_* in `struct open_how`.
    OpenHow {
        /// Register of the directory descriptor.
        dirfd: u8,
        /// Register of the path pointer.
        path: u8,
        /// Register of the `struct open_how` pointer.
        how: u8,
    },
    /// `creat(path, mode)`: open for writing, creating.
    Creat {
        /// Register of the path pointer.
        path: u8,
    },
    /// `execve(path, ...)`, `execveat(dirfd, path, ..., flags)`.
    Exec {
        /// Register of the directory descriptor (`None`: relative to the cwd).
        dirfd: Option<u8>,
        /// Register of the path pointer.
        path: u8,
    },
    /// Looks at a path without opening it (stat, access, readlink, xattr reads).
    Look {
        /// Register of the directory descriptor (`None`: relative to the cwd).
        dirfd: Option<u8>,
        /// Register of the path pointer.
        path: u8,
    },
    /// Changes the tree or metadata at a path (mkdir, unlink, chmod...): a
    /// `write` on it.
    Modify {
        /// Registers (directory, path) of the name changed.
        first: (Option<u8>, u8),
        /// Registers of a second name the call changes (none in today's table).
        second: Option<(Option<u8>, u8)>,
    },
    /// Makes a symlink (`symlink`, `symlinkat`): a `write` on the link's path, and
    /// a `read` of it, since the link gives what it reaches that name (naming is
    /// reading, as for [`Mediation::NameChange`]: an agent holding `draft` open
    /// that makes `.env -> draft` reads what is later written into `.env`).
    Symlink {
        /// Registers (directory, path) of the link's path.
        link: (Option<u8>, u8),
    },
    /// Gives an existing object another name (`rename`, `renameat`, `renameat2`,
    /// `link`, `linkat`): a `write` on both names, and a `read` on every name whose
    /// object is given the new one — the source, both sides of `RENAME_EXCHANGE`,
    /// and every path below a directory that moves — and on every name they get.
    /// Whoever can name an object can read it under that name, so naming is
    /// reading (docs/language.md).
    NameChange {
        /// Registers (directory, path) of the existing name.
        from: (Option<u8>, u8),
        /// Registers (directory, path) of the new name.
        to: (Option<u8>, u8),
    },
    /// Changes the metadata of an open file (`fchmod`, `fchown`, `fsetxattr`...):
    /// a `write` on the path the descriptor names.
    FdModify {
        /// Register of the socket or file descriptor.
        fd: u8,
    },
    /// `connect(fd, addr, len)`.
    Connect {
        /// Register of the socket or file descriptor.
        fd: u8,
        /// Register of the `sockaddr` pointer.
        addr: u8,
        /// Register of the address length.
        len: u8,
    },
    /// `sendto(fd, buf, len, flags, addr, addrlen)`: address may be NULL.
    SendTo {
        /// Register of the socket or file descriptor.
        fd: u8,
        /// Register of the `sockaddr` pointer.
        addr: u8,
        /// Register of the address length.
        len: u8,
    },
    /// `sendmsg(fd, msg, flags)` / `sendmmsg`: address inside `struct msghdr`.
    SendMsg {
        /// Register of the socket or file descriptor.
        fd: u8,
        /// Register of the `struct msghdr` pointer.
        msg: u8,
    },
    /// `bind(fd, addr, len)`.
    Bind {
        /// Register of the socket or file descriptor.
        fd: u8,
        /// Register of the `sockaddr` pointer.
        addr: u8,
        /// Register of the address length.
        len: u8,
    },
}

impl Mediation {
    /// Every verb a call of this kind can perform.
    pub fn verbs(self) -> &'static [Verb] {
        match self {
            Mediation::Open { .. } | Mediation::OpenHow { .. } => {
                &[Verb::Read, Verb::Write, Verb::Append, Verb::Visible]
            }
            Mediation::Creat { .. } | Mediation::Modify { .. } | Mediation::FdModify { .. } => &[Verb::Write],
            Mediation::NameChange { .. } | Mediation::Symlink { .. } => &[Verb::Read, Verb::Write],
            Mediation::Exec { .. } => &[Verb::Exec],
            Mediation::Look { .. } => &[Verb::Visible],
            Mediation::Connect { .. } => &[Verb::Connect],
            // `send` to an explicit address; without one, talking to the
            // connected peer, decided as `connect` to it ("connect means talk").
            Mediation::SendTo { .. } | Mediation::SendMsg { .. } => &[Verb::Send, Verb::Connect],
            Mediation::Bind { .. } => &[Verb::Bind],
        }
    }

    /// The verbs whose Landlock rights the kernel checks for this call when it is
    /// performed unmediated. A name change or a symlink needs no read right of Landlock (the
    /// monitor decides its `read`), so a syscall-level allow of `rename` need not
    /// leave reading unbounded.
    pub fn landlock_verbs(self) -> &'static [Verb] {
        match self {
            Mediation::NameChange { .. } | Mediation::Symlink { .. } => &[Verb::Write],
            other => other.verbs(),
        }
    }
}

/// A syscall by name with its mediation.
#[derive(Debug, Clone, Copy)]
pub struct SyscallEffect {
    /// The syscall's name.
    pub name: &'static str,
    /// How it reaches entities.
    pub mediation: Mediation,
}

const fn at(d: u8, p: u8) -> (Option<u8>, u8) {
    (Some(d), p)
}
const fn plain(p: u8) -> (Option<u8>, u8) {
    (None, p)
}

/// The mediated syscalls. A name absent on an architecture is skipped there.
pub const EFFECTS: &[SyscallEffect] = &[
    SyscallEffect {
        name: "open",
        mediation: Mediation::Open {
            dirfd: None,
            path: 0,
            flags: 1,
        },
    },
    SyscallEffect {
        name: "openat",
        mediation: Mediation::Open {
            dirfd: Some(0),
            path: 1,
            flags: 2,
        },
    },
    SyscallEffect {
        name: "openat2",
        mediation: Mediation::OpenHow {
            dirfd: 0,
            path: 1,
            how: 2,
        },
    },
    SyscallEffect {
        name: "creat",
        mediation: Mediation::Creat { path: 0 },
    },
    SyscallEffect {
        name: "execve",
        mediation: Mediation::Exec { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "execveat",
        mediation: Mediation::Exec {
            dirfd: Some(0),
            path: 1,
        },
    },
    SyscallEffect {
        name: "stat",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "lstat",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "newfstatat",
        mediation: Mediation::Look {
            dirfd: Some(0),
            path: 1,
        },
    },
    SyscallEffect {
        name: "statx",
        mediation: Mediation::Look {
            dirfd: Some(0),
            path: 1,
        },
    },
    SyscallEffect {
        name: "access",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "faccessat",
        mediation: Mediation::Look {
            dirfd: Some(0),
            path: 1,
        },
    },
    SyscallEffect {
        name: "faccessat2",
        mediation: Mediation::Look {
            dirfd: Some(0),
            path: 1,
        },
    },
    SyscallEffect {
        name: "readlink",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "readlinkat",
        mediation: Mediation::Look {
            dirfd: Some(0),
            path: 1,
        },
    },
    SyscallEffect {
        name: "getxattr",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "lgetxattr",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "listxattr",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "llistxattr",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "statfs",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "chdir",
        mediation: Mediation::Look { dirfd: None, path: 0 },
    },
    SyscallEffect {
        name: "mkdir",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "mkdirat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "rmdir",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "unlink",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "unlinkat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "rename",
        mediation: Mediation::NameChange {
            from: plain(0),
            to: plain(1),
        },
    },
    SyscallEffect {
        name: "renameat",
        mediation: Mediation::NameChange {
            from: at(0, 1),
            to: at(2, 3),
        },
    },
    SyscallEffect {
        name: "renameat2",
        mediation: Mediation::NameChange {
            from: at(0, 1),
            to: at(2, 3),
        },
    },
    SyscallEffect {
        name: "link",
        mediation: Mediation::NameChange {
            from: plain(0),
            to: plain(1),
        },
    },
    SyscallEffect {
        name: "linkat",
        mediation: Mediation::NameChange {
            from: at(0, 1),
            to: at(2, 3),
        },
    },
    SyscallEffect {
        name: "symlink",
        mediation: Mediation::Symlink { link: plain(1) },
    },
    SyscallEffect {
        name: "symlinkat",
        mediation: Mediation::Symlink { link: at(1, 2) },
    },
    SyscallEffect {
        name: "truncate",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "chmod",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "fchmodat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "fchmodat2",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "chown",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "lchown",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "fchownat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "utime",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "utimes",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "utimensat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "futimesat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "setxattr",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "lsetxattr",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "removexattr",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "lremovexattr",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "mknod",
        mediation: Mediation::Modify {
            first: plain(0),
            second: None,
        },
    },
    SyscallEffect {
        name: "mknodat",
        mediation: Mediation::Modify {
            first: at(0, 1),
            second: None,
        },
    },
    SyscallEffect {
        name: "fchmod",
        mediation: Mediation::FdModify { fd: 0 },
    },
    SyscallEffect {
        name: "fchown",
        mediation: Mediation::FdModify { fd: 0 },
    },
    SyscallEffect {
        name: "fsetxattr",
        mediation: Mediation::FdModify { fd: 0 },
    },
    SyscallEffect {
        name: "fremovexattr",
        mediation: Mediation::FdModify { fd: 0 },
    },
    SyscallEffect {
        name: "connect",
        mediation: Mediation::Connect {
            fd: 0,
            addr: 1,
            len: 2,
        },
    },
    SyscallEffect {
        name: "sendto",
        mediation: Mediation::SendTo {
            fd: 0,
            addr: 4,
            len: 5,
        },
    },
    SyscallEffect {
        name: "sendmsg",
        mediation: Mediation::SendMsg { fd: 0, msg: 1 },
    },
    SyscallEffect {
        name: "sendmmsg",
        mediation: Mediation::SendMsg { fd: 0, msg: 1 },
    },
    SyscallEffect {
        name: "bind",
        mediation: Mediation::Bind {
            fd: 0,
            addr: 1,
            len: 2,
        },
    },
];

/// The mediation of a syscall, by name.
pub fn of(name: &str) -> Option<Mediation> {
    EFFECTS.iter().find(|e| e.name == name).map(|e| e.mediation)
}

/// The verbs an `open`-family call with `flags` performs. `O_PATH` opens only
/// look (`visible`); `O_APPEND` without `O_TRUNC` writes only at the end
/// (`append`); `O_RDWR` both reads and writes.
pub fn open_verbs(flags: u64, arch: claw_stdlib::Arch) -> Vec<Verb> {
    let c = |n: &str| claw_stdlib::constants::by_name(n).map_or(0, |c| c.value(arch) as u64);
    if flags & c("O_PATH") != 0 {
        return vec![Verb::Visible];
    }
    let acc = flags & c("O_ACCMODE");
    let reads = acc == c("O_RDONLY") || acc == c("O_RDWR");
    let writes = acc == c("O_WRONLY") || acc == c("O_RDWR");
    let modifies = flags & (c("O_CREAT") | c("O_TRUNC")) != 0 || flags & c("O_TMPFILE") == c("O_TMPFILE");
    let mut v = Vec::new();
    if reads {
        v.push(Verb::Read);
    }
    if modifies || (writes && flags & c("O_APPEND") == 0) {
        v.push(Verb::Write);
    } else if writes {
        v.push(Verb::Append);
    }
    if v.is_empty() {
        // O_ACCMODE == 3 ("no access", used by some ioctl openers): treat as read.
        v.push(Verb::Read);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_stdlib::Arch;

    #[test]
    fn open_flag_verbs() {
        let a = Arch::X86_64;
        assert_eq!(open_verbs(0, a), vec![Verb::Read]);
        assert_eq!(open_verbs(0o1, a), vec![Verb::Write]);
        assert_eq!(open_verbs(0o2, a), vec![Verb::Read, Verb::Write]);
        assert_eq!(
            open_verbs(0o1 | 0o2000, a),
            vec![Verb::Append],
            "O_WRONLY|O_APPEND"
        );
        assert_eq!(
            open_verbs(0o1 | 0o2000 | 0o1000, a),
            vec![Verb::Write],
            "O_TRUNC defeats append"
        );
        assert_eq!(
            open_verbs(0o1 | 0o2000 | 0o100, a),
            vec![Verb::Write],
            "O_CREAT creates"
        );
        assert_eq!(open_verbs(0o10000000, a), vec![Verb::Visible], "O_PATH");
        assert_eq!(
            open_verbs(0o20200000 | 0o2, a),
            vec![Verb::Read, Verb::Write],
            "O_TMPFILE"
        );
    }

    #[test]
    fn effects_name_real_syscalls() {
        for e in EFFECTS {
            assert!(
                claw_stdlib::syscalls::known_anywhere(e.name),
                "{} is not a syscall",
                e.name
            );
        }
    }
}
