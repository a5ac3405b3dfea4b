//! Making refusals visible: the calls the kernel decides against the agent when
//! the logging filter is installed (see `claw_bpf::logging`), the rule that
//! refused a call shown with its text when it is in the embedded standard library,
//! a hint naming the rule that would allow it, and the syscall a `kill` ended the
//! command for.
//!
//! The logging filter hands every call the policy's filter refuses to the
//! monitor; [`kernel_decided`] runs the policy's own filter on the notification's
//! `seccomp_data` (the registers as the kernel saw them: nothing the agent can
//! change) and answers what it returns: the same errno, or the kill (`SIGKILL` of
//! the whole process, whose thread is stopped in the call and never returns to
//! user space; `clawless` then reports the kernel's `SIGSYS` status, 128+31, for
//! the command). It does not know how mediated calls are decided; those go on to
//! the monitor's handlers.

use crate::agent;
use crate::audit::Record;
use crate::monitor::{Monitor, Outcome};
use crate::notify::{Notification, Reply};
use claw_bpf::{SeccompData, RET_ACTION_FULL, RET_DATA, RET_ERRNO, RET_USER_NOTIF};
use claw_ir::{Access, Request};
use serde_json::json;

/// The call that a `kill` ended a process of the sandbox for.
#[derive(Debug, Clone)]
pub struct Killed {
    /// The process killed (thread group id).
    pub tgid: u32,
    /// The syscall that killed it.
    pub syscall: String,
    /// The rule that said `kill` (`file:line`, or `default`).
    pub rule: String,
}

/// The rule's text when `origin` (`std/groups.claw:12`) is a line of an embedded
/// standard module: the user does not have that file.
pub fn rule_text(origin: &str) -> Option<&'static str> {
    let (file, line) = origin.rsplit_once(':')?;
    let line: usize = line.parse().ok()?;
    let (_, _, src) = claw_stdlib::modules::MODULES
        .iter()
        .find(|(_, f, _)| *f == file)?;
    let text = src.lines().nth(line.checked_sub(1)?)?.trim();
    (!text.is_empty()).then_some(text)
}

/// `std/groups.claw:12 (`kill ptrace;`)`, or the origin alone.
pub fn rule_shown(origin: &str) -> String {
    match rule_text(origin) {
        Some(t) => format!("{origin}: `{t}`"),
        None => origin.to_string(),
    }
}

/// What to add to the policy to allow a refused call, or why adding is not
/// enough. `rule` is the deciding rule's origin (`default` when none matched).
pub fn hint(syscall: &str, accesses: &[Access], rule: &str) -> String {
    if rule != "default" {
        // The most severe matching rule wins: an `allow` next to it changes
        // nothing.
        return format!("the rule above decides it (the most severe matching rule wins): narrow or remove it to allow `{syscall}`");
    }
    match accesses.first() {
        None => format!("add `allow {syscall};`"),
        Some(Access::Path { verb, path }) => {
            let verbs: Vec<&str> = accesses
                .iter()
                .filter_map(|a| match a {
                    Access::Path { verb: v, path: p } if p == path => Some(v.name()),
                    _ => None,
                })
                .collect();
            let verbs = if verbs.is_empty() {
                vec![verb.name()]
            } else {
                verbs
            };
            format!(
                "add `allow {} path \"{}\";`",
                verbs.join(", "),
                path.replace('"', "\\\"")
            )
        }
        Some(Access::Net { verb, addr, name }) => {
            let endpoint = match addr {
                claw_ir::NetAddr::Inet { proto, port, .. } if name.is_some() => {
                    let p = if *proto == claw_ir::Proto::Udp {
                        "udp"
                    } else {
                        "tcp"
                    };
                    format!(
                        "endpoint {p} \"{}\" port {port}",
                        name.as_deref().unwrap_or_default()
                    )
                }
                claw_ir::NetAddr::Inet { proto, ip, port } => {
                    let p = if *proto == claw_ir::Proto::Udp {
                        "udp"
                    } else {
                        "tcp"
                    };
                    format!("endpoint {p} \"{ip}\" port {port}")
                }
                claw_ir::NetAddr::UnixPath(p) => format!("endpoint unix \"{p}\""),
                claw_ir::NetAddr::UnixAbstract(n) => format!("endpoint unix \"@{n}\""),
            };
            format!("add `allow {} {endpoint};`", verb.name())
        }
    }
}

/// A transition as `--log-denials` prints it:
/// `clean -> tainted: read /w/.env (pid 4242)`.
pub fn transition_line(from: &str, to: &str, access: Option<&Access>, syscall: &str, pid: u32) -> String {
    let what = match access {
        Some(Access::Path { verb, path }) => format!("{} {path}", verb.name()),
        Some(Access::Net { verb, addr, name }) => {
            format!(
                "{} {addr}{}",
                verb.name(),
                claw_ir::domain::show_name(name.as_deref())
            )
        }
        None => syscall.to_string(),
    };
    format!("clawless: {from} -> {to}: {what} (pid {pid})\n")
}

/// When the logging filter is installed: if the policy's filter refuses this
/// call, reports and answers it as the kernel would have; `None` if the policy's
/// filter too hands it to the monitor.
/// `learn`: the learning filter is installed: a call the policy allows is
/// recorded and let through (or, when the monitor mediates it, handed to its
/// handler, which records what it touches).
pub fn kernel_decided(
    m: &Monitor,
    filter: &[claw_bpf::Insn],
    learn: bool,
    n: &Notification,
) -> Option<Outcome> {
    let data = SeccompData {
        nr: n.nr,
        arch: n.arch,
        instruction_pointer: n.ip,
        args: n.args,
    };
    let ret = match claw_bpf::run(filter, &data) {
        Ok((r, _)) => r,
        // The loader validated the program; fail closed all the same.
        Err(_) => RET_ERRNO | libc::ENOSYS as u32,
    };
    if ret == RET_USER_NOTIF {
        return None;
    }
    if !claw_bpf::logging::refuses(ret) {
        return Some(allowed(m, n, learn));
    }
    let foreign = n.arch != m.ir.arch.audit_arch() || n.nr >= claw_ir::route::X32_BIT;
    let name = if foreign {
        format!("syscall {:#x} (arch {:#x})", n.nr, n.arch)
    } else {
        m.table()
            .by_nr(n.nr)
            .map_or_else(|| format!("syscall {}", n.nr), |s| s.name.to_string())
    };
    let state = m.state();
    let rule = if foreign {
        "the filter's architecture check (a foreign-architecture or x32 call)".to_string()
    } else if name == "clone3" {
        "the runtime: clone3 is refused with ENOSYS (its flags cannot be checked; libc falls back to clone)"
            .to_string()
    } else {
        let req = Request {
            nr: n.nr,
            args: n.args,
            accesses: &[],
        };
        m.ir.decide(state, &req, &m.env)
            .rule
            .map_or_else(|| "default".to_string(), |i| m.ir.rules[i].origin.clone())
    };
    let errno = (ret & RET_ACTION_FULL == RET_ERRNO).then_some((ret & RET_DATA) as i32);
    let tgid = agent::tgid_of(n.tid).unwrap_or(n.tid);
    let decision = match errno {
        Some(e) => claw_ir::Action::Deny(e as u16).to_string(),
        None => "kill".to_string(),
    };
    let s = &m.ir.states[state as usize];
    let quiet = name == "clone3";
    let hint = (!foreign && !quiet).then(|| hint(&name, &[], &rule));
    m.audit().record_hinted(
        &Record {
            time: crate::audit::now(),
            pid: tgid,
            tid: n.tid,
            syscall: &name,
            args: json!({ "registers": n.args, "decided_by": "kernel" }),
            decision,
            rule: &rule,
            state_before: s,
            state_after: s,
        },
        !quiet,
        hint.as_deref(),
        &[],
    );
    Some(match errno {
        Some(e) => Ok(Reply::Errno(e).into()),
        None => {
            m.note_kill(Killed {
                tgid,
                syscall: name,
                rule,
            });
            // SAFETY: plain syscall. The thread is stopped in this call: the whole
            // process dies before it returns to user space.
            unsafe { libc::kill(tgid as i32, libc::SIGKILL) };
            Err(crate::monitor::Fail::Gone)
        }
    })
}

/// A call the policy's filter lets through, seen because the learning filter is
/// installed: a mediated call goes to its handler (which decides with the IR and
/// records what it touches); any other is recorded and continued. (Only the
/// learning filter sends allowed calls here: the logging filter never does.)
fn allowed(m: &Monitor, n: &Notification, learn: bool) -> Outcome {
    let sc = m.table().by_nr(n.nr);
    if learn && n.arch == m.ir.arch.audit_arch() {
        if let Some(sc) = sc {
            if claw_ir::mediation::of(sc.name).is_some() {
                return m.handle_mediated(n);
            }
        }
    }
    if m.audit().enabled() {
        let name = sc.map_or_else(|| format!("syscall {}", n.nr), |s| s.name.to_string());
        let s = &m.ir.states[m.state() as usize];
        m.audit().record(
            &Record {
                time: crate::audit::now(),
                pid: agent::tgid_of(n.tid).unwrap_or(n.tid),
                tid: n.tid,
                syscall: &name,
                args: json!({ "registers": n.args, "decided_by": "kernel" }),
                decision: "allow".into(),
                rule: "learn",
                state_before: s,
                state_after: s,
            },
            false,
        );
    }
    Ok(Reply::Continue.into())
}

/// Says which call a `kill` ended the command for, and gives the status the
/// kernel's kill would have (128+SIGSYS) when the monitor killed the command
/// itself with `SIGKILL`.
pub fn explain_kill(killed: Option<Killed>, command: u32, code: i32) -> i32 {
    let Some(k) = killed else {
        return code;
    };
    eprintln!(
        "clawless: killed by SIGSYS: the policy kills `{}` (pid {}, rule {})",
        k.syscall,
        k.tgid,
        rule_shown(&k.rule)
    );
    if k.tgid == command && code == 128 + libc::SIGKILL {
        128 + libc::SIGSYS
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_ir::Verb;

    #[test]
    fn stdlib_rules_are_shown_with_their_text() {
        let (_, file, src) = claw_stdlib::modules::MODULES[0];
        let (i, line) = src
            .lines()
            .enumerate()
            .find(|(_, l)| !l.trim().is_empty())
            .unwrap();
        let origin = format!("{file}:{}", i + 1);
        assert_eq!(rule_text(&origin), Some(line.trim()));
        assert_eq!(rule_text("policy.claw:3"), None);
        assert_eq!(rule_text("std/groups.claw:0"), None);
        assert_eq!(rule_text("std/groups.claw:999999"), None);
        assert_eq!(rule_text("default"), None);
    }

    #[test]
    fn hints_name_the_rule_to_add() {
        assert_eq!(hint("ioctl", &[], "default"), "add `allow ioctl;`");
        let send = [Access::Net {
            verb: Verb::Send,
            addr: claw_ir::NetAddr::Inet {
                proto: claw_ir::Proto::Udp,
                ip: "127.0.0.1".parse().unwrap(),
                port: 9,
            },
            name: None,
        }];
        assert_eq!(
            hint("sendto", &send, "default"),
            "add `allow send endpoint udp \"127.0.0.1\" port 9;`"
        );
        let open = [
            Access::Path {
                verb: Verb::Read,
                path: "/w/a".into(),
            },
            Access::Path {
                verb: Verb::Write,
                path: "/w/a".into(),
            },
        ];
        assert_eq!(
            hint("openat", &open, "default"),
            format!(
                "add `allow {}, {} path \"/w/a\";`",
                Verb::Read.name(),
                Verb::Write.name()
            )
        );
        assert!(hint("ptrace", &[], "p.claw:3").contains("narrow or remove it to allow `ptrace`"));
    }
}
