//! UDP headers (RFC 768), with the checksum over the IPv4 (RFC 768) or IPv6 (RFC 8200 8.1)
//! pseudo-header.
//!
//! The buffers these codecs take start at the source port: an IPv4 packet's
//! [`payload`](crate::ipv4::Packet::payload) or the octets after an IPv6 fixed header.
//!
//! ```text
//!   0 source port (2)   2 destination port (2)   4 length (2, header included)   6 checksum (2)
//!   8 payload
//! ```
//!
//! A checksum field of zero means "no checksum" over IPv4; over IPv6 the checksum is mandatory
//! (RFC 8200 8.1), and a computed checksum of zero is sent as `0xffff` in both.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ip::{be16, checksum, Protocol};
use crate::{Error, Result};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// The addresses of the IP header a UDP datagram travels in, which its checksum covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpPair {
    /// IPv4 source and destination.
    V4(Ipv4Addr, Ipv4Addr),
    /// IPv6 source and destination.
    V6(Ipv6Addr, Ipv6Addr),
}

impl IpPair {
    /// The pair of `src` and `dst`, or `None` if one is IPv4 and the other IPv6.
    pub const fn new(src: IpAddr, dst: IpAddr) -> Option<IpPair> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Some(IpPair::V4(s, d)),
            (IpAddr::V6(s), IpAddr::V6(d)) => Some(IpPair::V6(s, d)),
            _ => None,
        }
    }

    /// The source address.
    pub const fn src(&self) -> IpAddr {
        match *self {
            IpPair::V4(s, _) => IpAddr::V4(s),
            IpPair::V6(s, _) => IpAddr::V6(s),
        }
    }

    /// The destination address.
    pub const fn dst(&self) -> IpAddr {
        match *self {
            IpPair::V4(_, d) => IpAddr::V4(d),
            IpPair::V6(_, d) => IpAddr::V6(d),
        }
    }

    /// The sum of the pseudo-header for a UDP datagram of `len` octets (header included).
    fn pseudo_header(&self, len: u16) -> u16 {
        match self {
            IpPair::V4(src, dst) => checksum::pseudo_header_v4(src, dst, Protocol::Udp, len),
            IpPair::V6(src, dst) => {
                checksum::pseudo_header_v6(src, dst, Protocol::Udp, u32::from(len))
            }
        }
    }
}

/// A read/write view of a UDP datagram (starting at the source port).
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

    /// Wraps a buffer holding a whole datagram, checked as Linux's `__udp4_lib_rcv` does: the
    /// header present, the length field at least 8 and within the buffer (the buffer may be
    /// longer: IP's own length may cover padding).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet { buffer };
        let got = packet.buffer.as_ref().len();
        if got < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, got });
        }
        let len = usize::from(packet.len());
        if len < HEADER_LEN {
            return Err(Error::Malformed("UDP length shorter than the header"));
        }
        if got < len {
            return Err(Error::Truncated { needed: len, got });
        }
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        be16(self.bytes(), field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes(), field::DST_PORT)
    }

    /// The length field: header and payload, in octets.
    pub fn len(&self) -> u16 {
        be16(self.bytes(), field::LENGTH)
    }

    /// True if the length field is zero (a malformed datagram).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The checksum field as found (0: none was computed, allowed over IPv4 only).
    pub fn checksum(&self) -> u16 {
        be16(self.bytes(), field::CHECKSUM)
    }

    /// The datagram as the length field delimits it, clipped to the buffer.
    fn datagram(&self) -> &[u8] {
        let end = usize::from(self.len()).min(self.bytes().len());
        self.bytes().get(..end).unwrap_or(&[])
    }

    /// The payload: from octet 8 to the length field, clipped to the buffer. Empty if the
    /// length field is shorter than the header.
    pub fn payload(&self) -> &[u8] {
        self.datagram().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// True if the checksum is right for a datagram carried between `ips`: the datagram (as its
    /// length field delimits it, which must lie within the buffer) and the pseudo-header sum to
    /// `0xffff`. A zero checksum field passes over IPv4 ("none computed") and fails over IPv6.
    pub fn verify_checksum(&self, ips: &IpPair) -> bool {
        let len = self.len();
        if usize::from(len) < HEADER_LEN || usize::from(len) > self.bytes().len() {
            return false;
        }
        if self.checksum() == 0 {
            return matches!(ips, IpPair::V4(..));
        }
        checksum::combine(&[ips.pseudo_header(len), checksum::data(self.datagram())]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Computes and writes the checksum for a datagram carried between `ips`, over the octets
    /// the length field covers (does nothing if they are not all in the buffer). A computed
    /// zero is written as `0xffff`.
    pub fn fill_checksum(&mut self, ips: &IpPair) {
        let len = self.len();
        let Some(datagram) = self.buffer.as_mut().get_mut(..usize::from(len)) else { return };
        if datagram.len() < HEADER_LEN {
            return;
        }
        datagram[field::CHECKSUM..field::CHECKSUM + 2].fill(0);
        let sum = !checksum::combine(&[ips.pseudo_header(len), checksum::data(datagram)]);
        let sum = if sum == 0 { 0xffff } else { sum };
        datagram[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&sum.to_be_bytes());
    }

    /// The payload, writable (same bounds as [`Packet::payload`]).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len()).min(self.buffer.as_ref().len());
        self.buffer.as_mut().get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }
}

/// A decoded UDP header (the checksum is checked or filled through the view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length of the payload in octets (the length field minus 8).
    pub payload_len: u16,
}

impl UdpRepr {
    /// Decodes a UDP header: the checks of [`Packet::new_checked`], plus the checksum for a
    /// datagram carried between `ips` ([`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, ips: &IpPair) -> Result<UdpRepr> {
        let got = packet.bytes().len();
        if got < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, got });
        }
        let len = usize::from(packet.len());
        if len < HEADER_LEN {
            return Err(Error::Malformed("UDP length shorter than the header"));
        }
        if got < len {
            return Err(Error::Truncated { needed: len, got });
        }
        if !packet.verify_checksum(ips) {
            return Err(Error::Malformed("UDP checksum"));
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.len() - HEADER_LEN as u16,
        })
    }

    /// Octets [`UdpRepr::emit`] writes: always [`HEADER_LEN`] (the payload follows).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the first [`HEADER_LEN`] octets of `packet`, checksum zero; write
    /// the payload, then [`Packet::fill_checksum`]. Fails, writing nothing, if the buffer is
    /// too short or 8 + `payload_len` exceeds 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let len = u16::try_from(HEADER_LEN + usize::from(self.payload_len))
            .map_err(|_| Error::Malformed("UDP payload longer than 65527 octets"))?;
        let b = packet.buffer.as_mut();
        let got = b.len();
        let b = b.get_mut(..HEADER_LEN).ok_or(Error::Truncated { needed: HEADER_LEN, got })?;
        b[field::SRC_PORT..field::SRC_PORT + 2].copy_from_slice(&self.src_port.to_be_bytes());
        b[field::DST_PORT..field::DST_PORT + 2].copy_from_slice(&self.dst_port.to_be_bytes());
        b[field::LENGTH..field::LENGTH + 2].copy_from_slice(&len.to_be_bytes());
        b[field::CHECKSUM..field::CHECKSUM + 2].fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The UDP datagram of the ipv4 module's test: 10.0.0.1:5000 -> 10.0.0.2:53, 4 octets of
    // data, checksum 0 (none).
    const DATAGRAM: [u8; 12] =
        [0x13, 0x88, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef];
    const V4: IpPair = IpPair::V4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn header_and_checksum() {
        let p = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (5000, 53, 12));
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert!(p.verify_checksum(&V4), "no checksum is fine over IPv4");
        let v6 = IpPair::V6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        assert!(!p.verify_checksum(&v6), "but not over IPv6");
        let mut b = DATAGRAM;
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.fill_checksum(&V4);
        // By hand: pseudo-header 0a00+0001+0a00+0002+0011+000c = 0x1420; datagram
        // 1388+0035+000c+0000+dead+beef = 0x1_b165 -> 0xb166; 0x1420 + 0xb166 = 0xc586.
        assert_eq!(p.checksum(), !0xc586);
        assert!(p.verify_checksum(&V4));
        p.payload_mut()[0] ^= 1;
        assert!(!p.verify_checksum(&V4));
        let repr = UdpRepr::parse(&Packet::new_unchecked(&DATAGRAM[..]), &V4).unwrap();
        assert_eq!(repr, UdpRepr { src_port: 5000, dst_port: 53, payload_len: 4 });
    }

    #[test]
    fn lengths() {
        assert_eq!(
            Packet::new_checked(&DATAGRAM[..7]).unwrap_err(),
            Error::Truncated { needed: 8, got: 7 }
        );
        assert_eq!(
            Packet::new_checked(&DATAGRAM[..11]).unwrap_err(),
            Error::Truncated { needed: 12, got: 11 }
        );
        let mut b = DATAGRAM;
        b[5] = 7;
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Malformed(_))));
        assert_eq!(Packet::new_unchecked(&b[..]).payload(), &[] as &[u8]);
        // A longer buffer (padding) is fine: the payload ends at the length field.
        let mut padded = [0u8; 16];
        padded[..12].copy_from_slice(&DATAGRAM);
        assert_eq!(Packet::new_checked(&padded[..]).unwrap().payload().len(), 4);
        let big = UdpRepr { src_port: 1, dst_port: 2, payload_len: 65528 };
        assert!(big.emit(&mut Packet::new_unchecked(&mut [0u8; 8][..])).is_err());
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Find a payload word that makes the sum 0xffff, so the complement is zero.
        let mut b = [0u8; 10];
        let repr = UdpRepr { src_port: 0, dst_port: 0, payload_len: 2 };
        repr.emit(&mut Packet::new_unchecked(&mut b[..])).unwrap();
        let ips = IpPair::V4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED);
        // Sum without the payload: pseudo 0x11 + 0x0a, header 0x0a -> 0x25.
        b[8..10].copy_from_slice(&(0xffffu16 - 0x25).to_be_bytes());
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.fill_checksum(&ips);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum(&ips));
    }
}
