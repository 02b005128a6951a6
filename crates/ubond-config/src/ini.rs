//! INI-style files (systemd units, NetworkManager keyfiles): sections and `Key=Value` lines
//! with their places.

use crate::finding::{Finding, Span};
use crate::model::SourceFile;
use crate::text::{logical_lines, PosText};

#[derive(Clone)]
pub(crate) struct Entry {
    pub section: String,
    /// Which section of that name (0 for the first `[Route]`, 1 for the second...).
    pub index: usize,
    pub key: String,
    pub key_span: Span,
    pub value: String,
    pub value_span: Span,
}

pub(crate) struct Unit {
    pub path: String,
    pub entries: Vec<Entry>,
}

impl Unit {
    pub fn last(&self, section: &str, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.section == section && e.key == key)
    }
    pub fn is_netdev(&self) -> bool {
        self.path.ends_with(".netdev") || self.entries.iter().any(|e| e.section == "NetDev")
    }
    pub fn is_link(&self) -> bool {
        self.path.ends_with(".link")
            || (self.entries.iter().any(|e| e.section == "Link")
                && !self.entries.iter().any(|e| e.section == "Network" || e.section == "NetDev"))
    }
    /// The file's name without directory and extension.
    pub fn stem(&self) -> &str {
        let base = self.path.rsplit('/').next().unwrap_or(&self.path);
        base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base)
    }
}

pub(crate) fn read(file: &SourceFile, findings: &mut Vec<Finding>) -> Unit {
    let mut entries = Vec::new();
    let mut section = String::new();
    let mut seen: Vec<String> = Vec::new();
    let mut index = 0;
    for line in logical_lines(&file.text, true) {
        let t = line.text.trim();
        let lead = line.text.len() - line.text.trim_start().len();
        let span = line.span(&file.path, lead);
        if t.starts_with(';') {
            continue;
        }
        if let Some(s) = t.strip_prefix('[') {
            match s.strip_suffix(']') {
                Some(name) => {
                    section = name.to_owned();
                    index = seen.iter().filter(|s| **s == section).count();
                    seen.push(section.clone());
                }
                None => findings
                    .push(Finding::error(&span, format!("section header without ']': '{t}'"))),
            }
            continue;
        }
        let Some(eq) = line.text.find('=') else {
            findings.push(Finding::error(&span, format!("expected Key=Value, found '{t}'")));
            continue;
        };
        let key = line.text[..eq].trim().to_owned();
        let raw = &line.text[eq + 1..];
        let vat = eq + 1 + (raw.len() - raw.trim_start().len());
        entries.push(Entry {
            section: section.clone(),
            index,
            key,
            key_span: span,
            value: raw.trim().to_owned(),
            value_span: value_span(&line, &file.path, vat),
        });
    }
    Unit { path: file.path.clone(), entries }
}

fn value_span(line: &PosText, file: &str, at: usize) -> Span {
    line.span(file, at)
}
