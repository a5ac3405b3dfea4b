//! Reachability over the state machine, the user's properties, and lints. Every
//! question is one z3 query over a symbolic request; a satisfying model is a
//! concrete witness (a path, an address, argument values).

use crate::encode::{decide, Req, Vars, FAM_ABSTRACT, FAM_INET4, FAM_INET6, FAM_UNIX, VERBS};
use crate::witness::{CReq, Witnesses};
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
    pub wit: Witnesses<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(ir: &'a Ir, timeout_ms: u32) -> Ctx<'a> {
        Ctx {
            ir,
            vars: Vars::of(ir),
            timeout_ms,
            wit: Witnesses::new(ir),
        }
    }

    /// A step for a concrete witness, naming the variables the policy uses.
    fn witness_step(&self, state: u32, r: &CReq, note: String) -> Step {
        let vars = self
            .wit
            .env_values
            .iter()
            .filter(|(n, _)| self.vars.names.contains(n))
            .cloned()
            .collect();
        Step {
            state: self.state_name(state),
            request: self.wit.concrete(r),
            note,
            vars,
        }
    }

    /// An allowed request in `state` satisfying the property part, concretely if a
    /// candidate does, else by z3.
    fn find(
        &self,
        state: u32,
        concrete: &dyn Fn(&CReq) -> bool,
        symbolic: &dyn Fn(&Req) -> Bool,
        shape: &Shape,
        note: String,
        unknown: &mut Option<String>,
    ) -> Option<Step> {
        if let Some(w) = self.wit.find(state, concrete) {
            return Some(self.witness_step(state, w, note));
        }
        let (r, wf) = self.request("q");
        let what = symbolic(&r);
        match self.exists(state, &r, wf, &[what], shape) {
            Answer::Sat(m) => Some(Step {
                state: self.state_name(state),
                request: self.concrete(&m, &r),
                note,
                vars: self.var_values(&m),
            }),
            Answer::Unsat => None,
            Answer::Unknown(why) => {
                unknown.get_or_insert(why);
                None
            }
        }
    }

    /// Is some request allowed in `state` that also satisfies `extra`? One solver
    /// query per way of being allowed, skipping those that cannot apply to `shape`:
    /// many small problems z3 refutes quickly instead of one large one.
    pub fn exists(&self, state: u32, r: &Req, wf: Bool, extra: &[Bool], shape: &Shape) -> Answer {
        let d = decide(self.ir, state, r, &self.vars);
        let mut unknown = None;
        for reason in &d.reasons {
            if !shape.compatible(reason) {
                continue;
            }
            let mut facts = vec![wf.clone(), d.refused.not(), reason.formula.clone()];
            facts.extend(extra.iter().cloned());
            match self.solve(&facts) {
                sat @ Answer::Sat(_) => return sat,
                Answer::Unsat => {}
                Answer::Unknown(why) => {
                    unknown.get_or_insert(why);
                }
            }
        }
        match unknown {
            Some(why) => Answer::Unknown(why),
            None => Answer::Unsat,
        }
    }

    /// Solves with the path variables pinned to the witness values first, so that a
    /// trace stays one consistent run; only if that finds nothing, with the
    /// variables free (the proof must cover every value).
    pub fn solve(&self, facts: &[Bool]) -> Answer {
        let mut pinned: Vec<Bool> = facts.to_vec();
        for (name, value) in self.vars.names.iter().zip(&self.vars.values) {
            if let Some(v) = self.wit.env.get(name) {
                pinned.push(value.eq(z3::ast::String::from(v)));
            }
        }
        match self.solve_once(&pinned) {
            sat @ Answer::Sat(_) => sat,
            _ => self.solve_once(facts),
        }
    }

    fn solve_once(&self, facts: &[Bool]) -> Answer {
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
            eprintln!(
                "[verify] {:?} in {:.3} s, {} facts",
                result,
                started.elapsed().as_secs_f64(),
                facts.len()
            );
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

/// What a searched-for request must be, where known: its verbs and the path
/// patterns it must match. Lets `find` skip reasons that cannot apply.
#[derive(Default)]
pub(crate) struct Shape {
    verbs: Option<Vec<Verb>>,
    paths: Option<Vec<String>>,
}

impl Shape {
    fn of(p: &Pattern) -> Shape {
        match p {
            Pattern::Access { verbs, entity } => Shape {
                verbs: Some(verbs.clone()),
                paths: match entity {
                    Some(claw_ir::Entity::Paths(ps)) => Some(ps.clone()),
                    _ => None,
                },
            },
            Pattern::Syscalls(_) => Shape::default(),
        }
    }

    fn of_matcher(m: &claw_ir::Matcher) -> Shape {
        match m {
            claw_ir::Matcher::Access { verbs, entity } => Shape::of(&Pattern::Access {
                verbs: verbs.clone(),
                entity: Some(entity.clone()),
            }),
            claw_ir::Matcher::Syscall { .. } => Shape::default(),
        }
    }

    fn verbs(verbs: &[Verb]) -> Shape {
        Shape {
            verbs: Some(verbs.to_vec()),
            paths: None,
        }
    }

    fn compatible(&self, r: &crate::encode::Reason) -> bool {
        if let (Some(want), Some(have)) = (&self.verbs, &r.verbs) {
            if !want.iter().any(|v| have.contains(v)) {
                return false;
            }
        }
        if let (Some(want), Some(have)) = (&self.paths, &r.path) {
            if !want.iter().any(|w| crate::encode::may_overlap(w, have)) {
                return false;
            }
        }
        true
    }
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
            let note = format!("allowed; moves to `{}` ({})", cx.state_name(t.to), t.origin);
            let concrete = cx
                .wit
                .find(s, |r| cx.wit.matches(&t.event, r))
                .map(|w| cx.witness_step(s, w, note.clone()));
            let witness = if concrete.is_some() {
                concrete
            } else {
                let (r, wf) = cx.request("ev");
                let fires = r.matches(&t.event, &cx.vars);
                match cx.exists(s, &r, wf, &[fires], &Shape::of_matcher(&t.event)) {
                    Answer::Sat(m) => Some(Step {
                        state: cx.state_name(s),
                        request: cx.concrete(&m, &r),
                        note,
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
    let wit = &cx.wit;
    let reached: Vec<u32> = (0..ir.states.len() as u32)
        .filter(|s| reach.path[*s as usize].is_some())
        .collect();
    let mut unknown: Option<String> = reach.unknown.clone();
    let trace = |s: u32| reach.path[s as usize].clone().unwrap_or_default();
    let failed = |mut steps: Vec<Step>, step: Step, explanation: Option<String>| {
        steps.push(step);
        Outcome::Failed(Counterexample { steps, explanation })
    };

    match prop {
        Property::Never { what, after: None } => {
            for &s in &reached {
                let c = |r: &CReq| wit.matches_pattern(what, r);
                let z = |r: &Req| r.matches_pattern(what, &cx.vars);
                let note = "allowed, which the property forbids".to_string();
                if let Some(step) = cx.find(s, &c, &z, &Shape::of(what), note, &mut unknown) {
                    return failed(trace(s), step, None);
                }
            }
        }
        Property::Never { what, after: Some(b) } => {
            // Where can B happen, and where does the sandbox go when it does?
            let mut post: BTreeSet<u32> = BTreeSet::new();
            let mut uncertain: BTreeSet<u32> = BTreeSet::new();
            let mut how: Vec<(u32, Vec<Step>)> = Vec::new();
            let mut b_states = BTreeSet::new();
            for &s in &reached {
                let outs: Vec<&claw_ir::Transition> = ir.transitions.iter().filter(|t| t.from == s).collect();
                let mut record = |to: u32, step: Step, post: &mut BTreeSet<u32>| {
                    if post.insert(to) {
                        let mut steps = trace(s);
                        steps.push(step);
                        how.push((to, steps));
                    }
                };
                // Concretely first: every allowed candidate that is a B.
                for r in wit
                    .all()
                    .iter()
                    .filter(|r| wit.matches_pattern(b, r) && wit.allowed(s, r))
                {
                    b_states.insert(s);
                    let firing: Vec<&&claw_ir::Transition> =
                        outs.iter().filter(|t| wit.matches(&t.event, r)).collect();
                    if firing.is_empty() {
                        let note = format!("the `after` event happens; stays in `{}`", cx.state_name(s));
                        record(s, cx.witness_step(s, r, note), &mut post);
                    }
                    for t in firing {
                        let note = format!(
                            "the `after` event happens; moves to `{}` ({})",
                            cx.state_name(t.to),
                            t.origin
                        );
                        record(t.to, cx.witness_step(s, r, note), &mut post);
                    }
                }
                // Then z3 for the outcomes no candidate showed.
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
                    let note = format!("moves to `{}` ({})", cx.state_name(t.to), t.origin);
                    targets.push((t.to, r.matches(&t.event, &cx.vars), note));
                }
                for (to, cond, note) in targets {
                    if post.contains(&to) {
                        continue;
                    }
                    match cx.exists(s, &r, wf.clone(), &[is_b.clone(), cond], &Shape::of(b)) {
                        Answer::Sat(m) => {
                            b_states.insert(s);
                            let step = Step {
                                state: cx.state_name(s),
                                request: cx.concrete(&m, &r),
                                note: format!("the `after` event happens; {note}"),
                                vars: cx.var_values(&m),
                            };
                            record(to, step, &mut post);
                        }
                        Answer::Unsat => {}
                        Answer::Unknown(why) => {
                            // Maybe: keep it (sound for a proof), but remember that
                            // nothing found through it is a real counterexample.
                            unknown.get_or_insert(why);
                            b_states.insert(s);
                            uncertain.insert(to);
                        }
                    }
                }
            }
            let after = closure(ir, reach, &post);
            for &s in &after {
                let c = |r: &CReq| wit.matches_pattern(what, r);
                let z = |r: &Req| r.matches_pattern(what, &cx.vars);
                let note = "allowed after the event, which the property forbids".to_string();
                if let Some(step) = cx.find(s, &c, &z, &Shape::of(what), note, &mut unknown) {
                    // A trace: to the event, then on to `s`.
                    let mut steps = match how.iter().find(|(to, _)| *to == s) {
                        Some((_, st)) => st.clone(),
                        None => {
                            let mut st = how.first().map(|(_, st)| st.clone()).unwrap_or_default();
                            st.push(Step::note(format!(
                                "… and transitions lead on to `{}`",
                                cx.state_name(s)
                            )));
                            st
                        }
                    };
                    steps.push(step);
                    return Outcome::Failed(Counterexample {
                        steps,
                        explanation: None,
                    });
                }
            }
            // Only after checking the certain states: a real counterexample wins.
            let maybe_after: BTreeSet<u32> = closure(ir, reach, &uncertain)
                .difference(&after)
                .copied()
                .collect();
            for &s in &maybe_after {
                let c = |r: &CReq| wit.matches_pattern(what, r);
                let z = |r: &Req| r.matches_pattern(what, &cx.vars);
                if cx
                    .find(s, &c, &z, &Shape::of(what), String::new(), &mut unknown)
                    .is_some()
                {
                    // Only reachable through a question the solver could not decide.
                    return Outcome::Unknown(
                        unknown.unwrap_or_else(|| "a solver query was inconclusive".into()),
                    );
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
                    let c = |r: &CReq| wit.matches_pattern(what, r);
                    let z = |r: &Req| r.matches_pattern(what, &cx.vars);
                    let note = "allowed before the event: the file stays open".to_string();
                    if let Some(step) = cx.find(s0, &c, &z, &Shape::of(what), note, &mut unknown) {
                        let explanation = "a file opened before the event stays open after it: descriptors cannot be \
                            revoked, so the agent can keep using it. Forbid this access before the event too, or \
                            assert only what the runtime can revoke (network access is revoked on transitions)."
                            .to_string();
                        return failed(trace(s0), step, Some(explanation));
                    }
                }
            }
        }
        Property::Always { verbs, within } => {
            for &s in &reached {
                let c = |r: &CReq| {
                    r.access.as_ref().is_some_and(|a| verbs.contains(&a.verb())) && !wit.in_entity(within, r)
                };
                let z = |r: &Req| {
                    let vs = Bool::or(&verbs.iter().map(|v| r.verb_is(*v)).collect::<Vec<_>>());
                    Bool::and(&[r.has_access.clone(), vs, r.in_entity(within, &cx.vars).not()])
                };
                let note = "allowed, outside the set the property names".to_string();
                if let Some(step) = cx.find(s, &c, &z, &Shape::verbs(verbs), note, &mut unknown) {
                    return failed(trace(s), step, None);
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
    let wit = &cx.wit;
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
        let mut overrides = rule.action != ir.default;
        let mut definite = true;
        for &s in &states {
            let others: Vec<&claw_ir::Rule> = ir
                .rules
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.in_state(s))
                .map(|(_, o)| o)
                .collect();
            let stronger_c = |r: &CReq| {
                others
                    .iter()
                    .any(|o| o.action.rank() > rule.action.rank() && wit.matches(&o.matcher, r))
            };
            let weaker_c = |r: &CReq| {
                others
                    .iter()
                    .any(|o| o.action.rank() < rule.action.rank() && wit.matches(&o.matcher, r))
            };
            for r in wit
                .all()
                .iter()
                .filter(|r| wit.matches(&rule.matcher, r) && !stronger_c(r))
            {
                decides = true;
                if weaker_c(r) {
                    overrides = true;
                }
                if overrides {
                    break;
                }
            }
            if decides && overrides {
                break;
            }
            let (r, wf) = cx.request("lint");
            let me = r.matches(&rule.matcher, &cx.vars);
            let stronger: Vec<Bool> = others
                .iter()
                .filter(|o| o.action.rank() > rule.action.rank())
                .map(|o| r.matches(&o.matcher, &cx.vars))
                .collect();
            let weaker: Vec<Bool> = others
                .iter()
                .filter(|o| o.action.rank() < rule.action.rank())
                .map(|o| r.matches(&o.matcher, &cx.vars))
                .collect();
            let wins = Bool::or(&stronger).not();
            if !decides {
                match cx.solve(&[wf.clone(), me.clone(), wins.clone()]) {
                    Answer::Sat(_) => decides = true,
                    Answer::Unsat => {}
                    Answer::Unknown(_) => definite = false,
                }
            }
            if !overrides {
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
        } else if !overrides {
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
