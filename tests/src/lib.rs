//! Test-only crate; see `tests/*.rs`.
