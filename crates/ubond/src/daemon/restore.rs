//! Starting where the daemon that ran before stopped: every bond of its state file run again
//! on the device it left (adopted, not made anew: its addresses, routes and neighbours are
//! untouched), its slaves adopted as they are, its LACP ports resumed so that the partner sees
//! no change, and what changed while no daemon ran reconciled: a slave that disappeared is
//! dropped, one whose link went down is seen so by the core, a bond device someone deleted is
//! made again (said), a name now taken by another kind of interface leaves that bond out (said,
//! its slaves given back). Interfaces that were being enslaved are given back.
//!
//! LACP resumes only while the partner cannot have given up on us: the state file says when
//! the last LACPDU left, and a partner waits its own timeout (3 s with the short timeout, 90 s
//! with the long one) before it expires our information. Past that, the ports start a normal
//! negotiation (keeping their numbers).
//!
//! BFD sessions resume the same way, in Up with their discriminators, when the daemon that
//! stopped had its partners' word that they would wait (see
//! [`super::event_loop::Daemon::hold_bfd`]; a killed daemon has not, and its sessions start
//! afresh), and only while they still wait: our Detect Mult times the Desired Min TX Interval
//! we advertised last, from the time they said so.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use ubond_core::bond::Bond;
use ubond_core::options::BondOptions;
use ubond_sys::bond_device::BondDevice;
use ubond_sys::link;
use ubond_wire::MacAddr;

use super::bond::Device;
use super::bonds::Bonds;
use super::event_loop::Poller;
use super::fastpath::Fast;
use super::slave::{give_back_saved, SlaveRt};
use super::state::{SavedBond, State};

/// The partner must still be waiting this much longer when we resume, for our first LACPDU to
/// reach it in time.
const RESUME_MARGIN: Duration = Duration::from_millis(250);

/// Runs again every bond of `state` (see the module documentation); `boot_id` is this boot's.
pub(super) fn restore(bonds: &mut Bonds, poller: &Poller, state: State, boot_id: &str) {
    for s in &state.preparing {
        give_back_saved(s);
    }
    if !state.bonds.is_empty() && state.boot_id != boot_id {
        eprintln!(
            "ubond: the state file was written during another boot: its bonds ({}) are gone \
             with it and are not run again; `ubond up` brings up those of the configuration files",
            state.bonds.iter().map(|b| b.name.as_str()).collect::<Vec<_>>().join(", ")
        );
    } else {
        for saved in &state.bonds {
            match restore_bond(bonds, poller, saved) {
                Ok(line) => eprintln!("{}: {line}", saved.name),
                Err(e) => {
                    eprintln!("ubond: {}: cannot run it again: {e:#}", saved.name);
                    for s in &saved.slaves {
                        if bonds.owner_of(&s.iface).is_none() {
                            give_back_saved(s);
                        }
                    }
                }
            }
        }
    }
    // A bond whose restore stopped half-way is taken over as it is.
    for bi in 0..bonds.list.len() {
        if bonds.list[bi].fast.held {
            bonds.take_over(bi);
        }
    }
    // Programs an earlier daemon attached to interfaces that are no slave or bond any more.
    let list = &bonds.list;
    bonds.fast.prune(|l| list.iter().any(|rt| Fast::holds(rt, l)));
    bonds.save_state(&[]);
}

/// Runs bond `saved` again; the answer is the line the daemon says about it.
fn restore_bond(bonds: &mut Bonds, poller: &Poller, saved: &SavedBond) -> Result<String> {
    let name = saved.name.as_str();
    let opts = BondOptions::from_settings(&saved.options).context("its options")?;
    let mac: MacAddr = saved.mac.parse().map_err(|_| anyhow!("bad MAC {:?}", saved.mac))?;
    let (dev, admin_up, adopted, how) = match Bonds::find_device(name)? {
        Some(dev) => {
            let up = link::link_state(name)?.admin_up;
            (dev, up, true, "adopted")
        }
        None => {
            let dev = BondDevice::create(name)?;
            link::change_mac(name, mac)?;
            link::set_up(name, true)?;
            (dev, true, false, "made again: its device was deleted while no daemon ran (addresses and routes set on it are gone)")
        }
    };
    let bond = Bond::new(name, opts, Some(mac)).map_err(anyhow::Error::msg)?;
    let bi = bonds.run(poller, bond, Device { dev, admin_up, adopted })?;
    // The slaves as they are: adopted, then all join at the same instant (as `enslave`).
    let mtu = bonds.list[bi].mtu;
    let mut ready = Vec::new();
    let mut notes = Vec::new();
    for s in &saved.slaves {
        if link::ifindex(&s.iface).is_err() {
            notes.push(format!("{} disappeared while no daemon ran", s.iface));
            continue;
        }
        match SlaveRt::adopt(&s.iface, name, &s.found, poller, &mut bonds.fast, &bonds.workers)
            .and_then(|slave| slave.make_ready(name, mtu))
        {
            Ok(slave) => ready.push((slave, s)),
            Err(e) => {
                notes.push(format!("{}: {e:#}", s.iface));
                give_back_saved(s);
            }
        }
    }
    let now = bonds.clock.now();
    let waited = saved
        .lacpdu_sent_ms
        .map(|ms| bonds.clock.since_boot(now).saturating_sub(Duration::from_millis(ms)));
    let partner_timeout =
        saved.slaves.iter().filter_map(|s| s.lacp.as_ref()?.resume().ok()?.partner_timeout()).min();
    let trusted = matches!((waited, partner_timeout), (Some(w), Some(t)) if w + RESUME_MARGIN < t);
    // BFD: what the partners still wait for, by slave.
    let held = saved
        .bfd_held_ms
        .map(|ms| bonds.clock.since_boot(now).saturating_sub(Duration::from_millis(ms)));
    let mut bfd_given = 0;
    let mut bfd_waited = None;
    let mut resumed = 0;
    for (slave, s) in ready {
        let iface = slave.name.clone();
        if let (Some(waited), Some(bfd)) = (held, &s.bfd) {
            match bfd.resume() {
                Ok(r) => {
                    let patience = r.session.remote_patience();
                    bfd_waited = Some((waited, patience));
                    if let Some(left) = patience.checked_sub(waited + RESUME_MARGIN) {
                        bonds.list[bi].bond.resume_bfd(&iface, r, now + left);
                        bfd_given += 1;
                    }
                }
                Err(e) => notes.push(format!(
                    "{iface}: its saved BFD session cannot be used ({e:#}); it starts afresh"
                )),
            }
        }
        if let Err(e) = bonds.join(bi, slave, now, true) {
            notes.push(format!("{e:#}"));
            continue;
        }
        let rt = &mut bonds.list[bi];
        let Some(id) = rt.bond.slave_by_name(&iface) else { continue };
        for (o, v) in &s.options {
            if let Err(e) = rt.bond.set_slave_option(now, id, o, v) {
                notes.push(format!("{iface}: {o} {v}: {e}"));
            }
        }
        if let Some(port) = &s.lacp {
            // A saved state that cannot be used costs the port its resume, not the bond.
            let mut r = match port.resume() {
                Ok(r) => r,
                Err(e) => {
                    notes.push(format!(
                        "{iface}: its saved LACP state cannot be used ({e:#}); it negotiates afresh"
                    ));
                    continue;
                }
            };
            if !trusted {
                r.partner_pdu = None;
            }
            match rt.bond.resume_port(now, id, &r) {
                Ok(()) if r.partner_pdu.is_some() => resumed += 1,
                Ok(()) => {}
                Err(e) => notes.push(format!("{iface}: {e}")),
            }
        }
    }
    let rt = &mut bonds.list[bi];
    if let Some(active) = &saved.active_slave {
        if rt.bond.active_slave().and_then(|a| rt.bond.slave_name(a)) != Some(active.as_str()) {
            // Only if it can be (its link up): otherwise the core has chosen another.
            let _ = rt.bond.set_option(now, "active_slave", active);
        }
    }
    rt.drain();
    // The report shows the bond as restored, at once.
    rt.dirty = true;
    // Its slaves back, the device takes the bond's carrier (kept until now).
    rt.sync_carrier();
    bonds.take_over(bi);
    let lacp = match (waited, partner_timeout) {
        (Some(w), Some(t)) if trusted => {
            format!(
                "; LACP resumed on {resumed} port(s) (the partner had waited {:.2} s of {} s)",
                w.as_secs_f64(),
                t.as_secs()
            )
        }
        (Some(w), Some(t)) => format!(
            "; LACP negotiates afresh (the partner waited {:.1} s, longer than its {} s timeout)",
            w.as_secs_f64(),
            t.as_secs()
        ),
        _ => String::new(),
    };
    let bfd = match bfd_waited {
        Some((w, t)) if bfd_given > 0 => {
            let up = bonds.list[bi]
                .bond
                .bfd()
                .map_or(0, |m| m.members().filter(|&id| m.allows_distribution(id)).count());
            format!(
                "; BFD resumed on {up} session(s) (the partner had waited {:.2} s of {:.2} s)",
                w.as_secs_f64(),
                t.as_secs_f64()
            )
        }
        Some((w, t)) => format!(
            "; BFD sessions start afresh (the partner waited {:.1} s, longer than its {:.1} s)",
            w.as_secs_f64(),
            t.as_secs_f64()
        ),
        None => String::new(),
    };
    let slaves = bonds.list[bi].slaves.len();
    let mut line = format!("{how}, {slaves} slave(s){lacp}{bfd}");
    for n in notes {
        line.push_str(&format!("; {n}"));
    }
    Ok(line)
}
