//! One data thread (see [`super::workers`]): its own poll set over its sockets, frames moved in
//! batches (`recvmmsg`/`sendmmsg` through `FrameBatch`es allocated once), each decided by the
//! core's plans of the snapshot it holds.
//!
//! * **Transmit** ([`Worker::bond_to_slaves`]): a batch read from the bond's data-path end is
//!   decided frame by frame (`TxPlan::decide`), then sent in runs of consecutive frames for
//!   the same slave, one `sendmmsg` each. When a slave's send buffer is full, the rest of the
//!   batch waits (its decisions kept) and the thread stops reading the bond's end and watches
//!   the slave for room, for at most [`PENDING_MAX_AGE`]; after that the frames for that slave
//!   are dropped, as a stuck NIC queue would.
//! * **Receive** ([`Worker::slaves_to_bond`]): a batch read from a slave's socket; the frames
//!   the control plane takes (Slow Protocols, micro-BFD: `is_data_frame`) are skipped, the
//!   others get the receive plan's verdict (`RxPlan::verdict`, `RxPlan::to_bond`), and those
//!   delivered go up in runs, one `sendmmsg` each. For the ARP monitor, the slave's receive
//!   time is noted once per batch.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::event::epoll::{self, EventFlags};
use ubond_core::bond::{is_data_frame, RxVerdict, SlaveId, TxCursor, TxDecision};
use ubond_core::monitor::arp::{rx_traffic, RxTraffic};
use ubond_core::time::Instant;
use ubond_sys::{FrameBatch, PacketSocket, SendStatus};

use super::clock::Clock;
use super::datapath::{FRAME_MAX, HDR, PENDING_MAX_AGE};
use super::event_loop::Poller;
use super::workers::{lock, Published, Shared};

/// The token of a thread's eventfd in its poll set; sockets' tokens are greater.
pub(super) const WAKE: u64 = 1;
/// Most frames per batch (one `recvmmsg`): each slot holds a whole GSO frame, so a batch is
/// `BATCH * FRAME_MAX` bytes of address space, touched only as far as frames fill it.
const BATCH: usize = 16;
/// About how many bytes a batch is to hold: the frames of a batch are copied in, then out, and
/// should still be in the CPU's caches when they go (4 GSO frames of 64 KiB, but 16 ACKs).
const BATCH_BYTES: usize = 256 << 10;

/// How many frames to read next from a socket whose last batch was `n` frames of `bytes`.
fn batch_size(n: usize, bytes: usize) -> usize {
    match bytes.checked_div(n) {
        Some(average) => (BATCH_BYTES / average.max(1)).clamp(1, BATCH),
        None => BATCH,
    }
}
/// Most frames read from one socket per wakeup, so that no socket starves the others.
pub(super) const BURST: usize = 64;

/// Runs data thread `index` until the control plane stops it.
pub(super) fn run(index: usize, shared: Arc<Shared>, wake: Arc<OwnedFd>, clock: Clock) {
    let poller = match Poller::new() {
        Ok(p) => p,
        Err(e) => return eprintln!("ubond: data thread {index}: {e}"),
    };
    if let Err(e) = poller.add_as(&*wake, WAKE, EventFlags::IN) {
        return eprintln!("ubond: data thread {index}: {e}");
    }
    let mut w = Worker {
        index,
        poller,
        wake,
        shared,
        clock,
        published: Arc::new(Published::default()),
        bonds: Vec::new(),
        watched: HashMap::new(),
        rx: FrameBatch::new(BATCH, FRAME_MAX),
        rx_want: BATCH,
    };
    let mut ready: Vec<epoll::Event> = Vec::with_capacity(64);
    while !w.shared.stopping() {
        w.apply();
        let timeout = w.next_deadline().map(|t| t.saturating_duration_since(w.clock.now()));
        match w.poller.wait(&mut ready, timeout) {
            Ok(()) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return eprintln!("ubond: data thread {index}: {e}"),
        }
        for ev in &ready {
            w.ready(ev.data.u64(), ev.flags);
        }
        w.expire();
        w.hand_back();
    }
}

/// A socket in the thread's poll set, and what it is.
struct Watched {
    sock: Arc<PacketSocket>,
    /// The bond's place in the publication.
    bond: usize,
    /// Its slave's place, or `None` for the data-path end.
    slave: Option<usize>,
    flags: EventFlags,
}

/// A data thread.
struct Worker {
    /// Its place: which socket of each group is its own.
    index: usize,
    poller: Poller,
    wake: Arc<OwnedFd>,
    shared: Arc<Shared>,
    clock: Clock,
    /// The snapshot it runs on.
    published: Arc<Published>,
    /// Its state for each bond of `published`, in the same order.
    bonds: Vec<Fwd>,
    /// Its poll set, by token.
    watched: HashMap<u64, Watched>,
    /// The receive batch, for every slave.
    rx: FrameBatch,
    /// How many frames to read into it next ([`batch_size`]).
    rx_want: usize,
}

/// A data thread's state for one bond.
struct Fwd {
    key: u64,
    /// Its round-robin counter and balance-tlb/alb byte counts.
    cursor: TxCursor,
    /// The cursor counted bytes the control plane has not had yet.
    loaded: bool,
    /// The transmit batch, made at the bond's first frame.
    tx: Option<Box<TxQueue>>,
}

/// Frames read from a bond's data-path end, decided and being sent.
struct TxQueue {
    batch: FrameBatch,
    decisions: [TxDecision; BATCH],
    /// The first frame not yet sent.
    next: usize,
    /// How many frames to read next ([`batch_size`]).
    want: usize,
    /// The frames from `next` wait for room on a slave.
    pending: Option<Pending>,
}

/// Frames `next..end` of a bond's batch wait for room on `slave` since `since`.
struct Pending {
    slave: SlaveId,
    end: usize,
    since: Instant,
}

impl Worker {
    /// Takes the control plane's last publication if it is newer: the state of the bonds
    /// that remain is kept, the poll set follows the sockets, and the control plane hears it.
    fn apply(&mut self) {
        let Some(new) = self.shared.newer_than(self.published.generation) else { return };
        let mut bonds: Vec<Fwd> = Vec::with_capacity(new.bonds.len());
        for b in &new.bonds {
            let old = self.bonds.iter().position(|f| f.key == b.key);
            let mut fwd = old.map(|i| self.bonds.swap_remove(i)).unwrap_or(Fwd {
                key: b.key,
                cursor: TxCursor::default(),
                loaded: false,
                tx: None,
            });
            // Frames waiting for a slave that left are dropped.
            if let Some(q) = fwd.tx.as_mut() {
                if let Some(p) = q.pending.take_if(|p| b.slave(p.slave).is_none()) {
                    q.next = p.end;
                }
            }
            bonds.push(fwd);
        }
        // (The state of a bond that left goes with what it held.)
        let mut watched = HashMap::with_capacity(self.watched.len());
        for (bi, b) in new.bonds.iter().enumerate() {
            let end = &b.end[self.index];
            let pending = bonds[bi].tx.as_ref().and_then(|q| q.pending.as_ref());
            let end_flags = if pending.is_some() { EventFlags::empty() } else { EventFlags::IN };
            let w =
                Watched { sock: Arc::clone(&end.sock), bond: bi, slave: None, flags: end_flags };
            watched.insert(end.token, w);
            for (si, s) in b.slaves.iter().enumerate() {
                let flags = if pending.is_some_and(|p| p.slave == s.id) {
                    EventFlags::IN | EventFlags::OUT
                } else {
                    EventFlags::IN
                };
                let sock = &s.socks[self.index];
                let w = Watched { sock: Arc::clone(&sock.sock), bond: bi, slave: Some(si), flags };
                watched.insert(sock.token, w);
            }
        }
        for (token, w) in &self.watched {
            if !watched.contains_key(token) {
                let _ = self.poller.remove(&*w.sock);
            }
        }
        for (token, w) in &watched {
            let done = match self.watched.get(token) {
                Some(old) if old.flags == w.flags => Ok(()),
                Some(_) => self.poller.watch(&*w.sock, *token, w.flags),
                None => self.poller.add_as(&*w.sock, *token, w.flags),
            };
            if let Err(e) = done {
                eprintln!("ubond: data thread {}: {e}", self.index);
            }
        }
        self.watched = watched;
        self.bonds = bonds;
        self.published = new;
        self.shared.applied(self.index, self.published.generation);
        // Frames left behind a dropped wait go now.
        for bi in 0..self.bonds.len() {
            if self.bonds[bi].tx.as_ref().is_some_and(|q| q.pending.is_none()) {
                self.send_queue(bi);
            }
        }
    }

    /// Socket `token` is ready (`flags`).
    fn ready(&mut self, token: u64, flags: EventFlags) {
        if token == WAKE {
            let mut count = [0u8; 8];
            let _ = rustix::io::read(&*self.wake, &mut count);
            return;
        }
        let Some(w) = self.watched.get(&token) else { return };
        let (bi, slave) = (w.bond, w.slave);
        match slave {
            None => self.bond_to_slaves(bi),
            Some(si) => {
                if flags.contains(EventFlags::OUT) {
                    self.flush(bi);
                }
                if flags.intersects(EventFlags::IN | EventFlags::ERR | EventFlags::HUP) {
                    self.slaves_to_bond(bi, si);
                }
            }
        }
    }

    /// Frames the stack sent through bond `bi`'s device go out on the slaves the plan picks
    /// (`TxPlan::decide`, the core's one transmit decision).
    fn bond_to_slaves(&mut self, bi: usize) {
        let b = Arc::clone(&self.published.bonds[bi]);
        let mut budget = BURST;
        loop {
            let fwd = &mut self.bonds[bi];
            let q = fwd.tx.get_or_insert_with(|| {
                Box::new(TxQueue {
                    batch: FrameBatch::new(BATCH, FRAME_MAX),
                    decisions: [TxDecision::Drop; BATCH],
                    next: 0,
                    want: BATCH,
                    pending: None,
                })
            });
            if q.pending.is_some() || budget == 0 {
                return;
            }
            if q.next < q.batch.len() {
                // Frames left behind a wait that ended: they go first.
                if !self.send_queue(bi) {
                    return;
                }
                continue;
            }
            let want = q.want;
            let n = match b.end[self.index].sock.recv_batch_max(&mut q.batch, want) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) => return eprintln!("ubond: {e}"),
            };
            budget = budget.saturating_sub(n);
            q.next = 0;
            let mut bytes = 0;
            for i in 0..n {
                let len = q.batch.frame(i).len();
                bytes += len;
                q.decisions[i] = if q.batch.truncated(i) || len <= HDR {
                    TxDecision::Drop
                } else {
                    b.tx.decide(&mut q.batch.frame_mut(i)[HDR..], &mut fwd.cursor)
                };
            }
            q.want = batch_size(n, bytes);
            fwd.loaded |= b.tx.tlb.is_some();
            if !self.send_queue(bi) || n < want {
                return;
            }
        }
    }

    /// Sends bond `bi`'s decided frames from the first not sent; false if they now wait for
    /// room on a slave (the poll set then says so).
    fn send_queue(&mut self, bi: usize) -> bool {
        let b = Arc::clone(&self.published.bonds[bi]);
        let index = self.index;
        let Some(q) = self.bonds[bi].tx.as_mut() else { return true };
        while q.next < q.batch.len() {
            let i = q.next;
            match q.decisions[i] {
                TxDecision::Send(id) => {
                    let mut end = i + 1;
                    while end < q.batch.len() && q.decisions[end] == TxDecision::Send(id) {
                        end += 1;
                    }
                    let Some(s) = b.slave(id) else {
                        q.next = end;
                        continue;
                    };
                    if !send_run(&s.socks[index].sock, &q.batch, &mut q.next, end) {
                        q.pending = Some(Pending { slave: id, end, since: self.clock.now() });
                        self.watch_pending(bi, true);
                        return false;
                    }
                }
                TxDecision::Broadcast => {
                    for s in b.tx.slaves.iter().filter_map(|id| b.slave(*id)) {
                        let _ = s.socks[index].sock.send_batch_part(&q.batch, i..i + 1);
                    }
                    q.next += 1;
                }
                // balance-alb's ARP: the control plane's own socket on the data-path end
                // reads it (the core rewrites it and picks the slave).
                TxDecision::ControlPlane | TxDecision::Drop => q.next += 1,
            }
        }
        true
    }

    /// Bond `bi` starts (`on`) or stops waiting for room on a slave: its data-path end leaves
    /// the poll set meanwhile, and the slave is watched for room.
    fn watch_pending(&mut self, bi: usize, on: bool) {
        let b = Arc::clone(&self.published.bonds[bi]);
        let Some(slave) =
            self.bonds[bi].tx.as_ref().and_then(|q| q.pending.as_ref()).map(|p| p.slave)
        else {
            return;
        };
        let (end_flags, slave_flags) = if on {
            (EventFlags::empty(), EventFlags::IN | EventFlags::OUT)
        } else {
            (EventFlags::IN, EventFlags::IN)
        };
        let mut set = |token: u64, flags: EventFlags| {
            if let Some(w) = self.watched.get_mut(&token) {
                if w.flags != flags && self.poller.watch(&*w.sock, token, flags).is_ok() {
                    w.flags = flags;
                }
            }
        };
        set(b.end[self.index].token, end_flags);
        if let Some(s) = b.slave(slave) {
            set(s.socks[self.index].token, slave_flags);
        }
    }

    /// A slave of bond `bi` has room (or the wait is over): the waiting frames go, or are
    /// dropped once they waited [`PENDING_MAX_AGE`], and the bond's end is read again.
    fn flush(&mut self, bi: usize) {
        let b = Arc::clone(&self.published.bonds[bi]);
        let now = self.clock.now();
        let index = self.index;
        let Some(q) = self.bonds[bi].tx.as_mut() else { return };
        let Some(p) = q.pending.as_ref() else {
            // Not waiting (any more): room is no news.
            return self.unwatch_room(bi);
        };
        let (slave, end, since) = (p.slave, p.end, p.since);
        let sent = match b.slave(slave) {
            Some(s) => send_run(&s.socks[index].sock, &q.batch, &mut q.next, end),
            None => false,
        };
        if !sent
            && b.slave(slave).is_some()
            && now.saturating_duration_since(since) < PENDING_MAX_AGE
        {
            return;
        }
        if !sent {
            q.next = end;
        }
        self.watch_pending(bi, false);
        if let Some(q) = self.bonds[bi].tx.as_mut() {
            q.pending = None;
        }
        self.send_queue(bi);
    }

    /// Stops watching bond `bi`'s slaves for room when nothing waits for it.
    fn unwatch_room(&mut self, bi: usize) {
        let tokens: Vec<u64> =
            self.published.bonds[bi].slaves.iter().map(|s| s.socks[self.index].token).collect();
        for token in tokens {
            if let Some(w) = self.watched.get_mut(&token) {
                if w.flags.contains(EventFlags::OUT)
                    && self.poller.watch(&*w.sock, token, EventFlags::IN).is_ok()
                {
                    w.flags = EventFlags::IN;
                }
            }
        }
    }

    /// When the oldest waiting frames are due to be dropped.
    fn next_deadline(&self) -> Option<Instant> {
        self.bonds
            .iter()
            .filter_map(|f| f.tx.as_ref()?.pending.as_ref().map(|p| p.since + PENDING_MAX_AGE))
            .min()
    }

    /// Tries again, or drops, the frames that waited [`PENDING_MAX_AGE`].
    fn expire(&mut self) {
        let now = self.clock.now();
        for bi in 0..self.bonds.len() {
            let due = self.bonds[bi]
                .tx
                .as_ref()
                .and_then(|q| q.pending.as_ref())
                .is_some_and(|p| p.since + PENDING_MAX_AGE <= now);
            if due {
                self.flush(bi);
            }
        }
    }

    /// Frames received on slave `si` of bond `bi`: those the plan delivers go up through the
    /// bond's device.
    fn slaves_to_bond(&mut self, bi: usize, si: usize) {
        let b = Arc::clone(&self.published.bonds[bi]);
        let Some(s) = b.slaves.get(si) else { return };
        let (sock, up) = (&s.socks[self.index].sock, &b.end[self.index].sock);
        let mut budget = BURST;
        while budget > 0 {
            let want = self.rx_want;
            let n = match sock.recv_batch_max(&mut self.rx, want) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) => {
                    // ENETDOWN once after the link went down: not worth a line.
                    if e.raw_os_error() != Some(rustix::io::Errno::NETDOWN.raw_os_error()) {
                        eprintln!("ubond: {e}");
                    }
                    return;
                }
            };
            budget = budget.saturating_sub(n);
            self.rx_want = batch_size(n, self.rx.iter().map(<[u8]>::len).sum());
            let (mut traffic, mut arp_ipv6) = (false, false);
            let mut run: Option<usize> = None;
            // The time for broadcast's table, only while copies are discarded (the table is
            // locked per frame: another thread may be reading the bond's other members).
            let copies_at = b.rx.copies.then(|| self.clock.now());
            for i in 0..n {
                let deliver = !self.rx.truncated(i) && self.rx.frame(i).len() > HDR && {
                    let frame = &mut self.rx.frame_mut(i)[HDR..];
                    // The control plane's socket has the frames it takes.
                    is_data_frame(frame) && {
                        if b.stamp {
                            match rx_traffic(frame, s.own_mac) {
                                RxTraffic::NotForHost => {}
                                RxTraffic::ForHost => traffic = true,
                                RxTraffic::ArpIpv6 => (traffic, arp_ipv6) = (true, true),
                            }
                        }
                        let deliver = b.rx.verdict(s.id, frame) == RxVerdict::Deliver
                            && !copies_at.is_some_and(|now| {
                                let (bond, member) = (b.ifindex, s.ifindex);
                                b.rx.discards_copy(&mut lock(&b.copies), bond, member, frame, now)
                            });
                        if deliver {
                            b.rx.to_bond(frame);
                        }
                        deliver
                    }
                };
                match (deliver, run) {
                    (true, None) => run = Some(i),
                    (false, Some(start)) => {
                        send_up(up, &self.rx, start, i);
                        run = None;
                    }
                    _ => {}
                }
            }
            if let Some(start) = run {
                send_up(up, &self.rx, start, n);
            }
            if traffic {
                s.seen.note(self.clock.now(), arp_ipv6);
            }
            if n < want {
                return;
            }
        }
    }

    /// Hands what the thread counted for each bond to its control plane.
    fn hand_back(&mut self) {
        for (fwd, b) in self.bonds.iter_mut().zip(self.published.bonds.iter()) {
            if std::mem::take(&mut fwd.loaded) && !fwd.cursor.load.is_empty() {
                b.counts.add_load(&fwd.cursor.load);
                fwd.cursor.load.clear();
            }
        }
    }
}

/// Sends frames `*next..end` of `batch` on `sock`, moving `*next` past what went (a frame the
/// interface dropped included); false if the rest waits for room.
fn send_run(sock: &PacketSocket, batch: &FrameBatch, next: &mut usize, end: usize) -> bool {
    while *next < end {
        match sock.send_batch_part(batch, *next..end) {
            Ok((n, SendStatus::Sent)) => *next += n.max(1),
            Ok((n, SendStatus::WouldBlock)) => {
                *next += n;
                return false;
            }
            // Dropped by the interface (or an error of the socket): as a NIC would.
            Ok((n, SendStatus::Dropped)) => *next += n + 1,
            Err(_) => *next += 1,
        }
    }
    true
}

/// Delivers frames `start..end` of `batch` up through the data-path end `sock`; a frame the
/// device does not take is dropped.
fn send_up(sock: &PacketSocket, batch: &FrameBatch, start: usize, end: usize) {
    let mut next = start;
    while next < end {
        match sock.send_batch_part(batch, next..end) {
            Ok((n, SendStatus::Sent)) => next += n.max(1),
            Ok((n, _)) => next += n + 1,
            Err(_) => next += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_a_few_large_frames_or_many_small_ones() {
        assert_eq!(batch_size(0, 0), BATCH);
        assert_eq!(batch_size(4, 4 * 65_000), 4);
        assert_eq!(batch_size(16, 16 * 80), BATCH);
        assert_eq!(batch_size(1, 1 << 20), 1);
        assert_eq!(batch_size(3, 3 * 1514), BATCH.min((256 << 10) / 1514));
    }
}
