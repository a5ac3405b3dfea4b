//! Syscall tables per architecture, parsed once from the generated TSV files.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// A target architecture the compiler can emit a filter for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Arch {
    /// x86_64 (64-bit ABI; the filter kills x32 and i386 calls).
    X86_64,
    /// aarch64.
    Aarch64,
}

impl Arch {
    /// Every supported architecture, in a stable order.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The architecture this binary was built for, if supported.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        match self {
            // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::X86_64 => 0xC000_003E,
            // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::Aarch64 => 0xC000_00B7,
        }
    }

    /// The name used on the command line and in artifacts.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            other => Err(format!(
                "unknown architecture `{other}` (expected x86_64 or aarch64)"
            )),
        }
    }
}

/// How the kernel reads a syscall argument register. The width matters for
/// security: the kernel truncates an `int` argument to 32 bits, so a filter that
/// compares all 64 bits can be bypassed by setting the upper half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ArgKind {
    /// An integer the kernel truncates to 16 bits (`umode_t`).
    U16,
    /// An integer the kernel truncates to 32 bits (`int`, `unsigned int`, `pid_t`...).
    U32,
    /// A full-width integer (`long`, `size_t`, flags words).
    U64,
    /// A user-space pointer: its value says nothing about what it points to, and the
    /// memory behind it can change after any check.
    Ptr,
}

impl ArgKind {
    /// Width in bits the kernel reads.
    pub fn bits(self) -> u32 {
        match self {
            ArgKind::U16 => 16,
            ArgKind::U32 => 32,
            ArgKind::U64 | ArgKind::Ptr => 64,
        }
    }
}

/// One argument of a syscall, named as in the kernel's `SYSCALL_DEFINE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallArg {
    /// The kernel's parameter name.
    pub name: &'static str,
    /// How many bits of the register the kernel reads.
    pub kind: ArgKind,
}

/// One syscall of one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// The syscall number on this architecture.
    pub nr: u32,
    /// The syscall's name (without `sys_`).
    pub name: &'static str,
    /// Its arguments, in register order.
    pub args: Vec<SyscallArg>,
}

impl Syscall {
    /// Index of `argN` (always register N), or of the argument called `name`. No
    /// kernel name is `argN` for another N: the tables rename such parameters
    /// `paramN` (prctl's `arg2` is `param2`, register 1).
    pub fn arg_index(&self, name: &str) -> Option<usize> {
        if let Some(n) = name.strip_prefix("arg").and_then(|d| d.parse::<usize>().ok()) {
            if name.len() == 4 {
                return (n < self.args.len()).then_some(n);
            }
        }
        self.args.iter().position(|a| a.name == name)
    }
}

/// The syscalls of one architecture, by name and by number.
#[derive(Debug)]
pub struct SyscallTable {
    /// The architecture this table describes.
    pub arch: Arch,
    syscalls: Vec<Syscall>,
    by_name: HashMap<&'static str, usize>,
    by_nr: HashMap<u32, usize>,
}

const X86_64_TSV: &str = include_str!("../data/syscalls-x86_64.tsv");
const AARCH64_TSV: &str = include_str!("../data/syscalls-aarch64.tsv");
const X32_ONLY_TSV: &str = include_str!("../data/syscalls-x32-only.tsv");

impl SyscallTable {
    /// The table for `arch`, parsed on first use.
    pub fn get(arch: Arch) -> &'static SyscallTable {
        static X86: OnceLock<SyscallTable> = OnceLock::new();
        static ARM: OnceLock<SyscallTable> = OnceLock::new();
        match arch {
            Arch::X86_64 => X86.get_or_init(|| SyscallTable::parse(arch, X86_64_TSV)),
            Arch::Aarch64 => ARM.get_or_init(|| SyscallTable::parse(arch, AARCH64_TSV)),
        }
    }

    fn parse(arch: Arch, tsv: &'static str) -> SyscallTable {
        let mut syscalls = Vec::new();
        for line in tsv.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let mut cols = line.split('\t');
            let (Some(nr), Some(name)) = (cols.next(), cols.next()) else {
                panic!("malformed generated syscall table line: {line:?}");
            };
            let nr: u32 = nr.parse().expect("generated syscall number");
            let args = cols
                .next()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|spec| {
                    let (name, kind) = spec.split_once(':').expect("generated arg spec");
                    let kind = match kind {
                        "u16" => ArgKind::U16,
                        "u32" => ArgKind::U32,
                        "u64" => ArgKind::U64,
                        "ptr" => ArgKind::Ptr,
                        other => panic!("unknown arg kind {other} in generated table"),
                    };
                    SyscallArg { name, kind }
                })
                .collect();
            syscalls.push(Syscall { nr, name, args });
        }
        let by_name = syscalls.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let by_nr = syscalls.iter().enumerate().map(|(i, s)| (s.nr, i)).collect();
        SyscallTable {
            arch,
            syscalls,
            by_name,
            by_nr,
        }
    }

    /// The syscall called `name`.
    pub fn by_name(&self, name: &str) -> Option<&Syscall> {
        self.by_name.get(name).map(|&i| &self.syscalls[i])
    }

    /// The syscall numbered `nr`.
    pub fn by_nr(&self, nr: u32) -> Option<&Syscall> {
        self.by_nr.get(&nr).map(|&i| &self.syscalls[i])
    }

    /// All syscalls, ordered by number.
    pub fn iter(&self) -> impl Iterator<Item = &Syscall> {
        self.syscalls.iter()
    }

    /// How many syscalls the table has.
    pub fn len(&self) -> usize {
        self.syscalls.len()
    }

    /// Whether the table has no syscalls (never, for a generated one).
    pub fn is_empty(&self) -> bool {
        self.syscalls.is_empty()
    }

    /// One past the highest syscall number: numbers at or above it are unknown.
    pub fn nr_limit(&self) -> u32 {
        self.syscalls.iter().map(|s| s.nr + 1).max().unwrap_or(0)
    }
}

/// Syscalls that exist on some supported architecture, for "did you mean" hints and
/// for telling "unknown everywhere" from "absent on this target".
pub fn known_anywhere(name: &str) -> bool {
    Arch::ALL
        .iter()
        .any(|&a| SyscallTable::get(a).by_name(name).is_some())
}

/// The x32 ABI's own syscall numbers on x86_64 (before `__X32_SYSCALL_BIT` is set),
/// named so that disassembly and docs can say what the filter rejects.
pub fn x32_only() -> impl Iterator<Item = (u32, &'static str)> {
    X32_ONLY_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (nr, name) = l.split_once('\t')?;
            Some((nr.parse().ok()?, name))
        })
}

/// `__X32_SYSCALL_BIT`: x32 syscalls enter the x86_64 table with this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_well_known_numbers() {
        let x = SyscallTable::get(Arch::X86_64);
        assert_eq!(x.by_name("read").unwrap().nr, 0);
        assert_eq!(x.by_name("openat").unwrap().nr, 257);
        assert_eq!(x.by_name("io_uring_setup").unwrap().nr, 425);
        assert_eq!(x.by_nr(41).unwrap().name, "socket");
        let a = SyscallTable::get(Arch::Aarch64);
        assert_eq!(a.by_name("openat").unwrap().nr, 56);
        assert!(a.by_name("open").is_none(), "aarch64 has no open(2)");
        assert!(x.len() > 350 && a.len() > 300);
    }

    #[test]
    fn argument_widths_follow_kernel_types() {
        let x = SyscallTable::get(Arch::X86_64);
        let socket = x.by_name("socket").unwrap();
        assert_eq!(socket.arg_index("family"), Some(0));
        assert_eq!(socket.arg_index("arg2"), Some(2));
        assert_eq!(socket.arg_index("arg3"), None);
        assert_eq!(socket.args[0].kind, ArgKind::U32);
        let openat = x.by_name("openat").unwrap();
        assert_eq!(openat.args[1].kind, ArgKind::Ptr);
        let clone = x.by_name("clone").unwrap();
        assert_eq!(clone.args[3].name, "child_tidptr");
        let arm_clone = SyscallTable::get(Arch::Aarch64).by_name("clone").unwrap();
        assert_eq!(arm_clone.args[3].name, "tls", "arm64 uses CLONE_BACKWARDS");
    }

    #[test]
    fn x32_numbers_are_listed() {
        assert!(x32_only().any(|(nr, name)| nr == 512 && name == "rt_sigaction"));
    }
}
