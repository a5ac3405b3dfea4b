//! Finding the secrets a tripwire must cover (isolated files): the start-up walk of
//! the plan's discovery roots, its cache between runs, and the watcher that marks
//! secrets created or moved in by processes outside the sandbox during a session.
//!
//! **The watcher is armed first.** Before any directory is looked at, a fanotify
//! notification group (`FAN_REPORT_DFID_NAME`) puts a *filesystem* mark
//! (`FAN_MARK_FILESYSTEM`: `FAN_CREATE|FAN_MOVED_TO|FAN_ONDIR`) on every file
//! system a discovery root lives on or reaches through a mount below it. Such a
//! mark is on the superblock: it reports every new name in every directory of
//! that file system, made by anyone through any mount (a bind mount, the
//! sandbox's copy of the mount tree), and needs no walk and no descriptor per
//! directory. An event names the directory by file handle and the entry by name;
//! the watcher opens the directory with `open_by_handle_at`, takes its names
//! inside the roots (each checked to lead to that very directory), and marks the
//! entry if one of them is a secret; a directory moved in is walked. Mounts made
//! during the session are seen through `/proc/self/mountinfo` (poll), watched and
//! walked. A file system that takes no such mark fails the discovery (opens stay
//! mediated).
//!
//! Everything the walk opens works on directory descriptors and byte names: a
//! directory is opened relative to its parent's descriptor with
//! `O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK` (a FIFO or device swapped in for a
//! directory fails at once instead of blocking; a symlink is never followed), a
//! secret is marked by `(parent descriptor, name)`, and names are bytes end to end
//! (a name that is not UTF-8 is walked like any other; patterns are matched on its
//! lossy spelling, where an invalid byte can only match a wildcard).
//!
//! The walk crosses mounts (Landlock's grants cover every mount below them): a
//! mount of a kernel pseudo file system (procfs, sysfs, cgroup, ...: no user's file
//! lives there, and procfs takes no permission marks) is not entered (but its
//! place is remembered); any other mount is walked like its parent, and a
//! directory or mark that cannot be covered fails the whole discovery, naming it.
//! So does reaching the entry bound: the caller then keeps opens mediated (fail
//! closed), and a walk cut short is never cached.
//!
//! The cache (`SecretCache`) keeps, per root, each directory's `(device, inode,
//! ctime)` and the secrets found. A directory whose stamp, taken through its path
//! (`fstatat`, no final symlink followed) after the watcher was armed, is the
//! cache's has the same names (adding, removing or renaming an entry sets the
//! directory's ctime to now; a mount on it or an unmount changes its device and
//! inode), so it is not opened: its secrets are marked and its subdirectories
//! stamped by path. A change made after the stamp is an event of the watcher. Stamps
//! use the *ctime*, not the mtime: `utimensat` sets the mtime to any value but
//! always sets the ctime to the current time, which nothing short of changing the
//! system clock (root, outside the sandbox) can choose. A ctime less than two
//! seconds old when it is stamped is never trusted (a change in the same clock
//! tick would keep it), so a directory changed during the walk is listed again
//! next time. A root where nothing changed takes a fast path
//! (`Walk::unchanged_prepare`, `check_stamps`, `Walk::unchanged_finish`): each
//! cached directory's stamp is checked straight from the cache file's lines (one
//! `statx` by path each, no map, no allocation; every cached root's lines in
//! pieces on one thread per core); only when all of a root's match are its
//! secrets marked and its walk skipped, else the root is walked as above with the
//! file parsed.
//!
//! This module knows directories, fanotify's directory-entry events, mounts and
//! the cache format; what a secret is and how it is marked belong to
//! [`crate::tripwire`] (every mark the watcher places goes through
//! `Watcher::entry`, then `Tripwires::mark_at`).

use crate::tripwire::Tripwires;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::Mutex;

/// The most entries one discovery (all roots) or one watcher walk looks at.
pub(crate) const MAX_WALK: usize = 4_000_000;

/// File systems the walk does not enter: made by the kernel, holding no user's
/// files (and procfs refuses permission marks).
const PSEUDO_FS: &[u32] = &[
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x6367_7270, // cgroup2
    0x0027_e0eb, // cgroup
    0x1cd1,      // devpts
    0x1980_0202, // mqueue
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x7363_6673, // securityfs
    0xcafe_4a11, // bpf
    0x6265_6570, // configfs
    0x6165_676c, // pstore
    0xde5e_81e4, // efivarfs
    0x6573_5543, // fusectl
    0x4249_4e4d, // binfmt_misc
    0xf97c_ff8c, // selinuxfs
    0x6e73_6673, // nsfs
];

/// How directories are opened: never blocking, never following a symlink.
const DIR_FLAGS: i32 =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `openat(dir, name)` as a directory, or the errno.
fn open_dir_at(dir: i32, name: &[u8]) -> Result<OwnedFd, i32> {
    let c = CString::new(name).map_err(|_| libc::EINVAL)?;
    // SAFETY: valid C string; the descriptor is checked below.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), DIR_FLAGS) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The absolute path of the directory `fd` (any descriptor, `O_PATH` too) in our
/// own view, for a directory whose path is longer than `PATH_MAX` (which
/// `readlink` of `/proc/self/fd/N` cannot give): walking up by `..`, each step
/// finds the parent's entry whose inode is the child's. Bounded (4,096 levels,
/// 1,000,000 entries read); `None` past the bounds or if the tree moved meanwhile.
fn path_by_walking_up(fd: &OwnedFd) -> Option<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut budget: usize = 1_000_000;
    let mut cur = open_dir_at(fd.as_raw_fd(), b".").ok()?;
    for _ in 0..4096 {
        let st = fstat(cur.as_raw_fd())?;
        let parent = open_dir_at(cur.as_raw_fd(), b"..").ok()?;
        let pst = fstat(parent.as_raw_fd())?;
        if (pst.st_dev, pst.st_ino) == (st.st_dev, st.st_ino) {
            let mut out = Vec::new();
            for p in parts.iter().rev() {
                out.push(b'/');
                out.extend_from_slice(p);
            }
            if out.is_empty() {
                out.push(b'/');
            }
            return Some(out);
        }
        // The magic link opens the directory itself, whatever its path's length.
        let entries = std::fs::read_dir(format!("/proc/self/fd/{}", parent.as_raw_fd())).ok()?;
        let mut found = None;
        for e in entries.flatten() {
            budget = budget.checked_sub(1)?;
            use std::os::unix::fs::DirEntryExt;
            // The entry's own inode; a mount point's differs (its device too),
            // so every directory entry is also looked at by `fstatat`.
            let name = e.file_name().as_bytes().to_vec();
            let same = (e.ino() == st.st_ino && pst.st_dev == st.st_dev)
                || (e.file_type().is_ok_and(|t| t.is_dir())
                    && stat_name(parent.as_raw_fd(), &name)
                        .is_some_and(|c| (c.st_dev, c.st_ino) == (st.st_dev, st.st_ino)));
            if same {
                found = Some(name);
                break;
            }
        }
        parts.push(found?);
        cur = parent;
    }
    None
}

fn fstat(fd: i32) -> Option<libc::stat> {
    // SAFETY: st is written by fstat.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then_some(st)
    }
}

fn fs_type(fd: i32) -> Option<u32> {
    // SAFETY: sf is written by fstatfs.
    unsafe {
        let mut sf: libc::statfs = std::mem::zeroed();
        (libc::fstatfs(fd, &mut sf) == 0).then_some(sf.f_type as u32)
    }
}

/// The entries of the directory `fd` (name, `d_type`), without `.` and `..`.
fn entries(fd: i32) -> Result<Vec<(Vec<u8>, u8)>, i32> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // SAFETY: buf is valid for its length; fd is a directory we opened.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return Err(errno());
        }
        if n == 0 {
            return Ok(out);
        }
        let n = n as usize;
        let mut off = 0usize;
        // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen < 19 || off + reclen > n {
                return Err(libc::EIO);
            }
            let kind = buf[off + 18];
            let raw = &buf[off + 19..off + reclen];
            let name = &raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())];
            if name != b"." && name != b".." && !name.is_empty() {
                out.push((name.to_vec(), kind));
            }
            off += reclen;
        }
    }
}

/// A directory as the cache remembers it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct DirStamp {
    pub path: Vec<u8>,
    pub dev: u64,
    pub ino: u64,
    /// `-1`: not to be trusted (changed too recently when stamped).
    pub ctime: i64,
    pub ctime_nsec: i64,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn stamp_of(path: &[u8], st: &libc::stat, now: i64) -> DirStamp {
    let recent = now.saturating_sub(st.st_ctime) < 2;
    DirStamp {
        path: path.to_vec(),
        dev: st.st_dev,
        ino: st.st_ino,
        ctime: if recent { -1 } else { st.st_ctime },
        ctime_nsec: st.st_ctime_nsec,
    }
}

/// A cache file's `D dev ino ctime nsec path` line, borrowed.
struct StampLine<'t> {
    dev: u64,
    ino: u64,
    ctime: i64,
    ctime_nsec: i64,
    path: &'t [u8],
}

fn parse_stamp_line(l: &[u8]) -> Option<StampLine<'_>> {
    let mut f = l.strip_prefix(b"D ")?.splitn(5, |b| *b == b' ');
    let mut num = || -> Option<i64> { std::str::from_utf8(f.next()?).ok()?.parse().ok() };
    let dev = num()? as u64;
    let ino = num()? as u64;
    let ctime = num()?;
    let ctime_nsec = num()?;
    let path = f.next()?;
    Some(StampLine {
        dev,
        ino,
        ctime,
        ctime_nsec,
        path,
    })
}

/// Is the stamp of the directory at `path` (NUL-terminated, absolute; no final
/// symlink followed), taken now, the trusted stamp `d`? One `statx` asking for
/// the type, inode and ctime only (the device is always given).
fn stamp_matches(path: &[u8], d: &StampLine<'_>, now: i64) -> bool {
    debug_assert_eq!(path.last(), Some(&0));
    // SAFETY: `path` is NUL-terminated; sx is written by statx.
    let sx = unsafe {
        let mut sx: libc::statx = std::mem::zeroed();
        let r = libc::statx(
            libc::AT_FDCWD,
            path.as_ptr().cast(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_STATX_SYNC_AS_STAT,
            libc::STATX_TYPE | libc::STATX_INO | libc::STATX_CTIME,
            &mut sx,
        );
        if r != 0 {
            return false;
        }
        sx
    };
    let need = libc::STATX_TYPE | libc::STATX_INO | libc::STATX_CTIME;
    let ctime = sx.stx_ctime.tv_sec;
    sx.stx_mask & need == need
        && u32::from(sx.stx_mode) & libc::S_IFMT == libc::S_IFDIR
        && libc::makedev(sx.stx_dev_major, sx.stx_dev_minor) == d.dev
        && sx.stx_ino == d.ino
        // As `stamp_of`: a ctime less than two seconds old is never trusted.
        && now.saturating_sub(ctime) >= 2
        && ctime == d.ctime
        && i64::from(sx.stx_ctime.tv_nsec) == d.ctime_nsec
}

/// A cached root as the fast path takes it: its cache file's directory lines
/// and secrets, borrowed ([`Walk::unchanged_prepare`]).
struct Unchanged<'t> {
    dirs: Vec<&'t [u8]>,
    secrets: Vec<&'t [u8]>,
}

/// Does every directory line of `lines` (`D dev ino ctime nsec path`) still have
/// its stamp, a trusted one ([`stamp_matches`], at `now`)? A line that does not
/// parse, a stamp not to trust (`-1`) or a pseudo file system's place (`-2`)
/// is a no. One reused buffer, no other allocation.
fn stamps_hold(lines: &[&[u8]], now: i64) -> bool {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    lines.iter().all(|l| {
        let Some(d) = parse_stamp_line(l) else {
            return false;
        };
        if d.ctime < 0 || d.path.contains(&0) {
            return false;
        }
        buf.clear();
        buf.extend_from_slice(d.path);
        buf.push(0);
        stamp_matches(&buf, &d, now)
    })
}

/// Directory lines per piece of the fast path's work.
const STAMP_CHUNK: usize = 1024;

/// Checks the stamps of every root in `todo` (`Some`: its fast path's lines)
/// on up to `threads` threads, in pieces of [`STAMP_CHUNK`] lines taken in turn
/// (a large root is spread over all of them); true for each root whose every
/// stamp holds ([`stamps_hold`]).
fn check_stamps(todo: &[Option<Unchanged<'_>>], now: i64, threads: usize) -> Vec<bool> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let pieces: Vec<(usize, &[&[u8]])> = todo
        .iter()
        .enumerate()
        .filter_map(|(i, u)| u.as_ref().map(|u| (i, u)))
        .flat_map(|(i, u)| u.dirs.chunks(STAMP_CHUNK).map(move |c| (i, c)))
        .collect();
    let failed: Vec<AtomicBool> = todo.iter().map(|u| AtomicBool::new(u.is_none())).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let Some((i, lines)) = pieces.get(n) else { return };
        if !failed[*i].load(Ordering::Relaxed) && !stamps_hold(lines, now) {
            failed[*i].store(true, Ordering::Relaxed);
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads.min(pieces.len()).max(1))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("claw-discovery".into())
                    .spawn_scoped(s, work)
                    .ok()
            })
            .collect();
        work();
        for h in helpers {
            let _ = h.join();
        }
    });
    failed.iter().map(|f| !f.load(Ordering::Relaxed)).collect()
}

/// The directories and secrets of the cache file `text` of `root`; `None` if it
/// is not one (another version, another root, a line that does not parse).
fn parse_cache(root: &str, text: &[u8]) -> Option<(Vec<DirStamp>, Vec<Vec<u8>>)> {
    let mut lines = text.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    if lines.next() != Some(format!("{CACHE_VERSION} {root}").as_bytes()) {
        return None;
    }
    let (mut secrets, mut dirs) = (Vec::new(), Vec::new());
    for l in lines {
        if let Some(p) = l.strip_prefix(b"S ") {
            secrets.push(p.to_vec());
            continue;
        }
        let d = parse_stamp_line(l)?;
        dirs.push(DirStamp {
            path: d.path.to_vec(),
            dev: d.dev,
            ino: d.ino,
            ctime: d.ctime,
            ctime_nsec: d.ctime_nsec,
        });
    }
    Some((dirs, secrets))
}

/// FNV-1a as a [`std::hash::Hasher`]: the walk's maps are keyed by paths it
/// made itself (no adversary picks them to collide: the cost of a collision is
/// time, never a wrong answer), and SipHash was a tenth of a cached start.
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// A root's directories and secrets as last walked, by directory.
#[derive(Default)]
struct Known {
    stamps: FastMap<Vec<u8>, DirStamp>,
    subdirs: FastMap<Vec<u8>, Vec<Vec<u8>>>,
    secrets: FastMap<Vec<u8>, Vec<Vec<u8>>>,
}

fn parent_and_name(p: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = p.iter().rposition(|b| *b == b'/')?;
    let name = &p[i + 1..];
    if name.is_empty() {
        return None;
    }
    Some((if i == 0 { b"/" } else { &p[..i] }, name))
}

impl Known {
    /// Is `s` the cache's stamp of its directory (and one to trust)?
    fn unchanged(&self, s: &DirStamp) -> bool {
        self.stamps.get(&s.path).is_some_and(|k| {
            k.ctime >= 0
                && k.dev == s.dev
                && k.ino == s.ino
                && k.ctime == s.ctime
                && k.ctime_nsec == s.ctime_nsec
        })
    }

    fn new(dirs: Vec<DirStamp>, secrets: Vec<Vec<u8>>) -> Known {
        let mut k = Known::default();
        k.stamps.reserve(dirs.len());
        k.subdirs.reserve(dirs.len());
        for d in dirs {
            if let Some((parent, name)) = parent_and_name(&d.path) {
                k.subdirs.entry(parent.to_vec()).or_default().push(name.to_vec());
            }
            k.stamps.insert(d.path.clone(), d);
        }
        for s in secrets {
            if let Some((parent, name)) = parent_and_name(&s) {
                k.secrets.entry(parent.to_vec()).or_default().push(name.to_vec());
            }
        }
        k
    }
}

/// What one root's walk found.
pub(crate) struct Found {
    pub dirs: Vec<DirStamp>,
    pub secrets: Vec<Vec<u8>>,
    /// Something differs from the cache.
    pub changed: bool,
    /// Found by the fast path ([`Walk::unchanged_finish`]): every one of these many cached
    /// directories had its stamp (`None`: walked).
    pub unchanged: Option<usize>,
}

/// How a directory still to walk is reached.
enum Reach {
    /// Opened: its descriptor (a directory that changed since the cache, or one
    /// not in it).
    Open(OwnedFd),
    /// Its stamp, taken through its path after the watch was armed, is the
    /// cache's: its names are the cache's, and it is not opened.
    Stamped,
}

/// One walk (discovery of every root, or the watcher's look at a directory moved
/// in or a new mount): the entry bound is shared by all its roots.
pub(crate) struct Walk<'a> {
    tw: &'a Tripwires,
    /// A walk of the watcher's (during the session): its marks are late, the
    /// agent may already hold descriptors of what they cover.
    late: bool,
    /// Entries looked at, shared by the walks of one discovery (its threads).
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    now: i64,
    /// [`MAX_WALK`], or lower (`CLAWLESS_DISCOVERY_BOUND`, for tests: a lower
    /// bound only makes more runs fall back to mediated opens).
    bound: usize,
}

/// `fstatat(dir, name)` without following a final symlink (`dir` may be
/// `AT_FDCWD` with an absolute name).
fn stat_name(dir: i32, name: &[u8]) -> Option<libc::stat> {
    let c = CString::new(name).ok()?;
    crate::tripwire::stat_at(dir, &c)
}

fn is_pseudo_at(dir: i32, name: &[u8]) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: valid C string; the descriptor is checked and closed at once.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: a fresh descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    fs_type(fd.as_raw_fd()).is_some_and(|t| PSEUDO_FS.contains(&t))
}

/// A cached directory's entry that was a secret (marked, not entered: a secret
/// directory is among the cached directories too).
const CACHED_SECRET: u8 = 0xfe;

/// A cached directory's subdirectory (no secret: the cache knows the secrets).
const CACHED_DIR: u8 = 0xff;

/// Stamps of a kernel pseudo file system's mount point (not entered): a `ctime`
/// of `-2`, so that a mount there that is no longer pseudo is walked.
const PSEUDO_STAMP: i64 = -2;

impl<'a> Walk<'a> {
    /// Another walk of the same discovery: the entry bound is shared.
    fn sharing(&self) -> Walk<'a> {
        Walk {
            tw: self.tw,
            late: self.late,
            seen: std::sync::Arc::clone(&self.seen),
            now: self.now,
            bound: self.bound,
        }
    }

    pub fn new(tw: &'a Tripwires, late: bool) -> Walk<'a> {
        Walk {
            tw,
            late,
            seen: Default::default(),
            now: now_secs(),
            bound: std::env::var("CLAWLESS_DISCOVERY_BOUND")
                .ok()
                .and_then(|b| b.parse().ok())
                .map_or(MAX_WALK, |b: usize| b.min(MAX_WALK)),
        }
    }

    /// Marks `name` in `dir` (an absolute name with `AT_FDCWD`) as the secret
    /// `path`: every mark of discovery and of the watcher is placed here (`late`:
    /// during the session).
    fn mark(&self, dir: i32, name: &CString, path: &str) -> Result<bool, String> {
        let marked = self.tw.mark_at(dir, name, path)?;
        if marked && self.late && std::env::var_os("CLAWLESS_TRACE_DISCOVERY").is_some() {
            eprintln!("clawless: the watcher marked {path}");
        }
        Ok(marked)
    }

    /// Walks the root `root` with its cache file's `text` (`None`: no cache at
    /// all; empty: no file for this root) parsed: [`Walk::root`].
    fn root_cached(&mut self, root: &str, text: Option<Vec<u8>>) -> Result<Found, String> {
        let known = text.map(|t| {
            let (d, s) = parse_cache(root, &t).unwrap_or_default();
            Known::new(d, s)
        });
        self.root(root, known)
    }

    /// The fast path's first step for a cached root (the common case: nothing
    /// changed), with no map and no allocation per directory: the cache `text`'s
    /// directory lines (whose stamps [`stamps_hold`] then checks, on several
    /// threads) and its secrets. `None` when the file is not one to take this
    /// way: another root's or version, no directory, a first directory that is
    /// not the root's canonical path, a root that is a secret itself or on a
    /// kernel pseudo file system. The caller then walks the root with the cache
    /// parsed ([`Walk::root`]), which finds what changed.
    fn unchanged_prepare<'t>(&self, root: &str, text: &'t [u8]) -> Option<Unchanged<'t>> {
        let canon = std::fs::canonicalize(root).ok()?.into_os_string().into_vec();
        if self.tw.secret(&lossy(&canon)) || is_pseudo_at(libc::AT_FDCWD, &canon) {
            return None;
        }
        let mut lines = text.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        if lines.next() != Some(format!("{CACHE_VERSION} {root}").as_bytes()) {
            return None;
        }
        let mut u = Unchanged {
            dirs: Vec::new(),
            secrets: Vec::new(),
        };
        for l in lines {
            match l.strip_prefix(b"S ") {
                Some(p) => u.secrets.push(p),
                None => u.dirs.push(l),
            }
        }
        // The walk's first directory is the root's own.
        let first = parse_stamp_line(u.dirs.first()?)?;
        (first.path == canon.as_slice()).then_some(u)
    }

    /// The fast path's last step, once [`stamps_hold`] found every directory of
    /// `u` with its stamp, taken by path after the watcher was armed: the tree is
    /// the cache's, so its secrets are marked by path and that is all. `None`
    /// (nothing marked but what is marked again) when a cached secret is gone or
    /// no longer one to mark: the caller walks the root ([`Walk::root`]).
    ///
    /// Sound for the same reason as [`Walk::tree`]'s stamped directories: by
    /// induction from the root, a directory whose stamp is unchanged has the
    /// cache's names, so each cached subdirectory's path leads to the directory
    /// whose stamp was checked, and there is no other.
    fn unchanged_finish(&mut self, root: &str, u: &Unchanged<'_>) -> Result<Option<Found>, String> {
        let count = u.dirs.len().saturating_add(u.secrets.len());
        let seen = self
            .seen
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed)
            .saturating_add(count);
        if seen > self.bound {
            return Err(format!(
                "discovery reached its bound of {} entries (in {root})",
                self.bound
            ));
        }
        let mut found = Found {
            dirs: Vec::new(),
            secrets: Vec::new(),
            changed: false,
            unchanged: Some(u.dirs.len()),
        };
        for p in &u.secrets {
            let shown = lossy(p);
            let Ok(c) = CString::new(*p) else {
                return Ok(None);
            };
            if !self.mark(libc::AT_FDCWD, &c, &shown)? {
                return Ok(None); // gone: the walk finds out what it is now
            }
            found.secrets.push(p.to_vec());
        }
        Ok(Some(found))
    }

    /// Walks the root `root` (an absolute path, canonicalised here: Landlock's
    /// grant on it covers what it names), reusing `known` where a directory is
    /// unchanged. Marks every secret. An error means a part of the root is not
    /// covered: the caller must not let the kernel decide opens.
    fn root(&mut self, root: &str, known: Option<Known>) -> Result<Found, String> {
        let mut found = Found {
            dirs: Vec::new(),
            secrets: Vec::new(),
            changed: known.is_none(),
            unchanged: None,
        };
        let canon = match std::fs::canonicalize(root) {
            Ok(c) => c,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(found),
            Err(e) => return Err(format!("discovery cannot resolve {root}: {e}")),
        };
        let path = canon.as_os_str().as_bytes().to_vec();
        if self.tw.secret(&lossy(&path)) {
            self.tw.cover_path(&lossy(&path));
            found.secrets.push(path.clone());
        }
        let Some(st) = stat_name(libc::AT_FDCWD, &path) else {
            return Ok(found);
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Ok(found);
        }
        if is_pseudo_at(libc::AT_FDCWD, &path) {
            return Ok(found); // a kernel pseudo file system holds no user's file
        }
        if known
            .as_ref()
            .is_some_and(|k| k.unchanged(&stamp_of(&path, &st, self.now)))
        {
            self.tree(Reach::Stamped, path, st, known.as_ref(), &mut found)?;
            return Ok(found);
        }
        let c = CString::new(path.clone()).map_err(|_| format!("{root}: a NUL in the path"))?;
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(c.as_ptr(), DIR_FLAGS) };
        if fd < 0 {
            return match errno() {
                libc::ENOTDIR | libc::ENOENT | libc::ELOOP => Ok(found),
                e => Err(format!(
                    "discovery cannot open {root}: {}",
                    std::io::Error::from_raw_os_error(e)
                )),
            };
        }
        // SAFETY: a fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let Some(st) = fstat(fd.as_raw_fd()) else {
            return Err(format!("discovery cannot stat {root}"));
        };
        self.tree(Reach::Open(fd), path, st, known.as_ref(), &mut found)?;
        Ok(found)
    }

    /// Walks the directory at `path` (reached as `reach`, with the status `st`).
    ///
    /// A directory whose stamp is the cache's is not opened: its names are the
    /// cache's, its secrets are marked by path and its subdirectories stamped by
    /// path. This is sound because the caller armed the watcher before the walk:
    /// a change made before the stamp was taken shows in it (adding, removing or
    /// renaming an entry sets the directory's ctime; a mount on it or an unmount
    /// changes its device and inode), and every change after it is an event of
    /// the watcher, which marks what it creates or moves in.
    fn tree(
        &mut self,
        reach: Reach,
        path: Vec<u8>,
        st: libc::stat,
        known: Option<&Known>,
        found: &mut Found,
    ) -> Result<(), String> {
        let mut visited: std::collections::HashSet<(u64, u64), std::hash::BuildHasherDefault<Fnv>> =
            Default::default();
        let mut stack: Vec<(Reach, Vec<u8>, libc::stat)> = vec![(reach, path, st)];
        while let Some((reach, path, st)) = stack.pop() {
            if !visited.insert((st.st_dev, st.st_ino)) {
                continue; // a bind mount of an ancestor
            }
            let stamp = stamp_of(&path, &st, self.now);
            // A stamped directory was found unchanged when it was stamped.
            let k = match reach {
                Reach::Stamped => known,
                Reach::Open(_) => known.filter(|k| k.unchanged(&stamp)),
            };
            let fd = match &reach {
                Reach::Open(fd) => fd.as_raw_fd(),
                Reach::Stamped => libc::AT_FDCWD,
            };
            // Names relative to `fd`: the entry's name, or its whole path.
            let rel = |name: &[u8]| -> Vec<u8> {
                match reach {
                    Reach::Open(_) => name.to_vec(),
                    Reach::Stamped => join(&path, name),
                }
            };
            let listed: Vec<(Vec<u8>, u8)> = match (k, &reach) {
                (Some(k), _) => {
                    // Unchanged: its names are the cache's, which also says which
                    // are secrets (the cache file is the patterns' and values').
                    let mut l: Vec<(Vec<u8>, u8)> = Vec::new();
                    for n in k.secrets.get(&path).into_iter().flatten() {
                        l.push((n.clone(), CACHED_SECRET));
                    }
                    for n in k.subdirs.get(&path).into_iter().flatten() {
                        l.push((n.clone(), CACHED_DIR));
                    }
                    l
                }
                (None, Reach::Open(fd)) => {
                    found.changed = true;
                    entries(fd.as_raw_fd()).map_err(|e| {
                        format!(
                            "discovery cannot list {}: {}",
                            lossy(&path),
                            std::io::Error::from_raw_os_error(e)
                        )
                    })?
                }
                (None, Reach::Stamped) => {
                    return Err(format!("discovery: {} changed as it was walked", lossy(&path)));
                }
            };
            found.dirs.push(stamp);
            for (name, kind) in listed {
                let seen = self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if seen > self.bound {
                    return Err(format!(
                        "discovery reached its bound of {} entries (in {})",
                        self.bound,
                        lossy(&path)
                    ));
                }
                let child = join(&path, &name);
                let shown = || lossy(&child);
                let at = rel(&name);
                let may_be_secret = match kind {
                    CACHED_SECRET => true,
                    CACHED_DIR => false,
                    _ => self.tw.secret(&shown()),
                };
                if may_be_secret {
                    let shown = shown();
                    let c = CString::new(at.clone()).map_err(|_| format!("{shown}: a NUL in a name"))?;
                    match self.mark(fd, &c, &shown) {
                        Ok(true) => found.secrets.push(child.clone()),
                        Ok(false) => {
                            if k.is_some() {
                                found.changed = true;
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                if !matches!(kind, libc::DT_DIR | libc::DT_UNKNOWN | CACHED_DIR) {
                    continue; // (a cached secret that is a directory is a cached one too)
                }
                let Some(cst) = stat_name(fd, &at) else {
                    found.changed = true; // gone since it was listed
                    continue;
                };
                if cst.st_mode & libc::S_IFMT != libc::S_IFDIR {
                    if kind != libc::DT_UNKNOWN {
                        found.changed = true; // replaced since it was listed
                    }
                    continue;
                }
                let cstamp = stamp_of(&child, &cst, self.now);
                if cst.st_dev != st.st_dev && is_pseudo_at(fd, &at) {
                    let old = known.and_then(|k| k.stamps.get(&child));
                    // A kernel pseudo file system: not entered, but remembered,
                    // so that another mount in its place is walked.
                    let mut p = cstamp;
                    p.ctime = PSEUDO_STAMP;
                    if old != Some(&p) {
                        found.changed = true;
                    }
                    found.dirs.push(p);
                    continue;
                }
                if known.is_some_and(|k| k.unchanged(&cstamp)) {
                    stack.push((Reach::Stamped, child, cst));
                    continue;
                }
                let sub = match open_dir_at(fd, &at) {
                    Ok(s) => s,
                    // Gone or replaced since it was listed.
                    Err(libc::ENOENT | libc::ENOTDIR | libc::ELOOP) => {
                        found.changed = true;
                        continue;
                    }
                    Err(e) => {
                        return Err(format!(
                            "discovery cannot open {}: {}",
                            shown(),
                            std::io::Error::from_raw_os_error(e)
                        ))
                    }
                };
                let Some(sst) = fstat(sub.as_raw_fd()) else {
                    return Err(format!("discovery cannot stat {}", shown()));
                };
                stack.push((Reach::Open(sub), child, sst));
            }
        }
        Ok(())
    }
}

/// Says what the watcher could not do, a few times per run at most (its output
/// must stay small: a slow reader of stderr could otherwise stall it).
fn warn(e: &str) {
    static SHOWN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if SHOWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
        eprintln!("clawless: the watcher: {e}");
    }
}

/// One mount of a watched file system: where it is mounted (in our mount
/// namespace, which the sandbox's copies: its mounts are slaves of ours).
#[derive(Clone, PartialEq, Eq)]
struct MountAt {
    id: u64,
    point: Vec<u8>,
}

/// A file system's id (`statfs`'s `f_fsid`, as fanotify reports it).
type Fsid = (i32, i32);

/// The watched file systems, by fsid, with their mounts.
#[derive(Default)]
struct Watched {
    fs: HashMap<Fsid, Vec<MountAt>>,
    /// Every mount id looked at (watched, pseudo, or outside the roots).
    seen: HashSet<u64>,
    /// Our mounts when last read: (id, mount point).
    present: Vec<(u64, Vec<u8>)>,
    /// Resolved directories: (fsid, handle) to the directory's names inside a
    /// discovery root (empty: none). Emptied when a directory moves or a mount
    /// changes; bounded.
    names: HashMap<(Fsid, Vec<u8>), Vec<Vec<u8>>>,
}

/// The most resolved directories the watcher remembers.
const MAX_NAMES: usize = 65_536;

/// The events the watcher asks for on each file system.
const WATCH_MASK: u64 = libc::FAN_CREATE | libc::FAN_MOVED_TO | libc::FAN_ONDIR;

/// The watcher of outside creations: a fanotify notification group reporting
/// directory entries (`FAN_REPORT_DFID_NAME`) with a *filesystem* mark
/// (`FAN_MARK_FILESYSTEM`, which needs `CAP_SYS_ADMIN`, as tripwires do) on
/// every file system a discovery root lives on or reaches through a mount. It
/// needs no walk to arm and sees every creation and every rename into any
/// directory of those file systems, by anyone, through any mount (bind mounts
/// included); an event names the directory by its file handle and the entry by
/// its name. New mounts are seen through `/proc/self/mountinfo`.
pub(crate) struct Watcher {
    fan: OwnedFd,
    /// `/proc/self/mountinfo`, opened before the mounts were first read: a poll
    /// on it reports every change since.
    mountinfo: Mutex<Option<std::fs::File>>,
    roots: Mutex<Vec<Vec<u8>>>,
    watched: Mutex<Watched>,
}

/// `fsid` of the file system of `fd`.
fn fsid_of(fd: i32) -> Option<(i32, i32)> {
    // SAFETY: sf is written by fstatfs.
    unsafe {
        let mut sf: libc::statfs = std::mem::zeroed();
        if libc::fstatfs(fd, &mut sf) != 0 {
            return None;
        }
        let v: [i32; 2] = std::mem::transmute(sf.f_fsid);
        Some((v[0], v[1]))
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(f: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(f.len());
    let mut i = 0;
    while i < f.len() {
        if f[i] == b'\\' && i + 3 < f.len() && f[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (f[i + 1] - b'0') as u32 * 64 + (f[i + 2] - b'0') as u32 * 8 + (f[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(f[i]);
            i += 1;
        }
    }
    out
}

/// Our mounts: (mount id, mount point).
fn mounts() -> Result<Vec<(u64, Vec<u8>)>, String> {
    let text =
        std::fs::read("/proc/self/mountinfo").map_err(|e| format!("reading /proc/self/mountinfo: {e}"))?;
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut f = line.split(|b| *b == b' ');
        let id = f.next().and_then(|x| std::str::from_utf8(x).ok()?.parse().ok());
        let point = f.nth(3);
        if let (Some(id), Some(point)) = (id, point) {
            out.push((id, unescape(point)));
        }
    }
    Ok(out)
}

fn inside(a: &[u8], b: &[u8]) -> bool {
    b == b"/" || a == b || (a.starts_with(b) && a.get(b.len()) == Some(&b'/'))
}

/// A descriptor of the directory `path` (following symlinks: a mount point from
/// mountinfo is canonical, a root canonicalised), never blocking; not `O_PATH`,
/// which `open_by_handle_at` does not take as its mount.
fn open_path(path: &[u8]) -> Option<OwnedFd> {
    let c = CString::new(path).ok()?;
    // SAFETY: valid C string; the descriptor is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    // SAFETY: a fresh descriptor.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Watcher {
    /// Removes the watcher's filesystem marks (the session is over:
    /// [`crate::tripwire::Tripwires::unmark_all`]).
    pub fn unmark_all(&self) {
        // SAFETY: our own group; flushes its filesystem marks.
        unsafe {
            libc::fanotify_mark(
                self.fan.as_raw_fd(),
                libc::FAN_MARK_FLUSH | libc::FAN_MARK_FILESYSTEM,
                0,
                libc::AT_FDCWD,
                std::ptr::null(),
            );
        }
    }

    pub fn new() -> Result<Watcher, String> {
        // SAFETY: integer flags only; the descriptor is owned below.
        let fd = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_NOTIF
                    | libc::FAN_REPORT_DFID_NAME
                    | libc::FAN_CLOEXEC
                    | libc::FAN_UNLIMITED_QUEUE
                    | libc::FAN_UNLIMITED_MARKS,
                (libc::O_RDONLY | libc::O_CLOEXEC) as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(format!(
                "the watcher needs fanotify directory-entry events (FAN_REPORT_DFID_NAME): {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Watcher {
            // SAFETY: a fresh descriptor.
            fan: unsafe { OwnedFd::from_raw_fd(fd) },
            mountinfo: Mutex::new(None),
            roots: Mutex::new(Vec::new()),
            watched: Mutex::new(Watched::default()),
        })
    }

    /// Puts a filesystem mark on the file system of `fd` (the mount `id` at
    /// `point`) unless it has one; remembers the mount. `Ok(false)`: a kernel
    /// pseudo file system, not watched (nothing of a user's lives there).
    fn watch_fs(&self, fd: &OwnedFd, id: u64, point: &[u8]) -> Result<bool, String> {
        if fs_type(fd.as_raw_fd()).is_some_and(|t| PSEUDO_FS.contains(&t)) {
            return Ok(false);
        }
        let fsid =
            fsid_of(fd.as_raw_fd()).ok_or_else(|| format!("the watcher cannot statfs {}", lossy(point)))?;
        let mut w = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let new = !w.fs.contains_key(&fsid);
        if new {
            // SAFETY: `.` relative to our own descriptor: its file system.
            let r = unsafe {
                libc::fanotify_mark(
                    self.fan.as_raw_fd(),
                    libc::FAN_MARK_ADD | libc::FAN_MARK_FILESYSTEM,
                    WATCH_MASK,
                    fd.as_raw_fd(),
                    c".".as_ptr(),
                )
            };
            if r != 0 {
                return Err(format!(
                    "the watcher cannot watch the file system of {} for new names: {}",
                    lossy(point),
                    std::io::Error::last_os_error()
                ));
            }
        }
        let at = MountAt {
            id,
            point: point.to_vec(),
        };
        let list = w.fs.entry(fsid).or_default();
        if !list.contains(&at) {
            list.push(at);
        }
        w.names.clear();
        Ok(true)
    }

    /// Arms the watch on every file system the canonical `roots` live on or reach
    /// through a mount, before anything below them is looked at: a creation after
    /// this is an event, one before it shows in a directory's stamp. An error
    /// means a part cannot be watched (fail closed: opens stay mediated).
    pub fn arm(&self, roots: &[Vec<u8>]) -> Result<(), String> {
        *self.roots.lock().unwrap_or_else(|e| e.into_inner()) = roots.to_vec();
        let mi = std::fs::File::open("/proc/self/mountinfo")
            .map_err(|e| format!("the watcher cannot follow mounts (/proc/self/mountinfo): {e}"))?;
        *self.mountinfo.lock().unwrap_or_else(|e| e.into_inner()) = Some(mi);
        let all = mounts()?;
        self.watched.lock().unwrap_or_else(|e| e.into_inner()).present = all.clone();
        for root in roots {
            // An absent root: its nearest existing ancestor's file system, where
            // it would be created or moved to.
            let mut at: &[u8] = root;
            let fd = loop {
                match open_path(at) {
                    Some(fd) => break Some(fd),
                    None if at.len() > 1 => at = parent_and_name(at).map_or(&b"/"[..], |(p, _)| p),
                    None => break None,
                }
            };
            let Some(fd) = fd else {
                return Err(format!(
                    "the watcher cannot open any directory above {}",
                    lossy(root)
                ));
            };
            let root = &at.to_vec();
            // The mount holding the root: the deepest mount point above it.
            let id = all
                .iter()
                .filter(|(_, p)| inside(root, p))
                .max_by_key(|(_, p)| p.len())
                .map_or(0, |(id, _)| *id);
            let point = all
                .iter()
                .find(|(i, _)| *i == id)
                .map_or(root.clone(), |(_, p)| p.clone());
            self.watch_fs(&fd, id, &point)?;
        }
        self.new_mounts(&all)
    }

    /// Watches each mount of `all` below a root not seen yet
    /// (the caller walks a mount made during the session: what it holds was never
    /// walked).
    fn new_mounts(&self, all: &[(u64, Vec<u8>)]) -> Result<(), String> {
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (id, point) in all {
            let fresh = self
                .watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .seen
                .insert(*id);
            if !fresh || !roots.iter().any(|r| inside(point, r)) {
                continue;
            }
            // A mount point hidden by a later mount on it opens as the later one;
            // its own files are unreachable by any path.
            let Some(fd) = open_path(point) else { continue };
            self.watch_fs(&fd, *id, point)?;
        }
        Ok(())
    }

    /// The names (inside a discovery root) of the directory of the handle `fh`
    /// (a `struct file_handle`) on the file system `fsid`, opened (`O_PATH`).
    fn resolve(&self, fsid: (i32, i32), fh: &[u8]) -> Vec<(OwnedFd, Vec<u8>)> {
        let key = (fsid, fh.to_vec());
        let (mounts, cached) = {
            let w = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            (
                w.fs.get(&fsid).cloned().unwrap_or_default(),
                w.names.get(&key).cloned(),
            )
        };
        if cached.as_ref().is_some_and(Vec::is_empty) {
            return Vec::new();
        }
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out: Vec<(OwnedFd, Vec<u8>)> = Vec::new();
        let mut buf = fh.to_vec();
        for m in &mounts {
            let Some(mfd) = open_path(&m.point) else { continue };
            if fsid_of(mfd.as_raw_fd()) != Some(fsid) {
                continue; // unmounted, or hidden by another mount
            }
            // SAFETY: buf holds a whole `struct file_handle` from the kernel.
            let fd = unsafe {
                libc::open_by_handle_at(
                    mfd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                continue; // gone (ESTALE)
            }
            // SAFETY: a fresh descriptor.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let (p, b) = match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
                Ok(p) => {
                    let p = p.as_os_str().as_bytes().to_vec();
                    let b = stat_name(libc::AT_FDCWD, &p);
                    (p, b)
                }
                // Longer than PATH_MAX (red team round 5, watcher-long-path): named
                // by walking up, a name that leads to this directory by construction.
                Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => match path_by_walking_up(&fd) {
                    Some(p) => (p, fstat(fd.as_raw_fd())),
                    None => {
                        warn("the watcher cannot name a directory deeper than PATH_MAX: a secret created there is not marked");
                        continue;
                    }
                },
                Err(_) => continue,
            };
            // Only a name that leads to this very directory counts (a directory
            // outside the mount's root has no name through it).
            let (Some(a), Some(b)) = (fstat(fd.as_raw_fd()), b) else {
                continue;
            };
            // Inside a root, or above one (a directory moved there may hold it).
            if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino)
                || !roots.iter().any(|r| inside(&p, r) || inside(r, &p))
            {
                continue;
            }
            if !out.iter().any(|(_, q)| *q == p) {
                out.push((fd, p));
            }
        }
        let mut w = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        if w.names.len() >= MAX_NAMES {
            w.names.clear();
        }
        w.names.insert(key, out.iter().map(|(_, p)| p.clone()).collect());
        out
    }

    /// Marks secrets created or moved in by anyone (walking directories moved
    /// in), and watches mounts made during the session. Runs on its own thread
    /// until the group's descriptor fails.
    pub fn run(&self, tw: &Tripwires) {
        let mi = self.mountinfo.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut buf = vec![0u8; 64 * 1024];
        let head = std::mem::size_of::<libc::fanotify_event_metadata>();
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: self.fan.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: mi.as_ref().map_or(-1, AsRawFd::as_raw_fd),
                    events: libc::POLLPRI,
                    revents: 0,
                },
            ];
            // SAFETY: fds is valid for its length.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if r < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return;
            }
            if fds[1].revents & (libc::POLLPRI | libc::POLLERR) != 0 {
                self.mounts_changed(tw);
            }
            if fds[0].revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                return;
            }
            if fds[0].revents & libc::POLLIN == 0 {
                continue;
            }
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fan.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if errno() == libc::EINTR || errno() == libc::EAGAIN {
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
                if len < head || off + len > n {
                    break;
                }
                if ev.fd >= 0 {
                    // SAFETY: a descriptor the kernel gave us (none is expected
                    // in a fid group).
                    drop(unsafe { OwnedFd::from_raw_fd(ev.fd) });
                }
                if ev.mask & libc::FAN_Q_OVERFLOW != 0 {
                    self.rescan(tw);
                } else {
                    self.event(tw, ev.mask, &buf[off + head..off + len]);
                }
                off += len;
            }
        }
    }

    /// One event: its info records hold the directory's fsid and handle and the
    /// entry's name.
    fn event(&self, tw: &Tripwires, mask: u64, info: &[u8]) {
        let mut at = 0usize;
        while at + 4 <= info.len() {
            let kind = info[at];
            let len = u16::from_ne_bytes([info[at + 2], info[at + 3]]) as usize;
            if len < 4 || at + len > info.len() {
                return;
            }
            let rec = &info[at + 4..at + len];
            at += len;
            if kind != libc::FAN_EVENT_INFO_TYPE_DFID_NAME || rec.len() < 16 {
                continue;
            }
            let fsid = (
                i32::from_ne_bytes([rec[0], rec[1], rec[2], rec[3]]),
                i32::from_ne_bytes([rec[4], rec[5], rec[6], rec[7]]),
            );
            let hbytes = u32::from_ne_bytes([rec[8], rec[9], rec[10], rec[11]]) as usize;
            let Some(hend) = 16usize.checked_add(hbytes).filter(|e| *e <= rec.len()) else {
                return;
            };
            let fh = &rec[8..hend];
            let raw = &rec[hend..];
            let name = &raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())];
            if name.is_empty() {
                continue;
            }
            let moved_dir = mask & libc::FAN_MOVED_TO != 0 && mask & libc::FAN_ONDIR != 0;
            if moved_dir {
                // A directory moved: names of what is below it changed.
                self.watched
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .names
                    .clear();
            } else if !tw.name_may_be_secret(name) && !tw.has_other_names() {
                continue; // no pattern can match this name anywhere, nor a link name it
            }
            for (dir, path) in self.resolve(fsid, fh) {
                self.entry(tw, &dir, &path, name, moved_dir);
            }
        }
    }

    /// The entry `name` of the directory `dir` (at `path`, inside a root) is new:
    /// marks it if it is a secret; a directory moved in is walked (what it holds
    /// was created before it came).
    fn entry(&self, tw: &Tripwires, dir: &OwnedFd, path: &[u8], name: &[u8], moved_dir: bool) {
        let child = join(path, name);
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if !roots.iter().any(|r| inside(&child, r)) {
            // Above every root (the directory is an ancestor of one): a directory
            // moved here may bring a root with it, which is walked.
            if moved_dir {
                for r in roots.iter().filter(|r| inside(r, &child)) {
                    self.walk_path(tw, r);
                }
            }
            return;
        }
        let shown = lossy(&child);
        let walk = Walk::new(tw, true);
        if stat_name(dir.as_raw_fd(), name).is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK) {
            // A link made outside names what it reaches (`Tripwires::learn_link`).
            tw.learn_link(&shown);
        }
        if let Some(secret) = tw.secret_name(&shown) {
            if let Ok(c) = CString::new(name) {
                if let Err(e) = walk.mark(dir.as_raw_fd(), &c, &secret) {
                    warn(&e);
                }
            }
        }
        if !moved_dir {
            return; // a new directory is empty: what comes into it is an event
        }
        let Ok(sub) = open_dir_at(dir.as_raw_fd(), name) else {
            return;
        };
        let Some(st) = fstat(sub.as_raw_fd()) else { return };
        let mut found = Found {
            dirs: Vec::new(),
            secrets: Vec::new(),
            changed: true,
            unchanged: None,
        };
        let mut walk = walk;
        if let Err(e) = walk.tree(Reach::Open(sub), child, st, None, &mut found) {
            warn(&e);
        }
    }

    /// Our mounts changed: a new mount below a root is watched and walked, and
    /// so is the place of a mount gone (what it covered is visible again).
    fn mounts_changed(&self, tw: &Tripwires) {
        let Ok(all) = mounts() else { return };
        let fresh: Vec<(u64, Vec<u8>)> = {
            let mut w = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            let mut f: Vec<(u64, Vec<u8>)> = all
                .iter()
                .filter(|(id, _)| !w.seen.contains(id))
                .cloned()
                .collect();
            f.extend(w.present.iter().filter(|m| !all.contains(m)).cloned());
            w.present = all.clone();
            f
        };
        self.watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .names
            .clear();
        if let Err(e) = self.new_mounts(&all) {
            warn(&e);
        }
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (_, point) in fresh {
            if roots.iter().any(|r| inside(&point, r)) {
                self.walk_path(tw, &point);
            }
        }
    }

    /// Walks the directory at `path` (no cache), marking its secrets.
    fn walk_path(&self, tw: &Tripwires, path: &[u8]) {
        let Ok(fd) = open_dir_at(libc::AT_FDCWD, path) else {
            return;
        };
        let Some(st) = fstat(fd.as_raw_fd()) else { return };
        if fs_type(fd.as_raw_fd()).is_some_and(|t| PSEUDO_FS.contains(&t)) {
            return;
        }
        let mut found = Found {
            dirs: Vec::new(),
            secrets: Vec::new(),
            changed: true,
            unchanged: None,
        };
        if let Err(e) = Walk::new(tw, true).tree(Reach::Open(fd), path.to_vec(), st, None, &mut found) {
            warn(&e);
        }
    }

    /// Events were lost (the queue overflowed; an unlimited queue does not):
    /// every root is walked again.
    fn rescan(&self, tw: &Tripwires) {
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for r in roots {
            self.walk_path(tw, &r);
        }
    }
}

/// Marks every existing secret below the plan's discovery roots, after arming
/// `watcher` on every file system they live on (so nothing created meanwhile is
/// missed). With a cache, a directory whose stamp is unchanged is not opened.
/// Fails (naming the part) when some part of a root cannot be covered or
/// watched; then nothing is cached.
pub(crate) fn discover(
    tw: &Tripwires,
    watcher: &Watcher,
    cache_file: Option<&std::path::PathBuf>,
) -> Result<(), String> {
    let mut cache = SecretCache::load(cache_file, tw.plan(), tw.env());
    let trace = std::env::var_os("CLAWLESS_TRACE_DISCOVERY").is_some();
    // A root that is a symlink (`/lib` on merged-/usr systems) is walked where it
    // leads, once: roots inside another root's canonical path are dropped.
    let roots = tw.plan().discovery_roots(tw.env());
    let canon: Vec<String> = roots
        .iter()
        .map(|r| std::fs::canonicalize(r).map_or_else(|_| r.clone(), |c| c.to_string_lossy().into_owned()))
        .collect();
    let t0 = std::time::Instant::now();
    let bytes: Vec<Vec<u8>> = canon.iter().map(|c| c.as_bytes().to_vec()).collect();
    watcher.arm(&bytes)?;
    crate::startup_mark("the watcher armed");
    if trace {
        eprintln!("clawless: the watcher armed: {:?}", t0.elapsed());
    }
    let covered = |i: usize| {
        canon
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && inside(canon[i].as_bytes(), c.as_bytes()) && (canon[i] != *c || j < i))
    };
    let roots: Vec<String> = roots
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !covered(*i) || tw.secret(&canon[*i]))
        .map(|(_, root)| root)
        .collect();
    let texts: Vec<Option<Vec<u8>>> = roots
        .iter()
        .map(|root| cache.as_ref().map(|c| c.text(root)))
        .collect();
    let mut walk = Walk::new(tw, false);
    // The fast path first: every cached root's stamps, checked on every core
    // (the check is `statx` by path, which runs in parallel).
    let t1 = std::time::Instant::now();
    let fast: Vec<Option<Unchanged<'_>>> = roots
        .iter()
        .zip(&texts)
        .map(|(root, t)| {
            t.as_deref()
                .filter(|t| !t.is_empty())
                .and_then(|t| walk.unchanged_prepare(root, t))
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let held = check_stamps(&fast, walk.now, threads);
    let stamped = t1.elapsed();
    let results: Mutex<Vec<(String, Result<Found, String>)>> = Mutex::new(Vec::new());
    // The rest (changed, or not cached), the largest cache file first, walked by
    // two threads, each root with its cache file parsed.
    let mut done: Vec<Option<Found>> = Vec::with_capacity(roots.len());
    for ((root, u), held) in roots.iter().zip(&fast).zip(held) {
        done.push(match u.as_ref().filter(|_| held) {
            Some(u) => walk.unchanged_finish(root, u)?,
            None => None,
        });
    }
    drop(fast);
    let mut todo: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    for ((root, text), done) in roots.into_iter().zip(texts).zip(done) {
        match done {
            Some(found) => {
                if trace {
                    eprintln!(
                        "clawless: discovery of {root}: {stamped:?} (with every cached root, {threads} threads), every stamp unchanged ({} directories)",
                        found.unchanged.unwrap_or(0)
                    );
                }
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((root, Ok(found)));
            }
            None => todo.push((root, text)),
        }
    }
    todo.sort_by_key(|(_, text)| std::cmp::Reverse(text.as_ref().map_or(0, Vec::len)));
    let todo = Mutex::new(todo);
    let work = |walk: Walk<'_>| {
        let mut walk = walk;
        loop {
            let next = {
                let mut t = todo.lock().unwrap_or_else(|e| e.into_inner());
                (!t.is_empty()).then(|| t.remove(0))
            };
            let Some((root, text)) = next else { return };
            let t0 = std::time::Instant::now();
            let found = walk.root_cached(&root, text);
            if trace {
                let how = if found.is_ok() { "walked" } else { "failed" };
                eprintln!("clawless: discovery of {root}: {:?}, {how}", t0.elapsed());
            }
            let failed = found.is_err();
            results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((root, found));
            if failed {
                todo.lock().unwrap_or_else(|e| e.into_inner()).clear();
                return;
            }
        }
    };
    let other = walk.sharing();
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("claw-discovery".into())
            .spawn_scoped(s, || work(other));
        work(walk);
        if let Ok(h) = helper {
            let _ = h.join();
        }
    });
    crate::startup_mark("the roots walked");
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    for (root, found) in results {
        let found = found?;
        if let Some(c) = cache.as_mut() {
            if found.changed {
                c.put(&root, found.dirs, found.secrets);
            }
        }
    }
    if let Some(c) = cache {
        c.save();
    }
    Ok(())
}

fn fnv(s: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The secrets and directories found below each discovery root, for one set of
/// patterns and path values, one small file per root (`S path` and
/// `D dev ino ctime nsec path` lines, paths as bytes) in `/var/cache/clawless` for
/// root (else `$XDG_CACHE_HOME/clawless` or `~/.cache/clawless`), private to the
/// user. A root is rewritten only when its walk found something else than the file
/// says, and only after a complete walk.
pub(crate) struct SecretCache {
    /// The files' common prefix (directory and the patterns' hash).
    prefix: std::path::PathBuf,
    fresh: Vec<(String, Vec<DirStamp>, Vec<Vec<u8>>)>,
    /// The tripwire patterns, expanded.
    patterns: Vec<String>,
}

const CACHE_VERSION: &str = "clawless-secrets 2";

impl SecretCache {
    /// The prefix of the cache files.
    pub fn file_for() -> Option<std::path::PathBuf> {
        // Tripwires need root: its cache is the machine's, whatever HOME says.
        // SAFETY: plain syscall.
        let base = if unsafe { libc::geteuid() } == 0 {
            std::path::PathBuf::from("/var/cache")
        } else {
            std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?
        };
        Some(base.join("clawless").join("secrets"))
    }

    fn load(
        prefix: Option<&std::path::PathBuf>,
        plan: &claw_ir::isolate::IsolatedPlan,
        env: &claw_ir::Env,
    ) -> Option<SecretCache> {
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
        let mut key = root.as_bytes().to_vec();
        for p in self
            .patterns
            .iter()
            .filter(|p| related(&claw_ir::landlock::beneath(p), root))
        {
            key.push(0);
            key.extend_from_slice(p.as_bytes());
        }
        let mut name = self.prefix.as_os_str().to_owned();
        name.push(format!("-{:016x}.txt", fnv(&key)));
        std::path::PathBuf::from(name)
    }

    /// The text of `root`'s file (as [`parse_cache`] reads it) when it was last
    /// walked; empty if there is none.
    fn text(&self, root: &str) -> Vec<u8> {
        std::fs::read(self.file(root)).unwrap_or_default()
    }

    fn put(&mut self, root: &str, dirs: Vec<DirStamp>, secrets: Vec<Vec<u8>>) {
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
            let all = std::iter::once(root.as_bytes())
                .chain(secrets.iter().map(Vec::as_slice))
                .chain(dirs.iter().map(|d| d.path.as_slice()));
            if all.clone().any(|p| p.contains(&b'\n')) {
                continue; // a name with a newline: not cached
            }
            let mut text = format!("{CACHE_VERSION} {root}\n").into_bytes();
            for p in secrets {
                text.extend_from_slice(b"S ");
                text.extend_from_slice(p);
                text.push(b'\n');
            }
            for d in dirs {
                text.extend_from_slice(
                    format!("D {} {} {} {} ", d.dev, d.ino, d.ctime, d.ctime_nsec).as_bytes(),
                );
                text.extend_from_slice(&d.path);
                text.push(b'\n');
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
                .and_then(|mut f| f.write_all(&text));
            if written.is_ok() {
                let _ = std::fs::rename(&tmp, &file);
            } else {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_names() {
        assert_eq!(parent_and_name(b"/a/b"), Some((&b"/a"[..], &b"b"[..])));
        assert_eq!(parent_and_name(b"/b"), Some((&b"/"[..], &b"b"[..])));
        assert_eq!(parent_and_name(b"/"), None);
        assert_eq!(join(b"/", b"x"), b"/x");
        assert_eq!(join(b"/a", b"\xff"), b"/a/\xff");
    }

    /// mountinfo's escapes are undone; `inside` is by whole components.
    #[test]
    fn mount_points_and_roots() {
        assert_eq!(unescape(br"/mnt/a\040b"), b"/mnt/a b");
        assert_eq!(unescape(br"/x\134y"), b"/x\\y");
        assert_eq!(unescape(br"/short\04"), br"/short\04");
        assert!(inside(b"/opt/app", b"/opt"));
        assert!(inside(b"/opt", b"/opt"));
        assert!(inside(b"/anything", b"/"));
        assert!(!inside(b"/optional", b"/opt"));
        assert!(!inside(b"/", b"/opt"));
    }

    /// A `D` line's path is everything after its four numbers, spaces included
    /// (it was once cut at its first space, which hid such a directory below an
    /// unchanged parent); a file of another root or version is not read.
    #[test]
    fn cache_lines_keep_spaces() {
        let d = parse_stamp_line(b"D 1 2 3 4 /a b/c  d").unwrap();
        assert_eq!((d.dev, d.ino, d.ctime, d.ctime_nsec), (1, 2, 3, 4));
        assert_eq!(d.path, b"/a b/c  d");
        assert!(parse_stamp_line(b"D 1 2 x 4 /a").is_none());
        assert!(parse_stamp_line(b"D 1 2 3 4").is_none());
        assert!(parse_stamp_line(b"S /a").is_none());
        let text = format!("{CACHE_VERSION} /r\nS /r/x y/.env\nD 1 2 3 4 /r\nD 1 5 3 4 /r/x y\n");
        let (dirs, secrets) = parse_cache("/r", text.as_bytes()).unwrap();
        assert_eq!(secrets, vec![b"/r/x y/.env".to_vec()]);
        assert_eq!(dirs.len(), 2);
        assert_eq!(dirs[1].path, b"/r/x y");
        assert_eq!(dirs[1].ino, 5);
        assert!(parse_cache("/other", text.as_bytes()).is_none());
        assert!(parse_cache("/r", b"clawless-secrets 1 /r\n").is_none());
    }

    /// The fast path's stamp (`statx`) matches only the very directory it was
    /// taken of, unchanged, with a ctime old enough to trust; never through a
    /// symlink, never a directory changed since, a missing one or another inode.
    #[test]
    fn stamps_match_only_unchanged_directories() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let bytes = sub.as_os_str().as_bytes().to_vec();
        let st = stat_name(libc::AT_FDCWD, &bytes).unwrap();
        let line = |ino: u64| StampLine {
            dev: st.st_dev,
            ino,
            ctime: st.st_ctime,
            ctime_nsec: st.st_ctime_nsec,
            path: &bytes,
        };
        let mut nul = bytes.clone();
        nul.push(0);
        let old = st.st_ctime + 10;
        assert!(stamp_matches(&nul, &line(st.st_ino), old));
        // The same stamp as `stamp_of` takes.
        let s = stamp_of(&bytes, &st, old);
        assert_eq!(
            (s.dev, s.ino, s.ctime, s.ctime_nsec),
            (st.st_dev, st.st_ino, st.st_ctime, st.st_ctime_nsec)
        );
        // Too recent to trust, another inode.
        assert!(!stamp_matches(&nul, &line(st.st_ino), st.st_ctime + 1));
        assert!(!stamp_matches(&nul, &line(st.st_ino + 1), old));
        // A name added inside changes the ctime (past the clock's tick).
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(sub.join(".env"), "").unwrap();
        assert!(!stamp_matches(&nul, &line(st.st_ino), old + 10));
        // A symlink to it in its place is not followed; gone is no match.
        let st = stat_name(libc::AT_FDCWD, &bytes).unwrap();
        let now = st.st_ctime + 10;
        let cur = StampLine {
            dev: st.st_dev,
            ino: st.st_ino,
            ctime: st.st_ctime,
            ctime_nsec: st.st_ctime_nsec,
            path: &bytes,
        };
        assert!(stamp_matches(&nul, &cur, now));
        let moved = d.path().join("moved");
        std::fs::rename(&sub, &moved).unwrap();
        assert!(!stamp_matches(&nul, &cur, now));
        std::os::unix::fs::symlink(&moved, &sub).unwrap();
        assert!(!stamp_matches(&nul, &cur, now));
    }

    /// The fast path's stamps checked in pieces on several threads: each root's
    /// answer is its own (a change in one piece of a root fails that root only),
    /// a root with no fast path is never one that held, and a stamp not to trust
    /// or a pseudo file system's place fails its root.
    #[test]
    fn stamps_checked_in_pieces_answer_per_root() {
        let d = tempfile::tempdir().unwrap();
        let line = |p: &std::path::Path| -> Vec<u8> {
            let b = p.as_os_str().as_bytes();
            let st = stat_name(libc::AT_FDCWD, b).unwrap();
            let mut l = format!(
                "D {} {} {} {} ",
                st.st_dev, st.st_ino, st.st_ctime, st.st_ctime_nsec
            )
            .into_bytes();
            l.extend_from_slice(b);
            l
        };
        let mut big = Vec::new();
        for i in 0..(2 * STAMP_CHUNK + 10) {
            let p = d.path().join(format!("big/d{i}"));
            std::fs::create_dir_all(&p).unwrap();
            big.push(p);
        }
        let small = d.path().join("small dir");
        std::fs::create_dir(&small).unwrap();
        let big_lines: Vec<Vec<u8>> = big.iter().map(|p| line(p)).collect();
        let small_lines = vec![line(&small)];
        let now = now_secs() + 10;
        fn of(ls: &[Vec<u8>]) -> Option<Unchanged<'_>> {
            Some(Unchanged {
                dirs: ls.iter().map(Vec::as_slice).collect(),
                secrets: Vec::new(),
            })
        }
        let todo = [of(&big_lines), None, of(&small_lines)];
        for threads in [1, 2, 3, 8] {
            assert_eq!(check_stamps(&todo, now, threads), vec![true, false, true]);
        }
        // A name added in the last piece of the big root fails it alone.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(big.last().unwrap().join(".env"), "").unwrap();
        assert_eq!(check_stamps(&todo, now + 10, 2), vec![false, false, true]);
        // Not trusted, a pseudo file system's place, a line that does not parse.
        for bad in ["D 1 2 -1 0 /", "D 1 2 -2 0 /", "D x 2 3 4 /"] {
            assert!(!stamps_hold(&[bad.as_bytes()], now));
        }
        assert!(stamps_hold(&[], now));
    }

    /// A directory listing returns names as bytes, a non-UTF-8 one too.
    #[test]
    fn lists_byte_names() {
        let d = tempfile::tempdir().unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"\xffdir");
        std::fs::create_dir(d.path().join(odd)).unwrap();
        std::fs::write(d.path().join("f"), "").unwrap();
        let fd = open_dir_at(libc::AT_FDCWD, d.path().as_os_str().as_bytes()).unwrap();
        let mut names: Vec<Vec<u8>> = entries(fd.as_raw_fd())
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        names.sort();
        assert_eq!(names, vec![b"f".to_vec(), b"\xffdir".to_vec()]);
        // A FIFO in a directory's place fails at once instead of blocking.
        let fifo = CString::new(d.path().join("p").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(open_dir_at(fd.as_raw_fd(), b"p").unwrap_err(), libc::ENOTDIR);
    }
}
