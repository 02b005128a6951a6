//! Two bonds of the same mode joined by three wires, driven by random inputs (links going up
//! and down, wires cut, slaves released and enslaved again, options changed, data frames in
//! both directions, time passing): [`Bond::check_invariants`] holds after every step, in every
//! mode, with and without the ARP monitor.

use proptest::prelude::*;

mod common;

use common::bonds::{check, run_pair, Wire2};
use ubond_core::bond::{Bond, SlaveConfig, SlaveId, TxCursor, TxDecision};
use ubond_core::lacp::LinkState;
use ubond_core::options::{BondOptions, LacpRate, Mode};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

const MODES: [Mode; 7] = [
    Mode::BalanceRr,
    Mode::ActiveBackup,
    Mode::BalanceXor,
    Mode::Broadcast,
    Mode::Ieee8023ad,
    Mode::BalanceTlb,
    Mode::BalanceAlb,
];

#[derive(Debug, Clone)]
enum Op {
    /// Both ends of wire `w` lose or get carrier.
    Link(usize, bool),
    /// Wire `w` stops or starts carrying frames (carrier stays).
    Cut(usize, bool),
    /// Bond A releases its slave on wire `w`, or enslaves it again.
    Member(usize, bool),
    /// Bond A's option `name` is set to `value` (refusals are fine).
    Set(&'static str, &'static str),
    /// Bond A goes administratively down or up.
    Admin(bool),
    /// A data frame from A to B (through A's plan) or from B to A.
    Data { from_a: bool, flow: u8, broadcast: bool },
    /// Time passes.
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let set = prop::sample::select(vec![
        ("primary", "eth1"),
        ("primary", ""),
        ("primary_reselect", "better"),
        ("all_slaves_active", "1"),
        ("all_slaves_active", "0"),
        ("fail_over_mac", "follow"),
        ("lacp_rate", "slow"),
        ("lacp_strict", "on"),
        ("lacp_fallback", "on"),
        ("lacp_fallback", "off"),
        ("min_links", "2"),
        ("xmit_hash_policy", "layer3+4"),
        ("tlb_dynamic_lb", "0"),
        ("downdelay", "200"),
        ("updelay", "300"),
        ("arp_interval", "0"),
        ("arp_interval", "100"),
        ("active_slave", "eth2"),
    ]);
    prop_oneof![
        (0..3usize, any::<bool>()).prop_map(|(w, up)| Op::Link(w, up)),
        (0..3usize, any::<bool>()).prop_map(|(w, on)| Op::Cut(w, on)),
        (0..3usize, any::<bool>()).prop_map(|(w, on)| Op::Member(w, on)),
        set.prop_map(|(n, v)| Op::Set(n, v)),
        any::<bool>().prop_map(Op::Admin),
        (any::<bool>(), any::<u8>(), any::<bool>())
            .prop_map(|(from_a, flow, broadcast)| Op::Data { from_a, flow, broadcast }),
        (1..3000u64).prop_map(Op::Wait),
    ]
}

fn slave(side: u8, i: usize) -> SlaveConfig {
    SlaveConfig { name: format!("eth{i}"), perm_mac: MacAddr([2, 0, 0, side, 1, i as u8]) }
}

/// A UDP/IPv4 frame of flow `flow` from `src` (broadcast or to the other bond).
fn data(src: MacAddr, dst: MacAddr, flow: u8) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 17;
    f[26..30].copy_from_slice(&[192, 0, 2, flow]);
    f[30..34].copy_from_slice(&[192, 0, 2, 200]);
    f[34] = flow;
    f
}

fn run_ops(mode: Mode, arp: bool, ops: &[Op]) {
    let mut o = BondOptions { mode, miimon: 100, ..BondOptions::default() };
    o.lacp_rate = LacpRate::Fast;
    if arp && mode.uses_arp() {
        o.miimon = 0;
        o.arp_interval = 100;
        o.arp_ip_target = vec!["192.0.2.2".parse().expect("ip")];
    }
    let mut bonds = [
        Bond::new("bond0", o.clone(), None).expect("bond A"),
        Bond::new("bond0", o, None).expect("bond B"),
    ];
    let mut t = Instant::ZERO;
    let mut wires = Vec::new();
    let mut ids: [Vec<Option<SlaveId>>; 2] = [Vec::new(), Vec::new()];
    for w in 0..3 {
        for (n, bond) in bonds.iter_mut().enumerate() {
            let id = bond.enslave(t, slave(n as u8, w), LinkState::up(1000)).expect("enslave");
            ids[n].push(Some(id));
            check(bond);
        }
        wires.push(Wire2 {
            a: (0, ids[0][w].expect("a")),
            b: (1, ids[1][w].expect("b")),
            up: true,
        });
    }
    bonds[0].set_addresses(vec!["192.0.2.1".parse().expect("ip")], Vec::new());
    let mut cursor = TxCursor::default();
    let mut cut = [false; 3];
    for op in ops {
        match op.clone() {
            Op::Link(w, up) => {
                let link = if up { LinkState::up(1000) } else { LinkState::down() };
                for n in 0..2 {
                    if let Some(id) = ids[n][w] {
                        bonds[n].handle_link(t, id, link).expect("a slave");
                        check(&bonds[n]);
                    }
                }
                wires[w].up = up && !cut[w];
            }
            Op::Cut(w, on) => {
                cut[w] = on;
                wires[w].up = !on;
            }
            Op::Member(w, on) => match (ids[0][w], on) {
                (Some(id), false) => {
                    bonds[0].release(t, id).expect("a slave");
                    ids[0][w] = None;
                    wires[w].up = false;
                    check(&bonds[0]);
                }
                (None, true) => {
                    if let Ok(id) = bonds[0].enslave(t, slave(0, w), LinkState::up(1000)) {
                        ids[0][w] = Some(id);
                        wires[w].a = (0, id);
                        wires[w].up = !cut[w];
                    }
                    check(&bonds[0]);
                }
                _ => {}
            },
            Op::Set(name, value) => {
                let _ = bonds[0].set_option(t, name, value);
                check(&bonds[0]);
            }
            Op::Admin(up) => {
                bonds[0].set_admin_up(t, up);
                check(&bonds[0]);
            }
            Op::Data { from_a, flow, broadcast } => {
                let (from, to) = if from_a { (0, 1) } else { (1, 0) };
                let dst = if broadcast { MacAddr::BROADCAST } else { bonds[to].mac() };
                let mut frame = data(bonds[from].mac(), dst, flow);
                let out: Vec<SlaveId> = match bonds[from].tx_plan().decide(&mut frame, &mut cursor)
                {
                    TxDecision::Send(s) => vec![s],
                    TxDecision::Broadcast => bonds[from].tx_plan().slaves.clone(),
                    TxDecision::ControlPlane => {
                        bonds[from].handle_arp_tx(t, &mut frame).into_iter().collect()
                    }
                    TxDecision::Drop => Vec::new(),
                };
                for s in out {
                    let end = (from, s);
                    let Some(w) = wires.iter().find(|w| w.up && (w.a == end || w.b == end)) else {
                        continue;
                    };
                    let (n, id) = if w.a == end { w.b } else { w.a };
                    bonds[n].handle_frame(t, id, &frame);
                    check(&bonds[n]);
                }
            }
            Op::Wait(ms) => {
                let until = t + std::time::Duration::from_millis(ms);
                run_pair(&mut bonds, &wires, t, until);
                for b in bonds.iter_mut() {
                    b.handle_timeout_with_load(until, &mut cursor.load);
                    check(b);
                }
                t = until;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_input(
        mode in prop::sample::select(MODES.to_vec()),
        arp in any::<bool>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run_ops(mode, arp, &ops);
    }
}

#[test]
fn every_mode_runs_a_long_mix() {
    let ops: Vec<Op> = (0..60)
        .map(|i| match i % 9 {
            0 => Op::Wait(700),
            1 => Op::Link(i % 3, i % 2 == 0),
            2 => Op::Data { from_a: true, flow: i as u8, broadcast: false },
            3 => Op::Data { from_a: false, flow: i as u8, broadcast: i % 4 == 0 },
            4 => Op::Cut(i % 3, i % 5 == 0),
            5 => Op::Member(i % 3, i % 2 == 1),
            6 => Op::Set("primary", "eth1"),
            7 => Op::Admin(i % 7 != 0),
            _ => Op::Wait(1500),
        })
        .collect();
    for mode in MODES {
        for arp in [false, true] {
            run_ops(mode, arp, &ops);
        }
    }
}
