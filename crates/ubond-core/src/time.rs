//! Time as the core sees it: instants passed in by the driver, never read from a clock.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, in nanoseconds since an epoch the driver chooses (the daemon uses the
/// monotonic clock, the lab its virtual clock). Instants passed to the core must never go
/// backwards; arithmetic saturates instead of panicking.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the epoch.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since the epoch.
    pub const fn since_epoch(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, d: Duration) -> Instant {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}.{:09}s", self.0 / 1_000_000_000, self.0 % 1_000_000_000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000_000_000, (self.0 / 1_000_000) % 1000)
    }
}

/// A timer of a [`TimerTable`]: a field-less enum whose `COUNT` variants are numbered from 0
/// (`timer as usize`), so every timer has a slot and no slot is out of range.
pub(crate) trait Timer: Copy {
    /// How many timers (variants) there are.
    const COUNT: usize;
    /// The timer's slot: `self as usize`, below [`Timer::COUNT`].
    fn slot(self) -> usize;
}

/// A table of optional deadlines, one per timer of the enum `T` (quinn's `TimerTable`): a timer
/// is *running* while it has a deadline and *expired* once `now` has reached it. `N` is
/// `T::COUNT` (checked when the table is made); name the table with a type alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimerTable<T, const N: usize> {
    deadlines: [Option<Instant>; N],
    timer: PhantomData<T>,
}

impl<T: Timer, const N: usize> Default for TimerTable<T, N> {
    fn default() -> Self {
        const { assert!(N == T::COUNT, "a TimerTable has one slot per timer") };
        TimerTable { deadlines: [None; N], timer: PhantomData }
    }
}

impl<T: Timer, const N: usize> TimerTable<T, N> {
    /// Starts (or restarts) `timer`: it expires `after` from `now`.
    pub(crate) fn start(&mut self, timer: T, now: Instant, after: Duration) {
        self.deadlines[timer.slot()] = Some(now + after);
    }

    /// Stops `timer` (it never expires until started again).
    pub(crate) fn stop(&mut self, timer: T) {
        self.deadlines[timer.slot()] = None;
    }

    /// True if the timer runs and its deadline has been reached.
    pub(crate) fn expired(&self, timer: T, now: Instant) -> bool {
        self.deadlines[timer.slot()].is_some_and(|d| d <= now)
    }

    /// The earliest deadline of all running timers.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_saturate() {
        let t = Instant::from_millis(1500);
        assert_eq!(t + Duration::from_millis(500), Instant::from_millis(2000));
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(Instant::from_nanos(u64::MAX) + Duration::MAX, Instant::from_nanos(u64::MAX));
        assert_eq!(format!("{t}"), "1.500s");
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum T {
        A,
        B,
    }

    impl Timer for T {
        const COUNT: usize = 2;
        fn slot(self) -> usize {
            self as usize
        }
    }

    #[test]
    fn timer_table() {
        let mut tt = TimerTable::<T, 2>::default();
        assert_eq!(tt.next(), None);
        tt.start(T::B, Instant::ZERO, Duration::from_secs(3));
        tt.start(T::A, Instant::ZERO, Duration::from_secs(5));
        assert_eq!(tt.next(), Some(Instant::from_millis(3000)));
        assert!(!tt.expired(T::B, Instant::from_millis(2999)));
        assert!(tt.expired(T::B, Instant::from_millis(3000)));
        tt.stop(T::B);
        assert!(!tt.expired(T::B, Instant::from_millis(3000)), "a stopped timer never expires");
        assert_eq!(tt.next(), Some(Instant::from_millis(5000)));
        tt.stop(T::A);
        assert_eq!(tt.next(), None);
    }
}
