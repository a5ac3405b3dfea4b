//! The runtime's own seccomp filter, stacked under the policy's: it refuses
//! (`EPERM`) the calls that name a process, process group or user the sandbox does
//! not own. The kernel runs every installed filter and the most severe answer wins
//! (`ERRNO` over `USER_NOTIF` and `ALLOW`), so the policy cannot widen this.
//!
//! Signals are not here: Landlock's signal scope (always in the plan) refuses
//! `kill`, `tgkill`, `pidfd_send_signal`, `F_SETOWN` deliveries to any process
//! outside the sandbox's domain. Calls that take a pidfd (`process_madvise`,
//! `process_mrelease`, `pidfd_getfd`) and the ones the kernel checks as ptrace
//! access (`kcmp`, `get_robust_list`, `move_pages`, `migrate_pages`,
//! `process_vm_*`) are also refused by Landlock for processes outside the domain;
//! the calls below are the ones the kernel checks only by uid (`prlimit64`,
//! `setpriority`, `sched_setaffinity`, `ioprio_set` ...), where a sandbox running
//! as the same user as `clawless` could act on it.
//!
//! - In both modes: `setpriority`/`getpriority` and `ioprio_set`/`ioprio_get` on a
//!   process group or a user (`who` 0 then means *our* group or user, which
//!   `clawless` belongs to even across a pid namespace).
//! - Mediated mode: every pid argument other than 0 (the caller itself).
//! - Isolated mode: pid 1 (our init); other pids name only sandbox processes (the
//!   pid namespace), and `perf_event_open`'s pid -1 (every process on a CPU).
//!
//! This module knows the syscall numbers and argument positions; not the policy.

/// `SECCOMP_RET_*` (linux/seccomp.h).
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// One refusal condition on the low 32 bits of an argument (pids, `which`, `who`
/// are C `int`s: the kernel ignores the high half).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    /// Refuse when the argument is not 0.
    NonZero(u8),
    /// Refuse when the argument equals the value.
    Equals(u8, u32),
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

const PRIO_PGRP: u32 = 1;
const PRIO_USER: u32 = 2;
const IOPRIO_WHO_PGRP: u32 = 2;
const IOPRIO_WHO_USER: u32 = 3;

/// The refusal tests of every syscall this filter looks at.
fn rules(mediated: bool) -> Vec<(libc::c_long, Vec<Test>)> {
    // "Names another process": any pid but 0 (mediated), pid 1 (isolated).
    let pid = |arg: u8| {
        if mediated {
            vec![Test::NonZero(arg)]
        } else {
            vec![Test::Equals(arg, 1)]
        }
    };
    let mut out = vec![
        (libc::SYS_prlimit64, pid(0)),
        (libc::SYS_sched_setaffinity, pid(0)),
        (libc::SYS_sched_getaffinity, pid(0)),
        (libc::SYS_sched_setscheduler, pid(0)),
        (libc::SYS_sched_getscheduler, pid(0)),
        (libc::SYS_sched_setparam, pid(0)),
        (libc::SYS_sched_getparam, pid(0)),
        (libc::SYS_sched_setattr, pid(0)),
        (libc::SYS_sched_getattr, pid(0)),
        (libc::SYS_sched_rr_get_interval, pid(0)),
        (libc::SYS_get_robust_list, pid(0)),
        (libc::SYS_migrate_pages, pid(0)),
        (libc::SYS_move_pages, pid(0)),
        (libc::SYS_kcmp, [pid(0), pid(1)].concat()),
    ];
    let mut prio = vec![Test::Equals(0, PRIO_PGRP), Test::Equals(0, PRIO_USER)];
    let mut ioprio = vec![Test::Equals(0, IOPRIO_WHO_PGRP), Test::Equals(0, IOPRIO_WHO_USER)];
    let mut perf = vec![Test::Equals(1, u32::MAX)];
    if mediated {
        prio.push(Test::NonZero(1));
        ioprio.push(Test::NonZero(1));
        perf.push(Test::NonZero(1));
        out.push((libc::SYS_pidfd_open, vec![Test::NonZero(0)]));
    } else {
        prio.push(Test::Equals(1, 1));
        ioprio.push(Test::Equals(1, 1));
        perf.push(Test::Equals(1, 1));
    }
    out.push((libc::SYS_setpriority, prio.clone()));
    out.push((libc::SYS_getpriority, prio));
    out.push((libc::SYS_ioprio_set, ioprio.clone()));
    out.push((libc::SYS_ioprio_get, ioprio));
    out.push((libc::SYS_perf_event_open, perf));
    out
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: JEQ_K,
        jt,
        jf,
        k,
    }
}

/// Offset of the low 32 bits of argument `i` in `struct seccomp_data`.
fn arg_low(i: u8) -> u32 {
    let base = 16 + 8 * u32::from(i);
    if cfg!(target_endian = "little") {
        base
    } else {
        base + 4
    }
}

/// The filter program.
pub fn program(mediated: bool) -> Vec<libc::sock_filter> {
    let errno = RET_ERRNO | libc::EPERM as u32;
    let mut p = vec![
        stmt(LD_W_ABS, 4),
        // Another architecture: the policy's filter kills it.
        jump(AUDIT_ARCH, 1, 0),
        stmt(RET_K, RET_ALLOW),
        stmt(LD_W_ABS, 0),
    ];
    for (nr, tests) in rules(mediated) {
        // Block: for each test `ld arg; jeq` (to ERRNO or on), then ALLOW, ERRNO.
        let mut block = Vec::new();
        let len = tests.len() * 2 + 2;
        for (i, t) in tests.iter().enumerate() {
            let at_jump = i * 2 + 1;
            let to_errno = (len - 1 - at_jump - 1) as u8;
            match *t {
                Test::NonZero(a) => {
                    block.push(stmt(LD_W_ABS, arg_low(a)));
                    block.push(jump(0, 0, to_errno));
                }
                Test::Equals(a, v) => {
                    block.push(stmt(LD_W_ABS, arg_low(a)));
                    block.push(jump(v, to_errno, 0));
                }
            }
        }
        block.push(stmt(RET_K, RET_ALLOW));
        block.push(stmt(RET_K, errno));
        p.push(jump(nr as u32, 0, block.len() as u8));
        // Skipped, the block leaves the accumulator (the number) as it was.
        p.extend(block);
    }
    p.push(stmt(RET_K, RET_ALLOW));
    p
}

/// Installs the filter on the calling thread (after `PR_SET_NO_NEW_PRIVS`).
///
/// # Safety
/// Plain syscalls; safe after `fork`.
pub unsafe fn install(prog: &[libc::sock_filter]) -> std::io::Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `prog`, borrowed for the call; the kernel copies
    // the program and checks it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the subset this module emits.
    fn run(p: &[libc::sock_filter], nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&AUDIT_ARCH.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let mut pc = 0usize;
        let mut acc = 0u32;
        for _ in 0..10_000 {
            let i = p[pc];
            match i.code {
                LD_W_ABS => {
                    let k = i.k as usize;
                    acc = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap());
                    pc += 1;
                }
                JEQ_K => pc += 1 + usize::from(if acc == i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                c => panic!("unexpected opcode {c}"),
            }
        }
        panic!("no return")
    }

    const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;

    #[test]
    fn mediated_refuses_other_pids_only() {
        let p = program(true);
        let nr = |n: libc::c_long| n as u32;
        assert_eq!(run(&p, nr(libc::SYS_prlimit64), [0, 1, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr(libc::SYS_prlimit64), [1234, 1, 0, 0, 0, 0]), EPERM);
        // The high half of an int argument is ignored by the kernel, and here.
        assert_eq!(
            run(&p, nr(libc::SYS_prlimit64), [1 << 32, 1, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&p, nr(libc::SYS_sched_setaffinity), [7, 8, 0, 0, 0, 0]),
            EPERM
        );
        assert_eq!(run(&p, nr(libc::SYS_setpriority), [0, 0, 19, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr(libc::SYS_setpriority), [0, 99, 19, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_setpriority), [1, 0, 19, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_setpriority), [2, 0, 19, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_ioprio_set), [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr(libc::SYS_ioprio_set), [3, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_kcmp), [0, 5, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_pidfd_open), [5, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(
            run(
                &p,
                nr(libc::SYS_perf_event_open),
                [0, u64::from(u32::MAX), 0, 0, 0, 0]
            ),
            EPERM
        );
        assert_eq!(run(&p, nr(libc::SYS_getpid), [9, 9, 9, 9, 9, 9]), RET_ALLOW);
    }

    #[test]
    fn isolated_refuses_init_groups_and_users() {
        let p = program(false);
        let nr = |n: libc::c_long| n as u32;
        assert_eq!(run(&p, nr(libc::SYS_prlimit64), [5, 1, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr(libc::SYS_prlimit64), [1, 1, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_setpriority), [0, 5, 19, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr(libc::SYS_setpriority), [1, 0, 19, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_getpriority), [2, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_kcmp), [5, 1, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, nr(libc::SYS_pidfd_open), [5, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            run(
                &p,
                nr(libc::SYS_perf_event_open),
                [0, u64::from(u32::MAX), 0, 0, 0, 0]
            ),
            EPERM
        );
    }
}
