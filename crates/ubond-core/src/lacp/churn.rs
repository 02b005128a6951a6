//! The Churn Detection machines (IEEE 802.1AX-2014 6.4.17) as Linux runs them
//! (`ad_churn_machine`): one for the actor, one for the partner.
//!
//! Linux's machine is driven by *triggers*: the Receive machine entering INITIALIZE or EXPIRED,
//! or entering CURRENT from another state, (re)starts a 60 s observation (`monitoring`); when
//! it ends, the port is `none` if the watched Synchronization bit is set and `churned`
//! (counted) if not. That is what `/proc/net/bonding` shows, so we do the same. ubond adds one
//! trigger: a LACPDU from a *different partner* while CURRENT (a cable moved to another switch),
//! which Linux does not notice because the Receive machine stays in CURRENT.
//!
//! The standard's machine instead leaves monitoring as soon as the port is in sync; the
//! difference shows only in the report during the first minute.

use core::fmt;
use core::time::Duration;

use ubond_wire::slow::PortState;

use super::port::{Port, PortTimer};
use crate::time::Instant;

/// Churn_Detection_Time (802.1AX-2014 6.4.4): 60 s.
pub const CHURN_DETECTION_TIME: Duration = Duration::from_secs(60);

/// States of a Churn Detection machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChurnState {
    /// `ACTOR_CHURN_MONITOR` / `PARTNER_CHURN_MONITOR`: the churn timer runs.
    Monitor,
    /// `NO_ACTOR_CHURN` / `NO_PARTNER_CHURN`: in sync.
    NoChurn,
    /// `ACTOR_CHURN` / `PARTNER_CHURN`: out of sync for longer than the churn time.
    Churn,
}

impl fmt::Display for ChurnState {
    /// The kernel's words in `/proc/net/bonding/bondX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChurnState::Monitor => "monitoring",
            ChurnState::NoChurn => "none",
            ChurnState::Churn => "churned",
        })
    }
}

/// What a Churn Detection machine looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChurnInputs {
    /// A Receive-machine event that restarts monitoring (Linux `AD_PORT_CHURNED`).
    pub trigger: bool,
    /// The Synchronization bit this machine watches.
    pub in_sync: bool,
    /// The churn timer has expired.
    pub timer_expired: bool,
}

/// The next state, or `None` to stay. `Some(Monitor)` from `Monitor` restarts the timer.
#[inline]
pub fn next_state(state: ChurnState, i: ChurnInputs) -> Option<ChurnState> {
    use ChurnState::*;
    if i.trigger {
        return Some(Monitor);
    }
    match state {
        Monitor if i.timer_expired => Some(if i.in_sync { NoChurn } else { Churn }),
        Monitor | NoChurn | Churn => None,
    }
}

/// Which of a port's two Churn Detection machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The actor churn machine: watches our own Synchronization bit.
    Actor,
    /// The partner churn machine: watches the partner's Synchronization bit.
    Partner,
}

impl Side {
    /// Both machines, in the order they run.
    pub(crate) const BOTH: [Side; 2] = [Side::Actor, Side::Partner];

    fn timer(self) -> PortTimer {
        match self {
            Side::Actor => PortTimer::ActorChurn,
            Side::Partner => PortTimer::PartnerChurn,
        }
    }
}

/// The current state of `side`'s machine.
#[inline]
pub(crate) fn state(port: &Port, side: Side) -> ChurnState {
    match side {
        Side::Actor => port.actor_churn,
        Side::Partner => port.partner_churn,
    }
}

/// `side`'s inputs now; `trigger`: the Receive machine asked for a restart (consumed by both
/// machines of the port in the same evaluation).
#[inline]
pub(crate) fn inputs(port: &Port, side: Side, trigger: bool, now: Instant) -> ChurnInputs {
    let sync = match side {
        Side::Actor => port.actor_oper_state,
        Side::Partner => port.partner_oper.state,
    };
    ChurnInputs {
        trigger,
        in_sync: sync.has(PortState::SYNCHRONIZATION),
        timer_expired: port.timers.expired(side.timer(), now),
    }
}

/// Enters `state` in `side`'s machine and runs its entry actions.
pub(crate) fn enter(state: ChurnState, side: Side, port: &mut Port, now: Instant) {
    let timer = side.timer();
    match state {
        ChurnState::Monitor => port.timers.start(timer, now, CHURN_DETECTION_TIME),
        ChurnState::NoChurn => port.timers.stop(timer),
        ChurnState::Churn => {
            port.timers.stop(timer);
            match side {
                Side::Actor => port.actor_churn_count += 1,
                Side::Partner => port.partner_churn_count += 1,
            }
        }
    }
    match side {
        Side::Actor => port.actor_churn = state,
        Side::Partner => port.partner_churn = state,
    }
}

#[cfg(test)]
mod tests {
    use super::ChurnState::*;
    use super::*;

    /// Rows cite Linux `ad_churn_machine` (IEEE 802.1AX-2014 6.4.17 in Linux's reading).
    #[test]
    fn transition_table() {
        let i = ChurnInputs::default();
        let rows: &[(ChurnState, ChurnInputs, Option<ChurnState>, &str)] = &[
            (
                NoChurn,
                ChurnInputs { trigger: true, ..i },
                Some(Monitor),
                "AD_PORT_CHURNED -> MONITOR",
            ),
            (
                Churn,
                ChurnInputs { trigger: true, ..i },
                Some(Monitor),
                "AD_PORT_CHURNED -> MONITOR",
            ),
            (
                Monitor,
                ChurnInputs { trigger: true, ..i },
                Some(Monitor),
                "a new trigger restarts the timer",
            ),
            (
                Monitor,
                ChurnInputs { in_sync: true, ..i },
                None,
                "in sync, timer running: still monitoring",
            ),
            (
                Monitor,
                ChurnInputs { timer_expired: true, in_sync: true, ..i },
                Some(NoChurn),
                "timer expired, in sync -> NO_CHURN",
            ),
            (
                Monitor,
                ChurnInputs { timer_expired: true, ..i },
                Some(Churn),
                "timer expired, out of sync -> CHURN",
            ),
            (NoChurn, i, None, "losing sync alone does not restart monitoring"),
            (Churn, ChurnInputs { in_sync: true, ..i }, None, "churned until the next trigger"),
        ];
        for (state, inputs, want, clause) in rows {
            assert_eq!(next_state(*state, *inputs), *want, "{state:?} {inputs:?}: {clause}");
        }
        assert_eq!(Monitor.to_string(), "monitoring");
        assert_eq!(Churn.to_string(), "churned");
        assert_eq!(NoChurn.to_string(), "none");
    }
}
