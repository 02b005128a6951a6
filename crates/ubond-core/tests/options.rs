//! The bonding option model against the kernel's behaviour (`bond_options.c`, `bond_sysfs.c`).
//! The module-option strings (`bond_main.c: bond_check_params`) are in `module_options.rs`.

use std::net::Ipv4Addr;

use ubond_core::options::*;

fn ctx() -> SetContext {
    SetContext::new()
}

fn in_mode(mode: &str) -> BondOptions {
    let mut o = BondOptions::default();
    o.set("mode", mode, &ctx()).expect("a valid mode");
    o
}

fn slaves(names: &[(&str, bool)], active: Option<&str>) -> SetContext {
    SetContext {
        has_slaves: !names.is_empty(),
        is_up: true,
        slaves: names
            .iter()
            .map(|(n, u)| SlaveState { name: (*n).to_owned(), usable: *u })
            .collect(),
        active_slave: active.map(str::to_owned),
    }
}

#[test]
fn defaults_are_the_kernels() {
    let o = BondOptions::default();
    let expect = [
        ("mode", "balance-rr 0"),
        ("packets_per_slave", "1"),
        ("xmit_hash_policy", "layer2 0"),
        ("miimon", "0"),
        ("updelay", "0"),
        ("downdelay", "0"),
        ("peer_notif_delay", "0"),
        ("use_carrier", "1"),
        ("arp_interval", "0"),
        ("arp_ip_target", ""),
        ("ns_ip6_target", ""),
        ("arp_validate", "none 0"),
        ("arp_all_targets", "any 0"),
        ("arp_missed_max", "2"),
        ("lacp_active", "on 1"),
        ("lacp_rate", "slow 0"),
        ("ad_select", "stable 0"),
        ("ad_actor_sys_prio", ""), // printed only in 802.3ad mode
        ("min_links", "0"),
        ("coupled_control", "1"),
        ("broadcast_neighbor", "0"),
        ("lacp_strict", "0"),
        ("primary", ""),
        ("primary_reselect", "always 0"),
        ("active_slave", ""),
        ("fail_over_mac", "none 0"),
        ("num_grat_arp", "1"),
        ("num_unsol_na", "1"),
        ("resend_igmp", "1"),
        ("all_slaves_active", "0"),
        ("lp_interval", "1"),
        ("tlb_dynamic_lb", "1"),
        ("max_bonds", "1"),
        ("tx_queues", "16"),
        ("lacp_fallback", "off 0"),
        ("ad_unknown_speed", "10000"),
        ("bfd", "off 0"),
        ("bfd_min_tx", "50"),
        ("bfd_min_rx", "50"),
        ("bfd_multiplier", "3"),
        ("bfd_peer", ""),
    ];
    for (name, value) in expect {
        assert_eq!(o.get(name).unwrap(), value, "{name}");
    }
    let ad = in_mode("802.3ad");
    assert_eq!(ad.get("ad_actor_sys_prio").unwrap(), "65535");
    assert_eq!(ad.get("ad_actor_system").unwrap(), "00:00:00:00:00:00");
    assert_eq!(ad.get("ad_user_port_key").unwrap(), "0");
    assert_eq!(o.slave("eth0"), SlaveOptions { queue_id: 0, prio: 0, actor_port_prio: 255 });
}

#[test]
fn every_option_has_a_name_and_get_works_for_bond_options() {
    let o = BondOptions::default();
    for id in OptionId::ALL {
        assert_eq!(OptionId::from_name(id.name()), Some(*id));
        if id.scope() == Scope::Bond || id.scope() == Scope::Module {
            o.get(id.name()).unwrap();
        }
    }
}

/// (option, mode to set first, value, expected get() after, or None for an error)
#[test]
fn value_table() {
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        ("mode", "balance-rr", "802.3ad", Some("802.3ad 4")),
        ("mode", "balance-rr", "4", Some("802.3ad 4")),
        ("mode", "balance-rr", "active-backup\n", Some("active-backup 1")),
        ("mode", "balance-rr", "  balance-alb  ", Some("balance-alb 6")),
        ("mode", "active-backup", "default", Some("balance-rr 0")),
        ("mode", "balance-rr", "803.3ad", None),
        ("mode", "balance-rr", "802.3AD", None),
        ("mode", "balance-rr", "7", None),
        ("mode", "balance-rr", "", None),
        ("mode", "balance-rr", "-1", None),
        ("mode", "balance-rr", "4x", None),
        ("xmit_hash_policy", "802.3ad", "layer3+4", Some("layer3+4 1")),
        ("xmit_hash_policy", "802.3ad", "2", Some("layer2+3 2")),
        ("xmit_hash_policy", "802.3ad", "vlan+srcmac", Some("vlan+srcmac 5")),
        ("xmit_hash_policy", "802.3ad", "layer34", None),
        ("xmit_hash_policy", "802.3ad", "6", None),
        // bond_opt_parse reads numbers with %llu: decimal only, "0x1" is a (wrong) name.
        ("xmit_hash_policy", "802.3ad", "0x1", None),
        ("xmit_hash_policy", "802.3ad", "003", Some("encap2+3 3")),
        ("xmit_hash_policy", "802.3ad", "010", None), // ten, not octal eight
        ("lacp_rate", "802.3ad", "fast", Some("fast 1")),
        ("lacp_rate", "802.3ad", "1", Some("fast 1")),
        ("lacp_rate", "802.3ad", "fast junk", Some("fast 1")),
        ("lacp_rate", "802.3ad", "Fast", None),
        ("lacp_rate", "802.3ad", "default", None),
        ("lacp_active", "802.3ad", "off", Some("off 0")),
        ("lacp_active", "802.3ad", "default", Some("on 1")),
        ("ad_select", "802.3ad", "bandwidth", Some("bandwidth 1")),
        ("ad_select", "802.3ad", "actor_port_prio", Some("actor_port_prio 3")),
        ("ad_select", "802.3ad", "4", None),
        ("arp_validate", "active-backup", "filter_backup", Some("filter_backup 6")),
        ("arp_validate", "active-backup", "3", Some("all 3")),
        ("arp_validate", "active-backup", "7", None),
        ("arp_all_targets", "active-backup", "all", Some("all 1")),
        ("fail_over_mac", "active-backup", "follow", Some("follow 2")),
        ("primary_reselect", "active-backup", "failure", Some("failure 2")),
        ("miimon", "balance-rr", "100", Some("100")),
        ("miimon", "balance-rr", "maxval", Some("2147483647")),
        ("miimon", "balance-rr", "off", Some("0")),
        ("miimon", "balance-rr", "2147483648", None),
        ("miimon", "balance-rr", "0x64", None),
        ("miimon", "balance-rr", "100ms", None),
        ("arp_interval", "active-backup", "1000", Some("1000")),
        ("arp_missed_max", "active-backup", "0", None),
        ("arp_missed_max", "active-backup", "255", Some("255")),
        ("arp_missed_max", "active-backup", "default", Some("2")),
        ("packets_per_slave", "balance-rr", "0", Some("0")),
        ("packets_per_slave", "balance-rr", "65535", Some("65535")),
        ("packets_per_slave", "balance-rr", "65536", None),
        ("num_grat_arp", "active-backup", "255", Some("255")),
        ("num_unsol_na", "active-backup", "256", None),
        ("num_unsol_na", "active-backup", "maxval", Some("255")),
        ("resend_igmp", "balance-rr", "0", Some("0")),
        ("resend_igmp", "balance-rr", "off", Some("0")),
        ("all_slaves_active", "balance-rr", "1", Some("1")),
        ("all_slaves_active", "balance-rr", "2", None),
        ("lp_interval", "balance-tlb", "0", None),
        ("lp_interval", "balance-tlb", "minval", Some("1")),
        ("lp_interval", "balance-tlb", "30", Some("30")),
        ("min_links", "802.3ad", "2", Some("2")),
        ("min_links", "balance-rr", "2", Some("2")),
        ("use_carrier", "balance-rr", "1", Some("1")),
        ("use_carrier", "balance-rr", "on", Some("1")),
        ("use_carrier", "balance-rr", "0", None),
        ("tlb_dynamic_lb", "balance-tlb", "0", Some("0")),
        ("ad_actor_sys_prio", "802.3ad", "0", None),
        ("ad_actor_sys_prio", "802.3ad", "1", Some("1")),
        ("ad_actor_sys_prio", "802.3ad", "65536", None),
        ("ad_user_port_key", "802.3ad", "1023", Some("1023")),
        ("ad_user_port_key", "802.3ad", "1024", None),
        ("ad_actor_system", "802.3ad", "02:00:00:00:00:01\n", Some("02:00:00:00:00:01")),
        ("ad_actor_system", "802.3ad", "01:80:c2:00:00:02", None),
        ("ad_actor_system", "802.3ad", "ff:ff:ff:ff:ff:ff", None),
        ("ad_actor_system", "802.3ad", "2:0:0:0:0:1", None),
        ("coupled_control", "802.3ad", "off", Some("0")),
        ("broadcast_neighbor", "802.3ad", "on", Some("1")),
        ("lacp_strict", "802.3ad", "on", Some("1")),
        ("peer_notif_delay", "active-backup", "300001", None),
        ("lacp_fallback", "802.3ad", "on", Some("on 1")),
        ("ad_unknown_speed", "802.3ad", "refuse", Some("refuse")),
        ("ad_unknown_speed", "802.3ad", "25000", Some("25000")),
        ("ad_unknown_speed", "802.3ad", "0", None),
        ("ad_unknown_speed", "802.3ad", "fast", None),
        ("bfd", "802.3ad", "on", Some("on 1")),
        ("bfd", "active-backup", "1", Some("on 1")),
        ("bfd", "balance-tlb", "on", None),
        ("bfd_min_tx", "802.3ad", "10", Some("10")),
        ("bfd_min_tx", "802.3ad", "9", None),
        ("bfd_min_tx", "balance-rr", "default", Some("50")),
        ("bfd_min_rx", "balance-xor", "60000", Some("60000")),
        ("bfd_min_rx", "balance-xor", "60001", None),
        ("bfd_multiplier", "broadcast", "1", Some("1")),
        ("bfd_multiplier", "broadcast", "0", None),
        ("bfd_multiplier", "broadcast", "256", None),
        ("bfd_peer", "802.3ad", "192.0.2.2\n", Some("192.0.2.2")),
        ("bfd_peer", "802.3ad", "2001:db8::2", Some("2001:db8::2")),
        ("bfd_peer", "802.3ad", "", Some("")),
        ("bfd_peer", "802.3ad", "192.0.2.256", None),
        ("bfd_peer", "802.3ad", "224.0.0.1", None),
        ("bfd_peer", "802.3ad", "ff02::1", None),
        ("bfd_peer", "802.3ad", "peer", None),
    ];
    for (name, mode, value, expect) in cases {
        let mut o = in_mode(mode);
        let r = o.set(name, value, &ctx());
        match expect {
            Some(want) => {
                assert!(r.is_ok(), "{name}={value:?} in {mode}: {r:?}");
                assert_eq!(o.get(name).unwrap(), *want, "{name}={value:?} in {mode}");
            }
            None => {
                let before = in_mode(mode);
                assert!(r.is_err(), "{name}={value:?} in {mode} should fail, got {r:?}");
                assert_eq!(o, before, "a refused value changes nothing ({name}={value:?})");
            }
        }
    }
}

#[test]
fn error_messages_name_the_option_value_and_what_is_allowed() {
    let mut o = BondOptions::default();
    let e = o.set("mode", "803.3ad", &ctx()).unwrap_err();
    assert_eq!(e.errno(), 22);
    assert_eq!(
        e.to_string(),
        "option mode: invalid value \"803.3ad\"; allowed: balance-rr(0), active-backup(1), \
         balance-xor(2), broadcast(3), 802.3ad(4), balance-tlb(5), balance-alb(6)"
    );
    let e = o.set("miimon", "-5", &ctx()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "option miimon: invalid value \"-5\"; allowed: 0-2147483647 (or off, maxval)"
    );
    let e = o.set("miimmon", "100", &ctx()).unwrap_err();
    assert_eq!(
        e,
        OptionError::UnknownOption { name: "miimmon".into(), suggestion: Some("miimon") }
    );
    assert_eq!(e.to_string(), "unknown bonding option \"miimmon\"; did you mean \"miimon\"?");
    let e = o.set("lacp-rate", "fast", &ctx()).unwrap_err();
    assert!(e.to_string().contains("did you mean \"lacp_rate\""), "{e}");
    let e = o.set("xmit_hash", "layer2", &ctx()).unwrap_err();
    assert!(matches!(e, OptionError::UnknownOption { .. }));
}

#[test]
fn mode_applicability_matches_unsuppmodes() {
    use Mode::*;
    let table: &[(&str, &[Mode])] = &[
        ("packets_per_slave", &[BalanceRr]),
        ("lacp_rate", &[Ieee8023ad]),
        ("lacp_active", &[Ieee8023ad]),
        ("ad_actor_sys_prio", &[Ieee8023ad]),
        ("ad_actor_system", &[Ieee8023ad]),
        ("ad_user_port_key", &[Ieee8023ad]),
        ("coupled_control", &[Ieee8023ad]),
        ("broadcast_neighbor", &[Ieee8023ad]),
        ("lacp_fallback", &[Ieee8023ad]),
        ("bfd", &[BalanceRr, ActiveBackup, BalanceXor, Broadcast, Ieee8023ad]),
        ("bfd_peer", &[BalanceRr, ActiveBackup, BalanceXor, Broadcast, Ieee8023ad]),
        ("primary", &[ActiveBackup, BalanceTlb, BalanceAlb]),
        ("active_slave", &[ActiveBackup, BalanceTlb, BalanceAlb]),
        ("prio", &[ActiveBackup, BalanceTlb, BalanceAlb]),
        ("tlb_dynamic_lb", &[BalanceTlb, BalanceAlb]),
        ("arp_interval", &[BalanceRr, ActiveBackup, BalanceXor, Broadcast]),
        ("arp_validate", &[BalanceRr, ActiveBackup, BalanceXor, Broadcast]),
        ("arp_missed_max", &[BalanceRr, ActiveBackup, BalanceXor, Broadcast]),
        ("xmit_hash_policy", Mode::ALL),
        ("ad_select", Mode::ALL),
        ("min_links", Mode::ALL),
        ("arp_ip_target", Mode::ALL),
        ("miimon", Mode::ALL),
    ];
    for (name, modes) in table {
        let id = OptionId::from_name(name).unwrap();
        assert_eq!(id.modes(), modes.to_vec(), "{name}");
    }
    let mut o = in_mode("balance-rr");
    let e = o.set("lacp_rate", "fast", &ctx()).unwrap_err();
    assert_eq!(e.errno(), 13);
    assert_eq!(
        e.to_string(),
        "option lacp_rate: mode dependency failed, not supported in mode balance-rr(0); it applies to 802.3ad(4)"
    );
    // The mode is checked before the value is parsed, as in the kernel.
    let e = o.set("lacp_rate", "bogus", &ctx()).unwrap_err();
    assert_eq!(e.errno(), 13);
    let mut ad = in_mode("802.3ad");
    assert_eq!(ad.set("arp_interval", "100", &ctx()).unwrap_err().errno(), 13);
    assert_eq!(ad.set("primary", "eth0", &ctx()).unwrap_err().errno(), 13);
}

#[test]
fn noslaves_and_ifdown() {
    let mut o = BondOptions::default();
    let busy = slaves(&[("eth0", true)], Some("eth0"));
    let e = o.set("mode", "active-backup", &busy).unwrap_err();
    assert_eq!(e.to_string(), "option mode: unable to set because the bond device has slaves");
    assert_eq!(e.errno(), 39);
    // Checked before the value: even a bad value reports the slaves.
    assert_eq!(o.set("mode", "garbage", &busy).unwrap_err().errno(), 39);
    assert_eq!(o.set("fail_over_mac", "active", &busy).unwrap_err().errno(), 39);

    let up = SetContext { is_up: true, ..SetContext::new() };
    let e = o.set("mode", "802.3ad", &up).unwrap_err();
    assert_eq!(e, OptionError::BondIsUp { option: "mode" });
    let mut ad = in_mode("802.3ad");
    for name in ["lacp_rate", "lacp_active", "ad_select", "ad_user_port_key", "coupled_control"] {
        let value = if name == "ad_user_port_key" { "5" } else { "1" };
        let e = ad.set(name, value, &up).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("option {name}: unable to set because the bond device is up")
        );
        assert_eq!(e.errno(), 16);
        ad.set(name, value, &ctx()).unwrap();
    }
    let mut tlb = in_mode("balance-tlb");
    assert_eq!(tlb.set("tlb_dynamic_lb", "0", &up).unwrap_err().errno(), 16);
    // Not flagged: settable while up and with slaves.
    for (name, value) in [("miimon", "200"), ("min_links", "1"), ("ad_actor_sys_prio", "100")] {
        ad.set(name, value, &busy).unwrap();
    }
    assert!(OptionId::Mode.needs_no_slaves() && OptionId::Mode.needs_bond_down());
    assert!(OptionId::FailOverMac.needs_no_slaves() && !OptionId::FailOverMac.needs_bond_down());
}

#[test]
fn mode_side_effects() {
    let mut o = BondOptions::default();
    o.set("arp_ip_target", "+192.0.2.1", &ctx()).unwrap();
    o.set("arp_interval", "500", &ctx()).unwrap();
    o.set("arp_validate", "all", &ctx()).unwrap();
    let w = o.set("mode", "802.3ad", &ctx()).unwrap();
    assert_eq!(o.arp_interval, 0);
    assert_eq!(o.miimon, 100);
    assert_eq!(o.arp_validate, ArpValidate::None);
    let text: Vec<_> = w.iter().map(|w| w.message.as_str()).collect();
    assert!(
        text.contains(&"802.3ad mode is incompatible with arp monitoring, start mii monitoring")
    );
    assert!(text.contains(&"Setting MII monitoring interval to 100"));

    // Modes with ARP monitoring keep miimon 0.
    let o = in_mode("active-backup");
    assert_eq!(o.miimon, 0);
    // An explicit miimon is kept.
    let mut o = BondOptions::default();
    o.set("miimon", "250", &ctx()).unwrap();
    o.set("mode", "balance-alb", &ctx()).unwrap();
    assert_eq!(o.miimon, 250);

    // Switching to ALB forces tlb_dynamic_lb.
    let mut o = in_mode("balance-tlb");
    o.set("tlb_dynamic_lb", "0", &ctx()).unwrap();
    o.set("mode", "balance-alb", &ctx()).unwrap();
    assert!(o.tlb_dynamic_lb);

    // broadcast_neighbor does not survive a mode change.
    let mut o = in_mode("802.3ad");
    o.set("broadcast_neighbor", "on", &ctx()).unwrap();
    o.set("mode", "active-backup", &ctx()).unwrap();
    assert!(!o.broadcast_neighbor);
}

#[test]
fn delays_round_to_miimon_and_need_it() {
    let mut o = BondOptions::default();
    let e = o.set("updelay", "200", &ctx()).unwrap_err();
    assert_eq!(e.errno(), 1);
    assert!(e.to_string().contains("Unable to set up delay as MII monitoring is disabled"), "{e}");
    o.set("miimon", "100", &ctx()).unwrap();
    let w = o.set("updelay", "250", &ctx()).unwrap();
    assert_eq!(o.get("updelay").unwrap(), "200");
    assert_eq!(
        w[0].message,
        "up delay (250) is not a multiple of miimon (100), value rounded to 200 ms"
    );
    let w = o.set("downdelay", "300", &ctx()).unwrap();
    assert!(w.is_empty());
    assert_eq!(o.downdelay_ms(), 300);
    let w = o.set("peer_notif_delay", "150", &ctx()).unwrap();
    assert_eq!(
        w[0].message,
        "peer notification delay (150) is not a multiple of miimon (100), value rounded to 100 ms"
    );
    // The kernel keeps multipliers: changing miimon scales the delays.
    let w = o.set("miimon", "50", &ctx()).unwrap();
    assert_eq!(o.get("updelay").unwrap(), "100");
    assert_eq!(o.get("downdelay").unwrap(), "150");
    assert_eq!(
        w[0].message,
        "Note: Updating updelay (to 100) since it is a multiple of the miimon value"
    );
}

#[test]
fn arp_interval_and_miimon_exclude_each_other() {
    let mut o = in_mode("active-backup");
    o.set("miimon", "100", &ctx()).unwrap();
    let w = o.set("arp_interval", "1000", &ctx()).unwrap();
    assert_eq!(o.miimon, 0);
    assert_eq!(o.arp_interval, 1000);
    assert!(w.iter().any(|w| w.message.contains("Disabling MII monitoring")));
    assert!(w.iter().any(|w| w.message.contains("no ARP targets have been specified")));
    o.set("arp_validate", "active", &ctx()).unwrap();
    let w = o.set("miimon", "100", &ctx()).unwrap();
    assert_eq!(o.arp_interval, 0);
    assert_eq!(o.arp_validate, ArpValidate::None);
    assert!(w.iter().any(|w| w.message.contains("disabling ARP monitoring")));
    // arp_interval=0 does not touch miimon.
    o.set("arp_interval", "0", &ctx()).unwrap();
    assert_eq!(o.miimon, 100);
}

#[test]
fn arp_ip_target_plus_minus() {
    let mut o = in_mode("active-backup");
    o.set("arp_ip_target", "+192.0.2.1\n", &ctx()).unwrap();
    o.set("arp_ip_target", "+192.0.2.2", &ctx()).unwrap();
    assert_eq!(o.get("arp_ip_target").unwrap(), "192.0.2.1 192.0.2.2");
    let e = o.set("arp_ip_target", "+192.0.2.1", &ctx()).unwrap_err();
    assert!(e.to_string().contains("ARP target 192.0.2.1 is already present"), "{e}");
    let e = o.set("arp_ip_target", "192.0.2.3", &ctx()).unwrap_err();
    assert_eq!(e.errno(), 1);
    assert!(e.to_string().contains("use +<addr> or -<addr>"), "{e}");
    for bad in ["+", "", "+192.0.2", "+192.0.2.300", "+a.b.c.d"] {
        assert_eq!(o.set("arp_ip_target", bad, &ctx()).unwrap_err().errno(), 1, "{bad:?}");
    }
    for refused in ["+0.1.2.3", "+255.255.255.255", "-192.0.2.9"] {
        assert_eq!(o.set("arp_ip_target", refused, &ctx()).unwrap_err().errno(), 22, "{refused:?}");
    }
    o.set("arp_ip_target", "-192.0.2.1", &ctx()).unwrap();
    assert_eq!(o.arp_ip_target, vec![Ipv4Addr::new(192, 0, 2, 2)]);
    o.set("arp_interval", "100", &ctx()).unwrap();
    let w = o.set("arp_ip_target", "-192.0.2.2", &ctx()).unwrap();
    assert_eq!(w[0].message, "Removing last arp target with arp_interval on");
    for i in 1..=16 {
        o.set("arp_ip_target", &format!("+10.0.0.{i}"), &ctx()).unwrap();
    }
    let e = o.set("arp_ip_target", "+10.0.0.17", &ctx()).unwrap_err();
    assert!(e.to_string().contains("ARP target table is full!"), "{e}");
}

#[test]
fn ns_ip6_target_plus_minus() {
    let mut o = in_mode("active-backup");
    o.set("ns_ip6_target", "+2001:db8::1", &ctx()).unwrap();
    o.set("ns_ip6_target", "+2001:db8::2\n", &ctx()).unwrap();
    assert_eq!(o.get("ns_ip6_target").unwrap(), "2001:db8::1 2001:db8::2");
    for bad in ["+::1", "+ff02::1", "+::", "+2001:db8::1"] {
        assert!(o.set("ns_ip6_target", bad, &ctx()).is_err(), "{bad}");
    }
    o.set("ns_ip6_target", "-2001:db8::1", &ctx()).unwrap();
    assert_eq!(o.ns_ip6_target.len(), 1);
}

#[test]
fn primary_and_active_slave() {
    let mut o = in_mode("active-backup");
    let c = slaves(&[("eth0", true), ("eth1", false), ("eth2", true)], Some("eth0"));
    let w = o.set("primary", "eth9\n", &c).unwrap();
    assert_eq!(o.primary.as_deref(), Some("eth9"));
    assert!(w[0].message.contains("Recording eth9 as primary, but it has not been enslaved yet"));
    assert!(o.set("primary", "eth1", &c).unwrap().is_empty());
    assert_eq!(o.get("primary").unwrap(), "eth1");
    o.set("primary", "\n", &c).unwrap();
    assert_eq!(o.primary, None);
    o.set("primary", "averyveryverylongname", &c).unwrap();
    assert_eq!(o.primary.as_deref(), Some("averyveryverylo"), "cut to IFNAMSIZ - 1 bytes");

    o.set("active_slave", "eth2", &c).unwrap();
    assert_eq!(o.get("active_slave").unwrap(), "eth2");
    let e = o.set("active_slave", "eth1", &c).unwrap_err();
    assert!(e.to_string().contains("either eth1 is down or the link is down"), "{e}");
    let e = o.set("active_slave", "eth7", &c).unwrap_err();
    assert_eq!(e.errno(), 19);
    o.set("active_slave", "\n", &c).unwrap();
    assert_eq!(o.active_slave, None);
    o.set("active_slave", "", &c).unwrap();
    // No current active slave: the kernel refuses even a usable slave.
    let none = slaves(&[("eth0", true)], None);
    assert!(o.set("active_slave", "eth0", &none).is_err());
}

#[test]
fn queue_id_and_slave_options() {
    let mut o = in_mode("active-backup");
    let c = slaves(&[("eth0", true), ("eth1", true)], Some("eth0"));
    o.set("queue_id", "eth0:2\n", &c).unwrap();
    o.set("queue_id", "eth1:3", &c).unwrap();
    assert_eq!(o.get("queue_id").unwrap(), "eth0:2 eth1:3");
    assert!(o.set("queue_id", "eth1:2", &c).is_err(), "duplicate queue id");
    o.set("queue_id", "eth1:0", &c).unwrap();
    o.set("queue_id", "eth0:0", &c).unwrap(); // 0 may repeat
    assert!(o.set("queue_id", "eth0", &c).is_err());
    assert!(o.set("queue_id", "eth5:1", &c).is_err());
    assert!(o.set("queue_id", "eth0:17", &c).is_err());
    assert!(o.set("queue_id", "eth0:-1", &c).is_err());
    o.set("queue_id", "eth0:16", &c).unwrap(); // the kernel's `>` check

    o.set_slave("eth1", "prio", "10", &c).unwrap();
    assert_eq!(o.get_slave("eth1", "prio").unwrap(), "10");
    assert_eq!(o.slave("eth1").prio, 10);
    assert!(o.set_slave("eth1", "actor_port_prio", "100", &c).is_err(), "802.3ad only");
    assert!(o.set_slave("eth3", "prio", "1", &c).is_err());
    assert!(o.set("prio", "1", &c).is_err(), "per-slave, not bond-level");

    let mut ad = in_mode("802.3ad");
    ad.set_slave("eth0", "actor_port_prio", "0", &c).unwrap();
    ad.set_slave("eth0", "actor_port_prio", "65535", &c).unwrap();
    assert!(ad.set_slave("eth0", "actor_port_prio", "65536", &c).is_err());
    assert_eq!(ad.get_slave("eth0", "actor_port_prio").unwrap(), "65535");
    assert!(ad.set_slave("eth0", "prio", "1", &c).is_err(), "prio is not for 802.3ad");
}

#[test]
fn slaves_and_module_only() {
    assert_eq!(parse_slaves_command("+eth0\n"), Ok(SlaveCommand::Add("eth0".into())));
    assert_eq!(parse_slaves_command("-eth1"), Ok(SlaveCommand::Remove("eth1".into())));
    for bad in ["eth0", "+", "", "+a/b", "*eth0"] {
        assert!(parse_slaves_command(bad).is_err(), "{bad:?}");
    }
    let mut o = BondOptions::default();
    assert!(matches!(o.set("slaves", "+eth0", &ctx()), Err(OptionError::NotASetting { .. })));
    assert!(matches!(o.set("max_bonds", "2", &ctx()), Err(OptionError::ModuleOnly { .. })));
    assert!(matches!(o.set("tx_queues", "2", &ctx()), Err(OptionError::ModuleOnly { .. })));
}

#[test]
fn enums_round_trip() {
    for m in Mode::ALL {
        assert_eq!(m.name().parse::<Mode>(), Ok(*m));
        assert_eq!(m.number().to_string().parse::<Mode>(), Ok(*m));
        assert_eq!(Mode::from_number(u64::from(m.number())), Some(*m));
    }
    assert_eq!(Mode::Ieee8023ad.sysfs(), "802.3ad 4");
    assert_eq!(format!("{:#}", XmitHashPolicy::Layer34), "layer3+4 1");
    assert_eq!(LacpRate::Slow.sysfs(), "slow 0");
    assert_eq!("layer2+3".parse::<XmitHashPolicy>(), Ok(XmitHashPolicy::Layer23));
    assert!("LAYER2".parse::<XmitHashPolicy>().is_err());
    assert_eq!(Mode::default(), Mode::BalanceRr);
    assert!(Mode::ActiveBackup.uses_primary() && !Mode::Ieee8023ad.uses_arp());
}
