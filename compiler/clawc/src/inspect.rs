//! `clawc disasm` and `clawc explain`: look inside an artifact.

use crate::build::build;
use claw_artifact::{Artifact, MAGIC};
use claw_bpf::{ret_name, SeccompData, RET_USER_NOTIF};
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
        "policy:    {} ({})\ncompiler:  {}\nsource:    {} (sha256 {})\nproofs:    {}\nstates:    {}\ndefault:   {}\nmonitor:   {} syscalls: {}\nprogram:   {} instructions\n",
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
        a.program.len()
    )
}

/// What `clawc explain` is asked.
pub struct Question {
    pub state: Option<String>,
    pub syscall: String,
    pub args: Vec<String>,
    pub path: Option<String>,
    pub addr: Option<String>,
    pub env: Vec<String>,
}

pub fn explain_cmd(input: &str, policy: Option<&str>, target: Arch, q: &Question) -> ExitCode {
    let is_artifact = std::fs::read(input)
        .map(|b| b.starts_with(MAGIC))
        .unwrap_or(false);
    let artifact = if is_artifact {
        match read_artifact(input) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        match build(input, policy, target, false) {
            Ok(a) => a,
            Err(e) => return e.report(),
        }
    };
    match explain(&artifact, q) {
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

fn parse_addr(s: &str) -> Result<NetAddr, String> {
    let bad =
        || format!("cannot read address `{s}`: write tcp:IP:PORT, udp:[IPv6]:PORT, unix:/path or unix:@name");
    let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
    match scheme {
        "unix" => Ok(match rest.strip_prefix('@') {
            Some(name) => NetAddr::UnixAbstract(name.to_string()),
            None => NetAddr::UnixPath(rest.to_string()),
        }),
        "tcp" | "udp" => {
            let proto = if scheme == "tcp" { Proto::Tcp } else { Proto::Udp };
            let sa: std::net::SocketAddr = rest.parse().map_err(|_| bad())?;
            Ok(NetAddr::Inet {
                proto,
                ip: sa.ip(),
                port: sa.port(),
            })
        }
        _ => Err(bad()),
    }
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

/// The explanation and whether the filter and the interpreter agree.
pub fn explain(a: &Artifact, q: &Question) -> Result<(String, bool), String> {
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

    // The accesses the monitor would establish.
    let mut accesses = Vec::new();
    if let Some(m) = sc.and_then(|sc| mediation::of(sc.name)) {
        let verbs: Vec<Verb> = match m {
            Mediation::Open { flags, .. } => mediation::open_verbs(args[flags as usize], arch),
            // An address given to a send is the one it names: `send` (without
            // one, a connected socket's peer is decided as `connect`).
            Mediation::SendTo { .. } | Mediation::SendMsg { .. } => vec![Verb::Send],
            other => other.verbs().to_vec(),
        };
        for v in verbs {
            if v.is_network() {
                if let Some(addr) = &q.addr {
                    accesses.push(Access::Net {
                        verb: v,
                        addr: parse_addr(addr)?,
                    });
                }
            } else if let Some(p) = &q.path {
                accesses.push(Access::Path {
                    verb: v,
                    path: p.clone(),
                });
            }
        }
    }

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
    let name = syscall_name(nr, sc, arch);
    let mut out = format!("syscall:  {name} (nr {nr}) on {arch}, in state {state_name}\n");
    if !accesses.is_empty() {
        let list: Vec<String> = accesses
            .iter()
            .map(|a| match a {
                Access::Path { verb, path } => format!("{} {path}", verb.name()),
                Access::Net { verb, addr } => format!("{} {addr}", verb.name()),
            })
            .collect();
        out += &format!("accesses: {}\n", list.join(", "));
    }
    out += &format!("filter:   {} after {steps} instructions", ret_name(ret));
    let req = Request {
        nr,
        args,
        accesses: &accesses,
    };
    let decision = ir.decide(state, &req, &env);
    let by = match decision.rule {
        Some(i) => format!("rule at {}", ir.rules[i].origin),
        None => "the default (no rule matches)".to_string(),
    };
    let mut agree = true;
    if ret == RET_USER_NOTIF {
        out += " — the monitor decides\n";
        if sc.is_some_and(|sc| mediation::of(sc.name).is_some()) && accesses.is_empty() {
            out += "note:     give --path or --addr to say what the syscall acts on\n";
        }
    } else {
        let expected = match ir.filter_outcome(data.arch, data.nr, &data.args) {
            claw_ir::FilterOutcome::Act(a) => claw_bpf::ret_value(a),
            claw_ir::FilterOutcome::Notify => RET_USER_NOTIF,
            claw_ir::FilterOutcome::KillProcess => claw_bpf::RET_KILL_PROCESS,
        };
        agree = expected == ret;
        out += if agree {
            " — decided in the kernel\n"
        } else {
            " — DISAGREES with the policy's semantics\n"
        };
    }
    if ret == claw_bpf::RET_KILL_PROCESS && nr >= claw_ir::route::X32_BIT && arch == Arch::X86_64 {
        out += "note:     an x32 syscall number: every filter kills the process (the x32 ABI is refused)\n";
    }
    out += &format!("policy:   {} by {by}\n", decision.action);
    if let (Some(m), Some(addr)) = (sc.and_then(|sc| mediation::of(sc.name)), &q.addr) {
        if matches!(
            m,
            Mediation::Connect { .. } | Mediation::SendTo { .. } | Mediation::SendMsg { .. }
        ) {
            if let Ok(a) = parse_addr(addr) {
                if ir.stays_inside(&a) {
                    out += "note:     in isolated mode this loopback address is the sandbox's own (no endpoint of the \
                            policy names it): the call stays inside the sandbox, undecided by the policy, and reaches \
                            nothing outside; in mediated mode the policy decides it as above\n";
                } else if matches!(a, NetAddr::Inet { ip, .. } if claw_ir::netns::is_loopback(ip)) {
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
    if sc.is_some_and(|sc| sc.name == "clone3")
        && ret != RET_USER_NOTIF
        && decision.action != claw_ir::Action::Kill
    {
        out += "note:     clone3 is always answered ENOSYS: its flags are in memory no filter can read, so libc \
                falls back to clone, whose flags the policy decides\n";
    }
    if let Some((to, t)) = ir.next_state(state, &req, &env) {
        if decision.action.is_allowing() {
            out += &format!(
                "then:     the sandbox moves to `{}` (transition at {})\n",
                ir.states[to as usize], ir.transitions[t].origin
            );
        }
    }
    Ok((out, agree))
}
