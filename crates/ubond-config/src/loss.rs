//! What a conversion could not keep: each fact a target format cannot hold is one [`Loss`],
//! written as a comment in the output and returned to the caller (which prints it and, for
//! `ubond config convert`, fails unless told the loss is accepted).

use std::fmt;

use crate::finding::Span;
use crate::model::{BondConfig, Fact, SourceFile};

/// One fact of a bond that the target format could not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// The bond.
    pub bond: String,
    /// The fact.
    pub fact: Fact,
    /// The fact as a user reads it (`mtu 9000`, `route 198.51.100.0/24 via 192.0.2.254`).
    pub what: String,
    /// Why it is not written, or what was written instead.
    pub why: String,
    /// Where the fact was written in the source, when known.
    pub at: Option<Span>,
}

impl fmt::Display for Loss {
    /// `/etc/netplan/01.yaml:9:7: bond0: mtu 9000 not written: ovs-vsctl add-bond cannot hold it`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        write!(f, "{}: {} not written: {}", self.bond, self.what, self.why)
    }
}

/// A conversion's files and what they could not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversion {
    /// The files written.
    pub files: Vec<SourceFile>,
    /// Every fact that is not in them as it was (also written as comments in them).
    pub losses: Vec<Loss>,
}

impl Conversion {
    /// Whether everything was kept.
    pub fn is_lossless(&self) -> bool {
        self.losses.is_empty()
    }
}

/// The emitters' record of losses.
#[derive(Debug, Default)]
pub(crate) struct Lost {
    pub losses: Vec<Loss>,
}

impl Lost {
    /// Records that `fact` of `b` is not written, and returns the comment text for it
    /// (`mtu 9000 not written: ...`).
    pub fn add(
        &mut self,
        b: &BondConfig,
        fact: Fact,
        what: impl Into<String>,
        why: impl Into<String>,
    ) -> String {
        let loss = Loss {
            bond: b.name.clone(),
            at: b.fact_span(&fact).cloned(),
            fact,
            what: what.into(),
            why: why.into(),
        };
        let text = format!("{}: {} not written: {}", loss.bond, loss.what, loss.why);
        self.losses.push(loss);
        text
    }

    /// The loss of `b`'s routing-only DNS domains, for a format that has search domains only
    /// (`None` when there are none).
    pub fn routing_domains(&mut self, b: &BondConfig, format: &str) -> Option<String> {
        if b.dns.routing_domains.is_empty() {
            return None;
        }
        let d: Vec<String> = b.dns.routing_tilde().collect();
        Some(self.add(
            b,
            Fact::RoutingDomains,
            format!("routing-only domains {}", d.join(" ")),
            format!("{format} has search domains only (which also complete names)"),
        ))
    }

    /// The losses every format shares: lines ubond does not model, and (for a format that
    /// cannot write Open vSwitch bonds) the OVS spelling of the bond.
    pub fn common(&mut self, b: &BondConfig, ovs_capable: bool, format: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in &b.extras {
            out.push(self.add(
                b,
                Fact::Extra(e.clone()),
                format!("'{e}'"),
                "ubond does not convert this",
            ));
        }
        if let Some(o) = &b.ovs {
            if !ovs_capable {
                let settings: Vec<String> =
                    o.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push(self.add(
                    b,
                    Fact::Ovs,
                    format!("Open vSwitch bond on bridge {} ({})", o.bridge, settings.join(" ")),
                    format!(
                        "{format} writes kernel bonds: written as mode {}{}",
                        b.options.mode.name(),
                        ovs_difference(b)
                    ),
                ));
            }
        }
        out
    }
}

/// How an OVS bond's kernel reading differs from OVS, for the loss line.
fn ovs_difference(b: &BondConfig) -> String {
    let o = &b.options;
    let mut parts = Vec::new();
    if matches!(
        o.mode,
        ubond_core::options::Mode::BalanceXor | ubond_core::options::Mode::Ieee8023ad
    ) {
        parts.push(format!("xmit_hash_policy {}", o.xmit_hash_policy));
    }
    if o.lacp_fallback {
        parts.push("lacp_fallback 1".to_owned());
    }
    if o.miimon != 0 {
        parts.push(format!("miimon {}", o.miimon));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" with {}", parts.join(", "))
    }
}
