//! What goes into the monitor and what comes out: the bond's slaves as the monitor sees them at
//! a tick, the link changes it decides (with the kernel's log lines), the probes to send, and
//! its verdict on a received frame.

use core::fmt;

use crate::bond::SlaveId;
use crate::monitor::mii::LinkStatus;

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
    /// The frame, padded to [`MIN_FRAME_LEN`](super::MIN_FRAME_LEN).
    pub frame: Vec<u8>,
}

/// What a tick decided: link changes, whether to reselect the active slave, probes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArpActions {
    /// Link changes, in slave order; the monitor has applied them to its own state.
    pub transitions: Vec<ArpTransition>,
    /// The bond must reselect its active slave (`do_failover`), then report the result with
    /// [`ArpMonitor::set_active_slave`](super::ArpMonitor::set_active_slave).
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

/// What [`ArpMonitor::handle_frame`](super::ArpMonitor::handle_frame) made of a frame.
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
