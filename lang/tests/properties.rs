//! Property tests of the front end:
//! - round trip: printing a parsed file and parsing it again gives the same tree;
//! - robustness: no input, however mangled, makes the front end panic;
//! - formatting: `clawc fmt` keeps the tree and every comment, and is idempotent.

use claw_lang::check::{check_file, Options};
use claw_lang::{format, parse::parse, pretty, FileId, SourceMap};
use claw_stdlib::Arch;
use proptest::prelude::*;

/// The tree's debug form with every span replaced by `_`, so trees parsed from
/// differently laid-out text compare equal.
fn erase_spans(tree: &claw_lang::ast::File) -> String {
    let s = format!("{tree:?}");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        out.push('_');
        let after = &rest[i..];
        let close = after.find('}').expect("span debug form closes");
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn assert_round_trip(src: &str) {
    let (first, diags) = parse(FileId(0), src);
    assert!(diags.is_empty(), "input does not parse cleanly: {diags:?}\n{src}");
    let printed = pretty::file(&first);
    let (second, diags2) = parse(FileId(0), &printed);
    assert!(
        diags2.is_empty(),
        "printed text does not parse: {diags2:?}\n{printed}"
    );
    assert_eq!(
        erase_spans(&first),
        erase_spans(&second),
        "round trip changed the tree:\n{printed}"
    );
    // Printing is canonical: a second print changes nothing.
    assert_eq!(printed, pretty::file(&second));
}

#[test]
fn stdlib_modules_round_trip() {
    for (_, _, src) in claw_stdlib::modules::MODULES {
        assert_round_trip(src);
    }
}

#[test]
fn examples_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "claw") {
            assert_round_trip(&std::fs::read_to_string(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 3, "expected example policies, found {n}");
}

// ----- generators of well-formed source ---------------------------------------------

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "workspace",
        "secrets",
        "memory",
        "getpid",
        "openat",
        "socket",
        "tmp",
        "web",
        "kill",
        "log",
        "a_1",
        "X",
    ])
    .prop_map(str::to_string)
}

fn string_lit() -> impl Strategy<Value = String> {
    // Any text, including quotes, backslashes, control and non-ASCII characters.
    any::<String>().prop_map(|s| pretty::string(&s))
}

fn value() -> impl Strategy<Value = String> {
    let term = prop_oneof![
        any::<u32>().prop_map(|n| n.to_string()),
        (1u32..1000).prop_map(|n| format!("-{n}")),
        prop::sample::select(vec!["AF_INET", "O_CREAT", "CLONE_NEWUSER"]).prop_map(str::to_string),
    ];
    prop::collection::vec(term, 1..3).prop_map(|v| v.join(" | "))
}

fn cond() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    (name(), prop::option::of(value()), op, value()).prop_map(|(a, m, op, v)| match m {
        Some(m) => format!("{a} & {m} {op} {v}"),
        None => format!("{a} {op} {v}"),
    })
}

fn syscall_ref() -> impl Strategy<Value = String> {
    (name(), prop::option::of(prop::collection::vec(cond(), 0..3))).prop_map(|(n, c)| match c {
        None => n,
        Some(c) => format!("{n}({})", c.join(", ")),
    })
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        name(),
        string_lit().prop_map(|s| format!("path {s}")),
        prop::collection::vec(string_lit(), 0..3).prop_map(|v| format!("path [{}]", v.join(", "))),
        (
            prop::sample::select(vec!["tcp", "udp", "unix"]),
            string_lit(),
            prop::option::of((0u64..70000, 0u64..70000))
        )
            .prop_map(|(p, a, ports)| match ports {
                None => format!("endpoint {p} {a}"),
                Some((lo, hi)) if lo == hi => format!("endpoint {p} {a} port {lo}"),
                Some((lo, hi)) => format!("endpoint {p} {a} port {lo}..{hi}"),
            }),
        prop::collection::vec(syscall_ref(), 0..3).prop_map(|v| format!("syscalls [{}]", v.join(", "))),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop::collection::vec(inner, 0..3).prop_map(|v| format!("[{}]", v.join(", ")))
    })
}

fn target() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(syscall_ref(), 1..3),
        prop::option::of(expr()),
    )
        .prop_map(|(items, obj)| match obj {
            Some(o) => format!("{} {o}", items.join(", ")),
            None => items.join(", "),
        })
}

fn action() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["allow", "deny", "deny(EPERM)", "deny(13)", "kill", "log"])
        .prop_map(str::to_string)
}

fn rule() -> impl Strategy<Value = String> {
    (action(), target()).prop_map(|(a, t)| format!("{a} {t};"))
}

fn policy_item() -> impl Strategy<Value = String> {
    prop_oneof![
        (name(), expr()).prop_map(|(n, e)| format!("let {n} = {e};")),
        action().prop_map(|a| format!("default {a};")),
        prop::collection::vec(rule(), 0..3).prop_map(|r| format!("always {{ {} }}", r.join(" "))),
        (
            name(),
            any::<bool>(),
            prop::collection::vec(rule(), 0..3),
            prop::collection::vec((target(), name()), 0..2)
        )
            .prop_map(|(n, init, rules, trans)| {
                let t: Vec<String> = trans
                    .into_iter()
                    .map(|(t, s)| format!("on {t} -> {s};"))
                    .collect();
                format!(
                    "state {n}{} {{ {} {} }}",
                    if init { " initial" } else { "" },
                    rules.join(" "),
                    t.join(" ")
                )
            }),
        (target(), prop::option::of(target())).prop_map(|(w, a)| match a {
            Some(a) => format!("assert never {w} after {a};"),
            None => format!("assert never {w};"),
        }),
        (target(), expr()).prop_map(|(w, e)| format!("assert always {w} within {e};")),
    ]
}

fn file_src() -> impl Strategy<Value = String> {
    let use_decl = prop_oneof![
        Just("use std::groups::*;".to_string()),
        Just("use std::paths::{secrets, tmp};".to_string()),
        Just("use std::net::https;".to_string()),
    ];
    (
        prop::collection::vec(use_decl, 0..2),
        prop::collection::vec((name(), expr()), 0..2),
        prop::collection::vec(
            (
                name(),
                prop::option::of(name()),
                prop::collection::vec(policy_item(), 0..5),
            ),
            0..3,
        ),
    )
        .prop_map(|(uses, lets, policies)| {
            let mut s = uses.join("\n");
            for (n, e) in lets {
                s.push_str(&format!("\nlet {n} = {e};"));
            }
            for (n, ext, items) in policies {
                let ext = ext.map(|e| format!(" extends {e}")).unwrap_or_default();
                s.push_str(&format!("\npolicy {n}{ext} {{\n  {}\n}}", items.join("\n  ")));
            }
            s
        })
}

/// Claw-like token soup: mostly real tokens, so the parser gets deep before failing.
fn token_soup() -> impl Strategy<Value = String> {
    let tok = prop::sample::select(vec![
        "policy",
        "p",
        "{",
        "}",
        "default",
        "deny",
        "(",
        ")",
        "EPERM",
        ";",
        "always",
        "allow",
        "read",
        "workspace",
        "state",
        "initial",
        "on",
        "->",
        "assert",
        "never",
        "after",
        "within",
        "let",
        "=",
        "path",
        "\"/a/**\"",
        "endpoint",
        "tcp",
        "\"*\"",
        "port",
        "443",
        "..",
        "[",
        "]",
        ",",
        "use",
        "std",
        "::",
        "*",
        "&",
        "|",
        "==",
        "-",
        "kill",
        "log",
        "extends",
        "syscalls",
        "socket",
        "family",
        "AF_INET",
        "\"",
        "/*",
        "*/",
        "//",
        "\n",
        "@",
        "0x",
        "99999999999999999999",
        "\\u{",
        "é",
        "\u{1F980}",
    ]);
    prop::collection::vec(tok, 0..80).prop_map(|v| v.join(" "))
}

fn check_does_not_panic(src: &str) {
    for arch in Arch::ALL {
        let mut sources = SourceMap::new();
        let file = sources.add("fuzz.claw", src);
        let checked = check_file(
            &mut sources,
            file,
            &Options {
                arch,
                require_policy: true,
            },
        );
        // Rendering touches every span: it must not panic either.
        let _ = claw_lang::diag::render(&checked.diagnostics, &sources, false);
        for d in &checked.diagnostics {
            assert!(d.span.end as usize <= src.len(), "span past the end: {d:?}");
            if d.span.file == file {
                assert!(
                    src.is_char_boundary(d.span.start as usize),
                    "span inside a character: {d:?}"
                );
                assert!(
                    src.is_char_boundary(d.span.end as usize),
                    "span inside a character: {d:?}"
                );
            }
            let _ = claw_lang::diag::JsonDiagnostic::new(d, &sources);
        }
    }
}

/// Formatting keeps the tree (when the text parses), formats to itself, and never
/// panics; text that does not lex is refused, never mangled.
fn assert_formats(src: &str) {
    let out = match format::format(src) {
        Ok(out) => out,
        Err(format::FormatError::Lex(_)) => return,
        Err(e) => panic!("{e}\n{src}"),
    };
    assert_eq!(
        format::format(&out).as_deref(),
        Ok(out.as_str()),
        "not idempotent:\n{out}"
    );
    let (before, d1) = parse(FileId(0), src);
    let (after, d2) = parse(FileId(0), &out);
    assert_eq!(
        d1.len(),
        d2.len(),
        "formatting changed the diagnostics:\n{src}\n---\n{out}"
    );
    if d1.is_empty() {
        assert_eq!(
            erase_spans(&before),
            erase_spans(&after),
            "formatting changed the tree:\n{out}"
        );
    }
}

/// A generated file with comments (and blank lines) put before some of its tokens.
fn commented_src() -> impl Strategy<Value = String> {
    let comment = "(// [a-z ]{0,8}\n|/\\* [a-z]{0,5} \\*/|\n\n)";
    (
        file_src(),
        prop::collection::vec((any::<prop::sample::Index>(), comment), 0..6),
    )
        .prop_map(|(src, comments)| {
            let (tokens, _) = claw_lang::lexer::lex(&src);
            let mut at: Vec<(usize, String)> = comments
                .into_iter()
                .filter(|_| !tokens.is_empty())
                .map(|(i, c)| (tokens[i.index(tokens.len())].0, c))
                .collect();
            at.sort_by_key(|a| std::cmp::Reverse(a.0));
            let mut out = src;
            for (i, c) in at {
                out.insert_str(i, &format!(" {c} "));
            }
            out
        })
}

proptest! {

    #[test]
    fn generated_files_format_keeping_tree_and_comments(src in commented_src()) {
        assert_formats(&src);
    }

    #[test]
    fn token_soup_formats_or_is_refused(src in token_soup()) {
        assert_formats(&src);
    }

    #[test]
    fn generated_files_round_trip(src in file_src()) {
        assert_round_trip(&src);
    }

    #[test]
    fn generated_files_check_without_panic(src in file_src()) {
        check_does_not_panic(&src);
    }

    #[test]
    fn token_soup_never_panics(src in token_soup()) {
        check_does_not_panic(&src);
    }

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        check_does_not_panic(&src);
    }

    #[test]
    fn mangled_profiles_never_panic(cut in 0usize..6000, len in 0usize..40, insert in "[{}();\"/*a-z ]{0,6}") {
        let src = claw_stdlib::modules::MODULES[3].2;
        let start = cut.min(src.len());
        let end = (start + len).min(src.len());
        if src.is_char_boundary(start) && src.is_char_boundary(end) {
            let mangled = format!("{}{}{}", &src[..start], insert, &src[end..]);
            check_does_not_panic(&mangled);
        }
    }
}
