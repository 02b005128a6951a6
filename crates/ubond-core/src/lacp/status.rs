//! What the report and the data path read: per-port counters and status, the aggregators, the
//! distributing set and the carrier (queries without side effects).

use ubond_wire::slow::PortInfo;
use ubond_wire::MacAddr;

use super::{selection, ChurnState, Lacp, MuxState, PeriodicState, PortId, RxState};

/// Per-port counters. The first nine are those of Linux (`ip -s link xstats type bond`);
/// the others are ubond's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortCounters {
    /// LACPDUs received.
    pub lacpdu_rx: u64,
    /// LACPDUs sent.
    pub lacpdu_tx: u64,
    /// Slow Protocols frames of a subtype other than LACP and Marker.
    pub lacpdu_unknown_rx: u64,
    /// Slow Protocols frames too short to be an LACPDU or Marker PDU.
    pub lacpdu_illegal_rx: u64,
    /// Marker Information PDUs received.
    pub marker_rx: u64,
    /// Marker Information PDUs sent (ubond, like Linux, never sends them).
    pub marker_tx: u64,
    /// Marker Response PDUs received.
    pub marker_resp_rx: u64,
    /// Marker Response PDUs sent.
    pub marker_resp_tx: u64,
    /// Marker PDUs with an unknown TLV type.
    pub marker_unknown_rx: u64,
    /// ubond: LACPDUs that carried our own system ID (a looped link) and were dropped.
    pub loopback_rx: u64,
    /// ubond: Marker Information PDUs left unanswered by the rate limit.
    pub marker_resp_suppressed: u64,
    /// ubond: times the partner's information expired, the Receive machine going from CURRENT
    /// to EXPIRED (no LACPDU within the timeout while the port was up). A port coming up
    /// passes through EXPIRED too; that is not counted.
    pub rx_expired: u64,
    /// ubond: times the Receive machine fell back to the partner defaults (DEFAULTED: no
    /// LACPDU within a further short timeout in EXPIRED).
    pub rx_defaulted: u64,
}

/// A port as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortStatus {
    /// The handle.
    pub id: PortId,
    /// The NIC's permanent MAC.
    pub mac: MacAddr,
    /// Aggregator ID, or `None` if unattached (`Aggregator ID: N/A`).
    pub aggregator_id: Option<u16>,
    /// Our information, as sent in LACPDUs (port number, key, state...).
    pub actor: PortInfo,
    /// The partner's information as recorded (the administrative defaults when DEFAULTED).
    pub partner: PortInfo,
    /// Receive machine state.
    pub rx: RxState,
    /// Periodic Transmission machine state.
    pub periodic: PeriodicState,
    /// Mux machine state.
    pub mux: MuxState,
    /// `Selected`.
    pub selected: bool,
    /// Actor churn state.
    pub actor_churn: ChurnState,
    /// Partner churn state.
    pub partner_churn: ChurnState,
    /// Entries into actor churn.
    pub actor_churn_count: u64,
    /// Entries into partner churn.
    pub partner_churn_count: u64,
    /// Frames received on the port are delivered up.
    pub collecting: bool,
    /// The port carries transmitted frames.
    pub distributing: bool,
    /// `Port_Enabled`.
    pub enabled: bool,
    /// Counters.
    pub counters: PortCounters,
}

/// An aggregator as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorStatus {
    /// Aggregator ID.
    pub id: u16,
    /// Ports attached, in enslave order.
    pub ports: Vec<PortId>,
    /// Attached ports whose link is up (the report's "Number of ports").
    pub active_ports: usize,
    /// Actor operational key.
    pub actor_key: u16,
    /// Partner operational key.
    pub partner_key: u16,
    /// Partner system ID (zero: no partner answered).
    pub partner_system: MacAddr,
    /// The bond's active aggregator.
    pub is_active: bool,
    /// Individual (not aggregatable: half duplex).
    pub is_individual: bool,
}

impl Lacp {
    /// The ports that carry transmitted frames, in enslave order: the distributing ports of
    /// the active aggregator whose link is up (Linux's `usable_slaves` array in 802.3ad).
    pub fn distributing_ports(&self) -> &[PortId] {
        &self.distributing
    }

    /// True if frames received on the port are delivered up.
    pub fn is_collecting(&self, id: PortId) -> bool {
        self.index(id).is_ok_and(|p| self.ports[p].collecting && self.ports[p].port_enabled)
    }

    /// The bond's carrier (Linux `bond_3ad_set_carrier`): an active aggregator with at least
    /// `min_links` enabled ports.
    pub fn carrier(&self) -> bool {
        self.carrier
    }

    /// The ports in enslave order.
    pub fn port_ids(&self) -> impl Iterator<Item = PortId> + '_ {
        self.ports.iter().map(|p| p.id)
    }

    /// A port's state for the report.
    pub fn port_status(&self, id: PortId) -> Option<PortStatus> {
        let p = self.index(id).ok()?;
        let port = &self.ports[p];
        Some(PortStatus {
            id: port.id,
            mac: port.mac,
            aggregator_id: port.aggregator.map(|a| self.aggs[a].id),
            actor: port.actor_info(),
            partner: port.partner_oper,
            rx: port.rx,
            periodic: port.periodic,
            mux: port.mux,
            selected: port.selected,
            actor_churn: port.actor_churn,
            partner_churn: port.partner_churn,
            actor_churn_count: port.actor_churn_count,
            partner_churn_count: port.partner_churn_count,
            collecting: port.collecting && port.port_enabled,
            distributing: self.distributing.contains(&port.id),
            enabled: port.port_enabled,
            counters: port.counters,
        })
    }

    /// The aggregators that have ports, in ID order.
    pub fn aggregators(&self) -> Vec<AggregatorStatus> {
        let mut out: Vec<AggregatorStatus> = self
            .aggs
            .iter()
            .filter(|a| !a.ports.is_empty())
            .map(|a| {
                let mut ports: Vec<usize> = a.ports.clone();
                ports.sort_unstable();
                AggregatorStatus {
                    id: a.id,
                    ports: ports.iter().map(|&q| self.ports[q].id).collect(),
                    active_ports: selection::active_ports(a, &self.ports),
                    actor_key: a.actor_oper_key,
                    partner_key: a.partner_oper_key,
                    partner_system: a.partner_system,
                    is_active: a.is_active,
                    is_individual: a.is_individual,
                }
            })
            .collect();
        out.sort_by_key(|a| a.id);
        out
    }

    /// The active aggregator, if any.
    pub fn active_aggregator(&self) -> Option<AggregatorStatus> {
        self.aggregators().into_iter().find(|a| a.is_active)
    }
}
