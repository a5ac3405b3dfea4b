//! Reachability over the state machine, the user's properties, and lints. Every
//! question is one z3 query over a symbolic request; a satisfying model is a
//! concrete witness (a path, an address, argument values). Every step of a trace
//! is a request the interpreter allows in its state, with the state it moves to
//! (`Ir::next_state`), so a counterexample replays.

use crate::encode::{
    decide, fires_first, model_bytes, model_str, stays, Req, Vars, FAM_ABSTRACT, FAM_INET4, FAM_INET6,
    FAM_UNIX, SLOTS, VERBS,
};
use crate::witness::{CReq, Witnesses};
use crate::{Concrete, Counterexample, Lint, Outcome, Step};
use claw_ir::{Access, Entity, Env, Ir, Matcher, NetAddr, Pattern, Property, Proto, Verb};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use z3::ast::{Ast, Bool};
use z3::{Model, Params, SatResult, Solver};

pub(crate) enum Answer {
    Sat(Model),
    Unsat,
    Unknown(String),
}

/// What a searched-for request must do.
#[derive(Clone, Copy)]
pub(crate) enum Want<'p> {
    /// Perform `p`: its registers (syscall pattern) or one of its accesses.
    Performs(&'p Pattern),
    /// Match a transition's event.
    Fires(&'p Matcher),
    /// Have an access with one of the verbs outside the entity.
    Outside(&'p [Verb], &'p Entity),
}

impl Want<'_> {
    /// The formula that access `slot` is the one that does it, or `None` if the
    /// request does it by its registers (then `regs`).
    fn slot(&self, r: &Req, slot: usize, vars: &Vars) -> Option<Bool> {
        match self {
            Want::Performs(p @ Pattern::Access { .. }) => Some(r.slot_matches_pattern(slot, p, vars)),
            Want::Fires(m @ Matcher::Access { .. }) => Some(r.slot_matches(slot, m, vars)),
            Want::Outside(verbs, e) => {
                let vs = Bool::or(&verbs.iter().map(|v| r.verb_is(slot, *v)).collect::<Vec<_>>());
                Some(Bool::and(&[
                    r.slots[slot].present.clone(),
                    vs,
                    r.in_entity(slot, e, vars).not(),
                ]))
            }
            _ => None,
        }
    }

    fn regs(&self, r: &Req) -> Option<Bool> {
        match self {
            Want::Performs(p @ Pattern::Syscalls(_)) => Some(r.regs_match_pattern(p)),
            Want::Fires(Matcher::Syscall { nr, conds }) => Some(r.syscall_matches(*nr, conds)),
            _ => None,
        }
    }

    fn verbs(&self) -> Option<&[Verb]> {
        match self {
            Want::Performs(Pattern::Access { verbs, .. }) | Want::Fires(Matcher::Access { verbs, .. }) => {
                Some(verbs)
            }
            Want::Outside(verbs, _) => Some(verbs),
            _ => None,
        }
    }

    fn shape(&self) -> Shape {
        match self {
            Want::Performs(p) => Shape::of(p),
            Want::Fires(m) => Shape::of_matcher(m),
            Want::Outside(verbs, within) => Shape {
                verbs: Some(verbs.to_vec()),
                paths: None,
                within: match within {
                    Entity::Paths(ps) => Some(ps.clone()),
                    Entity::Endpoints(_) => None,
                },
            },
        }
    }
}

/// The verbs access `slot` can have (see `encode::SLOTS`).
fn slot_verbs(slot: usize) -> &'static [Verb] {
    match slot {
        0 => &Verb::ALL,
        1 => &[Verb::Read, Verb::Write, Verb::Append],
        _ => &[Verb::Write],
    }
}

pub(crate) struct Ctx<'a> {
    pub ir: &'a Ir,
    /// No syscall rule names a mediated syscall (see `exists`).
    single_suffices: bool,
    pub vars: Vars,
    pub timeout_ms: u32,
    pub wit: Witnesses<'a>,
    /// Other values of the variables to try candidates with (see `find_elsewhere`).
    pub(crate) alt_envs: Vec<(Env, Vec<(String, String)>)>,
}

/// Every variable the policy uses set to one directory a literal pattern names
/// (at most a few), where the runtime would accept it.
fn alternative_envs(ir: &Ir, vars: &Vars, wit: &Witnesses) -> Vec<(Env, Vec<(String, String)>)> {
    if vars.names.is_empty() {
        return Vec::new();
    }
    let mut dirs: Vec<String> = Vec::new();
    let matchers = ir
        .rules
        .iter()
        .map(|r| &r.matcher)
        .chain(ir.transitions.iter().map(|t| &t.event));
    for m in matchers {
        if let Matcher::Access {
            entity: Entity::Paths(ps),
            ..
        } = m
        {
            for p in ps.iter().filter(|p| p.starts_with('/')) {
                let comps: Vec<&str> = p
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .take_while(|c| !c.contains(['*', '?']))
                    .collect();
                for k in 1..=comps.len() {
                    let d = format!("/{}", comps[..k].join("/"));
                    if !dirs.contains(&d) {
                        dirs.push(d);
                    }
                }
            }
        }
    }
    dirs.truncate(8);
    let mut out = Vec::new();
    for d in dirs {
        let mut values = Vec::new();
        let mut env = wit.env.clone();
        for n in &vars.names {
            let v = if claw_ir::check_var(n, &d).is_ok() {
                d.clone()
            } else {
                match wit.env.get(n) {
                    Some(v) => v.to_string(),
                    None => continue,
                }
            };
            env.set(n, &v);
            values.push((n.clone(), v));
        }
        out.push((env, values));
    }
    out
}

impl<'a> Ctx<'a> {
    pub fn new(ir: &'a Ir, timeout_ms: u32) -> Ctx<'a> {
        Ctx::with_values(ir, timeout_ms, &[])
    }

    /// Preferring `values` for the variables (see `Witnesses::with_values`).
    pub fn with_values(ir: &'a Ir, timeout_ms: u32, values: &[(String, String)]) -> Ctx<'a> {
        let table = ir.table();
        let single_suffices = !ir.rules.iter().any(|r| {
            matches!(&r.matcher, Matcher::Syscall { nr, .. }
                if table.by_nr(*nr).is_some_and(|s| claw_ir::mediation::of(s.name).is_some()))
        });
        let vars = Vars::of(ir);
        let wit = Witnesses::with_values(ir, values);
        let alt_envs = alternative_envs(ir, &vars, &wit);
        Ctx {
            ir,
            single_suffices,
            vars,
            timeout_ms,
            wit,
            alt_envs,
        }
    }

    /// The witness values of the variables the policy uses.
    fn witness_vars(&self) -> Vec<(String, String)> {
        self.wit
            .env_values
            .iter()
            .filter(|(n, _)| self.vars.names.contains(n))
            .cloned()
            .collect()
    }

    /// A step for a concrete witness.
    fn witness_step(&self, state: u32, r: &CReq, note: String) -> Step {
        Step {
            state: self.state_name(state),
            state_id: Some(state),
            next: Some(self.wit.next(state, r)),
            request: self.wit.concrete(r),
            note,
            vars: self.witness_vars(),
        }
    }

    /// A step for a model: the request, and where the interpreter moves on it.
    pub(crate) fn model_step(&self, state: u32, m: &Model, r: &Req, note: String) -> Step {
        let request = self.concrete(m, r);
        let vars = self.var_values(m);
        let mut env = Env::new();
        for (n, v) in &vars {
            env.set(n, v);
        }
        let req = claw_ir::Request {
            nr: self
                .ir
                .table()
                .by_name(&request.syscall)
                .map_or(u32::MAX, |s| s.nr),
            args: request.args,
            accesses: &request.accesses,
        };
        let next = self.ir.next_state(state, &req, &env).map_or(state, |(to, _)| to);
        Step {
            state: self.state_name(state),
            state_id: Some(state),
            next: Some(next),
            request,
            note,
            vars,
        }
    }

    /// An allowed request in `state` that does `want` (and `extra`), concretely if
    /// a candidate does, else by z3.
    fn find(
        &self,
        state: u32,
        concrete: &dyn Fn(&CReq) -> bool,
        want: Want,
        extra: &dyn Fn(&Req) -> Vec<Bool>,
        note: String,
        unknown: &mut Option<String>,
    ) -> Option<Step> {
        if let Some(w) = self.wit.find(state, concrete) {
            return Some(self.witness_step(state, w, note));
        }
        let (r, wf) = self.request("q");
        let extra = extra(&r);
        if extra.is_empty() {
            if let Some(step) = self.find_elsewhere(state, want, &note) {
                return Some(step);
            }
        }
        match self.exists(state, &r, wf, want, &extra) {
            Answer::Sat(m) => Some(self.model_step(state, &m, &r, note)),
            Answer::Unsat => None,
            Answer::Unknown(why) => {
                unknown.get_or_insert(why);
                None
            }
        }
    }

    /// A candidate that does `want` when the variables are a directory the
    /// policy names (`$WORKSPACE` = `/data` against `allow … "/data/a*"`): z3 is
    /// slow to find such values, the candidates have them. The step carries them.
    fn find_elsewhere(&self, state: u32, want: Want, note: &str) -> Option<Step> {
        for (env, vars) in &self.alt_envs {
            let does = |r: &CReq| match want {
                Want::Performs(p) => crate::witness::pattern_matches(p, r, env),
                Want::Outside(verbs, e) => crate::witness::access_outside(verbs, e, r, env),
                Want::Fires(m) => match m {
                    Matcher::Syscall { nr, conds } => r.nr == *nr && conds.iter().all(|c| c.holds(&r.args)),
                    m => r.accesses.iter().any(|a| claw_ir::matches_access(m, a, env)),
                },
            };
            let allowed = |r: &CReq| {
                self.wit.clone3() != Some(r.nr)
                    && self.ir.decide(state, &r.request(), env).action.is_allowing()
            };
            if let Some(r) = self.wit.all().iter().find(|r| does(r) && allowed(r)) {
                let next = self
                    .ir
                    .next_state(state, &r.request(), env)
                    .map_or(state, |(to, _)| to);
                return Some(Step {
                    state: self.state_name(state),
                    state_id: Some(state),
                    next: Some(next),
                    request: self.wit.concrete(r),
                    note: note.to_string(),
                    vars: vars.clone(),
                });
            }
        }
        None
    }

    /// Is some request allowed in `state` that does `want` and satisfies `extra`?
    /// One solver query per access that may do it and per way that access is
    /// allowed, skipping those that cannot apply: many small problems z3 refutes
    /// quickly instead of one large one.
    pub fn exists(&self, state: u32, r: &Req, wf: Bool, want: Want, extra: &[Bool]) -> Answer {
        let d = decide(self.ir, state, r, &self.vars);
        let shape = want.shape();
        let mut unknown = None;
        let mut queries: Vec<Vec<Bool>> = Vec::new();
        let base = |more: Vec<Bool>| {
            let mut f = vec![wf.clone(), d.refused.not()];
            f.extend(more);
            f.extend(extra.iter().cloned());
            f
        };
        match want.regs(r) {
            Some(regs) => {
                // By the registers: without an access, or with one allowed.
                queries.push(base(vec![
                    regs.clone(),
                    r.has_access().not(),
                    d.no_access.clone(),
                ]));
                for reason in &d.reasons[0] {
                    let mut more = vec![regs.clone(), r.has_access().clone(), reason.formula.clone()];
                    more.extend((1..SLOTS).map(|j| d.slot_allowed(j, r)));
                    queries.push(base(more));
                }
            }
            None => {
                // A request with several accesses is allowed only if each is; with
                // no syscall rule on a mediated syscall, the request with just the
                // offending access is allowed too. So, unless more is asked of the
                // request (a transition, the event), slot 0 finds every answer.
                let slots = if extra.is_empty() && self.single_suffices {
                    1
                } else {
                    SLOTS
                };
                for slot in 0..slots {
                    if let Some(vs) = want.verbs() {
                        if !vs.iter().any(|v| slot_verbs(slot).contains(v)) {
                            continue;
                        }
                    }
                    let Some(does) = want.slot(r, slot, &self.vars) else {
                        continue;
                    };
                    for reason in d.reasons[slot].iter().filter(|x| shape.compatible(x)) {
                        let mut more = vec![
                            does.clone(),
                            r.slots[slot].present.clone(),
                            reason.formula.clone(),
                        ];
                        more.extend((0..SLOTS).filter(|j| *j != slot).map(|j| d.slot_allowed(j, r)));
                        queries.push(base(more));
                    }
                }
            }
        }
        for mut facts in queries {
            match self.solve(&facts) {
                Answer::Sat(m) if self.valid_text(&m, r) => return Answer::Sat(m),
                Answer::Sat(m) => {
                    // Bytes that are no UTF-8: the interpreter never sees such a
                    // path. Ask again for text; keep the bytes if that fails (the
                    // request exists in the kernel all the same).
                    facts.push(r.utf8());
                    facts.push(self.vars.utf8());
                    return match self.solve(&facts) {
                        sat @ Answer::Sat(_) => sat,
                        _ => Answer::Sat(m),
                    };
                }
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

    /// Are the model's strings (paths, address, variable values) valid UTF-8?
    fn valid_text(&self, m: &Model, r: &Req) -> bool {
        let ok = |s: &z3::ast::String| model_bytes(m, s).is_none_or(|b| std::str::from_utf8(&b).is_ok());
        ok(&r.slots[0].path) && ok(&r.slots[2].path) && ok(&r.sock) && self.vars.values.iter().all(ok)
    }

    /// Solves with the path variables pinned to the witness values first, so that a
    /// trace stays one consistent run; only if that finds nothing, with the
    /// variables free (the proof must cover every value).
    pub fn solve(&self, facts: &[Bool]) -> Answer {
        // The witness values substituted (z3 simplifies the constant prefixes
        // away), with the full limit: a shorter one would let the machine's load
        // decide which of two valid answers is printed.
        let consts: Vec<(z3::ast::String, z3::ast::String)> = self
            .vars
            .names
            .iter()
            .zip(&self.vars.values)
            .filter_map(|(name, value)| Some((value.clone(), crate::encode::lit(self.wit.env.get(name)?))))
            .collect();
        if !consts.is_empty() {
            let subst: Vec<(&z3::ast::String, &z3::ast::String)> =
                consts.iter().map(|(a, b)| (a, b)).collect();
            let pinned: Vec<Bool> = facts.iter().map(|f| f.substitute(&subst)).collect();
            // No variable in the question: one query is enough.
            let same = pinned.iter().zip(facts).all(|(p, f)| {
                // SAFETY: both are valid ASTs of the thread's context.
                unsafe {
                    z3_sys::Z3_is_eq_ast(
                        z3::Context::thread_local().get_z3_context(),
                        p.get_z3_ast(),
                        f.get_z3_ast(),
                    )
                }
            });
            if same {
                return self.solve_once(facts, self.timeout_ms);
            }
            let mut equal: Vec<Bool> = consts.iter().map(|(a, b)| a.eq(b)).collect();
            equal.extend(pinned);
            if let sat @ Answer::Sat(_) = self.solve_once(&equal, self.timeout_ms) {
                return sat;
            }
        }
        self.solve_once(facts, self.timeout_ms)
    }

    /// Solves with the variables set to `values` (those it names; the others
    /// free), substituted so that z3 simplifies the constant prefixes away.
    pub fn solve_pinned(&self, facts: &[Bool], values: &[(String, String)]) -> Answer {
        let consts: Vec<(z3::ast::String, z3::ast::String)> = self
            .vars
            .names
            .iter()
            .zip(&self.vars.values)
            .filter_map(|(name, var)| {
                let (_, v) = values.iter().find(|(n, _)| n == name)?;
                Some((var.clone(), crate::encode::lit(v)))
            })
            .collect();
        let subst: Vec<(&z3::ast::String, &z3::ast::String)> = consts.iter().map(|(a, b)| (a, b)).collect();
        let mut pinned: Vec<Bool> = consts.iter().map(|(a, b)| a.eq(b)).collect();
        pinned.extend(facts.iter().map(|f| f.substitute(&subst)));
        self.solve_once(&pinned, self.timeout_ms)
    }

    fn solve_once(&self, facts: &[Bool], timeout_ms: u32) -> Answer {
        let solver = Solver::new();
        let mut p = Params::new();
        p.set_u32("timeout", timeout_ms);
        solver.set_params(&p);
        solver.assert(self.vars.well_formed());
        for f in facts {
            solver.assert(f);
        }
        let started = std::time::Instant::now();
        let result = solver.check();
        if let Some(dir) = std::env::var_os("CLAW_VERIFY_DUMP") {
            if started.elapsed().as_millis() > 1000 {
                let n = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let _ = std::fs::write(
                    std::path::Path::new(&dir).join(format!("q{n}.smt2")),
                    solver.to_string(),
                );
            }
        }
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
                    .unwrap_or_else(|| format!("timed out after {timeout_ms} ms")),
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
        let is = |b: &Bool| m.eval(b, true).and_then(|b| b.as_bool()).unwrap_or(false);
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
        let mut accesses = Vec::new();
        for (i, slot) in r.slots.iter().enumerate() {
            if !is(&slot.present) {
                continue;
            }
            let verb = VERBS.get(u(&slot.verb) as usize).copied().unwrap_or(Verb::Read);
            if verb.is_network() && i == 0 {
                let port = u(&r.port) as u16;
                let proto = if u(&r.proto) == 1 { Proto::Udp } else { Proto::Tcp };
                let sock =
                    || String::from_utf8_lossy(&model_bytes(m, &r.sock).unwrap_or_default()).into_owned();
                let addr = match u(&r.fam) {
                    FAM_INET4 => NetAddr::Inet {
                        proto,
                        ip: IpAddr::V4(Ipv4Addr::from(u(&r.ip4) as u32)),
                        port,
                    },
                    FAM_INET6 => {
                        let hi = m
                            .eval(&r.ip6.extract(127, 64), true)
                            .and_then(|v| v.as_u64())
                            .unwrap_or(0);
                        let lo = m
                            .eval(&r.ip6.extract(63, 0), true)
                            .and_then(|v| v.as_u64())
                            .unwrap_or(0);
                        NetAddr::Inet {
                            proto,
                            ip: IpAddr::V6(Ipv6Addr::from((u128::from(hi) << 64) | u128::from(lo))),
                            port,
                        }
                    }
                    FAM_UNIX => NetAddr::UnixPath(sock()),
                    FAM_ABSTRACT => NetAddr::UnixAbstract(sock()),
                    _ => continue,
                };
                let name =
                    (is(&r.named) && matches!(addr, NetAddr::Inet { .. })).then(|| model_str(m, &r.name));
                accesses.push(Access::Net { verb, addr, name });
            } else {
                accesses.push(Access::Path {
                    verb,
                    path: model_str(m, &slot.path),
                });
            }
        }
        Concrete {
            syscall,
            args,
            access: crate::witness::show_accesses(&accesses),
            accesses,
        }
    }

    pub fn var_values(&self, m: &Model) -> Vec<(String, String)> {
        self.vars
            .names
            .iter()
            .zip(&self.vars.values)
            .map(|(n, v)| (n.clone(), model_str(m, v)))
            .collect()
    }

    pub(crate) fn state_name(&self, s: u32) -> String {
        let n = &self.ir.states[s as usize];
        if n.is_empty() {
            "(single state)".into()
        } else {
            n.clone()
        }
    }
}

/// What a searched-for request must be, where known: its verbs and the path
/// patterns it must match, or patterns it must lie outside of. Lets `exists`
/// skip reasons that cannot apply.
#[derive(Default)]
pub(crate) struct Shape {
    verbs: Option<Vec<Verb>>,
    paths: Option<Vec<String>>,
    within: Option<Vec<String>>,
}

impl Shape {
    fn of(p: &Pattern) -> Shape {
        match p {
            Pattern::Access { verbs, entity } => Shape {
                verbs: Some(verbs.clone()),
                paths: match entity {
                    Some(Entity::Paths(ps)) => Some(ps.clone()),
                    _ => None,
                },
                within: None,
            },
            Pattern::Syscalls(_) => Shape::default(),
        }
    }

    fn of_matcher(m: &Matcher) -> Shape {
        match m {
            Matcher::Access { verbs, entity } => Shape::of(&Pattern::Access {
                verbs: verbs.clone(),
                entity: Some(entity.clone()),
            }),
            Matcher::Syscall { .. } => Shape::default(),
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
        if let (Some(within), Some(have)) = (&self.within, &r.path) {
            // The access matches `have`, which lies inside the set: never outside.
            if within.iter().any(|w| crate::encode::subsumes(w, have)) {
                return false;
            }
        }
        true
    }
}

/// What reachability found: for each state a run that reaches it (`None`: not
/// reached; a run is certain only if every transition on it has a witness), and
/// for each transition whether it can fire, with a step that fires it.
pub(crate) struct Reach {
    pub path: Vec<Option<Vec<Step>>>,
    /// The run to the state has a witness for every step.
    pub certain: Vec<bool>,
    pub live: Vec<Option<bool>>,
    pub fire: Vec<Option<Step>>,
    pub unknown: Option<String>,
}

pub(crate) fn reachability(cx: &Ctx) -> Reach {
    let ir = cx.ir;
    let n = ir.states.len();
    let mut path: Vec<Option<Vec<Step>>> = vec![None; n];
    let mut certain = vec![false; n];
    let mut live: Vec<Option<bool>> = vec![None; ir.transitions.len()];
    let mut fire: Vec<Option<Step>> = vec![None; ir.transitions.len()];
    let mut unknown = None;
    path[ir.initial as usize] = Some(Vec::new());
    certain[ir.initial as usize] = true;
    // Every transition out of every state entered is searched, once the state is
    // entered (a state entered again later is not searched again: its transitions
    // do not depend on how it was entered).
    let mut queue = VecDeque::from([ir.initial]);
    let mut searched = vec![false; n];
    while let Some(s) = queue.pop_front() {
        if std::mem::replace(&mut searched[s as usize], true) {
            continue;
        }
        for (ti, t) in ir.transitions.iter().enumerate().filter(|(_, t)| t.from == s) {
            let note = format!("allowed; moves to `{}` ({})", cx.state_name(t.to), t.origin);
            let concrete = cx
                .wit
                .find(s, |r| cx.wit.next_index(s, r) == Some(ti))
                .map(|w| cx.witness_step(s, w, note.clone()));
            let witness = match concrete {
                Some(w) => Some(w),
                None => {
                    let (r, wf) = cx.request("ev");
                    let first = fires_first(ir, ti, &r, &cx.vars);
                    match cx.exists(s, &r, wf, Want::Fires(&t.event), &[first]) {
                        Answer::Sat(m) => Some(cx.model_step(s, &m, &r, note)),
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
                }
            };
            live[ti] = Some(true);
            let sure = witness.is_some() && certain[s as usize];
            fire[ti] = witness.clone();
            let to = t.to as usize;
            if path[to].is_none() || (sure && !certain[to]) {
                let mut p = path[s as usize].clone().unwrap_or_default();
                p.extend(witness);
                path[to] = Some(p);
                certain[to] = sure;
                searched[to] = false;
                queue.push_back(t.to);
            }
        }
    }
    Reach {
        path,
        certain,
        live,
        fire,
        unknown,
    }
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

/// Steps that lead from `from` to `to`, each firing a transition with a witness
/// (`None` if no such run is known).
fn route(ir: &Ir, reach: &Reach, from: u32, to: u32) -> Option<Vec<Step>> {
    let mut prev: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(s) = queue.pop_front() {
        if s == to {
            let mut steps = Vec::new();
            let mut cur = to;
            while cur != from {
                let (p, ti) = prev[&cur];
                steps.push(reach.fire[ti].clone()?);
                cur = p;
            }
            steps.reverse();
            return Some(steps);
        }
        for (ti, t) in ir.transitions.iter().enumerate() {
            if t.from == s && reach.fire[ti].is_some() && seen.insert(t.to) {
                prev.insert(t.to, (s, ti));
                queue.push_back(t.to);
            }
        }
    }
    None
}

/// Why an open before the event fails a `never … after` property.
pub(crate) const STAYS_OPEN: &str =
    "a file opened before the event stays open after it: descriptors cannot be \
    revoked, so the agent can keep using it. Forbid this access before the event too, or \
    assert only what the runtime can revoke (network access is revoked on transitions).";

/// The part of `p` that a descriptor keeps: its `read`, `write` and `append`
/// verbs (whatever others it names); `None` if it has none of them.
pub(crate) fn fd_part(p: &Pattern) -> Option<Pattern> {
    match p {
        Pattern::Access { verbs, entity } => {
            let kept: Vec<Verb> = verbs
                .iter()
                .copied()
                .filter(|v| matches!(v, Verb::Read | Verb::Write | Verb::Append))
                .collect();
            (!kept.is_empty()).then(|| Pattern::Access {
                verbs: kept,
                entity: entity.clone(),
            })
        }
        Pattern::Syscalls(_) => None,
    }
}

/// The request is an open (`open`, `openat`, `openat2`, `creat`): the calls that
/// leave the agent a descriptor.
pub(crate) fn opens_a_file(ir: &Ir, r: &Req) -> Bool {
    let nrs: Vec<Bool> = ir
        .table()
        .iter()
        .filter(|s| is_open(s.name))
        .map(|s| r.nr.eq(z3::ast::BV::from_u64(u64::from(s.nr), 32)))
        .collect();
    Bool::or(&nrs)
}

/// Does this syscall open a file (and so leave a descriptor)?
pub(crate) fn is_open(name: &str) -> bool {
    matches!(
        claw_ir::mediation::of(name),
        Some(
            claw_ir::Mediation::Open { .. }
                | claw_ir::Mediation::OpenHow { .. }
                | claw_ir::Mediation::Creat { .. }
        )
    )
}

/// Does some transition out of `s` fire on every request that performs `b`?
/// Decided on the patterns (conservative: `false` unless certain): `b`'s verbs
/// are among the event's, and each of its paths lies inside one of the event's
/// patterns (the same, or `encode::subsumes`). Both look at every access of a request (the
/// event fires on any access it matches, `Req::fires`), so an access that
/// performs `b` makes the event fire.
fn event_covers(ir: &Ir, s: u32, b: &Pattern) -> bool {
    let Pattern::Access {
        verbs,
        entity: Some(Entity::Paths(ps)),
    } = b
    else {
        return false;
    };
    ir.transitions
        .iter()
        .filter(|t| t.from == s)
        .any(|t| match &t.event {
            Matcher::Access {
                verbs: tv,
                entity: Entity::Paths(tps),
            } => {
                verbs.iter().all(|v| tv.contains(v))
                    && ps
                        .iter()
                        .all(|p| tps.iter().any(|tp| tp == p || crate::encode::subsumes(tp, p)))
            }
            _ => false,
        })
}

/// Where a request allowed in `s` may take the sandbox: each transition out of
/// `s` (when it is the first whose event matches), or nowhere.
pub(crate) fn targets(cx: &Ctx, s: u32, r: &Req) -> Vec<(u32, Bool, String)> {
    let ir = cx.ir;
    let mut out = vec![(
        s,
        stays(ir, s, r, &cx.vars),
        format!("stays in `{}`", cx.state_name(s)),
    )];
    for (ti, t) in ir.transitions.iter().enumerate().filter(|(_, t)| t.from == s) {
        let note = format!("moves to `{}` ({})", cx.state_name(t.to), t.origin);
        out.push((t.to, fires_first(ir, ti, r, &cx.vars), note));
    }
    out
}

/// Proves one property.
pub(crate) fn property(cx: &Ctx, reach: &Reach, prop: &Property) -> Outcome {
    match property_once(cx, reach, prop) {
        Outcome::Failed(c) => Outcome::Failed(Counterexample {
            steps: one_run(cx, prop, c.steps),
            explanation: c.explanation,
        }),
        other => other,
    }
}

fn property_once(cx: &Ctx, reach: &Reach, prop: &Property) -> Outcome {
    let ir = cx.ir;
    let wit = &cx.wit;
    let reached: Vec<u32> = (0..ir.states.len() as u32)
        .filter(|s| reach.path[*s as usize].is_some())
        .collect();
    let mut unknown: Option<String> = reach.unknown.clone();
    // A violation in a state reached only through an undecided transition is no
    // counterexample: remember it, and answer "unknown" if nothing certain fails.
    let mut maybe = false;
    let trace = |s: u32| reach.path[s as usize].clone().unwrap_or_default();
    let none = |_: &Req| Vec::new();

    match prop {
        Property::Never { what, after: None } => {
            for &s in &reached {
                let c = |r: &CReq| wit.matches_pattern(what, r);
                let note = "allowed, which the property forbids".to_string();
                if let Some(step) = cx.find(s, &c, Want::Performs(what), &none, note, &mut unknown) {
                    if !reach.certain[s as usize] {
                        maybe = true;
                        continue;
                    }
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
            // `how[to]`: a run that performs B and ends in `to`.
            let mut how: BTreeMap<u32, Vec<Step>> = BTreeMap::new();
            let mut uncertain: BTreeSet<u32> = BTreeSet::new();
            // `b_step[s]`: a step performing B in `s`.
            let mut b_step: BTreeMap<u32, Step> = BTreeMap::new();
            let mut b_maybe: BTreeSet<u32> = BTreeSet::new();
            for &s in &reached {
                let sure = reach.certain[s as usize];
                let record = |to: u32,
                              step: Step,
                              how: &mut BTreeMap<u32, Vec<Step>>,
                              b_step: &mut BTreeMap<u32, Step>,
                              uncertain: &mut BTreeSet<u32>| {
                    b_step.entry(s).or_insert_with(|| step.clone());
                    if !sure {
                        uncertain.insert(to);
                        return;
                    }
                    how.entry(to).or_insert_with(|| {
                        let mut steps = trace(s);
                        steps.push(step);
                        steps
                    });
                };
                // Concretely first: every allowed candidate that is a B.
                for r in wit
                    .all()
                    .iter()
                    .filter(|r| wit.matches_pattern(b, r) && wit.allowed(s, r))
                {
                    let to = wit.next(s, r);
                    let note = match wit.next_index(s, r) {
                        Some(ti) => format!(
                            "the `after` event happens; moves to `{}` ({})",
                            cx.state_name(to),
                            ir.transitions[ti].origin
                        ),
                        None => format!("the `after` event happens; stays in `{}`", cx.state_name(s)),
                    };
                    record(
                        to,
                        cx.witness_step(s, r, note),
                        &mut how,
                        &mut b_step,
                        &mut uncertain,
                    );
                }
                // Then z3 for the outcomes no candidate showed (every one: a state
                // already known to follow B elsewhere is still asked for here, so
                // that every state in which B can happen is known).
                let (r, wf) = cx.request("b");
                for (i, (to, cond, note)) in targets(cx, s, &r).into_iter().enumerate() {
                    if b_step.contains_key(&s) && (how.contains_key(&to) || uncertain.contains(&to)) {
                        continue;
                    }
                    // Staying (the first target) while B happens is impossible
                    // when a transition of `s` fires on every B: no need to ask.
                    if i == 0 && event_covers(ir, s, b) {
                        continue;
                    }
                    match cx.exists(s, &r, wf.clone(), Want::Performs(b), &[cond]) {
                        Answer::Sat(m) => {
                            let step = cx.model_step(s, &m, &r, format!("the `after` event happens; {note}"));
                            record(to, step, &mut how, &mut b_step, &mut uncertain);
                        }
                        Answer::Unsat => {}
                        Answer::Unknown(why) => {
                            // Maybe: keep it (sound for a proof), but remember that
                            // nothing found through it is a real counterexample.
                            unknown.get_or_insert(why);
                            b_maybe.insert(s);
                            uncertain.insert(to);
                        }
                    }
                }
            }
            let post: BTreeSet<u32> = how.keys().copied().collect();
            let after = closure(ir, reach, &post);
            for &s in &after {
                let c = |r: &CReq| wit.matches_pattern(what, r);
                let note = "allowed after the event, which the property forbids".to_string();
                let Some(step) = cx.find(s, &c, Want::Performs(what), &none, note, &mut unknown) else {
                    continue;
                };
                // A trace: to the event, then on to `s` over transitions that fire.
                let run = how.iter().find_map(|(to, st)| {
                    route(ir, reach, *to, s).map(|mut more| {
                        let mut steps = st.clone();
                        steps.append(&mut more);
                        steps
                    })
                });
                match run {
                    Some(mut steps) => {
                        steps.push(step);
                        return Outcome::Failed(Counterexample {
                            steps,
                            explanation: None,
                        });
                    }
                    None => maybe = true,
                }
            }
            // Only after checking the certain states: a real counterexample wins.
            let maybe_after: BTreeSet<u32> = closure(ir, reach, &uncertain)
                .difference(&after)
                .copied()
                .collect();
            for &s in &maybe_after {
                let c = |r: &CReq| wit.matches_pattern(what, r);
                if cx
                    .find(s, &c, Want::Performs(what), &none, String::new(), &mut unknown)
                    .is_some()
                {
                    maybe = true;
                }
            }
            // Open files survive transitions: a descriptor opened before B (or by
            // B itself) for a read, write or append the property forbids is still
            // usable after it.
            let b_states: BTreeSet<u32> = b_step.keys().chain(b_maybe.iter()).copied().collect();
            if let Some(fd) = fd_part(what) {
                let explanation = STAYS_OPEN.to_string();
                for &s0 in &reached {
                    if closure(ir, reach, &BTreeSet::from([s0])).is_disjoint(&b_states) {
                        continue;
                    }
                    let (r, wf) = cx.request("fd");
                    for (to, cond, note) in targets(cx, s0, &r) {
                        // B later (from where this open leads), or B by this very request.
                        let later = closure(ir, reach, &BTreeSet::from([to]));
                        let b_later = later.iter().find(|x| b_step.contains_key(x)).copied();
                        let b_maybe_later = !later.is_disjoint(&b_states);
                        let note = format!("allowed before the event: the file stays open; {note}");
                        // Only an open leaves a descriptor.
                        let opens = opens_a_file(ir, &r);
                        let extra = if b_maybe_later {
                            vec![cond, opens]
                        } else {
                            vec![cond, opens, r.matches_pattern(b, &cx.vars)]
                        };
                        // A candidate first, in their fixed order: the step printed is
                        // then the same on every run, whatever the solver's timing.
                        let table = ir.table();
                        let candidate = wit.all().iter().find(|c| {
                            table.by_nr(c.nr).is_some_and(|sc| is_open(sc.name))
                                && wit.allowed(s0, c)
                                && wit.matches_pattern(&fd, c)
                                && wit.next(s0, c) == to
                                && (b_maybe_later || wit.matches_pattern(b, c))
                        });
                        let found = match candidate {
                            Some(c) => Ok(cx.witness_step(s0, c, note.clone())),
                            None => Err(cx.exists(s0, &r, wf.clone(), Want::Performs(&fd), &extra)),
                        };
                        let step = match found {
                            Ok(step) => step,
                            Err(Answer::Sat(m)) => cx.model_step(s0, &m, &r, note),
                            Err(Answer::Unsat) => continue,
                            Err(Answer::Unknown(why)) => {
                                unknown.get_or_insert(why);
                                continue;
                            }
                        };
                        let is_b = crate::witness::step_matches(ir, &step, b);
                        let mut steps = trace(s0);
                        let ok = reach.certain[s0 as usize];
                        steps.push(step);
                        let tail = if is_b {
                            Some(Vec::new())
                        } else {
                            b_later.and_then(|bs| {
                                let next = steps.last().and_then(|st| st.next).unwrap_or(to);
                                route(ir, reach, next, bs).map(|mut r| {
                                    r.push(b_step[&bs].clone());
                                    r
                                })
                            })
                        };
                        match tail {
                            Some(mut t) if ok => {
                                steps.append(&mut t);
                                return Outcome::Failed(Counterexample {
                                    steps,
                                    explanation: Some(explanation),
                                });
                            }
                            _ => maybe = true,
                        }
                    }
                }
            }
        }
        Property::Always { verbs, within } => {
            for &s in &reached {
                let c = |r: &CReq| wit.outside(verbs, within, r);
                let note = "allowed, outside the set the property names".to_string();
                if let Some(step) = cx.find(s, &c, Want::Outside(verbs, within), &none, note, &mut unknown) {
                    if !reach.certain[s as usize] {
                        maybe = true;
                        continue;
                    }
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
        None if maybe => {
            Outcome::Unknown("a violation was found only through a run the solver could not decide".into())
        }
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
                other: None,
                message: format!(
                    "this transition can never fire: no request matching its event is allowed in `{}` (or a transition written before it takes every such request)",
                    ir.states[t.from as usize]
                ),
            });
        }
    }
    // Two transitions of a state that one allowed request can fire: the first
    // written wins (as `Ir::next_state`); say so, with both.
    for (j, u) in ir.transitions.iter().enumerate() {
        // A dead one too: this says why (W0403 says that it is).
        if reach.path[u.from as usize].is_none() {
            continue;
        }
        for (i, t) in ir.transitions.iter().enumerate().take(j) {
            if t.from != u.from || t.to == u.to {
                continue;
            }
            let both = |r: &CReq| wit.matches(&t.event, r) && wit.matches(&u.event, r);
            let overlaps = wit.find(u.from, both).is_some() || {
                let (r, wf) = cx.request("overlap");
                let first = r.fires(&t.event, &cx.vars);
                matches!(
                    cx.exists(u.from, &r, wf, Want::Fires(&u.event), &[first]),
                    Answer::Sat(_)
                )
            };
            if overlaps {
                out.push(Lint::Transition {
                    code: "W0405",
                    transition: j,
                    other: Some(i),
                    message: format!(
                        "this transition overlaps an earlier one of `{}` ({}): a request matching both moves to `{}`, the first written",
                        ir.states[u.from as usize], t.origin, ir.states[t.to as usize]
                    ),
                });
                break;
            }
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

/// The request of a trace step, for the interpreter.
pub(crate) fn step_req(ir: &Ir, st: &Step) -> CReq {
    CReq {
        nr: ir.table().by_name(&st.request.syscall).map_or(u32::MAX, |s| s.nr),
        args: st.request.args,
        accesses: st.request.accesses.clone(),
    }
}

/// Does this run (each step allowed, in order) violate `prop`? As the property
/// means it: B then A; or A's read/write/append at or before B (the descriptor
/// stays open).
pub(crate) fn run_violates(ir: &Ir, prop: &Property, steps: &[Step], env: &Env) -> bool {
    let reqs: Vec<CReq> = steps.iter().map(|s| step_req(ir, s)).collect();
    let does = |p: &Pattern, r: &CReq| crate::witness::pattern_matches(p, r, env);
    match prop {
        Property::Never { what, after: None } => reqs.iter().any(|r| does(what, r)),
        Property::Never { what, after: Some(b) } => {
            let fd = fd_part(what);
            let (mut seen_b, mut opened) = (false, false);
            for r in &reqs {
                if seen_b && does(what, r) {
                    return true;
                }
                let open = ir.table().by_nr(r.nr).is_some_and(|s| is_open(s.name));
                opened |= open && fd.as_ref().is_some_and(|f| does(f, r));
                if does(b, r) {
                    if opened {
                        return true;
                    }
                    seen_b = true;
                }
            }
            false
        }
        Property::Always { verbs, within } => reqs
            .iter()
            .any(|r| crate::witness::access_outside(verbs, within, r, env)),
    }
}

/// Makes a trace one run: steps found separately may use different values of
/// the path variables (the witness values, or the solver's). Tries each set of
/// values on the whole trace (moving paths below a variable's old value to its
/// new one) and keeps the first under which every step is allowed, moves as the
/// trace says and the run still violates the property.
pub(crate) fn one_run(cx: &Ctx, prop: &Property, steps: Vec<Step>) -> Vec<Step> {
    let ir = cx.ir;
    let mut sets: Vec<Vec<(String, String)>> = Vec::new();
    for st in steps.iter().rev() {
        if !sets.contains(&st.vars) {
            sets.push(st.vars.clone());
        }
    }
    if sets.len() <= 1 {
        return steps;
    }
    'sets: for vars in sets {
        let mut env = Env::new();
        for (n, v) in &vars {
            env.set(n, v);
        }
        let mut out = Vec::new();
        let mut state = ir.initial;
        for st in &steps {
            let mut st = st.clone();
            let mut moves: Vec<(String, String)> = st
                .vars
                .iter()
                .filter_map(|(n, old)| {
                    let new = vars.iter().find(|(m, _)| m == n)?.1.clone();
                    (new != *old).then(|| (old.clone(), new))
                })
                .collect();
            moves.sort_by_key(|(old, _)| std::cmp::Reverse(old.len()));
            for a in &mut st.request.accesses {
                if let Access::Path { path, .. } = a {
                    if let Some((old, new)) = moves
                        .iter()
                        .find(|(old, _)| path == old || path.starts_with(&format!("{old}/")))
                    {
                        *path = format!("{new}{}", &path[old.len()..]);
                    }
                }
            }
            st.request.access = crate::witness::show_accesses(&st.request.accesses);
            st.vars = vars.clone();
            let r = step_req(ir, &st);
            let allowed =
                cx.wit.clone3() != Some(r.nr) && ir.decide(state, &r.request(), &env).action.is_allowing();
            if st.state_id != Some(state) || !allowed {
                continue 'sets;
            }
            let next = ir
                .next_state(state, &r.request(), &env)
                .map_or(state, |(to, _)| to);
            if st.next != Some(next) {
                continue 'sets;
            }
            state = next;
            out.push(st);
        }
        if run_violates(ir, prop, &out, &env) {
            return out;
        }
    }
    steps
}
