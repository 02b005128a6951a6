//! Property tests of every codec in `ubond-wire`:
//!
//! * no view and no `Repr::parse` panics on arbitrary bytes (0..2000 octets), raw or built from
//!   a valid frame with some octets overwritten (`support/exercise.rs` also checks the
//!   invariants that hold for any input);
//! * every `Repr` emits exactly `buffer_len()` octets, refuses a shorter buffer without writing
//!   to it, and parses back to itself;
//! * the IPv4, IPv6, ARP, ICMP and UDP decoders agree with an independent implementation, the
//!   `etherparse` crate.
//!
//! The number of cases comes from `PROPTEST_CASES` (proptest's default, 256, otherwise):
//! `PROPTEST_CASES=100000 cargo test --release -p ubond-wire --test no_panic`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/exercise.rs"]
mod exercise;

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use ubond_wire::arp::{self, ArpRepr, Operation};
use ubond_wire::bfd::{self, Auth, ControlRepr, Diagnostic, Encapsulation, FrameRepr, State};
use ubond_wire::ethernet::{self, EtherType, EthernetRepr, Frame, Tci, VlanTag};
use ubond_wire::icmp::{Icmpv4Packet, Icmpv6Packet, NaFlags, NdiscRepr};
use ubond_wire::ip::Protocol;
use ubond_wire::ipv4::{self, Ipv4Repr};
use ubond_wire::ipv6::{self, Ipv6Repr};
use ubond_wire::slow::{self, LacpduRepr, MarkerKind, MarkerRepr, PortInfo, PortState};
use ubond_wire::udp::{self, IpPair, UdpRepr};
use ubond_wire::{Error, MacAddr};

// ---------------------------------------------------------------------------------------------
// Strategies

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..2000)
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn ipv4_addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ipv6_addr() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(Ipv6Addr::from),
        Just(Ipv6Addr::UNSPECIFIED),
        Just(ipv6::ALL_NODES),
    ]
}

fn protocol() -> impl Strategy<Value = Protocol> {
    any::<u8>().prop_map(Protocol::from)
}

fn vlan_tag() -> impl Strategy<Value = VlanTag> {
    (prop_oneof![Just(EtherType::Vlan), Just(EtherType::QinQ)], any::<u16>())
        .prop_map(|(tpid, tci)| VlanTag { tpid, tci: Tci(tci) })
}

fn ethernet_repr() -> impl Strategy<Value = EthernetRepr> {
    let tags = prop_oneof![
        Just((None, None)),
        vlan_tag().prop_map(|t| (Some(t), None)),
        (vlan_tag(), vlan_tag()).prop_map(|(o, i)| (Some(o), Some(i))),
    ];
    let ethertype =
        any::<u16>().prop_map(EtherType::from).prop_filter("not a TPID", |t| !t.is_vlan_tpid());
    (mac(), mac(), tags, ethertype).prop_map(
        |(dst_addr, src_addr, (outer_tag, inner_tag), ethertype)| EthernetRepr {
            dst_addr,
            src_addr,
            outer_tag,
            inner_tag,
            ethertype,
        },
    )
}

fn arp_repr() -> impl Strategy<Value = ArpRepr> {
    (any::<u16>(), mac(), ipv4_addr(), mac(), ipv4_addr()).prop_map(
        |(op, sender_mac, sender_ip, target_mac, target_ip)| ArpRepr {
            operation: Operation::from(op),
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        },
    )
}

fn ipv4_repr() -> impl Strategy<Value = Ipv4Repr> {
    (
        (ipv4_addr(), ipv4_addr(), protocol(), 0..=65515u16),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<bool>(),
            any::<bool>(),
            0..=ipv4::MAX_FRAG_OFFSET,
        ),
    )
        .prop_map(
            |(
                (src_addr, dst_addr, protocol, payload_len),
                (hop_limit, tos, identification, dont_fragment, more_fragments, frag_offset),
            )| Ipv4Repr {
                src_addr,
                dst_addr,
                protocol,
                payload_len,
                hop_limit,
                tos,
                identification,
                dont_fragment,
                more_fragments,
                frag_offset,
            },
        )
}

fn ipv6_repr() -> impl Strategy<Value = Ipv6Repr> {
    (
        ipv6_addr(),
        ipv6_addr(),
        protocol(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        0..=ipv6::MAX_FLOW_LABEL,
    )
        .prop_map(
            |(
                src_addr,
                dst_addr,
                next_header,
                payload_len,
                hop_limit,
                traffic_class,
                flow_label,
            )| {
                Ipv6Repr {
                    src_addr,
                    dst_addr,
                    next_header,
                    payload_len,
                    hop_limit,
                    traffic_class,
                    flow_label,
                }
            },
        )
}

fn ndisc_repr() -> impl Strategy<Value = NdiscRepr> {
    let ns = (
        ipv6_addr().prop_filter("NS targets are unicast", |a| !a.is_multicast()),
        proptest::option::of(mac()),
    )
        .prop_map(|(target_addr, source_ll_addr)| NdiscRepr::NeighborSolicit {
            target_addr,
            source_ll_addr,
        });
    let na = (any::<[bool; 3]>(), ipv6_addr(), proptest::option::of(mac())).prop_map(
        |([router, solicited, override_], target_addr, target_ll_addr)| NdiscRepr::NeighborAdvert {
            flags: NaFlags { router, solicited, override_ },
            target_addr,
            target_ll_addr,
        },
    );
    prop_oneof![ns, na]
}

fn port_info() -> impl Strategy<Value = PortInfo> {
    (any::<u16>(), mac(), any::<u16>(), any::<u16>(), any::<u16>(), any::<u8>()).prop_map(
        |(system_priority, system, key, port_priority, port, state)| PortInfo {
            system_priority,
            system,
            key,
            port_priority,
            port,
            state: PortState(state),
        },
    )
}

fn lacpdu_repr() -> impl Strategy<Value = LacpduRepr> {
    (any::<u8>(), port_info(), port_info(), any::<u16>()).prop_map(
        |(version, actor, partner, collector_max_delay)| LacpduRepr {
            version,
            actor,
            partner,
            collector_max_delay,
        },
    )
}

fn marker_repr() -> impl Strategy<Value = MarkerRepr> {
    (any::<u8>(), any::<u8>(), any::<u16>(), mac(), any::<u32>()).prop_map(
        |(version, kind, requester_port, requester_system, requester_transaction_id)| MarkerRepr {
            version,
            kind: MarkerKind::from(kind),
            requester_port,
            requester_system,
            requester_transaction_id,
        },
    )
}

fn bfd_auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..=16)).prop_map(|(key_id, pw)| {
            Auth::SimplePassword { key_id, password: bfd::Password::new(&pw).unwrap() }
        }),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 16]>()).prop_map(
            |(meticulous, key_id, sequence, digest)| Auth::KeyedMd5 {
                meticulous,
                key_id,
                sequence,
                digest
            }
        ),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 20]>()).prop_map(
            |(meticulous, key_id, sequence, hash)| Auth::KeyedSha1 {
                meticulous,
                key_id,
                sequence,
                hash
            }
        ),
        (
            prop_oneof![Just(0u8), 6u8..=255],
            proptest::collection::vec(any::<u8>(), 0..=bfd::MAX_AUTH_SECTION_LEN - 2)
        )
            .prop_map(|(auth_type, data)| Auth::Other {
                auth_type,
                data: bfd::AuthData::new(&data).unwrap()
            }),
    ]
}

fn bfd_control_repr() -> impl Strategy<Value = ControlRepr> {
    (
        (0u8..8, 0u8..32, 0u8..4, any::<[bool; 5]>(), any::<u8>()),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        proptest::option::of(bfd_auth()),
    )
        .prop_map(
            |(
                (version, diag, state, [poll, final_, cpi, demand, multipoint], detect_mult),
                (my, your, tx, rx, echo),
                auth,
            )| ControlRepr {
                version,
                diag: Diagnostic::from(diag),
                state: State::from_bits(state),
                poll,
                final_,
                control_plane_independent: cpi,
                demand,
                multipoint,
                detect_mult,
                my_discriminator: my,
                your_discriminator: your,
                desired_min_tx: tx,
                required_min_rx: rx,
                required_min_echo_rx: echo,
                auth,
            },
        )
}

fn bfd_frame_repr() -> impl Strategy<Value = FrameRepr> {
    let ips = prop_oneof![
        (ipv4_addr(), ipv4_addr()).prop_map(|(s, d)| IpPair::V4(s, d)),
        (ipv6_addr(), ipv6_addr()).prop_map(|(s, d)| IpPair::V6(s, d)),
    ];
    (mac(), mac(), ips, any::<u8>(), any::<u16>(), any::<u16>(), bfd_control_repr()).prop_map(
        |(src_mac, dst_mac, ips, ttl, src_port, dst_port, control)| FrameRepr {
            encap: Encapsulation { src_mac, dst_mac, ips, ttl, src_port, dst_port },
            control,
        },
    )
}

/// A BFD frame (to start mutations from): mostly to the BFD ports, so the BFD decoder sees it.
fn valid_bfd_frame() -> impl Strategy<Value = Vec<u8>> {
    (bfd_frame_repr(), prop_oneof![Just(bfd::MICRO_BFD_PORT), Just(bfd::SINGLE_HOP_PORT)]).prop_map(
        |(mut repr, port)| {
            repr.encap.dst_port = port;
            let mut b = vec![0u8; repr.buffer_len()];
            repr.emit(&mut b).unwrap();
            b
        },
    )
}

/// A valid frame (Ethernet, then ARP, IPv4 or IPv6, then a transport header or an ICMP
/// message, sometimes an ICMP error carrying another packet) to start mutations from, so that
/// the mutated bytes reach the inner decoders.
fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        ethernet_repr(),
        0u8..6,
        arp_repr(),
        ipv4_addr(),
        ipv4_addr(),
        ipv6_addr(),
        ipv6_addr(),
        ndisc_repr(),
        any::<[u8; 8]>(),
    )
        .prop_map(|(mut eth, kind, arp, s4, d4, s6, d6, nd, l4)| {
            let mut out = Vec::new();
            let (ethertype, body): (EtherType, Vec<u8>) = match kind {
                0 => {
                    let mut b = vec![0u8; arp.buffer_len()];
                    arp.emit(&mut arp::Packet::new_unchecked(&mut b[..])).unwrap();
                    (EtherType::Arp, b)
                }
                1 | 2 => {
                    // TCP or UDP over IPv4, or an ICMP error carrying such a datagram.
                    let inner = ipv4_packet(
                        s4,
                        d4,
                        if kind == 1 { Protocol::Tcp } else { Protocol::Udp },
                        &l4,
                    );
                    let body = if kind == 2 {
                        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
                        icmp.extend_from_slice(&inner);
                        Icmpv4Packet::new_unchecked(&mut icmp[..]).fill_checksum();
                        ipv4_packet(d4, s4, Protocol::Icmp, &icmp)
                    } else {
                        inner
                    };
                    (EtherType::Ipv4, body)
                }
                3 => {
                    let mut msg = vec![0u8; nd.buffer_len()];
                    nd.emit(&s6, &d6, &mut Icmpv6Packet::new_unchecked(&mut msg[..])).unwrap();
                    (EtherType::Ipv6, ipv6_packet(s6, d6, Protocol::Icmpv6, &msg))
                }
                4 => {
                    let inner = ipv6_packet(s6, d6, Protocol::Udp, &l4);
                    let mut icmp = vec![1, 4, 0, 0, 0, 0, 0, 0];
                    icmp.extend_from_slice(&inner);
                    Icmpv6Packet::new_unchecked(&mut icmp[..]).fill_checksum(&d6, &s6);
                    (EtherType::Ipv6, ipv6_packet(d6, s6, Protocol::Icmpv6, &icmp))
                }
                _ => (EtherType::Slow, vec![1u8; slow::PDU_LEN]),
            };
            eth.ethertype = ethertype;
            out.resize(eth.buffer_len(), 0);
            eth.emit(&mut Frame::new_unchecked(&mut out[..])).unwrap();
            out.extend_from_slice(&body);
            out
        })
}

fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: Protocol, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr::new(src, dst, protocol, u16::try_from(payload.len()).unwrap());
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ipv4::Packet::new_unchecked(&mut b[..])).unwrap();
    b.extend_from_slice(payload);
    b
}

fn ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, next_header: Protocol, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv6Repr::new(src, dst, next_header, u16::try_from(payload.len()).unwrap(), 255);
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ipv6::Packet::new_unchecked(&mut b[..])).unwrap();
    b.extend_from_slice(payload);
    b
}

/// A valid frame with up to 8 octets overwritten and possibly cut short.
fn mutated_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![3 => valid_frame(), 1 => valid_bfd_frame()],
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(mut frame, edits, cut, do_cut)| {
            for (at, v) in edits {
                let i = at.index(frame.len());
                frame[i] = v;
            }
            if do_cut {
                frame.truncate(cut.index(frame.len() + 1));
            }
            frame
        })
}

// ---------------------------------------------------------------------------------------------
// Emit contract: exactly buffer_len octets, a short buffer refused untouched, parse(emit) == self.

/// Emits with `emit` into a buffer of `len` + 16 octets of 0xa5 and checks that only the first
/// `len` changed at most; then into one of `len` − 1 and checks the error and that nothing
/// changed. Returns the `len` emitted octets.
fn emit_exactly(len: usize, emit: impl Fn(&mut [u8]) -> ubond_wire::Result<()>) -> Vec<u8> {
    let mut buf = vec![0xa5u8; len + 16];
    emit(&mut buf[..]).expect("emit into a large enough buffer");
    assert!(buf[len..].iter().all(|&b| b == 0xa5), "emit wrote past buffer_len ({len})");
    if len > 0 {
        let mut short = vec![0x5au8; len - 1];
        assert_eq!(emit(&mut short[..]), Err(Error::Truncated { needed: len, got: len - 1 }));
        assert!(short.iter().all(|&b| b == 0x5a), "a refused emit wrote anyway");
    }
    buf.truncate(len);
    buf
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in bytes()) {
        exercise::exercise(&data);
    }

    #[test]
    fn mutated_frames_never_panic(data in mutated_frame()) {
        exercise::exercise(&data);
    }

    #[test]
    fn valid_frames_dissect(data in valid_frame()) {
        let f = Frame::new_checked(&data[..]).unwrap();
        assert!(EthernetRepr::parse(&f).is_ok());
        match f.ethertype() {
            EtherType::Arp => { ArpRepr::parse(&arp::Packet::new_checked(f.payload()).unwrap()).unwrap(); }
            EtherType::Ipv4 => { Ipv4Repr::parse(&ipv4::Packet::new_checked(f.payload()).unwrap()).unwrap(); }
            EtherType::Ipv6 => { Ipv6Repr::parse(&ipv6::Packet::new_checked(f.payload()).unwrap()).unwrap(); }
            _ => {}
        }
        exercise::exercise(&data);
    }

    #[test]
    fn ethernet_round_trip(repr in ethernet_repr(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut frame = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut Frame::new_unchecked(b)));
        frame.extend_from_slice(&payload);
        let view = Frame::new_checked(&frame[..]).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&view), Ok(repr));
        prop_assert_eq!(view.payload(), &payload[..]);
        prop_assert_eq!(view.ethertype(), repr.ethertype);
        prop_assert_eq!(view.outer_tag(), repr.outer_tag);
    }

    #[test]
    fn arp_round_trip(repr in arp_repr()) {
        let b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut arp::Packet::new_unchecked(b)));
        prop_assert_eq!(ArpRepr::parse(&arp::Packet::new_checked(&b[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn ipv4_round_trip(repr in ipv4_repr()) {
        let mut b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut ipv4::Packet::new_unchecked(b)));
        b.resize(repr.buffer_len() + usize::from(repr.payload_len), 0);
        let view = ipv4::Packet::new_checked(&b[..]).unwrap();
        prop_assert!(view.verify_checksum());
        prop_assert_eq!(Ipv4Repr::parse(&view), Ok(repr));
        // etherparse computes the same checksum.
        let header = etherparse::Ipv4HeaderSlice::from_slice(&b[..]).unwrap().to_header();
        prop_assert_eq!(header.calc_header_checksum(), view.checksum());
    }

    #[test]
    fn ipv6_round_trip(repr in ipv6_repr()) {
        let mut b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut ipv6::Packet::new_unchecked(b)));
        b.resize(repr.buffer_len() + usize::from(repr.payload_len), 0);
        prop_assert_eq!(Ipv6Repr::parse(&ipv6::Packet::new_checked(&b[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn ndisc_round_trip(repr in ndisc_repr(), src in ipv6_addr(), dst in ipv6_addr()) {
        let b = emit_exactly(repr.buffer_len(), |b| repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(b)));
        let view = Icmpv6Packet::new_checked(&b[..]).unwrap();
        prop_assert!(view.verify_checksum(&src, &dst));
        prop_assert_eq!(NdiscRepr::parse(&view), Ok(repr));
        // etherparse agrees that the checksum is right.
        let theirs = etherparse::Icmpv6Slice::from_slice(&b[..]).unwrap();
        prop_assert!(theirs.is_checksum_valid(src.octets(), dst.octets()));
    }

    #[test]
    fn lacpdu_round_trip(repr in lacpdu_repr()) {
        let b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut slow::Packet::new_unchecked(b)));
        prop_assert_eq!(LacpduRepr::parse(&slow::Packet::new_checked(&b[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn marker_round_trip(repr in marker_repr()) {
        let b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut slow::Packet::new_unchecked(b)));
        prop_assert_eq!(MarkerRepr::parse(&slow::Packet::new_checked(&b[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn bfd_control_round_trip(repr in bfd_control_repr()) {
        let b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut bfd::Packet::new_unchecked(b)));
        prop_assert_eq!(usize::from(b[3]), repr.buffer_len());
        prop_assert_eq!(ControlRepr::parse(&bfd::Packet::new_checked(&b[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn bfd_frame_round_trip(repr in bfd_frame_repr()) {
        let b = emit_exactly(repr.buffer_len(), |b| repr.emit(b));
        prop_assert_eq!(FrameRepr::parse(&b), Ok(repr));
        prop_assert_eq!(bfd::udp_dst_port(&b), Some(repr.encap.dst_port));
        // etherparse reads the same headers and agrees that the UDP checksum is right.
        let sliced = etherparse::SlicedPacket::from_ethernet(&b).unwrap();
        let Some(etherparse::TransportSlice::Udp(u)) = sliced.transport else {
            panic!("etherparse finds no UDP in {b:02x?}")
        };
        prop_assert_eq!((u.source_port(), u.destination_port()), (repr.encap.src_port, repr.encap.dst_port));
        let header = u.to_header();
        let expected = match repr.encap.ips {
            IpPair::V4(s, d) => header.calc_checksum_ipv4_raw(s.octets(), d.octets(), u.payload()).unwrap(),
            IpPair::V6(s, d) => header.calc_checksum_ipv6_raw(s.octets(), d.octets(), u.payload()).unwrap(),
        };
        prop_assert_eq!(u.checksum(), expected);
    }

    #[test]
    fn udp_checksums_agree_with_etherparse(payload in proptest::collection::vec(any::<u8>(), 0..600), ports in any::<(u16, u16)>(), s4 in ipv4_addr(), d4 in ipv4_addr(), s6 in ipv6_addr(), d6 in ipv6_addr()) {
        let repr = UdpRepr { src_port: ports.0, dst_port: ports.1, payload_len: payload.len() as u16 };
        for ips in [IpPair::V4(s4, d4), IpPair::V6(s6, d6)] {
            let mut b = emit_exactly(repr.buffer_len(), |b| repr.emit(&mut udp::Packet::new_unchecked(b)));
            b.extend_from_slice(&payload);
            let mut view = udp::Packet::new_unchecked(&mut b[..]);
            view.fill_checksum(&ips);
            let ours = view.checksum();
            prop_assert!(view.verify_checksum(&ips));
            let header = etherparse::UdpHeader { source_port: ports.0, destination_port: ports.1, length: 8 + payload.len() as u16, checksum: 0 };
            let theirs = match ips {
                IpPair::V4(s, d) => header.calc_checksum_ipv4_raw(s.octets(), d.octets(), &payload).unwrap(),
                IpPair::V6(s, d) => header.calc_checksum_ipv6_raw(s.octets(), d.octets(), &payload).unwrap(),
            };
            prop_assert_eq!(ours, theirs);
            prop_assert_eq!(UdpRepr::parse(&udp::Packet::new_checked(&b[..]).unwrap(), &ips), Ok(repr));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Differential: the same bytes through etherparse.

    #[test]
    fn ipv4_agrees_with_etherparse(data in prop_oneof![bytes(), mutated_frame().prop_map(|f| f.get(14..).unwrap_or(&[]).to_vec())]) {
        let ours = ipv4::Packet::new_checked_header(&data[..]);
        let theirs = etherparse::Ipv4HeaderSlice::from_slice(&data[..]);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(p), Ok(h)) = (ours, theirs) {
            prop_assert_eq!(p.header(), h.slice());
            prop_assert_eq!(p.ihl(), h.ihl());
            prop_assert_eq!(p.total_len(), h.total_len());
            prop_assert_eq!(p.identification(), h.identification());
            prop_assert_eq!(p.dont_fragment(), h.dont_fragment());
            prop_assert_eq!(p.more_fragments(), h.more_fragments());
            prop_assert_eq!(p.frag_offset(), h.fragments_offset().value());
            prop_assert_eq!(p.is_fragment(), h.is_fragmenting_payload());
            prop_assert_eq!(p.ttl(), h.ttl());
            prop_assert_eq!(u8::from(p.protocol()), h.protocol().0);
            prop_assert_eq!(p.src_addr(), h.source_addr());
            prop_assert_eq!(p.dst_addr(), h.destination_addr());
            prop_assert_eq!(p.options(), h.options());
            let raw_sum = etherparse::checksum::Sum16BitWords::new().add_slice(h.slice());
            prop_assert_eq!(p.verify_checksum(), raw_sum.ones_complement() == 0);
            if !p.reserved_flag() {
                // etherparse's header model has no reserved flag: it checksums without it.
                let theirs = h.to_header().calc_header_checksum() == h.header_checksum();
                prop_assert_eq!(p.verify_checksum(), theirs);
            }
            // The strict check is etherparse's Ipv4Slice, minus its AH parsing.
            if u8::from(p.protocol()) != 51 {
                prop_assert_eq!(ipv4::Packet::new_checked(&data[..]).is_ok(), etherparse::Ipv4Slice::from_slice(&data[..]).is_ok());
            }
        }
    }

    #[test]
    fn ipv6_agrees_with_etherparse(data in bytes()) {
        let ours = ipv6::Packet::new_checked_header(&data[..]);
        let theirs = etherparse::Ipv6HeaderSlice::from_slice(&data[..]);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(p), Ok(h)) = (ours, theirs) {
            prop_assert_eq!(p.traffic_class(), h.traffic_class());
            prop_assert_eq!(p.flow_label(), h.flow_label().value());
            prop_assert_eq!(p.payload_len(), h.payload_length());
            prop_assert_eq!(u8::from(p.next_header()), h.next_header().0);
            prop_assert_eq!(p.hop_limit(), h.hop_limit());
            prop_assert_eq!(p.src_addr(), h.source_addr());
            prop_assert_eq!(p.dst_addr(), h.destination_addr());
        }
    }

    #[test]
    fn arp_agrees_with_etherparse(data in bytes()) {
        let ours = arp::Packet::new_checked(&data[..]);
        let theirs = etherparse::ArpPacketSlice::from_slice(&data[..]);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(p), Ok(a)) = (ours, theirs) {
            prop_assert_eq!(p.hardware_type(), a.hw_addr_type().0);
            prop_assert_eq!(p.protocol_type(), a.proto_addr_type().0);
            prop_assert_eq!(u16::from(p.operation()), a.operation().0);
            prop_assert_eq!(p.sender_hardware_addr(), a.sender_hw_addr());
            prop_assert_eq!(p.sender_protocol_addr(), a.sender_protocol_addr());
            prop_assert_eq!(p.target_hardware_addr(), a.target_hw_addr());
            prop_assert_eq!(p.target_protocol_addr(), a.target_protocol_addr());
        }
    }

    #[test]
    fn icmp_checksums_agree_with_etherparse(data in proptest::collection::vec(any::<u8>(), 8..2000), src in ipv6_addr(), dst in ipv6_addr()) {
        let v6 = Icmpv6Packet::new_checked(&data[..]).unwrap();
        let theirs = etherparse::Icmpv6Slice::from_slice(&data[..]).unwrap();
        prop_assert_eq!(v6.verify_checksum(&src, &dst), theirs.is_checksum_valid(src.octets(), dst.octets()));
        prop_assert_eq!(v6.code(), theirs.code_u8());
        let v4 = Icmpv4Packet::new_checked(&data[..]).unwrap();
        let mut zeroed = data.clone();
        zeroed[2..4].fill(0);
        // etherparse sums native-endian words: its result is meant for `to_ne_bytes`.
        let sum = etherparse::checksum::Sum16BitWords::new().add_slice(&zeroed).ones_complement();
        let expected = u16::from_be_bytes(sum.to_ne_bytes());
        prop_assert_eq!(ubond_wire::icmp::icmpv4_checksum(&data), expected);
        prop_assert_eq!(v4.verify_checksum(), v4.checksum() == expected);
    }
}

#[test]
fn emit_into_exact_buffers_of_every_repr() {
    // The Reprs whose emit takes extra arguments, and a few fixed ones, outside proptest.
    let target: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let na = NdiscRepr::unsolicited_advert(target, MacAddr([2, 0, 0, 0, 0, 1]));
    let b = emit_exactly(na.buffer_len(), |b| {
        na.emit(&target, &ipv6::ALL_NODES, &mut Icmpv6Packet::new_unchecked(b))
    });
    assert_eq!(b.len(), 32);
    let eth = EthernetRepr {
        dst_addr: MacAddr::BROADCAST,
        src_addr: MacAddr([2, 0, 0, 0, 0, 1]),
        outer_tag: Some(VlanTag::s_tag(10)),
        inner_tag: Some(VlanTag::c_tag(20)),
        ethertype: EtherType::Arp,
    };
    assert_eq!(
        emit_exactly(eth.buffer_len(), |b| eth.emit(&mut Frame::new_unchecked(b))).len(),
        ethernet::HEADER_LEN + 8
    );
}
