//! `clawless`: run a command under a compiled Claw policy.
//!
//! Exit status: the command's own, or 128+N when signal N killed it; 125 when the
//! sandbox could not be set up (bad policy or artifact, refused path variable,
//! Landlock required but missing); 126 when the command could not be run; 127
//! when it was not found.

#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use claw_artifact::Artifact;
use claw_runtime::audit::AuditLog;
use claw_runtime::namespaces;
use claw_runtime::policy_cache;
use claw_runtime::sandbox::{self, Launch};
use claw_stdlib::Arch;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "clawless",
    version,
    about = "Run a command under a verified Claw policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run CMD under a policy: seccomp filter, Landlock and the monitor.
    Exec(ExecArgs),
    /// Run CMD with everything allowed (except `std::groups::dangerous`, still
    /// killed) and recorded, then write a draft policy for it.
    Learn {
        /// The policy the draft is relative to (a `.claw` file or a standard
        /// module); its taint on reading secrets is kept. Default: the embedded
        /// default, std::profiles::coding_agent.
        #[arg(long, value_name = "BASE")]
        policy: Option<PathBuf>,
        /// Where to write the draft (default: stdout).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// The directory `$WORKSPACE` names (default: the current directory).
        #[arg(long, value_name = "DIR")]
        workspace: Option<PathBuf>,
        /// As for `exec`.
        #[arg(long, value_name = "MODE", value_parser = ["isolated", "mediated"])]
        mode: Option<String>,
        /// The command and its arguments.
        #[arg(required = true, last = true, value_name = "CMD")]
        cmd: Vec<OsString>,
    },
}

/// The options of `clawless exec`.
#[derive(Args)]
struct ExecArgs {
    /// A compiled artifact (`out.bin`), a `.claw` file or a standard module such
    /// as `std::profiles` (compiled and proved on the fly with `clawc`).
    /// Without it: the embedded default, std::profiles::coding_agent.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Which policy of a `.claw` source, when it has several.
    #[arg(long = "policy-name")]
    policy_name: Option<String>,
    /// Append one JSON object per monitor decision to FILE.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Print each denial on stderr, with its rule and a hint, and each state
    /// transition. With this or --audit-log, calls the kernel refuses are
    /// reported too (the proved logging filter is installed in place of the
    /// policy's; see docs/architecture.md).
    #[arg(long)]
    log_denials: bool,
    /// The directory `$WORKSPACE` names (default: the current directory).
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Refuse to run unless Landlock enforces the whole plan.
    #[arg(long)]
    require_landlock: bool,
    /// `isolated`: own pid and mount namespaces (and a user namespace when not
    /// root), private /proc, noexec mounts; fail if unavailable. `mediated`: no
    /// namespaces. Default: isolated where available, else mediated (said on
    /// stderr). Also from the environment variable CLAWLESS_MODE.
    #[arg(long, value_name = "MODE", value_parser = ["isolated", "mediated"])]
    mode: Option<String>,
    /// Refuse to run (exit 125) when isolated mode is not available.
    #[arg(long)]
    require_isolation: bool,
    /// Run an artifact whose proofs did not all succeed (or were never run),
    /// with a warning; without it such an artifact is refused (exit 125).
    #[arg(long)]
    allow_unverified: bool,
    /// The DNS server the sandbox's resolver forwards allowed queries to
    /// (policies with domain endpoints). Default: CLAWLESS_DNS_UPSTREAM if
    /// set, else the host's first nameserver in /etc/resolv.conf.
    #[arg(long = "dns-upstream", value_name = "ADDR:PORT")]
    dns_upstream: Option<std::net::SocketAddr>,
    /// Pass the environment variable NAME although its name says it holds a
    /// credential (repeatable).
    #[arg(long = "env-keep", value_name = "NAME")]
    env_keep: Vec<String>,
    /// Do not pass NAME (a name or a `*` pattern) to the sandbox (repeatable).
    #[arg(long = "env-drop", value_name = "NAME")]
    env_drop: Vec<String>,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    cmd: Vec<OsString>,
}

/// The default policy, compiled and proved at release time (a test checks these
/// bytes equal a fresh `clawc compile std::profiles --policy coding_agent`).
const DEFAULT_X86_64: &[u8] = include_bytes!("../default/coding_agent.x86_64.bin");
const DEFAULT_AARCH64: &[u8] = include_bytes!("../default/coding_agent.aarch64.bin");

fn is_source(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "claw") || p.to_string_lossy().starts_with("std::")
}

/// `clawc` next to this executable, else on PATH.
fn clawc() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("clawc")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("clawc"))
}

/// `clawc`'s messages as a `clawless` user reads them: the flags named are
/// `clawless`'s (`--policy-name`), or say where `clawc`'s own are used.
fn translate_clawc(text: &str) -> String {
    text.replace("choose one with --policy (", "choose one with --policy-name (")
        .replace(
            "(use --allow-unverified to write it anyway; the artifact records what was proved)",
            "(clawless runs only proved policies: `clawc compile --allow-unverified -o X.bin` writes one anyway, and `clawless exec --policy X.bin --allow-unverified` runs it)",
        )
        .replace("--timeout SECONDS", "`clawc compile --timeout SECONDS`")
}

/// Compiles (and proves) a policy source with `clawc`, or takes the artifact a
/// previous run compiled from the same inputs out of the cache
/// (`claw_runtime::policy_cache`); `clawc`'s diagnostics go to stderr.
fn compile(src: &Path, name: Option<&str>) -> Result<Vec<u8>, String> {
    let compiler = clawc();
    let compiler = std::fs::canonicalize(&compiler).unwrap_or(compiler);
    let target = Arch::native().map(|a| a.to_string()).unwrap_or_default();
    let source = if src.to_string_lossy().starts_with("std::") {
        src.to_string_lossy().as_bytes().to_vec()
    } else {
        std::fs::read(src).map_err(|e| format!("cannot read `{}`: {e}", src.display()))?
    };
    let cache = policy_cache::dir();
    let key = policy_cache::key(&source, name, &target, &compiler);
    if let Some(dir) = &cache {
        match policy_cache::lookup(dir, &key) {
            policy_cache::Found::Hit(_, bytes) => {
                eprintln!(
                    "clawless: {}: compiled and proved before, reused from {}",
                    src.display(),
                    policy_cache::entry(dir, &key).display()
                );
                return Ok(bytes);
            }
            policy_cache::Found::Corrupt(why) => {
                eprintln!("clawless: ignoring a corrupt cached policy ({why}); compiling again");
            }
            policy_cache::Found::Miss => {}
        }
    }
    let bytes = run_clawc(&compiler, src, name, &target)?;
    if let Some(dir) = &cache {
        if let Err(e) = policy_cache::store(dir, &key, &bytes) {
            eprintln!(
                "clawless: cannot cache the compiled policy in {}: {e}",
                dir.display()
            );
        }
    }
    Ok(bytes)
}

fn run_clawc(compiler: &Path, src: &Path, name: Option<&str>, target: &str) -> Result<Vec<u8>, String> {
    // A private directory (mode 0700, unpredictable name): a fixed name in /tmp
    // could be a symlink planted by another user.
    let dir = tempfile::Builder::new()
        .prefix("clawless-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let out = dir.path().join("policy.bin");
    let mut cmd = std::process::Command::new(compiler);
    cmd.arg("compile").arg(src).arg("-o").arg(&out);
    if let Some(n) = name {
        cmd.arg("--policy").arg(n);
    }
    if !target.is_empty() {
        cmd.arg("--target").arg(target);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        cmd.arg("--color").arg("always");
    }
    let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().map_err(|e| {
        format!(
            "cannot run `{}` to compile {}: {e}",
            compiler.display(),
            src.display()
        )
    })?;
    // Passed on line by line as it comes (proofs take seconds each).
    if let Some(err) = child.stderr.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).split(b'\n').map_while(Result::ok) {
            eprintln!("{}", translate_clawc(&String::from_utf8_lossy(&line)));
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{}`: {e}", compiler.display()))?;
    let bytes = std::fs::read(&out);
    if !status.success() {
        return Err(format!("{} did not compile (see above)", src.display()));
    }
    bytes.map_err(|e| format!("reading the compiled policy: {e}"))
}

fn load(policy: Option<&Path>, name: Option<&str>) -> Result<Artifact, String> {
    let (bytes, what) = match policy {
        None => {
            let b = match Arch::native() {
                Some(Arch::X86_64) => DEFAULT_X86_64,
                Some(Arch::Aarch64) => DEFAULT_AARCH64,
                None => return Err("no embedded default policy for this architecture".into()),
            };
            (b.to_vec(), "the embedded default policy".to_string())
        }
        Some(p) if is_source(p) => (compile(p, name)?, p.display().to_string()),
        Some(p) => (
            std::fs::read(p).map_err(|e| format!("cannot read policy `{}`: {e}", p.display()))?,
            format!("`{}`", p.display()),
        ),
    };
    Artifact::load_for_host(&bytes).map_err(|e| format!("refusing {what}: {e}"))
}

/// Why an artifact cannot be called verified: no proofs recorded, or some check
/// that did not prove (`clawc compile --allow-unverified` writes such artifacts).
fn unverified(a: &Artifact) -> Option<String> {
    let proofs = &a.metadata.proofs;
    if proofs.is_empty() {
        return Some("its artifact records no proofs".into());
    }
    let open: Vec<String> = proofs
        .iter()
        .filter(|p| p.outcome != claw_artifact::ProofOutcome::Proved)
        .map(|p| format!("{} ({:?})", p.check, p.outcome).to_lowercase())
        .collect();
    (!open.is_empty()).then(|| format!("not proved: {}", open.join(", ")))
}

fn main() -> ExitCode {
    claw_runtime::startup_mark("main");
    let code = match Cli::parse().command {
        Command::Exec(a) => exec(a),
        Command::Learn {
            policy,
            output,
            workspace,
            mode,
            cmd,
        } => learn(
            policy.as_deref(),
            output.as_deref(),
            workspace.as_deref(),
            mode,
            cmd,
        ),
    };
    claw_runtime::startup_mark("main returns");
    code
}

/// `clawless exec`.
fn exec(a: ExecArgs) -> ExitCode {
    let ExecArgs {
        policy,
        policy_name,
        audit_log,
        log_denials,
        workspace,
        require_landlock,
        mode,
        require_isolation,
        allow_unverified,
        dns_upstream,
        env_keep,
        env_drop,
        cmd,
    } = a;
    let fail = |msg: String, code: u8| {
        eprintln!("clawless: {msg}");
        ExitCode::from(code)
    };
    if let Some(addr) = dns_upstream {
        claw_runtime::dns::upstream::Upstream::choose(addr);
    }
    let mode = match namespaces::Request::new(
        mode.as_deref().and_then(namespaces::Mode::parse),
        require_isolation,
    ) {
        Ok(m) => m,
        Err(e) => return fail(e, 125),
    };
    // Credentials in the environment stay out of the sandbox (said once). Removed
    // from our own environment before any thread exists (the sandbox inherits it).
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    let withheld = claw_runtime::envfilter::withheld(names.iter().map(String::as_str), &env_keep, &env_drop);
    if !withheld.is_empty() {
        for n in &withheld {
            std::env::remove_var(n);
        }
        eprintln!(
            "clawless: not passed to the sandbox: {} (pass one with --env-keep NAME)",
            withheld.join(", ")
        );
    }
    let artifact = match load(policy.as_deref(), policy_name.as_deref()) {
        Ok(a) => a,
        Err(e) => return fail(e, 125),
    };
    if let Some(why) = unverified(&artifact) {
        if !allow_unverified {
            return fail(
                format!(
                    "refusing the policy `{}`: {why} (run it anyway with --allow-unverified)",
                    artifact.ir.name
                ),
                125,
            );
        }
        eprintln!(
            "clawless: warning: running the policy `{}` unverified: {why}",
            artifact.ir.name
        );
    }
    let used = claw_runtime::paths::used_by(&artifact.ir, &artifact.landlock);
    let env = match claw_runtime::paths::environment(workspace.as_deref(), &used) {
        Ok(e) => e,
        Err(e) => return fail(e, 125),
    };
    let audit_file = match &audit_log {
        Some(p) => {
            let checked = match claw_runtime::audit::out_of_reach(&artifact.ir, &env, p) {
                Ok(c) => c,
                Err(e) => return fail(e, 125),
            };
            use std::os::unix::fs::OpenOptionsExt;
            let opened = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&checked);
            match opened {
                Ok(f) => Some(f),
                Err(e) => return fail(format!("cannot open audit log `{}`: {e}", p.display()), 125),
            }
        }
        None => None,
    };
    let launch = Launch {
        artifact,
        env,
        command: cmd,
        log_kernel: log_denials || audit_file.is_some(),
        learn: false,
        audit: AuditLog::new(audit_file, log_denials),
        require_landlock,
        mode,
    };
    match sandbox::run(launch) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => fail(e.to_string(), e.exit_code() as u8),
    }
}

/// Does the base policy taint on reading secrets? (Its source says so.)
fn base_taints(base: Option<&Path>) -> Result<bool, String> {
    let src = match base {
        None => claw_stdlib::modules::source("std::profiles").map_or(String::new(), |(_, s)| s.to_string()),
        Some(p) if p.to_string_lossy().starts_with("std::") => {
            let m = p.to_string_lossy();
            let module = m
                .rsplit_once("::")
                .filter(|(m, _)| m.contains("::"))
                .map_or(&*m, |(m, _)| m);
            claw_stdlib::modules::source(module)
                .or_else(|| claw_stdlib::modules::source(&m))
                .map(|(_, s)| s.to_string())
                .ok_or_else(|| format!("no standard module `{m}`"))?
        }
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?,
    };
    Ok(src.contains("on read secrets ->"))
}

/// `clawless learn`: runs CMD under the learn policy with the learning filter and
/// an audit log, then writes the draft.
fn learn(
    base: Option<&Path>,
    output: Option<&Path>,
    workspace: Option<&Path>,
    mode: Option<String>,
    cmd: Vec<OsString>,
) -> ExitCode {
    let fail = |msg: String, code: u8| {
        eprintln!("clawless: {msg}");
        ExitCode::from(code)
    };
    let taint = match base_taints(base) {
        Ok(t) => t,
        Err(e) => return fail(e, 125),
    };
    let mode = match namespaces::Request::new(mode.as_deref().and_then(namespaces::Mode::parse), false) {
        Ok(m) => m,
        Err(e) => return fail(e, 125),
    };
    let dir = match tempfile::Builder::new().prefix("clawless-learn-").tempdir() {
        Ok(d) => d,
        Err(e) => return fail(format!("cannot create a temporary directory: {e}"), 125),
    };
    let src = dir.path().join("learn.claw");
    if let Err(e) = std::fs::write(&src, claw_runtime::learn::LEARN_POLICY) {
        return fail(format!("cannot write the learn policy: {e}"), 125);
    }
    let artifact = match load(Some(&src), None) {
        Ok(a) => a,
        Err(e) => return fail(e, 125),
    };
    let used = claw_runtime::paths::used_by(&artifact.ir, &artifact.landlock);
    let ws = workspace
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok())
        .and_then(|w| std::fs::canonicalize(w).ok());
    let env = match claw_runtime::paths::environment(ws.as_deref(), &used) {
        Ok(e) => e,
        Err(e) => return fail(e, 125),
    };
    let log_path = dir.path().join("learn.jsonl");
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
    {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot open the learn log: {e}"), 125),
    };
    let command = cmd
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("clawless: learning: everything is allowed and recorded except std::groups::dangerous, which is still killed");
    let launch = Launch {
        artifact,
        env,
        command: cmd,
        audit: AuditLog::new(Some(log), false),
        require_landlock: false,
        mode,
        log_kernel: false,
        learn: true,
    };
    let code = match sandbox::run(launch) {
        Ok(code) => code,
        Err(e) => return fail(e.to_string(), e.exit_code() as u8),
    };
    let records = std::fs::read_to_string(&log_path).unwrap_or_default();
    let ctx = claw_runtime::learn::Context {
        workspace: ws.map_or_else(String::new, |w| w.display().to_string()),
        home: std::env::var("HOME").ok().filter(|h| !h.is_empty()),
        tmpdir: std::env::var("TMPDIR").ok().filter(|t| t.starts_with('/')),
        taint,
        command,
    };
    let draft = claw_runtime::learn::draft(&records, &ctx);
    match output {
        Some(o) => {
            if let Err(e) = std::fs::write(o, &draft) {
                return fail(format!("cannot write `{}`: {e}", o.display()), 125);
            }
            eprintln!(
                "clawless: wrote the draft policy to {} (the command exited {code}); check it with `clawc verify {}`",
                o.display(),
                o.display()
            );
        }
        None => print!("{draft}"),
    }
    ExitCode::from(code.clamp(0, 255) as u8)
}

#[cfg(test)]
mod tests {
    use super::translate_clawc;

    #[test]
    fn clawc_messages_name_clawless_flags() {
        let t = translate_clawc("error: `x.claw` has 2 policies; choose one with --policy (a, b)\n");
        assert!(t.contains("choose one with --policy-name (a, b)"), "{t}");
        let t = translate_clawc("error: not writing `o`: verification did not prove every check (use --allow-unverified to write it anyway; the artifact records what was proved)");
        assert!(
            t.contains("clawless exec --policy X.bin --allow-unverified"),
            "{t}"
        );
    }
}
