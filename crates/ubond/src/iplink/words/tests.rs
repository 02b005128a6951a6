use std::net::{Ipv4Addr, Ipv6Addr};

use ubond_core::options::netlink::AttrValue;
use ubond_core::options::OptionId;
use ubond_wire::MacAddr;

use super::bond::BOND_SLAVE_USAGE;
use super::numbers::{get_addr_ipv4, get_index, get_s32, get_unsigned};
use super::*;
use crate::iplink::show::MODE_TBL;

struct Fake;
impl Devices for Fake {
    fn index(&self, name: &str) -> Option<u32> {
        ["lo", "eth0", "eth1", "bond0"].iter().position(|n| *n == name).map(|i| i as u32 + 1)
    }
}

fn w(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn parse_str(s: &str) -> Result<Command, IpError> {
    parse(&w(s), &Fake)
}

fn bond_attrs(s: &str) -> Vec<BondAttr> {
    match parse_str(&format!("add bond9 type bond {s}")) {
        Ok(Command::Add(Request { kind: Some(Kind::Bond(a)), .. })) => a,
        other => panic!("{s}: {other:?}"),
    }
}

fn err(s: &str) -> (String, u8) {
    let e = parse_str(s).err().unwrap_or_else(|| panic!("{s} should fail"));
    (e.message, e.status)
}

fn num(id: OptionId, n: u64) -> BondAttr {
    BondAttr { id, value: AttrValue::Num(n) }
}

#[test]
fn matches_is_a_prefix_test() {
    assert!(matches("a", "add") && matches("add", "add"));
    assert!(!matches("", "add") && !matches("adds", "add"));
}

/// C's `strtoul` with base 0, over the whole word.
#[test]
fn numbers_as_iproute2_reads_them() {
    assert_eq!(get_unsigned("100", u64::from(u32::MAX)), Some(100));
    assert_eq!(get_unsigned("0x64", 1000), Some(100));
    assert_eq!(get_unsigned("010", 1000), Some(8));
    assert_eq!(get_unsigned("0", 10), Some(0));
    assert_eq!(get_unsigned("08", 100), None);
    assert_eq!(get_unsigned("12x", 100), None);
    assert_eq!(get_unsigned("", 100), None);
    assert_eq!(get_unsigned("256", 255), None);
    assert_eq!(get_unsigned("-1", u64::from(u32::MAX)), None);
    assert_eq!(get_unsigned("-0", 5), Some(0));
    assert_eq!(get_s32("-50"), Some(-50));
    assert_eq!(get_s32("2147483648"), None);
    assert_eq!(get_index(&MODE_TBL, "4"), Some(4));
    assert_eq!(get_index(&MODE_TBL, "802.3ad"), Some(4));
    assert_eq!(get_index(&MODE_TBL, "7"), None);
    assert_eq!(get_index(&MODE_TBL, "802.3AD"), None);
    assert_eq!(get_addr_ipv4("10.1"), Some(Ipv4Addr::new(10, 1, 0, 0)));
    assert_eq!(get_addr_ipv4("0x0a.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(get_addr_ipv4("1.2.3.4.5"), None);
    assert_eq!(get_addr_ipv4("1.2.3.256"), None);
    assert_eq!(ll_addr_a2n("02:00:0:a:0B:ff").ok(), Some(vec![2, 0, 0, 10, 11, 255]));
    assert_eq!(ll_addr_a2n("02:100").err().map(|e| e.status), Some(1));
}

/// Every bond keyword of `bond_parse_opt`, its attribute and value.
#[test]
fn every_bond_keyword() {
    let ip4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let ip6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let cases: Vec<(&str, BondAttr)> = vec![
        ("mode 802.3ad", num(OptionId::Mode, 4)),
        ("mode 1", num(OptionId::Mode, 1)),
        (
            "active_slave eth0",
            BondAttr { id: OptionId::ActiveSlave, value: AttrValue::Iface(Some("eth0".into())) },
        ),
        (
            "clear_active_slave",
            BondAttr { id: OptionId::ActiveSlave, value: AttrValue::Iface(None) },
        ),
        ("miimon 100", num(OptionId::Miimon, 100)),
        ("updelay 200", num(OptionId::Updelay, 200)),
        ("downdelay 0x10", num(OptionId::Downdelay, 16)),
        ("peer_notify_delay 300", num(OptionId::PeerNotifDelay, 300)),
        ("use_carrier 1", num(OptionId::UseCarrier, 1)),
        ("arp_interval 100", num(OptionId::ArpInterval, 100)),
        (
            "arp_ip_target 192.0.2.1,,192.0.2.2",
            BondAttr {
                id: OptionId::ArpIpTarget,
                value: AttrValue::Ipv4(vec![ip4("192.0.2.1"), ip4("192.0.2.2")]),
            },
        ),
        (
            "ns_ip6_target 2001:db8::254",
            BondAttr {
                id: OptionId::NsIp6Target,
                value: AttrValue::Ipv6(vec![ip6("2001:db8::254")]),
            },
        ),
        ("arp_validate filter_backup", num(OptionId::ArpValidate, 6)),
        ("arp_all_targets all", num(OptionId::ArpAllTargets, 1)),
        ("arp_missed_max 3", num(OptionId::ArpMissedMax, 3)),
        (
            "primary eth1",
            BondAttr { id: OptionId::Primary, value: AttrValue::Iface(Some("eth1".into())) },
        ),
        ("primary_reselect better", num(OptionId::PrimaryReselect, 1)),
        ("fail_over_mac follow", num(OptionId::FailOverMac, 2)),
        ("xmit_hash_policy layer3+4", num(OptionId::XmitHashPolicy, 1)),
        ("xmit_hash_policy vlan+srcmac", num(OptionId::XmitHashPolicy, 5)),
        ("resend_igmp 3", num(OptionId::ResendIgmp, 3)),
        ("num_grat_arp 5", num(OptionId::NumGratArp, 5)),
        ("num_unsol_na 6", num(OptionId::NumGratArp, 6)),
        ("all_slaves_active 1", num(OptionId::AllSlavesActive, 1)),
        ("min_links 2", num(OptionId::MinLinks, 2)),
        ("lp_interval 4", num(OptionId::LpInterval, 4)),
        ("packets_per_slave 0", num(OptionId::PacketsPerSlave, 0)),
        ("lacp_rate fast", num(OptionId::LacpRate, 1)),
        ("lacp_active off", num(OptionId::LacpActive, 0)),
        ("coupled_control off", num(OptionId::CoupledControl, 0)),
        ("broadcast_neighbor on", num(OptionId::BroadcastNeighbor, 1)),
        ("ad_select actor_port_prio", num(OptionId::AdSelect, 3)),
        ("ad_user_port_key 17", num(OptionId::AdUserPortKey, 17)),
        ("ad_actor_sys_prio 100", num(OptionId::AdActorSysPrio, 100)),
        (
            "ad_actor_system 02:00:00:00:00:01",
            BondAttr {
                id: OptionId::AdActorSystem,
                value: AttrValue::Mac(MacAddr([2, 0, 0, 0, 0, 1])),
            },
        ),
        ("tlb_dynamic_lb 0", num(OptionId::TlbDynamicLb, 0)),
        ("lacp_strict on", num(OptionId::LacpStrict, 1)),
        ("lacp_fallback on", num(OptionId::LacpFallback, 1)),
        ("tcp_dup_discard off", num(OptionId::TcpDupDiscard, 0)),
        ("bfd on", num(OptionId::Bfd, 1)),
        ("bfd_min_tx 10", BondAttr { id: OptionId::BfdMinTx, value: AttrValue::Text("10".into()) }),
        (
            "bfd_peer 2001:db8::2",
            BondAttr { id: OptionId::BfdPeer, value: AttrValue::Text("2001:db8::2".into()) },
        ),
        (
            "ad_unknown_speed refuse",
            BondAttr { id: OptionId::AdUnknownSpeed, value: AttrValue::Text("refuse".into()) },
        ),
        // iproute2's prefixes.
        ("m balance-xor", num(OptionId::Mode, 2)),
        ("mi 50", num(OptionId::Miimon, 50)),
        ("xmit layer2+3", num(OptionId::XmitHashPolicy, 2)),
        (
            "prim eth0",
            BondAttr { id: OptionId::Primary, value: AttrValue::Iface(Some("eth0".into())) },
        ),
        ("lacp fast", num(OptionId::LacpRate, 1)),
        ("ad 2", num(OptionId::AdSelect, 2)),
    ];
    for (words, want) in cases {
        assert_eq!(bond_attrs(words), vec![want], "{words}");
    }
    // An empty target list clears (no word after it).
    assert_eq!(
        bond_attrs("arp_ip_target"),
        vec![BondAttr { id: OptionId::ArpIpTarget, value: AttrValue::Ipv4(vec![]) }]
    );
    // At most 16 targets are sent, as iproute2 does.
    let many: Vec<String> = (1..=20).map(|i| format!("192.0.2.{i}")).collect();
    match &bond_attrs(&format!("arp_ip_target {}", many.join(",")))[0].value {
        AttrValue::Ipv4(l) => assert_eq!(l.len(), 16),
        other => panic!("{other:?}"),
    }
}

/// iproute2's error for each kind of bad bond word, and its exit status.
#[test]
fn bond_word_errors() {
    let e = err("add bond9 type bond mode 9");
    assert_eq!(e, ("Error: argument \"9\" is wrong: invalid mode\n".into(), 255));
    let e = err("add bond9 type bond miimon x");
    assert_eq!(e, ("Error: argument \"x\" is wrong: invalid miimon\n".into(), 255));
    let e = err("add bond9 type bond num_grat_arp 256");
    assert_eq!(e.0, "Error: argument \"256\" is wrong: invalid num_grat_arp|num_unsol_na\n");
    let e = err("add bond9 type bond lacp_rate medium");
    assert_eq!(e.0, "Error: argument \"medium\" is wrong: invalid lacp_rate\n");
    let e = err("add bond9 type bond coupled_control yes");
    assert_eq!(
        e,
        (
            "Error: argument of \"coupled_control\" must be one of \"off\", \"on\", not \"yes\"\n"
                .into(),
            1
        )
    );
    let e = err("add bond9 type bond active_slave eth7");
    assert_eq!(e, ("Cannot find device \"eth7\"\n".into(), 1));
    let e = err("add bond9 type bond arp_ip_target 192.0.2.x");
    assert_eq!(e, ("Error: an IP address is expected rather than \"192.0.2.x\"\n".into(), 1));
    let e = err("add bond9 type bond ns_ip6_target 192.0.2.1");
    assert_eq!(e, ("Error: inet6 address is expected rather than \"192.0.2.1\".\n".into(), 1));
    let e = err("add bond9 type bond ad_actor_system zz:00");
    assert_eq!(e, ("\"zz\" is invalid lladdr.\n".into(), 1));
    let e = err("add bond9 type bond ad_actor_system 02:00");
    assert_eq!(e, ("RTNETLINK answers: Invalid argument\n".into(), 2));
    let e = err("add bond9 type bond mode");
    assert_eq!(e, ("Command line is not complete. Try option \"help\"\n".into(), 255));
    let e = err("add bond9 type bond frobnicate 1");
    assert!(e
        .0
        .starts_with("bond: unknown command \"frobnicate\"?\nUsage: ... bond [ mode BONDMODE ]"));
    assert_eq!(e.1, 1);
    let e = err("add bond9 type bond help");
    assert!(e.0.starts_with("Usage: ... bond") && e.1 == 1);
    // `lacp_active` and `arp_missed_max` are compared whole, not by prefix.
    assert!(err("add bond9 type bond lacp_act on")
        .0
        .starts_with("bond: unknown command \"lacp_act\"?"));
    assert!(err("add bond9 type bond arp_missed 2")
        .0
        .starts_with("bond: unknown command \"arp_missed\"?"));
}

#[test]
fn bond_slave_words() {
    let r = match parse_str("set eth0 type bond_slave prio -5 queue_id 2 actor_port_prio 0x10") {
        Ok(Command::Set(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.dev.as_deref(), Some("eth0"));
    assert_eq!(
        r.kind,
        Some(Kind::BondSlave(vec![
            SlaveAttr { option: "prio", value: -5 },
            SlaveAttr { option: "queue_id", value: 2 },
            SlaveAttr { option: "actor_port_prio", value: 16 },
        ]))
    );
    assert_eq!(
        err("set eth0 type bond_slave prio x"),
        ("Error: argument \"x\" is wrong: prio is invalid\n".into(), 255)
    );
    assert_eq!(
        err("set eth0 type bond_slave queue_id 65536").0,
        "Error: argument \"65536\" is wrong: queue_id is invalid\n"
    );
    assert_eq!(
        err("set eth0 type bond_slave actor_port_prio -1").0,
        "Error: argument \"-1\" is wrong: actor prio is invalid\n"
    );
    let e = err("set eth0 type bond_slave weight 3");
    assert_eq!(e.0, format!("bond_slave: unknown option \"weight\"?\n{BOND_SLAVE_USAGE}"));
    assert_eq!(e.1, 1);
    assert_eq!(err("set eth0 type bond_slave help").0, BOND_SLAVE_USAGE);
}

#[test]
fn generic_words() {
    let r = match parse_str("set dev eth0 down mtu 9000 address 02:00:00:00:00:09 master bond0 txqlen 500 alias up-link arp off promisc on group 7") {
        Ok(Command::Set(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.dev.as_deref(), Some("eth0"));
    assert_eq!((r.change & IFF_UP, r.flags & IFF_UP), (IFF_UP, 0));
    assert_eq!((r.change & IFF_NOARP, r.flags & IFF_NOARP), (IFF_NOARP, IFF_NOARP));
    assert_eq!((r.change & IFF_PROMISC, r.flags & IFF_PROMISC), (IFF_PROMISC, IFF_PROMISC));
    assert_eq!(r.mtu, Some(9000));
    assert_eq!(r.address, Some(vec![2, 0, 0, 0, 0, 9]));
    assert_eq!(r.master, Some(Some("bond0".to_string())));
    assert_eq!(r.txqlen, Some(500));
    assert_eq!(r.alias.as_deref(), Some("up-link"));
    assert_eq!(r.group.as_deref(), Some("7"));
    let r = match parse_str("set eth0 nomaster up") {
        Ok(Command::Set(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((r.master, r.flags & IFF_UP), (Some(None), IFF_UP));
    // `m` is `master`: iproute2 matches by prefix.
    assert!(matches!(
        parse_str("set eth0 m bond0"),
        Ok(Command::Set(Request { master: Some(Some(_)), .. }))
    ));
    assert_eq!(
        err("set eth0 master bond7"),
        ("Error: argument \"bond7\" is wrong: Device does not exist\n\n".into(), 255)
    );
    assert_eq!(err("set eth7 up"), ("Cannot find device \"eth7\"\n".into(), 1));
    assert_eq!(err("set up").0, "Not enough information: \"dev\" argument is required.\n");
    assert_eq!(
        err("set eth0 mtu 1500 mtu 9000"),
        ("Error: duplicate \"mtu\": \"9000\" is the second value.\n".into(), 255)
    );
    assert_eq!(
        err("set eth0 eth1"),
        ("Error: either \"dev\" is duplicate, or \"eth1\" is garbage.\n".into(), 255)
    );
    assert_eq!(
        err("set eth0 arp maybe"),
        ("Error: argument of \"arp\" must be \"on\" or \"off\", not \"maybe\"\n".into(), 1)
    );
    assert_eq!(
        err("set eth0 mtu big").0,
        "Error: argument \"big\" is wrong: Invalid \"mtu\" value\n\n"
    );
    assert_eq!(
        err("add bond9"),
        ("Not enough information: \"type\" argument is required\n".into(), 1)
    );
    assert_eq!(
        err("add name x y type bond").0,
        "both \"name\" and \"dev\" cannot be used when creating devices.\n"
    );
    assert_eq!(err("frob"), ("Command \"frob\" is unknown, try \"ip link help\".\n".into(), 255));
    assert_eq!(err("set eth0 netns other").1, 1);
    assert_eq!(
        err("add d0 type dummy extra"),
        ("Garbage instead of arguments \"extra ...\". Try \"ip link help\".\n".into(), 1)
    );
}

#[test]
fn add_and_delete_words() {
    match parse_str("add name bond9 mtu 9000 up type bond mode 4") {
        Ok(Command::Add(r)) => {
            assert_eq!((r.dev.as_deref(), r.name.as_deref()), (Some("bond9"), Some("bond9")));
            assert_eq!((r.mtu, r.flags & IFF_UP), (Some(9000), IFF_UP));
            assert_eq!(r.kind, Some(Kind::Bond(vec![num(OptionId::Mode, 4)])));
        }
        other => panic!("{other:?}"),
    }
    match parse_str("add v0 type veth peer name v1 mtu 1400") {
        Ok(Command::Add(Request { kind: Some(Kind::Veth(Some(p))), .. })) => {
            assert_eq!((p.dev.as_deref(), p.mtu), (Some("v1"), Some(1400)));
        }
        other => panic!("{other:?}"),
    }
    for del in ["del bond0", "delete dev bond0", "d bond0 type bond"] {
        match parse_str(del) {
            Ok(Command::Delete(r)) => assert_eq!(r.dev.as_deref(), Some("bond0"), "{del}"),
            other => panic!("{del}: {other:?}"),
        }
    }
    assert_eq!(err("del bond7"), ("Cannot find device \"bond7\"\n".into(), 1));
}

#[test]
fn show_words() {
    assert_eq!(parse_str(""), Ok(Command::Show(ShowArgs::default())));
    let s = match parse_str("show dev eth0 up type bond_slave master bond0 group default") {
        Ok(Command::Show(s)) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.dev.as_deref(), Some("eth0"));
    assert!(s.up && !s.down);
    assert_eq!((s.kind, s.slave_kind.as_deref()), (None, Some("bond")));
    assert_eq!((s.master, s.group.as_deref()), (Some(4), Some("default")));
    assert!(matches!(parse_str("ls bond0"), Ok(Command::Show(ShowArgs { dev: Some(_), .. }))));
    assert!(matches!(
        parse_str("list type bond"),
        Ok(Command::Show(ShowArgs { kind: Some(_), .. }))
    ));
    assert_eq!(err("show eth9"), ("Device \"eth9\" does not exist.\n".into(), 1));
    assert_eq!(
        err("show master eth9").0,
        "Error: argument \"eth9\" is wrong: Device does not exist\n\n"
    );
    assert_eq!(
        err("show eth0 eth1").0,
        "Error: either \"dev\" is duplicate, or \"eth1\" is garbage.\n"
    );
}
