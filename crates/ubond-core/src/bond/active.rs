//! The active slave: when it is chosen again (Linux `bond_select_active_slave`), which slave
//! wins (`bond_choose_primary_or_current` + `bond_find_best_slave`, with `primary`,
//! `primary_reselect` and `prio`), what a change does (`bond_change_active_slave`), and
//! `fail_over_mac` (`bond_do_fail_over_mac`).
//!
//! Modes with an active slave: active-backup, balance-tlb, balance-alb, and 802.3ad while in
//! LACP fallback. Linux reselects only when a committed link transition (or a change of slaves
//! or options) asks for it, so a slave going down keeps its role during `downdelay`.

use crate::lacp;
use crate::monitor::mii::LinkStatus;
use crate::options::{FailOverMac, Mode, PrimaryReselect};
use crate::time::Instant;

use super::engine::Engine;
use super::slave::Slave;
use super::{Bond, BondEvent, SlaveId};

/// The active slave and what asks for its reselection.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActiveSlave {
    /// The active slave (`curr_active_slave`).
    pub current: Option<SlaveId>,
    /// Linux `force_primary`: a newly set primary takes over at the next reselection.
    pub force_primary: bool,
    /// A committed link transition (or a change of slaves or options) asks for a reselection.
    pub reselect_pending: bool,
}

impl Bond {
    /// Linux `bond_select_active_slave` for the modes with an active slave, when a committed
    /// transition asked for it or LACP fallback began or ended.
    pub(super) fn reselect(&mut self, now: Instant) {
        let fallback = self.in_lacp_fallback();
        if let Engine::Lacp(e) = &mut self.engine {
            if fallback != e.fallback {
                e.fallback = fallback;
                self.active.reselect_pending = true;
            }
        }
        if !std::mem::take(&mut self.active.reselect_pending) {
            return;
        }
        if !self.uses_active_slave() {
            if self.active.current.take().is_some() {
                self.out.event(BondEvent::ActiveSlave { slave: None });
            }
            return;
        }
        let best = self.find_best_slave();
        if best != self.active.current {
            self.change_active(now, best);
        }
    }

    /// The slave is usable: link up and, with micro-BFD, its session Up.
    fn usable_id(&self, id: Option<SlaveId>) -> bool {
        id.and_then(|id| self.slave(id)).is_some_and(|s| self.usable(s))
    }

    /// The slave the `primary` option names, if it is one of the bond's (Linux
    /// `bond->primary_slave`).
    pub(super) fn primary_slave(&self) -> Option<SlaveId> {
        self.opts.primary.as_deref().and_then(|p| self.slave_by_name(p))
    }

    /// Linux `bond_choose_primary_or_current` + `bond_find_best_slave`; with micro-BFD, a
    /// slave whose session is not Up counts as down.
    fn find_best_slave(&mut self) -> Option<SlaveId> {
        let up = |s: &Slave| self.usable(s);
        let curr = self.active.current;
        let curr_up = self.usable_id(curr);
        let mut prim = self.primary_slave();
        let prim_up = self.usable_id(prim);
        let choice = 'choose: {
            if !prim_up {
                // The highest `prio` among the up slaves (first in enslave order on ties).
                let hprio = self
                    .slaves
                    .iter()
                    .filter(|s| up(s))
                    .fold(None::<&Slave>, |best, s| match best {
                        Some(b)
                            if self.opts.slave(&s.name).prio <= self.opts.slave(&b.name).prio =>
                        {
                            Some(b)
                        }
                        _ => Some(s),
                    })
                    .map(|s| s.id);
                if hprio.is_some() && hprio != curr {
                    prim = hprio;
                } else {
                    break 'choose if curr_up { curr } else { None };
                }
            } else if std::mem::take(&mut self.active.force_primary) {
                break 'choose prim;
            }
            if !curr_up {
                break 'choose prim;
            }
            let (p, c) = (prim.and_then(|p| self.slave(p)), curr.and_then(|c| self.slave(c)));
            match (p, c, self.opts.primary_reselect) {
                (_, _, PrimaryReselect::Always) => prim,
                (Some(p), Some(c), PrimaryReselect::Better) => {
                    let (ps, cs) = (p.link.speed_mbps.unwrap_or(0), c.link.speed_mbps.unwrap_or(0));
                    let full = |s: &Slave| s.link.duplex == lacp::Duplex::Full;
                    if ps < cs || (ps == cs && full(p) <= full(c)) {
                        curr
                    } else {
                        prim
                    }
                }
                _ => curr,
            }
        };
        if choice.is_some() {
            return choice;
        }
        // No up slave: the one coming back soonest.
        self.slaves
            .iter()
            .filter(|s| self.engine.link_of(s) == LinkStatus::Back)
            .min_by_key(|s| s.mii.poll_timeout())
            .map(|s| s.id)
    }

    /// Linux `bond_change_active_slave`.
    pub(super) fn change_active(&mut self, now: Instant, new: Option<SlaveId>) {
        let old = self.active.current;
        if let Some(i) = new.and_then(|n| self.slaves.iter().position(|s| s.id == n)) {
            if let Some(saved) = self.slaves[i].mii.force_up(now) {
                let name = self.slaves[i].name.clone();
                self.out.log(
                    Some(&name),
                    format!("making interface the new active one {} ms earlier", saved.as_millis()),
                );
                self.sync_port(now, i);
            }
        }
        match &mut self.engine {
            Engine::Arp(arp) => {
                if arp.set_active_slave(now, new) {
                    if let Some(name) = new.and_then(|n| self.slave(n)).map(|s| s.name.clone()) {
                        self.out.log(
                            Some(&name),
                            "making interface the new active one 0 ms earlier".to_string(),
                        );
                    }
                }
            }
            Engine::Alb(alb) => alb.handle_active_change(now, new),
            Engine::Mii | Engine::Lacp(_) => {}
        }
        self.active.current = new;
        match new.and_then(|n| self.slave(n)).map(|s| s.name.clone()) {
            Some(name) => {
                self.out.log(Some(&name), "making interface the new active one".to_string())
            }
            None if old.is_some() => {
                self.out.log(None, "now running without any active interface!".to_string())
            }
            None => {}
        }
        self.out.event(BondEvent::ActiveSlave { slave: new });
        if new.is_some() && self.opts.resend_igmp > 0 {
            self.notify.start_igmp(now, u32::from(self.opts.resend_igmp));
        }
        if new.is_some() && self.opts.mode == Mode::ActiveBackup {
            self.do_fail_over_mac(now, new, old);
        }
        if new.is_some() && self.opts.mode == Mode::ActiveBackup && self.admin_up {
            // Peer notification (Linux: active-backup only, when the bond is running):
            // num_grat_arp announcements, peer_notif_delay apart (miimon when 0). The first goes
            // at once when the bond had carrier (a failover); on the first activation the
            // bond's carrier comes on only after the change, so the kernel's first
            // announcement waits for the monitor's next tick.
            let first = if old.is_some() { now } else { now + self.monitor_tick() };
            self.notify.start_peers(u32::from(self.opts.num_peer_notif), first);
        }
    }

    /// Linux `bond_do_fail_over_mac` (active-backup only).
    fn do_fail_over_mac(&mut self, now: Instant, new: Option<SlaveId>, old: Option<SlaveId>) {
        let Some(n) = new.and_then(|n| self.slaves.iter().position(|s| s.id == n)) else { return };
        match self.opts.fail_over_mac {
            FailOverMac::None => {}
            // The bond takes the new active slave's address.
            FailOverMac::Active => {
                let mac = self.slaves[n].mac;
                if mac != self.mac {
                    self.set_mac(now, mac);
                }
            }
            // The new active slave takes the bond's address; the old one gets the new one's.
            FailOverMac::Follow => {
                let old =
                    old.and_then(|o| self.slaves.iter().position(|s| s.id == o)).or_else(|| {
                        (0..self.slaves.len()).find(|&j| j != n && self.slaves[j].mac == self.mac)
                    });
                let new_mac = match old {
                    Some(o) => self.slaves[o].mac,
                    None => self.mac,
                };
                let previous = std::mem::replace(&mut self.slaves[n].mac, new_mac);
                let id = self.slaves[n].id;
                self.out.event(BondEvent::SlaveMac { slave: id, mac: new_mac });
                if let Some(o) = old {
                    self.slaves[o].mac = previous;
                    let id = self.slaves[o].id;
                    self.out.event(BondEvent::SlaveMac { slave: id, mac: previous });
                }
            }
        }
    }
}

/// A locally administered unicast address for slave `name` (`id`) of the bond whose address
/// is `bond`: where Linux picks a random address (`eth_random_addr`), a deterministic one
/// (FNV-1a over the three), so that the core stays a function of its inputs.
pub(super) fn arbitrary_mac(
    bond: ubond_wire::MacAddr,
    name: &str,
    id: SlaveId,
) -> ubond_wire::MacAddr {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = bond.octets().into_iter().chain(name.bytes()).chain(id.0.to_be_bytes());
    for b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let o = h.to_be_bytes();
    // Locally administered (bit 1 set), unicast (bit 0 clear), never the bond's own.
    let mut mac = [(o[0] & 0xfc) | 0x02, o[1], o[2], o[3], o[4], o[5]];
    if mac == bond.octets() {
        mac[5] ^= 1;
    }
    ubond_wire::MacAddr(mac)
}
