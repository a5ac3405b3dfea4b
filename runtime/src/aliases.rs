//! Secrets by their other names: an object whose canonical path names no secret
//! but which has a secret's name elsewhere, a hard link (`~/notes/key`, the same
//! inode as `~/.ssh/id_ed25519`) or a symlink whose own path matches a secret
//! pattern (`ws/.env -> config/dev-settings`, `~/.aws -> ~/dotfiles/aws`). The
//! model's rule (docs/language.md, "Secret names"): a read of an object is decided
//! on its canonical path and on every secret name of it. The names are found by
//! [`claw_ir::names::SecretNames::discover`] at start-up, the function `clawc
//! explain` calls on the file system it runs on, so the two agree; symlinks the
//! agent makes during the session are added as it makes them ([`Aliases::learn_link`]).
//!
//! An open that reads is then decided with a `read` of each secret name of what it
//! reached (`emulate/fs.rs::with_alias`): by the object's identity `(dev, inode)`
//! (a hard link made later, before or during the session, meets it) and by its
//! canonical path (a file created later below a linked directory, or where a
//! dangling link ends). With kernel-decided opens the objects found are
//! tripwires too (`sandbox.rs::arm_tripwires`).
//!
//! What it does not know: what `SecretNames` does not list (its module doc:
//! names outside the listed trees, past its bounds), and secret-named links or
//! links into a secret directory made by processes outside the sandbox after
//! start-up (docs/threat-model.md).

use claw_ir::names::SecretNames;
use claw_ir::{Env, Ir};
use std::os::fd::AsRawFd;
use std::sync::RwLock;

pub use claw_ir::names::MAX_LISTED;

/// The secret names of the session (see the module doc).
#[derive(Debug, Default)]
pub struct Aliases {
    names: RwLock<SecretNames>,
}

impl Aliases {
    /// Lists the secret names of `ir`'s secret patterns (see the module doc).
    /// A listing cut short by its bounds is said on stderr: a secret name past
    /// the bound is not known to this session (the model has no bound).
    pub fn find(ir: &Ir, env: &Env) -> Aliases {
        let names = SecretNames::discover(ir, env);
        if let Some(why) = names.incomplete() {
            eprintln!(
                "clawless: secret names: {why} (at most {MAX_LISTED} entries, {} levels): a secret-named \
                 symlink or hard link past it is not known, so a read through it is decided on the file's own \
                 path (docs/language.md, \"Secret names\")",
                claw_ir::names::MAX_DEPTH
            );
        }
        Aliases {
            names: RwLock::new(names),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, SecretNames> {
        self.names.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether no secret name was found.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The objects to cover with tripwires when the kernel decides opens: the
    /// canonical path to open each by (`None`: only the secret's own name is
    /// known, open it by that) and the secret name it is decided as.
    pub fn objects(&self) -> Vec<(Option<String>, String)> {
        let n = self.read();
        let mut out: Vec<(Option<String>, String)> =
            n.files().map(|(_, name)| (None, name.clone())).collect();
        out.extend(n.linked().map(|(path, name)| (Some(path.clone()), name.clone())));
        out
    }

    /// The secret names of the object `fd` refers to, reached at the canonical
    /// path `path`, other than `path` itself.
    pub fn of(&self, fd: &impl AsRawFd, path: &str) -> Vec<String> {
        let n = self.read();
        if n.is_empty() {
            return Vec::new();
        }
        // SAFETY: all-zero is a valid `stat`.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fd is a descriptor the caller holds; st is valid for writing.
        let id = (unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0).then_some((st.st_dev, st.st_ino));
        n.names_of(path, id)
    }

    /// The secret names of whatever is (or will be) at the canonical path
    /// `path`, by path only: a link's end, a path below a linked directory (the
    /// watcher's question about a new entry, red team round 6,
    /// symlinked-secret-dir).
    pub fn of_path(&self, path: &str) -> Vec<String> {
        let n = self.read();
        if n.is_empty() {
            return Vec::new();
        }
        n.names_of(path, None)
    }

    /// Records the symlink the agent just made at the canonical path `link`: if
    /// its name is a secret's (or names paths below it that are), what it reaches
    /// has that name from now on. Returns every object it names (as
    /// [`Self::objects`]), for tripwires when the kernel decides opens.
    pub fn learn_link(&self, link: &str) -> Vec<(Option<String>, String)> {
        // Most links name nothing: decided under the read lock, nothing taken.
        if !self.read().may_name(link) {
            return Vec::new();
        }
        let (files, paths) = self
            .names
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .learn_link(link);
        files
            .into_iter()
            .map(|(_, name)| (None, name))
            .chain(paths.into_iter().map(|(path, name)| (Some(path), name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_path_both_name_a_secret() {
        let d = std::env::temp_dir().join(format!("claw-aliases-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sec")).unwrap();
        std::fs::create_dir_all(d.join("dotfiles")).unwrap();
        let d = std::fs::canonicalize(&d).unwrap();
        std::fs::write(d.join("sec/lone"), "k").unwrap();
        std::fs::write(d.join("dotfiles/real"), "k").unwrap();
        std::os::unix::fs::symlink(d.join("dotfiles/real"), d.join("sec/linked")).unwrap();
        let a = Aliases {
            names: RwLock::new(SecretNames::discover_patterns(
                vec![format!("{}/sec/**", d.display())],
                None,
            )),
        };
        let s = |p: &str| format!("{}/{p}", d.display());
        let of = |p: &str| a.of(&std::fs::File::open(d.join(p)).unwrap(), &s(p));
        assert_eq!(of("dotfiles/real"), vec![s("sec/linked")]);
        std::fs::hard_link(d.join("sec/lone"), d.join("later")).unwrap();
        assert_eq!(of("later"), vec![s("sec/lone")]);
        assert!(of("sec/lone").is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }
}
