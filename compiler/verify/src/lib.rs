//! `claw-verify`: makes "formally verified" true, with z3.
//!
//! - **Properties** (`assert never A after B`, `assert always V within E`) are proved
//!   over the state machine and the rule semantics: paths are z3 strings matched
//!   against globs compiled to regular expressions, path variables (`$WORKSPACE`) are
//!   unknown directories, endpoints are bit-vector constraints. A failing property
//!   comes with a trace of concrete requests.
//! - **Lints** find rules that never decide, rules with no effect, transitions that
//!   can never fire, states never entered.
//! - **Translation validation** proves the emitted cBPF returns the policy's
//!   decision for every `seccomp_data`, in every state.
//!
//! Each check has a time limit; a timeout or `unknown` is reported as such, never as
//! a proof.

mod encode;
mod iso;
mod joint;
mod props;
mod tv;
mod witness;

use claw_bpf::Insn;
use claw_ir::Ir;
use std::time::{Duration, Instant};

pub use iso::validate_isolation;
pub use tv::{validate_logging, validate_translation};

/// A concrete request found by the solver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concrete {
    /// The syscall's name.
    pub syscall: String,
    /// The argument registers.
    pub args: [u64; 6],
    /// `read /home/u/.ssh/id_ed25519`, `connect tcp 10.0.0.1:443` (several,
    /// comma-separated: an `O_RDWR` open reads and writes).
    pub access: Option<String>,
    /// The accesses as the interpreter takes them, for replaying the step.
    pub accesses: Vec<claw_ir::Access>,
}

impl std::fmt::Display for Concrete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nonzero: Vec<String> = self
            .args
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, v)| format!("arg{i}={v:#x}"))
            .collect();
        write!(f, "{}", self.syscall)?;
        if !nonzero.is_empty() {
            write!(f, "({})", nonzero.join(", "))?;
        }
        if let Some(a) = &self.access {
            write!(f, ": {a}")?;
        }
        Ok(())
    }
}

/// One step of a counterexample trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The name of the state the step is made in.
    pub state: String,
    /// The state's index (`None` for a note that is no request).
    pub state_id: Option<u32>,
    /// The state the step leads to under the interpreter.
    pub next: Option<u32>,
    /// The request made.
    pub request: Concrete,
    /// What the step shows (allowed, fires a transition...).
    pub note: String,
    /// Values the solver chose for path variables.
    pub vars: Vec<(String, String)>,
}

/// A trace that breaks a property: requests from the initial state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Why the last step breaks the property, when more needs saying.
    pub explanation: Option<String>,
}

impl std::fmt::Display for Counterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            if s.request.syscall.is_empty() {
                writeln!(f, "  {}. {}", i + 1, s.note)?;
            } else {
                let state = if s.state.is_empty() {
                    "(single state)"
                } else {
                    &s.state
                };
                writeln!(f, "  {}. in `{state}`: {} — {}", i + 1, s.request, s.note)?;
            }
        }
        let with_vars: Vec<&Vec<(String, String)>> = self
            .steps
            .iter()
            .map(|s| &s.vars)
            .filter(|v| !v.is_empty())
            .collect();
        let show = |vars: &Vec<(String, String)>| {
            vars.iter()
                .map(|(n, v)| format!("${n} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(first) = with_vars.first() {
            if with_vars.iter().all(|v| v == first) {
                writeln!(f, "  with {}", show(first))?;
            } else {
                // Different steps needed different values: say so rather than
                // present a mixture as one run.
                for (i, s) in self.steps.iter().enumerate().filter(|(_, s)| !s.vars.is_empty()) {
                    writeln!(f, "  step {} with {}", i + 1, show(&s.vars))?;
                }
                writeln!(
                    f,
                    "  (no single choice of these directories was found for the whole trace; each step is possible for the values shown)"
                )?;
            }
        }
        if let Some(e) = &self.explanation {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The property holds in every reachable state.
    Proved,
    /// It does not: a trace that shows it.
    Failed(Counterexample),
    /// Timed out, or the solver could not decide.
    Unknown(String),
}

/// What a check was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `ir.assertions[i]`.
    Assertion(usize),
    /// The compiled filter implements the policy.
    Translation,
}

/// One check, its outcome and how long it took.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// What was checked.
    pub check: Check,
    /// How it ended.
    pub outcome: Outcome,
    /// The time it took.
    pub time: Duration,
}

/// A warning about part of the policy, pointing at IR indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lint {
    /// About one rule.
    Rule {
        /// The stable diagnostic code (`W0401`).
        code: &'static str,
        /// The rule's index in the IR.
        rule: usize,
        /// The warning.
        message: String,
    },
    /// About one transition.
    Transition {
        /// The stable diagnostic code.
        code: &'static str,
        /// The transition's index in the IR.
        transition: usize,
        /// Another transition the warning is about (W0405: the earlier one that
        /// takes the requests both match).
        other: Option<usize>,
        /// The warning.
        message: String,
    },
    /// About one state.
    State {
        /// The stable diagnostic code.
        code: &'static str,
        /// The state's id.
        state: u32,
        /// The warning.
        message: String,
    },
}

impl Lint {
    /// The lint's diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            Lint::Rule { code, .. } | Lint::Transition { code, .. } | Lint::State { code, .. } => code,
        }
    }
    /// The lint's message.
    pub fn message(&self) -> &str {
        match self {
            Lint::Rule { message, .. } | Lint::Transition { message, .. } | Lint::State { message, .. } => {
                message
            }
        }
    }
}

/// Everything `verify` found: the checks and the lints.
#[derive(Debug, Clone)]
pub struct Report {
    /// One result per check run.
    pub checks: Vec<CheckResult>,
    /// Warnings about rules, transitions and states.
    pub lints: Vec<Lint>,
}

impl Report {
    /// Did every check prove its property?
    pub fn all_proved(&self) -> bool {
        self.checks.iter().all(|c| c.outcome == Outcome::Proved)
    }
}

/// How to verify.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Time limit of each solver query, in milliseconds.
    pub timeout_ms: u32,
    /// Whether to run the lints too.
    pub lints: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout_ms: 10_000,
            lints: true,
        }
    }
}

/// Proves `ir`'s assertions, lints it, and validates `program` against it.
pub fn verify(ir: &Ir, program: Option<&[Insn]>, opts: Options) -> Report {
    let cx = props::Ctx::new(ir, opts.timeout_ms);
    let reach = props::reachability(&cx);
    let mut checks = Vec::new();
    for (i, a) in ir.assertions.iter().enumerate() {
        let t = Instant::now();
        let mut outcome = props::property(&cx, &reach, &a.property);
        // A trace whose steps needed different variable values is no single run:
        // decide the property again as one query in which every step shares one
        // assignment of the variables (`joint`): unsat is a proof, sat a run.
        // Should that be inconclusive, search again preferring the values of each
        // of the trace's steps, last first (and of the traces found so). If none
        // is one run, the answer is inconclusive: a trace that mixes values is
        // never printed.
        let mixed = |c: &Counterexample| c.steps.windows(2).any(|w| w[0].vars != w[1].vars);
        if matches!(&outcome, Outcome::Failed(c) if mixed(c)) {
            let hints: Vec<Vec<(String, String)>> = match &outcome {
                Outcome::Failed(c) => c.steps.iter().rev().map(|s| s.vars.clone()).collect(),
                _ => Vec::new(),
            };
            let joint = joint::property(&cx, &reach, &a.property, &hints);
            if !matches!(joint, Outcome::Unknown(_)) {
                outcome = joint;
            }
        }
        if let Outcome::Failed(c) = &outcome {
            if mixed(c) {
                let mut tried: Vec<Vec<(String, String)>> = Vec::new();
                let mut todo: Vec<Vec<(String, String)>> = c.steps.iter().map(|s| s.vars.clone()).collect();
                let mut single = None;
                while let Some(values) = todo.pop() {
                    if tried.contains(&values) || tried.len() == 4 {
                        continue;
                    }
                    tried.push(values.clone());
                    let cx2 = props::Ctx::with_values(ir, opts.timeout_ms, &values);
                    let reach2 = props::reachability(&cx2);
                    if let Outcome::Failed(again) = props::property(&cx2, &reach2, &a.property) {
                        if !mixed(&again) {
                            single = Some(again);
                            break;
                        }
                        todo.extend(again.steps.iter().map(|s| s.vars.clone()));
                    }
                }
                outcome = match single {
                    Some(c) => Outcome::Failed(c),
                    None => Outcome::Unknown(
                        "a violation was found only as a trace whose steps need different values \
                         of the path variables; no single run was found"
                            .into(),
                    ),
                };
            }
        }
        checks.push(CheckResult {
            check: Check::Assertion(i),
            outcome,
            time: t.elapsed(),
        });
    }
    if let Some(p) = program {
        let t = Instant::now();
        let outcome = validate_translation(ir, p, opts.timeout_ms);
        checks.push(CheckResult {
            check: Check::Translation,
            outcome,
            time: t.elapsed(),
        });
    }
    let lints = if opts.lints {
        props::lints(&cx, &reach)
    } else {
        Vec::new()
    };
    Report { checks, lints }
}

/// Decides `ir.assertions[i]` as one query over the whole state machine, every
/// step sharing one assignment of the path variables: what `verify` asks where
/// the step-by-step search found a trace that mixes values. Exact (a proof, or a
/// counterexample that replays), but its query grows with the policy; public for
/// the brute-force tests, which check it on every generated policy.
pub fn prove_jointly(ir: &Ir, i: usize, timeout_ms: u32) -> Outcome {
    let Some(a) = ir.assertions.get(i) else {
        return Outcome::Unknown(format!("no assertion {i}"));
    };
    let cx = props::Ctx::new(ir, timeout_ms);
    let reach = props::reachability(&cx);
    joint::property(&cx, &reach, &a.property, &[])
}

#[cfg(test)]
mod tests;
