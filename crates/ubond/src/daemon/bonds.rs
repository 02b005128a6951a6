//! Every bond the daemon runs ([`Bonds`]), and their lifecycle on the system: a bond created
//! and deleted, an interface enslaved and released, and the journal of enslaved interfaces
//! kept in step with each of those changes.
//!
//! The homes of what a daemon that outlives its bonds will add: adopting an existing bond
//! beside [`Bonds::create`] ([`BondRt::create`]), adopting an enslaved interface beside
//! [`Bonds::enslave`] ([`SlaveRt::take`]), and a state file of every bond beside
//! [`Bonds::save_journal`].

use std::path::PathBuf;

use anyhow::{bail, Result};
use ubond_core::bond::{Bond, SlaveConfig};
use ubond_core::time::Instant;
use ubond_sys::link;

use super::bond::BondRt;
use super::clock::Clock;
use super::event_loop::Poller;
use super::fastpath::Fast;
use super::journal::{self, SavedSlave};
use super::slave::SlaveRt;

/// The bonds, and what they share: the fast path, the clock and the directory of their report
/// files and journal.
pub(super) struct Bonds {
    pub(super) list: Vec<BondRt>,
    pub(super) fast: Fast,
    pub(super) clock: Clock,
    /// The control socket's directory: one report file per bond, and the journal.
    dir: PathBuf,
}

impl Bonds {
    /// No bonds yet.
    pub(super) fn new(dir: PathBuf, fast: Fast, clock: Clock) -> Bonds {
        Bonds { list: Vec::new(), fast, clock, dir }
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
        let now = self.clock.now();
        let rt = BondRt::create(bond, now, up, poller, &mut self.fast, &self.dir)?;
        self.list.push(rt);
        self.sync_fast(self.list.len() - 1);
        Ok(())
    }

    /// Enslaves `ifaces` to bond `bi` in order. Each is made ready first (socket, address,
    /// MTU, up); then all of them join the bond at the same instant, so that their first
    /// LACPDUs leave together and the partner hears every link at once (one at a time, ~10 ms
    /// apart, the partner's ports spend LACPDUs of their three per second on each step, and the
    /// last one can wait a second). On an error, the interfaces before it are enslaved.
    pub(super) fn enslave(&mut self, poller: &Poller, bi: usize, ifaces: &[String]) -> Result<()> {
        let mut ready: Vec<SlaveRt> = Vec::new();
        let mut journal = Vec::new();
        let mut failed = None;
        for iface in ifaces {
            if ready.iter().any(|s| &s.name == iface) {
                continue;
            }
            match self.prepare(poller, bi, iface, &mut journal) {
                Ok(slave) => ready.push(slave),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let now = self.clock.now();
        for slave in ready {
            if let Err(e) = self.join(bi, slave, now) {
                failed.get_or_insert(e);
            }
        }
        self.list[bi].fast.dirty = true;
        self.sync_fast(bi);
        self.save_journal(&[]);
        failed.map_or(Ok(()), Err)
    }

    /// Makes `iface` ready to join bond `bi`. `journal` holds the interfaces made ready before
    /// it in the same request; `iface` is added, and the journal on disk names them all before
    /// `iface` changes more than its sysctls.
    fn prepare(
        &mut self,
        poller: &Poller,
        bi: usize,
        iface: &str,
        journal: &mut Vec<SavedSlave>,
    ) -> Result<SlaveRt> {
        let bond_name = self.list[bi].bond.name().to_string();
        if let Some(owner) = self.owner_of(iface) {
            bail!("{iface} is already a slave of {owner}: release it first with `ubond release {owner} {iface}`");
        }
        if self.list.iter().any(|b| b.bond.name() == iface) {
            bail!("{iface} is a bond: a bond cannot be enslaved");
        }
        let slave = SlaveRt::take(iface, &bond_name, poller, &mut self.fast)?;
        journal.push(slave.saved(&bond_name));
        self.save_journal(journal);
        slave.make_ready(&bond_name, self.list[bi].mtu)
    }

    /// A prepared slave joins bond `bi` at `now`.
    fn join(&mut self, bi: usize, mut slave: SlaveRt, now: Instant) -> Result<()> {
        slave.carrier = link::link_state(&slave.name).map(|s| s.link_up()).unwrap_or(false);
        let rt = &mut self.list[bi];
        let config = SlaveConfig { name: slave.name.clone(), perm_mac: slave.perm_mac() };
        match rt.bond.enslave(now, config, slave.link(slave.carrier)) {
            Ok(id) => {
                slave.id = id;
                rt.slaves.push(slave);
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
    pub(super) fn release(&mut self, poller: &Poller, bi: usize, iface: &str) -> Result<()> {
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
        if rt.holds_for(id) {
            rt.unhold(poller);
        }
        rt.drain();
        rt.fast.dirty = true;
        let s = rt.slaves.remove(pos);
        self.fast.forget_slave(s.ifindex);
        s.give_back();
        self.list[bi].dirty = true;
        self.sync_fast(bi);
        self.save_journal(&[]);
        Ok(())
    }

    /// Deletes bond `bi`: its slaves are released, its device and report file removed.
    pub(super) fn delete(&mut self, poller: &Poller, bi: usize) {
        let names: Vec<String> = self.list[bi].slaves.iter().map(|s| s.name.clone()).collect();
        for n in names {
            if let Err(e) = self.release(poller, bi, &n) {
                eprintln!("ubond: {e:#}");
            }
        }
        let rt = self.list.remove(bi);
        self.fast.forget_bond(&rt);
        let _ = std::fs::remove_file(self.dir.join(rt.bond.name()));
        drop(rt);
    }

    /// Brings bond `bi`'s fast-path maps up to date with its plan and options.
    pub(super) fn sync_fast(&mut self, bi: usize) {
        if let Some(rt) = self.list.get_mut(bi) {
            self.fast.sync(rt);
        }
    }

    /// Brings the fast-path maps of every bond whose plan or options changed up to date.
    pub(super) fn sync_fast_if_dirty(&mut self) {
        for rt in self.list.iter_mut().filter(|rt| rt.fast.dirty) {
            self.fast.sync(rt);
        }
    }

    /// Rewrites the report file of every bond whose report may have changed, or of every bond
    /// (`all`; a file only when its text changed).
    pub(super) fn write_reports(&mut self, all: bool) {
        for rt in self.list.iter_mut().filter(|rt| rt.dirty || all) {
            rt.write_report(&self.dir);
        }
    }

    /// Writes the journal: every slave as found, plus `pending` (being enslaved).
    fn save_journal(&self, pending: &[SavedSlave]) {
        let mut all: Vec<SavedSlave> = self
            .list
            .iter()
            .flat_map(|rt| rt.slaves.iter().map(|s| s.saved(rt.bond.name())))
            .collect();
        all.extend(pending.iter().cloned());
        if let Err(e) = journal::save(&self.dir, &all) {
            eprintln!("ubond: {e:#}");
        }
    }
}
