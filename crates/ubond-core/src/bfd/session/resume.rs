//! Resuming a session where an earlier run of its driver left it (a daemon restarted or
//! upgraded while the link and the remote went on), and holding it for such a restart.
//!
//! RFC 5880 has no restart of its own: a remote that hears nothing for its Detection Time
//! takes the session Down (6.8.4), and a fresh session on our side would take it Down too (its
//! first packet says Down, 6.8.6). Either takes the member out of the remote's bond. Two
//! things keep it in, both within the RFC:
//!
//! * **Hold** ([`Session::hold_for_restart`]): before a planned stop, the session advertises a
//!   longer Desired Min TX Interval through a Poll Sequence (6.8.2, 6.8.3). The remote's
//!   Detection Time is our Detect Mult times that (6.8.4), so once its Final has come the
//!   remote waits that long for the next run, instead of a few tens of milliseconds.
//! * **Resume** ([`Session::resume`]): the next run starts the session in Up with the same
//!   discriminators and what each side last advertised ([`SessionResume`]), sends at once,
//!   and brings the timers back to its settings through a Poll Sequence. To the remote this
//!   is a session whose packets paused and whose timers changed twice.
//!
//! Whether the saved state can still be trusted is the driver's call: it knows when the
//! session was held or last sent ([`SessionResume::remote_patience`] says how long the remote
//! waits). A session that was not Up has nothing to keep and starts afresh.

use core::time::Duration;

use ubond_wire::bfd::State;

use super::{ConfigError, Session, SessionConfig};
use crate::bfd::timers;
use crate::time::Instant;

/// What an Up session needs to resume after a restart of its driver (see the module
/// documentation). Intervals in microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionResume {
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr.
    pub remote_discr: u32,
    /// The Desired Min TX Interval we advertised last.
    pub desired_min_tx: u32,
    /// The Required Min RX Interval we advertised last.
    pub required_min_rx: u32,
    /// The Detect Mult we advertised last.
    pub detect_mult: u8,
    /// The remote's last Desired Min TX Interval.
    pub remote_desired_min_tx: u32,
    /// The remote's last Required Min RX Interval.
    pub remote_min_rx: u32,
    /// The remote's last Detect Mult.
    pub remote_detect_mult: u8,
}

impl SessionResume {
    /// How long the remote waits for our next packet before it takes the session Down: its
    /// Detection Time, our Detect Mult times the larger of its Required Min RX Interval and
    /// our Desired Min TX Interval (6.8.4 seen from the remote).
    pub fn remote_patience(&self) -> Duration {
        timers::micros(timers::detection_time(
            self.detect_mult,
            self.remote_min_rx,
            self.desired_min_tx,
        ))
    }
}

impl Session {
    /// What the session needs to resume after a restart of its driver; `None` unless Up.
    pub fn resume_info(&self) -> Option<SessionResume> {
        (self.session_state == State::Up).then_some(SessionResume {
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            detect_mult: self.detect_mult,
            remote_desired_min_tx: self.remote_desired_min_tx,
            remote_min_rx: self.remote_min_rx,
            remote_detect_mult: self.remote_detect_mult,
        })
    }

    /// A session resumed in Up where an earlier run left it (see the module documentation):
    /// its first packet goes at once, with the Poll Sequence that brings the timers to
    /// `config`; the Detection Time runs from `now`. Fails on a zero discriminator or Detect
    /// Mult in `resume`, or a bad `config`.
    pub fn resume(
        now: Instant,
        config: SessionConfig,
        resume: &SessionResume,
        seed: u64,
    ) -> Result<Session, ConfigError> {
        if resume.remote_discr == 0 || resume.detect_mult == 0 || resume.remote_detect_mult == 0 {
            return Err(ConfigError::BadResume);
        }
        let mut s = Session::blank(now, config, resume.local_discr, seed)?;
        s.session_state = State::Up;
        s.remote_session_state = State::Up;
        s.remote_discr = resume.remote_discr;
        s.remote_desired_min_tx = resume.remote_desired_min_tx;
        s.remote_min_rx = resume.remote_min_rx;
        s.remote_detect_mult = resume.remote_detect_mult;
        // What the remote last heard from us is in use on both sides; the settings follow
        // through a Poll Sequence (a lowered Desired Min TX at once, 6.8.3).
        s.desired_min_tx = resume.desired_min_tx;
        s.required_min_rx = resume.required_min_rx;
        s.tx_in_use = resume.desired_min_tx;
        s.rx_in_use = resume.required_min_rx;
        s.update_intervals(now);
        let detect = s.detection_time();
        s.detect_deadline = (!detect.is_zero()).then(|| now + detect);
        s.reported = (s.tx_interval(), s.detection_time());
        s.immediate = true;
        s.flush(now);
        Ok(s)
    }

    /// Before a planned restart of the driver: advertises a Desired Min TX Interval of at least
    /// `hold` (a Poll Sequence; the packets keep their rate until the remote's Final), so that
    /// the remote waits our Detect Mult times `hold` for the next run. Nothing to hold unless
    /// Up; [`Session::restart_held`] says when the remote has taken it.
    pub fn hold_for_restart(&mut self, now: Instant, hold: Duration) {
        let now = self.clock(now);
        self.hold = timers::to_micros(hold);
        self.update_intervals(now);
        self.report_timers();
        self.flush(now);
    }

    /// The remote has acknowledged the hold (its Final came), or the session is not Up and has
    /// nothing to hold.
    pub fn restart_held(&self) -> bool {
        self.session_state != State::Up || (!self.polling && self.desired_min_tx >= self.hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up_pair() -> (Session, Session, Instant) {
        let config = SessionConfig::new(Duration::from_millis(10), 3);
        let mut now = Instant::ZERO;
        let mut a = Session::new(now, config, 1, 11).expect("a");
        let mut b = Session::new(now, config, 2, 22).expect("b");
        for _ in 0..1000 {
            exchange(&mut a, &mut b, now);
            now = a.poll_timeout().into_iter().chain(b.poll_timeout()).min().expect("timer");
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
        (a, b, now)
    }

    fn exchange(a: &mut Session, b: &mut Session, now: Instant) {
        while let Some(p) = a.poll_transmit() {
            let _ = b.handle_packet(now, &p);
        }
        while let Some(p) = b.poll_transmit() {
            let _ = a.handle_packet(now, &p);
        }
    }

    #[test]
    fn a_held_session_stretches_the_remotes_detection_time_and_resumes_with_its_discriminators() {
        let (mut a, mut b, now) = up_pair();
        assert_eq!(b.status().detection_time, Duration::from_millis(30));
        // 6.8.3: a raised Desired Min TX goes out with a Poll; the remote's Final ends it.
        let now = now + Duration::from_millis(2);
        a.hold_for_restart(now, Duration::from_secs(1));
        a.handle_timeout(now);
        assert!(!a.restart_held(), "not before the remote's Final");
        let mut polled = false;
        while let Some(p) = a.poll_transmit() {
            polled |= p.poll && p.desired_min_tx == 1_000_000;
            b.handle_packet(now, &p).expect("accepted");
        }
        assert!(polled, "a Poll with the raised interval");
        exchange(&mut a, &mut b, now);
        assert!(a.restart_held());
        // 6.8.4: the remote's Detection Time is our Detect Mult times our Desired Min TX.
        assert_eq!(b.status().detection_time, Duration::from_secs(3));
        let saved = a.resume_info().expect("Up");
        assert_eq!(saved.remote_patience(), Duration::from_secs(3));
        // The next run: Up at once, the same discriminators, the settings back with a Poll.
        let later = now + Duration::from_millis(800);
        let config = SessionConfig::new(Duration::from_millis(10), 3);
        let mut c = Session::resume(later, config, &saved, 33).expect("resume");
        assert_eq!(c.state(), State::Up);
        let p = c.poll_transmit().expect("a packet at once");
        assert_eq!((p.state, p.my_discriminator, p.your_discriminator), (State::Up, 1, 2));
        assert!(p.poll && p.desired_min_tx == 10_000);
        b.handle_packet(later, &p).expect("accepted");
        assert_eq!(b.state(), State::Up);
        exchange(&mut c, &mut b, later);
        assert_eq!(b.status().detection_time, Duration::from_millis(30));
        assert_eq!(b.status().stats.down_count, 0);
    }

    #[test]
    fn only_an_up_session_has_something_to_resume() {
        let config = SessionConfig::new(Duration::from_millis(10), 3);
        let s = Session::new(Instant::ZERO, config, 1, 1).expect("session");
        assert_eq!(s.resume_info(), None);
        let (a, _, _) = up_pair();
        let good = a.resume_info().expect("Up");
        for bad in [
            SessionResume { remote_discr: 0, ..good },
            SessionResume { detect_mult: 0, ..good },
            SessionResume { remote_detect_mult: 0, ..good },
        ] {
            let e = Session::resume(Instant::ZERO, config, &bad, 1).expect_err("refused");
            assert_eq!(e, ConfigError::BadResume);
        }
        let e =
            Session::resume(Instant::ZERO, config, &SessionResume { local_discr: 0, ..good }, 1);
        assert_eq!(e.expect_err("refused"), ConfigError::ZeroDiscriminator);
    }
}
