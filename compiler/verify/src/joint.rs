//! One run, one assignment of the path variables: a property decided by a single
//! solver query over the whole state machine.
//!
//! The step-by-step search (`props`) asks one query per step, each free to choose
//! its own values of the variables. That is sound for a proof (every run under one
//! assignment is among the runs it considers), but a violation it finds may need
//! different values at different steps, which is no run at all. This module asks
//! the question once: is there one assignment of the variables, and a run of the
//! product of the state machine with the property's monitor, that ends in a
//! violation? The monitor's phases are "before the event", "after it" and "a file
//! the property forbids was opened before it" (descriptors survive transitions).
//!
//! Each transition has its own symbolic request (reused in every phase: a
//! request's decision depends only on the state); the event, the open and the
//! violating request are one symbolic request each, since a shortest violating run
//! uses each of those once. A node of the product is reached only from a reached
//! node of lower rank over an edge whose request exists, so a model is a finite
//! run: `unsat` is a proof for every assignment, `sat` a counterexample whose
//! steps share the model's values. The trace is replayed under the interpreter
//! before it is returned; one that does not replay is reported as inconclusive,
//! never printed.
//!
//! It knows nothing of candidates, pruning or lints: the query grows with the
//! number of transitions and rules, so `verify` asks it only where the
//! step-by-step search found a violation that mixes values.

use crate::encode::{decide, fires_first, model_bytes, Req, SLOTS};
use crate::props::{fd_part, opens_a_file, run_violates, step_req, targets, Answer, Ctx, Reach, STAYS_OPEN};
use crate::{Counterexample, Outcome, Step};
use claw_ir::{Entity, Env, Pattern, Property};
use z3::ast::{Bool, Int};

/// The monitor's phases (see the module doc).
const BEFORE: u8 = 0;
const AFTER: u8 = 1;
const OPENED: u8 = 2;

/// An edge of the product: from node to node, taken by request `req` when `used`.
struct Edge {
    from: (u32, u8),
    to: (u32, u8),
    used: Bool,
    req: usize,
    note: String,
}

/// The last step of a run: in node `at`, request `req` violates the property.
struct Violation {
    at: (u32, u8),
    used: Bool,
    req: usize,
    note: String,
    explanation: Option<String>,
}

/// The request is allowed in `state`, as the interpreter decides: not refused,
/// and every access it has allowed (or, without accesses, the syscall).
fn allowed(cx: &Ctx, state: u32, r: &Req) -> Bool {
    let d = decide(cx.ir, state, r, &cx.vars);
    let mut all: Vec<Bool> = (0..SLOTS).map(|j| d.slot_allowed(j, r)).collect();
    all.push(d.refused.not());
    all.push(r.has_access().not().implies(&d.no_access));
    Bool::and(&all)
}

/// The requests of the query, and the facts that tie each use of one to it.
struct Query<'c, 'a> {
    cx: &'c Ctx<'a>,
    reqs: Vec<Req>,
    facts: Vec<Bool>,
    uses: usize,
}

impl Query<'_, '_> {
    fn request(&mut self, tag: &str) -> usize {
        let (r, wf) = self.cx.request(&format!("joint.{tag}"));
        self.facts.push(wf);
        self.reqs.push(r);
        self.reqs.len() - 1
    }

    /// A use of request `i` in `state` with `more` asked of it: a fresh Boolean
    /// that implies the request is allowed there and does `more`.
    fn use_in(&mut self, i: usize, state: u32, more: Vec<Bool>) -> Bool {
        self.uses += 1;
        let used = Bool::new_const(format!("joint.use{}", self.uses));
        let mut all = vec![allowed(self.cx, state, &self.reqs[i])];
        all.extend(more);
        self.facts.push(used.implies(Bool::and(&all)));
        used
    }
}

/// Decides `prop` as one query (see the module doc), trying the variable
/// values of `hints` first (each a full or partial assignment).
pub(crate) fn property(cx: &Ctx, reach: &Reach, prop: &Property, hints: &[Vec<(String, String)>]) -> Outcome {
    let ir = cx.ir;
    let reached: Vec<u32> = (0..ir.states.len() as u32)
        .filter(|s| reach.path[*s as usize].is_some())
        .collect();
    let mut q = Query {
        cx,
        reqs: Vec::new(),
        facts: Vec::new(),
        uses: 0,
    };
    let phases: &[u8] = match prop {
        Property::Never { after: Some(_), .. } => &[BEFORE, AFTER, OPENED],
        _ => &[BEFORE],
    };
    let mut edges: Vec<Edge> = Vec::new();
    for (ti, t) in ir.transitions.iter().enumerate() {
        if !reached.contains(&t.from) || reach.live[ti] == Some(false) {
            continue;
        }
        let i = q.request(&format!("t{ti}"));
        let fires = fires_first(ir, ti, &q.reqs[i], &cx.vars);
        let used = q.use_in(i, t.from, vec![fires]);
        let note = format!("allowed; moves to `{}` ({})", cx.state_name(t.to), t.origin);
        for &p in phases {
            edges.push(Edge {
                from: (t.from, p),
                to: (t.to, p),
                used: used.clone(),
                req: i,
                note: note.clone(),
            });
        }
    }
    let mut violations: Vec<Violation> = Vec::new();
    let v = q.request("v");
    match prop {
        Property::Never { what, after: None } => {
            for &s in &reached {
                let does = q.reqs[v].matches_pattern(what, &cx.vars);
                violations.push(Violation {
                    at: (s, BEFORE),
                    used: q.use_in(v, s, vec![does]),
                    req: v,
                    note: "allowed, which the property forbids".into(),
                    explanation: None,
                });
            }
        }
        Property::Always { verbs, within } => {
            for &s in &reached {
                let r = &q.reqs[v];
                let outside: Vec<Bool> = (0..SLOTS)
                    .map(|j| {
                        let vs = Bool::or(&verbs.iter().map(|x| r.verb_is(j, *x)).collect::<Vec<_>>());
                        Bool::and(&[
                            r.slots[j].present.clone(),
                            vs,
                            r.in_entity(j, within, &cx.vars).not(),
                        ])
                    })
                    .collect();
                let outside = Bool::or(&outside);
                violations.push(Violation {
                    at: (s, BEFORE),
                    used: q.use_in(v, s, vec![outside]),
                    req: v,
                    note: "allowed, outside the set the property names".into(),
                    explanation: None,
                });
            }
        }
        Property::Never { what, after: Some(b) } => {
            let fd = fd_part(what);
            let e = q.request("b");
            let o = q.request("fd");
            for &s in &reached {
                // The event, to wherever it takes the sandbox.
                let performs_b = q.reqs[e].matches_pattern(b, &cx.vars);
                for (to, cond, note) in targets(cx, s, &q.reqs[e]) {
                    let used = q.use_in(e, s, vec![performs_b.clone(), cond]);
                    edges.push(Edge {
                        from: (s, BEFORE),
                        to: (to, AFTER),
                        used,
                        req: e,
                        note: format!("the `after` event happens; {note}"),
                    });
                }
                // After it: the forbidden request.
                let does = q.reqs[v].matches_pattern(what, &cx.vars);
                violations.push(Violation {
                    at: (s, AFTER),
                    used: q.use_in(v, s, vec![does]),
                    req: v,
                    note: "allowed after the event, which the property forbids".into(),
                    explanation: None,
                });
                let Some(fd) = &fd else { continue };
                // A forbidden file opened before the event...
                let r = &q.reqs[o];
                let (opens, performs_fd) = (opens_a_file(ir, r), r.matches_pattern(fd, &cx.vars));
                for (to, cond, note) in targets(cx, s, r) {
                    let used = q.use_in(o, s, vec![opens.clone(), performs_fd.clone(), cond]);
                    edges.push(Edge {
                        from: (s, BEFORE),
                        to: (to, OPENED),
                        used,
                        req: o,
                        note: format!("allowed before the event: the file stays open; {note}"),
                    });
                }
                // ...then the event (with the file open), or an open that is the event.
                let r = &q.reqs[v];
                let (performs_b, opens, performs_fd) = (
                    r.matches_pattern(b, &cx.vars),
                    opens_a_file(ir, r),
                    r.matches_pattern(fd, &cx.vars),
                );
                violations.push(Violation {
                    at: (s, OPENED),
                    used: q.use_in(v, s, vec![performs_b.clone()]),
                    req: v,
                    note: "the `after` event happens".into(),
                    explanation: Some(STAYS_OPEN.into()),
                });
                violations.push(Violation {
                    at: (s, BEFORE),
                    used: q.use_in(v, s, vec![performs_b, opens, performs_fd]),
                    req: v,
                    note: "allowed before the event: the file stays open; the `after` event happens".into(),
                    explanation: Some(STAYS_OPEN.into()),
                });
            }
        }
    }
    // Reachability in the product, as a least fixpoint with ranks.
    let start = (ir.initial, BEFORE);
    q.facts.push(node(start).0);
    // Every node, reached or not: an unconstrained one must not count as reached.
    for s in 0..ir.states.len() as u32 {
        for &p in phases {
            if (s, p) == start {
                continue;
            }
            let (r, k) = node((s, p));
            let via: Vec<Bool> = edges
                .iter()
                .filter(|e| e.to == (s, p))
                .map(|e| {
                    let (rf, kf) = node(e.from);
                    Bool::and(&[rf, e.used.clone(), kf.lt(&k)])
                })
                .collect();
            q.facts.push(r.implies(Bool::or(&via)));
        }
    }
    let violated: Vec<Bool> = violations
        .iter()
        .map(|v| Bool::and(&[node(v.at).0, v.used.clone()]))
        .collect();
    q.facts.push(Bool::or(&violated));
    let run = Run {
        cx,
        prop,
        reqs: &q.reqs,
        edges: &edges,
        violations: &violations,
        start,
    };
    // A run is found far faster with the variables set: first the values the
    // caller suggests (a mixed trace's), the witness values, and the directories
    // the policy names; then free, which is also the proof.
    let mut tried: Vec<Vec<(String, String)>> = Vec::new();
    let named = cx.alt_envs.iter().map(|(_, v)| v.clone());
    for values in hints.iter().cloned().chain(property_dirs(cx, prop)).chain(named) {
        if values.is_empty() || tried.contains(&values) || tried.len() == 8 {
            continue;
        }
        tried.push(values.clone());
        if let Answer::Sat(m) = solve(cx, &q.facts, &q.reqs, Some(&values)) {
            if let Outcome::Failed(c) = run.of(&m) {
                return Outcome::Failed(c);
            }
        }
    }
    match solve(cx, &q.facts, &q.reqs, None) {
        Answer::Unsat => Outcome::Proved,
        Answer::Unknown(why) => Outcome::Unknown(why),
        Answer::Sat(m) => run.of(&m),
    }
}

/// Every variable set to one directory the property's literal patterns name
/// (where the runtime accepts it): the values a violation of "never … /a/b/k"
/// through `$WORKSPACE/k` needs.
fn property_dirs(cx: &Ctx, prop: &Property) -> Vec<Vec<(String, String)>> {
    let mut pats: Vec<String> = Vec::new();
    let mut add = |e: &Entity| {
        if let Entity::Paths(ps) = e {
            pats.extend(ps.iter().filter(|p| p.starts_with('/')).cloned());
        }
    };
    match prop {
        Property::Never { what, after } => {
            for p in std::iter::once(what).chain(after.iter()) {
                if let Pattern::Access { entity: Some(e), .. } = p {
                    add(e);
                }
            }
        }
        Property::Always { within, .. } => add(within),
    }
    let mut out = Vec::new();
    for p in pats {
        let comps: Vec<&str> = p
            .split('/')
            .filter(|c| !c.is_empty())
            .take_while(|c| !c.contains(['*', '?']))
            .collect();
        for k in (1..=comps.len()).rev() {
            let d = format!("/{}", comps[..k].join("/"));
            let values: Vec<(String, String)> = cx
                .vars
                .names
                .iter()
                .filter(|n| claw_ir::check_var(n, &d).is_ok())
                .map(|n| (n.clone(), d.clone()))
                .collect();
            if !values.is_empty() && !out.contains(&values) {
                out.push(values);
            }
        }
    }
    out
}

/// The query with the variables set to `pin` (or free, and pinned to the
/// witness values first: [`Ctx::solve`]); a model whose strings are not all
/// UTF-8 is asked for again as text (kept if that fails).
fn solve(cx: &Ctx, facts: &[Bool], reqs: &[Req], pin: Option<&[(String, String)]>) -> Answer {
    let ask = |f: &[Bool]| match pin {
        Some(values) => cx.solve_pinned(f, values),
        None => cx.solve(f),
    };
    let answer = ask(facts);
    let Answer::Sat(m) = &answer else { return answer };
    let text = |s: &z3::ast::String| model_bytes(m, s).is_none_or(|b| std::str::from_utf8(&b).is_ok());
    let all_text = reqs
        .iter()
        .all(|r| text(&r.slots[0].path) && text(&r.slots[2].path) && text(&r.sock))
        && cx.vars.values.iter().all(text);
    if all_text {
        return answer;
    }
    let mut more = facts.to_vec();
    more.extend(reqs.iter().map(|r| r.utf8()));
    more.push(cx.vars.utf8());
    match ask(&more) {
        sat @ Answer::Sat(_) => sat,
        _ => answer,
    }
}

/// What a model of the query means: the run it describes.
struct Run<'r, 'c, 'a> {
    cx: &'c Ctx<'a>,
    prop: &'r Property,
    reqs: &'r [Req],
    edges: &'r [Edge],
    violations: &'r [Violation],
    start: (u32, u8),
}

impl Run<'_, '_, '_> {
    /// The run, from the violation back to the start over edges of lower rank,
    /// replayed under the interpreter; inconclusive if it does not replay.
    fn of(&self, m: &z3::Model) -> Outcome {
        let (cx, ir) = (self.cx, self.cx.ir);
        let truth = |b: &Bool| m.eval(b, true).and_then(|b| b.as_bool()).unwrap_or(false);
        let rank = |n: (u32, u8)| {
            m.eval(&node(n).1, true)
                .and_then(|k| k.as_i64())
                .unwrap_or(i64::MAX)
        };
        let Some(last) = self
            .violations
            .iter()
            .find(|v| truth(&node(v.at).0) && truth(&v.used))
        else {
            return Outcome::Unknown("the joint model names no violation".into());
        };
        let mut steps: Vec<Step> = vec![cx.model_step(last.at.0, m, &self.reqs[last.req], last.note.clone())];
        let mut cur = last.at;
        let mut guard = 0;
        while cur != self.start {
            guard += 1;
            let prev = self.edges.iter().find(|e| {
                e.to == cur && truth(&node(e.from).0) && truth(&e.used) && rank(e.from) < rank(cur)
            });
            let (Some(e), true) = (prev, guard <= self.edges.len() + 1) else {
                return Outcome::Unknown("the joint model has no run to the violation".into());
            };
            steps.push(cx.model_step(e.from.0, m, &self.reqs[e.req], e.note.clone()));
            cur = e.from;
        }
        steps.reverse();
        // Replay: each step allowed where it is, moving where the next one is,
        // and the run violates the property.
        let mut env = Env::new();
        for (n, val) in cx.var_values(m) {
            if claw_ir::check_var(&n, &val).is_err() {
                return Outcome::Unknown(format!(
                    "the joint model's value of ${n} ({val}) is one the runtime refuses"
                ));
            }
            env.set(&n, &val);
        }
        let mut state = ir.initial;
        for st in &steps {
            let r = step_req(ir, st);
            let ok =
                cx.wit.clone3() != Some(r.nr) && ir.decide(state, &r.request(), &env).action.is_allowing();
            if st.state_id != Some(state) || !ok {
                return Outcome::Unknown(
                    "the joint model's run does not replay under the interpreter".into(),
                );
            }
            state = st.next.unwrap_or(state);
        }
        if !run_violates(ir, self.prop, &steps, &env) {
            return Outcome::Unknown(
                "the joint model's run does not violate the property under the interpreter".into(),
            );
        }
        Outcome::Failed(Counterexample {
            explanation: last.explanation.clone(),
            steps,
        })
    }
}

/// A node of the product: entered, and its rank.
fn node((s, p): (u32, u8)) -> (Bool, Int) {
    (
        Bool::new_const(format!("joint.reach.{s}.{p}")),
        Int::new_const(format!("joint.rank.{s}.{p}")),
    )
}
