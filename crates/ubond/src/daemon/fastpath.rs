//! Fast-path synchronisation: the in-kernel data path (`ubond_sys::bpf`) kept in step with each
//! bond's plan.
//!
//! [`Fast`] owns the loaded programs and maps, shared by every bond; each bond and slave holds
//! its attachments ([`BondFast`], [`SlaveFast`]). With a pin directory the attachments outlive
//! the daemon (`ubond_sys::bpf`): only a release or a deletion detaches a program, and a daemon
//! that starts again attaches its own programs in front of those it finds, then removes the
//! pins nothing uses any more ([`Fast::prune`]). Whenever a bond's plan or options change
//! (`BondFast::dirty`), [`Fast::sync`] decides whether its data frames may take the fast path
//! ([`refusal`]), writes the maps and switches the data threads' sockets on the slaves off
//! (sockets that only send, which the kernel hands no frame, in place of their fanout group)
//! or on again: the control plane's own sockets read the control frames on either path
//! (`BondRt::sync_receive`).
//!
//! What the kernel counts comes back at the bond's timers ([`Fast::take_load`],
//! [`Fast::take_rx_seen`]): balance-tlb/alb's bytes per bucket, for the core's rebalancing,
//! and when each slave last received, for the ARP monitor.

use ubond_core::bond::tlb::{TlbLoad, TlbTable, TLB_HASH_TABLE_SIZE};
use ubond_core::bond::SlaveId;
use ubond_core::time::Instant;
use ubond_sys::bpf::{
    pinned_links, Attachment, BondConfig, FastPath, FrameCounters, PinnedAttachment, SlaveRx,
    TlbBytes, TlbConfig, MAX_SLAVES,
};
use ubond_sys::Receive;

use super::bond::BondRt;
use super::tc_path::TcPath;
use super::workers::Workers;

/// The in-kernel fast path, when loaded (`--datapath auto|bpf`).
pub(super) struct Fast {
    path: Option<FastPath>,
    /// Where its links are pinned, if anywhere.
    pins: Option<std::path::PathBuf>,
    /// The userspace path's frames forwarded by tc's filters, for bonds the fast path does
    /// not carry.
    tc: TcPath,
}

/// A bond's side of the fast path.
pub(super) struct BondFast {
    /// The egress program on the bond's device.
    pub(super) link: Option<Attachment>,
    /// The fast path carries this bond's data frames now (None: not decided yet).
    on: Option<bool>,
    /// The plan or options changed since the maps were written.
    pub(super) dirty: bool,
    /// A restored bond, forwarded by the earlier daemon's programs and maps until the restore
    /// is done: this daemon's maps are not written (the core, its slaves not back yet, would
    /// say "no slave") nor its programs attached until then ([`Fast::take_over`]).
    pub(super) held: bool,
    /// balance-tlb/alb: the kernel's byte counters as last read (they only grow).
    tlb_read: Option<TlbBytes>,
}

impl BondFast {
    /// A bond's side, with its device's program if it was attached; to be written, unless
    /// `held` (a restored bond: see [`BondFast::held`]).
    pub(super) fn new(link: Option<Attachment>, held: bool) -> BondFast {
        BondFast { link, on: None, dirty: true, held, tlb_read: None }
    }

    /// Whether the fast path carries the bond's data frames now.
    pub(super) fn on(&self) -> bool {
        self.on == Some(true)
    }

    /// Takes the program off the bond's device for good (the bond is deleted).
    pub(super) fn detach(&mut self) {
        if let Some(a) = self.link.take() {
            a.detach();
        }
    }

    /// Whether the fast path carries the bond's data frames now.
    pub(super) fn in_use(&self) -> bool {
        self.on == Some(true)
    }
}

/// A slave's side of the fast path.
pub(super) struct SlaveFast {
    /// The ingress program on the slave.
    pub(super) link: Option<Attachment>,
    /// The fast path forwards the slave's frames: the data threads' sockets take none.
    pub(super) taken: bool,
}

impl SlaveFast {
    /// A slave's side, with its program if it was attached.
    pub(super) fn new(link: Option<Attachment>) -> SlaveFast {
        SlaveFast { link, taken: false }
    }

    /// Takes the program off the slave for good (it is released).
    pub(super) fn detach(&mut self) {
        if let Some(a) = self.link.take() {
            a.detach();
        }
    }
}

impl Fast {
    /// The fast path `path` (its links pinned in `pins`, if given), or none (every bond on
    /// the userspace path).
    pub(super) fn new(path: Option<FastPath>, pins: Option<std::path::PathBuf>) -> Fast {
        Fast { path, pins, tc: TcPath::default() }
    }

    /// Removes the pinned links no bond or slave of this daemon holds (a slave released or a
    /// bond deleted while no daemon ran, an earlier daemon's programs replaced): their
    /// programs leave those interfaces. `in_use` says whether an (ingress, ifindex) is one of
    /// ours.
    pub(super) fn prune(&self, in_use: impl Fn(&PinnedAttachment) -> bool) {
        let Some(dir) = &self.pins else { return };
        let Ok(links) = pinned_links(dir) else { return };
        for l in links.iter().filter(|l| !in_use(l)) {
            if let Err(e) = l.remove() {
                eprintln!("ubond: {}: {e}", l.path.display());
            }
        }
    }

    /// Whether pinned attachment `l` is one this daemon holds on bond `rt`'s device or one
    /// of its slaves (the same interface, direction and hook).
    pub(super) fn holds(rt: &BondRt, l: &PinnedAttachment) -> bool {
        let ours = |a: &Option<Attachment>| a.as_ref().is_some_and(|a| a.hook() == l.hook);
        if l.ingress {
            rt.slaves.iter().any(|s| s.ifindex == l.ifindex && ours(&s.fast.link))
        } else {
            rt.dev.ifindex() == l.ifindex && ours(&rt.fast.link)
        }
    }

    /// Removes the pin directory with what is left in it (the maps' pins): the daemon
    /// removes every bond and stops.
    pub(super) fn remove_pins(&mut self) {
        if let Some(dir) = self.pins.take() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                eprintln!("ubond: cannot remove {}: {e}", dir.display());
            }
            // And the directory of every daemon's pins, if this was the last (a directory
            // another daemon still uses is not empty, and stays).
            if let Some(parent) = dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }

    /// Attaches the egress program to bond `bond`'s device; without it (said), the bond uses the
    /// userspace data path.
    pub(super) fn attach_tap(&mut self, bond: &str) -> Option<Attachment> {
        let f = self.path.as_mut()?;
        let a = match f.attach_tap(bond) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("ubond: {bond}: {e}; this bond uses the userspace data path");
                None
            }
        };
        Self::say_hook(f);
        a
    }

    /// Says, once, that the kernel has no TCX and the programs are `clsact` filters instead.
    fn say_hook(f: &mut FastPath) {
        if let Some(why) = f.take_tcx_refusal() {
            eprintln!(
                "ubond: this kernel has no TCX, so the fast path's programs are bpf filters on \
                 clsact qdiscs instead; `tc filter show dev IFACE ingress` lists them. TCX said: \
                 {why}"
            );
        }
    }

    /// Attaches the ingress program to slave `iface` of `bond`; without it (said), the bond
    /// uses the userspace data path.
    pub(super) fn attach_slave(&mut self, iface: &str, bond: &str) -> Option<Attachment> {
        let f = self.path.as_mut()?;
        let a = match f.attach_slave(iface) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("ubond: {iface}: {e}; {bond} uses the userspace data path");
                None
            }
        };
        Self::say_hook(f);
        a
    }

    /// Whether an earlier daemon's program forwards the frames of slave `ifindex` (an adopted
    /// slave, whose program is not attached yet): the data threads' sockets then take none
    /// from the start, so that they are not forwarded twice (the next [`Fast::sync`] opens
    /// them again if the bond turns out to need it).
    pub(super) fn forwarded_before(&self, ifindex: u32) -> bool {
        self.path.as_ref().is_some_and(|f| f.forwarded_before(ifindex))
    }

    /// Takes over a restored bond from the earlier daemon's programs, which forwarded its
    /// frames while it was being restored: this daemon's maps are written first, then its
    /// programs attached, each replacing the old one on its interface in one step.
    pub(super) fn take_over(&mut self, rt: &mut BondRt, workers: &Workers) {
        rt.fast.held = false;
        self.write(rt, true, workers);
        let name = rt.bond.name().to_string();
        if rt.fast.link.is_none() {
            rt.fast.link = self.attach_tap(&name);
        }
        for s in rt.slaves.iter_mut().filter(|s| s.fast.link.is_none()) {
            s.fast.link = self.attach_slave(&s.name, &name);
        }
        // A program that could not be attached (said) leaves the bond to userspace.
        if refusal(rt, false) != refusal(rt, true) {
            self.sync(rt, workers);
        } else {
            self.tc.sync(rt, workers);
        }
    }

    /// The frame counters of the program on interface `ifindex` (a bond's tap or a slave),
    /// once it has counted a frame there.
    pub(super) fn counters(&self, ifindex: u32) -> Option<FrameCounters> {
        self.path.as_ref()?.counters(ifindex)
    }

    /// Forgets a released slave's map entry.
    pub(super) fn forget_slave(&mut self, ifindex: u32) {
        if let Some(f) = self.path.as_mut() {
            f.remove_slave(ifindex);
        }
    }

    /// Forgets a deleted bond's map entry.
    pub(super) fn forget_bond(&mut self, rt: &BondRt) {
        if let Some(f) = self.path.as_mut() {
            f.remove_bond(rt.dev.ifindex());
        }
    }

    /// Writes a bond's plan into the fast path's maps and switches the data threads' sockets on
    /// the slaves off or on. Turning on: those sockets, then receive, then transmit; turning
    /// off, the reverse, so no frame is forwarded twice or by nobody for long.
    /// Then, for a bond on the userspace path, its frames forwarded by tc's filters where the
    /// plans allow (`super::tc_path`).
    pub(super) fn sync(&mut self, rt: &mut BondRt, workers: &Workers) {
        if !rt.fast.held {
            self.write(rt, false, workers);
            self.tc.sync(rt, workers);
        }
    }

    /// [`Fast::sync`]; `attaching`: the bond's programs are about to be attached (the maps are
    /// written for them first).
    fn write(&mut self, rt: &mut BondRt, attaching: bool, workers: &Workers) {
        // Synced now, with or without a fast path (without one, `--datapath user` or a kernel
        // that refused the programs, the bond stayed dirty and every turn of the event loop
        // synced it again).
        rt.fast.dirty = false;
        let Some(fast) = self.path.as_mut() else { return };
        let tap_index = rt.dev.ifindex();
        let plan = rt.bond.tx_plan();
        let ifindex_of = |id: SlaveId| rt.slave(id).map(|s| s.ifindex);
        let tlb = plan.tlb.as_ref().map(|t| tlb_config(t, &ifindex_of, rt));
        let refusal = refusal(rt, attaching);
        let on = refusal.is_none();
        if rt.fast.on != Some(on) {
            match refusal {
                None => eprintln!("{}: data path: bpf (in-kernel)", rt.bond.name()),
                Some(why) => eprintln!("{}: data path: userspace ({why})", rt.bond.name()),
            }
        }
        let cfg = BondConfig {
            enabled: on,
            mode: u32::from(rt.bond.options().mode.number()),
            policy: u32::from(plan.policy.number()),
            packets_per_slave: plan.packets_per_slave,
            igmp_ifindex: plan.igmp_slave.and_then(ifindex_of).unwrap_or(0),
            slaves: plan.slaves.iter().filter_map(|&id| ifindex_of(id)).collect(),
            tlb: tlb.and_then(Result::ok),
        };
        let rx_plan = rt.bond.rx_plan().clone();
        let arp_monitor = rt.arp_monitor();
        let name = rt.bond.name().to_string();
        let report = |e: ubond_sys::SysError| eprintln!("ubond: {name}: {e}");
        if !on {
            if let Err(e) = fast.set_bond(tap_index, &cfg) {
                report(e);
            }
        }
        for si in 0..rt.slaves.len() {
            if on && !rt.slaves[si].fast.taken {
                // Sockets that only send in place of the group (`Workers::set_slave_receive`).
                match rt.set_slave_receive(si, workers, Receive::Nothing) {
                    Ok(()) => rt.slaves[si].fast.taken = true,
                    Err(e) => eprintln!("ubond: {name}: {e:#}"),
                }
            }
            let s = &rt.slaves[si];
            let rx = SlaveRx {
                tap_ifindex: tap_index,
                enabled: on && s.fast.taken,
                deliver: rx_plan.deliver.contains(&s.id),
                unicast_only: rx_plan.unicast_only.contains(&s.id),
                stamp: arp_monitor,
                copies: rx_plan.copies,
                own_mac: rt.bond.slave_mac(s.id).unwrap_or_default().0,
                bond_mac: rx_plan.bond_mac.0,
                slave_macs: rx_plan.slave_macs.iter().map(|m| m.0).collect(),
            };
            let written = fast.set_slave(s.ifindex, &rx);
            if let Err(e) = &written {
                eprintln!("ubond: {name}: {e}");
            }
            // Without its entry (a full map) the program leaves the slave's frames alone: the
            // data threads must then take them all again, for the userspace path.
            if (!on || written.is_err()) && s.fast.taken {
                match rt.set_slave_receive(si, workers, Receive::All) {
                    Ok(()) => rt.slaves[si].fast.taken = false,
                    Err(e) => eprintln!("ubond: {name}: {e:#}"),
                }
            }
        }
        if on {
            if let Err(e) = fast.set_bond(tap_index, &cfg) {
                report(e);
            }
        }
        if !on {
            rt.fast.tlb_read = None;
        }
        rt.fast.on = Some(on);
    }

    /// balance-tlb/alb: the bytes the kernel sent per bucket since the last call (the fast
    /// path's programs, or the userspace path's filters), for
    /// [`ubond_core::bond::Bond::handle_timeout_with_load`].
    pub(super) fn take_load(&self, rt: &mut BondRt) -> Option<TlbLoad> {
        if !rt.fast.on() {
            return self.tc.take_load(rt);
        }
        let fast = self.path.as_ref()?;
        rt.bond.tx_plan().tlb.as_ref()?;
        let now = match fast.tlb_load(rt.dev.ifindex()) {
            Ok(Some(now)) => now,
            Ok(None) => return None,
            Err(e) => {
                eprintln!("ubond: {}: {e}", rt.bond.name());
                return None;
            }
        };
        let before = rt.fast.tlb_read.replace(now.clone());
        let before =
            before.unwrap_or(TlbBytes { buckets: [0; TLB_HASH_TABLE_SIZE], unbalanced: 0 });
        let mut load = TlbLoad::default();
        for (i, (n, b)) in now.buckets.iter().zip(before.buckets.iter()).enumerate() {
            load.buckets[i] = n.wrapping_sub(*b);
        }
        load.unbalanced = now.unbalanced.wrapping_sub(before.unbalanced);
        Some(load)
    }

    /// The ARP monitor on the fast path: when each slave last received (the kernel keeps the
    /// time of the last frame), given to the core as traffic. `mono_at_epoch` is the
    /// monotonic clock's reading at the daemon clock's epoch (the kernel's scale). A bond on
    /// the userspace path: the times its tc filters kept ([`TcPath::take_rx_seen`]).
    pub(super) fn take_rx_seen(
        &mut self,
        rt: &mut BondRt,
        now: Instant,
        mono_at_epoch: u64,
        workers: &Workers,
    ) {
        if !rt.fast.on() {
            return self.tc.take_rx_seen(rt, now, workers);
        }
        let Some(fast) = self.path.as_ref() else { return };
        if !rt.arp_monitor() {
            return;
        }
        // A time before this daemon's epoch is an earlier daemon's, long past.
        let at = |ns: u64| ns.checked_sub(mono_at_epoch).map(Instant::from_nanos);
        for i in 0..rt.slaves.len() {
            let (id, ifindex) = (rt.slaves[i].id, rt.slaves[i].ifindex);
            match fast.rx_seen(ifindex) {
                Ok(Some(seen)) => {
                    rt.bond.handle_rx_seen(now, id, at(seen.any), at(seen.arp_ipv6));
                }
                Ok(None) => {}
                Err(e) => eprintln!("ubond: {}: {e}", rt.bond.name()),
            }
        }
    }
}

/// balance-tlb/alb's table for the egress program, its slaves by slot; an error says why it
/// cannot be (a slave without an interface, too many slaves).
fn tlb_config(
    t: &TlbTable,
    ifindex_of: &impl Fn(SlaveId) -> Option<u32>,
    rt: &BondRt,
) -> Result<TlbConfig, &'static str> {
    use ubond_core::bond::tlb::AlbMode;
    // Every slave the table names, in the bond's order.
    let ids: Vec<SlaveId> = rt
        .slaves
        .iter()
        .map(|s| s.id)
        .filter(|id| {
            t.macs.iter().any(|(s, _)| s == id)
                || t.usable.contains(id)
                || t.active == Some(*id)
                || t.buckets.contains(&Some(*id))
        })
        .collect();
    let named = |id: &SlaveId| ids.contains(id);
    if !t.usable.iter().all(named)
        || !t.active.iter().all(named)
        || !t.buckets.iter().flatten().all(named)
    {
        return Err("its transmit table names a slave it does not have");
    }
    if ids.len() > MAX_SLAVES {
        return Err("more slaves than the fast path holds");
    }
    let slot = |id: SlaveId| ids.iter().position(|s| *s == id).map(|p| p as u8);
    let mut slots = Vec::with_capacity(ids.len());
    for &id in &ids {
        let ifindex = ifindex_of(id).ok_or("its transmit table names a slave it does not have")?;
        let mac = t.macs.iter().find(|(s, _)| *s == id).map(|(_, m)| m.0);
        slots.push((ifindex, mac));
    }
    let mut buckets = [None; TLB_HASH_TABLE_SIZE];
    for (b, s) in buckets.iter_mut().zip(t.buckets.iter()) {
        *b = s.and_then(slot);
    }
    Ok(TlbConfig {
        alb: t.mode == AlbMode::Alb,
        dynamic: t.dynamic,
        slots,
        active: t.active.and_then(slot),
        usable: t.usable.iter().filter_map(|&id| slot(id)).collect(),
        buckets,
    })
}

/// Whether a bond's data frames may take the fast path, or why not; `attaching`: its programs
/// are about to be attached.
fn refusal(rt: &BondRt, attaching: bool) -> Option<&'static str> {
    if let Some(t) = &rt.bond.tx_plan().tlb {
        let ifindex_of = |id: SlaveId| rt.slave(id).map(|s| s.ifindex);
        if let Err(why) = tlb_config(t, &ifindex_of, rt) {
            return Some(why);
        }
    }
    if rt.slaves.len() > MAX_SLAVES {
        return Some("more slaves than the fast path holds");
    }
    if !attaching && (rt.fast.link.is_none() || rt.slaves.iter().any(|s| s.fast.link.is_none())) {
        return Some("its programs are not attached");
    }
    None
}
