//! Checks against the running system: what the slaves named in a configuration really are.
//!
//! The facts come from a [`LinkProbe`] (the binary asks the kernel; tests give a fake), so the
//! checks themselves stay pure:
//!
//! * **802.3ad over a NIC that reports no speed or duplex** (virtio-net without speed
//!   properties, some taps, dummy): Linux's bonding refuses to aggregate it ("failed to get
//!   link speed/duplex"); ubond assumes 10000 Mb/s full duplex. A warning.
//! * **LACP members attached to a Linux bridge** (ports of it, or veths whose peer in the same
//!   namespace is): a Linux bridge never forwards
//!   01:80:c2:00:00:02 (`group_fwd_mask` refuses the Slow Protocols address), so LACPDUs do
//!   not cross it and the bond never negotiates. An error.
//!
//! Interfaces that do not exist on this system are not checked (the configuration may be for
//! another machine, or the NIC may appear later).

use ubond_core::options::Mode;

use crate::finding::{Finding, Span};
use crate::model::{BondConfig, ConfigSet};

/// What the running system says about one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// Speed in Mb/s, `None` when the driver reports none (or cannot be asked).
    pub speed: Option<u32>,
    /// Whether the driver reports a duplex (half or full).
    pub duplex_known: bool,
    /// The Linux bridge the interface is attached to, if any: it is a port of it
    /// (`/sys/class/net/IF/brport`), or its veth peer is ([`LinkFacts::bridge_via`]).
    pub bridge: Option<String>,
    /// The veth peer through which [`LinkFacts::bridge`] is reached (`None`: a port itself).
    pub bridge_via: Option<String>,
}

/// The source of [`LinkFacts`].
pub trait LinkProbe {
    /// The facts about interface `name`, `None` if there is no such interface here.
    fn probe(&self, name: &str) -> Option<LinkFacts>;
}

fn slave_span(b: &BondConfig, slave: &str) -> Span {
    b.spans
        .slaves
        .get(slave)
        .or(b.spans.bond.as_ref())
        .cloned()
        .unwrap_or_else(|| Span::new("<config>", 1, 1))
}

/// The live checks on `set`'s slaves (see the module docs), at the place each slave is named.
pub fn check(set: &ConfigSet, probe: &dyn LinkProbe) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in set.bonds.iter().filter(|b| b.options.mode == Mode::Ieee8023ad) {
        for slave in &b.slaves {
            let Some(facts) = probe.probe(slave) else { continue };
            let at = slave_span(b, slave);
            if facts.speed.is_none() || !facts.duplex_known {
                out.push(
                    Finding::warning(
                        &at,
                        format!(
                            "'{slave}' reports no speed/duplex: Linux's bonding refuses it in 802.3ad (\"failed to get link speed/duplex\"); ubond assumes 10000 Mb/s full duplex for it"
                        ),
                    )
                    .with_fix(format!(
                        "nothing with ubond; for the kernel's bonding give the NIC a speed (virtio-net: `ethtool -s {slave} speed 10000 duplex full`, or the device's speed= property) or use a NIC that reports one"
                    )),
                );
            }
            if let Some(br) = &facts.bridge {
                out.push(
                    Finding::error(
                        &at,
                        format!(
                            "'{slave}' of 802.3ad bond '{}' {}a port of Linux bridge '{br}': LACPDUs (01:80:c2:00:00:02) never cross a Linux bridge (group_fwd_mask cannot forward them), so LACP will not negotiate",
                            b.name,
                            match &facts.bridge_via {
                                Some(p) => format!("is a veth whose peer '{p}' is "),
                                None => "is ".to_owned(),
                            }
                        ),
                    )
                    .with_fix(format!(
                        "take '{}' out of '{br}' and link the bond directly to its peer, to a switch with LACP bonds, or through Open vSwitch; or use a mode without LACP (active-backup, balance-xor)",
                        facts.bridge_via.as_deref().unwrap_or(slave)
                    )),
                );
            }
        }
    }
    out
}
