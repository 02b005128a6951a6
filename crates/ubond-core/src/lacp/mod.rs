//! IEEE 802.1AX Link Aggregation Control Protocol for one bond (Linux bonding mode 802.3ad).
//!
//! [`Lacp`] holds a bond's aggregation ports and aggregators and runs, for every port, the
//! machines of IEEE 802.1AX-2014 clause 6.4, one module each: [`receive`], [`periodic`],
//! [`selection`], [`mux`], [`transmit`], [`churn`], plus the Marker responder (6.5).
//! It follows the Linux driver (`drivers/net/bonding/bond_3ad.c`) wherever the driver refines
//! or departs from the standard, so that a ubond bond and a kernel bond behave alike on the
//! wire and in the report; the departures are listed in the module docs where they happen.
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

pub mod churn;
pub mod key;
pub mod mux;
pub mod periodic;
mod port;
pub mod receive;
pub mod selection;
pub mod transmit;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use ubond_wire::slow::{self, LacpduRepr, MarkerKind, MarkerRepr, PortInfo, PortState, Subtype};
use ubond_wire::MacAddr;

pub use self::churn::ChurnState;
pub use self::mux::MuxState;
pub use self::periodic::PeriodicState;
pub use self::port::{LONG_TIMEOUT_TIME, PARTNER_ADMIN_DEFAULTS, SHORT_TIMEOUT_TIME};
pub use self::receive::RxState;
pub use self::selection::AdSelect;

use self::port::{Port, PortTimer};
use self::selection::Aggregator;
use crate::time::{Instant, TimerTable};

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
/// the bound only guards against a bug becoming a hang.
const MAX_PASSES: usize = 32;

/// What to do with a port whose driver reports no speed or no duplex (virtio, some USB NICs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnknownSpeed {
    /// The Linux behaviour: the port is kept down for 802.3ad ("failed to get link
    /// speed/duplex").
    Refuse,
    /// Assume this speed in Mbit/s and full duplex, with a warning event, so that virtual NICs
    /// can aggregate.
    Assume(u32),
}

impl Default for UnknownSpeed {
    /// `Assume(10000)`: ubond's home is virtual machines and containers, whose NICs are the
    /// ones that report no speed; refusing them leaves a bond that cannot work at all, while
    /// assuming a speed only lets LACP negotiate with a real partner. 10000 is what veth
    /// reports, so mixed veth/virtio bonds get one key. `Refuse` restores Linux's behaviour.
    fn default() -> Self {
        UnknownSpeed::Assume(10_000)
    }
}

/// Bond-wide LACP settings (the 802.3ad options of Linux bonding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LacpConfig {
    /// `ad_actor_sys_prio` (default 65535).
    pub system_priority: u16,
    /// The actor system ID: `ad_actor_system` if set, else the bond's MAC address.
    pub system: MacAddr,
    /// `lacp_active` (default on): off makes the ports passive.
    pub lacp_active: bool,
    /// `lacp_rate=fast`: ask the partner for a PDU every second (3 s timeout) instead of every
    /// 30 s (90 s timeout).
    pub lacp_fast: bool,
    /// `ad_select`.
    pub ad_select: AdSelect,
    /// `ad_user_port_key` (0..=1023): the upper ten bits of every port's key.
    pub user_port_key: u16,
    /// `coupled_control` (default on).
    pub coupled_control: bool,
    /// `min_links`: the bond has carrier only with at least this many enabled ports in the
    /// active aggregator.
    pub min_links: u32,
    /// Ports whose speed or duplex is unknown.
    pub unknown_speed: UnknownSpeed,
    /// Aggregate_Wait_Time: how long a newly selected port waits for the others (802.1AX: 2 s).
    pub aggregate_wait: Duration,
    /// End a port's Aggregate_Wait_Time early once it cannot change anything: every enabled
    /// port of the bond is selected and has current partner information (so no other link can
    /// still join an aggregator), as `early_ready` explains. On by default: two ubond bonds
    /// aggregate in tens of milliseconds instead of after the standard's (and Linux's) fixed
    /// 2 s; a partner that waits the 2 s still holds the link out of use until it is ready.
    /// Off gives the standard's wait.
    pub early_attach: bool,
    /// How long the Transmit machine holds a LACPDU after NTT is set, so that what happens
    /// meanwhile (the other ports' LACPDUs arriving a moment later) goes out in the same PDU
    /// instead of costing one of the three allowed per second. Linux's state machines run
    /// every 100 ms, which coalesces the same way; 0 sends at once.
    pub tx_coalesce: Duration,
}

impl LacpConfig {
    /// The Linux defaults, with `system` as the actor system ID.
    pub fn new(system: MacAddr) -> LacpConfig {
        LacpConfig {
            system_priority: 0xffff,
            system,
            lacp_active: true,
            lacp_fast: false,
            ad_select: AdSelect::Stable,
            user_port_key: 0,
            coupled_control: true,
            min_links: 0,
            unknown_speed: UnknownSpeed::default(),
            aggregate_wait: mux::AGGREGATE_WAIT_TIME,
            early_attach: true,
            tx_coalesce: TX_COALESCE,
        }
    }
}

/// Per-port settings given when the port is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    /// The NIC's permanent MAC address (source of our LACPDUs, as in Linux).
    pub mac: MacAddr,
    /// `actor_port_prio` (default 255).
    pub port_priority: u16,
}

impl PortConfig {
    /// A port with the default priority 255.
    pub fn new(mac: MacAddr) -> PortConfig {
        PortConfig { mac, port_priority: 0xff }
    }
}

/// Duplex as the NIC driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duplex {
    /// Full duplex.
    Full,
    /// Half duplex: LACP does not run on the link (it becomes an individual link).
    Half,
    /// The driver does not say.
    Unknown,
}

/// The state of a member link as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkState {
    /// Carrier (and the link monitor's verdict).
    pub up: bool,
    /// Speed in Mbit/s, if known.
    pub speed_mbps: Option<u32>,
    /// Duplex.
    pub duplex: Duplex,
}

impl LinkState {
    /// An up, full-duplex link of `mbps`.
    pub fn up(mbps: u32) -> LinkState {
        LinkState { up: true, speed_mbps: Some(mbps), duplex: Duplex::Full }
    }

    /// A link without carrier.
    pub fn down() -> LinkState {
        LinkState { up: false, speed_mbps: None, duplex: Duplex::Unknown }
    }

    /// An up link whose driver reports neither speed nor duplex (virtio, tap).
    pub fn up_unknown_speed() -> LinkState {
        LinkState { up: true, speed_mbps: None, duplex: Duplex::Unknown }
    }
}

/// A port handle, stable for the port's life in the bond (never reused by another port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u32);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port#{}", self.0)
    }
}

/// Per-port counters. The first nine are those of Linux (`ip -s link xstats type bond`);
/// the last two are ubond's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortCounters {
    /// LACPDUs received.
    pub lacpdu_rx: u64,
    /// LACPDUs sent.
    pub lacpdu_tx: u64,
    /// Slow Protocols frames of a subtype other than LACP and Marker.
    pub lacpdu_unknown_rx: u64,
    /// Slow Protocols frames too short to be an LACPDU or Marker PDU.
    pub lacpdu_illegal_rx: u64,
    /// Marker Information PDUs received.
    pub marker_rx: u64,
    /// Marker Information PDUs sent (ubond, like Linux, never sends them).
    pub marker_tx: u64,
    /// Marker Response PDUs received.
    pub marker_resp_rx: u64,
    /// Marker Response PDUs sent.
    pub marker_resp_tx: u64,
    /// Marker PDUs with an unknown TLV type.
    pub marker_unknown_rx: u64,
    /// ubond: LACPDUs that carried our own system ID (a looped link) and were dropped.
    pub loopback_rx: u64,
    /// ubond: Marker Information PDUs left unanswered by the rate limit.
    pub marker_resp_suppressed: u64,
}

/// A frame the driver must send on `port`.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub port: PortId,
    /// The whole Ethernet frame (destination 01:80:c2:00:00:02, source the port's permanent
    /// MAC, EtherType 0x8809, the 110-octet PDU).
    pub frame: [u8; slow::FRAME_LEN],
}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transmit({}, subtype {})", self.port, self.frame[14])
    }
}

/// What happened, for logs, the lab's timeline and the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A port's Receive machine changed state.
    Rx {
        /// The port.
        port: PortId,
        /// The new state.
        state: RxState,
    },
    /// A port's Mux machine changed state.
    Mux {
        /// The port.
        port: PortId,
        /// The new state.
        state: MuxState,
    },
    /// A port was attached to an aggregator.
    Selected {
        /// The port.
        port: PortId,
        /// The aggregator's ID.
        aggregator: u16,
    },
    /// The bond's active aggregator changed (`None`: there is none).
    ActiveAggregator {
        /// The new active aggregator's ID.
        id: Option<u16>,
    },
    /// Linux's "No 802.3ad response from the link partner for any adapters in the bond": the
    /// new active aggregator is individual.
    NoPartnerResponse,
    /// The bond's carrier changed.
    Carrier {
        /// The new carrier.
        up: bool,
    },
    /// The set of distributing ports changed: the data path must reload it.
    DistributionChanged,
    /// An LACPDU with our own system ID arrived: the port is looped back to this system.
    Loopback {
        /// The port.
        port: PortId,
    },
    /// A port's driver reports no speed or duplex.
    SpeedDuplexUnknown {
        /// The port.
        port: PortId,
        /// The speed assumed instead (`None`: the port is kept down, as Linux does).
        assumed_mbps: Option<u32>,
    },
    /// A churn machine changed state.
    Churn {
        /// The port.
        port: PortId,
        /// `true` for the actor churn machine, `false` for the partner's.
        actor: bool,
        /// The new state.
        state: ChurnState,
    },
}

/// What became of a frame given to [`Lacp::handle_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameVerdict {
    /// An LACPDU or Marker PDU: handled (or counted and dropped); do not deliver it further.
    Consumed,
    /// Not for LACP (another EtherType or destination, or a Slow Protocols subtype such as OAM,
    /// or too short): counted where Linux counts it, and left to the caller.
    NotConsumed,
}

/// A caller's misuse of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LacpError {
    /// No such port in this bond.
    UnknownPort(PortId),
    /// The bond already has [`MAX_PORTS`] ports.
    TooManyPorts,
}

impl fmt::Display for LacpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LacpError::UnknownPort(p) => write!(f, "{p} is not a port of this bond"),
            LacpError::TooManyPorts => write!(f, "a bond has at most {MAX_PORTS} ports"),
        }
    }
}

impl std::error::Error for LacpError {}

/// A port as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortStatus {
    /// The handle.
    pub id: PortId,
    /// The NIC's permanent MAC.
    pub mac: MacAddr,
    /// Aggregator ID, or `None` if unattached (`Aggregator ID: N/A`).
    pub aggregator_id: Option<u16>,
    /// Our information, as sent in LACPDUs (port number, key, state...).
    pub actor: PortInfo,
    /// The partner's information as recorded (the administrative defaults when DEFAULTED).
    pub partner: PortInfo,
    /// Receive machine state.
    pub rx: RxState,
    /// Periodic Transmission machine state.
    pub periodic: PeriodicState,
    /// Mux machine state.
    pub mux: MuxState,
    /// `Selected`.
    pub selected: bool,
    /// Actor churn state.
    pub actor_churn: ChurnState,
    /// Partner churn state.
    pub partner_churn: ChurnState,
    /// Entries into actor churn.
    pub actor_churn_count: u64,
    /// Entries into partner churn.
    pub partner_churn_count: u64,
    /// Frames received on the port are delivered up.
    pub collecting: bool,
    /// The port carries transmitted frames.
    pub distributing: bool,
    /// `Port_Enabled`.
    pub enabled: bool,
    /// Counters.
    pub counters: PortCounters,
}

/// An aggregator as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorStatus {
    /// Aggregator ID.
    pub id: u16,
    /// Ports attached, in enslave order.
    pub ports: Vec<PortId>,
    /// Attached ports whose link is up (the report's "Number of ports").
    pub active_ports: usize,
    /// Actor operational key.
    pub actor_key: u16,
    /// Partner operational key.
    pub partner_key: u16,
    /// Partner system ID (zero: no partner answered).
    pub partner_system: MacAddr,
    /// The bond's active aggregator.
    pub is_active: bool,
    /// Individual (not aggregatable: half duplex).
    pub is_individual: bool,
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
    marker_history: Vec<VecDeque<Instant>>,
    dropped_transmits: u64,
    dropped_events: u64,
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
            marker_history: Vec::new(),
            dropped_transmits: 0,
            dropped_events: 0,
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
        let mut state = PortState(PortState::AGGREGATION);
        state.set(PortState::ACTIVITY, self.config.lacp_active);
        state.set(PortState::TIMEOUT, self.config.lacp_fast);
        self.ports.push(Port {
            id,
            mac: config.mac,
            actor_port_number: number,
            actor_port_priority: config.port_priority,
            actor_system: self.config.system,
            actor_system_priority: self.config.system_priority,
            actor_admin_port_key: (self.config.user_port_key & 0x3ff) << 6,
            actor_oper_port_key: (self.config.user_port_key & 0x3ff) << 6,
            actor_oper_state: state,
            partner_admin: PARTNER_ADMIN_DEFAULTS,
            partner_oper: PARTNER_ADMIN_DEFAULTS,
            port_enabled: false,
            lacp_enabled: true,
            speed_mbps: 0,
            begin: true,
            selected: false,
            ready_n: false,
            matched: false,
            ntt: false,
            ntt_at: None,
            aggregator: None,
            rx: RxState::Initialize,
            periodic: PeriodicState::NoPeriodic,
            mux: MuxState::Detached,
            actor_churn: ChurnState::Monitor,
            partner_churn: ChurnState::Monitor,
            actor_churn_count: 0,
            partner_churn_count: 0,
            churn_trigger: false,
            collecting: false,
            distributing: false,
            timers: TimerTable::default(),
            tx_history: [None; 3],
            counters: PortCounters::default(),
        });
        self.last_aggregator_id = self.last_aggregator_id.wrapping_add(1);
        self.aggs.push(Aggregator::new(self.last_aggregator_id));
        self.marker_history.push(VecDeque::new());
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
        {
            let port = &mut self.ports[p];
            for bit in [
                PortState::SYNCHRONIZATION,
                PortState::COLLECTING,
                PortState::DISTRIBUTING,
                PortState::AGGREGATION,
            ] {
                port.actor_oper_state.set(bit, false);
            }
        }
        if transmit::may_transmit(&self.ports[p]) {
            let port = &self.ports[p];
            let frame = transmit::lacpdu_frame(port.mac, &port.lacpdu());
            if self.send(id, frame) {
                self.ports[p].counters.lacpdu_tx += 1;
            }
        }
        // Hand the other ports of this port's own aggregator to a free aggregator.
        let own_others: Vec<usize> =
            self.aggs[p].ports.iter().copied().filter(|&q| q != p).collect();
        if !own_others.is_empty() {
            let free = (0..self.aggs.len())
                .find(|&b| b != p && (self.aggs[b].ports.is_empty() || self.aggs[b].ports == [p]));
            if let Some(b) = free {
                let moved = Aggregator { id: self.aggs[b].id, ..self.aggs[p].clone() };
                self.aggs[b] = moved;
                for &q in &self.aggs[b].ports {
                    self.ports[q].aggregator = Some(b);
                }
                self.aggs[p].clear();
            }
        }
        let was_active = self.ports[p].aggregator.is_some_and(|a| self.aggs[a].is_active);
        selection::detach(p, &mut self.ports, &mut self.aggs);
        // Remove the port and its aggregator; shift the indexes above it.
        self.ports.remove(p);
        self.aggs.remove(p);
        self.marker_history.remove(p);
        for port in &mut self.ports {
            if let Some(a) = port.aggregator {
                port.aggregator = if a > p { Some(a - 1) } else { Some(a) };
            }
        }
        for agg in &mut self.aggs {
            for q in &mut agg.ports {
                if *q > p {
                    *q -= 1;
                }
            }
        }
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

    /// Applies the unknown-speed policy and updates the port's keys (`ad_update_actor_keys`).
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
        let port = &mut self.ports[p];
        port.port_enabled = up;
        port.speed_mbps = speed;
        let old_key = port.actor_oper_port_key;
        let old_code = (old_key & key::SPEED_MASK) >> 1;
        let mut admin = port.actor_admin_port_key & !(key::SPEED_MASK | key::DUPLEX_MASK);
        let code = if up { key::speed_code(speed) } else { 0 };
        if up {
            admin |= (code << 1) | u16::from(full);
        }
        port.actor_admin_port_key = admin;
        port.actor_oper_port_key = admin;
        if old_key != admin {
            port.lacp_enabled = up && full;
            if up && full && code != 0 && old_code != code {
                // A speed change restarts the port's machines (Linux).
                port.begin = true;
            }
        }
        if !up {
            port.collecting = false;
            port.distributing = false;
        }
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
                self.handle_marker(p, now, &marker);
            }
            Subtype::Other(_) => {
                self.ports[p].counters.lacpdu_unknown_rx += 1;
                return FrameVerdict::NotConsumed;
            }
        }
        FrameVerdict::Consumed
    }

    /// The Marker responder (802.1AX-2014 6.5.4.2): answer Marker Information with a Marker
    /// Response carrying the same fields.
    fn handle_marker(&mut self, p: usize, now: Instant, marker: &MarkerRepr) {
        match marker.kind {
            MarkerKind::Information => {
                self.ports[p].counters.marker_rx += 1;
                let history = &mut self.marker_history[p];
                while history.front().is_some_and(|t| now - *t >= Duration::from_secs(1)) {
                    history.pop_front();
                }
                if history.len() >= MARKER_RESPONSES_PER_SECOND {
                    self.ports[p].counters.marker_resp_suppressed += 1;
                    return;
                }
                history.push_back(now);
                let port = &self.ports[p];
                let frame = transmit::marker_frame(port.mac, &marker.response());
                if self.send(port.id, frame) {
                    self.ports[p].counters.marker_resp_tx += 1;
                }
            }
            MarkerKind::Response => self.ports[p].counters.marker_resp_rx += 1,
            MarkerKind::Other(_) => self.ports[p].counters.marker_unknown_rx += 1,
        }
    }

    /// Time passed: expired timers fire. Call it at [`Lacp::poll_timeout`] (or later).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        self.run(now);
    }

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
        self.ports
            .iter()
            .flat_map(|port| {
                let hold = (port.ntt && transmit::may_transmit(port)).then(|| {
                    let due = port.ntt_at.map_or(self.now, |t| t + self.config.tx_coalesce);
                    transmit::next_slot(port, self.now.max(due))
                });
                [port.timers.next(), hold]
            })
            .flatten()
            .min()
    }

    /// Frames and events dropped because their queues were full.
    pub fn dropped(&self) -> (u64, u64) {
        (self.dropped_transmits, self.dropped_events)
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

    // ----- queries ---------------------------------------------------------------------

    /// The ports that carry transmitted frames, in enslave order: the distributing ports of
    /// the active aggregator whose link is up (Linux's `usable_slaves` array in 802.3ad).
    pub fn distributing_ports(&self) -> &[PortId] {
        &self.distributing
    }

    /// True if frames received on the port are delivered up.
    pub fn is_collecting(&self, id: PortId) -> bool {
        self.index(id).is_ok_and(|p| self.ports[p].collecting && self.ports[p].port_enabled)
    }

    /// The bond's carrier (Linux `bond_3ad_set_carrier`): an active aggregator with at least
    /// `min_links` enabled ports.
    pub fn carrier(&self) -> bool {
        self.carrier
    }

    /// The ports in enslave order.
    pub fn port_ids(&self) -> impl Iterator<Item = PortId> + '_ {
        self.ports.iter().map(|p| p.id)
    }

    /// A port's state for the report.
    pub fn port_status(&self, id: PortId) -> Option<PortStatus> {
        let p = self.index(id).ok()?;
        let port = &self.ports[p];
        Some(PortStatus {
            id: port.id,
            mac: port.mac,
            aggregator_id: port.aggregator.map(|a| self.aggs[a].id),
            actor: port.actor_info(),
            partner: port.partner_oper,
            rx: port.rx,
            periodic: port.periodic,
            mux: port.mux,
            selected: port.selected,
            actor_churn: port.actor_churn,
            partner_churn: port.partner_churn,
            actor_churn_count: port.actor_churn_count,
            partner_churn_count: port.partner_churn_count,
            collecting: port.collecting && port.port_enabled,
            distributing: self.distributing.contains(&port.id),
            enabled: port.port_enabled,
            counters: port.counters,
        })
    }

    /// The aggregators that have ports, in ID order.
    pub fn aggregators(&self) -> Vec<AggregatorStatus> {
        let mut out: Vec<AggregatorStatus> = self
            .aggs
            .iter()
            .filter(|a| !a.ports.is_empty())
            .map(|a| {
                let mut ports: Vec<usize> = a.ports.clone();
                ports.sort_unstable();
                AggregatorStatus {
                    id: a.id,
                    ports: ports.iter().map(|&q| self.ports[q].id).collect(),
                    active_ports: selection::active_ports(a, &self.ports),
                    actor_key: a.actor_oper_key,
                    partner_key: a.partner_oper_key,
                    partner_system: a.partner_system,
                    is_active: a.is_active,
                    is_individual: a.is_individual,
                }
            })
            .collect();
        out.sort_by_key(|a| a.id);
        out
    }

    /// The active aggregator, if any.
    pub fn active_aggregator(&self) -> Option<AggregatorStatus> {
        self.aggregators().into_iter().find(|a| a.is_active)
    }

    // ----- the machines ----------------------------------------------------------------

    /// Runs every machine of every port until nothing changes, then the Transmit machine, then
    /// publishes data-path changes.
    fn run(&mut self, now: Instant) {
        for _ in 0..MAX_PASSES {
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
                break;
            }
        }
        self.step_transmit(now);
        self.publish();
    }

    fn step_rx(&mut self, p: usize, now: Instant, pdu: Option<&LacpduRepr>) -> bool {
        let port = &mut self.ports[p];
        let inputs = receive::RxInputs {
            begin: port.begin,
            port_enabled: port.port_enabled,
            lacp_enabled: port.lacp_enabled,
            pdu_received: pdu.is_some(),
            current_while_expired: port.timers.expired(PortTimer::CurrentWhile as usize, now),
        };
        let Some(next) = receive::next_state(port.rx, inputs) else { return false };
        let changed = next != port.rx;
        if changed && next == RxState::Current {
            port.churn_trigger = true;
        }
        port.rx = next;
        receive::enter(next, port, pdu, now);
        if changed {
            let id = port.id;
            self.emit(Event::Rx { port: id, state: next });
        }
        true
    }

    fn step_periodic(&mut self, p: usize, now: Instant) -> bool {
        let port = &mut self.ports[p];
        let inputs = periodic::PeriodicInputs {
            begin: port.begin,
            lacp_enabled: port.lacp_enabled,
            port_enabled: port.port_enabled,
            actor_active: port.actor_oper_state.has(PortState::ACTIVITY),
            partner_active: port.partner_oper.state.has(PortState::ACTIVITY),
            partner_short_timeout: port.partner_oper.state.has(PortState::TIMEOUT),
            periodic_expired: port.timers.expired(PortTimer::Periodic as usize, now),
        };
        let Some(next) = periodic::next_state(port.periodic, inputs) else { return false };
        port.periodic = next;
        let timer = PortTimer::Periodic as usize;
        match next {
            PeriodicState::NoPeriodic => port.timers.stop(timer),
            PeriodicState::FastPeriodic => {
                port.timers.start(timer, now, periodic::FAST_PERIODIC_TIME)
            }
            PeriodicState::SlowPeriodic => {
                port.timers.start(timer, now, periodic::SLOW_PERIODIC_TIME)
            }
            PeriodicState::PeriodicTx => {
                port.ntt = true;
                port.timers.stop(timer);
            }
        }
        true
    }

    fn step_selection(&mut self, p: usize) -> bool {
        if self.ports[p].selected {
            return false;
        }
        if !selection::select_port(p, &mut self.ports, &mut self.aggs) {
            return false;
        }
        let (id, a) = (self.ports[p].id, self.ports[p].aggregator);
        if let Some(a) = a {
            let aggregator = self.aggs[a].id;
            self.emit(Event::Selected { port: id, aggregator });
        }
        self.select_active();
        if let Some(a) = self.ports[p].aggregator {
            if !self.aggs[a].is_active {
                self.ports[p].actor_oper_state.set(PortState::SYNCHRONIZATION, false);
            }
        }
        true
    }

    /// Aggregator selection and its consequences on the data path (the end of Linux
    /// `ad_agg_selection_logic`).
    fn select_active(&mut self) {
        let outcome = selection::select_active(self.config.ad_select, &self.ports, &mut self.aggs);
        if let Some(new) = outcome.new_active {
            if let Some(old) = outcome.old_active {
                for q in self.aggs[old].ports.clone() {
                    self.ports[q].collecting = false;
                    self.ports[q].distributing = false;
                }
            }
            if self.aggs[new].is_individual {
                self.emit(Event::NoPartnerResponse);
            }
        }
        // An active aggregator without an answering partner: its ports carry traffic anyway
        // (Linux's silent unpartnered operation).
        if let Some(active) = self.aggs.iter().position(|a| a.is_active) {
            if !self.aggs[active].has_partner() {
                for q in self.aggs[active].ports.clone() {
                    let port = &mut self.ports[q];
                    port.collecting = port.port_enabled;
                    port.distributing = port.port_enabled;
                }
            }
        }
    }

    /// Whether waiting longer for other ports to join is pointless (with `early_attach`).
    ///
    /// Aggregate_Wait_Time exists so that links coming up together attach to their aggregator
    /// together (802.1AX 6.4.15). Once every enabled port of the bond is selected and its
    /// partner information is current (it heard its partner, so its choice of aggregator is
    /// made), no other port can join any aggregator until something changes — and a change
    /// starts the machines again. Then the wait only delays the link: both ends of a ubond
    /// pair aggregate in tens of milliseconds instead of after 2 s. A partner that waits the
    /// standard 2 s (Linux) still holds the link out of Collecting/Distributing until it is in
    /// sync, so nothing changes for it.
    fn early_ready(&self) -> bool {
        self.config.early_attach
            && self.ports.iter().all(|q| {
                !(q.port_enabled && q.lacp_enabled)
                    || (q.selected && q.rx == RxState::Current && q.aggregator.is_some())
            })
    }

    fn step_mux(&mut self, p: usize, now: Instant) -> bool {
        let mut changed = false;
        let wait = PortTimer::WaitWhile as usize;
        {
            let port = &mut self.ports[p];
            if port.mux == MuxState::Waiting && port.timers.expired(wait, now) {
                port.timers.stop(wait);
                port.ready_n = true;
                changed = true;
            }
        }
        if self.ports[p].mux == MuxState::Waiting && !self.ports[p].ready_n && self.early_ready() {
            let port = &mut self.ports[p];
            port.timers.stop(wait);
            port.ready_n = true;
            changed = true;
        }
        let agg = self.ports[p].aggregator.map(|a| &self.aggs[a]);
        let ready = agg.is_some_and(|a| a.ports.iter().all(|&q| self.ports[q].ready_n));
        let (agg_active, agg_partner) =
            agg.map_or((false, false), |a| (a.is_active, a.has_partner()));
        let port = &mut self.ports[p];
        let inputs = mux::MuxInputs {
            begin: port.begin,
            selected: port.selected,
            ready,
            ready_n: port.ready_n,
            partner_sync: port.partner_oper.state.has(PortState::SYNCHRONIZATION),
            partner_collecting: port.partner_oper.state.has(PortState::COLLECTING),
            actor_sync: port.actor_oper_state.has(PortState::SYNCHRONIZATION),
            aggregator_active: agg_active,
            coupled: self.config.coupled_control,
        };
        let Some(next) = mux::next_state(port.mux, inputs) else {
            // Linux: an ATTACHED port whose aggregator became active is in sync; we also tell
            // the partner at once instead of at the next periodic PDU.
            if port.mux == MuxState::Attached
                && agg_active
                && !port.actor_oper_state.has(PortState::SYNCHRONIZATION)
            {
                port.actor_oper_state.set(PortState::SYNCHRONIZATION, true);
                port.ntt = true;
                return true;
            }
            // Linux: "make sure that a collecting distributing port in an active aggregator
            // is enabled" (and a collecting one collects). The aggregator may have become
            // active again after another one took over, which disabled its ports in place.
            if agg_active && port.port_enabled {
                match port.mux {
                    MuxState::CollectingDistributing | MuxState::Distributing
                        if !(port.collecting && port.distributing) =>
                    {
                        port.collecting = true;
                        port.distributing = true;
                        return true;
                    }
                    MuxState::Collecting if !port.collecting => {
                        port.collecting = true;
                        return true;
                    }
                    _ => {}
                }
            }
            return changed;
        };
        port.mux = next;
        let state = &mut port.actor_oper_state;
        let link_up = port.port_enabled;
        match next {
            MuxState::Detached => {
                state.set(PortState::SYNCHRONIZATION, false);
                state.set(PortState::COLLECTING | PortState::DISTRIBUTING, false);
                if agg_partner {
                    port.collecting = false;
                    port.distributing = false;
                }
                port.ready_n = false;
                port.timers.stop(wait);
                port.ntt = true;
            }
            MuxState::Waiting => port.timers.start(wait, now, self.config.aggregate_wait),
            MuxState::Attached => {
                state.set(PortState::SYNCHRONIZATION, agg_active);
                state.set(PortState::COLLECTING | PortState::DISTRIBUTING, false);
                if agg_partner {
                    port.collecting = false;
                    port.distributing = false;
                }
                port.ntt = true;
            }
            MuxState::CollectingDistributing => {
                state.set(
                    PortState::SYNCHRONIZATION | PortState::COLLECTING | PortState::DISTRIBUTING,
                    true,
                );
                if agg_active {
                    port.collecting = link_up;
                    port.distributing = link_up;
                }
                port.ntt = true;
            }
            MuxState::Collecting => {
                state.set(PortState::SYNCHRONIZATION | PortState::COLLECTING, true);
                state.set(PortState::DISTRIBUTING, false);
                if agg_active {
                    port.collecting = link_up;
                }
                if agg_partner {
                    port.distributing = false;
                }
                port.ntt = true;
            }
            MuxState::Distributing => {
                state.set(PortState::SYNCHRONIZATION | PortState::DISTRIBUTING, true);
                if agg_active {
                    port.collecting = link_up;
                    port.distributing = link_up;
                }
            }
        }
        let id = port.id;
        self.emit(Event::Mux { port: id, state: next });
        true
    }

    fn step_churn(&mut self, p: usize, now: Instant) -> bool {
        let mut changed = false;
        let trigger = std::mem::take(&mut self.ports[p].churn_trigger);
        for actor in [true, false] {
            let port = &mut self.ports[p];
            let (timer, in_sync, state) = if actor {
                (
                    PortTimer::ActorChurn as usize,
                    port.actor_oper_state.has(PortState::SYNCHRONIZATION),
                    port.actor_churn,
                )
            } else {
                (
                    PortTimer::PartnerChurn as usize,
                    port.partner_oper.state.has(PortState::SYNCHRONIZATION),
                    port.partner_churn,
                )
            };
            let inputs = churn::ChurnInputs {
                trigger,
                in_sync,
                timer_expired: port.timers.expired(timer, now),
            };
            let Some(next) = churn::next_state(state, inputs) else { continue };
            match next {
                ChurnState::Monitor => port.timers.start(timer, now, churn::CHURN_DETECTION_TIME),
                ChurnState::NoChurn => port.timers.stop(timer),
                ChurnState::Churn => {
                    port.timers.stop(timer);
                    if actor {
                        port.actor_churn_count += 1;
                    } else {
                        port.partner_churn_count += 1;
                    }
                }
            }
            if actor {
                port.actor_churn = next;
            } else {
                port.partner_churn = next;
            }
            if next != state {
                let id = port.id;
                self.emit(Event::Churn { port: id, actor, state: next });
                changed = true;
            }
        }
        changed
    }

    fn step_transmit(&mut self, now: Instant) {
        for p in 0..self.ports.len() {
            let coalesce = self.config.tx_coalesce;
            let port = &mut self.ports[p];
            if !port.ntt || !transmit::may_transmit(port) {
                continue;
            }
            let since = *port.ntt_at.get_or_insert(now);
            if now < since + coalesce || transmit::next_slot(port, now) > now {
                continue;
            }
            let (id, frame) = (port.id, transmit::lacpdu_frame(port.mac, &port.lacpdu()));
            if self.send(id, frame) {
                let port = &mut self.ports[p];
                transmit::record(port, now);
                port.ntt = false;
                port.ntt_at = None;
                port.counters.lacpdu_tx += 1;
            }
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
        let distributing: Vec<PortId> = match active {
            Some(a) => {
                // A port whose partner answered carries frames only once that partner says it
                // collects them. Independent control's DISTRIBUTING already waits for it;
                // coupled control (Linux's default) enters COLLECTING_DISTRIBUTING as soon as
                // the partner is in sync, which may be before the partner has heard that we
                // are: our frames would then arrive at a port that still drops them, for as
                // long as our next LACPDU takes (Linux sends one per 300 ms at most). The
                // state machines and what we report stay the standard's; only the data path
                // waits for the partner's Collecting bit.
                let partnered = self.aggs[a].has_partner();
                let mut members: Vec<usize> = self.aggs[a]
                    .ports
                    .iter()
                    .copied()
                    .filter(|&q| {
                        let port = &self.ports[q];
                        port.distributing
                            && port.port_enabled
                            && (!partnered || port.partner_oper.state.has(PortState::COLLECTING))
                    })
                    .collect();
                members.sort_unstable();
                members.into_iter().map(|q| self.ports[q].id).collect()
            }
            None => Vec::new(),
        };
        if distributing != self.distributing {
            self.distributing = distributing;
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
