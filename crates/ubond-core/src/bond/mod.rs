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
//! unsolicited neighbour advertisements, ARP/NS probes, TLB learning packets, RLB updates)
//! and [`Bond::poll_event`], then call [`Bond::handle_timeout`] at [`Bond::poll_timeout`]
//! (balance-tlb/alb: pass the data path's byte counts with [`Bond::handle_tlb_load`] first).
//!
//! The data path reads [`Bond::tx_plan`] (republished with [`BondEvent::PlanChanged`]) and
//! [`Bond::rx_plan`]; both are plain values, so forwarding threads never wait for the control
//! plane. The one exception is an ARP packet the bond sends in balance-alb
//! ([`TxChoice::ControlPlane`]), which goes through [`Bond::handle_arp_tx`].
//!
//! # Modes and monitors
//!
//! All seven modes: balance-rr, active-backup, balance-xor, broadcast, 802.3ad (through
//! [`Lacp`], with `lacp_strict` and `lacp_fallback`), balance-tlb and balance-alb (through
//! [`alb`] and [`tlb`]). Link state comes from the MII monitor, or from the ARP/NS monitor
//! ([`crate::monitor::arp`]) when `arp_interval` is set in a mode that can use it.

pub mod alb;
pub mod igmp;
pub mod plan;
pub mod tlb;

use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ubond_wire::MacAddr;

use crate::lacp::UnknownSpeed;
use crate::lacp::{self, Lacp, LinkState, PortConfig, PortId};
use crate::monitor::arp::{ArpActions, ArpConfig, ArpMonitor, ArpSlaveView};
use crate::monitor::mii::{LinkStatus, MiiDelays, MiiLink, MiiTransition};
use crate::options::{
    BondOptions, FailOverMac, LacpRate, Mode, OptionError, PrimaryReselect, SetContext, SlaveState,
    Warning,
};
use crate::report;
use crate::time::Instant;

pub use self::plan::{TxChoice, TxPlan};

use self::alb::{Alb, AlbConfig, AlbEvent};
use self::tlb::{AlbMode, TlbLoad};

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
    /// The mode refused the slave (balance-alb: no free MAC address for it).
    Refused(String),
    /// Not a valid interface name (Linux `dev_valid_name`).
    InvalidName(String),
}

impl fmt::Display for BondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BondError::UnknownSlave(s) => write!(f, "{s} is not a slave of this bond"),
            BondError::AlreadyEnslaved(s) => write!(f, "{s} is already a slave of this bond"),
            BondError::TooManySlaves => write!(f, "a bond has at most {MAX_SLAVES} slaves"),
            BondError::Option(e) => write!(f, "{e}"),
            BondError::Refused(why) => write!(f, "{why}"),
            BondError::InvalidName(name) => write!(
                f,
                "{name:?} is not a valid interface name: use 1 to 15 characters without '/', ':' or spaces"
            ),
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
    /// A slave's address must change: to the bond's at enslave time, swapped by
    /// `fail_over_mac=follow`, or (balance-alb) the address RLB gives it — program it into the
    /// interface. In balance-tlb it is only the source address written for that slave.
    SlaveMac {
        /// The slave.
        slave: SlaveId,
        /// Its new address.
        mac: MacAddr,
    },
    /// After a failover (`resend_igmp` times, 200 ms apart): make the IP stack on the bond
    /// re-send its IGMP membership reports, now through `slave` (Linux
    /// `NETDEV_RESEND_IGMP`).
    ResendIgmp {
        /// The new active slave.
        slave: SlaveId,
    },
    /// balance-alb: put a slave's interface into or out of promiscuous mode.
    Promisc {
        /// The slave.
        slave: SlaveId,
        /// On or off.
        on: bool,
    },
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
    /// balance-alb: these (inactive) slaves deliver unicast frames only, their own clients'
    /// traffic ([`alb::rx_deliver`]).
    pub unicast_only: Vec<SlaveId>,
}

impl RxPlan {
    /// The verdict for a data frame (a whole Ethernet frame) received on `slave`.
    pub fn verdict(&self, slave: SlaveId, frame: &[u8]) -> RxVerdict {
        let unicast = frame.first().is_some_and(|b| b & 1 == 0);
        if self.deliver.contains(&slave) || (unicast && self.unicast_only.contains(&slave)) {
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
    /// The address the interface has now (the bond's, its own, or a swapped one).
    mac: MacAddr,
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
    /// The ARP/NS monitor, when `arp_interval` is set (it then owns the slaves' link state).
    arp: Option<ArpMonitor>,
    /// balance-tlb / balance-alb.
    alb: Option<Alb>,
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
    /// `resend_igmp` reports still to ask for after a failover, and when the next is due.
    igmp_left: u32,
    igmp_next: Option<Instant>,
    now: Instant,
    events: VecDeque<BondEvent>,
    transmits: VecDeque<BondTransmit>,
    dropped: u64,
}

impl Bond {
    /// A bond with no slaves. `mac` is the bond's address if the user set one; otherwise the
    /// first slave's permanent address becomes the bond's, as in Linux.
    pub fn new(name: &str, opts: BondOptions, mac: Option<MacAddr>) -> Result<Bond, BondError> {
        if !crate::options::valid_interface_name(name) {
            return Err(BondError::InvalidName(name.to_string()));
        }
        let mut bond = Bond {
            name: name.to_string(),
            tx: TxPlan::empty(opts.mode),
            opts,
            mac: mac.unwrap_or(MacAddr::ZERO),
            admin_up: true,
            slaves: Vec::new(),
            next_id: 1,
            lacp: None,
            arp: None,
            alb: None,
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
            igmp_left: 0,
            igmp_next: None,
            now: Instant::ZERO,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            dropped: 0,
        };
        bond.reset_mode(Instant::ZERO);
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

    /// The address a slave's interface has now (see [`BondEvent::SlaveMac`]).
    pub fn slave_mac(&self, id: SlaveId) -> Option<MacAddr> {
        self.slaves.iter().find(|s| s.id == id).map(|s| s.mac)
    }

    /// A slave's MII link state and failure count.
    pub fn slave_link(&self, id: SlaveId) -> Option<(LinkStatus, u32)> {
        self.slaves.iter().find(|s| s.id == id).map(|s| (self.link_of(s), self.failures_of(s)))
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

    /// The MII monitor watches carrier (with the ARP monitor, link state comes from it instead).
    fn monitored(&self) -> bool {
        self.opts.miimon > 0
    }

    /// (Re)creates the mode's engines: LACP in 802.3ad, TLB/ALB in balance-tlb/alb, and the
    /// ARP monitor when `arp_interval` is set in a mode that can use it.
    fn reset_mode(&mut self, now: Instant) {
        let o = &self.opts;
        self.lacp = (o.mode == Mode::Ieee8023ad).then(|| Lacp::new(o.lacp_config(self.mac)));
        self.alb = self.alb_mode().map(|mode| {
            let cfg = AlbConfig {
                mode,
                dynamic: o.tlb_dynamic_lb || mode == AlbMode::Alb,
                policy: o.xmit_hash_policy,
                lp_interval: o.lp_interval.max(1),
                bond_mac: self.mac,
            };
            Alb::new(now, cfg)
        });
        self.reset_arp(now);
    }

    fn alb_mode(&self) -> Option<AlbMode> {
        match self.opts.mode {
            Mode::BalanceTlb => Some(AlbMode::Tlb),
            Mode::BalanceAlb => Some(AlbMode::Alb),
            _ => None,
        }
    }

    fn reset_arp(&mut self, now: Instant) {
        let wanted = self.opts.arp_interval > 0 && self.opts.mode.uses_arp();
        if !wanted {
            self.arp = None;
            return;
        }
        let cfg = ArpConfig::from_options(&self.opts, &self.addrs4, &self.addrs6);
        if let Some(arp) = &mut self.arp {
            arp.set_config(now, cfg);
            return;
        }
        let mut arp = ArpMonitor::new(cfg);
        for s in &self.slaves {
            arp.add_slave(now, s.id, self.arp_mac(s), s.link.up);
        }
        arp.start(now);
        self.arp = Some(arp);
    }

    /// The MAC a slave sends ARP probes from (the bond's, unless `fail_over_mac` keeps the
    /// slaves' own).
    fn arp_mac(&self, s: &Slave) -> MacAddr {
        if self.opts.fail_over_mac == FailOverMac::None {
            self.mac
        } else {
            s.perm_mac
        }
    }

    /// A slave's link state: from the ARP monitor when it runs, else from the MII monitor.
    fn link_of(&self, s: &Slave) -> LinkStatus {
        match &self.arp {
            Some(arp) => arp.link_status(s.id).unwrap_or(LinkStatus::Down),
            None => s.mii.status(),
        }
    }

    fn failures_of(&self, s: &Slave) -> u32 {
        match &self.arp {
            Some(arp) => arp.link_failure_count(s.id).unwrap_or(0),
            None => s.mii.link_failure_count(),
        }
    }

    fn is_up(&self, s: &Slave) -> bool {
        self.link_of(s) == LinkStatus::Up
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
        if !crate::options::valid_interface_name(&config.name) {
            return Err(BondError::InvalidName(config.name));
        }
        if self.slaves.iter().any(|s| s.name == config.name) {
            return Err(BondError::AlreadyEnslaved(config.name));
        }
        if self.slaves.len() >= MAX_SLAVES {
            return Err(BondError::TooManySlaves);
        }
        if self.mac.is_zero() {
            self.set_mac(now, config.perm_mac);
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
            mac: config.perm_mac,
            port: None,
        });
        let i = self.slaves.len() - 1;
        // Linux gives every slave the bond's address, except in active-backup with
        // fail_over_mac (and in balance-tlb/alb, which manage addresses themselves).
        let keeps_own = self.alb.is_some()
            || (self.opts.mode == Mode::ActiveBackup
                && self.opts.fail_over_mac != FailOverMac::None);
        if !keeps_own && config.perm_mac != self.mac {
            self.slaves[i].mac = self.mac;
            self.event(BondEvent::SlaveMac { slave: id, mac: self.mac });
        }
        if let Some(arp) = &mut self.arp {
            let mac = if self.opts.fail_over_mac == FailOverMac::None {
                self.mac
            } else {
                config.perm_mac
            };
            arp.add_slave(now, id, mac, link.up);
        }
        if let Some(alb) = &mut self.alb {
            let status = self.slaves[i].mii.status();
            let speed = alb_speed(&self.slaves[i], &self.opts);
            if let Err(e) = alb.add_slave(now, id, config.perm_mac, status, speed) {
                self.slaves.pop();
                if let Some(arp) = &mut self.arp {
                    arp.remove_slave(id);
                }
                return Err(BondError::Refused(e.to_string()));
            }
        }
        let up = self.is_up(&self.slaves[i]);
        let role = if self.uses_active_slave() { "a backup" } else { "an active" };
        let link_word = if up { "an up" } else { "a down" };
        self.log(Some(&name), format!("Enslaving as {role} interface with {link_word} link"));
        let port_link = if self.is_up(&self.slaves[i]) {
            LinkState { up: true, ..link }
        } else {
            LinkState::down()
        };
        if let Some(lacp) = &mut self.lacp {
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
        if self.active == Some(id) {
            if let Some(alb) = &mut self.alb {
                alb.handle_active_change(now, None);
            }
        }
        let slave = self.slaves.remove(i);
        if let (Some(lacp), Some(port)) = (&mut self.lacp, slave.port) {
            let _ = lacp.remove_port(now, port);
        }
        if let Some(arp) = &mut self.arp {
            arp.remove_slave(id);
        }
        if let Some(alb) = &mut self.alb {
            alb.remove_slave(now, id);
        }
        self.log(Some(&slave.name), "Releasing backup interface".to_string());
        if self.active == Some(id) {
            self.active = None;
        }
        if self.slaves.is_empty() {
            // Linux keeps the bond's MAC; a new first slave does not change it.
            self.reset_mode(now);
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
        if self.monitored() && self.arp.is_none() {
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
        if self.arp.is_some() && old.up != link.up {
            // The ARP monitor looks at carrier at its next tick; the plans may change now.
            self.reselect_pending = true;
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

    /// Tells LACP and TLB/ALB the slave's usable link state (up only when the monitor says
    /// UP).
    fn sync_port(&mut self, now: Instant, i: usize) {
        let status = self.link_of(&self.slaves[i]);
        let link = if status == LinkStatus::Up {
            LinkState { up: true, ..self.slaves[i].link }
        } else {
            LinkState::down()
        };
        if let (Some(lacp), Some(port)) = (&mut self.lacp, self.slaves[i].port) {
            let _ = lacp.handle_link(now, port, link);
        }
        let speed = alb_speed(&self.slaves[i], &self.opts);
        if let Some(alb) = &mut self.alb {
            alb.handle_link(now, self.slaves[i].id, status, speed);
        }
    }

    /// A frame arrived on a slave.
    pub fn handle_frame(&mut self, now: Instant, id: SlaveId, frame: &[u8]) -> RxVerdict {
        let now = self.clock(now);
        let Ok(i) = self.index(id) else { return RxVerdict::Drop };
        if let (Some(lacp), Some(port)) = (&mut self.lacp, self.slaves[i].port) {
            if lacp.handle_frame(now, port, frame) == lacp::FrameVerdict::Consumed {
                // A partner heard (or lost) may end LACP fallback: choose the active slave now.
                self.reselect(now);
                self.refresh(now);
                return RxVerdict::Consumed;
            }
        }
        let active = self.active == Some(id) || !self.uses_active_slave();
        if let Some(arp) = &mut self.arp {
            // The monitor records liveness; the frame still goes on (RX_HANDLER_ANOTHER).
            arp.handle_frame(now, id, frame, active);
        }
        if let Some(alb) = &mut self.alb {
            if frame.get(12..14) == Some(&[0x08, 0x06][..]) {
                alb.handle_arp_rx(now, id, frame);
                self.refresh(now);
            }
        }
        self.rx.verdict(id, frame)
    }

    /// balance-alb: an ARP packet the bond sends (the data path's [`TxChoice::ControlPlane`]).
    /// Receive load balancing may rewrite its sender MAC; returns the slave to send it on, or
    /// `None` to drop it.
    pub fn handle_arp_tx(&mut self, now: Instant, frame: &mut [u8]) -> Option<SlaveId> {
        let now = self.clock(now);
        let slave = self.alb.as_mut()?.handle_arp_tx(now, frame);
        self.refresh(now);
        slave
    }

    /// balance-tlb/alb: the bytes the data path sent per hash bucket since the last call
    /// (summed over its threads); call it at each [`Bond::poll_timeout`].
    pub fn handle_tlb_load(&mut self, now: Instant, load: &TlbLoad) {
        let now = self.clock(now);
        if let Some(alb) = &mut self.alb {
            alb.handle_load(now, load);
        }
        self.refresh(now);
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
        if let Some(alb) = &mut self.alb {
            alb.handle_timeout(now);
        }
        if self.arp.as_ref().and_then(ArpMonitor::poll_timeout).is_some_and(|t| t <= now) {
            self.arp_tick(now);
        }
        self.reselect(now);
        if self.notify_next.is_some_and(|t| t <= now) {
            self.notify_peers(now);
        }
        if self.igmp_next.is_some_and(|t| t <= now) {
            // Linux bond_resend_igmp_join_requests_delayed: NETDEV_RESEND_IGMP, HZ/5 apart.
            self.igmp_left = self.igmp_left.saturating_sub(1);
            self.igmp_next = (self.igmp_left > 0).then(|| now + Duration::from_millis(200));
            if let Some(slave) = self.active {
                self.event(BondEvent::ResendIgmp { slave });
            }
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
        let now = self.now;
        if self.arp.is_some() {
            self.reset_arp(now);
        }
    }

    /// The bond's MAC changed (first slave, `fail_over_mac=active`, or set by the user).
    fn set_mac(&mut self, now: Instant, mac: MacAddr) {
        self.mac = mac;
        self.event(BondEvent::BondMac { mac });
        if let Some(lacp) = &mut self.lacp {
            if self.opts.ad_actor_system.is_zero() {
                lacp.set_system(now, self.opts.ad_actor_sys_prio, mac);
            }
        }
        if let Some(alb) = &mut self.alb {
            alb.set_bond_mac(now, mac);
        }
        if self.opts.fail_over_mac == FailOverMac::None {
            if let Some(arp) = &mut self.arp {
                for s in &self.slaves {
                    arp.set_slave_mac(s.id, mac);
                }
            }
        }
    }

    /// One ARP monitor interval (Linux `bond_activebackup_arp_mon` /
    /// `bond_loadbalance_arp_mon`): inspect and commit link changes, reselect, then probe.
    fn arp_tick(&mut self, now: Instant) {
        let views: Vec<ArpSlaveView> = self
            .slaves
            .iter()
            .map(|s| ArpSlaveView {
                id: s.id,
                up: s.link.up,
                primary: self.opts.primary.as_deref() == Some(s.name.as_str()),
                prio: self.opts.slave(&s.name).prio,
            })
            .collect();
        let Some(arp) = &mut self.arp else { return };
        let actions = arp.handle_tick(now, &views);
        self.apply_arp(now, &actions);
        if actions.failover {
            self.reselect_pending = true;
            self.reselect(now);
        }
        let Some(arp) = &mut self.arp else { return };
        let probes = arp.probe(now, &views);
        self.apply_arp(now, &probes);
    }

    fn apply_arp(&mut self, now: Instant, actions: &ArpActions) {
        for t in &actions.transitions {
            let Ok(i) = self.index(t.slave) else { continue };
            let name = self.slaves[i].name.clone();
            if t.change.is_logged() {
                self.log(Some(&name), t.change.to_string());
            }
            if matches!(t.change.to(), LinkStatus::Up | LinkStatus::Down) {
                self.sync_port(now, i);
                self.reselect_pending = true;
            }
        }
        for note in &actions.notes {
            self.log(None, note.clone());
        }
        for probe in &actions.probes {
            self.push_transmit(probe.slave, probe.frame.clone());
        }
    }

    fn push_transmit(&mut self, slave: SlaveId, frame: Vec<u8>) {
        if self.transmits.len() >= QUEUE_LIMIT {
            self.dropped += 1;
        } else {
            self.transmits.push_back(BondTransmit { slave, frame });
        }
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
        let old = std::mem::replace(&mut self.opts, opts);
        if old.mode != self.opts.mode {
            self.reset_mode(now);
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
        let arp_changed = (old.arp_interval, &old.arp_ip_target, &old.ns_ip6_target)
            != (self.opts.arp_interval, &self.opts.arp_ip_target, &self.opts.ns_ip6_target)
            || (old.arp_validate, old.arp_all_targets, old.arp_missed_max)
                != (self.opts.arp_validate, self.opts.arp_all_targets, self.opts.arp_missed_max);
        if arp_changed && old.mode == self.opts.mode {
            self.reset_arp(now);
        }
        if let Some(alb) = &mut self.alb {
            let o = &self.opts;
            alb.set_options(now, o.tlb_dynamic_lb, o.xmit_hash_policy, o.lp_interval.max(1));
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
                if self.slaves.iter().any(|s| s.id == id && self.is_up(s)) {
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
                .map(|s| SlaveState { name: s.name.clone(), usable: self.is_up(s) })
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
                    mii_status: self.link_of(s),
                    speed_mbps: s.link.speed_mbps.filter(|_| s.link.up),
                    duplex: match s.link.duplex {
                        lacp::Duplex::Full if s.link.up => Some(report::Duplex::Full),
                        lacp::Duplex::Half if s.link.up => Some(report::Duplex::Half),
                        _ => None,
                    },
                    link_failure_count: self.failures_of(s),
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

    /// Events and frames dropped because their queues were full ([`QUEUE_LIMIT`]).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

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
        let arp = self.arp.as_ref().and_then(ArpMonitor::poll_timeout);
        let alb = self.alb.as_ref().and_then(Alb::poll_timeout);
        mii.chain(lacp).chain(arp).chain(alb).chain(self.notify_next).chain(self.igmp_next).min()
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
            Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb => true,
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
        id.and_then(|id| self.slaves.iter().find(|s| s.id == id)).map(|s| self.link_of(s))
    }

    /// Linux `bond_choose_primary_or_current` + `bond_find_best_slave`.
    fn find_best_slave(&mut self) -> Option<SlaveId> {
        let up = |s: &Slave| self.is_up(s);
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
            .filter(|s| self.link_of(s) == LinkStatus::Back)
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
        if let Some(arp) = &mut self.arp {
            if arp.set_active_slave(now, new) {
                if let Some(name) = new.and_then(|n| self.slave_name(n)).map(str::to_string) {
                    self.log(
                        Some(&name),
                        "making interface the new active one 0 ms earlier".to_string(),
                    );
                }
            }
        }
        if let Some(alb) = &mut self.alb {
            alb.handle_active_change(now, new);
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
        if new.is_some() && self.opts.resend_igmp > 0 {
            self.igmp_left = u32::from(self.opts.resend_igmp);
            self.igmp_next = Some(now);
        }
        if new.is_some() && self.opts.mode == Mode::ActiveBackup {
            self.do_fail_over_mac(now, new, old);
        }
        if new.is_some() && old.is_some() && self.alb.is_none() {
            // Peer notification: num_grat_arp announcements, peer_notif_delay apart (miimon
            // when 0), the first at the next monitor interval, as Linux does.
            self.notify_left = u32::from(self.opts.num_peer_notif);
            self.notify_next = (self.notify_left > 0).then(|| now + self.notify_interval());
        }
    }

    /// Linux `bond_do_fail_over_mac` (active-backup only).
    fn do_fail_over_mac(&mut self, now: Instant, new: Option<SlaveId>, old: Option<SlaveId>) {
        let Some(n) = new.and_then(|n| self.slaves.iter().position(|s| s.id == n)) else { return };
        match self.opts.fail_over_mac {
            FailOverMac::None => {}
            // The bond takes the new active slave's address.
            FailOverMac::Active => {
                let mac = self.slaves[n].mac;
                if mac != self.mac {
                    self.set_mac(now, mac);
                }
            }
            // The new active slave takes the bond's address; the old one gets the new one's.
            FailOverMac::Follow => {
                let old =
                    old.and_then(|o| self.slaves.iter().position(|s| s.id == o)).or_else(|| {
                        (0..self.slaves.len()).find(|&j| j != n && self.slaves[j].mac == self.mac)
                    });
                let new_mac = match old {
                    Some(o) => self.slaves[o].mac,
                    None => self.mac,
                };
                let previous = std::mem::replace(&mut self.slaves[n].mac, new_mac);
                let id = self.slaves[n].id;
                self.event(BondEvent::SlaveMac { slave: id, mac: new_mac });
                if let Some(o) = old {
                    self.slaves[o].mac = previous;
                    let id = self.slaves[o].id;
                    self.event(BondEvent::SlaveMac { slave: id, mac: previous });
                }
            }
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
            self.push_transmit(slave, frame);
        }
    }

    /// Recomputes the plans and the carrier; moves LACP's outputs out.
    fn refresh(&mut self, now: Instant) {
        let _ = now;
        if let Some(lacp) = &mut self.lacp {
            let by_port: Vec<(PortId, SlaveId)> =
                self.slaves.iter().filter_map(|s| s.port.map(|p| (p, s.id))).collect();
            let mut frames = Vec::new();
            while let Some(tx) = lacp.poll_transmit() {
                if let Some(&(_, slave)) = by_port.iter().find(|(p, _)| *p == tx.port) {
                    frames.push((slave, tx.frame.to_vec()));
                }
            }
            let mut lacp_events = Vec::new();
            while let Some(e) = lacp.poll_event() {
                lacp_events.push(e);
            }
            for (slave, frame) in frames {
                self.push_transmit(slave, frame);
            }
            for e in lacp_events {
                self.event(BondEvent::Lacp(e));
            }
        }
        let mut table_changed = false;
        if let Some(alb) = &mut self.alb {
            let mut frames = Vec::new();
            while let Some(tx) = alb.poll_transmit() {
                frames.push(tx);
            }
            let mut alb_events = Vec::new();
            while let Some(e) = alb.poll_event() {
                alb_events.push(e);
            }
            for tx in frames {
                self.push_transmit(tx.slave, tx.frame);
            }
            for e in alb_events {
                match e {
                    AlbEvent::TableChanged => table_changed = true,
                    AlbEvent::SlaveMac { slave, mac } => {
                        self.event(BondEvent::SlaveMac { slave, mac })
                    }
                    AlbEvent::Promisc { slave, on } => self.event(BondEvent::Promisc { slave, on }),
                    AlbEvent::Log { slave, message } => {
                        let name = slave.and_then(|s| self.slave_name(s)).map(str::to_string);
                        self.log(name.as_deref(), message);
                    }
                }
            }
        }
        let up: Vec<SlaveId> = self.slaves.iter().filter(|s| self.is_up(s)).map(|s| s.id).collect();
        let active: Vec<SlaveId> = self.active.into_iter().filter(|a| up.contains(a)).collect();
        let mut unicast_only = Vec::new();
        let (tx_slaves, deliver, carrier) = match self.opts.mode {
            Mode::ActiveBackup => {
                let mut deliver =
                    if self.opts.all_slaves_active { up.clone() } else { active.clone() };
                // The slave the ARP monitor probes from receives like the active one.
                if let Some(probing) = self.arp.as_ref().and_then(ArpMonitor::current_arp_slave) {
                    if !deliver.contains(&probing) {
                        deliver.push(probing);
                    }
                }
                (active.clone(), deliver, !up.is_empty())
            }
            Mode::BalanceTlb | Mode::BalanceAlb => {
                let deliver = if self.opts.all_slaves_active { up.clone() } else { active.clone() };
                if self.opts.mode == Mode::BalanceAlb {
                    unicast_only = up.iter().copied().filter(|s| !deliver.contains(s)).collect();
                }
                (up.clone(), deliver, !up.is_empty())
            }
            Mode::Ieee8023ad => self.lacp_plans(&up),
            _ => (up.clone(), up.clone(), !up.is_empty()),
        };
        let carrier = carrier && self.admin_up;
        let tlb = self.alb.as_ref().map(|alb| alb.tx_table().clone());
        let tx = TxPlan {
            mode: self.opts.mode,
            policy: self.opts.xmit_hash_policy,
            packets_per_slave: u32::from(self.opts.packets_per_slave),
            slaves: tx_slaves,
            igmp_slave: self.active.or_else(|| up.first().copied()),
            tlb,
        };
        let rx = RxPlan { deliver, unicast_only };
        if table_changed || tx != self.tx || rx != self.rx {
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

/// The speed TLB/ALB balance by: the slave's, or the `ad_unknown_speed` assumption (Linux
/// keeps a slave without speed down in these modes; `ad_unknown_speed=refuse` gives 0).
fn alb_speed(s: &Slave, opts: &BondOptions) -> u32 {
    match (s.link.speed_mbps, opts.ad_unknown_speed) {
        (Some(mbps), _) => mbps,
        (None, UnknownSpeed::Assume(mbps)) => mbps,
        (None, UnknownSpeed::Refuse) => 0,
    }
}

pub mod notify;
