//! Diagnostics: a stable code, a message, a primary span, secondary labels and a
//! fix hint. Rendered for humans with `ariadne` and for tools as JSON.

use crate::span::{SourceMap, Span};
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy cannot be compiled.
    Error,
    /// Compiles, but probably not what was meant.
    Warning,
}

/// A secondary location with a short explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What it shows there.
    pub message: String,
}

/// One finding about a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code (`E0101`); see [`CODES`].
    pub code: &'static str,
    /// The one-line message.
    pub message: String,
    /// The text it is about.
    pub span: Span,
    /// What the primary span shows, in a few words.
    pub label: String,
    /// Other places involved.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Further facts, such as a counterexample trace.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error with `code` at `span`.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            labels: Vec::new(),
            hint: None,
            notes: Vec::new(),
        }
    }

    /// A warning with `code` at `span`.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Sets what the primary span shows.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Adds a secondary location.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the fix hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Is it an error?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every diagnostic code with a one-line summary, the reference for docs and tests.
pub const CODES: &[(&str, &str)] = &[
    ("E0001", "unexpected character"),
    ("E0002", "unterminated string literal"),
    ("E0003", "unknown escape sequence in a string"),
    ("E0004", "integer literal too large"),
    ("E0005", "unterminated block comment"),
    ("E0010", "syntax error: unexpected token"),
    ("E0011", "syntax error: unexpected end of file"),
    ("E0012", "brackets nested too deep"),
    ("E0101", "unknown name"),
    ("E0102", "unknown module"),
    ("E0103", "name not found in module"),
    ("E0104", "name defined twice"),
    ("E0105", "unknown syscall"),
    ("E0106", "unknown errno"),
    ("E0107", "unknown constant"),
    ("E0108", "definition refers to itself"),
    ("E0109", "unknown parent policy"),
    ("E0110", "policy inherits from itself"),
    ("E0201", "verb applied to the wrong kind of entity"),
    ("E0202", "expected syscalls, found an entity"),
    ("E0203", "unknown verb"),
    (
        "E0204",
        "argument condition on an argument the syscall does not have",
    ),
    ("E0205", "argument conditions on a syscall group"),
    ("E0206", "argument condition on a pointer argument"),
    ("E0207", "argument conditions that can never be true"),
    ("E0208", "value does not fit the argument"),
    ("E0209", "invalid port or port range"),
    ("E0210", "invalid network address"),
    ("E0211", "invalid path pattern"),
    ("E0212", "path pattern that can never match"),
    ("E0213", "unknown variable in a path"),
    ("E0214", "list mixes different kinds of entity"),
    ("E0215", "errno out of range"),
    ("E0216", "same rule given different errnos"),
    ("E0217", "expected an entity, found syscalls"),
    ("E0218", "endpoint option does not apply to this protocol"),
    ("E0219", "unknown protocol"),
    ("E0301", "no initial state"),
    ("E0302", "several initial states"),
    ("E0303", "state defined twice"),
    ("E0304", "transition to an unknown state"),
    ("E0305", "unreachable state"),
    ("E0306", "`default` given twice"),
    ("E0307", "policy has no `default`"),
    ("E0308", "policy defined twice"),
    ("E0309", "file defines no policy"),
    ("W0001", "unused binding"),
    ("W0002", "unused import"),
    ("W0003", "syscall absent on the target architecture"),
    ("W0004", "transition to the state it leaves"),
    (
        "W0005",
        "denies with different errnos that may match the same request",
    ),
    (
        "W0006",
        "a named assertion replaces an inherited one (what it widens)",
    ),
    ("E0401", "property does not hold"),
    ("E0402", "verification inconclusive (timeout or unknown)"),
    ("E0403", "compiled filter does not implement the policy"),
    ("W0401", "rule never decides anything"),
    ("W0402", "rule has no effect"),
    ("W0403", "transition can never fire"),
    ("W0404", "state is never entered"),
];

/// Renders diagnostics for a terminal (or plain text when `color` is false).
pub fn render(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    use ariadne::{Color, Config, Label as ALabel, Report, ReportKind};
    let mut out = Vec::new();
    let mut cache = ariadne::sources(
        sources
            .files()
            .map(|(_, f)| (f.name.clone(), f.text.clone()))
            .collect::<Vec<_>>(),
    );
    // Spans always fall on character boundaries; snapping them anyway means a bug
    // elsewhere degrades a caret instead of panicking inside the renderer.
    let snap = |span: Span| -> std::ops::Range<usize> {
        let text = &sources.get(span.file).text;
        let fix = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let (start, end) = (fix(span.start as usize), fix(span.end as usize));
        start..end.max(start)
    };
    for d in diags {
        let file = sources.get(d.span.file).name.clone();
        let kind = match d.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let primary = if d.is_error() { Color::Red } else { Color::Yellow };
        let mut report = Report::build(kind, (file.clone(), snap(d.span)))
            .with_config(
                Config::default()
                    .with_color(color)
                    .with_index_type(ariadne::IndexType::Byte),
            )
            .with_code(d.code)
            .with_message(&d.message)
            .with_label(
                ALabel::new((file, snap(d.span)))
                    .with_message(&d.label)
                    .with_color(primary),
            );
        for l in &d.labels {
            let f = sources.get(l.span.file).name.clone();
            report = report.with_label(
                ALabel::new((f, snap(l.span)))
                    .with_message(&l.message)
                    .with_color(Color::Blue),
            );
        }
        for n in &d.notes {
            report = report.with_note(n);
        }
        if let Some(h) = &d.hint {
            report = report.with_help(h);
        }
        // Writing into a Vec cannot fail.
        let _ = report.finish().write(&mut cache, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A diagnostic flattened for JSON output: 1-based lines and columns plus byte offsets.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// `error` or `warning`.
    pub severity: Severity,
    /// The stable code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The file's display name.
    pub file: String,
    /// The primary span.
    pub span: JsonSpan,
    /// What the primary span shows.
    pub label: String,
    /// Secondary locations.
    pub labels: Vec<JsonLabel>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Further facts.
    pub notes: Vec<String>,
}

/// A span as byte offsets and 1-based line/column positions.
#[derive(Debug, Serialize)]
pub struct JsonSpan {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start (in characters).
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end.
    pub end_column: usize,
}

/// A secondary label for JSON output.
#[derive(Debug, Serialize)]
pub struct JsonLabel {
    /// The file's display name.
    pub file: String,
    /// Where.
    pub span: JsonSpan,
    /// What it shows there.
    pub message: String,
}

fn json_span(sources: &SourceMap, span: Span) -> JsonSpan {
    let f = sources.get(span.file);
    let (line, column) = f.line_col(span.start as usize);
    let (end_line, end_column) = f.line_col(span.end as usize);
    JsonSpan {
        start: span.start,
        end: span.end,
        line: line + 1,
        column: column + 1,
        end_line: end_line + 1,
        end_column: end_column + 1,
    }
}

impl JsonDiagnostic {
    /// Flattens `d`, resolving its spans in `sources`.
    pub fn new(d: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
        JsonDiagnostic {
            severity: d.severity,
            code: d.code,
            message: d.message.clone(),
            file: sources.get(d.span.file).name.clone(),
            span: json_span(sources, d.span),
            label: d.label.clone(),
            labels: d
                .labels
                .iter()
                .map(|l| JsonLabel {
                    file: sources.get(l.span.file).name.clone(),
                    span: json_span(sources, l.span),
                    message: l.message.clone(),
                })
                .collect(),
            hint: d.hint.clone(),
            notes: d.notes.clone(),
        }
    }
}

/// The closest candidate to `name`, for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
