//! The userspace data path's frames forwarded in the kernel without eBPF, where the core's
//! plans are plain choices: tc's `u32` classifier and `mirred` action (`ubond_sys::redirect`)
//! do what the data threads would, and the data threads read none of those frames. Each
//! direction halves the copies of every byte it carries; and the frames keep going while the
//! daemon restarts, as the fast path's do.
//!
//! * **Receive**, per slave: where its receive plan is a match on the destination's I/G bit
//!   (`RxPlan::redirect`: all its data frames, its unicast ones, or none), its data frames go
//!   to the bond's data-path end. The data threads keep reading a slave whose frames need
//!   them: broadcast's copies (`RxPlan::redirect` says which). Where the slaves have
//!   addresses of their own (balance-tlb/alb, `fail_over_mac`: `RxPlan::rewrites`), a frame to
//!   the slave's own address goes to the bond's device as received, one to another slave's
//!   stays for the data threads (which rewrite it; their sockets take only those), unless the
//!   bond's device has a master (a bridge would forward them). Where the ARP monitor runs, a
//!   slave that hands all its frames to the bond does it by filters that also keep its
//!   receive times ([`TcPath::take_rx_seen`]); one that hands some or none keeps its data
//!   threads, which note them.
//! * **Transmit**, per bond: where the transmit plan is one choice for every frame
//!   (`TxPlan::redirect`: active-backup's active slave, broadcast's every slave, a bond of one
//!   slave), every frame arriving on the data-path end goes to those slaves.
//!
//! Neither while the fast path carries the bond (its programs do it all). A kernel that
//! refuses the filters (no `u32` or `mirred`, no CAP_NET_ADMIN) is said once; the data
//! threads then forward everything, as before.
//!
//! Switching over: the data sockets stop taking frames first, then the filters go on (a
//! frame may be lost in between, none forwarded twice); back, the other way round. A transmit
//! filter for other slaves (a failover) replaces the old one in one step. A daemon that adopts
//! a bond or a slave takes an earlier daemon's filters away first ([`TcTx::adopt`],
//! [`slave_adopted`]): its data threads forward while it restores, then it puts its own on.

use rustix::io::Errno;
use ubond_core::bond::tlb::{Account, TlbLoad};
use ubond_core::bond::RxRedirect;
use ubond_core::time::Instant;
use ubond_sys::redirect::{self, RxMatch, RxTo, TxFilter, TxTo};
use ubond_sys::{AddressSet, Ipv4Octets, Receive};

use super::bond::BondRt;
use super::workers::{self, DataSocket};

/// Where a slave's received data frames go up, on the userspace path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KernelRx {
    /// Through the data threads (or the fast path's programs): no filter of ubond's.
    Threads,
    /// By the kernel's classifier: ubond's filters with this match, handing the frames there
    /// (`None`: no filter, the plan delivers none of the slave's frames); the data threads
    /// read none.
    Kernel(Option<(RxMatch, RxTo)>),
}

/// A bond's transmit on the userspace path.
#[derive(Debug)]
pub(super) struct TcTx {
    /// ubond's filter on the data-path end.
    filter: TxFilter,
    /// Where the filter sends the frames; `None`: the data threads read the data-path end.
    to: Option<TxTo>,
    /// For a [`TxTo::Ipv4`] filter: where each route's bytes are counted (balance-tlb's
    /// buckets), and the octets each route had sent at the last reading.
    counted: Vec<(u8, Account, u64)>,
    /// Bytes counted by filters taken away since the last [`TcPath::take_load`].
    pending: TlbLoad,
}

impl TcTx {
    /// A bond's device just made or adopted: an earlier daemon's filter taken off its
    /// data-path end `end` (its data threads forward until [`TcPath::sync`] says otherwise).
    pub(super) fn adopt(end: &str, ifindex: u32) -> TcTx {
        let filter = match redirect::clear_transmit(end, ifindex) {
            Ok(()) => TxFilter::Off,
            Err(e) => {
                eprintln!("ubond: {e}");
                TxFilter::Unknown
            }
        };
        TcTx { filter, to: None, counted: Vec::new(), pending: TlbLoad::default() }
    }
}

impl TcTx {
    /// What a [`TxTo::Ipv4`] filter whose routes count bytes (balance-tlb's) sent since the
    /// last reading, per bucket; `None` for any other filter, or when the kernel could not say
    /// (said).
    fn read_load(&mut self, end: &str, end_ifindex: u32) -> Option<TlbLoad> {
        let (TxFilter::At(pref), Some(TxTo::Ipv4 { .. })) = (self.filter, &self.to) else {
            return None;
        };
        if self.counted.iter().all(|(_, account, _)| *account == Account::None) {
            return None;
        }
        let sent = match redirect::tx_sent(end, end_ifindex, pref) {
            Ok(sent) => sent,
            Err(e) => {
                eprintln!("ubond: {e}");
                return None;
            }
        };
        let mut load = TlbLoad::default();
        for (octet, _, bytes) in sent {
            if let Some((_, account, before)) = self.counted.iter_mut().find(|c| c.0 == octet) {
                let delta = bytes.saturating_sub(*before);
                *before = bytes;
                load.add(*account, usize::try_from(delta).unwrap_or(usize::MAX));
            }
        }
        Some(load)
    }
}

/// A slave just enslaved or adopted: an earlier daemon's filters taken off it (its data
/// threads' sockets are open).
pub(super) fn slave_adopted(name: &str, ifindex: u32) -> KernelRx {
    if let Err(e) = redirect::clear(name, ifindex) {
        eprintln!("ubond: {e}");
    }
    KernelRx::Threads
}

/// The daemon's side: whether the kernel takes the filters.
#[derive(Debug, Default)]
pub(super) struct TcPath {
    /// The kernel refused them once (said): the data threads forward everything.
    refused: bool,
    /// The first filters were said.
    said: bool,
}

impl TcPath {
    /// Brings bond `rt`'s slaves and data-path end to where its frames should go now.
    pub(super) fn sync(&mut self, rt: &mut BondRt) {
        self.sync_receive(rt);
        self.sync_transmit(rt);
    }

    /// Says the kernel refused a filter, and that the data threads forward everything now.
    fn refuse(&mut self, name: &str, e: &ubond_sys::SysError) {
        eprintln!(
            "ubond: {name}: {e}; the data threads forward every frame instead (userspace data \
             path)"
        );
        self.refused = true;
    }

    /// Says, once, where the filters are.
    fn say(&mut self) {
        if !std::mem::replace(&mut self.said, true) {
            eprintln!(
                "ubond: the userspace data path forwards in the kernel where the plans allow: \
                 tc u32 filters with mirred (`tc filter show dev SLAVE ingress`, and on the \
                 bond's data-path end)"
            );
        }
    }

    /// The bond's transmit: by the filter on its data-path end (every frame, or the IPv4
    /// frames whose slave the destination's last octet tells), or by the data threads.
    fn sync_transmit(&mut self, rt: &mut BondRt) {
        let ifindex_of = |id| rt.slave(id).map(|s| s.ifindex);
        let plan = rt.bond.tx_plan();
        let want = if rt.fast.on() || self.refused {
            None
        } else if let Some(ids) = plan.redirect() {
            ids.into_iter()
                .map(ifindex_of)
                .collect::<Option<Vec<u32>>>()
                .map(|to| (TxTo::Every(to), Vec::new()))
        } else if let Some(r) = plan.redirect_ipv4(rt.bond.rx_plan().bond_mac) {
            let routes = r.routes.iter().map(|r| Some((r.dst_last, ifindex_of(r.slave)?)));
            let accounts = r.routes.iter().map(|r| (r.dst_last, r.account, 0)).collect();
            routes
                .collect::<Option<Vec<_>>>()
                .map(|routes| (TxTo::Ipv4 { src_last: r.src_last, routes }, accounts))
        } else {
            None
        };
        if want.as_ref().map(|w| &w.0) == rt.tc_tx.to.as_ref()
            && rt.tc_tx.filter != TxFilter::Unknown
        {
            return;
        }
        let (end, end_ifindex) = (rt.dev.peer_name().to_string(), rt.dev.peer_ifindex());
        let name = rt.bond.name().to_string();
        // What the filter going away counted.
        if let Some(load) = rt.tc_tx.read_load(&end, end_ifindex) {
            rt.tc_tx.pending.merge(&load);
        }
        let tx = &mut rt.tc_tx;
        // The same kind of filter with other routes: changed node by node, so that the
        // routes that stay keep forwarding and counting (balance-tlb's table changes often).
        if let (
            Some((TxTo::Ipv4 { src_last: new_src, routes: new }, counted)),
            Some(TxTo::Ipv4 { src_last, routes: old }),
            TxFilter::At(pref),
        ) = (&want, &tx.to, tx.filter)
        {
            if new_src == src_last {
                let octets = want.as_ref().and_then(|w| w.0.octets());
                let (old_octets, new_octets) =
                    (tx.to.as_ref().and_then(TxTo::octets), octets.unwrap_or_default());
                let during = Ipv4Octets {
                    dst_last: old_octets.unwrap_or_default().dst_last.union(&new_octets.dst_last),
                    ..new_octets
                };
                if !set_receive(&name, &rt.end, Receive::AllBut(during)) {
                    return;
                }
                if redirect::retarget(&end, end_ifindex, pref, old, new).is_ok() {
                    // Counted from zero where the route was written.
                    let kept = |c: &(u8, Account, u64)| {
                        let same = |r: &Vec<(u8, u32)>| r.iter().find(|r| r.0 == c.0).copied();
                        let before = tx.counted.iter().find(|k| k.0 == c.0).map_or(0, |k| k.2);
                        let stays = same(old).is_some() && same(old) == same(new);
                        (c.0, c.1, if stays { before } else { 0 })
                    };
                    tx.counted = counted.iter().map(kept).collect();
                    tx.to = want.map(|w| w.0);
                    set_receive(&name, &rt.end, Receive::AllBut(new_octets));
                    return;
                }
                // Not node by node: a whole new filter, below.
            }
        }
        match want {
            Some((to, counted)) => {
                // While the filters change, the sockets take neither the old filter's frames
                // nor the new one's (none goes twice); then all that the new one leaves.
                let during = match (tx.to.as_ref().map(TxTo::octets), to.octets()) {
                    (None, Some(new)) => Receive::AllBut(new),
                    (Some(Some(old)), Some(new)) if old.src_last == new.src_last => {
                        let dst_last = old.dst_last.union(&new.dst_last);
                        Receive::AllBut(Ipv4Octets { dst_last, ..new })
                    }
                    _ => Receive::Nothing,
                };
                if !set_receive(&name, &rt.end, during) {
                    return;
                }
                match redirect::transmit(&end, end_ifindex, &to, tx.filter) {
                    Ok(filter) => {
                        let after = to.octets().map_or(Receive::Nothing, Receive::AllBut);
                        (tx.filter, tx.to, tx.counted) = (filter, Some(to), counted);
                        if after != during {
                            set_receive(&name, &rt.end, after);
                        }
                        self.say();
                    }
                    Err(e) => {
                        // The data threads take the data-path end back.
                        let _ = redirect::clear_transmit(&end, end_ifindex);
                        (tx.filter, tx.to, tx.counted) = (TxFilter::Off, None, Vec::new());
                        set_receive(&name, &rt.end, Receive::All);
                        self.refuse(&name, &e);
                        self.sync(rt);
                    }
                }
            }
            None => {
                if tx.filter != TxFilter::Off {
                    match redirect::clear_transmit(&end, end_ifindex) {
                        Ok(()) => tx.filter = TxFilter::Off,
                        Err(e) => eprintln!("ubond: {name}: {e}"),
                    }
                }
                tx.counted.clear();
                if tx.to.take().is_some() {
                    set_receive(&name, &rt.end, Receive::All);
                }
            }
        }
    }

    /// balance-tlb on the userspace path: the bytes the transmit filter sent per bucket since
    /// the last call, for [`ubond_core::bond::Bond::handle_timeout_with_load`] (the data
    /// threads count the rest).
    pub(super) fn take_load(&self, rt: &mut BondRt) -> Option<TlbLoad> {
        let (end, end_ifindex) = (rt.dev.peer_name().to_string(), rt.dev.peer_ifindex());
        let tx = &mut rt.tc_tx;
        let mut load = std::mem::take(&mut tx.pending);
        if let Some(now) = tx.read_load(&end, end_ifindex) {
            load.merge(&now);
        }
        (!load.is_empty()).then_some(load)
    }

    /// The ARP monitor on the userspace path: when each slave whose frames the filters hand
    /// to the bond last received one for this host (their actions' last use), given to the core
    /// at `now` as the data threads' times are.
    pub(super) fn take_rx_seen(&mut self, rt: &mut BondRt, now: Instant) {
        if !rt.arp_monitor() {
            return;
        }
        for si in 0..rt.slaves.len() {
            let s = &rt.slaves[si];
            if !matches!(s.kernel_rx, KernelRx::Kernel(Some((RxMatch::AllStamped { .. }, _)))) {
                continue;
            }
            match redirect::rx_seen(&s.name, s.ifindex) {
                Ok(seen) => {
                    let at = |age: Option<std::time::Duration>| {
                        let since = now.since_epoch().checked_sub(age?)?;
                        Some(Instant::from_nanos(u64::try_from(since.as_nanos()).ok()?))
                    };
                    let id = s.id;
                    rt.bond.handle_rx_seen(now, id, at(seen.any), at(seen.arp_ipv6));
                }
                // The slave is going (its removal not read yet): nothing to note.
                Err(e)
                    if [Errno::NODEV, Errno::INVAL]
                        .iter()
                        .any(|n| e.raw_os_error() == Some(n.raw_os_error())) => {}
                Err(e) => {
                    // The data threads note the times again.
                    let name = rt.bond.name().to_string();
                    self.refuse(&name, &e);
                    return self.sync(rt);
                }
            }
        }
    }

    /// Brings every slave of `rt` to where its frames should go up now.
    fn sync_receive(&mut self, rt: &mut BondRt) {
        let fast_on = rt.fast.on();
        let by_threads = fast_on || self.refused;
        let stamp = rt.arp_monitor();
        let (end, bond) = (rt.dev.peer_ifindex(), rt.dev.ifindex());
        let name = rt.bond.name().to_string();
        for si in 0..rt.slaves.len() {
            let id = rt.slaves[si].id;
            let own = rt.bond.slave_mac(id).unwrap_or_default().0;
            let plan = rt.bond.rx_plan();
            // Where the slaves have addresses of their own, the frames are handed over as
            // received (`RxPlan::rewrites`); not into a bridge (it would forward those sent to
            // a slave's address). The ARP monitor's nodes count what goes to the end: with
            // them, only a slave of the bond's address (active-backup's active one with
            // `fail_over_mac`).
            let own_to_bond = (own != plan.bond_mac.0).then_some(own);
            let to = if !plan.rewrites() {
                Some(RxTo::End(end))
            } else if rt.dev_master || (stamp && own_to_bond.is_some()) {
                None
            } else {
                let others: Vec<[u8; 6]> =
                    plan.slave_macs.iter().map(|m| m.0).filter(|m| *m != own).collect();
                AddressSet::new(&others).map(|others| RxTo::AsReceived {
                    end,
                    bond,
                    own: own_to_bond,
                    others,
                })
            };
            let want = match (plan.redirect(id), to) {
                _ if by_threads => KernelRx::Threads,
                (Some(RxRedirect::All), Some(to)) if stamp => {
                    KernelRx::Kernel(Some((RxMatch::AllStamped { own }, to)))
                }
                // The ARP monitor counts frames that no filter would take: the data threads
                // read them and note the times.
                (Some(_), _) if stamp => KernelRx::Threads,
                (Some(RxRedirect::Nothing), _) => KernelRx::Kernel(None),
                (None, _) | (_, None) => KernelRx::Threads,
                (Some(RxRedirect::All), Some(to)) => KernelRx::Kernel(Some((RxMatch::All, to))),
                (Some(RxRedirect::Unicast), Some(to)) => {
                    KernelRx::Kernel(Some((RxMatch::Unicast, to)))
                }
            };
            let s = &mut rt.slaves[si];
            if want == s.kernel_rx {
                continue;
            }
            let was_kernel = s.kernel_rx != KernelRx::Threads;
            let KernelRx::Kernel(m) = want else {
                match redirect::clear(&s.name, s.ifindex) {
                    Ok(()) => s.kernel_rx = KernelRx::Threads,
                    Err(e) => eprintln!("ubond: {name}: {e}"),
                }
                // The fast path's programs, when on, have the frames: the sockets stay off.
                if was_kernel && !fast_on {
                    set_receive(&name, &s.data, Receive::All);
                }
                continue;
            };
            // The sockets take nothing while the filters change, so that no frame goes up
            // twice; then what the filters leave them.
            if !set_receive(&name, &s.data, Receive::Nothing) {
                continue;
            }
            let put = match m {
                Some((m, to)) => redirect::redirect(&s.name, s.ifindex, m, to),
                None => redirect::clear(&s.name, s.ifindex),
            };
            match put {
                Ok(()) => {
                    s.kernel_rx = want;
                    if let Some((_, RxTo::AsReceived { others, .. })) = m {
                        if !others.is_empty() {
                            set_receive(&name, &s.data, Receive::To(others));
                        }
                    }
                    if m.is_some() {
                        self.say();
                    }
                }
                Err(e) => {
                    // `redirect` left no filter of ubond's.
                    set_receive(&name, &s.data, Receive::All);
                    s.kernel_rx = KernelRx::Threads;
                    self.refuse(&name, &e);
                    // The slaves done before this one go back too.
                    return self.sync(rt);
                }
            }
        }
    }
}

/// Makes every socket of `socks` receive `what`; false (said) if one could not.
fn set_receive(bond: &str, socks: &[DataSocket], what: Receive) -> bool {
    match workers::set_receive(socks, what) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("ubond: {bond}: {e}");
            false
        }
    }
}

/// Takes ubond's filters off a slave given back (its data sockets are closed already), or
/// one an earlier daemon may have left (`state` unknown: `None`).
pub(super) fn give_back(name: &str, ifindex: u32, state: Option<KernelRx>) {
    if state != Some(KernelRx::Threads) {
        if let Err(e) = redirect::clear(name, ifindex) {
            eprintln!("ubond: {e}");
        }
    }
}
