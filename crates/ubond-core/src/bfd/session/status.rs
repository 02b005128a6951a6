//! What a session reports: its events, its status for reports, its counters.

use std::time::Duration;

use ubond_wire::bfd::{Diagnostic, State};

/// A session's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionStats {
    /// Packets accepted (passed 6.8.6).
    pub rx: u64,
    /// Packets sent.
    pub tx: u64,
    /// Poll Sequences we started and saw answered with a Final.
    pub polls_completed: u64,
    /// Packets we sent with the Final bit, answering the remote's Polls.
    pub finals_sent: u64,
    /// Entries into Up.
    pub up_count: u64,
    /// Departures from Up (to Down or AdminDown).
    pub down_count: u64,
    /// Packets dropped because the transmit queue was full.
    pub tx_queue_drops: u64,
    /// Events dropped because the event queue was full.
    pub event_queue_drops: u64,
}

/// What a session reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// bfd.SessionState changed.
    State {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// bfd.LocalDiag after the change: why it happened.
        diag: Diagnostic,
    },
    /// The transmit interval in use or the Detection Time changed.
    Timers {
        /// The interval between our periodic packets, before jitter.
        tx_interval: Duration,
        /// How long we wait for the remote's packets (zero: no detection).
        detection_time: Duration,
    },
}

/// A session's state, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStatus {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr (0: not known).
    pub remote_discr: u32,
    /// bfd.LocalDiag.
    pub local_diag: Diagnostic,
    /// The remote's last diagnostic.
    pub remote_diag: Diagnostic,
    /// The Desired Min TX Interval we advertise.
    pub desired_min_tx: Duration,
    /// The Required Min RX Interval we advertise.
    pub required_min_rx: Duration,
    /// Our Detect Mult.
    pub detect_mult: u8,
    /// The remote's Desired Min TX Interval.
    pub remote_desired_min_tx: Duration,
    /// bfd.RemoteMinRxInterval.
    pub remote_min_rx: Duration,
    /// The remote's Detect Mult.
    pub remote_detect_mult: u8,
    /// The negotiated interval between our periodic packets, before jitter.
    pub tx_interval: Duration,
    /// The negotiated Detection Time (zero: none).
    pub detection_time: Duration,
    /// A Poll Sequence of ours is under way.
    pub polling: bool,
    /// Counters.
    pub stats: SessionStats,
}
