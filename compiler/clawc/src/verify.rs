//! `clawc verify`, the proofs `clawc compile` runs before writing an artifact, and
//! the conversion of a verification report into diagnostics (shared with `lsp`).

use crate::front::{front, Built};
use crate::output::{use_color, ColorChoice};
use claw_artifact::{Proof, ProofOutcome};
use claw_ir::Ir;
use claw_lang::diag::{render, Diagnostic};
use claw_lang::Span;
use claw_lower::SpanTable;
use claw_stdlib::Arch;
use claw_verify::{Check, Lint, Options, Outcome, Report};
use std::process::ExitCode;

/// What a verification run established.
pub struct Verified {
    pub all_proved: bool,
    pub proofs: Vec<Proof>,
}

/// A report as diagnostics (failures, inconclusive checks, lints), one summary line
/// per check, and the proof records for the artifact.
pub struct Findings {
    pub diagnostics: Vec<Diagnostic>,
    pub lines: Vec<String>,
    pub proofs: Vec<Proof>,
}

/// The time limit: `--timeout` seconds, or CLAW_VERIFY_TIMEOUT_MS milliseconds (for
/// tests and for measuring how close a proof is to its limit).
pub fn timeout_ms(timeout_secs: u32) -> u32 {
    std::env::var("CLAW_VERIFY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| timeout_secs.saturating_mul(1000).max(1))
}

/// A span to hang policy-wide findings on: the first rule, else the file start.
fn anywhere(spans: &SpanTable) -> Span {
    spans
        .rules
        .first()
        .copied()
        .unwrap_or(Span::new(claw_lang::FileId(0), 0, 0))
}

/// Transitions into a state point at it best; else any rule.
fn state_span(ir: &Ir, spans: &SpanTable, state: u32) -> Span {
    ir.transitions
        .iter()
        .position(|t| t.to == state)
        .map(|i| spans.transitions[i])
        .unwrap_or_else(|| anywhere(spans))
}

pub fn findings(ir: &Ir, spans: &SpanTable, report: &Report) -> Findings {
    let mut diagnostics = Vec::new();
    let mut lines = Vec::new();
    let mut proofs = Vec::new();
    for c in &report.checks {
        let (what, span) = match c.check {
            Check::Assertion(i) => (format!("assert {}", ir.assertions[i].text), spans.assertions[i]),
            Check::Translation => (
                "the compiled filter implements the policy in every state".to_string(),
                anywhere(spans),
            ),
        };
        let secs = c.time.as_secs_f64();
        let outcome = match &c.outcome {
            Outcome::Proved => {
                lines.push(format!("proved: {what} ({secs:.2} s)"));
                ProofOutcome::Proved
            }
            Outcome::Failed(cex) => {
                let (code, message, label, hint) = match c.check {
                    Check::Assertion(i) => {
                        let mut hint =
                            "the trace below is a run the policy allows; add a rule that forbids its \
                                        last step, or weaken the property"
                                .to_string();
                        // A named assertion (`assert writes: ...`): a policy that
                        // extends this one widens it by giving its own of that name.
                        let name = ir.assertions[i].text.split_once(':').map(|(n, _)| n.trim());
                        if let Some(n) = name.filter(|n| {
                            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        }) {
                            hint.push_str(&format!(
                                " (to widen an inherited one, give your own: `assert {n}: ...`)"
                            ));
                        }
                        (
                            "E0401",
                            format!(
                                "this property does not hold: {}",
                                what.trim_start_matches("assert ")
                            ),
                            "fails",
                            hint,
                        )
                    }
                    Check::Translation => (
                        "E0403",
                        "the compiled filter does not implement the policy".to_string(),
                        "the policy compiled here",
                        "this is a compiler bug: please report it with the policy".to_string(),
                    ),
                };
                diagnostics.push(
                    Diagnostic::error(code, span, message)
                        .with_label(label)
                        .with_note(format!("counterexample:\n{cex}"))
                        .with_hint(hint),
                );
                lines.push(format!("FAILED: {what} ({secs:.2} s)"));
                ProofOutcome::Failed
            }
            Outcome::Unknown(why) => {
                diagnostics.push(
                    Diagnostic::error(
                        "E0402",
                        span,
                        format!("could not decide: {}", what.trim_start_matches("assert ")),
                    )
                    .with_label("neither proved nor refuted")
                    .with_note(format!("the solver said: {why}"))
                    .with_hint("raise the limit with --timeout SECONDS, or simplify the patterns involved"),
                );
                lines.push(format!("UNKNOWN: {what} ({secs:.2} s): {why}"));
                ProofOutcome::Unknown
            }
        };
        proofs.push(Proof { check: what, outcome });
    }
    for l in &report.lints {
        let (span, label) = match l {
            Lint::Rule { rule, .. } => (spans.rules[*rule], "this rule"),
            Lint::Transition { transition, .. } => (spans.transitions[*transition], "this transition"),
            Lint::State { state, .. } => (state_span(ir, spans, *state), "the way into this state"),
        };
        let hint = match l.code() {
            "W0401" => "remove it, or narrow the rules that override it",
            "W0402" => "remove it",
            "W0403" => "allow its event in the state it leaves, or remove it",
            "W0405" => "make the events disjoint, or write the one that should win first",
            _ => "remove the state, or make a transition into it possible",
        };
        let mut d = Diagnostic::warning(l.code(), span, l.message())
            .with_label(label)
            .with_hint(hint);
        if let Lint::Transition { other: Some(o), .. } = l {
            d = d.with_secondary(spans.transitions[*o], "this one is written first and wins");
        }
        diagnostics.push(d);
    }
    diagnostics.sort_by_key(|d| (d.span.file, d.span.start));
    Findings {
        diagnostics,
        lines,
        proofs,
    }
}

/// Runs every check on `built` and prints the results to stderr.
pub fn run(built: &Built, timeout_secs: u32, color: bool, lints: bool) -> Verified {
    let opts = Options {
        timeout_ms: timeout_ms(timeout_secs),
        lints,
    };
    let report = claw_verify::verify(&built.ir, Some(&built.program), opts);
    let f = findings(&built.ir, &built.spans, &report);
    eprint!("{}", render(&f.diagnostics, &built.sources, color));
    for l in &f.lines {
        eprintln!("{l}");
    }
    Verified {
        all_proved: report.all_proved(),
        proofs: f.proofs,
    }
}

pub fn verify_cmd(
    input: &str,
    policy: Option<&str>,
    target: Arch,
    timeout: u32,
    color: ColorChoice,
) -> ExitCode {
    let color = use_color(color);
    let built = match front(input, policy, target, color) {
        Ok(b) => b,
        Err(e) => return e.report(),
    };
    let v = run(&built, timeout, color, true);
    if v.all_proved {
        ExitCode::SUCCESS
    } else if v.proofs.iter().any(|p| p.outcome == ProofOutcome::Failed) {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    }
}
