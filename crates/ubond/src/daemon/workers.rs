//! The data threads: the userspace data path runs on threads of its own, apart from the
//! control plane (the event loop), so that a request, a netlink burst or a slow disk never
//! pauses forwarding, and so that it can use more than one CPU.
//!
//! **What they share, and how.** The control plane owns every [`Bond`](ubond_core::bond::Bond)
//! and makes every decision. The data threads get a snapshot of what forwarding needs
//! ([`BondData`]: the core's `TxPlan` and `RxPlan` as the core last published them, and the
//! sockets), which the control plane replaces whenever it changes ([`Workers::publish`]): a
//! new [`Published`] behind a mutex, a generation number the threads read without a lock
//! before each wait, and an eventfd that wakes each thread to take it. A thread decides every
//! frame with the plan of the snapshot it holds (`TxPlan::decide`, `RxPlan::verdict`, the
//! core's own functions), exactly as the in-kernel fast path does with its maps. What the
//! threads count for the control plane goes back without a queue: balance-tlb/alb's bytes per
//! bucket into a mutex the control plane empties at its timers ([`DataCounts`]), and when
//! each slave last received into two atomics ([`RxSeen`]), read for the ARP monitor as the
//! fast path's receive times are.
//!
//! **Who reads which frames.** No frame goes from a data thread to the control plane. Each
//! slave has the control plane's own packet socket, whose filter takes the bond's control
//! frames only (LACPDUs, micro-BFD, and ARP and neighbour discovery for the ARP monitor and
//! balance-alb: `BondRt::sync_receive`), as on the fast path, and one socket per data thread,
//! in a fanout group (`PACKET_FANOUT` by flow hash: each flow's frames reach one thread, in
//! order), which takes every frame while the bond's frames cross userspace; while the fast
//! path forwards them, the group is replaced by sockets that only send (for the frames the
//! fast path leaves to userspace), which the kernel hands no frame at all; the replaced ones,
//! and those of a released slave or a deleted bond, are closed on a thread of their own
//! (`Closer`). The data threads
//! leave Slow Protocols and micro-BFD frames to the control plane
//! (`ubond_core::bond::is_data_frame`, as the fast path does) and deliver the rest as the
//! receive plan says. On the bond's data-path end, each thread has a socket of the group;
//! balance-alb's ARP frames, which the core rewrites, reach the control plane through its own
//! socket there (an ARP-only filter), and the threads skip them.
//!
//! **When a slave or a bond goes**, the control plane publishes the bonds without it and
//! waits until every thread has taken that snapshot ([`Workers::publish`] with `settle`) before
//! it gives the interface back or deletes the device: no thread touches it afterwards.
//!
//! Limits: each thread reads at most [`forward::BURST`](super::forward) frames from a socket
//! per wakeup, and keeps at most one batch per bond waiting for room on a slave, for at most
//! `PENDING_MAX_AGE`. The threads block every signal (the event loop takes SIGTERM and SIGINT)
//! and sleep without a timeout when nothing waits.

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use rustix::event::{eventfd, EventfdFlags};
use ubond_core::bond::copies::RxCopies;
use ubond_core::bond::tlb::TlbLoad;
use ubond_core::bond::{RxPlan, SlaveId, TxPlan};
use ubond_core::time::Instant;
use ubond_sys::bond_device::BondDevice;
use ubond_sys::{Fanout, PacketOptions, PacketSocket, Receive};
use ubond_wire::MacAddr;

use super::clock::Clock;
use super::datapath::{SLAVE_RCVBUF, SLAVE_SNDBUF};
use super::forward;

/// Most data threads a daemon runs.
pub(crate) const MAX_THREADS: usize = 16;
/// Longest the control plane waits for every data thread to take a snapshot.
const SETTLE_MAX: Duration = Duration::from_secs(1);

/// One socket of a data thread, with its token in that thread's poll set.
#[derive(Debug, Clone)]
pub(super) struct DataSocket {
    /// Its token in the thread's poll set (unique in the daemon).
    pub(super) token: u64,
    /// The socket (the control plane keeps it too, to change its filter).
    pub(super) sock: Arc<PacketSocket>,
}

/// Makes every socket of `socks` receive `what`. Sockets opened to only send
/// ([`Workers::open_slave`] with [`Receive::Nothing`]) share no fanout group: more than one
/// of them cannot be made to receive (each would get every frame); they are opened again.
pub(super) fn set_receive(socks: &[DataSocket], what: Receive) -> ubond_sys::Result<()> {
    if what != Receive::Nothing && only_send(socks) && socks.len() > 1 {
        let e = std::io::Error::other("they only send: open them again to receive");
        return Err(ubond_sys::SysError::new(
            "make the data threads' sockets receive",
            Some(socks[0].sock.name()),
            e,
        ));
    }
    socks.iter().try_for_each(|s| s.sock.set_receive(what))
}

/// Whether `socks` only send ([`Workers::open_slave`] with [`Receive::Nothing`]): the
/// interface does not hand them its frames at all.
pub(super) fn only_send(socks: &[DataSocket]) -> bool {
    socks.iter().any(|s| !s.sock.listening())
}

/// When a slave last received a frame for this host, and an ARP or IPv6 one, as the data
/// threads saw it (nanoseconds of the daemon's clock, plus one; 0: never).
#[derive(Debug, Default)]
pub(super) struct RxSeen {
    any: AtomicU64,
    arp_ipv6: AtomicU64,
}

impl RxSeen {
    /// Frames arrived at `now`: one ARP or IPv6 frame among them if `arp_ipv6`.
    pub(super) fn note(&self, now: Instant, arp_ipv6: bool) {
        let at = u64::try_from(now.since_epoch().as_nanos()).unwrap_or(u64::MAX).saturating_add(1);
        self.any.fetch_max(at, Ordering::Relaxed);
        if arp_ipv6 {
            self.arp_ipv6.fetch_max(at, Ordering::Relaxed);
        }
    }

    /// When the last frame, and the last ARP or IPv6 one, arrived.
    pub(super) fn read(&self) -> (Option<Instant>, Option<Instant>) {
        let at = |v: u64| v.checked_sub(1).map(Instant::from_nanos);
        (at(self.any.load(Ordering::Relaxed)), at(self.arp_ipv6.load(Ordering::Relaxed)))
    }
}

/// What the data threads count for a bond's control plane.
#[derive(Debug, Default)]
pub(super) struct DataCounts {
    /// balance-tlb/alb: the bytes sent per bucket since the control plane took them.
    load: Mutex<TlbLoad>,
}

impl DataCounts {
    /// Adds a thread's bytes per bucket.
    pub(super) fn add_load(&self, load: &TlbLoad) {
        lock(&self.load).merge(load);
    }

    /// Takes the bytes counted since the last call into `into`.
    pub(super) fn take_load(&self, into: &mut TlbLoad) {
        let mut load = lock(&self.load);
        if !load.is_empty() {
            into.merge(&load);
            load.clear();
        }
    }
}

/// A mutex's guard, also when a thread panicked holding it (what it guards stays usable).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a data thread needs of one bond: a snapshot the control plane replaces when it
/// changes.
#[derive(Debug)]
pub(super) struct BondData {
    /// The bond's run-time identity (a bond deleted and made again under its name is another).
    pub(super) key: u64,
    /// The core's transmit plan.
    pub(super) tx: TxPlan,
    /// The core's receive plan.
    pub(super) rx: RxPlan,
    /// The ARP monitor runs: note when each slave receives ([`RxSeen`]).
    pub(super) stamp: bool,
    /// The bond device's interface index (the number [`RxPlan::discards_copy`] knows the bond
    /// by, as the fast path does).
    pub(super) ifindex: u32,
    /// Broadcast's TCP segments delivered lately, shared by the threads (a segment's copies
    /// may reach different threads), read while [`RxPlan::copies`] is on.
    pub(super) copies: Arc<Mutex<RxCopies>>,
    /// The data-path end's sockets, one per thread.
    pub(super) end: Vec<DataSocket>,
    pub(super) slaves: Vec<SlaveData>,
    /// What the threads count for the control plane.
    pub(super) counts: Arc<DataCounts>,
}

impl BondData {
    /// Slave `id`.
    pub(super) fn slave(&self, id: SlaveId) -> Option<&SlaveData> {
        self.slaves.iter().find(|s| s.id == id)
    }
}

/// What a data thread needs of one slave.
#[derive(Debug)]
pub(super) struct SlaveData {
    pub(super) id: SlaveId,
    /// Its interface index.
    pub(super) ifindex: u32,
    /// Its sockets, one per thread.
    pub(super) socks: Vec<DataSocket>,
    /// Its own address: another host's unicast is no traffic for the ARP monitor.
    pub(super) own_mac: MacAddr,
    /// When it last received.
    pub(super) seen: Arc<RxSeen>,
}

/// Every bond's data, as the control plane published it last.
#[derive(Debug, Default)]
pub(super) struct Published {
    /// Its number; each publication has a greater one.
    pub(super) generation: u64,
    pub(super) bonds: Vec<Arc<BondData>>,
}

/// What the control plane and the data threads share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// The last publication.
    published: Mutex<Arc<Published>>,
    /// Its generation, read without the lock.
    generation: AtomicU64,
    /// The generation each thread runs on.
    applied: Mutex<Vec<u64>>,
    applied_changed: Condvar,
    /// The threads stop.
    stop: AtomicBool,
}

impl Shared {
    /// The last publication, if newer than generation `have`.
    pub(super) fn newer_than(&self, have: u64) -> Option<Arc<Published>> {
        if self.generation.load(Ordering::Acquire) == have {
            return None;
        }
        Some(Arc::clone(&lock(&self.published)))
    }

    /// Thread `index` runs on generation `generation` now.
    pub(super) fn applied(&self, index: usize, generation: u64) {
        if let Some(g) = lock(&self.applied).get_mut(index) {
            *g = generation;
        }
        self.applied_changed.notify_all();
    }

    /// Whether the threads are to stop.
    pub(super) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// The data threads, seen from the control plane.
pub(super) struct Workers {
    shared: Arc<Shared>,
    /// Each thread's eventfd, written to wake it.
    wakers: Vec<Arc<OwnedFd>>,
    threads: Vec<JoinHandle<()>>,
    /// The last token handed out ([`Workers::token`]).
    last_token: Cell<u64>,
    /// The last generation published.
    generation: u64,
    /// Where sockets replaced by [`Workers::set_slave_receive`], or let go of
    /// ([`Workers::close`]), go to be closed.
    closer: Closer,
}

/// How many sets of sockets may wait for [`Closer`]'s thread; beyond, the control plane
/// closes them itself.
const CLOSING_MAX: usize = 64;

/// Closes the data threads' sockets the control plane replaced or let go of, on a thread of
/// its own: closing a packet socket waits out an RCU grace period in the kernel
/// (`packet_release` calls `synchronize_net`), 8–16 ms each where we measured it, which the
/// event loop must not spend in the middle of an enslave (four of them held an 802.3ad bond's
/// LACPDUs back), nor of a release or a bond's deletion, while the other bonds wait. A data
/// thread that still holds one in its snapshot closes it when it takes the next.
struct Closer {
    queue: Option<SyncSender<Vec<DataSocket>>>,
    thread: Option<JoinHandle<()>>,
}

impl Closer {
    /// Starts the closing thread (without it, the control plane closes them itself).
    fn start() -> Closer {
        let (queue, closing) = sync_channel::<Vec<DataSocket>>(CLOSING_MAX);
        let thread = ubond_sys::process::without_signals(|| {
            std::thread::Builder::new()
                .name("ubond-closer".to_string())
                .spawn(move || closing.iter().for_each(drop))
        });
        match thread {
            Ok(thread) => Closer { queue: Some(queue), thread: Some(thread) },
            Err(e) => {
                eprintln!("ubond: cannot start the thread that closes sockets: {e}");
                Closer { queue: None, thread: None }
            }
        }
    }

    /// Closes `socks` (or lets go of them, where a data thread still holds them).
    fn close(&self, socks: Vec<DataSocket>) {
        if let Some(queue) = &self.queue {
            // Full, or the thread gone: dropped, so closed, here.
            let _ = queue.try_send(socks);
        }
    }

    /// Closes what waits, and stops.
    fn stop(&mut self) {
        self.queue = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Workers {
    /// Starts `count` data threads (at least one, at most [`MAX_THREADS`]) with `clock`.
    pub(super) fn start(count: usize, clock: Clock) -> Result<Workers> {
        let count = count.clamp(1, MAX_THREADS);
        let shared = Arc::new(Shared::default());
        *lock(&shared.applied) = vec![0; count];
        let mut workers = Workers {
            shared,
            wakers: Vec::new(),
            threads: Vec::new(),
            last_token: Cell::new(forward::WAKE),
            generation: 0,
            closer: Closer::start(),
        };
        for index in 0..count {
            let wake = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
            let (shared, fd) = (Arc::clone(&workers.shared), Arc::clone(&wake));
            // Without signals: SIGTERM and SIGINT must interrupt the event loop's wait.
            let thread = ubond_sys::process::without_signals(|| {
                std::thread::Builder::new()
                    .name(format!("ubond-data{index}"))
                    .spawn(move || forward::run(index, shared, fd, clock))
            })
            .context("cannot start a data thread")?;
            workers.wakers.push(wake);
            workers.threads.push(thread);
        }
        Ok(workers)
    }

    /// How many data threads run.
    pub(super) fn count(&self) -> usize {
        self.wakers.len()
    }

    /// A new token for a data thread's socket.
    pub(super) fn token(&self) -> u64 {
        let t = self.last_token.get() + 1;
        self.last_token.set(t);
        t
    }

    /// Opens the sockets of the data threads on interface `iface` (a slave), one per thread,
    /// in a fanout group, receiving `receive`; with [`Receive::Nothing`], sockets that only
    /// send, in no group, which the kernel does not hand a single frame (a group whose filters
    /// refuse every frame would still hash each one, and run a filter for it).
    pub(super) fn open_slave(&self, iface: &str, receive: Receive) -> Result<Vec<DataSocket>> {
        self.open_group(receive, |fanout| {
            let options = PacketOptions {
                vnet_hdr: true,
                slow_protocols: false,
                receive,
                fanout,
                ..PacketOptions::default()
            };
            PacketSocket::open(iface, options)
        })
    }

    /// Makes the data threads' sockets `socks` on slave `iface` receive `what`. Sockets that
    /// are to take nothing become sockets that only send (a group whose filters refuse every
    /// frame would still cost each frame the slave receives a fanout hash and a filter run);
    /// sockets that only send become a group again, opened anew, when they are to take
    /// frames. `Ok(true)`: `socks` were replaced, and the threads need a new snapshot (the old
    /// sockets are closed on a thread of their own, [`Closer`], or by the last data thread
    /// that held them). Should sockets that only send fail to open, the silenced group stays.
    pub(super) fn set_slave_receive(
        &self,
        iface: &str,
        socks: &mut Vec<DataSocket>,
        what: Receive,
    ) -> Result<bool> {
        if only_send(socks) {
            if what == Receive::Nothing {
                return Ok(false);
            }
            let group = self.open_slave(iface, what)?;
            self.closer.close(std::mem::replace(socks, group));
            return Ok(true);
        }
        set_receive(socks, what)?;
        if what != Receive::Nothing {
            return Ok(false);
        }
        match self.open_slave(iface, Receive::Nothing) {
            Ok(senders) => {
                self.closer.close(std::mem::replace(socks, senders));
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Closes the data threads' sockets `socks`, which no thread uses any more (a released
    /// slave's, a deleted bond's), on [`Closer`]'s thread.
    pub(super) fn close(&self, socks: Vec<DataSocket>) {
        self.closer.close(socks);
    }

    /// Opens the sockets of the data threads on bond device `dev`'s data-path end.
    pub(super) fn open_end(&self, dev: &BondDevice) -> Result<Vec<DataSocket>> {
        self.open_group(Receive::All, |fanout| dev.open_data_socket(true, Receive::All, fanout))
    }

    /// One socket per thread from `open`, given its fanout group (none for one thread, nor
    /// for sockets that receive nothing).
    fn open_group(
        &self,
        receive: Receive,
        open: impl Fn(Option<Fanout>) -> ubond_sys::Result<PacketSocket>,
    ) -> Result<Vec<DataSocket>> {
        let n = self.count();
        let mut socks = Vec::with_capacity(n);
        let mut group = None;
        for _ in 0..n {
            let fanout = (n > 1 && receive != Receive::Nothing)
                .then(|| group.map_or(Fanout::New, Fanout::Join));
            let sock = open(fanout)?;
            if receive != Receive::Nothing {
                // Best effort: without CAP_NET_ADMIN the kernel caps them at its maximums.
                // The send buffer bounds what a shaped slave holds: shared by the threads.
                let _ = sock.set_recv_buffer(SLAVE_RCVBUF);
            }
            let _ = sock.set_send_buffer(SLAVE_SNDBUF / n);
            group = group.or(sock.fanout_group());
            socks.push(DataSocket { token: self.token(), sock: Arc::new(sock) });
        }
        Ok(socks)
    }

    /// Hands every data thread `bonds` (all of them) and wakes it. With `settle`, returns
    /// once every thread runs on it (or after [`SETTLE_MAX`], said): no thread then uses a
    /// socket or a slave that `bonds` no longer has.
    pub(super) fn publish(&mut self, bonds: Vec<Arc<BondData>>, settle: bool) {
        self.generation += 1;
        let generation = self.generation;
        *lock(&self.shared.published) = Arc::new(Published { generation, bonds });
        self.shared.generation.store(generation, Ordering::Release);
        self.wake();
        if !settle {
            return;
        }
        let applied = lock(&self.shared.applied);
        let threads = &self.threads;
        let (applied, timeout) = self
            .shared
            .applied_changed
            .wait_timeout_while(applied, SETTLE_MAX, |a| {
                a.iter().zip(threads).any(|(g, t)| *g < generation && !t.is_finished())
            })
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        drop(applied);
        if timeout.timed_out() {
            eprintln!(
                "ubond: a data thread did not take the bonds' new state within {SETTLE_MAX:?}"
            );
        }
    }

    /// Wakes every thread.
    fn wake(&self) {
        for w in &self.wakers {
            let _ = rustix::io::write(&**w, &1u64.to_ne_bytes());
        }
    }

    /// Stops the threads and waits for them.
    pub(super) fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.wake();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                eprintln!("ubond: a data thread had stopped on an error");
            }
        }
        self.closer.stop();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_times_are_the_latest_and_none_until_one() {
        let seen = RxSeen::default();
        assert_eq!(seen.read(), (None, None));
        seen.note(Instant::from_nanos(0), false);
        assert_eq!(seen.read(), (Some(Instant::from_nanos(0)), None));
        seen.note(Instant::from_nanos(50), true);
        seen.note(Instant::from_nanos(20), false);
        let t = Instant::from_nanos(50);
        assert_eq!(seen.read(), (Some(t), Some(t)), "an earlier batch does not go back");
    }

    #[test]
    fn loads_add_up_until_taken() {
        let counts = DataCounts::default();
        let mut one = TlbLoad::default();
        one.buckets[3] = 100;
        one.unbalanced = 7;
        counts.add_load(&one);
        counts.add_load(&one);
        let mut into = TlbLoad::default();
        counts.take_load(&mut into);
        assert_eq!((into.buckets[3], into.unbalanced), (200, 14));
        let mut again = TlbLoad::default();
        counts.take_load(&mut again);
        assert!(again.is_empty(), "taken once");
    }
}
