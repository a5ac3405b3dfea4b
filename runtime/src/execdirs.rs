//! The directories a policy never lets the agent execute from: a `deny` or `kill`
//! rule on the `exec` verb over the pattern `DIR/**` (DIR literal once the path
//! variables are expanded), in force in every state. The IR combines rules by
//! severity, so no `allow` can make a program under DIR executable in any state;
//! isolated mode then remounts DIR `noexec` in the sandbox's private mount
//! namespace, which also refuses `PROT_EXEC` mappings of its files (the dynamic
//! loader run as `ld.so /tmp/prog`, `mmap` of a file with `PROT_EXEC`), race-free.
//!
//! The same holds of a directory `DIR/**` the policy lets the agent write (in any
//! state) when the default is a refusal and no `allow` or `log` rule on `exec` in
//! any state can match below DIR: nothing the agent writes there can be executed,
//! by the model. When an allowed exec pattern below DIR is itself a literal
//! `SUB/**` (a workspace under `/tmp`), DIR is still made `noexec` and SUB is
//! given exec back (`exec_again`); any other allowed exec pattern below DIR
//! leaves DIR executable (the kernel then agrees with the model by Landlock and
//! the monitor alone).
//!
//! Also the directories the Landlock plan lets the agent write but never execute
//! in (`writable_never_executable`: `/dev/shm` in the profiles, named by no
//! rule of the policy), whatever the rules say: Landlock's `EXECUTE` bound is
//! the kernel's, so a `noexec` mount there agrees with it. `exec_plan` is the
//! one plan isolated mode mounts, all three together.
//!
//! This module reads the IR, the Landlock plan and the environment; it knows
//! nothing of mounts.

use claw_ir::landlock::{FsRight, LandlockPlan};
use claw_ir::{Action, Entity, Env, Ir, Matcher, Verb};
use std::collections::{BTreeMap, BTreeSet};

/// A literal directory `D` when `pattern` (expanded) is `D/**`.
fn literal_dir(pattern: &str, env: &Env) -> Option<String> {
    let p = env.expand(pattern)?;
    let dir = p.strip_suffix("/**")?;
    let glob = |c: char| matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\');
    if !dir.starts_with('/') || dir.chars().any(glob) || dir.split('/').any(|c| c == "." || c == "..") {
        return None;
    }
    let dir = dir.trim_end_matches('/');
    // Never the whole file system: that policy cannot run its own command anyway.
    (!dir.is_empty() && !dir.contains("//")).then(|| dir.to_string())
}

/// What isolated mode mounts: `noexec` directories and, below them, directories
/// the policy lets the agent execute from (bind-mounted executable again).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExecPlan {
    /// Directories mounted `noexec`.
    pub noexec: Vec<String>,
    /// Directories below them mounted executable again.
    pub exec_again: Vec<String>,
}

/// Is `path` equal to `dir` or below it (component-wise)?
fn within(path: &str, dir: &str) -> bool {
    path == dir || dir == "/" || path.starts_with(&format!("{dir}/"))
}

/// The literal directory prefix of an expanded pattern: the components before
/// the first one with a wildcard (for a pattern with none, the path itself).
fn literal_prefix(p: &str) -> String {
    let glob = |c: char| matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\');
    let mut out = String::new();
    for comp in p.split('/').filter(|c| !c.is_empty()) {
        if comp.chars().any(glob) {
            break;
        }
        out.push('/');
        out.push_str(comp);
    }
    if out.is_empty() {
        "/".to_string()
    } else {
        out
    }
}

fn usable(d: &str) -> bool {
    std::fs::canonicalize(d).is_ok_and(|c| c.to_str() == Some(d) && c.is_dir())
}

/// The whole plan: [`never_executable`], the writable directories no rule of
/// any state lets the agent execute from (with the allowed ones below them),
/// and [`writable_never_executable`] of the Landlock plan.
pub fn exec_plan(ir: &Ir, landlock: &LandlockPlan, env: &Env) -> ExecPlan {
    let denied = never_executable(ir, env);
    let mut noexec: BTreeSet<String> = denied.iter().cloned().collect();
    // No Landlock `EXECUTE` grant at, above or below these, so no directory
    // below them is made executable again.
    noexec.extend(writable_never_executable(landlock, env));
    let mut again = BTreeSet::new();
    if matches!(ir.default, Action::Deny(_) | Action::Kill) {
        let mut writable = BTreeSet::new();
        let mut exec_allowed: Vec<Option<String>> = Vec::new();
        for r in &ir.rules {
            let Matcher::Access {
                verbs,
                entity: Entity::Paths(pats),
            } = &r.matcher
            else {
                continue;
            };
            if !matches!(r.action, Action::Allow | Action::Log) {
                continue;
            }
            for p in pats {
                if verbs.contains(&Verb::Exec) {
                    // An unset variable makes the pattern match nothing.
                    if let Some(e) = env.expand(p) {
                        exec_allowed.push(Some(e));
                    }
                }
                if verbs.iter().any(|v| matches!(v, Verb::Write | Verb::Append)) {
                    if let Some(d) = literal_dir(p, env) {
                        writable.insert(d);
                    }
                }
            }
        }
        'dirs: for d in writable {
            if noexec.iter().any(|n| within(&d, n)) || !usable(&d) {
                continue;
            }
            let mut subs = Vec::new();
            for e in exec_allowed.iter().flatten() {
                let prefix = literal_prefix(e);
                if within(&d, &prefix) {
                    continue 'dirs; // may allow exec of D itself or above it
                }
                if !within(&prefix, &d) {
                    continue;
                }
                match literal_dir(e, env) {
                    Some(sub) if sub == prefix && usable(&sub) => subs.push(sub),
                    _ => continue 'dirs,
                }
            }
            // A denied directory inside an executable-again one would lose its mount.
            if subs.iter().any(|s| denied.iter().any(|n| within(n, s))) {
                continue;
            }
            noexec.insert(d);
            again.extend(subs);
        }
    }
    // A recursive mount of a directory covers those below it.
    let all: Vec<String> = noexec.into_iter().collect();
    let noexec: Vec<String> = all
        .iter()
        .filter(|d| !all.iter().any(|o| o != *d && within(d, o)))
        .cloned()
        .collect();
    let exec_again: Vec<String> = again
        .iter()
        .filter(|s| !again.iter().any(|o| o != *s && within(s, o)))
        .cloned()
        .collect();
    ExecPlan { noexec, exec_again }
}

/// The directories (as written, sorted, none below another) that no state lets the
/// agent execute from. Only existing directories that are their own canonical
/// path (the monitor decides on canonical paths, and a mount follows symlinks).
pub fn never_executable(ir: &Ir, env: &Env) -> Vec<String> {
    let all: BTreeSet<u32> = (0..ir.states.len() as u32).collect();
    let mut covered: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for r in &ir.rules {
        if !matches!(r.action, Action::Deny(_) | Action::Kill) {
            continue;
        }
        let Matcher::Access {
            verbs,
            entity: Entity::Paths(pats),
        } = &r.matcher
        else {
            continue;
        };
        if !verbs.contains(&Verb::Exec) {
            continue;
        }
        let states: BTreeSet<u32> = match &r.states {
            None => all.clone(),
            Some(s) => s.iter().copied().collect(),
        };
        for p in pats {
            if let Some(d) = literal_dir(p, env) {
                covered.entry(d).or_default().extend(&states);
            }
        }
    }
    let dirs: Vec<String> = covered
        .into_iter()
        .filter(|(_, s)| all.is_subset(s))
        .map(|(d, _)| d)
        .filter(|d| std::fs::canonicalize(d).is_ok_and(|c| c.to_str() == Some(d.as_str()) && c.is_dir()))
        .collect();
    // A recursive mount of a directory covers those below it.
    dirs.iter()
        .filter(|d| !dirs.iter().any(|o| o != *d && d.starts_with(&format!("{o}/"))))
        .cloned()
        .collect()
}

/// The directories the agent may write in but never execute from, by the static
/// bound Landlock enforces (`Ir::landlock_plan`: everything any state can allow):
/// a grant of `WriteFile` on D with no `Execute` grant on D, above it or below
/// it. Without a mount, a file written there runs anyway through the loader
/// (`ld.so /dev/shm/prog`) or a `PROT_EXEC` mapping, though no state lets the
/// agent `exec` it: `execve` is all Landlock's `EXECUTE` bounds. Only existing
/// directories that are their own canonical path; none when `Execute` is not a
/// right the plan handles.
pub fn writable_never_executable(plan: &LandlockPlan, env: &Env) -> Vec<String> {
    if !plan.handled_fs.contains(&FsRight::Execute) {
        return Vec::new();
    }
    let expand = |p: &str| env.expand(p).map(|p| p.trim_end_matches('/').to_string());
    let exec: Vec<String> = plan
        .fs
        .iter()
        .filter(|g| g.rights.contains(&FsRight::Execute))
        .filter_map(|g| expand(&g.path))
        .collect();
    let related =
        |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"));
    let mut dirs: Vec<String> = plan
        .fs
        .iter()
        .filter(|g| g.rights.contains(&FsRight::WriteFile))
        .filter_map(|g| expand(&g.path))
        .filter(|d| !d.is_empty() && d.starts_with('/'))
        // An exec grant that cannot be expanded could be anywhere.
        .filter(|d| {
            exec.len()
                == plan
                    .fs
                    .iter()
                    .filter(|g| g.rights.contains(&FsRight::Execute))
                    .count()
                && !exec.iter().any(|e| e.is_empty() || related(d, e))
        })
        .filter(|d| std::fs::canonicalize(d).is_ok_and(|c| c.to_str() == Some(d.as_str()) && c.is_dir()))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs.iter()
        .filter(|d| !dirs.iter().any(|o| o != *d && d.starts_with(&format!("{o}/"))))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_ir::Rule;

    fn rule(action: Action, states: Option<Vec<u32>>, verbs: Vec<Verb>, pats: &[&str]) -> Rule {
        Rule {
            action,
            states,
            matcher: Matcher::Access {
                verbs,
                entity: Entity::Paths(pats.iter().map(|s| s.to_string()).collect()),
            },
            origin: "test".into(),
        }
    }

    fn ir_with(rules: Vec<Rule>) -> Ir {
        let mut ir = claw_runtime_test_ir();
        ir.rules = rules;
        ir
    }

    /// A two-state IR (clean, tainted) from the embedded default's shape.
    fn claw_runtime_test_ir() -> Ir {
        let bytes = include_bytes!("../default/coding_agent.x86_64.bin");
        let a = claw_artifact::Artifact::from_bytes(bytes).expect("the embedded default loads");
        let mut ir = a.ir;
        ir.rules.clear();
        ir
    }

    #[test]
    fn only_dirs_denied_in_every_state() {
        let dir = std::env::temp_dir();
        let dir = std::fs::canonicalize(dir).unwrap();
        let d = dir.display().to_string();
        let n = claw_runtime_test_ir().states.len() as u32;
        assert!(n >= 2, "the default has several states");
        let mut env = Env::new();
        env.set("T", &d);
        let ir = ir_with(vec![rule(Action::Deny(1), None, vec![Verb::Exec], &["$T/**"])]);
        assert_eq!(never_executable(&ir, &env), vec![d.clone()]);
        // In one state only: not a mount (another state may run programs there).
        let ir = ir_with(vec![rule(
            Action::Deny(1),
            Some(vec![0]),
            vec![Verb::Exec],
            &["$T/**"],
        )]);
        assert!(never_executable(&ir, &env).is_empty());
        // One rule per state, together covering all: a mount.
        let ir = ir_with(
            (0..n)
                .map(|s| {
                    rule(
                        Action::Kill,
                        Some(vec![s]),
                        vec![Verb::Read, Verb::Exec],
                        &["$T/**"],
                    )
                })
                .collect(),
        );
        assert_eq!(never_executable(&ir, &env), vec![d.clone()]);
        // Not exec, not a deny, a glob, a file pattern, a missing directory, `/`.
        for (action, verbs, pat) in [
            (Action::Deny(1), vec![Verb::Write], "$T/**"),
            (Action::Allow, vec![Verb::Exec], "$T/**"),
            (Action::Deny(1), vec![Verb::Exec], "$T/*.sh"),
            (Action::Deny(1), vec![Verb::Exec], "$T/*/x/**"),
            (Action::Deny(1), vec![Verb::Exec], "/nonexistent-claw-dir/**"),
            (Action::Deny(1), vec![Verb::Exec], "/**"),
            (Action::Deny(1), vec![Verb::Exec], "$UNSET/**"),
        ] {
            let ir = ir_with(vec![rule(action, None, verbs, &[pat])]);
            assert!(never_executable(&ir, &env).is_empty(), "{pat}");
        }
    }

    #[test]
    fn writable_dirs_no_grant_executes_are_found() {
        let root = std::fs::canonicalize(std::env::temp_dir()).unwrap();
        let w = root.join(format!("claw-wne-{}", std::process::id()));
        std::fs::create_dir_all(w.join("bin")).unwrap();
        let d = w.display().to_string();
        let grant = |p: &str, r: &[FsRight]| claw_ir::landlock::FsGrant {
            path: p.to_string(),
            rights: r.to_vec(),
        };
        let plan = |fs: Vec<claw_ir::landlock::FsGrant>| LandlockPlan {
            handled_fs: vec![FsRight::Execute, FsRight::WriteFile],
            fs,
            ..LandlockPlan::default()
        };
        let env = Env::new();
        let only = plan(vec![
            grant(&d, &[FsRight::WriteFile]),
            grant("/usr", &[FsRight::Execute]),
        ]);
        assert_eq!(writable_never_executable(&only, &env), vec![d.clone()]);
        // Executable there, above, or below: not a mount.
        for e in [
            d.clone(),
            root.display().to_string(),
            format!("{d}/bin"),
            "/".to_string(),
        ] {
            let p = plan(vec![
                grant(&d, &[FsRight::WriteFile]),
                grant(&e, &[FsRight::Execute]),
            ]);
            assert!(writable_never_executable(&p, &env).is_empty(), "{e}");
        }
        // Exec not bounded by Landlock at all, or an exec grant on an unset variable.
        let mut loose = only.clone();
        loose.handled_fs.retain(|r| *r != FsRight::Execute);
        assert!(writable_never_executable(&loose, &env).is_empty());
        let unknown = plan(vec![
            grant(&d, &[FsRight::WriteFile]),
            grant("$UNSET_CLAW_VAR", &[FsRight::Execute]),
        ]);
        assert!(writable_never_executable(&unknown, &env).is_empty());
        std::fs::remove_dir_all(&w).unwrap();
    }

    #[test]
    fn nested_dirs_are_covered_by_their_parent() {
        let root = std::fs::canonicalize(std::env::temp_dir()).unwrap();
        let sub = root.join(format!("claw-execdirs-{}", std::process::id()));
        std::fs::create_dir_all(&sub).unwrap();
        let env = Env::new();
        let ir = ir_with(vec![rule(
            Action::Deny(1),
            None,
            vec![Verb::Exec],
            &[
                &format!("{}/**", root.display()),
                &format!("{}/**", sub.display()),
            ],
        )]);
        assert_eq!(never_executable(&ir, &env), vec![root.display().to_string()]);
        std::fs::remove_dir_all(&sub).unwrap();
    }

    /// A writable directory nothing may execute from is `noexec`; a workspace
    /// inside it with a literal `WS/**` exec rule is executable again; a glob
    /// exec pattern below it, or an exec rule above it, leaves it alone.
    #[test]
    fn writable_dirs_without_exec_and_workspaces_inside_them() {
        let root = std::fs::canonicalize(std::env::temp_dir()).unwrap();
        let t = root.join(format!("claw-execplan-{}", std::process::id()));
        let ws = t.join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let (t_s, ws_s) = (t.display().to_string(), ws.display().to_string());
        let mut env = Env::new();
        env.set("T", &t_s);
        env.set("WORKSPACE", &ws_s);
        let write = rule(Action::Allow, None, vec![Verb::Read, Verb::Write], &["$T/**"]);
        let ir = ir_with(vec![write.clone()]);
        let plan = exec_plan(&ir, &LandlockPlan::default(), &env);
        assert_eq!(plan.noexec, vec![t_s.clone()]);
        assert!(plan.exec_again.is_empty());
        let ws_exec = rule(Action::Allow, None, vec![Verb::Exec], &["$WORKSPACE/**"]);
        let ir = ir_with(vec![write.clone(), ws_exec]);
        let plan = exec_plan(&ir, &LandlockPlan::default(), &env);
        assert_eq!(
            plan,
            ExecPlan {
                noexec: vec![t_s.clone()],
                exec_again: vec![ws_s.clone()]
            }
        );
        for pat in ["$T/*/bin/**", "/**", "$T/ws/prog"] {
            let ir = ir_with(vec![
                write.clone(),
                rule(Action::Log, None, vec![Verb::Exec], &[pat]),
            ]);
            assert_eq!(
                exec_plan(&ir, &LandlockPlan::default(), &env),
                ExecPlan::default(),
                "{pat}"
            );
        }
        // The Landlock plan's writable, never-executable directories join the
        // same plan, beside the workspace made executable again.
        let shm = t.join("shm");
        std::fs::create_dir_all(&shm).unwrap();
        let shm_s = shm.display().to_string();
        let landlock = LandlockPlan {
            handled_fs: vec![FsRight::Execute, FsRight::WriteFile],
            fs: vec![
                claw_ir::landlock::FsGrant {
                    path: shm_s.clone(),
                    rights: vec![FsRight::WriteFile],
                },
                claw_ir::landlock::FsGrant {
                    path: ws_s.clone(),
                    rights: vec![FsRight::Execute, FsRight::WriteFile],
                },
            ],
            ..LandlockPlan::default()
        };
        let other = root.join(format!("claw-execplan-other-{}", std::process::id()));
        std::fs::create_dir_all(&other).unwrap();
        let other_s = other.display().to_string();
        let mut landlock2 = landlock.clone();
        landlock2.fs[0].path = other_s.clone();
        let ir = ir_with(vec![
            write.clone(),
            rule(Action::Allow, None, vec![Verb::Exec], &["$WORKSPACE/**"]),
        ]);
        let mut want = vec![t_s.clone(), other_s.clone()];
        want.sort();
        assert_eq!(
            exec_plan(&ir, &landlock2, &env),
            ExecPlan {
                noexec: want,
                exec_again: vec![ws_s.clone()]
            }
        );
        // Below a directory already `noexec`: covered by it.
        assert_eq!(exec_plan(&ir, &landlock, &env).noexec, vec![t_s.clone()]);
        std::fs::remove_dir_all(&other).unwrap();
        // A default that allows: no mount can agree with the model.
        let mut ir = ir_with(vec![write]);
        ir.default = Action::Allow;
        assert_eq!(
            exec_plan(&ir, &LandlockPlan::default(), &env),
            ExecPlan::default()
        );
        std::fs::remove_dir_all(&t).unwrap();
    }
}
