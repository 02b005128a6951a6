//! The slaves' link state: carrier, speed and duplex as the driver reports them, the MII
//! monitor's transitions (with `updelay`/`downdelay`) or the ARP/NS monitor's ticks, and what
//! a committed transition tells LACP, the balancer and the active-slave selection.

use crate::lacp::LinkState;
use crate::monitor::arp::{ArpActions, ArpSlaveView};
use crate::monitor::mii::{LinkStatus, MiiTransition};
use crate::time::Instant;

use super::engine::Engine;
use super::{alb_speed, Bond, BondError, SlaveId};

impl Bond {
    /// A slave's carrier, speed or duplex changed (netlink event or `miimon` poll).
    pub fn handle_link(
        &mut self,
        now: Instant,
        id: SlaveId,
        link: LinkState,
    ) -> Result<(), BondError> {
        self.input(now, |b, now| b.on_link(now, id, link))
    }

    fn on_link(&mut self, now: Instant, id: SlaveId, link: LinkState) -> Result<(), BondError> {
        let i = self.index(id)?;
        let old = self.slaves[i].link;
        self.slaves[i].link = link;
        let arp = matches!(self.engine, Engine::Arp(_));
        if self.monitored() && !arp {
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
        // With the ARP monitor, carrier is looked at by its next tick; the active slave is
        // chosen again only when that tick commits a change (a carrier change alone does not
        // call bond_select_active_slave in Linux, and choosing again could move the active role
        // to the first slave of the same prio). The plans are derived again after any input.
        Ok(())
    }

    pub(super) fn on_transition(&mut self, now: Instant, i: usize, t: MiiTransition) {
        let name = self.slaves[i].name.clone();
        self.out.log(Some(&name), t.to_string());
        if matches!(t, MiiTransition::Up | MiiTransition::Down | MiiTransition::DownAgain { .. }) {
            self.sync_port(now, i);
            if self.commit_asks_reselect(i, t == MiiTransition::Up) {
                self.active.reselect_pending = true;
            }
        }
    }

    /// Linux `bond_miimon_commit`: a slave that came up asks for the active slave to be chosen
    /// again only when there is none, it is the primary, or its `prio` is higher than the
    /// active slave's; one that went down only when it was the active slave. So a returning
    /// slave of the same prio does not take the active role back.
    fn commit_asks_reselect(&self, i: usize, up: bool) -> bool {
        let s = &self.slaves[i];
        let Some(curr) = self.active.current.and_then(|c| self.slave(c)) else { return up };
        if !up {
            return curr.id == s.id;
        }
        let prio = |name: &str| self.opts.slave(name).prio;
        self.opts.primary.as_deref() == Some(s.name.as_str()) || prio(&s.name) > prio(&curr.name)
    }

    /// Tells LACP and TLB/ALB the slave's usable link state (up only when the monitor says
    /// UP).
    pub(super) fn sync_port(&mut self, now: Instant, i: usize) {
        let status = self.engine.link_of(&self.slaves[i]);
        let s = &self.slaves[i];
        match &mut self.engine {
            Engine::Lacp(e) => {
                if let Some(port) = s.port {
                    let link = if status == LinkStatus::Up {
                        LinkState { up: true, ..s.link }
                    } else {
                        LinkState::down()
                    };
                    let r = e.lacp.handle_link(now, port, link);
                    self.lacp_result("handle_link", r);
                }
            }
            Engine::Alb(alb) => alb.handle_link(now, s.id, status, alb_speed(s, &self.opts)),
            Engine::Mii | Engine::Arp(_) => {}
        }
    }

    /// One ARP monitor interval (Linux `bond_activebackup_arp_mon` /
    /// `bond_loadbalance_arp_mon`): inspect and commit link changes, reselect, then probe.
    pub(super) fn arp_tick(&mut self, now: Instant) {
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
        let Engine::Arp(arp) = &mut self.engine else { return };
        let actions = arp.handle_tick(now, &views);
        self.apply_arp(now, &actions);
        if actions.failover {
            self.active.reselect_pending = true;
            self.reselect(now);
        }
        let Engine::Arp(arp) = &mut self.engine else { return };
        let probes = arp.probe(now, &views);
        self.apply_arp(now, &probes);
    }

    fn apply_arp(&mut self, now: Instant, actions: &ArpActions) {
        for t in &actions.transitions {
            let Ok(i) = self.index(t.slave) else { continue };
            let name = self.slaves[i].name.clone();
            if t.change.is_logged() {
                self.out.log(Some(&name), t.change.to_string());
            }
            // The active slave is chosen again only when the monitor says so
            // (`ArpActions::failover`, Linux's do_failover), not for every change.
            if matches!(t.change.to(), LinkStatus::Up | LinkStatus::Down) {
                self.sync_port(now, i);
            }
        }
        for note in &actions.notes {
            self.out.log(None, note.clone());
        }
        for probe in &actions.probes {
            self.out.transmit(probe.slave, probe.frame.clone());
        }
    }
}
