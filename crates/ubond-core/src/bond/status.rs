//! The bond's state as the `/proc/net/bonding/BOND` report shows it.

use crate::lacp;
use crate::report;

use super::Bond;

impl Bond {
    /// The bond's state as `/proc/net/bonding/BOND` shows it (render it with
    /// [`crate::report::render_proc`]). `driver_version` fills the first line.
    pub fn status(&self, driver_version: &str) -> report::BondStatus {
        let o = &self.opts;
        let ms = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let ad = self.engine.lacp().map(|lacp| report::AdStatus {
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
                let port = s.port.and_then(|p| self.engine.lacp()?.port_status(p));
                report::SlaveStatus {
                    name: s.name.clone(),
                    mii_status: self.engine.link_of(s),
                    speed_mbps: s.link.speed_mbps.filter(|_| s.link.up),
                    duplex: match s.link.duplex {
                        lacp::Duplex::Full if s.link.up => Some(report::Duplex::Full),
                        lacp::Duplex::Half if s.link.up => Some(report::Duplex::Half),
                        _ => None,
                    },
                    link_failure_count: self.engine.failures_of(s),
                    perm_hwaddr: s.perm_mac,
                    queue_id: o.slave(&s.name).queue_id,
                    prio: o.slave(&s.name).prio,
                    bfd: self.bfd_status(s.id),
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
            active_slave: self.active.current.and_then(|a| self.slave_name(a)).map(str::to_string),
            carrier: self.plans.carrier,
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
}
