//! RFC 7130 micro-BFD between two bonds over simulated member links, frames and all: sessions
//! per member, the dedicated MAC until Up, TTL 255, source ports, failure of one member, and
//! bad input dropped and counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ubond_core::bfd::{
    DropReason, Event, FrameVerdict, MemberId, MicroBfd, MicroConfig, SessionConfig, UdpChecksum,
};
use ubond_core::time::Instant;
use ubond_wire::bfd::{self, ControlRepr, Diagnostic, Encapsulation, FrameRepr, State};
use ubond_wire::udp::IpPair;
use ubond_wire::MacAddr;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const A_MACS: [MacAddr; 2] = [MacAddr([2, 0, 0, 0, 0xa, 1]), MacAddr([2, 0, 0, 0, 0xa, 2])];
const B_MACS: [MacAddr; 2] = [MacAddr([2, 0, 0, 0, 0xb, 1]), MacAddr([2, 0, 0, 0, 0xb, 2])];

/// Two bonds, A and B, with two members each; member i of A is wired to member i of B.
struct Lab {
    a: MicroBfd,
    b: MicroBfd,
    now: Instant,
    delay: Duration,
    /// Per member link: (A -> B cut, B -> A cut).
    cut: [(bool, bool); 2],
    /// (arrival, to A?, member, frame)
    in_flight: Vec<(Instant, bool, MemberId, Vec<u8>)>,
    /// (sent at, by A?, member, frame)
    sent: Vec<(Instant, bool, MemberId, Vec<u8>)>,
    events: Vec<(Instant, bool, Event)>,
}

impl Lab {
    fn new(a_addr: IpAddr, b_addr: IpAddr, session: SessionConfig) -> Lab {
        let a = MicroBfd::new(MicroConfig::new(a_addr, b_addr, session), 1).unwrap();
        let b = MicroBfd::new(MicroConfig::new(b_addr, a_addr, session), 2).unwrap();
        let mut lab = Lab {
            a,
            b,
            now: Instant::ZERO,
            delay: ms(1),
            cut: [(false, false); 2],
            in_flight: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
        };
        for i in 0..2 {
            lab.a.add_member(Instant::ZERO, MemberId(i), A_MACS[i as usize]).unwrap();
            lab.b.add_member(Instant::ZERO, MemberId(i), B_MACS[i as usize]).unwrap();
        }
        lab.drain();
        lab
    }

    fn v4() -> Lab {
        Lab::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            SessionConfig::new(ms(10), 3),
        )
    }

    fn drain(&mut self) {
        let now = self.now;
        for from_a in [true, false] {
            let bond = if from_a { &mut self.a } else { &mut self.b };
            let mut out = Vec::new();
            while let Some(t) = bond.poll_transmit() {
                out.push((t.member, t.frame.frame().to_vec()));
            }
            while let Some(e) = bond.poll_event() {
                self.events.push((now, from_a, e));
            }
            for (m, f) in out {
                self.sent.push((now, from_a, m, f.clone()));
                let (ab, ba) = self.cut[m.0 as usize];
                if !(if from_a { ab } else { ba }) {
                    self.in_flight.push((now + self.delay, !from_a, m, f));
                }
            }
        }
    }

    fn run_until(&mut self, until: Instant) {
        for _ in 0..10_000_000 {
            let arrival = self.in_flight.iter().map(|f| f.0).min();
            let next =
                [self.a.poll_timeout(), self.b.poll_timeout(), arrival].into_iter().flatten().min();
            let Some(next) = next.filter(|t| *t <= until) else {
                self.now = until;
                return;
            };
            self.now = self.now.max(next);
            let now = self.now;
            let (due, rest): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|f| f.0 <= now);
            self.in_flight = rest;
            for (_, to_a, m, f) in due {
                let bond = if to_a { &mut self.a } else { &mut self.b };
                let v = bond.handle_frame(now, m, &f, UdpChecksum::Verify);
                assert_eq!(
                    v,
                    FrameVerdict::Accepted,
                    "{}: {m} {v:?}",
                    if to_a { "A" } else { "B" }
                );
            }
            self.a.handle_timeout(now);
            self.b.handle_timeout(now);
            self.drain();
        }
        panic!("the simulation did not reach {until:?}");
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn gates(&self) -> [bool; 4] {
        [
            self.a.allows_distribution(MemberId(0)),
            self.a.allows_distribution(MemberId(1)),
            self.b.allows_distribution(MemberId(0)),
            self.b.allows_distribution(MemberId(1)),
        ]
    }
}

#[test]
fn every_member_comes_up_and_its_frames_are_rfc_7130s() {
    for (a_addr, b_addr) in [
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))),
        (
            IpAddr::V6("2001:db8::a".parse::<Ipv6Addr>().unwrap()),
            IpAddr::V6("2001:db8::b".parse::<Ipv6Addr>().unwrap()),
        ),
    ] {
        let mut lab = Lab::new(a_addr, b_addr, SessionConfig::new(ms(10), 3));
        assert_eq!(lab.gates(), [false; 4], "no member carries traffic before its session is Up");
        lab.run_for(ms(500));
        assert_eq!(lab.gates(), [true; 4]);
        let mut ports = std::collections::BTreeMap::new();
        for (t, from_a, m, f) in &lab.sent {
            let repr = FrameRepr::parse(f).unwrap();
            let e = repr.encap;
            let (macs, peer_macs) = if *from_a { (A_MACS, B_MACS) } else { (B_MACS, A_MACS) };
            assert_eq!(e.src_mac, macs[m.0 as usize], "sent from the member's own MAC");
            assert_eq!(e.ttl, 255, "RFC 5881 5");
            assert_eq!(e.dst_port, bfd::MICRO_BFD_PORT);
            assert!(e.src_port >= bfd::SOURCE_PORT_MIN);
            let (src, dst) = if *from_a { (a_addr, b_addr) } else { (b_addr, a_addr) };
            assert_eq!((e.ips.src(), e.ips.dst()), (src, dst), "the bond's addresses, all members");
            // RFC 7130 section 2: the dedicated MAC until Up, then the partner's as learned.
            if repr.control.state == State::Up && *t > Instant::from_millis(100) {
                assert_eq!(e.dst_mac, peer_macs[m.0 as usize], "{t:?}");
            }
            if repr.control.state != State::Up {
                assert_eq!(e.dst_mac, bfd::MICRO_BFD_MAC, "{t:?}");
            }
            // One source port per session, for its life.
            let old = ports.insert((*from_a, *m), e.src_port);
            assert!(old.is_none_or(|p| p == e.src_port));
        }
        let distinct: std::collections::BTreeSet<_> =
            ports.iter().filter(|(k, _)| k.0).map(|(_, p)| p).collect();
        assert_eq!(distinct.len(), 2, "members use different source ports");
        let st = lab.a.member_status(MemberId(0)).unwrap();
        assert_eq!(st.peer_mac, Some(B_MACS[0]));
        assert_eq!((st.session.tx_interval, st.session.detection_time), (ms(10), ms(30)));
        assert_ne!(
            st.session.local_discr,
            lab.a.member_status(MemberId(1)).unwrap().session.local_discr,
            "discriminators differ between members"
        );
        assert_eq!(st.drops.total(), 0);
    }
}

#[test]
fn a_silently_failing_member_is_taken_out_within_the_detection_time_and_back_only_when_up() {
    let mut lab = Lab::v4();
    lab.run_for(ms(500));
    assert_eq!(lab.gates(), [true; 4]);
    // Member 1's frames are lost in both directions; carrier stays up.
    lab.cut[1] = (true, true);
    let cut_at = lab.now;
    lab.run_for(ms(100));
    assert_eq!(lab.gates(), [true, false, true, false], "only member 1 is out");
    let down: Vec<_> = lab
        .events
        .iter()
        .filter_map(|(t, from_a, e)| match e {
            Event::State { member, from: State::Up, to, diag } => {
                Some((*t, *from_a, *member, *to, *diag))
            }
            _ => None,
        })
        .collect();
    assert_eq!(down.len(), 2, "{down:?}");
    for (t, _, member, to, diag) in &down {
        assert_eq!(
            (*member, *to, *diag),
            (MemberId(1), State::Down, Diagnostic::ControlDetectionTimeExpired)
        );
        assert!(*t - cut_at <= ms(30), "within the 30 ms Detection Time: {:?}", *t - cut_at);
    }
    assert_eq!(lab.a.member_status(MemberId(1)).unwrap().session.stats.down_count, 1);
    assert_eq!(lab.a.member_status(MemberId(0)).unwrap().session.stats.down_count, 0);

    // A one-way failure (B -> A lost on member 0): A times out, tells B, both take it out.
    lab.cut[1] = (false, false);
    lab.cut[0] = (false, true);
    let t1 = lab.now;
    lab.run_for(ms(100));
    assert!(!lab.gates()[0] && !lab.gates()[2]);
    let b_down = lab.events.iter().find_map(|(t, from_a, e)| match e {
        Event::State { member: MemberId(0), from: State::Up, diag, .. } if !*from_a && *t > t1 => {
            Some(*diag)
        }
        _ => None,
    });
    assert_eq!(b_down, Some(Diagnostic::NeighborSignaledSessionDown));

    // Healed: members return only through Up, and every gate change matches a state event.
    lab.cut[0] = (false, false);
    let t2 = lab.now;
    let mut opened = Vec::new();
    for _ in 0..300 {
        let before = lab.gates();
        lab.run_for(ms(10));
        let after = lab.gates();
        for i in 0..4 {
            if !before[i] && after[i] {
                opened.push(i);
            }
        }
    }
    assert_eq!(lab.gates(), [true; 4]);
    opened.sort();
    assert_eq!(opened, vec![0, 1, 2, 3]);
    let ups = lab
        .events
        .iter()
        .filter(|(t, _, e)| *t > t2 && matches!(e, Event::State { to: State::Up, .. }))
        .count();
    assert_eq!(ups, 4);
}

/// A frame from B's member 0 to A, valid unless changed.
fn frame_to_a(control: ControlRepr, edit: impl Fn(&mut Encapsulation)) -> Vec<u8> {
    let mut encap = Encapsulation {
        src_mac: B_MACS[0],
        dst_mac: bfd::MICRO_BFD_MAC,
        ips: IpPair::V4(Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 1)),
        ttl: 255,
        src_port: 50000,
        dst_port: bfd::MICRO_BFD_PORT,
    };
    edit(&mut encap);
    let repr = FrameRepr { encap, control };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut b).unwrap();
    b
}

fn control(state: State, your: u32) -> ControlRepr {
    ControlRepr {
        version: 1,
        diag: Diagnostic::NoDiagnostic,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discriminator: 0x0b0b_0001,
        your_discriminator: your,
        desired_min_tx: 1_000_000,
        required_min_rx: 10_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

#[test]
fn bad_input_is_dropped_and_counted_and_never_brings_a_member_up() {
    let a_addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let b_addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let mut a =
        MicroBfd::new(MicroConfig::new(a_addr, b_addr, SessionConfig::new(ms(10), 3)), 9).unwrap();
    let m = MemberId(0);
    a.add_member(Instant::ZERO, m, A_MACS[0]).unwrap();
    let ours = a.member_status(m).unwrap().session.local_discr;

    // Frames that are not BFD at all: left alone, not counted.
    let not_bfd: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 7],
        vec![0x5a; 300],
        frame_to_a(control(State::Init, ours), |e| e.dst_port = 53),
        {
            // An ARP frame.
            let mut f = vec![0u8; 60];
            f[12..14].copy_from_slice(&[0x08, 0x06]);
            f
        },
    ];
    let valid = frame_to_a(control(State::Init, ours), |_| {});
    let mut bad: Vec<(Vec<u8>, DropReason)> = vec![
        (frame_to_a(control(State::Init, ours), |e| e.ttl = 254), DropReason::Ttl),
        (frame_to_a(control(State::Init, ours), |e| e.ttl = 1), DropReason::Ttl),
        (
            frame_to_a(control(State::Init, ours), |e| {
                e.ips = IpPair::V4(Ipv4Addr::new(192, 0, 2, 99), Ipv4Addr::new(192, 0, 2, 1))
            }),
            DropReason::Address,
        ),
        (
            frame_to_a(control(State::Init, ours), |e| {
                e.ips = IpPair::V4(Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 7))
            }),
            DropReason::Address,
        ),
        (
            frame_to_a(ControlRepr { version: 0, ..control(State::Init, ours) }, |_| {}),
            DropReason::Version,
        ),
        (
            frame_to_a(ControlRepr { detect_mult: 0, ..control(State::Init, ours) }, |_| {}),
            DropReason::DetectMultZero,
        ),
        (
            frame_to_a(ControlRepr { multipoint: true, ..control(State::Init, ours) }, |_| {}),
            DropReason::Multipoint,
        ),
        (
            frame_to_a(ControlRepr { my_discriminator: 0, ..control(State::Init, ours) }, |_| {}),
            DropReason::MyDiscriminatorZero,
        ),
        (frame_to_a(control(State::Init, ours ^ 1), |_| {}), DropReason::YourDiscriminator),
        (frame_to_a(control(State::Up, 0), |_| {}), DropReason::YourDiscriminatorZero),
    ];
    // The UDP checksum broken: a flipped bit in the BFD packet.
    let mut broken = valid.clone();
    *broken.last_mut().unwrap() ^= 0x40;
    bad.push((broken, DropReason::Malformed));
    // The IPv4 header checksum broken.
    let mut broken = valid.clone();
    broken[14 + 10] ^= 1;
    bad.push((broken, DropReason::Malformed));
    // A BFD Length (byte 3 of the packet) beyond the payload, and below 24: the UDP checksum
    // is refilled so that only the BFD field is wrong.
    for len in [25u8, 23, 0] {
        let mut f = valid.clone();
        f[14 + 20 + 8 + 3] = len;
        fix_udp_checksum(&mut f);
        bad.push((f, DropReason::Length));
    }
    // A UDP payload too short for a BFD packet (a 10-octet datagram).
    let mut short = valid[..14 + 20 + 8 + 10].to_vec();
    short[14 + 2..14 + 4].copy_from_slice(&(20u16 + 18).to_be_bytes());
    short[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&18u16.to_be_bytes());
    let mut ip = ubond_wire::ipv4::Packet::new_unchecked(&mut short[14..]);
    ip.fill_checksum();
    fix_udp_checksum(&mut short);
    bad.push((short, DropReason::Length));

    let mut expected = ubond_core::bfd::DropCounters::default();
    let mut t = Instant::ZERO;
    for round in 0..20 {
        for f in &not_bfd {
            assert_eq!(
                a.handle_frame(t, m, f, UdpChecksum::Verify),
                FrameVerdict::NotBfd,
                "{f:02x?}"
            );
        }
        for (f, reason) in &bad {
            assert_eq!(
                a.handle_frame(t, m, f, UdpChecksum::Verify),
                FrameVerdict::Dropped(*reason),
                "round {round}"
            );
            expected.count(*reason);
            t = t + ms(1);
            a.handle_timeout(t);
            assert!(!a.allows_distribution(m));
        }
    }
    let st = a.member_status(m).unwrap();
    assert_eq!(st.drops, expected);
    for r in DropReason::ALL {
        if r != DropReason::Authentication {
            assert_eq!(
                st.drops.get(r),
                if matches!(r, DropReason::Ttl | DropReason::Address | DropReason::Malformed) {
                    40
                } else if r == DropReason::Length {
                    80
                } else {
                    20
                },
                "{r:?}"
            );
        }
    }
    assert_eq!(st.session.state, State::Down);
    assert_eq!((st.session.remote_discr, st.session.stats.rx, st.peer_mac), (0, 0, None));
    while let Some(e) = a.poll_event() {
        assert!(!matches!(e, Event::State { .. }), "{e:?}");
    }
    // A frame for a member that is not there is not ours.
    assert_eq!(a.handle_frame(t, MemberId(7), &valid, UdpChecksum::Verify), FrameVerdict::NotBfd);
    // The valid frame is accepted: Down + Init -> Up.
    assert_eq!(a.handle_frame(t, m, &valid, UdpChecksum::Verify), FrameVerdict::Accepted);
    assert!(a.allows_distribution(m));
}

fn fix_udp_checksum(frame: &mut [u8]) {
    let ips = IpPair::V4(Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 1));
    let mut udp = ubond_wire::udp::Packet::new_unchecked(&mut frame[14 + 20..]);
    udp.fill_checksum(&ips);
}

#[test]
fn members_come_and_go() {
    let mut lab = Lab::v4();
    lab.run_for(ms(300));
    // Removing A's member 1 says AdminDown to B's member 1, which goes Down at once.
    let t0 = lab.now;
    lab.a.remove_member(t0, MemberId(1)).unwrap();
    lab.drain();
    let last = lab.sent.iter().rev().find(|s| s.1 && s.2 == MemberId(1)).unwrap();
    let repr = FrameRepr::parse(&last.3).unwrap();
    assert_eq!((last.0, repr.control.state), (t0, State::AdminDown));
    assert!(!lab.a.allows_distribution(MemberId(1)));
    assert!(lab.a.member_status(MemberId(1)).is_none());
    // B's member 1 is told (the frame is delivered; A no longer has the member, so B's
    // answers are dropped by the lab, not by A).
    let b1 = std::mem::take(&mut lab.in_flight);
    for (at, to_a, m, f) in b1 {
        if !to_a {
            lab.b.handle_frame(at, m, &f, UdpChecksum::Verify);
        }
    }
    assert!(!lab.b.allows_distribution(MemberId(1)));
    assert!(lab.b.allows_distribution(MemberId(0)));
    assert_eq!(
        lab.a.add_member(t0, MemberId(0), A_MACS[0]),
        Err(ubond_core::bfd::MicroError::DuplicateMember(MemberId(0)))
    );
    assert_eq!(
        lab.a.remove_member(t0, MemberId(5)),
        Err(ubond_core::bfd::MicroError::UnknownMember(MemberId(5)))
    );
    let mixed = MicroConfig::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        SessionConfig::new(ms(10), 3),
    );
    assert!(MicroBfd::new(mixed, 0).is_err());
    let zero = MicroConfig { session: SessionConfig::new(ms(10), 0), ..*lab.a.config() };
    assert!(MicroBfd::new(zero, 0).is_err());
}

#[test]
fn a_partial_udp_checksum_from_a_local_sender_is_trusted_only_when_the_driver_says_so() {
    let a_addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let b_addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let config = MicroConfig::new(a_addr, b_addr, SessionConfig::new(ms(10), 3));
    let mut a = MicroBfd::new(config, 3).unwrap();
    let m = MemberId(0);
    a.add_member(Instant::ZERO, m, A_MACS[0]).unwrap();
    // What a veth peer hands over with checksum offload: the UDP checksum field holds only
    // the pseudo-header's sum (CHECKSUM_PARTIAL).
    let mut f = frame_to_a(control(State::Down, 0), |_| {});
    let udp_len = (f.len() - 14 - 20) as u16;
    let pseudo = ubond_wire::ip::checksum::pseudo_header_v4(
        &Ipv4Addr::new(192, 0, 2, 2),
        &Ipv4Addr::new(192, 0, 2, 1),
        ubond_wire::ip::Protocol::Udp,
        udp_len,
    );
    f[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&pseudo.to_be_bytes());
    let t = Instant::from_millis(1);
    assert_eq!(
        a.handle_frame(t, m, &f, UdpChecksum::Verify),
        FrameVerdict::Dropped(DropReason::Malformed)
    );
    assert_eq!(a.handle_frame(t, m, &f, UdpChecksum::Trusted), FrameVerdict::Accepted);
    assert_eq!(a.member_status(m).unwrap().session.state, State::Init);
    // Trusting the checksum trusts nothing else: a short TTL is still dropped.
    let mut g = frame_to_a(control(State::Down, 0), |e| e.ttl = 64);
    g[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&pseudo.to_be_bytes());
    assert_eq!(
        a.handle_frame(t, m, &g, UdpChecksum::Trusted),
        FrameVerdict::Dropped(DropReason::Ttl)
    );
}
