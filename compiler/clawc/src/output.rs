//! How `clawc` prints: human or JSON output (`--format`), and whether human
//! output is coloured (`--color`, `NO_COLOR`, a terminal). Shared by the
//! commands; it knows nothing of policies.

use clap::ValueEnum;
use std::io::IsTerminal;

// Doc comments on a `ValueEnum`'s variants would become clap's help text, so the
// two enums below are crate-private (this is a binary: nothing is exported) and
// their values explained in plain comments.

/// How diagnostics and reports are printed (`--format`).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    // For people: rendered diagnostics, prose reports.
    Human,
    // For tools: one JSON document.
    Json,
}

/// Whether human output is coloured (`--color`).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    // When standard error is a terminal.
    Auto,
    Always,
    Never,
}

/// Whether to colour: `--color`, else a terminal on stderr without `NO_COLOR`.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}
