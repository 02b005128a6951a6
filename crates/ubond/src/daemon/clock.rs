//! The daemon's one time source.

use ubond_core::time::Instant;

/// The monotonic clock, read as [`Instant`]s of `ubond-core`: nanoseconds since the daemon
/// started.
///
/// One value is made at start-up ([`Clock::start`]) and handed to what needs the time; nothing
/// else in the daemon reads a clock, so every deadline (the core's timers, a frame waiting for
/// room, a control connection's) is on the same scale and a test or a restarted daemon can
/// change the epoch in one place. What daemons share — a time saved by one and read by the
/// next — is said in time since the boot ([`Clock::since_boot`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: std::time::Instant,
    /// Time since the boot at `epoch`.
    boot_at_epoch: std::time::Duration,
    /// The monotonic clock (the kernel's `bpf_ktime_get_ns`) at `epoch`.
    mono_at_epoch: std::time::Duration,
}

impl Clock {
    /// A clock whose epoch is now.
    pub(crate) fn start() -> Clock {
        let boot_at_epoch = ubond_sys::boot::since_boot();
        let mono_at_epoch = ubond_sys::boot::monotonic();
        Clock { epoch: std::time::Instant::now(), boot_at_epoch, mono_at_epoch }
    }

    /// The monotonic clock's reading at this clock's epoch, in nanoseconds: a kernel time
    /// `t` (`bpf_ktime_get_ns`) is `t - monotonic_at_epoch()` on this clock.
    pub(crate) fn monotonic_at_epoch(&self) -> u64 {
        u64::try_from(self.mono_at_epoch.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Instant `t` of this clock as time since the boot, the scale daemons share.
    pub(crate) fn since_boot(&self, t: Instant) -> std::time::Duration {
        self.boot_at_epoch + t.since_epoch()
    }

    /// The time now. Never goes backwards (the OS's monotonic clock), saturating after
    /// 584 years.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_near_zero_and_never_goes_back() {
        let clock = Clock::start();
        let a = clock.now();
        assert!(a.since_epoch() < std::time::Duration::from_secs(5), "{a}");
        let b = clock.now();
        assert!(b >= a);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(clock.now().saturating_duration_since(a) >= std::time::Duration::from_millis(2));
        // The boot scale agrees with the system's, within the time these lines take.
        let boot = ubond_sys::boot::since_boot();
        let ours = clock.since_boot(clock.now());
        assert!(
            ours <= boot + std::time::Duration::from_millis(50)
                && boot <= ours + std::time::Duration::from_millis(50)
        );
        // So does the monotonic scale (the kernel's time for the fast path).
        let mono = u64::try_from(ubond_sys::boot::monotonic().as_nanos()).unwrap();
        let ours = clock.monotonic_at_epoch() + clock.now().as_nanos();
        assert!(mono.abs_diff(ours) < 50_000_000, "{mono} {ours}");
    }
}
