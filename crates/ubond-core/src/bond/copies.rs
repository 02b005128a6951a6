//! Broadcast's copies of a TCP segment (`tcp_dup_discard`, ubond's, on by default).
//!
//! A broadcast bond sends every frame on every member, so a broadcast bond on the other end
//! (or two switches that both reach it) receives every frame once per member. The Linux driver
//! delivers all of them. For a TCP segment that is pure cost: the receiving TCP keeps the
//! first copy and discards the others as duplicates (RFC 9293 3.10.7.4: a segment whose data
//! lies wholly before `RCV.NXT`, or already in the out-of-order queue), answering each with an
//! immediate acknowledgment carrying a D-SACK block (RFC 2883), which the sender processes in
//! turn. With `tcp_dup_discard` on, the bond keeps the first copy and discards the others
//! before they reach the stack: what TCP receives is what it would have kept.
//!
//! Only segments whose copy cannot differ are taken: TCP with payload, untagged, not
//! fragmented, known by the bond, the frame's length, the addresses and the first 32 octets
//! of the TCP header (ports, sequence and acknowledgment numbers, flags, window, checksum and
//! the first 12 octets of the options, where the timestamps usually are). Data at a sequence
//! number is fixed (RFC 9293 3.4), so a segment with the same header carries the same octets.
//! A copy is one of these arriving on *another* member less than [`COPY_WINDOW`] after the
//! first; the same segment again on the same member (a retransmission) is delivered and
//! remembered afresh, so a broadcast sender's retransmission is delivered once too. Anything
//! else, UDP and ICMP included (`ping` still shows `DUP!`), goes up as the driver sends it.
//!
//! The table is direct-mapped: [`COPY_SLOTS`] slots, the slot chosen by a hash of the key; a
//! segment whose slot a later one took is simply delivered twice, as without the option. The
//! in-kernel fast path keeps the same table in a BPF array (`ubond_copies` in
//! `crates/ubond-sys/bpf/datapath.bpf.c`), with the same key, hash and rule, but no lock (two
//! CPUs writing one slot at the same moment can leave it inconsistent; the program says what
//! that can cost).

use crate::time::Instant;
use core::time::Duration;

/// The slots of the table (a power of two; `COPY_SLOTS` in the BPF program).
pub const COPY_SLOTS: usize = 1024;

/// How long after a segment its copies are recognised (`COPY_WINDOW_NS` in the BPF program).
/// Members' copies arrive microseconds apart on one switch and within a few milliseconds over
/// two; a copy later than this is delivered, as without the option.
pub const COPY_WINDOW: Duration = Duration::from_millis(50);

/// The key's length in 32-bit words.
const KEY_WORDS: usize = 18;

/// What identifies a TCP segment among its copies ([`CopyKey::of`]): each word is four
/// octets read little-endian, as the BPF program reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyKey([u32; KEY_WORDS]);

impl CopyKey {
    /// The key of `frame` (a whole Ethernet frame, as received) on the bond numbered `bond`
    /// (the daemon's bond device index), or `None` if it is not a candidate: not TCP, no
    /// payload, tagged, a fragment, or cut short.
    pub fn of(bond: u32, frame: &[u8]) -> Option<CopyKey> {
        const ETH: usize = 14;
        let word = |b: &[u8], at: usize| {
            b.get(at..at + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        };
        let mut k = [0u32; KEY_WORDS];
        k[0] = bond;
        k[1] = u32::try_from(frame.len()).ok()?;
        let ip = frame.get(ETH..)?;
        let (l4, payload) = match frame.get(12..14)? {
            [0x08, 0x00] => {
                let h = ip.get(..20)?;
                if h[9] != 6 || u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
                    return None;
                }
                let ihl = usize::from(h[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
                if ihl < 20 || total < ihl {
                    return None;
                }
                k[2] = word(h, 12)?;
                k[3] = word(h, 16)?;
                (ETH + ihl, total - ihl)
            }
            [0x86, 0xdd] => {
                let h = ip.get(..40)?;
                if h[6] != 6 {
                    return None;
                }
                for (i, w) in k[2..10].iter_mut().enumerate() {
                    *w = word(h, 8 + i * 4)?;
                }
                (ETH + 40, usize::from(u16::from_be_bytes([h[4], h[5]])))
            }
            _ => return None,
        };
        let mut tcp = [0u8; 32];
        tcp[..20].copy_from_slice(frame.get(l4..l4 + 20)?);
        let doff = usize::from(tcp[12] >> 4) * 4;
        if doff < 20 || payload <= doff {
            return None;
        }
        if doff >= 32 {
            tcp[20..].copy_from_slice(frame.get(l4 + 20..l4 + 32)?);
        }
        for (i, w) in k[10..].iter_mut().enumerate() {
            *w = word(&tcp, i * 4)?;
        }
        Some(CopyKey(k))
    }

    /// The key's slot in [`RxCopies`]: FNV-1a over the words, folded (as the BPF program
    /// computes it).
    pub fn slot(&self) -> usize {
        let h = self.0.iter().fold(2_166_136_261u32, |h, &w| (h ^ w).wrapping_mul(16_777_619));
        (h ^ h >> 16) as usize & (COPY_SLOTS - 1)
    }
}

/// One slot: the last segment delivered there.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: CopyKey,
    /// The member it arrived on (0: an empty slot).
    member: u32,
    at: Instant,
}

/// The segments delivered lately (see the module documentation). One per bond; the members
/// are named by non-zero numbers of the caller's choice (the daemon's interface indexes). The
/// slots (about 84 KiB) are made at the first segment.
#[derive(Debug, Clone, Default)]
pub struct RxCopies {
    slots: Vec<Slot>,
}

impl RxCopies {
    /// Whether the segment `key` arriving on `member` at `now` is another member's copy of one
    /// delivered less than [`COPY_WINDOW`] before (to discard); otherwise it is delivered,
    /// and remembered.
    pub fn is_copy(&mut self, key: &CopyKey, member: u32, now: Instant) -> bool {
        if self.slots.is_empty() {
            self.slots = vec![Slot::default(); COPY_SLOTS];
        }
        let slot = &mut self.slots[key.slot()];
        let copy = slot.member != 0
            && slot.key == *key
            && slot.member != member
            && now.saturating_duration_since(slot.at) < COPY_WINDOW;
        if !copy {
            *slot = Slot { key: *key, member, at: now };
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP/IPv4 segment from 192.0.2.1:40000 to 192.0.2.2:5201 with `payload` octets,
    /// sequence number `seq`, and the timestamps option when `ts` is set.
    fn segment(seq: u32, payload: usize, ts: Option<u32>) -> Vec<u8> {
        let doff = if ts.is_some() { 32 } else { 20 };
        let total = 20 + doff + payload;
        let mut f = vec![0u8; 14 + total];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[192, 0, 2, 1]);
        ip[16..20].copy_from_slice(&[192, 0, 2, 2]);
        let tcp = &mut f[34..34 + doff];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&5201u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[12] = ((doff / 4) as u8) << 4;
        tcp[13] = 0x18; // PSH, ACK
        if let Some(ts) = ts {
            tcp[20..24].copy_from_slice(&[1, 1, 8, 10]);
            tcp[24..28].copy_from_slice(&ts.to_be_bytes());
        }
        f
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn candidates_are_tcp_segments_with_payload_untagged_unfragmented() {
        assert!(CopyKey::of(7, &segment(1, 100, None)).is_some());
        assert!(CopyKey::of(7, &segment(1, 100, Some(5))).is_some());
        // A pure ACK: identical ones are duplicate ACKs, which TCP counts.
        assert_eq!(CopyKey::of(7, &segment(1, 0, None)), None);
        // UDP.
        let mut udp = segment(1, 100, None);
        udp[14 + 9] = 17;
        assert_eq!(CopyKey::of(7, &udp), None);
        // A fragment (more fragments set).
        let mut frag = segment(1, 100, None);
        frag[14 + 6] = 0x20;
        assert_eq!(CopyKey::of(7, &frag), None);
        // A VLAN tag in line.
        let mut tagged = segment(1, 100, None);
        tagged[12..14].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(CopyKey::of(7, &tagged), None);
        // Cut short inside the TCP header.
        assert_eq!(CopyKey::of(7, &segment(1, 100, None)[..40]), None);
        // IPv6.
        let mut v6 = vec![0u8; 14 + 40 + 20 + 10];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[14] = 0x60;
        v6[14 + 4..14 + 6].copy_from_slice(&30u16.to_be_bytes());
        v6[14 + 6] = 6;
        v6[14 + 40 + 12] = 5 << 4;
        assert!(CopyKey::of(7, &v6).is_some());
        v6[14 + 6] = 17;
        assert_eq!(CopyKey::of(7, &v6), None);
    }

    #[test]
    fn the_key_tells_segments_apart_by_bond_sequence_timestamp_and_length() {
        let key = |bond, f: &[u8]| CopyKey::of(bond, f).unwrap();
        let a = segment(1, 100, Some(5));
        assert_eq!(key(7, &a), key(7, &a.clone()));
        assert_ne!(key(7, &a), key(8, &a));
        assert_ne!(key(7, &a), key(7, &segment(2, 100, Some(5))));
        assert_ne!(key(7, &a), key(7, &segment(1, 100, Some(6))));
        assert_ne!(key(7, &a), key(7, &segment(1, 101, Some(5))));
    }

    /// The rule, one arrival per row: (member, ms, same segment as row 0, discarded).
    #[test]
    fn a_copy_is_the_same_segment_on_another_member_within_the_window() {
        let first = CopyKey::of(7, &segment(1, 100, Some(5))).unwrap();
        let other = CopyKey::of(7, &segment(2, 100, Some(5))).unwrap();
        let rows: &[(u32, u64, bool, bool)] = &[
            (1, 0, true, false),   // the first copy: delivered
            (2, 0, true, true),    // the second member's copy: discarded
            (3, 1, true, true),    // a third member's too
            (1, 2, true, false),   // again on the first member: a retransmission, delivered
            (2, 2, true, true),    // and its copy discarded
            (2, 3, false, false),  // another segment: delivered
            (1, 3, false, true),   // its copy on the first member
            (1, 60, true, false),  // 58 ms later: past the window, delivered
            (2, 110, true, false), // 50 ms after that, on another member: delivered
        ];
        let mut copies = RxCopies::default();
        for (i, &(member, ms, same, discarded)) in rows.iter().enumerate() {
            let key = if same { &first } else { &other };
            assert_eq!(copies.is_copy(key, member, at(ms)), discarded, "row {i}");
        }
    }

    proptest::proptest! {
        /// Any bytes (with an IP EtherType and TCP's protocol number more often than chance):
        /// a key or none, never a panic; and a key only with payload past the TCP header.
        #[test]
        fn any_frame_gives_a_key_or_none(
            mut frame in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            v6: bool,
        ) {
            if frame.len() > 23 {
                frame[12..14].copy_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
                frame[if v6 { 20 } else { 23 }] = 6;
            }
            if let Some(k) = CopyKey::of(1, &frame) {
                proptest::prop_assert!(frame.len() >= 14 + 20 + 20);
                proptest::prop_assert!(k.slot() < COPY_SLOTS);
            }
        }
    }

    #[test]
    fn a_segment_whose_slot_was_taken_is_delivered_again() {
        let first = CopyKey::of(7, &segment(1, 100, None)).unwrap();
        // Another segment in the same slot.
        let rival = (2..)
            .map(|seq| CopyKey::of(7, &segment(seq, 100, None)).unwrap())
            .find(|k| k.slot() == first.slot())
            .unwrap();
        let mut copies = RxCopies::default();
        assert!(!copies.is_copy(&first, 1, at(0)));
        assert!(!copies.is_copy(&rival, 1, at(0)));
        assert!(!copies.is_copy(&first, 2, at(0)), "the slot forgot the first segment");
    }
}
