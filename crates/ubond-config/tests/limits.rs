//! Hostile inputs: deep nesting and very long lines stay bounded and never panic.

use ubond_config::{parse, Format, Severity, SourceFile};

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let n = 50_000;
    let t = format!(
        "[[bond]]\nname = \"b\"\n[bond.options]\nmode = {}1{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let p = parse(Format::Toml, &[SourceFile::new("a.toml", t)]);
    assert!(p.findings.iter().any(|f| f.severity == Severity::Error));
    let y = format!("network:\n  bonds:\n    b: {}1{}\n", "[".repeat(n), "]".repeat(n));
    let p = parse(Format::Netplan, &[SourceFile::new("a.yaml", y)]);
    assert!(p.findings.iter().any(|f| f.severity == Severity::Error && f.line == 3));
}

#[test]
fn many_bad_options_on_one_line_are_all_reported_quickly() {
    let n = 20_000;
    let line = format!("options bonding mode=1 {}\n", "miimmon=1 ".repeat(n));
    let t0 = std::time::Instant::now();
    let p = parse(Format::Modprobe, &[SourceFile::new("m.conf", line)]);
    assert!(t0.elapsed().as_secs() < 10, "{:?}", t0.elapsed());
    let unknown = p.findings.iter().filter(|f| f.message.contains("did you mean 'miimon'")).count();
    assert_eq!(unknown, n);
    assert_eq!(p.config.bonds[0].options.mode, ubond_core::options::Mode::ActiveBackup);
    // Bad values each need a new reading of the line: bounded.
    let bad_values = format!(
        "options bonding {}\n",
        (0..200).map(|i| format!("miimon=x{i} ")).collect::<String>()
    );
    let p = parse(Format::Modprobe, &[SourceFile::new("m.conf", bad_values)]);
    assert!(p.findings.iter().any(|f| f.message.contains("not read")), "{:?}", p.findings.last());
}

#[test]
fn a_binary_file_is_refused_with_the_place_of_its_first_byte_that_is_not_text() {
    let mut bytes = b"auto bond0\niface bond0 inet manual\n  bond-".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x00]);
    assert_eq!(
        ubond_config::files::text_of(bytes).unwrap_err(),
        "not UTF-8 text: byte 0xff at line 3, column 8 (a binary file?)"
    );
    assert_eq!(ubond_config::files::text_of(b"ok\n".to_vec()).unwrap(), "ok\n");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_word() {
    let text =
        ubond_config::files::text_of(b"\xef\xbb\xbfDEVICE=bond0\nTYPE=Bond\n".to_vec()).unwrap();
    assert_eq!(text, "DEVICE=bond0\nTYPE=Bond\n");
}

#[test]
fn yaml_aliases_are_expanded_as_netplan_does_within_a_bound() {
    // Anchors and aliases are YAML, which netplan's libyaml resolves.
    let t = "network:\n  version: 2\n  ethernets:\n    eth0: &nic {}\n    eth1: *nic\n  bonds:\n    bond0:\n      interfaces: &members [eth0, eth1]\n      parameters: &params\n        mode: active-backup\n        mii-monitor-interval: 100\n";
    let p = parse(Format::Netplan, &[SourceFile::new("a.yaml", t)]);
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);
    assert_eq!(p.config.bonds[0].slaves, ["eth0", "eth1"]);
    // A "billion laughs" document stops at the bound, with an error at the alias.
    let mut t = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, c) in ('b'..='j').enumerate() {
        let prev = (b'a' + i as u8) as char;
        t.push_str(&format!("{c}: &{c} [{}]\n", vec![format!("*{prev}"); 10].join(", ")));
    }
    t.push_str("network:\n  version: 2\n  bonds:\n    bond0: {interfaces: *j}\n");
    let t0 = std::time::Instant::now();
    for format in [Format::Netplan, Format::CloudInit1, Format::CloudInit2] {
        let p = parse(format, &[SourceFile::new("laughs.yaml", t.clone())]);
        assert!(
            p.findings.iter().any(|f| f.severity == Severity::Error
                && f.message.contains("aliases expand to more than")),
            "{format}: {:#?}",
            p.findings
        );
    }
    assert!(t0.elapsed().as_secs() < 10, "{:?}", t0.elapsed());
}
