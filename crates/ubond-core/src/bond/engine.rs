//! The mode's engine, and what the mode makes of the slaves' state: the data path's plans and
//! the bond's carrier.
//!
//! Exactly one [`Engine`] runs per bond, chosen by the mode (and `arp_interval`), so no state
//! exists that only some modes can read: 802.3ad owns a [`Lacp`], balance-tlb/alb an [`Alb`],
//! and the other four modes either nothing (link state from the MII monitor, kept per slave)
//! or the ARP/NS monitor, which then owns the slaves' link state. A bond changes engine only
//! when its mode changes (possible without slaves only) or the ARP monitor is switched on or
//! off; [`Bond::reset_mode`] and [`Bond::reset_arp`] do it.

use crate::lacp::{Lacp, PortId};
use crate::monitor::arp::{ArpConfig, ArpMonitor};
use crate::monitor::mii::LinkStatus;
use crate::options::{FailOverMac, Mode};
use crate::time::Instant;
use ubond_wire::MacAddr;

use super::alb::{Alb, AlbConfig};
use super::plan::{RxPlan, TxPlan};
use super::slave::Slave;
use super::tlb::AlbMode;
use super::{Bond, SlaveId};

/// A bond's per-mode engine.
#[derive(Debug, Clone)]
pub(crate) enum Engine {
    /// balance-rr, active-backup, balance-xor and broadcast with the MII monitor (or no
    /// monitor at all): each slave's [`Slave::mii`] is its link state.
    Mii,
    /// The same four modes with `arp_interval`: the ARP/NS monitor owns the link state.
    Arp(ArpMonitor),
    /// 802.3ad.
    Lacp(LacpEngine),
    /// balance-tlb and balance-alb.
    Alb(Box<Alb>),
}

/// 802.3ad's engine.
#[derive(Debug, Clone)]
pub(crate) struct LacpEngine {
    pub lacp: Lacp,
    /// The last LACP-fallback verdict (`lacp_fallback`), to reselect when it flips.
    pub fallback: bool,
}

impl Engine {
    pub fn lacp(&self) -> Option<&Lacp> {
        match self {
            Engine::Lacp(e) => Some(&e.lacp),
            _ => None,
        }
    }

    pub fn arp(&self) -> Option<&ArpMonitor> {
        match self {
            Engine::Arp(arp) => Some(arp),
            _ => None,
        }
    }

    pub fn alb(&self) -> Option<&Alb> {
        match self {
            Engine::Alb(alb) => Some(alb),
            _ => None,
        }
    }

    /// A slave's link state: from the ARP monitor when it runs, else from the MII monitor.
    pub fn link_of(&self, s: &Slave) -> LinkStatus {
        match self {
            Engine::Arp(arp) => arp.link_status(s.id).unwrap_or(LinkStatus::Down),
            _ => s.mii.status(),
        }
    }

    /// A slave's link failure count, from the monitor that owns its link state.
    pub fn failures_of(&self, s: &Slave) -> u32 {
        match self {
            Engine::Arp(arp) => arp.link_failure_count(s.id).unwrap_or(0),
            _ => s.mii.link_failure_count(),
        }
    }

    /// The engine's next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Engine::Mii => None,
            Engine::Arp(arp) => arp.poll_timeout(),
            Engine::Lacp(e) => e.lacp.poll_timeout(),
            Engine::Alb(alb) => alb.poll_timeout(),
        }
    }
}

/// What the mode makes of the slaves' state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plans {
    pub tx: TxPlan,
    pub rx: RxPlan,
    pub carrier: bool,
}

impl Bond {
    /// (Re)creates the mode's engine (the bond has no slaves then): LACP in 802.3ad, TLB/ALB in
    /// balance-tlb/alb, and the ARP monitor when `arp_interval` is set in a mode that can use
    /// it.
    pub(super) fn reset_mode(&mut self, now: Instant) {
        let o = &self.opts;
        self.engine = match o.mode {
            Mode::Ieee8023ad => Engine::Lacp(LacpEngine {
                lacp: Lacp::new(o.lacp_config(self.mac)),
                fallback: false,
            }),
            Mode::BalanceTlb | Mode::BalanceAlb => {
                let mode = if o.mode == Mode::BalanceTlb { AlbMode::Tlb } else { AlbMode::Alb };
                let cfg = AlbConfig {
                    mode,
                    dynamic: o.tlb_dynamic_lb || mode == AlbMode::Alb,
                    policy: o.xmit_hash_policy,
                    lp_interval: o.lp_interval.max(1),
                    bond_mac: self.mac,
                };
                Engine::Alb(Box::new(Alb::new(now, cfg)))
            }
            Mode::BalanceRr | Mode::ActiveBackup | Mode::BalanceXor | Mode::Broadcast => {
                Engine::Mii
            }
        };
        self.reset_arp(now);
    }

    /// Starts, reconfigures or stops the ARP monitor after its options (or the bond's
    /// addresses) changed.
    pub(super) fn reset_arp(&mut self, now: Instant) {
        let wanted = self.opts.arp_interval > 0 && self.opts.mode.uses_arp();
        match &mut self.engine {
            Engine::Arp(_) if !wanted => self.engine = Engine::Mii,
            Engine::Arp(arp) => {
                arp.set_config(now, ArpConfig::from_options(&self.opts, &self.addrs4, &self.addrs6))
            }
            Engine::Mii if wanted => {
                let cfg = ArpConfig::from_options(&self.opts, &self.addrs4, &self.addrs6);
                let mut arp = ArpMonitor::new(cfg);
                for s in &self.slaves {
                    arp.add_slave(now, s.id, self.arp_mac(s), s.link.up);
                }
                // Its work runs while the bond is up (`bond_open`).
                if self.admin_up {
                    arp.start(now);
                }
                self.engine = Engine::Arp(arp);
            }
            Engine::Mii | Engine::Lacp(_) | Engine::Alb(_) => {}
        }
    }

    /// The MAC a slave sends ARP probes from (the bond's, unless `fail_over_mac` keeps the
    /// slaves' own).
    pub(super) fn arp_mac(&self, s: &Slave) -> ubond_wire::MacAddr {
        if self.opts.fail_over_mac == FailOverMac::None {
            self.mac
        } else {
            s.perm_mac
        }
    }

    /// A slave may carry traffic as far as its link and micro-BFD go: link up (from the
    /// monitor that owns it) and the BFD gate open.
    pub(super) fn usable(&self, s: &Slave) -> bool {
        self.engine.link_of(s) == LinkStatus::Up && self.bfd_allows(s.id)
    }

    /// Whether the mode has an active slave now: active-backup, balance-tlb/alb, and 802.3ad
    /// in LACP fallback.
    pub(super) fn uses_active_slave(&self) -> bool {
        match self.opts.mode {
            Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb => true,
            Mode::Ieee8023ad => self.in_lacp_fallback(),
            Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast => false,
        }
    }

    /// 802.3ad with `lacp_fallback=on` and no partner answering on any port: run as
    /// active-backup (Open vSwitch's `lacp-fallback-ab`).
    pub(super) fn in_lacp_fallback(&self) -> bool {
        self.opts.lacp_fallback
            && self.engine.lacp().is_some_and(|l| {
                l.port_ids().all(|p| l.port_status(p).is_none_or(|s| s.partner.system.is_zero()))
            })
    }

    /// The plans and the carrier the mode derives from the state as it is now: a pure
    /// function, recomputed after every input that may change them and checked against the
    /// published ones by [`Bond::check_invariants`].
    pub(super) fn derive_plans(&self) -> Plans {
        self.derive(true)
    }

    /// [`Bond::derive_plans`]; without the balancer's table (`tlb: None`) unless
    /// `with_table`, for a check that compares the table where it is instead of copying it.
    pub(super) fn derive(&self, with_table: bool) -> Plans {
        // Usable: link up and, with micro-BFD, the session Up (the gate of `super::bfd`).
        let up: Vec<SlaveId> =
            self.slaves.iter().filter(|s| self.usable(s)).map(|s| s.id).collect();
        // A slave whose link is failing (`going down`, during `downdelay`) still sends where the
        // kernel's transmit path does not test the link: the active slave of active-backup
        // (`bond_xmit_activebackup`), balance-xor's slave array (rebuilt at the commit only).
        // Micro-BFD's gate holds for it all the same.
        let sending: Vec<SlaveId> = self
            .slaves
            .iter()
            .filter(|s| matches!(self.engine.link_of(s), LinkStatus::Up | LinkStatus::Fail))
            .filter(|s| self.bfd_allows(s.id))
            .map(|s| s.id)
            .collect();
        let active: Vec<SlaveId> =
            self.active.current.into_iter().filter(|a| sending.contains(a)).collect();
        let mut unicast_only = Vec::new();
        let (tx_slaves, deliver, carrier) = match self.opts.mode {
            Mode::ActiveBackup => {
                let mut deliver =
                    if self.opts.all_slaves_active { up.clone() } else { active.clone() };
                // The slave the ARP monitor probes from receives like the active one.
                if let Some(probing) = self.engine.arp().and_then(ArpMonitor::current_arp_slave) {
                    if !deliver.contains(&probing) {
                        deliver.push(probing);
                    }
                }
                (active, deliver, !up.is_empty())
            }
            Mode::BalanceTlb | Mode::BalanceAlb => {
                let deliver = if self.opts.all_slaves_active { up.clone() } else { active };
                if self.opts.mode == Mode::BalanceAlb {
                    unicast_only = up.iter().copied().filter(|s| !deliver.contains(s)).collect();
                }
                (up.clone(), deliver, !up.is_empty())
            }
            Mode::Ieee8023ad => self.lacp_plans(&up),
            Mode::BalanceXor => (sending.clone(), sending, !up.is_empty()),
            Mode::BalanceRr | Mode::Broadcast => (up.clone(), up.clone(), !up.is_empty()),
        };
        let tx = TxPlan {
            mode: self.opts.mode,
            policy: self.opts.xmit_hash_policy,
            packets_per_slave: u32::from(self.opts.packets_per_slave),
            slaves: tx_slaves,
            igmp_slave: self.active.current.or_else(|| up.first().copied()),
            tlb: self.engine.alb().filter(|_| with_table).map(|alb| alb.tx_table().clone()),
        };
        let bond_mac = self.mac;
        let mut slave_macs: Vec<MacAddr> =
            self.slaves.iter().map(|s| s.mac).filter(|m| *m != bond_mac).collect();
        slave_macs.sort();
        slave_macs.dedup();
        let copies = self.opts.mode == Mode::Broadcast && self.opts.tcp_dup_discard;
        let rx = RxPlan { deliver, unicast_only, bond_mac, slave_macs, copies };
        Plans { tx, rx, carrier: carrier && self.admin_up }
    }

    /// 802.3ad: distribution over the active aggregator's distributing ports; `lacp_strict`
    /// drops unpartnered ports; `lacp_fallback` runs active-backup when nobody speaks LACP.
    fn lacp_plans(&self, up: &[SlaveId]) -> (Vec<SlaveId>, Vec<SlaveId>, bool) {
        let Some(lacp) = self.engine.lacp() else { return (Vec::new(), Vec::new(), false) };
        if self.in_lacp_fallback() {
            let active: Vec<SlaveId> =
                self.active.current.into_iter().filter(|a| up.contains(a)).collect();
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
            .filter_map(|&p| self.slave_of_port(p))
            .filter(|&id| self.bfd_allows(id))
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
        // Ports LACP distributes on but micro-BFD holds back do not count either.
        let carrier = if self.opts.lacp_strict || self.bfd_on() {
            tx.len() as u64 >= u64::from(self.opts.min_links.max(1))
        } else {
            lacp.carrier()
        };
        (tx, deliver, carrier)
    }
}
