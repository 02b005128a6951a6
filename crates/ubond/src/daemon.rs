//! `ubond daemon`: one thread polling the control socket, the link monitor, each bond's tap and
//! each slave's packet socket, driving the sans-IO [`Bond`]s of `ubond-core`. The frames
//! themselves move in [`datapath`].

mod datapath;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::Timespec;
use ubond_core::bond::{Bond, BondEvent, SlaveConfig, SlaveId, TxCursor};
use ubond_core::lacp::{Duplex as CoreDuplex, LinkState as CoreLink};
use ubond_core::options::SlaveCommand;
use ubond_core::options::{parse_module_options, parse_slaves_command, OptionId, Scope};
use ubond_core::time::Instant;
use ubond_sys::bpf::{Attachment, FastPath};
use ubond_sys::link::{self, LinkEvent, LinkMonitor};
use ubond_sys::{Duplex, PacketOptions, PacketSocket, Tap, TapOptions};
use ubond_wire::MacAddr;

use crate::access::Access;
use crate::addr::AddrMonitor;
use crate::control::{parse_request, Request, Response, MAX_REQUEST};
use crate::journal::{self, SavedSlave};
use datapath::{TxState, FRAME_MAX, SLAVE_RCVBUF, SLAVE_SNDBUF, ZERO_HDR};

/// The driver version shown on the report's first line.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Most control connections open at once.
const MAX_CONNS: usize = 16;
/// epoll tokens of the control socket and the link monitor; taps, slaves and control
/// connections get the following ones.
const LISTENER: u64 = 1;
const MONITOR: u64 = 2;
const ADDRS: u64 = 3;

struct SlaveRt {
    id: SlaveId,
    token: u64,
    name: String,
    sock: PacketSocket,
    /// The interface's address, admin state and the sysctls changed, as found.
    orig_mac: MacAddr,
    orig_up: bool,
    orig_mtu: Option<u32>,
    sysctls: Vec<(PathBuf, String)>,
    carrier: bool,
    /// The slave's ifindex, as found at enslave time (the fast path's map key).
    ifindex: u32,
    /// The fast path's ingress program on the slave (dropping it detaches).
    fast_link: Option<Attachment>,
    /// The packet socket takes Slow Protocols frames only (the fast path forwards the rest).
    slow_only: bool,
}

struct BondRt {
    bond: Bond,
    tap: Tap,
    token: u64,
    /// The tap's IPv4 and IPv6 addresses, as last given to the core.
    addrs: (Vec<Ipv4Addr>, Vec<Ipv6Addr>),
    /// The data path's round-robin counter and balance-tlb/alb byte counts since the last
    /// timer.
    cursor: Box<TxCursor>,
    /// The tap's MTU, which the slaves follow (as Linux's `bond_change_mtu`).
    mtu: Option<u32>,
    /// The tap's administrative state (`ip link set BOND up/down`), as last seen.
    admin_up: bool,
    slaves: Vec<SlaveRt>,
    report: String,
    dirty: bool,
    /// The transmit buffer and the frame waiting for room on a slave.
    tx: TxState,
    /// The fast path's egress program on the tap (dropping it detaches).
    fast_link: Option<Attachment>,
    /// The fast path carries this bond's data frames now (None: not decided yet).
    fast_on: Option<bool>,
    /// The plan or options changed since the fast path's maps were written.
    fast_dirty: bool,
}

/// A control connection waiting for its request line.
struct Conn {
    stream: UnixStream,
    token: u64,
    line: Vec<u8>,
    deadline: std::time::Instant,
}

struct Daemon {
    start: std::time::Instant,
    epoll: OwnedFd,
    next_token: u64,
    conns: Vec<Conn>,
    bonds: Vec<BondRt>,
    report_dir: PathBuf,
    events: Vec<LinkEvent>,
    access: Access,
    /// The in-kernel fast path, when loaded (`--datapath auto|bpf`).
    fast: Option<FastPath>,
}

/// The sysctls set on a slave while enslaved: no IPv6, and the slave's own IPv4 stack neither
/// answers ARP (`arp_ignore=8`) nor accepts packets whose route back is the bond
/// (`rp_filter=1`), so only the bond's tap answers frames that reach the slave.
fn slave_sysctls(iface: &str) -> [(PathBuf, &'static str); 3] {
    let conf = |family: &str, name: &str| {
        PathBuf::from(format!("/proc/sys/net/{family}/conf/{iface}/{name}"))
    };
    [
        (conf("ipv6", "disable_ipv6"), "1"),
        (conf("ipv4", "arp_ignore"), "8"),
        (conf("ipv4", "rp_filter"), "1"),
    ]
}

/// Sets the slave sysctls; returns the old values to restore.
fn set_slave_sysctls(iface: &str) -> Vec<(PathBuf, String)> {
    let mut old = Vec::new();
    for (path, value) in slave_sysctls(iface) {
        if let Ok(v) = std::fs::read_to_string(&path) {
            if std::fs::write(&path, value).is_ok() {
                old.push((path, v));
            }
        }
    }
    old
}

fn core_duplex(d: Duplex) -> CoreDuplex {
    match d {
        Duplex::Full => CoreDuplex::Full,
        Duplex::Half => CoreDuplex::Half,
        Duplex::Unknown => CoreDuplex::Unknown,
    }
}

fn link_of(name: &str, carrier: bool) -> CoreLink {
    let (speed, duplex) = link::speed_duplex(name).unwrap_or((None, Duplex::Unknown));
    CoreLink { up: carrier, speed_mbps: speed, duplex: core_duplex(duplex) }
}

/// Sets an interface's MAC, taking it down for the change if the driver insists.
fn set_iface_mac(name: &str, mac: MacAddr) -> Result<()> {
    if link::mac(name).ok() == Some(mac) {
        return Ok(());
    }
    if link::set_mac(name, mac).is_ok() {
        return Ok(());
    }
    let up = link::link_state(name).map(|s| s.admin_up).unwrap_or(false);
    link::set_up(name, false)?;
    let r = link::set_mac(name, mac);
    if up {
        link::set_up(name, true)?;
    }
    Ok(r?)
}

impl BondRt {
    /// Sends a frame the core made on slave `id` (no offload: an all-zero virtio-net
    /// header); a full queue drops it, as a NIC would.
    fn send_on(&self, id: SlaveId, frame: &[u8]) {
        if let Some(s) = self.slaves.iter().find(|s| s.id == id) {
            let _ = s.sock.send_vectored(&[&ZERO_HDR, frame]);
        }
    }

    /// Drains the bond's transmits and events. Called after every control-plane input (a
    /// LACPDU or ARP reply consumed, a timer, a link change), any of which may change what the
    /// report shows (a partner's state arrives without an event), so the report is re-rendered
    /// (and rewritten only if its text changed).
    fn drain(&mut self) {
        self.dirty = true;
        while let Some(t) = self.bond.poll_transmit() {
            self.send_on(t.slave, &t.frame);
        }
        while let Some(ev) = self.bond.poll_event() {
            match ev {
                BondEvent::Carrier { up } => {
                    if let Err(e) = self.tap.set_carrier(up) {
                        eprintln!("ubond: {}: {e}", self.bond.name());
                    }
                }
                BondEvent::BondMac { mac } => {
                    if let Err(e) = self.tap.set_mac(mac) {
                        eprintln!("ubond: {}: {e}", self.bond.name());
                    }
                }
                BondEvent::SlaveMac { slave, mac } => {
                    if let Some(s) = self.slaves.iter().find(|s| s.id == slave) {
                        if let Err(e) = set_iface_mac(&s.name, mac) {
                            eprintln!("ubond: {}: {}: {e:#}", self.bond.name(), s.name);
                        }
                    }
                }
                BondEvent::Promisc { slave, on } => {
                    // Our packet sockets keep every slave promiscuous already; only turn it on.
                    if let Some(s) = self.slaves.iter_mut().find(|s| s.id == slave) {
                        if on && !s.sock.promiscuous() {
                            let _ = s.sock.set_promiscuous(true);
                        }
                    }
                }
                BondEvent::Log { slave, message } => match slave {
                    Some(s) => eprintln!("{}: ({s}): {message}", self.bond.name()),
                    None => eprintln!("{}: {message}", self.bond.name()),
                },
                BondEvent::ResendIgmp { slave } => {
                    let (v4, v6) = &self.addrs;
                    for frame in crate::igmp::reports(self.bond.name(), self.bond.mac(), v4, v6) {
                        self.send_on(slave, &frame);
                    }
                }
                BondEvent::PlanChanged => self.fast_dirty = true,
                BondEvent::ActiveSlave { .. } | BondEvent::Lacp(_) => {}
            }
        }
    }

    /// Gives the core the tap's current IP addresses (ARP/NS probes, peer notifications).
    fn refresh_addresses(&mut self) {
        let Ok(index) = self.tap.ifindex() else { return };
        let Ok(addrs) = crate::addr::addresses(index) else { return };
        if addrs != self.addrs {
            let list: Vec<String> = addrs
                .0
                .iter()
                .map(ToString::to_string)
                .chain(addrs.1.iter().map(ToString::to_string))
                .collect();
            eprintln!("{}: addresses: {}", self.bond.name(), list.join(" "));
            self.bond.set_addresses(addrs.0.clone(), addrs.1.clone());
            self.addrs = addrs;
            self.drain();
        }
    }

    fn write_report(&mut self, dir: &Path) {
        let text = ubond_core::report::render_proc(&self.bond.status(VERSION), true);
        if text != self.report {
            let path = dir.join(self.bond.name());
            let tmp = dir.join(format!(".{}.tmp", self.bond.name()));
            if std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &path)).is_err() {
                eprintln!("ubond: cannot write {}", path.display());
            }
            self.report = text;
        }
        self.dirty = false;
    }

    /// Puts a released (or abandoned) slave back as it was found.
    fn restore(s: SlaveRt) {
        let SlaveRt { name, sock, orig_mac, orig_up, orig_mtu, sysctls, fast_link, .. } = s;
        drop(fast_link);
        drop(sock);
        restore_iface(&name, orig_mac, orig_up, orig_mtu, &sysctls);
    }
}

/// Puts an interface back as it was found: MTU, MAC, admin state, sysctls.
fn restore_iface(
    name: &str,
    orig_mac: MacAddr,
    orig_up: bool,
    orig_mtu: Option<u32>,
    sysctls: &[(PathBuf, String)],
) {
    if link::ifindex(name).is_err() {
        return; // The interface is gone: nothing to put back.
    }
    if let Some(mtu) = orig_mtu {
        if link::link_state(name).ok().and_then(|s| s.mtu) != Some(mtu) {
            let _ = link::set_mtu(name, mtu);
        }
    }
    if let Err(e) = set_iface_mac(name, orig_mac) {
        eprintln!("ubond: {name}: cannot restore its MAC {orig_mac}: {e:#}");
    }
    if !orig_up {
        let _ = link::set_up(name, false);
    }
    for (path, v) in sysctls {
        let _ = std::fs::write(path, v);
    }
}

/// Gives back the interfaces a killed daemon left enslaved (its journal in `dir`).
fn recover(dir: &Path) {
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
        // Only the sysctls a daemon changes, whatever the file says.
        let allowed = slave_sysctls(&s.iface);
        let sysctls: Vec<(PathBuf, String)> = s
            .sysctls
            .iter()
            .filter(|(p, _)| allowed.iter().any(|(a, _)| a == p))
            .cloned()
            .collect();
        restore_iface(&s.iface, mac, s.up, s.mtu, &sysctls);
        eprintln!(
            "ubond: {}: given back (MAC {mac}): it was a slave of {} when the last daemon stopped without releasing it",
            s.iface, s.bond
        );
    }
    if let Err(e) = journal::save(dir, &[]) {
        eprintln!("ubond: {e:#}");
    }
}

/// Which data path the daemon uses (`ubond daemon --datapath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DatapathChoice {
    /// The in-kernel fast path when its programs load, else the userspace path.
    #[default]
    Auto,
    /// The in-kernel fast path; the daemon does not start without it.
    Bpf,
    /// The userspace path only (every frame crosses the daemon).
    User,
}

/// Whether a bond's data frames may take the fast path, or why not.
fn fast_path_refusal(rt: &BondRt) -> Option<&'static str> {
    use ubond_core::options::Mode;
    let opts = rt.bond.options();
    let plan = rt.bond.tx_plan();
    if !matches!(
        opts.mode,
        Mode::BalanceRr
            | Mode::ActiveBackup
            | Mode::BalanceXor
            | Mode::Broadcast
            | Mode::Ieee8023ad
    ) {
        return Some("balance-tlb/alb rewrite and account frames in userspace");
    }
    if opts.arp_interval != 0 {
        return Some("the ARP monitor reads received frames");
    }
    if plan.tlb.is_some() {
        return Some("a transmit table is in use");
    }
    if rt.slaves.len() > ubond_sys::bpf::MAX_SLAVES {
        return Some("more slaves than the fast path holds");
    }
    if rt.fast_link.is_none() || rt.slaves.iter().any(|s| s.fast_link.is_none()) {
        return Some("its programs are not attached");
    }
    None
}

/// Writes a bond's plan into the fast path's maps and switches the slaves' packet sockets to
/// what userspace still needs. Turning on: socket filters, then receive, then transmit;
/// turning off, the reverse, so no frame is forwarded twice or by nobody for long.
fn sync_fast(fast: &mut FastPath, rt: &mut BondRt) {
    use ubond_sys::bpf::{BondConfig, SlaveRx};
    rt.fast_dirty = false;
    let Ok(tap_index) = rt.tap.ifindex() else { return };
    let refusal = fast_path_refusal(rt);
    let on = refusal.is_none();
    if rt.fast_on != Some(on) {
        match refusal {
            None => eprintln!("{}: data path: bpf (in-kernel)", rt.bond.name()),
            Some(why) => eprintln!("{}: data path: userspace ({why})", rt.bond.name()),
        }
    }
    let plan = rt.bond.tx_plan();
    let ifindex_of = |id: SlaveId| rt.slaves.iter().find(|s| s.id == id).map(|s| s.ifindex);
    let cfg = BondConfig {
        enabled: on,
        mode: u32::from(rt.bond.options().mode.number()),
        policy: u32::from(plan.policy.number()),
        packets_per_slave: plan.packets_per_slave,
        igmp_ifindex: plan.igmp_slave.and_then(ifindex_of).unwrap_or(0),
        slaves: plan.slaves.iter().filter_map(|&id| ifindex_of(id)).collect(),
    };
    let rx_plan = rt.bond.rx_plan().clone();
    let name = rt.bond.name().to_string();
    let report = |e: ubond_sys::SysError| eprintln!("ubond: {name}: {e}");
    if !on {
        if let Err(e) = fast.set_bond(tap_index, &cfg) {
            report(e);
        }
    }
    for s in rt.slaves.iter_mut() {
        if on && !s.slow_only {
            match s.sock.set_slow_protocols_only(true) {
                Ok(()) => s.slow_only = true,
                Err(e) => report(e),
            }
        }
        let rx = SlaveRx {
            tap_ifindex: tap_index,
            enabled: on && s.slow_only,
            deliver: rx_plan.deliver.contains(&s.id),
            unicast_only: rx_plan.unicast_only.contains(&s.id),
        };
        let written = fast.set_slave(s.ifindex, rx);
        if let Err(e) = &written {
            eprintln!("ubond: {name}: {e}");
        }
        // Without its entry (a full map) the program leaves the slave's frames alone: the
        // packet socket must then take them all again, for the userspace path.
        if (!on || written.is_err()) && s.slow_only {
            match s.sock.set_slow_protocols_only(false) {
                Ok(()) => s.slow_only = false,
                Err(e) => report(e),
            }
        }
    }
    if on {
        if let Err(e) = fast.set_bond(tap_index, &cfg) {
            report(e);
        }
    }
    rt.fast_on = Some(on);
}

impl Daemon {
    fn now(&self) -> Instant {
        let ns = self.start.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    fn bond_index(&self, name: &str) -> Result<usize> {
        match self.bonds.iter().position(|b| b.bond.name() == name) {
            Some(i) => Ok(i),
            None => bail!("no bond {name}: create it with `ubond add {name} mode=...`"),
        }
    }

    /// Brings bond `bi`'s fast-path maps up to date with its plan and options.
    fn sync_fast(&mut self, bi: usize) {
        if let (Some(f), Some(rt)) = (self.fast.as_mut(), self.bonds.get_mut(bi)) {
            sync_fast(f, rt);
        }
    }

    fn owner_of(&self, iface: &str) -> Option<&str> {
        self.bonds.iter().find(|b| b.slaves.iter().any(|s| s.name == iface)).map(|b| b.bond.name())
    }

    fn add(&mut self, name: &str, options: &str) -> Result<String> {
        if self.bonds.iter().any(|b| b.bond.name() == name) {
            bail!("bond {name} exists already: change it with `ubond set {name} OPTION VALUE`");
        }
        if link::ifindex(name).is_ok() {
            bail!("an interface named {name} exists already: pick another bond name");
        }
        let parsed =
            parse_module_options(options).map_err(|e| anyhow::anyhow!("bad option {e}"))?;
        let mut bond = Bond::new(name, parsed.options, None).map_err(anyhow::Error::msg)?;
        // GSO super-frames and partial checksums cross the daemon whole (see `datapath`).
        let tap = Tap::with_options(name, TapOptions { vnet_hdr: true, offload: true })?;
        link::set_up(name, true)?;
        let token = self.token();
        epoll::add(&self.epoll, &tap, EventData::new_u64(token), EventFlags::IN)?;
        let fast_link = self.fast.as_mut().and_then(|f| match f.attach_tap(name) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("ubond: {name}: {e}; this bond uses the userspace data path");
                None
            }
        });
        let now = self.now();
        bond.handle_timeout(now);
        let _ = tap.set_carrier(bond.carrier());
        let mut rt = BondRt {
            bond,
            tap,
            token,
            admin_up: true,
            mtu: link::link_state(name).ok().and_then(|s| s.mtu),
            cursor: Box::default(),
            addrs: Default::default(),
            slaves: Vec::new(),
            report: String::new(),
            dirty: true,
            tx: TxState::new(),
            fast_link,
            fast_on: None,
            fast_dirty: true,
        };
        rt.drain();
        rt.refresh_addresses();
        rt.write_report(&self.report_dir);
        self.bonds.push(rt);
        self.sync_fast(self.bonds.len() - 1);
        Ok(parsed.warnings.iter().map(|w| format!("warning: {w}\n")).collect())
    }

    /// The journal of every slave as found, plus one being enslaved.
    fn save_journal(&self, pending: &[SavedSlave]) {
        let mut all: Vec<SavedSlave> = self
            .bonds
            .iter()
            .flat_map(|rt| {
                rt.slaves.iter().map(|s| SavedSlave {
                    bond: rt.bond.name().to_string(),
                    iface: s.name.clone(),
                    mac: s.orig_mac.to_string(),
                    up: s.orig_up,
                    mtu: s.orig_mtu,
                    sysctls: s.sysctls.clone(),
                })
            })
            .collect();
        all.extend(pending.iter().cloned());
        if let Err(e) = journal::save(&self.report_dir, &all) {
            eprintln!("ubond: {e:#}");
        }
    }

    /// Enslaves `ifaces` in order. Each is made ready first (socket, address, MTU, up); then
    /// all of them join the bond at the same instant, so that their first LACPDUs leave
    /// together and the partner hears every link at once (one at a time, ~10 ms apart, the
    /// partner's ports spend LACPDUs of their three per second on each step, and the last
    /// one can wait a second). On an error, the interfaces before it are enslaved.
    fn enslave(&mut self, bi: usize, ifaces: &[String]) -> Result<()> {
        let mut ready: Vec<SlaveRt> = Vec::new();
        let mut journal = Vec::new();
        let mut failed = None;
        for iface in ifaces {
            if ready.iter().any(|s| &s.name == iface) {
                continue;
            }
            match self.prepare_slave(bi, iface, &mut journal) {
                Ok(slave) => ready.push(slave),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let now = self.now();
        for slave in ready {
            if let Err(e) = self.join(bi, slave, now) {
                failed.get_or_insert(e);
            }
        }
        self.bonds[bi].fast_dirty = true;
        self.sync_fast(bi);
        self.save_journal(&[]);
        failed.map_or(Ok(()), Err)
    }

    /// Makes `iface` ready to join bond `bi`. `journal` holds the interfaces made ready before
    /// it in the same request; `iface` is added, and the journal on disk names them all.
    fn prepare_slave(
        &mut self,
        bi: usize,
        iface: &str,
        journal: &mut Vec<SavedSlave>,
    ) -> Result<SlaveRt> {
        let bond_name = self.bonds[bi].bond.name().to_string();
        if let Some(owner) = self.owner_of(iface) {
            bail!("{iface} is already a slave of {owner}: release it first with `ubond release {owner} {iface}`");
        }
        if self.bonds.iter().any(|b| b.bond.name() == iface) {
            bail!("{iface} is a bond: a bond cannot be enslaved");
        }
        let state = link::link_state(iface)
            .map_err(|_| anyhow::anyhow!("no interface {iface}: check the name with `ip link`"))?;
        let orig_mac = link::mac(iface)
            .with_context(|| format!("{iface} has no Ethernet address and cannot be enslaved"))?;
        let options =
            PacketOptions { promiscuous: true, vnet_hdr: true, ..PacketOptions::default() };
        let sock = PacketSocket::open(iface, options)?;
        // Best effort: without CAP_NET_ADMIN the kernel caps them at its maximums.
        let _ = sock.set_recv_buffer(SLAVE_RCVBUF);
        let _ = sock.set_send_buffer(SLAVE_SNDBUF);
        let token = self.token();
        epoll::add(&self.epoll, &sock, EventData::new_u64(token), EventFlags::IN)?;
        let ifindex = link::ifindex(iface)?;
        let fast_link = self.fast.as_mut().and_then(|f| match f.attach_slave(iface) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("ubond: {iface}: {e}; {bond_name} uses the userspace data path");
                None
            }
        });
        let sysctls = set_slave_sysctls(iface);
        journal.push(SavedSlave {
            bond: bond_name.clone(),
            iface: iface.to_string(),
            mac: orig_mac.to_string(),
            up: state.admin_up,
            mtu: state.mtu,
            sysctls: sysctls.clone(),
        });
        self.save_journal(journal);
        let slave = SlaveRt {
            id: SlaveId(0),
            token,
            name: iface.to_string(),
            sock,
            orig_mac,
            orig_up: state.admin_up,
            orig_mtu: state.mtu,
            sysctls,
            carrier: false,
            ifindex,
            fast_link,
            slow_only: false,
        };
        if let Some(mtu) = self.bonds[bi].mtu.filter(|m| state.mtu != Some(*m)) {
            if let Err(e) = link::set_mtu(iface, mtu) {
                BondRt::restore(slave);
                bail!("cannot give {iface} the MTU of {bond_name} ({mtu}): {e}");
            }
        }
        if let Err(e) = link::set_up(iface, true) {
            BondRt::restore(slave);
            return Err(e.into());
        }
        Ok(slave)
    }

    /// A prepared slave joins bond `bi` at `now`.
    fn join(&mut self, bi: usize, mut slave: SlaveRt, now: Instant) -> Result<()> {
        slave.carrier = link::link_state(&slave.name).map(|s| s.link_up()).unwrap_or(false);
        let rt = &mut self.bonds[bi];
        let config = SlaveConfig { name: slave.name.clone(), perm_mac: slave.orig_mac };
        match rt.bond.enslave(now, config, link_of(&slave.name, slave.carrier)) {
            Ok(id) => {
                slave.id = id;
                rt.slaves.push(slave);
                rt.drain();
                Ok(())
            }
            Err(e) => {
                let (iface, bond_name) = (slave.name.clone(), rt.bond.name().to_string());
                BondRt::restore(slave);
                bail!("cannot enslave {iface} to {bond_name}: {e}")
            }
        }
    }

    fn release(&mut self, bi: usize, iface: &str) -> Result<()> {
        let now = self.now();
        let rt = &mut self.bonds[bi];
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
            rt.unhold(&self.epoll);
        }
        rt.drain();
        rt.fast_dirty = true;
        let s = rt.slaves.remove(pos);
        if let Some(f) = self.fast.as_mut() {
            f.remove_slave(s.ifindex);
        }
        BondRt::restore(s);
        self.bonds[bi].dirty = true;
        self.sync_fast(bi);
        self.save_journal(&[]);
        Ok(())
    }

    fn delete(&mut self, bi: usize) {
        let names: Vec<String> = self.bonds[bi].slaves.iter().map(|s| s.name.clone()).collect();
        for n in names {
            if let Err(e) = self.release(bi, &n) {
                eprintln!("ubond: {e:#}");
            }
        }
        let rt = self.bonds.remove(bi);
        if let (Some(f), Ok(index)) = (self.fast.as_mut(), rt.tap.ifindex()) {
            f.remove_bond(index);
        }
        let _ = std::fs::remove_file(self.report_dir.join(rt.bond.name()));
        drop(rt);
    }

    fn set(&mut self, bi: usize, option: &str, value: &str) -> Result<String> {
        if option == "slaves" {
            match parse_slaves_command(value).map_err(anyhow::Error::msg)? {
                SlaveCommand::Add(i) => self.enslave(bi, &[i])?,
                SlaveCommand::Remove(i) => self.release(bi, &i)?,
            }
            return Ok(String::new());
        }
        let now = self.now();
        let rt = &mut self.bonds[bi];
        let warnings = rt.bond.set_option(now, option, value).map_err(|e| {
            anyhow::anyhow!("{}: cannot set {option} to {value:?}: {e}", rt.bond.name())
        })?;
        rt.drain();
        rt.dirty = true;
        rt.fast_dirty = true;
        self.sync_fast(bi);
        Ok(warnings.iter().map(|w| format!("warning: {w}\n")).collect())
    }

    fn set_slave(&mut self, iface: &str, option: &str, value: &str) -> Result<String> {
        let Some(bi) = self.bonds.iter().position(|b| b.slaves.iter().any(|s| s.name == iface))
        else {
            bail!("{iface} is not enslaved to any bond: enslave it first with `ubond enslave BOND {iface}`");
        };
        let now = self.now();
        let rt = &mut self.bonds[bi];
        let id = rt.slaves.iter().find(|s| s.name == iface).map(|s| s.id).unwrap_or(SlaveId(0));
        let warnings = rt.bond.set_slave_option(now, id, option, value).map_err(|e| {
            anyhow::anyhow!("{}: {iface}: cannot set {option} to {value:?}: {e}", rt.bond.name())
        })?;
        rt.drain();
        rt.dirty = true;
        Ok(warnings.iter().map(|w| format!("warning: {w}\n")).collect())
    }

    fn get(&self, bi: usize, option: Option<&str>) -> Result<String> {
        let rt = &self.bonds[bi];
        let opts = rt.bond.options();
        // As sysfs: `slaves` and `active_slave` show the bond's state, the rest its options.
        let value = |name: &str| -> Result<String> {
            Ok(match name {
                "slaves" => rt.slaves.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" "),
                "active_slave" => rt
                    .bond
                    .active_slave()
                    .and_then(|a| rt.bond.slave_name(a))
                    .unwrap_or("")
                    .to_string(),
                o => opts.get(o).map_err(|e| anyhow::anyhow!("{}: {e}", rt.bond.name()))?,
            })
        };
        match option {
            Some(o) => Ok(value(o)? + "\n"),
            None => {
                let mut out = format!("slaves: {}\n", value("slaves")?);
                for id in OptionId::ALL.iter().filter(|id| id.scope() == Scope::Bond) {
                    if let Ok(v) = value(id.name()) {
                        out.push_str(&format!("{}: {v}\n", id.name()));
                    }
                }
                Ok(out)
            }
        }
    }

    fn status(&self, bond: Option<&str>, json: bool) -> Result<String> {
        let which: Vec<&BondRt> = match bond {
            Some(b) => vec![&self.bonds[self.bond_index(b)?]],
            None => self.bonds.iter().collect(),
        };
        if json {
            let all: Vec<_> = which.iter().map(|b| b.bond.status(VERSION)).collect();
            let v = match bond {
                Some(_) => serde_json::to_string_pretty(&all[0])?,
                None => serde_json::to_string_pretty(&all)?,
            };
            return Ok(v + "\n");
        }
        let mut out = String::new();
        for b in which {
            if bond.is_none() {
                out.push_str(&format!("==> {} <==\n", b.bond.name()));
            }
            out.push_str(&ubond_core::report::render_proc(&b.bond.status(VERSION), true));
        }
        Ok(out)
    }

    fn handle(&mut self, req: Request) -> Result<String> {
        match req {
            Request::Add { bond, options } => self.add(&bond, &options),
            Request::Enslave { bond, ifaces } => {
                let bi = self.bond_index(&bond)?;
                self.enslave(bi, &ifaces)?;
                Ok(String::new())
            }
            Request::Release { bond, ifaces } => {
                let bi = self.bond_index(&bond)?;
                for i in &ifaces {
                    self.release(bi, i)?;
                }
                Ok(String::new())
            }
            Request::Set { bond, option, value } => {
                let bi = self.bond_index(&bond)?;
                self.set(bi, &option, &value)
            }
            Request::SetSlave { iface, option, value } => self.set_slave(&iface, &option, &value),
            Request::Get { bond, option } => {
                let bi = self.bond_index(&bond)?;
                self.get(bi, option.as_deref())
            }
            Request::Del { bond } => {
                let bi = self.bond_index(&bond)?;
                self.delete(bi);
                Ok(String::new())
            }
            Request::Status { bond, json } => self.status(bond.as_deref(), json),
        }
    }

    /// Accepts control connections: root only, then read without blocking the data path.
    fn accept(&mut self, listener: &UnixListener) {
        while let Ok((stream, _)) = listener.accept() {
            let allowed = rustix::net::sockopt::socket_peercred(&stream).is_ok_and(|cred| {
                self.access.allows(
                    cred.uid.as_raw(),
                    cred.gid.as_raw(),
                    cred.pid.as_raw_nonzero().get(),
                )
            });
            if !allowed {
                answer(stream, &Response::err(self.access.denied()));
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                answer(stream, &Response::err("busy: too many control connections; try again"));
                continue;
            }
            let token = self.token();
            if stream.set_nonblocking(true).is_err()
                || epoll::add(&self.epoll, &stream, EventData::new_u64(token), EventFlags::IN)
                    .is_err()
            {
                continue;
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            self.conns.push(Conn { stream, token, line: Vec::new(), deadline });
        }
    }

    /// Reads what a control connection sent; answers once a whole line (or too much) is in.
    fn serve(&mut self, ci: usize) {
        let mut chunk = [0u8; 4096];
        let outcome = loop {
            let conn = &mut self.conns[ci];
            match conn.stream.read(&mut chunk) {
                Ok(0) => break Some(None),
                Ok(n) => {
                    conn.line.extend_from_slice(&chunk[..n]);
                    if let Some(end) = conn.line.iter().position(|&b| b == b'\n') {
                        conn.line.truncate(end);
                        break Some(None);
                    }
                    if conn.line.len() > MAX_REQUEST {
                        let e = format!("bad request: longer than {MAX_REQUEST} bytes");
                        break Some(Some(Response::err(e)));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break None,
                Err(e) => break Some(Some(Response::err(format!("bad request: {e}")))),
            }
        };
        let Some(early) = outcome else { return };
        let conn = self.conns.swap_remove(ci);
        let response = early.unwrap_or_else(|| match parse_request(&conn.line) {
            Ok(req) => match self.handle(req) {
                Ok(out) => Response::ok(out),
                Err(e) => Response::err(format!("{e:#}")),
            },
            Err(resp) => resp,
        });
        answer(conn.stream, &response);
    }

    /// Drops control connections that sent no whole request in time.
    fn expire_conns(&mut self) {
        let now = std::time::Instant::now();
        while let Some(ci) = self.conns.iter().position(|c| c.deadline <= now) {
            let conn = self.conns.swap_remove(ci);
            answer(conn.stream, &Response::err("bad request: no whole line within 5 seconds"));
        }
    }

    /// A tap, slave socket or control connection is readable (or a slave writable again).
    fn ready(&mut self, token: u64, flags: EventFlags, buf: &mut [u8]) {
        let start = self.start;
        for rt in self.bonds.iter_mut() {
            if rt.token == token {
                return datapath::tap_to_slaves(&self.epoll, start, rt);
            }
            if let Some(si) = rt.slaves.iter().position(|s| s.token == token) {
                if flags.contains(EventFlags::OUT) {
                    if rt.holds_for(rt.slaves[si].id) {
                        rt.flush(&self.epoll);
                    } else {
                        // Not waiting on this slave (any more): stop watching for room.
                        let s = &rt.slaves[si];
                        let data = EventData::new_u64(s.token);
                        let _ = epoll::modify(&self.epoll, &s.sock, data, EventFlags::IN);
                    }
                }
                if flags.intersects(EventFlags::IN | EventFlags::ERR | EventFlags::HUP) {
                    datapath::slave_to_tap(start, rt, si, buf);
                }
                return;
            }
        }
        if let Some(ci) = self.conns.iter().position(|c| c.token == token) {
            self.serve(ci);
        }
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn handle_link_events(&mut self, monitor: &mut LinkMonitor) {
        self.events.clear();
        let lost = monitor.read_events(&mut self.events).is_err();
        let now = self.now();
        let mut gone = Vec::new();
        for bi in 0..self.bonds.len() {
            let rt = &mut self.bonds[bi];
            let mut admin = None;
            for ev in self.events.iter().filter(|e| e.state.name == rt.bond.name()) {
                admin = Some(ev.state.admin_up && !ev.removed);
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
                admin = link::link_state(rt.bond.name()).ok().map(|st| st.admin_up);
            }
            if let Some(up) = admin.filter(|up| *up != rt.admin_up) {
                rt.admin_up = up;
                rt.bond.set_admin_up(now, up);
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
            let _ = self.release(bi, &name);
        }
    }
}

/// Writes the response and closes the connection.
fn answer(stream: UnixStream, response: &Response) {
    let mut stream = stream;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    if let Ok(mut text) = serde_json::to_string(response) {
        text.push('\n');
        let _ = stream.write_all(text.as_bytes());
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(control: &Path, access: Access, datapath: DatapathChoice) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    let dir = control.parent().unwrap_or(Path::new("/")).to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if UnixStream::connect(control).is_ok() {
        bail!("a ubond daemon is already running at {}", control.display());
    }
    let _ = std::fs::remove_file(control);
    // Created 0600 from the start: no window in which others could connect.
    let listener = {
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
        let l = UnixListener::bind(control);
        rustix::process::umask(old);
        l.with_context(|| format!("cannot listen on {}", control.display()))?
    };
    std::fs::set_permissions(control, std::fs::Permissions::from_mode(0o600))?;
    access.apply(control)?;
    // Loading BPF programs and creating their maps needs CAP_BPF (or CAP_SYS_ADMIN): before
    // the capabilities go. Attaching and map updates later work with the kept ones.
    let (fast, path_line) = match datapath {
        DatapathChoice::User => (None, "userspace (--datapath user)".to_string()),
        DatapathChoice::Auto | DatapathChoice::Bpf => match FastPath::load() {
            Ok(f) => (
                Some(f),
                "bpf (in-kernel fast path; userspace for tlb/alb and ARP monitoring)".to_string(),
            ),
            Err(e) if datapath == DatapathChoice::Bpf => {
                bail!("{e}; start with --datapath user or auto to use the userspace data path")
            }
            Err(e) => (None, format!("userspace ({e})")),
        },
    };
    // Loading parsed the kernel's BTF (megabytes, freed since): hand that memory back.
    ubond_sys::process::trim_heap();
    // Before any thread exists (threads inherit the sets); chown above was the last need
    // for more than CAP_NET_ADMIN and CAP_NET_RAW.
    crate::privs::drop_to_needed()?;
    listener.set_nonblocking(true)?;
    recover(&dir);
    let mut monitor = LinkMonitor::new()?;
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(&ep, &listener, EventData::new_u64(LISTENER), EventFlags::IN)?;
    epoll::add(&ep, &monitor, EventData::new_u64(MONITOR), EventFlags::IN)?;
    let mut addrs = AddrMonitor::new().context("cannot listen to address changes")?;
    epoll::add(&ep, &addrs, EventData::new_u64(ADDRS), EventFlags::IN)?;
    let mut d = Daemon {
        start: std::time::Instant::now(),
        epoll: ep,
        next_token: ADDRS,
        conns: Vec::new(),
        bonds: Vec::new(),
        report_dir: dir,
        events: Vec::new(),
        access,
        fast,
    };
    eprintln!("ubond: daemon listening on {} (data path: {path_line})", control.display());
    let result = main_loop(&mut d, &listener, &mut monitor, &mut addrs, &stop);
    while !d.bonds.is_empty() {
        let last = d.bonds.len() - 1;
        d.delete(last);
    }
    let _ = std::fs::remove_file(control);
    eprintln!("ubond: daemon stopped");
    result
}

fn main_loop(
    d: &mut Daemon,
    listener: &UnixListener,
    monitor: &mut LinkMonitor,
    addrs: &mut AddrMonitor,
    stop: &AtomicBool,
) -> Result<()> {
    let mut buf = vec![0u8; FRAME_MAX];
    let mut ready: Vec<epoll::Event> = Vec::with_capacity(64);
    let mut last_report = d.start;
    while !stop.load(Ordering::Relaxed) {
        // Timers first, so the wait ends at the next deadline.
        let now = d.now();
        let mut next = now + Duration::from_millis(500);
        let mut hold_deadline: Option<std::time::Instant> = None;
        for rt in d.bonds.iter_mut() {
            if rt.tx.deadline().is_some_and(|t| t <= std::time::Instant::now()) {
                rt.flush(&d.epoll);
            }
            hold_deadline = match (hold_deadline, rt.tx.deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if rt.bond.poll_timeout().is_some_and(|t| t <= now) {
                rt.bond.handle_timeout_with_load(now, &mut rt.cursor.load);
                rt.drain();
            }
            if let Some(t) = rt.bond.poll_timeout() {
                next = next.min(t);
            }
        }
        let mut wait = next.saturating_duration_since(d.now());
        if let Some(t) = hold_deadline {
            wait = wait.min(t.saturating_duration_since(std::time::Instant::now()));
        }
        let ts = Timespec {
            tv_sec: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        ready.clear();
        match epoll::wait(&d.epoll, spare_capacity(&mut ready), Some(&ts)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        for ev in &ready {
            match ev.data.u64() {
                LISTENER => d.accept(listener),
                MONITOR => d.handle_link_events(monitor),
                ADDRS => {
                    if addrs.drain() {
                        d.bonds.iter_mut().for_each(BondRt::refresh_addresses);
                    }
                }
                token => d.ready(token, ev.flags, &mut buf),
            }
        }
        d.expire_conns();
        for bi in 0..d.bonds.len() {
            if d.bonds[bi].fast_dirty {
                d.sync_fast(bi);
            }
        }
        let periodic = last_report.elapsed() >= Duration::from_secs(1);
        if periodic {
            last_report = std::time::Instant::now();
        }
        for rt in d.bonds.iter_mut().filter(|rt| rt.dirty || periodic) {
            rt.write_report(&d.report_dir);
        }
    }
    Ok(())
}

fn instant(start: std::time::Instant) -> Instant {
    Instant::from_nanos(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX))
}
