//! The IR in z3: a symbolic request (syscall number, six argument registers, and
//! at most one access: a verb on a path or on a network address), rule matching,
//! and the decision of a state.

use claw_ir::{mediation, Addr, ArgCond, CmpOp, Entity, Ir, Matcher, Pattern, Proto, Verb};
use claw_stdlib::{constants, Arch};
use std::net::IpAddr;
use z3::ast::{Bool, Regexp, String as Str, BV};

/// Directories no path variable may be, or be inside (the runtime refuses them).
pub use claw_ir::SYSTEM_DIRS;

/// Verbs as bit-vector codes: their index in `Verb::ALL`.
pub const VERBS: [Verb; 8] = Verb::ALL;

pub fn verb_code(v: Verb) -> u64 {
    VERBS.iter().position(|x| *x == v).unwrap_or(0) as u64
}

/// Address families of a network access.
pub const FAM_INET4: u64 = 0;
pub const FAM_INET6: u64 = 1;
pub const FAM_UNIX: u64 = 2;
pub const FAM_ABSTRACT: u64 = 3;

/// Path variables, each an unknown canonical absolute directory, and the alphabet
/// of paths.
pub struct Vars {
    pub names: Vec<String>,
    pub values: Vec<Str>,
    /// Characters beyond ASCII that patterns mention. Paths are drawn from ASCII
    /// plus these: a character no pattern mentions can only be matched by a
    /// wildcard, so any counterexample can be rewritten over this alphabet (and
    /// Z3 4.8.12 has no `re.allchar` to say "any character").
    extra: Vec<char>,
}

impl Vars {
    pub fn of(ir: &Ir) -> Vars {
        let mut names: Vec<String> = Vec::new();
        let mut add = |p: &str| {
            if let Some(rest) = p.strip_prefix('$') {
                let v = rest.split('/').next().unwrap_or(rest).to_string();
                if !names.contains(&v) {
                    names.push(v);
                }
            }
        };
        let mut entities: Vec<&Entity> = Vec::new();
        for r in &ir.rules {
            if let Matcher::Access { entity, .. } = &r.matcher {
                entities.push(entity);
            }
        }
        for t in &ir.transitions {
            if let Matcher::Access { entity, .. } = &t.event {
                entities.push(entity);
            }
        }
        for a in &ir.assertions {
            match &a.property {
                claw_ir::Property::Never { what, after } => {
                    for p in std::iter::once(what).chain(after.iter()) {
                        if let Pattern::Access { entity: Some(e), .. } = p {
                            entities.push(e);
                        }
                    }
                }
                claw_ir::Property::Always { within, .. } => entities.push(within),
            }
        }
        let mut extra: Vec<char> = Vec::new();
        for e in entities {
            match e {
                Entity::Paths(ps) => {
                    ps.iter().for_each(|p| add(p));
                    extra.extend(ps.iter().flat_map(|p| p.chars()).filter(|c| !c.is_ascii()));
                }
                Entity::Endpoints(eps) => {
                    for ep in eps {
                        if let Addr::UnixPath(p) | Addr::UnixAbstract(p) = &ep.addr {
                            extra.extend(p.chars().filter(|c| !c.is_ascii()));
                        }
                    }
                }
            }
        }
        extra.sort();
        extra.dedup();
        let values = names.iter().map(|n| Str::new_const(format!("${n}"))).collect();
        let vars = Vars { names, values, extra };
        ALPHABET.with(|a| *a.borrow_mut() = vars.extra.clone());
        vars
    }

    /// Every variable is a canonical absolute directory outside the system
    /// directories — what the runtime checks before it runs anything (a workspace
    /// of `/dev` would make "never write workspace" and "allow write devices" one).
    pub fn well_formed(&self) -> Bool {
        let dir = canonical_dir();
        let mut facts = Vec::new();
        for v in &self.values {
            facts.push(v.regex_matches(&dir));
            for sys in SYSTEM_DIRS {
                facts.push(v.eq(Str::from(*sys)).not());
                facts.push(Str::from(format!("{sys}/").as_str()).prefix(v).not());
            }
        }
        Bool::and(&facts)
    }

    fn get(&self, name: &str) -> Option<&Str> {
        self.names.iter().position(|n| n == name).map(|i| &self.values[i])
    }
}

thread_local! {
    /// The non-ASCII characters of the policy being verified (see [`Vars`]).
    static ALPHABET: std::cell::RefCell<Vec<char>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Any one character of the alphabet except `/`.
fn not_slash() -> Regexp {
    // Printable ASCII, so that counterexamples can be read.
    let mut parts = vec![Regexp::range(&'!', &'.'), Regexp::range(&'0', &'~')];
    ALPHABET.with(|a| parts.extend(a.borrow().iter().map(|c| Regexp::literal(&c.to_string()))));
    Regexp::union(&parts)
}

/// One path component: anything but `/`, not empty.
fn seg() -> Regexp {
    not_slash().plus()
}

/// A canonical component: also not `.` or `..`.
fn canonical_seg() -> Regexp {
    Regexp::intersect(&[
        seg(),
        Regexp::literal(".").complement(),
        Regexp::literal("..").complement(),
    ])
}

/// `/a/b` with canonical components, at least one.
fn canonical_dir() -> Regexp {
    Regexp::concat(&[Regexp::literal("/"), canonical_seg()]).plus()
}

/// Canonical absolute paths, `/` included.
pub fn canonical_path() -> Regexp {
    Regexp::union(&[Regexp::literal("/"), canonical_dir()])
}

/// A glob's component sequence (`/src/**/*.rs`) as a regular expression.
fn glob_regex(components: &str) -> Regexp {
    let mut parts = vec![Regexp::literal("")];
    for comp in components.split('/').filter(|c| !c.is_empty()) {
        if comp == "**" {
            parts.push(Regexp::concat(&[Regexp::literal("/"), seg()]).star());
            continue;
        }
        let mut c = vec![Regexp::literal("/")];
        let mut lit = String::new();
        for ch in comp.chars() {
            match ch {
                '*' | '?' => {
                    if !lit.is_empty() {
                        c.push(Regexp::literal(&lit));
                        lit.clear();
                    }
                    let one = not_slash();
                    c.push(if ch == '*' { one.star() } else { one });
                }
                other => lit.push(other),
            }
        }
        if !lit.is_empty() {
            c.push(Regexp::literal(&lit));
        }
        parts.push(Regexp::concat(&c));
    }
    if parts.len() == 1 {
        // The root itself (`/`, no components). Z3 4.8 rejects a one-argument re.++.
        return Regexp::literal("");
    }
    Regexp::concat(&parts)
}

/// The symbolic request.
pub struct Req {
    pub nr: BV,
    pub args: Vec<BV>,
    pub has_access: Bool,
    pub verb: BV,
    pub path: Str,
    pub fam: BV,
    pub proto: BV,
    pub ip4: BV,
    pub ip6: BV,
    pub port: BV,
    pub sock: Str,
}

impl Req {
    pub fn new(tag: &str) -> Req {
        Req {
            nr: BV::new_const(format!("{tag}.nr"), 32),
            args: (0..6)
                .map(|i| BV::new_const(format!("{tag}.arg{i}"), 64))
                .collect(),
            has_access: Bool::new_const(format!("{tag}.has_access")),
            verb: BV::new_const(format!("{tag}.verb"), 8),
            path: Str::new_const(format!("{tag}.path")),
            fam: BV::new_const(format!("{tag}.fam"), 8),
            proto: BV::new_const(format!("{tag}.proto"), 8),
            ip4: BV::new_const(format!("{tag}.ip4"), 32),
            ip6: BV::new_const(format!("{tag}.ip6"), 128),
            port: BV::new_const(format!("{tag}.port"), 16),
            sock: Str::new_const(format!("{tag}.sock")),
        }
    }

    pub fn verb_is(&self, v: Verb) -> Bool {
        self.verb.eq(BV::from_u64(verb_code(v), 8))
    }

    fn verb_in(&self, vs: &[Verb]) -> Bool {
        Bool::or(&vs.iter().map(|v| self.verb_is(*v)).collect::<Vec<_>>())
    }

    /// What a real request can look like: the syscall can perform the verb, the
    /// flags of an `open` agree with the verb, paths are canonical.
    pub fn well_formed(&self, ir: &Ir) -> Bool {
        let table = ir.table();
        let mut with_access = Vec::new();
        let mut must_have_access = Vec::new();
        for e in mediation::EFFECTS {
            let Some(sc) = table.by_name(e.name) else { continue };
            let is = self.nr.eq(BV::from_u64(u64::from(sc.nr), 32));
            let verbs = self.verb_in(e.mediation.verbs());
            let flags_ok = match e.mediation {
                mediation::Mediation::Open { flags, .. } => {
                    open_flags_allow(ir.arch, &self.args[flags as usize], self)
                }
                _ => Bool::from_bool(true),
            };
            with_access.push(Bool::and(&[is.clone(), verbs, flags_ok]));
            // sendto/sendmsg may carry no address (a connected socket).
            if !matches!(
                e.mediation,
                mediation::Mediation::SendTo { .. } | mediation::Mediation::SendMsg { .. }
            ) {
                must_have_access.push(is);
            }
        }
        let network = self.verb_in(&[Verb::Connect, Verb::Send, Verb::Bind]);
        let net_ok = Bool::and(&[
            self.fam.bvule(BV::from_u64(FAM_ABSTRACT, 8)),
            self.proto.bvule(BV::from_u64(1, 8)),
        ]);
        Bool::and(&[
            self.nr
                .bvult(BV::from_u64(u64::from(claw_ir::route::X32_BIT), 32)),
            self.has_access.implies(Bool::or(&with_access)),
            Bool::or(&must_have_access).implies(&self.has_access),
            network.implies(&net_ok),
            network.not().implies(self.path.regex_matches(&canonical_path())),
        ])
    }

    /// Does the request's access fall in `e`?
    pub fn in_entity(&self, e: &Entity, vars: &Vars) -> Bool {
        match e {
            Entity::Paths(pats) => Bool::or(
                &pats
                    .iter()
                    .map(|p| self.path_matches(p, vars))
                    .collect::<Vec<_>>(),
            ),
            Entity::Endpoints(eps) => {
                Bool::or(&eps.iter().map(|ep| self.endpoint_matches(ep)).collect::<Vec<_>>())
            }
        }
    }

    fn path_matches(&self, pattern: &str, vars: &Vars) -> Bool {
        let (prefix, rest) = match pattern.strip_prefix('$') {
            Some(r) => {
                let end = r.find('/').unwrap_or(r.len());
                (vars.get(&r[..end]).cloned(), &r[end..])
            }
            None => (None, pattern),
        };
        let re = glob_regex(rest);
        match prefix {
            None => {
                let root = claw_ir::glob_match(pattern, "/");
                let m = self.path.regex_matches(&re);
                if root {
                    Bool::or(&[m, self.path.eq(Str::from("/"))])
                } else {
                    m
                }
            }
            Some(var) => {
                // Written as functions of the path (no fresh variable), because
                // rule matches also occur negated, where an existential would let
                // the solver pick a suffix that makes a deny rule "not match"; and
                // with the component boundary explicit (`VAR/` is a prefix), which
                // z3 handles far better than a regex over the suffix.
                let comps: Vec<&str> = rest.split('/').filter(|c| !c.is_empty()).collect();
                let with_slash = Str::concat(&[var.clone(), Str::from("/")]);
                match comps.as_slice() {
                    [] => self.path.eq(&var),
                    ["**"] => Bool::or(&[self.path.eq(&var), with_slash.prefix(&self.path)]),
                    [first, ..] if *first != "**" => {
                        let len = with_slash.length();
                        let tail = self.path.substr(len.clone(), self.path.length() - len);
                        // The tail has no leading `/`; match it against `/tail`.
                        let tail = Str::concat(&[Str::from("/"), tail]);
                        Bool::and(&[with_slash.prefix(&self.path), tail.regex_matches(&re)])
                    }
                    _ => {
                        let len = var.length();
                        let suffix = self.path.substr(len.clone(), self.path.length() - len);
                        Bool::and(&[var.prefix(&self.path), suffix.regex_matches(&re)])
                    }
                }
            }
        }
    }

    fn endpoint_matches(&self, ep: &claw_ir::Endpoint) -> Bool {
        let port_ok = Bool::and(&[
            self.port.bvuge(BV::from_u64(u64::from(ep.ports.0), 16)),
            self.port.bvule(BV::from_u64(u64::from(ep.ports.1), 16)),
        ]);
        let proto = |p: Proto| {
            self.proto
                .eq(BV::from_u64(if p == Proto::Udp { 1 } else { 0 }, 8))
        };
        let fam = |f: u64| self.fam.eq(BV::from_u64(f, 8));
        match &ep.addr {
            Addr::UnixPath(p) => Bool::and(&[fam(FAM_UNIX), self.sock.regex_matches(&glob_regex(p))]),
            Addr::UnixAbstract(n) => Bool::and(&[fam(FAM_ABSTRACT), self.sock.eq(Str::from(n.as_str()))]),
            Addr::Any => Bool::and(&[
                Bool::or(&[fam(FAM_INET4), fam(FAM_INET6)]),
                proto(ep.proto),
                port_ok,
            ]),
            Addr::Cidr(IpAddr::V4(net), prefix) => {
                let m = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                let want = BV::from_u64(u64::from(u32::from(*net) & m), 32);
                let mask = BV::from_u64(u64::from(m), 32);
                let v4 = Bool::and(&[fam(FAM_INET4), self.ip4.bvand(&mask).eq(&want)]);
                // An IPv4-mapped IPv6 address is the IPv4 address it maps.
                let mapped_hi = BV::from_u64(0xffff, 96);
                let v6 = Bool::and(&[
                    fam(FAM_INET6),
                    self.ip6.extract(127, 32).eq(&mapped_hi),
                    self.ip6.extract(31, 0).bvand(&mask).eq(&want),
                ]);
                Bool::and(&[Bool::or(&[v4, v6]), proto(ep.proto), port_ok])
            }
            Addr::Cidr(IpAddr::V6(net), prefix) => {
                let m = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                let bv128 = |v: u128| BV::from_u64((v >> 64) as u64, 64).concat(BV::from_u64(v as u64, 64));
                let ok = self.ip6.bvand(bv128(m)).eq(bv128(u128::from(*net) & m));
                Bool::and(&[fam(FAM_INET6), ok, proto(ep.proto), port_ok])
            }
        }
    }

    pub fn cond_holds(&self, c: &ArgCond) -> Bool {
        let w = claw_ir::width_mask(c.width) & c.mask.unwrap_or(u64::MAX);
        let a = self.args[c.arg as usize].bvand(BV::from_u64(w, 64));
        let v = BV::from_u64(c.value & claw_ir::width_mask(c.width), 64);
        match c.op {
            CmpOp::Eq => a.eq(&v),
            CmpOp::Ne => a.eq(&v).not(),
            CmpOp::Lt => a.bvult(&v),
            CmpOp::Le => a.bvule(&v),
            CmpOp::Gt => a.bvugt(&v),
            CmpOp::Ge => a.bvuge(&v),
        }
    }

    pub fn syscall_matches(&self, nr: u32, conds: &[ArgCond]) -> Bool {
        let mut v = vec![self.nr.eq(BV::from_u64(u64::from(nr), 32))];
        v.extend(conds.iter().map(|c| self.cond_holds(c)));
        Bool::and(&v)
    }

    pub fn matches(&self, m: &Matcher, vars: &Vars) -> Bool {
        match m {
            Matcher::Syscall { nr, conds } => self.syscall_matches(*nr, conds),
            Matcher::Access { verbs, entity } => Bool::and(&[
                self.has_access.clone(),
                self.verb_in(verbs),
                self.in_entity(entity, vars),
            ]),
        }
    }

    pub fn matches_pattern(&self, p: &Pattern, vars: &Vars) -> Bool {
        match p {
            Pattern::Syscalls(v) => Bool::or(
                &v.iter()
                    .map(|(nr, conds)| self.syscall_matches(*nr, conds))
                    .collect::<Vec<_>>(),
            ),
            Pattern::Access { verbs, entity } => {
                let mut parts = vec![self.has_access.clone(), self.verb_in(verbs)];
                if let Some(e) = entity {
                    parts.push(self.in_entity(e, vars));
                }
                Bool::and(&parts)
            }
        }
    }
}

/// The verb an `open` performs agrees with its flags (see `mediation::open_verbs`).
fn open_flags_allow(arch: Arch, flags: &BV, req: &Req) -> Bool {
    let c = |n: &str| constants::by_name(n).map_or(0, |c| c.value(arch) as u64);
    let bits = |v: u64| BV::from_u64(v, 64);
    let has = |n: &str| flags.bvand(bits(c(n))).eq(bits(0)).not();
    let acc = flags.bvand(bits(c("O_ACCMODE")));
    let rdonly = acc.eq(bits(c("O_RDONLY")));
    let wronly = acc.eq(bits(c("O_WRONLY")));
    let rdwr = acc.eq(bits(c("O_RDWR")));
    let noacc = acc.eq(bits(3));
    let tmpfile = flags.bvand(bits(c("O_TMPFILE"))).eq(bits(c("O_TMPFILE")));
    let modifies = Bool::or(&[has("O_CREAT"), has("O_TRUNC"), tmpfile]);
    let writes = Bool::or(&[wronly, rdwr.clone()]);
    let path = has("O_PATH");
    let read_ok = Bool::and(&[path.not(), Bool::or(&[rdonly.clone(), rdwr, noacc])]);
    let write_ok = Bool::and(&[
        path.not(),
        Bool::or(&[
            modifies.clone(),
            Bool::and(&[writes.clone(), has("O_APPEND").not()]),
        ]),
    ]);
    let append_ok = Bool::and(&[path.not(), modifies.not(), writes, has("O_APPEND")]);
    Bool::or(&[
        Bool::and(&[req.verb_is(Verb::Read), read_ok]),
        Bool::and(&[req.verb_is(Verb::Write), write_ok]),
        Bool::and(&[req.verb_is(Verb::Append), append_ok]),
        Bool::and(&[req.verb_is(Verb::Visible), path]),
    ])
}

/// The decision of `state` for `req`, as formulas.
pub struct Decision {
    /// A deny or kill rule matches, or the request is one every filter refuses.
    pub refused: Bool,
    /// Each way the request can come to be allowed: one allowing rule with one of
    /// its patterns, or the default. Allowed is `!refused && any(reasons)`; a
    /// refutation is much faster case by case.
    pub reasons: Vec<Reason>,
}

/// One way of being allowed, with what it is about (for cheap pruning).
pub struct Reason {
    pub formula: Bool,
    /// The verbs and the one path pattern of an access rule, if it is one.
    pub verbs: Option<Vec<Verb>>,
    pub path: Option<String>,
}

/// Could two path patterns match a common canonical path, for some values of the
/// path variables the verifier allows? Conservative: `true` unless provably not.
/// Two patterns share a path only if their wildcard-free directory prefixes are
/// comparable component-wise; a variable must itself be comparable with the other
/// prefix, which rules out every system directory.
pub fn may_overlap(a: &str, b: &str) -> bool {
    fn split(p: &str) -> (bool, Vec<&str>) {
        let var = p.starts_with('$');
        let comps: Vec<&str> = p
            .split('/')
            .skip(usize::from(var))
            .filter(|c| !c.is_empty())
            .take_while(|c| !c.contains(['*', '?']))
            .collect();
        (var, comps)
    }
    fn comparable(x: &[&str], y: &[&str]) -> bool {
        x.iter().zip(y).all(|(a, b)| a == b)
    }
    fn allowed_dir(d: &str) -> bool {
        !SYSTEM_DIRS
            .iter()
            .any(|s| d == *s || d.starts_with(&format!("{s}/")))
    }
    let ((va, pa), (vb, pb)) = (split(a), split(b));
    match (va, vb) {
        (false, false) => comparable(&pa, &pb),
        (true, true) => true,
        (true, false) | (false, true) => {
            let lit = if va { &pb } else { &pa };
            // The variable is an ancestor of (or equal to) the literal prefix...
            let ancestor = (1..=lit.len()).any(|k| allowed_dir(&format!("/{}", lit[..k].join("/"))));
            // ...or lies below it.
            let below = lit.is_empty() || allowed_dir(&format!("/{}", lit.join("/")));
            ancestor || below
        }
    }
}

/// The decision of `state` for `req`.
pub fn decide(ir: &Ir, state: u32, req: &Req, vars: &Vars) -> Decision {
    let mut severe = Vec::new();
    let mut reasons = Vec::new();
    let mut syscall_allows = Vec::new();
    let mut any = Vec::new();
    for r in ir.rules.iter().filter(|r| r.in_state(state)) {
        let m = req.matches(&r.matcher, vars);
        any.push(m.clone());
        if !r.action.is_allowing() {
            severe.push(m);
            continue;
        }
        match &r.matcher {
            Matcher::Access {
                verbs,
                entity: Entity::Paths(ps),
            } => {
                for p in ps {
                    let one = Matcher::Access {
                        verbs: verbs.clone(),
                        entity: Entity::Paths(vec![p.clone()]),
                    };
                    reasons.push(Reason {
                        formula: req.matches(&one, vars),
                        verbs: Some(verbs.clone()),
                        path: Some(p.clone()),
                    });
                }
            }
            Matcher::Access {
                verbs,
                entity: Entity::Endpoints(es),
            } => {
                for e in es {
                    let one = Matcher::Access {
                        verbs: verbs.clone(),
                        entity: Entity::Endpoints(vec![e.clone()]),
                    };
                    reasons.push(Reason {
                        formula: req.matches(&one, vars),
                        verbs: Some(verbs.clone()),
                        path: None,
                    });
                }
            }
            // Bit-vector only and cheap: one combined reason for all of them.
            Matcher::Syscall { .. } => syscall_allows.push(m),
        }
    }
    reasons.push(Reason {
        formula: Bool::or(&syscall_allows),
        verbs: None,
        path: None,
    });
    if ir.default.is_allowing() {
        reasons.push(Reason {
            formula: Bool::or(&any).not(),
            verbs: None,
            path: None,
        });
    }
    // clone3 is answered ENOSYS by every filter.
    if let Some(c3) = ir.table().by_name("clone3") {
        severe.push(req.nr.eq(BV::from_u64(u64::from(c3.nr), 32)));
    }
    Decision {
        refused: Bool::or(&severe),
        reasons,
    }
}
