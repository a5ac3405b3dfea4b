//! `clawc`: the Claw policy compiler's command line.
//!
//! Exit codes: 0 success, 1 the policy has errors, 2 usage or I/O errors.

mod build;
mod check;
mod export;
mod fmt;
mod front;
mod import;
mod inspect;
mod isolation;
mod lsp;
mod output;
mod verify;

use clap::{Parser, Subcommand};
use claw_stdlib::Arch;
use output::{ColorChoice, Format};
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
        /// Fail unless the policy has an isolated-mode plan proved to implement
        /// it (the kernel decides opens, secrets are tripwires).
        #[arg(long)]
        require_isolation: bool,
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
    /// Convert a Docker/OCI seccomp profile (JSON) into a Claw policy that checks.
    Import {
        /// The profile (`docker-default.json`, a Kubernetes `seccompProfile`).
        profile: String,
        /// Where to write the policy (default: standard output).
        #[arg(short, long)]
        output: Option<String>,
        /// The policy's name (default: from the file name).
        #[arg(long)]
        name: Option<String>,
        /// A capability the container has, for the profile's `includes`/`excludes`
        /// (repeatable: `--cap CAP_SYS_ADMIN`).
        #[arg(long = "cap", value_name = "CAP")]
        caps: Vec<String>,
        #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
        target: Arch,
    },
    /// Write the static part of a policy as an OCI seccomp profile (Docker,
    /// runc/crun, a Kubernetes `seccompProfile`): a bound that allows everything the
    /// policy allows in any state; the rest stays with `clawless exec` inside.
    Export {
        /// A policy file, or a standard module such as `std::profiles`.
        file: String,
        /// Write an OCI (Docker/Kubernetes) seccomp profile (the only format).
        #[arg(long, required = true)]
        oci: bool,
        /// Where to write the profile (default: standard output).
        #[arg(short, long)]
        output: Option<String>,
        /// Which policy of the file, when it has several.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
        target: Arch,
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
        #[arg(long, required_unless_present = "batch")]
        syscall: Option<String>,
        /// An argument register: `N=VALUE` or `NAME=VALUE` (repeatable).
        #[arg(long = "arg", value_name = "ARG=VALUE")]
        args: Vec<String>,
        /// The path the syscall acts on, as the monitor would resolve it (twice for
        /// rename and link: source, then destination).
        #[arg(long = "path")]
        paths: Vec<String>,
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
        /// `human` or `json` (one object: decision, errno, rule, notes...).
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Answer many questions: one JSON object per line of FILE (`-`: stdin),
        /// one JSON answer per line.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["syscall", "state", "args", "paths", "addr"])]
        batch: Option<String>,
        /// Explain the pure model: decide on the paths given alone, without the
        /// secret names found on this file system (secret-named symlinks, hard
        /// links of secrets) that the runtime adds to a read.
        #[arg(long)]
        pure: bool,
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
            require_isolation,
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
                require_isolation,
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
        Command::Import {
            profile,
            output,
            name,
            caps,
            target,
        } => import::import_cmd(&import::Args {
            profile: &profile,
            output: output.as_deref(),
            name: name.as_deref(),
            caps: &caps,
            target,
        }),
        Command::Export {
            file,
            oci: _,
            output,
            policy,
            target,
        } => export_cmd(&file, output.as_deref(), policy.as_deref(), target),
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
            paths,
            addr,
            env,
            policy,
            target,
            format,
            batch,
            pure,
        } => {
            if let Some(file) = batch {
                return inspect::explain_batch_cmd(&input, policy.as_deref(), target, &file, &env, pure);
            }
            let q = inspect::Question {
                state,
                syscall: syscall.unwrap_or_default(),
                args,
                paths,
                addr,
                env,
                pure,
            };
            let output = match format {
                Format::Human => inspect::Output::Human,
                Format::Json => inspect::Output::Json,
            };
            match split_std_policy(&input, policy) {
                Ok((input, policy)) => inspect::explain_cmd(&input, policy.as_deref(), target, &q, output),
                Err(e) => e,
            }
        }
    }
}

/// `clawc export --oci`: see `export.rs`.
fn export_cmd(file: &str, output: Option<&str>, policy: Option<&str>, target: Arch) -> ExitCode {
    let built = match front::front(file, policy, target, false) {
        Ok(b) => b,
        Err(e) => return e.report(),
    };
    let (profile, inside) = export::oci_profile(&built.ir);
    let text = match serde_json::to_string_pretty(&profile) {
        Ok(t) => t + "\n",
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match output {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("error: cannot write `{path}`: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if inside.is_empty() {
        eprintln!(
            "exported `{}`: the profile decides every syscall exactly",
            built.ir.name
        );
    } else {
        eprintln!(
            "exported `{}`: {} syscall(s) are allowed by the profile and decided by `clawless exec` inside the container: {}",
            built.ir.name,
            inside.len(),
            inside.join(" ")
        );
    }
    ExitCode::SUCCESS
}
