//! The daemon's one time source.

use ubond_core::time::Instant;

/// The monotonic clock, read as [`Instant`]s of `ubond-core`: nanoseconds since the daemon
/// started.
///
/// One value is made at start-up ([`Clock::start`]) and handed to what needs the time; nothing
/// else in the daemon reads a clock, so every deadline (the core's timers, a frame waiting for
/// room, a control connection's) is on the same scale and a test or a restarted daemon can
/// change the epoch in one place. (A daemon adopting another's saved state will need an epoch
/// both share, such as the boot: that is this type's business alone.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub(crate) fn start() -> Clock {
        Clock { epoch: std::time::Instant::now() }
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
    }
}
