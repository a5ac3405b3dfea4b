//! Runs the lexer and the LALRPOP parser over one file and turns every lexical and
//! syntax error into a [`Diagnostic`]. Parsing never stops at the first error.

use crate::ast;
use crate::diag::Diagnostic;
use crate::lexer::{self, LexError, LexErrorKind, Tok};
use crate::span::{FileId, Span};
use lalrpop_util::{lalrpop_mod, ParseError};

lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens)]
    grammar
);

/// Parses `src` (the text of `file`). Always returns a tree, possibly partial.
pub fn parse(file: FileId, src: &str) -> (ast::File, Vec<Diagnostic>) {
    let (tokens, lex_errors) = lexer::lex(src);
    let mut diags: Vec<Diagnostic> = lex_errors.iter().map(|e| lex_diag(file, src, e)).collect();
    // Every later stage (the checker, the formatter, dropping the tree) walks the
    // tree recursively: a nesting deeper than any policy needs is refused here,
    // before a tree exists, so that no input can overflow the stack.
    if let Some(at) = too_deep(&tokens) {
        diags.push(
            Diagnostic::error(
                "E0012",
                Span::new(file, at.0, at.1),
                format!("brackets nested more than {MAX_NESTING} deep"),
            )
            .with_label(format!("this bracket opens level {}", MAX_NESTING + 1))
            .with_hint("flatten the list: name the inner lists with `let`"),
        );
        return (ast::File { items: Vec::new() }, diags);
    }
    let mut recovered = Vec::new();
    let result =
        grammar::FileParser::new().parse(file, &mut recovered, tokens.into_iter().map(Ok::<_, LexError>));
    let end = src.len();
    for r in recovered {
        if let Some(d) = parse_diag(file, r.error, end) {
            diags.push(d);
        }
    }
    let tree = match result {
        Ok(tree) => tree,
        Err(e) => {
            if let Some(d) = parse_diag(file, e, end) {
                diags.push(d);
            }
            ast::File { items: Vec::new() }
        }
    };
    // Recovery can report the same spot twice; keep the first.
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.span.start)));
    (tree, diags)
}

/// The deepest nesting of `(`, `[` and `{` the parser accepts.
pub const MAX_NESTING: usize = 256;

/// The span of the first bracket that opens a level beyond [`MAX_NESTING`].
fn too_deep(tokens: &[(usize, Tok<'_>, usize)]) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for (l, t, r) in tokens {
        match t {
            Tok::LParen | Tok::LBracket | Tok::LBrace => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((*l, *r));
                }
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn lex_diag(file: FileId, src: &str, e: &LexError) -> Diagnostic {
    let span = Span::new(file, e.start, e.end);
    match e.kind {
        LexErrorKind::UnexpectedChar => Diagnostic::error("E0001", span, "unexpected character")
            .with_label("not part of the Claw language")
            .with_hint(
                "names are letters, digits and `_`; strings go in double quotes; comments start with `//`",
            ),
        LexErrorKind::UnterminatedString => Diagnostic::error("E0002", span, "unterminated string literal")
            .with_label("this string is never closed")
            .with_hint("add the closing `\"` on the same line"),
        LexErrorKind::InvalidEscape(at) => {
            let at = e.start + at as usize;
            // The backslash plus the whole character after it (which may be multi-byte).
            let next = src
                .get(at + 1..)
                .and_then(|r| r.chars().next())
                .map_or(0, char::len_utf8);
            Diagnostic::error(
                "E0003",
                Span::new(file, at, at + 1 + next),
                "unknown escape sequence",
            )
            .with_label("not a valid escape")
            .with_hint(r#"valid escapes are \n \t \r \0 \\ \" and \u{HEX}"#)
        }
        LexErrorKind::IntOverflow => Diagnostic::error("E0004", span, "integer literal too large")
            .with_label("does not fit in 64 bits")
            .with_hint("syscall arguments are at most 64 bits wide"),
        LexErrorKind::UnterminatedComment => Diagnostic::error(
            "E0005",
            Span::new(file, e.start, e.start + 2),
            "unterminated block comment",
        )
        .with_label("this comment is never closed")
        .with_hint("close it with `*/` (block comments nest)"),
    }
}

fn describe_expected(expected: &[String]) -> String {
    // `kill` and `log` are accepted wherever a name is; listing them apart is noise.
    let has_name = expected.iter().any(|e| e == "IDENT");
    let mut names: Vec<String> = expected
        .iter()
        .filter(|e| !(has_name && (e.as_str() == "\"kill\"" || e.as_str() == "\"log\"")))
        .map(|e| match e.as_str() {
            "IDENT" => "a name".to_string(),
            "INT" => "a number".to_string(),
            "STR" => "a string".to_string(),
            "INVALID" => String::new(),
            q => format!("`{}`", q.trim_matches('"')),
        })
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    names.dedup();
    match names.len() {
        0 => "nothing more here".to_string(),
        1 => names.remove(0),
        n if n <= 8 => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {last}", names.join(", "))
        }
        _ => format!("one of {} (and {} more)", names[..8].join(", "), names.len() - 8),
    }
}

fn parse_diag(file: FileId, e: ParseError<usize, Tok<'_>, LexError>, eof: usize) -> Option<Diagnostic> {
    Some(match e {
        ParseError::UnrecognizedToken {
            token: (_, Tok::Error, _),
            ..
        }
        | ParseError::User { .. } => return None,
        ParseError::InvalidToken { location } => {
            Diagnostic::error("E0010", Span::new(file, location, location + 1), "invalid token")
                .with_label("here")
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let at = location.min(eof);
            Diagnostic::error("E0011", Span::new(file, at, at), "unexpected end of file")
                .with_label(format!("expected {}", describe_expected(&expected)))
                .with_hint("a `{` may be missing its `}`, or a statement its `;`")
        }
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let exp = describe_expected(&expected);
            let hint = if expected.iter().any(|e| e == "\";\"") {
                "statements end with `;`".to_string()
            } else if expected.iter().any(|e| e == "\"allow\"") {
                "rules start with an action: `allow`, `deny`, `deny(ERRNO)`, `kill` or `log`".to_string()
            } else if expected.iter().any(|e| e == "IDENT") {
                "rules name syscalls (`allow getpid;`) or verbs and an object (`allow read workspace;`); transitions read `on read secrets -> tainted;`".to_string()
            } else {
                format!("expected {exp}")
            };
            Diagnostic::error("E0010", Span::new(file, l, r), format!("unexpected {tok}"))
                .with_label(format!("expected {exp}"))
                .with_hint(hint)
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error("E0010", Span::new(file, l, r), format!("unexpected {tok}"))
                .with_label("nothing should follow here")
        }
    })
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    /// 20,000 nested lists: one diagnostic, no stack overflow (in a thread with a
    /// small stack, as the language server's workers have).
    #[test]
    fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
        let src = format!(
            "let x = {}a{};\npolicy p {{ default allow; }}\n",
            "[".repeat(20_000),
            "]".repeat(20_000)
        );
        let diags = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse(FileId(0), &src).1)
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(diags.iter().any(|d| d.code == "E0012"), "{diags:?}");
        let ok = format!(
            "let x = {}a{};\n",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert!(parse(FileId(0), &ok).1.iter().all(|d| d.code != "E0012"));
    }
}
