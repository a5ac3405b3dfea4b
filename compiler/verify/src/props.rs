//! Reachability over the state machine, the user's properties, and lints. Every
//! question is one z3 query over a symbolic request; a satisfying model is a
//! concrete witness (a path, an address, argument values).

use crate::encode::{decide, Req, Vars, FAM_ABSTRACT, FAM_INET4, FAM_INET6, FAM_UNIX, VERBS};
use crate::{Concrete, Counterexample, Lint, Outcome, Step};
use claw_ir::{Ir, Pattern, Property, Verb};
use std::collections::{BTreeSet, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use z3::ast::Bool;
use z3::{Model, Params, SatResult, Solver};

pub(crate) enum Answer {
    Sat(Model),
    Unsat,
    Unknown(String),
}

pub(crate) struct Ctx<'a> {
    pub ir: &'a Ir,
    pub vars: Vars,
    pub timeout_ms: u32,
}

impl<'a> Ctx<'a> {
    pub fn new(ir: &'a Ir, timeout_ms: u32) -> Ctx<'a> {
        Ctx {
            ir,
            vars: Vars::of(ir),
            timeout_ms,
        }
    }

    pub fn solve(&self, facts: &[Bool]) -> Answer {
        let solver = Solver::new();
        let mut p = Params::new();
        p.set_u32("timeout", self.timeout_ms);
        solver.set_params(&p);
        solver.assert(self.vars.well_formed());
        for f in facts {
            solver.assert(f);
        }
        let started = std::time::Instant::now();
        let result = solver.check();
        if std::env::var_os("CLAW_VERIFY_TRACE").is_some() {
            eprintln!("[verify] {:?} in {:.3} s, {} facts", result, started.elapsed().as_secs_f64(), facts.len());
        }
        match result {
            SatResult::Sat => match solver.get_model() {
                Some(m) => Answer::Sat(m),
                None => Answer::Unknown("the solver gave no model".into()),
            },
            SatResult::Unsat => Answer::Unsat,
            SatResult::Unknown => Answer::Unknown(
                solver
                    .get_reason_unknown()
                    .unwrap_or_else(|| format!("timed out after {} ms", self.timeout_ms)),
            ),
        }
    }

    /// A fresh request constrained to look like a real one.
    pub fn request(&self, tag: &str) -> (Req, Bool) {
        let r = Req::new(tag);
        let wf = r.well_formed(self.ir);
        (r, wf)
    }

    pub fn allowed(&self, state: u32, r: &Req) -> Bool {
        decide(self.ir, state, r, &self.vars).allowed
    }

    pub fn concrete(&self, m: &Model, r: &Req) -> Concrete {
        let u = |b: &z3::ast::BV| m.eval(b, true).and_then(|v| v.as_u64()).unwrap_or(0);
        let nr = u(&r.nr) as u32;
        let syscall = self
            .ir
            .table()
            .by_nr(nr)
            .map_or_else(|| format!("syscall {nr}"), |s| s.name.to_string());
        let mut args = [0u64; 6];
        for (i, a) in r.args.iter().enumerate() {
            args[i] = u(a);
        }
        let has = m
            .eval(&r.has_access, true)
            .and_then(|b| b.as_bool())
            .unwrap_or(false);
        let access = has.then(|| {
            let verb = VERBS.get(u(&r.verb) as usize).copied().unwrap_or(Verb::Read);
            let what = if verb.is_network() {
                let port = u(&r.port);
                let proto = if u(&r.proto) == 1 { "udp" } else { "tcp" };
                match u(&r.fam) {
                    FAM_INET4 => format!("{proto} {}:{port}", Ipv4Addr::from(u(&r.ip4) as u32)),
                    FAM_INET6 => {
                        let hi = m
                            .eval(&r.ip6.extract(127, 64), true)
                            .and_then(|v| v.as_u64())
                            .unwrap_or(0);
                        let lo = m
                            .eval(&r.ip6.extract(63, 0), true)
                            .and_then(|v| v.as_u64())
                            .unwrap_or(0);
                        format!(
                            "{proto} [{}]:{port}",
                            Ipv6Addr::from((u128::from(hi) << 64) | u128::from(lo))
                        )
                    }
                    FAM_UNIX => format!("unix {}", str_of(m, &r.sock)),
                    FAM_ABSTRACT => format!("unix @{}", str_of(m, &r.sock)),
                    _ => "an address".into(),
                }
            } else {
                str_of(m, &r.path)
            };
            format!("{} {what}", verb.name())
        });
        Concrete {
            syscall,
            args,
            access,
        }
    }

    pub fn var_values(&self, m: &Model) -> Vec<(String, String)> {
        self.vars
            .names
            .iter()
            .zip(&self.vars.values)
            .map(|(n, v)| (n.clone(), str_of(m, v)))
            .collect()
    }

    fn state_name(&self, s: u32) -> String {
        let n = &self.ir.states[s as usize];
        if n.is_empty() {
            "(single state)".into()
        } else {
            n.clone()
        }
    }
}

fn str_of(m: &Model, s: &z3::ast::String) -> String {
    m.eval(s, true)
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "?".into())
}

/// What reachability found: for each state the steps that reach it, and for each
/// transition whether it can fire.
pub(crate) struct Reach {
    pub path: Vec<Option<Vec<Step>>>,
    pub live: Vec<Option<bool>>,
    pub unknown: Option<String>,
}

pub(crate) fn reachability(cx: &Ctx) -> Reach {
    let ir = cx.ir;
    let mut path: Vec<Option<Vec<Step>>> = vec![None; ir.states.len()];
    let mut live: Vec<Option<bool>> = vec![None; ir.transitions.len()];
    let mut unknown = None;
    path[ir.initial as usize] = Some(Vec::new());
    let mut queue = VecDeque::from([ir.initial]);
    while let Some(s) = queue.pop_front() {
        for (ti, t) in ir.transitions.iter().enumerate().filter(|(_, t)| t.from == s) {
            let (r, wf) = cx.request("ev");
            let fires = r.matches(&t.event, &cx.vars);
            let witness = match cx.solve(&[wf, cx.allowed(s, &r), fires]) {
                Answer::Sat(m) => Some(Step {
                    state: cx.state_name(s),
                    request: cx.concrete(&m, &r),
                    note: format!("allowed; moves to `{}` ({})", cx.state_name(t.to), t.origin),
                    vars: cx.var_values(&m),
                }),
                Answer::Unsat => {
                    live[ti] = Some(false);
                    continue;
                }
                Answer::Unknown(why) => {
                    // Assume it can fire: sound for every "never" question.
                    unknown.get_or_insert(why);
                    None
                }
            };
            live[ti] = Some(witness.is_some());
            if path[t.to as usize].is_none() {
                let mut p = path[s as usize].clone().unwrap_or_default();
                p.extend(witness);
                path[t.to as usize] = Some(p);
                queue.push_back(t.to);
            }
        }
    }
    Reach { path, live, unknown }
}

/// States reachable from `start` over transitions that can fire.
fn closure(ir: &Ir, reach: &Reach, start: &BTreeSet<u32>) -> BTreeSet<u32> {
    let mut seen = start.clone();
    let mut queue: VecDeque<u32> = start.iter().copied().collect();
    while let Some(s) = queue.pop_front() {
        for (ti, t) in ir.transitions.iter().enumerate() {
            if t.from == s && reach.live[ti] != Some(false) && seen.insert(t.to) {
                queue.push_back(t.to);
            }
        }
    }
    seen
}

fn fd_verbs(p: &Pattern) -> bool {
    matches!(p, Pattern::Access { verbs, .. }
        if verbs.iter().all(|v| matches!(v, Verb::Read | Verb::Write | Verb::Append)))
}

/// Proves one property.
pub(crate) fn property(cx: &Ctx, reach: &Reach, prop: &Property) -> Outcome {
    let ir = cx.ir;
    let reached: Vec<u32> = (0..ir.states.len() as u32)
        .filter(|s| reach.path[*s as usize].is_some())
        .collect();
    let mut unknown: Option<String> = reach.unknown.clone();
    let trace = |s: u32| reach.path[s as usize].clone().unwrap_or_default();

    // Finds an allowed request matching `what` in `s`.
    let find =
        |s: u32, what: &dyn Fn(&Req) -> Bool, note: String, unknown: &mut Option<String>| -> Option<Step> {
            let (r, wf) = cx.request("q");
            match cx.solve(&[wf, cx.allowed(s, &r), what(&r)]) {
                Answer::Sat(m) => Some(Step {
                    state: cx.state_name(s),
                    request: cx.concrete(&m, &r),
                    note,
                    vars: cx.var_values(&m),
                }),
                Answer::Unsat => None,
                Answer::Unknown(why) => {
                    unknown.get_or_insert(why);
                    None
                }
            }
        };

    match prop {
        Property::Never { what, after: None } => {
            for &s in &reached {
                let w = |r: &Req| r.matches_pattern(what, &cx.vars);
                if let Some(step) = find(s, &w, "allowed, which the property forbids".into(), &mut unknown) {
                    let mut steps = trace(s);
                    steps.push(step);
                    return Outcome::Failed(Counterexample {
                        steps,
                        explanation: None,
                    });
                }
            }
        }
        Property::Never { what, after: Some(b) } => {
            // Where can B happen, and where does the sandbox go when it does?
            let mut post: BTreeSet<u32> = BTreeSet::new();
            let mut how: Vec<(u32, Vec<Step>)> = Vec::new();
            let mut b_states = BTreeSet::new();
            for &s in &reached {
                let outs: Vec<&claw_ir::Transition> = ir.transitions.iter().filter(|t| t.from == s).collect();
                let (r, wf) = cx.request("b");
                let is_b = r.matches_pattern(b, &cx.vars);
                let stays = Bool::and(
                    &outs
                        .iter()
                        .map(|t| r.matches(&t.event, &cx.vars).not())
                        .collect::<Vec<_>>(),
                );
                let mut targets: Vec<(u32, Bool, String)> =
                    vec![(s, stays, format!("stays in `{}`", cx.state_name(s)))];
                for t in &outs {
                    targets.push((
                        t.to,
                        r.matches(&t.event, &cx.vars),
                        format!("moves to `{}` ({})", cx.state_name(t.to), t.origin),
                    ));
                }
                for (to, cond, note) in targets {
                    match cx.solve(&[wf.clone(), cx.allowed(s, &r), is_b.clone(), cond]) {
                        Answer::Sat(m) => {
                            b_states.insert(s);
                            if post.insert(to) {
                                let mut steps = trace(s);
                                steps.push(Step {
                                    state: cx.state_name(s),
                                    request: cx.concrete(&m, &r),
                                    note: format!("the `after` event happens; {note}"),
                                    vars: cx.var_values(&m),
                                });
                                how.push((to, steps));
                            }
                        }
                        Answer::Unsat => {}
                        Answer::Unknown(why) => {
                            unknown.get_or_insert(why);
                            b_states.insert(s);
                            post.insert(to);
                        }
                    }
                }
            }
            let after = closure(ir, reach, &post);
            for &s in &after {
                let w = |r: &Req| r.matches_pattern(what, &cx.vars);
                if let Some(step) = find(
                    s,
                    &w,
                    "allowed after the event, which the property forbids".into(),
                    &mut unknown,
                ) {
                    // A trace: to the event, then on to `s`.
                    let mut steps = how
                        .iter()
                        .find(|(to, _)| *to == s)
                        .map(|(_, st)| st.clone())
                        .unwrap_or_else(|| {
                            let (_, first) = &how[0];
                            first.clone()
                        });
                    if !how.iter().any(|(to, _)| *to == s) {
                        steps.push(Step::note(format!(
                            "… and transitions lead on to `{}`",
                            cx.state_name(s)
                        )));
                    }
                    steps.push(step);
                    return Outcome::Failed(Counterexample {
                        steps,
                        explanation: None,
                    });
                }
            }
            // Open files survive transitions: a descriptor opened before B for the
            // forbidden verb is still usable after it.
            if fd_verbs(what) && !b_states.is_empty() {
                for &s0 in &reached {
                    let from_s0 = closure(ir, reach, &BTreeSet::from([s0]));
                    if from_s0.is_disjoint(&b_states) {
                        continue;
                    }
                    let w = |r: &Req| r.matches_pattern(what, &cx.vars);
                    let note = "allowed before the event: the file stays open".to_string();
                    if let Some(step) = find(s0, &w, note, &mut unknown) {
                        let mut steps = trace(s0);
                        steps.push(step);
                        return Outcome::Failed(Counterexample {
                            steps,
                            explanation: Some(
                                "a file opened before the event stays open after it: descriptors cannot be revoked, \
                                 so the agent can keep using it. Forbid this access before the event too, or assert \
                                 only what the runtime can revoke (network access is revoked on transitions)."
                                    .into(),
                            ),
                        });
                    }
                }
            }
        }
        Property::Always { verbs, within } => {
            for &s in &reached {
                let w = |r: &Req| {
                    let vs = Bool::or(&verbs.iter().map(|v| r.verb_is(*v)).collect::<Vec<_>>());
                    Bool::and(&[r.has_access.clone(), vs, r.in_entity(within, &cx.vars).not()])
                };
                if let Some(step) = find(
                    s,
                    &w,
                    "allowed, outside the set the property names".into(),
                    &mut unknown,
                ) {
                    let mut steps = trace(s);
                    steps.push(step);
                    return Outcome::Failed(Counterexample {
                        steps,
                        explanation: None,
                    });
                }
            }
        }
    }
    match unknown {
        Some(why) => Outcome::Unknown(why),
        None => Outcome::Proved,
    }
}

/// Warnings about rules, transitions and states that do nothing.
pub(crate) fn lints(cx: &Ctx, reach: &Reach) -> Vec<Lint> {
    let ir = cx.ir;
    let mut out = Vec::new();
    let reached: Vec<u32> = (0..ir.states.len() as u32)
        .filter(|s| reach.path[*s as usize].is_some())
        .collect();
    if reach.unknown.is_none() {
        for (i, name) in ir.states.iter().enumerate() {
            if reach.path[i].is_none() {
                out.push(Lint::State {
                    code: "W0404",
                    state: i as u32,
                    message: format!("state `{name}` is never entered: no transition into it can fire"),
                });
            }
        }
    }
    for (ti, t) in ir.transitions.iter().enumerate() {
        if reach.path[t.from as usize].is_some() && reach.live[ti] == Some(false) {
            out.push(Lint::Transition {
                code: "W0403",
                transition: ti,
                message: format!(
                    "this transition can never fire: no request matching its event is allowed in `{}`",
                    ir.states[t.from as usize]
                ),
            });
        }
    }
    for (i, rule) in ir.rules.iter().enumerate() {
        let states: Vec<u32> = reached.iter().copied().filter(|s| rule.in_state(*s)).collect();
        if states.is_empty() {
            continue;
        }
        let mut decides = false;
        let mut overrides = false;
        let mut definite = true;
        for &s in &states {
            let (r, wf) = cx.request("lint");
            let me = r.matches(&rule.matcher, &cx.vars);
            let (mut stronger, mut weaker) = (Vec::new(), Vec::new());
            for (j, other) in ir.rules.iter().enumerate() {
                if j == i || !other.in_state(s) {
                    continue;
                }
                let m = r.matches(&other.matcher, &cx.vars);
                if other.action.rank() > rule.action.rank() {
                    stronger.push(m);
                } else if other.action.rank() < rule.action.rank() {
                    weaker.push(m);
                }
            }
            let wins = Bool::or(&stronger).not();
            match cx.solve(&[wf.clone(), me.clone(), wins.clone()]) {
                Answer::Sat(_) => decides = true,
                Answer::Unsat => {}
                Answer::Unknown(_) => definite = false,
            }
            if rule.action == ir.default && !overrides {
                match cx.solve(&[wf, me, wins, Bool::or(&weaker)]) {
                    Answer::Sat(_) => overrides = true,
                    Answer::Unsat => {}
                    Answer::Unknown(_) => definite = false,
                }
            }
        }
        if !definite {
            continue;
        }
        if !decides {
            out.push(Lint::Rule {
                code: "W0401",
                rule: i,
                message: "this rule never decides anything: every request it matches is decided by a more severe rule"
                    .into(),
            });
        } else if rule.action == ir.default && !overrides {
            out.push(Lint::Rule {
                code: "W0402",
                rule: i,
                message: format!(
                    "this rule has no effect: it answers `{}`, which the default already answers, and overrides no other rule",
                    rule.action
                ),
            });
        }
    }
    out
}
