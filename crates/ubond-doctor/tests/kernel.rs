//! The doctor on the real Linux driver's reports in failure states: `tests/fixtures/`,
//! captured from a Debian 6.1 kernel in QEMU guests by `tools/capture-doctor-fixtures.sh`
//! (the setups are in `tests/fixtures/README.md`). Each test checks that the cause the
//! capture staged is named, with its evidence.

mod common;

use std::collections::BTreeSet;

use common::{bond, codes, find, read, root, show};
use ubond_doctor::{diagnose, Bond, Code, Finding, Severity};

fn fixture(state: &str) -> Bond {
    let dir = root().join("crates/ubond-doctor/tests/fixtures");
    let text = read(dir.join(format!("kernel-6.1-{state}.txt")));
    let options = read(dir.join(format!("kernel-6.1-{state}.sysfs")));
    bond(state, &text, Some(&options))
}

fn of(state: &str) -> Vec<Finding> {
    diagnose(&[fixture(state)])
}

/// Every fixture, with the codes of its errors and warnings.
const EXPECTED: &[(&str, &[Code])] = &[
    ("oneway-hears", &[Code::PartnerDoesNotHearUs]),
    ("oneway-deaf", &[Code::NoPartner, Code::SingleLink, Code::AggregatorSplit]),
    ("partner-system-differs", &[Code::SingleLink, Code::AggregatorSplit]),
    ("partner-key-differs", &[Code::SingleLink, Code::AggregatorSplit]),
    ("rate-mismatch", &[Code::LacpRateMismatch]),
    (
        "speed-unknown",
        &[Code::SpeedUnknown, Code::NoPartner, Code::SingleLink, Code::AggregatorSplit],
    ),
    ("no-miimon", &[Code::NoLinkMonitoring]),
    ("no-peer-notification", &[Code::NoPeerNotification]),
    ("duplicate-mac", &[Code::MacConflict]),
    ("partner-absent", &[Code::NoPartner, Code::SingleLink, Code::AggregatorSplit]),
];

#[test]
fn every_fixture_is_judged() {
    let dir = root().join("crates/ubond-doctor/tests/fixtures");
    let n = std::fs::read_dir(&dir)
        .expect("the fixtures")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "txt")))
        .count();
    assert_eq!(n, EXPECTED.len(), "a fixture without expectations");
    for (state, expected) in EXPECTED {
        let found = of(state);
        let expected: BTreeSet<Code> = expected.iter().copied().collect();
        assert_eq!(codes(&found, Severity::Warning), expected, "{state}:\n{}", show(&found));
    }
}

#[test]
fn one_way_loss_from_both_ends() {
    let hears = of("oneway-hears");
    let f = find(&hears, Code::PartnerDoesNotHearUs);
    assert_eq!(f.slaves, ["eth1"]);
    assert!(f.summary.contains("hears its partner 52:54:00:0c:02:00"), "{f}");
    assert!(f.evidence[0].contains("71 (active, short_timeout, aggregating, defaulted)"), "{f}");

    // Alone, the deaf end can only list the causes; with the other end's report it is sure.
    let deaf = of("oneway-deaf");
    assert!(find(&deaf, Code::NoPartner).summary.contains("one-way loss"));
    let both = diagnose(&[fixture("oneway-hears"), fixture("oneway-deaf")]);
    let f = find(&both, Code::OneWayLoss);
    assert_eq!(f.bond, "oneway-hears / oneway-deaf");
    assert_eq!(f.slaves, ["eth1", "eth1"]);
    assert!(
        f.summary.contains("Frames from oneway-hears to oneway-deaf over this link are lost"),
        "{f}"
    );
    // eth0 works both ways: one finding only.
    assert_eq!(both.iter().filter(|f| f.code == Code::OneWayLoss).count(), 1, "{}", show(&both));
}

#[test]
fn aggregator_split_names_the_partner_difference() {
    let sys = of("partner-system-differs");
    let f = find(&sys, Code::AggregatorSplit);
    assert!(
        f.summary.contains("different partner systems (52:54:00:0c:05:00 and 52:54:00:0c:04:00)"),
        "{f}"
    );
    assert!(f.fix.contains("same switch"), "{f}");

    let key = of("partner-key-differs");
    let f = find(&key, Code::AggregatorSplit);
    assert!(f.summary.contains("different port-channels"), "{f}");
    assert!(f.summary.contains("key 9") && f.summary.contains("key 73"), "{f}");
    assert!(!f.summary.contains("different partner systems"), "{f}");
}

#[test]
fn rate_mismatch_says_who_waits_longer() {
    let found = of("rate-mismatch");
    let f = find(&found, Code::LacpRateMismatch);
    assert_eq!(f.slaves, ["eth0", "eth1"]);
    assert!(
        f.summary.contains("asks for fast (1 s) LACPDUs and the partner for slow (30 s)"),
        "{f}"
    );
    assert!(f.summary.contains("after 90 s"), "{f}");
}

#[test]
fn unknown_speed_is_the_cause_in_802_3ad() {
    let found = of("speed-unknown");
    let f = find(&found, Code::SpeedUnknown);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.slaves, ["eth0", "eth1"]);
    assert!(f.evidence[0].contains("port key: 0 (speed code 0)"), "{f}");
    assert!(f.fix.contains("speed=10000,duplex=full"), "{f}");
}

#[test]
fn options_show_what_the_report_cannot() {
    let found = of("no-peer-notification");
    let f = find(&found, Code::NoPeerNotification);
    assert!(f.evidence.contains(&"num_grat_arp: 0".to_string()), "{f}");
    // The same report without the options: nothing to say.
    let text =
        read(root().join("crates/ubond-doctor/tests/fixtures/kernel-6.1-no-peer-notification.txt"));
    let bare = diagnose(&[bond("x", &text, None)]);
    assert!(!codes(&bare, Severity::Info).contains(&Code::NoPeerNotification));
}

#[test]
fn monitoring_and_macs() {
    find(&of("no-miimon"), Code::NoLinkMonitoring);
    let found = of("duplicate-mac");
    let f = find(&found, Code::MacConflict);
    assert_eq!(f.slaves, ["eth0", "eth1"]);
    assert_eq!(f.severity, Severity::Warning);
}

#[test]
fn partner_absent_after_churn() {
    let found = of("partner-absent");
    assert_eq!(find(&found, Code::NoPartner).severity, Severity::Error);
    assert!(found.iter().any(|f| f.code == Code::Churned), "{}", show(&found));
}
