//! A host: one real [`Bond`] over its NICs, plus a minimal IPv4 stack on the bond (one
//! address, ARP with a small table, ICMP echo) — enough for `ping` end to end.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::bond::{Bond, BondEvent, RxVerdict, SlaveConfig, SlaveId, TxChoice};
use ubond_core::lacp::{self, LinkState, PortId};
use ubond_core::options::BondOptions;
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
    slave: SlaveId,
    port: Option<PortId>,
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
    counter: u32,
    ping: Option<PingJob>,
    pings: Vec<PingRecord>,
    seen: BTreeSet<u64>,
    seen_order: VecDeque<u64>,
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
        let mut list = Vec::new();
        for (nic, model, mac) in nics {
            let cfg = SlaveConfig { name: (*nic).to_string(), perm_mac: *mac };
            let slave = bond.enslave(Instant::ZERO, cfg, LinkState::down())?;
            list.push(Nic {
                name: (*nic).to_string(),
                model: *model,
                slave,
                port: bond.slave_port(slave),
            });
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
            counter: 0,
            ping: None,
            pings: Vec::new(),
            seen: BTreeSet::new(),
            seen_order: VecDeque::new(),
            stats: HostStats::default(),
        };
        // The enslave-time events are not interesting for the timeline; drop them.
        let mut out = Outbox::default();
        host.drain(&mut out);
        Ok(host)
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
        let seq = self.ping.as_ref().map_or(0, |p| p.seq);
        self.ping = Some(PingJob { dst, interval, next: now, left: count, seq });
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
        self.nics.iter().find(|n| n.port == Some(port)).map_or("?", |n| n.name.as_str())
    }

    /// A NIC's carrier changed.
    pub fn handle_carrier(&mut self, now: Instant, port: usize, up: bool, out: &mut Outbox) {
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
        let Some(nic) = self.nics.get(port) else { return };
        let verdict = self.bond.handle_frame(now, nic.slave, frame);
        self.drain(out);
        match verdict {
            RxVerdict::Consumed => {}
            RxVerdict::Drop => self.stats.rx_dropped += 1,
            RxVerdict::Deliver => {
                if !self.seen.insert(id) {
                    out.violations.push(format!("frame #{id} delivered twice"));
                }
                self.seen_order.push_back(id);
                if self.seen_order.len() > DUP_WINDOW {
                    if let Some(old) = self.seen_order.pop_front() {
                        self.seen.remove(&old);
                    }
                }
                self.stats.delivered += 1;
                self.receive(now, frame, out);
            }
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        if self.bond.poll_timeout().is_some_and(|t| t <= now) {
            self.bond.handle_timeout(now);
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
                    self.pings.push(PingRecord { seq, sent: now, replied: None });
                }
                let payload = echo(8, 0x1ab, seq, b"ubond-lab ping");
                self.send_ip(now, dst, Protocol::Icmp, &payload, out);
            }
        }
    }

    /// When [`Host::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ping = self.ping.as_ref().filter(|p| p.left > 0).map(|p| p.next);
        [self.bond.poll_timeout(), ping].into_iter().flatten().min()
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
        if eth.dst_addr != self.bond.mac() && eth.dst_addr != MacAddr::BROADCAST {
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
                if ip.dst_addr != self.ip || ip.protocol != Protocol::Icmp {
                    return;
                }
                self.handle_icmp(now, ip.src_addr, p.payload(), out);
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
            self.transmit(frame, out);
        }
        // Send what waited for this address.
        let mut left = VecDeque::new();
        while let Some((dst, pkt)) = self.arp_queue.pop_front() {
            match self.arp_table.get(&dst) {
                Some((mac, _)) => {
                    let frame = eth_frame(self.bond.mac(), *mac, EtherType::Ipv4, &pkt);
                    self.transmit(frame, out);
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
                    r.replied.get_or_insert(now);
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
            self.transmit(frame, out);
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
            self.transmit(frame, out);
        }
    }

    /// Sends a data frame through the bond's transmit plan.
    fn transmit(&mut self, frame: Vec<u8>, out: &mut Outbox) {
        match self.bond.tx_plan().select(&frame, &mut self.counter) {
            TxChoice::One(slave) => match self.port_of(slave) {
                Some(port) => out.send(port, frame),
                None => self.stats.tx_dropped += 1,
            },
            TxChoice::All => {
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
            TxChoice::Drop | TxChoice::ControlPlane => self.stats.tx_dropped += 1,
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
