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
//!
//! The checks every bond gets are in `links`, those of an 802.3ad bond in `lacp`; this module
//! holds the findings' types, the order of the checks, and the checks across reports.

use std::collections::BTreeSet;
use std::fmt;

use ubond_core::options::{FailOverMac, LacpRate, Mode, XmitHashPolicy};
use ubond_wire::slow::{PortInfo, PortState};
use ubond_wire::MacAddr;

use crate::report::{Churn, Duplex, LinkState, Report, Slave};

mod lacp;
mod links;

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
    /// ubond's micro-BFD: a member's session is not up, so the member carries no traffic.
    BfdDown,
    /// ubond's micro-BFD: a member's session is up but has gone down before.
    BfdFlaps,
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
            Code::BfdDown => "bfd-down",
            Code::BfdFlaps => "bfd-flaps",
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
    c.bfd();
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
