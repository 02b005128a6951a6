//! Multicast membership reports sent after a failover (`resend_igmp`): what Linux's IP stack
//! sends when the bond raises `NETDEV_RESEND_IGMP` — `ip_mc_rejoin_groups` (an IGMPv3 report
//! with one `MODE_IS_EXCLUDE` record per group, or an IGMPv2/v1 report per group when the link
//! runs an older version) and `mld_send_report` (an MLDv2 report). Switches that snoop
//! IGMP/MLD learn from them which port now leads to the bond's groups.
//!
//! Like the kernel, the all-hosts group 224.0.0.1 and IPv6 groups below link-local scope or
//! all-nodes (ff02::1) are not reported. IPv4 reports carry the Router Alert option, TOS 0xc0,
//! TTL 1 and DF (RFC 2236, RFC 3376, `igmpv3_newpack`); MLDv2 reports a hop-by-hop Router
//! Alert, hop limit 1 (RFC 3810).

use std::net::{Ipv4Addr, Ipv6Addr};

use ubond_wire::ip::checksum;
use ubond_wire::ip::Protocol;
use ubond_wire::{ipv6, MacAddr};

/// The IGMP version a link runs (`/proc/net/igmp`'s `V1`/`V2`/`V3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgmpVersion {
    /// IGMPv1 (RFC 1112).
    V1,
    /// IGMPv2 (RFC 2236).
    V2,
    /// IGMPv3 (RFC 3376).
    V3,
}

/// The IGMPv3 reports' destination, all IGMPv3-capable routers.
pub const IGMPV3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// The MLDv2 reports' destination, all MLDv2-capable routers.
pub const MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
/// Most group records in one report; more groups make more reports (each stays far below
/// 1500 octets: 24 + 8 + 64 × 8 for IGMPv3, 48 + 8 + 64 × 20 for MLDv2).
const RECORDS_PER_REPORT: usize = 64;
const MODE_IS_EXCLUDE: u8 = 2;

fn multicast_mac_v4(group: Ipv4Addr) -> MacAddr {
    let o = group.octets();
    MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

fn ethernet_header(frame: &mut Vec<u8>, dst: MacAddr, src: MacAddr, ethertype: u16) {
    frame.extend_from_slice(&dst.0);
    frame.extend_from_slice(&src.0);
    frame.extend_from_slice(&ethertype.to_be_bytes());
}

/// An IPv4 header with the Router Alert option (24 octets), its checksum filled.
fn ipv4_header(frame: &mut Vec<u8>, src: Ipv4Addr, dst: Ipv4Addr, payload_len: usize) {
    let start = frame.len();
    let total = u16::try_from(24 + payload_len).unwrap_or(u16::MAX);
    frame.extend_from_slice(&[0x46, 0xc0]);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0x40, 0]); // identification 0, DF
    frame.extend_from_slice(&[1, u8::from(Protocol::Igmp), 0, 0]); // TTL 1, IGMP, checksum
    frame.extend_from_slice(&src.octets());
    frame.extend_from_slice(&dst.octets());
    frame.extend_from_slice(&[0x94, 0x04, 0, 0]); // Router Alert
    let sum = !checksum::data(&frame[start..start + 24]);
    frame[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
}

fn pad(mut frame: Vec<u8>) -> Vec<u8> {
    if frame.len() < 60 {
        frame.resize(60, 0);
    }
    frame
}

/// The IGMP reports for `groups` joined on the bond (`mac`, IPv4 source `src`: the bond's
/// first address, or 0.0.0.0 without one).
pub fn igmp_reports(
    mac: MacAddr,
    src: Ipv4Addr,
    version: IgmpVersion,
    groups: &[Ipv4Addr],
) -> Vec<Vec<u8>> {
    let groups: Vec<Ipv4Addr> = groups
        .iter()
        .copied()
        .filter(|g| g.is_multicast() && *g != Ipv4Addr::new(224, 0, 0, 1))
        .collect();
    match version {
        IgmpVersion::V3 => groups
            .chunks(RECORDS_PER_REPORT)
            .map(|chunk| {
                let mut igmp = vec![0x22, 0, 0, 0, 0, 0];
                igmp.extend_from_slice(&u16::try_from(chunk.len()).unwrap_or(0).to_be_bytes());
                for g in chunk {
                    igmp.extend_from_slice(&[MODE_IS_EXCLUDE, 0, 0, 0]);
                    igmp.extend_from_slice(&g.octets());
                }
                let sum = !checksum::data(&igmp);
                igmp[2..4].copy_from_slice(&sum.to_be_bytes());
                let mut frame = Vec::with_capacity(14 + 24 + igmp.len());
                ethernet_header(&mut frame, multicast_mac_v4(IGMPV3_ROUTERS), mac, 0x0800);
                ipv4_header(&mut frame, src, IGMPV3_ROUTERS, igmp.len());
                frame.extend_from_slice(&igmp);
                pad(frame)
            })
            .collect(),
        IgmpVersion::V2 | IgmpVersion::V1 => groups
            .iter()
            .map(|g| {
                let kind = if version == IgmpVersion::V2 { 0x16 } else { 0x12 };
                let mut igmp = vec![kind, 0, 0, 0];
                igmp.extend_from_slice(&g.octets());
                let sum = !checksum::data(&igmp);
                igmp[2..4].copy_from_slice(&sum.to_be_bytes());
                let mut frame = Vec::with_capacity(60);
                ethernet_header(&mut frame, multicast_mac_v4(*g), mac, 0x0800);
                ipv4_header(&mut frame, src, *g, igmp.len());
                frame.extend_from_slice(&igmp);
                pad(frame)
            })
            .collect(),
    }
}

/// Whether the kernel reports `group` (`MAF_NOREPORT` is set for all-nodes and for scopes
/// below link-local).
fn mld_reported(group: &Ipv6Addr) -> bool {
    let scope = group.octets()[1] & 0x0f;
    group.is_multicast() && scope >= 2 && *group != ipv6::ALL_NODES
}

/// The MLDv2 reports for `groups` joined on the bond (`mac`, IPv6 source `src`: the bond's
/// link-local address, or `::` without one).
pub fn mld_reports(mac: MacAddr, src: Ipv6Addr, groups: &[Ipv6Addr]) -> Vec<Vec<u8>> {
    let groups: Vec<Ipv6Addr> = groups.iter().copied().filter(mld_reported).collect();
    groups
        .chunks(RECORDS_PER_REPORT)
        .map(|chunk| {
            let mut icmp = vec![143, 0, 0, 0, 0, 0];
            icmp.extend_from_slice(&u16::try_from(chunk.len()).unwrap_or(0).to_be_bytes());
            for g in chunk {
                icmp.extend_from_slice(&[MODE_IS_EXCLUDE, 0, 0, 0]);
                icmp.extend_from_slice(&g.octets());
            }
            let len = u32::try_from(icmp.len()).unwrap_or(0);
            let pseudo = checksum::pseudo_header_v6(&src, &MLDV2_ROUTERS, Protocol::Icmpv6, len);
            let sum = !checksum::combine(&[pseudo, checksum::data(&icmp)]);
            icmp[2..4].copy_from_slice(&sum.to_be_bytes());
            // Hop-by-hop: next header ICMPv6, Router Alert (MLD), PadN.
            let hbh = [58, 0, 0x05, 0x02, 0, 0, 0x01, 0x00];
            let payload_len = u16::try_from(hbh.len() + icmp.len()).unwrap_or(u16::MAX);
            let mut frame = Vec::with_capacity(14 + 40 + usize::from(payload_len));
            ethernet_header(&mut frame, ipv6::multicast_mac(&MLDV2_ROUTERS), mac, 0x86dd);
            frame.extend_from_slice(&[0x60, 0, 0, 0]);
            frame.extend_from_slice(&payload_len.to_be_bytes());
            frame.extend_from_slice(&[0, 1]); // next header hop-by-hop, hop limit 1
            frame.extend_from_slice(&src.octets());
            frame.extend_from_slice(&MLDV2_ROUTERS.octets());
            frame.extend_from_slice(&hbh);
            frame.extend_from_slice(&icmp);
            frame
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]);

    #[test]
    fn igmpv3_report_layout_and_checksums() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let groups = [Ipv4Addr::new(224, 0, 0, 1), Ipv4Addr::new(239, 1, 2, 3)];
        let frames = igmp_reports(MAC, src, IgmpVersion::V3, &groups);
        assert_eq!(frames.len(), 1);
        let f = &frames[0];
        assert_eq!(&f[0..6], &[0x01, 0x00, 0x5e, 0, 0, 22]);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        let ip = &f[14..38];
        assert_eq!(checksum::data(ip), 0xffff, "IPv4 header checksum verifies");
        assert_eq!((ip[1], ip[8], ip[9]), (0xc0, 1, 2), "TOS, TTL, protocol");
        assert_eq!(&ip[20..24], &[0x94, 4, 0, 0], "Router Alert");
        let igmp = &f[38..38 + 16];
        assert_eq!(checksum::data(igmp), 0xffff, "IGMP checksum verifies");
        assert_eq!((igmp[0], igmp[7]), (0x22, 1), "one record: all-hosts is not reported");
        assert_eq!(&igmp[12..16], &[239, 1, 2, 3]);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 24 + 16);
    }

    #[test]
    fn igmpv2_reports_one_per_group_to_the_group() {
        let groups = [Ipv4Addr::new(239, 129, 0, 7), Ipv4Addr::new(239, 1, 1, 1)];
        let frames = igmp_reports(MAC, Ipv4Addr::UNSPECIFIED, IgmpVersion::V2, &groups);
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0][0..6], &[0x01, 0x00, 0x5e, 0x01, 0, 7], "low 23 bits of the group");
        assert_eq!(&frames[0][30..34], &[239, 129, 0, 7], "to the group");
        assert_eq!(frames[0][38], 0x16);
        assert_eq!(checksum::data(&frames[0][38..46]), 0xffff);
        assert_eq!(frames[0].len(), 60, "padded to the minimum frame");
    }

    #[test]
    fn many_groups_make_several_reports() {
        let groups: Vec<Ipv4Addr> = (0..150u8).map(|i| Ipv4Addr::new(239, 0, 1, i)).collect();
        let frames = igmp_reports(MAC, Ipv4Addr::UNSPECIFIED, IgmpVersion::V3, &groups);
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|f| f.len() <= 1514));
    }

    #[test]
    fn mldv2_report_layout_and_checksum() {
        let src: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let sol: Ipv6Addr = "ff02::1:ff12:3456".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let groups = [ipv6::ALL_NODES, "ff01::1".parse().unwrap_or(ipv6::ALL_NODES), sol];
        let frames = mld_reports(MAC, src, &groups);
        assert_eq!(frames.len(), 1);
        let f = &frames[0];
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 0x16]);
        assert_eq!((f[14 + 6], f[14 + 7]), (0, 1), "hop-by-hop next, hop limit 1");
        let icmp = &f[14 + 40 + 8..];
        assert_eq!(
            (icmp[0], icmp[7]),
            (143, 1),
            "one record: all-nodes and ff01:: are not reported"
        );
        assert_eq!(&icmp[12..28], &sol.octets());
        let len = u32::try_from(icmp.len()).unwrap_or(0);
        let pseudo = checksum::pseudo_header_v6(&src, &MLDV2_ROUTERS, Protocol::Icmpv6, len);
        assert_eq!(checksum::combine(&[pseudo, checksum::data(icmp)]), 0xffff);
    }

    #[test]
    fn nothing_to_report_is_no_frame() {
        assert!(igmp_reports(
            MAC,
            Ipv4Addr::UNSPECIFIED,
            IgmpVersion::V3,
            &[Ipv4Addr::new(224, 0, 0, 1)]
        )
        .is_empty());
        assert!(mld_reports(MAC, Ipv6Addr::UNSPECIFIED, &[ipv6::ALL_NODES]).is_empty());
    }
}
