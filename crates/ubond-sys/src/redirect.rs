//! Frames handed on in the kernel without eBPF, for the userspace data path: tc's `u32`
//! classifier and `mirred` action on `clsact` qdiscs. They need only netlink and
//! CAP_NET_ADMIN, so they work where the bpf() system call is refused (a container's default
//! seccomp profile, a kernel without `CONFIG_BPF_SYSCALL`). Two uses:
//!
//! * **Receive** ([`redirect`]): on a slave's ingress, its data frames go to the egress of the
//!   bond's data-path end, and veth hands them to the bond's device as received, as a frame a
//!   data thread writes there would be, without crossing userspace.
//! * **Transmit** ([`transmit`]): on the data-path end's ingress (where what the bond sends
//!   arrives), every frame goes to one slave's egress, or a copy to each slave (broadcast);
//!   or ([`TxTo::Ipv4`]) the untagged IPv4 frames to a unicast address from the bond's address
//!   go by the last octet of their destination, through a hash table of 256 buckets (the
//!   layer2 hash reads nothing else), and the rest stays for the data threads. Routes that
//!   need the slave's own source address are [`crate::nft_tx`]'s.
//!
//! ubond's filters on a slave, in the order the kernel tries them, each ending the
//! classification when it matches:
//!
//! | pref | protocol | match | action |
//! |------|----------|-------|--------|
//! | [`PREF_FIRST`] | Slow Protocols | any | none: the frame stays on the slave |
//! | +1 | IPv4 | UDP, no fragment offset, port 6784 (one node per header length) | none |
//! | +2 | IPv6 | UDP right after the fixed header, port 6784 | none |
//! | +1, +2 | IPv4, IPv6 | TCP, no fragment ([`RxMatch::AllButTcp`] only) | none |
//! | +3 | any | the destination's I/G bit clear ([`RxMatch::Unicast`]), or any | redirect |
//!
//! Where the slaves have addresses of their own ([`RxTo::AsReceived`]: balance-tlb/alb,
//! `fail_over_mac`), the last filter first has a node for each other slave's address (no
//! action: the data threads take those frames and rewrite them), then, if the slave's own
//! address is not the bond's, one for it (redirected to the bond's device itself, as
//! received), then the one of the table (or the ARP monitor's eight).
//!
//! With [`RxMatch::AllStamped`] (the ARP monitor runs) the last filter has eight nodes that
//! all redirect: frames for this host (to the slave's address, or to a group), ARP and IPv6
//! ones apart, then the rest. The kernel keeps each action's last use, which [`rx_seen`] reads
//! as the slave's receive times: what the data threads would have noted.
//!
//! The first three leave the control frames, LACPDUs and micro-BFD, to the daemon, whose
//! packet socket on the slave reads them (packet sockets see a frame before tc's ingress);
//! this is `ubond_core::bond::is_data_frame`. A matching filter with no action lets the
//! frame go on up the slave, where nothing takes it. A tagged frame is data, as for the other
//! data paths: where the classifier runs, its outer tag is out of its bytes (the NIC's receive
//! VLAN offload, or the stack's `skb_vlan_untag` on veth) and a filter's protocol is matched
//! against the tag's (tc's `skb_protocol`), which none of the first three is.
//!
//! On the data-path end, one filter at one of [`TX_PREFS`] matches every frame; a new one goes
//! in at the other preference before the old one goes, so that each frame meets one of them
//! (a failover loses none).
//!
//! The filters belong to the interfaces, not to the daemon: they keep forwarding while no
//! daemon runs (the bond outlives its daemon). A daemon takes a slave's away with [`clear`]
//! (when it adopts the slave, and when it releases it); the data-path end's go with the bond's
//! device. The `clsact` qdisc they hang from is added when missing and left in place (empty,
//! it does nothing; tc's own or the fast path's may share it).

use std::time::Duration;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMirrorOption, TcActionOption,
    TcActionType, TcAttribute, TcFilterU32Option, TcHandle, TcMessage, TcMirror,
    TcMirrorActionType, TcOption, TcStats2, TcU32Key, TcU32Selector, TcU32SelectorFlags,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::error::{Result, SysError};
use crate::packet::{AddressSet, Ipv4Octets};
use crate::rtnl::Connection;

/// The preferences of the bond's transmit filter on its data-path end's ingress, taken in turn.
pub const TX_PREFS: [u16; 2] = [PREF_FIRST, PREF_FIRST + 1];

/// The preference of the first of ubond's filters on a slave's ingress; the others follow it
/// (0x7562, "ub"). ubond deletes what is at its preferences, so they are ones no one else
/// picks: tc numbers filters from 49152 down, people from 1 up; filters of a smaller number
/// (an administrator's own policy) run first.
pub const PREF_FIRST: u16 = 0x7562;
/// How many preferences ubond's filters on a slave take.
const FILTERS: u16 = 4;

/// Where a slave's filters hand its data frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxTo {
    /// The egress of the bond's data-path end (this interface index): veth hands them to the
    /// bond's device as received there, which classifies each destination again (a frame to
    /// another address than the bond's is another host's), and counts them.
    End(u32),
    /// Where the bond's slaves have addresses of their own (balance-tlb/alb, `fail_over_mac`),
    /// as the data threads would deliver each frame without rewriting it: where the slave's
    /// own address is not the bond's (`own`), the frames sent to it go to the ingress of the
    /// bond's device `bond` as the slave received them (the kernel's `PACKET_HOST` for them
    /// stays, as the Linux driver hands its frames to the bond; the device's counters do not
    /// count them, as on the fast path); those sent to one of the `others` (the other slaves'
    /// addresses, which the bond rewrites to its own) stay on the slave for the data threads
    /// (their sockets' [`Receive::To`]); the rest go to the data-path end `end`, as with
    /// [`RxTo::End`]. [`RxMatch::AllStamped`] only without `own` (the monitor's nodes count
    /// what goes to the end).
    ///
    /// [`Receive::To`]: crate::Receive::To
    AsReceived {
        /// The data-path end's interface index.
        end: u32,
        /// The bond's device's interface index.
        bond: u32,
        /// The slave's address, if it is not the bond's.
        own: Option<[u8; 6]>,
        /// The other slaves' addresses that are not the bond's.
        others: AddressSet,
    },
}

/// Which data frames a slave hands to the bond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxMatch {
    /// Every one.
    All,
    /// Every one, those for this host counted apart, for the ARP monitor's receive times
    /// ([`rx_seen`]): addressed to the slave's MAC address `own` or to a group, and among them
    /// ARP and IPv6 frames (tagged or not), as the data threads stamp them.
    AllStamped {
        /// The slave's MAC address.
        own: [u8; 6],
    },
    /// Those whose destination's I/G bit is clear (unicast).
    Unicast,
    /// Every one but TCP: over IPv4 without a fragment (`MF` and the offset clear), and over
    /// IPv6 right after the fixed header. Those go on up the slave, to the table of
    /// broadcast's copies ([`crate::nft_rx`]) and the data threads' sockets
    /// ([`crate::Receive::OtherTcp`]).
    AllButTcp,
}

/// When a slave's frames for this host last went to the bond by ubond's filters, as ages
/// (how long before the question), for the ARP monitor ([`RxMatch::AllStamped`]). The kernel
/// keeps the time of a filter's last frame in ticks of `sysconf(_SC_CLK_TCK)` (10 ms): an age
/// is that much shorter than the truth at most.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxSeen {
    /// The last frame for this host; `None`: none since the filters went on.
    pub any: Option<Duration>,
    /// The last ARP or IPv6 frame for this host.
    pub arp_ipv6: Option<Duration>,
}

const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_SLOW: u16 = 0x8809;
/// The micro-BFD port (RFC 7130).
const MICRO_BFD_PORT: u32 = 6784;

/// Gives slave `slave` (interface index `ifindex`) ubond's filters, redirecting the data
/// frames `what` selects `to` the bond, in place of any it had. Fails (said with the kernel's
/// reason) where the kernel lacks the `u32` classifier or the `mirred` action; the slave then
/// has none of ubond's filters.
pub fn redirect(slave: &str, ifindex: u32, what: RxMatch, to: RxTo) -> Result<()> {
    const OP: &str = "redirect a slave's frames to the bond (tc u32, mirred)";
    if let (RxMatch::AllStamped { .. }, RxTo::AsReceived { own: Some(_), .. }) = (what, to) {
        let why = "the ARP monitor's receive times where the slaves have addresses of their own";
        let e = std::io::Error::new(std::io::ErrorKind::Unsupported, why);
        return Err(SysError::new(OP, Some(slave), e));
    }
    let mut nl = Connection::open(OP, Some(slave))?;
    add_clsact(&mut nl, ifindex, slave)?;
    clear_on(&mut nl, ifindex, slave)?;
    let added = filters(ifindex, what, to)
        .into_iter()
        .try_for_each(|f| nl.request(f, NLM_F_CREATE | NLM_F_EXCL, OP, Some(slave)).map(drop));
    if added.is_err() {
        // No half of the set: without the last, the frames would stay on the slave unread.
        let _ = clear_on(&mut nl, ifindex, slave);
    }
    added
}

/// Takes ubond's filters off slave `slave` (interface index `ifindex`), if it has any.
pub fn clear(slave: &str, ifindex: u32) -> Result<()> {
    const OP: &str = "remove the slave's tc redirect";
    let mut nl = Connection::open(OP, Some(slave))?;
    clear_on(&mut nl, ifindex, slave)
}

fn clear_on(nl: &mut Connection, ifindex: u32, slave: &str) -> Result<()> {
    (PREF_FIRST..PREF_FIRST + FILTERS).try_for_each(|pref| delete(nl, ifindex, slave, pref))
}

/// Deletes the filters at `pref` on `iface`'s ingress, if there are any.
fn delete(nl: &mut Connection, ifindex: u32, iface: &str, pref: u16) -> Result<()> {
    const OP: &str = "remove a tc filter of ubond's";
    let mut msg = TcMessage::with_index(index(ifindex));
    msg.header.parent = ingress();
    msg.header.info = u32::from(pref) << 16;
    match nl.request(RouteNetlinkMessage::DelTrafficFilter(msg), 0, OP, Some(iface)) {
        Ok(_) => Ok(()),
        // None there (ENOENT), or no qdisc at all (EINVAL).
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINVAL)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The transmit filter ubond put on a data-path end, as far as a daemon knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxFilter {
    /// Not known (an earlier daemon's filter could not be taken off).
    Unknown,
    /// None.
    Off,
    /// One, at this preference.
    At(u16),
}

/// Where a data-path end's transmit filter sends the frames the bond transmits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxTo {
    /// Every frame, to these interfaces: a copy to each but the last, the frame itself to the
    /// last.
    Every(Vec<u32>),
    /// The untagged IPv4 frames to a unicast address from a source whose last octet is
    /// `src_last`, by the last octet of their destination: those of an octet of `routes` to
    /// that interface; the rest stay on the end, for the data threads (whose sockets take
    /// them: [`Receive::AllBut`] with [`TxTo::octets`]).
    ///
    /// [`Receive::AllBut`]: crate::Receive::AllBut
    Ipv4 {
        /// The source address's last octet.
        src_last: u8,
        /// (destination address's last octet, interface index), one per octet.
        routes: Vec<(u8, u32)>,
    },
}

impl TxTo {
    /// The frames the filter sends, where it does not send all of them.
    pub fn octets(&self) -> Option<Ipv4Octets> {
        match self {
            TxTo::Every(_) => None,
            TxTo::Ipv4 { src_last, routes } => Some(Ipv4Octets {
                src_last: *src_last,
                dst_last: routes.iter().map(|(v, _)| *v).collect(),
            }),
        }
    }
}

/// Gives data-path end `end` (interface index `ifindex`) a filter that sends the frames the
/// bond transmits where `to` says, in place of the one `was` says; returns the new state. On
/// failure (said with the kernel's reason) the end has what it had.
///
/// [`TxTo::Ipv4`] is a `u32` hash table of 256 buckets keyed by the destination's last
/// octet, one node with the redirect in each bucket that has a route, and a node of the root
/// table that matches the source and the I/G bit and looks the frame up there: one lookup
/// whatever the number of routes.
pub fn transmit(end: &str, ifindex: u32, to: &TxTo, was: TxFilter) -> Result<TxFilter> {
    const OP: &str = "forward the bond's frames to its slaves (tc u32, mirred)";
    let mut nl = Connection::open(OP, Some(end))?;
    add_clsact(&mut nl, ifindex, end)?;
    let pref = match was {
        TxFilter::At(p) if p == TX_PREFS[0] => TX_PREFS[1],
        TxFilter::At(_) | TxFilter::Off => TX_PREFS[0],
        TxFilter::Unknown => {
            TX_PREFS.iter().try_for_each(|&p| delete(&mut nl, ifindex, end, p))?;
            TX_PREFS[0]
        }
    };
    let added = match to {
        TxTo::Every(slaves) => {
            let msg = filter(ifindex, pref, ETH_P_ALL, vec![key(0, 0, 0)], &Send::Slaves(slaves));
            nl.request(msg, NLM_F_CREATE | NLM_F_EXCL, OP, Some(end)).map(drop)
        }
        TxTo::Ipv4 { src_last, routes } => ipv4_filter(ifindex, pref, *src_last, routes)
            .into_iter()
            .try_for_each(|m| nl.request(m, NLM_F_CREATE | NLM_F_EXCL, OP, Some(end)).map(drop)),
    };
    if let Err(e) = added {
        // Not half a filter.
        let _ = delete(&mut nl, ifindex, end, pref);
        return Err(e);
    }
    if let TxFilter::At(old) = was {
        delete(&mut nl, ifindex, end, old)?;
    }
    Ok(TxFilter::At(pref))
}

/// Changes the routes of the [`TxTo::Ipv4`] filter at `pref` on data-path end `end`
/// (interface index `ifindex`) from `was` to `to`, node by node: a route added or sent
/// elsewhere is written (its statistics start again), one gone is deleted, the others keep
/// forwarding and counting. On failure (said) the filter may have some of the changes; the
/// caller puts a whole one in its place.
pub fn retarget(
    end: &str,
    ifindex: u32,
    pref: u16,
    was: &[(u8, u32)],
    to: &[(u8, u32)],
) -> Result<()> {
    const OP: &str = "change the bond's tc transmit routes";
    let mut nl = Connection::open(OP, Some(end))?;
    let table = table_of(pref);
    for &(octet, slave) in to.iter().filter(|r| !was.contains(r)) {
        let msg = route_node(ifindex, pref, table, octet, slave);
        nl.request(msg, NLM_F_CREATE | NLM_F_REPLACE, OP, Some(end))?;
    }
    for &(octet, _) in was.iter().filter(|(o, _)| !to.iter().any(|(t, _)| t == o)) {
        let mut msg = TcMessage::with_index(index(ifindex));
        msg.header.parent = ingress();
        msg.header.info = (u32::from(pref) << 16) | u32::from(ETH_P_IP.to_be());
        msg.header.handle = TcHandle::from(table | u32::from(octet) << 12 | 1);
        msg.attributes.push(TcAttribute::Kind("u32".to_string()));
        nl.request(RouteNetlinkMessage::DelTrafficFilter(msg), 0, OP, Some(end))?;
    }
    Ok(())
}

/// The number of the `u32` hash table of a [`TxTo::Ipv4`] filter at `pref` (one of
/// [`TX_PREFS`]). Tables are numbered per qdisc, not per filter, so each preference has its
/// own; below the numbers the kernel gives (0x800 and up).
fn table_of(pref: u16) -> u32 {
    (0x7a0 + u32::from(pref.wrapping_sub(PREF_FIRST) & 0xf)) << 20
}

/// The messages that add a [`TxTo::Ipv4`] filter at `pref`: the hash table, its nodes, then
/// the root's node that leads there (so that no frame is looked up in half a table).
fn ipv4_filter(
    ifindex: u32,
    pref: u16,
    src_last: u8,
    routes: &[(u8, u32)],
) -> Vec<RouteNetlinkMessage> {
    let table = table_of(pref);
    let with = |handle: u32, options: Vec<TcFilterU32Option>| {
        let mut msg = TcMessage::with_index(index(ifindex));
        msg.header.parent = ingress();
        msg.header.info = (u32::from(pref) << 16) | u32::from(ETH_P_IP.to_be());
        msg.header.handle = TcHandle::from(handle);
        msg.attributes.push(TcAttribute::Kind("u32".to_string()));
        msg.attributes.push(TcAttribute::Options(options.into_iter().map(TcOption::U32).collect()));
        RouteNetlinkMessage::NewTrafficFilter(msg)
    };
    let mut msgs = vec![with(table, vec![TcFilterU32Option::Divisor(256)])];
    msgs.extend(routes.iter().map(|&(octet, to)| route_node(ifindex, pref, table, octet, to)));
    // The root's node 1: a unicast destination (its first octet's I/G bit, 14 octets before
    // the network header), the source's last octet (at -9: the word at -10 holds the
    // destination's last two octets and the source's first two, the one at -4 the source's
    // last two and the EtherType); the bucket is the destination's last octet.
    let mut sel = TcU32Selector::default();
    sel.keys = vec![key(-14, 0x0100_0000, 0), key(-4, 0x00ff_0000, u32::from(src_last) << 16)];
    sel.nkeys = 2;
    (sel.hoff, sel.hmask) = (-10, 0x00ff_0000);
    msgs.push(with(1, vec![TcFilterU32Option::Selector(sel), TcFilterU32Option::Link(table)]));
    msgs
}

/// The node of hash table `table` (of the filter at `pref`) that sends every frame of bucket
/// `octet` to interface `to`: node 1 of the bucket.
fn route_node(ifindex: u32, pref: u16, table: u32, octet: u8, to: u32) -> RouteNetlinkMessage {
    let bucket = table | u32::from(octet) << 12;
    let mut msg = filter(ifindex, pref, ETH_P_IP, vec![key(0, 0, 0)], &Send::Slaves(&[to]));
    if let RouteNetlinkMessage::NewTrafficFilter(m) = &mut msg {
        m.header.handle = TcHandle::from(bucket | 1);
        for a in &mut m.attributes {
            if let TcAttribute::Options(o) = a {
                o.push(TcOption::U32(TcFilterU32Option::Hash(bucket)));
            }
        }
    }
    msg
}

/// What a [`TxTo::Ipv4`] filter at `pref` on data-path end `end` (interface index `ifindex`)
/// sent since it was put there: per destination's last octet that has a route, the frames
/// and their octets (whole Ethernet frames, as the bond counts them; the classifier's
/// counters leave out the Ethernet header, 14 octets, which is added back).
pub fn tx_sent(end: &str, ifindex: u32, pref: u16) -> Result<Vec<(u8, u64, u64)>> {
    const OP: &str = "read the bond's tc transmit statistics";
    let table = table_of(pref);
    let mut sent = Vec::new();
    for m in dump(OP, end, ifindex, pref, ETH_P_IP)? {
        let handle = u32::from(m.header.handle);
        if handle & 0xfff0_0000 != table || handle & 0xfff == 0 {
            continue;
        }
        let octet = ((handle >> 12) & 0xff) as u8;
        let (packets, bytes) = stats(&m).unwrap_or_default();
        sent.push((octet, packets, bytes.saturating_add(packets.saturating_mul(14))));
    }
    Ok(sent)
}

/// Takes ubond's transmit filter off data-path end `end` (interface index `ifindex`).
pub fn clear_transmit(end: &str, ifindex: u32) -> Result<()> {
    const OP: &str = "remove the bond's tc transmit filter";
    let mut nl = Connection::open(OP, Some(end))?;
    TX_PREFS.iter().try_for_each(|&p| delete(&mut nl, ifindex, end, p))
}

fn add_clsact(nl: &mut Connection, ifindex: u32, iface: &str) -> Result<()> {
    const OP: &str = "add a clsact qdisc";
    let mut msg = TcMessage::with_index(index(ifindex));
    msg.header.parent = TcHandle::CLSACT;
    msg.header.handle = TcHandle { major: 0xffff, minor: 0 };
    msg.attributes.push(TcAttribute::Kind("clsact".to_string()));
    let flags = NLM_F_CREATE | NLM_F_EXCL;
    match nl.request(RouteNetlinkMessage::NewQueueDiscipline(msg), flags, OP, Some(iface)) {
        Err(e) if e.raw_os_error() != Some(libc::EEXIST) => Err(e),
        _ => Ok(()),
    }
}

fn index(ifindex: u32) -> i32 {
    i32::try_from(ifindex).unwrap_or(i32::MAX)
}

fn ingress() -> TcHandle {
    TcHandle { major: 0xffff, minor: TcHandle::MIN_INGRESS }
}

/// A key: the four octets at `off` from the network header (negative: the Ethernet header),
/// masked, equal to `val` (both as the octets read big-endian).
fn key(off: i32, mask: u32, val: u32) -> TcU32Key {
    let mut k = TcU32Key::default();
    (k.off, k.mask, k.val) = (off, mask, val);
    k
}

/// The messages that add ubond's filters (see the module's table).
fn filters(ifindex: u32, what: RxMatch, to: RxTo) -> Vec<RouteNetlinkMessage> {
    let slow = filter(ifindex, PREF_FIRST, ETH_P_SLOW, vec![key(0, 0, 0)], &Send::On);
    // IPv4: one node for each header length (`ihl` words, octet 0), each reading the port
    // where that length puts it; then protocol UDP (octet 9) and no fragment offset (octets
    // 6-7). The nodes of one preference are tried in turn.
    let udp4 = (5..=15).map(|ihl: u32| {
        let keys = vec![
            key(0, 0x0f00_0000, ihl << 24),
            key(8, 0x00ff_0000, 17 << 16),
            key(4, 0x0000_1fff, 0),
            key(i32::try_from(ihl * 4).unwrap_or(0), 0x0000_ffff, MICRO_BFD_PORT),
        ];
        filter(ifindex, PREF_FIRST + 1, ETH_P_IP, keys, &Send::On)
    });
    // IPv6: next header UDP (octet 6), the port at 40 + 2.
    let udp6 = vec![key(4, 0x0000_ff00, 17 << 8), key(40, 0x0000_ffff, MICRO_BFD_PORT)];
    let udp6 = filter(ifindex, PREF_FIRST + 2, ETH_P_IPV6, udp6, &Send::On);
    // TCP left on the slave, after those: protocol TCP and no fragment (octets 6-7, 9); over
    // IPv6, next header TCP.
    let tcp = match what {
        RxMatch::AllButTcp => vec![
            filter(
                ifindex,
                PREF_FIRST + 1,
                ETH_P_IP,
                vec![key(4, 0x0000_3fff, 0), key(8, 0x00ff_0000, 6 << 16)],
                &Send::On,
            ),
            filter(
                ifindex,
                PREF_FIRST + 2,
                ETH_P_IPV6,
                vec![key(4, 0x0000_ff00, 6 << 8)],
                &Send::On,
            ),
        ],
        _ => Vec::new(),
    };
    let end = match &to {
        RxTo::End(end) | RxTo::AsReceived { end, .. } => end,
    };
    let data = |node: u32, keys, send: &Send<'_>| {
        let mut f = filter(ifindex, PREF_FIRST + 3, ETH_P_ALL, keys, send);
        if let RouteNetlinkMessage::NewTrafficFilter(msg) = &mut f {
            // Node `node` of the filter's root table (whose number the kernel picks: no table
            // number here). The kernel tries the nodes in the order of their numbers.
            msg.header.handle = TcHandle::from(node);
        }
        f
    };
    let to_end = Send::Slaves(std::slice::from_ref(end));
    // Before the nodes below (numbered from 0x40), where the slaves have addresses of their
    // own: the others' frames stay (0x10...), the slave's own go to the bond's device (0x30).
    // (At most `AddressSet::CAPACITY` others: they end before 0x30.)
    let as_received = match to {
        RxTo::End(_) => Vec::new(),
        RxTo::AsReceived { bond, own, others, .. } => {
            let stay = others
                .as_slice()
                .iter()
                .zip(0x10..)
                .map(|(m, node)| data(node, dst_is(*m), &Send::On));
            let own = own.map(|own| data(0x30, dst_is(own), &Send::Ingress(bond)));
            stay.chain(own).collect()
        }
    };
    let rest: Vec<RouteNetlinkMessage> = match what {
        RxMatch::All | RxMatch::AllButTcp => vec![data(0x40, vec![key(0, 0, 0)], &to_end)],
        // The first octet of the destination, 14 octets before the network header.
        RxMatch::Unicast => vec![data(0x40, vec![key(-14, 0x0100_0000, 0)], &to_end)],
        RxMatch::AllStamped { own } => stamped_nodes(own)
            .into_iter()
            .map(|(node, _, keys)| data(node, keys, &to_end))
            .collect(),
    };
    let nodes = as_received.into_iter().chain(rest);
    std::iter::once(slow).chain(udp4).chain([udp6]).chain(tcp).chain(nodes).collect()
}

/// Keys: the destination is `mac`.
fn dst_is(mac: [u8; 6]) -> Vec<TcU32Key> {
    let [a, b, c, d, e, f] = mac;
    vec![
        key(-14, 0xffff_ffff, u32::from_be_bytes([a, b, c, d])),
        key(-10, 0xffff_0000, u32::from_be_bytes([e, f, 0, 0])),
    ]
}

/// What a node of the data filter counts for the ARP monitor ([`RxMatch::AllStamped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// A frame for this host.
    Any,
    /// An ARP or IPv6 frame for this host.
    ArpIpv6,
}

/// The data filter's nodes for [`RxMatch::AllStamped`], in the order the kernel tries them
/// (their numbers): each redirects what it matches, so each mirred action's statistics (the
/// time of its last frame) belong to one class of frames. The common frame, IPv4 to the
/// slave's address, meets the first.
///
/// Where the kernel's classifier runs, a frame's outer VLAN tag is out of its bytes already
/// (the NIC's or `skb_vlan_untag`'s doing), so the EtherType before the network header is the
/// inner one, which the data threads read after a tag.
fn stamped_nodes(own: [u8; 6]) -> [(u32, Option<Stamp>, Vec<TcU32Key>); 8] {
    let own = || dst_is(own);
    let group = || vec![key(-14, 0x0100_0000, 0x0100_0000)];
    let with = |mut keys: Vec<TcU32Key>, ethertype: u16| {
        keys.push(key(-4, 0x0000_ffff, u32::from(ethertype)));
        keys
    };
    const ETH_P_ARP: u16 = 0x0806;
    // After the nodes of `RxTo::AsReceived` (0x10...).
    [
        (0x41, Some(Stamp::Any), with(own(), ETH_P_IP)),
        (0x42, Some(Stamp::ArpIpv6), with(own(), ETH_P_ARP)),
        (0x43, Some(Stamp::ArpIpv6), with(own(), ETH_P_IPV6)),
        (0x44, Some(Stamp::Any), own()),
        (0x45, Some(Stamp::ArpIpv6), with(group(), ETH_P_ARP)),
        (0x46, Some(Stamp::ArpIpv6), with(group(), ETH_P_IPV6)),
        (0x47, Some(Stamp::Any), group()),
        // Not for this host (a promiscuous slave's).
        (0x48, None, vec![key(0, 0, 0)]),
    ]
}

/// When slave `slave` (interface index `ifindex`) last handed a frame for this host to the
/// bond by ubond's filters ([`RxMatch::AllStamped`]): the statistics of their mirred actions.
pub fn rx_seen(slave: &str, ifindex: u32) -> Result<RxSeen> {
    const OP: &str = "read the slave's tc redirect statistics";
    let answer = dump(OP, slave, ifindex, PREF_FIRST + 3, ETH_P_ALL)?;
    let classes = stamped_nodes([0; 6]).map(|(node, class, _)| (node, class));
    let tick = rustix::param::clock_ticks_per_second().max(1);
    let mut seen = RxSeen::default();
    for m in answer {
        let node = u32::from(m.header.handle) & 0xfff;
        let Some(&(_, Some(class))) = classes.iter().find(|(n, _)| *n == node) else { continue };
        let Some(ticks) = last_use(&m) else { continue };
        let age = Duration::from_millis(ticks.saturating_mul(1000) / tick);
        let younger = |was: Option<Duration>| Some(was.map_or(age, |was| was.min(age)));
        seen.any = younger(seen.any);
        if class == Stamp::ArpIpv6 {
            seen.arp_ipv6 = younger(seen.arp_ipv6);
        }
    }
    Ok(seen)
}

/// How many clock ticks ago the mirred action of filter `m` last took a frame; `None` if it
/// never took one.
fn last_use(m: &TcMessage) -> Option<u64> {
    actions(m)?.iter().find_map(|a| {
        let used = basic(a).is_some_and(|(packets, bytes)| packets > 0 || bytes > 0);
        let tm = a.attributes.iter().find_map(|at| match at {
            TcActionAttribute::Options(o) => o.iter().find_map(|o| match o {
                TcActionOption::Mirror(TcActionMirrorOption::Tm(t)) => Some(t.lastuse),
                _ => None,
            }),
            _ => None,
        });
        tm.filter(|_| used)
    })
}

/// The actions of filter `m`.
fn actions(m: &TcMessage) -> Option<&Vec<TcAction>> {
    m.attributes.iter().find_map(|a| match a {
        TcAttribute::Options(o) => o.iter().find_map(|o| match o {
            TcOption::U32(TcFilterU32Option::Action(a)) => Some(a),
            _ => None,
        }),
        _ => None,
    })
}

/// The packets and octets action `a` took.
fn basic(a: &TcAction) -> Option<(u64, u64)> {
    a.attributes.iter().find_map(|at| match at {
        TcActionAttribute::Stats(s) => s.iter().find_map(|s| match s {
            TcStats2::Basic(b) => Some((b.packets as u64, b.bytes)),
            _ => None,
        }),
        _ => None,
    })
}

/// The filters (nodes) at `pref` for `protocol` on `iface`'s ingress, with their actions'
/// statistics.
fn dump(
    op: &'static str,
    iface: &str,
    ifindex: u32,
    pref: u16,
    protocol: u16,
) -> Result<Vec<TcMessage>> {
    let mut msg = TcMessage::with_index(index(ifindex));
    msg.header.parent = ingress();
    msg.header.info = (u32::from(pref) << 16) | u32::from(protocol.to_be());
    let answer = Connection::open(op, Some(iface))?.request(
        RouteNetlinkMessage::GetTrafficFilter(msg),
        NLM_F_DUMP,
        op,
        Some(iface),
    )?;
    Ok(answer
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewTrafficFilter(m) => Some(m),
            _ => None,
        })
        .collect())
}

/// The packets and octets the first action of filter `m` took.
fn stats(m: &TcMessage) -> Option<(u64, u64)> {
    basic(actions(m)?.first()?)
}

/// What a filter does with the frames it matches.
enum Send<'a> {
    /// Nothing: they go on as if no filter were there.
    On,
    /// A copy to the egress of each of these interfaces but the last, the frame to the last's.
    Slaves(&'a [u32]),
    /// The frame to the ingress of this interface.
    Ingress(u32),
}

/// A `u32` filter at `pref` for frames of `protocol` whose keys all match, doing `send`.
fn filter(
    ifindex: u32,
    pref: u16,
    protocol: u16,
    keys: Vec<TcU32Key>,
    send: &Send<'_>,
) -> RouteNetlinkMessage {
    let mut msg = TcMessage::with_index(index(ifindex));
    msg.header.parent = ingress();
    msg.header.info = (u32::from(pref) << 16) | u32::from(protocol.to_be());
    msg.attributes.push(TcAttribute::Kind("u32".to_string()));
    let mut sel = TcU32Selector::default();
    sel.flags = TcU32SelectorFlags::Terminal;
    sel.nkeys = u8::try_from(keys.len()).unwrap_or(u8::MAX);
    sel.keys = keys;
    let mut options = vec![TcOption::U32(TcFilterU32Option::Selector(sel))];
    // (interface, kind) of each mirred action, in order.
    let to: Vec<(u32, TcMirrorActionType)> = match send {
        Send::On => Vec::new(),
        Send::Slaves(to) => {
            let last = to.len().saturating_sub(1);
            let kind = |i| {
                if i == last {
                    TcMirrorActionType::EgressRedir
                } else {
                    TcMirrorActionType::EgressMirror
                }
            };
            to.iter().enumerate().map(|(i, &to)| (to, kind(i))).collect()
        }
        Send::Ingress(to) => vec![(*to, TcMirrorActionType::IngressRedir)],
    };
    if !to.is_empty() {
        let actions = to.into_iter().enumerate().map(|(i, (to, eaction))| {
            let mut mirred = TcMirror::default();
            mirred.generic = TcActionGeneric::default();
            mirred.generic.action = match eaction {
                TcMirrorActionType::EgressMirror => TcActionType::Pipe,
                _ => TcActionType::Stolen,
            };
            (mirred.eaction, mirred.ifindex) = (eaction, to);
            let mut action = TcAction::default();
            // The actions' order, from 1.
            action.tab = u16::try_from(i + 1).unwrap_or(u16::MAX);
            action.attributes = vec![
                TcActionAttribute::Kind("mirred".to_string()),
                TcActionAttribute::Options(vec![TcActionOption::Mirror(
                    TcActionMirrorOption::Parms(mirred),
                )]),
            ];
            action
        });
        options.push(TcOption::U32(TcFilterU32Option::Action(actions.collect())));
    }
    msg.attributes.push(TcAttribute::Options(options));
    RouteNetlinkMessage::NewTrafficFilter(msg)
}
