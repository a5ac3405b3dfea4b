//! Differential tests: for random policies and random `seccomp_data`, the emitted
//! program (run in the emulator) returns exactly what the IR says a filter must:
//! its decision where the kernel decides, USER_NOTIF where the monitor does, and
//! KILL_PROCESS for foreign architectures and x32 numbers.

use claw_bpf::*;
use claw_ir::*;
use claw_stdlib::{Arch, SyscallTable};
use proptest::prelude::*;

const POOL: &[&str] = &[
    "read", "write", "openat", "socket", "ioctl", "clone", "mmap", "getpid", "kill", "connect", "execve",
    "prctl", "futex", "ptrace", "clone3", "unlink", "fcntl", "lseek",
];

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Allow),
        3 => (1u16..4).prop_map(Action::Deny),
        1 => Just(Action::Kill),
        1 => Just(Action::Log),
    ]
}

fn arb_cond() -> impl Strategy<Value = ArgCond> {
    let op = prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ];
    let value = prop_oneof![
        0u64..8,
        any::<u64>(),
        Just(u64::MAX),
        Just(0x1_0000_0000u64),
        Just(0xffff_ffffu64)
    ];
    (
        0u8..6,
        prop_oneof![Just(16u8), Just(32u8), Just(64u8)],
        prop::option::of(value.clone()),
        op,
        value,
    )
        .prop_map(|(arg, width, mask, op, value)| ArgCond {
            arg,
            width,
            mask,
            op,
            value,
        })
}

fn arb_ir(arch: Arch) -> impl Strategy<Value = Ir> {
    let table = SyscallTable::get(arch);
    let nrs: Vec<u32> = POOL
        .iter()
        .filter_map(|n| table.by_name(n))
        .map(|s| s.nr)
        .collect();
    let matcher = prop_oneof![
        5 => (prop::sample::select(nrs), prop::collection::vec(arb_cond(), 0..3))
            .prop_map(|(nr, conds)| Matcher::Syscall { nr, conds }),
        1 => prop::sample::select(vec![Verb::Read, Verb::Write, Verb::Connect, Verb::Exec])
            .prop_map(|v| Matcher::Access { verbs: vec![v], entity: Entity::Paths(vec!["/w/**".into()]) }),
    ];
    let rule = (
        arb_action(),
        prop::option::of(prop::collection::vec(0u32..2, 1..2)),
        matcher,
    )
        .prop_map(|(action, states, matcher)| Rule {
            action,
            states,
            matcher,
            origin: String::new(),
        });
    (arb_action(), prop::collection::vec(rule, 0..14), any::<bool>()).prop_map(
        move |(default, rules, two)| Ir {
            name: "random".into(),
            arch,
            default,
            states: if two {
                vec!["a".into(), "b".into()]
            } else {
                vec!["a".into()]
            },
            initial: 0,
            rules: rules
                .into_iter()
                .map(|mut r| {
                    if !two {
                        r.states = None;
                    }
                    r
                })
                .collect(),
            transitions: Vec::new(),
            assertions: vec![],
        },
    )
}

/// Values near the interesting boundaries, with the upper half sometimes set.
fn arb_arg() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..8,
        any::<u64>(),
        (0u64..8).prop_map(|v| v | 0xffff_ffff_0000_0000),
        Just(0x1_0000_0000u64),
        Just(0xffff_ffffu64),
        Just(u64::MAX),
    ]
}

fn expected_ret(ir: &Ir, d: &SeccompData) -> u32 {
    match ir.filter_outcome(d.arch, d.nr, &d.args) {
        FilterOutcome::KillProcess => RET_KILL_PROCESS,
        FilterOutcome::Notify => RET_USER_NOTIF,
        FilterOutcome::Act(a) => ret_value(a),
    }
}

fn check(ir: &Ir, nrs: &[u32], args: [u64; 6], pick: usize, arch_ok: bool) {
    let prog = compile(ir).expect("compiles");
    validate(&prog).expect("valid");
    let audit = if arch_ok {
        ir.arch.audit_arch()
    } else {
        0x4000_0003
    };
    let d = SeccompData {
        nr: nrs[pick % nrs.len()],
        arch: audit,
        instruction_pointer: 0,
        args,
    };
    let (got, _) = run(&prog, &d).expect("runs");
    assert_eq!(
        ret_name(got),
        ret_name(expected_ret(ir, &d)),
        "nr {} args {:x?}\n{}",
        d.nr,
        d.args,
        disasm(&prog, ir.arch)
    );
}

fn interesting_nrs(arch: Arch) -> Vec<u32> {
    let table = SyscallTable::get(arch);
    let mut v: Vec<u32> = POOL
        .iter()
        .filter_map(|n| table.by_name(n))
        .map(|s| s.nr)
        .collect();
    v.extend([
        0,
        1,
        table.nr_limit() - 1,
        table.nr_limit(),
        999,
        0x3fff_ffff,
        0x4000_0000,
        0x4000_0001,
        u32::MAX,
    ]);
    v
}

proptest! {
    // Cheap and the most important property of the code generator: run it harder
    // than the default 256 cases (a masked-upper-half bug needed ~1000 to show).
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn emitted_filter_agrees_with_ir_x86_64(
        ir in arb_ir(Arch::X86_64), args in prop::array::uniform6(arb_arg()), pick in any::<usize>(), arch_ok in prop::bool::weighted(0.9)
    ) {
        check(&ir, &interesting_nrs(Arch::X86_64), args, pick, arch_ok);
    }

    #[test]
    fn emitted_filter_agrees_with_ir_aarch64(
        ir in arb_ir(Arch::Aarch64), args in prop::array::uniform6(arb_arg()), pick in any::<usize>(), arch_ok in prop::bool::weighted(0.9)
    ) {
        check(&ir, &interesting_nrs(Arch::Aarch64), args, pick, arch_ok);
    }

    /// Every syscall decided as a constant in the kernel runs only instructions the
    /// kernel's constant-action cache accepts, whatever the arguments.
    #[test]
    fn constant_paths_are_cacheable(ir in arb_ir(Arch::X86_64), args in prop::array::uniform6(arb_arg())) {
        let prog = compile(&ir).unwrap();
        for nr in 0..SyscallTable::get(Arch::X86_64).nr_limit() + 2 {
            if let Route::Kernel(k) = ir.route(nr) {
                if k.constant().is_some() {
                    let d = SeccompData { nr, arch: ir.arch.audit_arch(), instruction_pointer: 0, args };
                    let (_, pcs) = trace(&prog, &d).unwrap();
                    for pc in pcs {
                        prop_assert!(cacheable(&prog[pc]), "nr {nr}: instruction {pc} spoils the cache");
                    }
                }
            }
        }
    }
}

/// Found by the property test: a mask with a zero upper half against a value with
/// a non-zero upper half can never be equal, whatever the low half.
#[test]
fn masked_upper_half_against_wide_value() {
    let futex = SyscallTable::get(Arch::X86_64).by_name("futex").unwrap().nr;
    for (op, holds) in [
        (CmpOp::Eq, false),
        (CmpOp::Ne, true),
        (CmpOp::Lt, true),
        (CmpOp::Ge, false),
    ] {
        let cond = ArgCond {
            arg: 5,
            width: 64,
            mask: Some(0xffff_ffff),
            op,
            value: u64::MAX,
        };
        let ir = Ir {
            name: "t".into(),
            arch: Arch::X86_64,
            default: Action::Allow,
            states: vec![String::new()],
            initial: 0,
            rules: vec![Rule {
                action: Action::Deny(1),
                states: None,
                matcher: Matcher::Syscall {
                    nr: futex,
                    conds: vec![cond],
                },
                origin: String::new(),
            }],
            transitions: vec![],
            assertions: vec![],
        };
        let prog = compile(&ir).unwrap();
        let d = SeccompData {
            nr: futex,
            arch: ir.arch.audit_arch(),
            instruction_pointer: 0,
            args: [0, 0, 0, 0, 0, 0xffff_ffff],
        };
        let want = if holds { RET_ERRNO | 1 } else { RET_ALLOW };
        assert_eq!(run(&prog, &d).unwrap().0, want, "{op:?}");
        assert_eq!(expected_ret(&ir, &d), want, "{op:?}");
    }
}

#[test]
fn long_jumps_use_trampolines_and_stay_correct() {
    // Argument conditions on many syscalls make subtrees far longer than 255.
    let table = SyscallTable::get(Arch::X86_64);
    let mut rules = Vec::new();
    for s in table.iter().filter(|s| s.args.len() >= 2).take(120) {
        for v in 0..3u64 {
            rules.push(Rule {
                action: Action::Deny(1 + v as u16),
                states: None,
                matcher: Matcher::Syscall {
                    nr: s.nr,
                    conds: vec![ArgCond {
                        arg: 1,
                        width: 64,
                        mask: None,
                        op: CmpOp::Eq,
                        value: v << 33 | v,
                    }],
                },
                origin: String::new(),
            });
        }
    }
    let ir = Ir {
        name: "big".into(),
        arch: Arch::X86_64,
        default: Action::Allow,
        states: vec![String::new()],
        initial: 0,
        rules,
        transitions: vec![],
        assertions: vec![],
    };
    let prog = compile(&ir).unwrap();
    assert!(prog.len() > 1000);
    assert!(
        prog.iter().any(|i| i.code == BPF_JMP | BPF_JA),
        "expected a 32-bit jump trampoline"
    );
    validate(&prog).unwrap();
    for s in table.iter().filter(|s| s.args.len() >= 2).take(120) {
        for v in 0..4u64 {
            let mut args = [0u64; 6];
            args[1] = v << 33 | v;
            let d = SeccompData {
                nr: s.nr,
                arch: ir.arch.audit_arch(),
                instruction_pointer: 0,
                args,
            };
            assert_eq!(run(&prog, &d).unwrap().0, expected_ret(&ir, &d), "{} {v}", s.name);
        }
    }
}

#[test]
fn programs_over_the_kernel_limit_are_refused() {
    let table = SyscallTable::get(Arch::X86_64);
    let mut rules = Vec::new();
    for s in table.iter().filter(|s| s.args.len() >= 6) {
        for v in 0..40u64 {
            let conds = (0..6)
                .map(|a| ArgCond {
                    arg: a,
                    width: 64,
                    mask: None,
                    op: CmpOp::Eq,
                    value: v << 40 | v,
                })
                .collect();
            rules.push(Rule {
                action: Action::Deny(1),
                states: None,
                matcher: Matcher::Syscall { nr: s.nr, conds },
                origin: String::new(),
            });
        }
    }
    let ir = Ir {
        name: "huge".into(),
        arch: Arch::X86_64,
        default: Action::Allow,
        states: vec![String::new()],
        initial: 0,
        rules,
        transitions: vec![],
        assertions: vec![],
    };
    match compile(&ir) {
        Err(CodegenError::TooLong { len }) => assert!(len > MAX_INSNS),
        other => panic!("expected TooLong, got {:?}", other.map(|p| p.len())),
    }
}

/// Consecutive single-comparison rules on the same argument share one load; the
/// result must still be exactly the IR's for every value, including when a rule in
/// between loads something else.
#[test]
fn shared_argument_loads_stay_correct() {
    let t = SyscallTable::get(Arch::X86_64);
    let fcntl = t.by_name("fcntl").unwrap().nr;
    let c = |arg: u8, width: u8, mask: Option<u64>, op, value| ArgCond {
        arg,
        width,
        mask,
        op,
        value,
    };
    let r = |action, conds| Rule {
        action,
        states: None,
        matcher: Matcher::Syscall { nr: fcntl, conds },
        origin: String::new(),
    };
    let rules = vec![
        r(Action::Kill, vec![c(1, 32, None, CmpOp::Eq, 1)]),
        r(Action::Deny(13), vec![c(1, 32, None, CmpOp::Eq, 2)]),
        r(Action::Deny(13), vec![c(1, 32, Some(0xf0), CmpOp::Eq, 0x30)]),
        r(Action::Deny(2), vec![c(1, 32, Some(0xf0), CmpOp::Eq, 0x40)]),
        r(
            Action::Deny(2),
            vec![c(2, 64, None, CmpOp::Gt, 1 << 40), c(1, 32, None, CmpOp::Eq, 5)],
        ),
        r(Action::Deny(3), vec![c(1, 32, None, CmpOp::Eq, 6)]),
        r(Action::Allow, vec![c(1, 32, None, CmpOp::Lt, 100)]),
    ];
    let ir = Ir {
        name: "loads".into(),
        arch: Arch::X86_64,
        default: Action::Deny(1),
        states: vec![String::new()],
        initial: 0,
        rules,
        transitions: vec![],
        assertions: vec![],
    };
    let prog = compile(&ir).unwrap();
    let loads = prog
        .iter()
        .filter(|i| i.code == BPF_LD | BPF_W | BPF_ABS && i.k == OFF_ARGS + 8)
        .count();
    assert!(
        loads < 7,
        "expected shared loads of args[1], got {loads}:\n{}",
        disasm(&prog, Arch::X86_64)
    );
    for a1 in [
        0u64,
        1,
        2,
        3,
        5,
        6,
        0x30,
        0x31,
        0x40,
        0x4f,
        99,
        100,
        0xffff_ffff_0000_0002,
    ] {
        for a2 in [0u64, 1 << 41] {
            let d = SeccompData {
                nr: fcntl,
                arch: ir.arch.audit_arch(),
                instruction_pointer: 0,
                args: [0, a1, a2, 0, 0, 0],
            };
            assert_eq!(
                ret_name(run(&prog, &d).unwrap().0),
                ret_name(expected_ret(&ir, &d)),
                "args[1]={a1:#x} args[2]={a2:#x}"
            );
        }
    }
}
