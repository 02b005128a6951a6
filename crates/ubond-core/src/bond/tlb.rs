//! balance-tlb's transmit side, split the sans-IO way: a read-only [`TlbTable`] the data path
//! consults per frame ([`tlb_select`]), per-bucket byte counters the data path fills
//! ([`TlbLoad`]), and the control plane's bucket bookkeeping (`Tlb`, driven by
//! [`super::alb::Alb`]). balance-alb uses the same table with a different key; its receive
//! side (RLB) is in [`super::alb`].
//!
//! # What Linux does (`drivers/net/bonding/bond_alb.c`)
//!
//! `bond_xmit_tlb_slave_get`: frames to a multicast or broadcast MAC, non-IP frames and IPv6
//! neighbour solicitations/advertisements (`alb_determine_nd`) are not balanced and leave by the
//! current active slave. IPv4/IPv6 frames are hashed with `bond_xmit_hash` (the
//! `xmit_hash_policy`); with `tlb_dynamic_lb=1` the low 8 bits index a 256-entry table
//! (`tlb_choose_channel`): an unassigned entry is given to the least-loaded slave
//! (`tlb_get_least_loaded_slave`: the slave that can transmit with the largest
//! `(speed << 20) - (load << 3)`, first in enslave order on ties, computed in the kernel's
//! `u32` arithmetic), whose `load` grows by the entry's `load_history`, and every frame adds its
//! length to the entry's `tx_bytes`. Every 10 s (`BOND_TLB_REBALANCE_INTERVAL`) every entry is
//! released and its `load_history` becomes `1 + tx_bytes / 10` (bytes per second);
//! the slaves' loads restart from 0, except the active slave's, which starts from the bytes that
//! were not balanced (`unbalanced_load / 10`). With `tlb_dynamic_lb=0` the slave is
//! `usable[hash % count]`, as balance-xor. A frame that leaves by a slave other than the active
//! one gets that slave's own MAC as its source address (`bond_do_alb_xmit`).
//!
//! # How ubond splits it, and where it departs from the kernel
//!
//! The kernel assigns a new entry inside the transmit path under `mode_lock`. Here the data
//! path takes no lock and writes nothing shared but byte counters:
//!
//! * the control plane publishes a [`TlbTable`]: for every bucket the slave it is **assigned**
//!   to, or, for a bucket not assigned yet, the slave it **will be assigned to** if it is used
//!   before the next control-plane step. That provisional choice is the kernel's least-loaded
//!   rule applied by walking the 256 buckets in index order, each unassigned bucket adding its
//!   `load_history` to the slave it lands on (assigned buckets add theirs where they are);
//! * the data path picks a slave with [`tlb_select`] (pure) and adds the frame's length to its
//!   own [`TlbLoad`] (one per forwarding thread, no sharing needed);
//! * at each control-plane tick (100 ms, the kernel's `ALB_TIMER_TICKS_PER_SEC`) the driver
//!   hands the counters back ([`super::alb::Alb::handle_load`]): every unassigned bucket that
//!   carried bytes is assigned to the slave the published table gave it (so a flow never moves
//!   because of the assignment), the slave's load grows by the bucket's `load_history`, and the
//!   bytes go to the bucket's `tx_bytes`.
//!
//! The departure: the kernel assigns buckets in the order their first frames arrive and to the
//! slave least loaded *at that instant*; ubond assigns them in bucket order, as if every
//! bucket had been used once in that order. Loads, gaps, the 10 s clear, the `load_history`
//! formula and the tie-break are the kernel's. A frame whose bucket points at a slave that
//! just lost its link is sent there until the driver reloads the table (the kernel drops it
//! and releases the slave's buckets, `bond_do_alb_xmit`); ubond releases them as soon as the
//! link change reaches the control plane.

use core::time::Duration;

use ubond_wire::ethernet::{ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN};
use ubond_wire::MacAddr;

use crate::hash::{self, XmitHashPolicy};

use super::SlaveId;

/// Entries in the transmit hash table (`TLB_HASH_TABLE_SIZE`): the key is one byte.
pub const TLB_HASH_TABLE_SIZE: usize = 256;
/// The ALB/TLB monitor's period (`HZ / ALB_TIMER_TICKS_PER_SEC`).
pub const ALB_TICK: Duration = Duration::from_millis(100);
/// Ticks per second (`ALB_TIMER_TICKS_PER_SEC`).
pub const ALB_TIMER_TICKS_PER_SEC: u32 = 10;
/// Seconds between two clears of the transmit table (`BOND_TLB_REBALANCE_INTERVAL`); also the
/// divisor of `load_history`.
pub const BOND_TLB_REBALANCE_INTERVAL: u32 = 10;
/// Ticks between two clears (`BOND_TLB_REBALANCE_TICKS`).
pub const BOND_TLB_REBALANCE_TICKS: u32 = BOND_TLB_REBALANCE_INTERVAL * ALB_TIMER_TICKS_PER_SEC;
/// The EtherType of learning packets (`ETH_P_LOOPBACK`).
pub const ETH_P_LOOPBACK: u16 = 0x9000;
/// Length of an untagged learning packet (`ETH_ZLEN`, no FCS).
pub const LEARNING_PACKET_LEN: usize = 60;

/// Which of the two modes a table serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbMode {
    /// balance-tlb (mode 5): transmit balancing only.
    Tlb,
    /// balance-alb (mode 6): transmit balancing keyed by the destination IP, plus receive
    /// balancing through ARP (RLB).
    Alb,
}

/// The data path's view of balance-tlb/balance-alb transmit balancing: a plain value the
/// control plane republishes ([`super::alb::AlbEvent::TableChanged`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlbTable {
    /// balance-tlb or balance-alb.
    pub mode: AlbMode,
    /// `tlb_dynamic_lb` (always on in balance-alb).
    pub dynamic: bool,
    /// `xmit_hash_policy`: the bucket key of balance-tlb, and the hash of `tlb_dynamic_lb=0`.
    pub policy: XmitHashPolicy,
    /// For each bucket, the slave it is assigned to, or provisionally will be (see the module
    /// docs). `None` only when no slave can transmit.
    pub buckets: [Option<SlaveId>; TLB_HASH_TABLE_SIZE],
    /// The current active slave if it can transmit: unbalanced frames leave by it. `None`
    /// drops them.
    pub active: Option<SlaveId>,
    /// Slaves that can transmit, in enslave order (`usable_slaves`, for `tlb_dynamic_lb=0`).
    pub usable: Vec<SlaveId>,
    /// Each slave's own MAC address, written as the source of frames it sends for the bond
    /// when it is not the active slave.
    pub macs: Vec<(SlaveId, MacAddr)>,
}

impl TlbTable {
    /// A table that drops everything.
    pub fn empty(mode: AlbMode) -> TlbTable {
        TlbTable {
            mode,
            dynamic: true,
            policy: XmitHashPolicy::Layer2,
            buckets: [None; TLB_HASH_TABLE_SIZE],
            active: None,
            usable: Vec::new(),
            macs: Vec::new(),
        }
    }

    /// [`tlb_select`] on this table.
    pub fn select(&self, frame: &[u8]) -> TlbTx {
        tlb_select(self, frame)
    }

    fn mac_of(&self, slave: SlaveId) -> Option<MacAddr> {
        self.macs.iter().find(|(s, _)| *s == slave).map(|(_, m)| *m)
    }

    fn send(&self, slave: SlaveId, account: Account) -> TlbTx {
        let set_src = if Some(slave) == self.active { None } else { self.mac_of(slave) };
        TlbTx::Send { slave, set_src, account }
    }

    /// `bond_do_alb_xmit` with no chosen slave: the active slave, counted as unbalanced.
    fn fallback(&self) -> TlbTx {
        match self.active {
            Some(a) => TlbTx::Send {
                slave: a,
                set_src: None,
                account: if self.dynamic { Account::Unbalanced } else { Account::None },
            },
            None => TlbTx::Drop,
        }
    }
}

/// Which byte counter a transmitted frame's length goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// None (`tlb_dynamic_lb=0`).
    None,
    /// This bucket's `tx_bytes`.
    Bucket(u8),
    /// The bond's `unbalanced_load` (frames sent on the active slave without balancing).
    Unbalanced,
}

/// The data path's decision for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlbTx {
    /// Send on `slave`, after writing `set_src` (if any) into the frame's source address
    /// (octets 6..12), and add the frame's length to `account` in the thread's [`TlbLoad`].
    Send {
        /// The slave.
        slave: SlaveId,
        /// The source address to write, when the slave is not the active one.
        set_src: Option<MacAddr>,
        /// Where the frame's bytes are counted.
        account: Account,
    },
    /// balance-alb: an ARP packet the bond sends. Hand it to the control plane
    /// ([`super::alb::Alb::handle_arp_tx`]), which may rewrite it and chooses the slave.
    Arp,
    /// No slave can send it (Linux counts a tx drop).
    Drop,
}

/// Per-bucket byte counters the data path fills between two control-plane steps and hands
/// back with [`super::alb::Alb::handle_load`]. Each forwarding thread can keep its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlbLoad {
    /// Bytes sent per bucket.
    pub buckets: [u64; TLB_HASH_TABLE_SIZE],
    /// Bytes sent unbalanced on the active slave.
    pub unbalanced: u64,
}

impl Default for TlbLoad {
    fn default() -> Self {
        TlbLoad { buckets: [0; TLB_HASH_TABLE_SIZE], unbalanced: 0 }
    }
}

impl TlbLoad {
    /// Counts `len` bytes where `account` says.
    pub fn add(&mut self, account: Account, len: usize) {
        let len = len as u64;
        match account {
            Account::None => {}
            Account::Bucket(b) => {
                let c = &mut self.buckets[usize::from(b)];
                *c = c.saturating_add(len);
            }
            Account::Unbalanced => self.unbalanced = self.unbalanced.saturating_add(len),
        }
    }

    /// Adds another thread's counters to these.
    pub fn merge(&mut self, other: &TlbLoad) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a = a.saturating_add(*b);
        }
        self.unbalanced = self.unbalanced.saturating_add(other.unbalanced);
    }

    /// Resets every counter to zero (after handing them back).
    pub fn clear(&mut self) {
        *self = TlbLoad::default();
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.unbalanced == 0 && self.buckets.iter().all(|&b| b == 0)
    }
}

/// `_simple_hash`: the XOR of the octets (balance-alb's key: the destination IP address).
pub fn simple_hash(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |h, b| h ^ b)
}

/// Where the network header starts and what it is, as the kernel sees a frame the bond
/// transmits: one in-line VLAN tag (802.1Q or 802.1ad) is treated as the hardware-accelerated
/// tag a VLAN device on the bond would have put in the `skb` metadata.
#[derive(Debug, Clone, Copy)]
pub(crate) struct L2 {
    pub ethertype: u16,
    pub l3: usize,
    pub tci: Option<u16>,
}

pub(crate) fn l2(frame: &[u8]) -> Option<L2> {
    let be16 = |at: usize| frame.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let outer = be16(12)?;
    if outer == ETHERTYPE_VLAN || outer == ubond_wire::ethernet::ETHERTYPE_QINQ {
        Some(L2 { ethertype: be16(16)?, l3: 18, tci: Some(be16(14)?) })
    } else {
        Some(L2 { ethertype: outer, l3: 14, tci: None })
    }
}

/// `alb_determine_nd`: true for an IPv6 NS/NA, and for an IPv6 packet too short to tell.
fn is_nd(frame: &[u8], l3: usize) -> bool {
    let Some(ip6) = frame.get(l3..) else { return true };
    if ip6.len() < 40 {
        return true;
    }
    if ip6[6] != 58 {
        return false;
    }
    match ip6.get(40..48) {
        Some(icmp) => icmp[0] == 135 || icmp[0] == 136,
        None => true,
    }
}

/// Longest prefix of a VLAN-tagged frame handed to the hash once the tag is lifted out.
const HASH_VIEW: usize = 512;

/// `bond_xmit_hash` on the frame as the kernel sees it (an in-line tag lifted into the
/// metadata; only the first [`HASH_VIEW`] octets are looked at in that case).
fn xmit_hash(policy: XmitHashPolicy, frame: &[u8], l2: L2) -> u32 {
    match l2.tci {
        None => hash::xmit_hash(policy, frame, None),
        Some(tci) => {
            let mut buf = [0u8; HASH_VIEW];
            let rest = frame.get(16..).unwrap_or(&[]);
            let n = rest.len().min(HASH_VIEW - 12);
            buf[..12].copy_from_slice(&frame[..12]);
            buf[12..12 + n].copy_from_slice(&rest[..n]);
            hash::xmit_hash(policy, &buf[..12 + n], Some(tci))
        }
    }
}

/// The slave for a frame the bond transmits (a whole Ethernet frame), in balance-tlb
/// (`bond_xmit_tlb_slave_get`) or balance-alb (`bond_xmit_alb_slave_get`), plus the rest of
/// `bond_do_alb_xmit`: the fallback to the active slave and the source-address rewrite.
/// Pure: no lock, no shared write. Never panics.
pub fn tlb_select(table: &TlbTable, frame: &[u8]) -> TlbTx {
    let Some(l2) = l2(frame) else { return table.fallback() };
    let dst = &frame[..6];
    let is_multicast = dst[0] & 1 == 1;
    let is_broadcast = dst.iter().all(|&b| b == 0xff);
    // The balanced key: the hash for tlb, the destination address for alb.
    let key: Option<u32> = match table.mode {
        AlbMode::Tlb => {
            let balanced = !is_multicast
                && match l2.ethertype {
                    ETHERTYPE_IPV4 => true,
                    ETHERTYPE_IPV6 => !is_nd(frame, l2.l3),
                    _ => false,
                };
            balanced.then(|| xmit_hash(table.policy, frame, l2))
        }
        AlbMode::Alb => match l2.ethertype {
            ETHERTYPE_IPV4 => {
                let ip = frame.get(l2.l3..l2.l3 + 20);
                match ip {
                    Some(ip) if !is_broadcast => {
                        let daddr = &ip[16..20];
                        // ip_bcast, IGMP
                        if daddr == [0xff; 4] || ip[9] == 2 {
                            None
                        } else {
                            Some(u32::from(simple_hash(daddr)))
                        }
                    }
                    _ => None,
                }
            }
            ETHERTYPE_IPV6 => {
                let all_nodes = dst == [0x33, 0x33, 0, 0, 0, 1];
                if is_broadcast || all_nodes || is_nd(frame, l2.l3) {
                    None
                } else {
                    match frame.get(l2.l3..l2.l3 + 40) {
                        // DAD probes (unspecified source) are not balanced.
                        Some(ip6) if ip6[8..24].iter().any(|&b| b != 0) => {
                            Some(u32::from(simple_hash(&ip6[24..40])))
                        }
                        _ => None,
                    }
                }
            }
            ETHERTYPE_ARP => return TlbTx::Arp,
            _ => None,
        },
    };
    let Some(key) = key else { return table.fallback() };
    if table.dynamic {
        let bucket = (key & 0xff) as u8;
        match table.buckets[usize::from(bucket)] {
            Some(slave) => table.send(slave, Account::Bucket(bucket)),
            None => table.fallback(),
        }
    } else {
        // tlb_dynamic_lb=0: usable[bond_xmit_hash % count] (also in alb, where it cannot be
        // set: the kernel hashes with the policy there too).
        let h = match table.mode {
            AlbMode::Tlb => key,
            AlbMode::Alb => xmit_hash(table.policy, frame, l2),
        };
        match hash::select(h, table.usable.len()) {
            Some(i) => table.send(table.usable[i], Account::None),
            None => table.fallback(),
        }
    }
}

/// A learning packet (`alb_send_lp_vid`): to and from `mac`, EtherType `ETH_P_LOOPBACK`
/// (0x9000), zero-padded to 60 octets; with `vlan = Some((tpid, tci))` the tag the kernel puts
/// in the metadata is written in line (64 octets). It teaches the switch that `mac` is behind
/// the port it leaves by.
pub fn learning_packet(mac: MacAddr, vlan: Option<(u16, u16)>) -> Vec<u8> {
    let mut f = Vec::with_capacity(LEARNING_PACKET_LEN + 4);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&mac.0);
    if let Some((tpid, tci)) = vlan {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ETH_P_LOOPBACK.to_be_bytes());
    f.resize(f.len() + LEARNING_PACKET_LEN - 14, 0);
    f
}

// ----- the control plane's table ---------------------------------------------------------

/// One entry of the kernel's `tx_hashtbl` (`struct tlb_client_info`), in its `u32`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlbBucket {
    /// `tx_slave`: the slave the bucket is assigned to.
    pub slave: Option<SlaveId>,
    /// `tx_bytes`: bytes sent since the last clear (wraps as the kernel's `u32`).
    pub tx_bytes: u32,
    /// `load_history`: `1 + tx_bytes / 10` at the last clear (bytes per second).
    pub load_history: u32,
}

/// A slave as the transmit balancer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TlbSlave {
    pub id: SlaveId,
    /// `slave->speed` in Mbit/s (0 when unknown).
    pub speed: u32,
    /// `bond_slave_can_tx`: link up (and, in these modes, always active).
    pub can_tx: bool,
    /// `SLAVE_TLB_INFO(slave).load`.
    pub load: u32,
    /// The load it started from at the last clear (the active slave's unbalanced share).
    pub base_load: u32,
}

/// `compute_gap`, with the kernel's types: `speed` and `load` are `u32` and shifted as such
/// (so `speed << 20` wraps for 4096 Mbit/s and more), then widened to `s64`.
pub fn compute_gap(speed_mbps: u32, load: u32) -> i64 {
    i64::from(speed_mbps.wrapping_shl(20)) - i64::from(load.wrapping_shl(3))
}

/// The control plane's transmit table (`tx_hashtbl` and the slaves' loads).
#[derive(Debug, Clone)]
pub(crate) struct Tlb {
    pub buckets: [TlbBucket; TLB_HASH_TABLE_SIZE],
    pub slaves: Vec<TlbSlave>,
    /// `unbalanced_load`.
    pub unbalanced: u32,
}

impl Tlb {
    pub fn new() -> Tlb {
        Tlb {
            buckets: [TlbBucket::default(); TLB_HASH_TABLE_SIZE],
            slaves: Vec::new(),
            unbalanced: 0,
        }
    }

    /// `tlb_get_least_loaded_slave` over `loads` (parallel to `self.slaves`).
    fn least_loaded_by(&self, loads: &[u32]) -> Option<usize> {
        let mut best: Option<(usize, i64)> = None;
        for (i, (s, &load)) in self.slaves.iter().zip(loads).enumerate() {
            if !s.can_tx {
                continue;
            }
            let gap = compute_gap(s.speed, load);
            if best.is_none_or(|(_, max)| max < gap) {
                best = Some((i, gap));
            }
        }
        best.map(|(i, _)| i)
    }

    fn index(&self, id: SlaveId) -> Option<usize> {
        self.slaves.iter().position(|s| s.id == id)
    }

    /// `tlb_clear_slave`: releases every bucket of `id`, saving its load when asked.
    pub fn clear_slave(&mut self, id: SlaveId, save_load: bool) {
        for b in self.buckets.iter_mut().filter(|b| b.slave == Some(id)) {
            if save_load {
                b.load_history = 1u32.wrapping_add(b.tx_bytes / BOND_TLB_REBALANCE_INTERVAL);
                b.tx_bytes = 0;
            }
            b.slave = None;
        }
        if let Some(i) = self.index(id) {
            self.slaves[i].load = 0;
            self.slaves[i].base_load = 0;
        }
    }

    /// The 10 s rebalance of `bond_alb_monitor`.
    pub fn rebalance(&mut self, active: Option<SlaveId>) {
        let ids: Vec<SlaveId> = self.slaves.iter().map(|s| s.id).collect();
        for id in ids {
            self.clear_slave(id, true);
            if Some(id) == active {
                let load = self.unbalanced / BOND_TLB_REBALANCE_INTERVAL;
                if let Some(i) = self.index(id) {
                    self.slaves[i].load = load;
                    self.slaves[i].base_load = load;
                }
                self.unbalanced = 0;
            }
        }
    }

    /// The published choice for every bucket: assigned ones as they are, the others by the
    /// least-loaded rule walking the buckets in index order (see the module docs).
    pub fn project(&self) -> [Option<SlaveId>; TLB_HASH_TABLE_SIZE] {
        let mut loads: Vec<u32> = self.slaves.iter().map(|s| s.base_load).collect();
        let mut out = [None; TLB_HASH_TABLE_SIZE];
        for (i, b) in self.buckets.iter().enumerate() {
            let at = match b.slave.and_then(|s| self.index(s)) {
                Some(at) => Some(at),
                None => self.least_loaded_by(&loads),
            };
            if let Some(at) = at {
                loads[at] = loads[at].wrapping_add(b.load_history);
                out[i] = Some(self.slaves[at].id);
            }
        }
        out
    }

    /// Takes the data path's counters: assigns the buckets that were used (to the slave the
    /// published table gave them, if it can still transmit, else to the least-loaded one) and
    /// adds their bytes, as `__tlb_choose_channel` does frame by frame.
    pub fn take_load(
        &mut self,
        load: &TlbLoad,
        published: &[Option<SlaveId>; TLB_HASH_TABLE_SIZE],
    ) {
        for (i, (&bytes, &choice)) in load.buckets.iter().zip(published.iter()).enumerate() {
            if bytes == 0 {
                continue;
            }
            if self.buckets[i].slave.is_none() {
                let at = choice
                    .and_then(|s| self.index(s))
                    .filter(|&at| self.slaves[at].can_tx)
                    .or_else(|| {
                        let loads: Vec<u32> = self.slaves.iter().map(|s| s.load).collect();
                        self.least_loaded_by(&loads)
                    });
                if let Some(at) = at {
                    let lh = self.buckets[i].load_history;
                    self.buckets[i].slave = Some(self.slaves[at].id);
                    self.slaves[at].load = self.slaves[at].load.wrapping_add(lh);
                }
            }
            if self.buckets[i].slave.is_some() {
                self.buckets[i].tx_bytes = self.buckets[i].tx_bytes.wrapping_add(bytes as u32);
            } else {
                self.unbalanced = self.unbalanced.wrapping_add(bytes as u32);
            }
        }
        self.unbalanced = self.unbalanced.wrapping_add(load.unbalanced as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(mode: AlbMode) -> TlbTable {
        let mut t = TlbTable::empty(mode);
        t.active = Some(SlaveId(1));
        t.usable = vec![SlaveId(1), SlaveId(2)];
        t.macs = vec![
            (SlaveId(1), MacAddr([2, 0, 0, 0, 0, 1])),
            (SlaveId(2), MacAddr([2, 0, 0, 0, 0, 2])),
        ];
        t.buckets = [Some(SlaveId(2)); TLB_HASH_TABLE_SIZE];
        t
    }

    #[test]
    fn gap_uses_the_kernels_u32_arithmetic() {
        assert_eq!(compute_gap(1000, 0), 1000 << 20);
        assert_eq!(compute_gap(1000, 1 << 20), (1000 << 20) - (1 << 23));
        // 10000 << 20 does not fit in u32: the kernel sees 1895825408.
        assert_eq!(compute_gap(10000, 0), 1_895_825_408);
        assert_eq!(compute_gap(0, 1), -8);
    }

    #[test]
    fn short_and_garbage_frames_do_not_panic() {
        for mode in [AlbMode::Tlb, AlbMode::Alb] {
            let t = table(mode);
            for len in 0..80 {
                for fill in [0u8, 0x08, 0x86, 0xff] {
                    let mut f = vec![fill; len];
                    if len > 14 {
                        f[0] = 0;
                    }
                    let _ = t.select(&f);
                }
            }
        }
    }

    #[test]
    fn learning_packet_layout() {
        let mac = MacAddr([0x52, 0x54, 0, 0, 0, 7]);
        let f = learning_packet(mac, None);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[..6], &mac.0);
        assert_eq!(&f[6..12], &mac.0);
        assert_eq!(&f[12..14], &[0x90, 0x00]);
        assert!(f[14..].iter().all(|&b| b == 0));
        let f = learning_packet(mac, Some((0x8100, 42)));
        assert_eq!(f.len(), 64);
        assert_eq!(&f[12..18], &[0x81, 0x00, 0, 42, 0x90, 0x00]);
    }

    #[test]
    fn simple_hash_is_xor() {
        assert_eq!(simple_hash(&[192, 0, 2, 7]), 192 ^ 2 ^ 7);
        assert_eq!(simple_hash(&[]), 0);
    }

    #[test]
    fn take_load_assigns_used_buckets_where_published() {
        let mut tlb = Tlb::new();
        for id in [1, 2] {
            tlb.slaves.push(TlbSlave {
                id: SlaveId(id),
                speed: 1000,
                can_tx: true,
                load: 0,
                base_load: 0,
            });
        }
        let published = tlb.project();
        // Fresh buckets (load_history 0): all tie, the first slave wins each.
        assert!(published.iter().all(|&s| s == Some(SlaveId(1))));
        let mut load = TlbLoad::default();
        load.add(Account::Bucket(7), 1500);
        tlb.take_load(&load, &published);
        assert_eq!(tlb.buckets[7].slave, Some(SlaveId(1)));
        assert_eq!(tlb.buckets[7].tx_bytes, 1500);
        tlb.rebalance(None);
        assert_eq!(tlb.buckets[7], TlbBucket { slave: None, tx_bytes: 0, load_history: 151 });
    }
}
