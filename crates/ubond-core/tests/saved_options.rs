//! Property: whatever sequence of accepted sysfs writes made a bond's options,
//! `BondOptions::from_settings(&o.settings())` makes options that read back the same, and
//! every value sysfs shows is equal.

use proptest::prelude::*;
use ubond_core::options::{BondOptions, SetContext};

/// Writes an administrator might make, valid or not (refused ones are skipped).
fn write() -> impl Strategy<Value = (&'static str, String)> {
    let word = |name: &'static str, values: &'static [&'static str]| {
        proptest::sample::select(values).prop_map(move |v| (name, v.to_owned()))
    };
    prop_oneof![
        word(
            "mode",
            &[
                "balance-rr",
                "active-backup",
                "balance-xor",
                "broadcast",
                "802.3ad",
                "balance-tlb",
                "balance-alb"
            ]
        ),
        (0u32..3000).prop_map(|v| ("miimon", v.to_string())),
        (0u32..5000).prop_map(|v| ("updelay", v.to_string())),
        (0u32..5000).prop_map(|v| ("downdelay", v.to_string())),
        (0u32..2000).prop_map(|v| ("arp_interval", v.to_string())),
        (1u8..5).prop_map(|v| ("arp_ip_target", format!("+192.0.2.{v}"))),
        (1u8..5).prop_map(|v| ("ns_ip6_target", format!("+2001:db8::{v}"))),
        word("arp_validate", &["none", "active", "backup", "all", "filter", "filter_active"]),
        word("lacp_rate", &["slow", "fast"]),
        word(
            "xmit_hash_policy",
            &["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"]
        ),
        word("ad_select", &["stable", "bandwidth", "count"]),
        word("fail_over_mac", &["none", "active", "follow"]),
        word("primary_reselect", &["always", "better", "failure"]),
        word("primary", &["eth0", "eth1", ""]),
        word("ad_actor_system", &["02:00:00:00:00:01", "02:00:00:00:00:02"]),
        (0u32..65535).prop_map(|v| ("ad_actor_sys_prio", v.to_string())),
        (0u32..1023).prop_map(|v| ("ad_user_port_key", v.to_string())),
        (0u32..10).prop_map(|v| ("min_links", v.to_string())),
        (0u32..255).prop_map(|v| ("num_grat_arp", v.to_string())),
        (0u32..255).prop_map(|v| ("resend_igmp", v.to_string())),
        (0u32..65535).prop_map(|v| ("packets_per_slave", v.to_string())),
        (1u32..255).prop_map(|v| ("arp_missed_max", v.to_string())),
        word("lacp_active", &["on", "off"]),
        word("coupled_control", &["0", "1"]),
        word("tlb_dynamic_lb", &["0", "1"]),
        word("all_slaves_active", &["0", "1"]),
        (1u32..100).prop_map(|v| ("lp_interval", v.to_string())),
        (0u32..300).prop_map(|v| ("peer_notif_delay", v.to_string())),
    ]
}

proptest! {
    #[test]
    fn settings_make_the_same_options_again(writes in proptest::collection::vec(write(), 0..40)) {
        let mut o = BondOptions::new();
        let ctx = SetContext::new();
        for (name, value) in &writes {
            let _ = o.set(name, value, &ctx);
        }
        let s = o.settings();
        let back = BondOptions::from_settings(&s)
            .unwrap_or_else(|e| panic!("{s:?} after {writes:?}: {e}"));
        prop_assert_eq!(back.settings(), s);
    }
}
