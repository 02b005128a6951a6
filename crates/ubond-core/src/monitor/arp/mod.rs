//! The ARP monitor and the IPv6 NS monitor of Linux bonding (`arp_interval`, `arp_ip_target`,
//! `ns_ip6_target`, `arp_validate`, `arp_all_targets`, `arp_missed_max`), sans-IO.
//!
//! One [`ArpMonitor`] runs both families, as the kernel does: the same `arp_interval` work item
//! sends an ARP request to every `arp_ip_target` and a Neighbor Solicitation to every
//! `ns_ip6_target` (`bond_send_validate`), a slave's `last_rx` is refreshed by either, and the
//! per-target receive times share one table of 16 slots (`target_last_arp_rx[]`), ARP target
//! `i` and NS target `i` writing the same slot.
//!
//! # What counts as received traffic (`bond_rcv_validate`)
//!
//! Every frame received on a slave goes to [`ArpMonitor::handle_frame`]. Whether a slave is
//! *validated* depends on `arp_validate` and the slave's state (active or backup):
//!
//! | arp_validate | active slave | backup slave |
//! |---|---|---|
//! | none | any frame counts | any frame counts |
//! | active | ARP/NS/NA validated | any frame counts |
//! | backup | any frame counts | ARP/NS/NA validated |
//! | all | validated | validated |
//! | filter | ARP and IPv6 frames count | ARP and IPv6 frames count |
//! | filter_active | validated | ARP and IPv6 frames count |
//! | filter_backup | ARP and IPv6 frames count | validated |
//!
//! A *validated* ARP counts (`bond_arp_rcv`, `bond_validate_arp`) when
//! * the slave is active: its sender is a target and its target address is ours (a reply);
//! * else, if the active slave has received since it became active: its target is a target and
//!   its sender is ours (the active slave's broadcast request, seen by a backup);
//! * else, if a slave is being probed (no active slave) and sent within one interval: a reply
//!   from a target to us.
//!
//! NS/NA are validated the same way (`bond_na_rcv`, `bond_validate_na`): an NA from a target to
//! us (or to all-nodes), and on backups the active slave's NS (its destination is the target's
//! solicited-node address).
//!
//! # Link decisions at each `arp_interval` tick
//!
//! * Load balancing (balance-rr, balance-xor, broadcast; `bond_loadbalance_arp_mon`): a down
//!   slave comes up when it both sent and received within one interval (plus half an
//!   interval); an up slave goes down when it has not sent or not received within
//!   `arp_missed_max` intervals. Probes go out on every slave with carrier.
//! * Active-backup (`bond_ab_arp_inspect`, `bond_ab_arp_commit`, `bond_ab_arp_probe`): probes
//!   go out on the active slave only; the active slave goes down when it has not sent or not
//!   received within `arp_missed_max` intervals, a backup when it has not received within
//!   `arp_missed_max + 1` (and no slave is being probed); a slave that came up less than two
//!   intervals ago is left alone. With `arp_all_targets all`, "received" means the oldest
//!   per-target time of the ARP targets. Without an active slave, the monitor rotates through
//!   the slaves with carrier, one per tick, marking the probed one `going back` and probing
//!   from it, until one hears a reply and comes up.
//!
//! # Driver contract
//!
//! The [`Bond`](crate::bond::Bond) owns one [`ArpMonitor`] while `arp_interval > 0`:
//!
//! 1. [`ArpMonitor::add_slave`] / [`ArpMonitor::remove_slave`] as slaves come and go, and
//!    [`ArpMonitor::set_active_slave`] whenever the bond's active slave changes
//!    (`bond_change_active_slave`).
//! 2. [`ArpMonitor::handle_frame`] for every frame received on a slave, before anything else
//!    looks at it; the frame then goes on its usual way.
//! 3. At [`ArpMonitor::poll_timeout`]: [`ArpMonitor::handle_tick`], apply its
//!    [`ArpActions::transitions`], reselect the active slave if [`ArpActions::failover`] (and
//!    report the new one with [`ArpMonitor::set_active_slave`]), then
//!    [`ArpMonitor::probe`], apply its transitions and send its [`ArpActions::probes`].
//!
//! Differences from the kernel: times are exact nanoseconds instead of jiffies; the probe's
//! source address per target is given (the kernel asks the routing table; `0.0.0.0` / `::`
//! when there is no route, as the kernel does then); no VLAN tags are added to probes (the
//! kernel adds those of a VLAN device the route goes through).
//!
//! # Where things are
//!
//! This module holds the monitor's state ([`ArpMonitor`], its slaves and targets' times) with
//! its set-up and queries; `config` the configuration and its limits; `actions` what goes in
//! and out (slave views, link changes, probes, the verdict on a frame); `receive` what counts
//! as received traffic (`bond_rcv_validate`); `tick` the link decisions and the probing
//! rotation at each `arp_interval`; `frames` the probe frames themselves.

mod actions;
mod config;
mod frames;
mod receive;
#[cfg(test)]
mod tests;
mod tick;

pub use actions::{
    ArpActions, ArpLinkChange, ArpProbe, ArpRx, ArpSlaveView, ArpTransition, Family,
};
pub use config::{ArpConfig, ArpMode, ArpTarget, NsTarget};
pub use frames::{arp_probe, ns_probe};
pub use receive::{rx_traffic, RxTraffic};

use ubond_wire::MacAddr;

use crate::bond::SlaveId;
use crate::monitor::mii::LinkStatus;
use crate::options::ArpAllTargets;
use crate::time::Instant;

/// Most ARP targets and most NS targets (`BOND_MAX_ARP_TARGETS`, `BOND_MAX_NS_TARGETS`).
pub const MAX_TARGETS: usize = crate::options::MAX_TARGETS;
/// Most slaves one monitor tracks (the bond's own limit).
pub const MAX_SLAVES: usize = crate::bond::MAX_SLAVES;
/// Most local addresses per family kept for validation; more are ignored.
pub const MAX_LOCAL_ADDRS: usize = 64;
/// Ethernet frames are padded to this length (without FCS), as they leave a real NIC.
pub const MIN_FRAME_LEN: usize = 60;

/// One kernel clock tick (a jiffy at `HZ=250`, Debian's): a new slave's `last_rx` and
/// `last_tx` start `arp_interval` plus this long before it was enslaved (`bond_enslave`).
const JIFFY_NS: i128 = 4_000_000;

/// Times as signed nanoseconds, so that "an interval before the epoch" exists, as jiffies do.
type Stamp = i128;

fn stamp(t: Instant) -> Stamp {
    Stamp::from(t.as_nanos())
}

fn instant(s: Stamp) -> Instant {
    Instant::from_nanos(u64::try_from(s.max(0)).unwrap_or(u64::MAX))
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ArpSlave {
    id: SlaveId,
    mac: MacAddr,
    link: LinkStatus,
    /// Linux `!slave->backup`: active flags set.
    active: bool,
    last_rx: Stamp,
    last_tx: Stamp,
    target_last_rx: [Stamp; MAX_TARGETS],
    last_link_up: Option<Stamp>,
    link_failure_count: u32,
    proposed: Option<LinkStatus>,
}

/// The ARP / NS monitor of one bond. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpMonitor {
    cfg: ArpConfig,
    slaves: Vec<ArpSlave>,
    curr_active: Option<SlaveId>,
    current_arp_slave: Option<SlaveId>,
    next_tick: Option<Instant>,
}

impl ArpMonitor {
    /// A monitor with no slaves, not started.
    pub fn new(cfg: ArpConfig) -> ArpMonitor {
        ArpMonitor {
            cfg: cfg.sanitized(),
            slaves: Vec::new(),
            curr_active: None,
            current_arp_slave: None,
            next_tick: None,
        }
    }

    /// The configuration in use (after the limits).
    pub fn config(&self) -> &ArpConfig {
        &self.cfg
    }

    /// Replaces the configuration. A target slot whose address changed restarts at `now`
    /// (`_bond_options_arp_ip_target_set`); a new interval runs the next tick at once, as the
    /// kernel requeues its work item.
    pub fn set_config(&mut self, now: Instant, cfg: ArpConfig) {
        let cfg = cfg.sanitized();
        for slot in 0..MAX_TARGETS {
            let old = (self.cfg.arp_targets.get(slot).map(|t| t.ip), self.cfg.ns_targets.get(slot));
            let new = (cfg.arp_targets.get(slot).map(|t| t.ip), cfg.ns_targets.get(slot));
            if old.0 != new.0 || old.1.map(|t| t.ip) != new.1.map(|t| t.ip) {
                for s in &mut self.slaves {
                    s.target_last_rx[slot] = stamp(now);
                }
            }
        }
        if cfg.interval != self.cfg.interval && self.next_tick.is_some() {
            self.next_tick = Some(now);
        }
        if cfg.mode != self.cfg.mode {
            for s in &mut self.slaves {
                s.active = cfg.mode == ArpMode::LoadBalance || Some(s.id) == self.curr_active;
            }
            self.current_arp_slave = None;
        }
        self.cfg = cfg;
    }

    /// Starts ticking: the first tick is due at `now` (`bond_open` queues the work at once).
    pub fn start(&mut self, now: Instant) {
        self.next_tick = Some(now);
    }

    /// Stops ticking (`bond_close`).
    pub fn stop(&mut self) {
        self.next_tick = None;
    }

    /// When [`ArpMonitor::handle_tick`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
    }

    /// A new slave (`bond_enslave`): its link is up if it has carrier, else down; it has
    /// neither sent nor received. `mac` is its current address, the source of its probes and
    /// the unicast address it receives for. Returns the initial link state, or `None` if the
    /// slave is known already or [`MAX_SLAVES`] are tracked.
    pub fn add_slave(
        &mut self,
        now: Instant,
        id: SlaveId,
        mac: MacAddr,
        carrier: bool,
    ) -> Option<LinkStatus> {
        if self.slaves.len() >= MAX_SLAVES || self.index(id).is_some() {
            return None;
        }
        let never = stamp(now) - self.delta() - JIFFY_NS;
        let link = if carrier { LinkStatus::Up } else { LinkStatus::Down };
        self.slaves.push(ArpSlave {
            id,
            mac,
            link,
            active: self.cfg.mode == ArpMode::LoadBalance,
            last_rx: never,
            last_tx: never,
            target_last_rx: [never; MAX_TARGETS],
            last_link_up: carrier.then(|| stamp(now)),
            link_failure_count: 0,
            proposed: None,
        });
        Some(link)
    }

    /// A slave left the bond (`__bond_release_one` forgets the probed slave in any case).
    pub fn remove_slave(&mut self, id: SlaveId) {
        self.slaves.retain(|s| s.id != id);
        self.current_arp_slave = None;
        if self.curr_active == Some(id) {
            self.curr_active = None;
        }
    }

    /// The slave's address changed (`fail_over_mac`).
    pub fn set_slave_mac(&mut self, id: SlaveId, mac: MacAddr) {
        if let Some(i) = self.index(id) {
            self.slaves[i].mac = mac;
        }
    }

    /// The bond's active slave changed (`bond_change_active_slave`): the new one's
    /// `last_link_up` is now, and in active-backup the old one becomes a backup and the new
    /// one active. Returns true if the new active slave was `going back` and is now up (the
    /// kernel logs "making interface the new active one 0 ms earlier").
    pub fn set_active_slave(&mut self, now: Instant, new: Option<SlaveId>) -> bool {
        let ab = self.cfg.mode == ArpMode::ActiveBackup;
        if ab {
            if let Some(i) = self.curr_active.and_then(|o| self.index(o)) {
                self.slaves[i].active = false;
            }
        }
        self.curr_active = new.filter(|n| self.index(*n).is_some());
        let Some(i) = self.curr_active.and_then(|n| self.index(n)) else { return false };
        let s = &mut self.slaves[i];
        s.last_link_up = Some(stamp(now));
        if ab {
            s.active = true;
        }
        if s.link == LinkStatus::Back {
            s.link = LinkStatus::Up;
            return true;
        }
        false
    }

    /// The active slave as last reported.
    pub fn active_slave(&self) -> Option<SlaveId> {
        self.curr_active
    }

    /// The slave being probed from while there is no active slave (`current_arp_slave`). The
    /// kernel makes it active (it receives like the active slave) while it is probed.
    pub fn current_arp_slave(&self) -> Option<SlaveId> {
        self.current_arp_slave
    }

    /// The slave's link state as the monitor sees it.
    pub fn link_status(&self, id: SlaveId) -> Option<LinkStatus> {
        self.slave(id).map(|s| s.link)
    }

    /// Times the slave went down (`Link Failure Count`).
    pub fn link_failure_count(&self, id: SlaveId) -> Option<u32> {
        self.slave(id).map(|s| s.link_failure_count)
    }

    /// True if the slave is active in the kernel's sense (`bond_is_active_slave`): every slave
    /// in the load-balancing modes; the active slave, or the probed one, in active-backup.
    pub fn is_active(&self, id: SlaveId) -> Option<bool> {
        self.slave(id).map(|s| s.active)
    }

    /// When the slave last received something that counts (`slave->last_rx`), if ever.
    pub fn last_rx(&self, id: SlaveId) -> Option<Instant> {
        self.slave(id).and_then(|s| self.seen(s.last_rx))
    }

    /// When a probe was last sent on the slave (`slave->last_tx`), if ever.
    pub fn last_tx(&self, id: SlaveId) -> Option<Instant> {
        self.slave(id).and_then(|s| self.seen(s.last_tx))
    }

    /// When target slot `slot` last answered on the slave (`target_last_arp_rx[slot]`).
    pub fn target_last_rx(&self, id: SlaveId, slot: usize) -> Option<Instant> {
        let s = self.slave(id)?;
        self.seen(*s.target_last_rx.get(slot)?)
    }

    fn seen(&self, s: Stamp) -> Option<Instant> {
        (s >= 0).then(|| instant(s))
    }

    fn index(&self, id: SlaveId) -> Option<usize> {
        self.slaves.iter().position(|s| s.id == id)
    }

    fn slave(&self, id: SlaveId) -> Option<&ArpSlave> {
        self.slaves.iter().find(|s| s.id == id)
    }

    fn delta(&self) -> Stamp {
        Stamp::try_from(self.cfg.interval.as_nanos()).unwrap_or(Stamp::MAX / 1024)
    }

    /// `bond_time_in_interval`: `now` within `[last - Δ, last + mod·Δ + Δ/2]`.
    fn in_interval(&self, now: Stamp, last: Stamp, modifier: u16) -> bool {
        let d = self.delta();
        now >= last - d && now <= last + Stamp::from(modifier) * d + d / 2
    }

    /// `slave_last_rx`: with `arp_all_targets all`, the oldest answer of the ARP targets (slot
    /// 0 always counts, as in the kernel, so an NS-only bond uses its first NS target).
    fn slave_last_rx(&self, s: &ArpSlave) -> Stamp {
        if self.cfg.all_targets == ArpAllTargets::All {
            let n = self.cfg.arp_targets.len().clamp(1, MAX_TARGETS);
            s.target_last_rx[..n].iter().copied().min().unwrap_or(s.last_rx)
        } else {
            s.last_rx
        }
    }
}
