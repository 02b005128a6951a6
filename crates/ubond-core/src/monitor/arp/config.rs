//! The monitor's configuration: which monitor runs, the targets with their probe sources, the
//! `arp_validate` rules, and the limits applied to all of it.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use super::{MAX_LOCAL_ADDRS, MAX_TARGETS};
use crate::options::{ArpAllTargets, ArpValidate, BondOptions, Mode};

/// Which of the kernel's two ARP monitors runs (`bond_arp_monitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpMode {
    /// `bond_activebackup_arp_mon`: active-backup.
    ActiveBackup,
    /// `bond_loadbalance_arp_mon`: balance-rr, balance-xor and broadcast.
    LoadBalance,
}

impl ArpMode {
    /// The monitor a bonding mode uses (the kernel refuses the ARP monitor in 802.3ad,
    /// balance-tlb and balance-alb; they get [`ArpMode::LoadBalance`] here).
    pub fn of(mode: Mode) -> ArpMode {
        match mode {
            Mode::ActiveBackup => ArpMode::ActiveBackup,
            _ => ArpMode::LoadBalance,
        }
    }
}

/// An `arp_ip_target` and the source address of the ARP requests sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpTarget {
    /// The target.
    pub ip: Ipv4Addr,
    /// The sender protocol address of the requests: the bond's address on the route to the
    /// target, `0.0.0.0` if there is none.
    pub src: Ipv4Addr,
}

/// An `ns_ip6_target` and the source address of the Neighbor Solicitations sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsTarget {
    /// The target.
    pub ip: Ipv6Addr,
    /// The IPv6 source of the solicitations (`::` if none: then they carry no source
    /// link-layer address option).
    pub src: Ipv6Addr,
}

/// The monitor's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpConfig {
    /// Which monitor runs.
    pub mode: ArpMode,
    /// `arp_interval` (zero is treated as one millisecond; the bond runs no monitor then).
    pub interval: Duration,
    /// `arp_ip_target`, in slot order; at most [`MAX_TARGETS`] are used, and the list ends at
    /// the first `0.0.0.0` as the kernel's does.
    pub arp_targets: Vec<ArpTarget>,
    /// `ns_ip6_target`, in slot order; at most [`MAX_TARGETS`], ending at the first `::`.
    pub ns_targets: Vec<NsTarget>,
    /// `arp_validate`.
    pub validate: ArpValidate,
    /// `arp_all_targets`.
    pub all_targets: ArpAllTargets,
    /// `arp_missed_max` (1..=255; 0 is treated as 1).
    pub missed_max: u8,
    /// The bond's IPv4 addresses (`bond_has_this_ip`), at most [`MAX_LOCAL_ADDRS`].
    pub local_v4: Vec<Ipv4Addr>,
    /// The bond's IPv6 addresses (`bond_has_this_ip6`), at most [`MAX_LOCAL_ADDRS`].
    pub local_v6: Vec<Ipv6Addr>,
}

impl ArpConfig {
    /// The configuration for a bond's options and addresses. Each target's probe source is
    /// the bond's first IPv4 address (`0.0.0.0` without one); for IPv6, the first address of
    /// the same scope as the target (link-local or not), else the first, else `::` — a
    /// stand-in for the kernel's route lookup; set [`ArpTarget::src`] / [`NsTarget::src`]
    /// from the routing table when you have it.
    pub fn from_options(opts: &BondOptions, local_v4: &[Ipv4Addr], local_v6: &[Ipv6Addr]) -> Self {
        let src4 = local_v4.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
        let src6 = |t: &Ipv6Addr| {
            local_v6
                .iter()
                .find(|a| a.is_unicast_link_local() == t.is_unicast_link_local())
                .or(local_v6.first())
                .copied()
                .unwrap_or(Ipv6Addr::UNSPECIFIED)
        };
        ArpConfig {
            mode: ArpMode::of(opts.mode),
            interval: Duration::from_millis(u64::from(opts.arp_interval)),
            arp_targets: opts.arp_ip_target.iter().map(|&ip| ArpTarget { ip, src: src4 }).collect(),
            ns_targets: opts
                .ns_ip6_target
                .iter()
                .map(|ip| NsTarget { ip: *ip, src: src6(ip) })
                .collect(),
            validate: opts.arp_validate,
            all_targets: opts.arp_all_targets,
            missed_max: opts.arp_missed_max,
            local_v4: local_v4.to_vec(),
            local_v6: local_v6.to_vec(),
        }
    }

    /// The limits applied: targets cut at [`MAX_TARGETS`] and at the first unspecified
    /// address, local addresses at [`MAX_LOCAL_ADDRS`], `missed_max` at least 1, the interval
    /// at least 1 ms.
    pub(super) fn sanitized(mut self) -> ArpConfig {
        let n = self.arp_targets.iter().take(MAX_TARGETS).take_while(|t| !t.ip.is_unspecified());
        self.arp_targets = n.copied().collect();
        let n = self.ns_targets.iter().take(MAX_TARGETS).take_while(|t| !t.ip.is_unspecified());
        self.ns_targets = n.copied().collect();
        self.local_v4.truncate(MAX_LOCAL_ADDRS);
        self.local_v6.truncate(MAX_LOCAL_ADDRS);
        self.missed_max = self.missed_max.max(1);
        self.interval = self.interval.max(Duration::from_millis(1));
        self
    }

    /// `slave_do_arp_validate`: are received frames validated on a slave in this state?
    pub(super) fn validates(&self, active: bool) -> bool {
        let bit = if active { 1 } else { 2 };
        self.validate.number() & bit != 0
    }

    /// `slave_do_arp_validate_only`: the `filter` variants.
    pub(super) fn filters(&self) -> bool {
        self.validate.number() & 4 != 0
    }
}
