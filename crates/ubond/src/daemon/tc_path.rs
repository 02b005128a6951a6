//! The userspace data path's frames forwarded in the kernel without eBPF, where the core's
//! plans are plain choices: tc's `u32` classifier and `mirred` action (`ubond_sys::redirect`)
//! do what the data threads would, and the data threads read none of those frames. Each
//! direction halves the copies of every byte it carries; and the frames keep going while the
//! daemon restarts, as the fast path's do.
//!
//! * **Receive**, per slave: where its receive plan is a match on the destination's I/G bit
//!   (`RxPlan::redirect`: all its data frames, its unicast ones, or none), its data frames go
//!   to the bond's data-path end. Where it is all but broadcast's copies (`tcp_dup_discard`),
//!   every data frame but TCP does, TCP over IPv4 without options goes through the bond's
//!   nftables table of copies on the slaves' ingress (`ubond_sys::nft_rx`, put before the
//!   filters change and kept to the slaves that have them), and the data threads read the
//!   rest of the TCP. Where the slaves have
//!   addresses of their own (balance-tlb/alb, `fail_over_mac`: `RxPlan::rewrites`), a frame to
//!   the slave's own address goes to the bond's device as received, one to another slave's
//!   stays for the data threads (which rewrite it; their sockets take only those), unless the
//!   bond's device has a master (a bridge would forward them). Where the ARP monitor runs, a
//!   slave that hands all its frames to the bond does it by filters that also keep its
//!   receive times ([`TcPath::take_rx_seen`]); one that hands some or none keeps its data
//!   threads, which note them. A slave whose frames the filters take all has data sockets
//!   that only send (`Workers::set_slave_receive`): the kernel hands them no frame.
//! * **Transmit**, per bond: where the transmit plan is one choice for every frame
//!   (`TxPlan::redirect`: active-backup's active slave, broadcast's every slave, a bond of one
//!   slave), every frame arriving on the data-path end goes to those slaves. Where it is a
//!   hash the kernel can compute, the frames of the kind go by it: with `layer2`, IPv4 by the
//!   destination's last octet (`TxPlan::redirect_ipv4`: a `u32` hash table, and an nftables
//!   table for balance-tlb's frames that need a slave's own source address); with
//!   `layer3+4`, TCP and UDP over IPv4 and IPv6 by the hash an nftables table computes
//!   (`TxPlan::redirect_l34`); with `layer2+3`, IPv4 and IPv6 but ICMP the same way
//!   (`TxPlan::redirect_l23`); balance-alb's IPv4 and IPv6 by its bucket, which the table
//!   computes too (`TxPlan::redirect_alb`); balance-rr's untagged frames but IGMP by a
//!   counter the table keeps (`TxPlan::redirect_rr`). The data threads' sockets on the end
//!   take the rest; balance-tlb's bytes per bucket come back from the kernel's counters
//!   ([`TcPath::take_load`]).
//!
//! Neither while the fast path carries the bond (its programs do it all). A kernel that
//! refuses the filters (no `u32` or `mirred`, no CAP_NET_ADMIN) is said once; the data
//! threads then forward everything, as before. An interface that went while its filter was
//! written (ENODEV: a slave deleted, its removal not read yet) is no refusal: that slave's
//! frames stay with the threads until it leaves the bond, and every other slave and bond
//! keeps its filters.
//!
//! Switching over: the data sockets stop taking frames first, then the filters go on (a
//! frame may be lost in between, none forwarded twice); back, the other way round. A transmit
//! filter for other slaves (a failover) replaces the old one in one step. A daemon that adopts
//! a bond or a slave takes an earlier daemon's filters away first ([`TcTx::adopt`],
//! [`slave_adopted`]; a slave's part of the table of copies with its filters, the table
//! itself at the first sync): its data threads forward while it restores, then it puts its
//! own on.

use rustix::io::Errno;
use ubond_core::bond::copies::COPY_WINDOW;
use ubond_core::bond::tlb::{Account, TlbLoad};
use ubond_core::bond::RxRedirect;
use ubond_core::time::Instant;
use ubond_sys::nft_rx::{self, CopiesSlave};
use ubond_sys::nft_tx::{self, NftMatch, NftRoute};
use ubond_sys::redirect::{self, RxMatch, RxTo, TxFilter, TxTo};
use ubond_sys::{AddressSet, Ipv4Octets, Receive};

use super::bond::BondRt;
use super::workers::{self, DataSocket, Workers};

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
    /// Where the filter sends the frames; `None`: no filter of ubond's sends any.
    to: Option<TxTo>,
    /// ubond's nftables table on the data-path end, after tc's filter: the frames it selects
    /// and its routes (balance-tlb's frames by a slave of its own address, or every frame of
    /// the `layer3+4` hash).
    nft: Option<(NftMatch, Vec<NftRoute>)>,
    /// For a [`TxTo::Ipv4`] filter: per route (the destination's last octet), where its bytes
    /// are counted (balance-tlb's buckets) and the octets it had sent at the last reading.
    counted: Vec<(u32, Account, u64)>,
    /// The same for the table's routes (by key).
    nft_counted: Vec<(u32, Account, u64)>,
    /// Bytes counted by routes taken away since the last [`TcPath::take_load`].
    pending: TlbLoad,
}

impl TcTx {
    /// A bond's device just made or adopted: an earlier daemon's filter and table taken off
    /// its data-path end `end` (its data threads forward until [`TcPath::sync`] says
    /// otherwise).
    pub(super) fn adopt(end: &str, ifindex: u32) -> TcTx {
        let filter = match redirect::clear_transmit(end, ifindex) {
            Ok(()) => TxFilter::Off,
            Err(e) => {
                eprintln!("ubond: {e}");
                TxFilter::Unknown
            }
        };
        if let Err(e) = nft_tx::clear(end) {
            eprintln!("ubond: {e}");
        }
        TcTx {
            filter,
            to: None,
            nft: None,
            counted: Vec::new(),
            nft_counted: Vec::new(),
            pending: TlbLoad::default(),
        }
    }

    /// The frames the kernel sends now.
    fn in_kernel(&self) -> KernelTx {
        KernelTx::of(self.to.as_ref(), self.nft.as_ref())
    }

    /// What the routes that count bytes (balance-tlb's: tc's filter's and the nftables
    /// table's) sent since the last reading, per bucket; `None` where none counts, or when
    /// the kernel could not say (said).
    fn read_load(&mut self, end: &str, end_ifindex: u32) -> Option<TlbLoad> {
        let counts = |c: &[(u32, Account, u64)]| c.iter().any(|(_, a, _)| *a != Account::None);
        let mut load = None;
        if let (TxFilter::At(pref), Some(TxTo::Ipv4 { .. }), true) =
            (self.filter, &self.to, counts(&self.counted))
        {
            match redirect::tx_sent(end, end_ifindex, pref) {
                Ok(sent) => {
                    let sent = sent.into_iter().map(|(o, p, b)| (u32::from(o), p, b)).collect();
                    add_sent(load.get_or_insert_with(TlbLoad::default), &mut self.counted, sent);
                }
                Err(e) => eprintln!("ubond: {e}"),
            }
        }
        if self.nft.is_some() && counts(&self.nft_counted) {
            match nft_tx::sent(end) {
                Ok(sent) => {
                    add_sent(load.get_or_insert_with(TlbLoad::default), &mut self.nft_counted, sent)
                }
                Err(e) => eprintln!("ubond: {e}"),
            }
        }
        load
    }
}

/// Adds to `load` what each route of `counted` sent since its last reading (`sent`: per key,
/// the frames and octets since the route was written), and keeps the readings.
fn add_sent(load: &mut TlbLoad, counted: &mut [(u32, Account, u64)], sent: Vec<(u32, u64, u64)>) {
    for (key, _, bytes) in sent {
        if let Some((_, account, before)) = counted.iter_mut().find(|c| c.0 == key) {
            let delta = bytes.saturating_sub(*before);
            *before = bytes;
            load.add(*account, usize::try_from(delta).unwrap_or(usize::MAX));
        }
    }
}

/// What a bond's transmit on the userspace path should be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TxWant {
    /// tc's filter on the data-path end.
    to: Option<TxTo>,
    /// The nftables table after it.
    nft: Option<(NftMatch, Vec<NftRoute>)>,
    /// Where each route's bytes are counted, by key (tc's octets and the table's keys are
    /// apart).
    accounts: Vec<(u32, Account)>,
}

/// Which of the frames a bond sends the kernel forwards (the data threads' sockets on the
/// data-path end take the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelTx {
    /// None.
    Nothing,
    /// Every one.
    All,
    /// These.
    Ipv4(Ipv4Octets),
    /// Those of the `layer3+4` hash ([`NftMatch::Layer34`]).
    L34,
    /// Those of the `layer2+3` hash ([`NftMatch::Layer23`]).
    L23,
    /// balance-alb's balanced ones ([`NftMatch::Alb`]).
    Alb,
    /// balance-rr's, by a counter ([`NftMatch::RoundRobin`]).
    Rr,
}

impl KernelTx {
    fn of(to: Option<&TxTo>, nft: Option<&(NftMatch, Vec<NftRoute>)>) -> KernelTx {
        let tc = match to.map(TxTo::octets) {
            None => KernelTx::Nothing,
            Some(None) => KernelTx::All,
            Some(Some(o)) => KernelTx::Ipv4(o),
        };
        let table = match nft {
            None => KernelTx::Nothing,
            Some((NftMatch::Layer34 { .. }, _)) => KernelTx::L34,
            Some((NftMatch::Layer23 { .. }, _)) => KernelTx::L23,
            Some((NftMatch::Alb, _)) => KernelTx::Alb,
            Some((NftMatch::RoundRobin { .. }, _)) => KernelTx::Rr,
            Some((NftMatch::Layer2 { src_last }, routes)) => KernelTx::Ipv4(Ipv4Octets {
                src_last: *src_last,
                // Layer2 keys are octets.
                dst_last: routes.iter().map(|r| r.key as u8).collect(),
            }),
        };
        tc.union(table)
    }

    /// The frames either forwards.
    fn union(self, other: KernelTx) -> KernelTx {
        match (self, other) {
            (KernelTx::Nothing, x) | (x, KernelTx::Nothing) => x,
            (KernelTx::Ipv4(a), KernelTx::Ipv4(b)) if a.src_last == b.src_last => {
                KernelTx::Ipv4(Ipv4Octets { dst_last: a.dst_last.union(&b.dst_last), ..a })
            }
            (KernelTx::L34, KernelTx::L34) => KernelTx::L34,
            (KernelTx::L23, KernelTx::L23) => KernelTx::L23,
            (KernelTx::Alb, KernelTx::Alb) => KernelTx::Alb,
            (KernelTx::Rr, KernelTx::Rr) => KernelTx::Rr,
            _ => KernelTx::All,
        }
    }

    /// What the data threads' sockets on the data-path end take.
    fn threads(self) -> Receive {
        match self {
            KernelTx::Nothing => Receive::All,
            KernelTx::All => Receive::Nothing,
            KernelTx::Ipv4(o) => Receive::AllBut(o),
            KernelTx::L34 => Receive::AllButL34,
            KernelTx::L23 => Receive::AllButL23,
            KernelTx::Alb => Receive::AllButAlb,
            KernelTx::Rr => Receive::AllButRr,
        }
    }
}

/// A slave of bond `bond` just enslaved or adopted: an earlier daemon's filters taken off it
/// (its data threads' sockets are open), its part of the table of broadcast's copies first
/// (the other slaves' parts keep working until they are adopted in turn).
pub(super) fn slave_adopted(name: &str, ifindex: u32, bond: &str) -> KernelRx {
    give_back_copies(bond, ifindex);
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
    /// The kernel refused the nftables table once (said): balance-tlb's frames by a slave of
    /// its own address go through the data threads.
    nft_refused: bool,
    /// The kernel refused a table that hashes once (`layer3+4`, balance-alb; said: an older
    /// kernel without XOR between registers): those frames go through the data threads.
    l34_refused: bool,
    /// The kernel refused balance-rr's table once (said: a kernel without `numgen`): its
    /// frames go through the data threads.
    rr_refused: bool,
    /// The kernel refused the table of broadcast's copies once (said): a broadcast bond's
    /// slaves that discard copies are read by the data threads.
    copies_refused: bool,
}

impl TcPath {
    /// Brings bond `rt`'s slaves and data-path end to where its frames should go now.
    pub(super) fn sync(&mut self, rt: &mut BondRt, workers: &Workers) {
        self.sync_receive(rt, workers);
        self.sync_transmit(rt, workers);
    }

    /// Says the kernel refused a filter, and that the data threads forward everything now;
    /// true then. An interface that went (`device_gone`: its removal not read yet) is no
    /// refusal: said, and false (the filter of that interface alone stays off).
    fn refuse(&mut self, name: &str, e: &ubond_sys::SysError) -> bool {
        if e.device_gone() {
            eprintln!("ubond: {name}: {e}");
            return false;
        }
        eprintln!(
            "ubond: {name}: {e}; the data threads forward every frame instead (userspace data \
             path)"
        );
        self.refused = true;
        true
    }

    /// Says, once, where the filters are.
    fn say(&mut self) {
        if !std::mem::replace(&mut self.said, true) {
            eprintln!(
                "ubond: the userspace data path forwards in the kernel where the plans allow: \
                 tc u32 filters with mirred (`tc filter show dev SLAVE ingress`, and on the \
                 bond's data-path end) and, for what tc cannot do, nftables tables (`nft list \
                 table netdev ubond-END`, and ubond-END-rx for broadcast's copies)"
            );
        }
    }

    /// What bond `rt`'s transmit should be on the userspace path: every frame to the slaves
    /// of a plan that is one choice; or, with `layer2`, the IPv4 frames whose slave the
    /// destination's last octet tells (by nftables where they need the slave's own address);
    /// or, with `layer3+4`, `layer2+3` or balance-alb, those of the hash nftables computes;
    /// or balance-rr's by the counter nftables keeps. `None`: by the data threads. Without
    /// nftables (refused once), only what tc does alone.
    fn want_transmit(&self, rt: &BondRt) -> Option<TxWant> {
        if rt.fast.on() || self.refused {
            return None;
        }
        let ifindex_of = |id| rt.slave(id).map(|s| s.ifindex);
        let plan = rt.bond.tx_plan();
        if let Some(ids) = plan.redirect() {
            let to = ids.into_iter().map(ifindex_of).collect::<Option<Vec<u32>>>()?;
            return Some(TxWant { to: Some(TxTo::Every(to)), nft: None, accounts: Vec::new() });
        }
        let nft_ok = !self.nft_refused;
        if let Some(r) = plan.redirect_ipv4(rt.bond.rx_plan().bond_mac, nft_ok) {
            let (mut routes, mut nft) = (Vec::new(), Vec::new());
            for route in &r.routes {
                let to = ifindex_of(route.slave)?;
                match route.set_src {
                    None => routes.push((route.dst_last, to)),
                    Some(mac) => {
                        let key = u32::from(route.dst_last);
                        nft.push(NftRoute { key, to, source: Some(mac.0) });
                    }
                }
            }
            let accounts = r.routes.iter().map(|r| (u32::from(r.dst_last), r.account)).collect();
            let nft = (!nft.is_empty()).then_some((NftMatch::Layer2 { src_last: r.src_last }, nft));
            let to = Some(TxTo::Ipv4 { src_last: r.src_last, routes });
            return Some(TxWant { to, nft, accounts });
        }
        if let Some(r) = plan.redirect_rr() {
            if !nft_ok || self.rr_refused {
                return None;
            }
            let routes =
                r.routes.iter().zip(0..).map(|(&slave, key)| {
                    Some(NftRoute { key, to: ifindex_of(slave)?, source: None })
                });
            let nft = (NftMatch::RoundRobin { random: r.random }, routes.collect::<Option<_>>()?);
            return Some(TxWant { to: None, nft: Some(nft), accounts: Vec::new() });
        }
        let (what, r) = if let Some(r) = plan.redirect_l34(true) {
            (NftMatch::Layer34 { mask: r.mask }, r)
        } else if let Some(r) = plan.redirect_l23(true) {
            (NftMatch::Layer23 { mask: r.mask }, r)
        } else {
            (NftMatch::Alb, plan.redirect_alb()?)
        };
        if !nft_ok || self.l34_refused {
            return None;
        }
        let routes = r.routes.iter().map(|route| {
            let source = route.set_src.map(|m| m.0);
            Some(NftRoute { key: route.key, to: ifindex_of(route.slave)?, source })
        });
        let nft = Some((what, routes.collect::<Option<Vec<_>>>()?));
        let accounts = r.routes.iter().map(|r| (r.key, r.account)).collect();
        Some(TxWant { to: None, nft, accounts })
    }

    /// The bond's transmit: by the filter and the table on its data-path end, or by the data
    /// threads. While it changes, the data threads' sockets take neither the old nor the new
    /// one's frames (none goes twice); then all that the new one leaves.
    fn sync_transmit(&mut self, rt: &mut BondRt, workers: &Workers) {
        let want = self.want_transmit(rt);
        let tx = &rt.tc_tx;
        let same = match &want {
            Some(w) => w.to == tx.to && w.nft == tx.nft,
            None => tx.to.is_none() && tx.nft.is_none(),
        };
        if same && tx.filter != TxFilter::Unknown {
            return;
        }
        let (end, end_ifindex) = (rt.dev.peer_name().to_string(), rt.dev.peer_ifindex());
        let name = rt.bond.name().to_string();
        // What the routes going away counted.
        if let Some(load) = rt.tc_tx.read_load(&end, end_ifindex) {
            rt.tc_tx.pending.merge(&load);
        }
        let Some(want) = want else {
            let tx = &mut rt.tc_tx;
            let was = tx.in_kernel();
            clear_filter(tx, &name, &end, end_ifindex);
            if tx.nft.take().is_some() {
                if let Err(e) = nft_tx::clear(&end) {
                    eprintln!("ubond: {name}: {e}");
                }
            }
            tx.nft_counted.clear();
            if was != KernelTx::Nothing {
                set_receive(&name, &rt.end, Receive::All);
            }
            return;
        };
        let new = KernelTx::of(want.to.as_ref(), want.nft.as_ref());
        let during = rt.tc_tx.in_kernel().union(new).threads();
        if !set_receive(&name, &rt.end, during) {
            return;
        }
        let account =
            |key: u32| want.accounts.iter().find(|a| a.0 == key).map_or(Account::None, |a| a.1);
        // The table first: it takes only what tc's filter leaves.
        if want.nft != rt.tc_tx.nft {
            let put = match &want.nft {
                Some((what, routes)) => nft_tx::put(&end, *what, routes),
                None => nft_tx::clear(&end),
            };
            match put {
                Ok(()) => {
                    let tx = &mut rt.tc_tx;
                    let routes = want.nft.iter().flat_map(|(_, r)| r.iter());
                    tx.nft_counted = routes.map(|r| (r.key, account(r.key), 0)).collect();
                    tx.nft.clone_from(&want.nft);
                }
                Err(e) => {
                    eprintln!(
                        "ubond: {name}: {e}; the frames the kernel's tc cannot send (balance-tlb's \
                         by a slave of its own address, those of a hash nftables computes, \
                         balance-rr's) go through the data threads instead (userspace data path)"
                    );
                    match want.nft {
                        Some((NftMatch::RoundRobin { .. }, _)) => self.rr_refused = true,
                        Some((
                            NftMatch::Layer34 { .. } | NftMatch::Layer23 { .. } | NftMatch::Alb,
                            _,
                        )) => {
                            self.l34_refused = true;
                        }
                        _ => self.nft_refused = true,
                    }
                    let _ = nft_tx::clear(&end);
                    (rt.tc_tx.nft, rt.tc_tx.nft_counted) = (None, Vec::new());
                    return self.sync_transmit(rt, workers);
                }
            }
        }
        let counted = |routes: &[(u8, u32)]| -> Vec<(u32, Account, u64)> {
            routes.iter().map(|r| (u32::from(r.0), account(u32::from(r.0)), 0)).collect()
        };
        let tx = &mut rt.tc_tx;
        let Some(to) = want.to else {
            // The table alone.
            clear_filter(tx, &name, &end, end_ifindex);
            set_receive(&name, &rt.end, new.threads());
            self.say();
            return;
        };
        // The same kind of filter with other routes: changed node by node, so that the
        // routes that stay keep forwarding and counting (balance-tlb's table changes often).
        if let (
            TxTo::Ipv4 { src_last: new_src, routes: new_routes },
            Some(TxTo::Ipv4 { src_last, routes: old }),
            TxFilter::At(pref),
        ) = (&to, &tx.to, tx.filter)
        {
            if new_src == src_last
                && redirect::retarget(&end, end_ifindex, pref, old, new_routes).is_ok()
            {
                // Counted from zero where the route was written.
                let before = |octet: u8| {
                    let same = |r: &[(u8, u32)]| r.iter().find(|r| r.0 == octet).copied();
                    let stays = same(old).is_some() && same(old) == same(new_routes);
                    let key = u32::from(octet);
                    let was = tx.counted.iter().find(|k| k.0 == key).map_or(0, |k| k.2);
                    if stays {
                        was
                    } else {
                        0
                    }
                };
                tx.counted = new_routes
                    .iter()
                    .map(|r| (u32::from(r.0), account(u32::from(r.0)), before(r.0)))
                    .collect();
                tx.to = Some(to);
                set_receive(&name, &rt.end, new.threads());
                return;
            }
            // Not node by node: a whole new filter, below.
        }
        match redirect::transmit(&end, end_ifindex, &to, tx.filter) {
            Ok(filter) => {
                tx.counted = match &to {
                    TxTo::Ipv4 { routes, .. } => counted(routes),
                    TxTo::Every(_) => Vec::new(),
                };
                (tx.filter, tx.to) = (filter, Some(to));
                if new.threads() != during {
                    set_receive(&name, &rt.end, new.threads());
                }
                self.say();
            }
            Err(e) => {
                // The data threads take the data-path end back.
                let _ = redirect::clear_transmit(&end, end_ifindex);
                let _ = nft_tx::clear(&end);
                (tx.filter, tx.to, tx.nft) = (TxFilter::Off, None, None);
                (tx.counted, tx.nft_counted) = (Vec::new(), Vec::new());
                set_receive(&name, &rt.end, Receive::All);
                if self.refuse(&name, &e) {
                    self.sync(rt, workers);
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
    pub(super) fn take_rx_seen(&mut self, rt: &mut BondRt, now: Instant, workers: &Workers) {
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
                    if self.refuse(&name, &e) {
                        return self.sync(rt, workers);
                    }
                }
            }
        }
    }

    /// Where slave `si` of `rt`'s frames should go up now.
    fn want_receive(&self, rt: &BondRt, si: usize) -> KernelRx {
        if rt.fast.on() || self.refused {
            return KernelRx::Threads;
        }
        let stamp = rt.arp_monitor();
        let (end, bond) = (rt.dev.peer_ifindex(), rt.dev.ifindex());
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
        match (plan.redirect(id), to) {
            (RxRedirect::All, Some(to)) if stamp => {
                KernelRx::Kernel(Some((RxMatch::AllStamped { own }, to)))
            }
            // The ARP monitor counts frames that no filter would take: the data threads
            // read them and note the times.
            (_, _) if stamp => KernelRx::Threads,
            (RxRedirect::Nothing, _) => KernelRx::Kernel(None),
            (_, None) => KernelRx::Threads,
            (RxRedirect::All, Some(to)) => KernelRx::Kernel(Some((RxMatch::All, to))),
            (RxRedirect::Unicast, Some(to)) => KernelRx::Kernel(Some((RxMatch::Unicast, to))),
            // TCP over IPv4 by the table of copies, the rest of TCP by the data threads.
            (RxRedirect::AllOnce, Some(to @ RxTo::End(_))) if !self.copies_refused => {
                KernelRx::Kernel(Some((RxMatch::AllButTcp, to)))
            }
            (RxRedirect::AllOnce, Some(_)) => KernelRx::Threads,
        }
    }

    /// Brings the bond's table of broadcast's copies to the slaves of `wants` that hand it
    /// their TCP ([`RxMatch::AllButTcp`]): before their filters change, so that a slave's
    /// TCP meets the table as soon as its filters leave it there, and no longer once they
    /// do not. False (said) where the kernel refused it: those slaves' frames go through the
    /// data threads from now on.
    fn sync_copies(&mut self, rt: &mut BondRt, wants: &[KernelRx]) -> bool {
        let slaves: Vec<CopiesSlave> = rt
            .slaves
            .iter()
            .zip(wants)
            .filter(|(_, w)| matches!(w, KernelRx::Kernel(Some((RxMatch::AllButTcp, _)))))
            .map(|(s, _)| CopiesSlave { name: s.name.clone(), ifindex: s.ifindex })
            .collect();
        if rt.tc_copies.as_ref() == Some(&slaves) {
            return true;
        }
        // A slave read by the data threads until now: they take nothing from here on, or a
        // frame the table hands up could go up twice.
        let silenced: Vec<usize> = (0..rt.slaves.len())
            .filter(|&si| rt.slaves[si].kernel_rx == KernelRx::Threads)
            .filter(|&si| wants[si] != KernelRx::Threads)
            .collect();
        for &si in &silenced {
            set_receive(rt.bond.name(), &rt.slaves[si].data, Receive::Nothing);
        }
        match nft_rx::put(rt.dev.peer_name(), rt.dev.peer_ifindex(), &slaves, COPY_WINDOW) {
            Ok(()) => {
                if !slaves.is_empty() {
                    self.say();
                }
                rt.tc_copies = Some(slaves);
                true
            }
            Err(e) if !self.copies_refused => {
                for &si in &silenced {
                    set_receive(rt.bond.name(), &rt.slaves[si].data, Receive::All);
                }
                eprintln!(
                    "ubond: {}: {e}; broadcast's TCP goes through the data threads instead \
                     (userspace data path)",
                    rt.bond.name()
                );
                self.copies_refused = true;
                false
            }
            Err(e) => {
                eprintln!("ubond: {}: {e}", rt.bond.name());
                true
            }
        }
    }

    /// Brings every slave of `rt` to where its frames should go up now.
    fn sync_receive(&mut self, rt: &mut BondRt, workers: &Workers) {
        let fast_on = rt.fast.on();
        let name = rt.bond.name().to_string();
        let wants: Vec<KernelRx> =
            (0..rt.slaves.len()).map(|si| self.want_receive(rt, si)).collect();
        if !self.sync_copies(rt, &wants) {
            return self.sync_receive(rt, workers);
        }
        for (si, want) in wants.into_iter().enumerate() {
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
                    slave_receive(rt, si, workers, Receive::All);
                }
                continue;
            };
            // The sockets take nothing while the filters change, so that no frame goes up
            // twice; then what the filters leave them (sockets that only send, where that is
            // nothing).
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
                    let rest = match m {
                        Some((_, RxTo::AsReceived { others, .. })) if !others.is_empty() => {
                            Receive::To(others)
                        }
                        Some((RxMatch::AllButTcp, _)) => Receive::OtherTcp,
                        _ => Receive::Nothing,
                    };
                    slave_receive(rt, si, workers, rest);
                    if m.is_some() {
                        self.say();
                    }
                }
                Err(e) => {
                    // `redirect` left no filter of ubond's.
                    s.kernel_rx = KernelRx::Threads;
                    slave_receive(rt, si, workers, Receive::All);
                    if self.refuse(&name, &e) {
                        // The slaves done before this one go back too.
                        return self.sync(rt, workers);
                    }
                }
            }
        }
    }
}

/// Takes ubond's tc filter off the data-path end, if it has one (said where it cannot).
fn clear_filter(tx: &mut TcTx, name: &str, end: &str, end_ifindex: u32) {
    if tx.filter != TxFilter::Off {
        match redirect::clear_transmit(end, end_ifindex) {
            Ok(()) => tx.filter = TxFilter::Off,
            Err(e) => eprintln!("ubond: {name}: {e}"),
        }
    }
    (tx.to, tx.counted) = (None, Vec::new());
}

/// A bond's device about to be deleted (its data-path end `end` with it): the nftables
/// table of its transmit goes too (tc's filters go with the device; the table would stay).
pub(super) fn bond_deleted(end: &str) {
    if let Err(e) = nft_tx::clear(end) {
        eprintln!("ubond: {e}");
    }
    if let Err(e) = nft_rx::clear(end) {
        eprintln!("ubond: {e}");
    }
}

/// Slave `ifindex` leaves bond `rt` (its filters still on): out of the table of broadcast's
/// copies first, so that its frames do not reach the bond once its filters go.
pub(super) fn slave_leaving(rt: &mut BondRt, ifindex: u32) {
    let (end, end_ifindex) = (rt.dev.peer_name(), rt.dev.peer_ifindex());
    let done = match &rt.tc_copies {
        Some(slaves) if !slaves.iter().any(|s| s.ifindex == ifindex) => return,
        Some(slaves) => {
            let rest: Vec<CopiesSlave> =
                slaves.iter().filter(|s| s.ifindex != ifindex).cloned().collect();
            nft_rx::put(end, end_ifindex, &rest, COPY_WINDOW).map(|()| Some(rest))
        }
        None => nft_rx::drop_slave(end, ifindex).map(|()| None),
    };
    match done {
        Ok(now) => rt.tc_copies = now,
        Err(e) => eprintln!("ubond: {}: {e}", rt.bond.name()),
    }
}

/// [`BondRt::set_slave_receive`], said if it fails.
fn slave_receive(rt: &mut BondRt, si: usize, workers: &Workers, what: Receive) {
    if let Err(e) = rt.set_slave_receive(si, workers, what) {
        eprintln!("ubond: {}: {e:#}", rt.bond.name());
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

/// Takes slave `ifindex` out of bond `bond`'s table of broadcast's copies, if an earlier
/// daemon left it there (the slave is adopted, or given back, by one that does not know).
pub(super) fn give_back_copies(bond: &str, ifindex: u32) {
    if let Err(e) = nft_rx::drop_slave(&ubond_sys::bond_device::data_path_end_of(bond), ifindex) {
        eprintln!("ubond: {e}");
    }
}
