//! ubond's bonds as the kernel describes its own in rtnetlink: what `bond_fill_info` and
//! `bond_fill_slave_info` (`drivers/net/bonding/bond_netlink.c`) would put in a link message,
//! built from what the daemon reports (`status --json`, `get BOND`, `get_slave IFACE`).
//!
//! [`overlay`] rewrites the kernel's messages for a bond's tap and for its slaves accordingly:
//! the bond gets `MASTER` and kind `bond` with its options, each slave `SLAVE`, `master BOND`
//! and a `bond_slave` part. Everything else (addresses, MTU, queues, the slaves' own kinds)
//! stays the kernel's.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_route::link::{
    BondAdInfo, BondAdSelect, BondAllPortActive, BondArpAllTargets, BondArpValidate,
    BondFailOverMac, BondLacpRate, BondMode, BondPortState, BondPrimaryReselect,
    BondXmitHashPolicy, ChurnState, InfoBond, InfoBondPort, InfoData, InfoKind, InfoPortData,
    InfoPortKind, LacpState, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MiiStatus,
};
use serde::Deserialize;

use super::show::name_of;

const IFF_MASTER: u32 = 0x400;
const IFF_SLAVE: u32 = 0x800;

/// One bond as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonBond {
    /// `status --json`: the report's model.
    pub status: Status,
    /// `get BOND`: every bond option in sysfs's format (`mode` → `802.3ad 4`).
    pub options: BTreeMap<String, String>,
    /// `get_slave IFACE` of each slave: `queue_id`, `prio`, `actor_port_prio`.
    pub slave_options: BTreeMap<String, BTreeMap<String, String>>,
}

/// The parts of `ubond status --json` used here (`ubond_core::report::BondStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Status {
    /// The bond's name.
    pub name: String,
    /// `mode` in the kernel's spelling.
    pub mode: String,
    /// The primary slave, when set and enslaved.
    pub primary: Option<String>,
    /// The current active slave.
    pub active_slave: Option<String>,
    /// The 802.3ad block.
    pub ad: Option<AdStatus>,
    /// The slaves.
    pub slaves: Vec<SlaveStatus>,
}

/// The 802.3ad block of the report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AdStatus {
    /// The active aggregator.
    pub active_aggregator: Option<ActiveAggregator>,
}

/// `Active Aggregator Info`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActiveAggregator {
    /// Aggregator ID.
    pub id: u16,
    /// Number of ports.
    pub ports: u32,
    /// Actor key.
    pub actor_key: u16,
    /// Partner key.
    pub partner_key: u16,
    /// Partner MAC address.
    pub partner_mac: String,
}

/// One slave of the report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlaveStatus {
    /// The interface.
    pub name: String,
    /// `up`, `going down`, `down`, `going back`.
    pub mii_status: String,
    /// Link failures counted.
    pub link_failure_count: u32,
    /// The address before enslaving.
    pub perm_hwaddr: String,
    /// The 802.3ad part, when the port has an aggregator.
    pub ad: Option<SlaveAd>,
}

/// A slave's 802.3ad part.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlaveAd {
    /// The port's aggregator.
    pub aggregator_id: u16,
    /// `monitoring`, `churned`, `none`.
    pub actor_churn_state: String,
    /// As `actor_churn_state`.
    pub partner_churn_state: String,
    /// The actor's operational information.
    pub actor: PortInfo,
    /// The partner's.
    pub partner: PortInfo,
}

/// LACP port information (only the state is used).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PortInfo {
    /// The port state bits.
    pub port_state: u8,
}

/// `name: value` lines (`ubond get`, `ubond get-slave`) as a map.
pub fn parse_lines(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A sysfs value's number: the last word (`802.3ad 4` → 4, `100` → 100).
fn number(v: &str) -> Option<u64> {
    v.split_whitespace().last()?.parse().ok()
}

fn mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn mode_uses_primary(mode: u8) -> bool {
    matches!(mode, 1 | 5 | 6)
}

/// The bond's attributes, as `bond_fill_info` puts them (interfaces by `index_of`).
pub fn bond_attrs(b: &DaemonBond, index_of: &dyn Fn(&str) -> Option<u32>) -> Vec<InfoBond> {
    let o = |k: &str| b.options.get(k).map(String::as_str).unwrap_or("");
    let n = |k: &str| number(o(k)).unwrap_or(0);
    let n32 = |k: &str| u32::try_from(n(k)).unwrap_or(u32::MAX);
    let n8 = |k: &str| u8::try_from(n(k)).unwrap_or(u8::MAX);
    let mode = n8("mode");
    let mut a = vec![InfoBond::Mode(BondMode::from(mode))];
    if mode_uses_primary(mode) {
        if let Some(i) = b.status.active_slave.as_deref().and_then(index_of) {
            a.push(InfoBond::ActivePort(i));
        }
    }
    a.push(InfoBond::MiiMon(n32("miimon")));
    a.push(InfoBond::UpDelay(n32("updelay")));
    a.push(InfoBond::DownDelay(n32("downdelay")));
    a.push(InfoBond::PeerNotifDelay(n32("peer_notif_delay")));
    a.push(InfoBond::UseCarrier(n("use_carrier") != 0));
    a.push(InfoBond::ArpInterval(n32("arp_interval")));
    let v4: Vec<Ipv4Addr> =
        o("arp_ip_target").split_whitespace().filter_map(|t| t.parse().ok()).collect();
    if !v4.is_empty() {
        a.push(InfoBond::ArpIpTarget(v4));
    }
    a.push(InfoBond::ArpValidate(BondArpValidate::from(n32("arp_validate"))));
    a.push(InfoBond::ArpAllTargets(BondArpAllTargets::from(n32("arp_all_targets"))));
    let v6: Vec<Ipv6Addr> =
        o("ns_ip6_target").split_whitespace().filter_map(|t| t.parse().ok()).collect();
    if !v6.is_empty() {
        a.push(InfoBond::NsIp6Target(v6));
    }
    if let Some(i) = b.status.primary.as_deref().and_then(index_of) {
        a.push(InfoBond::Primary(i));
    }
    a.push(InfoBond::PrimaryReselect(BondPrimaryReselect::from(n8("primary_reselect"))));
    a.push(InfoBond::FailOverMac(BondFailOverMac::from(n8("fail_over_mac"))));
    a.push(InfoBond::XmitHashPolicy(BondXmitHashPolicy::from(n8("xmit_hash_policy"))));
    a.push(InfoBond::ResendIgmp(n32("resend_igmp")));
    a.push(InfoBond::NumPeerNotif(n8("num_grat_arp")));
    a.push(InfoBond::AllPortsActive(BondAllPortActive::from(n8("all_slaves_active"))));
    a.push(InfoBond::MinLinks(n32("min_links")));
    a.push(InfoBond::LpInterval(n32("lp_interval")));
    a.push(InfoBond::PacketsPerPort(n32("packets_per_slave")));
    a.push(InfoBond::AdLacpActive(n("lacp_active") != 0));
    a.push(InfoBond::AdLacpRate(BondLacpRate::from(n8("lacp_rate"))));
    a.push(InfoBond::AdSelect(BondAdSelect::from(n8("ad_select"))));
    a.push(InfoBond::TlbDynamicLb(n("tlb_dynamic_lb") != 0));
    a.push(InfoBond::MissedMax(n8("arp_missed_max")));
    a.push(InfoBond::CoupledControl(n("coupled_control") != 0));
    a.push(InfoBond::BroadcastNeigh(n("broadcast_neighbor") != 0));
    a.push(InfoBond::LacpStrict(n("lacp_strict") != 0));
    if mode == 4 {
        a.push(InfoBond::AdActorSysPrio(u16::try_from(n("ad_actor_sys_prio")).unwrap_or(0)));
        a.push(InfoBond::AdUserPortKey(u16::try_from(n("ad_user_port_key")).unwrap_or(0)));
        a.push(InfoBond::AdActorSystem(mac(o("ad_actor_system")).unwrap_or_default()));
        let agg = b.status.ad.as_ref().and_then(|ad| ad.active_aggregator.as_ref());
        if let Some(agg) = agg {
            a.push(InfoBond::AdInfo(vec![
                BondAdInfo::Aggregator(agg.id),
                BondAdInfo::NumPorts(u16::try_from(agg.ports).unwrap_or(u16::MAX)),
                BondAdInfo::ActorKey(agg.actor_key),
                BondAdInfo::PartnerKey(agg.partner_key),
                BondAdInfo::PartnerMac(mac(&agg.partner_mac).unwrap_or_default()),
            ]));
        }
    }
    a
}

/// `bond_slave_state`: 0 (active) or 1 (backup), as the kernel's `slave->backup`.
fn slave_backup(b: &DaemonBond, s: &SlaveStatus, mode: u8) -> bool {
    const COLLECTING: u8 = 0x10;
    match mode {
        1 | 5 | 6 => b.status.active_slave.as_deref() != Some(s.name.as_str()),
        4 => {
            let active = b.status.ad.as_ref().and_then(|ad| ad.active_aggregator.as_ref());
            !matches!((active, &s.ad), (Some(agg), Some(ad))
                if ad.aggregator_id == agg.id && ad.actor.port_state & COLLECTING != 0)
        }
        _ => false,
    }
}

fn churn(word: &str) -> ChurnState {
    ChurnState::from(match word {
        "monitoring" => 0,
        "churned" => 1,
        _ => 2,
    })
}

/// A slave's attributes, as `bond_fill_slave_info` puts them.
pub fn slave_attrs(b: &DaemonBond, s: &SlaveStatus) -> Vec<InfoBondPort> {
    let mode = b.options.get("mode").and_then(|m| number(m)).unwrap_or(0);
    let mode = u8::try_from(mode).unwrap_or(0);
    let own = b.slave_options.get(&s.name);
    let opt = |k: &str| own.and_then(|o| o.get(k)).and_then(|v| v.parse::<i64>().ok());
    let state = if slave_backup(b, s, mode) { 1 } else { 0 };
    let mii = match s.mii_status.as_str() {
        "up" => 0,
        "going down" => 1,
        "down" => 2,
        _ => 3,
    };
    let mut a = vec![
        InfoBondPort::BondPortState(BondPortState::from(state)),
        InfoBondPort::MiiStatus(MiiStatus::from(mii)),
        InfoBondPort::LinkFailureCount(s.link_failure_count),
        InfoBondPort::PermHwaddr(mac(&s.perm_hwaddr).unwrap_or_default().to_vec()),
        InfoBondPort::QueueId(opt("queue_id").and_then(|v| u16::try_from(v).ok()).unwrap_or(0)),
    ];
    if let Some(prio) = opt("prio").and_then(|v| i32::try_from(v).ok()) {
        a.push(InfoBondPort::Prio(prio));
    }
    if mode == 4 {
        if let Some(ad) = &s.ad {
            a.push(InfoBondPort::AdAggregatorId(ad.aggregator_id));
            a.push(InfoBondPort::AdActorOperPortState(LacpState::from_bits_retain(
                ad.actor.port_state,
            )));
            a.push(InfoBondPort::AdPartnerOperPortState(LacpState::from_bits_retain(
                ad.partner.port_state,
            )));
            a.push(InfoBondPort::AdChurnActorState(churn(&ad.actor_churn_state)));
            a.push(InfoBondPort::AdChurnPartnerState(churn(&ad.partner_churn_state)));
        }
        if let Some(prio) = opt("actor_port_prio").and_then(|v| u16::try_from(v).ok()) {
            a.push(InfoBondPort::ActorPortPrio(prio));
        }
    }
    a
}

/// Whether `m` is the data-path end of one of `bonds`' devices (see
/// `ubond_sys::bond_device`), which `ubond link show` leaves out.
pub fn is_data_path_end(m: &LinkMessage, bonds: &[DaemonBond]) -> bool {
    m.attributes.iter().any(|a| match a {
        LinkAttribute::IfAlias(alias) => {
            bonds.iter().any(|b| *alias == ubond_sys::bond_device::data_path_alias(&b.status.name))
        }
        _ => false,
    })
}

/// Rewrites the kernel's link messages so that ubond's bonds and slaves read as the kernel's
/// own would.
pub fn overlay(msgs: &mut [LinkMessage], bonds: &[DaemonBond]) {
    let index: BTreeMap<String, u32> =
        msgs.iter().filter_map(|m| Some((name_of(m)?.to_string(), m.header.index))).collect();
    let index_of = |n: &str| index.get(n).copied();
    for m in msgs.iter_mut() {
        let Some(name) = name_of(m).map(str::to_string) else { continue };
        if let Some(b) = bonds.iter().find(|b| b.status.name == name) {
            let attrs = bond_attrs(b, &index_of);
            let flags = m.header.flags.bits() | IFF_MASTER;
            m.header.flags = LinkFlags::from_bits_retain(flags);
            // Its device is a veth pair: the peer (the data-path end) is not the user's.
            m.attributes.retain(|a| {
                !matches!(
                    a,
                    LinkAttribute::LinkInfo(_)
                        | LinkAttribute::Link(_)
                        | LinkAttribute::LinkNetNsId(_)
                )
            });
            m.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Bond),
                LinkInfo::Data(InfoData::Bond(attrs)),
            ]));
            continue;
        }
        let Some((b, s)) =
            bonds.iter().find_map(|b| Some((b, b.status.slaves.iter().find(|s| s.name == name)?)))
        else {
            continue;
        };
        let Some(master) = index_of(&b.status.name) else { continue };
        let flags = m.header.flags.bits() | IFF_SLAVE;
        m.header.flags = LinkFlags::from_bits_retain(flags);
        m.attributes.retain(|a| !matches!(a, LinkAttribute::Controller(_)));
        m.attributes.push(LinkAttribute::Controller(master));
        let port = [
            LinkInfo::PortKind(InfoPortKind::Bond),
            LinkInfo::PortData(InfoPortData::BondPort(slave_attrs(b, s))),
        ];
        match m.attributes.iter_mut().find_map(|a| match a {
            LinkAttribute::LinkInfo(i) => Some(i),
            _ => None,
        }) {
            Some(info) => {
                info.retain(|i| !matches!(i, LinkInfo::PortKind(_) | LinkInfo::PortData(_)));
                info.extend(port);
            }
            None => m.attributes.push(LinkAttribute::LinkInfo(port.to_vec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iplink::print::Printer;
    use crate::iplink::show::{print_link, Names, Style};
    use netlink_packet_route::link::{
        AfSpecInet6, AfSpecUnspec, In6AddrGenMode, LinkLayerType, State,
    };

    /// `ubond get bond0` of an 802.3ad bond, as the daemon prints it.
    const GET_8023AD: &str = "slaves: eth0 eth1\nmode: 802.3ad 4\npackets_per_slave: 1\n\
        xmit_hash_policy: layer3+4 1\narp_validate: none 0\narp_all_targets: any 0\n\
        fail_over_mac: none 0\narp_interval: 0\narp_missed_max: 2\narp_ip_target: \n\
        ns_ip6_target: \ndowndelay: 0\nupdelay: 0\nlacp_active: on 1\nlacp_rate: fast 1\n\
        min_links: 0\nad_select: stable 0\nnum_unsol_na: 1\nmiimon: 100\nprimary: \n\
        primary_reselect: always 0\nuse_carrier: 1\nactive_slave: \nqueue_id: \n\
        all_slaves_active: 0\nresend_igmp: 1\nlp_interval: 1\ntlb_dynamic_lb: 1\n\
        ad_actor_sys_prio: 65535\nad_actor_system: 00:00:00:00:00:00\nad_user_port_key: 0\n\
        num_grat_arp: 1\npeer_notif_delay: 0\ncoupled_control: 1\nbroadcast_neighbor: 0\n\
        lacp_strict: 0\nlacp_fallback: off 0\nad_unknown_speed: 10000\n";

    /// `ubond status --json` of the same bond, negotiated on eth0, eth1 without a partner.
    const STATUS_8023AD: &str = r#"{"name":"bond0","mode":"802.3ad","primary":null,
        "active_slave":null,"ad":{"active_aggregator":{"id":1,"ports":1,"actor_key":15,
        "partner_key":9,"partner_mac":"02:00:00:00:00:aa"}},"slaves":[
        {"name":"eth0","mii_status":"up","link_failure_count":1,"perm_hwaddr":"02:00:00:00:00:01",
         "queue_id":0,"ad":{"aggregator_id":1,"actor_churn_state":"none",
         "partner_churn_state":"none","actor":{"port_state":63},"partner":{"port_state":63}}},
        {"name":"eth1","mii_status":"down","link_failure_count":0,"perm_hwaddr":"02:00:00:00:00:02",
         "queue_id":0,"ad":null}]}"#;

    fn daemon_bond(get: &str, status: &str, slaves: &[(&str, &str)]) -> DaemonBond {
        DaemonBond {
            status: serde_json::from_str(status).unwrap(),
            options: parse_lines(get),
            slave_options: slaves.iter().map(|(n, t)| (n.to_string(), parse_lines(t))).collect(),
        }
    }

    /// A kernel link message as a dump gives it (the parts `ip link show -d` prints).
    fn kernel_link(
        index: u32,
        name: &str,
        mac: [u8; 6],
        flags: u32,
        kind: Option<InfoKind>,
    ) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::from_bits_retain(flags);
        m.header.link_layer_type = LinkLayerType::Ether;
        let a = &mut m.attributes;
        a.push(LinkAttribute::IfName(name.into()));
        a.push(LinkAttribute::TxQueueLen(1000));
        a.push(LinkAttribute::OperState(State::Up));
        a.push(LinkAttribute::Mode(0.into()));
        a.push(LinkAttribute::Mtu(1500));
        a.push(LinkAttribute::MinMtu(68));
        a.push(LinkAttribute::MaxMtu(65535));
        a.push(LinkAttribute::Group(0));
        a.push(LinkAttribute::Promiscuity(0));
        a.push(LinkAttribute::AllMulticast(0));
        a.push(LinkAttribute::NumTxQueues(1));
        a.push(LinkAttribute::NumRxQueues(1));
        a.push(LinkAttribute::Qdisc("noqueue".into()));
        a.push(LinkAttribute::Address(mac.to_vec()));
        a.push(LinkAttribute::Broadcast(vec![0xff; 6]));
        if let Some(k) = kind {
            a.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(k)]));
        }
        a.push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![
            AfSpecInet6::AddrGenMode(In6AddrGenMode::Eui64),
        ])]));
        m
    }

    fn world() -> Vec<LinkMessage> {
        const UP: u32 = 0x1 | 0x2 | 0x40 | 0x1000 | 0x10000;
        vec![
            kernel_link(2, "eth0", [2, 0, 0, 0, 0, 1], UP, None),
            kernel_link(3, "eth1", [2, 0, 0, 0, 0, 1], UP, Some(InfoKind::Veth)),
            kernel_link(4, "bond0", [2, 0, 0, 0, 0, 1], UP, Some(InfoKind::Tun)),
        ]
    }

    fn render(msgs: &[LinkMessage], index: u32, json: bool) -> String {
        let names = Names {
            links: msgs
                .iter()
                .map(|m| (m.header.index, (name_of(m).unwrap().to_string(), m.header.flags.bits())))
                .collect(),
            ..Names::default()
        };
        let mut p = if json { Printer::json(false) } else { Printer::text(false) };
        let m = msgs.iter().find(|m| m.header.index == index).unwrap();
        p.open_object(None);
        print_link(&mut p, m, Style { details: true, brief: false }, &names);
        p.close_object();
        p.finish()
    }

    /// The bond's tap becomes a `bond` with `bond_fill_info`'s attributes, printed as
    /// `bond_print_opt` prints them.
    #[test]
    fn an_8023ad_bond_as_ip_d_link_show_prints_it() {
        let mut msgs = world();
        let b = daemon_bond(
            GET_8023AD,
            STATUS_8023AD,
            &[("eth0", "queue_id: 0\nprio: 0\nactor_port_prio: 255\n")],
        );
        overlay(&mut msgs, &[b]);
        assert_eq!(
            render(&msgs, 4, false),
            "4: bond0: <BROADCAST,MULTICAST,MASTER,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP \
             mode DEFAULT group default qlen 1000\n    link/ether 02:00:00:00:00:01 brd \
             ff:ff:ff:ff:ff:ff promiscuity 0 allmulti 0 minmtu 68 maxmtu 65535 \n    bond mode \
             802.3ad miimon 100 updelay 0 downdelay 0 peer_notify_delay 0 use_carrier 1 \
             arp_interval 0 arp_missed_max 2 arp_validate none arp_all_targets any \
             primary_reselect always fail_over_mac none xmit_hash_policy layer3+4 resend_igmp 1 \
             num_grat_arp 1 all_slaves_active 0 min_links 0 lp_interval 1 packets_per_slave 1 \
             lacp_active on lacp_rate fast coupled_control on broadcast_neighbor off ad_select \
             stable ad_aggregator 1 ad_num_ports 1 ad_actor_key 15 ad_partner_key 9 \
             ad_partner_mac 02:00:00:00:00:aa ad_actor_sys_prio 65535 ad_user_port_key 0 \
             ad_actor_system 00:00:00:00:00:00 tlb_dynamic_lb 1 addrgenmode eui64 numtxqueues 1 \
             numrxqueues 1 \n"
        );
        let json = render(&msgs, 4, true);
        assert!(json.contains(
            r#""linkinfo":{"info_kind":"bond","info_data":{"mode":"802.3ad","miimon":100,"updelay":0,"downdelay":0,"peer_notify_delay":0,"use_carrier":1,"arp_interval":0,"arp_missed_max":2,"arp_validate":null,"arp_all_targets":"any","primary_reselect":"always","fail_over_mac":"none","xmit_hash_policy":"layer3+4","resend_igmp":1,"num_peer_notif":1,"all_slaves_active":0,"min_links":0,"lp_interval":1,"packets_per_slave":1,"ad_lacp_active":"on","ad_lacp_rate":"fast","coupled_control":true,"broadcast_neighbor":false,"ad_select":"stable","ad_info":{"aggregator":1,"num_ports":1,"actor_key":15,"partner_key":9,"partner_mac":"02:00:00:00:00:aa"},"ad_actor_sys_prio":65535,"ad_user_port_key":0,"ad_actor_system":"00:00:00:00:00:00","tlb_dynamic_lb":1}}"#
        ), "{json}");
        assert!(
            json.contains(r#""flags":["BROADCAST","MULTICAST","MASTER","UP","LOWER_UP"]"#),
            "{json}"
        );
    }

    /// Each slave gets `SLAVE`, its master and a `bond_slave` part after its own kind.
    #[test]
    fn slaves_as_ip_d_link_show_prints_them() {
        let mut msgs = world();
        let b = daemon_bond(
            GET_8023AD,
            STATUS_8023AD,
            &[
                ("eth0", "queue_id: 0\nprio: 0\nactor_port_prio: 255\n"),
                ("eth1", "queue_id: 2\nprio: -7\nactor_port_prio: 100\n"),
            ],
        );
        overlay(&mut msgs, &[b]);
        let eth0 = render(&msgs, 2, false);
        assert_eq!(
            eth0,
            "2: eth0: <BROADCAST,MULTICAST,SLAVE,UP,LOWER_UP> mtu 1500 qdisc noqueue master bond0 \
             state UP mode DEFAULT group default qlen 1000\n    link/ether 02:00:00:00:00:01 brd \
             ff:ff:ff:ff:ff:ff promiscuity 0 allmulti 0 minmtu 68 maxmtu 65535 \n    bond_slave \
             state ACTIVE mii_status UP link_failure_count 1 perm_hwaddr 02:00:00:00:00:01 \
             queue_id 0 prio 0 ad_aggregator_id 1 ad_actor_oper_port_state 63 \
             ad_actor_oper_port_state_str <active,short_timeout,aggregating,in_sync,collecting,\
             distributing> ad_partner_oper_port_state 63 ad_partner_oper_port_state_str \
             <active,short_timeout,aggregating,in_sync,collecting,distributing> churn_actor_state \
             NO_CHURN churn_partner_state NO_CHURN actor_port_prio 255 addrgenmode eui64 \
             numtxqueues 1 numrxqueues 1 \n"
        );
        // No aggregator: no 802.3ad details but the port priority; a veth keeps its kind.
        let eth1 = render(&msgs, 3, false);
        assert!(
            eth1.contains(
                "\n    veth \n    bond_slave state BACKUP mii_status DOWN link_failure_count 0 \
             perm_hwaddr 02:00:00:00:00:02 queue_id 2 prio -7 actor_port_prio 100 addrgenmode"
            ),
            "{eth1}"
        );
        let json = render(&msgs, 3, true);
        assert!(json.contains(r#""master":"bond0","#), "{json}");
        assert!(json.contains(
            r#""linkinfo":{"info_kind":"veth","info_slave_kind":"bond","info_slave_data":{"state":"BACKUP","mii_status":"DOWN","link_failure_count":0,"perm_hwaddr":"02:00:00:00:00:02","queue_id":2,"prio":-7,"actor_port_prio":100}}"#
        ), "{json}");
        let json = render(&msgs, 2, true);
        assert!(json.contains(
            r#""ad_actor_oper_port_state":63,"ad_actor_oper_port_state_str":["active","short_timeout","aggregating","in_sync","collecting","distributing"],"#
        ), "{json}");
    }

    /// active-backup with ARP and NS targets, a primary and an active slave (by index, printed
    /// by name); nothing 802.3ad.
    #[test]
    fn active_backup_with_targets() {
        let get = GET_8023AD
            .replace("mode: 802.3ad 4", "mode: active-backup 1")
            .replace("arp_interval: 0", "arp_interval: 100")
            .replace("miimon: 100", "miimon: 0")
            .replace("arp_ip_target: ", "arp_ip_target: 192.0.2.1 192.0.2.2")
            .replace("ns_ip6_target: ", "ns_ip6_target: 2001:db8::1")
            .replace("arp_validate: none 0", "arp_validate: filter_backup 6");
        let status = r#"{"name":"bond0","mode":"active-backup","primary":"eth1","active_slave":"eth0",
            "ad":null,"slaves":[{"name":"eth0","mii_status":"up","link_failure_count":0,
            "perm_hwaddr":"02:00:00:00:00:01","queue_id":0,"ad":null},{"name":"eth1",
            "mii_status":"going back","link_failure_count":3,"perm_hwaddr":"02:00:00:00:00:02",
            "queue_id":0,"ad":null}]}"#;
        let mut msgs = world();
        overlay(&mut msgs, &[daemon_bond(&get, status, &[("eth1", "prio: 10\n")])]);
        let text = render(&msgs, 4, false);
        assert!(
            text.contains(
                "bond mode active-backup active_slave eth0 miimon 0 updelay 0 downdelay 0 \
             peer_notify_delay 0 use_carrier 1 arp_interval 100 arp_missed_max 2 arp_ip_target \
             192.0.2.1,192.0.2.2 ns_ip6_target 2001:db8::1 arp_validate filter_backup \
             arp_all_targets any primary eth1 primary_reselect always"
            ),
            "{text}"
        );
        assert!(text.contains("tlb_dynamic_lb 1 addrgenmode"), "{text}");
        assert!(!text.contains("ad_actor"), "{text}");
        let json = render(&msgs, 4, true);
        assert!(json.contains(r#""active_slave":"eth0","#), "{json}");
        assert!(json.contains(r#""arp_ip_target":["192.0.2.1","192.0.2.2"],"ns_ip6_target":["2001:db8::1"],"arp_validate":"filter_backup""#), "{json}");
        let eth1 = render(&msgs, 3, false);
        assert!(eth1.contains("bond_slave state BACKUP mii_status GOING_BACK link_failure_count 3 perm_hwaddr 02:00:00:00:00:02 queue_id 0 prio 10 addrgenmode"), "{eth1}");
        let eth0 = render(&msgs, 2, false);
        assert!(eth0.contains("bond_slave state ACTIVE mii_status UP"), "{eth0}");
    }

    #[test]
    fn lines_and_numbers() {
        let m = parse_lines("mode: 802.3ad 4\nprimary: \narp_ip_target: 192.0.2.1 192.0.2.2\n");
        assert_eq!(m.get("primary").map(String::as_str), Some(""));
        assert_eq!(number(&m["mode"]), Some(4));
        assert_eq!(mac("02:00:00:00:00:0a"), Some([2, 0, 0, 0, 0, 10]));
        assert_eq!(mac("02:00:00:00:00"), None);
    }
}
