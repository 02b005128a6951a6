//! Interface facts and control: index, MAC address, MTU, up/down, carrier and operstate through
//! rtnetlink; a link-event listener ([`LinkMonitor`], `RTMGRP_LINK`); speed and duplex through
//! the ethtool ioctl ([`speed_duplex`]).
//!
//! Every call works in the network namespace of the calling thread. Requests open their own
//! rtnetlink socket, which is cheap next to how rarely the daemon changes an interface.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use netlink_packet_core::NLM_F_DUMP;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use netlink_packet_route::RouteNetlinkMessage;
use ubond_wire::MacAddr;

use crate::error::{Result, SysError};
use crate::rtnl::{self, Listener};

/// An interface's operational state (RFC 2863, `IFLA_OPERSTATE`), as `ip link` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperState {
    /// `UNKNOWN`: the driver does not say (loopback, many virtual devices when up).
    Unknown,
    /// `NOTPRESENT`.
    NotPresent,
    /// `DOWN`.
    Down,
    /// `LOWERLAYERDOWN`: a device it depends on is down.
    LowerLayerDown,
    /// `TESTING`.
    Testing,
    /// `DORMANT`.
    Dormant,
    /// `UP`: ready to pass packets.
    Up,
    /// A value this crate does not know.
    Other(u8),
}

impl From<&State> for OperState {
    fn from(s: &State) -> OperState {
        match s {
            State::Unknown => OperState::Unknown,
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            State::Other(v) => OperState::Other(*v),
            _ => OperState::Unknown,
        }
    }
}

/// What rtnetlink says about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, if the interface has a 6-byte one.
    pub mac: Option<MacAddr>,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Carrier (`IFLA_CARRIER`, or `IFF_LOWER_UP` when the attribute is absent).
    pub carrier: bool,
    /// Operational state.
    pub oper_state: OperState,
    /// MTU, if reported.
    pub mtu: Option<u32>,
    /// How many holders keep the interface promiscuous (`IFLA_PROMISCUITY`; 0 if absent).
    pub promiscuity: u32,
    /// The interface's alias (`IFLA_IFALIAS`, `ip link set NAME alias TEXT`), if set.
    pub alias: Option<String>,
    /// The NIC's own hardware address (`IFLA_PERM_ADDRESS`), which a bond's change of
    /// [`LinkState::mac`] leaves alone; `None` for virtual devices and older kernels.
    pub perm_mac: Option<MacAddr>,
    /// The interface index of its master (`IFLA_MASTER`: a bridge, a VRF), if it has one.
    pub master: Option<u32>,
}

impl LinkState {
    /// Whether a bond counts this link as up: administratively up and with carrier, as the
    /// bonding driver's MII monitor tests (`netif_running() && netif_carrier_ok()`). A TAP
    /// device set down keeps its carrier while its owner holds it open, so carrier alone is
    /// not enough.
    #[must_use]
    pub fn link_up(&self) -> bool {
        self.admin_up && self.carrier
    }

    fn from_message(msg: &LinkMessage) -> LinkState {
        let flags = msg.header.flags;
        let mut state = LinkState {
            ifindex: msg.header.index,
            name: String::new(),
            mac: None,
            admin_up: flags.contains(LinkFlags::Up),
            carrier: flags.contains(LinkFlags::LowerUp),
            oper_state: OperState::Unknown,
            mtu: None,
            promiscuity: 0,
            alias: None,
            perm_mac: None,
            master: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => state.name = n.clone(),
                LinkAttribute::Address(a) if a.len() == 6 => state.mac = MacAddr::from_slice(a),
                LinkAttribute::Carrier(c) => state.carrier = *c != 0,
                LinkAttribute::OperState(s) => state.oper_state = s.into(),
                LinkAttribute::Mtu(m) => state.mtu = Some(*m),
                LinkAttribute::Promiscuity(p) => state.promiscuity = *p,
                LinkAttribute::Controller(m) if *m != 0 => state.master = Some(*m),
                LinkAttribute::IfAlias(a) if !a.is_empty() => state.alias = Some(a.clone()),
                LinkAttribute::PermAddress(a) if a.len() == 6 && a.iter().any(|b| *b != 0) => {
                    state.perm_mac = MacAddr::from_slice(a)
                }
                _ => {}
            }
        }
        state
    }
}

/// A `struct ifreq` with `ifr_name` set to `name` (checked: shorter than `IFNAMSIZ`, no NUL).
pub(crate) fn ifreq_for(name: &str, op: &'static str) -> Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0 || b == b'/')
    {
        return Err(SysError::new(
            op,
            Some(name),
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid interface name (1 to {} bytes)", libc::IFNAMSIZ - 1),
            ),
        ));
    }
    // SAFETY: `ifreq` is plain old data (a name array and a union of plain members); all
    // zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

/// Checks that `name` is a name the kernel accepts for an interface (1 to 15 bytes, no NUL
/// or '/'), before any request is made with it.
pub(crate) fn check_name(name: &str) -> Result<()> {
    ifreq_for(name, "check interface name").map(drop)
}

/// The index of interface `name` (`if_nametoindex`).
pub fn ifindex(name: &str) -> Result<u32> {
    const OP: &str = "find interface";
    let c = CString::new(name)
        .map_err(|_| SysError::new(OP, Some(name), io::Error::from(io::ErrorKind::InvalidInput)))?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(SysError::last_os(OP, Some(name)));
    }
    Ok(index)
}

/// The name of the interface with index `ifindex` (`if_indextoname`).
pub fn ifname(ifindex: u32) -> Result<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname requires, and outlives the call.
    let p = unsafe { libc::if_indextoname(ifindex, buf.as_mut_ptr()) };
    if p.is_null() {
        let iface = format!("interface index {ifindex}");
        return Err(SysError::last_os("find interface", Some(&iface)));
    }
    Ok(buf.iter().take_while(|&&c| c != 0).map(|&c| c as u8 as char).collect())
}

/// [`rtnl::request`] keeping the link messages of the answer.
fn request(
    msg: RouteNetlinkMessage,
    extra_flags: u16,
    op: &'static str,
    iface: Option<&str>,
) -> Result<Vec<LinkMessage>> {
    let answer = rtnl::request(msg, extra_flags, op, iface)?;
    Ok(answer
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })
        .collect())
}

/// Everything rtnetlink says about interface `name` (`RTM_GETLINK`).
pub fn link_state(name: &str) -> Result<LinkState> {
    const OP: &str = "read interface state";
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex(name)?;
    let links = request(RouteNetlinkMessage::GetLink(msg), 0, OP, Some(name))?;
    links.first().map(LinkState::from_message).ok_or_else(|| {
        SysError::new(OP, Some(name), io::Error::new(io::ErrorKind::NotFound, "no answer"))
    })
}

/// Every interface in the thread's network namespace (`RTM_GETLINK` dump): the way to
/// resynchronise after a [`LinkMonitor`] lost events.
pub fn links() -> Result<Vec<LinkState>> {
    let links = request(
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        NLM_F_DUMP,
        "list interfaces",
        None,
    )?;
    Ok(links.iter().map(LinkState::from_message).collect())
}

/// The kernel's whole description of the interfaces, as `ip link show` reads it: every
/// interface in the namespace (`RTM_GETLINK` dump), or only the one with index `index`; without
/// statistics, with virtual-function information.
pub fn link_messages(index: Option<u32>) -> Result<Vec<LinkMessage>> {
    use netlink_packet_route::link::LinkExtentMask;
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::Vf, LinkExtentMask::SkipStats]));
    match index {
        Some(index) => {
            msg.header.index = index;
            let iface = format!("interface index {index}");
            request(RouteNetlinkMessage::GetLink(msg), 0, "read interface", Some(&iface))
        }
        None => request(RouteNetlinkMessage::GetLink(msg), NLM_F_DUMP, "list interfaces", None),
    }
}

/// Reads interfaces' link state as the bonding driver's MII monitor does on each `miimon`
/// tick (`netif_running() && netif_carrier_ok()`), from the device as it is now.
///
/// Link notifications ([`LinkMonitor`]) are not enough for that: the kernel sends them from
/// its link-watch work, which runs an event it does not deem urgent (a carrier loss on most
/// physical NICs; on a veth whose peer has the same index) at most once a second, so a carrier
/// loss can be announced a second late. An `RTM_GETLINK` answer reads the device's flags and
/// carrier directly. One socket is kept open: a read is a send and a receive.
#[derive(Debug)]
pub struct CarrierReader {
    connection: rtnl::Connection,
}

impl CarrierReader {
    /// Opens the reader's rtnetlink socket.
    pub fn new() -> Result<CarrierReader> {
        Ok(CarrierReader { connection: rtnl::Connection::open("read carrier", None)? })
    }

    /// The link state of the interface with index `ifindex` now.
    pub fn read(&mut self, ifindex: u32) -> Result<LinkState> {
        use netlink_packet_route::link::LinkExtentMask;
        const OP: &str = "read carrier";
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        msg.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let iface = format!("interface index {ifindex}");
        let answer =
            self.connection.request(RouteNetlinkMessage::GetLink(msg), 0, OP, Some(&iface))?;
        answer
            .iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(LinkState::from_message(l)),
                _ => None,
            })
            .ok_or_else(|| {
                SysError::new(
                    OP,
                    Some(&iface),
                    io::Error::new(io::ErrorKind::NotFound, "no answer"),
                )
            })
    }
}

/// What [`change_link`] asks of the kernel, as `ip link add|set|del` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChange {
    /// Create the interface the message describes (`ip link add`); it must not exist.
    Create,
    /// Change the interface the message names (`ip link set`).
    Set,
    /// Delete the interface the message names (`ip link del`).
    Delete,
}

/// Sends one link request (`RTM_NEWLINK`, or `RTM_DELLINK` for [`LinkChange::Delete`]) with
/// `msg`'s header and attributes. A refusal keeps the kernel's explanation
/// ([`SysError::kernel_message`]).
pub fn change_link(change: LinkChange, msg: LinkMessage, iface: &str) -> Result<()> {
    use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
    let (msg, flags, op) = match change {
        LinkChange::Create => {
            (RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL, "create interface")
        }
        LinkChange::Set => (RouteNetlinkMessage::NewLink(msg), 0, "change interface"),
        LinkChange::Delete => (RouteNetlinkMessage::DelLink(msg), 0, "delete interface"),
    };
    rtnl::request(msg, flags, op, Some(iface)).map(drop)
}

/// The index of the other end of veth `name`, when that end is in the caller's network
/// namespace (`IFLA_LINK` of a `veth`, without `IFLA_LINK_NETNSID`); `None` for other kinds of
/// interface and for a peer in another namespace.
pub fn veth_peer(name: &str) -> Result<Option<u32>> {
    use netlink_packet_route::link::{InfoKind, LinkInfo};
    const OP: &str = "read interface state";
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex(name)?;
    let links = request(RouteNetlinkMessage::GetLink(msg), 0, OP, Some(name))?;
    let Some(l) = links.first() else { return Ok(None) };
    let mut veth = false;
    let mut link = None;
    let mut other_ns = false;
    for attr in &l.attributes {
        match attr {
            LinkAttribute::LinkInfo(infos) => {
                veth = infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::Veth)));
            }
            LinkAttribute::Link(i) => link = Some(*i),
            LinkAttribute::LinkNetNsId(_) => other_ns = true,
            _ => {}
        }
    }
    Ok(link.filter(|i| veth && !other_ns && *i != 0 && *i != l.header.index))
}

/// Creates a veth pair (`ip link add NAME type veth peer name PEER [netns NS]`): `name` in
/// the caller's namespace, `peer` in the namespace whose file `peer_ns` is (an open
/// `/run/netns/NS`, see [`crate::netns::NetNs::file`]), or here too.
pub fn add_veth(name: &str, peer: &str, peer_ns: Option<BorrowedFd<'_>>) -> Result<()> {
    use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
    use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkInfo};
    let mut other = LinkMessage::default();
    other.attributes.push(LinkAttribute::IfName(peer.to_string()));
    if let Some(fd) = peer_ns {
        other.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
    }
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(other))),
    ]));
    let flags = NLM_F_CREATE | NLM_F_EXCL;
    request(RouteNetlinkMessage::NewLink(msg), flags, "create veth pair", Some(name)).map(drop)
}

/// Sets interface `name`'s MAC address (`RTM_SETLINK`, `IFLA_ADDRESS`).
pub fn set_mac(name: &str, mac: MacAddr) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex(name)?;
    msg.attributes.push(LinkAttribute::Address(mac.octets().to_vec()));
    request(RouteNetlinkMessage::SetLink(msg), 0, "set MAC address", Some(name)).map(drop)
}

/// Sets interface `name`'s MTU (`RTM_SETLINK`, `IFLA_MTU`).
pub fn set_mtu(name: &str, mtu: u32) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex(name)?;
    msg.attributes.push(LinkAttribute::Mtu(mtu));
    request(RouteNetlinkMessage::SetLink(msg), 0, "set MTU", Some(name)).map(drop)
}

/// Brings interface `name` administratively up or down (`ip link set NAME up|down`).
pub fn set_up(name: &str, up: bool) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex(name)?;
    msg.header.flags = if up { LinkFlags::Up } else { LinkFlags::empty() };
    msg.header.change_mask = LinkFlags::Up;
    let op = if up { "bring interface up" } else { "bring interface down" };
    request(RouteNetlinkMessage::SetLink(msg), 0, op, Some(name)).map(drop)
}

/// Sets interface `name`'s MAC address as a bond does to its slaves: nothing if it has that
/// address already; else while up, or, if the driver refuses a change while up, taken down for
/// the change and brought up again. The error is the change's.
pub fn change_mac(name: &str, mac: MacAddr) -> Result<()> {
    if self::mac(name).ok() == Some(mac) {
        return Ok(());
    }
    if set_mac(name, mac).is_ok() {
        return Ok(());
    }
    let up = link_state(name).map(|s| s.admin_up).unwrap_or(false);
    set_up(name, false)?;
    let changed = set_mac(name, mac);
    if up {
        set_up(name, true)?;
    }
    changed
}

/// The MAC address of interface `name`.
pub fn mac(name: &str) -> Result<MacAddr> {
    link_state(name)?.mac.ok_or_else(|| {
        SysError::new(
            "read MAC address",
            Some(name),
            io::Error::new(io::ErrorKind::Unsupported, "the interface has no Ethernet address"),
        )
    })
}

/// One change seen by a [`LinkMonitor`]: the interface's state right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    /// The interface's state (for a removal: its last state).
    pub state: LinkState,
    /// The interface was deleted (`RTM_DELLINK`).
    pub removed: bool,
}

/// Listens to rtnetlink link notifications (`RTMGRP_LINK`): every interface change in the
/// thread's network namespace, as it happens.
///
/// Nonblocking; put it in a `poll`/`epoll` set ([`AsFd`]) or use [`LinkMonitor::wait`], then
/// drain it with [`LinkMonitor::read_events`]. Notifications are not filtered: the kernel sends
/// one for many reasons (flags, statistics, addresses), so compare with the last state you
/// saw. If the socket's buffer overflows, `read_events` fails with `ENOBUFS`: events were lost,
/// and the caller must re-read the state of the interfaces it cares about.
#[derive(Debug)]
pub struct LinkMonitor {
    listener: Listener,
}

impl LinkMonitor {
    /// Opens the listener.
    pub fn new() -> Result<LinkMonitor> {
        let listener = Listener::new(libc::RTMGRP_LINK as u32, "listen to link events")?;
        Ok(LinkMonitor { listener })
    }

    /// Waits until an event may be read, at most `timeout`. True if one is ready.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.listener.socket().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: `pfd` is one valid pollfd that outlives the call; the count is 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(SysError::new("wait for link events", None, e));
        }
        Ok(rc > 0)
    }

    /// Appends every event waiting to `out` without blocking; returns how many were added.
    pub fn read_events(&mut self, out: &mut Vec<LinkEvent>) -> Result<usize> {
        let before = out.len();
        self.listener
            .drain(|m| match m {
                RouteNetlinkMessage::NewLink(l) => {
                    out.push(LinkEvent { state: LinkState::from_message(&l), removed: false })
                }
                RouteNetlinkMessage::DelLink(l) => {
                    out.push(LinkEvent { state: LinkState::from_message(&l), removed: true })
                }
                _ => {}
            })
            .map_err(|e| SysError::new("read link events", None, e))?;
        Ok(out.len() - before)
    }
}

impl AsRawFd for LinkMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.listener.socket().as_raw_fd()
    }
}

impl AsFd for LinkMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.socket().as_fd()
    }
}

/// Duplex of a link, as ethtool reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duplex {
    /// Half duplex.
    Half,
    /// Full duplex.
    Full,
    /// The driver does not say (or the link is down).
    Unknown,
}

impl Duplex {
    fn from_ethtool(v: u8) -> Duplex {
        match v {
            0 => Duplex::Half,
            1 => Duplex::Full,
            _ => Duplex::Unknown,
        }
    }
}

const ETHTOOL_GSET: u32 = 0x0000_0001;
const ETHTOOL_GLINKSETTINGS: u32 = 0x0000_004c;
/// Most 32-bit words in each link mode mask (`link_mode_masks_nwords` is an `s8`).
const LINK_MODE_MASK_MAX_NWORDS: usize = 127;

/// `struct ethtool_link_settings` with room for the largest link mode masks.
#[repr(C)]
struct EthtoolLinkSettings {
    cmd: u32,
    speed: u32,
    duplex: u8,
    port: u8,
    phy_address: u8,
    autoneg: u8,
    mdio_support: u8,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    link_mode_masks_nwords: i8,
    transceiver: u8,
    master_slave_cfg: u8,
    master_slave_state: u8,
    rate_matching: u8,
    reserved: [u32; 7],
    link_mode_masks: [u32; 3 * LINK_MODE_MASK_MAX_NWORDS],
}

/// `struct ethtool_cmd` (the legacy `ETHTOOL_GSET`).
#[repr(C)]
struct EthtoolCmd {
    cmd: u32,
    supported: u32,
    advertising: u32,
    speed: u16,
    duplex: u8,
    port: u8,
    phy_address: u8,
    transceiver: u8,
    autoneg: u8,
    mdio_support: u8,
    maxtxpkt: u32,
    maxrxpkt: u32,
    speed_hi: u16,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    lp_advertising: u32,
    reserved: [u32; 2],
}

/// One `SIOCETHTOOL` call on `fd` for `name` with `data` as the command buffer.
///
/// # Safety
///
/// `data` must point to a writable ethtool command structure whose `cmd` field is set and
/// which is large enough for that command's answer.
unsafe fn ethtool(fd: &OwnedFd, name: &str, data: *mut libc::c_void) -> io::Result<()> {
    let mut req = ifreq_for(name, "read speed and duplex")
        .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
    req.ifr_ifru.ifru_data = data.cast();
    // SAFETY: `req` is a valid ifreq naming the interface; its data pointer meets the
    // caller's guarantee; both outlive the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCETHTOOL, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Speed (Mbit/s, `None` when unknown) and duplex of interface `name`, through the ethtool
/// ioctl: `ETHTOOL_GLINKSETTINGS`, falling back to `ETHTOOL_GSET` for old drivers.
///
/// veth reports 10000/full; tun/tap 10/full (10000/full on recent kernels, as on 6.18);
/// virtio-net without speed properties
/// `(None, Duplex::Unknown)`.
pub fn speed_duplex(name: &str) -> Result<(Option<u32>, Duplex)> {
    const OP: &str = "read speed and duplex";
    let fail = |e| SysError::new(OP, Some(name), e);
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(SysError::last_os(OP, Some(name)));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };

    // SAFETY: all-zero is a valid value of this plain struct.
    let mut ls: EthtoolLinkSettings = unsafe { std::mem::zeroed() };
    ls.cmd = ETHTOOL_GLINKSETTINGS;
    // Handshake: nwords 0 asks the kernel for its mask size, returned negated.
    // SAFETY: `ls` is a writable ethtool_link_settings with `cmd` set and masks room for the
    // largest size the kernel can ask for.
    match unsafe { ethtool(&fd, name, (&mut ls as *mut EthtoolLinkSettings).cast()) } {
        Ok(()) if ls.link_mode_masks_nwords < 0 => {
            let nwords = -ls.link_mode_masks_nwords;
            // SAFETY: as above.
            ls = unsafe { std::mem::zeroed() };
            ls.cmd = ETHTOOL_GLINKSETTINGS;
            ls.link_mode_masks_nwords = nwords;
            // SAFETY: as above; `nwords` ≤ 127 fits the masks array.
            unsafe { ethtool(&fd, name, (&mut ls as *mut EthtoolLinkSettings).cast()) }
                .map_err(fail)?;
            return Ok((known_speed(ls.speed), Duplex::from_ethtool(ls.duplex)));
        }
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
        Err(e) => return Err(fail(e)),
    }

    // SAFETY: all-zero is a valid value of this plain struct.
    let mut cmd: EthtoolCmd = unsafe { std::mem::zeroed() };
    cmd.cmd = ETHTOOL_GSET;
    // SAFETY: `cmd` is a writable ethtool_cmd with `cmd` set.
    unsafe { ethtool(&fd, name, (&mut cmd as *mut EthtoolCmd).cast()) }.map_err(fail)?;
    let speed = (u32::from(cmd.speed_hi) << 16) | u32::from(cmd.speed);
    // The legacy structure spells SPEED_UNKNOWN in 16 bits when speed_hi is unused.
    let speed = if speed == 0xffff { None } else { known_speed(speed) };
    Ok((speed, Duplex::from_ethtool(cmd.duplex)))
}

/// An ethtool speed, `None` for 0 and `SPEED_UNKNOWN` (-1).
fn known_speed(speed: u32) -> Option<u32> {
    match speed {
        0 | u32::MAX => None,
        s => Some(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethtool_struct_sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<EthtoolCmd>(), 44);
        assert_eq!(
            std::mem::size_of::<EthtoolLinkSettings>(),
            48 + 4 * 3 * LINK_MODE_MASK_MAX_NWORDS
        );
    }

    #[test]
    fn unknown_speed_and_duplex_as_virtio_reports_them() {
        // virtio-net without speed properties: SPEED_UNKNOWN, DUPLEX_UNKNOWN (0xff).
        assert_eq!(known_speed(u32::MAX), None);
        assert_eq!(known_speed(0), None);
        assert_eq!(known_speed(10000), Some(10000));
        assert_eq!(Duplex::from_ethtool(0xff), Duplex::Unknown);
        assert_eq!(Duplex::from_ethtool(0), Duplex::Half);
        assert_eq!(Duplex::from_ethtool(1), Duplex::Full);
    }

    #[test]
    fn bad_names_are_refused_before_the_kernel() {
        assert!(ifreq_for("", "x").is_err());
        assert!(ifreq_for("a-name-far-too-long", "x").is_err());
        assert!(ifreq_for("eth0", "x").is_ok());
    }

    #[test]
    fn loopback_is_index_one_and_named_lo() {
        // Every network namespace has lo, and it is the first interface.
        assert_eq!(ifindex("lo").ok(), Some(1));
        assert_eq!(ifname(1).ok().as_deref(), Some("lo"));
        let e = ifindex("ubs-no-such0").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("ubs-no-such0"), "{e}");
    }
}
