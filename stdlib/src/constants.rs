//! Named constants for argument conditions (`socket(family == AF_INET)`), generated
//! by compiling against the system headers; values that differ on aarch64 are
//! recorded per architecture.

use crate::Arch;
use std::sync::OnceLock;

/// A named constant with its value on each architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constant {
    /// The constant's name in the kernel headers (`AF_INET`).
    pub name: &'static str,
    /// Its value on x86_64.
    pub x86_64: i64,
    /// Its value on aarch64.
    pub aarch64: i64,
}

impl Constant {
    /// The value on `arch`.
    pub fn value(&self, arch: Arch) -> i64 {
        match arch {
            Arch::X86_64 => self.x86_64,
            Arch::Aarch64 => self.aarch64,
        }
    }
}

const CONSTANTS_TSV: &str = include_str!("../data/constants.tsv");

/// Every known constant.
pub fn all() -> &'static [Constant] {
    static ALL: OnceLock<Vec<Constant>> = OnceLock::new();
    ALL.get_or_init(|| {
        CONSTANTS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let mut c = l.split('\t');
                let name = c.next().expect("constant name");
                let x86_64 = c.next().and_then(|v| v.parse().ok()).expect("x86_64 value");
                let aarch64 = c.next().and_then(|v| v.parse().ok()).expect("aarch64 value");
                Constant {
                    name,
                    x86_64,
                    aarch64,
                }
            })
            .collect()
    })
}

/// The constant called `name`, if the tables know it.
pub fn by_name(name: &str) -> Option<Constant> {
    all().iter().copied().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn arch_specific_values() {
        let d = by_name("O_DIRECTORY").unwrap();
        assert_eq!(d.value(Arch::X86_64), 0o200000);
        assert_eq!(d.value(Arch::Aarch64), 0o40000);
        assert_eq!(by_name("AF_INET").unwrap().value(Arch::X86_64), 2);
        assert_eq!(by_name("AT_FDCWD").unwrap().value(Arch::Aarch64), -100);
    }
}
