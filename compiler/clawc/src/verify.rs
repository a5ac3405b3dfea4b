//! `clawc verify`, and the proofs `clawc compile` runs before writing an artifact.

use crate::build::{front, Built};
use crate::check::use_color;
use crate::ColorChoice;
use claw_artifact::{Proof, ProofOutcome};
use claw_lang::diag::{render, Diagnostic};
use claw_stdlib::Arch;
use claw_verify::{Check, Lint, Options, Outcome};
use std::process::ExitCode;

/// What a verification run established.
pub struct Verified {
    pub all_proved: bool,
    pub inconclusive: bool,
    pub proofs: Vec<Proof>,
}

/// Runs every check on `built`, prints the results (diagnostics for failures and
/// lints, one line per proof) to stderr, and returns the proof records.
pub fn run(built: &Built, timeout_secs: u32, color: bool, lints: bool) -> Verified {
    // CLAW_VERIFY_TIMEOUT_MS overrides --timeout with milliseconds (for tests and
    // for measuring how close a proof is to its limit).
    let timeout_ms = std::env::var("CLAW_VERIFY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| timeout_secs.saturating_mul(1000).max(1));
    let opts = Options { timeout_ms, lints };
    let report = claw_verify::verify(&built.ir, Some(&built.program), opts);
    let ir = &built.ir;
    let mut diags = Vec::new();
    let mut lines = Vec::new();
    let mut proofs = Vec::new();
    let mut inconclusive = false;
    for c in &report.checks {
        let (what, span) = match c.check {
            Check::Assertion(i) => (
                format!("assert {}", ir.assertions[i].text),
                Some(built.spans.assertions[i]),
            ),
            Check::Translation => (
                "the compiled filter implements the policy in every state".to_string(),
                None,
            ),
        };
        let secs = c.time.as_secs_f64();
        let outcome = match &c.outcome {
            Outcome::Proved => {
                lines.push(format!("proved: {what} ({secs:.2} s)"));
                ProofOutcome::Proved
            }
            Outcome::Failed(cex) => {
                let (code, message, hint) = match c.check {
                    Check::Assertion(_) => (
                        "E0401",
                        format!("this property does not hold: {}", what.trim_start_matches("assert ")),
                        "the trace below is a run the policy allows; add a rule that forbids its last step, or \
                         weaken the property",
                    ),
                    Check::Translation => (
                        "E0403",
                        "the compiled filter does not implement the policy".to_string(),
                        "this is a compiler bug: please report it with the policy",
                    ),
                };
                let d = match span {
                    Some(span) => Diagnostic::error(code, span, message).with_label("fails"),
                    None => Diagnostic::error(code, built.spans_any(), message)
                        .with_label("the policy compiled here"),
                };
                diags.push(d.with_note(format!("counterexample:\n{cex}")).with_hint(hint));
                lines.push(format!("FAILED: {what} ({secs:.2} s)"));
                ProofOutcome::Failed
            }
            Outcome::Unknown(why) => {
                inconclusive = true;
                let span = span.unwrap_or_else(|| built.spans_any());
                diags.push(
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
            Lint::Rule { rule, .. } => (built.spans.rules[*rule], "this rule"),
            Lint::Transition { transition, .. } => (built.spans.transitions[*transition], "this transition"),
            Lint::State { state, .. } => (built.state_span(*state), "the way into this state"),
        };
        let hint = match l.code() {
            "W0401" => "remove it, or narrow the rules that override it",
            "W0402" => "remove it",
            "W0403" => "allow its event in the state it leaves, or remove it",
            _ => "remove the state, or make a transition into it possible",
        };
        diags.push(
            Diagnostic::warning(l.code(), span, l.message())
                .with_label(label)
                .with_hint(hint),
        );
    }
    diags.sort_by_key(|d| (d.span.file, d.span.start));
    eprint!("{}", render(&diags, &built.sources, color));
    for l in &lines {
        eprintln!("{l}");
    }
    let all_proved = report.all_proved();
    Verified {
        all_proved,
        inconclusive,
        proofs,
    }
}

impl Built {
    /// A span to hang policy-wide findings on: the first rule, else the first file.
    fn spans_any(&self) -> claw_lang::Span {
        self.spans
            .rules
            .first()
            .copied()
            .unwrap_or(claw_lang::Span::new(claw_lang::FileId(0), 0, 0))
    }

    fn state_span(&self, state: u32) -> claw_lang::Span {
        // Transitions into the state point at it best; else any rule.
        self.ir
            .transitions
            .iter()
            .position(|t| t.to == state)
            .map(|i| self.spans.transitions[i])
            .unwrap_or_else(|| self.spans_any())
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
        debug_assert!(v.inconclusive);
        ExitCode::from(2)
    }
}
