//! The service manager's notification protocol (`sd_notify(3)`): readiness, stopping, the
//! watchdog and a status line, sent as datagrams to `$NOTIFY_SOCKET` (systemd's `Type=notify`
//! services). Without `$NOTIFY_SOCKET` every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// The daemon's link to its service manager.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceManager {
    watchdog: Option<Duration>,
}

impl ServiceManager {
    /// Reads the watchdog setting (`$WATCHDOG_USEC`, for this process) from the environment.
    pub fn from_env() -> ServiceManager {
        ServiceManager { watchdog: sd_notify::watchdog_enabled() }
    }

    /// How often to call [`ServiceManager::watchdog`]: half the service manager's watchdog
    /// timeout, as `sd_watchdog_enabled(3)` advises; `None` without a watchdog.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    /// Start-up is done (`READY=1`), with a status line.
    pub fn ready(&self, status: &str) {
        notify(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// The daemon is stopping (`STOPPING=1`), with a status line.
    pub fn stopping(&self, status: &str) {
        notify(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// A new status line (`STATUS=...`).
    pub fn status(&self, status: &str) {
        notify(&[NotifyState::Status(status)]);
    }

    /// The daemon is alive (`WATCHDOG=1`).
    pub fn watchdog(&self) {
        if self.watchdog.is_some() {
            notify(&[NotifyState::Watchdog]);
        }
    }
}

/// Sends `state`; a service manager that is gone is not the daemon's concern.
fn notify(state: &[NotifyState]) {
    let _ = sd_notify::notify(state);
}
