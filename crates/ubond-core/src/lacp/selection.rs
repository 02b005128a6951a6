//! Selection Logic (IEEE 802.1AX-2014 6.4.14) as the Linux driver implements it
//! (`ad_port_selection_logic`, `ad_agg_selection_logic`, `ad_agg_selection_test`).
//!
//! Every enslaved port owns one aggregator, numbered from 1 in enslave order. An unselected
//! port joins the first aggregator (in enslave order) that already has ports with the same
//! actor key, partner system, partner system priority and partner key, and that has an
//! answering partner and is not individual; otherwise it takes the first empty aggregator.
//! Then one aggregator of the bond is chosen *active* by the `ad_select` policy. Ports in
//! the other aggregators do not carry traffic: this is how a partner with two different keys
//! on two links (two switches, or a switch whose ports are not in one port-channel) shows up as
//! "Aggregator ID 1, 1, 2" in `/proc/net/bonding`.
//!
//! Selection Logic has no state diagram in the standard: its state is each port's `Selected`
//! variable. `next_state` decides where an unselected port goes and `enter` attaches it
//! there, then chooses the bond's active aggregator (`select_active`, decided by the pure
//! `better` and `stable_keeps` on `AggView`s).

use core::fmt;

use ubond_wire::slow::PortState;
use ubond_wire::MacAddr;

use super::key::{self, DUPLEX_MASK};
use super::port::Port;

/// `ad_select`: how the active aggregator is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AdSelect {
    /// 0: keep the active aggregator while it has ports with an answering partner (default).
    #[default]
    Stable,
    /// 1: the aggregator with the highest bandwidth, reselected on every change.
    Bandwidth,
    /// 2: the aggregator with the most ports, reselected on every change.
    Count,
    /// 3: the aggregator with the highest sum of its ports' `actor_port_prio` (Linux 6.18).
    ActorPortPrio,
}

impl fmt::Display for AdSelect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdSelect::Stable => "stable",
            AdSelect::Bandwidth => "bandwidth",
            AdSelect::Count => "count",
            AdSelect::ActorPortPrio => "actor_port_prio",
        })
    }
}

/// An aggregator (802.1AX-2014 6.4.6; Linux `struct aggregator`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Aggregator {
    /// Aggregator identifier, from 1 in enslave order.
    pub id: u16,
    pub is_individual: bool,
    pub actor_oper_key: u16,
    pub partner_system: MacAddr,
    pub partner_system_priority: u16,
    pub partner_oper_key: u16,
    /// Indexes of the attached ports, most recently attached first (Linux `lag_ports`).
    pub ports: Vec<usize>,
    pub is_active: bool,
}

impl Aggregator {
    pub fn new(id: u16) -> Aggregator {
        Aggregator {
            id,
            is_individual: false,
            actor_oper_key: 0,
            partner_system: MacAddr::ZERO,
            partner_system_priority: 0,
            partner_oper_key: 0,
            ports: Vec::new(),
            is_active: false,
        }
    }

    /// `ad_clear_agg`: no ports, no parameters.
    pub fn clear(&mut self) {
        *self = Aggregator::new(self.id);
    }

    /// `__agg_has_partner`: the partner system is not zero (an LACP partner answered).
    pub fn has_partner(&self) -> bool {
        !self.partner_system.is_zero()
    }
}

/// Number of the aggregator's ports whose link is enabled (`__agg_active_ports`).
pub(crate) fn active_ports(agg: &Aggregator, ports: &[Port]) -> usize {
    agg.ports.iter().filter(|&&p| ports.get(p).is_some_and(|p| p.port_enabled)).count()
}

/// Detaches port `p` from its aggregator (clearing the aggregator if it empties).
pub(crate) fn detach(p: usize, ports: &mut [Port], aggs: &mut [Aggregator]) {
    let Some(a) = ports.get_mut(p).and_then(|port| port.aggregator.take()) else { return };
    if let Some(agg) = aggs.get_mut(a) {
        agg.ports.retain(|&q| q != p);
        if agg.ports.is_empty() {
            agg.clear();
        }
    }
}

// ----- port selection (`ad_port_selection_logic`) -----------------------------------------

/// What Selection Logic looks at for one port: its `Selected` variable and the parameters an
/// aggregator must share (802.1AX-2014 6.4.14.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SelectionInputs {
    /// The port's index.
    pub port: usize,
    /// `Selected == SELECTED`.
    pub selected: bool,
    /// `Actor_Oper_Key`.
    pub key: u16,
    /// `Partner_Oper_System`.
    pub partner_system: MacAddr,
    /// `Partner_Oper_System_Priority`.
    pub partner_system_priority: u16,
    /// `Partner_Oper_Key`.
    pub partner_key: u16,
}

/// Where an unselected port goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Join the aggregator at this index, which has ports with the same parameters.
    Join(usize),
    /// Take the aggregator at this index, which has no other port, and give it the port's
    /// parameters.
    Take(usize),
}

/// Port `p`'s inputs now.
#[inline]
pub(crate) fn inputs(p: usize, ports: &[Port]) -> SelectionInputs {
    let port = &ports[p];
    SelectionInputs {
        port: p,
        selected: port.selected,
        key: port.actor_oper_port_key,
        partner_system: port.partner_oper.system,
        partner_system_priority: port.partner_oper.system_priority,
        partner_key: port.partner_oper.key,
    }
}

/// Where an unselected port goes, or `None` for a selected one. The port first leaves its
/// aggregator (Linux), so its own aggregator counts as free when it holds only the port.
#[inline]
pub(crate) fn next_state(i: &SelectionInputs, aggs: &[Aggregator]) -> Option<Selection> {
    if i.selected {
        return None;
    }
    let others = |agg: &Aggregator| agg.ports.iter().any(|&q| q != i.port);
    let join = aggs.iter().position(|agg| {
        others(agg)
            && agg.actor_oper_key == i.key
            && agg.partner_system == i.partner_system
            && agg.partner_system_priority == i.partner_system_priority
            && agg.partner_oper_key == i.partner_key
            && agg.has_partner()
            && !agg.is_individual
    });
    match join {
        Some(a) => Some(Selection::Join(a)),
        // One aggregator per port: one of them always has no other port.
        None => aggs.iter().position(|agg| !others(agg)).map(Selection::Take),
    }
}

/// Selects port `p` (`ad_port_selection_logic`): leaves its aggregator, attaches to the chosen
/// one, chooses the bond's active aggregator again, and clears the port's Synchronization if
/// its aggregator is not the active one (Linux). Returns the aggregator's index and whether
/// the new active aggregator is individual (see [`select_active`]).
pub(crate) fn enter(
    choice: Selection,
    p: usize,
    policy: AdSelect,
    ports: &mut [Port],
    aggs: &mut [Aggregator],
) -> (usize, bool) {
    detach(p, ports, aggs);
    let a = match choice {
        Selection::Join(a) => {
            aggs[a].ports.insert(0, p);
            a
        }
        Selection::Take(a) => {
            let (key, partner) = (ports[p].actor_oper_port_key, ports[p].partner_oper);
            let agg = &mut aggs[a];
            agg.is_individual = key & DUPLEX_MASK == 0;
            agg.actor_oper_key = key;
            agg.partner_system = partner.system;
            agg.partner_system_priority = partner.system_priority;
            agg.partner_oper_key = partner.key;
            agg.ports.push(p);
            a
        }
    };
    ports[p].aggregator = Some(a);
    ports[p].selected = true;
    let no_partner_response = select_active(policy, ports, aggs);
    if !aggs[a].is_active {
        ports[p].actor_oper_state.set(PortState::SYNCHRONIZATION, false);
    }
    (a, no_partner_response)
}

/// Releases port `p` (`bond_3ad_unbind_slave`): the other ports of the aggregator it owns move
/// to a free aggregator, then the port and its aggregator leave the bond (the indexes above
/// `p` shift down by one). Returns whether the port's aggregator was the active one.
pub(crate) fn unbind(p: usize, ports: &mut Vec<Port>, aggs: &mut Vec<Aggregator>) -> bool {
    let own_others = aggs[p].ports.iter().any(|&q| q != p);
    if own_others {
        let free =
            (0..aggs.len()).find(|&b| b != p && (aggs[b].ports.is_empty() || aggs[b].ports == [p]));
        if let Some(b) = free {
            aggs[b] = Aggregator { id: aggs[b].id, ..aggs[p].clone() };
            for &q in &aggs[b].ports {
                ports[q].aggregator = Some(b);
            }
            aggs[p].clear();
        }
    }
    let was_active = ports[p].aggregator.is_some_and(|a| aggs[a].is_active);
    detach(p, ports, aggs);
    ports.remove(p);
    aggs.remove(p);
    let shift = |i: usize| if i > p { i - 1 } else { i };
    for port in ports.iter_mut() {
        port.aggregator = port.aggregator.map(shift);
    }
    for agg in aggs.iter_mut() {
        for q in &mut agg.ports {
            *q = shift(*q);
        }
    }
    was_active
}

// ----- aggregator selection (`ad_agg_selection_logic`) ------------------------------------

/// What aggregator selection compares of an aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AggView {
    /// The aggregator has ports.
    pub has_ports: bool,
    /// Individual (not aggregatable).
    pub individual: bool,
    /// An LACP partner answered (`__agg_has_partner`).
    pub partnered: bool,
    /// Ports whose link is up (`__agg_active_ports`).
    pub enabled_ports: usize,
    /// `__get_agg_bandwidth`, in Mbit/s.
    pub bandwidth: u64,
    /// `__agg_ports_priority`.
    pub priority_sum: u64,
    /// `actor_oper_aggregator_key`.
    pub actor_key: u16,
}

impl AggView {
    /// The view of `agg` (one walk over its ports).
    fn of(agg: &Aggregator, ports: &[Port]) -> AggView {
        let (mut enabled_ports, mut priority_sum) = (0, 0);
        for port in agg.ports.iter().filter_map(|&p| ports.get(p)).filter(|p| p.port_enabled) {
            enabled_ports += 1;
            priority_sum += u64::from(port.actor_port_priority);
        }
        // `__get_agg_bandwidth`: enabled ports × the first port's speed (0 if it is down).
        let speed = agg.ports.first().and_then(|&p| ports.get(p)).map_or(0, |p| {
            if p.port_enabled {
                key::code_bandwidth((p.actor_oper_port_key & key::SPEED_MASK) >> 1)
            } else {
                0
            }
        });
        AggView {
            has_ports: !agg.ports.is_empty(),
            individual: agg.is_individual,
            partnered: agg.has_partner(),
            enabled_ports,
            bandwidth: enabled_ports as u64 * u64::from(speed),
            priority_sum,
            actor_key: agg.actor_oper_key,
        }
    }
}

/// `ad_agg_selection_test`: is `curr` a better active aggregator than `best`?
pub(crate) fn better(curr: &AggView, best: &AggView, policy: AdSelect) -> bool {
    if curr.individual != best.individual {
        return !curr.individual;
    }
    if curr.partnered != best.partnered {
        return curr.partnered;
    }
    if policy == AdSelect::ActorPortPrio && curr.priority_sum != best.priority_sum {
        return curr.priority_sum > best.priority_sum;
    }
    if matches!(policy, AdSelect::Count | AdSelect::ActorPortPrio)
        && curr.enabled_ports != best.enabled_ports
    {
        return curr.enabled_ports > best.enabled_ports;
    }
    curr.bandwidth > best.bandwidth
}

/// `ad_select=stable`: the active aggregator `old` stays active instead of `best` while it has
/// enabled ports and an answering partner (or neither it nor `best` has one), unless it has no
/// key at all.
pub(crate) fn stable_keeps(old: &AggView, best: &AggView) -> bool {
    old.has_ports
        && old.enabled_ports > 0
        && (old.partnered || !best.partnered)
        && !(old.actor_key == 0 && best.actor_key != 0)
}

/// `ad_agg_selection_logic`: chooses the bond's active aggregator, then sets the data path: the
/// ports of an aggregator that lost its place stop carrying traffic, and the ports of an
/// active aggregator without an answering partner carry traffic anyway (Linux's silent
/// unpartnered operation). Returns true if a new active aggregator is individual (Linux's
/// "No 802.3ad response from the link partner for any adapters in the bond").
pub(crate) fn select_active(policy: AdSelect, ports: &mut [Port], aggs: &mut [Aggregator]) -> bool {
    let active = aggs.iter().position(|a| a.is_active).map(|a| (a, AggView::of(&aggs[a], ports)));
    let mut best = active.filter(|(_, view)| view.enabled_ports > 0);
    for (a, agg) in aggs.iter_mut().enumerate() {
        agg.is_active = false;
        let view = AggView::of(agg, ports);
        if view.enabled_ports > 0 && best.is_none_or(|(_, b)| better(&view, &b, policy)) {
            best = Some((a, view));
        }
    }
    if let (Some((_, b)), Some((_, old)), AdSelect::Stable) = (best, active, policy) {
        if stable_keeps(&old, &b) {
            best = active;
        }
    }
    let (best, active) = (best.map(|(b, _)| b), active.map(|(a, _)| a));
    let mut no_partner_response = false;
    match (best, active) {
        (Some(b), Some(act)) if b == act => aggs[act].is_active = true,
        (Some(b), _) => {
            aggs[b].is_active = true;
            if let Some(old) = active {
                for &q in &aggs[old].ports {
                    ports[q].collecting = false;
                    ports[q].distributing = false;
                }
            }
            no_partner_response = aggs[b].is_individual;
        }
        (None, _) => {}
    }
    if let Some(active) = aggs.iter().find(|a| a.is_active) {
        if !active.has_partner() {
            for &q in &active.ports {
                let port = &mut ports[q];
                port.collecting = port.port_enabled;
                port.distributing = port.port_enabled;
            }
        }
    }
    no_partner_response
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: MacAddr = MacAddr([2, 0, 0, 0, 0xb, 0]);
    const S2: MacAddr = MacAddr([2, 0, 0, 0, 0xc, 0]);

    fn agg(id: u16, ports: &[usize], key: u16, partner: MacAddr, partner_key: u16) -> Aggregator {
        Aggregator {
            is_individual: key & DUPLEX_MASK == 0,
            actor_oper_key: key,
            partner_system: partner,
            partner_system_priority: 0xffff,
            partner_oper_key: partner_key,
            ports: ports.to_vec(),
            ..Aggregator::new(id)
        }
    }

    /// Rows cite IEEE 802.1AX-2014 6.4.14.1 (Selection Logic) and Linux
    /// `ad_port_selection_logic`, which it follows.
    #[test]
    fn port_selection_table() {
        use Selection::*;
        // Port 1 is unselected and owns the empty aggregator 1 (index 1). Aggregator 0 holds
        // port 0 (key 9, partner S1 key 9); 2 holds port 2 (half duplex: individual);
        // 3 holds port 3 (no partner answered); 4 holds port 4 (partner S2).
        let aggs = [
            agg(1, &[0], 9, S1, 9),
            agg(2, &[], 0, MacAddr::ZERO, 0),
            agg(3, &[2], 8, S1, 8),
            agg(4, &[3], 9, MacAddr::ZERO, 1),
            agg(5, &[4], 9, S2, 9),
        ];
        let i = SelectionInputs {
            port: 1,
            selected: false,
            key: 9,
            partner_system: S1,
            partner_system_priority: 0xffff,
            partner_key: 9,
        };
        let rows: &[(SelectionInputs, Option<Selection>, &str)] = &[
            (SelectionInputs { selected: true, ..i }, None, "a SELECTED port stays"),
            (i, Some(Join(0)), "same Actor key, Partner System, Partner key: same aggregator"),
            (
                SelectionInputs { partner_key: 10, ..i },
                Some(Take(1)),
                "another Partner key: a free aggregator",
            ),
            (
                SelectionInputs { partner_system_priority: 1, ..i },
                Some(Take(1)),
                "another Partner System Priority: a free aggregator",
            ),
            (
                SelectionInputs { key: 15, ..i },
                Some(Take(1)),
                "another Actor key (speed): a free aggregator",
            ),
            (SelectionInputs { partner_system: S2, ..i }, Some(Join(4)), "the other partner's"),
            (
                SelectionInputs { key: 8, partner_key: 8, ..i },
                Some(Take(1)),
                "an individual link aggregates with nobody",
            ),
            (
                SelectionInputs { partner_system: MacAddr::ZERO, partner_key: 1, ..i },
                Some(Take(1)),
                "Linux: no answering partner, nobody to aggregate with",
            ),
            (
                SelectionInputs { port: 0, ..i },
                Some(Take(0)),
                "re-selection: its own aggregator, left empty, is the first free one",
            ),
            (
                SelectionInputs { port: 0, partner_system: S2, ..i },
                Some(Join(4)),
                "re-selection towards a new partner joins that partner's aggregator",
            ),
        ];
        for (inputs, want, clause) in rows {
            assert_eq!(next_state(inputs, &aggs), *want, "{inputs:?}: {clause}");
        }
    }

    /// Rows cite Linux `ad_agg_selection_test` and `ad_agg_selection_logic`: choosing one
    /// active aggregator per bond is Linux's (802.1AX-2014 lets every aggregator run).
    #[test]
    fn active_aggregator_table() {
        let base = AggView {
            has_ports: true,
            individual: false,
            partnered: true,
            enabled_ports: 2,
            bandwidth: 2000,
            priority_sum: 510,
            actor_key: 9,
        };
        let fat = AggView { bandwidth: 20_000, ..base };
        let many = AggView { enabled_ports: 3, bandwidth: 3000, ..base };
        let prio = AggView { priority_sum: 600, enabled_ports: 1, bandwidth: 1000, ..base };
        let rows: &[(AggView, AggView, AdSelect, bool, &str)] = &[
            (
                base,
                AggView { individual: true, ..fat },
                AdSelect::Bandwidth,
                true,
                "aggregatable beats individual",
            ),
            (
                AggView { individual: true, ..fat },
                base,
                AdSelect::Bandwidth,
                false,
                "individual loses",
            ),
            (
                base,
                AggView { partnered: false, ..fat },
                AdSelect::Count,
                true,
                "a partner beats none",
            ),
            (AggView { partnered: false, ..fat }, base, AdSelect::Count, false, "no partner loses"),
            (fat, base, AdSelect::Bandwidth, true, "bandwidth: more bandwidth wins"),
            (base, base, AdSelect::Bandwidth, false, "a tie keeps the best so far"),
            (fat, base, AdSelect::Stable, true, "stable compares bandwidth too"),
            (many, fat, AdSelect::Count, true, "count: more ports win"),
            (fat, many, AdSelect::Count, false, "count: fewer ports lose"),
            (fat, base, AdSelect::Count, true, "count: same ports, more bandwidth"),
            (prio, many, AdSelect::ActorPortPrio, true, "actor_port_prio: higher sum wins"),
            (many, prio, AdSelect::ActorPortPrio, false, "actor_port_prio: lower sum loses"),
            (many, base, AdSelect::ActorPortPrio, true, "actor_port_prio: same sum, more ports"),
        ];
        for (curr, best, policy, want, clause) in rows {
            assert_eq!(better(curr, best, *policy), *want, "{curr:?} vs {best:?}: {clause}");
        }
        let rows: &[(AggView, AggView, bool, &str)] = &[
            (base, fat, true, "stable: an active aggregator with a partner stays"),
            (AggView { enabled_ports: 0, ..base }, fat, false, "...unless its links are down"),
            (AggView { has_ports: false, ..base }, fat, false, "...or it has no ports"),
            (AggView { partnered: false, ..base }, fat, false, "a partner answers elsewhere"),
            (
                AggView { partnered: false, ..base },
                AggView { partnered: false, ..fat },
                true,
                "nobody answers anywhere: no reason to move",
            ),
            (AggView { actor_key: 0, ..base }, fat, false, "an aggregator without a key gives way"),
            (
                AggView { actor_key: 0, ..base },
                AggView { actor_key: 0, ..fat },
                true,
                "...to one with a key only",
            ),
        ];
        for (old, best, want, clause) in rows {
            assert_eq!(stable_keeps(old, best), *want, "{old:?} vs {best:?}: {clause}");
        }
    }
}
