//! `ubond daemon`: one thread polling the control socket, the link monitor, each bond's tap and
//! each slave's packet socket, driving the sans-IO [`Bond`]s of `ubond-core`.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use ubond_core::bond::{Bond, BondEvent, RxVerdict, SlaveConfig, SlaveId, TxChoice};
use ubond_core::lacp::{Duplex as CoreDuplex, LinkState as CoreLink};
use ubond_core::options::SlaveCommand;
use ubond_core::options::{parse_module_options, parse_slaves_command, OptionId, Scope};
use ubond_core::time::Instant;
use ubond_sys::link::{self, LinkEvent, LinkMonitor};
use ubond_sys::{Duplex, PacketOptions, PacketSocket, Tap};
use ubond_wire::MacAddr;

use crate::control::{parse_request, Request, Response, MAX_REQUEST};

/// The driver version shown on the report's first line.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Largest frame read from a tap or a slave.
const FRAME_MAX: usize = 65536;
/// Most frames handled from one descriptor per wakeup, so no source starves the others.
const BURST: usize = 64;

struct SlaveRt {
    id: SlaveId,
    name: String,
    sock: PacketSocket,
    /// The interface's address, admin state and the sysctls changed, as found.
    orig_mac: MacAddr,
    orig_up: bool,
    sysctls: Vec<(PathBuf, String)>,
    carrier: bool,
}

struct BondRt {
    bond: Bond,
    tap: Tap,
    slaves: Vec<SlaveRt>,
    counter: u32,
    report: String,
    dirty: bool,
}

struct Daemon {
    start: std::time::Instant,
    bonds: Vec<BondRt>,
    report_dir: PathBuf,
    events: Vec<LinkEvent>,
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
    /// Sends a frame on slave `id`; a full queue drops it, as a NIC would.
    fn send_on(&self, id: SlaveId, frame: &[u8]) {
        if let Some(s) = self.slaves.iter().find(|s| s.id == id) {
            let _ = s.sock.send(frame);
        }
    }

    /// Drains the bond's transmits and events.
    fn drain(&mut self) {
        while let Some(t) = self.bond.poll_transmit() {
            self.send_on(t.slave, &t.frame);
        }
        while let Some(ev) = self.bond.poll_event() {
            self.dirty = true;
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
                BondEvent::ActiveSlave { .. }
                | BondEvent::PlanChanged
                | BondEvent::Lacp(_)
                | BondEvent::ResendIgmp { .. } => {}
            }
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
        let SlaveRt { name, sock, orig_mac, orig_up, sysctls, .. } = s;
        drop(sock);
        if let Err(e) = set_iface_mac(&name, orig_mac) {
            eprintln!("ubond: {name}: cannot restore its MAC {orig_mac}: {e:#}");
        }
        if !orig_up {
            let _ = link::set_up(&name, false);
        }
        for (path, v) in sysctls {
            let _ = std::fs::write(path, v);
        }
    }
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
        let tap = Tap::create(name)?;
        link::set_up(name, true)?;
        let now = self.now();
        bond.handle_timeout(now);
        let _ = tap.set_carrier(bond.carrier());
        let mut rt = BondRt {
            bond,
            tap,
            slaves: Vec::new(),
            counter: 0,
            report: String::new(),
            dirty: true,
        };
        rt.drain();
        rt.write_report(&self.report_dir);
        self.bonds.push(rt);
        Ok(parsed.warnings.iter().map(|w| format!("warning: {w}\n")).collect())
    }

    fn enslave(&mut self, bi: usize, iface: &str) -> Result<()> {
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
        let options = PacketOptions { promiscuous: true, ..PacketOptions::default() };
        let sock = PacketSocket::open(iface, options)?;
        let sysctls = set_slave_sysctls(iface);
        let mut slave = SlaveRt {
            id: SlaveId(0),
            name: iface.to_string(),
            sock,
            orig_mac,
            orig_up: state.admin_up,
            sysctls,
            carrier: false,
        };
        if let Err(e) = link::set_up(iface, true) {
            BondRt::restore(slave);
            return Err(e.into());
        }
        slave.carrier = link::link_state(iface).map(|s| s.carrier).unwrap_or(false);
        let now = self.now();
        let rt = &mut self.bonds[bi];
        let config = SlaveConfig { name: iface.to_string(), perm_mac: orig_mac };
        match rt.bond.enslave(now, config, link_of(iface, slave.carrier)) {
            Ok(id) => {
                slave.id = id;
                rt.slaves.push(slave);
                rt.drain();
                Ok(())
            }
            Err(e) => {
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
        rt.drain();
        let s = rt.slaves.remove(pos);
        BondRt::restore(s);
        rt.dirty = true;
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
        let _ = std::fs::remove_file(self.report_dir.join(rt.bond.name()));
        drop(rt);
    }

    fn set(&mut self, bi: usize, option: &str, value: &str) -> Result<String> {
        if option == "slaves" {
            match parse_slaves_command(value).map_err(anyhow::Error::msg)? {
                SlaveCommand::Add(i) => self.enslave(bi, &i)?,
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
                for i in &ifaces {
                    self.enslave(bi, i)?;
                }
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

    /// Serves one control connection (bounded read, one answer).
    fn serve(&mut self, mut stream: UnixStream) {
        let answer = match rustix::net::sockopt::socket_peercred(&stream) {
            Ok(cred) if cred.uid.is_root() => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                match read_line(&mut stream) {
                    Ok(line) => match parse_request(&line) {
                        Ok(req) => match self.handle(req) {
                            Ok(out) => Response::ok(out),
                            Err(e) => Response::err(format!("{e:#}")),
                        },
                        Err(resp) => resp,
                    },
                    Err(e) => Response::err(e),
                }
            }
            _ => Response::err("permission denied: only root may use the ubond control socket"),
        };
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        if let Ok(mut text) = serde_json::to_string(&answer) {
            text.push('\n');
            let _ = stream.write_all(text.as_bytes());
        }
    }

    fn handle_link_events(&mut self, monitor: &mut LinkMonitor) {
        self.events.clear();
        let lost = monitor.read_events(&mut self.events).is_err();
        let now = self.now();
        let mut gone = Vec::new();
        for bi in 0..self.bonds.len() {
            let rt = &mut self.bonds[bi];
            for s in rt.slaves.iter_mut() {
                let mut carrier = None;
                for ev in self.events.iter().filter(|e| e.state.name == s.name) {
                    if ev.removed {
                        gone.push((bi, s.name.clone()));
                    } else {
                        carrier = Some(ev.state.carrier);
                    }
                }
                if lost {
                    carrier = link::link_state(&s.name).ok().map(|st| st.carrier);
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

fn read_line(stream: &mut UnixStream) -> std::result::Result<Vec<u8>, String> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(line),
            Ok(n) => {
                line.extend_from_slice(&chunk[..n]);
                if let Some(end) = line.iter().position(|&b| b == b'\n') {
                    line.truncate(end);
                    return Ok(line);
                }
                if line.len() > MAX_REQUEST {
                    return Err(format!("bad request: longer than {MAX_REQUEST} bytes"));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("bad request: {e}")),
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(control: &Path) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    let dir = control.parent().unwrap_or(Path::new("/")).to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if UnixStream::connect(control).is_ok() {
        bail!("a ubond daemon is already running at {}", control.display());
    }
    let _ = std::fs::remove_file(control);
    let listener = UnixListener::bind(control)
        .with_context(|| format!("cannot listen on {}", control.display()))?;
    std::fs::set_permissions(control, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    let mut monitor = LinkMonitor::new()?;
    let mut d = Daemon {
        start: std::time::Instant::now(),
        bonds: Vec::new(),
        report_dir: dir,
        events: Vec::new(),
    };
    eprintln!("ubond: daemon listening on {}", control.display());
    let result = main_loop(&mut d, &listener, &mut monitor, &stop);
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
    stop: &AtomicBool,
) -> Result<()> {
    let mut buf = vec![0u8; FRAME_MAX];
    let mut ready: Vec<bool> = Vec::new();
    let mut last_report = d.start;
    while !stop.load(Ordering::Relaxed) {
        // Timers first, so the poll timeout covers the next deadline.
        let now = d.now();
        let mut next = now + Duration::from_millis(500);
        for rt in d.bonds.iter_mut() {
            if rt.bond.poll_timeout().is_some_and(|t| t <= now) {
                rt.bond.handle_timeout(now);
                rt.drain();
            }
            if let Some(t) = rt.bond.poll_timeout() {
                next = next.min(t);
            }
        }
        let wait = next.saturating_duration_since(d.now());
        {
            let mut fds = Vec::with_capacity(2 + d.bonds.len() * 3);
            fds.push(PollFd::from_borrowed_fd(listener.as_fd(), PollFlags::IN));
            fds.push(PollFd::from_borrowed_fd(monitor.as_fd(), PollFlags::IN));
            for rt in &d.bonds {
                fds.push(PollFd::from_borrowed_fd(rt.tap.as_fd(), PollFlags::IN));
                for s in &rt.slaves {
                    fds.push(PollFd::from_borrowed_fd(s.sock.as_fd(), PollFlags::IN));
                }
            }
            let ts =
                Timespec { tv_sec: wait.as_secs() as i64, tv_nsec: i64::from(wait.subsec_nanos()) };
            match poll(&mut fds, Some(&ts)) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            ready.clear();
            ready.extend(fds.iter().map(|f| !f.revents().is_empty()));
        }
        let mut k = 2;
        for rt in d.bonds.iter_mut() {
            if ready.get(k).copied().unwrap_or(false) {
                tap_to_slaves(d.start, rt, &mut buf);
            }
            k += 1;
            for si in 0..rt.slaves.len() {
                if ready.get(k).copied().unwrap_or(false) {
                    slave_to_tap(d.start, rt, si, &mut buf);
                }
                k += 1;
            }
        }
        if ready.get(1).copied().unwrap_or(false) {
            d.handle_link_events(monitor);
        }
        if ready.first().copied().unwrap_or(false) {
            while let Ok((stream, _)) = listener.accept() {
                d.serve(stream);
            }
        }
        let periodic = last_report.elapsed() >= Duration::from_secs(1);
        if periodic {
            last_report = std::time::Instant::now();
        }
        let dir = d.report_dir.clone();
        for rt in d.bonds.iter_mut().filter(|rt| rt.dirty || periodic) {
            rt.write_report(&dir);
        }
    }
    Ok(())
}

fn instant(start: std::time::Instant) -> Instant {
    Instant::from_nanos(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

fn tap_to_slaves(start: std::time::Instant, rt: &mut BondRt, buf: &mut [u8]) {
    for _ in 0..BURST {
        let n = match rt.tap.recv(buf) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                eprintln!("ubond: {}: {e}", rt.bond.name());
                break;
            }
        };
        match rt.bond.tx_plan().select(&buf[..n], &mut rt.counter) {
            TxChoice::One(id) => rt.send_on(id, &buf[..n]),
            TxChoice::All => {
                for s in &rt.slaves {
                    let _ = s.sock.send(&buf[..n]);
                }
            }
            TxChoice::ControlPlane => {
                if let Some(id) = rt.bond.handle_arp_tx(instant(start), &mut buf[..n]) {
                    rt.send_on(id, &buf[..n]);
                }
                rt.drain();
            }
            TxChoice::Drop => {}
        }
    }
}

fn slave_to_tap(start: std::time::Instant, rt: &mut BondRt, si: usize, buf: &mut [u8]) {
    for _ in 0..BURST {
        let n = match rt.slaves[si].sock.recv(buf) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                // ENETDOWN once after the link went down: not worth a line.
                if e.raw_os_error() != Some(rustix::io::Errno::NETDOWN.raw_os_error()) {
                    eprintln!("ubond: {}: {e}", rt.slaves[si].name);
                }
                break;
            }
        };
        let id = rt.slaves[si].id;
        match rt.bond.handle_frame(instant(start), id, &buf[..n]) {
            RxVerdict::Deliver => {
                let _ = rt.tap.send(&buf[..n]);
            }
            RxVerdict::Consumed => rt.drain(),
            RxVerdict::Drop => {}
        }
    }
}
