//! Shared helpers: read a report, diagnose it, compare the codes found.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ubond_doctor::{diagnose, Bond, Code, Facts, Finding, Report, Severity};

/// The workspace's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file's text, or a failed test naming it.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A bond from a report's text (and optional `NAME: VALUE` option lines).
pub fn bond(name: &str, text: &str, options: Option<&str>) -> Bond {
    let report = Report::parse(text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    assert!(report.unknown_lines.is_empty(), "{name}: unknown lines {:?}", report.unknown_lines);
    let facts = options.map(Facts::from_get_output).unwrap_or_default();
    Bond { name: name.to_string(), report, facts }
}

/// The codes of the findings at `worst` severity or worse.
pub fn codes(findings: &[Finding], worst: Severity) -> BTreeSet<Code> {
    findings.iter().filter(|f| f.severity <= worst).map(|f| f.code).collect()
}

/// Diagnoses one report.
pub fn one(name: &str, text: &str) -> Vec<Finding> {
    diagnose(&[bond(name, text, None)])
}

/// Every finding printed, for assertion messages.
pub fn show(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{f}\n")).collect()
}

/// The finding with `code`, or a failed test showing what was found.
pub fn find(findings: &[Finding], code: Code) -> &Finding {
    findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} finding in:\n{}", show(findings)))
}
