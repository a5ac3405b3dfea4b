//! Finding the secrets a tripwire must cover (isolated files): the start-up walk of
//! the plan's discovery roots, its cache between runs, and the watcher that marks
//! secrets created or moved in by processes outside the sandbox during a session.
//!
//! Everything here works on directory descriptors and byte names: a directory is
//! opened relative to its parent's descriptor with
//! `O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK` (a FIFO or device swapped in for a
//! directory fails at once instead of blocking; a symlink is never followed), a
//! secret is marked by `(parent descriptor, name)`, and names are bytes end to end
//! (a name that is not UTF-8 is walked like any other; patterns are matched on its
//! lossy spelling, where an invalid byte can only match a wildcard). No path is
//! re-resolved from a string once the walk is below a root.
//!
//! The walk crosses mounts (Landlock's grants cover every mount below them): a
//! mount of a kernel pseudo file system (procfs, sysfs, cgroup, ...: no user's file
//! lives there, and procfs takes no permission marks) is not entered; any other
//! mount is walked like its parent, and a directory or mark that cannot be covered
//! fails the whole discovery, naming it. So does reaching the entry bound: the
//! caller then keeps opens mediated (fail closed), and a walk cut short is never
//! cached.
//!
//! The cache (`SecretCache`) keeps, per root, each directory's `(device, inode,
//! ctime)` and the secrets found. A directory whose stamp is unchanged has the same
//! names (adding, removing or renaming an entry sets the directory's ctime to now),
//! so only its subdirectories are opened. Stamps use the *ctime*, not the mtime:
//! `utimensat` sets the mtime to any value but always sets the ctime to the current
//! time, which nothing short of changing the system clock (root, outside the
//! sandbox) can choose. A ctime less than two seconds old when it is stamped is
//! never trusted (a change in the same clock tick would keep it), so a directory
//! changed during the walk is listed again next time.
//!
//! This module knows directories, inotify and the cache format; what a secret is
//! and how it is marked belong to [`crate::tripwire`].

use crate::tripwire::Tripwires;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

/// The most entries one discovery (all roots) or one watcher walk looks at.
pub(crate) const MAX_WALK: usize = 4_000_000;

/// The most directories the watcher watches.
const MAX_WATCHES: usize = 200_000;

/// The deepest directory chain the watcher follows up to its root.
const MAX_DEPTH: usize = 4096;

/// Roots the watcher does not watch: the installed system changes only through
/// package managers (a secret created there during a session is not covered).
const UNWATCHED: &[&str] = &[
    "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt", "/boot",
];

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

/// A root's directories and secrets as last walked, by directory.
#[derive(Default)]
struct Known {
    stamps: HashMap<Vec<u8>, DirStamp>,
    subdirs: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    secrets: HashMap<Vec<u8>, Vec<Vec<u8>>>,
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
    fn new(dirs: Vec<DirStamp>, secrets: Vec<Vec<u8>>) -> Known {
        let mut k = Known::default();
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
}

/// A directory still to walk: its descriptor, path, and its parent's watch with
/// its name there.
type Pending = (OwnedFd, Vec<u8>, Option<(i32, Vec<u8>)>);

/// One walk (discovery of every root, or one watcher event): the entry bound is
/// shared by all its roots.
pub(crate) struct Walk<'a> {
    tw: &'a Tripwires,
    seen: usize,
    /// Directories below watched roots get an inotify watch as they are visited.
    watch: Option<&'a Watcher>,
    now: i64,
    /// [`MAX_WALK`], or lower (`CLAWLESS_DISCOVERY_BOUND`, for tests: a lower
    /// bound only makes more runs fall back to mediated opens).
    bound: usize,
}

impl<'a> Walk<'a> {
    pub fn new(tw: &'a Tripwires, watch: Option<&'a Watcher>) -> Walk<'a> {
        Walk {
            tw,
            seen: 0,
            watch,
            now: now_secs(),
            bound: std::env::var("CLAWLESS_DISCOVERY_BOUND")
                .ok()
                .and_then(|b| b.parse().ok())
                .map_or(MAX_WALK, |b: usize| b.min(MAX_WALK)),
        }
    }

    /// Walks the root `root` (an absolute path, canonicalised here: Landlock's
    /// grant on it covers what it names), reusing `known` where a directory is
    /// unchanged. Marks every secret. An error means a part of the root is not
    /// covered: the caller must not let the kernel decide opens.
    fn root(&mut self, root: &str, known: Option<Known>, watched: bool) -> Result<Found, String> {
        let mut found = Found {
            dirs: Vec::new(),
            secrets: Vec::new(),
            changed: known.is_none(),
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
        if fs_type(fd.as_raw_fd()).is_some_and(|t| PSEUDO_FS.contains(&t)) {
            return Ok(found); // a kernel pseudo file system holds no user's file
        }
        self.tree(fd, path, None, known.as_ref(), watched, &mut found)?;
        Ok(found)
    }

    /// Walks the directory `fd` (at `path`; `parent`: its parent's watch).
    fn tree(
        &mut self,
        fd: OwnedFd,
        path: Vec<u8>,
        parent: Option<(i32, Vec<u8>)>,
        known: Option<&Known>,
        watched: bool,
        found: &mut Found,
    ) -> Result<(), String> {
        let mut visited: HashSet<(u64, u64)> = HashSet::new();
        // (descriptor, path, watch of the parent and this directory's name in it)
        let mut stack: Vec<Pending> = vec![(fd, path, parent)];
        while let Some((fd, path, parent)) = stack.pop() {
            let Some(st) = fstat(fd.as_raw_fd()) else {
                return Err(format!("discovery cannot stat {}", lossy(&path)));
            };
            if !visited.insert((st.st_dev, st.st_ino)) {
                continue; // a bind mount of an ancestor
            }
            let wd = match (watched, self.watch) {
                (true, Some(w)) => w.add(fd.as_raw_fd(), parent, &path, &st),
                _ => None,
            };
            let stamp = stamp_of(&path, &st, self.now);
            let same = known.and_then(|k| k.stamps.get(&path)).is_some_and(|k| {
                k.ctime >= 0
                    && k.dev == stamp.dev
                    && k.ino == stamp.ino
                    && k.ctime == stamp.ctime
                    && k.ctime_nsec == stamp.ctime_nsec
            });
            let k = known.filter(|_| same);
            let listed: Vec<(Vec<u8>, u8)> = match k {
                Some(k) => {
                    // Unchanged: its names are the cache's.
                    let mut l: Vec<(Vec<u8>, u8)> = Vec::new();
                    for n in k.secrets.get(&path).into_iter().flatten() {
                        l.push((n.clone(), libc::DT_UNKNOWN));
                    }
                    for n in k.subdirs.get(&path).into_iter().flatten() {
                        l.push((n.clone(), libc::DT_DIR));
                    }
                    l
                }
                None => {
                    found.changed = true;
                    entries(fd.as_raw_fd()).map_err(|e| {
                        format!(
                            "discovery cannot list {}: {}",
                            lossy(&path),
                            std::io::Error::from_raw_os_error(e)
                        )
                    })?
                }
            };
            found.dirs.push(stamp);
            for (name, kind) in listed {
                self.seen += 1;
                if self.seen > self.bound {
                    return Err(format!(
                        "discovery reached its bound of {} entries (in {})",
                        self.bound,
                        lossy(&path)
                    ));
                }
                let child = join(&path, &name);
                let shown = lossy(&child);
                if self.tw.secret(&shown) {
                    let c = CString::new(name.clone()).map_err(|_| format!("{shown}: a NUL in a name"))?;
                    match self.tw.mark_at(fd.as_raw_fd(), &c, &shown) {
                        Ok(true) => found.secrets.push(child.clone()),
                        Ok(false) => {
                            if k.is_some() {
                                found.changed = true;
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                let is_dir = match kind {
                    libc::DT_DIR => true,
                    libc::DT_UNKNOWN => {
                        let c =
                            CString::new(name.clone()).map_err(|_| format!("{shown}: a NUL in a name"))?;
                        crate::tripwire::stat_at(fd.as_raw_fd(), &c)
                            .is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
                    }
                    _ => false,
                };
                if !is_dir {
                    continue;
                }
                if let (Some(k), false) = (k, watched) {
                    // An unchanged leaf of an unwatched tree needs no descriptor: its
                    // stamp, taken without following a symlink, is compared.
                    let leaf = !k.subdirs.contains_key(&child) && !k.secrets.contains_key(&child);
                    let c = CString::new(name.clone()).map_err(|_| format!("{shown}: a NUL in a name"))?;
                    if let (true, Some(cst)) = (leaf, crate::tripwire::stat_at(fd.as_raw_fd(), &c)) {
                        let now = stamp_of(&child, &cst, self.now);
                        if cst.st_dev == st.st_dev
                            && k.stamps.get(&child).is_some_and(|o| o.ctime >= 0 && *o == now)
                        {
                            found.dirs.push(now);
                            continue;
                        }
                    }
                }
                let sub = match open_dir_at(fd.as_raw_fd(), &name) {
                    Ok(s) => s,
                    // Gone or replaced since it was listed.
                    Err(libc::ENOENT | libc::ENOTDIR | libc::ELOOP) => {
                        found.changed = true;
                        continue;
                    }
                    Err(e) => {
                        return Err(format!(
                            "discovery cannot open {shown}: {}",
                            std::io::Error::from_raw_os_error(e)
                        ))
                    }
                };
                let Some(sst) = fstat(sub.as_raw_fd()) else {
                    return Err(format!("discovery cannot stat {shown}"));
                };
                if sst.st_dev != st.st_dev && fs_type(sub.as_raw_fd()).is_some_and(|t| PSEUDO_FS.contains(&t))
                {
                    continue; // a kernel pseudo file system
                }
                stack.push((sub, child, wd.map(|w| (w, name.clone()))));
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

/// Where each watched root starts the chain of names up from a watch.
enum Up {
    Root(Vec<u8>),
    Parent(i32, Vec<u8>),
}

struct Node {
    up: Up,
    dev: u64,
    ino: u64,
}

/// The inotify watches on the writable trees, as a tree of names: a watch knows
/// its parent's watch and its name there, so a directory moved with its subtree
/// needs only its own entry changed (which watching it again at its new name does:
/// inotify gives one inode one watch).
pub(crate) struct Watcher {
    ino: OwnedFd,
    nodes: Mutex<HashMap<i32, Node>>,
    full: std::sync::atomic::AtomicBool,
}

const WATCH_MASK: u32 = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_ONLYDIR;

impl Watcher {
    pub fn new() -> Result<Watcher, String> {
        // SAFETY: plain syscall.
        let ino = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if ino < 0 {
            return Err(format!("inotify: {}", std::io::Error::last_os_error()));
        }
        Ok(Watcher {
            // SAFETY: fresh descriptor.
            ino: unsafe { OwnedFd::from_raw_fd(ino) },
            nodes: Mutex::new(HashMap::new()),
            full: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Watches the directory `fd` (by its descriptor: `/proc/self/fd/N` names the
    /// open directory itself, whatever its path is now).
    fn add(&self, fd: i32, parent: Option<(i32, Vec<u8>)>, path: &[u8], st: &libc::stat) -> Option<i32> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        if nodes.len() >= MAX_WATCHES {
            if !self.full.swap(true, std::sync::atomic::Ordering::Relaxed) {
                eprintln!("clawless: the watcher watches {MAX_WATCHES} directories, its bound: secrets created outside the sandbox in further directories are not covered");
            }
            return None;
        }
        let Ok(c) = CString::new(format!("/proc/self/fd/{fd}")) else {
            return None;
        };
        // SAFETY: valid C string.
        let wd = unsafe { libc::inotify_add_watch(self.ino.as_raw_fd(), c.as_ptr(), WATCH_MASK) };
        if wd < 0 {
            return None;
        }
        let up = match parent {
            Some((p, name)) => Up::Parent(p, name),
            None => Up::Root(path.to_vec()),
        };
        nodes.insert(
            wd,
            Node {
                up,
                dev: st.st_dev,
                ino: st.st_ino,
            },
        );
        Some(wd)
    }

    /// The directory of watch `wd` now, opened name by name from its root (no
    /// symlink followed, never blocking) and checked to be the watched inode; and
    /// its path.
    fn open(&self, wd: i32) -> Option<(OwnedFd, Vec<u8>)> {
        let mut chain: Vec<Vec<u8>> = Vec::new();
        let (root, ids) = {
            let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
            let mut at = wd;
            let ids = nodes.get(&wd).map(|n| (n.dev, n.ino))?;
            let mut root = None;
            for _ in 0..MAX_DEPTH {
                match &nodes.get(&at)?.up {
                    Up::Root(p) => {
                        root = Some(p.clone());
                        break;
                    }
                    Up::Parent(p, name) => {
                        chain.push(name.clone());
                        at = *p;
                    }
                }
            }
            (root?, ids)
        };
        let c = CString::new(root.clone()).ok()?;
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(c.as_ptr(), DIR_FLAGS) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh descriptor.
        let mut fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut path = root;
        for name in chain.iter().rev() {
            fd = open_dir_at(fd.as_raw_fd(), name).ok()?;
            path = join(&path, name);
        }
        let st = fstat(fd.as_raw_fd())?;
        ((st.st_dev, st.st_ino) == ids).then_some((fd, path))
    }

    /// Marks secrets created or moved in by anyone, walking new directories (and
    /// watching them). Runs on its own thread until the descriptor fails.
    pub fn run(&self, tw: &Tripwires) {
        let mut buf = vec![0u8; 64 * 1024];
        let head = std::mem::size_of::<libc::inotify_event>();
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.ino.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return;
            }
            let n = n as usize;
            let mut off = 0usize;
            while off + head <= n {
                // SAFETY: at least a header's bytes remain; read unaligned.
                let ev: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let end = match off.checked_add(head).and_then(|x| x.checked_add(ev.len as usize)) {
                    Some(e) if e <= n => e,
                    _ => break,
                };
                let raw = &buf[off + head..end];
                let name = raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())].to_vec();
                off = end;
                if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                    self.rescan(tw);
                    continue;
                }
                if ev.mask & libc::IN_IGNORED != 0 {
                    self.nodes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&ev.wd);
                    continue;
                }
                if name.is_empty() {
                    continue;
                }
                self.event(tw, ev.wd, &name, ev.mask & libc::IN_ISDIR != 0);
            }
        }
    }

    fn event(&self, tw: &Tripwires, wd: i32, name: &[u8], is_dir: bool) {
        // The watched directory moved on since (a later event walks it where it is).
        let Some((dir, path)) = self.open(wd) else { return };
        let child = join(&path, name);
        let shown = lossy(&child);
        if tw.secret(&shown) {
            if let Ok(c) = CString::new(name) {
                if let Err(e) = tw.mark_at(dir.as_raw_fd(), &c, &shown) {
                    warn(&e);
                }
            }
        }
        if !is_dir {
            return;
        }
        // A new directory (or one moved here): watch it and look at what is in it
        // (it may have been filled before the watch, or come from elsewhere).
        let Ok(sub) = open_dir_at(dir.as_raw_fd(), name) else {
            return;
        };
        let mut walk = Walk::new(tw, Some(self));
        let mut found = Found {
            dirs: Vec::new(),
            secrets: Vec::new(),
            changed: true,
        };
        if let Err(e) = walk.tree(sub, child, Some((wd, name.to_vec())), None, true, &mut found) {
            warn(&e);
        }
    }

    /// Events were lost (queue overflow): every watched directory is looked at again.
    fn rescan(&self, tw: &Tripwires) {
        let wds: Vec<i32> = {
            let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
            nodes
                .iter()
                .filter(|(_, n)| matches!(n.up, Up::Root(_)))
                .map(|(w, _)| *w)
                .collect()
        };
        for wd in wds {
            let Some((dir, path)) = self.open(wd) else {
                continue;
            };
            let mut walk = Walk::new(tw, Some(self));
            let mut found = Found {
                dirs: Vec::new(),
                secrets: Vec::new(),
                changed: true,
            };
            let parent = {
                let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
                match nodes.get(&wd).map(|n| &n.up) {
                    Some(Up::Parent(p, name)) => Some((*p, name.clone())),
                    _ => None,
                }
            };
            if let Err(e) = walk.tree(dir, path, parent, None, true, &mut found) {
                warn(&e);
            }
        }
    }
}

/// Marks every existing secret below the plan's discovery roots, watching the
/// directories below the writable ones with `watcher`. With a cache, a root is
/// listed again only where it changed. Fails (naming the part) when some part of
/// a root cannot be covered; then nothing is cached.
pub(crate) fn discover(
    tw: &Tripwires,
    watcher: &Watcher,
    cache_file: Option<&std::path::PathBuf>,
) -> Result<(), String> {
    let mut cache = SecretCache::load(cache_file, tw.plan(), tw.env());
    let trace = std::env::var_os("CLAWLESS_TRACE_DISCOVERY").is_some();
    let mut walk = Walk::new(tw, Some(watcher));
    // A root that is a symlink (`/lib` on merged-/usr systems) is walked where it
    // leads, once: roots inside another root's canonical path are dropped.
    let roots = tw.plan().discovery_roots(tw.env());
    let canon: Vec<String> = roots
        .iter()
        .map(|r| std::fs::canonicalize(r).map_or_else(|_| r.clone(), |c| c.to_string_lossy().into_owned()))
        .collect();
    let inside = |a: &str, b: &str| b == "/" || a == b || a.starts_with(&format!("{b}/"));
    let covered = |i: usize| {
        canon
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && inside(&canon[i], c) && (canon[i] != *c || j < i))
    };
    for (i, root) in roots.into_iter().enumerate() {
        if covered(i) && !tw.secret(&canon[i]) {
            continue;
        }
        let t0 = std::time::Instant::now();
        let watched = !UNWATCHED
            .iter()
            .any(|u| root == *u || root.starts_with(&format!("{u}/")));
        let known = cache.as_ref().map(|c| {
            let (d, s) = c.read(&root).unwrap_or_default();
            Known::new(d, s)
        });
        let found = walk.root(&root, known, watched);
        if trace {
            eprintln!("clawless: discovery of {root}: {:?}", t0.elapsed());
        }
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

    /// The directories and secrets of `root` when it was last walked.
    fn read(&self, root: &str) -> Option<(Vec<DirStamp>, Vec<Vec<u8>>)> {
        let text = std::fs::read(self.file(root)).ok()?;
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
            let mut f = l.strip_prefix(b"D ")?.splitn(6, |b| *b == b' ');
            let mut num = || -> Option<i64> { std::str::from_utf8(f.next()?).ok()?.parse().ok() };
            let dev = num()? as u64;
            let ino = num()? as u64;
            let ctime = num()?;
            let ctime_nsec = num()?;
            let path = f.next()?.to_vec();
            dirs.push(DirStamp {
                path,
                dev,
                ino,
                ctime,
                ctime_nsec,
            });
        }
        Some((dirs, secrets))
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
