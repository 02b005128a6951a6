//! Options set on a running bond, with sysfs semantics (`/sys/class/net/BOND/bonding/NAME`)
//! and `ip link set IFACE type bond_slave NAME VALUE`: the kernel's checks (in
//! [`crate::options`]), then what the change does to the engines and the active slave.

use crate::options::{LacpRate, SetContext, SlaveState, Warning};
use crate::time::Instant;

use super::engine::Engine;
use super::{Bond, BondError, SlaveId};

impl Bond {
    /// Sets an option with sysfs semantics (`echo VALUE > /sys/class/net/BOND/bonding/NAME`).
    pub fn set_option(
        &mut self,
        now: Instant,
        name: &str,
        value: &str,
    ) -> Result<Vec<Warning>, BondError> {
        self.input(now, |b, now| b.on_set_option(now, name, value))
    }

    fn on_set_option(
        &mut self,
        now: Instant,
        name: &str,
        value: &str,
    ) -> Result<Vec<Warning>, BondError> {
        let ctx = self.set_context();
        let mut opts = self.opts.clone();
        let warnings = opts.set(name, value, &ctx)?;
        let old = std::mem::replace(&mut self.opts, opts);
        let o = &self.opts;
        if old.mode != o.mode {
            self.reset_mode(now);
        } else if let Engine::Lacp(e) = &mut self.engine {
            if (old.ad_actor_sys_prio, old.ad_actor_system)
                != (o.ad_actor_sys_prio, o.ad_actor_system)
            {
                let system = if o.ad_actor_system.is_zero() { self.mac } else { o.ad_actor_system };
                e.lacp.set_system(now, o.ad_actor_sys_prio, system);
            }
            if old.lacp_rate != o.lacp_rate {
                e.lacp.set_lacp_rate(now, o.lacp_rate == LacpRate::Fast);
            }
            if old.lacp_active != o.lacp_active {
                e.lacp.set_lacp_active(now, o.lacp_active);
            }
        }
        let o = &self.opts;
        let arp_changed = (old.arp_interval, &old.arp_ip_target, &old.ns_ip6_target)
            != (o.arp_interval, &o.arp_ip_target, &o.ns_ip6_target)
            || (old.arp_validate, old.arp_all_targets, old.arp_missed_max)
                != (o.arp_validate, o.arp_all_targets, o.arp_missed_max);
        if arp_changed && old.mode == o.mode {
            self.reset_arp(now);
        }
        if let Engine::Alb(alb) = &mut self.engine {
            let o = &self.opts;
            alb.set_options(o.tlb_dynamic_lb, o.xmit_hash_policy, o.lp_interval.max(1));
        }
        if old.primary != self.opts.primary {
            // Linux: setting a primary forces it active at the next reselection.
            self.active.force_primary = true;
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
        self.active.reselect_pending = true;
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
        self.input(now, |b, now| {
            let i = b.index(id)?;
            let slave = b.slaves[i].name.clone();
            let ctx = b.set_context();
            let warnings = b.opts.set_slave(&slave, name, value, &ctx)?;
            if let (Engine::Lacp(e), Some(port)) = (&mut b.engine, b.slaves[i].port) {
                let prio = b.opts.slave(&slave).actor_port_prio;
                let r = e.lacp.set_port_priority(now, port, prio);
                b.lacp_result("set_port_priority", r);
            }
            // Linux bond_option_prio_set: a new prio re-selects the active slave, unless a
            // primary slave is set (then it only warns); queue_id and actor_port_prio do not.
            if name == "prio" && b.primary_slave().is_none() {
                b.active.reselect_pending = true;
            }
            Ok(warnings)
        })
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
            active_slave: self.active.current.and_then(|a| self.slave_name(a)).map(str::to_string),
        }
    }
}
