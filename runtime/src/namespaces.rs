//! How the sandbox is launched, decided in one place: *isolated* (the command runs
//! in its own pid, mount and network namespaces, inside a user namespace when
//! `clawless` is not root, below a small init of ours) or *mediated* (a plain fork, as before
//! namespaces; the runtime's process filter and Landlock's scopes keep the agent
//! from naming processes outside the sandbox).
//!
//! In isolated mode `clawless` creates with a raw `clone` (fork-like: `SIGCHLD`, no
//! new stack) a process that is pid 1 of a new pid namespace. That init:
//! - dies with `clawless` (`PR_SET_PDEATHSIG`, armed before it waits for the
//!   parent's go, so a parent that died earlier is seen as end of file);
//! - brings up `lo` in the new network namespace, its only interface: a socket
//!   the agent makes reaches nothing but that loopback (the sockets that reach
//!   outside are made by the monitor, in its own namespace: emulate/net.rs);
//! - makes every mount a slave (nothing the sandbox mounts leaks out), mounts a
//!   fresh procfs on `/proc` (only the sandbox's processes exist there) and remounts
//!   the directories the policy never lets the agent execute from `noexec`;
//! - forks the agent (pid 2), which does the caller's child work (filter, Landlock,
//!   exec) and never runs anything of ours again;
//! - is created in a cgroup of the sandbox's own when one can be made
//!   (`crate::cgroup`: the late-mark scans freeze it; `clone3` with
//!   `CLONE_INTO_CGROUP`, else the parent moves it there before the go byte), so
//!   every process of the sandbox is in it;
//! - stays outside the filter, reaps every zombie, passes on the signals a process
//!   outside the namespace sends it, and when the agent exits writes its raw wait
//!   status on the report pipe and exits: the kernel then kills everything left in
//!   the namespace (`setsid` daemons, double forks).
//!
//! This module knows the kernel's namespace interfaces; it does not know the
//! policy (the caller gives it the directories to make `noexec`) nor the agent's
//! own set-up (a closure).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// How the sandbox runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// User, pid, mount and network namespaces (the isolated network; isolated files when the plan allows).
    Isolated,
    /// No namespaces: the monitor mediates everything the filter routes to it.
    Mediated,
}

impl Mode {
    /// `isolated` or `mediated`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "isolated" => Some(Mode::Isolated),
            "mediated" => Some(Mode::Mediated),
            _ => None,
        }
    }
}

/// What the user asked for: a mode (`--mode`, else `CLAWLESS_MODE`), whether
/// running without isolation is an error, and whether the kernel may decide
/// opens (`CLAWLESS_KERNEL_OPENS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    /// The mode asked for (`None`: isolated where possible).
    pub mode: Option<Mode>,
    /// Refuse to run without isolation (`--require-isolation`).
    pub require_isolation: bool,
    /// Kernel-decided opens asked for (`CLAWLESS_KERNEL_OPENS=1`; experimental,
    /// docs/architecture.md "Isolated files"): used in isolated mode where the
    /// artifact has a proved plan and `clawless` can place the tripwires.
    pub kernel_opens: bool,
}

/// The environment variable that turns on kernel-decided opens (isolated files).
pub const KERNEL_OPENS: &str = "CLAWLESS_KERNEL_OPENS";

/// Reads [`KERNEL_OPENS`]: unset, empty or `0` is off, `1` is on, anything else
/// is refused (a typo must not turn an experimental mode on, nor silently off).
pub fn kernel_opens_from_env() -> Result<bool, String> {
    kernel_opens_value(std::env::var_os(KERNEL_OPENS).as_deref())
}

fn kernel_opens_value(v: Option<&std::ffi::OsStr>) -> Result<bool, String> {
    match v.map(|v| v.as_encoded_bytes()) {
        None | Some(b"" | b"0") => Ok(false),
        Some(b"1") => Ok(true),
        Some(other) => Err(format!(
            "{KERNEL_OPENS}={}: expected `0` (mediated opens) or `1` (kernel-decided opens)",
            String::from_utf8_lossy(other)
        )),
    }
}

impl Request {
    /// Combines the command line with `CLAWLESS_MODE` (the command line wins)
    /// and reads `CLAWLESS_KERNEL_OPENS`; a value of either that means nothing
    /// is an error.
    pub fn new(cli: Option<Mode>, require_isolation: bool) -> Result<Request, String> {
        let mode = match cli {
            Some(m) => Some(m),
            None => match std::env::var("CLAWLESS_MODE") {
                Ok(v) if !v.is_empty() => Some(
                    Mode::parse(&v)
                        .ok_or_else(|| format!("CLAWLESS_MODE={v}: expected `isolated` or `mediated`"))?,
                ),
                _ => None,
            },
        };
        if require_isolation && mode == Some(Mode::Mediated) {
            return Err("--require-isolation contradicts mediated mode".into());
        }
        Ok(Request {
            mode,
            require_isolation,
            kernel_opens: kernel_opens_from_env()?,
        })
    }

    /// Must the run be isolated (fail rather than fall back)?
    pub fn isolation_required(&self) -> bool {
        self.require_isolation || self.mode == Some(Mode::Isolated)
    }

    /// Should isolation be tried at all?
    pub fn try_isolation(&self) -> bool {
        self.mode != Some(Mode::Mediated)
    }
}

/// What the isolated set-up needs from the caller.
pub struct Isolation {
    /// Directories to remount `noexec` (recursively) in the private mount namespace.
    pub noexec: Vec<CString>,
    /// Directories below those, bind-mounted executable again (a workspace under
    /// `/tmp`), after the `noexec` ones.
    pub exec_again: Vec<CString>,
    /// The sandbox's resolver, when the policy has domain endpoints.
    pub resolver: Option<ResolverSetup>,
}

/// The sandbox's resolver (`crate::dns`): our init binds UDP and TCP sockets on
/// [`claw_ir::domain::RESOLVER`] in the new network namespace before the agent
/// exists, bind-mounts `conf` (read-only) over `/etc/resolv.conf`, and sends the
/// two sockets (UDP first) to the monitor over `send` with `SCM_RIGHTS`.
pub struct ResolverSetup {
    /// The resolv.conf to bind-mount (a file naming the sandbox's resolver).
    pub conf: CString,
    /// Our init's end of the socket pair the sockets are sent over.
    pub send: i32,
    /// The monitor's end (see [`receive_resolver`]).
    pub recv: i32,
}

/// An isolated sandbox that started: our init's pid (in `clawless`'s namespace)
/// and the pipe on which it reports the agent's wait status.
pub struct Spawned {
    /// Our init's pid, in `clawless`'s pid namespace.
    pub init: i32,
    /// The read end of the pipe on which it reports the agent's wait status.
    pub report: OwnedFd,
    /// Whether a user namespace was needed (not root).
    pub user_ns: bool,
    /// The sandbox's cgroup, our init in it before it forked anything
    /// ([`crate::cgroup`]), or why there is none (the sandbox runs without).
    pub cgroup: Result<crate::cgroup::Cgroup, String>,
}

/// `struct clone_args` (linux/sched.h, `CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child is born in the cgroup `cgroup` names.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The status-pipe message of an init that could not set the namespaces up (the
/// caller may fall back to mediated mode: nothing of the agent has run).
pub const MSG_UNAVAILABLE: u8 = b'U';

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is valid for two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn write_all(fd: i32, mut b: &[u8]) {
    while !b.is_empty() {
        // SAFETY: b is valid for its length.
        let n = unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) };
        if n <= 0 {
            return;
        }
        b = &b[n as usize..];
    }
}

/// Writes a uid/gid map file of the new user namespace: the caller's id to itself.
fn write_map(init: i32, file: &str, text: &str) -> Result<(), String> {
    std::fs::write(format!("/proc/{init}/{file}"), text).map_err(|e| format!("writing {file}: {e}"))
}

/// Starts our init in new namespaces; `agent` runs in its child (pid 2) and should
/// not return (it execs; if it returns, the child exits 125). `Err` when the namespaces cannot be created here (the caller may fall
/// back); failures after that are reported by the init on `status_w`.
///
/// # Safety
/// The calling process must be single-threaded (the child is a copy of it, as
/// after `fork`), and `agent` must only do what is safe after `fork`.
pub unsafe fn spawn_isolated(
    iso: &Isolation,
    status_w: i32,
    agent: &mut dyn FnMut(),
) -> Result<Spawned, String> {
    // SAFETY: geteuid cannot fail and takes nothing.
    let user_ns = unsafe { libc::geteuid() } != 0;
    let (go_r, go_w) = pipe().map_err(|e| e.to_string())?;
    let (report_r, report_w) = pipe().map_err(|e| e.to_string())?;
    let mut flags = libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWNET;
    if user_ns {
        flags |= libc::CLONE_NEWUSER;
    }
    // The sandbox's cgroup (`crate::cgroup`): the init is born in it
    // (`clone3(CLONE_INTO_CGROUP)`), or moved into it before the go byte; so
    // everything the init forks is in it.
    let mut cgroup = crate::cgroup::Cgroup::create();
    let into = cgroup.as_ref().ok().and_then(|c| c.open().ok());
    let mut born_in = false;
    let mut pid = -1;
    if let Some(dir) = &into {
        let args = CloneArgs {
            flags: flags as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir.as_raw_fd() as u64,
            ..CloneArgs::default()
        };
        // SAFETY: as the raw clone below (no CLONE_VM, no stack: fork-like);
        // `args` is a live, fully initialised `clone_args` of the size given.
        pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &raw const args,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        born_in = pid >= 0;
    }
    if pid < 0 {
        // A raw clone: like fork (SIGCHLD to us on exit, the child continues on a
        // copy of this stack), with new namespaces.
        // SAFETY: without CLONE_VM or a new stack the child gets a copy of our
        // memory, as after fork, and the caller guarantees we are
        // single-threaded, so the copy holds no lock of another thread; the child
        // only runs `init`, which never returns into our frames.
        pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (flags | libc::SIGCHLD) as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
    }
    drop(into);
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "cannot create {} namespaces ({e})",
            if user_ns {
                "user, pid, mount and network"
            } else {
                "pid, mount and network"
            }
        ));
    }
    if pid == 0 {
        // SAFETY: in the clone child: the parent's ends of the pipes are closed by
        // number (their OwnedFds are never dropped here: `init` does not return),
        // and `init` runs in the copy of a single-threaded process it requires.
        unsafe {
            libc::close(go_w.as_raw_fd());
            libc::close(report_r.as_raw_fd());
            init(iso, status_w, go_r.as_raw_fd(), report_w.as_raw_fd(), agent);
        }
    }
    let pid = pid as i32;
    drop(go_r);
    drop(report_w);
    if user_ns {
        // SAFETY: getuid and getgid cannot fail and take nothing.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let mapped = write_map(pid, "setgroups", "deny")
            .and_then(|()| write_map(pid, "uid_map", &format!("{uid} {uid} 1\n")))
            .and_then(|()| write_map(pid, "gid_map", &format!("{gid} {gid} 1\n")));
        if let Err(e) = mapped {
            // SAFETY: `pid` is our unreaped child (the pid cannot be reused before
            // this waitpid), and waitpid is given no status pointer.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            return Err(format!("cannot map ids in the user namespace: {e}"));
        }
    }
    if !born_in {
        // Before the go byte: everything the init forks inherits its cgroup.
        cgroup = cgroup.and_then(|c| c.attach(pid));
    }
    write_all(go_w.as_raw_fd(), b"g");
    drop(go_w);
    Ok(Spawned {
        init: pid,
        report: report_r,
        user_ns,
        cgroup,
    })
}

/// Our init (pid 1 of the new pid namespace). Never returns.
///
/// # Safety
/// Only in the clone child of `spawn_isolated` (a copy of a single-threaded
/// process), with `agent` safe to run after fork.
unsafe fn init(iso: &Isolation, status_w: i32, go_r: i32, report_w: i32, agent: &mut dyn FnMut()) -> ! {
    // SAFETY: we are the child of a raw clone (a copy of a single-threaded
    // process, `spawn_isolated`'s contract): the calls below are plain syscalls on
    // NUL-terminated C strings (literals or the `Isolation`'s CStrings, copied with
    // our memory), live locals (`b`, `attr`, `all`, `info`, `status`) and
    // descriptors this process owns; `_exit` leaves without the parent's
    // destructors, and `agent` is safe after fork by the caller's contract.
    unsafe {
        let unavailable = |what: &str| -> ! {
            let e = std::io::Error::last_os_error();
            let mut m = vec![MSG_UNAVAILABLE];
            m.extend_from_slice(format!("{what}: {e}").as_bytes());
            write_all(status_w, &m);
            libc::_exit(125)
        };
        // Armed first; the go byte below then proves the parent was alive after it.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        let mut b = 0u8;
        loop {
            let r = libc::read(go_r, (&raw mut b).cast(), 1);
            if r < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            if r != 1 || b != b'g' {
                libc::_exit(125);
            }
            break;
        }
        libc::close(go_r);
        if !loopback_up() {
            unavailable("bringing up lo in the network namespace");
        }
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ) != 0
        {
            unavailable("making the mounts private");
        }
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) != 0
        {
            unavailable("mounting a private /proc");
        }
        for dir in &iso.noexec {
            if let Err(what) = set_noexec(dir, true) {
                unavailable(&what);
            }
        }
        for dir in &iso.exec_again {
            if let Err(what) = set_noexec(dir, false) {
                unavailable(&what);
            }
        }
        if let Some(r) = &iso.resolver {
            if !resolver_up(r) {
                unavailable("setting up the sandbox's resolver");
            }
        }
        // Nothing in the sandbox may read our memory or descriptors.
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
        let child = libc::fork();
        if child < 0 {
            unavailable("fork");
        }
        if child == 0 {
            libc::close(report_w);
            // The agent's own set-up reads and writes what is its own (exec resets it
            // too; the parent takes its listener before exec).
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
            agent();
            libc::_exit(125);
        }
        // Keep only the report pipe: the agent holds what it needs, and a descriptor of
        // ours must never be reachable from the sandbox.
        if report_w > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (report_w - 1) as u32, 0u32);
        }
        libc::syscall(libc::SYS_close_range, (report_w + 1) as u32, u32::MAX, 0u32);
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::sigwaitinfo(&all, &mut info);
            loop {
                let mut status = 0;
                let r = libc::waitpid(-1, &mut status, libc::WNOHANG);
                if r <= 0 {
                    break;
                }
                if r == child {
                    write_all(report_w, &status.to_ne_bytes());
                    libc::_exit(0);
                }
            }
            // From outside the namespace (`clawless`'s forwarder: the sender has no
            // pid here): pass it on. From inside, it is the agent's own business.
            if sig > 0 && sig != libc::SIGCHLD && info.si_code <= 0 && info.si_pid() == 0 {
                libc::kill(child, sig);
            }
        }
    }
}

/// FUSE tripwires' mounts (`crate::fusewire`), made in the sandbox's mount
/// namespace by a short-lived helper of ours: forked from `clawless`, it joins the
/// sandbox's user namespace (when it has one) and mount namespace (named by the
/// agent's process before its exec: our init is not dumpable), opens each target
/// there `O_PATH|O_NOFOLLOW` and checks it is the file discovery recorded (device
/// and inode), opens `/dev/fuse` (the connection must belong to the user namespace
/// that mounts it), mounts the FUSE file system on `/proc` for the time of the
/// set-up (no secret lies below `/proc`, and nothing of the agent runs yet), and
/// sends the descriptor back. [`Overmount::finish`] then, with the server
/// answering, has it clone entry `i` (`open_tree`) and move it onto target `i`'s
/// descriptor (`move_mount`: exactly the checked file, whatever a path now names),
/// and detach the staging mount: only the file mounts remain, one per secret.
///
/// The mounts are the sandbox's (its mounts are slaves: nothing leaks out). The
/// agent, without capabilities, can neither unmount nor move them; the kernel
/// answers renaming or removing a mount point `EBUSY` and linking across mounts
/// `EXDEV`. With a user namespace the connection is `allow_other` in it: a process
/// outside (the user's shell through `/proc/<pid>/root`, the monitor's own
/// emulated opens) is refused `EACCES` by the kernel, before a request exists.
pub struct Overmount {
    helper: i32,
    sock: OwnedFd,
}

/// The sandbox's user namespace (when it has its own) and mount namespace, held
/// open for the FUSE tripwires mounted later in the session (the process they
/// were named by may be gone by then).
pub struct SandboxNs {
    user: Option<OwnedFd>,
    mnt: OwnedFd,
}

impl SandboxNs {
    /// The namespaces of `agent` (the agent's process before its exec: our init
    /// is not dumpable).
    pub fn of(agent: i32) -> Result<SandboxNs, String> {
        let open_ns = |what: &str| -> Result<OwnedFd, String> {
            std::fs::File::open(format!("/proc/{agent}/ns/{what}"))
                .map(OwnedFd::from)
                .map_err(|e| format!("the sandbox's {what} namespace: {e}"))
        };
        use std::os::unix::fs::MetadataExt;
        let own_user = std::fs::metadata("/proc/self/ns/user")
            .map_err(|e| e.to_string())?
            .ino();
        let their_user = std::fs::metadata(format!("/proc/{agent}/ns/user"))
            .map_err(|e| e.to_string())?
            .ino();
        let user = if own_user != their_user {
            Some(open_ns("user")?)
        } else {
            None
        };
        Ok(SandboxNs {
            user,
            mnt: open_ns("mnt")?,
        })
    }
}

/// What a helper needs before the fork: a slot for its `/dev/fuse` descriptor
/// (a copy of `/dev/null` holds the number) and a socket pair (ours, its).
fn helper_prep() -> Result<(OwnedFd, OwnedFd, OwnedFd), String> {
    let slot = OwnedFd::from(std::fs::File::open("/dev/null").map_err(|e| e.to_string())?);
    let mut pair = [0; 2];
    // SAFETY: pair is valid for two ints.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            pair.as_mut_ptr(),
        )
    } != 0
    {
        return Err(format!("socketpair: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptors.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
    Ok((slot, ours, theirs))
}

/// One FUSE file system whose root is a regular file, mounted over `target`
/// (checked to be the file `id` names) in the sandbox's mount namespace, for a
/// secret that appears during the session: no staging mount (the sandbox's
/// `/proc` is in use by then) but the new mount API (`fsopen`, `fsconfig`,
/// `fsmount`, then `move_mount` onto the target's descriptor). Returns the
/// `/dev/fuse` descriptor to serve (the file is its root, inode 1).
pub fn overmount_file(ns: &SandboxNs, target: &CString, id: (u64, u64)) -> Result<OwnedFd, String> {
    let (slot, ours, theirs) = helper_prep()?;
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let strings = [
        CString::new(slot.as_raw_fd().to_string()).expect("digits"),
        CString::new(uid.to_string()).expect("digits"),
        CString::new(gid.to_string()).expect("digits"),
        CString::new("100000").expect("digits"),
    ];
    // SAFETY: fork; the child runs only raw syscalls on memory prepared above
    // (no allocation, no lock: other threads of ours exist) and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: in the forked child, as above.
        unsafe { file_helper(theirs.as_raw_fd(), ns, slot.as_raw_fd(), &strings, target, id) }
    }
    drop(theirs);
    let om = Overmount {
        helper: pid,
        sock: ours,
    };
    let r = om.receive_fd();
    om.kill();
    r
}

/// The helper of [`overmount_file`]. Never returns.
///
/// # Safety
/// Only in the child of its fork: raw syscalls on memory the parent prepared.
unsafe fn file_helper(
    sock: i32,
    ns: &SandboxNs,
    slot: i32,
    strings: &[CString; 4],
    target: &CString,
    id: (u64, u64),
) -> ! {
    // SAFETY: the caller's contract: plain syscalls on live locals and the
    // parent's prepared, NUL-terminated strings; `_exit` leaves at once.
    unsafe {
        let fail = |step: u8| -> ! {
            let e = *libc::__errno_location();
            let mut m = [0u8; 10];
            m[0] = b'E';
            m[1] = step;
            m[2..6].copy_from_slice(&e.to_ne_bytes());
            libc::write(sock, m.as_ptr().cast(), m.len());
            libc::_exit(1)
        };
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        if let Some(u) = &ns.user {
            if libc::setns(u.as_raw_fd(), libc::CLONE_NEWUSER) != 0 {
                fail(b'u');
            }
        }
        if libc::setns(ns.mnt.as_raw_fd(), libc::CLONE_NEWNS) != 0 {
            fail(b'm');
        }
        let fd = libc::open(target.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC);
        if fd < 0 {
            fail(b'o');
        }
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0
            || st.st_mode & libc::S_IFMT != libc::S_IFREG
            || (st.st_dev, st.st_ino) != id
        {
            *libc::__errno_location() = libc::ESTALE;
            fail(b'i');
        }
        let dev = libc::open(c"/dev/fuse".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if dev < 0 || libc::dup3(dev, slot, libc::O_CLOEXEC) < 0 {
            fail(b'd');
        }
        libc::close(dev);
        let fs = libc::syscall(libc::SYS_fsopen, c"fuse".as_ptr(), FSOPEN_CLOEXEC) as i32;
        if fs < 0 {
            fail(b'f');
        }
        let set = |key: &std::ffi::CStr, value: Option<&CString>| -> bool {
            let (cmd, v) = match value {
                Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
                None => (FSCONFIG_SET_FLAG, std::ptr::null()),
            };
            libc::syscall(libc::SYS_fsconfig, fs, cmd, key.as_ptr(), v, 0) == 0
        };
        let configured = set(c"fd", Some(&strings[0]))
            && set(c"rootmode", Some(&strings[3]))
            && set(c"user_id", Some(&strings[1]))
            && set(c"group_id", Some(&strings[2]))
            && set(c"allow_other", None);
        let null = std::ptr::null::<libc::c_char>();
        if !configured || libc::syscall(libc::SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, null, null, 0) != 0 {
            fail(b'f');
        }
        let mnt = libc::syscall(
            libc::SYS_fsmount,
            fs,
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        ) as i32;
        if mnt < 0 {
            fail(b'f');
        }
        let flags = (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) as libc::c_uint;
        if libc::syscall(libc::SYS_move_mount, mnt, c"".as_ptr(), fd, c"".as_ptr(), flags) != 0 {
            fail(b'b');
        }
        send_fd(sock, slot);
        libc::_exit(0)
    }
}

/// Sends `fd` with the byte `F` (`SCM_RIGHTS`), or exits.
///
/// # Safety
/// In a helper child: raw syscalls on locals only.
unsafe fn send_fd(sock: i32, fd: i32) {
    // SAFETY: the caller's contract; every pointer is to a live local.
    unsafe {
        let mut byte = *b"F";
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut space = [0u64; 4];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = space.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd);
        if libc::sendmsg(sock, &msg, 0) != 1 {
            libc::_exit(1);
        }
    }
}

/// How long the helper may take for each step (it waits for nothing of the agent).
const OVERMOUNT_TIMEOUT_MS: i32 = 10_000;

fn poll_in(fd: i32, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: p is one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return r > 0;
    }
}

impl Overmount {
    /// Starts the helper for `targets` (canonical paths, with the device and
    /// inode discovery recorded for each) and returns it with the `/dev/fuse`
    /// descriptor of the mounted file system (entry `i` is named `i`). The caller
    /// must serve the descriptor before [`Overmount::finish`].
    pub fn start(ns: &SandboxNs, targets: &[(CString, (u64, u64))]) -> Result<(Overmount, OwnedFd), String> {
        // The number the helper gives its /dev/fuse descriptor (a copy of /dev/null
        // holds it until then), so that the mount options are written before the fork.
        let (slot, ours, theirs) = helper_prep()?;
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let opts = CString::new(format!(
            "fd={},rootmode=40000,user_id={uid},group_id={gid},allow_other",
            slot.as_raw_fd()
        ))
        .map_err(|e| e.to_string())?;
        let staging: Vec<CString> = (0..targets.len())
            .map(|i| CString::new(format!("/proc/{i}")).expect("digits"))
            .collect();
        let mut held: Vec<i32> = vec![-1; targets.len()];
        // SAFETY: fork; the child runs only raw syscalls on memory prepared above
        // (no allocation, no lock: other threads of ours may exist) and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: in the forked child, as above.
            unsafe {
                overmount_helper(
                    theirs.as_raw_fd(),
                    ns.user.as_ref().map(|u| u.as_raw_fd()),
                    ns.mnt.as_raw_fd(),
                    slot.as_raw_fd(),
                    &opts,
                    targets,
                    &staging,
                    &mut held,
                )
            }
        }
        drop(theirs);
        let om = Overmount {
            helper: pid,
            sock: ours,
        };
        match om.receive_fd() {
            Ok(fd) => Ok((om, fd)),
            Err(e) => {
                om.kill();
                Err(e)
            }
        }
    }

    fn receive_fd(&self) -> Result<OwnedFd, String> {
        if !poll_in(self.sock.as_raw_fd(), OVERMOUNT_TIMEOUT_MS) {
            return Err("the FUSE mount helper did not answer".into());
        }
        let mut byte = [0u8; 16];
        let mut space = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: byte.len(),
        };
        // SAFETY: msghdr is plain data; every pointer set below is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = space.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&space);
        // SAFETY: msg describes live buffers.
        let n = unsafe { libc::recvmsg(self.sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n <= 0 {
            return Err("the FUSE mount helper exited".into());
        }
        if byte[0] != b'F' {
            return Err(helper_error(&byte[..n as usize]));
        }
        // SAFETY: the control buffer was filled by recvmsg; CMSG_* walk it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS {
                return Err("the FUSE mount helper sent no descriptor".into());
            }
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>());
            Ok(OwnedFd::from_raw_fd(fd))
        }
    }

    /// Binds every entry over its target and detaches the staging mount (the
    /// FUSE server must be answering: each clone looks its entry up).
    pub fn finish(self) -> Result<(), String> {
        let r = (|| {
            write_all(self.sock.as_raw_fd(), b"g");
            if !poll_in(self.sock.as_raw_fd(), OVERMOUNT_TIMEOUT_MS) {
                return Err("the FUSE mount helper did not finish".to_string());
            }
            let mut b = [0u8; 16];
            // SAFETY: b is valid for its length.
            let n = unsafe { libc::read(self.sock.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
            if n == 1 && b[0] == b'k' {
                Ok(())
            } else if n > 0 {
                Err(helper_error(&b[..n as usize]))
            } else {
                Err("the FUSE mount helper exited".to_string())
            }
        })();
        self.kill();
        r
    }

    fn kill(&self) {
        // SAFETY: our own unreaped child; waitpid gets no status pointer.
        unsafe {
            libc::kill(self.helper, libc::SIGKILL);
            libc::waitpid(self.helper, std::ptr::null_mut(), 0);
        }
    }
}

/// The helper's error message: `E`, the step, the errno, the target's index.
fn helper_error(b: &[u8]) -> String {
    if b.len() < 10 || b[0] != b'E' {
        return "the FUSE mount helper failed".into();
    }
    let errno = i32::from_ne_bytes([b[2], b[3], b[4], b[5]]);
    let index = u32::from_ne_bytes([b[6], b[7], b[8], b[9]]);
    let step = match b[1] {
        b'u' => "joining the sandbox's user namespace".to_string(),
        b'm' => "joining the sandbox's mount namespace".to_string(),
        b'o' => format!("opening secret #{index} in the sandbox"),
        b'i' => format!("secret #{index} is not the file discovery recorded"),
        b'd' => "opening /dev/fuse inside the sandbox's user namespace".to_string(),
        b'f' => "mounting the FUSE file system".to_string(),
        b't' => format!("cloning FUSE entry #{index}"),
        b'b' => format!("mounting the FUSE file over secret #{index}"),
        b'x' => "detaching the staging mount".to_string(),
        _ => "the FUSE mount helper".to_string(),
    };
    format!("{step}: {}", std::io::Error::from_raw_os_error(errno))
}

/// The helper ([`Overmount`]). Never returns.
///
/// # Safety
/// Only in the child of `Overmount::start`'s fork: raw syscalls on memory the
/// parent prepared (no allocation), then `_exit`.
#[allow(clippy::too_many_arguments)]
unsafe fn overmount_helper(
    sock: i32,
    user: Option<i32>,
    mnt: i32,
    slot: i32,
    opts: &CString,
    targets: &[(CString, (u64, u64))],
    staging: &[CString],
    held: &mut [i32],
) -> ! {
    // SAFETY: the caller's contract: plain syscalls on live locals and the
    // parent's prepared, NUL-terminated strings; `_exit` leaves at once.
    unsafe {
        let fail = |step: u8, index: usize| -> ! {
            let e = *libc::__errno_location();
            let mut m = [0u8; 10];
            m[0] = b'E';
            m[1] = step;
            m[2..6].copy_from_slice(&e.to_ne_bytes());
            m[6..10].copy_from_slice(&(index as u32).to_ne_bytes());
            libc::write(sock, m.as_ptr().cast(), m.len());
            libc::_exit(1)
        };
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        if let Some(u) = user {
            if libc::setns(u, libc::CLONE_NEWUSER) != 0 {
                fail(b'u', 0);
            }
        }
        if libc::setns(mnt, libc::CLONE_NEWNS) != 0 {
            fail(b'm', 0);
        }
        for (i, (path, (dev, ino))) in targets.iter().enumerate() {
            let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC);
            if fd < 0 {
                fail(b'o', i);
            }
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) != 0
                || st.st_mode & libc::S_IFMT != libc::S_IFREG
                || st.st_dev != *dev
                || st.st_ino != *ino
            {
                *libc::__errno_location() = libc::ESTALE;
                fail(b'i', i);
            }
            held[i] = fd;
        }
        let dev = libc::open(c"/dev/fuse".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if dev < 0 {
            fail(b'd', 0);
        }
        if libc::dup3(dev, slot, libc::O_CLOEXEC) < 0 {
            fail(b'd', 0);
        }
        libc::close(dev);
        if libc::mount(
            c"clawless".as_ptr(),
            c"/proc".as_ptr(),
            c"fuse".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            opts.as_ptr().cast(),
        ) != 0
        {
            fail(b'f', 0);
        }
        // The descriptor to the server.
        send_fd(sock, slot);
        let mut go = 0u8;
        if libc::read(sock, (&raw mut go).cast(), 1) != 1 || go != b'g' {
            libc::_exit(1);
        }
        for (i, name) in staging.iter().enumerate() {
            let tree = libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                name.as_ptr(),
                (OPEN_TREE_CLONE | libc::O_CLOEXEC as u32) as libc::c_uint,
            ) as i32;
            if tree < 0 {
                fail(b't', i);
            }
            if libc::syscall(
                libc::SYS_move_mount,
                tree,
                c"".as_ptr(),
                held[i],
                c"".as_ptr(),
                (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) as libc::c_uint,
            ) != 0
            {
                fail(b'b', i);
            }
            libc::close(tree);
            libc::close(held[i]);
        }
        if libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) != 0 {
            fail(b'x', 0);
        }
        libc::write(sock, c"k".as_ptr().cast(), 1);
        libc::_exit(0)
    }
}

/// `fsopen(2)`, `fsconfig(2)`, `fsmount(2)` values (linux/mount.h).
const FSOPEN_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const FSMOUNT_CLOEXEC: u32 = 1;
const MOUNT_ATTR_NOSUID: u32 = 0x2;
const MOUNT_ATTR_NODEV: u32 = 0x4;

/// `open_tree(2)` and `move_mount(2)` flags (linux/mount.h).
const OPEN_TREE_CLONE: u32 = 1;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

/// Sets `IFF_UP` on `lo` (the new network namespace has it, down) with
/// `SIOCSIFFLAGS`: no external tool, no netlink parser.
///
/// # Safety
/// In our init (after the clone), as every raw call of the init.
unsafe fn loopback_up() -> bool {
    // SAFETY: the socket is ours and closed once; `req` is a zeroed ifreq (valid
    // for all-zero) whose name is the NUL-terminated "lo", which both ioctls read
    // and SIOCGIFFLAGS writes within its size; the union field read is the flags
    // SIOCGIFFLAGS just set.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return false;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (d, c) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *d = *c as libc::c_char;
        }
        let ok = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req) == 0 && {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            libc::ioctl(s, libc::SIOCSIFFLAGS, &req) == 0
        };
        libc::close(s);
        ok
    }
}

/// Binds the resolver's sockets, mounts the private resolv.conf and hands the
/// sockets to the monitor (see [`ResolverSetup`]). Raw calls only: we are a
/// child of a fork. Neither socket sets `SO_REUSEADDR` or `SO_REUSEPORT`, so no
/// socket of the agent can bind the port, or a wildcard over it, afterwards.
///
/// # Safety
/// In our init (after the clone), before the agent exists; `r.send` is ours.
unsafe fn resolver_up(r: &ResolverSetup) -> bool {
    // SAFETY: called by our init in the clone child. `sa` is a zeroed (valid)
    // sockaddr_in passed with its size; the mount paths are NUL-terminated; the
    // msghdr points at `iov` and `space`, live locals, and the control message is
    // written inside `space` (its size is checked against CMSG_SPACE first, and
    // CMSG_FIRSTHDR is non-null); every descriptor closed is one this process
    // made or owns (`r.send`), closed once.
    unsafe {
        let (ip, port) = claw_ir::domain::RESOLVER;
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_port = port.to_be();
        sa.sin_addr.s_addr = u32::from(ip).to_be();
        let bound = |ty: i32| -> i32 {
            let s = libc::socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC, 0);
            if s < 0 {
                return -1;
            }
            let l = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            if libc::bind(s, (&raw const sa).cast(), l) != 0 {
                libc::close(s);
                return -1;
            }
            s
        };
        let udp = bound(libc::SOCK_DGRAM);
        let tcp = bound(libc::SOCK_STREAM);
        if udp < 0 || tcp < 0 || libc::listen(tcp, 64) != 0 {
            return false;
        }
        let target = c"/etc/resolv.conf";
        if libc::mount(
            r.conf.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        ) != 0
        {
            return false;
        }
        // Read-only where the kernel lets us (best effort: a rewritten resolv.conf
        // only sends the agent's queries where the policy decides them).
        libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
            std::ptr::null(),
        );
        let fds = [udp, tcp];
        // u64s: a cmsghdr is 8-byte aligned.
        let mut space = [0u64; 8];
        let mut iov_byte = [b'r'];
        let mut iov = libc::iovec {
            iov_base: iov_byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        let data_len = std::mem::size_of_val(&fds) as u32;
        let need = libc::CMSG_SPACE(data_len) as usize;
        if need > std::mem::size_of_val(&space) {
            return false;
        }
        msg.msg_control = space.as_mut_ptr().cast();
        msg.msg_controllen = need;
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return false;
        }
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(data_len) as usize;
        std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(c), data_len as usize);
        let sent = libc::sendmsg(r.send, &msg, libc::MSG_NOSIGNAL) == 1;
        libc::close(udp);
        libc::close(tcp);
        libc::close(r.send);
        sent
    }
}

/// Receives the resolver's sockets our init sent (see [`ResolverSetup`]),
/// without waiting: it sent them before it started the agent.
pub fn receive_resolver(recv: i32) -> Option<(OwnedFd, OwnedFd)> {
    // u64s: a cmsghdr is 8-byte aligned.
    let mut space = [0u64; 8];
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: all-zero is a valid msghdr; every pointer set is to our buffers,
    // alive for the call; the control data is read within its length.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = space.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&space);
        let n = libc::recvmsg(recv, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC);
        if n != 1 {
            return None;
        }
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let want = libc::CMSG_LEN(2 * std::mem::size_of::<i32>() as u32) as usize;
        if (*c).cmsg_len != want {
            return None;
        }
        let mut fds = [0i32; 2];
        std::ptr::copy_nonoverlapping(libc::CMSG_DATA(c), fds.as_mut_ptr().cast::<u8>(), 8);
        Some((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

/// `struct mount_attr` (linux/mount.h).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Bind-mounts `dir` on itself (with every mount below it) and sets (`on`) or
/// clears the `noexec` flag on all of them. `mount_setattr` reaches every mount
/// below; a remount would have to repeat the flags the parent namespace locked,
/// and would reach only the top one. When the kernel refuses, says what failed
/// (`errno` is left as the failed call set it).
///
/// # Safety
/// Called only in the set-up of the sandbox's mount namespace, as the rest of
/// that set-up (the same process and point in time).
unsafe fn set_noexec(dir: &std::ffi::CStr, on: bool) -> Result<(), String> {
    // SAFETY: `dir` is a NUL-terminated path that outlives both calls; the
    // null pointers are the documented "no type / no data" arguments of a bind
    // mount; `attr` is a live MountAttr of the size passed.
    unsafe {
        if libc::mount(
            dir.as_ptr(),
            dir.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ) != 0
        {
            return Err(format!("bind-mounting {}", dir.to_string_lossy()));
        }
        let attr = MountAttr {
            attr_set: if on { MOUNT_ATTR_NOEXEC } else { 0 },
            attr_clr: if on { 0 } else { MOUNT_ATTR_NOEXEC },
            propagation: 0,
            userns_fd: 0,
        };
        if libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            dir.as_ptr(),
            libc::AT_RECURSIVE as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        ) != 0
        {
            let what = if on { "noexec" } else { "executable" };
            return Err(format!("making {} {what}", dir.to_string_lossy()));
        }
    }
    Ok(())
}

const MOUNT_ATTR_NOEXEC: u64 = 0x0000_0008;

/// The agent's pid as `clawless` sees it: the one child of our init.
pub fn agent_pid(init: i32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Decodes the report: the agent's raw wait status, if the init sent it.
pub fn read_report(report: &OwnedFd) -> Option<i32> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: b is valid for its length.
        let n = unsafe { libc::read(report.as_raw_fd(), b[got..].as_mut_ptr().cast(), 4 - got) };
        if n > 0 {
            got += n as usize;
        } else if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            return None;
        }
    }
    Some(i32::from_ne_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_combine() {
        assert_eq!(Mode::parse("isolated"), Some(Mode::Isolated));
        assert_eq!(Mode::parse("mediated"), Some(Mode::Mediated));
        assert_eq!(Mode::parse("jail"), None);
        let r = Request::new(Some(Mode::Isolated), false).unwrap();
        assert!(r.isolation_required() && r.try_isolation());
        let r = Request::new(Some(Mode::Mediated), false).unwrap();
        assert!(!r.isolation_required() && !r.try_isolation());
        assert!(Request::new(Some(Mode::Mediated), true).is_err());
    }

    #[test]
    fn kernel_opens_is_off_on_or_refused() {
        use std::ffi::OsStr;
        assert_eq!(kernel_opens_value(None), Ok(false));
        assert_eq!(kernel_opens_value(Some(OsStr::new(""))), Ok(false));
        assert_eq!(kernel_opens_value(Some(OsStr::new("0"))), Ok(false));
        assert_eq!(kernel_opens_value(Some(OsStr::new("1"))), Ok(true));
        for bad in ["yes", "true", "01", " 1", "2", "off"] {
            let e = kernel_opens_value(Some(OsStr::new(bad))).unwrap_err();
            assert!(e.contains(&format!("CLAWLESS_KERNEL_OPENS={bad}:")), "{e}");
        }
        use std::os::unix::ffi::OsStrExt;
        assert!(kernel_opens_value(Some(OsStr::from_bytes(b"\xff"))).is_err());
    }
}
