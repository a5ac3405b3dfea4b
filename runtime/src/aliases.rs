//! Secrets by identity: the files the policy's secret patterns name, known by
//! `(dev, inode)`, so that another name for one of them is still the secret. A
//! hard link made outside the sandbox (`~/notes/key`, the same inode as
//! `~/.ssh/id_ed25519`), before the session or *during* it by the user's tools,
//! is, to a policy of paths, a different file: every secret file is remembered,
//! linked or not, so a link made later meets the same identity.
//!
//! At start-up the monitor lists the files the policy's `read` rules and
//! transitions single out (a `deny read`, an `on read` event) whose pattern has a
//! literal directory to start from, and remembers each by identity. An open that
//! reads such an object under any name is then also decided as a `read` of the
//! secret's own path (`emulate/fs.rs::with_alias`).
//!
//! What it does not know: patterns with no literal directory (`/**/.env`: the
//! whole filesystem would have to be listed), files past the listing bound
//! ([`MAX_LISTED`]), bind mounts and copies, secrets created after start-up
//! outside the sandbox, and the real file behind a symlink with a secret's name
//! (`~/.aws/credentials -> ~/dotfiles/aws/credentials`): decisions are on the
//! canonical path, which `clawc explain` and the verifier share, so making that
//! file a secret is a change of the model, not made here (docs/threat-model.md).
//! Links the agent makes during the session need none of this: each one is
//! decided as a read of what it links (`emulate/names.rs`).

use claw_ir::{Entity, Env, Ir, Matcher, Verb};
use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The most entries listed at start-up, over all patterns.
pub const MAX_LISTED: usize = 65_536;

/// The deepest the start-up listing goes below a pattern's literal directory.
const MAX_DEPTH: usize = 16;

/// Secret files, by identity (see the module doc).
#[derive(Debug, Default)]
pub struct Aliases {
    by_id: HashMap<(u64, u64), String>,
}

impl Aliases {
    /// The secrets' own paths.
    pub fn secrets(&self) -> impl Iterator<Item = &String> {
        self.by_id.values()
    }

    /// Lists what the policy's read rules and events single out (see the module doc).
    pub fn find(ir: &Ir, env: &Env) -> Aliases {
        let mut patterns: Vec<String> = Vec::new();
        let reads = |m: &Matcher| match m {
            Matcher::Access {
                verbs,
                entity: Entity::Paths(ps),
            } if verbs.contains(&Verb::Read) => ps.clone(),
            _ => Vec::new(),
        };
        for r in ir.rules.iter().filter(|r| !r.action.is_allowing()) {
            patterns.extend(reads(&r.matcher));
        }
        for t in &ir.transitions {
            patterns.extend(reads(&t.event));
        }
        patterns.sort();
        patterns.dedup();
        let mut a = Aliases::default();
        let mut budget = MAX_LISTED;
        for p in patterns {
            let Some(expanded) = env.expand(&p) else { continue };
            let root = literal_dir(&expanded);
            if root == "/" {
                continue;
            }
            a.list(Path::new(&root), &expanded, 0, &mut budget);
        }
        a
    }

    fn list(&mut self, path: &Path, pattern: &str, depth: usize, budget: &mut usize) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(md) = std::fs::symlink_metadata(path) else {
            return;
        };
        let name = path.to_string_lossy();
        if md.is_file() {
            if claw_ir::glob_match(pattern, &name) {
                self.by_id.insert((md.dev(), md.ino()), name.into_owned());
            }
            return;
        }
        if !md.is_dir() || depth >= MAX_DEPTH {
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for e in entries.flatten() {
            if *budget == 0 {
                return;
            }
            self.list(&e.path(), pattern, depth + 1, budget);
        }
    }

    /// Whether no secret file was found.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The secret's own path when `fd` is one of the remembered objects.
    pub fn of(&self, fd: &impl AsRawFd) -> Option<&str> {
        if self.by_id.is_empty() {
            return None;
        }
        // SAFETY: all-zero is a valid `stat`.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fd is a descriptor the caller holds; st is valid for writing.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return None;
        }
        self.by_id.get(&(st.st_dev, st.st_ino)).map(String::as_str)
    }
}

/// The longest leading run of components of `pattern` with no wildcard.
fn literal_dir(pattern: &str) -> String {
    let mut out = String::new();
    for c in pattern.split('/').filter(|c| !c.is_empty()) {
        if c.contains(['*', '?']) {
            break;
        }
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        "/".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_dirs() {
        assert_eq!(literal_dir("/home/u/.ssh/**"), "/home/u/.ssh");
        assert_eq!(literal_dir("/**/.env"), "/");
        assert_eq!(literal_dir("/etc/ssh/ssh_host_*_key"), "/etc/ssh");
        assert_eq!(literal_dir("/etc/shadow"), "/etc/shadow");
    }

    #[test]
    fn every_matching_file_is_remembered_by_identity() {
        let d = std::env::temp_dir().join(format!("claw-aliases-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sec/sub")).unwrap();
        std::fs::create_dir_all(d.join("dotfiles")).unwrap();
        std::fs::write(d.join("sec/sub/key"), "k").unwrap();
        std::fs::write(d.join("sec/lone"), "k").unwrap();
        std::fs::write(d.join("dotfiles/real"), "k").unwrap();
        std::fs::write(d.join("plain"), "p").unwrap();
        std::os::unix::fs::symlink(d.join("dotfiles/real"), d.join("sec/linked")).unwrap();
        std::fs::hard_link(d.join("sec/sub/key"), d.join("alias")).unwrap();
        let pattern = format!("{}/sec/**", d.display());
        let mut a = Aliases::default();
        let mut budget = 100;
        a.list(&d.join("sec"), &pattern, 0, &mut budget);
        let of = |p: &str| a.of(&std::fs::File::open(d.join(p)).unwrap()).map(str::to_string);
        let named = |p: &str| Some(format!("{}/{p}", d.display()));
        // A hard link, made before or after the listing: the identity is the same.
        assert_eq!(of("alias"), named("sec/sub/key"));
        assert_eq!(of("sec/lone"), named("sec/lone"));
        std::fs::hard_link(d.join("sec/lone"), d.join("later")).unwrap();
        assert_eq!(of("later"), named("sec/lone"));
        // Decisions are on canonical paths: a symlink's target is what its own
        // path says (the model's rule), not a secret by the link's name.
        assert_eq!(of("dotfiles/real"), None);
        assert_eq!(of("plain"), None);
        let _ = std::fs::remove_dir_all(&d);
    }
}
