//! The daemon's data path: frames between a bond's device (the packet sockets on its data-path
//! end) and its slaves' packet sockets. The data frames cross on the data threads
//! ([`super::workers`], [`super::forward`]); this module holds what they share with the control
//! plane and the control plane's own part: the control frames a slave receives
//! ([`slave_to_bond`]) and balance-alb's ARP frames the bond sends ([`arp_from_bond`]).
//!
//! Every socket speaks virtio-net headers (`PACKET_VNET_HDR`), so the kernel's GSO
//! super-frames (up to 64 KiB of TCP)
//! cross userspace whole, with their checksum state: one read and one write per 64 KiB instead
//! of per 1.5 KiB, and no checksum computed here. A frame in a buffer is laid out as
//! `[virtio_net_hdr | Ethernet frame]`; the core only ever sees the Ethernet frame, and frames
//! the core makes (LACPDUs, ARP probes) go out behind an all-zero header (no offload).
//!
//! Backpressure instead of loss: when a slave's send buffer is full (a shaped or slow link),
//! the data thread keeps the frames, stops reading the bond's data-path end and watches the
//! slave for room; the stack's own queues then hold the rest. Frames wait at most
//! [`PENDING_MAX_AGE`]; after that they are dropped, as a stuck NIC queue would.
//!
//! No allocation per frame: each data thread owns its batches, the control plane's receive
//! buffer is the event loop's.

use std::time::Duration;

use ubond_core::bond::{is_data_frame, RxVerdict, TxChoice};
use ubond_sys::VNET_HDR_LEN;

use super::bond::BondRt;
use super::clock::Clock;

/// Bytes of virtio-net header in front of every frame in the data path.
pub(super) const HDR: usize = VNET_HDR_LEN;
/// The header of a frame with no offload (frames the core makes).
pub(super) const ZERO_HDR: [u8; HDR] = [0; HDR];
/// Largest frame (header included) read from a bond or a slave: a 64 KiB GSO frame, its
/// Ethernet header, a restored VLAN tag and the virtio-net header.
pub(super) const FRAME_MAX: usize = 65536 + 512;
/// Most frames the control plane handles from one descriptor per wakeup, so no source starves
/// the others.
const BURST: usize = 64;
/// Longest frames wait for room on their slave before they are dropped.
pub(super) const PENDING_MAX_AGE: Duration = Duration::from_millis(100);
/// Receive buffer of each slave's packet socket: room for a burst of GSO frames.
pub(super) const SLAVE_RCVBUF: usize = 4 << 20;
/// Send buffer of each slave's packet sockets: what a shaped slave may hold in its queue
/// before the bond waits for it.
pub(super) const SLAVE_SNDBUF: usize = 1 << 20;

/// balance-alb: the ARP frames the stack sent through the bond's device (the control plane's
/// socket on the data-path end reads ARP only, and only in balance-alb) that the transmit plan
/// leaves to the control plane (`TxChoice::ControlPlane`, which the data threads skip): the
/// core may rewrite each (`Bond::handle_arp_tx`, receive load balancing) and picks its slave.
pub(super) fn arp_from_bond(clock: &Clock, rt: &mut BondRt, buf: &mut [u8]) {
    for _ in 0..BURST {
        let n = match rt.ctl.recv(buf) {
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
        // The same choice as the data threads' (a pure one: the counter is a scratch one).
        if rt.bond.tx_plan().select(&buf[HDR..n], &mut 0) != TxChoice::ControlPlane {
            continue;
        }
        if let Some(id) = rt.bond.handle_arp_tx(clock.now(), &mut buf[HDR..n]) {
            if let Some(s) = rt.slave(id) {
                let _ = s.sock.send_vectored(&[&buf[..n]]);
            }
        }
        rt.drain();
    }
}

/// Control frames received on slave `si` (its socket's filter takes only those: see
/// `BondRt::sync_receive`) reach the core; those it passes up and no data thread delivers go
/// up through the bond's device.
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
        // The data threads (or the fast path) deliver those the core merely reads (ARP,
        // neighbour discovery).
        let elsewhere = is_data_frame(&buf[HDR..n]);
        let checksum = super::bfd::rx_checksum(&buf[..HDR]);
        match rt.bond.handle_frame_with_checksum(clock.now(), id, &buf[HDR..n], checksum) {
            RxVerdict::Deliver if !elsewhere => {
                rt.bond.rx_plan().to_bond(&mut buf[HDR..n]);
                let _ = rt.ctl.send_vectored(&[&buf[..n]]);
            }
            RxVerdict::Deliver => {}
            RxVerdict::Consumed => rt.drain_quietly(super::bfd::is_bfd_packet(&buf[HDR..n])),
            RxVerdict::Drop => {}
        }
    }
}
