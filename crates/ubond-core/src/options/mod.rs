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
//! Not kernel (clearly marked in [`OptionId::is_ubond_extension`]): `lacp_fallback` and
//! `ad_unknown_speed`.

mod error;
mod module;
pub mod netlink;
mod parse;
mod saved;
mod spec;
mod values;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use self::error::{OptionError, Warning};

/// Linux `dev_valid_name`: an interface name of 1 to 15 bytes, not `.` or `..`, without `/`,
/// `:` or white space (for bonds and slaves alike).
pub fn valid_interface_name(name: &str) -> bool {
    parse::dev_valid_name(name)
}
pub use self::module::{parse_module_options, ModuleOptions, ModuleOptionsError};
pub use self::spec::{OptionId, Scope};
pub use self::values::{
    ad_select_from_number, ad_select_number, ArpAllTargets, ArpValidate, FailOverMac, LacpRate,
    Mode, PrimaryReselect, UnknownValue,
};
pub use crate::hash::XmitHashPolicy;
pub use crate::lacp::selection::AdSelect;
pub use crate::lacp::UnknownSpeed;
use ubond_wire::MacAddr;

use self::parse::{first_word, in4_pton, ip6_target_ok, ip_target_ok, mac_pton, parse_value};
use self::spec::{allowed, IFDOWN, NOSLAVES};

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

/// Parses a write to the `slaves` file (`+eth0`, `-eth0`), as `bond_option_slaves_set`.
pub fn parse_slaves_command(value: &str) -> Result<SlaveCommand, OptionError> {
    let command = first_word(value, parse::IFNAMSIZ);
    let bad = || OptionError::NotPermitted {
        option: "slaves",
        value: cut_newline(value).to_owned(),
        reason: "no command found in slaves file - use +ifname or -ifname".to_owned(),
    };
    let name = command.get(1..).ok_or_else(bad)?;
    if !parse::dev_valid_name(name) {
        return Err(bad());
    }
    match command.as_bytes().first() {
        Some(b'+') => Ok(SlaveCommand::Add(name.to_owned())),
        Some(b'-') => Ok(SlaveCommand::Remove(name.to_owned())),
        _ => Err(bad()),
    }
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
        }
    }
}

fn cut_newline(s: &str) -> &str {
    s.split('\n').next().unwrap_or("")
}

fn int(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn byte(v: u64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn short(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
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

    /// The kernel's `bond_opt_check_deps`: mode, then no-slaves, then bond-down.
    fn check_deps(&self, id: OptionId, ctx: &SetContext) -> Result<(), OptionError> {
        let spec = id.spec();
        let option = spec.name;
        if !id.applies_to(self.mode) {
            return Err(OptionError::NotSupportedInMode {
                option,
                mode: self.mode,
                supported: id.modes(),
            });
        }
        if spec.flags & NOSLAVES != 0 && ctx.has_slaves() {
            return Err(OptionError::HasSlaves { option });
        }
        if spec.flags & IFDOWN != 0 && ctx.is_up {
            return Err(OptionError::BondIsUp { option });
        }
        Ok(())
    }

    /// Sets option `name` to `value` as a write to its sysfs file would (see the module docs
    /// for the order of checks). `value` may end in a newline, as `echo` writes it. Returns the
    /// kernel's warnings for an accepted value; on error nothing changed.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        ctx: &SetContext,
    ) -> Result<Vec<Warning>, OptionError> {
        let id = Self::lookup(name)?;
        match id.scope() {
            Scope::Module => return Err(OptionError::ModuleOnly { option: id.name() }),
            Scope::Action => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "enslaving and releasing are bond operations, not settings (see parse_slaves_command)",
                })
            }
            Scope::Slave => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "a per-slave option: use set_slave(slave, name, value, ctx)",
                })
            }
            Scope::Bond => {}
        }
        self.check_deps(id, ctx)?;
        self.apply_value(id, value, ctx)
    }

    /// Parses `value` and applies it, with its side effects, without the mode and flag
    /// checks (`set` makes those first).
    fn apply_value(
        &mut self,
        id: OptionId,
        value: &str,
        ctx: &SetContext,
    ) -> Result<Vec<Warning>, OptionError> {
        let mut warnings = Vec::new();
        if let Some(tbl) = id.spec().table {
            let v = parse_value(tbl, value).ok_or_else(|| OptionError::InvalidValue {
                option: id.name(),
                value: cut_newline(value).to_owned(),
                allowed: allowed(tbl),
            })?;
            self.apply(id, v, &mut warnings)?;
        } else {
            self.apply_raw(id, value, ctx, &mut warnings)?;
        }
        Ok(warnings)
    }

    /// The `bond_option_*_set` functions of the options with a value table.
    fn apply(&mut self, id: OptionId, v: u64, w: &mut Vec<Warning>) -> Result<(), OptionError> {
        use OptionId as O;
        match id {
            O::Mode => {
                let mode = Mode::from_number(v).unwrap_or_default();
                self.set_mode(mode, w);
            }
            O::PacketsPerSlave => self.packets_per_slave = short(v),
            O::XmitHashPolicy => {
                self.xmit_hash_policy = XmitHashPolicy::from_number(v).unwrap_or_default()
            }
            O::ArpValidate => self.arp_validate = ArpValidate::from_number(v).unwrap_or_default(),
            O::ArpAllTargets => {
                self.arp_all_targets = ArpAllTargets::from_number(v).unwrap_or_default()
            }
            O::FailOverMac => self.fail_over_mac = FailOverMac::from_number(v).unwrap_or_default(),
            O::ArpInterval => self.set_arp_interval(int(v), w),
            O::ArpMissedMax => self.arp_missed_max = byte(v),
            O::Downdelay => self.downdelay = self.delay(id, "down delay", int(v), w)?,
            O::Updelay => self.updelay = self.delay(id, "up delay", int(v), w)?,
            O::PeerNotifDelay => {
                self.peer_notif_delay = self.delay(id, "peer notification delay", int(v), w)?
            }
            O::LacpActive => self.lacp_active = v != 0,
            O::LacpRate => self.lacp_rate = LacpRate::from_number(v).unwrap_or_default(),
            O::MinLinks => self.min_links = int(v),
            O::AdSelect => self.ad_select = ad_select_from_number(v).unwrap_or_default(),
            O::NumUnsolNa | O::NumGratArp => self.num_peer_notif = byte(v),
            O::Miimon => self.set_miimon(int(v), w),
            O::PrimaryReselect => {
                self.primary_reselect = PrimaryReselect::from_number(v).unwrap_or_default()
            }
            O::UseCarrier => self.use_carrier = true,
            O::AllSlavesActive => self.all_slaves_active = v != 0,
            O::ResendIgmp => self.resend_igmp = byte(v),
            O::LpInterval => self.lp_interval = int(v),
            O::TlbDynamicLb => self.tlb_dynamic_lb = v != 0,
            O::AdActorSysPrio => self.ad_actor_sys_prio = short(v),
            O::AdUserPortKey => self.ad_user_port_key = short(v),
            O::CoupledControl => self.coupled_control = v != 0,
            O::BroadcastNeighbor => self.broadcast_neighbor = v != 0,
            O::LacpStrict => self.lacp_strict = v != 0,
            O::LacpFallback => self.lacp_fallback = v != 0,
            // Raw, per-slave, module-only and action options never reach here.
            O::ArpIpTarget
            | O::NsIp6Target
            | O::Primary
            | O::ActiveSlave
            | O::QueueId
            | O::Slaves
            | O::AdActorSystem
            | O::Prio
            | O::ActorPortPrio
            | O::MaxBonds
            | O::TxQueues
            | O::AdUnknownSpeed => {}
        }
        Ok(())
    }

    /// `bond_option_mode_set`.
    fn set_mode(&mut self, mode: Mode, w: &mut Vec<Warning>) {
        if !mode.uses_arp() {
            if self.arp_interval != 0 {
                w.push(Warning::new(
                    "mode",
                    format!(
                        "{} mode is incompatible with arp monitoring, start mii monitoring",
                        mode.name()
                    ),
                ));
                self.arp_interval = 0;
            }
            if self.miimon == 0 {
                self.miimon = DEFAULT_MIIMON;
                w.push(Warning::new(
                    "mode",
                    format!("Setting MII monitoring interval to {DEFAULT_MIIMON}"),
                ));
            }
        }
        if mode == Mode::BalanceAlb && !self.tlb_dynamic_lb {
            self.tlb_dynamic_lb = true;
            w.push(Warning::new(
                "mode",
                "tlb_dynamic_lb forced to 1: balance-alb always balances dynamically",
            ));
        }
        if self.arp_validate != ArpValidate::None {
            w.push(Warning::new(
                "mode",
                format!(
                    "arp_validate reset from {} to none: it is not kept across modes",
                    self.arp_validate
                ),
            ));
            self.arp_validate = ArpValidate::None;
        }
        if self.broadcast_neighbor {
            w.push(Warning::new("mode", "broadcast_neighbor reset to 0 by the mode change"));
            self.broadcast_neighbor = false;
        }
        self.mode = mode;
    }

    /// `bond_option_miimon_set`.
    fn set_miimon(&mut self, v: u32, w: &mut Vec<Warning>) {
        self.miimon = v;
        for (name, mult) in [
            ("updelay", self.updelay),
            ("downdelay", self.downdelay),
            ("peer_notif_delay", self.peer_notif_delay),
        ] {
            if mult != 0 {
                w.push(Warning::new(
                    "miimon",
                    format!(
                        "Note: Updating {name} (to {}) since it is a multiple of the miimon value",
                        u64::from(mult) * u64::from(v)
                    ),
                ));
            }
        }
        if v != 0 && self.arp_interval != 0 {
            w.push(Warning::new(
                "miimon",
                "MII monitoring cannot be used with ARP monitoring - disabling ARP monitoring...",
            ));
            self.arp_interval = 0;
            self.arp_validate = ArpValidate::None;
        }
    }

    /// `_bond_option_delay_set`: returns the multiplier to store.
    fn delay(
        &self,
        id: OptionId,
        what: &str,
        v: u32,
        w: &mut Vec<Warning>,
    ) -> Result<u32, OptionError> {
        if self.miimon == 0 {
            return Err(OptionError::NotPermitted {
                option: id.name(),
                value: v.to_string(),
                reason: format!("Unable to set {what} as MII monitoring is disabled"),
            });
        }
        let rounded = v / self.miimon * self.miimon;
        if rounded != v {
            w.push(Warning::new(
                id.name(),
                format!(
                    "{what} ({v}) is not a multiple of miimon ({}), value rounded to {rounded} ms",
                    self.miimon
                ),
            ));
        }
        Ok(v / self.miimon)
    }

    /// `bond_option_arp_interval_set`.
    fn set_arp_interval(&mut self, v: u32, w: &mut Vec<Warning>) {
        self.arp_interval = v;
        if v != 0 {
            if self.miimon != 0 {
                w.push(Warning::new(
                    "arp_interval",
                    "ARP monitoring cannot be used with MII monitoring. Disabling MII monitoring",
                ));
                self.miimon = 0;
            }
            if self.arp_ip_target.is_empty() {
                w.push(Warning::new(
                    "arp_interval",
                    "ARP monitoring has been set up, but no ARP targets have been specified",
                ));
            }
        }
    }

    /// The options whose set function parses the text itself (`BOND_OPTFLAG_RAWVAL`).
    fn apply_raw(
        &mut self,
        id: OptionId,
        value: &str,
        ctx: &SetContext,
        w: &mut Vec<Warning>,
    ) -> Result<(), OptionError> {
        let option = id.name();
        let shown = cut_newline(value).to_owned();
        match id {
            OptionId::ArpIpTarget => self.arp_target_command(value, w),
            OptionId::NsIp6Target => self.ns_target_command(value),
            OptionId::Primary => {
                self.set_primary(cut_newline(value), ctx, w);
                Ok(())
            }
            OptionId::ActiveSlave => self.set_active_slave(value, ctx),
            OptionId::QueueId => self.set_queue_id_command(value, ctx),
            OptionId::AdActorSystem => {
                let mac = mac_pton(value.as_bytes()).ok_or_else(|| OptionError::InvalidValue {
                    option,
                    value: shown.clone(),
                    allowed: "a unicast MAC address aa:bb:cc:dd:ee:ff".to_owned(),
                })?;
                if mac.is_multicast() {
                    return Err(OptionError::Rejected {
                        option,
                        value: shown,
                        reason: "Invalid ad_actor_system MAC address. (a multicast address cannot be a system ID)"
                            .to_owned(),
                    });
                }
                self.ad_actor_system = mac;
                Ok(())
            }
            OptionId::AdUnknownSpeed => {
                self.ad_unknown_speed =
                    parse_unknown_speed(value).ok_or(OptionError::InvalidValue {
                        option,
                        value: shown,
                        allowed: "refuse, default (10000), or a speed in Mbit/s 1-4294967295"
                            .to_owned(),
                    })?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `bond_option_arp_ip_targets_set` for a sysfs write: `+a.b.c.d` or `-a.b.c.d`.
    fn arp_target_command(&mut self, value: &str, w: &mut Vec<Warning>) -> Result<(), OptionError> {
        let option = "arp_ip_target";
        let shown = cut_newline(value).to_owned();
        let bytes = value.as_bytes();
        let perm = |reason: &str| OptionError::NotPermitted {
            option,
            value: shown.clone(),
            reason: reason.to_owned(),
        };
        let ip = bytes
            .get(1..)
            .and_then(in4_pton)
            .ok_or_else(|| perm("invalid ARP target specified (use +a.b.c.d or -a.b.c.d)"))?;
        match bytes.first() {
            Some(b'+') => self.add_arp_target(ip).map_err(|reason| OptionError::Rejected {
                option,
                value: shown.clone(),
                reason,
            }),
            Some(b'-') => {
                let Some(i) = self.arp_ip_target.iter().position(|t| *t == ip) else {
                    let reason = if ip_target_ok(ip) {
                        format!("unable to remove nonexistent ARP target {ip}")
                    } else {
                        format!("invalid ARP target {ip} specified for removal")
                    };
                    return Err(OptionError::Rejected { option, value: shown, reason });
                };
                if self.arp_ip_target.len() == 1 && self.arp_interval != 0 {
                    w.push(Warning::new(option, "Removing last arp target with arp_interval on"));
                }
                self.arp_ip_target.remove(i);
                Ok(())
            }
            _ => Err(perm("no command found in arp_ip_targets file - use +<addr> or -<addr>")),
        }
    }

    /// `_bond_option_arp_ip_target_add`: the kernel's reason on refusal.
    fn add_arp_target(&mut self, ip: Ipv4Addr) -> Result<(), String> {
        if !ip_target_ok(ip) {
            return Err(format!("invalid ARP target {ip} specified for addition"));
        }
        if self.arp_ip_target.contains(&ip) {
            return Err(format!("ARP target {ip} is already present"));
        }
        if self.arp_ip_target.len() >= MAX_TARGETS {
            return Err("ARP target table is full!".to_owned());
        }
        self.arp_ip_target.push(ip);
        Ok(())
    }

    /// `ns_ip6_target`: `+addr` / `-addr` as for `arp_ip_target` (the upstream kernel sets NS
    /// targets through netlink only, as a whole list; the sysfs-style command is ubond's).
    fn ns_target_command(&mut self, value: &str) -> Result<(), OptionError> {
        let option = "ns_ip6_target";
        let shown = cut_newline(value).to_owned();
        let word = first_word(value, 64);
        let (cmd, addr) = match word.as_bytes().first() {
            Some(b'+') => (true, &word[1..]),
            Some(b'-') => (false, &word[1..]),
            _ => {
                return Err(OptionError::NotPermitted {
                    option,
                    value: shown,
                    reason: "no command found in ns_ip6_target - use +<addr> or -<addr>".to_owned(),
                })
            }
        };
        let ip: Ipv6Addr = addr.parse().map_err(|_| OptionError::NotPermitted {
            option,
            value: shown.clone(),
            reason: "invalid NS target specified (use +<ipv6> or -<ipv6>)".to_owned(),
        })?;
        if cmd {
            self.add_ns_target(ip).map_err(|reason| OptionError::Rejected {
                option,
                value: shown,
                reason,
            })
        } else {
            let i = self.ns_ip6_target.iter().position(|t| *t == ip).ok_or_else(|| {
                OptionError::Rejected {
                    option,
                    value: shown.clone(),
                    reason: format!("unable to remove nonexistent NS target {ip}"),
                }
            })?;
            self.ns_ip6_target.remove(i);
            Ok(())
        }
    }

    fn add_ns_target(&mut self, ip: Ipv6Addr) -> Result<(), String> {
        if !ip6_target_ok(ip) {
            return Err(format!("invalid NS target {ip} specified for addition"));
        }
        if self.ns_ip6_target.contains(&ip) {
            return Err(format!("NS target {ip} is already present"));
        }
        if self.ns_ip6_target.len() >= MAX_TARGETS {
            return Err("NS target table is full!".to_owned());
        }
        self.ns_ip6_target.push(ip);
        Ok(())
    }

    /// `bond_option_primary_set`: any text is recorded (at most 15 bytes), enslaved or not.
    fn set_primary(&mut self, p: &str, ctx: &SetContext, w: &mut Vec<Warning>) {
        if p.is_empty() {
            self.primary = None;
            return;
        }
        if ctx.slave(p).is_some() {
            self.primary = Some(p.to_owned());
            return;
        }
        let mut cut = p.len().min(parse::IFNAMSIZ - 1);
        while !p.is_char_boundary(cut) {
            cut -= 1;
        }
        let recorded = &p[..cut];
        w.push(Warning::new(
            "primary",
            format!("Recording {recorded} as primary, but it has not been enslaved yet"),
        ));
        self.primary = Some(recorded.to_owned());
    }

    /// `bond_option_active_slave_set`.
    fn set_active_slave(&mut self, value: &str, ctx: &SetContext) -> Result<(), OptionError> {
        let option = "active_slave";
        let name = first_word(value, parse::IFNAMSIZ - 1);
        if name.is_empty() || value.starts_with('\n') {
            self.active_slave = None;
            return Ok(());
        }
        let Some(slave) = ctx.slave(name) else {
            return Err(OptionError::NoSuchSlave { option, name: name.to_owned() });
        };
        if ctx.active_slave.as_deref() == Some(name) {
            self.active_slave = Some(name.to_owned());
            return Ok(());
        }
        if ctx.active_slave.is_none() || !slave.usable {
            return Err(OptionError::Rejected {
                option,
                value: name.to_owned(),
                reason: format!(
                    "Could not set as active slave; either {name} is down or the link is down{}",
                    if ctx.active_slave.is_none() {
                        " (or the bond has no active slave yet)"
                    } else {
                        ""
                    }
                ),
            });
        }
        self.active_slave = Some(name.to_owned());
        Ok(())
    }

    /// `bond_option_queue_id_set`: `ifname:N`.
    fn set_queue_id_command(&mut self, value: &str, ctx: &SetContext) -> Result<(), OptionError> {
        let shown = cut_newline(value).to_owned();
        let perm = |reason: String| OptionError::NotPermitted {
            option: "queue_id",
            value: shown.clone(),
            reason,
        };
        let (name, qid) = value.split_once(':').ok_or_else(|| {
            perm("invalid input for queue_id set: use ifname:queue_id".to_owned())
        })?;
        let qid = scan_short(qid).ok_or_else(|| {
            perm("invalid input for queue_id set: use ifname:queue_id".to_owned())
        })?;
        self.set_queue_id(name, qid, ctx).map_err(perm)
    }

    fn set_queue_id(&mut self, name: &str, qid: u16, ctx: &SetContext) -> Result<(), String> {
        if !parse::dev_valid_name(name) {
            return Err(format!("{name:?} is not a valid interface name"));
        }
        // The kernel compares with `>`: a queue id equal to the number of queues is accepted.
        if qid > self.tx_queues {
            return Err(format!("queue id {qid} is above tx_queues ({})", self.tx_queues));
        }
        if ctx.slave(name).is_none() {
            return Err(format!("{name} is not a slave of this bond"));
        }
        if qid != 0 {
            if let Some(other) =
                ctx.slaves.iter().find(|s| s.name != name && self.slave(&s.name).queue_id == qid)
            {
                return Err(format!("queue id {qid} is already used by {}", other.name));
            }
        }
        self.slave_options.entry(name.to_owned()).or_default().queue_id = qid;
        Ok(())
    }

    /// Sets a per-slave option (`queue_id`, `prio`, `actor_port_prio`) of `slave`, as
    /// `ip link set <slave> type bond_slave <name> <value>` does. The slave must be in
    /// `ctx.slaves`. Values are decimal numbers.
    pub fn set_slave(
        &mut self,
        slave: &str,
        name: &str,
        value: &str,
        ctx: &SetContext,
    ) -> Result<Vec<Warning>, OptionError> {
        let id = Self::lookup(name)?;
        let option = id.name();
        let shown = cut_newline(value).to_owned();
        if !matches!(id, OptionId::QueueId | OptionId::Prio | OptionId::ActorPortPrio) {
            return Err(OptionError::NotASetting {
                option,
                hint: "not a per-slave option (per-slave: queue_id, prio, actor_port_prio)",
            });
        }
        self.check_deps(id, ctx)?;
        if ctx.slave(slave).is_none() {
            return Err(OptionError::NoSuchSlave { option, name: slave.to_owned() });
        }
        let word = value.trim_matches(|c: char| c.is_ascii_whitespace());
        let mut warnings = Vec::new();
        match id {
            OptionId::QueueId => {
                let qid: u16 = word.parse().map_err(|_| OptionError::InvalidValue {
                    option,
                    value: shown.clone(),
                    allowed: format!("0-{}", self.tx_queues),
                })?;
                self.set_queue_id(slave, qid, ctx).map_err(|reason| OptionError::NotPermitted {
                    option,
                    value: shown,
                    reason,
                })?;
            }
            OptionId::Prio => {
                let prio: i32 = word.parse().map_err(|_| OptionError::InvalidValue {
                    option,
                    value: shown,
                    allowed: format!("{}-{}", i32::MIN, i32::MAX),
                })?;
                self.slave_options.entry(slave.to_owned()).or_default().prio = prio;
                if self.primary.is_some() {
                    warnings.push(Warning::new(
                        option,
                        "prio updated, but will not affect failover re-selection as primary slave have been set",
                    ));
                }
            }
            _ => {
                let prio: u16 = word.parse().map_err(|_| OptionError::InvalidValue {
                    option,
                    value: shown,
                    allowed: "0-65535".to_owned(),
                })?;
                self.slave_options.entry(slave.to_owned()).or_default().actor_port_prio = prio;
            }
        }
        Ok(warnings)
    }

    /// Reads a per-slave option of `slave` (`queue_id`, `prio`, `actor_port_prio`) as a number.
    pub fn get_slave(&self, slave: &str, name: &str) -> Result<String, OptionError> {
        let id = Self::lookup(name)?;
        let s = self.slave(slave);
        match id {
            OptionId::QueueId => Ok(s.queue_id.to_string()),
            OptionId::Prio => Ok(s.prio.to_string()),
            OptionId::ActorPortPrio => Ok(s.actor_port_prio.to_string()),
            _ => Err(OptionError::NotASetting {
                option: id.name(),
                hint: "not a per-slave option (per-slave: queue_id, prio, actor_port_prio)",
            }),
        }
    }

    /// Reads option `name` in sysfs's format, without the trailing newline: `name number` for
    /// valued options (`802.3ad 4`, `layer3+4 1`, `slow 0`), numbers for numeric ones, delays
    /// in milliseconds, targets separated by spaces, an empty string for an unset `primary` or
    /// `active_slave` — and, as in the kernel, an empty string for `ad_actor_sys_prio`,
    /// `ad_actor_system` and `ad_user_port_key` outside 802.3ad mode. `queue_id` lists
    /// `ifname:N` for the slaves whose options were set, by name.
    pub fn get(&self, name: &str) -> Result<String, OptionError> {
        use OptionId as O;
        let id = Self::lookup(name)?;
        let onoff = |b: bool| if b { "on 1" } else { "off 0" }.to_owned();
        let num = |b: bool| u8::from(b).to_string();
        let ad = self.mode == Mode::Ieee8023ad;
        Ok(match id {
            O::Mode => self.mode.sysfs(),
            O::PacketsPerSlave => self.packets_per_slave.to_string(),
            O::XmitHashPolicy => format!("{:#}", self.xmit_hash_policy),
            O::ArpValidate => self.arp_validate.sysfs(),
            O::ArpAllTargets => self.arp_all_targets.sysfs(),
            O::FailOverMac => self.fail_over_mac.sysfs(),
            O::ArpInterval => self.arp_interval.to_string(),
            O::ArpMissedMax => self.arp_missed_max.to_string(),
            O::ArpIpTarget => join(&self.arp_ip_target),
            O::NsIp6Target => join(&self.ns_ip6_target),
            O::Downdelay => self.downdelay_ms().to_string(),
            O::Updelay => self.updelay_ms().to_string(),
            O::PeerNotifDelay => self.peer_notif_delay_ms().to_string(),
            O::LacpActive => onoff(self.lacp_active),
            O::LacpRate => self.lacp_rate.sysfs(),
            O::MinLinks => self.min_links.to_string(),
            O::AdSelect => {
                format!("{} {}", self.ad_select, ad_select_number(self.ad_select))
            }
            O::NumUnsolNa | O::NumGratArp => self.num_peer_notif.to_string(),
            O::Miimon => self.miimon.to_string(),
            O::Primary => self.primary.clone().unwrap_or_default(),
            O::PrimaryReselect => self.primary_reselect.sysfs(),
            O::UseCarrier => "1".to_owned(),
            O::ActiveSlave => self.active_slave.clone().unwrap_or_default(),
            O::QueueId => self
                .slave_options
                .iter()
                .map(|(n, s)| format!("{n}:{}", s.queue_id))
                .collect::<Vec<_>>()
                .join(" "),
            O::AllSlavesActive => num(self.all_slaves_active),
            O::ResendIgmp => self.resend_igmp.to_string(),
            O::LpInterval => self.lp_interval.to_string(),
            O::Slaves => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "the slave list is the bond's state, not an option",
                })
            }
            O::TlbDynamicLb => num(self.tlb_dynamic_lb),
            O::AdActorSysPrio if ad => self.ad_actor_sys_prio.to_string(),
            O::AdActorSystem if ad => self.ad_actor_system.to_string(),
            O::AdUserPortKey if ad => self.ad_user_port_key.to_string(),
            O::AdActorSysPrio | O::AdActorSystem | O::AdUserPortKey => String::new(),
            O::CoupledControl => num(self.coupled_control),
            O::BroadcastNeighbor => num(self.broadcast_neighbor),
            O::LacpStrict => num(self.lacp_strict),
            O::Prio | O::ActorPortPrio => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "a per-slave option: use get_slave(slave, name)",
                })
            }
            O::MaxBonds => self.max_bonds.to_string(),
            O::TxQueues => self.tx_queues.to_string(),
            O::LacpFallback => onoff(self.lacp_fallback),
            O::AdUnknownSpeed => match self.ad_unknown_speed {
                UnknownSpeed::Refuse => "refuse".to_owned(),
                UnknownSpeed::Assume(mbps) => mbps.to_string(),
            },
        })
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
}

/// `sscanf("%hd")`: optional white space and sign, then digits; the kernel stores the result in
/// a `u16`, so `-1` becomes 65535 (and is then refused as above `tx_queues`).
fn scan_short(s: &str) -> Option<u16> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().ok()?;
    let n = if neg { -n } else { n };
    let n = i16::try_from(n).ok()?;
    Some(n as u16)
}

/// `ad_unknown_speed`: `refuse`, `default` (10000) or a speed in Mbit/s (at least 1).
fn parse_unknown_speed(value: &str) -> Option<UnknownSpeed> {
    match first_word(value, 32) {
        "refuse" => Some(UnknownSpeed::Refuse),
        "default" => Some(UnknownSpeed::default()),
        w => match w.parse::<u32>() {
            Ok(n) if n > 0 => Some(UnknownSpeed::Assume(n)),
            _ => None,
        },
    }
}
