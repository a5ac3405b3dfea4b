//! Diagnostics suite: every `tests/ui/*.claw` declares the codes it must produce in a
//! `// expect:` header. The test asserts exactly that set of codes (so a snapshot can
//! never silently bless a wrong diagnosis) and snapshots the rendered text.

use claw_lang::check::{check_file, Options};
use claw_lang::diag::{render, CODES};
use claw_lang::SourceMap;
use claw_stdlib::Arch;
use std::collections::BTreeSet;
use std::path::Path;

fn expected_codes(text: &str) -> BTreeSet<String> {
    let line = text.lines().next().unwrap_or("");
    let list = line
        .strip_prefix("// expect:")
        .expect("first line must be `// expect: CODE...`");
    list.split_whitespace().map(str::to_string).collect()
}

fn run_case(path: &Path) -> (BTreeSet<String>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = format!("ui/{}", path.file_name().unwrap().to_string_lossy());
    let arch = if name.contains("W0003") {
        Arch::Aarch64
    } else {
        Arch::X86_64
    };
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let checked = check_file(
        &mut sources,
        file,
        &Options {
            arch,
            require_policy: true,
        },
    );
    let codes = checked.diagnostics.iter().map(|d| d.code.to_string()).collect();
    for d in &checked.diagnostics {
        assert!(!d.label.is_empty(), "{}: {} has no label", path.display(), d.code);
        assert!(d.hint.is_some(), "{}: {} has no hint", path.display(), d.code);
    }
    (codes, render(&checked.diagnostics, &sources, false))
}

#[test]
fn ui_cases() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("../snapshots");
    let mut mismatches = Vec::new();
    settings.bind(|| {
        insta::glob!("../ui", "*.claw", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let (codes, rendered) = run_case(path);
            let expected = expected_codes(&text);
            if codes != expected {
                mismatches.push(format!(
                    "{}: expected {expected:?}, got {codes:?}\n{rendered}",
                    path.display()
                ));
            }
            insta::assert_snapshot!(rendered);
        });
    });
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_code_has_a_case() {
    let mut covered = BTreeSet::new();
    let mut cases = 0;
    for sub in ["ui", "verify"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(sub);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            covered.extend(expected_codes(&text));
            cases += 1;
        }
    }
    assert!(cases >= 40, "only {cases} diagnostic cases");
    // E0403 (the compiled filter does not implement the policy) cannot come from
    // source: the code generator is correct. compiler/verify's planted-bug tests
    // produce it from mutated programs.
    covered.insert("E0403".to_string());
    let missing: Vec<&str> = CODES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !covered.contains(*c))
        .collect();
    assert!(missing.is_empty(), "codes without a ui case: {missing:?}");
}
