//! What counts as received traffic (`bond_rcv_validate`, `bond_arp_rcv`, `bond_na_rcv`): see
//! the table in the [module docs](super).

use core::net::Ipv4Addr;

use ubond_wire::ethernet::{EtherType, Frame};
use ubond_wire::icmp::{Icmpv6Packet, Icmpv6Type};
use ubond_wire::ip::Protocol;
use ubond_wire::{arp, ipv6, MacAddr};

use super::{stamp, ArpMonitor, ArpRx, Family, Stamp};
use crate::bond::SlaveId;
use crate::time::Instant;

/// What a frame a slave received is to the monitor's receive times where a data path hands
/// over only the time of the last ([`ArpMonitor::handle_traffic`]): the rule of
/// [`ArpMonitor::handle_frame`] for frames it does not look inside. Every data path that keeps
/// those times (the fast path's program, the data threads, the userspace path's tc filters)
/// sorts frames by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxTraffic {
    /// Not for this host: unicast to another address (`PACKET_OTHERHOST`), or not a frame.
    NotForHost,
    /// For this host: to the slave's address `own` or to a group.
    ForHost,
    /// For this host, and ARP or IPv6 (inside at most one VLAN tag).
    ArpIpv6,
}

/// Sorts `frame`, received on a slave whose address is `own` ([`RxTraffic`]).
pub fn rx_traffic(frame: &[u8], own: MacAddr) -> RxTraffic {
    match for_host(frame, own) {
        None => RxTraffic::NotForHost,
        Some((_, EtherType::Arp | EtherType::Ipv6)) => RxTraffic::ArpIpv6,
        Some(_) => RxTraffic::ForHost,
    }
}

/// `frame` and the EtherType the bond sees of it, if it is for this host (the slave's address
/// `own`, or a group; otherwise it is `PACKET_OTHERHOST`). The stack takes one VLAN tag off
/// before the bond sees a frame: under two, the EtherType is [`EtherType::Vlan`].
fn for_host(frame: &[u8], own: MacAddr) -> Option<(Frame<&[u8]>, EtherType)> {
    let eth = Frame::new_checked(frame).ok()?;
    let dst = eth.dst_addr();
    if dst.is_unicast() && dst != own {
        return None;
    }
    let proto = if eth.tag_count() <= 1 { eth.ethertype() } else { EtherType::Vlan };
    Some((eth, proto))
}

impl ArpMonitor {
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
        let Some((eth, proto)) = for_host(frame, self.slaves[i].mac) else {
            return ArpRx::Ignored;
        };
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

    pub(super) fn count(&mut self, i: usize, slot: usize, now: Stamp) {
        let s = &mut self.slaves[i];
        s.last_rx = now;
        if let Some(t) = s.target_last_rx.get_mut(slot) {
            *t = now;
        }
    }
}
