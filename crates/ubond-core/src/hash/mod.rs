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
//!
//! # Where things are
//!
//! This module holds the formulas ([`xmit_hash_compat`], [`select`]); `policy` the policy and
//! kernel-generation types with their names and parsing; `dissect` the walk over the packet
//! headers that finds the addresses and ports (the kernel's `bond_flow_dissect` and
//! `__skb_flow_dissect`).

mod dissect;
mod policy;
#[cfg(test)]
mod tests;

pub use policy::{HashCompat, IcmpHash, ParsePolicyError, XmitHashPolicy};

use dissect::{be16, bond_flow_dissect, flow_dissect, ETH_HLEN};

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
