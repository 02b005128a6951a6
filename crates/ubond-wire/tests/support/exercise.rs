//! Feeds one byte string to every view and every `Repr::parse` of `ubond-wire`, and checks the
//! invariants that must hold whatever the bytes are.
//!
//! Shared, by `#[path]`, between the property tests (`tests/no_panic.rs`) and the fuzz target
//! (`fuzz/fuzz_targets/wire.rs`), so that both exercise exactly the same code. Any panic here
//! (an `assert!` included) is a bug in the crate.
//!
//! The input is decoded twice: as every codec on its own (so each parser sees the raw bytes),
//! and as an Ethernet frame dissected as Linux's bonding hash would (frame → ARP/IP/Slow →
//! L4/ICMP → the packet inside an ICMP error → L4 again), and as a BFD receiver does (frame →
//! IP → UDP → BFD Control packet).

#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::vec;
use std::vec::Vec;

use ubond_wire::arp::{self, ArpRepr};
use ubond_wire::bfd::{self, ControlRepr, Encapsulation, FrameRepr};
use ubond_wire::ethernet::{EtherType, EthernetRepr, Frame};
use ubond_wire::icmp::{self, Icmpv4Packet, Icmpv6Packet, NdiscRepr};
use ubond_wire::ip::{checksum, Protocol};
use ubond_wire::ipv4::{self, Ipv4Repr};
use ubond_wire::ipv6::{self, Ipv6Repr};
use ubond_wire::l4;
use ubond_wire::slow::{self, LacpduRepr, MarkerRepr};
use ubond_wire::udp::{self, IpPair, UdpRepr};

/// Runs every decoder on `data`.
pub fn exercise(data: &[u8]) {
    ethernet(data);
    arp(data);
    ipv4(data, 0);
    ipv6(data, 0);
    icmpv4(data, 0);
    icmpv6(data, &Ipv6Addr::LOCALHOST, &Ipv6Addr::UNSPECIFIED, 0);
    slow(data);
    transport(Protocol::from(data.first().copied().unwrap_or(0)), data.get(1..).unwrap_or(&[]));
    udp(data, &IpPair::V4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST));
    udp(data, &IpPair::V6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED));
    bfd(data);
    frame(data);
    bfd_frame(data);
}

/// Dissects `data` as a frame, the way the bonding hash walks it.
pub fn frame(data: &[u8]) {
    let Ok(f) = Frame::new_checked(data) else { return };
    let payload = f.payload();
    match f.ethertype() {
        EtherType::Arp => arp(payload),
        EtherType::Ipv4 => ipv4(payload, 1),
        EtherType::Ipv6 => ipv6(payload, 1),
        EtherType::Slow => slow(payload),
        _ => {}
    }
}

/// Walks past an IP header into the transport header; `depth` bounds the ICMP recursion.
fn next_layer(protocol: Protocol, l4: &[u8], src6: &Ipv6Addr, dst6: &Ipv6Addr, depth: u8) {
    transport(protocol, l4);
    if depth == 0 || depth > 2 {
        return;
    }
    match protocol {
        Protocol::Icmp => icmpv4(l4, depth),
        Protocol::Icmpv6 => icmpv6(l4, src6, dst6, depth),
        _ => {}
    }
}

/// A UDP datagram between `ips`: the view, the checksum, and the Repr's round trip.
pub fn udp(data: &[u8], ips: &IpPair) {
    let view = udp::Packet::new_unchecked(data);
    let _ = (view.src_port(), view.dst_port(), view.len(), view.is_empty(), view.checksum());
    let payload = view.payload();
    assert!(payload.len() <= data.len());
    let checked = udp::Packet::new_checked(data);
    let len = usize::from(view.len());
    assert_eq!(checked.is_ok(), data.len() >= 8 && len >= 8 && len <= data.len());
    if checked.is_ok() {
        assert_eq!(payload.len(), len - 8);
    }
    match UdpRepr::parse(&view, ips) {
        Ok(repr) => {
            assert!(checked.is_ok() && view.verify_checksum(ips));
            assert_eq!(usize::from(repr.payload_len), payload.len());
            let mut out = vec![0u8; repr.buffer_len() + payload.len()];
            let mut p = udp::Packet::new_unchecked(&mut out[..]);
            repr.emit(&mut p).expect("re-emit");
            p.payload_mut().copy_from_slice(payload);
            p.fill_checksum(ips);
            assert!(p.verify_checksum(ips), "a filled UDP checksum verifies");
            assert_eq!(UdpRepr::parse(&udp::Packet::new_unchecked(&out[..]), ips), Ok(repr));
        }
        Err(_) => assert!(checked.is_err() || !view.verify_checksum(ips)),
    }
    let mut copy = data.to_vec();
    let mut p = udp::Packet::new_unchecked(&mut copy[..]);
    p.fill_checksum(ips);
    if checked.is_ok() {
        assert!(p.verify_checksum(ips), "fill_checksum makes a whole datagram verify");
    }
    let _ = p.payload_mut().first_mut().map(|b| *b ^= 1);
}

/// A BFD Control packet: the view's accessors, the length rules, the Repr's round trip.
pub fn bfd(data: &[u8]) {
    let view = bfd::Packet::new_unchecked(data);
    let _ = (view.version(), view.diag(), view.state(), view.poll(), view.final_());
    let _ = (view.control_plane_independent(), view.auth_present(), view.demand());
    let _ = (view.multipoint(), view.detect_mult(), view.my_discriminator());
    let _ = (view.your_discriminator(), view.desired_min_tx(), view.required_min_rx());
    let _ = (view.required_min_echo_rx(), view.auth_type());
    assert!(view.version() <= 7);
    let section = view.auth_section();
    assert!(section.len() <= bfd::MAX_AUTH_SECTION_LEN);
    if !view.auth_present() {
        assert!(section.is_empty());
    }
    let checked = bfd::Packet::new_checked(data);
    let len = usize::from(view.length());
    let min = if view.auth_present() { 26 } else { 24 };
    assert_eq!(checked.is_ok(), data.len() >= 24 && len >= min && len <= data.len());
    if let Ok(repr) = ControlRepr::parse(&view) {
        assert!(checked.is_ok());
        assert_eq!(repr.auth.is_some(), view.auth_present());
        assert!(repr.buffer_len() <= len);
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut bfd::Packet::new_unchecked(&mut out[..])).expect("re-emit");
        assert_eq!(
            &out[..24],
            &{
                let mut head = [0u8; 24];
                head.copy_from_slice(&data[..24]);
                head[3] = repr.buffer_len() as u8;
                head
            },
            "a parsed mandatory section re-emits as is (Length aside)"
        );
        assert_eq!(ControlRepr::parse(&bfd::Packet::new_unchecked(&out[..])), Ok(repr));
    }
}

/// Walks `data` as a BFD receiver does: frame, IP, UDP, Control packet.
pub fn bfd_frame(data: &[u8]) {
    let port = bfd::udp_dst_port(data);
    if let Ok((encap, payload)) = Encapsulation::parse(data) {
        assert_eq!(port, Some(encap.dst_port), "a parsed frame's port is the peeked one");
        assert!(payload.len() + encap.header_len() <= data.len());
        bfd(payload);
    }
    if let Ok(repr) = FrameRepr::parse(data) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut out).expect("re-emit a parsed frame");
        assert_eq!(FrameRepr::parse(&out), Ok(repr));
        assert_eq!(&out[..12], &data[..12], "the addresses re-emit as is");
    }
}

fn transport(protocol: Protocol, l4: &[u8]) {
    let word = l4::ports_word(protocol, l4);
    let ports = l4::ports(protocol, l4);
    let spi = l4::spi(protocol, l4);
    if let (Some(w), Some(p)) = (word, ports) {
        assert_eq!(u16::from_be_bytes([w[0], w[1]]), p.src_port);
        assert_eq!(u16::from_be_bytes([w[2], w[3]]), p.dst_port);
    }
    if let Some(spi) = spi {
        assert_eq!(word.map(u32::from_be_bytes), Some(spi));
    }
    assert_eq!(word.is_some(), l4::ports_offset(protocol).is_some_and(|o| l4.len() >= o + 4));
}

pub fn ethernet(data: &[u8]) {
    let view = Frame::new_unchecked(data);
    let _ = (view.dst_addr(), view.src_addr(), view.outer_ethertype(), view.ethertype());
    let _ = (view.outer_tag(), view.inner_tag(), view.tag(2), view.payload());
    assert!(view.tag_count() <= 2);
    assert_eq!(view.header_len(), 14 + 4 * view.tag_count());
    let checked = Frame::new_checked(data);
    assert_eq!(checked.is_ok(), data.len() >= view.header_len());
    if let Ok(f) = &checked {
        assert_eq!(f.payload().len(), data.len() - f.header_len());
    }
    if let Ok(repr) = EthernetRepr::parse(&view) {
        assert!(checked.is_ok());
        assert_eq!(repr.buffer_len(), view.header_len());
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Frame::new_unchecked(&mut out[..])).expect("re-emit a parsed header");
        assert_eq!(&out[..], &data[..repr.buffer_len()], "a parsed header re-emits as is");
        assert_eq!(EthernetRepr::parse(&Frame::new_unchecked(&out[..])), Ok(repr));
    }
    let mut copy = data.to_vec();
    let mut view = Frame::new_unchecked(&mut copy[..]);
    view.set_src_addr(ubond_wire::MacAddr::BROADCAST);
    view.set_dst_addr(ubond_wire::MacAddr::ZERO);
    let _ = view.payload_mut().first_mut().map(|b| *b ^= 1);
}

pub fn arp(data: &[u8]) {
    let view = arp::Packet::new_unchecked(data);
    let _ = (view.hardware_type(), view.protocol_type(), view.operation());
    let _ = (view.sender_hardware_addr(), view.sender_protocol_addr());
    let _ = (view.target_hardware_addr(), view.target_protocol_addr());
    let _ = (view.sender_mac(), view.sender_ip(), view.target_mac(), view.target_ip());
    let checked = arp::Packet::new_checked(data);
    assert_eq!(checked.is_ok(), data.len() >= 8 && data.len() >= view.packet_len());
    if let Ok(p) = &checked {
        assert_eq!(p.sender_hardware_addr().len(), usize::from(p.hardware_len()));
        assert_eq!(p.target_protocol_addr().len(), usize::from(p.protocol_len()));
    }
    if let Ok(repr) = ArpRepr::parse(&view) {
        assert!(view.is_ethernet_ipv4());
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut arp::Packet::new_unchecked(&mut out[..])).expect("re-emit");
        assert_eq!(&out[..], &data[..28], "a parsed ARP packet re-emits as is");
    }
    let mut copy = data.to_vec();
    let mut view = arp::Packet::new_unchecked(&mut copy[..]);
    view.set_operation(arp::Operation::Reply);
    let ok = view.set_sender_mac(ubond_wire::MacAddr::BROADCAST).is_ok();
    let _ = view.set_sender_ip(std::net::Ipv4Addr::BROADCAST);
    let _ = view.set_target_mac(ubond_wire::MacAddr::ZERO);
    let _ = view.set_target_ip(std::net::Ipv4Addr::UNSPECIFIED);
    if ok {
        assert_eq!(view.sender_mac(), Some(ubond_wire::MacAddr::BROADCAST));
    }
}

pub fn ipv4(data: &[u8], depth: u8) {
    let view = ipv4::Packet::new_unchecked(data);
    let _ = (view.version(), view.ihl(), view.tos(), view.dscp(), view.ecn(), view.total_len());
    let _ = (view.identification(), view.dont_fragment(), view.more_fragments());
    let _ = (view.reserved_flag(), view.frag_offset(), view.ttl(), view.checksum());
    let _ = (view.src_addr(), view.dst_addr(), view.header(), view.options());
    let _ = view.verify_checksum();
    assert_eq!(view.is_fragment(), view.more_fragments() || view.frag_offset() != 0);
    let payload = view.payload();
    assert!(payload.len() <= data.len());
    let header = ipv4::Packet::new_checked_header(data);
    let strict = ipv4::Packet::new_checked(data);
    if strict.is_ok() {
        assert!(header.is_ok());
        assert_eq!(payload.len(), usize::from(view.total_len()) - view.header_len());
    }
    if let Ok(p) = &header {
        assert_eq!(p.header().len(), p.header_len());
        assert_eq!(p.options().len(), p.header_len() - 20);
        let l4 = p.payload();
        let none = Ipv6Addr::UNSPECIFIED;
        if p.is_fragment() {
            transport(p.protocol(), l4);
        } else {
            next_layer(p.protocol(), l4, &none, &none, depth);
        }
    }
    match Ipv4Repr::parse(&view) {
        Ok(repr) => {
            assert!(strict.is_ok() && view.verify_checksum());
            let total = usize::from(repr.payload_len) + repr.buffer_len();
            let mut out = vec![0u8; total];
            repr.emit(&mut ipv4::Packet::new_unchecked(&mut out[..])).expect("re-emit");
            let again = ipv4::Packet::new_checked(&out[..]).expect("re-emitted header checks");
            assert_eq!(Ipv4Repr::parse(&again), Ok(repr));
        }
        Err(_) => assert!(strict.is_err() || !view.verify_checksum()),
    }
    let mut copy = data.to_vec();
    let mut view = ipv4::Packet::new_unchecked(&mut copy[..]);
    view.fill_checksum();
    if header.is_ok() {
        assert!(view.verify_checksum(), "fill_checksum makes a readable header verify");
    }
    let _ = view.payload_mut().first_mut().map(|b| *b ^= 1);
}

pub fn ipv6(data: &[u8], depth: u8) {
    let view = ipv6::Packet::new_unchecked(data);
    let _ = (view.version(), view.traffic_class(), view.flow_label(), view.payload_len());
    let _ = (view.next_header(), view.hop_limit(), view.src_addr(), view.dst_addr());
    assert!(view.flow_label() <= ipv6::MAX_FLOW_LABEL);
    let payload = view.payload();
    let strict = ipv6::Packet::new_checked(data);
    let header = ipv6::Packet::new_checked_header(data);
    if strict.is_ok() && !view.is_jumbogram() {
        assert_eq!(payload.len(), usize::from(view.payload_len()));
    }
    if let Ok(p) = &header {
        next_layer(p.next_header(), p.payload(), &p.src_addr(), &p.dst_addr(), depth);
    }
    if let Ok(repr) = Ipv6Repr::parse(&view) {
        assert!(strict.is_ok());
        let mut out = vec![0u8; repr.buffer_len() + usize::from(repr.payload_len)];
        repr.emit(&mut ipv6::Packet::new_unchecked(&mut out[..])).expect("re-emit");
        assert_eq!(&out[..40], &data[..40], "a parsed IPv6 header re-emits as is");
        assert_eq!(Ipv6Repr::parse(&ipv6::Packet::new_unchecked(&out[..])), Ok(repr));
    }
    let mut copy = data.to_vec();
    let _ = ipv6::Packet::new_unchecked(&mut copy[..]).payload_mut().first_mut().map(|b| *b ^= 1);
}

pub fn icmpv4(data: &[u8], depth: u8) {
    let view = Icmpv4Packet::new_unchecked(data);
    let _ = (view.msg_type(), view.code(), view.checksum(), view.rest_of_header());
    let _ = (view.identifier(), view.sequence_number(), view.body(), view.verify_checksum());
    assert_eq!(view.identifier().is_some(), view.msg_type().has_identifier());
    assert_eq!(Icmpv4Packet::new_checked(data).is_ok(), data.len() >= icmp::HEADER_LEN);
    if let Some(inner) = view.embedded_packet() {
        assert!(view.is_error());
        if depth > 0 {
            ipv4(inner, depth + 1);
        }
    }
    let mut copy = data.to_vec();
    let mut p = Icmpv4Packet::new_unchecked(&mut copy[..]);
    p.fill_checksum();
    if data.len() >= icmp::HEADER_LEN {
        assert!(p.verify_checksum());
        assert_eq!(checksum::data(&copy), 0xffff, "a filled ICMP checksum sums to 0xffff");
    }
}

pub fn icmpv6(data: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr, depth: u8) {
    let view = Icmpv6Packet::new_unchecked(data);
    let _ = (view.msg_type(), view.code(), view.checksum(), view.rest_of_header());
    let _ = (view.identifier(), view.sequence_number(), view.body());
    let _ = (view.verify_checksum(src, dst), view.target_addr(), view.na_flags());
    let _ = (view.source_ll_addr(), view.target_ll_addr(), view.nd_options().count());
    let _ = view.nd_options().are_well_formed();
    assert_eq!(Icmpv6Packet::new_checked(data).is_ok(), data.len() >= icmp::HEADER_LEN);
    let _ = icmp::linux_flow_has_id(u8::from(view.msg_type()));
    if let Some(inner) = view.embedded_packet() {
        assert!(u8::from(view.msg_type()) < 128);
        if depth > 0 {
            ipv6(inner, depth + 1);
        }
    }
    if let Ok(repr) = NdiscRepr::parse(&view) {
        assert!(view.nd_options().are_well_formed());
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut out[..])).expect("re-emit");
        let again = Icmpv6Packet::new_unchecked(&out[..]);
        assert!(again.verify_checksum(src, dst));
        assert_eq!(NdiscRepr::parse(&again), Ok(repr));
    }
    let mut copy = data.to_vec();
    let mut p = Icmpv6Packet::new_unchecked(&mut copy[..]);
    p.fill_checksum(src, dst);
    if data.len() >= icmp::HEADER_LEN {
        assert!(p.verify_checksum(src, dst));
        let len = u32::try_from(copy.len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header_v6(src, dst, Protocol::Icmpv6, len);
        assert_eq!(checksum::combine(&[pseudo, checksum::data(&copy)]), 0xffff);
    }
}

pub fn slow(data: &[u8]) {
    let view = slow::Packet::new_unchecked(data);
    let _ = (view.subtype(), view.version(), view.actor(), view.partner());
    let _ = (view.collector_max_delay(), view.marker_tlv_type());
    let tlvs: Vec<_> = view.extension_tlvs().collect();
    assert!(tlvs.len() <= data.len() / 2);
    assert_eq!(slow::Packet::new_checked(data).is_ok(), data.len() >= slow::PDU_LEN);
    if let Ok(repr) = LacpduRepr::parse(&view) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut slow::Packet::new_unchecked(&mut out[..])).expect("re-emit");
        assert_eq!(LacpduRepr::parse(&slow::Packet::new_unchecked(&out[..])), Ok(repr));
    }
    if let Ok(repr) = MarkerRepr::parse(&view) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut slow::Packet::new_unchecked(&mut out[..])).expect("re-emit");
        assert_eq!(MarkerRepr::parse(&slow::Packet::new_unchecked(&out[..])), Ok(repr));
    }
}
