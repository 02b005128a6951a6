//! The link decisions at each `arp_interval` tick (`bond_loadbalance_arp_mon`,
//! `bond_ab_arp_inspect`, `bond_ab_arp_commit`) and the probes that follow (`bond_ab_arp_probe`,
//! `bond_send_validate`).

use super::{
    arp_probe, ns_probe, stamp, ArpActions, ArpLinkChange, ArpMode, ArpMonitor, ArpProbe,
    ArpSlaveView, ArpTransition, Stamp, MAX_SLAVES,
};
use crate::bond::SlaveId;
use crate::monitor::mii::LinkStatus;
use crate::time::Instant;

impl ArpMonitor {
    /// The `arp_interval` tick (`bond_arp_monitor`): inspects every slave and commits the link
    /// changes. Apply the returned transitions, reselect the active slave if
    /// [`ArpActions::failover`], then call [`ArpMonitor::probe`] in the same tick. `slaves`
    /// lists the bond's slaves in its order; slaves the monitor does not know are skipped.
    pub fn handle_tick(&mut self, now: Instant, slaves: &[ArpSlaveView]) -> ArpActions {
        self.next_tick = Some(now + self.cfg.interval);
        let mut out = ArpActions::default();
        match self.cfg.mode {
            ArpMode::LoadBalance => self.loadbalance_inspect(stamp(now), slaves, &mut out),
            ArpMode::ActiveBackup => {
                self.ab_inspect(stamp(now), slaves);
                self.ab_commit(slaves, &mut out);
            }
        }
        out
    }

    /// The known slaves of `views`, in the bond's order, each once.
    fn order(&self, views: &[ArpSlaveView]) -> Vec<(usize, ArpSlaveView)> {
        let mut out: Vec<(usize, ArpSlaveView)> = Vec::new();
        for v in views.iter().take(MAX_SLAVES) {
            if let Some(i) = self.index(v.id) {
                if !out.iter().any(|(j, _)| *j == i) {
                    out.push((i, *v));
                }
            }
        }
        out
    }

    /// `bond_loadbalance_arp_mon`, inspection and commit.
    fn loadbalance_inspect(&mut self, now: Stamp, views: &[ArpSlaveView], out: &mut ArpActions) {
        let missed = u16::from(self.cfg.missed_max);
        let oldcurrent = self.curr_active;
        for (i, _) in self.order(views) {
            let s = &self.slaves[i];
            let (tx, rx) = (s.last_tx, s.last_rx);
            let change = if s.link != LinkStatus::Up {
                if self.in_interval(now, tx, 1) && self.in_interval(now, rx, 1) {
                    if oldcurrent.is_none() {
                        out.failover = true;
                        Some(ArpLinkChange::Up)
                    } else {
                        Some(ArpLinkChange::InterfaceUp)
                    }
                } else {
                    None
                }
            } else if !self.in_interval(now, tx, missed) || !self.in_interval(now, rx, missed) {
                if oldcurrent == Some(s.id) {
                    out.failover = true;
                }
                Some(ArpLinkChange::InterfaceDown)
            } else {
                None
            };
            if let Some(change) = change {
                self.apply(i, change, out);
            }
        }
    }

    /// `bond_ab_arp_inspect`: proposals only.
    fn ab_inspect(&mut self, now: Stamp, views: &[ArpSlaveView]) {
        let missed = u16::from(self.cfg.missed_max);
        for (i, _) in self.order(views) {
            let s = &self.slaves[i];
            let last_rx = self.slave_last_rx(s);
            let proposed = if s.link != LinkStatus::Up {
                if self.in_interval(now, last_rx, 1) {
                    Some(LinkStatus::Up)
                } else if s.link == LinkStatus::Back {
                    Some(LinkStatus::Fail)
                } else {
                    None
                }
            } else if s.last_link_up.is_some_and(|up| self.in_interval(now, up, 2)) {
                None // give a slave that just came up two intervals
            } else {
                // A backup gets one interval more; the active slave must also have sent.
                let backup_dead = !s.active
                    && self.current_arp_slave.is_none()
                    && !self.in_interval(now, last_rx, missed.saturating_add(1));
                let active_dead = s.active
                    && (!self.in_interval(now, s.last_tx, missed)
                        || !self.in_interval(now, last_rx, missed));
                (backup_dead || active_dead).then_some(LinkStatus::Down)
            };
            self.slaves[i].proposed = proposed;
        }
    }

    /// `bond_ab_arp_commit`.
    fn ab_commit(&mut self, views: &[ArpSlaveView], out: &mut ArpActions) {
        let prio_of = |id: SlaveId| views.iter().find(|v| v.id == id).map(|v| v.prio);
        for (i, view) in self.order(views) {
            let Some(proposed) = self.slaves[i].proposed.take() else { continue };
            let id = self.slaves[i].id;
            match proposed {
                LinkStatus::Up => {
                    if self.curr_active == Some(id) {
                        continue;
                    }
                    if let Some(j) = self.current_arp_slave.take().and_then(|c| self.index(c)) {
                        self.slaves[j].active = false;
                    }
                    self.apply(i, ArpLinkChange::Up, out);
                    let better = match self.curr_active.and_then(prio_of) {
                        Some(curr_prio) => view.primary || view.prio > curr_prio,
                        None => view.primary || self.curr_active.is_none(),
                    };
                    if better {
                        out.failover = true;
                    }
                }
                LinkStatus::Down => {
                    self.slaves[i].active = false;
                    self.apply(i, ArpLinkChange::Down, out);
                    if self.curr_active == Some(id) {
                        self.current_arp_slave = None;
                        out.failover = true;
                    }
                }
                LinkStatus::Fail => {
                    self.slaves[i].active = false;
                    self.apply(i, ArpLinkChange::Fail, out);
                    if self.curr_active.is_some() {
                        self.current_arp_slave = None;
                    }
                }
                LinkStatus::Back => {}
            }
        }
    }

    fn apply(&mut self, i: usize, change: ArpLinkChange, out: &mut ArpActions) {
        let s = &mut self.slaves[i];
        if s.link == change.to() {
            return;
        }
        s.link = change.to();
        if change.to() == LinkStatus::Down {
            s.link_failure_count = s.link_failure_count.saturating_add(1);
        }
        out.transitions.push(ArpTransition { slave: s.id, change });
    }

    /// The probes of this tick, after [`ArpMonitor::handle_tick`] and the bond's reselection.
    /// Load balancing: on every slave with carrier. Active-backup (`bond_ab_arp_probe`): on
    /// the active slave; without one, on the next slave with carrier after the one probed
    /// last (marked `going back` and made active while probed); slaves that lost carrier go
    /// down.
    pub fn probe(&mut self, now: Instant, slaves: &[ArpSlaveView]) -> ArpActions {
        let mut out = ArpActions::default();
        let order = self.order(slaves);
        if self.cfg.mode == ArpMode::LoadBalance {
            for (i, v) in order {
                if v.up {
                    self.send_all(now, i, &mut out);
                }
            }
            return out;
        }
        let name = |id: Option<SlaveId>| id.map_or(0, |s| s.0);
        if self.current_arp_slave.is_some() && self.curr_active.is_some() {
            out.notes.push(format!(
                "PROBE: c_arp {} && cas {} BAD",
                name(self.current_arp_slave),
                name(self.curr_active)
            ));
        }
        if let Some(i) = self.curr_active.and_then(|c| self.index(c)) {
            self.send_all(now, i, &mut out);
            return out;
        }
        let Some(curr_arp) =
            self.current_arp_slave.or(order.first().map(|(i, _)| self.slaves[*i].id))
        else {
            return out;
        };
        let (mut before, mut new, mut found) = (None, None, false);
        for &(i, v) in &order {
            if !found && before.is_none() && v.up {
                before = Some(i);
            }
            if found && new.is_none() && v.up {
                new = Some(i);
            }
            if !v.up && self.slaves[i].link == LinkStatus::Up {
                self.slaves[i].active = false;
                self.apply(i, ArpLinkChange::BackupDown, &mut out);
            }
            if self.slaves[i].id == curr_arp {
                found = true;
            }
        }
        let Some(i) = new.or(before) else { return out };
        self.apply(i, ArpLinkChange::Back, &mut out);
        self.slaves[i].active = true;
        self.send_all(now, i, &mut out);
        self.slaves[i].last_link_up = Some(stamp(now));
        self.current_arp_slave = Some(self.slaves[i].id);
        out
    }

    /// `bond_send_validate`: an ARP request per ARP target, then an NS per NS target.
    fn send_all(&mut self, now: Instant, i: usize, out: &mut ArpActions) {
        let s = &mut self.slaves[i];
        for t in &self.cfg.arp_targets {
            out.probes.push(ArpProbe { slave: s.id, frame: arp_probe(s.mac, t) });
            s.last_tx = stamp(now);
        }
        for t in &self.cfg.ns_targets {
            out.probes.push(ArpProbe { slave: s.id, frame: ns_probe(s.mac, t) });
            s.last_tx = stamp(now);
        }
    }
}
