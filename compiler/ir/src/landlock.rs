//! The static, kernel-enforced bound derived from a policy: a Landlock ruleset that
//! grants at least everything the policy can allow in any state (so it never breaks
//! a policy) and denies the rest. The monitor decides precisely; Landlock makes the
//! bound race-free, including for `exec`. Landlock cannot express globs or denials,
//! so each allowing pattern is widened to the directory above its first wildcard.

use crate::{mediation, Action, Addr, Entity, Ir, Matcher, Proto, Verb};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Landlock filesystem rights (`LANDLOCK_ACCESS_FS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FsRight {
    /// `LANDLOCK_ACCESS_FS_EXECUTE`
    Execute,
    /// `LANDLOCK_ACCESS_FS_WRITE_FILE`
    WriteFile,
    /// `LANDLOCK_ACCESS_FS_READ_FILE`
    ReadFile,
    /// `LANDLOCK_ACCESS_FS_READ_DIR`
    ReadDir,
    /// `LANDLOCK_ACCESS_FS_REMOVE_DIR`
    RemoveDir,
    /// `LANDLOCK_ACCESS_FS_REMOVE_FILE`
    RemoveFile,
    /// `LANDLOCK_ACCESS_FS_MAKE_CHAR`
    MakeChar,
    /// `LANDLOCK_ACCESS_FS_MAKE_DIR`
    MakeDir,
    /// `LANDLOCK_ACCESS_FS_MAKE_REG`
    MakeReg,
    /// `LANDLOCK_ACCESS_FS_MAKE_SOCK`
    MakeSock,
    /// `LANDLOCK_ACCESS_FS_MAKE_FIFO`
    MakeFifo,
    /// `LANDLOCK_ACCESS_FS_MAKE_BLOCK`
    MakeBlock,
    /// `LANDLOCK_ACCESS_FS_MAKE_SYM`
    MakeSym,
    /// `LANDLOCK_ACCESS_FS_REFER` (ABI 2)
    Refer,
    /// `LANDLOCK_ACCESS_FS_TRUNCATE` (ABI 3)
    Truncate,
}

impl FsRight {
    /// Rights that make sense on a regular file (the rest need a directory).
    pub fn applies_to_files(self) -> bool {
        matches!(
            self,
            FsRight::Execute | FsRight::WriteFile | FsRight::ReadFile | FsRight::Truncate
        )
    }
}

/// The rights a verb needs.
pub fn rights_of(v: Verb) -> &'static [FsRight] {
    use FsRight::*;
    match v {
        Verb::Read => &[ReadFile, ReadDir],
        Verb::Write => &[
            WriteFile, RemoveDir, RemoveFile, MakeChar, MakeDir, MakeReg, MakeSock, MakeFifo, MakeBlock,
            MakeSym, Refer, Truncate,
        ],
        // Landlock cannot tell appending from writing; the monitor can.
        Verb::Append => &[WriteFile],
        Verb::Exec => &[Execute],
        Verb::Visible | Verb::Connect | Verb::Send | Verb::Bind => &[],
    }
}

/// One `landlock_add_rule(LANDLOCK_RULE_PATH_BENEATH)`: `path` may start with a
/// variable the runtime expands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsGrant {
    /// The directory or file the rights are granted beneath.
    pub path: String,
    /// The rights granted.
    pub rights: Vec<FsRight>,
}

/// The ruleset the runtime builds (degrading where the running ABI lacks a right).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockPlan {
    /// Rights the ruleset restricts; everything else Landlock leaves alone.
    pub handled_fs: Vec<FsRight>,
    /// The path grants.
    pub fs: Vec<FsGrant>,
    /// TCP ports `connect` may reach; `None` when Landlock does not restrict it.
    pub tcp_connect: Option<Vec<u16>>,
    /// TCP ports `bind` may use; `None` when Landlock does not restrict it.
    pub tcp_bind: Option<Vec<u16>>,
    /// Deny connecting to abstract unix sockets created outside the sandbox.
    pub scope_abstract_unix: bool,
    /// Deny signals to processes outside the sandbox.
    pub scope_signal: bool,
}

/// More ports than this in one grant and Landlock is not used for that right (one
/// rule per port).
const MAX_PORT_RULES: usize = 1024;

impl Ir {
    fn may_allow(a: Action) -> bool {
        a.is_allowing()
    }

    /// Could a syscall-level rule allow a syscall performing `verb` whatever its
    /// path or address? Then Landlock must leave that verb's rights alone.
    fn unchecked(&self, verb: Verb) -> bool {
        if Self::may_allow(self.default) {
            return true;
        }
        let table = self.table();
        mediation::EFFECTS
            .iter()
            .filter(|e| e.mediation.landlock_verbs().contains(&verb))
            .any(|e| {
                let Some(sc) = table.by_name(e.name) else {
                    return false;
                };
                self.rules.iter().any(|r| {
                    Self::may_allow(r.action)
                        && matches!(&r.matcher, Matcher::Syscall { nr, .. } if *nr == sc.nr)
                })
            })
    }

    /// The Landlock bound of this policy.
    pub fn landlock_plan(&self) -> LandlockPlan {
        let mut handled: BTreeSet<FsRight> = BTreeSet::new();
        let mut unhandled: BTreeSet<FsRight> = BTreeSet::new();
        for v in [Verb::Read, Verb::Write, Verb::Append, Verb::Exec] {
            let set = if self.unchecked(v) {
                &mut unhandled
            } else {
                &mut handled
            };
            set.extend(rights_of(v));
        }
        // A right some verb leaves unchecked cannot be handled at all.
        handled.retain(|r| !unhandled.contains(r));

        let mut grants: BTreeMap<String, BTreeSet<FsRight>> = BTreeMap::new();
        let mut tcp_connect: BTreeSet<u16> = BTreeSet::new();
        let mut tcp_bind: BTreeSet<u16> = BTreeSet::new();
        let mut connect_unbounded = self.unchecked(Verb::Connect);
        let mut bind_unbounded = self.unchecked(Verb::Bind);
        let mut abstract_unix = false;
        for r in self.rules.iter().filter(|r| Self::may_allow(r.action)) {
            let Matcher::Access { verbs, entity } = &r.matcher else {
                continue;
            };
            match entity {
                Entity::Paths(pats) => {
                    let rights: BTreeSet<FsRight> = verbs
                        .iter()
                        .flat_map(|v| rights_of(*v))
                        .copied()
                        .filter(|x| handled.contains(x))
                        .collect();
                    if rights.is_empty() {
                        continue;
                    }
                    for p in pats {
                        grants
                            .entry(beneath(p))
                            .or_default()
                            .extend(rights.iter().copied());
                    }
                }
                Entity::Endpoints(eps) => {
                    for e in eps {
                        if matches!(e.addr, Addr::UnixAbstract(_)) && verbs.contains(&Verb::Connect) {
                            abstract_unix = true;
                        }
                        if e.proto != Proto::Tcp {
                            continue;
                        }
                        let n = usize::from(e.ports.1 - e.ports.0) + 1;
                        for (verb, set, unbounded) in [
                            (Verb::Connect, &mut tcp_connect, &mut connect_unbounded),
                            (Verb::Bind, &mut tcp_bind, &mut bind_unbounded),
                        ] {
                            if verbs.contains(&verb) {
                                if n > MAX_PORT_RULES {
                                    *unbounded = true;
                                } else {
                                    set.extend(e.ports.0..=e.ports.1);
                                }
                            }
                        }
                    }
                }
            }
        }
        let ports = |set: BTreeSet<u16>, unbounded: bool| {
            (!unbounded && set.len() <= MAX_PORT_RULES).then(|| set.into_iter().collect())
        };
        LandlockPlan {
            handled_fs: handled.into_iter().collect(),
            fs: grants
                .into_iter()
                .map(|(path, rights)| FsGrant {
                    path,
                    rights: rights.into_iter().collect(),
                })
                .collect(),
            tcp_connect: ports(tcp_connect, connect_unbounded),
            tcp_bind: ports(tcp_bind, bind_unbounded),
            scope_abstract_unix: !abstract_unix && !self.unchecked(Verb::Connect),
            scope_signal: true,
        }
    }
}

/// The longest wildcard-free directory prefix of a pattern (`$WORKSPACE/src/*.rs`
/// → `$WORKSPACE/src`; `/etc/passwd` → `/etc/passwd`).
pub fn beneath(pattern: &str) -> String {
    let first_wild = pattern.find(['*', '?']).unwrap_or(pattern.len());
    if first_wild == pattern.len() {
        return pattern.to_string();
    }
    let cut = pattern[..first_wild].rfind('/').unwrap_or(0);
    if cut == 0 {
        "/".to_string()
    } else {
        pattern[..cut].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Endpoint, Rule};
    use claw_stdlib::{Arch, SyscallTable};

    #[test]
    fn beneath_prefixes() {
        assert_eq!(beneath("$WORKSPACE/**"), "$WORKSPACE");
        assert_eq!(beneath("$WORKSPACE/src/*.rs"), "$WORKSPACE/src");
        assert_eq!(beneath("/etc/passwd"), "/etc/passwd");
        assert_eq!(beneath("/**/.env"), "/");
        assert_eq!(beneath("/etc/ssh/ssh_host_*_key"), "/etc/ssh");
    }

    fn access(action: Action, verbs: &[Verb], entity: Entity) -> Rule {
        Rule {
            action,
            states: None,
            matcher: Matcher::Access {
                verbs: verbs.to_vec(),
                entity,
            },
            origin: String::new(),
        }
    }

    #[test]
    fn plan_bounds_what_the_policy_allows() {
        let ir = Ir {
            name: "t".into(),
            arch: Arch::X86_64,
            default: Action::Deny(1),
            states: vec![String::new()],
            initial: 0,
            rules: vec![
                access(
                    Action::Allow,
                    &[Verb::Read, Verb::Exec],
                    Entity::Paths(vec!["/usr/**".into()]),
                ),
                access(
                    Action::Allow,
                    &[Verb::Read, Verb::Write],
                    Entity::Paths(vec!["$WORKSPACE/**".into()]),
                ),
                access(
                    Action::Deny(13),
                    &[Verb::Read],
                    Entity::Paths(vec!["/**/.env".into()]),
                ),
                access(
                    Action::Allow,
                    &[Verb::Connect],
                    Entity::Endpoints(vec![Endpoint {
                        proto: Proto::Tcp,
                        addr: Addr::Any,
                        ports: (443, 443),
                    }]),
                ),
            ],
            transitions: vec![],
            assertions: vec![],
        };
        let plan = ir.landlock_plan();
        assert!(plan.handled_fs.contains(&FsRight::Execute));
        assert!(plan.handled_fs.contains(&FsRight::WriteFile));
        let usr = plan.fs.iter().find(|g| g.path == "/usr").unwrap();
        assert!(usr.rights.contains(&FsRight::Execute) && !usr.rights.contains(&FsRight::WriteFile));
        assert!(plan.fs.iter().all(|g| g.path != "/"), "deny rules grant nothing");
        assert_eq!(plan.tcp_connect, Some(vec![443]));
        assert!(plan.scope_abstract_unix && plan.scope_signal);

        // A syscall-level allow of openat leaves read/write rights to the monitor.
        let mut loose = ir.clone();
        let openat = SyscallTable::get(Arch::X86_64).by_name("openat").unwrap().nr;
        loose.rules.push(Rule {
            action: Action::Allow,
            states: None,
            matcher: Matcher::Syscall {
                nr: openat,
                conds: vec![],
            },
            origin: String::new(),
        });
        let plan = loose.landlock_plan();
        assert!(!plan.handled_fs.contains(&FsRight::ReadFile));
        assert!(!plan.handled_fs.contains(&FsRight::WriteFile));
        assert!(
            plan.handled_fs.contains(&FsRight::Execute),
            "exec is still bounded"
        );
    }
}
