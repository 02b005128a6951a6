//! ICMP for IPv4 (RFC 792) and ICMPv6 (RFC 4443), and the Neighbor Solicitation and Neighbor
//! Advertisement messages of IPv6 Neighbor Discovery (RFC 4861 sections 4.3, 4.4 and 4.6.1).
//!
//! The buffers these codecs take start at the ICMP type octet: an IPv4 packet's payload, or the
//! octets after the IPv6 header. Every ICMP and ICMPv6 message starts with the same 8 octets:
//!
//! ```text
//!   0 type   1 code   2 checksum (2)   4 rest of header (4): for echo, timestamp and their
//!                                        replies, identifier (2) and sequence number (2)
//!   8 body: for an error message, as much of the offending packet as fits
//! ```
//!
//! Error messages (ICMPv4 destination unreachable, source quench, redirect, time exceeded and
//! parameter problem; ICMPv6 types below 128) carry the packet that caused them after those 8
//! octets; Linux's bonding hash re-parses that inner packet, so that an error follows the flow
//! it is about. [`Icmpv4Packet::embedded_packet`] and [`Icmpv6Packet::embedded_packet`] give it.
//!
//! Neighbor Solicitation (type 135) and Advertisement (136), which the bonding NS monitor
//! (`ns_ip6_target`) sends and checks, and which announce an address after a failover:
//!
//! ```text
//!   0 type   1 code = 0   2 checksum (2)
//!   4 NS: reserved (4)   NA: R (router) | S (solicited) | O (override) | 29 reserved bits
//!   8 target address (16)
//!  24 options: type (1), length in units of 8 octets (1), value; for Ethernet the
//!     source (type 1, in an NS) or target (type 2, in an NA) link-layer address option is
//!     [type, 1, MAC (6)]
//! ```
//!
//! The ICMPv6 checksum covers an IPv6 pseudo-header (RFC 8200 8.1), so computing or checking it
//! needs the IPv6 source and destination: see [`icmpv6_checksum`]. RFC 4861 also requires a
//! receiver to check that the IPv6 hop limit is 255; that is the IPv6 header's business, see
//! [`crate::ipv6::Packet::hop_limit`].

use core::net::Ipv6Addr;

use crate::ip::{array, be16, checksum, put, Protocol};
use crate::{Error, MacAddr, Result};

/// Length of the ICMP and ICMPv6 header: type, code, checksum and 4 octets of "rest of header".
pub const HEADER_LEN: usize = 8;
/// Length of a Neighbor Solicitation or Advertisement without options.
pub const NEIGHBOR_LEN: usize = 24;
/// Length of a link-layer address option for Ethernet.
pub const LL_ADDR_OPTION_LEN: usize = 8;
/// Neighbor Discovery option type: Source Link-Layer Address (RFC 4861 4.6.1).
pub const OPTION_SOURCE_LL_ADDR: u8 = 1;
/// Neighbor Discovery option type: Target Link-Layer Address (RFC 4861 4.6.1).
pub const OPTION_TARGET_LL_ADDR: u8 = 2;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const IDENT: usize = 4;
    pub const SEQ: usize = 6;
    pub const BODY: usize = 8;
    pub const ND_FLAGS: usize = 4;
    pub const ND_TARGET: usize = 8;
    pub const ND_OPTIONS: usize = 24;
}

/// The ICMPv4 message type (RFC 792 and the IANA registry). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Type {
    /// 0: echo reply.
    EchoReply,
    /// 3: destination unreachable (an error).
    DstUnreachable,
    /// 4: source quench (an error, deprecated by RFC 6633).
    SourceQuench,
    /// 5: redirect (an error).
    Redirect,
    /// 8: echo request.
    EchoRequest,
    /// 11: time exceeded (an error).
    TimeExceeded,
    /// 12: parameter problem (an error).
    ParamProblem,
    /// 13: timestamp.
    Timestamp,
    /// 14: timestamp reply.
    TimestampReply,
    /// Any other value.
    Other(u8),
}

impl Icmpv4Type {
    /// True for the error messages that carry the offending packet: 3, 4, 5, 11 and 12
    /// (Linux's `icmp_is_err`).
    pub const fn is_error(self) -> bool {
        matches!(
            self,
            Icmpv4Type::DstUnreachable
                | Icmpv4Type::SourceQuench
                | Icmpv4Type::Redirect
                | Icmpv4Type::TimeExceeded
                | Icmpv4Type::ParamProblem
        )
    }

    /// True for the messages whose "rest of header" starts with an identifier: echo, echo
    /// reply, timestamp, timestamp reply.
    pub const fn has_identifier(self) -> bool {
        matches!(
            self,
            Icmpv4Type::EchoReply
                | Icmpv4Type::EchoRequest
                | Icmpv4Type::Timestamp
                | Icmpv4Type::TimestampReply
        )
    }
}

impl From<u8> for Icmpv4Type {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv4Type::EchoReply,
            3 => Icmpv4Type::DstUnreachable,
            4 => Icmpv4Type::SourceQuench,
            5 => Icmpv4Type::Redirect,
            8 => Icmpv4Type::EchoRequest,
            11 => Icmpv4Type::TimeExceeded,
            12 => Icmpv4Type::ParamProblem,
            13 => Icmpv4Type::Timestamp,
            14 => Icmpv4Type::TimestampReply,
            other => Icmpv4Type::Other(other),
        }
    }
}

impl From<Icmpv4Type> for u8 {
    fn from(t: Icmpv4Type) -> u8 {
        match t {
            Icmpv4Type::EchoReply => 0,
            Icmpv4Type::DstUnreachable => 3,
            Icmpv4Type::SourceQuench => 4,
            Icmpv4Type::Redirect => 5,
            Icmpv4Type::EchoRequest => 8,
            Icmpv4Type::TimeExceeded => 11,
            Icmpv4Type::ParamProblem => 12,
            Icmpv4Type::Timestamp => 13,
            Icmpv4Type::TimestampReply => 14,
            Icmpv4Type::Other(v) => v,
        }
    }
}

/// The ICMPv6 message type (RFC 4443, RFC 4861). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Type {
    /// 1: destination unreachable.
    DstUnreachable,
    /// 2: packet too big.
    PacketTooBig,
    /// 3: time exceeded.
    TimeExceeded,
    /// 4: parameter problem.
    ParamProblem,
    /// 128: echo request.
    EchoRequest,
    /// 129: echo reply.
    EchoReply,
    /// 133: router solicitation.
    RouterSolicit,
    /// 134: router advertisement.
    RouterAdvert,
    /// 135: neighbor solicitation.
    NeighborSolicit,
    /// 136: neighbor advertisement.
    NeighborAdvert,
    /// 137: redirect.
    Redirect,
    /// Any other value.
    Other(u8),
}

impl Icmpv6Type {
    /// True for error messages: every type below 128 (RFC 4443 2.1; Linux's `icmpv6_is_err`).
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// True for the messages whose "rest of header" starts with an identifier: echo request
    /// and echo reply.
    pub const fn has_identifier(self) -> bool {
        matches!(self, Icmpv6Type::EchoRequest | Icmpv6Type::EchoReply)
    }
}

impl From<u8> for Icmpv6Type {
    fn from(v: u8) -> Self {
        match v {
            1 => Icmpv6Type::DstUnreachable,
            2 => Icmpv6Type::PacketTooBig,
            3 => Icmpv6Type::TimeExceeded,
            4 => Icmpv6Type::ParamProblem,
            128 => Icmpv6Type::EchoRequest,
            129 => Icmpv6Type::EchoReply,
            133 => Icmpv6Type::RouterSolicit,
            134 => Icmpv6Type::RouterAdvert,
            135 => Icmpv6Type::NeighborSolicit,
            136 => Icmpv6Type::NeighborAdvert,
            137 => Icmpv6Type::Redirect,
            other => Icmpv6Type::Other(other),
        }
    }
}

impl From<Icmpv6Type> for u8 {
    fn from(t: Icmpv6Type) -> u8 {
        match t {
            Icmpv6Type::DstUnreachable => 1,
            Icmpv6Type::PacketTooBig => 2,
            Icmpv6Type::TimeExceeded => 3,
            Icmpv6Type::ParamProblem => 4,
            Icmpv6Type::EchoRequest => 128,
            Icmpv6Type::EchoReply => 129,
            Icmpv6Type::RouterSolicit => 133,
            Icmpv6Type::RouterAdvert => 134,
            Icmpv6Type::NeighborSolicit => 135,
            Icmpv6Type::NeighborAdvert => 136,
            Icmpv6Type::Redirect => 137,
            Icmpv6Type::Other(v) => v,
        }
    }
}

/// Linux's flow dissector test for "this ICMP message has an identifier" (`icmp_has_id` in
/// `net/core/flow_dissector.c`), which feeds the `layer3+4` hash of ICMP and ICMPv6 alike.
///
/// It matches the raw type against the ICMPv4 **and** ICMPv6 echo and timestamp values
/// (0, 8, 13, 14, 128, 129) whichever protocol the message is, so an ICMPv6 message of the
/// unassigned type 8 counts as having one. Bit-exact hashing must use this, not
/// [`Icmpv4Type::has_identifier`] or [`Icmpv6Type::has_identifier`].
pub const fn linux_flow_has_id(msg_type: u8) -> bool {
    matches!(msg_type, 0 | 8 | 13 | 14 | 128 | 129)
}

/// The value an ICMPv4 message's checksum field must hold: the complemented sum of the whole
/// message with the checksum field taken as zero (whatever it holds).
pub fn icmpv4_checksum(message: &[u8]) -> u16 {
    !sum_without_checksum_field(message)
}

/// The value an ICMPv6 message's checksum field must hold (RFC 4443 2.3): the complemented sum
/// of the IPv6 pseudo-header for `src`, `dst` and the message's length, and of the whole
/// message with the checksum field taken as zero (whatever it holds).
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, message: &[u8]) -> u16 {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let pseudo = checksum::pseudo_header_v6(src, dst, Protocol::Icmpv6, len);
    !checksum::combine(&[pseudo, sum_without_checksum_field(message)])
}

fn sum_without_checksum_field(message: &[u8]) -> u16 {
    // Both parts start at an even offset, so their sums add up to the whole one.
    let head = message.get(..field::CHECKSUM).unwrap_or(message);
    let tail = message.get(field::REST..).unwrap_or(&[]);
    checksum::combine(&[checksum::data(head), checksum::data(tail)])
}

/// The parts of the view shared by ICMPv4 and ICMPv6.
macro_rules! common_accessors {
    ($kind:ty) => {
        /// Wraps a buffer without checking it; accessors still never panic, but read zeros (and
        /// empty slices) past its end. Prefer `new_checked`.
        pub const fn new_unchecked(buffer: T) -> Self {
            Self { buffer }
        }

        /// Wraps a buffer that holds at least the 8-octet header.
        pub fn new_checked(buffer: T) -> Result<Self> {
            let got = buffer.as_ref().len();
            if got < HEADER_LEN {
                return Err(Error::Truncated { needed: HEADER_LEN, got });
            }
            Ok(Self { buffer })
        }

        /// The underlying buffer.
        pub fn into_inner(self) -> T {
            self.buffer
        }

        fn bytes(&self) -> &[u8] {
            self.buffer.as_ref()
        }

        /// The message type.
        pub fn msg_type(&self) -> $kind {
            <$kind>::from(self.bytes().get(field::TYPE).copied().unwrap_or(0))
        }

        /// The code (the subtype of an error, 0 for most other messages).
        pub fn code(&self) -> u8 {
            self.bytes().get(field::CODE).copied().unwrap_or(0)
        }

        /// The checksum as found.
        pub fn checksum(&self) -> u16 {
            be16(self.bytes(), field::CHECKSUM)
        }

        /// The 4 octets after the checksum, whatever the type.
        pub fn rest_of_header(&self) -> [u8; 4] {
            array(self.bytes(), field::REST)
        }

        /// The identifier of an echo (and, for ICMPv4, timestamp) request or reply; `None` for
        /// other types.
        pub fn identifier(&self) -> Option<u16> {
            self.msg_type().has_identifier().then(|| be16(self.bytes(), field::IDENT))
        }

        /// The sequence number of an echo (and, for ICMPv4, timestamp) request or reply.
        pub fn sequence_number(&self) -> Option<u16> {
            self.msg_type().has_identifier().then(|| be16(self.bytes(), field::SEQ))
        }

        /// True for an error message.
        pub fn is_error(&self) -> bool {
            self.msg_type().is_error()
        }

        /// The octets after the 8-octet header (empty if there are none).
        pub fn body(&self) -> &[u8] {
            self.bytes().get(field::BODY..).unwrap_or(&[])
        }

        /// For an error message, the packet that caused it (an IP header and the start of its
        /// payload, as much as the sender included); `None` for other messages.
        pub fn embedded_packet(&self) -> Option<&[u8]> {
            self.is_error().then(|| self.body())
        }
    };
}

/// A read/write view of an ICMPv4 message (starting at the type octet).
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    common_accessors!(Icmpv4Type);

    /// True if the checksum over the whole buffer is right. The buffer must be exactly the
    /// message (an IPv4 packet's [`payload`](crate::ipv4::Packet::payload)).
    pub fn verify_checksum(&self) -> bool {
        self.bytes().len() >= HEADER_LEN && icmpv4_checksum(self.bytes()) == self.checksum()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Computes and writes the checksum over the whole buffer (does nothing if it is shorter
    /// than the header).
    pub fn fill_checksum(&mut self) {
        let sum = icmpv4_checksum(self.bytes());
        if self.bytes().len() >= HEADER_LEN {
            put(self.buffer.as_mut(), field::CHECKSUM, &sum.to_be_bytes());
        }
    }
}

/// A read/write view of an ICMPv6 message (starting at the type octet), with the accessors of
/// Neighbor Solicitation and Advertisement.
#[derive(Debug, Clone)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    common_accessors!(Icmpv6Type);

    /// True if the checksum over the whole buffer and the pseudo-header for `src` and `dst` is
    /// right. The buffer must be exactly the message (the IPv6 payload after any extension
    /// headers).
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.bytes().len() >= HEADER_LEN
            && icmpv6_checksum(src, dst, self.bytes()) == self.checksum()
    }

    /// NS and NA: the target address (zeros past the end of the buffer).
    pub fn target_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array::<16>(self.bytes(), field::ND_TARGET))
    }

    /// NA: the router, solicited and override flags.
    pub fn na_flags(&self) -> NaFlags {
        NaFlags::from_octet(self.bytes().get(field::ND_FLAGS).copied().unwrap_or(0))
    }

    /// NS and NA: the options after the target address.
    pub fn nd_options(&self) -> NdOptions<'_> {
        NdOptions { rest: self.bytes().get(field::ND_OPTIONS..).unwrap_or(&[]), malformed: false }
    }

    /// NS: the MAC address of the first Source Link-Layer Address option of Ethernet length.
    pub fn source_ll_addr(&self) -> Option<MacAddr> {
        self.nd_options().find_map(|o| o.ll_addr(OPTION_SOURCE_LL_ADDR))
    }

    /// NA: the MAC address of the first Target Link-Layer Address option of Ethernet length.
    pub fn target_ll_addr(&self) -> Option<MacAddr> {
        self.nd_options().find_map(|o| o.ll_addr(OPTION_TARGET_LL_ADDR))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Computes and writes the checksum over the whole buffer and the pseudo-header for `src`
    /// and `dst` (does nothing if the buffer is shorter than the header).
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        let sum = icmpv6_checksum(src, dst, self.bytes());
        if self.bytes().len() >= HEADER_LEN {
            put(self.buffer.as_mut(), field::CHECKSUM, &sum.to_be_bytes());
        }
    }
}

/// The flags of a Neighbor Advertisement (RFC 4861 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NaFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a Neighbor Solicitation (never set in unsolicited ones).
    pub solicited: bool,
    /// O: the advertisement should override an existing cache entry.
    pub override_: bool,
}

impl NaFlags {
    const ROUTER: u8 = 0x80;
    const SOLICITED: u8 = 0x40;
    const OVERRIDE: u8 = 0x20;

    fn from_octet(b: u8) -> NaFlags {
        NaFlags {
            router: b & Self::ROUTER != 0,
            solicited: b & Self::SOLICITED != 0,
            override_: b & Self::OVERRIDE != 0,
        }
    }

    fn to_octet(self) -> u8 {
        (if self.router { Self::ROUTER } else { 0 })
            | (if self.solicited { Self::SOLICITED } else { 0 })
            | (if self.override_ { Self::OVERRIDE } else { 0 })
    }
}

/// A Neighbor Discovery option (RFC 4861 4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOption<'a> {
    /// The option type (1 = source link-layer address, 2 = target link-layer address, ...).
    pub option_type: u8,
    /// The octets after the type and length octets (the length counts them too).
    pub value: &'a [u8],
}

impl NdOption<'_> {
    /// The MAC address of a link-layer address option of type `option_type` whose length is 8
    /// octets (what Ethernet uses; Linux ignores other lengths on Ethernet).
    fn ll_addr(&self, option_type: u8) -> Option<MacAddr> {
        if self.option_type != option_type || self.value.len() != LL_ADDR_OPTION_LEN - 2 {
            return None;
        }
        MacAddr::from_slice(self.value)
    }
}

/// Iterator over Neighbor Discovery options. It stops at the end of the buffer, at an option
/// that runs past it, at trailing octets too few for an option, or at an option of length 0
/// (which RFC 4861 says makes the whole message invalid; [`NdiscRepr::parse`] refuses it).
#[derive(Debug, Clone)]
pub struct NdOptions<'a> {
    rest: &'a [u8],
    malformed: bool,
}

impl NdOptions<'_> {
    /// True if the options fill the buffer exactly, every one with a non-zero length (walks a
    /// copy of the iterator).
    pub fn are_well_formed(&self) -> bool {
        let mut walk = self.clone();
        while walk.next().is_some() {}
        !walk.malformed
    }
}

impl<'a> Iterator for NdOptions<'a> {
    type Item = NdOption<'a>;

    fn next(&mut self) -> Option<NdOption<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = self.rest.first_chunk::<2>().and_then(|&[option_type, units]| {
            let len = usize::from(units) * 8;
            let (option, rest) = self.rest.split_at_checked(len)?;
            let value = option.get(2..)?; // also refuses len == 0
            Some((NdOption { option_type, value }, rest))
        });
        match parsed {
            Some((option, rest)) => {
                self.rest = rest;
                Some(option)
            }
            None => {
                self.rest = &[];
                self.malformed = true;
                None
            }
        }
    }
}

/// A decoded Neighbor Solicitation or Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdiscRepr {
    /// Neighbor Solicitation (type 135): who has `target_addr`? The bonding NS monitor sends
    /// these to each `ns_ip6_target`.
    NeighborSolicit {
        /// The address asked about; never multicast.
        target_addr: Ipv6Addr,
        /// The sender's MAC (absent when the IPv6 source is the unspecified address, as in
        /// duplicate address detection).
        source_ll_addr: Option<MacAddr>,
    },
    /// Neighbor Advertisement (type 136): `target_addr` is at `target_ll_addr`.
    NeighborAdvert {
        /// Router, solicited and override flags.
        flags: NaFlags,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// The MAC it is at (optional in solicited advertisements).
        target_ll_addr: Option<MacAddr>,
    },
}

impl NdiscRepr {
    /// A Neighbor Solicitation for `target_addr` from `source_mac` (send it to
    /// [`solicited_node(target_addr)`](crate::ipv6::solicited_node) with hop limit 255).
    pub const fn solicit(target_addr: Ipv6Addr, source_mac: MacAddr) -> NdiscRepr {
        NdiscRepr::NeighborSolicit { target_addr, source_ll_addr: Some(source_mac) }
    }

    /// An unsolicited Neighbor Advertisement announcing that `target_addr` is at `mac`, with
    /// the override flag set and the solicited flag clear (RFC 4861 7.2.6), as Linux sends
    /// after a failover (`num_unsol_na`); send it to [`crate::ipv6::ALL_NODES`] with hop
    /// limit 255.
    pub const fn unsolicited_advert(target_addr: Ipv6Addr, mac: MacAddr) -> NdiscRepr {
        NdiscRepr::NeighborAdvert {
            flags: NaFlags { router: false, solicited: false, override_: true },
            target_addr,
            target_ll_addr: Some(mac),
        }
    }

    /// The target address of either message.
    pub const fn target_addr(&self) -> Ipv6Addr {
        match self {
            NdiscRepr::NeighborSolicit { target_addr, .. }
            | NdiscRepr::NeighborAdvert { target_addr, .. } => *target_addr,
        }
    }

    /// Decodes a Neighbor Solicitation or Advertisement, with the checks of RFC 4861 7.1.1 and
    /// 7.1.2 that need only the ICMPv6 message: type 135 or 136 ([`Error::Unrecognized`]
    /// otherwise), code 0, at least 24 octets, every option of non-zero length and within the
    /// message, an NS target that is not multicast. Options other than the link-layer address
    /// one are skipped. The checksum, the hop limit of 255 and the rules that involve the
    /// IPv6 addresses are the caller's to check ([`Icmpv6Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Icmpv6Packet<T>) -> Result<NdiscRepr> {
        let got = packet.bytes().len();
        if got < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, got });
        }
        let msg_type = packet.msg_type();
        if !matches!(msg_type, Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert) {
            return Err(Error::Unrecognized("ICMPv6 type is not NS (135) or NA (136)"));
        }
        if got < NEIGHBOR_LEN {
            return Err(Error::Truncated { needed: NEIGHBOR_LEN, got });
        }
        if packet.code() != 0 {
            return Err(Error::Malformed("Neighbor Discovery code is not 0"));
        }
        if !packet.nd_options().are_well_formed() {
            return Err(Error::Malformed("Neighbor Discovery option length"));
        }
        let target_addr = packet.target_addr();
        if msg_type == Icmpv6Type::NeighborSolicit {
            if target_addr.is_multicast() {
                return Err(Error::Malformed("Neighbor Solicitation target is multicast"));
            }
            Ok(NdiscRepr::NeighborSolicit { target_addr, source_ll_addr: packet.source_ll_addr() })
        } else {
            Ok(NdiscRepr::NeighborAdvert {
                flags: packet.na_flags(),
                target_addr,
                target_ll_addr: packet.target_ll_addr(),
            })
        }
    }

    fn ll_option(&self) -> Option<(u8, MacAddr)> {
        match *self {
            NdiscRepr::NeighborSolicit { source_ll_addr, .. } => {
                source_ll_addr.map(|m| (OPTION_SOURCE_LL_ADDR, m))
            }
            NdiscRepr::NeighborAdvert { target_ll_addr, .. } => {
                target_ll_addr.map(|m| (OPTION_TARGET_LL_ADDR, m))
            }
        }
    }

    /// Octets [`NdiscRepr::emit`] writes: 24, plus 8 for the link-layer address option. This
    /// is the IPv6 payload length to send it with.
    pub fn buffer_len(&self) -> usize {
        NEIGHBOR_LEN + if self.ll_option().is_some() { LL_ADDR_OPTION_LEN } else { 0 }
    }

    /// Writes the message into the first [`NdiscRepr::buffer_len`] octets of `packet`, with
    /// the checksum for an IPv6 packet from `src` to `dst`. Fails, writing nothing, if the
    /// buffer is too short, or if an NS target is multicast.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        packet: &mut Icmpv6Packet<T>,
    ) -> Result<()> {
        if let NdiscRepr::NeighborSolicit { target_addr, .. } = self {
            if target_addr.is_multicast() {
                return Err(Error::Malformed("Neighbor Solicitation target is multicast"));
            }
        }
        let needed = self.buffer_len();
        let b = packet.buffer.as_mut();
        let got = b.len();
        let b = b.get_mut(..needed).ok_or(Error::Truncated { needed, got })?;
        b.fill(0);
        let (msg_type, flags) = match self {
            NdiscRepr::NeighborSolicit { .. } => (Icmpv6Type::NeighborSolicit, 0),
            NdiscRepr::NeighborAdvert { flags, .. } => {
                (Icmpv6Type::NeighborAdvert, flags.to_octet())
            }
        };
        b[field::TYPE] = msg_type.into();
        b[field::ND_FLAGS] = flags;
        b[field::ND_TARGET..field::ND_TARGET + 16].copy_from_slice(&self.target_addr().octets());
        if let Some((option_type, mac)) = self.ll_option() {
            let at = field::ND_OPTIONS;
            b[at] = option_type;
            b[at + 1] = 1;
            b[at + 2..at + 8].copy_from_slice(&mac.0);
        }
        let sum = icmpv6_checksum(src, dst, b);
        b[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn icmpv4_echo_and_checksum() {
        // ping -c1: echo request, id 0x1c46, seq 1, 4 octets of data (built by hand).
        let mut b = [8, 0, 0, 0, 0x1c, 0x46, 0x00, 0x01, b'p', b'i', b'n', b'g'];
        let mut p = Icmpv4Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.msg_type(), Icmpv4Type::EchoRequest);
        assert_eq!(p.identifier(), Some(0x1c46));
        assert_eq!(p.sequence_number(), Some(1));
        assert!(!p.is_error());
        assert_eq!(p.embedded_packet(), None);
        assert_eq!(p.body(), b"ping");
        // The checksum does not depend on what the field held before.
        assert_eq!(icmpv4_checksum(&b), u16::from_be_bytes([b[2], b[3]]));
        b[9] ^= 0xff;
        assert!(!Icmpv4Packet::new_checked(&b[..]).unwrap().verify_checksum());
    }

    #[test]
    fn icmpv4_error_embeds_the_offending_packet() {
        let mut b = [0u8; 8 + 28];
        b[0] = 3; // destination unreachable
        b[1] = 3; // port unreachable
        b[8] = 0x45;
        let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_error());
        assert_eq!(p.identifier(), None);
        assert_eq!(p.embedded_packet().map(|e| e.len()), Some(28));
        assert_eq!(p.embedded_packet().and_then(|e| e.first()), Some(&0x45));
        for (t, err) in [(3, true), (4, true), (5, true), (11, true), (12, true), (0, false)] {
            assert_eq!(Icmpv4Type::from(t).is_error(), err, "type {t}");
        }
        for t in [13, 14] {
            assert!(Icmpv4Type::from(t).has_identifier());
        }
    }

    #[test]
    fn icmpv6_types() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(Icmpv6Type::from(v)), v);
            assert_eq!(u8::from(Icmpv4Type::from(v)), v);
            assert_eq!(Icmpv6Type::from(v).is_error(), v < 128);
        }
        assert!(linux_flow_has_id(8) && linux_flow_has_id(129) && !linux_flow_has_id(3));
        let echo = [128, 0, 0, 0, 0, 0, 0, 0];
        let p = Icmpv6Packet::new_checked(&echo[..]).unwrap();
        assert_eq!(p.identifier(), Some(0));
        assert_eq!(p.embedded_packet(), None);
        let too_big = [2, 0, 0, 0, 0, 0, 5, 0xdc, 0x60];
        let p = Icmpv6Packet::new_checked(&too_big[..]).unwrap();
        assert_eq!(p.embedded_packet(), Some(&[0x60][..]));
        assert_eq!(p.rest_of_header(), [0, 0, 5, 0xdc]);
    }

    #[test]
    fn neighbor_solicitation_round_trip_and_checksum() {
        let target = addr("2001:db8::1");
        let src = addr("2001:db8::2");
        let dst = crate::ipv6::solicited_node(&target);
        let repr = NdiscRepr::solicit(target, MAC);
        assert_eq!(repr.buffer_len(), 32);
        let mut buf = [0xaau8; 32];
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[..2], &[135, 0]);
        assert_eq!(&buf[4..8], &[0, 0, 0, 0]);
        assert_eq!(&buf[24..32], &[1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        let p = Icmpv6Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum(&src, &dst));
        assert!(!p.verify_checksum(&src, &target));
        assert_eq!(NdiscRepr::parse(&p).unwrap(), repr);
        assert_eq!(p.source_ll_addr(), Some(MAC));
        assert_eq!(p.target_ll_addr(), None);
    }

    #[test]
    fn neighbor_solicitation_checksum_matches_an_independent_sum() {
        // The pseudo-header spelled out, summed as plain integers (RFC 4443 2.3).
        let target = addr("fe80::1");
        let (src, dst) = (Ipv6Addr::UNSPECIFIED, crate::ipv6::solicited_node(&target));
        let repr = NdiscRepr::NeighborSolicit { target_addr: target, source_ll_addr: None };
        let mut buf = [0u8; 24];
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..])).unwrap();
        let mut all = std::vec::Vec::new();
        all.extend_from_slice(&src.octets());
        all.extend_from_slice(&dst.octets());
        all.extend_from_slice(&24u32.to_be_bytes());
        all.extend_from_slice(&[0, 0, 0, 58]);
        all.extend_from_slice(&buf);
        let mut sum: u64 = all.chunks(2).map(|c| u64::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
    }

    #[test]
    fn unsolicited_advertisement() {
        let target = addr("2001:db8::10");
        let repr = NdiscRepr::unsolicited_advert(target, MAC);
        let mut buf = [0u8; 40];
        repr.emit(&target, &crate::ipv6::ALL_NODES, &mut Icmpv6Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(&buf[..8], &[136, 0, buf[2], buf[3], 0x20, 0, 0, 0]);
        assert_eq!(buf[24], OPTION_TARGET_LL_ADDR);
        assert_eq!(&buf[32..], &[0u8; 8], "nothing past buffer_len");
        let p = Icmpv6Packet::new_checked(&buf[..32]).unwrap();
        assert!(p.verify_checksum(&target, &crate::ipv6::ALL_NODES));
        let parsed = NdiscRepr::parse(&p).unwrap();
        assert_eq!(parsed, repr);
        assert_eq!(parsed.target_addr(), target);
        assert_eq!(p.na_flags(), NaFlags { router: false, solicited: false, override_: true });
    }

    #[test]
    fn options_other_than_ours_are_skipped() {
        let target = addr("2001:db8::10");
        let mut buf = [0u8; 24 + 16 + 8];
        NdiscRepr::NeighborAdvert {
            flags: NaFlags { router: true, solicited: true, override_: false },
            target_addr: target,
            target_ll_addr: None,
        }
        .emit(&target, &target, &mut Icmpv6Packet::new_unchecked(&mut buf[..24]))
        .unwrap();
        // A nonce option (type 14, RFC 3971) of 16 octets, then a target link-layer address.
        buf[24] = 14;
        buf[25] = 2;
        buf[40..48].copy_from_slice(&[2, 1, 2, 0, 0, 0, 0, 9]);
        let p = Icmpv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.nd_options().count(), 2);
        assert!(p.nd_options().are_well_formed());
        match NdiscRepr::parse(&p).unwrap() {
            NdiscRepr::NeighborAdvert { flags, target_ll_addr, .. } => {
                assert!(flags.router && flags.solicited && !flags.override_);
                assert_eq!(target_ll_addr, Some(MacAddr([2, 0, 0, 0, 0, 9])));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_neighbor_messages() {
        let target = addr("2001:db8::1");
        let mut buf = [0u8; 32];
        NdiscRepr::solicit(target, MAC)
            .emit(&target, &target, &mut Icmpv6Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        // Zero-length option.
        let mut b = buf;
        b[25] = 0;
        let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.nd_options().count(), 0);
        assert!(matches!(NdiscRepr::parse(&p), Err(Error::Malformed(_))));
        // Option running past the end.
        let mut b = buf;
        b[25] = 2;
        assert!(matches!(
            NdiscRepr::parse(&Icmpv6Packet::new_checked(&b[..]).unwrap()),
            Err(Error::Malformed(_))
        ));
        // Trailing octets that are not a whole option.
        assert!(NdiscRepr::parse(&Icmpv6Packet::new_checked(&buf[..30]).unwrap()).is_err());
        // Code not 0.
        let mut b = buf;
        b[1] = 1;
        assert!(NdiscRepr::parse(&Icmpv6Packet::new_checked(&b[..]).unwrap()).is_err());
        // Too short, wrong type, multicast target.
        assert_eq!(
            NdiscRepr::parse(&Icmpv6Packet::new_checked(&buf[..23]).unwrap()).unwrap_err(),
            Error::Truncated { needed: 24, got: 23 }
        );
        let mut b = buf;
        b[0] = 128;
        assert!(matches!(
            NdiscRepr::parse(&Icmpv6Packet::new_checked(&b[..]).unwrap()),
            Err(Error::Unrecognized(_))
        ));
        let mut b = buf;
        b[8] = 0xff;
        assert!(NdiscRepr::parse(&Icmpv6Packet::new_checked(&b[..]).unwrap()).is_err());
        let mc = NdiscRepr::solicit(addr("ff02::1"), MAC);
        assert!(mc.emit(&target, &target, &mut Icmpv6Packet::new_unchecked(&mut buf[..])).is_err());
        let mut short = [0u8; 31];
        assert_eq!(
            NdiscRepr::solicit(target, MAC)
                .emit(&target, &target, &mut Icmpv6Packet::new_unchecked(&mut short[..]))
                .unwrap_err(),
            Error::Truncated { needed: 32, got: 31 }
        );
        // Unchecked short views never panic.
        let p = Icmpv6Packet::new_unchecked(&[135u8][..]);
        assert_eq!(p.target_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(p.nd_options().count(), 0);
        assert!(!p.verify_checksum(&target, &target));
        assert!(NdiscRepr::parse(&p).is_err());
        let mut tiny = [0u8; 3];
        Icmpv6Packet::new_unchecked(&mut tiny[..]).fill_checksum(&target, &target);
        Icmpv4Packet::new_unchecked(&mut tiny[..]).fill_checksum();
        assert_eq!(tiny, [0, 0, 0]);
    }
}
