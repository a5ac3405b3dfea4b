//! The sandbox's cgroup (isolated mode): a cgroup v2 directory of its own,
//! `clawless.<our pid>` below the cgroup `clawless` runs in, holding our init (born
//! in it with `clone3(CLONE_INTO_CGROUP)`, or moved in before it forks) and so
//! everything it forks. Its one use is the v2 *freezer*: a late-mark scan
//! ([`crate::tripwire`]) freezes the sandbox while it looks at what the sandbox
//! holds, so that nothing of the sandbox reads, forks or moves a descriptor
//! between the mark and the decision.
//!
//! What the kernel does (Linux 6.x, kernel/cgroup/freezer.c, cgroup.c, signal.c):
//! writing `1` to `cgroup.freeze` sets `CGRP_FREEZE` and, before the write
//! returns, gives every task of the cgroup `JOBCTL_TRAP_FREEZE` and a signal
//! wake-up (`signal_wake_up(task, false)`: interruptible sleeps end, a running task
//! is kicked). A task with that bit enters the freezer trap (`do_freezer_trap`, in
//! `get_signal`) on its way back to user mode: from the write on, *no user code of
//! the sandbox runs*. A task in a syscall finishes it first: an interruptible wait
//! returns (restarted after the thaw), a killable or uninterruptible one (a seccomp
//! notification the monitor has received, `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`;
//! a fanotify permission event; I/O) lasts until it is answered. A child forked
//! meanwhile is given the bit in `cgroup_post_fork` and freezes before it runs; a
//! vfork parent waiting for its child counts as frozen (`wait_for_vfork_done`).
//! `cgroup.events` says `frozen 1` once every task is in the trap (or stopped), and
//! is notified (`POLLPRI`) when that changes. A fatal signal still ends a frozen
//! task (`get_signal` looks at a group exit before the trap). `rmdir` fails
//! (`EBUSY`) on a cgroup that still has tasks.
//!
//! What this module does not know: which task keeps the cgroup from `frozen` (v2
//! does not say); and whether a sandbox process left the cgroup (the caller checks
//! each process's `/proc/<pid>/cgroup` with [`Cgroup::holds`]). It needs a
//! writable cgroup2 hierarchy (root, or a delegated subtree) and a cgroup of ours
//! that may have a child holding processes; when any of that is missing,
//! [`Cgroup::create`] says why and the sandbox runs without one. Stale directories
//! of runs that died (`clawless.<pid>` whose pid is gone) are removed at
//! creation: `rmdir` of one that is still populated fails, so a live run's is
//! safe (an empty one created by a `clawless` of another pid namespace an instant
//! before it moves its init there can be lost: that run then freezes nothing).

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable that keeps `clawless` from making a cgroup (a test
/// hook: the run then goes as on a machine without a writable cgroup2).
pub const NO_CGROUP: &str = "CLAWLESS_TEST_NO_CGROUP";

/// The sandbox's cgroup.
pub struct Cgroup {
    /// Its directory (`<cgroup2 mount><our cgroup>/clawless.<pid>`).
    dir: PathBuf,
    /// Its path as `/proc/<pid>/cgroup` shows it (`0::<rel>`) to us.
    rel: String,
    /// How many freezes are in force ([`Cgroup::freeze`]; the last one thaws).
    freezes: Mutex<usize>,
}

/// A freeze in force: thaws when the last one is dropped.
pub struct Frozen<'a>(&'a Cgroup);

/// How many times removal is tried (10 ms apart) while tasks are still leaving.
const REMOVE_TRIES: usize = 100;

/// The most `clawless.*` entries looked at for stale ones.
const MAX_STALE: usize = 4096;

impl Cgroup {
    /// Makes the sandbox's cgroup (empty: our init is created in it with
    /// `clone3(CLONE_INTO_CGROUP)`, [`Cgroup::open`], or moved in, [`Cgroup::attach`]).
    /// `Err` says why not; nothing is left behind then.
    pub fn create() -> Result<Cgroup, String> {
        if std::env::var_os(NO_CGROUP).is_some() {
            return Err(format!("{NO_CGROUP} is set (a test hook)"));
        }
        let ours = own_cgroup()?;
        let (mount, root) = cgroup2_mount(&ours)?;
        let below = ours
            .strip_prefix(root.as_str())
            .unwrap_or(&ours)
            .trim_start_matches('/');
        let parent = if below.is_empty() {
            mount
        } else {
            mount.join(below)
        };
        remove_stale(&parent);
        let name = format!("clawless.{}", std::process::id());
        let dir = parent.join(&name);
        let rel = format!("{}/{name}", ours.trim_end_matches('/'));
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            // Ours, from an attempt of this run whose removal failed: once more.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_dir(&dir);
                std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            }
            Err(e) => return Err(format!("mkdir {}: {e}", dir.display())),
        }
        let cg = Cgroup {
            dir,
            rel,
            freezes: Mutex::new(0),
        };
        if !cg.dir.join("cgroup.freeze").exists() {
            return Err(format!("{} has no cgroup.freeze (Linux 5.2+)", cg.dir.display()));
        }
        Ok(cg)
    }

    /// Its directory, open (for `clone3`'s `CLONE_INTO_CGROUP`: the child is
    /// born in it, without the migration's cost, ~8 ms here).
    pub fn open(&self) -> Result<OwnedFd, String> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&self.dir)
            .map(OwnedFd::from)
            .map_err(|e| format!("opening {}: {e}", self.dir.display()))
    }

    /// Moves process `pid` (not forked yet) into the cgroup.
    pub fn attach(self, pid: i32) -> Result<Cgroup, String> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| format!("moving our init into {}: {e}", self.dir.display()))?;
        Ok(self)
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether process `pid` is in this cgroup (`None`: its `/proc` entry cannot
    /// be read, it is gone).
    pub fn holds(&self, pid: i32) -> Option<bool> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        Some(
            text.lines()
                .any(|l| l.strip_prefix("0::") == Some(self.rel.as_str())),
        )
    }

    /// Freezes the sandbox (`cgroup.freeze` ← 1), or counts one more freeze if
    /// one is in force; the guard thaws when the last one ends. `Err` when the
    /// kernel refuses the write (the cgroup is gone).
    pub fn freeze(&self) -> Result<Frozen<'_>, String> {
        let mut n = self.freezes.lock().unwrap_or_else(|e| e.into_inner());
        if *n == 0 {
            self.write_freeze(b"1")?;
        }
        *n = n.checked_add(1).ok_or("too many freezes")?;
        Ok(Frozen(self))
    }

    fn write_freeze(&self, v: &[u8]) -> Result<(), String> {
        self.write_freeze_io(v)
            .map_err(|e| format!("writing {}/cgroup.freeze: {e}", self.dir.display()))
    }

    fn write_freeze_io(&self, v: &[u8]) -> std::io::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.freeze"))
            .and_then(|mut f| f.write_all(v))
    }

    /// Removes the directory (every process of the sandbox gone, or leaving),
    /// trying for about a second while the kernel still counts tasks in it.
    pub fn remove(&self) -> Result<(), String> {
        let mut last = None;
        for _ in 0..REMOVE_TRIES {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!(
            "cannot remove {}: {}",
            self.dir.display(),
            last.map_or_else(String::new, |e| e.to_string())
        ))
    }
}

impl Frozen<'_> {
    /// Waits, up to `bound`, until `cgroup.events` says `frozen 1` (every task of
    /// the sandbox in the freezer trap); `false` when it did not in time.
    pub fn wait(&self, bound: Duration) -> bool {
        let Ok(mut f) = std::fs::File::open(self.0.dir.join("cgroup.events")) else {
            return false;
        };
        let end = Instant::now() + bound;
        // Bounded: each round either sees the state or waits for a notification
        // (or the rest of the bound); a notification per round at most.
        for _ in 0..10_000 {
            let mut text = String::new();
            if f.seek(SeekFrom::Start(0)).is_err() || f.read_to_string(&mut text).is_err() {
                return false;
            }
            if text.lines().any(|l| l == "frozen 1") {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let mut p = libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLPRI,
                revents: 0,
            };
            let ms = i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, ms) };
        }
        false
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let mut n = self.0.freezes.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            match self.0.write_freeze_io(b"0") {
                Ok(()) => {}
                // Removed: the run is over (every process of it gone).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    // A cgroup that cannot be thawed would keep the sandbox
                    // stopped: ended instead (a fatal signal ends frozen tasks).
                    eprintln!(
                        "clawless: writing {}/cgroup.freeze: {e}: killing the sandbox",
                        self.0.dir.display()
                    );
                    let _ = std::fs::write(self.0.dir.join("cgroup.kill"), "1");
                }
            }
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            eprintln!("clawless: the sandbox's cgroup: {e}");
        }
    }
}

/// Our own cgroup v2 path (the `0::` line of `/proc/self/cgroup`).
fn own_cgroup() -> Result<String, String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
    parse_own(&text).ok_or_else(|| "no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)".to_string())
}

fn parse_own(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .filter(|p| p.starts_with('/') && !p.ends_with(" (deleted)"))
        .map(str::to_string)
}

/// The cgroup2 mount whose root contains `ours`: its mount point and root.
fn cgroup2_mount(ours: &str) -> Result<(PathBuf, String), String> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("/proc/self/mountinfo: {e}"))?;
    parse_mountinfo(&text, ours).ok_or_else(|| "no cgroup2 mount in /proc/self/mountinfo".to_string())
}

fn parse_mountinfo(text: &str, ours: &str) -> Option<(PathBuf, String)> {
    text.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        if post.split(' ').next() != Some("cgroup2") {
            return None;
        }
        let mut f = pre.split(' ');
        let root = unescape(f.nth(3)?);
        let point = unescape(f.next()?);
        let inside = root == "/"
            || ours == root
            || ours
                .strip_prefix(root.as_str())
                .is_some_and(|r| r.starts_with('/'));
        inside.then(|| (PathBuf::from(point), root))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes `clawless.<pid>` directories below `parent` whose pid is gone.
fn remove_stale(parent: &Path) {
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten().take(MAX_STALE) {
        let Some(pid) = e
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("clawless."))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let gone = pid > 0
            && unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            // Fails (EBUSY) if it still holds processes.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_mountinfo, parse_own, unescape};
    use std::path::PathBuf;

    #[test]
    fn finds_our_cgroup_and_its_mount() {
        assert_eq!(
            parse_own("1:cpu:/a\n0::/user.slice/x\n"),
            Some("/user.slice/x".into())
        );
        assert_eq!(parse_own("1:cpu:/a\n"), None);
        let mi = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                  30 1 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n";
        assert_eq!(
            parse_mountinfo(mi, "/"),
            Some((PathBuf::from("/sys/fs/cgroup/unified"), "/".into()))
        );
        let sub = "50 1 0:30 /box /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            parse_mountinfo(sub, "/box/me"),
            Some((PathBuf::from("/mnt/my cg"), "/box".into()))
        );
        assert_eq!(parse_mountinfo(sub, "/boxer"), None);
        assert_eq!(parse_mountinfo("30 1 0:26 / /x ro - tmpfs tmpfs ro\n", "/"), None);
        assert_eq!(unescape("a\\134b\\0"), "a\\b\\0");
    }
}
