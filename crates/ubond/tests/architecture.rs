//! `docs/ARCHITECTURE.md` against the code, so that the map cannot silently go stale: every
//! `path:function` it names is a function defined in that file, every path it names exists,
//! the LACPDU's way through takes at most six hops, the crates depend on each other in the
//! direction it draws, and the binary crate makes no Linux calls of its own (those belong in
//! `ubond-sys`).

use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The top-level folders a path in the document may start with.
const TOP: [&str; 7] = ["crates/", "docs/", "bench/", "tools/", "interop/", "fuzz/", "dist/"];

/// The inline code spans of a Markdown text outside fenced blocks, with their line numbers.
/// A span must open and close on one line (an odd number of backquotes on a line fails).
fn code_spans(text: &str) -> Vec<(usize, String)> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let parts: Vec<&str> = line.split('`').collect();
        assert!(parts.len() % 2 == 1, "line {}: a code span crosses the line's end", i + 1);
        spans.extend(parts.iter().skip(1).step_by(2).map(|s| (i + 1, (*s).to_string())));
    }
    spans
}

/// A `path:function` reference: a path under one of [`TOP`] to a Rust or C file, a colon and
/// an identifier.
fn hop(span: &str) -> Option<(&str, &str)> {
    let (path, name) = span.split_once(':')?;
    let is_ident = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let is_source = path.ends_with(".rs") || path.ends_with(".c");
    (TOP.iter().any(|t| path.starts_with(t)) && is_source && is_ident).then_some((path, name))
}

/// True if `source` (of a `.rs` file, or else C) defines a function called `name`.
fn defines(source: &str, rust: bool, name: &str) -> bool {
    if rust {
        let (paren, generic) = (format!("fn {name}("), format!("fn {name}<"));
        source.lines().any(|l| {
            !l.trim_start().starts_with("//") && (l.contains(&paren) || l.contains(&generic))
        })
    } else {
        // A definition starts at the left margin, has the name before its parameters and is
        // not a declaration.
        let call = format!("{name}(");
        source.lines().any(|l| {
            !l.starts_with(|c: char| c.is_whitespace() || c == '#' || c == '/')
                && l.contains(&call)
                && !l.trim_end().ends_with(';')
        })
    }
}

#[test]
fn every_file_function_pair_names_a_function_of_that_file() {
    let doc = read("docs/ARCHITECTURE.md");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (line, span) in code_spans(&doc) {
        let Some((path, name)) = hop(&span) else { continue };
        let Ok(source) = std::fs::read_to_string(root().join(path)) else {
            wrong.push(format!("line {line}: {path} does not exist"));
            continue;
        };
        if !defines(&source, path.ends_with(".rs"), name) {
            wrong.push(format!("line {line}: no `fn {name}` in {path}"));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "docs/ARCHITECTURE.md is out of date:\n{}", wrong.join("\n"));
    // The document's data paths and LACPDU path are made of such pairs; finding few means
    // the parsing above broke, not that the document is right.
    assert!(checked >= 50, "only {checked} file:function pairs found");
}

#[test]
fn every_path_named_exists() {
    let doc = read("docs/ARCHITECTURE.md");
    let missing: Vec<String> = code_spans(&doc)
        .into_iter()
        .filter(|(_, s)| TOP.iter().any(|t| s.starts_with(t)) && !s.contains(' '))
        .map(|(line, s)| (line, s.split(':').next().unwrap_or_default().to_string()))
        .filter(|(_, path)| !root().join(path).exists())
        .map(|(line, path)| format!("line {line}: {path}"))
        .collect();
    assert!(missing.is_empty(), "paths in docs/ARCHITECTURE.md that do not exist:\n{}", {
        missing.join("\n")
    });
}

#[test]
fn the_lacpdu_path_has_at_most_six_hops_each_a_file_function() {
    let doc = read("docs/ARCHITECTURE.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("One LACPDU"))
        .expect("a section \"One LACPDU, in and out\"");
    let hops: Vec<&str> = section
        .lines()
        .filter(|l| l.split_once(". ").is_some_and(|(n, _)| n.parse::<u32>().is_ok()))
        .collect();
    assert!((1..=6).contains(&hops.len()), "{} hops: {hops:#?}", hops.len());
    for h in hops {
        let first = h.split('`').nth(1).unwrap_or_default();
        assert!(hop(first).is_some(), "a hop that does not start with `file:function`: {h}");
    }
}

#[test]
fn the_checks_reject_what_is_not_there() {
    let source =
        "pub(crate) fn enter(state: RxState) {}\nfn parse<T>(x: T) {}\n    /// fn gone()\n";
    assert!(defines(source, true, "enter") && defines(source, true, "parse"));
    assert!(!defines(source, true, "ente") && !defines(source, true, "state"));
    assert!(!defines(source, true, "gone"));
    let c = "SEC(\"classifier\")\nint ubond_tap_egress(struct __sk_buff *skb) {\n    \
             return helper(skb);\n}\nstatic long helper2(void *p);\n";
    assert!(defines(c, false, "ubond_tap_egress"));
    assert!(!defines(c, false, "helper") && !defines(c, false, "helper2"));
    assert_eq!(hop("crates/a/src/b.rs:run"), Some(("crates/a/src/b.rs", "run")));
    assert_eq!(hop("crates/a/src/b.rs"), None);
    assert_eq!(hop("TxPlan::decide"), None);
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_binary_makes_no_linux_calls_of_its_own() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/ubond/src"), &mut files);
    assert!(files.len() > 10, "the binary's sources were not found");
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if ["libc::", "nlmsg", "NLM_F"].iter().any(|w| line.contains(w)) {
                found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "Linux calls belong in ubond-sys:\n{}", found.join("\n"));
}

/// The workspace crates a crate's `[dependencies]` name (dev-dependencies left out).
fn workspace_deps(krate: &str) -> Vec<String> {
    let manifest = read(&format!("crates/{krate}/Cargo.toml"));
    let mut section = String::new();
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if section == "[dependencies]" && line.starts_with("ubond") {
            let name = line.split(['.', ' ', '=']).next().unwrap_or_default();
            deps.push(name.to_string());
        }
    }
    deps.sort();
    deps
}

#[test]
fn the_crates_depend_in_the_direction_the_document_draws() {
    // The "Code map" section's graph: wire ◄ core ◄ config, lab, doctor ◄ ubond; wire ◄ sys ◄
    // ubond. The core and the Linux mechanisms never meet below the binary.
    let allowed: [(&str, &[&str]); 7] = [
        ("ubond-wire", &[]),
        ("ubond-core", &["ubond-wire"]),
        ("ubond-config", &["ubond-core", "ubond-wire"]),
        ("ubond-lab", &["ubond-core", "ubond-wire"]),
        ("ubond-doctor", &["ubond-core", "ubond-wire"]),
        ("ubond-sys", &["ubond-wire"]),
        (
            "ubond",
            &["ubond-config", "ubond-core", "ubond-doctor", "ubond-lab", "ubond-sys", "ubond-wire"],
        ),
    ];
    let doc = read("docs/ARCHITECTURE.md");
    let mut wrong = Vec::new();
    for (krate, may) in allowed {
        assert!(
            doc.contains(&format!("`crates/{krate}`")),
            "the document has no section on {krate}"
        );
        for dep in workspace_deps(krate) {
            if !may.contains(&dep.as_str()) {
                wrong.push(format!("{krate} depends on {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "against the direction docs/ARCHITECTURE.md draws:\n{}", {
        wrong.join("\n")
    });
    assert_eq!(workspace_deps("ubond-core"), ["ubond-wire"], "the manifest was not read");
}
