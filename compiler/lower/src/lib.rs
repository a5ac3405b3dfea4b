//! Lowering: a checked [`model::Policy`] (front end) to an [`Ir`] (back end).
//! Targets are flattened (one IR rule per syscall), `always` rules become rules in
//! force in every state, and each rule records its source location. Both sides
//! speak the same vocabulary (`claw_stdlib::vocab`: actions, verbs, protocols,
//! addresses, comparisons), so nothing here converts between copies; what is
//! dropped is only the front end's spans and names.

#![forbid(unsafe_code)]

use claw_ir::{self as ir, Ir};
use claw_lang::model::{self, Target};
use claw_lang::SourceMap;

/// Where each IR rule, transition and assertion came from in the source, so that
/// later stages' findings (a shadowed rule, a failing property) point at the text.
#[derive(Debug, Clone, Default)]
pub struct SpanTable {
    /// The span of each IR rule, by index.
    pub rules: Vec<claw_lang::Span>,
    /// The span of each IR transition, by index.
    pub transitions: Vec<claw_lang::Span>,
    /// The span of each IR assertion, by index.
    pub assertions: Vec<claw_lang::Span>,
}

/// Lowers `policy`; `sources` turns spans into `file:line` origins.
pub fn lower(policy: &model::Policy, sources: &SourceMap) -> Ir {
    lower_with_spans(policy, sources).0
}

/// [`lower`], also returning the source span of every IR rule, transition and
/// assertion.
pub fn lower_with_spans(policy: &model::Policy, sources: &SourceMap) -> (Ir, SpanTable) {
    let mut spans = SpanTable::default();
    let origin = |span: claw_lang::Span| {
        let f = sources.get(span.file);
        let (line, _) = f.line_col(span.start as usize);
        format!("{}:{}", f.name, line + 1)
    };
    let mut rules = Vec::new();
    let spans_rules = &mut spans.rules;
    let mut push_rules = |rs: &[model::Rule], states: Option<Vec<u32>>| {
        for r in rs {
            for matcher in matchers(&r.target) {
                rules.push(ir::Rule {
                    action: r.action,
                    states: states.clone(),
                    matcher,
                    origin: origin(r.span),
                });
                spans_rules.push(r.span);
            }
        }
    };
    push_rules(&policy.always, None);
    for (i, s) in policy.states.iter().enumerate() {
        push_rules(&s.rules, Some(vec![i as u32]));
    }
    let mut transitions = Vec::new();
    for (i, s) in policy.states.iter().enumerate() {
        for t in &s.transitions {
            for event in matchers(&t.event) {
                transitions.push(ir::Transition {
                    from: i as u32,
                    to: t.to as u32,
                    event,
                    origin: origin(t.span),
                });
                spans.transitions.push(t.span);
            }
        }
    }
    let mut assertions = Vec::new();
    for a in &policy.asserts {
        let text = sources
            .get(a.span.file)
            .text
            .get(a.span.range())
            .unwrap_or("assert")
            .to_string();
        let text = text
            .trim_start_matches("assert")
            .trim()
            .trim_end_matches(';')
            .trim()
            .to_string();
        assertions.push(ir::Assertion {
            property: property(&a.property),
            text,
            origin: origin(a.span),
        });
        spans.assertions.push(a.span);
    }
    let ir = Ir {
        name: policy.name.clone(),
        arch: policy.arch,
        default: policy.default,
        states: policy.states.iter().map(|s| s.name.clone()).collect(),
        initial: policy.initial as u32,
        rules,
        transitions,
        assertions,
    };
    debug_assert_eq!(spans.rules.len(), ir.rules.len());
    debug_assert_eq!(spans.transitions.len(), ir.transitions.len());
    (ir, spans)
}

fn pattern(t: &Target) -> ir::Pattern {
    match t {
        Target::Syscalls(v) => ir::Pattern::Syscalls(
            v.iter()
                .map(|s| (s.nr, s.conds.iter().map(cond).collect()))
                .collect(),
        ),
        Target::Access { verbs, entity } => ir::Pattern::Access {
            verbs: verbs.clone(),
            entity: entity.as_ref().map(self::entity),
        },
    }
}

fn property(p: &model::Property) -> ir::Property {
    match p {
        model::Property::Never { what, after } => ir::Property::Never {
            what: pattern(what),
            after: after.as_ref().map(pattern),
        },
        model::Property::Always { verbs, within } => ir::Property::Always {
            verbs: verbs.clone(),
            within: entity(within),
        },
    }
}

/// One matcher per syscall, or one for the verbs on the entity. A property-only
/// target without an entity lowers to nothing here (properties are not rules).
pub fn matchers(t: &Target) -> Vec<ir::Matcher> {
    match t {
        Target::Syscalls(v) => v
            .iter()
            .map(|s| ir::Matcher::Syscall {
                nr: s.nr,
                conds: s.conds.iter().map(cond).collect(),
            })
            .collect(),
        Target::Access {
            verbs,
            entity: Some(e),
        } => {
            vec![ir::Matcher::Access {
                verbs: verbs.clone(),
                entity: entity(e),
            }]
        }
        Target::Access { entity: None, .. } => Vec::new(),
    }
}

fn cond(c: &model::ArgCond) -> ir::ArgCond {
    ir::ArgCond {
        arg: c.arg as u8,
        width: c.width as u8,
        mask: c.mask,
        op: c.op,
        value: c.value,
    }
}

/// The IR's entity for the front end's (path patterns, endpoints).
pub fn entity(e: &model::Entity) -> ir::Entity {
    match e {
        model::Entity::Paths(ps) => ir::Entity::Paths(ps.iter().map(|p| p.pattern.clone()).collect()),
        model::Entity::Endpoints(es) => ir::Entity::Endpoints(
            es.iter()
                .map(|e| ir::Endpoint {
                    proto: e.proto,
                    addr: e.addr.clone(),
                    ports: e.ports,
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_lang::check::{check_std_module, Options};
    use claw_lang::model::Arch;

    #[test]
    fn coding_agent_profile_lowers_and_routes() {
        let mut sources = SourceMap::new();
        let opts = Options {
            arch: Arch::X86_64,
            require_policy: true,
        };
        let checked = check_std_module(&mut sources, "std::profiles", &opts).unwrap();
        let p = checked
            .policies
            .iter()
            .find(|p| p.name == "coding_agent")
            .unwrap();
        let ir = lower(p, &sources);
        assert_eq!(ir.states, vec!["clean", "tainted"]);
        assert!(ir
            .rules
            .iter()
            .all(|r| r.origin.starts_with("std/profiles.claw:")));
        let nr = |n: &str| ir.table().by_name(n).unwrap().nr;
        let route = |n: &str| ir.route(nr(n));
        assert!(matches!(route("getpid"), ir::Route::Kernel(_)));
        assert!(
            matches!(route("openat"), ir::Route::Monitor(_)),
            "paths are decided by the monitor"
        );
        assert!(matches!(route("connect"), ir::Route::Monitor(_)));
        match route("ptrace") {
            ir::Route::Kernel(k) => assert_eq!(k.constant(), Some(ir::Action::Kill)),
            r => panic!("ptrace should be killed in the kernel, got {r:?}"),
        }
    }
}
