//! BFD's timing rules as pure functions (RFC 5880 6.8.2 to 6.8.4 and 6.8.7), and the seeded
//! random source of the transmit jitter.
//!
//! Intervals are in microseconds, as on the wire.

use core::time::Duration;

/// The least Desired Min TX Interval while the session is not Up (RFC 5880 6.8.3: "not less
/// than one second"), in microseconds.
pub const SLOW_TX_INTERVAL: u32 = 1_000_000;

/// The interval between two periodic transmissions before jitter (RFC 5880 6.8.7): the larger
/// of the Desired Min TX Interval in use and the remote's Required Min RX Interval ("the
/// system reporting the slower rate determines the transmission rate").
pub fn tx_interval(desired_min_tx: u32, remote_min_rx: u32) -> u32 {
    desired_min_tx.max(remote_min_rx)
}

/// The Detection Time in Asynchronous mode (RFC 5880 6.8.4): the remote's Detect Mult times
/// the larger of our Required Min RX Interval (the one in use) and the remote's last Desired
/// Min TX Interval. Zero means no detection (neither side asks for packets).
pub fn detection_time(
    remote_detect_mult: u8,
    required_min_rx: u32,
    remote_desired_min_tx: u32,
) -> u64 {
    u64::from(remote_detect_mult) * u64::from(required_min_rx.max(remote_desired_min_tx))
}

/// A microsecond count as a [`Duration`].
pub fn micros(us: u64) -> Duration {
    Duration::from_micros(us)
}

/// A [`Duration`] as whole microseconds for the wire, saturating at `u32::MAX` (71 minutes).
pub fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// The interval to the next periodic transmission (RFC 5880 6.8.7): `interval` reduced by a
/// random 0 to 25 % ("jittered on a per-packet basis by up to 25%"), or by 10 to 25 % when our
/// Detect Mult is 1, so that the remote's Detection Time (one interval) does not pass before
/// the next packet ("no more than 90% ... no less than 75%"). Whole nanoseconds, drawn
/// uniformly.
pub fn jittered(interval_us: u32, detect_mult: u8, rng: &mut Rng) -> Duration {
    let interval = u64::from(interval_us) * 1000;
    let most = interval / 4;
    let least = if detect_mult == 1 { interval / 10 } else { 0 };
    let cut = least + rng.below(most - least + 1);
    Duration::from_nanos(interval - cut)
}

/// A small deterministic PRNG (SplitMix64): the transmit jitter and the choice of
/// discriminators and source ports come from it, so a seed reproduces a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub const fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c908)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in [0, n) (0 when `n` is 0; the modulo bias is below 2^-40 for the
    /// ranges used here).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_formulas() {
        // 6.8.7: the slower side sets the rate.
        assert_eq!(tx_interval(10_000, 50_000), 50_000);
        assert_eq!(tx_interval(300_000, 1), 300_000);
        // 6.8.4: remote mult x max(our RX, their TX).
        assert_eq!(detection_time(3, 10_000, 50_000), 150_000);
        assert_eq!(detection_time(5, 60_000, 40_000), 300_000);
        assert_eq!(detection_time(0, 60_000, 40_000), 0);
        assert_eq!(to_micros(Duration::from_millis(10)), 10_000);
        assert_eq!(to_micros(Duration::from_secs(1 << 40)), u32::MAX);
    }

    #[test]
    fn jitter_stays_in_the_rfc_bounds_and_covers_them() {
        for (mult, lo, hi) in [(3u8, 75.0, 100.0), (1, 75.0, 90.0)] {
            let mut rng = Rng::new(7);
            let (mut min, mut max) = (f64::MAX, 0f64);
            for _ in 0..20_000 {
                let d = jittered(10_000, mult, &mut rng).as_nanos() as f64 / 10_000_000.0 * 100.0;
                assert!((lo..=hi).contains(&d), "mult {mult}: {d}% of the interval");
                min = min.min(d);
                max = max.max(d);
            }
            // The whole range is used, not a corner of it.
            assert!(min < lo + 0.5 && max > hi - 0.5, "mult {mult}: {min}..{max}");
        }
        // Deterministic: a seed gives the same sequence.
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        for _ in 0..100 {
            assert_eq!(jittered(50_000, 3, &mut a), jittered(50_000, 3, &mut b));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        assert_eq!(jittered(0, 3, &mut a), Duration::ZERO);
    }
}
