//! `claw-bench`: ClawLess's code generator side by side with seccompiler and
//! libseccomp (binary-tree optimisation, level 2) on the same rules, in one run.
//!
//! For each policy (the examples, the standard profiles, and a large generated
//! policy with hundreds of argument rules) it reports compile time, program length,
//! and the average and maximum number of BPF instructions executed per syscall over
//! a real build's syscall mix (`bench/data/syscall-mix.tsv`), all three programs run
//! in the same emulator. Every baseline program is checked against the policy's
//! semantics first, and the table says how far it agrees. Results are ratios:
//! absolute times on a shared machine are noise.
//!
//! Run: `cargo run --release -p claw-bench` (markdown on stdout);
//! `CLAW_BENCH_DEBUG=1` lists, on stderr, every probe libseccomp answers otherwise.

#![forbid(unsafe_code)]

use claw_bpf::{run, Insn, Program, SeccompData, RET_ALLOW, RET_USER_NOTIF};
use claw_ir::{Action, ArgRule, CmpOp, FilterOutcome, Ir, Route};
use claw_lang::check::{check_file, check_std_module, Options};
use claw_lang::SourceMap;
use claw_stdlib::{Arch, ArgKind, SyscallTable};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ARCH: Arch = Arch::X86_64;
const REPS: usize = 15;

/// A policy to measure: its name and a way to build its IR from source (timed).
struct Case {
    name: String,
    build: Box<dyn Fn() -> Ir>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(f: impl Fn() -> T) -> (T, Duration) {
    let mut times = Vec::with_capacity(REPS);
    let mut out = None;
    for _ in 0..REPS {
        let t = Instant::now();
        out = Some(f());
        times.push(t.elapsed());
    }
    (out.expect("REPS > 0"), median(times))
}

fn opts() -> Options {
    Options {
        arch: ARCH,
        require_policy: true,
    }
}

fn from_source(name: &str, text: String, policy: String) -> Case {
    let name = name.to_string();
    Case {
        name: policy.clone(),
        build: Box::new(move || {
            let mut sources = SourceMap::new();
            let file = sources.add(name.clone(), text.clone());
            let checked = check_file(&mut sources, file, &opts());
            if checked.has_errors() {
                panic!(
                    "{name} has errors:\n{}",
                    claw_lang::diag::render(&checked.diagnostics, &sources, false)
                );
            }
            let p = checked
                .policies
                .iter()
                .find(|p| p.name == policy)
                .expect("policy");
            claw_lower::lower(p, &sources)
        }),
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for ex in ["coding_agent", "offline_analysis", "readonly_reviewer"] {
        let path = format!("{root}/examples/{ex}.claw");
        let text = std::fs::read_to_string(&path).expect("example");
        let mut sources = SourceMap::new();
        let file = sources.add(path.clone(), text.clone());
        for p in check_file(&mut sources, file, &opts()).policies {
            out.push(from_source(&path, text.clone(), p.name));
        }
    }
    for name in ["offline", "readonly_workspace"] {
        let name = name.to_string();
        out.push(Case {
            name: format!("std::profiles::{name}"),
            build: Box::new(move || {
                let mut sources = SourceMap::new();
                let c = check_std_module(&mut sources, "std::profiles", &opts()).expect("profiles");
                let p = c.policies.iter().find(|p| p.name == name).expect("profile");
                claw_lower::lower(p, &sources)
            }),
        });
    }
    out.push(from_source("large.claw", large_policy(), "large".into()));
    out
}

/// Hundreds of syscall rules with argument conditions, written in Claw.
fn large_policy() -> String {
    let table = SyscallTable::get(ARCH);
    let mut rules = Vec::new();
    let mut n = 0;
    for s in table.iter() {
        if matches!(s.name, "clone3" | "exit" | "exit_group") {
            continue;
        }
        let Some((i, arg)) = s.args.iter().enumerate().find(|(_, a)| a.kind != ArgKind::Ptr) else {
            rules.push(format!("allow {};", s.name));
            continue;
        };
        let _ = i;
        n += 1;
        rules.push(format!(
            "allow {}({} == {}), {}({} == {});",
            s.name,
            arg.name,
            n,
            s.name,
            arg.name,
            n + 1000
        ));
        if n % 4 == 0 {
            rules.push(format!("deny(EACCES) {}({} == {});", s.name, arg.name, n + 2000));
        }
        if n % 9 == 0 {
            rules.push(format!("kill {}({} > {});", s.name, arg.name, 0x7fff_0000u32));
        }
    }
    format!(
        "policy large {{\n  default deny(EPERM);\n  always {{\n    allow exit, exit_group;\n    {}\n  }}\n}}\n",
        rules.join("\n    ")
    )
}

/// The kernel-decided part of an IR: per syscall number, rules and fallback, or
/// `None` for "the monitor decides".
fn kernel_part(ir: &Ir) -> BTreeMap<u32, Option<claw_ir::KernelDecision>> {
    ir.table()
        .iter()
        .map(|s| {
            let r = match ir.route(s.nr) {
                Route::Kernel(k) => Some(k),
                Route::Monitor(_) => None,
            };
            (s.nr, r)
        })
        .collect()
}

// ----- libseccomp --------------------------------------------------------------------

fn scmp_action(a: Action) -> libseccomp::ScmpAction {
    match a {
        Action::Allow => libseccomp::ScmpAction::Allow,
        Action::Log => libseccomp::ScmpAction::Log,
        Action::Deny(e) => libseccomp::ScmpAction::Errno(i32::from(e)),
        Action::Kill => libseccomp::ScmpAction::KillProcess,
    }
}

fn libseccomp_program(ir: &Ir) -> Program {
    use libseccomp::*;
    let mut ctx = ScmpFilterContext::new(scmp_action(ir.default)).expect("libseccomp context");
    ctx.set_ctl_optimize(2).expect("binary tree optimisation");
    let sys = |nr: u32| ScmpSyscall::from(nr as i32);
    for (nr, k) in kernel_part(ir) {
        match k {
            None => {
                let _ = ctx.add_rule(ScmpAction::Notify, sys(nr));
            }
            Some(k) => {
                for r in &k.rules {
                    let conds: Vec<ScmpArgCompare> = r
                        .conds
                        .iter()
                        .map(|c| {
                            let op = match (c.mask, c.op) {
                                (Some(m), CmpOp::Eq) => ScmpCompareOp::MaskedEqual(m),
                                (_, CmpOp::Eq) => ScmpCompareOp::Equal,
                                (_, CmpOp::Ne) => ScmpCompareOp::NotEqual,
                                (_, CmpOp::Lt) => ScmpCompareOp::Less,
                                (_, CmpOp::Le) => ScmpCompareOp::LessOrEqual,
                                (_, CmpOp::Gt) => ScmpCompareOp::Greater,
                                (_, CmpOp::Ge) => ScmpCompareOp::GreaterEqual,
                            };
                            ScmpArgCompare::new(u32::from(c.arg), op, c.value)
                        })
                        .collect();
                    let _ = ctx.add_rule_conditional(scmp_action(r.action), sys(nr), &conds);
                }
                if k.fallback != ir.default {
                    // An unconditional libseccomp rule replaces the conditional ones
                    // on its syscall, so a fallback is given as the complement of the
                    // exceptions where that is expressible (one argument, equalities).
                    match complement(&k.rules) {
                        Some(parts) => {
                            for (arg, op, value) in parts {
                                let op = match op {
                                    CmpOp::Lt => ScmpCompareOp::Less,
                                    CmpOp::Gt => ScmpCompareOp::Greater,
                                    _ => ScmpCompareOp::Equal,
                                };
                                let cond = ScmpArgCompare::new(u32::from(arg), op, value);
                                let _ = ctx.add_rule_conditional(scmp_action(k.fallback), sys(nr), &[cond]);
                            }
                        }
                        None => {
                            let _ = ctx.add_rule(scmp_action(k.fallback), sys(nr));
                        }
                    }
                }
            }
        }
    }
    let path = std::env::temp_dir().join(format!("claw-bench-{}.bpf", std::process::id()));
    let file = std::fs::File::create(&path).expect("temp file");
    ctx.export_bpf(&file).expect("export");
    let bytes = std::fs::read(&path).expect("read back");
    let _ = std::fs::remove_file(&path);
    bytes
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// The values of one argument that none of `rules` names, as single comparisons
/// (`arg`, operator, value) whose union is exactly that set: both libraries take
/// one comparison per argument per rule, and neither can negate a rule. `None`
/// unless every rule is one unmasked equality on the same argument and the gaps
/// between the named values are small enough to enumerate.
fn complement(rules: &[ArgRule]) -> Option<Vec<(u8, CmpOp, u64)>> {
    let arg = rules.first()?.conds.first()?.arg;
    let mut values = Vec::new();
    for r in rules {
        match r.conds.as_slice() {
            [c] if c.arg == arg && c.op == CmpOp::Eq && c.mask.is_none() => values.push(c.value),
            _ => return None,
        }
    }
    values.sort_unstable();
    values.dedup();
    let mut out = vec![(arg, CmpOp::Lt, values[0])];
    for w in values.windows(2) {
        if w[1] - w[0] > 64 {
            return None;
        }
        out.extend((w[0] + 1..w[1]).map(|v| (arg, CmpOp::Eq, v)));
    }
    out.push((arg, CmpOp::Gt, *values.last()?));
    Some(out)
}

// ----- seccompiler -------------------------------------------------------------------

/// seccompiler builds one filter with a single match action, so the policy is given
/// to it as its users would: the allow-list (syscalls and argument rules that our
/// filter allows) against the default. Denials with other errnos, kills and the
/// monitor's syscalls collapse into the default: a lower bound on what a faithful
/// seccompiler set-up (several stacked filters, all run on every syscall) costs.
fn seccompiler_program(ir: &Ir) -> Result<Program, String> {
    use seccompiler::*;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let table = ir.table();
    for (nr, k) in kernel_part(ir) {
        let Some(k) = k else { continue };
        let sc = table.by_nr(nr).expect("known");
        let allow_rules: Vec<&ArgRule> = k.rules.iter().filter(|r| r.action == Action::Allow).collect();
        if k.fallback == Action::Allow && k.rules.is_empty() {
            rules.insert(i64::from(nr), vec![]);
            continue;
        }
        let len = |arg: u8| {
            if sc.args[arg as usize].kind == ArgKind::U64 {
                SeccompCmpArgLen::Qword
            } else {
                SeccompCmpArgLen::Dword
            }
        };
        if k.fallback == Action::Allow {
            // Allowed unless an exception matches: the allow-list is the complement.
            let Some(parts) = complement(&k.rules) else {
                continue; // needs negated conditions the allow-list shape cannot say
            };
            let v = parts
                .into_iter()
                .filter_map(|(arg, op, value)| {
                    let op = match op {
                        CmpOp::Lt => SeccompCmpOp::Lt,
                        CmpOp::Gt => SeccompCmpOp::Gt,
                        _ => SeccompCmpOp::Eq,
                    };
                    let cond = SeccompCondition::new(arg, len(arg), op, value).ok()?;
                    SeccompRule::new(vec![cond]).ok()
                })
                .collect();
            rules.insert(i64::from(nr), v);
            continue;
        }
        let mut v = Vec::new();
        for r in allow_rules {
            let conds: Vec<SeccompCondition> = r
                .conds
                .iter()
                .filter_map(|c| {
                    let op = match (c.mask, c.op) {
                        (Some(m), CmpOp::Eq) => SeccompCmpOp::MaskedEq(m),
                        (Some(_), _) => return None,
                        (None, CmpOp::Eq) => SeccompCmpOp::Eq,
                        (None, CmpOp::Ne) => SeccompCmpOp::Ne,
                        (None, CmpOp::Lt) => SeccompCmpOp::Lt,
                        (None, CmpOp::Le) => SeccompCmpOp::Le,
                        (None, CmpOp::Gt) => SeccompCmpOp::Gt,
                        (None, CmpOp::Ge) => SeccompCmpOp::Ge,
                    };
                    SeccompCondition::new(c.arg, len(c.arg), op, c.value).ok()
                })
                .collect();
            if let Ok(rule) = SeccompRule::new(conds) {
                v.push(rule);
            }
        }
        if !v.is_empty() {
            rules.insert(i64::from(nr), v);
        }
    }
    let default = match ir.default {
        Action::Deny(e) => SeccompAction::Errno(u32::from(e)),
        Action::Kill => SeccompAction::KillProcess,
        Action::Log => SeccompAction::Log,
        Action::Allow => SeccompAction::Allow,
    };
    let filter = SeccompFilter::new(rules, default, SeccompAction::Allow, TargetArch::x86_64)
        .map_err(|e| format!("{e:?}"))?;
    let prog: BpfProgram = filter.try_into().map_err(|e| format!("{e:?}"))?;
    Ok(prog
        .iter()
        .map(|i| Insn {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

// ----- measurement -------------------------------------------------------------------

fn mix() -> Vec<(u32, u64, &'static str)> {
    let table = SyscallTable::get(ARCH);
    include_str!("../data/syscall-mix.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, calls) = l.split_once('\t')?;
            let s = table.by_name(name)?;
            Some((s.nr, calls.parse().ok()?, s.name))
        })
        .collect()
}

fn data(nr: u32, args: [u64; 6]) -> SeccompData {
    SeccompData {
        nr,
        arch: ARCH.audit_arch(),
        instruction_pointer: 0,
        args,
    }
}

/// Weighted average and maximum instructions executed over the mix.
fn exec_stats(prog: &[Insn], mix: &[(u32, u64, &str)]) -> (f64, usize) {
    let (mut sum, mut weight, mut max) = (0f64, 0f64, 0usize);
    for &(nr, calls, _) in mix {
        let (_, steps) = run(prog, &data(nr, [0; 6])).expect("runs");
        sum += steps as f64 * calls as f64;
        weight += calls as f64;
        max = max.max(steps);
    }
    (sum / weight, max)
}

/// Inputs that exercise every rule: zeros, and each condition's value in place.
fn probes(ir: &Ir) -> Vec<SeccompData> {
    let mut out = Vec::new();
    for (nr, k) in kernel_part(ir) {
        out.push(data(nr, [0; 6]));
        for r in k.iter().flat_map(|k| &k.rules) {
            for c in &r.conds {
                let mut args = [0u64; 6];
                args[c.arg as usize] = c.value;
                out.push(data(nr, args));
            }
        }
    }
    out
}

/// How many probes a program answers as the policy says, with `expect` mapping
/// the policy's outcome to what that program should return.
fn agreement(prog: &[Insn], probes: &[SeccompData], expect: impl Fn(&SeccompData) -> u32) -> (usize, usize) {
    let ok = probes
        .iter()
        .filter(|d| run(prog, d).map(|r| r.0).ok() == Some(expect(d)))
        .count();
    (ok, probes.len())
}

fn outcome_ret(ir: &Ir, d: &SeccompData) -> u32 {
    match ir.filter_outcome(d.arch, d.nr, &d.args) {
        FilterOutcome::KillProcess => claw_bpf::RET_KILL_PROCESS,
        FilterOutcome::Notify => RET_USER_NOTIF,
        FilterOutcome::Act(a) => claw_bpf::ret_value(a),
    }
}

/// One table row: compiler, its program (or why it has none), compile time,
/// agreement (ok, probes) and what the agreement was checked against.
type Row<'a> = (
    &'a str,
    Result<&'a Program, &'a String>,
    Duration,
    (usize, usize),
    &'a str,
);

/// A policy with `n` states in a chain: state i may read its own directory, reading
/// `next` there moves on; the first half may use the network; reading a key file
/// anywhere jumps to the last state. Every state has its own rules.
fn many_states_policy(n: usize) -> String {
    let mut s = String::from("policy chain {\n  default deny(EPERM);\n");
    s += "  let key = path \"/data/**/key.pem\";\n";
    s += "  always { allow getpid, getppid, exit_group; allow read, write path \"/data/out/**\"; }\n";
    for i in 0..n {
        let init = if i == 0 { " initial" } else { "" };
        s += &format!("  state s{i}{init} {{\n    allow read path \"/data/s{i}/**\";\n");
        if i + 1 < n {
            s += &format!("    on read path \"/data/s{i}/next\" -> s{};\n", i + 1);
            s += &format!("    on read key -> s{};\n", n - 1);
        }
        if i < n / 2 {
            s += &format!(
                "    allow connect endpoint tcp \"10.{}.0.0/16\" port 443;\n",
                i % 250
            );
        }
        s += "  }\n";
    }
    s += &format!(
        "  assert never connect after read path \"/data/s{}/**\";\n",
        n / 2
    );
    s += "  assert always write within path \"/data/out/**\";\n";
    s += "  assert never exec path \"/data/**\";\n}\n";
    s
}

/// Verification times: every example, and generated policies with many states.
fn verification_table() {
    println!("| policy | states | rules | transitions | assertions | proofs | lints | total |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut cases = cases();
    cases.retain(|c| c.name != "large");
    for n in [20usize, 100] {
        cases.push(from_source("chain.claw", many_states_policy(n), "chain".into()));
    }
    for case in cases {
        let ir = (case.build)();
        let prog = claw_bpf::compile(&ir).expect("compiles");
        let opts = claw_verify::Options {
            timeout_ms: 60_000,
            lints: false,
        };
        let t = Instant::now();
        let report = claw_verify::verify(&ir, Some(&prog), opts);
        let proofs = t.elapsed();
        assert!(report.all_proved(), "{}: {:?}", case.name, report.checks);
        let t = Instant::now();
        let _ = claw_verify::verify(&ir, None, claw_verify::Options { lints: true, ..opts });
        let lints = t.elapsed();
        println!(
            "| {} | {} | {} | {} | {} | {:.2} s | {:.2} s | {:.2} s |",
            if case.name == "chain" {
                format!("chain of {} states", ir.states.len())
            } else {
                case.name.clone()
            },
            ir.states.len(),
            ir.rules.len(),
            ir.transitions.len(),
            ir.assertions.len(),
            proofs.as_secs_f64(),
            lints.as_secs_f64(),
            (proofs + lints).as_secs_f64()
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--verify") {
        verification_table();
        return;
    }
    let mix = mix();
    println!("| policy | compiler | compile time (× ours) | instructions | avg executed | max executed | agrees with policy |");
    println!("|---|---|---:|---:|---:|---:|---|");
    let mut totals = [(0f64, 0usize); 3];
    for case in cases() {
        let (ir, t_ours) = time(|| (case.build)());
        let (prog, t_gen) = time(|| claw_bpf::compile(&ir).expect("compiles"));
        let t_ours = t_ours + t_gen;
        let (lib, t_lib) = time(|| libseccomp_program(&ir));
        let (sc, t_sc) = time(|| seccompiler_program(&ir));
        let probes = probes(&ir);
        let ours_ok = agreement(&prog, &probes, |d| outcome_ret(&ir, d));
        assert_eq!(
            ours_ok.0, ours_ok.1,
            "our filter disagrees with the policy for {}",
            case.name
        );
        let lib_ok = agreement(&lib, &probes, |d| outcome_ret(&ir, d));
        if std::env::var_os("CLAW_BENCH_DEBUG").is_some() {
            for d in &probes {
                let got = run(&lib, d).map(|r| r.0).ok();
                if got != Some(outcome_ret(&ir, d)) {
                    eprintln!(
                        "{}: nr {} args {:x?}: libseccomp {:x?}, policy {:x}",
                        case.name,
                        d.nr,
                        d.args,
                        got,
                        outcome_ret(&ir, d)
                    );
                }
            }
        }
        let default_ret = claw_bpf::ret_value(ir.default);
        let sc_ok = sc.as_ref().map_or((0, 0), |sc| {
            agreement(sc, &probes, |d| {
                if outcome_ret(&ir, d) == RET_ALLOW {
                    RET_ALLOW
                } else {
                    default_ret
                }
            })
        });
        let rows: [Row; 3] = [
            ("ClawLess", Ok(&prog), t_ours, ours_ok, "all rules"),
            ("libseccomp (opt 2)", Ok(&lib), t_lib, lib_ok, "all rules"),
            ("seccompiler", sc.as_ref(), t_sc, sc_ok, "allow-list only"),
        ];
        for (i, (name, p, t, ok, scope)) in rows.into_iter().enumerate() {
            let ratio = t.as_secs_f64() / t_ours.as_secs_f64();
            match p {
                Ok(p) => {
                    let (avg, max) = exec_stats(p, &mix);
                    totals[i].0 += avg;
                    totals[i].1 += 1;
                    println!(
                        "| {} | {name} | {ratio:.2} | {} | {avg:.2} | {max} | {}/{} ({scope}) |",
                        case.name,
                        p.len(),
                        ok.0,
                        ok.1
                    );
                }
                Err(e) => println!("| {} | {name} | {ratio:.2} | fails: {e} | — | — | — |", case.name),
            }
        }
    }
    println!();
    println!("Mean over the policies each compiler could compile of the average instructions executed per syscall:");
    for (i, name) in ["ClawLess", "libseccomp (opt 2)", "seccompiler"]
        .iter()
        .enumerate()
    {
        let mean = totals[i].0 / totals[i].1 as f64;
        let ratio = mean / (totals[0].0 / totals[0].1 as f64);
        println!(
            "- {name}: {mean:.2} ({ratio:.2}× ClawLess) over {} policies",
            totals[i].1
        );
    }
    println!();
    println!(
        "Syscall mix: {} syscalls, {} calls (bench/data/syscall-mix.tsv).",
        mix.len(),
        mix.iter().map(|m| m.1).sum::<u64>()
    );
}
