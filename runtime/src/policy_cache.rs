//! The cache of compiled policies (`clawless exec --policy X.claw`): compiling
//! and proving a policy takes seconds, so the artifact `clawc` wrote is kept in
//! the user's cache directory (`$XDG_CACHE_HOME/clawless`, else
//! `~/.cache/clawless`) under a key of everything the result depends on: the
//! source's bytes, the policy chosen in it, the target, and the compiler (its
//! path, size, modification time and inode: a rebuilt or upgraded `clawc` is
//! another compiler, and the standard library a source imports is embedded in
//! it). Entries are written atomically (a private temporary file, then
//! `rename`), and one that does not load (corrupt, truncated, another format)
//! is reported and replaced.
//!
//! This module knows file names and bytes; it does not run `clawc` and it does
//! not judge what an artifact allows. The cache is as trusted as the user's own
//! files: the standard profiles deny the agent `write` on it
//! (`std::paths::clawless_cache`), and a policy that lets the agent write there
//! lets it plant an artifact for the next run (docs/threat-model.md).

use claw_artifact::Artifact;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The cache directory, from the environment (absolute values only).
pub fn dir() -> Option<PathBuf> {
    let abs = |k: &str| std::env::var_os(k).map(PathBuf::from).filter(|p| p.is_absolute());
    abs("XDG_CACHE_HOME")
        .or_else(|| abs("HOME").map(|h| h.join(".cache")))
        .map(|c| c.join("clawless"))
}

/// The key of one compilation: hex SHA-256 over its inputs, each length-prefixed.
pub fn key(source: &[u8], policy: Option<&str>, target: &str, compiler: &Path) -> String {
    let ident = match std::fs::metadata(compiler) {
        Ok(m) => format!(
            "{}|{}|{}.{}|{}|{}",
            compiler.display(),
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ino(),
            m.dev()
        ),
        Err(_) => format!("{}|missing", compiler.display()),
    };
    let mut input = b"clawless-policy-cache-v1".to_vec();
    for part in [
        source,
        policy.unwrap_or("").as_bytes(),
        target.as_bytes(),
        ident.as_bytes(),
    ] {
        input.extend_from_slice(&(part.len() as u64).to_le_bytes());
        input.extend_from_slice(part);
    }
    claw_artifact::sha256_hex(&input)
}

/// What a look-up found.
pub enum Found {
    /// A valid entry: the artifact and its bytes.
    Hit(Box<Artifact>, Vec<u8>),
    /// No entry.
    Miss,
    /// An entry that does not load: why (it will be replaced).
    Corrupt(String),
}

/// The cache file for `key` in `dir`.
pub fn entry(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.bin"))
}

/// Looks `key` up in `dir`.
pub fn lookup(dir: &Path, key: &str) -> Found {
    let path = entry(dir, key);
    match std::fs::read(&path) {
        Ok(bytes) => match Artifact::load_for_host(&bytes) {
            Ok(a) => Found::Hit(Box::new(a), bytes),
            Err(e) => Found::Corrupt(format!("{}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Found::Miss,
        Err(e) => Found::Corrupt(format!("{}: {e}", path.display())),
    }
}

/// Stores `bytes` under `key`, atomically: a new private file in `dir`, synced,
/// then renamed over the entry. Errors are the caller's to report (a cache that
/// cannot be written only costs time).
pub fn store(dir: &Path, key: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    let path = entry(dir, key);
    match written.and_then(|()| std::fs::rename(&tmp, &path)) {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_every_input() {
        let exe = std::env::current_exe().unwrap();
        let other = Path::new("/bin/sh");
        let base = key(b"policy p {}", None, "x86_64", &exe);
        assert_eq!(base, key(b"policy p {}", None, "x86_64", &exe), "deterministic");
        for k in [
            key(b"policy q {}", None, "x86_64", &exe),
            key(b"policy p {}", Some("p"), "x86_64", &exe),
            key(b"policy p {}", None, "aarch64", &exe),
            key(b"policy p {}", None, "x86_64", other),
        ] {
            assert_ne!(base, k);
        }
    }

    #[test]
    fn store_is_atomic_and_corrupt_entries_are_reported() {
        let dir = std::env::temp_dir().join(format!("claw-policy-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(lookup(&dir, "k"), Found::Miss));
        let p = store(&dir, "k", b"not an artifact").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"not an artifact");
        assert!(matches!(lookup(&dir, "k"), Found::Corrupt(_)));
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
