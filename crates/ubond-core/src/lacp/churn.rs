//! The Churn Detection machines (IEEE 802.1AX-2014 6.4.17): one for the actor, one for the
//! partner. A port whose Synchronization bit (ours, or the partner's as we record it) stays
//! clear for Churn_Detection_Time (60 s) has *churned*: the link cannot be brought into the
//! aggregation, which is what a misconfigured partner looks like. `/proc/net/bonding` prints
//! the states as `monitoring`, `churned` and `none`, and counts entries into `churned`.

use core::fmt;
use core::time::Duration;

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
    /// BEGIN, or the port is disabled (both restart monitoring).
    pub begin_or_disabled: bool,
    /// The Synchronization bit this machine watches.
    pub in_sync: bool,
    /// The churn timer has expired.
    pub timer_expired: bool,
}

/// The next state, or `None` to stay.
pub fn next_state(state: ChurnState, i: ChurnInputs) -> Option<ChurnState> {
    use ChurnState::*;
    if i.begin_or_disabled {
        return (state != Monitor).then_some(Monitor);
    }
    match state {
        Monitor if i.in_sync => Some(NoChurn),
        Monitor if i.timer_expired => Some(Churn),
        NoChurn if !i.in_sync => Some(Monitor),
        Churn if i.in_sync => Some(NoChurn),
        Monitor | NoChurn | Churn => None,
    }
}

#[cfg(test)]
mod tests {
    use super::ChurnState::*;
    use super::*;

    /// Rows cite IEEE 802.1AX-2014 6.4.17 (actor and partner churn machines are alike).
    #[test]
    fn transition_table() {
        let i = ChurnInputs::default();
        let rows: &[(ChurnState, ChurnInputs, Option<ChurnState>, &str)] = &[
            (
                NoChurn,
                ChurnInputs { begin_or_disabled: true, ..i },
                Some(Monitor),
                "BEGIN || !Port_Enabled -> MONITOR",
            ),
            (
                Monitor,
                ChurnInputs { begin_or_disabled: true, ..i },
                None,
                "stays MONITOR while disabled",
            ),
            (
                Monitor,
                ChurnInputs { in_sync: true, ..i },
                Some(NoChurn),
                "Synchronization -> NO_CHURN",
            ),
            (
                Monitor,
                ChurnInputs { timer_expired: true, ..i },
                Some(Churn),
                "churn timer expired -> CHURN",
            ),
            (Monitor, i, None, "timer running"),
            (NoChurn, i, Some(Monitor), "!Synchronization -> MONITOR"),
            (NoChurn, ChurnInputs { in_sync: true, ..i }, None, "in sync"),
            (
                Churn,
                ChurnInputs { in_sync: true, ..i },
                Some(NoChurn),
                "Synchronization -> NO_CHURN",
            ),
            (Churn, ChurnInputs { timer_expired: true, ..i }, None, "churned: stays until in sync"),
        ];
        for (state, inputs, want, clause) in rows {
            assert_eq!(next_state(*state, *inputs), *want, "{state:?} {inputs:?}: {clause}");
        }
        assert_eq!(Monitor.to_string(), "monitoring");
        assert_eq!(Churn.to_string(), "churned");
        assert_eq!(NoChurn.to_string(), "none");
    }
}
