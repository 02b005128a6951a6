//! One slave at run time ([`SlaveRt`]) and its life on the system: taken as found (its
//! settings recorded in the state file before they change), or adopted as a daemon that ran
//! before left it ([`SlaveRt::adopt`]); made ready for its bond; given back as found on
//! release ([`SlaveRt::give_back`], [`give_back_saved`]).

use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use rustix::event::epoll::EventFlags;
use ubond_core::bond::SlaveId;
use ubond_core::lacp::{Duplex as CoreDuplex, LinkState as CoreLink};
use ubond_sys::sysctl::{self, Sysctl};
use ubond_sys::{link, ControlFrames, Duplex, PacketOptions, PacketSocket, Receive};
use ubond_wire::MacAddr;

use super::datapath::SLAVE_SNDBUF;
use super::event_loop::Poller;
use super::fastpath::{Fast, SlaveFast};
use super::state::{SavedFound, SavedSlave};
use super::tc_path::KernelRx;
use super::workers::{DataSocket, RxSeen, Workers};

/// An enslaved interface.
pub(super) struct SlaveRt {
    /// Its id in the core's bond (set when it joins).
    pub(super) id: SlaveId,
    /// The packet socket's token in the poll set.
    pub(super) token: u64,
    pub(super) name: String,
    /// The control plane's packet socket: it sends the frames the core makes and receives
    /// the control frames the core reads (`BondRt::sync_receive`).
    pub(super) sock: PacketSocket,
    /// The control frames `sock` receives.
    pub(super) control: Option<ControlFrames>,
    /// The data threads' packet sockets, one each: in a fanout group taking every frame while
    /// the bond's data frames cross userspace; while the fast path forwards them
    /// (`SlaveFast::taken`), sockets that only send, which the kernel hands no frame.
    pub(super) data: Vec<DataSocket>,
    /// When it last received, as the data threads saw it.
    pub(super) seen: Arc<RxSeen>,
    /// The settings the bond changes, as found.
    found: Found,
    /// The carrier, as last given to the core.
    pub(super) carrier: bool,
    /// The interface's index, as found at enslave time (the fast path's map key).
    pub(super) ifindex: u32,
    /// The fast path's side of the slave.
    pub(super) fast: SlaveFast,
    /// Where its received data frames go up on the userspace path.
    pub(super) kernel_rx: KernelRx,
    /// The link-layer multicast groups its socket joined for the bond.
    pub(super) joined: Vec<MacAddr>,
    /// The core asked for promiscuous mode (balance-alb).
    pub(super) promisc_wanted: bool,
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
    /// As the state file keeps it.
    fn saved(&self) -> SavedFound {
        SavedFound {
            mac: self.mac.to_string(),
            up: self.up,
            mtu: self.mtu,
            sysctls: self.sysctls.clone(),
        }
    }

    /// From the state file; a MAC that does not parse is an error.
    fn from_saved(s: &SavedFound) -> Result<Found> {
        let mac = s.mac.parse::<MacAddr>().map_err(|_| anyhow!("bad MAC {:?}", s.mac))?;
        Ok(Found { mac, up: s.up, mtu: s.mtu, sysctls: s.sysctls.clone() })
    }

    /// Puts interface `name` back as it was found (MTU, MAC, sysctls) and leaves it down, as
    /// Linux leaves a released slave. An interface that is gone has nothing to put back.
    fn restore(&self, name: &str) {
        if link::ifindex(name).is_err() {
            return;
        }
        if let Some(mtu) = self.mtu {
            if link::link_state(name).ok().and_then(|s| s.mtu) != Some(mtu) {
                let _ = link::set_mtu(name, mtu);
            }
        }
        // Down first, as the kernel's release closes the slave before restoring its MAC
        // (`__bond_release_one`: dev_close), whatever its state before it was enslaved.
        let _ = link::set_up(name, false);
        if let Err(e) = link::change_mac(name, self.mac) {
            eprintln!("ubond: {name}: cannot restore its MAC {}: {e}", self.mac);
        }
        sysctl::restore_slave(name, &self.sysctls);
    }
}

impl SlaveRt {
    /// Takes interface `iface` for bond `bond`: records its settings as found, opens its packet
    /// sockets (the control plane's in the poll set, the data threads'), attaches the fast
    /// path's program and sets the slave sysctls.
    /// Its MTU and admin state are untouched until [`SlaveRt::make_ready`], so the state file
    /// can name it first ([`SlaveRt::saved`]). A slave a daemon that ran before left is
    /// adopted instead ([`SlaveRt::adopt`]), with its settings as found from the state file.
    pub(super) fn take(
        iface: &str,
        bond: &str,
        poller: &Poller,
        fast: &mut Fast,
        workers: &Workers,
    ) -> Result<SlaveRt> {
        let state = link::link_state(iface)
            .map_err(|_| anyhow!("no interface {iface}: check the name with `ip link`"))?;
        let mac = link::mac(iface)
            .with_context(|| format!("{iface} has no Ethernet address and cannot be enslaved"))?;
        let found = Found { mac, up: state.admin_up, mtu: state.mtu, sysctls: Vec::new() };
        let mut slave = SlaveRt::open(iface, bond, found, poller, Some(fast), workers, false)?;
        slave.found.sysctls = sysctl::set_slave(iface);
        Ok(slave)
    }

    /// Adopts interface `iface`, a slave of `bond` that a daemon which ran before left
    /// enslaved: as found is what that daemon saved (`found`), nothing is recorded again; its
    /// sockets are opened and the slave sysctls set again (someone may have changed them
    /// meanwhile). The fast path's program is attached when the restore takes the bond over
    /// ([`Fast::take_over`]); while the earlier daemon's program forwards the slave's frames,
    /// the data threads' sockets take none. [`SlaveRt::make_ready`] follows, as after
    /// [`SlaveRt::take`].
    pub(super) fn adopt(
        iface: &str,
        bond: &str,
        found: &SavedFound,
        poller: &Poller,
        fast: &mut Fast,
        workers: &Workers,
    ) -> Result<SlaveRt> {
        let found = Found::from_saved(found)?;
        let forwarded = fast.forwarded_before(link::ifindex(iface)?);
        let slave = SlaveRt::open(iface, bond, found, poller, None, workers, forwarded)?;
        let _ = sysctl::set_slave(iface);
        Ok(slave)
    }

    /// Opens the slave's packet sockets (the control plane's in the poll set; the data
    /// threads' taking nothing if `taken`, the fast path forwarding the frames) and attaches
    /// the fast path's program (if given `fast`).
    fn open(
        iface: &str,
        bond: &str,
        found: Found,
        poller: &Poller,
        fast: Option<&mut Fast>,
        workers: &Workers,
        taken: bool,
    ) -> Result<SlaveRt> {
        // Not promiscuous: the slave joins the multicast groups the bond needs instead
        // (`BondRt::sync_filters`), as the kernel's bond does.
        // The Slow Protocols group too, in 802.3ad only.
        let control = ControlFrames::default();
        let options = PacketOptions {
            vnet_hdr: true,
            slow_protocols: false,
            receive: Receive::Control(control),
            ..PacketOptions::default()
        };
        let sock = PacketSocket::open(iface, options)?;
        // Best effort: without CAP_NET_ADMIN the kernel caps it at its maximum.
        let _ = sock.set_send_buffer(SLAVE_SNDBUF);
        let token = poller.add(&sock, EventFlags::IN)?;
        let ifindex = link::ifindex(iface)?;
        let data =
            workers.open_slave(iface, if taken { Receive::Nothing } else { Receive::All })?;
        let mut fast = SlaveFast::new(fast.and_then(|f| f.attach_slave(iface, bond)));
        fast.taken = taken;
        Ok(SlaveRt {
            id: SlaveId(0),
            token,
            name: iface.to_string(),
            sock,
            control: Some(control),
            data,
            seen: Arc::default(),
            found,
            carrier: false,
            ifindex,
            fast,
            kernel_rx: super::tc_path::slave_adopted(iface, ifindex, bond),
            joined: Vec::new(),
            promisc_wanted: false,
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

    /// What the state file keeps of it as a slave of `bond` (its options and LACP state are
    /// the bond's to add).
    pub(super) fn saved(&self, bond: &str) -> SavedSlave {
        SavedSlave {
            iface: self.name.clone(),
            bond: bond.to_string(),
            found: self.found.saved(),
            options: Vec::new(),
            lacp: None,
            bfd: None,
        }
    }

    /// Puts a released (or abandoned) slave back as it was found: the fast path's program and
    /// the packet sockets go first (no data thread may hold them any more), then its settings.
    pub(super) fn give_back(self) {
        let SlaveRt { name, sock, data, found, mut fast, ifindex, kernel_rx, .. } = self;
        fast.detach();
        drop(sock);
        drop(data);
        super::tc_path::give_back(&name, ifindex, Some(kernel_rx));
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

/// Gives back an interface the state file names but no bond runs any more (a daemon stopped
/// while enslaving it, or its bond could not be run again).
pub(super) fn give_back_saved(s: &SavedSlave) {
    match Found::from_saved(&s.found) {
        Ok(found) => {
            // An earlier daemon's filters redirect to a data-path end that may be gone.
            if let Ok(ifindex) = link::ifindex(&s.iface) {
                super::tc_path::give_back(&s.iface, ifindex, None);
                super::tc_path::give_back_copies(&s.bond, ifindex);
            }
            // `restore_slave` writes only the sysctls a daemon changes, whatever the file says.
            found.restore(&s.iface);
            eprintln!(
                "ubond: {}: given back (MAC {}): it was being enslaved to {}",
                s.iface, found.mac, s.bond
            );
        }
        Err(e) => eprintln!("ubond: {}: {e} in the state file; left as it is", s.iface),
    }
}
