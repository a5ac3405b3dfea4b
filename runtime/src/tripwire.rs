//! Tripwires (isolated mode, with `CAP_SYS_ADMIN`): fanotify permission marks on
//! every existing secret's inode (procfs takes no permission marks: `/proc` is
//! Landlock's, see `claw_ir::isolate`). The kernel performs the agent's opens; an open of a marked inode (by
//! any name: a hard link, `/proc/self/fd/N`, a path through `/proc/<pid>/root`)
//! blocks in the kernel until this module has answered. It decides the open as
//! the IR decides a `read` of the secret's path (and of the name it was opened
//! by) in the current state, firing the transition *before* it answers, so the
//! agent never holds a byte of a secret in the old state. A tripwire the policy
//! denies reading in every state refuses every open (`visible` but unreadable).
//!
//! Opens by processes outside the sandbox (the user's own ssh, the monitor's
//! emulated opens) are allowed at once, ahead of the sandbox's in each batch of
//! events, and change nothing (the monitor looks its own opens up by inode:
//! [`Tripwires::secret_of`]). Finding the secrets is [`crate::discover`]'s. A mark is on the
//! inode, so renaming or linking a secret keeps it a tripwire; names the agent
//! creates or renames into a secret pattern are marked by the monitor before it
//! answers (`cover_fd`, `cover_at`); names created by processes outside are
//! marked by the watcher (inotify on the writable roots) as soon as it sees them:
//! that window is stated in docs/threat-model.md.
//!
//! This module knows fanotify, inotify and the isolated plan; it decides nothing
//! itself (the monitor's `decide` does), and it does not know how the sandbox was
//! set up beyond our init's pid.

use crate::monitor::Monitor;
use crate::notify::Notification;
use claw_ir::isolate::IsolatedPlan;
use claw_ir::{Access, Env, Verb};
use serde_json::json;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// `struct fanotify_response`.
#[repr(C)]
struct Response {
    fd: i32,
    response: u32,
}

/// `FAN_DENY_ERRNO(e)` (Linux 6.14, pre-content groups): deny with this errno.
fn deny_errno(e: i32) -> u32 {
    libc::FAN_DENY | ((e as u32 & 0xff) << 24)
}

/// The events a tripwire asks for.
const MASK: u64 = libc::FAN_OPEN_PERM | libc::FAN_OPEN_EXEC_PERM;

/// The tripwires of a run: the fanotify group marking the secrets, and the plan
/// that says which they are.
pub struct Tripwires {
    fan: OwnedFd,
    plan: IsolatedPlan,
    env: Env,
    /// Our init's pid (here), the inode of the sandbox's pid namespace and of ours.
    sandbox: OnceLock<(i32, u64, u64)>,
    /// Marked secrets by (device, inode): the path they had when marked.
    secrets: Mutex<HashMap<(u64, u64), String>>,
    monitor: OnceLock<Weak<Monitor>>,
    /// Does this kernel take `FAN_DENY_ERRNO`?
    errno_ok: AtomicBool,
    /// Marks placed (one per inode).
    count: AtomicUsize,
    /// Where the system roots' secrets are cached (only a file no state lets
    /// the agent write: `isofiles` checks).
    cache_file: OnceLock<std::path::PathBuf>,
    /// The watcher of the writable trees (directories added by discovery).
    watcher: crate::discover::Watcher,
    /// Each tripwire pattern's last component, when it is not `**`: a path whose
    /// last component does not match it cannot match the pattern (a cheap test
    /// before the whole glob, for the start-up walk).
    lasts: Vec<Option<String>>,
}

/// `fstatat(dir, name)`, not following a final symlink.
pub(crate) fn stat_at(dir: i32, name: &CString) -> Option<libc::stat> {
    stat_of(dir, Some(name), false)
}

fn stat_of(fd: i32, name: Option<&CString>, follow: bool) -> Option<libc::stat> {
    // SAFETY: st is written by fstatat; the name is a valid C string or empty.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        let (p, flags) = match name {
            Some(n) => (n.as_ptr(), if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW }),
            None => (c"".as_ptr(), libc::AT_EMPTY_PATH),
        };
        (libc::fstatat(fd, p, &mut st, flags) == 0).then_some(st)
    }
}

impl Tripwires {
    /// A fanotify group for permission events, or why there is none (the caller
    /// names the missing feature and keeps opens mediated).
    pub fn new(plan: IsolatedPlan, env: Env) -> Result<Tripwires, String> {
        let plan_copy = plan.clone();
        let flags =
            libc::FAN_CLOEXEC | libc::FAN_UNLIMITED_QUEUE | libc::FAN_UNLIMITED_MARKS | libc::FAN_REPORT_TID;
        let fl = (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as libc::c_uint;
        // Pre-content class first (it can deny with an errno), then content.
        let mut errno_ok = true;
        // SAFETY: fanotify_init takes only integer flags; a descriptor it returns
        // is owned below.
        let mut fd = unsafe { libc::fanotify_init(flags | libc::FAN_CLASS_PRE_CONTENT, fl) };
        if fd < 0 {
            errno_ok = false;
            // SAFETY: as above: integer flags only, the descriptor owned below.
            fd = unsafe { libc::fanotify_init(flags | libc::FAN_CLASS_CONTENT, fl) };
        }
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "tripwires need fanotify permission events, which need CAP_SYS_ADMIN ({e}); FUSE tripwires are not implemented"
            ));
        }
        Ok(Tripwires {
            // SAFETY: a fresh descriptor.
            fan: unsafe { OwnedFd::from_raw_fd(fd) },
            plan,
            env,
            sandbox: OnceLock::new(),
            secrets: Mutex::new(HashMap::new()),
            monitor: OnceLock::new(),
            errno_ok: AtomicBool::new(errno_ok),
            count: AtomicUsize::new(0),
            cache_file: OnceLock::new(),
            watcher: crate::discover::Watcher::new()?,
            lasts: plan_lasts(&plan_copy),
        })
    }

    /// Caches the system roots' secrets in `file` (which the agent must not be
    /// able to write).
    pub fn set_cache(&self, file: std::path::PathBuf) {
        let _ = self.cache_file.set(file);
    }

    /// The isolated-mode plan the tripwires come from.
    pub fn plan(&self) -> &IsolatedPlan {
        &self.plan
    }

    /// How many secrets are tripwires now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// The fanotify group's descriptor number (its marks are listed in
    /// `/proc/<clawless>/fdinfo/<n>`).
    pub fn group_fd(&self) -> i32 {
        self.fan.as_raw_fd()
    }

    pub(crate) fn env(&self) -> &Env {
        &self.env
    }

    /// The secret path a marked inode was recorded under.
    pub fn secret_of(&self, dev: u64, ino: u64) -> Option<String> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(dev, ino))
            .cloned()
    }

    /// Is `path` a match of a tripwire pattern?
    pub(crate) fn secret(&self, path: &str) -> bool {
        let base = path.rsplit('/').next().unwrap_or("");
        self.plan.tripwires.iter().zip(&self.lasts).any(|(t, last)| {
            last.as_ref()
                .is_none_or(|l| claw_ir::glob_match(l, &format!("/{base}")))
                && self.env.matches(&t.pattern, path)
        })
    }

    /// Ties the tripwires to the sandbox (our init) and starts answering, before
    /// any mark: until [`Tripwires::attach`] names the monitor, an open by the
    /// sandbox of a marked inode is refused (nothing of the agent runs yet).
    pub fn start(self: &Arc<Self>, init: i32) -> Result<(), String> {
        let ns = std::fs::metadata(format!("/proc/{init}/ns/pid"))
            .map_err(|e| format!("the sandbox's pid namespace: {e}"))?;
        let own =
            std::fs::metadata("/proc/self/ns/pid").map_err(|e| format!("our own pid namespace: {e}"))?;
        use std::os::unix::fs::MetadataExt;
        let _ = self.sandbox.set((init, ns.ino(), own.ino()));
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("claw-tripwires".into())
            .spawn(move || me.serve())
            .map_err(|e| format!("starting the tripwire thread: {e}"))?;
        Ok(())
    }

    /// The monitor that decides the sandbox's opens of tripwires.
    pub fn attach(&self, monitor: &Arc<Monitor>) {
        let _ = self.monitor.set(Arc::downgrade(monitor));
    }

    /// Marks every existing secret below the plan's discovery roots and watches
    /// the writable trees ([`crate::discover`]). On an error (a part that cannot be
    /// covered, the entry bound) every mark is removed again: the caller keeps
    /// opens mediated.
    pub fn discover(&self) -> Result<(), String> {
        let r = crate::discover::discover(self, &self.watcher, self.cache_file.get());
        if r.is_err() {
            // SAFETY: our own group; flushes its inode marks.
            unsafe {
                libc::fanotify_mark(
                    self.fan.as_raw_fd(),
                    libc::FAN_MARK_FLUSH,
                    0,
                    libc::AT_FDCWD,
                    std::ptr::null(),
                );
            }
            self.secrets.lock().unwrap_or_else(|e| e.into_inner()).clear();
            self.count.store(0, Ordering::Relaxed);
        }
        r
    }

    /// Starts the watcher's thread (after [`Tripwires::discover`]).
    pub fn watch(self: &Arc<Self>) {
        let me = Arc::clone(self);
        let _ = std::thread::Builder::new()
            .name("claw-watcher".into())
            .spawn(move || me.watcher.run(&me));
    }

    /// Marks `name` in `dir` (not following a final symlink) as the secret `path`:
    /// `Ok(false)` when there is nothing to mark (gone, or a symlink: what it names
    /// is decided by its own path), an error when the kernel refuses the mark.
    pub(crate) fn mark_at(&self, dir: i32, name: &CString, path: &str) -> Result<bool, String> {
        let Some(st) = stat_of(dir, Some(name), false) else {
            return Ok(false);
        };
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Ok(false);
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let mask = if is_dir { MASK | libc::FAN_ONDIR } else { MASK };
        // SAFETY: valid C string; our own descriptor.
        let r = unsafe {
            libc::fanotify_mark(
                self.fan.as_raw_fd(),
                libc::FAN_MARK_ADD | libc::FAN_MARK_DONT_FOLLOW,
                mask,
                dir,
                name.as_ptr(),
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOENT) {
                return Ok(false);
            }
            return Err(format!("cannot place a tripwire on {path}: {e}"));
        }
        Ok(self.record(st, path))
    }

    fn record(&self, st: libc::stat, path: &str) -> bool {
        let mut s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if s.insert((st.st_dev, st.st_ino), path.to_string()).is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Marks the object `fd` refers to, if its path is a secret (a file the
    /// monitor created for the agent, before it hands it over).
    pub fn cover_fd(&self, fd: BorrowedFd<'_>) {
        let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
            return;
        };
        let p = p.to_string_lossy().into_owned();
        if !self.secret(&p) {
            return;
        }
        let Some(st) = stat_of(fd.as_raw_fd(), None, false) else {
            return;
        };
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let mask = if is_dir { MASK | libc::FAN_ONDIR } else { MASK };
        // SAFETY: a NULL path marks the object of `fd` itself.
        let r = unsafe {
            libc::fanotify_mark(
                self.fan.as_raw_fd(),
                libc::FAN_MARK_ADD,
                mask,
                fd.as_raw_fd(),
                std::ptr::null(),
            )
        };
        if r == 0 {
            self.record(st, &p);
        }
    }

    /// Marks the regular file at `path` as the secret `name` (`crate::aliases`:
    /// a secret known by another name, a hard link or a secret-named symlink,
    /// while `path` may lie in a readable tree). Opened `O_NONBLOCK|O_NOFOLLOW`
    /// and checked to be a regular file before the mark (a FIFO, device or link
    /// swapped in is left alone).
    pub fn cover_object(&self, path: &str, name: &str) {
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW)
            .open(path)
        else {
            return;
        };
        let Some(st) = stat_of(f.as_raw_fd(), None, false) else {
            return;
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return;
        }
        // SAFETY: a NULL path marks the object of our own descriptor `f`.
        let r = unsafe {
            libc::fanotify_mark(
                self.fan.as_raw_fd(),
                libc::FAN_MARK_ADD,
                MASK,
                f.as_raw_fd(),
                std::ptr::null(),
            )
        };
        if r == 0 {
            self.record(st, name);
        }
    }

    /// Marks the secret at `path`, by its parent directory and name (a
    /// discovery root that is itself a secret).
    pub fn cover_path(&self, path: &str) {
        if let Some((dir, name)) = split(path) {
            let opened = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
                .open(dir);
            if let (Ok(d), Ok(n)) = (opened, CString::new(name)) {
                let _ = self.mark_at(d.as_raw_fd(), &n, path);
            }
        }
    }

    /// Marks `name` in the directory `dir` when `path` (its canonical path) is a
    /// secret: a name the monitor just gave an object (rename, link).
    pub fn cover_at(&self, dir: i32, name: &std::ffi::CStr, path: &str) {
        if self.secret(path) {
            let _ = self.mark_at(dir, &name.to_owned(), path);
        }
    }

    /// Answers permission events until the group is closed.
    fn serve(&self) {
        let mut buf = vec![0u8; 64 * 1024];
        let head = std::mem::size_of::<libc::fanotify_event_metadata>();
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fan.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
            let n = n as usize;
            let mut off = 0usize;
            // First every opener outside the sandbox is answered (at once, with no
            // look at the file), then the sandbox's opens are decided: a host
            // process never waits behind the agent's decisions.
            let mut inside: Vec<(OwnedFd, i32, u64)> = Vec::new();
            while off + head <= n {
                // SAFETY: a header's bytes remain; read unaligned.
                let ev: libc::fanotify_event_metadata =
                    unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let len = ev.event_len as usize;
                if len < head {
                    break;
                }
                off = off.saturating_add(len);
                if ev.fd < 0 {
                    continue; // queue overflow: nothing to answer
                }
                // SAFETY: the event's descriptor is ours to close.
                let file = unsafe { OwnedFd::from_raw_fd(ev.fd) };
                if ev.mask & MASK != 0 && ev.pid > 0 && self.in_sandbox(ev.pid) {
                    inside.push((file, ev.pid, ev.mask));
                } else {
                    self.respond(ev.fd, libc::FAN_ALLOW);
                }
            }
            for (file, tid, mask) in inside {
                let response = self.decide(&file, tid, mask);
                self.respond(file.as_raw_fd(), response);
            }
        }
    }

    fn respond(&self, fd: i32, response: u32) {
        let mut r = Response { fd, response };
        for _ in 0..2 {
            // SAFETY: r is a valid fanotify_response.
            let w = unsafe {
                libc::write(
                    self.fan.as_raw_fd(),
                    (&raw const r).cast(),
                    std::mem::size_of::<Response>(),
                )
            };
            if w >= 0 {
                return;
            }
            if r.response != libc::FAN_ALLOW && r.response != libc::FAN_DENY {
                // This kernel does not take an errno: deny plainly (EPERM).
                self.errno_ok.store(false, Ordering::Relaxed);
                r.response = libc::FAN_DENY;
                continue;
            }
            return;
        }
    }

    /// Is thread `tid` one of the sandbox's (its pid namespace, or below our init)?
    /// Race-free: the thread is blocked in its open until we answer, so its pid
    /// names it (killed meanwhile, nothing waits for the answer). A thread in our
    /// own pid namespace is outside at once (every process of the sandbox is in its
    /// namespace, which is below ours); only a third namespace is looked at closer.
    fn in_sandbox(&self, tid: i32) -> bool {
        let Some(&(init, ns, own)) = self.sandbox.get() else {
            return false;
        };
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(format!("/proc/{tid}/ns/pid")).map(|m| m.ino()) {
            Ok(i) if i == ns => return true,
            Ok(i) if i == own => return false,
            _ => {}
        }
        let tgid = crate::agent::tgid_of(tid as u32).map_or(tid, |t| t as i32);
        let mut p = tgid;
        for _ in 0..4096 {
            if p == init {
                return true;
            }
            if p <= 1 {
                return false;
            }
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                return false;
            };
            match stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
                .and_then(|s| s.parse().ok())
            {
                Some(pp) => p = pp,
                None => return false,
            }
        }
        false
    }

    /// The answer to one permission event on `file` by thread `tid`.
    fn decide(&self, file: &OwnedFd, tid: i32, mask: u64) -> u32 {
        let Some(m) = self.monitor.get().and_then(Weak::upgrade) else {
            return libc::FAN_DENY; // no monitor: fail closed
        };
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let secret = stat_of(file.as_raw_fd(), None, false).and_then(|st| {
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&(st.st_dev, st.st_ino))
                .cloned()
        });
        let verb = if mask & libc::FAN_OPEN_EXEC_PERM != 0 {
            Verb::Exec
        } else {
            Verb::Read
        };
        let mut paths: Vec<String> = Vec::new();
        match secret {
            // Another name's object (a hard link, a secret-named symlink's
            // target: `crate::aliases`) mapped for exec: no read, so decided on
            // the path it was opened by, as mediated mode decides an exec.
            Some(s) if verb == Verb::Exec && opened.starts_with('/') && opened != s => {
                paths.push(opened.clone());
            }
            Some(s) => {
                paths.push(s.clone());
                if !opened.is_empty() && opened != s {
                    paths.push(opened.clone());
                }
            }
            // Marked but not (yet) recorded (the mark is placed just before its
            // record): decided on the name it was opened by, which the IR judges.
            None if opened.starts_with('/') => paths.push(opened.clone()),
            None => return self.refuse(libc::EPERM),
        }
        let accesses: Vec<Access> = paths
            .iter()
            .map(|p| Access::Path {
                verb,
                path: p.clone(),
            })
            .collect();
        let nr = m.table().by_name("openat").map_or(0, |s| s.nr);
        let n = Notification {
            id: 0,
            tid: tid as u32,
            nr,
            arch: m.ir.arch.audit_arch(),
            args: [libc::AT_FDCWD as u64, 0, libc::O_RDONLY as u64, 0, 0, 0],
            ip: 0,
        };
        let v = m.decide(
            &n,
            "openat",
            nr,
            &accesses,
            || json!({ "path": paths.first(), "tripwire": secret_shown(&paths) }),
        );
        if v.allowed() {
            libc::FAN_ALLOW
        } else {
            self.refuse(v.refusal_errno())
        }
    }

    fn refuse(&self, errno: i32) -> u32 {
        if self.errno_ok.load(Ordering::Relaxed) {
            deny_errno(errno)
        } else {
            libc::FAN_DENY
        }
    }
}

fn secret_shown(paths: &[String]) -> bool {
    !paths.is_empty()
}

fn plan_lasts(plan: &IsolatedPlan) -> Vec<Option<String>> {
    plan.tripwires
        .iter()
        .map(|t| {
            let last = t.pattern.rsplit('/').next().unwrap_or("");
            (last != "**" && !last.is_empty() && !last.starts_with('$')).then(|| format!("/{last}"))
        })
        .collect()
}

/// `/a/b` → (`/a`, `b`); `/b` → (`/`, `b`).
fn split(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    let name = &path[i + 1..];
    if name.is_empty() {
        return None;
    }
    Some((if i == 0 { "/" } else { &path[..i] }, name))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_paths() {
        assert_eq!(split("/a/b"), Some(("/a", "b")));
        assert_eq!(split("/b"), Some(("/", "b")));
        assert_eq!(split("/"), None);
    }
}
