//! E0403 means only a real miscompilation: over generated policies — syscall-level
//! rules on every mediated (path and network) syscall, every action as a rule and as
//! the default, verb rules and transitions mixed in — translation validation proves
//! that the compiled filter implements the policy, every time.

use claw_ir::*;
use claw_stdlib::{Arch, SyscallTable};
use claw_verify::{validate_translation, Outcome};
use proptest::prelude::*;

const ACTIONS: [Action; 6] = [
    Action::Allow,
    Action::Log,
    Action::Deny(1),
    Action::Deny(13),
    Action::Deny(0),
    Action::Kill,
];

fn mediated(arch: Arch) -> Vec<u32> {
    let table = SyscallTable::get(arch);
    mediation::EFFECTS
        .iter()
        .filter_map(|e| table.by_name(e.name))
        .map(|s| s.nr)
        .collect()
}

fn ir(arch: Arch, default: Action, states: usize, rules: Vec<Rule>, transitions: Vec<Transition>) -> Ir {
    Ir {
        name: "generated".into(),
        arch,
        default,
        states: (0..states).map(|i| format!("s{i}")).collect(),
        initial: 0,
        rules,
        transitions,
        assertions: vec![],
    }
}

fn syscall_rule(action: Action, nr: u32, conds: Vec<ArgCond>, states: Option<Vec<u32>>) -> Rule {
    Rule {
        action,
        states,
        matcher: Matcher::Syscall { nr, conds },
        origin: "generated.claw:1".into(),
    }
}

fn proved(ir: &Ir) {
    let prog = claw_bpf::compile(ir).expect("compiles");
    match validate_translation(ir, &prog, 60_000) {
        Outcome::Proved => {}
        other => panic!("translation validation did not prove {ir:#?}: {other:?}"),
    }
}

/// `allow openat;` alone, and the same for every mediated syscall and every action,
/// under every default: each one a policy a user can write.
#[test]
fn every_syscall_rule_on_a_mediated_syscall_is_proved() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let nrs = mediated(arch);
        assert!(nrs.len() > 20, "the mediated syscalls are found");
        for (i, &nr) in nrs.iter().enumerate() {
            let action = ACTIONS[i % ACTIONS.len()];
            let default = ACTIONS[(i / ACTIONS.len() + i) % ACTIONS.len()];
            proved(&ir(
                arch,
                default,
                1,
                vec![syscall_rule(action, nr, vec![], None)],
                vec![],
            ));
        }
    }
}

/// Every (rule action, default) pair on `openat` and `connect`, alone and next to
/// verb rules that allow some paths, in one state and in two.
#[test]
fn every_action_pair_is_proved() {
    let table = SyscallTable::get(Arch::X86_64);
    let openat = table.by_name("openat").unwrap().nr;
    let connect = table.by_name("connect").unwrap().nr;
    let read_w = Rule {
        action: Action::Allow,
        states: None,
        matcher: Matcher::Access {
            verbs: vec![Verb::Read],
            entity: Entity::Paths(vec!["/w/**".into()]),
        },
        origin: "generated.claw:2".into(),
    };
    for default in ACTIONS {
        for action in ACTIONS {
            for nr in [openat, connect] {
                let r = syscall_rule(action, nr, vec![], None);
                proved(&ir(Arch::X86_64, default, 1, vec![r.clone()], vec![]));
                proved(&ir(Arch::X86_64, default, 1, vec![r, read_w.clone()], vec![]));
                let only_second = syscall_rule(action, nr, vec![], Some(vec![1]));
                proved(&ir(Arch::X86_64, default, 2, vec![only_second], vec![]));
            }
        }
    }
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop::sample::select(ACTIONS.to_vec())
}

fn arb_cond() -> impl Strategy<Value = ArgCond> {
    let op = prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ]);
    let value = prop_oneof![0u64..8, any::<u64>(), Just(u64::MAX), Just(0xffff_ffffu64)];
    (
        0u8..6,
        prop::sample::select(vec![32u8, 64]),
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

fn arb_matcher(nrs: Vec<u32>) -> impl Strategy<Value = Matcher> {
    let paths = prop::sample::select(vec!["/**", "/w/**", "$WORKSPACE/**", "/etc/passwd"]);
    let path_verbs = vec![Verb::Read, Verb::Write, Verb::Append, Verb::Exec, Verb::Visible];
    let net_verbs = vec![Verb::Connect, Verb::Send, Verb::Bind];
    prop_oneof![
        4 => (prop::sample::select(nrs), prop::collection::vec(arb_cond(), 0..2))
            .prop_map(|(nr, conds)| Matcher::Syscall { nr, conds }),
        2 => (prop::sample::subsequence(path_verbs, 1..3), paths).prop_map(|(verbs, p)| Matcher::Access {
            verbs,
            entity: Entity::Paths(vec![p.into()]),
        }),
        1 => prop::sample::subsequence(net_verbs, 1..3).prop_map(|verbs| Matcher::Access {
            verbs,
            entity: Entity::Endpoints(vec![Endpoint {
                proto: Proto::Tcp,
                addr: Addr::Any,
                ports: (443, 443),
            }]),
        }),
    ]
}

fn arb_ir() -> impl Strategy<Value = Ir> {
    let table = SyscallTable::get(Arch::X86_64);
    let mut nrs = mediated(Arch::X86_64);
    nrs.extend(
        ["getpid", "socket", "ioctl"]
            .iter()
            .map(|n| table.by_name(n).unwrap().nr),
    );
    let rule = (
        arb_action(),
        prop::option::of(prop::collection::vec(0u32..2, 1..2)),
        arb_matcher(nrs.clone()),
    )
        .prop_map(|(action, states, matcher)| Rule {
            action,
            states,
            matcher,
            origin: "generated.claw:3".into(),
        });
    (
        arb_action(),
        prop::collection::vec(rule, 1..8),
        any::<bool>(),
        prop::option::of(arb_matcher(nrs)),
    )
        .prop_map(|(default, rules, two, event)| {
            let states = if two { 2 } else { 1 };
            let rules = rules
                .into_iter()
                .map(|mut r| {
                    if !two {
                        r.states = None;
                    }
                    r
                })
                .collect();
            let transitions = match event {
                Some(event) if two => vec![Transition {
                    from: 0,
                    to: 1,
                    event,
                    origin: "generated.claw:4".into(),
                }],
                _ => vec![],
            };
            ir(Arch::X86_64, default, states, rules, transitions)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_policies_are_proved(ir in arb_ir()) {
        proved(&ir);
    }
}
