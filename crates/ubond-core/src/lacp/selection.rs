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

use core::fmt;

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

/// Total bandwidth in Mbit/s (`__get_agg_bandwidth`: active ports × the first port's speed).
fn bandwidth(agg: &Aggregator, ports: &[Port]) -> u64 {
    let n = active_ports(agg, ports) as u64;
    let speed = agg.ports.first().and_then(|&p| ports.get(p)).map_or(0, |p| {
        if p.port_enabled {
            key::code_bandwidth((p.actor_oper_port_key & key::SPEED_MASK) >> 1)
        } else {
            0
        }
    });
    n * u64::from(speed)
}

/// Sum of the enabled ports' actor port priorities (`__agg_ports_priority`).
fn priority_sum(agg: &Aggregator, ports: &[Port]) -> u64 {
    agg.ports
        .iter()
        .filter_map(|&p| ports.get(p))
        .filter(|p| p.port_enabled)
        .map(|p| u64::from(p.actor_port_priority))
        .sum()
}

/// `agg_device_up`: at least one port of the aggregator has its link up.
fn device_up(agg: &Aggregator, ports: &[Port]) -> bool {
    agg.ports.iter().any(|&p| ports.get(p).is_some_and(|p| p.port_enabled))
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

/// Port selection for an unselected port (`ad_port_selection_logic`). Returns true if the port
/// was attached to an aggregator.
pub(crate) fn select_port(p: usize, ports: &mut [Port], aggs: &mut [Aggregator]) -> bool {
    let Some(port) = ports.get(p) else { return false };
    if port.selected {
        return false;
    }
    detach(p, ports, aggs);
    let port = &ports[p];
    let (key, partner) = (port.actor_oper_port_key, port.partner_oper);
    let existing = aggs.iter().position(|agg| {
        !agg.ports.is_empty()
            && agg.actor_oper_key == key
            && agg.partner_system == partner.system
            && agg.partner_system_priority == partner.system_priority
            && agg.partner_oper_key == partner.key
            && agg.has_partner()
            && !agg.is_individual
    });
    let chosen = match existing {
        Some(a) => {
            aggs[a].ports.insert(0, p);
            a
        }
        None => {
            let Some(a) = aggs.iter().position(|agg| agg.ports.is_empty()) else {
                return false; // "did not find a suitable aggregator": cannot happen, one each
            };
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
    let port = &mut ports[p];
    port.aggregator = Some(chosen);
    port.selected = true;
    true
}

/// `ad_agg_selection_test`: is `curr` a better active aggregator than `best`?
fn better(
    curr: usize,
    best: Option<usize>,
    policy: AdSelect,
    ports: &[Port],
    aggs: &[Aggregator],
) -> usize {
    let Some(b) = best else { return curr };
    let (c_agg, b_agg) = (&aggs[curr], &aggs[b]);
    if c_agg.is_individual != b_agg.is_individual {
        return if c_agg.is_individual { b } else { curr };
    }
    if c_agg.has_partner() != b_agg.has_partner() {
        return if c_agg.has_partner() { curr } else { b };
    }
    if policy == AdSelect::ActorPortPrio {
        let (cp, bp) = (priority_sum(c_agg, ports), priority_sum(b_agg, ports));
        if cp != bp {
            return if cp > bp { curr } else { b };
        }
    }
    if matches!(policy, AdSelect::Count | AdSelect::ActorPortPrio) {
        let (cn, bn) = (active_ports(c_agg, ports), active_ports(b_agg, ports));
        if cn != bn {
            return if cn > bn { curr } else { b };
        }
    }
    if bandwidth(c_agg, ports) > bandwidth(b_agg, ports) {
        curr
    } else {
        b
    }
}

/// What aggregator selection changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SelectionOutcome {
    /// A new aggregator became active (the old one's ports must stop carrying traffic).
    pub new_active: Option<usize>,
    /// The previously active aggregator, if a new one replaced it.
    pub old_active: Option<usize>,
}

/// `ad_agg_selection_logic`: chooses the bond's active aggregator.
pub(crate) fn select_active(
    policy: AdSelect,
    ports: &[Port],
    aggs: &mut [Aggregator],
) -> SelectionOutcome {
    let active = aggs.iter().position(|a| a.is_active);
    let mut best = active.filter(|&a| device_up(&aggs[a], ports));
    for a in 0..aggs.len() {
        aggs[a].is_active = false;
        if active_ports(&aggs[a], ports) > 0 && device_up(&aggs[a], ports) {
            best = Some(better(a, best, policy, ports, aggs));
        }
    }
    if let (Some(b), Some(act), AdSelect::Stable) = (best, active, policy) {
        // Stable: keep the old active aggregator while it still has enabled ports and an
        // answering partner (or neither it nor the best has one), unless it has no key at all.
        let old = &aggs[act];
        if !old.ports.is_empty()
            && active_ports(old, ports) > 0
            && (old.has_partner() || !aggs[b].has_partner())
            && !(old.actor_oper_key == 0 && aggs[b].actor_oper_key != 0)
        {
            best = Some(act);
        }
    }
    let mut outcome = SelectionOutcome::default();
    match (best, active) {
        (Some(b), Some(act)) if b == act => aggs[act].is_active = true,
        (Some(b), _) => {
            aggs[b].is_active = true;
            outcome.new_active = Some(b);
            outcome.old_active = active;
        }
        (None, _) => {}
    }
    outcome
}
