//! A slave's received data frames handed to the bond in the kernel without eBPF: tc's `u32`
//! classifier and `mirred` action on the slave's `clsact` ingress (`tc filter add dev SLAVE
//! ingress ... action mirred egress redirect dev END`), for the userspace data path. They need
//! only netlink and CAP_NET_ADMIN, so they work where the bpf() system call is refused (a
//! container's default seccomp profile, a kernel without `CONFIG_BPF_SYSCALL`). A frame
//! redirected to the egress of the bond's data-path end arrives at the bond's device as
//! received, as a frame a data thread writes there does, without crossing userspace.
//!
//! ubond's filters on a slave, in the order the kernel tries them, each ending the
//! classification when it matches:
//!
//! | pref | protocol | match | action |
//! |------|----------|-------|--------|
//! | [`PREF_FIRST`] | Slow Protocols | any | none: the frame stays on the slave |
//! | +1 | IPv4 | UDP, no fragment offset, port 6784 (one node per header length) | none |
//! | +2 | IPv6 | UDP right after the fixed header, port 6784 | none |
//! | +3 | any | the destination's I/G bit clear ([`RxMatch::Unicast`]), or any | redirect |
//!
//! The first four leave the control frames, LACPDUs and micro-BFD, to the daemon, whose
//! packet socket on the slave reads them (packet sockets see a frame before tc's ingress);
//! this is `ubond_core::bond::is_data_frame`. A matching filter with no action lets the
//! frame go on up the slave, where nothing takes it. A tagged frame is data, as for the other
//! data paths, while its tag is in its bytes (veth, software); one whose tag the NIC took
//! off (receive VLAN offload) is matched as its inner protocol, so a tagged LACPDU then stays
//! with the slave: the Linux driver, which reads such a frame's inner protocol too, consumes
//! it as a LACPDU.
//!
//! The filters belong to the interface, not to the daemon: they keep delivering while no
//! daemon runs (the bond outlives its daemon), and a daemon takes a slave's away with
//! [`clear`] (when it adopts the slave, and when it releases it). The `clsact` qdisc they hang
//! from is added when missing and left in place (empty, it does nothing; tc's own or the
//! fast path's may share it).

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMirrorOption, TcActionOption,
    TcActionType, TcAttribute, TcFilterU32Option, TcHandle, TcMessage, TcMirror,
    TcMirrorActionType, TcOption, TcU32Key, TcU32Selector, TcU32SelectorFlags,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::error::Result;
use crate::rtnl::Connection;

/// The preference of the first of ubond's filters on a slave's ingress; the others follow it.
/// Right behind the fast path's own (`bpf::TC_PRIORITY`), in front of most others.
pub const PREF_FIRST: u16 = 2;
/// How many preferences ubond's filters on a slave take.
const FILTERS: u16 = 4;

/// Which data frames a slave hands to the bond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxMatch {
    /// Every one.
    All,
    /// Those whose destination's I/G bit is clear (unicast).
    Unicast,
}

const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_SLOW: u16 = 0x8809;
/// The micro-BFD port (RFC 7130).
const MICRO_BFD_PORT: u32 = 6784;

/// Gives slave `slave` (interface index `ifindex`) ubond's filters, redirecting the data
/// frames `what` selects to interface `end` (the bond's data-path end), in place of any it
/// had. Fails (said with the kernel's reason) where the kernel lacks the `u32` classifier or
/// the `mirred` action; the slave then has none of ubond's filters.
pub fn redirect(slave: &str, ifindex: u32, what: RxMatch, end: u32) -> Result<()> {
    const OP: &str = "redirect a slave's frames to the bond (tc u32, mirred)";
    let mut nl = Connection::open(OP, Some(slave))?;
    add_clsact(&mut nl, ifindex, slave)?;
    clear_on(&mut nl, ifindex, slave)?;
    let added = filters(ifindex, what, end)
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
    const OP: &str = "remove the slave's tc redirect";
    for pref in PREF_FIRST..PREF_FIRST + FILTERS {
        let mut msg = TcMessage::with_index(index(ifindex));
        msg.header.parent = ingress();
        msg.header.info = u32::from(pref) << 16;
        match nl.request(RouteNetlinkMessage::DelTrafficFilter(msg), 0, OP, Some(slave)) {
            Ok(_) => {}
            // None there (ENOENT), or no qdisc at all (EINVAL).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINVAL)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn add_clsact(nl: &mut Connection, ifindex: u32, slave: &str) -> Result<()> {
    const OP: &str = "add a clsact qdisc";
    let mut msg = TcMessage::with_index(index(ifindex));
    msg.header.parent = TcHandle::CLSACT;
    msg.header.handle = TcHandle { major: 0xffff, minor: 0 };
    msg.attributes.push(TcAttribute::Kind("clsact".to_string()));
    let flags = NLM_F_CREATE | NLM_F_EXCL;
    match nl.request(RouteNetlinkMessage::NewQueueDiscipline(msg), flags, OP, Some(slave)) {
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
fn filters(ifindex: u32, what: RxMatch, end: u32) -> Vec<RouteNetlinkMessage> {
    let slow = filter(ifindex, PREF_FIRST, ETH_P_SLOW, vec![key(0, 0, 0)], None);
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
        filter(ifindex, PREF_FIRST + 1, ETH_P_IP, keys, None)
    });
    // IPv6: next header UDP (octet 6), the port at 40 + 2.
    let udp6 = vec![key(4, 0x0000_ff00, 17 << 8), key(40, 0x0000_ffff, MICRO_BFD_PORT)];
    let udp6 = filter(ifindex, PREF_FIRST + 2, ETH_P_IPV6, udp6, None);
    let dst = match what {
        RxMatch::All => key(0, 0, 0),
        // The first octet of the destination, 14 octets before the network header.
        RxMatch::Unicast => key(-14, 0x0100_0000, 0),
    };
    let data = filter(ifindex, PREF_FIRST + 3, ETH_P_ALL, vec![dst], Some(end));
    std::iter::once(slow).chain(udp4).chain([udp6, data]).collect()
}

/// A `u32` filter at `pref` for frames of `protocol` whose keys all match; with `redirect`,
/// its action sends them to that interface's egress.
fn filter(
    ifindex: u32,
    pref: u16,
    protocol: u16,
    keys: Vec<TcU32Key>,
    redirect: Option<u32>,
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
    if let Some(to) = redirect {
        let mut mirred = TcMirror::default();
        mirred.generic = TcActionGeneric::default();
        mirred.generic.action = TcActionType::Stolen;
        mirred.eaction = TcMirrorActionType::EgressRedir;
        mirred.ifindex = to;
        let mut action = TcAction::default();
        action.attributes = vec![
            TcActionAttribute::Kind("mirred".to_string()),
            TcActionAttribute::Options(vec![TcActionOption::Mirror(TcActionMirrorOption::Parms(
                mirred,
            ))]),
        ];
        options.push(TcOption::U32(TcFilterU32Option::Action(vec![action])));
    }
    msg.attributes.push(TcAttribute::Options(options));
    RouteNetlinkMessage::NewTrafficFilter(msg)
}
