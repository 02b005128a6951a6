//! What holds between any two inputs of a [`Bond`], checked by [`Bond::check_invariants`]: the
//! core's tests and the lab call it after every step.

use std::fmt::Write as _;

use crate::monitor::mii::LinkStatus;
use crate::options::Mode;

use super::engine::Engine;
use super::plan::TxPlan;
use super::{Bond, SlaveId, MAX_SLAVES, QUEUE_LIMIT};

impl Bond {
    /// Checks the bond's invariants; the first broken one is described in the error.
    ///
    /// * Members: handles and names are unique, at most [`MAX_SLAVES`], handles never reused.
    /// * The engine fits the mode (802.3ad: LACP; balance-tlb/alb: the balancer; the others: the
    ///   ARP monitor exactly when `arp_interval` is set), and knows exactly the bond's slaves:
    ///   in 802.3ad each slave maps to its own LACP port and every LACP port to a slave (the
    ///   one `SlaveId` ↔ `PortId` mapping).
    /// * The active slave is a slave; there is none in a mode (or a moment of 802.3ad) that has
    ///   no active slave; balance-tlb/alb agree with the bond on it.
    /// * Nothing is left for later: no reselection pending, and the published plans and carrier
    ///   are those the state derives now.
    /// * The plans only name slaves, each at most once, and only slaves that may carry
    ///   traffic: link up, or going down (a slave keeps its role during `downdelay`) where
    ///   LACP or the balancer still use it; the carrier is off while the bond is down.
    /// * Micro-BFD: sessions run exactly while `bfd` is on and configured, one per slave, and
    ///   the transmit plan names only slaves whose session is Up.
    /// * The output queues are within [`QUEUE_LIMIT`].
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut why = String::new();
        self.check_members(&mut why);
        self.check_engine(&mut why);
        self.check_active(&mut why);
        self.check_plans(&mut why);
        self.check_bfd(&mut why);
        if self.out.events.len() > QUEUE_LIMIT || self.out.transmits.len() > QUEUE_LIMIT {
            why.push_str("an output queue is over its limit; ");
        }
        match why.is_empty() {
            true => Ok(()),
            false => Err(format!("{}: {}", self.name, why.trim_end_matches("; "))),
        }
    }

    fn check_members(&self, why: &mut String) {
        if self.slaves.len() > MAX_SLAVES {
            why.push_str("more slaves than MAX_SLAVES; ");
        }
        for (i, s) in self.slaves.iter().enumerate() {
            let later = &self.slaves[i + 1..];
            if later.iter().any(|t| t.id == s.id || t.name == s.name) {
                let _ = write!(why, "slave #{} ({}) listed twice; ", s.id.0, s.name);
            }
            if s.id.0 >= self.next_id {
                let _ = write!(why, "slave #{} was never handed out; ", s.id.0);
            }
        }
    }

    fn check_engine(&self, why: &mut String) {
        let mode = self.opts.mode;
        let fits = match &self.engine {
            Engine::Lacp(_) => mode == Mode::Ieee8023ad,
            Engine::Alb(_) => matches!(mode, Mode::BalanceTlb | Mode::BalanceAlb),
            Engine::Arp(_) => mode.uses_arp() && self.opts.arp_interval > 0,
            Engine::Mii => mode.uses_arp() && self.opts.arp_interval == 0,
        };
        if !fits {
            let _ = write!(why, "the engine does not fit mode {mode:?}; ");
        }
        match &self.engine {
            Engine::Lacp(e) => {
                let ports: Vec<_> = e.lacp.port_ids().collect();
                for s in &self.slaves {
                    match s.port {
                        None => {
                            let _ = write!(why, "slave #{} has no LACP port; ", s.id.0);
                        }
                        Some(p) if !ports.contains(&p) => {
                            let _ = write!(why, "slave #{} maps to unknown {p}; ", s.id.0);
                        }
                        Some(p) if self.slaves.iter().filter(|t| t.port == Some(p)).count() > 1 => {
                            let _ = write!(why, "{p} maps to two slaves; ");
                        }
                        Some(_) => {}
                    }
                }
                for p in ports {
                    if self.slave_of_port(p).is_none() {
                        let _ = write!(why, "LACP {p} is no slave's; ");
                    }
                }
                if let Err(v) = e.lacp.check_invariants() {
                    let _ = write!(why, "LACP: {v}; ");
                }
            }
            Engine::Alb(alb) => {
                for s in &self.slaves {
                    if alb.slave_mac(s.id).is_none() {
                        let _ = write!(why, "the balancer does not know slave #{}; ", s.id.0);
                    }
                }
                if alb.active_slave() != self.active.current {
                    why.push_str("the balancer's active slave is not the bond's; ");
                }
            }
            Engine::Arp(arp) => {
                for s in &self.slaves {
                    if arp.link_status(s.id).is_none() {
                        let _ = write!(why, "the ARP monitor does not know slave #{}; ", s.id.0);
                    }
                }
            }
            Engine::Mii => {}
        }
        if !matches!(self.engine, Engine::Lacp(_)) && self.slaves.iter().any(|s| s.port.is_some()) {
            why.push_str("a LACP port outside 802.3ad; ");
        }
    }

    fn check_active(&self, why: &mut String) {
        if let Some(a) = self.active.current {
            if self.slave(a).is_none() {
                let _ = write!(why, "the active slave #{} is not a slave; ", a.0);
            }
            if !self.uses_active_slave() {
                let _ = write!(why, "an active slave (#{}) in a mode without one; ", a.0);
            }
        }
        if self.active.reselect_pending {
            why.push_str("a reselection is left pending; ");
        }
    }

    fn check_plans(&self, why: &mut String) {
        // Field by field, the balancer's table compared where it is (not copied): the check
        // runs after every step of the lab.
        let derived = self.derive(false);
        let TxPlan { mode, policy, packets_per_slave, slaves, igmp_slave, tlb: _ } = &derived.tx;
        let p = &self.plans.tx;
        if self.stale
            || (*mode, *policy, *packets_per_slave, slaves, *igmp_slave)
                != (p.mode, p.policy, p.packets_per_slave, &p.slaves, p.igmp_slave)
            || self.engine.alb().map(|alb| alb.tx_table()) != p.tlb.as_ref()
            || derived.rx != self.plans.rx
            || derived.carrier != self.plans.carrier
        {
            why.push_str("the published plans are not those the state derives; ");
        }
        let (tx, rx) = (&self.plans.tx, &self.plans.rx);
        let is_slave = |id: &SlaveId| self.slave(*id).is_some();
        // Link up, or going down where LACP, the balancer, active-backup's active slave or
        // balance-xor's slave array keep a slave until the link is definitely down.
        let keeps_failing = matches!(self.engine, Engine::Lacp(_) | Engine::Alb(_))
            || matches!(self.opts.mode, Mode::ActiveBackup | Mode::BalanceXor);
        let senders: Vec<SlaveId> = self
            .slaves
            .iter()
            .filter(|s| match self.engine.link_of(s) {
                LinkStatus::Up => true,
                LinkStatus::Fail => keeps_failing,
                LinkStatus::Back | LinkStatus::Down => false,
            })
            .map(|s| s.id)
            .collect();
        let may_send = |id: &SlaveId| senders.contains(id);
        let twice =
            |list: &[SlaveId]| list.iter().enumerate().any(|(i, s)| list[i + 1..].contains(s));
        if !tx.slaves.iter().all(may_send) || twice(&tx.slaves) {
            let _ = write!(
                why,
                "the transmit plan's slaves {:?} are not all usable, once; ",
                tx.slaves
            );
        }
        if !tx.igmp_slave.iter().all(is_slave) {
            why.push_str("the IGMP slave is not a slave; ");
        }
        if let Some(t) = &tx.tlb {
            // Buckets come in runs of one slave: each run is checked once.
            let mut last = None;
            let buckets = t.buckets.iter().flatten().filter(|&&s| last.replace(s) != Some(s));
            let mut named = buckets.chain(&t.active).chain(&t.usable);
            if !named.all(may_send) || !t.macs.iter().all(|(s, _)| is_slave(s)) {
                why.push_str("the transmit table names a slave that cannot send; ");
            }
        }
        if !rx.deliver.iter().all(is_slave) || !rx.unicast_only.iter().all(is_slave) {
            why.push_str("the receive plan names a non-slave; ");
        }
        if twice(&rx.deliver) || rx.unicast_only.iter().any(|s| rx.deliver.contains(s)) {
            why.push_str("the receive plan lists a slave twice; ");
        }
        if self.plans.carrier && !self.admin_up {
            why.push_str("carrier while administratively down; ");
        }
    }
}
