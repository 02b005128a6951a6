//! The control plane's work, through the LACP core only (no I/O): one LACPDU received on a
//! converged bond (the Receive machine, then every machine of every port to a fixed point,
//! then the published data-path state), and a whole negotiation between two bonds.
//!
//! `cargo bench -p ubond-core --bench lacp` prints one `lacp.NAME.ns=…` line per measurement
//! (nanoseconds per call, the best of several rounds, one core).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant as StdInstant};

use ubond_core::lacp::{Lacp, LacpConfig, LinkState, PortConfig, PortId};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

const ROUNDS: usize = 7;
const ROUND: Duration = Duration::from_millis(300);

/// Runs `f` repeatedly for `ROUNDS` rounds; the best round's time per call.
fn measure(name: &str, mut f: impl FnMut() -> u64) {
    let mut best = f64::INFINITY;
    let mut sink = 0u64;
    for _ in 0..ROUNDS {
        let start = StdInstant::now();
        let mut calls = 0u64;
        while start.elapsed() < ROUND {
            for _ in 0..64 {
                sink = sink.wrapping_add(f());
            }
            calls += 64;
        }
        best = best.min(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    black_box(sink);
    println!("lacp.{name}.ns={best:.1}");
}

/// Two bonds of `n` ports each, port `i` of one wired to port `i` of the other.
struct Pair {
    nodes: [Lacp; 2],
    ports: [Vec<PortId>; 2],
    now: Instant,
    /// The last frame each node received on each port.
    last: [Vec<Option<Vec<u8>>>; 2],
}

impl Pair {
    fn new(n: usize) -> Pair {
        let cfg =
            |s: u8| LacpConfig { lacp_fast: true, ..LacpConfig::new(MacAddr([2, 0, 0, 0, s, 0])) };
        let mut nodes = [Lacp::new(cfg(1)), Lacp::new(cfg(2))];
        let mut ports = [Vec::new(), Vec::new()];
        for (k, node) in nodes.iter_mut().enumerate() {
            for i in 0..n {
                let mac = MacAddr([2, 0, 0, 0, k as u8 + 1, i as u8 + 1]);
                let id = node.add_port(Instant::ZERO, PortConfig::new(mac), LinkState::up(10_000));
                ports[k].push(id.unwrap());
            }
        }
        Pair { nodes, ports, now: Instant::ZERO, last: [vec![None; n], vec![None; n]] }
    }

    /// Moves frames between the nodes (instantly) and fires timers until `until`.
    fn run_until(&mut self, until: Instant) -> u64 {
        let mut frames = 0u64;
        loop {
            let mut moved = true;
            while moved {
                moved = false;
                for k in 0..2 {
                    while let Some(tx) = self.nodes[k].poll_transmit() {
                        let i = self.ports[k].iter().position(|&p| p == tx.port).unwrap();
                        let to = self.ports[1 - k][i];
                        self.nodes[1 - k].handle_frame(self.now, to, &tx.frame);
                        self.last[1 - k][i] = Some(tx.frame.to_vec());
                        frames += 1;
                        moved = true;
                    }
                    while self.nodes[k].poll_event().is_some() {}
                }
            }
            match self.nodes.iter().filter_map(Lacp::poll_timeout).min() {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for node in &mut self.nodes {
                        if node.poll_timeout().is_some_and(|d| d <= self.now) {
                            node.handle_timeout(self.now);
                        }
                    }
                }
                _ => return frames,
            }
        }
    }
}

fn main() {
    // One LACPDU (the partner's last, unchanged) on a converged bond of 2 and of 8 ports.
    for n in [2, 8] {
        let mut pair = Pair::new(n);
        let t = Instant::from_millis(5_000);
        pair.run_until(t);
        assert_eq!(pair.nodes[0].distributing_ports().len(), n, "the pair converged");
        let frame = pair.last[0][0].clone().unwrap();
        let port = pair.ports[0][0];
        let node = &mut pair.nodes[0];
        measure(&format!("pdu_rx_{n}ports"), || {
            node.handle_frame(t, port, &frame);
            while node.poll_transmit().is_some() {}
            while node.poll_event().is_some() {}
            node.distributing_ports().len() as u64
        });
    }
    // Two bonds of 8 ports from enslaving to distributing (about 3 s of virtual time).
    measure("negotiate_8ports", || {
        let mut pair = Pair::new(8);
        pair.run_until(Instant::from_millis(3_000))
    });
}
