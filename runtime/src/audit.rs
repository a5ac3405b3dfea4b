//! The audit log: one JSON object per line for every decision the monitor makes
//! (and every socket it revokes), and a human line on stderr for each denial when
//! asked. Kernel-decided syscalls never reach the monitor and are not logged here.

use serde::Serialize;
use std::fs::File;
use std::io::{LineWriter, Write};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// One decision, as written to the log.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// Seconds since the Unix epoch.
    pub time: f64,
    pub pid: u32,
    pub tid: u32,
    pub syscall: &'a str,
    /// The arguments as the monitor decided them: canonical paths, parsed addresses,
    /// flags; registers for calls that touch no entity.
    pub args: serde_json::Value,
    /// `allow`, `log`, `deny(EPERM)`, `kill`, or `revoke` for a shut-down socket.
    pub decision: String,
    /// `file:line` of the deciding rule, or `default`.
    pub rule: &'a str,
    pub state_before: &'a str,
    pub state_after: &'a str,
}

/// Where records go.
pub struct AuditLog {
    file: Option<Mutex<LineWriter<File>>>,
    log_denials: bool,
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl AuditLog {
    pub fn new(file: Option<File>, log_denials: bool) -> AuditLog {
        AuditLog {
            file: file.map(|f| Mutex::new(LineWriter::new(f))),
            log_denials,
        }
    }

    /// Is anything recorded at all? (Lets the monitor skip building records.)
    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.log_denials
    }

    pub fn record(&self, r: &Record<'_>, denied: bool) {
        if let Some(f) = &self.file {
            if let Ok(line) = serde_json::to_string(r) {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                // A full disk must not stop enforcement; the write error is the
                // log's loss only.
                let _ = writeln!(f, "{line}");
            }
        }
        if denied && self.log_denials {
            let state = if r.state_before.is_empty() {
                String::new()
            } else {
                format!(" in state {}", r.state_before)
            };
            eprintln!(
                "clawless: {} {} {}{state} (pid {}, rule {})",
                r.decision, r.syscall, r.args, r.pid, r.rule
            );
        }
    }
}
