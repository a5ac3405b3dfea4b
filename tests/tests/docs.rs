//! The examples in docs/language.md are part of the test suite: ` ```claw ` blocks
//! must check cleanly (no errors, no warnings), ` ```claw,warn=CODE ` blocks must
//! report that warning and nothing else, and ` ```claw,fail=CODE ` blocks must
//! report CODE (` ,fragment ` after the tag: a policy that illustrates rules and is
//! not meant to run; every other policy is also run under `clawless` by
//! tests/runtime/docs.rs). The diagnostics table must list every code the checker has.

use claw_lang::check::{check_file, Options};
use claw_lang::diag::{render, CODES};
use claw_lang::SourceMap;
use claw_stdlib::Arch;

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/language.md")).unwrap()
}

/// `(info string, code, line number)` for every fenced block tagged `claw`.
fn claw_blocks(text: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(info) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => out.push(block),
                None if info.starts_with("claw") => current = Some((info.to_string(), String::new(), i + 1)),
                None => current = Some(("other".into(), String::new(), i + 1)),
            }
        } else if let Some((_, code, _)) = current.as_mut() {
            code.push_str(line);
            code.push('\n');
        }
    }
    out.retain(|(info, _, _)| info.starts_with("claw"));
    out
}

#[test]
fn language_reference_examples_check() {
    let text = doc();
    let blocks = claw_blocks(&text);
    assert!(
        blocks.len() >= 8,
        "expected the reference to have examples, found {}",
        blocks.len()
    );
    check_blocks("docs/language.md", blocks);
}

/// The README's and docs/agents.md's policies, by the same rules.
#[test]
fn other_documents_policies_check() {
    for name in ["README.md", "docs/agents.md"] {
        let text = std::fs::read_to_string(format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let blocks = claw_blocks(&text);
        assert!(!blocks.is_empty(), "{name} has a policy");
        check_blocks(name, blocks);
    }
}

fn check_blocks(doc: &str, blocks: Vec<(String, String, usize)>) {
    for (info, code, line) in blocks {
        for arch in Arch::ALL {
            let mut sources = SourceMap::new();
            let file = sources.add(format!("{doc}:{line}"), code.clone());
            let checked = check_file(
                &mut sources,
                file,
                &Options {
                    arch,
                    require_policy: true,
                },
            );
            let rendered = render(&checked.diagnostics, &sources, false);
            let info = info.strip_suffix(",fragment").unwrap_or(&info);
            if let Some(expected) = info.strip_prefix("claw,warn=") {
                assert!(
                    checked.diagnostics.iter().all(|d| d.code == expected) && !checked.diagnostics.is_empty(),
                    "example at line {line} should warn {expected} and report nothing else:\n{rendered}"
                );
                assert!(!checked.policies.is_empty());
                continue;
            }
            match info.strip_prefix("claw,fail=") {
                None => {
                    assert!(
                        checked.diagnostics.is_empty(),
                        "example at line {line} ({arch}):\n{rendered}"
                    );
                    assert!(!checked.policies.is_empty());
                }
                Some(expected) => assert!(
                    checked.diagnostics.iter().any(|d| d.code == expected),
                    "example at line {line} should report {expected}:\n{rendered}"
                ),
            }
        }
    }
}

#[test]
fn diagnostics_table_lists_every_code() {
    let text = doc();
    for (code, _) in CODES {
        let listed = text.contains(&format!("| {code} |"))
            || text
                .lines()
                .any(|l| l.starts_with(&format!("| {}", &code[..4])) && l.contains(code));
        let in_range = text.contains("E0001–E0005") && ("E0001"..="E0005").contains(code)
            || text.contains("E0010, E0011") && (*code == "E0010" || *code == "E0011");
        assert!(listed || in_range, "docs/language.md does not list {code}");
    }
}
