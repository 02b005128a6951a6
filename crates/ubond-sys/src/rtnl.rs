//! The rtnetlink socket, used two ways: one request and its answer ([`request`]), and a
//! nonblocking listener of multicast groups ([`Listener`]) under [`crate::link::LinkMonitor`]
//! and [`crate::addr::AddrMonitor`].
//!
//! netlink-packet-route encodes and decodes the messages; what is left here is the exchange
//! itself: send, then read datagrams until the answer ends, each datagram holding one or more
//! messages ([`messages`]).
//!
//! Every socket is opened in the network namespace of the calling thread.

use std::io;

use netlink_packet_core::{
    DecodeError, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_ACK_TLVS,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::{Result, SysError};

/// Room for one datagram of a dump or of notifications.
const DATAGRAM: usize = 64 * 1024;

/// The messages of one netlink datagram, in order; a message that does not decode ends the
/// datagram (its length cannot be trusted to find the next).
pub(crate) fn messages(
    datagram: &[u8],
) -> impl Iterator<Item = std::result::Result<NetlinkMessage<RouteNetlinkMessage>, DecodeError>> + '_
{
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest);
        let len = msg.as_ref().map_or(0, |m| m.header.length as usize);
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        let next = (len + 3) & !3;
        rest = if len == 0 || next >= rest.len() { &[] } else { &rest[next..] };
        Some(msg)
    })
}

/// Sends one rtnetlink request with `NLM_F_ACK` (and `extra_flags`) and returns the messages
/// in the answer (all parts of a dump); an error answer is an error naming `op` and `iface`.
pub(crate) fn request(
    msg: RouteNetlinkMessage,
    extra_flags: u16,
    op: &'static str,
    iface: Option<&str>,
) -> Result<Vec<RouteNetlinkMessage>> {
    Connection::open(op, iface)?.request(msg, extra_flags, op, iface)
}

/// An rtnetlink socket kept open for a series of requests (each [`request`] opens its own),
/// for what is asked often: one system call to send and one to read each answer.
#[derive(Debug)]
pub(crate) struct Connection {
    socket: Socket,
    sequence: u32,
    buf: Vec<u8>,
}

impl Connection {
    /// Opens the socket; `op` and `iface` name a failure.
    pub(crate) fn open(op: &'static str, iface: Option<&str>) -> Result<Connection> {
        let fail = |e: io::Error| SysError::new(op, iface, e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(fail)?;
        socket.bind_auto().map_err(fail)?;
        // The kernel's explanation of a refusal (extended ACK), after only the request's header.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        Ok(Connection { socket, sequence: 0, buf: Vec::with_capacity(DATAGRAM) })
    }

    /// [`request`] on this socket. Answers to earlier requests still waiting (one that failed
    /// half-way) are skipped by their sequence number.
    pub(crate) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        extra_flags: u16,
        op: &'static str,
        iface: Option<&str>,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let fail = |e: io::Error| SysError::new(op, iface, e);
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut nl =
            NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
        nl.header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
        nl.header.sequence_number = sequence;
        nl.finalize();
        let mut out = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut out);
        self.socket.send_to(&out, &SocketAddr::new(0, 0), 0).map_err(fail)?;

        let mut answer = Vec::new();
        loop {
            self.buf.clear();
            let n = self.socket.recv(&mut self.buf, 0).map_err(fail)?;
            for reply in messages(&self.buf[..n]) {
                let reply = reply
                    .map_err(|e| fail(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
                if reply.header.sequence_number != sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(answer),
                            Some(_) => {
                                let tlvs = reply.header.flags & NLM_F_ACK_TLVS != 0;
                                let message = if tlvs { extack_message(&e.header) } else { None };
                                Err(fail(e.to_io()).with_kernel_message(message))
                            }
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(answer),
                    NetlinkPayload::InnerMessage(m) => answer.push(m),
                    _ => {}
                }
            }
        }
    }
}

/// `NLMSGERR_ATTR_MSG` of an error answer's payload after its code: the original request's
/// header (capped: `NETLINK_CAP_ACK`), then attributes.
fn extack_message(payload: &[u8]) -> Option<String> {
    const NLMSGHDR_LEN: usize = 16;
    const NLMSGERR_ATTR_MSG: u16 = 1;
    let mut rest = payload.get(NLMSGHDR_LEN..)?;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        let value = rest.get(4..len)?;
        if kind == NLMSGERR_ATTR_MSG {
            let text = value.split(|&b| b == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    None
}

/// A nonblocking rtnetlink socket bound to multicast groups (`RTMGRP_*`).
#[derive(Debug)]
pub(crate) struct Listener {
    socket: Socket,
    buf: Vec<u8>,
}

impl Listener {
    /// Opens a listener of `groups`; `op` names the failure.
    pub(crate) fn new(groups: u32, op: &'static str) -> Result<Listener> {
        let fail = |e| SysError::new(op, None, e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(fail)?;
        socket.bind(&SocketAddr::new(0, groups)).map_err(fail)?;
        socket.set_non_blocking(true).map_err(fail)?;
        // Room for bursts (many interfaces changing at once); best effort.
        let _ = socket.set_rx_buf_sz(1 << 20);
        Ok(Listener { socket, buf: Vec::with_capacity(DATAGRAM) })
    }

    /// Reads every waiting datagram without blocking and gives each message that decodes to
    /// `each`; returns how many datagrams were read. Fails with the OS error (`ENOBUFS`:
    /// notifications were lost) after handing over what was read before it.
    pub(crate) fn drain(&mut self, mut each: impl FnMut(RouteNetlinkMessage)) -> io::Result<usize> {
        let mut datagrams = 0;
        loop {
            self.buf.clear();
            let n = match self.socket.recv(&mut self.buf, 0) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(datagrams),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            datagrams += 1;
            for msg in messages(&self.buf[..n]) {
                match msg {
                    Ok(NetlinkMessage { payload: NetlinkPayload::InnerMessage(m), .. }) => each(m),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
    }

    /// The socket, for `poll`/`epoll`.
    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::LinkMessage;

    fn encoded(index: u32, seq: u32) -> Vec<u8> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        let mut nl = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(msg)),
        );
        nl.header.sequence_number = seq;
        nl.finalize();
        let mut out = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut out);
        out
    }

    fn index_of(m: &NetlinkMessage<RouteNetlinkMessage>) -> Option<u32> {
        match &m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => Some(l.header.index),
            _ => None,
        }
    }

    #[test]
    fn a_datagram_gives_each_of_its_messages_once() {
        let mut datagram = encoded(7, 1);
        datagram.extend(encoded(9, 2));
        let got: Vec<Option<u32>> =
            messages(&datagram).map(|m| m.ok().as_ref().and_then(index_of)).collect();
        assert_eq!(got, [Some(7), Some(9)]);
        assert_eq!(messages(&[]).count(), 0);
    }

    #[test]
    fn garbage_ends_the_datagram_with_one_error() {
        let mut datagram = encoded(7, 1);
        datagram.extend([0xff; 5]);
        let got: Vec<bool> = messages(&datagram).map(|m| m.is_ok()).collect();
        assert_eq!(got, [true, false]);
        // A header claiming more than the datagram holds.
        let mut short = encoded(3, 1);
        short.truncate(short.len() - 4);
        assert!(messages(&short).all(|m| m.is_err()));
        assert_eq!(messages(&short).count(), 1);
    }
}
