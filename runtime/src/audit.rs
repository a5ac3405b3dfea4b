//! The audit log: one JSON object per line for every decision the monitor makes
//! (and every socket it revokes), and a human line on stderr for each denial when
//! asked. Kernel-decided syscalls never reach the monitor and are not logged here.
//! [`out_of_reach`] refuses a log the policy would let the agent change.

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
