//! The front half of `clawc`'s pipeline, shared by `compile`, `verify`,
//! `explain`, `export` and the isolated plan: one policy of an input checked,
//! lowered to the IR and compiled to cBPF ([`Built`]), and the artifact made from
//! it. It proves nothing (that is `verify`'s) and writes nothing.

use crate::check::check_input;
use claw_artifact::{sha256_hex, Artifact, Metadata};
use claw_lang::check::Options;
use claw_lang::diag::render;
use claw_lang::SourceMap;
use claw_stdlib::Arch;
use std::process::ExitCode;

/// Why a build stopped: exit 1 for a policy problem, 2 for usage or I/O.
pub enum BuildError {
    Policy(String),
    Io(String),
}

impl BuildError {
    pub fn report(self) -> ExitCode {
        match self {
            BuildError::Policy(m) => {
                eprintln!("error: {m}");
                ExitCode::from(1)
            }
            BuildError::Io(m) => {
                eprintln!("error: {m}");
                ExitCode::from(2)
            }
        }
    }
}

/// A checked, lowered and compiled policy, with what is needed to point back at
/// its source.
pub struct Built {
    pub sources: SourceMap,
    pub ir: claw_ir::Ir,
    pub spans: claw_lower::SpanTable,
    pub program: claw_bpf::Program,
    pub source_sha256: String,
}

/// Checks, lowers and compiles one policy of `input`.
pub fn front(input: &str, policy: Option<&str>, target: Arch, color: bool) -> Result<Built, BuildError> {
    let mut sources = SourceMap::new();
    let opts = Options {
        arch: target,
        require_policy: true,
    };
    let checked = check_input(&mut sources, input, &opts).map_err(BuildError::Io)?;
    eprint!("{}", render(&checked.diagnostics, &sources, color));
    if checked.has_errors() {
        let n = checked.diagnostics.iter().filter(|d| d.is_error()).count();
        return Err(BuildError::Policy(format!(
            "`{input}` has {n} error(s); nothing compiled"
        )));
    }
    let names: Vec<&str> = checked.policies.iter().map(|p| p.name.as_str()).collect();
    let chosen = match (policy, checked.policies.as_slice()) {
        (Some(name), ps) => ps.iter().find(|p| p.name == name).ok_or_else(|| {
            BuildError::Io(format!(
                "`{input}` has no policy `{name}` (it has: {})",
                names.join(", ")
            ))
        })?,
        (None, [only]) => only,
        (None, _) => {
            return Err(BuildError::Io(format!(
                "`{input}` has {} policies; choose one with --policy ({})",
                names.len(),
                names.join(", ")
            )))
        }
    };
    let (ir, spans) = claw_lower::lower_with_spans(chosen, &sources);
    let program = claw_bpf::compile(&ir).map_err(|e| BuildError::Policy(e.to_string()))?;
    let source_text = sources
        .find(input)
        .map(|f| sources.get(f).text.clone())
        .unwrap_or_else(|| {
            // A std module: hash the embedded module text.
            claw_stdlib::modules::source(input)
                .map(|(_, s)| s.to_string())
                .unwrap_or_default()
        });
    let source_sha256 = sha256_hex(source_text.as_bytes());
    Ok(Built {
        sources,
        ir,
        spans,
        program,
        source_sha256,
    })
}

impl Built {
    /// The artifact, recording `proofs`.
    pub fn artifact(self, input: &str, proofs: Vec<claw_artifact::Proof>) -> Artifact {
        Artifact {
            program: self.program,
            landlock: self.ir.landlock_plan(),
            metadata: Metadata {
                compiler: format!("clawc {}", env!("CARGO_PKG_VERSION")),
                source_name: input.to_string(),
                source_sha256: self.source_sha256,
                proofs,
            },
            ir: self.ir,
            isolated: None,
        }
    }
}

/// [`front`] then [`Built::artifact`], without proofs (for `explain` on a source).
pub fn build(input: &str, policy: Option<&str>, target: Arch, color: bool) -> Result<Artifact, BuildError> {
    Ok(front(input, policy, target, color)?.artifact(input, Vec::new()))
}
