//! The probe frames: an ARP request or a Neighbor Solicitation, as the kernel builds them.

use ubond_wire::ethernet::{EtherType, EthernetRepr, Frame, HEADER_LEN};
use ubond_wire::icmp::{Icmpv6Packet, NdiscRepr};
use ubond_wire::ip::Protocol;
use ubond_wire::{arp, ipv6, MacAddr};

use super::{ArpTarget, NsTarget, MIN_FRAME_LEN};

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
