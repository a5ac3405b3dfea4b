//! Starting a command under a policy: start the agent process (in isolated mode
//! below our init in new namespaces, see `namespaces`; in mediated mode by a plain
//! fork); in it set NO_NEW_PRIVS, apply Landlock, install the runtime's process
//! filter and the policy's filter with a notification listener, wait until the
//! parent holds the listener, exec. The parent runs the monitor, forwards signals,
//! reaps the tree and exits with the command's status.

use crate::audit::AuditLog;
use crate::landlock::{self, Enforcement};
use crate::monitor::Monitor;
use crate::namespaces::{self, Isolation};
use crate::notify::Listener;
use claw_artifact::Artifact;
use claw_ir::Env;
use std::collections::HashSet;
use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run and how.
pub struct Launch {
    /// The compiled policy.
    pub artifact: Artifact,
    /// The path variables' values.
    pub env: Env,
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// Where decisions are recorded.
    pub audit: AuditLog,
    /// Refuse to run without full Landlock enforcement.
    pub require_landlock: bool,
    /// Isolated or mediated, as asked.
    pub mode: namespaces::Request,
    /// Install the logging filter (every call the kernel would refuse is reported
    /// by the monitor; see `crate::denials`) instead of the policy's filter.
    pub log_kernel: bool,
    /// Install the learning filter (`clawless learn`): every call the policy
    /// allows is also seen and recorded by the monitor.
    pub learn: bool,
}

/// Why a command did not run, with the exit status to report (126: found but could
/// not be run; 127: not found; 125: the sandbox could not be set up).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}: command not found")]
    /// The command was not found (127).
    NotFound(String),
    #[error("cannot run {0}: {1}")]
    /// The command was found but could not be run (126).
    CannotRun(String, String),
    #[error("cannot set up the sandbox: {0}")]
    /// The sandbox could not be set up (125).
    Setup(String),
}

impl LaunchError {
    /// The exit status `clawless` reports for the error.
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::NotFound(_) => 127,
            LaunchError::CannotRun(..) => 126,
            LaunchError::Setup(_) => 125,
        }
    }
}

/// Signals the runtime passes on to the command when another process sends them
/// (a terminal's ^C already reaches the whole foreground process group).
const FORWARDED: &[i32] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGALRM,
];

/// The program a command name refers to, searched in `PATH` like `execvp`.
pub fn find_program(name: &Path) -> Result<PathBuf, LaunchError> {
    let shown = name.display().to_string();
    let candidates: Vec<PathBuf> = if name.as_os_str().as_bytes().contains(&b'/') {
        vec![name.to_path_buf()]
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path).map(|d| d.join(name)).collect()
    };
    let mut not_executable = None;
    for c in candidates {
        let Ok(meta) = std::fs::metadata(&c) else { continue };
        use std::os::unix::fs::PermissionsExt;
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            return Ok(c);
        }
        not_executable = Some(c);
    }
    match not_executable {
        Some(c) => Err(LaunchError::CannotRun(
            c.display().to_string(),
            "not an executable file".into(),
        )),
        None => Err(LaunchError::NotFound(shown)),
    }
}

fn cstring(b: &[u8]) -> Result<CString, LaunchError> {
    CString::new(b).map_err(|_| LaunchError::Setup("an argument contains a NUL byte".into()))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), LaunchError> {
    let mut fds = [0; 2];
    // SAFETY: fds is valid for two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(LaunchError::Setup(std::io::Error::last_os_error().to_string()));
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

fn read_to_end(fd: &OwnedFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            out.extend_from_slice(&buf[..n as usize]);
        } else if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            return out;
        }
    }
}

fn read_exact(fd: &OwnedFd, n: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    while got < n {
        // SAFETY: out is valid for n bytes.
        let r = unsafe { libc::read(fd.as_raw_fd(), out[got..].as_mut_ptr().cast(), n - got) };
        if r > 0 {
            got += r as usize;
        } else if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Messages from the child on the status pipe: `L` + fd (the listener's number,
/// before the filter is installed), `E` + text (set-up failed), `X` + errno (exec
/// failed). End of file without `X` means the exec succeeded.
const MSG_LISTENER: u8 = b'L';
const MSG_SETUP: u8 = b'E';
const MSG_EXEC: u8 = b'X';

/// The child side. Runs between fork and exec in a copy of a single-threaded
/// process; never returns.
///
/// # Safety
/// Only in the forked child of a single-threaded process, whose pointers in
/// `prog`, `argv` and `envp` stay valid (the parent's memory, copied).
#[allow(clippy::too_many_arguments)] // the child's whole world, prepared before fork
unsafe fn child(
    launch: &Launch,
    prog: &libc::sock_fprog,
    path: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    status_w: i32,
    ack_r: i32,
    old_mask: &libc::sigset_t,
    umask: libc::mode_t,
    processes: &[libc::sock_filter],
    nofile: Option<libc::rlimit>,
    isolated: bool,
    landlock_plan: &claw_ir::landlock::LandlockPlan,
) -> ! {
    let fail = |msg: String| -> ! {
        let mut m = vec![MSG_SETUP];
        m.extend_from_slice(msg.as_bytes());
        write_all(status_w, &m);
        // SAFETY: _exit ends this forked child without running the parent's
        // atexit handlers or destructors, which belong to the parent.
        unsafe { libc::_exit(125) }
    };
    // SAFETY: this child is a single-threaded copy made by fork; these calls only
    // change its own signal dispositions, limit, umask and mask, with arguments
    // that are live locals (`lim`, `old_mask` was filled by pthread_sigmask).
    let no_new_privs = unsafe {
        // The runtime ignores these (see `protect_self`); an ignored signal would stay
        // ignored across exec.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
        if let Some(lim) = nofile {
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::umask(umask);
        libc::pthread_sigmask(libc::SIG_SETMASK, old_mask, std::ptr::null_mut());
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    };
    if no_new_privs != 0 {
        fail(format!(
            "PR_SET_NO_NEW_PRIVS: {}",
            std::io::Error::last_os_error()
        ));
    }
    // Isolated: the network namespace bounds the agent's sockets (Landlock's TCP
    // ports would refuse connects that stay inside the sandbox).
    match landlock::apply(landlock_plan, &launch.env, launch.require_landlock, !isolated) {
        Ok(Enforcement::Full) => {}
        Ok(Enforcement::Partial(why)) | Ok(Enforcement::None(why)) => {
            if launch.require_landlock {
                fail(format!("--require-landlock: {why}"));
            }
            eprintln!(
                "clawless: WARNING: Landlock is not fully enforced ({why}); the filter and monitor still decide every mediated call, but exec is no longer bounded race-free. Use --require-landlock to refuse to run instead."
            );
        }
        Err(e) => fail(format!("Landlock: {e}")),
    }
    // SAFETY: we are the forked child, single-threaded, before exec: the filter
    // applies to this process alone, which is what `install` requires.
    if let Err(e) = unsafe { crate::pidfilter::install(processes) } {
        fail(format!("installing the runtime's process filter: {e}"));
    }
    // SAFETY: the forked child before exec, the only caller `drop_capabilities`
    // allows.
    if let Err(e) = unsafe { drop_capabilities() } {
        fail(format!("dropping capabilities: {e}"));
    }
    // The listener will get the lowest free descriptor: find it, tell the parent.
    // SAFETY: a NUL-terminated literal path; the descriptor is ours to close.
    let probe = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if probe < 0 {
        fail("cannot open /dev/null".into());
    }
    // SAFETY: `probe` is the descriptor just opened, used by nothing else.
    unsafe { libc::close(probe) };
    let mut m = vec![MSG_LISTENER];
    m.extend_from_slice(&probe.to_ne_bytes());
    write_all(status_w, &m);
    // Once the monitor has received a notification, the agent's call waits for
    // the answer killably (Linux 5.19+): a signal with a handler no longer
    // breaks it off half done. Without this, a call the monitor had performed
    // (a FIFO opened, which its peer saw; a file created with O_EXCL) was
    // thrown away when a signal came (SIGCHLD to a shell, Go's SIGURG
    // preemption), and the restarted call met what the first had done. Blocked
    // calls are broken off for handlers by the monitor instead
    // (`Monitor::offload`). Older kernels refuse the flag: then without it.
    let install = |flags: libc::c_ulong| {
        // SAFETY: `prog` points at a sock_fprog whose filter (`insns` in `start`)
        // outlives this call; the kernel copies the program.
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                prog as *const libc::sock_fprog,
            )
        }
    };
    let mut listener =
        install(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    if listener < 0 && errno() == libc::EINVAL {
        listener = install(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
    }
    if listener < 0 {
        fail(format!(
            "installing the seccomp filter: {}",
            std::io::Error::last_os_error()
        ));
    }
    // From here on every syscall is filtered. Wait until the parent holds the
    // listener (if this read is itself notified, the parent answers it once it
    // does). If the policy refuses read(2), go on: without a monitor, notified
    // calls fail (fail closed).
    let mut b = 0u8;
    loop {
        // SAFETY: `b` is a live local byte, the read's whole buffer.
        let r = unsafe { libc::read(ack_r, (&raw mut b).cast(), 1) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        break;
    }
    // SAFETY: `path` is a CString, `argv` and `envp` NULL-terminated arrays of
    // pointers into CStrings the parent keeps alive (`Exec`) until after the fork.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let e = errno();
    let mut m = vec![MSG_EXEC];
    m.extend_from_slice(&e.to_ne_bytes());
    write_all(status_w, &m);
    // SAFETY: ends the forked child without the parent's destructors.
    unsafe { libc::_exit(if e == libc::ENOENT { 127 } else { 126 }) }
}

/// This thread's errno (after fork: the child's only thread).
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The capabilities a root command keeps: those of a container's root that act
/// only on files and identities the policy already bounds (`chown`, `chmod`,
/// permission checks, `setuid`, signals inside the sandbox, low ports).
/// `CAP_CHOWN`, `CAP_DAC_OVERRIDE`, `CAP_FOWNER`, `CAP_FSETID`, `CAP_KILL`,
/// `CAP_SETGID`, `CAP_SETUID`, `CAP_NET_BIND_SERVICE`.
const KEPT_CAPS: u32 = 1 << 0 | 1 << 1 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 10;

/// Takes from the command every other capability: a root agent (or the root of
/// the user namespace) would otherwise keep `CAP_SYS_ADMIN`, `CAP_NET_ADMIN`,
/// `CAP_LINUX_IMMUTABLE`... and use them through calls the policy allows on
/// descriptors (`ioctl(FIFREEZE)` freezes the host's filesystem,
/// `FS_IOC_SETFLAGS` makes a read-only `/etc/passwd` immutable, `SIOCSIFFLAGS`
/// or a `write` to a netlink socket reconfigures the host's network). The
/// bounding set keeps only [`KEPT_CAPS`] where we may drop (`CAP_SETPCAP`), the
/// ambient and inheritable sets are cleared, the permitted and effective sets
/// cut to `KEPT_CAPS`, so no `execve` (set-uid, file capabilities, uid 0) gives
/// any back. Runs in the forked child before the seccomp filter.
///
/// # Safety
/// Only in the forked child before exec (it changes the whole process's sets).
unsafe fn drop_capabilities() -> std::io::Result<()> {
    for cap in 0..64u32 {
        if cap < 32 && KEPT_CAPS & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only; it changes this process's
        // bounding set.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINVAL) => break, // past the last capability
                Some(libc::EPERM) => break,  // no CAP_SETPCAP: none to drop
                _ => return Err(std::io::Error::last_os_error()),
            }
        }
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(e);
        }
    }
    // _LINUX_CAPABILITY_VERSION_3: a header (version, pid) and two data triples
    // (effective, permitted, inheritable) for capabilities 0-31 and 32-63.
    let header: [u32; 2] = [0x2008_0522, 0];
    let mut data: [u32; 6] = [0; 6];
    // SAFETY: `header` is the 2-word v3 header and `data` the 6 words (two
    // triples) capget writes for version 3.
    if unsafe { libc::syscall(libc::SYS_capget, header.as_ptr(), data.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let kept = data[1] & KEPT_CAPS;
    let data: [u32; 6] = [kept, kept, 0, 0, 0, 0];
    // SAFETY: the same v3 header and six words, which capset only reads.
    if unsafe { libc::syscall(libc::SYS_capset, header.as_ptr(), data.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn is_listener(fd: &OwnedFd) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .is_ok_and(|p| p.to_string_lossy().contains("seccomp notify"))
}

/// Takes the agent's listener (`pidfd_getfd`) once it is installed; `child` is
/// our child (the agent, or the init above it).
fn take_listener(child: i32, agent: i32, number: i32) -> Result<OwnedFd, LaunchError> {
    let start = Instant::now();
    loop {
        if let Ok(fd) = crate::agent::take_fd(agent as u32, number) {
            if is_listener(&fd) {
                return Ok(fd);
            }
        }
        let mut status = 0;
        // SAFETY: `status` is a live local; `child` is our own child.
        if unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == child {
            return Err(LaunchError::Setup(
                "the child exited while installing the filter".into(),
            ));
        }
        if start.elapsed() > Duration::from_secs(30) {
            // SAFETY: `child` is our unreaped child, so its pid cannot have been reused.
            unsafe { libc::kill(child, libc::SIGKILL) };
            return Err(LaunchError::Setup(
                "timed out waiting for the seccomp listener".into(),
            ));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Every process below `root` (by parent links in /proc).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut parent_of: Vec<(i32, i32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The field after the `(comm)`, which may contain spaces.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &parent_of {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// Inodes of every socket open in these processes.
fn socket_inodes(pids: &[i32]) -> HashSet<u64> {
    let mut out = HashSet::new();
    for pid in pids {
        let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.to_string_lossy();
                if let Some(i) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    if let Ok(i) = i.parse() {
                        out.insert(i);
                    }
                }
            }
        }
    }
    out
}

/// What `clawless` does for itself before anything of the agent runs: a write to
/// a full pipe or over a file-size limit must fail, not kill the monitor, and it
/// may hold as many descriptors as it is allowed to. Returns the descriptor limit
/// it was given, which the command gets back.
fn protect_self() -> Option<libc::rlimit> {
    // SAFETY: signal dispositions set to SIG_IGN (no handler code runs), and
    // get/setrlimit on `lim`, a zeroed (valid) local rlimit.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        let given = lim;
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        Some(given)
    }
}

/// The directories to make `noexec` in isolated mode and those below them made
/// executable again, as C strings.
fn exec_dirs(launch: &Launch) -> (Vec<CString>, Vec<CString>) {
    let plan = crate::execdirs::exec_plan(&launch.artifact.ir, &launch.artifact.landlock, &launch.env);
    let c = |v: Vec<String>| v.into_iter().filter_map(|d| CString::new(d).ok()).collect();
    (c(plan.noexec), c(plan.exec_again))
}

/// Why one attempt at starting did not run the command.
enum StartError {
    /// Isolation is not available here (nothing of the agent ran).
    Unavailable(String),
    /// Isolated files cannot cover this run's secrets (nothing of the agent
    /// ran): isolated mode again, with mediated opens.
    Files(String),
    Failed(LaunchError),
}

impl From<LaunchError> for StartError {
    fn from(e: LaunchError) -> StartError {
        StartError::Failed(e)
    }
}

/// Runs the command; returns the exit status to exit with.
pub fn run(mut launch: Launch) -> Result<i32, LaunchError> {
    crate::startup_mark("the run begins");
    // Before any descriptor of ours exists: the sockets we inherited.
    let inherited = crate::inherited::find();
    for fd in &inherited.replaced {
        eprintln!("clawless: inherited socket on descriptor {fd} has addresses no policy describes: replaced by /dev/null");
    }
    let mut inherited = Some(inherited.tracked);
    let program = find_program(Path::new(&launch.command[0]))?;
    let path = cstring(program.as_os_str().as_bytes())?;
    let args: Vec<CString> = launch
        .command
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<_, _>>()?;
    let envs: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut b = k.as_bytes().to_vec();
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            cstring(&b)
        })
        .collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = envs.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let nofile = protect_self();
    // Given to the monitor of the attempt that runs (there may be two).
    let mut audit = Some(std::mem::replace(&mut launch.audit, AuditLog::new(None, false)));
    let (noexec, exec_again) = exec_dirs(&launch);
    // The sandbox's resolver (domain endpoints): kept alive for the whole run.
    let resolver =
        crate::dns::Prepared::new(&launch.artifact.ir, launch.learn).map_err(LaunchError::Setup)?;
    let isolation = Isolation {
        noexec,
        exec_again,
        resolver: resolver.as_ref().map(crate::dns::Prepared::setup),
    };
    // Isolated files (the kernel decides opens): not when every open must be
    // seen (learning, the audit log, --log-denials).
    let files = if !launch.mode.try_isolation() {
        Err("--mode mediated".to_string())
    } else if !launch.mode.kernel_opens {
        // Opt-in until the red team's findings on the tripwires are closed
        // (`clawc` now proves the plans of the profiles and writes them into
        // the artifact): docs/architecture.md "Isolated files".
        Err(format!(
            "kernel-decided opens are experimental ({}=1)",
            crate::namespaces::KERNEL_OPENS
        ))
    } else if launch.learn {
        Err("learning sees every open".to_string())
    } else if launch.log_kernel {
        Err("the audit log and --log-denials see every open".to_string())
    } else {
        let noexec: Vec<String> = isolation
            .noexec
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        crate::isofiles::prepare(&launch.artifact, &launch.env, &noexec)
    };
    crate::startup_mark("the isolated plan prepared");
    // SAFETY: no thread has been started yet, which `start` requires (it forks);
    // the sigsets are zeroed locals (all-zero is a valid sigset_t) that
    // sigemptyset and pthread_sigmask initialise before use; `exec` borrows
    // `path`, `argv` and `envp`, which outlive both attempts.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        for s in FORWARDED {
            libc::sigaddset(&mut block, *s);
        }
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        // The monitor creates files with the agent's umask applied explicitly.
        let umask = libc::umask(0);
        let exec = Exec {
            path: &path,
            argv: &argv,
            envp: &envp,
            old: &old,
            umask,
            nofile,
        };
        let mut why_not = "--mode mediated".to_string();
        if launch.mode.try_isolation() {
            let mut attempt = start(
                &launch,
                &exec,
                Some(&isolation),
                files.as_ref(),
                &mut audit,
                &mut inherited,
            );
            if let Err(StartError::Files(why)) = attempt {
                attempt = start(
                    &launch,
                    &exec,
                    Some(&isolation),
                    Err(&why),
                    &mut audit,
                    &mut inherited,
                );
            }
            match attempt {
                Ok(started) => return Ok(started.finish(&launch, block)),
                Err(StartError::Failed(e)) => return Err(e),
                Err(StartError::Files(why)) => return Err(LaunchError::Setup(why)),
                Err(StartError::Unavailable(why)) => {
                    if launch.mode.isolation_required() {
                        return Err(LaunchError::Setup(format!(
                            "isolation is required but not available here: {why}"
                        )));
                    }
                    why_not = why;
                }
            }
        }
        eprintln!("clawless: mediated mode ({why_not}): no namespaces; the monitor and the runtime's process filter decide");
        match start(&launch, &exec, None, Err(&why_not), &mut audit, &mut inherited) {
            Ok(started) => Ok(started.finish(&launch, block)),
            Err(StartError::Failed(e)) => Err(e),
            Err(StartError::Unavailable(why) | StartError::Files(why)) => Err(LaunchError::Setup(why)),
        }
    }
}

/// The command to exec, prepared before any fork.
struct Exec<'a> {
    path: &'a CString,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    old: &'a libc::sigset_t,
    umask: libc::mode_t,
    /// The descriptor limit `clawless` was started with.
    nofile: Option<libc::rlimit>,
}

/// A command that is running under its monitor.
struct Started {
    /// Our child: the agent (mediated) or our init (isolated).
    child: i32,
    /// Isolated: the init's report of the agent's wait status.
    report: Option<OwnedFd>,
    monitor: Arc<Monitor>,
    /// The command's process, as the monitor sees its pid.
    agent: u32,
    /// Isolated: the sandbox's cgroup, if it has one (removed at the end).
    cgroup: Option<Arc<crate::cgroup::Cgroup>>,
}

impl Started {
    fn finish(self, _launch: &Launch, block: libc::sigset_t) -> i32 {
        spawn_signal_forwarder(self.child, block);
        spawn_socket_reaper(Arc::clone(&self.monitor));
        crate::startup_mark("the agent runs");
        let tripwires = self.monitor.tripwires.get().cloned();
        let code = wait_for(self.child, self.report.as_ref(), || {
            if let Some(t) = &tripwires {
                t.unmark_all();
            }
        });
        crate::startup_mark("the agent exited");
        // Our init is reaped: every process of its pid namespace is gone.
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cg.remove() {
                eprintln!("clawless: the sandbox's cgroup: {e}");
            }
        }
        let code = crate::denials::explain_kill(self.monitor.killed(), self.agent, code);
        // The audit writers write what is queued (a stuck destination cannot
        // keep clawless from exiting).
        self.monitor.finish_audit();
        code
    }
}

/// One attempt: isolated when `isolation` is given, else mediated.
///
/// # Safety
/// The process must be single-threaded (it forks, and the child runs `child`).
unsafe fn start(
    launch: &Launch,
    exec: &Exec<'_>,
    isolation: Option<&Isolation>,
    files: Result<&crate::isofiles::Files, &String>,
    audit: &mut Option<AuditLog>,
    inherited: &mut Option<Vec<crate::inherited::Inherited>>,
) -> Result<Started, StartError> {
    // Isolated files only inside the namespaces.
    let files_why = files.err().cloned();
    let files = files.ok().filter(|_| isolation.is_some());
    let program = files.map_or(&launch.artifact.program, |f| &f.program);
    let logging = if launch.log_kernel || launch.learn {
        let p = program;
        let l = if launch.learn {
            claw_bpf::logging::learning_filter(p)
                .ok_or_else(|| "the policy's filter returns a computed value".to_string())
                .and_then(|l| claw_bpf::logging::check_learning(p, &l).map(|()| l))
        } else {
            claw_bpf::logging::logging_filter(p)
                .ok_or_else(|| "the policy's filter returns a computed value".to_string())
                .and_then(|l| claw_bpf::logging::check_pair(p, &l).map(|()| l))
        };
        match l {
            Ok(l) => Some(l),
            Err(e) => return Err(LaunchError::Setup(format!("cannot build the logging filter: {e}")).into()),
        }
    } else {
        None
    };
    let insns = logging.as_ref().unwrap_or(program);
    let landlock_plan = files.map_or(&launch.artifact.landlock, |f| &f.landlock);
    let prog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    let processes = crate::pidfilter::program(isolation.is_none());
    let (status_r, status_w) = pipe()?;
    let (ack_r, ack_w) = pipe()?;
    let mut agent_work = || {
        // SAFETY: runs only in the forked child (below, or in the namespaces'
        // init), a single-threaded copy of this process: `child`'s requirement.
        // The parent's ends of the pipes are closed there, never dropped twice.
        unsafe {
            drop_raw(status_r.as_raw_fd());
            drop_raw(ack_w.as_raw_fd());
        }
        // SAFETY: see above.
        unsafe {
            child(
                launch,
                &prog,
                exec.path,
                exec.argv,
                exec.envp,
                status_w.as_raw_fd(),
                ack_r.as_raw_fd(),
                exec.old,
                exec.umask,
                &processes,
                exec.nofile,
                isolation.is_some(),
                landlock_plan,
            )
        }
    };
    let (pid, report, user_ns, cgroup) = match isolation {
        Some(iso) => {
            // SAFETY: `start`'s caller guarantees a single-threaded process, and
            // `agent_work` only does what is safe after fork (`child`).
            let s = unsafe { namespaces::spawn_isolated(iso, status_w.as_raw_fd(), &mut agent_work) }
                .map_err(StartError::Unavailable)?;
            (s.init, Some(s.report), s.user_ns, Some(s.cgroup.map(Arc::new)))
        }
        None => {
            // SAFETY: getpid cannot fail; fork in a process that `start`'s caller
            // guarantees single-threaded, so the child's copy holds no lock of
            // another thread.
            let (parent, pid) = unsafe { (libc::getpid(), libc::fork()) };
            if pid < 0 {
                return Err(LaunchError::Setup(format!("fork: {}", std::io::Error::last_os_error())).into());
            }
            if pid == 0 {
                // The command itself dies with `clawless` (what it started and
                // moved out of its tree does not: see docs/threat-model.md).
                // SAFETY: integer-argument prctl and getppid in the child; _exit
                // leaves without the parent's destructors.
                unsafe {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                    if libc::getppid() != parent {
                        libc::_exit(125);
                    }
                }
                agent_work();
                // SAFETY: as above.
                unsafe { libc::_exit(125) };
            }
            (pid, None, false, None)
        }
    };
    drop(status_w);
    drop(ack_r);
    // SAFETY: `pid` is our own unreaped child, so the pid cannot have been reused;
    // waitpid is given no status pointer.
    let kill_child = |pid: i32| unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    };

    crate::startup_mark("the sandbox forked");
    let shown = Path::new(exec.path.to_str().unwrap_or("?")).display().to_string();
    let first = read_exact(&status_r, 1);
    crate::startup_mark("the sandbox set up (its listener sent)");
    let listener = match first.as_deref() {
        Some([MSG_LISTENER]) => {
            let n = read_exact(&status_r, 4).ok_or_else(|| LaunchError::Setup("child vanished".into()))?;
            let agent = if isolation.is_some() {
                namespaces::agent_pid(pid)
            } else {
                Some(pid)
            };
            match agent {
                Some(agent) => take_listener(pid, agent, i32::from_ne_bytes([n[0], n[1], n[2], n[3]]))
                    .map(|l| (l, agent)),
                None => Err(LaunchError::Setup("cannot find the agent below our init".into())),
            }
        }
        Some([MSG_SETUP]) => Err(LaunchError::Setup(
            String::from_utf8_lossy(&read_to_end(&status_r)).into_owned(),
        )),
        Some([namespaces::MSG_UNAVAILABLE]) => {
            let why = String::from_utf8_lossy(&read_to_end(&status_r)).into_owned();
            kill_child(pid);
            return Err(StartError::Unavailable(why));
        }
        _ => Err(LaunchError::Setup("the child exited during set-up".into())),
    };
    let (listener, agent) = match listener {
        Ok(l) => l,
        Err(e) => {
            kill_child(pid);
            return Err(e.into());
        }
    };
    if let (Some(f), Some(Ok(cg))) = (files, &cgroup) {
        // Late-mark scans freeze the sandbox, and its processes are told by
        // their cgroup (the run keeps the cgroup).
        f.tripwires.set_cgroup(Arc::downgrade(cg));
    }
    // The tripwires' listener is forked first, while we have no other thread.
    let started = files.map(|f| f.tripwires.start(pid, agent));
    crate::startup_mark("the tripwires' listener started");
    // The session's secret names, found once: the monitor decides reads with
    // them, and FUSE tripwires cover the secrets among them. Listed on a thread
    // of their own while discovery walks (neither needs the other; an open of a
    // directory discovery has marked is answered by the listener at once).
    let find = || crate::aliases::Aliases::find(&launch.artifact.ir, &launch.env);
    let (aliases, discovered) = std::thread::scope(|s| {
        let names = std::thread::Builder::new()
            .name("claw-names".into())
            .spawn_scoped(s, find);
        let discovered = files
            .zip(started)
            .map(|(f, started)| started.and_then(|()| f.tripwires.discover()));
        let aliases = match names {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(_) => find(),
        };
        (aliases, discovered)
    });
    crate::startup_mark("the secret names listed");
    let mut fuse_wire = None;
    if let Some(f) = files {
        // Every existing secret a tripwire before the monitor exists (nothing of
        // the agent runs yet); a part that cannot be covered keeps opens mediated.
        if let Some(Err(e)) = discovered {
            kill_child(pid);
            return Err(StartError::Files(e));
        }
        if f.tripwires.is_fuse() {
            // FUSE tripwires: a FUSE file over each recorded secret and each
            // secret known by identity (crate::fusewire).
            // A FUSE file is decided as the path it covers: the real file behind a
            // secret-named symlink (decided as the link's name) is not one it can
            // stand for, so such a session keeps opens mediated (fail closed).
            let (own, linked): (Vec<_>, Vec<_>) = aliases
                .objects()
                .into_iter()
                .partition(|(path, _)| path.is_none());
            let mounted = match linked.first() {
                Some((Some(path), name)) => Err(format!(
                    "{path} is the secret {name} by a symlink, which FUSE tripwires do not cover"
                )),
                _ => {
                    let own: Vec<String> = own.into_iter().map(|(_, name)| name).collect();
                    crate::fusewire::FuseWire::mount(agent, &f.tripwires, &own)
                }
            };
            match mounted {
                Ok(w) => fuse_wire = Some(w),
                Err(e) => {
                    kill_child(pid);
                    return Err(StartError::Files(format!("FUSE tripwires: {e}")));
                }
            }
        }
    }
    crate::startup_mark("the secrets discovered");
    let listener = Listener::new(listener);
    listener.sync_wakeups();
    let view = if isolation.is_some() {
        crate::resolve::View::Namespace
    } else {
        crate::resolve::View::Host {
            monitor: std::process::id(),
        }
    };
    let monitor = Monitor::new(
        &launch.artifact,
        launch.env.clone(),
        listener,
        audit.take().unwrap_or_else(|| AuditLog::new(None, false)),
        agent as u32,
        view,
        aliases,
    );
    if let Err(e) = crate::dns::attach(&monitor, isolation) {
        kill_child(pid);
        return Err(LaunchError::Setup(e).into());
    }
    if logging.is_some() {
        monitor.set_kernel_filter(program.clone(), launch.learn);
    }
    for peer in monitor.adopt(inherited.take().unwrap_or_default()) {
        eprintln!("clawless: inherited socket to {peer} shut down: the policy does not allow it");
    }
    monitor.start();
    if let Some(f) = files {
        if let Some(w) = &fuse_wire {
            // FUSE: secrets recorded from now on get FUSE files of their own.
            w.follow(&f.tripwires);
        }
        // Tripwires armed before the agent runs anything of its own.
        if let Err(e) = arm_tripwires(f, &monitor) {
            kill_child(pid);
            return Err(LaunchError::Setup(e).into());
        }
    }
    if let Some(w) = &fuse_wire {
        w.attach(&monitor);
    }
    if isolation.is_some() {
        let how = match (files, files_why) {
            (Some(f), _) => {
                let (n, kind) = match &fuse_wire {
                    Some(w) => (w.count(), "FUSE "),
                    None => (f.tripwires.count(), ""),
                };
                let unfrozen = match &cgroup {
                    Some(Err(why)) => {
                        format!("; late-mark scans cannot freeze the sandbox (no cgroup of its own: {why})")
                    }
                    _ => String::new(),
                };
                format!(
                    "; the kernel decides opens, {n} {kind}tripwire{}{unfrozen}",
                    if n == 1 { "" } else { "s" }
                )
            }
            (None, Some(why)) => format!("; opens are mediated: {why}"),
            (None, None) => String::new(),
        };
        eprintln!(
            "clawless: isolated mode ({}pid, mount and network namespaces, private /proc{}{}{how})",
            if user_ns { "user, " } else { "" },
            if isolation.is_some_and(|i| !i.noexec.is_empty()) {
                ", noexec mounts"
            } else {
                ""
            },
            if matches!(cgroup, Some(Ok(_))) {
                ", a cgroup"
            } else {
                ""
            }
        );
    }
    crate::startup_mark("the monitor started; the agent may exec");
    write_all(ack_w.as_raw_fd(), b"g");
    drop(ack_w);
    // EOF: the exec happened. Otherwise the child tells why it did not.
    let rest = read_to_end(&status_r);
    if rest.first() == Some(&MSG_EXEC) && rest.len() >= 5 {
        let e = i32::from_ne_bytes([rest[1], rest[2], rest[3], rest[4]]);
        kill_child(pid);
        let why = std::io::Error::from_raw_os_error(e).to_string();
        let why = if e == libc::EPERM || e == libc::EACCES {
            format!("{why} (refused by the policy or by Landlock)")
        } else {
            why
        };
        return Err(LaunchError::CannotRun(shown, why).into());
    }
    if rest.first() == Some(&MSG_SETUP) {
        kill_child(pid);
        return Err(LaunchError::Setup(String::from_utf8_lossy(&rest[1..]).into_owned()).into());
    }
    Ok(Started {
        child: pid,
        report,
        monitor,
        agent: agent as u32,
        cgroup: cgroup.and_then(Result::ok),
    })
}

/// Gives the tripwires (marked already) their monitor, marks the secrets' other
/// names, and starts the watcher.
fn arm_tripwires(f: &crate::isofiles::Files, monitor: &Arc<Monitor>) -> Result<(), String> {
    monitor.set_tripwires(Arc::clone(&f.tripwires));
    f.tripwires.attach(monitor);
    if !f.plan.monitored.is_empty() {
        // No tripwire kind here watches a whole subtree (the plan has none).
        return Err(format!(
            "the isolated plan monitors {:?}, which this runtime cannot",
            f.plan.monitored
        ));
    }
    // Secrets known by another name (`crate::aliases`: a hard link into the
    // workspace, made before the session or during it; the real file behind a
    // secret-named symlink): the mark on the inode covers every name, and the
    // monitor decides the open as a read of the secret name.
    for (path, name) in monitor.aliases.objects() {
        f.tripwires.cover_object(path.as_deref().unwrap_or(&name), &name);
    }
    f.tripwires.watch();
    Ok(())
}

/// Closes a raw descriptor in a forked child (whose `OwnedFd`s are never dropped).
///
/// # Safety
/// `fd` must be a descriptor nothing else in this process uses afterwards.
unsafe fn drop_raw(fd: i32) {
    // SAFETY: the caller's contract.
    unsafe { libc::close(fd) };
}

fn spawn_signal_forwarder(child: i32, set: libc::sigset_t) {
    let _ = std::thread::Builder::new()
        .name("claw-signals".into())
        .spawn(move || loop {
            // SAFETY: info is written by sigwaitinfo.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let sig = libc::sigwaitinfo(&set, &mut info);
                if sig < 0 {
                    continue;
                }
                // Sent by a process (kill, sigqueue): pass it on. Sent by the kernel
                // (a terminal's ^C, a window resize): the command got its own copy.
                if info.si_code <= 0 {
                    libc::kill(child, sig);
                }
            }
        });
}

/// Every half second, forget sockets the sandbox has closed, so holding a
/// duplicate for revocation never keeps a connection open.
fn spawn_socket_reaper(monitor: Arc<Monitor>) {
    let _ = std::thread::Builder::new()
        .name("claw-sockets".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            if monitor.tracking() {
                let pids = descendants(std::process::id() as i32);
                monitor.forget_closed(&socket_inodes(&pids));
            }
        });
}

/// The status to exit with for a wait status: the exit code, 128+signal if killed.
fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        if sig == libc::SIGSYS {
            eprintln!("clawless: the command was killed by SIGSYS: the policy's filter kills that syscall (a `kill` rule, or a foreign-architecture or x32 call)");
        }
        128 + sig
    } else {
        125
    }
}

/// Waits for the command (isolated: for our init, which reports the agent's status
/// on `report`); then ends whatever it left running (without the monitor it could
/// do nothing useful anyway) and returns its status, 128+signal if killed.
///
/// `ended` runs once the child is reaped, before the rest is ended: with our
/// init reaped, no process of the sandbox is left (the kernel ends an init only
/// after every process of its pid namespace).
fn wait_for(child: i32, report: Option<&OwnedFd>, ended: impl FnOnce()) -> i32 {
    let code;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a live local for waitpid to write.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            code = 125;
            break;
        }
        if r == child {
            code = match report {
                None => exit_code(status),
                Some(report) => match namespaces::read_report(report) {
                    Some(agent) => exit_code(agent),
                    None => {
                        eprintln!("clawless: the sandbox's init died before the command ended");
                        125
                    }
                },
            };
            break;
        }
    }
    ended();
    for p in descendants(std::process::id() as i32) {
        // SAFETY: kill with integer arguments touches no memory; `p` was read from
        // our own tree just now (a reused pid gets a signal meant for the sandbox).
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    // Reap what is left, without waiting on anything that does not die.
    let deadline = Instant::now() + Duration::from_secs(2);
    // SAFETY: no status pointer; waitpid only reaps our own children.
    while Instant::now() < deadline && unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } >= 0
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    code
}
