//! Module-option strings (`modprobe bonding ...`, `BONDING_OPTS`) against the kernel's
//! `bond_check_params` (`bond_main.c`).

use std::net::Ipv4Addr;

use proptest::prelude::*;
use ubond_core::options::*;
use ubond_wire::MacAddr;

fn module(s: &str) -> ModuleOptions {
    parse_module_options(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn module_strings_from_real_configs() {
    // Debian / RHEL docs: active-backup with a primary.
    let m = module("mode=1 miimon=100 primary=eth0");
    assert_eq!(m.options.mode, Mode::ActiveBackup);
    assert_eq!(m.options.miimon, 100);
    assert_eq!(m.options.primary.as_deref(), Some("eth0"));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);

    // RHEL: LACP with fast rate and layer3+4; miimon forced.
    let m = module("mode=802.3ad lacp_rate=1 xmit_hash_policy=layer3+4");
    assert_eq!(m.options.mode, Mode::Ieee8023ad);
    assert_eq!(m.options.lacp_rate, LacpRate::Fast);
    assert_eq!(m.options.xmit_hash_policy, XmitHashPolicy::Layer34);
    assert_eq!(m.options.miimon, 100);
    assert_eq!(m.warnings[1].message, "Forcing miimon to 100msec");

    let m = module(
        "mode=802.3ad miimon=100 lacp_rate=fast xmit_hash_policy=layer2+3 \
         arp_ip_target=192.0.2.1,192.0.2.2",
    );
    assert_eq!(
        m.options.arp_ip_target,
        vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)]
    );
    assert_eq!(m.options.lacp_rate, LacpRate::Fast);

    // RHEL ARP monitoring example.
    let m = module(
        "mode=active-backup arp_interval=1000 arp_ip_target=+192.168.1.254 arp_validate=all",
    );
    assert_eq!(m.options.arp_interval, 1000);
    assert_eq!(m.options.arp_validate, ArpValidate::All);
    assert_eq!(m.options.miimon, 0);

    // Red Hat: "mode=balance-alb miimon=100"; kernel notice about updelay in ALB.
    let m = module("mode=6 miimon=100");
    assert_eq!(m.options.mode, Mode::BalanceAlb);
    assert!(m.warnings[0].message.starts_with("In ALB mode you might experience"));

    // Ubuntu netplan-era BONDING_OPTS with sysfs-only options.
    let m =
        module("mode=4 miimon=100 lacp_active=off ad_actor_system=02:00:00:00:00:aa updelay=200");
    assert!(!m.options.lacp_active);
    assert_eq!(m.options.ad_actor_system, MacAddr([2, 0, 0, 0, 0, 0xaa]));
    assert_eq!(m.options.updelay_ms(), 200);
}

#[test]
fn module_order_does_not_matter() {
    let a = module("mode=802.3ad miimon=100 updelay=200 lacp_rate=fast ad_select=count lacp_active=off peer_notif_delay=300");
    let b = module("peer_notif_delay=300 lacp_active=off ad_select=count lacp_rate=fast updelay=200 miimon=100 mode=802.3ad");
    assert_eq!(a.options, b.options);
    assert_eq!(a.options.updelay_ms(), 200);
    assert_eq!(a.options.peer_notif_delay_ms(), 300);
    let c = module("arp_validate=active arp_ip_target=10.0.0.1 arp_interval=200 mode=1");
    assert_eq!(c.options.arp_validate, ArpValidate::Active);
}

#[test]
fn module_check_params_quirks() {
    // Irrelevant parameters are not even parsed.
    let m = module("mode=active-backup lacp_rate=bogus xmit_hash_policy=nonsense");
    assert_eq!(m.options.lacp_rate, LacpRate::Slow);
    assert_eq!(
        m.warnings[0].message,
        "xmit_hash_policy param is irrelevant in mode fault-tolerance (active-backup)"
    );
    assert_eq!(
        m.warnings[1].message,
        "lacp_rate param is irrelevant in mode fault-tolerance (active-backup)"
    );
    // Out-of-range integers are reset with a warning.
    let m =
        module("resend_igmp=300 num_grat_arp=-1 tx_queues=0 packets_per_slave=70000 lp_interval=0");
    assert_eq!(m.options.resend_igmp, 1);
    assert_eq!(m.options.num_peer_notif, 1);
    assert_eq!(m.options.tx_queues, 16);
    assert_eq!(m.options.packets_per_slave, 1);
    assert_eq!(m.options.lp_interval, 1);
    assert!(m
        .warnings
        .iter()
        .any(|w| w.message
            == "Warning: resend_igmp (300) should be between 0 and 255, resetting to 1"));
    // kstrtoint: hex and octal.
    assert_eq!(module("miimon=0x64").options.miimon, 100);
    assert_eq!(module("miimon=010").options.miimon, 8);
    // miimon and arp_interval: miimon wins, with a warning.
    let m = module("miimon=100 arp_interval=200 arp_ip_target=10.0.0.1");
    assert_eq!((m.options.miimon, m.options.arp_interval), (100, 0));
    // Bad and duplicate targets.
    let m = module("mode=1 arp_interval=100 arp_ip_target=10.0.0.1,10.0.0.1,bogus");
    assert_eq!(m.options.arp_ip_target.len(), 1);
    assert_eq!(m.options.arp_interval, 0, "a bad target disables ARP monitoring");
    // Updelay rounding at load.
    let m = module("miimon=100 updelay=250");
    assert_eq!(m.options.updelay_ms(), 200);
    assert!(m.warnings.iter().any(|w| w.message
        == "Warning: updelay (250) is not a multiple of miimon (100), updelay rounded to 200 ms"));
    // Primary in a mode without one is dropped.
    let m = module("mode=0 primary=eth0 miimon=100");
    assert_eq!(m.options.primary, None);
    // primary_reselect only with primary.
    assert_eq!(
        module("mode=1 primary_reselect=better").options.primary_reselect,
        PrimaryReselect::Always
    );
    assert_eq!(
        module("mode=1 primary=eth0 primary_reselect=better").options.primary_reselect,
        PrimaryReselect::Better
    );
    // Names: '-' == '_', bonding. prefix, quotes, last one wins.
    let m = module(
        "bonding.mode=4 \"lacp-rate=fast\" xmit_hash_policy=\"layer3+4\" miimon=50 miimon=200",
    );
    assert_eq!(m.options.lacp_rate, LacpRate::Fast);
    assert_eq!(m.options.xmit_hash_policy, XmitHashPolicy::Layer34);
    assert_eq!(m.options.miimon, 200);
    // Defaults without anything: balance-rr, miimon 0, and the kernel's debug warning.
    let m = module("");
    assert_eq!(m.options, BondOptions::default());
    assert!(m.warnings[0].message.starts_with("Warning: either miimon or arp_interval"));
}

#[test]
fn module_errors_name_token_and_offset() {
    let e = parse_module_options("mode=4 miimmon=100").unwrap_err();
    assert_eq!(e.offset, 7);
    assert_eq!(e.token, "miimmon=100");
    assert!(e.to_string().contains("did you mean \"miimon\""), "{e}");
    let e = parse_module_options("mode=803.3ad").unwrap_err();
    assert_eq!(e.offset, 0);
    assert!(
        e.to_string()
            .starts_with("at byte 0, \"mode=803.3ad\": option mode: invalid value \"803.3ad\""),
        "{e}"
    );
    let e = parse_module_options("  miimon=fast").unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(parse_module_options("mode").is_err());
    assert!(parse_module_options("use_carrier=0").is_err());
    assert!(parse_module_options("arp_validate=all").is_err(), "needs arp_interval");
    assert!(parse_module_options("mode=1 lacp_active=off").is_err(), "802.3ad only");
    let many: Vec<String> = (1..=17).map(|i| format!("10.0.0.{i}")).collect();
    assert!(parse_module_options(&format!("arp_ip_target={}", many.join(","))).is_err());
}

proptest! {
    #[test]
    fn set_never_panics(name in "[a-z_]{0,20}", value in any::<String>()) {
        let mut o = BondOptions::default();
        let _ = o.set(&name, &value, &SetContext::new());
        for id in OptionId::ALL {
            let _ = o.set(id.name(), &value, &SetContext::new());
            let _ = o.get(id.name());
        }
    }

    #[test]
    fn kernel_options_never_panic(value in "[ -~\n\t]{0,40}") {
        let c = SetContext {
            has_slaves: true,
            is_up: false,
            slaves: vec![SlaveState { name: "eth0".into(), usable: true }],
            active_slave: Some("eth0".into()),
        };
        for mode in Mode::ALL {
            let mut o = BondOptions { mode: *mode, ..BondOptions::default() };
            for id in OptionId::ALL {
                let _ = o.set(id.name(), &value, &c);
                let _ = o.set_slave("eth0", id.name(), &value, &c);
            }
        }
    }

    #[test]
    fn module_parser_never_panics(s in any::<String>()) {
        let _ = parse_module_options(&s);
    }

    #[test]
    fn module_parser_never_panics_on_plausible_input(
        parts in proptest::collection::vec(
            (proptest::sample::select(OptionId::ALL.to_vec()), "[ -~]{0,20}"), 0..8)
    ) {
        let s: Vec<String> = parts.iter().map(|(id, v)| format!("{}={}", id.name(), v)).collect();
        let _ = parse_module_options(&s.join(" "));
    }

    #[test]
    fn numbers_in_range_are_accepted(n in 0u32..=2_147_483_647) {
        let mut o = BondOptions::default();
        o.set("miimon", &n.to_string(), &SetContext::new()).unwrap();
        prop_assert_eq!(o.miimon, n);
    }
}

#[test]
fn lacp_config_from_options() {
    let m = module(
        "mode=802.3ad lacp_rate=fast ad_select=count ad_actor_sys_prio=100 ad_unknown_speed=refuse",
    );
    let bond_mac = MacAddr([2, 0, 0, 0, 0, 1]);
    let c = m.options.lacp_config(bond_mac);
    assert_eq!(c.system, bond_mac);
    assert!(c.lacp_fast && c.lacp_active && c.coupled_control);
    assert_eq!(c.system_priority, 100);
    assert_eq!(c.ad_select, AdSelect::Count);
    assert_eq!(c.unknown_speed, UnknownSpeed::Refuse);
    let m = module("mode=802.3ad ad_actor_system=02:00:00:00:00:99");
    assert_eq!(m.options.lacp_config(bond_mac).system, MacAddr([2, 0, 0, 0, 0, 0x99]));
}
