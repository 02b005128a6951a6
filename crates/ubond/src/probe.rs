//! The running system's facts for `ubond config lint`'s live checks
//! ([`ubond_config::live`]): speed and duplex through ethtool, bridge membership through
//! `/sys/class/net/IF/brport` and `/sys/class/net/IF/master`, for the interface itself or, for a
//! veth, its peer in the same namespace (rtnetlink's `IFLA_LINK`).

use std::path::Path;

use ubond_config::live::{LinkFacts, LinkProbe};
use ubond_sys::{link, Duplex};

/// Asks the kernel, in the caller's network namespace.
pub struct SystemProbe;

impl LinkProbe for SystemProbe {
    fn probe(&self, name: &str) -> Option<LinkFacts> {
        if name.is_empty() || name.contains('/') || link::ifindex(name).is_err() {
            return None;
        }
        // An interface ethtool cannot ask has no speed for the bonding driver either.
        let (speed, duplex) = link::speed_duplex(name).unwrap_or((None, Duplex::Unknown));
        let mut bridge = bridge_of(name);
        let mut bridge_via = None;
        if bridge.is_none() {
            // A veth whose other end, here, is a bridge port.
            if let Some(peer) =
                link::veth_peer(name).ok().flatten().and_then(|i| link::ifname(i).ok())
            {
                bridge = bridge_of(&peer);
                bridge_via = bridge.as_ref().map(|_| peer);
            }
        }
        Some(LinkFacts { speed, duplex_known: duplex != Duplex::Unknown, bridge, bridge_via })
    }
}

/// The bridge `name` is a port of (`/sys/class/net/NAME/brport`, then `master`).
fn bridge_of(name: &str) -> Option<String> {
    let dir = Path::new("/sys/class/net").join(name);
    if !dir.join("brport").exists() {
        return None;
    }
    std::fs::read_link(dir.join("master"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
}
