//! `claw_verify` against a brute-force model checker (`brute/checker.rs`) with the
//! interpreter as the oracle: wherever the brute force finds a violation, the
//! verifier must not prove the property; every counterexample the verifier prints
//! must replay step by step under `Ir::decide`/`Ir::next_state` (decision and
//! state of each step, variable values the runtime accepts) and violate the
//! property. A corpus of hand-written edge cases (every case of issue 19) and a
//! property test over generated policies.

#[path = "brute/checker.rs"]
mod checker;

use checker::{envs, requests, run_violates, violation, BReq};
use claw_ir::*;
use claw_stdlib::{Arch, SyscallTable};
use claw_verify::{verify, Counterexample, Options, Outcome};
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn compile(text: &str) -> Ir {
    let mut sm = claw_lang::span::SourceMap::new();
    let f = sm.add("case.claw", text);
    let c = claw_lang::check::check_file(&mut sm, f, &claw_lang::check::Options::default());
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{d:?}"))
        .collect();
    assert!(errors.is_empty(), "{text}\n{errors:#?}");
    claw_lower::lower(&c.policies[0], &sm)
}

/// Replays a counterexample under the interpreter; `Err` says where it breaks.
fn replay(ir: &Ir, prop: &Property, cex: &Counterexample) -> Result<(), String> {
    let first_vars = cex.steps.first().map(|s| s.vars.clone()).unwrap_or_default();
    let mut env = Env::new();
    for (n, v) in &first_vars {
        claw_ir::check_var(n, v).map_err(|e| format!("the witness breaks the runtime's check: {e}"))?;
        env.set(n, v);
    }
    let mut state = ir.initial;
    let mut run: Vec<BReq> = Vec::new();
    for (i, step) in cex.steps.iter().enumerate() {
        if step.vars != first_vars {
            return Err(format!(
                "step {} uses other variable values: {:?}",
                i + 1,
                step.vars
            ));
        }
        if step.state_id != Some(state) {
            return Err(format!(
                "step {} claims state {:?}, the run is in {state}",
                i + 1,
                step.state_id
            ));
        }
        let nr = ir
            .table()
            .by_name(&step.request.syscall)
            .ok_or_else(|| format!("step {}: unknown syscall {}", i + 1, step.request.syscall))?
            .nr;
        let r = BReq {
            nr,
            args: step.request.args,
            accesses: step.request.accesses.clone(),
        };
        if !checker::allowed(ir, state, &r, &env) {
            return Err(format!(
                "step {} is not allowed: {:?}",
                i + 1,
                ir.decide(state, &r.request(), &env)
            ));
        }
        let next = checker::next(ir, state, &r, &env);
        if step.next != Some(next) {
            return Err(format!(
                "step {} moves to {next}, the trace says {:?}",
                i + 1,
                step.next
            ));
        }
        state = next;
        run.push(r);
    }
    let refs: Vec<&BReq> = run.iter().collect();
    if !run_violates(ir, prop, &refs, &env) {
        return Err("the run does not violate the property".into());
    }
    Ok(())
}

#[derive(Default, Debug)]
struct Tally {
    proved: usize,
    failed: usize,
    unknown: usize,
    brute_violations: usize,
}

/// Verifies `ir` and checks every verdict against the brute force.
fn check(ir: &Ir, tally: &mut Tally) {
    let t0 = Instant::now();
    let report = verify(
        ir,
        None,
        Options {
            timeout_ms: 10_000,
            lints: false,
        },
    );
    let t_verify = t0.elapsed();
    let t0 = Instant::now();
    for (i, a) in ir.assertions.iter().enumerate() {
        let outcome = &report.checks[i].outcome;
        let mut found = None;
        for env in envs() {
            let reqs = requests(ir, &env);
            if let Some(f) = violation(ir, &a.property, &reqs, &env) {
                found = Some((env, f));
                break;
            }
        }
        if found.is_some() {
            tally.brute_violations += 1;
        }
        match outcome {
            Outcome::Proved => {
                tally.proved += 1;
                if let Some((env, f)) = found {
                    panic!(
                        "`{}` was proved, but this run violates it ({env:?}):\n{:#?}\n{ir:#?}",
                        a.text, f.run
                    );
                }
            }
            Outcome::Failed(cex) => {
                tally.failed += 1;
                if let Err(e) = replay(ir, &a.property, cex) {
                    panic!(
                        "`{}`: the counterexample does not replay: {e}\n{cex}\n{ir:#?}",
                        a.text
                    );
                }
            }
            Outcome::Unknown(why) => {
                tally.unknown += 1;
                // Never unsound, but a verdict the brute force could give. Only
                // the solver running out of time excuses it (a loaded machine);
                // the corpus asks for exact verdicts.
                let timeout =
                    why.contains("timeout") || why.contains("timed out") || why.contains("canceled");
                assert!(
                    found.is_none() || timeout,
                    "`{}`: inconclusive ({why}) where the brute force finds a violation\n{ir:#?}",
                    a.text
                );
                if found.is_some() {
                    eprintln!(
                        "note: `{}` timed out where the brute force finds a violation",
                        a.text
                    );
                }
            }
        }
    }
    if std::env::var_os("BRUTE_TIMES").is_some() {
        eprintln!("verify {t_verify:?}, brute force {:?}", t0.elapsed());
    }
}

fn verdicts(ir: &Ir) -> Vec<&'static str> {
    let report = verify(ir, None, Options::default());
    report
        .checks
        .iter()
        .map(|c| match c.outcome {
            Outcome::Proved => "proved",
            Outcome::Failed(_) => "failed",
            Outcome::Unknown(_) => "unknown",
        })
        .collect()
}

/// A corpus case: the policy, the verdict of each assertion, checked against
/// the brute force and replayed.
fn case(text: &str, want: &[&str]) {
    let ir = compile(text);
    let mut t = Tally::default();
    check(&ir, &mut t);
    assert_eq!(verdicts(&ir), want, "{text}");
}

#[test]
fn paths_with_spaces_are_built() {
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow read path "/data/a b/**"; }
            assert never read path "/data/*/c";
        }"#,
        &["failed"],
    );
    // A transition reachable only through such a path is live.
    case(
        r#"policy p {
            let api = endpoint tcp "*" port 443;
            default deny(EPERM);
            state a initial { allow read path "/data/a b/**"; on read path "/data/a b/k" -> b; }
            state b { allow connect api; }
            assert never connect;
        }"#,
        &["failed"],
    );
}

#[test]
fn question_mark_is_one_byte_in_both() {
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow read path "/data/??/x"; }
            assert never read path "/data/é/**";
            assert never read path "/data/?/x";
        }"#,
        &["failed", "proved"],
    );
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow read path "/data/???/x"; }
            assert never read path "/data/€/x";
            assert always read within path "/data/*/x";
        }"#,
        &["failed", "proved"],
    );
}

#[test]
fn open_files_stay_open_whatever_other_verbs_are_named() {
    let p = |assertion: &str| {
        format!(
            r#"policy p {{
                default deny(EPERM);
                state clean initial {{ allow read path "/data/**"; allow read path "/sec"; on read path "/sec" -> t; }}
                state t {{ }}
                {assertion}
            }}"#
        )
    };
    case(
        &p(r#"assert never read path "/data/**" after read path "/sec";"#),
        &["failed"],
    );
    case(
        &p(r#"assert never read, exec path "/data/**" after read path "/sec";"#),
        &["failed"],
    );
    // Exec keeps nothing open: that part alone holds.
    case(
        &p(r#"assert never exec path "/data/**" after read path "/sec";"#),
        &["proved"],
    );
}

#[test]
fn every_state_where_the_event_happens_is_searched() {
    // The event in `s1` is possible only for $HOME outside /home/agent (the
    // witness value), and leads to a state already known to follow it.
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow read path "/**"; }
            state s0 initial { on read path "/k" -> s1; on read path "$HOME/.ssh/*" -> s2; }
            state s1 { deny read path "/home/agent/**"; allow write path "/data/**"; on read path "$HOME/.ssh/*" -> s2; }
            state s2 { }
            assert never write path "/data/**" after read path "$HOME/.ssh/*";
        }"#,
        &["failed"],
    );
}

#[test]
fn the_first_transition_written_wins() {
    let p = |a: &str, b: &str| {
        format!(
            r#"policy p {{
                let api = endpoint tcp "*" port 443;
                default deny(EPERM);
                state a initial {{ allow read path "/x/**"; {a} {b} }}
                state b {{ }}
                state c {{ allow connect api; }}
                assert never connect;
                assert never connect after read path "/x/y";
            }}"#
        )
    };
    // `/x/y` takes the first, to `b`: `c` is never entered.
    case(
        &p(r#"on read path "/x/**" -> b;"#, r#"on read path "/x/y" -> c;"#),
        &["proved", "proved"],
    );
    case(
        &p(r#"on read path "/x/y" -> c;"#, r#"on read path "/x/**" -> b;"#),
        &["failed", "failed"],
    );
}

#[test]
fn ipv4_mapped_addresses_are_ipv4_in_both() {
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow connect endpoint tcp "::ffff:0:0/96" port 443; }
            assert never connect endpoint tcp "10.0.0.0/8";
            assert never connect;
        }"#,
        &["proved", "proved"],
    );
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow connect endpoint tcp "10.0.0.0/8" port 443; }
            assert never connect endpoint tcp "::ffff:10.0.0.0/104";
            assert always connect within endpoint tcp "10.0.0.0/8" port 443;
        }"#,
        &["proved", "proved"],
    );
}

#[test]
fn an_rdwr_open_is_one_request_with_both_verbs() {
    // Reading is allowed, writing is not: an O_RDWR open is refused, so it can
    // neither read nor fire the transition on write.
    case(
        r#"policy p {
            let api = endpoint tcp "*" port 443;
            default deny(EPERM);
            state a initial { allow read path "/d/**"; on write path "/d/**" -> b; }
            state b { allow connect api; }
            assert never connect;
            assert never read path "/d/**";
        }"#,
        &["proved", "failed"],
    );
    // Both allowed: the read-write open moves on the write transition.
    case(
        r#"policy p {
            let api = endpoint tcp "*" port 443;
            default deny(EPERM);
            state a initial { allow read, write path "/d/**"; deny write path "/d/k"; on read path "/d/k" -> b; }
            state b { allow connect api; }
            assert never connect;
            assert never write path "/d/k";
        }"#,
        &["failed", "proved"],
    );
}

#[test]
fn path_variables_take_values_the_runtime_accepts() {
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow read path "$XDG_RUNTIME_DIR/**"; }
            assert never read path "$XDG_RUNTIME_DIR/x";
            assert never read path "/run/systemd/**";
        }"#,
        &["failed", "proved"],
    );
}

#[test]
fn a_variable_at_a_directory_the_policy_names() {
    // Fails only if $WORKSPACE is /data or above /data/a…: found by trying the
    // policy's own directories (z3 alone timed out), as one run.
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow visible path "/data/a*"; }
            assert never visible path "$WORKSPACE/**" after visible;
        }"#,
        &["failed"],
    );
}

#[test]
fn the_slow_cases_prove_in_seconds() {
    let t = Instant::now();
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow read path "~/.ssh/*"; }
            assert never read path "$HOME/.ssh/*/x";
        }"#,
        &["proved"],
    );
    case(
        r#"policy p {
            default deny(EPERM);
            always { allow exec path "/opt/tools/*"; }
            assert always exec within path "/opt/**";
        }"#,
        &["proved"],
    );
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

// ---- Generated policies ----

fn nr(n: &str) -> u32 {
    SyscallTable::get(Arch::X86_64).by_name(n).unwrap().nr
}

const PATHS: &[&str] = &[
    "/data/**",
    "/data/*/c",
    "/data/a b/**",
    "/data/??/x",
    "/data/é/**",
    "/data/x",
    "/data/*",
    "/data/a*",
    "/opt/tools/*",
    "/opt/**",
    "/x/**",
    "/x/y",
    "/**",
    "/run/**",
    "$HOME/.ssh/*",
    "$HOME/**",
    "$WORKSPACE/**",
    "$XDG_RUNTIME_DIR/**",
];

fn endpoints() -> Vec<Endpoint> {
    let ep = |proto, addr, ports| Endpoint { proto, addr, ports };
    vec![
        ep(Proto::Tcp, Addr::Any, (443, 443)),
        ep(Proto::Tcp, Addr::Cidr("10.0.0.0".parse().unwrap(), 8), (1, 1024)),
        ep(
            Proto::Tcp,
            Addr::Cidr("::ffff:0:0".parse().unwrap(), 96),
            (443, 443),
        ),
        ep(
            Proto::Tcp,
            Addr::Cidr("2001:db8::".parse().unwrap(), 32),
            (0, 65535),
        ),
        ep(Proto::Udp, Addr::Cidr("0.0.0.0".parse().unwrap(), 0), (53, 53)),
        ep(Proto::Unix, Addr::UnixPath("/run/x.sock".into()), (0, 0)),
    ]
}

fn path_verbs() -> impl Strategy<Value = Vec<Verb>> {
    proptest::sample::subsequence(
        vec![Verb::Read, Verb::Write, Verb::Append, Verb::Exec, Verb::Visible],
        1..=2,
    )
}

fn net_verbs() -> impl Strategy<Value = Vec<Verb>> {
    proptest::sample::subsequence(vec![Verb::Connect, Verb::Send, Verb::Bind], 1..=2)
}

fn path_entity() -> impl Strategy<Value = Entity> {
    proptest::sample::subsequence(PATHS.to_vec(), 1..=2)
        .prop_map(|ps| Entity::Paths(ps.into_iter().map(str::to_string).collect()))
}

fn net_entity() -> impl Strategy<Value = Entity> {
    proptest::sample::subsequence(endpoints(), 1..=2).prop_map(Entity::Endpoints)
}

fn access() -> impl Strategy<Value = (Vec<Verb>, Entity)> {
    prop_oneof![
        3 => (path_verbs(), path_entity()),
        1 => (net_verbs(), net_entity()),
    ]
}

fn matcher() -> impl Strategy<Value = Matcher> {
    prop_oneof![
        6 => access().prop_map(|(verbs, entity)| Matcher::Access { verbs, entity }),
        1 => (0u64..3, prop_oneof![Just(CmpOp::Eq), Just(CmpOp::Gt), Just(CmpOp::Le)], prop_oneof![Just(32u8), Just(64u8)])
            .prop_map(|(v, op, width)| Matcher::Syscall {
                nr: nr("kill"),
                conds: vec![ArgCond { arg: 1, width, mask: None, op, value: v + if width == 64 { 1 << 32 } else { 0 } }],
            }),
    ]
}

/// A syscall rule on `openat`'s flags: then a request's other accesses matter.
fn open_flags_rule() -> impl Strategy<Value = Matcher> {
    (prop_oneof![Just(0o3u64), Just(0o2000), Just(0o100)], 0u64..3).prop_map(|(mask, v)| Matcher::Syscall {
        nr: nr("openat"),
        conds: vec![ArgCond {
            arg: 2,
            width: 32,
            mask: Some(mask),
            op: CmpOp::Eq,
            value: v & mask,
        }],
    })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![4 => Just(Action::Allow), 1 => Just(Action::Log), 2 => Just(Action::Deny(1)), 1 => Just(Action::Deny(13)), 1 => Just(Action::Kill)]
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        4 => access().prop_map(|(verbs, entity)| Pattern::Access { verbs, entity: Some(entity) }),
        1 => prop_oneof![path_verbs(), net_verbs()].prop_map(|verbs| Pattern::Access { verbs, entity: None }),
    ]
}

fn property() -> impl Strategy<Value = Property> {
    prop_oneof![
        2 => pattern().prop_map(|what| Property::Never { what, after: None }),
        2 => (pattern(), pattern()).prop_map(|(what, b)| Property::Never { what, after: Some(b) }),
        1 => access().prop_map(|(verbs, within)| Property::Always { verbs, within }),
    ]
}

fn policy() -> impl Strategy<Value = Ir> {
    (1u32..=3)
        .prop_flat_map(|n| {
            let rule = (
                action(),
                proptest::option::of(proptest::sample::subsequence(
                    (0..n).collect::<Vec<u32>>(),
                    1..=n as usize,
                )),
                prop_oneof![8 => matcher(), 1 => open_flags_rule()],
            )
                .prop_map(|(action, states, matcher)| Rule {
                    action,
                    states,
                    matcher,
                    origin: "gen".into(),
                });
            let transition = (0..n, 0..n, matcher()).prop_map(|(from, to, event)| Transition {
                from,
                to,
                event,
                origin: "gen".into(),
            });
            (
                Just(n),
                prop_oneof![Just(Action::Allow), Just(Action::Deny(1))],
                proptest::collection::vec(rule, 1..=5),
                proptest::collection::vec(transition, 0..=(n as usize)),
                proptest::collection::vec(property(), 1..=2),
            )
        })
        .prop_map(|(n, default, rules, transitions, props)| Ir {
            name: "gen".into(),
            arch: Arch::X86_64,
            default,
            states: if n == 1 {
                vec![String::new()]
            } else {
                (0..n).map(|i| format!("s{i}")).collect()
            },
            initial: 0,
            rules,
            transitions: transitions.into_iter().filter(|t| t.from != t.to).collect(),
            assertions: props
                .into_iter()
                .map(|property| Assertion {
                    property,
                    text: "generated".into(),
                    origin: "gen".into(),
                })
                .collect(),
        })
}

proptest! {
    // Each case is a few dozen solver queries; `PROPTEST_CASES` raises the count
    // (the number used for the issue's run is in docs/BENCHMARKS.md). The seed is
    // fixed, so that CI (a fresh clone, no persisted failures) runs the same 48
    // policies every time; `PROPTEST_RNG_SEED` picks another set for a search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x0c1a_1e55),
        ),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn verify_agrees_with_the_brute_force(ir in policy()) {
        let mut t = Tally::default();
        check(&ir, &mut t);
    }
}

/// The generated case of a counterexample that mixed variable values: the
/// event (a write below `$XDG_RUNTIME_DIR`) found with one value, the exec after
/// it with another. The trace must be one run (one assignment of the variables).
#[test]
fn a_trace_uses_one_assignment_of_the_variables() {
    let paths = |ps: &[&str]| Entity::Paths(ps.iter().map(|p| p.to_string()).collect());
    for (what, b) in [
        (None, None),
        (None, Some(paths(&["$XDG_RUNTIME_DIR/**"]))),
        (Some(paths(&["$HOME/**"])), None),
        (Some(paths(&["$HOME/**", "/run/**"])), Some(paths(&["/x/**"]))),
    ] {
        let ir = Ir {
            name: "gen".into(),
            arch: Arch::X86_64,
            default: Action::Deny(1),
            states: vec!["s0".into(), "s1".into(), "s2".into()],
            initial: 0,
            rules: vec![Rule {
                action: Action::Allow,
                states: None,
                matcher: Matcher::Access {
                    verbs: vec![Verb::Write, Verb::Exec],
                    entity: paths(&["/run/**", "$XDG_RUNTIME_DIR/**"]),
                },
                origin: "gen".into(),
            }],
            transitions: Vec::new(),
            assertions: vec![Assertion {
                property: Property::Never {
                    what: Pattern::Access {
                        verbs: vec![Verb::Exec],
                        entity: what,
                    },
                    after: Some(Pattern::Access {
                        verbs: vec![Verb::Write],
                        entity: b,
                    }),
                },
                text: "generated".into(),
                origin: "gen".into(),
            }],
        };
        let mut t = Tally::default();
        check(&ir, &mut t);
        assert_eq!(t.failed, 1, "{ir:#?}");
    }
}
