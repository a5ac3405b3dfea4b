//! Isolated mode for files: whether this run can let the kernel decide opens, and
//! what it needs for that — the isolated filter (compiled from the IR and its
//! isolated plan, `claw_ir::isolate`), the plan's Landlock grants with this run's
//! path values (literal directories dropped, carves subtracted) and a fanotify
//! group for the tripwires.
//!
//! When any of these is missing the run keeps mediated opens (inside the
//! namespaces if those are available) and says why: the policy's rules that force
//! it, a carve Landlock cannot subtract, or the missing kernel feature.
//!
//! This module knows the plan and the run's environment; it starts nothing.

use crate::tripwire::Tripwires;
use claw_artifact::Artifact;
use claw_ir::isolate::{exact, IsolatedPlan};
use claw_ir::landlock::{rights_of, FsGrant, FsRight, LandlockPlan};
use claw_ir::{Env, Verb};
use std::sync::Arc;

/// What an isolated run of the files needs.
pub struct Files {
    /// The artifact's isolated-mode plan.
    pub plan: IsolatedPlan,
    /// The isolated seccomp filter.
    pub program: claw_bpf::Program,
    /// The Landlock ruleset, paths expanded.
    pub landlock: LandlockPlan,
    /// The tripwires on the secrets, served by the monitor.
    pub tripwires: Arc<Tripwires>,
}

fn inside(a: &str, b: &str) -> bool {
    b == "/" || a == b || a.starts_with(&format!("{b}/"))
}

/// The plan's Landlock grants for this run: variables expanded, literal grants
/// that are directories dropped (Landlock would grant their subtrees), and every
/// carve subtracted — a grant inside a carve loses the carve's rights; an `exec`
/// carve strictly inside a grant must be one of the `noexec` mounts; any other
/// overlap cannot be expressed.
pub fn concrete_landlock(plan: &IsolatedPlan, env: &Env, noexec: &[String]) -> Result<LandlockPlan, String> {
    let mut out = plan.landlock.clone();
    out.fs = plan
        .landlock
        .fs
        .iter()
        .filter_map(|g| {
            let p = env.expand(&g.path)?;
            let p = if p.len() > 1 {
                p.trim_end_matches('/').to_string()
            } else {
                p
            };
            if plan.literal_grants.contains(&g.path) && std::path::Path::new(&p).is_dir() {
                return None;
            }
            Some(FsGrant {
                path: p,
                rights: g.rights.clone(),
            })
        })
        .collect();
    for c in &plan.carves {
        let Some(cp) = exact(&c.pattern).and_then(|e| env.expand(&e)) else {
            continue;
        };
        let rights = rights_of(c.verb);
        let mut fs = Vec::with_capacity(out.fs.len());
        for mut g in std::mem::take(&mut out.fs) {
            if inside(&g.path, &cp) {
                g.rights.retain(|r| !rights.contains(r));
                fs.push(g);
            } else if inside(&cp, &g.path) && g.rights.iter().any(|r| rights.contains(r)) {
                if c.verb == Verb::Exec && noexec.iter().any(|d| inside(&cp, d)) {
                    fs.push(g); // the noexec mount refuses it
                    continue;
                }
                let carved = carve_out(&g, &cp, rights).map_err(|why| {
                    format!(
                        "{}: `deny {}` on {cp} lies inside the grant on {}, which Landlock cannot subtract ({why})",
                    c.origin,
                    c.verb.name(),
                    g.path
                    )
                })?;
                fs.extend(carved);
            } else {
                fs.push(g);
            }
        }
        out.fs = fs;
    }
    out.fs.retain(|g| !g.rights.is_empty());
    Ok(out)
}

/// The most entries of one directory a carve expands a grant into.
const MAX_SIBLINGS: usize = 10_000;

/// `grant` without the rights `carved` on the path `carve` strictly inside it, as
/// Landlock can say it: the grant's directory keeps the other rights, and each
/// directory on the way down to the carve grants the carved rights to every entry
/// *as it is at launch* except the one leading to the carve. Symlinks get nothing
/// (Landlock decides what they name by its own place). An entry created later in
/// one of these directories gets only the directory's remaining rights from
/// Landlock: its creation is the monitor's (creations are always notified), and a
/// later kernel open of it for writing is refused (`EACCES`) where the policy
/// allows it (stricter, never looser; docs/architecture.md).
fn carve_out(grant: &FsGrant, carve: &str, carved: &[FsRight]) -> Result<Vec<FsGrant>, String> {
    let keep: Vec<FsRight> = grant
        .rights
        .iter()
        .copied()
        .filter(|r| !carved.contains(r))
        .collect();
    let moved: Vec<FsRight> = grant
        .rights
        .iter()
        .copied()
        .filter(|r| carved.contains(r))
        .collect();
    let mut out = vec![FsGrant {
        path: grant.path.clone(),
        rights: keep,
    }];
    let below = if grant.path == "/" {
        carve
    } else {
        &carve[grant.path.len()..]
    };
    let mut dir = grant.path.clone();
    for comp in below.split('/').filter(|c| !c.is_empty()) {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(format!("listing {dir}: {e}")),
        };
        for (n, e) in entries.enumerate() {
            if n >= MAX_SIBLINGS {
                return Err(format!("{dir} has more than {MAX_SIBLINGS} entries"));
            }
            let e = e.map_err(|e| format!("listing {dir}: {e}"))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                return Err(format!("{dir} has an entry whose name is not UTF-8"));
            };
            if name == comp || e.file_type().is_ok_and(|t| t.is_symlink()) {
                continue;
            }
            out.push(FsGrant {
                path: format!("{}/{name}", dir.trim_end_matches('/')),
                rights: moved.clone(),
            });
        }
        dir = format!("{}/{comp}", dir.trim_end_matches('/'));
        if !std::path::Path::new(&dir).is_dir() {
            break; // the carve (or its way) is not there, or is a file
        }
    }
    Ok(out)
}

/// An existing file the policy refuses reading with an errno the kernel's open
/// cannot give it (Landlock answers `EACCES`, a refusing tripwire `EPERM`): the
/// standard profiles' `deny(ENOENT) read npm_user_config`, which npm needs to see
/// as absent. Such a run keeps opens mediated (literal patterns only: a glob's
/// matches answer `EACCES`/`EPERM`, documented).
fn errno_the_kernel_cannot_give(ir: &claw_ir::Ir, plan: &IsolatedPlan, env: &Env) -> Option<String> {
    let nr = ir.table().by_name("openat").map_or(0, |s| s.nr);
    for t in plan.tripwires.iter().filter(|t| t.refuses) {
        let Some(p) = exact(&t.pattern)
            .filter(|e| !e.contains("**"))
            .and_then(|e| env.expand(&e))
        else {
            continue;
        };
        if std::fs::symlink_metadata(&p).is_err() {
            continue;
        }
        let accesses = [claw_ir::Access::Path {
            verb: Verb::Read,
            path: p.clone(),
        }];
        for state in 0..ir.states.len() as u32 {
            let req = claw_ir::Request {
                nr,
                args: [libc::AT_FDCWD as u64, 0, libc::O_RDONLY as u64, 0, 0, 0],
                accesses: &accesses,
            };
            if let claw_ir::Action::Deny(e) = ir.decide(state, &req, env).action {
                let e = i32::from(e);
                if e != libc::EACCES && e != libc::EPERM {
                    let shown = std::io::Error::from_raw_os_error(e).to_string();
                    let shown = shown.split(" (os error").next().unwrap_or("");
                    return Some(format!(
                        "{}: the policy refuses reading {p} with errno {e} ({shown}), which a kernel-decided open cannot answer",
                        t.origins.first().map_or("", String::as_str),
                ));
                }
            }
        }
    }
    None
}

/// The artifact's isolated plan (section 5): `clawc compile` writes it only
/// when translation validation proved it implements the policy in every state,
/// so the run takes it as written and never computes one of its own (an
/// unproved plan must not decide opens). Without one, says why: the policy's
/// rules that force mediated opens, or that the proof did not succeed.
fn proved_plan(artifact: &Artifact) -> Result<IsolatedPlan, String> {
    if let Some(plan) = &artifact.isolated {
        return Ok(plan.clone());
    }
    Err(match artifact.ir.isolated_plan() {
        Err(reasons) => {
            let shown: Vec<String> = reasons.iter().take(3).map(|r| r.to_string()).collect();
            let more = reasons.len().saturating_sub(3);
            format!(
                "the policy needs mediated opens: {}{}",
                shown.join("; "),
                if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                }
            )
        }
        Ok(_) => "the artifact has no proved isolated plan (`clawc compile` says why)".to_string(),
    })
}

/// Prepares isolated files for `artifact` with `env`, or says why not.
pub fn prepare(artifact: &Artifact, env: &Env, noexec: &[String]) -> Result<Files, String> {
    let plan = proved_plan(artifact)?;
    if let Some(why) = errno_the_kernel_cannot_give(&artifact.ir, &plan, env) {
        return Err(why);
    }
    let landlock = concrete_landlock(&plan, env, noexec)?;
    let program =
        claw_bpf::compile_isolated(&artifact.ir, &plan).map_err(|e| format!("the isolated filter: {e}"))?;
    claw_bpf::validate(&program).map_err(|e| format!("the isolated filter: {e}"))?;
    let tripwires = Arc::new(match crate::fusewire::Kind::asked()? {
        crate::fusewire::Kind::Fuse => Tripwires::new_fuse(plan.clone(), env.clone())?,
        crate::fusewire::Kind::Fanotify => Tripwires::new(plan.clone(), env.clone())?,
    });
    // The secret cache only where no state lets the agent write it (a poisoned
    // cache would hide secrets).
    if let Some(file) = crate::discover::SecretCache::file_for() {
        if let Some(dir) = file.parent() {
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        }
        let mut one = file.as_os_str().to_owned();
        one.push("-0000000000000000.txt");
        if crate::audit::out_of_reach(&artifact.ir, env, &file).is_ok()
            && crate::audit::out_of_reach(&artifact.ir, env, std::path::Path::new(&one)).is_ok()
        {
            tripwires.set_cache(file);
        }
    }
    Ok(Files {
        plan,
        program,
        landlock,
        tripwires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_ir::isolate::Carve;
    use claw_ir::landlock::FsRight;

    fn plan(grants: &[(&str, &[FsRight])], carves: &[(Verb, &str)]) -> IsolatedPlan {
        IsolatedPlan {
            landlock: LandlockPlan {
                handled_fs: vec![FsRight::Execute, FsRight::ReadFile, FsRight::WriteFile],
                fs: grants
                    .iter()
                    .map(|(p, r)| FsGrant {
                        path: p.to_string(),
                        rights: r.to_vec(),
                    })
                    .collect(),
                ..LandlockPlan::default()
            },
            literal_grants: vec!["/".into()],
            carves: carves
                .iter()
                .map(|(v, p)| Carve {
                    verb: *v,
                    pattern: p.to_string(),
                    origin: "p:1".into(),
                })
                .collect(),
            tripwires: vec![],
            monitored: vec![],
            routes: vec![],
            stricter: vec![],
            looser: vec![],
        }
    }

    /// The embedded default profile has an isolated plan, and its isolated filter
    /// returns what the plan says for every syscall number and open flag tried.
    #[test]
    fn the_default_profile_runs_isolated_and_its_filter_is_the_plans() {
        let bytes = include_bytes!("../default/coding_agent.x86_64.bin");
        let art = Artifact::from_bytes(bytes).unwrap();
        // The plan the run takes: the artifact's, proved by `clawc compile`.
        let plan = proved_plan(&art).unwrap_or_else(|r| panic!("{r}"));
        assert_eq!(Some(&plan), art.isolated.as_ref());
        assert!(
            plan.tripwires.iter().any(|t| t.pattern == "/**/.env"),
            "{:?}",
            plan.tripwires
        );
        let prog = claw_bpf::compile_isolated(&art.ir, &plan).unwrap();
        let arch = art.ir.arch.audit_arch();
        let table = art.ir.table();
        let flags = [
            0u64,
            0o1,
            0o2,
            0o100,
            0o200000,
            0o1000,
            0o2000,
            0o10000000,
            0o20200000,
            0o20000000,
            0o10200000,
            1 << 32 | 0o100,
            1 << 40,
        ];
        // openat's dirfd: AT_FDCWD (its 32 bits, sign-extended or not, and with
        // the upper half set), a descriptor, and a value one off.
        let cwd = libc::AT_FDCWD as i64 as u64;
        let dirfds = [
            0u64,
            5,
            cwd,
            cwd & 0xffff_ffff,
            1 << 32 | (cwd & 0xffff_ffff),
            cwd + 1,
        ];
        for nr in 0..table.nr_limit() + 2 {
            for f in flags {
                let mut cases = vec![[0, f, 0, 0, 0, 0], [f; 6]];
                cases.extend(dirfds.map(|d| [d, 0, f, 0, 0, 0]));
                for args in cases {
                    let data = claw_bpf::SeccompData {
                        nr,
                        arch,
                        instruction_pointer: 0,
                        args,
                    };
                    let (got, _) = claw_bpf::run(&prog, &data).unwrap();
                    let want = match plan.filter_outcome(&art.ir, arch, nr, &args) {
                        claw_ir::FilterOutcome::KillProcess => claw_bpf::RET_KILL_PROCESS,
                        claw_ir::FilterOutcome::Notify => claw_bpf::RET_USER_NOTIF,
                        claw_ir::FilterOutcome::Act(a) => claw_bpf::ret_value(a),
                    };
                    assert_eq!(got, want, "nr {nr} args {args:?}");
                }
            }
        }
        // And the ordinary open is the kernel's.
        let openat = table.by_name("openat").unwrap().nr;
        let data = claw_bpf::SeccompData {
            nr: openat,
            arch,
            instruction_pointer: 0,
            args: [0; 6],
        };
        assert_eq!(claw_bpf::run(&prog, &data).unwrap().0, claw_bpf::RET_ALLOW);
        // A tree walk's directory open relative to a descriptor is the kernel's;
        // from the working directory, and any O_TMPFILE, the monitor's.
        let run = |dirfd: u64, flags: u64| {
            let args = [dirfd, 0, flags, 0, 0, 0];
            claw_bpf::run(&prog, &claw_bpf::SeccompData { args, ..data })
                .unwrap()
                .0
        };
        let (dir, tmpfile) = (libc::O_DIRECTORY as u64, (libc::O_TMPFILE | libc::O_RDWR) as u64);
        assert_eq!(run(5, dir), claw_bpf::RET_ALLOW);
        assert_eq!(run(cwd, dir), claw_bpf::RET_USER_NOTIF);
        assert_eq!(run(5, tmpfile), claw_bpf::RET_USER_NOTIF);
        assert_eq!(run(cwd, tmpfile), claw_bpf::RET_USER_NOTIF);
    }

    /// Without a proved plan in the artifact the run keeps mediated opens, even
    /// where the policy has a plan (an unproved plan never decides opens), and
    /// says why.
    #[test]
    fn an_artifact_without_a_proved_plan_runs_mediated_opens() {
        let bytes = include_bytes!("../default/coding_agent.x86_64.bin");
        let mut art = Artifact::from_bytes(bytes).unwrap();
        assert!(art.ir.isolated_plan().is_ok());
        art.isolated = None;
        let why = proved_plan(&art).unwrap_err();
        assert!(why.contains("no proved isolated plan"), "{why}");
        let env = Env::new();
        let Err(why) = prepare(&art, &env, &[]) else {
            panic!("prepared isolated files without a proved plan")
        };
        assert!(why.contains("no proved isolated plan"), "{why}");
    }

    #[test]
    fn carves_subtract_or_refuse() {
        use FsRight::*;
        let mut env = Env::new();
        env.set("WORKSPACE", "/tmp/ws");
        // The workspace inside /tmp: `deny exec /tmp/**` takes exec from it.
        let p = plan(
            &[
                ("$WORKSPACE", &[ReadFile, Execute]),
                ("/", &[ReadFile]),
                ("/usr", &[Execute]),
            ],
            &[(Verb::Exec, "/tmp/**")],
        );
        let l = concrete_landlock(&p, &env, &[]).unwrap();
        let ws = l.fs.iter().find(|g| g.path == "/tmp/ws").unwrap();
        assert_eq!(ws.rights, vec![ReadFile]);
        assert!(
            l.fs.iter().all(|g| g.path != "/"),
            "a literal directory is not granted"
        );
        // A write carve inside a write grant: the grant becomes its siblings'.
        let d = tempfile::tempdir().unwrap();
        let srv = d.path().to_str().unwrap().to_string();
        for sub in ["keep", "a", "b"] {
            std::fs::create_dir(d.path().join(sub)).unwrap();
        }
        std::fs::create_dir(d.path().join("keep/inner")).unwrap();
        std::fs::write(d.path().join("f"), "").unwrap();
        std::os::unix::fs::symlink("/", d.path().join("up")).unwrap();
        let p = plan(
            &[(&srv, &[ReadFile, WriteFile])],
            &[(Verb::Write, &format!("{srv}/keep/inner/**"))],
        );
        let l = concrete_landlock(&p, &env, &[]).unwrap();
        let mut got: Vec<(String, Vec<FsRight>)> =
            l.fs.iter()
                .map(|g| (g.path.trim_start_matches(&srv).to_string(), g.rights.clone()))
                .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("".to_string(), vec![ReadFile]),
                ("/a".to_string(), vec![WriteFile]),
                ("/b".to_string(), vec![WriteFile]),
                ("/f".to_string(), vec![WriteFile]),
            ],
            "no grant on the carve's way, its siblings, or a symlink"
        );
        // An exec carve inside an exec grant is the noexec mount's.
        let p = plan(&[("/srv", &[Execute])], &[(Verb::Exec, "/srv/tmp/**")]);
        let l = concrete_landlock(&p, &env, &["/srv/tmp".into()]).unwrap();
        assert_eq!(l.fs[0].rights, vec![Execute]);
        // Without the mount it is carved out (nothing there: no grant is left).
        assert!(concrete_landlock(&p, &env, &[]).unwrap().fs.is_empty());
    }
}
