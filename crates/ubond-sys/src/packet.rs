//! A slave's frames: an `AF_PACKET` `SOCK_RAW` socket bound to one interface.
//!
//! The socket sees every frame the interface receives (`ETH_P_ALL`), with the Ethernet header,
//! and sends whole frames as given. It joins the Slow Protocols group `01:80:c2:00:00:02` so
//! LACPDUs and Marker PDUs reach it, can put the interface into promiscuous mode (balance-alb,
//! or when the bond's MAC is not the slave's), and by default does not see its own
//! transmissions (`PACKET_IGNORE_OUTGOING`). Memberships and promiscuity are tied to the
//! socket: the kernel undoes them when it closes.
//!
//! Nonblocking; put it in a `poll`/`epoll` set ([`AsFd`]). [`PacketSocket::recv_batch`] and
//! [`PacketSocket::send_batch`] move up to [`MAX_BATCH`] frames per system call
//! (`recvmmsg`/`sendmmsg`) through a caller-owned [`FrameBatch`], with no allocation per frame.
//!
//! Known limit: with VLAN offload the kernel strips the 802.1Q tag from received frames and
//! reports it out of band (`PACKET_AUXDATA`); this socket does not read it yet.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use ubond_wire::MacAddr;

use crate::error::{Result, SysError};

/// The Slow Protocols multicast address (IEEE 802.3 Annex 57A): LACPDUs and Marker PDUs.
pub const SLOW_PROTOCOLS_MAC: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
/// Most frames one [`PacketSocket::recv_batch`] or [`PacketSocket::send_batch`] call moves.
pub const MAX_BATCH: usize = 64;

const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_DROP_MEMBERSHIP: libc::c_int = 2;
const PACKET_MR_MULTICAST: libc::c_ushort = 0;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const ETH_P_ALL: u16 = 0x0003;

/// `struct packet_mreq`.
#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

/// How to open a [`PacketSocket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketOptions {
    /// Join the Slow Protocols group [`SLOW_PROTOCOLS_MAC`] (default: on).
    pub slow_protocols: bool,
    /// Put the interface into promiscuous mode while the socket is open (default: off).
    pub promiscuous: bool,
    /// Do not receive the frames this host sends on the interface (default: on).
    pub ignore_outgoing: bool,
}

impl Default for PacketOptions {
    fn default() -> Self {
        PacketOptions { slow_protocols: true, promiscuous: false, ignore_outgoing: true }
    }
}

/// An `AF_PACKET` raw socket on one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
    promiscuous: bool,
}

impl PacketSocket {
    /// Opens a packet socket on interface `name` with `options`.
    pub fn open(name: &str, options: PacketOptions) -> Result<PacketSocket> {
        const OP: &str = "open packet socket";
        let ifindex = crate::link::ifindex(name).map_err(|e| e.with_operation(OP))?;
        // Protocol 0 until bound: no frame from another interface slips in before `bind`.
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(SysError::last_os(OP, Some(name)));
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut sock = PacketSocket { fd, ifindex, name: name.to_owned(), promiscuous: false };

        if options.ignore_outgoing {
            sock.setsockopt(PACKET_IGNORE_OUTGOING, &1 as &libc::c_int, "ignore outgoing frames")?;
        }
        if options.slow_protocols {
            sock.join_multicast(SLOW_PROTOCOLS_MAC)?;
        }
        if options.promiscuous {
            sock.set_promiscuous(true)?;
        }

        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the length given, alive across the call.
        let rc = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(SysError::last_os(OP, Some(name)));
        }
        Ok(sock)
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// True while this socket holds the interface in promiscuous mode.
    pub fn promiscuous(&self) -> bool {
        self.promiscuous
    }

    /// Joins the link-layer multicast group `group` on the interface (`PACKET_MR_MULTICAST`).
    pub fn join_multicast(&self, group: MacAddr) -> Result<()> {
        let mut mreq = self.mreq(PACKET_MR_MULTICAST);
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&group.octets());
        self.setsockopt(PACKET_ADD_MEMBERSHIP, &mreq, "join multicast group")
    }

    /// Puts the interface into promiscuous mode, or takes this socket's share of it back
    /// (`PACKET_MR_PROMISC`; the kernel counts holders, so other users are not disturbed).
    pub fn set_promiscuous(&mut self, on: bool) -> Result<()> {
        if on == self.promiscuous {
            return Ok(());
        }
        let mreq = self.mreq(PACKET_MR_PROMISC);
        let (opt, op) = if on {
            (PACKET_ADD_MEMBERSHIP, "enter promiscuous mode")
        } else {
            (PACKET_DROP_MEMBERSHIP, "leave promiscuous mode")
        };
        self.setsockopt(opt, &mreq, op)?;
        self.promiscuous = on;
        Ok(())
    }

    /// Sends one whole frame (Ethernet header included). `Ok(false)` when the interface's
    /// queue is full (`EAGAIN`/`ENOBUFS`): the frame was not sent.
    pub fn send(&self, frame: &[u8]) -> Result<bool> {
        // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the whole call.
        let n = unsafe {
            libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), libc::MSG_DONTWAIT)
        };
        if n < 0 {
            return self.full_or(io::Error::last_os_error(), "send frame");
        }
        Ok(true)
    }

    /// Receives one frame into `buf`; `Ok(None)` when none is waiting. A frame longer than
    /// `buf` is truncated.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
        let n = unsafe {
            libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(SysError::new("receive frame", Some(&self.name), e));
        }
        Ok(Some(n as usize))
    }

    /// Receives up to `batch.capacity()` frames in one `recvmmsg` call, replacing the batch's
    /// contents; returns how many (0 when none is waiting).
    pub fn recv_batch(&self, batch: &mut FrameBatch) -> Result<usize> {
        batch.clear();
        let slots = batch.capacity;
        let slot = batch.slot_size;
        // SAFETY: all-zero is a valid value for these plain structs.
        let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        let base = batch.buf.as_mut_ptr();
        for i in 0..slots {
            // SAFETY: `i * slot` is inside `batch.buf`, which holds `capacity * slot_size`
            // bytes.
            iovs[i].iov_base = unsafe { base.add(i * slot) }.cast();
            iovs[i].iov_len = slot;
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..slots]` point at `iovs`, which point into disjoint slots of
        // `batch.buf`; all stay alive and unaliased for the call.
        let n = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(0);
            }
            return Err(SysError::new("receive frames", Some(&self.name), e));
        }
        let n = n as usize;
        for (i, m) in msgs.iter().take(n).enumerate() {
            batch.lens[i] = (m.msg_len as usize).min(slot);
            batch.truncated[i] = m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        }
        batch.count = n;
        Ok(n)
    }

    /// Sends the frames in `batch` in one `sendmmsg` call; returns how many were sent (fewer
    /// than `batch.len()`, possibly 0, when the interface's queue fills).
    pub fn send_batch(&self, batch: &FrameBatch) -> Result<usize> {
        let count = batch.count;
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: all-zero is a valid value for these plain structs.
        let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        for i in 0..count {
            let frame = batch.frame(i);
            // The kernel only reads through iov_base on send.
            iovs[i].iov_base = frame.as_ptr() as *mut libc::c_void;
            iovs[i].iov_len = frame.len();
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..count]` point at `iovs`, which point into `batch`'s frames; all stay
        // alive for the call, and sendmmsg only reads the frames.
        let n = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return self.full_or(io::Error::last_os_error(), "send frames").map(|_| 0);
        }
        Ok(n as usize)
    }

    fn full_or(&self, e: io::Error, op: &'static str) -> Result<bool> {
        if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) {
            return Ok(false);
        }
        Err(SysError::new(op, Some(&self.name), e))
    }

    fn mreq(&self, mr_type: libc::c_ushort) -> PacketMreq {
        PacketMreq { mr_ifindex: self.ifindex as i32, mr_type, mr_alen: 0, mr_address: [0; 8] }
    }

    fn setsockopt<T>(&self, opt: libc::c_int, value: &T, op: &'static str) -> Result<()> {
        // SAFETY: `value` points to a `T` of the size given, alive across the call; callers
        // pass the type the option expects (an int, a packet_mreq).
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                opt,
                (value as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(SysError::last_os(op, Some(&self.name)));
        }
        Ok(())
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Frames for one batched call: `capacity` slots of `slot_size` bytes in one buffer, allocated
/// once and reused.
#[derive(Debug, Clone)]
pub struct FrameBatch {
    buf: Vec<u8>,
    lens: Vec<usize>,
    truncated: Vec<bool>,
    slot_size: usize,
    capacity: usize,
    count: usize,
}

impl FrameBatch {
    /// A batch of `capacity` (at most [`MAX_BATCH`], at least 1) frames of up to `slot_size`
    /// bytes each.
    pub fn new(capacity: usize, slot_size: usize) -> FrameBatch {
        let capacity = capacity.clamp(1, MAX_BATCH);
        FrameBatch {
            buf: vec![0; capacity * slot_size],
            lens: vec![0; capacity],
            truncated: vec![false; capacity],
            slot_size,
            capacity,
            count: 0,
        }
    }

    /// How many frames the batch holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The largest frame a slot holds.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// How many frames the batch holds now.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the batch (keeps its memory).
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// Appends a copy of `frame` for sending; false (and nothing added) if the batch is full
    /// or the frame is longer than a slot.
    pub fn push(&mut self, frame: &[u8]) -> bool {
        if self.count == self.capacity || frame.len() > self.slot_size {
            return false;
        }
        let start = self.count * self.slot_size;
        self.buf[start..start + frame.len()].copy_from_slice(frame);
        self.lens[self.count] = frame.len();
        self.truncated[self.count] = false;
        self.count += 1;
        true
    }

    /// Frame `i` (0 ≤ `i` < [`FrameBatch::len`]).
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn frame(&self, i: usize) -> &[u8] {
        assert!(i < self.count, "frame {i} of a batch of {}", self.count);
        let start = i * self.slot_size;
        &self.buf[start..start + self.lens[i]]
    }

    /// Frame `i`, writable in place (to rewrite a header before forwarding).
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn frame_mut(&mut self, i: usize) -> &mut [u8] {
        assert!(i < self.count, "frame {i} of a batch of {}", self.count);
        let start = i * self.slot_size;
        &mut self.buf[start..start + self.lens[i]]
    }

    /// True if received frame `i` was longer than a slot and was cut.
    pub fn truncated(&self, i: usize) -> bool {
        i < self.count && self.truncated[i]
    }

    /// The frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.count).map(move |i| self.frame(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_push_and_read_back() {
        let mut b = FrameBatch::new(2, 4);
        assert!(b.push(&[1, 2, 3]));
        assert!(!b.push(&[0; 5]), "longer than a slot");
        assert!(b.push(&[4]));
        assert!(!b.push(&[5]), "full");
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![&[1u8, 2, 3][..], &[4][..]]);
        b.frame_mut(1)[0] = 9;
        assert_eq!(b.frame(1), &[9]);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(FrameBatch::new(1000, 1).capacity(), MAX_BATCH);
    }
}
