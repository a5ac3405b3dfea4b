//! The audit log: one JSON object per line for every decision the monitor makes
//! (and every socket it revokes), and a human line on stderr for each denial when
//! asked. Kernel-decided syscalls reach the monitor, and are logged here, only
//! when the logging filter is installed (`--log-denials` or `--audit-log`; see
//! `crate::denials`).
//!
//! Written off the decision path: a worker formats its line and hands it to a
//! bounded queue; a writer thread per destination writes it. A destination that is
//! slow or stops (an audit log on a FIFO nobody reads, a full disk, a file size
//! limit, stderr on a pipe nobody reads) therefore never delays a decision. When a
//! queue is full the line is counted, not waited for, and the writer writes how
//! many were dropped as soon as it catches up: nothing is lost silently. Write
//! errors are the log's loss only; the writer threads block `SIGPIPE` and
//! `SIGXFSZ`, so a write to a closed pipe or past `RLIMIT_FSIZE` fails with
//! `EPIPE`/`EFBIG` instead of killing `clawless`.
//!
//! [`out_of_reach`] refuses a log the policy would let the agent change.

use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One decision, as written to the log.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// The calling process (thread group id).
    pub pid: u32,
    /// The calling thread.
    pub tid: u32,
    /// The syscall's name.
    pub syscall: &'a str,
    /// The arguments as the monitor decided them: canonical paths, parsed addresses,
    /// flags; registers for calls that touch no entity.
    pub args: serde_json::Value,
    /// `allow`, `log`, `deny(EPERM)`, `kill`, or `revoke` for a shut-down socket.
    pub decision: String,
    /// `file:line` of the deciding rule, or `default`.
    pub rule: &'a str,
    /// The policy state before the call.
    pub state_before: &'a str,
    /// The policy state after it (another one if it fired a transition).
    pub state_after: &'a str,
}

/// Lines queued per destination before they are counted as dropped.
const AUDIT_QUEUE: usize = 8192;
const DENIAL_QUEUE: usize = 1024;
/// How much one write gathers from the queue.
const BATCH: usize = 64 * 1024;
/// The writer's pause after each write: lines queued meanwhile wake nobody (a
/// sender wakes the writer only when it waits in `recv`), so a busy monitor pays
/// at most one wake-up per pause, not one per line.
const PAUSE: Duration = Duration::from_millis(2);

enum Msg {
    Line(String),
    /// Everything before it is written (or failed): answer on the channel.
    Flush(SyncSender<()>),
}

/// How a destination says that lines were dropped.
#[derive(Clone, Copy)]
enum Kind {
    Json,
    Human,
}

impl Kind {
    fn dropped(self, n: u64) -> String {
        match self {
            Kind::Json => format!(
                "{}\n",
                serde_json::json!({ "time": now(), "dropped": n, "decision": "dropped" })
            ),
            Kind::Human => {
                format!("clawless: {n} denial messages dropped (stderr is not keeping up)\n")
            }
        }
    }
}

/// Counters shared by the queue's two ends.
#[derive(Default)]
struct Counts {
    /// Lines dropped and not yet reported by the writer.
    dropped: AtomicU64,
    /// Lines queued and not yet written (or failed).
    pending: AtomicU64,
    /// Lines whose write failed (a full disk, `EFBIG`, `EPIPE`).
    failed: AtomicU64,
}

/// One destination and its writer thread.
struct Sink {
    tx: SyncSender<Msg>,
    counts: Arc<Counts>,
}

impl Sink {
    fn new(out: impl Write + Send + 'static, kind: Kind, queue: usize, name: &str) -> Option<Sink> {
        let (tx, rx) = sync_channel(queue);
        let counts = Arc::new(Counts::default());
        let c = Arc::clone(&counts);
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(128 * 1024)
            .spawn(move || writer(out, rx, &c, kind))
            .ok()?;
        Some(Sink { tx, counts })
    }

    /// Queues a line; never waits.
    fn send(&self, line: String) {
        self.counts.pending.fetch_add(1, Ordering::Relaxed);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(Msg::Line(line))
        {
            self.counts.pending.fetch_sub(1, Ordering::Relaxed);
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until the writer wrote what is queued, until `deadline`. `false` if it
    /// did not (it is stuck on its destination).
    fn flush(&self, deadline: Instant) -> bool {
        let (ack, done) = sync_channel(1);
        let mut msg = Msg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        done.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }

    /// Lines that never made it: dropped and not reported, still queued, or
    /// failed.
    fn lost(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
            + self.counts.pending.load(Ordering::Relaxed)
            + self.counts.failed.load(Ordering::Relaxed)
    }
}

/// Blocks the signals a failed write raises in the calling thread (they are
/// thread-directed), so the write fails with an errno instead.
fn block_write_signals() {
    // SAFETY: a sigset_t initialised by sigemptyset, then plain calls.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::sigaddset(&mut set, libc::SIGXFSZ);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn writer(mut out: impl Write, rx: Receiver<Msg>, counts: &Counts, kind: Kind) {
    block_write_signals();
    let mut buf = String::new();
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        buf.clear();
        let mut lines = 0u64;
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Line(l) => {
                    buf.push_str(&l);
                    lines += 1;
                }
                Msg::Flush(ack) => acks.push(ack),
            }
            if buf.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        let dropped = counts.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            buf.push_str(&kind.dropped(dropped));
        }
        // A failed write is the log's loss only (a full disk, EFBIG, EPIPE),
        // counted and reported at exit.
        if out.write_all(buf.as_bytes()).and_then(|()| out.flush()).is_err() {
            counts.failed.fetch_add(lines, Ordering::Relaxed);
        }
        counts.pending.fetch_sub(lines, Ordering::Relaxed);
        let flushing = !acks.is_empty();
        for ack in acks.drain(..) {
            let _ = ack.try_send(());
        }
        if !flushing {
            std::thread::sleep(PAUSE);
        }
    }
}

/// Where records go.
pub struct AuditLog {
    file: Option<Sink>,
    denials: Option<Sink>,
}

/// Now, in seconds since the Unix epoch (the records' `time`).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl AuditLog {
    /// Starts a writer for the log file and one for stderr's denial lines, as asked.
    pub fn new(file: Option<File>, log_denials: bool) -> AuditLog {
        AuditLog {
            file: file.and_then(|f| Sink::new(f, Kind::Json, AUDIT_QUEUE, "claw-audit")),
            denials: log_denials
                .then(|| Sink::new(std::io::stderr(), Kind::Human, DENIAL_QUEUE, "claw-denials"))
                .flatten(),
        }
    }

    /// Is anything recorded at all? (Lets the monitor skip building records.)
    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.denials.is_some()
    }

    /// Queues a record (and its denial line); never waits for a destination.
    pub fn record(&self, r: &Record<'_>, denied: bool) {
        self.record_hinted(r, denied, None, &[]);
    }

    /// Is a human line on stderr asked for (`--log-denials`)?
    pub fn shows_denials(&self) -> bool {
        self.denials.is_some()
    }

    /// Queues a line for stderr (a transition), when `--log-denials` asked.
    pub fn say(&self, line: String) {
        if let Some(d) = &self.denials {
            d.send(line);
        }
    }

    /// [`AuditLog::record`], and the denial line ends with `hint` (the rule to
    /// add). The rule is shown with its text when it is in the standard library.
    /// `accesses`: what the call was decided as (verb and path or address), added
    /// to the JSON record when there are any (`clawless learn` reads them).
    pub fn record_hinted(
        &self,
        r: &Record<'_>,
        denied: bool,
        hint: Option<&str>,
        accesses: &[claw_ir::Access],
    ) {
        if let Some(f) = &self.file {
            let json = serde_json::to_value(r).map(|mut v| {
                if !accesses.is_empty() {
                    v["accesses"] = accesses
                        .iter()
                        .map(|a| match a {
                            claw_ir::Access::Path { verb, path } => {
                                serde_json::json!({ "verb": verb.name(), "path": path })
                            }
                            claw_ir::Access::Net { verb, addr, name } => {
                                let mut a =
                                    serde_json::json!({ "verb": verb.name(), "addr": addr.to_string() });
                                if let Some(n) = name {
                                    a["name"] = serde_json::json!(n);
                                }
                                a
                            }
                        })
                        .collect();
                }
                v
            });
            if let Ok(mut line) = json.and_then(|v| serde_json::to_string(&v)) {
                line.push('\n');
                f.send(line);
            }
        }
        if let (true, Some(d)) = (denied, &self.denials) {
            let state = if r.state_before.is_empty() {
                String::new()
            } else {
                format!(" in state {}", r.state_before)
            };
            let hint = hint.map(|h| format!("; hint: {h}")).unwrap_or_default();
            d.send(format!(
                "clawless: {} {} {}{state} (pid {}, rule {}){hint}\n",
                r.decision,
                r.syscall,
                r.args,
                r.pid,
                crate::denials::rule_shown(r.rule)
            ));
        }
    }

    /// At the end of the run: waits up to `limit` for the writers to write what
    /// is queued, and says on stderr how many records were lost if any were (a
    /// destination that stopped cannot keep `clawless` from exiting).
    pub fn finish(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        if let Some(f) = &self.file {
            f.flush(deadline);
            let lost = f.lost();
            if lost > 0 {
                // stderr may be a pipe nobody reads, too: say it if it can be said.
                let said = std::thread::Builder::new().stack_size(64 * 1024).spawn(move || {
                    block_write_signals();
                    eprintln!(
                        "clawless: {lost} audit records could not be written (the audit log did not keep up)"
                    );
                });
                if let Ok(t) = said {
                    let until = Instant::now() + Duration::from_millis(100);
                    while !t.is_finished() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
        }
        if let Some(d) = &self.denials {
            d.flush(deadline);
        }
    }
}

/// The verbs that change a file: create, truncate, overwrite, remove or rename over
/// it are `write` in the model; `append` adds to it.
const CHANGING: [claw_ir::Verb; 2] = [claw_ir::Verb::Write, claw_ir::Verb::Append];

/// Checks that no state of the policy lets the agent change the audit log at
/// `path`, and returns the path to open (canonical: the monitor opens exactly the
/// file it checked). Decided with the policy's reference semantics
/// ([`claw_ir::Ir::decide`]) on `write` and `append` of the log, and `write` of each
/// directory above it (renaming one would give the log a new name), by every
/// mediated syscall that writes paths; a syscall-level rule that allows such a
/// syscall counts as allowing wherever no path rule decides. The refusal names the
/// rule, the verb and the state.
pub fn out_of_reach(
    ir: &claw_ir::Ir,
    env: &claw_ir::Env,
    path: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    use claw_ir::{mediation, Access, Matcher, Request, Verb};
    let shown = path.display();
    let mut absolute = std::path::absolute(path).map_err(|e| format!("--audit-log `{shown}`: {e}"))?;
    // The file the open below creates or appends to: a dangling symlink is followed
    // to the target it would create (as the kernel does, at most 40 links).
    let mut links = 0;
    let canonical = loop {
        if let Ok(c) = std::fs::canonicalize(&absolute) {
            break c;
        }
        let dir = absolute
            .parent()
            .unwrap_or(std::path::Path::new("/"))
            .to_path_buf();
        let name = absolute
            .file_name()
            .ok_or_else(|| format!("--audit-log `{shown}` names no file"))?;
        let dir = std::fs::canonicalize(&dir)
            .map_err(|e| format!("--audit-log `{shown}`: {}: {e}", dir.display()))?;
        match std::fs::read_link(dir.join(name)) {
            Ok(target) if links < 40 => {
                links += 1;
                absolute = dir.join(target);
            }
            Ok(_) => {
                return Err(format!(
                    "--audit-log `{shown}`: too many levels of symbolic links"
                ))
            }
            // Not there yet: its directory made canonical, the name as given.
            Err(_) => break dir.join(name),
        }
    };
    let text = canonical.to_string_lossy().into_owned();
    let mut checks: Vec<(Verb, String)> = CHANGING.iter().map(|&v| (v, text.clone())).collect();
    for dir in canonical.ancestors().skip(1) {
        if dir.parent().is_some() {
            checks.push((Verb::Write, dir.to_string_lossy().into_owned()));
        }
    }
    let table = ir.table();
    let writers: Vec<u32> = mediation::EFFECTS
        .iter()
        .filter(|e| e.mediation.verbs().iter().any(|v| CHANGING.contains(v)))
        .filter_map(|e| table.by_name(e.name).map(|s| s.nr))
        .collect();
    let origin = |rule: Option<usize>| {
        rule.map_or("the default".to_string(), |i| {
            format!("the rule at {}", ir.rules[i].origin)
        })
    };
    for state in 0..ir.states.len() as u32 {
        let in_state = if ir.states.len() > 1 {
            format!(" in state `{}`", ir.states[state as usize])
        } else {
            String::new()
        };
        for (verb, p) in &checks {
            let access = [Access::Path {
                verb: *verb,
                path: p.clone(),
            }];
            // Path rules alone (no syscall has this number).
            let req = Request {
                nr: u32::MAX,
                args: [0; 6],
                accesses: &access,
            };
            let d = ir.decide(state, &req, env);
            let what = if *p == text {
                format!("{} `{text}`", verb.name())
            } else {
                format!("{} (rename) its directory `{p}`", verb.name())
            };
            if d.action.is_allowing() {
                return Err(format!(
                    "refusing --audit-log `{shown}`: the policy lets the agent {what} ({}{in_state}); \
                     the audit log must be out of the agent's reach",
                    origin(d.rule)
                ));
            }
            if d.rule.is_some() {
                continue; // a path rule refuses it, whatever the syscall
            }
            let by_syscall = ir.rules.iter().enumerate().find(|(_, r)| {
                r.in_state(state)
                    && r.action.is_allowing()
                    && matches!(&r.matcher, Matcher::Syscall { nr, .. } if writers.contains(nr))
            });
            if let Some((i, _)) = by_syscall {
                return Err(format!(
                    "refusing --audit-log `{shown}`: the policy lets the agent {what} ({}{in_state}); \
                     the audit log must be out of the agent's reach",
                    origin(Some(i))
                ));
            }
        }
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u32) -> Record<'static> {
        Record {
            time: 0.0,
            pid: i,
            tid: i,
            syscall: "openat",
            args: serde_json::json!({ "path": "/x" }),
            decision: "allow".into(),
            rule: "default",
            state_before: "",
            state_after: "",
        }
    }

    #[test]
    fn records_are_written_in_order_and_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let log = AuditLog::new(Some(File::create(&path).unwrap()), false);
        for i in 0..100 {
            log.record(&record(i), false);
        }
        log.finish(Duration::from_secs(10));
        let text = std::fs::read_to_string(&path).unwrap();
        let pids: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["pid"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(pids, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_log_nobody_reads_never_blocks_and_drops_are_counted() {
        // A pipe whose reader never reads: the writer blocks once it is full.
        let mut fds = [0; 2];
        // SAFETY: fds is valid for pipe2.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fds[1] is a fresh descriptor owned here.
        let w = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
        let log = AuditLog::new(Some(w), false);
        let started = Instant::now();
        let n = AUDIT_QUEUE as u32 * 4;
        for i in 0..n {
            log.record(&record(i), false);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let f = log.file.as_ref().unwrap();
        assert!(f.counts.dropped.load(Ordering::Relaxed) > 0);
        let flushed = log
            .file
            .as_ref()
            .unwrap()
            .flush(Instant::now() + Duration::from_millis(200));
        assert!(!flushed, "the writer is stuck on the full pipe");
        // The reader reads: the writer catches up and says how many it dropped.
        // SAFETY: fds[0] is the read end pipe2 made above, owned by nothing else.
        let mut r = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = std::io::Read::read_to_string(&mut r, &mut all);
            all
        });
        log.record(&record(n), false);
        assert!(log
            .file
            .as_ref()
            .unwrap()
            .flush(Instant::now() + Duration::from_secs(10)));
        drop(log);
        let all = reader.join().unwrap();
        let mut lines = 0u64;
        let mut dropped = 0u64;
        for l in all.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            match v["dropped"].as_u64() {
                Some(d) => dropped += d,
                None => lines += 1,
            }
        }
        assert!(dropped > 0, "a record says how many were dropped");
        assert_eq!(
            lines + dropped,
            u64::from(n) + 1,
            "every record is written or counted"
        );
    }

    #[test]
    fn a_write_error_is_survived() {
        // A pipe whose reader is gone: EPIPE, and SIGPIPE must not kill us.
        let mut fds = [0; 2];
        // SAFETY: fds is valid for pipe2.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fds[0] is the fresh read end, closed once (the writer then
        // meets EPIPE).
        unsafe { libc::close(fds[0]) };
        // SAFETY: fds[1] is the fresh write end, owned by nothing else.
        let w = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
        let log = AuditLog::new(Some(w), false);
        log.record(&record(1), false);
        assert!(log
            .file
            .as_ref()
            .unwrap()
            .flush(Instant::now() + Duration::from_secs(10)));
        assert_eq!(
            log.file.as_ref().unwrap().lost(),
            1,
            "the failed record is counted"
        );
    }
}
