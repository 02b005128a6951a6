//! A bond: slaves, link monitoring, the mode's choice of slaves, and 802.3ad through
//! [`Lacp`] — the sans-IO equivalent of a Linux `bonding` device.
//!
//! # Driver contract
//!
//! Like [`Lacp`], a [`Bond`] is sans-IO and deterministic. Inputs carry `now`:
//! [`Bond::enslave`], [`Bond::release`], [`Bond::handle_link`] (carrier, speed, duplex of a
//! slave), [`Bond::handle_frame`] (every frame received on a slave: control frames are consumed,
//! data frames get a deliver/drop verdict), [`Bond::handle_timeout`], [`Bond::set_option`],
//! [`Bond::set_admin_up`] and [`Bond::set_addresses`]. After each input, drain
//! [`Bond::poll_transmit`] (control frames to send on a slave: LACPDUs, gratuitous ARPs,
//! unsolicited neighbour advertisements) and [`Bond::poll_event`], then call
//! [`Bond::handle_timeout`] at [`Bond::poll_timeout`].
//!
//! The data path reads [`Bond::tx_plan`] (republished with [`BondEvent::PlanChanged`]) and
//! [`Bond::rx_plan`]; both are plain values, so forwarding threads never wait for the control
//! plane.
//!
//! # Scope
//!
//! balance-rr, active-backup, balance-xor, broadcast and 802.3ad are implemented with the MII
//! monitor. balance-tlb, balance-alb and the ARP/NS monitors are not yet: a bond refuses
//! them with [`BondError::NotImplemented`] rather than pretending.

pub mod alb;
pub mod plan;
pub mod tlb;

use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ubond_wire::MacAddr;

use crate::lacp::{self, Lacp, LinkState, PortConfig, PortId};
use crate::monitor::mii::{LinkStatus, MiiDelays, MiiLink, MiiTransition};
use crate::options::{
    BondOptions, FailOverMac, LacpRate, Mode, OptionError, PrimaryReselect, SetContext, SlaveState,
    Warning,
};
use crate::report;
use crate::time::Instant;

pub use self::plan::{TxChoice, TxPlan};

/// Most slaves one bond may have.
pub const MAX_SLAVES: usize = lacp::MAX_PORTS;
/// Most queued events or frames; more are dropped and counted.
pub const QUEUE_LIMIT: usize = 4096;

/// A slave handle, never reused within a bond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlaveId(pub u32);

/// Why a request was refused (the caller's mistake or an unsupported setting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondError {
    /// No slave with that handle or name.
    UnknownSlave(String),
    /// The interface is already a slave of this bond.
    AlreadyEnslaved(String),
    /// The bond has [`MAX_SLAVES`] slaves.
    TooManySlaves,
    /// An option was refused; the error says which and why.
    Option(OptionError),
    /// ubond does not implement this yet.
    NotImplemented(&'static str),
}

impl fmt::Display for BondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BondError::UnknownSlave(s) => write!(f, "{s} is not a slave of this bond"),
            BondError::AlreadyEnslaved(s) => write!(f, "{s} is already a slave of this bond"),
            BondError::TooManySlaves => write!(f, "a bond has at most {MAX_SLAVES} slaves"),
            BondError::Option(e) => write!(f, "{e}"),
            BondError::NotImplemented(what) => write!(f, "{what} is not implemented in ubond yet"),
        }
    }
}

impl std::error::Error for BondError {}

impl From<OptionError> for BondError {
    fn from(e: OptionError) -> Self {
        BondError::Option(e)
    }
}

/// What happened, for logs and the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondEvent {
    /// A line for the log, worded as the kernel words it (`slave` is the slave's name).
    Log {
        /// The slave concerned, if any.
        slave: Option<String>,
        /// The message.
        message: String,
    },
    /// The bond's carrier changed.
    Carrier {
        /// The new carrier.
        up: bool,
    },
    /// The active slave changed (active-backup, LACP fallback).
    ActiveSlave {
        /// The new active slave.
        slave: Option<SlaveId>,
    },
    /// The data path must reload [`Bond::tx_plan`] and [`Bond::rx_plan`].
    PlanChanged,
    /// The bond's MAC address changed (first slave, `fail_over_mac=active`).
    BondMac {
        /// The new address.
        mac: MacAddr,
    },
    /// An 802.3ad event (state changes for the timeline).
    Lacp(lacp::Event),
}

/// A control frame to send on a slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondTransmit {
    /// The slave.
    pub slave: SlaveId,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// What the data path does with a frame received on a slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxVerdict {
    /// A control frame the bond consumed (LACPDU, Marker).
    Consumed,
    /// Deliver it up the bond device.
    Deliver,
    /// Drop it (an inactive slave's frame: Linux's `RX_HANDLER_EXACT`).
    Drop,
}

/// Which slaves' frames are delivered up (Linux `bond_should_deliver_exact_match` and the
/// inactive-slave rule).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RxPlan {
    /// Frames from these slaves are delivered.
    pub deliver: Vec<SlaveId>,
}

impl RxPlan {
    /// The verdict for a data frame received on `slave`.
    pub fn verdict(&self, slave: SlaveId) -> RxVerdict {
        if self.deliver.contains(&slave) {
            RxVerdict::Deliver
        } else {
            RxVerdict::Drop
        }
    }
}

/// A slave's settings at enslave time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveConfig {
    /// Interface name.
    pub name: String,
    /// Permanent MAC address.
    pub perm_mac: MacAddr,
}

#[derive(Debug, Clone)]
struct Slave {
    id: SlaveId,
    name: String,
    perm_mac: MacAddr,
    mii: MiiLink,
    link: LinkState,
    /// Inactive (`backup`) in Linux's sense: not the active slave of active-backup.
    backup: bool,
    port: Option<PortId>,
}

/// A bond. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Bond {
    name: String,
    opts: BondOptions,
    mac: MacAddr,
    admin_up: bool,
    slaves: Vec<Slave>,
    next_id: u32,
    lacp: Option<Lacp>,
    active: Option<SlaveId>,
    /// Linux `force_primary`: a newly set primary takes over at the next reselection.
    force_primary: bool,
    /// A committed link transition (or a change of slaves or options) asks for an active-slave
    /// reselection; Linux reselects only then, so a slave going down keeps its role during
    /// `downdelay`.
    reselect_pending: bool,
    /// The last LACP-fallback verdict, to reselect when it flips.
    fallback: bool,
    carrier: bool,
    tx: TxPlan,
    rx: RxPlan,
    addrs4: Vec<Ipv4Addr>,
    addrs6: Vec<Ipv6Addr>,
    notify_left: u32,
    notify_next: Option<Instant>,
    now: Instant,
    events: VecDeque<BondEvent>,
    transmits: VecDeque<BondTransmit>,
    dropped: u64,
}

impl Bond {
    /// A bond with no slaves. `mac` is the bond's address if the user set one; otherwise the
    /// first slave's permanent address becomes the bond's, as in Linux.
    pub fn new(name: &str, opts: BondOptions, mac: Option<MacAddr>) -> Result<Bond, BondError> {
        check_supported(&opts)?;
        let mut bond = Bond {
            name: name.to_string(),
            tx: TxPlan::empty(opts.mode),
            opts,
            mac: mac.unwrap_or(MacAddr::ZERO),
            admin_up: true,
            slaves: Vec::new(),
            next_id: 1,
            lacp: None,
            active: None,
            force_primary: false,
            reselect_pending: true,
            fallback: false,
            carrier: false,
            rx: RxPlan::default(),
            addrs4: Vec::new(),
            addrs6: Vec::new(),
            notify_left: 0,
            notify_next: None,
            now: Instant::ZERO,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            dropped: 0,
        };
        bond.reset_lacp();
        Ok(bond)
    }

    /// The bond's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The options.
    pub fn options(&self) -> &BondOptions {
        &self.opts
    }

    /// The bond's MAC address (zero until the first slave arrives, if none was set).
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The bond's carrier (`MII Status` of the bond).
    pub fn carrier(&self) -> bool {
        self.carrier
    }

    /// The active slave (active-backup, LACP fallback).
    pub fn active_slave(&self) -> Option<SlaveId> {
        self.active
    }

    /// The data path's transmit plan.
    pub fn tx_plan(&self) -> &TxPlan {
        &self.tx
    }

    /// The data path's receive plan.
    pub fn rx_plan(&self) -> &RxPlan {
        &self.rx
    }

    /// The 802.3ad engine, in 802.3ad mode.
    pub fn lacp(&self) -> Option<&Lacp> {
        self.lacp.as_ref()
    }

    /// Slave handles in enslave order.
    pub fn slave_ids(&self) -> impl Iterator<Item = SlaveId> + '_ {
        self.slaves.iter().map(|s| s.id)
    }

    /// A slave's name.
    pub fn slave_name(&self, id: SlaveId) -> Option<&str> {
        self.slaves.iter().find(|s| s.id == id).map(|s| s.name.as_str())
    }

    /// A slave's handle by name.
    pub fn slave_by_name(&self, name: &str) -> Option<SlaveId> {
        self.slaves.iter().find(|s| s.name == name).map(|s| s.id)
    }

    /// A slave's MII link state and failure count.
    pub fn slave_link(&self, id: SlaveId) -> Option<(LinkStatus, u32)> {
        self.slaves
            .iter()
            .find(|s| s.id == id)
            .map(|s| (s.mii.status(), s.mii.link_failure_count()))
    }

    /// A slave's LACP port, in 802.3ad mode.
    pub fn slave_port(&self, id: SlaveId) -> Option<PortId> {
        self.slaves.iter().find(|s| s.id == id).and_then(|s| s.port)
    }

    fn clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn log(&mut self, slave: Option<&str>, message: String) {
        self.event(BondEvent::Log { slave: slave.map(str::to_string), message });
    }

    fn event(&mut self, e: BondEvent) {
        if self.events.len() >= QUEUE_LIMIT {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(e);
    }

    fn index(&self, id: SlaveId) -> Result<usize, BondError> {
        self.slaves
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| BondError::UnknownSlave(format!("slave #{}", id.0)))
    }

    fn delays(&self) -> MiiDelays {
        MiiDelays {
            up: Duration::from_millis(self.opts.updelay_ms()),
            down: Duration::from_millis(self.opts.downdelay_ms()),
        }
    }

    /// The link is watched: MII monitoring is on (or ARP, which we refuse for now).
    fn monitored(&self) -> bool {
        self.opts.miimon > 0
    }

    fn reset_lacp(&mut self) {
        self.lacp = (self.opts.mode == Mode::Ieee8023ad)
            .then(|| Lacp::new(self.opts.lacp_config(self.mac)));
    }

    // ----- inputs ------------------------------------------------------------------------

    /// Enslaves an interface (`ip link set IFACE master BOND`).
    pub fn enslave(
        &mut self,
        now: Instant,
        config: SlaveConfig,
        link: LinkState,
    ) -> Result<SlaveId, BondError> {
        let now = self.clock(now);
        if self.slaves.iter().any(|s| s.name == config.name) {
            return Err(BondError::AlreadyEnslaved(config.name));
        }
        if self.slaves.len() >= MAX_SLAVES {
            return Err(BondError::TooManySlaves);
        }
        if self.mac.is_zero() {
            self.mac = config.perm_mac;
            self.event(BondEvent::BondMac { mac: self.mac });
            if let Some(lacp) = &mut self.lacp {
                if self.opts.ad_actor_system.is_zero() {
                    lacp.set_system(now, self.opts.ad_actor_sys_prio, self.mac);
                }
            }
        }
        let id = SlaveId(self.next_id);
        self.next_id += 1;
        // Linux bond_enslave: with MII monitoring the carrier decides (going back under
        // updelay); without any monitoring the slave is simply up.
        let carrier = link.up || !self.monitored();
        let mii = MiiLink::new(
            now,
            carrier,
            if self.monitored() { self.delays() } else { MiiDelays::default() },
        );
        let name = config.name.clone();
        self.slaves.push(Slave {
            id,
            name: config.name,
            perm_mac: config.perm_mac,
            mii,
            link,
            backup: true,
            port: None,
        });
        let message = match self.opts.mode {
            Mode::ActiveBackup => "making interface the new active one".to_string(),
            _ => "Enslaving as an active interface with an up link".to_string(),
        };
        let up = self.slaves.last().is_some_and(|s| s.mii.status() == LinkStatus::Up);
        self.log(
            Some(&name),
            if up {
                if self.opts.mode == Mode::ActiveBackup {
                    "Enslaving as a backup interface with an up link".to_string()
                } else {
                    message
                }
            } else {
                "Enslaving as a backup interface with a down link".to_string()
            },
        );
        if let Some(lacp) = &mut self.lacp {
            let port_link = lacp_link(self.slaves.last().expect("just pushed"));
            let slave = self.slaves.last().expect("slave");
            let config = PortConfig {
                mac: slave.perm_mac,
                port_priority: self.opts.slave(&slave.name).actor_port_prio,
            };
            let port =
                lacp.add_port(now, config, port_link).map_err(|_| BondError::TooManySlaves)?;
            if let Some(s) = self.slaves.last_mut() {
                s.port = Some(port);
            }
        }
        self.reselect_pending = true;
        self.reselect(now);
        self.refresh(now);
        Ok(id)
    }

    /// Releases a slave (`ip link set IFACE nomaster`).
    pub fn release(&mut self, now: Instant, id: SlaveId) -> Result<(), BondError> {
        let now = self.clock(now);
        let i = self.index(id)?;
        let slave = self.slaves.remove(i);
        if let (Some(lacp), Some(port)) = (&mut self.lacp, slave.port) {
            let _ = lacp.remove_port(now, port);
        }
        self.log(Some(&slave.name), "Releasing backup interface".to_string());
        if self.active == Some(id) {
            self.active = None;
        }
        if self.slaves.is_empty() {
            // Linux keeps the bond's MAC; a new first slave does not change it.
            self.reset_lacp();
        }
        self.reselect_pending = true;
        self.reselect(now);
        self.refresh(now);
        Ok(())
    }

    /// A slave's carrier, speed or duplex changed (netlink event or `miimon` poll).
    pub fn handle_link(
        &mut self,
        now: Instant,
        id: SlaveId,
        link: LinkState,
    ) -> Result<(), BondError> {
        let now = self.clock(now);
        let i = self.index(id)?;
        let old = self.slaves[i].link;
        self.slaves[i].link = link;
        if self.monitored() {
            let skip_updelay = !self.slaves.iter().any(|s| s.mii.status() == LinkStatus::Up);
            let delays = self.delays();
            let transitions = self.slaves[i].mii.observe(now, link.up, delays, skip_updelay);
            for t in transitions.iter() {
                self.on_transition(now, i, t);
            }
        }
        if (old.speed_mbps, old.duplex) != (link.speed_mbps, link.duplex) {
            self.sync_port(now, i);
        }
        self.reselect(now);
        self.refresh(now);
        Ok(())
    }

    fn on_transition(&mut self, now: Instant, i: usize, t: MiiTransition) {
        let name = self.slaves[i].name.clone();
        self.log(Some(&name), t.to_string());
        if matches!(t, MiiTransition::Up | MiiTransition::Down | MiiTransition::DownAgain { .. }) {
            self.sync_port(now, i);
            self.reselect_pending = true;
        }
    }

    /// Tells LACP the slave's usable link state (up only when the MII monitor says UP).
    fn sync_port(&mut self, now: Instant, i: usize) {
        let link = lacp_link(&self.slaves[i]);
        if let (Some(lacp), Some(port)) = (&mut self.lacp, self.slaves[i].port) {
            let _ = lacp.handle_link(now, port, link);
        }
    }

    /// A frame arrived on a slave.
    pub fn handle_frame(&mut self, now: Instant, id: SlaveId, frame: &[u8]) -> RxVerdict {
        let now = self.clock(now);
        let Ok(i) = self.index(id) else { return RxVerdict::Drop };
        if let (Some(lacp), Some(port)) = (&mut self.lacp, self.slaves[i].port) {
            if lacp.handle_frame(now, port, frame) == lacp::FrameVerdict::Consumed {
                self.refresh(now);
                return RxVerdict::Consumed;
            }
        }
        self.rx.verdict(id)
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        let delays = self.delays();
        for i in 0..self.slaves.len() {
            let transitions = self.slaves[i].mii.handle_timeout(now, delays);
            for t in transitions.iter() {
                self.on_transition(now, i, t);
            }
        }
        if let Some(lacp) = &mut self.lacp {
            lacp.handle_timeout(now);
        }
        self.reselect(now);
        if self.notify_next.is_some_and(|t| t <= now) {
            self.notify_peers(now);
        }
        self.refresh(now);
    }

    /// Brings the bond up or down administratively (`ip link set BOND up|down`).
    pub fn set_admin_up(&mut self, now: Instant, up: bool) {
        let now = self.clock(now);
        self.admin_up = up;
        self.refresh(now);
    }

    /// The bond's own addresses, announced to peers after a failover.
    pub fn set_addresses(&mut self, v4: Vec<Ipv4Addr>, v6: Vec<Ipv6Addr>) {
        self.addrs4 = v4;
        self.addrs6 = v6;
    }

    /// Sets an option with sysfs semantics (`echo VALUE > /sys/class/net/BOND/bonding/NAME`).
    pub fn set_option(
        &mut self,
        now: Instant,
        name: &str,
        value: &str,
    ) -> Result<Vec<Warning>, BondError> {
        let now = self.clock(now);
        let ctx = self.set_context();
        let mut opts = self.opts.clone();
        let warnings = opts.set(name, value, &ctx)?;
        check_supported(&opts)?;
        let old = std::mem::replace(&mut self.opts, opts);
        if old.mode != self.opts.mode {
            self.reset_lacp();
        } else if let Some(lacp) = &mut self.lacp {
            let cfg = {
                let system = if self.opts.ad_actor_system.is_zero() {
                    self.mac
                } else {
                    self.opts.ad_actor_system
                };
                (self.opts.ad_actor_sys_prio, system)
            };
            if (old.ad_actor_sys_prio, old.ad_actor_system)
                != (self.opts.ad_actor_sys_prio, self.opts.ad_actor_system)
            {
                lacp.set_system(now, cfg.0, cfg.1);
            }
            if old.lacp_rate != self.opts.lacp_rate {
                lacp.set_lacp_rate(now, self.opts.lacp_rate == LacpRate::Fast);
            }
            if old.lacp_active != self.opts.lacp_active {
                lacp.set_lacp_active(now, self.opts.lacp_active);
            }
        }
        if old.primary != self.opts.primary {
            // Linux: setting a primary forces it active at the next reselection.
            self.force_primary = true;
        }
        if let Some(name) = self
            .opts
            .active_slave
            .clone()
            .filter(|n| Some(n.as_str()) != old.active_slave.as_deref())
        {
            if let Some(id) = self.slave_by_name(&name) {
                if self.slaves.iter().any(|s| s.id == id && s.mii.status() == LinkStatus::Up) {
                    self.change_active(now, Some(id));
                }
            }
        }
        self.reselect_pending = true;
        self.reselect(now);
        self.refresh(now);
        Ok(warnings)
    }

    /// Sets a per-slave option (`queue_id`, `prio`, `actor_port_prio`), as
    /// `ip link set IFACE type bond_slave NAME VALUE`.
    pub fn set_slave_option(
        &mut self,
        now: Instant,
        id: SlaveId,
        name: &str,
        value: &str,
    ) -> Result<Vec<Warning>, BondError> {
        let now = self.clock(now);
        let i = self.index(id)?;
        let slave = self.slaves[i].name.clone();
        let ctx = self.set_context();
        let warnings = self.opts.set_slave(&slave, name, value, &ctx)?;
        if let (Some(lacp), Some(port)) = (&mut self.lacp, self.slaves[i].port) {
            let _ = lacp.set_port_priority(now, port, self.opts.slave(&slave).actor_port_prio);
        }
        self.reselect_pending = true;
        self.reselect(now);
        self.refresh(now);
        Ok(warnings)
    }

    fn set_context(&self) -> SetContext {
        SetContext {
            has_slaves: !self.slaves.is_empty(),
            is_up: self.admin_up,
            slaves: self
                .slaves
                .iter()
                .map(|s| SlaveState {
                    name: s.name.clone(),
                    usable: s.mii.status() == LinkStatus::Up,
                })
                .collect(),
            active_slave: self.active.and_then(|a| self.slave_name(a)).map(str::to_string),
        }
    }

    /// The bond's state as `/proc/net/bonding/BOND` shows it (render it with
    /// [`crate::report::render_proc`]). `driver_version` fills the first line.
    pub fn status(&self, driver_version: &str) -> report::BondStatus {
        let o = &self.opts;
        let ms = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let ad = self.lacp.as_ref().map(|lacp| report::AdStatus {
            lacp_active: o.lacp_active,
            lacp_rate: o.lacp_rate,
            min_links: o.min_links,
            ad_select: o.ad_select,
            system_priority: lacp.config().system_priority,
            system_mac: lacp.config().system,
            active_aggregator: lacp.active_aggregator().map(|a| report::ActiveAggregator {
                id: a.id,
                ports: u32::try_from(a.active_ports).unwrap_or(u32::MAX),
                actor_key: a.actor_key,
                partner_key: a.partner_key,
                partner_mac: a.partner_system,
            }),
        });
        let slaves = self
            .slaves
            .iter()
            .map(|s| {
                let port = s.port.and_then(|p| self.lacp.as_ref()?.port_status(p));
                report::SlaveStatus {
                    name: s.name.clone(),
                    mii_status: s.mii.status(),
                    speed_mbps: s.link.speed_mbps.filter(|_| s.link.up),
                    duplex: match s.link.duplex {
                        lacp::Duplex::Full if s.link.up => Some(report::Duplex::Full),
                        lacp::Duplex::Half if s.link.up => Some(report::Duplex::Half),
                        _ => None,
                    },
                    link_failure_count: s.mii.link_failure_count(),
                    perm_hwaddr: s.perm_mac,
                    queue_id: o.slave(&s.name).queue_id,
                    ad: port.and_then(|p| {
                        Some(report::SlaveAdStatus {
                            aggregator_id: p.aggregator_id?,
                            actor_churn_state: p.actor_churn,
                            partner_churn_state: p.partner_churn,
                            actor_churned_count: u32::try_from(p.actor_churn_count)
                                .unwrap_or(u32::MAX),
                            partner_churned_count: u32::try_from(p.partner_churn_count)
                                .unwrap_or(u32::MAX),
                            actor: p.actor,
                            partner: p.partner,
                        })
                    }),
                }
            })
            .collect();
        report::BondStatus {
            name: self.name.clone(),
            driver_version: driver_version.to_string(),
            mode: o.mode,
            fail_over_mac: o.fail_over_mac,
            xmit_hash_policy: o.xmit_hash_policy,
            tlb_dynamic_lb: o.tlb_dynamic_lb,
            // Linux prints the primary only once it is enslaved.
            primary: o.primary.clone().filter(|p| self.slave_by_name(p).is_some()),
            primary_reselect: o.primary_reselect,
            active_slave: self.active.and_then(|a| self.slave_name(a)).map(str::to_string),
            carrier: self.carrier,
            miimon_ms: o.miimon,
            updelay_ms: ms(o.updelay_ms()),
            downdelay_ms: ms(o.downdelay_ms()),
            peer_notif_delay_ms: ms(o.peer_notif_delay_ms()),
            arp_interval_ms: o.arp_interval,
            arp_missed_max: o.arp_missed_max,
            arp_validate: o.arp_validate,
            arp_targets: o.arp_ip_target.clone(),
            ns_targets: o.ns_ip6_target.clone(),
            ad,
            slaves,
        }
    }

    // ----- outputs -----------------------------------------------------------------------

    /// The next control frame to send.
    pub fn poll_transmit(&mut self) -> Option<BondTransmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<BondEvent> {
        self.events.pop_front()
    }

    /// When [`Bond::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mii = self.slaves.iter().filter_map(|s| s.mii.poll_timeout());
        let lacp = self.lacp.as_ref().and_then(Lacp::poll_timeout);
        mii.chain(lacp).chain(self.notify_next).min()
    }

    // ----- the mode's decisions -------------------------------------------------------------

    /// Linux `bond_select_active_slave` for the modes with an active slave, when a committed
    /// transition asked for it.
    fn reselect(&mut self, now: Instant) {
        let fallback = self.in_lacp_fallback();
        if fallback != self.fallback {
            self.fallback = fallback;
            self.reselect_pending = true;
        }
        if !std::mem::take(&mut self.reselect_pending) {
            return;
        }
        if !self.uses_active_slave() {
            if self.active.take().is_some() {
                self.event(BondEvent::ActiveSlave { slave: None });
            }
            return;
        }
        let best = self.find_best_slave();
        if best != self.active {
            self.change_active(now, best);
        }
    }

    fn uses_active_slave(&self) -> bool {
        match self.opts.mode {
            Mode::ActiveBackup => true,
            Mode::Ieee8023ad => self.in_lacp_fallback(),
            _ => false,
        }
    }

    /// 802.3ad with `lacp_fallback=on` and no partner answering on any port: run as
    /// active-backup (Open vSwitch's `lacp-fallback-ab`).
    fn in_lacp_fallback(&self) -> bool {
        self.opts.lacp_fallback
            && self.lacp.as_ref().is_some_and(|l| {
                l.port_ids().all(|p| l.port_status(p).is_none_or(|s| s.partner.system.is_zero()))
            })
    }

    fn status_of(&self, id: Option<SlaveId>) -> Option<LinkStatus> {
        id.and_then(|id| self.slaves.iter().find(|s| s.id == id)).map(|s| s.mii.status())
    }

    /// Linux `bond_choose_primary_or_current` + `bond_find_best_slave`.
    fn find_best_slave(&mut self) -> Option<SlaveId> {
        let up = |s: &Slave| s.mii.status() == LinkStatus::Up;
        let curr = self.active;
        let curr_up = self.status_of(curr) == Some(LinkStatus::Up);
        let mut prim = self.opts.primary.as_deref().and_then(|p| self.slave_by_name(p));
        let prim_up = self.status_of(prim) == Some(LinkStatus::Up);
        let choice = 'choose: {
            if !prim_up {
                // The highest `prio` among the up slaves (first in enslave order on ties).
                let hprio = self
                    .slaves
                    .iter()
                    .filter(|s| up(s))
                    .fold(None::<&Slave>, |best, s| match best {
                        Some(b)
                            if self.opts.slave(&s.name).prio <= self.opts.slave(&b.name).prio =>
                        {
                            Some(b)
                        }
                        _ => Some(s),
                    })
                    .map(|s| s.id);
                if hprio.is_some() && hprio != curr {
                    prim = hprio;
                } else {
                    break 'choose if curr_up { curr } else { None };
                }
            } else if std::mem::take(&mut self.force_primary) {
                break 'choose prim;
            }
            if !curr_up {
                break 'choose prim;
            }
            let (p, c) = (prim.and_then(|p| self.slave(p)), curr.and_then(|c| self.slave(c)));
            match (p, c, self.opts.primary_reselect) {
                (_, _, PrimaryReselect::Always) => prim,
                (Some(p), Some(c), PrimaryReselect::Better) => {
                    let (ps, cs) = (p.link.speed_mbps.unwrap_or(0), c.link.speed_mbps.unwrap_or(0));
                    let full = |s: &Slave| s.link.duplex == lacp::Duplex::Full;
                    if ps < cs || (ps == cs && full(p) <= full(c)) {
                        curr
                    } else {
                        prim
                    }
                }
                _ => curr,
            }
        };
        if choice.is_some() {
            return choice;
        }
        // No up slave: the one coming back soonest.
        self.slaves
            .iter()
            .filter(|s| s.mii.status() == LinkStatus::Back)
            .min_by_key(|s| s.mii.poll_timeout())
            .map(|s| s.id)
    }

    fn slave(&self, id: SlaveId) -> Option<&Slave> {
        self.slaves.iter().find(|s| s.id == id)
    }

    /// Linux `bond_change_active_slave`.
    fn change_active(&mut self, now: Instant, new: Option<SlaveId>) {
        let old = self.active;
        if let Some(i) = new.and_then(|n| self.slaves.iter().position(|s| s.id == n)) {
            if let Some(saved) = self.slaves[i].mii.force_up(now) {
                let name = self.slaves[i].name.clone();
                self.log(
                    Some(&name),
                    format!("making interface the new active one {} ms earlier", saved.as_millis()),
                );
                self.sync_port(now, i);
            }
        }
        for s in &mut self.slaves {
            s.backup = Some(s.id) != new;
        }
        self.active = new;
        match new.and_then(|n| self.slave_name(n).map(str::to_string)) {
            Some(name) => self.log(Some(&name), "making interface the new active one".to_string()),
            None if old.is_some() => {
                self.log(None, "now running without any active interface!".to_string())
            }
            None => {}
        }
        self.event(BondEvent::ActiveSlave { slave: new });
        if new.is_some() && old.is_some() {
            if self.opts.fail_over_mac == FailOverMac::Active {
                if let Some(mac) = new.and_then(|n| self.slave(n)).map(|s| s.perm_mac) {
                    self.mac = mac;
                    self.event(BondEvent::BondMac { mac });
                }
            }
            // Peer notification: num_grat_arp announcements, peer_notif_delay apart (miimon
            // when 0), the first at the next monitor interval, as Linux does.
            self.notify_left = u32::from(self.opts.num_peer_notif);
            self.notify_next = (self.notify_left > 0).then(|| now + self.notify_interval());
        }
    }

    fn notify_interval(&self) -> Duration {
        let ms = match self.opts.peer_notif_delay_ms() {
            0 => u64::from(self.opts.miimon.max(1)),
            ms => ms,
        };
        Duration::from_millis(ms)
    }

    /// Gratuitous ARPs for every IPv4 address and unsolicited NAs for every IPv6 address, from
    /// the bond's MAC on the active slave.
    fn notify_peers(&mut self, now: Instant) {
        self.notify_left = self.notify_left.saturating_sub(1);
        self.notify_next = (self.notify_left > 0).then(|| now + self.notify_interval());
        let Some(slave) = self.active else { return };
        let mac = self.mac;
        let frames: Vec<Vec<u8>> = self
            .addrs4
            .iter()
            .map(|ip| notify::gratuitous_arp(mac, *ip))
            .chain(self.addrs6.iter().map(|ip| notify::unsolicited_na(mac, *ip)))
            .collect();
        for frame in frames {
            if self.transmits.len() >= QUEUE_LIMIT {
                self.dropped += 1;
                continue;
            }
            self.transmits.push_back(BondTransmit { slave, frame });
        }
    }

    /// Recomputes the plans and the carrier; moves LACP's outputs out.
    fn refresh(&mut self, now: Instant) {
        let _ = now;
        if let Some(lacp) = &mut self.lacp {
            let by_port: Vec<(PortId, SlaveId)> =
                self.slaves.iter().filter_map(|s| s.port.map(|p| (p, s.id))).collect();
            while let Some(tx) = lacp.poll_transmit() {
                if let Some(&(_, slave)) = by_port.iter().find(|(p, _)| *p == tx.port) {
                    if self.transmits.len() < QUEUE_LIMIT {
                        self.transmits.push_back(BondTransmit { slave, frame: tx.frame.to_vec() });
                    } else {
                        self.dropped += 1;
                    }
                }
            }
            let mut lacp_events = Vec::new();
            while let Some(e) = lacp.poll_event() {
                lacp_events.push(e);
            }
            for e in lacp_events {
                self.event(BondEvent::Lacp(e));
            }
        }
        let up: Vec<SlaveId> =
            self.slaves.iter().filter(|s| s.mii.status() == LinkStatus::Up).map(|s| s.id).collect();
        let (tx_slaves, deliver, carrier) = match self.opts.mode {
            Mode::ActiveBackup => {
                let active: Vec<SlaveId> =
                    self.active.into_iter().filter(|a| up.contains(a)).collect();
                let deliver = if self.opts.all_slaves_active { up.clone() } else { active.clone() };
                let carrier = !up.is_empty();
                (active, deliver, carrier)
            }
            Mode::Ieee8023ad => self.lacp_plans(&up),
            _ => (up.clone(), up.clone(), !up.is_empty()),
        };
        let carrier = carrier && self.admin_up;
        let tx = TxPlan {
            mode: self.opts.mode,
            policy: self.opts.xmit_hash_policy,
            packets_per_slave: u32::from(self.opts.packets_per_slave),
            slaves: tx_slaves,
            igmp_slave: self.active.or_else(|| up.first().copied()),
        };
        let rx = RxPlan { deliver };
        if tx != self.tx || rx != self.rx {
            self.tx = tx;
            self.rx = rx;
            self.event(BondEvent::PlanChanged);
        }
        if carrier != self.carrier {
            self.carrier = carrier;
            self.event(BondEvent::Carrier { up: carrier });
        }
    }

    /// 802.3ad: distribution over the active aggregator's distributing ports; `lacp_strict`
    /// drops unpartnered ports; `lacp_fallback` runs active-backup when nobody speaks LACP.
    fn lacp_plans(&self, up: &[SlaveId]) -> (Vec<SlaveId>, Vec<SlaveId>, bool) {
        let Some(lacp) = &self.lacp else { return (Vec::new(), Vec::new(), false) };
        let slave_of = |p: PortId| self.slaves.iter().find(|s| s.port == Some(p)).map(|s| s.id);
        if self.in_lacp_fallback() {
            let active: Vec<SlaveId> = self.active.into_iter().filter(|a| up.contains(a)).collect();
            return (active.clone(), active, !up.is_empty());
        }
        let negotiated = |p: PortId| {
            lacp.port_status(p).is_some_and(|s| {
                let cd = ubond_wire::slow::PortState::COLLECTING
                    | ubond_wire::slow::PortState::DISTRIBUTING;
                s.actor.state.has(cd)
                    && s.partner.state.has(ubond_wire::slow::PortState::SYNCHRONIZATION)
            })
        };
        let tx: Vec<SlaveId> = lacp
            .distributing_ports()
            .iter()
            .filter(|&&p| !self.opts.lacp_strict || negotiated(p))
            .filter_map(|&p| slave_of(p))
            .collect();
        let deliver: Vec<SlaveId> = self
            .slaves
            .iter()
            .filter(|s| {
                s.port.is_some_and(|p| {
                    lacp.is_collecting(p) && (!self.opts.lacp_strict || negotiated(p))
                }) || (self.opts.all_slaves_active && up.contains(&s.id))
            })
            .map(|s| s.id)
            .collect();
        let carrier = if self.opts.lacp_strict {
            tx.len() as u64 >= u64::from(self.opts.min_links.max(1))
        } else {
            lacp.carrier()
        };
        (tx, deliver, carrier)
    }
}

/// LACP's view of a slave: up only when the MII monitor says UP.
fn lacp_link(s: &Slave) -> LinkState {
    if s.mii.status() == LinkStatus::Up {
        LinkState { up: true, ..s.link }
    } else {
        LinkState::down()
    }
}

fn check_supported(opts: &BondOptions) -> Result<(), BondError> {
    match opts.mode {
        Mode::BalanceTlb => return Err(BondError::NotImplemented("mode balance-tlb")),
        Mode::BalanceAlb => return Err(BondError::NotImplemented("mode balance-alb")),
        _ => {}
    }
    if opts.arp_interval > 0 {
        return Err(BondError::NotImplemented("the ARP monitor (arp_interval)"));
    }
    Ok(())
}

pub mod notify;
