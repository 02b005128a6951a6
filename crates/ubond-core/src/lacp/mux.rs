//! The Mux machine (IEEE 802.1AX-2014 6.4.15: Figure 6-21 coupled control, Figure 6-22
//! independent control), with the Linux driver's refinements:
//!
//! * a port leaves ATTACHED only if its aggregator is the bond's *active* aggregator (Linux runs
//!   one aggregator at a time; ports of other aggregators stay ATTACHED with Synchronization
//!   clear, telling the partner they are not in use), and an ATTACHED port of the active
//!   aggregator is in sync ([`MuxStep::InSync`]);
//! * coupled control (`coupled_control=on`, the default) has one COLLECTING_DISTRIBUTING state;
//!   independent control (`coupled_control=off`) has COLLECTING and DISTRIBUTING, and enables
//!   distribution only once the partner collects;
//! * while a port stays in COLLECTING, COLLECTING_DISTRIBUTING or DISTRIBUTING in the active
//!   aggregator, it is enabled ([`MuxStep::Enable`]): an aggregator that becomes active again
//!   gets its ports back (Linux: "make sure that a collecting distributing port in an active
//!   aggregator is enabled").
//!
//! And ubond's own two:
//!
//! * **early attach** (`LacpConfig::early_attach`): WAITING ends before Aggregate_Wait_Time
//!   when waiting cannot change anything (`early_ready`);
//! * **the Collecting gate**: a port whose partner answered carries frames only once that
//!   partner says it collects them. Independent control's DISTRIBUTING already waits for it;
//!   coupled control (Linux's default) enters COLLECTING_DISTRIBUTING as soon as the partner is
//!   in sync, which may be before the partner has heard that we are: our frames would then
//!   arrive at a port that still drops them, for as long as our next LACPDU takes (Linux sends
//!   one per 300 ms at most). The state and what we announce stay the standard's, and so do the
//!   port's `collecting`/`distributing` flags (Linux's "slave active"); only whether the port
//!   carries frames ([`carries_frames`], in any state) waits for the partner's Collecting bit.

use ubond_wire::slow::PortState;

use super::port::{Port, PortTimer};
use super::receive::RxState;
use super::selection::Aggregator;
use crate::time::Instant;

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
    /// `Ready` apart from this port: every *other* port attached to the aggregator has
    /// `Ready_N` (looked at in WAITING only).
    pub ready: bool,
    /// This port's `Ready_N`: its wait is over.
    pub ready_n: bool,
    /// `wait_while_timer` has expired (it sets `Ready_N`).
    pub wait_while_expired: bool,
    /// ubond's early attach: waiting longer cannot change anything (`early_ready`), so the
    /// wait ends now as if `wait_while_timer` had expired (looked at in WAITING only).
    pub early_attach: bool,
    /// ubond's resume (`Lacp::resume`): the port resumes an aggregation an earlier run of
    /// its driver formed, whose Aggregate_Wait_Time passed then, so the wait ends now (looked
    /// at in WAITING only).
    pub resumed: bool,
    /// `Partner_Oper_Port_State.Synchronization`.
    pub partner_sync: bool,
    /// `Partner_Oper_Port_State.Collecting`.
    pub partner_collecting: bool,
    /// `Actor_Oper_Port_State.Synchronization`.
    pub actor_sync: bool,
    /// The port's aggregator is the bond's active aggregator (Linux).
    pub aggregator_active: bool,
    /// The port's aggregator has an answering partner (a non-zero partner system).
    pub aggregator_partnered: bool,
    /// `coupled_control=on`.
    pub coupled: bool,
    /// `Port_Enabled`: the link is up.
    pub port_enabled: bool,
    /// The port's data path collects (frames received on it are delivered).
    pub collecting: bool,
    /// The port's data path distributes (Linux: the slave is active for transmission).
    pub distributing: bool,
}

/// What the Mux machine does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuxStep {
    /// Enter this state and run its entry actions (BEGIN re-enters DETACHED).
    Enter(MuxState),
    /// Stay WAITING with `Ready_N` set: this port's wait is over (the timer expired, or early
    /// attach), but other ports of the aggregator still wait.
    ReadyN,
    /// Stay ATTACHED and set `Actor_Oper_Port_State.Synchronization` (and NTT): the port's
    /// aggregator became the active one (Linux `ad_mux_machine`).
    InSync,
    /// Stay, and enable the port (Linux `__enable_port`): it collects, and distributes too
    /// if `distributing`. The port's aggregator became active again after another one took
    /// its place and disabled it.
    Enable {
        /// Distribute too (COLLECTING_DISTRIBUTING and DISTRIBUTING; COLLECTING only collects).
        distributing: bool,
    },
}

/// The next step, or `None` to stay.
#[inline]
pub fn next_state(state: MuxState, i: MuxInputs) -> Option<MuxStep> {
    use MuxState::*;
    use MuxStep::Enter;
    if i.begin {
        // BEGIN (re-)enters DETACHED, whose entry sets NTT: an active port speaks at once.
        return Some(Enter(Detached));
    }
    let in_sync = i.selected && i.partner_sync && i.actor_sync;
    match state {
        Detached if i.selected => Some(Enter(Waiting)),
        Waiting if !i.selected => Some(Enter(Detached)),
        Waiting => {
            let ready_n = i.ready_n || i.wait_while_expired || i.early_attach || i.resumed;
            if ready_n && i.ready {
                Some(Enter(Attached))
            } else {
                (ready_n && !i.ready_n).then_some(MuxStep::ReadyN)
            }
        }
        Attached if i.selected && i.partner_sync && i.aggregator_active => {
            Some(Enter(if i.coupled { CollectingDistributing } else { Collecting }))
        }
        Attached if !i.selected => Some(Enter(Detached)),
        Attached => (i.aggregator_active && !i.actor_sync).then_some(MuxStep::InSync),
        CollectingDistributing | Collecting if !in_sync => Some(Enter(Attached)),
        Collecting if i.partner_collecting => Some(Enter(Distributing)),
        Distributing if !in_sync || !i.partner_collecting => Some(Enter(Collecting)),
        // The state holds. Linux: a port of the active aggregator is enabled (only ever
        // enabled here: the other aggregators' ports were disabled when they lost).
        CollectingDistributing | Distributing
            if i.aggregator_active && i.port_enabled && !(i.collecting && i.distributing) =>
        {
            Some(MuxStep::Enable { distributing: true })
        }
        Collecting if i.aggregator_active && i.port_enabled && !i.collecting => {
            Some(MuxStep::Enable { distributing: false })
        }
        Detached | Collecting | CollectingDistributing | Distributing => None,
    }
}

/// ubond's Collecting gate, in every state: the port carries transmitted frames while it
/// distributes and its link is up, once its partner collects (or if no partner answered).
#[inline]
pub fn carries_frames(i: &MuxInputs) -> bool {
    i.distributing && i.port_enabled && (i.partner_collecting || !i.aggregator_partnered)
}

/// Applies the Collecting gate to the port; true if whether it carries frames changed.
#[inline]
pub(crate) fn gate(port: &mut Port, i: &MuxInputs) -> bool {
    let carries = carries_frames(i);
    let changed = carries != port.carries_frames;
    port.carries_frames = carries;
    changed
}

/// Whether waiting longer for other ports to join is pointless (with `early_attach`).
///
/// Aggregate_Wait_Time exists so that links coming up together attach to their aggregator
/// together (802.1AX 6.4.15). Once every enabled port of the bond is selected and its partner
/// information is current (it heard its partner, so its choice of aggregator is made), no
/// other port can join any aggregator until something changes — and a change starts the
/// machines again. Then the wait only delays the link: both ends of a ubond pair aggregate in
/// tens of milliseconds instead of after 2 s. A partner that waits the standard 2 s (Linux)
/// still holds the link out of Collecting/Distributing until it is in sync, so nothing changes
/// for it.
pub(crate) fn early_ready(ports: &[Port]) -> bool {
    ports.iter().all(|q| {
        !(q.port_enabled && q.lacp_enabled)
            || (q.selected && q.rx == RxState::Current && q.aggregator.is_some())
    })
}

/// Port `p`'s inputs now (`early_attach`: the bond's `LacpConfig::early_attach`).
#[inline]
pub(crate) fn inputs(
    p: usize,
    ports: &[Port],
    aggs: &[Aggregator],
    early_attach: bool,
    coupled: bool,
    now: Instant,
) -> MuxInputs {
    let port = &ports[p];
    let agg = port.aggregator.and_then(|a| aggs.get(a));
    // Only WAITING looks at these two (and they cost a walk over ports).
    let waiting = port.mux == MuxState::Waiting;
    MuxInputs {
        begin: port.begin,
        selected: port.selected,
        ready: waiting && agg.is_some_and(|a| a.ports.iter().all(|&q| q == p || ports[q].ready_n)),
        ready_n: port.ready_n,
        wait_while_expired: port.timers.expired(PortTimer::WaitWhile, now),
        early_attach: waiting && !port.ready_n && early_attach && early_ready(ports),
        resumed: waiting && port.resumed,
        partner_sync: port.partner_oper.state.has(PortState::SYNCHRONIZATION),
        partner_collecting: port.partner_oper.state.has(PortState::COLLECTING),
        actor_sync: port.actor_oper_state.has(PortState::SYNCHRONIZATION),
        aggregator_active: agg.is_some_and(|a| a.is_active),
        aggregator_partnered: agg.is_some_and(Aggregator::has_partner),
        coupled,
        port_enabled: port.port_enabled,
        collecting: port.collecting,
        distributing: port.distributing,
    }
}

/// Runs `step`'s actions: a state's entry actions (Figures 6-21 and 6-22, and Linux
/// `ad_mux_machine`'s), or an action within a state. `i` are the inputs `step` was decided on.
/// The data-path flags of a port whose aggregator has no partner are left to Selection (Linux's
/// unpartnered operation).
pub(crate) fn enter(
    step: MuxStep,
    port: &mut Port,
    i: &MuxInputs,
    aggregate_wait: core::time::Duration,
    now: Instant,
) {
    let state = match step {
        MuxStep::Enter(state) => state,
        MuxStep::ReadyN => {
            port.ready_n = true;
            port.timers.stop(PortTimer::WaitWhile);
            return;
        }
        MuxStep::InSync => {
            port.actor_oper_state.set(PortState::SYNCHRONIZATION, true);
            port.ntt = true;
            return;
        }
        MuxStep::Enable { distributing } => {
            port.collecting = true;
            port.distributing |= distributing;
            return;
        }
    };
    port.mux = state;
    if matches!(state, MuxState::Detached | MuxState::Attached) {
        port.resumed = false;
    }
    let actor = &mut port.actor_oper_state;
    match state {
        MuxState::Detached => {
            actor.set(PortState::SYNCHRONIZATION, false);
            actor.set(PortState::COLLECTING | PortState::DISTRIBUTING, false);
            if i.aggregator_partnered {
                port.collecting = false;
                port.distributing = false;
            }
            port.ready_n = false;
            port.timers.stop(PortTimer::WaitWhile);
            port.ntt = true;
        }
        MuxState::Waiting => port.timers.start(PortTimer::WaitWhile, now, aggregate_wait),
        MuxState::Attached => {
            actor.set(PortState::SYNCHRONIZATION, i.aggregator_active);
            actor.set(PortState::COLLECTING | PortState::DISTRIBUTING, false);
            if i.aggregator_partnered {
                port.collecting = false;
                port.distributing = false;
            }
            // Entered from WAITING once the wait is over (if it ended in this very step, the
            // timer still runs); entered from the other states with both already so.
            port.ready_n = true;
            port.timers.stop(PortTimer::WaitWhile);
            port.ntt = true;
        }
        MuxState::CollectingDistributing => {
            actor.set(
                PortState::SYNCHRONIZATION | PortState::COLLECTING | PortState::DISTRIBUTING,
                true,
            );
            if i.aggregator_active {
                port.collecting = i.port_enabled;
                port.distributing = i.port_enabled;
            }
            port.ntt = true;
        }
        MuxState::Collecting => {
            actor.set(PortState::SYNCHRONIZATION | PortState::COLLECTING, true);
            actor.set(PortState::DISTRIBUTING, false);
            if i.aggregator_active {
                port.collecting = i.port_enabled;
            }
            if i.aggregator_partnered {
                port.distributing = false;
            }
            port.ntt = true;
        }
        MuxState::Distributing => {
            actor.set(PortState::SYNCHRONIZATION | PortState::DISTRIBUTING, true);
            if i.aggregator_active {
                port.collecting = i.port_enabled;
                port.distributing = i.port_enabled;
            }
        }
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
            aggregator_partnered: true,
            coupled,
            port_enabled: true,
            collecting: true,
            distributing: true,
            ..Default::default()
        }
    }

    fn to(state: MuxState) -> Option<MuxStep> {
        Some(MuxStep::Enter(state))
    }

    /// Rows cite IEEE 802.1AX-2014 6.4.15 (Figure 6-21 coupled, 6-22 independent) and the
    /// Linux `ad_mux_machine` where it refines the standard.
    #[test]
    fn transition_table() {
        let c = synced(true);
        let ind = synced(false);
        let rows: &[(MuxState, MuxInputs, Option<MuxStep>, &str)] = &[
            (Attached, MuxInputs { begin: true, ..c }, to(Detached), "BEGIN -> DETACHED"),
            (Detached, MuxInputs { begin: true, ..c }, to(Detached), "BEGIN re-enters DETACHED"),
            (Detached, c, to(Waiting), "Selected = SELECTED -> WAITING"),
            (Detached, MuxInputs { selected: false, ..c }, None, "unselected: stays DETACHED"),
            (
                Waiting,
                MuxInputs { selected: false, ..c },
                to(Detached),
                "Selected = UNSELECTED -> DETACHED",
            ),
            (Waiting, MuxInputs { ready_n: false, ..c }, None, "wait_while_timer running"),
            (
                Waiting,
                MuxInputs { ready: false, ..c },
                None,
                "other ports of the aggregator still waiting",
            ),
            (Waiting, c, to(Attached), "Selected && Ready -> ATTACHED"),
            (
                Attached,
                c,
                to(CollectingDistributing),
                "Selected && Partner.Sync -> COLLECTING_DISTRIBUTING",
            ),
            (Attached, ind, to(Collecting), "independent control: -> COLLECTING"),
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
            (Attached, MuxInputs { selected: false, ..c }, to(Detached), "UNSELECTED -> DETACHED"),
            (
                CollectingDistributing,
                MuxInputs { partner_sync: false, ..c },
                to(Attached),
                "!Partner.Sync -> ATTACHED",
            ),
            (
                CollectingDistributing,
                MuxInputs { selected: false, ..c },
                to(Attached),
                "UNSELECTED -> ATTACHED",
            ),
            (
                CollectingDistributing,
                MuxInputs { actor_sync: false, ..c },
                to(Attached),
                "Linux: !Actor.Sync -> ATTACHED",
            ),
            (CollectingDistributing, c, None, "in sync: stays"),
            (Collecting, ind, to(Distributing), "Partner.Collecting -> DISTRIBUTING"),
            (
                Collecting,
                MuxInputs { partner_collecting: false, ..ind },
                None,
                "partner not collecting yet",
            ),
            (
                Collecting,
                MuxInputs { partner_sync: false, ..ind },
                to(Attached),
                "!Partner.Sync -> ATTACHED",
            ),
            (
                Distributing,
                MuxInputs { partner_collecting: false, ..ind },
                to(Collecting),
                "!Partner.Collecting -> COLLECTING",
            ),
            (
                Distributing,
                MuxInputs { selected: false, ..ind },
                to(Collecting),
                "UNSELECTED -> COLLECTING",
            ),
            (Distributing, ind, None, "in sync: stays"),
            // Ready_N: the wait_while_timer (6.4.8), or ubond's early attach, ends the wait.
            (
                Waiting,
                MuxInputs { ready_n: false, wait_while_expired: true, ..c },
                to(Attached),
                "wait_while_timer expired (Ready_N) && Ready -> ATTACHED",
            ),
            (
                Waiting,
                MuxInputs { ready_n: false, wait_while_expired: true, ready: false, ..c },
                Some(MuxStep::ReadyN),
                "wait_while_timer expired: Ready_N, other ports still waiting",
            ),
            (
                Waiting,
                MuxInputs { ready_n: false, early_attach: true, ..c },
                to(Attached),
                "ubond early attach: the wait ends now -> ATTACHED",
            ),
            (
                Waiting,
                MuxInputs { ready_n: false, early_attach: true, ready: false, ..c },
                Some(MuxStep::ReadyN),
                "ubond early attach: Ready_N, other ports still waiting",
            ),
            (
                Waiting,
                MuxInputs { ready_n: false, resumed: true, ..c },
                to(Attached),
                "ubond resume: the wait passed before the driver restarted -> ATTACHED",
            ),
            (
                Waiting,
                MuxInputs { ready_n: false, resumed: true, ready: false, ..c },
                Some(MuxStep::ReadyN),
                "ubond resume: Ready_N, other ports still waiting",
            ),
            (
                Waiting,
                MuxInputs { selected: false, ready_n: false, resumed: true, ..c },
                to(Detached),
                "UNSELECTED -> DETACHED, resumed or not",
            ),
            (
                Waiting,
                MuxInputs { selected: false, ready_n: false, wait_while_expired: true, ..c },
                to(Detached),
                "UNSELECTED -> DETACHED, whatever the timer",
            ),
            (
                Waiting,
                MuxInputs { ready: false, wait_while_expired: true, ..c },
                None,
                "Ready_N already set: nothing new",
            ),
            // Linux ad_mux_machine, ATTACHED: the active aggregator's port is in sync.
            (
                Attached,
                MuxInputs { partner_sync: false, actor_sync: false, ..c },
                Some(MuxStep::InSync),
                "Linux: ATTACHED in the active aggregator -> Actor.Sync",
            ),
            (
                Attached,
                MuxInputs { partner_sync: false, actor_sync: false, aggregator_active: false, ..c },
                None,
                "Linux: another aggregator's port stays out of sync",
            ),
            // Linux ad_mux_machine: while the state holds, a port of the active aggregator is
            // enabled (its aggregator may have become active again).
            (
                CollectingDistributing,
                MuxInputs { collecting: false, distributing: false, ..c },
                Some(MuxStep::Enable { distributing: true }),
                "Linux: a collecting distributing port in an active aggregator is enabled",
            ),
            (
                CollectingDistributing,
                MuxInputs { collecting: false, distributing: false, aggregator_active: false, ..c },
                None,
                "Linux: another aggregator's port stays disabled",
            ),
            (
                CollectingDistributing,
                MuxInputs { collecting: false, distributing: false, port_enabled: false, ..c },
                None,
                "a port without link is not enabled",
            ),
            (
                Distributing,
                MuxInputs { distributing: false, ..ind },
                Some(MuxStep::Enable { distributing: true }),
                "Linux: a distributing port in an active aggregator is enabled",
            ),
            (
                Collecting,
                MuxInputs {
                    partner_collecting: false,
                    collecting: false,
                    distributing: false,
                    ..ind
                },
                Some(MuxStep::Enable { distributing: false }),
                "Linux: a collecting port in an active aggregator collects",
            ),
        ];
        for (state, inputs, want, clause) in rows {
            assert_eq!(next_state(*state, *inputs), *want, "{state:?} {inputs:?}: {clause}");
        }
    }

    /// ubond's Collecting gate (no clause: 802.1AX-2014 6.4.15 lets coupled control distribute
    /// as soon as the partner is in sync). Rows: (inputs, the port carries frames).
    #[test]
    fn collecting_gate_table() {
        let c = synced(true);
        let rows: &[(MuxInputs, bool, &str)] = &[
            (c, true, "distributing, link up, the partner collects"),
            (
                MuxInputs { partner_collecting: false, ..c },
                false,
                "the partner does not collect yet",
            ),
            (
                MuxInputs { partner_collecting: false, aggregator_partnered: false, ..c },
                true,
                "no partner answered: nobody to wait for",
            ),
            (MuxInputs { distributing: false, ..c }, false, "the port does not distribute"),
            (MuxInputs { port_enabled: false, ..c }, false, "the link is down"),
            (
                MuxInputs { partner_sync: false, actor_sync: false, ..c },
                true,
                "any state: a port enabled in WAITING (left from an aggregator without partner) \
                 carries frames to a collecting partner",
            ),
        ];
        for (inputs, want, clause) in rows {
            assert_eq!(carries_frames(inputs), *want, "{inputs:?}: {clause}");
        }
    }
}
