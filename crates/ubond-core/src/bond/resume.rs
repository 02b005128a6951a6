//! A bond run again by a restarted driver: its slaves adopted rather than enslaved anew
//! ([`Bond::adopt`]), and what each slave's LACP port needs to resume ([`Bond::port_resume`],
//! [`Bond::resume_port`]; see [`crate::lacp::resume`]).

use crate::lacp::{LacpError, LinkState, PortResume};
use crate::time::Instant;

use super::{Bond, BondError, Engine, Misuse, SlaveConfig, SlaveId};

impl Bond {
    /// A slave of the driver's earlier run joins the bond again: as [`Bond::enslave`], except
    /// that it is no new enslavement, so a primary slave is not made the active one for that
    /// (Linux's `force_primary` at `bond_enslave`): the active slave stays what the earlier
    /// run had, within `primary_reselect`'s rules, and the network sees no failover.
    pub fn adopt(
        &mut self,
        now: Instant,
        config: SlaveConfig,
        link: LinkState,
    ) -> Result<SlaveId, BondError> {
        self.input(now, |b, now| b.on_enslave(now, config, link, false))
    }

    /// What slave `id`'s LACP port needs to resume after a restart of the driver; `None`
    /// outside 802.3ad or for an unknown slave.
    pub fn port_resume(&self, id: SlaveId) -> Option<PortResume> {
        let Engine::Lacp(e) = &self.engine else { return None };
        let port = self.slave(id)?.port?;
        e.lacp.port_resume(port).ok()
    }

    /// Resumes slave `id`'s LACP port where the driver's earlier run left it: call it right
    /// after enslaving the slave again, before the bond's first timeout (see
    /// [`crate::lacp::Lacp::resume`]). Outside 802.3ad there is nothing to resume.
    pub fn resume_port(
        &mut self,
        now: Instant,
        id: SlaveId,
        resume: &PortResume,
    ) -> Result<(), BondError> {
        let i = self.index(id)?;
        let Some(port) = self.slaves[i].port else { return Ok(()) };
        self.input(now, |b, now| match &mut b.engine {
            Engine::Lacp(e) => e.lacp.resume(now, port, resume).map_err(|e| match e {
                LacpError::BadResume(why) => Misuse::BadResume(why).into(),
                _ => Misuse::UnknownSlave(id).into(),
            }),
            _ => Ok(()),
        })
    }
}
