//! The in-kernel fast data path: the tc programs of `bpf/datapath.bpf.c`, loaded with `aya`.
//!
//! [`FastPath::load`] loads the object (it needs CAP_BPF or CAP_SYS_ADMIN, so before the
//! daemon drops its capabilities); [`FastPath::attach_tap`] and [`FastPath::attach_slave`]
//! attach a program to an interface, held by the returned [`Attachment`], by the [`Hook`] the
//! kernel has: a TCX link (`bpf_link`, Linux 6.6 and later), or on older kernels a `bpf`
//! filter in direct-action mode on the interface's `clsact` qdisc, as `tc filter add dev
//! IFACE ingress bpf da ...` makes (Linux 4.5 and later). The daemon then describes each bond
//! ([`BondConfig`], keyed by the bond device's ifindex) and each slave ([`SlaveRx`], keyed by
//! the slave's ifindex) in the programs' maps.
//!
//! # Outliving the daemon
//!
//! Loaded with a pin directory (in a bpffs, see [`crate::bpffs`]), the fast path pins its maps
//! and every link there: the links stay attached, with their programs and maps, when the
//! daemon exits or dies, so frames keep flowing in the kernel while no daemon runs. Only
//! [`Attachment::detach`] takes a program off an interface. A daemon that starts again loads
//! the programs afresh (its own build's, which may differ from the old one's), fills the new
//! maps, and attaches each program in front of the one already there
//! ([`LinkOrder::first`](aya::programs::LinkOrder::first): the first TCX program to give a
//! verdict decides), then renames its pin over the old one,
//! which detaches the old link: at every instant one program handles the interface's frames.
//! Nothing of an older build is ever reused, so a pinned map of another layout cannot meet
//! this build's programs. Without a pin directory, dropping an [`Attachment`] (or the daemon
//! dying) detaches the program, as before.
//!
//! A `clsact` filter belongs to the interface, not to a file descriptor: it stays when the
//! daemon exits or dies, pin directory or not. Each is ubond's by its place (priority
//! [`TC_PRIORITY`], handle [`TC_HANDLE`]), and a daemon that starts again replaces the program
//! of the filter it finds there in one step (the kernel swaps a `bpf` filter's program
//! atomically). A directory in the pin directory (`tc-ingress-IFINDEX`, `tc-egress-IFINDEX`)
//! marks each filter of this daemon ([`pinned_links`]), so that the next daemon removes those
//! of slaves released while none ran. Taking a filter off deletes it, and the `clsact` qdisc
//! too when ubond added it and no other filter uses it (one that was there before, an
//! administrator's or another tool's, stays, empty or not; `tc-qdisc-IFINDEX` in the pin
//! directory says that ubond added it, for the next daemon). Without a pin directory, dropping
//! the [`Attachment`] takes the filter off; a daemon that dies leaves it to the next daemon,
//! which replaces it.
//!
//! The object is compiled by clang at build time, or, without clang, is the committed
//! `bpf/datapath.bpf.o` (kept identical to what clang builds from the source; see `build.rs`).
//! Only a build without clang from an edited source lacks it: [`FastPath::load`] then fails
//! with a sentence saying so.

use crate::error::{Result, SysError};
use std::io;
use std::path::{Path, PathBuf};

/// Most bonds with a map entry (the maps' size).
pub const MAX_BONDS: usize = 64;
/// Most slave entries, all bonds together.
pub const MAX_SLAVE_ENTRIES: usize = 1024;
/// Most transmitting slaves a bond may have on the fast path; a bond with more stays on the
/// userspace path.
pub const MAX_SLAVES: usize = 16;

/// Whether this build has the programs (compiled by clang, or the committed object).
pub const BUILT: bool = cfg!(ubond_bpf);

/// The priority of ubond's `clsact` filters (`tc filter ... pref 1`): first, in front of any
/// filter added with tc's default priority, as a TCX program of ubond's goes first.
pub const TC_PRIORITY: u16 = 1;
/// The handle of ubond's `clsact` filters ("ubnd").
pub const TC_HANDLE: u32 = 0x7562_6e64;

/// How the programs are hooked into an interface's traffic control path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hook {
    /// TCX where the kernel has it, else `clsact`: decided at the first attachment.
    #[default]
    Auto,
    /// A TCX link (`bpf_link`), Linux 6.6 and later.
    Tcx,
    /// A `bpf` filter in direct-action mode on the interface's `clsact` qdisc, made by
    /// netlink (Linux 4.5 and later).
    Clsact,
}

impl Hook {
    /// The name users see (`--tc-hook`, the daemon's messages).
    pub fn name(self) -> &'static str {
        match self {
            Hook::Auto => "auto",
            Hook::Tcx => "tcx",
            Hook::Clsact => "clsact",
        }
    }
}

/// Entries in balance-tlb/alb's transmit table (`TLB_HASH_TABLE_SIZE`).
pub const TLB_BUCKETS: usize = 256;

/// How the tap's egress program sends a bond's frames (mirrors `ubond_core`'s `TxPlan`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BondConfig {
    /// Off: every frame goes to the tap's file descriptor (the userspace path).
    pub enabled: bool,
    /// The kernel's mode number (0 balance-rr, 1 active-backup, 2 balance-xor, 3 broadcast,
    /// 4 802.3ad, 5 balance-tlb, 6 balance-alb).
    pub mode: u32,
    /// The kernel's `xmit_hash_policy` number.
    pub policy: u32,
    /// balance-rr's `packets_per_slave`.
    pub packets_per_slave: u32,
    /// balance-rr: the ifindex IGMP reports leave by (0: none).
    pub igmp_ifindex: u32,
    /// The ifindexes of the slaves that may transmit, in enslave order (at most
    /// [`MAX_SLAVES`]).
    pub slaves: Vec<u32>,
    /// balance-tlb/alb: the transmit table (`TxPlan::tlb`).
    pub tlb: Option<TlbConfig>,
}

/// balance-tlb/alb's transmit table as the egress program reads it (mirrors `ubond_core`'s
/// `TlbTable`), its slaves numbered by slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlbConfig {
    /// balance-alb (the bucket key is the destination IP address) rather than balance-tlb.
    pub alb: bool,
    /// `tlb_dynamic_lb`: the buckets decide; otherwise the hash over `usable`.
    pub dynamic: bool,
    /// Each slot's slave: its ifindex and its own address, written as the source of the
    /// frames it sends when it is not the active slave (none: no rewrite). At most
    /// [`MAX_SLAVES`].
    pub slots: Vec<(u32, Option<[u8; 6]>)>,
    /// The active slave's slot: unbalanced frames leave by it (none: dropped).
    pub active: Option<u8>,
    /// The slots of the slaves that can transmit, in enslave order (`tlb_dynamic_lb=0`).
    pub usable: Vec<u8>,
    /// Each bucket's slot (none: unbalanced).
    pub buckets: [Option<u8>; TLB_BUCKETS],
}

/// Bytes the egress program sent per balance-tlb/alb bucket, summed over the CPUs, since the
/// bond's entry was made ([`FastPath::tlb_load`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlbBytes {
    /// Per bucket.
    pub buckets: [u64; TLB_BUCKETS],
    /// Sent on the active slave without balancing.
    pub unbalanced: u64,
}

/// What a slave's ingress program does with received data frames.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaveRx {
    /// The bond's tap.
    pub tap_ifindex: u32,
    /// Off: frames go on as if there were no program (the packet socket has them).
    pub enabled: bool,
    /// Deliver every data frame up the bond.
    pub deliver: bool,
    /// Deliver unicast data frames only.
    pub unicast_only: bool,
    /// Keep the last time the slave received a frame for this host ([`FastPath::rx_seen`]),
    /// for the ARP monitor.
    pub stamp: bool,
    /// Discard a TCP segment another slave of the bond delivered lately (broadcast's copies:
    /// `RxCopies` in ubond-core).
    pub copies: bool,
    /// The slave's own address (unicast to another is not for this host).
    pub own_mac: [u8; 6],
    /// The bond's address (`RxPlan::bond_mac`).
    pub bond_mac: [u8; 6],
    /// The slaves' addresses that are the bond's too (`RxPlan::slave_macs`): a delivered frame
    /// for one of them gets `bond_mac` as its destination. At most [`MAX_SLAVES`].
    pub slave_macs: Vec<[u8; 6]>,
}

/// Frames and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    /// Frames.
    pub frames: u64,
    /// Their bytes (Ethernet header and payload, as the kernel's `skb->len`).
    pub bytes: u64,
}

/// What a program did with the frames it handled on one interface while its bond was on the
/// fast path, all CPUs together, since the entry was made (`struct counters` in the C
/// program).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameCounters {
    /// A tap's frames sent to a slave; a slave's frames delivered up the bond.
    pub forwarded: Count,
    /// Frames left to the daemon: a tap's frames the program does not model (the userspace
    /// path sends them), a slave's Slow Protocols frames (the daemon's packet socket has them).
    pub passed: Count,
    /// Frames dropped: a tap's frames while the bond has no usable slave, a slave's frames
    /// the bond does not deliver (an inactive slave's, as Linux's bonding drops them).
    pub dropped: Count,
    /// A slave's frames discarded as another slave's copy of a TCP segment (broadcast with
    /// `tcp_dup_discard`).
    pub duplicate: Count,
}

/// Words of `struct counters` in the C program.
#[cfg_attr(not(ubond_bpf), allow(dead_code))]
const COUNTER_WORDS: usize = 8;

impl FrameCounters {
    /// The sum of the CPUs' `struct counters`.
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    fn sum<'a>(per_cpu: impl IntoIterator<Item = &'a [u64; COUNTER_WORDS]>) -> FrameCounters {
        let mut w = [0u64; COUNTER_WORDS];
        for cpu in per_cpu {
            for (sum, v) in w.iter_mut().zip(cpu) {
                *sum = sum.wrapping_add(*v);
            }
        }
        let count = |v: usize| Count { frames: w[v], bytes: w[4 + v] };
        FrameCounters {
            forwarded: count(0),
            passed: count(1),
            dropped: count(2),
            duplicate: count(3),
        }
    }
}

/// When a slave last received a frame for this host, on the `CLOCK_MONOTONIC` scale in
/// nanoseconds (0: never), the latest over the CPUs ([`FastPath::rx_seen`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxSeen {
    /// Any frame.
    pub any: u64,
    /// An ARP or IPv6 frame.
    pub arp_ipv6: u64,
}

/// Octets of `struct bond_cfg` in the C program.
const CFG_LEN: usize =
    4 * (6 + MAX_SLAVES) + 4 * (3 + MAX_SLAVES) + 6 * MAX_SLAVES + 4 + MAX_SLAVES + TLB_BUCKETS;
/// Octets of `struct slave_rx`.
const RX_LEN: usize = 4 + 4 + 6 + 6 + 4 + 6 * MAX_SLAVES;
/// A slot's "none".
const NO_SLOT: u8 = 0xff;

/// Writes `v` little-endian at `*at`, moving `at` on.
fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) {
    out[*at..*at + bytes.len()].copy_from_slice(bytes);
    *at += bytes.len();
}

impl BondConfig {
    /// Whether the egress program can follow this configuration (else it is written
    /// disabled: never a partial list the kernel would use).
    fn fits(&self) -> bool {
        self.slaves.len() <= MAX_SLAVES
            && self.tlb.as_ref().is_none_or(|t| {
                let n = t.slots.len();
                let ok = |s: &u8| usize::from(*s) < n;
                n <= MAX_SLAVES
                    && t.usable.len() <= MAX_SLAVES
                    && t.usable.iter().all(ok)
                    && t.active.as_ref().is_none_or(ok)
                    && t.buckets.iter().flatten().all(ok)
            })
    }

    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    fn bytes(&self) -> [u8; CFG_LEN] {
        let mut b = [0u8; CFG_LEN];
        let at = &mut 0;
        let fits = self.fits();
        let n = if fits { self.slaves.len() } else { 0 };
        for w in [
            u32::from(self.enabled && fits),
            self.mode,
            self.policy,
            self.packets_per_slave,
            self.igmp_ifindex,
            n as u32,
        ] {
            put(&mut b, at, &w.to_le_bytes());
        }
        for i in 0..MAX_SLAVES {
            let v = if i < n { self.slaves[i] } else { 0 };
            put(&mut b, at, &v.to_le_bytes());
        }
        let tlb = self.tlb.as_ref().filter(|_| fits);
        let flags = tlb.map_or(0, |t| 1 | u32::from(t.dynamic) << 1 | u32::from(t.alb) << 2);
        let slots = tlb.map_or(&[][..], |t| &t.slots[..]);
        let mask = slots
            .iter()
            .enumerate()
            .fold(0u32, |m, (i, (_, mac))| m | u32::from(mac.is_some()) << i);
        for w in [flags, slots.len() as u32, mask] {
            put(&mut b, at, &w.to_le_bytes());
        }
        for i in 0..MAX_SLAVES {
            let v = slots.get(i).map_or(0, |s| s.0);
            put(&mut b, at, &v.to_le_bytes());
        }
        for i in 0..MAX_SLAVES {
            put(&mut b, at, &slots.get(i).and_then(|s| s.1).unwrap_or([0; 6]));
        }
        put(&mut b, at, &[tlb.and_then(|t| t.active).unwrap_or(NO_SLOT)]);
        let usable = tlb.map_or(&[][..], |t| &t.usable[..]);
        put(&mut b, at, &[usable.len() as u8]);
        for i in 0..MAX_SLAVES {
            put(&mut b, at, &[usable.get(i).copied().unwrap_or(0)]);
        }
        *at += 2;
        for i in 0..TLB_BUCKETS {
            put(&mut b, at, &[tlb.and_then(|t| t.buckets[i]).unwrap_or(NO_SLOT)]);
        }
        debug_assert_eq!(*at, CFG_LEN);
        b
    }
}

impl SlaveRx {
    /// The flag of `enabled` in the map's value (bit 0, `RX_ENABLED` in the program).
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    const ENABLED: u32 = 1;

    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    fn bytes(&self) -> [u8; RX_LEN] {
        let mut b = [0u8; RX_LEN];
        let at = &mut 0;
        let flags = u32::from(self.enabled)
            | u32::from(self.deliver) << 1
            | u32::from(self.unicast_only) << 2
            | u32::from(self.stamp) << 3
            | u32::from(self.copies) << 4;
        put(&mut b, at, &self.tap_ifindex.to_le_bytes());
        put(&mut b, at, &flags.to_le_bytes());
        put(&mut b, at, &self.own_mac);
        put(&mut b, at, &self.bond_mac);
        let n = self.slave_macs.len().min(MAX_SLAVES);
        put(&mut b, at, &(n as u32).to_le_bytes());
        for mac in &self.slave_macs[..n] {
            put(&mut b, at, mac);
        }
        b
    }
}

/// A program attached to one interface. Pinned ([`FastPath::load`] with a pin directory), it
/// stays attached when dropped, until [`Attachment::detach`]; unpinned, dropping it detaches.
pub struct Attachment {
    #[cfg(ubond_bpf)]
    held: imp::Held,
    hook: Hook,
    pin: Option<PathBuf>,
    iface: String,
    /// A `clsact` filter on a qdisc ubond added: deleted with the last filter; and the mark
    /// that says so, in a pin directory.
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    own_qdisc: bool,
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    qdisc_mark: Option<PathBuf>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment").field("iface", &self.iface).finish()
    }
}

/// The loaded programs and their maps.
pub struct FastPath {
    #[cfg(ubond_bpf)]
    ebpf: aya::Ebpf,
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    pins: Option<PathBuf>,
    /// How programs are attached: [`Hook::Auto`] until the first attachment decides.
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    hook: Hook,
    /// Why TCX was not used, when [`Hook::Auto`] turned to `clsact` (not yet said).
    #[cfg_attr(not(ubond_bpf), allow(dead_code))]
    tcx_refused: Option<String>,
    /// The slaves whose frames an earlier daemon's programs forward (see
    /// [`FastPath::forwarded_before`]).
    inherited: std::collections::BTreeSet<u32>,
    /// Why the earlier daemon's slave map could not be read, if it could not.
    inherited_unread: Option<String>,
}

impl FastPath {
    /// Whether the programs an earlier daemon left (pinned in the pin directory) forward the
    /// frames received on slave `ifindex`, as its slave map said when this fast path was
    /// loaded. Until this daemon's program replaces theirs, the slave's packet socket need not
    /// take those frames. False when unknown (no earlier daemon, or a map of another layout).
    pub fn forwarded_before(&self, ifindex: u32) -> bool {
        self.inherited.contains(&ifindex)
    }

    /// Why the slave map an earlier daemon pinned could not be read (another build's layout,
    /// or not a map), if there was one and it could not: nothing of it is used, and
    /// [`FastPath::forwarded_before`] says false for every slave (their packet sockets then take
    /// every frame until this daemon's programs replace the old ones: safe, if costlier).
    pub fn inherited_unread(&self) -> Option<&str> {
        self.inherited_unread.as_deref()
    }

    /// How programs are attached: the one asked for at [`FastPath::load`], and with
    /// [`Hook::Auto`] the one the first attachment found ([`Hook::Auto`] before it).
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// Why TCX could not be used, once, when [`Hook::Auto`] turned to `clsact` filters: for
    /// the daemon to say.
    pub fn take_tcx_refusal(&mut self) -> Option<String> {
        self.tcx_refused.take()
    }
}

/// The pin of the link (TCX), or the directory that marks the filter (`clsact`), on
/// `ifindex` in direction `ingress`, in pin directory `dir`.
#[cfg_attr(not(ubond_bpf), allow(dead_code))]
fn link_pin(dir: &Path, hook: Hook, ingress: bool, ifindex: u32) -> PathBuf {
    let dir_name = if ingress { "ingress" } else { "egress" };
    let kind = if hook == Hook::Clsact { "tc" } else { "link" };
    dir.join(format!("{kind}-{dir_name}-{ifindex}"))
}

/// The directory that says ubond added the `clsact` qdisc of `ifindex`, in pin directory
/// `dir` ([`pinned_links`] passes it over).
fn qdisc_mark(dir: &Path, ifindex: u32) -> PathBuf {
    dir.join(format!("tc-qdisc-{ifindex}"))
}

/// A link pinned in a pin directory, as [`pinned_links`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedAttachment {
    /// The pin's path.
    pub path: PathBuf,
    /// Ingress (a slave's program) or egress (a bond device's).
    pub ingress: bool,
    /// The interface the link is attached to.
    pub ifindex: u32,
    /// A TCX link's pin, or the mark of a `clsact` filter.
    pub hook: Hook,
}

impl PinnedAttachment {
    /// Removes the pin, which detaches the program (unless a running daemon holds the link);
    /// for a `clsact` filter, deletes ubond's filter on the interface (if it is still there),
    /// then the mark.
    pub fn remove(&self) -> Result<()> {
        if self.hook == Hook::Clsact {
            let qdisc = self.path.parent().map(|dir| qdisc_mark(dir, self.ifindex));
            #[cfg(ubond_bpf)]
            if let Ok(iface) = crate::link::ifname(self.ifindex) {
                let own = qdisc.as_deref().is_some_and(Path::exists);
                imp::delete_filter(&iface, self.ingress, own)?;
            }
            // ubond's filter is gone: the qdisc too, or it serves others now.
            if let Some(mark) = qdisc {
                let _ = std::fs::remove_dir(mark);
            }
            return std::fs::remove_dir(&self.path)
                .map_err(|e| SysError::new("remove the mark of a clsact filter", None, e));
        }
        std::fs::remove_file(&self.path)
            .map_err(|e| SysError::new("remove a pinned BPF link", None, e))
    }
}

/// Every link pinned in `dir` (and every `clsact` filter marked there), for a starting daemon
/// to keep those it still needs and remove the others (a slave released, a bond deleted while
/// no daemon ran).
pub fn pinned_links(dir: &Path) -> Result<Vec<PinnedAttachment>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| SysError::new("list pinned BPF links", None, e))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let (hook, rest) = match (name.strip_prefix("link-"), name.strip_prefix("tc-")) {
            (Some(rest), _) => (Hook::Tcx, rest),
            (_, Some(rest)) => (Hook::Clsact, rest),
            _ => continue,
        };
        let (ingress, index) = match rest.split_once('-') {
            Some(("ingress", i)) => (true, i),
            Some(("egress", i)) => (false, i),
            _ => continue,
        };
        let Ok(ifindex) = index.parse() else { continue };
        out.push(PinnedAttachment { path: entry.path(), ingress, ifindex, hook });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Pins a BPF object at `path` through a temporary name and a rename, so that a pin already
/// at `path` is replaced in one step (and what it pinned released). bpffs refuses names with
/// a dot, hence the `-new` suffix.
#[cfg(ubond_bpf)]
fn pin_replacing<T>(
    path: &Path,
    pin: impl FnOnce(&Path) -> std::result::Result<T, aya::pin::PinError>,
) -> Result<T> {
    const OP: &str = "pin a BPF object";
    let mut tmp = path.as_os_str().to_owned();
    tmp.push("-new");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let pinned = pin(&tmp).map_err(|e| err_chain(OP, None, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        SysError::new(OP, None, e)
    })?;
    Ok(pinned)
}

impl std::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPath").finish_non_exhaustive()
    }
}

fn err(op: &'static str, iface: Option<&str>, e: impl std::fmt::Display) -> SysError {
    SysError::new(op, iface, io::Error::other(e.to_string()))
}

/// [`err`] for an error with causes: every cause is named ("`BPF_OBJ_PIN` failed: Permission
/// denied").
#[cfg_attr(not(ubond_bpf), allow(dead_code))]
fn err_chain(op: &'static str, iface: Option<&str>, e: &dyn std::error::Error) -> SysError {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    SysError::new(op, iface, io::Error::other(s))
}

#[cfg(ubond_bpf)]
mod imp {
    use super::*;
    use aya::maps::{HashMap, PerCpuHashMap};
    use aya::programs::links::{FdLink, Link};
    use aya::programs::tc::{
        qdisc_add_clsact, qdisc_detach_program, NlOptions, SchedClassifier, SchedClassifierLink,
        TcAttachOptions, TcAttachType, TcError,
    };
    use aya::programs::{LinkOrder, ProgramError};

    const TAP_PROG: &str = "ubond_tap_egress";
    const SLAVE_PROG: &str = "ubond_slave_ingress";
    const COUNTERS: &str = "ubond_counters";
    static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/datapath.bpf.o"));
    /// The slave map's pin in a pin directory.
    const SLAVES_PIN: &str = "map-ubond_slaves";

    /// The slaves that the slave map pinned at `pin` (an earlier daemon's) has enabled, or why
    /// it cannot be read: not a map, or of neither this build's layout nor the two words of
    /// earlier builds (both have the flags at octets 4..8).
    fn forwarded_slaves(
        pin: &Path,
    ) -> std::result::Result<std::collections::BTreeSet<u32>, String> {
        let data = aya::maps::MapData::from_pin(pin).map_err(|e| format!("not a BPF map ({e})"))?;
        let info = data.info().map_err(|e| e.to_string())?;
        let (key, value) = (info.key_size(), info.value_size());
        let map = aya::maps::Map::HashMap(data);
        let enabled = |flags: u32| flags & SlaveRx::ENABLED != 0;
        if (key, value as usize) == (4, RX_LEN) {
            let m = HashMap::<_, u32, [u8; RX_LEN]>::try_from(&map).map_err(|e| e.to_string())?;
            return Ok(m
                .iter()
                .filter_map(|r| r.ok())
                .filter(|(_, rx)| enabled(u32::from_le_bytes([rx[4], rx[5], rx[6], rx[7]])))
                .map(|(ifindex, _)| ifindex)
                .collect());
        }
        if (key, value) == (4, 8) {
            let m = HashMap::<_, u32, [u32; 2]>::try_from(&map).map_err(|e| e.to_string())?;
            return Ok(m
                .iter()
                .filter_map(|r| r.ok())
                .filter(|(_, rx)| enabled(rx[1]))
                .map(|(ifindex, _)| ifindex)
                .collect());
        }
        Err(format!(
            "a map of another build's layout (keys of {key} bytes and values of {value}; this \
             build's slave map has 4 and {RX_LEN}, earlier builds' 4 and 8)"
        ))
    }

    impl FastPath {
        /// Loads the programs and creates their maps (CAP_BPF or CAP_SYS_ADMIN, and
        /// CAP_NET_ADMIN). With `pins` (a directory in a bpffs), the maps are pinned there,
        /// replacing those of an earlier daemon, and so will be the links (see the module
        /// documentation). Programs will be attached by `hook`. Fails with the reason (no
        /// privilege, an old kernel, no programs in this build).
        pub fn load(pins: Option<&Path>, hook: Hook) -> Result<FastPath> {
            const OP: &str = "load the BPF fast path";
            // Read before this load's maps replace the earlier daemon's pins.
            let (inherited, inherited_unread) = match pins.map(|d| d.join(SLAVES_PIN)) {
                Some(pin) if pin.exists() => match forwarded_slaves(&pin) {
                    Ok(set) => (set, None),
                    Err(why) => (Default::default(), Some(format!("{}: {why}", pin.display()))),
                },
                _ => Default::default(),
            };
            let mut ebpf = aya::EbpfLoader::new().load(OBJECT).map_err(|e| err(OP, None, e))?;
            for name in [TAP_PROG, SLAVE_PROG] {
                let prog: &mut SchedClassifier = ebpf
                    .program_mut(name)
                    .ok_or_else(|| err(OP, None, format!("no program {name} in the object")))?
                    .try_into()
                    .map_err(|e| err(OP, None, e))?;
                prog.load().map_err(|e| err(OP, None, verifier_error(e)))?;
            }
            if let Some(dir) = pins {
                for (name, map) in ebpf.maps() {
                    // Internal maps (".rodata") have dots, which bpffs names may not.
                    let name = name.replace('.', "_");
                    pin_replacing(&dir.join(format!("map-{name}")), |p| map.pin(p))?;
                }
            }
            Ok(FastPath {
                ebpf,
                pins: pins.map(Path::to_path_buf),
                hook,
                tcx_refused: None,
                inherited,
                inherited_unread,
            })
        }

        fn attach(&mut self, prog: &str, iface: &str, at: TcAttachType) -> Result<Attachment> {
            match self.hook {
                Hook::Tcx => self.attach_tcx(prog, iface, at).map_err(|e| e.error),
                Hook::Clsact => self.attach_clsact(prog, iface, at),
                Hook::Auto => match self.attach_tcx(prog, iface, at) {
                    Ok(a) => {
                        self.hook = Hook::Tcx;
                        Ok(a)
                    }
                    // The kernel has no TCX (before Linux 6.6, its link type is unknown).
                    Err(TcxError { error, no_tcx: true }) => {
                        let a = self.attach_clsact(prog, iface, at).map_err(|e| {
                            err(
                                "attach the BPF fast path",
                                Some(iface),
                                format!("TCX: {error}; clsact: {e}"),
                            )
                        })?;
                        self.hook = Hook::Clsact;
                        self.tcx_refused = Some(error.to_string());
                        Ok(a)
                    }
                    Err(e) => Err(e.error),
                },
            }
        }

        fn program(
            &mut self,
            prog: &str,
            iface: &str,
            op: &'static str,
        ) -> Result<&mut SchedClassifier> {
            self.ebpf
                .program_mut(prog)
                .ok_or_else(|| err(op, Some(iface), "program missing"))?
                .try_into()
                .map_err(|e| err(op, Some(iface), e))
        }

        fn attach_tcx(
            &mut self,
            prog: &str,
            iface: &str,
            at: TcAttachType,
        ) -> std::result::Result<Attachment, TcxError> {
            const OP: &str = "attach the BPF fast path (TCX)";
            let fail = |error| TcxError { error, no_tcx: false };
            let ifindex = crate::link::ifindex(iface).map_err(|e| fail(e.with_operation(OP)))?;
            let pins = self.pins.clone();
            let p = self.program(prog, iface, OP).map_err(fail)?;
            // In front of whatever is attached already (an earlier daemon's program, which
            // the pin below then releases).
            let id = match p.attach_with_options(
                iface,
                at,
                TcAttachOptions::TcxOrder(LinkOrder::first()),
            ) {
                Ok(id) => id,
                Err(e) => {
                    let no_tcx = matches!(&e, ProgramError::SyscallError(s)
                        if s.io_error.raw_os_error() == Some(libc::EINVAL));
                    return Err(TcxError {
                        error: err(OP, Some(iface), verifier_error(e)),
                        no_tcx,
                    });
                }
            };
            let link = p.take_link(id).map_err(|e| fail(err(OP, Some(iface), e)))?;
            let link = FdLink::try_from(link).map_err(|e| fail(err(OP, Some(iface), e)))?;
            let (link, pin) = match &pins {
                Some(dir) => {
                    let path = link_pin(dir, Hook::Tcx, at == TcAttachType::Ingress, ifindex);
                    let pinned = pin_replacing(&path, |tmp| link.pin(tmp)).map_err(fail)?;
                    (FdLink::from(pinned), Some(path))
                }
                None => (link, None),
            };
            Ok(Attachment {
                held: Held::Tcx(link),
                hook: Hook::Tcx,
                pin,
                iface: iface.to_owned(),
                own_qdisc: false,
                qdisc_mark: None,
            })
        }

        fn attach_clsact(
            &mut self,
            prog: &str,
            iface: &str,
            at: TcAttachType,
        ) -> Result<Attachment> {
            const OP: &str = "attach the BPF fast path (clsact)";
            let ifindex = crate::link::ifindex(iface).map_err(|e| e.with_operation(OP))?;
            // The qdisc the filters hang from; one already there (tc's, an earlier daemon's)
            // serves.
            let added = match qdisc_add_clsact(iface) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(SysError::new(OP, Some(iface), e)),
            };
            let pins = self.pins.clone();
            // Whose the qdisc is: ubond's if it added it now, or an earlier daemon did (its
            // mark); otherwise it was there before ubond and stays.
            let qdisc_mark = pins.as_deref().map(|dir| qdisc_mark(dir, ifindex));
            if let (true, Some(mark)) = (added, &qdisc_mark) {
                if let Err(e) = std::fs::create_dir(mark) {
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(SysError::new("mark a clsact qdisc", Some(iface), e));
                    }
                }
            }
            let own_qdisc = added || qdisc_mark.as_deref().is_some_and(Path::exists);
            let p = self.program(prog, iface, OP)?;
            let place = NlOptions { priority: TC_PRIORITY, handle: TC_HANDLE };
            let id = match p.attach_with_options(iface, at, TcAttachOptions::Netlink(place)) {
                Ok(id) => id,
                // Ours, left by an earlier daemon: its program is replaced in one step.
                Err(ProgramError::TcError(TcError::NetlinkError { io_error }))
                    if io_error.kind() == io::ErrorKind::AlreadyExists =>
                {
                    let old = SchedClassifierLink::attached(iface, at, TC_PRIORITY, TC_HANDLE)
                        .map_err(|e| SysError::new(OP, Some(iface), e))?;
                    p.attach_to_link(old).map_err(|e| err(OP, Some(iface), verifier_error(e)))?
                }
                Err(e) => return Err(err(OP, Some(iface), verifier_error(e))),
            };
            let link = p.take_link(id).map_err(|e| err(OP, Some(iface), e))?;
            let pin = match &pins {
                Some(dir) => {
                    let path = link_pin(dir, Hook::Clsact, at == TcAttachType::Ingress, ifindex);
                    if let Err(e) = std::fs::create_dir(&path) {
                        if e.kind() != io::ErrorKind::AlreadyExists {
                            drop(link);
                            return Err(SysError::new("mark a clsact filter", Some(iface), e));
                        }
                    }
                    Some(path)
                }
                None => None,
            };
            Ok(Attachment {
                held: Held::Clsact(Some(link)),
                hook: Hook::Clsact,
                pin,
                iface: iface.to_owned(),
                own_qdisc,
                qdisc_mark,
            })
        }

        /// Attaches the transmit program to a bond's tap (egress).
        pub fn attach_tap(&mut self, tap: &str) -> Result<Attachment> {
            self.attach(TAP_PROG, tap, TcAttachType::Egress)
        }

        /// Attaches the receive program to a slave (ingress).
        pub fn attach_slave(&mut self, slave: &str) -> Result<Attachment> {
            self.attach(SLAVE_PROG, slave, TcAttachType::Ingress)
        }

        /// Writes a bond's transmit configuration (keyed by its tap's ifindex).
        pub fn set_bond(&mut self, tap_ifindex: u32, cfg: &BondConfig) -> Result<()> {
            const OP: &str = "update the BPF bond map";
            let map = self.ebpf.map_mut("ubond_bonds").ok_or_else(|| err(OP, None, "no map"))?;
            let mut m: HashMap<_, u32, [u8; CFG_LEN]> =
                HashMap::try_from(map).map_err(|e| err(OP, None, e))?;
            m.insert(tap_ifindex, cfg.bytes(), 0).map_err(|e| err(OP, None, e))
        }

        /// Forgets a bond (its tap is going away, or it leaves the fast path).
        pub fn remove_bond(&mut self, tap_ifindex: u32) {
            if let Some(map) = self.ebpf.map_mut("ubond_bonds") {
                if let Ok(mut m) = HashMap::<_, u32, [u8; CFG_LEN]>::try_from(map) {
                    let _ = m.remove(&tap_ifindex);
                }
            }
            if let Some(map) = self.ebpf.map_mut("ubond_rr") {
                if let Ok(mut m) = PerCpuHashMap::<_, u32, u32>::try_from(map) {
                    let _ = m.remove(&tap_ifindex);
                }
            }
            if let Some(map) = self.ebpf.map_mut("ubond_tlb_load") {
                if let Ok(mut m) = PerCpuHashMap::<_, u32, TlbLoadValue>::try_from(map) {
                    let _ = m.remove(&tap_ifindex);
                }
            }
            self.remove_counters(tap_ifindex);
        }

        /// The bytes a balance-tlb/alb bond's frames counted per bucket since the program
        /// made its counters (at the first counted frame; [`FastPath::remove_bond`] removes
        /// them); none before.
        pub fn tlb_load(&self, tap_ifindex: u32) -> Result<Option<TlbBytes>> {
            const OP: &str = "read the BPF balance-tlb counters";
            let map = self.ebpf.map("ubond_tlb_load").ok_or_else(|| err(OP, None, "no map"))?;
            let m: PerCpuHashMap<_, u32, TlbLoadValue> =
                PerCpuHashMap::try_from(map).map_err(|e| err(OP, None, e))?;
            let values = match m.get(&tap_ifindex, 0) {
                Ok(v) => v,
                Err(aya::maps::MapError::KeyNotFound) => return Ok(None),
                Err(e) => return Err(err(OP, None, e)),
            };
            let mut sum = TlbBytes { buckets: [0; TLB_BUCKETS], unbalanced: 0 };
            for cpu in values.iter() {
                for (s, v) in sum.buckets.iter_mut().zip(cpu.iter()) {
                    *s = s.wrapping_add(*v);
                }
                sum.unbalanced = sum.unbalanced.wrapping_add(cpu[TLB_BUCKETS]);
            }
            Ok(Some(sum))
        }

        /// Writes a slave's receive configuration (keyed by the slave's ifindex).
        pub fn set_slave(&mut self, slave_ifindex: u32, rx: &SlaveRx) -> Result<()> {
            const OP: &str = "update the BPF slave map";
            let map = self.ebpf.map_mut("ubond_slaves").ok_or_else(|| err(OP, None, "no map"))?;
            let mut m: HashMap<_, u32, [u8; RX_LEN]> =
                HashMap::try_from(map).map_err(|e| err(OP, None, e))?;
            m.insert(slave_ifindex, rx.bytes(), 0).map_err(|e| err(OP, None, e))
        }

        /// When slave `slave_ifindex` last received a frame for this host (kept while its
        /// [`SlaveRx::stamp`] is on); none without an entry.
        pub fn rx_seen(&self, slave_ifindex: u32) -> Result<Option<RxSeen>> {
            const OP: &str = "read the BPF receive times";
            let map = self.ebpf.map("ubond_rx_seen").ok_or_else(|| err(OP, None, "no map"))?;
            let m: PerCpuHashMap<_, u32, [u64; 2]> =
                PerCpuHashMap::try_from(map).map_err(|e| err(OP, None, e))?;
            match m.get(&slave_ifindex, 0) {
                Ok(v) => Ok(Some(v.iter().fold(RxSeen::default(), |a, c| RxSeen {
                    any: a.any.max(c[0]),
                    arp_ipv6: a.arp_ipv6.max(c[1]),
                }))),
                Err(aya::maps::MapError::KeyNotFound) => Ok(None),
                Err(e) => Err(err(OP, None, e)),
            }
        }

        /// Forgets a slave (released).
        pub fn remove_slave(&mut self, slave_ifindex: u32) {
            if let Some(map) = self.ebpf.map_mut("ubond_slaves") {
                if let Ok(mut m) = HashMap::<_, u32, [u8; RX_LEN]>::try_from(map) {
                    let _ = m.remove(&slave_ifindex);
                }
            }
            if let Some(map) = self.ebpf.map_mut("ubond_rx_seen") {
                if let Ok(mut m) = PerCpuHashMap::<_, u32, [u64; 2]>::try_from(map) {
                    let _ = m.remove(&slave_ifindex);
                }
            }
            self.remove_counters(slave_ifindex);
        }

        /// The frame counters of a tap or slave (`ifindex`); `None` before the program has
        /// counted a frame there (or when the map cannot be read).
        pub fn counters(&self, ifindex: u32) -> Option<FrameCounters> {
            let map = self.ebpf.map(COUNTERS)?;
            let m = PerCpuHashMap::<_, u32, [u64; COUNTER_WORDS]>::try_from(map).ok()?;
            let per_cpu = m.get(&ifindex, 0).ok()?;
            Some(FrameCounters::sum(per_cpu.iter()))
        }

        fn remove_counters(&mut self, ifindex: u32) {
            if let Some(map) = self.ebpf.map_mut(COUNTERS) {
                if let Ok(mut m) = PerCpuHashMap::<_, u32, [u64; COUNTER_WORDS]>::try_from(map) {
                    let _ = m.remove(&ifindex);
                }
            }
        }
    }

    /// `struct tlb_load`: the buckets, then the unbalanced bytes.
    type TlbLoadValue = [u64; TLB_BUCKETS + 1];

    /// What an [`Attachment`] holds.
    pub(super) enum Held {
        /// The TCX link (pinned, or detached when dropped).
        Tcx(#[allow(dead_code)] FdLink),
        /// The `clsact` filter: deleted when dropped, unless the attachment is pinned (the
        /// filter then stays on the interface); none once taken off.
        Clsact(Option<SchedClassifierLink>),
    }

    /// A failed TCX attachment, and whether it failed because the kernel has no TCX.
    pub(super) struct TcxError {
        error: SysError,
        no_tcx: bool,
    }

    /// Deletes ubond's `clsact` filter on `iface` at ingress or egress (none there: done), and
    /// the qdisc if ubond added it (`own_qdisc`) and no other filter uses it.
    pub(super) fn delete_filter(iface: &str, ingress: bool, own_qdisc: bool) -> Result<()> {
        let (at, prog) = if ingress {
            (TcAttachType::Ingress, SLAVE_PROG)
        } else {
            (TcAttachType::Egress, TAP_PROG)
        };
        match qdisc_detach_program(iface, at, prog) {
            Ok(()) if own_qdisc => remove_unused_clsact(iface),
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SysError::new("delete a clsact filter", Some(iface), e)),
        }
    }

    impl Held {
        /// Takes the program off its interface now.
        pub(super) fn detach(&mut self) {
            if let Held::Clsact(link) = self {
                if let Some(link) = link.take() {
                    let _ = link.detach();
                }
            }
        }

        /// Leaves a `clsact` filter on its interface when the attachment goes.
        pub(super) fn keep(&mut self) {
            if let Held::Clsact(link) = self {
                std::mem::forget(link.take());
            }
        }
    }

    /// How many TCX programs are attached to `iface` at ingress (`ingress`) or egress, by
    /// anyone. For checks that a daemon left nothing behind.
    pub fn tcx_programs(iface: &str, ingress: bool) -> Result<usize> {
        let at = if ingress { TcAttachType::Ingress } else { TcAttachType::Egress };
        SchedClassifier::query_tcx(iface, at)
            .map(|(_, progs)| progs.len())
            .map_err(|e| err("query TCX programs", Some(iface), e))
    }

    /// The error with the verifier's log, if there is one, cut to its last lines.
    pub(super) fn verifier_error(e: aya::programs::ProgramError) -> String {
        match e {
            aya::programs::ProgramError::LoadError { io_error, verifier_log } => {
                let log = verifier_log.to_string();
                let tail: Vec<&str> = log.lines().rev().take(6).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("{io_error}; verifier: {}", tail.join(" | "))
            }
            e => {
                let mut s = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(inner) = src {
                    s.push_str(&format!(": {inner}"));
                    src = inner.source();
                }
                s
            }
        }
    }
}

#[cfg(ubond_bpf)]
pub use imp::tcx_programs;

/// How many TCX programs are attached to `iface`: unknown in a build without BPF.
#[cfg(not(ubond_bpf))]
pub fn tcx_programs(iface: &str, _ingress: bool) -> Result<usize> {
    Err(err("query TCX programs", Some(iface), "this ubond was built without BPF"))
}

#[cfg(not(ubond_bpf))]
impl FastPath {
    /// Always fails: this build has no BPF programs (no clang at build time, and the
    /// committed object did not match the edited source).
    pub fn load(_pins: Option<&Path>, _hook: Hook) -> Result<FastPath> {
        Err(err(
            "load the BPF fast path",
            None,
            "this ubond was built without its BPF programs (no clang when it was built, and \
             bpf/datapath.bpf.c differs from the committed bpf/datapath.bpf.o); install clang \
             and run cargo build again (the build notices clang by itself)",
        ))
    }

    /// Unreachable without programs.
    pub fn attach_tap(&mut self, tap: &str) -> Result<Attachment> {
        Err(err("attach the BPF fast path", Some(tap), "not built"))
    }

    /// Unreachable without programs.
    pub fn attach_slave(&mut self, slave: &str) -> Result<Attachment> {
        Err(err("attach the BPF fast path", Some(slave), "not built"))
    }

    /// Unreachable without programs.
    pub fn set_bond(&mut self, _tap_ifindex: u32, _cfg: &BondConfig) -> Result<()> {
        Ok(())
    }

    /// Unreachable without programs.
    pub fn remove_bond(&mut self, _tap_ifindex: u32) {}

    /// Unreachable without programs.
    pub fn tlb_load(&self, _tap_ifindex: u32) -> Result<Option<TlbBytes>> {
        Ok(None)
    }

    /// Unreachable without programs.
    pub fn set_slave(&mut self, _slave_ifindex: u32, _rx: &SlaveRx) -> Result<()> {
        Ok(())
    }

    /// Unreachable without programs.
    pub fn rx_seen(&self, _slave_ifindex: u32) -> Result<Option<RxSeen>> {
        Ok(None)
    }

    /// Unreachable without programs.
    pub fn remove_slave(&mut self, _slave_ifindex: u32) {}

    /// Unreachable without programs.
    pub fn counters(&self, _ifindex: u32) -> Option<FrameCounters> {
        None
    }
}

impl Attachment {
    /// The interface the program is attached to.
    pub fn interface(&self) -> &str {
        &self.iface
    }

    /// Whether the link is pinned (and so outlives this value and the daemon).
    pub fn pinned(&self) -> bool {
        self.pin.is_some()
    }

    /// How the program is attached ([`Hook::Tcx`] or [`Hook::Clsact`]).
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// Takes the program off the interface (a slave released, a bond deleted, the fast path
    /// turned off for a bond), removing its pin.
    pub fn detach(mut self) {
        if let Some(pin) = self.pin.take() {
            let _ = match self.hook {
                Hook::Clsact => std::fs::remove_dir(pin),
                _ => std::fs::remove_file(pin),
            };
        }
        // Drop takes the program off.
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // Pinned, the program outlives this value: a TCX link by its pin, a `clsact` filter
        // by being left on the interface. Otherwise it goes: a TCX link with its descriptor,
        // a `clsact` filter deleted here, and its qdisc if ubond added it and nothing else
        // uses it.
        #[cfg(ubond_bpf)]
        if self.pin.is_some() {
            self.held.keep();
        } else if self.hook == Hook::Clsact {
            self.held.detach();
            if self.own_qdisc {
                let _ = remove_unused_clsact(&self.iface);
            }
            // ubond's filter is gone: the qdisc too, or it serves others now.
            if let Some(mark) = &self.qdisc_mark {
                let _ = std::fs::remove_dir(mark);
            }
        }
    }
}

/// Deletes `iface`'s `clsact` qdisc if no filter is left on it, at ingress or egress (ubond's
/// were the last), so that taking ubond's programs off leaves the interface as it was.
#[cfg_attr(not(ubond_bpf), allow(dead_code))]
fn remove_unused_clsact(iface: &str) -> Result<()> {
    use netlink_packet_core::NLM_F_DUMP;
    use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
    use netlink_packet_route::RouteNetlinkMessage;
    const OP: &str = "remove an unused clsact qdisc";
    let ifindex = crate::link::ifindex(iface).map_err(|e| e.with_operation(OP))?;
    for minor in [TcHandle::MIN_INGRESS, TcHandle::MIN_EGRESS] {
        let mut msg = TcMessage::with_index(ifindex as i32);
        msg.header.parent = TcHandle { major: TcHandle::CLSACT.major, minor };
        let dump = RouteNetlinkMessage::GetTrafficFilter(msg);
        let answer = crate::rtnl::request(dump, NLM_F_DUMP, OP, Some(iface))?;
        if answer.iter().any(|m| matches!(m, RouteNetlinkMessage::NewTrafficFilter(_))) {
            return Ok(());
        }
    }
    let mut msg = TcMessage::with_index(ifindex as i32);
    msg.header.parent = TcHandle::CLSACT;
    msg.header.handle = TcHandle { major: TcHandle::CLSACT.major, minor: 0 };
    msg.attributes.push(TcAttribute::Kind("clsact".to_string()));
    crate::rtnl::request(RouteNetlinkMessage::DelQueueDiscipline(msg), 0, OP, Some(iface)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every build of the committed source has the programs, with clang or without (the
    /// committed object): fails when `bpf/datapath.bpf.o` fell behind its source and clang
    /// is missing.
    #[test]
    #[allow(clippy::assertions_on_constants)] // the constant is the build's outcome under test
    fn the_programs_are_built_in() {
        assert!(BUILT, "no BPF programs in this build: see the build script's warning");
    }

    #[test]
    fn map_values_have_the_c_layout() {
        let word = |b: &[u8], i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap());
        let cfg = BondConfig {
            enabled: true,
            mode: 4,
            policy: 1,
            packets_per_slave: 1,
            igmp_ifindex: 7,
            slaves: vec![7, 9],
            tlb: None,
        };
        let b = cfg.bytes();
        let words: Vec<u32> = (0..8).map(|i| word(&b, i)).collect();
        assert_eq!(words, [1, 4, 1, 1, 7, 2, 7, 9]);
        let active = 4 * (6 + MAX_SLAVES) + 4 * (3 + MAX_SLAVES) + 6 * MAX_SLAVES;
        assert!(b[32..active].iter().all(|&x| x == 0), "no table");
        assert_eq!(b[active], NO_SLOT, "no active slot");
        assert!(b[CFG_LEN - TLB_BUCKETS..].iter().all(|&x| x == NO_SLOT), "no bucket");
        // Too many slaves: disabled, never a partial list the kernel would use.
        let many = BondConfig { slaves: (1..=17).collect(), ..cfg.clone() };
        assert_eq!(word(&many.bytes(), 0), 0);

        let mut buckets = [Some(1); TLB_BUCKETS];
        buckets[3] = None;
        let tlb = TlbConfig {
            alb: true,
            dynamic: true,
            slots: vec![(7, Some([2, 0, 0, 0, 0, 7])), (9, None)],
            active: Some(0),
            usable: vec![0, 1],
            buckets,
        };
        let b = BondConfig { mode: 6, tlb: Some(tlb.clone()), ..cfg.clone() }.bytes();
        let at = 4 * (6 + MAX_SLAVES);
        assert_eq!(&b[at..at + 12], &[7, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0], "flags, count, macs");
        assert_eq!(&b[at + 12..at + 20], &[7, 0, 0, 0, 9, 0, 0, 0], "slot ifindexes");
        let macs = at + 12 + 4 * MAX_SLAVES;
        assert_eq!(&b[macs..macs + 12], &[2, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0]);
        let active = macs + 6 * MAX_SLAVES;
        assert_eq!(&b[active..active + 4], &[0, 2, 0, 1], "active, usable count, usable");
        let buckets = CFG_LEN - TLB_BUCKETS;
        assert_eq!(&b[buckets..buckets + 5], &[1, 1, 1, NO_SLOT, 1]);
        // A bucket naming a slot that does not exist: the whole bond is off.
        let mut bad = tlb;
        bad.buckets[9] = Some(2);
        let b = BondConfig { tlb: Some(bad), ..cfg }.bytes();
        assert_eq!(word(&b, 0), 0);

        let rx = SlaveRx {
            tap_ifindex: 3,
            enabled: true,
            unicast_only: true,
            stamp: true,
            copies: true,
            own_mac: [2, 0, 0, 0, 0, 1],
            bond_mac: [2, 0, 0, 0, 0, 9],
            slave_macs: vec![[2, 0, 0, 0, 0, 1]],
            ..SlaveRx::default()
        };
        let b = rx.bytes();
        assert_eq!(&b[..8], &[3, 0, 0, 0, 0b1_1101, 0, 0, 0]);
        assert_eq!(&b[8..20], &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 9]);
        assert_eq!(&b[20..30], &[1, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
        assert!(b[30..].iter().all(|&x| x == 0));
    }

    #[test]
    fn counters_are_summed_over_the_cpus_in_the_c_layout() {
        // frames[forwarded, passed, dropped, duplicate], then bytes[...], per CPU.
        let cpus = [[1, 2, 3, 4, 100, 200, 300, 400], [10, 0, 0, 1, 1000, 0, 0, 60]];
        let c = FrameCounters::sum(cpus.iter());
        assert_eq!(c.forwarded, Count { frames: 11, bytes: 1100 });
        assert_eq!(c.passed, Count { frames: 2, bytes: 200 });
        assert_eq!(c.dropped, Count { frames: 3, bytes: 300 });
        assert_eq!(c.duplicate, Count { frames: 5, bytes: 460 });
    }
}
