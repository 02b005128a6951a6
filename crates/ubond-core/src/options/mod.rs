//! Every bonding option with the kernel's names, values, defaults and checks.
//!
//! [`BondOptions`] holds one bond's settings; [`BondOptions::set`] changes one with the
//! semantics of a write to `/sys/class/net/bondX/bonding/<name>` (the kernel's
//! `__bond_opt_set`), and [`BondOptions::get`] reads it back in sysfs's format. The checks run
//! in the kernel's order:
//!
//! 1. the name (unknown: an error with a did-you-mean),
//! 2. the mode (`unsuppmodes`, `EACCES`), then `NOSLAVES` (`ENOTEMPTY`) and `IFDOWN` (`EBUSY`),
//!    judged from a [`SetContext`] — before the value is even parsed, as in the kernel,
//! 3. the value (`bond_opt_parse`: a table name, `default`, or a number in range; `EINVAL`),
//! 4. the option's own checks and side effects (`bond_option_*_set`), reported as
//!    [`Warning`]s: `updelay` rounded down to a multiple of `miimon`, `arp_interval` and
//!    `miimon` switching each other off, `mode` forcing `miimon=100` in modes without ARP
//!    monitoring, `tlb_dynamic_lb` forced on in balance-alb, `arp_validate` reset by a mode
//!    change, and so on.
//!
//! [`parse_module_options`] reads the `modprobe bonding` / `BONDING_OPTS` syntax with the
//! semantics of the kernel's `bond_check_params`, which accepts the parameters in any order.
//! [`netlink::changelink`] gives the rules of `ip link add|set BOND type bond ...` (rtnetlink's
//! `bond_changelink`) as sysfs writes.
//!
//! Text rules of `bond_opt_parse`, reproduced: names are case-sensitive (`Fast` is refused);
//! the value is cut at its first newline; leading white space is skipped; only the first word
//! counts (`fast junk` is `fast`); a value of only digits and white space is a number (`" 4 "`
//! is 4), anything else a name (`4x` is refused, `+4` too); `default` selects the table's
//! default entry where it has one (not for `lacp_rate`); range tables also accept their
//! bound names (`miimon=maxval` is 2147483647, `lp_interval=minval` is 1).
//!
//! Not kernel (clearly marked in [`OptionId::is_ubond_extension`]): `lacp_fallback`,
//! `ad_unknown_speed`, micro-BFD's `bfd`, `bfd_min_tx`, `bfd_min_rx`, `bfd_multiplier` and
//! `bfd_peer` (see [`crate::bfd`]), and broadcast's `tcp_dup_discard` (see
//! [`crate::bond::copies`]).
//!
//! # Where things are
//!
//! This module holds the settings ([`BondOptions`], [`SlaveOptions`]) and what the checks see
//! of the bond ([`SetContext`]); `set` the checked writes (the order of checks above, the
//! `slaves` command), `get` the reads in sysfs's format, `apply` the set functions of the
//! options with a value table, `raw` those that parse their text themselves (targets,
//! `primary`, `active_slave`, `queue_id`, `ad_actor_system`); `spec` the option table, `values`
//! the valued options' enums, `parse` the kernel's text parsers, `error` the errors and
//! warnings, `module` the module-option strings, [`netlink`] `ip link`'s rules.

mod apply;
mod error;
mod get;
mod module;
pub mod netlink;
mod parse;
mod raw;
mod saved;
mod set;
mod spec;
mod values;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub use self::error::{OptionError, Warning};

/// Linux `dev_valid_name`: an interface name of 1 to 15 bytes, not `.` or `..`, without `/`,
/// `:` or white space (for bonds and slaves alike).
pub fn valid_interface_name(name: &str) -> bool {
    parse::dev_valid_name(name)
}
pub use self::module::{parse_module_options, ModuleOptions, ModuleOptionsError};
pub use self::set::parse_slaves_command;
pub use self::spec::{OptionId, Scope};
pub use self::values::{
    ad_select_from_number, ad_select_number, ArpAllTargets, ArpValidate, FailOverMac, LacpRate,
    Mode, PrimaryReselect, UnknownValue,
};
pub use crate::hash::XmitHashPolicy;
pub use crate::lacp::selection::AdSelect;
pub use crate::lacp::UnknownSpeed;
use ubond_wire::MacAddr;

/// `BOND_MAX_ARP_TARGETS` (and `BOND_MAX_NS_TARGETS`): at most 16 targets each.
pub const MAX_TARGETS: usize = 16;
/// `BOND_DEFAULT_MIIMON`: the interval forced in modes that cannot use the ARP monitor.
pub const DEFAULT_MIIMON: u32 = 100;
/// `BOND_DEFAULT_TX_QUEUES`.
pub const DEFAULT_TX_QUEUES: u16 = 16;

/// Per-slave options (`ip link set ethX type bond_slave ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaveOptions {
    /// `queue_id`: the bond tx queue mapped to this slave (0 = none; at most `tx_queues`).
    pub queue_id: u16,
    /// `prio` (Linux 6.0): higher is preferred on failover reselection (active-backup,
    /// balance-tlb, balance-alb). Default 0.
    pub prio: i32,
    /// `actor_port_prio` (Linux 6.18): the LACP port priority, used by
    /// `ad_select=actor_port_prio`. Default 255.
    pub actor_port_prio: u16,
}

impl Default for SlaveOptions {
    fn default() -> Self {
        SlaveOptions { queue_id: 0, prio: 0, actor_port_prio: 255 }
    }
}

/// One slave as the option checks need to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveState {
    /// The interface name.
    pub name: String,
    /// Link up and interface up (`active_slave` accepts only such a slave).
    pub usable: bool,
}

/// The bond's state that decides whether an option can be set now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetContext {
    /// The bond has slaves (`NOSLAVES` options are refused). Also true when `slaves` is not
    /// empty.
    pub has_slaves: bool,
    /// The bond device is up (`IFDOWN` options are refused).
    pub is_up: bool,
    /// The slaves, in enslave order (for `primary`, `active_slave`, `queue_id`).
    pub slaves: Vec<SlaveState>,
    /// The current active slave, if any.
    pub active_slave: Option<String>,
}

impl SetContext {
    /// A bond that is down and has no slaves: every option's flags are satisfied.
    pub fn new() -> SetContext {
        SetContext::default()
    }

    fn has_slaves(&self) -> bool {
        self.has_slaves || !self.slaves.is_empty()
    }

    fn slave(&self, name: &str) -> Option<&SlaveState> {
        self.slaves.iter().find(|s| s.name == name)
    }
}

/// A `slaves` write: enslave or release an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlaveCommand {
    /// `+ifname`
    Add(String),
    /// `-ifname`
    Remove(String),
}

/// All options of one bond, with the kernel's defaults ([`Default`] gives what a bond created
/// with no module parameters has: `balance-rr`, `miimon` 0).
///
/// The fields can be read and written directly; [`BondOptions::set`] is the checked path with
/// the kernel's semantics. Note the delays: as in the kernel, `updelay`, `downdelay` and
/// `peer_notif_delay` are stored as multiples of `miimon` (so changing `miimon` changes them in
/// milliseconds); [`BondOptions::updelay_ms`] and friends give milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondOptions {
    /// `mode` (default balance-rr).
    pub mode: Mode,
    /// `packets_per_slave` (0..=65535, default 1; 0 = a random slave per packet).
    pub packets_per_slave: u16,
    /// `xmit_hash_policy` (default layer2).
    pub xmit_hash_policy: XmitHashPolicy,
    /// `miimon` in ms (0..=`i32::MAX`, default 0; forced to 100 in 802.3ad/tlb/alb).
    pub miimon: u32,
    /// `updelay`, in units of `miimon` (the kernel's storage); see [`Self::updelay_ms`].
    pub updelay: u32,
    /// `downdelay`, in units of `miimon`; see [`Self::downdelay_ms`].
    pub downdelay: u32,
    /// `peer_notif_delay`, in units of `miimon` (0 = notify on every miimon tick); see
    /// [`Self::peer_notif_delay_ms`].
    pub peer_notif_delay: u32,
    /// `use_carrier`: always true since Linux 6.16 (only 1 is accepted).
    pub use_carrier: bool,
    /// `arp_interval` in ms (0 = ARP monitor off).
    pub arp_interval: u32,
    /// `arp_ip_target`: at most [`MAX_TARGETS`] IPv4 targets, in slot order.
    pub arp_ip_target: Vec<Ipv4Addr>,
    /// `ns_ip6_target`: at most [`MAX_TARGETS`] IPv6 targets, in slot order.
    pub ns_ip6_target: Vec<Ipv6Addr>,
    /// `arp_validate` (default none).
    pub arp_validate: ArpValidate,
    /// `arp_all_targets` (default any).
    pub arp_all_targets: ArpAllTargets,
    /// `arp_missed_max` (1..=255, default 2).
    pub arp_missed_max: u8,
    /// `lacp_active` (default on; off = passive LACP).
    pub lacp_active: bool,
    /// `lacp_rate` (default slow).
    pub lacp_rate: LacpRate,
    /// `ad_select` (default stable).
    pub ad_select: AdSelect,
    /// `ad_actor_sys_prio` (1..=65535, default 65535).
    pub ad_actor_sys_prio: u16,
    /// `ad_actor_system` (default 00:00:00:00:00:00 = use the bond's MAC).
    pub ad_actor_system: MacAddr,
    /// `ad_user_port_key` (0..=1023, default 0).
    pub ad_user_port_key: u16,
    /// `min_links` (0..=`i32::MAX`, default 0).
    pub min_links: u32,
    /// `coupled_control` (default on).
    pub coupled_control: bool,
    /// `broadcast_neighbor` (default off; Linux 6.17, netlink only).
    pub broadcast_neighbor: bool,
    /// `lacp_strict` (default off; Linux 7.2 / 7.1.y).
    pub lacp_strict: bool,
    /// `primary`: the name recorded (at most 15 bytes), whether or not it is enslaved yet.
    pub primary: Option<String>,
    /// `primary_reselect` (default always).
    pub primary_reselect: PrimaryReselect,
    /// `active_slave`: the slave last requested as active (a command to the bond; `None`
    /// after clearing).
    pub active_slave: Option<String>,
    /// `fail_over_mac` (default none).
    pub fail_over_mac: FailOverMac,
    /// `num_grat_arp` / `num_unsol_na` (0..=255, default 1).
    pub num_peer_notif: u8,
    /// `resend_igmp` (0..=255, default 1).
    pub resend_igmp: u8,
    /// `all_slaves_active` (default off).
    pub all_slaves_active: bool,
    /// `lp_interval` in seconds (1..=`i32::MAX`, default 1).
    pub lp_interval: u32,
    /// `tlb_dynamic_lb` (default on; forced on when the mode becomes balance-alb).
    pub tlb_dynamic_lb: bool,
    /// `max_bonds` (module parameter only; default 1).
    pub max_bonds: u32,
    /// `tx_queues` (module parameter only; 1..=255, default 16).
    pub tx_queues: u16,
    /// Per-slave options, by slave name (only slaves whose options were set).
    pub slave_options: BTreeMap<String, SlaveOptions>,
    /// ubond extension, not kernel: `lacp_fallback` (default off). On: in 802.3ad, when no
    /// partner speaks LACP, fall back to active-backup over the slaves (like Open vSwitch's
    /// `lacp-fallback-ab`).
    pub lacp_fallback: bool,
    /// ubond extension, not kernel: `ad_unknown_speed` (`refuse` or a speed in Mbit/s,
    /// default 10000): what 802.3ad does with a slave that reports no speed.
    pub ad_unknown_speed: UnknownSpeed,
    /// ubond extension, not kernel: `bfd` (default off). On: a micro-BFD session (RFC 7130)
    /// runs on every member, and a member carries traffic only while its session is Up.
    pub bfd: bool,
    /// ubond extension: `bfd_min_tx`, the BFD Desired Min TX Interval in ms (10..=60000,
    /// default 50).
    pub bfd_min_tx: u32,
    /// ubond extension: `bfd_min_rx`, the BFD Required Min RX Interval in ms (10..=60000,
    /// default 50).
    pub bfd_min_rx: u32,
    /// ubond extension: `bfd_multiplier`, the BFD Detect Mult (1..=255, default 3).
    pub bfd_multiplier: u8,
    /// ubond extension: `bfd_peer`, the partner's address (IPv4 or IPv6) that the sessions
    /// talk to from the bond's address of the same family.
    pub bfd_peer: Option<IpAddr>,
    /// ubond extension, not kernel: `tcp_dup_discard` (default on), broadcast only. On: of the
    /// copies of a TCP segment the members receive, the first goes up and the others are
    /// discarded ([`crate::bond::copies`]); off: every copy goes up, as in Linux.
    pub tcp_dup_discard: bool,
}

impl Default for BondOptions {
    fn default() -> Self {
        BondOptions {
            mode: Mode::BalanceRr,
            packets_per_slave: 1,
            xmit_hash_policy: XmitHashPolicy::Layer2,
            miimon: 0,
            updelay: 0,
            downdelay: 0,
            peer_notif_delay: 0,
            use_carrier: true,
            arp_interval: 0,
            arp_ip_target: Vec::new(),
            ns_ip6_target: Vec::new(),
            arp_validate: ArpValidate::None,
            arp_all_targets: ArpAllTargets::Any,
            arp_missed_max: 2,
            lacp_active: true,
            lacp_rate: LacpRate::Slow,
            ad_select: AdSelect::Stable,
            ad_actor_sys_prio: 65535,
            ad_actor_system: MacAddr::ZERO,
            ad_user_port_key: 0,
            min_links: 0,
            coupled_control: true,
            broadcast_neighbor: false,
            lacp_strict: false,
            primary: None,
            primary_reselect: PrimaryReselect::Always,
            active_slave: None,
            fail_over_mac: FailOverMac::None,
            num_peer_notif: 1,
            resend_igmp: 1,
            all_slaves_active: false,
            lp_interval: 1,
            tlb_dynamic_lb: true,
            max_bonds: 1,
            tx_queues: DEFAULT_TX_QUEUES,
            slave_options: BTreeMap::new(),
            lacp_fallback: false,
            ad_unknown_speed: UnknownSpeed::default(),
            bfd: false,
            bfd_min_tx: 50,
            bfd_min_rx: 50,
            bfd_multiplier: 3,
            bfd_peer: None,
            tcp_dup_discard: true,
        }
    }
}

fn cut_newline(s: &str) -> &str {
    s.split('\n').next().unwrap_or("")
}
impl BondOptions {
    /// The kernel defaults ([`Default`]).
    pub fn new() -> BondOptions {
        BondOptions::default()
    }

    /// `updelay` in milliseconds (`updelay * miimon`, as sysfs shows it).
    pub fn updelay_ms(&self) -> u64 {
        u64::from(self.updelay) * u64::from(self.miimon)
    }

    /// `downdelay` in milliseconds.
    pub fn downdelay_ms(&self) -> u64 {
        u64::from(self.downdelay) * u64::from(self.miimon)
    }

    /// `peer_notif_delay` in milliseconds.
    pub fn peer_notif_delay_ms(&self) -> u64 {
        u64::from(self.peer_notif_delay) * u64::from(self.miimon)
    }

    /// The 802.3ad settings for the LACP core: the actor system is `ad_actor_system`, or
    /// `bond_mac` when that is all-zero (as the kernel does).
    pub fn lacp_config(&self, bond_mac: MacAddr) -> crate::lacp::LacpConfig {
        let system = if self.ad_actor_system.is_zero() { bond_mac } else { self.ad_actor_system };
        let mut c = crate::lacp::LacpConfig::new(system);
        c.system_priority = self.ad_actor_sys_prio;
        c.lacp_active = self.lacp_active;
        c.lacp_fast = self.lacp_rate == LacpRate::Fast;
        c.ad_select = self.ad_select;
        c.user_port_key = self.ad_user_port_key;
        c.coupled_control = self.coupled_control;
        c.min_links = self.min_links;
        c.unknown_speed = self.ad_unknown_speed;
        c
    }

    /// The micro-BFD session settings (`bfd_min_tx`, `bfd_min_rx`, `bfd_multiplier`).
    pub fn bfd_session_config(&self) -> crate::bfd::SessionConfig {
        crate::bfd::SessionConfig {
            desired_min_tx: Duration::from_millis(u64::from(self.bfd_min_tx)),
            required_min_rx: Duration::from_millis(u64::from(self.bfd_min_rx)),
            detect_mult: self.bfd_multiplier.max(1),
            passive: false,
        }
    }

    /// The per-slave options of `slave` (the defaults if none were set).
    pub fn slave(&self, slave: &str) -> SlaveOptions {
        self.slave_options.get(slave).copied().unwrap_or_default()
    }

    /// Looks an option up by name, with a did-you-mean on failure.
    pub fn lookup(name: &str) -> Result<OptionId, OptionError> {
        OptionId::from_name(name).ok_or_else(|| OptionError::UnknownOption {
            name: name.to_owned(),
            suggestion: parse::did_you_mean(name, OptionId::ALL.iter().map(|o| o.name())),
        })
    }
}
