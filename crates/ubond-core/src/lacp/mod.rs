//! IEEE 802.1AX Link Aggregation Control Protocol for one bond (Linux bonding mode 802.3ad).
//!
//! [`Lacp`] holds a bond's aggregation ports and aggregators and runs, for every port, the
//! machines of IEEE 802.1AX-2014 clause 6.4 and the Marker responder of 6.5, one module each:
//! [`receive`], [`periodic`], [`selection`], [`mux`], [`transmit`], [`churn`], [`marker`].
//! Each module has a pure `next_state` (a `match` on the state and the machine's inputs, with
//! a table test citing the clause of every row) and the actions that follow (`enter`). It
//! follows the Linux driver (`drivers/net/bonding/bond_3ad.c`) wherever the driver refines or
//! departs from the standard, so that a ubond bond and a kernel bond behave alike on the wire
//! and in the report; the departures are listed in the module docs where they happen.
//!
//! # Driver contract
//!
//! `Lacp` is sans-IO: it opens no socket, reads no clock and starts no thread.
//!
//! * **Inputs**: [`Lacp::add_port`], [`Lacp::remove_port`], [`Lacp::handle_link`] (carrier,
//!   speed, duplex), [`Lacp::handle_frame`] (every received frame whose EtherType is 0x8809),
//!   [`Lacp::handle_timeout`] and the `set_*` commands. Each takes `now`.
//! * **Outputs**: after every input, drain [`Lacp::poll_transmit`] (frames to send on a port:
//!   LACPDUs and Marker Responses, complete Ethernet frames) and [`Lacp::poll_event`] (state
//!   changes, warnings), then ask [`Lacp::poll_timeout`] when to call
//!   [`Lacp::handle_timeout`] next. Both queues are bounded: frames or events beyond
//!   [`TX_QUEUE_LIMIT`] / [`EVENT_QUEUE_LIMIT`] are dropped and counted.
//! * **Queries** (no side effects, for the data path and the report):
//!   [`Lacp::distributing_ports`], [`Lacp::is_collecting`], [`Lacp::carrier`],
//!   [`Lacp::port_status`], [`Lacp::aggregators`].
//! * **Checks**: [`Lacp::check_invariants`] after any input says whether the bond's
//!   invariants hold (the core's tests and the lab call it after every step).
//! * **Time** is an [`Instant`] chosen by the driver. It must not go backwards; if it does, the
//!   core keeps using the latest time it saw. Calling `handle_timeout` late is harmless (the
//!   machines catch up); calling it early does nothing.
//!
//! # Example
//!
//! ```
//! use ubond_core::lacp::{Lacp, LacpConfig, LinkState, PortConfig, TX_COALESCE};
//! use ubond_core::time::Instant;
//! use ubond_wire::MacAddr;
//!
//! let mut lacp = Lacp::new(LacpConfig { lacp_fast: true, ..LacpConfig::new(MacAddr([2, 0, 0, 0, 0, 1])) });
//! let now = Instant::ZERO;
//! let eth0 = lacp.add_port(now, PortConfig::new(MacAddr([2, 0, 0, 0, 1, 1])), LinkState::up(1000)).unwrap();
//! // An active port announces itself at once (after the short coalescing window).
//! assert_eq!(lacp.poll_timeout(), Some(now + TX_COALESCE));
//! lacp.handle_timeout(now + TX_COALESCE);
//! let tx = lacp.poll_transmit().unwrap();
//! assert_eq!(tx.port, eth0);
//! assert_eq!(&tx.frame[0..6], &[0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
//! assert!(lacp.poll_timeout().is_some());
//! ```
//!
//! # Inside: one evaluation
//!
//! This module only orchestrates. Every input updates the port it concerns, then
//! `Lacp::run` evaluates the machines to a fixed point: for every port in enslave order,
//! Receive, Periodic Transmission, Selection, Mux and Churn Detection each build their inputs
//! from the port, ask their `next_state` and run its `enter` actions, until a whole pass
//! changes nothing (at most [`MAX_PASSES`] passes; more is a bug, reported as
//! [`Event::Unsettled`]). Then the Transmit machine turns each port's NTT into an LACPDU, and
//! `Lacp::publish` derives what the data path reads: the active aggregator, the distributing
//! ports and the carrier, with an event for each change.
//!
//! An LACPDU's way through: [`Lacp::handle_frame`] checks and parses it and drops a looped
//! one; `Lacp::step_rx` gives it to `receive::enter` (recordPDU, update_Selected,
//! update_NTT); `Lacp::run` lets the other machines react (`selection::enter` attaches an
//! unselected port, `mux::enter` moves it towards COLLECTING_DISTRIBUTING); and
//! `Lacp::step_transmit` queues our answer (`transmit::enter`) for [`Lacp::poll_transmit`].

pub mod churn;
mod config;
mod event;
mod invariants;
pub mod key;
pub mod marker;
pub mod mux;
pub mod periodic;
mod port;
pub mod receive;
pub mod resume;
pub mod selection;
mod status;
pub mod transmit;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use ubond_wire::slow::{self, LacpduRepr, MarkerRepr, PortState, Subtype};
use ubond_wire::MacAddr;

pub use self::churn::ChurnState;
pub use self::config::{Duplex, LacpConfig, LinkState, PortConfig, UnknownSpeed};
pub use self::event::{Event, FrameVerdict, LacpError, Transmit};
pub use self::invariants::InvariantViolation;
pub use self::mux::MuxState;
pub use self::periodic::PeriodicState;
pub use self::port::{LONG_TIMEOUT_TIME, PARTNER_ADMIN_DEFAULTS, SHORT_TIMEOUT_TIME};
pub use self::receive::RxState;
pub use self::resume::PortResume;
pub use self::selection::AdSelect;
pub use self::status::{AggregatorStatus, PortCounters, PortStatus};

use self::churn::Side;
use self::port::Port;
use self::selection::Aggregator;
use crate::time::Instant;

/// Most ports one bond may have. Every loop of the core is bounded by it.
pub const MAX_PORTS: usize = 256;
/// [`LacpConfig::tx_coalesce`]'s default.
pub const TX_COALESCE: Duration = Duration::from_millis(10);
/// Most frames waiting in the transmit queue; more are dropped (and counted).
pub const TX_QUEUE_LIMIT: usize = 1024;
/// Most events waiting in the event queue; more are dropped (and counted).
pub const EVENT_QUEUE_LIMIT: usize = 1024;
/// Most Marker Responses a port sends per second; more Marker Information PDUs are counted
/// and left unanswered, so a flood cannot fill the transmit queue.
pub const MARKER_RESPONSES_PER_SECOND: usize = 5;
/// Bound on evaluation passes after one input: every machine settles within a few passes;
/// the bound only guards against a bug becoming a hang ([`Event::Unsettled`]).
pub const MAX_PASSES: usize = 32;

/// A port handle, stable for the port's life in the bond (never reused by another port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u32);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port#{}", self.0)
    }
}

/// The LACP engine of one bond. See the [module docs](self) for the driver contract.
#[derive(Debug, Clone)]
pub struct Lacp {
    config: LacpConfig,
    ports: Vec<Port>,
    /// `aggs[i]` is the aggregator owned by `ports[i]` (as in Linux, one per slave).
    aggs: Vec<Aggregator>,
    next_port_id: u32,
    last_aggregator_id: u16,
    now: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    carrier: bool,
    active_id: Option<u16>,
    distributing: Vec<PortId>,
    dropped_transmits: u64,
    dropped_events: u64,
    unsettled: u64,
}

impl Lacp {
    /// A bond with no ports.
    pub fn new(config: LacpConfig) -> Lacp {
        Lacp {
            config,
            ports: Vec::new(),
            aggs: Vec::new(),
            next_port_id: 1,
            last_aggregator_id: 0,
            now: Instant::ZERO,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            carrier: false,
            active_id: None,
            distributing: Vec::new(),
            dropped_transmits: 0,
            dropped_events: 0,
            unsettled: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &LacpConfig {
        &self.config
    }

    fn clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn index(&self, id: PortId) -> Result<usize, LacpError> {
        self.ports.iter().position(|p| p.id == id).ok_or(LacpError::UnknownPort(id))
    }

    fn emit(&mut self, event: Event) {
        if self.events.len() >= EVENT_QUEUE_LIMIT {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(event);
    }

    fn send(&mut self, port: PortId, frame: [u8; slow::FRAME_LEN]) -> bool {
        if self.transmits.len() >= TX_QUEUE_LIMIT {
            self.dropped_transmits += 1;
            return false;
        }
        self.transmits.push_back(Transmit { port, frame });
        true
    }

    // ----- inputs ----------------------------------------------------------------------

    /// Enslaves a port (Linux `bond_3ad_bind_slave` followed by the link state). Ports are
    /// numbered from 1 in enslave order, each one after the last port's number; aggregator IDs
    /// count up from 1 and start again when the bond loses its last port.
    pub fn add_port(
        &mut self,
        now: Instant,
        config: PortConfig,
        link: LinkState,
    ) -> Result<PortId, LacpError> {
        let now = self.clock(now);
        if self.ports.len() >= MAX_PORTS {
            return Err(LacpError::TooManyPorts);
        }
        if self.ports.is_empty() {
            self.last_aggregator_id = 0;
        }
        let id = PortId(self.next_port_id);
        self.next_port_id += 1;
        let number = self.ports.last().map_or(1, |p| p.actor_port_number.wrapping_add(1));
        self.ports.push(Port::new(id, number, &config, &self.config));
        self.last_aggregator_id = self.last_aggregator_id.wrapping_add(1);
        self.aggs.push(Aggregator::new(self.last_aggregator_id));
        let p = self.ports.len() - 1;
        self.apply_link(p, link);
        self.run(now);
        Ok(id)
    }

    /// Releases a port (Linux `bond_3ad_unbind_slave`): a last LACPDU tells the partner the
    /// port leaves the aggregation, the port's aggregator hands its other ports to a free
    /// aggregator, and a new active aggregator is chosen if needed.
    pub fn remove_port(&mut self, now: Instant, id: PortId) -> Result<(), LacpError> {
        let now = self.clock(now);
        let p = self.index(id)?;
        let port = &mut self.ports[p];
        for bit in [
            PortState::SYNCHRONIZATION,
            PortState::COLLECTING,
            PortState::DISTRIBUTING,
            PortState::AGGREGATION,
        ] {
            port.actor_oper_state.set(bit, false);
        }
        if transmit::may_transmit(port) {
            let frame = transmit::lacpdu_frame(port.mac, &port.lacpdu());
            if self.send(id, frame) {
                self.ports[p].counters.lacpdu_tx += 1;
            }
        }
        let was_active = selection::unbind(p, &mut self.ports, &mut self.aggs);
        if was_active || !self.aggs.iter().any(|a| a.is_active) {
            self.select_active();
        }
        self.run(now);
        Ok(())
    }

    /// A port's link changed (carrier, speed or duplex): Linux
    /// `bond_3ad_handle_link_change` / `bond_3ad_adapter_speed_duplex_changed`.
    pub fn handle_link(
        &mut self,
        now: Instant,
        id: PortId,
        link: LinkState,
    ) -> Result<(), LacpError> {
        let now = self.clock(now);
        let p = self.index(id)?;
        self.apply_link(p, link);
        self.select_active();
        self.run(now);
        Ok(())
    }

    /// Applies the unknown-speed policy, then the link to the port and its keys.
    fn apply_link(&mut self, p: usize, link: LinkState) {
        let id = self.ports[p].id;
        let (up, speed, full) = match (link.up, link.speed_mbps, link.duplex) {
            (false, _, _) => (false, 0, false),
            (true, Some(speed), Duplex::Full) => (true, speed, true),
            (true, Some(speed), Duplex::Half) => (true, speed, false),
            (true, _, _) => match self.config.unknown_speed {
                UnknownSpeed::Refuse => {
                    self.emit(Event::SpeedDuplexUnknown { port: id, assumed_mbps: None });
                    (false, 0, false)
                }
                UnknownSpeed::Assume(mbps) => {
                    self.emit(Event::SpeedDuplexUnknown { port: id, assumed_mbps: Some(mbps) });
                    (true, mbps, true)
                }
            },
        };
        self.ports[p].set_link(up, speed, full);
    }

    /// A frame arrived on a port. Give it every frame with EtherType 0x8809 (it checks the
    /// destination and subtype itself); other frames are left alone.
    pub fn handle_frame(&mut self, now: Instant, id: PortId, frame: &[u8]) -> FrameVerdict {
        let now = self.clock(now);
        let Ok(p) = self.index(id) else { return FrameVerdict::NotConsumed };
        let is_slow = frame.len() >= 14
            && frame[12..14] == slow::ETHERTYPE.to_be_bytes()
            && frame[0..6] == slow::MULTICAST_ADDR.0;
        if !is_slow {
            return FrameVerdict::NotConsumed;
        }
        let Ok(packet) = slow::Packet::new_checked(&frame[14..]) else {
            self.ports[p].counters.lacpdu_illegal_rx += 1;
            return FrameVerdict::NotConsumed;
        };
        match packet.subtype() {
            Subtype::Lacp => {
                let Ok(pdu) = LacpduRepr::parse(&packet) else {
                    self.ports[p].counters.lacpdu_illegal_rx += 1;
                    return FrameVerdict::Consumed;
                };
                self.ports[p].counters.lacpdu_rx += 1;
                if pdu.actor.system == self.ports[p].actor_system {
                    // 802.1AX-2014 6.4.12 has no loopback check; Linux drops such PDUs
                    // ("An illegal loopback occurred on slave"). So do we, before the
                    // Receive machine, and we count them.
                    self.ports[p].counters.loopback_rx += 1;
                    self.emit(Event::Loopback { port: id });
                    return FrameVerdict::Consumed;
                }
                self.step_rx(p, now, Some(&pdu));
                self.run(now);
            }
            Subtype::Marker => {
                let Ok(marker) = MarkerRepr::parse(&packet) else {
                    return FrameVerdict::Consumed;
                };
                self.step_marker(p, now, &marker);
            }
            Subtype::Other(_) => {
                self.ports[p].counters.lacpdu_unknown_rx += 1;
                return FrameVerdict::NotConsumed;
            }
        }
        FrameVerdict::Consumed
    }

    /// Time passed: expired timers fire. Call it at [`Lacp::poll_timeout`] (or later).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        self.run(now);
    }

    // ----- outputs ---------------------------------------------------------------------

    /// The next frame to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Lacp::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let coalesce = self.config.tx_coalesce;
        self.ports
            .iter()
            .flat_map(|port| [port.timers.next(), transmit::deadline(port, coalesce, self.now)])
            .flatten()
            .min()
    }

    /// Frames and events dropped because their queues were full.
    pub fn dropped(&self) -> (u64, u64) {
        (self.dropped_transmits, self.dropped_events)
    }

    /// How many times the machines did not settle within [`MAX_PASSES`] passes (always 0 but
    /// for a bug; see [`Event::Unsettled`]).
    pub fn unsettled(&self) -> u64 {
        self.unsettled
    }

    // ----- commands --------------------------------------------------------------------

    /// Changes the actor system (`ad_actor_sys_prio`, `ad_actor_system` or the bond MAC):
    /// Linux `bond_3ad_update_ad_actor_settings`.
    pub fn set_system(&mut self, now: Instant, priority: u16, system: MacAddr) {
        let now = self.clock(now);
        self.config.system_priority = priority;
        self.config.system = system;
        for port in &mut self.ports {
            port.actor_system = system;
            port.actor_system_priority = priority;
            port.ntt = true;
        }
        self.run(now);
    }

    /// Changes `lacp_rate` (Linux `bond_3ad_update_lacp_rate`).
    pub fn set_lacp_rate(&mut self, now: Instant, fast: bool) {
        let now = self.clock(now);
        self.config.lacp_fast = fast;
        for port in &mut self.ports {
            port.actor_oper_state.set(PortState::TIMEOUT, fast);
            port.ntt = true;
        }
        self.run(now);
    }

    /// Changes `lacp_active` (Linux `bond_3ad_update_lacp_active`).
    pub fn set_lacp_active(&mut self, now: Instant, active: bool) {
        let now = self.clock(now);
        self.config.lacp_active = active;
        for port in &mut self.ports {
            port.actor_oper_state.set(PortState::ACTIVITY, active);
            port.ntt = true;
        }
        self.run(now);
    }

    /// Changes a port's `actor_port_prio`.
    pub fn set_port_priority(
        &mut self,
        now: Instant,
        id: PortId,
        priority: u16,
    ) -> Result<(), LacpError> {
        let now = self.clock(now);
        let p = self.index(id)?;
        self.ports[p].actor_port_priority = priority;
        self.ports[p].ntt = true;
        self.select_active();
        self.run(now);
        Ok(())
    }

    // ----- the machines ----------------------------------------------------------------

    /// Runs every machine of every port until nothing changes, then the Transmit machine, then
    /// publishes data-path changes.
    fn run(&mut self, now: Instant) {
        let settled = self.settle(now, MAX_PASSES);
        if !settled {
            self.report_unsettled();
        }
        debug_assert!(settled, "the LACP machines did not settle within {MAX_PASSES} passes");
        self.step_transmit(now);
        self.publish();
    }

    /// The machines did not settle: a bug, counted and told (the next input continues).
    fn report_unsettled(&mut self) {
        self.unsettled += 1;
        self.emit(Event::Unsettled);
    }

    /// Evaluates the machines, port after port, until a whole pass changes nothing (true) or
    /// `max_passes` passes are done (false).
    fn settle(&mut self, now: Instant, max_passes: usize) -> bool {
        for _ in 0..max_passes {
            let mut changed = false;
            for p in 0..self.ports.len() {
                changed |= self.step_rx(p, now, None);
                changed |= self.step_periodic(p, now);
                changed |= self.step_selection(p);
                changed |= self.step_mux(p, now);
                changed |= self.step_churn(p, now);
            }
            for port in &mut self.ports {
                port.begin = false;
            }
            if !changed {
                return true;
            }
        }
        false
    }

    /// The Receive machine; `pdu` is the LACPDU being received, if any.
    fn step_rx(&mut self, p: usize, now: Instant, pdu: Option<&LacpduRepr>) -> bool {
        let port = &mut self.ports[p];
        let state = port.rx;
        let inputs = receive::inputs(port, pdu.is_some(), now);
        let Some(next) = receive::next_state(state, inputs) else { return false };
        receive::enter(next, port, pdu, now);
        if next != state {
            let id = port.id;
            self.emit(Event::Rx { port: id, state: next });
        }
        true
    }

    fn step_periodic(&mut self, p: usize, now: Instant) -> bool {
        let port = &mut self.ports[p];
        let Some(next) = periodic::next_state(port.periodic, periodic::inputs(port, now)) else {
            return false;
        };
        periodic::enter(next, port, now);
        true
    }

    fn step_selection(&mut self, p: usize) -> bool {
        let inputs = selection::inputs(p, &self.ports);
        let Some(choice) = selection::next_state(&inputs, &self.aggs) else { return false };
        let policy = self.config.ad_select;
        let (a, no_partner_response) =
            selection::enter(choice, p, policy, &mut self.ports, &mut self.aggs);
        let (port, aggregator) = (self.ports[p].id, self.aggs[a].id);
        self.emit(Event::Selected { port, aggregator });
        if no_partner_response {
            self.emit(Event::NoPartnerResponse);
        }
        true
    }

    /// Chooses the active aggregator again (Linux `ad_agg_selection_logic`).
    fn select_active(&mut self) {
        let policy = self.config.ad_select;
        if selection::select_active(policy, &mut self.ports, &mut self.aggs) {
            self.emit(Event::NoPartnerResponse);
        }
    }

    fn step_mux(&mut self, p: usize, now: Instant) -> bool {
        let (early, coupled) = (self.config.early_attach, self.config.coupled_control);
        let inputs = mux::inputs(p, &self.ports, &self.aggs, early, coupled, now);
        let port = &mut self.ports[p];
        // The Collecting gate holds in every state; then the table.
        let gate_changed = mux::gate(port, &inputs);
        let Some(step) = mux::next_state(port.mux, inputs) else { return gate_changed };
        mux::enter(step, port, &inputs, self.config.aggregate_wait, now);
        if let mux::MuxStep::Enter(state) = step {
            let id = port.id;
            self.emit(Event::Mux { port: id, state });
        }
        true
    }

    /// Both Churn Detection machines; they share the Receive machine's trigger.
    fn step_churn(&mut self, p: usize, now: Instant) -> bool {
        let mut changed = false;
        let trigger = std::mem::take(&mut self.ports[p].churn_trigger);
        for side in Side::BOTH {
            let port = &mut self.ports[p];
            let state = churn::state(port, side);
            let inputs = churn::inputs(port, side, trigger, now);
            let Some(next) = churn::next_state(state, inputs) else { continue };
            churn::enter(next, side, port, now);
            if next != state {
                let id = port.id;
                self.emit(Event::Churn { port: id, actor: side == Side::Actor, state: next });
                changed = true;
            }
        }
        changed
    }

    /// The Transmit machine of every port, once the others have settled.
    fn step_transmit(&mut self, now: Instant) {
        let coalesce = self.config.tx_coalesce;
        for p in 0..self.ports.len() {
            let port = &mut self.ports[p];
            let Some(step) = transmit::next_state(transmit::inputs(port, coalesce, now)) else {
                continue;
            };
            let Some(frame) = transmit::enter(step, port, now) else { continue };
            let id = port.id;
            if self.send(id, frame) {
                transmit::sent(&mut self.ports[p], now);
            }
        }
    }

    /// The Marker responder, for a Marker PDU received on port `p`.
    fn step_marker(&mut self, p: usize, now: Instant, marker: &MarkerRepr) {
        let port = &mut self.ports[p];
        let step = marker::next_state(marker::inputs(port, marker, now));
        let Some(frame) = marker::enter(step, port, marker, now) else { return };
        let id = port.id;
        if self.send(id, frame) {
            self.ports[p].counters.marker_resp_tx += 1;
        }
    }

    /// Recomputes the active aggregator, the distributing set and the carrier, and says so
    /// when they change.
    fn publish(&mut self) {
        let active = self.aggs.iter().position(|a| a.is_active);
        let active_id = active.map(|a| self.aggs[a].id);
        if active_id != self.active_id {
            self.active_id = active_id;
            self.emit(Event::ActiveAggregator { id: active_id });
        }
        // The active aggregator's ports that carry frames (the Mux machine's Collecting gate),
        // in enslave order; a new list only when it changed.
        let carrying = |a: usize| {
            let ports = self.ports.iter();
            ports.filter(move |q| q.aggregator == Some(a) && q.carries_frames).map(|q| q.id)
        };
        let unchanged = match active {
            Some(a) => carrying(a).eq(self.distributing.iter().copied()),
            None => self.distributing.is_empty(),
        };
        if !unchanged {
            self.distributing = active.map_or_else(Vec::new, |a| carrying(a).collect());
            self.emit(Event::DistributionChanged);
        }
        let carrier = active.is_some_and(|a| {
            selection::active_ports(&self.aggs[a], &self.ports) as u64
                >= u64::from(self.config.min_links)
        });
        if carrier != self.carrier {
            self.carrier = carrier;
            self.emit(Event::Carrier { up: carrier });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_that_does_not_settle_is_counted_and_reported() {
        let mut lacp = Lacp::new(LacpConfig::new(MacAddr([2, 0, 0, 0, 0, 1])));
        // A port enslaved behind the machines' back: BEGIN takes them several passes.
        let config = PortConfig::new(MacAddr([2, 0, 0, 0, 1, 1]));
        lacp.ports.push(Port::new(PortId(1), 1, &config, &lacp.config));
        lacp.aggs.push(Aggregator::new(1));
        lacp.ports[0].set_link(true, 1000, true);
        assert!(!lacp.settle(Instant::ZERO, 1), "one pass is not enough");
        assert_eq!(lacp.check_invariants(), Ok(()));
        lacp.report_unsettled();
        assert_eq!(lacp.unsettled(), 1);
        assert!(std::iter::from_fn(|| lacp.poll_event()).any(|e| e == Event::Unsettled));
        assert_eq!(lacp.check_invariants(), Err(InvariantViolation::Unsettled { count: 1 }));
        assert!(lacp.settle(Instant::ZERO, MAX_PASSES), "the machines settle in the end");
    }
}
