//! The bond's IP addresses, which the core needs for ARP/NS probes and peer notifications:
//! an `RTM_GETADDR` dump, and a listener for address changes.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// Listens to address changes (`RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR`); nonblocking.
pub struct AddrMonitor {
    socket: Socket,
    buf: Vec<u8>,
}

impl AddrMonitor {
    /// Opens the listener.
    pub fn new() -> io::Result<AddrMonitor> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))?;
        socket.set_non_blocking(true)?;
        Ok(AddrMonitor { socket, buf: Vec::with_capacity(64 * 1024) })
    }

    /// Reads every waiting notification; true if there was any (or some were lost).
    pub fn drain(&mut self) -> bool {
        let mut any = false;
        loop {
            self.buf.clear();
            match self.socket.recv(&mut self.buf, 0) {
                Ok(_) => any = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return any,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }
}

impl AsFd for AddrMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// The IPv4 and IPv6 addresses of interface `ifindex`.
pub fn addresses(ifindex: u32) -> io::Result<(Vec<Ipv4Addr>, Vec<Ipv6Addr>)> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    let msg = RouteNetlinkMessage::GetAddress(AddressMessage::default());
    let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
    nl.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    nl.header.sequence_number = 1;
    nl.finalize();
    let mut out = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut out);
    socket.send_to(&out, &SocketAddr::new(0, 0), 0)?;

    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let n = socket.recv(&mut buf, 0)?;
        let mut offset = 0;
        while offset < n {
            let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[offset..n])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = reply.header.length as usize;
            match reply.payload {
                NetlinkPayload::Done(_) => return Ok((v4, v6)),
                NetlinkPayload::Error(e) => {
                    return match e.code {
                        None => Ok((v4, v6)),
                        Some(_) => Err(e.to_io()),
                    }
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a))
                    if a.header.index == ifindex =>
                {
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
                    match local.or(address) {
                        Some(IpAddr::V4(ip)) if !v4.contains(&ip) => v4.push(ip),
                        Some(IpAddr::V6(ip)) if !v6.contains(&ip) => v6.push(ip),
                        _ => {}
                    }
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += (len + 3) & !3;
        }
    }
}
