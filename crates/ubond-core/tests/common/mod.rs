//! A deterministic harness: several `Lacp` cores joined by virtual wires, with skipped time
//! (quinn's `Pair`, generalized to N nodes). Nothing sleeps: the clock jumps to the next
//! deadline or frame delivery.
#![allow(dead_code)]

pub mod bonds;

use std::collections::BTreeMap;
use std::time::Duration;

use ubond_core::lacp::{Event, Lacp, LacpConfig, LinkState, PortConfig, PortId, PortStatus};
use ubond_core::time::Instant;
use ubond_wire::slow::{self, LacpduRepr};
use ubond_wire::MacAddr;

/// One end of a wire: (node index, port).
pub type End = (usize, PortId);

/// A frame seen on a wire, for assertions.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub from: End,
    pub frame: Vec<u8>,
}

impl Seen {
    pub fn lacpdu(&self) -> Option<LacpduRepr> {
        let p = slow::Packet::new_checked(&self.frame[14..]).ok()?;
        LacpduRepr::parse(&p).ok()
    }
}

pub struct Wire {
    pub a: End,
    pub b: End,
    /// Carrier on both ends.
    pub up: bool,
    /// Frames from this end are silently lost (a dead partner that keeps carrier).
    pub drop_from_a: bool,
    pub drop_from_b: bool,
    pub delay: Duration,
}

pub struct Net {
    pub nodes: Vec<Lacp>,
    pub wires: Vec<Wire>,
    pub now: Instant,
    /// In-flight frames keyed by (delivery time, sequence) so ties keep sending order.
    in_flight: BTreeMap<(Instant, u64), (End, Vec<u8>)>,
    seq: u64,
    pub seen: Vec<Seen>,
    pub events: Vec<(Instant, usize, Event)>,
}

pub fn mac(node: u8, port: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, node, port])
}

/// The system MAC of node `n` (as its bond MAC would be).
pub fn system(node: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, node, 0])
}

impl Net {
    pub fn new() -> Net {
        Net {
            nodes: Vec::new(),
            wires: Vec::new(),
            now: Instant::ZERO,
            in_flight: BTreeMap::new(),
            seq: 0,
            seen: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Adds a node; `tweak` adjusts its config (rate, activity...).
    pub fn node(&mut self, tweak: impl FnOnce(&mut LacpConfig)) -> usize {
        let n = self.nodes.len();
        let mut cfg = LacpConfig::new(system(n as u8 + 1));
        tweak(&mut cfg);
        self.nodes.push(Lacp::new(cfg));
        n
    }

    pub fn add_port(&mut self, node: usize, link: LinkState) -> PortId {
        let k = self.nodes[node].port_ids().count() as u8 + 1;
        let cfg = PortConfig::new(mac(node as u8 + 1, k));
        let id = self.nodes[node].add_port(self.now, cfg, link).expect("add port");
        self.drain();
        id
    }

    /// Joins two ports with a wire (carrier up, 10 µs latency).
    pub fn wire(&mut self, a: End, b: End) -> usize {
        self.wires.push(Wire {
            a,
            b,
            up: true,
            drop_from_a: false,
            drop_from_b: false,
            delay: Duration::from_micros(10),
        });
        self.wires.len() - 1
    }

    /// A pair of nodes joined by `n` wires of `mbps` each; returns their ports.
    pub fn pair(
        &mut self,
        n: usize,
        mbps: u32,
        a_cfg: impl FnOnce(&mut LacpConfig),
        b_cfg: impl FnOnce(&mut LacpConfig),
    ) -> (Vec<PortId>, Vec<PortId>) {
        let a = self.node(a_cfg);
        let b = self.node(b_cfg);
        let mut pa = Vec::new();
        let mut pb = Vec::new();
        for _ in 0..n {
            let x = self.add_port(a, LinkState::up(mbps));
            let y = self.add_port(b, LinkState::up(mbps));
            self.wire((a, x), (b, y));
            pa.push(x);
            pb.push(y);
        }
        (pa, pb)
    }

    /// Sets a wire's carrier on both ends.
    pub fn set_carrier(&mut self, w: usize, up: bool, mbps: u32) {
        self.wires[w].up = up;
        let link = if up { LinkState::up(mbps) } else { LinkState::down() };
        let (a, b) = (self.wires[w].a, self.wires[w].b);
        for (n, p) in [a, b] {
            self.nodes[n].handle_link(self.now, p, link).expect("link");
        }
        self.drain();
    }

    /// Carrier returns on a wire, but node A hears of it `skew` before node B (one end of a
    /// veth set up by hand, the other end's daemon told by netlink a little later).
    pub fn carrier_returns_skewed(&mut self, w: usize, mbps: u32, skew: Duration) {
        self.wires[w].up = true;
        let (a, b) = (self.wires[w].a, self.wires[w].b);
        self.nodes[a.0].handle_link(self.now, a.1, LinkState::up(mbps)).expect("link");
        self.drain();
        self.run_for(skew);
        self.nodes[b.0].handle_link(self.now, b.1, LinkState::up(mbps)).expect("link");
        self.drain();
    }

    fn peer(&self, from: End) -> Option<(usize, End)> {
        self.wires.iter().enumerate().find_map(|(i, w)| {
            if w.a == from {
                Some((i, w.b))
            } else if w.b == from {
                Some((i, w.a))
            } else {
                None
            }
        })
    }

    /// Moves every queued frame and event out of the nodes, after checking their invariants.
    fn drain(&mut self) {
        self.check_invariants();
        for n in 0..self.nodes.len() {
            while let Some(ev) = self.nodes[n].poll_event() {
                self.events.push((self.now, n, ev));
            }
            while let Some(tx) = self.nodes[n].poll_transmit() {
                let from = (n, tx.port);
                self.seen.push(Seen { at: self.now, from, frame: tx.frame.to_vec() });
                let Some((w, to)) = self.peer(from) else { continue };
                let wire = &self.wires[w];
                let dropped = !wire.up
                    || (wire.a == from && wire.drop_from_a)
                    || (wire.b == from && wire.drop_from_b);
                if !dropped {
                    self.seq += 1;
                    self.in_flight
                        .insert((self.now + wire.delay, self.seq), (to, tx.frame.to_vec()));
                }
            }
        }
    }

    /// Injects a frame as if it arrived on `to` now.
    pub fn inject(&mut self, to: End, frame: &[u8]) {
        self.nodes[to.0].handle_frame(self.now, to.1, frame);
        self.drain();
    }

    /// Runs the network until `until` (absolute), jumping from deadline to deadline.
    pub fn run_until(&mut self, until: Instant) {
        self.drain();
        for _ in 0..10_000_000 {
            let next_frame = self.in_flight.keys().next().map(|k| k.0);
            let next_timer = self.nodes.iter().filter_map(|n| n.poll_timeout()).min();
            let next = [next_frame, next_timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    if next_frame == Some(t) {
                        let key = *self.in_flight.keys().next().expect("frame");
                        let (to, frame) = self.in_flight.remove(&key).expect("frame");
                        self.nodes[to.0].handle_frame(self.now, to.1, &frame);
                    } else {
                        for n in 0..self.nodes.len() {
                            if self.nodes[n].poll_timeout().is_some_and(|d| d <= self.now) {
                                self.nodes[n].handle_timeout(self.now);
                            }
                        }
                    }
                    self.drain();
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("network did not reach {until:?}: livelock");
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub fn status(&self, node: usize, port: PortId) -> PortStatus {
        self.nodes[node].port_status(port).expect("port")
    }

    /// LACPDUs sent by (node, port) in the time window [from, to).
    pub fn pdus_sent(&self, from: End, t0: Instant, t1: Instant) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| s.from == from && s.at >= t0 && s.at < t1 && s.frame[14] == 1)
            .collect()
    }

    /// Checks the whole-system invariants of DESIGN.md on every node (`Lacp::check_invariants`;
    /// the harness also checks them after every step).
    pub fn check_invariants(&self) {
        for (n, node) in self.nodes.iter().enumerate() {
            if let Err(v) = node.check_invariants() {
                panic!("node {n} at {:?}: {v}", self.now);
            }
        }
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at(s: f64) -> Instant {
    Instant::from_nanos((s * 1e9) as u64)
}
