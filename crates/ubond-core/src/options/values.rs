//! The valued options' enums, with the kernel's names and numbers (`bond_options.c` value
//! tables, copied in the kernel's order, which decides what `default` means).

use std::fmt;
use std::str::FromStr;

use super::parse::{parse_value, val, Val, DEFAULT, INT_MAX, MAX, MIN};
use crate::lacp::selection::AdSelect;

/// The error of [`FromStr`] on an option enum: the text names no value of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The option whose table was searched, e.g. `mode`.
    pub option: &'static str,
    /// The text given.
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option {}: invalid value {:?}", self.option, self.value)
    }
}

impl std::error::Error for UnknownValue {}

macro_rules! kernel_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $option:literal, $table:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($text:literal, $num:literal, $flags:expr) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        pub(crate) const $table: &[Val] = &[ $( val($text, $num, $flags) ),+ ];

        impl $name {
            /// Every value, in the kernel's table order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The kernel's name, e.g. what sysfs prints first.
            pub const fn name(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }

            /// The kernel's number (the netlink/uAPI value, what sysfs prints second).
            pub const fn number(self) -> u8 {
                match self { $( $name::$variant => $num ),+ }
            }

            /// The value with this kernel number, if any.
            pub const fn from_number(n: u64) -> Option<$name> {
                match n { $( $num => Some($name::$variant), )+ _ => None }
            }

            /// sysfs's format: the name, a space, the number (`802.3ad 4`).
            pub fn sysfs(self) -> String {
                format!("{} {}", self.name(), self.number())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            /// Parses as the kernel's `bond_opt_parse` does: the exact (case-sensitive) name,
            /// the number, or `default` where the table has a default; a trailing newline and
            /// anything after the first word are ignored.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_value($table, s)
                    .and_then($name::from_number)
                    .ok_or_else(|| UnknownValue { option: $option, value: s.to_owned() })
            }
        }
    };
}

kernel_enum! {
    /// `mode`: the bonding mode (`BOND_MODE_*`).
    Mode, "mode", MODE_TBL {
        /// 0: round-robin over the slaves (the kernel default).
        #[default]
        BalanceRr = ("balance-rr", 0, DEFAULT),
        /// 1: one active slave, the others standing by.
        ActiveBackup = ("active-backup", 1, 0),
        /// 2: a slave chosen by `xmit_hash_policy`.
        BalanceXor = ("balance-xor", 2, 0),
        /// 3: every frame on every slave.
        Broadcast = ("broadcast", 3, 0),
        /// 4: IEEE 802.3ad / 802.1AX dynamic link aggregation (LACP).
        Ieee8023ad = ("802.3ad", 4, 0),
        /// 5: adaptive transmit load balancing.
        BalanceTlb = ("balance-tlb", 5, 0),
        /// 6: adaptive load balancing (transmit and receive, by ARP rewriting).
        BalanceAlb = ("balance-alb", 6, 0),
    }
}

impl Mode {
    /// `bond_mode_uses_arp`: every mode but 802.3ad, balance-tlb and balance-alb can use the
    /// ARP monitor.
    pub const fn uses_arp(self) -> bool {
        !matches!(self, Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb)
    }

    /// `bond_mode_uses_primary`: active-backup, balance-tlb and balance-alb have a primary and
    /// an active slave.
    pub const fn uses_primary(self) -> bool {
        matches!(self, Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb)
    }

    /// `bond_mode_name`: the long name in `/proc/net/bonding/bondX`'s "Bonding Mode:" line.
    pub const fn long_name(self) -> &'static str {
        match self {
            Mode::BalanceRr => "load balancing (round-robin)",
            Mode::ActiveBackup => "fault-tolerance (active-backup)",
            Mode::BalanceXor => "load balancing (xor)",
            Mode::Broadcast => "fault-tolerance (broadcast)",
            Mode::Ieee8023ad => "IEEE 802.3ad Dynamic link aggregation",
            Mode::BalanceTlb => "transmit load balancing",
            Mode::BalanceAlb => "adaptive load balancing",
        }
    }

    /// The bit of this mode in an option's mode mask.
    pub(crate) const fn bit(self) -> u8 {
        1 << self.number()
    }
}

/// `xmit_hash_policy`'s table; the enum is [`crate::hash::XmitHashPolicy`].
pub(crate) const XMIT_HASH_TBL: &[Val] = &[
    val("layer2", 0, DEFAULT),
    val("layer3+4", 1, 0),
    val("layer2+3", 2, 0),
    val("encap2+3", 3, 0),
    val("encap3+4", 4, 0),
    val("vlan+srcmac", 5, 0),
];

kernel_enum! {
    /// `arp_validate` (`BOND_ARP_VALIDATE_*`, `BOND_ARP_FILTER*`).
    ArpValidate, "arp_validate", ARP_VALIDATE_TBL {
        /// 0: no validation (the default).
        #[default]
        None = ("none", 0, DEFAULT),
        /// 1: validate on the active slave only.
        Active = ("active", 1, 0),
        /// 2: validate on backup slaves only.
        Backup = ("backup", 2, 0),
        /// 3: validate on all slaves.
        All = ("all", 3, 0),
        /// 4: count only ARP packets as liveness, validate none.
        Filter = ("filter", 4, 0),
        /// 5: filter, and validate the active slave.
        FilterActive = ("filter_active", 5, 0),
        /// 6: filter, and validate backup slaves.
        FilterBackup = ("filter_backup", 6, 0),
    }
}

kernel_enum! {
    /// `arp_all_targets` (`BOND_ARP_TARGETS_*`).
    ArpAllTargets, "arp_all_targets", ARP_ALL_TARGETS_TBL {
        /// 0: a slave is up if any target answers (the default).
        #[default]
        Any = ("any", 0, DEFAULT),
        /// 1: a slave is up only if every target answers.
        All = ("all", 1, 0),
    }
}

kernel_enum! {
    /// `fail_over_mac` (`BOND_FOM_*`).
    FailOverMac, "fail_over_mac", FAIL_OVER_MAC_TBL {
        /// 0: every slave takes the bond's MAC (the default).
        #[default]
        None = ("none", 0, DEFAULT),
        /// 1: the bond takes the active slave's MAC.
        Active = ("active", 1, 0),
        /// 2: the new active slave takes the bond's MAC, the old one gets the new one's.
        Follow = ("follow", 2, 0),
    }
}

kernel_enum! {
    /// `lacp_rate`: the rate we ask the partner to send LACPDUs at. The kernel table has no
    /// default entry, so `lacp_rate=default` is refused.
    LacpRate, "lacp_rate", LACP_RATE_TBL {
        /// 0: every 30 s, 90 s timeout (the initial value).
        #[default]
        Slow = ("slow", 0, 0),
        /// 1: every second, 3 s timeout.
        Fast = ("fast", 1, 0),
    }
}

kernel_enum! {
    /// `primary_reselect` (`BOND_PRI_RESELECT_*`).
    PrimaryReselect, "primary_reselect", PRIMARY_RESELECT_TBL {
        /// 0: the primary becomes active whenever it comes back (the default).
        #[default]
        Always = ("always", 0, DEFAULT),
        /// 1: only if it is better (speed, duplex) than the current active slave.
        Better = ("better", 1, 0),
        /// 2: only when the current active slave fails.
        Failure = ("failure", 2, 0),
    }
}

/// `ad_select`'s table; the enum is [`crate::lacp::selection::AdSelect`].
pub(crate) const AD_SELECT_TBL: &[Val] = &[
    val("stable", 0, DEFAULT),
    val("bandwidth", 1, 0),
    val("count", 2, 0),
    val("actor_port_prio", 3, 0),
];

/// The kernel number of an `ad_select` value.
pub const fn ad_select_number(v: AdSelect) -> u8 {
    match v {
        AdSelect::Stable => 0,
        AdSelect::Bandwidth => 1,
        AdSelect::Count => 2,
        AdSelect::ActorPortPrio => 3,
    }
}

/// The `ad_select` value with this kernel number.
pub const fn ad_select_from_number(n: u64) -> Option<AdSelect> {
    match n {
        0 => Some(AdSelect::Stable),
        1 => Some(AdSelect::Bandwidth),
        2 => Some(AdSelect::Count),
        3 => Some(AdSelect::ActorPortPrio),
        _ => None,
    }
}

// The remaining value tables, as in bond_options.c.
pub(crate) const PPS_TBL: &[Val] = &[val("default", 1, DEFAULT), val("maxval", 65535, MAX)];
pub(crate) const INTMAX_TBL: &[Val] = &[val("off", 0, DEFAULT), val("maxval", INT_MAX, MAX)];
pub(crate) const LACP_ACTIVE_TBL: &[Val] = &[val("off", 0, 0), val("on", 1, DEFAULT)];
pub(crate) const NUM_PEER_NOTIF_TBL: &[Val] =
    &[val("off", 0, 0), val("maxval", 255, MAX), val("default", 1, DEFAULT)];
pub(crate) const PEER_NOTIF_DELAY_TBL: &[Val] = &[val("off", 0, 0), val("maxval", 300_000, MAX)];
/// Linux 6.16 removed `off`: only `on` (1) is accepted.
pub(crate) const USE_CARRIER_TBL: &[Val] = &[val("on", 1, DEFAULT)];
pub(crate) const ALL_SLAVES_ACTIVE_TBL: &[Val] = &[val("off", 0, DEFAULT), val("on", 1, 0)];
pub(crate) const RESEND_IGMP_TBL: &[Val] =
    &[val("off", 0, 0), val("maxval", 255, MAX), val("default", 1, DEFAULT)];
pub(crate) const LP_INTERVAL_TBL: &[Val] =
    &[val("minval", 1, MIN | DEFAULT), val("maxval", INT_MAX, MAX)];
pub(crate) const TLB_DYNAMIC_LB_TBL: &[Val] = &[val("off", 0, 0), val("on", 1, DEFAULT)];
pub(crate) const AD_ACTOR_SYS_PRIO_TBL: &[Val] =
    &[val("minval", 1, MIN), val("maxval", 65535, MAX | DEFAULT)];
pub(crate) const AD_USER_PORT_KEY_TBL: &[Val] =
    &[val("minval", 0, MIN | DEFAULT), val("maxval", 1023, MAX)];
pub(crate) const MISSED_MAX_TBL: &[Val] =
    &[val("minval", 1, MIN), val("maxval", 255, MAX), val("default", 2, DEFAULT)];
pub(crate) const COUPLED_CONTROL_TBL: &[Val] = &[val("on", 1, DEFAULT), val("off", 0, 0)];
pub(crate) const BROADCAST_NEIGH_TBL: &[Val] = &[val("off", 0, DEFAULT), val("on", 1, 0)];
/// Assumed like `broadcast_neighbor` (the upstream table was not available to read).
pub(crate) const LACP_STRICT_TBL: &[Val] = &[val("off", 0, DEFAULT), val("on", 1, 0)];
/// ubond's `lacp_fallback` (not kernel).
pub(crate) const LACP_FALLBACK_TBL: &[Val] = &[val("off", 0, DEFAULT), val("on", 1, 0)];
/// ubond's `bfd` (not kernel).
pub(crate) const BFD_TBL: &[Val] = &[val("off", 0, DEFAULT), val("on", 1, 0)];
/// ubond's `tcp_dup_discard` (not kernel): on by default.
pub(crate) const TCP_DUP_DISCARD_TBL: &[Val] = &[val("off", 0, 0), val("on", 1, DEFAULT)];
/// ubond's `bfd_min_tx` and `bfd_min_rx` (not kernel), in milliseconds: 10 ms to one minute,
/// 50 by default.
pub(crate) const BFD_INTERVAL_TBL: &[Val] =
    &[val("minval", 10, MIN), val("maxval", 60_000, MAX), val("default", 50, DEFAULT)];
/// ubond's `bfd_multiplier` (not kernel): the BFD Detect Mult, 3 by default.
pub(crate) const BFD_MULTIPLIER_TBL: &[Val] =
    &[val("minval", 1, MIN), val("maxval", 255, MAX), val("default", 3, DEFAULT)];
/// Per-slave `prio` is a raw `s32` in the kernel; kept as a range here for the messages.
pub(crate) const U16_TBL: &[Val] = &[val("minval", 0, MIN), val("maxval", 65535, MAX)];
