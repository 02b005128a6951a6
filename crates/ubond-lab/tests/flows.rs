//! Traffic flows and line rates: a flow within the line rate arrives whole; one above it is
//! cut to the line rate by the tail-dropping queue.

use ubond_lab::script::Script;

/// Two hosts, one NIC each (active-backup), one cable at `rate`, a 1000 frames/s flow of
/// 100-octet payloads (142-octet frames, 166 with preamble, FCS and gap: 1328 bits).
fn flow_over(rate: &str, queue: u32) -> ubond_lab::scenario::ScenarioResult {
    let text = format!(
        r#"
seed = 5
[[host]]
name = "a"
ip = "10.0.0.1"
nics = ["eth0"]
bond = {{ mode = "active-backup", miimon = 100 }}
[[host]]
name = "b"
ip = "10.0.0.2"
nics = ["eth0"]
bond = {{ mode = "active-backup", miimon = 100 }}
[[link]]
a = "a:eth0"
b = "b:eth0"
rate = "{rate}"
queue = {queue}
[[flow]]
name = "f"
from = "a"
to = "b"
start = "1s"
rate = 1000
duration = "10s"
size = 100
[[goal]]
flow = {{ name = "f", delivered = 0.0 }}
"#
    );
    let s = Script::parse(&text).expect("parses");
    let r = s.run(s.seed()).expect("runs");
    println!("{}", r.render());
    r
}

fn delivered(r: &ubond_lab::scenario::ScenarioResult) -> u64 {
    let d = &r.checks.iter().find(|c| c.goal.contains("flow f")).expect("flow goal").detail;
    d.split('/').next().and_then(|n| n.parse().ok()).expect("a count")
}

#[test]
fn a_flow_within_the_line_rate_arrives_whole() {
    let r = flow_over("10Mbit", 100);
    assert_eq!(delivered(&r), 10_000);
    assert_eq!(r.stats.tail_drops, 0);
}

#[test]
fn a_flow_above_the_line_rate_is_cut_to_it() {
    // 1 Mbit/s carries 1e6 / 1328 = 753 frames a second: about 7530 in 10 s, plus the
    // queue's 50 frames that drain after the flow stops.
    let r = flow_over("1Mbit", 50);
    let got = delivered(&r);
    assert!((7500..=7600).contains(&got), "{got} delivered");
    assert_eq!(r.stats.tail_drops, 10_000 - got, "every frame lost was tail-dropped");
    // A longer queue delays more but does not carry more.
    let r2 = flow_over("1Mbit", 1000);
    let got2 = delivered(&r2);
    assert!(got2 > got && got2 <= got + 1000, "{got2} vs {got}");
}

#[test]
fn flow_goal_fails_on_loss() {
    let text = r#"
[[host]]
name = "a"
ip = "10.0.0.1"
nics = ["eth0"]
[[host]]
name = "b"
ip = "10.0.0.2"
nics = ["eth0"]
[[link]]
a = "a:eth0"
b = "b:eth0"
[[flow]]
name = "f"
from = "a"
to = "b"
start = "1s"
rate = 100
count = 500
[[event]]
at = "3s"
down = "a:eth0"
[[event]]
at = "4s"
up = "a:eth0"
[[goal]]
flow = { name = "f", after = "5s" }
[[goal]]
flow = { name = "f", after = "2s" }
"#;
    let s = Script::parse(text).expect("parses");
    let r = s.run(1).expect("runs");
    let flows: Vec<_> = r.checks.iter().filter(|c| c.goal.contains("flow f")).collect();
    assert!(flows[0].ok, "no loss after the cable is back: {flows:?}");
    assert!(!flows[1].ok, "a second without a cable lost nothing? {flows:?}");
}
