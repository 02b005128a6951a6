//! A bond's options as `(name, value)` words that make them again ([`BondOptions::settings`],
//! [`BondOptions::from_settings`]): what a driver keeps so that a restarted daemon runs the
//! same bond. The values are the sysfs values (`802.3ad 4`, `100`, `192.0.2.1 192.0.2.2`),
//! readable in the file that keeps them, and stable across ubond versions because they are
//! the kernel's.
//!
//! Making the options again is not a replay of the writes that made them: an option set in one
//! mode keeps its value when the mode changes (`lacp_rate` after a switch to active-backup),
//! and a write in the new mode would be refused. So the mode comes first, then every other
//! value is parsed and applied as its sysfs write would be, without the mode and flag rules, and
//! finally every value is read back and compared: a value that does not come back is an error
//! naming the option, and nothing is made.
//!
//! What sysfs does not show is not kept: the kernel stores `updelay`, `downdelay` and
//! `peer_notif_delay` as multiples of `miimon`, and shows them as 0 while `miimon` is 0 (the
//! ARP monitor's turn); such a delay comes back as 0. A delay shown comes back as its multiple
//! of `miimon`, not through its write: a `miimon` raised after the delay was set can show it
//! beyond the range a write accepts, as the kernel's sysfs does.

use super::{netlink, BondOptions, Mode, OptionError, OptionId, Scope, SetContext};

/// Options a bond's settings leave out: the slave list and the active slave are the bond's
/// state, per-slave values are kept with each slave, and `use_carrier` / `num_unsol_na` are
/// fixed or another name of an option kept.
fn kept(id: OptionId) -> bool {
    !matches!(
        id,
        OptionId::Mode
            | OptionId::Slaves
            | OptionId::ActiveSlave
            | OptionId::QueueId
            | OptionId::UseCarrier
            | OptionId::NumUnsolNa
    ) && matches!(id.scope(), Scope::Bond | Scope::Module)
}

/// Every kept option, in the order the words are written and applied in: the kernel's
/// `bond_changelink` order ([`netlink::ORDER`]), so that an option comes after those it depends
/// on (`updelay` after `miimon`, which it is a multiple of), then the others (module
/// parameters).
fn in_order() -> impl Iterator<Item = OptionId> {
    netlink::ORDER
        .iter()
        .copied()
        .chain(OptionId::ALL.iter().copied().filter(|id| !netlink::ORDER.contains(id)))
        .filter(|&id| kept(id))
}

impl BondOptions {
    /// The value of `id` as [`BondOptions::get`] gives it, except that the 802.3ad options
    /// (which sysfs shows empty in other modes) are read as in 802.3ad mode: they keep their
    /// value across mode changes.
    fn saved_value(&self, id: OptionId) -> Option<String> {
        let ad = matches!(
            id,
            OptionId::AdActorSysPrio | OptionId::AdActorSystem | OptionId::AdUserPortKey
        );
        if ad && self.mode != Mode::Ieee8023ad {
            let mut view = self.clone();
            view.mode = Mode::Ieee8023ad;
            return view.get(id.name()).ok();
        }
        self.get(id.name()).ok()
    }

    /// The words that make these options again: the mode, then every option whose value
    /// differs from the default in that mode (see the module documentation).
    pub fn settings(&self) -> Vec<(String, String)> {
        let mode = self.get("mode").unwrap_or_default();
        // What [`BondOptions::from_settings`] starts from: the defaults after the mode's own
        // side effects (a mode without the ARP monitor turns a `miimon` of 0 into 100), so
        // that a value equal to the default but unlike that start is kept.
        let mut default = BondOptions::new();
        // The mode was read from these options, so it is one the defaults accept.
        let _ = default.set("mode", &mode, &SetContext::new());
        let mut out = vec![("mode".to_owned(), mode)];
        for id in in_order() {
            let Some(value) = self.saved_value(id) else { continue };
            if Some(&value) != default.saved_value(id).as_ref() {
                out.push((id.name().to_owned(), value));
            }
        }
        out
    }

    /// Makes options from [`BondOptions::settings`]' words (see the module documentation). An
    /// unknown option, a value that does not parse or one that does not come back is an error
    /// naming the option.
    pub fn from_settings(settings: &[(String, String)]) -> Result<BondOptions, OptionError> {
        let mut options = BondOptions::new();
        let ctx = SetContext::new();
        // The mode first: its side effects (miimon, arp_validate...) are then overwritten by
        // the values kept.
        if let Some((_, mode)) = settings.iter().find(|(n, _)| n == "mode") {
            options.set("mode", mode, &ctx)?;
        }
        for (name, _) in settings {
            let id = BondOptions::lookup(name)?;
            if !kept(id) && id != OptionId::Mode {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "not one of a bond's kept settings",
                });
            }
        }
        // In the order of `settings`, whatever the order of the words given.
        for id in in_order() {
            if let Some((_, value)) = settings.iter().find(|(n, _)| n == id.name()) {
                options.restore_one(id, value, &ctx)?;
            }
        }
        for (name, value) in settings {
            let id = BondOptions::lookup(name)?;
            let back = options.saved_value(id).unwrap_or_default();
            if back != *value {
                return Err(OptionError::Rejected {
                    option: id.name(),
                    value: value.clone(),
                    reason: format!("the value does not come back (it reads {back:?})"),
                });
            }
        }
        Ok(options)
    }

    fn restore_one(
        &mut self,
        id: OptionId,
        value: &str,
        ctx: &SetContext,
    ) -> Result<(), OptionError> {
        let invalid = |allowed: &str| OptionError::InvalidValue {
            option: id.name(),
            value: value.to_owned(),
            allowed: allowed.to_owned(),
        };
        match id {
            // Lists: one `+target` write per address.
            OptionId::ArpIpTarget | OptionId::NsIp6Target => {
                for target in value.split_whitespace() {
                    self.apply_value(id, &format!("+{target}"), ctx)?;
                }
            }
            // Kept as multiples of `miimon`: the value shown is that multiple, which may have
            // grown past what a write accepts (`peer_notif_delay` 298 set with `miimon` 2,
            // then `miimon` 2485, shows 370265; a write allows at most 300000).
            OptionId::Updelay | OptionId::Downdelay | OptionId::PeerNotifDelay
                if self.miimon > 0 =>
            {
                let multiple = || invalid("a multiple of miimon");
                let ms: u64 = value.parse().map_err(|_| multiple())?;
                let ticks = u32::try_from(ms / u64::from(self.miimon)).map_err(|_| multiple())?;
                match id {
                    OptionId::Updelay => self.updelay = ticks,
                    OptionId::Downdelay => self.downdelay = ticks,
                    _ => self.peer_notif_delay = ticks,
                }
            }
            // Module parameters have no sysfs write.
            OptionId::MaxBonds => {
                self.max_bonds = value.parse().map_err(|_| invalid("a number"))?
            }
            OptionId::TxQueues => self.tx_queues = value.parse().map_err(|_| invalid("1-255"))?,
            _ => {
                self.apply_value(id, value, ctx)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(o: &mut BondOptions, name: &str, value: &str) {
        o.set(name, value, &SetContext::new()).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
    }

    #[test]
    fn a_delay_grown_past_its_writes_range_by_a_later_miimon_comes_back() {
        // Found by the property test in tests/saved_options.rs: the delays are multiples of
        // miimon, so a larger miimon shows them larger than a write may set them.
        let mut o = BondOptions::new();
        set(&mut o, "miimon", "2");
        set(&mut o, "peer_notif_delay", "298");
        set(&mut o, "updelay", "3152");
        set(&mut o, "downdelay", "4");
        set(&mut o, "miimon", "2485");
        assert_eq!(o.get("peer_notif_delay").ok().as_deref(), Some("370265"));
        let s = o.settings();
        let back = BondOptions::from_settings(&s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(back.settings(), s);
        assert_eq!(back, o);
        // A value that is no multiple of miimon cannot have been shown: refused, naming it.
        let mut bad = s.clone();
        bad.retain(|(n, _)| n != "updelay");
        bad.push(("updelay".to_owned(), "2486".to_owned()));
        let e = BondOptions::from_settings(&bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("updelay"), "{e}");
    }

    #[test]
    fn defaults_are_the_mode_alone() {
        let s = BondOptions::new().settings();
        assert_eq!(s, vec![("mode".to_owned(), "balance-rr 0".to_owned())]);
        assert_eq!(BondOptions::from_settings(&s).ok(), Some(BondOptions::new()));
    }

    #[test]
    fn a_lacp_bond_and_values_kept_across_a_mode_change_come_back() {
        let mut o = BondOptions::new();
        set(&mut o, "mode", "802.3ad");
        set(&mut o, "miimon", "100");
        set(&mut o, "updelay", "200");
        set(&mut o, "lacp_rate", "fast");
        set(&mut o, "xmit_hash_policy", "layer3+4");
        set(&mut o, "ad_actor_system", "02:00:00:00:00:09");
        set(&mut o, "min_links", "1");
        // Kept by the kernel when the mode changes, and refused as a write in the new mode.
        set(&mut o, "mode", "active-backup");
        set(&mut o, "arp_interval", "100");
        set(&mut o, "arp_ip_target", "+192.0.2.1");
        set(&mut o, "arp_ip_target", "+192.0.2.2");
        set(&mut o, "ns_ip6_target", "+2001:db8::1");
        set(&mut o, "primary", "eth1");
        set(&mut o, "fail_over_mac", "active");
        let s = o.settings();
        assert!(s.contains(&("lacp_rate".to_owned(), "fast 1".to_owned())), "{s:?}");
        assert!(s.contains(&("arp_ip_target".to_owned(), "192.0.2.1 192.0.2.2".to_owned())));
        let back = BondOptions::from_settings(&s).expect("made again");
        assert_eq!(back.settings(), s);
        // Every value sysfs shows is the same, except the hidden multiple of miimon that the
        // kernel keeps for `updelay` while miimon is 0 (see the module documentation).
        let mut hidden = o.clone();
        hidden.updelay = 0;
        assert_eq!(back, hidden);
    }

    #[test]
    fn micro_bfd_settings_come_back() {
        let mut o = BondOptions::new();
        set(&mut o, "mode", "802.3ad");
        set(&mut o, "bfd", "on");
        set(&mut o, "bfd_min_tx", "10");
        set(&mut o, "bfd_min_rx", "20");
        set(&mut o, "bfd_multiplier", "5");
        set(&mut o, "bfd_peer", "2001:db8::2");
        let s = o.settings();
        assert!(s.contains(&("bfd".to_owned(), "on 1".to_owned())), "{s:?}");
        assert!(s.contains(&("bfd_peer".to_owned(), "2001:db8::2".to_owned())), "{s:?}");
        assert_eq!(BondOptions::from_settings(&s).ok(), Some(o));
    }

    #[test]
    fn a_mode_only_option_set_then_left_by_a_mode_change_comes_back() {
        for (mode, name) in [("broadcast", "tcp_dup_discard"), ("802.3ad", "lacp_fallback")] {
            let mut o = BondOptions::new();
            set(&mut o, "mode", mode);
            let flipped = if o.get(name).unwrap().starts_with("on") { "off" } else { "on" };
            set(&mut o, name, flipped);
            set(&mut o, "mode", "balance-rr");
            let s = o.settings();
            assert_eq!(BondOptions::from_settings(&s).ok(), Some(o.clone()), "{name}: {s:?}");
            // And back in its mode, it keeps its value.
            let mut back = BondOptions::from_settings(&s).unwrap();
            set(&mut back, "mode", mode);
            assert!(back.get(name).unwrap().starts_with(flipped), "{name}");
        }
    }

    #[test]
    fn words_that_do_not_make_a_bond_are_refused_with_the_option() {
        let bad = |name: &str, value: &str| {
            let s = vec![
                ("mode".to_owned(), "802.3ad 4".to_owned()),
                (name.to_owned(), value.to_owned()),
            ];
            BondOptions::from_settings(&s).expect_err("refused").to_string()
        };
        assert!(bad("miimonn", "100").contains("miimonn"));
        assert!(bad("lacp_rate", "sometimes").contains("lacp_rate"));
        assert!(bad("slaves", "+eth0").contains("slaves"));
        // Parses, but reads back otherwise: updelay is rounded to a multiple of miimon.
        let s = vec![
            ("mode".to_owned(), "802.3ad 4".to_owned()),
            ("miimon".to_owned(), "100".to_owned()),
            ("updelay".to_owned(), "250".to_owned()),
        ];
        let e = BondOptions::from_settings(&s).expect_err("refused").to_string();
        assert!(e.contains("updelay") && e.contains("does not come back"), "{e}");
    }
}
