//! The doctor on the kernel's own `/proc/net/bonding/bond0` files: the 21 golden captures of
//! ubond-core (`crates/ubond-core/tests/golden/`, recipe `tools/capture-proc-goldens.sh`), and
//! those captures with one line changed to stage a fault the captures lack (each edit is
//! the line the kernel prints in that state).

mod common;

use std::collections::BTreeSet;

use common::{bond, codes, find, one, read, root, show};
use ubond_doctor::report::{Churn, LinkState};
use ubond_doctor::{diagnose, Code, Report, Severity};

fn golden(name: &str) -> String {
    read(root().join("crates/ubond-core/tests/golden").join(format!("kernel-6.1-{name}.txt")))
}

/// What each golden file shows: the codes of its errors and warnings (infos aside).
const EXPECTED: &[(&str, &[Code])] = &[
    ("802.3ad-negotiated", &[]),
    ("802.3ad-negotiated-unpriv", &[]),
    ("802.3ad-unpartnered", &[Code::NoPartner, Code::SingleLink, Code::AggregatorSplit]),
    ("802.3ad-unpartnered-unpriv", &[Code::Unprivileged]),
    ("802.3ad-unpartnered-churned", &[Code::NoPartner, Code::SingleLink, Code::AggregatorSplit]),
    ("active-backup", &[]),
    ("active-backup-unpriv", &[]),
    ("active-backup-primary", &[]),
    ("active-backup-fail_over_mac-active", &[]),
    ("active-backup-speed-unknown", &[]),
    ("active-backup-arp", &[]),
    ("delays-going-back", &[Code::SlaveDown, Code::SingleLink]),
    ("delays-up", &[]),
    ("delays-going-down", &[Code::SlaveDown, Code::SingleLink]),
    ("delays-down", &[Code::SlaveDown, Code::SingleLink]),
    ("balance-xor-layer3+4", &[]),
    ("balance-rr", &[]),
    ("broadcast", &[]),
    ("balance-tlb", &[]),
    ("balance-tlb-dynamic_lb-0", &[]),
    ("balance-alb", &[]),
];

#[test]
fn every_golden_file_is_read_and_judged() {
    let dir = root().join("crates/ubond-core/tests/golden");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the golden directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    files.sort();
    assert_eq!(files.len(), EXPECTED.len(), "a golden file without expectations: {files:?}");
    for (name, expected) in EXPECTED {
        let text = golden(name);
        let found = one(name, &text);
        let expected: BTreeSet<Code> = expected.iter().copied().collect();
        assert_eq!(codes(&found, Severity::Warning), expected, "{name}:\n{}", show(&found));
    }
}

#[test]
fn the_parser_reads_every_field() {
    let r = Report::parse(&golden("802.3ad-unpartnered-churned")).unwrap();
    assert_eq!(r.driver_version, "6.1.0-56-amd64");
    assert!(!r.is_ubond());
    assert_eq!(r.miimon_ms, 100);
    assert_eq!(r.peer_notif_delay_ms, Some(0));
    let ad = r.ad.as_ref().unwrap();
    assert_eq!(ad.lacp_active, Some(true));
    assert_eq!(ad.min_links, Some(0));
    assert_eq!(ad.ad_select.as_deref(), Some("stable"));
    assert_eq!(ad.system_priority, Some(65535));
    let agg = ad.active_aggregator.unwrap();
    assert_eq!((agg.id, agg.ports, agg.actor_key, agg.partner_key), (1, 1, 9, 1));
    let eth1 = r.slave("eth1").unwrap();
    assert_eq!(eth1.mii_status, LinkState::Up);
    assert_eq!(eth1.speed_mbps, Some(1000));
    let sad = eth1.ad.as_ref().unwrap();
    assert_eq!(sad.aggregator_id, Some(2));
    assert_eq!(sad.actor_churn, Some(Churn::Churned));
    assert_eq!(sad.partner_churned_count, Some(1));
    let actor = sad.actor.unwrap();
    assert_eq!((actor.key, actor.port, actor.state.0), (9, 2, 69));
    assert_eq!(sad.partner.unwrap().key, 1);

    let arp = Report::parse(&golden("active-backup-arp")).unwrap();
    assert_eq!(arp.arp_interval_ms, 1000);
    assert_eq!(arp.arp_missed_max, Some(3));
    assert_eq!(arp.arp_targets.len(), 2);
    assert!(arp.ns_targets.is_empty());

    let unpriv = Report::parse(&golden("802.3ad-negotiated-unpriv")).unwrap();
    assert!(!unpriv.ad.as_ref().unwrap().privileged);
    assert_eq!(unpriv.slaves[1].ad.as_ref().unwrap().actor, None);

    let primary = Report::parse(&golden("active-backup-primary")).unwrap();
    assert_eq!(primary.primary.as_deref(), Some("eth1"));
    assert!(primary.primary_reselect.is_some());
    assert_eq!(primary.active_slave.as_deref(), Some("eth1"));
}

#[test]
fn the_older_kernel_vector_is_read_too() {
    let text = read(
        root().join("crates/ubond-wire/tests/vectors/kernel-6.1-proc-bond0-802.3ad-negotiated.txt"),
    );
    let found = one("vector", &text);
    assert!(codes(&found, Severity::Warning).is_empty(), "{}", show(&found));
}

#[test]
fn unpartnered_names_the_causes() {
    let found = one("bond0", &golden("802.3ad-unpartnered"));
    let f = find(&found, Code::NoPartner);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.slaves, ["eth0", "eth1"]);
    for cause in
        ["does not run LACP", "Linux bridge", "group_fwd_mask", "01:80:c2:00:00:02", "one-way"]
    {
        assert!(f.summary.contains(cause), "{cause}: {}", f.summary);
    }
    assert!(f.evidence.iter().any(|e| e.contains("00:00:00:00:00:00")), "{f}");
    let split = find(&found, Code::AggregatorSplit);
    assert!(split.summary.contains("Aggregator ID 1, 2"), "{split}");
    assert!(split.summary.contains("eth1 hears no partner"), "{split}");
}

#[test]
fn churned_ports_are_named() {
    let found = one("bond0", &golden("802.3ad-unpartnered-churned"));
    let churned: Vec<_> = found.iter().filter(|f| f.code == Code::Churned).collect();
    assert_eq!(churned.len(), 2, "{}", show(&found));
    assert!(churned[1].evidence[0].contains("Actor Churn State: churned"));
    // Without a partner, churn is a consequence: said, not counted as a second problem.
    assert!(churned.iter().all(|f| f.severity == Severity::Info));
}

#[test]
fn delays_are_explained() {
    let down = one("bond0", &golden("delays-going-down"));
    let f = find(&down, Code::SlaveDown);
    assert!(f.summary.contains("still in use until downdelay (10000 ms)"), "{f}");
    let back = one("bond0", &golden("delays-going-back"));
    let f = find(&back, Code::SlaveDown);
    assert!(f.summary.contains("not used until updelay (20000 ms)"), "{f}");
    let gone = one("bond0", &golden("delays-down"));
    assert!(find(&gone, Code::SlaveDown).evidence[0].contains("Link Failure Count: 1"));
}

// --- faults staged by changing one line of a capture --------------------------------------

#[test]
fn no_link_monitoring() {
    let text = golden("active-backup")
        .replace("MII Polling Interval (ms): 100", "MII Polling Interval (ms): 0");
    let found = one("bond0", &text);
    assert_eq!(find(&found, Code::NoLinkMonitoring).severity, Severity::Error);
    assert!(!codes(&one("bond0", &golden("active-backup")), Severity::Info)
        .contains(&Code::NoLinkMonitoring));
}

#[test]
fn arp_monitor_without_targets() {
    let text = golden("active-backup-arp").replace(
        "ARP IP target/s (n.n.n.n form): 192.0.2.2, 192.0.2.3",
        "ARP IP target/s (n.n.n.n form):",
    );
    assert_ne!(text, golden("active-backup-arp"));
    find(&one("bond0", &text), Code::ArpNoTargets);
}

#[test]
fn one_slave_bond() {
    let text = golden("active-backup");
    let cut = text.find("\nSlave Interface: eth1").unwrap();
    let found = one("bond0", &text[..=cut]);
    let f = find(&found, Code::SingleLink);
    assert!(f.summary.contains("has one slave (eth0)"), "{f}");
}

#[test]
fn no_slaves_and_bond_down() {
    let text = golden("active-backup");
    let cut = text.find("\nSlave Interface: eth0").unwrap();
    let text = text[..=cut]
        .replace("Currently Active Slave: eth0", "Currently Active Slave: None")
        .replacen("MII Status: up", "MII Status: down", 1);
    let found = one("bond0", &text);
    find(&found, Code::NoSlaves);
    assert!(codes(&found, Severity::Error).contains(&Code::NoSlaves));
}

#[test]
fn bond_down_with_dead_slaves() {
    let text = golden("balance-rr")
        .replace("MII Status: up", "MII Status: down")
        .replace("Link Failure Count: 0", "Link Failure Count: 2");
    let found = one("bond0", &text);
    let f = find(&found, Code::BondDown);
    assert!(f.summary.contains("no slave has a usable link"), "{f}");
    assert_eq!(found.iter().filter(|f| f.code == Code::SlaveDown).count(), 2);
}

#[test]
fn min_links_keeps_the_bond_down() {
    // The negotiated pair's bond has min_links 1; with 3 the two ports are not enough.
    let text = golden("802.3ad-negotiated").replace("Min links: 1", "Min links: 3").replacen(
        "MII Status: up",
        "MII Status: down",
        1,
    );
    let f = find(&one("bond0", &text), Code::BondDown).clone();
    assert!(f.summary.contains("fewer than min_links 3"), "{f}");
}

#[test]
fn no_active_slave() {
    let text = golden("active-backup")
        .replace("Currently Active Slave: eth0", "Currently Active Slave: None");
    let f = find(&one("bond0", &text), Code::NoActiveSlave).clone();
    assert!(f.summary.contains("eth0 and eth1 are up"), "{f}");
    let tlb = golden("balance-tlb")
        .replace("Currently Active Slave: eth0", "Currently Active Slave: None");
    assert_ne!(tlb, golden("balance-tlb"));
    find(&one("bond0", &tlb), Code::NoActiveSlave);
}

#[test]
fn link_flaps() {
    let text =
        golden("active-backup").replacen("Link Failure Count: 0", "Link Failure Count: 17", 1);
    let f = find(&one("bond0", &text), Code::LinkFlaps).clone();
    assert!(f.summary.contains("17 time(s)"), "{f}");
}

#[test]
fn half_duplex_in_802_3ad() {
    let text = golden("802.3ad-negotiated").replacen("Duplex: full", "Duplex: half", 1);
    let f = find(&one("bond0", &text), Code::HalfDuplex).clone();
    assert_eq!(f.slaves, ["eth0"]);
}

#[test]
fn mixed_speeds_in_round_robin() {
    let text = golden("balance-rr").replacen("Speed: 1000 Mbps", "Speed: 10000 Mbps", 1);
    let f = find(&one("bond0", &text), Code::SpeedMismatch).clone();
    assert!(f.summary.contains("1000 Mb/s, 10000 Mb/s"), "{f}");
}

#[test]
fn speed_unknown_in_tlb() {
    let text = golden("balance-tlb")
        .replace("Speed: 1000 Mbps", "Speed: Unknown")
        .replace("Duplex: full", "Duplex: Unknown");
    let f = find(&one("bond0", &text), Code::SpeedUnknown).clone();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.contains("failed to get link speed/duplex"), "{f}");
    // active-backup does not need a speed: the capture with Unknown speed is fine.
    assert!(!codes(&one("ab", &golden("active-backup-speed-unknown")), Severity::Info)
        .contains(&Code::SpeedUnknown));
}

#[test]
fn duplicate_permanent_addresses() {
    let text = golden("balance-alb")
        .replace("Permanent HW addr: 52:54:00:0c:0f:01", "Permanent HW addr: 52:54:00:0c:0f:00");
    assert_ne!(text, golden("balance-alb"), "the capture's MACs changed: update this test");
    let f = find(&one("bond0", &text), Code::MacConflict).clone();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.slaves, ["eth0", "eth1"]);
}

#[test]
fn partner_individual_and_rate_mismatch_and_deaf_partner() {
    // eth1's partner state 63 → 59 (aggregation bit clear).
    let text = golden("802.3ad-negotiated");
    let partner_state = |text: &str, slave: usize, state: u8| {
        let mut parts: Vec<String> =
            text.split("details partner lacp pdu:").map(String::from).collect();
        parts[slave] = parts[slave].replacen("port state: 63", &format!("port state: {state}"), 1);
        parts.join("details partner lacp pdu:")
    };
    let f = find(&one("bond0", &partner_state(&text, 2, 59)), Code::PartnerIndividual).clone();
    assert_eq!(f.slaves, ["eth1"]);
    // 61: the partner asks for slow LACPDUs while this bond asks for fast ones.
    let f = find(&one("bond0", &partner_state(&text, 1, 61)), Code::LacpRateMismatch).clone();
    assert!(f.summary.contains("after 3 s") && f.summary.contains("after 90 s"), "{f}");
    // 71 = active, short timeout, aggregating, defaulted: the partner hears nothing from us.
    let f = find(&one("bond0", &partner_state(&text, 1, 71)), Code::PartnerDoesNotHearUs).clone();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.slaves, ["eth0"]);
}

#[test]
fn partner_expired() {
    // 191 = 63 + expired: eth0's receive machine timed out.
    let text = golden("802.3ad-negotiated").replacen("port state: 63", "port state: 191", 1);
    let f = find(&one("bond0", &text), Code::PartnerExpired).clone();
    assert_eq!(f.slaves, ["eth0"]);
}

#[test]
fn passive_bond_without_partner() {
    let text = golden("802.3ad-unpartnered").replace("LACP active: on", "LACP active: off");
    let found = one("bond0", &text);
    find(&found, Code::Passive);
    assert!(find(&found, Code::NoPartner).fix.contains("lacp_active=on"));
}

#[test]
fn looped_link() {
    let text = golden("802.3ad-unpartnered");
    let own = "52:54:00:0c:03:00";
    assert!(text.contains(&format!("System MAC address: {own}")), "the capture's MAC changed");
    let looped = text.replacen(
        "details partner lacp pdu:\n    system priority: 65535\n    system mac address: 00:00:00:00:00:00",
        &format!("details partner lacp pdu:\n    system priority: 65535\n    system mac address: {own}"),
        1,
    );
    let f = find(&one("bond0", &looped), Code::MacConflict).clone();
    assert!(f.summary.contains("looped back"), "{f}");
}

#[test]
fn two_bonds_with_one_system_id() {
    let a = bond("a", &golden("802.3ad-unpartnered"), None);
    let b = bond("b", &golden("802.3ad-unpartnered-churned"), None);
    let found = diagnose(&[a, b]);
    let f = find(&found, Code::SystemIdConflict);
    assert_eq!(f.bond, "a / b");
}

#[test]
fn layer2_hash_is_an_info() {
    let found = one("bond0", &golden("802.3ad-unpartnered"));
    assert_eq!(find(&found, Code::Layer2Hash).severity, Severity::Info);
    assert!(!codes(&one("x", &golden("802.3ad-negotiated")), Severity::Info)
        .contains(&Code::Layer2Hash));
}

#[test]
fn peer_notification_needs_the_options() {
    let text = golden("active-backup-fail_over_mac-active");
    assert!(!codes(&one("bond0", &text), Severity::Info).contains(&Code::NoPeerNotification));
    let found = diagnose(&[bond(
        "bond0",
        &text,
        Some("mode: active-backup 1\nnum_grat_arp: 0\nnum_unsol_na: 0\n"),
    )]);
    let f = find(&found, Code::NoPeerNotification);
    assert!(f.summary.contains("fail_over_mac active"), "{f}");
    let fine = diagnose(&[bond("bond0", &text, Some("num_grat_arp: 1\n"))]);
    assert!(!codes(&fine, Severity::Info).contains(&Code::NoPeerNotification));
}

#[test]
fn bridged_slaves_are_named() {
    let mut b = bond("bond0", &golden("802.3ad-unpartnered"), None);
    b.facts.bridged.push(ubond_doctor::diagnose::Bridged {
        slave: "eth1".into(),
        bridge: "br0".into(),
        via: Some("veth1".into()),
    });
    let found = diagnose(&[b]);
    let f = find(&found, Code::NoPartner);
    assert!(f.summary.contains("through Linux bridge br0"), "{f}");
    assert!(f.evidence.iter().any(|e| e == "eth1's veth peer veth1 is a port of Linux bridge br0"));
}

#[test]
fn invalid_permanent_address() {
    let text = golden("balance-rr").replacen(
        "Permanent HW addr: 52:54:00:0c:0a:00",
        "Permanent HW addr: 00:00:00:00:00:00",
        1,
    );
    assert_ne!(text, golden("balance-rr"), "the capture's MACs changed: update this test");
    let f = find(&one("bond0", &text), Code::MacConflict).clone();
    assert!(f.summary.contains("no valid permanent MAC address"), "{f}");
}
