//! Translation validation: the emitted cBPF program, executed symbolically over a
//! fully symbolic `seccomp_data` (nr, arch, instruction pointer, six 64-bit args),
//! returns exactly what the policy decides — in every state — wherever the kernel
//! decides, USER_NOTIF wherever the monitor does, and KILL_PROCESS for a foreign
//! architecture or an x32 number.
//!
//! The expected value is built from the IR's rules directly (most severe matching
//! rule, else the default), not from the code generator's normalised decisions, so
//! the proof covers the partition and the normalisation as well as the code. One
//! exception, proved separately ([`kernel_allowed_mediation`]): a path syscall the
//! partition leaves to the kernel because the policy allows every path it can touch
//! (`allow visible "/**"` makes `stat` a plain allow).

use crate::{Counterexample, Outcome, Step};
use claw_bpf::*;
use claw_ir::{mediation, route::X32_BIT, Action, Ir, Matcher, Route};
use claw_stdlib::Arch;
use z3::ast::{Bool, BV};
use z3::{Params, SatResult, Solver};

struct Data {
    nr: BV,
    arch: BV,
    ip: BV,
    args: Vec<BV>,
}

impl Data {
    fn new() -> Data {
        Data {
            nr: BV::new_const("data.nr", 32),
            arch: BV::new_const("data.arch", 32),
            ip: BV::new_const("data.ip", 64),
            args: (0..6)
                .map(|i| BV::new_const(format!("data.arg{i}"), 64))
                .collect(),
        }
    }

    fn word(&self, off: u32) -> Option<BV> {
        Some(match off {
            OFF_NR => self.nr.clone(),
            OFF_ARCH => self.arch.clone(),
            8 => self.ip.extract(31, 0),
            12 => self.ip.extract(63, 32),
            o if (OFF_ARGS..SECCOMP_DATA_LEN).contains(&o) && o % 4 == 0 => {
                let a = &self.args[((o - OFF_ARGS) / 8) as usize];
                if (o - OFF_ARGS) % 8 == 0 {
                    a.extract(31, 0)
                } else {
                    a.extract(63, 32)
                }
            }
            _ => return None,
        })
    }
}

#[derive(Clone)]
struct Machine {
    reach: Bool,
    a: BV,
    x: BV,
    m: Vec<BV>,
}

fn k32(v: u32) -> BV {
    BV::from_u64(u64::from(v), 32)
}

fn merge(into: &mut Option<Machine>, edge: Machine) {
    *into = Some(match into.take() {
        None => edge,
        Some(old) => Machine {
            a: edge.reach.ite(&edge.a, &old.a),
            x: edge.reach.ite(&edge.x, &old.x),
            m: edge
                .m
                .iter()
                .zip(&old.m)
                .map(|(e, o)| edge.reach.ite(e, o))
                .collect(),
            reach: Bool::or(&[old.reach, edge.reach]),
        },
    });
}

/// The program's return value as a term over `data`.
fn symbolic_return(prog: &[Insn], data: &Data) -> Result<BV, String> {
    validate(prog).map_err(|e| e.to_string())?;
    let mut at: Vec<Option<Machine>> = vec![None; prog.len() + 1];
    at[0] = Some(Machine {
        reach: Bool::from_bool(true),
        a: k32(0),
        x: k32(0),
        m: vec![k32(0); MEMWORDS],
    });
    let mut rets: Vec<(Bool, BV)> = Vec::new();
    for pc in 0..prog.len() {
        let Some(mut st) = at[pc].take() else { continue };
        let i = prog[pc];
        let next = pc + 1;
        match i.code & 0x07 {
            BPF_LD | BPF_LDX => {
                let v = match i.code & 0xe0 {
                    BPF_ABS => data
                        .word(i.k)
                        .ok_or_else(|| format!("instruction {pc}: bad load offset {}", i.k))?,
                    BPF_LEN => k32(SECCOMP_DATA_LEN),
                    BPF_MEM => st.m[i.k as usize].clone(),
                    _ => k32(i.k),
                };
                if i.code & 0x07 == BPF_LD {
                    st.a = v;
                } else {
                    st.x = v;
                }
                merge(&mut at[next], st);
            }
            BPF_ST => {
                st.m[i.k as usize] = st.a.clone();
                merge(&mut at[next], st);
            }
            BPF_STX => {
                st.m[i.k as usize] = st.x.clone();
                merge(&mut at[next], st);
            }
            BPF_ALU => {
                let src = if i.code & BPF_X != 0 {
                    st.x.clone()
                } else {
                    k32(i.k)
                };
                let op = i.code & 0xf0;
                if (op == BPF_DIV || op == BPF_MOD) && i.code & BPF_X != 0 {
                    // Division by a zero register ends the filter with 0.
                    let zero = src.eq(k32(0));
                    rets.push((Bool::and(&[st.reach.clone(), zero.clone()]), k32(0)));
                    st.reach = Bool::and(&[st.reach.clone(), zero.not()]);
                }
                st.a = match op {
                    BPF_ADD => st.a.bvadd(&src),
                    BPF_SUB => st.a.bvsub(&src),
                    BPF_MUL => st.a.bvmul(&src),
                    BPF_DIV => st.a.bvudiv(&src),
                    BPF_MOD => st.a.bvurem(&src),
                    BPF_OR => st.a.bvor(&src),
                    BPF_AND => st.a.bvand(&src),
                    BPF_LSH => st.a.bvshl(&src),
                    BPF_RSH => st.a.bvlshr(&src),
                    BPF_NEG => st.a.bvneg(),
                    BPF_XOR => st.a.bvxor(&src),
                    _ => return Err(format!("instruction {pc}: unknown ALU operation")),
                };
                merge(&mut at[next], st);
            }
            BPF_JMP => {
                if i.code & 0xf0 == BPF_JA {
                    merge(&mut at[next + i.k as usize], st);
                    continue;
                }
                let src = if i.code & BPF_X != 0 {
                    st.x.clone()
                } else {
                    k32(i.k)
                };
                let c = match i.code & 0xf0 {
                    BPF_JEQ => st.a.eq(&src),
                    BPF_JGT => st.a.bvugt(&src),
                    BPF_JGE => st.a.bvuge(&src),
                    _ => st.a.bvand(&src).eq(k32(0)).not(),
                };
                let mut t = st.clone();
                t.reach = Bool::and(&[st.reach.clone(), c.clone()]);
                let mut f = st;
                f.reach = Bool::and(&[f.reach.clone(), c.not()]);
                merge(&mut at[next + i.jt as usize], t);
                merge(&mut at[next + i.jf as usize], f);
            }
            BPF_RET => {
                let v = if i.code & BPF_A != 0 {
                    st.a.clone()
                } else {
                    k32(i.k)
                };
                rets.push((st.reach, v));
            }
            _ => {
                if i.code == BPF_MISC | BPF_TAX {
                    st.x = st.a.clone();
                } else {
                    st.a = st.x.clone();
                }
                merge(&mut at[next], st);
            }
        }
    }
    Ok(rets
        .into_iter()
        .rev()
        .fold(k32(0), |acc, (reach, v)| reach.ite(&v, &acc)))
}

/// What the policy says a filter must return, in `state`.
fn expected(ir: &Ir, state: u32, data: &Data) -> BV {
    let table = ir.table();
    // Decided from the rules directly: the most severe matching syscall rule.
    let mut rules: Vec<(&Action, Bool)> = Vec::new();
    for r in ir.rules.iter().filter(|r| r.in_state(state)) {
        if let Matcher::Syscall { nr, conds } = &r.matcher {
            let mut c = vec![data.nr.eq(k32(*nr))];
            for cond in conds {
                let w = claw_ir::width_mask(cond.width) & cond.mask.unwrap_or(u64::MAX);
                let a = data.args[cond.arg as usize].bvand(BV::from_u64(w, 64));
                let v = BV::from_u64(cond.value & claw_ir::width_mask(cond.width), 64);
                c.push(match cond.op {
                    claw_ir::CmpOp::Eq => a.eq(&v),
                    claw_ir::CmpOp::Ne => a.eq(&v).not(),
                    claw_ir::CmpOp::Lt => a.bvult(&v),
                    claw_ir::CmpOp::Le => a.bvule(&v),
                    claw_ir::CmpOp::Gt => a.bvugt(&v),
                    claw_ir::CmpOp::Ge => a.bvuge(&v),
                });
            }
            rules.push((&r.action, Bool::and(&c)));
        }
    }
    rules.sort_by_key(|(a, _)| std::cmp::Reverse(a.rank()));
    let mut decided = k32(ret_value(ir.default));
    for (a, m) in rules.iter().rev() {
        decided = m.ite(&k32(ret_value(**a)), &decided);
    }
    // Numbers outside the table that rules name (`allow syscall(999)`): the monitor
    // decides them when their rules differ between states.
    for r in &ir.rules {
        if let Matcher::Syscall { nr, .. } = &r.matcher {
            if table.by_nr(*nr).is_none() && matches!(ir.route(*nr), Route::Monitor(_)) {
                decided = data.nr.eq(k32(*nr)).ite(&k32(RET_USER_NOTIF), &decided);
            }
        }
    }
    // Where the monitor decides, and clone3's fixed answer.
    for s in table.iter() {
        match ir.route(s.nr) {
            Route::Monitor(_) => decided = data.nr.eq(k32(s.nr)).ite(&k32(RET_USER_NOTIF), &decided),
            Route::Kernel(k) if s.name == "clone3" => {
                let v = k.constant().map_or(RET_KILL_PROCESS, ret_value);
                decided = data.nr.eq(k32(s.nr)).ite(&k32(v), &decided);
            }
            Route::Kernel(k) if is_kernel_allowed_mediation(ir, s.nr, s.name, &k) => {
                decided = data
                    .nr
                    .eq(k32(s.nr))
                    .ite(&k32(ret_value(Action::Allow)), &decided);
            }
            Route::Kernel(_) => {}
        }
    }
    let kill = k32(RET_KILL_PROCESS);
    if ir.arch == Arch::X86_64 {
        decided = data.nr.bvuge(k32(X32_BIT)).ite(&kill, &decided);
    }
    data.arch.eq(k32(ir.arch.audit_arch())).not().ite(&kill, &decided)
}

/// A path syscall the partition sends to the kernel as a plain allow because its
/// verb rules allow every path. With a syscall-level rule on it, the syscall rules
/// alone decide it in the kernel (they apply to every access, and no verb rule
/// could change the outcome), which `expected` models directly.
fn is_kernel_allowed_mediation(ir: &Ir, nr: u32, name: &str, k: &claw_ir::KernelDecision) -> bool {
    name != "clone3"
        && mediation::of(name).is_some()
        && k.constant() == Some(Action::Allow)
        && !ir
            .rules
            .iter()
            .any(|r| matches!(&r.matcher, Matcher::Syscall { nr: n, .. } if *n == nr))
}

/// Proves, for every path syscall the partition answers ALLOW in the kernel, that
/// the policy allows every request it can make, in every state: no syscall rule
/// and no rule more severe than allow applies to its verbs, no transition fires on
/// them, and for each verb the default allows or an allow rule has a pattern that
/// matches every path.
pub fn kernel_allowed_mediation(ir: &Ir) -> Outcome {
    let fail = |syscall: &str, state: u32, why: String| {
        Outcome::Failed(Counterexample {
            steps: vec![Step {
                state: ir.states[state as usize].clone(),
                request: crate::Concrete {
                    syscall: syscall.to_string(),
                    args: [0; 6],
                    access: None,
                    accesses: vec![],
                },
                state_id: Some(state),
                next: None,
                note: format!("the filter allows it in the kernel, but {why}"),
                vars: vec![],
            }],
            explanation: Some("the compiled filter does not implement the policy".into()),
        })
    };
    // A pattern matches every absolute path exactly when all its components are
    // `**` (each matches any run of components, none included): `/**`.
    let matches_all =
        |p: &str| p.starts_with('/') && p.split('/').filter(|c| !c.is_empty()).all(|c| c == "**");
    for s in ir.table().iter() {
        let Route::Kernel(k) = ir.route(s.nr) else {
            continue;
        };
        if !is_kernel_allowed_mediation(ir, s.nr, s.name, &k) {
            continue;
        }
        let verbs = mediation::of(s.name).map_or(&[][..], |m| m.verbs());
        let touches = |vs: &[claw_ir::Verb]| vs.iter().any(|v| verbs.contains(v));
        for t in &ir.transitions {
            let fires = match &t.event {
                Matcher::Syscall { nr, .. } => *nr == s.nr,
                Matcher::Access { verbs: vs, .. } => touches(vs),
            };
            if fires {
                return fail(
                    s.name,
                    t.from,
                    format!("a transition ({}) can fire on it", t.origin),
                );
            }
        }
        for state in 0..ir.states.len() as u32 {
            for r in ir.rules.iter().filter(|r| r.in_state(state)) {
                match &r.matcher {
                    Matcher::Syscall { nr, .. } if *nr == s.nr => {
                        return fail(s.name, state, format!("the syscall rule at {} applies", r.origin));
                    }
                    Matcher::Access { verbs: vs, .. } if touches(vs) && r.action != Action::Allow => {
                        return fail(
                            s.name,
                            state,
                            format!("the rule at {} says {}", r.origin, r.action),
                        );
                    }
                    _ => {}
                }
            }
            for v in verbs {
                // Under `default allow` no rule is needed: none above refuses.
                let mut covered = ir.default == Action::Allow;
                for r in ir
                    .rules
                    .iter()
                    .filter(|r| r.in_state(state) && r.action == Action::Allow)
                {
                    let Matcher::Access {
                        verbs: vs,
                        entity: claw_ir::Entity::Paths(ps),
                    } = &r.matcher
                    else {
                        continue;
                    };
                    if covered {
                        break;
                    }
                    covered = vs.contains(v) && ps.iter().any(|p| matches_all(p));
                }
                if !covered {
                    return fail(
                        s.name,
                        state,
                        format!("no rule allows {} on every path", v.name()),
                    );
                }
            }
        }
    }
    Outcome::Proved
}

/// Proves that `prog` implements `ir`, state by state.
pub fn validate_translation(ir: &Ir, prog: &[Insn], timeout_ms: u32) -> Outcome {
    if let o @ (Outcome::Failed(_) | Outcome::Unknown(_)) = kernel_allowed_mediation(ir) {
        return o;
    }
    let data = Data::new();
    let got = match symbolic_return(prog, &data) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Failed(Counterexample {
                steps: vec![],
                explanation: Some(format!("the program cannot run: {e}")),
            })
        }
    };
    for state in 0..ir.states.len() as u32 {
        let want = expected(ir, state, &data);
        let solver = Solver::new();
        let mut p = Params::new();
        p.set_u32("timeout", timeout_ms);
        solver.set_params(&p);
        solver.assert(got.eq(&want).not());
        match solver.check() {
            SatResult::Unsat => {}
            SatResult::Unknown => {
                return Outcome::Unknown(solver.get_reason_unknown().unwrap_or_else(|| "unknown".into()))
            }
            SatResult::Sat => {
                let Some(m) = solver.get_model() else {
                    return Outcome::Unknown("no model".into());
                };
                let u = |b: &BV| m.eval(b, true).and_then(|v| v.as_u64()).unwrap_or(0);
                let nr = u(&data.nr) as u32;
                let mut args = [0u64; 6];
                for (i, a) in data.args.iter().enumerate() {
                    args[i] = u(a);
                }
                let arch = u(&data.arch) as u32;
                let (g, w) = (u(&got) as u32, u(&want) as u32);
                let name = ir
                    .table()
                    .by_nr(nr)
                    .map_or_else(|| format!("syscall {nr}"), |s| s.name.to_string());
                let state_name = ir.states[state as usize].clone();
                return Outcome::Failed(Counterexample {
                    steps: vec![Step {
                        state: state_name,
                        request: crate::Concrete {
                            syscall: name,
                            args,
                            access: None,
                            accesses: vec![],
                        },
                        state_id: Some(state),
                        next: None,
                        note: format!(
                            "arch {arch:#x}: the filter returns {}, the policy says {}",
                            ret_name(g),
                            ret_name(w)
                        ),
                        vars: vec![],
                    }],
                    explanation: Some("the compiled filter does not implement the policy".into()),
                });
            }
        }
    }
    Outcome::Proved
}

/// Proves that `logging` is a logging filter for `ir` (see `claw_bpf::logging`):
/// in every state and on every `seccomp_data`, it returns `USER_NOTIF` wherever
/// the policy refuses, kills or leaves the call to the monitor, and the policy's
/// own value everywhere else. `USER_NOTIF` there stands for "the monitor decides
/// the same", which holds because the monitor answers such a notification with
/// what the policy's filter returns for it. Together with
/// [`validate_translation`] of the policy's filter, this makes the pair
/// equivalent.
pub fn validate_logging(ir: &Ir, logging: &[Insn], timeout_ms: u32) -> Outcome {
    let data = Data::new();
    let got = match symbolic_return(logging, &data) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Failed(Counterexample {
                steps: vec![],
                explanation: Some(format!("the logging filter cannot run: {e}")),
            })
        }
    };
    let notif = k32(RET_USER_NOTIF);
    for state in 0..ir.states.len() as u32 {
        let want = expected(ir, state, &data);
        let action = want.bvand(k32(RET_ACTION_FULL));
        let refused = Bool::or(&[
            action.eq(k32(RET_KILL_PROCESS)),
            action.eq(k32(RET_KILL_THREAD)),
            action.eq(k32(RET_TRAP)),
            action.eq(k32(RET_ERRNO)),
            want.eq(&notif),
        ]);
        let logged = refused.ite(&notif, &want);
        let solver = Solver::new();
        let mut p = Params::new();
        p.set_u32("timeout", timeout_ms);
        solver.set_params(&p);
        solver.assert(got.eq(&logged).not());
        match solver.check() {
            SatResult::Unsat => {}
            SatResult::Unknown => {
                return Outcome::Unknown(solver.get_reason_unknown().unwrap_or_else(|| "unknown".into()))
            }
            SatResult::Sat => {
                let Some(m) = solver.get_model() else {
                    return Outcome::Unknown("no model".into());
                };
                let u = |b: &BV| m.eval(b, true).and_then(|v| v.as_u64()).unwrap_or(0);
                let nr = u(&data.nr) as u32;
                let mut args = [0u64; 6];
                for (i, a) in data.args.iter().enumerate() {
                    args[i] = u(a);
                }
                let name = ir
                    .table()
                    .by_nr(nr)
                    .map_or_else(|| format!("syscall {nr}"), |s| s.name.to_string());
                return Outcome::Failed(Counterexample {
                    steps: vec![Step {
                        state: ir.states[state as usize].clone(),
                        request: crate::Concrete {
                            syscall: name,
                            args,
                            access: None,
                            accesses: vec![],
                        },
                        state_id: Some(state),
                        next: None,
                        note: format!(
                            "the logging filter returns {}, it must return {}",
                            ret_name(u(&got) as u32),
                            ret_name(u(&logged) as u32)
                        ),
                        vars: vec![],
                    }],
                    explanation: Some("the logging filter does not hand every refusal to the monitor".into()),
                });
            }
        }
    }
    Outcome::Proved
}
