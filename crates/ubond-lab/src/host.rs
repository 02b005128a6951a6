//! A host: one real [`Bond`] over its NICs, plus a minimal IPv4 stack on the bond (one
//! address, ARP with a small table, ICMP echo) — enough for `ping` end to end — and UDP-like
//! traffic flows at a fixed frame rate, counted per sequence number at the receiver.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::bond::{Bond, BondEvent, RxVerdict, SlaveConfig, SlaveId, TxCursor, TxDecision};
use ubond_core::lacp::{self, LinkState, PortId};
use ubond_core::options::{BondOptions, Mode};
use ubond_core::report;
use ubond_core::time::Instant;
use ubond_wire::arp::{self, ArpRepr, Operation};
use ubond_wire::ethernet::{self, EtherType, EthernetRepr};
use ubond_wire::icmp::icmpv4_checksum;
use ubond_wire::ip::Protocol;
use ubond_wire::ipv4::{self, Ipv4Repr};
use ubond_wire::MacAddr;

use crate::sim::Outbox;

/// Most ARP table entries.
pub const ARP_TABLE_LIMIT: usize = 64;
/// How long an ARP entry is trusted.
pub const ARP_LIFETIME: Duration = Duration::from_secs(60);
/// Most IP packets waiting for an ARP reply.
pub const ARP_QUEUE_LIMIT: usize = 8;
/// Most echo requests recorded.
pub const PING_RECORD_LIMIT: usize = 1 << 20;
/// Frame identities remembered for the "no frame delivered twice" check.
pub const DUP_WINDOW: usize = 8192;
/// Most flows a host sends.
pub const MAX_FLOWS: usize = 64;
/// Most flows a host counts as a receiver.
pub const MAX_RX_FLOWS: usize = 256;
/// Highest sequence number a receiver counts per flow (frames beyond are ignored).
pub const MAX_FLOW_FRAMES: u64 = 1 << 24;
/// The largest clock rate error a host may be given, in parts per million.
pub const MAX_CLOCK_PPM: i32 = 1000;
/// The UDP port flows are sent to (discard).
pub const FLOW_PORT: u16 = 9;
/// The first octets of a flow frame's UDP payload.
const FLOW_MAGIC: &[u8; 4] = b"ubfl";

/// The NIC model, which decides what link state the driver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicModel {
    /// e1000-like: reports 1000 Mbit/s full duplex.
    E1000,
    /// virtio-like: reports no speed and no duplex, unless configured with one.
    Virtio {
        /// The configured speed (`speed=` of the QEMU device), if any.
        speed_mbps: Option<u32>,
    },
}

impl NicModel {
    /// The link state the driver reports for a carrier.
    pub fn link_state(self, carrier: bool) -> LinkState {
        match (carrier, self) {
            (false, _) => LinkState::down(),
            (true, NicModel::E1000) => LinkState::up(1000),
            (true, NicModel::Virtio { speed_mbps: Some(s) }) => LinkState::up(s),
            (true, NicModel::Virtio { speed_mbps: None }) => LinkState::up_unknown_speed(),
        }
    }
}

#[derive(Debug, Clone)]
struct Nic {
    name: String,
    model: NicModel,
    /// The member's one identity (its LACP port, if any, is the bond's to map).
    slave: SlaveId,
}

/// One echo request and its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingRecord {
    /// ICMP sequence number.
    pub seq: u16,
    /// When it was sent.
    pub sent: Instant,
    /// When its reply came back.
    pub replied: Option<Instant>,
}

#[derive(Debug, Clone)]
struct PingJob {
    dst: Ipv4Addr,
    interval: Duration,
    next: Instant,
    left: u32,
    seq: u16,
}

#[derive(Debug, Clone)]
struct FlowJob {
    id: u32,
    dst: Ipv4Addr,
    interval: Duration,
    next: Instant,
    left: u64,
    seq: u64,
    size: usize,
}

/// What a receiver counted of one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowRx {
    /// Frames received (each sequence number once).
    pub received: u64,
    /// Frames whose sequence number had already been received.
    pub duplicates: u64,
    bits: Vec<u64>,
}

impl FlowRx {
    /// Whether frame `seq` arrived.
    pub fn has(&self, seq: u64) -> bool {
        let (w, b) = ((seq / 64) as usize, seq % 64);
        self.bits.get(w).is_some_and(|x| x & (1 << b) != 0)
    }

    /// How many of the frames `from..to` arrived.
    pub fn count(&self, from: u64, to: u64) -> u64 {
        (from..to.min(MAX_FLOW_FRAMES)).filter(|s| self.has(*s)).count() as u64
    }

    fn insert(&mut self, seq: u64) {
        if seq >= MAX_FLOW_FRAMES {
            return;
        }
        let (w, b) = ((seq / 64) as usize, seq % 64);
        if self.bits.len() <= w {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & (1 << b) != 0 {
            self.duplicates += 1;
        } else {
            self.bits[w] |= 1 << b;
            self.received += 1;
        }
    }
}

/// Host counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostStats {
    /// Frames the bond delivered up.
    pub delivered: u64,
    /// Frames the bond dropped (inactive slave).
    pub rx_dropped: u64,
    /// Frames the transmit plan dropped (no usable slave).
    pub tx_dropped: u64,
    /// ARP requests sent.
    pub arp_requests: u64,
    /// Echo requests answered.
    pub echo_replies_sent: u64,
    /// balance-alb: flooded unicast frames delivered again through another slave.
    pub alb_flooded_duplicates: u64,
    /// Flooded frames delivered once by the old active slave and once by the new one.
    pub failover_duplicates: u64,
}

/// A host. See the [module docs](self).
#[derive(Debug)]
pub struct Host {
    name: String,
    bond: Bond,
    nics: Vec<Nic>,
    ip: Ipv4Addr,
    arp_table: BTreeMap<Ipv4Addr, (MacAddr, Instant)>,
    arp_queue: VecDeque<(Ipv4Addr, Vec<u8>)>,
    arp_asked: BTreeMap<Ipv4Addr, Instant>,
    ping: Option<PingJob>,
    pings: Vec<PingRecord>,
    /// Frame identities delivered: (port, active-slave epoch) of the delivery.
    seen: BTreeMap<u64, (usize, u64)>,
    seen_order: VecDeque<u64>,
    /// Changes of the active slave so far.
    active_epoch: u64,
    /// How much faster (positive) or slower this host's clock runs, in parts per million.
    clock_ppm: i32,
    /// The simulation's time at the current call (records are kept in it).
    sim_now: Instant,
    flows: Vec<FlowJob>,
    flows_rx: BTreeMap<u32, FlowRx>,
    /// The data path's round-robin counter and balance-tlb/alb byte counts since the bond's
    /// last timer.
    cursor: Box<TxCursor>,
    stats: HostStats,
}

impl Host {
    /// A host named `name` with bond `bond_name` (options `opts`) over NICs `nics` (name,
    /// model, permanent MAC), all without carrier until a link is plugged in, and `ip` on the
    /// bond.
    pub fn new(
        name: &str,
        bond_name: &str,
        opts: BondOptions,
        nics: &[(&str, NicModel, MacAddr)],
        ip: Ipv4Addr,
    ) -> Result<Host, ubond_core::bond::BondError> {
        let mut bond = Bond::new(bond_name, opts, None)?;
        // Micro-BFD's discriminators, source ports and jitter: from the host's name, so a run
        // is the same every time and the two ends of a link differ.
        bond.set_bfd_seed(name.bytes().fold(0xcbf2_9ce4_8422_2325, |h: u64, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }));
        let mut list = Vec::new();
        for (nic, model, mac) in nics {
            let cfg = SlaveConfig { name: (*nic).to_string(), perm_mac: *mac };
            let slave = bond.enslave(Instant::ZERO, cfg, LinkState::down())?;
            list.push(Nic { name: (*nic).to_string(), model: *model, slave });
        }
        bond.set_addresses(vec![ip], Vec::new());
        let mut host = Host {
            name: name.to_string(),
            bond,
            nics: list,
            ip,
            arp_table: BTreeMap::new(),
            arp_queue: VecDeque::new(),
            arp_asked: BTreeMap::new(),
            ping: None,
            pings: Vec::new(),
            seen: BTreeMap::new(),
            seen_order: VecDeque::new(),
            active_epoch: 0,
            clock_ppm: 0,
            sim_now: Instant::ZERO,
            flows: Vec::new(),
            flows_rx: BTreeMap::new(),
            cursor: Box::default(),
            stats: HostStats::default(),
        };
        // The enslave-time events are not interesting for the timeline; drop them.
        let mut out = Outbox::default();
        host.drain(&mut out);
        Ok(host)
    }

    /// Makes this host's clock run `ppm` parts per million fast (or slow, if negative; at
    /// most [`MAX_CLOCK_PPM`]): its bond, pings and flows run on it, as real hosts' timers
    /// drift apart. Set it before the run (at time zero). Ping records stay in the
    /// simulation's time; flow frames leave on the host's clock.
    pub fn set_clock_ppm(&mut self, ppm: i32) {
        self.clock_ppm = ppm.clamp(-MAX_CLOCK_PPM, MAX_CLOCK_PPM);
    }

    /// The host's clock at simulation time `sim`.
    fn local(&self, sim: Instant) -> Instant {
        if self.clock_ppm == 0 {
            return sim;
        }
        let ns = i128::from(sim.as_nanos());
        let t = ns + ns * i128::from(self.clock_ppm) / 1_000_000;
        Instant::from_nanos(u64::try_from(t.max(0)).unwrap_or(u64::MAX))
    }

    /// The first simulation time at which the host's clock reads `local` or later.
    fn to_sim(&self, local: Instant) -> Instant {
        if self.clock_ppm == 0 {
            return local;
        }
        let l = i128::from(local.as_nanos());
        let guess = l * 1_000_000 / (1_000_000 + i128::from(self.clock_ppm));
        let mut s = Instant::from_nanos(u64::try_from(guess.max(0)).unwrap_or(u64::MAX));
        // The guess is within a few nanoseconds; the loops are bounded all the same.
        for _ in 0..64 {
            if self.local(s) >= local {
                break;
            }
            s = Instant::from_nanos(s.as_nanos().saturating_add(1));
        }
        for _ in 0..64 {
            let before = Instant::from_nanos(s.as_nanos().saturating_sub(1));
            if s.as_nanos() == 0 || self.local(before) < local {
                break;
            }
            s = before;
        }
        s
    }

    /// The host's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bond.
    pub fn bond(&self) -> &Bond {
        &self.bond
    }

    /// The bond, mutably (call [`crate::sim::Sim::poke`] afterwards).
    pub fn bond_mut(&mut self) -> &mut Bond {
        &mut self.bond
    }

    /// The IPv4 address on the bond.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The MAC the host's ARP table holds for `ip`, however old.
    pub fn arp_entry(&self, ip: Ipv4Addr) -> Option<MacAddr> {
        self.arp_table.get(&ip).map(|(mac, _)| *mac)
    }

    /// The counters.
    pub fn stats(&self) -> HostStats {
        self.stats
    }

    /// The number of NIC ports.
    pub fn port_count(&self) -> usize {
        self.nics.len()
    }

    /// The name of NIC `port`.
    pub fn nic_name(&self, port: usize) -> &str {
        self.nics.get(port).map_or("?", |n| n.name.as_str())
    }

    /// `/proc/net/bonding/BOND` as the kernel would print it.
    pub fn proc_report(&self) -> String {
        report::render_proc(&self.bond.status("3.7.1"), true)
    }

    /// Starts pinging `dst`: `count` echo requests, `interval` apart, the first now.
    pub fn start_ping(&mut self, now: Instant, dst: Ipv4Addr, interval: Duration, count: u32) {
        self.sim_now = now;
        let now = self.local(now);
        let seq = self.ping.as_ref().map_or(0, |p| p.seq);
        self.ping = Some(PingJob { dst, interval, next: now, left: count, seq });
    }

    /// Starts flow `id` to `dst`: `count` UDP frames of `size` octets of payload (at least
    /// 16), `rate` frames a second, the first now; frame `k` leaves at
    /// `now + k × ⌊10⁹ / rate⌋ ns`.
    /// Refused (false) beyond [`MAX_FLOWS`] or with a zero rate.
    pub fn start_flow(
        &mut self,
        now: Instant,
        id: u32,
        dst: Ipv4Addr,
        rate: u32,
        count: u64,
        size: usize,
    ) -> bool {
        if rate == 0 || self.flows.len() >= MAX_FLOWS {
            return false;
        }
        self.sim_now = now;
        let now = self.local(now);
        let interval = Duration::from_nanos(1_000_000_000 / u64::from(rate));
        let size = size.clamp(16, 1472);
        self.flows.push(FlowJob { id, dst, interval, next: now, left: count, seq: 0, size });
        true
    }

    /// What this host received of flow `id`.
    pub fn flow_rx(&self, id: u32) -> Option<&FlowRx> {
        self.flows_rx.get(&id)
    }

    /// Every echo request sent so far.
    pub fn pings(&self) -> &[PingRecord] {
        &self.pings
    }

    /// (sent, answered) for the echo requests sent in [from, to).
    pub fn ping_window(&self, from: Instant, to: Instant) -> (usize, usize) {
        let sent: Vec<_> = self.pings.iter().filter(|p| p.sent >= from && p.sent < to).collect();
        (sent.len(), sent.iter().filter(|p| p.replied.is_some()).count())
    }

    fn port_of(&self, slave: SlaveId) -> Option<usize> {
        self.nics.iter().position(|n| n.slave == slave)
    }

    fn nic_of_port(&self, port: PortId) -> &str {
        let slave = self.bond.slave_of_port(port);
        self.nics.iter().find(|n| Some(n.slave) == slave).map_or("?", |n| n.name.as_str())
    }

    /// A NIC's carrier changed.
    pub fn handle_carrier(&mut self, now: Instant, port: usize, up: bool, out: &mut Outbox) {
        self.sim_now = now;
        let now = self.local(now);
        let Some(nic) = self.nics.get(port) else { return };
        let link = nic.model.link_state(up);
        let _ = self.bond.handle_link(now, nic.slave, link);
        self.drain(out);
    }

    /// A frame arrived on NIC `port`; `id` is its identity in the simulation.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        port: usize,
        id: u64,
        frame: &[u8],
        out: &mut Outbox,
    ) {
        self.sim_now = now;
        let now = self.local(now);
        let Some(nic) = self.nics.get(port) else { return };
        let verdict = self.bond.handle_frame(now, nic.slave, frame);
        self.drain(out);
        match verdict {
            RxVerdict::Consumed => {}
            RxVerdict::Drop => self.stats.rx_dropped += 1,
            RxVerdict::Deliver => {
                let now_seen = (port, self.active_epoch);
                if let Some((was_port, was_epoch)) = self.seen.insert(id, now_seen) {
                    let unicast = frame.first().is_some_and(|b| b & 1 == 0);
                    // A frame that a bridge flooded reaches several of this host's ports; when
                    // the active slave changes between the copies' arrivals, the old active
                    // slave delivered one and the new one delivers the other, in the kernel
                    // as here (a failover race, not a bond bug): counted, not a violation.
                    let failover = was_port != port && was_epoch != self.active_epoch;
                    // balance-alb delivers unicast frames that arrive on an inactive slave
                    // (the kernel's bond_should_deliver_exact_match lets them through, as
                    // receive load balancing makes peers send to every slave's address), so
                    // a unicast frame that a bridge or switch flooded to several of this
                    // host's ports comes up once per port, in the kernel as here. Counted,
                    // not a violation; any other duplicate is.
                    if failover {
                        self.stats.failover_duplicates += 1;
                    } else if self.bond.options().mode == Mode::BalanceAlb && unicast {
                        self.stats.alb_flooded_duplicates += 1;
                    } else {
                        out.violations.push(format!("frame #{id} delivered twice"));
                    }
                }
                self.seen_order.push_back(id);
                if self.seen_order.len() > DUP_WINDOW {
                    if let Some(old) = self.seen_order.pop_front() {
                        self.seen.remove(&old);
                    }
                }
                self.stats.delivered += 1;
                // As the daemon does: a frame for a slave's address becomes the bond's.
                let mut frame = frame.to_vec();
                self.bond.rx_plan().to_bond(&mut frame);
                self.receive(now, &frame, out);
            }
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        self.sim_now = now;
        let now = self.local(now);
        if self.bond.poll_timeout().is_some_and(|t| t <= now) {
            // As the daemon does: the data path's byte counts (balance-tlb/alb), then time.
            self.bond.handle_timeout_with_load(now, &mut self.cursor.load);
            self.drain(out);
        }
        let due = self.ping.as_ref().is_some_and(|p| p.left > 0 && p.next <= now);
        if due {
            if let Some(job) = &mut self.ping {
                job.left -= 1;
                job.seq = job.seq.wrapping_add(1);
                job.next = now + job.interval;
                let (dst, seq) = (job.dst, job.seq);
                if self.pings.len() < PING_RECORD_LIMIT {
                    self.pings.push(PingRecord { seq, sent: self.sim_now, replied: None });
                }
                let payload = echo(8, 0x1ab, seq, b"ubond-lab ping");
                self.send_ip(now, dst, Protocol::Icmp, &payload, out);
            }
        }
        self.send_flows(now, out);
    }

    /// When [`Host::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ping = self.ping.as_ref().filter(|p| p.left > 0).map(|p| p.next);
        let flow = self.flows.iter().filter(|f| f.left > 0).map(|f| f.next).min();
        // The host's deadlines, in the simulation's time.
        [self.bond.poll_timeout(), ping, flow].into_iter().flatten().min().map(|t| self.to_sim(t))
    }

    fn send_flows(&mut self, now: Instant, out: &mut Outbox) {
        for i in 0..self.flows.len() {
            // At most one frame per flow per call: the engine calls again at once when the
            // next one is due, so a late call cannot burst.
            let f = &mut self.flows[i];
            if f.left == 0 || f.next > now {
                continue;
            }
            f.left -= 1;
            let (id, dst, seq, size) = (f.id, f.dst, f.seq, f.size);
            f.seq += 1;
            f.next = f.next + f.interval;
            let mut udp = vec![0u8; 8 + size];
            let sport = 40_000u16.wrapping_add(u16::try_from(id % 20_000).unwrap_or(0));
            udp[0..2].copy_from_slice(&sport.to_be_bytes());
            udp[2..4].copy_from_slice(&FLOW_PORT.to_be_bytes());
            let len = u16::try_from(udp.len()).unwrap_or(u16::MAX);
            udp[4..6].copy_from_slice(&len.to_be_bytes());
            udp[8..12].copy_from_slice(FLOW_MAGIC);
            udp[12..16].copy_from_slice(&id.to_be_bytes());
            udp[16..24].copy_from_slice(&seq.to_be_bytes());
            self.send_ip(now, dst, Protocol::Udp, &udp, out);
        }
    }

    fn receive_flow(&mut self, udp: &[u8]) {
        if udp.len() < 24 || udp[2..4] != FLOW_PORT.to_be_bytes() || &udp[8..12] != FLOW_MAGIC {
            return;
        }
        let id = u32::from_be_bytes([udp[12], udp[13], udp[14], udp[15]]);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&udp[16..24]);
        if !self.flows_rx.contains_key(&id) && self.flows_rx.len() >= MAX_RX_FLOWS {
            return;
        }
        self.flows_rx.entry(id).or_default().insert(u64::from_be_bytes(seq));
    }

    /// Moves the bond's control frames and events out.
    fn drain(&mut self, out: &mut Outbox) {
        for _ in 0..ubond_core::bond::QUEUE_LIMIT {
            let Some(tx) = self.bond.poll_transmit() else { break };
            if let Some(port) = self.port_of(tx.slave) {
                out.send(port, tx.frame);
            }
        }
        for _ in 0..ubond_core::bond::QUEUE_LIMIT {
            let Some(ev) = self.bond.poll_event() else { break };
            if matches!(ev, BondEvent::ActiveSlave { .. }) {
                self.active_epoch += 1;
            }
            if let Some(note) = self.describe(&ev) {
                out.note(note);
            }
        }
    }

    fn describe(&self, ev: &BondEvent) -> Option<String> {
        let bond = self.bond.name();
        Some(match ev {
            BondEvent::Carrier { up } => {
                format!("{bond} carrier {}", if *up { "up" } else { "down" })
            }
            BondEvent::ActiveSlave { slave } => format!(
                "{bond} active slave {}",
                slave.and_then(|s| self.bond.slave_name(s)).unwrap_or("none")
            ),
            BondEvent::Lacp(e) => describe_lacp(bond, e, |p| self.nic_of_port(p).to_string())?,
            BondEvent::Log { slave, message } => match slave {
                Some(s) => format!("{bond}: ({s}): {message}"),
                None => format!("{bond}: {message}"),
            },
            _ => return None,
        })
    }

    fn receive(&mut self, now: Instant, frame: &[u8], out: &mut Outbox) {
        let Ok(f) = ethernet::Frame::new_checked(frame) else { return };
        let Ok(eth) = EthernetRepr::parse(&f) else { return };
        // Frames for the bond's address (those for a slave's own address, which balance-alb's
        // receive load balancing hands peers, were made the bond's: `RxPlan::to_bond`).
        let for_us = eth.dst_addr == self.bond.mac() || eth.dst_addr == MacAddr::BROADCAST;
        if !for_us {
            return;
        }
        match eth.ethertype {
            EtherType::Arp => {
                let Ok(p) = arp::Packet::new_checked(f.payload()) else { return };
                let Ok(a) = ArpRepr::parse(&p) else { return };
                self.handle_arp(now, &a, out);
            }
            EtherType::Ipv4 => {
                let Ok(p) = ipv4::Packet::new_checked(f.payload()) else { return };
                let Ok(ip) = Ipv4Repr::parse(&p) else { return };
                if ip.dst_addr != self.ip {
                    return;
                }
                match ip.protocol {
                    Protocol::Icmp => self.handle_icmp(now, ip.src_addr, p.payload(), out),
                    Protocol::Udp => self.receive_flow(p.payload()),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn handle_arp(&mut self, now: Instant, a: &ArpRepr, out: &mut Outbox) {
        let for_us = a.target_ip == self.ip;
        if for_us || self.arp_table.contains_key(&a.sender_ip) {
            self.learn(now, a.sender_ip, a.sender_mac);
        }
        if for_us && a.operation == Operation::Request && a.sender_ip != self.ip {
            let reply = ArpRepr {
                operation: Operation::Reply,
                sender_mac: self.bond.mac(),
                sender_ip: self.ip,
                target_mac: a.sender_mac,
                target_ip: a.sender_ip,
            };
            let frame = arp_frame(self.bond.mac(), a.sender_mac, &reply);
            self.transmit(now, frame, out);
        }
        // Send what waited for this address.
        let mut left = VecDeque::new();
        while let Some((dst, pkt)) = self.arp_queue.pop_front() {
            match self.arp_table.get(&dst) {
                Some((mac, _)) => {
                    let frame = eth_frame(self.bond.mac(), *mac, EtherType::Ipv4, &pkt);
                    self.transmit(now, frame, out);
                }
                None => left.push_back((dst, pkt)),
            }
        }
        self.arp_queue = left;
    }

    fn learn(&mut self, now: Instant, ip: Ipv4Addr, mac: MacAddr) {
        if self.arp_table.len() >= ARP_TABLE_LIMIT && !self.arp_table.contains_key(&ip) {
            // Evict the oldest entry.
            let oldest = self.arp_table.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.arp_table.remove(&k);
            }
        }
        self.arp_table.insert(ip, (mac, now));
        self.arp_asked.remove(&ip);
    }

    fn handle_icmp(&mut self, now: Instant, src: Ipv4Addr, msg: &[u8], out: &mut Outbox) {
        if msg.len() < 8 || icmpv4_checksum(msg) != u16::from_be_bytes([msg[2], msg[3]]) {
            return;
        }
        let id = u16::from_be_bytes([msg[4], msg[5]]);
        let seq = u16::from_be_bytes([msg[6], msg[7]]);
        match msg[0] {
            8 => {
                self.stats.echo_replies_sent += 1;
                let reply = echo(0, id, seq, &msg[8..]);
                self.send_ip(now, src, Protocol::Icmp, &reply, out);
            }
            0 if id == 0x1ab => {
                if let Some(r) = self.pings.iter_mut().rev().find(|r| r.seq == seq) {
                    r.replied.get_or_insert(self.sim_now);
                }
            }
            _ => {}
        }
    }

    fn send_ip(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        proto: Protocol,
        payload: &[u8],
        out: &mut Outbox,
    ) {
        let Ok(len) = u16::try_from(payload.len()) else { return };
        let repr = Ipv4Repr::new(self.ip, dst, proto, len);
        let mut pkt = vec![0u8; repr.buffer_len() + payload.len()];
        if repr.emit(&mut ipv4::Packet::new_unchecked(&mut pkt[..])).is_err() {
            return;
        }
        pkt[ipv4::HEADER_LEN..].copy_from_slice(payload);
        let fresh = self
            .arp_table
            .get(&dst)
            .filter(|(_, at)| now.saturating_duration_since(*at) < ARP_LIFETIME)
            .map(|(mac, _)| *mac);
        if let Some(mac) = fresh {
            let frame = eth_frame(self.bond.mac(), mac, EtherType::Ipv4, &pkt);
            self.transmit(now, frame, out);
            return;
        }
        if self.arp_queue.len() >= ARP_QUEUE_LIMIT {
            self.arp_queue.pop_front();
        }
        self.arp_queue.push_back((dst, pkt));
        let asked = self
            .arp_asked
            .get(&dst)
            .is_some_and(|t| now.saturating_duration_since(*t) < Duration::from_secs(1));
        if !asked {
            self.arp_asked.insert(dst, now);
            self.arp_table.remove(&dst);
            self.stats.arp_requests += 1;
            let req = ArpRepr::request(self.bond.mac(), self.ip, dst);
            let frame = arp_frame(self.bond.mac(), MacAddr::BROADCAST, &req);
            self.transmit(now, frame, out);
        }
    }

    /// Sends a data frame through the bond's transmit plan, as the daemon does
    /// (`TxPlan::decide`).
    fn transmit(&mut self, now: Instant, mut frame: Vec<u8>, out: &mut Outbox) {
        match self.bond.tx_plan().decide(&mut frame, &mut self.cursor) {
            TxDecision::Send(slave) => match self.port_of(slave) {
                Some(port) => out.send(port, frame),
                None => self.stats.tx_dropped += 1,
            },
            TxDecision::Broadcast => {
                let slaves = self.bond.tx_plan().slaves.clone();
                let ports = slaves.iter().filter_map(|s| self.port_of(*s));
                for (i, port) in ports.enumerate() {
                    if i == 0 {
                        out.send(port, frame.clone());
                    } else {
                        out.send_copy(port, frame.clone());
                    }
                }
            }
            // balance-alb's ARP: receive load balancing may rewrite it and picks the slave.
            TxDecision::ControlPlane => {
                match self.bond.handle_arp_tx(now, &mut frame) {
                    Some(slave) => match self.port_of(slave) {
                        Some(port) => out.send(port, frame),
                        None => self.stats.tx_dropped += 1,
                    },
                    None => self.stats.tx_dropped += 1,
                }
                self.drain(out);
            }
            TxDecision::Drop => self.stats.tx_dropped += 1,
        }
    }
}

/// Words an 802.3ad event for the timeline (`None`: not a state change worth a line).
pub(crate) fn describe_lacp(
    bond: &str,
    e: &lacp::Event,
    port: impl Fn(PortId) -> String,
) -> Option<String> {
    use lacp::Event as E;
    Some(match e {
        E::Rx { port: p, state } => format!("{bond} {} rx {state:?}", port(*p)),
        E::Mux { port: p, state } => format!("{bond} {} mux {state:?}", port(*p)),
        E::Selected { port: p, aggregator } => {
            format!("{bond} {} selected aggregator {aggregator}", port(*p))
        }
        E::ActiveAggregator { id } => match id {
            Some(id) => format!("{bond} active aggregator {id}"),
            None => format!("{bond} active aggregator none"),
        },
        E::NoPartnerResponse => format!("{bond} no 802.3ad response from the link partner"),
        E::Carrier { up } => format!("{bond} lacp carrier {}", if *up { "up" } else { "down" }),
        E::Loopback { port: p } => format!("{bond} {} looped back", port(*p)),
        E::SpeedDuplexUnknown { port: p, assumed_mbps } => match assumed_mbps {
            Some(s) => format!("{bond} {} unknown speed/duplex, assuming {s} Mbit/s", port(*p)),
            None => format!("{bond} {} failed to get link speed/duplex", port(*p)),
        },
        E::Churn { port: p, actor, state } => {
            format!(
                "{bond} {} {} churn {state:?}",
                port(*p),
                if *actor { "actor" } else { "partner" }
            )
        }
        E::Unsettled => format!("{bond} 802.3ad machines did not settle (a bug)"),
        E::DistributionChanged => return None,
    })
}

/// An ICMP echo message (type 8 request, 0 reply) with its checksum.
fn echo(kind: u8, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let sum = icmpv4_checksum(&m);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

/// An Ethernet II frame around `payload`.
pub(crate) fn eth_frame(
    src: MacAddr,
    dst: MacAddr,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let repr =
        EthernetRepr { dst_addr: dst, src_addr: src, outer_tag: None, inner_tag: None, ethertype };
    let mut frame = vec![0u8; repr.buffer_len() + payload.len()];
    // The buffer is exactly long enough and the repr has no tags: emit cannot fail.
    let _ = repr.emit(&mut ethernet::Frame::new_unchecked(&mut frame[..]));
    frame[repr.buffer_len()..].copy_from_slice(payload);
    frame
}

fn arp_frame(src: MacAddr, dst: MacAddr, a: &ArpRepr) -> Vec<u8> {
    let mut p = vec![0u8; a.buffer_len()];
    let _ = a.emit(&mut arp::Packet::new_unchecked(&mut p[..]));
    eth_frame(src, dst, EtherType::Arp, &p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host(ppm: i32) -> Host {
        let nics = [("eth0", NicModel::E1000, MacAddr([2, 0, 0, 0, 0, 1]))];
        let mut h = Host::new("h", "bond0", BondOptions::new(), &nics, Ipv4Addr::new(10, 0, 0, 1))
            .expect("host");
        h.set_clock_ppm(ppm);
        h
    }

    proptest! {
        /// A host deadline converted to the simulation's time is the first instant at which
        /// the host's clock has reached it: never early (the engine would spin), never late.
        #[test]
        fn deadlines_convert_exactly(ppm in -1000i32..=1000, l in 0u64..(1 << 50)) {
            let h = host(ppm);
            let local = Instant::from_nanos(l);
            let s = h.to_sim(local);
            prop_assert!(h.local(s) >= local);
            if s.as_nanos() > 0 {
                prop_assert!(h.local(Instant::from_nanos(s.as_nanos() - 1)) < local);
            }
        }
    }

    #[test]
    fn clocks_drift_by_their_rate() {
        let t = Instant::ZERO + Duration::from_secs(1000);
        assert_eq!(host(100).local(t), Instant::ZERO + Duration::from_millis(1_000_100));
        assert_eq!(host(-100).local(t), Instant::ZERO + Duration::from_millis(999_900));
        assert_eq!(host(0).local(t), t);
        assert_eq!(host(5000).clock_ppm, MAX_CLOCK_PPM);
    }
}
