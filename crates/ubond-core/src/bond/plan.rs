//! The data path's view of a bond: which slave carries a frame, and which received frames are
//! delivered up. A [`TxPlan`] and an [`RxPlan`] are plain values the control plane republishes
//! on every change (`BondEvent::PlanChanged`); the forwarding threads read their copy without
//! any lock.
//!
//! # One transmit decision
//!
//! Every driver (the daemon's userspace data path, the lab's hosts and switches) sends a frame
//! the same way: [`TxPlan::decide`] with the forwarding thread's own [`TxCursor`], then what
//! the [`TxDecision`] says. `decide` is [`TxPlan::select`] (a pure function of the plan, the
//! frame and the cursor's counter, which the in-kernel fast path mirrors bit for bit) plus the
//! balance-tlb/alb table: the source-address rewrite and the byte accounting that the control
//! plane takes back at its next timer ([`Bond::handle_timeout_with_load`]). It writes only to
//! the frame and the cursor, and allocates nothing.
//!
//! [`Bond::handle_timeout_with_load`]: super::Bond::handle_timeout_with_load

use crate::hash;
use crate::options::{Mode, XmitHashPolicy};
use crate::time::Instant;

use ubond_wire::ethernet::ETHERTYPE_IPV4;
use ubond_wire::MacAddr;

use super::copies::{CopyKey, RxCopies};
use super::tlb::{Account, AlbMode, TlbLoad, TlbTable, TlbTx};
use super::SlaveId;

/// Where one frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxChoice {
    /// On this slave.
    One(SlaveId),
    /// On every slave of [`TxPlan::slaves`] (broadcast mode).
    All,
    /// Nowhere: the bond has no usable slave (Linux counts it as a tx drop).
    Drop,
    /// balance-alb: an ARP packet the bond sends; give it to
    /// [`Bond::handle_arp_tx`](super::Bond::handle_arp_tx), which may rewrite it and picks the
    /// slave.
    ControlPlane,
}

/// How the data path picks the slave for a frame (Linux's `usable_slaves` array plus the mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxPlan {
    /// The bonding mode.
    pub mode: Mode,
    /// `xmit_hash_policy`, for the hash modes.
    pub policy: XmitHashPolicy,
    /// `packets_per_slave`, for balance-rr.
    pub packets_per_slave: u32,
    /// The slaves that may transmit, in enslave order: the active slave alone in
    /// active-backup (and in 802.3ad's LACP fallback), the distributing ports of the active
    /// aggregator in 802.3ad, every slave whose link is up otherwise.
    pub slaves: Vec<SlaveId>,
    /// The slave IGMP reports leave by in balance-rr (Linux: the current active slave, so
    /// that a switch keeps one membership port).
    pub igmp_slave: Option<SlaveId>,
    /// balance-tlb/alb: the transmit table (256 buckets by load). [`TxPlan::decide`] also
    /// applies its source-address rewrite and counts the bytes.
    pub tlb: Option<TlbTable>,
}

impl TxPlan {
    /// A plan that drops everything.
    pub fn empty(mode: Mode) -> TxPlan {
        TxPlan {
            mode,
            policy: XmitHashPolicy::default(),
            packets_per_slave: 1,
            slaves: Vec::new(),
            igmp_slave: None,
            tlb: None,
        }
    }

    /// The slave for `frame` (a whole Ethernet frame), as the in-kernel fast path chooses it
    /// too (drivers call [`TxPlan::decide`]). `counter` is the forwarding thread's
    /// own round-robin counter (Linux keeps one per CPU); it also seeds the random choice of
    /// `packets_per_slave=0`, which keeps every run reproducible.
    pub fn select(&self, frame: &[u8], counter: &mut u32) -> TxChoice {
        let n = self.slaves.len();
        if n == 0 {
            return TxChoice::Drop;
        }
        let pick = |h: u32| TxChoice::One(self.slaves[(h as usize) % n]);
        match self.mode {
            Mode::Broadcast => TxChoice::All,
            Mode::ActiveBackup => TxChoice::One(self.slaves[0]),
            Mode::BalanceRr => {
                if let Some(igmp) = self.igmp_slave.filter(|_| is_igmp(frame)) {
                    return TxChoice::One(igmp);
                }
                let id = match self.packets_per_slave {
                    // Linux: get_random_u32(). Ours: xorshift32 on the counter, deterministic.
                    0 => {
                        let mut x = counter.wrapping_add(0x9e37_79b9) | 1;
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        *counter = x;
                        x
                    }
                    1 => {
                        *counter = counter.wrapping_add(1);
                        *counter
                    }
                    per => {
                        *counter = counter.wrapping_add(1);
                        *counter / per
                    }
                };
                pick(id)
            }
            Mode::BalanceTlb | Mode::BalanceAlb if self.tlb.is_some() => {
                match self.tlb.as_ref().map(|t| t.select(frame)) {
                    Some(TlbTx::Send { slave, .. }) => TxChoice::One(slave),
                    Some(TlbTx::Arp) => TxChoice::ControlPlane,
                    Some(TlbTx::Drop) | None => TxChoice::Drop,
                }
            }
            Mode::BalanceXor | Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb => {
                pick(hash::xmit_hash(self.policy, frame, None))
            }
        }
    }
}

/// Where the untagged IPv4 frames a bond sends from one source address to a unicast one go,
/// by the last octet of their destination ([`TxPlan::redirect_ipv4`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Routes {
    /// The last octet of the source address (the bond's own).
    pub src_last: u8,
    /// The destinations' last octets that have a route, in increasing order; frames to the
    /// others are left to a data path that decides frame by frame.
    pub routes: Vec<Ipv4Route>,
}

/// One route of [`Ipv4Routes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Route {
    /// The last octet of the destination address.
    pub dst_last: u8,
    /// The slave the frames leave by.
    pub slave: SlaveId,
    /// Where their bytes are counted (balance-tlb's bucket).
    pub account: Account,
    /// The source address they get (balance-tlb's slave other than the active one); `None`:
    /// they leave unchanged.
    pub set_src: Option<MacAddr>,
}

/// IP protocol numbers of [`HashRoutes`]' frames.
const L34_TCP: u8 = 6;

/// Where the frames of one kind that a bond sends go by a key computed from their headers;
/// the method that returns the routes says which frames and which key:
///
/// * [`TxPlan::redirect_l34`], the `layer3+4` hash: the untagged IPv4 frames to a unicast
///   address whose header has no options (its first octet 0x45), that are no fragment (flags
///   MF and offset clear), of TCP or UDP, and at least 24 octets long from the IP header (the
///   ports there); and the untagged IPv6 frames to a unicast address whose next header is TCP
///   or UDP, at least 44 octets long from the IP header. The key is the kernel's fold of the
///   ports, source and destination address, each four octets read as a little-endian word
///   (an IPv6 address: the XOR of its four words, `ipv6_addr_hash`):
///   `h = ports ^ saddr ^ daddr; h ^= h >> 16; h ^= h >> 8; key = (h >> 1) & mask`.
/// * [`TxPlan::redirect_l23`], the `layer2+3` hash: the untagged IPv4 frames to a unicast
///   address at least 20 octets long from the IP header, not ICMP (whose errors the kernel
///   hashes by the addresses they quote); the untagged IPv6 frames to a unicast address at
///   least 40 octets long from the IP header, next header not ICMPv6. The key is the
///   kernel's fold of the MAC addresses' last octets, the EtherType and the IP addresses
///   (as for `layer3+4`), without the shift:
///   `h = (dmac[5] ^ smac[5] ^ ethertype) ^ saddr ^ daddr; h ^= h >> 16; h ^= h >> 8;
///   key = h & mask`.
/// * [`TxPlan::redirect_alb`], balance-alb's bucket: the untagged IPv4 frames to a unicast
///   address, at least 20 octets long from the IP header, not IGMP, not to 255.255.255.255;
///   the untagged IPv6 frames to a unicast address whose next header is TCP or UDP, from a
///   specified source address (not `::`), at least 40 octets long from the IP header. The
///   key is the XOR of the destination address's octets (`_simple_hash`), `mask` 0xff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRoutes {
    /// The key's mask.
    pub mask: u32,
    /// One route per key, `0..=mask` in order.
    pub routes: Vec<HashRoute>,
}

/// One route of [`HashRoutes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashRoute {
    /// The key.
    pub key: u32,
    /// The slave the frames leave by.
    pub slave: SlaveId,
    /// Where their bytes are counted (balance-tlb's bucket).
    pub account: Account,
    /// The source address they get (balance-tlb's slave other than the active one); `None`:
    /// they leave unchanged.
    pub set_src: Option<MacAddr>,
}

/// The most keys [`RrRoutes`] has (`slaves × packets_per_slave`): a plan with more is left to
/// a data path that counts frame by frame.
pub const RR_KEYS_MAX: usize = 256;

/// Where balance-rr's frames of one kind go, by a counter of their own
/// ([`TxPlan::redirect_rr`]): the frames that are not IGMP over IPv4 (which leave by the IGMP
/// slave) and carry no VLAN tag (a frame whose EtherType, octets 12 and 13, is 0x8100 or
/// 0x88a8, or whose tag the kernel holds apart). Frame `i` of the kind leaves by
/// `routes[(start + i) % routes.len()]` (`start` being where the counter stands), or, with
/// [`RrRoutes::random`], by a route picked at random for each frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrRoutes {
    /// `packets_per_slave=0`: each frame by a route picked at random, not by the counter.
    pub random: bool,
    /// The slave of each value of the counter, `0..routes.len()` in order.
    pub routes: Vec<SlaveId>,
}

/// What the driver does with one frame the bond transmits ([`TxPlan::decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxDecision {
    /// Send it on this slave (as `decide` left it: balance-tlb/alb may have rewritten its
    /// source address).
    Send(SlaveId),
    /// Send a copy on every slave of [`TxPlan::slaves`] (broadcast mode: the slaves whose link
    /// is up, as Linux's `bond_xmit_broadcast` skips the others).
    Broadcast,
    /// balance-alb: an ARP packet the bond sends. Give it to
    /// [`Bond::handle_arp_tx`](super::Bond::handle_arp_tx), which may rewrite it and picks the
    /// slave (Linux `rlb_arp_xmit`), then drain the bond's outputs. Never dropped by the data
    /// path: receive load balancing depends on seeing every one.
    ControlPlane,
    /// Nowhere: no slave can send it (Linux counts a tx drop).
    Drop,
}

/// A forwarding thread's own transmit state: the round-robin counter and, in
/// balance-tlb/alb, the bytes it sent per bucket since the control plane last took them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxCursor {
    /// balance-rr's counter (Linux keeps one per CPU); it also seeds `packets_per_slave=0`'s
    /// random choice.
    pub counter: u32,
    /// balance-tlb/alb: bytes sent per bucket, handed back with
    /// [`Bond::handle_timeout_with_load`](super::Bond::handle_timeout_with_load).
    pub load: TlbLoad,
}

impl TxPlan {
    /// The plan as one choice for every frame, for a data path that forwards with the
    /// kernel's own classifier (tc's `u32` and `mirred`, no program of its own): the slaves
    /// every frame goes to (one; or all of them in broadcast, each a copy). `None` where the
    /// choice depends on the frame (a hash over several slaves, balance-rr's counter,
    /// balance-tlb/alb's table, which also rewrites the source) or there is no slave (frames
    /// are dropped). Where it is `Some`, [`TxPlan::select`] makes that choice for every frame.
    pub fn redirect(&self) -> Option<Vec<SlaveId>> {
        let first = *self.slaves.first()?;
        if self.tlb.is_some() {
            return None;
        }
        match self.mode {
            Mode::Broadcast => Some(self.slaves.clone()),
            Mode::ActiveBackup => Some(vec![first]),
            // IGMP reports leave by their own slave.
            Mode::BalanceRr if self.igmp_slave.is_some_and(|s| s != first) => None,
            _ if self.slaves.len() == 1 => Some(vec![first]),
            _ => None,
        }
    }

    /// The plan for untagged IPv4 frames to a unicast address from `src`, where it depends on
    /// the last octet of their destination alone, for a data path that forwards with the
    /// kernel's own classifier (tc's `u32`, which matches fixed octets): with
    /// `xmit_hash_policy=layer2`, whose hash (`bond_eth_hash`) reads the last octets of the two
    /// addresses and the EtherType only, in balance-xor, 802.3ad and balance-tlb. balance-tlb
    /// sends a frame by a slave other than the active one with that slave's address as its
    /// source: with `rewrite` (the data path can write it) those routes say so
    /// ([`Ipv4Route::set_src`]); without, there are only the routes of the buckets the table
    /// gives the active slave, and the other frames are left to a data path that rewrites.
    /// `None` where no frame has a route, and for every other plan ([`TxPlan::redirect`] gives
    /// the plans that are one choice for every frame).
    ///
    /// For every such frame whose destination's last octet has a route, [`TxPlan::decide`]
    /// sends it on the route's slave, with the route's source address if it has one and
    /// otherwise unchanged, and counts its bytes in the route's account.
    pub fn redirect_ipv4(&self, src: MacAddr, rewrite: bool) -> Option<Ipv4Routes> {
        match (&self.tlb, self.mode) {
            (None, Mode::BalanceXor | Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb)
                if self.policy == XmitHashPolicy::Layer2 => {}
            (Some(t), _) if t.mode == AlbMode::Tlb && t.policy == XmitHashPolicy::Layer2 => {}
            _ => return None,
        }
        // A frame of the kind: a unicast destination, `src`, IPv4.
        let mut frame = [0u8; 14 + 20];
        frame[0] = 0x02;
        frame[6..12].copy_from_slice(&src.0);
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        let routes: Vec<Ipv4Route> = (0..=u8::MAX)
            .filter_map(|dst_last| {
                frame[5] = dst_last;
                let (slave, account, set_src) = self.route_of(&frame, rewrite)?;
                Some(Ipv4Route { dst_last, slave, account, set_src })
            })
            .collect();
        (!routes.is_empty()).then_some(Ipv4Routes { src_last: src.0[5], routes })
    }

    /// The plan for the frames of [`HashRoutes`]' kind, where it depends on their `layer3+4`
    /// hash alone through a mask, for a data path whose classifier can XOR and shift what it
    /// reads (nftables): `xmit_hash_policy=layer3+4` in balance-xor and 802.3ad with a power
    /// of two slaves (`hash % n` is `hash & (n - 1)`), and balance-tlb (its bucket is
    /// `hash & 0xff`). `None` for every other plan, where some key would have no route
    /// (balance-tlb's frames by a slave other than the active one need `rewrite`), and on a
    /// big-endian machine (the hash reads the octets as a little-endian one does, the kernel's
    /// classifier as the machine does).
    ///
    /// Every key has a route: for every frame of the kind, [`TxPlan::decide`] sends it on the
    /// route of its key, with the route's source address if it has one and otherwise
    /// unchanged, and counts its bytes in the route's account.
    pub fn redirect_l34(&self, rewrite: bool) -> Option<HashRoutes> {
        let mask = self.hashed_mask(XmitHashPolicy::Layer34)?;
        // A frame of the kind whose folded hash is `key`: addresses 0, the source port's
        // octets (read as a little-endian word) `key << 1`.
        let mut frame = [0u8; 14 + 20 + 20];
        frame[0] = 0x02;
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        frame[14 + 9] = L34_TCP;
        self.hash_routes(XmitHashPolicy::Layer34, mask, rewrite, &mut frame, |f, key| {
            f[34..36].copy_from_slice(&((key << 1) as u16).to_le_bytes());
        })
    }

    /// The plan for the frames of [`HashRoutes`]' `layer2+3` kind, where it depends on their
    /// hash alone through a mask, for a data path whose classifier can XOR and shift what it
    /// reads (nftables): `xmit_hash_policy=layer2+3` in the modes and on the machines of
    /// [`TxPlan::redirect_l34`].
    ///
    /// Every key has a route: for every frame of the kind, [`TxPlan::decide`] sends it on the
    /// route of its key, with the route's source address if it has one and otherwise
    /// unchanged, and counts its bytes in the route's account.
    pub fn redirect_l23(&self, rewrite: bool) -> Option<HashRoutes> {
        let mask = self.hashed_mask(XmitHashPolicy::Layer23)?;
        // A frame of the kind whose folded hash is `key`: MAC addresses' last octets and the
        // source address 0, the destination address (a little-endian word) `key ^ 0x0800`
        // (the EtherType's term cancelled; `key` is below 256, so the fold keeps it).
        let mut frame = [0u8; 14 + 20];
        frame[0] = 0x02;
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        frame[14 + 9] = L34_TCP;
        self.hash_routes(XmitHashPolicy::Layer23, mask, rewrite, &mut frame, |f, key| {
            let daddr = key ^ u32::from(ETHERTYPE_IPV4);
            f[30..34].copy_from_slice(&daddr.to_le_bytes());
        })
    }

    /// The mask of [`TxPlan::redirect_l34`]'s and [`TxPlan::redirect_l23`]'s keys for
    /// `policy`: a power of two slaves less one (balance-xor, 802.3ad, balance-tlb with
    /// `tlb_dynamic_lb=0`), or balance-tlb's 0xff; `None` where the plan is not one of those
    /// with that policy, and on a big-endian machine.
    fn hashed_mask(&self, policy: XmitHashPolicy) -> Option<u32> {
        if cfg!(target_endian = "big") {
            return None;
        }
        let pow2 = |n: usize| u32::try_from(n).ok().filter(|n| n.is_power_of_two());
        match (&self.tlb, self.mode) {
            (None, Mode::BalanceXor | Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb)
                if self.policy == policy =>
            {
                Some(pow2(self.slaves.len())? - 1)
            }
            (Some(t), _) if t.mode == AlbMode::Tlb && t.policy == policy => {
                if t.dynamic {
                    Some(0xff)
                } else {
                    Some(pow2(t.usable.len())? - 1)
                }
            }
            _ => None,
        }
    }

    /// A route for every key `0..=mask` of `policy`'s hash: `frame`, of the kind, made by
    /// `with_key` into one whose masked hash is the key, through the core's own decision.
    /// `None` where some key has none.
    fn hash_routes(
        &self,
        policy: XmitHashPolicy,
        mask: u32,
        rewrite: bool,
        frame: &mut [u8],
        with_key: impl Fn(&mut [u8], u32),
    ) -> Option<HashRoutes> {
        let routes = (0..=mask)
            .map(|key| {
                with_key(frame, key);
                debug_assert_eq!(hash::xmit_hash(policy, frame, None) & mask, key);
                let (slave, account, set_src) = self.route_of(frame, rewrite)?;
                Some(HashRoute { key, slave, account, set_src })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(HashRoutes { mask, routes })
    }

    /// The plan for balance-alb's balanced IPv4 frames of [`HashRoutes`]' kind by their bucket
    /// (the XOR of the destination address's octets), for a data path whose classifier can
    /// XOR and shift what it reads (nftables), which writes the source address where a route
    /// says. `None` for every other plan, and where some bucket has no slave.
    ///
    /// Every key has a route: for every frame of the kind, [`TxPlan::decide`] sends it on the
    /// route of its key, with the route's source address if it has one and otherwise
    /// unchanged, and counts its bytes in the route's account.
    pub fn redirect_alb(&self) -> Option<HashRoutes> {
        self.tlb.as_ref().filter(|t| t.mode == AlbMode::Alb && t.dynamic)?;
        // A frame of the kind whose bucket is `key`: the destination address `key.0.0.0`.
        let mut frame = [0u8; 14 + 20];
        frame[0] = 0x02;
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        frame[14 + 9] = L34_TCP;
        let routes = (0..=0xffu32)
            .map(|key| {
                frame[30] = key as u8;
                let (slave, account, set_src) = self.route_of(&frame, true)?;
                Some(HashRoute { key, slave, account, set_src })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(HashRoutes { mask: 0xff, routes })
    }

    /// The plan for balance-rr's frames of [`RrRoutes`]' kind, for a data path whose
    /// classifier keeps a counter that wraps at a modulus (nftables' `numgen`): a route per
    /// value of the counter, `slaves × packets_per_slave` of them (`packets_per_slave=0`: one
    /// per slave, picked at random). `None` for every other plan, for a plan without slaves,
    /// and for more than [`RR_KEYS_MAX`] routes.
    ///
    /// For every frame of the kind, [`TxPlan::select`] with its counter at `c` sends it as
    /// route `(c + 1) % routes.len()` does (`c + 1` wrapping as the `u32` counter does; the
    /// counter goes on to it), the kernel's `bond_rr_gen_slave_id` counting frames and
    /// `packets_per_slave` the same way; so the routes send the frames in the core's order,
    /// from wherever the counter stands. With `packets_per_slave=0` both pick a slave at
    /// random.
    pub fn redirect_rr(&self) -> Option<RrRoutes> {
        if self.mode != Mode::BalanceRr || self.tlb.is_some() || self.slaves.is_empty() {
            return None;
        }
        if self.packets_per_slave == 0 {
            return Some(RrRoutes { random: true, routes: self.slaves.clone() });
        }
        let keys = self.slaves.len().checked_mul(self.packets_per_slave as usize)?;
        if keys > RR_KEYS_MAX {
            return None;
        }
        // A frame of the kind (no IGMP, no tag), sent with the counter one before each key.
        let mut frame = [0u8; 14 + 20];
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        frame[14 + 9] = L34_TCP;
        let routes = (0..keys as u32)
            .map(|key| match self.select(&frame, &mut key.wrapping_sub(1)) {
                TxChoice::One(slave) => Some(slave),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(RrRoutes { random: false, routes })
    }

    /// Where `frame` goes as one route: its slave, where its bytes are counted and the source
    /// address it gets (balance-tlb/alb's table; without `rewrite`, only a frame that leaves
    /// unchanged has one); `None` where it goes to no single slave.
    fn route_of(&self, frame: &[u8], rewrite: bool) -> Option<(SlaveId, Account, Option<MacAddr>)> {
        match &self.tlb {
            None => match self.select(frame, &mut 0) {
                TxChoice::One(slave) => Some((slave, Account::None, None)),
                _ => None,
            },
            Some(t) => match t.select(frame) {
                TlbTx::Send { slave, set_src, account } if rewrite || set_src.is_none() => {
                    Some((slave, account, set_src))
                }
                _ => None,
            },
        }
    }

    /// The decision for `frame` (a whole Ethernet frame the bond transmits), shared by every
    /// driver. balance-tlb/alb: writes the chosen slave's MAC as the frame's source when it is
    /// not the active slave, and counts the frame's bytes in `cursor.load`. Other modes:
    /// [`TxPlan::select`], advancing `cursor.counter`. Never panics, never allocates.
    /// Inlined into the drivers, so that it costs no more than the dispatch they wrote before.
    #[inline]
    pub fn decide(&self, frame: &mut [u8], cursor: &mut TxCursor) -> TxDecision {
        if let Some(table) = &self.tlb {
            return match table.select(frame) {
                TlbTx::Send { slave, set_src, account } => {
                    if let (Some(mac), Some(src)) = (set_src, frame.get_mut(6..12)) {
                        src.copy_from_slice(&mac.0);
                    }
                    cursor.load.add(account, frame.len());
                    TxDecision::Send(slave)
                }
                TlbTx::Arp => TxDecision::ControlPlane,
                TlbTx::Drop => TxDecision::Drop,
            };
        }
        match self.select(frame, &mut cursor.counter) {
            TxChoice::One(slave) => TxDecision::Send(slave),
            TxChoice::All => TxDecision::Broadcast,
            TxChoice::ControlPlane => TxDecision::ControlPlane,
            TxChoice::Drop => TxDecision::Drop,
        }
    }
}

/// What the data path does with a frame received on a slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxVerdict {
    /// A control frame the bond consumed (LACPDU, Marker).
    Consumed,
    /// Deliver it up the bond device.
    Deliver,
    /// Drop it (an inactive slave's frame: Linux's `RX_HANDLER_EXACT`).
    Drop,
}

/// Which slaves' frames are delivered up (Linux `bond_should_deliver_exact_match` and the
/// inactive-slave rule).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RxPlan {
    /// Frames from these slaves are delivered.
    pub deliver: Vec<SlaveId>,
    /// balance-alb: these (inactive) slaves deliver unicast frames only, their own clients'
    /// traffic ([`super::alb::rx_deliver`]).
    pub unicast_only: Vec<SlaveId>,
    /// The bond's address.
    pub bond_mac: MacAddr,
    /// The slaves' own addresses that are not the bond's (balance-tlb/alb, `fail_over_mac`):
    /// a delivered frame sent to one of them is the bond's ([`RxPlan::to_bond`]).
    pub slave_macs: Vec<MacAddr>,
    /// Broadcast with `tcp_dup_discard`: another member's copy of a TCP segment is discarded
    /// ([`RxPlan::discards_copy`]).
    pub copies: bool,
}

impl RxPlan {
    /// Makes a delivered frame the bond's own: a frame sent to one of the slaves' addresses
    /// (balance-alb gives each client a slave's address) gets the bond's address as its
    /// destination. The kernel takes such a frame as the bond's (`PACKET_HOST`: the slave
    /// accepted it), but a bond device of its own address would drop it as another host's.
    pub fn to_bond(&self, frame: &mut [u8]) {
        if let Some(dst) = frame.get_mut(0..6) {
            if self.slave_macs.iter().any(|m| m.0 == *dst) {
                dst.copy_from_slice(&self.bond_mac.0);
            }
        }
    }

    /// Whether delivered frames may need [`RxPlan::to_bond`]: the slaves have addresses of
    /// their own. A data path that cannot rewrite a frame hands one sent to the receiving
    /// slave's own address to the bond's device as the slave received it, the kernel's
    /// classification of its destination kept (`PACKET_HOST`, as the Linux driver hands its
    /// frames to the bond), and leaves those sent to the other slaves' addresses to a path
    /// that rewrites them. Not where the bond's device is a bridge port: the bridge would
    /// forward a frame sent to a slave's address instead of taking it.
    pub fn rewrites(&self) -> bool {
        !self.slave_macs.is_empty()
    }

    /// Whether `frame`, which the plan delivers, is another member's copy of a TCP segment
    /// delivered lately, to discard ([`super::copies`]): only when [`RxPlan::copies`] is on.
    /// `copies` is the bond's table, `bond` and `member` the numbers it knows the bond and the
    /// receiving slave by (the daemon's interface indexes, the same as the fast path's).
    pub fn discards_copy(
        &self,
        copies: &mut RxCopies,
        bond: u32,
        member: u32,
        frame: &[u8],
        now: Instant,
    ) -> bool {
        self.copies && CopyKey::of(bond, frame).is_some_and(|k| copies.is_copy(&k, member, now))
    }

    /// The verdict for a data frame (a whole Ethernet frame) received on `slave`.
    pub fn verdict(&self, slave: SlaveId, frame: &[u8]) -> RxVerdict {
        let unicast = frame.first().is_some_and(|b| b & 1 == 0);
        if self.deliver.contains(&slave) || (unicast && self.unicast_only.contains(&slave)) {
            RxVerdict::Deliver
        } else {
            RxVerdict::Drop
        }
    }

    /// The plan for `slave`'s data frames as a match on the destination's I/G bit alone, for a
    /// data path that hands them to the bond with the kernel's own classifier (tc's `u32` and
    /// `mirred`, no program of its own), or all of them but broadcast's copies
    /// ([`RxRedirect::AllOnce`]). [`RxRedirect::takes`] agrees with [`RxPlan::verdict`] on
    /// every frame. Where the plan [`RxPlan::rewrites`] destinations, such a data path must
    /// hand the frames over as received, which it cannot rewrite.
    pub fn redirect(&self, slave: SlaveId) -> RxRedirect {
        if self.copies && self.deliver.contains(&slave) {
            RxRedirect::AllOnce
        } else if self.deliver.contains(&slave) {
            RxRedirect::All
        } else if self.unicast_only.contains(&slave) {
            RxRedirect::Unicast
        } else {
            RxRedirect::Nothing
        }
    }
}

/// Which of a slave's data frames go up to the bond, as a match on the destination's I/G bit
/// ([`RxPlan::redirect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxRedirect {
    /// None: the slave's frames are dropped.
    Nothing,
    /// Every one.
    All,
    /// Those sent to one station (the I/G bit of the destination clear).
    Unicast,
    /// Every one but another member's copy of a TCP segment delivered lately (broadcast with
    /// `tcp_dup_discard`): the data path keeps a table of the segments, which decides as
    /// [`RxPlan::discards_copy`] does ([`super::copies`]).
    AllOnce,
}

impl RxRedirect {
    /// Whether `frame` goes up ([`RxRedirect::AllOnce`]: unless it is a copy, which the
    /// table of copies tells).
    pub fn takes(self, frame: &[u8]) -> bool {
        match self {
            RxRedirect::Nothing => false,
            RxRedirect::All | RxRedirect::AllOnce => true,
            RxRedirect::Unicast => frame.first().is_some_and(|b| b & 1 == 0),
        }
    }
}

/// Whether the data path handles `frame` (received on a slave) by the receive plan: all but
/// the frames it leaves to the control plane, untagged Slow Protocols and micro-BFD (UDP port
/// 6784, IPv4 without a fragment offset, or IPv6 right after the fixed header). Every data
/// path makes this choice: the fast path's `ubond_slave_ingress`, the data threads, and the
/// kernel's classifier ([`RxPlan::redirect`]).
pub fn is_data_frame(frame: &[u8]) -> bool {
    let be16 = |at: usize| frame.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (proto, l4) = match be16(12) {
        Some(0x8809) => return false,
        Some(0x0800) => match frame.get(14..34) {
            Some(ip) if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0 => {
                (ip[9], 14 + usize::from(ip[0] & 0x0f) * 4)
            }
            _ => return true,
        },
        Some(0x86dd) => match frame.get(20) {
            Some(&nh) => (nh, 14 + 40),
            None => return true,
        },
        _ => return true,
    };
    !(proto == 17 && be16(l4 + 2) == Some(6784))
}

/// An IPv4 IGMP frame (protocol 2), untagged or with one VLAN tag.
fn is_igmp(frame: &[u8]) -> bool {
    let off = match frame.get(12..14) {
        Some([0x81, 0x00]) => 18,
        _ => 14,
    };
    frame.get(off - 2..off) == Some(&[0x08, 0x00][..]) && frame.get(off + 9) == Some(&2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ubond_wire::ethernet::ETHERTYPE_IPV6;

    #[test]
    fn frames_for_a_slaves_address_become_the_bonds() {
        let bond = MacAddr([2, 0, 0, 0, 0, 1]);
        let slave = MacAddr([2, 0, 0, 0, 0, 2]);
        let plan = RxPlan { bond_mac: bond, slave_macs: vec![slave], ..RxPlan::default() };
        let frame = |dst: MacAddr| {
            let mut f = vec![0u8; 60];
            f[..6].copy_from_slice(&dst.0);
            f
        };
        let mut f = frame(slave);
        plan.to_bond(&mut f);
        assert_eq!(&f[..6], &bond.0, "a slave's address becomes the bond's");
        for other in [MacAddr([2, 0, 0, 0, 0, 3]), MacAddr::BROADCAST, bond] {
            let mut f = frame(other);
            plan.to_bond(&mut f);
            assert_eq!(&f[..6], &other.0, "{other} is left as it is");
        }
        plan.to_bond(&mut [0u8; 3]);
    }

    #[test]
    fn slow_protocols_and_micro_bfd_are_the_control_planes() {
        let mut v4 = vec![0u8; 14 + 20 + 8];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[14] = 0x45;
        v4[14 + 9] = 17;
        v4[34 + 2..34 + 4].copy_from_slice(&6784u16.to_be_bytes());
        assert!(!is_data_frame(&v4), "micro-BFD over IPv4");
        let mut other = v4.clone();
        other[34 + 2..34 + 4].copy_from_slice(&3784u16.to_be_bytes());
        assert!(is_data_frame(&other), "single-hop BFD is data");
        let mut frag = v4.clone();
        frag[14 + 7] = 1;
        assert!(is_data_frame(&frag), "a later fragment has no ports");
        let mut v6 = vec![0u8; 14 + 40 + 8];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[20] = 17;
        v6[54 + 2..54 + 4].copy_from_slice(&6784u16.to_be_bytes());
        assert!(!is_data_frame(&v6), "micro-BFD over IPv6");
        let mut tagged = vec![0u8; 4];
        tagged.splice(0..0, v4[..12].iter().copied());
        tagged[12..16].copy_from_slice(&[0x81, 0x00, 0, 5]);
        tagged.extend_from_slice(&v4[12..]);
        assert!(is_data_frame(&tagged), "only untagged ones are the control plane's");
        let mut slow = vec![0u8; 60];
        slow[12..14].copy_from_slice(&[0x88, 0x09]);
        assert!(!is_data_frame(&slow));
        let mut arp = vec![0u8; 60];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(is_data_frame(&arp), "ARP is read, and delivered by the data path");
        assert!(is_data_frame(&[0u8; 5]));
    }

    #[test]
    fn the_redirect_agrees_with_the_verdict() {
        let (a, b, c) = (SlaveId(1), SlaveId(2), SlaveId(3));
        let base = RxPlan { deliver: vec![a], unicast_only: vec![b], ..RxPlan::default() };
        assert_eq!(base.redirect(a), RxRedirect::All);
        assert_eq!(base.redirect(b), RxRedirect::Unicast);
        assert_eq!(base.redirect(c), RxRedirect::Nothing);
        let copies = RxPlan { copies: true, ..base.clone() };
        assert_eq!(copies.redirect(a), RxRedirect::AllOnce, "broadcast's copies are discarded");
        assert_eq!(copies.redirect(c), RxRedirect::Nothing);
        let mut frame = [0u8; 60];
        for dst0 in 0..=255u8 {
            frame[0] = dst0;
            for (plan, s) in [a, b, c].map(|s| (&base, s)).into_iter().chain([(&copies, a)]) {
                let takes = plan.redirect(s).takes(&frame);
                assert_eq!(takes, plan.verdict(s, &frame) == RxVerdict::Deliver, "{s:?} {dst0}");
            }
        }
        assert!(!base.rewrites());
        let rewrites = RxPlan { slave_macs: vec![MacAddr([2, 0, 0, 0, 0, 2])], ..base.clone() };
        assert!(rewrites.rewrites(), "balance-tlb/alb: handed over as received");
        assert_eq!(rewrites.redirect(a), base.redirect(a));
    }

    #[test]
    fn the_transmit_redirect_is_the_choice_for_every_frame_or_declines() {
        let mut igmp = [0u8; 60];
        igmp[12..14].copy_from_slice(&[0x08, 0x00]);
        igmp[14 + 9] = 2;
        let frames: Vec<Vec<u8>> = (0..64u8)
            .map(|i| {
                let mut f = vec![i; 60];
                f[12..14].copy_from_slice(&[0x08, 0x00]);
                f[14] = 0x45;
                f
            })
            .chain([igmp.to_vec()])
            .collect();
        let mut some = 0;
        for &mode in Mode::ALL {
            for n in 0..=3 {
                for igmp_slave in [None, Some(SlaveId(1)), Some(SlaveId(3))] {
                    let p = TxPlan { igmp_slave, ..plan(mode, n) };
                    let Some(to) = p.redirect() else { continue };
                    some += 1;
                    for f in &frames {
                        let want = match &to[..] {
                            [one] if mode != Mode::Broadcast => TxChoice::One(*one),
                            all if mode == Mode::Broadcast && all == p.slaves => TxChoice::All,
                            other => panic!("{mode:?}: {other:?}"),
                        };
                        for counter in [0, 1, 7] {
                            assert_eq!(p.select(f, &mut { counter }), want, "{mode:?} n={n}");
                        }
                    }
                }
            }
        }
        assert!(some > 10, "the redirect applies somewhere: {some}");
        let hashed = plan(Mode::BalanceXor, 2);
        assert_eq!(hashed.redirect(), None, "a hash over two slaves depends on the frame");
        assert_eq!(plan(Mode::ActiveBackup, 0).redirect(), None, "no slave: dropped");
        let rr = TxPlan { igmp_slave: Some(SlaveId(2)), ..plan(Mode::BalanceRr, 1) };
        assert_eq!(rr.redirect(), None, "balance-rr's IGMP reports leave by another slave");
    }

    #[test]
    fn ipv4_routes_are_the_decision_for_every_frame_they_cover() {
        use crate::bond::tlb::{TlbLoad, TLB_HASH_TABLE_SIZE};
        let bond = MacAddr([0x02, 0xb0, 0, 0, 0, 0x5a]);
        let (a, b) = (SlaveId(1), SlaveId(2));
        let mut buckets = [Some(a); TLB_HASH_TABLE_SIZE];
        buckets.iter_mut().step_by(3).for_each(|s| *s = Some(b));
        let tlb = |dynamic, active| TxPlan {
            tlb: Some(TlbTable {
                mode: AlbMode::Tlb,
                dynamic,
                policy: XmitHashPolicy::Layer2,
                buckets,
                active,
                usable: vec![a, b],
                macs: vec![(a, MacAddr([2, 0, 0, 0, 0, 1])), (b, MacAddr([2, 0, 0, 0, 0, 2]))],
            }),
            ..plan(Mode::BalanceTlb, 2)
        };
        let plans = [
            ("balance-xor", plan(Mode::BalanceXor, 2), 256),
            ("802.3ad, 3 ports", plan(Mode::Ieee8023ad, 3), 256),
            ("balance-tlb, before its table", plan(Mode::BalanceTlb, 2), 256),
            // IPv4's bucket is the last octets' XOR: the active slave's 170 buckets, or b's 86.
            ("balance-tlb", tlb(true, Some(a)), 170),
            ("balance-tlb, b active", tlb(true, Some(b)), 86),
            ("tlb_dynamic_lb=0", tlb(false, Some(a)), 128),
        ];
        let mut x = 0x2545_f491_u32;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for (name, p, n, rewrite) in plans.iter().flat_map(|(name, p, n)| {
            // With the rewrite, balance-tlb routes every bucket.
            let all = if p.tlb.is_some() { 256 } else { *n };
            [(name, p, *n, false), (name, p, all, true)]
        }) {
            let routes = p.redirect_ipv4(bond, rewrite).unwrap();
            assert_eq!(routes.src_last, 0x5a, "{name}");
            assert_eq!(routes.routes.len(), n, "{name}: routes (rewrite {rewrite})");
            let (mut covered, mut frames) = (0, 0);
            while covered < 3000 {
                frames += 1;
                // Any IPv4 frame to a unicast address from a source ending as the bond's.
                let len = 14 + rnd() as usize % 120;
                let mut f: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
                f[0] &= !1;
                f[11] = 0x5a;
                f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                let Some(r) = routes.routes.iter().find(|r| r.dst_last == f[5]) else { continue };
                covered += 1;
                let (mut sent, mut cursor) = (f.clone(), TxCursor::default());
                assert_eq!(p.decide(&mut sent, &mut cursor), TxDecision::Send(r.slave), "{name}");
                let mut want = f.clone();
                if let Some(src) = r.set_src {
                    want[6..12].copy_from_slice(&src.0);
                }
                assert!(rewrite || r.set_src.is_none(), "{name}: no rewrite asked for");
                assert_eq!(sent, want, "{name}: sent as the route says");
                let mut load = TlbLoad::default();
                load.add(r.account, f.len());
                assert_eq!(cursor.load, load, "{name}: counted where the route says");
            }
            assert!(frames < 3000 * 256 / n + 3000, "{name}: the routes cover their share");
        }
        // balance-tlb's routes are its active slave's buckets.
        let routes = plans[3].1.redirect_ipv4(bond, false).unwrap();
        for r in &routes.routes {
            let bucket = r.dst_last ^ 0x5a;
            assert_eq!((r.slave, r.account, r.set_src), (a, Account::Bucket(bucket), None));
            assert_eq!(buckets[usize::from(bucket)], Some(a));
        }
        // With the rewrite, b's buckets too, with b's address.
        let routes = plans[3].1.redirect_ipv4(bond, true).unwrap();
        for r in &routes.routes {
            let bucket = r.dst_last ^ 0x5a;
            let slave = buckets[usize::from(bucket)].unwrap();
            let set_src = (slave == b).then_some(MacAddr([2, 0, 0, 0, 0, 2]));
            assert_eq!((r.slave, r.account, r.set_src), (slave, Account::Bucket(bucket), set_src));
        }
        let declined = [
            ("layer3+4", TxPlan { policy: XmitHashPolicy::Layer34, ..plan(Mode::BalanceXor, 2) }),
            ("balance-rr", plan(Mode::BalanceRr, 2)),
            ("active-backup (TxPlan::redirect)", plan(Mode::ActiveBackup, 2)),
            ("no slave", plan(Mode::BalanceXor, 0)),
            ("no active slave", tlb(true, None)),
        ];
        for (name, p) in declined {
            assert_eq!(p.redirect_ipv4(bond, false), None, "{name}");
        }
        let mut alb = tlb(true, Some(a));
        alb.tlb.as_mut().unwrap().mode = AlbMode::Alb;
        assert_eq!(alb.redirect_ipv4(bond, true), None, "balance-alb's key is the destination IP");
    }

    /// The key of [`HashRoutes`] as its documentation defines it (what the kernel's
    /// classifier computes), for a frame of the kind of `policy` (`layer3+4` or `layer2+3`).
    fn hash_key(policy: XmitHashPolicy, f: &[u8], mask: u32) -> u32 {
        let le = |at: usize| u32::from_le_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]);
        let v6 = f[12..14] == ETHERTYPE_IPV6.to_be_bytes();
        // The addresses, each IPv6 one as the XOR of its four words.
        let addrs = if v6 { (0..8).fold(0, |h, w| h ^ le(22 + 4 * w)) } else { le(26) ^ le(30) };
        let mut h = match policy {
            XmitHashPolicy::Layer34 => le(if v6 { 54 } else { 34 }) ^ addrs,
            _ => u32::from(f[5] ^ f[11]) ^ u32::from(u16::from_be_bytes([f[12], f[13]])) ^ addrs,
        };
        h ^= h >> 16;
        h ^= h >> 8;
        match policy {
            XmitHashPolicy::Layer34 => (h >> 1) & mask,
            _ => h & mask,
        }
    }

    /// A random frame of the kind of `policy`'s [`HashRoutes`], IPv4 or IPv6.
    fn hashed_frame(policy: XmitHashPolicy, rnd: &mut impl FnMut() -> u32) -> Vec<u8> {
        let l34 = policy == XmitHashPolicy::Layer34;
        let v6 = rnd() % 3 == 0;
        let header = match (v6, l34) {
            (true, true) => 44,
            (true, false) => 40,
            (false, true) => 24,
            (false, false) => 20,
        };
        let len = 14 + header + rnd() as usize % 100;
        let mut f: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        f[0] &= !1;
        let proto = if rnd() & 1 == 0 { 6 } else { 17 };
        if v6 {
            f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
            // `layer2+3`: any next header but ICMPv6.
            f[20] = if l34 || f[20] == 58 { proto } else { f[20] };
        } else {
            f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
            if l34 {
                f[14] = 0x45;
                f[20] &= 0xc0;
                f[21] = 0;
                f[23] = proto;
            } else if f[23] == 1 {
                // `layer2+3`: any header (options, fragments) and protocol but ICMP.
                f[23] = proto;
            }
        }
        f
    }

    /// [`TxPlan::redirect_l34`] or [`TxPlan::redirect_l23`] (by `policy`): for random frames
    /// of the kind, [`TxPlan::decide`] sends each by the route of its key, as the route says.
    fn hash_routes_are_the_decision(policy: XmitHashPolicy) {
        use crate::bond::tlb::{TlbLoad, TLB_HASH_TABLE_SIZE};
        let routes_of = |p: &TxPlan, rewrite| match policy {
            XmitHashPolicy::Layer34 => p.redirect_l34(rewrite),
            _ => p.redirect_l23(rewrite),
        };
        let (a, b) = (SlaveId(1), SlaveId(2));
        let mut buckets = [Some(a); TLB_HASH_TABLE_SIZE];
        buckets.iter_mut().step_by(3).for_each(|s| *s = Some(b));
        let with = |p: TxPlan| TxPlan { policy, ..p };
        let tlb = |dynamic| TxPlan {
            tlb: Some(TlbTable {
                mode: AlbMode::Tlb,
                dynamic,
                policy,
                buckets,
                active: Some(a),
                usable: vec![a, b],
                macs: vec![(a, MacAddr([2, 0, 0, 0, 0, 1])), (b, MacAddr([2, 0, 0, 0, 0, 2]))],
            }),
            ..plan(Mode::BalanceTlb, 2)
        };
        let plans = [
            ("balance-xor", with(plan(Mode::BalanceXor, 2)), 1),
            ("802.3ad, 4 ports", with(plan(Mode::Ieee8023ad, 4)), 3),
            ("802.3ad, 1 port", with(plan(Mode::Ieee8023ad, 1)), 0),
            ("balance-tlb", tlb(true), 0xff),
            ("tlb_dynamic_lb=0", tlb(false), 1),
        ];
        let mut x = 0x9e37_79b9_u32;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for (name, p, mask) in &plans {
            let routes = routes_of(p, true).unwrap();
            assert_eq!(routes.mask, *mask, "{name}");
            assert_eq!(routes.routes.len() as u32, mask + 1, "{name}: a route per key");
            for _ in 0..3000 {
                let f = hashed_frame(policy, &mut rnd);
                let r = routes.routes[hash_key(policy, &f, *mask) as usize];
                let (mut sent, mut cursor) = (f.clone(), TxCursor::default());
                assert_eq!(p.decide(&mut sent, &mut cursor), TxDecision::Send(r.slave), "{name}");
                let mut want = f.clone();
                if let Some(src) = r.set_src {
                    want[6..12].copy_from_slice(&src.0);
                }
                assert_eq!(sent, want, "{name}: sent as the route says");
                let mut load = TlbLoad::default();
                load.add(r.account, f.len());
                assert_eq!(cursor.load, load, "{name}: counted where the route says");
            }
        }
        assert_eq!(routes_of(&tlb(true), false), None, "b's buckets need the rewrite");
        let other = match policy {
            XmitHashPolicy::Layer34 => XmitHashPolicy::Layer23,
            _ => XmitHashPolicy::Layer34,
        };
        let declined = [
            ("layer2", plan(Mode::BalanceXor, 2)),
            ("the other policy", TxPlan { policy: other, ..plan(Mode::BalanceXor, 2) }),
            ("3 slaves", with(plan(Mode::BalanceXor, 3))),
            ("no slave", with(plan(Mode::BalanceXor, 0))),
            ("balance-rr", with(plan(Mode::BalanceRr, 2))),
            ("active-backup", with(plan(Mode::ActiveBackup, 2))),
        ];
        for (name, p) in declined {
            assert_eq!(routes_of(&p, true), None, "{name}");
        }
    }

    #[test]
    fn l34_routes_are_the_decision_for_every_frame_of_their_kind() {
        hash_routes_are_the_decision(XmitHashPolicy::Layer34);
    }

    #[test]
    fn l23_routes_are_the_decision_for_every_frame_of_their_kind() {
        hash_routes_are_the_decision(XmitHashPolicy::Layer23);
    }

    #[test]
    fn alb_routes_are_the_decision_for_every_frame_of_their_kind() {
        use crate::bond::tlb::{TlbLoad, TLB_HASH_TABLE_SIZE};
        let (a, b) = (SlaveId(1), SlaveId(2));
        let mut buckets = [Some(a); TLB_HASH_TABLE_SIZE];
        buckets.iter_mut().step_by(3).for_each(|s| *s = Some(b));
        let mut table = TlbTable {
            mode: AlbMode::Alb,
            dynamic: true,
            policy: XmitHashPolicy::Layer34,
            buckets,
            active: Some(a),
            usable: vec![a, b],
            macs: vec![(a, MacAddr([2, 0, 0, 0, 0, 1])), (b, MacAddr([2, 0, 0, 0, 0, 2]))],
        };
        let p = TxPlan { tlb: Some(table.clone()), ..plan(Mode::BalanceAlb, 2) };
        let routes = p.redirect_alb().unwrap();
        assert_eq!((routes.mask, routes.routes.len()), (0xff, 256));
        let mut x = 0x1234_5679_u32;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..3000 {
            // A frame of the kind: any IPv4 header (version, length, protocol but IGMP) and
            // addresses but the limited broadcast, from 20 octets of IP header on; or IPv6,
            // TCP or UDP, from 40 octets on, any addresses (the source one not `::`).
            let v6 = rnd() % 3 == 0;
            let len = 14 + if v6 { 40 } else { 20 } + rnd() as usize % 100;
            let mut f: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            f[0] &= !1;
            let daddr = if v6 {
                f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                f[20] = if rnd() & 1 == 0 { 6 } else { 17 };
                f[22] |= 1;
                38..54
            } else {
                f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                if f[23] == 2 || f[30..34] == [0xff; 4] {
                    continue;
                }
                30..34
            };
            let key = u32::from(f[daddr].iter().fold(0, |h, b| h ^ b));
            let r = routes.routes[key as usize];
            let (mut sent, mut cursor) = (f.clone(), TxCursor::default());
            assert_eq!(p.decide(&mut sent, &mut cursor), TxDecision::Send(r.slave));
            let mut want = f.clone();
            if let Some(src) = r.set_src {
                want[6..12].copy_from_slice(&src.0);
            }
            assert_eq!(sent, want, "sent as the route says");
            let mut load = TlbLoad::default();
            load.add(r.account, f.len());
            assert_eq!(cursor.load, load, "counted where the route says");
        }
        assert!(routes.routes.iter().any(|r| r.set_src.is_some()), "b's buckets are rewritten");
        table.mode = AlbMode::Tlb;
        let tlb = TxPlan { tlb: Some(table), ..plan(Mode::BalanceTlb, 2) };
        assert_eq!(tlb.redirect_alb(), None, "balance-tlb's key is the hash");
        assert_eq!(plan(Mode::BalanceXor, 2).redirect_alb(), None);
    }

    fn plan(mode: Mode, n: u32) -> TxPlan {
        TxPlan { slaves: (1..=n).map(SlaveId).collect(), ..TxPlan::empty(mode) }
    }

    #[test]
    fn round_robin_and_packets_per_slave() {
        let mut c = 0;
        let p = plan(Mode::BalanceRr, 3);
        let got: Vec<_> = (0..6).map(|_| p.select(&[0; 60], &mut c)).collect();
        let want: Vec<_> = [2, 3, 1, 2, 3, 1].iter().map(|&i| TxChoice::One(SlaveId(i))).collect();
        assert_eq!(got, want);
        let p = TxPlan { packets_per_slave: 2, ..plan(Mode::BalanceRr, 2) };
        let mut c = 0;
        let got: Vec<_> = (0..6).map(|_| p.select(&[0; 60], &mut c)).collect();
        let ids: Vec<u32> =
            got.iter().map(|c| if let TxChoice::One(s) = c { s.0 } else { 0 }).collect();
        assert_eq!(ids, [1, 2, 2, 1, 1, 2]);
        let p = TxPlan { packets_per_slave: 0, ..plan(Mode::BalanceRr, 4) };
        let mut c = 7;
        let mut seen = [0; 5];
        for _ in 0..400 {
            if let TxChoice::One(s) = p.select(&[0; 60], &mut c) {
                seen[s.0 as usize] += 1;
            }
        }
        assert!(seen[1..].iter().all(|&n| n > 50), "random choice uses every slave: {seen:?}");
    }

    /// balance-rr's routes by a counter (`redirect_rr`) send the frames of their kind as
    /// `select` does, from any point of the counter, for every number of slaves and
    /// `packets_per_slave`; IGMP and tagged frames are not of the kind (IGMP leaves by its
    /// own slave); plans that are not balance-rr, or need too many routes, have none.
    #[test]
    fn round_robin_routes_follow_the_counter() {
        let mut x = 0x9e37_79b9_u32;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for n in 1..=4 {
            for per in 1..=5 {
                let p = TxPlan {
                    packets_per_slave: per,
                    igmp_slave: Some(SlaveId(n)),
                    ..plan(Mode::BalanceRr, n)
                };
                let r = p.redirect_rr().unwrap();
                assert!(!r.random);
                assert_eq!(r.routes.len(), (n * per) as usize);
                for start in [0, 1, rnd(), u32::MAX - 3] {
                    let mut c = start;
                    for i in 0..3 * r.routes.len() as u32 {
                        // Any untagged frame that is not IGMP.
                        let mut f = [0u8; 60];
                        f.iter_mut().for_each(|b| *b = rnd() as u8);
                        if f[12..14] == [0x81, 0x00] || f[12..14] == [0x88, 0xa8] {
                            f[12] = 0x08;
                        }
                        if f[12..14] == [0x08, 0x00] && f[23] == 2 {
                            f[23] = 6;
                        }
                        let key = start.wrapping_add(i).wrapping_add(1) as usize % r.routes.len();
                        let want = TxChoice::One(r.routes[key]);
                        assert_eq!(p.select(&f, &mut c), want, "n={n} per={per} start={start}");
                    }
                }
            }
        }
        let random = TxPlan { packets_per_slave: 0, ..plan(Mode::BalanceRr, 3) };
        let r = random.redirect_rr().unwrap();
        assert!(r.random && r.routes == random.slaves, "a route per slave, picked at random");
        let big = TxPlan { packets_per_slave: 65, ..plan(Mode::BalanceRr, 4) };
        assert_eq!(big.redirect_rr(), None, "{} keys", 4 * 65);
        assert!(TxPlan { packets_per_slave: 64, ..big }.redirect_rr().is_some());
        assert_eq!(plan(Mode::BalanceRr, 0).redirect_rr(), None, "no slave");
        for &mode in Mode::ALL.iter().filter(|&&m| m != Mode::BalanceRr) {
            assert_eq!(plan(mode, 2).redirect_rr(), None, "{mode:?}");
        }
        // Not of the kind: IGMP (by its own slave), untagged or tagged.
        let p = TxPlan { igmp_slave: Some(SlaveId(2)), ..plan(Mode::BalanceRr, 2) };
        let mut igmp = [0u8; 64];
        igmp[12..14].copy_from_slice(&[0x08, 0x00]);
        igmp[23] = 2;
        let mut tagged = [0u8; 64];
        tagged[12..18].copy_from_slice(&[0x81, 0x00, 0, 7, 0x08, 0x00]);
        tagged[27] = 2;
        for f in [&igmp, &tagged] {
            for c in 0..4 {
                assert_eq!(p.select(f, &mut { c }), TxChoice::One(SlaveId(2)));
            }
        }
    }

    #[test]
    fn igmp_goes_to_the_igmp_slave_in_round_robin() {
        let p = TxPlan { igmp_slave: Some(SlaveId(2)), ..plan(Mode::BalanceRr, 3) };
        let mut frame = [0u8; 60];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frame[14 + 9] = 2;
        let mut c = 0;
        for _ in 0..4 {
            assert_eq!(p.select(&frame, &mut c), TxChoice::One(SlaveId(2)));
        }
    }

    #[test]
    fn active_backup_broadcast_and_empty() {
        let mut c = 0;
        assert_eq!(plan(Mode::ActiveBackup, 1).select(&[], &mut c), TxChoice::One(SlaveId(1)));
        assert_eq!(plan(Mode::Broadcast, 3).select(&[], &mut c), TxChoice::All);
        assert_eq!(plan(Mode::BalanceXor, 0).select(&[], &mut c), TxChoice::Drop);
    }
}
