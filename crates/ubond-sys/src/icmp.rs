//! A raw IPv4 ICMP socket (`socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)`, needs CAP_NET_RAW): what
//! `ping` uses, so that `ubond demo` needs no `ping` binary. The caller builds the ICMP message
//! (ubond-wire's ICMP view) and reads what comes back: every ICMP packet the host receives,
//! with its IPv4 header, as raw sockets deliver them.
//!
//! The socket belongs to the network namespace of the thread that opened it, whichever thread
//! uses it later.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::error::{Result, SysError};

/// A raw ICMP socket.
#[derive(Debug)]
pub struct IcmpSocket {
    fd: OwnedFd,
}

impl IcmpSocket {
    /// Opens one in the calling thread's network namespace.
    pub fn open() -> Result<IcmpSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let fd = unsafe {
            libc::socket(libc::AF_INET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::IPPROTO_ICMP)
        };
        if fd < 0 {
            return Err(SysError::last_os("open a raw ICMP socket", None));
        }
        // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
        Ok(IcmpSocket { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Sends one ICMP message (type, code, checksum and all; the kernel adds the IPv4 header).
    pub fn send_to(&self, message: &[u8], dst: Ipv4Addr) -> Result<()> {
        // SAFETY: an all-zero sockaddr_in is valid; its fields are set below.
        let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr = libc::in_addr { s_addr: u32::from(dst).to_be() };
        // SAFETY: `message` is valid for its length; `sa` is a sockaddr_in of the size given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                message.as_ptr().cast(),
                message.len(),
                libc::MSG_NOSIGNAL,
                (&raw const sa).cast(),
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(SysError::last_os("send an ICMP message", None));
        }
        Ok(())
    }

    /// Waits up to `timeout` for a packet; `Ok(None)` when none came. The packet (IPv4 header
    /// first) goes into `buf`; the length is returned.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> Result<Option<usize>> {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(SysError::new("wait for an ICMP message", None, e));
        }
        if rc == 0 {
            return Ok(None);
        }
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe {
            libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(SysError::new("receive an ICMP message", None, e));
        }
        Ok(Some(n as usize))
    }
}
