//! Building a scenario's topology on the simulator: hosts with their bond options, bridges,
//! switches and cables, every name the timeline and the goals use checked on the way.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use ubond_core::options::{BondOptions, SetContext};
use ubond_wire::MacAddr;

use super::spec::{Action, FlowSpec, Goal, MAX_FLAPS};
use super::values::PortName;
use super::{Script, ScriptError, FIRST_OPTIONS, MAX_FLOW_COUNT, MAX_ITEMS, MAX_PORTS};
use crate::bridge::LinuxBridge;
use crate::host::{Host, NicModel, MAX_CLOCK_PPM};
use crate::scenario::GoalCheck;
use crate::sim::{LinkId, Node, NodeId, PortRef, Sim, MAX_LINK_QUEUE};
use crate::switch::{switch_bond_options, LacpSwitch};

/// A scenario's topology on a simulator at time zero, its timeline not played: for tests and
/// benchmarks that drive the simulator themselves ([`Script::lab`]).
pub struct Lab {
    /// The simulator.
    pub sim: Sim,
    pub(super) nodes: BTreeMap<String, NodeId>,
    links: Vec<LinkId>,
}

impl Lab {
    /// The node declared as `name`.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.nodes.get(name).copied()
    }

    /// The cable at `port`, written as in the file (`"hostA:eth0"`, `"sw1:p1"`).
    pub fn link(&self, port: &str) -> Option<LinkId> {
        let (node, port) = port.split_once(':')?;
        let p = resolve(&self.sim, &self.nodes, &PortName::new(node, port)).ok()?;
        self.sim.link_of(p)
    }

    /// Every cable, in file order.
    pub fn links(&self) -> &[LinkId] {
        &self.links
    }

    /// The port `p` names, or why there is none.
    pub(super) fn resolve(&self, p: &PortName) -> Result<PortRef, String> {
        resolve(&self.sim, &self.nodes, p)
    }
}

/// Which links a run captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Capture {
    /// None.
    None,
    /// Those marked `capture = true` (named after end `a`).
    Marked,
    /// Every one (named `A_B` after both ends).
    All,
}

/// The built topology and what the run needs besides.
pub(super) struct Built {
    pub lab: Lab,
    /// The outcome of writing the bridges' `group_fwd_mask`.
    pub checks: Vec<GoalCheck>,
    /// The links captured, by capture name.
    pub captures: Vec<(String, LinkId)>,
    /// Each flow with its sending and receiving host.
    pub flows: Vec<(FlowSpec, NodeId, NodeId)>,
}

impl Script {
    /// Builds the topology on a simulator seeded with `seed`, its timeline not played.
    pub fn lab(&self, seed: u64) -> Result<Lab, ScriptError> {
        self.build(seed, Capture::None).map(|b| b.lab)
    }

    /// Checks what the types do not say (ranges, counts), then builds the topology once:
    /// names, ports and bond options are checked there.
    pub(super) fn validate(&self) -> Result<(), ScriptError> {
        let counts = [
            self.hosts.len() + self.bridges.len() + self.switches.len(),
            self.links.len(),
            self.flows.len(),
            self.events.len(),
            self.goals.len(),
        ];
        if counts.iter().any(|&n| n > MAX_ITEMS) {
            return Err(self.err(0..0, format!("more than {MAX_ITEMS} items of one kind")));
        }
        for e in &self.events {
            match &e.get_ref().action {
                Action::Loss(l) if !(0.0..=1.0).contains(&l.p) => {
                    return Err(self.err(e.span(), "loss: p is a probability in 0..=1"));
                }
                Action::Flap(f)
                    if f.count == 0
                        || f.count > MAX_FLAPS
                        || f.period.0 < Duration::from_micros(2) =>
                {
                    return Err(self.err(
                        e.span(),
                        format!("flap: count 1 to {MAX_FLAPS}, period at least 2us"),
                    ));
                }
                _ => {}
            }
        }
        for g in &self.goals {
            let v = g.get_ref();
            match &v.goal {
                Goal::Ping(_) | Goal::Flow(_) if v.at.is_some() => {
                    return Err(self.err(
                        g.span(),
                        "ping and flow goals are checked at the end of the run: remove `at`",
                    ));
                }
                Goal::Flow(f) if f.delivered.is_some_and(|p| !(0.0..=100.0).contains(&p)) => {
                    return Err(self.err(g.span(), "delivered is a percentage in 0..=100"));
                }
                _ => {}
            }
        }
        for f in &self.flows {
            let v = f.get_ref();
            if v.rate == 0 || (v.count.is_some() == v.duration.is_some()) {
                return Err(self.err(
                    f.span(),
                    format!(
                        "flow `{}`: give a rate above 0 and exactly one of count or duration",
                        v.name
                    ),
                ));
            }
            if v.frames() > MAX_FLOW_COUNT {
                return Err(self.err(
                    f.span(),
                    format!("flow `{}`: more than {MAX_FLOW_COUNT} frames", v.name),
                ));
            }
        }
        for l in &self.links {
            if let Some(p) = l.get_ref().loss {
                if !(0.0..=1.0).contains(&p) {
                    return Err(self.err(l.span(), "loss is a probability in 0..=1"));
                }
            }
        }
        self.build(self.seed, Capture::None).map(|_| ())
    }

    /// Builds the topology on a simulator seeded with `seed`, capturing the links `capture`
    /// says; checks every name the timeline and the goals use.
    pub(super) fn build(&self, seed: u64, capture: Capture) -> Result<Built, ScriptError> {
        let mut sim = Sim::new(seed);
        let mut nodes: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut checks = Vec::new();
        let mut k = 0usize;
        let mut declare = |name: &str, span: Range<usize>, nodes: &BTreeMap<String, NodeId>| {
            k += 1;
            if name.is_empty() || name.contains(':') {
                return Err(
                    self.err(span, format!("`{name}`: a node name is non-empty, without `:`"))
                );
            }
            if nodes.contains_key(name) {
                return Err(
                    self.err(span, format!("`{name}` is already declared: names are unique"))
                );
            }
            Ok(u8::try_from(k).unwrap_or(u8::MAX))
        };
        for h in &self.hosts {
            let spec = h.get_ref();
            let n = declare(&spec.name, h.span(), &nodes)?;
            let model = nic_model(&spec.model).ok_or_else(|| {
                self.err(
                    h.span(),
                    format!(
                        "{}: unknown NIC model `{}` (e1000, virtio, virtio@SPEED)",
                        spec.name, spec.model
                    ),
                )
            })?;
            if spec.nics.is_empty() || spec.nics.len() > MAX_PORTS {
                return Err(
                    self.err(h.span(), format!("{}: give 1 to {MAX_PORTS} NICs", spec.name))
                );
            }
            let mut o = BondOptions::new();
            // The mode and the monitors first (other options depend on them, as with sysfs
            // writes), then the rest in name order.
            let mut opts: Vec<_> = spec.bond.iter().collect();
            opts.sort_by_key(|(name, _)| {
                FIRST_OPTIONS.iter().position(|f| f == name).unwrap_or(FIRST_OPTIONS.len())
            });
            for (name, value) in opts {
                o.set(name, &value.get_ref().to_string(), &SetContext::new()).map_err(|e| {
                    self.err(value.span(), format!("{}: bond option {name}: {e}", spec.name))
                })?;
            }
            let list: Vec<(&str, NicModel, MacAddr)> = spec
                .nics
                .iter()
                .enumerate()
                .map(|(i, nic)| {
                    let mac =
                        MacAddr([0x52, 0x54, 0, 0, n, u8::try_from(i + 1).unwrap_or(u8::MAX)]);
                    (nic.as_str(), model, mac)
                })
                .collect();
            let mut host = Host::new(&spec.name, "bond0", o, &list, spec.ip)
                .map_err(|e| self.err(h.span(), format!("{}: {e}", spec.name)))?;
            if let Some(ppm) = spec.clock_ppm {
                if ppm.abs() > MAX_CLOCK_PPM {
                    return Err(self.err(
                        h.span(),
                        format!("{}: clock_ppm is at most {MAX_CLOCK_PPM} either way", spec.name),
                    ));
                }
                host.set_clock_ppm(ppm);
            }
            let id = sim.add_node(Node::Host(Box::new(host)));
            nodes.insert(spec.name.clone(), id);
        }
        for b in &self.bridges {
            let spec = b.get_ref();
            declare(&spec.name, b.span(), &nodes)?;
            if spec.ports == 0 || spec.ports > MAX_PORTS {
                return Err(
                    self.err(b.span(), format!("{}: give 1 to {MAX_PORTS} ports", spec.name))
                );
            }
            let mut br = if spec.patched {
                LinuxBridge::patched(&spec.name, spec.ports)
            } else {
                LinuxBridge::new(&spec.name, spec.ports)
            };
            if let Some(t) = spec.ageing {
                br.set_ageing(t.0);
            }
            if let Some(mask) = spec.group_fwd_mask {
                let res = br.set_group_fwd_mask(mask);
                checks.push(GoalCheck {
                    goal: format!("{}: group_fwd_mask={mask:#x}", spec.name),
                    ok: res.is_ok(),
                    detail: res.map_or_else(|e| e.to_string(), |()| "accepted".to_string()),
                });
            }
            let id = sim.add_node(Node::Bridge(br));
            nodes.insert(spec.name.clone(), id);
        }
        for s in &self.switches {
            let spec = s.get_ref();
            let n = declare(&spec.name, s.span(), &nodes)?;
            if spec.ports == 0 || spec.ports > MAX_PORTS {
                return Err(
                    self.err(s.span(), format!("{}: give 1 to {MAX_PORTS} ports", spec.name))
                );
            }
            let mut groups = Vec::new();
            for g in &spec.channels {
                let mut group = Vec::new();
                for &p in g {
                    if p == 0 || p > spec.ports {
                        return Err(self.err(
                            s.span(),
                            format!("{}: channel port {p} outside 1..={}", spec.name, spec.ports),
                        ));
                    }
                    group.push(p - 1);
                }
                groups.push(group);
            }
            let groups: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
            let mut o = switch_bond_options();
            let mut opts: Vec<_> = spec.bond.iter().collect();
            opts.sort_by_key(|(name, _)| {
                FIRST_OPTIONS.iter().position(|f| f == name).unwrap_or(FIRST_OPTIONS.len())
            });
            for (name, value) in opts {
                o.set(name, &value.get_ref().to_string(), &SetContext::new()).map_err(|e| {
                    self.err(value.span(), format!("{}: bond option {name}: {e}", spec.name))
                })?;
            }
            let sw = LacpSwitch::new(
                &spec.name,
                MacAddr([0x02, 0x5a, 0, 0, n, 0]),
                spec.ports,
                &groups,
                &o,
            )
            .map_err(|e| {
                self.err(s.span(), format!("{}: {e} (a port in two channels?)", spec.name))
            })?;
            let id = sim.add_node(Node::Switch(Box::new(sw)));
            nodes.insert(spec.name.clone(), id);
        }
        let mut captures = Vec::new();
        let mut links = Vec::new();
        for l in &self.links {
            let spec = l.get_ref();
            let pa = resolve(&sim, &nodes, &spec.a).map_err(|m| self.err(l.span(), m))?;
            let pb = resolve(&sim, &nodes, &spec.b).map_err(|m| self.err(l.span(), m))?;
            if pa == pb || sim.link_of(pa).is_some() || sim.link_of(pb).is_some() {
                return Err(self.err(
                    l.span(),
                    format!("{} or {} is already linked: one cable per port", spec.a, spec.b),
                ));
            }
            let id = sim.connect(pa, pb);
            let dflt = Duration::from_micros(1);
            sim.set_latency(
                id,
                spec.latency.map_or(dflt, |t| t.0),
                spec.jitter.map_or(dflt, |t| t.0),
            );
            if let Some(r) = spec.rate {
                let q = spec.queue.unwrap_or(crate::sim::DEFAULT_LINK_QUEUE);
                if q == 0 || q > MAX_LINK_QUEUE {
                    return Err(self.err(l.span(), format!("queue: 1 to {MAX_LINK_QUEUE} frames")));
                }
                sim.set_rate(id, r.0, q);
            } else if spec.queue.is_some() {
                return Err(self.err(l.span(), "queue needs a rate (rate = \"100Mbit\")"));
            }
            if let Some(p) = spec.loss {
                sim.set_loss(id, p);
            }
            let name = match capture {
                Capture::All => Some(format!("{}_{}", spec.a, spec.b)),
                Capture::Marked if spec.capture => Some(spec.a.to_string()),
                Capture::Marked | Capture::None => None,
            };
            if let Some(name) = name {
                sim.start_capture(id);
                captures.push((name, id));
            }
            links.push(id);
        }
        let host_named = |name: &str, span: Range<usize>| -> Result<NodeId, ScriptError> {
            match nodes.get(name) {
                Some(&id) if matches!(sim.node(id), Node::Host(_)) => Ok(id),
                Some(_) => Err(self.err(span, format!("`{name}` is not a host"))),
                None => {
                    Err(self
                        .err(span, format!("no host named `{name}`{}", did_you_mean(name, &nodes))))
                }
            }
        };
        let mut flows = Vec::new();
        let mut flow_names = BTreeMap::new();
        for f in &self.flows {
            let spec = f.get_ref();
            let a = host_named(&spec.from, f.span())?;
            let b = host_named(&spec.to, f.span())?;
            if flow_names.insert(spec.name.clone(), ()).is_some() {
                return Err(self.err(f.span(), format!("flow `{}` is already declared", spec.name)));
            }
            flows.push((spec.clone(), a, b));
        }
        for e in &self.events {
            let span = e.span();
            let linked = |port: &PortName| -> Result<(), ScriptError> {
                let p = resolve(&sim, &nodes, port).map_err(|m| self.err(span.clone(), m))?;
                match sim.link_of(p) {
                    Some(_) => Ok(()),
                    None => Err(self.err(span.clone(), format!("{port} is not linked"))),
                }
            };
            match &e.get_ref().action {
                Action::Ping(p) => {
                    host_named(&p.from, span.clone())?;
                    host_named(&p.to, span.clone())?;
                }
                Action::Down(p) | Action::Up(p) | Action::Oneway(p) | Action::Repair(p) => {
                    linked(p)?;
                }
                Action::Loss(l) => linked(&l.port)?,
                Action::Flap(f) => linked(&f.port)?,
                Action::BridgeDown(br) | Action::BridgeUp(br) => {
                    match nodes.get(br.as_str()).map(|id| sim.node(*id)) {
                        Some(Node::Bridge(_)) => {}
                        _ => return Err(self.err(span, format!("no bridge named `{br}`"))),
                    }
                }
            }
        }
        for g in &self.goals {
            let span = g.span();
            let node_named = |name: &str| match nodes.contains_key(name) {
                true => Ok(()),
                false => Err(self.err(
                    span.clone(),
                    format!("no node named `{name}`{}", did_you_mean(name, &nodes)),
                )),
            };
            match &g.get_ref().goal {
                Goal::Report(c) => node_named(&c.node)?,
                // `link` names the cables' own timeline lines (carrier, one-way failures).
                Goal::Timeline(c) if c.node != "link" => node_named(&c.node)?,
                Goal::Timeline(_) | Goal::Converged(_) => {}
                Goal::Negotiated(name) => node_named(name)?,
                Goal::AggregatorsDiffer(host) => {
                    host_named(host, span)?;
                }
                Goal::ActiveAggregator(a) => {
                    host_named(&a.host, span)?;
                }
                Goal::Ping(p) => {
                    host_named(&p.host, span)?;
                }
                Goal::Flow(f) => {
                    if !flow_names.contains_key(&f.name) {
                        return Err(self.err(span, format!("no flow named `{}`", f.name)));
                    }
                }
            }
        }
        Ok(Built { lab: Lab { sim, nodes, links }, checks, captures, flows })
    }
}

fn did_you_mean(name: &str, nodes: &BTreeMap<String, NodeId>) -> String {
    nodes
        .keys()
        .find(|k| {
            let mut stem = k.chars();
            stem.next_back();
            k.eq_ignore_ascii_case(name)
                || (k.chars().count() > 2 && name.starts_with(stem.as_str()))
        })
        .map_or_else(
            || format!(" (declared: {})", nodes.keys().cloned().collect::<Vec<_>>().join(", ")),
            |k| format!(" (did you mean `{k}`?)"),
        )
}

fn nic_model(w: &str) -> Option<NicModel> {
    match w {
        "e1000" => Some(NicModel::E1000),
        "virtio" => Some(NicModel::Virtio { speed_mbps: None }),
        _ => w
            .strip_prefix("virtio@")
            .and_then(|s| s.parse().ok())
            .map(|s| NicModel::Virtio { speed_mbps: Some(s) }),
    }
}

fn resolve(sim: &Sim, nodes: &BTreeMap<String, NodeId>, p: &PortName) -> Result<PortRef, String> {
    let node = *nodes
        .get(&p.node)
        .ok_or_else(|| format!("no node named `{}`{}", p.node, did_you_mean(&p.node, nodes)))?;
    let port = match sim.node(node) {
        Node::Host(h) => (0..h.port_count()).find(|&i| h.nic_name(i) == p.port),
        other => p
            .port
            .strip_prefix('p')
            .and_then(|x| x.parse::<usize>().ok())
            .filter(|&x| x >= 1 && x <= other.port_count())
            .map(|x| x - 1),
    };
    let port = port.ok_or_else(|| match sim.node(node) {
        Node::Host(h) => format!(
            "`{}` has no NIC `{}` (it has {})",
            p.node,
            p.port,
            (0..h.port_count()).map(|i| h.nic_name(i)).collect::<Vec<_>>().join(", ")
        ),
        other => format!("`{}` has no port `{}` (p1 to p{})", p.node, p.port, other.port_count()),
    })?;
    Ok(PortRef { node, port })
}
