//! Rules: evaluates actions (`deny(ERRNO)`), targets (syscalls with conditions,
//! or verbs on an entity) and rule lists, and warns about overlapping denies
//! with different errnos.
//!
//! It knows how verbs pair with entity kinds; it does not know states or
//! inheritance (`policies`).

use super::{article, Checker, Scope, Val};
use crate::ast::{self};
use crate::diag::{suggest, Diagnostic};
use crate::model::{self, Action, EntityKind, Target, Verb};
use crate::span::Span;
use claw_stdlib::{errno, syscalls};
use std::collections::{HashMap, HashSet};

impl Checker<'_> {
    pub(super) fn eval_action(&mut self, a: &ast::Action) -> Option<Action> {
        Some(match &a.kind {
            ast::ActionKind::Allow => Action::Allow,
            ast::ActionKind::Log => Action::Log,
            ast::ActionKind::Kill => Action::Kill,
            ast::ActionKind::Deny(None) => Action::Deny(1),
            ast::ActionKind::Deny(Some(ast::ErrnoRef::Name(id))) => match errno::by_name(&id.name) {
                Some(e) => Action::Deny(e.value),
                None => {
                    let mut d = Diagnostic::error("E0106", id.span, format!("unknown errno `{}`", id.name))
                        .with_label("not an errno name");
                    d = match suggest(&id.name, errno::all().iter().map(|e| e.name)) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint("errno names are those of errno(3): EPERM, EACCES, ENOENT, ..."),
                    };
                    self.err(d);
                    return None;
                }
            },
            ast::ActionKind::Deny(Some(ast::ErrnoRef::Number(n, span))) => {
                // `deny(0)`: not executed, reported as a success ("pretend success",
                // Docker's and nsjail's `ERRNO(0)`).
                if *n > u64::from(errno::MAX_ERRNO) {
                    self.err(
                        Diagnostic::error("E0215", *span, format!("errno {n} is out of range"))
                            .with_label("the kernel accepts errno values 0 to 4095")
                            .with_hint(
                                "use a name such as `EPERM` or a number from 0 (pretend success) to 4095",
                            ),
                    );
                    return None;
                }
                Action::Deny(*n as u16)
            }
        })
    }

    /// Where a target appears decides how a bare verb name is read.
    pub(super) fn eval_target(
        &mut self,
        scope: &Scope,
        t: &ast::Target,
        in_property: bool,
    ) -> Option<Target> {
        let Some(obj) = &t.object else {
            let all_verbs = t
                .items
                .iter()
                .all(|i| i.conds.is_none() && Verb::from_name(&i.name.name).is_some());
            if in_property && all_verbs {
                let verbs = t
                    .items
                    .iter()
                    .filter_map(|i| Verb::from_name(&i.name.name))
                    .collect();
                return Some(Target::Access { verbs, entity: None });
            }
            let mut out = Vec::new();
            let mut ok = true;
            for r in &t.items {
                match self.eval_syscall_ref(scope, r) {
                    Val::Syscalls(v) => out.extend(v),
                    _ => ok = false,
                }
            }
            return ok.then_some(Target::Syscalls(out));
        };
        let mut verbs = Vec::new();
        let mut ok = true;
        for r in &t.items {
            let name = &r.name.name;
            match Verb::from_name(name) {
                Some(v) if r.conds.is_none() => verbs.push((v, r.span)),
                Some(_) => {
                    self.err(
                        Diagnostic::error(
                            "E0203",
                            r.span,
                            format!("the verb `{name}` takes no argument conditions"),
                        )
                        .with_label("conditions belong on syscalls")
                        .with_hint(format!("write `{name} OBJECT` without parentheses")),
                    );
                    ok = false;
                }
                None => {
                    let known = Verb::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
                    let mut d = Diagnostic::error("E0203", r.name.span, format!("unknown verb `{name}`"))
                        .with_label("a rule with an object needs verbs")
                        .with_hint(format!("the verbs are {known}"));
                    if self.table.by_name(name).is_some() || syscalls::known_anywhere(name) {
                        d = d.with_hint(format!(
                            "`{name}` is a syscall; syscall rules take no object (`allow {name};`), path and network access uses verbs ({known})"
                        ));
                    } else if let Some(s) = suggest(name, Verb::ALL.iter().map(|v| v.name())) {
                        d = d.with_hint(format!("did you mean `{s}`?"));
                    }
                    self.err(d);
                    ok = false;
                }
            }
        }
        let entity = match self.eval_expr(scope, obj) {
            Val::Entity(e) => Some(e),
            Val::Syscalls(_) => {
                self.err(
                    Diagnostic::error("E0217", obj.span, "expected paths or endpoints, found syscalls")
                        .with_label("these are syscalls")
                        .with_hint("verbs apply to paths and endpoints; allow syscalls without a verb: `allow NAME;`"),
                );
                None
            }
            Val::Error => None,
        };
        let entity = entity?;
        for (v, span) in &verbs {
            if v.entity_kind() != entity.kind() {
                let hint = match v.entity_kind() {
                    EntityKind::Endpoint => format!(
                        "`{}` takes an endpoint, e.g. `endpoint tcp \"10.0.0.0/8\" port 443`",
                        v.name()
                    ),
                    EntityKind::Path => {
                        format!("`{}` takes paths, e.g. `path \"$WORKSPACE/**\"`", v.name())
                    }
                };
                self.err(
                    Diagnostic::error(
                        "E0201",
                        *span,
                        format!(
                            "`{}` applies to {}s, not {}s",
                            v.name(),
                            v.entity_kind(),
                            entity.kind()
                        ),
                    )
                    .with_label(format!("expects {}", v.entity_kind()))
                    .with_secondary(obj.span, format!("this is {} set", article(entity.kind())))
                    .with_hint(hint),
                );
                ok = false;
            }
        }
        let mut verbs: Vec<Verb> = verbs.into_iter().map(|(v, _)| v).collect();
        verbs.sort();
        verbs.dedup();
        ok.then_some(Target::Access {
            verbs,
            entity: Some(entity),
        })
    }

    pub(super) fn eval_rules(&mut self, scope: &Scope, rules: &[ast::Rule]) -> Vec<model::Rule> {
        let mut out = Vec::new();
        let mut denies: HashMap<Target, (u16, Span)> = HashMap::new();
        for r in rules {
            let action = self.eval_action(&r.action);
            let target = self.eval_target(scope, &r.target, false);
            let (Some(action), Some(target)) = (action, target) else {
                continue;
            };
            if let Action::Deny(e) = action {
                if let Some(&(prev, prev_span)) = denies.get(&target) {
                    if prev != e {
                        self.err(
                            Diagnostic::error(
                                "E0216",
                                r.span,
                                "the same requests are denied with different errnos",
                            )
                            .with_label(format!("denied with {}", Action::Deny(e)))
                            .with_secondary(prev_span, format!("denied with {} here", Action::Deny(prev)))
                            .with_hint("a request fails one way only; keep one of the two rules"),
                        );
                        continue;
                    }
                }
                denies.insert(target.clone(), (e, r.span));
            }
            out.push(model::Rule {
                action,
                target,
                span: r.span,
            });
        }
        out
    }

    /// W0005: two denies with different errnos that can match one request in one
    /// state. The decision is deterministic (the smaller errno wins, see
    /// docs/language.md), but probably not what was meant. Identical targets in
    /// one block are E0216 (reported in `eval_rules`).
    pub(super) fn overlapping_denies(&mut self, always: &[model::Rule], states: &[model::State]) {
        let mut reported: HashSet<(Span, Span)> = HashSet::new();
        for st in states {
            let rules: Vec<&model::Rule> = always.iter().chain(&st.rules).collect();
            for (i, a) in rules.iter().enumerate() {
                let Action::Deny(ea) = a.action else { continue };
                for b in &rules[i + 1..] {
                    let Action::Deny(eb) = b.action else { continue };
                    if ea == eb {
                        continue;
                    }
                    if !crate::overlap::may_overlap(&a.target, &b.target)
                        || !reported.insert((a.span, b.span))
                    {
                        continue;
                    }
                    let win = Action::Deny(ea.min(eb));
                    self.err(
                        Diagnostic::warning("W0005", b.span, "these rules may deny the same requests with different errnos")
                            .with_label(format!("denies with {}", b.action))
                            .with_secondary(a.span, format!("denies with {} here", a.action))
                            .with_hint(format!(
                                "where both match, the smaller errno wins ({win}); narrow one rule or use one errno"
                            )),
                    );
                }
            }
        }
    }
}
