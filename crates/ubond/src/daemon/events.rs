//! Link and address events: what the kernel says about the bonds' devices and their slaves
//! (rtnetlink notifications) given to the bonds. A slave's carrier goes to the core; the
//! bond's admin state to the core; the bond's MTU to every slave; a slave that disappears is
//! released; the bond's IP addresses to the core.
//!
//! Notifications alone would make the MII monitor late: the kernel announces a carrier
//! change from its link-watch work, which runs events it does not deem urgent (a carrier loss
//! on most physical NICs) at most once a second. So, as the bonding driver reads carrier on
//! every `miimon` tick, [`poll_carrier`] reads each slave's carrier every `miimon`; a
//! notification that comes first is taken at once.

use std::time::Duration;

use anyhow::Result;
use rustix::event::epoll::EventFlags;
use ubond_core::time::Instant;
use ubond_sys::addr::AddrMonitor;
use ubond_sys::link::{self, CarrierReader, LinkEvent, LinkMonitor};

use super::bond::BondRt;
use super::bonds::Bonds;
use super::event_loop::Poller;
use super::slave::link_of;

/// The link and address listeners.
pub(super) struct Watch {
    links: LinkMonitor,
    addrs: AddrMonitor,
    /// The link events of one wakeup (kept to reuse its room).
    events: Vec<LinkEvent>,
}

impl Watch {
    /// Opens the listeners and puts them in the poll set as `links` and `addrs`.
    pub(super) fn new(poller: &Poller, links: u64, addrs: u64) -> Result<Watch> {
        let watch =
            Watch { links: LinkMonitor::new()?, addrs: AddrMonitor::new()?, events: Vec::new() };
        poller.add_as(&watch.links, links, EventFlags::IN)?;
        poller.add_as(&watch.addrs, addrs, EventFlags::IN)?;
        Ok(watch)
    }

    /// Link events are waiting: each bond and slave concerned learns its news. When events
    /// were lost, every bond and slave reads its state again.
    pub(super) fn links_changed(&mut self, bonds: &mut Bonds) {
        self.events.clear();
        let lost = self.links.read_events(&mut self.events).is_err();
        let now = bonds.clock.now();
        let mut gone = Vec::new();
        for (bi, rt) in bonds.list.iter_mut().enumerate() {
            let mut admin = None;
            let (mut promisc, mut master) = (None, None);
            for ev in self.events.iter().filter(|e| e.state.name == rt.bond.name()) {
                admin = Some(ev.state.admin_up && !ev.removed);
                promisc = Some(ev.state.promiscuity > 0 && !ev.removed);
                master = Some(ev.state.master.is_some() && !ev.removed);
                if let Some(mtu) = ev.state.mtu.filter(|m| rt.mtu != Some(*m) && !ev.removed) {
                    rt.mtu = Some(mtu);
                    for s in &rt.slaves {
                        if let Err(e) = link::set_mtu(&s.name, mtu) {
                            eprintln!("ubond: {}: cannot follow the bond's MTU {mtu}: {e}", s.name);
                        }
                    }
                }
            }
            if lost {
                let state = link::link_state(rt.bond.name()).ok();
                admin = state.as_ref().map(|st| st.admin_up);
                master = state.map(|st| st.master.is_some());
            }
            if let Some(m) = master.filter(|m| *m != rt.dev_master) {
                // The tc filters hand the frames over another way now (see `tc_path`).
                rt.dev_master = m;
                rt.data_changed();
            }
            if let Some(up) = admin.filter(|up| *up != rt.admin_up) {
                rt.admin_up = up;
                rt.bond.set_admin_up(now, up);
            }
            if let Some(p) = promisc.filter(|p| *p != rt.dev_promisc) {
                rt.dev_promisc = p;
                rt.sync_filters();
            }
            for s in rt.slaves.iter_mut() {
                let mut carrier = None;
                for ev in self.events.iter().filter(|e| e.state.name == s.name) {
                    if ev.removed {
                        gone.push((bi, s.name.clone()));
                    } else {
                        carrier = Some(ev.state.link_up());
                    }
                }
                if lost {
                    carrier = link::link_state(&s.name).ok().map(|st| st.link_up());
                }
                if let Some(c) = carrier.filter(|c| *c != s.carrier) {
                    s.carrier = c;
                    let _ = rt.bond.handle_link(now, s.id, link_of(&s.name, c));
                }
            }
            rt.drain();
        }
        for (bi, name) in gone.into_iter().rev() {
            eprintln!("ubond: {name} disappeared; releasing it");
            let _ = bonds.release(bi, &name);
        }
    }

    /// Address notifications are waiting: every bond reads its addresses again.
    pub(super) fn addresses_changed(&mut self, bonds: &mut Bonds) {
        if self.addrs.drain() {
            bonds.list.iter_mut().for_each(BondRt::refresh_addresses);
        }
    }
}

/// Reads the carrier of bond `rt`'s slaves if their `miimon` tick is due at `now` (the MII
/// monitor's poll, Linux `bond_miimon_inspect`), gives the core the ones that changed, and
/// returns when the next tick is due (`None`: the bond has no MII monitor or no slaves).
pub(super) fn poll_carrier(
    rt: &mut BondRt,
    reader: &mut Option<CarrierReader>,
    now: Instant,
) -> Option<Instant> {
    let miimon = rt.bond.options().miimon;
    if miimon == 0 || rt.slaves.is_empty() {
        return None;
    }
    if rt.mii_next > now {
        return Some(rt.mii_next);
    }
    rt.mii_next = now + Duration::from_millis(u64::from(miimon));
    if reader.is_none() {
        match CarrierReader::new() {
            Ok(r) => *reader = Some(r),
            Err(e) => {
                eprintln!("ubond: {e}; carrier changes are seen from link notifications only");
                return Some(rt.mii_next);
            }
        }
    }
    let reader = reader.as_mut()?;
    let mut changed = false;
    for s in rt.slaves.iter_mut() {
        // An interface gone is released by its notification.
        let Ok(state) = reader.read(s.ifindex) else { continue };
        let carrier = state.link_up();
        if carrier != s.carrier {
            s.carrier = carrier;
            let _ = rt.bond.handle_link(now, s.id, link_of(&s.name, carrier));
            changed = true;
        }
    }
    if changed {
        rt.drain();
    }
    Some(rt.mii_next)
}
