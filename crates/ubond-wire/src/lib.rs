//! Frame codecs for ubond.
//!
//! Every codec is a *view* plus a *`Repr`* (the smoltcp `wire/` convention):
//!
//! * a view such as [`slow::Packet<T: AsRef<[u8]>>`](slow::Packet) wraps a byte buffer, is checked
//!   once by `new_checked`, and then offers accessors that cannot panic;
//! * a `Repr` (for example [`slow::LacpduRepr`]) is the parsed, validated, owned-by-value meaning of
//!   the bytes: `Repr::parse(&view)` validates, `repr.emit(&mut view)` writes exactly
//!   `repr.buffer_len()` bytes.
//!
//! Unknown enum values (Slow Protocols subtypes, LACP versions, TLV types) are kept, not
//! rejected, so that a peer speaking a newer version of a protocol does not break us.
//!
//! The crate is `no_std`, allocates nothing, contains no `unsafe`, and never panics on any input:
//! malformed bytes give a [`Error`].
//!
//! The codecs, outermost first:
//!
//! * [`ethernet`]: Ethernet II frames with up to two 802.1Q/802.1ad VLAN tags, EtherTypes;
//! * [`slow`]: Slow Protocols PDUs, LACPDU and Marker (IEEE 802.1AX);
//! * [`arp`]: ARP for Ethernet and IPv4 (RFC 826), for the ARP monitor and balance-alb;
//! * [`ip`]: IP protocol numbers and the Internet checksum with its pseudo-headers;
//! * [`ipv4`] (RFC 791) and [`ipv6`] (RFC 8200): headers, with a header-only check as well as
//!   the strict ones of Linux's receive path;
//! * [`l4`]: the transport "ports" word of the `layer3+4` hash, TCP/UDP ports, IPsec SPIs;
//! * [`udp`]: UDP headers with their checksum (RFC 768);
//! * [`bfd`]: BFD Control packets (RFC 5880) and the UDP/IP frames that carry them on one link
//!   (RFC 5881 single hop, RFC 7130 micro-BFD on the members of a bond);
//! * [`icmp`]: ICMPv4 and ICMPv6 headers (echo identifiers, the packet inside an error), and
//!   IPv6 Neighbor Solicitation/Advertisement for the NS monitor and unsolicited NAs.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod arp;
pub mod bfd;
pub mod ethernet;
pub mod icmp;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod l4;
pub mod slow;
pub mod udp;

use core::fmt;

/// Why a buffer could not be decoded (or a `Repr` could not be emitted into it).
///
/// Errors carry no allocation; they say what was wrong with the bytes, which is all a receiver
/// needs to count and drop a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the structure needs.
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes the buffer has.
        got: usize,
    },
    /// A field holds a value the protocol does not allow (the name says which).
    Malformed(&'static str),
    /// The bytes are well formed but are not the protocol this codec decodes.
    Unrecognized(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { needed, got } => {
                write!(f, "truncated: need {needed} bytes, have {got}")
            }
            Error::Malformed(what) => write!(f, "malformed: {what}"),
            Error::Unrecognized(what) => write!(f, "not this protocol: {what}"),
        }
    }
}

impl core::error::Error for Error {}

/// A result of decoding.
pub type Result<T> = core::result::Result<T, Error>;

/// A 48-bit IEEE 802 MAC address, printed the kernel's way (`52:54:00:0a:00:00`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `00:00:00:00:00:00`.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// Copies a MAC address from the first six bytes of `bytes`, or `None` if it is shorter.
    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        bytes.get(..6)?.try_into().ok().map(MacAddr)
    }

    /// The address's bytes in wire order.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// True for group (multicast and broadcast) addresses: the I/G bit is set.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for `00:00:00:00:00:00`.
    pub const fn is_zero(&self) -> bool {
        u64::from_be_bytes([0, 0, self.0[0], self.0[1], self.0[2], self.0[3], self.0[4], self.0[5]])
            == 0
    }

    /// True for a unicast address that is not all zero: usable as a system or station address.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The error of parsing a MAC address from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseMacError;

impl fmt::Display for ParseMacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "expected a MAC address of six hex bytes separated by ':' (e.g. 02:00:00:00:00:01)",
        )
    }
}

impl core::error::Error for ParseMacError {}

impl core::str::FromStr for MacAddr {
    type Err = ParseMacError;

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-` separators), as `ip link` and sysfs accept.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(ParseMacError)?;
            if part.is_empty() || part.len() > 2 {
                return Err(ParseMacError);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| ParseMacError)?;
        }
        if parts.next().is_some() {
            return Err(ParseMacError);
        }
        Ok(MacAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_display_and_parse() {
        let m: MacAddr = "52:54:00:0a:00:00".parse().unwrap();
        assert_eq!(m.0, [0x52, 0x54, 0, 0x0a, 0, 0]);
        assert_eq!(std::format!("{m}"), "52:54:00:0a:00:00");
        assert!("52:54:00:0a:00".parse::<MacAddr>().is_err());
        assert!("52:54:00:0a:00:00:01".parse::<MacAddr>().is_err());
        assert!("52:54:00:0a:00:zz".parse::<MacAddr>().is_err());
        assert!(MacAddr::ZERO.is_zero() && !MacAddr::ZERO.is_unicast());
        assert!(MacAddr([1, 0x80, 0xc2, 0, 0, 2]).is_multicast());
    }
}
