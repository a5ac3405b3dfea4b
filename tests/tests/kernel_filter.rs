//! Loads every compiled example and standard profile into the real kernel (in a
//! forked child) and checks real decisions against the IR's semantics:
//! - allowed: the syscall behaves exactly as it does unfiltered;
//! - denied: it fails with the policy's errno;
//! - killed (and foreign-ABI numbers): the process dies of SIGSYS;
//! - routed to the monitor: with no monitor listening the kernel answers ENOSYS —
//!   a sandbox whose monitor is gone gains nothing.

use claw_bpf::Insn;
use claw_ir::{FilterOutcome, Ir};
use claw_lang::check::{check_file, check_std_module, Options};
use claw_lang::SourceMap;
use claw_stdlib::{Arch, SyscallTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Ok,
    Errno(i32),
    Signal(i32),
}

/// Runs `probe` in a forked child, after installing `filter` if given. The child
/// only makes raw syscalls between fork and _exit (async-signal-safe).
fn in_child(filter: Option<&[Insn]>, probe: &dyn Fn() -> libc::c_long) -> Outcome {
    // SAFETY: the test binary may run other test threads, but the child only makes
    // raw syscalls (prctl, seccomp, the probe, _exit) between fork and _exit, all
    // async-signal-safe, and `prog` points into `filter`, copied with our memory.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            if let Some(f) = filter {
                let prog = libc::sock_fprog {
                    len: f.len() as u16,
                    filter: f.as_ptr() as *mut libc::sock_filter,
                };
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::syscall(libc::SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &prog) != 0
                {
                    libc::_exit(254);
                }
            }
            let r = probe();
            let code = if r >= 0 { 0 } else { *libc::__errno_location() };
            libc::_exit(code.min(253));
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        if libc::WIFSIGNALED(status) {
            Outcome::Signal(libc::WTERMSIG(status))
        } else {
            let code = libc::WEXITSTATUS(status);
            assert_ne!(code, 254, "installing the filter failed");
            if code == 0 {
                Outcome::Ok
            } else {
                Outcome::Errno(code)
            }
        }
    }
}

struct Probe {
    name: &'static str,
    nr: u32,
    args: [u64; 6],
}

fn probes() -> Vec<Probe> {
    let t = SyscallTable::get(Arch::X86_64);
    let nr = |n: &str| t.by_name(n).unwrap().nr;
    let path = c"/nonexistent/clawless".as_ptr() as u64;
    vec![
        Probe {
            name: "getpid",
            nr: nr("getpid"),
            args: [0; 6],
        },
        Probe {
            name: "getppid",
            nr: nr("getppid"),
            args: [0; 6],
        },
        Probe {
            name: "reboot(bad magic)",
            nr: nr("reboot"),
            args: [0; 6],
        },
        Probe {
            name: "ptrace(TRACEME)",
            nr: nr("ptrace"),
            args: [0; 6],
        },
        Probe {
            name: "ioctl(-1, TIOCSTI)",
            nr: nr("ioctl"),
            args: [u64::MAX, 0x5412, 0, 0, 0, 0],
        },
        Probe {
            name: "ioctl(-1, TIOCSTI | high bits)",
            nr: nr("ioctl"),
            args: [u64::MAX, 0xdead_beef_0000_5412, 0, 0, 0, 0],
        },
        Probe {
            name: "clone3(NULL, 0)",
            nr: nr("clone3"),
            args: [0; 6],
        },
        Probe {
            name: "openat(missing)",
            nr: nr("openat"),
            args: [(-100i64) as u64, path, 0, 0, 0, 0],
        },
        Probe {
            name: "socket(AF_NETLINK)",
            nr: nr("socket"),
            args: [16, 2, 0, 0, 0, 0],
        },
        Probe {
            name: "io_uring_setup",
            nr: nr("io_uring_setup"),
            args: [0; 6],
        },
        Probe {
            name: "x32 getpid",
            nr: nr("getpid") | 0x4000_0000,
            args: [0; 6],
        },
        Probe {
            name: "unknown 999",
            nr: 999,
            args: [0; 6],
        },
    ]
}

fn policies() -> Vec<Ir> {
    let opts = Options {
        arch: Arch::X86_64,
        require_policy: true,
    };
    let mut out = Vec::new();
    let mut sources = SourceMap::new();
    let checked = check_std_module(&mut sources, "std::profiles", &opts).unwrap();
    assert!(!checked.has_errors());
    out.extend(checked.policies.iter().map(|p| claw_lower::lower(p, &sources)));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "claw") {
            let mut sources = SourceMap::new();
            let file = sources.add(path.to_string_lossy(), std::fs::read_to_string(&path).unwrap());
            let checked = check_file(&mut sources, file, &opts);
            assert!(!checked.has_errors(), "{}", path.display());
            out.extend(checked.policies.iter().map(|p| claw_lower::lower(p, &sources)));
        }
    }
    out
}

#[test]
fn compiled_filters_decide_real_syscalls_as_the_ir_says() {
    if Arch::native() != Some(Arch::X86_64) {
        panic!("this test drives x86_64 syscalls; run it on an x86_64 kernel");
    }
    let irs = policies();
    assert!(irs.len() >= 6);
    let mut seen = std::collections::HashSet::new();
    for ir in &irs {
        let prog = claw_bpf::compile(ir).unwrap();
        for p in probes() {
            // SAFETY: a raw syscall with integer arguments; it runs only in the forked
            // child of `in_child`, where whatever it does ends with the child.
            let call = || unsafe {
                libc::syscall(
                    p.nr as libc::c_long,
                    p.args[0],
                    p.args[1],
                    p.args[2],
                    p.args[3],
                    p.args[4],
                    p.args[5],
                )
            };
            let got = in_child(Some(&prog), &call);
            let want = match ir.filter_outcome(ir.arch.audit_arch(), p.nr, &p.args) {
                FilterOutcome::KillProcess => Outcome::Signal(libc::SIGSYS),
                FilterOutcome::Act(claw_ir::Action::Kill) => Outcome::Signal(libc::SIGSYS),
                FilterOutcome::Act(claw_ir::Action::Deny(e)) => Outcome::Errno(i32::from(e)),
                FilterOutcome::Act(_) => in_child(None, &call),
                FilterOutcome::Notify => Outcome::Errno(libc::ENOSYS),
            };
            assert_eq!(got, want, "policy `{}`: {}", ir.name, p.name);
            seen.insert(got);
        }
    }
    // The probes exercise every kind of outcome, so the comparison above means something.
    for kind in [
        Outcome::Ok,
        Outcome::Errno(libc::EPERM),
        Outcome::Errno(libc::EACCES),
        Outcome::Errno(libc::ENOSYS),
        Outcome::Signal(libc::SIGSYS),
    ] {
        assert!(seen.contains(&kind), "no probe produced {kind:?}: {seen:?}");
    }
}

#[test]
fn a_sandboxed_child_cannot_escape_the_arch_check() {
    // The coding agent's filter kills a process that switches ABI. `int 0x80` enters
    // the i386 table with AUDIT_ARCH_I386, which the first check of the filter kills.
    let ir = policies().into_iter().find(|p| p.name == "coding_agent").unwrap();
    let prog = claw_bpf::compile(&ir).unwrap();
    // SAFETY: `int 0x80` with eax = 20 is i386 getpid: it reads no memory and
    // clobbers only eax (declared); run in a forked child by `in_child`.
    let int80 = || unsafe {
        let ret: libc::c_long;
        // i386 getpid is 20.
        std::arch::asm!("int 0x80", inlateout("eax") 20i64 => ret, options(nostack));
        ret
    };
    assert_eq!(in_child(Some(&prog), &int80), Outcome::Signal(libc::SIGSYS));
    // Unfiltered, the same instruction works (the machine has IA32 emulation) or is
    // refused by the kernel without a signal; either way not SIGSYS.
    assert_ne!(in_child(None, &int80), Outcome::Signal(libc::SIGSYS));
}
