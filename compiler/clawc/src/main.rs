//! `clawc`: the Claw policy compiler's command line.
//!
//! Exit codes: 0 success, 1 the policy has errors, 2 usage or I/O errors.

use clap::{Parser, Subcommand, ValueEnum};
use claw_lang::check::{self, Checked, Options};
use claw_lang::diag::{render, JsonDiagnostic};
use claw_lang::SourceMap;
use claw_stdlib::Arch;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "clawc",
    version,
    about = "Check, verify and compile Claw security policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve and type-check policies; report every problem found.
    Check {
        /// Policy files, or standard modules such as `std::profiles`.
        #[arg(required = true)]
        files: Vec<String>,
        /// Diagnostics as text for people or JSON (one array on stdout) for tools.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Architecture whose syscall table and constants are used.
        #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
        target: Arch,
        /// Colour diagnostics: auto colours only when stderr is a terminal.
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
}

fn parse_arch(s: &str) -> Result<Arch, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check {
            files,
            format,
            target,
            color,
        } => cmd_check(&files, format, target, color),
    }
}

/// Loads and checks one input: a file path, or a `std::` module name.
fn check_input(sources: &mut SourceMap, input: &str, opts: &Options) -> Result<Checked, String> {
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

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

fn cmd_check(files: &[String], format: Format, target: Arch, color: ColorChoice) -> ExitCode {
    let opts = Options {
        arch: target,
        require_policy: true,
    };
    let mut io_failed = false;
    let mut errors = 0usize;
    let mut warnings = 0usize;
    let mut policies = 0usize;
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
                    Format::Human => eprint!(
                        "{}",
                        render(&checked.diagnostics, &sources, use_color(color))
                    ),
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
                    "ok: {policies} polic{} checked, {warnings} warning{}",
                    if policies == 1 { "y" } else { "ies" },
                    if warnings == 1 { "" } else { "s" }
                );
            } else if errors > 0 {
                eprintln!(
                    "{errors} error{} and {warnings} warning{}",
                    if errors == 1 { "" } else { "s" },
                    if warnings == 1 { "" } else { "s" }
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
