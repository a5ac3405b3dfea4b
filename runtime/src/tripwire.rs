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
//! emulated opens) are allowed at once and change nothing. A mark is on the
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
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The most entries the start-up walk looks at (a bound, not an expectation).
const MAX_WALK: usize = 4_000_000;

/// The most directories the watcher watches.
const MAX_WATCHES: usize = 200_000;

/// Roots the watcher does not watch: the installed system changes only through
/// package managers (a secret created there during a session is not covered).
const UNWATCHED: &[&str] = &[
    "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt", "/boot",
];

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
    /// Our init's pid (here) and the inode of the sandbox's pid namespace.
    sandbox: OnceLock<(i32, u64)>,
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
    /// Each tripwire pattern's last component, when it is not `**`: a path whose
    /// last component does not match it cannot match the pattern (a cheap test
    /// before the whole glob, for the start-up walk).
    lasts: Vec<Option<String>>,
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

    /// Is `path` a match of a tripwire pattern?
    fn secret(&self, path: &str) -> bool {
        let base = path.rsplit('/').next().unwrap_or("");
        self.plan.tripwires.iter().zip(&self.lasts).any(|(t, last)| {
            last.as_ref()
                .is_none_or(|l| claw_ir::glob_match(l, &format!("/{base}")))
                && self.env.matches(&t.pattern, path)
        })
    }

    /// Ties the tripwires to the sandbox (our init) and its monitor, and starts
    /// answering. Before any mark.
    pub fn start(self: &Arc<Self>, init: i32, monitor: &Arc<Monitor>) -> Result<(), String> {
        let ns = std::fs::metadata(format!("/proc/{init}/ns/pid"))
            .map_err(|e| format!("the sandbox's pid namespace: {e}"))?;
        use std::os::unix::fs::MetadataExt;
        let _ = self.sandbox.set((init, ns.ino()));
        let _ = self.monitor.set(Arc::downgrade(monitor));
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("claw-tripwires".into())
            .spawn(move || me.serve())
            .map_err(|e| format!("starting the tripwire thread: {e}"))?;
        Ok(())
    }

    /// Marks `name` in `dir` (not following a final symlink) as the secret `path`.
    fn mark_at(&self, dir: i32, name: &CString, path: &str) -> bool {
        let Some(st) = stat_of(dir, Some(name), false) else {
            return false;
        };
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            // A symlink is not the secret; what it names is decided by its own path.
            return false;
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
        r == 0 && self.record(st, path)
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

    /// Marks the secret at `path` (a multiply-linked secret outside the readable
    /// trees: its other name may be inside one).
    pub fn cover_path(&self, path: &str) {
        if let Some((dir, name)) = split(path) {
            if let (Ok(d), Ok(n)) = (std::fs::File::open(dir), CString::new(name)) {
                self.mark_at(d.as_raw_fd(), &n, path);
            }
        }
    }

    /// Marks `name` in the directory `dir` when `path` (its canonical path) is a
    /// secret: a name the monitor just gave an object (rename, link).
    pub fn cover_at(&self, dir: i32, name: &std::ffi::CStr, path: &str) {
        if self.secret(path) {
            self.mark_at(dir, &name.to_owned(), path);
        }
    }

    /// Marks every existing secret below the plan's discovery roots; returns the
    /// directories seen below the watched roots (for the watcher). With a cache,
    /// each root is walked again only where it changed (`Tripwires::refresh`:
    /// a name added, removed or renamed in a directory changes its modification
    /// time).
    pub fn discover(&self) -> Vec<String> {
        let mut watch = Vec::new();
        let mut seen = 0usize;
        let mut cache = SecretCache::load(self.cache_file.get(), &self.plan, &self.env);
        let trace = std::env::var_os("CLAWLESS_TRACE_DISCOVERY").is_some();
        for root in self.plan.discovery_roots(&self.env) {
            let t0 = std::time::Instant::now();
            let _shown = TraceOnDrop(trace, root.clone(), t0);
            let watched = !UNWATCHED
                .iter()
                .any(|u| root == *u || root.starts_with(&format!("{u}/")));
            if let Some(c) = cache.as_mut() {
                let known = c.read(&root);
                let (dirs, found, changed) = self.refresh(&root, known, &mut seen);
                if watched {
                    watch.extend(dirs.iter().map(|d| d.path.clone()));
                }
                if changed {
                    c.put(&root, dirs, found);
                }
                continue;
            }
            self.walk(&root, watched, &mut watch, &mut seen);
        }
        if let Some(c) = cache {
            c.save();
        }
        watch
    }

    /// Walks `root` again where it changed since `known` (its directories and
    /// secrets when last walked): a directory with the inode and modification
    /// time it had keeps its names, so only its subdirectories are looked at; a
    /// changed one is listed. Marks every secret. Returns the directories, the
    /// secrets, and whether anything differs from `known`.
    fn refresh(
        &self,
        root: &str,
        known: Option<(Vec<DirStamp>, Vec<String>)>,
        seen: &mut usize,
    ) -> (Vec<DirStamp>, Vec<String>, bool) {
        let (kdirs, ksecrets) = known.unwrap_or_default();
        let mut changed = kdirs.is_empty();
        let by_path: HashMap<&str, &DirStamp> = kdirs.iter().map(|d| (d.path.as_str(), d)).collect();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for d in &kdirs {
            if let Some((parent, _)) = split(&d.path) {
                children.entry(parent).or_default().push(&d.path);
            }
        }
        let mut secrets_in: HashMap<&str, Vec<&str>> = HashMap::new();
        for p in &ksecrets {
            if let Some((parent, _)) = split(p) {
                secrets_in.entry(parent).or_default().push(p);
            }
        }
        let mut dirs: Vec<DirStamp> = Vec::new();
        let mut found: Vec<String> = Vec::new();
        if self.secret(root) {
            self.cover_path(root);
            found.push(root.to_string());
        }
        let Ok(meta) = std::fs::symlink_metadata(root) else {
            return (dirs, found, !kdirs.is_empty());
        };
        if !meta.is_dir() {
            return (dirs, found, false);
        }
        use std::os::unix::fs::MetadataExt;
        let dev = meta.dev();
        let mut stack = vec![root.to_string()];
        while let Some(d) = stack.pop() {
            let Some(st) = stamp(&d) else {
                changed = true;
                continue;
            };
            if by_path.get(d.as_str()).is_some_and(|k| **k == st) {
                for p in secrets_in.get(d.as_str()).into_iter().flatten() {
                    self.cover_path(p);
                    found.push(p.to_string());
                }
                stack.extend(
                    children
                        .get(d.as_str())
                        .into_iter()
                        .flatten()
                        .map(|c| c.to_string()),
                );
                dirs.push(st);
                continue;
            }
            changed = true;
            dirs.push(st);
            let Ok(dirf) = std::fs::File::open(&d) else {
                continue;
            };
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                *seen += 1;
                if *seen > MAX_WALK {
                    return (dirs, found, true);
                }
                let name = e.file_name();
                let path = if d == "/" {
                    format!("/{}", name.to_string_lossy())
                } else {
                    format!("{d}/{}", name.to_string_lossy())
                };
                if self.secret(&path) {
                    if let Ok(n) = CString::new(name.as_bytes()) {
                        self.mark_at(dirf.as_raw_fd(), &n, &path);
                        found.push(path.clone());
                    }
                }
                if e.file_type().is_ok_and(|t| t.is_dir()) && e.metadata().is_ok_and(|m| m.dev() == dev) {
                    stack.push(path);
                }
            }
        }
        (dirs, found, changed)
    }

    fn walk(&self, root: &str, watched: bool, watch: &mut Vec<String>, seen: &mut usize) {
        let Ok(meta) = std::fs::symlink_metadata(root) else {
            return;
        };
        if let Some((dir, name)) = split(root) {
            if self.secret(root) {
                if let (Ok(d), Ok(n)) = (std::fs::File::open(dir), CString::new(name)) {
                    self.mark_at(d.as_raw_fd(), &n, root);
                }
            }
        }
        if !meta.is_dir() {
            return;
        }
        let mut stack = vec![root.to_string()];
        let dev = {
            use std::os::unix::fs::MetadataExt;
            meta.dev()
        };
        while let Some(d) = stack.pop() {
            if watched && watch.len() < MAX_WATCHES {
                watch.push(d.clone());
            }
            let Ok(dirf) = std::fs::File::open(&d) else {
                continue;
            };
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                *seen += 1;
                if *seen > MAX_WALK {
                    return;
                }
                let name = e.file_name();
                let path = if d == "/" {
                    format!("/{}", name.to_string_lossy())
                } else {
                    format!("{d}/{}", name.to_string_lossy())
                };
                let Ok(ft) = e.file_type() else { continue };
                if self.secret(&path) {
                    if let Ok(n) = CString::new(name.as_bytes()) {
                        self.mark_at(dirf.as_raw_fd(), &n, &path);
                    }
                }
                if ft.is_dir() {
                    // Stay on the root's file system (no /proc, /sys, other mounts
                    // below a root are walked from their own grant if granted).
                    use std::os::unix::fs::MetadataExt;
                    if e.metadata().is_ok_and(|m| m.dev() == dev) {
                        stack.push(path);
                    }
                }
            }
        }
    }

    /// Watches `dirs` (inotify) and marks secrets created or moved in there by
    /// anyone, recursively for new directories. Runs on its own thread.
    pub fn watch(self: &Arc<Self>, dirs: Vec<String>) {
        // SAFETY: inotify_init1 takes only flags; the descriptor it returns is
        // owned (and closed) below.
        let ino = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if ino < 0 {
            return;
        }
        // SAFETY: fresh descriptor.
        let ino = unsafe { OwnedFd::from_raw_fd(ino) };
        let me = Arc::clone(self);
        let _ = std::thread::Builder::new()
            .name("claw-watcher".into())
            .spawn(move || me.watch_loop(ino, dirs));
    }

    fn watch_loop(&self, ino: OwnedFd, dirs: Vec<String>) {
        let mask = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_ONLYDIR | libc::IN_DONT_FOLLOW;
        let mut wds: HashMap<i32, String> = HashMap::new();
        let add = |wds: &mut HashMap<i32, String>, d: &str| {
            if wds.len() >= MAX_WATCHES {
                return;
            }
            let Ok(c) = CString::new(d) else { return };
            // SAFETY: valid C string.
            let wd = unsafe { libc::inotify_add_watch(ino.as_raw_fd(), c.as_ptr(), mask) };
            if wd >= 0 {
                wds.insert(wd, d.to_string());
            }
        };
        for d in &dirs {
            add(&mut wds, d);
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(ino.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
            let n = n as usize;
            let mut off = 0usize;
            let head = std::mem::size_of::<libc::inotify_event>();
            while off + head <= n {
                // SAFETY: at least a header's bytes remain; read unaligned.
                let ev: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let len = ev.len as usize;
                let end = match off.checked_add(head).and_then(|x| x.checked_add(len)) {
                    Some(e) if e <= n => e,
                    _ => break,
                };
                let raw = &buf[off + head..end];
                let name = &raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())];
                off = end;
                let Some(dir) = wds.get(&ev.wd).cloned() else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                let path = format!("{}/{}", dir.trim_end_matches('/'), String::from_utf8_lossy(name));
                if self.secret(&path) {
                    if let (Ok(d), Ok(c)) = (std::fs::File::open(&dir), CString::new(name)) {
                        self.mark_at(d.as_raw_fd(), &c, &path);
                    }
                }
                if ev.mask & libc::IN_ISDIR != 0 {
                    // A new directory: watch it, and look at what is already in it
                    // (it may have been filled before the watch).
                    add(&mut wds, &path);
                    let mut more = Vec::new();
                    let mut seen = 0;
                    self.walk(&path, true, &mut more, &mut seen);
                    for d in more.iter().skip(1) {
                        add(&mut wds, d);
                    }
                }
            }
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
                let response = if ev.mask & MASK != 0 {
                    self.decide(&file, ev.pid, ev.mask)
                } else {
                    libc::FAN_ALLOW
                };
                self.respond(ev.fd, response);
                drop(file);
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
    fn in_sandbox(&self, tid: i32) -> bool {
        let Some(&(init, ns)) = self.sandbox.get() else {
            return false;
        };
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata(format!("/proc/{tid}/ns/pid")).is_ok_and(|m| m.ino() == ns) {
            return true;
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
        if tid <= 0 || !self.in_sandbox(tid) {
            return libc::FAN_ALLOW;
        }
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

/// Prints how long a root took (CLAWLESS_TRACE_DISCOVERY, for measuring).
struct TraceOnDrop(bool, String, std::time::Instant);

impl Drop for TraceOnDrop {
    fn drop(&mut self) {
        if self.0 {
            eprintln!("clawless: discovery of {}: {:?}", self.1, self.2.elapsed());
        }
    }
}

/// A directory as the cache remembers it: path, inode, modification time.
#[derive(Clone, PartialEq, Eq)]
struct DirStamp {
    path: String,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
}

fn stamp(path: &str) -> Option<DirStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    Some(DirStamp {
        path: path.to_string(),
        ino: m.ino(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
    })
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The secrets and directories found below each discovery root, for one set of
/// patterns and path values, one small text file per root (`S path` and
/// `D inode mtime nsec path` lines) in `/var/cache/clawless` for root (else
/// `$XDG_CACHE_HOME/clawless` or `~/.cache/clawless`), private to the user. A root is rewritten only when its
/// walk found something else than the file says.
pub(crate) struct SecretCache {
    /// The files' common prefix (directory and the patterns' hash).
    prefix: std::path::PathBuf,
    fresh: Vec<(String, Vec<DirStamp>, Vec<String>)>,
    /// The tripwire patterns, expanded.
    patterns: Vec<String>,
}

impl SecretCache {
    /// The prefix of the cache files for these patterns and values.
    pub fn file_for(plan: &IsolatedPlan, env: &Env) -> Option<std::path::PathBuf> {
        // Tripwires need root: its cache is the machine's, whatever HOME says.
        // SAFETY: geteuid takes nothing and cannot fail.
        let base = if unsafe { libc::geteuid() } == 0 {
            std::path::PathBuf::from("/var/cache")
        } else {
            std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?
        };
        let _ = (plan, env);
        Some(base.join("clawless").join("secrets"))
    }

    fn load(prefix: Option<&std::path::PathBuf>, plan: &IsolatedPlan, env: &Env) -> Option<SecretCache> {
        Some(SecretCache {
            prefix: prefix?.clone(),
            fresh: Vec::new(),
            patterns: plan
                .tripwires
                .iter()
                .filter_map(|t| env.expand(&t.pattern))
                .collect(),
        })
    }

    /// One root's file: named by the root and the (expanded) patterns that can
    /// match below it, so runs with another `$HOME` share the system roots'.
    fn file(&self, root: &str) -> std::path::PathBuf {
        let related = |a: &str, b: &str| {
            let inside = |x: &str, y: &str| y == "/" || x == y || x.starts_with(&format!("{y}/"));
            inside(a, b) || inside(b, a)
        };
        let mut key = root.to_string();
        for p in self
            .patterns
            .iter()
            .filter(|p| related(&claw_ir::landlock::beneath(p), root))
        {
            key.push('\0');
            key.push_str(p);
        }
        let mut name = self.prefix.as_os_str().to_owned();
        name.push(format!("-{:016x}.txt", fnv(&key)));
        std::path::PathBuf::from(name)
    }

    /// The directories and secrets of `root` when it was last walked.
    fn read(&self, root: &str) -> Option<(Vec<DirStamp>, Vec<String>)> {
        let text = std::fs::read_to_string(self.file(root)).ok()?;
        let mut lines = text.lines();
        if lines.next() != Some(&*format!("clawless-secrets 1 {root}")) {
            return None;
        }
        let (mut secrets, mut dirs) = (Vec::new(), Vec::new());
        for l in lines {
            if let Some(p) = l.strip_prefix("S ") {
                secrets.push(p.to_string());
                continue;
            }
            let mut f = l.strip_prefix("D ")?.splitn(4, ' ');
            let ino: u64 = f.next()?.parse().ok()?;
            let mtime: i64 = f.next()?.parse().ok()?;
            let mtime_nsec: i64 = f.next()?.parse().ok()?;
            let path = f.next()?;
            dirs.push(DirStamp {
                path: path.to_string(),
                ino,
                mtime,
                mtime_nsec,
            });
        }
        Some((dirs, secrets))
    }

    fn put(&mut self, root: &str, dirs: Vec<DirStamp>, secrets: Vec<String>) {
        if !dirs.is_empty() {
            self.fresh.push((root.to_string(), dirs, secrets));
        }
    }

    fn save(self) {
        let Some(dir) = self.prefix.parent() else { return };
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .is_err()
        {
            return;
        }
        for (root, dirs, secrets) in &self.fresh {
            let all = std::iter::once(root.as_str())
                .chain(secrets.iter().map(String::as_str))
                .chain(dirs.iter().map(|d| d.path.as_str()));
            if all.clone().any(|p| p.contains('\n')) {
                continue; // a name with a newline: not cached
            }
            let mut text = format!("clawless-secrets 1 {root}\n");
            for p in secrets {
                text.push_str(&format!("S {p}\n"));
            }
            for d in dirs {
                text.push_str(&format!("D {} {} {} {}\n", d.ino, d.mtime, d.mtime_nsec, d.path));
            }
            let file = self.file(root);
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            // Private to the user (clawless runs with umask 0).
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if written.is_ok() {
                let _ = std::fs::rename(&tmp, &file);
            } else {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }
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
