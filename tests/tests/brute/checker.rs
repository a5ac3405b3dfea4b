//! A brute-force model checker: the reference for `claw_verify`. It knows nothing
//! of z3. Given a policy and values for its path variables, it builds a set of
//! representative requests from the policy's own patterns, endpoints and
//! conditions (their boundaries, every character class a path can hold, every
//! open-flag combination, CIDR/port edges, IPv4-mapped and plain IPv6, 32- and
//! 64-bit argument values), explores every state reachable with them under the
//! interpreter (`Ir::decide`, `Ir::next_state`), and decides each property on
//! the runs it found. A violation it finds is real; "no violation" is only as
//! good as its set of requests, so it decides violations, and `verify`'s
//! counterexamples are checked separately by replaying them.

use claw_ir::{
    mediation, Access, Addr, Entity, Env, Ir, Matcher, NetAddr, Pattern, Property, Proto, Request, Verb,
};
use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A concrete request, as the monitor would establish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BReq {
    pub nr: u32,
    pub args: [u64; 6],
    pub accesses: Vec<Access>,
}

impl BReq {
    pub fn request(&self) -> Request<'_> {
        Request {
            nr: self.nr,
            args: self.args,
            accesses: &self.accesses,
        }
    }
}

/// The witness values `claw_verify` pins first, and one more set that overlaps
/// the literal directories of the test policies (a proof covers every value).
pub fn envs() -> Vec<Env> {
    let mut a = Env::new();
    for (k, v) in [
        ("WORKSPACE", "/work/project"),
        ("HOME", "/home/agent"),
        ("TMPDIR", "/tmp"),
        ("XDG_CONFIG_HOME", "/home/agent/.config"),
        ("XDG_CACHE_HOME", "/home/agent/.cache"),
        ("XDG_DATA_HOME", "/home/agent/.local/share"),
        ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ("CARGO_HOME", "/home/agent/.cargo"),
    ] {
        a.set(k, v);
    }
    let mut b = Env::new();
    for (k, v) in [
        ("WORKSPACE", "/data"),
        ("HOME", "/opt"),
        ("TMPDIR", "/data/a b"),
        ("XDG_CONFIG_HOME", "/data/é"),
        ("XDG_CACHE_HOME", "/x"),
        ("XDG_DATA_HOME", "/x/y"),
        ("XDG_RUNTIME_DIR", "/run/user/0"),
        ("CARGO_HOME", "/opt/tools"),
    ] {
        b.set(k, v);
    }
    vec![a, b]
}

fn c(ir: &Ir, n: &str) -> u64 {
    claw_stdlib::constants::by_name(n).map_or(0, |c| c.value(ir.arch) as u64)
}

/// Strings a run of `k` `?` can stand for (bytes: `é` is two, `€` three).
fn question_runs(k: usize) -> Vec<String> {
    let mut v = vec!["x".repeat(k), " ".repeat(k)];
    match k {
        2 => v.push("é".into()),
        3 => v.push("€".into()),
        4 => v.push("😀".into()),
        _ => {}
    }
    v
}

/// Strings a `*` can stand for.
const STARS: &[&str] = &["", "x", "a b", "é", "😀", "\u{1}", ".x"];

/// Instances of one component glob.
fn component_instances(comp: &str) -> Vec<String> {
    let mut outs = vec![String::new()];
    let chars: Vec<char> = comp.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let alts: Vec<String> = if ch == '*' {
            STARS.iter().map(|s| s.to_string()).collect()
        } else if ch == '?' {
            let mut k = 0;
            while i + k < chars.len() && chars[i + k] == '?' {
                k += 1;
            }
            i += k - 1;
            question_runs(k)
        } else {
            vec![ch.to_string()]
        };
        let mut next = Vec::new();
        for o in &outs {
            for a in &alts {
                next.push(format!("{o}{a}"));
            }
        }
        next.truncate(24);
        outs = next;
        i += 1;
    }
    // Not canonical components: never a path the monitor decides on.
    outs.retain(|o| !o.is_empty() && o != "." && o != "..");
    outs
}

/// Instances of an expanded path glob, and its boundaries: the directory of a
/// `/**`, a sibling sharing a prefix, one component more.
fn path_instances(pattern: &str) -> Vec<String> {
    let mut outs = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let alts: Vec<String> = if comp == "**" {
            vec![String::new(), "/sub".into(), "/a b/é".into()]
        } else {
            component_instances(comp)
                .into_iter()
                .map(|c| format!("/{c}"))
                .collect()
        };
        let mut next = Vec::new();
        for o in &outs {
            for a in &alts {
                next.push(format!("{o}{a}"));
            }
        }
        next.truncate(48);
        outs = next;
    }
    let mut all = Vec::new();
    for o in outs {
        let o = if o.is_empty() { "/".to_string() } else { o };
        if o != "/" {
            all.push(format!("{o}x"));
            all.push(format!("{o}/x"));
            if let Some((d, _)) = o.rsplit_once('/') {
                all.push(if d.is_empty() { "/".into() } else { d.to_string() });
            }
        }
        all.push(o);
    }
    all
}

/// Every entity the policy names (rules, events, properties).
pub fn entities(ir: &Ir) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut m = |x: &Matcher| {
        if let Matcher::Access { entity, .. } = x {
            out.push(entity.clone());
        }
    };
    ir.rules.iter().for_each(|r| m(&r.matcher));
    ir.transitions.iter().for_each(|t| m(&t.event));
    for a in &ir.assertions {
        match &a.property {
            Property::Never { what, after } => {
                for p in std::iter::once(what).chain(after.iter()) {
                    if let Pattern::Access { entity: Some(e), .. } = p {
                        out.push(e.clone());
                    }
                }
            }
            Property::Always { within, .. } => out.push(within.clone()),
        }
    }
    out
}

/// The representative requests for `ir` under `env`.
pub fn requests(ir: &Ir, env: &Env) -> Vec<BReq> {
    let table = ir.table();
    let nr = |n: &str| table.by_name(n).map(|s| s.nr);
    let mut paths: BTreeSet<String> = ["/", "/data/a b/c", "/data/é/x", "/data/\u{7f}/x", "/tmp/x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut endpoints = Vec::new();
    for e in entities(ir) {
        match e {
            Entity::Paths(ps) => {
                for p in ps {
                    if let Some(x) = env.expand(&p) {
                        paths.extend(path_instances(&x));
                    }
                }
            }
            Entity::Endpoints(es) => endpoints.extend(es),
        }
    }
    for (_, v) in envs().iter().flat_map(vars_of) {
        paths.insert(v.clone());
        paths.insert(format!("{v}/x"));
    }
    let mut out: BTreeSet<(u32, Vec<bool>, Vec<String>)> = BTreeSet::new();
    let mut reqs = Vec::new();
    // Registers matter only through the conditions of syscall rules and events:
    // requests that agree on all of them and ask the same accesses are one.
    let mut conds: Vec<(u32, claw_ir::ArgCond)> = Vec::new();
    for m in ir
        .rules
        .iter()
        .map(|r| &r.matcher)
        .chain(ir.transitions.iter().map(|t| &t.event))
    {
        if let Matcher::Syscall { nr, conds: cs } = m {
            conds.extend(cs.iter().map(|c| (*nr, c.clone())));
        }
    }
    let mut push = |nr: Option<u32>, args: [u64; 6], accesses: Vec<Access>| {
        let Some(nr) = nr else { return };
        let key: Vec<String> = accesses.iter().map(|a| format!("{a:?}")).collect();
        let truth: Vec<bool> = conds
            .iter()
            .filter(|(n, _)| *n == nr)
            .map(|(_, c)| c.holds(&args))
            .collect();
        if out.insert((nr, truth, key)) {
            reqs.push(BReq { nr, args, accesses });
        }
    };
    let on = |verbs: &[Verb], p: &str| -> Vec<Access> {
        verbs
            .iter()
            .map(|&verb| Access::Path {
                verb,
                path: p.to_string(),
            })
            .collect()
    };
    // Every combination of the flags that decide an open's verbs.
    let bits = ["O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_PATH", "O_TMPFILE"];
    let mut flag_sets = Vec::new();
    for acc in 0..4u64 {
        for mask in 0..(1u32 << bits.len()) {
            let mut f = acc;
            for (i, b) in bits.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    f |= c(ir, b);
                }
            }
            flag_sets.push(f);
        }
    }
    let rename_reads = mediation::of("renameat2").is_some_and(|m| m.verbs().contains(&Verb::Read));
    let path_list: Vec<String> = paths.into_iter().collect();
    // The flag combinations, one of each class: the same verbs and the same
    // truth of every condition on `openat` ask the same of every path (the
    // dedup below would drop the rest, path by path, at a far higher cost).
    let mut opens: Vec<([u64; 6], Vec<Verb>)> = Vec::new();
    {
        let openat = nr("openat");
        let mut classes: BTreeSet<(Vec<bool>, String)> = BTreeSet::new();
        let mut class = |args: [u64; 6], verbs: Vec<Verb>| {
            let truth: Vec<bool> = conds
                .iter()
                .filter(|(n, _)| Some(*n) == openat)
                .map(|(_, c)| c.holds(&args))
                .collect();
            if classes.insert((truth, format!("{verbs:?}"))) {
                opens.push((args, verbs));
            }
        };
        for &f in &flag_sets {
            let args = [(-100i64) as u64, 0, f, 0, 0, 0];
            class(args, mediation::open_verbs(f, ir.arch));
            // O_CREAT of a file that exists (the monitor asks what the flags
            // without O_CREAT ask, unless O_EXCL).
            if f & c(ir, "O_CREAT") != 0 && f & c(ir, "O_EXCL") == 0 {
                let g = f & !c(ir, "O_CREAT");
                class(args, mediation::open_verbs(g, ir.arch));
            }
        }
    }
    for p in &path_list {
        for (args, verbs) in &opens {
            push(nr("openat"), *args, on(verbs, p));
        }
        push(nr("execve"), [0; 6], on(&[Verb::Exec], p));
        push(nr("newfstatat"), [0; 6], on(&[Verb::Visible], p));
        push(nr("unlinkat"), [0; 6], on(&[Verb::Write], p));
    }
    // Renames between a few of the paths.
    for p in path_list.iter().take(12) {
        for q in path_list.iter().take(12) {
            // In the monitor's order (`names::accesses`): write on both
            // names, then read on the moved names, the old and the new (an
            // object given a secret's name is read by the naming).
            let mut a = on(&[Verb::Write], p);
            a.extend(on(&[Verb::Write], q));
            if rename_reads {
                a.extend(on(&[Verb::Read], p));
                a.extend(on(&[Verb::Read], q));
            }
            push(nr("renameat2"), [0; 6], a);
        }
    }
    // Addresses: each block's edges, inside and out, plain and mapped.
    let mut addrs: Vec<NetAddr> = Vec::new();
    let mut ips: Vec<IpAddr> = vec![
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6("2001:db8::1".parse().unwrap()),
    ];
    let mut ports: Vec<u16> = vec![0, 53, 443, 65535];
    for e in &endpoints {
        ports.extend([
            e.ports.0,
            e.ports.1,
            e.ports.0.wrapping_sub(1),
            e.ports.1.wrapping_add(1),
        ]);
        match &e.addr {
            Addr::Cidr(IpAddr::V4(n), p) => {
                let base = u32::from(*n) & u32::MAX.checked_shl(32 - u32::from(*p)).unwrap_or(0);
                let size = 1u64 << (32 - u32::from(*p));
                for v in [
                    u64::from(base),
                    u64::from(base) | 1,
                    u64::from(base) + size - 1,
                    u64::from(base) + size,
                    u64::from(base).wrapping_sub(1),
                ] {
                    ips.push(IpAddr::V4(Ipv4Addr::from(v as u32)));
                }
            }
            Addr::Cidr(IpAddr::V6(n), p) => {
                let base = u128::from(*n) & u128::MAX.checked_shl(128 - u32::from(*p)).unwrap_or(0);
                let size_m1 = u128::MAX.checked_shr(u32::from(*p)).unwrap_or(0);
                for v in [
                    base,
                    base | 1,
                    base | size_m1,
                    (base | size_m1).wrapping_add(1),
                    base.wrapping_sub(1),
                ] {
                    ips.push(IpAddr::V6(Ipv6Addr::from(v)));
                }
            }
            Addr::UnixPath(p) => addrs.extend(path_instances(p).into_iter().map(NetAddr::UnixPath)),
            Addr::UnixAbstract(n) => {
                addrs.push(NetAddr::UnixAbstract(n.clone()));
                addrs.push(NetAddr::UnixAbstract(format!("{n}x")));
            }
            Addr::Any | Addr::Domain(_) => {}
        }
    }
    // Each IPv4 address also as IPv4-mapped and IPv4-compatible IPv6.
    let v4s: Vec<Ipv4Addr> = ips
        .iter()
        .filter_map(|i| match i {
            IpAddr::V4(a) => Some(*a),
            _ => None,
        })
        .collect();
    for a in v4s {
        ips.push(IpAddr::V6(a.to_ipv6_mapped()));
        ips.push(IpAddr::V6(Ipv6Addr::from(u128::from(u32::from(a)))));
    }
    ports.sort_unstable();
    ports.dedup();
    ips.sort();
    ips.dedup();
    for ip in &ips {
        for &port in &ports {
            for proto in [Proto::Tcp, Proto::Udp] {
                addrs.push(NetAddr::Inet { proto, ip: *ip, port });
            }
        }
    }
    addrs.push(NetAddr::UnixPath("/run/x.sock".into()));
    for a in &addrs {
        for (verb, name) in [
            (Verb::Connect, "connect"),
            (Verb::Send, "sendto"),
            (Verb::Bind, "bind"),
        ] {
            push(
                nr(name),
                [0; 6],
                vec![Access::Net {
                    verb,
                    addr: a.clone(),
                    name: None,
                }],
            );
        }
    }
    push(nr("sendto"), [0; 6], vec![]);
    // Syscalls with argument values around every condition, 32- and 64-bit.
    let mut syscalls: Vec<(u32, Vec<claw_ir::ArgCond>)> = Vec::new();
    for r in &ir.rules {
        if let Matcher::Syscall { nr, conds } = &r.matcher {
            syscalls.push((*nr, conds.clone()));
        }
    }
    for t in &ir.transitions {
        if let Matcher::Syscall { nr, conds } = &t.event {
            syscalls.push((*nr, conds.clone()));
        }
    }
    for a in &ir.assertions {
        if let Property::Never { what, after } = &a.property {
            for p in std::iter::once(what).chain(after.iter()) {
                if let Pattern::Syscalls(v) = p {
                    syscalls.extend(v.iter().cloned());
                }
            }
        }
    }
    syscalls.push((nr("getpid").unwrap_or(39), vec![]));
    for (n, conds) in &syscalls {
        if table.by_nr(*n).is_some_and(|s| mediation::of(s.name).is_some()) {
            continue;
        }
        let mut values: BTreeSet<u64> = [0, 1, u64::from(u32::MAX), 1 << 32, 1 << 63, u64::MAX].into();
        for c in conds {
            for v in [
                c.value,
                c.value.wrapping_add(1),
                c.value.wrapping_sub(1),
                c.mask.unwrap_or(0),
            ] {
                values.extend([v, v | 1 << 32, v | 1 << 63, v & 0xffff_ffff]);
            }
        }
        let args_used: BTreeSet<u8> = conds.iter().map(|c| c.arg).collect();
        push(Some(*n), [0; 6], vec![]);
        for &arg in &args_used {
            for &v in &values {
                let mut args = [0u64; 6];
                args[arg as usize] = v;
                push(Some(*n), args, vec![]);
            }
        }
    }
    reqs
}

fn vars_of(e: &Env) -> Vec<(String, String)> {
    [
        "WORKSPACE",
        "HOME",
        "TMPDIR",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        "CARGO_HOME",
    ]
    .iter()
    .filter_map(|k| e.get(k).map(|v| (k.to_string(), v.to_string())))
    .collect()
}

pub fn allowed(ir: &Ir, state: u32, r: &BReq, env: &Env) -> bool {
    let clone3 = ir.table().by_name("clone3").map(|s| s.nr);
    Some(r.nr) != clone3 && ir.decide(state, &r.request(), env).action.is_allowing()
}

pub fn next(ir: &Ir, state: u32, r: &BReq, env: &Env) -> u32 {
    ir.next_state(state, &r.request(), env)
        .map_or(state, |(to, _)| to)
}

/// Does the request perform `p`?
pub fn performs(p: &Pattern, r: &BReq, env: &Env) -> bool {
    match p {
        Pattern::Syscalls(v) => v
            .iter()
            .any(|(nr, conds)| r.nr == *nr && conds.iter().all(|c| c.holds(&r.args))),
        Pattern::Access { verbs, entity: None } => r.accesses.iter().any(|a| verbs.contains(&a.verb())),
        Pattern::Access {
            verbs,
            entity: Some(e),
        } => {
            let m = Matcher::Access {
                verbs: verbs.clone(),
                entity: e.clone(),
            };
            r.accesses.iter().any(|a| claw_ir::matches_access(&m, a, env))
        }
    }
}

/// The read/write/append part of an access pattern (what a descriptor keeps).
pub fn fd_part(p: &Pattern) -> Option<Pattern> {
    match p {
        Pattern::Access { verbs, entity } => {
            let kept: Vec<Verb> = verbs
                .iter()
                .copied()
                .filter(|v| matches!(v, Verb::Read | Verb::Write | Verb::Append))
                .collect();
            (!kept.is_empty()).then(|| Pattern::Access {
                verbs: kept,
                entity: entity.clone(),
            })
        }
        Pattern::Syscalls(_) => None,
    }
}

pub fn outside(verbs: &[Verb], within: &Entity, r: &BReq, env: &Env) -> bool {
    r.accesses.iter().any(|a| {
        let m = Matcher::Access {
            verbs: vec![a.verb()],
            entity: within.clone(),
        };
        verbs.contains(&a.verb()) && !claw_ir::matches_access(&m, a, env)
    })
}

/// Does this request open a file (and leave the agent a descriptor)?
pub fn opens(ir: &Ir, r: &BReq) -> bool {
    ir.table().by_nr(r.nr).is_some_and(|s| {
        matches!(
            mediation::of(s.name),
            Some(
                mediation::Mediation::Open { .. }
                    | mediation::Mediation::OpenHow { .. }
                    | mediation::Mediation::Creat { .. }
            )
        )
    })
}

/// Does this run (every step allowed, in order) violate `prop`? Descriptors
/// opened for a read, write or append the property forbids stay usable after
/// the event, so a run that opens one at or before the event violates it too.
pub fn run_violates(ir: &Ir, prop: &Property, run: &[&BReq], env: &Env) -> bool {
    match prop {
        Property::Never { what, after: None } => run.iter().any(|r| performs(what, r, env)),
        Property::Never { what, after: Some(b) } => {
            let fd = fd_part(what);
            let mut seen_b = false;
            let mut opened = false;
            for r in run {
                if seen_b && performs(what, r, env) {
                    return true;
                }
                if opens(ir, r) && fd.as_ref().is_some_and(|f| performs(f, r, env)) {
                    opened = true;
                }
                if performs(b, r, env) {
                    if opened {
                        return true;
                    }
                    seen_b = true;
                }
            }
            false
        }
        Property::Always { verbs, within } => run.iter().any(|r| outside(verbs, within, r, env)),
    }
}

/// What the brute force found for one property.
#[derive(Debug)]
pub struct Found {
    /// A violating run: (state, request) steps.
    pub run: Vec<(u32, BReq)>,
}

/// Searches the runs over `reqs` for a violation of `prop`: a breadth-first
/// search over (state, event seen, forbidden descriptor open), which is all a
/// run's future depends on. What a request does is computed once, and whether
/// a state allows it (and where it leads) once per state.
pub fn violation(ir: &Ir, prop: &Property, reqs: &[BReq], env: &Env) -> Option<Found> {
    type Node = (u32, bool, bool);
    let start: Node = (ir.initial, false, false);
    let mut prev: std::collections::HashMap<Node, (Node, usize)> = Default::default();
    let mut seen: BTreeSet<Node> = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    let build = |prev: &std::collections::HashMap<Node, (Node, usize)>, mut n: Node, last: usize| {
        let mut run = vec![(n.0, reqs[last].clone())];
        while let Some((p, i)) = prev.get(&n) {
            run.push((p.0, reqs[*i].clone()));
            n = *p;
        }
        run.reverse();
        run
    };
    let fd = match prop {
        Property::Never { what, .. } => fd_part(what),
        _ => None,
    };
    // Per request: (performs the target, performs the event, opens a file for
    // the target's read/write/append part). An event that is itself such an
    // open violates the property (as `run_violates`); no other request leaves
    // anything open.
    let does: Vec<(bool, bool, bool)> = reqs
        .iter()
        .map(|r| match prop {
            Property::Never { what, after } => (
                performs(what, r, env),
                after.as_ref().is_some_and(|b| performs(b, r, env)),
                opens(ir, r) && fd.as_ref().is_some_and(|f| performs(f, r, env)),
            ),
            Property::Always { verbs, within } => (outside(verbs, within, r, env), false, false),
        })
        .collect();
    // Per state: for each request, `Some(next)` if allowed.
    let mut moves: Vec<Option<Vec<Option<u32>>>> = vec![None; ir.states.len()];
    while let Some(node @ (s, seen_b, opened)) = queue.pop_front() {
        let here = moves[s as usize].get_or_insert_with(|| {
            reqs.iter()
                .map(|r| allowed(ir, s, r, env).then(|| next(ir, s, r, env)))
                .collect()
        });
        for (i, to) in here.iter().enumerate() {
            let Some(to) = *to else { continue };
            let (what, is_b, open) = does[i];
            let bad = match prop {
                Property::Never { after: None, .. } | Property::Always { .. } => what,
                Property::Never { after: Some(_), .. } => (seen_b && what) || (is_b && (opened || open)),
            };
            if bad {
                return Some(Found {
                    run: build(&prev, node, i),
                });
            }
            let n: Node = (to, seen_b || is_b, opened || open);
            if seen.insert(n) {
                prev.insert(n, (node, i));
                queue.push_back(n);
            }
        }
    }
    None
}
