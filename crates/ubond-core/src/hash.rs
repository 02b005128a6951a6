//! The Linux bonding transmit hash policies (`xmit_hash_policy`), bit for bit.
//!
//! [`xmit_hash`] computes what Linux's `bond_xmit_hash()` (`drivers/net/bonding/bond_main.c`)
//! returns for one frame, and [`select`] turns it into a slave index the way balance-xor and
//! 802.3ad do (`usable[hash % count]`, `bond_xmit_3ad_xor_slave_get`). Together they put every
//! flow on the same member as a kernel bond with the same members in the same order would.
//!
//! # The model of the frame
//!
//! The kernel hashes an `skb`; this module hashes the bytes of a frame as the bond would
//! transmit them, starting at the destination MAC, plus the tag the stack would have put in
//! the `skb` metadata rather than in the bytes:
//!
//! * `skb->protocol` is the EtherType at octets 12..14 and the network header starts at 14.
//!   A VLAN tag *in the bytes* is therefore seen the way the kernel sees one (EtherType 0x8100
//!   or 0x88a8): the `layer2+3`/`layer3+4` policies do not look behind it and fall back to the
//!   `layer2` hash, whose EtherType term is then 0x8100; the `encap*` policies walk it.
//! * `accel_vlan_tci` is a hardware-accelerated tag (`skb_vlan_tag_present`). This is how a
//!   Linux bond almost always sees VLAN traffic (it advertises `NETIF_F_HW_VLAN_CTAG_TX`, and
//!   received frames are untagged into the metadata before they are forwarded). Only the
//!   `vlan+srcmac` policy uses it: the full 16-bit TCI, priority and DEI bits included.
//!
//! # The formulas (current kernels; see `reference/linux-bonding-anchors.md` (d))
//!
//! * `layer2`: `d[5] ^ s[5] ^ ethertype`.
//! * `layer2+3`: `layer2 ^ A(src) ^ A(dst)`, then `h ^= h >> 16; h ^= h >> 8`. `A` is the
//!   address loaded little-endian (IPv4) or the XOR of its four little-endian words (IPv6).
//! * `layer3+4`: `ports ^ A(src) ^ A(dst)`, folded as above, then `>> 1`. `ports` is the first
//!   four octets of TCP/UDP/UDP-Lite/SCTP/DCCP/ESP (AH: octets 4..8), loaded little-endian;
//!   for an ICMP/ICMPv6 message with an identifier (echo, timestamp and their replies) it is
//!   `type | code << 8 | id << 16` instead (`id` in host order, 0 replaced by 1); otherwise 0.
//!   IPv4 fragments (any of them) have no ports; IPv6 extension headers are not walked.
//! * ICMP and ICMPv6 *errors* are hashed on the packet they quote (addresses and ports of
//!   the embedded header), in `layer2+3` and `layer3+4`.
//! * `encap2+3` / `encap3+4`: the same formulas, with addresses and ports taken by the
//!   kernel's generic flow dissector (`__skb_flow_dissect` with the bonding key set), which
//!   walks in-line VLAN tags, PPPoE, IPv6 extension headers, IP-in-IP, GRE (incl.
//!   transparent Ethernet bridging and PPTP), batman-adv, and hashes the **innermost**
//!   addresses and ports. It stops at MPLS, ARP and FCoE with no addresses (so their hash is
//!   the folded layer2 term under `encap2+3` and 0 under `encap3+4`, unlike `layer2+3`), and
//!   takes TIPC's node identity as the source address. It does not re-parse ICMP errors.
//! * `vlan+srcmac`: `(s[0]<<16 | s[1]<<8 | s[2]) ^ (s[3]<<16 | s[4]<<8 | s[5]) ^ tci`.
//! * Non-IP frames (or IP headers cut short) fall back to the `layer2` hash; a frame shorter
//!   than an Ethernet header hashes to 0.
//!
//! Not reproducible from bytes, hence not modelled: under `encap3+4` the kernel returns
//! `skb->hash` unchanged when the `skb` already carries an L4 hash (`skb->l4_hash`: traffic of a
//! connected TCP or UDP socket, which sets `sk_txhash`; locally built IPv6 whenever automatic
//! flow labels are on, the default, since `ip6_make_flowlabel` computes it; or a NIC's RSS
//! hash); that value comes from a random boot-time key. Both effects were observed on 6.1. A TIPC keepalive is hashed on a random number in the kernel; here on its
//! node identity word like any other TIPC message.
//!
//! # Kernel generations
//!
//! [`xmit_hash`] follows current kernels, which Debian 12's 6.1 already matches (checked on the
//! real driver, see `tests/hash_vectors.rs`). [`HashCompat`] reproduces older generations:
//! the `layer2` EtherType byte order before 5.15, the extra `>> 1` on `layer2+3` from 4.15 to
//! the 2022 fix (5.18 and stable), and the older ICMP treatment.
//!
//! Parsing is done here on raw octets, not with `ubond_wire`'s checked views, because the
//! bonding path is deliberately lax and bit-exactness needs the same laxness: it reads an IPv4
//! header without checking its version, accepts an IHL below 5 (and then reads "ports" from
//! inside the IP header), and never looks at total or payload lengths. The numbers come from
//! `ubond_wire` (EtherTypes, `l4::ports_word`, `icmp::linux_flow_has_id`).
//!
//! No allocation, no panics: every read is bounds-checked and a short frame simply behaves as
//! the kernel's failed `pskb_may_pull` / `skb_header_pointer` does.

use core::fmt;
use core::str::FromStr;

use ubond_wire::ethernet::{
    ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN,
};
use ubond_wire::icmp::linux_flow_has_id;
use ubond_wire::ip::Protocol;
use ubond_wire::l4::ports_word;

/// A bonding transmit hash policy, with the kernel's names and numbers
/// (`BOND_XMIT_POLICY_*`, the `xmit_hash_policy` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum XmitHashPolicy {
    /// `layer2` (0): destination and source MAC low octets and the EtherType. The default.
    #[default]
    Layer2,
    /// `layer3+4` (1): IP addresses and transport ports (or ICMP identifier).
    Layer34,
    /// `layer2+3` (2): the `layer2` term and the IP addresses.
    Layer23,
    /// `encap2+3` (3): `layer2+3` on the innermost IP header the flow dissector finds.
    Encap23,
    /// `encap3+4` (4): `layer3+4` on the innermost headers the flow dissector finds.
    Encap34,
    /// `vlan+srcmac` (5, Linux 5.12+): source MAC and the accelerated VLAN TCI.
    VlanSrcMac,
}

impl XmitHashPolicy {
    /// Every policy, in the kernel's numeric order.
    pub const ALL: [XmitHashPolicy; 6] = [
        XmitHashPolicy::Layer2,
        XmitHashPolicy::Layer34,
        XmitHashPolicy::Layer23,
        XmitHashPolicy::Encap23,
        XmitHashPolicy::Encap34,
        XmitHashPolicy::VlanSrcMac,
    ];

    /// The kernel's name, as `/sys/class/net/bondX/bonding/xmit_hash_policy` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            XmitHashPolicy::Layer2 => "layer2",
            XmitHashPolicy::Layer34 => "layer3+4",
            XmitHashPolicy::Layer23 => "layer2+3",
            XmitHashPolicy::Encap23 => "encap2+3",
            XmitHashPolicy::Encap34 => "encap3+4",
            XmitHashPolicy::VlanSrcMac => "vlan+srcmac",
        }
    }

    /// The kernel's number (`BOND_XMIT_POLICY_*`).
    pub const fn number(self) -> u8 {
        match self {
            XmitHashPolicy::Layer2 => 0,
            XmitHashPolicy::Layer34 => 1,
            XmitHashPolicy::Layer23 => 2,
            XmitHashPolicy::Encap23 => 3,
            XmitHashPolicy::Encap34 => 4,
            XmitHashPolicy::VlanSrcMac => 5,
        }
    }

    /// The policy with kernel number `n`, if there is one.
    pub const fn from_number(n: u64) -> Option<XmitHashPolicy> {
        match n {
            0 => Some(XmitHashPolicy::Layer2),
            1 => Some(XmitHashPolicy::Layer34),
            2 => Some(XmitHashPolicy::Layer23),
            3 => Some(XmitHashPolicy::Encap23),
            4 => Some(XmitHashPolicy::Encap34),
            5 => Some(XmitHashPolicy::VlanSrcMac),
            _ => None,
        }
    }

    /// Whether the policy reads L4 ports (and drops the low bit of the folded hash).
    pub const fn uses_ports(self) -> bool {
        matches!(self, XmitHashPolicy::Layer34 | XmitHashPolicy::Encap34)
    }
}

impl fmt::Display for XmitHashPolicy {
    /// The kernel's name (`layer3+4`); `{:#}` gives sysfs's "name number" form (`layer3+4 1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{} {}", self.name(), self.number())
        } else {
            f.write_str(self.name())
        }
    }
}

/// The error of parsing an [`XmitHashPolicy`]: neither a policy name nor a policy number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsePolicyError;

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "invalid xmit_hash_policy: expected layer2, layer3+4, layer2+3, encap2+3, encap3+4, \
             vlan+srcmac or 0-5",
        )
    }
}

impl std::error::Error for ParsePolicyError {}

impl FromStr for XmitHashPolicy {
    type Err = ParsePolicyError;

    /// Accepts what the kernel's option parser (`bond_opt_parse`) accepts: surrounding
    /// whitespace (e.g. the newline of `echo`) is ignored; a value starting with a digit is a
    /// number (decimal, `0x` hex or leading-`0` octal, as `kstrtoull(.., 0, ..)`), anything
    /// else must be a policy name, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            let n = parse_kernel_number(s).ok_or(ParsePolicyError)?;
            return XmitHashPolicy::from_number(n).ok_or(ParsePolicyError);
        }
        XmitHashPolicy::ALL.into_iter().find(|p| p.name() == s).ok_or(ParsePolicyError)
    }
}

/// `kstrtoull(s, 0, ..)`: `0x`/`0X` prefix is hex, a leading `0` is octal, else decimal.
fn parse_kernel_number(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// How ICMP is hashed, by kernel generation (only the non-encap policies differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpHash {
    /// Current kernels (the `ntohs` fix of 2021, in 5.12 and stable): the identifier of echo
    /// and timestamp messages feeds `layer3+4` in host order (0 becomes 1), and errors are
    /// hashed on the quoted packet.
    Current,
    /// The first ICMP-aware kernels (5.x before the fix): as `Current` but the identifier is
    /// taken in network byte order (its two octets swapped relative to `Current`).
    RawId,
    /// Older kernels: ICMP has no ports word (it is 0) and errors are hashed on their own
    /// addresses. Linux gained ICMP awareness in bonding around 5.5 (approximate).
    Ignored,
}

/// Kernel generation knobs for [`xmit_hash_compat`]. [`HashCompat::CURRENT`] is what
/// [`xmit_hash`] uses; [`HashCompat::for_kernel`] picks the knobs for a kernel version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashCompat {
    /// Before the XDP refactor of `bond_xmit_hash` (5.15) the `layer2` term XORed the EtherType
    /// as the raw big-endian field loaded little-endian (0x0008 for IPv4). Same result for two
    /// slaves, different for three or more.
    pub layer2_raw_ethertype: bool,
    /// From 4.15 (b5f862180d70) until the April 2022 fix (49aefd131739, 5.18 and stable)
    /// `layer2+3` (and `encap2+3`) also dropped the low bit (`>> 1`).
    pub layer23_drop_low_bit: bool,
    /// ICMP treatment.
    pub icmp: IcmpHash,
}

impl HashCompat {
    /// Current kernels (and Debian 12's 6.1, observed on the real driver).
    pub const CURRENT: HashCompat = HashCompat {
        layer2_raw_ethertype: false,
        layer23_drop_low_bit: false,
        icmp: IcmpHash::Current,
    };

    /// The knobs for mainline kernel `major.minor`, by the version each change first shipped
    /// in. Stable branches picked up some fixes earlier (the `layer2+3` fix went to 5.15.y and
    /// 5.10.y, the ICMP identifier fix to 5.10.y), so check a distribution kernel against real
    /// captures when it matters. The ICMP cut-over (5.5) is approximate.
    pub const fn for_kernel(major: u32, minor: u32) -> HashCompat {
        let v = major * 1000 + minor;
        HashCompat {
            layer2_raw_ethertype: v < 5015,
            layer23_drop_low_bit: v >= 4015 && v < 5018,
            icmp: if v < 5005 {
                IcmpHash::Ignored
            } else if v < 5012 {
                IcmpHash::RawId
            } else {
                IcmpHash::Current
            },
        }
    }
}

impl Default for HashCompat {
    fn default() -> Self {
        HashCompat::CURRENT
    }
}

/// The member index a hash selects among `usable` transmit-capable members in enslave order:
/// `hash % usable`, `None` when there is none (the kernel drops the frame).
pub const fn select(hash: u32, usable: usize) -> Option<usize> {
    if usable == 0 {
        None
    } else {
        // `hash % count` with both as u32 in the kernel; a usize count above u32::MAX cannot
        // occur there, and for any count the remainder is below it.
        Some((hash as usize) % usable)
    }
}

/// What Linux's `bond_xmit_hash()` returns for `frame` (starting at the destination MAC) under
/// `policy`, with `accel_vlan_tci` the hardware-accelerated VLAN tag, if any. Current kernels;
/// see the module docs for the model and [`xmit_hash_compat`] for older ones.
///
/// Never panics, allocates nothing, reads at most the first few hundred octets.
pub fn xmit_hash(policy: XmitHashPolicy, frame: &[u8], accel_vlan_tci: Option<u16>) -> u32 {
    xmit_hash_compat(policy, frame, accel_vlan_tci, HashCompat::CURRENT)
}

/// [`xmit_hash`] for an older kernel generation described by `compat`.
pub fn xmit_hash_compat(
    policy: XmitHashPolicy,
    frame: &[u8],
    accel_vlan_tci: Option<u16>,
    compat: HashCompat,
) -> u32 {
    if policy == XmitHashPolicy::VlanSrcMac {
        return vlan_srcmac_hash(frame, accel_vlan_tci);
    }
    if policy == XmitHashPolicy::Layer2 {
        return eth_hash(frame, compat);
    }
    let Some(l2_proto) = be16(frame, 12) else {
        return eth_hash(frame, compat);
    };
    let keys = match policy {
        XmitHashPolicy::Encap23 | XmitHashPolicy::Encap34 => {
            flow_dissect(frame, l2_proto, ETH_HLEN, accel_vlan_tci.is_some())
        }
        _ => bond_flow_dissect(frame, l2_proto, policy == XmitHashPolicy::Layer34, compat),
    };
    let Some(keys) = keys else {
        return eth_hash(frame, compat);
    };
    let mut hash = match policy {
        XmitHashPolicy::Layer23 | XmitHashPolicy::Encap23 => eth_hash(frame, compat),
        _ => {
            if keys.icmp_id != 0 {
                u32::from(keys.icmp_type)
                    | u32::from(keys.icmp_code) << 8
                    | u32::from(keys.icmp_id) << 16
            } else {
                keys.ports
            }
        }
    };
    hash ^= keys.dst ^ keys.src;
    hash ^= hash >> 16;
    hash ^= hash >> 8;
    let drop_low_bit = policy.uses_ports()
        || (compat.layer23_drop_low_bit
            && matches!(policy, XmitHashPolicy::Layer23 | XmitHashPolicy::Encap23));
    if drop_low_bit {
        hash >> 1
    } else {
        hash
    }
}

const ETH_HLEN: usize = 14;
const ETHERTYPE_PPP_SES: u16 = 0x8864;
const ETHERTYPE_MPLS_UC: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_RARP: u16 = 0x8035;
const ETHERTYPE_TIPC: u16 = 0x88ca;
const ETHERTYPE_FCOE: u16 = 0x8906;
const ETHERTYPE_BATMAN: u16 = 0x4305;
const ETHERTYPE_TEB: u16 = 0x6558;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;
/// `MAX_FLOW_DISSECT_HDRS` in `net/core/flow_dissector.c`.
const MAX_FLOW_DISSECT_HDRS: u32 = 15;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// A `__be32` field read with a plain load on a little-endian host.
fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// `ipv6_addr_hash()`: XOR of the address's four little-endian words.
fn ipv6_addr_hash(b: &[u8], at: usize) -> Option<u32> {
    Some(le32(b, at)? ^ le32(b, at + 4)? ^ le32(b, at + 8)? ^ le32(b, at + 12)?)
}

/// `bond_eth_hash()`.
fn eth_hash(frame: &[u8], compat: HashCompat) -> u32 {
    if frame.len() < ETH_HLEN {
        return 0;
    }
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ethertype = if compat.layer2_raw_ethertype { ethertype.swap_bytes() } else { ethertype };
    u32::from(frame[5] ^ frame[11]) ^ u32::from(ethertype)
}

/// `bond_vlan_srcmac_hash()`.
fn vlan_srcmac_hash(frame: &[u8], accel_vlan_tci: Option<u16>) -> u32 {
    if frame.len() < ETH_HLEN {
        return 0;
    }
    let s = &frame[6..12];
    let vendor = u32::from(s[0]) << 16 | u32::from(s[1]) << 8 | u32::from(s[2]);
    let dev = u32::from(s[3]) << 16 | u32::from(s[4]) << 8 | u32::from(s[5]);
    u32::from(accel_vlan_tci.unwrap_or(0)) ^ vendor ^ dev
}

/// The part of `struct flow_keys` the bonding hash reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Keys {
    /// `flow_get_u32_src()`: the source address term (0 when no address was found).
    src: u32,
    /// `flow_get_u32_dst()`.
    dst: u32,
    /// `flow->ports.ports`, loaded little-endian.
    ports: u32,
    icmp_type: u8,
    icmp_code: u8,
    /// `flow->icmp.id` (host order; 0 = "no identifier").
    icmp_id: u16,
}

/// `__skb_flow_get_ports()`: the ports word of `ip_proto` at `thoff`, 0 if none or cut short.
fn get_ports(frame: &[u8], thoff: usize, ip_proto: u8) -> u32 {
    frame
        .get(thoff..)
        .and_then(|l4| ports_word(Protocol::from(ip_proto), l4))
        .map_or(0, u32::from_le_bytes)
}

/// `skb_flow_get_icmp_tci()`: leaves `keys` alone if 8 octets are not there.
fn get_icmp_tci(frame: &[u8], thoff: usize, keys: &mut Keys, icmp: IcmpHash) {
    let Some(ih) = thoff.checked_add(8).and_then(|end| frame.get(thoff..end)) else {
        return;
    };
    keys.icmp_type = ih[0];
    keys.icmp_code = ih[1];
    keys.icmp_id = if linux_flow_has_id(ih[0]) {
        let id = u16::from_be_bytes([ih[4], ih[5]]);
        match (icmp, id) {
            (_, 0) => 1,
            (IcmpHash::RawId, id) => id.swap_bytes(),
            (_, id) => id,
        }
    } else {
        0
    };
}

/// `bond_flow_ip()`: one IP header at `*nhoff`, no validation beyond its fixed size.
/// `ip_proto` is left alone for an IPv4 fragment (it stays "none", -1 in the kernel).
fn bond_flow_ip(
    frame: &[u8],
    keys: &mut Keys,
    l2_proto: u16,
    nhoff: &mut usize,
    ip_proto: &mut Option<u8>,
    l34: bool,
) -> bool {
    let at = *nhoff;
    if l2_proto == ETHERTYPE_IPV4 {
        let Some(iph) = at.checked_add(20).and_then(|end| frame.get(at..end)) else {
            return false;
        };
        keys.src = le32(iph, 12).unwrap_or(0);
        keys.dst = le32(iph, 16).unwrap_or(0);
        *nhoff = at + usize::from(iph[0] & 0x0f) * 4;
        let frag_off = u16::from_be_bytes([iph[6], iph[7]]);
        if frag_off & 0x3fff == 0 {
            *ip_proto = Some(iph[9]);
        }
    } else if l2_proto == ETHERTYPE_IPV6 {
        let Some(iph) = at.checked_add(40).and_then(|end| frame.get(at..end)) else {
            return false;
        };
        keys.src = ipv6_addr_hash(iph, 8).unwrap_or(0);
        keys.dst = ipv6_addr_hash(iph, 24).unwrap_or(0);
        *nhoff = at + 40;
        *ip_proto = Some(iph[6]);
    } else {
        return false;
    }
    if l34 {
        if let Some(p) = *ip_proto {
            keys.ports = get_ports(frame, *nhoff, p);
        }
    }
    true
}

/// `bond_flow_dissect()` for the non-encap policies (`layer2+3`, `layer3+4`).
fn bond_flow_dissect(frame: &[u8], l2_proto: u16, l34: bool, compat: HashCompat) -> Option<Keys> {
    let mut keys = Keys::default();
    let mut nhoff = ETH_HLEN;
    let mut ip_proto = None;
    if !bond_flow_ip(frame, &mut keys, l2_proto, &mut nhoff, &mut ip_proto, l34) {
        return None;
    }
    if compat.icmp == IcmpHash::Ignored {
        return Some(keys);
    }
    // ICMP errors carry at least the first 8 octets of the offending packet's transport
    // header: hash them like the flow that caused the error.
    let is_err = match ip_proto {
        Some(IPPROTO_ICMP) => {
            get_icmp_tci(frame, nhoff, &mut keys, compat.icmp);
            matches!(keys.icmp_type, 3 | 4 | 5 | 11 | 12) // icmp_is_err()
        }
        Some(IPPROTO_ICMPV6) => {
            get_icmp_tci(frame, nhoff, &mut keys, compat.icmp);
            keys.icmp_type & 0x80 == 0 // icmpv6_is_err()
        }
        _ => false,
    };
    if is_err {
        nhoff += 8;
        if !bond_flow_ip(frame, &mut keys, l2_proto, &mut nhoff, &mut ip_proto, l34) {
            return None;
        }
    }
    Some(keys)
}

enum Ret {
    OutGood,
    OutBad,
    ProtoAgain,
    IpProtoAgain,
    Continue,
}

/// `__skb_flow_dissect()` with `flow_keys_bonding` and no flags: the `encap*` policies.
/// `None` is the kernel's `false` (the caller then falls back to the `layer2` hash).
fn flow_dissect(frame: &[u8], l2_proto: u16, nhoff: usize, accel_tag: bool) -> Option<Keys> {
    let mut keys = Keys::default();
    let mut proto = l2_proto;
    let mut nhoff = nhoff;
    let mut ip_proto: u8 = 0;
    let mut is_fragment = false;
    let mut vlan_depth = 0u8;
    let mut num_hdrs = 0u32;
    let mut allowed = || {
        num_hdrs += 1;
        num_hdrs <= MAX_FLOW_DISSECT_HDRS
    };
    'proto: loop {
        let ret = match proto {
            ETHERTYPE_IPV4 => match nhoff.checked_add(20).and_then(|end| frame.get(nhoff..end)) {
                Some(iph) if iph[0] & 0x0f >= 5 => {
                    nhoff += usize::from(iph[0] & 0x0f) * 4;
                    ip_proto = iph[9];
                    keys.src = le32(iph, 12).unwrap_or(0);
                    keys.dst = le32(iph, 16).unwrap_or(0);
                    let frag_off = u16::from_be_bytes([iph[6], iph[7]]);
                    if frag_off & 0x3fff != 0 {
                        // Later fragments and (without FLOW_DISSECTOR_F_PARSE_1ST_FRAG)
                        // the first one stop here, with addresses and no ports.
                        is_fragment = true;
                        Ret::OutGood
                    } else {
                        Ret::Continue
                    }
                }
                _ => Ret::OutBad,
            },
            ETHERTYPE_IPV6 => match nhoff.checked_add(40).and_then(|end| frame.get(nhoff..end)) {
                Some(iph) => {
                    ip_proto = iph[6];
                    nhoff += 40;
                    keys.src = ipv6_addr_hash(iph, 8).unwrap_or(0);
                    keys.dst = ipv6_addr_hash(iph, 24).unwrap_or(0);
                    Ret::Continue
                }
                None => Ret::OutBad,
            },
            ETHERTYPE_VLAN | ETHERTYPE_QINQ => {
                let mut bad = false;
                if vlan_depth == 0 && accel_tag {
                    // The accelerated tag counts as the first VLAN; skb->protocol follows.
                    proto = l2_proto;
                } else {
                    match be16(frame, nhoff + 2) {
                        Some(p) => {
                            proto = p;
                            nhoff += 4;
                        }
                        None => bad = true,
                    }
                }
                if bad {
                    Ret::OutBad
                } else {
                    // A third and later tag is walked too, only not recorded (no VLAN key).
                    vlan_depth = vlan_depth.saturating_add(1);
                    Ret::ProtoAgain
                }
            }
            ETHERTYPE_PPP_SES => match nhoff.checked_add(8).and_then(|end| frame.get(nhoff..end)) {
                // is_pppoe_ses_hdr_valid(): version 1, type 1, code 0.
                Some(h) if h[0] == 0x11 && h[1] == 0 => {
                    let ppp_proto = u16::from_be_bytes([h[6], h[7]]);
                    nhoff += 8;
                    match ppp_proto {
                        0x0021 => {
                            proto = ETHERTYPE_IPV4;
                            Ret::ProtoAgain
                        }
                        0x0057 => {
                            proto = ETHERTYPE_IPV6;
                            Ret::ProtoAgain
                        }
                        0x0281 => {
                            proto = ETHERTYPE_MPLS_UC;
                            Ret::ProtoAgain
                        }
                        0x0283 => {
                            proto = ETHERTYPE_MPLS_MC;
                            Ret::ProtoAgain
                        }
                        p if p & 0x0101 == 0x0001 => Ret::OutGood, // ppp_proto_is_valid()
                        _ => Ret::OutBad,
                    }
                }
                _ => Ret::OutBad,
            },
            ETHERTYPE_TIPC => match le32(frame, nhoff + 12) {
                Some(node) if frame.len() >= nhoff + 16 => {
                    // tipc_hdr_rps_key(): the source node identity, as the source address.
                    keys.src = node;
                    keys.dst = 0;
                    Ret::OutGood
                }
                _ => Ret::OutBad,
            },
            // The bonding key set has no MPLS or ARP key: both stop at once, no addresses.
            ETHERTYPE_MPLS_UC | ETHERTYPE_MPLS_MC | ETHERTYPE_ARP | ETHERTYPE_RARP => Ret::OutGood,
            ETHERTYPE_FCOE => {
                if frame.len().saturating_sub(nhoff) < 38 {
                    Ret::OutBad
                } else {
                    Ret::OutGood
                }
            }
            ETHERTYPE_BATMAN => {
                // batadv_unicast_packet (10 octets: type, version, ttl, ttvn, dest) + ethhdr.
                match nhoff.checked_add(24).and_then(|end| frame.get(nhoff..end)) {
                    Some(h) if h[1] == 15 && h[0] == 0x40 => {
                        proto = u16::from_be_bytes([h[22], h[23]]);
                        nhoff += 24;
                        Ret::ProtoAgain
                    }
                    _ => Ret::OutBad,
                }
            }
            _ => Ret::OutBad,
        };
        match ret {
            Ret::OutGood => return Some(keys),
            Ret::ProtoAgain => {
                if allowed() {
                    continue 'proto;
                }
                return Some(keys);
            }
            Ret::OutBad => return None,
            Ret::Continue | Ret::IpProtoAgain => {}
        }
        // ip_proto_again:
        loop {
            let ret = match ip_proto {
                47 => gre(frame, &mut proto, &mut nhoff),
                // Hop-by-hop, routing, destination options: IPv6 only.
                0 | 43 | 60 if proto == ETHERTYPE_IPV6 => {
                    match nhoff.checked_add(2).and_then(|end| frame.get(nhoff..end)) {
                        Some(h) => {
                            ip_proto = h[0];
                            nhoff += (usize::from(h[1]) + 1) << 3;
                            Ret::IpProtoAgain
                        }
                        None => Ret::OutBad,
                    }
                }
                44 if proto == ETHERTYPE_IPV6 => {
                    match nhoff.checked_add(8).and_then(|end| frame.get(nhoff..end)) {
                        Some(fh) => {
                            is_fragment = true;
                            nhoff += 8;
                            ip_proto = fh[0];
                            Ret::OutGood
                        }
                        None => Ret::OutBad,
                    }
                }
                4 => {
                    proto = ETHERTYPE_IPV4;
                    Ret::ProtoAgain
                }
                41 => {
                    proto = ETHERTYPE_IPV6;
                    Ret::ProtoAgain
                }
                137 => {
                    proto = ETHERTYPE_MPLS_UC;
                    Ret::ProtoAgain
                }
                IPPROTO_ICMP | IPPROTO_ICMPV6 => {
                    get_icmp_tci(frame, nhoff, &mut keys, IcmpHash::Current);
                    Ret::Continue
                }
                _ => Ret::Continue,
            };
            if !is_fragment {
                keys.ports = get_ports(frame, nhoff, ip_proto);
            }
            match ret {
                Ret::ProtoAgain => {
                    if allowed() {
                        continue 'proto;
                    }
                    return Some(keys);
                }
                Ret::IpProtoAgain => {
                    if allowed() {
                        continue;
                    }
                    return Some(keys);
                }
                Ret::OutGood | Ret::Continue => return Some(keys),
                Ret::OutBad => return None,
            }
        }
    }
}

/// `__skb_flow_dissect_gre()` without `FLOW_DISSECTOR_F_STOP_AT_ENCAP`.
fn gre(frame: &[u8], proto: &mut u16, nhoff: &mut usize) -> Ret {
    const CSUM: u16 = 0x8000;
    const ROUTING: u16 = 0x4000;
    const KEY: u16 = 0x2000;
    const SEQ: u16 = 0x1000;
    const ACK: u16 = 0x0080;
    const VERSION: u16 = 0x0007;
    const PROTO_PPP: u16 = 0x880b;
    let (Some(flags), Some(p)) = (be16(frame, *nhoff), be16(frame, *nhoff + 2)) else {
        return Ret::OutBad;
    };
    if flags & ROUTING != 0 {
        return Ret::OutGood;
    }
    let ver = flags & VERSION;
    if ver > 1 {
        return Ret::OutGood;
    }
    *proto = p;
    if ver == 1 && !(p == PROTO_PPP && flags & KEY != 0) {
        return Ret::OutGood;
    }
    let mut offset = 4;
    if flags & CSUM != 0 {
        offset += 4;
    }
    if flags & KEY != 0 {
        if le32(frame, *nhoff + offset).is_none() {
            return Ret::OutBad;
        }
        offset += 4;
    }
    if flags & SEQ != 0 {
        offset += 4;
    }
    if ver == 0 {
        if *proto == ETHERTYPE_TEB {
            let Some(inner) = be16(frame, *nhoff + offset + 12) else {
                return Ret::OutBad;
            };
            *proto = inner;
            offset += ETH_HLEN;
        }
    } else {
        if flags & ACK != 0 {
            offset += 4;
        }
        let Some(ppp) = be16(frame, *nhoff + offset + 2) else {
            return Ret::OutBad;
        };
        match ppp {
            0x0021 => *proto = ETHERTYPE_IPV4,
            0x0057 => *proto = ETHERTYPE_IPV6,
            _ => {}
        }
        offset += 4;
    }
    *nhoff += offset;
    Ret::ProtoAgain
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
    const SRC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    /// An Ethernet + IPv4 + UDP/TCP/ICMP frame (header fields only as far as hashing goes).
    fn v4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(l4);
        f
    }

    fn fold(mut h: u32) -> u32 {
        h ^= h >> 16;
        h ^= h >> 8;
        h
    }

    const A: [u8; 4] = [192, 0, 2, 1];
    const B: [u8; 4] = [192, 0, 2, 77];
    const UDP: [u8; 8] = [0x13, 0x88, 0x00, 0x35, 0, 8, 0, 0]; // 5000 -> 53

    #[test]
    fn names_numbers_and_parsing() {
        for p in XmitHashPolicy::ALL {
            assert_eq!(p.name().parse::<XmitHashPolicy>(), Ok(p));
            assert_eq!(p.number().to_string().parse::<XmitHashPolicy>(), Ok(p));
            assert_eq!(XmitHashPolicy::from_number(u64::from(p.number())), Some(p));
        }
        assert_eq!("layer3+4\n".parse(), Ok(XmitHashPolicy::Layer34));
        assert_eq!(format!("{:#}", XmitHashPolicy::Layer23), "layer2+3 2");
        assert_eq!(XmitHashPolicy::Encap34.to_string(), "encap3+4");
        assert_eq!("0x5".parse(), Ok(XmitHashPolicy::VlanSrcMac));
        assert_eq!("6".parse::<XmitHashPolicy>(), Err(ParsePolicyError));
        assert_eq!("layer3".parse::<XmitHashPolicy>(), Err(ParsePolicyError));
        assert_eq!("".parse::<XmitHashPolicy>(), Err(ParsePolicyError));
        assert_eq!("09".parse::<XmitHashPolicy>(), Err(ParsePolicyError));
    }

    #[test]
    fn select_is_modulo() {
        assert_eq!(select(7, 0), None);
        assert_eq!(select(7, 3), Some(1));
        assert_eq!(select(u32::MAX, 4), Some(3));
    }

    #[test]
    fn layer2() {
        let f = v4(17, A, B, &UDP);
        // 0x0b ^ 0x56 ^ 0x0800
        assert_eq!(xmit_hash(XmitHashPolicy::Layer2, &f, None), 0x0b ^ 0x56 ^ 0x0800);
        let old = HashCompat::for_kernel(5, 10);
        assert_eq!(xmit_hash_compat(XmitHashPolicy::Layer2, &f, None, old), 0x0b ^ 0x56 ^ 0x0008);
        // Short frames hash to 0.
        assert_eq!(xmit_hash(XmitHashPolicy::Layer2, &f[..13], None), 0);
    }

    #[test]
    fn layer23_ipv4() {
        let f = v4(17, A, B, &UDP);
        let l2 = 0x0b ^ 0x56 ^ 0x0800;
        let expect = fold(l2 ^ u32::from_le_bytes(A) ^ u32::from_le_bytes(B));
        assert_eq!(xmit_hash(XmitHashPolicy::Layer23, &f, None), expect);
        // 4.15 .. 5.17: also >> 1.
        let mid = HashCompat::for_kernel(5, 4);
        assert_eq!(
            xmit_hash_compat(XmitHashPolicy::Layer23, &f, None, mid),
            fold(0x0b ^ 0x56 ^ 0x0008 ^ u32::from_le_bytes(A) ^ u32::from_le_bytes(B)) >> 1
        );
        // By hand: A ^ B loaded LE = 0x4c000000 (only the last octet differs: 1 ^ 77);
        // l2 = 0x085d; h = 0x4c00085d; h ^= h >> 16 -> 0x4c00445d; h ^= h >> 8 -> 0x4c4c4419.
        assert_eq!(expect, 0x4c4c_4419);
    }

    #[test]
    fn layer34_udp_and_fragments() {
        let f = v4(17, A, B, &UDP);
        let ports = u32::from_le_bytes([0x13, 0x88, 0x00, 0x35]);
        let expect = fold(ports ^ u32::from_le_bytes(A) ^ u32::from_le_bytes(B)) >> 1;
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f, None), expect);
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &f, None), expect);
        // By hand: ports 0x35008813 ^ 0x4c000000 = 0x79008813 -> 0x7900f113 -> 0x7979f1e2, >> 1.
        assert_eq!(expect, 0x3cbc_f8f1);
        // Any fragment: no ports (MF set, offset 0).
        let mut frag = f.clone();
        frag[20] = 0x20;
        let addr_only = fold(u32::from_le_bytes(A) ^ u32::from_le_bytes(B)) >> 1;
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &frag, None), addr_only);
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &frag, None), addr_only);
        frag[20] = 0x00;
        frag[21] = 0x10; // offset 16, no MF
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &frag, None), addr_only);
        // Truncated L4: ports 0.
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f[..36], None), addr_only);
        // Truncated IP header: layer2 fallback.
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f[..33], None), 0x0b ^ 0x56 ^ 0x0800);
    }

    #[test]
    fn layer34_esp_ah_and_unknown() {
        let spi = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8];
        let addrs = u32::from_le_bytes(A) ^ u32::from_le_bytes(B);
        let esp = v4(50, A, B, &spi);
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &esp, None), fold(0xefbe_adde ^ addrs) >> 1);
        let ah = v4(51, A, B, &spi);
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &ah, None), fold(0x0403_0201 ^ addrs) >> 1);
        let gre_unknown = v4(99, A, B, &spi);
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &gre_unknown, None), fold(addrs) >> 1);
    }

    #[test]
    fn icmp_echo_and_errors() {
        let echo = [8, 0, 0, 0, 0x12, 0x34, 0, 1];
        let f = v4(1, A, B, &echo);
        let addrs = u32::from_le_bytes(A) ^ u32::from_le_bytes(B);
        let tci = 8 | 0x1234 << 16;
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f, None), fold(tci ^ addrs) >> 1);
        // id 0 counts as 1.
        let f0 = v4(1, A, B, &[0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f0, None), fold(1 << 16 ^ addrs) >> 1);
        // Old generations.
        let raw = HashCompat { icmp: IcmpHash::RawId, ..HashCompat::CURRENT };
        assert_eq!(
            xmit_hash_compat(XmitHashPolicy::Layer34, &f, None, raw),
            fold((8 | 0x3412 << 16) ^ addrs) >> 1
        );
        let ign = HashCompat { icmp: IcmpHash::Ignored, ..HashCompat::CURRENT };
        assert_eq!(xmit_hash_compat(XmitHashPolicy::Layer34, &f, None, ign), fold(addrs) >> 1);

        // Port unreachable from router R about the UDP flow A -> B: hashed like that flow.
        let r = [198, 18, 0, 1];
        let mut quoted = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        quoted.extend_from_slice(&A);
        quoted.extend_from_slice(&B);
        quoted.extend_from_slice(&UDP);
        let mut err = vec![3, 3, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&quoted);
        let e = v4(1, r, A, &err);
        let flow = v4(17, A, B, &UDP);
        assert_eq!(
            xmit_hash(XmitHashPolicy::Layer34, &e, None),
            xmit_hash(XmitHashPolicy::Layer34, &flow, None)
        );
        // layer2+3 too (the layer2 term is the same frame's).
        assert_eq!(
            xmit_hash(XmitHashPolicy::Layer23, &e, None),
            xmit_hash(XmitHashPolicy::Layer23, &flow, None)
        );
        // Encap does not re-parse errors: outer addresses, no ports, no id.
        assert_eq!(
            xmit_hash(XmitHashPolicy::Encap34, &e, None),
            fold(u32::from_le_bytes(r) ^ u32::from_le_bytes(A)) >> 1
        );
        // A cut-short quoted header: the kernel gives up and uses layer2.
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &e[..50], None), 0x0b ^ 0x56 ^ 0x0800);
    }

    fn v6(next: u8, l4: &[u8]) -> (Vec<u8>, u32) {
        let s: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let d: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, next, 64]);
        f.extend_from_slice(&s);
        f.extend_from_slice(&d);
        f.extend_from_slice(l4);
        // Both addresses share their first three words; the last words differ.
        let addrs = u32::from_le_bytes([0, 0, 0, 1]) ^ u32::from_le_bytes([0, 0, 0x12, 0x34]);
        (f, addrs)
    }

    #[test]
    fn ipv6_policies() {
        let (f, addrs) = v6(17, &UDP);
        let ports = u32::from_le_bytes([0x13, 0x88, 0x00, 0x35]);
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f, None), fold(ports ^ addrs) >> 1);
        assert_eq!(
            xmit_hash(XmitHashPolicy::Layer23, &f, None),
            fold(0x0b ^ 0x56 ^ 0x86dd ^ addrs)
        );
        // Extension header: not walked by layer3+4, walked by encap3+4.
        let mut hbh = vec![17, 0, 0, 0, 0, 0, 0, 0];
        hbh.extend_from_slice(&UDP);
        let (f, _) = v6(0, &hbh);
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f, None), fold(addrs) >> 1);
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &f, None), fold(ports ^ addrs) >> 1);
        // ICMPv6 echo request.
        let (f, _) = v6(58, &[128, 0, 0, 0, 0x00, 0x07, 0, 1]);
        assert_eq!(
            xmit_hash(XmitHashPolicy::Layer34, &f, None),
            fold((128 | 7 << 16) ^ addrs) >> 1
        );
    }

    #[test]
    fn non_ip_falls_back_to_layer2() {
        let mut arp = Vec::new();
        arp.extend_from_slice(&[0xff; 6]);
        arp.extend_from_slice(&SRC);
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        arp.extend_from_slice(&[0; 20]);
        let l2 = 0xff ^ 0x56 ^ 0x0806;
        for p in [XmitHashPolicy::Layer2, XmitHashPolicy::Layer23, XmitHashPolicy::Layer34] {
            assert_eq!(xmit_hash(p, &arp, None), l2, "{p}");
        }
        // The flow dissector accepts ARP with no addresses: folded layer2 / zero.
        assert_eq!(xmit_hash(XmitHashPolicy::Encap23, &arp, None), fold(l2));
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &arp, None), 0);
        // Unknown EtherType: layer2 everywhere.
        let mut other = arp.clone();
        other[12] = 0x88;
        other[13] = 0xb5;
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &other, None), 0xff ^ 0x56 ^ 0x88b5);
    }

    #[test]
    fn inline_vlan_tag() {
        let plain = v4(17, A, B, &UDP);
        let mut tagged = plain[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x20, 0x64]);
        tagged.extend_from_slice(&plain[12..]);
        // Non-encap: EtherType 0x8100 in the layer2 term, nothing behind it.
        assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &tagged, None), 0x0b ^ 0x56 ^ 0x8100);
        // Encap walks the tag.
        assert_eq!(
            xmit_hash(XmitHashPolicy::Encap34, &tagged, None),
            xmit_hash(XmitHashPolicy::Layer34, &plain, None)
        );
        assert_eq!(
            xmit_hash(XmitHashPolicy::Encap23, &tagged, None),
            fold(0x0b ^ 0x56 ^ 0x8100 ^ u32::from_le_bytes(A) ^ u32::from_le_bytes(B))
        );
    }

    #[test]
    fn encap_ipip_and_gre() {
        let inner = v4(17, A, B, &UDP);
        let inner_ip = &inner[14..];
        let o1 = [198, 18, 0, 1];
        let o2 = [198, 18, 0, 2];
        let ipip = v4(4, o1, o2, inner_ip);
        let want = xmit_hash(XmitHashPolicy::Layer34, &inner, None);
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &ipip, None), want);
        // layer3+4 sees only the outer header.
        assert_eq!(
            xmit_hash(XmitHashPolicy::Layer34, &ipip, None),
            fold(u32::from_le_bytes(o1) ^ u32::from_le_bytes(o2)) >> 1
        );
        // GRE with a key, carrying IPv4.
        let mut gre = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42];
        gre.extend_from_slice(inner_ip);
        let g = v4(47, o1, o2, &gre);
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &g, None), want);
        // GRE transparent Ethernet bridging.
        let mut teb = vec![0x00, 0x00, 0x65, 0x58];
        teb.extend_from_slice(&inner);
        let t = v4(47, o1, o2, &teb);
        assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &t, None), want);
        // encap2+3 uses the outer layer2 term with the inner addresses.
        assert_eq!(
            xmit_hash(XmitHashPolicy::Encap23, &t, None),
            xmit_hash(XmitHashPolicy::Layer23, &inner, None)
        );
    }

    #[test]
    fn vlan_srcmac() {
        let f = v4(17, A, B, &UDP);
        let base = 0x52_5400 ^ 0x12_3456;
        assert_eq!(xmit_hash(XmitHashPolicy::VlanSrcMac, &f, None), base);
        assert_eq!(xmit_hash(XmitHashPolicy::VlanSrcMac, &f, Some(0xa064)), base ^ 0xa064);
        // Other policies ignore the accelerated tag.
        assert_eq!(
            xmit_hash(XmitHashPolicy::Layer34, &f, Some(0xa064)),
            xmit_hash(XmitHashPolicy::Layer34, &f, None)
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes hash without panicking under every policy and generation, and
        /// `select` stays in range.
        #[test]
        fn arbitrary_bytes_never_panic(
            frame in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            tci in proptest::option::of(proptest::prelude::any::<u16>()),
            n in 0usize..9,
        ) {
            for p in XmitHashPolicy::ALL {
                for c in [HashCompat::CURRENT, HashCompat::for_kernel(5, 4), HashCompat::for_kernel(4, 9)] {
                    let h = xmit_hash_compat(p, &frame, tci, c);
                    if let Some(i) = select(h, n) {
                        proptest::prop_assert!(i < n);
                    }
                }
            }
        }

        /// Frames that start like IPv4/IPv6 (more interesting paths than random EtherTypes).
        #[test]
        fn ip_like_bytes_never_panic(
            ethertype in proptest::sample::select(vec![0x0800u16, 0x86dd, 0x8100, 0x88a8, 0x8864, 0x4305, 0x88ca, 0x8906]),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&ethertype.to_be_bytes());
            f.extend_from_slice(&body);
            for p in XmitHashPolicy::ALL {
                let _ = xmit_hash(p, &f, None);
                let _ = xmit_hash(p, &f, Some(7));
            }
        }
    }

    #[test]
    fn short_and_weird_inputs_do_not_panic() {
        for len in 0..80 {
            let f = vec![0x45u8; len];
            for p in XmitHashPolicy::ALL {
                let _ = xmit_hash(p, &f, Some(1));
            }
        }
        // IHL 0 (bonding does not check it) and a long chain of VLAN tags.
        let mut f = v4(17, A, B, &UDP);
        f[14] = 0x40;
        let _ = xmit_hash(XmitHashPolicy::Layer34, &f, None);
        let mut tags = f[..12].to_vec();
        for _ in 0..40 {
            tags.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
        }
        tags.extend_from_slice(&f[12..]);
        let _ = xmit_hash(XmitHashPolicy::Encap34, &tags, None);
    }
}
