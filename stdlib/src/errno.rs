//! errno names, generated from the kernel's asm-generic headers (shared by x86_64
//! and aarch64).

use std::sync::OnceLock;

/// One errno value with its kernel name and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno {
    /// The kernel's name (`EACCES`).
    pub name: &'static str,
    /// Its number.
    pub value: u16,
    /// The kernel's one-line description ("Permission denied").
    pub description: &'static str,
}

const ERRNO_TSV: &str = include_str!("../data/errno.tsv");

/// Every errno, in header order (aliases such as `EWOULDBLOCK` included).
pub fn all() -> &'static [Errno] {
    static ALL: OnceLock<Vec<Errno>> = OnceLock::new();
    ALL.get_or_init(|| {
        ERRNO_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let mut c = l.split('\t');
                let name = c.next().expect("errno name");
                let value = c.next().and_then(|v| v.parse().ok()).expect("errno value");
                Errno {
                    name,
                    value,
                    description: c.next().unwrap_or(""),
                }
            })
            .collect()
    })
}

/// Look an errno up by name (`EPERM`).
pub fn by_name(name: &str) -> Option<Errno> {
    all().iter().copied().find(|e| e.name == name)
}

/// The canonical (first) name of an errno value.
pub fn by_value(value: u16) -> Option<Errno> {
    all().iter().copied().find(|e| e.value == value)
}

/// seccomp's `SECCOMP_RET_DATA` holds 16 bits, but the kernel treats values above
/// `MAX_ERRNO` (4095) as pointers, not errors.
pub const MAX_ERRNO: u16 = 4095;

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::by_name("EPERM").unwrap().value, 1);
        assert_eq!(super::by_name("EACCES").unwrap().value, 13);
        assert_eq!(super::by_name("ENOSYS").unwrap().value, 38);
        assert_eq!(super::by_value(11).unwrap().name, "EAGAIN");
        assert!(super::by_name("EFOO").is_none());
    }
}
