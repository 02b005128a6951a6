//! The Periodic Transmission machine (IEEE 802.1AX-2014 6.4.13, Figure 6-19).
//!
//! It sets NTT every `fast_periodic_time` (1 s) or `slow_periodic_time` (30 s), at the rate the
//! *partner* asked for with its LACP_Timeout bit, and stops entirely when neither side is
//! active (passive/passive: nothing is ever sent).

use core::time::Duration;

use ubond_wire::slow::PortState;

use super::port::{Port, PortTimer};
use crate::time::Instant;

/// Fast_Periodic_Time (802.1AX-2014 6.4.4): 1 s.
pub const FAST_PERIODIC_TIME: Duration = Duration::from_secs(1);
/// Slow_Periodic_Time (802.1AX-2014 6.4.4): 30 s.
pub const SLOW_PERIODIC_TIME: Duration = Duration::from_secs(30);

/// States of the Periodic Transmission machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodicState {
    /// No periodic transmission (and, by 6.4.16, no transmission at all).
    NoPeriodic,
    /// Transmitting every Fast_Periodic_Time.
    FastPeriodic,
    /// Transmitting every Slow_Periodic_Time.
    SlowPeriodic,
    /// The periodic timer expired: NTT is set.
    PeriodicTx,
}

/// What the Periodic Transmission machine looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodicInputs {
    /// BEGIN.
    pub begin: bool,
    /// `LACP_Enabled`.
    pub lacp_enabled: bool,
    /// `Port_Enabled`.
    pub port_enabled: bool,
    /// `Actor_Oper_Port_State.LACP_Activity`.
    pub actor_active: bool,
    /// `Partner_Oper_Port_State.LACP_Activity`.
    pub partner_active: bool,
    /// `Partner_Oper_Port_State.LACP_Timeout` is Short: the partner asks us to send fast.
    pub partner_short_timeout: bool,
    /// `periodic_timer` has expired.
    pub periodic_expired: bool,
}

/// The next state, or `None` to stay.
#[inline]
pub fn next_state(state: PeriodicState, i: PeriodicInputs) -> Option<PeriodicState> {
    use PeriodicState::*;
    // Global transition into NO_PERIODIC (BEGIN always re-enters it).
    if i.begin {
        return Some(NoPeriodic);
    }
    if !i.lacp_enabled || !i.port_enabled || (!i.actor_active && !i.partner_active) {
        return (state != NoPeriodic).then_some(NoPeriodic);
    }
    match state {
        NoPeriodic => Some(FastPeriodic),
        FastPeriodic if i.periodic_expired => Some(PeriodicTx),
        FastPeriodic if !i.partner_short_timeout => Some(SlowPeriodic),
        SlowPeriodic if i.periodic_expired || i.partner_short_timeout => Some(PeriodicTx),
        PeriodicTx if i.partner_short_timeout => Some(FastPeriodic),
        PeriodicTx => Some(SlowPeriodic),
        FastPeriodic | SlowPeriodic => None,
    }
}

/// The port's inputs now.
#[inline]
pub(crate) fn inputs(port: &Port, now: Instant) -> PeriodicInputs {
    PeriodicInputs {
        begin: port.begin,
        lacp_enabled: port.lacp_enabled,
        port_enabled: port.port_enabled,
        actor_active: port.actor_oper_state.has(PortState::ACTIVITY),
        partner_active: port.partner_oper.state.has(PortState::ACTIVITY),
        partner_short_timeout: port.partner_oper.state.has(PortState::TIMEOUT),
        periodic_expired: port.timers.expired(PortTimer::Periodic, now),
    }
}

/// Enters `state` and runs its entry actions (Figure 6-19).
pub(crate) fn enter(state: PeriodicState, port: &mut Port, now: Instant) {
    port.periodic = state;
    let timer = PortTimer::Periodic;
    match state {
        PeriodicState::NoPeriodic => port.timers.stop(timer),
        PeriodicState::FastPeriodic => port.timers.start(timer, now, FAST_PERIODIC_TIME),
        PeriodicState::SlowPeriodic => port.timers.start(timer, now, SLOW_PERIODIC_TIME),
        PeriodicState::PeriodicTx => {
            port.ntt = true;
            port.timers.stop(timer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PeriodicState::*;
    use super::*;

    fn active(fast: bool) -> PeriodicInputs {
        PeriodicInputs {
            lacp_enabled: true,
            port_enabled: true,
            actor_active: true,
            partner_short_timeout: fast,
            ..Default::default()
        }
    }

    /// Rows cite IEEE 802.1AX-2014 6.4.13 / Figure 6-19.
    #[test]
    fn transition_table() {
        let passive_both = PeriodicInputs { actor_active: false, ..active(true) };
        let passive_actor = PeriodicInputs { partner_active: true, ..passive_both };
        let rows: &[(PeriodicState, PeriodicInputs, Option<PeriodicState>, &str)] = &[
            (
                FastPeriodic,
                PeriodicInputs { begin: true, ..active(true) },
                Some(NoPeriodic),
                "BEGIN -> NO_PERIODIC",
            ),
            (
                NoPeriodic,
                PeriodicInputs { begin: true, ..active(true) },
                Some(NoPeriodic),
                "BEGIN re-enters NO_PERIODIC",
            ),
            (
                SlowPeriodic,
                PeriodicInputs { port_enabled: false, ..active(true) },
                Some(NoPeriodic),
                "!Port_Enabled -> NO_PERIODIC",
            ),
            (
                FastPeriodic,
                PeriodicInputs { lacp_enabled: false, ..active(true) },
                Some(NoPeriodic),
                "!LACP_Enabled -> NO_PERIODIC",
            ),
            (FastPeriodic, passive_both, Some(NoPeriodic), "both passive -> NO_PERIODIC"),
            (NoPeriodic, passive_both, None, "both passive: stays NO_PERIODIC"),
            (
                NoPeriodic,
                passive_actor,
                Some(FastPeriodic),
                "passive actor, active partner: UCT -> FAST_PERIODIC",
            ),
            (NoPeriodic, active(false), Some(FastPeriodic), "UCT -> FAST_PERIODIC"),
            (
                FastPeriodic,
                active(false),
                Some(SlowPeriodic),
                "Partner LACP_Timeout = Long -> SLOW_PERIODIC",
            ),
            (FastPeriodic, active(true), None, "fast partner: stays"),
            (
                FastPeriodic,
                PeriodicInputs { periodic_expired: true, ..active(true) },
                Some(PeriodicTx),
                "periodic_timer expired -> PERIODIC_TX",
            ),
            (
                SlowPeriodic,
                PeriodicInputs { periodic_expired: true, ..active(false) },
                Some(PeriodicTx),
                "periodic_timer expired -> PERIODIC_TX",
            ),
            (
                SlowPeriodic,
                active(true),
                Some(PeriodicTx),
                "Partner LACP_Timeout = Short -> PERIODIC_TX",
            ),
            (SlowPeriodic, active(false), None, "slow partner: stays"),
            (PeriodicTx, active(true), Some(FastPeriodic), "Short -> FAST_PERIODIC"),
            (PeriodicTx, active(false), Some(SlowPeriodic), "Long -> SLOW_PERIODIC"),
        ];
        for (state, inputs, want, clause) in rows {
            assert_eq!(next_state(*state, *inputs), *want, "{state:?} {inputs:?}: {clause}");
        }
    }
}
