//! What is wrong with a bond, from its report: each finding a plain sentence, the report
//! lines that show it, and what to do.
//!
//! [`diagnose`] is a pure function of parsed reports ([`Report`]) and, optionally, the bond's
//! option values ([`Facts`], sysfs spelling: `num_grat_arp` and friends are not in the
//! report). Given several reports — the two ends of a link, or every bond of a host — it also
//! looks across them: a link that works one way only, two bonds claiming one LACP system.
//!
//! The checks follow what the Linux driver does (`bond_3ad.c`, `bond_main.c`) and what
//! administrators trip over; each has a [`Code`] that stays stable for scripts.

use std::collections::BTreeSet;
use std::fmt;

use ubond_core::options::{FailOverMac, LacpRate, Mode, XmitHashPolicy};
use ubond_wire::slow::{PortInfo, PortState};
use ubond_wire::MacAddr;

use crate::report::{Churn, Duplex, LinkState, Report, Slave};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Traffic is lost or the bond does not do its job.
    Error,
    /// Redundancy or capacity is less than configured, or a failure will hurt more than it
    /// should.
    Warning,
    /// Worth knowing; nothing is broken.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// What a finding is about; the names are stable (scripts may match them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The bond's carrier is down.
    BondDown,
    /// The bond has no slaves.
    NoSlaves,
    /// Neither the MII nor the ARP monitor runs.
    NoLinkMonitoring,
    /// The ARP monitor runs without targets.
    ArpNoTargets,
    /// Only one link carries traffic.
    SingleLink,
    /// A slave's link is not up.
    SlaveDown,
    /// A slave has lost its link before.
    LinkFlaps,
    /// A slave reports no speed or duplex.
    SpeedUnknown,
    /// A slave runs half duplex in 802.3ad.
    HalfDuplex,
    /// Slaves of different speeds in a mode that spreads traffic evenly.
    SpeedMismatch,
    /// No LACPDU heard on a port.
    NoPartner,
    /// The partner stopped sending LACPDUs.
    PartnerExpired,
    /// Ports in different aggregators.
    AggregatorSplit,
    /// The partner hears nothing from us on a port.
    PartnerDoesNotHearUs,
    /// Across two reports: one end hears the other, not the reverse.
    OneWayLoss,
    /// The partner marks the port individual.
    PartnerIndividual,
    /// A churn machine ended in `churned`.
    Churned,
    /// The two ends ask for different LACP rates.
    LacpRateMismatch,
    /// This bond is passive and hears nothing.
    Passive,
    /// active-backup without gratuitous ARPs or unsolicited NAs after a failover.
    NoPeerNotification,
    /// MAC addresses that must differ do not.
    MacConflict,
    /// Across reports: two bonds use one LACP system ID.
    SystemIdConflict,
    /// A mode that sends through one active slave has none.
    NoActiveSlave,
    /// layer2 hashing: one peer's traffic always takes one link.
    Layer2Hash,
    /// The report was read without CAP_NET_ADMIN.
    Unprivileged,
}

impl Code {
    /// The code's stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Code::BondDown => "bond-down",
            Code::NoSlaves => "no-slaves",
            Code::NoLinkMonitoring => "no-link-monitoring",
            Code::ArpNoTargets => "arp-no-targets",
            Code::SingleLink => "single-link",
            Code::SlaveDown => "slave-down",
            Code::LinkFlaps => "link-flaps",
            Code::SpeedUnknown => "speed-unknown",
            Code::HalfDuplex => "half-duplex",
            Code::SpeedMismatch => "speed-mismatch",
            Code::NoPartner => "no-partner",
            Code::PartnerExpired => "partner-expired",
            Code::AggregatorSplit => "aggregator-split",
            Code::PartnerDoesNotHearUs => "partner-does-not-hear-us",
            Code::OneWayLoss => "one-way-loss",
            Code::PartnerIndividual => "partner-individual",
            Code::Churned => "churned",
            Code::LacpRateMismatch => "lacp-rate-mismatch",
            Code::Passive => "passive",
            Code::NoPeerNotification => "no-peer-notification",
            Code::MacConflict => "mac-conflict",
            Code::SystemIdConflict => "system-id-conflict",
            Code::NoActiveSlave => "no-active-slave",
            Code::Layer2Hash => "layer2-hash",
            Code::Unprivileged => "unprivileged",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing wrong (or worth knowing) about a bond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is about.
    pub code: Code,
    /// How bad.
    pub severity: Severity,
    /// The bond (as [`Bond::name`]), or both for a finding across reports.
    pub bond: String,
    /// The slaves concerned (empty: the bond as a whole).
    pub slaves: Vec<String>,
    /// What is wrong and why, in plain sentences.
    pub summary: String,
    /// The report lines (or option values) that show it.
    pub evidence: Vec<String>,
    /// What to do.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} [{}] {}: {}", self.bond, self.code, self.severity, self.summary)?;
        for e in &self.evidence {
            writeln!(f, "    evidence: {e}")?;
        }
        write!(f, "    fix: {}", self.fix)
    }
}

/// What the report does not say but the bond's host can tell: option values in sysfs's
/// spelling (`/sys/class/net/BOND/bonding/NAME`, or `ubond get BOND`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// (option, value) pairs, e.g. (`num_grat_arp`, `1`), (`mode`, `802.3ad 4`).
    pub options: Vec<(String, String)>,
    /// Slaves that are Linux bridge ports, or veths whose peer is one.
    pub bridged: Vec<Bridged>,
}

/// A slave that reaches its partner through a Linux bridge on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridged {
    /// The slave.
    pub slave: String,
    /// The bridge.
    pub bridge: String,
    /// The veth peer that is the bridge's port, if not the slave itself.
    pub via: Option<String>,
}

impl Facts {
    /// Reads `name: value` lines (what `ubond get BOND` prints).
    pub fn from_get_output(text: &str) -> Facts {
        let options = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Facts { options, bridged: Vec::new() }
    }

    /// The first word of option `name`'s value (`802.3ad 4` → `802.3ad`), if known.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.split_whitespace().next().unwrap_or(""))
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.option(name).and_then(|v| v.parse().ok())
    }
}

/// A bond to examine: its report and what else is known.
#[derive(Debug, Clone)]
pub struct Bond {
    /// How findings name it: `bond0`, or `bond0 (guest.txt)`.
    pub name: String,
    /// Its report.
    pub report: Report,
    /// Option values, if they could be read.
    pub facts: Facts,
}

/// Examines bonds one by one, then across each other; findings by bond, most severe first.
pub fn diagnose(bonds: &[Bond]) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in bonds {
        let mut found = one(b);
        found.sort_by_key(|f| f.severity);
        out.extend(found);
    }
    out.extend(across(bonds));
    out
}

/// The findings about one bond.
fn one(b: &Bond) -> Vec<Finding> {
    let mut c = Ctx { b, r: &b.report, out: Vec::new() };
    c.slaves_and_carrier();
    c.monitoring();
    c.speeds();
    c.macs();
    match c.r.mode {
        Mode::Ieee8023ad => c.lacp(),
        Mode::ActiveBackup => c.active_backup(),
        _ => {}
    }
    if matches!(c.r.mode, Mode::BalanceTlb | Mode::BalanceAlb) {
        c.active_slave();
    }
    c.hashing();
    c.out
}

struct Ctx<'a> {
    b: &'a Bond,
    r: &'a Report,
    out: Vec<Finding>,
}

/// An 802.3ad port as the report shows it (privileged report).
struct Port<'a> {
    slave: &'a Slave,
    agg: Option<u16>,
    actor: &'a PortInfo,
    partner: &'a PortInfo,
}

impl Port<'_> {
    /// LACPDUs from a partner are arriving (or arrived and are not yet timed out).
    fn hears(&self) -> bool {
        !self.partner.system.is_zero() && !self.actor.state.has(PortState::DEFAULTED)
    }

    fn name(&self) -> &str {
        &self.slave.name
    }
}

fn state_words(s: PortState) -> String {
    let names = [
        (PortState::ACTIVITY, "active"),
        (PortState::TIMEOUT, "short_timeout"),
        (PortState::AGGREGATION, "aggregating"),
        (PortState::SYNCHRONIZATION, "in_sync"),
        (PortState::COLLECTING, "collecting"),
        (PortState::DISTRIBUTING, "distributing"),
        (PortState::DEFAULTED, "defaulted"),
        (PortState::EXPIRED, "expired"),
    ];
    let words: Vec<&str> = names.iter().filter(|(b, _)| s.has(*b)).map(|(_, n)| *n).collect();
    if words.is_empty() {
        format!("{} (no bit set)", s.0)
    } else {
        format!("{} ({})", s.0, words.join(", "))
    }
}

/// The speed code of an operational key (`key >> 1 & 0x1f`; 0: no speed known).
fn key_speed(key: u16) -> u16 {
    (key >> 1) & 0x1f
}

/// `eth0 hears` / `eth0 and eth1 hear`.
fn they(names: &[&str], one: &str, many: &str) -> String {
    format!("{} {}", join(names), if names.len() == 1 { one } else { many })
}

fn join(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl<'a> Ctx<'a> {
    fn push(
        &mut self,
        code: Code,
        severity: Severity,
        slaves: &[&str],
        summary: String,
        evidence: Vec<String>,
        fix: impl Into<String>,
    ) {
        self.out.push(Finding {
            code,
            severity,
            bond: self.b.name.clone(),
            slaves: slaves.iter().map(|s| (*s).to_string()).collect(),
            summary,
            evidence,
            fix: fix.into(),
        });
    }

    /// The bond's interface name when the report says it, else `BOND`.
    fn bond_name(&self) -> &'a str {
        let r: &'a Report = self.r;
        r.name.as_deref().unwrap_or("BOND")
    }

    fn up(&self) -> Vec<&'a Slave> {
        let r: &'a Report = self.r;
        r.slaves.iter().filter(|s| s.mii_status == LinkState::Up).collect()
    }

    fn ports(&self) -> Vec<Port<'a>> {
        let r: &'a Report = self.r;
        r.slaves
            .iter()
            .filter_map(|s| {
                let ad = s.ad.as_ref()?;
                Some(Port {
                    slave: s,
                    agg: ad.aggregator_id,
                    actor: ad.actor.as_ref()?,
                    partner: ad.partner.as_ref()?,
                })
            })
            .collect()
    }

    fn slaves_and_carrier(&mut self) {
        let r = self.r;
        if r.slaves.is_empty() {
            self.push(
                Code::NoSlaves,
                Severity::Error,
                &[],
                "the bond has no slaves, so it has no link at all".into(),
                vec!["no \"Slave Interface\" block in the report".into()],
                "enslave its interfaces (ip link set eth0 master bond0, or ubond enslave bond0 eth0 eth1)",
            );
        }
        for s in &r.slaves {
            if s.mii_status == LinkState::Up {
                continue;
            }
            let why = match s.mii_status {
                LinkState::GoingDown => format!(
                    "lost its link and is still in use until downdelay ({} ms) has passed: frames \
                     sent into it meanwhile are lost",
                    r.downdelay_ms
                ),
                LinkState::GoingBack => format!(
                    "has its link back and is not used until updelay ({} ms) has passed",
                    r.updelay_ms
                ),
                LinkState::Unknown => "is in an unknown link state; it carries no traffic".into(),
                _ if refused_for_speed(r, s) => "is kept down because its speed/duplex cannot be \
                     read (see speed-unknown); it carries no traffic"
                    .into(),
                _ => {
                    "has no link (no carrier, or the link monitor declared it failed); it carries \
                     no traffic"
                        .into()
                }
            };
            let fix = if s.mii_status == LinkState::GoingBack {
                "nothing if the link stays up; if it keeps going back and down, the link flaps \
                 (cable, optics, switch port)"
                    .to_string()
            } else {
                format!(
                    "check {}'s cable, optics and the switch port (ip link show {}; ethtool {}); \
                     a port that is administratively down comes back with ip link set {} up",
                    s.name, s.name, s.name, s.name
                )
            };
            self.push(
                Code::SlaveDown,
                Severity::Warning,
                &[&s.name],
                format!("{} {why}", s.name),
                vec![format!(
                    "{}: MII Status: {}, Link Failure Count: {}",
                    s.name, s.mii_status, s.link_failure_count
                )],
                fix,
            );
        }
        for s in r.slaves.iter().filter(|s| s.mii_status == LinkState::Up) {
            if s.link_failure_count > 0 {
                self.push(
                    Code::LinkFlaps,
                    Severity::Info,
                    &[&s.name],
                    format!(
                        "{} is up now but has lost its link {} time(s) since it was enslaved",
                        s.name, s.link_failure_count
                    ),
                    vec![format!("{}: Link Failure Count: {}", s.name, s.link_failure_count)],
                    format!(
                        "if the count keeps growing, the link flaps: check the cable/optics and \
                         the switch port's error counters (ethtool -S {})",
                        s.name
                    ),
                );
            }
        }
        if !r.carrier && !r.slaves.is_empty() {
            let why = if self.up().is_empty() {
                "no slave has a usable link".to_string()
            } else if r.mode == Mode::Ieee8023ad {
                let ad = r.ad.as_ref();
                match (ad.and_then(|a| a.active_aggregator), ad.and_then(|a| a.min_links)) {
                    (Some(agg), Some(min)) if min > 0 && agg.ports < min => format!(
                        "the active aggregator has {} port(s), fewer than min_links {min}",
                        agg.ports
                    ),
                    (None, _) if ad.is_some_and(|a| a.privileged) => {
                        "there is no active aggregator".to_string()
                    }
                    _ => "no aggregator can carry traffic".to_string(),
                }
            } else {
                "no slave is usable".to_string()
            };
            self.push(
                Code::BondDown,
                Severity::Error,
                &[],
                format!("the bond is down (no carrier): {why}; nothing crosses it"),
                vec!["MII Status: down (the bond's, first in the report)".into()],
                "see the findings below for each slave's cause",
            );
        }
        // Redundancy: the links that carry traffic.
        let usable: Vec<&str> = match r.mode {
            Mode::Ieee8023ad => {
                let active = r.ad.as_ref().and_then(|a| a.active_aggregator).map(|a| a.id);
                r.slaves
                    .iter()
                    .filter(|s| s.mii_status == LinkState::Up)
                    .filter(|s| match (active, s.ad.as_ref()) {
                        (Some(id), Some(ad)) => ad.aggregator_id == Some(id),
                        _ => true,
                    })
                    .map(|s| s.name.as_str())
                    .collect()
            }
            _ => self.up().iter().map(|s| s.name.as_str()).collect(),
        };
        if r.carrier && usable.len() == 1 {
            let total = r.slaves.len();
            let (summary, fix) = if total == 1 {
                (
                    format!(
                        "the bond has one slave ({}): a failure of that link takes it down",
                        usable[0]
                    ),
                    "enslave a second interface, on a different switch or line card if you can",
                )
            } else {
                (
                    format!(
                        "the bond runs on one link ({}) out of {total}: no redundancy left{}",
                        usable[0],
                        if r.mode == Mode::Ieee8023ad {
                            ", and no more bandwidth than one port"
                        } else {
                            ""
                        }
                    ),
                    "bring the other links back (the findings about them say why they are out)",
                )
            };
            let mut evidence: Vec<String> = r
                .slaves
                .iter()
                .map(|s| {
                    let agg =
                        s.ad.as_ref()
                            .map(|ad| match ad.aggregator_id {
                                Some(id) => format!(", Aggregator ID: {id}"),
                                None => ", Aggregator ID: N/A".into(),
                            })
                            .unwrap_or_default();
                    format!("{}: MII Status: {}{agg}", s.name, s.mii_status)
                })
                .collect();
            if let Some(agg) = r.ad.as_ref().and_then(|a| a.active_aggregator) {
                evidence.push(format!(
                    "Active Aggregator Info: Aggregator ID: {}, Number of ports: {}",
                    agg.id, agg.ports
                ));
            }
            self.push(Code::SingleLink, Severity::Warning, &[usable[0]], summary, evidence, fix);
        }
    }

    fn monitoring(&mut self) {
        let r = self.r;
        if r.miimon_ms == 0 && r.arp_interval_ms == 0 {
            let extra = if r.mode == Mode::Ieee8023ad {
                " In 802.3ad only the LACP timeout (3 s fast, 90 s slow) would notice a dead \
                 partner, and the kernel cannot follow the ports' speed and duplex."
            } else {
                ""
            };
            self.push(
                Code::NoLinkMonitoring,
                Severity::Error,
                &[],
                format!(
                    "no link monitoring: neither miimon nor arp_interval is set, so a slave that \
                     loses its link is never taken out and traffic keeps going into it.{extra}"
                ),
                vec!["MII Polling Interval (ms): 0".into(), "no ARP Polling Interval line".into()],
                format!(
                    "set miimon=100 (BONDING_OPTS=\"miimon=100\", bond-miimon 100, echo 100 > \
                     /sys/class/net/{0}/bonding/miimon, or ubond set {0} miimon 100)",
                    self.bond_name()
                ),
            );
        }
        if r.arp_interval_ms > 0 && r.arp_targets.is_empty() && r.ns_targets.is_empty() {
            self.push(
                Code::ArpNoTargets,
                Severity::Error,
                &[],
                "the ARP monitor runs without a target: it has nothing to probe, so it cannot \
                 tell a working slave from a failed one"
                    .into(),
                vec![
                    format!("ARP Polling Interval (ms): {}", r.arp_interval_ms),
                    "ARP IP target/s (n.n.n.n form): (none)".into(),
                ],
                "add arp_ip_target=+GATEWAY (an address that always answers), or use miimon",
            );
        }
    }

    fn speeds(&mut self) {
        let r = self.r;
        let unknown: Vec<&Slave> = r
            .slaves
            .iter()
            .filter(|s| s.speed_mbps.is_none() || s.duplex.is_none())
            .filter(|s| s.mii_status == LinkState::Up || refused_for_speed(r, s))
            .collect();
        if !unknown.is_empty() && needs_speed(r.mode) {
            let names: Vec<&str> = unknown.iter().map(|s| s.name.as_str()).collect();
            // ubond's default assumes 10000 Mb/s (its actor key then has a speed); the kernel
            // and ubond's `ad_unknown_speed refuse` refuse the port.
            let assumed = unknown.iter().all(|s| {
                s.ad.as_ref().and_then(|a| a.actor.as_ref()).is_some_and(|a| key_speed(a.key) != 0)
            });
            let evidence = unknown
                .iter()
                .map(|s| {
                    let key = s
                        .ad
                        .as_ref()
                        .and_then(|a| a.actor.as_ref())
                        .map(|a| format!(", port key: {} (speed code {})", a.key, key_speed(a.key)))
                        .unwrap_or_default();
                    format!(
                        "{}: Speed: {}, Duplex: {}, MII Status: {}{key}",
                        s.name,
                        s.speed_mbps.map_or("Unknown".into(), |v| format!("{v} Mbps")),
                        match s.duplex {
                            Some(Duplex::Full) => "full",
                            Some(Duplex::Half) => "half",
                            None => "Unknown",
                        },
                        s.mii_status
                    )
                })
                .collect();
            let fix = "give the NICs a speed: QEMU's -device virtio-net-pci,...,speed=10000,duplex=full, \
                 or ethtool -s IFACE speed 10000 duplex full inside the guest (virtio_net accepts \
                 it); tap and some USB NICs cannot report one: use active-backup or balance-xor \
                 there, or ubond (which assumes 10000 Mb/s full duplex)";
            if assumed {
                self.push(
                    Code::SpeedUnknown,
                    Severity::Info,
                    &names,
                    format!(
                        "{} no speed/duplex; ubond assumes 10000 Mb/s full duplex for them \
                         (ad_unknown_speed assume), so they aggregate. The Linux driver would refuse \
                         them (\"failed to get link speed/duplex\").",
                        they(&names, "reports", "report")
                    ),
                    evidence,
                    "nothing needed; to aggregate like Linux would, give the NICs a real speed",
                );
            } else {
                let (what, severity) = match r.mode {
                    Mode::Ieee8023ad => (
                        "802.3ad needs every port's speed and duplex to compute its key: the \
                         driver logs \"failed to get link speed/duplex\" and keeps the port down \
                         or alone in its own aggregator, so LACP never aggregates it",
                        Severity::Error,
                    ),
                    _ => (
                        "balance-tlb/alb share the load by speed: the driver logs \"failed to get \
                         link speed/duplex\" and does not use the port",
                        Severity::Error,
                    ),
                };
                self.push(
                    Code::SpeedUnknown,
                    severity,
                    &names,
                    format!(
                        "{} no speed/duplex (Speed: Unknown). {what}.",
                        they(&names, "reports", "report")
                    ),
                    evidence,
                    fix,
                );
            }
        }
        if r.mode == Mode::Ieee8023ad {
            let half: Vec<&str> = r
                .slaves
                .iter()
                .filter(|s| s.duplex == Some(Duplex::Half))
                .map(|s| s.name.as_str())
                .collect();
            if !half.is_empty() {
                self.push(
                    Code::HalfDuplex,
                    Severity::Error,
                    &half,
                    format!(
                        "{} half duplex: 802.3ad aggregates only full-duplex links, so each \
                         such port is an individual link",
                        they(&half, "runs", "run")
                    ),
                    half.iter().map(|n| format!("{n}: Duplex: half")).collect(),
                    "fix the autonegotiation (both ends auto, or both forced to the same speed and full duplex)",
                );
            }
        }
        if matches!(r.mode, Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast) {
            let speeds: BTreeSet<u32> = self.up().iter().filter_map(|s| s.speed_mbps).collect();
            if speeds.len() > 1 {
                let evidence = self
                    .up()
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: Speed: {}",
                            s.name,
                            s.speed_mbps.map_or("Unknown".into(), |v| format!("{v} Mbps"))
                        )
                    })
                    .collect();
                self.push(
                    Code::SpeedMismatch,
                    Severity::Warning,
                    &[],
                    format!(
                        "the slaves run at different speeds ({}); {} spreads traffic evenly, so the \
                         slowest link limits the bond and frames queue on it",
                        speeds.iter().map(|s| format!("{s} Mb/s")).collect::<Vec<_>>().join(", "),
                        r.mode
                    ),
                    evidence,
                    "use links of one speed, or balance-tlb/balance-alb (which weigh by speed), or \
                     active-backup with the fast link as primary",
                );
            }
        }
    }

    fn macs(&mut self) {
        let r = self.r;
        let mut seen: Vec<(MacAddr, &str)> = Vec::new();
        for s in &r.slaves {
            let Some(mac) = s.perm_hwaddr else { continue };
            if mac.is_zero() || mac.is_multicast() {
                self.push(
                    Code::MacConflict,
                    Severity::Error,
                    &[&s.name],
                    format!(
                        "{} has no valid permanent MAC address ({mac}): it cannot be told apart \
                         on the wire, and the bond may take it over as its own address",
                        s.name
                    ),
                    vec![format!("{}: Permanent HW addr: {mac}", s.name)],
                    "give the NIC a unicast MAC (the hypervisor's NIC settings, or ip link set IFACE address ...)",
                );
                continue;
            }
            if let Some((_, other)) = seen.iter().find(|(m, _)| *m == mac) {
                let other = (*other).to_string();
                let severity = if matches!(r.mode, Mode::BalanceTlb | Mode::BalanceAlb) {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                self.push(
                    Code::MacConflict,
                    severity,
                    &[&other, &s.name],
                    format!(
                        "{other} and {} have the same permanent MAC address {mac}: cloned VM NICs \
                         or a MAC set by hand. balance-tlb/alb give each slave its own MAC and then \
                         cannot tell them apart; in every mode the two collide once released",
                        s.name
                    ),
                    vec![
                        format!("{other}: Permanent HW addr: {mac}"),
                        format!("{}: Permanent HW addr: {mac}", s.name),
                    ],
                    "give every NIC its own MAC address (regenerate it in the VM's configuration)",
                );
            } else {
                seen.push((mac, &s.name));
            }
        }
        if let Some(own) = r.ad.as_ref().and_then(|a| a.system_mac) {
            let looped: Vec<&str> = self
                .ports()
                .iter()
                .filter(|p| !own.is_zero() && p.partner.system == own)
                .map(|p| p.slave.name.as_str())
                .collect();
            if !looped.is_empty() {
                self.push(
                    Code::MacConflict,
                    Severity::Error,
                    &looped,
                    format!(
                        "{} LACPDUs carrying this bond's own system MAC {own}: the link \
                         is looped back to this bond, or another bond uses the same ad_actor_system",
                        they(&looped, "hears", "hear")
                    ),
                    vec![
                        format!("System MAC address: {own}"),
                        format!("{}: details partner lacp pdu: system mac address: {own}", looped[0]),
                    ],
                    "check the cabling for a loop; give every bond its own ad_actor_system (or leave it unset)",
                );
            }
        }
    }

    fn active_backup(&mut self) {
        self.active_slave();
        let r = self.r;
        let notify = self.b.facts.number("num_grat_arp").or(self.b.facts.number("num_unsol_na"));
        if notify == Some(0) && r.slaves.len() > 1 {
            let moved = if r.fail_over_mac == FailOverMac::Active {
                " With fail_over_mac active the bond's MAC changes too, so peers keep sending to \
                 the old MAC until their ARP/neighbour entries expire."
            } else {
                ""
            };
            self.push(
                Code::NoPeerNotification,
                Severity::Warning,
                &[],
                format!(
                    "after a failover nothing tells the network that the bond moved \
                     (num_grat_arp/num_unsol_na 0): the switches keep sending the bond's frames to \
                     the old port until their MAC tables age out (300 s by default).{moved}"
                ),
                vec![
                    format!("num_grat_arp: {}", self.b.facts.option("num_grat_arp").unwrap_or("?")),
                    format!("Bonding Mode: {}", r.mode.long_name()),
                ],
                "set num_grat_arp=1 (the default) or more; with several VLANs above the bond, \
                 raise it so each one is announced",
            );
        }
    }

    fn active_slave(&mut self) {
        let r = self.r;
        if r.active_slave.is_none() && !self.up().is_empty() {
            let up: Vec<&str> = self.up().iter().map(|s| s.name.as_str()).collect();
            self.push(
                Code::NoActiveSlave,
                Severity::Error,
                &[],
                format!(
                    "{} has no active slave although {} up: nothing is sent",
                    r.mode,
                    if up.len() == 1 {
                        format!("{} is", up[0])
                    } else {
                        format!("{} are", join(&up))
                    }
                ),
                vec!["Currently Active Slave: None".into()],
                format!(
                    "select one: echo {} > /sys/class/net/{}/bonding/active_slave (ubond: ubond set {} active_slave {})",
                    up[0],
                    self.bond_name(),
                    self.bond_name(),
                    up[0]
                ),
            );
        }
    }

    fn hashing(&mut self) {
        let r = self.r;
        if r.xmit_hash_policy == Some(XmitHashPolicy::Layer2)
            && matches!(r.mode, Mode::Ieee8023ad | Mode::BalanceXor)
            && self.up().len() > 1
        {
            self.push(
                Code::Layer2Hash,
                Severity::Info,
                &[],
                "xmit_hash_policy layer2 picks the link by MAC addresses only: all traffic to one \
                 peer — typically the default gateway — leaves by the same link, so a routed \
                 host gets one link's bandwidth"
                    .into(),
                vec!["Transmit Hash Policy: layer2 (0)".into()],
                "use xmit_hash_policy=layer3+4 (flows spread by IP and port) or layer2+3",
            );
        }
    }

    fn lacp(&mut self) {
        let r = self.r;
        let Some(ad) = r.ad.as_ref() else { return };
        if !ad.privileged {
            let aggs: BTreeSet<u16> = r
                .slaves
                .iter()
                .filter(|s| s.mii_status == LinkState::Up)
                .filter_map(|s| s.ad.as_ref()?.aggregator_id)
                .collect();
            let split = if aggs.len() > 1 {
                format!(
                    " The slaves are in different aggregators ({}), so some carry no traffic.",
                    aggs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                )
            } else {
                String::new()
            };
            self.push(
                Code::Unprivileged,
                if split.is_empty() { Severity::Info } else { Severity::Warning },
                &[],
                format!(
                    "the report was read without CAP_NET_ADMIN, so it hides the partner and the \
                     port states: the LACP checks could not run.{split}"
                ),
                vec!["no \"System priority\" line and no \"details ... lacp pdu\" blocks".into()],
                "run ubond doctor as root (or read /proc/net/bonding/BOND as root)",
            );
            return;
        }
        let ports = self.ports();
        let up: Vec<&Port<'_>> =
            ports.iter().filter(|p| p.slave.mii_status == LinkState::Up).collect();
        let active = ad.active_aggregator;

        // Ports that hear nobody.
        let silent: Vec<&Port<'_>> = up.iter().copied().filter(|p| !p.hears()).collect();
        if !silent.is_empty() {
            let names: Vec<&str> = silent.iter().map(|p| p.name()).collect();
            let all = silent.len() == up.len();
            let passive = ad.lacp_active == Some(false);
            let mut evidence: Vec<String> = silent
                .iter()
                .map(|p| {
                    format!(
                        "{}: partner system mac address: {}, actor port state: {}",
                        p.name(),
                        p.partner.system,
                        state_words(p.actor.state)
                    )
                })
                .collect();
            if let Some(agg) = active {
                evidence.push(format!(
                    "Active Aggregator Info: Partner Mac Address: {}",
                    agg.partner_mac
                ));
            }
            let bridged: Vec<&Bridged> =
                self.b.facts.bridged.iter().filter(|b| names.contains(&b.slave.as_str())).collect();
            for b in &bridged {
                evidence.push(match &b.via {
                    Some(peer) => format!(
                        "{}'s veth peer {peer} is a port of Linux bridge {}",
                        b.slave, b.bridge
                    ),
                    None => format!("{} is a port of Linux bridge {}", b.slave, b.bridge),
                });
            }
            let consequence = if all {
                if r.carrier {
                    " Without a partner each port is an aggregator of its own, and the driver \
                     still sends through one of them (no LACP, no redundancy, no aggregation): \
                     frames reach the other side only if it accepts them without LACP."
                } else {
                    ""
                }
            } else {
                " These ports sit in aggregators of their own and carry no traffic."
            };
            let summary = if let Some(b) = bridged.first() {
                format!(
                    "{} no LACPDU from a partner (partner 00:00:00:00:00:00, port defaulted).{consequence} \
                     The cause is on this host: {} reaches its partner through Linux bridge {}, and a \
                     Linux bridge never forwards LACPDUs (01:80:c2:00:00:02; its group_fwd_mask \
                     cannot have bit 2, the kernel refuses it).",
                    they(&names, "hears", "hear"),
                    b.slave,
                    b.bridge
                )
            } else {
                format!(
                "{} no LACPDU from a partner (partner 00:00:00:00:00:00, port defaulted).{consequence} \
                 Either the other end does not run LACP (a switch port that is not in an LACP \
                 port-channel, a static LAG, a server whose bond is not 802.3ad), or something \
                 between drops LACPDUs: a Linux bridge never forwards 01:80:c2:00:00:02 \
                 (its group_fwd_mask cannot have bit 2, the kernel refuses it), as with VM NICs \
                 on a host bridge; or frames from the partner are lost on the way here \
                 (one-way loss: the partner's report then shows this bond as its partner).",
                they(&names, "hears", "hear")
            )
            };
            let fix = if passive {
                "this bond is passive (lacp_active off): if the partner is passive too, nobody \
                 starts; set lacp_active=on here, or LACP mode active on the switch port"
            } else {
                "configure the switch ports as one LACP port-channel in active mode (Cisco: \
                 channel-group N mode active; Juniper: lacp active); for VMs, do not connect the \
                 bonded NICs through a Linux bridge (use macvtap/passthrough, an Open vSwitch \
                 port, or run the bond on the host); or use active-backup, which needs no partner"
            };
            self.push(
                Code::NoPartner,
                if all { Severity::Error } else { Severity::Warning },
                &names,
                summary,
                evidence,
                fix,
            );
            if passive && all {
                self.push(
                    Code::Passive,
                    Severity::Warning,
                    &names,
                    "this bond is passive (LACP active: off): it only answers LACPDUs and never \
                     starts, so a passive partner never hears from it either"
                        .into(),
                    vec!["LACP active: off".into()],
                    "set lacp_active=on on at least one side",
                );
            }
        }

        // The partner went silent: LACPDUs stopped (EXPIRED).
        let expired: Vec<&str> =
            up.iter().filter(|p| p.actor.state.has(PortState::EXPIRED)).map(|p| p.name()).collect();
        if !expired.is_empty() {
            self.push(
                Code::PartnerExpired,
                Severity::Warning,
                &expired,
                format!(
                    "{} hearing LACPDUs from the partner (receive machine EXPIRED): the \
                     partner, or the way from it, stopped working a moment ago",
                    they(&expired, "stopped", "stopped")
                ),
                up.iter()
                    .filter(|p| p.actor.state.has(PortState::EXPIRED))
                    .map(|p| format!("{}: actor port state: {}", p.name(), state_words(p.actor.state)))
                    .collect(),
                "look at the partner and the link from it; the port leaves the aggregator if no LACPDU comes within the timeout",
            );
        }

        // We hear the partner, the partner does not hear us.
        for p in up.iter().filter(|p| p.hears()) {
            let ps = p.partner.state;
            if ps.has(PortState::DEFAULTED) || ps.has(PortState::EXPIRED) {
                self.push(
                    Code::PartnerDoesNotHearUs,
                    Severity::Error,
                    &[p.name()],
                    format!(
                        "{} hears its partner {}, but the partner hears nothing from this bond on that \
                         link (its own state says {}): LACPDUs from here are lost on the way out \
                         (a one-way link: a bad transmitter, fibre or cable pair, a filter or \
                         storm-control dropping 01:80:c2:00:00:02), so the partner keeps the port out \
                         of its aggregate",
                        p.name(),
                        p.partner.system,
                        if ps.has(PortState::DEFAULTED) { "defaulted" } else { "expired" }
                    ),
                    vec![format!("{}: partner port state: {}", p.name(), state_words(ps))],
                    format!(
                        "check {}'s transmit direction: swap the cable/optic, look at the switch \
                         port's receive errors and ACLs; capture on the partner side to confirm",
                        p.name()
                    ),
                );
            } else if !ps.has(PortState::AGGREGATION) {
                self.push(
                    Code::PartnerIndividual,
                    Severity::Warning,
                    &[p.name()],
                    format!(
                        "{}'s partner marks its port as an individual link (aggregation bit clear): \
                         the switch will not put it in a port-channel, so it stays alone",
                        p.name()
                    ),
                    vec![format!("{}: partner port state: {}", p.name(), state_words(ps))],
                    "on the switch, make the port a member of the LACP port-channel (not an individual/standalone port)",
                );
            }
        }
        let mismatched: Vec<&Port<'_>> = up
            .iter()
            .copied()
            .filter(|p| p.hears())
            .filter(|p| p.partner.state.0 & (PortState::DEFAULTED | PortState::EXPIRED) == 0)
            .filter(|p| {
                p.actor.state.has(PortState::TIMEOUT) != p.partner.state.has(PortState::TIMEOUT)
            })
            .collect();
        if let Some(first) = mismatched.first() {
            let fast_here = first.actor.state.has(PortState::TIMEOUT);
            let (here, there, detect_here, detect_there) = if fast_here {
                ("fast (1 s)", "slow (30 s)", "3 s", "90 s")
            } else {
                ("slow (30 s)", "fast (1 s)", "90 s", "3 s")
            };
            let names: Vec<&str> = mismatched.iter().map(|p| p.name()).collect();
            let mut evidence = vec![format!(
                "LACP rate: {}",
                ad.lacp_rate.map_or("?".into(), |r: LacpRate| r.to_string())
            )];
            for p in &mismatched {
                evidence.push(format!(
                    "{}: actor port state: {}",
                    p.name(),
                    state_words(p.actor.state)
                ));
                evidence.push(format!(
                    "{}: partner port state: {}",
                    p.name(),
                    state_words(p.partner.state)
                ));
            }
            self.push(
                Code::LacpRateMismatch,
                Severity::Warning,
                &names,
                format!(
                    "on {} this bond asks for {here} LACPDUs and the partner for {there}: this side \
                     notices a dead partner after {detect_here}, the partner notices a dead link \
                     after {detect_there}, and traffic into a dead link is lost until then",
                    join(&names)
                ),
                evidence,
                "use the same rate on both sides, preferably fast (lacp_rate=fast here, lacp rate \
                 fast on the switch port)",
            );
        }

        // Churn.
        for p in &up {
            let Some(sad) = p.slave.ad.as_ref() else { continue };
            let actor = sad.actor_churn == Some(Churn::Churned);
            let partner = sad.partner_churn == Some(Churn::Churned);
            if !(actor || partner) {
                continue;
            }
            let cause = if !p.hears() {
                "as a consequence of hearing no partner (see no-partner)".to_string()
            } else if actor && partner {
                "neither this port nor its partner reached sync within 60 s: the two ends do \
                 not agree on the aggregate (see the findings above)"
                    .to_string()
            } else if actor {
                "this port did not reach sync within 60 s: it is not selected into the active \
                 aggregator (different partner or key from the other ports, or speed/duplex)"
                    .to_string()
            } else {
                "the partner did not put its port in sync within 60 s: on the switch the port is \
                 not in the same port-channel as the others, or was suspended (e.g. lacp \
                 suspend-individual, a key or speed mismatch there)"
                    .to_string()
            };
            self.push(
                Code::Churned,
                if p.hears() { Severity::Warning } else { Severity::Info },
                &[p.name()],
                format!("{} is churned: {cause}", p.name()),
                vec![format!(
                    "{}: Actor Churn State: {}, Partner Churn State: {}, Actor Churned Count: {}, Partner Churned Count: {}",
                    p.name(),
                    sad.actor_churn.map_or("?".into(), |c| c.to_string()),
                    sad.partner_churn.map_or("?".into(), |c| c.to_string()),
                    sad.actor_churned_count.unwrap_or(0),
                    sad.partner_churned_count.unwrap_or(0)
                )],
                "fix the cause named; the churn state clears by itself once the port is in sync",
            );
        }

        // Aggregator split: up ports outside the active aggregator, and why.
        let Some(active) = active else { return };
        let members: Vec<&Port<'_>> =
            up.iter().copied().filter(|p| p.agg == Some(active.id)).collect();
        let outside: Vec<&Port<'_>> =
            up.iter().copied().filter(|p| p.agg != Some(active.id)).collect();
        if outside.is_empty() || up.len() < 2 {
            return;
        }
        let reference = members.iter().find(|p| p.hears()).or(members.first()).copied();
        let mut reasons = Vec::new();
        let mut evidence = Vec::new();
        let mut fixes = BTreeSet::new();
        for p in &outside {
            evidence.push(format!(
                "{}: Aggregator ID: {} (the active aggregator is {}), partner {} key {}, actor key {}",
                p.name(),
                p.agg.map_or("N/A".into(), |a| a.to_string()),
                active.id,
                p.partner.system,
                p.partner.key,
                p.actor.key
            ));
            let reason = match reference {
                _ if !p.hears() => {
                    fixes.insert("make the partner speak LACP on every port (see no-partner)");
                    format!("{} hears no partner", p.name())
                }
                Some(m) if !m.hears() => {
                    fixes.insert("make the partner speak LACP on every port (see no-partner)");
                    format!(
                        "{} hears partner {}, while the active aggregator's {} hears none",
                        p.name(),
                        p.partner.system,
                        m.name()
                    )
                }
                Some(m)
                    if p.partner.system != m.partner.system
                        || p.partner.system_priority != m.partner.system_priority =>
                {
                    fixes.insert(
                        "connect all ports to the same switch, or make the two switches one LACP \
                         system (stacking, MLAG/vPC/MC-LAG)",
                    );
                    format!(
                        "{} and {} reach different partner systems ({} and {}): the ports go to two \
                         switches that are not one LACP system (no stack/MLAG), or a cable is in \
                         the wrong switch",
                        p.name(),
                        m.name(),
                        p.partner.system,
                        m.partner.system
                    )
                }
                Some(m) if p.partner.key != m.partner.key => {
                    fixes
                        .insert("put the partner's ports into one port-channel (one LAG, one key)");
                    format!(
                        "the partner gives {} key {} and {} key {}: on the switch these ports are in \
                         different port-channels (LAGs)",
                        p.name(),
                        p.partner.key,
                        m.name(),
                        m.partner.key
                    )
                }
                Some(m) if p.actor.key != m.actor.key => {
                    fixes.insert("use ports of one speed and duplex (each speed gets its own key)");
                    format!(
                        "{} has key {} and {} key {} on this side: the ports differ in speed or \
                         duplex (or ad_user_port_key), and only equal keys aggregate",
                        p.name(),
                        p.actor.key,
                        m.name(),
                        m.actor.key
                    )
                }
                _ if !p.actor.state.has(PortState::AGGREGATION)
                    || !p.partner.state.has(PortState::AGGREGATION) =>
                {
                    fixes.insert("make both ends of every port aggregatable (full duplex, in the port-channel)");
                    format!("{} is an individual link (aggregation bit clear)", p.name())
                }
                _ => {
                    fixes.insert(
                        "if it persists for more than a few seconds, compare both ends' reports \
                         (ubond doctor HERE.txt THERE.txt)",
                    );
                    format!(
                        "{} has the same partner and keys as the active aggregator's ports but is \
                         not attached yet (selection still settling, or ad_select {} preferred \
                         another aggregator)",
                        p.name(),
                        ad.ad_select.as_deref().unwrap_or("?")
                    )
                }
            };
            reasons.push(reason);
        }
        if let Some(m) = reference {
            evidence.push(format!(
                "{}: Aggregator ID: {} (active), partner {} key {}, actor key {}",
                m.name(),
                active.id,
                m.partner.system,
                m.partner.key,
                m.actor.key
            ));
        }
        let names: Vec<&str> = outside.iter().map(|p| p.name()).collect();
        let ids: Vec<String> =
            up.iter().map(|p| p.agg.map_or("N/A".into(), |a| a.to_string())).collect();
        self.push(
            Code::AggregatorSplit,
            Severity::Warning,
            &names,
            format!(
                "the ports are in different aggregators (Aggregator ID {}) and only aggregator {} \
                 carries traffic, so {} idle: {}",
                ids.join(", "),
                active.id,
                they(&names, "is", "are"),
                reasons.join("; ")
            ),
            evidence,
            fixes.into_iter().collect::<Vec<_>>().join("; "),
        );
    }
}

/// A slave the Linux driver keeps down for want of a speed: it must know the speed in this
/// mode, reports none, and is down without ever having failed (a NIC without carrier also
/// reports no speed, but it went down through a link failure — or is down from the start,
/// which the report cannot tell apart: the `Link Failure Count` of 0 is the best clue).
fn refused_for_speed(r: &Report, s: &Slave) -> bool {
    !r.is_ubond()
        && needs_speed(r.mode)
        && s.mii_status == LinkState::Down
        && s.speed_mbps.is_none()
        && s.link_failure_count == 0
}

/// Modes in which the kernel needs each slave's speed and duplex (`bond_needs_speed_duplex`).
fn needs_speed(mode: Mode) -> bool {
    matches!(mode, Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb)
}

/// Findings across reports: one-way links between two of them, one system ID in two bonds.
fn across(bonds: &[Bond]) -> Vec<Finding> {
    let mut out = Vec::new();
    let system =
        |b: &Bond| b.report.ad.as_ref().and_then(|a| a.system_mac).filter(|m| !m.is_zero());
    for (i, a) in bonds.iter().enumerate() {
        for b in &bonds[i + 1..] {
            let (Some(sa), Some(sb)) = (system(a), system(b)) else { continue };
            if sa == sb {
                out.push(Finding {
                    code: Code::SystemIdConflict,
                    severity: Severity::Error,
                    bond: format!("{} / {}", a.name, b.name),
                    slaves: Vec::new(),
                    summary: format!(
                        "{} and {} use the same LACP system MAC {sa}: facing each other, each \
                         takes the other's LACPDUs for its own looped back and drops them; \
                         facing one switch, the switch sees one system",
                        a.name, b.name
                    ),
                    evidence: vec![
                        format!("{}: System MAC address: {sa}", a.name),
                        format!("{}: System MAC address: {sb}", b.name),
                    ],
                    fix: "give each bond its own MAC (cloned VMs: regenerate the NICs' MACs) or \
                          its own ad_actor_system"
                        .into(),
                });
                continue;
            }
            out.extend(one_way(a, sa, b, sb));
            out.extend(one_way(b, sb, a, sa));
        }
    }
    out
}

/// `hearer`'s ports that hear `other` where `other`'s matching port hears nothing.
fn one_way(hearer: &Bond, sys_h: MacAddr, other: &Bond, sys_o: MacAddr) -> Vec<Finding> {
    let mut out = Vec::new();
    let ports = |b: &Bond| -> Vec<(String, PortInfo, PortInfo)> {
        b.report
            .slaves
            .iter()
            .filter_map(|s| {
                let ad = s.ad.as_ref()?;
                Some((s.name.clone(), ad.actor?, ad.partner?))
            })
            .collect()
    };
    let theirs = ports(other);
    for (name, actor, partner) in ports(hearer) {
        if partner.system != sys_o || actor.state.has(PortState::DEFAULTED) {
            continue;
        }
        // The other side's port with the number this side heard.
        let Some((oname, oactor, opartner)) =
            theirs.iter().find(|(_, a, _)| a.port == partner.port)
        else {
            continue;
        };
        let hears_back = opartner.system == sys_h && !oactor.state.has(PortState::DEFAULTED);
        if !hears_back {
            out.push(Finding {
                code: Code::OneWayLoss,
                severity: Severity::Error,
                bond: format!("{} / {}", hearer.name, other.name),
                slaves: vec![name.clone(), oname.clone()],
                summary: format!(
                    "{h}'s {name} and {o}'s {oname} are one link that works one way: {h}'s {name} \
                     hears {o}'s LACPDUs, but {o}'s {oname} hears nothing from {h} (its partner is \
                     {}, its state {}). Frames from {h} to {o} over this link are lost.",
                    opartner.system,
                    state_words(oactor.state),
                    h = hearer.name,
                    o = other.name,
                ),
                evidence: vec![
                    format!(
                        "{}: {}: partner system mac address: {} port number: {}",
                        hearer.name, name, partner.system, partner.port
                    ),
                    format!(
                        "{}: {}: port number: {}, partner system mac address: {}, actor port state: {}",
                        other.name,
                        oname,
                        oactor.port,
                        opartner.system,
                        state_words(oactor.state)
                    ),
                ],
                fix: format!(
                    "check the direction from {}'s {name} towards {}'s {oname}: the \
                     transmitter/optic, the cable pair, anything filtering on the way (tc, ACLs, \
                     a bridge)",
                    hearer.name, other.name
                ),
            });
        }
    }
    out
}
