//! balance-tlb and balance-alb's control plane, sans-IO: the kernel's `bond_alb_monitor`,
//! MAC address handling, learning packets, and balance-alb's receive load balancing (RLB, in
//! its own module). The data path's half is in [`super::tlb`].
//!
//! # Driving an [`Alb`]
//!
//! One [`Alb`] per bond in mode balance-tlb or balance-alb. Inputs (those that may start a
//! period carry `now`):
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
//!   [`Alb::poll_timeout`] (a monitor pass every 100 ms while the bond runs);
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
//!
//! # Time
//!
//! The kernel's monitor is a work item that runs every 100 ms and re-arms itself after it
//! ran; its periods are counts of its passes (learning packets every `lp_interval × 10`
//! passes, the transmit rebalance every 100, the promiscuity timeout after 100). Here the
//! monitor's next pass is a deadline, and so is the end of each period: a period of `n` passes
//! that starts now ends at the `n`-th pass from now, `n − 1` periods of [`ALB_TICK`] after the
//! next pass is due (`Alb::pass_deadline`), so a driver that runs each pass on time sees the
//! kernel's counts exactly, and a late one is not late again by the period. One counter is
//! not a time and stays a count: RLB's update delay counts down only in passes that find
//! updates waiting (`rlb_update_delay_counter`, see the `rlb` module).

mod mac;
mod rlb;

use std::collections::VecDeque;

use ubond_wire::MacAddr;

use crate::hash::XmitHashPolicy;
use crate::monitor::mii::LinkStatus;
use crate::time::Instant;

use super::tlb::{
    self, AlbMode, Tlb, TlbLoad, TlbSlave, TlbTable, ALB_TICK, ALB_TIMER_TICKS_PER_SEC,
    BOND_TLB_REBALANCE_TICKS,
};
use super::SlaveId;

pub use self::rlb::{
    arp_reply, Rlb, RlbClient, RLB_ARP_BURST_SIZE, RLB_HASH_TABLE_SIZE, RLB_PROMISC_TIMEOUT,
    RLB_UPDATE_DELAY, RLB_UPDATE_RETRY,
};

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
    /// The monitor's next pass.
    next_tick: Instant,
    /// The next transmit rebalance (`BOND_TLB_REBALANCE_TICKS` passes apart, or at the next
    /// pass once ordered).
    tx_rebalance_at: Instant,
    /// The next round of learning packets (`lp_interval` seconds of passes apart).
    lp_at: Instant,
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
        let mut alb = Alb {
            cfg,
            slaves: Vec::new(),
            active: None,
            vlans: Vec::new(),
            tlb: Tlb::new(),
            rlb: (cfg.mode == AlbMode::Alb).then(Rlb::new),
            table: TlbTable::empty(cfg.mode),
            next_tick: now,
            tx_rebalance_at: now,
            lp_at: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
        };
        alb.restart_periods(now);
        alb
    }

    /// When the `n`-th monitor pass from now runs (`n` ≥ 1; the first is the next one, due at
    /// `next_tick`, or now if it is late): the end of a period of `n` passes starting now.
    fn pass_deadline(&self, now: Instant, n: u32) -> Instant {
        self.next_tick.max(now) + ALB_TICK * n.saturating_sub(1)
    }

    /// The learning packets' period, in monitor passes.
    fn lp_passes(&self) -> u32 {
        self.cfg.lp_interval.saturating_mul(ALB_TIMER_TICKS_PER_SEC)
    }

    /// The transmit rebalance and the learning packets count their periods from now (the
    /// kernel zeroes their counters).
    fn restart_periods(&mut self, now: Instant) {
        self.tx_rebalance_at = self.pass_deadline(now, BOND_TLB_REBALANCE_TICKS);
        self.lp_at = self.pass_deadline(now, self.lp_passes());
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

    // ----- inputs ----------------------------------------------------------------------------

    /// Changes `tlb_dynamic_lb` (forced on in balance-alb), `xmit_hash_policy` and
    /// `lp_interval`.
    pub fn set_options(&mut self, dynamic: bool, policy: XmitHashPolicy, lp_interval: u32) {
        self.cfg.dynamic = dynamic || self.cfg.mode == AlbMode::Alb;
        self.cfg.policy = policy;
        // The passes already counted towards the learning packets still count (the kernel
        // compares its counter with the new period at the next pass).
        let before = self.lp_passes();
        self.cfg.lp_interval = lp_interval.max(1);
        let after = self.lp_passes();
        self.lp_at = match after.checked_sub(before) {
            Some(more) => self.lp_at + ALB_TICK * more,
            None => earlier(self.lp_at, ALB_TICK * (before - after)),
        };
        self.publish();
    }

    /// The VLAN devices on the bond. Clients learnt on a VLAN that disappeared are forgotten
    /// (`bond_alb_clear_vlan`).
    pub fn set_vlans(&mut self, vlans: &[AlbVlan]) {
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
        // Order a rebalance at the next pass.
        self.tx_rebalance_at = self.pass_deadline(now, 1);
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
                        self.rlb_teach_disabled_mac_on_primary(now, mac);
                    }
                }
            }
        }
        self.tlb.clear_slave(id, false);
        self.sync_tlb_slaves();
        if let Some(rlb) = &mut self.rlb {
            rlb.rx_slave = None;
        }
        self.rlb_clear_slave(now, id, gone.mac);
        self.publish();
    }

    /// A committed link transition or a speed change of a slave
    /// (`bond_alb_handle_link_change`): going down releases its buckets and moves its RLB
    /// clients; coming up orders a rebalance at the next tick. Only an `Up` slave transmits.
    pub fn handle_link(&mut self, now: Instant, id: SlaveId, status: LinkStatus, speed_mbps: u32) {
        let Some(s) = self.slave_mut(id) else { return };
        let prev = s.status;
        s.status = status;
        s.speed = speed_mbps;
        let mac = s.mac;
        self.sync_tlb_slaves();
        let was_tx = prev == LinkStatus::Up;
        if status == LinkStatus::Down && matches!(prev, LinkStatus::Up | LinkStatus::Fail) {
            self.tlb.clear_slave(id, false);
            self.rlb_clear_slave(now, id, mac);
        } else if status == LinkStatus::Up && !was_tx {
            self.tx_rebalance_at = self.pass_deadline(now, 1);
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

    /// The data path's byte counters since the last call (sum them over the threads, or
    /// call once per thread). Buckets that carried traffic are assigned to the slave the
    /// published table gave them.
    pub fn handle_load(&mut self, load: &TlbLoad) {
        if !self.cfg.dynamic {
            return;
        }
        self.tlb.take_load(load, &self.table.buckets);
        self.publish();
    }

    /// Runs the monitor (`bond_alb_monitor`) if its pass is due: learning packets every
    /// `lp_interval`, the transmit rebalance every 10 s, and in balance-alb the promiscuity
    /// timeout, the RLB rebalance and the client updates. The next pass is 100 ms after this
    /// one ran (the kernel re-arms its work relative to when it ran).
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_tick {
            return;
        }
        self.next_tick = now + ALB_TICK;
        self.pass(now);
        self.publish();
    }

    /// One monitor pass (`next_tick` already names the next one).
    fn pass(&mut self, now: Instant) {
        if self.slaves.is_empty() {
            self.restart_periods(now);
            return;
        }
        if now >= self.lp_at {
            let rlb = self.rlb.is_some();
            let list: Vec<(SlaveId, MacAddr)> = self.slaves.iter().map(|s| (s.id, s.mac)).collect();
            for (id, mac) in list {
                let strict = Some(id) != self.active || rlb;
                self.send_learning_packets(id, mac, strict);
            }
            self.lp_at = self.pass_deadline(now, self.lp_passes());
        }
        if now >= self.tx_rebalance_at {
            self.sync_tlb_slaves();
            self.tlb.rebalance(self.active);
            self.tx_rebalance_at = self.pass_deadline(now, BOND_TLB_REBALANCE_TICKS);
        }
        self.rlb_pass(now);
    }
}

/// `now - d`, or the epoch.
fn earlier(t: Instant, d: core::time::Duration) -> Instant {
    let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    Instant::from_nanos(t.as_nanos().saturating_sub(d))
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
