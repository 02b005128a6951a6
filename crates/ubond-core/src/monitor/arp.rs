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

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use ubond_wire::ethernet::{EtherType, EthernetRepr, Frame, HEADER_LEN};
use ubond_wire::icmp::{Icmpv6Packet, Icmpv6Type, NdiscRepr};
use ubond_wire::ip::Protocol;
use ubond_wire::{arp, ipv6, MacAddr};

use crate::bond::SlaveId;
use crate::monitor::mii::LinkStatus;
use crate::options::{ArpAllTargets, ArpValidate, BondOptions, Mode};
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

/// Which of the kernel's two ARP monitors runs (`bond_arp_monitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpMode {
    /// `bond_activebackup_arp_mon`: active-backup.
    ActiveBackup,
    /// `bond_loadbalance_arp_mon`: balance-rr, balance-xor and broadcast.
    LoadBalance,
}

impl ArpMode {
    /// The monitor a bonding mode uses (the kernel refuses the ARP monitor in 802.3ad,
    /// balance-tlb and balance-alb; they get [`ArpMode::LoadBalance`] here).
    pub fn of(mode: Mode) -> ArpMode {
        match mode {
            Mode::ActiveBackup => ArpMode::ActiveBackup,
            _ => ArpMode::LoadBalance,
        }
    }
}

/// An `arp_ip_target` and the source address of the ARP requests sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpTarget {
    /// The target.
    pub ip: Ipv4Addr,
    /// The sender protocol address of the requests: the bond's address on the route to the
    /// target, `0.0.0.0` if there is none.
    pub src: Ipv4Addr,
}

/// An `ns_ip6_target` and the source address of the Neighbor Solicitations sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsTarget {
    /// The target.
    pub ip: Ipv6Addr,
    /// The IPv6 source of the solicitations (`::` if none: then they carry no source
    /// link-layer address option).
    pub src: Ipv6Addr,
}

/// The monitor's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpConfig {
    /// Which monitor runs.
    pub mode: ArpMode,
    /// `arp_interval` (zero is treated as one millisecond; the bond runs no monitor then).
    pub interval: Duration,
    /// `arp_ip_target`, in slot order; at most [`MAX_TARGETS`] are used, and the list ends at
    /// the first `0.0.0.0` as the kernel's does.
    pub arp_targets: Vec<ArpTarget>,
    /// `ns_ip6_target`, in slot order; at most [`MAX_TARGETS`], ending at the first `::`.
    pub ns_targets: Vec<NsTarget>,
    /// `arp_validate`.
    pub validate: ArpValidate,
    /// `arp_all_targets`.
    pub all_targets: ArpAllTargets,
    /// `arp_missed_max` (1..=255; 0 is treated as 1).
    pub missed_max: u8,
    /// The bond's IPv4 addresses (`bond_has_this_ip`), at most [`MAX_LOCAL_ADDRS`].
    pub local_v4: Vec<Ipv4Addr>,
    /// The bond's IPv6 addresses (`bond_has_this_ip6`), at most [`MAX_LOCAL_ADDRS`].
    pub local_v6: Vec<Ipv6Addr>,
}

impl ArpConfig {
    /// The configuration for a bond's options and addresses. Each target's probe source is
    /// the bond's first IPv4 address (`0.0.0.0` without one); for IPv6, the first address of
    /// the same scope as the target (link-local or not), else the first, else `::` — a
    /// stand-in for the kernel's route lookup; set [`ArpTarget::src`] / [`NsTarget::src`]
    /// from the routing table when you have it.
    pub fn from_options(opts: &BondOptions, local_v4: &[Ipv4Addr], local_v6: &[Ipv6Addr]) -> Self {
        let src4 = local_v4.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
        let src6 = |t: &Ipv6Addr| {
            local_v6
                .iter()
                .find(|a| a.is_unicast_link_local() == t.is_unicast_link_local())
                .or(local_v6.first())
                .copied()
                .unwrap_or(Ipv6Addr::UNSPECIFIED)
        };
        ArpConfig {
            mode: ArpMode::of(opts.mode),
            interval: Duration::from_millis(u64::from(opts.arp_interval)),
            arp_targets: opts.arp_ip_target.iter().map(|&ip| ArpTarget { ip, src: src4 }).collect(),
            ns_targets: opts
                .ns_ip6_target
                .iter()
                .map(|ip| NsTarget { ip: *ip, src: src6(ip) })
                .collect(),
            validate: opts.arp_validate,
            all_targets: opts.arp_all_targets,
            missed_max: opts.arp_missed_max,
            local_v4: local_v4.to_vec(),
            local_v6: local_v6.to_vec(),
        }
    }

    /// The limits applied: targets cut at [`MAX_TARGETS`] and at the first unspecified
    /// address, local addresses at [`MAX_LOCAL_ADDRS`], `missed_max` at least 1, the interval
    /// at least 1 ms.
    fn sanitized(mut self) -> ArpConfig {
        let n = self.arp_targets.iter().take(MAX_TARGETS).take_while(|t| !t.ip.is_unspecified());
        self.arp_targets = n.copied().collect();
        let n = self.ns_targets.iter().take(MAX_TARGETS).take_while(|t| !t.ip.is_unspecified());
        self.ns_targets = n.copied().collect();
        self.local_v4.truncate(MAX_LOCAL_ADDRS);
        self.local_v6.truncate(MAX_LOCAL_ADDRS);
        self.missed_max = self.missed_max.max(1);
        self.interval = self.interval.max(Duration::from_millis(1));
        self
    }

    /// `slave_do_arp_validate`: are received frames validated on a slave in this state?
    fn validates(&self, active: bool) -> bool {
        let bit = if active { 1 } else { 2 };
        self.validate.number() & bit != 0
    }

    /// `slave_do_arp_validate_only`: the `filter` variants.
    fn filters(&self) -> bool {
        self.validate.number() & 4 != 0
    }
}

/// A slave as the bond sees it at a tick, in the bond's slave order (the order matters for
/// the probe rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpSlaveView {
    /// The slave.
    pub id: SlaveId,
    /// `bond_slave_is_up`: the interface is running and has carrier.
    pub up: bool,
    /// It is the bond's `primary` slave.
    pub primary: bool,
    /// Its `prio` (per-slave option).
    pub prio: i32,
}

/// A link change the ARP monitor decided for one slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpTransition {
    /// The slave.
    pub slave: SlaveId,
    /// What happened.
    pub change: ArpLinkChange,
}

impl fmt::Display for ArpTransition {
    /// The kernel's message (without the `bondX: (slave ethY):` prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.change.fmt(f)
    }
}

/// The kinds of link change, each with the kernel's log line in [`fmt::Display`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpLinkChange {
    /// → UP, "link status definitely up" (`bond_ab_arp_commit`; and the load-balancing
    /// monitor when the bond had no active slave).
    Up,
    /// → UP, "interface is now up" (load-balancing monitor, the bond has an active slave).
    InterfaceUp,
    /// → DOWN, "link status definitely down, disabling slave" (`bond_ab_arp_commit`).
    Down,
    /// → DOWN, "interface is now down" (load-balancing monitor).
    InterfaceDown,
    /// → DOWN, "backup interface is now down" (`bond_ab_arp_probe`: no carrier).
    BackupDown,
    /// BACK → FAIL: the probed slave heard nothing within an interval (`bond_ab_arp_commit`;
    /// the kernel logs nothing).
    Fail,
    /// → BACK: the slave is now the one probed from (`bond_ab_arp_probe`; the kernel logs
    /// nothing).
    Back,
}

impl ArpLinkChange {
    /// The state the slave is in afterwards.
    pub fn to(self) -> LinkStatus {
        match self {
            ArpLinkChange::Up | ArpLinkChange::InterfaceUp => LinkStatus::Up,
            ArpLinkChange::Down | ArpLinkChange::InterfaceDown | ArpLinkChange::BackupDown => {
                LinkStatus::Down
            }
            ArpLinkChange::Fail => LinkStatus::Fail,
            ArpLinkChange::Back => LinkStatus::Back,
        }
    }

    /// True if the kernel logs this change (at info level).
    pub fn is_logged(self) -> bool {
        !matches!(self, ArpLinkChange::Fail | ArpLinkChange::Back)
    }
}

impl fmt::Display for ArpLinkChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArpLinkChange::Up => "link status definitely up",
            ArpLinkChange::InterfaceUp => "interface is now up",
            ArpLinkChange::Down => "link status definitely down, disabling slave",
            ArpLinkChange::InterfaceDown => "interface is now down",
            ArpLinkChange::BackupDown => "backup interface is now down",
            ArpLinkChange::Fail => "link status failed while being probed",
            ArpLinkChange::Back => "probing from this slave",
        })
    }
}

/// A probe to send: a complete Ethernet frame (ARP request or Neighbor Solicitation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpProbe {
    /// The slave to send it on.
    pub slave: SlaveId,
    /// The frame, padded to [`MIN_FRAME_LEN`].
    pub frame: Vec<u8>,
}

/// What a tick decided: link changes, whether to reselect the active slave, probes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArpActions {
    /// Link changes, in slave order; the monitor has applied them to its own state.
    pub transitions: Vec<ArpTransition>,
    /// The bond must reselect its active slave (`do_failover`), then report the result with
    /// [`ArpMonitor::set_active_slave`].
    pub failover: bool,
    /// Probes to send, in order.
    pub probes: Vec<ArpProbe>,
    /// Kernel messages not tied to a link change (e.g. "PROBE: c_arp ethX && cas ethY BAD").
    pub notes: Vec<String>,
}

/// The address family of a validated probe reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// ARP, an `arp_ip_target`.
    Arp,
    /// Neighbor Discovery, an `ns_ip6_target`.
    Ns,
}

/// What [`ArpMonitor::handle_frame`] made of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpRx {
    /// Not counted (unknown slave, malformed, another host's unicast, not ARP/IPv6 under a
    /// `filter` setting, or not ARP/NS/NA on a validated slave).
    Ignored,
    /// Counted as traffic (`last_rx` refreshed) without looking inside: the slave is not
    /// validated.
    Traffic,
    /// An ARP, NS or NA that was inspected but does not count.
    Rejected,
    /// An ARP, NS or NA that validates the slave for target slot `slot` of `family`.
    Validated {
        /// ARP or NS target.
        family: Family,
        /// Index into the targets of that family.
        slot: usize,
    },
}

impl ArpRx {
    /// True if the frame was an ARP, NS or NA the monitor inspected.
    pub fn inspected(self) -> bool {
        matches!(self, ArpRx::Rejected | ArpRx::Validated { .. })
    }
}

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

    // ---- receive --------------------------------------------------------------------------

    /// A frame received on a slave (`bond_rcv_validate`). `slave_is_active` is the bond's own
    /// view (in active-backup: the slave is the active one); the monitor also counts the slave
    /// it probes from as active, and every slave in the load-balancing modes. Never panics;
    /// garbage is [`ArpRx::Ignored`].
    pub fn handle_frame(
        &mut self,
        now: Instant,
        slave: SlaveId,
        frame: &[u8],
        slave_is_active: bool,
    ) -> ArpRx {
        let Some(i) = self.index(slave) else { return ArpRx::Ignored };
        let Ok(eth) = Frame::new_checked(frame) else { return ArpRx::Ignored };
        let dst = eth.dst_addr();
        // PACKET_OTHERHOST: unicast to someone else.
        if dst.is_unicast() && dst != self.slaves[i].mac {
            return ArpRx::Ignored;
        }
        // The stack removes one VLAN tag before the bond sees the frame.
        let proto = if eth.tag_count() <= 1 { eth.ethertype() } else { EtherType::Vlan };
        let (is_arp, is_ipv6) = (proto == EtherType::Arp, proto == EtherType::Ipv6);
        let active = self.slaves[i].active || slave_is_active;
        let now = stamp(now);
        if !self.cfg.validates(active) {
            if !self.cfg.filters() || is_arp || is_ipv6 {
                self.slaves[i].last_rx = now;
                return ArpRx::Traffic;
            }
            return ArpRx::Ignored;
        }
        if is_arp {
            self.arp_rcv(now, i, eth.payload(), active)
        } else if is_ipv6 {
            self.na_rcv(now, i, eth.payload(), active)
        } else {
            ArpRx::Ignored
        }
    }

    /// Frames a data path saw on a slave but did not hand over one by one (an in-kernel fast
    /// path keeps only the time of the last): `any` when the last frame for this host arrived,
    /// `arp_or_ipv6` the last ARP or IPv6 one. Counted as [`ArpMonitor::handle_frame`] counts
    /// frames it does not look inside ([`ArpRx::Traffic`]): on a slave that is not validated,
    /// the later of `last_rx` and the time that applies (`arp_or_ipv6` under a `filter`
    /// setting). A validated slave needs its ARP, NS and NA frames given to `handle_frame`.
    pub fn handle_traffic(
        &mut self,
        slave: SlaveId,
        any: Option<Instant>,
        arp_or_ipv6: Option<Instant>,
        slave_is_active: bool,
    ) -> ArpRx {
        let Some(i) = self.index(slave) else { return ArpRx::Ignored };
        let active = self.slaves[i].active || slave_is_active;
        if self.cfg.validates(active) {
            return ArpRx::Ignored;
        }
        let at = if self.cfg.filters() { arp_or_ipv6 } else { any };
        match at.map(stamp) {
            Some(at) => {
                self.slaves[i].last_rx = self.slaves[i].last_rx.max(at);
                ArpRx::Traffic
            }
            None => ArpRx::Ignored,
        }
    }

    /// Which rule of `bond_arp_rcv` / `bond_na_rcv` applies to a validated slave.
    fn rx_rule(&self, active: bool, is_reply: bool, now: Stamp) -> Option<bool> {
        if active {
            return Some(false);
        }
        if let Some(ca) = self.curr_active.and_then(|c| self.slave(c)) {
            if ca.last_link_up.is_none_or(|up| self.slave_last_rx(ca) > up) {
                return Some(true); // the active slave's own probe: swap sender and target
            }
        }
        let cas = self.current_arp_slave.and_then(|c| self.slave(c))?;
        (is_reply && self.in_interval(now, cas.last_tx, 1)).then_some(false)
    }

    fn arp_rcv(&mut self, now: Stamp, i: usize, payload: &[u8], active: bool) -> ArpRx {
        let Ok(pkt) = arp::Packet::new_checked(payload) else { return ArpRx::Ignored };
        let Ok(repr) = arp::ArpRepr::parse(&pkt) else { return ArpRx::Ignored };
        let is_reply = repr.operation == arp::Operation::Reply;
        let Some(swap) = self.rx_rule(active, is_reply, now) else { return ArpRx::Rejected };
        let (sip, tip) = match swap {
            false => (repr.sender_ip, repr.target_ip),
            true => (repr.target_ip, repr.sender_ip),
        };
        // bond_validate_arp
        if sip.is_unspecified() || !self.has_this_ip(tip) {
            return ArpRx::Rejected;
        }
        let Some(slot) = self.cfg.arp_targets.iter().position(|t| t.ip == sip) else {
            return ArpRx::Rejected;
        };
        self.count(i, slot, now);
        ArpRx::Validated { family: Family::Arp, slot }
    }

    /// `bond_has_this_ip`: one of the bond's addresses; `0.0.0.0` matches while the bond has
    /// none (`inet_confirm_addr` then returns 0).
    fn has_this_ip(&self, ip: Ipv4Addr) -> bool {
        self.cfg.local_v4.contains(&ip) || (ip.is_unspecified() && self.cfg.local_v4.is_empty())
    }

    fn na_rcv(&mut self, now: Stamp, i: usize, payload: &[u8], active: bool) -> ArpRx {
        // skb_header_pointer(ipv6hdr + icmp6hdr): 48 octets, no other check.
        let (Some(ip6), Some(icmp)) = (payload.get(..ipv6::HEADER_LEN), payload.get(40..48)) else {
            return ArpRx::Ignored;
        };
        let pkt = ipv6::Packet::new_unchecked(ip6);
        let icmp_type = Icmpv6Packet::new_unchecked(icmp).msg_type();
        if pkt.next_header() != Protocol::Icmpv6
            || !matches!(icmp_type, Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert)
        {
            return ArpRx::Ignored;
        }
        let Some(swap) = self.rx_rule(active, true, now) else { return ArpRx::Rejected };
        let (saddr, daddr) = match swap {
            false => (pkt.src_addr(), pkt.dst_addr()),
            true => (pkt.dst_addr(), pkt.src_addr()),
        };
        // bond_validate_na
        if saddr.is_unspecified()
            || (daddr != ipv6::ALL_NODES && !self.cfg.local_v6.contains(&daddr))
        {
            return ArpRx::Rejected;
        }
        // bond_get_targets_ip6: the target or its solicited-node address.
        let Some(slot) = self
            .cfg
            .ns_targets
            .iter()
            .position(|t| t.ip == saddr || ipv6::solicited_node(&t.ip) == saddr)
        else {
            return ArpRx::Rejected;
        };
        self.count(i, slot, now);
        ArpRx::Validated { family: Family::Ns, slot }
    }

    fn count(&mut self, i: usize, slot: usize, now: Stamp) {
        let s = &mut self.slaves[i];
        s.last_rx = now;
        if let Some(t) = s.target_last_rx.get_mut(slot) {
            *t = now;
        }
    }

    // ---- ticks ----------------------------------------------------------------------------

    /// The `arp_interval` tick (`bond_arp_monitor`): inspects every slave and commits the link
    /// changes. Apply the returned transitions, reselect the active slave if
    /// [`ArpActions::failover`], then call [`ArpMonitor::probe`] in the same tick. `slaves`
    /// lists the bond's slaves in its order; slaves the monitor does not know are skipped.
    pub fn handle_tick(&mut self, now: Instant, slaves: &[ArpSlaveView]) -> ArpActions {
        self.next_tick = Some(now + self.cfg.interval);
        let mut out = ArpActions::default();
        match self.cfg.mode {
            ArpMode::LoadBalance => self.loadbalance_inspect(stamp(now), slaves, &mut out),
            ArpMode::ActiveBackup => {
                self.ab_inspect(stamp(now), slaves);
                self.ab_commit(slaves, &mut out);
            }
        }
        out
    }

    /// The known slaves of `views`, in the bond's order, each once.
    fn order(&self, views: &[ArpSlaveView]) -> Vec<(usize, ArpSlaveView)> {
        let mut out: Vec<(usize, ArpSlaveView)> = Vec::new();
        for v in views.iter().take(MAX_SLAVES) {
            if let Some(i) = self.index(v.id) {
                if !out.iter().any(|(j, _)| *j == i) {
                    out.push((i, *v));
                }
            }
        }
        out
    }

    /// `bond_loadbalance_arp_mon`, inspection and commit.
    fn loadbalance_inspect(&mut self, now: Stamp, views: &[ArpSlaveView], out: &mut ArpActions) {
        let missed = u16::from(self.cfg.missed_max);
        let oldcurrent = self.curr_active;
        for (i, _) in self.order(views) {
            let s = &self.slaves[i];
            let (tx, rx) = (s.last_tx, s.last_rx);
            let change = if s.link != LinkStatus::Up {
                if self.in_interval(now, tx, 1) && self.in_interval(now, rx, 1) {
                    if oldcurrent.is_none() {
                        out.failover = true;
                        Some(ArpLinkChange::Up)
                    } else {
                        Some(ArpLinkChange::InterfaceUp)
                    }
                } else {
                    None
                }
            } else if !self.in_interval(now, tx, missed) || !self.in_interval(now, rx, missed) {
                if oldcurrent == Some(s.id) {
                    out.failover = true;
                }
                Some(ArpLinkChange::InterfaceDown)
            } else {
                None
            };
            if let Some(change) = change {
                self.apply(i, change, out);
            }
        }
    }

    /// `bond_ab_arp_inspect`: proposals only.
    fn ab_inspect(&mut self, now: Stamp, views: &[ArpSlaveView]) {
        let missed = u16::from(self.cfg.missed_max);
        for (i, _) in self.order(views) {
            let s = &self.slaves[i];
            let last_rx = self.slave_last_rx(s);
            let proposed = if s.link != LinkStatus::Up {
                if self.in_interval(now, last_rx, 1) {
                    Some(LinkStatus::Up)
                } else if s.link == LinkStatus::Back {
                    Some(LinkStatus::Fail)
                } else {
                    None
                }
            } else if s.last_link_up.is_some_and(|up| self.in_interval(now, up, 2)) {
                None // give a slave that just came up two intervals
            } else {
                // A backup gets one interval more; the active slave must also have sent.
                let backup_dead = !s.active
                    && self.current_arp_slave.is_none()
                    && !self.in_interval(now, last_rx, missed.saturating_add(1));
                let active_dead = s.active
                    && (!self.in_interval(now, s.last_tx, missed)
                        || !self.in_interval(now, last_rx, missed));
                (backup_dead || active_dead).then_some(LinkStatus::Down)
            };
            self.slaves[i].proposed = proposed;
        }
    }

    /// `bond_ab_arp_commit`.
    fn ab_commit(&mut self, views: &[ArpSlaveView], out: &mut ArpActions) {
        let prio_of = |id: SlaveId| views.iter().find(|v| v.id == id).map(|v| v.prio);
        for (i, view) in self.order(views) {
            let Some(proposed) = self.slaves[i].proposed.take() else { continue };
            let id = self.slaves[i].id;
            match proposed {
                LinkStatus::Up => {
                    if self.curr_active == Some(id) {
                        continue;
                    }
                    if let Some(j) = self.current_arp_slave.take().and_then(|c| self.index(c)) {
                        self.slaves[j].active = false;
                    }
                    self.apply(i, ArpLinkChange::Up, out);
                    let better = match self.curr_active.and_then(prio_of) {
                        Some(curr_prio) => view.primary || view.prio > curr_prio,
                        None => view.primary || self.curr_active.is_none(),
                    };
                    if better {
                        out.failover = true;
                    }
                }
                LinkStatus::Down => {
                    self.slaves[i].active = false;
                    self.apply(i, ArpLinkChange::Down, out);
                    if self.curr_active == Some(id) {
                        self.current_arp_slave = None;
                        out.failover = true;
                    }
                }
                LinkStatus::Fail => {
                    self.slaves[i].active = false;
                    self.apply(i, ArpLinkChange::Fail, out);
                    if self.curr_active.is_some() {
                        self.current_arp_slave = None;
                    }
                }
                LinkStatus::Back => {}
            }
        }
    }

    fn apply(&mut self, i: usize, change: ArpLinkChange, out: &mut ArpActions) {
        let s = &mut self.slaves[i];
        if s.link == change.to() {
            return;
        }
        s.link = change.to();
        if change.to() == LinkStatus::Down {
            s.link_failure_count = s.link_failure_count.saturating_add(1);
        }
        out.transitions.push(ArpTransition { slave: s.id, change });
    }

    /// The probes of this tick, after [`ArpMonitor::handle_tick`] and the bond's reselection.
    /// Load balancing: on every slave with carrier. Active-backup (`bond_ab_arp_probe`): on
    /// the active slave; without one, on the next slave with carrier after the one probed
    /// last (marked `going back` and made active while probed); slaves that lost carrier go
    /// down.
    pub fn probe(&mut self, now: Instant, slaves: &[ArpSlaveView]) -> ArpActions {
        let mut out = ArpActions::default();
        let order = self.order(slaves);
        if self.cfg.mode == ArpMode::LoadBalance {
            for (i, v) in order {
                if v.up {
                    self.send_all(now, i, &mut out);
                }
            }
            return out;
        }
        let name = |id: Option<SlaveId>| id.map_or(0, |s| s.0);
        if self.current_arp_slave.is_some() && self.curr_active.is_some() {
            out.notes.push(format!(
                "PROBE: c_arp {} && cas {} BAD",
                name(self.current_arp_slave),
                name(self.curr_active)
            ));
        }
        if let Some(i) = self.curr_active.and_then(|c| self.index(c)) {
            self.send_all(now, i, &mut out);
            return out;
        }
        let Some(curr_arp) =
            self.current_arp_slave.or(order.first().map(|(i, _)| self.slaves[*i].id))
        else {
            return out;
        };
        let (mut before, mut new, mut found) = (None, None, false);
        for &(i, v) in &order {
            if !found && before.is_none() && v.up {
                before = Some(i);
            }
            if found && new.is_none() && v.up {
                new = Some(i);
            }
            if !v.up && self.slaves[i].link == LinkStatus::Up {
                self.slaves[i].active = false;
                self.apply(i, ArpLinkChange::BackupDown, &mut out);
            }
            if self.slaves[i].id == curr_arp {
                found = true;
            }
        }
        let Some(i) = new.or(before) else { return out };
        self.apply(i, ArpLinkChange::Back, &mut out);
        self.slaves[i].active = true;
        self.send_all(now, i, &mut out);
        self.slaves[i].last_link_up = Some(stamp(now));
        self.current_arp_slave = Some(self.slaves[i].id);
        out
    }

    /// `bond_send_validate`: an ARP request per ARP target, then an NS per NS target.
    fn send_all(&mut self, now: Instant, i: usize, out: &mut ArpActions) {
        let s = &mut self.slaves[i];
        for t in &self.cfg.arp_targets {
            out.probes.push(ArpProbe { slave: s.id, frame: arp_probe(s.mac, t) });
            s.last_tx = stamp(now);
        }
        for t in &self.cfg.ns_targets {
            out.probes.push(ArpProbe { slave: s.id, frame: ns_probe(s.mac, t) });
            s.last_tx = stamp(now);
        }
    }
}

fn ethernet(dst: MacAddr, src: MacAddr, ethertype: EtherType, payload_len: usize) -> Vec<u8> {
    let mut frame = vec![0u8; (HEADER_LEN + payload_len).max(MIN_FRAME_LEN)];
    let repr =
        EthernetRepr { dst_addr: dst, src_addr: src, outer_tag: None, inner_tag: None, ethertype };
    // The buffer holds the header, so emit cannot fail.
    let _ = repr.emit(&mut Frame::new_unchecked(&mut frame[..]));
    frame
}

/// The ARP request the monitor sends to `target` from a slave whose address is `mac`
/// (`bond_arp_send` → `arp_create(ARPOP_REQUEST, ...)`): broadcast, sender `mac` and
/// `target.src`, target hardware address zero; padded to [`MIN_FRAME_LEN`].
pub fn arp_probe(mac: MacAddr, target: &ArpTarget) -> Vec<u8> {
    let repr = arp::ArpRepr::request(mac, target.src, target.ip);
    let mut frame = ethernet(MacAddr::BROADCAST, mac, EtherType::Arp, repr.buffer_len());
    let _ = repr.emit(&mut arp::Packet::new_unchecked(&mut frame[HEADER_LEN..]));
    frame
}

/// The Neighbor Solicitation the monitor sends to `target` from a slave whose address is `mac`
/// (`bond_ns_send` → `ndisc_ns_create` + `ndisc_send_skb`): to the target's solicited-node
/// address, hop limit 255, with a source link-layer address option unless the source is `::`.
pub fn ns_probe(mac: MacAddr, target: &NsTarget) -> Vec<u8> {
    let ns = NdiscRepr::NeighborSolicit {
        target_addr: target.ip,
        source_ll_addr: (!target.src.is_unspecified()).then_some(mac),
    };
    let len = ns.buffer_len();
    let dst = ipv6::solicited_node(&target.ip);
    let ip6 = ipv6::Ipv6Repr::new(target.src, dst, Protocol::Icmpv6, len as u16, 255);
    let mut frame =
        ethernet(ipv6::multicast_mac(&dst), mac, EtherType::Ipv6, ipv6::HEADER_LEN + len);
    let payload = &mut frame[HEADER_LEN..];
    let _ = ip6.emit(&mut ipv6::Packet::new_unchecked(&mut payload[..]));
    if let Some(icmp) = payload.get_mut(ipv6::HEADER_LEN..ipv6::HEADER_LEN + len) {
        let _ = ns.emit(&target.src, &dst, &mut Icmpv6Packet::new_unchecked(icmp));
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ArpConfig {
        ArpConfig {
            mode: ArpMode::ActiveBackup,
            interval: Duration::from_millis(100),
            arp_targets: vec![ArpTarget {
                ip: Ipv4Addr::new(192, 0, 2, 9),
                src: Ipv4Addr::new(192, 0, 2, 1),
            }],
            ns_targets: Vec::new(),
            validate: ArpValidate::None,
            all_targets: ArpAllTargets::Any,
            missed_max: 2,
            local_v4: vec![Ipv4Addr::new(192, 0, 2, 1)],
            local_v6: Vec::new(),
        }
    }

    #[test]
    fn validate_masks_are_the_kernels() {
        // slave_do_arp_validate: arp_validate & (1 << state), active = 0, backup = 1.
        let table = [
            (ArpValidate::None, false, false, false),
            (ArpValidate::Active, true, false, false),
            (ArpValidate::Backup, false, true, false),
            (ArpValidate::All, true, true, false),
            (ArpValidate::Filter, false, false, true),
            (ArpValidate::FilterActive, true, false, true),
            (ArpValidate::FilterBackup, false, true, true),
        ];
        for (validate, active, backup, filter) in table {
            let c = ArpConfig { validate, ..cfg() };
            assert_eq!(
                (c.validates(true), c.validates(false), c.filters()),
                (active, backup, filter)
            );
        }
    }

    #[test]
    fn traffic_seen_elsewhere_counts_as_unvalidated_frames_do() {
        let at = Instant::from_millis(40);
        let later = Instant::from_millis(90);
        for (validate, active, want_any, want_arp) in [
            (ArpValidate::None, true, true, false),
            (ArpValidate::Filter, true, false, true),
            (ArpValidate::Active, false, true, false),
            (ArpValidate::Active, true, false, false),
            (ArpValidate::All, false, false, false),
        ] {
            let mut m = ArpMonitor::new(ArpConfig { validate, ..cfg() });
            m.add_slave(Instant::from_millis(1), SlaveId(1), MacAddr::ZERO, true);
            let rx = m.handle_traffic(SlaveId(1), Some(later), Some(at), active);
            let want = if want_any {
                Some(later)
            } else if want_arp {
                Some(at)
            } else {
                None
            };
            assert_eq!(m.last_rx(SlaveId(1)), want, "{validate:?}, active {active}");
            assert_eq!(rx == ArpRx::Traffic, want.is_some());
            // Never backwards: an older time leaves the newer one.
            m.handle_traffic(SlaveId(1), Some(at), Some(at), active);
            assert_eq!(m.last_rx(SlaveId(1)), want);
        }
        let mut m = ArpMonitor::new(cfg());
        assert_eq!(m.handle_traffic(SlaveId(7), Some(at), None, true), ArpRx::Ignored);
    }

    #[test]
    fn time_in_interval_bounds() {
        let m = ArpMonitor::new(cfg());
        let ms = |n: i128| n * 1_000_000;
        // [last - Δ, last + mod·Δ + Δ/2], both ends included.
        assert!(m.in_interval(ms(1000), ms(1100), 1));
        assert!(!m.in_interval(ms(999), ms(1100), 1));
        assert!(m.in_interval(ms(1250), ms(1100), 1));
        assert!(!m.in_interval(ms(1250) + 1, ms(1100), 1));
        assert!(m.in_interval(ms(1350), ms(1100), 2));
    }

    #[test]
    fn limits_apply() {
        let t = |n: u8| ArpTarget { ip: Ipv4Addr::new(10, 0, 0, n), src: Ipv4Addr::UNSPECIFIED };
        let mut c = cfg();
        c.arp_targets = (1..=20).map(t).collect();
        c.missed_max = 0;
        c.interval = Duration::ZERO;
        let m = ArpMonitor::new(c.clone());
        assert_eq!(m.config().arp_targets.len(), MAX_TARGETS);
        assert_eq!((m.config().missed_max, m.config().interval), (1, Duration::from_millis(1)));
        c.arp_targets = vec![t(1), ArpTarget { ip: Ipv4Addr::UNSPECIFIED, ..t(0) }, t(3)];
        assert_eq!(ArpMonitor::new(c).config().arp_targets, [t(1)], "the list ends at 0.0.0.0");
    }

    #[test]
    fn slaves_are_bounded_and_unique() {
        let mut m = ArpMonitor::new(cfg());
        let now = Instant::from_millis(5);
        assert_eq!(m.add_slave(now, SlaveId(0), MacAddr::ZERO, false), Some(LinkStatus::Down));
        assert_eq!(m.add_slave(now, SlaveId(0), MacAddr::ZERO, true), None, "duplicate");
        for n in 1..MAX_SLAVES as u32 {
            assert!(m.add_slave(now, SlaveId(n), MacAddr::ZERO, true).is_some());
        }
        assert_eq!(m.add_slave(now, SlaveId(999), MacAddr::ZERO, true), None, "full");
        assert_eq!(m.last_rx(SlaveId(0)), None, "never received");
        m.remove_slave(SlaveId(0));
        assert_eq!(m.link_status(SlaveId(0)), None);
    }

    #[test]
    fn tick_reschedules_and_new_targets_restart() {
        let mut m = ArpMonitor::new(cfg());
        assert_eq!(m.poll_timeout(), None);
        m.start(Instant::from_millis(7));
        assert_eq!(m.poll_timeout(), Some(Instant::from_millis(7)));
        m.add_slave(Instant::ZERO, SlaveId(1), MacAddr::ZERO, true);
        m.handle_tick(Instant::from_millis(7), &[]);
        assert_eq!(m.poll_timeout(), Some(Instant::from_millis(107)));
        let mut c = cfg();
        c.arp_targets[0].ip = Ipv4Addr::new(192, 0, 2, 77);
        c.interval = Duration::from_millis(200);
        m.set_config(Instant::from_millis(50), c);
        assert_eq!(m.target_last_rx(SlaveId(1), 0), Some(Instant::from_millis(50)));
        assert_eq!(m.poll_timeout(), Some(Instant::from_millis(50)), "new interval: tick now");
    }
}
