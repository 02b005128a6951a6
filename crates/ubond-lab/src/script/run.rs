//! Playing a scenario: its timeline of flows, events and timed goals on the simulator, in
//! one agenda; the end-of-run goals and the invariants last.

use std::time::Duration;

use ubond_core::time::Instant;

use super::build::{Built, Capture, Lab};
use super::spec::Action;
use super::values::PortName;
use super::{Script, ScriptError};
use crate::scenario::{GoalCheck, ScenarioResult};
use crate::sim::{LinkId, Node};

/// One step of the agenda. At one instant the steps run in this order: goals first (they
/// see the state just before that instant's actions), then flow starts, then events in file
/// order, then the flaps' halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Goal(usize),
    FlowStart(usize),
    Event(usize),
    FlapDown(usize),
    FlapUp(usize),
}

impl Script {
    /// Builds the topology and plays the scenario with PRNG seed `seed`.
    pub fn run(&self, seed: u64) -> Result<ScenarioResult, ScriptError> {
        self.run_capturing(seed, false)
    }

    /// [`Script::run`], capturing every link if `all_links` (the captures are named
    /// `A_B` after the link's ends), else the links marked `capture` (named after end `a`).
    /// Captures do not change the run.
    pub fn run_capturing(&self, seed: u64, all_links: bool) -> Result<ScenarioResult, ScriptError> {
        let capture = if all_links { Capture::All } else { Capture::Marked };
        let Built { mut lab, mut checks, captures, flows } = self.build(seed, capture)?;
        let mut agenda: Vec<(Duration, Step)> = Vec::new();
        for (i, g) in self.goals.iter().enumerate() {
            if let Some(t) = g.get_ref().at {
                agenda.push((t.0, Step::Goal(i)));
            }
        }
        for (i, (f, _, _)) in flows.iter().enumerate() {
            agenda.push((f.start.0, Step::FlowStart(i)));
        }
        for (i, e) in self.events.iter().enumerate() {
            let e = e.get_ref();
            agenda.push((e.at.0, Step::Event(i)));
            // A flap: down at the start of each period, up at its middle.
            if let Action::Flap(f) = &e.action {
                for k in 0..f.count {
                    let t = e.at.0 + f.period.0 * k;
                    agenda.push((t, Step::FlapDown(i)));
                    agenda.push((t + f.period.0 / 2, Step::FlapUp(i)));
                }
            }
        }
        agenda.sort();
        for (t, step) in agenda {
            lab.sim.run_until(Instant::ZERO + t);
            if lab.sim.violation().is_some() {
                break;
            }
            match step {
                Step::Goal(i) => checks.push(self.check(&lab, &flows, i)),
                Step::FlowStart(i) => {
                    let (f, a, b) = &flows[i];
                    let now = lab.sim.now();
                    let ip = lab.sim.host(*b).ip();
                    let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    let size = f.size.unwrap_or(100);
                    lab.sim.host_mut(*a).start_flow(now, id, ip, f.rate, f.frames(), size);
                    lab.sim.poke(*a);
                }
                Step::FlapDown(i) | Step::FlapUp(i) => {
                    if let Action::Flap(f) = &self.events[i].get_ref().action {
                        if let Some(l) = cable(&lab, &f.port) {
                            lab.sim.set_carrier(l, matches!(step, Step::FlapUp(_)));
                        }
                    }
                }
                Step::Event(i) => act(&mut lab, &self.events[i].get_ref().action),
            }
        }
        if lab.sim.violation().is_none() {
            lab.sim.run_until(Instant::ZERO + self.duration());
        }
        for (i, g) in self.goals.iter().enumerate() {
            if g.get_ref().at.is_none() {
                checks.push(self.check(&lab, &flows, i));
            }
        }
        let sim = &lab.sim;
        checks.push(GoalCheck {
            goal: "invariants held after every step".to_string(),
            ok: sim.violation().is_none(),
            detail: sim.violation().unwrap_or("none violated").to_string(),
        });
        let reports = lab
            .nodes
            .iter()
            .filter_map(|(name, id)| match sim.node(*id) {
                Node::Host(h) => Some((name.clone(), h.proc_report())),
                _ => None,
            })
            .collect();
        Ok(ScenarioResult {
            scenario: 0,
            title: self.title.clone(),
            seed,
            timeline: sim.timeline().to_vec(),
            reports,
            checks,
            digest: sim.digest(),
            stats: sim.stats(),
            elapsed: sim.now().saturating_duration_since(Instant::ZERO),
            captures: captures.into_iter().map(|(name, l)| (name, sim.pcap(l))).collect(),
        })
    }
}

/// The cable at `port` (checked when the file was read).
fn cable(lab: &Lab, port: &PortName) -> Option<LinkId> {
    lab.resolve(port).ok().and_then(|p| lab.sim.link_of(p))
}

/// Does what an event says, now.
fn act(lab: &mut Lab, action: &Action) {
    let now = lab.sim.now();
    match action {
        Action::Ping(p) => {
            if let (Some(a), Some(b)) = (lab.node(&p.from), lab.node(&p.to)) {
                let ip = lab.sim.host(b).ip();
                lab.sim.host_mut(a).start_ping(now, ip, p.interval.0, p.count);
                lab.sim.poke(a);
            }
        }
        Action::Down(port) | Action::Up(port) => {
            if let Some(l) = cable(lab, port) {
                lab.sim.set_carrier(l, matches!(action, Action::Up(_)));
            }
        }
        Action::Oneway(port) | Action::Repair(port) => {
            if let Ok(p) = lab.resolve(port) {
                if let Some(l) = lab.sim.link_of(p) {
                    let from_a = lab.sim.link(l).a == p;
                    lab.sim.set_one_way_failure(l, from_a, matches!(action, Action::Oneway(_)));
                }
            }
        }
        Action::Loss(loss) => {
            if let Some(l) = cable(lab, &loss.port) {
                lab.sim.set_loss(l, loss.p);
            }
        }
        Action::BridgeDown(br) | Action::BridgeUp(br) => {
            if let Some(id) = lab.node(br) {
                let up = matches!(action, Action::BridgeUp(_));
                lab.sim.bridge_mut(id).set_up(up);
                lab.sim.record_note(br, if up { "up" } else { "down" });
            }
        }
        // Flaps run as their own steps.
        Action::Flap(_) => {}
    }
}
