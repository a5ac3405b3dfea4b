//! A readable listing of a filter, in the spirit of seccomp-tools: one line per
//! instruction with its raw fields, then what it does, with syscall names, argument
//! names, `AUDIT_ARCH` names, return actions and jump targets as line numbers.

use crate::insn::*;
use claw_stdlib::{Arch, SyscallTable};
use std::fmt::Write;

/// What the accumulator holds on entry to an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acc {
    Unknown,
    Nr,
    Arch,
    Word(u32),
    Mixed,
}

fn merge(a: Acc, b: Acc) -> Acc {
    match (a, b) {
        (Acc::Unknown, x) | (x, Acc::Unknown) => x,
        (x, y) if x == y => x,
        _ => Acc::Mixed,
    }
}

/// Disassembles `prog`, naming syscalls from `arch`'s table.
pub fn disasm(prog: &[Insn], arch: Arch) -> String {
    let table = SyscallTable::get(arch);
    // Forward dataflow: all jumps go forward, so one pass in order suffices.
    let mut acc = vec![Acc::Unknown; prog.len() + 1];
    for (pc, i) in prog.iter().enumerate() {
        let out = match i.code & 0x07 {
            BPF_LD if i.code & 0xe0 == BPF_ABS => match i.k {
                OFF_NR => Acc::Nr,
                OFF_ARCH => Acc::Arch,
                k => Acc::Word(k),
            },
            BPF_LD | BPF_ALU | BPF_MISC => Acc::Mixed,
            _ => acc[pc],
        };
        let succ: Vec<usize> = match i.code & 0x07 {
            BPF_RET => vec![],
            BPF_JMP if i.code & 0xf0 == BPF_JA => vec![pc + 1 + i.k as usize],
            BPF_JMP => vec![pc + 1 + i.jt as usize, pc + 1 + i.jf as usize],
            _ => vec![pc + 1],
        };
        for s in succ {
            if s < acc.len() {
                acc[s] = merge(acc[s], out);
            }
        }
    }
    let name_k = |a: Acc, k: u32| -> String {
        match a {
            Acc::Nr => match table.by_nr(k) {
                Some(s) => s.name.to_string(),
                None if k == claw_ir::route::X32_BIT => "X32_SYSCALL_BIT".to_string(),
                None => format!("{k:#x}"),
            },
            Acc::Arch => arch_name(k),
            _ => format!("{k:#x}"),
        }
    };
    let what = |a: Acc| -> String {
        match a {
            Acc::Word(off) if (OFF_ARGS..SECCOMP_DATA_LEN).contains(&off) => {
                let n = (off - OFF_ARGS) / 8;
                let half = if (off - OFF_ARGS) % 8 == 0 { "" } else { " >> 32" };
                format!("args[{n}]{half}")
            }
            Acc::Nr => "sys_number".into(),
            Acc::Arch => "arch".into(),
            _ => "A".into(),
        }
    };
    let mut s = String::from(" line  CODE  JT   JF      K\n=================================\n");
    for (pc, i) in prog.iter().enumerate() {
        let _ = write!(
            s,
            " {pc:04}: {:#06x} {:#04x} {:#04x} {:#010x}  ",
            i.code, i.jt, i.jf, i.k
        );
        let a = acc[pc];
        let text = match i.code & 0x07 {
            BPF_LD => match i.code & 0xe0 {
                BPF_ABS => format!("A = {}", load_name(i.k)),
                BPF_LEN => "A = sizeof(seccomp_data)".into(),
                BPF_MEM => format!("A = mem[{}]", i.k),
                _ => format!("A = {:#x}", i.k),
            },
            BPF_LDX => format!("X = {:#x}", i.k),
            BPF_ST => format!("mem[{}] = A", i.k),
            BPF_STX => format!("mem[{}] = X", i.k),
            BPF_ALU => {
                let op = match i.code & 0xf0 {
                    BPF_ADD => "+=",
                    BPF_SUB => "-=",
                    BPF_MUL => "*=",
                    BPF_DIV => "/=",
                    BPF_OR => "|=",
                    BPF_AND => "&=",
                    BPF_LSH => "<<=",
                    BPF_RSH => ">>=",
                    BPF_MOD => "%=",
                    BPF_XOR => "^=",
                    _ => "= -",
                };
                if i.code & BPF_X != 0 {
                    format!("A {op} X")
                } else {
                    format!("A {op} {:#x}", i.k)
                }
            }
            BPF_JMP => {
                let rhs = if i.code & BPF_X != 0 {
                    "X".to_string()
                } else {
                    name_k(a, i.k)
                };
                let t = pc + 1 + i.jt as usize;
                let f = pc + 1 + i.jf as usize;
                let (op, neg) = match i.code & 0xf0 {
                    BPF_JA => ("", ""),
                    BPF_JEQ => ("==", "!="),
                    BPF_JGT => (">", "<="),
                    BPF_JGE => (">=", "<"),
                    _ => ("&", "!&"),
                };
                let lhs = what(a);
                match i.code & 0xf0 {
                    BPF_JA => format!("goto {:04}", pc + 1 + i.k as usize),
                    _ if i.jt == 0 => format!("if ({lhs} {neg} {rhs}) goto {f:04}"),
                    _ if i.jf == 0 => format!("if ({lhs} {op} {rhs}) goto {t:04}"),
                    _ => format!("if ({lhs} {op} {rhs}) goto {t:04} else goto {f:04}"),
                }
            }
            BPF_RET if i.code & BPF_A != 0 => "return A".into(),
            BPF_RET => format!("return {}", ret_name(i.k)),
            _ => {
                if i.code == BPF_MISC | BPF_TAX {
                    "X = A".into()
                } else {
                    "A = X".into()
                }
            }
        };
        s.push_str(&text);
        s.push('\n');
    }
    s
}

fn load_name(off: u32) -> String {
    match off {
        OFF_NR => "sys_number".into(),
        OFF_ARCH => "arch".into(),
        8 => "instruction_pointer".into(),
        12 => "instruction_pointer >> 32".into(),
        o if (OFF_ARGS..SECCOMP_DATA_LEN).contains(&o) => {
            let n = (o - OFF_ARGS) / 8;
            if (o - OFF_ARGS) % 8 == 0 {
                format!("args[{n}]")
            } else {
                format!("args[{n}] >> 32")
            }
        }
        o => format!("data[{o}]"),
    }
}

fn arch_name(k: u32) -> String {
    match k {
        0xC000_003E => "ARCH_X86_64".into(),
        0xC000_00B7 => "ARCH_AARCH64".into(),
        0x4000_0003 => "ARCH_I386".into(),
        k => format!("{k:#x}"),
    }
}
