//! IP addresses and default routes through rtnetlink: what `ip addr add A/P dev IF` and
//! `ip route add default via G dev IF` do, the address list of an interface, and a listener of
//! address changes ([`AddrMonitor`]).
//!
//! Every call works in the network namespace of the calling thread.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::{Result, SysError};
use crate::link::ifindex;
use crate::rtnl::{self, Listener};

/// One rtnetlink request about interface `iface`.
fn request(
    msg: RouteNetlinkMessage,
    extra_flags: u16,
    op: &'static str,
    iface: &str,
) -> Result<Vec<RouteNetlinkMessage>> {
    rtnl::request(msg, extra_flags, op, Some(iface))
}

fn family(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// The addresses of interface `name` with their prefix lengths, IPv4 first, in the kernel's
/// order (IPv6 link-local addresses included).
pub fn addresses(name: &str) -> Result<Vec<(IpAddr, u8)>> {
    let mut out = dump(ifindex(name)?, name)?;
    out.sort_by_key(|(ip, _)| ip.is_ipv6());
    Ok(out)
}

/// An interface's IP addresses without their prefixes, each once, in the kernel's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAddresses {
    /// The IPv4 addresses (`IFA_LOCAL`).
    pub v4: Vec<Ipv4Addr>,
    /// The IPv6 addresses, link-local ones included.
    pub v6: Vec<Ipv6Addr>,
}

/// The IP addresses of the interface with index `ifindex`.
pub fn ip_addresses(ifindex: u32) -> Result<IpAddresses> {
    let mut out = IpAddresses::default();
    for (ip, _) in dump(ifindex, &format!("interface index {ifindex}"))? {
        match ip {
            IpAddr::V4(ip) if !out.v4.contains(&ip) => out.v4.push(ip),
            IpAddr::V6(ip) if !out.v6.contains(&ip) => out.v6.push(ip),
            _ => {}
        }
    }
    Ok(out)
}

/// The addresses of interface `index` (named `iface` in errors) with their prefix lengths, each
/// once, in the kernel's order (`RTM_GETADDR` dump).
fn dump(index: u32, iface: &str) -> Result<Vec<(IpAddr, u8)>> {
    const OP: &str = "list addresses";
    let answer =
        request(RouteNetlinkMessage::GetAddress(AddressMessage::default()), NLM_F_DUMP, OP, iface)?;
    let mut out: Vec<(IpAddr, u8)> = Vec::new();
    for m in answer {
        let RouteNetlinkMessage::NewAddress(a) = m else { continue };
        if a.header.index != index {
            continue;
        }
        // IPv4: the local address (IFA_LOCAL); IPv6: IFA_ADDRESS.
        let mut local = None;
        let mut address = None;
        for attr in &a.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                _ => {}
            }
        }
        if let Some(ip) = local.or(address) {
            let entry = (ip, a.header.prefix_len);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    Ok(out)
}

/// Listens to address changes in the thread's network namespace (`RTMGRP_IPV4_IFADDR |
/// RTMGRP_IPV6_IFADDR`): nonblocking, for a `poll`/`epoll` set ([`AsFd`]). It only says that
/// something changed; read the addresses again ([`ip_addresses`]) to know what.
#[derive(Debug)]
pub struct AddrMonitor {
    listener: Listener,
}

impl AddrMonitor {
    /// Opens the listener.
    pub fn new() -> Result<AddrMonitor> {
        let groups = (libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32;
        Ok(AddrMonitor { listener: Listener::new(groups, "listen to address changes")? })
    }

    /// Reads every waiting notification without blocking; true if there was any, or if some
    /// were lost (the socket's buffer overflowed), so that the caller reads the addresses again.
    pub fn drain(&mut self) -> bool {
        self.listener.drain(|_| {}).map_or(true, |datagrams| datagrams > 0)
    }
}

impl AsFd for AddrMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.socket().as_fd()
    }
}

/// Adds `ip/prefix` to interface `name` (`ip addr add`). `Ok(false)` if the interface had it
/// already. IPv4 addresses get their broadcast address, as `ip addr add ... brd +`.
pub fn add_address(name: &str, ip: IpAddr, prefix: u8) -> Result<bool> {
    const OP: &str = "add address";
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(SysError::new(
            OP,
            Some(name),
            io::Error::new(io::ErrorKind::InvalidInput, format!("prefix /{prefix} > /{max}")),
        ));
    }
    if addresses(name)?.contains(&(ip, prefix)) {
        return Ok(false);
    }
    let mut msg = AddressMessage::default();
    msg.header.family = family(ip);
    msg.header.prefix_len = prefix;
    msg.header.index = ifindex(name)?;
    msg.attributes.push(AddressAttribute::Address(ip));
    if let IpAddr::V4(v4) = ip {
        msg.attributes.push(AddressAttribute::Local(ip));
        if prefix < 31 {
            let host_mask = u32::MAX >> prefix;
            let brd = std::net::Ipv4Addr::from(u32::from(v4) | host_mask);
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
    }
    match request(RouteNetlinkMessage::NewAddress(msg), NLM_F_CREATE | NLM_F_EXCL, OP, name) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Adds a default route through `gateway` on interface `name` (`ip route add default via G dev
/// IF`, main table, protocol static). `Ok(false)` if a default route of that family already
/// exists in the main table (the existing one is kept).
pub fn add_default_route(name: &str, gateway: IpAddr) -> Result<bool> {
    const OP: &str = "add default route";
    let mut header = RouteHeader {
        address_family: family(gateway),
        table: RouteHeader::RT_TABLE_MAIN,
        protocol: RouteProtocol::Static,
        scope: RouteScope::Universe,
        kind: RouteType::Unicast,
        ..RouteHeader::default()
    };
    header.destination_prefix_length = 0;
    let mut msg = RouteMessage::default();
    msg.header = header;
    msg.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
    msg.attributes.push(RouteAttribute::Oif(ifindex(name)?));
    match request(RouteNetlinkMessage::NewRoute(msg), NLM_F_CREATE | NLM_F_EXCL, OP, name) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// The default gateways in the main table that go out of interface `name`.
pub fn default_gateways(name: &str) -> Result<Vec<IpAddr>> {
    const OP: &str = "list routes";
    let index = ifindex(name)?;
    let mut out = Vec::new();
    for fam in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut msg = RouteMessage::default();
        msg.header.address_family = fam;
        let answer = request(RouteNetlinkMessage::GetRoute(msg), NLM_F_DUMP, OP, name)?;
        for m in answer {
            let RouteNetlinkMessage::NewRoute(r) = m else { continue };
            if r.header.destination_prefix_length != 0
                || r.header.table != RouteHeader::RT_TABLE_MAIN
            {
                continue;
            }
            let mut gw = None;
            let mut oif = None;
            for attr in &r.attributes {
                match attr {
                    RouteAttribute::Gateway(RouteAddress::Inet(a)) => gw = Some(IpAddr::V4(*a)),
                    RouteAttribute::Gateway(RouteAddress::Inet6(a)) => gw = Some(IpAddr::V6(*a)),
                    RouteAttribute::Oif(i) => oif = Some(*i),
                    _ => {}
                }
            }
            if let (Some(g), Some(i)) = (gw, oif) {
                if i == index && !out.contains(&g) {
                    out.push(g);
                }
            }
        }
    }
    Ok(out)
}

/// Adds a route to `dst/prefix` on interface `name` (`ip route add DST/P [via G] dev IF
/// [metric M] [table T]`, protocol static; table `None` is the main table). `Ok(false)` if
/// the table has that route already (it is kept).
pub fn add_route(
    name: &str,
    dst: IpAddr,
    prefix: u8,
    gateway: Option<IpAddr>,
    metric: Option<u32>,
    table: Option<u32>,
) -> Result<bool> {
    const OP: &str = "add route";
    let max = if dst.is_ipv4() { 32 } else { 128 };
    if prefix > max || gateway.is_some_and(|g| g.is_ipv4() != dst.is_ipv4()) {
        return Err(SysError::new(
            OP,
            Some(name),
            io::Error::new(io::ErrorKind::InvalidInput, format!("invalid route {dst}/{prefix}")),
        ));
    }
    let table = table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
    let mut header = RouteHeader {
        address_family: family(dst),
        table: u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC),
        protocol: RouteProtocol::Static,
        scope: if gateway.is_some() { RouteScope::Universe } else { RouteScope::Link },
        kind: RouteType::Unicast,
        ..RouteHeader::default()
    };
    header.destination_prefix_length = prefix;
    let mut msg = RouteMessage::default();
    msg.header = header;
    if prefix > 0 {
        msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(dst)));
    }
    if let Some(g) = gateway {
        msg.attributes.push(RouteAttribute::Gateway(RouteAddress::from(g)));
    }
    if let Some(m) = metric {
        msg.attributes.push(RouteAttribute::Priority(m));
    }
    if table > 255 {
        msg.attributes.push(RouteAttribute::Table(table));
    }
    msg.attributes.push(RouteAttribute::Oif(ifindex(name)?));
    match request(RouteNetlinkMessage::NewRoute(msg), NLM_F_CREATE | NLM_F_EXCL, OP, name) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}
