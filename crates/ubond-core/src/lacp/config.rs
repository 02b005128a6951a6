//! What a bond's LACP is configured with: the bond-wide 802.3ad options, each port's settings,
//! and the state of a member link as the driver reports it.

use core::time::Duration;

use ubond_wire::MacAddr;

use super::mux;
use super::selection::AdSelect;
use super::TX_COALESCE;

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
