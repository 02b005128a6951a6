//! Swarm runs: from a seed, a random [`Script`] — a topology (two hosts back to back, across
//! Linux bridges, or across a switch with LACP port-channels), a bonding mode that makes
//! sense there with options drawn too (`lacp_rate` per host and switch, `ad_select`, `updelay` and
//! `downdelay`, `primary` and `primary_reselect`, the ARP monitor with each `arp_validate`
//! for active-backup across bridges, the hash policy, micro-BFD back to back), e1000 or virtio NICs, host clocks up to 100 ppm
//! apart, 2 to 4 links per host,
//! link rates and latencies, a traffic flow, and a mix of faults (carrier flaps, bursts of
//! short flaps, lossy periods, one-way failures, bridges going down) — then a quiet phase after
//! which everything must have converged. The goals are those of any scenario file, so a
//! failing seed is written as a TOML file ([`Script::to_toml`]) that `ubond lab run` replays
//! to the same failure, byte for byte.
//!
//! | topology | modes |
//! |---|---|
//! | back to back, 2-3 links | balance-rr, active-backup, balance-xor, broadcast, 802.3ad |
//! | 2-3 Linux bridges joined by inter-switch links (ageing 30 s) | active-backup, balance-tlb, balance-alb |
//!
//! Left out, because the kernel fails there too: balance-tlb and balance-alb back to back
//! (they rely on a switch forwarding by destination address: back to back, a frame arrives on
//! the peer's slave facing the sender's choice, and the peer drops unicast on inactive slaves
//! (tlb) or broadcast ARP there (alb), so address resolution can stall for good);
//! balance-rr, balance-xor and broadcast across bridges (flooded frames reach several slaves,
//! each is delivered: duplicates). The bridges age their addresses in 30 s: after a
//! failover a bridge that never sees the moved address again keeps sending to the old port
//! until then (a real switch does the same in its ageing time), and the quiet phase must
//! cover it.
//! | two patched bridges (`group_fwd_mask` 4), no inter-switch link | 802.3ad |
//! | a switch with one LACP port-channel per host, 2-3 links each | 802.3ad |
//!
//! After the quiet phase: the engine's invariants held after every step; the flow lost
//! nothing after the quiet phase; pings are all answered; with 802.3ad, both hosts are
//! negotiated on every link and every pair of LACP ports agrees (`converged`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::scenario::ScenarioResult;
use crate::script::{
    unspanned, Action, BridgeSpec, Cmp, EventSpec, FlowGoal, FlowSpec, Goal, GoalSpec, HostSpec,
    LinkSpec, LossSpec, OptValue, PingGoal, PingSpec, PortName, Rate, Script, SwitchSpec, Time,
};
use crate::sim::Rng;

/// Swarm settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwarmConfig {
    /// How long faults are injected (from 5 s on).
    pub faults_for: Duration,
    /// How many faults at most (at least one).
    pub max_faults: u32,
    /// How long the healed network gets to converge before the final checks.
    pub quiet: Duration,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            faults_for: Duration::from_secs(60),
            max_faults: 10,
            // Slow-rate LACP gives up on a silent partner after 90 s.
            quiet: Duration::from_secs(100),
        }
    }
}

/// The topologies the swarm draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// Two hosts, cables between their NICs.
    BackToBack,
    /// NIC i of both hosts on bridge i; the bridges joined by an inter-switch link.
    Bridges,
    /// NIC i of both hosts on patched bridge i (LACPDUs forwarded), no inter-switch link.
    PatchedBridges,
    /// Both hosts on one switch, one LACP port-channel each.
    Switch,
}

impl Topology {
    /// A short name for listings.
    pub fn name(self) -> &'static str {
        match self {
            Topology::BackToBack => "back-to-back",
            Topology::Bridges => "bridges",
            Topology::PatchedBridges => "patched-bridges",
            Topology::Switch => "switch",
        }
    }
}

/// What a swarm seed produced.
#[derive(Debug, Clone)]
pub struct SwarmOutcome {
    /// The seed.
    pub seed: u64,
    /// The topology drawn.
    pub topology: Topology,
    /// The bonding mode drawn.
    pub mode: &'static str,
    /// The scenario it ran (write it with [`Script::to_toml`] to reproduce a failure).
    pub script: Script,
    /// The run.
    pub result: ScenarioResult,
}

impl SwarmOutcome {
    /// True if every goal held.
    pub fn passed(&self) -> bool {
        self.result.passed()
    }

    /// The first failed goal, worded (an invariant violation first: it stopped the run, so
    /// the goals checked after it fail as a consequence).
    pub fn failure(&self) -> Option<String> {
        let checks = &self.result.checks;
        let invariant = checks.iter().rev().find(|c| !c.ok && c.goal.starts_with("invariants"));
        invariant
            .or_else(|| checks.iter().find(|c| !c.ok))
            .map(|c| format!("{}: {}", c.goal, c.detail))
    }
}

const MODES_B2B: [&str; 5] = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad"];
const MODES_BRIDGES: [&str; 3] = ["active-backup", "balance-tlb", "balance-alb"];
const HASHES: [&str; 3] = ["layer2", "layer2+3", "layer3+4"];

fn pick<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[usize::try_from(rng.below(xs.len() as u64)).unwrap_or(0)]
}

fn at(t: Time, action: Action) -> EventSpec {
    EventSpec { at: t, action }
}

/// The random scenario of `seed`.
pub fn scenario(seed: u64, cfg: SwarmConfig) -> (Script, Topology, &'static str) {
    let mut rng = Rng::new(seed ^ 0x7377_6172_6d00_0000);
    let topology = match rng.below(4) {
        0 => Topology::BackToBack,
        1 => Topology::Bridges,
        2 => Topology::PatchedBridges,
        _ => Topology::Switch,
    };
    let mode = match topology {
        Topology::BackToBack => pick(&mut rng, &MODES_B2B),
        Topology::Bridges => pick(&mut rng, &MODES_BRIDGES),
        Topology::PatchedBridges | Topology::Switch => "802.3ad",
    };
    let nics = 2 + usize::try_from(rng.below(3)).unwrap_or(0);
    let mut s = Script::new(&format!("swarm seed {seed}: {} {mode}", topology.name()), seed);
    let hash = pick(&mut rng, &HASHES);
    let ad_select = pick(&mut rng, &["stable", "bandwidth", "count"]);
    let delay = if rng.below(3) == 0 { 200 } else { 0 };
    let primary = rng.below(2) == 0;
    let reselect = pick(&mut rng, &["always", "better", "failure"]);
    // active-backup across bridges: the ARP monitor instead of MII, half the time. Not back
    // to back: once both hosts lost their active slave, each probes from one slave after the
    // other at the same interval, and they can stay a cable apart for as long as it takes
    // their clocks to drift one probe interval apart (hours at 100 ppm):
    // findings/arp-probe-lockstep*.toml.
    let arp = mode == "active-backup" && topology == Topology::Bridges && rng.below(2) == 0;
    let arp_interval = 100 + 100 * rng.below(5);
    let arp_validate = pick(&mut rng, &["none", "active", "backup", "all"]);
    // NIC models: e1000, virtio without a speed (802.3ad assumes one, the ubond default) or
    // virtio with one.
    let model = pick(&mut rng, &["e1000", "virtio", "virtio@1000"]);
    // Micro-BFD, back to back only (a switch or a bridge in the middle does not speak it), half
    // the time, the same timers on both hosts; drawn from a generator of its own, so the rest
    // of a seed's script is what it was before BFD was drawn.
    let mut brng = Rng::new(seed ^ 0x6266_6400_0000_0000);
    let bfd = topology == Topology::BackToBack && brng.below(2) == 0;
    let bfd_interval = pick(&mut brng, &["10", "20", "50", "100"]);
    let bfd_mult = pick(&mut brng, &["1", "3", "5"]);
    let names: Vec<String> = (0..nics).map(|i| format!("eth{i}")).collect();
    for (h, ip, peer) in [("hostA", "10.0.0.1", "10.0.0.2"), ("hostB", "10.0.0.2", "10.0.0.1")] {
        let mut bond = std::collections::BTreeMap::new();
        let mut set = |k: &str, v: OptValue| {
            bond.insert(k.to_string(), unspanned(v));
        };
        let text = |v: &str| OptValue::Text(v.to_string());
        set("mode", text(mode));
        if arp {
            set("arp_interval", OptValue::Int(i64::try_from(arp_interval).unwrap_or(100)));
            set("arp_ip_target", text(&format!("+{peer}")));
            set("arp_validate", text(arp_validate));
        } else {
            set("miimon", OptValue::Int(100));
        }
        if mode == "802.3ad" {
            // Each host its own rate: asymmetric rates must work too.
            set("lacp_rate", text(if rng.below(2) == 0 { "fast" } else { "slow" }));
            set("ad_select", text(ad_select));
        } else if delay > 0 && !arp {
            set("updelay", OptValue::Int(delay));
            set("downdelay", OptValue::Int(delay));
        }
        if mode == "active-backup" && primary {
            set("primary", text("eth0"));
            set("primary_reselect", text(reselect));
        }
        if matches!(mode, "802.3ad" | "balance-xor" | "balance-tlb" | "balance-alb") {
            set("xmit_hash_policy", text(hash));
        }
        if bfd {
            set("bfd", text("on"));
            set("bfd_min_tx", text(bfd_interval));
            set("bfd_min_rx", text(bfd_interval));
            set("bfd_multiplier", text(bfd_mult));
            set("bfd_peer", text(peer));
        }
        s.hosts.push(unspanned(HostSpec {
            name: h.to_string(),
            ip: ip.parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST),
            nics: names.clone(),
            model: model.to_string(),
            clock_ppm: Some(i32::try_from(rng.below(201)).unwrap_or(100) - 100),
            bond,
        }));
    }
    let link = |rng: &mut Rng, a: PortName, b: PortName| {
        let rate = match rng.below(3) {
            0 => None,
            1 => Some(Rate(100_000_000)),
            _ => Some(Rate(1_000_000_000)),
        };
        LinkSpec {
            a,
            b,
            latency: Some(Time(Duration::from_micros(1 + rng.below(500)))),
            jitter: Some(Time(Duration::from_micros(1 + rng.below(50)))),
            rate,
            queue: rate.map(|_| 100),
            loss: None,
            capture: false,
        }
    };
    let mut bridges = Vec::new();
    match topology {
        Topology::BackToBack => {
            for n in &names {
                let l = link(&mut rng, PortName::new("hostA", n), PortName::new("hostB", n));
                s.links.push(unspanned(l));
            }
        }
        Topology::Bridges | Topology::PatchedBridges => {
            let patched = topology == Topology::PatchedBridges;
            for (i, n) in names.iter().enumerate() {
                let br = format!("br{i}");
                let ports = if patched { 2 } else { 4 };
                s.bridges.push(unspanned(BridgeSpec {
                    name: br.clone(),
                    ports,
                    patched,
                    group_fwd_mask: patched.then_some(4),
                    ageing: (!patched).then_some(Time::secs(30)),
                }));
                for (h, p) in [("hostA", "p1"), ("hostB", "p2")] {
                    let l = link(&mut rng, PortName::new(h, n), PortName::new(&br, p));
                    s.links.push(unspanned(l));
                }
                bridges.push(br);
            }
            if !patched {
                // The inter-switch links: br0 p3 - br1 p4, br1 p3 - br2 p4, ... (no loop).
                for i in 1..nics {
                    let a = PortName::new(&format!("br{}", i - 1), "p3");
                    let b = PortName::new(&format!("br{i}"), "p4");
                    let mut l = link(&mut rng, a, b);
                    l.rate = None;
                    l.queue = None;
                    s.links.push(unspanned(l));
                }
            }
        }
        Topology::Switch => {
            let ports = 2 * nics;
            s.switches.push(unspanned(SwitchSpec {
                name: "sw1".to_string(),
                ports,
                channels: vec![(1..=nics).collect(), (nics + 1..=ports).collect()],
                bond: [
                    ("lacp_rate", if rng.below(2) == 0 { "fast" } else { "slow" }),
                    ("ad_select", pick(&mut rng, &["stable", "bandwidth", "count"])),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), unspanned(OptValue::Text(v.to_string()))))
                .collect(),
            }));
            for (i, n) in names.iter().enumerate() {
                for (h, p) in [("hostA", i + 1), ("hostB", nics + i + 1)] {
                    let l =
                        link(&mut rng, PortName::new(h, n), PortName::new("sw1", &format!("p{p}")));
                    s.links.push(unspanned(l));
                }
            }
        }
    }
    // The faults, on the links that touch a host (and the bridges themselves).
    let host_ports: Vec<PortName> = s
        .links
        .iter()
        .map(|l| l.get_ref())
        .flat_map(|l| [l.a.clone(), l.b.clone()])
        .filter(|p| p.node.starts_with("host"))
        .collect();
    let start = Duration::from_secs(5);
    let end = start + cfg.faults_for;
    let span = u64::try_from(cfg.faults_for.as_millis()).unwrap_or(u64::MAX).max(1);
    let n = 1 + rng.below(u64::from(cfg.max_faults.max(1)));
    let mut events = Vec::new();
    for _ in 0..n {
        let t0 = Time(start + Duration::from_millis(rng.below(span)));
        let len = Duration::from_millis(100 + rng.below(20_000));
        let t1 = Time((t0.0 + len).min(end));
        let port =
            host_ports[usize::try_from(rng.below(host_ports.len() as u64)).unwrap_or(0)].clone();
        let kinds = if bridges.is_empty() { 4 } else { 5 };
        match rng.below(kinds) {
            3 => {
                // A burst of short flaps (a bad connector): 2 to 8, 10-300 ms apart.
                let mut t = t0.0;
                for _ in 0..2 + rng.below(7) {
                    if t >= end {
                        break;
                    }
                    events.push(at(Time(t), Action::Down(port.clone())));
                    t += Duration::from_millis(10 + rng.below(290));
                    events.push(at(Time(t.min(end)), Action::Up(port.clone())));
                    t += Duration::from_millis(10 + rng.below(290));
                }
            }
            0 => {
                events.push(at(t0, Action::Down(port.clone())));
                events.push(at(t1, Action::Up(port)));
            }
            1 => {
                let p = (0.05 + rng.next_f64() * 0.6).clamp(0.0, 1.0);
                let p = (p * 1000.0).round() / 1000.0;
                events.push(at(t0, Action::Loss(LossSpec { port: port.clone(), p })));
                events.push(at(t1, Action::Loss(LossSpec { port, p: 0.0 })));
            }
            2 => {
                // Either end of the cable may be the one that stops sending.
                let far = s
                    .links
                    .iter()
                    .map(|l| l.get_ref())
                    .find_map(|l| {
                        if l.a == port {
                            Some(l.b.clone())
                        } else if l.b == port {
                            Some(l.a.clone())
                        } else {
                            None
                        }
                    })
                    .unwrap_or_else(|| port.clone());
                let end_port = if rng.below(2) == 0 { port } else { far };
                events.push(at(t0, Action::Oneway(end_port.clone())));
                events.push(at(t1, Action::Repair(end_port)));
            }
            _ => {
                let br =
                    bridges[usize::try_from(rng.below(bridges.len() as u64)).unwrap_or(0)].clone();
                events.push(at(t0, Action::BridgeDown(br.clone())));
                events.push(at(t1, Action::BridgeUp(br)));
            }
        }
    }
    // Everything healed at the end of the fault phase (no-ops where nothing is broken).
    let heal = Time(end);
    for l in s.links.iter().map(|l| l.get_ref().clone()) {
        events.push(at(heal, Action::Up(l.a.clone())));
        events.push(at(heal, Action::Loss(LossSpec { port: l.a.clone(), p: 0.0 })));
        events.push(at(heal, Action::Repair(l.a)));
        events.push(at(heal, Action::Repair(l.b)));
    }
    for br in &bridges {
        events.push(at(heal, Action::BridgeUp(br.clone())));
    }
    events.sort_by_key(|e| e.at);
    s.events.extend(events.into_iter().map(unspanned));
    // Traffic: a flow A → B through the whole run, pings after the quiet phase.
    let settled = Time(end + cfg.quiet);
    let rate = 20 + u32::try_from(rng.below(180)).unwrap_or(0);
    let flow_end = settled.0 + Duration::from_secs(10);
    s.flows.push(unspanned(FlowSpec {
        name: "a-to-b".to_string(),
        from: "hostA".to_string(),
        to: "hostB".to_string(),
        start: Time::secs(2),
        rate,
        count: None,
        duration: Some(Time(flow_end - Duration::from_secs(2))),
        size: Some(64 + usize::try_from(rng.below(1400)).unwrap_or(0)),
    }));
    s.events.push(unspanned(at(
        settled,
        Action::Ping(PingSpec {
            from: "hostB".to_string(),
            to: "hostA".to_string(),
            count: 5,
            interval: Time::millis(500),
        }),
    )));
    let goal = |at, goal| unspanned(GoalSpec { at, goal });
    s.goals.push(goal(
        None,
        Goal::Flow(FlowGoal {
            name: "a-to-b".to_string(),
            after: Some(settled),
            delivered: None,
            expect: None,
        }),
    ));
    s.goals.push(goal(
        None,
        Goal::Ping(PingGoal {
            host: "hostB".to_string(),
            from: settled,
            to: Time(settled.0 + Duration::from_secs(3)),
            expect: Cmp::Count(5),
        }),
    ));
    if mode == "802.3ad" {
        for h in ["hostA", "hostB"] {
            s.goals.push(goal(Some(settled), Goal::Negotiated(h.to_string())));
        }
        s.goals.push(goal(Some(settled), Goal::Converged(true)));
    }
    s.run = Some(Time(flow_end + Duration::from_secs(1)));
    (s, topology, mode)
}

/// Runs one seed.
pub fn run(seed: u64, cfg: SwarmConfig) -> SwarmOutcome {
    let (script, topology, mode) = scenario(seed, cfg);
    let result = match script.run(seed) {
        Ok(r) => r,
        // The generator writes only valid scenarios; if not, say so as a failed goal.
        Err(e) => ScenarioResult {
            scenario: 0,
            title: script.title.clone(),
            seed,
            timeline: Vec::new(),
            reports: Vec::new(),
            checks: vec![crate::scenario::GoalCheck {
                goal: "the generated scenario is valid".to_string(),
                ok: false,
                detail: e.to_string(),
            }],
            digest: 0,
            stats: crate::sim::SimStats::default(),
            elapsed: Duration::ZERO,
            captures: Vec::new(),
        },
    };
    SwarmOutcome { seed, topology, mode, script, result }
}

/// Runs seeds `seeds` on `threads` threads (each seed alone is deterministic); calls
/// `each` with every outcome in seed order.
pub fn run_many(
    seeds: std::ops::Range<u64>,
    cfg: SwarmConfig,
    threads: usize,
    mut each: impl FnMut(&SwarmOutcome),
) {
    let threads = threads.clamp(1, 64) as u64;
    // In chunks, so memory stays bounded and output comes in order.
    let chunk = 64 * threads;
    let mut lo = seeds.start;
    while lo < seeds.end {
        let hi = lo.saturating_add(chunk).min(seeds.end);
        // Each thread takes the chunk's next seed when it is done with one: seeds differ in
        // cost several times over, and fixed shares left a thread idle at each chunk's end.
        let next = AtomicU64::new(lo);
        let mut outs: Vec<SwarmOutcome> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    sc.spawn(|| {
                        std::iter::from_fn(|| {
                            let s = next.fetch_add(1, Ordering::Relaxed);
                            (s < hi).then(|| run(s, cfg))
                        })
                        .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        outs.sort_by_key(|o| o.seed);
        for o in &outs {
            each(o);
        }
        lo = hi;
    }
}
