//! balance-tlb and balance-alb's control plane, sans-IO: the kernel's `bond_alb_monitor`,
//! MAC address handling, learning packets, and balance-alb's receive load balancing (RLB).
//! The data path's half is in [`super::tlb`].
//!
//! # Driving an [`Alb`]
//!
//! One [`Alb`] per bond in mode balance-tlb or balance-alb. Inputs, each carrying `now`:
//!
//! * [`Alb::add_slave`] when a slave is enslaved (`bond_alb_init_slave`: it may refuse, see
//!   [`AlbError`]), [`Alb::remove_slave`] when it is released (`bond_alb_deinit_slave`; make
//!   it the non-active slave first with [`Alb::handle_active_change`] if it was active, as
//!   `__bond_release_one` does);
//! * [`Alb::handle_link`] on every committed MII transition of a slave and speed change
//!   (`bond_alb_handle_link_change`); a slave can transmit only while its status is `Up`;
//! * [`Alb::handle_active_change`] whenever the bond's active slave changes
//!   (`bond_alb_handle_active_change`; the choice itself is `bond_select_active_slave`'s, with
//!   `primary` and `primary_reselect`, as in active-backup);
//! * [`Alb::set_bond_mac`], [`Alb::set_options`], [`Alb::set_vlans`];
//! * [`Alb::handle_load`] with the data path's byte counters, then [`Alb::handle_timeout`], at
//!   [`Alb::poll_timeout`] (every 100 ms while the bond runs);
//! * balance-alb: [`Alb::handle_arp_tx`] for every frame the data path answered
//!   [`super::tlb::TlbTx::Arp`] for, and [`Alb::handle_arp_rx`] for every ARP frame received
//!   on any slave (`bond->recv_probe`, before the delivery verdict).
//!
//! After each input drain [`Alb::poll_transmit`] (frames to send on a given slave: learning
//! packets and RLB's ARP replies, complete and ready) and [`Alb::poll_event`]
//! ([`AlbEvent::TableChanged`]: hand [`Alb::tx_table`] to the data path;
//! [`AlbEvent::SlaveMac`]; [`AlbEvent::Promisc`]; logs).
//!
//! Everything is deterministic and bounded: 256 transmit buckets, 256 RLB clients
//! (`RLB_HASH_TABLE_SIZE`), no clock, no hash-map iteration.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use ubond_wire::ethernet::{ETHERTYPE_ARP, ETHERTYPE_VLAN};
use ubond_wire::MacAddr;

use crate::hash::XmitHashPolicy;
use crate::monitor::mii::LinkStatus;
use crate::time::Instant;

use super::tlb::{
    self, AlbMode, Tlb, TlbLoad, TlbSlave, TlbTable, ALB_TICK, ALB_TIMER_TICKS_PER_SEC,
    BOND_TLB_REBALANCE_TICKS,
};
use super::SlaveId;

/// Entries in the RLB client table (`RLB_HASH_TABLE_SIZE`): the key is one byte.
pub const RLB_HASH_TABLE_SIZE: usize = 256;
/// Ticks between two rounds of client updates (`RLB_UPDATE_DELAY`, 2 s).
pub const RLB_UPDATE_DELAY: u32 = 2 * ALB_TIMER_TICKS_PER_SEC;
/// ARP replies per client per round (`RLB_ARP_BURST_SIZE`).
pub const RLB_ARP_BURST_SIZE: usize = 2;
/// Extra rounds after a slave change (`RLB_UPDATE_RETRY`).
pub const RLB_UPDATE_RETRY: u32 = 3;
/// Ticks the active slave stays promiscuous after learning a disabled slave's MAC
/// (`RLB_PROMISC_TIMEOUT`, 10 s).
pub const RLB_PROMISC_TIMEOUT: u32 = 10 * ALB_TIMER_TICKS_PER_SEC;
/// Most queued frames or events; more are dropped and counted.
pub const ALB_QUEUE_LIMIT: usize = 4096;

/// Why [`Alb::add_slave`] refused a slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbError {
    /// `alb_handle_addr_collision_on_attach` found no free address: "the slave hw address is
    /// in use by the bond; couldn't find a slave with a free hw address to give it (this should
    /// not have happened)" (`-EFAULT`).
    NoFreeAddress,
    /// The slave is already known.
    AlreadyAdded,
}

impl core::fmt::Display for AlbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AlbError::NoFreeAddress => f.write_str(
                "the slave hw address is in use by the bond; couldn't find a slave with a free hw address to give it (this should not have happened)",
            ),
            AlbError::AlreadyAdded => f.write_str("the slave is already part of the bond"),
        }
    }
}

impl std::error::Error for AlbError {}

/// What the driver must do, or may log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbEvent {
    /// Reload [`Alb::tx_table`] into the data path.
    TableChanged,
    /// A slave's own address (`dev_addr`) changed. balance-alb: program it into the interface
    /// (`dev_set_mac_address`), each slave must receive on its own address. balance-tlb: it is
    /// only the source address the bond writes for that slave; the interfaces keep accepting
    /// the bond's MAC, which Linux programs into every TLB slave at enslave time.
    SlaveMac {
        /// The slave.
        slave: SlaveId,
        /// Its new address.
        mac: MacAddr,
    },
    /// Put the slave's interface into (`on`) or out of promiscuous mode
    /// (`rlb_teach_disabled_mac_on_primary`, `RLB_PROMISC_TIMEOUT`).
    Promisc {
        /// The slave.
        slave: SlaveId,
        /// Promiscuous or not.
        on: bool,
    },
    /// A line for the log, worded as the kernel words it.
    Log {
        /// The slave concerned, if any.
        slave: Option<SlaveId>,
        /// The message.
        message: String,
    },
}

/// A frame to send on a slave as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbTransmit {
    /// The slave.
    pub slave: SlaveId,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// A VLAN device directly on the bond, for learning packets (`alb_upper_dev_walk`) and RLB's
/// `bond_alb_clear_vlan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlbVlan {
    /// Its protocol: 0x8100 or 0x88a8.
    pub proto: u16,
    /// Its VLAN id.
    pub vid: u16,
    /// Its own MAC, or `None` when it uses the bond's (`NET_ADDR_STOLEN`): its learning packets
    /// then carry the slave's address, as the untagged one does.
    pub mac: Option<MacAddr>,
}

/// One RLB client (`struct rlb_client_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RlbClient {
    /// `ip_src`: the bond's address the client talks to.
    pub ip_src: Ipv4Addr,
    /// `ip_dst`: the client's address (the table's key, `_simple_hash` of it).
    pub ip_dst: Ipv4Addr,
    /// `mac_src`: the bond-side sender MAC of the ARP that created the entry.
    pub mac_src: MacAddr,
    /// `mac_dst`: the client's MAC (broadcast until its reply is seen).
    pub mac_dst: MacAddr,
    /// `assigned`.
    pub assigned: bool,
    /// `ntt`: the client must be sent an update.
    pub ntt: bool,
    /// The slave the client should send to.
    pub slave: Option<SlaveId>,
    /// `vlan_id`: the TCI of the ARP that created the entry (0 for none).
    pub vlan_id: u16,
}

impl RlbClient {
    const EMPTY: RlbClient = RlbClient {
        ip_src: Ipv4Addr::UNSPECIFIED,
        ip_dst: Ipv4Addr::UNSPECIFIED,
        mac_src: MacAddr::ZERO,
        mac_dst: MacAddr::ZERO,
        assigned: false,
        ntt: false,
        slave: None,
        vlan_id: 0,
    };
}

/// balance-alb's receive load balancing state (the `rx_hashtbl` and its counters).
#[derive(Debug, Clone)]
pub struct Rlb {
    table: Vec<RlbClient>,
    /// Indices of assigned entries, newest first (`rx_hashtbl_used_head`).
    used: Vec<u8>,
    rx_ntt: bool,
    rx_slave: Option<SlaveId>,
    primary_is_promisc: bool,
    promisc_timeout_counter: u32,
    update_delay_counter: u32,
    update_retry_counter: u32,
    rebalance: bool,
}

impl Rlb {
    fn new() -> Rlb {
        Rlb {
            table: vec![RlbClient::EMPTY; RLB_HASH_TABLE_SIZE],
            used: Vec::new(),
            rx_ntt: false,
            rx_slave: None,
            primary_is_promisc: false,
            promisc_timeout_counter: 0,
            update_delay_counter: 0,
            update_retry_counter: 0,
            rebalance: false,
        }
    }

    /// The assigned clients, newest first, with their table index.
    pub fn clients(&self) -> impl Iterator<Item = (u8, &RlbClient)> + '_ {
        self.used.iter().map(|&i| (i, &self.table[usize::from(i)]))
    }

    /// The client entry for `ip` (whatever client currently holds its bucket), if assigned
    /// to that address.
    pub fn client(&self, ip: Ipv4Addr) -> Option<&RlbClient> {
        let c = &self.table[usize::from(tlb::simple_hash(&ip.octets()))];
        (c.assigned && c.ip_dst == ip).then_some(c)
    }

    /// Whether clients are waiting for an update (`rx_ntt`).
    pub fn needs_update(&self) -> bool {
        self.rx_ntt
    }

    /// Whether the active slave was made promiscuous (`primary_is_promisc`).
    pub fn primary_is_promisc(&self) -> bool {
        self.primary_is_promisc
    }

    fn delete(&mut self, index: u8) {
        self.used.retain(|&i| i != index);
        let e = &mut self.table[usize::from(index)];
        e.assigned = false;
        e.slave = None;
        e.vlan_id = 0;
    }
}

#[derive(Debug, Clone)]
struct AlbSlave {
    id: SlaveId,
    perm_mac: MacAddr,
    /// `dev->dev_addr`.
    mac: MacAddr,
    status: LinkStatus,
    speed: u32,
}

impl AlbSlave {
    fn can_tx(&self) -> bool {
        self.status == LinkStatus::Up
    }
}

/// The settings an [`Alb`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlbConfig {
    /// balance-tlb or balance-alb.
    pub mode: AlbMode,
    /// `tlb_dynamic_lb` (forced on in balance-alb).
    pub dynamic: bool,
    /// `xmit_hash_policy`.
    pub policy: XmitHashPolicy,
    /// `lp_interval`, seconds between learning packets (at least 1).
    pub lp_interval: u32,
    /// The bond's MAC address.
    pub bond_mac: MacAddr,
}

/// balance-tlb/balance-alb for one bond. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Alb {
    cfg: AlbConfig,
    slaves: Vec<AlbSlave>,
    active: Option<SlaveId>,
    vlans: Vec<AlbVlan>,
    tlb: Tlb,
    rlb: Option<Rlb>,
    table: TlbTable,
    tx_rebalance_counter: u32,
    lp_counter: u32,
    next_tick: Instant,
    transmits: VecDeque<AlbTransmit>,
    events: VecDeque<AlbEvent>,
    dropped: u64,
}

fn is_valid_ether_addr(mac: MacAddr) -> bool {
    !mac.is_multicast() && !mac.is_zero()
}

impl Alb {
    /// A balancer with no slaves; its monitor ticks first at `now` (`bond_open` queues
    /// `alb_work` with no delay).
    pub fn new(now: Instant, cfg: AlbConfig) -> Alb {
        let mut cfg = cfg;
        if cfg.mode == AlbMode::Alb {
            cfg.dynamic = true;
        }
        cfg.lp_interval = cfg.lp_interval.max(1);
        Alb {
            cfg,
            slaves: Vec::new(),
            active: None,
            vlans: Vec::new(),
            tlb: Tlb::new(),
            rlb: (cfg.mode == AlbMode::Alb).then(Rlb::new),
            table: TlbTable::empty(cfg.mode),
            tx_rebalance_counter: 0,
            lp_counter: 0,
            next_tick: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
        }
    }

    // ----- queries -------------------------------------------------------------------------

    /// The data path's table (republished with [`AlbEvent::TableChanged`]).
    pub fn tx_table(&self) -> &TlbTable {
        &self.table
    }

    /// The settings.
    pub fn config(&self) -> &AlbConfig {
        &self.cfg
    }

    /// The active slave as the balancer knows it.
    pub fn active_slave(&self) -> Option<SlaveId> {
        self.active
    }

    /// A slave's own current address (`dev_addr`).
    pub fn slave_mac(&self, id: SlaveId) -> Option<MacAddr> {
        self.slave(id).map(|s| s.mac)
    }

    /// The transmit buckets as the kernel's `tx_hashtbl` would hold them.
    pub fn tlb_buckets(&self) -> &[tlb::TlbBucket; tlb::TLB_HASH_TABLE_SIZE] {
        &self.tlb.buckets
    }

    /// A slave's transmit load (`SLAVE_TLB_INFO(slave).load`, bytes per second).
    pub fn tlb_load(&self, id: SlaveId) -> Option<u32> {
        self.tlb.slaves.iter().find(|s| s.id == id).map(|s| s.load)
    }

    /// The RLB state, in balance-alb.
    pub fn rlb(&self) -> Option<&Rlb> {
        self.rlb.as_ref()
    }

    /// Frames and events dropped because a queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<AlbTransmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<AlbEvent> {
        self.events.pop_front()
    }

    /// When [`Alb::handle_timeout`] must run next: the monitor's next tick.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    fn slave(&self, id: SlaveId) -> Option<&AlbSlave> {
        self.slaves.iter().find(|s| s.id == id)
    }

    fn slave_mut(&mut self, id: SlaveId) -> Option<&mut AlbSlave> {
        self.slaves.iter_mut().find(|s| s.id == id)
    }

    fn can_tx(&self, id: SlaveId) -> bool {
        self.slave(id).is_some_and(AlbSlave::can_tx)
    }

    /// `bond_slave_has_mac`: the first slave whose current address is `mac`.
    fn slave_with_mac(&self, mac: MacAddr) -> Option<SlaveId> {
        self.slaves.iter().find(|s| s.mac == mac).map(|s| s.id)
    }

    fn event(&mut self, e: AlbEvent) {
        if self.events.len() >= ALB_QUEUE_LIMIT {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(e);
    }

    fn transmit(&mut self, slave: SlaveId, frame: Vec<u8>) {
        if self.transmits.len() >= ALB_QUEUE_LIMIT {
            self.dropped += 1;
            return;
        }
        self.transmits.push_back(AlbTransmit { slave, frame });
    }

    fn sync_tlb_slaves(&mut self) {
        let old = std::mem::take(&mut self.tlb.slaves);
        self.tlb.slaves = self
            .slaves
            .iter()
            .map(|s| {
                let prev = old.iter().find(|t| t.id == s.id);
                TlbSlave {
                    id: s.id,
                    speed: s.speed,
                    can_tx: s.can_tx(),
                    load: prev.map_or(0, |p| p.load),
                    base_load: prev.map_or(0, |p| p.base_load),
                }
            })
            .collect();
    }

    /// Rebuilds the data path's table; announces it if it changed.
    fn publish(&mut self) {
        self.sync_tlb_slaves();
        let table = TlbTable {
            mode: self.cfg.mode,
            dynamic: self.cfg.dynamic,
            policy: self.cfg.policy,
            buckets: if self.cfg.dynamic {
                self.tlb.project()
            } else {
                [None; tlb::TLB_HASH_TABLE_SIZE]
            },
            active: self.active.filter(|&a| self.can_tx(a)),
            usable: self.slaves.iter().filter(|s| s.can_tx()).map(|s| s.id).collect(),
            macs: self.slaves.iter().map(|s| (s.id, s.mac)).collect(),
        };
        if table != self.table {
            self.table = table;
            self.event(AlbEvent::TableChanged);
        }
    }

    // ----- MAC handling and learning packets ------------------------------------------------

    /// `alb_set_slave_mac_addr`.
    fn set_slave_mac(&mut self, id: SlaveId, mac: MacAddr) {
        if let Some(s) = self.slave_mut(id) {
            if s.mac != mac {
                s.mac = mac;
                self.event(AlbEvent::SlaveMac { slave: id, mac });
            }
        }
    }

    /// `alb_send_learning_packets`: untagged, then one per VLAN device on the bond. (Linux also
    /// sends one per macvlan device when `strict_match` is off; ubond has no macvlans.)
    fn send_learning_packets(&mut self, slave: SlaveId, mac: MacAddr, strict_match: bool) {
        let _ = strict_match;
        self.transmit(slave, tlb::learning_packet(mac, None));
        for v in self.vlans.clone() {
            self.transmit(
                slave,
                tlb::learning_packet(v.mac.unwrap_or(mac), Some((v.proto, v.vid))),
            );
        }
    }

    /// `alb_swap_mac_addr`.
    fn swap_mac(&mut self, a: SlaveId, b: SlaveId) {
        let (Some(ma), Some(mb)) = (self.slave_mac(a), self.slave_mac(b)) else { return };
        self.set_slave_mac(a, mb);
        self.set_slave_mac(b, ma);
    }

    /// `alb_fasten_mac_swap`.
    fn fasten_mac_swap(&mut self, a: SlaveId, b: SlaveId) {
        let differ = self.can_tx(a) != self.can_tx(b);
        let mut disabled = None;
        for s in [a, b] {
            if self.can_tx(s) {
                let mac = self.slave_mac(s).unwrap_or_default();
                self.send_learning_packets(s, mac, false);
                self.rlb_req_update_slave_clients(s);
            } else {
                disabled = Some(s);
            }
        }
        if self.rlb.is_some() && differ {
            if let Some(mac) = disabled.and_then(|d| self.slave_mac(d)) {
                self.rlb_teach_disabled_mac_on_primary(mac);
            }
        }
    }

    // ----- inputs ----------------------------------------------------------------------------

    /// Changes `tlb_dynamic_lb` (forced on in balance-alb), `xmit_hash_policy` and
    /// `lp_interval`.
    pub fn set_options(
        &mut self,
        now: Instant,
        dynamic: bool,
        policy: XmitHashPolicy,
        lp_interval: u32,
    ) {
        let _ = now;
        self.cfg.dynamic = dynamic || self.cfg.mode == AlbMode::Alb;
        self.cfg.policy = policy;
        self.cfg.lp_interval = lp_interval.max(1);
        self.publish();
    }

    /// The VLAN devices on the bond. Clients learnt on a VLAN that disappeared are forgotten
    /// (`bond_alb_clear_vlan`).
    pub fn set_vlans(&mut self, now: Instant, vlans: &[AlbVlan]) {
        let _ = now;
        let gone: Vec<u16> = self
            .vlans
            .iter()
            .filter(|v| !vlans.iter().any(|n| n.vid == v.vid))
            .map(|v| v.vid)
            .collect();
        self.vlans = vlans.iter().take(4094).copied().collect();
        if let Some(rlb) = &mut self.rlb {
            for vid in gone {
                let victims: Vec<u8> = rlb
                    .used
                    .iter()
                    .copied()
                    .filter(|&i| rlb.table[usize::from(i)].vlan_id == vid)
                    .collect();
                for i in victims {
                    rlb.delete(i);
                }
            }
        }
    }

    /// A new slave (`bond_alb_init_slave`, called before it joins the slave list): it gets its
    /// permanent address back, or another slave's free permanent address if that one is in
    /// use (`alb_handle_addr_collision_on_attach`); a rebalance is ordered for the next tick.
    pub fn add_slave(
        &mut self,
        now: Instant,
        id: SlaveId,
        perm_mac: MacAddr,
        status: LinkStatus,
        speed_mbps: u32,
    ) -> Result<(), AlbError> {
        let _ = now;
        if self.slave(id).is_some() {
            return Err(AlbError::AlreadyAdded);
        }
        let mut mac = perm_mac;
        let mut log = None;
        if !self.slaves.is_empty() {
            let bond_mac = self.cfg.bond_mac;
            let mut collides = true;
            if perm_mac != bond_mac {
                if self.slave_with_mac(perm_mac).is_none() {
                    collides = false;
                } else {
                    mac = bond_mac;
                }
            }
            if collides {
                let mut has_bond_addr = self.active;
                let mut free = None;
                for t in &self.slaves {
                    if self.slave_with_mac(t.perm_mac).is_none() {
                        free = Some((t.id, t.perm_mac));
                        break;
                    }
                    if has_bond_addr.is_none() && t.mac == bond_mac {
                        has_bond_addr = Some(t.id);
                    }
                }
                if let Some((donor, free_mac)) = free {
                    mac = free_mac;
                    log = Some(format!(
                        "the slave hw address is in use by the bond; giving it the hw address of slave #{}",
                        donor.0
                    ));
                } else if has_bond_addr.is_some() {
                    return Err(AlbError::NoFreeAddress);
                }
            }
        }
        self.slaves.push(AlbSlave { id, perm_mac, mac, status, speed: speed_mbps });
        self.event(AlbEvent::SlaveMac { slave: id, mac });
        if let Some(message) = log {
            self.event(AlbEvent::Log { slave: Some(id), message });
        }
        // Order a rebalance at the next tick.
        self.tx_rebalance_counter = BOND_TLB_REBALANCE_TICKS;
        if let Some(rlb) = &mut self.rlb {
            rlb.rebalance = true;
        }
        self.publish();
        Ok(())
    }

    /// A slave leaves the bond (`bond_alb_deinit_slave`). If another slave holds its permanent
    /// address, the two swap (`alb_change_hw_addr_on_detach`); its buckets are released and
    /// its RLB clients move to other slaves. The driver then gives the interface back its
    /// permanent address.
    pub fn remove_slave(&mut self, now: Instant, id: SlaveId) {
        let _ = now;
        let Some(i) = self.slaves.iter().position(|s| s.id == id) else { return };
        let gone = self.slaves.remove(i);
        if !self.slaves.is_empty()
            && gone.perm_mac != gone.mac
            && gone.perm_mac != self.cfg.bond_mac
        {
            if let Some(found) = self.slave_with_mac(gone.perm_mac) {
                // alb_swap_mac_addr(gone, found) + alb_fasten_mac_swap(gone, found): the
                // detached slave leaves with its own address, `found` gets the one `gone` held.
                self.set_slave_mac(found, gone.mac);
                self.event(AlbEvent::SlaveMac { slave: id, mac: gone.perm_mac });
                let found_tx = self.can_tx(found);
                let mut disabled = None;
                if gone.can_tx() {
                    self.send_learning_packets(id, gone.perm_mac, false);
                    self.rlb_req_update_slave_clients(id);
                } else {
                    disabled = Some(gone.perm_mac);
                }
                if found_tx {
                    self.send_learning_packets(found, gone.mac, false);
                    self.rlb_req_update_slave_clients(found);
                } else {
                    disabled = Some(gone.mac);
                }
                if self.rlb.is_some() && gone.can_tx() != found_tx {
                    if let Some(mac) = disabled {
                        self.rlb_teach_disabled_mac_on_primary(mac);
                    }
                }
            }
        }
        self.tlb.clear_slave(id, false);
        self.sync_tlb_slaves();
        if let Some(rlb) = &mut self.rlb {
            rlb.rx_slave = None;
        }
        self.rlb_clear_slave(id, gone.mac);
        self.publish();
    }

    /// A committed link transition or a speed change of a slave
    /// (`bond_alb_handle_link_change`): going down releases its buckets and moves its RLB
    /// clients; coming up orders a rebalance at the next tick. Only an `Up` slave transmits.
    pub fn handle_link(&mut self, now: Instant, id: SlaveId, status: LinkStatus, speed_mbps: u32) {
        let _ = now;
        let Some(s) = self.slave_mut(id) else { return };
        let prev = s.status;
        s.status = status;
        s.speed = speed_mbps;
        let mac = s.mac;
        self.sync_tlb_slaves();
        let was_tx = prev == LinkStatus::Up;
        if status == LinkStatus::Down && matches!(prev, LinkStatus::Up | LinkStatus::Fail) {
            self.tlb.clear_slave(id, false);
            self.rlb_clear_slave(id, mac);
        } else if status == LinkStatus::Up && !was_tx {
            self.tx_rebalance_counter = BOND_TLB_REBALANCE_TICKS;
            if let Some(rlb) = &mut self.rlb {
                rlb.rebalance = true;
            }
        } else if was_tx && status != LinkStatus::Up {
            // The kernel releases the buckets of a slave that cannot transmit at its next
            // frame (`bond_do_alb_xmit`); ubond does it now.
            self.tlb.clear_slave(id, false);
        }
        self.publish();
    }

    /// The bond's active slave changed (`bond_alb_handle_active_change`): the new one takes the
    /// bond's MAC, swapping addresses with the slave that had it, and announces it with
    /// learning packets.
    pub fn handle_active_change(&mut self, now: Instant, new: Option<SlaveId>) {
        let _ = now;
        let curr = self.active;
        if curr == new {
            return;
        }
        if let (Some(c), Some(rlb)) = (curr, &mut self.rlb) {
            if rlb.primary_is_promisc {
                rlb.primary_is_promisc = false;
                rlb.promisc_timeout_counter = 0;
                self.event(AlbEvent::Promisc { slave: c, on: false });
            }
        }
        let mut swap = curr;
        self.active = new;
        let Some(new) = new.filter(|&n| self.slave(n).is_some()) else {
            self.publish();
            return;
        };
        if swap.is_none() {
            swap = self.slave_with_mac(self.cfg.bond_mac);
        }
        let swap = swap.filter(|&s| self.slave(s).is_some());
        if let Some(s) = swap {
            self.tlb.clear_slave(s, true);
            self.tlb.clear_slave(new, true);
        }
        if let Some(s) = swap {
            self.swap_mac(s, new);
            self.fasten_mac_swap(s, new);
        } else {
            let bond_mac = self.cfg.bond_mac;
            self.set_slave_mac(new, bond_mac);
            self.send_learning_packets(new, bond_mac, false);
        }
        self.publish();
    }

    /// The bond's MAC address changed (`bond_alb_set_mac_address`).
    pub fn set_bond_mac(&mut self, now: Instant, mac: MacAddr) {
        let _ = now;
        self.cfg.bond_mac = mac;
        let Some(active) = self.active else { return };
        match self.slave_with_mac(mac) {
            Some(swap) => {
                self.swap_mac(swap, active);
                self.fasten_mac_swap(swap, active);
            }
            None => {
                self.set_slave_mac(active, mac);
                self.send_learning_packets(active, mac, false);
                self.rlb_req_update_slave_clients(active);
            }
        }
        self.publish();
    }

    /// The data path's byte counters since the last call (sum them over the threads, or
    /// call once per thread). Buckets that carried traffic are assigned to the slave the
    /// published table gave them.
    pub fn handle_load(&mut self, now: Instant, load: &TlbLoad) {
        let _ = now;
        if !self.cfg.dynamic {
            return;
        }
        self.tlb.take_load(load, &self.table.buckets);
        self.publish();
    }

    /// Runs the monitor (`bond_alb_monitor`) if its tick is due: learning packets every
    /// `lp_interval`, the transmit rebalance every 10 s, and in balance-alb the promiscuity
    /// timeout, the RLB rebalance and the client updates. The next tick is 100 ms after this
    /// one ran (the kernel re-arms its work relative to when it ran).
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_tick {
            return;
        }
        self.next_tick = now + ALB_TICK;
        self.tick();
        self.publish();
    }

    fn tick(&mut self) {
        if self.slaves.is_empty() {
            self.tx_rebalance_counter = 0;
            self.lp_counter = 0;
            return;
        }
        self.tx_rebalance_counter = self.tx_rebalance_counter.saturating_add(1);
        self.lp_counter = self.lp_counter.saturating_add(1);
        let lp_ticks = self.cfg.lp_interval.saturating_mul(ALB_TIMER_TICKS_PER_SEC);
        if self.lp_counter >= lp_ticks {
            let rlb = self.rlb.is_some();
            let list: Vec<(SlaveId, MacAddr)> = self.slaves.iter().map(|s| (s.id, s.mac)).collect();
            for (id, mac) in list {
                let strict = Some(id) != self.active || rlb;
                self.send_learning_packets(id, mac, strict);
            }
            self.lp_counter = 0;
        }
        if self.tx_rebalance_counter >= BOND_TLB_REBALANCE_TICKS {
            self.sync_tlb_slaves();
            self.tlb.rebalance(self.active);
            self.tx_rebalance_counter = 0;
        }
        if self.rlb.is_none() {
            return;
        }
        let active = self.active;
        let mut promisc_off = None;
        if let Some(rlb) = &mut self.rlb {
            if rlb.primary_is_promisc {
                rlb.promisc_timeout_counter += 1;
                if rlb.promisc_timeout_counter >= RLB_PROMISC_TIMEOUT {
                    rlb.promisc_timeout_counter = 0;
                    if let Some(a) = active {
                        rlb.primary_is_promisc = false;
                        promisc_off = Some(a);
                    }
                }
            }
        }
        if let Some(a) = promisc_off {
            self.event(AlbEvent::Promisc { slave: a, on: false });
        }
        if self.rlb.as_ref().is_some_and(|r| r.rebalance) {
            if let Some(rlb) = &mut self.rlb {
                rlb.rebalance = false;
            }
            self.rlb_rebalance();
        }
        let Some(rlb) = &mut self.rlb else { return };
        if rlb.rx_ntt {
            if rlb.update_delay_counter > 0 {
                rlb.update_delay_counter -= 1;
            } else {
                self.rlb_update_rx_clients();
                if let Some(rlb) = &mut self.rlb {
                    if rlb.update_retry_counter > 0 {
                        rlb.update_retry_counter -= 1;
                    } else {
                        rlb.rx_ntt = false;
                    }
                }
            }
        }
    }

    // ----- RLB ----------------------------------------------------------------------------

    /// `__rlb_next_rx_slave`: round robin over the slaves that can transmit, preferring the
    /// fastest.
    fn rlb_next_rx_slave(&mut self) -> Option<SlaveId> {
        let rx = self.rlb.as_ref()?.rx_slave;
        let mut before: Option<&AlbSlave> = None;
        let mut after: Option<&AlbSlave> = None;
        let mut found = false;
        for s in self.slaves.iter().filter(|s| s.can_tx()) {
            if !found {
                if before.is_none_or(|b| b.speed < s.speed) {
                    before = Some(s);
                }
            } else if after.is_none_or(|a| a.speed < s.speed) {
                after = Some(s);
            }
            if Some(s.id) == rx {
                found = true;
            }
        }
        let pick = match (after, before) {
            (None, b) => b,
            (Some(a), Some(b)) if a.speed < b.speed => Some(b),
            (a, _) => a,
        }
        .map(|s| s.id);
        if let (Some(p), Some(rlb)) = (pick, &mut self.rlb) {
            rlb.rx_slave = Some(p);
        }
        pick
    }

    /// `rlb_update_client`: `RLB_ARP_BURST_SIZE` ARP replies telling the client that the bond's
    /// address is at its slave's MAC.
    fn rlb_update_client(&mut self, client: RlbClient) {
        let Some(slave) = client.slave else { return };
        if !is_valid_ether_addr(client.mac_dst) {
            return;
        }
        let Some(slave_mac) = self.slave_mac(slave) else { return };
        let frame = arp_reply(
            client.mac_dst,
            slave_mac,
            client.ip_src,
            client.mac_dst,
            client.ip_dst,
            client.vlan_id,
        );
        for _ in 0..RLB_ARP_BURST_SIZE {
            self.transmit(slave, frame.clone());
        }
    }

    /// `rlb_update_rx_clients`.
    fn rlb_update_rx_clients(&mut self) {
        let Some(rlb) = &self.rlb else { return };
        let used = rlb.used.clone();
        for i in used {
            let Some(client) = self.rlb.as_ref().map(|r| r.table[usize::from(i)]) else { return };
            if client.ntt {
                self.rlb_update_client(client);
                if let Some(rlb) = &mut self.rlb {
                    if rlb.update_retry_counter == 0 {
                        rlb.table[usize::from(i)].ntt = false;
                    }
                }
            }
        }
        if let Some(rlb) = &mut self.rlb {
            rlb.update_delay_counter = RLB_UPDATE_DELAY;
        }
    }

    /// `rlb_req_update_slave_clients`: the slave's MAC changed.
    fn rlb_req_update_slave_clients(&mut self, slave: SlaveId) {
        let Some(rlb) = &mut self.rlb else { return };
        let mut ntt = false;
        for &i in &rlb.used {
            let c = &mut rlb.table[usize::from(i)];
            if c.slave == Some(slave) && is_valid_ether_addr(c.mac_dst) {
                c.ntt = true;
                ntt = true;
            }
        }
        if ntt {
            rlb.rx_ntt = true;
            rlb.update_retry_counter = RLB_UPDATE_RETRY;
        }
    }

    /// `rlb_req_update_subnet_clients`: after an ARP request (broadcast, it taught every
    /// client the bond's MAC), the clients of `src_ip` on another slave need their update.
    fn rlb_req_update_subnet_clients(&mut self, src_ip: Ipv4Addr) {
        let bond_mac = self.cfg.bond_mac;
        let macs: Vec<(SlaveId, MacAddr)> = self.slaves.iter().map(|s| (s.id, s.mac)).collect();
        let Some(rlb) = &mut self.rlb else { return };
        for &i in &rlb.used {
            let c = &mut rlb.table[usize::from(i)];
            let Some(slave) = c.slave else { continue };
            let slave_mac = macs.iter().find(|(s, _)| *s == slave).map(|(_, m)| *m);
            if c.ip_src == src_ip && slave_mac != Some(bond_mac) && is_valid_ether_addr(c.mac_dst) {
                c.ntt = true;
                rlb.rx_ntt = true;
            }
        }
    }

    /// `rlb_teach_disabled_mac_on_primary`.
    fn rlb_teach_disabled_mac_on_primary(&mut self, mac: MacAddr) {
        let Some(active) = self.active else { return };
        let mut on = false;
        if let Some(rlb) = &mut self.rlb {
            if !rlb.primary_is_promisc {
                rlb.primary_is_promisc = true;
                on = true;
            }
            rlb.promisc_timeout_counter = 0;
        }
        if on {
            self.event(AlbEvent::Promisc { slave: active, on: true });
        }
        self.send_learning_packets(active, mac, true);
    }

    /// `rlb_clear_slave`: the clients of a slave that went down or left move to the next
    /// slave and are told so, `RLB_UPDATE_RETRY` more times than usual.
    fn rlb_clear_slave(&mut self, slave: SlaveId, slave_mac: MacAddr) {
        if self.rlb.is_none() {
            return;
        }
        let used = self.rlb.as_ref().map(|r| r.used.clone()).unwrap_or_default();
        for i in used {
            let idx = usize::from(i);
            if self.rlb.as_ref().is_some_and(|r| r.table[idx].slave == Some(slave)) {
                let next = self.rlb_next_rx_slave();
                let Some(rlb) = &mut self.rlb else { return };
                let c = &mut rlb.table[idx];
                c.slave = next;
                if next.is_some() && is_valid_ether_addr(c.mac_dst) {
                    c.ntt = true;
                    rlb.rx_ntt = true;
                    rlb.update_retry_counter = RLB_UPDATE_RETRY;
                }
            }
        }
        if Some(slave) != self.active {
            self.rlb_teach_disabled_mac_on_primary(slave_mac);
        }
    }

    /// `rlb_rebalance`: deal the clients out again over the slaves.
    fn rlb_rebalance(&mut self) {
        let used = self.rlb.as_ref().map(|r| r.used.clone()).unwrap_or_default();
        let mut ntt = false;
        for i in used {
            let idx = usize::from(i);
            let assigned = self.rlb_next_rx_slave();
            let Some(rlb) = &mut self.rlb else { return };
            let c = &mut rlb.table[idx];
            if assigned.is_some() && c.slave != assigned {
                c.slave = assigned;
                if !c.mac_dst.is_zero() {
                    c.ntt = true;
                    ntt = true;
                }
            }
        }
        if let Some(rlb) = &mut self.rlb {
            if ntt {
                rlb.rx_ntt = true;
            }
        }
    }

    /// `rlb_choose_channel`: the slave a client's ARP traffic from the bond goes out by.
    fn rlb_choose_channel(&mut self, arp: &ArpFields, vlan_id: u16) -> Option<SlaveId> {
        let active = self.active;
        let index = tlb::simple_hash(&arp.ip_dst.octets());
        let idx = usize::from(index);
        let client = self.rlb.as_ref()?.table[idx];
        if client.assigned {
            if client.ip_src == arp.ip_src && client.ip_dst == arp.ip_dst {
                let rlb = self.rlb.as_mut()?;
                let c = &mut rlb.table[idx];
                if arp.mac_dst != MacAddr::BROADCAST {
                    c.mac_dst = arp.mac_dst;
                }
                c.mac_src = arp.mac_src;
                if let Some(s) = c.slave {
                    return Some(s);
                }
            } else if let Some(a) = active.filter(|&a| client.slave != Some(a)) {
                // Another client holds the entry: move it to the active slave so that the new
                // client can take it.
                let moved = {
                    let rlb = self.rlb.as_mut()?;
                    rlb.table[idx].slave = Some(a);
                    rlb.table[idx]
                };
                self.rlb_update_client(moved);
            }
        }
        let assigned = self.rlb_next_rx_slave()?;
        let rlb = self.rlb.as_mut()?;
        let c = &mut rlb.table[idx];
        c.ip_src = arp.ip_src;
        c.ip_dst = arp.ip_dst;
        c.mac_dst = arp.mac_dst;
        c.mac_src = arp.mac_src;
        c.slave = Some(assigned);
        if is_valid_ether_addr(c.mac_dst) {
            c.ntt = true;
            rlb.rx_ntt = true;
        } else {
            c.ntt = false;
        }
        c.vlan_id = vlan_id;
        if !c.assigned {
            c.assigned = true;
            rlb.used.insert(0, index);
        }
        Some(assigned)
    }

    /// An ARP packet the bond sends (the data path's [`super::tlb::TlbTx::Arp`]): balance-alb's
    /// `rlb_arp_xmit` then `bond_do_alb_xmit`. A reply is sent by the slave chosen for its
    /// client, with that slave's MAC as the ARP sender address; a request is sent by the
    /// client's slave too, and schedules updates for the clients it confused. The frame is
    /// rewritten in place (ARP sender address, Ethernet source); the answer is the slave to
    /// send it on, or `None` to drop it.
    pub fn handle_arp_tx(&mut self, now: Instant, frame: &mut [u8]) -> Option<SlaveId> {
        let _ = now;
        let mut tx_slave = None;
        let l2 = tlb::l2(frame);
        if let (Some(l2), true) = (l2, self.rlb.is_some()) {
            if l2.ethertype == ETHERTYPE_ARP {
                if let Some(arp) = ArpFields::read(frame, l2.l3) {
                    // Only ARPs from the bond itself (or a VLAN on it) are balanced.
                    if self.slave_with_mac(arp.mac_src).is_some() {
                        let vlan_id = l2.tci.unwrap_or(0);
                        match arp.op {
                            2 => {
                                tx_slave = self.rlb_choose_channel(&arp, vlan_id);
                                if let Some(mac) = tx_slave.and_then(|s| self.slave_mac(s)) {
                                    frame[l2.l3 + 8..l2.l3 + 14].copy_from_slice(&mac.0);
                                }
                            }
                            1 => {
                                tx_slave = self.rlb_choose_channel(&arp, vlan_id);
                                if let Some(rlb) = &mut self.rlb {
                                    rlb.update_delay_counter = RLB_UPDATE_DELAY;
                                }
                                self.rlb_req_update_subnet_clients(arp.ip_src);
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        // bond_do_alb_xmit
        let tx = match tx_slave {
            Some(s) => Some(s),
            None => {
                if self.cfg.dynamic {
                    self.tlb.unbalanced = self.tlb.unbalanced.wrapping_add(frame.len() as u32);
                }
                self.active
            }
        };
        let result = match tx {
            Some(s) if self.can_tx(s) => {
                if Some(s) != self.active {
                    if let (Some(mac), Some(src)) = (self.slave_mac(s), frame.get_mut(6..12)) {
                        src.copy_from_slice(&mac.0);
                    }
                }
                Some(s)
            }
            Some(s) => {
                if self.cfg.dynamic {
                    self.tlb.clear_slave(s, false);
                }
                None
            }
            None => None,
        };
        self.publish();
        result
    }

    /// An ARP frame received on a slave (`rlb_arp_recv`): forgets clients whose bond-side
    /// address now belongs to another MAC (`rlb_purge_src_ip`) and learns a client's MAC from
    /// its ARP reply (`rlb_update_entry_from_arp`). The frame is then delivered as any other.
    pub fn handle_arp_rx(&mut self, now: Instant, slave: SlaveId, frame: &[u8]) {
        let _ = (now, slave);
        let Some(rlb) = &mut self.rlb else { return };
        let Some(l2) = tlb::l2(frame) else { return };
        if l2.ethertype != ETHERTYPE_ARP {
            return;
        }
        let Some(arp) = ArpFields::read(frame, l2.l3) else { return };
        // rlb_purge_src_ip: every entry whose ip_src is the sender's address but whose mac_src
        // differs is deleted (the kernel walks the entries chained under hash(ip_src); these
        // are exactly the assigned entries with that ip_src).
        let victims: Vec<u8> = rlb
            .used
            .iter()
            .copied()
            .filter(|&i| {
                let e = &rlb.table[usize::from(i)];
                e.ip_src == arp.ip_src && e.mac_src != arp.mac_src
            })
            .collect();
        for i in victims {
            rlb.delete(i);
        }
        if arp.op == 2 {
            let idx = usize::from(tlb::simple_hash(&arp.ip_src.octets()));
            let c = &mut rlb.table[idx];
            if c.assigned
                && c.ip_src == arp.ip_dst
                && c.ip_dst == arp.ip_src
                && c.mac_dst != arp.mac_src
            {
                c.mac_dst = arp.mac_src;
                c.ntt = true;
                rlb.rx_ntt = true;
            }
        }
    }
}

/// The fields of `struct arp_pkt`, read without checking the hardware or protocol types, as
/// the kernel does.
#[derive(Debug, Clone, Copy)]
struct ArpFields {
    op: u16,
    mac_src: MacAddr,
    ip_src: Ipv4Addr,
    mac_dst: MacAddr,
    ip_dst: Ipv4Addr,
}

impl ArpFields {
    fn read(frame: &[u8], at: usize) -> Option<ArpFields> {
        let a = frame.get(at..at.checked_add(28)?)?;
        let mac = |o: usize| MacAddr([a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5]]);
        let ip = |o: usize| Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]);
        Some(ArpFields {
            op: u16::from_be_bytes([a[6], a[7]]),
            mac_src: mac(8),
            ip_src: ip(14),
            mac_dst: mac(18),
            ip_dst: ip(24),
        })
    }
}

/// `arp_create(ARPOP_REPLY, ETH_P_ARP, dest_ip, dev, src_ip, dest_hw, src_hw, target_hw)` as
/// `rlb_update_client` calls it, with the VLAN tag in line when `vlan_tci` is not 0, padded
/// to 60 octets.
pub fn arp_reply(
    dest_hw: MacAddr,
    src_hw: MacAddr,
    src_ip: Ipv4Addr,
    target_hw: MacAddr,
    dest_ip: Ipv4Addr,
    vlan_tci: u16,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dest_hw.0);
    f.extend_from_slice(&src_hw.0);
    if vlan_tci != 0 {
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&vlan_tci.to_be_bytes());
    }
    f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    f.extend_from_slice(&src_hw.0);
    f.extend_from_slice(&src_ip.octets());
    f.extend_from_slice(&target_hw.0);
    f.extend_from_slice(&dest_ip.octets());
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// Whether a data frame received on a slave goes up the bond, in these modes
/// (`bond_should_deliver_exact_match` with the `inactive` flag Linux sets on every slave but
/// the active one in balance-tlb and balance-alb, unless `all_slaves_active`): the active
/// slave delivers everything; in balance-alb the others deliver unicast frames (their own
/// clients' traffic); in balance-tlb they deliver nothing.
pub fn rx_deliver(mode: AlbMode, is_active: bool, all_slaves_active: bool, frame: &[u8]) -> bool {
    if is_active || all_slaves_active {
        return true;
    }
    match mode {
        AlbMode::Tlb => false,
        AlbMode::Alb => frame.first().is_some_and(|b| b & 1 == 0),
    }
}
