//! The classic BPF instruction and the constants seccomp filters use.

/// One `struct sock_filter` (same layout, so a slice can be handed to the kernel).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Insn {
    /// Class, size, mode and operation bits.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

impl Insn {
    /// An instruction from its four fields.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }
    /// `A = *(u32 *)(data + off)`
    pub const fn ld_abs(off: u32) -> Insn {
        Insn::new(BPF_LD | BPF_W | BPF_ABS, 0, 0, off)
    }
    /// A conditional jump comparing A with `k`.
    pub const fn jump(op: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn::new(BPF_JMP | op | BPF_K, jt, jf, k)
    }
    /// An unconditional jump by `off`.
    pub const fn ja(off: u32) -> Insn {
        Insn::new(BPF_JMP | BPF_JA, 0, 0, off)
    }
    /// `A &= k`
    pub const fn and(k: u32) -> Insn {
        Insn::new(BPF_ALU | BPF_AND | BPF_K, 0, 0, k)
    }
    /// Return the constant `k`.
    pub const fn ret(k: u32) -> Insn {
        Insn::new(BPF_RET | BPF_K, 0, 0, k)
    }

    /// Serialises as the kernel lays out `struct sock_filter` (little-endian).
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0..2].copy_from_slice(&self.code.to_le_bytes());
        b[2] = self.jt;
        b[3] = self.jf;
        b[4..8].copy_from_slice(&self.k.to_le_bytes());
        b
    }

    /// Parses the kernel's layout (the inverse of [`Insn::to_bytes`]).
    pub fn from_bytes(b: [u8; 8]) -> Insn {
        Insn {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// A filter program.
pub type Program = Vec<Insn>;

// Instruction classes.
/// Class: load into A.
pub const BPF_LD: u16 = 0x00;
/// Class: load into X.
pub const BPF_LDX: u16 = 0x01;
/// Class: store A into scratch memory.
pub const BPF_ST: u16 = 0x02;
/// Class: store X into scratch memory.
pub const BPF_STX: u16 = 0x03;
/// Class: arithmetic on A.
pub const BPF_ALU: u16 = 0x04;
/// Class: jump.
pub const BPF_JMP: u16 = 0x05;
/// Class: return (the filter's verdict).
pub const BPF_RET: u16 = 0x06;
/// Class: register transfer (TAX, TXA).
pub const BPF_MISC: u16 = 0x07;
// Sizes and modes.
/// Size: a 32-bit word (the only one seccomp allows).
pub const BPF_W: u16 = 0x00;
/// Mode: the constant `k`.
pub const BPF_IMM: u16 = 0x00;
/// Mode: `seccomp_data` at offset `k`.
pub const BPF_ABS: u16 = 0x20;
/// Mode: scratch memory word `k`.
pub const BPF_MEM: u16 = 0x60;
/// Mode: the length of `seccomp_data`.
pub const BPF_LEN: u16 = 0x80;
// ALU operations.
/// `A += src`
pub const BPF_ADD: u16 = 0x00;
/// `A -= src`
pub const BPF_SUB: u16 = 0x10;
/// `A *= src`
pub const BPF_MUL: u16 = 0x20;
/// `A /= src`
pub const BPF_DIV: u16 = 0x30;
/// `A |= src`
pub const BPF_OR: u16 = 0x40;
/// `A &= src`
pub const BPF_AND: u16 = 0x50;
/// `A <<= src`
pub const BPF_LSH: u16 = 0x60;
/// `A >>= src`
pub const BPF_RSH: u16 = 0x70;
/// `A = -A`
pub const BPF_NEG: u16 = 0x80;
/// `A %= src`
pub const BPF_MOD: u16 = 0x90;
/// `A ^= src`
pub const BPF_XOR: u16 = 0xa0;
// Jumps.
/// Jump always, by `k`.
pub const BPF_JA: u16 = 0x00;
/// Jump if `A == src`.
pub const BPF_JEQ: u16 = 0x10;
/// Jump if `A > src`.
pub const BPF_JGT: u16 = 0x20;
/// Jump if `A >= src`.
pub const BPF_JGE: u16 = 0x30;
/// Jump if `A & src != 0`.
pub const BPF_JSET: u16 = 0x40;
// Operand sources.
/// Source: the constant `k`.
pub const BPF_K: u16 = 0x00;
/// Source: register X.
pub const BPF_X: u16 = 0x08;
/// Return source: register A.
pub const BPF_A: u16 = 0x10;
// MISC.
/// `X = A`
pub const BPF_TAX: u16 = 0x00;
/// `A = X`
pub const BPF_TXA: u16 = 0x80;

/// `BPF_MAXINSNS`: the kernel refuses longer filters.
pub const MAX_INSNS: usize = 4096;
/// Scratch memory words (`BPF_MEMWORDS`).
pub const MEMWORDS: usize = 16;

// seccomp return values.
/// Kill the whole process.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Kill the calling thread.
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
/// Send SIGSYS.
pub const RET_TRAP: u32 = 0x0003_0000;
/// Fail the call with the errno in the data bits.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// Ask the notification listener (the monitor).
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Hand the call to a ptrace tracer.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// Allow and log.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// Allow.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// Mask of the action bits of a return value.
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
/// Mask of the data bits (the errno) of a return value.
pub const RET_DATA: u32 = 0x0000_ffff;

// Offsets in `struct seccomp_data`.
/// `nr`: the syscall number.
pub const OFF_NR: u32 = 0;
/// `arch`: the `AUDIT_ARCH_*` value.
pub const OFF_ARCH: u32 = 4;
/// `instruction_pointer`.
pub const OFF_IP: u32 = 8;
/// `args[0]` (each argument is 8 bytes).
pub const OFF_ARGS: u32 = 16;
/// `sizeof(struct seccomp_data)`.
pub const SECCOMP_DATA_LEN: u32 = 64;

/// The seccomp return value for an IR action.
pub fn ret_value(a: claw_ir::Action) -> u32 {
    match a {
        claw_ir::Action::Allow => RET_ALLOW,
        claw_ir::Action::Log => RET_LOG,
        claw_ir::Action::Deny(e) => RET_ERRNO | u32::from(e),
        claw_ir::Action::Kill => RET_KILL_PROCESS,
    }
}

/// A seccomp return value in words (`ERRNO(13)`, `ALLOW`, `USER_NOTIF`...).
pub fn ret_name(v: u32) -> String {
    match v & RET_ACTION_FULL {
        RET_KILL_PROCESS => "KILL_PROCESS".into(),
        RET_KILL_THREAD => "KILL_THREAD".into(),
        RET_TRAP => format!("TRAP({})", v & RET_DATA),
        RET_ERRNO => {
            let e = (v & RET_DATA) as u16;
            match claw_stdlib::errno::by_value(e) {
                Some(n) => format!("ERRNO({})", n.name),
                None => format!("ERRNO({e})"),
            }
        }
        RET_USER_NOTIF => "USER_NOTIF".into(),
        RET_TRACE => format!("TRACE({})", v & RET_DATA),
        RET_LOG => "LOG".into(),
        RET_ALLOW => "ALLOW".into(),
        _ => format!("{v:#010x}"),
    }
}
