//! Swarm: random faults on the switch lab; every seed must keep the invariants and recover.

use ubond_lab::swarm::{self, SwarmConfig};

#[test]
fn a_hundred_seeds_recover() {
    let mut failed = Vec::new();
    for seed in 1..=100 {
        let out = swarm::run(seed, SwarmConfig::default());
        println!(
            "seed {seed}: {} faults, ping during {:?}, after {:?}, distributing {:?}",
            out.faults.len(),
            out.ping_during,
            out.ping_after,
            out.distributing_after
        );
        if !out.recovered() {
            failed.push((seed, out.faults.clone(), out.distributing_after, out.ping_after));
        }
    }
    assert!(failed.is_empty(), "seeds that did not recover: {failed:#?}");
}

#[test]
fn a_swarm_seed_replays_exactly() {
    let a = swarm::run(3, SwarmConfig::default());
    let b = swarm::run(3, SwarmConfig::default());
    assert_eq!((a.digest, a.stats, a.ping_during), (b.digest, b.stats, b.ping_during));
}
