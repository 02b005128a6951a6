//! ovs-vsctl add-bond lines: parse, emit, lint.

use ubond_config::{ovs, Severity, SourceFile};
use ubond_core::options::{LacpRate, Mode, XmitHashPolicy};

const SCRIPT: &str = "\
#!/bin/sh
ovs-vsctl add-br br0
ovs-vsctl add-bond br0 bond0 eth0 eth1 bond_mode=balance-tcp lacp=active \\
    other_config:lacp-time=fast other_config:bond-detect-mode=miimon \\
    other_config:bond-miimon-interval=100 bond_updelay=200 other_config:lacp-fallback-ab=true
ovs-vsctl --may-exist add-bond br1 bond1 eth2 eth3 bond_mode=active-backup other_config:bond-primary=eth2
";

fn file(text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new("setup-ovs.sh", text)]
}

#[test]
fn documented_style_bonds() {
    let p = ovs::parse(&file(SCRIPT));
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);
    let b0 = &p.config.bonds[0];
    assert_eq!(b0.slaves, ["eth0", "eth1"]);
    assert_eq!(b0.options.mode, Mode::Ieee8023ad);
    assert_eq!(b0.options.xmit_hash_policy, XmitHashPolicy::Layer34);
    assert_eq!(b0.options.lacp_rate, LacpRate::Fast);
    assert_eq!(b0.options.updelay_ms(), 200);
    assert!(b0.options.lacp_fallback);
    let b1 = &p.config.bonds[1];
    assert_eq!(b1.options.mode, Mode::ActiveBackup);
    assert_eq!(b1.options.primary.as_deref(), Some("eth2"));
}

#[test]
fn round_trip_is_identical() {
    let p1 = ovs::parse(&file(SCRIPT));
    let out = ovs::emit(&p1.config);
    let p2 = ovs::parse(&out);
    assert!(p1.config.same_meaning(&p2.config), "{}", out[0].text);
    assert_eq!(ovs::emit(&p2.config), out);
}

#[test]
fn typos_are_named() {
    let f = ovs::lint(&file("ovs-vsctl add-bond br0 bond0 eth0 eth1 bond_mode=balance-tpc lacp=active other_config:lacp-tmie=fast\n"));
    let show = f.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n");
    assert!(
        f.iter().any(|x| x.severity == Severity::Error
            && x.column == 50
            && x.message.contains("did you mean 'balance-tcp'?")),
        "{show}"
    );
    assert!(
        f.iter().any(|x| x.column == 74 && x.fix.as_deref() == Some("other_config:lacp-time")),
        "{show}"
    );
}
