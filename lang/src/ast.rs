//! The syntax tree exactly as written. Every node carries its [`Span`]; nothing is
//! resolved or checked here (that is `check`'s job).

use crate::span::Span;
pub use claw_stdlib::vocab::CmpOp;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A string literal after escapes are decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// The decoded value.
    pub value: String,
    /// Where the literal is written (quotes included).
    pub span: Span,
}

/// One source file: imports, shared bindings and policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Top-level items, in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An import.
    Use(Use),
    /// A shared binding.
    Let(Let),
    /// A policy.
    Policy(Policy),
    /// Where the parser recovered from a syntax error.
    Error(Span),
}

/// `use std::groups::{memory, time};`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The module path (`std::groups`).
    pub module: Vec<Ident>,
    /// The names imported.
    pub names: UseNames,
    /// The whole declaration.
    pub span: Span,
}

/// What a `use` imports from its module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseNames {
    /// `use std::groups::memory;`
    One(Ident),
    /// `use std::groups::{memory, time};`
    List(Vec<Ident>),
    /// `use std::groups::*;`
    Glob(Span),
}

/// `let name = expr;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Let {
    /// The bound name.
    pub name: Ident,
    /// The bound expression.
    pub value: Expr,
    /// The whole binding.
    pub span: Span,
}

/// An entity expression with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of entity expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// A reference to a binding, an import, a syscall or a group.
    Name(Ident),
    /// `path "a"` or `path ["a", "b"]`.
    Paths(Vec<StrLit>),
    /// `endpoint tcp "10.0.0.0/8" port 443`.
    Endpoint(EndpointExpr),
    /// `syscalls [read, write, memory]`.
    Syscalls(Vec<SyscallRef>),
    /// `[a, b]`: the union of entities of one kind.
    List(Vec<Expr>),
}

/// `endpoint PROTO "ADDR" [port RANGE]`, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointExpr {
    /// `tcp`, `udp` or `unix`, checked later.
    pub proto: Ident,
    /// The address or unix path, as written.
    pub addr: StrLit,
    /// The ports, if written.
    pub ports: Option<PortRange>,
}

/// `port 443` or `port 1000..2000`, unchecked numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange {
    /// The first port.
    pub lo: u64,
    /// The last port (equal to `lo` for one port).
    pub hi: u64,
    /// Where the range is written.
    pub span: Span,
}

/// `policy name [extends parent] { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name.
    pub name: Ident,
    /// The parent policy, if any.
    pub extends: Option<Ident>,
    /// Its items, in source order.
    pub items: Vec<PolicyItem>,
    /// The whole policy.
    pub span: Span,
}

/// An item of a policy body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyItem {
    /// A binding local to the policy.
    Let(Let),
    /// `default ACTION;`
    Default(Action, Span),
    /// `always { rules }`: rules in force in every state.
    Always(Vec<Rule>, Span),
    /// A state with its rules and transitions.
    State(State),
    /// An assertion.
    Assert(Box<Assert>),
    /// Where the parser recovered from a syntax error.
    Error(Span),
}

/// `state name [initial] { rules and transitions }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The state's name.
    pub name: Ident,
    /// Where `initial` is written, if it is.
    pub initial: Option<Span>,
    /// Its rules, in source order.
    pub rules: Vec<Rule>,
    /// Its transitions, in source order.
    pub transitions: Vec<Transition>,
    /// The whole state.
    pub span: Span,
}

/// `allow read, write workspace;` or `deny(EACCES) ptrace;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What the rule does.
    pub action: Action,
    /// What it applies to.
    pub target: Target,
    /// The whole rule.
    pub span: Span,
}

/// An action as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Which action.
    pub kind: ActionKind,
    /// Where it is written.
    pub span: Span,
}

/// The actions a rule can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// `allow`
    Allow,
    /// `deny` (EPERM) or `deny(ERRNO)`.
    Deny(Option<ErrnoRef>),
    /// `kill`
    Kill,
    /// `log`
    Log,
}

/// The errno of `deny(…)`: a name or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrnoRef {
    /// `EACCES`
    Name(Ident),
    /// A number, with its span.
    Number(u64, Span),
}

/// What a rule, transition or property is about: either syscalls (with optional
/// argument conditions) or verbs applied to an entity (`read workspace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The syscalls, groups or verbs.
    pub items: Vec<SyscallRef>,
    /// The entity the verbs apply to, if any (`workspace`).
    pub object: Option<Expr>,
    /// The whole target.
    pub span: Span,
}

/// A syscall, group or verb name, with argument conditions if written `name(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRef {
    /// The name.
    pub name: Ident,
    /// The argument conditions, if written.
    pub conds: Option<Vec<Cond>>,
    /// The whole reference.
    pub span: Span,
}

/// `arg [& mask] op value`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// The argument's name (`flags`, `arg1`).
    pub arg: Ident,
    /// The mask, if written (`flags & O_ACCMODE`).
    pub mask: Option<Value>,
    /// The comparison.
    pub op: CmpOp,
    /// The value compared with.
    pub value: Value,
    /// The whole condition.
    pub span: Span,
}

/// A constant expression: terms joined by `|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The terms, ORed together.
    pub terms: Vec<Term>,
    /// The whole value.
    pub span: Span,
}

/// One term of a constant expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A literal; negative literals are written `-N`.
    Int(i128, Span),
    /// A named constant (`O_RDONLY`).
    Name(Ident),
}

/// `on read secrets -> tainted;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The calls that fire it.
    pub event: Target,
    /// The state it moves to.
    pub to: Ident,
    /// The whole transition.
    pub span: Span,
}

/// `assert [NAME:] PROPERTY;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assert {
    /// `assert NAME: ...`: a policy that extends this one may replace it by name.
    pub name: Option<Ident>,
    /// What it asserts.
    pub property: Property,
    /// The whole assertion.
    pub span: Span,
}

/// A property as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// `never A [after B]`
    Never {
        /// What it is about.
        what: Target,
        /// After what, if written.
        after: Option<Target>,
    },
    /// `always A within E`
    Always {
        /// What it is about.
        what: Target,
        /// What it stays within.
        within: Expr,
    },
}

/// Parser-internal: a state body item before rules and transitions are split.
#[doc(hidden)]
pub enum StateItem {
    Rule(Rule),
    Transition(Transition),
    Error,
}
