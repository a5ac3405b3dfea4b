//! The Claw front end: source text in, checked [`model::Policy`]s or diagnostics out.
//!
//! Stages: [`lexer`] (logos) → [`parse`] (lalrpop) → [`check`] (name resolution
//! against the embedded stdlib, type checking, state-machine checks). [`ide`] has
//! the editor features over a checked document (the language server only speaks
//! the protocol). The front end knows nothing about BPF, artifacts or the monitor.

#![forbid(unsafe_code)]

pub mod ast;
pub mod check;
pub mod diag;
pub mod format;
pub mod ide;
pub mod import;
pub mod lexer;
pub mod model;
pub mod overlap;
pub mod parse;
pub mod pretty;
pub mod span;
pub mod symbols;

pub use diag::{Diagnostic, Severity};
pub use span::{FileId, SourceMap, Span};
