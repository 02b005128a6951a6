//! What IPv4 and IPv6 share: protocol numbers (IANA "Assigned Internet Protocol Numbers", the
//! IPv4 Protocol field of RFC 791 and the IPv6 Next Header field of RFC 8200) and the Internet
//! checksum (RFC 1071) with the IPv4 (RFC 768, RFC 793) and IPv6 (RFC 8200 8.1) pseudo-headers.
//!
//! The headers themselves are in [`crate::ipv4`] and [`crate::ipv6`]; the first octets of the
//! transport header, which the `layer3+4` hash reads, in [`crate::l4`].

use core::fmt;

/// An IP protocol number / IPv6 Next Header value. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// 0: IPv6 Hop-by-Hop Options header.
    HopByHop,
    /// 1: ICMP for IPv4.
    Icmp,
    /// 2: IGMP.
    Igmp,
    /// 4: IPv4 encapsulated in IP.
    IpIp,
    /// 6: TCP.
    Tcp,
    /// 17: UDP.
    Udp,
    /// 33: DCCP.
    Dccp,
    /// 41: IPv6 encapsulated in IP.
    Ipv6,
    /// 43: IPv6 Routing header.
    Ipv6Route,
    /// 44: IPv6 Fragment header.
    Ipv6Frag,
    /// 47: GRE.
    Gre,
    /// 50: IPsec Encapsulating Security Payload.
    Esp,
    /// 51: IPsec Authentication Header.
    Ah,
    /// 58: ICMPv6.
    Icmpv6,
    /// 59: IPv6 "no next header".
    Ipv6NoNxt,
    /// 60: IPv6 Destination Options header.
    Ipv6Opts,
    /// 132: SCTP.
    Sctp,
    /// 136: UDP-Lite.
    UdpLite,
    /// Any other value.
    Other(u8),
}

impl From<u8> for Protocol {
    fn from(v: u8) -> Self {
        match v {
            0 => Protocol::HopByHop,
            1 => Protocol::Icmp,
            2 => Protocol::Igmp,
            4 => Protocol::IpIp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            33 => Protocol::Dccp,
            41 => Protocol::Ipv6,
            43 => Protocol::Ipv6Route,
            44 => Protocol::Ipv6Frag,
            47 => Protocol::Gre,
            50 => Protocol::Esp,
            51 => Protocol::Ah,
            58 => Protocol::Icmpv6,
            59 => Protocol::Ipv6NoNxt,
            60 => Protocol::Ipv6Opts,
            132 => Protocol::Sctp,
            136 => Protocol::UdpLite,
            other => Protocol::Other(other),
        }
    }
}

impl From<Protocol> for u8 {
    fn from(p: Protocol) -> u8 {
        match p {
            Protocol::HopByHop => 0,
            Protocol::Icmp => 1,
            Protocol::Igmp => 2,
            Protocol::IpIp => 4,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Dccp => 33,
            Protocol::Ipv6 => 41,
            Protocol::Ipv6Route => 43,
            Protocol::Ipv6Frag => 44,
            Protocol::Gre => 47,
            Protocol::Esp => 50,
            Protocol::Ah => 51,
            Protocol::Icmpv6 => 58,
            Protocol::Ipv6NoNxt => 59,
            Protocol::Ipv6Opts => 60,
            Protocol::Sctp => 132,
            Protocol::UdpLite => 136,
            Protocol::Other(v) => v,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u8::from(*self))
    }
}

/// The Internet checksum (RFC 1071): the 16-bit ones' complement of the ones' complement sum.
///
/// The functions here return *sums* (folded to 16 bits, not complemented), so that parts can
/// be added with [`combine`](checksum::combine). A checksum field holds `!sum` of everything
/// it covers with the field zeroed; a received packet is intact when the sum of everything,
/// checksum field included, is `0xffff`.
///
/// ```
/// use ubond_wire::ip::checksum;
/// let header = [0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
/// let field = !checksum::data(&header);
/// assert_eq!(field, 0x26d7);
/// ```
pub mod checksum {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::Protocol;

    fn fold(mut acc: u64) -> u16 {
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    /// The ones' complement sum of `data` read as big-endian 16-bit words, an odd last octet
    /// padded with zero.
    pub fn data(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        let mut words = data.chunks_exact(4);
        for w in &mut words {
            acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
        }
        let rest = words.remainder();
        let mut pairs = rest.chunks_exact(2);
        for p in &mut pairs {
            acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
        }
        if let [last] = pairs.remainder() {
            acc += u64::from(*last) << 8;
        }
        fold(acc)
    }

    /// The ones' complement sum of several sums.
    pub fn combine(sums: &[u16]) -> u16 {
        fold(sums.iter().map(|&s| u64::from(s)).sum())
    }

    /// The sum of the IPv4 pseudo-header that TCP, UDP and UDP-Lite checksums cover: source,
    /// destination, zero, protocol, and the transport length.
    pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: Protocol, len: u16) -> u16 {
        let (s, d) = (src.octets(), dst.octets());
        combine(&[data(&s), data(&d), u16::from(u8::from(protocol)), len])
    }

    /// The sum of the IPv6 pseudo-header (RFC 8200 8.1) that ICMPv6, TCP and UDP checksums
    /// cover: source, destination, the upper-layer packet length (32 bits), three zero octets,
    /// and the next header value.
    pub fn pseudo_header_v6(
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        next_header: Protocol,
        len: u32,
    ) -> u16 {
        combine(&[
            data(&src.octets()),
            data(&dst.octets()),
            data(&len.to_be_bytes()),
            u16::from(u8::from(next_header)),
        ])
    }
}

/// Big-endian u16 at `i`, zero past the end of `b`.
pub(crate) fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes(array(b, i))
}

/// `N` octets at `i`, zero-filled past the end of `b`.
pub(crate) fn array<const N: usize>(b: &[u8], i: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = b.get(i..) {
        for (o, s) in out.iter_mut().zip(src) {
            *o = *s;
        }
    }
    out
}

/// Writes `bytes` at `at` if they fit; reports whether they did.
pub(crate) fn put(b: &mut [u8], at: usize, bytes: &[u8]) -> bool {
    match b.get_mut(at..).and_then(|rest| rest.get_mut(..bytes.len())) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn protocol_numbers_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(Protocol::from(v)), v);
        }
        assert_eq!(Protocol::from(6), Protocol::Tcp);
        assert_eq!(Protocol::from(200), Protocol::Other(200));
    }

    #[test]
    fn checksum_sums() {
        // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(checksum::data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
        assert_eq!(checksum::data(&[0xab]), 0xab00);
        assert_eq!(checksum::data(&[]), 0);
        assert_eq!(checksum::combine(&[0xffff, 0x0001]), 0x0001);
        // Large inputs do not overflow.
        let big = [0xffu8; 300_000];
        assert_eq!(checksum::data(&big), 0xffff);
        let v4 = checksum::pseudo_header_v4(
            &Ipv4Addr::new(10, 0, 0, 1),
            &Ipv4Addr::new(10, 0, 0, 2),
            Protocol::Udp,
            8,
        );
        assert_eq!(v4, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 8);
        let v6 = checksum::pseudo_header_v6(
            &Ipv6Addr::LOCALHOST,
            &Ipv6Addr::LOCALHOST,
            Protocol::Icmpv6,
            24,
        );
        assert_eq!(v6, 1 + 1 + 24 + 58);
    }

    #[test]
    fn helpers_never_panic() {
        assert_eq!(be16(&[1], 0), 0x0100);
        assert_eq!(be16(&[1, 2], 5), 0);
        assert_eq!(array::<4>(&[1, 2, 3, 4, 5], 3), [4, 5, 0, 0]);
        let mut b = [0u8; 4];
        assert!(put(&mut b, 2, &[9, 9]));
        assert!(!put(&mut b, 3, &[9, 9]));
        assert!(!put(&mut b, usize::MAX, &[9]));
        assert_eq!(b, [0, 0, 9, 9]);
    }
}
