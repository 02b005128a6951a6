//! MAC addresses in balance-tlb/alb: each slave keeps an address of its own, the active slave
//! takes the bond's, a failover swaps them (`alb_swap_mac_addr`, `alb_fasten_mac_swap`), and
//! learning packets teach the switch where each address now is.

use ubond_wire::MacAddr;

use crate::time::Instant;

use super::super::{tlb, SlaveId};
use super::{Alb, AlbEvent};

impl Alb {
    /// `alb_set_slave_mac_addr`.
    pub(super) fn set_slave_mac(&mut self, id: SlaveId, mac: MacAddr) {
        if let Some(s) = self.slave_mut(id) {
            if s.mac != mac {
                s.mac = mac;
                self.event(AlbEvent::SlaveMac { slave: id, mac });
            }
        }
    }

    /// `alb_send_learning_packets`: untagged, then one per VLAN device on the bond. (Linux also
    /// sends one per macvlan device when `strict_match` is off; ubond has no macvlans.)
    pub(super) fn send_learning_packets(
        &mut self,
        slave: SlaveId,
        mac: MacAddr,
        strict_match: bool,
    ) {
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
    fn fasten_mac_swap(&mut self, now: Instant, a: SlaveId, b: SlaveId) {
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
                self.rlb_teach_disabled_mac_on_primary(now, mac);
            }
        }
    }

    /// The bond's active slave changed (`bond_alb_handle_active_change`): the new one takes the
    /// bond's MAC, swapping addresses with the slave that had it, and announces it with
    /// learning packets.
    pub fn handle_active_change(&mut self, now: Instant, new: Option<SlaveId>) {
        let curr = self.active;
        if curr == new {
            return;
        }
        if let (Some(c), Some(rlb)) = (curr, &mut self.rlb) {
            if rlb.primary_is_promisc {
                rlb.primary_is_promisc = false;
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
            self.fasten_mac_swap(now, s, new);
        } else {
            let bond_mac = self.cfg.bond_mac;
            self.set_slave_mac(new, bond_mac);
            self.send_learning_packets(new, bond_mac, false);
        }
        self.publish();
    }

    /// The bond's MAC address changed (`bond_alb_set_mac_address`).
    pub fn set_bond_mac(&mut self, now: Instant, mac: MacAddr) {
        self.cfg.bond_mac = mac;
        let Some(active) = self.active else { return };
        match self.slave_with_mac(mac) {
            Some(swap) => {
                self.swap_mac(swap, active);
                self.fasten_mac_swap(now, swap, active);
            }
            None => {
                self.set_slave_mac(active, mac);
                self.send_learning_packets(active, mac, false);
                self.rlb_req_update_slave_clients(active);
            }
        }
        self.publish();
    }
}
