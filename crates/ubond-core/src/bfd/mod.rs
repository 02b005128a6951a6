//! Bidirectional Forwarding Detection: the RFC 5880 session in Asynchronous mode, and micro-BFD
//! (RFC 7130), one session per member of a bond.
//!
//! * [`session`]: one session — the state variables of RFC 5880 6.8.1, the reception checks
//!   of 6.8.6, timer negotiation with Poll Sequences (6.5, 6.8.2, 6.8.3), the Detection Time
//!   (6.8.4), jittered periodic transmission (6.8.7).
//! * [`state`]: the state machine (6.2), a pure `next_state` and its entry actions.
//! * [`timers`]: the timing rules as pure functions, and the seeded jitter source.
//! * [`micro`]: RFC 7130 on a bond's members: frames in and out (UDP 6784 over IPv4 or IPv6,
//!   TTL 255, the dedicated MAC until Up), demultiplexing, drop counters, the member gate.
//!
//! # Driver contract
//!
//! Like the LACP machines, everything here is sans-IO: no socket, no clock, no thread.
//!
//! * **Inputs**: `handle_packet` ([`Session`]) or `handle_frame` ([`micro`]) for what arrives,
//!   `handle_timeout(now)`, and commands (`set_admin_down`, `set_config`, members added and
//!   removed). Each takes `now`; time must not go backwards (if it does, the latest time seen
//!   is used).
//! * **Outputs**: after every input drain `poll_transmit` (Control packets, or whole frames
//!   for micro-BFD) and `poll_event` (state changes with their diagnostic, timer changes),
//!   then ask `poll_timeout` when to call `handle_timeout` next. Timers are deadlines, not
//!   ticks: at a 10 ms interval the driver wakes about every 7.5 to 10 ms per session, exactly
//!   when something is due. Queues are bounded; what overflows is counted.
//! * **Determinism**: the jitter and the choice of discriminators and source ports come from
//!   a seed; the same seed and inputs give the same outputs.
//!
//! # Example
//!
//! Two sessions talking to each other come up in a three-way handshake, then agree on their
//! timers with a Poll Sequence:
//!
//! ```
//! use std::time::Duration;
//! use ubond_core::bfd::{Session, SessionConfig};
//! use ubond_core::time::Instant;
//! use ubond_wire::bfd::State;
//!
//! let config = SessionConfig::new(Duration::from_millis(10), 3);
//! let t = Instant::ZERO;
//! let mut a = Session::new(t, config, 1, 11).unwrap();
//! let mut b = Session::new(t, config, 2, 22).unwrap();
//! let mut now = t;
//! for _ in 0..1000 {
//!     while let Some(p) = a.poll_transmit() { let _ = b.handle_packet(now, &p); }
//!     while let Some(p) = b.poll_transmit() { let _ = a.handle_packet(now, &p); }
//!     now = a.poll_timeout().into_iter().chain(b.poll_timeout()).min().unwrap();
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!((a.state(), b.state()), (State::Up, State::Up));
//! assert_eq!(a.status().tx_interval, Duration::from_millis(10));
//! assert_eq!(a.status().detection_time, Duration::from_millis(30));
//! ```

pub mod micro;
pub mod session;
pub mod state;
pub mod timers;

pub use self::micro::{
    Event, FrameVerdict, MemberId, MemberResume, MemberSession, MemberStatus, MicroBfd,
    MicroConfig, MicroError, Transmit, TxFrame, UdpChecksum,
};
pub use self::session::{
    ConfigError, DropCounters, DropReason, Session, SessionConfig, SessionEvent, SessionResume,
    SessionStats, SessionStatus, DEFAULT_DETECT_MULT, DEFAULT_INTERVAL,
};
