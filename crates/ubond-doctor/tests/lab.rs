//! The doctor on reports of the lab (the real bonding core in simulated hosts, bridges and
//! switches), in the failures the lab can stage. Each scenario is a scenario file (the lab's
//! public format); the reports are the hosts' `/proc/net/bonding/bond0` at the end of the run.

mod common;

use common::{bond, codes, find, show};
use ubond_doctor::{diagnose, Bond, Code, Finding, Severity};
use ubond_lab::script::Script;

/// Runs a scenario; returns each host's bond, named after the host.
fn run(toml: &str) -> Vec<Bond> {
    let script = Script::parse(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let result = script.run(script.seed()).unwrap_or_else(|e| panic!("{e}"));
    assert!(result.passed(), "{}", result.render());
    result.reports.iter().map(|(host, text)| bond(host, text, None)).collect()
}

fn of(findings: &[Finding], bond: &str) -> Vec<Finding> {
    findings.iter().filter(|f| f.bond == bond).cloned().collect()
}

const HOSTS: &str = r#"
seed = 7
run = "15s"

[[host]]
name = "a"
ip = "10.0.0.1"
bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100, xmit_hash_policy = "layer3+4" }

[[host]]
name = "b"
ip = "10.0.0.2"
bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100, xmit_hash_policy = "layer3+4" }
"#;

const DIRECT: &str = r#"
[[link]]
a = "a:eth0"
b = "b:eth0"

[[link]]
a = "a:eth1"
b = "b:eth1"
"#;

#[test]
fn healthy_pair_has_nothing_to_say() {
    let bonds = run(&format!("{HOSTS}{DIRECT}"));
    let found = diagnose(&bonds);
    assert!(found.is_empty(), "{}", show(&found));
}

#[test]
fn stock_bridges_between() {
    let bridges = r#"
[[bridge]]
name = "br0"

[[bridge]]
name = "br1"

[[link]]
a = "a:eth0"
b = "br0:p1"

[[link]]
a = "b:eth0"
b = "br0:p2"

[[link]]
a = "a:eth1"
b = "br1:p1"

[[link]]
a = "b:eth1"
b = "br1:p2"
"#;
    let found = diagnose(&run(&format!("{HOSTS}{bridges}")));
    for host in ["a", "b"] {
        let mine = of(&found, host);
        let f = find(&mine, Code::NoPartner);
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.contains("Linux bridge"), "{f}");
        find(&mine, Code::AggregatorSplit);
    }
}

#[test]
fn one_way_link() {
    // From 5 s on, every frame a's eth1 sends is lost; b's eth1 still reaches a.
    let toml = format!("{HOSTS}{DIRECT}\n[[event]]\nat = \"5s\"\noneway = \"a:eth1\"\n");
    let bonds = run(&toml);
    let found = diagnose(&bonds);
    let f = find(&of(&found, "a"), Code::PartnerDoesNotHearUs).clone();
    assert_eq!(f.slaves, ["eth1"]);
    let f = find(&of(&found, "b"), Code::NoPartner).clone();
    assert_eq!(f.slaves, ["eth1"]);
    let f = find(&found, Code::OneWayLoss);
    assert_eq!(f.bond, "a / b");
    assert!(f.summary.contains("Frames from a to b over this link are lost"), "{f}");
    // Each report alone cannot say which way: only the pair gives one-way-loss.
    assert!(!codes(&diagnose(&bonds[..1]), Severity::Info).contains(&Code::OneWayLoss));
}

#[test]
fn two_switches() {
    let toml = format!(
        r#"{HOSTS}
[[switch]]
name = "sw1"
ports = 2
channels = [[1, 2]]

[[switch]]
name = "sw2"
ports = 2
channels = [[1, 2]]

[[link]]
a = "a:eth0"
b = "sw1:p1"

[[link]]
a = "a:eth1"
b = "sw2:p1"

[[link]]
a = "b:eth0"
b = "sw1:p2"

[[link]]
a = "b:eth1"
b = "sw2:p2"
"#
    );
    let found = diagnose(&run(&toml));
    let f = find(&of(&found, "a"), Code::AggregatorSplit).clone();
    assert!(f.summary.contains("different partner systems"), "{f}");
    assert!(f.fix.contains("MLAG"), "{f}");
}

#[test]
fn rates_differ() {
    let toml =
        format!("{HOSTS}{DIRECT}").replacen("lacp_rate = \"fast\"", "lacp_rate = \"slow\"", 1);
    let found = diagnose(&run(&toml));
    let f = find(&of(&found, "a"), Code::LacpRateMismatch).clone();
    assert_eq!(f.slaves, ["eth0", "eth1"]);
    assert!(
        f.summary.contains("asks for slow (30 s) LACPDUs and the partner for fast (1 s)"),
        "{f}"
    );
    find(&of(&found, "b"), Code::LacpRateMismatch);
}

#[test]
fn virtio_nics_refused_or_assumed() {
    let virtio = |policy: &str| {
        format!("{HOSTS}{DIRECT}")
            .replace("ip = \"10.0.0.1\"", "ip = \"10.0.0.1\"\nmodel = \"virtio\"")
            .replace("ip = \"10.0.0.2\"", "ip = \"10.0.0.2\"\nmodel = \"virtio\"")
            .replace("miimon = 100,", &format!("miimon = 100, ad_unknown_speed = \"{policy}\","))
    };
    let found = diagnose(&run(&virtio("refuse")));
    let f = find(&of(&found, "a"), Code::SpeedUnknown).clone();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.contains("failed to get link speed/duplex"), "{f}");
    let found = diagnose(&run(&virtio("default")));
    let f = find(&of(&found, "a"), Code::SpeedUnknown).clone();
    assert_eq!(f.severity, Severity::Info, "{f}");
    assert!(f.summary.contains("assumes 10000 Mb/s"), "{f}");
}

#[test]
fn a_link_down_and_a_flapping_one() {
    let toml = format!(
        "{HOSTS}{DIRECT}\n[[event]]\nat = \"5s\"\ndown = \"a:eth0\"\n\n[[event]]\nat = \"6s\"\nflap = {{ port = \"a:eth1\", count = 3, period = \"400ms\" }}\n"
    );
    let found = diagnose(&run(&toml));
    let a = of(&found, "a");
    assert_eq!(find(&a, Code::SlaveDown).slaves, ["eth0"]);
    assert_eq!(find(&a, Code::SingleLink).slaves, ["eth1"]);
    assert_eq!(find(&a, Code::LinkFlaps).slaves, ["eth1"]);
    // The cable is down: b lost eth0 too.
    assert_eq!(find(&of(&found, "b"), Code::SingleLink).slaves, ["eth1"]);
}

/// Two hosts' balance-rr bonds with micro-BFD at 10 ms; `events` staged on top.
fn bfd_pair(events: &str) -> Vec<Bond> {
    let bond = |peer: &str| {
        format!(
            "bond = {{ mode = \"balance-rr\", miimon = 100, bfd = \"on\", bfd_min_tx = 10, \
             bfd_min_rx = 10, bfd_multiplier = 3, bfd_peer = \"{peer}\" }}"
        )
    };
    run(&format!(
        "seed = 7\nrun = \"10s\"\n[[host]]\nname = \"a\"\nip = \"10.0.0.1\"\n{}\n\
         [[host]]\nname = \"b\"\nip = \"10.0.0.2\"\n{}\n{DIRECT}{events}",
        bond("10.0.0.2"),
        bond("10.0.0.1"),
    ))
}

#[test]
fn micro_bfd_sessions_up_say_nothing() {
    let found = diagnose(&bfd_pair(""));
    assert!(found.is_empty(), "{}", show(&found));
}

#[test]
fn a_silent_member_failure_is_a_bfd_session_down_with_the_link_up() {
    // From 5 s on, every frame a's eth1 sends is lost: the carriers stay up.
    let bonds = bfd_pair("[[event]]\nat = \"5s\"\noneway = \"a:eth1\"\n");
    let found = diagnose(&bonds);
    for host in ["a", "b"] {
        let mine = of(&found, host);
        let f = find(&mine, Code::BfdDown);
        assert_eq!(f.slaves, ["eth1"], "{f}");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.contains("although its link is up"), "{f}");
        assert!(f.fix.contains("UDP port 6784"), "{f}");
        assert!(!codes(&mine, Severity::Info).contains(&Code::SlaveDown), "{}", show(&mine));
    }
    // a still hears b, which says it hears nothing: a's session waits in Init.
    let f = find(&of(&found, "a"), Code::BfdDown).clone();
    assert!(f.evidence[0].contains("eth1: BFD Status: init"), "{f}");
    assert!(f.summary.contains("frames sent on this link are lost"), "{f}");
    // b stopped hearing a: its session timed out.
    let f = find(&of(&found, "b"), Code::BfdDown).clone();
    assert!(f.evidence[0].contains("eth1: BFD Status: down"), "{f}");
    assert!(f.summary.contains("control detection time expired"), "{f}");
}

#[test]
fn a_repaired_member_says_its_bfd_session_went_down_before() {
    let bonds =
        bfd_pair("[[event]]\nat = \"4s\"\noneway = \"a:eth1\"\n[[event]]\nat = \"6s\"\nrepair = \"a:eth1\"\n");
    let found = diagnose(&bonds);
    assert!(!codes(&found, Severity::Info).contains(&Code::BfdDown), "{}", show(&found));
    for host in ["a", "b"] {
        let f = find(&of(&found, host), Code::BfdFlaps).clone();
        assert_eq!(f.slaves, ["eth1"], "{f}");
        assert!(f.evidence.iter().any(|e| e.contains("BFD Down Count: 1")), "{f}");
    }
}
