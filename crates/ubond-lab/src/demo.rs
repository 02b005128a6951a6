//! The demo topology, for `ubond demo` without root: two hosts, two direct cables between
//! them, an 802.3ad bond (`lacp_rate=fast`) with an address on each. LACP negotiates, ping
//! crosses, one cable is pulled, traffic continues; both hosts' `/proc/net/bonding/bond0`
//! reports are printed. [`run_demo`] narrates it.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::options::{BondOptions, SetContext};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

use crate::host::{Host, NicModel};
use crate::script::negotiated;
use crate::sim::{Node, NodeId, PortRef, Sim};

/// The demo's bond options, as `ubond add` would take them.
pub const DEMO_BOND_OPTIONS: &str =
    "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4";
/// hostA's address.
pub const DEMO_IP_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// hostB's address.
pub const DEMO_IP_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The PRNG seed of the demo (the run is the same every time).
pub const DEMO_SEED: u64 = 2026;

fn demo_host(name: &str, n: u8, ip: Ipv4Addr) -> Host {
    let mut o = BondOptions::new();
    for kv in DEMO_BOND_OPTIONS.split_whitespace() {
        if let Some((k, v)) = kv.split_once('=') {
            // The options are constants the kernel accepts; a refusal would show in the
            // reports (and the demo's checks) rather than panic.
            let _ = o.set(k, v, &SetContext::new());
        }
    }
    let nics = [
        ("eth0", NicModel::E1000, MacAddr([0x52, 0x54, 0, 0, n, 1])),
        ("eth1", NicModel::E1000, MacAddr([0x52, 0x54, 0, 0, n, 2])),
    ];
    let mut host = Host::new(name, "bond0", o.clone(), &nics, ip);
    if host.is_err() {
        // Only an impossible option set gets here; fall back to the kernel's defaults.
        host = Host::new(name, "bond0", BondOptions::new(), &nics, ip);
    }
    host.unwrap_or_else(|e| unreachable!("a two-NIC bond with default options: {e}"))
}

fn secs(t: Instant) -> f64 {
    t.as_nanos() as f64 / 1e9
}

/// Pings `to` from `from` `n` times, 200 ms apart; returns (sent, answered).
fn ping(sim: &mut Sim, from: NodeId, to: Ipv4Addr, n: u32) -> (usize, usize) {
    let start = sim.now();
    sim.host_mut(from).start_ping(start, to, Duration::from_millis(200), n);
    sim.poke(from);
    sim.run_for(Duration::from_millis(200) * n + Duration::from_secs(1));
    sim.host(from).ping_window(start, start + Duration::from_millis(200) * n)
}

/// Runs the demo and writes its narrative to `out`; `Ok(true)` if everything it shows
/// happened (LACP negotiated on both links, every ping answered before and after the cut,
/// the flow kept flowing, one port left in each aggregator). Errors are `out`'s.
pub fn run_demo(out: &mut dyn Write) -> io::Result<bool> {
    let mut ok = true;
    let mut sim = Sim::new(DEMO_SEED);
    let a = sim.add_node(Node::Host(Box::new(demo_host("hostA", 0x0a, DEMO_IP_A))));
    let b = sim.add_node(Node::Host(Box::new(demo_host("hostB", 0x0b, DEMO_IP_B))));
    writeln!(out, "ubond demo (in the lab: simulated hosts and cables, the real bonding core)")?;
    writeln!(out)?;
    writeln!(out, "  hostA bond0 {DEMO_IP_A}/24  eth0 ──────── eth0  hostB bond0 {DEMO_IP_B}/24")?;
    writeln!(out, "                           eth1 ──────── eth1")?;
    writeln!(out, "  both: ubond add bond0 {DEMO_BOND_OPTIONS}; ubond enslave bond0 eth0 eth1")?;
    writeln!(out)?;
    let l0 = sim.connect(PortRef { node: a, port: 0 }, PortRef { node: b, port: 0 });
    let _l1 = sim.connect(PortRef { node: a, port: 1 }, PortRef { node: b, port: 1 });
    sim.set_latency(l0, Duration::from_micros(50), Duration::from_micros(5));

    // 1. LACP negotiates: step until both hosts distribute on both links (at most 10 s).
    writeln!(out, "1. LACP negotiates (LACPDUs every second, lacp_rate=fast):")?;
    let mut when = None;
    for _ in 0..100 {
        sim.run_for(Duration::from_millis(100));
        if negotiated(vec![sim.host(a).bond()]).0 && negotiated(vec![sim.host(b).bond()]).0 {
            when = Some(sim.now());
            break;
        }
    }
    for e in sim.timeline().iter().filter(|e| {
        e.what.contains(" mux ")
            || e.what.contains("active aggregator")
            || e.what.contains("carrier")
    }) {
        writeln!(out, "   {e}")?;
    }
    match when {
        Some(t) => writeln!(
            out,
            "   negotiated at t={:.1}s: both ports of both hosts collecting and distributing (port state 63)",
            secs(t)
        )?,
        None => {
            ok = false;
            writeln!(out, "   NOT negotiated after 10 s")?;
        }
    }
    writeln!(out)?;

    // 2. Ping across, and a flow hostA → hostB that runs through the cut.
    let (s, r) = ping(&mut sim, a, DEMO_IP_B, 5);
    ok &= s == 5 && r == 5;
    writeln!(out, "2. ping {DEMO_IP_B} from hostA: {r}/{s} replies")?;
    let flow_start = sim.now();
    let (rate, frames) = (1000u32, 6000u64);
    sim.host_mut(a).start_flow(flow_start, 1, DEMO_IP_B, rate, frames, 200);
    sim.poke(a);
    sim.run_for(Duration::from_secs(2));
    writeln!(out, "   and a UDP flow hostA → hostB, {rate} frames/s for 6 s")?;
    writeln!(out)?;

    // 3. One cable pulled.
    let cut = sim.now();
    writeln!(out, "3. t={:.1}s: the eth0 cable is pulled", secs(cut))?;
    let mark = sim.timeline().len();
    sim.set_carrier(l0, false);
    let (s, r) = ping(&mut sim, a, DEMO_IP_B, 5);
    ok &= s == 5 && r == 5;
    for e in &sim.timeline()[mark..] {
        if e.what.contains(" mux ") || e.what.contains("carrier") || e.what.contains("aggregator") {
            writeln!(out, "   {e}")?;
        }
    }
    writeln!(out, "   ping {DEMO_IP_B} from hostA: {r}/{s} replies")?;
    sim.run_until(flow_start + Duration::from_secs(7));
    let got = sim.host(b).flow_rx(1).map_or(0, |f| f.received);
    let lost = frames.saturating_sub(got);
    writeln!(
        out,
        "   the flow: {got}/{frames} frames arrived ({lost} lost when the cable was pulled with frames on it)"
    )?;
    ok &= got + 10 >= frames;
    writeln!(out)?;

    // 4. The reports.
    writeln!(out, "4. /proc/net/bonding/bond0 on both hosts:")?;
    for h in [a, b] {
        let report = sim.host(h).proc_report();
        ok &= report.contains("Number of ports: 1");
        writeln!(out, "--- {}", sim.host(h).name())?;
        writeln!(out, "{report}")?;
    }
    if let Some(v) = sim.violation() {
        ok = false;
        writeln!(out, "{v}")?;
    }
    writeln!(
        out,
        "{}",
        if ok { "demo: everything above worked" } else { "demo: FAILED (see above)" }
    )?;
    Ok(ok)
}
