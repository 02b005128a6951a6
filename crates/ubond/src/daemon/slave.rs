//! One slave at run time ([`SlaveRt`]) and its life on the system: taken as found (its
//! settings recorded in the journal before they change), made ready for its bond, given back
//! as found on release; and [`recover`], which gives back what a killed daemon left enslaved.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rustix::event::epoll::EventFlags;
use ubond_core::bond::SlaveId;
use ubond_core::lacp::{Duplex as CoreDuplex, LinkState as CoreLink};
use ubond_sys::sysctl::{self, Sysctl};
use ubond_sys::{link, Duplex, PacketOptions, PacketSocket};
use ubond_wire::MacAddr;

use super::datapath::{SLAVE_RCVBUF, SLAVE_SNDBUF};
use super::event_loop::Poller;
use super::fastpath::{Fast, SlaveFast};
use super::journal::{self, SavedSlave};

/// An enslaved interface.
pub(super) struct SlaveRt {
    /// Its id in the core's bond (set when it joins).
    pub(super) id: SlaveId,
    /// The packet socket's token in the poll set.
    pub(super) token: u64,
    pub(super) name: String,
    pub(super) sock: PacketSocket,
    /// The settings the bond changes, as found.
    found: Found,
    /// The carrier, as last given to the core.
    pub(super) carrier: bool,
    /// The interface's index, as found at enslave time (the fast path's map key).
    pub(super) ifindex: u32,
    /// The fast path's side of the slave.
    pub(super) fast: SlaveFast,
}

/// An interface's settings that enslaving changes, as they were before: what it gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    mac: MacAddr,
    up: bool,
    mtu: Option<u32>,
    sysctls: Vec<Sysctl>,
}

impl Found {
    /// Puts interface `name` back as it was found: MTU, MAC, admin state, sysctls. An
    /// interface that is gone has nothing to put back.
    fn restore(&self, name: &str) {
        if link::ifindex(name).is_err() {
            return;
        }
        if let Some(mtu) = self.mtu {
            if link::link_state(name).ok().and_then(|s| s.mtu) != Some(mtu) {
                let _ = link::set_mtu(name, mtu);
            }
        }
        if let Err(e) = link::change_mac(name, self.mac) {
            eprintln!("ubond: {name}: cannot restore its MAC {}: {e}", self.mac);
        }
        if !self.up {
            let _ = link::set_up(name, false);
        }
        sysctl::restore_slave(name, &self.sysctls);
    }
}

impl SlaveRt {
    /// Takes interface `iface` for bond `bond`: records its settings as found, opens its packet
    /// socket (in the poll set), attaches the fast path's program and sets the slave sysctls.
    /// Its MTU and admin state are untouched until [`SlaveRt::make_ready`], so the journal can
    /// name it first ([`SlaveRt::saved`]).
    ///
    /// (Adopting a slave a previous daemon left would take its settings as found from the
    /// saved state instead, and change nothing.)
    pub(super) fn take(
        iface: &str,
        bond: &str,
        poller: &Poller,
        fast: &mut Fast,
    ) -> Result<SlaveRt> {
        let state = link::link_state(iface)
            .map_err(|_| anyhow!("no interface {iface}: check the name with `ip link`"))?;
        let mac = link::mac(iface)
            .with_context(|| format!("{iface} has no Ethernet address and cannot be enslaved"))?;
        let options =
            PacketOptions { promiscuous: true, vnet_hdr: true, ..PacketOptions::default() };
        let sock = PacketSocket::open(iface, options)?;
        // Best effort: without CAP_NET_ADMIN the kernel caps them at its maximums.
        let _ = sock.set_recv_buffer(SLAVE_RCVBUF);
        let _ = sock.set_send_buffer(SLAVE_SNDBUF);
        let token = poller.add(&sock, EventFlags::IN)?;
        let ifindex = link::ifindex(iface)?;
        let fast = SlaveFast::new(fast.attach_slave(iface, bond));
        let sysctls = sysctl::set_slave(iface);
        Ok(SlaveRt {
            id: SlaveId(0),
            token,
            name: iface.to_string(),
            sock,
            found: Found { mac, up: state.admin_up, mtu: state.mtu, sysctls },
            carrier: false,
            ifindex,
            fast,
        })
    }

    /// Gives the slave of `bond` the bond's MTU (`mtu`, if it differs) and brings it up; on a
    /// failure, the slave is given back.
    pub(super) fn make_ready(self, bond: &str, mtu: Option<u32>) -> Result<SlaveRt> {
        if let Some(mtu) = mtu.filter(|m| self.found.mtu != Some(*m)) {
            if let Err(e) = link::set_mtu(&self.name, mtu) {
                let iface = self.name.clone();
                self.give_back();
                bail!("cannot give {iface} the MTU of {bond} ({mtu}): {e}");
            }
        }
        if let Err(e) = link::set_up(&self.name, true) {
            self.give_back();
            return Err(e.into());
        }
        Ok(self)
    }

    /// The MAC address it had when found (its permanent address for the core).
    pub(super) fn perm_mac(&self) -> MacAddr {
        self.found.mac
    }

    /// The link as the core sees it, with carrier `carrier`.
    pub(super) fn link(&self, carrier: bool) -> CoreLink {
        link_of(&self.name, carrier)
    }

    /// Its journal entry as a slave of `bond`.
    pub(super) fn saved(&self, bond: &str) -> SavedSlave {
        SavedSlave {
            bond: bond.to_string(),
            iface: self.name.clone(),
            mac: self.found.mac.to_string(),
            up: self.found.up,
            mtu: self.found.mtu,
            sysctls: self.found.sysctls.clone(),
        }
    }

    /// Puts a released (or abandoned) slave back as it was found: the fast path's program and
    /// the packet socket go first, then its settings.
    pub(super) fn give_back(self) {
        let SlaveRt { name, sock, found, fast, .. } = self;
        drop(fast);
        drop(sock);
        found.restore(&name);
    }
}

/// The link state of interface `name` for the core: `carrier`, with the speed and duplex
/// ethtool says.
pub(super) fn link_of(name: &str, carrier: bool) -> CoreLink {
    let (speed, duplex) = link::speed_duplex(name).unwrap_or((None, Duplex::Unknown));
    let duplex = match duplex {
        Duplex::Full => CoreDuplex::Full,
        Duplex::Half => CoreDuplex::Half,
        Duplex::Unknown => CoreDuplex::Unknown,
    };
    CoreLink { up: carrier, speed_mbps: speed, duplex }
}

/// Gives back the interfaces a killed daemon left enslaved (its journal in `dir`), then empties
/// the journal.
pub(super) fn recover(dir: &Path) {
    let saved = match journal::load(dir) {
        Ok(saved) => saved,
        Err(e) => {
            eprintln!("ubond: {e:#}");
            return;
        }
    };
    for s in &saved {
        let Ok(mac) = s.mac.parse::<MacAddr>() else {
            eprintln!("ubond: {}: bad MAC {:?} in the journal; left as it is", s.iface, s.mac);
            continue;
        };
        // `restore_slave` writes only the sysctls a daemon changes, whatever the file says.
        let found = Found { mac, up: s.up, mtu: s.mtu, sysctls: s.sysctls.clone() };
        found.restore(&s.iface);
        eprintln!(
            "ubond: {}: given back (MAC {mac}): it was a slave of {} when the last daemon stopped without releasing it",
            s.iface, s.bond
        );
    }
    if let Err(e) = journal::save(dir, &[]) {
        eprintln!("ubond: {e:#}");
    }
}
