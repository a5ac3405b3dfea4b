//! The Claw lexer, built with `logos`. Lexical errors never stop lexing: each one
//! becomes a [`Tok::Error`] for the parser (which recovers past it) and a recorded
//! [`LexError`] that is reported once, with its own code.

use logos::{Lexer as LogosLexer, Logos};
use std::fmt;

/// What went wrong while lexing one token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LexErrorKind {
    /// A character no token starts with.
    #[default]
    UnexpectedChar,
    /// A string literal without its closing quote.
    UnterminatedString,
    /// A `/*` comment without its `*/`.
    UnterminatedComment,
    /// An unknown escape; the offset is relative to the start of the string token.
    InvalidEscape(u32),
    /// An integer literal larger than `u64::MAX`.
    IntOverflow,
}

/// A lexical error with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What went wrong.
    pub kind: LexErrorKind,
    /// The first byte of the offending text.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// One token. Keywords that are also syscall names (`kill`) are accepted as names
/// by the grammar wherever a name may stand.
#[derive(Logos, Debug, Clone, PartialEq, Eq)]
#[logos(error = LexErrorKind)]
#[logos(extras = Vec<LexError>)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Tok<'s> {
    /// A `/* … */` comment (nested comments allowed); skipped by the parser.
    #[token("/*", block_comment)]
    BlockComment,

    /// The keyword `use`.
    #[token("use")]
    Use,
    /// The keyword `policy`.
    #[token("policy")]
    Policy,
    /// The keyword `extends`.
    #[token("extends")]
    Extends,
    /// The keyword `let`.
    #[token("let")]
    Let,
    /// The keyword `path`.
    #[token("path")]
    Path,
    /// The keyword `endpoint`.
    #[token("endpoint")]
    Endpoint,
    /// The keyword `syscalls`.
    #[token("syscalls")]
    Syscalls,
    /// The keyword `port`.
    #[token("port")]
    Port,
    /// The keyword `default`.
    #[token("default")]
    Default,
    /// The keyword `always`.
    #[token("always")]
    Always,
    /// The keyword `state`.
    #[token("state")]
    State,
    /// The keyword `initial`.
    #[token("initial")]
    Initial,
    /// The keyword `on`.
    #[token("on")]
    On,
    /// The keyword `assert`.
    #[token("assert")]
    Assert,
    /// The keyword `never`.
    #[token("never")]
    Never,
    /// The keyword `after`.
    #[token("after")]
    After,
    /// The keyword `within`.
    #[token("within")]
    Within,
    /// The keyword `allow`.
    #[token("allow")]
    Allow,
    /// The keyword `deny`.
    #[token("deny")]
    Deny,
    /// The keyword `kill`.
    #[token("kill")]
    Kill,
    /// The keyword `log`.
    #[token("log")]
    Log,

    /// A name: identifier, keyword-like syscall name or path variable part.
    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'s str),
    /// An integer (decimal, `0x`, `0o` or `0b`, `_` separators allowed).
    #[regex(r"[0-9][0-9_]*|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+", parse_int)]
    Int(u64),
    /// A string literal, escapes decoded.
    #[token("\"", lex_string)]
    Str(String),

    /// `::`
    #[token("::")]
    ColonColon,
    /// `:`
    #[token(":")]
    Colon,
    /// `->`
    #[token("->")]
    Arrow,
    /// `..`
    #[token("..")]
    DotDot,
    /// `==`
    #[token("==")]
    EqEq,
    /// `!=`
    #[token("!=")]
    NotEq,
    /// `<=`
    #[token("<=")]
    Le,
    /// `>=`
    #[token(">=")]
    Ge,
    /// `<`
    #[token("<")]
    Lt,
    /// `>`
    #[token(">")]
    Gt,
    /// `=`
    #[token("=")]
    Eq,
    /// `&`
    #[token("&")]
    Amp,
    /// `|`
    #[token("|")]
    Pipe,
    /// `-`
    #[token("-")]
    Minus,
    /// `*`
    #[token("*")]
    Star,
    /// `,`
    #[token(",")]
    Comma,
    /// `;`
    #[token(";")]
    Semi,
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// `[`
    #[token("[")]
    LBracket,
    /// `]`
    #[token("]")]
    RBracket,

    /// Stands in for a lexical error so that parsing can go on.
    Error,
}

fn block_comment<'s>(lex: &mut LogosLexer<'s, Tok<'s>>) -> logos::FilterResult<(), LexErrorKind> {
    let rest = lex.remainder();
    match block_comment_rest(rest) {
        Some(len) => {
            lex.bump(len);
            logos::FilterResult::Skip
        }
        None => {
            lex.bump(rest.len());
            logos::FilterResult::Error(LexErrorKind::UnterminatedComment)
        }
    }
}

/// How much of `rest` (the text after a `/*`) the comment still takes, up to and
/// including its closing `*/` (comments nest); `None` if it never closes.
pub(crate) fn block_comment_rest(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn parse_int<'s>(lex: &mut LogosLexer<'s, Tok<'s>>) -> Result<u64, LexErrorKind> {
    let s: String = lex.slice().chars().filter(|&c| c != '_').collect();
    let (digits, radix) = match s.get(..2) {
        Some("0x" | "0X") => (&s[2..], 16),
        Some("0o" | "0O") => (&s[2..], 8),
        Some("0b" | "0B") => (&s[2..], 2),
        _ => (&s[..], 10),
    };
    if digits.is_empty() {
        return Err(LexErrorKind::UnexpectedChar);
    }
    u64::from_str_radix(digits, radix).map_err(|_| LexErrorKind::IntOverflow)
}

fn lex_string<'s>(lex: &mut LogosLexer<'s, Tok<'s>>) -> Result<String, LexErrorKind> {
    let rest = lex.remainder();
    let start = lex.span().start;
    let mut out = String::new();
    let mut bad_escape: Option<u32> = None;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                // A bad escape is reported, but the string still stands so that the
                // binding it belongs to is not lost (no follow-on "unknown name").
                if let Some(at) = bad_escape {
                    let end = start + i + 2;
                    lex.extras.push(LexError {
                        kind: LexErrorKind::InvalidEscape(at),
                        start,
                        end,
                    });
                }
                return Ok(out);
            }
            '\n' => break,
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'u' => {
                        let tail = &rest[j + 1..];
                        let decoded = tail
                            .strip_prefix('{')
                            .and_then(|t| t.split_once('}'))
                            .filter(|(hex, _)| !hex.is_empty() && hex.len() <= 6)
                            .and_then(|(hex, _)| u32::from_str_radix(hex, 16).ok().map(|v| (v, hex.len())))
                            .and_then(|(v, n)| char::from_u32(v).map(|c| (c, n)));
                        match decoded {
                            Some((ch, n)) => {
                                out.push(ch);
                                // skip `{`, the hex digits and `}`
                                for _ in 0..n + 2 {
                                    chars.next();
                                }
                            }
                            None => {
                                bad_escape.get_or_insert(i as u32 + 1);
                                out.push_str("\\u");
                            }
                        }
                    }
                    '\n' => break,
                    other => {
                        bad_escape.get_or_insert(i as u32 + 1);
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c => out.push(c),
        }
    }
    // Unterminated: consume to the end of the line so lexing resumes on the next one.
    let line_end = rest.find('\n').unwrap_or(rest.len());
    lex.bump(line_end);
    Err(LexErrorKind::UnterminatedString)
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Ident(s) => return write!(f, "identifier `{s}`"),
            Tok::Int(n) => return write!(f, "number `{n}`"),
            Tok::Str(_) => "string",
            Tok::Error => "invalid token",
            Tok::BlockComment => "comment",
            other => return write!(f, "`{}`", other.text()),
        };
        f.write_str(s)
    }
}

impl Tok<'_> {
    /// The fixed spelling of keyword and punctuation tokens.
    pub fn text(&self) -> &'static str {
        match self {
            Tok::Use => "use",
            Tok::Policy => "policy",
            Tok::Extends => "extends",
            Tok::Let => "let",
            Tok::Path => "path",
            Tok::Endpoint => "endpoint",
            Tok::Syscalls => "syscalls",
            Tok::Port => "port",
            Tok::Default => "default",
            Tok::Always => "always",
            Tok::State => "state",
            Tok::Initial => "initial",
            Tok::On => "on",
            Tok::Assert => "assert",
            Tok::Never => "never",
            Tok::After => "after",
            Tok::Within => "within",
            Tok::Allow => "allow",
            Tok::Deny => "deny",
            Tok::Kill => "kill",
            Tok::Log => "log",
            Tok::ColonColon => "::",
            Tok::Colon => ":",
            Tok::Arrow => "->",
            Tok::DotDot => "..",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Eq => "=",
            Tok::Amp => "&",
            Tok::Pipe => "|",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Ident(_) | Tok::Int(_) | Tok::Str(_) | Tok::Error | Tok::BlockComment => "",
        }
    }
}

/// Every keyword, for completion and for telling users a name is reserved.
pub const KEYWORDS: &[&str] = &[
    "use", "policy", "extends", "let", "path", "endpoint", "syscalls", "port", "default", "always", "state",
    "initial", "on", "assert", "never", "after", "within", "allow", "deny", "kill", "log",
];

/// Lexes a whole text into `(start, token, end)` triples, collecting errors aside.
pub fn lex(src: &str) -> (Vec<(usize, Tok<'_>, usize)>, Vec<LexError>) {
    let mut toks = Vec::new();
    let mut errors = Vec::new();
    let mut lexer = Tok::lexer(src);
    while let Some(res) = lexer.next() {
        let span = lexer.span();
        match res {
            Ok(Tok::BlockComment) => {}
            Ok(tok) => toks.push((span.start, tok, span.end)),
            Err(kind) => {
                errors.push(LexError {
                    kind,
                    start: span.start,
                    end: span.end,
                });
                toks.push((span.start, Tok::Error, span.end));
            }
        }
    }
    errors.append(&mut lexer.extras);
    errors.sort_by_key(|e| e.start);
    (toks, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        lex(src).0.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn keywords_idents_and_numbers() {
        assert_eq!(
            kinds("allow read 0x1_0 0o17 0b11 42 foo_bar"),
            vec![
                Tok::Allow,
                Tok::Ident("read"),
                Tok::Int(16),
                Tok::Int(15),
                Tok::Int(3),
                Tok::Int(42),
                Tok::Ident("foo_bar")
            ]
        );
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            kinds(r#""a\"b\n\u{263A}""#),
            vec![Tok::Str("a\"b\n\u{263A}".into())]
        );
        let (toks, errs) = lex(r#""bad \q escape" ok"#);
        assert_eq!(errs[0].kind, LexErrorKind::InvalidEscape(5));
        assert_eq!(
            toks[0].1,
            Tok::Str(r"bad \q escape".into()),
            "the string survives"
        );
        assert_eq!(toks.last().unwrap().1, Tok::Ident("ok"));
    }

    #[test]
    fn comments_nest_and_unterminated_things_are_errors() {
        assert_eq!(
            kinds("/* a /* b */ c */ x // y\nz"),
            vec![Tok::Ident("x"), Tok::Ident("z")]
        );
        assert_eq!(lex("/* open").1[0].kind, LexErrorKind::UnterminatedComment);
        let (toks, errs) = lex("\"abc\nnext");
        assert_eq!(errs[0].kind, LexErrorKind::UnterminatedString);
        assert_eq!(toks.last().unwrap().1, Tok::Ident("next"));
    }

    #[test]
    fn overflow_and_stray_chars() {
        assert_eq!(
            lex("99999999999999999999999").1[0].kind,
            LexErrorKind::IntOverflow
        );
        assert_eq!(lex("a # b").1[0].kind, LexErrorKind::UnexpectedChar);
    }

    #[test]
    fn punctuation() {
        let toks = kinds(":: -> .. == != <= >= < > = & | - * , ; ( ) { } [ ]");
        let texts: Vec<&str> = toks.iter().map(|t| t.text()).collect();
        assert_eq!(
            texts.join(" "),
            ":: -> .. == != <= >= < > = & | - * , ; ( ) { } [ ]"
        );
        assert_eq!(kinds("1..2"), vec![Tok::Int(1), Tok::DotDot, Tok::Int(2)]);
    }
}
