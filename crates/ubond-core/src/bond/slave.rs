//! A bond's members and the one identity each has.
//!
//! # One member, one identity
//!
//! A member is a [`SlaveId`] everywhere outside the 802.3ad engine: in every input and output
//! of [`Bond`](super::Bond), in its plans and events, in the daemon (its per-slave runtime is
//! keyed by it) and in the lab (a host's NIC and a switch's channel member keep it). A handle
//! is never reused within a bond. The other names a member has, and the one place each meets
//! the [`SlaveId`]:
//!
//! | name | whose | where it is mapped |
//! |---|---|---|
//! | [`PortId`] | [`Lacp`](crate::lacp::Lacp), which numbers the 802.1AX ports itself | `Slave::port`, here only: [`Bond::slave_port`](super::Bond::slave_port) and [`Bond::slave_of_port`](super::Bond::slave_of_port). The bond translates LACP's transmits; a driver that words [`crate::lacp::Event`]s maps their ports back with `slave_of_port` |
//! | interface name | the system, and the options that name slaves (`primary`, `active_slave`, per-slave options) | [`Bond::slave_name`](super::Bond::slave_name), [`Bond::slave_by_name`](super::Bond::slave_by_name) |
//! | ifindex | the daemon (the fast path's maps are keyed by it) | the daemon's per-slave runtime, next to the [`SlaveId`] |
//! | NIC index | the lab (a host's or switch's port number) | the lab's NIC and channel-member lists, next to the [`SlaveId`] |

use ubond_wire::MacAddr;

use crate::lacp::{LinkState, PortId};
use crate::monitor::mii::MiiLink;

/// A slave handle, never reused within a bond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlaveId(pub u32);

/// A slave's settings at enslave time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveConfig {
    /// Interface name.
    pub name: String,
    /// Permanent MAC address.
    pub perm_mac: MacAddr,
}

/// One member as the bond keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Slave {
    pub id: SlaveId,
    pub name: String,
    pub perm_mac: MacAddr,
    /// The MII monitor's view (the link state unless the ARP monitor runs).
    pub mii: MiiLink,
    /// Carrier, speed and duplex as the driver last reported them.
    pub link: LinkState,
    /// The address the interface has now (the bond's, its own, or a swapped one).
    pub mac: MacAddr,
    /// Its 802.1AX port, in 802.3ad mode: the one `SlaveId` ↔ `PortId` mapping.
    pub port: Option<PortId>,
}
