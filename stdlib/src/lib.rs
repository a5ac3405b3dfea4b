//! The Claw standard library.
//!
//! Two kinds of knowledge every stage needs but none should re-derive: the policy
//! modules users import with `use std::...` (written in Claw, embedded here so the
//! binaries need no files at run time), and the platform tables — syscalls with their
//! argument widths, errno names and named constants — generated from the Linux source
//! by `stdlib/tools/gen_syscalls.py`, never typed by hand.

#![forbid(unsafe_code)]

pub mod constants;
pub mod domain;
pub mod errno;
pub mod modules;
pub mod syscalls;

pub use syscalls::{Arch, ArgKind, Syscall, SyscallArg, SyscallTable};
