//! Name changes: `rename`, `renameat`, `renameat2` (every flag) and `link`,
//! `linkat` (`AT_SYMLINK_FOLLOW`, `AT_EMPTY_PATH`). Giving an object another name
//! is reading it (docs/language.md, "Names"): the call is decided as `write` on
//! both names and `read` on every name whose object gets the new one — the source,
//! both sides of `RENAME_EXCHANGE`, and every existing path below a directory that
//! moves — and on every name they get (an object given a secret's name is that
//! secret to whoever holds it open). So `deny read secrets` cannot be bypassed by renaming a secret first, and
//! `on read secrets` fires before the secret has its new name (the monitor fires
//! it in `decide`, then performs the call itself on the objects it resolved).
//!
//! What this module knows: the directory entries it walks, bounded by
//! [`MAX_BELOW`] names and [`MAX_DEPTH`] levels; past either bound the call is
//! refused with `EXDEV`, which `mv` and every portable mover answer by copying and
//! unlinking — each read of the copy then decided on its own.
//!
//! What it does not know: objects that had other names before the session (hard
//! links, bind mounts made outside): a limit, docs/threat-model.md.
//!
//! Races. The walk lists the subtree, then the monitor renames (parent, name).
//! Anything that appears in the subtree in between got there by a call the monitor
//! decided itself: a rename or link into it (whose own source was decided as
//! read, firing what that read fires), or a file the sandbox created, whose
//! contents the sandbox wrote. An entry swapped in at (parent, name) after the
//! walk was likewise renamed or linked there, decided as read. The monitor acts on
//! the parent directories it resolved, never on a path again.

use super::cvt;
use super::fs::{hide_also, path_accesses};
use crate::monitor::{Fail, Monitor, Outcome};
use crate::notify::{Notification, Reply};
use crate::resolve::{self, proc_fd, How, Resolved, ResolvedParent};
use claw_ir::{Access, Verb};
use serde_json::json;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The most paths below a moving directory the monitor lists before refusing the
/// rename with `EXDEV` (see the module doc). rustc's incremental session
/// directories (the largest directories ordinary builds rename) hold a few hundred.
pub const MAX_BELOW: usize = 16_384;

/// The deepest the walk goes below a moving directory (one open descriptor per
/// level), past which the rename is refused with `EXDEV`.
pub const MAX_DEPTH: usize = 64;

/// How many of the names read the audit record shows.
const SHOWN: usize = 8;

/// The most bytes of path names the walk collects.
const MAX_BYTES: usize = 4 << 20;

/// The source and the destination of a name change.
enum From {
    /// A name in a directory (rename, link of the name itself).
    Entry(ResolvedParent),
    /// An object (`linkat` with `AT_SYMLINK_FOLLOW` or `AT_EMPTY_PATH`).
    Object(Resolved),
}

impl From {
    fn path(&self) -> &str {
        match self {
            From::Entry(p) => &p.path,
            From::Object(o) => &o.path,
        }
    }
}

/// The accesses of a name change: `write` on both names, `read` on the moved
/// names. `moved` are the names whose object changes name (see
/// [`moved_names`]). Pure, so the model can be checked against it.
pub fn accesses(from: &str, to: &str, moved: &[String]) -> Vec<Access> {
    let mut v = path_accesses(&[Verb::Write], from);
    v.extend(path_accesses(&[Verb::Write], to));
    v.extend(moved.iter().flat_map(|p| path_accesses(&[Verb::Read], p)));
    v
}

/// `RENAME_NOREPLACE`, `RENAME_EXCHANGE`, `RENAME_WHITEOUT`.
const RENAME_NOREPLACE: u32 = 1;
const RENAME_EXCHANGE: u32 = 2;
const RENAME_WHITEOUT: u32 = 4;

/// `rename`, `renameat`, `renameat2`, `link`, `linkat`.
pub(super) fn name_change(m: &Monitor, n: &Notification, name: &str) -> Outcome {
    let a = n.args;
    let asker = m.asker(n);
    let ((sfd, sreg), (dfd, dreg)) = match name {
        "rename" | "link" => ((libc::AT_FDCWD, 0), (libc::AT_FDCWD, 1)),
        "renameat" | "renameat2" | "linkat" => ((a[0] as i32, 1), (a[2] as i32, 3)),
        _ => return Err(Fail::Errno(libc::ENOSYS)),
    };
    let is_link = name == "link" || name == "linkat";
    let rflags = if name == "renameat2" { a[4] as u32 } else { 0 };
    let lflags = if name == "linkat" { a[4] as i32 } else { 0 };
    // The kernel's own argument checks, first (nothing is decided on a call that
    // cannot happen).
    if rflags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (rflags & RENAME_EXCHANGE != 0 && rflags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0)
        || lflags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0
    {
        return Err(Fail::Errno(libc::EINVAL));
    }
    let exchange = rflags & RENAME_EXCHANGE != 0;
    let src_raw = m.read_path(n, a[sreg])?;
    let dst_raw = m.read_path(n, a[dreg])?;
    let follow = lflags & libc::AT_SYMLINK_FOLLOW != 0;
    let empty = lflags & libc::AT_EMPTY_PATH != 0 && src_raw.is_empty();
    let from = if follow || empty {
        // The object is linked, not the name: decide on what it is.
        let how = How {
            follow,
            empty_ok: empty,
            ..How::default()
        };
        match resolve::resolve(&asker, sfd, &src_raw, how) {
            Ok(r) => From::Object(r),
            Err(e) => {
                let also = destination_accesses(&asker, dfd, &dst_raw);
                return Err(hide_also(
                    m,
                    n,
                    &asker,
                    sfd,
                    &src_raw,
                    &[Verb::Read, Verb::Write],
                    &also,
                    e.into(),
                ));
            }
        }
    } else {
        match resolve::resolve_parent(&asker, sfd, &src_raw) {
            Ok(p) => From::Entry(p),
            Err(e) => {
                let also = destination_accesses(&asker, dfd, &dst_raw);
                return Err(hide_also(
                    m,
                    n,
                    &asker,
                    sfd,
                    &src_raw,
                    &[Verb::Read, Verb::Write],
                    &also,
                    e.into(),
                ));
            }
        }
    };
    let to = match resolve::resolve_parent(&asker, dfd, &dst_raw) {
        Ok(p) => p,
        Err(e) => {
            // The name it would get is read too (see `moved_names`).
            let verbs: &[Verb] = &[Verb::Read, Verb::Write];
            // Refused with the whole call's refusal (the source's read and write
            // too), as `clawc explain` decides it.
            let also = path_accesses(&[Verb::Read, Verb::Write], from.path());
            return Err(hide_also(m, n, &asker, dfd, &dst_raw, verbs, &also, e.into()));
        }
    };
    // A call refused on its two names alone is refused whatever lies below them
    // (more accesses only make a decision more severe): decide it without
    // listing anything, so refused renames of large trees cost nothing.
    // (A link moves no other name: its whole decision is the one below.)
    let named = accesses(from.path(), &to.path, &[from.path().to_string()]);
    if !is_link && !m.peek(n.nr, &named).allowed() {
        let v = m.decide(n, name, n.nr, &named, || {
            json!({ "paths": [from.path(), &to.path], "flags": if is_link { lflags as u32 } else { rflags } })
        });
        if !v.allowed() {
            return Ok(v.refusal().into());
        }
        // The state changed in between and now allows the names: decide the
        // whole call below, as if this had not happened (what it fired was a
        // read the call performs if it goes ahead).
    }
    let mut moved = moved_names(&from, &to, is_link, exchange)?;
    // The session's other secret names of those names (the end of a
    // secret-named link, a path below a linked directory: `crate::aliases`): an
    // object given such a name has that secret's name too (red team round 7,
    // secret-link-end-naming: `mv draft config/dev.env` under `.env ->
    // config/dev.env`).
    let mut also: Vec<String> = moved.iter().flat_map(|p| m.aliases.of_path(p)).collect();
    also.retain(|n| !moved.contains(n));
    also.sort();
    also.dedup();
    moved.extend(also);
    let acc = accesses(from.path(), &to.path, &moved);
    let v = m.decide(n, name, n.nr, &acc, || {
        json!({
            "paths": [from.path(), &to.path],
            "flags": if is_link { lflags as u32 } else { rflags },
            "read": moved.len(),
            "read_first": moved.iter().take(SHOWN).collect::<Vec<_>>(),
        })
    });
    if !v.allowed() {
        return Ok(v.refusal().into());
    }
    let dir = |p: &ResolvedParent| p.dir.as_raw_fd();
    if let (From::Entry(p), false) = (&from, is_link) {
        if mount_point(dir(p), &p.name) || mount_point(dir(&to), &to.name) {
            return Err(Fail::Errno(libc::EBUSY));
        }
    }
    // SAFETY: every pointer is a valid C string owned here; descriptors are the
    // monitor's own.
    let r: libc::c_long = unsafe {
        match &from {
            From::Entry(p) if !is_link => libc::syscall(
                libc::SYS_renameat2,
                dir(p),
                p.name.as_ptr(),
                dir(&to),
                to.name.as_ptr(),
                rflags,
            ),
            From::Entry(p) => libc::linkat(dir(p), p.name.as_ptr(), dir(&to), to.name.as_ptr(), 0).into(),
            From::Object(o) => {
                // Link exactly the object that was decided, through its
                // descriptor: what the agent could do itself with
                // `linkat(AT_FDCWD, "/proc/self/fd/N", .., AT_SYMLINK_FOLLOW)`.
                let src = CString::new(proc_fd(&o.fd)).map_err(|_| Fail::Errno(libc::EINVAL))?;
                libc::linkat(
                    libc::AT_FDCWD,
                    src.as_ptr(),
                    dir(&to),
                    to.name.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
                .into()
            }
        }
    };
    let r = cvt(r)?;
    if let Some(t) = m.tripwires.get() {
        // Isolated files: the new name of a secret pattern is a tripwire before
        // the agent resumes (a marked object keeps its mark under any name).
        t.cover_at(dir(&to), &to.name, &to.path);
        if exchange {
            if let From::Entry(p) = &from {
                t.cover_at(dir(p), &p.name, from.path());
            }
        }
    }
    // A symlink given a new name names what it reaches under that name, as one
    // the agent makes there does (`crate::aliases`; red team round 6,
    // relinked-chain: a link moved over a link of a secret-named chain).
    let mut renamed = vec![(dir(&to), &*to.name, to.path.as_str())];
    if let (true, From::Entry(p)) = (exchange, &from) {
        renamed.push((dir(p), &*p.name, from.path()));
    }
    for (d, entry, path) in renamed {
        if is_symlink_at(d, entry) {
            if let Err(refused) = super::fs::decide_link_names(m, n, name, path, &acc) {
                if !undo(&from, &to, is_link, exchange) && is_symlink_at(d, entry) {
                    // A racing thread took the old name (`RENAME_NOREPLACE`
                    // fails) or removed what an exchange swapped (red team round
                    // 9b, undo-noreplace-race): the link is still at the refused
                    // place; it goes from there, which the call was allowed to
                    // write.
                    // SAFETY: `d` is a parent handle resolved for the call,
                    // `entry` a valid C string.
                    unsafe { libc::unlinkat(d, entry.as_ptr(), 0) };
                }
                return Ok(refused);
            }
        }
    }
    Ok(Reply::Value(r).into())
}

/// Takes back a name change whose link the policy refuses to let name what it
/// reaches (`fs::decide_link_names`): a link's new name removed; a rename moved
/// back, where nothing took the old name meanwhile (`RENAME_NOREPLACE`; a
/// destination it replaced stays gone, a `write` the call was allowed); an
/// exchange exchanged again. False if that failed (a racing thread changed a
/// name meanwhile).
fn undo(from: &From, to: &ResolvedParent, is_link: bool, exchange: bool) -> bool {
    let dir = |p: &ResolvedParent| p.dir.as_raw_fd();
    // SAFETY: the parent handles and names resolved for the call.
    unsafe {
        if is_link {
            libc::unlinkat(dir(to), to.name.as_ptr(), 0) == 0
        } else if let From::Entry(p) = from {
            let flags = if exchange {
                RENAME_EXCHANGE
            } else {
                RENAME_NOREPLACE
            };
            libc::syscall(
                libc::SYS_renameat2,
                dir(to),
                to.name.as_ptr(),
                dir(p),
                p.name.as_ptr(),
                flags,
            ) == 0
        } else {
            true // an object linked by descriptor is no symlink
        }
    }
}

/// Is `name` in `dir` the root of a mount in the agent's view (`dir` was resolved
/// from the agent's root, so it lies in the agent's mount tree)? The kernel
/// refuses renaming or removing a mount point of the caller's namespace with
/// `EBUSY`; the monitor acts from its own namespace, where the agent's mounts
/// (its `/proc`, a FUSE tripwire: `crate::fusewire`) are no mount points, so it
/// asks first and answers as the kernel would have answered the agent.
pub(super) fn mount_point(dir: i32, name: &CStr) -> bool {
    // SAFETY: stx is written by statx; name is a valid C string.
    unsafe {
        let mut stx: libc::statx = std::mem::zeroed();
        let flags = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT | libc::AT_STATX_DONT_SYNC;
        libc::statx(dir, name.as_ptr(), flags, 0, &mut stx) == 0
            && stx.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0
            && stx.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0
    }
}

/// A source that does not resolve is refused with the whole call's refusal (the
/// destination's read and write too), as `clawc explain` decides it.
fn destination_accesses(asker: &resolve::Asker, dfd: i32, dst_raw: &[u8]) -> Vec<Access> {
    resolve::resolve_parent(asker, dfd, dst_raw)
        .map(|t| path_accesses(&[Verb::Read, Verb::Write], &t.path))
        .unwrap_or_default()
}

/// The names whose object the call gives a new name: the source (a link's or a
/// rename's), the destination too when exchanged, and every path below either when
/// it is a directory that moves.
///
/// And the names they get: an object given a secret name is that secret to
/// whoever holds it open (an agent that made `scaffold.tmp`, renamed it `.env`
/// and kept the descriptor reads what the user later writes into `.env`), so the
/// new names are read too, as creating the secret for reading would be.
fn moved_names(from: &From, to: &ResolvedParent, is_link: bool, exchange: bool) -> Result<Vec<String>, Fail> {
    let mut moved = vec![from.path().to_string()];
    if let (From::Entry(p), false) = (from, is_link) {
        below(p, &mut moved)?;
    }
    let sources = moved.len();
    if exchange {
        moved.push(to.path.clone());
        below(to, &mut moved)?;
    }
    let mut renamed: Vec<String> = moved[..sources]
        .iter()
        .filter_map(|p| new_name(p, from.path(), &to.path))
        .collect();
    if exchange {
        renamed.extend(
            moved[sources..]
                .iter()
                .filter_map(|p| new_name(p, &to.path, from.path())),
        );
    }
    moved.extend(renamed);
    Ok(moved)
}

/// The name `path` (at or below `old`) has once `old` is called `new`.
fn new_name(path: &str, old: &str, new: &str) -> Option<String> {
    let rest = path.strip_prefix(old)?;
    if rest.is_empty() {
        Some(new.to_string())
    } else if rest.starts_with('/') {
        Some(format!("{}{rest}", new.trim_end_matches('/')))
    } else {
        None
    }
}

/// Whether `name` in the directory `dir` is a symlink (not followed).
fn is_symlink_at(dir: i32, name: &CStr) -> bool {
    // SAFETY: st is written by fstatat; name is a valid C string.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFLNK
    }
}

/// A directory stream the walk owns.
struct Dir(*mut libc::DIR);

impl Dir {
    /// Opens the directory `name` in `parent`, not following a symlink; `None` if
    /// it is not a directory (or is gone: the call then fails on its own).
    fn open(parent: i32, name: &CStr) -> Result<Option<Dir>, Fail> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: valid C string; the descriptor is owned by the stream below.
        let fd = unsafe { libc::openat(parent, name.as_ptr(), flags) };
        if fd < 0 {
            let e = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            return match e {
                libc::ENOTDIR | libc::ELOOP | libc::ENOENT => Ok(None),
                // A directory the monitor cannot list cannot be moved knowingly.
                _ => Err(Fail::Errno(libc::EXDEV)),
            };
        }
        // SAFETY: fd is a fresh directory descriptor; on success the stream owns it.
        let d = unsafe { libc::fdopendir(fd) };
        if d.is_null() {
            // SAFETY: fdopendir failed, so fd is still ours to close.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
            return Err(Fail::Errno(libc::EXDEV));
        }
        Ok(Some(Dir(d)))
    }

    fn fd(&self) -> i32 {
        // SAFETY: self.0 is an open stream.
        unsafe { libc::dirfd(self.0) }
    }

    /// The next entry but `.` and `..`: its name and whether it is a directory.
    /// A listing that fails part way is `EXDEV` (never a shorter list).
    fn next(&mut self) -> Result<Option<(CString, bool)>, Fail> {
        loop {
            // SAFETY: errno is thread-local; readdir sets it only on error.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: self.0 is an open stream; the entry is copied before the
            // next call.
            let e = unsafe { libc::readdir(self.0) };
            if e.is_null() {
                // SAFETY: as above.
                let err = unsafe { *libc::__errno_location() };
                return if err == 0 {
                    Ok(None)
                } else {
                    Err(Fail::Errno(libc::EXDEV))
                };
            }
            // SAFETY: readdir returns a valid entry with a NUL-terminated name.
            let (name, kind) = unsafe { (CStr::from_ptr((*e).d_name.as_ptr()).to_owned(), (*e).d_type) };
            if name.as_bytes() == b"." || name.as_bytes() == b".." {
                continue;
            }
            let dir = match kind {
                libc::DT_DIR => true,
                libc::DT_UNKNOWN => {
                    // SAFETY: all-zero is a valid `stat`.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: the stream's descriptor, a valid C string, and st
                    // valid for writing.
                    let r = unsafe {
                        libc::fstatat(self.fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW)
                    };
                    let gone = std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT);
                    if r != 0 && !gone {
                        return Err(Fail::Errno(libc::EXDEV));
                    }
                    r == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR
                }
                _ => false,
            };
            return Ok(Some((name, dir)));
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: self.0 is an open stream, closed once.
        unsafe { libc::closedir(self.0) };
    }
}

fn join(dir: &str, name: &CStr) -> String {
    let name = String::from_utf8_lossy(name.to_bytes());
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Appends every path below `p` to `out` when `p` names a directory; `EXDEV`
/// past the bounds.
fn below(p: &ResolvedParent, out: &mut Vec<String>) -> Result<(), Fail> {
    let bare = p.name.to_bytes();
    let bare = &bare[..bare.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1)];
    if bare.is_empty() || bare == b"." || bare == b".." {
        // The kernel refuses to move these (EBUSY, EINVAL): nothing moves.
        return Ok(());
    }
    let Some(root) = Dir::open(p.dir.as_raw_fd(), &p.name)? else {
        return Ok(());
    };
    walk(root, &p.path, out, MAX_BELOW, MAX_DEPTH)
}

/// The walk itself: depth-first with an explicit stack, every loop bounded by
/// `max_names` entries (each one counted once) and `max_depth` open levels.
fn walk(
    root: Dir,
    path: &str,
    out: &mut Vec<String>,
    max_names: usize,
    max_depth: usize,
) -> Result<(), Fail> {
    let too_many = Fail::Errno(libc::EXDEV);
    let mut seen = 0usize;
    let mut bytes = 0usize;
    let mut stack: Vec<(Dir, String)> = vec![(root, path.to_string())];
    loop {
        let depth = stack.len();
        let Some((dir, here)) = stack.last_mut() else {
            break;
        };
        let Some((name, is_dir)) = dir.next()? else {
            stack.pop();
            continue;
        };
        seen = seen.checked_add(1).ok_or(Fail::Errno(libc::EXDEV))?;
        let child = join(here, &name);
        bytes = bytes.checked_add(child.len()).ok_or(Fail::Errno(libc::EXDEV))?;
        if seen > max_names || bytes > MAX_BYTES {
            return Err(too_many);
        }
        let sub = if is_dir {
            if depth >= max_depth {
                return Err(too_many);
            }
            Dir::open(dir.fd(), &name)?
        } else {
            None
        };
        out.push(child.clone());
        if let Some(sub) = sub {
            stack.push((sub, child));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_ir::mediation::{Mediation, EFFECTS};
    use std::collections::BTreeSet;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("claw-names-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn open_dir(p: &std::path::Path) -> Dir {
        let parent = CString::new(p.parent().unwrap().to_str().unwrap()).unwrap();
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(parent.as_ptr(), libc::O_PATH | libc::O_DIRECTORY) };
        assert!(fd >= 0);
        // SAFETY: fresh descriptor.
        let parent = unsafe { OwnedFd::from_raw_fd(fd) };
        let name = CString::new(p.file_name().unwrap().to_str().unwrap()).unwrap();
        Dir::open(parent.as_raw_fd(), &name).unwrap().unwrap()
    }

    #[test]
    fn walk_lists_every_path_below_and_refuses_past_the_bounds() {
        let d = scratch("walk");
        std::fs::create_dir_all(d.join("top/a/b")).unwrap();
        std::fs::write(d.join("top/.env"), "x").unwrap();
        std::fs::write(d.join("top/a/b/id"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("top/a/l")).unwrap();
        let top = d.join("top");
        let mut out = Vec::new();
        walk(open_dir(&top), top.to_str().unwrap(), &mut out, 100, 8).unwrap();
        let got: BTreeSet<String> = out
            .iter()
            .map(|p| p.strip_prefix(top.to_str().unwrap()).unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = ["/.env", "/a", "/a/b", "/a/b/id", "/a/l"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, want, "the symlink is listed, not followed");
        let mut out = Vec::new();
        assert!(matches!(
            walk(open_dir(&top), "/t", &mut out, 4, 8),
            Err(Fail::Errno(libc::EXDEV))
        ));
        let mut out = Vec::new();
        assert!(matches!(
            walk(open_dir(&top), "/t", &mut out, 100, 2),
            Err(Fail::Errno(libc::EXDEV))
        ));
        let _ = std::fs::remove_dir_all(&d);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any tree within the bounds is listed exactly (every path below, once,
        /// symlinks not followed), every listed name is decided as a read, and the
        /// verbs decided are the model's; past the bound the answer is EXDEV.
        #[test]
        fn any_tree_is_listed_exactly(
            entries in proptest::collection::vec(
                (proptest::collection::vec(0u8..4, 1..5), 0u8..3), 0..40),
            bound in 1usize..60,
        ) {
            let d = scratch(&format!("prop-{bound}-{}", entries.len()));
            let top = d.join("top");
            std::fs::create_dir_all(&top).unwrap();
            let mut want = BTreeSet::new();
            for (comps, kind) in &entries {
                let rel: Vec<String> = comps.iter().map(|c| format!("n{c}")).collect();
                let p = top.join(rel.join("/"));
                // Parents are directories unless something else is already there.
                let mut ok = true;
                for i in 1..rel.len() {
                    let q = top.join(rel[..i].join("/"));
                    if q.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
                        ok = false;
                    }
                }
                if !ok || p.symlink_metadata().is_ok() {
                    continue;
                }
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                match kind {
                    0 => std::fs::write(&p, "x").unwrap(),
                    1 => std::fs::create_dir(&p).unwrap(),
                    _ => std::os::unix::fs::symlink("/", &p).unwrap(),
                }
                for i in 1..=rel.len() {
                    want.insert(format!("/t/{}", rel[..i].join("/")));
                }
            }
            let mut out = Vec::new();
            let r = walk(open_dir(&top), "/t", &mut out, bound, MAX_DEPTH);
            let _ = std::fs::remove_dir_all(&d);
            if want.len() > bound {
                proptest::prop_assert!(matches!(r, Err(Fail::Errno(libc::EXDEV))));
            } else {
                proptest::prop_assert!(r.is_ok());
                let got: BTreeSet<String> = out.iter().cloned().collect();
                proptest::prop_assert_eq!(got.len(), out.len(), "each path once");
                proptest::prop_assert_eq!(&got, &want);
                let mut moved = vec!["/t".to_string()];
                moved.extend(out);
                let acc = accesses("/t", "/u", &moved);
                for p in &moved {
                    let read = Access::Path { verb: Verb::Read, path: p.clone() };
                    proptest::prop_assert!(acc.contains(&read), "{} is read", p);
                }
                let verbs: BTreeSet<Verb> = acc.iter().map(|a| a.verb()).collect();
                let model: BTreeSet<Verb> = claw_ir::mediation::of("rename").unwrap().verbs().iter().copied().collect();
                proptest::prop_assert_eq!(verbs, model);
            }
        }
    }

    /// The model (the verbs `Mediation::verbs` says a syscall performs, which the
    /// router and the verifier use) equals what the monitor decides for every
    /// name-changing syscall, and every other path-modifying call is a write.
    #[test]
    fn the_verbs_the_monitor_decides_are_the_models() {
        let (mut names, mut symlinks) = (0, 0);
        for e in EFFECTS {
            let model: BTreeSet<Verb> = e.mediation.verbs().iter().copied().collect();
            match e.mediation {
                Mediation::NameChange { .. } => {
                    names += 1;
                    // A file, a directory with something below, an exchange.
                    for moved in [
                        vec!["/w/a".to_string()],
                        vec!["/w/d".to_string(), "/w/d/.env".to_string()],
                        vec!["/w/a".to_string(), "/w/b".to_string()],
                    ] {
                        let acc = accesses("/w/a", "/w/b", &moved);
                        let runtime: BTreeSet<Verb> = acc.iter().map(|a| a.verb()).collect();
                        assert_eq!(runtime, model, "{}", e.name);
                        for p in &moved {
                            assert!(
                                acc.contains(&Access::Path {
                                    verb: Verb::Read,
                                    path: p.clone()
                                }),
                                "{}: {p} is read",
                                e.name
                            );
                        }
                    }
                }
                // A symlink gives what it reaches its name: read too
                // (`fs::modify` decides the table's verbs on the link's path).
                Mediation::Symlink { .. } => {
                    symlinks += 1;
                    assert_eq!(model, BTreeSet::from([Verb::Read, Verb::Write]), "{}", e.name);
                }
                Mediation::Modify { .. } | Mediation::FdModify { .. } | Mediation::Creat { .. } => {
                    assert!(!model.contains(&Verb::Read), "{}", e.name);
                    assert!(!e.name.starts_with("symlink"), "{} names what it reaches", e.name);
                    assert!(
                        !matches!(e.name, "rename" | "renameat" | "renameat2" | "link" | "linkat"),
                        "{} changes a name: it must be a NameChange",
                        e.name
                    );
                }
                _ => {}
            }
        }
        assert_eq!(names, 5, "rename, renameat, renameat2, link, linkat");
        assert_eq!(symlinks, 2, "symlink, symlinkat");
    }

    #[test]
    fn the_new_names_of_moved_objects_are_read_too() {
        assert_eq!(new_name("/w/a", "/w/a", "/w/.env").as_deref(), Some("/w/.env"));
        assert_eq!(
            new_name("/w/d/x", "/w/d", "/h/.ssh").as_deref(),
            Some("/h/.ssh/x")
        );
        assert_eq!(new_name("/w/dx", "/w/d", "/h/.ssh"), None);
        // The names a rename of a file gives: its old name and its new one, read.
        let acc = accesses("/w/a", "/w/.env", &["/w/a".to_string(), "/w/.env".to_string()]);
        assert!(acc.contains(&Access::Path {
            verb: Verb::Read,
            path: "/w/.env".into()
        }));
    }
}
