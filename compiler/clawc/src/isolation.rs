//! `clawc compile`'s isolated-mode plan: computed from the IR
//! (`Ir::isolated_plan`), proved by translation validation
//! (`claw_verify::validate_isolation`: Landlock's hierarchical rights, tripwires,
//! the isolated filter's routes, against the IR in every state), and written into
//! the artifact only when proved, on every compile. Otherwise a note names what
//! forced mediated mode (the rules Landlock and tripwires cannot carry, or that
//! the proof was refuted or ran out of time); `--require-isolation` makes that
//! an error.
//!
//! It knows nothing of the runtime: whether the running kernel has what the plan
//! needs (user namespaces, Landlock, FUSE) is decided by `clawless` at start.

use crate::front::Built;
use claw_ir::isolate::IsolatedPlan;
use claw_lang::diag::{render, Diagnostic};
use claw_verify::Outcome;
use std::time::Instant;

/// The plan to write into the artifact (`None`: mediated mode only), or `Err`
/// when isolation was required and cannot be had.
pub fn plan(built: &Built, timeout_ms: u32, require: bool, color: bool) -> Result<Option<IsolatedPlan>, ()> {
    let ir = &built.ir;
    let level = if require { "error" } else { "note" };
    let plan = match ir.isolated_plan() {
        Ok(p) => p,
        Err(reasons) => {
            eprintln!(
                "{level}: mediated mode only: {} of the policy cannot be carried by the isolated plan (Landlock rules and tripwires):",
                if reasons.len() == 1 { "one part".to_string() } else { format!("{} parts", reasons.len()) }
            );
            for r in &reasons {
                eprintln!("  - {r}");
            }
            return if require { Err(()) } else { Ok(None) };
        }
    };
    let t = Instant::now();
    let outcome = claw_verify::validate_isolation(ir, &plan, &[], timeout_ms);
    let secs = t.elapsed().as_secs_f64();
    match outcome {
        Outcome::Proved => {
            eprintln!(
                "proved: the isolated plan implements the policy in every state ({} Landlock rules, {} tripwire patterns) ({secs:.2} s)",
                plan.landlock.fs.len(),
                plan.tripwires.len()
            );
            Ok(Some(plan))
        }
        Outcome::Failed(cex) => {
            let span = built.spans.rules.first().copied().unwrap_or(claw_lang::Span::new(
                claw_lang::FileId(0),
                0,
                0,
            ));
            let d = if require {
                Diagnostic::error("E0403", span, "the isolated plan does not implement the policy")
            } else {
                Diagnostic::warning("E0403", span, "the isolated plan does not implement the policy")
            };
            let d = d
                .with_label("the policy compiled here")
                .with_note(format!("counterexample:\n{cex}"))
                .with_hint("this is a compiler bug: please report it with the policy; the artifact runs in mediated mode");
            eprint!("{}", render(&[d], &built.sources, color));
            eprintln!("{level}: mediated mode only: the isolated plan was refuted ({secs:.2} s)");
            if require {
                Err(())
            } else {
                Ok(None)
            }
        }
        Outcome::Unknown(why) => {
            eprintln!(
                "{level}: mediated mode only: the isolated plan could not be proved ({why}, {secs:.2} s)"
            );
            if require {
                Err(())
            } else {
                Ok(None)
            }
        }
    }
}
