//! One BFD session in Asynchronous mode (RFC 5880): the state variables of 6.8.1, the
//! reception checks of 6.8.6, timer negotiation and Poll Sequences (6.5, 6.8.2, 6.8.3), the
//! Detection Time (6.8.4) and periodic, jittered transmission (6.8.7).
//!
//! Not implemented: Demand mode for ourselves (we never set D; a remote in Demand mode is
//! honoured), the Echo function (we advertise a Required Min Echo RX Interval of zero), and
//! authentication (a session uses none, so packets with the A bit are discarded, 6.8.6).
//!
//! This module holds the [`Session`] itself: its state variables, the reception checks, the
//! timers and the queues. `config` holds its settings and their checks, `drops` why a received
//! packet is discarded (with the counters), `status` what it reports (events, status, counters).

mod config;
mod drops;
mod resume;
mod status;

pub use self::config::{ConfigError, SessionConfig, DEFAULT_DETECT_MULT, DEFAULT_INTERVAL};
pub use self::drops::{DropCounters, DropReason};
pub use self::resume::SessionResume;
pub use self::status::{SessionEvent, SessionStats, SessionStatus};

use std::collections::VecDeque;
use std::time::Duration;

use ubond_wire::bfd::{ControlRepr, Diagnostic, State, VERSION};

use super::state::{self, Input};
use super::timers::{self, Rng, SLOW_TX_INTERVAL};
use crate::time::Instant;

/// Most packets waiting in a session's transmit queue; it holds at most one or two between
/// polls, so more means a driver that does not drain it: the oldest are dropped and counted.
pub const TX_QUEUE_LIMIT: usize = 16;
/// Most events waiting in a session's event queue; the oldest are dropped and counted.
pub const EVENT_QUEUE_LIMIT: usize = 64;

/// One BFD session. See the [module docs](super) for the driver contract.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    // RFC 5880 6.8.1 state variables (bfd.DemandMode is always 0, bfd.AuthType 0).
    pub(super) session_state: State,
    pub(super) remote_session_state: State,
    local_discr: u32,
    pub(super) remote_discr: u32,
    pub(super) local_diag: Diagnostic,
    /// bfd.DesiredMinTxInterval: what we advertise, microseconds.
    desired_min_tx: u32,
    /// bfd.RequiredMinRxInterval: what we advertise, microseconds.
    required_min_rx: u32,
    remote_min_rx: u32,
    remote_demand_mode: bool,
    detect_mult: u8,
    // What the remote said besides.
    remote_desired_min_tx: u32,
    remote_detect_mult: u8,
    remote_diag: Diagnostic,
    /// The Desired Min TX and Required Min RX in use: while Up, a raised Desired Min TX and a
    /// lowered Required Min RX take effect only when our Poll Sequence ends (6.8.2).
    tx_in_use: u32,
    rx_in_use: u32,
    /// A Poll Sequence of ours is under way (6.5).
    polling: bool,
    /// A Final is owed to the remote's Poll.
    final_pending: bool,
    /// A packet is owed at once (a state change, a Final).
    immediate: bool,
    /// The least Desired Min TX Interval to advertise while Up, microseconds: zero, or what a
    /// planned restart of the driver asks for ([`Session::hold_for_restart`]).
    hold: u32,
    next_tx: Option<Instant>,
    last_tx: Option<Instant>,
    pub(super) detect_deadline: Option<Instant>,
    /// The timers last reported, to report changes only.
    reported: (Duration, Duration),
    rng: Rng,
    now: Instant,
    outbox: VecDeque<ControlRepr>,
    events: VecDeque<SessionEvent>,
    pub(super) stats: SessionStats,
}

impl Session {
    /// A session in Down with discriminator `local_discr` (nonzero, unique on this system),
    /// its jitter drawn from `seed`. An active session sends its first packet at once.
    pub fn new(
        now: Instant,
        config: SessionConfig,
        local_discr: u32,
        seed: u64,
    ) -> Result<Session, ConfigError> {
        let mut s = Session::blank(now, config, local_discr, seed)?;
        if !config.passive {
            s.immediate = true;
        }
        s.flush(now);
        Ok(s)
    }

    /// A session in Down that has sent nothing yet.
    fn blank(
        now: Instant,
        config: SessionConfig,
        local_discr: u32,
        seed: u64,
    ) -> Result<Session, ConfigError> {
        config.validate()?;
        if local_discr == 0 {
            return Err(ConfigError::ZeroDiscriminator);
        }
        let mut s = Session {
            config,
            session_state: State::Down,
            remote_session_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diagnostic::NoDiagnostic,
            desired_min_tx: 0,
            required_min_rx: 0,
            // 6.8.1: "This variable MUST be initialized to 1."
            remote_min_rx: 1,
            remote_demand_mode: false,
            detect_mult: config.detect_mult,
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            remote_diag: Diagnostic::NoDiagnostic,
            tx_in_use: 0,
            rx_in_use: 0,
            polling: false,
            final_pending: false,
            immediate: false,
            hold: 0,
            next_tx: None,
            last_tx: None,
            detect_deadline: None,
            reported: (Duration::ZERO, Duration::ZERO),
            rng: Rng::new(seed),
            now,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            stats: SessionStats::default(),
        };
        s.update_intervals(now);
        s.reported = (s.tx_interval(), s.detection_time());
        Ok(s)
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.session_state
    }

    /// bfd.LocalDiscr.
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// The state, timers and counters, for reports.
    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.session_state,
            remote_state: self.remote_session_state,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            desired_min_tx: timers::micros(self.desired_min_tx.into()),
            required_min_rx: timers::micros(self.required_min_rx.into()),
            detect_mult: self.detect_mult,
            remote_desired_min_tx: timers::micros(self.remote_desired_min_tx.into()),
            remote_min_rx: timers::micros(self.remote_min_rx.into()),
            remote_detect_mult: self.remote_detect_mult,
            tx_interval: self.tx_interval(),
            detection_time: self.detection_time(),
            polling: self.polling,
            stats: self.stats,
        }
    }

    fn clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// The negotiated transmit interval, before jitter (6.8.7).
    fn tx_interval(&self) -> Duration {
        timers::micros(timers::tx_interval(self.tx_in_use, self.remote_min_rx).into())
    }

    /// The Detection Time (6.8.4); zero until the remote has told us its values.
    fn detection_time(&self) -> Duration {
        timers::micros(timers::detection_time(
            self.remote_detect_mult,
            self.rx_in_use,
            self.remote_desired_min_tx,
        ))
    }

    /// A received Control packet that reached this session: RFC 5880 6.8.6 from the version
    /// check on (the length checks are the codec's). `Err` says why it was discarded; a
    /// discarded packet changes nothing.
    pub fn handle_packet(&mut self, now: Instant, pkt: &ControlRepr) -> Result<(), DropReason> {
        let now = self.clock(now);
        self.check(pkt)?;
        // "Set bfd.RemoteDiscr to the value of My Discriminator" and the rest of the remote's
        // variables.
        self.remote_discr = pkt.my_discriminator;
        self.remote_session_state = pkt.state;
        self.remote_demand_mode = pkt.demand;
        let old_remote_min_rx = self.remote_min_rx;
        self.remote_min_rx = pkt.required_min_rx;
        self.remote_desired_min_tx = pkt.desired_min_tx;
        self.remote_detect_mult = pkt.detect_mult;
        self.remote_diag = pkt.diag;
        self.stats.rx += 1;
        // "If a Poll Sequence is being transmitted by the local system and the Final (F) bit
        // in the received packet is set, the Poll Sequence MUST be terminated."
        if self.polling && pkt.final_ {
            self.polling = false;
            self.stats.polls_completed += 1;
            // 6.8.2: what we advertised is now in use.
            self.tx_in_use = self.desired_min_tx;
            self.rx_in_use = self.required_min_rx;
            self.update_intervals(now);
        }
        // "Update the transmit interval as described in section 6.8.2": 6.8.3, a reduced
        // remote Required Min RX is honoured at once (and a raised one respected).
        if self.remote_min_rx != old_remote_min_rx {
            self.reschedule(now);
        }
        // "Update the Detection Time as described in section 6.8.4": this packet counts as
        // received for it (it was not discarded).
        if self.session_state != State::AdminDown {
            let detect = self.detection_time();
            self.detect_deadline = (!detect.is_zero()).then(|| now + detect);
        }
        // "If bfd.SessionState is AdminDown: Discard the packet."
        if self.session_state == State::AdminDown {
            self.report_timers();
            return Ok(());
        }
        self.step(now, Input::Received(pkt.state));
        // "If the Poll (P) bit is set, send a BFD Control packet to the remote system with the
        // Poll (P) bit clear, and the Final (F) bit set" (6.8.7: as soon as practicable,
        // whatever the state and the transmission timer).
        if pkt.poll {
            self.final_pending = true;
            self.immediate = true;
        }
        // Demand mode on the remote may stop or restart periodic transmission (6.6).
        if self.next_tx.is_none() || !self.may_transmit_periodically() {
            self.reschedule(now);
        }
        self.report_timers();
        self.flush(now);
        Ok(())
    }

    /// The checks of 6.8.6, in its order, after the length checks.
    fn check(&self, pkt: &ControlRepr) -> Result<(), DropReason> {
        if pkt.version != VERSION {
            return Err(DropReason::Version);
        }
        if pkt.detect_mult == 0 {
            return Err(DropReason::DetectMultZero);
        }
        if pkt.multipoint {
            return Err(DropReason::Multipoint);
        }
        if pkt.my_discriminator == 0 {
            return Err(DropReason::MyDiscriminatorZero);
        }
        if pkt.your_discriminator != 0 && pkt.your_discriminator != self.local_discr {
            return Err(DropReason::YourDiscriminator);
        }
        if pkt.your_discriminator == 0 && !matches!(pkt.state, State::Down | State::AdminDown) {
            return Err(DropReason::YourDiscriminatorZero);
        }
        // "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the
        // packet MUST be discarded." (We use none, so the converse cannot arise.)
        if pkt.auth.is_some() {
            return Err(DropReason::Authentication);
        }
        Ok(())
    }

    /// Time has passed: the Detection Time may have expired, a packet may be due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        if self.detect_deadline.is_some_and(|d| d <= now) {
            self.detect_deadline = None;
            if self.session_state == State::Down {
                // 6.8.1: the remote is forgotten even when the state does not change.
                self.remote_discr = 0;
                self.remote_session_state = State::Down;
            }
            self.step(now, Input::DetectionTimeExpired);
            self.report_timers();
        }
        self.flush(now);
    }

    /// Holds the session administratively down (6.8.16), or releases it into Down.
    pub fn set_admin_down(&mut self, now: Instant, down: bool) {
        let now = self.clock(now);
        self.step(now, if down { Input::Shutdown } else { Input::NoShutdown });
        self.report_timers();
        self.flush(now);
    }

    /// New timers. While Up they are advertised through a Poll Sequence (6.8.2); a raised
    /// Desired Min TX and a lowered Required Min RX are used once it ends, the other changes at
    /// once. While not Up, everything applies at once. Detect Mult changes at once.
    pub fn set_config(&mut self, now: Instant, config: SessionConfig) -> Result<(), ConfigError> {
        config.validate()?;
        let now = self.clock(now);
        self.config = config;
        self.detect_mult = config.detect_mult;
        self.update_intervals(now);
        self.report_timers();
        self.flush(now);
        Ok(())
    }

    /// Runs the state machine on `input`.
    fn step(&mut self, now: Instant, input: Input) {
        let from = self.session_state;
        if let Some(to) = state::next_state(from, input) {
            state::enter(self, to, from, input, now);
        }
    }

    /// Brings what we advertise in line with the state and the settings (6.8.2, 6.8.3), and
    /// what we use with what we advertise when that may change at once.
    pub(super) fn update_intervals(&mut self, now: Instant) {
        let up = self.session_state == State::Up;
        let configured = timers::to_micros(self.config.desired_min_tx).max(self.hold);
        let target_tx = if up { configured } else { configured.max(SLOW_TX_INTERVAL) };
        let target_rx = timers::to_micros(self.config.required_min_rx);
        if !up {
            // Not Up: no Poll Sequence; the values apply at once.
            self.polling = false;
            self.desired_min_tx = target_tx;
            self.required_min_rx = target_rx;
            self.tx_in_use = target_tx;
            self.rx_in_use = target_rx;
        } else {
            if !self.polling
                && (self.desired_min_tx, self.required_min_rx) != (target_tx, target_rx)
            {
                // 6.8.2: "If either bfd.DesiredMinTxInterval is changed or
                // bfd.RequiredMinRxInterval is changed, a Poll Sequence MUST be initiated".
                // One at a time: a change during a Poll Sequence waits for it to end (this
                // function runs again then), so every Final acknowledges what we advertise.
                self.desired_min_tx = target_tx;
                self.required_min_rx = target_rx;
                self.polling = true;
                self.immediate = true;
            }
            // 6.8.2: "If bfd.DesiredMinTxInterval is increased and bfd.SessionState is Up,
            // the actual transmission interval used MUST NOT change until the Poll Sequence
            // ... has terminated", and a reduced bfd.RequiredMinRxInterval is not used for the
            // Detection Time until then either. The other way round is safe at once, and
            // needed: the remote times us by what we advertise.
            self.tx_in_use = self.tx_in_use.min(self.desired_min_tx);
            self.rx_in_use = self.rx_in_use.max(self.required_min_rx);
        }
        self.reschedule(now);
    }

    /// May we send periodic packets now (6.8.7)?
    fn may_transmit_periodically(&self) -> bool {
        // "A system MUST NOT transmit BFD Control packets if bfd.RemoteDiscr is zero and the
        // system is taking the Passive role."
        if self.config.passive && self.remote_discr == 0 {
            return false;
        }
        // "A system MUST NOT periodically transmit BFD Control packets if
        // bfd.RemoteMinRxInterval is zero."
        if self.remote_min_rx == 0 {
            return false;
        }
        // "... if Demand mode is active on the remote system ... and a Poll Sequence is not
        // being transmitted."
        let remote_demand = self.remote_demand_mode
            && self.session_state == State::Up
            && self.remote_session_state == State::Up;
        !remote_demand || self.polling
    }

    /// Sets the next periodic transmission from the last one and the current interval; none
    /// if periodic transmission is not allowed.
    fn reschedule(&mut self, now: Instant) {
        if !self.may_transmit_periodically() {
            self.next_tx = None;
            return;
        }
        let interval = timers::tx_interval(self.tx_in_use, self.remote_min_rx);
        let gap = timers::jittered(interval, self.detect_mult, &mut self.rng);
        self.next_tx = Some(match self.last_tx {
            Some(last) => (last + gap).max(now),
            None => now,
        });
    }

    /// When the next periodic packet goes out (none while periodic transmission is off).
    pub fn next_periodic_tx(&self) -> Option<Instant> {
        self.next_tx
    }

    /// Moves the next periodic packet to `at` if that keeps it within 6.8.7's bounds — 75 % to
    /// 100 % of the transmit interval after the last packet (to 90 % with a Detect Mult of 1)
    /// — and not before now; false, and nothing changed, otherwise. Micro-BFD uses it so that
    /// a bond's members send together, in one wakeup of the driver: the interval is still
    /// jittered per packet, by the member whose draw the others join.
    pub fn align_next_tx(&mut self, at: Instant) -> bool {
        let (Some(_), Some(last)) = (self.next_tx, self.last_tx) else { return false };
        let interval = u64::from(timers::tx_interval(self.tx_in_use, self.remote_min_rx)) * 1000;
        let most = if self.detect_mult == 1 { interval / 10 * 9 } else { interval };
        let lo = last + Duration::from_nanos(interval - interval / 4);
        let hi = last + Duration::from_nanos(most);
        if at < lo || at > hi || at < self.now {
            return false;
        }
        self.next_tx = Some(at);
        true
    }

    /// Asks for a packet as soon as the rate limit allows.
    pub(super) fn request_immediate(&mut self) {
        if self.config.passive && self.remote_discr == 0 {
            return;
        }
        self.immediate = true;
    }

    /// The shortest time between two packets sent out of schedule (state changes and Finals):
    /// a millisecond, or less if a tenth of the Desired Min TX Interval we advertise is less,
    /// as 6.8.7 requires of a rate limit ("the advertised value of Desired Min TX Interval
    /// MUST be greater than or equal to the interval between transmitted packets imposed by
    /// the rate limiting function"). A remote cannot make us send more than a thousand
    /// packets a second.
    fn immediate_gap(&self) -> Duration {
        timers::micros(u64::from(self.desired_min_tx / 10).min(1000))
    }

    /// When the next packet goes out.
    fn tx_deadline(&self) -> Option<Instant> {
        let immediate = self
            .immediate
            .then(|| self.last_tx.map_or(Instant::ZERO, |t| t + self.immediate_gap()));
        match (immediate, self.next_tx) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Queues the packet that is due at `now`, if any, and schedules the next.
    fn flush(&mut self, now: Instant) {
        if self.tx_deadline().is_none_or(|d| d > now) {
            return;
        }
        let pkt = self.control_packet();
        if pkt.final_ {
            self.stats.finals_sent += 1;
        }
        if self.outbox.len() >= TX_QUEUE_LIMIT {
            self.outbox.pop_front();
            self.stats.tx_queue_drops += 1;
        }
        self.outbox.push_back(pkt);
        self.stats.tx += 1;
        // A Final cannot carry our own Poll (4.1): the Poll follows as soon as the rate limit
        // allows, not at the next periodic transmission.
        self.immediate = pkt.final_ && self.polling;
        self.final_pending = false;
        self.last_tx = Some(now);
        self.reschedule(now);
    }

    /// The packet we send now (6.8.7, "the contents of transmitted BFD Control packets").
    fn control_packet(&self) -> ControlRepr {
        ControlRepr {
            version: VERSION,
            diag: self.local_diag,
            state: self.session_state,
            // "MUST NOT have both the Poll (P) and Final (F) bits set": the Final goes first,
            // the Poll rides on the next packet.
            poll: self.polling && !self.final_pending,
            final_: self.final_pending,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: self.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            required_min_echo_rx: 0,
            auth: None,
        }
    }

    pub(super) fn push_state_event(&mut self, from: State, to: State) {
        self.push_event(SessionEvent::State { from, to, diag: self.local_diag });
    }

    fn push_event(&mut self, event: SessionEvent) {
        if self.events.len() >= EVENT_QUEUE_LIMIT {
            self.events.pop_front();
            self.stats.event_queue_drops += 1;
        }
        self.events.push_back(event);
    }

    /// Reports the timers if they changed since the last report.
    fn report_timers(&mut self) {
        let now = (self.tx_interval(), self.detection_time());
        if now != self.reported {
            self.reported = now;
            self.push_event(SessionEvent::Timers { tx_interval: now.0, detection_time: now.1 });
        }
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<ControlRepr> {
        self.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.tx_deadline(), self.detect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
