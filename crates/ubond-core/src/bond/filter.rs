//! What each slave's receive filter must let in besides its own address: the link-layer
//! multicast groups the bond joins on it, as Linux does, so that no slave needs promiscuous
//! mode (which many SR-IOV virtual functions refuse and which costs CPU on busy links).
//!
//! * 802.3ad: the Slow Protocols group `01:80:c2:00:00:02` on every slave while the bond is up
//!   (`bond_enslave`/`bond_open` add it with `dev_mc_add`, `bond_close` and the release remove
//!   it; the selftest `dev_addr_lists.sh` checks both).
//! * active-backup with `arp_validate` and `ns_ip6_target`: each backup joins the targets'
//!   solicited-node groups, so that it hears the active slave's neighbour solicitations and
//!   the targets' answers it validates (`slave_set_ns_maddrs`); the active slave leaves them.
//! * The groups the bond's own device joined (IPv6 all-nodes and solicited-node groups of its
//!   addresses, IGMP/MLD groups of its sockets) go to the slaves that receive for the bond
//!   while it is up (`dev_mc_sync`): the active slave in the modes with one, every slave in the
//!   others. Only the driver can read that list; the core says which slaves get it.
//!
//! * Micro-BFD (`bfd=on`): RFC 7130's dedicated group `01:00:5e:90:00:01` on every slave, the
//!   destination of the partner's packets until its session is Up (ubond's own; no kernel has
//!   micro-BFD).
//!
//! Promiscuous mode stays where a mode asks for it (balance-alb, [`super::BondEvent::Promisc`]).

use std::net::Ipv6Addr;

use ubond_wire::MacAddr;

use crate::options::{ArpValidate, Mode};

use super::{Bond, SlaveId};

/// The Slow Protocols group (LACPDUs, Marker PDUs).
pub const SLOW_PROTOCOLS: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);

/// A slave's receive filter, as the bond needs it now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaveFilter {
    /// Groups the slave joins for the bond itself, in a stable order.
    pub groups: Vec<MacAddr>,
    /// The slave also joins the groups the bond's device joined.
    pub bond_groups: bool,
}

/// The solicited-node group of `target` as an Ethernet address (`ndisc_mc_map`):
/// `33:33:ff` and the address's last three bytes.
pub fn solicited_node_mac(target: Ipv6Addr) -> MacAddr {
    let o = target.octets();
    MacAddr([0x33, 0x33, 0xff, o[13], o[14], o[15]])
}

impl Bond {
    /// What slave `id`'s receive filter must let in now (see the [module docs](self)); `None`
    /// for a slave the bond does not have.
    pub fn slave_filter(&self, id: SlaveId) -> Option<SlaveFilter> {
        self.slave(id)?;
        let mut f = SlaveFilter::default();
        let active = self.active.current == Some(id);
        if self.opts.mode == Mode::Ieee8023ad && self.admin_up {
            f.groups.push(SLOW_PROTOCOLS);
        }
        if self.opts.mode == Mode::ActiveBackup
            && self.opts.arp_validate != ArpValidate::None
            && !active
        {
            for &t in &self.opts.ns_ip6_target {
                let mac = solicited_node_mac(t);
                if !f.groups.contains(&mac) {
                    f.groups.push(mac);
                }
            }
        }
        if self.bfd_on() {
            f.groups.push(ubond_wire::bfd::MICRO_BFD_MAC);
        }
        f.bond_groups = self.admin_up && (!self.uses_active_slave() || active);
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_groups_are_the_kernels() {
        // ndisc_mc_map of 2001:db8::254 (ipv6_eth_mc_map of ff02::1:ff00:254).
        let t: Ipv6Addr = "2001:db8::254".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert_eq!(solicited_node_mac(t).to_string(), "33:33:ff:00:02:54");
    }
}
