//! The whole-bond invariants of the LACP core, checked from outside after any input (the core's
//! tests after every step, the lab after every step of every simulated bond). A violation is a
//! bug in the core, never the fault of the peer or the caller.

use core::fmt;

use ubond_wire::slow::PortState;

use super::{Lacp, PortId, MAX_PASSES};

/// An invariant of one bond's LACP that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvariantViolation {
    /// More than one aggregator is active.
    TwoActiveAggregators {
        /// One active aggregator's ID.
        first: u16,
        /// Another one's.
        second: u16,
    },
    /// An aggregator lists a port that is not in the bond.
    MissingPortListed {
        /// The aggregator's ID.
        aggregator: u16,
    },
    /// An aggregator lists a port twice.
    PortListedTwice {
        /// The aggregator's ID.
        aggregator: u16,
        /// The port.
        port: PortId,
    },
    /// A port listed in an aggregator is attached to another aggregator (or to none).
    ListedElsewhere {
        /// The aggregator listing the port.
        aggregator: u16,
        /// The port.
        port: PortId,
        /// The aggregator the port is attached to.
        attached: Option<u16>,
    },
    /// A port attached to an aggregator is not among its ports.
    AttachedUnlisted {
        /// The port.
        port: PortId,
        /// The aggregator it is attached to.
        aggregator: u16,
    },
    /// A port carries transmitted frames but does not deliver what it receives.
    DistributingNotCollecting {
        /// The port.
        port: PortId,
    },
    /// A port carries transmitted frames outside the active aggregator.
    DistributingOutsideActive {
        /// The port.
        port: PortId,
        /// The aggregator it is attached to.
        attached: Option<u16>,
    },
    /// A port announces Distributing without Collecting.
    AnnouncesDistributingNotCollecting {
        /// The port.
        port: PortId,
    },
    /// A port announces Distributing while not selected.
    AnnouncesDistributingUnselected {
        /// The port.
        port: PortId,
    },
    /// The machines did not settle within [`MAX_PASSES`] passes after some inputs.
    Unsettled {
        /// How many times.
        count: u64,
    },
}

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InvariantViolation as V;
        match self {
            V::TwoActiveAggregators { first, second } => {
                write!(f, "more than one active aggregator ({first} and {second})")
            }
            V::MissingPortListed { aggregator } => {
                write!(f, "aggregator {aggregator} lists a port that is not in the bond")
            }
            V::PortListedTwice { aggregator, port } => {
                write!(f, "aggregator {aggregator} lists {port} twice")
            }
            V::ListedElsewhere { aggregator, port, attached } => {
                write!(f, "{port} listed in aggregator {aggregator} but attached to {attached:?}")
            }
            V::AttachedUnlisted { port, aggregator } => {
                write!(f, "{port} attached to aggregator {aggregator}, which does not list it")
            }
            V::DistributingNotCollecting { port } => {
                write!(f, "{port} distributing but not collecting")
            }
            V::DistributingOutsideActive { port, attached } => write!(
                f,
                "{port} distributing but attached to {attached:?}, not the active aggregator"
            ),
            V::AnnouncesDistributingNotCollecting { port } => {
                write!(f, "{port} announces Distributing without Collecting")
            }
            V::AnnouncesDistributingUnselected { port } => {
                write!(f, "{port} announces Distributing but is not selected")
            }
            V::Unsettled { count } => {
                write!(f, "the machines did not settle within {MAX_PASSES} passes ({count} times)")
            }
        }
    }
}

impl std::error::Error for InvariantViolation {}

impl Lacp {
    /// Checks the bond's invariants: at most one active aggregator; each aggregator lists
    /// each of its ports once, and exactly the ports attached to it; a port that carries
    /// frames collects and belongs to the active aggregator; a port that announces
    /// Distributing announces Collecting and is selected; every input settled. The first
    /// violation found is returned.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        use InvariantViolation as V;
        let mut active = self.aggs.iter().filter(|a| a.is_active).map(|a| a.id);
        let active_id = active.next();
        if let (Some(first), Some(second)) = (active_id, active.next()) {
            return Err(V::TwoActiveAggregators { first, second });
        }
        let agg_id = |a: Option<usize>| a.and_then(|a| self.aggs.get(a)).map(|agg| agg.id);
        for (a, agg) in self.aggs.iter().enumerate() {
            for (k, &q) in agg.ports.iter().enumerate() {
                let Some(port) = self.ports.get(q) else {
                    return Err(V::MissingPortListed { aggregator: agg.id });
                };
                if agg.ports[..k].contains(&q) {
                    return Err(V::PortListedTwice { aggregator: agg.id, port: port.id });
                }
                if port.aggregator != Some(a) {
                    let attached = agg_id(port.aggregator);
                    return Err(V::ListedElsewhere { aggregator: agg.id, port: port.id, attached });
                }
            }
        }
        for (p, port) in self.ports.iter().enumerate() {
            if let Some(a) = port.aggregator {
                if !self.aggs.get(a).is_some_and(|agg| agg.ports.contains(&p)) {
                    let aggregator = agg_id(Some(a)).unwrap_or(0);
                    return Err(V::AttachedUnlisted { port: port.id, aggregator });
                }
            }
            let id = port.id;
            if self.distributing.contains(&id) {
                if !(port.collecting && port.port_enabled) {
                    return Err(V::DistributingNotCollecting { port: id });
                }
                let attached = agg_id(port.aggregator);
                if attached.is_none() || attached != active_id {
                    return Err(V::DistributingOutsideActive { port: id, attached });
                }
            }
            let state = port.actor_oper_state;
            if state.has(PortState::DISTRIBUTING) {
                if !state.has(PortState::COLLECTING) {
                    return Err(V::AnnouncesDistributingNotCollecting { port: id });
                }
                if !port.selected {
                    return Err(V::AnnouncesDistributingUnselected { port: id });
                }
            }
        }
        if self.unsettled > 0 {
            return Err(V::Unsettled { count: self.unsettled });
        }
        Ok(())
    }
}
