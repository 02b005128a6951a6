//! The boot the system is in, and the time since it began: what a restarted daemon compares
//! with what its predecessor saved (how long its LACP partner has waited; whether the saved
//! devices can still exist).
#![allow(unsafe_code)]

use std::time::Duration;

use crate::error::{Result, SysError};

/// Time since the system booted (`CLOCK_BOOTTIME`: it counts suspended time too, as the
/// partner's timers do). The same clock for every process of the boot.
pub fn since_boot() -> Duration {
    // SAFETY: all-zero is a valid timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid timespec the call fills; CLOCK_BOOTTIME exists since Linux 2.6.39
    // and the call cannot fail with a valid clock and pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

/// The monotonic clock (`CLOCK_MONOTONIC`, what Rust's `std::time::Instant` reads on Linux
/// and BPF programs' `bpf_ktime_get_ns`), as time since its start.
pub fn monotonic() -> Duration {
    // SAFETY: all-zero is a valid timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid timespec the call fills; the call cannot fail with a valid clock
    // and pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

/// The kernel's identifier of this boot (`/proc/sys/kernel/random/boot_id`).
pub fn boot_id() -> Result<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .map_err(|e| SysError::new("read the boot ID", None, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_clock_moves_and_boot_id_is_a_uuid() {
        let a = since_boot();
        std::thread::sleep(Duration::from_millis(2));
        assert!(since_boot() >= a + Duration::from_millis(2));
        let id = boot_id().expect("boot id");
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(boot_id().expect("again"), id);
    }
}
