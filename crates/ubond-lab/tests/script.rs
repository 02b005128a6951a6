//! Scenario files: seed 2's fixes, the documented example, flaps, and parse errors (the
//! seed environments themselves are in `scenarios.rs`).

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
fn errors_name_line_and_column_and_the_fix() {
    // An unknown key: toml's own message lists the expected ones.
    let e = Script::parse("seed = 1\n[[hots]]\nname = \"a\"\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("unknown field `hots`") && e.message.contains("host"), "{e}");
    // A bad time, at the value.
    let e = Script::parse("[[event]]\nat = \"10x\"\ndown = \"a:eth0\"\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 6), "{e}");
    assert!(e.message.contains("expected a time such as"), "{e}");
    // A bond option the kernel refuses, at the value.
    let host = "[[host]]\nname = \"a\"\nip = \"10.0.0.1\"\n";
    let e = Script::parse(&format!("{host}bond = {{ mode = \"nonsense\" }}\n")).unwrap_err();
    assert_eq!((e.line, e.column), (4, 17), "{e}");
    assert!(e.message.contains("bond option mode"), "{e}");
    // A port that does not exist, at its link, listing what exists.
    let e =
        Script::parse(&format!("{host}\n[[link]]\na = \"a:eth9\"\nb = \"a:eth0\"\n")).unwrap_err();
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("no NIC `eth9` (it has eth0, eth1)"), "{e}");
    // Two actions in one event.
    let e = Script::parse(&format!(
        "{host}\n[[link]]\na = \"a:eth0\"\nb = \"a:eth1\"\n[[event]]\nat = \"1s\"\ndown = \"a:eth0\"\nup = \"a:eth0\"\n"
    ))
    .unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("exactly one action"), "{e}");
    // A goal without its comparison.
    let e = Script::parse(&format!("{host}[[goal]]\nreport = {{ node = \"a\", text = \"x\" }}\n"))
        .unwrap_err();
    assert!(e.message.contains("count, at_least or at_most"), "{e}");
    // A misspelt host name in a goal.
    let e = Script::parse(&format!("{host}[[goal]]\nnegotiated = \"A\"\n")).unwrap_err();
    assert!(e.message.contains("did you mean `a`?"), "{e}");
}

/// A malformed event or goal is refused by the parser where the mistake is: an unknown key
/// or a value of the wrong type where it is written, a missing field or a second action at
/// its table; each message says what was expected.
#[test]
fn malformed_events_and_goals_are_refused_at_their_place() {
    let head =
        "[[host]]\nname = \"a\"\nip = \"10.0.0.1\"\n[[link]]\na = \"a:eth0\"\nb = \"a:eth1\"\n";
    // Line 6 is the last of `head`: what follows starts on line 7.
    let refused = |tail: &str| {
        let e = Script::parse(&format!("{head}{tail}")).expect_err("malformed");
        ((e.line, e.column), e.message)
    };
    // An unknown event kind, at its key, with the actions there are.
    let (at, m) = refused("[[event]]\nat = \"1s\"\ndwn = \"a:eth0\"\n");
    assert_eq!(at, (9, 1), "{m}");
    assert_eq!(
        m,
        "unknown key `dwn`: an event has `at` and one action (ping, down, up, oneway, repair, \
         loss, bridge_down, bridge_up or flap)"
    );
    // Two kinds in one event, at the event, in either order.
    for tail in [
        "[[event]]\nat = \"1s\"\ndown = \"a:eth0\"\nup = \"a:eth1\"\n",
        "[[event]]\nup = \"a:eth1\"\nat = \"1s\"\ndown = \"a:eth0\"\n",
    ] {
        let (at, m) = refused(tail);
        assert_eq!(at, (7, 1), "{m}");
        assert!(m.starts_with("an event needs exactly one action (ping, down, up,"), "{m}");
        assert!(m.ends_with("this one has `down` and `up`: split it into several [[event]] tables"));
    }
    // No action at all.
    let (at, m) = refused("[[event]]\nat = \"1s\"\n");
    assert_eq!(at, (7, 1), "{m}");
    assert!(m.starts_with("an event needs exactly one action") && m.ends_with("has none"), "{m}");
    // A missing field: of the event (at the event), of its action (at the action's value).
    let (at, m) = refused("[[event]]\ndown = \"a:eth0\"\n");
    assert_eq!((at, m.as_str()), ((7, 1), "missing field `at`"));
    let (at, m) = refused("[[event]]\nat = \"1s\"\nping = { from = \"a\" }\n");
    assert_eq!((at, m.as_str()), ((9, 8), "missing field `to`"));
    // A value of the wrong type, at the value, saying what it should be.
    let (at, m) = refused("[[event]]\nat = \"1s\"\ndown = 3\n");
    assert_eq!(at, (9, 8), "{m}");
    assert_eq!(
        m,
        "invalid type: integer `3`, expected NODE:PORT such as \"hostA:eth0\" or \"sw1:p1\""
    );
    let (at, m) =
        refused("[[event]]\nat = \"1s\"\nping = { from = \"a\", to = \"a\", count = \"x\" }\n");
    assert_eq!((at, m.as_str()), ((9, 40), "invalid type: string \"x\", expected u32"));
    // Goals: an unknown key inside a check, two comparisons, a flat goal of the old form
    // (its check wants a table, and says what one looks like).
    let (at, m) = refused("[[goal]]\nreport = { node = \"a\", txt = \"x\", count = 1 }\n");
    assert_eq!(at, (8, 24), "{m}");
    assert_eq!(
        m,
        "unknown key `txt`: a report or timeline goal has `node`, `text` and one comparison \
         (count, at_least or at_most)"
    );
    let (at, m) = refused(
        "[[goal]]\nping = { host = \"a\", from = \"1s\", to = \"2s\", count = 1, at_most = 2 }\n",
    );
    assert_eq!(at, (8, 8), "{m}");
    assert!(m.starts_with("a ping goal needs exactly one comparison (count, at_least or at_most)"));
    assert!(m.ends_with("this one has `count` and `at_most`"), "{m}");
    let (at, m) = refused("[[goal]]\nat = \"1s\"\nreport = \"a\"\n");
    assert_eq!(at, (9, 10), "{m}");
    assert_eq!(
        m,
        "invalid type: string \"a\", expected a report or timeline goal such as \
         { node = \"hostA\", text = \"port state: 63\", count = 4 }"
    );
    let (at, m) = refused("[[goal]]\nconverged = \"yes\"\n");
    assert_eq!((at, m.as_str()), ((8, 13), "invalid type: string \"yes\", expected a boolean"));
}

mod never_panics {
    use proptest::prelude::*;
    use ubond_lab::script::Script;

    const LINES: &[&str] = &[
        "[[host]]",
        "[[bridge]]",
        "[[switch]]",
        "[[link]]",
        "[[event]]",
        "[[goal]]",
        "[[flow]]",
        "name = \"a\"",
        "name = \"b\"",
        "name = \"sw1\"",
        "name = \"f\"",
        "ip = \"10.0.0.1\"",
        "ip = \"10.0.0.2\"",
        "model = \"virtio@100\"",
        "bond = { mode = \"802.3ad\", miimon = 100 }",
        "bond = { mode = \"broadcast\" }",
        "ports = 4",
        "ports = 0",
        "channels = [[1, 2], [3, 4]]",
        "patched = true",
        "group_fwd_mask = 4",
        "a = \"a:eth0\"",
        "b = \"b:eth0\"",
        "b = \"sw1:p1\"",
        "rate = \"1Mbit\"",
        "queue = 3",
        "at = \"3s\"",
        "at = \"1ms\"",
        "down = \"a:eth0\"",
        "oneway = \"b:eth0\"",
        "flap = { port = \"a:eth0\", count = 2, period = \"10ms\" }",
        "ping = { from = \"a\", to = \"b\", count = 3 }",
        "report = \"a\"",
        "text = \"x\"",
        "count = 1",
        "negotiated = \"b\"",
        "converged = true",
        "from = \"a\"",
        "to = \"b\"",
        "start = \"1s\"",
        "rate = 100",
        "count = 50",
        "flow = \"f\"",
        "report = { node = \"a\", text = \"x\", count = 1 }",
        "timeline = { node = \"link\", text = \"carrier\", at_least = 1 }",
        "ping = { host = \"a\", from = \"1s\", to = \"3s\", at_most = 2 }",
        "flow = { name = \"f\", after = \"2s\" }",
        "active_aggregator = { host = \"a\", ports = [\"eth0\"] }",
        "seed = 3",
        "é",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_any_text(text in ".{0,200}") {
            let _ = Script::parse(&text);
        }

        #[test]
        fn parse_and_run_line_soup(lines in prop::collection::vec(prop::sample::select(LINES), 0..30)) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            if let Ok(s) = Script::parse(&text) {
                let _ = s.run(1);
            }
        }
    }
}

#[test]
fn seed2_fixed_with_a_configured_virtio_speed() {
    let _ = run_file(include_str!("../scenarios/seed2-virtio-speed.toml"));
}

#[test]
fn seed2_fixed_by_ubond_default_unknown_speed() {
    let _ = run_file(include_str!("../scenarios/seed2-virtio-assume.toml"));
}

/// The example in the `script` module's documentation parses, runs and meets its goals.
#[test]
fn the_documented_example_passes() {
    let src = include_str!("../src/script.rs");
    let mut lines = src.lines().skip_while(|l| !l.starts_with("//! ```toml")).skip(1);
    let example: String = lines
        .by_ref()
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| {
            l.strip_prefix("//! ").unwrap_or(l.strip_prefix("//!").unwrap_or(l)).to_string() + "\n"
        })
        .collect();
    assert!(example.contains("[[goal]]"), "example not found:\n{example}");
    let r = run_file(&example);
    assert_eq!(r.checks.len(), 5, "{}", r.render());
}

/// A flapping cable: three flaps, each seen by the bond (a link failure each), and LACP
/// back on both links afterwards.
#[test]
fn a_flapping_cable() {
    let text = r#"
seed = 8
[[host]]
name = "a"
ip = "10.0.0.1"
bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100 }
[[host]]
name = "b"
ip = "10.0.0.2"
bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100 }
[[link]]
a = "a:eth0"
b = "b:eth0"
[[link]]
a = "a:eth1"
b = "b:eth1"
[[event]]
at = "5s"
flap = { port = "a:eth0", count = 3, period = "1s" }
[[goal]]
at = "9s"
timeline = { node = "link", text = "carrier down a:eth0<->b:eth0", count = 3 }
[[goal]]
at = "9s"
report = { node = "a", text = "Link Failure Count: 3", count = 1 }
[[goal]]
at = "15s"
negotiated = "a"
[[goal]]
at = "15s"
converged = true
"#;
    let r = run_file(text);
    assert_eq!(r.checks.len(), 5, "{}", r.render());
}

#[test]
fn non_ascii_names_do_not_panic() {
    let text = "[[host]]\nname = \"aé\"\nip = \"10.0.0.1\"\n[[goal]]\nnegotiated = \"aéx\"\n";
    let e = Script::parse(text).unwrap_err();
    assert!(e.message.contains("no node named `aéx`"), "{e}");
}
