//! Path resolution on behalf of a sandboxed thread. The monitor resolves the path
//! the agent named *itself*, to an `O_PATH` descriptor, relative to the agent's
//! root, working directory or directory descriptor; it decides on that descriptor's
//! canonical path and then acts through the same descriptor. What is decided is
//! what is used: a symlink swapped in after the check changes nothing.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Who is asking: the thread (for `/proc/<tid>/cwd` and `/proc/thread-self`) and its
/// process (for `/proc/self`), looked up only when a path needs it (reading
/// `/proc/<tid>/status` costs more than the rest of an open).
#[derive(Debug, Clone)]
pub struct Asker {
    /// The calling thread.
    pub tid: u32,
    tgid: std::cell::OnceCell<u32>,
    /// The process and thread ids as the agent itself sees them (in its pid
    /// namespace): what `/proc/self` and `/proc/thread-self` mean in its `/proc`.
    ns_ids: std::cell::OnceCell<(u32, u32)>,
    /// The agent's `/` (opened once), when the policy can never let it change its
    /// root (then it need not be opened per call).
    root: Option<i32>,
    view: View,
}

/// Which processes the agent's `/proc` shows, and which of them are the sandbox's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The host's `/proc` (mediated mode): a process is the sandbox's when it
    /// descends from `monitor` (the runtime, a subreaper of the whole tree) and is
    /// not the monitor itself.
    Host {
        /// The runtime's pid (the subreaper of the sandbox's tree).
        monitor: u32,
    },
    /// A private `/proc` of the sandbox's own pid namespace (isolated mode): every
    /// process there is the sandbox's except pid 1, the runtime's init.
    Namespace,
}

impl Asker {
    /// The asker for thread `tid` (its process looked up when needed).
    pub fn new(tid: u32) -> Asker {
        Asker {
            tid,
            tgid: std::cell::OnceCell::new(),
            ns_ids: std::cell::OnceCell::new(),
            root: None,
            view: View::Host {
                monitor: std::process::id(),
            },
        }
    }

    /// Uses `root` (a descriptor the caller keeps open) for absolute paths.
    pub fn with_root(mut self, root: Option<i32>) -> Asker {
        self.root = root;
        self
    }

    /// How the agent's `/proc` relates to the monitor's.
    pub fn with_view(mut self, view: View) -> Asker {
        self.view = view;
        self
    }

    /// With the process already known (tests, callers that looked it up).
    pub fn with_tgid(tid: u32, tgid: u32) -> Asker {
        let a = Asker::new(tid);
        let _ = a.tgid.set(tgid);
        a
    }

    /// The thread's process; the thread id itself if it is gone (the caller's
    /// NOTIF_ID_VALID check then discards the notification).
    pub fn tgid(&self) -> u32 {
        *self
            .tgid
            .get_or_init(|| crate::agent::tgid_of(self.tid).unwrap_or(self.tid))
    }

    /// (process, thread) in the agent's own pid namespace: the innermost values of
    /// `NStgid` and `NSpid` in `/proc/<tid>/status`; the global ids on the host view.
    /// Unknown (gone): 0, which names nothing in `/proc`.
    pub fn ns_ids(&self) -> (u32, u32) {
        *self.ns_ids.get_or_init(|| match self.view {
            View::Host { .. } => (self.tgid(), self.tid),
            View::Namespace => {
                let text = std::fs::read_to_string(format!("/proc/{}/status", self.tid)).unwrap_or_default();
                let last = |field: &str| -> u32 {
                    text.lines()
                        .find_map(|l| l.strip_prefix(field))
                        .and_then(|v| v.split_whitespace().last())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                (last("NStgid:"), last("NSpid:"))
            }
        })
    }

    /// Is process `pid` (as the agent's `/proc` numbers it) one of the sandbox's?
    pub fn is_member(&self, pid: u32) -> bool {
        if pid == 0 {
            return false;
        }
        match self.view {
            View::Namespace => pid != 1,
            View::Host { monitor } => pid == self.ns_ids().0 || descends_from(pid, monitor),
        }
    }
}

/// Does `pid` descend from `ancestor` (by parent links in `/proc`, bounded)?
fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut p = pid;
    for _ in 0..4096 {
        if p == ancestor {
            return p != pid;
        }
        if p <= 1 {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            return false;
        };
        let Some(ppid) = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
        else {
            return false;
        };
        p = ppid;
    }
    false
}

/// A resolved path: a handle on exactly the object the agent named, and the path
/// policies are matched against (canonical, with `/proc/<agent>` shown as
/// `/proc/self`).
pub struct Resolved {
    /// A descriptor of the object (`O_PATH`).
    pub fd: OwnedFd,
    /// Its canonical path, as policies see it.
    pub path: String,
}

/// A resolved parent directory and the final component to create, remove or rename
/// inside it (the component is not resolved: those calls do not follow it).
pub struct ResolvedParent {
    /// The parent directory.
    pub dir: OwnedFd,
    /// The final component, unresolved.
    pub name: CString,
    /// `dir`'s canonical path joined with `name`.
    pub path: String,
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

fn open_path(path: &str, flags: i32) -> io::Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| errno(libc::EINVAL))?;
    // SAFETY: valid C string; the descriptor is owned by the returned OwnedFd.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: fd is a fresh descriptor.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// `openat2(2)` (the kernel resolves, honouring `resolve` flags).
pub fn openat2(dir: i32, path: &[u8], flags: u64, mode: u64, resolve: u64) -> io::Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| errno(libc::EINVAL))?;
    // SAFETY: all-zero is a valid open_how (a non-exhaustive struct).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags | libc::O_CLOEXEC as u64;
    how.mode = mode;
    how.resolve = resolve;
    // SAFETY: `c` is a NUL-terminated path and `how` an initialised open_how
    // whose size is passed; both outlive the call; the result is owned below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: fd is a fresh descriptor.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }
}

/// The path the kernel has for one of the monitor's descriptors.
pub fn fd_path(fd: &OwnedFd) -> io::Result<String> {
    raw_fd_path(fd.as_raw_fd())
}

fn raw_fd_path(fd: i32) -> io::Result<String> {
    let p = std::fs::read_link(format!("/proc/self/fd/{fd}"))?;
    Ok(p.to_string_lossy().into_owned())
}

/// `/proc/self/fd/N` of one of the monitor's descriptors: a name the kernel
/// resolves to exactly that object (used to act on an `O_PATH` handle).
pub fn proc_fd(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// An absolute path the monitor may decide lexically and open in one step: the
/// agent's root (when it is the monitor's), the normalised path, and the path
/// relative to the root. Only for paths with no `..` (which a symlink or a moved
/// directory would give another meaning) outside `/proc` and `/dev` (whose names
/// depend on the caller). The caller must open with `RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS`: when no component is a symlink, the object opened is
/// the one the normalised path names.
pub fn plain_absolute<'a>(asker: &Asker, path: &'a [u8]) -> Option<(i32, String, &'a [u8])> {
    let root = asker.root?;
    let text = std::str::from_utf8(path).ok()?;
    if !text.starts_with('/') || text.split('/').any(|c| c == "..") {
        return None;
    }
    let normal = lexical(text);
    let magic = |prefix: &str| normal == prefix || normal.starts_with(&format!("{prefix}/"));
    if magic("/proc") || magic("/dev") {
        return None;
    }
    let relative = &path[path.iter().position(|&b| b != b'/')?..];
    Some((root, normal, relative))
}

/// Where resolution of `path` starts for the agent.
fn base(asker: &Asker, dirfd: i32, absolute: bool) -> io::Result<OwnedFd> {
    if absolute {
        return open_path(&format!("/proc/{}/root", asker.tid), libc::O_DIRECTORY);
    }
    if dirfd == libc::AT_FDCWD {
        return open_path(&format!("/proc/{}/cwd", asker.tid), 0);
    }
    if dirfd < 0 {
        return Err(errno(libc::EBADF));
    }
    open_path(&format!("/proc/{}/fd/{dirfd}", asker.tid), 0).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENOENT) {
            errno(libc::EBADF)
        } else {
            e
        }
    })
}

/// Normalises the leading components of an absolute path where that cannot change
/// its meaning: empty and `.` components anywhere, and `..` while everything
/// before it is a plain directory (`/`, `/proc`, `/dev`) or a process directory
/// (`/proc/N`, `/proc/self`, whose parent is `/proc`). The rest (after a component
/// that may be a symlink) is kept as written. So `//proc/./self/../1/fd` and
/// `/proc/1/fd` are the same path here, as they are to the kernel.
fn lead_normal(path: &[u8]) -> Vec<u8> {
    if path.first() != Some(&b'/') {
        return path.to_vec();
    }
    let in_zone = |kept: &[&[u8]]| match kept {
        [] => true,
        [top] => *top == b"proc" || *top == b"dev",
        [top, p] => *top == b"proc" && (*p == b"self" || (!p.is_empty() && p.iter().all(u8::is_ascii_digit))),
        _ => false,
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut parts = path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".");
    for c in parts.by_ref() {
        if c == b".." && in_zone(&kept) {
            kept.pop();
            continue;
        }
        kept.push(c);
        if !in_zone(&kept) {
            break;
        }
    }
    // Past the zone (or at its end), the rest as written, less `//` and `/./`.
    kept.extend(parts);
    let mut out = Vec::with_capacity(path.len());
    for c in &kept {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() || path.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

/// Rewrites names that mean "the caller" (`/proc/self`, `/dev/fd`, `/dev/stdin`...),
/// however spelled (see [`lead_normal`]), to the agent's own `/proc/<pid>` entries,
/// numbered as in its own `/proc`: resolved by the monitor they would otherwise
/// mean the monitor.
fn rewrite(path: &[u8], asker: &Asker) -> Vec<u8> {
    let has = |w: &[u8]| path.windows(w.len()).any(|x| x == w);
    if !(has(b"/proc") || has(b"/dev")) {
        // No spelling of either can do without the component itself.
        return path.to_vec();
    }
    let normal = lead_normal(path);
    if !(normal.starts_with(b"/proc/") || normal.starts_with(b"/dev/")) {
        return path.to_vec();
    }
    let s = String::from_utf8_lossy(&normal);
    let (tgid, tid) = asker.ns_ids();
    let me = format!("/proc/{tgid}");
    let table: [(&str, String); 7] = [
        ("/proc/self", me.clone()),
        ("/proc/thread-self", format!("{me}/task/{tid}")),
        ("/dev/fd", format!("{me}/fd")),
        ("/dev/stdin", format!("{me}/fd/0")),
        ("/dev/stdout", format!("{me}/fd/1")),
        ("/dev/stderr", format!("{me}/fd/2")),
        ("/dev/self", me.clone()),
    ];
    for (from, to) in &table {
        if let Some(rest) = s.strip_prefix(from) {
            if rest.is_empty() || rest.starts_with('/') {
                return format!("{to}{rest}").into_bytes();
            }
        }
    }
    normal
}

/// The magic links of a process directory: `(pid, prefix length)` when `path`
/// (rewritten, absolute) starts with `/proc/<pid>[/task/<tid>]/` followed by
/// `fd/<n>`, `cwd`, `root`, `exe`, `map_files/<range>` or `ns/<name>`.
fn magic_prefix(path: &[u8]) -> Option<(u32, usize)> {
    let s = std::str::from_utf8(path).ok()?;
    let rest = s.strip_prefix("/proc/")?;
    let (pid, mut rest) = rest.split_once('/')?;
    let pid: u32 = pid.parse().ok()?;
    if let Some(r) = rest.strip_prefix("task/") {
        let (tid, r) = r.split_once('/')?;
        tid.parse::<u32>().ok()?;
        rest = r;
    }
    let (first, after) = rest.split_once('/').unwrap_or((rest, ""));
    let len = match first {
        "cwd" | "root" | "exe" => first.len(),
        "fd" | "map_files" | "ns" => {
            let (entry, _) = after.split_once('/').unwrap_or((after, ""));
            if entry.is_empty() {
                return None;
            }
            first.len() + 1 + entry.len()
        }
        _ => return None,
    };
    Some((pid, s.len() - rest.len() + len))
}

/// The path policies see for a kernel path: the agent's own `/proc` entries as
/// `/proc/self`; a path into another process's `/proc` directory is refused unless
/// that process is the sandbox's.
fn agent_view(real: &str, asker: &Asker) -> io::Result<String> {
    let Some(after) = real.strip_prefix("/proc/") else {
        return Ok(real.to_string());
    };
    let first = after.split('/').next().unwrap_or("");
    let Ok(pid) = first.parse::<u32>() else {
        return Ok(real.to_string());
    };
    let (tgid, tid) = asker.ns_ids();
    let me = format!("/proc/{tgid}");
    let thread = format!("{me}/task/{tid}");
    let under = |p: &str, prefix: &str| p == prefix || p.starts_with(&format!("{prefix}/"));
    if pid == tgid {
        if under(real, &thread) {
            return Ok(format!("/proc/thread-self{}", &real[thread.len()..]));
        }
        return Ok(format!("/proc/self{}", &real[me.len()..]));
    }
    if !asker.is_member(pid) {
        // The monitor's own `/proc` entries (a symlink into `/proc/self` that the
        // rewrite did not catch), our init's, or a process outside the sandbox.
        return Err(errno(libc::EACCES));
    }
    Ok(real.to_string())
}

/// Normalises `.` and `..` lexically and removes duplicate slashes.
pub(crate) use claw_ir::names::lexical;

/// The canonical agent-view path of a handle; for objects with no path (pipes,
/// sockets behind `/proc/self/fd/N`, memfds) the lexical path that named them
/// (`named`, worked out only then: it can cost a `readlink`).
fn canonical(fd: &OwnedFd, named: impl FnOnce() -> io::Result<String>, asker: &Asker) -> io::Result<String> {
    let real = fd_path(fd)?;
    if real.starts_with('/') && !real.starts_with("/memfd:") {
        return agent_view(&real, asker);
    }
    let named = named()?;
    if named.starts_with("/proc/") {
        agent_view(&lexical(&named), asker)
    } else {
        // A memfd or anonymous object: its kernel name, which no policy path
        // (they all start with `/`) can match unless it names it explicitly.
        Ok(real)
    }
}

/// Options for [`resolve`].
#[derive(Debug, Clone, Copy, Default)]
pub struct How {
    /// Follow a symlink in the last component.
    pub follow: bool,
    /// Extra open flags for the `O_PATH` open (`O_DIRECTORY`).
    pub oflags: i32,
    /// `RESOLVE_*` flags from `openat2`.
    pub resolve: u64,
    /// `AT_EMPTY_PATH`: an empty path names `dirfd` itself.
    pub empty_ok: bool,
}

/// Resolves `path` (relative to `dirfd`) as the agent would, to an `O_PATH` handle.
pub fn resolve(asker: &Asker, dirfd: i32, path: &[u8], how: How) -> io::Result<Resolved> {
    resolve_from(asker, dirfd, None, path, how)
}

/// [`resolve`], a relative path starting at `held` (a directory the monitor holds,
/// e.g. where a symlink being followed lives) instead of the agent's `dirfd`.
fn resolve_from(asker: &Asker, dirfd: i32, held: Option<i32>, path: &[u8], how: How) -> io::Result<Resolved> {
    let scoped = how.resolve & (libc::RESOLVE_IN_ROOT | libc::RESOLVE_BENEATH) != 0;
    if path.is_empty() {
        if !how.empty_ok {
            return Err(errno(libc::ENOENT));
        }
        let fd = base(asker, dirfd, false)?;
        let shown = format!("/proc/self/fd/{dirfd}");
        let path = canonical(&fd, || Ok(shown), asker)?;
        return Ok(Resolved { fd, path });
    }
    let absolute = path[0] == b'/';
    let from_root = absolute && !scoped;
    let owned;
    let b: i32 = match (asker.root, held) {
        (Some(root), _) if from_root => root,
        (_, Some(dir)) if !from_root => dir,
        _ => {
            owned = base(asker, dirfd, from_root)?;
            owned.as_raw_fd()
        }
    };
    let rewritten = rewrite(path, asker);
    let target: &[u8] = if absolute && !scoped {
        // Relative to the agent's root.
        rewritten.strip_prefix(b"/").unwrap_or(&rewritten)
    } else {
        &rewritten
    };
    let target = if target.is_empty() { &b"."[..] } else { target };
    let mut flags = (libc::O_PATH | how.oflags) as u64;
    if !how.follow {
        flags |= libc::O_NOFOLLOW as u64;
    }
    // The monitor follows no magic link the agent did not name directly as a
    // sandbox process's own (`/proc/<member>/fd/N`, `cwd`, `root`, ...): a symlink
    // to `/proc/<other>/fd/N`, or one met after such a link, is refused (ELOOP).
    let magic = if absolute && !scoped {
        magic_prefix(&rewritten)
    } else {
        None
    };
    let fd = match magic {
        Some((pid, len)) => {
            if !asker.is_member(pid) && pid != asker.ns_ids().0 {
                return Err(errno(libc::EACCES));
            }
            let (head, tail) = rewritten.split_at(len);
            let tail = tail.strip_prefix(b"/").unwrap_or(tail);
            let head = head.strip_prefix(b"/").unwrap_or(head);
            if tail.is_empty() {
                openat2(b, head, flags, 0, how.resolve)?
            } else {
                let link = openat2(b, head, libc::O_PATH as u64, 0, how.resolve)?;
                openat2(
                    link.as_raw_fd(),
                    tail,
                    flags,
                    0,
                    how.resolve | libc::RESOLVE_NO_MAGICLINKS,
                )?
            }
        }
        None => openat2(b, target, flags, 0, how.resolve | libc::RESOLVE_NO_MAGICLINKS)?,
    };
    if let Some((pid, _)) = magic {
        // Checked again after the open: the process named was the sandbox's
        // before, and is still (a pid reused between the two would have to be).
        if !asker.is_member(pid) && pid != asker.ns_ids().0 {
            return Err(errno(libc::EACCES));
        }
    }
    let named = || {
        let s = String::from_utf8_lossy(&rewritten).into_owned();
        if s.starts_with('/') {
            Ok(s)
        } else {
            Ok(format!("{}/{s}", raw_fd_path(b)?))
        }
    };
    let path = canonical(&fd, named, asker)?;
    Ok(Resolved { fd, path })
}

/// Resolves all but the last component of `path`; the last is returned as a name.
pub fn resolve_parent(asker: &Asker, dirfd: i32, path: &[u8]) -> io::Result<ResolvedParent> {
    parent_from(asker, dirfd, None, path)
}

/// [`resolve_parent`] of a symlink's target as the kernel follows it: a relative
/// target starts in `dir` (the directory holding the link), an absolute one at the
/// agent's root.
pub fn resolve_parent_in(asker: &Asker, dir: &OwnedFd, target: &[u8]) -> io::Result<ResolvedParent> {
    parent_from(asker, libc::AT_FDCWD, Some(dir.as_raw_fd()), target)
}

fn parent_from(asker: &Asker, dirfd: i32, held: Option<i32>, path: &[u8]) -> io::Result<ResolvedParent> {
    if path.is_empty() {
        return Err(errno(libc::ENOENT));
    }
    let trimmed_len = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    if trimmed_len == 0 {
        // "/" itself: no parent to create in.
        return Err(errno(libc::EBUSY));
    }
    let (dir, name) = match path[..trimmed_len].iter().rposition(|&b| b == b'/') {
        Some(0) => (&b"/"[..], &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b"."[..], path),
    };
    let parent = resolve_from(
        asker,
        dirfd,
        held,
        dir,
        How {
            follow: true,
            oflags: libc::O_DIRECTORY,
            ..How::default()
        },
    )?;
    let bare = String::from_utf8_lossy(&name[..name.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1)])
        .into_owned();
    let joined = if parent.path == "/" {
        format!("/{bare}")
    } else {
        format!("{}/{bare}", parent.path)
    };
    let name = CString::new(name).map_err(|_| errno(libc::EINVAL))?;
    Ok(ResolvedParent {
        dir: parent.fd,
        name,
        path: lexical(&joined),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normalises() {
        assert_eq!(lexical("/a/./b//c/../d"), "/a/b/d");
        assert_eq!(lexical("/.."), "/");
    }

    #[test]
    fn rewrites_self_names() {
        let a = &Asker::with_tgid(12, 10);
        assert_eq!(rewrite(b"/proc/self/fd/3", a), b"/proc/10/fd/3");
        assert_eq!(rewrite(b"/proc/thread-self/comm", a), b"/proc/10/task/12/comm");
        assert_eq!(rewrite(b"/dev/stdin", a), b"/proc/10/fd/0");
        assert_eq!(rewrite(b"/dev/fd/63", a), b"/proc/10/fd/63");
        assert_eq!(rewrite(b"/proc/selfish", a), b"/proc/selfish");
        assert_eq!(rewrite(b"/dev/stdinx", a), b"/dev/stdinx");
    }

    #[test]
    fn only_plain_absolute_paths_are_decided_as_written() {
        let a = &Asker::with_tgid(12, 10).with_root(Some(3));
        let plain = |p: &[u8]| plain_absolute(a, p).map(|(r, n, rel)| (r, n, rel.to_vec()));
        assert_eq!(
            plain(b"//usr/./include//stdio.h"),
            Some((
                3,
                "/usr/include/stdio.h".into(),
                b"usr/./include//stdio.h".to_vec()
            ))
        );
        assert_eq!(plain(b"/etc/"), Some((3, "/etc".into(), b"etc/".to_vec())));
        for other in [
            &b"usr/include/stdio.h"[..], // relative: depends on the working directory
            b"/usr/lib/../include/x.h",  // `..` means something else after a symlink
            b"/proc/self/environ",       // names the caller
            b"//proc",
            b"/dev/stdin",
            b"/",       // nothing to open relative to the root
            b"/\xff/x", // not UTF-8
        ] {
            assert_eq!(plain(other), None, "{}", String::from_utf8_lossy(other));
        }
        assert!(
            plain_absolute(&Asker::with_tgid(12, 10), b"/etc/hostname").is_none(),
            "no fixed root"
        );
    }

    #[test]
    fn agent_view_maps_own_proc_entries() {
        let a = &Asker::with_tgid(12, 10);
        assert_eq!(agent_view("/proc/10/status", a).unwrap(), "/proc/self/status");
        assert_eq!(
            agent_view("/proc/10/task/12/comm", a).unwrap(),
            "/proc/thread-self/comm"
        );
        assert_eq!(agent_view("/proc/meminfo", a).unwrap(), "/proc/meminfo");
        // Host view: a process that does not descend from the monitor is refused,
        // and so is the monitor itself.
        assert!(agent_view("/proc/1/status", a).is_err(), "outside the sandbox");
        let me = format!("/proc/{}/environ", std::process::id());
        assert!(agent_view(&me, a).is_err(), "the monitor's own /proc is refused");
        // Namespace view: every pid but our init's.
        let n = &Asker::with_tgid(12, 10).with_view(View::Namespace);
        let _ = n.ns_ids.set((2, 3));
        assert_eq!(agent_view("/proc/2/fd/4", n).unwrap(), "/proc/self/fd/4");
        assert_eq!(
            agent_view("/proc/2/task/3/fd", n).unwrap(),
            "/proc/thread-self/fd"
        );
        assert_eq!(agent_view("/proc/7/status", n).unwrap(), "/proc/7/status");
        assert!(agent_view("/proc/1/fd/3", n).is_err(), "our init");
    }

    #[test]
    fn every_spelling_of_self_is_rewritten() {
        let a = &Asker::with_tgid(12, 10);
        for (spelled, meant) in [
            (&b"//proc/thread-self/fd/3"[..], &b"/proc/10/task/12/fd/3"[..]),
            (b"/proc/./self/fd/3", b"/proc/10/fd/3"),
            (b"/proc/self/../self/fd/3", b"/proc/10/fd/3"),
            (b"/proc/1/../self/environ", b"/proc/10/environ"),
            (b"/../proc/self", b"/proc/10"),
            (b"/dev//fd/3", b"/proc/10/fd/3"),
            (b"/dev/./stdout", b"/proc/10/fd/1"),
            (b"/dev/../proc/thread-self/", b"/proc/10/task/12/"),
            (b"///proc//self//fd//3", b"/proc/10/fd/3"),
        ] {
            assert_eq!(
                String::from_utf8_lossy(&rewrite(spelled, a)),
                String::from_utf8_lossy(meant),
                "{}",
                String::from_utf8_lossy(spelled)
            );
        }
        // `..` after a component that may be a symlink keeps its meaning.
        assert_eq!(rewrite(b"/proc/thread-self/..", a), b"/proc/10/task/12/..");
        assert_eq!(rewrite(b"/dev/fd/../x", a), b"/proc/10/fd/../x");
        assert_eq!(lead_normal(b"/proc/self/cwd/../x"), b"/proc/self/cwd/../x");
        assert_eq!(lead_normal(b"/usr/lib/../x"), b"/usr/lib/../x");
    }

    #[test]
    fn magic_links_of_a_process_directory() {
        assert_eq!(magic_prefix(b"/proc/10/fd/3"), Some((10, 13)));
        assert_eq!(magic_prefix(b"/proc/10/fd/3/x"), Some((10, 13)));
        assert_eq!(magic_prefix(b"/proc/10/task/12/cwd/a/b"), Some((10, 20)));
        assert_eq!(magic_prefix(b"/proc/10/root"), Some((10, 13)));
        assert_eq!(magic_prefix(b"/proc/10/fd"), None, "the directory itself");
        assert_eq!(magic_prefix(b"/proc/10/status"), None);
        assert_eq!(magic_prefix(b"/proc/self/fd/3"), None, "rewritten before");
    }

    #[test]
    fn resolves_like_the_kernel_for_this_process() {
        let me = std::process::id();
        let a = &Asker::with_tgid(me, me);
        let dir = std::env::temp_dir().join(format!("claw-resolve-{me}"));
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/file"), b"x").unwrap();
        let _ = std::fs::remove_file(dir.join("link"));
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        let canon = std::fs::canonicalize(&dir).unwrap();
        let p = format!("{}/link/file", dir.display());
        let r = resolve(
            a,
            libc::AT_FDCWD,
            p.as_bytes(),
            How {
                follow: true,
                ..How::default()
            },
        )
        .unwrap();
        assert_eq!(r.path, format!("{}/real/file", canon.display()));
        let r = resolve(
            a,
            libc::AT_FDCWD,
            format!("{}/link", dir.display()).as_bytes(),
            How::default(),
        )
        .unwrap();
        assert_eq!(r.path, format!("{}/link", canon.display()), "not followed");
        let parent = resolve_parent(
            a,
            libc::AT_FDCWD,
            format!("{}/link/new/", dir.display()).as_bytes(),
        )
        .unwrap();
        assert_eq!(parent.path, format!("{}/real/new", canon.display()));
        assert_eq!(parent.name.to_bytes(), b"new/");
        let e = resolve(a, libc::AT_FDCWD, b"/nonexistent-claw/x", How::default())
            .err()
            .unwrap();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
