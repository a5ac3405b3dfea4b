//! A classic-BPF interpreter with seccomp's rules: what the kernel would return for
//! a `seccomp_data`, and how many instructions it executed on the way.

use crate::insn::*;

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeccompData {
    /// The syscall number.
    pub nr: u32,
    /// The `AUDIT_ARCH_*` value of the calling convention.
    pub arch: u32,
    /// Where the call was made from.
    pub instruction_pointer: u64,
    /// The six argument registers.
    pub args: [u64; 6],
}

impl SeccompData {
    /// The 32-bit word at byte offset `off` (little-endian, as on x86_64/aarch64).
    fn word(&self, off: u32) -> Option<u32> {
        Some(match off {
            0 => self.nr,
            4 => self.arch,
            8 => self.instruction_pointer as u32,
            12 => (self.instruction_pointer >> 32) as u32,
            16..=60 if off % 4 == 0 => {
                let a = self.args[((off - 16) / 8) as usize];
                if off % 8 == 0 {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => return None,
        })
    }
}

/// Why a program is not one the kernel would run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmuError {
    /// No instruction at all.
    #[error("empty program")]
    Empty,
    /// More than [`MAX_INSNS`] instructions.
    #[error("program has {0} instructions; the kernel accepts at most 4096")]
    TooLong(usize),
    /// An opcode seccomp does not accept.
    #[error("instruction {at}: opcode {code:#06x} is not allowed in seccomp filters")]
    BadOpcode {
        /// The instruction's index.
        at: usize,
        /// Its opcode.
        code: u16,
    },
    /// A load outside `seccomp_data`, or not word-aligned.
    #[error("instruction {at}: load from offset {off} outside seccomp_data or unaligned")]
    BadLoad {
        /// The instruction's index.
        at: usize,
        /// The offset it loads from.
        off: u32,
    },
    /// A jump past the end.
    #[error("instruction {at}: jump past the end of the program")]
    BadJump {
        /// The instruction's index.
        at: usize,
    },
    /// A scratch-memory index past [`MEMWORDS`].
    #[error("instruction {at}: scratch memory index {k} out of range")]
    BadMem {
        /// The instruction's index.
        at: usize,
        /// The index it uses.
        k: u32,
    },
    /// A division or modulo by the constant 0.
    #[error("instruction {at}: division by constant zero")]
    DivByZero {
        /// The instruction's index.
        at: usize,
    },
    #[error("the last instruction is not a return")]
    /// The last instruction can fall off the end.
    NoReturn,
}

/// Checks a program the way the kernel's `seccomp_check_filter` and
/// `bpf_check_classic` do, so a corrupt artifact is refused before it is installed.
pub fn validate(prog: &[Insn]) -> Result<(), EmuError> {
    if prog.is_empty() {
        return Err(EmuError::Empty);
    }
    if prog.len() > MAX_INSNS {
        return Err(EmuError::TooLong(prog.len()));
    }
    for (at, i) in prog.iter().enumerate() {
        let class = i.code & 0x07;
        let ok = match class {
            BPF_LD => match i.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    if i.k % 4 != 0 || i.k >= SECCOMP_DATA_LEN {
                        return Err(EmuError::BadLoad { at, off: i.k });
                    }
                    true
                }
                c if c == BPF_LD | BPF_W | BPF_LEN || c == BPF_LD | BPF_IMM => true,
                c if c == BPF_LD | BPF_MEM => mem(at, i.k)?,
                _ => false,
            },
            BPF_LDX => match i.code {
                c if c == BPF_LDX | BPF_W | BPF_LEN || c == BPF_LDX | BPF_IMM => true,
                c if c == BPF_LDX | BPF_MEM => mem(at, i.k)?,
                _ => false,
            },
            BPF_ST | BPF_STX => i.code & !0x07 == 0 && mem(at, i.k)?,
            BPF_ALU => {
                let op = i.code & 0xf0;
                if (op == BPF_DIV || op == BPF_MOD) && i.code & BPF_X == 0 && i.k == 0 {
                    return Err(EmuError::DivByZero { at });
                }
                i.code & !0xf8 == BPF_ALU && op <= BPF_XOR
            }
            BPF_JMP => {
                let op = i.code & 0xf0;
                let far = if op == BPF_JA {
                    at as u64 + 1 + u64::from(i.k)
                } else {
                    at as u64 + 1 + u64::from(i.jt.max(i.jf))
                };
                if far >= prog.len() as u64 {
                    return Err(EmuError::BadJump { at });
                }
                op <= BPF_JSET && (op != BPF_JA || i.code & BPF_X == 0)
            }
            BPF_RET => i.code == BPF_RET | BPF_K || i.code == BPF_RET | BPF_A,
            _ => i.code == BPF_MISC | BPF_TAX || i.code == BPF_MISC | BPF_TXA,
        };
        if !ok {
            return Err(EmuError::BadOpcode { at, code: i.code });
        }
    }
    if prog[prog.len() - 1].code & 0x07 != BPF_RET {
        return Err(EmuError::NoReturn);
    }
    Ok(())
}

fn mem(at: usize, k: u32) -> Result<bool, EmuError> {
    if k as usize >= MEMWORDS {
        return Err(EmuError::BadMem { at, k });
    }
    Ok(true)
}

/// Runs a validated program. Returns the seccomp return value and the number of
/// instructions executed.
pub fn run(prog: &[Insn], data: &SeccompData) -> Result<(u32, usize), EmuError> {
    run_with(prog, data, |_| {})
}

/// Like [`run`], also returning the index of every instruction executed.
pub fn trace(prog: &[Insn], data: &SeccompData) -> Result<(u32, Vec<usize>), EmuError> {
    let mut pcs = Vec::new();
    let (ret, _) = run_with(prog, data, |pc| pcs.push(pc))?;
    Ok((ret, pcs))
}

fn run_with(
    prog: &[Insn],
    data: &SeccompData,
    mut visit: impl FnMut(usize),
) -> Result<(u32, usize), EmuError> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut m = [0u32; MEMWORDS];
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        let Some(i) = prog.get(pc) else {
            return Err(EmuError::NoReturn);
        };
        visit(pc);
        steps += 1;
        pc += 1;
        match i.code & 0x07 {
            BPF_LD => match i.code & 0xe0 {
                BPF_ABS => a = data.word(i.k).ok_or(EmuError::BadLoad { at: pc - 1, off: i.k })?,
                BPF_LEN => a = SECCOMP_DATA_LEN,
                BPF_MEM => {
                    a = *m
                        .get(i.k as usize)
                        .ok_or(EmuError::BadMem { at: pc - 1, k: i.k })?
                }
                _ => a = i.k,
            },
            BPF_LDX => match i.code & 0xe0 {
                BPF_LEN => x = SECCOMP_DATA_LEN,
                BPF_MEM => {
                    x = *m
                        .get(i.k as usize)
                        .ok_or(EmuError::BadMem { at: pc - 1, k: i.k })?
                }
                _ => x = i.k,
            },
            BPF_ST => {
                *m.get_mut(i.k as usize)
                    .ok_or(EmuError::BadMem { at: pc - 1, k: i.k })? = a
            }
            BPF_STX => {
                *m.get_mut(i.k as usize)
                    .ok_or(EmuError::BadMem { at: pc - 1, k: i.k })? = x
            }
            BPF_ALU => {
                let src = if i.code & BPF_X != 0 { x } else { i.k };
                a = match i.code & 0xf0 {
                    BPF_ADD => a.wrapping_add(src),
                    BPF_SUB => a.wrapping_sub(src),
                    BPF_MUL => a.wrapping_mul(src),
                    // Division by a zero register ends the filter with 0 (KILL_THREAD).
                    BPF_DIV if src == 0 => return Ok((0, steps)),
                    BPF_DIV => a / src,
                    BPF_MOD if src == 0 => return Ok((0, steps)),
                    BPF_MOD => a % src,
                    BPF_OR => a | src,
                    BPF_AND => a & src,
                    BPF_LSH => a.checked_shl(src).unwrap_or(0),
                    BPF_RSH => a.checked_shr(src).unwrap_or(0),
                    BPF_NEG => a.wrapping_neg(),
                    BPF_XOR => a ^ src,
                    _ => {
                        return Err(EmuError::BadOpcode {
                            at: pc - 1,
                            code: i.code,
                        })
                    }
                };
            }
            BPF_JMP => {
                let src = if i.code & BPF_X != 0 { x } else { i.k };
                let taken = match i.code & 0xf0 {
                    BPF_JA => {
                        pc += i.k as usize;
                        continue;
                    }
                    BPF_JEQ => a == src,
                    BPF_JGT => a > src,
                    BPF_JGE => a >= src,
                    BPF_JSET => a & src != 0,
                    _ => {
                        return Err(EmuError::BadOpcode {
                            at: pc - 1,
                            code: i.code,
                        })
                    }
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            BPF_RET => return Ok((if i.code & BPF_A != 0 { a } else { i.k }, steps)),
            _ => {
                if i.code == BPF_MISC | BPF_TAX {
                    x = a;
                } else {
                    a = x;
                }
            }
        }
    }
}
