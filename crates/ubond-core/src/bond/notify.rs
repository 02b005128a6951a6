//! Peer notification frames sent after a failover (Linux `NETDEV_NOTIFY_PEERS`): a gratuitous
//! ARP request per IPv4 address (`arp_send(ARPOP_REQUEST, ..., ip, dev, ip, NULL, ...)`) and an
//! unsolicited Neighbor Advertisement per IPv6 address (`ndisc_send_unsol_na`).

use std::net::{Ipv4Addr, Ipv6Addr};

use ubond_wire::ethernet::{EtherType, EthernetRepr, Frame, HEADER_LEN};
use ubond_wire::icmp::{Icmpv6Packet, NdiscRepr};
use ubond_wire::ip::Protocol;
use ubond_wire::{arp, ipv6, MacAddr};

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
