//! Micro-BFD (RFC 7130) in the daemon: what the core's sessions need from the system.
//!
//! The sessions themselves run in the core's bond ([`ubond_core::bond::Bond`], `bfd=on`): their
//! packets leave through the slaves' packet sockets like LACPDUs, arrive through the same
//! sockets (whose filter, on the fast path, passes UDP to port 6784 along with the Slow
//! Protocols frames, while the fast path's ingress program keeps them from the stack), and
//! their timers are the bond's, which the event loop waits for: the wait ends at the next
//! deadline, in whole milliseconds rounded up, so a 10 ms session sends within about a
//! millisecond of its schedule without the loop ever spinning. This module adds the rest:
//!
//! * each bond's seed for discriminators, source ports and jitter ([`seed`]): random, so that
//!   discriminators differ across bonds and daemons (RFC 5880 6.8.1);
//! * what the kernel says of a received frame's UDP checksum ([`rx_checksum`]): a packet sent
//!   by a local sender through a veth or tap still carries a partial checksum, left to offload,
//!   which the core must not verify;
//! * which frames are BFD packets ([`is_bfd_packet`]): a packet in or out re-renders the
//!   bond's report only when something the report shows came with it (an event).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use ubond_core::bfd::UdpChecksum;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum is partial (the sender left it to offload).
const NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the device verified the checksum.
const DATA_VALID: u8 = 2;

/// A random seed for a bond's sessions, from the standard library's randomly keyed hasher
/// (seeded from the system's random source once per process, then advanced per call).
pub(super) fn seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x6d69_6372_6f2d_6266);
    h.finish()
}

/// What a received frame's virtio-net header (`vnet_hdr`, in front of it on the slave's
/// socket) says of its checksum.
pub(super) fn rx_checksum(vnet_hdr: &[u8]) -> UdpChecksum {
    match vnet_hdr.first() {
        Some(flags) if flags & (NEEDS_CSUM | DATA_VALID) != 0 => UdpChecksum::Trusted,
        _ => UdpChecksum::Verify,
    }
}

/// Whether `frame` is a micro-BFD packet (UDP to port 6784, untagged), as the core sends and
/// consumes them.
pub(super) fn is_bfd_packet(frame: &[u8]) -> bool {
    ubond_wire::bfd::udp_dst_port(frame) == Some(ubond_wire::bfd::MICRO_BFD_PORT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_and_checksums_follow_the_header() {
        assert_ne!(seed(), seed());
        assert_eq!(rx_checksum(&[0; 10]), UdpChecksum::Verify);
        assert_eq!(rx_checksum(&[NEEDS_CSUM, 0]), UdpChecksum::Trusted);
        assert_eq!(rx_checksum(&[DATA_VALID, 0]), UdpChecksum::Trusted);
        assert_eq!(rx_checksum(&[]), UdpChecksum::Verify);
    }
}
