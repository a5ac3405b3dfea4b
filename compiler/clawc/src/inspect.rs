//! `clawc disasm` and `clawc explain`: look inside an artifact.

use crate::front::build;
use claw_artifact::{Artifact, MAGIC};
use claw_bpf::{ret_name, SeccompData, RET_USER_NOTIF};
use claw_ir::names::SecretNames;
use claw_ir::{mediation, Access, Env, Mediation, NetAddr, Proto, Request, Verb};
use claw_stdlib::Arch;
use std::process::ExitCode;

fn read_artifact(path: &str) -> Result<Artifact, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    Artifact::from_bytes(&bytes).map_err(|e| format!("`{path}`: {e}"))
}

pub fn disasm_cmd(path: &str) -> ExitCode {
    let a = match read_artifact(path) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", describe(&a));
    println!();
    print!("{}", claw_bpf::disasm(&a.program, a.ir.arch));
    ExitCode::SUCCESS
}

/// The artifact's header facts, one per line.
pub fn describe(a: &Artifact) -> String {
    let ir = &a.ir;
    let states: Vec<String> = ir
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = if s.is_empty() { "(single state)" } else { s };
            if i as u32 == ir.initial && ir.states.len() > 1 {
                format!("{name} (initial)")
            } else {
                name.to_string()
            }
        })
        .collect();
    let monitored: Vec<&str> = ir
        .table()
        .iter()
        .filter(|s| matches!(ir.route(s.nr), claw_ir::Route::Monitor(_)))
        .map(|s| s.name)
        .collect();
    let proofs = if a.metadata.proofs.is_empty() {
        "none recorded (compiled without verification)".to_string()
    } else {
        let word = |o: claw_artifact::ProofOutcome| match o {
            claw_artifact::ProofOutcome::Proved => "proved ",
            claw_artifact::ProofOutcome::Failed => "FAILED ",
            claw_artifact::ProofOutcome::Unknown => "UNKNOWN",
        };
        let proved = a
            .metadata
            .proofs
            .iter()
            .filter(|p| p.outcome == claw_artifact::ProofOutcome::Proved)
            .count();
        let mut s = format!("{proved} of {} proved", a.metadata.proofs.len());
        for p in &a.metadata.proofs {
            s += &format!("\n           {}  {}", word(p.outcome), p.check);
        }
        s
    };
    format!(
        "policy:    {} ({})\ncompiler:  {}\nsource:    {} (sha256 {})\nproofs:    {}\nstates:    {}\ndefault:   {}\nmonitor:   {} syscalls: {}\nprogram:   {} instructions\nisolated:  {}\n",
        ir.name,
        ir.arch,
        a.metadata.compiler,
        a.metadata.source_name,
        a.metadata.source_sha256,
        proofs,
        states.join(", "),
        ir.default,
        monitored.len(),
        monitored.join(" "),
        a.program.len(),
        isolated_summary(a)
    )
}

/// The isolated plan in one paragraph: which layer decides what.
fn isolated_summary(a: &Artifact) -> String {
    let Some(p) = &a.isolated else {
        return "none (mediated mode only: no isolated plan was proved)".into();
    };
    let names = |nrs: Vec<u32>| -> String {
        nrs.iter()
            .map(|nr| {
                a.ir.table()
                    .by_nr(*nr)
                    .map_or_else(|| nr.to_string(), |s| s.name.to_string())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!(
        "proved; the kernel decides {} (Landlock, {} rules) except where the isolated filter notifies",
        names(p.routes.iter().map(|r| r.nr).collect()),
        p.landlock.fs.len()
    );
    // Each route as the filter tests it, first match wins: an `openat` with
    // O_DIRECTORY relative to a directory descriptor is the kernel's.
    for r in &p.routes {
        let sc = a.ir.table().by_nr(r.nr);
        let cases: Vec<String> = r
            .rules
            .iter()
            .map(|rule| {
                let conds: Vec<String> = rule.conds.iter().map(|c| cond_text(c, sc, a.ir.arch)).collect();
                format!("{} if {}", iso_action(rule.action), conds.join(" && "))
            })
            .collect();
        s += &format!(
            "\n           route     {}: {}; else {}",
            names(vec![r.nr]),
            cases.join("; "),
            iso_action(r.fallback)
        );
    }
    for g in &p.landlock.fs {
        let rights: Vec<String> = g.rights.iter().map(|r| format!("{r:?}")).collect();
        s += &format!("\n           landlock  {} {}", g.path, rights.join(","));
    }
    for c in &p.carves {
        s += &format!(
            "\n           carve     {} {} ({})",
            c.verb.name(),
            c.pattern,
            c.origin
        );
    }
    for t in &p.tripwires {
        let how = if t.refuses {
            "tripwire, refuses every open"
        } else {
            "tripwire, the monitor decides"
        };
        s += &format!("\n           {how}  {}", t.pattern);
    }
    for m in &p.monitored {
        s += &format!("\n           monitored {m}/**");
    }
    s += "\n           monitor   every other syscall keeps its mediated route";
    s
}

fn iso_action(a: claw_ir::isolate::IsoAction) -> String {
    match a {
        claw_ir::isolate::IsoAction::Notify => "notify".into(),
        claw_ir::isolate::IsoAction::Act(a) => format!("{a} in the kernel"),
    }
}

/// An isolated route's condition as written: the argument by name, a flag bit
/// or a value by its constant's name where one of the open flags (or
/// `AT_FDCWD`) has it.
fn cond_text(c: &claw_ir::ArgCond, sc: Option<&claw_stdlib::Syscall>, arch: Arch) -> String {
    let arg = sc
        .and_then(|s| s.args.get(c.arg as usize))
        .map_or_else(|| format!("arg{}", c.arg), |x| x.name.to_string());
    let width = claw_ir::width_mask(c.width);
    let named = |v: u64| {
        claw_stdlib::constants::all()
            .iter()
            .filter(|k| k.name.starts_with("O_") || k.name == "AT_FDCWD")
            .find(|k| k.value(arch) as u64 & width == v & width)
            .map_or_else(|| format!("{v:#x}"), |k| k.name.to_string())
    };
    let tmpfile_bit = named_value("O_TMPFILE", arch) & !named_value("O_DIRECTORY", arch);
    match c.mask {
        Some(m) if m == tmpfile_bit => format!("{arg} & __O_TMPFILE {} {:#x}", c.op.text(), c.value),
        Some(m) => format!("{arg} & {} {} {:#x}", named(m), c.op.text(), c.value),
        None => format!("{arg} {} {}", c.op.text(), named(c.value)),
    }
}

fn named_value(name: &str, arch: Arch) -> u64 {
    claw_stdlib::constants::by_name(name).map_or(0, |c| c.value(arch) as u64)
}

/// What `clawc explain` is asked.
#[derive(Debug, Clone, Default)]
pub struct Question {
    pub state: Option<String>,
    pub syscall: String,
    pub args: Vec<String>,
    /// The paths the syscall acts on (two for rename and link), as the monitor
    /// resolves them.
    pub paths: Vec<String>,
    pub addr: Option<String>,
    pub env: Vec<String>,
    /// Decide on the paths alone (`--pure`): no secret names from the file
    /// system (`claw_ir::names`).
    pub pure: bool,
}

/// How `explain` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
}

fn load_input(input: &str, policy: Option<&str>, target: Arch) -> Result<Artifact, ExitCode> {
    let is_artifact = std::fs::read(input)
        .map(|b| b.starts_with(MAGIC))
        .unwrap_or(false);
    if is_artifact {
        read_artifact(input).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })
    } else {
        build(input, policy, target, false).map_err(|e| e.report())
    }
}

pub fn explain_cmd(
    input: &str,
    policy: Option<&str>,
    target: Arch,
    q: &Question,
    output: Output,
) -> ExitCode {
    let artifact = match load_input(input, policy, target) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let result = match output {
        Output::Human => explain(&artifact, q),
        Output::Json => explain_json(&artifact, q).map(|(v, agree)| (format!("{v}\n"), agree)),
    };
    match result {
        Ok((text, agree)) => {
            print!("{text}");
            if agree {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `clawc explain --batch FILE`: one question per line of FILE (`-`: standard
/// input), a JSON object with the keys `syscall`, `state`, `args` (a list of
/// `ARG=VALUE`), `paths`, `addr` and `env` (a list of `VAR=VALUE`, added to the
/// command line's `--env`); one JSON answer per line on stdout, in order (a question
/// that cannot be answered gets `{"error": ...}`). Exit 1 if a filter and the
/// policy disagree on any.
pub fn explain_batch_cmd(
    input: &str,
    policy: Option<&str>,
    target: Arch,
    file: &str,
    env: &[String],
    pure: bool,
) -> ExitCode {
    let artifact = match load_input(input, policy, target) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let text = if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
    } else {
        std::fs::read_to_string(file)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read `{file}`: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all_agree = true;
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let answer = serde_json::from_str::<serde_json::Value>(line)
            .map_err(|e| format!("not a JSON question: {e}"))
            .and_then(|v| question_of(&v, env, pure))
            .and_then(|q| explain_json(&artifact, &q));
        match answer {
            Ok((v, agree)) => {
                all_agree &= agree;
                out += &format!("{v}\n");
            }
            Err(e) => out += &format!("{}\n", serde_json::json!({ "error": e })),
        }
    }
    print!("{out}");
    if all_agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn question_of(v: &serde_json::Value, env: &[String], pure: bool) -> Result<Question, String> {
    let strings = |key: &str| -> Result<Vec<String>, String> {
        match v.get(key) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{key}` holds a non-string"))
                })
                .collect(),
            Some(_) => Err(format!("`{key}` must be a list of strings")),
        }
    };
    let string = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
    let mut all_env = env.to_vec();
    all_env.extend(strings("env")?);
    Ok(Question {
        state: string("state"),
        syscall: string("syscall").ok_or("a question needs `syscall`")?,
        args: strings("args")?,
        paths: strings("paths")?,
        addr: string("addr"),
        env: all_env,
        pure,
    })
}

fn parse_value(s: &str, arch: Arch) -> Result<u64, String> {
    let s = s.trim();
    let parsed = if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(n) = s.strip_prefix('-') {
        n.parse::<u64>().ok().map(|n| n.wrapping_neg())
    } else {
        s.parse::<u64>().ok()
    };
    parsed
        .or_else(|| {
            s.split('|')
                .map(|t| claw_stdlib::constants::by_name(t.trim()).map(|c| c.value(arch) as u64))
                .try_fold(0u64, |acc, v| v.map(|v| acc | v))
        })
        .ok_or_else(|| format!("`{s}` is not a number or known constant"))
}

/// The address asked about and the name it was reached as: `tcp:NAME:PORT` is
/// an address the monitor's resolver returned for NAME — an example one
/// (`203.0.113.7`, or `127.0.0.1` for `localhost`) unless written
/// `tcp:NAME@IP:PORT`.
fn parse_target(s: &str) -> Result<(NetAddr, Option<String>), String> {
    let bad = || {
        format!(
            "cannot read address `{s}`: write tcp:IP:PORT, udp:[IPv6]:PORT, tcp:NAME:PORT, tcp:NAME@IP:PORT, \
             unix:/path or unix:@name"
        )
    };
    let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
    match scheme {
        "unix" => Ok((
            match rest.strip_prefix('@') {
                Some(name) => NetAddr::UnixAbstract(name.to_string()),
                None => NetAddr::UnixPath(rest.to_string()),
            },
            None,
        )),
        "tcp" | "udp" => {
            let proto = if scheme == "tcp" { Proto::Tcp } else { Proto::Udp };
            if let Ok(sa) = rest.parse::<std::net::SocketAddr>() {
                return Ok((
                    NetAddr::Inet {
                        proto,
                        ip: sa.ip(),
                        port: sa.port(),
                    },
                    None,
                ));
            }
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let port: u16 = port.parse().map_err(|_| bad())?;
            let (name, ip) = match host.split_once('@') {
                Some((n, ip)) => (
                    n,
                    Some(
                        ip.trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .map_err(|_| bad())?,
                    ),
                ),
                None => (host, None),
            };
            let name = claw_stdlib::domain::normalize(name)
                .ok_or_else(|| format!("cannot read address `{s}`: `{name}` is not a domain name"))?;
            let ip = ip.unwrap_or(if name == claw_ir::domain::LOCALHOST {
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            } else {
                std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7))
            });
            Ok((NetAddr::Inet { proto, ip, port }, Some(name)))
        }
        _ => Err(bad()),
    }
}

/// What the monitor's resolver makes of `name`'s answer `addr`: the name is a
/// fact of the request only if the answer is kept (`Ir::admits_answer`) and some
/// domain endpoint could use it.
fn named_access(ir: &claw_ir::Ir, addr: &NetAddr, name: Option<String>) -> Option<String> {
    let name = name?;
    let NetAddr::Inet { ip, .. } = addr else {
        return None;
    };
    (ir.admits_answer(&name, *ip) && ir.domain_matters(&name)).then_some(name)
}

/// The syscall asked about: a name of the table, or a number (decimal or `0x`),
/// which may be outside the table (an unnamed number, an x32 number).
fn resolve_syscall(
    spec: &str,
    arch: Arch,
    table: &'static claw_stdlib::SyscallTable,
) -> Result<(u32, Option<&'static claw_stdlib::Syscall>), String> {
    let spec = spec.trim();
    let number = match spec.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => spec.parse::<u32>().ok(),
    };
    match number {
        Some(nr) => Ok((nr, table.by_nr(nr))),
        None => table
            .by_name(spec)
            .map(|sc| (sc.nr, Some(sc)))
            .ok_or_else(|| format!("`{spec}` is not a syscall on {arch} (give a name or a number)")),
    }
}

/// A syscall's name for the listing: the table's, an x32 name, or `syscall N`.
fn syscall_name(nr: u32, sc: Option<&claw_stdlib::Syscall>, arch: Arch) -> String {
    if let Some(sc) = sc {
        return sc.name.to_string();
    }
    let x32 = claw_ir::route::X32_BIT;
    if arch == Arch::X86_64 && nr >= x32 {
        let base = nr - x32;
        let name = claw_stdlib::syscalls::x32_only()
            .find(|(n, _)| *n == base)
            .map(|(_, name)| name.to_string())
            .or_else(|| {
                claw_stdlib::SyscallTable::get(arch)
                    .by_nr(base)
                    .map(|s| s.name.to_string())
            });
        return format!("x32 {}", name.unwrap_or_else(|| format!("syscall {base}")));
    }
    format!("syscall {nr}")
}

/// The register an `--arg` key names: `N` or `argN` (always register N, 0..5), or
/// the kernel's name of a parameter.
fn arg_register(key: &str, sc: Option<&claw_stdlib::Syscall>) -> Result<usize, String> {
    let digits = key.strip_prefix("arg").unwrap_or(key);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match digits.parse::<usize>() {
            Ok(n) if n < 6 => Ok(n),
            _ => Err(format!("`--arg {key}=...`: there are six registers, 0 to 5")),
        };
    }
    let Some(sc) = sc else {
        return Err(format!(
            "`--arg {key}=...`: a syscall given by number has no argument names; write N=VALUE"
        ));
    };
    sc.args.iter().position(|a| a.name == key).ok_or_else(|| {
        let names: Vec<&str> = sc.args.iter().map(|a| a.name).collect();
        format!(
            "`{}` has no argument `{key}` (it takes: {}; or name a register, 0 to 5)",
            sc.name,
            names.join(", ")
        )
    })
}

/// Everything `explain` works out for one question.
struct Analysis {
    /// The syscall's name for the listing (see [`syscall_name`]).
    syscall: String,
    /// Its entry in the table (`None` for a number outside it).
    sc: Option<&'static claw_stdlib::Syscall>,
    nr: u32,
    arch: Arch,
    state_name: String,
    state: u32,
    accesses: Vec<Access>,
    ret: u32,
    steps: usize,
    /// `None` when the monitor decides; else whether the filter agrees.
    kernel_agrees: Option<bool>,
    decision: claw_ir::Decision,
    by: String,
    then: Option<(String, String)>,
    /// For `O_CREAT` without `O_EXCL`: the decision when the file already exists.
    if_exists: Option<(Vec<Verb>, claw_ir::Decision)>,
    /// Per path: does the policy let the agent see it (then a path that does not
    /// resolve gets the kernel's error)?
    sees: Vec<(String, bool)>,
    notes: Vec<String>,
    /// The secret names a read is decided on too: (the path asked, the name).
    named: Vec<(String, String)>,
    /// Which layer decides the request in isolated mode (`None`: the artifact
    /// has no isolated plan).
    isolated: Option<String>,
}

/// Which layer decides this request in isolated mode: the kernel (Landlock) for
/// an open the isolated filter lets through, a tripwire or a monitored subtree
/// (the monitor, after Landlock) for the paths they cover, the monitor for a
/// notified open, and the mediated route for every other syscall.
fn isolated_layer(a: &Artifact, nr: u32, args: &[u64; 6], accesses: &[Access], env: &Env) -> Option<String> {
    let plan = a.isolated.as_ref()?;
    let ir = &a.ir;
    let name = ir.table().by_nr(nr).map(|s| s.name);
    let paths: Vec<&str> = accesses
        .iter()
        .filter_map(|x| match x {
            Access::Path { path, .. } => Some(path.as_str()),
            Access::Net { .. } => None,
        })
        .collect();
    let covered = |p: &str| {
        if plan.is_secret(env, p) {
            Some("a tripwire: Landlock, then the monitor decides the open as a read of the path and fires its transition")
        } else if plan
            .monitored
            .iter()
            .any(|m| p == m || p.starts_with(&format!("{m}/")))
        {
            Some("a monitored subtree: Landlock, then the monitor decides the open with the policy")
        } else {
            None
        }
    };
    // A literal grant that is a directory here: the runtime does not give it to
    // Landlock (`isofiles::concrete_landlock`).
    let literal_dir = |p: &str| {
        plan.literal_grants
            .iter()
            .filter_map(|g| env.expand(g))
            .any(|g| g == p && std::path::Path::new(&g).is_dir())
    };
    let layer = match (plan.route_of(nr), name) {
        (Some(route), _) => match route.eval(args) {
            claw_ir::isolate::IsoAction::Notify => {
                "the monitor (the isolated filter notifies this open)".to_string()
            }
            claw_ir::isolate::IsoAction::Act(act) if act.is_allowing() => {
                match paths.iter().find_map(|p| covered(p)) {
                    Some(what) => what.to_string(),
                    None if paths.iter().any(|p| literal_dir(p)) => "the kernel: Landlock refuses it (EACCES): a directory granted alone by a literal pattern \
                         is not given to Landlock, and only O_DIRECTORY opens from the working directory (open, openat from AT_FDCWD) \
                         reach the monitor (stricter than the policy)"
                        .to_string(),
                    None => "the kernel: Landlock decides the open by path (a refusal is EACCES)".to_string(),
                }
            }
            claw_ir::isolate::IsoAction::Act(act) => format!("the kernel: the isolated filter answers {act}"),
        },
        (None, Some("execve" | "execveat")) => match ir.route(nr) {
            claw_ir::Route::Monitor(_) => {
                "the monitor, and the kernel: Landlock's EXECUTE right on top".to_string()
            }
            claw_ir::Route::Kernel(_) => "the kernel: the filter, then Landlock's EXECUTE right".to_string(),
        },
        (None, _) => match ir.route(nr) {
            claw_ir::Route::Monitor(_) => "the monitor (as in mediated mode)".to_string(),
            claw_ir::Route::Kernel(_) => "the kernel's filter (as in mediated mode)".to_string(),
        },
    };
    Some(layer)
}

fn rule_origin(ir: &claw_ir::Ir, d: &claw_ir::Decision) -> String {
    match d.rule {
        Some(i) => format!("rule at {}", ir.rules[i].origin),
        None => "the default (no rule matches)".to_string(),
    }
}

fn errno_of(action: claw_ir::Action) -> Option<u16> {
    match action {
        claw_ir::Action::Deny(e) => Some(e),
        // The monitor refuses with EPERM where the policy kills (after the kill).
        claw_ir::Action::Kill => Some(libc::EPERM as u16),
        _ => None,
    }
}

thread_local! {
    /// The secret names last found, and the policy and values they were found
    /// for (a batch asks many questions of one file system).
    static NAMES: std::cell::RefCell<Option<(usize, Env, std::rc::Rc<SecretNames>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The secret names on this file system for `ir` under `env`, as the runtime
/// finds them at a session's start (`claw_ir::names`, the same function).
fn secret_names(ir: &claw_ir::Ir, env: &Env) -> std::rc::Rc<SecretNames> {
    let key = ir as *const claw_ir::Ir as usize;
    NAMES.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((k, e, n)) = c.as_ref() {
            if *k == key && e == env {
                return std::rc::Rc::clone(n);
            }
        }
        let n = std::rc::Rc::new(SecretNames::discover(ir, env));
        *c = Some((key, env.clone(), std::rc::Rc::clone(&n)));
        n
    })
}

/// `accesses` and a `read` of each secret name of a path an existing object is
/// read or run at, as the monitor adds them for an open or an exec
/// (`runtime/src/aliases.rs`); with `creates` (an `O_CREAT` open that reads),
/// of a missing path too, by path: the file it creates there has the names of
/// that place (the end of a secret-named link, a path below a linked
/// directory), as the monitor decides a creation (`emulate/fs.rs::creating`);
/// each name added is noted in `named`.
fn with_names(
    names: Option<&SecretNames>,
    mut accesses: Vec<Access>,
    creates: bool,
    named: &mut Vec<(String, String)>,
) -> Vec<Access> {
    let Some(names) = names else { return accesses };
    // The object read, or run (an exec maps its bytes), or created to be read.
    let read = accesses.iter().find_map(|a| match a {
        Access::Path {
            verb: verb @ (Verb::Read | Verb::Exec),
            path,
        } => {
            let exists = std::fs::symlink_metadata(path).is_ok();
            (exists || creates && *verb == Verb::Read).then(|| (path.clone(), exists))
        }
        _ => None,
    });
    if let Some((path, exists)) = read {
        let found = if exists {
            names.names_of_path(&path)
        } else {
            names.names_of(&path, None)
        };
        for n in found {
            accesses.push(Access::Path {
                verb: Verb::Read,
                path: n.clone(),
            });
            if !named.iter().any(|(_, m)| *m == n) {
                named.push((path.clone(), n));
            }
        }
    }
    accesses
}

/// A naming (rename, link, symlink) reads every name it reads under the other
/// secret names of that place too, by path (the end of a secret-named link, a
/// path below a linked directory), as the monitor decides it
/// (`emulate/names.rs`, `emulate/fs.rs::modify`).
fn with_names_of_places(
    names: Option<&SecretNames>,
    mut accesses: Vec<Access>,
    named: &mut Vec<(String, String)>,
) -> Vec<Access> {
    let Some(names) = names else { return accesses };
    let reads: Vec<String> = accesses
        .iter()
        .filter_map(|a| match a {
            Access::Path {
                verb: Verb::Read,
                path,
            } => Some(path.clone()),
            _ => None,
        })
        .collect();
    for path in reads {
        for n in names.names_of(&path, None) {
            let read = Access::Path {
                verb: Verb::Read,
                path: n.clone(),
            };
            if !accesses.contains(&read) {
                accesses.push(read);
            }
            if !named.iter().any(|(_, m)| *m == n) {
                named.push((path.clone(), n));
            }
        }
    }
    accesses
}

fn analyse(a: &Artifact, q: &Question) -> Result<Analysis, String> {
    let ir = &a.ir;
    let arch = ir.arch;
    let table = ir.table();
    let (nr, sc) = resolve_syscall(&q.syscall, arch, table)?;
    let state = match &q.state {
        None => ir.initial,
        Some(name) => ir
            .state_id(name)
            .ok_or_else(|| format!("no state `{name}` (states: {})", ir.states.join(", ")))?,
    };
    let mut args = [0u64; 6];
    // A directory descriptor not given is `AT_FDCWD`: the path is looked up as
    // written (the isolated filter tells `openat` from `AT_FDCWD` from one
    // relative to a descriptor: `dfd=3` asks about the latter).
    let at_fdcwd = claw_stdlib::constants::by_name("AT_FDCWD").map_or(0, |c| c.value(arch) as u64);
    for (i, a) in sc.iter().flat_map(|sc| sc.args.iter().enumerate()) {
        if matches!(a.name, "dfd" | "olddfd" | "newdfd") {
            args[i] = at_fdcwd;
        }
    }
    for spec in &q.args {
        let (k, v) = spec
            .split_once('=')
            .ok_or_else(|| format!("`--arg {spec}`: write N=VALUE, argN=VALUE or NAME=VALUE"))?;
        let idx = arg_register(k.trim(), sc)?;
        args[idx] = parse_value(v, arch)?;
    }
    let mut env = Env::new();
    if let Ok(cwd) = std::env::current_dir() {
        env.set("WORKSPACE", &cwd.to_string_lossy());
    }
    if let Some(home) = std::env::var_os("HOME") {
        env.set("HOME", &home.to_string_lossy());
    }
    env.set(
        "TMPDIR",
        &std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into()),
    );
    for spec in &q.env {
        let (k, v) = spec
            .split_once('=')
            .ok_or_else(|| format!("`--env {spec}`: write VAR=VALUE"))?;
        env.set(k, v);
    }

    // The accesses the monitor would establish, for verbs (by flags for opens).
    let mediated = sc.and_then(|sc| mediation::of(sc.name));
    let verbs_for = |flags: Option<u64>| -> Vec<Verb> {
        match mediated {
            Some(Mediation::Open { flags: i, .. }) => {
                mediation::open_verbs(flags.unwrap_or(args[i as usize]), arch)
            }
            // An address given to a send is the one it names: `send` (without
            // one, a connected socket's peer is decided as `connect`).
            Some(Mediation::SendTo { .. } | Mediation::SendMsg { .. }) => vec![Verb::Send],
            Some(other) => other.verbs().to_vec(),
            None => Vec::new(),
        }
    };
    // A name change reads what it gives a new name and the name it gives: both
    // paths (docs/language.md, "Names"), and writes both.
    let accesses_for = |verbs: &[Verb]| -> Result<Vec<Access>, String> {
        let mut accesses = Vec::new();
        for &v in verbs {
            if v.is_network() {
                if let Some(addr) = &q.addr {
                    let (addr, name) = parse_target(addr)?;
                    let name = named_access(&a.ir, &addr, name);
                    accesses.push(Access::Net { verb: v, addr, name });
                }
            } else {
                for p in &q.paths {
                    accesses.push(Access::Path {
                        verb: v,
                        path: p.clone(),
                    });
                }
            }
        }
        Ok(accesses)
    };
    let verbs = verbs_for(None);
    let opens = matches!(mediated, Some(Mediation::Open { .. } | Mediation::Exec { .. }));
    let namings = matches!(
        mediated,
        Some(Mediation::NameChange { .. } | Mediation::Symlink { .. })
    );
    let names = (!q.pure && (opens || namings)).then(|| secret_names(ir, &env));
    let mut named = Vec::new();
    let accesses = if namings {
        with_names_of_places(names.as_deref(), accesses_for(&verbs)?, &mut named)
    } else {
        // An `O_CREAT` open (the decision when the file is missing: created).
        let creates = match mediated {
            Some(Mediation::Open { flags: i, .. }) => {
                args[i as usize]
                    & claw_stdlib::constants::by_name("O_CREAT").map_or(0, |c| c.value(arch) as u64)
                    != 0
            }
            _ => false,
        };
        with_names(names.as_deref(), accesses_for(&verbs)?, creates, &mut named)
    };

    let data = SeccompData {
        nr,
        arch: arch.audit_arch(),
        instruction_pointer: 0,
        args,
    };
    let (ret, steps) = claw_bpf::run(&a.program, &data).map_err(|e| e.to_string())?;
    let state_name = if ir.states[state as usize].is_empty() {
        "(single state)".to_string()
    } else {
        format!("`{}`", ir.states[state as usize])
    };
    let req = Request {
        nr,
        args,
        accesses: &accesses,
    };
    let decision = ir.decide(state, &req, &env);
    let by = rule_origin(ir, &decision);
    let kernel_agrees = (ret != RET_USER_NOTIF).then(|| {
        let expected = match ir.filter_outcome(data.arch, data.nr, &data.args) {
            claw_ir::FilterOutcome::Act(a) => claw_bpf::ret_value(a),
            claw_ir::FilterOutcome::Notify => RET_USER_NOTIF,
            claw_ir::FilterOutcome::KillProcess => claw_bpf::RET_KILL_PROCESS,
        };
        expected == ret
    });
    let then = ir.next_state(state, &req, &env).and_then(|(to, t)| {
        decision
            .action
            .is_allowing()
            .then(|| (ir.states[to as usize].clone(), ir.transitions[t].origin.clone()))
    });

    // Where the runtime's answer depends on the file system, say how.
    let c = |n: &str| claw_stdlib::constants::by_name(n).map_or(0, |c| c.value(arch) as u64);
    let mut notes = Vec::new();
    if let Some(why) = names.as_deref().and_then(SecretNames::incomplete) {
        notes.push(format!(
            "secret names: {why}: a secret name past it (a secret-named symlink, a hard link of a secret) \
             is not known here, nor to `clawless exec`, which lists the same way"
        ));
    }
    let mut if_exists = None;
    let mut sees = Vec::new();
    if ret == RET_USER_NOTIF && !q.paths.is_empty() {
        if let Some(Mediation::Open { flags: i, .. }) = mediated {
            let flags = args[i as usize];
            let creat = flags & c("O_CREAT") != 0;
            if creat && flags & c("O_EXCL") == 0 {
                let without = flags & !c("O_CREAT");
                let v = verbs_for(Some(without));
                let acc = with_names(names.as_deref(), accesses_for(&v)?, false, &mut Vec::new());
                let d = ir.decide(
                    state,
                    &Request {
                        nr,
                        args,
                        accesses: &acc,
                    },
                    &env,
                );
                let names: Vec<&str> = v.iter().map(|v| v.name()).collect();
                notes.push(format!(
                    "if the file exists, O_CREAT creates nothing and the open asks only for {}: {} by {}",
                    names.join(", "),
                    d.action,
                    rule_origin(ir, &d)
                ));
                if flags & c("O_NOFOLLOW") == 0 {
                    notes.push(
                        "a dangling symlink is followed to the file it would create (at most 40 links): \
                         give --path that file's path"
                            .to_string(),
                    );
                }
                if_exists = Some((v, d));
            } else if creat {
                notes.push(
                    "with O_EXCL a name that exists (a dangling symlink too) is EEXIST where the policy allows"
                        .to_string(),
                );
            }
        }
        for p in &q.paths {
            let mut look = verbs.clone();
            look.push(Verb::Visible);
            let ok = look.iter().any(|&v| {
                let acc = [Access::Path {
                    verb: v,
                    path: p.clone(),
                }];
                ir.decide(
                    state,
                    &Request {
                        nr,
                        args: [0; 6],
                        accesses: &acc,
                    },
                    &env,
                )
                .action
                .is_allowing()
            });
            notes.push(if ok {
                format!(
                    "if `{p}` does not resolve (missing, ENOTDIR, ELOOP), the runtime answers the kernel's error: \
                     the policy lets the agent see it"
                )
            } else {
                format!(
                    "if `{p}` does not resolve, the runtime answers the policy's refusal, so its existence stays hidden"
                )
            });
            sees.push((p.clone(), ok));
        }
    }
    let isolated = isolated_layer(a, nr, &args, &accesses, &env);
    Ok(Analysis {
        isolated,
        syscall: syscall_name(nr, sc, arch),
        sc,
        nr,
        arch,
        state_name,
        state,
        accesses,
        ret,
        steps,
        kernel_agrees,
        decision,
        by,
        then,
        if_exists,
        sees,
        notes,
        named,
    })
}

/// The explanation and whether the filter and the interpreter agree.
pub fn explain(a: &Artifact, q: &Question) -> Result<(String, bool), String> {
    let an = analyse(a, q)?;
    let mut out = format!(
        "syscall:  {} (nr {}) on {}, in state {}\n",
        an.syscall, an.nr, an.arch, an.state_name
    );
    if !an.accesses.is_empty() {
        let list: Vec<String> = an
            .accesses
            .iter()
            .map(|a| match a {
                Access::Path { verb, path } => format!("{} {path}", verb.name()),
                Access::Net { verb, addr, name } => {
                    format!(
                        "{} {addr}{}",
                        verb.name(),
                        claw_ir::domain::show_name(name.as_deref())
                    )
                }
            })
            .collect();
        out += &format!("accesses: {}\n", list.join(", "));
    }
    out += &format!("filter:   {} after {} instructions", ret_name(an.ret), an.steps);
    match an.kernel_agrees {
        None => {
            out += " — the monitor decides\n";
            if an.sc.is_some_and(|sc| mediation::of(sc.name).is_some()) && an.accesses.is_empty() {
                out += "note:     give --path or --addr to say what the syscall acts on\n";
            }
        }
        Some(true) => out += " — decided in the kernel\n",
        Some(false) => out += " — DISAGREES with the policy's semantics\n",
    }
    if an.ret == claw_bpf::RET_KILL_PROCESS && an.nr >= claw_ir::route::X32_BIT && an.arch == Arch::X86_64 {
        out += "note:     an x32 syscall number: every filter kills the process (the x32 ABI is refused)\n";
    }
    out += &format!("policy:   {} by {}\n", an.decision.action, an.by);
    if let (Some(m), Some(addr)) = (an.sc.and_then(|sc| mediation::of(sc.name)), &q.addr) {
        if matches!(
            m,
            Mediation::Connect { .. } | Mediation::SendTo { .. } | Mediation::SendMsg { .. }
        ) {
            if let Ok((NetAddr::Inet { ip, .. }, Some(name))) = parse_target(addr) {
                if !a.ir.admits_answer(&name, ip) {
                    out += &format!(
                        "note:     the monitor's resolver drops {ip} as an answer for {name} (a private, loopback \
                         or special address in no block the policy names): the connect is decided without the name\n"
                    );
                } else if !a.ir.domain_matters(&name) {
                    out += &format!(
                        "note:     no domain endpoint matches {name}: the connect is decided by its address alone\n"
                    );
                } else {
                    out += &format!(
                        "note:     decided as reached as {name}: {ip} is an answer the monitor's resolver returned \
                         for it within its TTL (write tcp:NAME@IP:PORT for another answer); a query for {name} \
                         leaves the sandbox in this state: {}\n",
                        if a.ir.forwards(an.state, &name) { "yes" } else { "no" }
                    );
                }
            }
            if let Ok((parsed, name)) = parse_target(addr) {
                let names: Vec<String> = named_access(&a.ir, &parsed, name).into_iter().collect();
                let resolver = matches!(parsed, NetAddr::Inet { ip, port, .. } if claw_ir::domain::is_resolver(ip, port));
                if resolver && a.ir.has_domains() {
                    out += "note:     in isolated mode this is the sandbox's resolver, the monitor's forwarder: the \
                            call stays inside the sandbox, and a query leaves only for a name the state could use \
                            (docs/language.md, \"Domain endpoints\"); in mediated mode the policy decides it as above\n";
                } else if a.ir.stays_inside_as(&parsed, &names) {
                    out += "note:     in isolated mode this loopback address is the sandbox's own (no endpoint of the \
                            policy names it): the call stays inside the sandbox, undecided by the policy, and reaches \
                            nothing outside; in mediated mode the policy decides it as above\n";
                } else if matches!(parsed, NetAddr::Inet { ip, .. } if claw_ir::netns::is_loopback(ip)) {
                    out += "note:     the policy names this loopback address as an endpoint: it is the host's, in \
                            isolated mode too (reached through a socket the monitor makes)\n";
                }
            }
        }
        if matches!(m, Mediation::SendTo { .. } | Mediation::SendMsg { .. }) {
            out += "note:     a send without an address on a connected socket is decided as `connect` to its peer \
                    (connect means talk); --addr is the address the send names\n";
        }
    }
    if an.sc.is_some_and(|sc| sc.name == "clone3")
        && an.kernel_agrees.is_some()
        && an.decision.action != claw_ir::Action::Kill
    {
        out += "note:     clone3 is always answered ENOSYS: its flags are in memory no filter can read, so libc \
                falls back to clone, whose flags the policy decides\n";
    }
    for (path, name) in &an.named {
        out += &format!(
            "name:     `{path}` is also the secret `{name}` on this file system (a symlink whose own path is a \
             secret's, or a directory link above it, or a hard link): the read is decided as a read of `{name}` \
             too (--pure: on the path alone)\n"
        );
    }
    for n in &an.notes {
        out += &format!("note:     {n}\n");
    }
    if let Some((to, origin)) = &an.then {
        out += &format!("then:     the sandbox moves to `{to}` (transition at {origin})\n");
    }
    // Only for an artifact with a proved isolated plan (`clawc compile` writes
    // one when it proves it); without one, every request is decided as above.
    if let Some(layer) = &an.isolated {
        out += &format!("isolated: decided by {layer}\n");
    }
    Ok((out, an.kernel_agrees != Some(false)))
}

/// The same as JSON: `decision`, `allowed`, `errno` (what a refused call gets),
/// `rule`, `decided_by` (`kernel` or `monitor`), `then` (the next state), and for
/// what depends on the file system `if_exists` (an `O_CREAT` open of a file that
/// exists) and `paths[].if_missing` (`kernel`: a path that does not resolve gets
/// the kernel's error; `policy`: the refusal, hiding existence).
pub fn explain_json(a: &Artifact, q: &Question) -> Result<(serde_json::Value, bool), String> {
    use serde_json::json;
    let an = analyse(a, q)?;
    let ir = &a.ir;
    let decision = |d: &claw_ir::Decision| {
        json!({
            "decision": d.action.to_string(),
            "allowed": d.action.is_allowing(),
            "errno": errno_of(d.action),
            "rule": d.rule.map(|i| ir.rules[i].origin.clone()),
        })
    };
    let mut v = decision(&an.decision);
    let accesses: Vec<serde_json::Value> = an
        .accesses
        .iter()
        .map(|a| match a {
            Access::Path { verb, path } => json!({ "verb": verb.name(), "path": path }),
            Access::Net { verb, addr, name } => {
                json!({ "verb": verb.name(), "addr": addr.to_string(), "name": name })
            }
        })
        .collect();
    let m = v.as_object_mut().ok_or("internal: not an object")?;
    m.insert("syscall".into(), json!(an.syscall));
    m.insert("nr".into(), json!(an.nr));
    m.insert("state".into(), json!(an.state_name.trim_matches('`')));
    m.insert("accesses".into(), json!(accesses));
    m.insert("filter".into(), json!(ret_name(an.ret)));
    m.insert(
        "decided_by".into(),
        json!(if an.kernel_agrees.is_none() {
            "monitor"
        } else {
            "kernel"
        }),
    );
    m.insert("agree".into(), json!(an.kernel_agrees != Some(false)));
    m.insert("then".into(), json!(an.then.as_ref().map(|(to, _)| to)));
    m.insert(
        "secret_names".into(),
        json!(an
            .named
            .iter()
            .map(|(path, name)| json!({ "path": path, "name": name }))
            .collect::<Vec<_>>()),
    );
    m.insert(
        "if_exists".into(),
        an.if_exists
            .as_ref()
            .map_or(serde_json::Value::Null, |(verbs, d)| {
                let mut e = decision(d);
                if let Some(o) = e.as_object_mut() {
                    o.insert(
                        "verbs".into(),
                        json!(verbs.iter().map(|v| v.name()).collect::<Vec<_>>()),
                    );
                }
                e
            }),
    );
    m.insert(
        "paths".into(),
        json!(an
            .sees
            .iter()
            .map(|(p, sees)| json!({ "path": p, "if_missing": if *sees { "kernel" } else { "policy" } }))
            .collect::<Vec<_>>()),
    );
    m.insert("notes".into(), json!(an.notes));
    m.insert("isolated_layer".into(), json!(an.isolated));
    Ok((v, an.kernel_agrees != Some(false)))
}
