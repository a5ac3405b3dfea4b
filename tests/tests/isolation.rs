//! Translation validation of the isolated-mode plan (`claw_verify::validate_isolation`):
//! the default profile's and the examples' plans are proved to decide every file
//! request as the policy does, in every state; plans broken on purpose (a Landlock
//! rule widened, narrowed or moved, a tripwire removed, a carve dropped) are
//! refuted with a counterexample.

use claw_ir::isolate::IsolatedPlan;
use claw_ir::landlock::FsRight;
use claw_ir::{Ir, Verb};
use claw_verify::{validate_isolation, Counterexample, Outcome};
use std::time::{Duration, Instant};

fn compile_text(name: &str, text: String, policy: Option<&str>) -> Ir {
    let mut sm = claw_lang::span::SourceMap::new();
    let f = sm.add(name, text);
    let c = claw_lang::check::check_file(&mut sm, f, &claw_lang::check::Options::default());
    assert!(
        !c.diagnostics.iter().any(|d| d.is_error()),
        "{name}: {:?}",
        c.diagnostics
    );
    let p = match policy {
        Some(n) => c.policies.iter().find(|p| p.name == n).expect("the policy"),
        None => &c.policies[0],
    };
    claw_lower::lower(p, &sm)
}

fn compile_file(rel: &str) -> Ir {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    compile_text(rel, std::fs::read_to_string(&path).unwrap(), None)
}

/// The default profile, embedded in `clawless`: `std::profiles::coding_agent`.
fn default_profile() -> Ir {
    let (_, text) = claw_stdlib::modules::source("std::profiles").expect("std::profiles");
    compile_text("std::profiles", text.to_string(), Some("coding_agent"))
}

fn prove(ir: &Ir, plan: &IsolatedPlan) -> (Outcome, Duration) {
    let t = Instant::now();
    // clawc's default limit per query: a loaded CI machine is slow.
    let o = validate_isolation(ir, plan, &[], 30_000);
    (o, t.elapsed())
}

fn refuted(ir: &Ir, plan: &IsolatedPlan, what: &str) -> Counterexample {
    match prove(ir, plan).0 {
        Outcome::Failed(c) => c,
        other => panic!("{what}: the broken plan is not refuted: {other:?}"),
    }
}

/// The access of a one-step counterexample: (verb, path).
fn access(c: &Counterexample) -> (Verb, String) {
    match &c.steps[0].request.accesses[0] {
        claw_ir::Access::Path { verb, path } => (*verb, path.clone()),
        other => panic!("{other:?}"),
    }
}

/// A small policy with every layer: trees Landlock grants, a literal file, a
/// carve, a tripwire with a transition, two states.
const SMALL: &str = r#"policy small {
    default deny(EPERM);
    always {
        allow visible path "/**";
        allow read, exec path "/usr/**";
        allow read, write, append path "/tmp/**";
        allow read, write, append path "/dev/null";
        allow read, write, append, exec path "$WORKSPACE/**";
        deny exec path "/tmp/**";
        allow read, exec path "/opt/**";
        deny exec path "/opt/bad";
        deny write, append path "/tmp/keep";
    }
    state clean initial { on read path "/**/.env" -> tainted; }
    state tainted { }
}"#;

fn small() -> (Ir, IsolatedPlan) {
    let ir = compile_text("small.claw", SMALL.to_string(), None);
    let plan = ir.isolated_plan().unwrap_or_else(|r| panic!("{r:?}"));
    (ir, plan)
}

#[test]
fn a_small_policy_has_a_proved_plan() {
    let (ir, plan) = small();
    let (o, t) = prove(&ir, &plan);
    eprintln!("small: {o:?} in {:.2} s", t.as_secs_f64());
    assert_eq!(o, Outcome::Proved);
}

#[test]
fn broken_plans_of_a_small_policy_are_refuted() {
    let (ir, plan) = small();
    // /usr is granted read and exec, not write: grant write.
    let mut broken = plan.clone();
    let g = broken
        .landlock
        .fs
        .iter_mut()
        .find(|g| g.path == "/usr")
        .expect("/usr");
    g.rights.push(FsRight::WriteFile);
    let c = refuted(&ir, &broken, "write granted on /usr");
    let (verb, path) = access(&c);
    assert!(
        matches!(verb, Verb::Write | Verb::Append) && (path == "/usr" || path.starts_with("/usr/")),
        "{c}"
    );
    assert!(c.steps[0].note.contains("allowed by the isolated plan"), "{c}");
    // The grant moved from /usr to /usr/lib: reading /usr/bin/x is refused.
    let mut broken = plan.clone();
    broken
        .landlock
        .fs
        .iter_mut()
        .find(|g| g.path == "/usr")
        .unwrap()
        .path = "/usr/lib".into();
    let c = refuted(&ir, &broken, "grant moved");
    assert!(c.steps[0].note.contains("refused by the isolated plan"), "{c}");
    assert!(access(&c).1 == "/usr" || access(&c).1.starts_with("/usr/"), "{c}");
    // The tripwire removed: reading /x/.env is the kernel's, the transition missed.
    let mut broken = plan.clone();
    broken.tripwires.clear();
    let c = refuted(&ir, &broken, "tripwire removed");
    assert_eq!(access(&c).0, Verb::Read, "{c}");
    assert!(access(&c).1.ends_with("/.env"), "{c}");
}

#[test]
fn more_broken_plans_of_a_small_policy_are_refuted() {
    let (ir, plan) = small();
    // The carves dropped: writing /tmp/keep is the kernel's, and allowed. (The
    // exec carves alone are not needed: `execve` keeps its mediated route, the
    // monitor refuses /opt/bad; the proof says so.)
    let mut broken = plan.clone();
    broken.carves.retain(|c| c.verb == Verb::Exec);
    assert!(broken.carves.len() < plan.carves.len(), "{:?}", plan.carves);
    let c = refuted(&ir, &broken, "write carve dropped");
    assert!(matches!(access(&c).0, Verb::Write | Verb::Append), "{c}");
    assert_eq!(access(&c).1, "/tmp/keep", "{c}");
    assert!(c.steps[0].note.contains("allowed by the isolated plan"), "{c}");
    let mut exec_only = plan.clone();
    exec_only.carves.retain(|c| c.verb != Verb::Exec);
    assert_eq!(prove(&ir, &exec_only).0, Outcome::Proved);
    // A literal grant (`/dev/null`) taken as a tree: `/dev/null/x` is writable.
    let mut broken = plan.clone();
    broken.literal_grants.clear();
    let c = refuted(&ir, &broken, "/dev/null granted as a tree");
    assert!(access(&c).1.starts_with("/dev/null/"), "{c}");
}

/// Every stdlib profile and every example that has a plan has a proved one,
/// within clawc's default limits (each query 30 s; no time is asserted, the test
/// just finishes: a query out of time is `Unknown`, which fails it).
#[test]
fn the_stdlib_profiles_and_the_examples_have_proved_plans() {
    let (_, text) = claw_stdlib::modules::source("std::profiles").expect("std::profiles");
    let mut proved = Vec::new();
    for name in ["coding_agent", "offline", "readonly_workspace"] {
        let ir = compile_text("std::profiles", text.to_string(), Some(name));
        let Ok(plan) = ir.isolated_plan() else { continue };
        let (o, t) = prove(&ir, &plan);
        eprintln!("std::profiles::{name}: {o:?} in {:.2} s", t.as_secs_f64());
        assert_eq!(o, Outcome::Proved, "{name}");
        proved.push(name);
    }
    // The default profile is among them (clawless embeds its artifact).
    assert!(proved.contains(&"coding_agent"), "{proved:?}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut examples: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "claw"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 3, "{examples:?}");
    for ex in examples {
        let rel = format!("examples/{}", ex.file_name().unwrap().to_string_lossy());
        let ir = compile_file(&rel);
        // An example with rules Landlock cannot carry has no plan (mediated mode).
        let Ok(plan) = ir.isolated_plan() else { continue };
        let (o, t) = prove(&ir, &plan);
        eprintln!("{rel}: {o:?} in {:.2} s", t.as_secs_f64());
        assert_eq!(o, Outcome::Proved, "{rel}");
    }
}

/// A refutation is a model: a concrete request (state, path, variable values)
/// that the broken plan decides unlike the policy. It refutes whatever the time
/// limit, so the mutations of the default profile run with a per-query limit of
/// 5 s instead of clawc's 30 s: a question out of time is passed over, as in
/// clawc, and only a counterexample refutes (`Unknown` fails the test). The
/// compiler, with any limit, refuses each of these plans too: it writes a plan
/// only when every question is unsat, and a model shows this one is not.
const REFUTE_MS: u32 = 5_000;

fn refuted_within(ir: &Ir, plan: &IsolatedPlan, what: &str) -> Counterexample {
    let t = Instant::now();
    let o = validate_isolation(ir, plan, &[], REFUTE_MS);
    eprintln!("{what}: {:.2} s", t.elapsed().as_secs_f64());
    match o {
        Outcome::Failed(c) => c,
        other => panic!("{what}: the broken plan is not refuted: {other:?}"),
    }
}

/// Mutations of the default profile's plan, each refuted with a counterexample
/// in bounded time (see [`REFUTE_MS`]). Chosen so that the counterexample is
/// one z3 4.8.12 finds in seconds: a tripwire on a literal path (`/etc/shadow`)
/// rather than one below a path variable (removing `$CARGO_HOME/credentials` or
/// `$HOME/.aws/**` leaves every question open for minutes), and no carve: with
/// the policy-cache carve dropped (`$XDG_CACHE_HOME/clawless/**`) the questions
/// stay open too. Carves and tripwires below variables are refuted on the small
/// policy above, in every suite.
#[test]
fn broken_plans_are_refuted_with_a_counterexample() {
    let ir = default_profile();
    let plan = ir.isolated_plan().unwrap_or_else(|r| panic!("{r:?}"));

    // A Landlock rule widened: a tree that may be read gets the write right.
    let mut broken = plan.clone();
    let g = broken
        .landlock
        .fs
        .iter_mut()
        .find(|g| {
            g.rights.contains(&FsRight::ReadFile)
                && !g.rights.contains(&FsRight::WriteFile)
                && g.path.starts_with('/')
        })
        .expect("a read-only grant");
    let tree = g.path.clone();
    g.rights.push(FsRight::WriteFile);
    let c = refuted_within(&ir, &broken, "write granted");
    let (verb, path) = access(&c);
    assert!(matches!(verb, Verb::Write | Verb::Append), "{c}");
    assert!(
        path == tree || path.starts_with(&format!("{}/", tree.trim_end_matches('/'))),
        "{tree}: {c}"
    );
    assert!(c.steps[0].note.contains("allowed by the isolated plan"), "{c}");

    // A Landlock rule narrowed away: a tree the policy lets the agent read.
    let mut broken = plan.clone();
    broken.landlock.fs.retain(|g| g.path != tree);
    let c = refuted_within(&ir, &broken, "grant removed");
    assert!(c.steps[0].note.contains("refused by the isolated plan"), "{c}");
    let (verb, path) = access(&c);
    // The grant's rights: reading, and executing where it has that right.
    assert!(matches!(verb, Verb::Read | Verb::Exec), "{c}");
    assert!(
        path == tree || path.starts_with(&format!("{}/", tree.trim_end_matches('/'))),
        "{tree}: {c}"
    );

    // A tripwire removed: reading the secret is the kernel's, the transition is
    // missed.
    let mut broken = plan.clone();
    let before = broken.tripwires.len();
    broken.tripwires.retain(|t| t.pattern != "/etc/shadow");
    assert_eq!(broken.tripwires.len() + 1, before, "{:?}", plan.tripwires);
    let c = refuted_within(&ir, &broken, "tripwire removed");
    assert_eq!(access(&c), (Verb::Read, "/etc/shadow".to_string()), "{c}");
    assert!(c.steps[0].note.contains("fires a transition"), "{c}");
}
