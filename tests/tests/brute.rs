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
    /// Assertions also decided by the joint query (policies with variables).
    joint: usize,
}

/// Does the policy use a path variable?
fn uses_vars(ir: &Ir) -> bool {
    checker::entities(ir)
        .iter()
        .any(|e| matches!(e, Entity::Paths(ps) if ps.iter().any(|p| p.starts_with('$'))))
}

/// Verifies `ir` and checks every verdict against the brute force (and the
/// joint query's, if the policy uses variables).
fn check(ir: &Ir, tally: &mut Tally) {
    check_with(ir, tally, 10_000, true)
}

/// [`check`] with each solver query limited to `timeout_ms`, and the joint
/// query asked or not.
fn check_with(ir: &Ir, tally: &mut Tally, timeout_ms: u32, joint: bool) {
    let t0 = Instant::now();
    let report = verify(
        ir,
        None,
        Options {
            timeout_ms,
            lints: false,
        },
    );
    let t_verify = t0.elapsed();
    let t0 = Instant::now();
    // The requests of each set of variable values, built once for all assertions.
    let sets: Vec<(Env, Vec<BReq>)> = envs()
        .into_iter()
        .map(|env| {
            let reqs = requests(ir, &env);
            (env, reqs)
        })
        .collect();
    let brute = |p: &Property| {
        sets.iter()
            .find_map(|(env, reqs)| violation(ir, p, reqs, env).map(|f| (env.clone(), f)))
    };
    for (i, a) in ir.assertions.iter().enumerate() {
        let outcome = &report.checks[i].outcome;
        let found = brute(&a.property);
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
    // The joint query (one assignment of the variables for the whole run) must
    // agree with the brute force and with every verdict the step-by-step search
    // can stand behind: a proof of either against a replaying run of the other
    // is a false proof.
    if joint && uses_vars(ir) {
        for (i, a) in ir.assertions.iter().enumerate() {
            tally.joint += 1;
            let joint = claw_verify::prove_jointly(ir, i, timeout_ms);
            let found = brute(&a.property);
            match (&joint, &report.checks[i].outcome) {
                (Outcome::Proved, _) if found.is_some() => panic!(
                    "`{}`: the joint query proves it, but this run violates it: {:#?}\n{ir:#?}",
                    a.text, found
                ),
                (Outcome::Proved, Outcome::Failed(cex)) => panic!(
                    "`{}`: the joint query proves it, but verify's trace replays:\n{cex}\n{ir:#?}",
                    a.text
                ),
                (Outcome::Failed(cex), other) => {
                    if let Err(e) = replay(ir, &a.property, cex) {
                        panic!(
                            "`{}`: the joint counterexample does not replay: {e}\n{cex}\n{ir:#?}",
                            a.text
                        );
                    }
                    assert!(
                        *other != Outcome::Proved,
                        "`{}`: proved, but the joint query's trace replays:\n{cex}\n{ir:#?}",
                        a.text
                    );
                }
                _ => {}
            }
        }
    }
    if std::env::var_os("BRUTE_SHOW").is_some() {
        eprintln!("{ir:#?}");
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

/// "Leads on to": the trace goes from the event's state to the violating one
/// over transitions of the states it passes through (here `s1`'s, not `s0`'s),
/// each step allowed and moving where the next one is.
#[test]
fn a_trace_leads_on_through_the_states_it_passes() {
    case(
        r#"policy p {
            let api = endpoint tcp "*" port 443;
            default deny(EPERM);
            state s0 initial { allow read path "/sec"; allow read path "/y"; on read path "/sec" -> s1; on read path "/y" -> s2; }
            state s1 { allow read path "/x"; on read path "/x" -> s2; }
            state s2 { allow connect api; }
            assert never connect after read path "/sec";
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

/// Every step of a run shares one assignment of the path variables: the event
/// here needs `$WORKSPACE` inside `/a` (where `s0` lets it be read), the exec
/// after it needs `$WORKSPACE` above `/b/x`. Each step alone is possible; no
/// one value makes both, so the property holds (proved by the joint query, not
/// left inconclusive).
#[test]
fn true_only_because_the_variables_are_shared() {
    let text = r#"policy p {
        default deny(EPERM);
        state s0 initial { allow read path "/a/**"; on read path "$WORKSPACE/t" -> s1; }
        state s1 { allow exec path "$WORKSPACE/**"; }
        assert never exec path "/b/x" after read path "$WORKSPACE/t";
    }"#;
    case(text, &["proved"]);
    let ir = compile(text);
    assert_eq!(claw_verify::prove_jointly(&ir, 0, 10_000), Outcome::Proved);
}

/// The converse: a violation only for `$WORKSPACE` in {`/a/b`, `/a/b/x`}, the
/// values that make both the event (inside `/a/b`) and the exec (above
/// `/a/b/x`) possible. The trace uses one of them in every step and replays.
#[test]
fn false_only_because_the_variables_are_shared() {
    let text = r#"policy p {
        default deny(EPERM);
        state s0 initial { allow read path "/a/b/**"; on read path "$WORKSPACE/t" -> s1; }
        state s1 { allow exec path "$WORKSPACE/**"; }
        assert never exec path "/a/b/x" after read path "$WORKSPACE/t";
    }"#;
    case(text, &["failed"]);
    let ir = compile(text);
    let cex = match claw_verify::prove_jointly(&ir, 0, 10_000) {
        Outcome::Failed(cex) => cex,
        other => panic!("the joint query does not refute it: {other:?}"),
    };
    replay(&ir, &ir.assertions[0].property, &cex).unwrap();
    let ws = &cex.steps[0].vars[0].1;
    assert!(ws == "/a/b" || ws == "/a/b/x", "{cex}");
    // A file opened before the event (the descriptor phase of the joint
    // query): `/c/d/k` is readable only for `$WORKSPACE` = `/c/d`, and the
    // event then is an exec of `/c/d/t`.
    let text = r#"policy p {
        default deny(EPERM);
        state s0 initial { allow read path "$WORKSPACE/k"; allow exec path "/c/**"; on exec path "$WORKSPACE/t" -> s1; }
        state s1 { }
        assert never read path "/c/d/k" after exec path "$WORKSPACE/t";
    }"#;
    case(text, &["failed"]);
    let ir = compile(text);
    let cex = match claw_verify::prove_jointly(&ir, 0, 10_000) {
        Outcome::Failed(cex) => cex,
        other => panic!("the joint query does not refute it: {other:?}"),
    };
    replay(&ir, &ir.assertions[0].property, &cex).unwrap();
    assert_eq!(cex.steps[0].vars[0].1, "/c/d", "{cex}");
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

/// `n` generated policies, the same for the same `seed` on every machine.
fn generated(n: usize, seed: u64) -> Vec<Ir> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = policy();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a policy").current())
        .collect()
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Checks `n` generated policies on every core (each thread has its own z3
/// context), and says how many verdicts of each kind it saw. A failing case
/// panics with its index and the policy; `BRUTE_SEED` and `BRUTE_CASES`
/// reproduce the set, `BRUTE_ONLY=i` runs case `i` alone, `BRUTE_TIMEOUT_MS`
/// sets the limit of each query, `BRUTE_JOINT_EVERY` how often the joint query
/// is cross-checked, `BRUTE_THREADS` the threads.
fn run_generated(default_cases: u64, default_joint_every: u64) -> Tally {
    let n = env_or("BRUTE_CASES", default_cases) as usize;
    // The joint query is several times the cost of the rest: asked of every
    // `joint_every`-th policy (that uses variables).
    let joint_every = env_or("BRUTE_JOINT_EVERY", default_joint_every).max(1) as usize;
    let seed = env_or("BRUTE_SEED", 0x0c1a_1e55);
    // A short limit per query: a generated policy whose violation needs two
    // variables related (`$HOME` inside `$WORKSPACE`) can take z3 many seconds
    // per query, and an inconclusive verdict is accepted only where the brute
    // force finds nothing, or the solver ran out of time (never a proof).
    let timeout_ms = env_or("BRUTE_TIMEOUT_MS", 1_000) as u32;
    let mut irs: Vec<(usize, Ir)> = generated(n, seed).into_iter().enumerate().collect();
    if let Some(only) = std::env::var("BRUTE_ONLY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        irs.retain(|(i, _)| *i == only);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = env_or("BRUTE_THREADS", threads as u64).max(1) as usize;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t0 = Instant::now();
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut t = Tally::default();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((i, ir)) = irs.get(k) else { break };
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            check_with(ir, &mut t, timeout_ms, i % joint_every == 0)
                        }));
                        if let Err(e) = r {
                            eprintln!("generated case {i} (BRUTE_SEED={seed} BRUTE_ONLY={i}) failed");
                            std::panic::resume_unwind(e);
                        }
                    }
                    t
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a generated case failed"))
            .collect()
    });
    let mut all = Tally::default();
    for t in tallies {
        all.proved += t.proved;
        all.failed += t.failed;
        all.unknown += t.unknown;
        all.brute_violations += t.brute_violations;
        all.joint += t.joint;
    }
    eprintln!(
        "{} generated policies ({threads} threads) in {:.1} s: {all:?}",
        irs.len(),
        t0.elapsed().as_secs_f64()
    );
    all
}

/// The quick set, in every CI run (`BRUTE_CASES` for more; the long run below).
#[test]
fn verify_agrees_with_the_brute_force() {
    let t = run_generated(QUICK_CASES, 16);
    // The verdicts are not all of one kind (the generator is not degenerate).
    assert!(
        t.proved + t.failed + t.unknown < 20 || (t.proved > 0 && t.failed > 0),
        "{t:?}"
    );
}

/// The long run, thousands of policies: `cargo test -p claw-tests --release
/// --test brute -- --ignored` (see docs/BENCHMARKS.md for its time).
#[test]
#[ignore]
fn verify_agrees_with_the_brute_force_long() {
    let t = run_generated(LONG_CASES, 1);
    assert!(
        t.proved + t.failed + t.unknown < 20 || (t.proved > 0 && t.failed > 0),
        "{t:?}"
    );
}

/// How many generated policies each run checks.
const QUICK_CASES: u64 = 2000;
const LONG_CASES: u64 = 5000;

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
