//! Dropping what the daemon does not need. After start-up it keeps `CAP_NET_ADMIN` (TAP
//! devices, MAC/MTU/up changes, sysctls under `/proc/sys/net`) and `CAP_NET_RAW` (packet
//! sockets) and nothing else: the other capabilities leave the effective, permitted,
//! inheritable and bounding sets, and `no_new_privs` is set, so neither the daemon nor anything
//! it could be tricked into executing regains them.

use anyhow::{Context, Result};
use rustix::thread::{
    capabilities, remove_capability_from_bounding_set, set_capabilities, set_no_new_privs,
    CapabilitySet, CapabilitySets,
};

/// The capabilities the running daemon keeps.
pub const KEEP: CapabilitySet = CapabilitySet::NET_ADMIN.union(CapabilitySet::NET_RAW);

/// Drops every capability but [`KEEP`] from this thread (call it before starting others: they
/// inherit the sets). Without the kept ones to begin with, says which are missing.
pub fn drop_to_needed() -> Result<()> {
    let now = capabilities(None).context("cannot read the daemon's capabilities")?;
    if !now.effective.contains(KEEP) {
        anyhow::bail!(
            "the daemon needs CAP_NET_ADMIN and CAP_NET_RAW (run it as root, or grant them: \
             AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW in its systemd unit)"
        );
    }
    // The bounding set first: dropping from it needs CAP_SETPCAP, which goes next.
    if now.effective.contains(CapabilitySet::SETPCAP) {
        for bit in 0..64 {
            let cap = CapabilitySet::from_bits_retain(1 << bit);
            if !KEEP.contains(cap) {
                // Bits the kernel does not know fail with EINVAL: nothing to drop there.
                let _ = remove_capability_from_bounding_set(cap);
            }
        }
    }
    set_capabilities(
        None,
        CapabilitySets { effective: KEEP, permitted: KEEP, inheritable: CapabilitySet::empty() },
    )
    .context("cannot drop capabilities")?;
    set_no_new_privs(true).context("cannot set no_new_privs")?;
    Ok(())
}
