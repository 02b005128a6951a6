//! The Receive machine (IEEE 802.1AX-2014 6.4.12, Figure 6-18; 802.3ad-2000 43.4.12).
//!
//! It records what the partner says about itself, notices when the partner goes silent
//! (`current_while` expiry: EXPIRED after one timeout, DEFAULTED after a second one) and
//! falls back to the administrative partner defaults.

use ubond_wire::slow::{LacpduRepr, PortState};

use super::port::{Port, PortTimer, LONG_TIMEOUT_TIME, SHORT_TIMEOUT_TIME};
use crate::time::Instant;

/// States of the Receive machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxState {
    /// Entered on BEGIN: partner information reset to the administrative defaults.
    Initialize,
    /// The port is down (or has just been initialized).
    PortDisabled,
    /// No LACPDU within one timeout: the partner is asked to send fast while we wait once more.
    Expired,
    /// The port is up but cannot run LACP (half duplex): it is an individual link.
    LacpDisabled,
    /// No LACPDU within a second timeout: the partner is the administrative default.
    Defaulted,
    /// Partner information is current.
    Current,
}

/// What the Receive machine looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxInputs {
    /// BEGIN: the port is being (re)initialized.
    pub begin: bool,
    /// `Port_Enabled`: the link is up.
    pub port_enabled: bool,
    /// `LACP_Enabled`: the link is full duplex, so LACP runs on it.
    pub lacp_enabled: bool,
    /// An LACPDU has been received (and is being handled now).
    pub pdu_received: bool,
    /// `current_while_timer` has expired.
    pub current_while_expired: bool,
}

/// The next state, or `None` to stay. `Some(Current)` from `Current` means "re-enter": a new
/// LACPDU is recorded.
#[inline]
pub fn next_state(state: RxState, i: RxInputs) -> Option<RxState> {
    use RxState::*;
    if i.begin {
        // 6.4.12: BEGIN is a global transition into INITIALIZE.
        return Some(Initialize);
    }
    match state {
        // Unconditional transition.
        Initialize => Some(PortDisabled),
        // Global transition: (!Port_Enabled) && (!Port_Moved).
        _ if !i.port_enabled => (state != PortDisabled).then_some(PortDisabled),
        PortDisabled if i.lacp_enabled => Some(Expired),
        PortDisabled => Some(LacpDisabled),
        LacpDisabled if i.lacp_enabled => Some(PortDisabled),
        LacpDisabled => None,
        Expired | Defaulted | Current if i.pdu_received => Some(Current),
        Expired if i.current_while_expired => Some(Defaulted),
        Current if i.current_while_expired => Some(Expired),
        Expired | Defaulted | Current => None,
    }
}

/// The port's inputs now; `pdu_received`: an LACPDU is being handled.
#[inline]
pub(crate) fn inputs(port: &Port, pdu_received: bool, now: Instant) -> RxInputs {
    RxInputs {
        begin: port.begin,
        port_enabled: port.port_enabled,
        lacp_enabled: port.lacp_enabled,
        pdu_received,
        current_while_expired: port.timers.expired(PortTimer::CurrentWhile, now),
    }
}

/// Enters `state` (or re-enters it) and runs its entry actions. `pdu` is the LACPDU being
/// received when entering `Current`.
pub(crate) fn enter(state: RxState, port: &mut Port, pdu: Option<&LacpduRepr>, now: Instant) {
    let from = core::mem::replace(&mut port.rx, state);
    match state {
        RxState::Initialize => {
            port.churn_trigger = true;
            port.selected = false;
            port.record_default();
            port.actor_oper_state.set(PortState::EXPIRED, false);
        }
        RxState::PortDisabled => {
            port.matched = false;
            port.partner_oper.state.set(PortState::SYNCHRONIZATION, false);
            port.timers.stop(PortTimer::CurrentWhile);
        }
        RxState::Expired => {
            if from == RxState::Current {
                port.counters.rx_expired += 1;
            }
            port.matched = false;
            port.partner_oper.state.set(PortState::SYNCHRONIZATION, false);
            port.partner_oper.state.set(PortState::TIMEOUT, true);
            port.timers.start(PortTimer::CurrentWhile, now, SHORT_TIMEOUT_TIME);
            port.actor_oper_state.set(PortState::EXPIRED, true);
            port.churn_trigger = true;
        }
        RxState::LacpDisabled => {
            port.selected = false;
            port.record_default();
            port.partner_oper.state.set(PortState::AGGREGATION, false);
            port.matched = true;
            port.actor_oper_state.set(PortState::EXPIRED, false);
        }
        RxState::Defaulted => {
            port.counters.rx_defaulted += 1;
            port.update_default_selected();
            port.record_default();
            port.matched = true;
            port.actor_oper_state.set(PortState::EXPIRED, false);
            port.timers.stop(PortTimer::CurrentWhile);
        }
        RxState::Current => {
            if from != RxState::Current {
                // Linux `AD_PORT_CHURNED`: entering CURRENT restarts churn detection.
                port.churn_trigger = true;
            }
            if let Some(pdu) = pdu {
                // ubond: a different partner system is a churn trigger too (see churn.rs).
                if pdu.actor.system != port.partner_oper.system
                    && !port.partner_oper.system.is_zero()
                {
                    port.churn_trigger = true;
                }
                port.update_selected(pdu);
                port.update_ntt(pdu);
                port.record_pdu(pdu);
            }
            let timeout = if port.actor_oper_state.has(PortState::TIMEOUT) {
                SHORT_TIMEOUT_TIME
            } else {
                LONG_TIMEOUT_TIME
            };
            port.timers.start(PortTimer::CurrentWhile, now, timeout);
            port.actor_oper_state.set(PortState::EXPIRED, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RxState::*;
    use super::*;

    fn up() -> RxInputs {
        RxInputs { port_enabled: true, lacp_enabled: true, ..Default::default() }
    }

    /// Each row: (state, inputs, expected next state, clause). Clauses are IEEE 802.1AX-2014
    /// 6.4.12 / Figure 6-18 unless said otherwise.
    #[test]
    fn transition_table() {
        let pdu = RxInputs { pdu_received: true, ..up() };
        let expired = RxInputs { current_while_expired: true, ..up() };
        let down = RxInputs { port_enabled: false, ..up() };
        let half = RxInputs { lacp_enabled: false, ..up() };
        let rows: &[(RxState, RxInputs, Option<RxState>, &str)] = &[
            (Current, RxInputs { begin: true, ..up() }, Some(Initialize), "BEGIN -> INITIALIZE"),
            (Initialize, up(), Some(PortDisabled), "INITIALIZE -UCT-> PORT_DISABLED"),
            (Initialize, down, Some(PortDisabled), "INITIALIZE -UCT-> PORT_DISABLED"),
            (Current, down, Some(PortDisabled), "!Port_Enabled -> PORT_DISABLED (global)"),
            (Defaulted, down, Some(PortDisabled), "!Port_Enabled -> PORT_DISABLED (global)"),
            (PortDisabled, down, None, "PORT_DISABLED holds while the port is down"),
            (PortDisabled, up(), Some(Expired), "Port_Enabled && LACP_Enabled -> EXPIRED"),
            (
                PortDisabled,
                half,
                Some(LacpDisabled),
                "Port_Enabled && !LACP_Enabled -> LACP_DISABLED",
            ),
            (LacpDisabled, up(), Some(PortDisabled), "LACP_Enabled -> PORT_DISABLED"),
            (
                LacpDisabled,
                RxInputs { pdu_received: true, ..half },
                None,
                "PDUs ignored while LACP is disabled",
            ),
            (Expired, pdu, Some(Current), "CtrlMuxN:M_UNITDATA.indication(LACPDU) -> CURRENT"),
            (Defaulted, pdu, Some(Current), "LACPDU received -> CURRENT"),
            (Current, pdu, Some(Current), "LACPDU received -> CURRENT (re-entered)"),
            (Expired, expired, Some(Defaulted), "current_while_timer expired -> DEFAULTED"),
            (Current, expired, Some(Expired), "current_while_timer expired -> EXPIRED"),
            (Defaulted, expired, None, "DEFAULTED runs no timer"),
            (Current, up(), None, "no event"),
            (PortDisabled, pdu, Some(Expired), "a PDU on a disabled port is not recorded"),
        ];
        for (state, inputs, want, clause) in rows {
            assert_eq!(next_state(*state, *inputs), *want, "{state:?} {inputs:?}: {clause}");
        }
    }
}
