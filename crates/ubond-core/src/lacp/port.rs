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
use super::{key, LacpConfig, PortConfig, PortCounters, PortId, MARKER_RESPONSES_PER_SECOND};
use crate::time::{Instant, Timer, TimerTable};

/// Short_Timeout_Time (802.1AX-2014 6.4.4): 3 s.
pub const SHORT_TIMEOUT_TIME: Duration = Duration::from_secs(3);
/// Long_Timeout_Time (802.1AX-2014 6.4.4): 90 s.
pub const LONG_TIMEOUT_TIME: Duration = Duration::from_secs(90);

/// The timers of a port (802.1AX-2014 6.4.8), the slots of its [`PortTimers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortTimer {
    /// `current_while_timer`: the partner's information is current (Receive machine).
    CurrentWhile,
    /// `periodic_timer` (Periodic Transmission machine).
    Periodic,
    /// `wait_while_timer`: Aggregate_Wait_Time (Mux machine).
    WaitWhile,
    /// `actor_churn_timer` (Churn Detection).
    ActorChurn,
    /// `partner_churn_timer` (Churn Detection).
    PartnerChurn,
}

impl Timer for PortTimer {
    const COUNT: usize = 5;

    fn slot(self) -> usize {
        self as usize
    }
}

/// A port's timers.
pub(crate) type PortTimers = TimerTable<PortTimer, { <PortTimer as Timer>::COUNT }>;

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
    /// The partner's last LACPDU, as recorded (what [`super::resume`] saves).
    pub last_pdu: Option<LacpduRepr>,
    /// The port resumes an aggregation formed before its driver restarted: its
    /// Aggregate_Wait_Time passed then (an input of the Mux machine, cleared once attached).
    pub resumed: bool,

    /// Data path: frames received on the port are delivered (Linux: slave "active" for rx).
    pub collecting: bool,
    /// Data path: the port may carry transmitted frames (Linux: the slave is active).
    pub distributing: bool,
    /// Data path: the port carries transmitted frames now (`distributing`, link up, and the
    /// Mux machine's Collecting gate open).
    pub carries_frames: bool,

    pub timers: PortTimers,
    /// Times of the last three LACPDUs sent, for the rate limit of 6.4.16.
    pub tx_history: [Option<Instant>; 3],
    /// Times of the last Marker Responses sent, for the Marker responder's rate limit.
    pub marker_history: [Option<Instant>; MARKER_RESPONSES_PER_SECOND],
    pub counters: PortCounters,
}

impl Port {
    /// A newly enslaved port (Linux `ad_initialize_port`): down, unselected, every machine
    /// about to (re)start with BEGIN.
    pub fn new(id: PortId, number: u16, port: &PortConfig, bond: &LacpConfig) -> Port {
        let mut state = PortState(PortState::AGGREGATION);
        state.set(PortState::ACTIVITY, bond.lacp_active);
        state.set(PortState::TIMEOUT, bond.lacp_fast);
        let user_key = (bond.user_port_key & 0x3ff) << 6;
        Port {
            id,
            mac: port.mac,
            actor_port_number: number,
            actor_port_priority: port.port_priority,
            actor_system: bond.system,
            actor_system_priority: bond.system_priority,
            actor_admin_port_key: user_key,
            actor_oper_port_key: user_key,
            actor_oper_state: state,
            partner_admin: PARTNER_ADMIN_DEFAULTS,
            partner_oper: PARTNER_ADMIN_DEFAULTS,
            port_enabled: false,
            lacp_enabled: true,
            speed_mbps: 0,
            begin: true,
            selected: false,
            ready_n: false,
            matched: false,
            ntt: false,
            ntt_at: None,
            aggregator: None,
            rx: RxState::Initialize,
            periodic: PeriodicState::NoPeriodic,
            mux: MuxState::Detached,
            actor_churn: ChurnState::Monitor,
            partner_churn: ChurnState::Monitor,
            actor_churn_count: 0,
            partner_churn_count: 0,
            churn_trigger: false,
            last_pdu: None,
            resumed: false,
            collecting: false,
            distributing: false,
            carries_frames: false,
            timers: PortTimers::default(),
            tx_history: [None; 3],
            marker_history: [None; MARKER_RESPONSES_PER_SECOND],
            counters: PortCounters::default(),
        }
    }

    /// The link's state after the unknown-speed policy (Linux `ad_update_actor_keys`): the
    /// keys' speed and duplex bits follow the link; a changed key re-evaluates `LACP_Enabled`,
    /// and a new speed restarts the port's machines (BEGIN).
    pub fn set_link(&mut self, up: bool, speed_mbps: u32, full_duplex: bool) {
        self.port_enabled = up;
        self.speed_mbps = speed_mbps;
        let old_key = self.actor_oper_port_key;
        let old_code = (old_key & key::SPEED_MASK) >> 1;
        let mut admin = self.actor_admin_port_key & !(key::SPEED_MASK | key::DUPLEX_MASK);
        let code = if up { key::speed_code(speed_mbps) } else { 0 };
        if up {
            admin |= (code << 1) | u16::from(full_duplex);
        }
        self.actor_admin_port_key = admin;
        self.actor_oper_port_key = admin;
        if old_key != admin {
            self.lacp_enabled = up && full_duplex;
            if up && full_duplex && code != 0 && old_code != code {
                // A speed change restarts the port's machines (Linux).
                self.begin = true;
            }
        }
        if !up {
            self.collecting = false;
            self.distributing = false;
        }
    }

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
        self.last_pdu = Some(*pdu);
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

#[cfg(test)]
mod tests {
    use super::PortTimer::*;
    use super::*;

    #[test]
    fn every_port_timer_has_its_own_slot() {
        let all = [CurrentWhile, Periodic, WaitWhile, ActorChurn, PartnerChurn];
        for timer in all {
            // No wildcard: a new timer does not compile until it is listed above.
            match timer {
                CurrentWhile | Periodic | WaitWhile | ActorChurn | PartnerChurn => {}
            }
        }
        let slots: Vec<usize> = all.iter().map(|t| t.slot()).collect();
        assert_eq!(slots, (0..PortTimer::COUNT).collect::<Vec<_>>());
    }
}
