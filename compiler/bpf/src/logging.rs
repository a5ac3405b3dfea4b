//! The logging filter: the policy's filter with every refusal handed to the
//! monitor. Installed instead of the policy's filter only when denials are to be
//! reported (`clawless exec --log-denials` or `--audit-log`), so that calls the
//! kernel would refuse or kill on its own are seen, reported and then answered by
//! the monitor exactly as the policy's filter answers them.
//!
//! The rewrite is instruction for instruction: the same program, the same jumps,
//! the same loads; only a `ret` whose value refuses (`ERRNO`, `KILL_*`, `TRAP`)
//! becomes `ret USER_NOTIF`. [`check_pair`] proves a pair is such a rewrite (a
//! syntactic translation validation: two programs with the same instructions
//! except at leaves take the same path on every `seccomp_data`, so the logging
//! filter returns `USER_NOTIF` exactly where the policy's filter refuses or
//! notifies, and the policy's value everywhere else). The monitor then runs the
//! policy's own filter ([`crate::run`]) on the notification's `seccomp_data` to
//! learn what the kernel would have answered. It knows nothing of the monitor.

use crate::insn::*;

/// Does this return value refuse the call (the kernel decides it against the
/// agent)?
pub fn refuses(ret: u32) -> bool {
    matches!(
        ret & RET_ACTION_FULL,
        RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_ERRNO
    )
}

/// The logging filter of `prog`: every refusing constant `ret` becomes
/// `ret USER_NOTIF`. `None` if `prog` returns a computed value (`ret A`), whose
/// refusals cannot be rewritten (the code generator never emits one).
pub fn logging_filter(prog: &[Insn]) -> Option<Vec<Insn>> {
    prog.iter()
        .map(|i| match i.code {
            c if c == BPF_RET | BPF_K && refuses(i.k) => Some(Insn::ret(RET_USER_NOTIF)),
            c if c & 0x07 == BPF_RET && c != BPF_RET | BPF_K => None,
            _ => Some(*i),
        })
        .collect()
}

/// The learning filter of `prog` (`clawless learn`): every constant `ret` that
/// does not refuse becomes `ret USER_NOTIF`, so the monitor sees (and records)
/// every call the policy lets through; refusals (`kill dangerous`) stay in the
/// kernel. `None` for a computed `ret A`.
pub fn learning_filter(prog: &[Insn]) -> Option<Vec<Insn>> {
    prog.iter()
        .map(|i| match i.code {
            c if c == BPF_RET | BPF_K && !refuses(i.k) => Some(Insn::ret(RET_USER_NOTIF)),
            c if c & 0x07 == BPF_RET && c != BPF_RET | BPF_K => None,
            _ => Some(*i),
        })
        .collect()
}

/// Checks that `learning` is the learning filter of `prog`, instruction by
/// instruction.
pub fn check_learning(prog: &[Insn], learning: &[Insn]) -> Result<(), String> {
    check_rewrite(prog, learning, |k| if refuses(k) { k } else { RET_USER_NOTIF })
}

/// Checks that `logging` is the logging filter of `prog`, instruction by
/// instruction; says where it is not.
pub fn check_pair(prog: &[Insn], logging: &[Insn]) -> Result<(), String> {
    check_rewrite(prog, logging, |k| if refuses(k) { RET_USER_NOTIF } else { k })
}

/// `second` is `prog` with each constant return `k` replaced by `leaf(k)`.
fn check_rewrite(prog: &[Insn], second: &[Insn], leaf: impl Fn(u32) -> u32) -> Result<(), String> {
    let logging = second;
    if prog.len() != logging.len() {
        return Err(format!(
            "the logging filter has {} instructions, the policy's {}",
            logging.len(),
            prog.len()
        ));
    }
    for (pc, (a, b)) in prog.iter().zip(logging).enumerate() {
        let same = if a.code & 0x07 == BPF_RET {
            a.code == BPF_RET | BPF_K && b.code == a.code && b.jt == a.jt && b.jf == a.jf && b.k == leaf(a.k)
        } else {
            a == b
        };
        if !same {
            return Err(format!(
                "instruction {pc} differs: {a:?} in the policy's filter, {b:?} in the logging filter"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{run, SeccompData};
    use proptest::prelude::*;

    /// A small filter with every kind of leaf: arch check, a JGE tree, an
    /// argument block.
    fn sample() -> Vec<Insn> {
        vec![
            Insn::ld_abs(4),
            Insn::jump(BPF_JEQ, 0xc000_003e, 1, 0),
            Insn::ret(RET_KILL_PROCESS),
            Insn::ld_abs(0),
            Insn::jump(BPF_JGE, 100, 0, 4),
            Insn::jump(BPF_JGE, 200, 0, 1),
            Insn::ret(RET_ERRNO | 1),
            Insn::ld_abs(16),
            Insn::jump(BPF_JEQ, 7, 0, 1),
            Insn::ret(RET_USER_NOTIF),
            Insn::jump(BPF_JGE, 50, 0, 1),
            Insn::ret(RET_LOG),
            Insn::ret(RET_ALLOW),
        ]
    }

    #[test]
    fn refusals_become_notifications_and_nothing_else_changes() {
        let p = sample();
        let l = logging_filter(&p).unwrap();
        check_pair(&p, &l).unwrap();
        assert_eq!(l[2], Insn::ret(RET_USER_NOTIF));
        assert_eq!(l[6], Insn::ret(RET_USER_NOTIF));
        assert_eq!(l[11], Insn::ret(RET_LOG));
        assert_eq!(l[12], Insn::ret(RET_ALLOW));
    }

    #[test]
    fn a_pair_that_is_not_a_rewrite_is_refused() {
        let p = sample();
        let mut l = logging_filter(&p).unwrap();
        l[12] = Insn::ret(RET_USER_NOTIF);
        assert!(
            check_pair(&p, &l).is_err(),
            "an allow may not become a notification"
        );
        let mut l = logging_filter(&p).unwrap();
        l[4].jt = 1;
        assert!(check_pair(&p, &l).is_err(), "a jump may not move");
        let mut l = logging_filter(&p).unwrap();
        l[6] = Insn::ret(RET_ERRNO | 1);
        assert!(
            check_pair(&p, &l).is_err(),
            "a refusal must be handed to the monitor"
        );
        assert!(check_pair(&p, &l[1..]).is_err());
        let mut q = p.clone();
        q.push(Insn::new(BPF_RET | 0x10, 0, 0, 0));
        assert!(logging_filter(&q).is_none(), "ret A cannot be rewritten");
    }

    #[test]
    fn the_learning_filter_notifies_everything_but_refusals() {
        let p = sample();
        let l = learning_filter(&p).unwrap();
        check_learning(&p, &l).unwrap();
        assert!(check_pair(&p, &l).is_err());
        assert_eq!(l[2], Insn::ret(RET_KILL_PROCESS));
        assert_eq!(l[6], Insn::ret(RET_ERRNO | 1));
        assert_eq!(l[11], Insn::ret(RET_USER_NOTIF));
        assert_eq!(l[12], Insn::ret(RET_USER_NOTIF));
    }

    proptest! {
        /// Pointwise: where the policy's filter refuses or notifies, the logging
        /// filter notifies; elsewhere both return the same.
        #[test]
        fn the_pair_agrees_on_every_input(nr in 0u32..400, arch in prop_oneof![Just(0xc000_003eu32), any::<u32>()], a0 in any::<u64>()) {
            let p = sample();
            let l = logging_filter(&p).unwrap();
            let d = SeccompData { nr, arch, instruction_pointer: 0, args: [a0, 0, 0, 0, 0, 0] };
            let (rp, _) = run(&p, &d).unwrap();
            let (rl, _) = run(&l, &d).unwrap();
            if refuses(rp) || rp == RET_USER_NOTIF {
                prop_assert_eq!(rl, RET_USER_NOTIF);
            } else {
                prop_assert_eq!(rl, rp);
            }
        }
    }
}
