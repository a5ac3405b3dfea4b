//! `clawc import PROFILE.json`: a Docker/OCI seccomp profile as a Claw policy.
//! The conversion is `claw_lang::import`; this prints its warnings, refuses what
//! it refuses (exit 1, with the JSON path), and writes the policy, which checks.

use claw_lang::import::{import_oci, ImportOptions};
use claw_stdlib::Arch;
use std::process::ExitCode;

pub struct Args<'a> {
    pub profile: &'a str,
    pub output: Option<&'a str>,
    pub name: Option<&'a str>,
    pub caps: &'a [String],
    pub target: Arch,
}

pub fn import_cmd(a: &Args<'_>) -> ExitCode {
    let json = match std::fs::read_to_string(a.profile) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", a.profile);
            return ExitCode::from(2);
        }
    };
    let stem = std::path::Path::new(a.profile)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = a.name.map(str::to_string).unwrap_or_else(|| policy_name(&stem));
    let opts = ImportOptions {
        arch: a.target,
        caps: a.caps.to_vec(),
        name,
        source: a.profile.to_string(),
    };
    let imported = match import_oci(&json, &opts) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", a.profile);
            return ExitCode::from(1);
        }
    };
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    match a.output {
        None => print!("{}", imported.source),
        Some(path) => {
            if let Err(e) = std::fs::write(path, &imported.source) {
                eprintln!("error: cannot write `{path}`: {e}");
                return ExitCode::from(2);
            }
            eprintln!("imported `{}` -> {path}", a.profile);
        }
    }
    ExitCode::SUCCESS
}

/// A Claw name from a file name (`docker-default` → `docker_default`).
fn policy_name(stem: &str) -> String {
    let mut n: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !n.starts_with(|c: char| c.is_ascii_alphabetic()) {
        n.insert_str(0, "imported_");
    }
    n
}
