//! `clawc export --oci policy.claw`: the static part of a policy as an OCI seccomp
//! profile (the `linux.seccomp` of a runtime spec, Docker's `--security-opt
//! seccomp=`, a Kubernetes `seccompProfile`).
//!
//! The profile is a *bound*, like the Landlock plan: it allows at least everything
//! the policy allows in any state, and refuses what no state allows. What the
//! kernel decides the same way in every state from the registers is exported
//! exactly (argument conditions too, where libseccomp reads them the same way);
//! what the monitor decides (paths, addresses, state, transitions) and argument
//! rules libseccomp cannot express exactly are exported as allowed, with a
//! `comment` saying so: `clawless exec` inside the container enforces them.
//! It knows the IR and the profile format, not the container runtime.

use claw_ir::{route::ENOSYS, Action, ArgRule, CmpOp, Ir, KernelDecision, Matcher, Route};
use claw_stdlib::Arch;
use serde_json::{json, Value};

fn act_json(a: Action) -> (&'static str, Option<u16>) {
    match a {
        Action::Allow => ("SCMP_ACT_ALLOW", None),
        Action::Log => ("SCMP_ACT_LOG", None),
        Action::Deny(e) => ("SCMP_ACT_ERRNO", Some(e)),
        Action::Kill => ("SCMP_ACT_KILL_PROCESS", None),
    }
}

/// What the profile says for one syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Plain(Action),
    /// Argument rules libseccomp reads as Claw does; the rest is the default.
    Args(Vec<ArgRule>),
    /// Allowed here; decided inside the container (the reason).
    Inside(Action, &'static str),
}

/// The refusal every state gives syscall `nr` whatever its accesses, if there is
/// one: an unconditional syscall rule that does not allow, in every state (it
/// applies to every access, so no verb rule can make the answer an allow). Of the
/// states' refusals, the least severe (a bound).
fn always_refused(ir: &Ir, nr: u32) -> Option<Action> {
    let mut least: Option<Action> = None;
    for s in 0..ir.states.len() as u32 {
        let floor = ir
            .rules
            .iter()
            .filter(|r| r.in_state(s))
            .filter(
                |r| matches!(&r.matcher, Matcher::Syscall { nr: n, conds } if *n == nr && conds.is_empty()),
            )
            .map(|r| r.action)
            .reduce(Action::max)?;
        if floor.is_allowing() {
            return None;
        }
        least = Some(match least {
            Some(l) if l.rank() <= floor.rank() => l,
            _ => floor,
        });
    }
    least
}

/// Can some state allow some request of syscall `nr`? (A bound: any allowing rule
/// on it or on a verb it performs, or an allowing default, unless an unconditional
/// refusal of the syscall holds in every state.)
fn may_allow(ir: &Ir, nr: u32, name: &str) -> bool {
    if always_refused(ir, nr).is_some() {
        return false;
    }
    if ir.default.is_allowing() {
        return true;
    }
    let verbs = claw_ir::mediation::of(name).map_or(&[][..], |m| m.verbs());
    ir.rules.iter().any(|r| {
        r.action.is_allowing()
            && match &r.matcher {
                Matcher::Syscall { nr: n, .. } => *n == nr,
                Matcher::Access { verbs: vs, .. } => vs.iter().any(|v| verbs.contains(v)),
            }
    })
}

/// Argument rules libseccomp evaluates exactly as the kernel decision does: the
/// fallback is the default, every rule has one action, and each condition is on
/// its own argument with all 64 bits compared (libseccomp compares whole
/// registers; Claw's 32-bit arguments would differ with the upper half set).
fn exact_args(ir: &Ir, k: &KernelDecision) -> bool {
    k.fallback == ir.default
        && k.rules.iter().all(|r| r.action == k.rules[0].action)
        && k.rules.iter().all(|r| {
            let mut seen = [false; 6];
            r.conds.iter().all(|c| {
                let fresh = !std::mem::replace(&mut seen[c.arg as usize], true);
                let full = c.width == 64;
                let masked_ok = c.mask.is_none() || c.op == CmpOp::Eq;
                fresh && full && masked_ok
            })
        })
}

fn entry(ir: &Ir, nr: u32, name: &str) -> Entry {
    if name == "clone3" {
        // Every Claw filter answers clone3 ENOSYS (or kills): libc falls back to clone.
        return match ir.route(nr) {
            Route::Kernel(k) if k.constant() == Some(Action::Kill) => Entry::Plain(Action::Kill),
            _ => Entry::Plain(Action::Deny(ENOSYS)),
        };
    }
    match ir.route(nr) {
        Route::Kernel(k) => match k.constant() {
            Some(a) => Entry::Plain(a),
            None if exact_args(ir, &k) => Entry::Args(k.rules),
            None => {
                let allows = k.fallback.is_allowing() || k.rules.iter().any(|r| r.action.is_allowing());
                if allows {
                    Entry::Inside(
                        Action::Allow,
                        "argument conditions are enforced by clawless inside the container",
                    )
                } else {
                    Entry::Plain(k.fallback)
                }
            }
        },
        Route::Monitor(reason) => {
            if may_allow(ir, nr, name) {
                let why = match reason {
                    claw_ir::MonitorReason::StateDependent => {
                        "allowed in some state: the state is tracked by clawless inside the container"
                    }
                    claw_ir::MonitorReason::Mediated(_) => {
                        "its path or address is decided by the clawless monitor inside the container"
                    }
                    claw_ir::MonitorReason::Transition => {
                        "it can change the state: decided by the clawless monitor inside the container"
                    }
                };
                Entry::Inside(Action::Allow, why)
            } else {
                Entry::Plain(always_refused(ir, nr).unwrap_or(ir.default))
            }
        }
    }
}

fn rule_json(names: Vec<&str>, a: Action, args: Option<&[claw_ir::ArgCond]>, comment: Option<&str>) -> Value {
    let (action, errno) = act_json(a);
    let mut v = json!({ "names": names, "action": action });
    if let Some(e) = errno {
        v["errnoRet"] = json!(e);
    }
    if let Some(conds) = args {
        v["args"] = Value::Array(
            conds
                .iter()
                .map(|c| {
                    let (op, value, two) = match (c.mask, c.op) {
                        (Some(m), _) => ("SCMP_CMP_MASKED_EQ", m, c.value),
                        (None, CmpOp::Eq) => ("SCMP_CMP_EQ", c.value, 0),
                        (None, CmpOp::Ne) => ("SCMP_CMP_NE", c.value, 0),
                        (None, CmpOp::Lt) => ("SCMP_CMP_LT", c.value, 0),
                        (None, CmpOp::Le) => ("SCMP_CMP_LE", c.value, 0),
                        (None, CmpOp::Gt) => ("SCMP_CMP_GT", c.value, 0),
                        (None, CmpOp::Ge) => ("SCMP_CMP_GE", c.value, 0),
                    };
                    json!({ "index": c.arg, "value": value, "valueTwo": two, "op": op })
                })
                .collect(),
        );
    }
    if let Some(c) = comment {
        v["comment"] = json!(c);
    }
    v
}

/// The profile, and the names of the syscalls left to clawless inside.
pub fn oci_profile(ir: &Ir) -> (Value, Vec<String>) {
    let table = ir.table();
    let mut groups: Vec<(Action, Option<&'static str>, Vec<&str>)> = Vec::new();
    let mut conditional: Vec<Value> = Vec::new();
    let mut inside: Vec<String> = Vec::new();
    for sc in table.iter() {
        match entry(ir, sc.nr, sc.name) {
            Entry::Plain(a) if a == ir.default => {}
            Entry::Plain(a) => match groups.iter_mut().find(|(g, c, _)| *g == a && c.is_none()) {
                Some((_, _, v)) => v.push(sc.name),
                None => groups.push((a, None, vec![sc.name])),
            },
            Entry::Inside(a, why) => {
                inside.push(sc.name.to_string());
                match groups.iter_mut().find(|(g, c, _)| *g == a && *c == Some(why)) {
                    Some((_, _, v)) => v.push(sc.name),
                    None => groups.push((a, Some(why), vec![sc.name])),
                }
            }
            Entry::Args(rules) => {
                for r in &rules {
                    conditional.push(rule_json(vec![sc.name], r.action, Some(&r.conds), None));
                }
            }
        }
    }
    let mut syscalls: Vec<Value> = groups
        .into_iter()
        .map(|(a, why, names)| rule_json(names, a, None, why))
        .collect();
    syscalls.extend(conditional);
    let (default, errno) = act_json(ir.default);
    let arch = match ir.arch {
        Arch::X86_64 => "SCMP_ARCH_X86_64",
        Arch::Aarch64 => "SCMP_ARCH_AARCH64",
    };
    let mut v = json!({
        "defaultAction": default,
        "architectures": [arch],
        "syscalls": syscalls,
    });
    if let Some(e) = errno {
        v["defaultErrnoRet"] = json!(e);
    }
    (v, inside)
}
