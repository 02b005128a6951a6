//! Same seed ⇒ same run, byte for byte; a different seed may differ.

use std::time::Duration;

use ubond_lab::scenario;
use ubond_lab::script::Lab;

/// Seed 4's topology (two hosts bonded to a switch with LACP port-channels), not yet run.
fn switch_lab(seed: u64) -> Lab {
    scenario::lab(4, seed).expect("seed scenario 4")
}

#[test]
fn same_seed_same_timeline_and_bytes() {
    for n in scenario::SEEDS.map(|s| s.number) {
        let a = scenario::run(n, 42).expect("scenario");
        let b = scenario::run(n, 42).expect("scenario");
        assert_eq!(a.timeline, b.timeline, "scenario {n}: timelines differ");
        assert_eq!(a.digest, b.digest, "scenario {n}: frame digests differ");
        assert_eq!(a.stats, b.stats, "scenario {n}: counters differ");
        assert_eq!(a.reports, b.reports, "scenario {n}: reports differ");
    }
}

#[test]
fn different_seed_changes_the_bytes_not_the_outcome() {
    let a = scenario::run(4, 4).expect("scenario");
    let b = scenario::run(4, 5).expect("scenario");
    // The link jitter is drawn from the seed, so delivery times differ...
    assert_ne!(a.digest, b.digest);
    // ...but the goals hold for both.
    assert!(a.passed() && b.passed());
}

/// Random loss on every link: the run still replays exactly, and LACP survives 5 % loss.
#[test]
fn lossy_links_replay_exactly() {
    let run = |seed: u64| {
        let mut lab = switch_lab(seed);
        let (a, b) = (lab.node("hostA").expect("hostA"), lab.node("hostB").expect("hostB"));
        for l in lab.links().to_vec() {
            lab.sim.set_loss(l, 0.05);
        }
        lab.sim.run_for(Duration::from_secs(10));
        let now = lab.sim.now();
        let ip = lab.sim.host(b).ip();
        lab.sim.host_mut(a).start_ping(now, ip, Duration::from_secs(1), 30);
        lab.sim.poke(a);
        lab.sim.run_for(Duration::from_secs(31));
        let pings = lab.sim.host(a).ping_window(now, lab.sim.now());
        (lab.sim.digest(), lab.sim.timeline().to_vec(), lab.sim.stats(), pings)
    };
    let (d1, t1, s1, p1) = run(9);
    let (d2, t2, s2, p2) = run(9);
    assert_eq!((d1, &t1, s1, p1), (d2, &t2, s2, p2));
    assert!(s1.frames_lost > 0, "5 % loss lost nothing: {s1:?}");
    // Each ping crosses four lossy hops: most still come back.
    assert!(p1.1 * 10 >= p1.0 * 6, "too few replies under 5 % loss: {p1:?}");
}

/// A one-way failure (hostA.eth0 → switch lost, carrier kept): the switch's port times out
/// and the pair stops using that member; ping keeps working after the LACP timeout.
#[test]
fn one_way_failure_is_detected_by_lacp() {
    let mut lab = switch_lab(11);
    let (a, b) = (lab.node("hostA").expect("hostA"), lab.node("hostB").expect("hostB"));
    let switch = lab.node("sw1").expect("sw1");
    let cable = lab.link("hostA:eth0").expect("hostA:eth0 is linked");
    assert_eq!(lab.sim.link(cable).a.node, a, "hostA is the cable's end a");
    lab.sim.run_for(Duration::from_secs(10));
    lab.sim.set_one_way_failure(cable, true, true);
    // The switch's port expires after 3 s and defaults after 6 s; hostA, still hearing the
    // switch, sees its partner's PDUs stop (the defaulted port's periodic rate drops to
    // slow) and expires 3 s later: 9 s in all.
    lab.sim.run_for(Duration::from_secs(10));
    let sw = lab.sim.switch(switch).bonds().next().expect("Po1");
    let sw_dist = sw.lacp().expect("802.3ad").distributing_ports().len();
    let a_dist = lab.sim.host(a).bond().lacp().expect("802.3ad").distributing_ports().len();
    assert_eq!(
        (sw_dist, a_dist),
        (1, 1),
        "the dead member is still distributing:\n{}\n{}",
        lab.sim.switch(switch).proc_report(0).unwrap_or_default(),
        lab.sim.host(a).proc_report()
    );
    let now = lab.sim.now();
    let ip = lab.sim.host(b).ip();
    lab.sim.host_mut(a).start_ping(now, ip, Duration::from_secs(1), 10);
    lab.sim.poke(a);
    lab.sim.run_for(Duration::from_secs(11));
    assert_eq!(lab.sim.host(a).ping_window(now, lab.sim.now()), (10, 10));
}
