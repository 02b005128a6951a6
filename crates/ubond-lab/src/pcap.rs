//! Captures in the classic pcap format (nanosecond timestamps, Ethernet link type), readable
//! by tcpdump, tshark and Wireshark. Written by hand: 24 octets of file header, then 16
//! octets of record header per frame.

use ubond_core::time::Instant;

/// The nanosecond-resolution pcap magic number.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// The snapshot length written in the header.
pub const SNAPLEN: u32 = 65_535;

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// When it was delivered (virtual time).
    pub at: Instant,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// The bytes of a pcap file holding `frames` (each cut to [`SNAPLEN`] octets).
pub fn write(frames: &[Captured]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.frame.len()).sum::<usize>());
    out.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&SNAPLEN.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    for f in frames {
        let ns = f.at.as_nanos();
        let secs = u32::try_from(ns / 1_000_000_000).unwrap_or(u32::MAX);
        let nanos = u32::try_from(ns % 1_000_000_000).unwrap_or(0);
        let orig = u32::try_from(f.frame.len()).unwrap_or(u32::MAX);
        let incl = orig.min(SNAPLEN);
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&nanos.to_le_bytes());
        out.extend_from_slice(&incl.to_le_bytes());
        out.extend_from_slice(&orig.to_le_bytes());
        out.extend_from_slice(&f.frame[..incl as usize]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let f = Captured { at: Instant::from_nanos(1_500_000_001), frame: vec![0xaa; 60] };
        let b = write(&[f]);
        assert_eq!(b.len(), 24 + 16 + 60);
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(&b[20..24], &[1, 0, 0, 0]);
        assert_eq!(&b[24..28], &1u32.to_le_bytes());
        assert_eq!(&b[28..32], &500_000_001u32.to_le_bytes());
        assert_eq!(&b[32..36], &60u32.to_le_bytes());
    }
}
