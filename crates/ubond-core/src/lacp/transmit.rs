//! The Transmit machine (IEEE 802.1AX-2014 6.4.16): sends an LACPDU when NTT is set, never
//! more than three in any Fast_Periodic_Time, and never while the Periodic machine is in
//! NO_PERIODIC (so a passive port facing a passive partner stays silent).
//!
//! ubond holds each LACPDU for a short coalescing window after NTT is first seen
//! (`LacpConfig::tx_coalesce`), so that what happens meanwhile goes out in the same PDU.

use core::time::Duration;

use ubond_wire::slow::{self, LacpduRepr, MarkerRepr};
use ubond_wire::MacAddr;

use super::periodic::{PeriodicState, FAST_PERIODIC_TIME};
use super::port::Port;
use crate::time::Instant;

/// Most LACPDUs sent in any Fast_Periodic_Time (802.1AX-2014 6.4.16).
pub const MAX_TX_PER_FAST_PERIOD: usize = 3;

/// What the Transmit machine looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransmitInputs {
    /// NTT: an LACPDU must be sent.
    pub ntt: bool,
    /// `LACP_Enabled` (the link is full duplex; Linux `AD_PORT_LACP_ENABLED`).
    pub lacp_enabled: bool,
    /// The Periodic Transmission machine is in NO_PERIODIC.
    pub no_periodic: bool,
    /// NTT was seen before and the coalescing window runs.
    pub holding: bool,
    /// The coalescing window is over (or never was: `tx_coalesce` is zero).
    pub hold_over: bool,
    /// Three LACPDUs went out in the last Fast_Periodic_Time (looked at only when NTT is set
    /// and the port may transmit).
    pub rate_limited: bool,
}

/// What the Transmit machine does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStep {
    /// NTT is seen for the first time: the coalescing window starts.
    Hold,
    /// Send an LACPDU now.
    Send,
}

/// The next step, or `None` to do nothing.
#[inline]
pub fn next_state(i: TransmitInputs) -> Option<TxStep> {
    if !i.ntt || !i.lacp_enabled || i.no_periodic {
        return None;
    }
    if i.hold_over && !i.rate_limited {
        return Some(TxStep::Send);
    }
    (!i.holding).then_some(TxStep::Hold)
}

/// The port's inputs now.
#[inline]
pub(crate) fn inputs(port: &Port, coalesce: Duration, now: Instant) -> TransmitInputs {
    let pending = port.ntt && may_transmit(port);
    TransmitInputs {
        ntt: port.ntt,
        lacp_enabled: port.lacp_enabled,
        no_periodic: port.periodic == PeriodicState::NoPeriodic,
        holding: port.ntt_at.is_some(),
        hold_over: now >= port.ntt_at.unwrap_or(now) + coalesce,
        // Looked at only when an LACPDU is pending (and it costs a walk over the history).
        rate_limited: pending && next_slot(port, now) > now,
    }
}

/// Runs `step`: the coalescing window starts when NTT is first seen; `Send` returns the
/// LACPDU frame to queue (then call [`sent`] once it is queued).
pub(crate) fn enter(step: TxStep, port: &mut Port, now: Instant) -> Option<[u8; slow::FRAME_LEN]> {
    port.ntt_at.get_or_insert(now);
    match step {
        TxStep::Hold => None,
        TxStep::Send => Some(lacpdu_frame(port.mac, &port.lacpdu())),
    }
}

/// The LACPDU went out: NTT is cleared and the rate limit counts it.
pub(crate) fn sent(port: &mut Port, now: Instant) {
    record(port, now);
    port.ntt = false;
    port.ntt_at = None;
    port.counters.lacpdu_tx += 1;
}

/// When the machine must run again for this port, if NTT waits to be sent.
pub(crate) fn deadline(port: &Port, coalesce: Duration, now: Instant) -> Option<Instant> {
    (port.ntt && may_transmit(port)).then(|| {
        let due = port.ntt_at.map_or(now, |t| t + coalesce);
        next_slot(port, now.max(due))
    })
}

/// When the port may send its next LACPDU: `now` if fewer than three went out in the last
/// Fast_Periodic_Time, else when the oldest of those three leaves the window.
pub(crate) fn next_slot(port: &Port, now: Instant) -> Instant {
    let window_start = |t: Instant| now.saturating_duration_since(t) < FAST_PERIODIC_TIME;
    let recent = port.tx_history.iter().flatten().filter(|t| window_start(**t)).count();
    if recent < MAX_TX_PER_FAST_PERIOD {
        return now;
    }
    let oldest = port.tx_history.iter().flatten().min().copied().unwrap_or(now);
    oldest + FAST_PERIODIC_TIME
}

/// True if the Transmit machine may send at all (6.4.16).
pub(crate) fn may_transmit(port: &Port) -> bool {
    port.lacp_enabled && port.periodic != PeriodicState::NoPeriodic
}

/// Records a transmission at `now` in the rate-limit history.
fn record(port: &mut Port, now: Instant) {
    // Replace the oldest (or an empty) slot.
    let slot = port
        .tx_history
        .iter()
        .enumerate()
        .min_by_key(|(_, t)| t.map_or(0, |t| t.as_nanos().saturating_add(1)))
        .map_or(0, |(i, _)| i);
    port.tx_history[slot] = Some(now);
}

/// A complete Slow Protocols frame: destination 01:80:c2:00:00:02, source `src`.
pub(crate) fn frame_header(src: MacAddr) -> [u8; slow::FRAME_LEN] {
    let mut frame = [0u8; slow::FRAME_LEN];
    frame[0..6].copy_from_slice(&slow::MULTICAST_ADDR.0);
    frame[6..12].copy_from_slice(&src.0);
    frame[12..14].copy_from_slice(&slow::ETHERTYPE.to_be_bytes());
    frame
}

/// The LACPDU frame for `pdu` sent from `src`.
pub(crate) fn lacpdu_frame(src: MacAddr, pdu: &LacpduRepr) -> [u8; slow::FRAME_LEN] {
    let mut frame = frame_header(src);
    // The buffer is exactly PDU_LEN octets, so emit cannot fail.
    let _ = pdu.emit(&mut slow::Packet::new_unchecked(&mut frame[14..]));
    frame
}

/// The Marker PDU frame for `marker` sent from `src`.
pub(crate) fn marker_frame(src: MacAddr, marker: &MarkerRepr) -> [u8; slow::FRAME_LEN] {
    let mut frame = frame_header(src);
    let _ = marker.emit(&mut slow::Packet::new_unchecked(&mut frame[14..]));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows cite IEEE 802.1AX-2014 6.4.16 (Transmit machine) unless said otherwise.
    #[test]
    fn transmit_table() {
        let due = TransmitInputs {
            ntt: true,
            lacp_enabled: true,
            holding: true,
            hold_over: true,
            ..Default::default()
        };
        let rows: &[(TransmitInputs, Option<TxStep>, &str)] = &[
            (due, Some(TxStep::Send), "NTT: transmit an LACPDU"),
            (TransmitInputs { ntt: false, ..due }, None, "no NTT, nothing to send"),
            (
                TransmitInputs { no_periodic: true, ..due },
                None,
                "NO_PERIODIC: no LACPDU (a passive port facing a passive partner is silent)",
            ),
            (
                TransmitInputs { lacp_enabled: false, ..due },
                None,
                "!LACP_Enabled: no LACPDU (Linux ad_tx_machine)",
            ),
            (
                TransmitInputs { rate_limited: true, ..due },
                None,
                "at most three LACPDUs in any Fast_Periodic_Time: wait",
            ),
            (
                TransmitInputs { holding: false, hold_over: false, ..due },
                Some(TxStep::Hold),
                "ubond: NTT first seen, the coalescing window starts",
            ),
            (TransmitInputs { hold_over: false, ..due }, None, "ubond: the coalescing window runs"),
            (
                TransmitInputs { holding: false, ..due },
                Some(TxStep::Send),
                "ubond: no coalescing window (tx_coalesce 0): at once",
            ),
            (
                TransmitInputs { holding: false, rate_limited: true, ..due },
                Some(TxStep::Hold),
                "rate-limited at first sight: the window starts, the PDU waits",
            ),
        ];
        for (inputs, want, clause) in rows {
            assert_eq!(next_state(*inputs), *want, "{inputs:?}: {clause}");
        }
    }
}
