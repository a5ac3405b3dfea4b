//! FUSE tripwires (isolated mode without `CAP_SYS_ADMIN`): each secret file that
//! exists at start-up gets a FUSE file mounted over it in the sandbox's mount
//! namespace ([`crate::namespaces::Overmount`]), served here. An open of it reaches
//! this server before the agent holds a descriptor: it is decided as a `read` (an
//! `exec` for an exec open) of the secret's recorded path by the monitor's own
//! `decide`, the one the fanotify tripwires use, which fires the transition first;
//! only then is the real file opened (by the descriptor recorded at start-up) and
//! the content served. An open the policy refuses in the current state gets the
//! policy's errno (FUSE takes any errno). Writing opens count as reading, as with
//! fanotify; Landlock still decides the write right on the mount point's path.
//!
//! What the server touches: the real files, through `O_PATH` descriptors opened
//! at start-up and checked to be regular files on a file system that is not FUSE
//! (a FIFO, a device or another FUSE file swapped in later is never read: the
//! descriptor names the inode), reopened only after an allowed decision. It never
//! opens a path the agent can name, so no request can make it wait on the agent;
//! each request is bounded (a read at most 1 MiB, at most [`MAX_OPEN`] open files).
//!
//! Secrets recorded during the session (names the monitor creates for the agent,
//! files the watcher sees created outside) get FUSE file systems of their own
//! ([`FuseWire::follow`], at most [`MAX_ADDED`]).
//!
//! What it does not cover (docs/threat-model.md): a descriptor opened on a file
//! before its mount, secret directories and secrets with more than one hard link at
//! start-up (the set-up refuses them: the caller keeps opens mediated, saying
//! why), and `chmod`/`utimes` on a tripwire (refused `EPERM`). It knows FUSE requests and the recorded secrets; how
//! the secrets were found is [`crate::discover`]'s and how the mounts are made is
//! [`crate::namespaces`]'.

use crate::monitor::Monitor;
use crate::tripwire::Tripwires;
use claw_ir::{Access, Verb};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite,
    Request, WriteFlags,
};
use serde_json::json;
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable that chooses the tripwires: `fanotify` (the default)
/// or `fuse`.
pub const SELECT: &str = "CLAWLESS_TRIPWIRES";

/// The most files the agent may hold open through tripwires at once.
pub const MAX_OPEN: usize = 4096;

/// The most secrets that get a FUSE file during a session (each is a mount and
/// a serving thread); past it a new secret stays uncovered and says so.
pub const MAX_ADDED: usize = 512;

/// The largest read served at once.
const MAX_READ: u32 = 1 << 20;

/// `FUSE_SUPER_MAGIC`.
const FUSE_MAGIC: u32 = 0x6573_5546;

/// `__FMODE_EXEC` in an open's flags (an `execve`'s open).
const FMODE_EXEC: i32 = 0x20;

/// Which tripwires a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// fanotify permission marks (needs `CAP_SYS_ADMIN`).
    Fanotify,
    /// FUSE files mounted over the secrets ([`SELECT`]`=fuse`).
    Fuse,
}

impl Kind {
    /// What [`SELECT`] asks for. FUSE only when asked (docs/threat-model.md,
    /// "FUSE tripwires": what it does not cover).
    pub fn asked() -> Result<Kind, String> {
        match std::env::var(SELECT).as_deref() {
            Err(_) | Ok("") | Ok("fanotify") => Ok(Kind::Fanotify),
            Ok("fuse") => Ok(Kind::Fuse),
            Ok(other) => Err(format!("{SELECT}={other}: expected `fanotify` or `fuse`")),
        }
    }
}

/// A secret served by a FUSE file.
struct Secret {
    /// The path it was recorded under (what the decision names).
    path: String,
    /// The real file (`O_PATH`), opened and checked at start-up.
    file: OwnedFd,
    /// Its device and inode.
    id: (u64, u64),
}

struct Shared {
    /// The secrets at start-up (entry `i` of the first file system), then those
    /// added during the session (each its own file system).
    secrets: Mutex<Vec<Arc<Secret>>>,
    monitor: OnceLock<Weak<Monitor>>,
    tripwires: Weak<Tripwires>,
    /// The sandbox's namespaces, for the mounts added during the session.
    ns: crate::namespaces::SandboxNs,
    /// Open handles: the real file reopened after an allowed decision.
    open: Mutex<HashMap<u64, OwnedFd>>,
    next: AtomicU64,
    /// Secrets added during the session.
    added: std::sync::atomic::AtomicUsize,
}

/// The FUSE tripwires of a run (the server runs on its own thread).
pub struct FuseWire {
    shared: Arc<Shared>,
}

fn io_err(what: &str, path: &str) -> String {
    format!("{what} {path}: {}", std::io::Error::last_os_error())
}

impl FuseWire {
    /// Mounts a FUSE file over every secret `tripwires` recorded (and every
    /// secret known by identity in `aliases` that exists) in the namespaces of
    /// `agent` (the agent's process before its exec: our init is not dumpable),
    /// and starts serving them. An error (a secret directory, a
    /// secret with hard links, a secret on FUSE, a mount the kernel refuses)
    /// leaves no server: the caller keeps opens mediated.
    pub fn mount(agent: i32, tripwires: &Arc<Tripwires>, aliases: &[String]) -> Result<FuseWire, String> {
        let mut recorded = tripwires.recorded();
        for a in aliases {
            if let Ok(m) = std::fs::symlink_metadata(a) {
                use std::os::unix::fs::MetadataExt;
                if m.file_type().is_file() && !recorded.iter().any(|(id, _)| *id == (m.dev(), m.ino())) {
                    recorded.push(((m.dev(), m.ino()), a.clone()));
                }
            }
        }
        let mut secrets = Vec::new();
        let mut targets = Vec::new();
        for ((dev, ino), path) in recorded {
            let c =
                CString::new(path.as_bytes()).map_err(|_| format!("a secret's path holds a NUL: {path}"))?;
            // SAFETY: a valid C string; the descriptor is owned below.
            let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
            if fd < 0 {
                continue; // gone since discovery: nothing to cover
            }
            // SAFETY: a fresh descriptor.
            let file = unsafe { OwnedFd::from_raw_fd(fd) };
            // SAFETY: st and sf are written by fstat and fstatfs on our descriptor.
            let (st, sf) = unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                let mut sf: libc::statfs = std::mem::zeroed();
                if libc::fstat(file.as_raw_fd(), &mut st) != 0
                    || libc::fstatfs(file.as_raw_fd(), &mut sf) != 0
                {
                    return Err(io_err("cannot look at the secret", &path));
                }
                (st, sf)
            };
            match st.st_mode & libc::S_IFMT {
                libc::S_IFREG => {}
                libc::S_IFDIR => {
                    return Err(format!(
                        "the secret {path} is a directory, which FUSE tripwires do not cover"
                    ))
                }
                _ => continue, // a link or special file: decided by its own path
            }
            if (st.st_dev, st.st_ino) != (dev, ino) {
                return Err(format!("the secret {path} changed during discovery"));
            }
            if st.st_nlink > 1 {
                return Err(format!(
                    "the secret {path} has {} hard links: a FUSE tripwire covers one name",
                    st.st_nlink
                ));
            }
            if sf.f_type as u32 == FUSE_MAGIC {
                return Err(format!("the secret {path} is on a FUSE file system"));
            }
            targets.push((c, (dev, ino)));
            secrets.push(Secret {
                path,
                file,
                id: (dev, ino),
            });
        }
        let shared = Arc::new(Shared {
            secrets: Mutex::new(secrets.into_iter().map(Arc::new).collect()),
            monitor: OnceLock::new(),
            tripwires: Arc::downgrade(tripwires),
            ns: crate::namespaces::SandboxNs::of(agent)?,
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            added: std::sync::atomic::AtomicUsize::new(0),
        });
        if targets.is_empty() {
            return Ok(FuseWire { shared });
        }
        let (om, dev) = crate::namespaces::Overmount::start(&shared.ns, &targets)?;
        let mut config = fuser::Config::default();
        config.acl = fuser::SessionACL::All;
        let fs = Fs {
            shared: Arc::clone(&shared),
            single: None,
        };
        let session = match fuser::Session::from_fd(fs, dev, fuser::SessionACL::All, config) {
            Ok(s) => s,
            Err(e) => {
                let _ = om.finish();
                return Err(format!("the FUSE connection: {e}"));
            }
        };
        std::thread::Builder::new()
            .name("claw-fusewire".into())
            .spawn(move || {
                let _ = session.run();
            })
            .map_err(|e| format!("starting the FUSE tripwire thread: {e}"))?;
        om.finish()?;
        Ok(FuseWire { shared })
    }

    /// The monitor that decides the sandbox's opens (until then, every open of a
    /// tripwire is refused: nothing of the agent runs yet).
    pub fn attach(&self, monitor: &Arc<Monitor>) {
        let _ = self.shared.monitor.set(Arc::downgrade(monitor));
    }

    /// How many secrets have a FUSE file over them.
    pub fn count(&self) -> usize {
        self.shared
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Covers secrets that appear during the session: each new record of
    /// `tripwires` (a name the monitor created or renamed for the agent, before
    /// it answers; a file the watcher saw created outside) gets its own FUSE file.
    pub fn follow(&self, tripwires: &Tripwires) {
        let shared = Arc::clone(&self.shared);
        tripwires.on_new_secret(Box::new(move |id, path| {
            if let Err(e) = shared.add(id, path) {
                eprintln!("clawless: a new secret is not a FUSE tripwire: {path}: {e}");
            }
        }));
    }
}

/// A server: the first file system (inode 1: the staging directory; inode
/// `i + 2`: secret `i`, named `i`), or one whose root (inode 1) is `single`.
struct Fs {
    shared: Arc<Shared>,
    single: Option<usize>,
}

const TTL: Duration = Duration::ZERO;

fn time(s: i64, ns: i64) -> SystemTime {
    UNIX_EPOCH + Duration::new(s.max(0) as u64, ns.clamp(0, 999_999_999) as u32)
}

fn fstat(fd: i32) -> Result<libc::stat, Errno> {
    // SAFETY: st is written by fstat.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 {
            return Err(Errno::from_i32(errno()));
        }
        Ok(st)
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn file_attr(ino: u64, st: &libc::stat) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: st.st_size.max(0) as u64,
        blocks: st.st_blocks.max(0) as u64,
        atime: time(st.st_atime, st.st_atime_nsec),
        mtime: time(st.st_mtime, st.st_mtime_nsec),
        ctime: time(st.st_ctime, st.st_ctime_nsec),
        crtime: time(st.st_mtime, st.st_mtime_nsec),
        kind: FileType::RegularFile,
        perm: (st.st_mode & 0o7777) as u16,
        nlink: 1,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

fn root_attr() -> FileAttr {
    FileAttr {
        ino: INodeNo(1),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: FileType::Directory,
        perm: 0o555,
        nlink: 2,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

impl Fs {
    fn secret(&self, ino: INodeNo) -> Option<Arc<Secret>> {
        let i = match self.single {
            Some(i) if ino.0 == 1 => i,
            Some(_) => return None,
            None => usize::try_from(ino.0.checked_sub(2)?).ok()?,
        };
        self.shared
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(i)
            .cloned()
    }

    fn attr(&self, ino: INodeNo) -> Result<FileAttr, Errno> {
        if ino.0 == 1 && self.single.is_none() {
            return Ok(root_attr());
        }
        let s = self.secret(ino).ok_or(Errno::ENOENT)?;
        Ok(file_attr(ino.0, &fstat(s.file.as_raw_fd())?))
    }
}

impl Shared {
    /// A FUSE file over the secret `path` (`id`: its device and inode as
    /// recorded), served by a thread of its own.
    fn add(self: &Arc<Self>, id: (u64, u64), path: &str) -> Result<(), String> {
        if self.added.fetch_add(1, Ordering::Relaxed) >= MAX_ADDED {
            return Err(format!("more than {MAX_ADDED} secrets added during the session"));
        }
        if self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|s| s.id == id && s.path == path)
        {
            return Ok(()); // covered already (an alias mounted at start-up)
        }
        let c = CString::new(path.as_bytes()).map_err(|_| "a NUL in the path".to_string())?;
        // SAFETY: a valid C string; the descriptor is owned below.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io_err("cannot open", path));
        }
        // SAFETY: a fresh descriptor.
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fstat(file.as_raw_fd()).map_err(|e| format!("cannot look at it: errno {}", e.code()))?;
        let covered = |p: &str| {
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|s| s.path == p)
        };
        if (st.st_dev, st.st_ino) != id && covered(path) {
            // The monitor looked at the name through the agent's view after our
            // mount was made over it: it recorded the FUSE file itself.
            return Ok(());
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || (st.st_dev, st.st_ino) != id {
            return Err(format!(
                "not the regular file recorded ({:?}, mode {:o}, recorded {id:?})",
                (st.st_dev, st.st_ino),
                st.st_mode
            ));
        }
        // SAFETY: sf is written by fstatfs on our descriptor.
        let on_fuse = unsafe {
            let mut sf: libc::statfs = std::mem::zeroed();
            libc::fstatfs(file.as_raw_fd(), &mut sf) != 0 || sf.f_type as u32 == FUSE_MAGIC
        };
        if on_fuse {
            return Err("on a FUSE file system".into());
        }
        let index = {
            let mut v = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
            v.push(Arc::new(Secret {
                path: path.to_string(),
                file,
                id,
            }));
            v.len() - 1
        };
        let dev = crate::namespaces::overmount_file(&self.ns, &c, id)?;
        let mut config = fuser::Config::default();
        config.acl = fuser::SessionACL::All;
        let fs = Fs {
            shared: Arc::clone(self),
            single: Some(index),
        };
        let session = fuser::Session::from_fd(fs, dev, fuser::SessionACL::All, config)
            .map_err(|e| format!("the FUSE connection: {e}"))?;
        std::thread::Builder::new()
            .name("claw-fusewire".into())
            .spawn(move || {
                let _ = session.run();
            })
            .map_err(|e| format!("starting its FUSE thread: {e}"))?;
        Ok(())
    }

    /// Decides an open of `secret` by thread `tid` (our pid namespace) with the
    /// monitor's `decide`, firing the transition first: `Ok` when allowed.
    fn decide(&self, secret: &Secret, tid: u32, flags: i32) -> Result<(), Errno> {
        // The monitor's own opens (an `O_CREAT` open it performs for the agent,
        // through the agent's root): it decided them already, on the path it
        // resolved, which for a FUSE file is its mount point's, the secret's own
        // path (a tripwire cannot be renamed: the monitor answers `EBUSY`). With a
        // user namespace the kernel refuses them before they get here.
        let tgid = crate::agent::tgid_of(tid).unwrap_or(tid);
        if tgid == std::process::id() {
            return Ok(());
        }
        // Only the sandbox's threads are decided (a kill must never hit another
        // process); anyone else reaching the file through /proc/<pid>/root reads
        // the real file by its own path instead.
        let Ok(t) = i32::try_from(tid) else {
            return Err(Errno::EACCES);
        };
        if !self.tripwires.upgrade().is_some_and(|tw| tw.in_sandbox(t)) {
            return Err(Errno::EACCES);
        }
        let Some(m) = self.monitor.get().and_then(Weak::upgrade) else {
            return Err(Errno::EPERM); // no monitor: fail closed
        };
        let verb = if flags & FMODE_EXEC != 0 {
            Verb::Exec
        } else {
            Verb::Read
        };
        let accesses = [Access::Path {
            verb,
            path: secret.path.clone(),
        }];
        let v = m.decide_tripwire_open(
            tid,
            flags as u32 as u64,
            &accesses,
            || json!({ "path": secret.path, "tripwire": "fuse" }),
        );
        if v.allowed() {
            Ok(())
        } else {
            Err(Errno::from_i32(v.refusal_errno()))
        }
    }

    /// The real file reopened with the open's access mode (after the decision).
    fn reopen(&self, secret: &Secret, flags: i32) -> Result<OwnedFd, Errno> {
        let keep = libc::O_ACCMODE | libc::O_APPEND | libc::O_TRUNC | libc::O_SYNC | libc::O_DSYNC;
        let how = (flags & keep) | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        let p = CString::new(format!("/proc/self/fd/{}", secret.file.as_raw_fd())).map_err(|_| Errno::EIO)?;
        // SAFETY: a valid C string; the descriptor is owned below. The magic link
        // names the recorded inode (O_NOFOLLOW does not apply to it).
        let fd = unsafe { libc::open(p.as_ptr(), how & !libc::O_NOFOLLOW) };
        if fd < 0 {
            return Err(Errno::from_i32(errno()));
        }
        // SAFETY: a fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Still the regular file recorded (an O_PATH descriptor cannot change
        // its inode; checked anyway before a byte is read).
        let st = fstat(fd.as_raw_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Errno::EACCES);
        }
        Ok(fd)
    }

    fn handle(&self, fh: FileHandle) -> Option<i32> {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fh.0)
            .map(|f| f.as_raw_fd())
    }
}

impl Filesystem for Fs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // O_TRUNC arrives with the open (decided first), not as a separate setattr.
        let _ = config.add_capabilities(InitFlags::FUSE_ATOMIC_O_TRUNC);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let index = std::str::from_utf8(name.as_bytes())
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok());
        match (parent.0, index) {
            (1, Some(i)) => match i.checked_add(2).map(INodeNo).map(|ino| (ino, self.attr(ino))) {
                Some((_, Ok(a))) => reply.entry(&TTL, &a, Generation(0)),
                Some((_, Err(e))) => reply.error(e),
                None => reply.error(Errno::ENOENT),
            },
            _ => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<fuser::TimeOrNow>,
        mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        if mode.is_some() || uid.is_some() || gid.is_some() || atime.is_some() || mtime.is_some() {
            return reply.error(Errno::EPERM);
        }
        if let Some(size) = size {
            // Only through a handle an allowed open gave (ftruncate): a plain
            // truncate(2) of a tripwire is refused.
            let Some(fd) = fh.and_then(|h| self.shared.handle(h)) else {
                return reply.error(Errno::EPERM);
            };
            let Ok(len) = i64::try_from(size) else {
                return reply.error(Errno::EFBIG);
            };
            // SAFETY: our own descriptor.
            if unsafe { libc::ftruncate(fd, len) } != 0 {
                return reply.error(Errno::from_i32(errno()));
            }
        }
        match self.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(secret) = self.secret(ino) else {
            return reply.error(Errno::EISDIR);
        };
        if let Err(e) = self.shared.decide(&secret, req.pid(), flags.0) {
            return reply.error(e);
        }
        let fd = match self.shared.reopen(&secret, flags.0) {
            Ok(fd) => fd,
            Err(e) => return reply.error(e),
        };
        let mut open = self.shared.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= MAX_OPEN {
            return reply.error(Errno::EMFILE);
        }
        let fh = self.shared.next.fetch_add(1, Ordering::Relaxed);
        open.insert(fh, fd);
        drop(open);
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(fd) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        let Ok(off) = i64::try_from(offset) else {
            return reply.error(Errno::EINVAL);
        };
        let mut buf = vec![0u8; size.min(MAX_READ) as usize];
        // SAFETY: buf is valid for its length; our own descriptor.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) };
        if n < 0 {
            return reply.error(Errno::from_i32(errno()));
        }
        reply.data(&buf[..n as usize]);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let Some(fd) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        let Ok(off) = i64::try_from(offset) else {
            return reply.error(Errno::EINVAL);
        };
        // SAFETY: data is valid for its length; our own descriptor.
        let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), off) };
        if n < 0 {
            return reply.error(Errno::from_i32(errno()));
        }
        reply.written(n as u32);
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.shared
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh.0);
        reply.ok();
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, datasync: bool, reply: ReplyEmpty) {
        let Some(fd) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        // SAFETY: our own descriptor.
        let r = unsafe {
            if datasync {
                libc::fdatasync(fd)
            } else {
                libc::fsync(fd)
            }
        };
        if r != 0 {
            return reply.error(Errno::from_i32(errno()));
        }
        reply.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_of_a_stat() {
        // SAFETY: a zeroed stat is valid plain data.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        st.st_mode = libc::S_IFREG | 0o600;
        st.st_size = -5;
        st.st_mtime_nsec = 2_000_000_000;
        let a = file_attr(7, &st);
        assert_eq!(a.size, 0);
        assert_eq!(a.perm, 0o600);
        assert_eq!(a.ino, INodeNo(7));
        assert_eq!(a.mtime, UNIX_EPOCH + Duration::new(0, 999_999_999));
    }
}
