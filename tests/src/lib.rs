//! Test-only crate; see `tests/*.rs`.

#![forbid(unsafe_code)]
