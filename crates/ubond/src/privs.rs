//! Dropping what the daemon does not need. After start-up it keeps `CAP_NET_ADMIN` (TAP
//! devices, MAC/MTU/up changes, sysctls under `/proc/sys/net`) and `CAP_NET_RAW` (packet
//! sockets) and nothing else ([`ubond_sys::caps`]).

use anyhow::{Context, Result};
use ubond_sys::caps::{self, Capability};

/// The capabilities the running daemon keeps.
pub const KEEP: [Capability; 2] = [Capability::NetAdmin, Capability::NetRaw];

/// Drops every capability but [`KEEP`] from this thread (call it before starting others: they
/// inherit the sets). Without the kept ones to begin with, says which are missing.
pub fn drop_to_needed() -> Result<()> {
    if !caps::effective_has(&KEEP).context("cannot read the daemon's capabilities")? {
        anyhow::bail!(
            "the daemon needs CAP_NET_ADMIN and CAP_NET_RAW (run it as root, or grant them: \
             AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW in its systemd unit)"
        );
    }
    caps::keep_only(&KEEP)?;
    Ok(())
}
