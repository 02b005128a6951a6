//! The Transmit machine (IEEE 802.1AX-2014 6.4.16): sends an LACPDU when NTT is set, never
//! more than three in any Fast_Periodic_Time, and never while the Periodic machine is in
//! NO_PERIODIC (so a passive port facing a passive partner stays silent).

use ubond_wire::slow::{self, LacpduRepr, MarkerRepr};
use ubond_wire::MacAddr;

use super::periodic::{PeriodicState, FAST_PERIODIC_TIME};
use super::port::Port;
use crate::time::Instant;

/// Most LACPDUs sent in any Fast_Periodic_Time (802.1AX-2014 6.4.16).
pub const MAX_TX_PER_FAST_PERIOD: usize = 3;

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
pub(crate) fn record(port: &mut Port, now: Instant) {
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
