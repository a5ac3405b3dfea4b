//! Filter tables (`tests/tables/*.table`, format in `tests/tables/README.md`): each
//! policy is compiled from source, and its filter, run in the emulator on every
//! combination of each row's values, must return the row's expected action — and
//! what the IR says a filter must return (`Ir::filter_outcome`).

use claw_bpf::*;
use claw_ir::{FilterOutcome, Ir};
use claw_lang::check::{check_file, Options};
use claw_lang::SourceMap;
use claw_stdlib::{Arch, SyscallTable};
use std::path::Path;

/// Values standing for "any" (`N`).
const ANY: [u64; 5] = [0, 1, 0xffff_ffff, 0xffff_ffff_0000_0000, u64::MAX];

fn compile(name: &str, src: &str, arch: Arch) -> (Ir, Vec<Insn>) {
    let mut sources = SourceMap::new();
    let file = sources.add(name.to_string(), src.to_string());
    let checked = check_file(
        &mut sources,
        file,
        &Options {
            arch,
            require_policy: true,
        },
    );
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code.starts_with('E'))
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{name} does not check on {arch}: {errors:?}");
    let ir = claw_lower::lower(&checked.policies[0], &sources);
    let prog = claw_bpf::compile(&ir).unwrap_or_else(|e| panic!("{name}: {e}"));
    validate(&prog).unwrap_or_else(|e| panic!("{name}: invalid program: {e}"));
    (ir, prog)
}

fn number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok();
    }
    if let Some(n) = s.strip_prefix('-') {
        return n.parse::<u64>().ok().map(u64::wrapping_neg);
    }
    s.parse().ok()
}

fn values(s: &str) -> Vec<u64> {
    if let Some((lo, hi)) = s.split_once("..") {
        let (lo, hi) = (number(lo).expect("range start"), number(hi).expect("range end"));
        assert!(hi >= lo && hi - lo < 4096, "range {s}: at most 4096 values");
        return (lo..=hi).collect();
    }
    vec![number(s).unwrap_or_else(|| panic!("bad value `{s}`"))]
}

fn expected(s: &str) -> u32 {
    match s {
        "ALLOW" => RET_ALLOW,
        "LOG" => RET_LOG,
        "KILL_PROCESS" | "KILL" => RET_KILL_PROCESS,
        "NOTIFY" => RET_USER_NOTIF,
        _ => {
            let e = s
                .strip_prefix("ERRNO(")
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or_else(|| panic!("bad action `{s}`"));
            let v = number(e)
                .map(|n| n as u16)
                .or_else(|| claw_stdlib::errno::by_name(e).map(|x| x.value))
                .unwrap_or_else(|| panic!("bad errno `{e}`"));
            RET_ERRNO | u32::from(v)
        }
    }
}

/// The (filter arch, audit arch) of a row.
fn arch_of(s: &str) -> (Arch, u32) {
    match s {
        "x86_64" => (Arch::X86_64, Arch::X86_64.audit_arch()),
        "aarch64" => (Arch::Aarch64, Arch::Aarch64.audit_arch()),
        "i386" => (Arch::X86_64, 0x4000_0003),
        "arm" => (Arch::X86_64, 0x4000_0028),
        // x32 processes report AUDIT_ARCH_X86_64 with the x32 bit in the number;
        // a filter for aarch64 sees it as foreign.
        "x32" => (Arch::Aarch64, Arch::X86_64.audit_arch()),
        _ => panic!("unknown arch `{s}`"),
    }
}

fn syscall_nr(s: &str, arch: Arch) -> u32 {
    let table = SyscallTable::get(arch);
    let (x32, s) = match s.strip_prefix("x32:") {
        Some(r) => (true, r),
        None => (false, s),
    };
    let nr = number(s).map(|n| n as u32).unwrap_or_else(|| {
        table
            .by_name(s)
            .map(|sc| sc.nr)
            .unwrap_or_else(|| panic!("`{s}` is not a syscall on {arch}"))
    });
    if x32 {
        nr | claw_stdlib::syscalls::X32_SYSCALL_BIT
    } else {
        nr
    }
}

fn run_table(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let (policy, rows) = text.split_once("\n%%\n").expect("a `%%` line");
    let mut compiled: Vec<(Arch, Ir, Vec<Insn>)> = Vec::new();
    let mut checked = 0;
    for (line_no, line) in rows.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 9, "{name}: row {line_no}: 9 columns");
        let (arch, audit) = arch_of(cols[0]);
        if !compiled.iter().any(|(a, ..)| *a == arch) {
            let (ir, prog) = compile(&name, policy, arch);
            compiled.push((arch, ir, prog));
        }
        let (_, ir, prog) = compiled.iter().find(|(a, ..)| *a == arch).unwrap();
        let nr = syscall_nr(cols[1], arch);
        let want = expected(cols[8]);
        // `N` columns take each "any" value together; the other columns every
        // combination of their values.
        let arg_values: Vec<Vec<u64>> = cols[2..8]
            .iter()
            .map(|c| if *c == "N" { vec![0] } else { values(c) })
            .collect();
        let any_cols: Vec<bool> = cols[2..8].iter().map(|c| *c == "N").collect();
        let mut idx = [0usize; 6];
        loop {
            for any in ANY {
                let args: [u64; 6] =
                    std::array::from_fn(|i| if any_cols[i] { any } else { arg_values[i][idx[i]] });
                let d = SeccompData {
                    nr,
                    arch: audit,
                    instruction_pointer: 0,
                    args,
                };
                let (got, _) = run(prog, &d).expect("runs");
                assert_eq!(
                    ret_name(got),
                    ret_name(want),
                    "{name}: `{line}` with args {args:x?}: the filter returns {}",
                    ret_name(got)
                );
                let model = match ir.filter_outcome(audit, nr, &args) {
                    FilterOutcome::KillProcess => RET_KILL_PROCESS,
                    FilterOutcome::Notify => RET_USER_NOTIF,
                    FilterOutcome::Act(a) => ret_value(a),
                };
                assert_eq!(
                    ret_name(model),
                    ret_name(want),
                    "{name}: `{line}`: the IR disagrees"
                );
                checked += 1;
            }
            let mut k = 0;
            while k < 6 {
                idx[k] += 1;
                if idx[k] < arg_values[k].len() {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
            if k == 6 {
                break;
            }
        }
    }
    checked
}

#[test]
fn filter_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tables");
    let mut tables = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "table") {
            let n = run_table(&path);
            assert!(n > 0, "{}: no rows", path.display());
            tables += 1;
        }
    }
    assert!(tables >= 3, "the tables were found ({tables})");
}

/// The long-jump table really has jumps that need the long forms: a leaf longer
/// than a conditional jump reaches, and a tree with `ja` bridges.
#[test]
fn long_jump_table_exercises_long_jumps() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tables/long_jumps.table");
    let text = std::fs::read_to_string(path).unwrap();
    let (policy, _) = text.split_once("\n%%\n").unwrap();
    let (_, prog) = compile("long_jumps", policy, Arch::X86_64);
    assert!(prog.len() > 600, "{} instructions", prog.len());
    assert!(
        prog.iter().any(|i| i.code == BPF_JMP | BPF_JA && i.k > 255),
        "a `ja` longer than a conditional jump"
    );
}
