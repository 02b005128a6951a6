//! What a bond tells its driver: events and control frames, in bounded queues.

use std::collections::VecDeque;

use ubond_wire::MacAddr;

use crate::lacp;

use super::SlaveId;

/// Most queued events or frames; more are dropped and counted.
pub const QUEUE_LIMIT: usize = 4096;

/// What happened, for logs and the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondEvent {
    /// A line for the log, worded as the kernel words it (`slave` is the slave's name).
    Log {
        /// The slave concerned, if any.
        slave: Option<String>,
        /// The message.
        message: String,
    },
    /// The bond's carrier changed.
    Carrier {
        /// The new carrier.
        up: bool,
    },
    /// The active slave changed (active-backup, LACP fallback).
    ActiveSlave {
        /// The new active slave.
        slave: Option<SlaveId>,
    },
    /// The data path must reload [`Bond::tx_plan`](super::Bond::tx_plan) and
    /// [`Bond::rx_plan`](super::Bond::rx_plan).
    PlanChanged,
    /// The bond's MAC address changed (first slave, `fail_over_mac=active`).
    BondMac {
        /// The new address.
        mac: MacAddr,
    },
    /// An 802.3ad event (state changes for the timeline). Its ports are
    /// [`lacp::PortId`]s: [`Bond::slave_of_port`](super::Bond::slave_of_port) names the slave.
    Lacp(lacp::Event),
    /// A slave's address must change: to the bond's at enslave time, swapped by
    /// `fail_over_mac=follow`, or (balance-alb) the address RLB gives it — program it into the
    /// interface. In balance-tlb it is only the source address written for that slave.
    SlaveMac {
        /// The slave.
        slave: SlaveId,
        /// Its new address.
        mac: MacAddr,
    },
    /// After a failover (`resend_igmp` times, 200 ms apart): make the IP stack on the bond
    /// re-send its IGMP membership reports, now through `slave` (Linux
    /// `NETDEV_RESEND_IGMP`).
    ResendIgmp {
        /// The new active slave.
        slave: SlaveId,
    },
    /// balance-alb: put a slave's interface into or out of promiscuous mode.
    Promisc {
        /// The slave.
        slave: SlaveId,
        /// On or off.
        on: bool,
    },
}

/// A control frame to send on a slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondTransmit {
    /// The slave.
    pub slave: SlaveId,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// The bond's two output queues, each bounded by [`QUEUE_LIMIT`]: a full event queue drops
/// its oldest event, a full frame queue the new frame; both count what they drop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outputs {
    pub events: VecDeque<BondEvent>,
    pub transmits: VecDeque<BondTransmit>,
    pub dropped: u64,
}

impl Outputs {
    pub fn event(&mut self, e: BondEvent) {
        if self.events.len() >= QUEUE_LIMIT {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(e);
    }

    /// A log line about `slave` (its name), or about the bond.
    pub fn log(&mut self, slave: Option<&str>, message: String) {
        self.event(BondEvent::Log { slave: slave.map(str::to_string), message });
    }

    pub fn transmit(&mut self, slave: SlaveId, frame: Vec<u8>) {
        if self.transmits.len() >= QUEUE_LIMIT {
            self.dropped += 1;
        } else {
            self.transmits.push_back(BondTransmit { slave, frame });
        }
    }
}
