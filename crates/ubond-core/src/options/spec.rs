//! The option table: every option's name, flags, modes and value table, as `bond_opts[]`.

use super::parse::Val;
use super::values::{self as v, Mode};

/// Every option ubond knows: the kernel's bond options (sysfs / netlink names), its two
/// module-only parameters, the per-slave options, and ubond's own extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OptionId {
    /// `mode`
    Mode,
    /// `packets_per_slave`
    PacketsPerSlave,
    /// `xmit_hash_policy`
    XmitHashPolicy,
    /// `arp_validate`
    ArpValidate,
    /// `arp_all_targets`
    ArpAllTargets,
    /// `fail_over_mac`
    FailOverMac,
    /// `arp_interval`
    ArpInterval,
    /// `arp_missed_max`
    ArpMissedMax,
    /// `arp_ip_target`
    ArpIpTarget,
    /// `ns_ip6_target`
    NsIp6Target,
    /// `downdelay`
    Downdelay,
    /// `updelay`
    Updelay,
    /// `lacp_active`
    LacpActive,
    /// `lacp_rate`
    LacpRate,
    /// `min_links`
    MinLinks,
    /// `ad_select`
    AdSelect,
    /// `num_unsol_na` (same setting as `num_grat_arp`)
    NumUnsolNa,
    /// `num_grat_arp` (same setting as `num_unsol_na`)
    NumGratArp,
    /// `miimon`
    Miimon,
    /// `primary`
    Primary,
    /// `primary_reselect`
    PrimaryReselect,
    /// `use_carrier`
    UseCarrier,
    /// `active_slave`
    ActiveSlave,
    /// `queue_id` (per slave; the bond-level sysfs form is `ifname:N`)
    QueueId,
    /// `all_slaves_active`
    AllSlavesActive,
    /// `resend_igmp`
    ResendIgmp,
    /// `lp_interval`
    LpInterval,
    /// `slaves` (an action: `+ifname` / `-ifname`)
    Slaves,
    /// `tlb_dynamic_lb`
    TlbDynamicLb,
    /// `ad_actor_sys_prio`
    AdActorSysPrio,
    /// `ad_actor_system`
    AdActorSystem,
    /// `ad_user_port_key`
    AdUserPortKey,
    /// `peer_notif_delay`
    PeerNotifDelay,
    /// `coupled_control`
    CoupledControl,
    /// `broadcast_neighbor`
    BroadcastNeighbor,
    /// `lacp_strict`
    LacpStrict,
    /// `prio` (per slave)
    Prio,
    /// `actor_port_prio` (per slave)
    ActorPortPrio,
    /// `max_bonds` (module parameter only)
    MaxBonds,
    /// `tx_queues` (module parameter only)
    TxQueues,
    /// `lacp_fallback` (ubond, not kernel)
    LacpFallback,
    /// `ad_unknown_speed` (ubond, not kernel)
    AdUnknownSpeed,
    /// `bfd` (ubond, not kernel): micro-BFD (RFC 7130) on every member
    Bfd,
    /// `bfd_min_tx` (ubond, not kernel): BFD Desired Min TX Interval, ms
    BfdMinTx,
    /// `bfd_min_rx` (ubond, not kernel): BFD Required Min RX Interval, ms
    BfdMinRx,
    /// `bfd_multiplier` (ubond, not kernel): BFD Detect Mult
    BfdMultiplier,
    /// `bfd_peer` (ubond, not kernel): the partner's address for micro-BFD
    BfdPeer,
    /// `tcp_dup_discard` (ubond, not kernel): broadcast discards the members' copies of a TCP
    /// segment
    TcpDupDiscard,
}

/// `BOND_OPTFLAG_NOSLAVES`
pub(crate) const NOSLAVES: u8 = 1;
/// `BOND_OPTFLAG_IFDOWN`
pub(crate) const IFDOWN: u8 = 2;
/// `BOND_OPTFLAG_RAWVAL`: the set function parses the text itself.
pub(crate) const RAWVAL: u8 = 4;

/// Where an option lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A bond option (sysfs file and/or netlink attribute).
    Bond,
    /// A per-slave option (`bond_slave` netlink attributes).
    Slave,
    /// A module parameter with no sysfs file or netlink attribute.
    Module,
    /// An action rather than a setting.
    Action,
}

pub(crate) struct Spec {
    pub name: &'static str,
    pub flags: u8,
    /// Bit per mode in which the option is refused (`unsuppmodes`).
    pub unsupp: u8,
    pub table: Option<&'static [Val]>,
    pub scope: Scope,
    /// Also a `modprobe bonding` parameter.
    pub module_param: bool,
    /// ubond's own, not the kernel's.
    pub ubond: bool,
}

const ALL: u8 = 0x7f;
const RR: u8 = Mode::BalanceRr.bit();
const AB: u8 = Mode::ActiveBackup.bit();
const AD: u8 = Mode::Ieee8023ad.bit();
const TLB: u8 = Mode::BalanceTlb.bit();
const ALB: u8 = Mode::BalanceAlb.bit();
const BC: u8 = Mode::Broadcast.bit();
const fn all_ex(keep: u8) -> u8 {
    ALL & !keep
}

const fn spec(name: &'static str, flags: u8, unsupp: u8, table: Option<&'static [Val]>) -> Spec {
    Spec { name, flags, unsupp, table, scope: Scope::Bond, module_param: false, ubond: false }
}
const fn module(mut s: Spec) -> Spec {
    s.module_param = true;
    s
}
const fn scoped(mut s: Spec, scope: Scope) -> Spec {
    s.scope = scope;
    s
}
const fn ubond(mut s: Spec) -> Spec {
    s.ubond = true;
    s
}

impl OptionId {
    /// Every option, in the order of the kernel's `bond_opts[]` initializer, then the module-only
    /// parameters, then ubond's extensions.
    pub const ALL: &'static [OptionId] = &[
        OptionId::Mode,
        OptionId::PacketsPerSlave,
        OptionId::XmitHashPolicy,
        OptionId::ArpValidate,
        OptionId::ArpAllTargets,
        OptionId::FailOverMac,
        OptionId::ArpInterval,
        OptionId::ArpMissedMax,
        OptionId::ArpIpTarget,
        OptionId::NsIp6Target,
        OptionId::Downdelay,
        OptionId::Updelay,
        OptionId::LacpActive,
        OptionId::LacpRate,
        OptionId::MinLinks,
        OptionId::AdSelect,
        OptionId::NumUnsolNa,
        OptionId::Miimon,
        OptionId::Prio,
        OptionId::Primary,
        OptionId::PrimaryReselect,
        OptionId::UseCarrier,
        OptionId::ActiveSlave,
        OptionId::QueueId,
        OptionId::AllSlavesActive,
        OptionId::ResendIgmp,
        OptionId::LpInterval,
        OptionId::Slaves,
        OptionId::TlbDynamicLb,
        OptionId::AdActorSysPrio,
        OptionId::ActorPortPrio,
        OptionId::AdActorSystem,
        OptionId::AdUserPortKey,
        OptionId::NumGratArp,
        OptionId::PeerNotifDelay,
        OptionId::CoupledControl,
        OptionId::BroadcastNeighbor,
        OptionId::LacpStrict,
        OptionId::MaxBonds,
        OptionId::TxQueues,
        OptionId::LacpFallback,
        OptionId::AdUnknownSpeed,
        OptionId::Bfd,
        OptionId::BfdMinTx,
        OptionId::BfdMinRx,
        OptionId::BfdMultiplier,
        OptionId::BfdPeer,
        OptionId::TcpDupDiscard,
    ];

    /// The kernel's (or ubond's) name of the option.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The option with exactly this name (names are case-sensitive, with `_`, as sysfs).
    pub fn from_name(name: &str) -> Option<OptionId> {
        OptionId::ALL.iter().copied().find(|o| o.name() == name)
    }

    /// Where the option lives.
    pub fn scope(self) -> Scope {
        self.spec().scope
    }

    /// Whether `modprobe bonding` accepts it as a module parameter.
    pub fn is_module_param(self) -> bool {
        self.spec().module_param
    }

    /// Whether it is ubond's own (not a kernel option).
    pub fn is_ubond_extension(self) -> bool {
        self.spec().ubond
    }

    /// `BOND_OPTFLAG_NOSLAVES`: settable only while the bond has no slaves.
    pub fn needs_no_slaves(self) -> bool {
        self.spec().flags & NOSLAVES != 0
    }

    /// `BOND_OPTFLAG_IFDOWN`: settable only while the bond is down.
    pub fn needs_bond_down(self) -> bool {
        self.spec().flags & IFDOWN != 0
    }

    /// Whether the option may be set while the bond is in `mode` (the kernel's
    /// `unsuppmodes`).
    pub fn applies_to(self, mode: Mode) -> bool {
        self.spec().unsupp & mode.bit() == 0
    }

    /// The modes in which the option may be set.
    pub fn modes(self) -> Vec<Mode> {
        Mode::ALL.iter().copied().filter(|m| self.applies_to(*m)).collect()
    }

    pub(crate) fn spec(self) -> &'static Spec {
        use OptionId as O;
        const S_MODE: Spec = module(spec("mode", NOSLAVES | IFDOWN, 0, Some(v::MODE_TBL)));
        const S_PPS: Spec = module(spec("packets_per_slave", 0, all_ex(RR), Some(v::PPS_TBL)));
        const S_XMIT: Spec = module(spec("xmit_hash_policy", 0, 0, Some(v::XMIT_HASH_TBL)));
        const S_ARPV: Spec =
            module(spec("arp_validate", 0, AD | TLB | ALB, Some(v::ARP_VALIDATE_TBL)));
        const S_ARPALL: Spec = module(spec("arp_all_targets", 0, 0, Some(v::ARP_ALL_TARGETS_TBL)));
        const S_FOM: Spec = module(spec("fail_over_mac", NOSLAVES, 0, Some(v::FAIL_OVER_MAC_TBL)));
        const S_ARPI: Spec = module(spec("arp_interval", 0, AD | TLB | ALB, Some(v::INTMAX_TBL)));
        const S_MISSED: Spec = spec("arp_missed_max", 0, AD | TLB | ALB, Some(v::MISSED_MAX_TBL));
        const S_ARPT: Spec = module(spec("arp_ip_target", RAWVAL, 0, None));
        const S_NST: Spec = spec("ns_ip6_target", RAWVAL, 0, None);
        const S_DOWN: Spec = module(spec("downdelay", 0, 0, Some(v::INTMAX_TBL)));
        const S_UP: Spec = module(spec("updelay", 0, 0, Some(v::INTMAX_TBL)));
        const S_LACPA: Spec = spec("lacp_active", IFDOWN, all_ex(AD), Some(v::LACP_ACTIVE_TBL));
        const S_LACPR: Spec = module(spec("lacp_rate", IFDOWN, all_ex(AD), Some(v::LACP_RATE_TBL)));
        const S_MINL: Spec = module(spec("min_links", 0, 0, Some(v::INTMAX_TBL)));
        const S_ADSEL: Spec = module(spec("ad_select", IFDOWN, 0, Some(v::AD_SELECT_TBL)));
        const S_NA: Spec = module(spec("num_unsol_na", 0, 0, Some(v::NUM_PEER_NOTIF_TBL)));
        const S_GARP: Spec = module(spec("num_grat_arp", 0, 0, Some(v::NUM_PEER_NOTIF_TBL)));
        const S_MII: Spec = module(spec("miimon", 0, 0, Some(v::INTMAX_TBL)));
        const S_PRIO: Spec =
            scoped(spec("prio", RAWVAL, all_ex(AB | TLB | ALB), None), Scope::Slave);
        const S_PRIMARY: Spec = module(spec("primary", RAWVAL, all_ex(AB | TLB | ALB), None));
        const S_PRESEL: Spec =
            module(spec("primary_reselect", 0, 0, Some(v::PRIMARY_RESELECT_TBL)));
        const S_CARRIER: Spec = module(spec("use_carrier", 0, 0, Some(v::USE_CARRIER_TBL)));
        const S_ACTIVE: Spec = spec("active_slave", RAWVAL, all_ex(AB | TLB | ALB), None);
        const S_QID: Spec = spec("queue_id", RAWVAL, 0, None);
        const S_ASA: Spec = module(spec("all_slaves_active", 0, 0, Some(v::ALL_SLAVES_ACTIVE_TBL)));
        const S_IGMP: Spec = module(spec("resend_igmp", 0, 0, Some(v::RESEND_IGMP_TBL)));
        const S_LPI: Spec = module(spec("lp_interval", 0, 0, Some(v::LP_INTERVAL_TBL)));
        const S_SLAVES: Spec = scoped(spec("slaves", RAWVAL, 0, None), Scope::Action);
        const S_TLB: Spec =
            spec("tlb_dynamic_lb", IFDOWN, all_ex(TLB | ALB), Some(v::TLB_DYNAMIC_LB_TBL));
        const S_SYSPRIO: Spec =
            spec("ad_actor_sys_prio", 0, all_ex(AD), Some(v::AD_ACTOR_SYS_PRIO_TBL));
        const S_APP: Spec =
            scoped(spec("actor_port_prio", RAWVAL, all_ex(AD), Some(v::U16_TBL)), Scope::Slave);
        const S_SYSTEM: Spec = spec("ad_actor_system", RAWVAL, all_ex(AD), None);
        const S_UPK: Spec =
            spec("ad_user_port_key", IFDOWN, all_ex(AD), Some(v::AD_USER_PORT_KEY_TBL));
        const S_PND: Spec = spec("peer_notif_delay", 0, 0, Some(v::PEER_NOTIF_DELAY_TBL));
        const S_CC: Spec =
            spec("coupled_control", IFDOWN, all_ex(AD), Some(v::COUPLED_CONTROL_TBL));
        const S_BN: Spec = spec("broadcast_neighbor", 0, all_ex(AD), Some(v::BROADCAST_NEIGH_TBL));
        const S_STRICT: Spec = spec("lacp_strict", 0, all_ex(AD), Some(v::LACP_STRICT_TBL));
        const S_MAXB: Spec = scoped(module(spec("max_bonds", 0, 0, None)), Scope::Module);
        const S_TXQ: Spec = scoped(module(spec("tx_queues", 0, 0, None)), Scope::Module);
        const S_FALLBACK: Spec =
            ubond(spec("lacp_fallback", 0, all_ex(AD), Some(v::LACP_FALLBACK_TBL)));
        const S_UNKSPEED: Spec = ubond(spec("ad_unknown_speed", RAWVAL, all_ex(AD), None));
        // Micro-BFD gates the members of the modes that spread or fail over by link state;
        // balance-tlb/alb have their own balancer and are left out.
        const S_BFD: Spec = ubond(spec("bfd", 0, TLB | ALB, Some(v::BFD_TBL)));
        const S_BFDTX: Spec = ubond(spec("bfd_min_tx", 0, TLB | ALB, Some(v::BFD_INTERVAL_TBL)));
        const S_BFDRX: Spec = ubond(spec("bfd_min_rx", 0, TLB | ALB, Some(v::BFD_INTERVAL_TBL)));
        const S_BFDMULT: Spec =
            ubond(spec("bfd_multiplier", 0, TLB | ALB, Some(v::BFD_MULTIPLIER_TBL)));
        const S_BFDPEER: Spec = ubond(spec("bfd_peer", RAWVAL, TLB | ALB, None));
        const S_DUPS: Spec =
            ubond(spec("tcp_dup_discard", 0, all_ex(BC), Some(v::TCP_DUP_DISCARD_TBL)));
        match self {
            O::Mode => &S_MODE,
            O::PacketsPerSlave => &S_PPS,
            O::XmitHashPolicy => &S_XMIT,
            O::ArpValidate => &S_ARPV,
            O::ArpAllTargets => &S_ARPALL,
            O::FailOverMac => &S_FOM,
            O::ArpInterval => &S_ARPI,
            O::ArpMissedMax => &S_MISSED,
            O::ArpIpTarget => &S_ARPT,
            O::NsIp6Target => &S_NST,
            O::Downdelay => &S_DOWN,
            O::Updelay => &S_UP,
            O::LacpActive => &S_LACPA,
            O::LacpRate => &S_LACPR,
            O::MinLinks => &S_MINL,
            O::AdSelect => &S_ADSEL,
            O::NumUnsolNa => &S_NA,
            O::NumGratArp => &S_GARP,
            O::Miimon => &S_MII,
            O::Prio => &S_PRIO,
            O::Primary => &S_PRIMARY,
            O::PrimaryReselect => &S_PRESEL,
            O::UseCarrier => &S_CARRIER,
            O::ActiveSlave => &S_ACTIVE,
            O::QueueId => &S_QID,
            O::AllSlavesActive => &S_ASA,
            O::ResendIgmp => &S_IGMP,
            O::LpInterval => &S_LPI,
            O::Slaves => &S_SLAVES,
            O::TlbDynamicLb => &S_TLB,
            O::AdActorSysPrio => &S_SYSPRIO,
            O::ActorPortPrio => &S_APP,
            O::AdActorSystem => &S_SYSTEM,
            O::AdUserPortKey => &S_UPK,
            O::PeerNotifDelay => &S_PND,
            O::CoupledControl => &S_CC,
            O::BroadcastNeighbor => &S_BN,
            O::LacpStrict => &S_STRICT,
            O::MaxBonds => &S_MAXB,
            O::TxQueues => &S_TXQ,
            O::LacpFallback => &S_FALLBACK,
            O::AdUnknownSpeed => &S_UNKSPEED,
            O::Bfd => &S_BFD,
            O::BfdMinTx => &S_BFDTX,
            O::BfdMinRx => &S_BFDRX,
            O::BfdMultiplier => &S_BFDMULT,
            O::BfdPeer => &S_BFDPEER,
            O::TcpDupDiscard => &S_DUPS,
        }
    }
}

impl std::fmt::Display for OptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an option with a value table accepts, for error messages.
pub(crate) fn allowed(tbl: &[Val]) -> String {
    match super::parse::range(tbl) {
        Some((min, max)) => {
            let names: Vec<_> = tbl.iter().map(|v| v.name).collect();
            format!("{min}-{max} (or {})", names.join(", "))
        }
        None => {
            tbl.iter().map(|v| format!("{}({})", v.name, v.value)).collect::<Vec<_>>().join(", ")
        }
    }
}
