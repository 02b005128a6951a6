//! Telling the network about a failover. Two schedules run after the active slave changes:
//!
//! * peer notification (Linux `NETDEV_NOTIFY_PEERS`, `num_grat_arp`/`num_unsol_na` rounds
//!   `peer_notif_delay` apart, the first at once after a failover, one monitor tick after the
//!   first activation): a gratuitous ARP
//!   request per IPv4 address (`arp_send(ARPOP_REQUEST, ..., ip, dev, ip, NULL, ...)`) and an
//!   unsolicited Neighbor Advertisement per IPv6 address (`ndisc_send_unsol_na`), from the
//!   bond's MAC on the active slave;
//! * `resend_igmp` (Linux `bond_resend_igmp_join_requests_delayed`): the IP stack is asked to
//!   re-send its multicast memberships ([`BondEvent::ResendIgmp`]), at once, then 200 ms
//!   apart.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ubond_wire::ethernet::{EtherType, EthernetRepr, Frame, HEADER_LEN};
use ubond_wire::icmp::{Icmpv6Packet, NdiscRepr};
use ubond_wire::ip::Protocol;
use ubond_wire::{arp, ipv6, MacAddr};

use crate::time::Instant;

use super::{Bond, BondEvent};

/// `resend_igmp`'s spacing (`HZ / 5`).
pub const IGMP_RESEND_INTERVAL: Duration = Duration::from_millis(200);

/// The two schedules, each a count of rounds left and the deadline of the next.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerNotify {
    peers_left: u32,
    peers_next: Option<Instant>,
    igmp_left: u32,
    igmp_next: Option<Instant>,
}

impl PeerNotify {
    /// `count` rounds of peer notification, the first at `first`, then `interval` apart
    /// ([`Bond::notify_interval`]).
    pub fn start_peers(&mut self, count: u32, first: Instant) {
        self.peers_left = count;
        self.peers_next = (count > 0).then_some(first);
    }

    /// `count` IGMP re-sends, the first now.
    pub fn start_igmp(&mut self, now: Instant, count: u32) {
        self.igmp_left = count;
        self.igmp_next = Some(now);
    }

    /// The earlier of the two deadlines.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers_next.into_iter().chain(self.igmp_next).min()
    }

    /// True if a round of peer notification is due; counts it and schedules the next one
    /// `interval` later.
    fn peers_due(&mut self, now: Instant, interval: Duration) -> bool {
        if self.peers_next.is_none_or(|t| t > now) {
            return false;
        }
        self.peers_left = self.peers_left.saturating_sub(1);
        self.peers_next = (self.peers_left > 0).then(|| now + interval);
        true
    }

    /// True if an IGMP re-send is due; counts it and schedules the next one.
    fn igmp_due(&mut self, now: Instant) -> bool {
        if self.igmp_next.is_none_or(|t| t > now) {
            return false;
        }
        self.igmp_left = self.igmp_left.saturating_sub(1);
        self.igmp_next = (self.igmp_left > 0).then(|| now + IGMP_RESEND_INTERVAL);
        true
    }
}

impl Bond {
    /// The monitor's tick: `miimon`, else `arp_interval` (at least 1 ms).
    pub(super) fn monitor_tick(&self) -> Duration {
        let ms = if self.opts.miimon > 0 { self.opts.miimon } else { self.opts.arp_interval };
        Duration::from_millis(u64::from(ms.max(1)))
    }

    /// The interval between two rounds of peer notification: `peer_notif_delay`, or the
    /// monitor's tick when it is 0 (Linux counts the rounds down once per tick).
    pub(super) fn notify_interval(&self) -> Duration {
        match self.opts.peer_notif_delay_ms() {
            0 => self.monitor_tick(),
            ms => Duration::from_millis(ms),
        }
    }

    /// Runs the rounds that are due: gratuitous ARPs and unsolicited NAs on the active slave,
    /// and [`BondEvent::ResendIgmp`].
    pub(super) fn notify_on_timeout(&mut self, now: Instant) {
        let interval = self.notify_interval();
        if self.notify.peers_due(now, interval) {
            if let Some(slave) = self.active.current {
                let mac = self.mac;
                for ip in &self.addrs4 {
                    self.out.transmit(slave, gratuitous_arp(mac, *ip));
                }
                for ip in &self.addrs6 {
                    self.out.transmit(slave, unsolicited_na(mac, *ip));
                }
            }
        }
        if self.notify.igmp_due(now) {
            if let Some(slave) = self.active.current {
                self.out.event(BondEvent::ResendIgmp { slave });
            }
        }
    }
}

fn ethernet(dst: MacAddr, src: MacAddr, ethertype: EtherType, payload_len: usize) -> Vec<u8> {
    let mut frame = vec![0u8; (HEADER_LEN + payload_len).max(60)];
    let repr =
        EthernetRepr { dst_addr: dst, src_addr: src, outer_tag: None, inner_tag: None, ethertype };
    // The buffer holds the header, so emit cannot fail.
    let _ = repr.emit(&mut Frame::new_unchecked(&mut frame[..]));
    frame
}

/// A gratuitous ARP request announcing that `ip` is at `mac`, to the broadcast address.
pub fn gratuitous_arp(mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    let repr = arp::ArpRepr {
        operation: arp::Operation::Request,
        sender_mac: mac,
        sender_ip: ip,
        target_mac: MacAddr::ZERO,
        target_ip: ip,
    };
    let mut frame = ethernet(MacAddr::BROADCAST, mac, EtherType::Arp, 28);
    let _ = repr.emit(&mut arp::Packet::new_unchecked(&mut frame[HEADER_LEN..]));
    frame
}

/// An unsolicited Neighbor Advertisement (override set) announcing that `ip` is at `mac`, to
/// all nodes, hop limit 255.
pub fn unsolicited_na(mac: MacAddr, ip: Ipv6Addr) -> Vec<u8> {
    let na = NdiscRepr::unsolicited_advert(ip, mac);
    let len = na.buffer_len();
    let ip6 = ipv6::Ipv6Repr {
        src_addr: ip,
        dst_addr: ipv6::ALL_NODES,
        next_header: Protocol::Icmpv6,
        payload_len: len as u16,
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut frame = ethernet(
        ipv6::multicast_mac(&ipv6::ALL_NODES),
        mac,
        EtherType::Ipv6,
        ipv6::HEADER_LEN + len,
    );
    let payload = &mut frame[HEADER_LEN..];
    let _ = ip6.emit(&mut ipv6::Packet::new_unchecked(&mut payload[..]));
    let icmp = &mut payload[ipv6::HEADER_LEN..ipv6::HEADER_LEN + len];
    let _ = na.emit(&ip, &ipv6::ALL_NODES, &mut Icmpv6Packet::new_unchecked(icmp));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    #[test]
    fn gratuitous_arp_layout() {
        let f = gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(f.len(), 60);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        let p = arp::Packet::new_checked(&f[14..]).unwrap();
        let r = arp::ArpRepr::parse(&p).unwrap();
        assert_eq!(
            (r.operation, r.sender_ip, r.target_ip),
            (arp::Operation::Request, Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(r.sender_mac, MAC);
    }

    #[test]
    fn unsolicited_na_is_valid() {
        let ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let f = unsolicited_na(MAC, ip);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        let p = ipv6::Packet::new_checked(&f[14..]).unwrap();
        assert_eq!(p.hop_limit(), 255);
        let icmp = Icmpv6Packet::new_checked(p.payload()).unwrap();
        let na = NdiscRepr::parse(&icmp).unwrap();
        assert_eq!(na, NdiscRepr::unsolicited_advert(ip, MAC));
        assert!(icmp.verify_checksum(&p.src_addr(), &p.dst_addr()), "checksum verifies");
    }
}
