//! netplan YAML: parse, emit, lint.

mod samples;

use ubond_config::{netplan, parse, Format, Severity, SourceFile};
use ubond_core::options::{LacpRate, Mode};

const SAMPLE: &str = "\
network:
  version: 2
  renderer: networkd
  ethernets:
    eth0:
      dhcp4: false
    eth1:
      dhcp4: false
  bonds:
    bond0:
      interfaces: [eth0, eth1]
      addresses: [192.168.1.10/24]
      routes:
        - to: default
          via: 192.168.1.1
      parameters:
        mode: 802.3ad
        lacp-rate: fast
        mii-monitor-interval: 100
        transmit-hash-policy: layer3+4
        up-delay: 1s
";

fn file(text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new("/etc/netplan/01-bond.yaml", text)]
}

#[test]
fn documented_style_bond() {
    let p = netplan::parse(&file(SAMPLE));
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    assert_eq!(b.options.mode, Mode::Ieee8023ad);
    assert_eq!(b.options.lacp_rate, LacpRate::Fast);
    assert_eq!(b.options.miimon, 100);
    assert_eq!(b.options.updelay_ms(), 1000);
    assert_eq!(b.gateway(true), Some("192.168.1.1".parse().unwrap()));
    let s = &b.spans.options["lacp_rate"];
    assert_eq!((s.line, s.column), (18, 9));
}

#[test]
fn typos_and_syntax_errors_have_places() {
    let f = netplan::lint(&file(
        &SAMPLE.replace("lacp-rate", "lacp-rat").replace("interfaces:", "interface:"),
    ));
    let show = f.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n");
    assert!(
        f.iter().any(|x| x.line == 18
            && x.column == 9
            && x.severity == Severity::Error
            && x.message.contains("did you mean 'lacp-rate'?")),
        "{show}"
    );
    assert!(
        f.iter().any(|x| x.line == 11
            && x.column == 7
            && x.message.contains("did you mean 'interfaces'?")),
        "{show}"
    );
    let bad = netplan::parse(&file("network:\n  bonds: [\n"));
    assert!(bad.findings.iter().any(|x| x.severity == Severity::Error), "{:#?}", bad.findings);
}

#[test]
fn round_trip_and_conversion() {
    let p1 = netplan::parse(&file(SAMPLE));
    let out = netplan::emit(&p1.config);
    let p2 = netplan::parse(&out);
    assert!(p2.findings.is_empty(), "{}\n{:#?}", out[0].text, p2.findings);
    assert!(p1.config.same_meaning(&p2.config), "{}", out[0].text);
    assert_eq!(netplan::emit(&p2.config), out);
    let wiki = parse(
        Format::Interfaces,
        &[SourceFile::new("/etc/network/interfaces", samples::WIKI_ACTIVE_BACKUP)],
    );
    let back = parse(Format::Netplan, &netplan::emit(&wiki.config));
    assert!(wiki.config.same_meaning(&back.config));
}

/// netplan's libyaml loads a file's first document only: a second one is ignored, with a
/// warning at its `---`; an empty trailing document says nothing. cloud-init's PyYAML refuses
/// such a file: an error in both of its versions.
#[test]
fn a_second_document_is_ignored_and_said() {
    let second = "---\nnetwork:\n  bonds:\n    bond9:\n      interfaces: [eth9]\n";
    let f = [SourceFile::new("/etc/netplan/01.yaml", format!("{SAMPLE}{second}"))];
    let p = netplan::parse(&f);
    assert_eq!(p.config.bonds.len(), 1, "{:#?}", p.config);
    assert_eq!(p.config.bonds[0].name, "bond0");
    let w: Vec<_> = p.findings.iter().filter(|x| x.message.contains("second YAML")).collect();
    assert_eq!(w.len(), 1, "{:#?}", p.findings);
    assert_eq!(w[0].severity, Severity::Warning);
    let line = u32::try_from(SAMPLE.lines().count() + 1).unwrap();
    assert_eq!((w[0].file.as_str(), w[0].line, w[0].column), ("/etc/netplan/01.yaml", line, 1));
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);

    let trailing = [SourceFile::new("/etc/netplan/01.yaml", format!("{SAMPLE}---\n"))];
    assert!(netplan::parse(&trailing).findings.is_empty());

    let v2 = format!("{SAMPLE}{second}");
    let c = parse(Format::CloudInit2, &[SourceFile::new("50-network.cfg", v2)]);
    assert!(c.findings.iter().any(|x| x.severity == Severity::Error
        && x.line == line
        && x.message.contains("cloud-init reads none")));
    let v1 = "network:\n  version: 1\n  config:\n    - type: bond\n      name: bond0\n      bond_interfaces: [eth0]\n---\nnetwork: {}\n";
    let c = parse(Format::CloudInit1, &[SourceFile::new("50-network.cfg", v1)]);
    assert!(
        c.findings.iter().any(|x| x.severity == Severity::Error
            && x.line == 7
            && x.message.contains("cloud-init reads none")),
        "{:#?}",
        c.findings
    );
}
