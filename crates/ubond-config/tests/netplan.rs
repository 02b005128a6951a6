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
