//! The `bond` and `bond_slave` details of `ip -d link show` (`ip/iplink_bond.c`
//! `bond_print_opt`, `ip/iplink_bond_slave.c` `bond_slave_print_opt`) and iproute2's value
//! tables, which the words of `type bond` read too.

use netlink_packet_route::link::{BondAdInfo, InfoBond, InfoBondPort};

use super::{get_name, ll_addr, Names};
use crate::iplink::print::{Out, Printer};

/// iproute2's value tables (`iplink_bond.c`).
pub const MODE_TBL: [&str; 7] = [
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
];
/// `arp_validate_tbl`.
pub const ARP_VALIDATE_TBL: [&str; 7] =
    ["none", "active", "backup", "all", "filter", "filter_active", "filter_backup"];
/// `arp_all_targets_tbl`.
pub const ARP_ALL_TARGETS_TBL: [&str; 2] = ["any", "all"];
/// `primary_reselect_tbl`.
pub const PRIMARY_RESELECT_TBL: [&str; 3] = ["always", "better", "failure"];
/// `fail_over_mac_tbl`.
pub const FAIL_OVER_MAC_TBL: [&str; 3] = ["none", "active", "follow"];
/// `xmit_hash_policy_tbl`.
pub const XMIT_HASH_POLICY_TBL: [&str; 6] =
    ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"];
/// `lacp_active_tbl`.
pub const LACP_ACTIVE_TBL: [&str; 2] = ["off", "on"];
/// `lacp_rate_tbl`.
pub const LACP_RATE_TBL: [&str; 2] = ["slow", "fast"];
/// `ad_select_tbl`.
pub const AD_SELECT_TBL: [&str; 4] = ["stable", "bandwidth", "count", "actor_port_prio"];

fn mac(b: &[u8]) -> String {
    ll_addr(b, 1)
}

/// `bond_print_opt`.
pub(super) fn print_bond(p: &mut Printer, attrs: &[InfoBond], names: &Names) {
    macro_rules! find {
        ($pat:pat => $v:expr) => {
            attrs.iter().find_map(|a| match a {
                $pat => Some($v),
                _ => None,
            })
        };
    }
    if let Some(m) = find!(InfoBond::Mode(m) => u8::from(*m)) {
        p.string(Out::Any, Some("mode"), "mode %s ", get_name(&MODE_TBL, u64::from(m)));
    }
    if let Some(i) = find!(InfoBond::ActivePort(i) => *i).filter(|i| *i != 0) {
        p.string(Out::Any, Some("active_slave"), "active_slave %s ", &names.link(i));
    }
    let uints: [(&str, &str, Option<u32>); 5] = [
        ("miimon", "miimon %u ", find!(InfoBond::MiiMon(v) => *v)),
        ("updelay", "updelay %u ", find!(InfoBond::UpDelay(v) => *v)),
        ("downdelay", "downdelay %u ", find!(InfoBond::DownDelay(v) => *v)),
        ("peer_notify_delay", "peer_notify_delay %u ", find!(InfoBond::PeerNotifDelay(v) => *v)),
        ("use_carrier", "use_carrier %u ", find!(InfoBond::UseCarrier(v) => u32::from(*v))),
    ];
    for (key, fmt, v) in uints {
        if let Some(v) = v {
            p.uint(Out::Any, Some(key), fmt, u64::from(v));
        }
    }
    if let Some(v) = find!(InfoBond::ArpInterval(v) => *v) {
        p.uint(Out::Any, Some("arp_interval"), "arp_interval %u ", u64::from(v));
    }
    if let Some(v) = find!(InfoBond::MissedMax(v) => *v) {
        p.uint(Out::Any, Some("arp_missed_max"), "arp_missed_max %u ", u64::from(v));
    }
    if let Some(targets) = find!(InfoBond::ArpIpTarget(t) => t) {
        let t: Vec<String> = targets.iter().take(16).map(ToString::to_string).collect();
        print_targets(p, "arp_ip_target", &t);
    }
    if let Some(targets) = find!(InfoBond::NsIp6Target(t) => t) {
        let t: Vec<String> = targets.iter().take(16).map(ToString::to_string).collect();
        print_targets(p, "ns_ip6_target", &t);
    }
    if let Some(v) = find!(InfoBond::ArpValidate(v) => u32::from(*v)) {
        if v == 0 && p.is_json() {
            p.null(Out::Json, Some("arp_validate"), "", "");
        } else {
            let word = get_name(&ARP_VALIDATE_TBL, u64::from(v));
            p.string(Out::Any, Some("arp_validate"), "arp_validate %s ", word);
        }
    }
    if let Some(v) = find!(InfoBond::ArpAllTargets(v) => u32::from(*v)) {
        let word = get_name(&ARP_ALL_TARGETS_TBL, u64::from(v));
        p.string(Out::Any, Some("arp_all_targets"), "arp_all_targets %s ", word);
    }
    if let Some(i) = find!(InfoBond::Primary(i) => *i).filter(|i| *i != 0) {
        p.string(Out::Any, Some("primary"), "primary %s ", &names.link(i));
    }
    let words: [(&str, &str, &[&'static str], Option<u8>); 3] = [
        (
            "primary_reselect",
            "primary_reselect %s ",
            &PRIMARY_RESELECT_TBL,
            find!(InfoBond::PrimaryReselect(v) => u8::from(*v)),
        ),
        (
            "fail_over_mac",
            "fail_over_mac %s ",
            &FAIL_OVER_MAC_TBL,
            find!(InfoBond::FailOverMac(v) => u8::from(*v)),
        ),
        (
            "xmit_hash_policy",
            "xmit_hash_policy %s ",
            &XMIT_HASH_POLICY_TBL,
            find!(InfoBond::XmitHashPolicy(v) => u8::from(*v)),
        ),
    ];
    for (key, fmt, tbl, v) in words {
        if let Some(v) = v {
            p.string(Out::Any, Some(key), fmt, get_name(tbl, u64::from(v)));
        }
    }
    let uints: [(&str, &str, Option<u32>); 5] = [
        ("resend_igmp", "resend_igmp %u ", find!(InfoBond::ResendIgmp(v) => *v)),
        ("num_peer_notif", "num_grat_arp %u ", find!(InfoBond::NumPeerNotif(v) => u32::from(*v))),
        (
            "all_slaves_active",
            "all_slaves_active %u ",
            find!(InfoBond::AllPortsActive(v) => u32::from(u8::from(*v))),
        ),
        ("min_links", "min_links %u ", find!(InfoBond::MinLinks(v) => *v)),
        ("lp_interval", "lp_interval %u ", find!(InfoBond::LpInterval(v) => *v)),
    ];
    for (key, fmt, v) in uints {
        if let Some(v) = v {
            p.uint(Out::Any, Some(key), fmt, u64::from(v));
        }
    }
    if let Some(v) = find!(InfoBond::PacketsPerPort(v) => *v) {
        p.uint(Out::Any, Some("packets_per_slave"), "packets_per_slave %u ", u64::from(v));
    }
    if let Some(v) = find!(InfoBond::AdLacpActive(v) => u64::from(*v)) {
        let word = get_name(&LACP_ACTIVE_TBL, v);
        p.string(Out::Any, Some("ad_lacp_active"), "lacp_active %s ", word);
    }
    if let Some(v) = find!(InfoBond::AdLacpRate(v) => u8::from(*v)) {
        let word = get_name(&LACP_RATE_TBL, u64::from(v));
        p.string(Out::Any, Some("ad_lacp_rate"), "lacp_rate %s ", word);
    }
    if let Some(v) = find!(InfoBond::CoupledControl(v) => *v) {
        p.on_off(Out::Any, Some("coupled_control"), "coupled_control %s ", v);
    }
    if let Some(v) = find!(InfoBond::BroadcastNeigh(v) => *v) {
        p.on_off(Out::Any, Some("broadcast_neighbor"), "broadcast_neighbor %s ", v);
    }
    if let Some(v) = find!(InfoBond::AdSelect(v) => u8::from(*v)) {
        let word = get_name(&AD_SELECT_TBL, u64::from(v));
        p.string(Out::Any, Some("ad_select"), "ad_select %s ", word);
    }
    if let Some(info) = find!(InfoBond::AdInfo(i) => i) {
        p.open_object(Some("ad_info"));
        for i in info {
            match i {
                BondAdInfo::Aggregator(v) => {
                    p.int(Out::Any, Some("aggregator"), "ad_aggregator %d ", i64::from(*v))
                }
                BondAdInfo::NumPorts(v) => {
                    p.int(Out::Any, Some("num_ports"), "ad_num_ports %d ", i64::from(*v))
                }
                BondAdInfo::ActorKey(v) => {
                    p.int(Out::Any, Some("actor_key"), "ad_actor_key %d ", i64::from(*v))
                }
                BondAdInfo::PartnerKey(v) => {
                    p.int(Out::Any, Some("partner_key"), "ad_partner_key %d ", i64::from(*v))
                }
                BondAdInfo::PartnerMac(m) => {
                    p.string(Out::Any, Some("partner_mac"), "ad_partner_mac %s ", &mac(m))
                }
                _ => {}
            }
        }
        p.close_object();
    }
    if let Some(v) = find!(InfoBond::AdActorSysPrio(v) => *v) {
        p.uint(Out::Any, Some("ad_actor_sys_prio"), "ad_actor_sys_prio %u ", u64::from(v));
    }
    if let Some(v) = find!(InfoBond::AdUserPortKey(v) => *v) {
        p.uint(Out::Any, Some("ad_user_port_key"), "ad_user_port_key %u ", u64::from(v));
    }
    if let Some(m) = find!(InfoBond::AdActorSystem(m) => m) {
        p.string(Out::Any, Some("ad_actor_system"), "ad_actor_system %s ", &mac(m));
    }
    if let Some(v) = find!(InfoBond::TlbDynamicLb(v) => *v) {
        p.uint(Out::Any, Some("tlb_dynamic_lb"), "tlb_dynamic_lb %u ", u64::from(v));
    }
}

fn print_targets(p: &mut Printer, key: &str, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    p.open_array(Out::Json, key);
    p.string(Out::Fp, None, &format!("{key} "), "");
    for (i, t) in targets.iter().enumerate() {
        p.string(Out::Any, None, "%s", t);
        if !p.is_json() && i + 1 < targets.len() {
            p.string(Out::Fp, None, ",", "");
        }
    }
    p.string(Out::Fp, None, " ", "");
    p.close_array(Out::Json, "");
}

/// `bond_slave_print_opt`.
pub(super) fn print_bond_slave(p: &mut Printer, attrs: &[InfoBondPort]) {
    macro_rules! find {
        ($pat:pat => $v:expr) => {
            attrs.iter().find_map(|a| match a {
                $pat => Some($v),
                _ => None,
            })
        };
    }
    if let Some(s) = find!(InfoBondPort::BondPortState(s) => u8::from(*s)) {
        match s {
            0 => p.string(Out::Any, Some("state"), "state %s ", "ACTIVE"),
            1 => p.string(Out::Any, Some("state"), "state %s ", "BACKUP"),
            n => p.int(Out::Any, Some("state_index"), "state %d ", i64::from(n)),
        }
    }
    if let Some(s) = find!(InfoBondPort::MiiStatus(s) => u8::from(*s)) {
        const MII: [&str; 4] = ["UP", "GOING_DOWN", "DOWN", "GOING_BACK"];
        match MII.get(usize::from(s)) {
            Some(w) => p.string(Out::Any, Some("mii_status"), "mii_status %s ", w),
            None => p.int(Out::Any, Some("mii_status_index"), "mii_status %d ", i64::from(s)),
        }
    }
    if let Some(v) = find!(InfoBondPort::LinkFailureCount(v) => *v) {
        // `print_int` of a u32 attribute.
        let v = i64::from(v as i32);
        p.int(Out::Any, Some("link_failure_count"), "link_failure_count %d ", v);
    }
    if let Some(b) = find!(InfoBondPort::PermHwaddr(b) => b) {
        p.string(Out::Any, Some("perm_hwaddr"), "perm_hwaddr %s ", &ll_addr(b, 0));
    }
    if let Some(v) = find!(InfoBondPort::QueueId(v) => *v) {
        p.int(Out::Any, Some("queue_id"), "queue_id %d ", i64::from(v));
    }
    if let Some(v) = find!(InfoBondPort::Prio(v) => *v) {
        p.int(Out::Any, Some("prio"), "prio %d ", i64::from(v));
    }
    if let Some(v) = find!(InfoBondPort::AdAggregatorId(v) => *v) {
        p.int(Out::Any, Some("ad_aggregator_id"), "ad_aggregator_id %d ", i64::from(v));
    }
    if let Some(s) = find!(InfoBondPort::AdActorOperPortState(s) => s.bits()) {
        let key = "ad_actor_oper_port_state";
        p.int(Out::Any, Some(key), "ad_actor_oper_port_state %d ", i64::from(s));
        print_slave_oper_state(p, "ad_actor_oper_port_state_str", s);
    }
    if let Some(s) = find!(InfoBondPort::AdPartnerOperPortState(s) => s.bits()) {
        let key = "ad_partner_oper_port_state";
        p.int(Out::Any, Some(key), "ad_partner_oper_port_state %d ", i64::from(s));
        print_slave_oper_state(p, "ad_partner_oper_port_state_str", s);
    }
    const CHURN: [&str; 3] = ["MONITOR", "CHURN", "NO_CHURN"];
    for (key, fmt, v) in [
        (
            "churn_actor_state",
            "churn_actor_state %s ",
            find!(InfoBondPort::AdChurnActorState(s) => u8::from(*s)),
        ),
        (
            "churn_partner_state",
            "churn_partner_state %s ",
            find!(InfoBondPort::AdChurnPartnerState(s) => u8::from(*s)),
        ),
    ] {
        let Some(v) = v else { continue };
        match CHURN.get(usize::from(v)) {
            Some(w) => p.string(Out::Any, Some(key), fmt, w),
            None => p.uint(Out::Any, Some(key), &fmt.replace("%s", "%u"), u64::from(v)),
        }
    }
    if let Some(v) = find!(InfoBondPort::ActorPortPrio(v) => *v) {
        p.int(Out::Any, Some("actor_port_prio"), "actor_port_prio %d ", i64::from(v));
    }
}

/// `print_slave_oper_state`: the LACP state bits by name.
fn print_slave_oper_state(p: &mut Printer, name: &str, state: u8) {
    const BITS: [(u8, &str); 8] = [
        (0x01, "active"),
        (0x02, "short_timeout"),
        (0x04, "aggregating"),
        (0x08, "in_sync"),
        (0x10, "collecting"),
        (0x20, "distributing"),
        (0x40, "defaulted"),
        (0x80, "expired"),
    ];
    let mut state = state;
    p.open_array(Out::Any, name);
    p.string(Out::Fp, None, " <", "");
    for (bit, word) in BITS {
        if state & bit != 0 {
            state &= !bit;
            p.string(Out::Any, None, if state != 0 { "%s," } else { "%s" }, word);
        }
    }
    p.close_array(Out::Any, "> ");
}
