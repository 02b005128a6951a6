//! The userspace data path's receive direction in the kernel, without eBPF: where the core's
//! receive plan for a slave is a plain match (`RxPlan::redirect`: all its data frames, its
//! unicast ones, or none), tc's `u32` classifier and `mirred` action hand them to the bond's
//! data-path end (`ubond_sys::redirect`) and the data threads read none of that slave's
//! frames. That halves the copies of every received byte; and the frames keep arriving while
//! the daemon restarts, as the fast path's do.
//!
//! The data threads keep reading a slave whose frames need them: the ARP monitor (it stamps
//! each slave's receive times), balance-tlb/alb's rewritten destinations, broadcast's copies
//! (`RxPlan::redirect` says which), and every slave of a bond the fast path carries (its
//! programs do it all). A kernel that refuses the filters (no `u32` or `mirred`, no
//! CAP_NET_ADMIN) is said once; the data threads then read every slave, as before.
//!
//! Switching a slave over: its data sockets stop taking frames first, then the filters go on
//! (a frame may be lost in between, none delivered twice); back, the other way round.

use ubond_core::bond::RxRedirect;
use ubond_sys::redirect::{self, RxMatch};
use ubond_sys::Receive;

use super::bond::BondRt;
use super::workers;

/// Where a slave's received data frames go up, on the userspace path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KernelRx {
    /// Not known: an earlier daemon may have left its filters (an adopted slave).
    Unknown,
    /// Through the data threads (or the fast path's programs): no filter of ubond's.
    Threads,
    /// By the kernel's classifier, as the plan says; the data threads read none.
    Kernel(RxRedirect),
}

/// The daemon's side: whether the kernel took the filters.
#[derive(Debug, Default)]
pub(super) struct KernelRxPath {
    /// The kernel refused them once (said): every slave stays with the data threads.
    refused: bool,
    /// The first filters were said.
    said: bool,
}

impl KernelRxPath {
    /// Brings every slave of `rt` to where its frames should go up now.
    pub(super) fn sync(&mut self, rt: &mut BondRt) {
        let fast_on = rt.fast.on();
        let by_threads = fast_on || rt.arp_monitor() || self.refused;
        let end = rt.dev.peer_ifindex();
        let name = rt.bond.name().to_string();
        for si in 0..rt.slaves.len() {
            let s = &rt.slaves[si];
            let want = match rt.bond.rx_plan().redirect(s.id) {
                Some(r) if !by_threads => KernelRx::Kernel(r),
                _ => KernelRx::Threads,
            };
            if want == s.kernel_rx {
                continue;
            }
            let s = &mut rt.slaves[si];
            let was_kernel = matches!(s.kernel_rx, KernelRx::Kernel(_));
            match want {
                KernelRx::Kernel(r) => {
                    if !was_kernel {
                        if let Err(e) = workers::set_receive(&s.data, Receive::Nothing) {
                            eprintln!("ubond: {name}: {e}");
                            continue;
                        }
                    }
                    let put = match r {
                        RxRedirect::All => {
                            redirect::redirect(&s.name, s.ifindex, RxMatch::All, end)
                        }
                        RxRedirect::Unicast => {
                            redirect::redirect(&s.name, s.ifindex, RxMatch::Unicast, end)
                        }
                        RxRedirect::Nothing => redirect::clear(&s.name, s.ifindex),
                    };
                    match put {
                        Ok(()) => {
                            s.kernel_rx = want;
                            if r != RxRedirect::Nothing && !std::mem::replace(&mut self.said, true)
                            {
                                eprintln!(
                                    "ubond: the userspace data path hands received frames to the \
                                     bond in the kernel where the plan allows: tc u32 filters \
                                     with mirred on the slaves' ingress (`tc filter show dev \
                                     SLAVE ingress`)"
                                );
                            }
                        }
                        Err(e) => {
                            eprintln!(
                                "ubond: {name}: {e}; the data threads read the slaves' frames \
                                 instead (userspace data path)"
                            );
                            self.refused = true;
                            let _ = redirect::clear(&s.name, s.ifindex);
                            if let Err(e) = workers::set_receive(&s.data, Receive::All) {
                                eprintln!("ubond: {name}: {e}");
                            }
                            s.kernel_rx = KernelRx::Threads;
                            // The slaves done before this one go back too.
                            return self.sync(rt);
                        }
                    }
                }
                KernelRx::Threads | KernelRx::Unknown => {
                    if let Err(e) = redirect::clear(&s.name, s.ifindex) {
                        eprintln!("ubond: {name}: {e}");
                    }
                    // The fast path's programs, when on, have the frames: its sockets stay off.
                    if was_kernel && !fast_on {
                        if let Err(e) = workers::set_receive(&s.data, Receive::All) {
                            eprintln!("ubond: {name}: {e}");
                        }
                    }
                    s.kernel_rx = KernelRx::Threads;
                }
            }
        }
    }
}

/// Takes ubond's filters off a slave given back (its data sockets are closed already).
pub(super) fn give_back(name: &str, ifindex: u32, state: KernelRx) {
    if state != KernelRx::Threads {
        if let Err(e) = redirect::clear(name, ifindex) {
            eprintln!("ubond: {e}");
        }
    }
}
