//! The event loop: the control plane's thread, waiting on one epoll set ([`Poller`]) for the
//! control socket, the link and address listeners, the control plane's packet sockets (each
//! slave's, for its control frames, and each bond's on its data-path end, for balance-alb's
//! ARP), and for the earliest deadline (the cores' timers). Each wakeup is handed to the part
//! that owns what woke: [`datapath`](super::datapath) for control frames,
//! [`control_socket`](super::control_socket) and [`verbs`](super::verbs) for requests,
//! [`events`](super::events) for link and address changes, [`metrics`](super::metrics) for
//! scrapes. Then the fast path and the data threads ([`super::workers`]) are brought up to
//! date, the report files rewritten and the metrics' textfile refreshed. Data frames never
//! come here: the data threads (or the fast path) forward them.

use std::cell::Cell;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::Timespec;

use super::bonds::Bonds;
use super::clock::Clock;
use super::control_socket::ControlSocket;
use super::datapath::{self, FRAME_MAX};
use super::events::{self, Watch};
use super::metrics::Metrics;
use super::restore;
use super::state::State;
use super::verbs;
use ubond_sys::service::ServiceManager;

/// The poll-set tokens of the control socket and the link and address listeners; taps, slaves
/// and control connections get the following ones.
const LISTENER: u64 = 1;
const LINKS: u64 = 2;
const ADDRS: u64 = 3;
/// Longest wait without a deadline.
const IDLE: Duration = Duration::from_millis(500);
/// How often every report file is rendered again, even without news.
const REPORT_PERIOD: Duration = Duration::from_secs(1);
/// How long a bond's BFD partners are asked to wait for the next daemon when this one stops
/// for a restart: as long as a fast-rate LACP partner waits (3 s), the same budget.
const BFD_RESTART_WAIT: Duration = Duration::from_secs(3);
/// How long the stopping daemon waits for its BFD partners to answer that they will wait.
const BFD_HOLD_ANSWER: Duration = Duration::from_millis(250);

/// The event loop's buffers: a frame, and the ready list of the poll set.
struct Io {
    buf: Vec<u8>,
    ready: Vec<epoll::Event>,
}

impl Io {
    fn new() -> Io {
        Io { buf: vec![0u8; FRAME_MAX], ready: Vec::with_capacity(64) }
    }
}

/// The epoll set, and the tokens that name what is in it.
pub(super) struct Poller {
    epoll: OwnedFd,
    last_token: Cell<u64>,
}

impl Poller {
    /// An empty poll set, whose [`Poller::add`] tokens follow the event loop's own.
    pub(super) fn new() -> Result<Poller> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        Ok(Poller { epoll, last_token: Cell::new(ADDRS) })
    }

    /// Watches `fd` for `flags` under a new token, which it returns. (Closing `fd` takes it
    /// out of the set.)
    pub(super) fn add(&self, fd: &impl AsFd, flags: EventFlags) -> rustix::io::Result<u64> {
        let token = self.last_token.get() + 1;
        self.last_token.set(token);
        self.add_as(fd, token, flags)?;
        Ok(token)
    }

    /// Watches `fd` for `flags` under `token`.
    pub(super) fn add_as(
        &self,
        fd: &impl AsFd,
        token: u64,
        flags: EventFlags,
    ) -> rustix::io::Result<()> {
        epoll::add(&self.epoll, fd, EventData::new_u64(token), flags)
    }

    /// Watches `fd` (added as `token`) for `flags` now (none: not at all, for now).
    pub(super) fn watch(
        &self,
        fd: &impl AsFd,
        token: u64,
        flags: EventFlags,
    ) -> rustix::io::Result<()> {
        epoll::modify(&self.epoll, fd, EventData::new_u64(token), flags)
    }

    /// Stops watching `fd`.
    pub(super) fn remove(&self, fd: &impl AsFd) -> rustix::io::Result<()> {
        epoll::delete(&self.epoll, fd)
    }

    /// Waits at most `timeout` (`None`: until something happens) for events, into `ready`.
    pub(super) fn wait(
        &self,
        ready: &mut Vec<epoll::Event>,
        timeout: Option<Duration>,
    ) -> rustix::io::Result<()> {
        let ts = timeout.map(|t| Timespec {
            tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        ready.clear();
        epoll::wait(&self.epoll, spare_capacity(ready), ts.as_ref()).map(drop)
    }
}

/// The running daemon: its clock, poll set, control socket, bonds, listeners and metrics.
pub(super) struct Daemon {
    clock: Clock,
    poller: Poller,
    control: ControlSocket,
    bonds: Bonds,
    watch: Watch,
    /// The service manager (systemd), told the daemon is alive.
    service: ServiceManager,
    metrics: Metrics,
}

impl Daemon {
    /// The daemon with no bonds yet, everything it listens to in its poll set.
    pub(super) fn new(
        clock: Clock,
        control: ControlSocket,
        bonds: Bonds,
        service: ServiceManager,
        mut metrics: Metrics,
    ) -> Result<Daemon> {
        let poller = Poller::new()?;
        poller.add_as(control.listener(), LISTENER, EventFlags::IN)?;
        let watch = Watch::new(&poller, LINKS, ADDRS)?;
        metrics.start(&poller, &bonds, clock.now())?;
        Ok(Daemon { clock, poller, control, bonds, watch, service, metrics })
    }

    /// Runs again the bonds a daemon that ran before left (see [`super::restore`]).
    pub(super) fn restore(&mut self, state: State, boot_id: &str) {
        restore::restore(&mut self.bonds, &self.poller, state, boot_id);
    }

    /// Whether `ubond shutdown` asked for every bond to go.
    pub(super) fn shutdown_requested(&self) -> bool {
        self.bonds.shutdown
    }

    /// Where the metrics are served or written, if anywhere.
    pub(super) fn metrics_at(&self) -> Option<String> {
        self.metrics.describe()
    }

    /// Lets clients in: the control socket appears at its path.
    pub(super) fn publish(&mut self) -> Result<()> {
        self.control.publish()
    }

    /// Runs until `stop` is set, `ubond shutdown` asks (or the poll set fails).
    pub(super) fn run(&mut self, stop: &AtomicBool) -> Result<()> {
        let mut io = Io::new();
        let mut last_report = self.clock.now();
        let watchdog = self.service.watchdog_interval();
        let mut last_watchdog = self.clock.now();
        while !stop.load(Ordering::Relaxed) && !self.bonds.shutdown {
            // What came in while the daemon was held up (a loaded machine, a long restore) is
            // read before the timers that are due: a BFD Detection Time or an LACP timeout
            // must not run out on a packet that is already waiting in a socket.
            if self.timers_due() {
                self.serve_until(&mut io, self.clock.now())?;
            }
            // Timers first, so the wait ends at the next deadline; what they changed reaches
            // the fast path before the wait (a BFD session that timed out, a failover).
            let mut next = self.run_timers();
            if let Some(period) = watchdog {
                let now = self.clock.now();
                if now.saturating_duration_since(last_watchdog) >= period {
                    self.service.watchdog();
                    last_watchdog = now;
                }
                next = next.min(last_watchdog + period);
            }
            self.serve_until(&mut io, next)?;
            let now = self.clock.now();
            let periodic = now.saturating_duration_since(last_report) >= REPORT_PERIOD;
            if periodic {
                last_report = now;
                // Groups joined by the bond's sockets have no notification: read them again.
                self.bonds.list.iter_mut().for_each(|rt| rt.refresh_multicast());
            }
            self.bonds.write_reports(periodic);
            self.bonds.save_if_changed(now);
            self.metrics.tick(now, &self.bonds);
        }
        Ok(())
    }

    /// Publishes what changed to the data paths, waits for something to do until `until` at
    /// the latest, and does it (frames, links, addresses, clients, metrics).
    fn serve_until(&mut self, io: &mut Io, until: ubond_core::time::Instant) -> Result<()> {
        self.bonds.sync_fast_if_dirty();
        self.bonds.publish_if_changed();
        let wait = until.saturating_duration_since(self.clock.now());
        match self.poller.wait(&mut io.ready, Some(wait)) {
            Ok(()) => {}
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        for ev in &io.ready {
            match ev.data.u64() {
                LISTENER => self.control.accept(&self.poller, self.clock.now()),
                LINKS => self.watch.links_changed(&mut self.bonds),
                ADDRS => self.watch.addresses_changed(&mut self.bonds),
                token if self.metrics.owns(token) => {
                    self.metrics.ready(token, &self.poller, self.clock.now(), &self.bonds)
                }
                token => self.ready(token, ev.flags, &mut io.buf),
            }
        }
        self.control.expire(self.clock.now());
        self.bonds.sync_fast_if_dirty();
        self.bonds.publish_if_changed();
        Ok(())
    }

    /// Before stopping for a restart (SIGTERM): the bonds' BFD partners are asked to wait
    /// [`BFD_RESTART_WAIT`] for the next daemon — a Poll Sequence that raises the Desired Min
    /// TX Interval we advertise, RFC 5880 6.8.3, so that their Detection Time covers the
    /// restart — and the daemon goes on until every partner has answered, at most
    /// [`BFD_HOLD_ANSWER`]. The state file then keeps the sessions of the bonds whose partners
    /// all answered, for the next daemon to resume ([`super::restore`]); the others start
    /// afresh. Without BFD sessions this returns at once.
    pub(super) fn hold_bfd(&mut self) {
        let start = self.clock.now();
        let mut any = false;
        for rt in self.bonds.list.iter_mut().filter(|rt| rt.bond.bfd().is_some()) {
            rt.bond.hold_bfd_for_restart(start, BFD_RESTART_WAIT);
            rt.drain();
            any = true;
        }
        if !any {
            return;
        }
        let give_up = start + BFD_HOLD_ANSWER;
        let mut io = Io::new();
        while !self.bonds.list.iter().all(|rt| rt.bond.bfd_restart_held()) {
            let next = self.run_timers().min(give_up);
            if self.clock.now() >= give_up || self.serve_until(&mut io, next).is_err() {
                break;
            }
        }
        let now = self.clock.now();
        for rt in &mut self.bonds.list {
            let held = rt.bond.bfd().is_some() && rt.bond.bfd_restart_held();
            rt.bfd_held = held.then_some(now);
            if rt.bond.bfd().is_some() && !held {
                eprintln!(
                    "{}: a BFD partner did not answer within {} ms: its sessions start afresh \
                     with the next daemon",
                    rt.bond.name(),
                    BFD_HOLD_ANSWER.as_millis()
                );
            }
        }
    }

    /// Whether a core's timer is due.
    fn timers_due(&self) -> bool {
        let now = self.clock.now();
        self.bonds.list.iter().any(|rt| rt.bond.poll_timeout().is_some_and(|t| t <= now))
    }

    /// Reads the slaves' carrier of the bonds whose `miimon` tick is due and runs the cores'
    /// timers that are due; returns the next deadline.
    fn run_timers(&mut self) -> ubond_core::time::Instant {
        let now = self.clock.now();
        let mut next = now + IDLE;
        let Bonds { list, carrier, fast, workers, .. } = &mut self.bonds;
        for rt in list.iter_mut() {
            if let Some(t) = events::poll_carrier(rt, carrier, now) {
                next = next.min(t);
            }
            if rt.bond.poll_timeout().is_some_and(|t| t <= now) {
                // What the fast path counted in the kernel and the data threads counted first:
                // bytes per balance-tlb/alb bucket, the ARP monitor's receive times.
                if let Some(load) = fast.take_load(rt) {
                    rt.cursor.load.merge(&load);
                }
                fast.take_rx_seen(rt, now, self.clock.monotonic_at_epoch(), workers);
                rt.take_data_counts(now);
                rt.bond.handle_timeout_with_load(now, &mut rt.cursor.load);
                rt.drain_quietly(true);
            }
            if let Some(t) = rt.bond.poll_timeout() {
                next = next.min(t);
            }
        }
        next
    }

    /// A control plane's packet socket (a slave's, a bond's data-path end) or a control
    /// connection is readable.
    fn ready(&mut self, token: u64, flags: EventFlags, buf: &mut [u8]) {
        let clock = &self.clock;
        for rt in self.bonds.list.iter_mut() {
            if rt.token == token {
                return datapath::arp_from_bond(clock, rt, buf);
            }
            if let Some(si) = rt.slaves.iter().position(|s| s.token == token) {
                if flags.intersects(EventFlags::IN | EventFlags::ERR | EventFlags::HUP) {
                    datapath::slave_to_bond(clock, rt, si, buf);
                }
                return;
            }
        }
        let (bonds, poller) = (&mut self.bonds, &self.poller);
        self.control.serve(token, |req| verbs::respond(bonds, poller, req));
    }

    /// Stops, leaving every bond running for the next daemon: the state file written one last
    /// time, the data threads stopped, then the control socket closed. The bonds' devices and
    /// the fast path's pinned programs stay; the slaves' packet sockets close with the process.
    /// The metrics' textfile goes: nobody would keep it true.
    pub(super) fn stop(mut self) {
        self.bonds.save_state(&[]);
        self.bonds.workers.stop();
        self.control.close();
        self.metrics.close();
    }

    /// Deletes every bond (their slaves given back, devices and programs removed), removes the
    /// state file and the fast path's pins, and stops listening (`ubond shutdown`).
    pub(super) fn shut_down(mut self) {
        while let Some(last) = self.bonds.list.len().checked_sub(1) {
            self.bonds.delete(last);
        }
        self.bonds.save_state(&[]);
        self.bonds.workers.stop();
        self.bonds.fast.remove_pins();
        self.control.close();
        self.metrics.close();
    }
}
