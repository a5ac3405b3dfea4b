//! `clawc`: the Claw policy compiler's command line.
//!
//! Exit codes: 0 success, 1 the policy has errors, 2 usage or I/O errors.

mod build;
mod check;
mod fmt;
mod inspect;
mod lsp;
mod verify;

use clap::{Parser, Subcommand, ValueEnum};
use claw_stdlib::Arch;
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
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
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
    /// Compile a policy into an artifact (`out.bin`) for `clawless exec`.
    Compile {
        /// A policy file, or a standard module such as `std::profiles`.
        file: String,
        /// Where to write the artifact.
        #[arg(short, long, default_value = "out.bin")]
        output: String,
        /// Which policy of the file, when it has several.
        #[arg(long)]
        policy: Option<String>,
        /// Architecture to compile for.
        #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
        target: Arch,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
        /// Write the artifact even when a proof fails or is inconclusive (the
        /// artifact records the outcome of every check).
        #[arg(long)]
        allow_unverified: bool,
        /// Time limit of each solver query, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u32,
    },
    /// Prove the policy's assertions and that its compiled filter implements it;
    /// lint rules, transitions and states that do nothing.
    Verify {
        /// A policy file, or a standard module such as `std::profiles`.
        file: String,
        /// Which policy of the file, when it has several.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
        target: Arch,
        /// Time limit of each solver query, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u32,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
    /// Lay policy files out canonically, in place, keeping every comment.
    Fmt {
        /// Policy files (`-`: standard input to standard output).
        #[arg(required = true)]
        files: Vec<String>,
        /// Change nothing; list the files that are not formatted and exit 1 if any.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
    /// Run the language server (LSP over stdin/stdout) for editors.
    Lsp,
    /// Print an artifact's filter as a readable listing, with its metadata.
    Disasm {
        /// An artifact written by `clawc compile`.
        artifact: String,
    },
    /// Show how a syscall would be decided in a state: by the kernel filter (run in
    /// an emulator) and by the policy's reference interpreter.
    Explain {
        /// An artifact, or a policy file compiled on the fly.
        input: String,
        /// The state to ask about (default: the initial state).
        #[arg(long)]
        state: Option<String>,
        /// The syscall, by name.
        #[arg(long)]
        syscall: String,
        /// An argument register: `N=VALUE` or `NAME=VALUE` (repeatable).
        #[arg(long = "arg", value_name = "ARG=VALUE")]
        args: Vec<String>,
        /// The path the syscall acts on, as the monitor would resolve it.
        #[arg(long)]
        path: Option<String>,
        /// The address: `tcp:1.2.3.4:443`, `udp:[::1]:53`, `unix:/run/x.sock`, `unix:@name`.
        #[arg(long)]
        addr: Option<String>,
        /// A path variable for the interpreter, `VAR=VALUE` (repeatable); WORKSPACE
        /// defaults to the current directory and HOME to $HOME.
        #[arg(long = "env", value_name = "VAR=VALUE")]
        env: Vec<String>,
        /// Which policy, when compiling a file with several.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
        target: Arch,
    },
}

fn parse_arch(s: &str) -> Result<Arch, String> {
    s.parse()
}

/// `std::profiles::coding_agent` names a policy of a standard module: the
/// module `std::profiles` with `--policy coding_agent` (both given and
/// different is an error). Any other input is returned as it is.
fn split_std_policy(input: &str, policy: Option<String>) -> Result<(String, Option<String>), ExitCode> {
    if !input.starts_with("std::") || claw_stdlib::modules::source(input).is_some() {
        return Ok((input.to_string(), policy));
    }
    let Some((module, name)) = input.rsplit_once("::") else {
        return Ok((input.to_string(), policy));
    };
    if claw_stdlib::modules::source(module).is_none() {
        return Ok((input.to_string(), policy));
    }
    match policy {
        Some(p) if p != name => {
            eprintln!("error: `{input}` names the policy `{name}`, but --policy says `{p}`");
            Err(ExitCode::from(2))
        }
        _ => Ok((module.to_string(), Some(name.to_string()))),
    }
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, which turns `clawc disasm out.bin | head` into a
    // panic on the next write; a command-line tool should just stop, as cat does.
    // SAFETY: setting a signal's disposition to the default before any threads start.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
        } => check::run(&files, format, target, color),
        Command::Compile {
            file,
            output,
            policy,
            target,
            color,
            allow_unverified,
            timeout,
        } => {
            let (file, policy) = match split_std_policy(&file, policy) {
                Ok(x) => x,
                Err(e) => return e,
            };
            build::compile_cmd(&build::CompileOptions {
                input: &file,
                output: &output,
                policy: policy.as_deref(),
                target,
                color,
                allow_unverified,
                timeout_secs: timeout,
            })
        }
        Command::Verify {
            file,
            policy,
            target,
            timeout,
            color,
        } => match split_std_policy(&file, policy) {
            Ok((file, policy)) => verify::verify_cmd(&file, policy.as_deref(), target, timeout, color),
            Err(e) => e,
        },
        Command::Disasm { artifact } => inspect::disasm_cmd(&artifact),
        Command::Fmt { files, check, color } => fmt::fmt_cmd(&files, check, color),
        Command::Lsp => match lsp::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Explain {
            input,
            state,
            syscall,
            args,
            path,
            addr,
            env,
            policy,
            target,
        } => {
            let q = inspect::Question {
                state,
                syscall,
                args,
                path,
                addr,
                env,
            };
            match split_std_policy(&input, policy) {
                Ok((input, policy)) => inspect::explain_cmd(&input, policy.as_deref(), target, &q),
                Err(e) => e,
            }
        }
    }
}
