//! Path syscalls: open family, exec, looking (stat, access, readlink, xattrs) and
//! modifying (mkdir, unlink, symlink, chmod, chown, utimes...). Renames and links
//! are in `names`.

use super::cvt;
use crate::agent;
use crate::monitor::{Answer, Fail, Monitor, Outcome};
use crate::notify::{Notification, Reply};
use crate::resolve::{self, proc_fd, Asker, How, Resolved};
use crate::wire;
use claw_ir::{mediation, Access, Verb};
use serde_json::json;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

fn cstr(s: &str) -> Result<CString, Fail> {
    CString::new(s).map_err(|_| Fail::Errno(libc::EINVAL))
}

/// An xattr name from agent memory, checked as the kernel checks it (`ERANGE`
/// when empty or longer than `XATTR_NAME_MAX`).
fn xattr_name(tid: u32, addr: u64) -> Result<CString, Fail> {
    let raw = match agent::read_cstr(tid, addr, wire::XATTR_NAME_MAX + 1) {
        Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => return Err(Fail::Errno(libc::ERANGE)),
        r => r?,
    };
    wire::xattr_name(&raw).map_err(Fail::Errno)?;
    CString::new(raw).map_err(|_| Fail::Errno(libc::EINVAL))
}

/// The accesses `verbs` make on `path`. A path the kernel shows for an unlinked
/// object (`/ws/.env (deleted)`: `d_path` appends the suffix) is decided on the
/// name the object last had too, so that an `O_PATH` handle kept across an
/// `unlink` and reopened through `/proc/self/fd/N` is still the secret it was.
/// (A file really named `x (deleted)` is then decided as `x` as well: stricter.)
pub(super) fn path_accesses(verbs: &[Verb], path: &str) -> Vec<Access> {
    let last = path.strip_suffix(" (deleted)").filter(|p| p.starts_with('/'));
    verbs
        .iter()
        .flat_map(|&verb| {
            std::iter::once(path).chain(last).map(move |p| Access::Path {
                verb,
                path: p.to_string(),
            })
        })
        .collect()
}

/// `accesses`, plus a `read` of each secret name of the object a reading open
/// reaches (a hard link's secret path, a secret-named symlink to it or to a
/// directory above it: `crate::aliases`).
fn with_alias(m: &Monitor, fd: &impl AsRawFd, verbs: &[Verb], mut accesses: Vec<Access>) -> Vec<Access> {
    let opens = verbs.iter().any(|v| *v != Verb::Visible); // not O_PATH
    if let Some(t) = m.tripwires.get().filter(|_| opens) {
        // Isolated files: an object the monitor opens for the agent is looked up
        // by inode among the tripwires, as the kernel's open of it would meet the
        // mark (which the monitor's own opens do not fire): an open of a tripwire
        // by a name that is no secret (a hard link) is a read of the secret. A
        // secret's own name is decided as the model decides it.
        let named = accesses
            .iter()
            .any(|a| matches!(a, Access::Path { path, .. } if t.secret(path)));
        if let Some(secret) = tripwire_of(t, fd).filter(|_| !named) {
            accesses.extend(path_accesses(&[Verb::Read], &secret));
        }
    }
    if verbs.contains(&Verb::Read) {
        let canonical = accesses.iter().find_map(|a| match a {
            Access::Path { path, .. } => Some(path.clone()),
            Access::Net { .. } => None,
        });
        if let Some(path) = canonical {
            for secret in m.aliases.of(fd, &path) {
                accesses.extend(path_accesses(&[Verb::Read], &secret));
            }
        }
    }
    accesses
}

fn tripwire_of(t: &crate::tripwire::Tripwires, fd: &impl AsRawFd) -> Option<String> {
    // SAFETY: st is written by fstat.
    let st = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd.as_raw_fd(), &mut st) == 0).then_some(st)?
    };
    t.secret_of(st.st_dev, st.st_ino)
}

fn verb_names(verbs: &[Verb]) -> Vec<&'static str> {
    verbs.iter().map(|v| v.name()).collect()
}

/// When resolution fails (`ENOENT`, `ENOTDIR`, `ELOOP`...), the error itself tells
/// whether a path exists. For a path the policy neither lets the agent see nor use,
/// answer the policy's refusal instead, so existence stays hidden. The path judged
/// is the one the lookup reaches (see [`reached`]): a dangling link into `~/.ssh`
/// is judged as the name in `~/.ssh`, as it is once that file exists.
pub(super) fn hide(
    m: &Monitor,
    n: &Notification,
    asker: &Asker,
    dirfd: i32,
    raw: &[u8],
    verbs: &[Verb],
    err: Fail,
) -> Fail {
    hide_also(m, n, asker, dirfd, raw, verbs, &[], err)
}

/// [`hide`] for one name of a call that also makes `also` (the other name of a
/// rename or link, resolved already): a hidden path gets the refusal of the whole
/// call, as the model decides it.
#[allow(clippy::too_many_arguments)]
pub(super) fn hide_also(
    m: &Monitor,
    n: &Notification,
    asker: &Asker,
    dirfd: i32,
    raw: &[u8],
    verbs: &[Verb],
    also: &[Access],
    err: Fail,
) -> Fail {
    let Fail::Errno(_) = err else { return err };
    let path = reached(asker, dirfd, raw).unwrap_or_else(|| {
        let base = if raw.first() == Some(&b'/') {
            String::new()
        } else if dirfd == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{}/cwd", asker.tid))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            std::fs::read_link(format!("/proc/{}/fd/{dirfd}", asker.tid))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        resolve::lexical(&format!("{base}/{}", String::from_utf8_lossy(raw)))
    });
    hide_at(m, n, &path, verbs, also, err)
}

/// Where a lookup of `raw` that failed got to, in the agent's view: its parent
/// directory resolved, and a symlink in the last component followed (at most
/// [`MAX_LINKS`]) while its target's directory resolves; the path of the name it
/// ends at. `None` when the parent itself does not resolve (then the lexical path
/// is all there is).
fn reached(asker: &Asker, dirfd: i32, raw: &[u8]) -> Option<String> {
    let mut parent = resolve::resolve_parent(asker, dirfd, raw).ok()?;
    for _ in 0..MAX_LINKS {
        let Ok(Some(target)) = link_target(&parent) else {
            break;
        };
        match resolve::resolve_parent_in(asker, &parent.dir, &target) {
            Ok(p) => parent = p,
            Err(_) => {
                let text = String::from_utf8_lossy(&target);
                if target.first() == Some(&b'/') {
                    return Some(resolve::lexical(&text));
                }
                let dir = parent.path.rsplit_once('/').map_or("", |(d, _)| d);
                return Some(resolve::lexical(&format!("{dir}/{text}")));
            }
        }
    }
    Some(parent.path)
}

/// [`hide`] for a path already made absolute (a symlink's target being followed).
fn hide_at(m: &Monitor, n: &Notification, path: &str, verbs: &[Verb], also: &[Access], err: Fail) -> Fail {
    let Fail::Errno(_) = err else { return err };
    let path = path.to_string();
    let mut all = verbs.to_vec();
    all.push(Verb::Visible);
    let sees = all
        .iter()
        .any(|&v| m.peek(n.nr, &path_accesses(&[v], &path)).allowed());
    if sees {
        err
    } else {
        let mut all = path_accesses(verbs, &path);
        all.extend_from_slice(also);
        Fail::Errno(m.peek(n.nr, &all).refusal_errno())
    }
}

fn is_symlink(fd: &OwnedFd) -> bool {
    // SAFETY: `stat` is plain old data: all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is a descriptor the monitor owns; `st` is valid for writing.
    unsafe { libc::fstat(fd.as_raw_fd(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK }
}

/// The kernel's memory devices (`drivers/char/mem.c`: `/dev/null`, `zero`,
/// `full`, `random`, `urandom`, `kmsg`, ...): their `open` never waits.
const MEM_MAJOR: u32 = 1;

/// Can opening this object wait for as long as the agent wants? A FIFO waits
/// for its other end, a device for its driver (a terminal line, a modem). The
/// memory devices never do, and they are opened all the time (git opens
/// `/dev/urandom` once per object it writes): a thread of their own each would
/// cost more than the open (measured: git of 2,000 files 1.3× slower).
fn open_may_block(fd: &OwnedFd, oflags: i32) -> bool {
    if oflags & libc::O_NONBLOCK != 0 {
        return false;
    }
    // SAFETY: `stat` is plain old data: all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is a descriptor the monitor owns; st is valid for writing.
    let ok = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0;
    ok && match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => true,
        libc::S_IFCHR => libc::major(st.st_rdev) != MEM_MAJOR,
        _ => false,
    }
}

fn open_proc(fd: &OwnedFd, flags: i32, mode: u32) -> Result<OwnedFd, Fail> {
    let p = cstr(&proc_fd(fd))?;
    // SAFETY: valid C string; the result is owned below.
    let r = cvt(unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, mode) } as libc::c_long)?;
    // SAFETY: r is a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// Hands an opened file to the agent, atomically with the answer
/// (`SECCOMP_ADDFD_FLAG_SEND`). Installing first and answering after would leak the
/// descriptor into the agent whenever a signal interrupts the call in between (the
/// call restarts; a FIFO's reader then never sees end-of-file). The price: the
/// monitor's copy is closed just after the agent resumes, so an `execve` of a file
/// the agent closed a moment earlier can, rarely, meet `ETXTBSY`.
fn hand_over(m: &Monitor, n: &Notification, file: OwnedFd, cloexec: bool) -> Outcome {
    if let Some(t) = m.tripwires.get() {
        // Isolated files: a secret the agent creates is a tripwire before it
        // can open it again by itself.
        t.cover_fd(file.as_fd(), n.tid);
    }
    m.listener.send_fd(n.id, file.as_fd(), cloexec)?;
    Ok(Answer::Done)
}

/// `open`, `openat`, `openat2`, `creat`.
#[allow(clippy::too_many_arguments)]
pub(super) fn open(
    m: &Monitor,
    n: &Notification,
    name: &str,
    dirfd: i32,
    path_addr: u64,
    flags: u64,
    mode: u64,
    resolve_flags: u64,
) -> Outcome {
    let raw = m.read_path(n, path_addr)?;
    let asker = m.asker(n);
    let oflags = flags as i32;
    let verbs = mediation::open_verbs(flags, m.ir.arch);
    let creat = oflags & libc::O_CREAT != 0;
    let excl = creat && oflags & libc::O_EXCL != 0;
    let tmpfile = oflags & libc::O_TMPFILE == libc::O_TMPFILE;
    let how = How {
        follow: oflags & libc::O_NOFOLLOW == 0 && !excl,
        oflags: oflags & libc::O_DIRECTORY,
        resolve: resolve_flags,
        empty_ok: false,
    };
    // The umask matters (and costs a /proc read) only when creating.
    let create_mode = if creat || tmpfile {
        (mode as u32) & 0o7777 & !agent::umask_of(n.tid)
    } else {
        0
    };
    let cloexec = oflags & libc::O_CLOEXEC != 0;
    let shown = |path: &str, verbs: &[Verb]| json!({ "path": path, "flags": format!("{:#o}", flags), "verbs": verb_names(verbs) });
    let changes = libc::O_CREAT | libc::O_TRUNC | libc::O_TMPFILE | libc::O_PATH;
    if oflags & changes == 0 && resolve_flags == 0 {
        if let Some(outcome) = open_plain(m, n, name, &asker, &raw, flags, &verbs, &shown) {
            return outcome;
        }
    }
    match resolve::resolve(&asker, dirfd, &raw, how) {
        Ok(Resolved { fd, path }) => {
            // The file exists and the reopen below never creates: `O_CREAT` alone
            // asks for nothing (`>>` onto an existing file is an append). With
            // `O_EXCL` the answer would reveal existence, so it is judged as asked.
            let existing;
            let verbs: &[Verb] = if creat && !excl {
                existing = mediation::open_verbs(flags & !(libc::O_CREAT as u64), m.ir.arch);
                &existing
            } else {
                &verbs
            };
            let accesses = with_alias(m, &fd, verbs, path_accesses(verbs, &path));
            let v = m.decide(n, name, n.nr, &accesses, || shown(&path, verbs));
            if !v.allowed() {
                return Ok(v.refusal().into());
            }
            if excl {
                return Err(Fail::Errno(libc::EEXIST));
            }
            let file = if oflags & libc::O_PATH != 0 {
                // SECCOMP_IOCTL_NOTIF_ADDFD cannot pass an O_PATH descriptor: let
                // the kernel open it. A raced path yields at most a handle to look
                // at; anything done through it comes back here.
                return Ok(Reply::Continue.into());
            } else if !how.follow && is_symlink(&fd) {
                return Err(Fail::Errno(libc::ELOOP));
            } else {
                let reopen = oflags & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW);
                let mode = if tmpfile { create_mode } else { 0 };
                if open_may_block(&fd, reopen) {
                    // Decided; the open itself waits on a thread of its own.
                    let id = n.id;
                    return m.offload(n, move |m| {
                        let file = open_proc(&fd, reopen, mode)?;
                        m.answering(id);
                        m.listener.send_fd(id, file.as_fd(), cloexec)?;
                        Ok(Answer::Done)
                    });
                }
                open_proc(&fd, reopen, mode)?
            };
            hand_over(m, n, file, cloexec)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && creat && !tmpfile => {
            let parent = match resolve::resolve_parent(&asker, dirfd, &raw) {
                Ok(p) => p,
                Err(e) => return Err(hide(m, n, &asker, dirfd, &raw, &verbs, e.into())),
            };
            let file = create(
                m,
                n,
                name,
                &asker,
                parent,
                flags,
                how,
                &verbs,
                create_mode,
                &shown,
            )?;
            match file {
                Created::File(fd) => hand_over(m, n, fd, cloexec),
                Created::Refused(r) => Ok(r.into()),
            }
        }
        Err(e) => Err(hide(m, n, &asker, dirfd, &raw, &verbs, e.into())),
    }
}

/// The kernel's bound on the symlinks one lookup follows (`MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

enum Created {
    File(OwnedFd),
    Refused(Reply),
}

/// The name the agent asked to create did not resolve: its final component is
/// missing, or is a symlink whose target is missing (a dangling link). The kernel
/// follows such a link and creates its *target* (unless `O_EXCL` or `O_NOFOLLOW`,
/// which [`open`] answered already as the kernel does). So does the monitor: each
/// hop of the chain is resolved in the agent's view (a relative target from the
/// link's directory, an absolute one from the agent's root), at most
/// [`MAX_LINKS`] of them; the decision is on the path of the file that will be
/// created, and exactly that file is created: the final name relative to the
/// handle on its resolved parent, with `O_NOFOLLOW`. A symlink planted there since
/// the look makes that fail with `ELOOP`, and the chain is followed again (within
/// the bound), so what is created is always what was decided.
#[allow(clippy::too_many_arguments)]
fn create(
    m: &Monitor,
    n: &Notification,
    name: &str,
    asker: &Asker,
    mut parent: resolve::ResolvedParent,
    flags: u64,
    how: How,
    verbs: &[Verb],
    create_mode: u32,
    shown: &dyn Fn(&str, &[Verb]) -> serde_json::Value,
) -> Result<Created, Fail> {
    let mut hops = 0usize;
    // Every round either follows a link (counted) or tries to create; a racer
    // flipping the name between "missing" and "symlink" is bounded by `tries`.
    for _tries in 0..=2 * MAX_LINKS {
        if let Some(target) = link_target(&parent)? {
            // A link planted since the first look: as the kernel answers for one.
            if flags & libc::O_EXCL as u64 != 0 {
                return Err(Fail::Errno(libc::EEXIST));
            }
            if !how.follow {
                return Err(Fail::Errno(libc::ELOOP));
            }
            hops += 1;
            if hops > MAX_LINKS {
                return Err(Fail::Errno(libc::ELOOP));
            }
            if how.resolve != 0 {
                // openat2's RESOLVE_* scoping of a followed target is not
                // reproduced here: refuse rather than follow it unscoped.
                return Err(Fail::Errno(libc::EXDEV));
            }
            let dir = parent
                .path
                .rsplit_once('/')
                .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
            let text = String::from_utf8_lossy(&target);
            let named = if target.first() == Some(&b'/') {
                resolve::lexical(&text)
            } else {
                resolve::lexical(&format!("{dir}/{text}"))
            };
            parent = resolve::resolve_parent_in(asker, &parent.dir, &target)
                .map_err(|e| hide_at(m, n, &named, verbs, &[], e.into()))?;
            continue;
        }
        let v = m.decide(n, name, n.nr, &creating(m, verbs, &parent.path), || {
            shown(&parent.path, verbs)
        });
        if !v.allowed() {
            return Ok(Created::Refused(v.refusal()));
        }
        // O_NOFOLLOW: a symlink planted since the look is not followed here.
        match resolve::openat2(
            parent.dir.as_raw_fd(),
            parent.name.to_bytes(),
            (flags & !(libc::O_CLOEXEC as u64)) | libc::O_NOFOLLOW as u64,
            u64::from(create_mode),
            0,
        ) {
            Ok(fd) => return Ok(Created::File(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Fail::Errno(libc::ELOOP))
}

/// The accesses of an open that creates the file at the canonical path `path`:
/// `verbs` on it, and, when the open reads, a `read` of each secret name that
/// place has this session (the end of a secret-named link, `.env ->
/// config/dev.env`; a path below a linked directory, `~/.aws -> ws/aws`: by
/// path, `crate::aliases`), as a naming decides it: the descriptor handed over
/// reads what is written under that name later (red team round 7,
/// secret-link-end-naming, `O_CREAT`). A write-only creation writes only; a
/// later open of it for reading is decided by those names as any open is (with
/// kernel-decided opens, the new file is a tripwire under the name:
/// `Tripwires::cover_fd`). `clawc explain` decides a creating open the same way.
fn creating(m: &Monitor, verbs: &[Verb], path: &str) -> Vec<Access> {
    let mut accesses = path_accesses(verbs, path);
    if verbs.contains(&Verb::Read) {
        for secret in m.aliases.of_path(path) {
            accesses.extend(path_accesses(&[Verb::Read], &secret));
        }
    }
    accesses
}

/// The target of the final name in `parent` if it is a symlink; `None` if it is
/// missing or not a symlink.
fn link_target(parent: &resolve::ResolvedParent) -> Result<Option<Vec<u8>>, Fail> {
    let mut buf = vec![0u8; agent::PATH_MAX];
    // SAFETY: buf is valid for its length; the name is a C string owned by parent.
    let k = unsafe {
        libc::readlinkat(
            parent.dir.as_raw_fd(),
            parent.name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if k < 0 {
        return match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ENOENT | libc::EINVAL) => Ok(None),
            e => Err(Fail::Errno(e.unwrap_or(libc::EIO))),
        };
    }
    let k = k as usize;
    if k >= buf.len() {
        return Err(Fail::Errno(libc::ENAMETOOLONG));
    }
    buf.truncate(k);
    Ok(Some(buf))
}

/// The common open in one step: an absolute path with no `..` (see
/// [`resolve::plain_absolute`]) that the policy allows, opened without creating or
/// truncating. It is decided on its lexical path, then opened with no symlink
/// allowed on the way, so the file opened is the file decided; then judged (the
/// state may have changed since the look) and handed over. `None` leaves it to the
/// general path: a symlink on the way, a refusal (whose error must hide what the
/// agent may not see), any error but a missing file. Once such an open was seen
/// holding a worker while every worker was busy (see `Monitor::careful`), every
/// open takes the general path: this one opens before it can see that it opens a
/// FIFO, which waits, and the general path hands such opens to their own thread.
#[allow(clippy::too_many_arguments)]
fn open_plain(
    m: &Monitor,
    n: &Notification,
    name: &str,
    asker: &Asker,
    raw: &[u8],
    flags: u64,
    verbs: &[Verb],
    shown: &dyn Fn(&str, &[Verb]) -> serde_json::Value,
) -> Option<Outcome> {
    if m.careful() {
        return None;
    }
    let (root, path, relative) = resolve::plain_absolute(asker, raw)?;
    let accesses = path_accesses(verbs, &path);
    if !m.peek(n.nr, &accesses).allowed() {
        return None;
    }
    let strict = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    let cloexec = flags & libc::O_CLOEXEC as u64 != 0;
    let opened =
        m.opening_plainly(|| resolve::openat2(root, relative, flags & !(libc::O_CLOEXEC as u64), 0, strict));
    match opened {
        // Missing before any symlink: the agent's own walk ends there too. The
        // policy lets it use the path, so the error hides nothing.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            Some(Err(Fail::Errno(e.raw_os_error().unwrap_or(libc::ENOENT))))
        }
        Err(_) => None,
        Ok(file) => {
            let accesses = with_alias(m, &file, verbs, accesses);
            let v = m.decide(n, name, n.nr, &accesses, || shown(&path, verbs));
            if !v.allowed() {
                return Some(Ok(v.refusal().into()));
            }
            Some(hand_over(m, n, file, cloexec))
        }
    }
}

/// `execve`, `execveat`: decided here, performed by the kernel (CONTINUE). The
/// kernel re-checks at exec time against Landlock's execute right, which bounds
/// every path the policy lets run; the monitor's check makes it precise.
pub(super) fn exec(m: &Monitor, n: &Notification, name: &str, dirfd: Option<u8>, path: u8) -> Outcome {
    let a = n.args;
    let raw = m.read_path(n, a[path as usize])?;
    let asker = m.asker(n);
    let dfd = dirfd.map_or(libc::AT_FDCWD, |i| a[i as usize] as i32);
    let flags = if dirfd.is_some() { a[4] as i32 } else { 0 };
    let how = How {
        follow: flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        empty_ok: flags & libc::AT_EMPTY_PATH != 0,
        ..How::default()
    };
    match resolve::resolve(&asker, dfd, &raw, how) {
        Ok(r) => {
            // Running a file maps its bytes into the agent: a read of each secret
            // name it has (`crate::aliases`), as `clawc explain` decides it.
            let mut accesses = path_accesses(&[Verb::Exec], &r.path);
            for secret in m.aliases.of(&r.fd, &r.path) {
                accesses.extend(path_accesses(&[Verb::Read], &secret));
            }
            let v = m.decide(
                n,
                name,
                n.nr,
                &accesses,
                // Decided on the resolved path; logged with the name the agent
                // ran too (`cargo`, not only rustup, the symlink's target).
                || {
                    let ran = String::from_utf8_lossy(&raw);
                    if ran == r.path {
                        json!({ "path": r.path })
                    } else {
                        json!({ "path": r.path, "name": ran })
                    }
                },
            );
            Ok(if v.allowed() { Reply::Continue } else { v.refusal() }.into())
        }
        Err(e) => Err(hide(m, n, &asker, dfd, &raw, &[Verb::Exec], e.into())),
    }
}

/// The syscall number of `fstat` (a look at a descriptor the agent holds).
fn fstat_nr(m: &Monitor) -> u32 {
    m.table().by_name("fstat").map_or(u32::MAX, |s| s.nr)
}

/// Looking without opening: stat family, access, readlink, xattr reads, statfs,
/// chdir. Decided as `visible`; the monitor looks and writes the result back.
pub(super) fn look(m: &Monitor, n: &Notification, name: &str, dirfd: Option<u8>, path: u8) -> Outcome {
    let a = n.args;
    let dfd = dirfd.map_or(libc::AT_FDCWD, |i| a[i as usize] as i32);
    // Flags argument (AT_*), by syscall.
    let at_flags = match name {
        "newfstatat" => a[3] as i32,
        "statx" => a[2] as i32,
        "faccessat2" => a[3] as i32,
        _ => 0,
    };
    let follow = !matches!(
        name,
        "lstat" | "readlink" | "readlinkat" | "lgetxattr" | "llistxattr"
    ) && at_flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let raw = m.read_path(n, a[path as usize])?;
    let asker = m.asker(n);
    let how = How {
        follow,
        oflags: if name == "chdir" { libc::O_DIRECTORY } else { 0 },
        resolve: 0,
        empty_ok: at_flags & libc::AT_EMPTY_PATH != 0,
    };
    let r = match resolve::resolve(&asker, dfd, &raw, how) {
        Ok(r) => r,
        Err(e) => return Err(hide(m, n, &asker, dfd, &raw, &[Verb::Visible], e.into())),
    };
    let v = if raw.is_empty() {
        // `fstatat(fd, "", AT_EMPTY_PATH)` is how libc implements fstat(fd): a look
        // at a descriptor the agent holds, decided as fstat.
        m.decide(n, name, fstat_nr(m), &[], || json!({ "fd": dfd }))
    } else {
        m.decide(
            n,
            name,
            n.nr,
            &path_accesses(&[Verb::Visible], &r.path),
            || json!({ "path": r.path }),
        )
    };
    if !v.allowed() {
        return Ok(v.refusal().into());
    }
    let fd = r.fd.as_raw_fd();
    let empty = c"";
    let tid = n.tid;
    let value: i64 = match name {
        "stat" | "lstat" | "newfstatat" => {
            // SAFETY: `stat` is plain old data: all-zero bytes are a valid value.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: `fd` is the monitor's descriptor of the object, the path the
            // empty C string (AT_EMPTY_PATH), `st` valid for writing.
            cvt(unsafe { libc::fstatat(fd, empty.as_ptr(), &mut st, libc::AT_EMPTY_PATH) } as libc::c_long)?;
            let buf = if name == "newfstatat" { a[2] } else { a[1] };
            agent::write_struct(tid, buf, &st)?;
            0
        }
        "statx" => {
            // SAFETY: `statx` is plain old data: all-zero bytes are a valid value.
            let mut stx: libc::statx = unsafe { std::mem::zeroed() };
            let sync = at_flags & libc::AT_STATX_SYNC_TYPE;
            // SAFETY: as for fstatat; `stx` is valid for writing and the mask is
            // only a request (the kernel fills what it has).
            cvt(unsafe {
                libc::statx(
                    fd,
                    empty.as_ptr(),
                    libc::AT_EMPTY_PATH | sync,
                    a[3] as u32,
                    &mut stx,
                )
            } as libc::c_long)?;
            agent::write_struct(tid, a[4], &stx)?;
            0
        }
        "access" | "faccessat" | "faccessat2" => {
            let mode = if name == "access" { a[1] } else { a[2] } as i32;
            let eaccess = at_flags & libc::AT_EACCESS;
            // SAFETY: `fd` is the monitor's descriptor of the object and the path the
            // empty C string (AT_EMPTY_PATH), alive for the call.
            cvt(unsafe {
                libc::syscall(
                    libc::SYS_faccessat2,
                    fd,
                    empty.as_ptr(),
                    mode,
                    libc::AT_EMPTY_PATH | eaccess,
                )
            })?
        }
        "readlink" | "readlinkat" => {
            // readlinkat(fd, "") of what is not a symlink says ENOENT; readlink
            // of its path says EINVAL.
            if !is_symlink(&r.fd) {
                return Err(Fail::Errno(libc::EINVAL));
            }
            let (buf, size) = if name == "readlink" {
                (a[1], a[2])
            } else {
                (a[2], a[3])
            };
            let size = wire::readlink_size(size).map_err(Fail::Errno)?;
            let mut out = vec![0u8; size];
            // SAFETY: out is valid for size bytes.
            // On a descriptor of something that is not a symlink, readlinkat(fd, "")
            // fails with ENOENT; readlink of that path fails with EINVAL.
            let k = cvt(
                unsafe { libc::readlinkat(fd, empty.as_ptr(), out.as_mut_ptr().cast(), size) }
                    as libc::c_long,
            )
            .map_err(|e| match e {
                Fail::Errno(libc::ENOENT) => Fail::Errno(libc::EINVAL),
                e => e,
            })?;
            agent::write_mem(tid, buf, &out[..k as usize])?;
            k
        }
        "getxattr" | "lgetxattr" => {
            let attr = xattr_name(tid, a[1])?;
            m.valid(n)?;
            let size = wire::xattr_get_size(a[3]);
            let mut out = vec![0u8; size];
            let p = cstr(&proc_fd(&r.fd))?;
            // SAFETY: out is valid for size bytes.
            let k = cvt(
                unsafe { libc::getxattr(p.as_ptr(), attr.as_ptr(), out.as_mut_ptr().cast(), size) }
                    as libc::c_long,
            )?;
            if size > 0 {
                agent::write_mem(tid, a[2], &out[..k as usize])?;
            }
            k
        }
        "listxattr" | "llistxattr" => {
            let size = wire::xattr_get_size(a[2]);
            let mut out = vec![0u8; size];
            let p = cstr(&proc_fd(&r.fd))?;
            // SAFETY: out is valid for size bytes.
            let k =
                cvt(unsafe { libc::listxattr(p.as_ptr(), out.as_mut_ptr().cast(), size) } as libc::c_long)?;
            if size > 0 {
                agent::write_mem(tid, a[1], &out[..k as usize])?;
            }
            k
        }
        "statfs" => {
            // SAFETY: `statfs` is plain old data: all-zero bytes are a valid value.
            let mut sf: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: `fd` is the monitor's descriptor; `sf` is valid for writing.
            cvt(unsafe { libc::fstatfs(fd, &mut sf) } as libc::c_long)?;
            agent::write_struct(tid, a[1], &sf)?;
            0
        }
        // chdir, and any look this table does not emulate.
        _ => return Ok(Reply::Continue.into()),
    };
    Ok(Reply::Value(value).into())
}

/// Reads a `struct timespec[2]` (or the `timeval`/`utimbuf` forms) for the utime
/// family; `None` means "now".
fn read_times(
    m: &Monitor,
    n: &Notification,
    name: &str,
    addr: u64,
) -> Result<Option<[libc::timespec; 2]>, Fail> {
    if addr == 0 {
        return Ok(None);
    }
    let t = match name {
        "utimensat" => agent::read_struct::<[libc::timespec; 2]>(n.tid, addr)?,
        "utime" => {
            let u: [i64; 2] = agent::read_struct(n.tid, addr)?;
            [
                libc::timespec {
                    tv_sec: u[0],
                    tv_nsec: 0,
                },
                libc::timespec {
                    tv_sec: u[1],
                    tv_nsec: 0,
                },
            ]
        }
        _ => wire::timevals(&agent::read_mem(n.tid, addr, 32)?).map_err(Fail::Errno)?,
    };
    m.valid(n)?;
    Ok(Some(t))
}

/// Changing the tree or metadata: decided as `write` on every path involved (and
/// for a symlink as a `read` of its path too: the link gives what it reaches
/// that name, `Mediation::Symlink`); performed by the monitor on the directories
/// and objects it resolved.
pub(super) fn modify(m: &Monitor, n: &Notification, name: &str) -> Outcome {
    let a = n.args;
    let asker = m.asker(n);
    let tid = n.tid;
    let verbs: &[Verb] = claw_ir::mediation::of(name).map_or(&[Verb::Write], |e| e.verbs());
    // The (dirfd, path register) pairs, and whether the last component is followed.
    let at = |d: usize, p: usize| (a[d] as i32, p);
    let cwd = |p: usize| (libc::AT_FDCWD, p);
    let (paths, follow): (Vec<(i32, usize)>, bool) = match name {
        "mkdir" | "rmdir" | "unlink" | "mknod" => (vec![cwd(0)], false),
        "mkdirat" | "unlinkat" | "mknodat" => (vec![at(0, 1)], false),
        "symlink" => (vec![cwd(1)], false),
        "symlinkat" => (vec![at(1, 2)], false),
        "truncate" | "chmod" | "chown" | "utime" | "utimes" | "setxattr" | "removexattr" => {
            (vec![cwd(0)], true)
        }
        "lchown" | "lsetxattr" | "lremovexattr" => (vec![cwd(0)], false),
        "fchmodat" | "futimesat" => (vec![at(0, 1)], true),
        "fchmodat2" => (vec![at(0, 1)], a[3] as i32 & libc::AT_SYMLINK_NOFOLLOW == 0),
        "fchownat" => (vec![at(0, 1)], a[4] as i32 & libc::AT_SYMLINK_NOFOLLOW == 0),
        "utimensat" => (vec![at(0, 1)], a[3] as i32 & libc::AT_SYMLINK_NOFOLLOW == 0),
        _ => return Err(Fail::Errno(libc::ENOSYS)),
    };
    // Object-level calls (chmod, chown, utimes, truncate, xattrs, a followed link
    // source) act on a resolved object; tree-level calls on (directory, name).
    // (`linkat`'s AT_SYMLINK_FOLLOW is about its source only: the new name is
    // always a name in a directory.)
    let object_level = (follow && name != "linkat")
        || matches!(
            name,
            "lchown" | "lsetxattr" | "lremovexattr" | "fchmodat2" | "fchownat" | "utimensat"
        );
    let mut objects: Vec<Resolved> = Vec::new();
    let mut parents: Vec<resolve::ResolvedParent> = Vec::new();
    let mut shown_paths = Vec::new();
    for &(dfd, reg) in &paths {
        let addr = a[reg];
        // utimensat(fd, NULL, ...) is futimens(fd).
        let raw = if addr == 0 && name == "utimensat" {
            Vec::new()
        } else {
            m.read_path(n, addr)?
        };
        if object_level {
            let how = How {
                follow,
                empty_ok: raw.is_empty() && name == "utimensat",
                ..How::default()
            };
            match resolve::resolve(&asker, dfd, &raw, how) {
                Ok(r) => {
                    shown_paths.push(r.path.clone());
                    objects.push(r);
                }
                Err(e) => return Err(hide(m, n, &asker, dfd, &raw, verbs, e.into())),
            }
        } else {
            match resolve::resolve_parent(&asker, dfd, &raw) {
                Ok(p) => {
                    shown_paths.push(p.path.clone());
                    parents.push(p);
                }
                Err(e) => return Err(hide(m, n, &asker, dfd, &raw, verbs, e.into())),
            }
        }
    }
    let mut accesses: Vec<Access> = shown_paths.iter().flat_map(|p| path_accesses(verbs, p)).collect();
    if name == "symlink" || name == "symlinkat" {
        // A link at the end of a secret name (`.env -> config/dev.env`, the
        // link made at `config/dev.env`) gives what it reaches that name too
        // (red team round 7, secret-link-end-naming).
        for p in &shown_paths {
            for secret in m.aliases.of_path(p) {
                accesses.extend(path_accesses(&[Verb::Read], &secret));
            }
        }
    }
    // Arguments read from memory beyond the paths (symlink target, xattr name and
    // value, times), read before deciding so the record shows them.
    let target = if name == "symlink" || name == "symlinkat" {
        Some(CString::new(m.read_path(n, a[0])?).map_err(|_| Fail::Errno(libc::EINVAL))?)
    } else {
        None
    };
    let v = m.decide(n, name, n.nr, &accesses, || json!({ "paths": shown_paths }));
    if !v.allowed() {
        return Ok(v.refusal().into());
    }
    let umask = agent::umask_of(tid);
    let p0 = parents.first();
    let o0 = objects.first();
    let dir = |p: &resolve::ResolvedParent| p.dir.as_raw_fd();
    if let ("rmdir" | "unlink" | "unlinkat", Some(p)) = (name, p0) {
        // A mount point of the agent's view is busy, as the kernel says there.
        if super::names::mount_point(dir(p), &p.name) {
            return Err(Fail::Errno(libc::EBUSY));
        }
    }
    let obj_path = |o: &Resolved| cstr(&proc_fd(&o.fd));
    // SAFETY: every pointer passed below is a C string or buffer owned here (the
    // parents' names, `target`, the /proc paths) alive for the call; the
    // descriptors are the monitor's own, resolved above; `mknod` is given a parent
    // resolved by `resolve`, as it requires.
    let r: libc::c_long = unsafe {
        match (name, p0, o0) {
            ("mkdir", Some(p), _) => {
                libc::mkdirat(dir(p), p.name.as_ptr(), (a[1] as u32) & 0o7777 & !umask).into()
            }
            ("mkdirat", Some(p), _) => {
                libc::mkdirat(dir(p), p.name.as_ptr(), (a[2] as u32) & 0o7777 & !umask).into()
            }
            ("rmdir", Some(p), _) => libc::unlinkat(dir(p), p.name.as_ptr(), libc::AT_REMOVEDIR).into(),
            ("unlink", Some(p), _) => libc::unlinkat(dir(p), p.name.as_ptr(), 0).into(),
            ("unlinkat", Some(p), _) => {
                libc::unlinkat(dir(p), p.name.as_ptr(), a[2] as i32 & libc::AT_REMOVEDIR).into()
            }
            ("mknod", Some(p), _) => mknod(p, a[1], a[2], umask),
            ("mknodat", Some(p), _) => mknod(p, a[2], a[3], umask),
            ("symlink" | "symlinkat", Some(p), _) => {
                let t = target.as_ref().ok_or(Fail::Errno(libc::EINVAL))?;
                libc::symlinkat(t.as_ptr(), dir(p), p.name.as_ptr()).into()
            }
            ("truncate", _, Some(o)) => libc::truncate(obj_path(o)?.as_ptr(), a[1] as i64).into(),
            ("chmod", _, Some(o)) => libc::chmod(obj_path(o)?.as_ptr(), a[1] as u32 & 0o7777).into(),
            ("fchmodat" | "fchmodat2", _, Some(o)) => {
                if is_symlink(&o.fd) {
                    return Err(Fail::Errno(libc::EOPNOTSUPP));
                }
                libc::chmod(obj_path(o)?.as_ptr(), a[2] as u32 & 0o7777).into()
            }
            ("chown" | "lchown", _, Some(o)) => libc::fchownat(
                o.fd.as_raw_fd(),
                c"".as_ptr(),
                a[1] as u32,
                a[2] as u32,
                libc::AT_EMPTY_PATH,
            )
            .into(),
            ("fchownat", _, Some(o)) => libc::fchownat(
                o.fd.as_raw_fd(),
                c"".as_ptr(),
                a[2] as u32,
                a[3] as u32,
                libc::AT_EMPTY_PATH,
            )
            .into(),
            ("utime" | "utimes" | "futimesat" | "utimensat", _, Some(o)) => {
                let times_reg = match name {
                    "utime" | "utimes" => 1,
                    _ => 2,
                };
                let times = read_times(m, n, name, a[times_reg])?;
                let ptr = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
                libc::utimensat(libc::AT_FDCWD, obj_path(o)?.as_ptr(), ptr, 0).into()
            }
            ("setxattr" | "lsetxattr", _, Some(o)) => {
                let attr = xattr_name(tid, a[1])?;
                let size = wire::xattr_set_size(a[3]).map_err(Fail::Errno)?;
                let value = agent::read_mem(tid, a[2], size)?;
                m.valid(n)?;
                libc::setxattr(
                    obj_path(o)?.as_ptr(),
                    attr.as_ptr(),
                    value.as_ptr().cast(),
                    size,
                    a[4] as i32,
                )
                .into()
            }
            ("removexattr" | "lremovexattr", _, Some(o)) => {
                let attr = xattr_name(tid, a[1])?;
                m.valid(n)?;
                libc::removexattr(obj_path(o)?.as_ptr(), attr.as_ptr()).into()
            }
            _ => return Err(Fail::Errno(libc::ENOSYS)),
        }
    };
    let r = cvt(r)?;
    if target.is_some() {
        // A link the agent made with a secret's name (or into a directory of
        // secret names) names what it reaches from now on (`crate::aliases`).
        if let Some(link) = shown_paths.first() {
            if let Err(refused) = decide_link_names(m, n, name, link, &accesses) {
                if let Some(p) = p0 {
                    // SAFETY: the parent handle and name resolved above.
                    unsafe { libc::unlinkat(dir(p), p.name.as_ptr(), 0) };
                }
                return Ok(refused);
            }
        }
    }
    Ok(Reply::Value(r).into())
}

/// The symlink at the canonical path `link` was just made or given its name
/// (`symlink`, or a rename or link of a symlink: `emulate/names.rs`): learns what
/// it names (`crate::aliases`), covers those objects with tripwires, and decides
/// a `read` of every name it gives (beyond `decided`, the call's own accesses),
/// as a rename's are: a link to a directory (`~/.cache/huggingface -> ws/hf`)
/// names the files below it (`.../huggingface/token`), which the agent may hold
/// open (red team rounds 7 and 8, dir-symlink-over-secret-tree,
/// dir-link-renamed-into-place). Every name it gives is decided each time, known
/// before or not (a refused link made again: refused-link-made-again). `Err`: the
/// refusal, for the caller to give after taking the naming back.
pub(super) fn decide_link_names(
    m: &Monitor,
    n: &Notification,
    name: &str,
    link: &str,
    decided: &[Access],
) -> Result<(), Answer> {
    let named = m.aliases.learn_link(link);
    if let Some(t) = m.tripwires.get() {
        for (path, secret) in &named {
            t.cover_object(path.as_deref().unwrap_or(secret), secret);
        }
    }
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut reads: Vec<Access> = Vec::new();
    for (_, secret) in &named {
        if seen.insert(secret.as_str()) {
            reads.extend(
                path_accesses(&[Verb::Read], secret)
                    .into_iter()
                    .filter(|a| !decided.contains(a)),
            );
        }
    }
    if reads.is_empty() {
        return Ok(());
    }
    let v = m.decide(
        n,
        name,
        n.nr,
        &reads,
        || json!({ "link": link, "named": reads.len() }),
    );
    if v.allowed() {
        Ok(())
    } else {
        Err(v.refusal().into())
    }
}

/// `fchmod`, `fchown`, `fsetxattr`, `fremovexattr`: decided as `write` on the path
/// the descriptor names; performed on that object by the monitor.
pub(super) fn fd_modify(m: &Monitor, n: &Notification, name: &str, fd: i32) -> Outcome {
    let a = n.args;
    let asker = m.asker(n);
    let how = How {
        empty_ok: true,
        ..How::default()
    };
    let r = resolve::resolve(&asker, fd, b"", how)?;
    let v = m.decide(
        n,
        name,
        n.nr,
        &path_accesses(&[Verb::Write], &r.path),
        || json!({ "fd": fd, "path": r.path }),
    );
    if !v.allowed() {
        return Ok(v.refusal().into());
    }
    let p = cstr(&proc_fd(&r.fd))?;
    // SAFETY: valid C strings and buffers owned here.
    let ret: libc::c_long = unsafe {
        match name {
            "fchmod" => libc::chmod(p.as_ptr(), a[1] as u32 & 0o7777).into(),
            "fchown" => libc::fchownat(
                r.fd.as_raw_fd(),
                c"".as_ptr(),
                a[1] as u32,
                a[2] as u32,
                libc::AT_EMPTY_PATH,
            )
            .into(),
            "fsetxattr" | "fremovexattr" => {
                let attr = xattr_name(n.tid, a[1])?;
                if name == "fsetxattr" {
                    let size = wire::xattr_set_size(a[3]).map_err(Fail::Errno)?;
                    let value = agent::read_mem(n.tid, a[2], size)?;
                    m.valid(n)?;
                    libc::setxattr(
                        p.as_ptr(),
                        attr.as_ptr(),
                        value.as_ptr().cast(),
                        size,
                        a[4] as i32,
                    )
                    .into()
                } else {
                    m.valid(n)?;
                    libc::removexattr(p.as_ptr(), attr.as_ptr()).into()
                }
            }
            _ => return Err(Fail::Errno(libc::ENOSYS)),
        }
    };
    Ok(Reply::Value(cvt(ret)?).into())
}

/// `mknodat` in a resolved parent, with the agent's umask applied.
///
/// # Safety
/// None beyond the types: `p` owns its directory descriptor and C-string name.
unsafe fn mknod(p: &resolve::ResolvedParent, mode: u64, dev: u64, umask: u32) -> libc::c_long {
    let mode = mode as u32;
    let perm = mode & 0o7777 & !umask;
    // SAFETY: `p.dir` is an open directory the monitor owns and `p.name` a
    // NUL-terminated name, both alive for the call.
    unsafe {
        libc::mknodat(
            p.dir.as_raw_fd(),
            p.name.as_ptr(),
            (mode & libc::S_IFMT) | perm,
            dev,
        )
    }
    .into()
}
