//! IR → cBPF.
//!
//! Shape of every filter:
//!
//! ```text
//! A = arch; if A != AUDIT_ARCH goto kill      (foreign arch: i386 `int 0x80`, x32 ABI)
//! A = nr
//! balanced JGE tree over ranges of syscall numbers with the same outcome;
//!   x86_64 numbers >= __X32_SYSCALL_BIT are one more range, answered KILL_PROCESS
//! leaves: `ret` (constant decision or USER_NOTIF) or an argument block
//! ```
//!
//! The path to every constant leaf loads only `arch` and `nr` and uses only `JEQ`,
//! `JGE` and `JA` with constants, so the kernel's constant-action cache
//! (`seccomp_is_const_allow`) caches every unconditional allow; argument loads
//! appear only inside argument blocks. 64-bit argument comparisons test both 32-bit
//! halves; an argument the kernel reads as 32 (or 16) bits is compared on those bits
//! only, so setting the upper half of the register cannot dodge a rule.

use crate::insn::*;
use crate::layout::{self, Block, Op, T};
use claw_ir::isolate::{IsoAction, IsolatedPlan};
use claw_ir::{route::X32_BIT, ArgCond, ArgRule, CmpOp, Ir, KernelDecision, Route};
use claw_stdlib::Arch;

/// Why a program could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodegenError {
    #[error(
        "the filter would have {len} instructions; the kernel accepts at most {max} \
         (split argument conditions across fewer syscalls, or route them to the monitor)",
        max = MAX_INSNS
    )]
    /// The program would exceed the kernel's limit.
    TooLong {
        /// How many instructions it would have.
        len: usize,
    },
    /// One rule's conditions need a jump the 8-bit offsets cannot hold.
    #[error("the argument conditions of one rule for syscall {nr} need jumps longer than 255 instructions")]
    RuleTooComplex {
        /// The syscall number.
        nr: u32,
    },
}

/// What the filter does for one range of syscall numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf {
    Ret(u32),
    Args(u32, KernelDecision),
}

/// Compiles the kernel part of `ir` into a seccomp filter.
pub fn compile(ir: &Ir) -> Result<Program, CodegenError> {
    compile_with(ir, &|nr| leaf_for(ir, nr))
}

/// The errno that stands for `USER_NOTIF` while an isolated route is laid out as
/// a kernel decision (no errno is this large: the kernel's are below 4096).
const NOTIFY_STANDIN: u16 = u16::MAX;

/// Compiles the isolated-mode filter: `plan`'s routes replace the mediated routes
/// of their syscalls (`open`/`openat`: notified with `O_CREAT`, `O_TMPFILE`'s bit,
/// or `O_DIRECTORY` — for `openat` only with `dirfd == AT_FDCWD`, its 32 bits —
/// else allowed in the kernel: each rule's conditions are tested in order, as for
/// any argument block); every other syscall is as [`compile`] lays it out.
pub fn compile_isolated(ir: &Ir, plan: &IsolatedPlan) -> Result<Program, CodegenError> {
    let standin = ret_value(claw_ir::Action::Deny(NOTIFY_STANDIN));
    let as_action = |a: IsoAction| match a {
        IsoAction::Act(a) => a,
        IsoAction::Notify => claw_ir::Action::Deny(NOTIFY_STANDIN),
    };
    let mut prog = compile_with(ir, &|nr| match plan.route_of(nr) {
        None => leaf_for(ir, nr),
        Some(r) => {
            let k = KernelDecision {
                rules: r
                    .rules
                    .iter()
                    .map(|a| ArgRule {
                        conds: a.conds.clone(),
                        action: as_action(a.action),
                    })
                    .collect(),
                fallback: as_action(r.fallback),
            };
            match k.constant() {
                Some(a) => Leaf::Ret(ret_value(a)),
                None => Leaf::Args(nr, k),
            }
        }
    })?;
    // The stand-in is this plan's alone: a policy cannot name that errno.
    for insn in prog.iter_mut() {
        if insn.code == BPF_RET | BPF_K && insn.k == standin {
            insn.k = RET_USER_NOTIF;
        }
    }
    Ok(prog)
}

fn compile_with(ir: &Ir, leaf_of: &dyn Fn(u32) -> Leaf) -> Result<Program, CodegenError> {
    let table = ir.table();
    // Rules may name numbers the table does not (`allow syscall_460;`): the
    // per-number leaves extend past the highest of them.
    let named = ir.rules.iter().filter_map(|r| match &r.matcher {
        claw_ir::Matcher::Syscall { nr, .. } if *nr < X32_BIT => Some(nr + 1),
        _ => None,
    });
    let limit = named.fold(table.nr_limit(), u32::max);
    // One leaf per number below the table's end; everything above shares one.
    let mut ranges: Vec<(u32, Leaf)> = Vec::new();
    let mut push = |start: u32, leaf: Leaf| match ranges.last() {
        Some((_, last)) if *last == leaf && !matches!(leaf, Leaf::Args(..)) => {}
        _ => ranges.push((start, leaf)),
    };
    for nr in 0..=limit {
        push(nr, leaf_of(nr));
    }
    if ir.arch == Arch::X86_64 {
        push(X32_BIT, Leaf::Ret(RET_KILL_PROCESS));
    }

    let mut prog = vec![
        Insn::ld_abs(OFF_ARCH),
        Insn::jump(BPF_JEQ, ir.arch.audit_arch(), 1, 0),
        Insn::ret(RET_KILL_PROCESS),
        Insn::ld_abs(OFF_NR),
    ];
    let body = shared_tree(&ranges)?;
    match layout::resolve(&body) {
        Some(code) => prog.extend(code),
        // Not expected (every block is kept within reach); the plain layout is
        // always possible.
        None => prog.extend(tree(&ranges)?),
    }
    if prog.len() > MAX_INSNS {
        return Err(CodegenError::TooLong { len: prog.len() });
    }
    Ok(prog)
}

fn leaf_for(ir: &Ir, nr: u32) -> Leaf {
    match ir.route(nr) {
        Route::Monitor(_) => Leaf::Ret(RET_USER_NOTIF),
        Route::Kernel(k) => match k.constant() {
            Some(a) => Leaf::Ret(ret_value(a)),
            None => Leaf::Args(nr, k),
        },
    }
}

/// The same search tree as [`tree`], with returns shared: a leaf that only returns
/// costs no instruction (the node jumps to a shared `ret`), and an argument block's
/// rules jump to shared returns instead of each ending in its own.
fn shared_tree(ranges: &[(u32, Leaf)]) -> Result<Block, CodegenError> {
    if ranges.len() == 1 {
        return shared_leaf(&ranges[0].1);
    }
    let mid = ranges.len() / 2;
    let left = shared_tree(&ranges[..mid])?;
    let right = shared_tree(&ranges[mid..])?;
    Ok(layout::branch(ranges[mid].0, &left, &right))
}

fn shared_leaf(l: &Leaf) -> Result<Block, CodegenError> {
    let k = match l {
        Leaf::Ret(v) => return Ok(Block::pure(*v)),
        Leaf::Args(_, k) => k,
    };
    let mut b = Block::default();
    let mut known: Option<LoadedWord> = None;
    let fallback = ret_value(k.fallback);
    for (i, r) in k.rules.iter().enumerate() {
        let last = i + 1 == k.rules.len();
        let pend = rule_pend(r, known);
        let end = pend.len();
        let mut ops: Vec<Op> = Vec::with_capacity(end + 1);
        let action = ret_value(r.action);
        for (j, p) in pend.iter().enumerate() {
            let target = |t: To| match t {
                To::Fails if last => T::Ret(fallback),
                To::Fails => T::At(end),
                To::Next if j + 1 == end => T::Ret(action),
                To::Next => T::At(j + 1),
                To::Holds if p.cond_end == end => T::Ret(action),
                To::Holds => T::At(p.cond_end),
            };
            let (jt, jf) = if p.insn.code == BPF_JMP | BPF_JA {
                (Some(target(p.jt)), None)
            } else if p.insn.code & 0x07 == BPF_JMP {
                (Some(target(p.jt)), Some(target(p.jf)))
            } else {
                (None, None)
            };
            ops.push(Op { insn: p.insn, jt, jf });
        }
        if ops.last().is_none_or(|o| o.jt.is_none()) {
            // No condition left to test (or the last one fell through): it holds.
            ops.push(Op {
                insn: Insn::ja(0),
                jt: Some(T::Ret(action)),
                jf: None,
            });
        }
        b.append(&Block { ops, pure: None });
        known = match r.conds.as_slice() {
            [only] => single_load(only),
            _ => None,
        };
    }
    if k.rules.is_empty() {
        return Ok(Block::pure(fallback));
    }
    if b.closed_len() <= layout::REACH + 1 {
        Ok(b)
    } else {
        // Too long to share returns at its end: one `ret` per rule, as laid out
        // by `leaf`.
        Ok(Block::from_insns(&leaf(l)?))
    }
}

/// A balanced binary search over the range starts; each subtree is position
/// independent (all its jumps are forward and internal), so subtrees concatenate.
fn tree(ranges: &[(u32, Leaf)]) -> Result<Vec<Insn>, CodegenError> {
    if ranges.len() == 1 {
        return leaf(&ranges[0].1);
    }
    let mid = ranges.len() / 2;
    let left = tree(&ranges[..mid])?;
    let right = tree(&ranges[mid..])?;
    let k = ranges[mid].0;
    let mut out = Vec::with_capacity(left.len() + right.len() + 2);
    match u8::try_from(left.len()) {
        Ok(skip) => out.push(Insn::jump(BPF_JGE, k, skip, 0)),
        Err(_) => {
            // Too far for an 8-bit offset: branch to a 32-bit `ja` over the left side.
            out.push(Insn::jump(BPF_JGE, k, 0, 1));
            out.push(Insn::ja(left.len() as u32));
        }
    }
    out.extend(left);
    out.extend(right);
    Ok(out)
}

fn leaf(l: &Leaf) -> Result<Vec<Insn>, CodegenError> {
    match l {
        Leaf::Ret(v) => Ok(vec![Insn::ret(*v)]),
        Leaf::Args(nr, k) => {
            let mut out = Vec::new();
            // What the accumulator is known to hold when the next rule starts.
            let mut known: Option<LoadedWord> = None;
            for r in &k.rules {
                let (block, after) = rule_block(*nr, r, known)?;
                out.extend(block);
                known = after;
            }
            out.push(Insn::ret(ret_value(k.fallback)));
            Ok(out)
        }
    }
}

/// A word of `seccomp_data` (its offset) masked with a constant: what the
/// accumulator holds after `A = word; A &= mask`.
type LoadedWord = (u32, u32);

/// `Some((offset, mask))` when a condition compiles to `A = word; [A &= mask]; jump`:
/// one load of one half of the argument. On the path where its jump fails, the
/// accumulator still holds that masked word.
fn single_load(c: &ArgCond) -> Option<LoadedWord> {
    let mask = c.mask.unwrap_or(u64::MAX) & claw_ir::width_mask(c.width);
    let value = c.value & claw_ir::width_mask(c.width);
    (mask >> 32 == 0 && value >> 32 == 0).then_some((OFF_ARGS + 8 * u32::from(c.arg), mask as u32))
}

/// Where a jump in a condition goes, before offsets are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    /// The next instruction.
    Next,
    /// The end of this condition: it holds.
    Holds,
    /// The end of the rule: some condition failed, try the next rule.
    Fails,
}

struct Pending {
    insn: Insn,
    jt: To,
    jf: To,
    /// Index (in the rule block) of the end of the condition this belongs to.
    cond_end: usize,
}

/// A rule's conditions as instructions with symbolic targets. A first condition
/// that would load exactly what the accumulator holds (`known`) skips the load.
fn rule_pend(r: &ArgRule, known: Option<LoadedWord>) -> Vec<Pending> {
    let mut pend: Vec<Pending> = Vec::new();
    for (i, c) in r.conds.iter().enumerate() {
        let start = pend.len();
        let mut code = cond_code(c);
        if i == 0 && known.is_some() && single_load(c) == known {
            // Drop `A = word` and `A &= mask`: A already holds that.
            let loads = code
                .iter()
                .take_while(|(insn, _, _)| insn.code & 0x07 != BPF_JMP)
                .count();
            code.drain(..loads);
        }
        let end = start + code.len();
        pend.extend(code.into_iter().map(|(insn, jt, jf)| Pending {
            insn,
            jt,
            jf,
            cond_end: end,
        }));
    }
    pend
}

/// `if all conds hold: return action` — falls through to the next rule otherwise.
/// `known` is what the accumulator holds on entry, if known: a first condition that
/// would load exactly that skips the load. Returns the block and what the
/// accumulator holds when it falls through to the next rule, if known.
fn rule_block(
    nr: u32,
    r: &ArgRule,
    known: Option<LoadedWord>,
) -> Result<(Vec<Insn>, Option<LoadedWord>), CodegenError> {
    let pend = rule_pend(r, known);
    let fail = pend.len() + 1; // after the `ret`
    let mut out = Vec::with_capacity(fail);
    for (i, p) in pend.iter().enumerate() {
        let target = |t: To| match t {
            To::Next => i + 1,
            To::Holds => p.cond_end,
            To::Fails => fail,
        };
        let off = |t: To| u8::try_from(target(t) - (i + 1)).map_err(|_| CodegenError::RuleTooComplex { nr });
        let mut insn = p.insn;
        if insn.code == BPF_JMP | BPF_JA {
            insn.k = u32::from(off(p.jt)?);
        } else if insn.code & 0x07 == BPF_JMP {
            insn.jt = off(p.jt)?;
            insn.jf = off(p.jf)?;
        }
        out.push(insn);
    }
    out.push(Insn::ret(ret_value(r.action)));
    let after = match r.conds.as_slice() {
        [only] => single_load(only),
        _ => None,
    };
    Ok((out, after))
}

/// Loads the half of an argument and masks it.
fn load(out: &mut Vec<(Insn, To, To)>, off: u32, mask: u32) {
    out.push((Insn::ld_abs(off), To::Next, To::Next));
    if mask != u32::MAX {
        out.push((Insn::and(mask), To::Next, To::Next));
    }
}

fn j(op: u16, k: u32, jt: To, jf: To) -> (Insn, To, To) {
    (Insn::jump(op, k, 0, 0), jt, jf)
}

/// Instructions testing one condition: control reaches the condition's end if it
/// holds and jumps to `Fails` if not.
fn cond_code(c: &ArgCond) -> Vec<(Insn, To, To)> {
    let lo_off = OFF_ARGS + 8 * u32::from(c.arg);
    let hi_off = lo_off + 4;
    let mask = c.mask.unwrap_or(u64::MAX) & claw_ir::width_mask(c.width);
    let value = c.value & claw_ir::width_mask(c.width);
    let (mhi, mlo) = ((mask >> 32) as u32, mask as u32);
    let (vhi, vlo) = ((value >> 32) as u32, value as u32);
    let mut out = Vec::new();
    let last = |op: CmpOp, v: u32| match op {
        CmpOp::Eq => j(BPF_JEQ, v, To::Next, To::Fails),
        CmpOp::Ne => j(BPF_JEQ, v, To::Fails, To::Next),
        CmpOp::Gt => j(BPF_JGT, v, To::Next, To::Fails),
        CmpOp::Ge => j(BPF_JGE, v, To::Next, To::Fails),
        CmpOp::Lt => j(BPF_JGE, v, To::Fails, To::Next),
        CmpOp::Le => j(BPF_JGT, v, To::Fails, To::Next),
    };
    if mhi == 0 {
        // The operand's upper half is 0 (a 32- or 16-bit argument, or a low mask).
        // Against a value whose upper half is not 0 the outcome is known: the
        // operand is smaller.
        if vhi != 0 {
            return match c.op {
                CmpOp::Ne | CmpOp::Lt | CmpOp::Le => Vec::new(),
                CmpOp::Eq | CmpOp::Gt | CmpOp::Ge => vec![(Insn::ja(0), To::Fails, To::Fails)],
            };
        }
        load(&mut out, lo_off, mlo);
        out.push(last(c.op, vlo));
        return out;
    }
    load(&mut out, hi_off, mhi);
    match c.op {
        CmpOp::Eq => out.push(j(BPF_JEQ, vhi, To::Next, To::Fails)),
        CmpOp::Ne => out.push(j(BPF_JEQ, vhi, To::Next, To::Holds)),
        CmpOp::Gt | CmpOp::Ge => {
            out.push(j(BPF_JGT, vhi, To::Holds, To::Next));
            out.push(j(BPF_JEQ, vhi, To::Next, To::Fails));
        }
        CmpOp::Lt | CmpOp::Le => {
            out.push(j(BPF_JGE, vhi, To::Next, To::Holds));
            out.push(j(BPF_JEQ, vhi, To::Next, To::Fails));
        }
    }
    load(&mut out, lo_off, mlo);
    out.push(last(c.op, vlo));
    out
}

/// Used by tests and benchmarks: every instruction on the path of a constant leaf is
/// one the kernel's constant-action cache accepts.
pub fn cacheable(insn: &Insn) -> bool {
    let class = insn.code & 0x07;
    match class {
        BPF_LD => insn.code == BPF_LD | BPF_W | BPF_ABS && (insn.k == OFF_NR || insn.k == OFF_ARCH),
        BPF_JMP => {
            insn.code & BPF_X == 0
                && matches!(insn.code & 0xf0, BPF_JA | BPF_JEQ | BPF_JGE | BPF_JGT | BPF_JSET)
        }
        BPF_ALU => insn.code == BPF_ALU | BPF_AND | BPF_K,
        BPF_RET => insn.code == BPF_RET | BPF_K,
        _ => false,
    }
}
