//! `clawc check`.

use crate::output::{use_color, ColorChoice, Format};
use claw_lang::check::{self, Checked, Options};
use claw_lang::diag::{render, JsonDiagnostic};
use claw_lang::SourceMap;
use claw_stdlib::Arch;
use std::process::ExitCode;

/// Loads and checks one input: a file path, or a `std::` module name.
pub fn check_input(sources: &mut SourceMap, input: &str, opts: &Options) -> Result<Checked, String> {
    if input.starts_with("std::") {
        return check::check_std_module(sources, input, opts).ok_or_else(|| {
            let known: Vec<&str> = claw_stdlib::modules::names().collect();
            format!("no standard module `{input}` (known: {})", known.join(", "))
        });
    }
    let text = std::fs::read(input).map_err(|e| format!("cannot read `{input}`: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| format!("`{input}` is not valid UTF-8"))?;
    let file = sources.add(input, text);
    Ok(check::check_file(sources, file, opts))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn run(files: &[String], format: Format, target: Arch, color: ColorChoice) -> ExitCode {
    let opts = Options {
        arch: target,
        require_policy: true,
    };
    let mut io_failed = false;
    let (mut errors, mut warnings, mut policies) = (0usize, 0usize, 0usize);
    let mut json = Vec::new();
    for input in files {
        let mut sources = SourceMap::new();
        match check_input(&mut sources, input, &opts) {
            Err(msg) => {
                eprintln!("error: {msg}");
                io_failed = true;
            }
            Ok(checked) => {
                errors += checked.diagnostics.iter().filter(|d| d.is_error()).count();
                warnings += checked.diagnostics.iter().filter(|d| !d.is_error()).count();
                policies += checked.policies.len();
                match format {
                    Format::Human => eprint!("{}", render(&checked.diagnostics, &sources, use_color(color))),
                    Format::Json => json.extend(
                        checked
                            .diagnostics
                            .iter()
                            .map(|d| JsonDiagnostic::new(d, &sources)),
                    ),
                }
            }
        }
    }
    match format {
        Format::Json => match serde_json::to_string_pretty(&json) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode diagnostics: {e}");
                return ExitCode::from(2);
            }
        },
        Format::Human => {
            if errors == 0 && !io_failed {
                eprintln!(
                    "ok: {} checked, {}",
                    plural(policies, "policy", "policies"),
                    plural(warnings, "warning", "warnings")
                );
            } else if errors > 0 {
                eprintln!(
                    "{} and {}",
                    plural(errors, "error", "errors"),
                    plural(warnings, "warning", "warnings")
                );
            }
        }
    }
    if io_failed {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
