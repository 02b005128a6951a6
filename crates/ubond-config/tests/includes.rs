//! Debian interfaces: `source` and `source-directory` lines followed, with limits.

use ubond_config::files::MemFiles;
use ubond_config::interfaces::{load, parse_following, MAX_INCLUDE_DEPTH};
use ubond_config::Severity;

const MAIN: &str = "/etc/network/interfaces";

#[test]
fn source_with_wildcard_and_source_directory() {
    let fs = MemFiles::new()
        .with(MAIN, "auto lo\niface lo inet loopback\nsource interfaces.d/*.cfg\nsource-directory /etc/network/more\n")
        .with(
            "/etc/network/interfaces.d/bond0.cfg",
            "iface bond0 inet static\n    address 192.0.2.10/24\n    bond-slaves eth0 eth1\n    bond-mode 802.3ad\n    bond-miimon 100\n",
        )
        .with("/etc/network/interfaces.d/ignored.txt", "iface bond9 inet manual\n    bond-slaves eth9\n")
        .with("/etc/network/more/bond1", "iface bond1 inet manual\n    bond-slaves eth2\n    bond-miimon 100\n")
        // run-parts names only: a dot in the name is skipped.
        .with("/etc/network/more/bond2.dpkg-old", "iface bond2 inet manual\n    bond-slaves eth3\n");
    let (files, findings) = load(MAIN, &fs);
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [MAIN, "/etc/network/interfaces.d/bond0.cfg", "/etc/network/more/bond1"],
        "{findings:?}"
    );
    let p = parse_following(&[MAIN], &fs);
    let names: Vec<&str> = p.config.bonds.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["bond0", "bond1"]);
    assert_eq!(p.config.bonds[0].slaves, ["eth0", "eth1"]);
    // The bond's place is in the included file.
    let at = p.config.bonds[0].spans.bond.clone().unwrap_or_default();
    assert_eq!(at.to_string(), "/etc/network/interfaces.d/bond0.cfg:1:7");
    // Followed lines are not reported as not followed.
    assert!(!p.findings.iter().any(|f| f.message.contains("not followed")), "{:?}", p.findings);
}

#[test]
fn parse_alone_says_source_is_not_followed() {
    let p = ubond_config::parse(
        ubond_config::Format::Interfaces,
        &[ubond_config::SourceFile::new(MAIN, "source /etc/network/interfaces.d/*\n")],
    );
    assert!(p.findings.iter().any(|f| f.message.contains("not followed")));
}

#[test]
fn loops_are_refused_at_the_including_line() {
    let fs = MemFiles::new()
        .with(MAIN, "source /etc/network/a\n")
        .with("/etc/network/a", "# a\n\nsource /etc/network/b\n")
        .with("/etc/network/b", "source /etc/network/a\niface bond0 inet manual\n  bond-slaves eth0\n  bond-miimon 100\n");
    let p = parse_following(&[MAIN], &fs);
    let e: Vec<String> = p
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.to_string())
        .collect();
    assert_eq!(e.len(), 1, "{:?}", p.findings);
    assert!(e[0].starts_with("/etc/network/b:1:1: error: include loop: '/etc/network/a'"), "{e:?}");
    assert!(p.findings[0].fix.is_some());
    assert_eq!(p.config.bonds.len(), 1, "the files before the loop still count");
}

#[test]
fn a_file_included_twice_is_read_once() {
    let fs = MemFiles::new()
        .with(MAIN, "source /etc/network/a\nsource /etc/network/a\n")
        .with("/etc/network/a", "iface bond0 inet manual\n  bond-slaves eth0\n  bond-miimon 100\n");
    let (files, findings) = load(MAIN, &fs);
    assert_eq!(files.len(), 2);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].line, 2);
    assert_eq!(findings[0].severity, Severity::Warning);
}

#[test]
fn depth_is_bounded() {
    let mut fs = MemFiles::new().with(MAIN, "source /etc/network/d1\n");
    for i in 1..=20 {
        fs = fs.with(format!("/etc/network/d{i}"), format!("source d{}\n", i + 1));
    }
    let (files, findings) = load(MAIN, &fs);
    assert_eq!(files.len(), MAX_INCLUDE_DEPTH);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].message.contains("nested deeper than"), "{findings:?}");
    assert_eq!(findings[0].file, format!("/etc/network/d{}", MAX_INCLUDE_DEPTH - 1));
}

#[test]
fn missing_files_and_bad_lines() {
    let fs = MemFiles::new().with(
        MAIN,
        "source /etc/network/nope\nsource /etc/network/none.d/*\nsource\nsource /etc/*/x\n",
    );
    let (_, findings) = load(MAIN, &fs);
    let lines: Vec<(u32, Severity)> = findings.iter().map(|f| (f.line, f.severity)).collect();
    // A missing file is a warning; a wildcard matching nothing is silent (nullglob); `source`
    // without a path is an error; a wildcard in a directory is not followed.
    assert_eq!(lines, [(1, Severity::Warning), (3, Severity::Error), (4, Severity::Warning)]);
    let (files, findings) = load("/nonexistent", &fs);
    assert!(files.is_empty());
    assert_eq!(
        findings[0].to_string(),
        "/nonexistent:1:1: error: cannot read '/nonexistent': entity not found"
    );
}

mod random {
    use proptest::prelude::*;
    use ubond_config::files::MemFiles;
    use ubond_config::interfaces::{load, parse_following, MAX_INCLUDED_FILES};

    const LINES: &[&str] = &[
        "source a",
        "source /etc/network/b",
        "source ../network/c",
        "source *",
        "source d/*",
        "source-directory d",
        "source-directory /etc/network",
        "source",
        "source-dir nowhere",
        "iface bond0 inet manual",
        "    bond-slaves eth0",
        "    bond-master bond0",
        "iface eth0 inet manual",
        "auto bond0",
        "\\",
        "# source a",
    ];

    fn file() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(LINES), 0..8).prop_map(|v| v.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Shell patterns never panic, and a pattern without wildcards matches only itself.
        #[test]
        fn globs_never_panic(pattern in "[a-c*?\\[\\]!^-]{0,12}", name in "[a-c.\\[\\]-]{0,12}") {
            let m = ubond_config::files::glob_match(&pattern, &name);
            if !ubond_config::files::has_wildcard(&pattern) && !name.starts_with('.') {
                prop_assert_eq!(m, pattern == name);
            }
        }

        /// Any tree of files including each other: no panic, the limits hold, and every
        /// finding names a file that was read (or the one asked for).
        #[test]
        fn include_trees_never_panic(main in file(), a in file(), b in file(), c in file(), d in file()) {
            let fs = MemFiles::new()
                .with("/etc/network/interfaces", main)
                .with("/etc/network/a", a)
                .with("/etc/network/b", b)
                .with("/etc/network/c", c)
                .with("/etc/network/d/x", d);
            let (files, findings) = load("/etc/network/interfaces", &fs);
            prop_assert!(files.len() <= MAX_INCLUDED_FILES);
            for f in &findings {
                prop_assert!(files.iter().any(|x| x.path == f.file), "{f}");
                prop_assert!(f.line >= 1 && f.column >= 1, "{f}");
            }
            let p = parse_following(&["/etc/network/interfaces"], &fs);
            for f in &p.findings {
                prop_assert!(files.iter().any(|x| x.path == f.file), "{f}");
            }
        }
    }
}

#[test]
fn dot_dot_names_the_same_file() {
    let fs = MemFiles::new()
        .with(MAIN, "source ./interfaces.d/../interfaces.d/a\n")
        .with("/etc/network/interfaces.d/a", "source ../interfaces\n");
    let (files, findings) = load(MAIN, &fs);
    assert_eq!(files[1].path, "/etc/network/interfaces.d/a");
    assert_eq!(files.len(), 2);
    assert!(findings[0].message.starts_with("include loop"), "{findings:?}");
}

#[test]
fn lint_following_sorts_by_the_order_files_are_read() {
    let fs = MemFiles::new()
        .with(MAIN, "source /etc/network/z\nsource /etc/network/a\niface bond0 inet manual\n    bond-slaves eth0\n    bond-miimmon 100\n")
        .with("/etc/network/z", "iface bond1 inet manual\n    bond-slaves eth1\n    bond-updelai 100\n")
        .with("/etc/network/a", "iface bond2 inet manual\n    bond-slaves eth2\n    bond-mod 1\n");
    let f = ubond_config::interfaces::lint_following(&[MAIN], &fs);
    let files: Vec<&str> =
        f.iter().filter(|x| x.severity == Severity::Error).map(|x| x.file.as_str()).collect();
    assert_eq!(files, [MAIN, "/etc/network/z", "/etc/network/a"], "{f:#?}");
}
