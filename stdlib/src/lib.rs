//! The Claw standard library.
//!
//! Three kinds of knowledge every stage needs but none should re-derive: the policy
//! modules users import with `use std::...` (written in Claw, embedded here so the
//! binaries need no files at run time), and the platform tables — syscalls with their
//! argument widths, errno names and named constants — generated from the Linux source
//! by `stdlib/tools/gen_syscalls.py`, never typed by hand; and the vocabulary of
//! policies ([`vocab`]: actions, verbs, endpoints' parts, path variables), defined
//! once here so the front end and the IR share it.

#![forbid(unsafe_code)]

pub mod constants;
pub mod domain;
pub mod errno;
pub mod modules;
pub mod syscalls;
pub mod vocab;

pub use syscalls::{Arch, ArgKind, Syscall, SyscallArg, SyscallTable};
