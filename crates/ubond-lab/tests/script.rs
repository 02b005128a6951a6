//! Scenario files: the four seed environments as `.lab` files, and parse errors.

use ubond_lab::script::Script;

fn run_file(text: &str) -> ubond_lab::scenario::ScenarioResult {
    let script = Script::parse(text).expect("scenario file parses");
    let a = script.run(script.seed()).expect("scenario file runs");
    println!("{}", a.render());
    assert!(a.passed(), "{}", a.render());
    let b = script.run(script.seed()).expect("scenario file runs");
    assert_eq!((a.digest, &a.timeline), (b.digest, &b.timeline), "file run not reproducible");
    a
}

#[test]
fn seed1_file() {
    let _ = run_file(include_str!("../scenarios/seed1-bridges.lab"));
}

#[test]
fn seed2_file() {
    let _ = run_file(include_str!("../scenarios/seed2-virtio.lab"));
}

#[test]
fn seed3_file() {
    let _ = run_file(include_str!("../scenarios/seed3-patched.lab"));
}

#[test]
fn seed4_file() {
    let r = run_file(include_str!("../scenarios/seed4-switch.lab"));
    assert_eq!(r.captures.len(), 1);
    let (name, pcap) = &r.captures[0];
    assert_eq!(name, "hostA:eth0");
    assert!(pcap.len() > 24 + 50 * 16, "capture too small: {} octets", pcap.len());
}

#[test]
fn errors_name_line_and_column() {
    let e = Script::parse("seed 1\nhots hostA 10.0.0.1 eth0=e1000\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 1));
    assert!(e.message.contains("did you mean `host`"), "{e}");
    let e = Script::parse("host hostA 10.0.0.1 eth0=e100\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 21));
    let e = Script::parse("at 10x ping a b 1\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 4));
    let e = Script::parse("host a 10.0.0.1 eth0=e1000\nbond a mode nonsense\n")
        .expect("parses")
        .run(1)
        .unwrap_err();
    assert_eq!(e.line, 2);
    let e = Script::parse("host a 10.0.0.1 eth0=e1000\nlink a:eth9 a:eth0\n")
        .expect("parses")
        .run(1)
        .unwrap_err();
    assert!(e.message.contains("no port `eth9`"), "{e}");
}

mod never_panics {
    use proptest::prelude::*;
    use ubond_lab::script::Script;

    const WORDS: &[&str] = &[
        "host",
        "bridge",
        "switch",
        "bond",
        "mask",
        "link",
        "at",
        "expect",
        "run",
        "seed",
        "ping",
        "down",
        "up",
        "loss",
        "oneway",
        "bridge",
        "report",
        "timeline",
        "a",
        "b",
        "br0",
        "sw1",
        "10.0.0.1",
        "eth0=e1000",
        "eth1=virtio@100",
        "a:eth0",
        "b:eth0",
        "br0:p1",
        "sw1:p1",
        "2",
        "1,2",
        "3s",
        "1s..2s",
        "==",
        ">=",
        "\"x\"",
        "mode",
        "802.3ad",
        "patched",
        "é",
        "#",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_any_text(text in ".{0,200}") {
            let _ = Script::parse(&text);
        }

        #[test]
        fn parse_and_run_word_soup(lines in prop::collection::vec(
            prop::collection::vec(prop::sample::select(WORDS), 0..7), 0..12)) {
            let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
            if let Ok(s) = Script::parse(&text) {
                let _ = s.run(1);
            }
        }
    }
}

#[test]
fn seed2_fixed_with_a_configured_virtio_speed() {
    let _ = run_file(include_str!("../scenarios/seed2-virtio-speed.lab"));
}

#[test]
fn seed2_fixed_by_ubond_default_unknown_speed() {
    let _ = run_file(include_str!("../scenarios/seed2-virtio-assume.lab"));
}
