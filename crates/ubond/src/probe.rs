//! The running system's facts for `ubond config lint`'s live checks
//! ([`ubond_config::live`]): speed and duplex through ethtool, bridge membership through
//! `/sys/class/net/IF/brport` and `/sys/class/net/IF/master`.

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
        let dir = Path::new("/sys/class/net").join(name);
        let bridge = if dir.join("brport").exists() {
            std::fs::read_link(dir.join("master"))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        } else {
            None
        };
        Some(LinkFacts { speed, duplex_known: duplex != Duplex::Unknown, bridge })
    }
}
