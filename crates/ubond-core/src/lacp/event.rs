//! What the core gives back: frames to send, events, frame verdicts, and the errors of a
//! caller's misuse.

use core::fmt;

use ubond_wire::slow;

use super::{ChurnState, MuxState, PortId, RxState, MAX_PORTS};

/// A frame the driver must send on `port`.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub port: PortId,
    /// The whole Ethernet frame (destination 01:80:c2:00:00:02, source the port's permanent
    /// MAC, EtherType 0x8809, the 110-octet PDU).
    pub frame: [u8; slow::FRAME_LEN],
}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transmit({}, subtype {})", self.port, self.frame[14])
    }
}

/// What happened, for logs, the lab's timeline and the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A port's Receive machine changed state.
    Rx {
        /// The port.
        port: PortId,
        /// The new state.
        state: RxState,
    },
    /// A port's Mux machine changed state.
    Mux {
        /// The port.
        port: PortId,
        /// The new state.
        state: MuxState,
    },
    /// A port was attached to an aggregator.
    Selected {
        /// The port.
        port: PortId,
        /// The aggregator's ID.
        aggregator: u16,
    },
    /// The bond's active aggregator changed (`None`: there is none).
    ActiveAggregator {
        /// The new active aggregator's ID.
        id: Option<u16>,
    },
    /// Linux's "No 802.3ad response from the link partner for any adapters in the bond": the
    /// new active aggregator is individual.
    NoPartnerResponse,
    /// The bond's carrier changed.
    Carrier {
        /// The new carrier.
        up: bool,
    },
    /// The set of distributing ports changed: the data path must reload it.
    DistributionChanged,
    /// An LACPDU with our own system ID arrived: the port is looped back to this system.
    Loopback {
        /// The port.
        port: PortId,
    },
    /// A port's driver reports no speed or duplex.
    SpeedDuplexUnknown {
        /// The port.
        port: PortId,
        /// The speed assumed instead (`None`: the port is kept down, as Linux does).
        assumed_mbps: Option<u32>,
    },
    /// A churn machine changed state.
    Churn {
        /// The port.
        port: PortId,
        /// `true` for the actor churn machine, `false` for the partner's.
        actor: bool,
        /// The new state.
        state: ChurnState,
    },
    /// The machines did not settle within [`MAX_PASSES`](super::MAX_PASSES) evaluation passes after one input: a
    /// bug in the core, reported instead of hanging (counted in [`Lacp::unsettled`]; debug
    /// builds panic). The machines continue from where they stopped at the next input.
    ///
    /// [`Lacp::unsettled`]: super::Lacp::unsettled
    Unsettled,
}

/// What became of a frame given to [`Lacp::handle_frame`](super::Lacp::handle_frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameVerdict {
    /// An LACPDU or Marker PDU: handled (or counted and dropped); do not deliver it further.
    Consumed,
    /// Not for LACP (another EtherType or destination, or a Slow Protocols subtype such as OAM,
    /// or too short): counted where Linux counts it, and left to the caller.
    NotConsumed,
}

/// A caller's misuse of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LacpError {
    /// No such port in this bond.
    UnknownPort(PortId),
    /// The bond already has [`MAX_PORTS`] ports.
    TooManyPorts,
    /// What was given to [`super::Lacp::resume`] cannot be used; the port starts afresh.
    BadResume(&'static str),
}

impl fmt::Display for LacpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LacpError::UnknownPort(p) => write!(f, "{p} is not a port of this bond"),
            LacpError::TooManyPorts => write!(f, "a bond has at most {MAX_PORTS} ports"),
            LacpError::BadResume(why) => write!(f, "cannot resume the port: {why}"),
        }
    }
}

impl std::error::Error for LacpError {}
