//! Resuming a port where an earlier run of the driver left it (a daemon restarted, or
//! upgraded, while the links and the partner went on).
//!
//! The partner must not notice: its ports stay in COLLECTING_DISTRIBUTING only while our
//! LACPDUs keep saying what they said (the same port number, key and system, in sync,
//! collecting and distributing), and arrive before its `current_while` timer runs out (3 s
//! with the short timeout). So a driver saves, for each port, what [`Lacp::port_resume`]
//! gives — the port's number, its aggregator's identifier, and the last LACPDU the partner sent
//! — and, once it has enslaved the same ports again, hands each back with [`Lacp::resume`]
//! before the first LACPDU leaves.
//!
//! Nothing of the machines' internal state is saved. The partner's last LACPDU is received
//! again, through the same Receive machine and the same evaluation as any LACPDU, and the
//! machines settle where they were: CURRENT, selected, attached to the same aggregator, and
//! (coupled control) COLLECTING_DISTRIBUTING. The only difference a resumed port makes is an
//! input of the Mux machine ([`super::mux::MuxInputs::resumed`]): its Aggregate_Wait_Time
//! passed in the earlier run, so WAITING does not wait again. So the first LACPDU after a
//! restart is the last one before it, and what is saved does not depend on how the machines
//! are written: a newer build resumes an older one's ports the same way.
//!
//! Whether the saved LACPDU can still be trusted is the driver's call: it knows how long no
//! LACPDU left ([`PortResume::partner_timeout`] says how long the partner waits).

use core::time::Duration;

use ubond_wire::slow::{self, LacpduRepr, PortState};

use super::{Lacp, LacpError, PortId, LONG_TIMEOUT_TIME, SHORT_TIMEOUT_TIME};
use crate::time::Instant;

/// What a port needs to resume after a restart of its driver (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortResume {
    /// The port's `actor_port_number`, as the partner knows it.
    pub port_number: u16,
    /// The identifier of the aggregator the port owns (as the report shows it).
    pub aggregator_id: u16,
    /// The partner's last LACPDU (the Slow Protocols PDU, without Ethernet header), if it
    /// sent one.
    pub partner_pdu: Option<Vec<u8>>,
}

impl PortResume {
    /// The partner's last LACPDU, decoded. Fails on bytes that are not an LACPDU.
    pub fn pdu(&self) -> Result<Option<LacpduRepr>, LacpError> {
        let Some(bytes) = &self.partner_pdu else { return Ok(None) };
        let packet = slow::Packet::new_checked(bytes.as_slice())
            .map_err(|_| LacpError::BadResume("the saved LACPDU is truncated"))?;
        LacpduRepr::parse(&packet)
            .map(Some)
            .map_err(|_| LacpError::BadResume("the saved PDU is not an LACPDU"))
    }

    /// How long the partner waits for our next LACPDU before it gives up on the port: its own
    /// `LACP_Timeout` (the Timeout bit of its actor state). `None` without a saved LACPDU.
    pub fn partner_timeout(&self) -> Option<Duration> {
        let pdu = self.pdu().ok()??;
        Some(if pdu.actor.state.has(PortState::TIMEOUT) {
            SHORT_TIMEOUT_TIME
        } else {
            LONG_TIMEOUT_TIME
        })
    }
}

impl Lacp {
    /// What port `id` needs to resume after a restart (see [`PortResume`]).
    pub fn port_resume(&self, id: PortId) -> Result<PortResume, LacpError> {
        let p = self.index(id)?;
        let port = &self.ports[p];
        let partner_pdu = port.last_pdu.map(|pdu| {
            let mut buf = vec![0u8; pdu.buffer_len()];
            // The buffer is as long as the PDU: emitting cannot fail.
            let _ = pdu.emit(&mut slow::Packet::new_unchecked(buf.as_mut_slice()));
            buf
        });
        Ok(PortResume {
            port_number: port.actor_port_number,
            aggregator_id: self.aggs[p].id,
            partner_pdu,
        })
    }

    /// Resumes port `id`, just enslaved again with [`Lacp::add_port`], where an earlier run
    /// left it: its number and aggregator identifier as they were, and the partner's last
    /// LACPDU received again (without counting it). Must come before the port's first LACPDU
    /// leaves (the transmit machine holds it for [`super::LacpConfig::tx_coalesce`]);
    /// resume every port of the bond before any is sent, so that they attach together.
    pub fn resume(
        &mut self,
        now: Instant,
        id: PortId,
        resume: &PortResume,
    ) -> Result<(), LacpError> {
        let now = self.clock(now);
        let p = self.index(id)?;
        if self.ports[p].counters.lacpdu_tx > 0 {
            return Err(LacpError::BadResume("the port has sent an LACPDU already"));
        }
        if resume.port_number == 0 || resume.aggregator_id == 0 {
            return Err(LacpError::BadResume("port numbers and aggregator identifiers start at 1"));
        }
        let pdu = resume.pdu()?;
        self.ports[p].actor_port_number = resume.port_number;
        // The identifier may be one this run gave another aggregator: that one gets a new one.
        if let Some(q) = self.aggs.iter().position(|a| a.id == resume.aggregator_id) {
            if q != p {
                self.last_aggregator_id = self.last_aggregator_id.max(resume.aggregator_id);
                self.last_aggregator_id = self.last_aggregator_id.wrapping_add(1);
                self.aggs[q].id = self.last_aggregator_id;
            }
        }
        self.aggs[p].id = resume.aggregator_id;
        self.last_aggregator_id = self.last_aggregator_id.max(resume.aggregator_id);
        if let Some(pdu) = pdu {
            if pdu.actor.system == self.ports[p].actor_system {
                return Err(LacpError::BadResume("the saved LACPDU is our own"));
            }
            self.ports[p].resumed = true;
            self.step_rx(p, now, Some(&pdu));
        }
        self.select_active();
        self.run(now);
        Ok(())
    }
}
