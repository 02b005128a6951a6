//! ubond's TOML format: parse, emit, lint.

use ubond_config::{native, Severity, SourceFile};
use ubond_core::options::{LacpRate, Mode};

const SAMPLE: &str = r#"# two bonds
[[bond]]
name = "bond0"
slaves = ["eth0", "eth1"]
addresses = ["192.0.2.10/24", "2001:db8::10/64"]
gateway = "192.0.2.1"

[bond.options]
mode = "802.3ad"
miimon = 100
lacp_rate = "fast"
lacp_active = false
ad_actor_system = "02:00:00:00:00:01"
xmit_hash_policy = "layer3+4"

[bond.slave-options.eth1]
queue_id = 2
actor_port_prio = 100

[[bond]]
name = "bond1"
slaves = ["eth2", "eth3"]
dhcp = true

[bond.options]
mode = "active-backup"
arp_interval = 1000
arp_ip_target = ["198.51.100.1", "198.51.100.2"]
arp_validate = "all"
primary = "eth2"

[bond.slave-options.eth3]
prio = 5
"#;

fn file(text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new("/etc/ubond/bonds.toml", text)]
}

#[test]
fn sample() {
    let p = native::parse(&file(SAMPLE));
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let b0 = p.config.bond("bond0").unwrap();
    assert_eq!(b0.options.mode, Mode::Ieee8023ad);
    assert_eq!(b0.options.lacp_rate, LacpRate::Fast);
    assert!(!b0.options.lacp_active);
    assert_eq!(b0.options.slave("eth1").queue_id, 2);
    assert_eq!(b0.options.slave("eth1").actor_port_prio, 100);
    assert_eq!(b0.addresses.len(), 2);
    let s = &b0.spans.options["lacp_rate"];
    assert_eq!((s.line, s.column), (11, 1));
    let b1 = p.config.bond("bond1").unwrap();
    assert!(b1.dhcp4);
    assert_eq!(b1.options.arp_ip_target.len(), 2);
    assert_eq!(b1.options.slave("eth3").prio, 5);
    assert!(native::lint(&file(SAMPLE)).is_empty());
}

#[test]
fn round_trip_is_identical() {
    let p1 = native::parse(&file(SAMPLE));
    let out = native::emit(&p1.config);
    let p2 = native::parse(&out);
    assert!(p2.findings.is_empty(), "{}\n{:#?}", out[0].text, p2.findings);
    assert!(p1.config.same_meaning(&p2.config), "{}", out[0].text);
    assert_eq!(native::emit(&p2.config), out);
}

#[test]
fn findings_have_places() {
    let text = "[[bond]]\nname = \"bond0\"\nslavs = [\"eth0\"]\n\n[bond.options]\nmode = \"802.3ad\"\nmiimmon = 100\nlacp_rate = \"fats\"\n\n[bond.slave-options.eth0]\nmode = 1\n";
    let f = native::lint(&file(text));
    let show = f.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n");
    let has = |line: u32, col: u32, sev: Severity, needle: &str| {
        f.iter().any(|x| {
            x.line == line && x.column == col && x.severity == sev && x.message.contains(needle)
        })
    };
    assert!(has(3, 1, Severity::Error, "unknown key 'slavs' (did you mean 'slaves'?)"), "{show}");
    assert!(
        has(7, 1, Severity::Error, "unknown option 'miimmon' (did you mean 'miimon'?)"),
        "{show}"
    );
    assert!(has(8, 13, Severity::Error, "lacp_rate"), "{show}");
    assert!(has(11, 1, Severity::Error, "not a per-slave one"), "{show}");
    let syntax = native::parse(&file("[[bond]\nname = \"x\"\n"));
    assert!(
        syntax.findings.iter().any(|x| x.severity == Severity::Error && x.line == 1),
        "{:#?}",
        syntax.findings
    );
}

/// Micro-BFD's options (ubond's own) live in ubond TOML; formats with a fixed list of bond
/// parameters say they lose them.
#[test]
fn micro_bfd_options_are_kept_or_reported_lost() {
    let text = "[[bond]]\nname = \"bond0\"\nslaves = [\"eth0\", \"eth1\"]\n\n[bond.options]\n\
        mode = \"802.3ad\"\nmiimon = 100\nbfd = \"on\"\nbfd_min_tx = 10\nbfd_min_rx = 10\nbfd_multiplier = 3\n\
        bfd_peer = \"192.0.2.2\"\n";
    let p = native::parse(&file(text));
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let o = &p.config.bond("bond0").unwrap().options;
    assert!(o.bfd);
    assert_eq!((o.bfd_min_tx, o.bfd_min_rx, o.bfd_multiplier), (10, 10, 3));
    assert_eq!(o.bfd_peer, Some("192.0.2.2".parse().unwrap()));
    let out = native::emit(&p.config);
    let back = native::parse(&out);
    assert!(p.config.same_meaning(&back.config), "{}", out[0].text);
    assert!(out[0].text.contains("bfd_peer = \"192.0.2.2\""), "{}", out[0].text);
    for format in [ubond_config::Format::Netplan, ubond_config::Format::Networkd] {
        let c = ubond_config::convert(&p.config, format);
        let lost: Vec<String> = c.losses.iter().map(|l| l.what.clone()).collect();
        for want in ["bfd=on", "bfd_min_tx=10", "bfd_min_rx=10", "bfd_peer=192.0.2.2"] {
            assert!(lost.iter().any(|l| l == want), "{format:?}: {lost:?}");
        }
    }
}
