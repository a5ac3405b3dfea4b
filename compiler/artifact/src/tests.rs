use super::*;
use claw_ir::{Action, Matcher, Rule};

fn sample(arch: Arch) -> Artifact {
    let nr = claw_stdlib::SyscallTable::get(arch).by_name("getpid").unwrap().nr;
    let ir = Ir {
        name: "sample".into(),
        arch,
        default: Action::Deny(1),
        states: vec!["a".into(), "b".into()],
        initial: 0,
        rules: vec![Rule {
            action: Action::Allow,
            states: None,
            matcher: Matcher::Syscall { nr, conds: vec![] },
            origin: "x.claw:1".into(),
        }],
        transitions: vec![],
        assertions: vec![],
    };
    Artifact {
        program: claw_bpf::compile(&ir).unwrap(),
        landlock: ir.landlock_plan(),
        ir,
        metadata: Metadata {
            compiler: "clawc test".into(),
            source_name: "x.claw".into(),
            source_sha256: sha256_hex(b"policy"),
            proofs: vec![],
        },
        isolated: None,
    }
}

/// The optional isolated-plan section: absent, the bytes are exactly the old
/// format (old artifacts load, and old loaders read new ones without a plan);
/// present, it round-trips; twice, or not JSON, it is refused.
#[test]
fn the_isolated_plan_is_an_optional_section() {
    let a = sample(Arch::X86_64);
    let bytes = a.to_bytes();
    assert!(!bytes.windows(8).any(|w| w == [5, 0, 0, 0, b'{', 0, 0, 0]));
    assert_eq!(Artifact::from_bytes(&bytes).unwrap().isolated, None);
    // The old layout, written by hand: four sections, no fifth.
    let mut sections = 0;
    let mut rest = &bytes[56..];
    while !rest.is_empty() {
        let n = u32::from_le_bytes(rest[4..8].try_into().unwrap()) as usize;
        sections += 1;
        rest = &rest[8 + n..];
    }
    assert_eq!(sections, 4);

    let mut b = a.clone();
    let plan = claw_ir::isolate::IsolatedPlan {
        landlock: a.landlock.clone(),
        literal_grants: vec![],
        carves: vec![],
        tripwires: vec![],
        monitored: vec![],
        routes: vec![],
        stricter: vec!["x".into()],
        looser: vec![],
    };
    b.isolated = Some(plan.clone());
    let again = Artifact::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(again.isolated, Some(plan));
    assert_eq!(again, b);

    // A fifth section that is not a plan is refused, naming it.
    let mut payload = bytes[56..].to_vec();
    payload.extend_from_slice(&5u32.to_le_bytes());
    payload.extend_from_slice(&2u32.to_le_bytes());
    payload.extend_from_slice(b"{]");
    let mut bad = bytes[..56].to_vec();
    bad[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    use sha2::Digest;
    bad[24..56].copy_from_slice(&sha2::Sha256::digest(&payload));
    bad.extend_from_slice(&payload);
    assert!(err(&bad).contains("isolated"), "{}", err(&bad));
}

fn err(bytes: &[u8]) -> String {
    match Artifact::from_bytes(bytes) {
        Ok(_) => panic!("accepted a bad artifact"),
        Err(e) => e.to_string(),
    }
}

/// Recomputes the checksum so a test can reach the checks behind it.
fn reseal(bytes: &mut [u8]) {
    let sum = Sha256::digest(&bytes[HEADER_LEN..]);
    bytes[24..56].copy_from_slice(&sum);
}

#[test]
fn round_trip() {
    for arch in Arch::ALL {
        let a = sample(arch);
        assert_eq!(Artifact::from_bytes(&a.to_bytes()).unwrap(), a);
    }
}

#[test]
fn refuses_other_files() {
    assert!(err(b"").contains("bad magic"));
    assert!(err(b"#!/bin/sh\necho hi\n").contains("bad magic"));
    assert!(err(b"policy p { default deny; }").contains("bad magic"));
}

#[test]
fn refuses_truncation_at_every_length() {
    let bytes = sample(Arch::X86_64).to_bytes();
    for cut in 8..bytes.len() {
        let e = err(&bytes[..cut]);
        assert!(e.contains("truncated"), "cut at {cut}: {e}");
    }
}

#[test]
fn refuses_any_flipped_bit_in_the_payload() {
    let bytes = sample(Arch::X86_64).to_bytes();
    for i in (HEADER_LEN..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        assert!(err(&b).contains("checksum"), "byte {i}");
    }
}

#[test]
fn refuses_wrong_version_and_unknown_arch() {
    let mut b = sample(Arch::X86_64).to_bytes();
    b[8] = 2;
    assert!(err(&b).contains("format version 2 is not supported"));
    let mut b = sample(Arch::X86_64).to_bytes();
    b[10] = 9;
    assert!(err(&b).contains("unknown architecture"));
}

#[test]
fn refuses_foreign_arch_for_the_host() {
    let foreign = if Arch::native() == Some(Arch::X86_64) {
        Arch::Aarch64
    } else {
        Arch::X86_64
    };
    let bytes = sample(foreign).to_bytes();
    assert!(Artifact::from_bytes(&bytes).is_ok(), "readable for inspection");
    let e = Artifact::load_for_host(&bytes).unwrap_err().to_string();
    assert!(e.contains("compiled for") && e.contains("recompile"), "{e}");
}

#[test]
fn refuses_trailing_bytes() {
    let mut b = sample(Arch::X86_64).to_bytes();
    b.push(0);
    assert!(err(&b).contains("after its payload"));
}

#[test]
fn refuses_invalid_contents_even_with_a_valid_checksum() {
    // A program whose last instruction is not a return.
    let a = sample(Arch::X86_64);
    let mut b = a.to_bytes();
    let prog_len = a.program.len() * 8;
    let last = HEADER_LEN + 8 + prog_len - 8;
    b[last] = 0x00; // BPF_LD | BPF_W | BPF_IMM
    b[last + 1] = 0x00;
    reseal(&mut b);
    assert!(err(&b).contains("filter is invalid"), "{}", err(&b));

    // A filter that does not start with this architecture's check.
    let mut bad = a.clone();
    bad.program[1].k = Arch::Aarch64.audit_arch();
    assert!(err(&bad.to_bytes()).contains("filter is invalid"));

    // An IR whose initial state does not exist.
    let mut bad = a.clone();
    bad.ir.initial = 7;
    assert!(err(&bad.to_bytes()).contains("initial state 7"));

    // An IR for another architecture than the header's.
    let mut bad = a;
    bad.ir.arch = Arch::Aarch64;
    let mut bytes = bad.to_bytes();
    bytes[10] = 1;
    bytes[12..16].copy_from_slice(&Arch::X86_64.audit_arch().to_le_bytes());
    reseal(&mut bytes);
    assert!(err(&bytes).contains("is for aarch64"), "{}", err(&bytes));
}

/// A section 5 that parses but no proof can have produced is refused before
/// anything runs (the checksum resealed, as a forger would): a route of a
/// syscall the architecture lacks, two routes of one syscall, a relative path,
/// a `..` component, a carve of a verb Landlock does not carry, a right the
/// ruleset does not handle. The same plan without the defect loads.
#[test]
fn refuses_an_isolated_plan_no_proof_produced() {
    use claw_ir::isolate::{Carve, IsoAction, IsoArgRule, IsoRoute, IsolatedPlan};
    use claw_ir::landlock::{FsGrant, FsRight};
    let a = sample(Arch::X86_64);
    let good = IsolatedPlan {
        landlock: claw_ir::landlock::LandlockPlan {
            handled_fs: vec![FsRight::ReadFile, FsRight::WriteFile],
            fs: vec![FsGrant {
                path: "$WORKSPACE".into(),
                rights: vec![FsRight::ReadFile, FsRight::WriteFile],
            }],
            ..Default::default()
        },
        literal_grants: vec![],
        carves: vec![Carve {
            verb: claw_ir::Verb::Write,
            pattern: "$WORKSPACE/keep/**".into(),
            origin: "x.claw:2".into(),
        }],
        tripwires: vec![],
        monitored: vec!["/proc".into()],
        routes: vec![IsoRoute {
            nr: 257,
            rules: [0o100u64, 0o20000000]
                .iter()
                .map(|&bit| IsoArgRule {
                    conds: vec![claw_ir::ArgCond {
                        arg: 2,
                        width: 32,
                        mask: Some(bit),
                        op: claw_ir::CmpOp::Ne,
                        value: 0,
                    }],
                    action: IsoAction::Notify,
                })
                .collect(),
            fallback: IsoAction::Act(Action::Allow),
        }],
        stricter: vec![],
        looser: vec![],
    };
    let with = |p: &IsolatedPlan| {
        let mut b = a.clone();
        b.isolated = Some(p.clone());
        b.to_bytes()
    };
    assert_eq!(
        Artifact::from_bytes(&with(&good)).unwrap().isolated,
        Some(good.clone())
    );
    let mut cases: Vec<(IsolatedPlan, &str)> = Vec::new();
    let mut p = good.clone();
    p.routes[0].nr = 99_999;
    cases.push((p, "route of syscall 99999"));
    let mut p = good.clone();
    p.routes.push(p.routes[0].clone());
    cases.push((p, "two routes"));
    let mut p = good.clone();
    p.landlock.fs[0].path = "workspace".into();
    cases.push((p, "path"));
    let mut p = good.clone();
    p.carves[0].pattern = "$WORKSPACE/../etc/**".into();
    cases.push((p, "path"));
    let mut p = good.clone();
    p.carves[0].verb = claw_ir::Verb::Visible;
    cases.push((p, "carve of `visible`"));
    let mut p = good.clone();
    p.landlock.fs[0].rights.push(FsRight::Execute);
    cases.push((p, "does not handle"));
    // Creations must reach the monitor: O_TMPFILE's rule dropped, or an O_CREAT
    // rule narrowed to AT_FDCWD, or put after a kernel decision.
    let mut p = good.clone();
    p.routes[0].rules.remove(1);
    cases.push((p, "does not notify every open with __O_TMPFILE"));
    let mut p = good.clone();
    p.routes[0].rules[0].conds.push(claw_ir::ArgCond {
        arg: 0,
        width: 32,
        mask: None,
        op: claw_ir::CmpOp::Eq,
        value: 0xffff_ff9c,
    });
    cases.push((p, "does not notify every open with O_CREAT"));
    let mut p = good.clone();
    p.routes[0].rules.insert(
        0,
        IsoArgRule {
            conds: vec![],
            action: IsoAction::Act(Action::Allow),
        },
    );
    cases.push((p, "does not notify every open with O_CREAT"));
    for (p, want) in cases {
        let mut bytes = with(&p);
        reseal(&mut bytes);
        let e = err(&bytes);
        assert!(e.contains("isolated") && e.contains(want), "{want}: {e}");
    }
}
