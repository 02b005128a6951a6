//! A driver that restarts (a daemon killed and started again) resumes its ports with
//! `Lacp::resume`: the partner never notices. Two LACP cores over virtual links with skipped
//! time; node 0 "dies" (its frames stop, nothing it would send leaves) and a new core takes its
//! place after a pause.

mod common;

use std::time::Duration;

use common::*;
use ubond_core::lacp::{Lacp, LacpConfig, LinkState, MuxState, PortConfig, PortId, PortResume};
use ubond_wire::slow::PortState;

const HEALTHY_FAST: u8 = 63;

/// Two fast-rate nodes, `n` links, converged; returns (node 0's ports, node 1's ports).
fn converged(n: usize, early_attach: bool) -> (Net, Vec<PortId>, Vec<PortId>) {
    let mut net = Net::new();
    let tweak = |c: &mut LacpConfig| {
        c.lacp_fast = true;
        c.early_attach = early_attach;
    };
    let (pa, pb) = net.pair(n, 1000, tweak, tweak);
    net.run_until(at(5.0));
    for &p in &pb {
        assert_eq!(net.status(1, p).actor.state.0, HEALTHY_FAST);
        assert_eq!(net.status(1, p).partner.state.0, HEALTHY_FAST);
    }
    (net, pa, pb)
}

/// The last LACPDU each of node 0's ports sent, as frame bytes.
fn last_pdus(net: &Net, ports: &[PortId], until: ubond_core::time::Instant) -> Vec<Vec<u8>> {
    ports
        .iter()
        .map(|&p| net.pdus_sent((0, p), at(0.0), until).last().expect("a LACPDU").frame.clone())
        .collect()
}

/// Node 0 dies now, stays dead for `pause`, and a new core takes its place: the same config
/// and ports, each resumed from `saved` (or started afresh with `None`). Node 1's ports are
/// sampled every 10 ms from the death on; returns the lowest-state samples seen, as (actor
/// state, partner state) per port, and the first LACPDU each new port sent.
fn restart(
    net: &mut Net,
    pa: &[PortId],
    pb: &[PortId],
    pause: Duration,
    saved: Option<Vec<PortResume>>,
) -> (Vec<(u8, u8)>, Vec<Vec<u8>>) {
    let config = net.nodes[0].config().clone();
    let mut worst: Vec<(u8, u8)> = vec![(HEALTHY_FAST, HEALTHY_FAST); pb.len()];
    let sample = |net: &Net, worst: &mut Vec<(u8, u8)>| {
        for (i, &p) in pb.iter().enumerate() {
            let s = net.status(1, p);
            if s.actor.state.0 != HEALTHY_FAST {
                worst[i].0 = s.actor.state.0;
            }
            if s.partner.state.0 != HEALTHY_FAST {
                worst[i].1 = s.partner.state.0;
            }
        }
    };
    // Dead: whatever node 0 would send is lost (its frames, and it "hears" nothing that
    // matters, since the new core replaces it).
    for w in &mut net.wires {
        w.drop_from_a = true;
    }
    let end = net.now + pause;
    while net.now < end {
        net.run_for(Duration::from_millis(10));
        sample(net, &mut worst);
    }
    // The new core: the same ports in the same order, links up, resumed before it sends.
    let mut fresh = Lacp::new(config);
    let now = net.now;
    let mut ids = Vec::new();
    for k in 0..pa.len() {
        let cfg = PortConfig::new(mac(1, k as u8 + 1));
        ids.push(fresh.add_port(now, cfg, LinkState::up(1000)).expect("add"));
    }
    assert_eq!(ids, pa, "the same port handles");
    if let Some(saved) = &saved {
        for (id, r) in ids.iter().zip(saved) {
            fresh.resume(now, *id, r).expect("resume");
        }
    }
    net.nodes[0] = fresh;
    for w in &mut net.wires {
        w.drop_from_a = false;
    }
    let restarted = net.now;
    for _ in 0..500 {
        net.run_for(Duration::from_millis(10));
        sample(net, &mut worst);
    }
    let first: Vec<Vec<u8>> = pa
        .iter()
        .map(|&p| {
            net.pdus_sent((0, p), restarted, net.now).first().expect("a LACPDU").frame.clone()
        })
        .collect();
    (worst, first)
}

#[test]
fn a_resumed_driver_sends_its_last_lacpdu_again_and_the_partner_never_leaves_63() {
    for early_attach in [true, false] {
        let (mut net, pa, pb) = converged(2, early_attach);
        let saved: Vec<PortResume> =
            pa.iter().map(|&p| net.nodes[0].port_resume(p).expect("resume info")).collect();
        let before = last_pdus(&net, &pa, net.now);
        let (worst, first) = restart(&mut net, &pa, &pb, Duration::from_millis(500), Some(saved));
        assert_eq!(first, before, "early_attach={early_attach}: the first LACPDU is the last one");
        for (i, w) in worst.iter().enumerate() {
            assert_eq!(*w, (HEALTHY_FAST, HEALTHY_FAST), "early_attach={early_attach} port {i}");
        }
        for &p in &pa {
            let s = net.status(0, p);
            assert_eq!(s.mux, MuxState::CollectingDistributing);
            assert_eq!(s.aggregator_id, Some(1), "the aggregator keeps its identifier");
        }
        // Nothing was counted as received twice.
        assert!(net.nodes[0].distributing_ports() == &pa[..]);
        net.check_invariants();
    }
}

#[test]
fn restarting_without_resume_is_seen_by_the_partner() {
    // The same restart without the saved state: the partner sees its partner leave sync (the
    // test above would catch a resume that did nothing).
    let (mut net, pa, pb) = converged(2, true);
    let (worst, _) = restart(&mut net, &pa, &pb, Duration::from_millis(500), None);
    assert!(
        worst.iter().any(|w| w.1 & PortState::SYNCHRONIZATION == 0),
        "the partner should have seen us out of sync: {worst:?}"
    );
}

#[test]
fn resume_keeps_port_numbers_and_aggregator_ids_that_differ_from_a_fresh_start() {
    // Ports released and enslaved again have numbers and aggregator ids a fresh start would
    // not give them; resuming keeps them.
    let (net, pa, _pb) = converged(2, true);
    let mut saved: Vec<PortResume> =
        pa.iter().map(|&p| net.nodes[0].port_resume(p).expect("resume info")).collect();
    saved[0].port_number = 7;
    saved[0].aggregator_id = 2;
    saved[1].aggregator_id = 5;
    let mut fresh = Lacp::new(net.nodes[0].config().clone());
    let a = fresh.add_port(net.now, PortConfig::new(mac(1, 1)), LinkState::up(1000)).expect("add");
    let b = fresh.add_port(net.now, PortConfig::new(mac(1, 2)), LinkState::up(1000)).expect("add");
    fresh.resume(net.now, a, &saved[0]).expect("resume a");
    fresh.resume(net.now, b, &saved[1]).expect("resume b");
    // Both attach to the first port's aggregator, as before the restart.
    assert_eq!(fresh.port_status(a).expect("a").aggregator_id, Some(2));
    assert_eq!(fresh.port_status(b).expect("b").aggregator_id, Some(2));
    // A port of another speed enslaved afterwards takes the first free aggregator, as Linux
    // does: the second port's own, which kept its resumed identifier.
    let c = fresh.add_port(net.now, PortConfig::new(mac(1, 3)), LinkState::down()).expect("add");
    fresh.handle_link(net.now, c, LinkState::up(100)).expect("link");
    assert_eq!(fresh.port_status(c).expect("c").aggregator_id, Some(5));
    assert_eq!(fresh.port_status(a).expect("a").actor.port, 7);
    fresh.check_invariants().expect("invariants");
}

#[test]
fn bad_resume_data_is_refused_and_changes_nothing() {
    let (net, pa, _pb) = converged(1, true);
    let good = net.nodes[0].port_resume(pa[0]).expect("resume info");
    let mut fresh = Lacp::new(net.nodes[0].config().clone());
    let p = fresh.add_port(net.now, PortConfig::new(mac(1, 1)), LinkState::up(1000)).expect("add");
    let before = fresh.port_status(p).expect("status");
    let garbage = [
        PortResume { partner_pdu: Some(vec![1, 2, 3]), ..good.clone() },
        PortResume { partner_pdu: Some(vec![0u8; 110]), ..good.clone() },
        PortResume { port_number: 0, ..good.clone() },
        PortResume { aggregator_id: 0, ..good.clone() },
    ];
    for bad in &garbage {
        assert!(fresh.resume(net.now, p, bad).is_err(), "{bad:?}");
        assert_eq!(fresh.port_status(p).expect("status"), before, "{bad:?} changed the port");
    }
    // Our own LACPDU (a looped link when the state was saved) is not a partner's: node 1's
    // saved partner PDU is node 0's own.
    let q = net.nodes[1].port_ids().next().expect("node 1's port");
    let own = PortResume {
        partner_pdu: net.nodes[1].port_resume(q).expect("i").partner_pdu,
        ..good.clone()
    };
    assert!(fresh.resume(net.now, p, &own).is_err());
    assert_eq!(fresh.port_status(p).expect("status"), before);
    // Without a PDU, only the number and the aggregator come back.
    let numbers_only = PortResume { partner_pdu: None, ..good.clone() };
    fresh.resume(net.now, p, &numbers_only).expect("numbers only");
    // A port that has spoken already cannot be resumed.
    let mut spoken = Lacp::new(net.nodes[0].config().clone());
    let t = spoken.add_port(net.now, PortConfig::new(mac(1, 1)), LinkState::up(1000)).expect("add");
    spoken.handle_timeout(net.now + Duration::from_millis(50));
    while spoken.poll_transmit().is_some() {}
    assert!(spoken.resume(net.now + Duration::from_millis(50), t, &good).is_err());
}

#[test]
fn partner_timeout_comes_from_the_partners_own_timeout_bit() {
    let (net, pa, _pb) = converged(1, true);
    let r = net.nodes[0].port_resume(pa[0]).expect("resume info");
    assert_eq!(r.partner_timeout(), Some(Duration::from_secs(3)));
    let none = PortResume { partner_pdu: None, ..r };
    assert_eq!(none.partner_timeout(), None);
}
