//! Policies: builds a checked [`model::Policy`] from its AST, in named steps:
//! the parent it extends, its own bindings, its items (default, `always`, states,
//! assertions, with inherited ones replaced by name), its transitions, its
//! default and initial state, and the states it can reach.
//!
//! It knows inheritance and the state machine; rules, targets and properties'
//! parts are evaluated by the other modules.

use super::{article, Checker, Def, LetKey, Scope, Val};
use crate::ast::{self};
use crate::diag::{suggest, Diagnostic};
use crate::model::{self, Action, Target};
use crate::span::Span;
use std::collections::{HashMap, VecDeque};

impl Checker<'_> {
    pub(super) fn check_policy(&mut self, m: usize, name: &str) -> Option<model::Policy> {
        let key = (m, name.to_string());
        if let Some(p) = self.policy_memo.get(&key) {
            return p.clone();
        }
        let p = self.modules[m].policies.get(name)?.clone();
        if !self.policy_in_progress.insert(key.clone()) {
            self.err(
                Diagnostic::error("E0110", p.name.span, format!("policy `{name}` extends itself"))
                    .with_label("part of an `extends` cycle")
                    .with_hint("remove one `extends` from the cycle"),
            );
            self.policy_memo.insert(key, None);
            return None;
        }
        let result = self.build_policy(m, &p);
        self.policy_in_progress.remove(&key);
        self.policy_memo.insert(key, result.clone());
        result
    }

    /// Builds the policy `p` of module `m` in named steps; `None` when it has
    /// errors (reported). The order of the steps is the order diagnostics are
    /// found in, and later steps stay quiet where an earlier one failed.
    pub(super) fn build_policy(&mut self, m: usize, p: &ast::Policy) -> Option<model::Policy> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let errors_diag_start = self.diags.len();
        let scope = Scope {
            module: m,
            policy: Some(p.name.name.clone()),
        };
        let parent = self.parent_of(m, p).ok()?;
        self.own_lets(m, p);
        let mut draft = Draft::inherit(parent.as_ref());
        for item in &p.items {
            self.read_item(&scope, p, item, &mut draft);
        }
        self.read_transitions(&scope, &mut draft);
        let damaged = self
            .syntax_errors
            .iter()
            .any(|s| s.file == p.span.file && s.start >= p.span.start && s.start <= p.span.end);
        let (default, default_span) = self.policy_default(p, &draft, damaged)?;
        let initial = self.initial_state(p, &mut draft, damaged)?;
        self.overlapping_denies(&draft.always, &draft.states);
        // A transition to a misspelled state has been reported; its intended
        // target would be unreachable only because of that typo, so skip the
        // reachability check then.
        let typo = self.diags[errors_diag_start..].iter().any(|d| d.code == "E0304");
        if typo || damaged {
            return None;
        }
        self.report_unreachable(&draft.states, initial);
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        if errors_after > errors_before {
            return None;
        }
        let Draft {
            always,
            states,
            asserts,
            ..
        } = draft;
        Some(model::Policy {
            name: p.name.name.clone(),
            arch: self.opts.arch,
            span: p.name.span,
            default,
            default_span,
            always,
            states,
            initial,
            asserts,
        })
    }

    /// Step 1: the policy `p` extends, checked (`Ok(None)` if it extends none;
    /// `Err` when the parent is unknown, reported here, or did not check).
    fn parent_of(&mut self, m: usize, p: &ast::Policy) -> Result<Option<model::Policy>, ()> {
        let Some(id) = &p.extends else {
            return Ok(None);
        };
        match self.lookup(
            &Scope {
                module: m,
                policy: None,
            },
            &id.name,
        ) {
            Some(Def::Policy(pm, pn)) => match self.check_policy(pm, &pn) {
                Some(pp) => Ok(Some(pp)),
                None => Err(()),
            },
            _ => {
                let mut names: Vec<String> = self.modules[m].policies.keys().cloned().collect();
                names.extend(self.visible_names(&Scope {
                    module: m,
                    policy: None,
                }));
                let mut d = Diagnostic::error("E0109", id.span, format!("unknown policy `{}`", id.name))
                    .with_label("no policy of this name is defined or imported");
                d = match suggest(&id.name, names.iter().map(String::as_str)) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint("import a profile with `use std::profiles::coding_agent;`"),
                };
                self.err(d);
                Err(())
            }
        }
    }

    /// Step 2: defines the policy's own bindings, then evaluates them in source
    /// order so that their errors show even if they are unused.
    fn own_lets(&mut self, m: usize, p: &ast::Policy) {
        for item in &p.items {
            if let ast::PolicyItem::Let(l) = item {
                let key = LetKey {
                    module: m,
                    policy: Some(p.name.name.clone()),
                    name: l.name.name.clone(),
                };
                self.define_let(key, l);
            }
        }
        let mut own: Vec<&ast::Let> = p
            .items
            .iter()
            .filter_map(|i| {
                if let ast::PolicyItem::Let(l) = i {
                    Some(l)
                } else {
                    None
                }
            })
            .collect();
        own.sort_by_key(|l| l.span.start);
        for l in own {
            let key = LetKey {
                module: m,
                policy: Some(p.name.name.clone()),
                name: l.name.name.clone(),
            };
            self.eval_let(&key);
        }
    }

    /// Step 3: one item of the policy body (its `default`, `always` rules, a
    /// state, an assertion) added to the draft.
    fn read_item<'p>(
        &mut self,
        scope: &Scope,
        p: &ast::Policy,
        item: &'p ast::PolicyItem,
        d: &mut Draft<'p>,
    ) {
        match item {
            ast::PolicyItem::Default(a, span) => {
                if let Some(prev) = d.own_default {
                    self.err(
                        Diagnostic::error("E0306", *span, "`default` is given twice")
                            .with_label("second `default`")
                            .with_secondary(prev, "first given here")
                            .with_hint("a policy has exactly one default action; keep one"),
                    );
                    return;
                }
                d.own_default = Some(*span);
                if let Some(a) = self.eval_action(a) {
                    d.default = Some((a, *span));
                }
            }
            ast::PolicyItem::Always(rules, _) => {
                let rs = self.eval_rules(scope, rules);
                d.always.extend(rs);
            }
            ast::PolicyItem::State(s) => self.add_state(scope, s, d),
            ast::PolicyItem::Assert(a) => self.add_assertion(scope, p, a, d),
            ast::PolicyItem::Let(_) | ast::PolicyItem::Error(_) => {}
        }
    }

    /// A state block: a new state, or more rules for the parent's state of the
    /// same name; its transitions are read once every state is known.
    fn add_state<'p>(&mut self, scope: &Scope, s: &'p ast::State, d: &mut Draft<'p>) {
        if let Some(prev) = d.seen_states.get(&s.name.name) {
            self.err(
                Diagnostic::error(
                    "E0303",
                    s.name.span,
                    format!("state `{}` is defined twice", s.name.name),
                )
                .with_label("second definition")
                .with_secondary(*prev, "first defined here")
                .with_hint("merge the two blocks into one"),
            );
            return;
        }
        d.seen_states.insert(s.name.name.clone(), s.name.span);
        let rules = self.eval_rules(scope, &s.rules);
        // A state named like a parent's state extends it.
        let idx = match d.states.iter().position(|x| x.name == s.name.name) {
            Some(i) => {
                d.states[i].rules.extend(rules);
                i
            }
            None => {
                d.states.push(model::State {
                    name: s.name.name.clone(),
                    span: s.name.span,
                    rules,
                    transitions: Vec::new(),
                });
                d.states.len() - 1
            }
        };
        if let Some(init) = s.initial {
            d.initial_marks.retain(|(i, _)| *i != idx);
            d.initial_marks.push((idx, init));
        }
        d.own_states.push((idx, s));
    }

    /// An assertion: added, or replacing the inherited one of the same name.
    fn add_assertion(&mut self, scope: &Scope, p: &ast::Policy, a: &ast::Assert, d: &mut Draft<'_>) {
        if let Some(n) = &a.name {
            if let Some(prev) = d.own_assert_names.get(&n.name) {
                self.err(
                    Diagnostic::error(
                        "E0104",
                        n.span,
                        format!("assertion `{}` is defined twice", n.name),
                    )
                    .with_label("second definition")
                    .with_secondary(*prev, "first defined here")
                    .with_hint("rename one of them"),
                );
                return;
            }
            d.own_assert_names.insert(n.name.clone(), n.span);
        }
        let Some(prop) = self.eval_property(scope, &a.property) else {
            return;
        };
        let new = model::Assertion {
            name: a.name.as_ref().map(|n| n.name.clone()),
            property: prop,
            span: a.span,
        };
        // A named assertion of the parent (or further up) is replaced
        // by the child's of the same name, and the checker says so.
        let replaced = a.name.as_ref().and_then(|n| {
            d.asserts[..d.inherited_asserts]
                .iter()
                .position(|x| x.name.as_deref() == Some(n.name.as_str()))
        });
        match (replaced, &a.name, &p.extends) {
            (Some(i), Some(n), Some(from)) => {
                let old = std::mem::replace(&mut d.asserts[i], new);
                if without_spans(&old.property) != without_spans(&d.asserts[i].property) {
                    let w = self.replaced_assertion(&n.name, &from.name, &old, &d.asserts[i]);
                    self.err(w);
                }
            }
            _ => d.asserts.push(new),
        }
    }

    /// Step 4: the transitions of the policy's own states, now that every state
    /// name is known.
    fn read_transitions(&mut self, scope: &Scope, d: &mut Draft<'_>) {
        for (idx, s) in &d.own_states {
            for t in &s.transitions {
                let event = self.eval_target(scope, &t.event, false);
                let to = match d.states.iter().position(|x| x.name == t.to.name) {
                    Some(i) => Some(i),
                    None => {
                        let names: Vec<&str> = d.states.iter().map(|x| x.name.as_str()).collect();
                        let mut e =
                            Diagnostic::error("E0304", t.to.span, format!("unknown state `{}`", t.to.name))
                                .with_label("no state of this name");
                        e = match suggest(&t.to.name, names.iter().copied()) {
                            Some(sug) => e.with_hint(format!("did you mean `{sug}`?")),
                            None => e.with_hint(format!("declare it: `state {} {{ }}`", t.to.name)),
                        };
                        self.err(e);
                        None
                    }
                };
                if to == Some(*idx) {
                    self.err(
                        Diagnostic::warning(
                            "W0004",
                            t.span,
                            format!("transition from `{}` to itself", s.name.name),
                        )
                        .with_label("this transition changes nothing")
                        .with_hint("remove it, or point it at another state"),
                    );
                }
                if let (Some(event), Some(to)) = (event, to) {
                    d.states[*idx].transitions.push(model::Transition {
                        event,
                        to,
                        span: t.span,
                    });
                }
            }
        }
    }

    /// Step 5: the policy's default action, its own or inherited (E0307 when it
    /// has none; quiet where a syntax error may have lost it).
    fn policy_default(&mut self, p: &ast::Policy, d: &Draft<'_>, damaged: bool) -> Option<(Action, Span)> {
        if d.default.is_some() {
            return d.default;
        }
        if d.own_default.is_some() || damaged {
            // The `default` was written but did not check, or may have been
            // lost to a syntax error: that error has been reported already.
            return None;
        }
        self.err(
            Diagnostic::error(
                "E0307",
                p.name.span,
                format!("policy `{}` has no `default`", p.name.name),
            )
            .with_label("every request no rule matches needs an answer")
            .with_hint("add `default deny(EPERM);` (or `kill`) as the policy's first line"),
        );
        None
    }

    /// Step 6: the initial state: the implicit single state of a policy without
    /// states, else the one state marked `initial` (E0301 for none, E0302 for
    /// several).
    fn initial_state(&mut self, p: &ast::Policy, d: &mut Draft<'_>, damaged: bool) -> Option<usize> {
        if d.states.is_empty() {
            d.states.push(model::State {
                name: String::new(),
                span: p.name.span,
                rules: Vec::new(),
                transitions: Vec::new(),
            });
            return Some(0);
        }
        match d.initial_marks.as_slice() {
            [] if damaged => None,
            [] => {
                let first = d.states[0].span;
                self.err(
                    Diagnostic::error(
                        "E0301",
                        p.name.span,
                        format!("policy `{}` has no initial state", p.name.name),
                    )
                    .with_label("which state does the sandbox start in?")
                    .with_secondary(first, "mark one state `initial`, e.g. this one")
                    .with_hint(format!("write `state {} initial {{ ... }}`", d.states[0].name)),
                );
                None
            }
            [(i, _)] => Some(*i),
            [(_, first), rest @ ..] => {
                let mut e = Diagnostic::error("E0302", rest[0].1, "more than one initial state")
                    .with_label("also marked `initial`")
                    .with_secondary(*first, "first marked `initial` here");
                for (_, s) in &rest[1..] {
                    e = e.with_secondary(*s, "also marked `initial`");
                }
                self.err(e.with_hint("the sandbox starts in exactly one state; remove the extra `initial`"));
                None
            }
        }
    }

    /// Step 7: E0305 for every state no transition chain from `initial` reaches.
    fn report_unreachable(&mut self, states: &[model::State], initial: usize) {
        let mut reached = vec![false; states.len()];
        let mut queue = VecDeque::from([initial]);
        reached[initial] = true;
        while let Some(s) = queue.pop_front() {
            for t in &states[s].transitions {
                if !reached[t.to] {
                    reached[t.to] = true;
                    queue.push_back(t.to);
                }
            }
        }
        for (i, s) in states.iter().enumerate() {
            if !reached[i] {
                let init = states[initial].span;
                self.diags.push(
                    Diagnostic::error("E0305", s.span, format!("state `{}` is unreachable", s.name))
                        .with_label("no transition leads here")
                        .with_secondary(init, "the sandbox starts here")
                        .with_hint(format!(
                            "add `on EVENT -> {};` to a reachable state, or remove this state",
                            s.name
                        )),
                );
            }
        }
    }

    /// W0006: a child's named assertion replaces an inherited one. Says what the
    /// replacement lets through that the inherited one did not (for `always
    /// … within`: the places added to the set, the verbs no longer covered), or,
    /// when the two are not comparable that way, shows the inherited text.
    pub(super) fn replaced_assertion(
        &self,
        name: &str,
        parent: &str,
        old: &model::Assertion,
        new: &model::Assertion,
    ) -> Diagnostic {
        // The property as written, without `assert NAME:` and `;`.
        let text = |a: &model::Assertion| -> String {
            let t = self
                .sources
                .get(a.span.file)
                .text
                .get(a.span.range())
                .unwrap_or("");
            let t = t.trim_start_matches("assert").trim_start();
            let t = t
                .strip_prefix(name)
                .map_or(t, |r| r.trim_start().trim_start_matches(':'));
            t.trim().trim_end_matches(';').trim_end().to_string()
        };
        let old_text = text(old);
        let mut d = Diagnostic::warning(
            "W0006",
            new.span,
            format!("`{name}` replaces the assertion `{name}` inherited from `{parent}`"),
        )
        .with_secondary(old.span, "the inherited assertion, no longer proved")
        .with_hint(format!(
            "if the widening is meant, nothing to do; to keep `{parent}`'s assertion too, give yours another name"
        ));
        use model::Property::Always;
        let label = match (&old.property, &new.property) {
            (
                Always {
                    verbs: ov,
                    within: ow,
                },
                Always {
                    verbs: nv,
                    within: nw,
                },
            ) => {
                let members = |e: &model::Entity| -> Vec<String> {
                    match e {
                        model::Entity::Paths(ps) => ps
                            .iter()
                            .map(|p| match p.pattern.strip_prefix("$HOME") {
                                Some(rest) => format!("~{rest}"),
                                None => p.pattern.clone(),
                            })
                            .collect(),
                        model::Entity::Endpoints(es) => es
                            .iter()
                            .map(|e| format!("{:?} {:?} port {}..{}", e.proto, e.addr, e.ports.0, e.ports.1))
                            .collect(),
                    }
                };
                let (om, nm) = (members(ow), members(nw));
                let added: Vec<&str> = nm
                    .iter()
                    .filter(|m| !om.contains(m))
                    .map(String::as_str)
                    .collect();
                let removed: Vec<&str> = om
                    .iter()
                    .filter(|m| !nm.contains(m))
                    .map(String::as_str)
                    .collect();
                let dropped: Vec<&str> = ov.iter().filter(|v| !nv.contains(v)).map(|v| v.name()).collect();
                let verbs: Vec<&str> = nv.iter().map(|v| v.name()).collect();
                let mut wider = Vec::new();
                if !added.is_empty() {
                    wider.push(format!(
                        "{} may now also go to {}",
                        verbs.join(", "),
                        added.join(", ")
                    ));
                }
                if !dropped.is_empty() {
                    wider.push(format!("{} no longer bounded", dropped.join(", ")));
                }
                let narrower =
                    (!removed.is_empty()).then(|| format!("no longer within {}", removed.join(", ")));
                match (wider.is_empty(), narrower) {
                    (true, None) => "the same property".to_string(),
                    (true, Some(n)) => format!("narrows it: {n}"),
                    (false, None) => format!("widens it: {}", wider.join("; ")),
                    (false, Some(n)) => format!("widens it: {}; {n}", wider.join("; ")),
                }
            }
            _ => format!("replaces `{old_text}`"),
        };
        d = d.with_label(label);
        d.with_note(format!("inherited: {old_text}"))
    }

    pub(super) fn eval_property(&mut self, scope: &Scope, prop: &ast::Property) -> Option<model::Property> {
        match prop {
            ast::Property::Never { what, after } => {
                let w = self.eval_target(scope, what, true);
                let a = match after {
                    Some(a) => Some(self.eval_target(scope, a, true)?),
                    None => None,
                };
                Some(model::Property::Never { what: w?, after: a })
            }
            ast::Property::Always { what, within } => {
                let t = self.eval_target(scope, what, true)?;
                let Target::Access { verbs, entity: None } = t else {
                    self.err(
                        Diagnostic::error("E0203", what.span, "`always ... within` takes verbs only")
                            .with_label("expected verbs such as `write`")
                            .with_hint("write `assert always write within workspace;`"),
                    );
                    return None;
                };
                let within_span = within.span;
                let within = match self.eval_expr(scope, within) {
                    Val::Entity(e) => e,
                    Val::Syscalls(_) => {
                        self.err(
                            Diagnostic::error(
                                "E0217",
                                within.span,
                                "expected paths or endpoints, found syscalls",
                            )
                            .with_label("these are syscalls")
                            .with_hint("`within` takes the set the verbs must stay inside"),
                        );
                        return None;
                    }
                    Val::Error => return None,
                };
                for v in &verbs {
                    if v.entity_kind() != within.kind() {
                        self.err(
                            Diagnostic::error(
                                "E0201",
                                what.span,
                                format!(
                                    "`{}` applies to {}s, not {}s",
                                    v.name(),
                                    v.entity_kind(),
                                    within.kind()
                                ),
                            )
                            .with_label(format!("expects {}", v.entity_kind()))
                            .with_secondary(within_span, format!("this is {} set", article(within.kind())))
                            .with_hint("a property's verbs and its `within` set must be of the same kind"),
                        );
                        return None;
                    }
                }
                Some(model::Property::Always { verbs, within })
            }
        }
    }
}

/// A property as text without its spans: two properties are the same when
/// they say the same, wherever they are written.
fn without_spans(p: &model::Property) -> String {
    let text = format!("{p:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("span: Span {") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = rest.find('}').map_or("", |j| &rest[j + 1..]);
    }
    out.push_str(rest);
    out
}

/// A policy while its items are read: what it inherits, with its own parts
/// added on top (see [`Checker::build_policy`]).
struct Draft<'p> {
    /// The action and where it is written (inherited, or the policy's own).
    default: Option<(Action, Span)>,
    /// Where the policy's own `default` is written, if it is.
    own_default: Option<Span>,
    /// Rules in force in every state.
    always: Vec<model::Rule>,
    /// The states: the parent's (unless it has only the implicit one), then new ones.
    states: Vec<model::State>,
    /// States marked `initial` (the parent's first), with where.
    initial_marks: Vec<(usize, Span)>,
    /// The policy's own state blocks, by state index, for their transitions.
    own_states: Vec<(usize, &'p ast::State)>,
    /// The assertions: the inherited ones first.
    asserts: Vec<model::Assertion>,
    /// How many of `asserts` are inherited.
    inherited_asserts: usize,
    /// The policy's own assertion names, for E0104.
    own_assert_names: HashMap<String, Span>,
    /// The policy's own state names, for E0303.
    seen_states: HashMap<String, Span>,
}

impl<'p> Draft<'p> {
    /// Starts from the parent's default, rules, states and assertions. A parent
    /// without `state` blocks has one implicit, unnamed state holding no rules
    /// of its own; the child's states (or its own implicit one) replace it.
    fn inherit(parent: Option<&model::Policy>) -> Draft<'p> {
        let mut states: Vec<model::State> = Vec::new();
        let mut initial_marks: Vec<(usize, Span)> = Vec::new();
        if let Some(pp) = parent {
            if pp.states.iter().any(|s| !s.name.is_empty()) {
                states = pp.states.clone();
                initial_marks.push((pp.initial, pp.states[pp.initial].span));
            }
        }
        let asserts = parent.map(|pp| pp.asserts.clone()).unwrap_or_default();
        Draft {
            default: parent.map(|pp| (pp.default, pp.default_span)),
            own_default: None,
            always: parent.map(|pp| pp.always.clone()).unwrap_or_default(),
            states,
            initial_marks,
            own_states: Vec::new(),
            inherited_asserts: asserts.len(),
            asserts,
            own_assert_names: HashMap::new(),
            seen_states: HashMap::new(),
        }
    }
}
