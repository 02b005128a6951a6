//! The rootless demo tells its story and checks it.

#[test]
fn the_demo_negotiates_pings_and_survives_a_cut() {
    let mut out = Vec::new();
    let ok = ubond_lab::demo::run_demo(&mut out).expect("writing to a Vec");
    let text = String::from_utf8(out).expect("utf-8");
    println!("{text}");
    assert!(ok, "{text}");
    assert!(text.contains("negotiated at t="), "{text}");
    assert_eq!(text.matches("5/5 replies").count(), 2, "{text}");
    assert_eq!(text.matches("Bonding Mode: IEEE 802.3ad Dynamic link aggregation").count(), 2);
    assert_eq!(text.matches("Number of ports: 1").count(), 2, "{text}");
    assert!(text.contains("the flow: 6000/6000 frames arrived"), "{text}");
}
