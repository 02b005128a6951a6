//! Every bond the daemon runs ([`Bonds`]), and their lifecycle on the system: a bond created
//! (or adopted from a daemon that ran before, see [`super::restore`]) and deleted, an
//! interface enslaved and released, and the state file kept in step with each of those
//! changes and with what LACP needs to resume ([`Bonds::save_state`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use ubond_core::bond::{Bond, SlaveConfig};
use ubond_core::options::BondOptions;
use ubond_core::time::Instant;
use ubond_sys::bond_device::{BondDevice, Found};
use ubond_sys::link::{self, CarrierReader};

use super::bond::{BondRt, Device};
use super::clock::Clock;
use super::event_loop::Poller;
use super::fastpath::Fast;
use super::slave::SlaveRt;
use super::state::{self, SavedBfd, SavedBond, SavedPort, SavedSlave, State};
use super::workers::Workers;

/// The per-slave options the state file keeps when they differ from the default.
const SLAVE_OPTIONS: [&str; 3] = ["queue_id", "prio", "actor_port_prio"];
/// Longest the state file's record of the last LACPDU sent may lag: a restarted daemon trusts
/// its saved LACP state only while the partner cannot have given up, judged from that record.
const LACPDU_RECORD_PERIOD: Duration = Duration::from_millis(500);

/// The bonds, and what they share: the fast path, the data threads, the clock and the
/// directory of their report files and state file.
pub(super) struct Bonds {
    pub(super) list: Vec<BondRt>,
    pub(super) fast: Fast,
    /// The data threads (the userspace data path).
    pub(super) workers: Workers,
    /// The last bond identity handed out (see `BondData::key`).
    last_key: u64,
    pub(super) clock: Clock,
    /// The control socket's directory: one report file per bond, and the state file.
    dir: PathBuf,
    /// This boot's identifier, written into the state file.
    boot_id: String,
    /// When the state file was last written.
    saved_at: Option<Instant>,
    /// `ubond shutdown` asked the daemon to remove every bond and stop.
    pub(super) shutdown: bool,
    /// Reads the slaves' carrier on each `miimon` tick (opened at the first).
    pub(super) carrier: Option<CarrierReader>,
}

impl Bonds {
    /// No bonds yet.
    pub(super) fn new(
        dir: PathBuf,
        fast: Fast,
        workers: Workers,
        clock: Clock,
        boot_id: String,
    ) -> Bonds {
        Bonds {
            list: Vec::new(),
            fast,
            workers,
            last_key: 0,
            clock,
            dir,
            boot_id,
            saved_at: None,
            shutdown: false,
            carrier: None,
        }
    }

    /// The index of bond `name`.
    pub(super) fn index(&self, name: &str) -> Result<usize> {
        match self.list.iter().position(|b| b.bond.name() == name) {
            Some(i) => Ok(i),
            None => bail!("no bond {name}: create it with `ubond add {name} mode=...`"),
        }
    }

    /// The bond `iface` is a slave of.
    pub(super) fn owner_of(&self, iface: &str) -> Option<&str> {
        self.list.iter().find(|b| b.slaves.iter().any(|s| s.name == iface)).map(|b| b.bond.name())
    }

    /// Runs bond `bond`: creates its device (up if `up`) and writes its fast-path maps.
    pub(super) fn create(&mut self, poller: &Poller, bond: Bond, up: bool) -> Result<()> {
        let dev = BondDevice::create(bond.name())?;
        if up {
            if let Err(e) = link::set_up(bond.name(), true) {
                let _ = dev.delete();
                return Err(e.into());
            }
        }
        self.run(poller, bond, Device { dev, admin_up: up, adopted: false })?;
        self.save_state(&[]);
        Ok(())
    }

    /// Runs bond `bond` on its device (made, or found as a daemon that ran before left it).
    pub(super) fn run(&mut self, poller: &Poller, bond: Bond, device: Device) -> Result<usize> {
        self.last_key += 1;
        let (fast, workers, key) = (&mut self.fast, &self.workers, self.last_key);
        let rt = BondRt::open(bond, device, self.clock, poller, fast, workers, key, &self.dir)?;
        self.list.push(rt);
        let bi = self.list.len() - 1;
        self.sync_fast(bi);
        Ok(bi)
    }

    /// Finds bond `name`'s device as a daemon that ran before left it: `Ok(Some)` if it is
    /// there, `Ok(None)` if it is gone, an error if something else has the name.
    pub(super) fn find_device(name: &str) -> Result<Option<BondDevice>> {
        match BondDevice::find(name)? {
            Found::Ours(dev) => Ok(Some(dev)),
            Found::Absent => Ok(None),
            Found::Foreign(what) => bail!("{what}"),
        }
    }

    /// Enslaves `ifaces` to bond `bi` in order. Each is made ready first (socket, address,
    /// MTU, up); then all of them join the bond at the same instant, so that their first
    /// LACPDUs leave together and the partner hears every link at once (one at a time, ~10 ms
    /// apart, the partner's ports spend LACPDUs of their three per second on each step, and the
    /// last one can wait a second). On an error, the interfaces before it are enslaved.
    pub(super) fn enslave(&mut self, poller: &Poller, bi: usize, ifaces: &[String]) -> Result<()> {
        let mut ready: Vec<SlaveRt> = Vec::new();
        let mut preparing = Vec::new();
        let mut failed = None;
        for iface in ifaces {
            if ready.iter().any(|s| &s.name == iface) {
                continue;
            }
            match self.prepare(poller, bi, iface, &mut preparing) {
                Ok(slave) => ready.push(slave),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let now = self.clock.now();
        for slave in ready {
            if let Err(e) = self.join(bi, slave, now, false) {
                failed.get_or_insert(e);
            }
        }
        self.list[bi].data_changed();
        self.sync_fast(bi);
        self.save_state(&[]);
        failed.map_or(Ok(()), Err)
    }

    /// Makes `iface` ready to join bond `bi`. `preparing` holds the interfaces made ready
    /// before it in the same request; `iface` is added, and the state file names them all
    /// before `iface` changes more than its sysctls.
    fn prepare(
        &mut self,
        poller: &Poller,
        bi: usize,
        iface: &str,
        preparing: &mut Vec<SavedSlave>,
    ) -> Result<SlaveRt> {
        let bond_name = self.list[bi].bond.name().to_string();
        if let Some(owner) = self.owner_of(iface) {
            bail!("{iface} is already a slave of {owner}: release it first with `ubond release {owner} {iface}`");
        }
        if self.list.iter().any(|b| b.bond.name() == iface) {
            bail!("{iface} is a bond: a bond cannot be enslaved");
        }
        let slave = SlaveRt::take(iface, &bond_name, poller, &mut self.fast, &self.workers)?;
        preparing.push(slave.saved(&bond_name));
        self.save_state(preparing);
        slave.make_ready(&bond_name, self.list[bi].mtu)
    }

    /// A prepared slave joins bond `bi` at `now`: enslaved, or `adopted` from an earlier
    /// daemon's run (see `Bond::adopt`).
    pub(super) fn join(
        &mut self,
        bi: usize,
        mut slave: SlaveRt,
        now: Instant,
        adopted: bool,
    ) -> Result<()> {
        slave.carrier = link::link_state(&slave.name).map(|s| s.link_up()).unwrap_or(false);
        let rt = &mut self.list[bi];
        let config = SlaveConfig { name: slave.name.clone(), perm_mac: slave.perm_mac() };
        let link = slave.link(slave.carrier);
        let joined = if adopted {
            rt.bond.adopt(now, config, link)
        } else {
            rt.bond.enslave(now, config, link)
        };
        match joined {
            Ok(id) => {
                slave.id = id;
                rt.slaves.push(slave);
                rt.data_changed();
                rt.drain();
                Ok(())
            }
            Err(e) => {
                let (iface, bond_name) = (slave.name.clone(), rt.bond.name().to_string());
                slave.give_back();
                bail!("cannot enslave {iface} to {bond_name}: {e}")
            }
        }
    }

    /// Releases slave `iface` of bond `bi` and gives it back as it was found.
    pub(super) fn release(&mut self, bi: usize, iface: &str) -> Result<()> {
        let now = self.clock.now();
        let rt = &mut self.list[bi];
        let Some(pos) = rt.slaves.iter().position(|s| s.name == iface) else {
            bail!(
                "{iface} is not a slave of {}: `ubond status {}` lists its slaves",
                rt.bond.name(),
                rt.bond.name()
            );
        };
        let id = rt.slaves[pos].id;
        rt.bond.release(now, id).map_err(anyhow::Error::msg)?;
        rt.drain();
        rt.data_changed();
        let mut s = rt.slaves.remove(pos);
        super::tc_path::slave_leaving(rt, s.ifindex);
        self.fast.forget_slave(s.ifindex);
        // No data thread may use its sockets when it is given back; they are closed off the
        // event loop (each close waits for the kernel's RCU grace period).
        self.publish(true);
        self.workers.close(std::mem::take(&mut s.data));
        s.give_back();
        self.list[bi].dirty = true;
        self.sync_fast(bi);
        self.save_state(&[]);
        Ok(())
    }

    /// Deletes bond `bi`: its slaves are released, its device, program and report file
    /// removed.
    pub(super) fn delete(&mut self, bi: usize) {
        let names: Vec<String> = self.list[bi].slaves.iter().map(|s| s.name.clone()).collect();
        for n in names {
            if let Err(e) = self.release(bi, &n) {
                eprintln!("ubond: {e:#}");
            }
        }
        let mut rt = self.list.remove(bi);
        self.fast.forget_bond(&rt);
        rt.fast.detach();
        // No data thread may use its device's sockets when it is deleted.
        self.publish(true);
        let _ = std::fs::remove_file(self.dir.join(rt.bond.name()));
        super::tc_path::bond_deleted(rt.dev.peer_name());
        let BondRt { dev, ctl, end, .. } = rt;
        drop(ctl);
        self.workers.close(end);
        if let Err(e) = dev.delete() {
            eprintln!("ubond: {e}");
        }
        self.save_state(&[]);
    }

    /// Brings bond `bi`'s control sockets' filters and fast-path maps up to date with its plan
    /// and options (the data threads get it at the end of the loop's turn, see
    /// [`Bonds::publish_if_changed`]).
    pub(super) fn sync_fast(&mut self, bi: usize) {
        if let Some(rt) = self.list.get_mut(bi) {
            rt.sync_receive();
            self.fast.sync(rt, &self.workers);
        }
    }

    /// Takes restored bond `bi` over from the earlier daemon's programs ([`Fast::take_over`]).
    pub(super) fn take_over(&mut self, bi: usize) {
        if let Some(rt) = self.list.get_mut(bi) {
            self.fast.take_over(rt, &self.workers);
        }
    }

    /// Brings the control sockets' filters and the fast-path maps of every bond whose plan or
    /// options changed up to date.
    pub(super) fn sync_fast_if_dirty(&mut self) {
        for rt in self.list.iter_mut().filter(|rt| rt.fast.dirty) {
            rt.sync_receive();
            self.fast.sync(rt, &self.workers);
        }
    }

    /// Gives the data threads every bond as it is now; with `settle`, returns once they all
    /// use it (what left is no longer touched).
    pub(super) fn publish(&mut self, settle: bool) {
        let bonds = self.list.iter_mut().map(BondRt::data_view).collect();
        self.workers.publish(bonds, settle);
    }

    /// [`Bonds::publish`] if a bond changed since.
    pub(super) fn publish_if_changed(&mut self) {
        if self.list.iter().any(|rt| rt.published.is_none()) {
            self.publish(false);
        }
    }

    /// Rewrites the report file of every bond whose report may have changed, or of every bond
    /// (`all`; a file only when its text changed).
    pub(super) fn write_reports(&mut self, all: bool) {
        for rt in self.list.iter_mut().filter(|rt| rt.dirty || all) {
            rt.write_report(&self.dir);
        }
    }

    /// Writes the state file: every bond, its slaves (as found, their options, what LACP needs
    /// to resume), plus `preparing` (interfaces being enslaved). A failure is said; the daemon
    /// goes on.
    pub(super) fn save_state(&mut self, preparing: &[SavedSlave]) {
        self.write_state(preparing, true);
    }

    /// [`Bonds::save_state`], flushed to the disk or not (`flush`, see `state::save`).
    fn write_state(&mut self, preparing: &[SavedSlave], flush: bool) {
        let mut st = State::new(self.boot_id.clone());
        st.bonds = self.list.iter().map(|rt| self.saved_bond(rt)).collect();
        st.preparing = preparing.to_vec();
        self.saved_at = Some(self.clock.now());
        if let Err(e) = state::save(&self.dir, &st, flush) {
            eprintln!("ubond: {e:#}");
        }
    }

    /// What the state file keeps of bond `rt`.
    fn saved_bond(&self, rt: &BondRt) -> SavedBond {
        let opts = rt.bond.options();
        let default = BondOptions::new();
        let slaves = rt
            .slaves
            .iter()
            .map(|s| {
                let mut saved = s.saved(rt.bond.name());
                saved.options = SLAVE_OPTIONS
                    .iter()
                    .filter_map(|&o| {
                        let v = opts.get_slave(&s.name, o).ok()?;
                        (Some(&v) != default.get_slave(&s.name, o).ok().as_ref())
                            .then(|| (o.to_owned(), v))
                    })
                    .collect();
                saved.lacp = rt.bond.port_resume(s.id).as_ref().map(SavedPort::of);
                if rt.bfd_held.is_some() {
                    saved.bfd = rt.bond.bfd_resume(s.id).as_ref().map(SavedBfd::of);
                }
                saved
            })
            .collect();
        SavedBond {
            name: rt.bond.name().to_owned(),
            mac: rt.bond.mac().to_string(),
            options: opts.settings(),
            slaves,
            active_slave: rt
                .bond
                .active_slave()
                .and_then(|a| rt.bond.slave_name(a))
                .map(str::to_owned),
            lacpdu_sent_ms: rt.lacpdu_sent.map(|t| self.ms_since_boot(t)),
            bfd_held_ms: rt.bfd_held.map(|t| self.ms_since_boot(t)),
        }
    }

    /// Instant `t` as milliseconds since the boot, as the state file says times.
    fn ms_since_boot(&self, t: Instant) -> u64 {
        u64::try_from(self.clock.since_boot(t).as_millis()).unwrap_or(u64::MAX)
    }

    /// Writes the state file if a bond's LACP state or active slave changed, or (at most every
    /// [`LACPDU_RECORD_PERIOD`]) to record that LACPDUs went out.
    pub(super) fn save_if_changed(&mut self, now: Instant) {
        let changed = self.list.iter().any(|rt| rt.state_dirty);
        let sent = self.list.iter().any(|rt| rt.lacpdu_unrecorded);
        let due =
            self.saved_at.is_none_or(|t| now.saturating_duration_since(t) >= LACPDU_RECORD_PERIOD);
        if changed || (sent && due) {
            for rt in &mut self.list {
                rt.state_dirty = false;
                rt.lacpdu_unrecorded = false;
            }
            // What links and partners changed: no disk flush (see `state::save`).
            self.write_state(&[], false);
        }
    }
}
