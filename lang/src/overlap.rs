//! Can two checked targets match the same request, and can a conjunction of argument
//! conditions hold at all? Both answers are conservative in one direction only:
//! `false` is a proof (the conditions contradict, the targets are disjoint), `true`
//! means "possibly". The checker uses them for E0207 (conditions on one register
//! that cannot all hold) and W0005 (overlapping denies with different errnos).
//!
//! It knows the operand each condition compares (register, width, mask) and path
//! patterns' literal prefixes; it does not decide glob intersection exactly, nor
//! relations between conditions under different masks other than equalities.

use crate::ast::CmpOp;
use crate::model::{Addr, ArgCond, Endpoint, Entity, PathPattern, Target};
use std::net::IpAddr;

fn width_mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// The bits a condition compares.
fn operand_mask(c: &ArgCond) -> u64 {
    width_mask(c.width) & c.mask.unwrap_or(u64::MAX)
}

/// Two conditions of `conds` that cannot both hold, if some can be found. Each
/// condition alone is assumed satisfiable (E0207 on a single condition is checked
/// where it is written).
pub fn contradiction(conds: &[&ArgCond]) -> Option<(usize, usize)> {
    for (i, a) in conds.iter().enumerate() {
        for (j, b) in conds.iter().enumerate().skip(i + 1) {
            if a.arg == b.arg && !pair_satisfiable(a, b) {
                return Some((i, j));
            }
        }
    }
    // Intervals on each operand: `x > 5, x < 9, x != 6 ...` taken together.
    let mut seen: Vec<(usize, u64)> = Vec::new();
    for c in conds {
        let key = (c.arg, operand_mask(c));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let group: Vec<usize> = (0..conds.len())
            .filter(|&k| (conds[k].arg, operand_mask(conds[k])) == key)
            .collect();
        let (mut lo, mut hi) = (0u64, key.1);
        let mut ne: Vec<u64> = Vec::new();
        for &k in &group {
            let c = conds[k];
            let v = c.value & width_mask(c.width);
            match c.op {
                CmpOp::Eq => {
                    lo = lo.max(v);
                    hi = hi.min(v);
                }
                CmpOp::Ne => ne.push(v),
                CmpOp::Lt => match v.checked_sub(1) {
                    Some(h) => hi = hi.min(h),
                    None => return Some((k, k)),
                },
                CmpOp::Le => hi = hi.min(v),
                CmpOp::Gt => match v.checked_add(1) {
                    Some(l) => lo = lo.max(l),
                    None => return Some((k, k)),
                },
                CmpOp::Ge => lo = lo.max(v),
            }
        }
        let empty = lo > hi || (lo == hi && ne.contains(&lo));
        if empty && group.len() > 1 {
            return Some((group[0], group[group.len() - 1]));
        }
    }
    None
}

/// Can `a` and `b` (on one register) both hold?
fn pair_satisfiable(a: &ArgCond, b: &ArgCond) -> bool {
    let (ma, mb) = (operand_mask(a), operand_mask(b));
    let (va, vb) = (a.value & width_mask(a.width), b.value & width_mask(b.width));
    match (a.op, b.op) {
        // Equalities on overlapping bits must agree on them.
        (CmpOp::Eq, CmpOp::Eq) => (va ^ vb) & ma & mb == 0,
        // `x & m == v` and `x & m != v` (same operand).
        (CmpOp::Eq, CmpOp::Ne) | (CmpOp::Ne, CmpOp::Eq) => !(ma == mb && va == vb),
        _ => true,
    }
}

/// Could some request match both targets?
pub fn may_overlap(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Syscalls(xs), Target::Syscalls(ys)) => xs.iter().any(|x| {
            ys.iter().any(|y| {
                if x.nr != y.nr {
                    return false;
                }
                let all: Vec<&ArgCond> = x.conds.iter().chain(&y.conds).collect();
                contradiction(&all).is_none()
            })
        }),
        // A syscall rule applies to every access its syscall performs.
        (Target::Syscalls(_), Target::Access { .. }) | (Target::Access { .. }, Target::Syscalls(_)) => false,
        (
            Target::Access {
                verbs: va,
                entity: ea,
            },
            Target::Access {
                verbs: vb,
                entity: eb,
            },
        ) => {
            if !va.iter().any(|v| vb.contains(v)) {
                return false;
            }
            match (ea, eb) {
                (Some(Entity::Paths(ps)), Some(Entity::Paths(qs))) => {
                    ps.iter().any(|p| qs.iter().any(|q| paths_may_overlap(p, q)))
                }
                (Some(Entity::Endpoints(es)), Some(Entity::Endpoints(fs))) => {
                    es.iter().any(|e| fs.iter().any(|f| endpoints_may_overlap(e, f)))
                }
                (None, _) | (_, None) => true,
                _ => false,
            }
        }
    }
}

/// The part of a pattern before its first wildcard.
fn literal_prefix(p: &str) -> &str {
    let end = p.find(['*', '?']).unwrap_or(p.len());
    &p[..end]
}

/// Directories no path variable may be or be inside (`claw_ir::SYSTEM_DIRS`).
const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys",
    "/usr",
];

fn under_system_dir(p: &str) -> bool {
    SYSTEM_DIRS
        .iter()
        .any(|d| p.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
}

fn paths_may_overlap(p: &PathPattern, q: &PathPattern) -> bool {
    let (a, b) = (literal_prefix(&p.pattern), literal_prefix(&q.pattern));
    match (p.variable(), q.variable()) {
        (Some(x), Some(y)) if x != y => true,
        (Some(_), None) => !under_system_dir(b),
        (None, Some(_)) => !under_system_dir(a),
        _ => {
            let glob = |s: &str| s.contains(['*', '?']);
            if !glob(&p.pattern) && !glob(&q.pattern) {
                return p.pattern == q.pattern;
            }
            // Literal prefixes that diverge make the patterns disjoint.
            a.starts_with(b) || b.starts_with(a)
        }
    }
}

fn endpoints_may_overlap(e: &Endpoint, f: &Endpoint) -> bool {
    if e.proto != f.proto || e.ports.1 < f.ports.0 || f.ports.1 < e.ports.0 {
        return false;
    }
    match (&e.addr, &f.addr) {
        (Addr::Any, Addr::Cidr(..) | Addr::Any) | (Addr::Cidr(..), Addr::Any) => true,
        // Any address can be among a name's answers.
        (Addr::Domain(_), Addr::Any | Addr::Cidr(..) | Addr::Domain(_))
        | (Addr::Any | Addr::Cidr(..), Addr::Domain(_)) => true,
        (Addr::Cidr(a, pa), Addr::Cidr(b, pb)) => {
            let p = (*pa).min(*pb);
            match (a, b) {
                (IpAddr::V4(x), IpAddr::V4(y)) => {
                    let m = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
                    u32::from(*x) & m == u32::from(*y) & m
                }
                (IpAddr::V6(x), IpAddr::V6(y)) => {
                    let m = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
                    u128::from(*x) & m == u128::from(*y) & m
                }
                _ => true,
            }
        }
        (Addr::UnixPath(a), Addr::UnixPath(b)) => {
            let (x, y) = (literal_prefix(a), literal_prefix(b));
            x.starts_with(y) || y.starts_with(x)
        }
        (Addr::UnixAbstract(a), Addr::UnixAbstract(b)) => a == b,
        _ => false,
    }
}
