//! The `bond_option_*_set` functions of the options with a value table: the value is already
//! parsed to a number; what is left is storing it and the side effects on other options
//! (`mode` forcing `miimon`, `miimon` and `arp_interval` switching each other off, the delays
//! rounded to `miimon`), each reported as a [`Warning`].

use super::{
    ad_select_from_number, ArpAllTargets, ArpValidate, BondOptions, FailOverMac, LacpRate, Mode,
    OptionError, OptionId, PrimaryReselect, Warning, XmitHashPolicy, DEFAULT_MIIMON,
};

fn int(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn byte(v: u64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn short(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

impl BondOptions {
    /// The `bond_option_*_set` functions of the options with a value table.
    pub(super) fn apply(
        &mut self,
        id: OptionId,
        v: u64,
        w: &mut Vec<Warning>,
    ) -> Result<(), OptionError> {
        use OptionId as O;
        match id {
            O::Mode => {
                let mode = Mode::from_number(v).unwrap_or_default();
                self.set_mode(mode, w);
            }
            O::PacketsPerSlave => self.packets_per_slave = short(v),
            O::XmitHashPolicy => {
                self.xmit_hash_policy = XmitHashPolicy::from_number(v).unwrap_or_default()
            }
            O::ArpValidate => self.arp_validate = ArpValidate::from_number(v).unwrap_or_default(),
            O::ArpAllTargets => {
                self.arp_all_targets = ArpAllTargets::from_number(v).unwrap_or_default()
            }
            O::FailOverMac => self.fail_over_mac = FailOverMac::from_number(v).unwrap_or_default(),
            O::ArpInterval => self.set_arp_interval(int(v), w),
            O::ArpMissedMax => self.arp_missed_max = byte(v),
            O::Downdelay => self.downdelay = self.delay(id, "down delay", int(v), w)?,
            O::Updelay => self.updelay = self.delay(id, "up delay", int(v), w)?,
            O::PeerNotifDelay => {
                self.peer_notif_delay = self.delay(id, "peer notification delay", int(v), w)?
            }
            O::LacpActive => self.lacp_active = v != 0,
            O::LacpRate => self.lacp_rate = LacpRate::from_number(v).unwrap_or_default(),
            O::MinLinks => self.min_links = int(v),
            O::AdSelect => self.ad_select = ad_select_from_number(v).unwrap_or_default(),
            O::NumUnsolNa | O::NumGratArp => self.num_peer_notif = byte(v),
            O::Miimon => self.set_miimon(int(v), w),
            O::PrimaryReselect => {
                self.primary_reselect = PrimaryReselect::from_number(v).unwrap_or_default()
            }
            O::UseCarrier => self.use_carrier = true,
            O::AllSlavesActive => self.all_slaves_active = v != 0,
            O::ResendIgmp => self.resend_igmp = byte(v),
            O::LpInterval => self.lp_interval = int(v),
            O::TlbDynamicLb => self.tlb_dynamic_lb = v != 0,
            O::AdActorSysPrio => self.ad_actor_sys_prio = short(v),
            O::AdUserPortKey => self.ad_user_port_key = short(v),
            O::CoupledControl => self.coupled_control = v != 0,
            O::BroadcastNeighbor => self.broadcast_neighbor = v != 0,
            O::LacpStrict => self.lacp_strict = v != 0,
            O::LacpFallback => self.lacp_fallback = v != 0,
            O::Bfd => self.bfd = v != 0,
            O::TcpDupDiscard => self.tcp_dup_discard = v != 0,
            O::BfdMinTx => self.bfd_min_tx = int(v),
            O::BfdMinRx => self.bfd_min_rx = int(v),
            O::BfdMultiplier => self.bfd_multiplier = byte(v),
            // Raw, per-slave, module-only and action options never reach here.
            O::ArpIpTarget
            | O::NsIp6Target
            | O::Primary
            | O::ActiveSlave
            | O::QueueId
            | O::Slaves
            | O::AdActorSystem
            | O::Prio
            | O::ActorPortPrio
            | O::MaxBonds
            | O::TxQueues
            | O::AdUnknownSpeed
            | O::BfdPeer => {}
        }
        Ok(())
    }

    /// `bond_option_mode_set`.
    fn set_mode(&mut self, mode: Mode, w: &mut Vec<Warning>) {
        if !mode.uses_arp() {
            if self.arp_interval != 0 {
                w.push(Warning::new(
                    "mode",
                    format!(
                        "{} mode is incompatible with arp monitoring, start mii monitoring",
                        mode.name()
                    ),
                ));
                self.arp_interval = 0;
            }
            if self.miimon == 0 {
                self.miimon = DEFAULT_MIIMON;
                w.push(Warning::new(
                    "mode",
                    format!("Setting MII monitoring interval to {DEFAULT_MIIMON}"),
                ));
            }
        }
        if mode == Mode::BalanceAlb && !self.tlb_dynamic_lb {
            self.tlb_dynamic_lb = true;
            w.push(Warning::new(
                "mode",
                "tlb_dynamic_lb forced to 1: balance-alb always balances dynamically",
            ));
        }
        if self.arp_validate != ArpValidate::None {
            w.push(Warning::new(
                "mode",
                format!(
                    "arp_validate reset from {} to none: it is not kept across modes",
                    self.arp_validate
                ),
            ));
            self.arp_validate = ArpValidate::None;
        }
        if self.broadcast_neighbor {
            w.push(Warning::new("mode", "broadcast_neighbor reset to 0 by the mode change"));
            self.broadcast_neighbor = false;
        }
        self.mode = mode;
    }

    /// `bond_option_miimon_set`.
    fn set_miimon(&mut self, v: u32, w: &mut Vec<Warning>) {
        self.miimon = v;
        for (name, mult) in [
            ("updelay", self.updelay),
            ("downdelay", self.downdelay),
            ("peer_notif_delay", self.peer_notif_delay),
        ] {
            if mult != 0 {
                w.push(Warning::new(
                    "miimon",
                    format!(
                        "Note: Updating {name} (to {}) since it is a multiple of the miimon value",
                        u64::from(mult) * u64::from(v)
                    ),
                ));
            }
        }
        if v != 0 && self.arp_interval != 0 {
            w.push(Warning::new(
                "miimon",
                "MII monitoring cannot be used with ARP monitoring - disabling ARP monitoring...",
            ));
            self.arp_interval = 0;
            self.arp_validate = ArpValidate::None;
        }
    }

    /// `_bond_option_delay_set`: returns the multiplier to store.
    fn delay(
        &self,
        id: OptionId,
        what: &str,
        v: u32,
        w: &mut Vec<Warning>,
    ) -> Result<u32, OptionError> {
        if self.miimon == 0 {
            return Err(OptionError::NotPermitted {
                option: id.name(),
                value: v.to_string(),
                reason: format!("Unable to set {what} as MII monitoring is disabled"),
            });
        }
        let rounded = v / self.miimon * self.miimon;
        if rounded != v {
            w.push(Warning::new(
                id.name(),
                format!(
                    "{what} ({v}) is not a multiple of miimon ({}), value rounded to {rounded} ms",
                    self.miimon
                ),
            ));
        }
        Ok(v / self.miimon)
    }

    /// `bond_option_arp_interval_set`.
    fn set_arp_interval(&mut self, v: u32, w: &mut Vec<Warning>) {
        self.arp_interval = v;
        if v != 0 {
            if self.miimon != 0 {
                w.push(Warning::new(
                    "arp_interval",
                    "ARP monitoring cannot be used with MII monitoring. Disabling MII monitoring",
                ));
                self.miimon = 0;
            }
            if self.arp_ip_target.is_empty() {
                w.push(Warning::new(
                    "arp_interval",
                    "ARP monitoring has been set up, but no ARP targets have been specified",
                ));
            }
        }
    }
}
