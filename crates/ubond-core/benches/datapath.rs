//! The per-frame work of the data path, through the core only (no I/O): the transmit hash,
//! the slave choice of an 802.3ad `layer3+4` plan (`select`, which the fast path mirrors, and
//! `decide`, the drivers' whole decision), balance-tlb's decision (bucket, source rewrite,
//! byte count), and a received frame's verdict.
//!
//! `cargo bench -p ubond-core --bench datapath` prints one `core.NAME.ns=…` and one
//! `core.NAME.mps=…` (millions per second, one core) line per measurement, read by
//! `bench/run.sh`. Each figure is the best of several rounds over 1,024 different TCP/IPv4
//! frames (one per flow), so that the branch predictor cannot learn a single frame.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant as StdInstant};

use ubond_core::bond::{
    Bond, RxVerdict, SlaveConfig, SlaveId, TxChoice, TxCursor, TxDecision, TxPlan,
};
use ubond_core::hash::{self, XmitHashPolicy};
use ubond_core::lacp::LinkState;
use ubond_core::options::{BondOptions, Mode};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

const FLOWS: usize = 1024;
const ROUNDS: usize = 7;
const ROUND: Duration = Duration::from_millis(300);

/// TCP/IPv4 frames of 1,514 bytes headers first, flow `i` with its own ports and source.
fn frames() -> Vec<Vec<u8>> {
    (0..FLOWS)
        .map(|i| {
            let mut f = vec![0u8; 1514];
            f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
            f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            f[14] = 0x45;
            f[16..18].copy_from_slice(&1500u16.to_be_bytes());
            f[22] = 64;
            f[23] = 6;
            f[26..30].copy_from_slice(&[198, 18, (i >> 8) as u8, i as u8]);
            f[30..34].copy_from_slice(&[198, 18, 1, 2]);
            f[34..36].copy_from_slice(&(10_000 + i as u16).to_be_bytes());
            f[36..38].copy_from_slice(&5201u16.to_be_bytes());
            f[46] = 0x50;
            f
        })
        .collect()
}

/// Runs `f` over every frame, repeatedly, for `ROUNDS` rounds; the best round's time per call.
fn measure(name: &str, frames: &[Vec<u8>], mut f: impl FnMut(&[u8]) -> u32) {
    let mut best = f64::INFINITY;
    let mut sink = 0u32;
    for _ in 0..ROUNDS {
        let start = StdInstant::now();
        let mut calls = 0u64;
        while start.elapsed() < ROUND {
            for fr in frames {
                sink = sink.wrapping_add(f(black_box(fr)));
            }
            calls += frames.len() as u64;
        }
        best = best.min(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    black_box(sink);
    println!("core.{name}.ns={best:.2}");
    println!("core.{name}.mps={:.1}", 1e3 / best);
}

/// [`measure`] for work that may write into the frame (`TxPlan::decide`).
fn measure_mut(name: &str, frames: &mut [Vec<u8>], mut f: impl FnMut(&mut [u8]) -> u32) {
    let mut best = f64::INFINITY;
    let mut sink = 0u32;
    for _ in 0..ROUNDS {
        let start = StdInstant::now();
        let mut calls = 0u64;
        while start.elapsed() < ROUND {
            for fr in frames.iter_mut() {
                sink = sink.wrapping_add(f(black_box(&mut fr[..])));
            }
            calls += frames.len() as u64;
        }
        best = best.min(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    black_box(sink);
    println!("core.{name}.ns={best:.2}");
    println!("core.{name}.mps={:.1}", 1e3 / best);
}

fn sent_on(d: TxDecision) -> u32 {
    match d {
        TxDecision::Send(id) => id.0,
        _ => 0,
    }
}

fn main() {
    let mut frames = frames();
    measure("hash_l34", &frames, |fr| hash::xmit_hash(XmitHashPolicy::Layer34, fr, None));

    let plan = TxPlan {
        policy: XmitHashPolicy::Layer34,
        slaves: vec![SlaveId(1), SlaveId(2)],
        ..TxPlan::empty(Mode::Ieee8023ad)
    };
    let mut counter = 0u32;
    measure("select_8023ad_l34", &frames, |fr| match plan.select(fr, &mut counter) {
        TxChoice::One(id) => id.0,
        _ => 0,
    });
    let rr = TxPlan { slaves: vec![SlaveId(1), SlaveId(2)], ..TxPlan::empty(Mode::BalanceRr) };
    measure("select_rr", &frames, |fr| match rr.select(fr, &mut counter) {
        TxChoice::One(id) => id.0,
        _ => 0,
    });
    let mut cursor = TxCursor::default();
    measure_mut("decide_8023ad_l34", &mut frames, |fr| sent_on(plan.decide(fr, &mut cursor)));

    // balance-tlb over two slaves, its table as the control plane publishes it.
    let opts = BondOptions {
        mode: Mode::BalanceTlb,
        miimon: 100,
        xmit_hash_policy: XmitHashPolicy::Layer34,
        ..BondOptions::default()
    };
    let mut tlb = Bond::new("bond0", opts, None).unwrap();
    for n in 1..=2u8 {
        let cfg = SlaveConfig { name: format!("eth{n}"), perm_mac: MacAddr([2, 0, 0, 0, 1, n]) };
        tlb.enslave(Instant::from_millis(0), cfg, LinkState::up(10_000)).unwrap();
    }
    tlb.handle_timeout(Instant::from_millis(0));
    let tlb_plan = tlb.tx_plan().clone();
    assert!(tlb_plan.tlb.is_some(), "a balance-tlb plan has its table");
    measure_mut("decide_tlb_l34", &mut frames, |fr| sent_on(tlb_plan.decide(fr, &mut cursor)));

    // A received data frame through the whole core entry point (LACP and monitor checks, the
    // receive plan), on a balance-xor bond with two slaves up.
    let opts = BondOptions { mode: Mode::BalanceXor, miimon: 100, ..BondOptions::default() };
    let mut bond = Bond::new("bond0", opts, None).unwrap();
    let t0 = Instant::from_millis(0);
    let ids: Vec<SlaveId> = (1..=2u8)
        .map(|n| {
            let cfg =
                SlaveConfig { name: format!("eth{n}"), perm_mac: MacAddr([2, 0, 0, 0, 1, n]) };
            bond.enslave(t0, cfg, LinkState::up(10_000)).unwrap()
        })
        .collect();
    while bond.poll_event().is_some() {}
    let now = Instant::from_millis(1);
    let mut i = 0usize;
    measure("rx_frame_xor", &frames, |fr| {
        i += 1;
        u32::from(bond.handle_frame(now, ids[i & 1], fr) == RxVerdict::Deliver)
    });
}
