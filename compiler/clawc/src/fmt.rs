//! `clawc fmt`: lays policy files out canonically (see `claw_lang::format`).

use crate::output::{use_color, ColorChoice};
use claw_lang::diag::render;
use claw_lang::format::format;
use claw_lang::parse::parse;
use claw_lang::SourceMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// What happened to one input.
enum Outcome {
    Unchanged,
    Changed,
    /// The policy has errors (shown) or the formatter refused it.
    Refused,
    /// It could not be read or written.
    Failed,
}

/// Formats `text` from `name`; shows syntax errors and refuses if there are any.
fn formatted(name: &str, text: String, color: ColorChoice) -> Result<String, Outcome> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text.clone());
    let (_, diags) = parse(file, &text);
    if diags.iter().any(|d| d.is_error()) {
        eprint!("{}", render(&diags, &sources, use_color(color)));
        eprintln!("error: not formatting `{name}`: it does not parse");
        return Err(Outcome::Refused);
    }
    format(&text).map_err(|e| {
        eprintln!("error: not formatting `{name}`: {e}");
        Outcome::Refused
    })
}

/// Replaces `path`'s contents with `text` atomically (a sibling temporary file
/// renamed over it), keeping its permissions: an interrupted run leaves the old
/// file or the new one, never half of one.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let perms = std::fs::metadata(path)?.permissions();
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.as_file().set_permissions(perms)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn one(input: &str, check: bool, color: ColorChoice) -> Outcome {
    if input.starts_with("std::") {
        eprintln!("error: `{input}` is a standard module, built into clawc: format a file");
        return Outcome::Failed;
    }
    if input == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return Outcome::Failed;
        }
        let out = match formatted("<stdin>", text.clone(), color) {
            Ok(out) => out,
            Err(o) => return o,
        };
        if !check {
            print!("{out}");
        }
        return if out == text {
            Outcome::Unchanged
        } else {
            Outcome::Changed
        };
    }
    let text = match std::fs::read(input) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                eprintln!("error: `{input}` is not valid UTF-8");
                return Outcome::Failed;
            }
        },
        Err(e) => {
            eprintln!("error: cannot read `{input}`: {e}");
            return Outcome::Failed;
        }
    };
    let out = match formatted(input, text.clone(), color) {
        Ok(out) => out,
        Err(o) => return o,
    };
    if out == text {
        return Outcome::Unchanged;
    }
    if check {
        println!("{input}");
        return Outcome::Changed;
    }
    match replace(Path::new(input), &out) {
        Ok(()) => Outcome::Changed,
        Err(e) => {
            eprintln!("error: cannot write `{input}`: {e}");
            Outcome::Failed
        }
    }
}

/// `clawc fmt [--check] FILE...`: rewrites each file in place (`-`: standard input
/// to standard output). With `--check`, changes nothing and lists the files that
/// are not formatted. Exit 0 when all is well, 1 when a file does not parse or
/// (with `--check`) is not formatted, 2 when a file cannot be read or written.
pub fn fmt_cmd(files: &[String], check: bool, color: ColorChoice) -> ExitCode {
    let (mut unformatted, mut refused, mut failed) = (0, 0, 0);
    for input in files {
        match one(input, check, color) {
            Outcome::Unchanged => {}
            Outcome::Changed => unformatted += 1,
            Outcome::Refused => refused += 1,
            Outcome::Failed => failed += 1,
        }
    }
    if failed > 0 {
        ExitCode::from(2)
    } else if refused > 0 || (check && unformatted > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
