//! The isolated-mode plan: which layer decides each file request when the kernel
//! performs opens itself, derived from the IR alone (no path values), and the
//! reasons a policy cannot have one.
//!
//! # The plan
//!
//! In isolated mode the sandbox runs in its own mount namespace and:
//! - **Landlock** ([`IsolatedPlan::landlock`]) carries every path rule on `read`,
//!   `write`, `append` and `exec` as exact path-beneath grants: a rule's pattern is
//!   a literal path or `DIR/**` with a literal `DIR` (after the leading `$VAR`),
//!   which are exactly the sets Landlock grants (`DIR/**` is `DIR` and everything
//!   below it, as the glob semantics say). A literal path that is a *directory* at
//!   run time cannot be granted alone (Landlock would grant its subtree): the
//!   runtime grants it nothing, and the plan sends `O_DIRECTORY` opens looked up
//!   from the working directory (`open`, `openat` from `AT_FDCWD`) to the monitor
//!   (see [`IsolatedPlan::stricter`] for the spellings this refuses).
//! - **Carves** ([`IsolatedPlan::carves`]): an exact `deny` on `write`/`append`/
//!   `exec` in every state. At run time a grant inside a carve is dropped, a carve
//!   for `exec` strictly inside a grant becomes a `noexec` mount, and any other
//!   carve strictly inside a grant is expanded by the runtime into grants on the
//!   entries beside the carve's path, as the directories are at launch
//!   (`claw_runtime::isofiles::carve_out`: only paths inside the grant and outside
//!   the carve are granted, so Landlock stays within this plan); where it cannot
//!   (too many entries, an unlistable directory) the runtime falls back to mediated
//!   opens and names the rule.
//! - **Tripwires** ([`IsolatedPlan::tripwires`]): the patterns whose opens the
//!   monitor decides one by one — the patterns of transitions on `read` (`on read
//!   secrets`) and of `deny`/`kill` rules on `read`. Every existing file or
//!   directory matching one, inside a tree Landlock lets the agent read, gets a
//!   tripwire (a fanotify permission mark on its inode, or a FUSE file mounted over
//!   it); its open blocks until the monitor has decided it as a `read` of that path
//!   with [`Ir::decide`] and fired [`Ir::next_state`] — before the agent gets a
//!   byte. A tripwire whose pattern is denied in every state refuses every open
//!   (`visible` but unreadable). A tripwire cannot see an open's mode, so it counts
//!   every open as a read: an open for writing only may fire a transition that the
//!   mediated monitor would not (stricter).
//! - **Per-process `/proc` entries**: allow rules on `/proc/self/...`,
//!   `/proc/thread-self/...` (or `/proc/<pid>/...`) name a different file for
//!   every process, which Landlock cannot tie to the caller, and the kernel
//!   refuses fanotify permission marks on procfs (`EINVAL`). The plan grants
//!   `read` below the whole (private) `/proc` instead: the one place where the
//!   kernel allows more than the IR ([`IsolatedPlan::looser`]). What that adds is
//!   reading the sandbox's *own* processes' entries and the kernel's
//!   world-readable files: isolated mode's `/proc` shows no process outside the
//!   sandbox, no write right is granted there (`/proc/self/mem` stays refused),
//!   and a file of the user's is never below `/proc`; entries reached through
//!   magic links (`/proc/self/fd/N`, `/proc/<pid>/root/...`) are decided by
//!   Landlock and the tripwires on the object they name, not by this grant.
//!   Without per-process rules, `/proc` patterns are granted exactly.
//!   ([`IsolatedPlan::monitored`], subtrees whose every open the monitor would
//!   decide, is kept for a tripwire kind that can watch them; it is empty.)
//! - **Routes** ([`IsolatedPlan::routes`]): `open` and `openat` are decided in the
//!   kernel (ALLOW) unless `O_CREAT` is set or `O_TMPFILE`'s own bit
//!   (`__O_TMPFILE`, which `O_TMPFILE` sets with `O_DIRECTORY`) is — a creation
//!   may make a new secret — or, when the policy has literal grants, `O_DIRECTORY`
//!   is on an `open`, or on an `openat` whose `dirfd` is `AT_FDCWD` (compared on
//!   its 32 bits, as the kernel reads an `int`): those are notified (see above, and
//!   "Directories" below). Every other syscall keeps
//!   its mediated route ([`Ir::route`]); the plan requires that creations and
//!   renames (`creat`, `openat2`, `mkdir*`, `mknod*`, `rename*`, `link*`) are
//!   routed to the monitor, so a name the agent makes that matches a tripwire
//!   pattern becomes a tripwire at once.
//!
//! # Why it implements the policy
//!
//! For an open the kernel performs (no `O_CREAT`, no `O_TMPFILE`; for `O_DIRECTORY`
//! see "Directories" below) of canonical
//! path `p` with verbs `V` (from the flags, [`crate::mediation::open_verbs`]) in
//! state `s`:
//! 1. *`visible`* is allowed for every path in every state and nothing denies or
//!    logs it (else no plan), so `O_PATH` opens, which Landlock does not check,
//!    are what the IR says.
//! 2. If `p` matches no tripwire pattern, the rules that can match `(v, p)` for
//!    `v ∈ V` are allow rules in every state (state-independent: else no plan) and
//!    exact carves; `write` and `append` are granted on the same patterns (else
//!    no plan), because Landlock has one right for both. So the IR allows iff `p`
//!    is inside a grant with `v`'s rights and not inside a carve for `v`, which is
//!    what the runtime's ruleset and noexec mounts enforce; the IR's errno for a
//!    refusal is the policy's, Landlock's is `EACCES` (documented).
//! 3. If `p` matches a tripwire pattern and exists at start-up, was created or
//!    renamed by the agent (notified: the monitor marks it), or was created outside
//!    and seen by the watcher, the monitor decides the open as the IR does for a
//!    `read` of `p` (a superset of what `V` may need when `V` lacks `read`) and
//!    fires the transition before answering. The window of a secret created by a
//!    process outside the sandbox is the one gap, stated in docs/threat-model.md.
//! 4. No transition is on `write`, `append`, `exec` or `visible` paths (else no
//!    plan), and path-rule decisions do not depend on the state outside tripwires,
//!    so no transition is missed and no state changes a kernel decision.
//!
//! Every other request has its mediated route and decision.
//!
//! # Directories
//!
//! An `openat` with `O_DIRECTORY` relative to a directory descriptor (a tree
//! walk's `openat(fd, "sub", O_RDONLY|O_DIRECTORY|...)`), and every `O_DIRECTORY`
//! open of a policy without literal grants, is performed by the kernel too. It is
//! decided as the same open without `O_DIRECTORY`, which the kernel already
//! performs (flags with neither `O_CREAT` nor `__O_TMPFILE`), or refused before:
//! `O_DIRECTORY` only adds `LOOKUP_DIRECTORY` to the lookup (the same object is
//! reached: symlinks are followed or not as without it) and `ENOTDIR` when that
//! object is no directory, checked in `do_open` before `may_open` and
//! `security_file_open`. So no such open is allowed that the same open without
//! `O_DIRECTORY` is not, and that one is decided as above, with directories:
//! - an open for writing of a directory is the kernel's `EISDIR` (`may_open`)
//!   before Landlock is asked; `O_PATH | O_DIRECTORY` is not checked by Landlock
//!   (`do_dentry_open` returns before `security_file_open`) and is `visible`,
//!   allowed everywhere (1.);
//! - a directory opened for reading needs Landlock's `READ_DIR` at its place,
//!   which only `DIR/**` grants with `read` give (a literal grant that is a
//!   directory is not given to Landlock): exactly where the IR allows reading it
//!   (`DIR/**` matches `DIR` and everything below);
//! - a secret directory carries a tripwire (its fanotify mark has `FAN_ONDIR`),
//!   which decides the open as a `read` of its path, as for the ordinary `O_RDONLY`
//!   open of a directory without `O_DIRECTORY`.
//!
//! The one difference from the IR is stricter ([`IsolatedPlan::stricter`]): a
//! directory granted alone by a literal pattern (the default profile's `allow read
//! root`, `/`) is refused `EACCES` by Landlock when opened relative to a directory
//! descriptor, or by an absolute path with a `dirfd` other than `AT_FDCWD` (the
//! kernel ignores `dirfd` for an absolute path, so the filter cannot tell): only
//! `open`, or `openat` from `AT_FDCWD`, with `O_DIRECTORY` reaches the monitor,
//! which grants it. `O_CREAT | O_DIRECTORY` (`EINVAL` since Linux 6.4) is notified
//! by the first rule, and `O_TMPFILE` (a creation, in any directory) by its bit,
//! whatever the `dirfd`.
//!
//! This module knows the IR; it does not know path values, the running kernel, or
//! how a tripwire is implemented.

use crate::landlock::{beneath, rights_of, FsGrant, FsRight, LandlockPlan};
use crate::route::{FilterOutcome, Route, X32_BIT};
use crate::{Action, ArgCond, CmpOp, Entity, Ir, Matcher, Verb};
use claw_stdlib::Arch;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why a policy cannot run in isolated mode: the rule (its origin) and what about
/// it the plan cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// `policy.claw:12`, or empty for the policy as a whole (its default).
    pub origin: String,
    /// What about the rule the plan cannot carry.
    pub why: String,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.origin.is_empty() {
            f.write_str(&self.why)
        } else {
            write!(f, "{}: {}", self.origin, self.why)
        }
    }
}

/// What the isolated filter does for one case of a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IsoAction {
    /// Decided in the kernel.
    Act(Action),
    /// SECCOMP_RET_USER_NOTIF: the monitor decides.
    Notify,
}

/// One argument-conditioned case (all conditions must hold).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IsoArgRule {
    /// The conditions on the registers.
    pub conds: Vec<ArgCond>,
    /// What the filter does when they hold.
    pub action: IsoAction,
}

/// The isolated route of one syscall: the first rule whose conditions hold, else
/// `fallback`. Replaces the mediated route of `nr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IsoRoute {
    /// The syscall number.
    pub nr: u32,
    /// The cases, first match wins.
    pub rules: Vec<IsoArgRule>,
    /// What the filter does when no case holds.
    pub fallback: IsoAction,
}

impl IsoRoute {
    /// What the isolated filter does for these registers.
    pub fn eval(&self, args: &[u64; 6]) -> IsoAction {
        self.rules
            .iter()
            .find(|r| r.conds.iter().all(|c| c.holds(args)))
            .map_or(self.fallback, |r| r.action)
    }
}

/// A pattern whose existing matches become tripwires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tripwire {
    /// A path pattern (may start with `$VAR`).
    pub pattern: String,
    /// Denied `read` in every state: the tripwire refuses every open.
    pub refuses: bool,
    /// The rules and transitions that made it one.
    pub origins: Vec<String>,
}

/// An exact `deny` on a file verb in every state, subtracted from the grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carve {
    /// The verb denied.
    pub verb: Verb,
    /// Literal path or `DIR/**` (may start with `$VAR`).
    pub pattern: String,
    /// The rule that denies it (`policy.claw:12`).
    pub origin: String,
}

/// The isolated-mode plan of a policy (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolatedPlan {
    /// Exact grants (`DIR/**` → `DIR`, a literal → itself); a grant whose value is
    /// a directory at run time and came from a literal is skipped by the runtime
    /// ([`IsolatedPlan::literal_grants`] says which).
    pub landlock: LandlockPlan,
    /// Grant paths that came from literal patterns (not `DIR/**`).
    pub literal_grants: Vec<String>,
    /// Exact denies subtracted from the grants.
    pub carves: Vec<Carve>,
    /// The secret patterns whose existing matches become tripwires.
    pub tripwires: Vec<Tripwire>,
    /// Subtrees every open below which the monitor decides (`/proc`).
    pub monitored: Vec<String>,
    /// Syscalls whose isolated route differs from [`Ir::route`].
    pub routes: Vec<IsoRoute>,
    /// Where the kernel refuses what the IR allows.
    pub stricter: Vec<String>,
    /// Where the kernel allows what the IR refuses, and why that is accepted:
    /// only reading below the sandbox's private `/proc` (see the module doc).
    #[serde(default)]
    pub looser: Vec<String>,
}

/// The file verbs Landlock carries.
const FILE_VERBS: [Verb; 4] = [Verb::Read, Verb::Write, Verb::Append, Verb::Exec];

/// Syscalls that create or rename names: they must reach the monitor so a name
/// matching a tripwire pattern becomes a tripwire at once.
pub const NAMING_SYSCALLS: &[&str] = &[
    "creat",
    "openat2",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
];

/// Syscalls that open files without creating, given to the kernel.
pub const KERNEL_OPENS: &[&str] = &["open", "openat"];

/// Is `pattern` exactly a Landlock grant: a literal path, or `DIR/**` with a
/// literal `DIR`? Returns the grant path.
pub fn exact(pattern: &str) -> Option<String> {
    let wild = |s: &str| s.contains(['*', '?']);
    if !wild(pattern) {
        return Some(pattern.to_string());
    }
    let dir = pattern.strip_suffix("/**")?;
    (!wild(dir) && !dir.is_empty()).then(|| dir.to_string())
}

/// Does `pattern` name per-process `/proc` entries (`/proc/self/...`,
/// `/proc/thread-self/...`, `/proc/<pid>/...`, `/proc/*/...`)?
fn is_per_process(pattern: &str) -> bool {
    let Some(rest) = pattern.strip_prefix("/proc/") else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or("");
    first == "self"
        || first == "thread-self"
        || first.contains(['*', '?'])
        || (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
}

fn all_states(ir: &Ir, states: &Option<Vec<u32>>) -> bool {
    match states {
        None => true,
        Some(s) => (0..ir.states.len() as u32).all(|i| s.contains(&i)),
    }
}

fn const_of(name: &str, arch: Arch) -> u64 {
    claw_stdlib::constants::by_name(name).map_or(0, |c| c.value(arch) as u64)
}

impl Ir {
    /// The isolated plan, or every reason this policy needs the mediated mode.
    pub fn isolated_plan(&self) -> Result<IsolatedPlan, Vec<Reason>> {
        let mut reasons: Vec<Reason> = Vec::new();
        let mut why = |origin: &str, why: String| {
            reasons.push(Reason {
                origin: origin.to_string(),
                why,
            })
        };
        if self.default.is_allowing() {
            why(
                "",
                "the default allows: Landlock grants, it cannot subtract from everything".into(),
            );
        }
        let table = self.table();
        // Syscall-level rules on the syscalls whose opens the kernel would perform.
        let opens: Vec<u32> = KERNEL_OPENS
            .iter()
            .filter_map(|n| table.by_name(n).map(|s| s.nr))
            .collect();
        for r in &self.rules {
            if let Matcher::Syscall { nr, .. } = &r.matcher {
                if opens.contains(nr) {
                    why(
                        &r.origin,
                        "a syscall rule on an open decides every path the same way; Landlock decides by path"
                            .into(),
                    );
                }
            }
        }

        // 1. Tripwires: patterns of transitions on `read`, and of deny/kill on `read`.
        let mut trip: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
        for t in &self.transitions {
            if let Matcher::Access {
                verbs,
                entity: Entity::Paths(pats),
            } = &t.event
            {
                if verbs.iter().any(|v| *v != Verb::Read) {
                    why(
                        &t.origin,
                        format!(
                            "a transition on {}: a tripwire sees opens, not what they do",
                            verbs.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
                for p in pats {
                    trip.entry(p.clone()).or_default().1.push(t.origin.clone());
                }
            }
        }
        for r in &self.rules {
            let Matcher::Access {
                verbs,
                entity: Entity::Paths(pats),
            } = &r.matcher
            else {
                continue;
            };
            if r.action == Action::Log
                && verbs
                    .iter()
                    .any(|v| FILE_VERBS.contains(v) || *v == Verb::Visible)
            {
                why(
                    &r.origin,
                    "a `log` rule on files: the kernel's opens are not audited".into(),
                );
                continue;
            }
            if !matches!(r.action, Action::Deny(_) | Action::Kill) {
                continue;
            }
            if verbs.contains(&Verb::Visible) {
                why(
                    &r.origin,
                    "`deny visible`: Landlock does not restrict stat, and O_PATH opens reach the kernel"
                        .into(),
                );
            }
            if verbs.contains(&Verb::Read) {
                if r.action == Action::Kill {
                    why(
                        &r.origin,
                        "`kill` on reading files: a tripwire can refuse, not kill".into(),
                    );
                }
                let every = all_states(self, &r.states) && matches!(r.action, Action::Deny(_));
                for p in pats {
                    let e = trip.entry(p.clone()).or_default();
                    e.0 |= every;
                    e.1.push(r.origin.clone());
                }
            }
        }
        // A tripwire refuses only if its pattern is denied `read` in every state
        // by some rule (computed above); one that a transition also names keeps
        // the IR's decision per state, which the monitor makes anyway.

        // 2. Carves: deny on write/append/exec.
        let mut carves: Vec<Carve> = Vec::new();
        for r in &self.rules {
            let Matcher::Access {
                verbs,
                entity: Entity::Paths(pats),
            } = &r.matcher
            else {
                continue;
            };
            if !matches!(r.action, Action::Deny(_) | Action::Kill) {
                continue;
            }
            for v in verbs
                .iter()
                .filter(|v| matches!(v, Verb::Write | Verb::Append | Verb::Exec))
            {
                if r.action == Action::Kill || !all_states(self, &r.states) {
                    why(
                        &r.origin,
                        format!(
                            "`{} {}` in some states only: Landlock's rules cannot change",
                            r.action,
                            v.name()
                        ),
                    );
                    continue;
                }
                for p in pats {
                    match exact(p) {
                        Some(_) => carves.push(Carve {
                            verb: *v,
                            pattern: p.clone(),
                            origin: r.origin.clone(),
                        }),
                        None => why(
                            &r.origin,
                            format!(
                                "`deny {}` on the glob {p}: Landlock cannot subtract a glob",
                                v.name()
                            ),
                        ),
                    }
                }
            }
        }

        // 3. Grants: allow rules on file verbs.
        let mut grants: BTreeMap<String, BTreeSet<FsRight>> = BTreeMap::new();
        let mut literal: BTreeSet<String> = BTreeSet::new();
        let monitored: BTreeSet<String> = BTreeSet::new();
        let mut per_process: BTreeSet<String> = BTreeSet::new();
        let mut write_pats: BTreeSet<String> = BTreeSet::new();
        let mut append_pats: BTreeSet<String> = BTreeSet::new();
        let mut visible_everywhere = vec![false; self.states.len()];
        for r in &self.rules {
            let Matcher::Access {
                verbs,
                entity: Entity::Paths(pats),
            } = &r.matcher
            else {
                continue;
            };
            if !r.action.is_allowing() {
                continue;
            }
            if verbs.contains(&Verb::Visible) && r.action == Action::Allow && pats.iter().any(|p| p == "/**")
            {
                for (s, seen) in visible_everywhere.iter_mut().enumerate() {
                    *seen |= r.in_state(s as u32);
                }
            }
            let fv: Vec<Verb> = verbs.iter().copied().filter(|v| FILE_VERBS.contains(v)).collect();
            if fv.is_empty() {
                continue;
            }
            let every = all_states(self, &r.states);
            for p in pats {
                if trip.contains_key(p) {
                    // Decided by the tripwire's monitor with the IR, per state.
                    continue;
                }
                if !every {
                    why(
                        &r.origin,
                        format!("`allow` on {p} in some states only: Landlock's rules cannot change"),
                    );
                    continue;
                }
                if fv.contains(&Verb::Write) {
                    write_pats.insert(p.clone());
                }
                if fv.contains(&Verb::Append) {
                    append_pats.insert(p.clone());
                }
                if is_per_process(p) {
                    if fv.iter().any(|v| *v != Verb::Read) {
                        why(
                            &r.origin,
                            format!("writing or executing per-process /proc entries ({p}): Landlock cannot tie them to the caller"),
                        );
                        continue;
                    }
                    // Granted as the whole private /proc: looser (module doc).
                    per_process.insert(p.clone());
                    grants
                        .entry("/proc".to_string())
                        .or_default()
                        .extend(rights_of(Verb::Read).iter().copied());
                    continue;
                }
                let Some(path) = exact(p) else {
                    why(
                        &r.origin,
                        format!(
                            "the glob {p} is not `DIR/**` nor a secret: Landlock grants whole trees or single files"
                        ),
                    );
                    continue;
                };
                if path == p.as_str() {
                    literal.insert(path.clone());
                }
                let e = grants.entry(path).or_default();
                for v in &fv {
                    e.extend(rights_of(*v).iter().copied());
                }
            }
        }
        for (s, ok) in visible_everywhere.iter().enumerate() {
            if !ok {
                why(
                    "",
                    format!(
                        "`visible` is not allowed on every path in state {}: O_PATH opens and stat reach the kernel",
                        self.states.get(s).map_or("?", |n| if n.is_empty() { "(the only one)" } else { n.as_str() })
                    ),
                );
            }
        }
        for t in &self.transitions {
            if let Matcher::Access { verbs, .. } = &t.event {
                if verbs.contains(&Verb::Visible) {
                    why(
                        &t.origin,
                        "a transition on `visible`: stat is the kernel's".into(),
                    );
                }
            }
        }
        if write_pats != append_pats {
            let only: Vec<&String> = write_pats.symmetric_difference(&append_pats).collect();
            why(
                "",
                format!(
                    "`write` and `append` differ on {}: Landlock has one right for both (append-only files need the monitor)",
                    only.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            );
        }

        // 4. Creations and renames must reach the monitor.
        if !trip.is_empty() {
            for name in NAMING_SYSCALLS {
                let Some(sc) = table.by_name(name) else { continue };
                if !matches!(self.route(sc.nr), Route::Monitor(_)) {
                    why(
                        "",
                        format!("{name} is decided in the kernel: a new name matching a secret would not become a tripwire"),
                    );
                }
            }
        }
        if !reasons.is_empty() {
            return Err(reasons);
        }

        // 5. The routes of the kernel's opens.
        let dir_opens = !literal.is_empty();
        let mut routes = Vec::new();
        for name in KERNEL_OPENS {
            let Some(sc) = table.by_name(name) else { continue };
            let (flags, dirfd) = match crate::mediation::of(name) {
                Some(crate::mediation::Mediation::Open { flags, dirfd, .. }) => (flags, dirfd),
                _ => continue,
            };
            let flag = |bit: u64| ArgCond {
                arg: flags,
                width: 32,
                mask: Some(bit),
                op: CmpOp::Ne,
                value: 0,
            };
            let o_directory = const_of("O_DIRECTORY", self.arch);
            // `O_TMPFILE` is `__O_TMPFILE | O_DIRECTORY`: its own bit, the same on
            // every architecture the tables know, is what makes an open a creation.
            let tmpfile_bit = const_of("O_TMPFILE", self.arch) & !o_directory;
            let mut rules = vec![
                IsoArgRule {
                    conds: vec![flag(const_of("O_CREAT", self.arch))],
                    action: IsoAction::Notify,
                },
                IsoArgRule {
                    conds: vec![flag(tmpfile_bit)],
                    action: IsoAction::Notify,
                },
            ];
            if dir_opens {
                let mut conds = vec![flag(o_directory)];
                // `openat`: only a path looked up from the working directory. One
                // relative to a directory descriptor (a tree walk's) is the kernel's.
                if let Some(dirfd) = dirfd {
                    conds.push(ArgCond {
                        arg: dirfd,
                        width: 32,
                        mask: None,
                        op: CmpOp::Eq,
                        value: const_of("AT_FDCWD", self.arch) & 0xffff_ffff,
                    });
                }
                rules.push(IsoArgRule {
                    conds,
                    action: IsoAction::Notify,
                });
            }
            routes.push(IsoRoute {
                nr: sc.nr,
                rules,
                fallback: IsoAction::Act(Action::Allow),
            });
        }
        let mut stricter = vec![format!(
            "Landlock refuses with EACCES where the policy's refusal is {}",
            self.default
        )];
        if dir_opens {
            stricter.push(
                "a directory granted alone (a literal pattern) is opened only with O_DIRECTORY by open, or by openat from AT_FDCWD (the monitor); without O_DIRECTORY, or relative to a directory descriptor (or an absolute path with a dirfd other than AT_FDCWD), Landlock refuses".into(),
            );
        }
        if !trip.is_empty() {
            stricter.push("an open of a tripwire counts as reading it, whatever its mode".into());
        }
        let mut looser = Vec::new();
        if !per_process.is_empty() {
            looser.push(format!(
                "reading below /proc: granted as a whole (the sandbox's private procfs) for the per-process rules {}",
                per_process.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
            ));
        }
        let handled: BTreeSet<FsRight> = FILE_VERBS.iter().flat_map(|v| rights_of(*v)).copied().collect();
        let base = self.landlock_plan();
        Ok(IsolatedPlan {
            landlock: LandlockPlan {
                handled_fs: handled.into_iter().collect(),
                fs: grants
                    .into_iter()
                    .map(|(path, rights)| FsGrant {
                        path,
                        rights: rights.into_iter().collect(),
                    })
                    .collect(),
                // The network namespace bounds sockets in isolated mode.
                tcp_connect: None,
                tcp_bind: None,
                scope_abstract_unix: base.scope_abstract_unix,
                scope_signal: base.scope_signal,
            },
            literal_grants: literal.into_iter().collect(),
            carves,
            tripwires: trip
                .into_iter()
                .map(|(pattern, (refuses, origins))| Tripwire {
                    pattern,
                    refuses,
                    origins,
                })
                .collect(),
            monitored: monitored.into_iter().collect(),
            routes,
            stricter,
            looser,
        })
    }
}

impl IsolatedPlan {
    /// The isolated route of `nr`, when it differs from the mediated one.
    pub fn route_of(&self, nr: u32) -> Option<&IsoRoute> {
        self.routes.iter().find(|r| r.nr == nr)
    }

    /// What the isolated filter must return for this `seccomp_data`.
    pub fn filter_outcome(&self, ir: &Ir, arch: u32, nr: u32, args: &[u64; 6]) -> FilterOutcome {
        if arch != ir.arch.audit_arch() {
            return FilterOutcome::KillProcess;
        }
        if ir.arch == Arch::X86_64 && nr >= X32_BIT {
            return FilterOutcome::KillProcess;
        }
        match self.route_of(nr) {
            Some(r) => match r.eval(args) {
                IsoAction::Act(a) => FilterOutcome::Act(a),
                IsoAction::Notify => FilterOutcome::Notify,
            },
            None => ir.filter_outcome(arch, nr, args),
        }
    }

    /// Is `path` (expanded) a tripwire's match?
    pub fn is_secret(&self, env: &crate::Env, path: &str) -> bool {
        self.tripwires.iter().any(|t| env.matches(&t.pattern, path))
    }

    /// Where tripwires must be looked for: the parts of the trees Landlock lets
    /// the agent read (`DIR/**` grants) that a tripwire pattern's literal prefix
    /// covers, and literal grants that are themselves secrets. A secret outside
    /// every readable tree cannot be opened by the kernel, so needs none (a
    /// literal grant that is a directory is not granted by the runtime).
    /// Expanded with `env`; a root may not exist.
    pub fn discovery_roots(&self, env: &crate::Env) -> Vec<String> {
        let readable: Vec<String> = self
            .landlock
            .fs
            .iter()
            .filter(|g| g.rights.contains(&FsRight::ReadFile) && !self.monitored.contains(&g.path))
            // No file of the user's is below /proc.
            .filter(|g| g.path != "/proc" && !g.path.starts_with("/proc/"))
            .filter(|g| !self.literal_grants.contains(&g.path))
            .filter_map(|g| env.expand(&g.path))
            .collect();
        let inside = |a: &str, b: &str| b == "/" || a == b || a.starts_with(&format!("{b}/"));
        let mut roots: BTreeSet<String> = BTreeSet::new();
        for t in &self.tripwires {
            let Some(p) = env.expand(&beneath(&t.pattern)) else {
                continue;
            };
            for g in &readable {
                if inside(&p, g.as_str()) {
                    roots.insert(p.clone());
                } else if inside(g.as_str(), &p) {
                    roots.insert(g.clone());
                }
            }
        }
        for l in self.literal_grants.iter().filter_map(|l| env.expand(l)) {
            if self.is_secret(env, &l) {
                roots.insert(l);
            }
        }
        // Drop roots inside other roots.
        let all: Vec<String> = roots.iter().cloned().collect();
        roots.retain(|r| !all.iter().any(|o| o != r && inside(r, o)));
        roots.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Env, Rule, Transition};
    use claw_stdlib::SyscallTable;

    fn access(action: Action, verbs: &[Verb], pats: &[&str]) -> Rule {
        Rule {
            action,
            states: None,
            matcher: Matcher::Access {
                verbs: verbs.to_vec(),
                entity: Entity::Paths(pats.iter().map(|s| s.to_string()).collect()),
            },
            origin: format!("p.claw:{}", pats[0]),
        }
    }

    /// The default profile's file rules, in miniature.
    fn coding() -> Ir {
        use Verb::*;
        Ir {
            name: "t".into(),
            arch: Arch::X86_64,
            default: Action::Deny(1),
            states: vec!["clean".into(), "tainted".into()],
            initial: 0,
            rules: vec![
                access(Action::Allow, &[Read, Visible, Exec], &["/usr/**", "/etc/**"]),
                access(
                    Action::Allow,
                    &[Read, Visible],
                    &["/proc/self/status", "/proc/cpuinfo"],
                ),
                access(Action::Allow, &[Visible], &["/**"]),
                access(Action::Allow, &[Read], &["/"]),
                access(
                    Action::Allow,
                    &[Read, Write, Append, Visible],
                    &["/tmp/**", "/dev/null"],
                ),
                access(
                    Action::Allow,
                    &[Read, Write, Append, Visible, Exec],
                    &["$WORKSPACE/**"],
                ),
                access(Action::Deny(1), &[Exec], &["/tmp/**"]),
            ],
            transitions: vec![Transition {
                from: 0,
                to: 1,
                event: Matcher::Access {
                    verbs: vec![Read],
                    entity: Entity::Paths(vec!["/**/.env".into(), "~/.ssh/**".into()]),
                },
                origin: "p.claw:on".into(),
            }],
            assertions: vec![],
        }
    }

    #[test]
    fn per_process_proc_entries() {
        assert!(is_per_process("/proc/self/status"));
        assert!(is_per_process("/proc/thread-self/**"));
        assert!(is_per_process("/proc/12/maps"));
        assert!(is_per_process("/proc/*/stat"));
        assert!(!is_per_process("/proc/cpuinfo"));
        assert!(!is_per_process("/proc/sys/kernel/**"));
        assert!(!is_per_process("/etc/passwd"));
    }

    #[test]
    fn exact_patterns() {
        assert_eq!(exact("$WORKSPACE/**").as_deref(), Some("$WORKSPACE"));
        assert_eq!(exact("/etc/passwd").as_deref(), Some("/etc/passwd"));
        assert_eq!(exact("/src/*.rs"), None);
        assert_eq!(exact("/**/.env"), None);
        assert_eq!(exact("/a/*/b/**"), None);
    }

    #[test]
    fn the_default_profile_shape_has_a_plan() {
        let ir = coding();
        let plan = ir.isolated_plan().unwrap_or_else(|r| panic!("{r:?}"));
        let grant = |p: &str| {
            plan.landlock
                .fs
                .iter()
                .find(|g| g.path == p)
                .map(|g| g.rights.clone())
        };
        let usr = grant("/usr").unwrap();
        assert!(usr.contains(&FsRight::ReadFile) && usr.contains(&FsRight::Execute));
        assert!(!usr.contains(&FsRight::WriteFile));
        assert!(grant("$WORKSPACE").unwrap().contains(&FsRight::MakeReg));
        assert_eq!(
            grant("/proc/cpuinfo").unwrap(),
            vec![FsRight::ReadFile, FsRight::ReadDir]
        );
        assert_eq!(grant("/proc").unwrap(), vec![FsRight::ReadFile, FsRight::ReadDir]);
        assert!(grant("/proc/self/status").is_none());
        assert!(plan.monitored.is_empty());
        assert!(
            plan.looser.iter().any(|s| s.contains("/proc/self/status")),
            "{:?}",
            plan.looser
        );
        assert!(plan.literal_grants.contains(&"/".to_string()));
        assert_eq!(plan.carves.len(), 1);
        assert_eq!(plan.carves[0].verb, Verb::Exec);
        let pats: Vec<&str> = plan.tripwires.iter().map(|t| t.pattern.as_str()).collect();
        assert_eq!(pats, vec!["/**/.env", "~/.ssh/**"]);
        assert!(plan.tripwires.iter().all(|t| !t.refuses));

        // openat: O_CREAT, O_TMPFILE and O_DIRECTORY from AT_FDCWD are notified,
        // everything else allowed.
        let openat = SyscallTable::get(Arch::X86_64).by_name("openat").unwrap().nr;
        let arch = Arch::X86_64.audit_arch();
        let cwd = (-100i64) as u64;
        let at = |flags: u64| plan.filter_outcome(&ir, arch, openat, &[cwd, 0, flags, 0, 0, 0]);
        let at_fd = |fd: u64, flags: u64| plan.filter_outcome(&ir, arch, openat, &[fd, 0, flags, 0, 0, 0]);
        assert_eq!(at(0), FilterOutcome::Act(Action::Allow));
        assert_eq!(
            at(0o2 | 0o1000),
            FilterOutcome::Act(Action::Allow),
            "O_RDWR|O_TRUNC"
        );
        assert_eq!(at(0o100), FilterOutcome::Notify, "O_CREAT");
        assert_eq!(at(0o200000), FilterOutcome::Notify, "O_DIRECTORY");
        assert_eq!(
            at_fd(0xffff_ff9c, 0o200000),
            FilterOutcome::Notify,
            "AT_FDCWD, 32 bits"
        );
        assert_eq!(
            at_fd(0x1_ffff_ff9c, 0o200000),
            FilterOutcome::Notify,
            "dirfd: upper half ignored"
        );
        // Relative to a directory descriptor: the kernel's (a tree walk).
        assert_eq!(
            at_fd(5, 0o200000),
            FilterOutcome::Act(Action::Allow),
            "fd 5, O_DIRECTORY"
        );
        assert_eq!(
            at_fd(0, 0o200000),
            FilterOutcome::Act(Action::Allow),
            "fd 0, O_DIRECTORY"
        );
        assert_eq!(
            at_fd(0xffff_ff9d, 0o200000 | 0o400000 | 0o4000 | 0o2000000),
            FilterOutcome::Act(Action::Allow),
            "fts's flags"
        );
        assert_eq!(
            at_fd(0xffff_ff9d, 0o10000000 | 0o200000),
            FilterOutcome::Act(Action::Allow),
            "O_PATH|O_DIRECTORY"
        );
        // Creations stay notified from any descriptor.
        assert_eq!(
            at_fd(5, 0o100 | 0o200000),
            FilterOutcome::Notify,
            "O_CREAT|O_DIRECTORY"
        );
        for fd in [5, cwd] {
            assert_eq!(
                at_fd(fd, 0o20200000 | 0o2),
                FilterOutcome::Notify,
                "O_TMPFILE|O_RDWR"
            );
            assert_eq!(
                at_fd(fd, 0o20000000 | 0o1),
                FilterOutcome::Notify,
                "__O_TMPFILE alone"
            );
        }
        // open has no dirfd: O_DIRECTORY is notified whatever arg 0 holds.
        let open = SyscallTable::get(Arch::X86_64).by_name("open").unwrap().nr;
        let op = |flags: u64| plan.filter_outcome(&ir, arch, open, &[0, flags, 0, 0, 0, 0]);
        assert_eq!(op(0o200000), FilterOutcome::Notify, "open O_DIRECTORY");
        assert_eq!(op(0o20200000 | 0o2), FilterOutcome::Notify, "open O_TMPFILE");
        assert_eq!(op(0), FilterOutcome::Act(Action::Allow));
        // aarch64: O_DIRECTORY is 0o40000 there, __O_TMPFILE the same bit.
        let mut ir64 = coding();
        ir64.arch = Arch::Aarch64;
        let plan64 = ir64.isolated_plan().unwrap_or_else(|r| panic!("{r:?}"));
        let openat64 = SyscallTable::get(Arch::Aarch64).by_name("openat").unwrap().nr;
        let a64 = |fd: u64, flags: u64| {
            plan64.filter_outcome(
                &ir64,
                Arch::Aarch64.audit_arch(),
                openat64,
                &[fd, 0, flags, 0, 0, 0],
            )
        };
        assert_eq!(
            a64(cwd, 0o40000),
            FilterOutcome::Notify,
            "aarch64 O_DIRECTORY, AT_FDCWD"
        );
        assert_eq!(
            a64(5, 0o40000),
            FilterOutcome::Act(Action::Allow),
            "aarch64 O_DIRECTORY, fd"
        );
        assert_eq!(
            a64(5, 0o20040000 | 0o2),
            FilterOutcome::Notify,
            "aarch64 O_TMPFILE"
        );
        assert!(
            plan.stricter.iter().any(|s| s.contains("directory descriptor")),
            "{:?}",
            plan.stricter
        );
        assert_eq!(at(0o100 | 1 << 32), FilterOutcome::Notify, "upper half ignored");
        assert_eq!(at(1 << 32), FilterOutcome::Act(Action::Allow));
        // The mediated route is kept for the rest.
        let rename = SyscallTable::get(Arch::X86_64).by_name("rename").unwrap().nr;
        assert_eq!(
            plan.filter_outcome(&ir, arch, rename, &[0; 6]),
            ir.filter_outcome(arch, rename, &[0; 6])
        );
        assert_eq!(
            plan.filter_outcome(&ir, 0, openat, &[0; 6]),
            FilterOutcome::KillProcess
        );

        let mut env = Env::new();
        env.set("WORKSPACE", "/w").set("HOME", "/h");
        assert!(plan.is_secret(&env, "/w/.env"));
        assert!(!plan.is_secret(&env, "/w/.envrc"));
        let roots = plan.discovery_roots(&env);
        assert!(
            roots.contains(&"/w".to_string()) && roots.contains(&"/usr".to_string()),
            "{roots:?}"
        );
        assert!(!roots.iter().any(|r| r == "/proc" || r == "/"), "{roots:?}");
    }

    #[test]
    fn visible_but_unreadable_secrets_refuse() {
        let mut ir = coding();
        ir.transitions.clear();
        ir.rules
            .push(access(Action::Deny(13), &[Verb::Read], &["/**/.env"]));
        let plan = ir.isolated_plan().unwrap();
        assert_eq!(plan.tripwires.len(), 1);
        assert!(plan.tripwires[0].refuses);
    }

    fn reasons(ir: &Ir) -> Vec<String> {
        ir.isolated_plan()
            .err()
            .unwrap_or_default()
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    #[test]
    fn bad_input_names_the_rules() {
        // Append-only file.
        let mut ir = coding();
        ir.rules
            .push(access(Action::Allow, &[Verb::Append], &["/var/log/agent.log"]));
        let r = reasons(&ir);
        assert!(r.iter().any(|s| s.contains("append")), "{r:?}");

        // deny visible.
        let mut ir = coding();
        ir.rules
            .push(access(Action::Deny(1), &[Verb::Visible], &["~/.ssh/**"]));
        let r = reasons(&ir);
        assert!(
            r.iter()
                .any(|s| s.contains("deny visible") && s.starts_with("p.claw:~/.ssh")),
            "{r:?}"
        );

        // A non-secret glob inside a writable tree.
        let mut ir = coding();
        ir.rules
            .push(access(Action::Allow, &[Verb::Read], &["/srv/*.txt"]));
        let r = reasons(&ir);
        assert!(r.iter().any(|s| s.contains("/srv/*.txt")), "{r:?}");

        // A state-dependent file rule.
        let mut ir = coding();
        let mut rule = access(Action::Allow, &[Verb::Read], &["/srv/**"]);
        rule.states = Some(vec![0]);
        ir.rules.push(rule);
        let r = reasons(&ir);
        assert!(r.iter().any(|s| s.contains("some states only")), "{r:?}");

        // A transition on write.
        let mut ir = coding();
        if let Matcher::Access { verbs, .. } = &mut ir.transitions[0].event {
            verbs.push(Verb::Write);
        }
        let r = reasons(&ir);
        assert!(r.iter().any(|s| s.contains("transition on")), "{r:?}");

        // A syscall rule on openat.
        let mut ir = coding();
        let openat = SyscallTable::get(Arch::X86_64).by_name("openat").unwrap().nr;
        ir.rules.push(Rule {
            action: Action::Allow,
            states: None,
            matcher: Matcher::Syscall {
                nr: openat,
                conds: vec![],
            },
            origin: "p.claw:9".into(),
        });
        let r = reasons(&ir);
        assert!(r.iter().any(|s| s.starts_with("p.claw:9")), "{r:?}");

        // An allowing default.
        let mut ir = coding();
        ir.default = Action::Allow;
        assert!(!reasons(&ir).is_empty());

        // Visible restricted.
        let mut ir = coding();
        ir.rules.retain(|r| !matches!(&r.matcher, Matcher::Access { entity: Entity::Paths(p), .. } if p == &vec!["/**".to_string()]));
        let r = reasons(&ir);
        assert!(r.iter().any(|s| s.contains("`visible`")), "{r:?}");
    }
}
