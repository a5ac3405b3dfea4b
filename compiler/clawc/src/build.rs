//! `clawc compile`: the built policy ([`crate::front`]) proved ([`crate::verify`]),
//! its isolated plan proved or refused ([`crate::isolation`]), then `out.bin` written.

use crate::front::front;
use crate::output::{use_color, ColorChoice};
use claw_stdlib::Arch;
use std::process::ExitCode;

/// What `clawc compile` was asked.
pub struct CompileOptions<'a> {
    pub input: &'a str,
    pub output: &'a str,
    pub policy: Option<&'a str>,
    pub target: Arch,
    pub color: ColorChoice,
    pub allow_unverified: bool,
    pub timeout_secs: u32,
    /// Refuse to write an artifact without a proved isolated plan.
    pub require_isolation: bool,
}

pub fn compile_cmd(o: &CompileOptions<'_>) -> ExitCode {
    let color = use_color(o.color);
    let built = match front(o.input, o.policy, o.target, color) {
        Ok(b) => b,
        Err(e) => return e.report(),
    };
    let output = o.output;
    // Prove before writing: an artifact that claims nothing it has not shown.
    // Proofs only: lints are `clawc verify`'s business.
    let verified = crate::verify::run(&built, o.timeout_secs, color, false);
    if !verified.all_proved && !o.allow_unverified {
        eprintln!("error: not writing `{output}`: verification did not prove every check (use --allow-unverified to write it anyway; the artifact records what was proved)");
        return ExitCode::from(1);
    }
    // The isolated-mode plan: into the artifact only when proved.
    let timeout_ms = crate::verify::timeout_ms(o.timeout_secs);
    let isolated = match crate::isolation::plan(&built, timeout_ms, o.require_isolation, color) {
        Ok(p) => p,
        Err(()) => {
            eprintln!("error: not writing `{output}`: --require-isolation, and the policy has no proved isolated plan");
            return ExitCode::from(1);
        }
    };
    let mut artifact = built.artifact(o.input, verified.proofs);
    artifact.isolated = isolated;
    let bytes = artifact.to_bytes();
    // Write to a temporary file and rename, so a failed write never leaves a
    // half-written artifact where a good one was.
    let tmp = format!("{output}.tmp{}", std::process::id());
    if let Err(e) = std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, output)) {
        let _ = std::fs::remove_file(&tmp);
        eprintln!("error: cannot write `{output}`: {e}");
        return ExitCode::from(2);
    }
    let ir = &artifact.ir;
    let monitored = (0..ir.table().nr_limit())
        .filter(|&nr| matches!(ir.route(nr), claw_ir::Route::Monitor(_)))
        .count();
    eprintln!(
        "compiled policy `{}` for {}: {} BPF instructions, {} syscalls decided by the monitor, {} state(s), {} -> {output} ({} bytes)",
        ir.name,
        ir.arch,
        artifact.program.len(),
        monitored,
        ir.states.len(),
        if artifact.isolated.is_some() { "isolated and mediated modes" } else { "mediated mode only" },
        bytes.len()
    );
    ExitCode::SUCCESS
}
