//! Simulated seconds per wall second, on the seed's scenario 4 topology (two hosts bonded
//! with 802.3ad to a switch with LACP port-channels, `lacp_rate fast`). Goal: one virtual
//! hour in under one wall second. `cargo bench -p ubond-lab` prints the table; nothing is
//! asserted on time (machines differ), but each run's traffic is checked so that a broken
//! simulation cannot look fast.

use std::time::{Duration, Instant as WallClock};

use ubond_lab::scenario;

struct Row {
    name: &'static str,
    virtual_s: f64,
    wall_s: f64,
    frames: u64,
}

/// One virtual hour after negotiation: LACPDUs every second on four links, plus a ping a
/// second and (if `flow_rate` > 0) a UDP flow hostA → hostB.
fn hour(name: &'static str, flow_rate: u32) -> Row {
    let wall = WallClock::now();
    let mut lab = scenario::lab(4, 4).expect("seed scenario 4");
    let (a, b) = (lab.node("hostA").expect("hostA"), lab.node("hostB").expect("hostB"));
    lab.sim.run_for(Duration::from_secs(10));
    let start = lab.sim.now();
    let ip = lab.sim.host(b).ip();
    let hour = Duration::from_secs(3600);
    lab.sim.host_mut(a).start_ping(start, ip, Duration::from_secs(1), 3600);
    if flow_rate > 0 {
        let n = u64::from(flow_rate) * 3600;
        lab.sim.host_mut(a).start_flow(start, 1, ip, flow_rate, n, 100);
    }
    lab.sim.poke(a);
    lab.sim.run_for(hour);
    let wall_s = wall.elapsed().as_secs_f64();
    let (sent, answered) = lab.sim.host(a).ping_window(start, start + hour);
    assert_eq!(sent, answered, "{name}: pings lost");
    assert!(sent >= 3599, "{name}: only {sent} pings");
    if flow_rate > 0 {
        let got = lab.sim.host(b).flow_rx(1).map_or(0, |f| f.received);
        assert_eq!(got, u64::from(flow_rate) * 3600, "{name}: flow frames lost");
    }
    assert_eq!(lab.sim.violation(), None);
    Row {
        name,
        virtual_s: hour.as_secs_f64() + 10.0,
        wall_s,
        frames: lab.sim.stats().frames_delivered,
    }
}

fn main() {
    // `cargo test --benches` runs this too; keep that quick.
    let quick = std::env::args().any(|a| a == "--test");
    let rows = if quick {
        vec![hour("scenario 4, 1 h, LACP + ping", 0)]
    } else {
        vec![
            hour("scenario 4, 1 h, LACP + ping", 0),
            hour("scenario 4, 1 h, LACP + ping + 100 frames/s", 100),
            hour("scenario 4, 1 h, LACP + ping + 1000 frames/s", 1000),
        ]
    };
    println!(
        "{:<46} {:>10} {:>9} {:>12} {:>12}",
        "run", "virtual s", "wall s", "virtual/wall", "deliveries"
    );
    for r in rows {
        println!(
            "{:<46} {:>10.0} {:>9.3} {:>12.0} {:>12}",
            r.name,
            r.virtual_s,
            r.wall_s,
            r.virtual_s / r.wall_s.max(1e-9),
            r.frames
        );
    }
}
