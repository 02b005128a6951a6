//! Micro-BFD (RFC 7130) on a bond's members: the gate it adds in each mode, the silent
//! failures it finds (one-way and two-way, carriers up), and the input it refuses.
//!
//! Two bonds joined by two wires, each direction of each wire cut on its own; time skips from
//! deadline to deadline and the bonds' invariants are checked after every step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

mod common;

use common::bonds::check;
use ubond_core::bond::{Bond, BondEvent, SlaveConfig, SlaveId};
use ubond_core::lacp::LinkState;
use ubond_core::options::{BondOptions, LacpRate, Mode, SetContext};
use ubond_core::report::render_proc;
use ubond_core::time::Instant;
use ubond_wire::bfd::State;
use ubond_wire::MacAddr;

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// One wire: bond 0's slave `i` to bond 1's slave `i`, each direction up or cut.
#[derive(Clone, Copy)]
struct Wire {
    /// Bond 0 to bond 1 passes.
    forth: bool,
    /// Bond 1 to bond 0 passes.
    back: bool,
}

struct Pair {
    bonds: [Bond; 2],
    ids: [Vec<SlaveId>; 2],
    wires: Vec<Wire>,
    now: Instant,
}

/// Options as `ubond add` would make them: `mode=MODE miimon=100 bfd=on bfd_min_tx=10
/// bfd_min_rx=10 bfd_multiplier=3 bfd_peer=PEER` (+ `lacp_rate=fast` in 802.3ad).
fn options(mode: &str, peer: Ipv4Addr) -> BondOptions {
    let mut o = BondOptions::new();
    let ctx = SetContext::new();
    let mut words = vec![("mode", mode.to_string()), ("miimon", "100".into())];
    if mode == "802.3ad" {
        words.push(("lacp_rate", "fast".into()));
    }
    for (k, v) in [("bfd", "on"), ("bfd_min_tx", "10"), ("bfd_min_rx", "10")] {
        words.push((k, v.into()));
    }
    words.push(("bfd_multiplier", "3".into()));
    words.push(("bfd_peer", peer.to_string()));
    for (k, v) in words {
        o.set(k, &v, &ctx).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    o
}

impl Pair {
    fn new(mode: &str) -> Pair {
        let mut bonds = [
            Bond::new("bond0", options(mode, B), Some(MacAddr([2, 0, 0, 0, 0xa, 0]))).unwrap(),
            Bond::new("bond0", options(mode, A), Some(MacAddr([2, 0, 0, 0, 0xb, 0]))).unwrap(),
        ];
        let mut ids = [Vec::new(), Vec::new()];
        for (n, (b, addr)) in bonds.iter_mut().zip([A, B]).enumerate() {
            b.set_bfd_seed(n as u64 + 1);
            b.set_addresses(vec![addr], vec![]);
            for i in 0..2u8 {
                let perm_mac = MacAddr([2, 0, 0, 0xa + n as u8, 1, i]);
                let name = format!("eth{i}");
                ids[n].push(
                    b.enslave(ms(0), SlaveConfig { name, perm_mac }, LinkState::up(1000)).unwrap(),
                );
            }
        }
        let wires = vec![Wire { forth: true, back: true }; 2];
        Pair { bonds, ids, wires, now: ms(0) }
    }

    /// Moves frames until none is left, then runs timers, until `until`.
    fn run_until(&mut self, until: Instant) {
        for _ in 0..1_000_000 {
            self.deliver();
            let next = self.bonds.iter().filter_map(Bond::poll_timeout).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for b in self.bonds.iter_mut() {
                        if b.poll_timeout().is_some_and(|d| d <= self.now) {
                            b.handle_timeout(self.now);
                            check(b);
                        }
                    }
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("no end");
    }

    fn deliver(&mut self) {
        let mut moved = true;
        while moved {
            moved = false;
            for n in 0..2 {
                while let Some(tx) = self.bonds[n].poll_transmit() {
                    let i = self.ids[n].iter().position(|s| *s == tx.slave).unwrap();
                    let w = self.wires[i];
                    if (n == 0 && !w.forth) || (n == 1 && !w.back) {
                        continue;
                    }
                    let to = 1 - n;
                    let slave = self.ids[to][i];
                    self.bonds[to].handle_frame(self.now, slave, &tx.frame);
                    check(&self.bonds[to]);
                    moved = true;
                }
            }
        }
    }

    /// Runs until `pred` holds (checked after every step), at most `limit`; the time it took.
    fn run_while_not(&mut self, limit: Duration, pred: impl Fn(&Pair) -> bool) -> Option<Duration> {
        let start = self.now;
        while self.now.saturating_duration_since(start) <= limit {
            if pred(self) {
                return Some(self.now.saturating_duration_since(start));
            }
            self.deliver();
            if pred(self) {
                return Some(self.now.saturating_duration_since(start));
            }
            let Some(t) = self.bonds.iter().filter_map(Bond::poll_timeout).min() else { break };
            self.now = self.now.max(t);
            for b in self.bonds.iter_mut() {
                if b.poll_timeout().is_some_and(|d| d <= self.now) {
                    b.handle_timeout(self.now);
                    check(b);
                }
            }
        }
        None
    }

    fn state(&self, n: usize, i: usize) -> State {
        let m = self.bonds[n].bfd().expect("sessions run");
        m.member_status(ubond_core::bfd::MemberId(self.ids[n][i].0)).unwrap().session.state
    }

    fn down_count(&self, n: usize, i: usize) -> u64 {
        let m = self.bonds[n].bfd().expect("sessions run");
        m.member_status(ubond_core::bfd::MemberId(self.ids[n][i].0))
            .unwrap()
            .session
            .stats
            .down_count
    }

    fn tx(&self, n: usize) -> Vec<SlaveId> {
        self.bonds[n].tx_plan().slaves.clone()
    }
}

fn logs(b: &mut Bond) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(e) = b.poll_event() {
        if let BondEvent::Log { slave, message } = e {
            out.push(format!("{}: {message}", slave.unwrap_or_default()));
        }
    }
    out
}

#[test]
fn in_802_3ad_a_member_distributes_only_with_lacp_and_its_session_up() {
    let mut p = Pair::new("802.3ad");
    // Before any packet: LACP has not negotiated, no session is Up, nothing is sent.
    assert!(p.tx(0).is_empty());
    p.run_until(ms(5000));
    for n in 0..2 {
        assert_eq!(p.tx(n), p.ids[n], "bond {n}: both members distribute");
        assert!(p.bonds[n].carrier());
        for i in 0..2 {
            assert_eq!(p.state(n, i), State::Up);
        }
        let st = p.bonds[n].bfd().unwrap().member_status(ubond_core::bfd::MemberId(p.ids[n][0].0));
        let s = st.unwrap().session;
        assert_eq!(s.tx_interval, Duration::from_millis(10));
        assert_eq!(s.detection_time, Duration::from_millis(30));
    }
    let log = logs(&mut p.bonds[0]);
    assert!(
        log.contains(&"eth0: BFD session up, link enabled for distribution".to_string()),
        "{log:?}"
    );
    // LACP alone is not enough: a session held down keeps its member out, though LACP still
    // distributes on it.
    p.bonds[1].set_option(p.now, "bfd_peer", "192.0.2.99").unwrap();
    let took = p.run_while_not(Duration::from_millis(100), |p| p.tx(0).is_empty());
    assert!(took.is_some_and(|t| t <= Duration::from_millis(31)), "{took:?}");
    assert_eq!(p.bonds[0].lacp().unwrap().distributing_ports().len(), 2);
    assert!(!p.bonds[0].carrier(), "no member passes both gates: no carrier");
}

/// The silent failure: frames on one member stop in one direction, or both, carriers
/// up. Within the Detection Time (30 ms) both bonds take the member out; it comes back only
/// with its session Up again.
#[test]
fn a_silent_failure_takes_the_member_out_within_the_detection_time() {
    for (forth, back) in [(false, true), (true, false), (false, false)] {
        let mut p = Pair::new("802.3ad");
        p.run_until(ms(5000));
        assert_eq!(p.tx(0).len(), 2);
        p.wires[1] = Wire { forth, back };
        let both_out =
            |p: &Pair| !p.tx(0).contains(&p.ids[0][1]) && !p.tx(1).contains(&p.ids[1][1]);
        let took = p.run_while_not(Duration::from_millis(200), both_out);
        // The side that stops hearing detects after at most 30 ms (3 x 10 ms); the other hears
        // its Down at once (one-way: the Down waits at most the 1 ms rate limit of packets
        // sent out of schedule) or detects by itself (two-way).
        let took = took.unwrap_or_else(|| panic!("{forth}/{back}: member still in use"));
        assert!(took <= Duration::from_millis(31), "{forth}/{back}: {took:?}");
        assert_eq!(p.tx(0), [p.ids[0][0]]);
        assert_eq!(p.tx(1), [p.ids[1][0]]);
        assert_eq!((p.down_count(0, 1), p.down_count(1, 1)), (1, 1), "{forth}/{back}");
        assert!(p.bonds[0].carrier() && p.bonds[1].carrier());
        let log = logs(&mut p.bonds[0]);
        assert!(
            log.iter().any(|l| l.starts_with("eth1: BFD session down (")
                && l.ends_with("link disabled for distribution")),
            "{log:?}"
        );
        // The carriers never dropped; LACP (3 s timeout) still has the port.
        assert_eq!(p.bonds[0].lacp().unwrap().distributing_ports().len(), 2);
        // Still cut: it stays out, however long.
        p.run_until(p.now + Duration::from_secs(2));
        assert_eq!(p.tx(0).len() + p.tx(1).len(), 2, "{forth}/{back}");
        // Mended: back only once its session is Up on both sides.
        p.wires[1] = Wire { forth: true, back: true };
        let back_in = |p: &Pair| p.tx(0).len() == 2 && p.tx(1).len() == 2;
        let mut seen_up_first = true;
        let start = p.now;
        while !back_in(&p) && p.now.saturating_duration_since(start) < Duration::from_secs(10) {
            let next = p.bonds.iter().filter_map(Bond::poll_timeout).min().unwrap();
            p.deliver();
            for n in 0..2 {
                if p.tx(n).contains(&p.ids[n][1]) && p.state(n, 1) != State::Up {
                    seen_up_first = false;
                }
            }
            p.now = p.now.max(next);
            for b in p.bonds.iter_mut() {
                if b.poll_timeout().is_some_and(|d| d <= p.now) {
                    b.handle_timeout(p.now);
                }
            }
        }
        assert!(back_in(&p), "{forth}/{back}: not back");
        assert!(seen_up_first, "a member re-entered before its session was Up");
    }
}

#[test]
fn in_active_backup_the_session_is_a_link_monitor() {
    let mut p = Pair::new("active-backup");
    p.run_until(ms(3000));
    let active = p.bonds[0].active_slave().unwrap();
    let i = p.ids[0].iter().position(|s| *s == active).unwrap();
    assert_eq!(p.tx(0), [active]);
    // The active member goes silent towards the partner: its session on our side hears the
    // partner's Down at once, and the other member takes over.
    p.wires[i] = Wire { forth: false, back: true };
    let other = p.ids[0][1 - i];
    let took =
        p.run_while_not(Duration::from_millis(200), |p| p.bonds[0].active_slave() == Some(other));
    assert!(took.is_some_and(|t| t <= Duration::from_millis(30)), "{took:?}");
    assert_eq!(p.tx(0), [other]);
    // The MII monitor still says up: only BFD knows.
    assert_eq!(p.bonds[0].slave_link(active).unwrap().0, ubond_core::monitor::mii::LinkStatus::Up);
}

#[test]
fn in_balance_rr_xor_and_broadcast_members_wait_for_their_sessions() {
    for mode in ["balance-rr", "balance-xor", "broadcast"] {
        let mut p = Pair::new(mode);
        assert!(p.tx(0).is_empty(), "{mode}: a member before its session is Up");
        assert!(!p.bonds[0].carrier(), "{mode}");
        p.run_until(ms(2000));
        assert_eq!(p.tx(0), p.ids[0], "{mode}");
        p.wires[0] = Wire { forth: false, back: false };
        let took = p.run_while_not(Duration::from_millis(200), |p| p.tx(0) == [p.ids[0][1]]);
        assert!(took.is_some_and(|t| t <= Duration::from_millis(30)), "{mode}: {took:?}");
    }
}

#[test]
fn without_a_peer_or_an_address_no_session_runs_and_the_gate_stays_closed() {
    let mut o = options("balance-xor", B);
    o.bfd_peer = None;
    let mut b = Bond::new("bond0", o, None).unwrap();
    let s = b
        .enslave(
            ms(0),
            SlaveConfig { name: "eth0".into(), perm_mac: MacAddr([2, 0, 0, 0, 1, 0]) },
            LinkState::up(1000),
        )
        .unwrap();
    check(&b);
    assert!(b.bfd().is_none());
    assert!(b.tx_plan().slaves.is_empty());
    let report = render_proc(&b.status("0.1.0"), true);
    assert!(report.contains("\nBFD Status: down (waiting for bfd_peer is not set)\n"), "{report}");
    b.set_option(ms(1), "bfd_peer", "192.0.2.2").unwrap();
    assert!(b.bfd().is_none(), "no address yet");
    let report = render_proc(&b.status("0.1.0"), true);
    assert!(report.contains("(waiting for the bond has no IPv4 address)"), "{report}");
    b.set_addresses(vec![A], vec![]);
    check(&b);
    assert_eq!(b.bfd().unwrap().members().count(), 1);
    let first = b.poll_transmit().expect("the session's first packet");
    assert_eq!(first.slave, s);
    assert_eq!(&first.frame[..6], &[0x01, 0x00, 0x5e, 0x90, 0x00, 0x01], "RFC 7130's MAC until Up");
    // Every slave joins RFC 7130's group, where the partner sends until its session is Up.
    let groups = b.slave_filter(s).unwrap().groups;
    assert!(groups.contains(&MacAddr([0x01, 0x00, 0x5e, 0x90, 0x00, 0x01])), "{groups:?}");
    // bfd=off: the sessions go (with AdminDown to the partner), the gate opens.
    while b.poll_transmit().is_some() {}
    b.set_option(ms(2), "bfd", "off").unwrap();
    check(&b);
    assert!(b.bfd().is_none());
    assert_eq!(b.tx_plan().slaves, [s]);
    assert!(!render_proc(&b.status("0.1.0"), true).contains("BFD"));
    assert!(b.slave_filter(s).unwrap().groups.is_empty());
}

#[test]
fn the_report_shows_each_session_after_the_kernels_lines() {
    let mut p = Pair::new("802.3ad");
    p.run_until(ms(3000));
    let st = p.bonds[0].status("0.1.0");
    let text = render_proc(&st, true);
    let block = text.split("Slave Interface: eth1\n").nth(1).unwrap();
    let bfd_at = block.find("BFD Status: up\n").expect(&text);
    assert!(block.find("details partner lacp pdu:").unwrap() < bfd_at, "after the kernel's lines");
    for line in [
        "BFD Remote Status: up\n",
        "BFD Diagnostic: ok\n",
        "BFD TX Interval (ms): 10\n",
        "BFD RX Interval (ms): 10\n",
        "BFD Detect Time (ms): 30\n",
        "BFD Down Count: 0\n",
        "BFD Dropped Packets: 0\n",
    ] {
        assert!(block.contains(line), "{line:?} in\n{text}");
    }
    let local = st.slaves[1].bfd.as_ref().unwrap().local_discriminator;
    let remote = p.bonds[1].status("0.1.0").slaves[1].bfd.as_ref().unwrap().remote_discriminator;
    assert_eq!(local, remote);
    assert!(block.contains(&format!("BFD Local Discriminator: {local}\n")));
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["slaves"][1]["bfd"]["state"], "up");
    assert_eq!(json["slaves"][1]["bfd"]["detection_time_us"], 30_000);
    // Without bfd, neither the lines nor the JSON member.
    let plain = Bond::new(
        "bond1",
        BondOptions { mode: Mode::Ieee8023ad, lacp_rate: LacpRate::Fast, ..BondOptions::new() },
        None,
    )
    .unwrap();
    let json = serde_json::to_string(&plain.status("0.1.0")).unwrap();
    assert!(!json.contains("bfd"));
}

/// The IPv4 header checksum of `frame` made right again, and its UDP checksum left out (zero:
/// none, as IPv4 allows), so a forged field is judged for itself.
fn refit(mut frame: Vec<u8>) -> Vec<u8> {
    frame[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let mut sum = 0u32;
    for c in frame[14..34].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    frame[14 + 10..14 + 12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    frame[34 + 6..34 + 8].copy_from_slice(&[0, 0]);
    frame
}

/// Forged packets (wrong TTL, from elsewhere, wrong version or length, zero discriminator,
/// garbage) are dropped and counted by reason and never bring a session Up; the partner's
/// real one is accepted.
#[test]
fn bad_packets_are_counted_and_bring_nothing_up() {
    use ubond_core::bfd::{DropReason, MemberId};
    let p = Pair::new("balance-xor");
    let mut b = p.bonds;
    // Bond 1's first packet on eth0 (a session sends one as soon as it starts).
    let frame = loop {
        let t = b[1].poll_transmit().expect("a first packet");
        if t.slave == p.ids[1][0] && t.frame.len() > 34 && t.frame[23] == 17 {
            break t.frame;
        }
    };
    let s = p.ids[0][0];
    let payload = 14 + 20 + 8;
    let forge = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut x = frame.clone();
        f(&mut x);
        refit(x)
    };
    let cases: Vec<(Vec<u8>, DropReason)> = vec![
        (forge(&|x| x[14 + 8] = 254), DropReason::Ttl),
        (forge(&|x| x[26..30].copy_from_slice(&[192, 0, 2, 77])), DropReason::Address),
        (forge(&|x| x[payload] = (7 << 5) | (x[payload] & 0x1f)), DropReason::Version),
        (forge(&|x| x[payload + 3] = 10), DropReason::Length),
        (
            forge(&|x| x[payload + 4..payload + 8].copy_from_slice(&[0; 4])),
            DropReason::MyDiscriminatorZero,
        ),
        (
            forge(&|x| x[payload + 8..payload + 12].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef])),
            DropReason::YourDiscriminator,
        ),
        // A payload octet changed under the UDP checksum.
        (
            {
                let mut x = frame.clone();
                x[payload + 20] ^= 0x55;
                x
            },
            DropReason::Malformed,
        ),
    ];
    for (f, reason) in &cases {
        for _ in 0..10 {
            assert_eq!(b[0].handle_frame(ms(1), s, f), ubond_core::bond::RxVerdict::Consumed);
            check(&b[0]);
        }
        let drops = b[0].bfd().unwrap().member_status(MemberId(s.0)).unwrap().drops;
        assert_eq!(drops.get(*reason), 10, "{reason:?}: {drops:?}");
    }
    let st = b[0].bfd().unwrap().member_status(MemberId(s.0)).unwrap();
    assert_eq!(st.session.state, State::Down, "nothing forged moved the session");
    assert_eq!(st.drops.total(), 70);
    assert!(b[0].tx_plan().slaves.is_empty());
    let report = render_proc(&b[0].status("0.1.0"), true);
    assert!(report.contains("BFD Dropped Packets: 70\n"), "{report}");
    // The genuine packet is accepted: the session moves to Init (the three-way handshake).
    assert_eq!(b[0].handle_frame(ms(2), s, &frame), ubond_core::bond::RxVerdict::Consumed);
    let st = b[0].bfd().unwrap().member_status(MemberId(s.0)).unwrap();
    assert_eq!((st.session.state, st.drops.total()), (State::Init, 70));
}

/// Over IPv6: the sessions run between the bond's global address and an IPv6 `bfd_peer`, with
/// hop limit 255, and come Up; an IPv6 peer with only an IPv4 address on the bond waits.
#[test]
fn sessions_run_over_ipv6_from_the_bonds_global_address() {
    let mut p = Pair::new("balance-xor");
    let v6 = |n: u16| std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n);
    for (n, b) in p.bonds.iter_mut().enumerate() {
        let peer = v6(2 - n as u16);
        b.set_option(ms(0), "bfd_peer", &peer.to_string()).unwrap();
        assert!(b.bfd().is_none(), "no IPv6 address yet");
        let text = render_proc(&b.status("0.1.0"), true);
        assert!(text.contains("(waiting for the bond has no global IPv6 address)"), "{text}");
        b.set_addresses(vec![], vec!["fe80::1".parse().unwrap(), v6(1 + n as u16)]);
        let cfg = b.bfd().expect("sessions run").config();
        assert_eq!(cfg.local_addr, IpAddr::V6(v6(1 + n as u16)));
    }
    // (The IPv4 sessions' last packets, AdminDown, go first.)
    let first = std::iter::from_fn(|| p.bonds[0].poll_transmit())
        .find(|t| t.frame[12..14] == [0x86, 0xdd])
        .expect("an IPv6 packet");
    assert_eq!(first.frame[14 + 7], 255, "hop limit 255");
    p.run_until(ms(2000));
    assert_eq!(p.tx(0), p.ids[0]);
    assert_eq!((p.state(0, 0), p.state(1, 1)), (State::Up, State::Up));
}

/// A bond's members send together (one wakeup of the driver per interval, not one per member),
/// each still within RFC 5880 6.8.7's bounds: 75 % to 100 % of the 10 ms interval apart.
#[test]
fn a_bonds_members_send_together_within_the_jitter_bounds() {
    let mut p = Pair::new("802.3ad");
    p.run_until(ms(3000));
    let is_bfd = |f: &[u8]| f.len() > 38 && f[23] == 17 && f[36..38] == 6784u16.to_be_bytes();
    let mut sent: [Vec<Instant>; 2] = [Vec::new(), Vec::new()];
    let until = p.now + Duration::from_secs(2);
    while p.now < until {
        for n in 0..2 {
            while let Some(tx) = p.bonds[n].poll_transmit() {
                let i = p.ids[n].iter().position(|s| *s == tx.slave).unwrap();
                if n == 0 && is_bfd(&tx.frame) {
                    sent[i].push(p.now);
                }
                let slave = p.ids[1 - n][i];
                p.bonds[1 - n].handle_frame(p.now, slave, &tx.frame);
            }
        }
        let t = p.bonds.iter().filter_map(Bond::poll_timeout).min().unwrap();
        p.now = p.now.max(t);
        for b in p.bonds.iter_mut() {
            if b.poll_timeout().is_some_and(|d| d <= p.now) {
                b.handle_timeout(p.now);
                check(b);
            }
        }
    }
    for s in &sent {
        assert!(s.len() >= 200, "{} packets in 2 s", s.len());
        for w in s.windows(2) {
            let gap = w[1].saturating_duration_since(w[0]);
            assert!(
                gap >= Duration::from_micros(7500) && gap <= Duration::from_millis(10),
                "{gap:?}"
            );
        }
    }
    let together = sent[0].iter().filter(|t| sent[1].contains(t)).count();
    assert!(together * 100 >= sent[0].len() * 95, "{together} of {} together", sent[0].len());
}

/// A restart of bond 0's driver after `pause`: a new `Bond` with the same options and slaves,
/// the old one's frames and the partner's to it lost meanwhile. With `hold`, the sessions ask
/// the partner to wait first; with `resume`, the new bond resumes them. Returns whether bond
/// 1 kept both members in its transmit plan at every step, and its sessions' down counts.
fn restart_bond0(hold: bool, resume: bool, pause: Duration) -> (bool, u64) {
    let mut p = Pair::new("balance-xor");
    p.run_until(ms(5000));
    assert_eq!((p.tx(0).len(), p.tx(1).len()), (2, 2));
    let mut kept = true;
    let mut watch = |p: &Pair| kept &= p.tx(1).len() == 2;
    if hold {
        p.bonds[0].hold_bfd_for_restart(p.now, Duration::from_secs(3));
        let held = p.run_while_not(Duration::from_millis(100), |p| p.bonds[0].bfd_restart_held());
        assert!(held.is_some(), "the partner acknowledges the hold");
        // The partner now waits 3 x 1 s for us.
        let status =
            p.bonds[1].bfd().unwrap().member_status(ubond_core::bfd::MemberId(p.ids[1][0].0));
        assert_eq!(status.unwrap().session.detection_time, Duration::from_secs(3));
    }
    let saved: Vec<_> = p.ids[0].iter().map(|&id| p.bonds[0].bfd_resume(id)).collect();
    assert!(saved.iter().all(Option::is_some), "Up sessions have something to resume");
    // The driver is gone: nothing to or from bond 0.
    p.wires = vec![Wire { forth: false, back: false }; 2];
    let until = p.now + pause;
    while p.now < until {
        p.run_while_not(until.saturating_duration_since(p.now), |_| false);
        watch(&p);
    }
    let mut b =
        Bond::new("bond0", options("balance-xor", B), Some(MacAddr([2, 0, 0, 0, 0xa, 0]))).unwrap();
    b.set_bfd_seed(99);
    b.set_addresses(vec![A], vec![]);
    p.ids[0].clear();
    for i in 0..2u8 {
        let name = format!("eth{i}");
        if resume {
            b.resume_bfd(&name, saved[i as usize].unwrap(), p.now + Duration::from_secs(3));
        }
        let perm_mac = MacAddr([2, 0, 0, 0xa, 1, i]);
        p.ids[0].push(b.adopt(p.now, SlaveConfig { name, perm_mac }, LinkState::up(1000)).unwrap());
    }
    p.bonds[0] = b;
    p.wires = vec![Wire { forth: true, back: true }; 2];
    let until = p.now + Duration::from_secs(2);
    while p.now < until {
        let next = p.bonds.iter().filter_map(Bond::poll_timeout).min().unwrap();
        p.deliver();
        watch(&p);
        p.now = p.now.max(next);
        for b in p.bonds.iter_mut() {
            if b.poll_timeout().is_some_and(|d| d <= p.now) {
                b.handle_timeout(p.now);
                check(b);
            }
        }
        watch(&p);
    }
    assert_eq!(p.tx(0).len() + p.tx(1).len(), 4, "every member back in the end");
    (kept, p.down_count(1, 0) + p.down_count(1, 1))
}

#[test]
fn a_restarted_driver_held_and_resumed_keeps_every_member_at_the_partner() {
    // RFC 5880 6.8.3/6.8.4: a raised Desired Min TX (Poll/Final) stretches the partner's
    // Detection Time over the restart; the resumed sessions (same discriminators, Up) then
    // bring the timers back with another Poll Sequence.
    let (kept, downs) = restart_bond0(true, true, Duration::from_millis(500));
    assert!(kept && downs == 0, "kept {kept}, down count {downs}");
    // Without the hold the partner's 30 ms Detection Time runs out during the pause.
    let (kept, downs) = restart_bond0(false, true, Duration::from_millis(500));
    assert!(!kept && downs == 2, "kept {kept}, down count {downs}");
    // Without the resume the new sessions start Down, and the partner's follow (6.8.6).
    let (kept, downs) = restart_bond0(true, false, Duration::from_millis(500));
    assert!(!kept && downs == 2, "kept {kept}, down count {downs}");
    // A pause longer than the hold: the partner gave up; the resumed sessions hear its Down
    // and come up again with it.
    let (kept, downs) = restart_bond0(true, true, Duration::from_secs(4));
    assert!(!kept && downs == 2, "kept {kept}, down count {downs}");
}

/// A new broadcast bond 0 (as a restarted driver makes it) given `r` for eth0 until `until`,
/// then eth0 adopted at `at`.
fn adopted_with_resume(
    r: ubond_core::bfd::MemberResume,
    until: Instant,
    at: Instant,
) -> (Bond, SlaveId) {
    let mut b =
        Bond::new("bond0", options("broadcast", B), Some(MacAddr([2, 0, 0, 0, 0xa, 0]))).unwrap();
    b.set_addresses(vec![A], vec![]);
    b.resume_bfd("eth0", r, until);
    let perm_mac = MacAddr([2, 0, 0, 0xa, 1, 0]);
    let id = b.adopt(at, SlaveConfig { name: "eth0".into(), perm_mac }, LinkState::up(1000));
    (b, id.unwrap())
}

#[test]
fn after_the_resume_the_timers_come_back_to_the_settings() {
    let mut p = Pair::new("broadcast");
    p.run_until(ms(5000));
    p.bonds[0].hold_bfd_for_restart(p.now, Duration::from_secs(3));
    p.run_until(p.now + Duration::from_millis(100));
    let r = p.bonds[0].bfd_resume(p.ids[0][0]).unwrap();
    assert_eq!(r.session.desired_min_tx, 1_000_000);
    assert_eq!(r.session.remote_patience(), Duration::from_secs(3));
    let (mut b, id) = adopted_with_resume(r, p.now + Duration::from_secs(1), p.now);
    let st = b.bfd().unwrap().member_status(ubond_core::bfd::MemberId(id.0)).unwrap();
    assert_eq!(st.session.state, State::Up);
    assert_eq!(st.session.local_discr, r.session.local_discr);
    assert_eq!(st.session.remote_discr, r.session.remote_discr);
    assert!(st.session.polling, "the settings' timers go out with a Poll");
    assert_eq!(st.session.desired_min_tx, Duration::from_millis(10));
    // The first packet leaves at once and says Up, to the partner's MAC.
    let tx = b.poll_transmit().expect("a packet at once");
    assert_eq!(tx.slave, id);
    // A resume too late is not used: the session starts Down.
    let (b, id) = adopted_with_resume(r, p.now, p.now + Duration::from_millis(1));
    let st = b.bfd().unwrap().member_status(ubond_core::bfd::MemberId(id.0)).unwrap();
    assert_eq!(st.session.state, State::Down);
    assert_ne!(st.session.local_discr, r.session.local_discr);
}
