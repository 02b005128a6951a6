//! `ip link show`: iproute2's `print_linkinfo` (`ip/ipaddress.c`) over rtnetlink's link
//! messages, with the `bond` and `bond_slave` parts of `ip/iplink_bond.c` and
//! `ip/iplink_bond_slave.c` and the `tun` part of `ip/iptuntap.c`.
//!
//! The messages are the kernel's, with ubond's bonds and slaves described as the kernel
//! describes its own ([`super::model`]), so a real kernel bond and a ubond bond print the same.
//! Kinds whose details iproute2 prints and this port does not (bridge, vlan, vxlan, ...)
//! print their kind only. The `bond` and `bond_slave` details (and iproute2's bond value
//! tables) are in `bond`, the `tun` details in `tun`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, InfoData, InfoPortData, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage, LinkXdp, State, XdpAttached,
};

use super::print::{Out, Printer};

mod bond;
mod tun;

use bond::{print_bond, print_bond_slave};
pub use bond::{
    AD_SELECT_TBL, ARP_ALL_TARGETS_TBL, ARP_VALIDATE_TBL, FAIL_OVER_MAC_TBL, LACP_ACTIVE_TBL,
    LACP_RATE_TBL, MODE_TBL, PRIMARY_RESELECT_TBL, XMIT_HASH_POLICY_TBL,
};
use tun::print_tun;

/// What `ip` was asked to print (its global options).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// `-d`: details (`show_details`).
    pub details: bool,
    /// `-br`: one short line per interface.
    pub brief: bool,
}

/// The filters of `ip link show` (`struct filter`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `dev NAME`: only this interface (its index).
    pub ifindex: Option<u32>,
    /// `up`: only interfaces that are up.
    pub up: bool,
    /// `down`: only interfaces that are down.
    pub down: bool,
    /// `master DEV` (its index).
    pub master: Option<u32>,
    /// `nomaster`.
    pub nomaster: bool,
    /// `type KIND`.
    pub kind: Option<String>,
    /// `type KIND_slave`: `KIND`.
    pub slave_kind: Option<String>,
    /// `group GROUP` (its number).
    pub group: Option<u32>,
}

/// Names of things the messages refer to by number.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Interfaces: index to name and flags (`ll_index_to_name`, `ll_index_to_flags`).
    pub links: BTreeMap<u32, (String, u32)>,
    /// Named network namespaces by the id this namespace gave them (`link-netns NAME`).
    pub netns: Vec<(i32, String)>,
    /// `/etc/iproute2/group`: group numbers to names (0 is `default`).
    pub groups: Vec<(u32, String)>,
}

impl Names {
    /// `ll_index_to_name`: the name, or `if%u` for an index not known here.
    pub fn link(&self, index: u32) -> String {
        self.links.get(&index).map_or_else(|| format!("if{index}"), |(n, _)| n.clone())
    }

    fn group(&self, group: u32) -> String {
        match self.groups.iter().find(|(n, _)| *n == group) {
            Some((_, name)) => name.clone(),
            None if group == 0 => "default".to_string(),
            None => group.to_string(),
        }
    }
}

// IFF_* flags, in the order `print_link_flags` prints them.
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
const FLAG_NAMES: [(u32, &str); 17] = [
    (0x8, "LOOPBACK"),
    (0x2, "BROADCAST"),
    (0x10, "POINTOPOINT"),
    (0x1000, "MULTICAST"),
    (0x80, "NOARP"),
    (0x200, "ALLMULTI"),
    (0x100, "PROMISC"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x4, "DEBUG"),
    (0x8000, "DYNAMIC"),
    (0x4000, "AUTOMEDIA"),
    (0x2000, "PORTSEL"),
    (0x20, "NOTRAILERS"),
    (IFF_UP, "UP"),
    (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
];
const IFF_ECHO: u32 = 0x40000;

fn attr<'a, T>(m: &'a LinkMessage, f: impl Fn(&'a LinkAttribute) -> Option<T>) -> Option<T> {
    m.attributes.iter().find_map(f)
}

/// The interface's name in a message.
pub fn name_of(m: &LinkMessage) -> Option<&str> {
    attr(m, |a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

fn link_info(m: &LinkMessage) -> Option<&[LinkInfo]> {
    attr(m, |a| match a {
        LinkAttribute::LinkInfo(i) => Some(i.as_slice()),
        _ => None,
    })
}

/// The interface's kind (`IFLA_INFO_KIND`), or its slave kind (`IFLA_INFO_SLAVE_KIND`).
pub fn kind_of(m: &LinkMessage, slave: bool) -> Option<String> {
    link_info(m)?.iter().find_map(|i| match i {
        LinkInfo::Kind(k) if !slave => Some(k.to_string()),
        LinkInfo::PortKind(k) if slave => Some(k.to_string()),
        _ => None,
    })
}

/// The index of the interface's master (`IFLA_MASTER`).
pub fn master_of(m: &LinkMessage) -> Option<u32> {
    attr(m, |a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    })
}

/// `ll_addr_n2a`: colon-separated hex, or an IP address for the tunnels that carry one.
fn ll_addr(bytes: &[u8], ltype: u16) -> String {
    const TUNNEL: u16 = 768;
    const SIT: u16 = 776;
    const IPGRE: u16 = 778;
    const TUNNEL6: u16 = 769;
    const IP6GRE: u16 = 823;
    if let (Ok(b4), true) = (<[u8; 4]>::try_from(bytes), matches!(ltype, TUNNEL | SIT | IPGRE)) {
        return Ipv4Addr::from(b4).to_string();
    }
    if let (Ok(b16), true) = (<[u8; 16]>::try_from(bytes), matches!(ltype, TUNNEL6 | IP6GRE)) {
        return Ipv6Addr::from(b16).to_string();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// `ll_type_n2a`: the link type's name (`ether`, `loopback`, ...) or `[N]`.
fn ll_type(t: u16) -> String {
    const NAMES: [(u16, &str); 33] = [
        (0, "netrom"),
        (1, "ether"),
        (2, "eether"),
        (3, "ax25"),
        (4, "pronet"),
        (5, "chaos"),
        (6, "ieee802"),
        (7, "arcnet"),
        (8, "atalk"),
        (15, "dlci"),
        (19, "atm"),
        (23, "metricom"),
        (24, "ieee1394"),
        (32, "infiniband"),
        (256, "slip"),
        (512, "ppp"),
        (513, "hdlc"),
        (768, "ipip"),
        (769, "tunnel6"),
        (772, "loopback"),
        (774, "fddi"),
        (776, "sit"),
        (778, "gre"),
        (779, "pimreg"),
        (800, "ieee802.11"),
        (801, "ieee802.11/prism"),
        (803, "ieee802.11/radiotap"),
        (804, "ieee802.15.4"),
        (820, "phonet"),
        (823, "gre6"),
        (824, "netlink"),
        (825, "6lowpan"),
        (65534, "none"),
    ];
    match NAMES.iter().find(|(n, _)| *n == t) {
        Some((_, name)) => (*name).to_string(),
        None if t == 65535 => "void".to_string(),
        None => format!("[{t}]"),
    }
}

fn oper_state(s: &State) -> Result<&'static str, u8> {
    Ok(match s {
        State::Unknown => "UNKNOWN",
        State::NotPresent => "NOTPRESENT",
        State::Down => "DOWN",
        State::LowerLayerDown => "LOWERLAYERDOWN",
        State::Testing => "TESTING",
        State::Dormant => "DORMANT",
        State::Up => "UP",
        State::Other(v) => return Err(*v),
        _ => return Err(255),
    })
}

/// Whether `m` passes `filter` (`print_linkinfo`'s checks, and the kernel's dump filters).
pub fn passes(m: &LinkMessage, filter: &Filter) -> bool {
    let flags = m.header.flags.bits();
    if filter.ifindex.is_some_and(|i| i != m.header.index)
        || (filter.up && flags & IFF_UP == 0)
        || (filter.down && flags & IFF_UP != 0)
    {
        return false;
    }
    let group = attr(m, |a| match a {
        LinkAttribute::Group(g) => Some(*g),
        _ => None,
    });
    if let (Some(want), Some(g)) = (filter.group, group) {
        if want != g {
            return false;
        }
    }
    let master = master_of(m);
    if filter.master.is_some_and(|want| master != Some(want))
        || (filter.nomaster && master.is_some())
    {
        return false;
    }
    if let Some(k) = &filter.kind {
        if kind_of(m, false).as_deref() != Some(k.as_str()) {
            return false;
        }
    }
    if let Some(k) = &filter.slave_kind {
        if kind_of(m, true).as_deref() != Some(k.as_str()) {
            return false;
        }
    }
    true
}

/// Prints one link as `print_linkinfo` does (the caller opens and closes its JSON object).
pub fn print_link(p: &mut Printer, m: &LinkMessage, style: Style, names: &Names) {
    let Some(name) = name_of(m) else { return };
    if style.brief {
        print_brief(p, m, name, names);
        return;
    }
    p.int(Out::Any, Some("ifindex"), "%d: ", i64::from(m.header.index));
    let m_flag = print_name_and_link(p, "%s: ", name, m, names);
    print_link_flags(p, m.header.flags.bits(), m_flag);
    let ltype = u16::from(m.header.link_layer_type);
    for a in &m.attributes {
        if let LinkAttribute::Mtu(mtu) = a {
            p.int(Out::Any, Some("mtu"), "mtu %u ", i64::from(*mtu));
        }
    }
    if let Some(xdp) = attr(m, |a| match a {
        LinkAttribute::Xdp(x) => Some(x),
        _ => None,
    }) {
        print_xdp(p, xdp);
    }
    if let Some(q) = attr(m, |a| match a {
        LinkAttribute::Qdisc(q) => Some(q),
        _ => None,
    }) {
        p.string(Out::Any, Some("qdisc"), "qdisc %s ", q);
    }
    if let Some(master) = master_of(m) {
        p.string(Out::Any, Some("master"), "master %s ", &names.link(master));
    }
    if let Some(s) = attr(m, |a| match a {
        LinkAttribute::OperState(s) => Some(s),
        _ => None,
    }) {
        print_operstate(p, s, false);
    }
    if let Some(mode) = attr(m, |a| match a {
        LinkAttribute::Mode(mode) => Some(u8::from(*mode)),
        _ => None,
    }) {
        match mode {
            0 => p.string(Out::Any, Some("linkmode"), "mode %s ", "DEFAULT"),
            1 => p.string(Out::Any, Some("linkmode"), "mode %s ", "DORMANT"),
            n => p.int(Out::Any, Some("linkmode_index"), "mode %d ", i64::from(n)),
        }
    }
    if let Some(g) = attr(m, |a| match a {
        LinkAttribute::Group(g) => Some(*g),
        _ => None,
    }) {
        p.string(Out::Any, Some("group"), "group %s ", &names.group(g));
    }
    // `filter.showqueue` is set for `ip link`.
    if let Some(q) = attr(m, |a| match a {
        LinkAttribute::TxQueueLen(q) => Some(*q),
        _ => None,
    }) {
        if q != 0 {
            p.int(Out::Any, Some("txqlen"), "qlen %d", i64::from(q));
        }
    }
    if let Some(ev) = attr(m, |a| match a {
        LinkAttribute::Event(e) => Some(u32::from(*e)),
        _ => None,
    }) {
        const EVENTS: [&str; 7] = [
            "NONE",
            "REBOOT",
            "FEATURE CHANGE",
            "BONDING FAILOVER",
            "NOTIFY PEERS",
            "RESEND IGMP",
            "BONDING OPTION",
        ];
        match EVENTS.get(ev as usize) {
            None => p.int(Out::Any, Some("event"), "event %d ", i64::from(ev)),
            Some(_) if ev == 0 => {}
            Some(e) => p.string(Out::Any, Some("event"), "event %s ", e),
        }
    }

    p.nl();
    p.string(Out::Any, Some("link_type"), "    link/%s ", &ll_type(ltype));
    let address = attr(m, |a| match a {
        LinkAttribute::Address(b) => Some(b),
        _ => None,
    });
    if let Some(b) = address {
        p.string(Out::Any, Some("address"), "%s", &ll_addr(b, ltype));
    }
    if let Some(b) = attr(m, |a| match a {
        LinkAttribute::Broadcast(b) => Some(b),
        _ => None,
    }) {
        if m.header.flags.contains(LinkFlags::Pointopoint) {
            p.string(Out::Fp, None, " peer ", "");
            p.bool(Out::Json, Some("link_pointtopoint"), "", true);
        } else {
            p.string(Out::Fp, None, " brd ", "");
        }
        p.string(Out::Any, Some("broadcast"), "%s", &ll_addr(b, ltype));
    }
    if let Some(perm) = attr(m, |a| match a {
        LinkAttribute::PermAddress(b) => Some(b),
        _ => None,
    }) {
        if address != Some(perm) {
            p.string(Out::Fp, None, " permaddr ", "");
            p.string(Out::Any, Some("permaddr"), "%s", &ll_addr(perm, ltype));
        }
    }
    if let Some(id) = attr(m, |a| match a {
        LinkAttribute::LinkNetNsId(i) => Some(*i),
        _ => None,
    }) {
        if p.is_json() {
            p.int(Out::Json, Some("link_netnsid"), "", i64::from(id));
        } else if id >= 0 {
            match names.netns.iter().find(|(n, _)| *n == id) {
                Some((_, ns)) => p.string(Out::Fp, None, " link-netns %s", ns),
                None => p.int(Out::Fp, None, " link-netnsid %d", i64::from(id)),
            }
        } else {
            p.string(Out::Fp, None, " link-netnsid %s", "unknown");
        }
    }
    if attr(m, |a| matches!(a, LinkAttribute::ProtoDown(1)).then_some(())).is_some() {
        p.bool(Out::Any, Some("proto_down"), " protodown on ", true);
    }
    if style.details {
        print_details(p, m, names);
    }
    if let Some(alias) = attr(m, |a| match a {
        LinkAttribute::IfAlias(s) => Some(s),
        _ => None,
    }) {
        let sl = p.sl();
        p.string(Out::Fp, None, "%s    ", sl);
        p.string(Out::Any, Some("ifalias"), "alias %s", alias);
    }
    let altnames: Vec<&str> = m
        .attributes
        .iter()
        .filter_map(|a| match a {
            LinkAttribute::PropList(props) => Some(props),
            _ => None,
        })
        .flatten()
        .filter_map(|prop| match prop {
            netlink_packet_route::link::Prop::AltIfName(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    if m.attributes.iter().any(|a| matches!(a, LinkAttribute::PropList(_))) {
        p.open_array(Out::Json, "altnames");
        for n in altnames {
            let sl = p.sl();
            p.string(Out::Fp, None, "%s    altname ", sl);
            p.string(Out::Any, None, "%s", n);
        }
        p.close_array(Out::Json, "");
    }
    p.string(Out::Fp, None, "%s", "\n");
}

/// The queue and offload sizes of `show_details`, in `print_linkinfo`'s order.
const SIZES: [(&str, &str); 9] = [
    ("num_tx_queues", "numtxqueues %u "),
    ("num_rx_queues", "numrxqueues %u "),
    ("gso_max_size", "gso_max_size %u "),
    ("gso_max_segs", "gso_max_segs %u "),
    ("tso_max_size", "tso_max_size %u "),
    ("tso_max_segs", "tso_max_segs %u "),
    ("gro_max_size", "gro_max_size %u "),
    ("gso_ipv4_max_size", "gso_ipv4_max_size %u "),
    ("gro_ipv4_max_size", "gro_ipv4_max_size %u "),
];

/// An attribute's place in [`SIZES`], and its value.
fn size_slot(a: &LinkAttribute) -> Option<(usize, u32)> {
    Some(match a {
        LinkAttribute::NumTxQueues(v) => (0, *v),
        LinkAttribute::NumRxQueues(v) => (1, *v),
        LinkAttribute::GsoMaxSize(v) => (2, *v),
        LinkAttribute::GsoMaxSegs(v) => (3, *v),
        LinkAttribute::TsoMaxSize(v) => (4, *v),
        LinkAttribute::TsoMaxSegs(v) => (5, *v),
        LinkAttribute::GroMaxSize(v) => (6, *v),
        LinkAttribute::GsoIpv4MaxSize(v) => (7, *v),
        LinkAttribute::GroIpv4MaxSize(v) => (8, *v),
        _ => return None,
    })
}

/// The `show_details` part of `print_linkinfo`.
fn print_details(p: &mut Printer, m: &LinkMessage, names: &Names) {
    let u32_of = |f: fn(&LinkAttribute) -> Option<u32>| m.attributes.iter().find_map(f);
    if let Some(v) = u32_of(|a| match a {
        LinkAttribute::Promiscuity(v) => Some(*v),
        _ => None,
    }) {
        p.uint(Out::Any, Some("promiscuity"), " promiscuity %u ", u64::from(v));
    }
    if let Some(v) = u32_of(|a| match a {
        LinkAttribute::AllMulticast(v) => Some(*v),
        _ => None,
    }) {
        p.uint(Out::Any, Some("allmulti"), "allmulti %u ", u64::from(v));
    }
    if let Some(v) = u32_of(|a| match a {
        LinkAttribute::MinMtu(v) => Some(*v),
        _ => None,
    }) {
        p.uint(Out::Any, Some("min_mtu"), "minmtu %u ", u64::from(v));
    }
    if let Some(v) = u32_of(|a| match a {
        LinkAttribute::MaxMtu(v) => Some(*v),
        _ => None,
    }) {
        p.uint(Out::Any, Some("max_mtu"), "maxmtu %u ", u64::from(v));
    }
    if m.attributes.iter().any(|a| matches!(a, LinkAttribute::NetnsImmutable(true))) {
        p.bool(Out::Any, Some("netns-immutable"), "netns-immutable ", true);
    }
    if let Some(info) = link_info(m) {
        print_linktype(p, info, names);
    }
    for a in &m.attributes {
        if let LinkAttribute::AfSpecUnspec(specs) = a {
            print_af_spec(p, specs);
        }
    }
    let mut sizes = [None; SIZES.len()];
    for (slot, v) in m.attributes.iter().filter_map(size_slot) {
        sizes[slot] = Some(v);
    }
    for ((key, fmt), v) in SIZES.iter().zip(sizes) {
        if let Some(v) = v {
            p.uint(Out::Any, Some(key), fmt, u64::from(v));
        }
    }
    for a in &m.attributes {
        if let LinkAttribute::PhysPortName(n) = a {
            p.string(Out::Any, Some("phys_port_name"), "portname %s ", n);
        }
    }
    let hexid = |id: &[u8]| id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    for a in &m.attributes {
        if let LinkAttribute::PhysPortId(id) = a {
            p.string(
                Out::Any,
                Some("phys_port_id"),
                "portid %s ",
                &hexid(&id.id[..id.len.min(id.id.len())]),
            );
        }
    }
    for a in &m.attributes {
        if let LinkAttribute::PhysSwitchId(id) = a {
            p.string(
                Out::Any,
                Some("phys_switch_id"),
                "switchid %s ",
                &hexid(&id.id[..id.len.min(id.id.len())]),
            );
        }
    }
    for a in &m.attributes {
        if let LinkAttribute::ParentDevBusName(n) = a {
            p.string(Out::Any, Some("parentbus"), "parentbus %s ", n);
        }
    }
    for a in &m.attributes {
        if let LinkAttribute::ParentDevName(n) = a {
            p.string(Out::Any, Some("parentdev"), "parentdev %s ", n);
        }
    }
}

/// `print_name_and_link`: `NAME@LINK`, or `link` / `link_index` in JSON. Returns M-DOWN.
fn print_name_and_link(
    p: &mut Printer,
    fmt: &str,
    name: &str,
    m: &LinkMessage,
    names: &Names,
) -> bool {
    let mut shown = name.to_string();
    let mut m_down = false;
    let netnsid = m.attributes.iter().any(|a| matches!(a, LinkAttribute::LinkNetNsId(_)));
    if let Some(iflink) = attr(m, |a| match a {
        LinkAttribute::Link(l) => Some(*l),
        _ => None,
    }) {
        let mut link = None;
        if iflink != 0 {
            if netnsid {
                if p.is_json() {
                    p.int(Out::Json, Some("link_index"), "", i64::from(iflink));
                } else {
                    link = Some(format!("if{iflink}"));
                }
            } else {
                let l = names.link(iflink);
                if p.is_json() {
                    p.string(Out::Json, Some("link"), "", &l);
                } else {
                    link = Some(l);
                }
                let flags = names.links.get(&iflink).map_or(0, |(_, f)| *f);
                m_down = flags & IFF_UP == 0;
            }
        } else if p.is_json() {
            p.null(Out::Json, Some("link"), "", "");
        } else {
            link = Some("NONE".to_string());
        }
        if let Some(l) = link {
            shown = format!("{name}@{l}");
        }
    }
    p.string(Out::Any, Some("ifname"), fmt, &shown);
    m_down
}

/// `print_link_flags`.
fn print_link_flags(p: &mut Printer, flags: u32, m_down: bool) {
    let mut flags = flags;
    let key = if p.is_json() { "flags" } else { "<" };
    p.open_array(Out::Any, key);
    if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
        p.string(Out::Any, None, if flags != 0 { "%s," } else { "%s" }, "NO-CARRIER");
    }
    flags &= !IFF_RUNNING;
    for (bit, name) in FLAG_NAMES.iter().chain([(IFF_ECHO, "ECHO")].iter()) {
        if flags & bit != 0 {
            flags &= !bit;
            p.string(Out::Any, None, if flags != 0 { "%s," } else { "%s" }, name);
        }
    }
    if flags != 0 {
        p.hex(Out::Any, None, "%x", flags);
    }
    if m_down {
        p.string(Out::Any, None, ",%s", "M-DOWN");
    }
    p.close_array(Out::Any, "> ");
}

fn print_operstate(p: &mut Printer, s: &State, brief: bool) {
    match oper_state(s) {
        Err(v) => {
            if p.is_json() {
                p.uint(Out::Json, Some("operstate_index"), "", u64::from(v));
            } else {
                p.string(Out::Fp, None, "state %s", &format!("{v:#x}"));
            }
        }
        Ok(name) if brief => p.string(Out::Any, Some("operstate"), "%-14s ", name),
        Ok(name) => {
            if p.is_json() {
                p.string(Out::Json, Some("operstate"), "", name);
            } else {
                p.string(Out::Fp, None, "state %s ", name);
            }
        }
    }
}

/// `print_linkinfo_brief` (for `ip link`, whose family is `AF_PACKET`).
fn print_brief(p: &mut Printer, m: &LinkMessage, name: &str, names: &Names) {
    let m_flag = print_name_and_link(p, "%-16s ", name, m, names);
    if let Some(s) = attr(m, |a| match a {
        LinkAttribute::OperState(s) => Some(s),
        _ => None,
    }) {
        print_operstate(p, s, true);
    }
    let ltype = u16::from(m.header.link_layer_type);
    if let Some(b) = attr(m, |a| match a {
        LinkAttribute::Address(b) => Some(b),
        _ => None,
    }) {
        p.string(Out::Any, Some("address"), "%s ", &ll_addr(b, ltype));
    }
    print_link_flags(p, m.header.flags.bits(), m_flag);
    p.string(Out::Fp, None, "%s", "\n");
}

fn print_xdp(p: &mut Printer, xdp: &[LinkXdp]) {
    let Some(mode) = xdp.iter().find_map(|x| match x {
        LinkXdp::Attached(a) => Some(*a),
        _ => None,
    }) else {
        return;
    };
    let (word, number) = match mode {
        XdpAttached::None => return,
        XdpAttached::Driver => ("xdp".to_string(), 1),
        XdpAttached::SocketBuffer => ("xdpgeneric".to_string(), 2),
        XdpAttached::Hardware => ("xdpoffload".to_string(), 3),
        XdpAttached::Multiple => ("xdpmulti".to_string(), 4),
        XdpAttached::Other(n) => (format!("xdp[{n}]"), n),
        _ => ("xdp[?]".to_string(), 255),
    };
    if p.is_json() {
        p.open_object(Some("xdp"));
        p.uint(Out::Json, Some("mode"), "", u64::from(number));
        p.close_object();
        return;
    }
    p.string(Out::Fp, None, "%s ", &word);
}

/// `print_af_spec`: the IPv6 address generation mode.
fn print_af_spec(p: &mut Printer, specs: &[AfSpecUnspec]) {
    for s in specs {
        let AfSpecUnspec::Inet6(v6) = s else { continue };
        for a in v6 {
            if let AfSpecInet6::AddrGenMode(mode) = a {
                let n: u8 = mode.into();
                let word = match n {
                    0 => "eui64".to_string(),
                    1 => "none".to_string(),
                    2 => "stable_secret".to_string(),
                    3 => "random".to_string(),
                    n => format!("{n:#04x}"),
                };
                p.string(Out::Any, Some("inet6_addr_gen_mode"), "addrgenmode %s ", &word);
            }
        }
    }
}

/// `print_linktype`: the kind and its details, then the slave kind and its details.
fn print_linktype(p: &mut Printer, info: &[LinkInfo], names: &Names) {
    p.open_object(Some("linkinfo"));
    if let Some(kind) = info.iter().find_map(|i| match i {
        LinkInfo::Kind(k) => Some(k.to_string()),
        _ => None,
    }) {
        p.nl();
        p.string(Out::Any, Some("info_kind"), "    %s ", &kind);
        let data = info.iter().find_map(|i| match i {
            LinkInfo::Data(d) => Some(d),
            _ => None,
        });
        match kind.as_str() {
            "bond" => {
                p.open_object(Some("info_data"));
                if let Some(InfoData::Bond(attrs)) = data {
                    print_bond(p, attrs, names);
                }
                p.close_object();
            }
            "tun" => {
                p.open_object(Some("info_data"));
                if let Some(InfoData::Tun(attrs)) = data {
                    print_tun(p, attrs);
                }
                p.close_object();
            }
            _ => {}
        }
    }
    if let Some(kind) = info.iter().find_map(|i| match i {
        LinkInfo::PortKind(k) => Some(k.to_string()),
        _ => None,
    }) {
        p.nl();
        p.string(Out::Any, Some("info_slave_kind"), "    %s_slave ", &kind);
        if kind == "bond" {
            p.open_object(Some("info_slave_data"));
            if let Some(InfoPortData::BondPort(attrs)) = info.iter().find_map(|i| match i {
                LinkInfo::PortData(d) => Some(d),
                _ => None,
            }) {
                print_bond_slave(p, attrs);
            }
            p.close_object();
        }
    }
    p.close_object();
}

/// `get_name`: the table's word for `index`, or `UNKNOWN`.
fn get_name(tbl: &[&'static str], index: u64) -> &'static str {
    usize::try_from(index).ok().and_then(|i| tbl.get(i)).copied().unwrap_or("UNKNOWN")
}

/// `/etc/iproute2/group` (or the distribution's copy): `NUMBER NAME` lines.
pub fn read_groups() -> Vec<(u32, String)> {
    for path in ["/etc/iproute2/group", "/usr/share/iproute2/group", "/usr/lib/iproute2/group"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    let n = w.next()?;
                    let n = match n.strip_prefix("0x") {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    Some((n, w.next()?.to_string()))
                })
                .collect();
        }
    }
    Vec::new()
}

/// `rtnl_group_a2n`: a group's number from its name or number.
pub fn group_number(groups: &[(u32, String)], word: &str) -> Option<u32> {
    if let Some((n, _)) = groups.iter().find(|(_, name)| name == word) {
        return Some(*n);
    }
    if word == "default" {
        return Some(0);
    }
    match word.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => word.parse().ok(),
    }
}
