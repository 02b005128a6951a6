//! The transmit hash against the real Linux bonding driver.
//!
//! `vectors/hash/linux-6.1-balance-xor.csv` holds frames that Debian 12's 6.1 kernel transmitted
//! from a balance-xor bond of 2, 3 and 4 NICs under each `xmit_hash_policy`, with the NIC each
//! one left on (recipe: its header and `tools/capture-hash-vectors.sh`). For every row we check
//! that `select(xmit_hash(..), nics)` picks that NIC twice: once on the captured octets, once on
//! a frame rebuilt from the row's decoded description (MACs, addresses, protocol, ports, ICMP
//! type/code/id, fragment, quoted packet of an ICMP error), which pins down exactly which
//! fields the hash depends on.
//!
//! The one documented exception: under `encap3+4` the kernel returns `skb->hash` unchanged when
//! the skb carries an L4 hash, which TCP from a guest socket does (`sk_txhash`, random per
//! connection). Those rows (origin `sock-tcp`) are skipped for `encap3+4` only.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ubond_core::hash::{select, xmit_hash, XmitHashPolicy};

const VECTORS: &str = include_str!("vectors/hash/linux-6.1-balance-xor.csv");

struct Row<'a> {
    line: usize,
    f: BTreeMap<&'a str, &'a str>,
}

impl Row<'_> {
    fn get(&self, k: &str) -> &str {
        self.f.get(k).copied().unwrap_or_else(|| panic!("line {}: no column {k}", self.line))
    }
    fn num<T: std::str::FromStr>(&self, k: &str) -> Option<T> {
        let v = self.get(k);
        if v.is_empty() {
            None
        } else {
            Some(v.parse().unwrap_or_else(|_| panic!("line {}: bad {k}={v}", self.line)))
        }
    }
    fn ip(&self, k: &str) -> Option<IpAddr> {
        self.num::<IpAddr>(k)
    }
}

fn rows() -> Vec<Row<'static>> {
    let mut lines = VECTORS.lines().enumerate().filter(|(_, l)| !l.starts_with('#'));
    let (_, header) = lines.next().expect("header line");
    let cols: Vec<&str> = header.split(',').collect();
    lines
        .map(|(i, l)| {
            let vals: Vec<&str> = l.split(',').collect();
            assert_eq!(vals.len(), cols.len(), "line {}", i + 1);
            Row { line: i + 1, f: cols.iter().copied().zip(vals).collect() }
        })
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

fn mac(s: &str) -> Vec<u8> {
    s.split(':').map(|x| u8::from_str_radix(x, 16).expect("mac")).collect()
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// An IP header (no options, checksums left zero: the hash does not read them).
fn ip_header(src: IpAddr, dst: IpAddr, proto: u8, frag: &str) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            let mut fo: u16 = 0x4000;
            if !frag.is_empty() {
                let more = frag.ends_with('+');
                let off: u16 = frag.trim_end_matches('+').parse().expect("frag offset");
                fo = (off / 8) | if more { 0x2000 } else { 0 };
            }
            let mut h = vec![0x45, 0, 0, 0, 0, 0];
            h.extend_from_slice(&fo.to_be_bytes());
            h.extend_from_slice(&[64, proto, 0, 0]);
            h.extend_from_slice(&octets(src));
            h.extend_from_slice(&octets(dst));
            h
        }
        _ => {
            let mut h = vec![0x60, 0, 0, 0, 0, 0, proto, 64];
            h.extend_from_slice(&octets(src));
            h.extend_from_slice(&octets(dst));
            h
        }
    }
}

fn ports(sport: Option<u16>, dport: Option<u16>) -> Vec<u8> {
    let mut p = sport.unwrap_or(0).to_be_bytes().to_vec();
    p.extend_from_slice(&dport.unwrap_or(0).to_be_bytes());
    p.extend_from_slice(&[0; 16]);
    p
}

/// The frame the row describes, from its decoded columns only.
fn rebuild(r: &Row<'_>) -> Vec<u8> {
    let mut f = mac(r.get("dst_mac"));
    f.extend_from_slice(&mac(r.get("src_mac")));
    let ethertype = u16::from_str_radix(r.get("ethertype"), 16).expect("ethertype");
    f.extend_from_slice(&ethertype.to_be_bytes());
    let (Some(src), Some(dst)) = (r.ip("src_ip"), r.ip("dst_ip")) else {
        // Non-IP (ARP): only the Ethernet header matters.
        f.extend_from_slice(&[0; 28]);
        return f;
    };
    let proto: u8 = r.num("proto").expect("proto");
    f.extend_from_slice(&ip_header(src, dst, proto, r.get("frag")));
    if let Some(t) = r.num::<u8>("icmp_type") {
        let id: u16 = r.num("icmp_id").unwrap_or(0);
        f.extend_from_slice(&[t, r.num("icmp_code").unwrap_or(0), 0, 0]);
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        if let (Some(is), Some(id)) = (r.ip("inner_src"), r.ip("inner_dst")) {
            let ip: u8 = r.num("inner_proto").expect("inner_proto");
            f.extend_from_slice(&ip_header(is, id, ip, ""));
            f.extend_from_slice(&ports(r.num("inner_sport"), r.num("inner_dport"))[..8]);
        }
    } else {
        f.extend_from_slice(&ports(r.num("sport"), r.num("dport")));
    }
    f
}

/// Whether the kernel's skb for this frame had `l4_hash` set, so that `encap3+4` returned the
/// (random) `skb->hash` instead of computing one: TCP from a socket (`sk_txhash`), and IPv6
/// with an automatic flow label (`ip6_make_flowlabel` derives the label from `skb->hash`,
/// computed with `l4_hash`; a non-zero label in the frame is the evidence).
fn carries_l4_hash(r: &Row<'_>, frame: &[u8]) -> bool {
    let ipv6 = frame.get(12..14) == Some(&[0x86, 0xdd][..]);
    let flow_label = frame
        .get(15..18)
        .map_or(0, |l| u32::from(l[0] & 0x0f) << 16 | u32::from(l[1]) << 8 | u32::from(l[2]));
    r.get("origin") == "sock-tcp" || (ipv6 && flow_label != 0)
}

#[test]
fn the_kernel_agrees_on_every_vector() {
    let rows = rows();
    let mut checked: BTreeMap<(String, usize), usize> = BTreeMap::new();
    let mut skipped = 0;
    let mut skipped_but_agreeing = 0;
    let mut failures = Vec::new();
    for r in &rows {
        let policy: XmitHashPolicy = r.get("policy").parse().expect("policy");
        let nics: usize = r.num("nics").expect("nics");
        let tap: usize = r.num("tap").expect("tap");
        let captured = unhex(r.get("frame_hex"));
        if policy == XmitHashPolicy::Encap34 && carries_l4_hash(r, &captured) {
            skipped += 1;
            if select(xmit_hash(policy, &captured, None), nics) == Some(tap) {
                skipped_but_agreeing += 1;
            }
            continue;
        }
        let got = select(xmit_hash(policy, &captured, None), nics);
        if got != Some(tap) {
            failures.push(format!(
                "line {}: {policy} nics={nics}: kernel tap {tap}, ours {got:?} (captured)",
                r.line
            ));
        }
        let rebuilt = rebuild(r);
        let got = select(xmit_hash(policy, &rebuilt, None), nics);
        if got != Some(tap) {
            failures.push(format!(
                "line {}: {policy} nics={nics}: kernel tap {tap}, ours {got:?} (rebuilt)",
                r.line
            ));
        }
        *checked.entry((policy.to_string(), nics)).or_default() += 1;
    }
    eprintln!(
        "{} vectors checked twice (captured, rebuilt); {skipped} encap3+4 rows with skb->l4_hash \
         skipped ({skipped_but_agreeing} of them agree by chance)",
        checked.values().sum::<usize>()
    );
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    // Every policy was observed with 2, 3 and 4 NICs.
    for p in XmitHashPolicy::ALL {
        for n in 2..=4 {
            let c = checked.get(&(p.to_string(), n)).copied().unwrap_or(0);
            assert!(c >= 40, "{p} with {n} NICs: only {c} vectors");
        }
    }
    assert!(skipped < rows.len() / 10, "skipped {skipped}");
}

/// The vectors really spread over the NICs (a capture where everything left on one NIC would
/// prove little).
#[test]
fn the_vectors_use_every_nic() {
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for r in rows() {
        let key =
            (r.get("policy").to_string(), r.get("nics").to_string(), r.get("tap").to_string());
        *seen.entry(key).or_default() += 1;
    }
    // vlan+srcmac hashes the source MAC (and TCI) only: the capture has two bond MACs and no
    // VLAN, so two inputs per NIC count, which cannot cover every NIC.
    for p in XmitHashPolicy::ALL.into_iter().filter(|&p| p != XmitHashPolicy::VlanSrcMac) {
        for n in 2..=4usize {
            for t in 0..n {
                let key = (p.to_string(), n.to_string(), t.to_string());
                assert!(seen.contains_key(&key), "no vector of {p} with {n} NICs left on NIC {t}");
            }
        }
    }
}
