//! The seed's environments as built-in scenarios. Each builds a topology, drives it with
//! faults and pings on a script, and returns a [`ScenarioResult`]: the timeline of state
//! changes, each host's `/proc/net/bonding` report, and the goal checks.
//!
//! | scenario | topology | what it shows |
//! |---|---|---|
//! | 1 | two hosts, 802.3ad, two stock Linux bridges, e1000 NICs | LACP never negotiates; each port is its own aggregator; connectivity depends on which bridge is up |
//! | 2 | the same over patched bridges (LACPDUs forwarded), virtio NICs, `ad_unknown_speed refuse` | "failed to get link speed/duplex": no aggregation, no connectivity |
//! | 3 | patched bridges, e1000 NICs | aggregation works; a link loss keeps connectivity |
//! | 4 | two hosts on a switch with LACP port-channels | both negotiate (port state 63), ping works and survives a member loss |

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::lacp::UnknownSpeed;
use ubond_core::options::{BondOptions, LacpRate, Mode};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

use crate::bridge::LinuxBridge;
use crate::host::{Host, NicModel};
use crate::sim::{LinkId, Node, NodeId, PortRef, Sim, SimStats, TimelineEntry};
use crate::switch::{switch_bond_options, LacpSwitch};

/// The built-in scenarios, by number.
pub const SCENARIOS: [u32; 4] = [1, 2, 3, 4];

/// One goal of a scenario and whether the run met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalCheck {
    /// What was expected.
    pub goal: String,
    /// Whether it held.
    pub ok: bool,
    /// What was observed.
    pub detail: String,
}

/// What a scenario run produced.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// Scenario number.
    pub scenario: u32,
    /// Its title.
    pub title: String,
    /// The PRNG seed.
    pub seed: u64,
    /// State changes in order.
    pub timeline: Vec<TimelineEntry>,
    /// (host, `/proc/net/bonding/bond0` at the end of each phase), in order.
    pub reports: Vec<(String, String)>,
    /// Goal checks.
    pub checks: Vec<GoalCheck>,
    /// Hash of every frame delivery (equal ⇒ byte-identical runs).
    pub digest: u64,
    /// Engine counters.
    pub stats: SimStats,
    /// Virtual time simulated.
    pub elapsed: Duration,
    /// Link captures asked for (scenario files' `capture`): (`NODE:PORT`, pcap file bytes).
    pub captures: Vec<(String, Vec<u8>)>,
}

impl ScenarioResult {
    /// True if every goal held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The timeline, one line per entry.
    pub fn timeline_text(&self) -> String {
        let mut s = String::new();
        for e in &self.timeline {
            let _ = writeln!(s, "{e}");
        }
        s
    }

    /// A human-readable summary: goals, then reports, then the timeline.
    pub fn render(&self) -> String {
        let mut s = match self.scenario {
            0 => format!("{} (seed {})\n", self.title, self.seed),
            n => format!("scenario {n} (seed {}): {}\n", self.seed, self.title),
        };
        for c in &self.checks {
            let _ =
                writeln!(s, "  [{}] {}: {}", if c.ok { "ok" } else { "FAILED" }, c.goal, c.detail);
        }
        for (who, r) in &self.reports {
            let _ = writeln!(s, "--- {who}\n{r}");
        }
        s.push_str("--- timeline\n");
        s.push_str(&self.timeline_text());
        s
    }
}

/// Runs scenario `n` with PRNG seed `seed` (`None`: no such scenario).
pub fn run(n: u32, seed: u64) -> Option<ScenarioResult> {
    match n {
        1 => Some(two_bridges(seed)),
        2 => Some(patched_bridges_virtio(seed)),
        3 => Some(patched_bridges_e1000(seed)),
        4 => Some(lacp_switch(seed)),
        _ => None,
    }
}

/// The hosts' bond options, as in the seed: 802.3ad, `lacp_rate fast`, `miimon 100`.
pub fn host_bond_options() -> BondOptions {
    let mut o = BondOptions::new();
    o.mode = Mode::Ieee8023ad;
    o.lacp_rate = LacpRate::Fast;
    o.miimon = 100;
    o
}

const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn mac(host: u8, nic: u8) -> MacAddr {
    MacAddr([0x52, 0x54, 0x00, 0x00, host, nic])
}

fn host(name: &str, n: u8, model: NicModel, opts: &BondOptions, ip: Ipv4Addr) -> Host {
    let nics = [("eth0", model, mac(n, 1)), ("eth1", model, mac(n, 2))];
    Host::new(name, "bond0", opts.clone(), &nics, ip).expect("a two-NIC 802.3ad host is valid")
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn at(s: u64) -> Instant {
    Instant::ZERO + secs(s)
}

/// Pings B from A for `n` seconds (one per second) starting now; returns (sent, answered),
/// counting a reply that came back within the window plus one second.
fn ping_phase(sim: &mut Sim, a: NodeId, n: u32) -> (usize, usize) {
    let start = sim.now();
    sim.host_mut(a).start_ping(start, IP_B, secs(1), n);
    sim.poke(a);
    sim.run_for(secs(u64::from(n) + 1));
    sim.host(a).ping_window(start, start + secs(u64::from(n)))
}

fn check(checks: &mut Vec<GoalCheck>, goal: &str, ok: bool, detail: String) {
    checks.push(GoalCheck { goal: goal.to_string(), ok, detail });
}

fn count(report: &str, needle: &str) -> usize {
    report.matches(needle).count()
}

/// The aggregator IDs a report lists for its slaves, in order.
fn slave_aggregators(report: &str) -> Vec<String> {
    let mut in_slave = false;
    let mut ids = Vec::new();
    for line in report.lines() {
        if line.starts_with("Slave Interface:") {
            in_slave = true;
        }
        if in_slave {
            if let Some(id) = line.strip_prefix("Aggregator ID: ") {
                ids.push(id.trim().to_string());
            }
        }
    }
    ids
}

struct Bridged {
    sim: Sim,
    a: NodeId,
    b: NodeId,
    br: [NodeId; 2],
    /// [A.eth0-br0, B.eth0-br0, A.eth1-br1, B.eth1-br1]
    links: [LinkId; 4],
}

fn bridged(
    seed: u64,
    patched: bool,
    model: NicModel,
    opts: &BondOptions,
) -> (Bridged, Vec<GoalCheck>) {
    let mut sim = Sim::new(seed);
    let mut checks = Vec::new();
    let a = sim.add_node(Node::Host(Box::new(host("hostA", 0x0a, model, opts, IP_A))));
    let b = sim.add_node(Node::Host(Box::new(host("hostB", 0x0b, model, opts, IP_B))));
    let mut br = [NodeId(0); 2];
    for (i, slot) in br.iter_mut().enumerate() {
        let name = format!("br{i}");
        let mut bridge =
            if patched { LinuxBridge::patched(&name, 2) } else { LinuxBridge::new(&name, 2) };
        let res = bridge.set_group_fwd_mask(0x4);
        let goal = format!("{name}: group_fwd_mask=0x4 (forward LACP)");
        let (ok, detail) = match (&res, patched) {
            (Ok(()), true) => (true, "accepted by the patched kernel".to_string()),
            (Err(e), false) => (true, format!("refused as the stock kernel does: {e}")),
            (Ok(()), false) => (false, "accepted, but the stock kernel refuses bit 2".to_string()),
            (Err(e), true) => (false, format!("refused: {e}")),
        };
        check(&mut checks, &goal, ok, detail);
        *slot = sim.add_node(Node::Bridge(bridge));
    }
    let p = |node, port| PortRef { node, port };
    let links = [
        sim.connect(p(a, 0), p(br[0], 0)),
        sim.connect(p(b, 0), p(br[0], 1)),
        sim.connect(p(a, 1), p(br[1], 0)),
        sim.connect(p(b, 1), p(br[1], 1)),
    ];
    (Bridged { sim, a, b, br, links }, checks)
}

fn finish(
    scenario: u32,
    title: &str,
    sim: &Sim,
    reports: Vec<(String, String)>,
    mut checks: Vec<GoalCheck>,
) -> ScenarioResult {
    checks.push(GoalCheck {
        goal: "invariants held after every step".to_string(),
        ok: sim.violation().is_none(),
        detail: sim.violation().unwrap_or("none violated").to_string(),
    });
    ScenarioResult {
        scenario,
        title: title.to_string(),
        seed: sim.seed(),
        timeline: sim.timeline().to_vec(),
        reports,
        checks,
        digest: sim.digest(),
        stats: sim.stats(),
        elapsed: sim.now().saturating_duration_since(Instant::ZERO),
        captures: Vec::new(),
    }
}

fn first_slave(sim: &Sim, h: NodeId, nic: usize) -> ubond_core::bond::SlaveId {
    let bond = sim.host(h).bond();
    bond.slave_ids().nth(nic).expect("the host has two NICs")
}

fn set_bridge_up(sim: &mut Sim, br: NodeId, up: bool) {
    sim.bridge_mut(br).set_up(up);
}

/// Scenario 1: two hosts, 802.3ad, two stock Linux bridges. LACPDUs never cross a bridge,
/// so nothing negotiates: no host has a partner, each port sits in its own aggregator (IDs 1
/// and 2, as the kernel showed), and traffic flows only through the bridge both hosts' active
/// aggregators happen to use.
pub fn two_bridges(seed: u64) -> ScenarioResult {
    let (mut t, mut checks) = bridged(seed, false, NicModel::E1000, &host_bond_options());
    let sim = &mut t.sim;
    sim.run_until(at(10));
    let ra = sim.host(t.a).proc_report();
    let rb = sim.host(t.b).proc_report();
    let zero = "Partner Mac Address: 00:00:00:00:00:00";
    check(
        &mut checks,
        "no partner in either host's report",
        count(&ra, zero) >= 1 && count(&rb, zero) >= 1 && !ra.contains("port state: 63"),
        format!("hostA: {} zero partner lines, hostB: {}", count(&ra, zero), count(&rb, zero)),
    );
    let ids = slave_aggregators(&ra);
    check(
        &mut checks,
        "hostA's ports in separate aggregators (like the kernel's 1 and 2)",
        ids.len() == 2 && ids[0] != ids[1],
        format!("aggregator IDs {ids:?}"),
    );
    let (s, r) = ping_phase(sim, t.a, 10);
    check(
        &mut checks,
        "both bridges up: ping works",
        s == 10 && r == 10,
        format!("{r}/{s} replies"),
    );
    set_bridge_up(sim, t.br[1], false);
    let (s, r) = ping_phase(sim, t.a, 10);
    check(
        &mut checks,
        "br1 down: ping still works (br0 carries it)",
        s == 10 && r == 10,
        format!("{r}/{s} replies"),
    );
    set_bridge_up(sim, t.br[1], true);
    set_bridge_up(sim, t.br[0], false);
    let (s, r) = ping_phase(sim, t.a, 10);
    check(
        &mut checks,
        "br0 down: ping fails (carrier stays, LACP cannot notice)",
        s == 10 && r == 0,
        format!("{r}/{s} replies"),
    );
    set_bridge_up(sim, t.br[0], true);
    let (s, r) = ping_phase(sim, t.a, 10);
    check(&mut checks, "br0 back: ping works again", s == 10 && r >= 9, format!("{r}/{s} replies"));
    // The kernel run: "st-a kept eth1 and st-b kept eth0, so their traffic went to different
    // bridges and ping died". A flap of hostB's eth0 moves hostB's active aggregator to eth1's
    // (ad_select stable keeps it there when eth0 returns) while hostA stays on eth0.
    sim.set_carrier(t.links[1], false);
    sim.run_for(secs(1));
    sim.set_carrier(t.links[1], true);
    sim.run_for(secs(5));
    let active = |sim: &Sim, h: NodeId| {
        sim.host(h).bond().lacp().and_then(|l| l.active_aggregator()).map(|a| a.ports)
    };
    let (aa, ab) = (active(sim, t.a), active(sim, t.b));
    let port_a = sim.host(t.a).bond().slave_port(first_slave(sim, t.a, 0));
    let port_b = sim.host(t.b).bond().slave_port(first_slave(sim, t.b, 1));
    check(
        &mut checks,
        "after a flap of hostB.eth0: hostA keeps eth0, hostB keeps eth1 (as in the kernel run)",
        aa.as_deref() == port_a.map(|p| vec![p]).as_deref()
            && ab.as_deref() == port_b.map(|p| vec![p]).as_deref(),
        format!("hostA active ports {aa:?}, hostB active ports {ab:?}"),
    );
    let rb2 = sim.host(t.b).proc_report();
    check(
        &mut checks,
        "hostB's actor states as the kernel printed them (active port 79, the other 71, partner 0)",
        count(&rb2, "port state: 79") == 1
            && count(&rb2, "port state: 71") == 1
            && count(&rb2, "port state: 0\n") == 2,
        "port states 79/71/0/0".to_string(),
    );
    let (s, r) = ping_phase(sim, t.a, 10);
    check(
        &mut checks,
        "different bridges on each side: ping dies, both bridges up",
        s == 10 && r == 0,
        format!("{r}/{s} replies"),
    );
    let reports = vec![
        ("hostA".to_string(), ra),
        ("hostB".to_string(), rb),
        ("hostB after its eth0 flapped".to_string(), rb2),
    ];
    finish(1, "two hosts, 802.3ad, two Linux bridges", sim, reports, checks)
}

/// Scenario 2: patched bridges forward LACPDUs, but the NICs are virtio (no speed/duplex)
/// and the bond keeps the kernel's policy (`ad_unknown_speed refuse`): "failed to get link
/// speed/duplex", no aggregation, no connectivity.
pub fn patched_bridges_virtio(seed: u64) -> ScenarioResult {
    let mut opts = host_bond_options();
    opts.ad_unknown_speed = UnknownSpeed::Refuse;
    let (mut t, mut checks) = bridged(seed, true, NicModel::Virtio { speed_mbps: None }, &opts);
    let sim = &mut t.sim;
    sim.run_until(at(10));
    let failed = sim
        .timeline()
        .iter()
        .filter(|e| e.what.contains("failed to get link speed/duplex"))
        .count();
    check(
        &mut checks,
        "\"failed to get link speed/duplex\" for every NIC",
        failed >= 4,
        format!("{failed} such lines in the timeline"),
    );
    let ra = sim.host(t.a).proc_report();
    let rb = sim.host(t.b).proc_report();
    check(
        &mut checks,
        "no aggregation: no port collecting/distributing",
        !ra.contains("port state: 63") && !rb.contains("port state: 63"),
        "neither report shows port state 63".to_string(),
    );
    let (s, r) = ping_phase(sim, t.a, 10);
    check(&mut checks, "ping fails", s == 10 && r == 0, format!("{r}/{s} replies"));
    let reports = vec![("hostA".to_string(), ra), ("hostB".to_string(), rb)];
    finish(2, "patched bridges, virtio NICs, ad_unknown_speed refuse", sim, reports, checks)
}

/// Scenario 3: patched bridges and e1000 NICs: LACP negotiates host to host through the
/// bridges, and losing one link keeps connectivity (the far host times its port out).
pub fn patched_bridges_e1000(seed: u64) -> ScenarioResult {
    let (mut t, mut checks) = bridged(seed, true, NicModel::E1000, &host_bond_options());
    let sim = &mut t.sim;
    sim.run_until(at(10));
    let ra = sim.host(t.a).proc_report();
    let rb = sim.host(t.b).proc_report();
    check(
        &mut checks,
        "both hosts negotiate (port state 63 for actor and partner on both ports)",
        count(&ra, "port state: 63") == 4 && count(&rb, "port state: 63") == 4,
        format!(
            "hostA {} / hostB {} lines with port state 63",
            count(&ra, "port state: 63"),
            count(&rb, "port state: 63")
        ),
    );
    let (s, r) = ping_phase(sim, t.a, 10);
    check(&mut checks, "ping works", s == 10 && r == 10, format!("{r}/{s} replies"));
    sim.set_carrier(t.links[0], false);
    let cut = sim.now();
    let (s, r) = ping_phase(sim, t.a, 20);
    check(
        &mut checks,
        "hostA.eth0 loses its link: ping keeps working (at most the LACP timeout lost)",
        s == 20 && r >= 16,
        format!("{r}/{s} replies"),
    );
    let (s5, r5) = sim.host(t.a).ping_window(cut + secs(5), cut + secs(20));
    check(
        &mut checks,
        "after the timeout every ping is answered",
        s5 == r5 && s5 > 0,
        format!("{r5}/{s5} replies"),
    );
    let ra2 = sim.host(t.a).proc_report();
    let rb2 = sim.host(t.b).proc_report();
    let reports = vec![
        ("hostA".to_string(), ra),
        ("hostB".to_string(), rb),
        ("hostA after the link loss".to_string(), ra2),
        ("hostB after the link loss".to_string(), rb2),
    ];
    finish(3, "patched bridges, e1000 NICs", sim, reports, checks)
}

/// The switch topology: hostA on ports 1-2 (Po1), hostB on ports 3-4 (Po2).
pub struct SwitchLab {
    /// The simulation.
    pub sim: Sim,
    /// hostA.
    pub a: NodeId,
    /// hostB.
    pub b: NodeId,
    /// The switch.
    pub switch: NodeId,
    /// [A.eth0, A.eth1, B.eth0, B.eth1] to the switch.
    pub links: [LinkId; 4],
}

impl SwitchLab {
    /// Builds it, all links up at time zero.
    pub fn new(seed: u64) -> SwitchLab {
        let mut sim = Sim::new(seed);
        let opts = host_bond_options();
        let a =
            sim.add_node(Node::Host(Box::new(host("hostA", 0x0a, NicModel::E1000, &opts, IP_A))));
        let b =
            sim.add_node(Node::Host(Box::new(host("hostB", 0x0b, NicModel::E1000, &opts, IP_B))));
        let system = MacAddr([0x02, 0x5a, 0, 0, 0x01, 0]);
        let sw = LacpSwitch::new("sw1", system, 4, &[&[0, 1], &[2, 3]], &switch_bond_options())
            .expect("two port-channels of two ports are valid");
        let switch = sim.add_node(Node::Switch(Box::new(sw)));
        let p = |node, port| PortRef { node, port };
        let links = [
            sim.connect(p(a, 0), p(switch, 0)),
            sim.connect(p(a, 1), p(switch, 1)),
            sim.connect(p(b, 0), p(switch, 2)),
            sim.connect(p(b, 1), p(switch, 3)),
        ];
        SwitchLab { sim, a, b, switch, links }
    }
}

/// Scenario 4: two hosts on a switch with LACP port-channels: both negotiate (port state 63
/// in their reports), ping works, and cutting one member link keeps it working.
pub fn lacp_switch(seed: u64) -> ScenarioResult {
    let mut lab = SwitchLab::new(seed);
    let mut checks = Vec::new();
    let sim = &mut lab.sim;
    sim.run_until(at(10));
    let ra = sim.host(lab.a).proc_report();
    let rb = sim.host(lab.b).proc_report();
    check(
        &mut checks,
        "both hosts negotiate with the switch (port state 63, actor and partner, both ports)",
        count(&ra, "port state: 63") == 4 && count(&rb, "port state: 63") == 4,
        format!(
            "hostA {} / hostB {} lines with port state 63",
            count(&ra, "port state: 63"),
            count(&rb, "port state: 63")
        ),
    );
    check(
        &mut checks,
        "the partner is the switch",
        ra.contains("Partner Mac Address: 02:5a:00:00:01:00")
            && rb.contains("Partner Mac Address: 02:5a:00:00:01:00"),
        "Partner Mac Address 02:5a:00:00:01:00".to_string(),
    );
    let (s, r) = ping_phase(sim, lab.a, 10);
    check(&mut checks, "ping works", s == 10 && r == 10, format!("{r}/{s} replies"));
    sim.set_carrier(lab.links[0], false);
    let (s, r) = ping_phase(sim, lab.a, 10);
    check(
        &mut checks,
        "hostA.eth0's link cut: ping keeps working",
        s == 10 && r >= 9,
        format!("{r}/{s} replies"),
    );
    let ra2 = sim.host(lab.a).proc_report();
    check(
        &mut checks,
        "hostA's aggregator has one port left",
        ra2.contains("Number of ports: 1"),
        "Number of ports: 1".to_string(),
    );
    sim.set_carrier(lab.links[0], true);
    sim.run_for(secs(5));
    let (s, r) = ping_phase(sim, lab.a, 10);
    let ra3 = sim.host(lab.a).proc_report();
    check(
        &mut checks,
        "link back: two ports again, ping works",
        ra3.contains("Number of ports: 2") && s == 10 && r == 10,
        format!("{r}/{s} replies"),
    );
    let reports = vec![
        ("hostA".to_string(), ra),
        ("hostB".to_string(), rb),
        ("hostA after the cut".to_string(), ra2),
    ];
    finish(4, "the switch with LACP bonds", sim, reports, checks)
}
