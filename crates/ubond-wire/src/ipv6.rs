//! The IPv6 fixed header (RFC 8200 section 3), EtherType 0x86dd, and the multicast addresses
//! the bonding NS monitor and unsolicited Neighbor Advertisements use (RFC 4291 2.7.1, RFC 2464
//! section 7).
//!
//! The buffers these codecs take start at the version nibble, right after the Ethernet header.
//!
//! ```text
//!   0 version (4 bits) | traffic class (8 bits) | flow label (20 bits)
//!   4 payload length (2)   6 next header   7 hop limit
//!   8 source (16)    24 destination (16)    40 payload (extension headers, then upper layer)
//! ```
//!
//! Extension headers are not walked: [`Packet::next_header`] is the header right after the
//! fixed one, as Linux's non-encap bonding hashes use it.

use core::net::Ipv6Addr;

use crate::ip::{array, be16, Protocol};
use crate::{Error, MacAddr, Result};

/// Length of the IPv6 fixed header.
pub const HEADER_LEN: usize = 40;
/// The largest flow label (20 bits).
pub const MAX_FLOW_LABEL: u32 = 0x000f_ffff;
/// The link-local all-nodes multicast address `ff02::1`, destination of unsolicited Neighbor
/// Advertisements.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

mod field {
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// The solicited-node multicast address of `addr` (RFC 4291 2.7.1): `ff02::1:ff` followed by
/// the low 24 bits of `addr`. Neighbor Solicitations for `addr` go there.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15]])
}

/// The Ethernet destination of an IPv6 multicast address (RFC 2464 section 7): `33:33`
/// followed by the address's low 32 bits.
pub fn multicast_mac(addr: &Ipv6Addr) -> MacAddr {
    let o = addr.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// A read/write view of an IPv6 packet (starting at the version nibble).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors still never panic, but read zeros (and
    /// empty slices) past its end. Prefer [`Packet::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer holding a whole IPv6 packet, checked as Linux's `ipv6_rcv` does: version
    /// 6, and 40 + payload length within the buffer (which may be longer: Ethernet pads). A
    /// payload length of 0 with a Hop-by-Hop header next is a jumbogram (RFC 2675) and is not
    /// checked against the buffer.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_checked_header(buffer)?;
        packet.check_payload_len()?;
        Ok(packet)
    }

    /// Wraps a buffer whose fixed header is readable (version 6, 40 octets), without looking at
    /// the payload length. (Linux's transmit hash does not check the version either.)
    pub fn new_checked_header(buffer: T) -> Result<Packet<T>> {
        let packet = Packet { buffer };
        packet.check_header()?;
        Ok(packet)
    }

    fn check_header(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        if got < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, got });
        }
        if self.version() != 6 {
            return Err(Error::Malformed("IPv6 version is not 6"));
        }
        Ok(())
    }

    fn check_payload_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        let needed = HEADER_LEN + usize::from(self.payload_len());
        if got < needed {
            return Err(Error::Truncated { needed, got });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn word0(&self) -> u32 {
        u32::from_be_bytes(array(self.bytes(), field::VER_TC_FLOW))
    }

    /// The IP version (6 for IPv6).
    pub fn version(&self) -> u8 {
        (self.word0() >> 28) as u8
    }

    /// The traffic class: DSCP (6 bits) and ECN (2 bits).
    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }

    /// The flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        self.word0() & MAX_FLOW_LABEL
    }

    /// The payload length in octets: everything after the fixed header, extension headers
    /// included. 0 in a jumbogram.
    pub fn payload_len(&self) -> u16 {
        be16(self.bytes(), field::PAYLOAD_LEN)
    }

    /// The header after the fixed header: an extension header or the upper-layer protocol.
    pub fn next_header(&self) -> Protocol {
        Protocol::from(self.bytes().get(field::NEXT_HEADER).copied().unwrap_or(0))
    }

    /// The hop limit (255 on every Neighbor Discovery message).
    pub fn hop_limit(&self) -> u8 {
        self.bytes().get(field::HOP_LIMIT).copied().unwrap_or(0)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array::<16>(self.bytes(), field::SRC))
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array::<16>(self.bytes(), field::DST))
    }

    /// True for a jumbogram (RFC 2675): payload length 0 and a Hop-by-Hop header next, whose
    /// Jumbo Payload option carries the real length (as Linux's BIG TCP sends).
    pub fn is_jumbogram(&self) -> bool {
        self.payload_len() == 0 && self.next_header() == Protocol::HopByHop
    }

    fn payload_range(&self) -> (usize, usize) {
        let len = self.bytes().len();
        let end = if self.is_jumbogram() {
            len
        } else {
            (HEADER_LEN + usize::from(self.payload_len())).min(len)
        };
        if end < HEADER_LEN {
            return (0, 0);
        }
        (HEADER_LEN, end)
    }

    /// The payload: the `payload_len` octets after the fixed header, clipped to the buffer
    /// (the rest of the buffer for a jumbogram).
    pub fn payload(&self) -> &[u8] {
        let (start, end) = self.payload_range();
        self.bytes().get(start..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// The payload, writable (same bounds as [`Packet::payload`]).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = self.payload_range();
        self.buffer.as_mut().get_mut(start..end).unwrap_or(&mut [])
    }
}

/// A decoded IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The header that follows.
    pub next_header: Protocol,
    /// Length of everything after the fixed header.
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label, at most [`MAX_FLOW_LABEL`].
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// A header with traffic class 0 and flow label 0.
    pub const fn new(
        src_addr: Ipv6Addr,
        dst_addr: Ipv6Addr,
        next_header: Protocol,
        payload_len: u16,
        hop_limit: u8,
    ) -> Ipv6Repr {
        Ipv6Repr {
            src_addr,
            dst_addr,
            next_header,
            payload_len,
            hop_limit,
            traffic_class: 0,
            flow_label: 0,
        }
    }

    /// Decodes the fixed header, with the checks of [`Packet::new_checked`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Ipv6Repr> {
        packet.check_header()?;
        packet.check_payload_len()?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Octets [`Ipv6Repr::emit`] writes: always [`HEADER_LEN`] (the payload follows).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header into the first [`HEADER_LEN`] octets of `packet`. Fails,
    /// writing nothing, if the buffer is too short or the flow label exceeds 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        if self.flow_label > MAX_FLOW_LABEL {
            return Err(Error::Malformed("IPv6 flow label above 20 bits"));
        }
        let b = packet.buffer.as_mut();
        let got = b.len();
        let b = b.get_mut(..HEADER_LEN).ok_or(Error::Truncated { needed: HEADER_LEN, got })?;
        let word0 = (6u32 << 28) | (u32::from(self.traffic_class) << 20) | self.flow_label;
        b[field::VER_TC_FLOW..field::VER_TC_FLOW + 4].copy_from_slice(&word0.to_be_bytes());
        b[field::PAYLOAD_LEN..field::PAYLOAD_LEN + 2]
            .copy_from_slice(&self.payload_len.to_be_bytes());
        b[field::NEXT_HEADER] = self.next_header.into();
        b[field::HOP_LIMIT] = self.hop_limit;
        b[field::SRC..field::SRC + 16].copy_from_slice(&self.src_addr.octets());
        b[field::DST..field::DST + 16].copy_from_slice(&self.dst_addr.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: "fe80::5054:ff:fe12:3456".parse().unwrap(),
            dst_addr: "ff02::1:ff00:1".parse().unwrap(),
            next_header: Protocol::Icmpv6,
            payload_len: 32,
            hop_limit: 255,
            traffic_class: 0xb8,
            flow_label: 0xabcde,
        }
    }

    #[test]
    fn round_trip_and_layout() {
        let repr = sample();
        let mut buf = [0u8; 80];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[..8], &[0x6b, 0x8a, 0xbc, 0xde, 0, 32, 58, 255]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.payload().len(), 32, "trailing octets are not payload");
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr);
        assert!(!p.is_jumbogram());
    }

    #[test]
    fn malformed_and_short() {
        let repr = sample();
        let mut buf = [0u8; 60];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err(),
            Error::Truncated { needed: 72, got: 60 }
        );
        let p = Packet::new_checked_header(&buf[..]).unwrap();
        assert_eq!(p.payload().len(), 20, "clipped to the buffer");
        assert!(Ipv6Repr::parse(&p).is_err());
        buf[0] = 0x4b;
        assert!(matches!(Packet::new_checked_header(&buf[..]), Err(Error::Malformed(_))));
        assert_eq!(
            Packet::new_checked(&buf[..39]).unwrap_err(),
            Error::Truncated { needed: 40, got: 39 }
        );
        let short = Packet::new_unchecked(&buf[..10]);
        assert_eq!(short.payload(), &[] as &[u8]);
        assert_eq!(short.dst_addr(), Ipv6Addr::UNSPECIFIED);
        let bad = Ipv6Repr { flow_label: 0x10_0000, ..repr };
        assert!(bad.emit(&mut Packet::new_unchecked(&mut [0u8; 40][..])).is_err());
    }

    #[test]
    fn jumbogram_payload_is_the_rest() {
        let repr = Ipv6Repr { payload_len: 0, next_header: Protocol::HopByHop, ..sample() };
        let mut buf = [0u8; 48];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.is_jumbogram());
        assert_eq!(p.payload().len(), 8);
    }

    #[test]
    fn multicast_helpers() {
        let target: Ipv6Addr = "2001:db8::5054:ff:fe12:3456".parse().unwrap();
        let snm = solicited_node(&target);
        assert_eq!(snm, "ff02::1:ff12:3456".parse::<Ipv6Addr>().unwrap());
        assert_eq!(multicast_mac(&snm), MacAddr([0x33, 0x33, 0xff, 0x12, 0x34, 0x56]));
        assert_eq!(multicast_mac(&ALL_NODES), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    }
}
