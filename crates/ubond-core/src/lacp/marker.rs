//! The Marker responder (IEEE 802.1AX-2014 6.5.4.2, Figure 6-27; 802.3ad-2000 43.5.4.2):
//! every Marker Information PDU is answered with a Marker Response carrying the same
//! Requester_Port, Requester_System and Requester_Transaction_ID, at once (its
//! RESPOND_TO_MARKER state lasts no time, so the machine keeps no state of its own).
//!
//! Like Linux, ubond never sends Marker Information PDUs (there is no Marker generator);
//! Marker Responses that arrive are counted. Unlike Linux, the responder answers at most
//! [`MARKER_RESPONSES_PER_SECOND`] PDUs per second on a port, so a flood of Marker Information
//! PDUs cannot fill the transmit queue; the rest are counted and left unanswered.

use core::time::Duration;

use ubond_wire::slow::{self, MarkerKind, MarkerRepr};

use super::port::Port;
use super::transmit;
use super::MARKER_RESPONSES_PER_SECOND;
use crate::time::Instant;

/// The window of the rate limit.
const WINDOW: Duration = Duration::from_secs(1);

/// What the Marker responder looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkerInputs {
    /// The kind of Marker PDU received (its TLV type).
    pub kind: MarkerKind,
    /// Marker Responses the port sent in the last second.
    pub recent_responses: usize,
}

/// What the Marker responder does with a Marker PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerStep {
    /// RESPOND_TO_MARKER: send the Marker Response.
    Respond,
    /// ubond: over the rate limit; counted and left unanswered.
    Suppress,
    /// A Marker Response: counted (we never ask, like Linux).
    ResponseReceived,
    /// An unknown TLV type: counted, not answered.
    Unknown,
}

/// What to do with a Marker PDU.
pub fn next_state(i: MarkerInputs) -> MarkerStep {
    match i.kind {
        MarkerKind::Information if i.recent_responses >= MARKER_RESPONSES_PER_SECOND => {
            MarkerStep::Suppress
        }
        MarkerKind::Information => MarkerStep::Respond,
        MarkerKind::Response => MarkerStep::ResponseReceived,
        MarkerKind::Other(_) => MarkerStep::Unknown,
    }
}

/// The port's inputs for `marker`, received now.
pub(crate) fn inputs(port: &Port, marker: &MarkerRepr, now: Instant) -> MarkerInputs {
    let recent = port.marker_history.iter().flatten().filter(|t| now - **t < WINDOW).count();
    MarkerInputs { kind: marker.kind, recent_responses: recent }
}

/// Runs `step`: counts the PDU and, for [`MarkerStep::Respond`], records the response in the
/// rate limit and returns its frame (count it as sent once it is queued).
pub(crate) fn enter(
    step: MarkerStep,
    port: &mut Port,
    marker: &MarkerRepr,
    now: Instant,
) -> Option<[u8; slow::FRAME_LEN]> {
    let counters = &mut port.counters;
    match step {
        MarkerStep::Respond => counters.marker_rx += 1,
        MarkerStep::Suppress => {
            counters.marker_rx += 1;
            counters.marker_resp_suppressed += 1;
            return None;
        }
        MarkerStep::ResponseReceived => {
            counters.marker_resp_rx += 1;
            return None;
        }
        MarkerStep::Unknown => {
            counters.marker_unknown_rx += 1;
            return None;
        }
    }
    // A slot that is empty or out of the window (there is one: fewer responses are recent).
    let slot = port.marker_history.iter().position(|t| t.is_none_or(|t| now - t >= WINDOW));
    if let Some(slot) = slot {
        port.marker_history[slot] = Some(now);
    }
    Some(transmit::marker_frame(port.mac, &marker.response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows cite IEEE 802.1AX-2014 6.5.4.2 (Marker Responder) unless said otherwise.
    #[test]
    fn marker_table() {
        let info = MarkerKind::Information;
        let limit = MARKER_RESPONSES_PER_SECOND;
        let rows: &[(MarkerKind, usize, MarkerStep, &str)] = &[
            (info, 0, MarkerStep::Respond, "Marker Information -> RESPOND_TO_MARKER"),
            (info, limit - 1, MarkerStep::Respond, "below the rate limit: answered"),
            (info, limit, MarkerStep::Suppress, "ubond: over the rate limit, unanswered"),
            (
                MarkerKind::Response,
                0,
                MarkerStep::ResponseReceived,
                "Marker Response: for a Marker generator, which we do not have (Linux)",
            ),
            (
                MarkerKind::Response,
                limit,
                MarkerStep::ResponseReceived,
                "responses are counted whatever the rate",
            ),
            (MarkerKind::Other(9), 0, MarkerStep::Unknown, "unknown TLV type: not answered"),
        ];
        for (kind, recent, want, clause) in rows {
            let i = MarkerInputs { kind: *kind, recent_responses: *recent };
            assert_eq!(next_state(i), *want, "{i:?}: {clause}");
        }
    }
}
