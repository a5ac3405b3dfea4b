//! `clawc fmt`: canonical layout for Claw source, keeping every comment.
//!
//! The formatter works on the token stream, not the syntax tree (the tree has no
//! comments): one statement per line, four spaces per block level, one space
//! between tokens except where the language reads tighter (`std::paths`, `deny(EPERM)`,
//! `port 80..443`, `[a, b]`), at most one blank line where the author left some.
//! Line breaks the author put inside `[...]` or `(...)` are kept (long lists stay
//! wrapped, re-indented); elsewhere a statement is joined onto one line. A comment
//! stays where it was: after the code on its line, or on a line of its own.
//!
//! Nothing is lost: the result is re-lexed, and unless it has exactly the same
//! tokens and the same comments in the same order it is refused (a formatter bug,
//! never a changed policy).

use crate::lexer::{self, Tok};

/// Why a text was not formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The text does not lex (an unterminated string or comment, a stray
    /// character): formatting would have to guess. Byte offset of the first error.
    Lex(usize),
    /// The formatted text would not have the same tokens and comments (a bug in
    /// the formatter; the input is left as it is).
    NotPreserved,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Lex(at) => write!(f, "the text does not lex (at byte {at})"),
            FormatError::NotPreserved => {
                write!(
                    f,
                    "formatting would change the tokens or comments (a clawc bug: please report it)"
                )
            }
        }
    }
}

/// What the layout needs to know about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    OpenBrace,
    CloseBrace,
    OpenParen,
    OpenBracket,
    Close,
    Semi,
    Comma,
    Tight,
    Minus,
    Other,
}

fn kind(t: &Tok<'_>) -> Kind {
    match t {
        Tok::LBrace => Kind::OpenBrace,
        Tok::RBrace => Kind::CloseBrace,
        Tok::LParen => Kind::OpenParen,
        Tok::LBracket => Kind::OpenBracket,
        Tok::RParen | Tok::RBracket => Kind::Close,
        Tok::Semi => Kind::Semi,
        Tok::Comma | Tok::Colon => Kind::Comma,
        Tok::ColonColon | Tok::DotDot => Kind::Tight,
        Tok::Minus => Kind::Minus,
        Tok::Ident(_) => Kind::Word,
        t if !t.text().is_empty() && t.text().chars().all(|c| c.is_ascii_alphabetic()) => Kind::Word,
        _ => Kind::Other,
    }
}

/// A token or a comment, with how many line breaks preceded it in the source.
#[derive(Debug)]
enum Piece<'s> {
    Token { text: &'s str, kind: Kind },
    Comment { text: &'s str, line: bool },
}

struct Sourced<'s> {
    piece: Piece<'s>,
    breaks: usize,
    /// Spaces before it on its line (kept before a trailing line comment, so
    /// aligned comments stay aligned).
    spaces: usize,
}

/// Splits the text between two tokens (only blanks and comments) into comments,
/// each with the line breaks and spaces before it.
fn gap_comments<'s>(gap: &'s str, out: &mut Vec<Sourced<'s>>) -> (usize, usize) {
    let (mut breaks, mut spaces) = (0, 0);
    let mut rest = gap;
    loop {
        let blank = rest.len() - rest.trim_start().len();
        for c in rest[..blank].chars() {
            match c {
                '\n' => {
                    breaks += 1;
                    spaces = 0;
                }
                ' ' | '\t' => spaces += 1,
                _ => {}
            }
        }
        rest = &rest[blank..];
        let len = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if let Some(after) = rest.strip_prefix("/*") {
            // The lexer accepted the text, so the comment closes.
            2 + lexer::block_comment_rest(after).unwrap_or(after.len())
        } else {
            return (breaks, spaces);
        };
        let line = rest.starts_with("//");
        out.push(Sourced {
            piece: Piece::Comment {
                text: rest[..len].trim_end(),
                line,
            },
            breaks,
            spaces,
        });
        (breaks, spaces) = (0, 0);
        rest = &rest[len..];
    }
}

/// The tokens and comments of `src`, in order.
fn pieces(src: &str) -> Result<Vec<Sourced<'_>>, FormatError> {
    let (tokens, errors) = lexer::lex(src);
    if let Some(e) = errors.first() {
        return Err(FormatError::Lex(e.start));
    }
    let mut out = Vec::new();
    let mut at = 0;
    for (start, tok, end) in &tokens {
        let (breaks, spaces) = gap_comments(&src[at..*start], &mut out);
        out.push(Sourced {
            piece: Piece::Token {
                text: &src[*start..*end],
                kind: kind(tok),
            },
            breaks,
            spaces,
        });
        at = *end;
    }
    gap_comments(&src[at..], &mut out);
    Ok(out)
}

/// Is there no space between these two tokens on a line?
fn tight(a: Kind, b: Kind) -> bool {
    matches!(b, Kind::Semi | Kind::Comma | Kind::Close | Kind::Tight)
        || matches!(a, Kind::OpenParen | Kind::OpenBracket | Kind::Tight | Kind::Minus)
        || (b == Kind::OpenParen && a == Kind::Word)
}

/// Formats Claw source text.
pub fn format(src: &str) -> Result<String, FormatError> {
    let pieces = pieces(src)?;
    let mut out = String::new();
    let (mut depth, mut nesting) = (0usize, 0usize);
    // What the previous piece asks of the next: a new line, or nothing.
    let mut must_break = false;
    let mut prev: Option<Kind> = None;
    // Where each open `use` list's braces are (block depth, nesting inside it).
    let mut lists: Vec<(usize, usize)> = Vec::new();
    let newline = |out: &mut String, blank: bool, indent: usize| {
        while out.ends_with(' ') {
            out.pop();
        }
        if out.is_empty() {
            return;
        }
        out.push('\n');
        if blank {
            out.push('\n');
        }
        out.push_str(&"    ".repeat(indent));
    };
    for s in &pieces {
        let after_open = prev == Some(Kind::OpenBrace);
        match s.piece {
            Piece::Comment { text, line } => {
                if s.breaks == 0 && !out.is_empty() && !must_break {
                    while out.ends_with(' ') {
                        out.pop();
                    }
                    let gap = if line { s.spaces.max(1) } else { 1 };
                    out.push_str(&" ".repeat(gap));
                } else {
                    newline(&mut out, s.breaks >= 2 && !after_open, depth + nesting);
                }
                out.push_str(text);
                must_break = line;
                if !line {
                    out.push(' ');
                }
            }
            Piece::Token { text, kind } => {
                // `use m::{a, b}`: braces after `::` hold a list, not a block.
                let kind = match kind {
                    Kind::OpenBrace if prev == Some(Kind::Tight) => Kind::OpenBracket,
                    Kind::CloseBrace if lists.last() == Some(&(depth, nesting)) => Kind::Close,
                    k => k,
                };
                if kind == Kind::OpenBracket && text == "{" {
                    lists.push((depth, nesting + 1));
                } else if kind == Kind::Close && text == "}" {
                    lists.pop();
                }
                let indent = match kind {
                    Kind::CloseBrace => depth.saturating_sub(1) + nesting,
                    Kind::Close => depth + nesting.saturating_sub(1),
                    _ => depth + nesting,
                };
                let breaks = must_break
                    || kind == Kind::CloseBrace
                    || matches!(prev, Some(Kind::OpenBrace | Kind::CloseBrace))
                    || (prev == Some(Kind::Semi) && nesting == 0)
                    || (nesting > 0 && s.breaks > 0);
                if breaks {
                    let blank = s.breaks >= 2 && !after_open && kind != Kind::CloseBrace;
                    newline(&mut out, blank, indent);
                } else if let Some(p) = prev {
                    if !out.ends_with(' ') && !tight(p, kind) {
                        out.push(' ');
                    } else if out.ends_with(' ') && tight(p, kind) {
                        out.pop();
                    }
                }
                out.push_str(text);
                must_break = false;
                match kind {
                    Kind::OpenBrace => depth += 1,
                    Kind::CloseBrace => depth = depth.saturating_sub(1),
                    Kind::OpenParen | Kind::OpenBracket => nesting += 1,
                    Kind::Close => nesting = nesting.saturating_sub(1),
                    _ => {}
                }
                prev = Some(kind);
            }
        }
    }
    while out.ends_with(' ') || out.ends_with('\n') {
        out.pop();
    }
    if !out.is_empty() {
        out.push('\n');
    }
    if !same_content(src, &out) {
        return Err(FormatError::NotPreserved);
    }
    Ok(out)
}

/// The same tokens and comments, in the same order.
fn same_content(a: &str, b: &str) -> bool {
    let key = |s: &str| -> Option<Vec<String>> {
        let p = pieces(s).ok()?;
        Some(
            p.iter()
                .map(|s| match s.piece {
                    Piece::Token { text, .. } => format!("t{text}"),
                    Piece::Comment { text, .. } => format!("c{text}"),
                })
                .collect(),
        )
    };
    matches!((key(a), key(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str) -> String {
        format(s).unwrap()
    }

    #[test]
    fn lays_out_statements_blocks_and_tight_tokens() {
        let src = "use   std::groups::* ;use std::net::{ https ,dns };policy p extends q{default deny ( EPERM ) ;always{allow read [ a,b ] ;\
                   deny(EACCES) ioctl( cmd==TIOCSTI );allow connect tcp port 80 .. 443;}\
                   state s initial{on read x->t;}state t{}assert never connect after read x;}";
        let want = "\
use std::groups::*;
use std::net::{https, dns};
policy p extends q {
    default deny(EPERM);
    always {
        allow read [a, b];
        deny(EACCES) ioctl(cmd == TIOCSTI);
        allow connect tcp port 80..443;
    }
    state s initial {
        on read x -> t;
    }
    state t {
    }
    assert never connect after read x;
}
";
        assert_eq!(fmt(src), want);
        assert_eq!(fmt(want), want, "formatting is idempotent");
    }

    #[test]
    fn keeps_comments_blank_lines_and_wrapped_lists() {
        let src = "\
// header

let a = path [
  \"/x\", \"/y\",   // trailing
      \"/z\",
];


/* block
   comment */ let b = path \"/**\";   // aligned
policy p {
    default deny(EPERM);


    always { allow read a; /* inline */ allow write b; }
}
";
        let want = "\
// header

let a = path [
    \"/x\", \"/y\",   // trailing
    \"/z\",
];

/* block
   comment */
let b = path \"/**\";   // aligned
policy p {
    default deny(EPERM);

    always {
        allow read a; /* inline */
        allow write b;
    }
}
";
        assert_eq!(fmt(src), want);
        assert_eq!(fmt(want), want);
    }

    #[test]
    fn negative_numbers_and_masks_read_as_written() {
        let out = fmt("policy p { default allow; always { deny ioctl(cmd & 0xff == -1); } }");
        assert!(out.contains("deny ioctl(cmd & 0xff == -1);"), "{out}");
    }

    #[test]
    fn text_that_does_not_lex_is_refused() {
        assert_eq!(format("let a = path \"unterminated;"), Err(FormatError::Lex(13)));
        assert!(matches!(format("policy p { /* open"), Err(FormatError::Lex(_))));
        assert_eq!(format("").unwrap(), "");
    }

    #[test]
    fn the_standard_library_and_examples_are_formatted() {
        let examples = ["coding_agent", "offline_analysis", "readonly_reviewer"].map(|n| {
            let path = format!("{}/../examples/{n}.claw", env!("CARGO_MANIFEST_DIR"));
            (
                n,
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
            )
        });
        let stdlib = claw_stdlib::modules::MODULES
            .iter()
            .map(|&(m, _, src)| (m, src.to_string()));
        for (name, text) in stdlib.chain(examples) {
            let text = text.as_str();
            let out = format(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out, text, "{name} is not laid out as `clawc fmt` would");
        }
    }
}
