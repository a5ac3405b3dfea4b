//! The syntax tree exactly as written. Every node carries its [`Span`]; nothing is
//! resolved or checked here (that is `check`'s job).

use crate::span::Span;
pub use claw_stdlib::vocab::CmpOp;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal after escapes are decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// One source file: imports, shared bindings and policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Use(Use),
    Let(Let),
    Policy(Policy),
    /// Where the parser recovered from a syntax error.
    Error(Span),
}

/// `use std::groups::{memory, time};`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The module path (`std::groups`).
    pub module: Vec<Ident>,
    pub names: UseNames,
    pub span: Span,
}

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
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointExpr {
    /// `tcp`, `udp` or `unix`, checked later.
    pub proto: Ident,
    pub addr: StrLit,
    pub ports: Option<PortRange>,
}

/// `port 443` or `port 1000..2000`, unchecked numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u64,
    pub hi: u64,
    pub span: Span,
}

/// `policy name [extends parent] { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: Ident,
    pub extends: Option<Ident>,
    pub items: Vec<PolicyItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyItem {
    Let(Let),
    Default(Action, Span),
    Always(Vec<Rule>, Span),
    State(State),
    Assert(Box<Assert>),
    Error(Span),
}

/// `state name [initial] { rules and transitions }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub name: Ident,
    pub initial: Option<Span>,
    pub rules: Vec<Rule>,
    pub transitions: Vec<Transition>,
    pub span: Span,
}

/// `allow read, write workspace;` or `deny(EACCES) ptrace;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    pub target: Target,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    Allow,
    /// `deny` (EPERM) or `deny(ERRNO)`.
    Deny(Option<ErrnoRef>),
    Kill,
    Log,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrnoRef {
    Name(Ident),
    Number(u64, Span),
}

/// What a rule, transition or property is about: either syscalls (with optional
/// argument conditions) or verbs applied to an entity (`read workspace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub items: Vec<SyscallRef>,
    pub object: Option<Expr>,
    pub span: Span,
}

/// A syscall, group or verb name, with argument conditions if written `name(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRef {
    pub name: Ident,
    pub conds: Option<Vec<Cond>>,
    pub span: Span,
}

/// `arg [& mask] op value`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub arg: Ident,
    pub mask: Option<Value>,
    pub op: CmpOp,
    pub value: Value,
    pub span: Span,
}

/// A constant expression: terms joined by `|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub terms: Vec<Term>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A literal; negative literals are written `-N`.
    Int(i128, Span),
    Name(Ident),
}

/// `on read secrets -> tainted;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub event: Target,
    pub to: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assert {
    /// `assert NAME: ...`: a policy that extends this one may replace it by name.
    pub name: Option<Ident>,
    pub property: Property,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// `never A [after B]`
    Never { what: Target, after: Option<Target> },
    /// `always A within E`
    Always { what: Target, within: Expr },
}

/// Parser-internal: a state body item before rules and transitions are split.
#[doc(hidden)]
pub enum StateItem {
    Rule(Rule),
    Transition(Transition),
    Error,
}
