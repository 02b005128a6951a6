//! The Address Resolution Protocol (RFC 826), EtherType 0x0806.
//!
//! The buffers these codecs take start at the hardware type, right after the Ethernet header.
//! The view shows any ARP packet (its address lengths come from the packet); the [`ArpRepr`]
//! decodes only ARP for Ethernet and IPv4, the one the bonding ARP monitor (`arp_validate`) and
//! balance-alb's receive load balancing read and write:
//!
//! ```text
//!   0 hardware type = 1 (2)   2 protocol type = 0x0800 (2)
//!   4 hardware length = 6     5 protocol length = 4       6 operation (2)
//!   8 sender hardware address (6)    14 sender protocol address (4)
//!  18 target hardware address (6)    24 target protocol address (4)    28 end
//! ```

use core::net::Ipv4Addr;

use crate::{Error, MacAddr, Result};

/// Hardware type for Ethernet (RFC 826; IANA ARP parameters).
pub const HTYPE_ETHERNET: u16 = 1;
/// Protocol type for IPv4: its EtherType.
pub const PTYPE_IPV4: u16 = crate::ethernet::ETHERTYPE_IPV4;
/// Length of an ARP packet for Ethernet and IPv4.
pub const ETHERNET_IPV4_LEN: usize = 28;
/// Length of the fixed part, before the addresses.
pub const FIXED_LEN: usize = 8;

mod field {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const ADDRESSES: usize = 8;
}

/// The ARP operation. Unknown values (RARP's 3 and 4, InARP's 8 and 9, ...) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: who has the target protocol address?
    Request,
    /// 2: the sender has the sender protocol address.
    Reply,
    /// Any other value.
    Other(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Self {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Other(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Other(v) => v,
        }
    }
}

/// A read/write view of an ARP packet (starting at the hardware type).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors still never panic, but read zeros (and
    /// empty slices, and `None`) past its end. Prefer [`Packet::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer that holds the fixed part and all four addresses, as long as the
    /// hardware and protocol lengths in the packet say. Trailing octets (Ethernet padding) are
    /// allowed.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet { buffer };
        let got = packet.buffer.as_ref().len();
        if got < FIXED_LEN {
            return Err(Error::Truncated { needed: FIXED_LEN, got });
        }
        let needed = packet.packet_len();
        if got < needed {
            return Err(Error::Truncated { needed, got });
        }
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    fn u16_at(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.byte(i), self.byte(i + 1)])
    }

    fn slice(&self, start: usize, len: usize) -> &[u8] {
        self.buffer.as_ref().get(start..start + len).unwrap_or(&[])
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(field::PTYPE)
    }

    /// Hardware address length in octets (6 for Ethernet).
    pub fn hardware_len(&self) -> u8 {
        self.byte(field::HLEN)
    }

    /// Protocol address length in octets (4 for IPv4).
    pub fn protocol_len(&self) -> u8 {
        self.byte(field::PLEN)
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        Operation::from(self.u16_at(field::OPER))
    }

    /// Octets of the packet as its address lengths say: 8 + 2 × (hardware + protocol length).
    pub fn packet_len(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// True if the packet is ARP for Ethernet and IPv4: hardware type 1, protocol 0x0800,
    /// lengths 6 and 4.
    pub fn is_ethernet_ipv4(&self) -> bool {
        self.hardware_type() == HTYPE_ETHERNET
            && self.protocol_type() == PTYPE_IPV4
            && self.hardware_len() == 6
            && self.protocol_len() == 4
    }

    fn hlen(&self) -> usize {
        usize::from(self.hardware_len())
    }

    fn plen(&self) -> usize {
        usize::from(self.protocol_len())
    }

    fn sha_at(&self) -> usize {
        field::ADDRESSES
    }

    fn spa_at(&self) -> usize {
        field::ADDRESSES + self.hlen()
    }

    fn tha_at(&self) -> usize {
        field::ADDRESSES + self.hlen() + self.plen()
    }

    fn tpa_at(&self) -> usize {
        field::ADDRESSES + 2 * self.hlen() + self.plen()
    }

    /// The sender hardware address, of any length (empty if the buffer ends before it).
    pub fn sender_hardware_addr(&self) -> &[u8] {
        self.slice(self.sha_at(), self.hlen())
    }

    /// The sender protocol address, of any length (empty if the buffer ends before it).
    pub fn sender_protocol_addr(&self) -> &[u8] {
        self.slice(self.spa_at(), self.plen())
    }

    /// The target hardware address, of any length (empty if the buffer ends before it).
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.slice(self.tha_at(), self.hlen())
    }

    /// The target protocol address, of any length (empty if the buffer ends before it).
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.slice(self.tpa_at(), self.plen())
    }

    fn mac(&self, bytes: &[u8]) -> Option<MacAddr> {
        if self.hlen() != 6 {
            return None;
        }
        MacAddr::from_slice(bytes)
    }

    fn ipv4(&self, bytes: &[u8]) -> Option<Ipv4Addr> {
        if self.plen() != 4 {
            return None;
        }
        let b: [u8; 4] = bytes.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// The sender hardware address as a MAC address, if it is 6 octets long.
    pub fn sender_mac(&self) -> Option<MacAddr> {
        self.mac(self.sender_hardware_addr())
    }

    /// The sender protocol address as an IPv4 address, if it is 4 octets long.
    pub fn sender_ip(&self) -> Option<Ipv4Addr> {
        self.ipv4(self.sender_protocol_addr())
    }

    /// The target hardware address as a MAC address, if it is 6 octets long.
    pub fn target_mac(&self) -> Option<MacAddr> {
        self.mac(self.target_hardware_addr())
    }

    /// The target protocol address as an IPv4 address, if it is 4 octets long.
    pub fn target_ip(&self) -> Option<Ipv4Addr> {
        self.ipv4(self.target_protocol_addr())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn write(&mut self, at: usize, want_len: usize, have_len: usize, bytes: &[u8]) -> Result<()> {
        if have_len != want_len {
            return Err(Error::Unrecognized("ARP address length differs from the value's"));
        }
        let b = self.buffer.as_mut();
        let got = b.len();
        let needed = at + bytes.len();
        let dst = b.get_mut(at..needed).ok_or(Error::Truncated { needed, got })?;
        dst.copy_from_slice(bytes);
        Ok(())
    }

    /// Sets the operation (does nothing if the buffer is too short for it).
    pub fn set_operation(&mut self, op: Operation) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::OPER..field::OPER + 2) {
            b.copy_from_slice(&u16::from(op).to_be_bytes());
        }
    }

    /// Overwrites the sender hardware address, as balance-alb does in the ARP replies it sends
    /// for its clients. Fails, writing nothing, unless the hardware length is 6 and the buffer
    /// holds the address.
    pub fn set_sender_mac(&mut self, addr: MacAddr) -> Result<()> {
        let (at, hlen) = (self.sha_at(), self.hlen());
        self.write(at, 6, hlen, &addr.0)
    }

    /// Overwrites the sender protocol address. Fails unless the protocol length is 4.
    pub fn set_sender_ip(&mut self, addr: Ipv4Addr) -> Result<()> {
        let (at, plen) = (self.spa_at(), self.plen());
        self.write(at, 4, plen, &addr.octets())
    }

    /// Overwrites the target hardware address. Fails unless the hardware length is 6.
    pub fn set_target_mac(&mut self, addr: MacAddr) -> Result<()> {
        let (at, hlen) = (self.tha_at(), self.hlen());
        self.write(at, 6, hlen, &addr.0)
    }

    /// Overwrites the target protocol address. Fails unless the protocol length is 4.
    pub fn set_target_ip(&mut self, addr: Ipv4Addr) -> Result<()> {
        let (at, plen) = (self.tpa_at(), self.plen());
        self.write(at, 4, plen, &addr.octets())
    }
}

/// A decoded ARP packet for Ethernet and IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply, or another operation.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Decodes an ARP packet for Ethernet and IPv4. Fails with [`Error::Unrecognized`] for any
    /// other hardware type, protocol type or address length, as Linux's ARP monitor ignores
    /// them.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<ArpRepr> {
        let got = packet.buffer.as_ref().len();
        if got < FIXED_LEN {
            return Err(Error::Truncated { needed: FIXED_LEN, got });
        }
        if !packet.is_ethernet_ipv4() {
            return Err(Error::Unrecognized("ARP is not for Ethernet (1, 6) and IPv4 (0x0800, 4)"));
        }
        let truncated = Error::Truncated { needed: ETHERNET_IPV4_LEN, got };
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_mac: packet.sender_mac().ok_or(truncated)?,
            sender_ip: packet.sender_ip().ok_or(truncated)?,
            target_mac: packet.target_mac().ok_or(truncated)?,
            target_ip: packet.target_ip().ok_or(truncated)?,
        })
    }

    /// An ARP request from `sender_mac`/`sender_ip` for `target_ip`, target hardware address
    /// zero: what the ARP monitor sends to each `arp_ip_target`.
    pub const fn request(sender_mac: MacAddr, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: Operation::Request,
            sender_mac,
            sender_ip,
            target_mac: MacAddr::ZERO,
            target_ip,
        }
    }

    /// A gratuitous ARP announcing that `ip` is at `mac`: a request whose sender and target
    /// protocol addresses are both `ip`, as Linux sends after a failover (`num_grat_arp`).
    pub const fn gratuitous(mac: MacAddr, ip: Ipv4Addr) -> Self {
        ArpRepr::request(mac, ip, ip)
    }

    /// True if sender and target protocol addresses are the same (a gratuitous ARP, or an
    /// address conflict probe's announcement).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// Octets [`ArpRepr::emit`] writes: always [`ETHERNET_IPV4_LEN`].
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet into the first [`ETHERNET_IPV4_LEN`] octets of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let b = packet.buffer.as_mut();
        let got = b.len();
        let b = b
            .get_mut(..ETHERNET_IPV4_LEN)
            .ok_or(Error::Truncated { needed: ETHERNET_IPV4_LEN, got })?;
        b[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[2..4].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
        b[4] = 6;
        b[5] = 4;
        b[6..8].copy_from_slice(&u16::from(self.operation).to_be_bytes());
        b[8..14].copy_from_slice(&self.sender_mac.0);
        b[14..18].copy_from_slice(&self.sender_ip.octets());
        b[18..24].copy_from_slice(&self.target_mac.0);
        b[24..28].copy_from_slice(&self.target_ip.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ARP request for 192.168.122.1 from 52:54:00:12:34:56 at 192.168.122.10 (built by
    // hand; the layout `tcpdump -xx arp` prints after the Ethernet header).
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // fixed part
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 192, 168, 122, 10, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 168, 122, 1, // target
    ];

    #[test]
    fn request_parse_and_emit() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert!(p.is_ethernet_ipv4());
        assert_eq!(p.packet_len(), 28);
        let repr = ArpRepr::parse(&p).unwrap();
        let expected = ArpRepr::request(
            MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            Ipv4Addr::new(192, 168, 122, 10),
            Ipv4Addr::new(192, 168, 122, 1),
        );
        assert_eq!(repr, expected);
        assert!(!repr.is_gratuitous());
        let mut out = [0u8; 28];
        repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, REQUEST);
    }

    #[test]
    fn rewrite_sender_mac_of_a_reply() {
        let mut buf = REQUEST;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_operation(Operation::Reply);
        p.set_sender_mac(MacAddr([2, 0, 0, 0, 0, 9])).unwrap();
        p.set_target_ip(Ipv4Addr::new(10, 0, 0, 1)).unwrap();
        let repr = ArpRepr::parse(&p).unwrap();
        assert_eq!(repr.operation, Operation::Reply);
        assert_eq!(repr.sender_mac, MacAddr([2, 0, 0, 0, 0, 9]));
        assert_eq!(repr.target_ip, Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn foreign_and_short_packets() {
        assert_eq!(
            Packet::new_checked(&REQUEST[..27]).unwrap_err(),
            Error::Truncated { needed: 28, got: 27 }
        );
        // InfiniBand: hardware length 20; the view follows the lengths, the Repr refuses.
        let mut ib = [0u8; 8 + 2 * (20 + 4)];
        ib[0..8].copy_from_slice(&[0x00, 0x20, 0x08, 0x00, 20, 4, 0x00, 0x02]);
        ib[28..32].copy_from_slice(&[10, 0, 0, 1]);
        let mut p = Packet::new_checked(&mut ib[..]).unwrap();
        assert!(!p.is_ethernet_ipv4());
        assert_eq!(p.sender_hardware_addr().len(), 20);
        assert_eq!(p.sender_mac(), None);
        assert_eq!(p.sender_ip(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(matches!(ArpRepr::parse(&p), Err(Error::Unrecognized(_))));
        assert!(p.set_sender_mac(MacAddr::ZERO).is_err());
        // Unchecked views of short buffers read nothing and write nothing.
        let mut short = [0x00u8, 0x01, 0x08, 0x00, 6, 4, 0, 1, 0x52];
        let mut p = Packet::new_unchecked(&mut short[..]);
        assert_eq!(p.sender_mac(), None);
        assert_eq!(p.target_protocol_addr(), &[] as &[u8]);
        assert!(ArpRepr::parse(&p).is_err());
        assert!(p.set_target_ip(Ipv4Addr::LOCALHOST).is_err());
        assert!(ArpRepr::parse(&Packet::new_unchecked(&[][..])).is_err());
    }

    #[test]
    fn gratuitous() {
        let g = ArpRepr::gratuitous(MacAddr([2, 0, 0, 0, 0, 1]), Ipv4Addr::new(10, 0, 0, 5));
        assert!(g.is_gratuitous());
        assert_eq!(g.operation, Operation::Request);
        assert_eq!(g.target_mac, MacAddr::ZERO);
        assert_eq!(u16::from(Operation::Other(3)), 3);
    }
}
