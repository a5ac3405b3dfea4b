//! Translation validation of the isolated-mode plan ([`claw_ir::IsolatedPlan`]):
//! for every state, every file verb and every canonical path (path variables
//! unknown, as in the property proofs), the layer the plan gives the request
//! decides it as the IR does.
//!
//! The model of the layers, for an open (`openat`, flags symbolic) or an
//! `execve` of a regular file `p` in state `s`:
//! - **The isolated filter** routes the open: the plan's [`claw_ir::IsoRoute`]
//!   of the syscall (its argument conditions, first match wins), else the
//!   mediated route. A notified open is decided by the monitor with the IR (the
//!   monitor opens the file itself, outside the agent's Landlock domain).
//! - **Landlock** decides an open the kernel performs. Rights are hierarchical: a
//!   right is granted to `p` iff some rule's path is an ancestor-or-self of `p`
//!   with that right (a grant from a literal pattern covers the file itself
//!   only: the runtime skips it where it is a directory). Rulesets stacked on one
//!   another are intersected: each ruleset that handles a right must grant it.
//!   A verb needs the file rights of [`claw_ir::landlock::rights_of`] that apply
//!   to regular files (`read`: `READ_FILE`, `write`/`append`: `WRITE_FILE`,
//!   `exec`: `EXECUTE`).
//! - **Carves** (exact denials of `write`/`append`/`exec` in every state) refuse
//!   what they match, whatever the grants.
//! - **Tripwires**: an open of a path a tripwire pattern matches goes to the
//!   monitor after Landlock has let it through, and is decided as the IR decides
//!   a `read` of the path in the current state (a tripwire cannot see the open's
//!   mode). **Monitored subtrees** (`/proc`) likewise, with the open's own verb.
//! - `execve` keeps its mediated route: where that is the monitor, it decides
//!   with the IR too, and Landlock's `EXECUTE` applies on top.
//!
//! Proved, per state and verb: the plan never allows what the IR refuses; it
//! refuses what the IR allows only where the plan says it is stricter (an open
//! for writing of a tripwire counts as a read); every open that fires a
//! transition in the IR reaches the monitor; and `visible` (stat, `O_PATH`,
//! which Landlock does not check) is allowed everywhere, as the plan assumes.
//! A counterexample is a concrete request, state and variable values.
//!
//! What it does not model: directories (opened with `O_DIRECTORY`, routed to the
//! monitor; Landlock's `READ_DIR`), creations and renames (routed to the monitor
//! by the plan, checked by the cBPF translation validation), the time between a
//! secret's creation outside the sandbox and its tripwire (docs/threat-model.md).

use crate::encode::{decide, model_str, Req, Vars};
use crate::{Concrete, Counterexample, Outcome, Step};
use claw_ir::isolate::{IsoAction, IsolatedPlan};
use claw_ir::landlock::{rights_of, FsRight, LandlockPlan};
use claw_ir::{Access, Entity, Ir, Matcher, Route, Verb};
use z3::ast::{Bool, BV};
use z3::{Params, SatResult, Solver};

/// The file verbs the plan gives the kernel.
const FILE_VERBS: [Verb; 4] = [Verb::Read, Verb::Write, Verb::Append, Verb::Exec];

/// The regular-file right a verb needs (`None`: Landlock does not check it).
fn file_right(v: Verb) -> Option<FsRight> {
    rights_of(v)
        .iter()
        .copied()
        .find(|r| r.applies_to_files() && *r != FsRight::Truncate)
}

/// A pattern that matches `grant`'s path and (unless literal) everything below.
fn grant_pattern(path: &str, literal: bool) -> String {
    if literal {
        path.to_string()
    } else if path == "/" {
        "/**".to_string()
    } else {
        format!("{path}/**")
    }
}

/// Landlock grants `right` to access `slot` of `r`: every ruleset that handles
/// the right has a rule on an ancestor-or-self of the path with it.
fn landlock_grants(r: &Req, rulesets: &[(&LandlockPlan, &[String])], right: FsRight, vars: &Vars) -> Bool {
    let mut all = Vec::new();
    for (plan, literal) in rulesets {
        if !plan.handled_fs.contains(&right) {
            continue;
        }
        let pats: Vec<String> = plan
            .fs
            .iter()
            .filter(|g| g.rights.contains(&right))
            .map(|g| grant_pattern(&g.path, literal.contains(&g.path)))
            .collect();
        all.push(r.in_entity(0, &Entity::Paths(pats), vars));
    }
    Bool::and(&all)
}

/// The IR allows `r` (one access) in `state`.
fn ir_allows(ir: &Ir, state: u32, r: &Req, vars: &Vars) -> Bool {
    let d = decide(ir, state, r, vars);
    Bool::and(&[
        d.refused.not(),
        d.slot_allowed(0, r),
        d.slot_allowed(1, r),
        d.slot_allowed(2, r),
    ])
}

/// A request of syscall `name` with one access of `verb` (flags free, for an open).
fn one_access(ir: &Ir, tag: &str, name: &str, verb: Verb) -> Option<(Req, Bool)> {
    let nr = ir.table().by_name(name)?.nr;
    let r = Req::new(tag);
    let wf = Bool::and(&[
        r.well_formed(ir),
        r.nr.eq(BV::from_u64(u64::from(nr), 32)),
        r.slots[0].present.clone(),
        r.verb_is(0, verb),
        r.slots[1].present.not(),
        r.slots[2].present.not(),
    ]);
    Some((r, wf))
}

/// The isolated filter notifies this open (its route's conditions, in order).
fn notified(plan: &IsolatedPlan, ir: &Ir, r: &Req, nr: u32) -> Bool {
    let Some(route) = plan.route_of(nr) else {
        return Bool::from_bool(matches!(ir.route(nr), Route::Monitor(_)));
    };
    let mut out = Bool::from_bool(route.fallback == IsoAction::Notify);
    for rule in route.rules.iter().rev() {
        let holds = Bool::and(&rule.conds.iter().map(|c| r.cond_holds(c)).collect::<Vec<_>>());
        out = holds.ite(&Bool::from_bool(rule.action == IsoAction::Notify), &out);
    }
    out
}

/// What the plan decides for `r` (one access of `verb`) in `state`, by layer,
/// with `read` a request for reading the same path (the tripwire's question).
struct Layers {
    /// The isolated filter notifies the open: the monitor decides with the IR.
    notified: Bool,
    /// Each way the plan's own Landlock ruleset grants the verb's right (one
    /// per rule; a single `true` for a verb Landlock does not check).
    grants: Vec<Bool>,
    /// Everything else an open the kernel performs needs: no carve, the
    /// tripwire's and monitored subtree's decisions, stacked rulesets, and for
    /// `execve` the monitor's decision on its mediated route.
    rest: Bool,
    ir_verb: Bool,
}

impl Layers {
    fn allows(&self) -> Bool {
        let kernel = Bool::and(&[Bool::or(&self.grants), self.rest.clone()]);
        self.notified.ite(&self.ir_verb, &kernel)
    }
}

#[allow(clippy::too_many_arguments)]
fn layers(
    ir: &Ir,
    plan: &IsolatedPlan,
    stacked: &[(&LandlockPlan, &[String])],
    state: u32,
    verb: Verb,
    r: &Req,
    read: &Req,
    nr: u32,
    vars: &Vars,
) -> Layers {
    let ir_verb = ir_allows(ir, state, r, vars);
    let grants: Vec<Bool> = match file_right(verb) {
        Some(right) if plan.landlock.handled_fs.contains(&right) => plan
            .landlock
            .fs
            .iter()
            .filter(|g| g.rights.contains(&right))
            .map(|g| {
                let pat = grant_pattern(&g.path, plan.literal_grants.contains(&g.path));
                r.in_entity(0, &Entity::Paths(vec![pat]), vars)
            })
            .collect(),
        _ => vec![Bool::from_bool(true)],
    };
    let stacked_ok = match file_right(verb) {
        Some(right) => landlock_grants(r, stacked, right, vars),
        None => Bool::from_bool(true),
    };
    let carved = Bool::or(
        &plan
            .carves
            .iter()
            .filter(|c| c.verb == verb)
            .map(|c| r.in_entity(0, &Entity::Paths(vec![c.pattern.clone()]), vars))
            .collect::<Vec<_>>(),
    );
    let trip = tripwired(plan, r, vars);
    let monitored = Bool::or(
        &plan
            .monitored
            .iter()
            .map(|m| r.in_entity(0, &Entity::Paths(vec![grant_pattern(m, false)]), vars))
            .collect::<Vec<_>>(),
    );
    let mut rest = vec![
        stacked_ok,
        carved.not(),
        trip.implies(ir_allows(ir, state, read, vars)),
        monitored.implies(&ir_verb),
    ];
    let notified = if verb == Verb::Exec {
        // execve keeps its mediated route; Landlock's EXECUTE applies on top.
        if matches!(ir.route(nr), Route::Monitor(_)) {
            rest.push(ir_verb.clone());
        }
        Bool::from_bool(false)
    } else {
        notified(plan, ir, r, nr)
    };
    Layers {
        notified,
        grants,
        rest: Bool::and(&rest),
        ir_verb,
    }
}

fn tripwired(plan: &IsolatedPlan, r: &Req, vars: &Vars) -> Bool {
    Bool::or(
        &plan
            .tripwires
            .iter()
            .map(|t| r.in_entity(0, &Entity::Paths(vec![t.pattern.clone()]), vars))
            .collect::<Vec<_>>(),
    )
}

enum Answer {
    Sat(z3::Model),
    Unsat,
    Unknown(String),
}

fn solve(vars: &Vars, facts: &[Bool], timeout_ms: u32) -> Answer {
    let solver = Solver::new();
    let mut p = Params::new();
    p.set_u32("timeout", timeout_ms);
    solver.set_params(&p);
    solver.assert(vars.well_formed());
    for f in facts {
        solver.assert(f);
    }
    match solver.check() {
        SatResult::Sat => match solver.get_model() {
            Some(m) => Answer::Sat(m),
            None => Answer::Unknown("the solver gave no model".into()),
        },
        SatResult::Unsat => Answer::Unsat,
        SatResult::Unknown => Answer::Unknown(
            solver
                .get_reason_unknown()
                .unwrap_or_else(|| format!("timed out after {timeout_ms} ms")),
        ),
    }
}

/// The counterexample of a model: one step, the request in `state`.
#[allow(clippy::too_many_arguments)]
fn step(
    ir: &Ir,
    m: &z3::Model,
    r: &Req,
    name: &str,
    verb: Verb,
    state: u32,
    vars: &Vars,
    note: String,
) -> Counterexample {
    let u = |b: &BV| m.eval(b, true).and_then(|v| v.as_u64()).unwrap_or(0);
    let mut args = [0u64; 6];
    for (i, a) in r.args.iter().enumerate() {
        args[i] = u(a);
    }
    let path = model_str(m, &r.slots[0].path);
    let accesses = vec![Access::Path { verb, path }];
    let state_name = ir.states.get(state as usize).cloned().unwrap_or_default();
    Counterexample {
        steps: vec![Step {
            state: state_name,
            state_id: Some(state),
            next: None,
            request: Concrete {
                syscall: name.to_string(),
                args,
                access: crate::witness::show_accesses(&accesses),
                accesses,
            },
            note,
            vars: vars
                .names
                .iter()
                .zip(&vars.values)
                .map(|(n, v)| (n.clone(), model_str(m, v)))
                .collect(),
        }],
        explanation: Some(
            "the isolated plan (Landlock rules, tripwires, the isolated filter) decides this request otherwise than the policy"
                .into(),
        ),
    }
}

/// Proves that `plan` implements `ir` in every state (see the module doc), with
/// each query limited to `timeout_ms`. `stacked` are further Landlock rulesets
/// the runtime enforces with the plan's (with their literal grants), intersected.
pub fn validate_isolation(
    ir: &Ir,
    plan: &IsolatedPlan,
    stacked: &[(&LandlockPlan, &[String])],
    timeout_ms: u32,
) -> Outcome {
    let vars = Vars::of(ir);
    let mut unknown: Option<String> = None;
    let table = ir.table();
    for state in 0..ir.states.len() as u32 {
        // `visible` everywhere: Landlock does not check stat or O_PATH opens.
        if let Some((r, wf)) = one_access(ir, "iso.vis", "newfstatat", Verb::Visible) {
            match solve(&vars, &[wf, ir_allows(ir, state, &r, &vars).not()], timeout_ms) {
                Answer::Sat(m) => {
                    return Outcome::Failed(step(
                        ir,
                        &m,
                        &r,
                        "newfstatat",
                        Verb::Visible,
                        state,
                        &vars,
                        "refused by the policy, but the kernel decides `visible` in isolated mode".into(),
                    ));
                }
                Answer::Unsat => {}
                Answer::Unknown(why) => {
                    unknown.get_or_insert(why);
                }
            }
        }
        for verb in FILE_VERBS {
            let name = if verb == Verb::Exec { "execve" } else { "openat" };
            let Some(nr) = table.by_name(name).map(|s| s.nr) else {
                continue;
            };
            let Some((r, wf)) = one_access(ir, "iso", name, verb) else {
                continue;
            };
            let Some((read, wf_read)) = one_access(ir, "iso.read", "openat", Verb::Read) else {
                continue;
            };
            let same = read.slots[0].path.eq(&r.slots[0].path);
            let base = vec![wf, wf_read, same];
            let lay = layers(ir, plan, stacked, state, verb, &r, &read, nr, &vars);
            let plan_ok = lay.allows();
            let d = decide(ir, state, &r, &vars);
            let documented = if verb == Verb::Read {
                Bool::from_bool(false)
            } else {
                tripwired(plan, &r, &vars)
            };
            // The one place the plan documents as looser: reading below the
            // sandbox's private `/proc` (`IsolatedPlan::looser`).
            let looser = if verb == Verb::Read && !plan.looser.is_empty() {
                r.in_entity(0, &Entity::Paths(vec!["/proc/**".into()]), &vars)
            } else {
                Bool::from_bool(false)
            };
            // Split into small queries z3 refutes quickly: looser, for each grant
            // that may let the open through and each way the IR refuses it;
            // stricter, for each way the IR allows it (an allowing rule's pattern,
            // the default).
            let mut questions: Vec<(Vec<Bool>, &str)> = Vec::new();
            let looser_note = "allowed by the isolated plan, refused by the policy";
            for g in &lay.grants {
                let kernel = vec![lay.notified.not(), g.clone(), lay.rest.clone(), looser.not()];
                let mut refused = kernel.clone();
                refused.push(d.refused.clone());
                questions.push((refused, looser_note));
                let mut unallowed = kernel;
                unallowed.extend([d.refused.not(), d.slot_allowed(0, &r).not()]);
                questions.push((unallowed, looser_note));
            }
            for reason in &d.reasons[0] {
                if reason.verbs.as_ref().is_some_and(|vs| !vs.contains(&verb)) {
                    continue;
                }
                questions.push((
                    vec![
                        d.refused.not(),
                        reason.formula.clone(),
                        plan_ok.not(),
                        documented.not(),
                    ],
                    "allowed by the policy, refused by the isolated plan",
                ));
            }
            for (q, note) in questions {
                let mut facts = base.clone();
                facts.extend(q);
                match solve(&vars, &facts, timeout_ms) {
                    Answer::Sat(m) => {
                        // Printed as text: ask again for valid UTF-8 (kept if none).
                        facts.extend([r.utf8(), read.utf8(), vars.utf8()]);
                        let m = match solve(&vars, &facts, timeout_ms) {
                            Answer::Sat(t) => t,
                            _ => m,
                        };
                        return Outcome::Failed(step(ir, &m, &r, name, verb, state, &vars, note.into()));
                    }
                    Answer::Unsat => {}
                    Answer::Unknown(why) => {
                        unknown.get_or_insert(why);
                    }
                }
            }
        }
        // Every open that fires a transition reaches the monitor.
        for t in ir.transitions.iter().filter(|t| t.from == state) {
            let Matcher::Access { .. } = &t.event else {
                continue;
            };
            let Some(nr) = table.by_name("openat").map(|s| s.nr) else {
                continue;
            };
            let Some((r, wf)) = one_access(ir, "iso.ev", "openat", Verb::Read) else {
                continue;
            };
            let facts = vec![
                wf,
                r.fires(&t.event, &vars),
                ir_allows(ir, state, &r, &vars),
                notified(plan, ir, &r, nr).not(),
                tripwired(plan, &r, &vars).not(),
            ];
            match solve(&vars, &facts, timeout_ms) {
                Answer::Sat(m) => {
                    return Outcome::Failed(step(
                        ir,
                        &m,
                        &r,
                        "openat",
                        Verb::Read,
                        state,
                        &vars,
                        format!(
                            "fires a transition ({}), but the kernel performs it without the monitor",
                            t.origin
                        ),
                    ));
                }
                Answer::Unsat => {}
                Answer::Unknown(why) => {
                    unknown.get_or_insert(why);
                }
            }
        }
    }
    match unknown {
        Some(why) => Outcome::Unknown(why),
        None => Outcome::Proved,
    }
}
