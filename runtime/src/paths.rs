//! Values of the path variables (`$WORKSPACE`, `$HOME`...) for a run. Each is made
//! canonical (the monitor decides on canonical paths) and checked against the
//! assumption the verifier's proofs rest on: no variable the policy uses is, or is
//! inside, a system directory (`claw_ir::check_var`: `$XDG_RUNTIME_DIR` may lie in
//! `/run/user`, its default).

use claw_ir::{Entity, Env, Ir, Matcher, SYSTEM_DIRS};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The variables a policy's rules, transitions and Landlock plan mention.
pub fn used_by(ir: &Ir, landlock: &claw_ir::landlock::LandlockPlan) -> BTreeSet<String> {
    let matchers = ir
        .rules
        .iter()
        .map(|r| &r.matcher)
        .chain(ir.transitions.iter().map(|t| &t.event));
    let mut patterns: Vec<&str> = Vec::new();
    for m in matchers {
        if let Matcher::Access {
            entity: Entity::Paths(ps),
            ..
        } = m
        {
            patterns.extend(ps.iter().map(String::as_str));
        }
    }
    patterns.extend(landlock.fs.iter().map(|g| g.path.as_str()));
    patterns
        .iter()
        .filter_map(|p| p.strip_prefix('$'))
        .map(|rest| rest[..rest.find('/').unwrap_or(rest.len())].to_string())
        .collect()
}

/// Is `dir` a system directory or inside one (or the root, which holds them all)?
pub fn in_system_dir(dir: &str) -> Option<&'static str> {
    if dir == "/" {
        return Some("/");
    }
    SYSTEM_DIRS
        .iter()
        .copied()
        .find(|s| dir == *s || dir.starts_with(&format!("{s}/")))
}

fn canonical(p: &Path) -> Result<String, String> {
    if !p.is_absolute() {
        return Err(format!("`{}` is not an absolute path", p.display()));
    }
    // A directory that does not exist yet is taken lexically.
    let c = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let s = c.to_string_lossy().trim_end_matches('/').to_string();
    Ok(if s.is_empty() { "/".to_string() } else { s })
}

/// The default value of a variable from the process environment.
fn default_value(var: &str, home: &Path) -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    match var {
        "HOME" => Some(home.to_path_buf()),
        "TMPDIR" => env("TMPDIR").or(Some(PathBuf::from("/tmp"))),
        "XDG_CONFIG_HOME" => env(var).or(Some(home.join(".config"))),
        "XDG_CACHE_HOME" => env(var).or(Some(home.join(".cache"))),
        "XDG_DATA_HOME" => env(var).or(Some(home.join(".local/share"))),
        // SAFETY: getuid cannot fail.
        "XDG_RUNTIME_DIR" => env(var).or(Some(PathBuf::from(format!("/run/user/{}", unsafe {
            libc::getuid()
        })))),
        "CARGO_HOME" => env(var).or(Some(home.join(".cargo"))),
        "RUSTUP_HOME" => env(var).or(Some(home.join(".rustup"))),
        "PYENV_ROOT" => env(var).or(Some(home.join(".pyenv"))),
        "NVM_DIR" => env(var).or(Some(home.join(".nvm"))),
        _ => None,
    }
}

/// The run's values: `workspace` (default: the current directory) and the rest
/// from the environment. A variable the policy uses must have an acceptable value,
/// else the run is refused with the reason; one it does not use is left unset.
pub fn environment(workspace: Option<&Path>, used: &BTreeSet<String>) -> Result<Env, String> {
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    let mut env = Env::new();
    // The variables a run can define: the vocabulary's one list.
    for (var, _) in claw_ir::PATH_VARIABLES {
        let value = if *var == "WORKSPACE" {
            match workspace {
                Some(w) => std::path::absolute(w).map_err(|e| format!("--workspace: {e}"))?,
                None => std::env::current_dir().map_err(|e| format!("current directory: {e}"))?,
            }
        } else {
            match default_value(var, &home) {
                Some(v) => v,
                None => continue,
            }
        };
        // The verifier's assumption, from its one definition.
        let checked = canonical(&value).and_then(|c| claw_ir::check_var(var, &c).map(|()| c));
        match checked {
            Ok(c) => {
                if *var == "WORKSPACE" && !Path::new(&c).is_dir() {
                    return Err(format!("workspace `{c}` is not a directory"));
                }
                env.set(var, &c);
            }
            Err(e) if used.contains(*var) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_directories_are_refused() {
        assert_eq!(in_system_dir("/usr"), Some("/usr"));
        assert_eq!(in_system_dir("/usr/src/app"), Some("/usr"));
        assert_eq!(in_system_dir("/"), Some("/"));
        assert_eq!(in_system_dir("/usrlocal"), None);
        assert_eq!(in_system_dir("/home/me/work"), None);
        let used: BTreeSet<String> = ["WORKSPACE".to_string()].into();
        let e = environment(Some(Path::new("/dev")), &used).unwrap_err();
        assert!(
            e.contains("WORKSPACE=/dev") && e.contains("system directory"),
            "{e}"
        );
        let e = environment(Some(Path::new("/usr/share")), &used).unwrap_err();
        assert!(e.contains("inside /usr"), "{e}");
    }

    /// The runtime's defaults satisfy the verifier's assumption, so a policy using
    /// any variable runs on an ordinary machine: `$XDG_RUNTIME_DIR` defaults to
    /// `/run/user/UID`, which the proofs cover.
    #[test]
    fn defaults_satisfy_the_verifiers_assumption() {
        let home = Path::new("/home/someone");
        for (var, _) in claw_ir::PATH_VARIABLES.iter().filter(|(v, _)| *v != "WORKSPACE") {
            let v = default_value(var, home).unwrap();
            let c = canonical(&v).unwrap();
            // A value from this process's environment may be anything; the
            // built-in defaults must pass.
            if std::env::var_os(var).is_none() {
                assert_eq!(claw_ir::check_var(var, &c), Ok(()), "{var}={c}");
            }
        }
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        assert_eq!(
            claw_ir::check_var("XDG_RUNTIME_DIR", &format!("/run/user/{uid}")),
            Ok(())
        );
        assert!(claw_ir::check_var("XDG_RUNTIME_DIR", "/run/user").is_err());
        assert!(claw_ir::check_var("XDG_RUNTIME_DIR", "/run/systemd").is_err());
        assert!(claw_ir::check_var("HOME", "/run/user/1000").is_err());
        assert!(claw_ir::check_var("HOME", "/home/a/../etc").is_err());
        assert!(claw_ir::check_var("HOME", "/").is_err());
    }

    #[test]
    fn workspace_is_canonical() {
        let dir = std::env::temp_dir().join(format!("claw-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        let env = environment(Some(&dir.join("a/..")), &BTreeSet::new()).unwrap();
        let want = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(env.get("WORKSPACE"), Some(want.to_str().unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
