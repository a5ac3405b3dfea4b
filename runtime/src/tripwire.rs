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
//! emulated opens) are allowed at once by the group's listener, a process of its
//! own (`crate::fanlisten`: a stopped `clawless` does not stall them), and change
//! nothing (the monitor looks its own opens up by inode:
//! [`Tripwires::secret_of`]); the sandbox's events are passed to this module's
//! thread, which decides them. If the listener dies, the sandbox is killed before
//! the group is dropped. Finding the secrets is [`crate::discover`]'s. A mark is on the
//! inode, so renaming or linking a secret keeps it a tripwire; names the agent
//! creates or renames into a secret pattern are marked by the monitor before it
//! answers (`cover_fd`, `cover_at`); names created by processes outside are
//! marked by the watcher (fanotify directory-entry events on every file system of
//! the discovery roots, [`crate::discover`]) as soon as it sees them: that window
//! is stated in docs/threat-model.md. A mark placed once the agent
//! may run is a *late* one: what the sandbox already holds of the inode is found
//! and decided (`Tripwires::late_mark`, with the sandbox frozen when it has a
//! cgroup of its own, [`crate::cgroup`]; what that does not see is stated there).
//!
//! Without `CAP_SYS_ADMIN` the same record of secrets can back FUSE tripwires
//! instead ([`Tripwires::new_fuse`]: discovery records each secret's identity and
//! path and places no mark; [`crate::fusewire`] mounts a FUSE file over each).
//!
//! This module knows fanotify permission events and the isolated plan; it decides nothing
//! itself (the monitor's `decide` does), and it does not know how the sandbox was
//! set up beyond our init's pid and its cgroup (which it only freezes and thaws).

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

/// `FAN_DENY_ERRNO(e)` (Linux 6.14, pre-content groups): deny with this errno.
fn deny_errno(e: i32) -> u32 {
    libc::FAN_DENY | ((e as u32 & 0xff) << 24)
}

/// The events a tripwire asks for.
const MASK: u64 = libc::FAN_OPEN_PERM | libc::FAN_OPEN_EXEC_PERM;

/// The tripwires of a run: the fanotify group marking the secrets, and the plan
/// that says which they are.
pub struct Tripwires {
    /// The fanotify group; `None` for FUSE tripwires (secrets recorded, not marked).
    fan: Option<OwnedFd>,
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
    /// The watcher of new names (armed by discovery, on every file system of the
    /// discovery roots).
    watcher: crate::discover::Watcher,
    /// Each tripwire pattern's last component, when it is not `**`: a path whose
    /// last component does not match it cannot match the pattern (a cheap test
    /// before the whole glob, for the start-up walk).
    lasts: Vec<Option<String>>,
    /// Set once the agent may run: every mark from now on is *late* (the sandbox
    /// may already hold the inode, [`Tripwires::late_mark`]).
    late: AtomicBool,
    /// Files the sandbox passed with `SCM_RIGHTS` (the monitor performs every
    /// `sendmsg`), by (device, inode), with the sender's thread; `true` once
    /// [`MAX_PASSED`] was reached (every late mark then counts as passed).
    passed: Mutex<Passed>,
    /// The thread that first passed a pipe or socket with `SCM_RIGHTS`: in flight
    /// it is in no table, and it may hold a file's pages (`splice`): every late
    /// mark from then on counts as held (red team round 8, scm-rights-in-flight).
    queue_passed: OnceLock<u32>,
    /// Why the monitor may not see every descriptor passed in flight (the policy
    /// lets the kernel perform some `sendmsg`), if so: every late mark then counts
    /// as held by a passed descriptor.
    unseen_passing: OnceLock<Option<String>>,
    /// A pidfd of our init (killing it ends the whole sandbox).
    init_fd: OnceLock<OwnedFd>,
    /// The sandbox's cgroup, when it has one: a late-mark scan freezes it
    /// ([`crate::cgroup`]; the run owns it).
    cgroup: OnceLock<Weak<crate::cgroup::Cgroup>>,
    /// The pid of the process reading the group's events (`crate::fanlisten`).
    listener: OnceLock<i32>,
    /// Told of each secret recorded after it is set (FUSE tripwires mount a file
    /// over it: [`crate::fusewire::FuseWire::follow`]).
    on_new: OnceLock<NewSecret>,
}

/// What is told of a newly recorded secret: its (device, inode) and path.
pub type NewSecret = Box<dyn Fn((u64, u64), &str) + Send + Sync>;

/// Files passed with `SCM_RIGHTS` by (device, inode): the sender's thread; and
/// whether [`MAX_PASSED`] was reached.
type Passed = (HashMap<(u64, u64), u32>, bool);

/// The most passed files remembered (see [`Tripwires::passed`]).
const MAX_PASSED: usize = 65_536;

/// The most `/proc` entries (processes, threads, descriptors, mappings, `kcmp`
/// calls) one late-mark scan looks at; past it the scan counts as having found a
/// holder (fail closed).
const MAX_SCAN: usize = 2_000_000;

/// How many times a late mark kills the holders it found and scans again, before
/// it kills the whole sandbox.
const KILL_ROUNDS: usize = 4;

/// How long a late mark waits for the sandbox to be frozen before it scans anyway.
const FREEZE_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// The same, for a late mark the monitor makes while it answers a sandbox
/// thread (which cannot freeze before that answer).
const ANSWERING_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

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
                "tripwires need fanotify permission events, which need CAP_SYS_ADMIN ({e}); FUSE tripwires are opt-in ({}=fuse)",
                crate::fusewire::SELECT
            ));
        }
        // SAFETY: a fresh descriptor.
        let fan = unsafe { OwnedFd::from_raw_fd(fd) };
        Tripwires::with(Some(fan), errno_ok, plan, env)
    }

    /// Tripwires recorded for FUSE ([`crate::fusewire`]): discovery records each
    /// secret and places no fanotify mark.
    pub fn new_fuse(plan: IsolatedPlan, env: Env) -> Result<Tripwires, String> {
        Tripwires::with(None, false, plan, env)
    }

    fn with(fan: Option<OwnedFd>, errno_ok: bool, plan: IsolatedPlan, env: Env) -> Result<Tripwires, String> {
        let plan_copy = plan.clone();
        Ok(Tripwires {
            fan,
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
            late: AtomicBool::new(false),
            passed: Mutex::new((HashMap::new(), false)),
            queue_passed: OnceLock::new(),
            unseen_passing: OnceLock::new(),
            init_fd: OnceLock::new(),
            cgroup: OnceLock::new(),
            listener: OnceLock::new(),
            on_new: OnceLock::new(),
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
    /// `/proc/<clawless>/fdinfo/<n>`); -1 for FUSE tripwires.
    pub fn group_fd(&self) -> i32 {
        self.fan.as_ref().map_or(-1, |f| f.as_raw_fd())
    }

    /// Are these FUSE tripwires (recorded, not marked)?
    pub fn is_fuse(&self) -> bool {
        self.fan.is_none()
    }

    /// Every recorded secret: (device, inode) and the path it was recorded under.
    pub fn recorded(&self) -> Vec<((u64, u64), String)> {
        let s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = s.iter().map(|(k, p)| (*k, p.clone())).collect();
        v.sort();
        v
    }

    /// `fanotify_mark(ADD)` in the group, or nothing (0) for FUSE tripwires.
    fn add_mark(&self, flags: libc::c_uint, mask: u64, dir: i32, name: *const libc::c_char) -> i32 {
        match &self.fan {
            // SAFETY: our own group; `name` is a valid C string or NULL (the
            // object of `dir` itself), as the callers pass.
            Some(fan) => unsafe {
                libc::fanotify_mark(fan.as_raw_fd(), libc::FAN_MARK_ADD | flags, mask, dir, name)
            },
            None => 0,
        }
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
        let base = &path[path.rfind('/').unwrap_or(0)..];
        self.plan.tripwires.iter().zip(&self.lasts).any(|(t, last)| {
            last.as_ref().is_none_or(|l| claw_ir::glob_match(l, base)) && self.env.matches(&t.pattern, path)
        })
    }

    /// The name a new entry at the canonical path `path` is a secret by: its
    /// own path when a tripwire pattern matches it, else a secret name another
    /// object gives it (the end of a secret-named link, a path below a linked
    /// secret directory: `crate::aliases`), as mediated opens decide it. The
    /// watcher marks it as that name (red team round 6, symlinked-secret-dir).
    pub(crate) fn secret_name(&self, path: &str) -> Option<String> {
        if self.secret(path) {
            return Some(path.to_string());
        }
        let m = self.monitor.get().and_then(Weak::upgrade)?;
        m.aliases.of_path(path).into_iter().find(|n| self.secret(n))
    }

    /// Whether some object has secret names other than its own path this
    /// session (then any new entry may be one: [`Tripwires::secret_name`]).
    pub(crate) fn has_other_names(&self) -> bool {
        self.monitor
            .get()
            .and_then(Weak::upgrade)
            .is_some_and(|m| !m.aliases.is_empty())
    }

    /// Can a path whose last component is `name` match a tripwire pattern (a
    /// pattern whose last component is `**` or a variable can match any)?
    pub(crate) fn name_may_be_secret(&self, name: &[u8]) -> bool {
        let shown = format!("/{}", String::from_utf8_lossy(name));
        self.lasts
            .iter()
            .any(|last| last.as_ref().is_none_or(|l| claw_ir::glob_match(l, &shown)))
    }

    /// Ties the tripwires to the sandbox (our init, and the agent before its
    /// exec, whose pid namespace is the init's: without root our non-dumpable
    /// init's namespaces cannot be looked at) and starts answering, before any
    /// mark: until [`Tripwires::attach`] names the monitor, an open by the
    /// sandbox of a marked inode is refused (nothing of the agent runs yet).
    pub fn start(self: &Arc<Self>, init: i32, agent: i32) -> Result<(), String> {
        let ns = std::fs::metadata(format!("/proc/{agent}/ns/pid"))
            .map_err(|e| format!("the sandbox's pid namespace: {e}"))?;
        let own =
            std::fs::metadata("/proc/self/ns/pid").map_err(|e| format!("our own pid namespace: {e}"))?;
        use std::os::unix::fs::MetadataExt;
        let _ = self.sandbox.set((init, ns.ino(), own.ino()));
        if let Some(fd) = pidfd(init) {
            let _ = self.init_fd.set(fd);
        }
        let Some(fan) = &self.fan else {
            return Ok(()); // FUSE: crate::fusewire serves them
        };
        // The group's events are read by a process of its own (a stopped
        // `clawless` must not stall the host's opens: `crate::fanlisten`), which
        // passes the sandbox's to this thread.
        let (sock, listener) = crate::fanlisten::spawn(fan.as_raw_fd(), own.ino())?;
        let _ = self.listener.set(listener);
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("claw-tripwires".into())
            .spawn(move || me.serve(sock))
            .map_err(|e| format!("starting the tripwire thread: {e}"))?;
        Ok(())
    }

    /// The sandbox's cgroup (every process of the sandbox in it): late-mark
    /// scans freeze it. Without one they run with the sandbox running.
    pub fn set_cgroup(&self, cg: Weak<crate::cgroup::Cgroup>) {
        let _ = self.cgroup.set(cg);
    }

    /// The pid of the process that reads the group's events (`crate::fanlisten`).
    pub fn listener_pid(&self) -> Option<i32> {
        self.listener.get().copied()
    }

    /// The monitor that decides the sandbox's opens of tripwires.
    pub fn attach(&self, monitor: &Arc<Monitor>) {
        let _ = self.monitor.set(Arc::downgrade(monitor));
        let unseen: Vec<&str> = ["sendmsg", "sendmmsg"]
            .into_iter()
            .filter(|name| {
                monitor
                    .table()
                    .by_name(name)
                    .is_some_and(|sc| match monitor.ir.route(sc.nr) {
                        claw_ir::Route::Monitor(_) => false,
                        claw_ir::Route::Kernel(k) => {
                            k.fallback.is_allowing() || k.rules.iter().any(|r| r.action.is_allowing())
                        }
                    })
            })
            .collect();
        let _ = self.unseen_passing.set((!unseen.is_empty()).then(|| {
            format!(
                "the policy lets the kernel perform {} (descriptors passed in flight are not seen)",
                unseen.join(" and ")
            )
        }));
    }

    /// Arms the watcher on every file system of the plan's discovery roots, then
    /// marks every existing secret below them ([`crate::discover`]). On an error (a part that cannot be
    /// covered, the entry bound) every mark is removed again: the caller keeps
    /// opens mediated.
    pub fn discover(&self) -> Result<(), String> {
        let r = crate::discover::discover(self, &self.watcher, self.cache_file.get());
        if r.is_err() {
            if let Some(fan) = &self.fan {
                flush_marks(fan);
            }
            self.secrets.lock().unwrap_or_else(|e| e.into_inner()).clear();
            self.count.store(0, Ordering::Relaxed);
        }
        r
    }

    /// Removes every mark (the tripwires' and the watcher's) once the sandbox is
    /// gone (its init reaped). The kernel frees marks after a grace period, which
    /// closing a group with marks waits for, one group after the other, as
    /// `clawless` exits: removed together here, both wait out one grace period,
    /// overlapping what `clawless` still does before it exits.
    pub fn unmark_all(&self) {
        if let Some(fan) = &self.fan {
            flush_marks(fan);
        }
        self.watcher.unmark_all();
    }

    /// Starts the watcher's thread (after [`Tripwires::discover`]).
    pub fn watch(self: &Arc<Self>) {
        // From here on the agent may run: every new mark is a late one.
        self.late.store(true, Ordering::SeqCst);
        let me = Arc::clone(self);
        let _ = std::thread::Builder::new()
            .name("claw-watcher".into())
            .spawn(move || me.watcher.run(&me));
    }

    /// Marks `name` in `dir` (not following a final symlink) as the secret `path`:
    /// `Ok(false)` when there is nothing to mark (gone, or a symlink: what it names
    /// is decided by its own path), an error when the kernel refuses the mark.
    /// Once the agent may run (a watcher's mark), the mark is a late one: after it
    /// is placed, [`Tripwires::late_mark`] decides for whatever the sandbox
    /// already holds of the inode. Whoever marks by other means after the start
    /// must call [`Tripwires::late_mark`] after its mark, the same way.
    pub(crate) fn mark_at(&self, dir: i32, name: &CString, path: &str) -> Result<bool, String> {
        let st = self.mark_only(dir, name, path)?;
        if let Some(st) = st {
            self.late_mark(st.st_dev, st.st_ino, path, None);
        }
        Ok(st.is_some())
    }

    /// [`Tripwires::mark_at`] without the late-mark decision: the stat of what
    /// was marked, `None` when there was nothing to mark.
    fn mark_only(&self, dir: i32, name: &CString, path: &str) -> Result<Option<libc::stat>, String> {
        let Some(st) = stat_of(dir, Some(name), false) else {
            return Ok(None);
        };
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Ok(None);
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let mask = if is_dir { MASK | libc::FAN_ONDIR } else { MASK };
        let r = self.add_mark(libc::FAN_MARK_DONT_FOLLOW, mask, dir, name.as_ptr());
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOENT) {
                return Ok(None);
            }
            return Err(format!("cannot place a tripwire on {path}: {e}"));
        }
        self.record(st, path);
        Ok(Some(st))
    }

    fn record(&self, st: libc::stat, path: &str) {
        let mut s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let before = s.insert((st.st_dev, st.st_ino), path.to_string());
        if before.is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        let new = before.as_deref() != Some(path);
        drop(s);
        if new && st.st_mode & libc::S_IFMT == libc::S_IFREG {
            if let Some(f) = self.on_new.get() {
                f((st.st_dev, st.st_ino), path);
            }
        }
    }

    /// Tells `f` of every secret recorded from now on (once; later calls are
    /// ignored).
    pub fn on_new_secret(&self, f: NewSecret) {
        let _ = self.on_new.set(f);
    }

    /// Marks the object `fd` refers to, if its path is a secret or has a
    /// secret's name (`Tripwires::secret_name`: the end of a secret-named
    /// link, a path below a linked secret directory), as that secret: a file
    /// the monitor created for the agent, before it hands it over to the thread
    /// `answering`, which waits for that answer. (A write-only creation at
    /// `config/dev.env` under `.env -> config/dev.env` is then `.env`'s
    /// tripwire before the agent can reopen it for reading by itself: red team
    /// round 7, secret-link-end-naming, `O_CREAT`.)
    pub fn cover_fd(&self, fd: BorrowedFd<'_>, answering: u32) {
        let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
            return;
        };
        let path = p.to_string_lossy().into_owned();
        let Some(p) = self.secret_name(&path) else {
            return;
        };
        let Some(st) = stat_of(fd.as_raw_fd(), None, false) else {
            return;
        };
        if p != path && st.st_mode & libc::S_IFMT != libc::S_IFREG {
            // By another name, only files are marked, as the start-up listing
            // and the watcher mark them (`Tripwires::cover_object`).
            return;
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let mask = if is_dir { MASK | libc::FAN_ONDIR } else { MASK };
        // A NULL path marks the object of `fd` itself.
        let r = self.add_mark(0, mask, fd.as_raw_fd(), std::ptr::null());
        if r == 0 {
            self.record(st, &p);
            // An `O_CREAT` open of an existing file the watcher has not marked
            // yet: the sandbox may hold it already.
            self.late_mark(st.st_dev, st.st_ino, &p, Some(answering));
        }
    }

    /// Marks the regular file at `path` as the secret `name` (`crate::aliases`:
    /// a secret known by another name, a hard link or a secret-named symlink,
    /// while `path` may lie in a readable tree). Opened `O_NONBLOCK|O_NOFOLLOW`
    /// and checked to be a regular file before the mark (a FIFO, device or link
    /// swapped in is left alone).
    /// The identity `(device, inode)` of what was marked, if anything was.
    pub fn cover_object(&self, path: &str, name: &str) -> Option<(u64, u64)> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW)
            .open(path)
            .ok()?;
        let st = stat_of(f.as_raw_fd(), None, false)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return None;
        }
        // A NULL path marks the object of our own descriptor `f`.
        let r = self.add_mark(0, MASK, f.as_raw_fd(), std::ptr::null());
        if r != 0 {
            return None;
        }
        self.record(st, name);
        Some((st.st_dev, st.st_ino))
    }

    /// A symlink that a process outside the sandbox made (or moved in) at `link`
    /// during the session, seen by the watcher (red team round 5,
    /// `outside-symlink-during-session`): what it names becomes a secret as for
    /// the agent's own links (`crate::aliases`), each object is marked, and then
    /// decided for whatever the sandbox already holds of it (a late mark). Nothing
    /// before the agent may run (the start-up listing found those links).
    pub(crate) fn learn_link(&self, link: &str) {
        if !self.late.load(Ordering::SeqCst) {
            return;
        }
        let Some(m) = self.monitor.get().and_then(Weak::upgrade) else {
            return;
        };
        for (path, name) in m.aliases.learn_link(link) {
            if let Some((dev, ino)) = self.cover_object(path.as_deref().unwrap_or(&name), &name) {
                self.late_mark(dev, ino, &name, None);
            }
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
    /// secret: a name the monitor just gave an object (rename, link). No late-mark
    /// scan: the naming itself was decided as a `read` of every name the object
    /// gets (docs/threat-model.md), so the state any holder reads it in is
    /// already the one after that read, and a naming refused left nothing to mark.
    pub fn cover_at(&self, dir: i32, name: &std::ffi::CStr, path: &str) {
        if self.secret(path) {
            let _ = self.mark_only(dir, &name.to_owned(), path);
        }
    }

    /// Decides the events the listener passes on (every opener not plainly
    /// outside the sandbox), until the listener is gone; then ends the sandbox
    /// before the group ([`Tripwires::listener_died`]).
    fn serve(&self, sock: OwnedFd) {
        use crate::fanlisten::{Answer, Ask};
        let size = std::mem::size_of::<Ask>();
        loop {
            let mut a = Ask::default();
            let mut cbuf = [0u64; 4];
            let mut io = libc::iovec {
                iov_base: (&raw mut a).cast(),
                iov_len: size,
            };
            // SAFETY: msghdr is plain old data; every pointer set below is a live
            // local with its size.
            let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
            mh.msg_iov = &mut io;
            mh.msg_iovlen = 1;
            mh.msg_control = cbuf.as_mut_ptr().cast();
            mh.msg_controllen = std::mem::size_of_val(&cbuf) as _;
            // SAFETY: as above.
            let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut mh, libc::MSG_CMSG_CLOEXEC) };
            if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            if r <= 0 {
                self.listener_died();
                return;
            }
            // SAFETY: mh's control buffer was filled by the kernel.
            let c = unsafe { libc::CMSG_FIRSTHDR(&mh) };
            // SAFETY: c, if not null, points into cbuf.
            let file = (!c.is_null()
                && unsafe { (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS })
            .then(|| {
                // SAFETY: an SCM_RIGHTS message carries a descriptor now ours.
                unsafe { OwnedFd::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>())) }
            });
            // No pid (an opener our namespace cannot see: above it, so outside), or
            // one outside the sandbox (a third pid namespace): allowed.
            let response = if r as usize != size || a.tid <= 0 || !self.in_sandbox(a.tid) {
                libc::FAN_ALLOW
            } else {
                match file {
                    Some(file) if a.mask & MASK != 0 => self.decide(&file, a.tid, a.mask),
                    // A sandbox's event without its descriptor: fail closed.
                    _ => self.refuse(libc::EPERM),
                }
            };
            let ans = Answer { key: a.key, response };
            // SAFETY: ans is a live local of its size.
            let w = unsafe {
                libc::send(
                    sock.as_raw_fd(),
                    (&raw const ans).cast(),
                    std::mem::size_of::<Answer>(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if w < 0 {
                self.listener_died();
                return;
            }
        }
    }

    /// The listener is gone (killed): nothing answers the group's events, and
    /// closing the group would allow every pending and later open. So the sandbox
    /// is killed first, and the group dropped only once its init has ended (the
    /// kernel ends every process of the pid namespace before that); an init that
    /// does not end within 10 s keeps the group (fail closed: the marked files'
    /// openers wait).
    fn listener_died(&self) {
        let gone = |ms: i32| {
            self.init_fd.get().is_some_and(|fd| {
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, ms) == 1 }
            })
        };
        // At the end of the run (the sandbox ended, then `clawless` ended its
        // children, the listener among them) there is nothing to say.
        if !gone(0) {
            self.kill_sandbox("the tripwire listener died");
        }
        if !gone(10_000) {
            eprintln!(
                "clawless: the sandbox did not end; its tripwires stay (opens of the marked files wait)"
            );
            return;
        }
        // Drop our copy of the group, the last (its number stays taken, by
        // /dev/null, so nothing else is marked through a reused number).
        if let (Ok(null), Some(fan)) = (std::fs::File::open("/dev/null"), &self.fan) {
            // SAFETY: both descriptors are open; dup2 replaces the group's atomically.
            unsafe { libc::dup2(null.as_raw_fd(), fan.as_raw_fd()) };
        }
    }

    /// Is thread `tid` one of the sandbox's (its pid namespace, its cgroup, or
    /// below our init; an ancestry deeper than [`MAX_ANCESTORS`] counts as the
    /// sandbox's)?
    /// Race-free: the thread is blocked in its open until we answer, so its pid
    /// names it (killed meanwhile, nothing waits for the answer). A thread in our
    /// own pid namespace is outside at once (every process of the sandbox is in its
    /// namespace, which is below ours); only a third namespace is looked at closer.
    pub(crate) fn in_sandbox(&self, tid: i32) -> bool {
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
        // The sandbox's cgroup holds every process of it, however deep its pid
        // namespaces nest (red team round 6, deep-nested-pidns).
        if let Some(cg) = self.cgroup.get().and_then(Weak::upgrade) {
            if cg.holds(tgid) == Some(true) {
                return true;
            }
        }
        let mut p = tgid;
        for _ in 0..MAX_ANCESTORS {
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
        // Deeper than the bound: no process outside has such an ancestry, the
        // agent can make one (a chain of `clone`s in nested pid namespaces, red
        // team round 6, deep-nested-pidns): fail closed, decided as the sandbox's.
        true
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
        let v = m.decide_tripwire_open(
            tid as u32,
            libc::O_RDONLY as u64,
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

/// One way a sandbox process holds a marked inode, found by [`Tripwires::late_mark`].
struct Holder {
    /// The process (a pidfd: killing it cannot reach a reused pid).
    pidfd: OwnedFd,
    /// The thread whose table held it (our pid namespace's number).
    tid: i32,
    /// `descriptor`, `mapping`, `cwd` or `root`.
    how: &'static str,
}

/// What a late-mark scan found.
struct Scan {
    holders: Vec<Holder>,
    /// Why the scan cannot say that nothing else holds the inode, if so.
    unsure: Option<String>,
}

/// Late marks: a mark placed once the agent may run meets only later opens, so a
/// descriptor (or mapping, working directory, root) the sandbox obtained before it
/// would read whatever is written into the file later (red team round 4,
/// `watcher-window-early-open`). After such a mark is placed (so that an open
/// after the scan meets the mark), every way a sandbox process can already hold
/// the inode is looked for, and a `read` of the secret is decided for it first,
/// as the tripwire would have decided its open; a read the current state refuses
/// kills the holders.
impl Tripwires {
    /// Decides for whatever the sandbox already holds of the inode `(dev, ino)`,
    /// just marked as the secret `path` (nothing before the agent may run: the
    /// start-up marks precede every process of the agent's). Looks at every
    /// thread of every process in the sandbox's pid namespace: its descriptor
    /// table (`/proc/<pid>/task/<tid>/fd`; a write-only or `O_PATH` descriptor
    /// cannot read, so it is no holder), its mappings (`map_files`), its
    /// working directory and root; a table, file-system context or address space
    /// shared by several threads is looked at once (`kcmp`). Descriptors in
    /// flight (passed with `SCM_RIGHTS`, not yet received) are not in `/proc`:
    /// every `sendmsg` of the sandbox is performed by the monitor, which tells
    /// these tripwires each file passed ([`Tripwires::passed`]); a policy that
    /// lets the kernel perform a `sendmsg`, a passed file past the bound, or a
    /// scan past [`MAX_SCAN`] counts as a holder (fail closed).
    ///
    /// Held: a `read` of `path` is decided for the first holder (firing the
    /// transition, recorded in the audit log with `late_mark`). Allowed, they keep
    /// it, as after a tripwire's open. Refused: each holder is killed (`SIGKILL`,
    /// said on stderr), and the scan runs again (a holder may have forked), up to
    /// [`KILL_ROUNDS`] times; a holder in flight or unseen, or holders left after
    /// the last round, kill the whole sandbox.
    ///
    /// Frozen (red team round 5, slow-scan): when the sandbox has a cgroup of its
    /// own ([`crate::cgroup`]), it is frozen from just after the mark until the
    /// decision and the kills are done (thawed on every return: a guard). From
    /// the freeze on no user code of the sandbox runs, so nothing reads the file
    /// through what it held, forks, or moves a descriptor (`pidfd_getfd`,
    /// `SCM_RIGHTS`) while the scan looks, however long the sandbox makes it; a
    /// holder killed dies frozen, with whatever it read. The scan waits up to
    /// [`FREEZE_WAIT`] for `frozen 1`: a task in a wait the freezer does not end
    /// (a seccomp notification the monitor is answering, a fanotify permission
    /// event, I/O) keeps it from that until answered; past the bound the scan
    /// goes on (such a task only finishes that one syscall, then freezes: no user
    /// code runs either), and says so (the trace, the audit record's
    /// `late_mark.frozen`). Called by the monitor while it answers the thread
    /// `answering` (which cannot freeze before that answer), it waits
    /// [`ANSWERING_WAIT`] only. A sandbox process found outside the cgroup makes
    /// the scan unsure (it was not frozen).
    ///
    /// Not closed (docs/threat-model.md): without a cgroup (no writable cgroup2
    /// hierarchy here, not root and nothing delegated, [`crate::cgroup::NO_CGROUP`])
    /// the scan runs with the sandbox running: a descriptor *moved* between
    /// sandbox processes while it runs (`pidfd_getfd` from a process not yet
    /// scanned into one already scanned, or a fork into a pid below the scan's
    /// position after the pid counter wrapped) is not seen, and bytes written
    /// into the file between its mark and the end of the scan can be read
    /// through such a descriptor before the transition fires. With one, bytes
    /// written between the mark and the freeze (microseconds; the watcher's own
    /// window before the mark is stated apart), and a syscall that was already
    /// in progress at the freeze and still is when the scan passes its process.
    pub(crate) fn late_mark(&self, dev: u64, ino: u64, path: &str, answering: Option<u32>) {
        if !self.late.load(Ordering::SeqCst) {
            return;
        }
        let Some(m) = self.monitor.get().and_then(Weak::upgrade) else {
            return;
        };
        let trace = std::env::var_os("CLAWLESS_TRACE_DISCOVERY").is_some();
        // Declared before its guard, so it outlives it (the guard thaws).
        let cg = self.cgroup.get().and_then(Weak::upgrade);
        let t0 = std::time::Instant::now();
        let guard = cg.as_deref().map(crate::cgroup::Cgroup::freeze);
        // `Some(true)`: frozen; `Some(false)`: frozen not reached in time (or the
        // freeze refused); `None`: no cgroup.
        let frozen = match &guard {
            Some(Ok(g)) => Some(g.wait(if answering.is_some() {
                ANSWERING_WAIT
            } else {
                FREEZE_WAIT
            })),
            Some(Err(e)) => {
                eprintln!("clawless: late mark of {path}: the sandbox could not be frozen: {e}");
                Some(false)
            }
            None => None,
        };
        let freezing = guard.as_ref().and_then(|g| g.as_ref().ok()).and(cg.as_deref());
        if trace {
            match frozen {
                Some(true) => eprintln!("clawless: late mark of {path}: frozen in {:?}", t0.elapsed()),
                Some(false) => eprintln!(
                    "clawless: late mark of {path}: not frozen after {:?} ({}); scanning",
                    t0.elapsed(),
                    match answering {
                        Some(t) => format!("thread {t} waits for the monitor's answer"),
                        None => "a task is still in a syscall".to_string(),
                    }
                ),
                None => {}
            }
        }
        for round in 0..KILL_ROUNDS {
            let t0 = std::time::Instant::now();
            let scan = self.holders(dev, ino, freezing);
            if trace {
                eprintln!(
                    "clawless: late mark of {path}: scan {:?}, {} holder(s){}{}",
                    t0.elapsed(),
                    scan.holders.len(),
                    scan.unsure
                        .as_deref()
                        .map(|u| format!(", unsure: {u}"))
                        .unwrap_or_default(),
                    match frozen {
                        Some(true) => ", sandbox frozen",
                        Some(false) => ", sandbox freezing (not frozen)",
                        None => ", sandbox running (no cgroup)",
                    }
                );
            }
            let unsure = scan
                .unsure
                .clone()
                .or_else(|| self.unseen_passing.get().cloned().flatten())
                .or_else(|| self.was_passed(dev, ino));
            if scan.holders.is_empty() && unsure.is_none() {
                return;
            }
            let init = self.sandbox.get().map_or(0, |s| s.0);
            let tid = scan.holders.first().map_or(init, |h| h.tid);
            let hows: Vec<&str> = scan.holders.iter().map(|h| h.how).collect();
            let nr = m.table().by_name("openat").map_or(0, |s| s.nr);
            let n = Notification {
                id: 0,
                tid: u32::try_from(tid).unwrap_or(0),
                nr,
                arch: m.ir.arch.audit_arch(),
                args: [libc::AT_FDCWD as u64, 0, libc::O_RDONLY as u64, 0, 0, 0],
                ip: 0,
            };
            let accesses = [Access::Path {
                verb: Verb::Read,
                path: path.to_string(),
            }];
            let v = m.decide(&n, "openat", nr, &accesses, || {
                json!({
                    "path": path,
                    "tripwire": true,
                    "late_mark": {
                        "holders": scan.holders.len(),
                        "how": hows.first(),
                        "unsure": unsure,
                        "frozen": frozen,
                    },
                })
            });
            if v.allowed() {
                return;
            }
            if let Some(why) = &unsure {
                self.kill_sandbox(&format!(
                    "{path} became a secret the policy does not let it read now, and {why}"
                ));
                return;
            }
            eprintln!(
                "clawless: killed {} sandbox process{} holding {path} ({}) from before it became a tripwire: the policy does not let it read the secret now",
                scan.holders.len(),
                if scan.holders.len() == 1 { "" } else { "es" },
                hows.join(", ")
            );
            for h in &scan.holders {
                // SAFETY: a pidfd we own; SIGKILL with no siginfo.
                unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        h.pidfd.as_raw_fd(),
                        libc::SIGKILL,
                        std::ptr::null::<libc::siginfo_t>(),
                        0,
                    );
                }
            }
            // A killed process drops its descriptors when it exits: wait for that
            // (a pidfd becomes readable), bounded, before looking again.
            for h in &scan.holders {
                let mut p = libc::pollfd {
                    fd: h.pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, 200) };
            }
            if round + 1 == KILL_ROUNDS {
                break;
            }
        }
        self.kill_sandbox(&format!(
            "processes holding {path} from before it became a tripwire were still found after {KILL_ROUNDS} rounds of killing them"
        ));
    }

    /// Kills every process of the sandbox (its init: the kernel ends its whole pid
    /// namespace), saying why.
    fn kill_sandbox(&self, why: &str) {
        eprintln!("clawless: killing the sandbox: {why}");
        match self.init_fd.get() {
            // SAFETY: a pidfd we own; SIGKILL with no siginfo.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                );
            },
            None => {
                if let Some(&(init, _, _)) = self.sandbox.get() {
                    // SAFETY: our own unreaped child's pid (it cannot be reused).
                    unsafe { libc::kill(init, libc::SIGKILL) };
                }
            }
        }
    }

    /// Remembers that the sandbox's thread `tid` passed the file `fd` with
    /// `SCM_RIGHTS` (the monitor's `sendmsg`, before it sends): if that file
    /// becomes a secret later, a descriptor of it may be in flight, where no scan
    /// of `/proc` finds it.
    pub(crate) fn passed(&self, fd: BorrowedFd<'_>, tid: u32) {
        let Some(st) = stat_of(fd.as_raw_fd(), None, false) else {
            return;
        };
        let fmt = st.st_mode & libc::S_IFMT;
        if fmt == libc::S_IFIFO || fmt == libc::S_IFSOCK {
            let _ = self.queue_passed.set(tid);
        }
        let mut p = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        if p.0.len() >= MAX_PASSED && !p.0.contains_key(&(st.st_dev, st.st_ino)) {
            p.1 = true;
            return;
        }
        p.0.insert((st.st_dev, st.st_ino), tid);
    }

    /// Why a descriptor of `(dev, ino)` may be in flight, if it may.
    fn was_passed(&self, dev: u64, ino: u64) -> Option<String> {
        let p = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tid) = p.0.get(&(dev, ino)) {
            return Some(format!(
                "thread {tid} passed it to another process with SCM_RIGHTS"
            ));
        }
        if p.1 {
            return Some(format!(
                "more than {MAX_PASSED} files were passed with SCM_RIGHTS"
            ));
        }
        self.queue_passed.get().map(|tid| {
            format!("thread {tid} passed a pipe or socket with SCM_RIGHTS, which may hold the file's pages in flight")
        })
    }

    /// Every way a sandbox process holds `(dev, ino)` now (see
    /// [`Tripwires::late_mark`]).
    /// With `frozen` (the sandbox's cgroup, frozen or freezing), a sandbox
    /// process outside it makes the scan unsure.
    fn holders(&self, dev: u64, ino: u64, frozen: Option<&crate::cgroup::Cgroup>) -> Scan {
        let mut scan = Scan {
            holders: Vec::new(),
            unsure: None,
        };
        let mut budget = MAX_SCAN;
        let mut spend = |n: usize| {
            budget = budget.saturating_sub(n);
            budget > 0
        };
        // What a `/proc` magic link names: `None` if gone, else its stat.
        let look = |p: &str| -> Option<libc::stat> {
            let c = CString::new(p).ok()?;
            // SAFETY: st is written by stat; c is a valid C string. `stat`
            // follows the magic link without opening what it names (no
            // permission event).
            unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                (libc::stat(c.as_ptr(), &mut st) == 0).then_some(st)
            }
        };
        let is_it = |p: &str| look(p).is_some_and(|st| st.st_dev == dev && st.st_ino == ino);
        // Rounds until a listing of `/proc` shows no sandbox process not scanned
        // yet: a process forked after a listing (by one not scanned yet, which
        // then closes its own copy) is in the next (red team round 5,
        // fork-after-scan-start). Processes are told apart by pid and start time
        // (a pid reused is another process).
        let mut seen: std::collections::HashSet<(i32, u64)> = std::collections::HashSet::new();
        let mut rounds = 0;
        'procs: loop {
            let Ok(procs) = std::fs::read_dir("/proc") else {
                scan.unsure = Some("/proc cannot be listed".into());
                return scan;
            };
            let mut fresh = Vec::new();
            for e in procs.flatten() {
                if !spend(1) {
                    break 'procs;
                }
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    continue;
                };
                if !self.in_sandbox(pid) {
                    continue;
                }
                let Some(start) = start_time(pid) else { continue };
                if seen.insert((pid, start)) {
                    if frozen.and_then(|c| c.holds(pid)) == Some(false) && scan.unsure.is_none() {
                        scan.unsure = Some(format!(
                            "sandbox process {pid} is outside the sandbox's cgroup (not frozen)"
                        ));
                    }
                    fresh.push(pid);
                }
            }
            if fresh.is_empty() {
                break;
            }
            rounds += 1;
            if rounds > MAX_ROUNDS {
                scan.unsure = Some(format!(
                    "new processes kept appearing in the sandbox during {MAX_ROUNDS} rounds of the scan"
                ));
                return scan;
            }
            for pid in fresh {
                // The pidfd first, then the check again: what it refers to is what
                // was checked (a pid reused in between fails the check).
                let Some(pfd) = pidfd(pid) else { continue };
                if !self.in_sandbox(pid) {
                    continue;
                }
                let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                    continue;
                };
                // One thread per descriptor table, file-system context, address space.
                let (mut files, mut fs, mut vm): (Vec<i32>, Vec<i32>, Vec<i32>) =
                    (Vec::new(), Vec::new(), Vec::new());
                let mut found: Option<(i32, &'static str)> = None;
                for t in tasks.flatten() {
                    let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                        continue;
                    };
                    let base = format!("/proc/{pid}/task/{tid}");
                    let fresh = |reps: &mut Vec<i32>, kind: i32| {
                        let n = reps.len();
                        let shared = reps.iter().any(|&r| kcmp(r, tid, kind) == Some(0));
                        if !shared {
                            reps.push(tid);
                        }
                        (!shared, n)
                    };
                    let (new_files, n1) = fresh(&mut files, KCMP_FILES);
                    let (new_fs, n2) = fresh(&mut fs, KCMP_FS);
                    let (new_vm, n3) = fresh(&mut vm, KCMP_VM);
                    if !spend(1 + n1 + n2 + n3) {
                        break 'procs;
                    }
                    if new_fs {
                        for (link, how) in [("cwd", "cwd"), ("root", "root")] {
                            if found.is_none() && is_it(&format!("{base}/{link}")) {
                                found = Some((tid, how));
                            }
                        }
                    }
                    // `map_files` is the process's (threads do not have one): an
                    // address space shared without a thread group has its own process.
                    let maps = format!("/proc/{pid}/map_files");
                    let fds = format!("{base}/fd");
                    for (new, dir, how) in [(new_files, &fds, "descriptor"), (new_vm, &maps, "mapping")] {
                        if !new || found.is_some() {
                            continue;
                        }
                        let Ok(rd) = std::fs::read_dir(dir) else {
                            continue;
                        };
                        for f in rd.flatten() {
                            if !spend(1) {
                                break 'procs;
                            }
                            let Some(st) = look(&f.path().to_string_lossy()) else {
                                continue;
                            };
                            // A pipe or socket with data queued may hold the file's
                            // pages themselves, not a copy (`splice`, `sendfile`,
                            // `vmsplice` of a mapping: red team round 7,
                            // splice-page-holder), which read what is written into
                            // the file later: a holder (fail closed).
                            // Only what the sandbox can read back counts: a pipe's
                            // write end (its stdout, read outside) is no holder.
                            let fmt = st.st_mode & libc::S_IFMT;
                            if how == "descriptor" && (fmt == libc::S_IFIFO || fmt == libc::S_IFSOCK) {
                                let name = f.file_name().to_string_lossy().into_owned();
                                if fmt == libc::S_IFIFO && !may_read(&format!("{base}/fdinfo/{name}")) {
                                    continue;
                                }
                                if name.parse::<i32>().ok().is_none_or(|n| queued(&pfd, n, &st)) {
                                    found = Some((tid, "pipe or socket with data queued"));
                                    break;
                                }
                                continue;
                            }
                            // A descriptor that cannot read (write-only, `O_PATH`:
                            // reopening it is an open, which meets the mark) is
                            // no holder: the agent's own `echo > .env` is not one.
                            if st.st_dev == dev
                                && st.st_ino == ino
                                && (how != "descriptor"
                                    || may_read(&format!(
                                        "{base}/fdinfo/{}",
                                        f.file_name().to_string_lossy()
                                    )))
                            {
                                found = Some((tid, how));
                                break;
                            }
                        }
                    }
                    // The thread's own view of its address space: `map_files` is the
                    // thread-group leader's, empty once the leader has exited alone
                    // (`SYS_exit` on the main thread) while other threads keep the
                    // mappings (red team round 5, zombie-leader-mapping).
                    if new_vm && found.is_none() {
                        match maps_hold(&format!("{base}/maps"), dev, ino) {
                            Some((true, _)) => found = Some((tid, "mapping")),
                            Some((false, lines)) if !spend(lines) => break 'procs,
                            _ => {}
                        }
                    }
                    if found.is_some() {
                        break;
                    }
                }
                if let Some((tid, how)) = found {
                    scan.holders.push(Holder { pidfd: pfd, tid, how });
                }
            }
        }
        if budget == 0 {
            scan.unsure = Some(format!(
                "the scan of the sandbox's processes reached its bound of {MAX_SCAN} entries"
            ));
        }
        scan
    }
}

/// Removes every inode mark of the fanotify group `fan` (ours).
fn flush_marks(fan: &OwnedFd) {
    // SAFETY: our own group; flushes its inode marks.
    unsafe {
        libc::fanotify_mark(
            fan.as_raw_fd(),
            libc::FAN_MARK_FLUSH,
            0,
            libc::AT_FDCWD,
            std::ptr::null(),
        );
    }
}

/// Whether the pipe or socket `fd` of the process `pidfd` (whose magic link
/// stats as `st`) has data queued to be read (`FIONREAD`): such data may be pages
/// of a file rather than copies (a socket's peer in the sandbox spliced them; a
/// peer outside sent them, which counts too: fail closed). Fails
/// closed (`true`) when it cannot be told: the descriptor cannot be taken
/// (`pidfd_getfd` reaches the thread group's table, a thread may have its own),
/// or what is taken is another object.
fn queued(pidfd: &OwnedFd, fd: i32, st: &libc::stat) -> bool {
    // SAFETY: a pidfd we own; the descriptor returned is ours (closed below).
    let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    let Ok(dup) = i32::try_from(dup) else { return true };
    if dup < 0 {
        return true;
    }
    // SAFETY: `dup` is a fresh descriptor of ours; OwnedFd closes it.
    let dup = unsafe { OwnedFd::from_raw_fd(dup) };
    let Some(now) = stat_of(dup.as_raw_fd(), None, false) else {
        return true;
    };
    if now.st_dev != st.st_dev || now.st_ino != st.st_ino {
        return true;
    }
    let count = |req: libc::c_ulong| -> Option<libc::c_int> {
        let mut n: libc::c_int = 0;
        // SAFETY: `n` is a valid int for the kernel to write.
        (unsafe { libc::ioctl(dup.as_raw_fd(), req, &mut n) } == 0).then_some(n)
    };
    // A listening or unconnected socket does not answer: it holds nothing.
    count(libc::FIONREAD).unwrap_or(0) > 0
}

/// Whether the `maps` file at `path` (`/proc/<pid>/task/<tid>/maps`) lists a
/// mapping of `(dev, ino)` (its device as `major:minor` in hex, its inode in
/// decimal), and how many lines it has; `None` when it cannot be read (the thread
/// is gone).
fn maps_hold(path: &str, dev: u64, ino: u64) -> Option<(bool, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = 0;
    for l in text.lines() {
        lines += 1;
        let mut f = l.split_ascii_whitespace();
        let (Some(d), Some(i)) = (f.nth(3), f.next()) else {
            continue;
        };
        let Some((maj, min)) = d.split_once(':') else {
            continue;
        };
        let (Ok(maj), Ok(min), Ok(i)) = (
            u32::from_str_radix(maj, 16),
            u32::from_str_radix(min, 16),
            i.parse::<u64>(),
        ) else {
            continue;
        };
        if i == ino && libc::makedev(maj, min) == dev {
            return Some((true, lines));
        }
    }
    Some((false, lines))
}

/// Whether the descriptor whose `fdinfo` is at `path` may read its file: not
/// write-only and not `O_PATH` (its `flags:` line, octal); `true` when that
/// cannot be told (fail closed: a holder).
fn may_read(path: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    let flags = text
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
    match flags {
        Some(f) => f & libc::O_PATH as u32 == 0 && f & libc::O_ACCMODE as u32 != libc::O_WRONLY as u32,
        None => true,
    }
}

/// The most ancestors [`Tripwires::in_sandbox`] follows looking for our init.
const MAX_ANCESTORS: usize = 4096;

/// The most rounds of [`Tripwires::holders`]' scan (each lists `/proc` again for
/// processes created meanwhile); past it the scan is unsure (fail closed).
const MAX_ROUNDS: usize = 64;

/// A process's start time (`/proc/<pid>/stat` field 22, clock ticks since boot).
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `kcmp` types (linux/kcmp.h).
const KCMP_VM: i32 = 1;
const KCMP_FILES: i32 = 2;
const KCMP_FS: i32 = 3;

/// `kcmp(a, b, kind)`: 0 when the two threads share that resource.
fn kcmp(a: i32, b: i32, kind: i32) -> Option<i64> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_kcmp, a, b, kind, 0, 0) };
    (r >= 0).then_some(r)
}

/// A pidfd of process `pid`, if it still exists.
fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: integer arguments; a descriptor it returns is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh descriptor.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
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
    use super::{maps_hold, may_read, split, start_time};

    #[test]
    fn a_write_only_or_path_descriptor_cannot_read() {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        let p = std::env::temp_dir().join(format!("claw-mayread-{}", std::process::id()));
        std::fs::write(&p, "x").unwrap();
        let info = |f: &std::fs::File| format!("/proc/self/fdinfo/{}", f.as_raw_fd());
        let r = std::fs::File::open(&p).unwrap();
        let w = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        let rw = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        let path = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(&p)
            .unwrap();
        assert!(may_read(&info(&r)));
        assert!(!may_read(&info(&w)));
        assert!(may_read(&info(&rw)));
        assert!(!may_read(&info(&path)));
        assert!(may_read("/proc/self/fdinfo/999999"));
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn splits_paths() {
        assert_eq!(split("/a/b"), Some(("/a", "b")));
        assert_eq!(split("/b"), Some(("/", "b")));
        assert_eq!(split("/"), None);
    }

    #[test]
    fn a_process_has_a_start_time() {
        let me = std::process::id() as i32;
        let t = start_time(me).unwrap();
        assert_eq!(start_time(me), Some(t));
        assert_eq!(start_time(0), None);
        // pid 1 started before us.
        assert!(start_time(1).is_some_and(|one| one <= t));
    }

    #[test]
    fn finds_a_mapping_in_a_threads_maps() {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let p = std::env::temp_dir().join(format!("claw-maps-{}", std::process::id()));
        std::fs::write(&p, [7u8; 4096]).unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let md = f.metadata().unwrap();
        // SAFETY: a fresh shared read-only mapping of our own file, unmapped below.
        let m = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(m, libc::MAP_FAILED);
        // SAFETY: no arguments.
        let tid = unsafe { libc::gettid() };
        let maps = format!("/proc/self/task/{tid}/maps");
        assert!(maps_hold(&maps, md.dev(), md.ino()).unwrap().0);
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(m, 4096) };
        assert!(!maps_hold(&maps, md.dev(), md.ino()).unwrap().0);
        assert!(maps_hold("/proc/self/task/0/maps", 0, 0).is_none());
        let _ = std::fs::remove_file(&p);
    }
}
