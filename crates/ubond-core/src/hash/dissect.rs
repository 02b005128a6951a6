//! The walk over the packet headers: where the addresses, ports and ICMP fields that the
//! formulas hash are found, as the kernel's `bond_flow_dissect()` (the `layer2+3` and
//! `layer3+4` policies) and `__skb_flow_dissect()` (the `encap*` policies) find them.
//!
//! The functions are `#[inline]`: the formulas that call them are in another module, which
//! the compiler may put in another codegen unit, where without it they are not inlined and
//! the per-frame hash costs two to three times as much (`benches/datapath.rs`).

use ubond_wire::ethernet::{
    ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN,
};
use ubond_wire::icmp::linux_flow_has_id;
use ubond_wire::ip::Protocol;
use ubond_wire::l4::ports_word;

use super::policy::{HashCompat, IcmpHash};

pub(super) const ETH_HLEN: usize = 14;
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

#[inline]
pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// A `__be32` field read with a plain load on a little-endian host.
#[inline]
fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// `ipv6_addr_hash()`: XOR of the address's four little-endian words.
#[inline]
fn ipv6_addr_hash(b: &[u8], at: usize) -> Option<u32> {
    Some(le32(b, at)? ^ le32(b, at + 4)? ^ le32(b, at + 8)? ^ le32(b, at + 12)?)
}

/// The part of `struct flow_keys` the bonding hash reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Keys {
    /// `flow_get_u32_src()`: the source address term (0 when no address was found).
    pub(super) src: u32,
    /// `flow_get_u32_dst()`.
    pub(super) dst: u32,
    /// `flow->ports.ports`, loaded little-endian.
    pub(super) ports: u32,
    pub(super) icmp_type: u8,
    pub(super) icmp_code: u8,
    /// `flow->icmp.id` (host order; 0 = "no identifier").
    pub(super) icmp_id: u16,
}

/// `__skb_flow_get_ports()`: the ports word of `ip_proto` at `thoff`, 0 if none or cut short.
#[inline]
fn get_ports(frame: &[u8], thoff: usize, ip_proto: u8) -> u32 {
    frame
        .get(thoff..)
        .and_then(|l4| ports_word(Protocol::from(ip_proto), l4))
        .map_or(0, u32::from_le_bytes)
}

/// `skb_flow_get_icmp_tci()`: leaves `keys` alone if 8 octets are not there.
#[inline]
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
#[inline]
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
#[inline]
pub(super) fn bond_flow_dissect(
    frame: &[u8],
    l2_proto: u16,
    l34: bool,
    compat: HashCompat,
) -> Option<Keys> {
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
#[inline]
pub(super) fn flow_dissect(
    frame: &[u8],
    l2_proto: u16,
    nhoff: usize,
    accel_tag: bool,
) -> Option<Keys> {
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
#[inline]
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
