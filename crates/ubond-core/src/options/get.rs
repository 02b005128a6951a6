//! The reads: [`BondOptions::get`] in sysfs's format and [`BondOptions::get_slave`].

use super::{ad_select_number, BondOptions, Mode, OptionError, OptionId, UnknownSpeed};

impl BondOptions {
    /// Reads a per-slave option of `slave` (`queue_id`, `prio`, `actor_port_prio`) as a number.
    pub fn get_slave(&self, slave: &str, name: &str) -> Result<String, OptionError> {
        let id = Self::lookup(name)?;
        let s = self.slave(slave);
        match id {
            OptionId::QueueId => Ok(s.queue_id.to_string()),
            OptionId::Prio => Ok(s.prio.to_string()),
            OptionId::ActorPortPrio => Ok(s.actor_port_prio.to_string()),
            _ => Err(OptionError::NotASetting {
                option: id.name(),
                hint: "not a per-slave option (per-slave: queue_id, prio, actor_port_prio)",
            }),
        }
    }

    /// Reads option `name` in sysfs's format, without the trailing newline: `name number` for
    /// valued options (`802.3ad 4`, `layer3+4 1`, `slow 0`), numbers for numeric ones, delays
    /// in milliseconds, targets separated by spaces, an empty string for an unset `primary` or
    /// `active_slave` — and, as in the kernel, an empty string for `ad_actor_sys_prio`,
    /// `ad_actor_system` and `ad_user_port_key` outside 802.3ad mode. `queue_id` lists
    /// `ifname:N` for the slaves whose options were set, by name.
    pub fn get(&self, name: &str) -> Result<String, OptionError> {
        use OptionId as O;
        let id = Self::lookup(name)?;
        let onoff = |b: bool| if b { "on 1" } else { "off 0" }.to_owned();
        let num = |b: bool| u8::from(b).to_string();
        let ad = self.mode == Mode::Ieee8023ad;
        Ok(match id {
            O::Mode => self.mode.sysfs(),
            O::PacketsPerSlave => self.packets_per_slave.to_string(),
            O::XmitHashPolicy => format!("{:#}", self.xmit_hash_policy),
            O::ArpValidate => self.arp_validate.sysfs(),
            O::ArpAllTargets => self.arp_all_targets.sysfs(),
            O::FailOverMac => self.fail_over_mac.sysfs(),
            O::ArpInterval => self.arp_interval.to_string(),
            O::ArpMissedMax => self.arp_missed_max.to_string(),
            O::ArpIpTarget => join(&self.arp_ip_target),
            O::NsIp6Target => join(&self.ns_ip6_target),
            O::Downdelay => self.downdelay_ms().to_string(),
            O::Updelay => self.updelay_ms().to_string(),
            O::PeerNotifDelay => self.peer_notif_delay_ms().to_string(),
            O::LacpActive => onoff(self.lacp_active),
            O::LacpRate => self.lacp_rate.sysfs(),
            O::MinLinks => self.min_links.to_string(),
            O::AdSelect => {
                format!("{} {}", self.ad_select, ad_select_number(self.ad_select))
            }
            O::NumUnsolNa | O::NumGratArp => self.num_peer_notif.to_string(),
            O::Miimon => self.miimon.to_string(),
            O::Primary => self.primary.clone().unwrap_or_default(),
            O::PrimaryReselect => self.primary_reselect.sysfs(),
            O::UseCarrier => "1".to_owned(),
            O::ActiveSlave => self.active_slave.clone().unwrap_or_default(),
            O::QueueId => self
                .slave_options
                .iter()
                .map(|(n, s)| format!("{n}:{}", s.queue_id))
                .collect::<Vec<_>>()
                .join(" "),
            O::AllSlavesActive => num(self.all_slaves_active),
            O::ResendIgmp => self.resend_igmp.to_string(),
            O::LpInterval => self.lp_interval.to_string(),
            O::Slaves => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "the slave list is the bond's state, not an option",
                })
            }
            O::TlbDynamicLb => num(self.tlb_dynamic_lb),
            O::AdActorSysPrio if ad => self.ad_actor_sys_prio.to_string(),
            O::AdActorSystem if ad => self.ad_actor_system.to_string(),
            O::AdUserPortKey if ad => self.ad_user_port_key.to_string(),
            O::AdActorSysPrio | O::AdActorSystem | O::AdUserPortKey => String::new(),
            O::CoupledControl => num(self.coupled_control),
            O::BroadcastNeighbor => num(self.broadcast_neighbor),
            O::LacpStrict => num(self.lacp_strict),
            O::Prio | O::ActorPortPrio => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "a per-slave option: use get_slave(slave, name)",
                })
            }
            O::MaxBonds => self.max_bonds.to_string(),
            O::TxQueues => self.tx_queues.to_string(),
            O::LacpFallback => onoff(self.lacp_fallback),
            O::AdUnknownSpeed => match self.ad_unknown_speed {
                UnknownSpeed::Refuse => "refuse".to_owned(),
                UnknownSpeed::Assume(mbps) => mbps.to_string(),
            },
            O::Bfd => onoff(self.bfd),
            O::TcpDupDiscard => onoff(self.tcp_dup_discard),
            O::BfdMinTx => self.bfd_min_tx.to_string(),
            O::BfdMinRx => self.bfd_min_rx.to_string(),
            O::BfdMultiplier => self.bfd_multiplier.to_string(),
            O::BfdPeer => self.bfd_peer.map(|a| a.to_string()).unwrap_or_default(),
        })
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
}
