//! IPv4 headers (RFC 791 section 3.1), EtherType 0x0800.
//!
//! The buffers these codecs take start at the version octet, right after the Ethernet header.
//!
//! ```text
//!   0 version (4 bits) | IHL (4 bits, header length in 32-bit words, at least 5)
//!   1 type of service (DSCP 6 bits | ECN 2 bits)     2 total length (2)
//!   4 identification (2)    6 flags (3 bits: 0, DF, MF) | fragment offset (13 bits, 8-octet units)
//!   8 time to live   9 protocol   10 header checksum (2)
//!  12 source (4)    16 destination (4)    20 options (IHL × 4 − 20)    IHL × 4: payload
//! ```
//!
//! Two checks are offered. [`Packet::new_checked`] is Linux's `ip_rcv`: version 4, IHL ≥ 5,
//! the header and the total length within the buffer, the total length covering the header.
//! [`Packet::new_checked_header`] only asks for a well-formed, readable header and ignores the
//! total length; its [`Packet::payload`] is clipped to the buffer. [`Ipv4Repr::parse`] also
//! verifies the header checksum.
//!
//! Linux's transmit hash is laxer than either: `bond_flow_ip` (the non-encap policies) checks
//! neither the version nor IHL ≥ 5, and the generic flow dissector (the encap policies) checks
//! IHL ≥ 5 but not the version. Bit-exact hashing has to read such headers itself, through
//! [`Packet::new_unchecked`] or by hand.

use core::net::Ipv4Addr;

use crate::ip::{array, be16, checksum, Protocol};
use crate::{Error, Result};

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;
/// The largest fragment offset, in 8-octet units (13 bits).
pub const MAX_FRAG_OFFSET: u16 = 0x1fff;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;

/// A read/write view of an IPv4 packet (starting at the version octet).
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

    /// Wraps a buffer holding a whole IPv4 packet, checked as Linux's `ip_rcv` does: version 4,
    /// IHL ≥ 5, header within the buffer, header length ≤ total length ≤ buffer length (the
    /// buffer may be longer: Ethernet pads short frames).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_checked_header(buffer)?;
        packet.check_total_len()?;
        Ok(packet)
    }

    /// Wraps a buffer whose IPv4 header (options included) is readable, without looking at the
    /// total length: version 4, IHL ≥ 5, IHL × 4 octets present. (Linux's transmit hash checks
    /// less; see the module documentation.)
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
        if self.version() != 4 {
            return Err(Error::Malformed("IPv4 version is not 4"));
        }
        if self.ihl() < 5 {
            return Err(Error::Malformed("IPv4 header length (IHL) below 5"));
        }
        let needed = self.header_len();
        if got < needed {
            return Err(Error::Truncated { needed, got });
        }
        Ok(())
    }

    fn check_total_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        let total = usize::from(self.total_len());
        if total < self.header_len() {
            return Err(Error::Malformed("IPv4 total length shorter than the header"));
        }
        if got < total {
            return Err(Error::Truncated { needed: total, got });
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

    fn byte(&self, i: usize) -> u8 {
        self.bytes().get(i).copied().unwrap_or(0)
    }

    /// The IP version (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.byte(field::VER_IHL) >> 4
    }

    /// The Internet Header Length field, in 32-bit words (5 to 15).
    pub fn ihl(&self) -> u8 {
        self.byte(field::VER_IHL) & 0x0f
    }

    /// The header length in octets, options included: IHL × 4. Also the payload's offset.
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }

    /// The Type of Service octet: DSCP (6 bits) and ECN (2 bits).
    pub fn tos(&self) -> u8 {
        self.byte(field::TOS)
    }

    /// The Differentiated Services Code Point (RFC 2474).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// The Explicit Congestion Notification bits (RFC 3168).
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// The total length of the packet in octets, header included.
    pub fn total_len(&self) -> u16 {
        be16(self.bytes(), field::TOTAL_LEN)
    }

    /// The identification, shared by the fragments of one datagram.
    pub fn identification(&self) -> u16 {
        be16(self.bytes(), field::IDENT)
    }

    fn flags_frag(&self) -> u16 {
        be16(self.bytes(), field::FLAGS_FRAG)
    }

    /// The Don't Fragment flag.
    pub fn dont_fragment(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// The More Fragments flag.
    pub fn more_fragments(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// The reserved flag bit (must be zero; RFC 3514 notwithstanding).
    pub fn reserved_flag(&self) -> bool {
        self.flags_frag() & 0x8000 != 0
    }

    /// The fragment offset in 8-octet units (0 to 8191).
    pub fn frag_offset(&self) -> u16 {
        self.flags_frag() & MAX_FRAG_OFFSET
    }

    /// True if the packet is a fragment: More Fragments set or a non-zero offset (Linux's
    /// `ip_is_fragment`). The `layer3+4` hash ignores the ports of every fragment.
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MF | MAX_FRAG_OFFSET) != 0
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        self.byte(field::TTL)
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> Protocol {
        Protocol::from(self.byte(field::PROTOCOL))
    }

    /// The header checksum as found.
    pub fn checksum(&self) -> u16 {
        be16(self.bytes(), field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(self.bytes(), field::SRC))
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(self.bytes(), field::DST))
    }

    /// The header, options included (empty if IHL < 5 or the buffer ends before it).
    pub fn header(&self) -> &[u8] {
        let hl = self.header_len();
        if hl < HEADER_LEN {
            return &[];
        }
        self.bytes().get(..hl).unwrap_or(&[])
    }

    /// The options: the octets between the fixed header and the payload.
    pub fn options(&self) -> &[u8] {
        self.header().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The payload: from the end of the header (IHL × 4) to the total length, clipped to the
    /// buffer. Empty if IHL < 5, or if the total length is shorter than the header.
    pub fn payload(&self) -> &[u8] {
        let (start, end) = self.payload_range();
        self.bytes().get(start..end).unwrap_or(&[])
    }

    fn payload_range(&self) -> (usize, usize) {
        let start = self.header_len();
        let end = usize::from(self.total_len()).min(self.bytes().len());
        if start < HEADER_LEN || end < start {
            return (0, 0);
        }
        (start, end)
    }

    /// True if the header checksum is right (the header is readable and sums to `0xffff`).
    pub fn verify_checksum(&self) -> bool {
        let header = self.header();
        !header.is_empty() && checksum::data(header) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Recomputes and writes the header checksum (does nothing if the header is not readable).
    pub fn fill_checksum(&mut self) {
        let hl = self.header_len();
        if hl < HEADER_LEN {
            return;
        }
        if let Some(header) = self.buffer.as_mut().get_mut(..hl) {
            header[field::CHECKSUM..field::CHECKSUM + 2].fill(0);
            let sum = !checksum::data(header);
            header[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&sum.to_be_bytes());
        }
    }

    /// The payload, writable (same bounds as [`Packet::payload`]).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = self.payload_range();
        self.buffer.as_mut().get_mut(start..end).unwrap_or(&mut [])
    }
}

/// A decoded IPv4 header. Options are not kept: [`Ipv4Repr::emit`] writes a 20-octet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: Protocol,
    /// Length of the payload in octets (total length minus header length).
    pub payload_len: u16,
    /// Time to live.
    pub hop_limit: u8,
    /// Type of Service octet (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub identification: u16,
    /// Don't Fragment.
    pub dont_fragment: bool,
    /// More Fragments.
    pub more_fragments: bool,
    /// Fragment offset in 8-octet units, at most [`MAX_FRAG_OFFSET`].
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// A header for an unfragmented datagram with Don't Fragment set, TTL 64, TOS 0 and
    /// identification 0 (Linux's choice for DF datagrams).
    pub const fn new(
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
        protocol: Protocol,
        payload_len: u16,
    ) -> Ipv4Repr {
        Ipv4Repr {
            src_addr,
            dst_addr,
            protocol,
            payload_len,
            hop_limit: 64,
            tos: 0,
            identification: 0,
            dont_fragment: true,
            more_fragments: false,
            frag_offset: 0,
        }
    }

    /// Decodes an IPv4 header: the checks of [`Packet::new_checked`], plus the header
    /// checksum.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Ipv4Repr> {
        packet.check_header()?;
        packet.check_total_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Malformed("IPv4 header checksum"));
        }
        let payload_len = usize::from(packet.total_len()) - packet.header_len();
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: u16::try_from(payload_len).unwrap_or(0),
            hop_limit: packet.ttl(),
            tos: packet.tos(),
            identification: packet.identification(),
            dont_fragment: packet.dont_fragment(),
            more_fragments: packet.more_fragments(),
            frag_offset: packet.frag_offset(),
        })
    }

    /// Octets [`Ipv4Repr::emit`] writes: always [`HEADER_LEN`] (the payload follows).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header, with its checksum, into the first [`HEADER_LEN`] octets of
    /// `packet`. Fails, writing nothing, if the buffer is too short, if 20 + `payload_len`
    /// exceeds 65535, or if `frag_offset` exceeds [`MAX_FRAG_OFFSET`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let total_len = u16::try_from(HEADER_LEN + usize::from(self.payload_len))
            .map_err(|_| Error::Malformed("IPv4 payload longer than 65515 octets"))?;
        if self.frag_offset > MAX_FRAG_OFFSET {
            return Err(Error::Malformed("IPv4 fragment offset above 8191"));
        }
        let b = packet.buffer.as_mut();
        let got = b.len();
        let b = b.get_mut(..HEADER_LEN).ok_or(Error::Truncated { needed: HEADER_LEN, got })?;
        let flags = if self.dont_fragment { FLAG_DF } else { 0 }
            | if self.more_fragments { FLAG_MF } else { 0 }
            | self.frag_offset;
        b[field::VER_IHL] = 0x45;
        b[field::TOS] = self.tos;
        b[field::TOTAL_LEN..field::TOTAL_LEN + 2].copy_from_slice(&total_len.to_be_bytes());
        b[field::IDENT..field::IDENT + 2].copy_from_slice(&self.identification.to_be_bytes());
        b[field::FLAGS_FRAG..field::FLAGS_FRAG + 2].copy_from_slice(&flags.to_be_bytes());
        b[field::TTL] = self.hop_limit;
        b[field::PROTOCOL] = self.protocol.into();
        b[field::CHECKSUM..field::CHECKSUM + 2].fill(0);
        b[field::SRC..field::SRC + 4].copy_from_slice(&self.src_addr.octets());
        b[field::DST..field::DST + 4].copy_from_slice(&self.dst_addr.octets());
        let sum = !checksum::data(b);
        b[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A UDP datagram 10.0.0.1:5000 -> 10.0.0.2:53 with 4 octets of data (built by hand, UDP
    // checksum 0 = none), followed by 2 octets of Ethernet padding.
    const UDP: [u8; 34] = [
        0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x14, 0x97, // ..checksum
        10, 0, 0, 1, 10, 0, 0, 2, // addresses
        0x13, 0x88, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, // UDP header
        0xde, 0xad, 0xbe, 0xef, // data
        0x00, 0x00, // padding
    ];

    #[test]
    fn udp_datagram() {
        let p = Packet::new_checked(&UDP[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 32);
        assert_eq!(p.identification(), 0x1234);
        assert!(p.dont_fragment() && !p.more_fragments() && !p.is_fragment());
        assert_eq!(p.protocol(), Protocol::Udp);
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.payload().len(), 12, "padding is not payload");
        assert_eq!(p.options(), &[] as &[u8]);
        assert!(p.verify_checksum());
        let repr = Ipv4Repr::parse(&p).unwrap();
        assert_eq!(repr.payload_len, 12);
        assert_eq!(repr.identification, 0x1234);
        let mut out = UDP;
        out[..20].fill(0);
        repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, UDP);
    }

    #[test]
    fn options_and_fragments() {
        let mut b = [0u8; 28];
        b[0] = 0x46; // IHL 6: 4 octets of options
        b[2..4].copy_from_slice(&28u16.to_be_bytes());
        b[6..8].copy_from_slice(&0x0005u16.to_be_bytes()); // offset 5, MF clear
        b[9] = 6;
        b[20..24].copy_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload().len(), 4);
        assert!(p.is_fragment());
        assert_eq!(p.frag_offset(), 5);
        let repr = Ipv4Repr::parse(&p).unwrap();
        assert_eq!((repr.payload_len, repr.frag_offset, repr.more_fragments), (4, 5, false));
        // The first fragment: MF set, offset 0.
        b[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
        assert!(Packet::new_unchecked(&b[..]).is_fragment());
    }

    #[test]
    fn malformed_headers() {
        assert_eq!(
            Packet::new_checked(&UDP[..19]).unwrap_err(),
            Error::Truncated { needed: 20, got: 19 }
        );
        let mut b = UDP;
        b[0] = 0x65;
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Malformed(_))));
        b[0] = 0x44;
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Malformed(_))));
        let p = Packet::new_unchecked(&b[..]);
        assert_eq!(p.payload(), &[] as &[u8]);
        assert_eq!(p.header(), &[] as &[u8]);
        assert!(!p.verify_checksum());
        b[0] = 0x4f; // 60-octet header in a 34-octet buffer
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            Error::Truncated { needed: 60, got: 34 }
        );
        // Total length beyond the buffer: strict check fails, the header check passes.
        let mut b = UDP;
        b[2..4].copy_from_slice(&100u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            Error::Truncated { needed: 100, got: 34 }
        );
        let p = Packet::new_checked_header(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 14, "clipped to the buffer");
        assert!(Ipv4Repr::parse(&p).is_err());
        // Total length shorter than the header.
        b[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Malformed(_))));
        assert_eq!(Packet::new_unchecked(&b[..]).payload(), &[] as &[u8]);
        // A wrong checksum: the view accepts, the Repr refuses.
        let mut b = UDP;
        b[10] ^= 1;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap_err(), Error::Malformed("IPv4 header checksum"));
    }

    #[test]
    fn emit_limits() {
        let mut buf = [0u8; 20];
        let repr = Ipv4Repr::new(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST, Protocol::Tcp, 65515);
        assert!(repr.emit(&mut Packet::new_unchecked(&mut buf[..])).is_ok());
        let too_long = Ipv4Repr { payload_len: 65516, ..repr };
        assert!(too_long.emit(&mut Packet::new_unchecked(&mut buf[..])).is_err());
        let bad_offset = Ipv4Repr { frag_offset: 0x2000, ..repr };
        assert!(bad_offset.emit(&mut Packet::new_unchecked(&mut buf[..])).is_err());
        assert_eq!(
            repr.emit(&mut Packet::new_unchecked(&mut buf[..19])).unwrap_err(),
            Error::Truncated { needed: 20, got: 19 }
        );
    }
}
