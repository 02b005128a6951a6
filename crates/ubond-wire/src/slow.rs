//! Slow Protocols (IEEE 802.3 Annex 57A, EtherType 0x8809): LACPDU and Marker PDUs.
//!
//! The buffers these codecs take start at the Slow Protocols **subtype** octet, that is, right
//! after the Ethernet header (and any VLAN tags, although LACPDUs are never tagged).
//!
//! Layout of an LACPDU (IEEE 802.1AX-2008 5.4.2.2, Figure 5-8), offsets from the subtype:
//!
//! ```text
//!   0 subtype = 1          1 version = 1
//!   2 TLV actor = 1        3 length = 20
//!   4 actor system priority (2)   6 actor system (6)   12 actor key (2)
//!  14 actor port priority (2)    16 actor port (2)     18 actor state (1)   19 reserved (3)
//!  22 TLV partner = 2     23 length = 20      24..42 partner info, same layout as the actor's
//!  42 TLV collector = 3   43 length = 16      44 collector max delay (2)    46 reserved (12)
//!  58 TLV terminator = 0  59 length = 0       60 reserved (50)             110 end
//! ```
//!
//! A version 2 LACPDU (802.1AX-2014 6.4.2) keeps the version 1 fields at the same offsets and
//! may carry further TLVs between the Collector TLV and the Terminator. As 802.1AX requires of a
//! version 1 receiver, we read the version 1 fields at their fixed offsets, keep the version
//! number, and expose the further TLVs through [`Packet::extension_tlvs`]; we do not validate
//! TLV types, lengths or reserved fields (802.1AX-2008 5.4.2.2, "not validated on receipt"), as
//! the Linux driver does not either.
//!
//! A Marker PDU (802.1AX-2008 5.5.3.3, Figure 5-17) is the same 110 octets:
//!
//! ```text
//!   0 subtype = 2          1 version = 1
//!   2 TLV 1 = Marker Information, 2 = Marker Response      3 length = 16
//!   4 requester port (2)   6 requester system (6)   12 requester transaction id (4)  16 pad (2)
//!  18 TLV terminator = 0  19 length = 0      20 reserved (90)        110 end
//! ```

use core::fmt;

use crate::{Error, MacAddr, Result};

/// The Slow Protocols EtherType.
pub const ETHERTYPE: u16 = 0x8809;
/// The Slow Protocols multicast destination address, `01:80:c2:00:00:02`.
pub const MULTICAST_ADDR: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
/// Length of an LACPDU or Marker PDU after the Ethernet header, in octets.
pub const PDU_LEN: usize = 110;
/// Length of a whole LACPDU frame: 14 octets of Ethernet header plus [`PDU_LEN`].
pub const FRAME_LEN: usize = 14 + PDU_LEN;

mod field {
    pub const SUBTYPE: usize = 0;
    pub const VERSION: usize = 1;
    pub const ACTOR_TLV: usize = 2;
    pub const ACTOR_INFO: usize = 4;
    pub const PARTNER_TLV: usize = 22;
    pub const PARTNER_INFO: usize = 24;
    pub const COLLECTOR_TLV: usize = 42;
    pub const COLLECTOR_MAX_DELAY: usize = 44;
    /// End of the Collector TLV: version 2 extension TLVs, or the Terminator, start here.
    pub const AFTER_COLLECTOR: usize = 58;
    pub const MARKER_TLV: usize = 2;
    pub const MARKER_INFO: usize = 4;
    pub const MARKER_TERMINATOR: usize = 18;
}

/// Information length of the Actor and Partner TLVs.
const PORT_INFO_TLV_LEN: u8 = 20;
/// Information length of the Collector TLV.
const COLLECTOR_TLV_LEN: u8 = 16;
/// Information length of the Marker TLVs.
const MARKER_TLV_LEN: u8 = 16;

/// The Slow Protocols subtype (IEEE 802.3 Table 57A-3). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subtype {
    /// 1: Link Aggregation Control Protocol.
    Lacp,
    /// 2: Link Aggregation Marker Protocol.
    Marker,
    /// Any other value (OAM is 3, OSSP 10, ...): not ours to decode.
    Other(u8),
}

impl From<u8> for Subtype {
    fn from(v: u8) -> Self {
        match v {
            1 => Subtype::Lacp,
            2 => Subtype::Marker,
            other => Subtype::Other(other),
        }
    }
}

impl From<Subtype> for u8 {
    fn from(s: Subtype) -> u8 {
        match s {
            Subtype::Lacp => 1,
            Subtype::Marker => 2,
            Subtype::Other(v) => v,
        }
    }
}

/// The eight bits of an LACP port state (802.1AX-2008 5.4.2.2 item m; Linux `AD_STATE_*`).
///
/// [`Display`](fmt::Display) prints the decimal value, as `/proc/net/bonding` does
/// (`port state: 63`); [`PortState::flags`] gives the bits as letters, as tshark does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortState(pub u8);

impl PortState {
    /// Bit 0: LACP_Activity, set = active LACP.
    pub const ACTIVITY: u8 = 0x01;
    /// Bit 1: LACP_Timeout, set = short timeout (fast rate asked of the partner).
    pub const TIMEOUT: u8 = 0x02;
    /// Bit 2: Aggregation, set = the link may be aggregated.
    pub const AGGREGATION: u8 = 0x04;
    /// Bit 3: Synchronization, set = the link is in the right aggregation group.
    pub const SYNCHRONIZATION: u8 = 0x08;
    /// Bit 4: Collecting.
    pub const COLLECTING: u8 = 0x10;
    /// Bit 5: Distributing.
    pub const DISTRIBUTING: u8 = 0x20;
    /// Bit 6: Defaulted, set = the partner information is the administrative default.
    pub const DEFAULTED: u8 = 0x40;
    /// Bit 7: Expired, set = the receive machine is in EXPIRED.
    pub const EXPIRED: u8 = 0x80;

    /// True if every bit of `mask` is set.
    pub const fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// A copy with the bits of `mask` set to `on`.
    #[must_use]
    pub const fn with(self, mask: u8, on: bool) -> PortState {
        if on {
            PortState(self.0 | mask)
        } else {
            PortState(self.0 & !mask)
        }
    }

    /// Sets or clears the bits of `mask`.
    pub fn set(&mut self, mask: u8, on: bool) {
        *self = self.with(mask, on);
    }

    /// The bits as eight letters, most significant first, `*` for a clear bit, as tshark prints
    /// them: Expired, deFaulted, Distributing, Collecting, Synchronization, aGgregation,
    /// Short timeout, Activity (so 63 is `**DCSGSA`).
    pub fn flags(self) -> [u8; 8] {
        const LETTERS: [u8; 8] = *b"EFDCSGSA";
        let mut out = [b'*'; 8];
        for (i, letter) in LETTERS.iter().enumerate() {
            if self.0 & (0x80 >> i) != 0 {
                out[i] = *letter;
            }
        }
        out
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = self.flags();
        let letters = core::str::from_utf8(&flags).unwrap_or("????????");
        write!(f, "PortState({} {letters})", self.0)
    }
}

/// The Actor or Partner information of an LACPDU: who the port is and what state it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortInfo {
    /// System priority (lower is more important).
    pub system_priority: u16,
    /// System identifier (a MAC address).
    pub system: MacAddr,
    /// Operational key.
    pub key: u16,
    /// Port priority (lower is more important).
    pub port_priority: u16,
    /// Port number.
    pub port: u16,
    /// Port state bits.
    pub state: PortState,
}

impl PortInfo {
    /// Octets of the information on the wire (excluding TLV type, length and reserved).
    const LEN: usize = 15;

    fn read(b: &[u8]) -> PortInfo {
        // Callers pass a slice of at least LEN bytes; `get` keeps this panic-free regardless.
        let u16_at = |i: usize| b.get(i..i + 2).map_or(0, |s| u16::from_be_bytes([s[0], s[1]]));
        PortInfo {
            system_priority: u16_at(0),
            system: MacAddr::from_slice(b.get(2..8).unwrap_or(&[0; 6])).unwrap_or_default(),
            key: u16_at(8),
            port_priority: u16_at(10),
            port: u16_at(12),
            state: PortState(b.get(14).copied().unwrap_or(0)),
        }
    }

    fn write(&self, b: &mut [u8]) {
        b[0..2].copy_from_slice(&self.system_priority.to_be_bytes());
        b[2..8].copy_from_slice(&self.system.0);
        b[8..10].copy_from_slice(&self.key.to_be_bytes());
        b[10..12].copy_from_slice(&self.port_priority.to_be_bytes());
        b[12..14].copy_from_slice(&self.port.to_be_bytes());
        b[14] = self.state.0;
    }
}

/// A TLV of a Slow Protocols PDU, as found by [`Packet::extension_tlvs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// TLV type.
    pub tlv_type: u8,
    /// The value octets (the TLV's length field counts the two header octets too).
    pub value: &'a [u8],
}

/// Iterator over the TLVs of an LACPDU that follow the Collector TLV, up to the Terminator.
#[derive(Debug, Clone)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        let (&tlv_type, after) = self.rest.split_first()?;
        let (&len, _) = after.split_first()?;
        let len = usize::from(len);
        if tlv_type == 0 || len < 2 || len > self.rest.len() {
            // Terminator, or a length that cannot be right: stop.
            self.rest = &[];
            return None;
        }
        let value = &self.rest[2..len];
        self.rest = &self.rest[len..];
        Some(Tlv { tlv_type, value })
    }
}

/// A read/write view of a Slow Protocols PDU (starting at the subtype octet).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors still never panic, but read zeros past its
    /// end. Prefer [`Packet::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer that holds at least [`PDU_LEN`] octets: the size of every LACPDU and
    /// Marker PDU, and what Linux requires before it looks at one (shorter PDUs are counted as
    /// illegal there).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let got = buffer.as_ref().len();
        if got < PDU_LEN {
            return Err(Error::Truncated { needed: PDU_LEN, got });
        }
        Ok(Packet { buffer })
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
        let b = self.buffer.as_ref();
        b.get(start..start + len).unwrap_or(&[])
    }

    /// The Slow Protocols subtype.
    pub fn subtype(&self) -> Subtype {
        Subtype::from(self.byte(field::SUBTYPE))
    }

    /// The version number (1 for 802.1AX-2008 LACP and for Marker, 2 for 802.1AX-2014 LACP).
    pub fn version(&self) -> u8 {
        self.byte(field::VERSION)
    }

    /// LACPDU: the Actor information.
    pub fn actor(&self) -> PortInfo {
        PortInfo::read(self.slice(field::ACTOR_INFO, PortInfo::LEN))
    }

    /// LACPDU: the Partner information.
    pub fn partner(&self) -> PortInfo {
        PortInfo::read(self.slice(field::PARTNER_INFO, PortInfo::LEN))
    }

    /// LACPDU: CollectorMaxDelay, in tens of microseconds.
    pub fn collector_max_delay(&self) -> u16 {
        self.u16_at(field::COLLECTOR_MAX_DELAY)
    }

    /// LACPDU: the TLVs between the Collector TLV and the Terminator. A version 1 LACPDU has
    /// none; a version 2 LACPDU may carry Port Algorithm, Port Conversation ID Digest and other
    /// TLVs here.
    pub fn extension_tlvs(&self) -> Tlvs<'_> {
        let b = self.buffer.as_ref();
        Tlvs { rest: b.get(field::AFTER_COLLECTOR..).unwrap_or(&[]) }
    }

    /// Marker PDU: the TLV type (1 = Marker Information, 2 = Marker Response).
    pub fn marker_tlv_type(&self) -> u8 {
        self.byte(field::MARKER_TLV)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}

/// A decoded LACPDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LacpduRepr {
    /// LACP version; we send 1 and accept any.
    pub version: u8,
    /// The sender's own information.
    pub actor: PortInfo,
    /// What the sender believes about us.
    pub partner: PortInfo,
    /// CollectorMaxDelay, in tens of microseconds.
    pub collector_max_delay: u16,
}

impl LacpduRepr {
    /// Decodes an LACPDU. Fails only if the PDU is not an LACPDU (wrong subtype); the view has
    /// already ensured its length.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<LacpduRepr> {
        if packet.buffer.as_ref().len() < PDU_LEN {
            return Err(Error::Truncated { needed: PDU_LEN, got: packet.buffer.as_ref().len() });
        }
        if packet.subtype() != Subtype::Lacp {
            return Err(Error::Unrecognized("Slow Protocols subtype is not LACP (1)"));
        }
        Ok(LacpduRepr {
            version: packet.version(),
            actor: packet.actor(),
            partner: packet.partner(),
            collector_max_delay: packet.collector_max_delay(),
        })
    }

    /// Octets [`LacpduRepr::emit`] writes: always [`PDU_LEN`] (extension TLVs are not emitted).
    pub const fn buffer_len(&self) -> usize {
        PDU_LEN
    }

    /// Writes the LACPDU into the first [`PDU_LEN`] octets of `packet`, reserved fields zeroed.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let b = packet.bytes_mut();
        let got = b.len();
        let b = b.get_mut(..PDU_LEN).ok_or(Error::Truncated { needed: PDU_LEN, got })?;
        b.fill(0);
        b[field::SUBTYPE] = Subtype::Lacp.into();
        b[field::VERSION] = self.version;
        b[field::ACTOR_TLV] = 1;
        b[field::ACTOR_TLV + 1] = PORT_INFO_TLV_LEN;
        self.actor.write(&mut b[field::ACTOR_INFO..field::ACTOR_INFO + PortInfo::LEN]);
        b[field::PARTNER_TLV] = 2;
        b[field::PARTNER_TLV + 1] = PORT_INFO_TLV_LEN;
        self.partner.write(&mut b[field::PARTNER_INFO..field::PARTNER_INFO + PortInfo::LEN]);
        b[field::COLLECTOR_TLV] = 3;
        b[field::COLLECTOR_TLV + 1] = COLLECTOR_TLV_LEN;
        b[field::COLLECTOR_MAX_DELAY..field::COLLECTOR_MAX_DELAY + 2]
            .copy_from_slice(&self.collector_max_delay.to_be_bytes());
        // Terminator TLV (type 0, length 0) and the 50 reserved octets are already zero.
        Ok(())
    }
}

/// Which Marker TLV a Marker PDU carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// 1: Marker Information, sent by a Marker Generator.
    Information,
    /// 2: Marker Response, sent back by a Marker Responder.
    Response,
    /// Any other TLV type: counted as unknown and dropped by receivers.
    Other(u8),
}

impl From<u8> for MarkerKind {
    fn from(v: u8) -> Self {
        match v {
            1 => MarkerKind::Information,
            2 => MarkerKind::Response,
            other => MarkerKind::Other(other),
        }
    }
}

impl From<MarkerKind> for u8 {
    fn from(k: MarkerKind) -> u8 {
        match k {
            MarkerKind::Information => 1,
            MarkerKind::Response => 2,
            MarkerKind::Other(v) => v,
        }
    }
}

/// A decoded Marker PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MarkerRepr {
    /// Marker version; 1.
    pub version: u8,
    /// Information or Response.
    pub kind: MarkerKind,
    /// The requester's port number.
    pub requester_port: u16,
    /// The requester's system identifier.
    pub requester_system: MacAddr,
    /// The requester's transaction identifier, echoed in the response.
    pub requester_transaction_id: u32,
}

impl MarkerRepr {
    /// Decodes a Marker PDU. Fails only if the subtype is not Marker (2).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<MarkerRepr> {
        if packet.buffer.as_ref().len() < PDU_LEN {
            return Err(Error::Truncated { needed: PDU_LEN, got: packet.buffer.as_ref().len() });
        }
        if packet.subtype() != Subtype::Marker {
            return Err(Error::Unrecognized("Slow Protocols subtype is not Marker (2)"));
        }
        let info = packet.slice(field::MARKER_INFO, 12);
        Ok(MarkerRepr {
            version: packet.version(),
            kind: MarkerKind::from(packet.marker_tlv_type()),
            requester_port: u16::from_be_bytes([info[0], info[1]]),
            requester_system: MacAddr::from_slice(&info[2..8]).unwrap_or_default(),
            requester_transaction_id: u32::from_be_bytes([info[8], info[9], info[10], info[11]]),
        })
    }

    /// The Marker Response a Marker Responder sends back for this Marker Information: the same
    /// fields with the TLV type changed (802.1AX-2008 5.5.3.4).
    pub fn response(&self) -> MarkerRepr {
        MarkerRepr { kind: MarkerKind::Response, ..*self }
    }

    /// Octets [`MarkerRepr::emit`] writes: always [`PDU_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PDU_LEN
    }

    /// Writes the Marker PDU into the first [`PDU_LEN`] octets of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let b = packet.bytes_mut();
        let got = b.len();
        let b = b.get_mut(..PDU_LEN).ok_or(Error::Truncated { needed: PDU_LEN, got })?;
        b.fill(0);
        b[field::SUBTYPE] = Subtype::Marker.into();
        b[field::VERSION] = self.version;
        b[field::MARKER_TLV] = self.kind.into();
        b[field::MARKER_TLV + 1] = MARKER_TLV_LEN;
        let info = &mut b[field::MARKER_INFO..field::MARKER_INFO + 12];
        info[0..2].copy_from_slice(&self.requester_port.to_be_bytes());
        info[2..8].copy_from_slice(&self.requester_system.0);
        info[8..12].copy_from_slice(&self.requester_transaction_id.to_be_bytes());
        // Pad, Terminator (0, 0) and the 90 reserved octets stay zero.
        debug_assert_eq!(b[field::MARKER_TERMINATOR], 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LacpduRepr {
        LacpduRepr {
            version: 1,
            actor: PortInfo {
                system_priority: 65535,
                system: MacAddr([0x52, 0x54, 0, 0x0a, 0, 0]),
                key: 9,
                port_priority: 255,
                port: 1,
                state: PortState(0x3f),
            },
            partner: PortInfo {
                system_priority: 65535,
                system: MacAddr([0x52, 0x54, 0, 0x0b, 0, 0]),
                key: 9,
                port_priority: 255,
                port: 2,
                state: PortState(0x3d),
            },
            collector_max_delay: 0,
        }
    }

    #[test]
    fn lacpdu_round_trip_and_layout() {
        let repr = sample();
        let mut buf = [0xAAu8; PDU_LEN];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[..4], &[1, 1, 1, 20]);
        assert_eq!(&buf[22..24], &[2, 20]);
        assert_eq!(&buf[42..44], &[3, 16]);
        assert_eq!(&buf[58..], &[0u8; 52][..]);
        assert_eq!(buf[18], 0x3f);
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(LacpduRepr::parse(&packet).unwrap(), repr);
        assert_eq!(packet.extension_tlvs().count(), 0);
    }

    #[test]
    fn short_and_foreign_pdus_are_errors_not_panics() {
        assert_eq!(
            Packet::new_checked(&[1u8, 1][..]).unwrap_err(),
            Error::Truncated { needed: PDU_LEN, got: 2 }
        );
        let mut buf = [0u8; PDU_LEN];
        buf[0] = 3; // OAM
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.subtype(), Subtype::Other(3));
        assert!(LacpduRepr::parse(&p).is_err());
        assert!(MarkerRepr::parse(&p).is_err());
        // An unchecked short view reads zeros, never panics.
        let short = Packet::new_unchecked(&[1u8][..]);
        assert_eq!(short.actor(), PortInfo::default());
        assert!(LacpduRepr::parse(&short).is_err());
    }

    #[test]
    fn version_2_keeps_version_and_exposes_extension_tlvs() {
        let mut buf = [0u8; 128];
        let repr = LacpduRepr { version: 2, ..sample() };
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        // Port Algorithm TLV (type 4, length 6) then a Terminator.
        buf[58..64].copy_from_slice(&[4, 6, 0x00, 0x80, 0xc2, 0x01]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        let parsed = LacpduRepr::parse(&p).unwrap();
        assert_eq!(parsed.version, 2);
        assert_eq!(parsed.actor, repr.actor);
        let tlvs: std::vec::Vec<_> = p.extension_tlvs().collect();
        assert_eq!(tlvs, [Tlv { tlv_type: 4, value: &[0x00, 0x80, 0xc2, 0x01] }]);
    }

    #[test]
    fn marker_response_echoes_information() {
        let info = MarkerRepr {
            version: 1,
            kind: MarkerKind::Information,
            requester_port: 2,
            requester_system: MacAddr([2, 0, 0, 0, 0, 1]),
            requester_transaction_id: 0xdead_beef,
        };
        let mut buf = [0u8; PDU_LEN];
        info.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[..4], &[2, 1, 1, 16]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        let parsed = MarkerRepr::parse(&p).unwrap();
        assert_eq!(parsed, info);
        assert_eq!(parsed.response().kind, MarkerKind::Response);
        assert_eq!(parsed.response().requester_transaction_id, 0xdead_beef);
    }

    #[test]
    fn port_state_flags_match_tshark() {
        assert_eq!(&PortState(63).flags(), b"**DCSGSA");
        assert_eq!(&PortState(0x47).flags(), b"*F***GSA");
        assert_eq!(std::format!("{}", PortState(61)), "61");
    }
}
