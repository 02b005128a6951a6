//! A bond run again by a restarted driver: what each slave's LACP port needs to resume
//! ([`Bond::port_resume`], [`Bond::resume_port`]; see [`crate::lacp::resume`]).

use crate::lacp::{LacpError, PortResume};
use crate::time::Instant;

use super::{Bond, BondError, Engine, Misuse, SlaveId};

impl Bond {
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
