//! The Mux machine (IEEE 802.1AX-2014 6.4.15: Figure 6-21 coupled control, Figure 6-22
//! independent control), with the Linux driver's refinements:
//!
//! * a port leaves ATTACHED only if its aggregator is the bond's *active* aggregator (Linux runs
//!   one aggregator at a time; ports of other aggregators stay ATTACHED with Synchronization
//!   clear, telling the partner they are not in use);
//! * coupled control (`coupled_control=on`, the default) has one COLLECTING_DISTRIBUTING state;
//!   independent control (`coupled_control=off`) has COLLECTING and DISTRIBUTING, and enables
//!   distribution only once the partner collects.

/// Aggregate_Wait_Time (802.1AX-2014 6.4.4): 2 s.
pub const AGGREGATE_WAIT_TIME: core::time::Duration = core::time::Duration::from_secs(2);

/// States of the Mux machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MuxState {
    /// Not attached to an aggregator.
    Detached,
    /// Selected; waiting for `wait_while_timer` and for the other ports of the aggregator.
    Waiting,
    /// Attached to the aggregator, neither collecting nor distributing.
    Attached,
    /// Coupled control: collecting and distributing.
    CollectingDistributing,
    /// Independent control: collecting only.
    Collecting,
    /// Independent control: collecting and distributing.
    Distributing,
}

/// What the Mux machine looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MuxInputs {
    /// BEGIN.
    pub begin: bool,
    /// `Selected == SELECTED`.
    pub selected: bool,
    /// `Ready`: every port attached to the aggregator has `Ready_N` (its wait is over).
    pub ready: bool,
    /// This port's `wait_while_timer` has expired (`Ready_N`).
    pub ready_n: bool,
    /// `Partner_Oper_Port_State.Synchronization`.
    pub partner_sync: bool,
    /// `Partner_Oper_Port_State.Collecting`.
    pub partner_collecting: bool,
    /// `Actor_Oper_Port_State.Synchronization`.
    pub actor_sync: bool,
    /// The port's aggregator is the bond's active aggregator (Linux).
    pub aggregator_active: bool,
    /// `coupled_control=on`.
    pub coupled: bool,
}

/// The next state, or `None` to stay.
pub fn next_state(state: MuxState, i: MuxInputs) -> Option<MuxState> {
    use MuxState::*;
    if i.begin {
        // BEGIN (re-)enters DETACHED, whose entry sets NTT: an active port speaks at once.
        return Some(Detached);
    }
    let in_sync = i.selected && i.partner_sync && i.actor_sync;
    match state {
        Detached if i.selected => Some(Waiting),
        Waiting if !i.selected => Some(Detached),
        Waiting if i.ready && i.ready_n => Some(Attached),
        Attached if i.selected && i.partner_sync && i.aggregator_active => {
            Some(if i.coupled { CollectingDistributing } else { Collecting })
        }
        Attached if !i.selected => Some(Detached),
        CollectingDistributing | Collecting if !in_sync => Some(Attached),
        Collecting if i.partner_collecting => Some(Distributing),
        Distributing if !in_sync || !i.partner_collecting => Some(Collecting),
        Detached | Waiting | Attached | CollectingDistributing | Collecting | Distributing => None,
    }
}

#[cfg(test)]
mod tests {
    use super::MuxState::*;
    use super::*;

    fn synced(coupled: bool) -> MuxInputs {
        MuxInputs {
            selected: true,
            ready: true,
            ready_n: true,
            partner_sync: true,
            partner_collecting: true,
            actor_sync: true,
            aggregator_active: true,
            coupled,
            ..Default::default()
        }
    }

    /// Rows cite IEEE 802.1AX-2014 6.4.15 (Figure 6-21 coupled, 6-22 independent) and the
    /// Linux `ad_mux_machine` where it refines the standard.
    #[test]
    fn transition_table() {
        let c = synced(true);
        let ind = synced(false);
        let rows: &[(MuxState, MuxInputs, Option<MuxState>, &str)] = &[
            (Attached, MuxInputs { begin: true, ..c }, Some(Detached), "BEGIN -> DETACHED"),
            (Detached, MuxInputs { begin: true, ..c }, Some(Detached), "BEGIN re-enters DETACHED"),
            (Detached, c, Some(Waiting), "Selected = SELECTED -> WAITING"),
            (Detached, MuxInputs { selected: false, ..c }, None, "unselected: stays DETACHED"),
            (
                Waiting,
                MuxInputs { selected: false, ..c },
                Some(Detached),
                "Selected = UNSELECTED -> DETACHED",
            ),
            (Waiting, MuxInputs { ready_n: false, ..c }, None, "wait_while_timer running"),
            (
                Waiting,
                MuxInputs { ready: false, ..c },
                None,
                "other ports of the aggregator still waiting",
            ),
            (Waiting, c, Some(Attached), "Selected && Ready -> ATTACHED"),
            (
                Attached,
                c,
                Some(CollectingDistributing),
                "Selected && Partner.Sync -> COLLECTING_DISTRIBUTING",
            ),
            (Attached, ind, Some(Collecting), "independent control: -> COLLECTING"),
            (
                Attached,
                MuxInputs { aggregator_active: false, ..c },
                None,
                "Linux: only the active aggregator's ports proceed",
            ),
            (
                Attached,
                MuxInputs { partner_sync: false, ..c },
                None,
                "partner not in sync: stays ATTACHED",
            ),
            (
                Attached,
                MuxInputs { selected: false, ..c },
                Some(Detached),
                "UNSELECTED -> DETACHED",
            ),
            (
                CollectingDistributing,
                MuxInputs { partner_sync: false, ..c },
                Some(Attached),
                "!Partner.Sync -> ATTACHED",
            ),
            (
                CollectingDistributing,
                MuxInputs { selected: false, ..c },
                Some(Attached),
                "UNSELECTED -> ATTACHED",
            ),
            (
                CollectingDistributing,
                MuxInputs { actor_sync: false, ..c },
                Some(Attached),
                "Linux: !Actor.Sync -> ATTACHED",
            ),
            (CollectingDistributing, c, None, "in sync: stays"),
            (Collecting, ind, Some(Distributing), "Partner.Collecting -> DISTRIBUTING"),
            (
                Collecting,
                MuxInputs { partner_collecting: false, ..ind },
                None,
                "partner not collecting yet",
            ),
            (
                Collecting,
                MuxInputs { partner_sync: false, ..ind },
                Some(Attached),
                "!Partner.Sync -> ATTACHED",
            ),
            (
                Distributing,
                MuxInputs { partner_collecting: false, ..ind },
                Some(Collecting),
                "!Partner.Collecting -> COLLECTING",
            ),
            (
                Distributing,
                MuxInputs { selected: false, ..ind },
                Some(Collecting),
                "UNSELECTED -> COLLECTING",
            ),
            (Distributing, ind, None, "in sync: stays"),
        ];
        for (state, inputs, want, clause) in rows {
            assert_eq!(next_state(*state, *inputs), *want, "{state:?} {inputs:?}: {clause}");
        }
    }
}
