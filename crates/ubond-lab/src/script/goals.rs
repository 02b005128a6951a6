//! The goals' checks: each goal of a scenario file, worded and judged against the simulator;
//! [`negotiated`] and [`converged`] are shared with the demo and the swarm.

use ubond_core::bond::Bond;
use ubond_wire::slow::PortState;

use super::build::Lab;
use super::spec::{FlowSpec, Goal};
use super::Script;
use crate::scenario::GoalCheck;
use crate::sim::{Node, NodeId, Sim};

impl Script {
    /// Goal `i`, checked now.
    pub(super) fn check(
        &self,
        lab: &Lab,
        flows: &[(FlowSpec, NodeId, NodeId)],
        i: usize,
    ) -> GoalCheck {
        let g = self.goals[i].get_ref();
        let when = g.at.map_or_else(|| "end".to_string(), |t| t.to_string());
        let label = |what: String| format!("goal {}: at {when}: {what}", i + 1);
        let sim = &lab.sim;
        // Every name was checked when the file was read. Texts are quoted as Rust does, so
        // a newline in one stays on the goal's line.
        let node = |name: &str| lab.node(name).and_then(|id| sim.try_node(id));
        match &g.goal {
            Goal::Report(c) => {
                let text = c.text.as_str();
                let got = match node(&c.node) {
                    Some(Node::Host(h)) => h.proc_report().matches(text).count(),
                    Some(Node::Switch(s)) => (0..s.bonds().count())
                        .filter_map(|b| s.proc_report(b))
                        .map(|r| r.matches(text).count())
                        .sum(),
                    Some(Node::Bridge(_)) | None => 0,
                } as u64;
                GoalCheck {
                    goal: label(format!("{} report {text:?} {}", c.node, c.expect)),
                    ok: c.expect.holds(got),
                    detail: format!("{got} found"),
                }
            }
            Goal::Timeline(c) => {
                let got = sim
                    .timeline()
                    .iter()
                    .filter(|e| e.node == c.node && e.what.contains(c.text.as_str()))
                    .count() as u64;
                GoalCheck {
                    goal: label(format!("{} timeline {:?} {}", c.node, c.text, c.expect)),
                    ok: c.expect.holds(got),
                    detail: format!("{got} lines"),
                }
            }
            Goal::Negotiated(name) => {
                let bonds = node(name).map(Node::bonds).unwrap_or_default();
                let (ok, detail) = negotiated(bonds);
                GoalCheck { goal: label(format!("{name} negotiated")), ok, detail }
            }
            Goal::AggregatorsDiffer(name) => {
                let ids: Vec<Option<u16>> = host_bond(node(name))
                    .and_then(Bond::lacp)
                    .map(|l| {
                        l.port_ids()
                            .filter_map(|p| l.port_status(p))
                            .map(|s| s.aggregator_id)
                            .collect()
                    })
                    .unwrap_or_default();
                GoalCheck {
                    goal: label(format!("{name}'s ports in different aggregators")),
                    ok: ids.windows(2).any(|w| w[0] != w[1]),
                    detail: format!("aggregator IDs {ids:?}"),
                }
            }
            Goal::ActiveAggregator(a) => {
                let got = host_bond(node(&a.host)).map(active_nics).unwrap_or_default();
                let mut want = a.ports.clone();
                want.sort();
                GoalCheck {
                    goal: label(format!("{}'s active aggregator holds {want:?}", a.host)),
                    ok: got == want,
                    detail: format!("it holds {got:?}"),
                }
            }
            Goal::Converged(want) => {
                let (ok, detail) = converged(sim);
                let what = if *want { "LACP converged" } else { "LACP not converged" };
                GoalCheck { goal: label(what.to_string()), ok: ok == *want, detail }
            }
            Goal::Ping(p) => {
                let (from, to) = (p.from, p.to);
                let (sent, answered) = match node(&p.host) {
                    Some(Node::Host(h)) => h.ping_window(from.instant(), to.instant()),
                    _ => (0, 0),
                };
                GoalCheck {
                    goal: label(format!(
                        "{} pings sent in {from}..{to} answered {}",
                        p.host, p.expect
                    )),
                    ok: p.expect.holds(answered as u64),
                    detail: format!("{answered}/{sent} answered"),
                }
            }
            Goal::Flow(fg) => {
                let name = &fg.name;
                let Some(idx) = flows.iter().position(|(f, _, _)| &f.name == name) else {
                    return GoalCheck {
                        goal: label(format!("flow {name}")),
                        ok: false,
                        detail: "no such flow".to_string(),
                    };
                };
                let (f, _, b) = &flows[idx];
                let id = u32::try_from(idx + 1).unwrap_or(u32::MAX);
                let n = f.frames();
                let after = fg.after.unwrap_or(f.start);
                let interval = f.interval().as_nanos().max(1);
                let since = after.0.saturating_sub(f.start.0).as_nanos();
                let first = u64::try_from(since.div_ceil(interval)).unwrap_or(u64::MAX).min(n);
                let got = sim.host(*b).flow_rx(id).map_or(0, |rx| rx.count(first, n));
                let want = n - first;
                let pct = if want == 0 { 0.0 } else { 100.0 * got as f64 / want as f64 };
                // With a count comparison, `delivered` defaults to 0 (the count decides).
                let need = fg.delivered.unwrap_or(if fg.expect.is_some() { 0.0 } else { 100.0 });
                let count_part =
                    fg.expect.map_or_else(String::new, |c| format!(", delivered frames {c}"));
                GoalCheck {
                    goal: label(format!(
                        "flow {name}: frames sent from {after} on delivered >= {need}%{count_part}"
                    )),
                    ok: want > 0 && pct >= need && fg.expect.is_none_or(|c| c.holds(got)),
                    detail: format!("{got}/{want} ({pct:.2}%)"),
                }
            }
        }
    }
}

/// The bond of `node`, if it is a host.
fn host_bond(node: Option<&Node>) -> Option<&Bond> {
    match node {
        Some(Node::Host(h)) => Some(h.bond()),
        _ => None,
    }
}

/// The NICs of the bond's active aggregator, in name order.
fn active_nics(bond: &Bond) -> Vec<String> {
    let ports =
        bond.lacp().and_then(|l| l.active_aggregator()).map(|a| a.ports).unwrap_or_default();
    let mut nics: Vec<String> = bond
        .slave_ids()
        .filter(|&s| bond.slave_port(s).is_some_and(|p| ports.contains(&p)))
        .filter_map(|s| bond.slave_name(s).map(str::to_string))
        .collect();
    nics.sort();
    nics
}

/// Whether every port with carrier of these bonds collects and distributes with a partner.
pub fn negotiated(bonds: Vec<&Bond>) -> (bool, String) {
    let mut up = 0;
    let mut dist = 0;
    for bond in bonds {
        let Some(l) = bond.lacp() else {
            return (false, format!("{} is not in 802.3ad mode", bond.name()));
        };
        for s in l.port_ids().filter_map(|p| l.port_status(p)).filter(|s| s.enabled) {
            up += 1;
            if s.distributing && s.collecting && !s.partner.system.is_zero() {
                dist += 1;
            }
        }
    }
    (up > 0 && up == dist, format!("{dist} of {up} ports with carrier distributing"))
}

/// Both ends agree: for every LACP port with carrier whose partner is a port of this
/// simulation, each records the other's identity and current state, and they distribute
/// together. A partner that is not in the simulation (a ghost) is a failure too.
pub fn converged(sim: &Sim) -> (bool, String) {
    let mut all = Vec::new();
    for n in 0..usize::MAX {
        let Some(node) = sim.try_node(NodeId(n)) else { break };
        for bond in node.bonds() {
            let Some(l) = bond.lacp() else { continue };
            for s in l.port_ids().filter_map(|p| l.port_status(p)) {
                let who = format!("{} {} port {}", node.name(), bond.name(), s.actor.port);
                all.push((who, s));
            }
        }
    }
    let mut pairs = 0;
    for (who, s) in &all {
        let defaulted =
            s.partner.state.has(PortState::DEFAULTED) || s.actor.state.has(PortState::DEFAULTED);
        if !s.enabled || defaulted || s.partner.system.is_zero() {
            continue;
        }
        // The partner is the port with that (system, port) identity; a switch's port-channels
        // share one system, so among several the one that names this port back is meant.
        let candidates: Vec<_> = all
            .iter()
            .filter(|(_, q)| q.actor.system == s.partner.system && q.actor.port == s.partner.port)
            .collect();
        let mutual = candidates
            .iter()
            .find(|(_, q)| q.partner.system == s.actor.system && q.partner.port == s.actor.port);
        let Some((pwho, p)) = mutual.or(candidates.first()).copied() else {
            return (
                false,
                format!(
                    "{who}: its partner {} port {} is not here",
                    s.partner.system, s.partner.port
                ),
            );
        };
        pairs += 1;
        if p.partner.system != s.actor.system || p.partner.port != s.actor.port {
            return (
                false,
                format!(
                    "{who} sees {pwho}, which sees {} port {}",
                    p.partner.system, p.partner.port
                ),
            );
        }
        if s.partner.state != p.actor.state || s.partner.key != p.actor.key {
            return (
                false,
                format!(
                    "{who} records {pwho} as state {} key {}, it is state {} key {}",
                    s.partner.state.0, s.partner.key, p.actor.state.0, p.actor.key
                ),
            );
        }
        if s.distributing != p.distributing {
            return (
                false,
                format!(
                    "{who} distributing={}, {pwho} distributing={}",
                    s.distributing, p.distributing
                ),
            );
        }
    }
    (true, format!("{pairs} ports agree with their partners"))
}
