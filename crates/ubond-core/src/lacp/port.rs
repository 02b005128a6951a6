//! The per-port variables of IEEE 802.1AX-2014 6.4.7 and the functions of 6.4.9 that the
//! machines share (recordPDU, recordDefault, update_Selected, update_Default_Selected,
//! update_NTT), named as the standard and Linux's `bond_3ad.c` name them.

use core::time::Duration;

use ubond_wire::slow::{LacpduRepr, PortInfo, PortState};
use ubond_wire::MacAddr;

use super::churn::ChurnState;
use super::mux::MuxState;
use super::periodic::PeriodicState;
use super::receive::RxState;
use super::{PortCounters, PortId};
use crate::time::{Instant, TimerTable};

/// Short_Timeout_Time (802.1AX-2014 6.4.4): 3 s.
pub const SHORT_TIMEOUT_TIME: Duration = Duration::from_secs(3);
/// Long_Timeout_Time (802.1AX-2014 6.4.4): 90 s.
pub const LONG_TIMEOUT_TIME: Duration = Duration::from_secs(90);

/// The timers of a port (802.1AX-2014 6.4.8), indexes into its [`TimerTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortTimer {
    CurrentWhile = 0,
    Periodic = 1,
    WaitWhile = 2,
    ActorChurn = 3,
    PartnerChurn = 4,
}

/// Number of [`PortTimer`]s.
pub(crate) const PORT_TIMERS: usize = 5;

/// The administrative partner defaults Linux uses (`ad_initialize_port`'s template): what a
/// DEFAULTED port reports as its partner. Kernels before 5.15 used port state 1 instead of 0.
pub const PARTNER_ADMIN_DEFAULTS: PortInfo = PortInfo {
    system_priority: 0xffff,
    system: MacAddr::ZERO,
    key: 1,
    port_priority: 0xff,
    port: 1,
    state: PortState(0),
};

/// One aggregation port: an enslaved NIC as LACP sees it.
#[derive(Debug, Clone)]
pub(crate) struct Port {
    pub id: PortId,
    /// The NIC's permanent MAC: source address of our Slow Protocols frames.
    pub mac: MacAddr,
    pub actor_port_number: u16,
    pub actor_port_priority: u16,
    pub actor_system: MacAddr,
    pub actor_system_priority: u16,
    pub actor_admin_port_key: u16,
    pub actor_oper_port_key: u16,
    pub actor_oper_state: PortState,
    pub partner_admin: PortInfo,
    pub partner_oper: PortInfo,

    /// `Port_Enabled`: the link is up (and usable).
    pub port_enabled: bool,
    /// `LACP_Enabled`: the link is full duplex.
    pub lacp_enabled: bool,
    /// Link speed in Mbit/s used for the key and bandwidth (after the unknown-speed policy).
    pub speed_mbps: u32,
    pub begin: bool,
    pub selected: bool,
    pub ready_n: bool,
    pub matched: bool,
    pub ntt: bool,
    /// When the Transmit machine first saw NTT set (the LACPDU leaves `tx_coalesce` later).
    pub ntt_at: Option<Instant>,
    /// Index of the aggregator the port is attached to.
    pub aggregator: Option<usize>,

    pub rx: RxState,
    pub periodic: PeriodicState,
    pub mux: MuxState,
    pub actor_churn: ChurnState,
    pub partner_churn: ChurnState,
    pub actor_churn_count: u64,
    pub partner_churn_count: u64,
    /// Linux `AD_PORT_CHURNED`: the Receive machine asks the churn machines to start over.
    pub churn_trigger: bool,

    /// Data path: frames received on the port are delivered (Linux: slave "active" for rx).
    pub collecting: bool,
    /// Data path: the port may carry transmitted frames.
    pub distributing: bool,

    pub timers: TimerTable<PORT_TIMERS>,
    /// Times of the last three LACPDUs sent, for the rate limit of 6.4.16.
    pub tx_history: [Option<Instant>; 3],
    pub counters: PortCounters,
}

impl Port {
    /// The PDU's partner fields match our actor values (`__choose_matched`, 802.1AX-2014 6.4.9
    /// recordPDU): the partner has our current information, or it says it is individual.
    fn choose_matched(&mut self, pdu: &LacpduRepr) {
        let p = &pdu.partner;
        self.matched = (p.port == self.actor_port_number
            && p.port_priority == self.actor_port_priority
            && p.system == self.actor_system
            && p.system_priority == self.actor_system_priority
            && p.key == self.actor_oper_port_key
            && p.state.has(PortState::AGGREGATION)
                == self.actor_oper_state.has(PortState::AGGREGATION))
            || !pdu.actor.state.has(PortState::AGGREGATION);
    }

    /// recordPDU: the PDU's actor information becomes the partner's operational information.
    pub fn record_pdu(&mut self, pdu: &LacpduRepr) {
        self.choose_matched(pdu);
        self.partner_oper = pdu.actor;
        self.actor_oper_state.set(PortState::DEFAULTED, false);
        let sync = self.matched && pdu.actor.state.has(PortState::SYNCHRONIZATION);
        self.partner_oper.state.set(PortState::SYNCHRONIZATION, sync);
    }

    /// recordDefault: the administrative partner values become operational.
    pub fn record_default(&mut self) {
        self.partner_oper = self.partner_admin;
        self.actor_oper_state.set(PortState::DEFAULTED, true);
    }

    fn same_partner(a: &PortInfo, b: &PortInfo) -> bool {
        a.port == b.port
            && a.port_priority == b.port_priority
            && a.system == b.system
            && a.system_priority == b.system_priority
            && a.key == b.key
            && a.state.has(PortState::AGGREGATION) == b.state.has(PortState::AGGREGATION)
    }

    /// update_Selected: a different partner (or partner port, key, aggregation) unselects.
    pub fn update_selected(&mut self, pdu: &LacpduRepr) {
        if !Self::same_partner(&pdu.actor, &self.partner_oper) {
            self.selected = false;
        }
    }

    /// update_Default_Selected: falling back to different defaults unselects.
    pub fn update_default_selected(&mut self) {
        if !Self::same_partner(&self.partner_admin, &self.partner_oper) {
            self.selected = false;
        }
    }

    /// update_NTT: the partner's view of us is out of date, so tell it.
    pub fn update_ntt(&mut self, pdu: &LacpduRepr) {
        let p = &pdu.partner;
        const BITS: u8 = PortState::ACTIVITY
            | PortState::TIMEOUT
            | PortState::SYNCHRONIZATION
            | PortState::AGGREGATION;
        if p.port != self.actor_port_number
            || p.port_priority != self.actor_port_priority
            || p.system != self.actor_system
            || p.system_priority != self.actor_system_priority
            || p.key != self.actor_oper_port_key
            || (p.state.0 & BITS) != (self.actor_oper_state.0 & BITS)
        {
            self.ntt = true;
        }
    }

    /// Our actor information as it goes into an LACPDU.
    pub fn actor_info(&self) -> PortInfo {
        PortInfo {
            system_priority: self.actor_system_priority,
            system: self.actor_system,
            key: self.actor_oper_port_key,
            port_priority: self.actor_port_priority,
            port: self.actor_port_number,
            state: self.actor_oper_state,
        }
    }

    /// The LACPDU this port sends now (Linux `__update_lacpdu_from_port`).
    pub fn lacpdu(&self) -> LacpduRepr {
        LacpduRepr {
            version: 1,
            actor: self.actor_info(),
            partner: self.partner_oper,
            collector_max_delay: 0,
        }
    }
}
