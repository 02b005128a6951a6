//! Ethernet II frames (IEEE 802.3 clause 3) with up to two VLAN tags (IEEE 802.1Q-2018 clause 9):
//! a C-VLAN tag (TPID 0x8100) or an S-VLAN tag (TPID 0x88a8), stacked as in 802.1ad ("QinQ").
//!
//! The buffers these codecs take start at the destination address; the frame check sequence is
//! not part of them (AF_PACKET, TAP and veth never show it).
//!
//! ```text
//!   0 destination (6)   6 source (6)
//!  12 EtherType or TPID (2)
//!     if a TPID (0x8100 or 0x88a8):  14 TCI (2) = PCP (3 bits) | DEI (1) | VID (12)
//!                                     16 EtherType or TPID (2)
//!        if a TPID again:             18 TCI (2)   20 EtherType (2)
//!  14, 18 or 22: payload
//! ```
//!
//! At most two tags are decoded (an S-tag and a C-tag, or two C-tags). The frame view stops
//! after the second tag and reports whatever follows as the EtherType, even a third TPID;
//! [`EthernetRepr::parse`] refuses such a frame. Linux's `__vlan_get_protocol` follows up to
//! `VLAN_MAX_DEPTH` (8) tags; a caller that must match it on deeper stacks can walk on from
//! [`Frame::payload`].

use core::fmt;

use crate::{Error, MacAddr, Result};

/// The IPv4 EtherType (RFC 894).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// The ARP EtherType (RFC 826).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// The IPv6 EtherType (RFC 2464).
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// The C-VLAN tag protocol identifier (IEEE 802.1Q).
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// The S-VLAN tag protocol identifier (IEEE 802.1ad, "QinQ").
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// The Slow Protocols EtherType (LACP, Marker): the same value as [`crate::slow::ETHERTYPE`].
pub const ETHERTYPE_SLOW: u16 = crate::slow::ETHERTYPE;

/// Length of an untagged Ethernet II header: two addresses and an EtherType.
pub const HEADER_LEN: usize = 14;
/// Length of one VLAN tag (TPID and TCI).
pub const TAG_LEN: usize = 4;
/// The most tags this codec decodes.
pub const MAX_TAGS: usize = 2;

mod field {
    pub const DST: usize = 0;
    pub const SRC: usize = 6;
    pub const ETHERTYPE: usize = 12;
}

/// An EtherType: the protocol of the payload. Unknown values (and 802.3 length fields, which
/// are below 0x0600) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EtherType {
    /// 0x0800: IPv4.
    Ipv4,
    /// 0x0806: ARP.
    Arp,
    /// 0x86dd: IPv6.
    Ipv6,
    /// 0x8100: an IEEE 802.1Q C-VLAN tag follows.
    Vlan,
    /// 0x88a8: an IEEE 802.1ad S-VLAN tag follows.
    QinQ,
    /// 0x8809: Slow Protocols (LACP, Marker).
    Slow,
    /// Any other value.
    Other(u16),
}

impl EtherType {
    /// True for the two tag protocol identifiers this codec decodes (0x8100, 0x88a8), which is
    /// Linux's `eth_type_vlan`.
    pub const fn is_vlan_tpid(self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::QinQ)
    }

    /// The value as a number.
    pub const fn to_u16(self) -> u16 {
        match self {
            EtherType::Ipv4 => ETHERTYPE_IPV4,
            EtherType::Arp => ETHERTYPE_ARP,
            EtherType::Ipv6 => ETHERTYPE_IPV6,
            EtherType::Vlan => ETHERTYPE_VLAN,
            EtherType::QinQ => ETHERTYPE_QINQ,
            EtherType::Slow => ETHERTYPE_SLOW,
            EtherType::Other(v) => v,
        }
    }

    /// The variant for a number (the inverse of [`EtherType::to_u16`]).
    pub const fn from_u16(v: u16) -> EtherType {
        match v {
            ETHERTYPE_IPV4 => EtherType::Ipv4,
            ETHERTYPE_ARP => EtherType::Arp,
            ETHERTYPE_IPV6 => EtherType::Ipv6,
            ETHERTYPE_VLAN => EtherType::Vlan,
            ETHERTYPE_QINQ => EtherType::QinQ,
            ETHERTYPE_SLOW => EtherType::Slow,
            other => EtherType::Other(other),
        }
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        EtherType::from_u16(v)
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        t.to_u16()
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04x}", self.to_u16())
    }
}

/// A VLAN Tag Control Information field (IEEE 802.1Q 9.6): PCP, DEI and VID in 16 bits.
///
/// The whole 16-bit value is what Linux's `vlan+srcmac` hash uses, so it is kept as is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tci(pub u16);

impl Tci {
    /// A TCI from its parts. Bits beyond the field widths are dropped (PCP is 3 bits, VID 12).
    pub const fn new(pcp: u8, dei: bool, vid: u16) -> Tci {
        Tci(((pcp as u16 & 0x7) << 13) | ((dei as u16) << 12) | (vid & 0x0fff))
    }

    /// Priority Code Point, 0..=7.
    pub const fn pcp(self) -> u8 {
        (self.0 >> 13) as u8
    }

    /// Drop Eligible Indicator.
    pub const fn dei(self) -> bool {
        self.0 & 0x1000 != 0
    }

    /// VLAN identifier, 0..=4095 (0 means "priority tag only", 4095 is reserved).
    pub const fn vid(self) -> u16 {
        self.0 & 0x0fff
    }
}

impl fmt::Debug for Tci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tci(vid {} pcp {} dei {})", self.vid(), self.pcp(), u8::from(self.dei()))
    }
}

/// One VLAN tag: which kind (its TPID) and its TCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// The tag protocol identifier: [`EtherType::Vlan`] (C-tag) or [`EtherType::QinQ`]
    /// (S-tag). [`EthernetRepr::emit`] refuses anything else.
    pub tpid: EtherType,
    /// Priority, drop eligibility and VLAN ID.
    pub tci: Tci,
}

impl VlanTag {
    /// An 802.1Q C-VLAN tag (TPID 0x8100) with priority 0 for `vid`.
    pub const fn c_tag(vid: u16) -> VlanTag {
        VlanTag { tpid: EtherType::Vlan, tci: Tci::new(0, false, vid) }
    }

    /// An 802.1ad S-VLAN tag (TPID 0x88a8) with priority 0 for `vid`.
    pub const fn s_tag(vid: u16) -> VlanTag {
        VlanTag { tpid: EtherType::QinQ, tci: Tci::new(0, false, vid) }
    }
}

/// A read/write view of an Ethernet II frame (starting at the destination address).
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it; accessors still never panic, but read zeros (and
    /// empty slices) past its end. Prefer [`Frame::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer that holds the whole header, tags included: 14 octets, plus 4 for each
    /// VLAN tag announced (up to two).
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Frame { buffer };
        let got = frame.buffer.as_ref().len();
        // Check the untagged header first: the tag count reads byte 12 and 16.
        if got < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, got });
        }
        let needed = frame.header_len();
        if got < needed {
            return Err(Error::Truncated { needed, got });
        }
        Ok(frame)
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

    fn mac_at(&self, i: usize) -> MacAddr {
        self.buffer.as_ref().get(i..i + 6).and_then(MacAddr::from_slice).unwrap_or_default()
    }

    /// The destination address.
    pub fn dst_addr(&self) -> MacAddr {
        self.mac_at(field::DST)
    }

    /// The source address.
    pub fn src_addr(&self) -> MacAddr {
        self.mac_at(field::SRC)
    }

    /// How many VLAN tags the frame carries (0, 1 or 2): the tags whose TPID is 0x8100 or
    /// 0x88a8, counted from the outside, stopping at two.
    pub fn tag_count(&self) -> usize {
        let mut n = 0;
        while n < MAX_TAGS
            && EtherType::from(self.u16_at(field::ETHERTYPE + n * TAG_LEN)).is_vlan_tpid()
        {
            n += 1;
        }
        n
    }

    /// The `index`th VLAN tag from the outside (0 = outer, 1 = inner), if the frame has it.
    pub fn tag(&self, index: usize) -> Option<VlanTag> {
        if index >= self.tag_count() {
            return None;
        }
        let at = field::ETHERTYPE + index * TAG_LEN;
        Some(VlanTag { tpid: EtherType::from(self.u16_at(at)), tci: Tci(self.u16_at(at + 2)) })
    }

    /// The outermost VLAN tag, if any.
    pub fn outer_tag(&self) -> Option<VlanTag> {
        self.tag(0)
    }

    /// The second VLAN tag (the C-tag of a QinQ frame), if any.
    pub fn inner_tag(&self) -> Option<VlanTag> {
        self.tag(1)
    }

    /// The EtherType of the payload, after the tags. A third TPID is reported as such.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(self.u16_at(field::ETHERTYPE + self.tag_count() * TAG_LEN))
    }

    /// The EtherType field right after the source address: the frame's EtherType if untagged,
    /// the outer TPID otherwise (see [`Frame::ethertype`] for the payload's).
    pub fn outer_ethertype(&self) -> EtherType {
        EtherType::from(self.u16_at(field::ETHERTYPE))
    }

    /// Octets before the payload: 14, 18 or 22. This is the payload's offset in the buffer.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.tag_count() * TAG_LEN
    }

    /// The payload: everything after the header (padding included; Ethernet has no length).
    /// Empty if the buffer ends before the payload.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    fn set_mac_at(&mut self, i: usize, addr: MacAddr) {
        if let Some(b) = self.buffer.as_mut().get_mut(i..i + 6) {
            b.copy_from_slice(&addr.0);
        }
    }

    /// Sets the destination address (does nothing if the buffer is too short for it).
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.set_mac_at(field::DST, addr);
    }

    /// Sets the source address (does nothing if the buffer is too short for it); balance-tlb
    /// and balance-alb rewrite it per port.
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.set_mac_at(field::SRC, addr);
    }

    /// The payload, writable. Empty if the buffer ends before the payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        self.buffer.as_mut().get_mut(start..).unwrap_or(&mut [])
    }
}

/// A decoded Ethernet II header: addresses, up to two VLAN tags, and the EtherType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst_addr: MacAddr,
    /// Source address.
    pub src_addr: MacAddr,
    /// The outermost VLAN tag (an S-tag in a QinQ frame), if any.
    pub outer_tag: Option<VlanTag>,
    /// The second tag, if any; only valid together with [`EthernetRepr::outer_tag`].
    pub inner_tag: Option<VlanTag>,
    /// The payload's EtherType. Never a VLAN TPID: tags go in the tag fields.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Decodes the header of a frame. Fails if the buffer is shorter than its header, or if it
    /// carries more than two VLAN tags.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<EthernetRepr> {
        let got = frame.buffer.as_ref().len();
        let needed = frame.header_len();
        if got < needed {
            return Err(Error::Truncated { needed, got });
        }
        let ethertype = frame.ethertype();
        if ethertype.is_vlan_tpid() {
            return Err(Error::Unrecognized("more than two VLAN tags"));
        }
        Ok(EthernetRepr {
            dst_addr: frame.dst_addr(),
            src_addr: frame.src_addr(),
            outer_tag: frame.outer_tag(),
            inner_tag: frame.inner_tag(),
            ethertype,
        })
    }

    /// How many tags [`EthernetRepr::emit`] writes.
    pub const fn tag_count(&self) -> usize {
        match (self.outer_tag, self.inner_tag) {
            (None, _) => 0,
            (Some(_), None) => 1,
            (Some(_), Some(_)) => 2,
        }
    }

    /// Octets [`EthernetRepr::emit`] writes: 14, 18 or 22 (the header; the payload follows).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.tag_count() * TAG_LEN
    }

    /// Writes the header into the first [`EthernetRepr::buffer_len`] octets of `frame`.
    ///
    /// Fails, writing nothing, if the buffer is too short, if a tag's TPID is not 0x8100 or
    /// 0x88a8, if `inner_tag` is set without `outer_tag`, or if `ethertype` is a TPID (any of
    /// which would emit a frame that does not parse back to `self`).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) -> Result<()> {
        if self.inner_tag.is_some() && self.outer_tag.is_none() {
            return Err(Error::Malformed("inner VLAN tag without an outer tag"));
        }
        if self.ethertype.is_vlan_tpid() {
            return Err(Error::Malformed("EtherType is a VLAN TPID; use the tag fields"));
        }
        let tags = [self.outer_tag, self.inner_tag];
        if tags.iter().flatten().any(|t| !t.tpid.is_vlan_tpid()) {
            return Err(Error::Malformed("VLAN tag TPID is not 0x8100 or 0x88a8"));
        }
        let needed = self.buffer_len();
        let b = frame.buffer.as_mut();
        let got = b.len();
        let b = b.get_mut(..needed).ok_or(Error::Truncated { needed, got })?;
        b[field::DST..field::DST + 6].copy_from_slice(&self.dst_addr.0);
        b[field::SRC..field::SRC + 6].copy_from_slice(&self.src_addr.0);
        let mut at = field::ETHERTYPE;
        for tag in tags.iter().flatten() {
            b[at..at + 2].copy_from_slice(&tag.tpid.to_u16().to_be_bytes());
            b[at + 2..at + 4].copy_from_slice(&tag.tci.0.to_be_bytes());
            at += TAG_LEN;
        }
        b[at..at + 2].copy_from_slice(&self.ethertype.to_u16().to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: MacAddr = MacAddr([0x52, 0x54, 0, 0x0a, 0, 1]);
    const SRC: MacAddr = MacAddr([0x52, 0x54, 0, 0x0b, 0, 2]);

    #[test]
    fn untagged_ipv4_frame() {
        // The start of an untagged IPv4 frame.
        let bytes = [0x52, 0x54, 0, 0x0a, 0, 1, 0x52, 0x54, 0, 0x0b, 0, 2, 0x08, 0x00, 0x45, 0x00];
        let f = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(f.dst_addr(), DST);
        assert_eq!(f.src_addr(), SRC);
        assert_eq!(f.tag_count(), 0);
        assert_eq!(f.outer_tag(), None);
        assert_eq!(f.ethertype(), EtherType::Ipv4);
        assert_eq!(f.header_len(), 14);
        assert_eq!(f.payload(), &[0x45, 0x00]);
        let repr = EthernetRepr::parse(&f).unwrap();
        assert_eq!(repr.buffer_len(), 14);
        let mut out = [0u8; 14];
        repr.emit(&mut Frame::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, bytes[..14]);
    }

    #[test]
    fn qinq_frame_round_trip() {
        let repr = EthernetRepr {
            dst_addr: DST,
            src_addr: SRC,
            outer_tag: Some(VlanTag { tpid: EtherType::QinQ, tci: Tci::new(5, true, 100) }),
            inner_tag: Some(VlanTag::c_tag(42)),
            ethertype: EtherType::Ipv6,
        };
        let mut buf = [0xeeu8; 30];
        repr.emit(&mut Frame::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[12..22], &[0x88, 0xa8, 0xb0, 0x64, 0x81, 0x00, 0x00, 0x2a, 0x86, 0xdd]);
        let f = Frame::new_checked(&buf[..]).unwrap();
        assert_eq!(f.tag_count(), 2);
        assert_eq!(f.outer_ethertype(), EtherType::QinQ);
        let outer = f.outer_tag().unwrap();
        assert_eq!((outer.tci.pcp(), outer.tci.dei(), outer.tci.vid()), (5, true, 100));
        assert_eq!(f.inner_tag().unwrap().tci.vid(), 42);
        assert_eq!(f.header_len(), 22);
        assert_eq!(f.payload().len(), 8);
        assert_eq!(EthernetRepr::parse(&f).unwrap(), repr);
    }

    #[test]
    fn short_and_odd_frames() {
        assert_eq!(
            Frame::new_checked(&[0u8; 13][..]).unwrap_err(),
            Error::Truncated { needed: 14, got: 13 }
        );
        // A tag announced but cut off.
        let mut b = [0u8; 17];
        b[12..14].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(
            Frame::new_checked(&b[..]).unwrap_err(),
            Error::Truncated { needed: 18, got: 17 }
        );
        let f = Frame::new_unchecked(&b[..]);
        assert_eq!(f.payload(), &[] as &[u8]);
        assert_eq!(f.ethertype(), EtherType::Other(0));
        // Three tags: the view stops at two, the Repr refuses.
        let mut b = [0u8; 26];
        for at in [12, 16, 20] {
            b[at..at + 2].copy_from_slice(&[0x81, 0x00]);
        }
        let f = Frame::new_checked(&b[..]).unwrap();
        assert_eq!(f.tag_count(), 2);
        assert_eq!(f.ethertype(), EtherType::Vlan);
        assert!(matches!(EthernetRepr::parse(&f), Err(Error::Unrecognized(_))));
        // An empty unchecked view reads zeros.
        let f = Frame::new_unchecked(&[][..]);
        assert_eq!(f.src_addr(), MacAddr::ZERO);
        assert!(EthernetRepr::parse(&f).is_err());
    }

    #[test]
    fn emit_refuses_unrepresentable_headers() {
        let base = EthernetRepr {
            dst_addr: DST,
            src_addr: SRC,
            outer_tag: None,
            inner_tag: None,
            ethertype: EtherType::Arp,
        };
        let mut buf = [0u8; 22];
        let mut f = Frame::new_unchecked(&mut buf[..]);
        let lone_inner = EthernetRepr { inner_tag: Some(VlanTag::c_tag(1)), ..base };
        assert!(lone_inner.emit(&mut f).is_err());
        let tpid_type = EthernetRepr { ethertype: EtherType::Vlan, ..base };
        assert!(tpid_type.emit(&mut f).is_err());
        let bad_tpid = EthernetRepr {
            outer_tag: Some(VlanTag { tpid: EtherType::Ipv4, tci: Tci(1) }),
            ..base
        };
        assert!(bad_tpid.emit(&mut f).is_err());
        let mut short = [0u8; 17];
        let tagged = EthernetRepr { outer_tag: Some(VlanTag::c_tag(7)), ..base };
        assert_eq!(
            tagged.emit(&mut Frame::new_unchecked(&mut short[..])).unwrap_err(),
            Error::Truncated { needed: 18, got: 17 }
        );
    }

    #[test]
    fn rewrite_source_in_place() {
        let mut buf = [0u8; 20];
        buf[12..14].copy_from_slice(&[0x08, 0x06]);
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        f.set_src_addr(SRC);
        f.set_dst_addr(MacAddr::BROADCAST);
        f.payload_mut()[0] = 9;
        assert_eq!(&buf[..12], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x0b, 0, 2]);
        assert_eq!(buf[14], 9);
    }

    #[test]
    fn tci_fields() {
        let t = Tci(0xffff);
        assert_eq!((t.pcp(), t.dei(), t.vid()), (7, true, 4095));
        assert_eq!(Tci::new(9, false, 0xffff), Tci(0x2fff)); // extra bits dropped
        assert_eq!(std::format!("{}", EtherType::Ipv6), "0x86dd");
        assert_eq!(EtherType::from(0x8809), EtherType::Slow);
    }
}
