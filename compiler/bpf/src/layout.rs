//! Code with symbolic jump targets, and the layout that shares return instructions.
//!
//! A [`Block`] is position independent: its jumps go to instructions of the block
//! ([`T::At`]) or to "return this value" ([`T::Ret`]). A block may leave its
//! returns pending, so that the block it becomes part of shares one `ret` per value
//! among all its leaves; [`close`] appends that pool of returns after the block's
//! last instruction and resolves the jumps to it. Every conditional jump of cBPF has
//! an 8-bit offset, so a block keeps its returns pending only while every jump in it
//! could still reach a pool at its end (at most 256 instructions away); larger
//! blocks close their children first. Control never falls off the end of a block
//! (its last instruction returns or jumps), so a pool placed there is only reached
//! by the jumps to it.
//!
//! It knows nothing of policies: the code generator builds the blocks.

use crate::insn::*;
use std::collections::BTreeSet;

/// Where a jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    /// An instruction of this block.
    At(usize),
    /// A `ret` of this value, placed by [`close`].
    Ret(u32),
}

/// One instruction; `jt` is a `ja`'s target or a conditional jump's true target,
/// `jf` a conditional jump's false target.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub insn: Insn,
    pub jt: Option<T>,
    pub jf: Option<T>,
}

impl Op {
    pub fn plain(insn: Insn) -> Op {
        Op {
            insn,
            jt: None,
            jf: None,
        }
    }
}

/// Position-independent code, or a bare return (`pure`: no instructions; whoever
/// enters it jumps to a `ret` of that value instead).
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub ops: Vec<Op>,
    pub pure: Option<u32>,
}

/// Longest forward distance of a conditional jump.
pub const REACH: usize = 255;

fn is_cond_jump(i: &Insn) -> bool {
    i.code & 0x07 == BPF_JMP && i.code & 0xf0 != BPF_JA
}

impl Block {
    pub fn pure(v: u32) -> Block {
        Block {
            ops: Vec::new(),
            pure: Some(v),
        }
    }

    /// The target that enters this block placed at `start`.
    pub fn entry(&self, start: usize) -> T {
        self.pure.map_or(T::At(start), T::Ret)
    }

    /// The return values its jumps still wait for.
    pub fn pending(&self) -> BTreeSet<u32> {
        self.ops
            .iter()
            .flat_map(|o| [o.jt, o.jf])
            .filter_map(|t| match t {
                Some(T::Ret(v)) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// Its size once closed.
    pub fn closed_len(&self) -> usize {
        if self.pure.is_some() {
            1
        } else {
            self.ops.len() + self.pending().len()
        }
    }

    /// Appends `other`'s instructions, shifted to where they land.
    pub fn append(&mut self, other: &Block) {
        let by = self.ops.len();
        let shift = |t: Option<T>| match t {
            Some(T::At(i)) => Some(T::At(i + by)),
            t => t,
        };
        self.ops.extend(other.ops.iter().map(|o| Op {
            insn: o.insn,
            jt: shift(o.jt),
            jf: shift(o.jf),
        }));
    }

    /// Code already laid out with numeric offsets, as a block.
    pub fn from_insns(prog: &[Insn]) -> Block {
        let ops = prog
            .iter()
            .enumerate()
            .map(|(i, insn)| {
                if insn.code == BPF_JMP | BPF_JA {
                    Op {
                        insn: *insn,
                        jt: Some(T::At(i + 1 + insn.k as usize)),
                        jf: None,
                    }
                } else if is_cond_jump(insn) {
                    Op {
                        insn: *insn,
                        jt: Some(T::At(i + 1 + usize::from(insn.jt))),
                        jf: Some(T::At(i + 1 + usize::from(insn.jf))),
                    }
                } else {
                    Op::plain(*insn)
                }
            })
            .collect();
        Block { ops, pure: None }
    }
}

/// The block with its pool of returns appended: no jump waits any more.
pub fn close(b: &Block) -> Block {
    if let Some(v) = b.pure {
        return Block {
            ops: vec![Op::plain(Insn::ret(v))],
            pure: None,
        };
    }
    let pool: Vec<u32> = b.pending().into_iter().collect();
    let base = b.ops.len();
    let at = |t: Option<T>| match t {
        Some(T::Ret(v)) => Some(T::At(base + pool.iter().position(|p| *p == v).unwrap_or(0))),
        t => t,
    };
    let mut ops: Vec<Op> = b
        .ops
        .iter()
        .map(|o| Op {
            insn: o.insn,
            jt: at(o.jt),
            jf: at(o.jf),
        })
        .collect();
    ops.extend(pool.iter().map(|v| Op::plain(Insn::ret(*v))));
    Block { ops, pure: None }
}

/// Numeric offsets for a closed block; `None` if a conditional jump is too long or
/// goes backwards (which the builders never produce).
pub fn resolve(b: &Block) -> Option<Vec<Insn>> {
    let b = close(b);
    let mut out = Vec::with_capacity(b.ops.len());
    for (i, o) in b.ops.iter().enumerate() {
        let off = |t: Option<T>| match t {
            Some(T::At(j)) if j > i => Some(j - i - 1),
            _ => None,
        };
        let mut insn = o.insn;
        if insn.code == BPF_JMP | BPF_JA {
            insn.k = u32::try_from(off(o.jt)?).ok()?;
        } else if is_cond_jump(&insn) {
            insn.jt = u8::try_from(off(o.jt)?).ok()?;
            insn.jf = u8::try_from(off(o.jf)?).ok()?;
        }
        out.push(insn);
    }
    Some(out)
}

/// `if A >= k: right else left`, sharing returns when the whole fits in reach of
/// one pool, else closing the children first (and bridging a long left side with
/// a `ja`).
pub fn branch(k: u32, left: &Block, right: &Block) -> Block {
    let joined = join(k, left, right);
    if joined.closed_len() <= REACH + 1 {
        return joined;
    }
    join(k, &close(left), &close(right))
}

fn join(k: u32, left: &Block, right: &Block) -> Block {
    let mut out = Block::default();
    if left.ops.len() <= REACH {
        let node = Op {
            insn: Insn::jump(BPF_JGE, k, 0, 0),
            jt: Some(right.entry(1 + left.ops.len())),
            jf: Some(left.entry(1)),
        };
        out.ops.push(node);
    } else {
        out.ops.push(Op {
            insn: Insn::jump(BPF_JGE, k, 0, 0),
            jt: Some(T::At(1)),
            jf: Some(left.entry(2)),
        });
        out.ops.push(Op {
            insn: Insn::ja(0),
            jt: Some(right.entry(2 + left.ops.len())),
            jf: None,
        });
    }
    out.append(left);
    out.append(right);
    out
}
