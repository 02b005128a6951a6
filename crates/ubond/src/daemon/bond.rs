//! One bond at run time ([`BondRt`]): the core's [`Bond`], the bond's own device (a veth pair
//! that outlives the daemon, see `ubond_sys::bond_device`) and its slaves, and what carries the
//! core's outputs to the system ([`BondRt::drain`]).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use rustix::event::epoll::EventFlags;
use ubond_core::bond::copies::RxCopies;
use ubond_core::bond::igmp::{igmp_reports, mld_reports, IgmpVersion};
use ubond_core::bond::{Bond, BondEvent, SlaveId, TxCursor};
use ubond_core::options::Mode;
use ubond_core::time::Instant;
use ubond_sys::addr::{self, IpAddresses};
use ubond_sys::bond_device::BondDevice;
use ubond_sys::{igmp, link, ControlFrames, PacketSocket, Receive};
use ubond_wire::MacAddr;

use super::clock::Clock;
use super::datapath::ZERO_HDR;
use super::event_loop::Poller;
use super::fastpath::{BondFast, Fast};
use super::metrics::Failovers;
use super::slave::SlaveRt;
use super::tc_path::TcTx;
use super::workers::{BondData, DataCounts, DataSocket, SlaveData, Workers};
use super::VERSION;
use ubond_sys::nft_rx::CopiesSlave;

/// A bond the daemon runs.
pub(super) struct BondRt {
    pub(super) bond: Bond,
    /// The bond's device and its data-path end.
    pub(super) dev: BondDevice,
    /// The control plane's packet socket on the data-path end (with virtio-net headers):
    /// received control frames the core passes up are written to it, and in balance-alb the
    /// ARP frames the stack sends are read from it ([`BondRt::sync_receive`]).
    pub(super) ctl: PacketSocket,
    /// What `ctl` receives.
    ctl_receive: Receive,
    /// Its token in the poll set.
    pub(super) token: u64,
    /// The data threads' sockets on the data-path end, one each: what the stack sends through
    /// the bond is read from them, what the bond receives is written to them.
    pub(super) end: Vec<DataSocket>,
    /// Its transmit by tc's filter on the data-path end (`super::tc_path`).
    pub(super) tc_tx: TcTx,
    /// The slaves of its table of broadcast's copies in the kernel (`super::tc_path`, the
    /// userspace path); `None`: not known (an earlier daemon's table, until the first sync).
    pub(super) tc_copies: Option<Vec<CopiesSlave>>,
    /// The bond's identity for the data threads.
    key: u64,
    /// What the data threads count for the control plane.
    counts: Arc<DataCounts>,
    /// Broadcast's TCP segments the data threads delivered lately (`tcp_dup_discard`).
    copies: Arc<Mutex<RxCopies>>,
    /// What the data threads were last given of the bond; `None`: it changed since.
    pub(super) published: Option<Arc<BondData>>,
    /// The device's IP addresses, as last given to the core.
    addrs: IpAddresses,
    /// balance-tlb/alb's byte counts of every data path since the last timer.
    pub(super) cursor: Box<TxCursor>,
    /// The device's MTU, which the slaves follow (as Linux's `bond_change_mtu`).
    pub(super) mtu: Option<u32>,
    /// The device's administrative state (`ip link set BOND up/down`), as last seen.
    pub(super) admin_up: bool,
    pub(super) slaves: Vec<SlaveRt>,
    /// The report file's text, as last written.
    report: String,
    /// Something the report shows may have changed since it was written.
    pub(super) dirty: bool,
    /// The fast path's state for this bond.
    pub(super) fast: BondFast,
    /// The daemon's clock.
    clock: Clock,
    /// When the bond last sent an LACPDU.
    pub(super) lacpdu_sent: Option<Instant>,
    /// An LACPDU went out since the state file last said when.
    pub(super) lacpdu_unrecorded: bool,
    /// When the bond's BFD partners acknowledged that they wait for the next daemon (see
    /// [`super::event_loop::Daemon::hold_bfd`]): the state file then keeps the sessions.
    pub(super) bfd_held: Option<Instant>,
    /// What the state file keeps of the bond changed (its LACP state, its active slave).
    pub(super) state_dirty: bool,
    /// Changes of the active slave, for the metrics.
    pub(super) failovers: Failovers,
    /// The link-layer multicast groups the bond's device joined (its slaves that receive for
    /// it join them too).
    bond_groups: Vec<MacAddr>,
    /// The bond's device is promiscuous (`tcpdump -i BOND`): so are the slaves receiving for it.
    pub(super) dev_promisc: bool,
    /// The bond's device has a master (a bridge port, in a VRF): the userspace path's tc
    /// filters do not hand it frames as received then (`RxPlan::rewrites`).
    pub(super) dev_master: bool,
    /// When the slaves' carrier is read next (every `miimon`, see [`super::events::poll_carrier`]).
    pub(super) mii_next: Instant,
}

/// A bond's device as the caller made or found it.
pub(super) struct Device {
    /// The device.
    pub(super) dev: BondDevice,
    /// Its administrative state.
    pub(super) admin_up: bool,
    /// A daemon that ran before left it (it keeps its carrier until the bond's slaves are back).
    pub(super) adopted: bool,
}

impl BondRt {
    /// Runs bond `bond` on its device (made or found by the caller): the control plane's socket
    /// on the data-path end in the poll set and the data threads' opened, the fast path's
    /// egress program on the device when there is one. `key` is the bond's identity for the
    /// data threads.
    /// The core then runs its timers due at `now`, and the device takes its addresses and
    /// report (in `dir`), and its carrier unless it is adopted (a device that carries a
    /// bond's traffic keeps its carrier until the bond's slaves are back and say otherwise:
    /// see [`BondRt::sync_carrier`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open(
        bond: Bond,
        device: Device,
        clock: Clock,
        poller: &Poller,
        fast: &mut Fast,
        workers: &Workers,
        key: u64,
        dir: &Path,
    ) -> Result<BondRt> {
        let Device { dev, admin_up, adopted } = device;
        let mut bond = bond;
        bond.set_bfd_seed(super::bfd::seed());
        let now = clock.now();
        let name = bond.name().to_string();
        // GSO super-frames and partial checksums cross the daemon whole (see `datapath`).
        let ctl = dev.open_data_socket(true, Receive::Nothing, None)?;
        let token = poller.add(&ctl, EventFlags::IN)?;
        let end = workers.open_end(&dev)?;
        // The data threads read the data-path end from now on; an earlier daemon's filter
        // there would send every frame a second time.
        let tc_tx = TcTx::adopt(dev.peer_name(), dev.peer_ifindex());
        // An adopted device's program is the earlier daemon's until the restore takes over.
        let link = if adopted { None } else { fast.attach_tap(&name) };
        let fast = BondFast::new(link, adopted);
        let state = link::link_state(&name).ok();
        let mut rt = BondRt {
            bond,
            dev,
            ctl,
            ctl_receive: Receive::Nothing,
            token,
            end,
            tc_tx,
            // An earlier daemon's table: its slaves' parts go as they are adopted, the rest at
            // the first sync.
            tc_copies: None,
            key,
            counts: Arc::default(),
            copies: Arc::default(),
            published: None,
            admin_up,
            mtu: state.as_ref().and_then(|s| s.mtu),
            dev_master: state.as_ref().is_none_or(|s| s.master.is_some()),
            cursor: Box::default(),
            addrs: IpAddresses::default(),
            slaves: Vec::new(),
            report: String::new(),
            dirty: true,
            fast,
            clock,
            lacpdu_sent: None,
            lacpdu_unrecorded: false,
            bfd_held: None,
            state_dirty: true,
            failovers: Failovers::default(),
            mii_next: now,
            bond_groups: Vec::new(),
            dev_promisc: false,
        };
        rt.sync_receive();
        rt.bond.set_admin_up(now, admin_up);
        rt.bond.handle_timeout(now);
        // (The core starts without carrier and says so only when that changes: an adopted
        // device keeps its carrier through the bond's first steps, before its slaves are back.)
        if !adopted {
            rt.sync_carrier();
        }
        rt.drain();
        rt.refresh_addresses();
        rt.write_report(dir);
        Ok(rt)
    }

    /// Gives the device the bond's carrier as the core has it now.
    pub(super) fn sync_carrier(&self) {
        self.set_carrier(self.bond.carrier());
    }

    /// Gives the device the bond's carrier.
    fn set_carrier(&self, up: bool) {
        if let Err(e) = self.dev.set_carrier(up) {
            eprintln!("ubond: {}: {e}", self.bond.name());
        }
    }

    /// The slave with core id `id`.
    pub(super) fn slave(&self, id: SlaveId) -> Option<&SlaveRt> {
        self.slaves.iter().find(|s| s.id == id)
    }

    /// Sends a frame the core made on slave `id` (no offload: an all-zero virtio-net
    /// header); a full queue drops it, as a NIC would.
    fn send_on(&self, id: SlaveId, frame: &[u8]) {
        if let Some(s) = self.slave(id) {
            let _ = s.sock.send_vectored(&[&ZERO_HDR, frame]);
        }
    }

    /// Drains the bond's transmits and events. Called after every control-plane input (a
    /// LACPDU or ARP reply consumed, a timer, a link change), any of which may change what the
    /// report shows (a partner's state arrives without an event), so the report is re-rendered
    /// (and rewritten only if its text changed).
    pub(super) fn drain(&mut self) {
        self.drain_quietly(false);
    }

    /// [`BondRt::drain`] after an input that changes the report only through events (a
    /// micro-BFD packet, a timer): unless one comes, or a frame other than a BFD packet goes
    /// out, the report is not rendered again now (its periodic rendering catches counters).
    /// At 10 ms BFD timers, rendering it after every packet would be most of the daemon's work.
    pub(super) fn drain_quietly(&mut self, quiet: bool) {
        let mut news = !quiet;
        while let Some(t) = self.bond.poll_transmit() {
            news |= !super::bfd::is_bfd_packet(&t.frame);
            self.send_on(t.slave, &t.frame);
            if is_lacpdu(&t.frame) {
                self.lacpdu_sent = Some(self.clock.now());
                self.lacpdu_unrecorded = true;
            }
        }
        while let Some(ev) = self.bond.poll_event() {
            news = true;
            match ev {
                BondEvent::Carrier { up } => self.set_carrier(up),
                BondEvent::BondMac { mac } => {
                    if let Err(e) = link::change_mac(self.bond.name(), mac) {
                        eprintln!("ubond: {}: {e}", self.bond.name());
                    }
                }
                BondEvent::SlaveMac { slave, mac } => {
                    // The ARP monitor's traffic is judged against the slave's address, and the
                    // userspace path's filters match it: every data path learns it.
                    self.data_changed();
                    if let Some(s) = self.slave(slave) {
                        if let Err(e) = link::change_mac(&s.name, mac) {
                            eprintln!("ubond: {}: {}: {e}", self.bond.name(), s.name);
                        }
                    }
                }
                BondEvent::Promisc { slave, on } => {
                    if let Some(s) = self.slaves.iter_mut().find(|s| s.id == slave) {
                        s.promisc_wanted = on;
                    }
                }
                BondEvent::Log { slave, message } => match slave {
                    Some(s) => eprintln!("{}: ({s}): {message}", self.bond.name()),
                    None => eprintln!("{}: {message}", self.bond.name()),
                },
                BondEvent::ResendIgmp { slave } => {
                    let frames = memberships(
                        self.bond.name(),
                        self.bond.mac(),
                        &self.addrs.v4,
                        &self.addrs.v6,
                    );
                    for frame in frames {
                        self.send_on(slave, &frame);
                    }
                }
                BondEvent::PlanChanged => self.data_changed(),
                BondEvent::ActiveSlave { slave } => {
                    self.failovers.active_slave(slave);
                    self.state_dirty = true;
                }
                BondEvent::Lacp(_) => self.state_dirty = true,
            }
        }
        self.dirty |= news;
        // The filters follow the bond's state, which changes only with an event or an input
        // that is not a BFD packet or a timer.
        if news {
            self.sync_filters();
        }
    }

    /// Makes the data threads' sockets on slave `si` receive `what`
    /// ([`Workers::set_slave_receive`]); sockets opened anew reach the threads with the
    /// bond's next snapshot.
    pub(super) fn set_slave_receive(
        &mut self,
        si: usize,
        workers: &Workers,
        what: Receive,
    ) -> Result<()> {
        let s = &mut self.slaves[si];
        if workers.set_slave_receive(&s.name, &mut s.data, what)? {
            self.published = None;
        }
        Ok(())
    }

    /// The bond's plan, options or slaves changed: the fast path's maps and the data threads'
    /// snapshot are to be brought up to date.
    pub(super) fn data_changed(&mut self) {
        self.fast.dirty = true;
        self.published = None;
    }

    /// Gives the control plane's sockets the filters the bond's options need, on either data
    /// path: each slave's takes the control frames the core reads (LACPDUs and micro-BFD
    /// always; ARP, and neighbour discovery, for the ARP monitor and balance-alb's receive
    /// balancing); the one on the data-path end takes, in balance-alb, the ARP frames the bond
    /// sends (its receive balancing rewrites them), and nothing otherwise.
    pub(super) fn sync_receive(&mut self) {
        let arp_monitor = self.arp_monitor();
        let alb = self.bond.options().mode == Mode::BalanceAlb;
        let control = ControlFrames { arp: arp_monitor || alb, neighbour_discovery: arp_monitor };
        let name = self.bond.name();
        for s in self.slaves.iter_mut().filter(|s| s.control != Some(control)) {
            match s.sock.set_control_only(Some(control)) {
                Ok(()) => s.control = Some(control),
                Err(e) => eprintln!("ubond: {name}: {e}"),
            }
        }
        let ctl = if alb { Receive::Arp } else { Receive::Nothing };
        if ctl != self.ctl_receive {
            match self.ctl.set_receive(ctl) {
                Ok(()) => self.ctl_receive = ctl,
                Err(e) => eprintln!("ubond: {name}: {e}"),
            }
        }
    }

    /// The ARP monitor runs (`arp_interval` set): the daemon reads ARP and neighbour
    /// discovery on the slaves and needs each slave's receive times.
    pub(super) fn arp_monitor(&self) -> bool {
        self.bond.options().arp_interval != 0
    }

    /// What the data threads need of the bond now (made again only after a change).
    pub(super) fn data_view(&mut self) -> Arc<BondData> {
        if let Some(d) = &self.published {
            return Arc::clone(d);
        }
        let view = Arc::new(BondData {
            key: self.key,
            tx: self.bond.tx_plan().clone(),
            rx: self.bond.rx_plan().clone(),
            stamp: self.arp_monitor(),
            ifindex: self.dev.ifindex(),
            copies: Arc::clone(&self.copies),
            end: self.end.clone(),
            slaves: self
                .slaves
                .iter()
                .map(|s| SlaveData {
                    id: s.id,
                    ifindex: s.ifindex,
                    socks: s.data.clone(),
                    own_mac: self.bond.slave_mac(s.id).unwrap_or_default(),
                    seen: Arc::clone(&s.seen),
                })
                .collect(),
            counts: Arc::clone(&self.counts),
        });
        self.published = Some(Arc::clone(&view));
        view
    }

    /// Takes what the data threads counted since the last timer: balance-tlb/alb's bytes per
    /// bucket (into the cursor's load) and, for the ARP monitor, when each slave last
    /// received (given to the core at `now`, as the fast path's receive times are).
    pub(super) fn take_data_counts(&mut self, now: Instant) {
        self.counts.take_load(&mut self.cursor.load);
        if self.arp_monitor() {
            for s in &self.slaves {
                let (any, arp_ipv6) = s.seen.read();
                if any.is_some() {
                    self.bond.handle_rx_seen(now, s.id, any, arp_ipv6);
                }
            }
        }
    }

    /// Brings each slave's receive filter to what the bond needs now (see
    /// `ubond_core::bond::filter`): the multicast groups its socket joined, and promiscuous mode
    /// where the mode or the bond's device asks for it.
    pub(super) fn sync_filters(&mut self) {
        for s in self.slaves.iter_mut() {
            let Some(filter) = self.bond.slave_filter(s.id) else { continue };
            let mut want = filter.groups;
            if filter.bond_groups {
                for g in &self.bond_groups {
                    if !want.contains(g) {
                        want.push(*g);
                    }
                }
            }
            s.joined.retain(|g| {
                let keep = want.contains(g);
                if !keep {
                    let _ = s.sock.leave_multicast(*g);
                }
                keep
            });
            for g in want {
                if !s.joined.contains(&g) {
                    match s.sock.join_multicast(g) {
                        Ok(()) => s.joined.push(g),
                        Err(e) => eprintln!("ubond: {}: {}: {e}", self.bond.name(), s.name),
                    }
                }
            }
            let promisc = s.promisc_wanted || (self.dev_promisc && filter.bond_groups);
            if promisc != s.sock.promiscuous() {
                if let Err(e) = s.sock.set_promiscuous(promisc) {
                    eprintln!("ubond: {}: {}: {e}", self.bond.name(), s.name);
                }
            }
        }
    }

    /// Reads the link-layer multicast list of the bond's device again; the slaves receiving
    /// for it follow.
    pub(super) fn refresh_multicast(&mut self) {
        if let Ok(groups) = igmp::link_groups(self.dev.ifindex()) {
            if groups != self.bond_groups {
                self.bond_groups = groups;
                self.sync_filters();
            }
        }
    }

    /// Gives the core the device's current IP addresses (ARP/NS probes, peer notifications).
    pub(super) fn refresh_addresses(&mut self) {
        let Ok(addrs) = addr::ip_addresses(self.dev.ifindex()) else { return };
        if addrs != self.addrs {
            let list: Vec<String> = addrs
                .v4
                .iter()
                .map(ToString::to_string)
                .chain(addrs.v6.iter().map(ToString::to_string))
                .collect();
            eprintln!("{}: addresses: {}", self.bond.name(), list.join(" "));
            self.bond.set_addresses(addrs.v4.clone(), addrs.v6.clone());
            self.addrs = addrs;
            self.drain();
        }
        // An address joins its solicited-node group (and the first, all-nodes).
        self.refresh_multicast();
    }

    /// Writes the bond's report file in `dir` if its text changed (a new file renamed over the
    /// old, so readers never see half of one).
    pub(super) fn write_report(&mut self, dir: &Path) {
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
}

/// Whether `frame` is an LACPDU (Slow Protocols, subtype 1).
fn is_lacpdu(frame: &[u8]) -> bool {
    frame.len() > 14 && frame[12..14] == [0x88, 0x09] && frame[14] == 1
}

/// The membership reports (IGMP and MLD) for the groups bond `dev` has joined now, from the
/// bond's MAC and addresses (the first IPv4 one, the IPv6 link-local one).
fn memberships(dev: &str, mac: MacAddr, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> Vec<Vec<u8>> {
    let (version, groups) = igmp::ipv4_groups(dev).unwrap_or_default();
    let version = match version {
        igmp::IgmpVersion::V1 => IgmpVersion::V1,
        igmp::IgmpVersion::V2 => IgmpVersion::V2,
        igmp::IgmpVersion::V3 => IgmpVersion::V3,
    };
    let src4 = v4.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut frames = igmp_reports(mac, src4, version, &groups);
    let src6 =
        v6.iter().copied().find(Ipv6Addr::is_unicast_link_local).unwrap_or(Ipv6Addr::UNSPECIFIED);
    frames.extend(mld_reports(mac, src6, &igmp::ipv6_groups(dev).unwrap_or_default()));
    frames
}
