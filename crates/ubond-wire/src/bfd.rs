//! Bidirectional Forwarding Detection: the BFD Control packet (RFC 5880 section 4), and the
//! UDP/IP/Ethernet frame that carries it on one link (RFC 5881 single hop, RFC 7130 micro-BFD
//! on the members of a link aggregation group).
//!
//! The buffers [`Packet`] and [`ControlRepr`] take start at the first octet of the BFD Control
//! packet: a UDP datagram's payload. [`FrameRepr`] and [`Encapsulation`] take whole Ethernet
//! frames.
//!
//! ```text
//!   0 version (3 bits) | diagnostic (5 bits)
//!   1 state (2 bits) | P | F | C | A | D | M        (Poll, Final, Control Plane Independent,
//!                                                   Authentication present, Demand, Multipoint)
//!   2 detect mult     3 length (the whole packet, authentication section included)
//!   4 my discriminator (4)     8 your discriminator (4)
//!  12 desired min TX interval (4, microseconds)   16 required min RX interval (4, microseconds)
//!  20 required min echo RX interval (4, microseconds)
//!  24 authentication section, if A is set: type (1), length (1, the whole section), then
//!       Simple Password (type 1, RFC 5880 4.2):      key ID (1), password (1 to 16)
//!       Keyed MD5 (2) / Meticulous Keyed MD5 (3):    key ID (1), reserved (1), sequence (4),
//!                                                    digest (16)          section length 24
//!       Keyed SHA1 (4) / Meticulous Keyed SHA1 (5):  key ID (1), reserved (1), sequence (4),
//!                                                    hash (20)            section length 28
//! ```
//!
//! Decoding is syntactic: [`Packet::new_checked`] and [`ControlRepr::parse`] refuse only what
//! cannot be read (a buffer shorter than the Length field says, a Length below the minimum,
//! an authentication section that does not fit or whose length its type does not allow). The
//! protocol checks of a receiver (RFC 5880 6.8.6: version 1, detect mult not zero, no
//! Multipoint bit, discriminators) belong to the session, which counts what it drops; so an
//! unknown version, diagnostic or authentication type is kept as found. The authentication
//! section is decoded and kept, not verified: that needs the session's keys.
//!
//! # The frame (RFC 5881, RFC 7130)
//!
//! A BFD Control packet for a single hop travels in UDP to port [`SINGLE_HOP_PORT`] (3784;
//! RFC 7130 micro-BFD uses [`MICRO_BFD_PORT`], 6784) from a source port in
//! [`SOURCE_PORT_MIN`]..=65535, over IPv4 with TTL 255 or IPv6 with hop limit 255 (RFC 5881
//! sections 4 and 5), in an untagged Ethernet II frame. Micro-BFD sends to the dedicated
//! multicast MAC [`MICRO_BFD_MAC`] until it knows the partner's (RFC 7130 section 2). We send with
//! DSCP CS6 (network control), as FRRouting's bfdd does; receivers ignore it.

use core::fmt;

use crate::ethernet::{self, EtherType, EthernetRepr, Frame};
use crate::ip::Protocol;
use crate::udp::{self, IpPair, UdpRepr};
use crate::{ipv4, ipv6, Error, MacAddr, Result};

/// The BFD protocol version this codec reads and writes.
pub const VERSION: u8 = 1;
/// Length of the mandatory section of a Control packet (no authentication).
pub const HEADER_LEN: usize = 24;
/// The smallest Length of a Control packet with the A bit set: the mandatory section plus an
/// authentication type and length.
pub const MIN_AUTH_LEN: usize = HEADER_LEN + 2;
/// The longest authentication section a Control packet can carry (its Length is one octet).
pub const MAX_AUTH_SECTION_LEN: usize = 255 - HEADER_LEN;
/// The UDP destination port of single-hop BFD Control packets (RFC 5881 section 4).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// The UDP destination port of micro-BFD Control packets (RFC 7130 section 2).
pub const MICRO_BFD_PORT: u16 = 6784;
/// The lowest UDP source port a BFD session may use (RFC 5881 section 4: 49152..=65535).
pub const SOURCE_PORT_MIN: u16 = 49152;
/// The TTL or hop limit of every single-hop BFD packet, sent and required on receipt (RFC 5881
/// section 5, the Generalized TTL Security Mechanism of RFC 5082).
pub const TTL: u8 = 255;
/// The destination MAC of micro-BFD packets while the partner's MAC is unknown (RFC 7130
/// section 2).
pub const MICRO_BFD_MAC: MacAddr = MacAddr([0x01, 0x00, 0x5e, 0x90, 0x00, 0x01]);
/// The IPv4 Type of Service / IPv6 traffic class we send: DSCP CS6, network control.
pub const TOS: u8 = 0xc0;
/// The longest frame [`FrameRepr::emit`] writes: Ethernet, IPv6, UDP, and a Control packet
/// with the longest authentication section.
pub const MAX_FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + udp::HEADER_LEN + 255;

mod field {
    pub const VERS_DIAG: usize = 0;
    pub const STA_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: usize = 4;
    pub const YOUR_DISCR: usize = 8;
    pub const DESIRED_MIN_TX: usize = 12;
    pub const REQUIRED_MIN_RX: usize = 16;
    pub const REQUIRED_MIN_ECHO_RX: usize = 20;
    pub const AUTH_TYPE: usize = 24;
    pub const AUTH_LEN: usize = 25;
}

const FLAG_P: u8 = 0x20;
const FLAG_F: u8 = 0x10;
const FLAG_C: u8 = 0x08;
const FLAG_A: u8 = 0x04;
const FLAG_D: u8 = 0x02;
const FLAG_M: u8 = 0x01;

/// A session state (RFC 5880 4.1, "Sta"). All four two-bit values are defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0: the session is held down by its administrator.
    AdminDown,
    /// 1: the session is down (or has just been created).
    Down,
    /// 2: the remote system is talking to us, the session is coming up.
    Init,
    /// 3: the session is up.
    Up,
}

impl State {
    /// The state of a two-bit value (the upper bits are ignored).
    pub const fn from_bits(v: u8) -> State {
        match v & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The two-bit value.
    pub const fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// The name as RFC 5880 and FRRouting write it, lower-cased (`admin down`, `down`, `init`,
    /// `up`).
    pub const fn name(self) -> &'static str {
        match self {
            State::AdminDown => "admin down",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A diagnostic code (RFC 5880 4.1, "Diag"): why the session last left Up. Unknown values are
/// kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    /// 0: No Diagnostic.
    NoDiagnostic,
    /// 1: Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9..=31: reserved for future use.
    Other(u8),
}

impl From<u8> for Diagnostic {
    fn from(v: u8) -> Self {
        match v {
            0 => Diagnostic::NoDiagnostic,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledSessionDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            other => Diagnostic::Other(other),
        }
    }
}

impl From<Diagnostic> for u8 {
    fn from(d: Diagnostic) -> u8 {
        match d {
            Diagnostic::NoDiagnostic => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledSessionDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Other(v) => v,
        }
    }
}

impl fmt::Display for Diagnostic {
    /// RFC 5880's wording, lower-cased as FRRouting prints it (`control detection time
    /// expired`); `reserved (N)` for the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Diagnostic::NoDiagnostic => "ok",
            Diagnostic::ControlDetectionTimeExpired => "control detection time expired",
            Diagnostic::EchoFunctionFailed => "echo function failed",
            Diagnostic::NeighborSignaledSessionDown => "neighbor signaled session down",
            Diagnostic::ForwardingPlaneReset => "forwarding plane reset",
            Diagnostic::PathDown => "path down",
            Diagnostic::ConcatenatedPathDown => "concatenated path down",
            Diagnostic::AdministrativelyDown => "administratively down",
            Diagnostic::ReverseConcatenatedPathDown => "reverse concatenated path down",
            Diagnostic::Other(v) => return write!(f, "reserved ({v})"),
        };
        f.write_str(s)
    }
}

/// Authentication types (RFC 5880 4.1, "Auth Type"). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 1: Simple Password.
    SimplePassword,
    /// 2: Keyed MD5.
    KeyedMd5,
    /// 3: Meticulous Keyed MD5.
    MeticulousKeyedMd5,
    /// 4: Keyed SHA1.
    KeyedSha1,
    /// 5: Meticulous Keyed SHA1.
    MeticulousKeyedSha1,
    /// 0 (reserved) and 6..=255.
    Other(u8),
}

impl From<u8> for AuthType {
    fn from(v: u8) -> Self {
        match v {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            other => AuthType::Other(other),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(t: AuthType) -> u8 {
        match t {
            AuthType::SimplePassword => 1,
            AuthType::KeyedMd5 => 2,
            AuthType::MeticulousKeyedMd5 => 3,
            AuthType::KeyedSha1 => 4,
            AuthType::MeticulousKeyedSha1 => 5,
            AuthType::Other(v) => v,
        }
    }
}

/// Up to `N` octets held inline (no allocation): a password, or the data of an authentication
/// section of an unknown type.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Octets<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Octets<N> {
    /// A copy of `bytes`, or `None` if they are more than `N` (or more than 255).
    pub fn new(bytes: &[u8]) -> Option<Octets<N>> {
        let len = u8::try_from(bytes.len()).ok()?;
        let mut out = [0u8; N];
        out.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Octets { len, bytes: out })
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> fmt::Debug for Octets<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A Simple Password: 1 to 16 octets (RFC 5880 4.2).
pub type Password = Octets<16>;
/// The data of an authentication section of an unknown type (after its type and length).
pub type AuthData = Octets<{ MAX_AUTH_SECTION_LEN - 2 }>;

/// A decoded authentication section (RFC 5880 4.2 to 4.4). Reserved octets are not kept
/// (written as zero).
// The crate allocates nothing, so a section of an unknown type is kept inline: its variant is
// as large as the longest section a packet can carry (229 octets of data).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Simple Password (type 1, RFC 5880 4.2).
    SimplePassword {
        /// Auth Key ID: which password of the session's key set.
        key_id: u8,
        /// The password, in the clear.
        password: Password,
    },
    /// Keyed MD5 (type 2) or Meticulous Keyed MD5 (type 3) (RFC 5880 4.3).
    KeyedMd5 {
        /// Type 3: the sequence number goes up with every packet.
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        sequence: u32,
        /// The MD5 digest (or the key, in the packet being digested).
        digest: [u8; 16],
    },
    /// Keyed SHA1 (type 4) or Meticulous Keyed SHA1 (type 5) (RFC 5880 4.4).
    KeyedSha1 {
        /// Type 5: the sequence number goes up with every packet.
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        sequence: u32,
        /// The SHA1 hash (or the key, in the packet being hashed).
        hash: [u8; 20],
    },
    /// Another type (0, reserved, or 6 and up), kept as found.
    Other {
        /// Auth Type.
        auth_type: u8,
        /// The octets after the type and length.
        data: AuthData,
    },
}

/// The Auth Len of a Keyed MD5 section.
const MD5_SECTION_LEN: usize = 24;
/// The Auth Len of a Keyed SHA1 section.
const SHA1_SECTION_LEN: usize = 28;

impl Auth {
    /// The Auth Type.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Auth::SimplePassword { .. } => AuthType::SimplePassword,
            Auth::KeyedMd5 { meticulous: false, .. } => AuthType::KeyedMd5,
            Auth::KeyedMd5 { meticulous: true, .. } => AuthType::MeticulousKeyedMd5,
            Auth::KeyedSha1 { meticulous: false, .. } => AuthType::KeyedSha1,
            Auth::KeyedSha1 { meticulous: true, .. } => AuthType::MeticulousKeyedSha1,
            Auth::Other { auth_type, .. } => AuthType::from(*auth_type),
        }
    }

    /// The Auth Len: octets of the whole section, type and length included.
    pub fn section_len(&self) -> usize {
        match self {
            Auth::SimplePassword { password, .. } => 3 + password.len(),
            Auth::KeyedMd5 { .. } => MD5_SECTION_LEN,
            Auth::KeyedSha1 { .. } => SHA1_SECTION_LEN,
            Auth::Other { data, .. } => 2 + data.len(),
        }
    }

    /// Decodes a whole authentication section (type and length included, exactly Auth Len
    /// octets).
    fn parse(section: &[u8]) -> Result<Auth> {
        let [auth_type, len, body @ ..] = section else {
            return Err(Error::Malformed("BFD Auth Len below 2"));
        };
        let (auth_type, len) = (*auth_type, *len);
        if usize::from(len) != section.len() {
            return Err(Error::Malformed("BFD Auth Len does not match the section"));
        }
        let u32_at = |i: usize| {
            body.get(i..i + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        };
        let key_id = body.first().copied().unwrap_or(0);
        match AuthType::from(auth_type) {
            AuthType::SimplePassword => {
                let password = body.get(1..).and_then(Password::new).filter(|p| !p.is_empty());
                let password = password
                    .ok_or(Error::Malformed("BFD Simple Password: Auth Len is not 4 to 19"))?;
                Ok(Auth::SimplePassword { key_id, password })
            }
            t @ (AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5) => {
                let digest: [u8; 16] = body
                    .get(6..)
                    .and_then(|d| d.try_into().ok())
                    .ok_or(Error::Malformed("BFD Keyed MD5: Auth Len is not 24"))?;
                let meticulous = t == AuthType::MeticulousKeyedMd5;
                Ok(Auth::KeyedMd5 { meticulous, key_id, sequence: u32_at(2), digest })
            }
            t @ (AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1) => {
                let hash: [u8; 20] = body
                    .get(6..)
                    .and_then(|d| d.try_into().ok())
                    .ok_or(Error::Malformed("BFD Keyed SHA1: Auth Len is not 28"))?;
                let meticulous = t == AuthType::MeticulousKeyedSha1;
                Ok(Auth::KeyedSha1 { meticulous, key_id, sequence: u32_at(2), hash })
            }
            AuthType::Other(auth_type) => {
                let data = AuthData::new(body)
                    .ok_or(Error::Malformed("BFD authentication section too long"))?;
                Ok(Auth::Other { auth_type, data })
            }
        }
    }

    /// Writes the section into `b`, which is exactly [`Auth::section_len`] octets.
    fn write(&self, b: &mut [u8]) {
        b.fill(0);
        b[0] = self.auth_type().into();
        b[1] = self.section_len() as u8;
        match self {
            Auth::SimplePassword { key_id, password } => {
                b[2] = *key_id;
                b[3..].copy_from_slice(password.as_bytes());
            }
            Auth::KeyedMd5 { key_id, sequence, digest: tail, .. } => {
                b[2] = *key_id;
                b[4..8].copy_from_slice(&sequence.to_be_bytes());
                b[8..].copy_from_slice(tail);
            }
            Auth::KeyedSha1 { key_id, sequence, hash: tail, .. } => {
                b[2] = *key_id;
                b[4..8].copy_from_slice(&sequence.to_be_bytes());
                b[8..].copy_from_slice(tail);
            }
            Auth::Other { data, .. } => b[2..].copy_from_slice(data.as_bytes()),
        }
    }
}

/// A read view of a BFD Control packet (starting at the version octet).
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

    /// Wraps a buffer holding a whole Control packet, with RFC 5880 6.8.6's length checks:
    /// the mandatory section present, the Length field at least 24 (26 with the A bit set) and
    /// no more than the buffer (the encapsulation's payload) holds.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    fn check_len(&self) -> Result<()> {
        let got = self.buffer.as_ref().len();
        if got < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, got });
        }
        let len = usize::from(self.length());
        if len < HEADER_LEN || (self.auth_present() && len < MIN_AUTH_LEN) {
            return Err(Error::Malformed("BFD Length below 24 (26 with authentication)"));
        }
        if got < len {
            return Err(Error::Truncated { needed: len, got });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    fn u32_at(&self, i: usize) -> u32 {
        u32::from_be_bytes([self.byte(i), self.byte(i + 1), self.byte(i + 2), self.byte(i + 3)])
    }

    /// The protocol version (1).
    pub fn version(&self) -> u8 {
        self.byte(field::VERS_DIAG) >> 5
    }

    /// The diagnostic code.
    pub fn diag(&self) -> Diagnostic {
        Diagnostic::from(self.byte(field::VERS_DIAG) & 0x1f)
    }

    /// The sender's session state.
    pub fn state(&self) -> State {
        State::from_bits(self.byte(field::STA_FLAGS) >> 6)
    }

    fn flag(&self, mask: u8) -> bool {
        self.byte(field::STA_FLAGS) & mask != 0
    }

    /// The Poll (P) bit: the sender asks for a packet with the Final bit.
    pub fn poll(&self) -> bool {
        self.flag(FLAG_P)
    }

    /// The Final (F) bit: the sender answers a Poll.
    pub fn final_(&self) -> bool {
        self.flag(FLAG_F)
    }

    /// The Control Plane Independent (C) bit.
    pub fn control_plane_independent(&self) -> bool {
        self.flag(FLAG_C)
    }

    /// The Authentication Present (A) bit.
    pub fn auth_present(&self) -> bool {
        self.flag(FLAG_A)
    }

    /// The Demand (D) bit.
    pub fn demand(&self) -> bool {
        self.flag(FLAG_D)
    }

    /// The Multipoint (M) bit, reserved: must be zero.
    pub fn multipoint(&self) -> bool {
        self.flag(FLAG_M)
    }

    /// Detect Mult: the sender's detection time multiplier.
    pub fn detect_mult(&self) -> u8 {
        self.byte(field::DETECT_MULT)
    }

    /// The Length field: octets of the whole packet.
    pub fn length(&self) -> u8 {
        self.byte(field::LENGTH)
    }

    /// My Discriminator: the sender's identifier of the session.
    pub fn my_discriminator(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }

    /// Your Discriminator: the receiver's identifier, as the sender knows it (0 if it does not).
    pub fn your_discriminator(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }

    /// Desired Min TX Interval, in microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }

    /// Required Min RX Interval, in microseconds (0: send no periodic packets).
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }

    /// Required Min Echo RX Interval, in microseconds (0: no Echo packets).
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }

    /// The Auth Type octet (0 if there is no authentication section).
    pub fn auth_type(&self) -> AuthType {
        if !self.auth_present() {
            return AuthType::Other(0);
        }
        AuthType::from(self.byte(field::AUTH_TYPE))
    }

    /// The authentication section, type and length included: Auth Len octets from octet 24,
    /// clipped to the Length field and the buffer. Empty if the A bit is clear.
    pub fn auth_section(&self) -> &[u8] {
        if !self.auth_present() {
            return &[];
        }
        let b = self.buffer.as_ref();
        let end = (HEADER_LEN + usize::from(self.byte(field::AUTH_LEN)))
            .min(usize::from(self.length()))
            .min(b.len());
        b.get(HEADER_LEN..end).unwrap_or(&[])
    }
}

/// A decoded BFD Control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlRepr {
    /// Version (3 bits); we send [`VERSION`].
    pub version: u8,
    /// Diagnostic (5 bits).
    pub diag: Diagnostic,
    /// The sender's session state.
    pub state: State,
    /// Poll (P).
    pub poll: bool,
    /// Final (F).
    pub final_: bool,
    /// Control Plane Independent (C).
    pub control_plane_independent: bool,
    /// Demand (D).
    pub demand: bool,
    /// Multipoint (M).
    pub multipoint: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, microseconds.
    pub required_min_echo_rx: u32,
    /// The authentication section; `Some` exactly when the A bit is set.
    pub auth: Option<Auth>,
}

impl ControlRepr {
    /// Decodes a Control packet: the length checks of [`Packet::new_checked`], and the
    /// authentication section, which must fit in the Length and have a length its type allows.
    /// Octets past the authentication section (up to the Length) are ignored.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<ControlRepr> {
        packet.check_len()?;
        let auth = if packet.auth_present() {
            let section_len = usize::from(packet.byte(field::AUTH_LEN));
            if HEADER_LEN + section_len > usize::from(packet.length()) {
                return Err(Error::Malformed("BFD authentication section longer than Length"));
            }
            Some(Auth::parse(packet.auth_section())?)
        } else {
            None
        };
        Ok(ControlRepr {
            version: packet.version(),
            diag: packet.diag(),
            state: packet.state(),
            poll: packet.poll(),
            final_: packet.final_(),
            control_plane_independent: packet.control_plane_independent(),
            demand: packet.demand(),
            multipoint: packet.multipoint(),
            detect_mult: packet.detect_mult(),
            my_discriminator: packet.my_discriminator(),
            your_discriminator: packet.your_discriminator(),
            desired_min_tx: packet.desired_min_tx(),
            required_min_rx: packet.required_min_rx(),
            required_min_echo_rx: packet.required_min_echo_rx(),
            auth,
        })
    }

    /// Whether the fields can be written: the version in 3 bits, the diagnostic in 5, a
    /// password of 1 to 16 octets, an [`Auth::Other`] not of a type that has its own variant.
    fn check(&self) -> Result<()> {
        if self.version > 7 {
            return Err(Error::Malformed("BFD version above 7"));
        }
        if u8::from(self.diag) > 31 {
            return Err(Error::Malformed("BFD diagnostic above 31"));
        }
        match self.auth {
            Some(Auth::SimplePassword { password, .. }) if password.is_empty() => {
                Err(Error::Malformed("BFD Simple Password is empty"))
            }
            Some(Auth::Other { auth_type: 1..=5, .. }) => {
                Err(Error::Malformed("BFD Auth::Other of a type 1 to 5 (use its own variant)"))
            }
            _ => Ok(()),
        }
    }

    /// Octets [`ControlRepr::emit`] writes, and its Length field: 24 plus the authentication
    /// section.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth.as_ref().map_or(0, Auth::section_len)
    }

    /// Writes the packet into the first [`ControlRepr::buffer_len`] octets of `packet`.
    /// Fails, writing nothing, if the buffer is too short, the version does not fit in 3 bits
    /// or the diagnostic in 5, the password is empty, or an [`Auth::Other`] has a type that
    /// has its own variant (1 to 5).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        self.check()?;
        let diag = u8::from(self.diag);
        let len = self.buffer_len();
        let b = packet.buffer.as_mut();
        let got = b.len();
        let b = b.get_mut(..len).ok_or(Error::Truncated { needed: len, got })?;
        let flag = |on: bool, mask: u8| if on { mask } else { 0 };
        b[field::VERS_DIAG] = (self.version << 5) | diag;
        b[field::STA_FLAGS] = (self.state.bits() << 6)
            | flag(self.poll, FLAG_P)
            | flag(self.final_, FLAG_F)
            | flag(self.control_plane_independent, FLAG_C)
            | flag(self.auth.is_some(), FLAG_A)
            | flag(self.demand, FLAG_D)
            | flag(self.multipoint, FLAG_M);
        b[field::DETECT_MULT] = self.detect_mult;
        b[field::LENGTH] = len as u8;
        for (at, v) in [
            (field::MY_DISCR, self.my_discriminator),
            (field::YOUR_DISCR, self.your_discriminator),
            (field::DESIRED_MIN_TX, self.desired_min_tx),
            (field::REQUIRED_MIN_RX, self.required_min_rx),
            (field::REQUIRED_MIN_ECHO_RX, self.required_min_echo_rx),
        ] {
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        if let Some(auth) = &self.auth {
            auth.write(&mut b[HEADER_LEN..]);
        }
        Ok(())
    }
}

/// The headers around a BFD Control packet on an Ethernet link: an untagged Ethernet II
/// header, IPv4 (no options, not a fragment) or IPv6 (no extension headers), and UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Encapsulation {
    /// Ethernet source.
    pub src_mac: MacAddr,
    /// Ethernet destination.
    pub dst_mac: MacAddr,
    /// IP source and destination.
    pub ips: IpPair,
    /// The IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
}

/// The destination port of a frame that is an untagged IPv4 or IPv6 UDP datagram (IPv4 not a
/// fragment, IPv6 without extension headers), read without checking lengths or checksums: a
/// cheap test of whether a frame is meant for a BFD receiver before [`Encapsulation::parse`]
/// judges it.
pub fn udp_dst_port(frame: &[u8]) -> Option<u16> {
    let f = Frame::new_checked(frame).ok()?;
    if f.tag_count() != 0 {
        return None;
    }
    let l4 = match f.ethertype() {
        EtherType::Ipv4 => {
            let ip = ipv4::Packet::new_checked_header(f.payload()).ok()?;
            if ip.protocol() != Protocol::Udp || ip.is_fragment() {
                return None;
            }
            frame.get(ethernet::HEADER_LEN + ip.header_len()..)?
        }
        EtherType::Ipv6 => {
            let ip = ipv6::Packet::new_checked_header(f.payload()).ok()?;
            if ip.next_header() != Protocol::Udp {
                return None;
            }
            frame.get(ethernet::HEADER_LEN + ipv6::HEADER_LEN..)?
        }
        _ => return None,
    };
    Some(udp::Packet::new_unchecked(l4).dst_port()).filter(|_| l4.len() >= udp::HEADER_LEN)
}

impl Encapsulation {
    /// Decodes the headers of a frame and returns them with the UDP payload. The IPv4 header
    /// checksum and the UDP checksum must be right (a zero UDP checksum is allowed over IPv4
    /// only); the frame may be longer than the IP packet (Ethernet padding).
    pub fn parse(frame: &[u8]) -> Result<(Encapsulation, &[u8])> {
        Encapsulation::parse_with(frame, true)
    }

    /// [`Encapsulation::parse`], verifying the UDP checksum only if `verify_udp_checksum`:
    /// a receiver told by its kernel that the checksum was verified, or is partial because the
    /// sender is on the same host and offloaded it (veth, tap), must not verify it again.
    pub fn parse_with(frame: &[u8], verify_udp_checksum: bool) -> Result<(Encapsulation, &[u8])> {
        let f = Frame::new_checked(frame)?;
        if f.tag_count() != 0 {
            return Err(Error::Unrecognized("a VLAN-tagged frame (BFD frames are untagged)"));
        }
        let (ips, ttl, l4_range) = match f.ethertype() {
            EtherType::Ipv4 => {
                let ip = ipv4::Packet::new_checked(f.payload())?;
                let repr = ipv4::Ipv4Repr::parse(&ip)?;
                if repr.protocol != Protocol::Udp {
                    return Err(Error::Unrecognized("IPv4 payload is not UDP"));
                }
                if ip.is_fragment() {
                    return Err(Error::Unrecognized("an IPv4 fragment"));
                }
                let start = ethernet::HEADER_LEN + ip.header_len();
                let end = ethernet::HEADER_LEN + usize::from(ip.total_len());
                (IpPair::V4(repr.src_addr, repr.dst_addr), repr.hop_limit, (start, end))
            }
            EtherType::Ipv6 => {
                let ip = ipv6::Packet::new_checked(f.payload())?;
                let repr = ipv6::Ipv6Repr::parse(&ip)?;
                if repr.next_header != Protocol::Udp {
                    return Err(Error::Unrecognized("IPv6 next header is not UDP"));
                }
                let start = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
                let end = start + usize::from(repr.payload_len);
                (IpPair::V6(repr.src_addr, repr.dst_addr), repr.hop_limit, (start, end))
            }
            _ => return Err(Error::Unrecognized("not an IPv4 or IPv6 frame")),
        };
        // The IP checks above put the range inside the frame.
        let l4 = frame.get(l4_range.0..l4_range.1).unwrap_or(&[]);
        let datagram = udp::Packet::new_checked(l4)?;
        if verify_udp_checksum && !datagram.verify_checksum(&ips) {
            return Err(Error::Malformed("UDP checksum"));
        }
        let encap = Encapsulation {
            src_mac: f.src_addr(),
            dst_mac: f.dst_addr(),
            ips,
            ttl,
            src_port: datagram.src_port(),
            dst_port: datagram.dst_port(),
        };
        let payload = l4.get(udp::HEADER_LEN..usize::from(datagram.len())).unwrap_or(&[]);
        Ok((encap, payload))
    }

    /// Octets of the headers: Ethernet, IP and UDP.
    pub const fn header_len(&self) -> usize {
        ethernet::HEADER_LEN
            + match self.ips {
                IpPair::V4(..) => ipv4::HEADER_LEN,
                IpPair::V6(..) => ipv6::HEADER_LEN,
            }
            + udp::HEADER_LEN
    }

    /// Writes the headers and `control` into the first `header_len() +
    /// control.buffer_len()` octets of `frame`, with the IPv4 header and UDP checksums.
    fn emit(&self, control: &ControlRepr, frame: &mut [u8]) -> Result<()> {
        let bfd_len = control.buffer_len();
        let udp_len = udp::HEADER_LEN + bfd_len;
        let total = self.header_len() + bfd_len;
        let got = frame.len();
        let frame = frame.get_mut(..total).ok_or(Error::Truncated { needed: total, got })?;
        let ethertype = match self.ips {
            IpPair::V4(..) => EtherType::Ipv4,
            IpPair::V6(..) => EtherType::Ipv6,
        };
        let eth = EthernetRepr {
            dst_addr: self.dst_mac,
            src_addr: self.src_mac,
            outer_tag: None,
            inner_tag: None,
            ethertype,
        };
        eth.emit(&mut Frame::new_unchecked(&mut *frame))?;
        let ip = &mut frame[ethernet::HEADER_LEN..];
        let l4_at = match self.ips {
            IpPair::V4(src, dst) => {
                let mut repr = ipv4::Ipv4Repr::new(src, dst, Protocol::Udp, udp_len as u16);
                repr.hop_limit = self.ttl;
                repr.tos = TOS;
                repr.emit(&mut ipv4::Packet::new_unchecked(&mut *ip))?;
                ipv4::HEADER_LEN
            }
            IpPair::V6(src, dst) => {
                let mut repr =
                    ipv6::Ipv6Repr::new(src, dst, Protocol::Udp, udp_len as u16, self.ttl);
                repr.traffic_class = TOS;
                repr.emit(&mut ipv6::Packet::new_unchecked(&mut *ip))?;
                ipv6::HEADER_LEN
            }
        };
        let l4 = &mut ip[l4_at..];
        let udp_repr = UdpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            payload_len: bfd_len as u16,
        };
        let mut datagram = udp::Packet::new_unchecked(l4);
        udp_repr.emit(&mut datagram)?;
        control.emit(&mut Packet::new_unchecked(datagram.payload_mut()))?;
        datagram.fill_checksum(&self.ips);
        Ok(())
    }
}

/// A whole frame carrying a BFD Control packet: the [`Encapsulation`] and the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRepr {
    /// Ethernet, IP and UDP.
    pub encap: Encapsulation,
    /// The Control packet.
    pub control: ControlRepr,
}

impl FrameRepr {
    /// Decodes a frame: [`Encapsulation::parse`], then the UDP payload as a Control packet
    /// ([`Packet::new_checked`], [`ControlRepr::parse`]). The UDP ports are not checked.
    pub fn parse(frame: &[u8]) -> Result<FrameRepr> {
        let (encap, payload) = Encapsulation::parse(frame)?;
        let control = ControlRepr::parse(&Packet::new_checked(payload)?)?;
        Ok(FrameRepr { encap, control })
    }

    /// Octets [`FrameRepr::emit`] writes: the headers and the Control packet (66 for IPv4
    /// without authentication, 86 for IPv6; at most [`MAX_FRAME_LEN`]). No padding is needed:
    /// both exceed Ethernet's 60-octet minimum.
    pub fn buffer_len(&self) -> usize {
        self.encap.header_len() + self.control.buffer_len()
    }

    /// Writes the frame into the first [`FrameRepr::buffer_len`] octets of `frame`, checksums
    /// filled; fails, writing nothing, if it is shorter (or the Control packet cannot be
    /// emitted).
    pub fn emit(&self, frame: &mut [u8]) -> Result<()> {
        let len = self.buffer_len();
        if frame.len() < len {
            return Err(Error::Truncated { needed: len, got: frame.len() });
        }
        // Check what could fail before writing anything.
        self.control.check()?;
        self.encap.emit(&self.control, frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// A Control packet as FRRouting's bfdd 8.4 sends it while Down: version 1, state Down,
    /// detect mult 3, my discriminator 0xbdbf_5a37, desired TX 1 s (the slow rate while not
    /// Up), required RX 100 ms, echo RX 50 ms.
    const FRR_DOWN: [u8; 24] = [
        0x20, 0x40, 0x03, 0x18, 0xbd, 0xbf, 0x5a, 0x37, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42,
        0x40, 0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0xc3, 0x50,
    ];

    fn sample() -> ControlRepr {
        ControlRepr {
            version: 1,
            diag: Diagnostic::NoDiagnostic,
            state: State::Down,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discriminator: 0xbdbf_5a37,
            your_discriminator: 0,
            desired_min_tx: 1_000_000,
            required_min_rx: 100_000,
            required_min_echo_rx: 50_000,
            auth: None,
        }
    }

    #[test]
    fn decodes_and_emits_the_mandatory_section() {
        let p = Packet::new_checked(&FRR_DOWN[..]).unwrap();
        assert_eq!((p.version(), p.state(), p.detect_mult(), p.length()), (1, State::Down, 3, 24));
        assert!(!p.poll() && !p.final_() && !p.auth_present() && !p.multipoint());
        assert_eq!(p.auth_section(), &[] as &[u8]);
        let repr = ControlRepr::parse(&p).unwrap();
        assert_eq!(repr, sample());
        let mut out = [0xaau8; 24];
        repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, FRR_DOWN);
    }

    #[test]
    fn flags_and_fields_at_their_bits() {
        let repr = ControlRepr {
            diag: Diagnostic::AdministrativelyDown,
            state: State::Up,
            poll: true,
            demand: true,
            ..sample()
        };
        let mut b = [0u8; 24];
        repr.emit(&mut Packet::new_unchecked(&mut b[..])).unwrap();
        assert_eq!(b[0], 0x27, "version 1, diag 7");
        assert_eq!(b[1], 0xc0 | 0x20 | 0x02, "Up, P, D");
        let repr = ControlRepr { state: State::Init, final_: true, multipoint: true, ..sample() };
        repr.emit(&mut Packet::new_unchecked(&mut b[..])).unwrap();
        assert_eq!(b[1], 0x80 | 0x10 | 0x01, "Init, F, M");
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.final_() && p.multipoint() && !p.poll());
    }

    #[test]
    fn unknown_values_are_kept() {
        let mut b = FRR_DOWN;
        b[0] = (2 << 5) | 17; // version 2, diag 17
        let repr = ControlRepr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!((repr.version, repr.diag), (2, Diagnostic::Other(17)));
        let mut out = [0u8; 24];
        repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, b);
        assert!(ControlRepr { version: 8, ..repr }
            .emit(&mut Packet::new_unchecked(&mut out[..]))
            .is_err());
        let bad = ControlRepr { diag: Diagnostic::Other(32), ..repr };
        assert!(bad.emit(&mut Packet::new_unchecked(&mut out[..])).is_err());
        let data = AuthData::new(&[0; 4]).unwrap();
        let bad = ControlRepr { auth: Some(Auth::Other { auth_type: 2, data }), ..repr };
        assert!(bad.emit(&mut Packet::new_unchecked(&mut [0u8; 64][..])).is_err());
        let password = Password::new(&[]).unwrap();
        let bad = ControlRepr { auth: Some(Auth::SimplePassword { key_id: 0, password }), ..repr };
        assert!(bad.emit(&mut Packet::new_unchecked(&mut [0u8; 64][..])).is_err());
        for v in 0..=255u8 {
            assert_eq!(u8::from(Diagnostic::from(v)), v);
            assert_eq!(u8::from(AuthType::from(v)), v);
        }
        for v in 0..4 {
            assert_eq!(State::from_bits(v).bits(), v);
        }
    }

    #[test]
    fn length_rules() {
        assert_eq!(
            Packet::new_checked(&FRR_DOWN[..23]).unwrap_err(),
            Error::Truncated { needed: 24, got: 23 }
        );
        let mut b = [0u8; 40];
        b[..24].copy_from_slice(&FRR_DOWN);
        b[3] = 23;
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Malformed(_))));
        b[3] = 41;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            Error::Truncated { needed: 41, got: 40 }
        );
        // A longer Length without authentication is accepted (RFC 5880 6.8.6 sets minimums).
        b[3] = 30;
        assert!(ControlRepr::parse(&Packet::new_checked(&b[..]).unwrap()).is_ok());
        // The A bit needs 26.
        b[1] |= FLAG_A;
        b[3] = 25;
        assert!(matches!(Packet::new_checked(&b[..]), Err(Error::Malformed(_))));
        // An unchecked short view reads zeros and never panics.
        let short = Packet::new_unchecked(&[0x20u8][..]);
        assert_eq!(
            (short.version(), short.my_discriminator(), short.auth_section()),
            (1, 0, &[][..])
        );
        assert!(ControlRepr::parse(&short).is_err());
    }

    fn with_auth(section: &[u8]) -> ([u8; 64], usize) {
        let mut b = [0u8; 64];
        b[..24].copy_from_slice(&FRR_DOWN);
        b[1] |= FLAG_A;
        let len = 24 + section.len();
        b[3] = len as u8;
        b[24..len].copy_from_slice(section);
        (b, len)
    }

    #[test]
    fn authentication_sections() {
        // Simple Password "frr", key 1.
        let (b, len) = with_auth(&[1, 6, 1, b'f', b'r', b'r']);
        let repr = ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).unwrap();
        let password = Password::new(b"frr").unwrap();
        assert_eq!(repr.auth, Some(Auth::SimplePassword { key_id: 1, password }));
        assert_eq!(repr.buffer_len(), len);
        let mut out = [0u8; 64];
        repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out[..len], b[..len]);

        // Meticulous Keyed SHA1, key 9, sequence 0x01020304; the reserved octet is not kept.
        let mut section = [0u8; 28];
        section[..8].copy_from_slice(&[5, 28, 9, 0xee, 1, 2, 3, 4]);
        section[8..].fill(0x5a);
        let (b, len) = with_auth(&section);
        let repr = ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).unwrap();
        let auth = Auth::KeyedSha1 {
            meticulous: true,
            key_id: 9,
            sequence: 0x0102_0304,
            hash: [0x5a; 20],
        };
        assert_eq!(repr.auth, Some(auth));
        assert_eq!(auth.auth_type(), AuthType::MeticulousKeyedSha1);
        repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out[27], 0, "reserved written as zero");
        assert_eq!(out[28..len], b[28..len]);

        // Keyed MD5 with the wrong Auth Len, a password of 17 octets, an empty one, a section
        // longer than the packet, an unknown type (kept).
        let (b, len) = with_auth(&[2, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).is_err());
        let mut long = [b'x'; 20];
        long[..3].copy_from_slice(&[1, 20, 0]);
        let (b, len) = with_auth(&long);
        assert!(ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).is_err());
        let (b, len) = with_auth(&[1, 3, 0]);
        assert!(ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).is_err());
        let (mut b, len) = with_auth(&[1, 6, 1, b'a', b'b', b'c']);
        b[25] = 7;
        assert!(ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).is_err());
        let (b, len) = with_auth(&[200, 4, 0xab, 0xcd]);
        let repr = ControlRepr::parse(&Packet::new_checked(&b[..len]).unwrap()).unwrap();
        let data = AuthData::new(&[0xab, 0xcd]).unwrap();
        assert_eq!(repr.auth, Some(Auth::Other { auth_type: 200, data }));
    }

    #[test]
    fn frames_round_trip_over_ipv4_and_ipv6() {
        let control = sample();
        for ips in [
            IpPair::V4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)),
            IpPair::V6("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap()),
        ] {
            let encap = Encapsulation {
                src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
                dst_mac: MICRO_BFD_MAC,
                ips,
                ttl: TTL,
                src_port: 49152,
                dst_port: MICRO_BFD_PORT,
            };
            let repr = FrameRepr { encap, control };
            let mut buf = [0u8; MAX_FRAME_LEN];
            repr.emit(&mut buf).unwrap();
            let frame = &buf[..repr.buffer_len()];
            assert_eq!(frame.len(), if matches!(ips, IpPair::V4(..)) { 66 } else { 86 });
            assert_eq!(udp_dst_port(frame), Some(MICRO_BFD_PORT));
            assert_eq!(FrameRepr::parse(frame).unwrap(), repr);
            // Padding after the IP packet is not payload.
            let mut padded = [0u8; MAX_FRAME_LEN];
            padded[..frame.len()].copy_from_slice(frame);
            assert_eq!(FrameRepr::parse(&padded[..frame.len() + 8]).unwrap(), repr);
            // A flipped bit in the BFD packet breaks the UDP checksum.
            let mut bad = padded;
            bad[frame.len() - 1] ^= 1;
            assert_eq!(
                FrameRepr::parse(&bad[..frame.len()]),
                Err(Error::Malformed("UDP checksum"))
            );
            // Unless the receiver was told not to verify it (a partial checksum from a local
            // sender): then the frame's headers are read as they are.
            let (encap2, payload) = Encapsulation::parse_with(&bad[..frame.len()], false).unwrap();
            assert_eq!(encap2, encap);
            assert_eq!(payload.len(), HEADER_LEN);
        }
        let mut small = [0u8; 65];
        let encap = Encapsulation {
            src_mac: MacAddr::ZERO,
            dst_mac: MacAddr::ZERO,
            ips: IpPair::V4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST),
            ttl: 1,
            src_port: 1,
            dst_port: 2,
        };
        let repr = FrameRepr { encap, control };
        assert_eq!(repr.emit(&mut small), Err(Error::Truncated { needed: 66, got: 65 }));
        assert!(small.iter().all(|&b| b == 0), "a refused emit writes nothing");
    }
}
