//! Classic BPF for seccomp: the instruction type, the code generator that turns an
//! [`Ir`](claw_ir::Ir) into a filter, an emulator that runs a filter on a
//! `seccomp_data` (for `clawc explain`, differential tests and benchmarks), a
//! validator with the kernel's rules, and a disassembler. It knows nothing of the
//! monitor or the artifact format.

#![forbid(unsafe_code)]

mod codegen;
mod disasm;
mod emu;
mod insn;
mod layout;
pub mod logging;

pub use codegen::{cacheable, compile, compile_isolated, CodegenError};
pub use disasm::disasm;
pub use emu::{run, trace, validate, EmuError, SeccompData};
pub use insn::*;
