//! The words after `type bond` and `type bond_slave` (`ip/iplink_bond.c` `bond_parse_opt`,
//! `ip/iplink_bond_slave.c` `bond_slave_parse_opt`), with ubond's own options after iproute2's.

use ubond_core::options::netlink::{AttrValue, BondAttr};
use ubond_core::options::OptionId;
use ubond_wire::MacAddr;

use super::numbers::{
    get_addr32, get_addr6, get_index, get_s32, get_unsigned, ll_addr_a2n, matches,
};
use super::{parse_on_off, Args, Devices, IpError, SlaveAttr};
use crate::iplink::show::{
    AD_SELECT_TBL, ARP_ALL_TARGETS_TBL, ARP_VALIDATE_TBL, FAIL_OVER_MAC_TBL, LACP_ACTIVE_TBL,
    LACP_RATE_TBL, MODE_TBL, PRIMARY_RESELECT_TBL, XMIT_HASH_POLICY_TBL,
};

const BOND_USAGE: &str = "\
Usage: ... bond [ mode BONDMODE ] [ active_slave SLAVE_DEV ]
                [ clear_active_slave ] [ miimon MIIMON ]
                [ updelay UPDELAY ] [ downdelay DOWNDELAY ]
                [ peer_notify_delay DELAY ]
                [ use_carrier USE_CARRIER ]
                [ arp_interval ARP_INTERVAL ]
                [ arp_validate ARP_VALIDATE ]
                [ arp_all_targets ARP_ALL_TARGETS ]
                [ arp_ip_target [ ARP_IP_TARGET, ... ] ]
                [ ns_ip6_target [ NS_IP6_TARGET, ... ] ]
                [ primary SLAVE_DEV ]
                [ primary_reselect PRIMARY_RESELECT ]
                [ fail_over_mac FAIL_OVER_MAC ]
                [ xmit_hash_policy XMIT_HASH_POLICY ]
                [ resend_igmp RESEND_IGMP ]
                [ num_grat_arp|num_unsol_na NUM_GRAT_ARP|NUM_UNSOL_NA ]
                [ all_slaves_active ALL_SLAVES_ACTIVE ]
                [ min_links MIN_LINKS ]
                [ lp_interval LP_INTERVAL ]
                [ packets_per_slave PACKETS_PER_SLAVE ]
                [ tlb_dynamic_lb TLB_DYNAMIC_LB ]
                [ lacp_rate LACP_RATE ]
                [ lacp_active LACP_ACTIVE]
                [ coupled_control COUPLED_CONTROL ]
                [ broadcast_neighbor BROADCAST_NEIGHBOR ]
                [ ad_select AD_SELECT ]
                [ ad_user_port_key PORTKEY ]
                [ ad_actor_sys_prio SYSPRIO ]
                [ ad_actor_system LLADDR ]
                [ arp_missed_max MISSED_MAX ]

BONDMODE := balance-rr|active-backup|balance-xor|broadcast|802.3ad|balance-tlb|balance-alb
ARP_VALIDATE := none|active|backup|all|filter|filter_active|filter_backup
ARP_ALL_TARGETS := any|all
PRIMARY_RESELECT := always|better|failure
FAIL_OVER_MAC := none|active|follow
XMIT_HASH_POLICY := layer2|layer2+3|layer3+4|encap2+3|encap3+4|vlan+srcmac
LACP_ACTIVE := off|on
LACP_RATE := slow|fast
AD_SELECT := stable|bandwidth|count
COUPLED_CONTROL := off|on
BROADCAST_NEIGHBOR := off|on
";

/// ubond's extensions, accepted after iproute2's words (which `ip` does not know).
const BOND_EXTENSIONS: &str = "\
ubond also reads: [ lacp_strict { off | on } ] [ lacp_fallback { off | on } ]
                  [ ad_unknown_speed { refuse | MBPS } ]
                  [ bfd { off | on } ] [ bfd_min_tx MS ] [ bfd_min_rx MS ]
                  [ bfd_multiplier NUM ] [ bfd_peer ADDR ]
                  [ tcp_dup_discard { off | on } ]
";

/// `bond_parse_opt`.
pub(super) fn parse_bond(
    words: &[String],
    devices: &dyn Devices,
) -> Result<Vec<BondAttr>, IpError> {
    let mut out = Vec::new();
    let mut a = Args { words, at: 0 };
    let mut push = |id: OptionId, value: AttrValue| out.push(BondAttr { id, value });
    while let Some(w) = a.peek() {
        let table = |a: &mut Args<'_>, tbl: &[&str], what: &str| -> Result<u64, IpError> {
            let v = a.next_arg()?;
            get_index(tbl, v)
                .map(|i| i as u64)
                .ok_or_else(|| IpError::invarg(&format!("invalid {what}"), v))
        };
        let unsigned = |a: &mut Args<'_>, max: u64, what: &str| -> Result<u64, IpError> {
            let v = a.next_arg()?;
            get_unsigned(v, max).ok_or_else(|| IpError::invarg(&format!("invalid {what}"), v))
        };
        const U32: u64 = u32::MAX as u64;
        const U16: u64 = u16::MAX as u64;
        const U8: u64 = u8::MAX as u64;
        if matches(w, "mode") {
            push(OptionId::Mode, AttrValue::Num(table(&mut a, &MODE_TBL, "mode")?));
        } else if matches(w, "active_slave") {
            let v = a.next_arg()?;
            if devices.index(v).is_none() {
                return Err(IpError::nodev(v));
            }
            push(OptionId::ActiveSlave, AttrValue::Iface(Some(v.to_string())));
        } else if matches(w, "clear_active_slave") {
            push(OptionId::ActiveSlave, AttrValue::Iface(None));
        } else if matches(w, "miimon") {
            push(OptionId::Miimon, AttrValue::Num(unsigned(&mut a, U32, "miimon")?));
        } else if matches(w, "updelay") {
            push(OptionId::Updelay, AttrValue::Num(unsigned(&mut a, U32, "updelay")?));
        } else if matches(w, "downdelay") {
            push(OptionId::Downdelay, AttrValue::Num(unsigned(&mut a, U32, "downdelay")?));
        } else if matches(w, "peer_notify_delay") {
            let n = unsigned(&mut a, U32, "peer_notify_delay")?;
            push(OptionId::PeerNotifDelay, AttrValue::Num(n));
        } else if matches(w, "use_carrier") {
            push(OptionId::UseCarrier, AttrValue::Num(unsigned(&mut a, U8, "use_carrier")?));
        } else if matches(w, "arp_interval") {
            push(OptionId::ArpInterval, AttrValue::Num(unsigned(&mut a, U32, "arp_interval")?));
        } else if matches(w, "arp_ip_target") {
            let mut list = Vec::new();
            if a.at + 1 < words.len() {
                let v = a.next_arg()?;
                for t in v.split(',').filter(|t| !t.is_empty()).take(16) {
                    list.push(get_addr32(t).ok_or_else(|| {
                        IpError::new(
                            format!("Error: an IP address is expected rather than \"{t}\"\n"),
                            1,
                        )
                    })?);
                }
            }
            push(OptionId::ArpIpTarget, AttrValue::Ipv4(list));
        } else if w == "ns_ip6_target" {
            let mut list = Vec::new();
            if a.at + 1 < words.len() {
                let v = a.next_arg()?;
                for t in v.split(',').filter(|t| !t.is_empty()).take(16) {
                    list.push(get_addr6(t).ok_or_else(|| {
                        IpError::new(
                            format!("Error: inet6 address is expected rather than \"{t}\".\n"),
                            1,
                        )
                    })?);
                }
            }
            push(OptionId::NsIp6Target, AttrValue::Ipv6(list));
        } else if matches(w, "arp_validate") {
            let n = table(&mut a, &ARP_VALIDATE_TBL, "arp_validate")?;
            push(OptionId::ArpValidate, AttrValue::Num(n));
        } else if matches(w, "arp_all_targets") {
            let n = table(&mut a, &ARP_ALL_TARGETS_TBL, "arp_all_targets")?;
            push(OptionId::ArpAllTargets, AttrValue::Num(n));
        } else if w == "arp_missed_max" {
            push(OptionId::ArpMissedMax, AttrValue::Num(unsigned(&mut a, U8, "arp_missed_max")?));
        } else if matches(w, "primary") {
            let v = a.next_arg()?;
            if devices.index(v).is_none() {
                return Err(IpError::nodev(v));
            }
            push(OptionId::Primary, AttrValue::Iface(Some(v.to_string())));
        } else if matches(w, "primary_reselect") {
            let n = table(&mut a, &PRIMARY_RESELECT_TBL, "primary_reselect")?;
            push(OptionId::PrimaryReselect, AttrValue::Num(n));
        } else if matches(w, "fail_over_mac") {
            let n = table(&mut a, &FAIL_OVER_MAC_TBL, "fail_over_mac")?;
            push(OptionId::FailOverMac, AttrValue::Num(n));
        } else if matches(w, "xmit_hash_policy") {
            let n = table(&mut a, &XMIT_HASH_POLICY_TBL, "xmit_hash_policy")?;
            push(OptionId::XmitHashPolicy, AttrValue::Num(n));
        } else if matches(w, "resend_igmp") {
            push(OptionId::ResendIgmp, AttrValue::Num(unsigned(&mut a, U32, "resend_igmp")?));
        } else if matches(w, "num_grat_arp") || matches(w, "num_unsol_na") {
            let n = unsigned(&mut a, U8, "num_grat_arp|num_unsol_na")?;
            push(OptionId::NumGratArp, AttrValue::Num(n));
        } else if matches(w, "all_slaves_active") {
            let n = unsigned(&mut a, U8, "all_slaves_active")?;
            push(OptionId::AllSlavesActive, AttrValue::Num(n));
        } else if matches(w, "min_links") {
            push(OptionId::MinLinks, AttrValue::Num(unsigned(&mut a, U32, "min_links")?));
        } else if matches(w, "lp_interval") {
            push(OptionId::LpInterval, AttrValue::Num(unsigned(&mut a, U32, "lp_interval")?));
        } else if matches(w, "packets_per_slave") {
            let n = unsigned(&mut a, U32, "packets_per_slave")?;
            push(OptionId::PacketsPerSlave, AttrValue::Num(n));
        } else if matches(w, "lacp_rate") {
            push(OptionId::LacpRate, AttrValue::Num(table(&mut a, &LACP_RATE_TBL, "lacp_rate")?));
        } else if w == "lacp_active" {
            let n = table(&mut a, &LACP_ACTIVE_TBL, "lacp_active")?;
            push(OptionId::LacpActive, AttrValue::Num(n));
        } else if let Some(id) = match w {
            "coupled_control" => Some(OptionId::CoupledControl),
            "broadcast_neighbor" => Some(OptionId::BroadcastNeighbor),
            _ => None,
        } {
            let on = parse_on_off(w, a.next_arg()?)?;
            push(id, AttrValue::Num(u64::from(on)));
        } else if matches(w, "ad_select") {
            push(OptionId::AdSelect, AttrValue::Num(table(&mut a, &AD_SELECT_TBL, "ad_select")?));
        } else if matches(w, "ad_user_port_key") {
            let n = unsigned(&mut a, U16, "ad_user_port_key")?;
            push(OptionId::AdUserPortKey, AttrValue::Num(n));
        } else if matches(w, "ad_actor_sys_prio") {
            let n = unsigned(&mut a, U16, "ad_actor_sys_prio")?;
            push(OptionId::AdActorSysPrio, AttrValue::Num(n));
        } else if matches(w, "ad_actor_system") {
            let bytes = ll_addr_a2n(a.next_arg()?)?;
            let mac = <[u8; 6]>::try_from(bytes.as_slice()).map_err(|_| {
                // The kernel checks the length: EINVAL, without a message.
                IpError::new("RTNETLINK answers: Invalid argument\n", 2)
            })?;
            push(OptionId::AdActorSystem, AttrValue::Mac(MacAddr(mac)));
        } else if matches(w, "tlb_dynamic_lb") {
            let n = unsigned(&mut a, U8, "tlb_dynamic_lb")?;
            push(OptionId::TlbDynamicLb, AttrValue::Num(n));
        } else if let Some(id) = match w {
            "lacp_strict" => Some(OptionId::LacpStrict),
            "lacp_fallback" => Some(OptionId::LacpFallback),
            "bfd" => Some(OptionId::Bfd),
            "tcp_dup_discard" => Some(OptionId::TcpDupDiscard),
            _ => None,
        } {
            let on = parse_on_off(w, a.next_arg()?)?;
            push(id, AttrValue::Num(u64::from(on)));
        } else if w == "ad_unknown_speed" {
            push(OptionId::AdUnknownSpeed, AttrValue::Text(a.next_arg()?.to_string()));
        } else if let Some(id) = match w {
            "bfd_min_tx" => Some(OptionId::BfdMinTx),
            "bfd_min_rx" => Some(OptionId::BfdMinRx),
            "bfd_multiplier" => Some(OptionId::BfdMultiplier),
            "bfd_peer" => Some(OptionId::BfdPeer),
            _ => None,
        } {
            // Checked by the option itself, with sysfs's words.
            push(id, AttrValue::Text(a.next_arg()?.to_string()));
        } else if matches(w, "help") {
            return Err(IpError::new(format!("{BOND_USAGE}{BOND_EXTENSIONS}"), 1));
        } else {
            return Err(IpError::new(format!("bond: unknown command \"{w}\"?\n{BOND_USAGE}"), 1));
        }
        a.advance();
    }
    Ok(out)
}

pub(super) const BOND_SLAVE_USAGE: &str = "\
Usage: ... bond_slave [ queue_id ID ] [ prio PRIORITY ]
                      [ actor_port_prio PRIORITY ]
";

/// `bond_slave_parse_opt`.
pub(super) fn parse_bond_slave(words: &[String]) -> Result<Vec<SlaveAttr>, IpError> {
    let mut out = Vec::new();
    let mut a = Args { words, at: 0 };
    while let Some(w) = a.peek() {
        if matches(w, "queue_id") {
            let v = a.next_arg()?;
            let n =
                get_unsigned(v, 0xffff).ok_or_else(|| IpError::invarg("queue_id is invalid", v))?;
            out.push(SlaveAttr { option: "queue_id", value: n as i64 });
        } else if w == "prio" {
            let v = a.next_arg()?;
            let n = get_s32(v).ok_or_else(|| IpError::invarg("prio is invalid", v))?;
            out.push(SlaveAttr { option: "prio", value: i64::from(n) });
        } else if w == "actor_port_prio" {
            let v = a.next_arg()?;
            let n = get_unsigned(v, 0xffff)
                .ok_or_else(|| IpError::invarg("actor prio is invalid", v))?;
            out.push(SlaveAttr { option: "actor_port_prio", value: n as i64 });
        } else {
            let mut msg = String::new();
            if !matches(w, "help") {
                msg = format!("bond_slave: unknown option \"{w}\"?\n");
            }
            return Err(IpError::new(msg + BOND_SLAVE_USAGE, 1));
        }
        a.advance();
    }
    Ok(out)
}
