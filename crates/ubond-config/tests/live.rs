//! Live checks with a fake probe: 802.3ad over NICs without speed, LACP members in a bridge.

use std::collections::BTreeMap;

use ubond_config::live::{check, LinkFacts, LinkProbe};
use ubond_config::{parse, Format, Severity, SourceFile};

struct Fake(BTreeMap<&'static str, LinkFacts>);

impl LinkProbe for Fake {
    fn probe(&self, name: &str) -> Option<LinkFacts> {
        self.0.get(name).cloned()
    }
}

fn facts(speed: Option<u32>, duplex: bool, bridge: Option<&str>) -> LinkFacts {
    LinkFacts { speed, duplex_known: duplex, bridge: bridge.map(String::from), bridge_via: None }
}

fn system() -> Fake {
    Fake(BTreeMap::from([
        ("eth0", facts(Some(1000), true, None)),
        ("virtio0", facts(None, false, None)),
        ("tap0", facts(Some(10), false, None)),
        ("veth0", facts(Some(10000), true, Some("br0"))),
        (
            "veth1",
            LinkFacts {
                bridge_via: Some("vpeer1".into()),
                ..facts(Some(10000), true, Some("br1"))
            },
        ),
    ]))
}

const FILE: &str = "/etc/network/interfaces";

fn bond(mode: &str, slaves: &str) -> ubond_config::ConfigSet {
    let text = format!(
        "iface bond0 inet manual\n    bond-mode {mode}\n    bond-miimon 100\n    bond-slaves {slaves}\n"
    );
    parse(Format::Interfaces, &[SourceFile::new(FILE, text)]).config
}

#[test]
fn no_speed_in_802_3ad_is_a_warning_at_the_slave() {
    let f = check(&bond("802.3ad", "eth0 virtio0 tap0 absent0"), &system());
    let got: Vec<(String, Severity)> =
        f.iter().map(|f| (format!("{}:{}", f.line, f.column), f.severity)).collect();
    assert_eq!(
        got,
        [("4:22".to_owned(), Severity::Warning), ("4:30".to_owned(), Severity::Warning)],
        "{f:#?}"
    );
    assert!(f[0].message.contains("'virtio0' reports no speed/duplex"), "{}", f[0]);
    assert!(f[0].message.contains("failed to get link speed/duplex"));
    assert!(f[0].message.contains("assumes 10000"));
    assert!(f[0].fix.as_deref().unwrap_or("").contains("ethtool -s virtio0 speed"));
}

#[test]
fn lacp_member_in_a_bridge_is_an_error() {
    let f = check(&bond("802.3ad", "eth0 veth0"), &system());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!((f[0].file.as_str(), f[0].line, f[0].column), (FILE, 4, 22));
    assert!(f[0].message.contains("Linux bridge 'br0'"), "{}", f[0]);
    assert!(f[0].message.contains("01:80:c2:00:00:02"));
    assert!(f[0].fix.as_deref().unwrap_or("").contains("switch with LACP"));
}

#[test]
fn lacp_member_whose_veth_peer_is_in_a_bridge_is_an_error() {
    let f = check(&bond("802.3ad", "veth1"), &system());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(
        f[0].message.contains("'veth1' of 802.3ad bond 'bond0' is a veth whose peer 'vpeer1' is a port of Linux bridge 'br1'"),
        "{}",
        f[0]
    );
    assert!(f[0].fix.as_deref().unwrap_or("").starts_with("take 'vpeer1' out of 'br1'"));
}

#[test]
fn other_modes_and_absent_interfaces_say_nothing() {
    assert!(check(&bond("active-backup", "virtio0 veth0"), &system()).is_empty());
    assert!(check(&bond("802.3ad", "absent0 absent1"), &system()).is_empty());
}

/// In every format, the finding points at a line that names the slave (or, for formats with a
/// file per slave, into that slave's file).
#[test]
fn findings_point_at_the_slaves_mention_in_every_format() {
    let lacp = parse(
        Format::Interfaces,
        &[SourceFile::new(FILE, "iface bond0 inet manual\n    bond-slaves virtio0 eth0\n    bond-mode 802.3ad\n    bond-miimon 100\n")],
    );
    for &to in Format::ALL.iter().filter(|f| f.has_slaves()) {
        let files = ubond_config::emit(&lacp.config, to);
        let p = parse(to, &files);
        let f = check(&p.config, &system());
        assert_eq!(f.len(), 1, "{to}: {f:#?}");
        let file = files.iter().find(|x| x.path == f[0].file);
        let line = file.and_then(|x| x.text.lines().nth(f[0].line as usize - 1)).unwrap_or("");
        let in_own_file = f[0].file.contains("virtio0");
        assert!(line.contains("virtio0") || in_own_file, "{to}: {} -> {line:?}", f[0]);
    }
}
