//! Findings: what a parser or linter has to say about a place in a file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is wrong: the setting is refused or the line means nothing.
    Error,
    /// Accepted, but probably not what was meant (no effect, overridden, rounded).
    Warning,
    /// For information: a line that ubond ignores, a default that applies.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// A place in a source file: 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// The file's path as given to the parser.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Span {
    /// A span at `line`:`column` of `file`.
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Span {
        Span { file: file.into(), line, column }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One diagnostic: where, how serious, what, and (when there is one) the replacement text
/// that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The file's path as given to the parser.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// How serious.
    pub severity: Severity,
    /// What is wrong, in one line.
    pub message: String,
    /// The text that should replace the word at this place (a did-you-mean), or a line to
    /// add, when there is an obvious fix.
    pub fix: Option<String>,
}

impl Finding {
    /// A finding at `span`.
    pub fn new(span: &Span, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            file: span.file.clone(),
            line: span.line,
            column: span.column,
            severity,
            message: message.into(),
            fix: None,
        }
    }

    /// An error at `span`.
    pub fn error(span: &Span, message: impl Into<String>) -> Finding {
        Finding::new(span, Severity::Error, message)
    }

    /// A warning at `span`.
    pub fn warning(span: &Span, message: impl Into<String>) -> Finding {
        Finding::new(span, Severity::Warning, message)
    }

    /// An info at `span`.
    pub fn info(span: &Span, message: impl Into<String>) -> Finding {
        Finding::new(span, Severity::Info, message)
    }

    /// The same finding with a fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }

    /// Where the finding is.
    pub fn span(&self) -> Span {
        Span::new(self.file.clone(), self.line, self.column)
    }
}

impl fmt::Display for Finding {
    /// `FILE:LINE:COL: error: unknown option 'miimmon' (did you mean 'miimon'?)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.message
        )
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
