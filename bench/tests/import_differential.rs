//! `clawc import` against libseccomp: each test profile (`compiler/clawc/tests/
//! fixtures/oci/*.json`) is loaded into libseccomp the way runc loads it, and
//! imported into Claw and compiled; both filters run in the emulator on every
//! syscall number of the table and, for each argument a rule names, on every value
//! the rule names (and its neighbours), and must return the same action.
//!
//! Known, documented differences are not compared: foreign architectures and x32
//! numbers (Claw kills them), `clone3` (Claw answers ENOSYS unless it kills), and a
//! 32-bit argument whose register has its upper half set (Claw compares the bits
//! the kernel reads, libseccomp the whole register).

use claw_bpf::*;
use claw_lang::check::{check_file, Options};
use claw_lang::import::{import_oci, ImportOptions};
use claw_lang::SourceMap;
use claw_stdlib::{Arch, SyscallTable};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn scmp_action(name: &str, errno_ret: Option<u64>) -> libseccomp::ScmpAction {
    use libseccomp::ScmpAction::*;
    match name {
        "SCMP_ACT_ALLOW" => Allow,
        "SCMP_ACT_LOG" => Log,
        "SCMP_ACT_ERRNO" => Errno(errno_ret.unwrap_or(1) as i32),
        // Claw kills the process for both; compare like with like.
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_KILL_THREAD" => KillProcess,
        other => panic!("test profiles use no {other}"),
    }
}

/// The profile in libseccomp, as runc builds it (no capabilities, amd64).
fn libseccomp_program(profile: &Value) -> Vec<Insn> {
    use libseccomp::*;
    let default = scmp_action(
        profile["defaultAction"].as_str().unwrap(),
        profile["defaultErrnoRet"].as_u64(),
    );
    let mut ctx = ScmpFilterContext::new(default).unwrap();
    ctx.set_ctl_optimize(2).unwrap();
    for r in profile["syscalls"].as_array().unwrap() {
        let inc = &r["includes"];
        if inc["caps"].as_array().is_some_and(|c| !c.is_empty()) {
            continue;
        }
        if let Some(a) = inc["arches"].as_array() {
            if !a.is_empty() && !a.iter().any(|x| x == "amd64") {
                continue;
            }
        }
        if r["excludes"]["arches"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "amd64"))
        {
            continue;
        }
        let act = scmp_action(r["action"].as_str().unwrap(), r["errnoRet"].as_u64());
        let mut names: Vec<&str> = r["names"]
            .as_array()
            .map(|a| a.iter().map(|n| n.as_str().unwrap()).collect())
            .unwrap_or_default();
        if let Some(n) = r["name"].as_str() {
            names.push(n);
        }
        let args: Vec<ScmpArgCompare> = r["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        let (value, two) =
                            (c["value"].as_u64().unwrap(), c["valueTwo"].as_u64().unwrap_or(0));
                        let op = match c["op"].as_str().unwrap() {
                            "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
                            "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
                            "SCMP_CMP_LT" => ScmpCompareOp::Less,
                            "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
                            "SCMP_CMP_GT" => ScmpCompareOp::Greater,
                            "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
                            "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(value),
                            other => panic!("{other}"),
                        };
                        let datum = if c["op"] == "SCMP_CMP_MASKED_EQ" {
                            two
                        } else {
                            value
                        };
                        ScmpArgCompare::new(c["index"].as_u64().unwrap() as u32, op, datum)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let same_index = args.len() > 1 && {
            let ix: BTreeSet<u64> = r["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["index"].as_u64().unwrap())
                .collect();
            ix.len() == 1
        };
        for n in names {
            let Ok(sys) = ScmpSyscall::from_name(n) else {
                continue;
            };
            if same_index {
                for a in &args {
                    let _ = ctx.add_rule_conditional(act, sys, std::slice::from_ref(a));
                }
            } else {
                let _ = ctx.add_rule_conditional(act, sys, &args);
            }
        }
    }
    let path = std::env::temp_dir().join(format!("claw-import-diff-{}.bpf", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    ctx.export_bpf(&file).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().unwrap()))
        .collect()
}

fn claw_program(json: &str, name: &str) -> Vec<Insn> {
    let imported = import_oci(
        json,
        &ImportOptions {
            arch: Arch::X86_64,
            caps: vec![],
            name: name.replace('-', "_"),
            source: format!("{name}.json"),
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut sources = SourceMap::new();
    let file = sources.add(format!("{name}.claw"), imported.source.clone());
    let checked = check_file(
        &mut sources,
        file,
        &Options {
            arch: Arch::X86_64,
            require_policy: true,
        },
    );
    assert_eq!(
        checked.policies.len(),
        1,
        "{name}: the import checks\n{}",
        imported.source
    );
    let ir = claw_lower::lower(&checked.policies[0], &sources);
    claw_bpf::compile(&ir).unwrap()
}

/// For each argument index any rule names: the values named, and their neighbours.
fn probe_args(profile: &Value) -> Vec<[u64; 6]> {
    let mut out = vec![[0u64; 6]];
    for r in profile["syscalls"].as_array().unwrap() {
        for c in r["args"].as_array().into_iter().flatten() {
            let i = c["index"].as_u64().unwrap() as usize;
            for v in [c["value"].as_u64().unwrap(), c["valueTwo"].as_u64().unwrap_or(0)] {
                // Neighbours stay within 32 bits when the value does: with the upper
                // half of a 32-bit argument set, Claw compares what the kernel reads
                // and libseccomp the whole register (a documented difference).
                let keep = if v >> 32 == 0 { 0xffff_ffff } else { u64::MAX };
                for w in [
                    v,
                    v.wrapping_add(1),
                    v.wrapping_sub(1),
                    v | 0x1_0000,
                    v & 0xffff_0000,
                ] {
                    let w = w & keep;
                    let mut a = [0u64; 6];
                    a[i] = w;
                    out.push(a);
                }
            }
        }
    }
    out
}

#[test]
fn imported_profiles_agree_with_libseccomp() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/clawc/tests/fixtures/oci");
    let table = SyscallTable::get(Arch::X86_64);
    let clone3 = table.by_name("clone3").unwrap().nr;
    let mut compared = 0usize;
    for name in ["docker-like", "actions"] {
        let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let profile: Value = serde_json::from_str(&json).unwrap();
        let ours = claw_program(&json, name);
        let theirs = libseccomp_program(&profile);
        for nr in 0..table.nr_limit() {
            if nr == clone3 {
                continue;
            }
            for mut args in probe_args(&profile) {
                // A value another syscall's rule named, on an argument this one
                // reads as fewer bits: what the kernel reads of it.
                if let Some(sc) = table.by_nr(nr) {
                    for (i, a) in sc.args.iter().enumerate() {
                        if a.kind.bits() < 64 {
                            args[i] &= (1u64 << a.kind.bits()) - 1;
                        }
                    }
                }
                let d = SeccompData {
                    nr,
                    arch: Arch::X86_64.audit_arch(),
                    instruction_pointer: 0,
                    args,
                };
                let (a, _) = run(&ours, &d).unwrap();
                let (b, _) = run(&theirs, &d).unwrap();
                let sc = table.by_nr(nr).map_or("?", |s| s.name);
                assert_eq!(
                    ret_name(a),
                    ret_name(b),
                    "{name}: {sc} (nr {nr}) args {args:x?}: Claw {}, libseccomp {}",
                    ret_name(a),
                    ret_name(b)
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 10_000, "{compared} requests compared");
}
