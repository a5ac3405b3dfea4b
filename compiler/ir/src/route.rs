//! The partition of syscalls between the kernel and the monitor. Only what must go
//! to the monitor goes there: a syscall whose answer depends on the state, on memory
//! behind a pointer (a path, an address), that fires a transition, or that must be
//! written to the audit log. Everything else is decided in the kernel from the
//! registers, the same way in every state. A `log` the registers decide is the
//! kernel's own SECCOMP_RET_LOG (allowed, recorded by the kernel's audit).

use crate::{mediation, Action, ArgCond, Ir, Matcher, Verb};
use claw_stdlib::Arch;

/// One argument-conditioned rule of a kernel decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArgRule {
    /// The conditions on the registers (all must hold).
    pub conds: Vec<ArgCond>,
    /// The action when they do.
    pub action: Action,
}

/// How the kernel decides a syscall: the first rule whose conditions all hold
/// (rules are sorted most severe first), else `fallback`. Normalised: every rule
/// has conditions, and the last rule's action differs from the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelDecision {
    /// The cases, most severe first.
    pub rules: Vec<ArgRule>,
    /// The action when no case holds.
    pub fallback: Action,
}

impl KernelDecision {
    /// The action for these registers.
    pub fn eval(&self, args: &[u64; 6]) -> Action {
        self.rules
            .iter()
            .find(|r| r.conds.iter().all(|c| c.holds(args)))
            .map_or(self.fallback, |r| r.action)
    }

    /// The action when it does not depend on the arguments.
    pub fn constant(&self) -> Option<Action> {
        self.rules.is_empty().then_some(self.fallback)
    }
}

/// Why a syscall goes to the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorReason {
    /// Its decision differs between states.
    StateDependent,
    /// Verb rules decide it from memory behind a pointer.
    Mediated(Verb),
    /// It can fire a transition.
    Transition,
}

/// Where a syscall is decided.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    /// The filter decides, from the registers.
    Kernel(KernelDecision),
    /// The filter notifies; the monitor decides.
    Monitor(MonitorReason),
}

/// What the whole filter must return for a `seccomp_data`: the IR's decision
/// where the kernel decides, plus the checks every filter makes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOutcome {
    /// A foreign architecture or an x32 syscall number: kill the process.
    KillProcess,
    /// The IR's decision, made in the kernel.
    Act(Action),
    /// SECCOMP_RET_USER_NOTIF: the monitor decides.
    Notify,
}

/// `ENOSYS`: the answer to `clone3`, whose flags a filter cannot read, so that libc
/// falls back to `clone`, whose flags it can.
pub const ENOSYS: u16 = 38;

/// `__X32_SYSCALL_BIT`.
pub const X32_BIT: u32 = 0x4000_0000;

impl Ir {
    /// The route of syscall `nr` (numbers outside the table get the default).
    pub fn route(&self, nr: u32) -> Route {
        let table = self.table();
        let Some(sc) = table.by_nr(nr) else {
            return self.plain_route(nr);
        };
        if sc.name == "clone3" {
            // Kill stays kill; anything else becomes ENOSYS (fail closed: never allow
            // a clone whose flags nothing has checked).
            return match self.plain_route(nr) {
                Route::Kernel(k) if k.constant() == Some(Action::Kill) => Route::Kernel(k),
                _ => Route::Kernel(KernelDecision {
                    rules: Vec::new(),
                    fallback: Action::Deny(ENOSYS),
                }),
            };
        }
        let verbs: &[Verb] = mediation::of(sc.name).map_or(&[], |m| m.verbs());
        for t in &self.transitions {
            let fires = match &t.event {
                Matcher::Syscall { nr: n, .. } => *n == nr,
                Matcher::Access { verbs: vs, .. } => vs.iter().any(|v| verbs.contains(v)),
            };
            if fires {
                return Route::Monitor(MonitorReason::Transition);
            }
        }
        // Verb rules that may apply to what this syscall does.
        let relevant: Vec<&crate::Rule> = self
            .rules
            .iter()
            .filter(|r| matches!(&r.matcher, Matcher::Access { verbs: vs, .. } if vs.iter().any(|v| verbs.contains(v))))
            .collect();
        if !relevant.is_empty() && self.allowed_everywhere(nr, verbs, &relevant) {
            // The verb rules answer "allow" for every path in every state and
            // nothing else applies: the monitor would only ever say yes.
            return Route::Kernel(KernelDecision {
                rules: Vec::new(),
                fallback: Action::Allow,
            });
        }
        if let Some(first) = relevant.first() {
            // Unless an unconditional syscall rule at least as severe holds in every
            // state (then the verb rules cannot change the outcome).
            let dominated = (0..self.states.len() as u32).all(|s| {
                let base = self
                    .rules
                    .iter()
                    .filter(|r| r.in_state(s))
                    .filter(|r| matches!(&r.matcher, Matcher::Syscall { nr: n, conds } if *n == nr && conds.is_empty()))
                    .map(|r| r.action)
                    .reduce(Action::max);
                let top = relevant.iter().filter(|r| r.in_state(s)).map(|r| r.action).reduce(Action::max);
                match (base, top) {
                    (Some(b), Some(t)) => b.rank() >= t.rank(),
                    (Some(_), None) => true,
                    (None, _) => false,
                }
            });
            if !dominated {
                let verb = match &first.matcher {
                    Matcher::Access { verbs: vs, .. } => {
                        *vs.iter().find(|v| verbs.contains(v)).unwrap_or(&vs[0])
                    }
                    Matcher::Syscall { .. } => Verb::Read,
                };
                return Route::Monitor(MonitorReason::Mediated(verb));
            }
        }
        self.plain_route(nr)
    }

    /// Do the verb rules allow every path for each of `verbs`, in every state, with
    /// no rule on those verbs more severe than allow, no syscall-level rule on `nr`
    /// and no transition on them? (E.g. `allow visible "/**"` makes `stat` and
    /// `readlink` plain kernel allows.) Network verbs never qualify.
    fn allowed_everywhere(&self, nr: u32, verbs: &[Verb], relevant: &[&crate::Rule]) -> bool {
        if verbs.is_empty() || verbs.iter().any(|v| v.is_network()) {
            return false;
        }
        if relevant.iter().any(|r| r.action != Action::Allow) {
            return false;
        }
        let syscall_rules = self
            .rules
            .iter()
            .any(|r| matches!(&r.matcher, Matcher::Syscall { nr: n, .. } if *n == nr));
        if syscall_rules {
            return false;
        }
        let covers_all = |r: &crate::Rule, v: Verb| match &r.matcher {
            Matcher::Access {
                verbs: vs,
                entity: crate::Entity::Paths(ps),
            } => vs.contains(&v) && ps.iter().any(|p| p == "/**"),
            _ => false,
        };
        (0..self.states.len() as u32).all(|s| {
            verbs
                .iter()
                .all(|&v| relevant.iter().any(|r| r.in_state(s) && covers_all(r, v)))
        })
    }

    /// The route from syscall-level rules alone.
    fn plain_route(&self, nr: u32) -> Route {
        let mut per_state: Vec<KernelDecision> = Vec::new();
        for s in 0..self.states.len() as u32 {
            let mut rules: Vec<ArgRule> = self
                .rules
                .iter()
                .filter(|r| r.in_state(s))
                .filter_map(|r| match &r.matcher {
                    Matcher::Syscall { nr: n, conds } if *n == nr => Some(ArgRule {
                        conds: conds.clone(),
                        action: r.action,
                    }),
                    _ => None,
                })
                .collect();
            // Most severe first; stable, so equal rules keep source order.
            rules.sort_by_key(|r| std::cmp::Reverse(r.action.rank()));
            rules.dedup();
            let mut fallback = self.default;
            if let Some(i) = rules.iter().position(|r| r.conds.is_empty()) {
                // Nothing after an unconditional rule can match first: it becomes
                // the fallback.
                fallback = rules[i].action;
                rules.truncate(i);
            }
            // A last rule that answers what the fallback answers changes nothing.
            while rules.last().is_some_and(|r| r.action == fallback) {
                rules.pop();
            }
            per_state.push(KernelDecision { rules, fallback });
        }
        let first = per_state[0].clone();
        if per_state.iter().any(|k| *k != first) {
            return Route::Monitor(MonitorReason::StateDependent);
        }
        // A `log` decided from the registers is the kernel's SECCOMP_RET_LOG: allowed
        // and recorded by the kernel's audit, with no round trip to the monitor.
        Route::Kernel(first)
    }

    /// What a correct filter returns for this `seccomp_data`.
    pub fn filter_outcome(&self, arch: u32, nr: u32, args: &[u64; 6]) -> FilterOutcome {
        if arch != self.arch.audit_arch() {
            return FilterOutcome::KillProcess;
        }
        if self.arch == Arch::X86_64 && nr >= X32_BIT {
            return FilterOutcome::KillProcess;
        }
        match self.route(nr) {
            Route::Kernel(k) => FilterOutcome::Act(k.eval(args)),
            Route::Monitor(_) => FilterOutcome::Notify,
        }
    }
}
