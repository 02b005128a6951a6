//! Swarm runs: the switch lab under random faults drawn from the seed (carrier flaps, lossy
//! periods, one-way failures), with the invariants checked after every step, then healed, and
//! checked to come back to full aggregation with working ping. Any seed that fails is
//! reproduced exactly by running it again.

use std::time::Duration;

use ubond_core::time::Instant;

use crate::scenario::SwitchLab;
use crate::sim::{LinkId, Rng, SimStats};

/// Swarm settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwarmConfig {
    /// How long faults are injected.
    pub duration: Duration,
    /// How many faults at most.
    pub faults: u32,
    /// How long the healed network gets to recover before the final checks.
    pub recovery: Duration,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            duration: Duration::from_secs(120),
            faults: 12,
            recovery: Duration::from_secs(70),
        }
    }
}

/// A fault the swarm injects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Cable pulled for a while.
    Carrier {
        /// Which link.
        link: usize,
        /// How long.
        down_for: Duration,
    },
    /// Random loss for a while.
    Loss {
        /// Which link.
        link: usize,
        /// Loss probability.
        loss: f64,
        /// How long.
        for_: Duration,
    },
    /// Frames from one end lost, carrier kept, for a while.
    OneWay {
        /// Which link.
        link: usize,
        /// The failing end.
        from_a: bool,
        /// How long.
        for_: Duration,
    },
}

/// What a swarm run saw.
#[derive(Debug, Clone)]
pub struct SwarmOutcome {
    /// The seed.
    pub seed: u64,
    /// The faults, with their start times.
    pub faults: Vec<(Instant, Fault)>,
    /// (sent, answered) echo requests while faults were injected.
    pub ping_during: (usize, usize),
    /// (sent, answered) after recovery.
    pub ping_after: (usize, usize),
    /// Distributing ports of hostA, hostB, Po1, Po2 after recovery.
    pub distributing_after: [usize; 4],
    /// Engine counters.
    pub stats: SimStats,
    /// Frame digest.
    pub digest: u64,
}

impl SwarmOutcome {
    /// True if the network came back: every member distributing, every ping answered.
    pub fn recovered(&self) -> bool {
        self.distributing_after == [2; 4]
            && self.ping_after.0 == self.ping_after.1
            && self.ping_after.0 > 0
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Carrier(usize, bool),
    Loss(usize, f64),
    OneWay(usize, bool, bool),
}

/// Runs one seed.
pub fn run(seed: u64, cfg: SwarmConfig) -> SwarmOutcome {
    let mut rng = Rng::new(seed ^ 0x7377_6172_6d00_0000);
    let mut lab = SwitchLab::new(seed);
    let start = Instant::ZERO + Duration::from_secs(10);
    let end = start + cfg.duration;
    let span = u64::try_from(cfg.duration.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut faults = Vec::new();
    let mut actions: Vec<(Instant, u64, Action)> = Vec::new();
    for k in 0..u64::from(cfg.faults) {
        let at = start + Duration::from_millis(rng.below(span));
        let link = usize::try_from(rng.below(4)).unwrap_or(0);
        let len = Duration::from_millis(100 + rng.below(15_000));
        let heal = (at + len).min(end);
        let fault = match rng.below(3) {
            0 => {
                actions.push((at, 2 * k, Action::Carrier(link, false)));
                actions.push((heal, 2 * k + 1, Action::Carrier(link, true)));
                Fault::Carrier { link, down_for: len }
            }
            1 => {
                let loss = 0.05 + rng.next_f64() * 0.5;
                actions.push((at, 2 * k, Action::Loss(link, loss)));
                actions.push((heal, 2 * k + 1, Action::Loss(link, 0.0)));
                Fault::Loss { link, loss, for_: len }
            }
            _ => {
                let from_a = rng.below(2) == 0;
                actions.push((at, 2 * k, Action::OneWay(link, from_a, true)));
                actions.push((heal, 2 * k + 1, Action::OneWay(link, from_a, false)));
                Fault::OneWay { link, from_a, for_: len }
            }
        };
        faults.push((at, fault));
    }
    faults.sort_by_key(|f| f.0);
    actions.sort_by_key(|a| (a.0, a.1));
    lab.sim.run_until(start);
    let ip = lab.sim.host(lab.b).ip();
    let n = u32::try_from(cfg.duration.as_millis() / 200).unwrap_or(u32::MAX);
    lab.sim.host_mut(lab.a).start_ping(start, ip, Duration::from_millis(200), n);
    lab.sim.poke(lab.a);
    for (at, _, action) in actions {
        lab.sim.run_until(at);
        let link = |i: usize| lab.links[i];
        match action {
            Action::Carrier(i, up) => {
                let l: LinkId = link(i);
                lab.sim.set_carrier(l, up);
            }
            Action::Loss(i, p) => {
                let l = link(i);
                lab.sim.set_loss(l, p);
            }
            Action::OneWay(i, from_a, dead) => {
                let l = link(i);
                lab.sim.set_one_way_failure(l, from_a, dead);
            }
        }
    }
    lab.sim.run_until(end);
    let ping_during = lab.sim.host(lab.a).ping_window(start, end);
    lab.sim.run_for(cfg.recovery);
    let t = lab.sim.now();
    lab.sim.host_mut(lab.a).start_ping(t, ip, Duration::from_secs(1), 10);
    lab.sim.poke(lab.a);
    lab.sim.run_for(Duration::from_secs(11));
    let ping_after = lab.sim.host(lab.a).ping_window(t, t + Duration::from_secs(10));
    let dist = |b: &ubond_core::bond::Bond| b.lacp().map_or(0, |l| l.distributing_ports().len());
    let sw = lab.sim.switch(lab.switch);
    let mut po = sw.bonds().map(dist);
    let distributing_after = [
        dist(lab.sim.host(lab.a).bond()),
        dist(lab.sim.host(lab.b).bond()),
        po.next().unwrap_or(0),
        po.next().unwrap_or(0),
    ];
    SwarmOutcome {
        seed,
        faults,
        ping_during,
        ping_after,
        distributing_after,
        stats: lab.sim.stats(),
        digest: lab.sim.digest(),
    }
}
