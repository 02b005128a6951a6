//! Peeks at the first octets of a transport header: the "ports" word of Linux's `layer3+4`
//! transmit hash and the TCP/UDP port numbers.
//!
//! Which four octets Linux takes (`proto_ports_offset` in `include/net/ip.h`, used by the flow
//! dissector for the bonding hash):
//!
//! | protocol | octets | meaning |
//! |---|---|---|
//! | TCP (RFC 9293), UDP (RFC 768), UDP-Lite (RFC 3828), SCTP (RFC 9260), DCCP (RFC 4340) | 0..4 | source port, destination port |
//! | ESP (RFC 4303) | 0..4 | Security Parameters Index |
//! | AH (RFC 4302) | 4..8 | Security Parameters Index |
//!
//! Any other protocol has no ports word. The slices these functions take start at the
//! transport header: an IPv4 packet's [`payload`](crate::ipv4::Packet::payload) or the
//! octets after an IPv6 fixed header.

use crate::ip::Protocol;

/// Where the ports word of `protocol` starts in its header, if it has one.
pub const fn ports_offset(protocol: Protocol) -> Option<usize> {
    match protocol {
        Protocol::Tcp
        | Protocol::Udp
        | Protocol::UdpLite
        | Protocol::Sctp
        | Protocol::Dccp
        | Protocol::Esp => Some(0),
        Protocol::Ah => Some(4),
        _ => None,
    }
}

/// The four "ports" octets of a transport header, in wire order, as Linux's `layer3+4` hash
/// reads them (it then loads them as a little-endian `u32`). `None` if `protocol` has no ports
/// word or `l4` is too short to hold it.
///
/// ```
/// use ubond_wire::{ip::Protocol, l4};
/// let udp = [0x13, 0x88, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
/// assert_eq!(l4::ports_word(Protocol::Udp, &udp), Some([0x13, 0x88, 0x00, 0x35]));
/// assert_eq!(l4::ports_word(Protocol::Icmp, &udp), None);
/// ```
pub fn ports_word(protocol: Protocol, l4: &[u8]) -> Option<[u8; 4]> {
    let at = ports_offset(protocol)?;
    let word: &[u8; 4] = l4.get(at..at + 4)?.try_into().ok()?;
    Some(*word)
}

/// Source and destination port numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ports {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

/// The source and destination ports of a TCP, UDP, UDP-Lite, SCTP or DCCP header (all of
/// which start with them). `None` for other protocols, or if `l4` is shorter than 4 octets.
pub fn ports(protocol: Protocol, l4: &[u8]) -> Option<Ports> {
    match protocol {
        Protocol::Tcp | Protocol::Udp | Protocol::UdpLite | Protocol::Sctp | Protocol::Dccp => {}
        _ => return None,
    }
    let w: [u8; 4] = l4.get(..4)?.try_into().ok()?;
    let [a, b, c, d] = w;
    Some(Ports { src_port: u16::from_be_bytes([a, b]), dst_port: u16::from_be_bytes([c, d]) })
}

/// The IPsec Security Parameters Index of an ESP or AH header, or `None`.
pub fn spi(protocol: Protocol, l4: &[u8]) -> Option<u32> {
    match protocol {
        Protocol::Esp | Protocol::Ah => ports_word(protocol, l4).map(u32::from_be_bytes),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_word_per_protocol() {
        let hdr = [1, 2, 3, 4, 5, 6, 7, 8];
        for p in [Protocol::Tcp, Protocol::Udp, Protocol::UdpLite, Protocol::Sctp, Protocol::Dccp] {
            assert_eq!(ports_word(p, &hdr), Some([1, 2, 3, 4]));
            assert_eq!(ports(p, &hdr), Some(Ports { src_port: 0x0102, dst_port: 0x0304 }));
        }
        assert_eq!(ports_word(Protocol::Esp, &hdr), Some([1, 2, 3, 4]));
        assert_eq!(ports_word(Protocol::Ah, &hdr), Some([5, 6, 7, 8]));
        assert_eq!(spi(Protocol::Ah, &hdr), Some(0x0506_0708));
        assert_eq!(spi(Protocol::Tcp, &hdr), None);
        assert_eq!(ports(Protocol::Esp, &hdr), None);
        for p in [Protocol::Icmp, Protocol::Icmpv6, Protocol::Gre, Protocol::Other(250)] {
            assert_eq!(ports_word(p, &hdr), None);
        }
    }

    #[test]
    fn short_headers() {
        assert_eq!(ports_word(Protocol::Tcp, &[1, 2, 3]), None);
        assert_eq!(ports_word(Protocol::Ah, &[0; 7]), None);
        assert_eq!(ports(Protocol::Udp, &[]), None);
        assert_eq!(spi(Protocol::Esp, &[0; 3]), None);
    }
}
