//! A bond: slaves, link monitoring, the mode's choice of slaves, and 802.3ad through
//! [`Lacp`] — the sans-IO equivalent of a Linux `bonding` device.
//!
//! # Driver contract
//!
//! Like [`Lacp`], a [`Bond`] is sans-IO and deterministic. Inputs carry `now`:
//! [`Bond::enslave`], [`Bond::release`], [`Bond::handle_link`] (carrier, speed, duplex of a
//! slave), [`Bond::handle_frame`] (every frame received on a slave: control frames are consumed,
//! data frames get a deliver/drop verdict), [`Bond::handle_timeout`] (or
//! [`Bond::handle_timeout_with_load`], see below), [`Bond::set_option`],
//! [`Bond::set_slave_option`], [`Bond::set_admin_up`], [`Bond::set_addresses`] and
//! [`Bond::handle_arp_tx`]. After each input, drain [`Bond::poll_transmit`] (control frames to
//! send on a slave: LACPDUs, gratuitous ARPs, unsolicited neighbour advertisements, ARP/NS
//! probes, TLB learning packets, RLB updates) and [`Bond::poll_event`], then call the timeout
//! entry at [`Bond::poll_timeout`].
//!
//! Every input ends in one place, `after_input`: when the input may have changed anything
//! (every input but a data frame that nothing consumed), it reselects the active slave if a
//! transition asked for it or LACP fallback began or ended, moves the engines' frames and
//! events out, and derives the plans and the carrier again. No input can skip a step;
//! [`Bond::check_invariants`] checks the result.
//!
//! # The data path
//!
//! The data path reads [`Bond::tx_plan`] (republished with [`BondEvent::PlanChanged`]) and
//! [`Bond::rx_plan`]; both are plain values, so forwarding threads never wait for the control
//! plane. Each thread sends with [`TxPlan::decide`] and its own [`TxCursor`]; the driver's timer
//! calls [`Bond::handle_timeout_with_load`] with the cursor's byte counts (balance-tlb/alb
//! balance by them). The one frame that needs the control plane is an ARP packet the bond
//! sends in balance-alb ([`TxDecision::ControlPlane`]): it goes through
//! [`Bond::handle_arp_tx`].
//!
//! # Modes, monitors and modules
//!
//! All seven modes: balance-rr, active-backup, balance-xor, broadcast, 802.3ad (through
//! [`Lacp`], with `lacp_strict` and `lacp_fallback`), balance-tlb and balance-alb (through
//! [`alb`] and [`tlb`]); one engine per mode (`engine`). Link state comes from the MII monitor,
//! or from the ARP/NS monitor ([`crate::monitor::arp`]) when `arp_interval` is set in a mode
//! that can use it. With `bfd=on`, micro-BFD (RFC 7130, [`crate::bfd`]) runs a session on every
//! slave and gates it on top of all that (`bfd`: a slave carries traffic only while its
//! session is Up). The active slave and `fail_over_mac` are in `active`, the announcements
//! after a failover in [`notify`], the members and their identities in `slave`, the report in
//! `status`, errors by who is at fault in `error`.

mod active;
pub mod alb;
mod bfd;
mod config;
pub mod copies;
mod engine;
mod error;
pub mod filter;
pub mod igmp;
mod invariants;
mod links;
pub mod notify;
mod output;
pub mod plan;
mod resume;
mod slave;
mod status;
pub mod tlb;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ubond_wire::MacAddr;

use crate::lacp::{self, Lacp, LacpError, LinkState, PortConfig, PortId, UnknownSpeed};
use crate::monitor::mii::{LinkStatus, MiiDelays, MiiLink};
use crate::options::{BondOptions, FailOverMac, Mode};
use crate::time::Instant;

pub use self::error::{BondError, ConfigError, EnvironmentError, Misuse};
pub use self::filter::SlaveFilter;
pub use self::output::{BondEvent, BondTransmit, QUEUE_LIMIT};
pub use self::plan::{
    is_data_frame, HashRoute, HashRoutes, Ipv4Route, Ipv4Routes, RrRoutes, RxPlan, RxRedirect,
    RxVerdict, TxChoice, TxCursor, TxDecision, TxPlan, RR_KEYS_MAX,
};
pub use self::slave::{SlaveConfig, SlaveId};

use self::active::ActiveSlave;
use self::alb::AlbEvent;
use self::engine::{Engine, Plans};
use self::notify::PeerNotify;
use self::output::Outputs;
use self::slave::Slave;
use self::tlb::TlbLoad;

/// Most slaves one bond may have.
pub const MAX_SLAVES: usize = lacp::MAX_PORTS;

/// A bond. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Bond {
    name: String,
    opts: BondOptions,
    mac: MacAddr,
    admin_up: bool,
    /// In enslave order.
    slaves: Vec<Slave>,
    next_id: u32,
    /// The mode's engine: exactly one, so no state exists that only some modes read.
    engine: Engine,
    /// Micro-BFD on the members (`bfd=on`), a gate on top of the engine's.
    bfd: self::bfd::BondBfd,
    active: ActiveSlave,
    notify: PeerNotify,
    addrs4: Vec<Ipv4Addr>,
    addrs6: Vec<Ipv6Addr>,
    /// What the data path reads, and the carrier, as last published.
    plans: Plans,
    /// Broadcast's TCP segments delivered lately ([`RxPlan::copies`]).
    copies: copies::RxCopies,
    /// The current input may have changed what the plans derive from.
    stale: bool,
    now: Instant,
    out: Outputs,
}

impl Bond {
    /// A bond with no slaves. `mac` is the bond's address if the user set one; otherwise the
    /// first slave's permanent address becomes the bond's, as in Linux.
    pub fn new(name: &str, opts: BondOptions, mac: Option<MacAddr>) -> Result<Bond, BondError> {
        if !crate::options::valid_interface_name(name) {
            return Err(ConfigError::InvalidName(name.to_string()).into());
        }
        let mut bond = Bond {
            name: name.to_string(),
            plans: Plans { tx: TxPlan::empty(opts.mode), rx: RxPlan::default(), carrier: false },
            copies: copies::RxCopies::default(),
            opts,
            mac: mac.unwrap_or(MacAddr::ZERO),
            admin_up: true,
            slaves: Vec::new(),
            next_id: 1,
            engine: Engine::Mii,
            bfd: self::bfd::BondBfd::default(),
            active: ActiveSlave { reselect_pending: true, ..ActiveSlave::default() },
            notify: PeerNotify::default(),
            addrs4: Vec::new(),
            addrs6: Vec::new(),
            stale: true,
            now: Instant::ZERO,
            out: Outputs::default(),
        };
        bond.reset_mode(Instant::ZERO);
        bond.after_input(Instant::ZERO);
        Ok(bond)
    }

    // ----- queries -------------------------------------------------------------------------

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
        self.plans.carrier
    }

    /// The active slave (active-backup, balance-tlb/alb, LACP fallback).
    pub fn active_slave(&self) -> Option<SlaveId> {
        self.active.current
    }

    /// The data path's transmit plan.
    pub fn tx_plan(&self) -> &TxPlan {
        &self.plans.tx
    }

    /// The data path's receive plan.
    pub fn rx_plan(&self) -> &RxPlan {
        &self.plans.rx
    }

    /// The 802.3ad engine, in 802.3ad mode.
    pub fn lacp(&self) -> Option<&Lacp> {
        self.engine.lacp()
    }

    /// Slave handles in enslave order.
    pub fn slave_ids(&self) -> impl Iterator<Item = SlaveId> + '_ {
        self.slaves.iter().map(|s| s.id)
    }

    /// A slave's name.
    pub fn slave_name(&self, id: SlaveId) -> Option<&str> {
        self.slave(id).map(|s| s.name.as_str())
    }

    /// A slave's handle by name.
    pub fn slave_by_name(&self, name: &str) -> Option<SlaveId> {
        self.slaves.iter().find(|s| s.name == name).map(|s| s.id)
    }

    /// The address a slave's interface has now (see [`BondEvent::SlaveMac`]).
    pub fn slave_mac(&self, id: SlaveId) -> Option<MacAddr> {
        self.slave(id).map(|s| s.mac)
    }

    /// A slave's link state and failure count (from the MII monitor, or the ARP monitor when
    /// it runs).
    pub fn slave_link(&self, id: SlaveId) -> Option<(LinkStatus, u32)> {
        self.slave(id).map(|s| (self.engine.link_of(s), self.engine.failures_of(s)))
    }

    /// A slave's LACP port, in 802.3ad mode (the mapping is documented in the `slave` module).
    pub fn slave_port(&self, id: SlaveId) -> Option<PortId> {
        self.slave(id).and_then(|s| s.port)
    }

    /// The slave of a LACP port, in 802.3ad mode: names the ports of [`BondEvent::Lacp`].
    pub fn slave_of_port(&self, port: PortId) -> Option<SlaveId> {
        self.slaves.iter().find(|s| s.port == Some(port)).map(|s| s.id)
    }

    fn slave(&self, id: SlaveId) -> Option<&Slave> {
        self.slaves.iter().find(|s| s.id == id)
    }

    fn index(&self, id: SlaveId) -> Result<usize, BondError> {
        self.slaves.iter().position(|s| s.id == id).ok_or(Misuse::UnknownSlave(id).into())
    }

    fn is_up(&self, s: &Slave) -> bool {
        self.engine.link_of(s) == LinkStatus::Up
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

    // ----- the one way every input goes ----------------------------------------------------

    /// Runs an input that may change the bond's state: the clock, the input, then
    /// [`Bond::after_input`].
    fn input<R>(&mut self, now: Instant, f: impl FnOnce(&mut Bond, Instant) -> R) -> R {
        self.now = self.now.max(now);
        let now = self.now;
        self.stale = true;
        let r = f(self, now);
        self.skip_updelay_when_none_usable(now);
        self.after_input(now);
        r
    }

    /// Linux `bond_miimon_inspect`: while no slave is usable, the first slave (in enslave
    /// order) whose link is coming back is used at once, `updelay` or not — at the MII
    /// monitor's next tick there; here as soon as it is so (right after enslaving too). In
    /// active-backup the reselection does it ("made the new active one N ms earlier").
    /// (Linux decides it from its slave array, which balance-rr and broadcast lack, so they
    /// honour updelay even then; here they follow the documented rule as the other modes.)
    fn skip_updelay_when_none_usable(&mut self, now: Instant) {
        if !self.monitored()
            || matches!(self.engine, Engine::Arp(_))
            || self.opts.mode == Mode::ActiveBackup
            || self.slaves.iter().any(|s| s.mii.status() == LinkStatus::Up)
        {
            return;
        }
        let delays = self.delays();
        if let Some(i) = self.slaves.iter().position(|s| s.mii.status() == LinkStatus::Back) {
            let transitions = self.slaves[i].mii.skip_updelay(now, delays);
            for t in transitions.iter() {
                self.on_transition(now, i, t);
            }
        }
    }

    /// What every input ends with, if it may have changed anything: the active slave is
    /// chosen again when a transition asked for it or LACP fallback began or ended, the
    /// engines' frames and events move out, and the plans and the carrier are derived again
    /// (published with [`BondEvent::PlanChanged`] and [`BondEvent::Carrier`] when they change).
    fn after_input(&mut self, now: Instant) {
        if !std::mem::take(&mut self.stale) {
            return;
        }
        // Micro-BFD first: a session that went down asks for the reselection below.
        self.sync_bfd(now);
        self.take_bfd_outputs();
        self.reselect(now);
        let table_changed = self.take_engine_outputs();
        let plans = self.derive_plans();
        let Plans { tx, rx, carrier } = plans;
        if table_changed || tx != self.plans.tx || rx != self.plans.rx {
            self.plans.tx = tx;
            self.plans.rx = rx;
            self.out.event(BondEvent::PlanChanged);
        }
        if carrier != self.plans.carrier {
            self.plans.carrier = carrier;
            self.out.event(BondEvent::Carrier { up: carrier });
        }
    }

    /// Moves LACP's and TLB/ALB's frames and events to the bond's queues (LACP's ports become
    /// slaves). True if the balancer republished its table.
    fn take_engine_outputs(&mut self) -> bool {
        let mut table_changed = false;
        match &mut self.engine {
            Engine::Lacp(e) => {
                while let Some(tx) = e.lacp.poll_transmit() {
                    if let Some(s) = self.slaves.iter().find(|s| s.port == Some(tx.port)) {
                        self.out.transmit(s.id, tx.frame.to_vec());
                    }
                }
                while let Some(ev) = e.lacp.poll_event() {
                    self.out.event(BondEvent::Lacp(ev));
                }
            }
            Engine::Alb(alb) => {
                while let Some(tx) = alb.poll_transmit() {
                    self.out.transmit(tx.slave, tx.frame);
                }
                while let Some(ev) = alb.poll_event() {
                    match ev {
                        AlbEvent::TableChanged => table_changed = true,
                        AlbEvent::SlaveMac { slave, mac } => {
                            // The slave's interface has that address from now on
                            // (`slave_mac`): the data paths' view of it changes.
                            if let Some(s) = self.slaves.iter_mut().find(|s| s.id == slave) {
                                s.mac = mac;
                            }
                            table_changed = true;
                            self.out.event(BondEvent::SlaveMac { slave, mac })
                        }
                        AlbEvent::Promisc { slave, on } => {
                            self.out.event(BondEvent::Promisc { slave, on })
                        }
                        AlbEvent::Log { slave, message } => {
                            let name = slave
                                .and_then(|id| self.slaves.iter().find(|s| s.id == id))
                                .map(|s| s.name.as_str());
                            self.out.log(name, message);
                        }
                    }
                }
            }
            Engine::Mii | Engine::Arp(_) => {}
        }
        table_changed
    }

    /// A LACP call on a port the bond maps cannot fail while the mapping holds (see
    /// [`Bond::check_invariants`]); should it fail, it is said, not ignored.
    fn lacp_result(&mut self, what: &str, r: Result<(), LacpError>) {
        debug_assert!(r.is_ok(), "{what}: {r:?}");
        if let Err(e) = r {
            self.out.log(None, format!("internal error: {what}: {e}"));
        }
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Enslaves an interface (`ip link set IFACE master BOND`).
    pub fn enslave(
        &mut self,
        now: Instant,
        config: SlaveConfig,
        link: LinkState,
    ) -> Result<SlaveId, BondError> {
        self.input(now, |b, now| b.on_enslave(now, config, link, true))
    }

    /// `fresh`: a new enslavement (a slave a restarted driver adopts is not, see
    /// [`Bond::adopt`]).
    pub(super) fn on_enslave(
        &mut self,
        now: Instant,
        config: SlaveConfig,
        link: LinkState,
        fresh: bool,
    ) -> Result<SlaveId, BondError> {
        if !crate::options::valid_interface_name(&config.name) {
            return Err(ConfigError::InvalidName(config.name).into());
        }
        if self.slaves.iter().any(|s| s.name == config.name) {
            return Err(Misuse::AlreadyEnslaved(config.name).into());
        }
        if self.slaves.len() >= MAX_SLAVES {
            return Err(Misuse::TooManySlaves.into());
        }
        if self.mac.is_zero() {
            self.set_mac(now, config.perm_mac);
        }
        let id = SlaveId(self.next_id);
        self.next_id += 1;
        // Linux bond_enslave: with MII monitoring the carrier decides (going back under
        // updelay); without any monitoring the slave is simply up.
        let carrier = link.up || !self.monitored();
        let delays = if self.monitored() { self.delays() } else { MiiDelays::default() };
        let name = config.name.clone();
        self.slaves.push(Slave {
            id,
            name: config.name,
            perm_mac: config.perm_mac,
            mii: MiiLink::new(now, carrier, delays),
            link,
            mac: config.perm_mac,
            port: None,
        });
        let i = self.slaves.len() - 1;
        // Linux gives every slave the bond's address, except in active-backup with
        // fail_over_mac (and in balance-tlb/alb, which manage addresses themselves).
        let keeps_own = matches!(self.engine, Engine::Alb(_))
            || (self.opts.mode == Mode::ActiveBackup
                && self.opts.fail_over_mac != FailOverMac::None);
        if !keeps_own && config.perm_mac != self.mac {
            self.slaves[i].mac = self.mac;
            self.out.event(BondEvent::SlaveMac { slave: id, mac: self.mac });
        } else if self.opts.mode == Mode::ActiveBackup
            && self.opts.fail_over_mac == FailOverMac::Follow
            && i > 0
            && config.perm_mac == self.mac
        {
            // fail_over_mac=follow: a slave that joins with the bond's address (the first
            // slave, released and enslaved again) gets another one, or two slaves would have
            // it after the next failover (Linux `bond_enslave`: a random address).
            let mac = self::active::arbitrary_mac(self.mac, &name, id);
            self.slaves[i].mac = mac;
            self.out.event(BondEvent::SlaveMac { slave: id, mac });
        }
        let arp_mac = self.arp_mac(&self.slaves[i]);
        let speed = alb_speed(&self.slaves[i], &self.opts);
        match &mut self.engine {
            Engine::Arp(arp) => {
                arp.add_slave(now, id, arp_mac, link.up);
            }
            Engine::Alb(alb) => {
                let status = self.slaves[i].mii.status();
                if let Err(e) = alb.add_slave(now, id, config.perm_mac, status, speed) {
                    self.slaves.pop();
                    return Err(EnvironmentError::MacAddress(e).into());
                }
            }
            Engine::Mii | Engine::Lacp(_) => {}
        }
        // Linux bond_enslave: the primary slave, once enslaved, is made the active one at the
        // next reselection where it is up, whatever primary_reselect says ("When initially
        // enslaved, the primary slave is always made the active slave", bonding.rst).
        if fresh
            && matches!(self.opts.mode, Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb)
            && self.opts.primary.as_deref() == Some(name.as_str())
        {
            self.active.force_primary = true;
        }
        let up = self.is_up(&self.slaves[i]);
        let role = if self.uses_active_slave() { "a backup" } else { "an active" };
        let link_word = if up { "an up" } else { "a down" };
        self.out.log(Some(&name), format!("Enslaving as {role} interface with {link_word} link"));
        if let Engine::Lacp(e) = &mut self.engine {
            let slave = &self.slaves[i];
            let config = PortConfig {
                mac: slave.perm_mac,
                port_priority: self.opts.slave(&slave.name).actor_port_prio,
            };
            let port_link = if up { LinkState { up: true, ..link } } else { LinkState::down() };
            match e.lacp.add_port(now, config, port_link) {
                Ok(port) => self.slaves[i].port = Some(port),
                // MAX_SLAVES is LACP's limit too, checked above.
                Err(_) => {
                    self.slaves.pop();
                    return Err(Misuse::TooManySlaves.into());
                }
            }
        }
        self.active.reselect_pending = true;
        Ok(id)
    }

    /// Releases a slave (`ip link set IFACE nomaster`).
    pub fn release(&mut self, now: Instant, id: SlaveId) -> Result<(), BondError> {
        self.input(now, |b, now| b.on_release(now, id))
    }

    fn on_release(&mut self, now: Instant, id: SlaveId) -> Result<(), BondError> {
        let i = self.index(id)?;
        let was_active = self.active.current == Some(id);
        if let (Engine::Alb(alb), true) = (&mut self.engine, was_active) {
            alb.handle_active_change(now, None);
        }
        let slave = self.slaves.remove(i);
        match &mut self.engine {
            Engine::Lacp(e) => {
                if let Some(port) = slave.port {
                    let r = e.lacp.remove_port(now, port);
                    self.lacp_result("remove_port", r);
                }
            }
            Engine::Arp(arp) => arp.remove_slave(id),
            Engine::Alb(alb) => alb.remove_slave(now, id),
            Engine::Mii => {}
        }
        self.out.log(Some(&slave.name), "Releasing backup interface".to_string());
        if was_active {
            self.active.current = None;
        }
        if self.slaves.is_empty() {
            // Linux keeps the bond's MAC; a new first slave does not change it.
            self.reset_mode(now);
        }
        self.active.reselect_pending = true;
        Ok(())
    }

    /// A frame arrived on a slave. A control frame is consumed; a data frame gets the
    /// receive plan's verdict and changes nothing (the per-frame path), except an ARP frame in
    /// balance-alb, which receive load balancing learns from first.
    ///
    /// Micro-BFD packets (`bfd=on`) are consumed too, accepted or dropped and counted; their
    /// UDP checksum is verified here (see [`Bond::handle_frame_with_checksum`] for a driver
    /// whose kernel verified it, or whose local sender left it to offload).
    pub fn handle_frame(&mut self, now: Instant, id: SlaveId, frame: &[u8]) -> RxVerdict {
        self.handle_frame_with_checksum(now, id, frame, crate::bfd::UdpChecksum::Verify)
    }

    /// True if the frame was a control frame the bond consumed. Marks the bond stale only
    /// when something the plans derive from may have changed.
    fn on_frame(&mut self, now: Instant, id: SlaveId, frame: &[u8]) -> bool {
        let Some(s) = self.slaves.iter().find(|s| s.id == id) else { return false };
        match &mut self.engine {
            Engine::Lacp(e) => {
                let Some(port) = s.port else { return false };
                if e.lacp.handle_frame(now, port, frame) == lacp::FrameVerdict::Consumed {
                    // Also a partner heard or lost, which may end LACP fallback.
                    self.stale = true;
                    return true;
                }
            }
            Engine::Arp(arp) => {
                // The monitor records liveness; the frame still goes on (RX_HANDLER_ANOTHER).
                let active =
                    self.active.current == Some(id) || self.opts.mode != Mode::ActiveBackup;
                arp.handle_frame(now, id, frame, active);
            }
            Engine::Alb(alb) => {
                if frame.get(12..14) == Some(&[0x08, 0x06][..]) {
                    alb.handle_arp_rx(frame);
                    self.stale = true;
                }
            }
            Engine::Mii => {}
        }
        false
    }

    /// Frames a data path received on slave `id` and delivered without handing them to
    /// [`Bond::handle_frame`] (an in-kernel fast path, which keeps only the time of the
    /// last): `any` when the last frame for this host arrived, `arp_or_ipv6` the last ARP or
    /// IPv6 one (times after `now` count as `now`). For the ARP monitor, which counts them as
    /// traffic where it does not validate (`ArpMonitor::handle_traffic`); the ARP, NS and NA
    /// frames it validates must still come through `handle_frame`. Changes no plan.
    pub fn handle_rx_seen(
        &mut self,
        now: Instant,
        id: SlaveId,
        any: Option<Instant>,
        arp_or_ipv6: Option<Instant>,
    ) {
        self.now = self.now.max(now);
        let now = self.now;
        if let Engine::Arp(arp) = &mut self.engine {
            let active = self.active.current == Some(id) || self.opts.mode != Mode::ActiveBackup;
            let clamp = |t: Option<Instant>| t.map(|t| t.min(now));
            arp.handle_traffic(id, clamp(any), clamp(arp_or_ipv6), active);
        }
    }

    /// balance-alb: an ARP packet the bond sends (the data path's
    /// [`TxDecision::ControlPlane`]). Receive load balancing may rewrite its sender MAC;
    /// returns the slave to send it on, or `None` to drop it.
    pub fn handle_arp_tx(&mut self, now: Instant, frame: &mut [u8]) -> Option<SlaveId> {
        self.input(now, |b, _| match &mut b.engine {
            Engine::Alb(alb) => alb.handle_arp_tx(frame),
            _ => None,
        })
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.input(now, Bond::on_timeout);
    }

    /// Time passed, for a driver with a data path: first the bytes its data path sent per
    /// balance-tlb/alb bucket since the last call (`load`, filled by [`TxPlan::decide`]; zeroed
    /// here), then [`Bond::handle_timeout`]'s work. Call it at each [`Bond::poll_timeout`]
    /// (sum the load of several forwarding threads with [`TlbLoad::merge`] first).
    pub fn handle_timeout_with_load(&mut self, now: Instant, load: &mut TlbLoad) {
        self.input(now, |b, now| {
            if let Engine::Alb(alb) = &mut b.engine {
                alb.handle_load(load);
            }
            load.clear();
            b.on_timeout(now);
        });
    }

    fn on_timeout(&mut self, now: Instant) {
        let delays = self.delays();
        for i in 0..self.slaves.len() {
            let transitions = self.slaves[i].mii.handle_timeout(now, delays);
            for t in transitions.iter() {
                self.on_transition(now, i, t);
            }
        }
        match &mut self.engine {
            Engine::Lacp(e) => e.lacp.handle_timeout(now),
            Engine::Alb(alb) => alb.handle_timeout(now),
            Engine::Arp(arp) => {
                if arp.poll_timeout().is_some_and(|t| t <= now) {
                    self.arp_tick(now);
                }
            }
            Engine::Mii => {}
        }
        if let Some(m) = self.bfd.micro.as_mut() {
            m.handle_timeout(now);
        }
        // Before the announcements: a failover now starts them now.
        self.take_bfd_outputs();
        self.reselect(now);
        self.notify_on_timeout(now);
    }

    /// Brings the bond up or down administratively (`ip link set BOND up|down`).
    /// The ARP/NS monitor runs only while the bond is up (Linux `bond_open` starts its work,
    /// `bond_close` cancels it): a bond that is down sends no probes.
    pub fn set_admin_up(&mut self, now: Instant, up: bool) {
        self.input(now, |b, now| {
            let was = std::mem::replace(&mut b.admin_up, up);
            if let Engine::Arp(arp) = &mut b.engine {
                match (was, up) {
                    (false, true) => arp.start(now),
                    (true, false) => arp.stop(),
                    _ => {}
                }
            }
        });
    }

    /// The bond's own addresses, announced to peers after a failover and used by the ARP/NS
    /// monitor as sources.
    pub fn set_addresses(&mut self, v4: Vec<Ipv4Addr>, v6: Vec<Ipv6Addr>) {
        let now = self.now;
        self.input(now, |b, now| {
            b.addrs4 = v4;
            b.addrs6 = v6;
            if matches!(b.engine, Engine::Arp(_)) {
                b.reset_arp(now);
            }
        });
    }

    /// The bond's MAC changed (first slave, `fail_over_mac=active`, or set by the user).
    fn set_mac(&mut self, now: Instant, mac: MacAddr) {
        self.mac = mac;
        self.out.event(BondEvent::BondMac { mac });
        match &mut self.engine {
            Engine::Lacp(e) => {
                if self.opts.ad_actor_system.is_zero() {
                    e.lacp.set_system(now, self.opts.ad_actor_sys_prio, mac);
                }
            }
            Engine::Alb(alb) => alb.set_bond_mac(now, mac),
            Engine::Arp(arp) => {
                if self.opts.fail_over_mac == FailOverMac::None {
                    for s in &self.slaves {
                        arp.set_slave_mac(s.id, mac);
                    }
                }
            }
            Engine::Mii => {}
        }
    }

    // ----- outputs -----------------------------------------------------------------------

    /// Events and frames dropped because their queues were full ([`QUEUE_LIMIT`]).
    pub fn dropped(&self) -> u64 {
        self.out.dropped
    }

    /// The next control frame to send.
    pub fn poll_transmit(&mut self) -> Option<BondTransmit> {
        self.out.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<BondEvent> {
        self.out.events.pop_front()
    }

    /// When the timeout entry ([`Bond::handle_timeout`] or
    /// [`Bond::handle_timeout_with_load`]) must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mii = self.slaves.iter().filter_map(|s| s.mii.poll_timeout());
        let bfd = self.bfd.micro.as_ref().and_then(|m| m.poll_timeout());
        mii.chain(self.engine.poll_timeout()).chain(self.notify.poll_timeout()).chain(bfd).min()
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
