//! RFC 5880 sessions talking to each other over a simulated link with skipped time (quinn's
//! `Pair`): the handshake, timer negotiation through Poll Sequences, jitter, the Detection Time,
//! administrative control, and the reception checks of 6.8.6.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ubond_core::bfd::{DropReason, Session, SessionConfig, SessionEvent};
use ubond_core::time::Instant;
use ubond_wire::bfd::{Auth, ControlRepr, Diagnostic, Password, State};

const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn config(tx: u64, rx: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: ms(tx),
        required_min_rx: ms(rx),
        detect_mult: mult,
        passive: false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Two sessions joined by a link with a one-way delay, each direction of which can be cut.
struct Pair {
    a: Session,
    b: Session,
    now: Instant,
    delay: Duration,
    /// Cut a -> b, cut b -> a.
    cut: (bool, bool),
    in_flight: Vec<(Instant, Side, ControlRepr)>,
    /// Every packet sent: when, by whom.
    sent: Vec<(Instant, Side, ControlRepr)>,
    events: Vec<(Instant, Side, SessionEvent)>,
}

impl Pair {
    fn new(ca: SessionConfig, cb: SessionConfig, seeds: (u64, u64)) -> Pair {
        let a = Session::new(Instant::ZERO, ca, 0x0a0a_0001, seeds.0).unwrap();
        let b = Session::new(Instant::ZERO, cb, 0x0b0b_0002, seeds.1).unwrap();
        let mut p = Pair {
            a,
            b,
            now: Instant::ZERO,
            delay: MS,
            cut: (false, false),
            in_flight: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
        };
        p.drain();
        p
    }

    fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Moves what both sessions output onto the link and into the logs.
    fn drain(&mut self) {
        for side in [Side::A, Side::B] {
            let now = self.now;
            let cut = if side == Side::A { self.cut.0 } else { self.cut.1 };
            while let Some(p) = self.session(side).poll_transmit() {
                self.sent.push((now, side, p));
                if !cut {
                    self.in_flight.push((now + self.delay, side, p));
                }
            }
            while let Some(e) = self.session(side).poll_event() {
                self.events.push((now, side, e));
            }
        }
    }

    /// Runs until `until`, event by event.
    fn run_until(&mut self, until: Instant) {
        for _ in 0..10_000_000 {
            let next_arrival = self.in_flight.iter().map(|(t, _, _)| *t).min();
            let next = [self.a.poll_timeout(), self.b.poll_timeout(), next_arrival]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|t| *t <= until) else {
                self.now = until;
                return;
            };
            self.now = self.now.max(next);
            let now = self.now;
            let (due, rest): (Vec<_>, Vec<_>) =
                self.in_flight.drain(..).partition(|(t, _, _)| *t <= now);
            self.in_flight = rest;
            for (_, from, p) in due {
                let to = if from == Side::A { Side::B } else { Side::A };
                let _ = self.session(to).handle_packet(now, &p);
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

    fn states(&self) -> (State, State) {
        (self.a.state(), self.b.state())
    }

    fn state_events(&self, side: Side) -> Vec<(Instant, State, State, Diagnostic)> {
        self.events
            .iter()
            .filter(|(_, s, _)| *s == side)
            .filter_map(|(t, _, e)| match e {
                SessionEvent::State { from, to, diag } => Some((*t, *from, *to, *diag)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn three_way_handshake_then_poll_final_negotiates_both_directions() {
    // A: Desired Min TX 10 ms, Required Min RX 20 ms, mult 3. B: 30 ms, 15 ms, mult 4.
    let mut p = Pair::new(config(10, 20, 3), config(30, 15, 4), (1, 2));
    p.run_for(ms(5000));
    assert_eq!(p.states(), (State::Up, State::Up));
    // 6.8.7: the slower side sets the rate. 6.8.4: remote mult x max(our RX, remote TX).
    let (a, b) = (p.a.status(), p.b.status());
    assert_eq!(a.tx_interval, ms(15), "A sends at max(10, B's 15)");
    assert_eq!(b.tx_interval, ms(30), "B sends at max(30, A's 20)");
    assert_eq!(a.detection_time, ms(120), "4 x max(20, 30)");
    assert_eq!(b.detection_time, ms(45), "3 x max(15, 10)");
    assert_eq!((a.remote_discr, b.remote_discr), (0x0b0b_0002, 0x0a0a_0001));
    // Each side's fast timers came through a Poll Sequence the other answered.
    assert_eq!(a.stats.polls_completed, 1);
    assert_eq!(b.stats.polls_completed, 1);
    assert!(a.stats.finals_sent >= 1 && b.stats.finals_sent >= 1);
    // The handshake: A and B each went Down -> Init -> Up or Down -> Up, once.
    for side in [Side::A, Side::B] {
        let ups = p.state_events(side).iter().filter(|e| e.2 == State::Up).count();
        assert_eq!(ups, 1, "{side:?}: {:?}", p.state_events(side));
    }
    for (t, side, pkt) in &p.sent {
        // 6.8.3: while not Up, Desired Min TX of at least one second.
        if pkt.state != State::Up {
            assert!(pkt.desired_min_tx >= 1_000_000, "{t:?} {side:?}: {pkt:?}");
        }
        // 4.1: never both Poll and Final.
        assert!(!(pkt.poll && pkt.final_), "{t:?} {side:?}: {pkt:?}");
        assert_eq!(pkt.required_min_echo_rx, 0, "no Echo function");
        assert!(pkt.auth.is_none() && !pkt.demand && !pkt.multipoint);
    }
    // The Poll packets carry the configured (fast) values, and the Finals answer them.
    let polls: Vec<_> = p.sent.iter().filter(|(_, _, k)| k.poll).collect();
    assert!(!polls.is_empty());
    for (_, side, pkt) in &polls {
        let want = if *side == Side::A { (10_000, 20_000) } else { (30_000, 15_000) };
        assert_eq!((pkt.desired_min_tx, pkt.required_min_rx), want);
        assert_eq!(pkt.state, State::Up);
    }
    assert!(p.sent.iter().any(|(_, _, k)| k.final_));
}

#[test]
fn the_session_comes_up_within_a_few_slow_intervals() {
    let mut p = Pair::new(config(10, 10, 3), config(10, 10, 3), (3, 4));
    // Both send at once on creation, each answers the other's state change at once: the
    // handshake needs no periodic packet.
    p.run_for(ms(50));
    assert_eq!(p.states(), (State::Up, State::Up));
    p.run_for(ms(100));
    assert_eq!(p.a.status().tx_interval, ms(10));
    assert_eq!(p.a.status().detection_time, ms(30));
}

#[test]
fn periodic_packets_are_jittered_within_the_rfc_bounds() {
    for (mult, lo, hi) in [(3u8, 0.75, 1.0), (1, 0.75, 0.90)] {
        let mut p = Pair::new(config(20, 20, mult), config(20, 20, 3), (5, 6));
        p.run_for(ms(2000));
        assert_eq!(p.states(), (State::Up, State::Up));
        let start = p.sent.len();
        p.run_for(ms(4000));
        let times: Vec<Instant> =
            p.sent[start..].iter().filter(|(_, s, _)| *s == Side::A).map(|(t, _, _)| *t).collect();
        assert!(times.len() > 150, "{} packets in 4 s at 20 ms", times.len());
        let gaps: Vec<f64> =
            times.windows(2).map(|w| (w[1] - w[0]).as_secs_f64() / 0.020).collect();
        let (min, max) = gaps.iter().fold((f64::MAX, 0f64), |(a, b), &g| (a.min(g), b.max(g)));
        assert!(min >= lo - 1e-9 && max <= hi + 1e-9, "mult {mult}: gaps {min}..{max}");
        // The range is used, not one point of it (6.8.7: "random").
        assert!(max - min > (hi - lo) * 0.8, "mult {mult}: gaps {min}..{max}");
    }
}

#[test]
fn a_seed_reproduces_a_run_and_another_seed_does_not() {
    let run = |seeds| {
        let mut p = Pair::new(config(10, 10, 3), config(10, 10, 3), seeds);
        p.run_for(ms(1000));
        p.sent.iter().map(|(t, s, _)| (*t, *s)).collect::<Vec<_>>()
    };
    assert_eq!(run((7, 8)), run((7, 8)));
    assert_ne!(run((7, 8)), run((9, 8)));
}

#[test]
fn while_up_new_timers_wait_for_the_final() {
    // B sends every 10 ms, so A's Required Min RX matters to A's Detection Time.
    let mut p = Pair::new(config(10, 20, 3), config(10, 10, 4), (11, 12));
    p.delay = ms(5);
    p.run_for(ms(2000));
    assert_eq!(p.states(), (State::Up, State::Up));
    let before = p.a.status();
    assert_eq!((before.tx_interval, before.detection_time), (ms(10), ms(80)));

    // A raises its Desired Min TX to 40 ms and lowers its Required Min RX to 5 ms.
    let t0 = p.now;
    p.a.set_config(t0, config(40, 5, 3)).unwrap();
    p.drain();
    let during = p.a.status();
    assert!(during.polling);
    assert_eq!(during.desired_min_tx, ms(40), "advertised at once");
    assert_eq!(during.required_min_rx, ms(5), "advertised at once");
    // 6.8.2: a raised Desired Min TX is not used until the Poll Sequence ends, and a lowered
    // Required Min RX does not shorten the Detection Time before then.
    assert_eq!(during.tx_interval, ms(10));
    assert_eq!(during.detection_time, ms(80));
    // The Final comes back after one round trip (10 ms) at the earliest.
    p.run_until(t0 + ms(9));
    assert!(p.a.status().polling);
    assert_eq!(p.a.status().tx_interval, ms(10));
    p.run_until(t0 + ms(200));
    let after = p.a.status();
    assert!(!after.polling);
    assert_eq!(after.stats.polls_completed, before.stats.polls_completed + 1);
    assert_eq!(after.tx_interval, ms(40));
    assert_eq!(after.detection_time, ms(40), "4 x max(5, 10)");
    // A's packets carried the Poll bit from the change until the Final arrived, none after.
    let a_polls: Vec<Instant> = p
        .sent
        .iter()
        .filter(|(t, s, k)| *s == Side::A && *t >= t0 && k.poll)
        .map(|(t, _, _)| *t)
        .collect();
    assert!(!a_polls.is_empty());
    let final_at = p
        .sent
        .iter()
        .find(|(t, s, k)| *s == Side::B && *t >= t0 && k.final_)
        .map(|(t, _, _)| *t)
        .unwrap();
    assert!(a_polls.iter().all(|t| *t < final_at + p.delay), "{a_polls:?} {final_at:?}");
    // B learned the new values from the Poll itself: its Detection Time of A grew at once.
    assert_eq!(p.b.status().detection_time, ms(120), "3 x max(10, 40)");
    assert_eq!(p.b.status().tx_interval, ms(10), "max(10, A's 5)");
    // After the change, A's packets are 30 to 40 ms apart.
    let times: Vec<Instant> = p
        .sent
        .iter()
        .filter(|(t, s, _)| *s == Side::A && *t > t0 + ms(60))
        .map(|(t, _, _)| *t)
        .collect();
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(gap >= ms(30) && gap <= ms(40), "{gap:?}");
    }
}

#[test]
fn detection_time_expiry_takes_the_session_down_then_it_comes_back() {
    let mut p = Pair::new(config(10, 10, 3), config(10, 10, 3), (13, 14));
    p.run_for(ms(1000));
    assert_eq!(p.states(), (State::Up, State::Up));
    // Blackhole both directions.
    p.cut = (true, true);
    let cut_at = p.now;
    p.run_for(ms(200));
    assert_eq!(p.states(), (State::Down, State::Down));
    let downs = p.state_events(Side::A);
    let (t, from, to, diag) = *downs.last().unwrap();
    assert_eq!((from, to, diag), (State::Up, State::Down, Diagnostic::ControlDetectionTimeExpired));
    // Exactly one Detection Time (30 ms) after the last packet A received (those on the wire
    // when the link was cut still arrive).
    let last_rx = p
        .sent
        .iter()
        .filter(|(t, s, _)| *s == Side::B && *t <= cut_at)
        .map(|(t, _, _)| *t + p.delay)
        .max()
        .unwrap();
    assert_eq!(t, last_rx + ms(30), "down at {t:?}, last packet at {last_rx:?}");
    assert!(t - cut_at <= ms(30));
    // 6.8.1: the remote discriminator is forgotten; packets go out with Your Discriminator 0.
    assert_eq!(p.a.status().remote_discr, 0);
    assert_eq!(p.a.status().stats.down_count, 1);
    let last_a = p.sent.iter().rev().find(|(_, s, _)| *s == Side::A).unwrap().2;
    assert_eq!(
        (last_a.state, last_a.your_discriminator, last_a.diag),
        (State::Down, 0, Diagnostic::ControlDetectionTimeExpired)
    );
    assert!(last_a.desired_min_tx >= 1_000_000, "slow again while Down");

    // The link heals: the sessions come back within a couple of slow intervals.
    p.cut = (false, false);
    p.run_for(ms(2500));
    assert_eq!(p.states(), (State::Up, State::Up));
    assert_eq!(p.a.status().stats.up_count, 2);
}

#[test]
fn a_one_way_failure_downs_both_sides_with_their_reasons() {
    let mut p = Pair::new(config(10, 10, 3), config(10, 10, 3), (15, 16));
    p.run_for(ms(1000));
    p.cut = (false, true); // B -> A lost: A stops hearing B.
    p.run_for(ms(100));
    assert_eq!(p.states(), (State::Down, State::Down));
    let a = *p.state_events(Side::A).last().unwrap();
    let b = *p.state_events(Side::B).last().unwrap();
    assert_eq!(a.3, Diagnostic::ControlDetectionTimeExpired);
    assert_eq!(b.3, Diagnostic::NeighborSignaledSessionDown, "A told B it is down");
    assert!(b.0 <= a.0 + ms(2), "B learns at once: {:?} {:?}", a.0, b.0);
    p.cut = (false, false);
    p.run_for(ms(3000));
    assert_eq!(p.states(), (State::Up, State::Up));
}

#[test]
fn admin_down_is_announced_held_and_released() {
    let mut p = Pair::new(config(10, 10, 3), config(10, 10, 3), (17, 18));
    p.run_for(ms(1000));
    let t0 = p.now;
    p.a.set_admin_down(t0, true);
    p.drain();
    p.run_for(ms(3000));
    let pkt = p.sent.iter().find(|(t, s, _)| *s == Side::A && *t >= t0).unwrap();
    assert!(pkt.0 <= t0 + MS, "announced at once");
    assert_eq!((pkt.2.state, pkt.2.diag), (State::AdminDown, Diagnostic::AdministrativelyDown));
    assert_eq!(p.states(), (State::AdminDown, State::Down));
    let b = *p.state_events(Side::B).last().unwrap();
    assert_eq!((b.2, b.3), (State::Down, Diagnostic::NeighborSignaledSessionDown));
    // B, told AdminDown, stays Down (no Init); A discards B's packets.
    assert!(p.state_events(Side::B).iter().all(|e| e.0 <= t0 + ms(2)));
    // A keeps announcing AdminDown at the slow rate.
    let a_pkts: Vec<_> =
        p.sent.iter().filter(|(t, s, _)| *s == Side::A && *t > t0 + ms(10)).collect();
    assert!(!a_pkts.is_empty() && a_pkts.iter().all(|(_, _, k)| k.state == State::AdminDown));
    for w in a_pkts.windows(2) {
        assert!(w[1].0 - w[0].0 >= ms(750), "slow while not Up");
    }
    p.a.set_admin_down(p.now, false);
    p.run_for(ms(3000));
    assert_eq!(p.states(), (State::Up, State::Up));
}

#[test]
fn a_passive_session_waits_to_be_spoken_to() {
    let passive = SessionConfig { passive: true, ..config(10, 10, 3) };
    let mut p = Pair::new(passive, config(10, 10, 3), (19, 20));
    p.cut = (false, true); // B's packets do not reach A yet.
    p.in_flight.clear();
    p.run_for(ms(3000));
    assert!(p.sent.iter().all(|(_, s, _)| *s == Side::B), "the passive side stays silent");
    p.cut = (false, false);
    p.run_for(ms(3000));
    assert_eq!(p.states(), (State::Up, State::Up));
}

fn valid_from_b(state: State, your: u32) -> ControlRepr {
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
        my_discriminator: 0x0b0b_0002,
        your_discriminator: your,
        desired_min_tx: 1_000_000,
        required_min_rx: 10_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

#[test]
fn the_reception_checks_drop_bad_packets_and_none_brings_the_session_up() {
    let mut s = Session::new(Instant::ZERO, config(10, 10, 3), 0x0a0a_0001, 21).unwrap();
    let ours = 0x0a0a_0001;
    let password = Password::new(b"secret").unwrap();
    let cases: Vec<(ControlRepr, DropReason)> = vec![
        (ControlRepr { version: 0, ..valid_from_b(State::Init, ours) }, DropReason::Version),
        (ControlRepr { version: 2, ..valid_from_b(State::Init, ours) }, DropReason::Version),
        (
            ControlRepr { detect_mult: 0, ..valid_from_b(State::Init, ours) },
            DropReason::DetectMultZero,
        ),
        (
            ControlRepr { multipoint: true, ..valid_from_b(State::Init, ours) },
            DropReason::Multipoint,
        ),
        (
            ControlRepr { my_discriminator: 0, ..valid_from_b(State::Init, ours) },
            DropReason::MyDiscriminatorZero,
        ),
        (valid_from_b(State::Init, 0x1234), DropReason::YourDiscriminator),
        (valid_from_b(State::Up, 0xffff_ffff), DropReason::YourDiscriminator),
        (valid_from_b(State::Init, 0), DropReason::YourDiscriminatorZero),
        (valid_from_b(State::Up, 0), DropReason::YourDiscriminatorZero),
        (
            ControlRepr {
                auth: Some(Auth::SimplePassword { key_id: 1, password }),
                ..valid_from_b(State::Init, ours)
            },
            DropReason::Authentication,
        ),
    ];
    // Over and over: nothing moves the session, nothing is recorded of the sender.
    for round in 0..50u64 {
        for (pkt, reason) in &cases {
            let now = at(round * 10);
            assert_eq!(s.handle_packet(now, pkt), Err(*reason), "{pkt:?}");
            s.handle_timeout(now);
            assert_eq!(s.state(), State::Down);
        }
    }
    let st = s.status();
    assert_eq!((st.remote_discr, st.stats.rx, st.remote_detect_mult), (0, 0, 0));
    assert!(std::iter::from_fn(|| s.poll_event()).all(|e| !matches!(e, SessionEvent::State { .. })));
    // The same packet, right, brings it up (Down + received Init -> Up).
    assert_eq!(s.handle_packet(at(600), &valid_from_b(State::Init, ours)), Ok(()));
    assert_eq!(s.state(), State::Up);
    // Once Up, spoofed Down packets (wrong Your Discriminator) cannot take it down.
    for i in 0..100 {
        let spoof = valid_from_b(State::Down, 0x5555_0000 + i);
        assert_eq!(s.handle_packet(at(601), &spoof), Err(DropReason::YourDiscriminator));
    }
    assert_eq!(s.state(), State::Up);
}

#[test]
fn a_poll_is_answered_at_once_with_a_final_and_rate_limited() {
    let mut s = Session::new(Instant::ZERO, config(10, 10, 3), 0x0a0a_0001, 23).unwrap();
    while s.poll_transmit().is_some() {}
    let now = at(500);
    s.handle_timeout(now);
    while s.poll_transmit().is_some() {}
    let poll = ControlRepr { poll: true, ..valid_from_b(State::Down, 0) };
    s.handle_packet(now, &poll).unwrap();
    let answer = s.poll_transmit().expect("a Final at once");
    assert!(answer.final_ && !answer.poll);
    assert_eq!((answer.state, answer.your_discriminator), (State::Init, 0x0b0b_0002));
    // A second Poll right away: answered no sooner than a millisecond after the first (the
    // rate limit), but answered.
    let again = ControlRepr { poll: true, ..valid_from_b(State::Init, 0x0a0a_0001) };
    s.handle_packet(now + MS / 2, &again).unwrap();
    assert_eq!(s.state(), State::Up);
    assert!(s.poll_transmit().is_none());
    assert_eq!(s.poll_timeout(), Some(now + MS));
    s.handle_timeout(now + MS);
    let answer = s.poll_transmit().unwrap();
    assert!(answer.final_ && !answer.poll && answer.state == State::Up);
    // Our own Poll (the fast timers, now that we are Up) follows a millisecond later.
    assert_eq!(s.poll_timeout(), Some(now + 2 * MS));
    s.handle_timeout(now + 2 * MS);
    let ours = s.poll_transmit().unwrap();
    assert!(ours.poll && !ours.final_ && ours.desired_min_tx == 10_000);
}

#[test]
fn no_periodic_packets_to_a_remote_that_wants_none_or_is_in_demand_mode() {
    // Required Min RX 0 (6.8.7: no periodic transmission).
    let mut s = Session::new(Instant::ZERO, config(10, 10, 3), 0x0a0a_0001, 25).unwrap();
    while s.poll_transmit().is_some() {}
    let quiet = ControlRepr { required_min_rx: 0, ..valid_from_b(State::Down, 0) };
    s.handle_packet(at(10), &quiet).unwrap();
    while s.poll_transmit().is_some() {} // the Init announcement
    for t in (20..5000).step_by(10) {
        s.handle_packet(
            at(t),
            &ControlRepr { required_min_rx: 0, ..valid_from_b(State::Init, 0x0a0a_0001) },
        )
        .unwrap();
        s.handle_timeout(at(t));
        if t > 100 {
            assert!(s.poll_transmit().is_none(), "t={t}");
        } else {
            while s.poll_transmit().is_some() {}
        }
    }
    // A remote in Demand mode, both Up: periodic transmission stops (6.6, 6.8.7).
    let mut s = Session::new(Instant::ZERO, config(10, 10, 3), 0x0a0a_0001, 27).unwrap();
    s.handle_packet(at(1), &valid_from_b(State::Init, 0x0a0a_0001)).unwrap();
    assert_eq!(s.state(), State::Up);
    let demand = ControlRepr { demand: true, ..valid_from_b(State::Up, 0x0a0a_0001) };
    s.handle_packet(at(2), &ControlRepr { final_: true, ..demand }).unwrap();
    while s.poll_transmit().is_some() {}
    let mut sent = 0;
    for t in 3..3000 {
        s.handle_timeout(at(t));
        if t % 10 == 0 {
            s.handle_packet(at(t), &demand).unwrap();
        }
        while s.poll_transmit().is_some() {
            sent += 1;
        }
    }
    assert_eq!(sent, 0);
    assert_eq!(s.state(), State::Up);
}

#[test]
fn while_up_a_faster_tx_and_a_slower_rx_apply_at_once() {
    let mut p = Pair::new(config(40, 10, 3), config(10, 10, 4), (29, 30));
    p.delay = ms(5);
    p.run_for(ms(2000));
    assert_eq!(p.states(), (State::Up, State::Up));
    assert_eq!((p.a.status().tx_interval, p.a.status().detection_time), (ms(40), ms(40)));
    let t0 = p.now;
    // Faster TX (the remote times us by what we advertise: we must keep up at once) and
    // slower RX (a longer Detection Time cannot cause a false detection).
    p.a.set_config(t0, config(10, 30, 3)).unwrap();
    let during = p.a.status();
    assert!(during.polling);
    assert_eq!((during.tx_interval, during.detection_time), (ms(10), ms(120)));
    p.run_for(ms(100));
    let after = p.a.status();
    assert!(!after.polling);
    assert_eq!((after.tx_interval, after.detection_time), (ms(10), ms(120)));
    // B now sends at A's new Required Min RX.
    assert_eq!(p.b.status().tx_interval, ms(30));
    assert_eq!(p.states(), (State::Up, State::Up));
}
