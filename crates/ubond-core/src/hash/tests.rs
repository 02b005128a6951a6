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
    assert_eq!(xmit_hash(XmitHashPolicy::Layer23, &f, None), fold(0x0b ^ 0x56 ^ 0x86dd ^ addrs));
    // Extension header: not walked by layer3+4, walked by encap3+4.
    let mut hbh = vec![17, 0, 0, 0, 0, 0, 0, 0];
    hbh.extend_from_slice(&UDP);
    let (f, _) = v6(0, &hbh);
    assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f, None), fold(addrs) >> 1);
    assert_eq!(xmit_hash(XmitHashPolicy::Encap34, &f, None), fold(ports ^ addrs) >> 1);
    // ICMPv6 echo request.
    let (f, _) = v6(58, &[128, 0, 0, 0, 0x00, 0x07, 0, 1]);
    assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f, None), fold((128 | 7 << 16) ^ addrs) >> 1);
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
