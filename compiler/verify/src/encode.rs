//! The IR in z3: a symbolic request (syscall number, six argument registers, and
//! the accesses the monitor establishes for it), rule matching, and the decision
//! of a state.
//!
//! Strings are **byte strings**: each z3 character is one byte (0..=255) of the
//! UTF-8 text the interpreter decides on, so `?` is one byte in both, and every
//! byte a path may contain (space, controls, bytes >= 0x80) is in the alphabet.
//! Z3 4.8.12 (what links here) has no `re.allchar` and no char sort; byte ranges
//! are built with `re.range` over one-byte strings made by `Z3_mk_lstring`, and
//! models are read back with `Z3_get_lstring`. Paths and variable values are
//! constrained to valid UTF-8 (the interpreter's paths are Rust strings).
//!
//! A request has up to three accesses (see [`Req`]): the monitor decides an
//! `O_RDWR` open as one request with `read` and `write`, a `rename` as one
//! request with both paths.

use claw_ir::{mediation, Addr, ArgCond, CmpOp, Entity, Ir, Matcher, Pattern, Proto, Verb};
use claw_stdlib::{constants, Arch};
use std::net::IpAddr;
use z3::ast::{Ast, Bool, Regexp, String as Str, BV};

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

/// The access slots of a request: 0 is the first access (a path or an address),
/// 1 a second verb on slot 0's path (`O_RDWR`: read and write; a rename's source
/// when the table says it is also read), 2 a second path (rename, link: the target).
pub const SLOTS: usize = 3;

fn ctx() -> z3_sys::Z3_context {
    z3::Context::thread_local().get_z3_context()
}

/// A z3 string constant whose characters are these bytes.
pub fn bytes(b: &[u8]) -> Str {
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    // SAFETY: the pointer and length describe `b`, which outlives the call; z3
    // copies the bytes. The result is a valid string AST, wrapped (ref-counted).
    unsafe {
        let a = z3_sys::Z3_mk_lstring(ctx(), len, b.as_ptr().cast()).expect("Z3_mk_lstring");
        Str::wrap(&z3::Context::thread_local(), a)
    }
}

/// A z3 string constant of `s`'s UTF-8 bytes.
pub fn lit(s: &str) -> Str {
    bytes(s.as_bytes())
}

/// The regular expression of exactly `s` (bytes).
pub fn re_lit(s: &str) -> Regexp {
    lit(s).into_re()
}

trait IntoRe {
    fn into_re(self) -> Regexp;
}

impl IntoRe for Str {
    fn into_re(self) -> Regexp {
        // SAFETY: `self` is a valid string AST; seq.to_re of it is a valid regex.
        unsafe {
            let r = z3_sys::Z3_mk_seq_to_re(ctx(), self.get_z3_ast()).expect("Z3_mk_seq_to_re");
            Regexp::wrap(&z3::Context::thread_local(), r)
        }
    }
}

/// One byte in `lo..=hi`.
fn byte_range(lo: u8, hi: u8) -> Regexp {
    let (l, h) = (bytes(&[lo]), bytes(&[hi]));
    // SAFETY: both are valid one-character string ASTs, alive across the call.
    unsafe {
        let r = z3_sys::Z3_mk_re_range(ctx(), l.get_z3_ast(), h.get_z3_ast()).expect("Z3_mk_re_range");
        Regexp::wrap(&z3::Context::thread_local(), r)
    }
}

/// The bytes of a string constant in a model (`None` if it is not a constant).
pub fn model_bytes(m: &z3::Model, s: &Str) -> Option<Vec<u8>> {
    let v = m.eval(s, true)?;
    // `as_string` is `None` unless the value is a string constant.
    v.as_string()?;
    let mut len: u32 = 0;
    // SAFETY: `v` is a string constant (checked above); z3 returns a buffer of
    // `len` bytes valid until the next call into the context, copied at once.
    unsafe {
        let p = z3_sys::Z3_get_lstring(ctx(), v.get_z3_ast(), &mut len);
        if p.is_null() {
            return None;
        }
        Some(std::slice::from_raw_parts(p.cast::<u8>(), len as usize).to_vec())
    }
}

/// A string constant in a model, as text.
pub fn model_str(m: &z3::Model, s: &Str) -> String {
    model_bytes(m, s).map_or_else(|| "?".into(), |b| String::from_utf8_lossy(&b).into_owned())
}

/// Any byte but NUL and `/`: what `?` matches.
fn any_byte_but_slash() -> Regexp {
    Regexp::union(&[byte_range(1, b'.'), byte_range(b'0', 255)])
}

/// One UTF-8 encoded character other than NUL and `/`.
fn utf8_char_but_slash() -> Regexp {
    let c = || byte_range(0x80, 0xbf);
    let b = |x: u8| byte_range(x, x);
    Regexp::union(&[
        byte_range(1, b'.'),
        byte_range(b'0', 0x7f),
        Regexp::concat(&[byte_range(0xc2, 0xdf), c()]),
        Regexp::concat(&[b(0xe0), byte_range(0xa0, 0xbf), c()]),
        Regexp::concat(&[byte_range(0xe1, 0xec), c(), c()]),
        Regexp::concat(&[b(0xed), byte_range(0x80, 0x9f), c()]),
        Regexp::concat(&[byte_range(0xee, 0xef), c(), c()]),
        Regexp::concat(&[b(0xf0), byte_range(0x90, 0xbf), c(), c()]),
        Regexp::concat(&[byte_range(0xf1, 0xf3), c(), c(), c()]),
        Regexp::concat(&[b(0xf4), byte_range(0x80, 0x8f), c(), c()]),
    ])
}

/// Valid UTF-8 text without NUL (`/` included).
fn utf8_text() -> Regexp {
    Regexp::union(&[utf8_char_but_slash(), re_lit("/")]).star()
}

/// A canonical component: no `/`, not empty, not `.` or `..` (any bytes: valid
/// UTF-8 is asked for only of a model, see [`Req::utf8`]).
fn canonical_seg() -> Regexp {
    Regexp::intersect(&[
        any_byte_but_slash().plus(),
        re_lit(".").complement(),
        re_lit("..").complement(),
    ])
}

/// `/a/b` with canonical components, at least one.
fn canonical_dir() -> Regexp {
    Regexp::concat(&[re_lit("/"), canonical_seg()]).plus()
}

/// Canonical absolute paths, `/` included.
pub fn canonical_path() -> Regexp {
    Regexp::union(&[re_lit("/"), canonical_dir()])
}

/// A glob's component sequence (`/src/**/*.rs`) as a regular expression over
/// bytes: `?` is one byte, `*` any bytes, within a component (as `glob_match`).
fn glob_regex(components: &str) -> Regexp {
    let mut parts = vec![re_lit("")];
    for comp in components.split('/').filter(|c| !c.is_empty()) {
        if comp == "**" {
            parts.push(Regexp::concat(&[re_lit("/"), any_byte_but_slash().plus()]).star());
            continue;
        }
        let mut c = vec![re_lit("/")];
        let mut lit = String::new();
        for ch in comp.chars() {
            match ch {
                '*' | '?' => {
                    if !lit.is_empty() {
                        c.push(re_lit(&lit));
                        lit.clear();
                    }
                    let one = any_byte_but_slash();
                    c.push(if ch == '*' { one.star() } else { one });
                }
                other => lit.push(other),
            }
        }
        if !lit.is_empty() {
            c.push(re_lit(&lit));
        }
        parts.push(Regexp::concat(&c));
    }
    if parts.len() == 1 {
        // The root itself (`/`, no components). Z3 4.8 rejects a one-argument re.++.
        return re_lit("");
    }
    Regexp::concat(&parts)
}

/// Path variables, each an unknown canonical absolute directory.
pub struct Vars {
    pub names: Vec<String>,
    pub values: Vec<Str>,
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
        for e in entities {
            if let Entity::Paths(ps) = e {
                ps.iter().for_each(|p| add(p));
            }
        }
        let values = names.iter().map(|n| Str::new_const(format!("${n}"))).collect();
        Vars { names, values }
    }

    /// What the runtime checks of every variable before it runs anything
    /// (`claw_ir::check_var`, the one definition): a canonical absolute directory,
    /// not `/`, outside the system directories — except where
    /// `claw_ir::VAR_ALLOWED_BELOW` lets a variable lie below one (`$XDG_RUNTIME_DIR`
    /// in `/run/user`). A workspace of `/dev` would make "never write workspace"
    /// and "allow write devices" one rule.
    pub fn well_formed(&self) -> Bool {
        let mut facts = Vec::new();
        for (name, v) in self.names.iter().zip(&self.values) {
            facts.push(v.regex_matches(&canonical_dir()));
            let mut outside = Vec::new();
            for sys in SYSTEM_DIRS {
                outside.push(v.eq(lit(sys)).not());
                outside.push(lit(&format!("{sys}/")).prefix(v).not());
            }
            let mut ok = vec![Bool::and(&outside)];
            for (var, below) in claw_ir::VAR_ALLOWED_BELOW {
                if var == name {
                    ok.push(lit(&format!("{below}/")).prefix(v));
                }
            }
            facts.push(Bool::or(&ok));
        }
        Bool::and(&facts)
    }

    /// Every value is valid UTF-8 (see [`Req::utf8`]).
    pub fn utf8(&self) -> Bool {
        Bool::and(
            &self
                .values
                .iter()
                .map(|v| v.regex_matches(&utf8_text()))
                .collect::<Vec<_>>(),
        )
    }

    fn get(&self, name: &str) -> Option<&Str> {
        self.names.iter().position(|n| n == name).map(|i| &self.values[i])
    }
}

/// One access of a request: present or not, its verb, and (for a path) the path.
pub struct Slot {
    pub present: Bool,
    pub verb: BV,
    pub path: Str,
}

/// The symbolic request: the registers, up to [`SLOTS`] accesses, and the
/// address of a network access (always in slot 0).
pub struct Req {
    pub nr: BV,
    pub args: Vec<BV>,
    pub slots: Vec<Slot>,
    /// `openat2`'s flags (in `struct open_how`, not in a register).
    pub how_flags: BV,
    /// The file an `O_CREAT` open names exists (it is then decided as an open
    /// without `O_CREAT`, as the monitor does).
    pub exists: Bool,
    pub fam: BV,
    pub proto: BV,
    pub ip4: BV,
    pub ip6: BV,
    pub port: BV,
    pub sock: Str,
    /// The address was reached as a name: the monitor's resolver returned it
    /// for `name` (a fact of the request, see `claw_ir::domain`).
    pub named: Bool,
    pub name: Str,
}

/// What an open-family call's flags ask: slot 0's verb, and slot 1's if any.
struct OpenVerbs {
    first: BV,
    second: Option<(Bool, BV)>,
}

impl Req {
    pub fn new(tag: &str) -> Req {
        let path = Str::new_const(format!("{tag}.path"));
        let slots = vec![
            Slot {
                present: Bool::new_const(format!("{tag}.has_access")),
                verb: BV::new_const(format!("{tag}.verb"), 8),
                path: path.clone(),
            },
            Slot {
                present: Bool::new_const(format!("{tag}.has_second_verb")),
                verb: BV::new_const(format!("{tag}.verb1"), 8),
                path,
            },
            Slot {
                present: Bool::new_const(format!("{tag}.has_second_path")),
                verb: BV::from_u64(verb_code(Verb::Write), 8),
                path: Str::new_const(format!("{tag}.path2")),
            },
        ];
        Req {
            nr: BV::new_const(format!("{tag}.nr"), 32),
            args: (0..6)
                .map(|i| BV::new_const(format!("{tag}.arg{i}"), 64))
                .collect(),
            slots,
            how_flags: BV::new_const(format!("{tag}.how_flags"), 64),
            exists: Bool::new_const(format!("{tag}.exists")),
            fam: BV::new_const(format!("{tag}.fam"), 8),
            proto: BV::new_const(format!("{tag}.proto"), 8),
            ip4: BV::new_const(format!("{tag}.ip4"), 32),
            ip6: BV::new_const(format!("{tag}.ip6"), 128),
            port: BV::new_const(format!("{tag}.port"), 16),
            sock: Str::new_const(format!("{tag}.sock")),
            named: Bool::new_const(format!("{tag}.named")),
            name: Str::new_const(format!("{tag}.name")),
        }
    }

    pub fn has_access(&self) -> &Bool {
        &self.slots[0].present
    }

    pub fn verb_is(&self, slot: usize, v: Verb) -> Bool {
        self.slots[slot].verb.eq(BV::from_u64(verb_code(v), 8))
    }

    fn verb_in(&self, slot: usize, vs: &[Verb]) -> Bool {
        Bool::or(&vs.iter().map(|v| self.verb_is(slot, *v)).collect::<Vec<_>>())
    }

    /// What a real request can look like: the accesses the monitor establishes
    /// for the syscall (the verbs of an open follow its flags exactly as
    /// `mediation::open_verbs`), canonical UTF-8 paths, and no access for a
    /// syscall that touches no entity.
    pub fn well_formed(&self, ir: &Ir) -> Bool {
        let table = ir.table();
        let [s0, s1, s2] = [&self.slots[0], &self.slots[1], &self.slots[2]];
        let mut cases = Vec::new();
        let mut mediated = Vec::new();
        let single = |verbs: &[Verb]| {
            Bool::and(&[
                s0.present.clone(),
                self.verb_in(0, verbs),
                s1.present.not(),
                s2.present.not(),
            ])
        };
        for e in mediation::EFFECTS {
            let Some(sc) = table.by_name(e.name) else { continue };
            let is = self.nr.eq(BV::from_u64(u64::from(sc.nr), 32));
            mediated.push(is.clone());
            let shape = match e.mediation {
                mediation::Mediation::Open { flags, .. } => {
                    self.open_shape(open_verbs(ir.arch, &self.args[flags as usize], &self.exists))
                }
                mediation::Mediation::OpenHow { .. } => {
                    self.open_shape(open_verbs(ir.arch, &self.how_flags, &self.exists))
                }
                mediation::Mediation::Creat { .. } => single(&[Verb::Write]),
                mediation::Mediation::NameChange { .. } => {
                    // The source is written (and read, where the table says so);
                    // the target is written.
                    let reads = e.mediation.verbs().contains(&Verb::Read);
                    Bool::and(&[
                        s0.present.clone(),
                        self.verb_is(0, Verb::Write),
                        s1.present.eq(Bool::from_bool(reads)),
                        self.verb_is(1, Verb::Read),
                        s2.present.clone(),
                    ])
                }
                mediation::Mediation::SendTo { .. } | mediation::Mediation::SendMsg { .. } => {
                    // May carry no address (a connected socket).
                    Bool::or(&[
                        single(e.mediation.verbs()),
                        Bool::and(&[s0.present.not(), s1.present.not(), s2.present.not()]),
                    ])
                }
                m => single(m.verbs()),
            };
            cases.push(Bool::and(&[is, shape]));
        }
        let no_access = Bool::and(&[s0.present.not(), s1.present.not(), s2.present.not()]);
        cases.push(Bool::and(&[Bool::or(&mediated).not(), no_access]));
        let network = self.verb_in(0, &[Verb::Connect, Verb::Send, Verb::Bind]);
        let net_ok = Bool::and(&[
            self.fam.bvule(BV::from_u64(FAM_ABSTRACT, 8)),
            self.proto.bvule(BV::from_u64(1, 8)),
        ]);
        Bool::and(&[
            self.nr
                .bvult(BV::from_u64(u64::from(claw_ir::route::X32_BIT), 32)),
            Bool::or(&cases),
            network.implies(&net_ok),
            // A policy without domain endpoints never looks at names: its
            // requests carry none, and its proofs stay free of them.
            if ir.has_domains() {
                self.named.implies(self.admitted(ir))
            } else {
                self.named.not()
            },
            Bool::and(&[s0.present.clone(), network.not()]).implies(s0.path.regex_matches(&canonical_path())),
            s2.present.implies(s2.path.regex_matches(&canonical_path())),
        ])
    }

    /// Every string of the request is valid UTF-8, as the interpreter's are.
    /// Not part of [`Req::well_formed`]: allowing any bytes only adds requests
    /// (sound for a proof) and keeps refutations fast; a model with invalid
    /// UTF-8 is solved again with this.
    pub fn utf8(&self) -> Bool {
        Bool::and(&[
            self.slots[0].path.regex_matches(&utf8_text()),
            self.slots[2].path.regex_matches(&utf8_text()),
            self.sock.regex_matches(&utf8_text()),
        ])
    }

    fn open_shape(&self, v: OpenVerbs) -> Bool {
        let [s0, s1, s2] = [&self.slots[0], &self.slots[1], &self.slots[2]];
        let mut facts = vec![s0.present.clone(), s0.verb.eq(&v.first), s2.present.not()];
        match v.second {
            Some((present, verb)) => {
                facts.push(s1.present.eq(&present));
                facts.push(s1.verb.eq(&verb));
            }
            None => facts.push(s1.present.not()),
        }
        Bool::and(&facts)
    }

    /// Does access `slot` fall in `e`? (Network entities: slot 0 only.)
    pub fn in_entity(&self, slot: usize, e: &Entity, vars: &Vars) -> Bool {
        match e {
            Entity::Paths(pats) => Bool::or(
                &pats
                    .iter()
                    .map(|p| self.path_matches(&self.slots[slot].path, p, vars))
                    .collect::<Vec<_>>(),
            ),
            Entity::Endpoints(_) if slot != 0 => Bool::from_bool(false),
            Entity::Endpoints(eps) => {
                Bool::or(&eps.iter().map(|ep| self.endpoint_matches(ep)).collect::<Vec<_>>())
            }
        }
    }

    fn path_matches(&self, path: &Str, pattern: &str, vars: &Vars) -> Bool {
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
                let m = path.regex_matches(&re);
                if root {
                    Bool::or(&[m, path.eq(lit("/"))])
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
                let with_slash = Str::concat(&[var.clone(), lit("/")]);
                match comps.as_slice() {
                    [] => path.eq(&var),
                    ["**"] => Bool::or(&[path.eq(&var), with_slash.prefix(path)]),
                    [first, ..] if *first != "**" => {
                        let len = with_slash.length();
                        let tail = path.substr(len.clone(), path.length() - len);
                        // The tail has no leading `/`; match it against `/tail`.
                        let tail = Str::concat(&[lit("/"), tail]);
                        Bool::and(&[with_slash.prefix(path), tail.regex_matches(&re)])
                    }
                    _ => {
                        let len = var.length();
                        let suffix = path.substr(len.clone(), path.length() - len);
                        Bool::and(&[var.prefix(path), suffix.regex_matches(&re)])
                    }
                }
            }
        }
    }

    /// Is the address in the block `net/prefix` (an IPv4-mapped IPv6 address
    /// is its IPv4 address, as in the interpreter)?
    fn in_block(&self, net: IpAddr, prefix: u8) -> Bool {
        let fam = |f: u64| self.fam.eq(BV::from_u64(f, 8));
        let mapped = self.ip6.extract(127, 32).eq(BV::from_u64(0xffff, 96));
        match net {
            IpAddr::V4(net) => {
                let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                let want = BV::from_u64(u64::from(u32::from(net) & m), 32);
                let mask = BV::from_u64(u64::from(m), 32);
                let v4 = Bool::and(&[fam(FAM_INET4), self.ip4.bvand(&mask).eq(&want)]);
                let v6 = Bool::and(&[
                    fam(FAM_INET6),
                    mapped,
                    self.ip6.extract(31, 0).bvand(&mask).eq(&want),
                ]);
                Bool::or(&[v4, v6])
            }
            IpAddr::V6(net) => {
                let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                let bv128 = |v: u128| BV::from_u64((v >> 64) as u64, 64).concat(BV::from_u64(v as u64, 64));
                let ok = self.ip6.bvand(bv128(m)).eq(bv128(u128::from(net) & m));
                Bool::and(&[fam(FAM_INET6), mapped.not(), ok])
            }
        }
    }

    /// What a request reached as a name can be (`Ir::admits_answer`): an IP
    /// address; the name a host name (`claw_stdlib::domain::normalize`'s
    /// alphabet, non-empty labels); `localhost` with a loopback address only;
    /// any other name with an address outside the special blocks unless the
    /// policy names a block containing it.
    fn admitted(&self, ir: &Ir) -> Bool {
        let fam = |f: u64| self.fam.eq(BV::from_u64(f, 8));
        let label = Regexp::union(&[
            byte_range(b'a', b'z'),
            byte_range(b'0', b'9'),
            re_lit("-"),
            re_lit("_"),
        ])
        .plus();
        let host = Regexp::concat(&[label.clone(), Regexp::concat(&[re_lit("."), label]).star()]);
        let loopback = Bool::or(&[
            self.in_block(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)), 8),
            self.in_block(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 128),
        ]);
        let special = Bool::or(
            &claw_ir::domain::SPECIAL
                .iter()
                .map(|(n, p)| self.in_block(*n, *p))
                .collect::<Vec<_>>(),
        );
        let mut blocks = Vec::new();
        let rules = ir.rules.iter().map(|r| &r.matcher);
        for m in rules.chain(ir.transitions.iter().map(|t| &t.event)) {
            if let Matcher::Access {
                entity: Entity::Endpoints(eps),
                ..
            } = m
            {
                for e in eps {
                    if let Addr::Cidr(n, p) = e.addr {
                        blocks.push(self.in_block(n, p));
                    }
                }
            }
        }
        let named_block = Bool::or(&blocks);
        let localhost = self.name.eq(lit(claw_ir::domain::LOCALHOST));
        Bool::and(&[
            Bool::or(&[fam(FAM_INET4), fam(FAM_INET6)]),
            self.name.regex_matches(&host),
            localhost.ite(&loopback, &Bool::or(&[special.not(), named_block])),
        ])
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
        // An IPv4-mapped IPv6 address is the IPv4 address it maps, in the
        // interpreter as here: it matches IPv4 blocks, never IPv6 ones.
        let mapped = self.ip6.extract(127, 32).eq(BV::from_u64(0xffff, 96));
        match &ep.addr {
            Addr::UnixPath(p) => Bool::and(&[fam(FAM_UNIX), self.sock.regex_matches(&glob_regex(p))]),
            Addr::UnixAbstract(n) => Bool::and(&[fam(FAM_ABSTRACT), self.sock.eq(lit(n))]),
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
                let v6 = Bool::and(&[
                    fam(FAM_INET6),
                    mapped,
                    self.ip6.extract(31, 0).bvand(&mask).eq(&want),
                ]);
                Bool::and(&[Bool::or(&[v4, v6]), proto(ep.proto), port_ok])
            }
            Addr::Cidr(IpAddr::V6(net), prefix) => {
                let m = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                let bv128 = |v: u128| BV::from_u64((v >> 64) as u64, 64).concat(BV::from_u64(v as u64, 64));
                let ok = self.ip6.bvand(bv128(m)).eq(bv128(u128::from(*net) & m));
                Bool::and(&[fam(FAM_INET6), mapped.not(), ok, proto(ep.proto), port_ok])
            }
            Addr::Domain(d) => {
                // `*.base`: at least one byte, then `.base` (the name is a host
                // name, so what precedes is whole labels: `DomainPattern::matches`).
                let name = if d.wildcard {
                    let any = byte_range(1, 255).plus();
                    self.name
                        .regex_matches(&Regexp::concat(&[any, re_lit(&format!(".{}", d.base))]))
                } else {
                    self.name.eq(lit(&d.base))
                };
                Bool::and(&[
                    Bool::or(&[fam(FAM_INET4), fam(FAM_INET6)]),
                    self.named.clone(),
                    name,
                    proto(ep.proto),
                    port_ok,
                ])
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

    /// Does access matcher `m` cover access `slot`? (A syscall matcher is about
    /// the registers: see [`Req::fires`].)
    pub fn slot_matches(&self, slot: usize, m: &Matcher, vars: &Vars) -> Bool {
        match m {
            Matcher::Syscall { .. } => Bool::from_bool(false),
            Matcher::Access { verbs, entity } => Bool::and(&[
                self.slots[slot].present.clone(),
                self.verb_in(slot, verbs),
                self.in_entity(slot, entity, vars),
            ]),
        }
    }

    /// Does `m` match the request's registers (syscall matcher) or its first
    /// access? (Every verb has a request with that one access: enough for lints.)
    pub fn matches(&self, m: &Matcher, vars: &Vars) -> Bool {
        match m {
            Matcher::Syscall { nr, conds } => self.syscall_matches(*nr, conds),
            m => self.slot_matches(0, m, vars),
        }
    }

    /// Does the request match `m` (a transition's event): the registers for a
    /// syscall matcher, any access for an access matcher (as `Ir::next_state`).
    pub fn fires(&self, m: &Matcher, vars: &Vars) -> Bool {
        match m {
            Matcher::Syscall { nr, conds } => self.syscall_matches(*nr, conds),
            m => Bool::or(
                &(0..SLOTS)
                    .map(|i| self.slot_matches(i, m, vars))
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// Does access `slot` match the access pattern `p`? (Syscall patterns: false.)
    pub fn slot_matches_pattern(&self, slot: usize, p: &Pattern, vars: &Vars) -> Bool {
        match p {
            Pattern::Syscalls(_) => Bool::from_bool(false),
            Pattern::Access { verbs, entity } => {
                let mut parts = vec![self.slots[slot].present.clone(), self.verb_in(slot, verbs)];
                if let Some(e) = entity {
                    parts.push(self.in_entity(slot, e, vars));
                }
                Bool::and(&parts)
            }
        }
    }

    /// The registers match a syscall pattern.
    pub fn regs_match_pattern(&self, p: &Pattern) -> Bool {
        match p {
            Pattern::Syscalls(v) => Bool::or(
                &v.iter()
                    .map(|(nr, conds)| self.syscall_matches(*nr, conds))
                    .collect::<Vec<_>>(),
            ),
            Pattern::Access { .. } => Bool::from_bool(false),
        }
    }

    /// The request performs `p`: its registers (syscall pattern) or any access.
    pub fn matches_pattern(&self, p: &Pattern, vars: &Vars) -> Bool {
        match p {
            Pattern::Syscalls(_) => self.regs_match_pattern(p),
            p => Bool::or(
                &(0..SLOTS)
                    .map(|i| self.slot_matches_pattern(i, p, vars))
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// The verbs an open with `flags` asks, as `mediation::open_verbs` computes them
/// (which the monitor uses): `O_PATH` is `visible`; `O_RDWR` is `read` and
/// `write` (or `append`), two accesses; an `O_CREAT` without `O_EXCL` of a file
/// that exists asks what the flags without `O_CREAT` ask.
fn open_verbs(arch: Arch, flags: &BV, exists: &Bool) -> OpenVerbs {
    let c = |n: &str| constants::by_name(n).map_or(0, |c| c.value(arch) as u64);
    let bits = |v: u64| BV::from_u64(v, 64);
    let has = |n: &str| flags.bvand(bits(c(n))).eq(bits(0)).not();
    let acc = flags.bvand(bits(c("O_ACCMODE")));
    let reads = Bool::or(&[acc.eq(bits(c("O_RDONLY"))), acc.eq(bits(c("O_RDWR")))]);
    let writes = Bool::or(&[acc.eq(bits(c("O_WRONLY"))), acc.eq(bits(c("O_RDWR")))]);
    let tmpfile = flags.bvand(bits(c("O_TMPFILE"))).eq(bits(c("O_TMPFILE")));
    let creat = Bool::and(&[
        has("O_CREAT"),
        Bool::and(&[exists.clone(), has("O_EXCL").not()]).not(),
    ]);
    let modifies = Bool::or(&[creat, has("O_TRUNC"), tmpfile]);
    let w = Bool::or(&[modifies, Bool::and(&[writes.clone(), has("O_APPEND").not()])]);
    let a = Bool::and(&[w.not(), writes]);
    let code = |v: Verb| BV::from_u64(verb_code(v), 8);
    let path = has("O_PATH");
    let first = path.ite(
        &code(Verb::Visible),
        &Bool::or(&[reads.clone(), Bool::or(&[w.clone(), a.clone()]).not()])
            .ite(&code(Verb::Read), &w.ite(&code(Verb::Write), &code(Verb::Append))),
    );
    let two = Bool::and(&[path.not(), reads, Bool::or(&[w.clone(), a])]);
    let second = w.ite(&code(Verb::Write), &code(Verb::Append));
    OpenVerbs {
        first,
        second: Some((two, second)),
    }
}

/// The decision of `state` for `req`, as formulas. Allowed is: not `refused`,
/// `no_access` if the request has no access, and for every present access one of
/// its `reasons`. A refutation is much faster reason by reason.
pub struct Decision {
    /// A deny or kill rule matches (the registers, or some access), or the request
    /// is one every filter refuses.
    pub refused: Bool,
    /// Allowed, for a request without accesses.
    pub no_access: Bool,
    /// For each slot, each way the access comes to be allowed: one allowing rule
    /// with one of its patterns, an allowing syscall rule, or the default.
    pub reasons: Vec<Vec<Reason>>,
}

impl Decision {
    /// Access `slot` is allowed, if present.
    pub fn slot_allowed(&self, slot: usize, req: &Req) -> Bool {
        let any = Bool::or(
            &self.reasons[slot]
                .iter()
                .map(|r| r.formula.clone())
                .collect::<Vec<_>>(),
        );
        req.slots[slot].present.implies(&any)
    }
}

/// One way of being allowed, with what it is about (for cheap pruning).
pub struct Reason {
    pub formula: Bool,
    /// The verbs of an access rule, or every verb the syscalls of the syscall
    /// rules can perform; `None`: any verb (the default).
    pub verbs: Option<Vec<Verb>>,
    /// The one path pattern of an access rule, if it is one.
    pub path: Option<String>,
}

/// The components of a pattern, and whether it starts with a variable (which is
/// then its first element).
fn coords(p: &str) -> (Option<&str>, Vec<&str>) {
    match p.strip_prefix('$') {
        Some(r) => {
            let end = r.find('/').unwrap_or(r.len());
            (
                Some(&r[..end]),
                r[end..].split('/').filter(|c| !c.is_empty()).collect(),
            )
        }
        None => (None, p.split('/').filter(|c| !c.is_empty()).collect()),
    }
}

/// Could two component globs (`a*b`, `?x`) match a common component? Exact for
/// the wildcard language (bytes, `*` and `?`), ignoring that `.`/`..` are not
/// canonical (which only makes it say "maybe" more often).
fn components_may_meet(a: &[u8], b: &[u8]) -> bool {
    // Reachable pairs of positions in the product of the two automata.
    let mut seen = vec![vec![false; b.len() + 1]; a.len() + 1];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if seen[i][j] {
            continue;
        }
        seen[i][j] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let mut go = |x: usize, y: usize| {
            if !seen[x][y] {
                stack.push((x, y));
            }
        };
        // A `*` may match nothing.
        if i < a.len() && a[i] == b'*' {
            go(i + 1, j);
        }
        if j < b.len() && b[j] == b'*' {
            go(i, j + 1);
        }
        // Consume one byte on both sides.
        let ca = (i < a.len()).then(|| a[i]);
        let cb = (j < b.len()).then(|| b[j]);
        if let (Some(x), Some(y)) = (ca, cb) {
            let wild = |c: u8| c == b'*' || c == b'?';
            if wild(x) || wild(y) || x == y {
                let ni = if x == b'*' { i } else { i + 1 };
                let nj = if y == b'*' { j } else { j + 1 };
                go(ni, nj);
            }
        }
    }
    false
}

/// Could two component sequences (with `**`) match a common path?
fn sequences_may_meet(a: &[&str], b: &[&str]) -> bool {
    let mut seen = vec![vec![false; b.len() + 1]; a.len() + 1];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if seen[i][j] {
            continue;
        }
        seen[i][j] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let da = i < a.len() && a[i] == "**";
        let db = j < b.len() && b[j] == "**";
        let mut go = |x: usize, y: usize| stack.push((x, y));
        if da {
            go(i + 1, j);
            if j < b.len() {
                go(i, j + 1);
            }
        }
        if db {
            go(i, j + 1);
            if i < a.len() {
                go(i + 1, j);
            }
        }
        if i < a.len() && j < b.len() && !da && !db && components_may_meet(a[i].as_bytes(), b[j].as_bytes()) {
            go(i + 1, j + 1);
        }
    }
    false
}

/// Could two path patterns match a common canonical path, for some values of the
/// path variables the verifier allows? Conservative: `true` unless provably not.
/// Two patterns relative to the same origin (`/`, or the same variable) are
/// compared exactly component by component; a variable and a literal prefix must
/// be comparable, which rules out every system directory.
pub fn may_overlap(a: &str, b: &str) -> bool {
    fn literal_prefix<'x>(comps: &[&'x str]) -> Vec<&'x str> {
        comps
            .iter()
            .copied()
            .take_while(|c| !c.contains(['*', '?']))
            .collect()
    }
    fn allowed_dir(d: &str) -> bool {
        !SYSTEM_DIRS
            .iter()
            .any(|s| d == *s || d.starts_with(&format!("{s}/")))
            || claw_ir::VAR_ALLOWED_BELOW
                .iter()
                .any(|(_, below)| d.starts_with(&format!("{below}/")))
    }
    let ((va, ca), (vb, cb)) = (coords(a), coords(b));
    match (va, vb) {
        (None, None) => sequences_may_meet(&ca, &cb),
        (Some(x), Some(y)) if x == y => sequences_may_meet(&ca, &cb),
        (Some(_), Some(_)) => true,
        (Some(_), None) | (None, Some(_)) => {
            let lit = if va.is_some() {
                literal_prefix(&cb)
            } else {
                literal_prefix(&ca)
            };
            // The variable is an ancestor of (or equal to) the literal prefix...
            let ancestor = (1..=lit.len()).any(|k| allowed_dir(&format!("/{}", lit[..k].join("/"))));
            // ...or lies below it.
            let below = lit.is_empty() || allowed_dir(&format!("/{}", lit.join("/")));
            ancestor || below
        }
    }
}

/// Is every path `a` matches also matched by `b`, for every value of the
/// variables? Conservative: `true` only when certain. Decided for `b` of the form
/// `P/**` (or `P`) where each component of `P` contains the corresponding
/// component of `a` (equal, or `*`), with the same origin.
pub fn subsumes(b: &str, a: &str) -> bool {
    let ((vb, cb), (va, ca)) = (coords(b), coords(a));
    if va != vb {
        return false;
    }
    let comp_in = |x: &str, y: &str| y == "*" && x != "**" || x == y;
    let (prefix, open) = match cb.split_last() {
        Some((&"**", rest)) => (rest, true),
        _ => (&cb[..], false),
    };
    if prefix.contains(&"**") {
        return false;
    }
    if open {
        ca.len() >= prefix.len() && prefix.iter().zip(&ca).all(|(y, x)| comp_in(x, y))
    } else {
        ca.len() == prefix.len() && prefix.iter().zip(&ca).all(|(y, x)| comp_in(x, y))
    }
}

/// The decision of `state` for `req`, as the interpreter decides: the syscall
/// rules matching the registers apply to every access; for each access those and
/// the access rules matching it combine by severity (the default if none match);
/// the request is allowed if every access is.
pub fn decide(ir: &Ir, state: u32, req: &Req, vars: &Vars) -> Decision {
    let mut severe = Vec::new();
    let mut syscall_allows = Vec::new();
    // Every verb an access of a syscall the syscall rules allow can have (from the
    // mediation table, which `Req::well_formed` follows): a property about other
    // verbs need not ask the solver about these rules at all.
    let mut syscall_verbs: Vec<Verb> = Vec::new();
    let mut syscall_any = Vec::new();
    let mut reasons: Vec<Vec<Reason>> = (0..SLOTS).map(|_| Vec::new()).collect();
    let mut access_any: Vec<Vec<Bool>> = (0..SLOTS).map(|_| Vec::new()).collect();
    for r in ir.rules.iter().filter(|r| r.in_state(state)) {
        match &r.matcher {
            Matcher::Syscall { nr, conds } => {
                let m = req.syscall_matches(*nr, conds);
                syscall_any.push(m.clone());
                if r.action.is_allowing() {
                    syscall_allows.push(m);
                    let effect = ir.table().by_nr(*nr).and_then(|sc| mediation::of(sc.name));
                    for v in effect.map_or(&[][..], |e| e.verbs()) {
                        if !syscall_verbs.contains(v) {
                            syscall_verbs.push(*v);
                        }
                    }
                } else {
                    severe.push(m);
                }
            }
            Matcher::Access { verbs, entity } => {
                for (slot, any) in access_any.iter_mut().enumerate() {
                    if matches!(entity, Entity::Endpoints(_)) && slot != 0 {
                        continue;
                    }
                    let m = req.slot_matches(slot, &r.matcher, vars);
                    any.push(m.clone());
                    if !r.action.is_allowing() {
                        severe.push(m);
                        continue;
                    }
                    let ones: Vec<Entity> = match entity {
                        Entity::Paths(ps) => ps.iter().map(|p| Entity::Paths(vec![p.clone()])).collect(),
                        Entity::Endpoints(es) => {
                            es.iter().map(|e| Entity::Endpoints(vec![e.clone()])).collect()
                        }
                    };
                    for one in ones {
                        let path = match &one {
                            Entity::Paths(p) => p.first().cloned(),
                            Entity::Endpoints(_) => None,
                        };
                        let one = Matcher::Access {
                            verbs: verbs.clone(),
                            entity: one,
                        };
                        reasons[slot].push(Reason {
                            formula: req.slot_matches(slot, &one, vars),
                            verbs: Some(verbs.clone()),
                            path,
                        });
                    }
                }
            }
        }
    }
    let base_allow = Bool::or(&syscall_allows);
    let base_any = Bool::or(&syscall_any);
    let default = Bool::from_bool(ir.default.is_allowing());
    for (slot, rs) in reasons.iter_mut().enumerate() {
        // Bit-vector only: one combined reason for the syscall rules, with the
        // verbs they can grant (a search for a write skips it when none can
        // write; z3 took seconds to find that out from the formula, with the
        // default profile's many path variables).
        rs.push(Reason {
            formula: base_allow.clone(),
            verbs: Some(syscall_verbs.clone()),
            path: None,
        });
        if ir.default.is_allowing() {
            rs.push(Reason {
                formula: Bool::and(&[base_any.not(), Bool::or(&access_any[slot]).not()]),
                verbs: None,
                path: None,
            });
        }
    }
    // clone3 is answered ENOSYS by every filter.
    if let Some(c3) = ir.table().by_name("clone3") {
        severe.push(req.nr.eq(BV::from_u64(u64::from(c3.nr), 32)));
    }
    Decision {
        refused: Bool::or(&severe),
        no_access: Bool::or(&[base_allow, Bool::and(&[base_any.not(), default])]),
        reasons,
    }
}

/// `T` fires for `req` in its state: its event matches and no transition out of
/// the same state written before it does (the interpreter's `next_state` takes
/// the first; the language documents it).
pub fn fires_first(ir: &Ir, ti: usize, req: &Req, vars: &Vars) -> Bool {
    let t = &ir.transitions[ti];
    let mut v = vec![req.fires(&t.event, vars)];
    for (j, u) in ir.transitions.iter().enumerate() {
        if j < ti && u.from == t.from && u.to != t.to {
            v.push(req.fires(&u.event, vars).not());
        }
    }
    Bool::and(&v)
}

/// No transition out of `state` fires for `req`.
pub fn stays(ir: &Ir, state: u32, req: &Req, vars: &Vars) -> Bool {
    Bool::and(
        &ir.transitions
            .iter()
            .filter(|t| t.from == state)
            .map(|t| req.fires(&t.event, vars).not())
            .collect::<Vec<_>>(),
    )
}
