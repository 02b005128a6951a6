//! The daemon's data path: frames between a bond's device (the packet socket on its data-path
//! end) and its slaves' packet sockets.
//!
//! Every socket speaks virtio-net headers (`PACKET_VNET_HDR`), so the kernel's GSO
//! super-frames (up to 64 KiB of TCP)
//! cross userspace whole, with their checksum state: one read and one write per 64 KiB instead
//! of per 1.5 KiB, and no checksum computed here. A frame in a buffer is laid out as
//! `[virtio_net_hdr | Ethernet frame]`; the core only ever sees the Ethernet frame, and frames
//! the core makes (LACPDUs, ARP probes) go out behind an all-zero header (no offload).
//!
//! Backpressure instead of loss: when a slave's send buffer is full (a shaped or slow link),
//! the frame is kept, the bond's socket is taken out of the poll set and the slave's is watched
//! for room; the stack's own queues then hold the rest. One frame per bond waits at most
//! [`PENDING_MAX_AGE`]; after that it is dropped, as a stuck NIC queue would.
//!
//! No allocation per frame: each bond owns its transmit buffer, the receive buffer is the
//! daemon's.

use std::time::Duration;

use rustix::event::epoll::EventFlags;
use ubond_core::bond::{RxVerdict, SlaveId, TxDecision};
use ubond_core::time::Instant;
use ubond_sys::{SendStatus, VNET_HDR_LEN};

use super::bond::BondRt;
use super::clock::Clock;
use super::event_loop::Poller;

/// Bytes of virtio-net header in front of every frame in the data path.
pub(super) const HDR: usize = VNET_HDR_LEN;
/// The header of a frame with no offload (frames the core makes).
pub(super) const ZERO_HDR: [u8; HDR] = [0; HDR];
/// Largest frame (header included) read from a bond or a slave: a 64 KiB GSO frame, its
/// Ethernet header, a restored VLAN tag and the virtio-net header.
pub(super) const FRAME_MAX: usize = 65536 + 512;
/// Most frames handled from one descriptor per wakeup, so no source starves the others.
const BURST: usize = 64;
/// Longest a frame waits for room on its slave before it is dropped.
pub(super) const PENDING_MAX_AGE: Duration = Duration::from_millis(100);
/// Receive buffer of each slave's packet socket: room for a burst of GSO frames.
pub(super) const SLAVE_RCVBUF: usize = 4 << 20;
/// Send buffer of each slave's packet socket: what a shaped slave may hold in its queue
/// before the bond waits for it.
pub(super) const SLAVE_SNDBUF: usize = 1 << 20;

/// A frame read from the bond that waits for room on its slave.
pub(super) struct Pending {
    slave: SlaveId,
    len: usize,
    since: Instant,
}

/// A bond's transmit side: its buffer and the frame waiting in it, if any.
pub(super) struct TxState {
    buf: Box<[u8]>,
    pending: Option<Pending>,
}

impl TxState {
    pub(super) fn new() -> TxState {
        TxState { buf: vec![0u8; FRAME_MAX].into_boxed_slice(), pending: None }
    }

    /// When the waiting frame, if any, is given up.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.since + PENDING_MAX_AGE)
    }
}

impl BondRt {
    /// Sends a whole frame with its virtio-net header on slave `id`.
    fn send_data(&self, id: SlaveId, frame: &[u8]) -> SendStatus {
        match self.slaves.iter().find(|s| s.id == id) {
            Some(s) => s.sock.send_vectored(&[frame]).unwrap_or(SendStatus::Dropped),
            None => SendStatus::Dropped,
        }
    }

    /// Keeps the `len`-byte frame in the transmit buffer for slave `id` and waits for room,
    /// from `now`.
    fn hold(&mut self, poller: &Poller, id: SlaveId, len: usize, now: Instant) {
        self.tx.pending = Some(Pending { slave: id, len, since: now });
        let _ = poller.watch(&self.data, self.token, EventFlags::empty());
        if let Some(s) = self.slaves.iter().find(|s| s.id == id) {
            let _ = poller.watch(&s.sock, s.token, EventFlags::IN | EventFlags::OUT);
        }
    }

    /// Forgets the waiting frame (sent, dropped or its slave gone) and reads the data-path end
    /// again.
    pub(super) fn unhold(&mut self, poller: &Poller) {
        let Some(p) = self.tx.pending.take() else { return };
        if let Some(s) = self.slaves.iter().find(|s| s.id == p.slave) {
            let _ = poller.watch(&s.sock, s.token, EventFlags::IN);
        }
        let _ = poller.watch(&self.data, self.token, EventFlags::IN);
    }

    /// Retries the waiting frame (its slave has room, or at `now` it is too old and is
    /// dropped).
    pub(super) fn flush(&mut self, poller: &Poller, now: Instant) {
        let Some(p) = &self.tx.pending else { return };
        let status = self.send_data(p.slave, &self.tx.buf[..p.len]);
        if status == SendStatus::WouldBlock
            && now.saturating_duration_since(p.since) < PENDING_MAX_AGE
        {
            return;
        }
        self.unhold(poller);
    }

    /// True if slave `id` holds the waiting frame.
    pub(super) fn holds_for(&self, id: SlaveId) -> bool {
        self.tx.pending.as_ref().is_some_and(|p| p.slave == id)
    }
}

/// Frames the stack sent through the bond's device go out on the slaves the plan picks
/// (`TxPlan::decide`, the core's one transmit decision).
pub(super) fn bond_to_slaves(poller: &Poller, clock: &Clock, rt: &mut BondRt) {
    if rt.tx.pending.is_some() {
        return;
    }
    // The buffer leaves the bond for the burst so the rest of it can be borrowed freely.
    let mut buf = std::mem::take(&mut rt.tx.buf);
    for _ in 0..BURST {
        let n = match rt.data.recv(&mut buf) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                eprintln!("ubond: {}: {e}", rt.bond.name());
                break;
            }
        };
        if n <= HDR {
            continue;
        }
        let target = match rt.bond.tx_plan().decide(&mut buf[HDR..n], &mut rt.cursor) {
            TxDecision::Send(id) => Some(id),
            TxDecision::Broadcast => {
                for id in &rt.bond.tx_plan().slaves {
                    let _ = rt.send_data(*id, &buf[..n]);
                }
                None
            }
            TxDecision::ControlPlane => {
                if let Some(id) = rt.bond.handle_arp_tx(clock.now(), &mut buf[HDR..n]) {
                    let _ = rt.send_data(id, &buf[..n]);
                }
                rt.drain();
                None
            }
            TxDecision::Drop => None,
        };
        if let Some(id) = target {
            if rt.send_data(id, &buf[..n]) == SendStatus::WouldBlock {
                rt.tx.buf = buf;
                rt.hold(poller, id, n, clock.now());
                return;
            }
        }
    }
    rt.tx.buf = buf;
}

/// Frames received on slave `si` reach the core; those it delivers go up through the bond's
/// device.
pub(super) fn slave_to_bond(clock: &Clock, rt: &mut BondRt, si: usize, buf: &mut [u8]) {
    for _ in 0..BURST {
        let n = match rt.slaves[si].sock.recv(buf) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                // ENETDOWN once after the link went down: not worth a line.
                if e.raw_os_error() != Some(rustix::io::Errno::NETDOWN.raw_os_error()) {
                    eprintln!("ubond: {}: {e}", rt.slaves[si].name);
                }
                break;
            }
        };
        if n <= HDR {
            continue;
        }
        let id = rt.slaves[si].id;
        // On the fast path the socket reads control frames only, and the kernel delivers
        // those the core merely reads (ARP, neighbour discovery).
        let kernel_delivers = rt.slaves[si].fast.filtered() && kernel_delivers(&buf[HDR..n]);
        let checksum = super::bfd::rx_checksum(&buf[..HDR]);
        match rt.bond.handle_frame_with_checksum(clock.now(), id, &buf[HDR..n], checksum) {
            RxVerdict::Deliver if !kernel_delivers => {
                rt.bond.rx_plan().to_bond(&mut buf[HDR..n]);
                let _ = rt.data.send_vectored(&[&buf[..n]]);
            }
            RxVerdict::Deliver => {}
            RxVerdict::Consumed => rt.drain_quietly(super::bfd::is_bfd_packet(&buf[HDR..n])),
            RxVerdict::Drop => {}
        }
    }
}

/// Whether the fast path's receive program delivers `frame` by itself (when the bond's plan
/// says so): all but the frames it leaves to the daemon, untagged Slow Protocols and micro-BFD
/// (UDP port 6784). Mirrors `ubond_slave_ingress` in `datapath.bpf.c`.
pub(super) fn kernel_delivers(frame: &[u8]) -> bool {
    let be16 = |at: usize| frame.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (proto, l4) = match be16(12) {
        Some(0x8809) => return false,
        Some(0x0800) => match frame.get(14..34) {
            Some(ip) if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0 => {
                (ip[9], 14 + usize::from(ip[0] & 0x0f) * 4)
            }
            _ => return true,
        },
        Some(0x86dd) => match frame.get(20) {
            Some(&nh) => (nh, 14 + 40),
            None => return true,
        },
        _ => return true,
    };
    !(proto == 17 && be16(l4 + 2) == Some(6784))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_leaves_slow_protocols_and_micro_bfd_to_the_daemon() {
        let mut v4 = vec![0u8; 14 + 20 + 8];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[14] = 0x45;
        v4[14 + 9] = 17;
        v4[34 + 2..34 + 4].copy_from_slice(&6784u16.to_be_bytes());
        assert!(!kernel_delivers(&v4), "micro-BFD over IPv4");
        let mut other = v4.clone();
        other[34 + 2..34 + 4].copy_from_slice(&3784u16.to_be_bytes());
        assert!(kernel_delivers(&other), "single-hop BFD is data");
        let mut frag = v4.clone();
        frag[14 + 7] = 1;
        assert!(kernel_delivers(&frag), "a later fragment has no ports");
        let mut v6 = vec![0u8; 14 + 40 + 8];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[20] = 17;
        v6[54 + 2..54 + 4].copy_from_slice(&6784u16.to_be_bytes());
        assert!(!kernel_delivers(&v6), "micro-BFD over IPv6");
        let mut tagged = vec![0u8; 4];
        tagged.splice(0..0, v4[..12].iter().copied());
        tagged[12..16].copy_from_slice(&[0x81, 0x00, 0, 5]);
        tagged.extend_from_slice(&v4[12..]);
        assert!(kernel_delivers(&tagged), "the kernel leaves only untagged ones");
        let mut slow = vec![0u8; 60];
        slow[12..14].copy_from_slice(&[0x88, 0x09]);
        assert!(!kernel_delivers(&slow));
        let mut arp = vec![0u8; 60];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(kernel_delivers(&arp), "ARP is read, and delivered by the kernel");
        assert!(kernel_delivers(&[0u8; 5]));
    }
}
