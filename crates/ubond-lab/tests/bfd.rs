//! Micro-BFD in the lab: a silent one-way failure (frames sent from one NIC lost, carriers
//! up) under a balance-rr flow. The MII monitor never sees it, so without BFD half the flow is
//! lost until the cable is repaired; with `bfd=on` at 10 ms the member is out within the
//! Detection Time (30 ms), and back only once its session is Up again.

use ubond_lab::scenario::ScenarioResult;
use ubond_lab::script::Script;

fn run(bfd: &str) -> ScenarioResult {
    let text = format!(
        r#"
seed = 7
run = "14s"
[[host]]
name = "a"
ip = "10.0.0.1"
nics = ["eth0", "eth1"]
bond = {{ mode = "balance-rr", miimon = 100{bfd_a} }}
[[host]]
name = "b"
ip = "10.0.0.2"
nics = ["eth0", "eth1"]
bond = {{ mode = "balance-rr", miimon = 100{bfd_b} }}
[[link]]
a = "a:eth0"
b = "b:eth0"
[[link]]
a = "a:eth1"
b = "b:eth1"
[[flow]]
name = "f"
from = "a"
to = "b"
start = "2s"
rate = 1000
duration = "10s"
size = 100
[[event]]
at = "5s"
oneway = "a:eth1"
[[event]]
at = "8s"
repair = "a:eth1"
[[goal]]
flow = {{ name = "f", delivered = 0.0 }}
[[goal]]
flow = {{ name = "f", after = "10s", delivered = 100.0 }}
"#,
        bfd_a = if bfd.is_empty() {
            String::new()
        } else {
            format!(", {bfd}, bfd_peer = \"10.0.0.2\"")
        },
        bfd_b = if bfd.is_empty() {
            String::new()
        } else {
            format!(", {bfd}, bfd_peer = \"10.0.0.1\"")
        },
    );
    let s = Script::parse(&text).expect("parses");
    let r = s.run(s.seed()).expect("runs");
    println!("{}", r.render());
    r
}

fn delivered(r: &ScenarioResult) -> u64 {
    let d = &r.checks.iter().find(|c| c.goal.contains("flow f")).expect("flow goal").detail;
    d.split('/').next().and_then(|n| n.parse().ok()).expect("a count")
}

#[test]
fn micro_bfd_takes_a_silent_member_out_within_the_detection_time() {
    let bfd = run(r#"bfd = "on", bfd_min_tx = 10, bfd_min_rx = 10, bfd_multiplier = 3"#);
    let plain = run("");
    let (with, without) = (delivered(&bfd), delivered(&plain));
    // 10,000 frames; every other one on eth1. Without BFD, 3 s of half the flow.
    assert!(without <= 10_000 - 1400, "without bfd: {without}");
    // With it, at most the Detection Time's worth (30 ms: about 15 frames on eth1) and the
    // frames in flight.
    assert!(with >= 10_000 - 25, "with bfd: {with}");
    assert!(bfd.passed(), "{}", bfd.render());
    let report = &bfd.reports.iter().find(|(h, _)| h == "a").expect("a's report").1;
    assert!(report.contains("BFD Down Count: 1\n"), "{report}");
    assert_eq!(report.matches("BFD Status: up\n").count(), 2, "{report}");
}
