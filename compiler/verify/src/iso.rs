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
//! The route's conditions are symbolic in every register, so an `openat` with
//! `O_DIRECTORY` relative to a directory descriptor (`dirfd != AT_FDCWD`, which the
//! plan gives the kernel) is one of the opens asked about: of a regular file the
//! kernel refuses it (`ENOTDIR`) before Landlock, so the model's Landlock answer
//! only over-approximates what it allows.
//!
//! What it does not model: directories (Landlock's `READ_DIR`, granted by `DIR/**`
//! grants only; the argument is the module doc's of `claw_ir::isolate`,
//! "Directories"), creations and renames (routed to the monitor
//! by the plan, checked by the cBPF translation validation), the time between a
//! secret's creation outside the sandbox and its tripwire (docs/threat-model.md).

use crate::encode::{decide, may_overlap, model_str, subsumes, Req, Vars};
use crate::{Concrete, Counterexample, Outcome, Step};
use claw_ir::isolate::{IsoAction, IsolatedPlan};
use claw_ir::landlock::{rights_of, FsRight, LandlockPlan};
use claw_ir::{Access, Entity, Ir, Matcher, Route, Rule, Verb};
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
    full: &Ir,
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
        if matches!(full.route(nr), Route::Monitor(_)) {
            rest.push(ir_verb.clone());
        }
        Bool::from_bool(false)
    } else {
        notified(plan, full, r, nr)
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

/// `wf_vars`: what the variables the facts mention satisfy (see
/// [`View::well_formed`]). One solver serves every question (a scope each):
/// creating one costs more (10-20 ms) than most questions take (a few ms). A
/// question the incremental solver cannot settle in time is asked again of a
/// fresh one, whose preprocessing settles some it cannot (`/proc/sys/kernel/**`
/// of the default profile).
///
/// A check that ran out of time was cancelled inside z3, and the system's z3
/// (4.8.12) does not always leave a cancelled incremental solver usable: a later
/// check on it crashed the process about one run in six under load (always in
/// `Z3_solver_check` on the shared solver, after a timeout). So the shared solver
/// is replaced after every check that did not finish; nothing is carried over
/// (each question is in a scope of its own).
fn solve(solver: &mut Solver, wf_vars: &Bool, facts: &[Bool], timeout_ms: u32) -> Answer {
    match solve_in(solver, wf_vars, facts, true) {
        Answer::Unknown(_) => {
            *solver = shared_solver(timeout_ms);
            let fresh = Solver::new();
            let mut p = Params::new();
            p.set_u32("timeout", timeout_ms);
            fresh.set_params(&p);
            // No scope: a solver that has never pushed one runs z3's
            // non-incremental preprocessing, which is what settles these.
            solve_in(&fresh, wf_vars, facts, false)
        }
        a => a,
    }
}

/// The shared, incremental solver: a short budget (what it cannot settle
/// quickly goes to a fresh solver with the full limit, see [`solve`]).
fn shared_solver(timeout_ms: u32) -> Solver {
    let solver = Solver::new();
    let mut p = Params::new();
    p.set_u32("timeout", timeout_ms.min(500));
    solver.set_params(&p);
    solver
}

fn solve_in(solver: &Solver, wf_vars: &Bool, facts: &[Bool], scoped: bool) -> Answer {
    if scoped {
        solver.push();
    }
    solver.assert(wf_vars);
    for f in facts {
        solver.assert(f);
    }
    let out = match solver.check() {
        SatResult::Sat => match solver.get_model() {
            Some(m) => Answer::Sat(m),
            None => Answer::Unknown("the solver gave no model".into()),
        },
        SatResult::Unsat => Answer::Unsat,
        SatResult::Unknown => Answer::Unknown(
            solver
                .get_reason_unknown()
                .unwrap_or_else(|| "timed out".to_string()),
        ),
    };
    if scoped {
        solver.pop(1);
    }
    out
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

/// The part of the policy and of the plan that can concern a path in `focus`.
///
/// Every formula of a query is built from atoms "the path matches pattern P"
/// (rules, grants, carves, tripwires, monitored subtrees), bit-vector facts
/// about the registers, and the verb. A query that asserts the path lies in
/// `focus` (a grant's subtree, an allowing rule's pattern, a transition's
/// event) makes every atom whose pattern cannot meet `focus` false:
/// [`may_overlap`] is conservative (it says "may" unless no canonical path, for
/// any values of the variables `Vars::well_formed` admits, matches both), so
/// dropping those patterns, and the rules left without one, gives an
/// equivalent query. Likewise an access rule whose verbs are none of `verbs`
/// (the query's requests have exactly those verbs) never matches, and rules not
/// in force in `state` are not consulted by `decide` at all. Routes, the
/// syscall table and the default are the full IR's, untouched.
///
/// This is what keeps each query small: a profile's few hundred path patterns
/// would otherwise all be regular-expression constraints over the one symbolic
/// path of every query (the reason the unsplit proof took minutes).
struct View {
    ir: Ir,
    plan: IsolatedPlan,
    stacked: Vec<(LandlockPlan, Vec<String>)>,
    focus: Option<String>,
    /// Every path pattern a formula of the view can contain.
    patterns: Vec<String>,
}

impl View {
    fn new(
        ir: &Ir,
        plan: &IsolatedPlan,
        stacked: &[(&LandlockPlan, &[String])],
        state: u32,
        verbs: &[Verb],
        focus: Option<&str>,
    ) -> View {
        let meets = |p: &str| focus.is_none_or(|f| meets(p, f));
        let rules = ir
            .rules
            .iter()
            .filter(|r| r.in_state(state))
            .filter_map(|r| match &r.matcher {
                // A syscall rule about another syscall never matches the
                // questions' requests (their number is fixed).
                Matcher::Syscall { nr, .. } => asked(ir, *nr).then(|| r.clone()),
                Matcher::Access { verbs: vs, entity } => {
                    if !vs.iter().any(|v| verbs.contains(v)) {
                        return None;
                    }
                    let entity = match entity {
                        Entity::Paths(ps) => {
                            let kept: Vec<String> = ps.iter().filter(|p| meets(p)).cloned().collect();
                            if kept.is_empty() {
                                return None;
                            }
                            Entity::Paths(kept)
                        }
                        // Not a path: kept as it is (a file request never has
                        // an address, and the verbs already tell them apart).
                        e => e.clone(),
                    };
                    Some(Rule {
                        matcher: Matcher::Access {
                            verbs: vs.clone(),
                            entity,
                        },
                        ..r.clone()
                    })
                }
            })
            .collect();
        let view_ir = with_rules(ir, rules);
        let keep_grants = |l: &LandlockPlan, literal: &[String]| {
            let mut l = l.clone();
            l.fs.retain(|g| meets(&grant_pattern(&g.path, literal.contains(&g.path))));
            l
        };
        let mut p = plan.clone();
        p.landlock = keep_grants(&plan.landlock, &plan.literal_grants);
        p.carves.retain(|c| meets(&c.pattern));
        p.tripwires.retain(|t| meets(&t.pattern));
        p.monitored.retain(|m| meets(&grant_pattern(m, false)));
        let stacked: Vec<(LandlockPlan, Vec<String>)> = stacked
            .iter()
            .map(|(l, lit)| (keep_grants(l, lit), lit.to_vec()))
            .collect();
        let mut patterns: Vec<String> = Vec::new();
        for r in &view_ir.rules {
            if let Matcher::Access {
                entity: Entity::Paths(ps),
                ..
            } = &r.matcher
            {
                patterns.extend(ps.iter().cloned());
            }
        }
        let rulesets =
            std::iter::once((&p.landlock, &p.literal_grants)).chain(stacked.iter().map(|(l, lit)| (l, lit)));
        for (l, lit) in rulesets {
            patterns.extend(l.fs.iter().map(|g| grant_pattern(&g.path, lit.contains(&g.path))));
        }
        patterns.extend(p.carves.iter().map(|c| c.pattern.clone()));
        patterns.extend(p.tripwires.iter().map(|t| t.pattern.clone()));
        patterns.extend(p.monitored.iter().map(|m| grant_pattern(m, false)));
        patterns.push("/proc/**".into());
        patterns.extend(focus.map(str::to_string));
        patterns.sort();
        patterns.dedup();
        View {
            ir: view_ir,
            plan: p,
            stacked,
            focus: focus.map(str::to_string),
            patterns,
        }
    }

    /// The inclusions the solver would otherwise have to discover: for each
    /// pattern of the view that [`subsumes`] the focus (syntactically: `P/**`
    /// or `P` whose components contain the focus's, same origin), "the path is
    /// in the focus" implies "the path is in it". True facts of the glob
    /// semantics, for every value of the variables; z3 proves such regular
    /// inclusions slowly (`/proc/self/fd/**` in `/proc/**` took over 5 s).
    fn lemmas(&self, r: &Req, vars: &Vars) -> Vec<Bool> {
        let Some(f) = &self.focus else {
            return Vec::new();
        };
        let in_f = r.in_entity(0, &Entity::Paths(vec![f.clone()]), vars);
        self.patterns
            .iter()
            .filter(|p| *p != f && subsumes(p, f))
            .map(|p| in_f.implies(r.in_entity(0, &Entity::Paths(vec![p.clone()]), vars)))
            .collect()
    }

    /// What `Vars::well_formed` says of the variables the view's patterns
    /// mention. The others occur in no formula of the view's questions, and
    /// each has values (a canonical directory outside the system ones), so
    /// leaving their constraints out changes no answer; it spares the string
    /// solver a dozen unrelated variables per question.
    fn well_formed(&self, vars: &Vars) -> Bool {
        let used = |n: &str| {
            self.patterns.iter().any(|p| {
                p.strip_prefix('$')
                    .is_some_and(|r| r.split('/').next() == Some(n))
            })
        };
        let (names, values) = vars
            .names
            .iter()
            .zip(&vars.values)
            .filter(|(n, _)| used(n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .unzip();
        Vars { names, values }.well_formed()
    }

    fn stacked(&self) -> Vec<(&LandlockPlan, &[String])> {
        self.stacked.iter().map(|(l, lit)| (l, &lit[..])).collect()
    }
}

/// Can a path in `focus` match `p`? [`may_overlap`], and exactly where the
/// focus is one literal path (no variable, no wildcard: the request's path is
/// that path): then a pattern without a variable matches it or not as
/// `claw_ir::glob_match` (the interpreter's matcher) says, and a pattern that
/// starts with a variable never matches `/` (a variable is a directory other
/// than `/`, `Vars::well_formed`).
fn meets(p: &str, focus: &str) -> bool {
    let literal = !focus.starts_with('$') && !focus.contains(['*', '?']);
    if literal && !p.starts_with('$') {
        return claw_ir::glob_match(p, focus);
    }
    if literal && focus == "/" {
        return false;
    }
    may_overlap(p, focus)
}

/// The syscalls the questions' requests make.
const ASKED: [&str; 3] = ["openat", "execve", "newfstatat"];

fn asked(ir: &Ir, nr: u32) -> bool {
    ir.table().by_nr(nr).is_some_and(|s| ASKED.contains(&s.name))
}

/// What the file questions of `state` depend on: the rules in force there
/// that can concern them (syscall rules on [`ASKED`], access rules with a
/// file verb or `visible`). Two states with the same signature get the same
/// file questions, asked once.
fn file_signature(ir: &Ir, state: u32) -> Vec<usize> {
    ir.rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.in_state(state))
        .filter(|(_, r)| match &r.matcher {
            Matcher::Syscall { nr, .. } => asked(ir, *nr),
            Matcher::Access { verbs, .. } => verbs
                .iter()
                .any(|v| FILE_VERBS.contains(v) || *v == Verb::Visible),
        })
        .map(|(i, _)| i)
        .collect()
}

/// `ir`'s header (name, arch, default, states) with these rules and no
/// transitions or assertions: what `decide` reads.
fn with_rules(ir: &Ir, rules: Vec<Rule>) -> Ir {
    Ir {
        name: ir.name.clone(),
        arch: ir.arch,
        default: ir.default,
        states: ir.states.clone(),
        initial: ir.initial,
        rules,
        transitions: Vec::new(),
        assertions: Vec::new(),
    }
}

/// Each way an access of `verb` comes to be allowed in `state`, as a pattern
/// to focus on: one per pattern of each allowing access rule; `None` for the
/// ways without a path (the allowing syscall rules, an allowing default).
fn allow_foci(ir: &Ir, state: u32, verb: Verb) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = Vec::new();
    for r in ir
        .rules
        .iter()
        .filter(|r| r.in_state(state) && r.action.is_allowing())
    {
        match &r.matcher {
            Matcher::Access {
                verbs,
                entity: Entity::Paths(ps),
            } if verbs.contains(&verb) => {
                for p in ps {
                    if !out.contains(&Some(p.clone())) {
                        out.push(Some(p.clone()));
                    }
                }
            }
            Matcher::Access {
                entity: Entity::Paths(_),
                ..
            } => {}
            // Allowing syscall rules, and access rules not about paths: no
            // pattern to focus on.
            Matcher::Access { .. } | Matcher::Syscall { .. } => {
                if !out.contains(&None) {
                    out.push(None);
                }
            }
        }
    }
    if ir.default.is_allowing() && !out.contains(&None) {
        out.push(None);
    }
    out
}

/// One question of the proof: the facts (unsat: proved), what a model means,
/// and the request it is about (`Req::new(tag)`: the same constants).
struct Question {
    facts: Vec<Bool>,
    note: String,
    name: &'static str,
    verb: Verb,
    tag: &'static str,
    utf8: Vec<Bool>,
    /// What the variables satisfy (those the facts mention, at least).
    wf_vars: Bool,
    /// The pattern the question is about, for tracing.
    focus: Option<String>,
}

/// Proves that `plan` implements `ir` in every state (see the module doc), with
/// each query limited to `timeout_ms`. `stacked` are further Landlock rulesets
/// the runtime enforces with the plan's (with their literal grants), intersected.
///
/// The proof is many small queries, each about the paths of one pattern (see
/// `View`): for the looser direction one per grant that may let an open
/// through, for the stricter one per pattern of each allowing rule, for the
/// transitions one per pattern of each event. A query that runs out of time
/// makes the outcome `Unknown` (mediated mode), never `Proved`. With
/// `CLAW_ISO_TRACE` set, each question's focus, answer and time go to stderr
/// (to profile the proof).
pub fn validate_isolation(
    ir: &Ir,
    plan: &IsolatedPlan,
    stacked: &[(&LandlockPlan, &[String])],
    timeout_ms: u32,
) -> Outcome {
    let vars = Vars::of(ir);
    let mut solver = shared_solver(timeout_ms);
    let mut unknown: Option<String> = None;
    let mut asked_for: Vec<Vec<usize>> = Vec::new();
    for state in 0..ir.states.len() as u32 {
        let sig = file_signature(ir, state);
        let files = !asked_for.contains(&sig);
        asked_for.push(sig);
        for q in state_questions(ir, plan, stacked, state, files, &vars) {
            let t0 = std::time::Instant::now();
            let mut answer = solve(&mut solver, &q.wf_vars, &q.facts, timeout_ms);
            if let Answer::Unknown(_) = answer {
                // Look for a counterexample under one assignment of the
                // variables (each its own directory, well formed): a model
                // there is a counterexample (the proof is for every
                // assignment); none leaves the question open, as before.
                let mut facts = q.facts.clone();
                facts.extend(
                    vars.names
                        .iter()
                        .zip(&vars.values)
                        .map(|(n, v)| v.eq(crate::encode::lit(&format!("/claw-var/{n}")))),
                );
                if let Answer::Sat(m) = solve(&mut solver, &q.wf_vars, &facts, timeout_ms) {
                    answer = Answer::Sat(m);
                }
            }
            if std::env::var_os("CLAW_ISO_TRACE").is_some() {
                let a = match &answer {
                    Answer::Sat(_) => "sat",
                    Answer::Unsat => "unsat",
                    Answer::Unknown(_) => "unknown",
                };
                eprintln!(
                    "iso: state {state} {:?} {} {:?}: {a} in {:.3} s ({})",
                    q.verb,
                    q.name,
                    q.focus,
                    t0.elapsed().as_secs_f64(),
                    q.note
                );
            }
            match answer {
                Answer::Sat(m) => {
                    // Printed as text: ask again for valid UTF-8 (kept if none).
                    let mut facts = q.facts.clone();
                    facts.extend(q.utf8.iter().cloned());
                    facts.push(vars.utf8());
                    let m = match solve(&mut solver, &q.wf_vars, &facts, timeout_ms) {
                        Answer::Sat(t) => t,
                        _ => m,
                    };
                    let r = Req::new(q.tag);
                    return Outcome::Failed(step(ir, &m, &r, q.name, q.verb, state, &vars, q.note));
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

/// The questions of one state, in the order they are asked.
fn state_questions(
    ir: &Ir,
    plan: &IsolatedPlan,
    stacked: &[(&LandlockPlan, &[String])],
    state: u32,
    files: bool,
    vars: &Vars,
) -> Vec<Question> {
    let mut out = Vec::new();
    let table = ir.table();
    if files {
        visible_questions(ir, plan, stacked, state, vars, &mut out);
    }
    for verb in FILE_VERBS.into_iter().filter(|_| files) {
        let name: &'static str = if verb == Verb::Exec { "execve" } else { "openat" };
        let Some(nr) = table.by_name(name).map(|s| s.nr) else {
            continue;
        };
        let verbs = [verb, Verb::Read];
        // The grants that may let the open through (each a focus), or one
        // unfocused question where Landlock does not check the verb.
        let grant_foci: Vec<Option<String>> = match file_right(verb) {
            Some(right) if plan.landlock.handled_fs.contains(&right) => plan
                .landlock
                .fs
                .iter()
                .filter(|g| g.rights.contains(&right))
                .map(|g| Some(grant_pattern(&g.path, plan.literal_grants.contains(&g.path))))
                .collect(),
            _ => vec![None],
        };
        let looser_note = "allowed by the isolated plan, refused by the policy";
        for focus in &grant_foci {
            let v = View::new(ir, plan, stacked, state, &verbs, focus.as_deref());
            let Some(qs) = file_questions(ir, &v, state, verb, name, nr, vars) else {
                continue;
            };
            // The focus is the grant: the open is in its subtree (the right
            // is the verb's, so the grant lets it through).
            let in_focus = focus
                .as_ref()
                .map(|f| qs.r.in_entity(0, &Entity::Paths(vec![f.clone()]), vars));
            let mut kernel = vec![qs.lay.notified.not(), qs.lay.rest.clone(), qs.looser.not()];
            kernel.extend(in_focus);
            // ...and the policy refuses it: a severe rule, or no way allows.
            let mut facts = qs.base.clone();
            facts.extend(kernel);
            facts.push(Bool::or(&[
                qs.d.refused.clone(),
                qs.d.slot_allowed(0, &qs.r).not(),
            ]));
            out.push(qs.question(facts, looser_note, &v, vars));
        }
        for focus in allow_foci(ir, state, verb) {
            let v = View::new(ir, plan, stacked, state, &verbs, focus.as_deref());
            let Some(qs) = file_questions(ir, &v, state, verb, name, nr, vars) else {
                continue;
            };
            let documented = if verb == Verb::Read {
                Bool::from_bool(false)
            } else {
                tripwired(&v.plan, &qs.r, vars)
            };
            // The way of being allowed: this pattern with the rule's verb, or
            // (unfocused) the allowing syscall rules and the default.
            let way = match &focus {
                Some(f) => Bool::and(&[
                    qs.r.verb_is(0, verb),
                    qs.r.in_entity(0, &Entity::Paths(vec![f.clone()]), vars),
                ]),
                None => Bool::or(
                    &qs.d.reasons[0]
                        .iter()
                        .filter(|w| w.path.is_none())
                        .filter(|w| w.verbs.as_ref().is_none_or(|vs| vs.contains(&verb)))
                        .map(|w| w.formula.clone())
                        .collect::<Vec<_>>(),
                ),
            };
            let mut facts = qs.base.clone();
            facts.extend([qs.d.refused.not(), way, qs.lay.allows().not(), documented.not()]);
            out.push(qs.question(
                facts,
                "allowed by the policy, refused by the isolated plan",
                &v,
                vars,
            ));
        }
    }
    transition_questions(ir, plan, stacked, state, vars, &mut out);
    out
}

/// The pieces of the questions about one verb under one view.
struct FileQs {
    r: Req,
    read: Req,
    base: Vec<Bool>,
    lay: Layers,
    d: crate::encode::Decision,
    looser: Bool,
    name: &'static str,
    verb: Verb,
}

impl FileQs {
    fn question(&self, mut facts: Vec<Bool>, note: &str, v: &View, vars: &Vars) -> Question {
        facts.extend(v.lemmas(&self.r, vars));
        facts.extend(v.lemmas(&self.read, vars));
        Question {
            wf_vars: v.well_formed(vars),
            focus: v.focus.clone(),
            facts,
            note: note.into(),
            name: self.name,
            verb: self.verb,
            tag: "iso",
            utf8: vec![self.r.utf8(), self.read.utf8()],
        }
    }
}

fn file_questions(
    ir: &Ir,
    v: &View,
    state: u32,
    verb: Verb,
    name: &'static str,
    nr: u32,
    vars: &Vars,
) -> Option<FileQs> {
    let (r, wf) = one_access(ir, "iso", name, verb)?;
    let (read, wf_read) = one_access(ir, "iso.read", "openat", Verb::Read)?;
    let same = read.slots[0].path.eq(&r.slots[0].path);
    let base = vec![wf, wf_read, same];
    let stacked = v.stacked();
    let lay = layers(ir, &v.ir, &v.plan, &stacked, state, verb, &r, &read, nr, vars);
    let d = decide(&v.ir, state, &r, vars);
    // The one place the plan documents as looser: reading below the
    // sandbox's private `/proc` (`IsolatedPlan::looser`).
    let looser = if verb == Verb::Read && !v.plan.looser.is_empty() {
        r.in_entity(0, &Entity::Paths(vec!["/proc/**".into()]), vars)
    } else {
        Bool::from_bool(false)
    };
    Some(FileQs {
        r,
        read,
        base,
        lay,
        d,
        looser,
        name,
        verb,
    })
}

/// `visible` everywhere: Landlock does not check stat or `O_PATH` opens, so the
/// IR must allow every `visible` access. Refused is some severe rule matching
/// (one question per severe access rule's pattern, one for the syscall rules);
/// not allowed is no way of being allowed holding, asked first of the ways
/// whose pattern covers every path (`/**`: if those alone cannot all fail, the
/// full disjunction cannot either), then of all.
fn visible_questions(
    ir: &Ir,
    plan: &IsolatedPlan,
    stacked: &[(&LandlockPlan, &[String])],
    state: u32,
    vars: &Vars,
    out: &mut Vec<Question>,
) {
    let note = "refused by the policy, but the kernel decides `visible` in isolated mode";
    let verbs = [Verb::Visible];
    let Some((r, wf)) = one_access(ir, "iso.vis", "newfstatat", Verb::Visible) else {
        return;
    };
    let q = |facts: Vec<Bool>, r: &Req| Question {
        focus: None,
        wf_vars: vars.well_formed(),
        facts,
        note: note.into(),
        name: "newfstatat",
        verb: Verb::Visible,
        tag: "iso.vis",
        utf8: vec![r.utf8()],
    };
    // Refused by a severe access rule (each pattern its own focus).
    for rule in ir
        .rules
        .iter()
        .filter(|x| x.in_state(state) && !x.action.is_allowing())
    {
        if let Matcher::Access {
            verbs: vs,
            entity: Entity::Paths(ps),
        } = &rule.matcher
        {
            if !vs.contains(&Verb::Visible) {
                continue;
            }
            for p in ps {
                let one = Matcher::Access {
                    verbs: vec![Verb::Visible],
                    entity: Entity::Paths(vec![p.clone()]),
                };
                out.push(q(vec![wf.clone(), r.slot_matches(0, &one, vars)], &r));
            }
        }
    }
    // Refused by a syscall rule (registers only: no path pattern at all), or
    // by an access rule that is not about paths.
    let severe_regs = with_rules(
        ir,
        ir.rules
            .iter()
            .filter(|x| x.in_state(state) && !x.action.is_allowing())
            .filter(|x| match &x.matcher {
                Matcher::Syscall { nr, .. } => asked(ir, *nr),
                Matcher::Access { entity, .. } => !matches!(entity, Entity::Paths(_)),
            })
            .cloned()
            .collect(),
    );
    let d = decide(&severe_regs, state, &r, vars);
    out.push(q(vec![wf.clone(), d.refused], &r));
    // Not allowed: no way of being allowed holds. An allowing rule in force
    // here with `visible` on `/**` (no variable) holds for every canonical path:
    // `**` matches any sequence of components, the empty one included, so `/**`
    // matches `/` and everything below (`claw_ir::glob_match`). That settles it
    // without the solver (which is slow to show the inclusion of the canonical
    // paths in the pattern's language); otherwise the solver is asked.
    let covered = ir.rules.iter().any(|x| {
        x.in_state(state)
            && x.action.is_allowing()
            && matches!(&x.matcher, Matcher::Access { verbs, entity: Entity::Paths(ps) }
                if verbs.contains(&Verb::Visible) && ps.iter().any(|p| p == "/**"))
    });
    if !covered {
        let full = decide(
            &View::new(ir, plan, stacked, state, &verbs, None).ir,
            state,
            &r,
            vars,
        );
        out.push(q(vec![wf, full.slot_allowed(0, &r).not()], &r));
    }
}

/// Every open that fires a transition out of `state` reaches the monitor: one
/// question per pattern of each event (the event matches through it).
fn transition_questions(
    ir: &Ir,
    plan: &IsolatedPlan,
    stacked: &[(&LandlockPlan, &[String])],
    state: u32,
    vars: &Vars,
    out: &mut Vec<Question>,
) {
    let Some(nr) = ir.table().by_name("openat").map(|s| s.nr) else {
        return;
    };
    for t in ir.transitions.iter().filter(|t| t.from == state) {
        let Matcher::Access { verbs, entity } = &t.event else {
            continue;
        };
        // One focus per path pattern; an event not about paths unfocused.
        let foci: Vec<Option<String>> = match entity {
            Entity::Paths(ps) => ps.iter().cloned().map(Some).collect(),
            Entity::Endpoints(_) => vec![None],
        };
        for focus in foci {
            let Some((r, wf)) = one_access(ir, "iso.ev", "openat", Verb::Read) else {
                return;
            };
            let v = View::new(ir, plan, stacked, state, &[Verb::Read], focus.as_deref());
            let one = match &focus {
                Some(p) => Matcher::Access {
                    verbs: verbs.clone(),
                    entity: Entity::Paths(vec![p.clone()]),
                },
                None => t.event.clone(),
            };
            let mut facts = vec![
                wf,
                r.fires(&one, vars),
                ir_allows(&v.ir, state, &r, vars),
                notified(&v.plan, ir, &r, nr).not(),
                tripwired(&v.plan, &r, vars).not(),
            ];
            facts.extend(v.lemmas(&r, vars));
            out.push(Question {
                focus: focus.clone(),
                wf_vars: v.well_formed(vars),
                facts,
                tag: "iso.ev",
                note: format!(
                    "fires a transition ({}), but the kernel performs it without the monitor",
                    t.origin
                ),
                name: "openat",
                verb: Verb::Read,
                utf8: vec![r.utf8()],
            });
        }
    }
}
