//! The discrete-event engine: a virtual clock, an event queue ordered by (time, sequence),
//! nodes with NIC ports, and links between ports (latency, jitter, rate with a bounded
//! tail-drop queue per direction, carrier, loss, one-way failure). Everything is seeded: the same seed and the same calls give the same run, byte
//! for byte ([`Sim::digest`] hashes every frame delivery).
//!
//! The loop is the sans-IO driver of every node: it delivers the earliest in-flight frame,
//! or fires the timers of the nodes whose [`Node::poll_timeout`] is due (deliveries before
//! timers at the same instant, nodes in index order), moves each node's output onto the
//! links, and checks the whole-system invariants after every step. The first violation is
//! recorded ([`Sim::violation`]) and stops the run: the scenario that drove it reports it as a
//! failed goal, naming the seed and the time.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use ubond_core::bond::Bond;
use ubond_core::time::Instant;

use crate::bridge::LinuxBridge;
use crate::host::Host;
use crate::pcap::Captured;
use crate::switch::LacpSwitch;

/// Most frames in flight; more are dropped and counted in [`SimStats::queue_drops`].
pub const QUEUE_LIMIT: usize = 1 << 20;
/// Most steps one [`Sim::run_until`] may take before it declares a livelock.
pub const MAX_STEPS: u64 = 200_000_000;
/// Most frames captured per link; later ones are counted in [`SimStats::capture_drops`].
pub const CAPTURE_LIMIT: usize = 1 << 18;
/// Most timeline entries kept; later ones are counted in [`SimStats::timeline_drops`].
pub const TIMELINE_LIMIT: usize = 1 << 20;
/// A link's default transmit queue per direction, in frames (Linux's `txqueuelen`).
pub const DEFAULT_LINK_QUEUE: usize = 1000;
/// The largest transmit queue a link may be given, in frames.
pub const MAX_LINK_QUEUE: usize = 1 << 16;

/// A small deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform value in [0, n) (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// A node's index in the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// A link's index in the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub usize);

/// One NIC port: (node, port index on that node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    /// The node.
    pub node: NodeId,
    /// The port's index on the node.
    pub port: usize,
}

/// A cable between two ports.
#[derive(Debug, Clone)]
pub struct Link {
    /// One end.
    pub a: PortRef,
    /// The other end.
    pub b: PortRef,
    /// One-way latency.
    pub latency: Duration,
    /// Extra random latency, uniform in [0, jitter).
    pub jitter: Duration,
    /// Carrier on both ends.
    pub up: bool,
    /// Probability that a frame is lost, in [0, 1].
    pub loss: f64,
    /// Frames sent from `a` are lost (carrier stays: a one-way failure).
    pub dead_from_a: bool,
    /// Frames sent from `b` are lost.
    pub dead_from_b: bool,
    /// Line rate in bits per second, each direction (0: unlimited, frames leave at once).
    pub rate_bps: u64,
    /// Frames that may wait for the line per direction; more are tail-dropped (counted in
    /// [`SimStats::tail_drops`]). Only used when `rate_bps` is set.
    pub queue_limit: usize,
    /// Per direction (from `a`, from `b`): when each queued frame finishes serializing.
    backlog: [VecDeque<Instant>; 2],
}

/// A frame a node sends: on which port, and its identity.
#[derive(Debug, Clone)]
pub struct Emit {
    /// The port.
    pub port: usize,
    /// The frame's identity, for the "no frame delivered twice" check.
    pub id: FrameIdentity,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// Which frame an [`Emit`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameIdentity {
    /// A new frame: the engine numbers it.
    New,
    /// Another copy of the previous frame of the same [`Outbox`] (broadcast mode).
    CopyOfPrevious,
    /// A forwarded copy of a received frame (bridges, switches).
    Forwarded(u64),
}

/// What a node produced while handling one input.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Frames to send.
    pub frames: Vec<Emit>,
    /// Timeline notes (state changes), already worded.
    pub notes: Vec<String>,
    /// Invariant violations the node found (for example a frame delivered twice).
    pub violations: Vec<String>,
}

impl Outbox {
    /// Queues a new frame on `port`.
    pub fn send(&mut self, port: usize, frame: Vec<u8>) {
        self.frames.push(Emit { port, id: FrameIdentity::New, frame });
    }

    /// Queues another copy of the previous frame on `port` (the same frame for the
    /// duplicate check).
    pub fn send_copy(&mut self, port: usize, frame: Vec<u8>) {
        self.frames.push(Emit { port, id: FrameIdentity::CopyOfPrevious, frame });
    }

    /// Queues a forwarded copy of frame `id` on `port`.
    pub fn forward(&mut self, port: usize, id: u64, frame: Vec<u8>) {
        self.frames.push(Emit { port, id: FrameIdentity::Forwarded(id), frame });
    }

    /// Adds a timeline note.
    pub fn note(&mut self, s: String) {
        self.notes.push(s);
    }
}

/// One state change, for the scenario's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When.
    pub at: Instant,
    /// Which node (its name; `link` for cable events).
    pub node: String,
    /// What changed.
    pub what: String,
}

impl fmt::Display for TimelineEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.at.as_nanos();
        write!(
            f,
            "{:>6}.{:06} {:<8} {}",
            ns / 1_000_000_000,
            (ns / 1000) % 1_000_000,
            self.node,
            self.what
        )
    }
}

/// Counters of the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimStats {
    /// Steps taken (deliveries plus timer rounds).
    pub steps: u64,
    /// Frames put on a link.
    pub frames_sent: u64,
    /// Frames delivered to a port.
    pub frames_delivered: u64,
    /// Frames lost: no link, no carrier, one-way failure or random loss.
    pub frames_lost: u64,
    /// Frames dropped because the engine's event queue was full.
    pub queue_drops: u64,
    /// Frames tail-dropped because a link's transmit queue was full.
    pub tail_drops: u64,
    /// Timeline entries dropped because the timeline was full.
    pub timeline_drops: u64,
    /// Frames not captured because a capture was full.
    pub capture_drops: u64,
}

/// A simulated device.
#[derive(Debug)]
pub enum Node {
    /// A host with a bond and a small IP stack.
    Host(Box<Host>),
    /// A Linux bridge.
    Bridge(LinuxBridge),
    /// A switch whose port groups are LACP bonds.
    Switch(Box<LacpSwitch>),
}

impl Node {
    /// The node's name.
    pub fn name(&self) -> &str {
        match self {
            Node::Host(h) => h.name(),
            Node::Bridge(b) => b.name(),
            Node::Switch(s) => s.name(),
        }
    }

    /// How many ports it has.
    pub fn port_count(&self) -> usize {
        match self {
            Node::Host(h) => h.port_count(),
            Node::Bridge(b) => b.port_count(),
            Node::Switch(s) => s.port_count(),
        }
    }

    /// A frame arrived on `port`.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        port: usize,
        id: u64,
        frame: &[u8],
        out: &mut Outbox,
    ) {
        match self {
            Node::Host(h) => h.handle_frame(now, port, id, frame, out),
            Node::Bridge(b) => b.handle_frame(now, port, id, frame, out),
            Node::Switch(s) => s.handle_frame(now, port, id, frame, out),
        }
    }

    /// A port's carrier changed.
    pub fn handle_carrier(&mut self, now: Instant, port: usize, up: bool, out: &mut Outbox) {
        match self {
            Node::Host(h) => h.handle_carrier(now, port, up, out),
            Node::Bridge(b) => b.handle_carrier(now, port, up, out),
            Node::Switch(s) => s.handle_carrier(now, port, up, out),
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        match self {
            Node::Host(h) => h.handle_timeout(now, out),
            Node::Bridge(_) => {}
            Node::Switch(s) => s.handle_timeout(now, out),
        }
    }

    /// When [`Node::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Node::Host(h) => h.poll_timeout(),
            Node::Bridge(_) => None,
            Node::Switch(s) => s.poll_timeout(),
        }
    }

    /// The bonds inside the node (for the invariant checks).
    pub fn bonds(&self) -> Vec<&Bond> {
        match self {
            Node::Host(h) => vec![h.bond()],
            Node::Bridge(_) => Vec::new(),
            Node::Switch(s) => s.bonds().collect(),
        }
    }
}

#[derive(Debug)]
struct Delivery {
    link: LinkId,
    to: PortRef,
    id: u64,
    frame: Vec<u8>,
}

/// The simulation. See the [module docs](self).
#[derive(Debug)]
pub struct Sim {
    seed: u64,
    rng: Rng,
    now: Instant,
    nodes: Vec<Node>,
    links: Vec<Link>,
    /// Per node, per port: the link plugged in.
    plugs: Vec<Vec<Option<LinkId>>>,
    queue: BTreeMap<(Instant, u64), Delivery>,
    seq: u64,
    next_frame_id: u64,
    timeline: Vec<TimelineEntry>,
    stats: SimStats,
    digest: u64,
    captures: BTreeMap<LinkId, Vec<Captured>>,
    violation: Option<String>,
    /// Nodes that handled something (or were handed out mutably) since the last invariant
    /// check: only their bonds can have changed, so only theirs are checked again.
    touched: Vec<NodeId>,
}

/// Broadcast copies carry their copy index above this bit of the frame identity.
const COPY_SHIFT: u32 = 48;
const COPY_MASK: u64 = (1 << COPY_SHIFT) - 1;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

impl Sim {
    /// An empty simulation at time zero.
    pub fn new(seed: u64) -> Sim {
        Sim {
            seed,
            rng: Rng::new(seed),
            now: Instant::ZERO,
            nodes: Vec::new(),
            links: Vec::new(),
            plugs: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            next_frame_id: 1,
            timeline: Vec::new(),
            stats: SimStats::default(),
            digest: FNV_OFFSET,
            captures: BTreeMap::new(),
            violation: None,
            touched: Vec::new(),
        }
    }

    fn touch(&mut self, id: NodeId) {
        if !self.touched.contains(&id) {
            self.touched.push(id);
        }
    }

    /// The first invariant violation, worded with the seed and the time (`None`: none yet).
    /// A violation stops the run: [`Sim::run_until`] returns at once afterwards.
    pub fn violation(&self) -> Option<&str> {
        self.violation.as_deref()
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// A hash of every frame delivery so far (time, link, port, bytes): equal digests mean
    /// byte-identical runs.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The state changes so far.
    pub fn timeline(&self) -> &[TimelineEntry] {
        &self.timeline
    }

    /// Adds a node; returns its id.
    pub fn add_node(&mut self, node: Node) -> NodeId {
        self.plugs.push(vec![None; node.port_count()]);
        self.nodes.push(node);
        let id = NodeId(self.nodes.len() - 1);
        self.touch(id);
        id
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// A node, if `id` exists.
    pub fn try_node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// Adds a timeline line for a node (scenario actions such as a bridge going down).
    pub fn record_note(&mut self, node: &str, what: &str) {
        self.record(node.to_string(), what.to_string());
    }

    /// A node, mutably. Call [`Sim::poke`] after changing it so its output is sent.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        self.touch(id);
        &mut self.nodes[id.0]
    }

    /// A host node (panics if `id` is not a host: a scenario bug).
    pub fn host(&self, id: NodeId) -> &Host {
        match &self.nodes[id.0] {
            Node::Host(h) => h,
            other => panic!("node {} is not a host", other.name()),
        }
    }

    /// A host node, mutably.
    pub fn host_mut(&mut self, id: NodeId) -> &mut Host {
        match &mut self.nodes[id.0] {
            Node::Host(h) => h,
            other => panic!("node {} is not a host", other.name()),
        }
    }

    /// A bridge node, mutably.
    pub fn bridge_mut(&mut self, id: NodeId) -> &mut LinuxBridge {
        match &mut self.nodes[id.0] {
            Node::Bridge(b) => b,
            other => panic!("node {} is not a bridge", other.name()),
        }
    }

    /// A switch node.
    pub fn switch(&self, id: NodeId) -> &LacpSwitch {
        match &self.nodes[id.0] {
            Node::Switch(s) => s,
            other => panic!("node {} is not a switch", other.name()),
        }
    }

    /// A link.
    pub fn link(&self, id: LinkId) -> &Link {
        &self.links[id.0]
    }

    /// Plugs a cable between two free ports (1 µs latency, 1 µs jitter, no loss) and brings
    /// its carrier up on both ends.
    pub fn connect(&mut self, a: PortRef, b: PortRef) -> LinkId {
        for p in [a, b] {
            assert!(
                self.plugs[p.node.0].get(p.port).is_some_and(Option::is_none),
                "port {}:{} does not exist or is already plugged",
                self.nodes[p.node.0].name(),
                p.port
            );
        }
        let id = LinkId(self.links.len());
        self.links.push(Link {
            a,
            b,
            latency: Duration::from_micros(1),
            jitter: Duration::from_micros(1),
            up: false,
            loss: 0.0,
            dead_from_a: false,
            dead_from_b: false,
            rate_bps: 0,
            queue_limit: DEFAULT_LINK_QUEUE,
            backlog: [VecDeque::new(), VecDeque::new()],
        });
        self.plugs[a.node.0][a.port] = Some(id);
        self.plugs[b.node.0][b.port] = Some(id);
        self.set_carrier(id, true);
        id
    }

    fn link_name(&self, id: LinkId) -> String {
        let l = &self.links[id.0];
        format!(
            "{}:{}<->{}:{}",
            self.nodes[l.a.node.0].name(),
            self.port_name(l.a),
            self.nodes[l.b.node.0].name(),
            self.port_name(l.b)
        )
    }

    fn port_name(&self, p: PortRef) -> String {
        match &self.nodes[p.node.0] {
            Node::Host(h) => h.nic_name(p.port).to_string(),
            Node::Bridge(_) | Node::Switch(_) => format!("p{}", p.port + 1),
        }
    }

    fn record(&mut self, node: String, what: String) {
        if self.timeline.len() >= TIMELINE_LIMIT {
            self.stats.timeline_drops += 1;
            return;
        }
        self.timeline.push(TimelineEntry { at: self.now, node, what });
    }

    /// Sets a link's carrier (a cable pulled or plugged back); both ends are told now.
    pub fn set_carrier(&mut self, id: LinkId, up: bool) {
        if self.links[id.0].up == up {
            return;
        }
        self.links[id.0].up = up;
        if !up {
            // Frames waiting for the line are gone with the carrier.
            self.links[id.0].backlog = [VecDeque::new(), VecDeque::new()];
        }
        let what = format!("carrier {} {}", if up { "up" } else { "down" }, self.link_name(id));
        self.record("link".to_string(), what);
        let (a, b) = (self.links[id.0].a, self.links[id.0].b);
        for p in [a, b] {
            let mut out = Outbox::default();
            self.nodes[p.node.0].handle_carrier(self.now, p.port, up, &mut out);
            self.flush(p.node, out);
        }
        self.check_invariants();
    }

    /// Starts capturing the frames a link delivers (both directions).
    pub fn start_capture(&mut self, id: LinkId) {
        self.captures.entry(id).or_default();
    }

    /// The frames captured on a link so far (`None`: no capture was started).
    pub fn capture(&self, id: LinkId) -> Option<&[Captured]> {
        self.captures.get(&id).map(Vec::as_slice)
    }

    /// A link's capture as a pcap file (empty capture if none was started).
    pub fn pcap(&self, id: LinkId) -> Vec<u8> {
        crate::pcap::write(self.capture(id).unwrap_or(&[]))
    }

    /// Sets a link's loss probability (clamped to [0, 1]).
    pub fn set_loss(&mut self, id: LinkId, loss: f64) {
        self.links[id.0].loss = loss.clamp(0.0, 1.0);
    }

    /// Sets a link's latency and jitter.
    pub fn set_latency(&mut self, id: LinkId, latency: Duration, jitter: Duration) {
        self.links[id.0].latency = latency;
        self.links[id.0].jitter = jitter;
    }

    /// Sets a link's line rate (bits per second, 0: unlimited) and its transmit queue per
    /// direction (frames, at most [`MAX_LINK_QUEUE`]).
    pub fn set_rate(&mut self, id: LinkId, rate_bps: u64, queue_limit: usize) {
        let l = &mut self.links[id.0];
        l.rate_bps = rate_bps;
        l.queue_limit = queue_limit.min(MAX_LINK_QUEUE);
    }

    /// The link plugged into a port, if any.
    pub fn link_of(&self, p: PortRef) -> Option<LinkId> {
        self.plugs.get(p.node.0).and_then(|v| v.get(p.port)).copied().flatten()
    }

    /// A one-way failure: frames sent from end `a` (if `from_a`) or end `b` are lost while
    /// carrier stays up. `dead = false` repairs it.
    pub fn set_one_way_failure(&mut self, id: LinkId, from_a: bool, dead: bool) {
        let l = &mut self.links[id.0];
        let flag = if from_a { &mut l.dead_from_a } else { &mut l.dead_from_b };
        if *flag == dead {
            return;
        }
        *flag = dead;
        let what = format!(
            "{} frames from {} end of {}",
            if dead { "losing" } else { "passing" },
            if from_a { "a" } else { "b" },
            self.link_name(id)
        );
        self.record("link".to_string(), what);
    }

    /// Sends whatever a node produced after it was changed through [`Sim::node_mut`] (it
    /// runs its timers if they are due).
    pub fn poke(&mut self, id: NodeId) {
        let mut out = Outbox::default();
        if self.nodes[id.0].poll_timeout().is_some_and(|t| t <= self.now) {
            self.nodes[id.0].handle_timeout(self.now, &mut out);
        }
        self.flush(id, out);
        self.check_invariants();
    }

    /// Moves a node's output onto the links and into the timeline.
    fn flush(&mut self, node: NodeId, out: Outbox) {
        self.touch(node);
        let name = self.nodes[node.0].name().to_string();
        for note in out.notes {
            self.record(name.clone(), note);
        }
        if let Some(v) = out.violations.first() {
            self.violation_found(&format!("{name}: {v}"));
        }
        let mut last_id = 0;
        let mut copy = 0u64;
        for emit in out.frames {
            // A broadcast-mode bond's copies are distinct frames: the kernel delivers each one
            // (ping prints "DUP!"), so the "no frame delivered twice" check must not fire on
            // them. They are numbered apart (copy index in the top bits); one copy delivered
            // twice is still a violation.
            let id = match emit.id {
                FrameIdentity::Forwarded(id) => id,
                FrameIdentity::CopyOfPrevious if last_id != 0 => {
                    copy += 1;
                    (last_id & COPY_MASK) | (copy << COPY_SHIFT)
                }
                FrameIdentity::New | FrameIdentity::CopyOfPrevious => {
                    copy = 0;
                    self.next_frame_id += 1;
                    self.next_frame_id - 1
                }
            };
            last_id = id;
            let from = PortRef { node, port: emit.port };
            let Some(link_id) = self.plugs[node.0].get(emit.port).copied().flatten() else {
                self.stats.frames_lost += 1;
                continue;
            };
            let link = &self.links[link_id.0];
            let from_a = link.a == from;
            let to = if from_a { link.b } else { link.a };
            let dead = !link.up || (from_a && link.dead_from_a) || (!from_a && link.dead_from_b);
            let (loss, latency, jitter, rate) =
                (link.loss, link.latency, link.jitter, link.rate_bps);
            // Draw the random numbers whatever happens, so that a fault elsewhere does not
            // shift the stream.
            let lost = loss > 0.0 && self.rng.next_f64() < loss;
            let extra = self.rng.below(u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX));
            if dead || lost {
                self.stats.frames_lost += 1;
                continue;
            }
            if self.queue.len() >= QUEUE_LIMIT {
                self.stats.queue_drops += 1;
                continue;
            }
            // The line: a frame waits behind the ones queued in its direction, then takes
            // its serialization time (preamble, frame check sequence and gap included).
            let mut departs = self.now;
            let bits = (emit.frame.len() as u64 + 24) * 8;
            // Rate 0: an unlimited line, frames leave at once.
            if let Some(ns) = bits.saturating_mul(1_000_000_000).checked_div(rate) {
                let now = self.now;
                let link = &mut self.links[link_id.0];
                let q = &mut link.backlog[usize::from(!from_a)];
                while q.front().is_some_and(|t| *t <= now) {
                    q.pop_front();
                }
                if q.len() >= link.queue_limit {
                    self.stats.tail_drops += 1;
                    continue;
                }
                let start = q.back().copied().unwrap_or(now).max(now);
                departs = start + Duration::from_nanos(ns.max(1));
                q.push_back(departs);
            }
            self.stats.frames_sent += 1;
            self.seq += 1;
            let at = departs + latency + Duration::from_nanos(extra);
            self.queue
                .insert((at, self.seq), Delivery { link: link_id, to, id, frame: emit.frame });
        }
    }

    /// Records the first violation (later ones are consequences of it).
    fn violation_found(&mut self, what: &str) {
        if self.violation.is_none() {
            self.violation =
                Some(format!("invariant violated (seed {}, t={}): {what}", self.seed, self.now));
        }
    }

    /// Runs the simulation for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs the simulation until `until` (absolute virtual time), jumping from event to event.
    pub fn run_until(&mut self, until: Instant) {
        for _ in 0..MAX_STEPS {
            if self.violation.is_some() {
                return;
            }
            let next_frame = self.queue.keys().next().map(|k| k.0);
            let next_timer = self.nodes.iter().filter_map(Node::poll_timeout).min();
            let next = [next_frame, next_timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.stats.steps += 1;
                    if next_frame == Some(t) {
                        self.deliver_one();
                    } else {
                        for n in 0..self.nodes.len() {
                            if self.nodes[n].poll_timeout().is_some_and(|d| d <= self.now) {
                                let mut out = Outbox::default();
                                self.nodes[n].handle_timeout(self.now, &mut out);
                                self.flush(NodeId(n), out);
                            }
                        }
                    }
                    self.check_invariants();
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        self.violation_found(&format!(
            "no progress towards {until} after {MAX_STEPS} steps (livelock)"
        ));
    }

    fn deliver_one(&mut self) {
        let Some(((at, _), d)) = self.queue.pop_first() else { return };
        let link = &self.links[d.link.0];
        if !link.up {
            // The cable was pulled while the frame was on it.
            self.stats.frames_lost += 1;
            return;
        }
        self.stats.frames_delivered += 1;
        let mut h = fnv(self.digest, &at.as_nanos().to_le_bytes());
        h = fnv(h, &(d.link.0 as u64).to_le_bytes());
        h = fnv(h, &(d.to.port as u64).to_le_bytes());
        self.digest = fnv(h, &d.frame);
        if let Some(cap) = self.captures.get_mut(&d.link) {
            if cap.len() < CAPTURE_LIMIT {
                cap.push(Captured { at, frame: d.frame.clone() });
            } else {
                self.stats.capture_drops += 1;
            }
        }
        let mut out = Outbox::default();
        self.nodes[d.to.node.0].handle_frame(self.now, d.to.port, d.id, &d.frame, &mut out);
        self.flush(d.to.node, out);
    }

    /// Checks the whole-system invariants and records the first violation (see
    /// [`Sim::violation`]) of the bonds of the nodes that handled something since the last
    /// check: `Bond::check_invariants`, which includes LACP's (`Lacp::check_invariants`: at
    /// most one active aggregator, a distributing port is collecting and selected, a port
    /// listed in an aggregator is attached to it, ...).
    pub fn check_invariants(&mut self) {
        if self.violation.is_some() {
            return;
        }
        for id in std::mem::take(&mut self.touched) {
            let node = &self.nodes[id.0];
            let broken = node.bonds().into_iter().find_map(|b| b.check_invariants().err());
            if let Some(e) = broken.map(|e| format!("{} {e}", node.name())) {
                self.violation_found(&e);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!((0..1000).all(|_| a.next_f64() < 1.0));
    }
}
