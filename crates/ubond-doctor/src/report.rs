//! The `/proc/net/bonding/bondX` report as a typed model, read back from its text.
//!
//! [`Report::parse`] reads what `bond_procfs.c` prints (`ubond_core::report::render_proc` prints
//! the same bytes for ubond's bonds). It goes by the lines' labels, not by their positions, so
//! that the reports of older kernels parse too: those lack `Peer Notification Delay`,
//! `LACP active` or the churn lines, print `Slave queue ID` after the aggregator, or a version
//! line like `v3.7.1 (April 27, 2011)`. What a report may leave out is an `Option` here; what
//! only a reader with `CAP_NET_ADMIN` sees is `None` for an unprivileged one
//! ([`AdInfo::privileged`]).
//!
//! A line with a known label and a value that cannot be one is an error naming the line; a
//! line with an unknown label is kept in [`Report::unknown_lines`] (a newer kernel's addition
//! should not make the report unreadable).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ubond_core::options::{FailOverMac, LacpRate, Mode, PrimaryReselect, XmitHashPolicy};
use ubond_wire::slow::{PortInfo, PortState};
use ubond_wire::MacAddr;

/// Most slaves a report may list (the kernel has no limit; this bounds the work on garbage).
pub const MAX_SLAVES: usize = 1024;
/// Longest report accepted, in bytes.
pub const MAX_LEN: usize = 4 << 20;

/// A slave's link state as the report words it (`bond_slave_link_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// `up`.
    Up,
    /// `going down`: carrier lost, inside `downdelay`.
    GoingDown,
    /// `down`.
    Down,
    /// `going back`: carrier back, inside `updelay`.
    GoingBack,
    /// `unknown`.
    Unknown,
}

impl LinkState {
    fn parse(s: &str) -> Option<LinkState> {
        Some(match s {
            "up" => LinkState::Up,
            "going down" => LinkState::GoingDown,
            "down" => LinkState::Down,
            "going back" => LinkState::GoingBack,
            "unknown" => LinkState::Unknown,
            _ => return None,
        })
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkState::Up => "up",
            LinkState::GoingDown => "going down",
            LinkState::Down => "down",
            LinkState::GoingBack => "going back",
            LinkState::Unknown => "unknown",
        })
    }
}

/// A churn detection machine's state as the report words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Churn {
    /// `monitoring`: the churn timer runs (the port is not in sync yet).
    Monitoring,
    /// `churned`: out of sync for longer than the churn time (60 s).
    Churned,
    /// `none`: in sync.
    None,
}

impl Churn {
    fn parse(s: &str) -> Option<Churn> {
        Some(match s {
            "monitoring" => Churn::Monitoring,
            "churned" => Churn::Churned,
            "none" => Churn::None,
            _ => return None,
        })
    }
}

impl fmt::Display for Churn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Churn::Monitoring => "monitoring",
            Churn::Churned => "churned",
            Churn::None => "none",
        })
    }
}

/// A slave's duplex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duplex {
    /// `half`.
    Half,
    /// `full`.
    Full,
}

/// One parsed `/proc/net/bonding/bondX` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What follows `Ethernet Channel Bonding Driver: v` (`6.1.0-56-amd64`, `ubond-0.1.0`,
    /// `3.7.1 (April 27, 2011)`).
    pub driver_version: String,
    /// The bond's name, when the report says it (`bond bond0 has no active aggregator`);
    /// callers that know it from the file name may set it.
    pub name: Option<String>,
    /// `Bonding Mode`.
    pub mode: Mode,
    /// ` (fail_over_mac X)` after the mode; `none` when absent.
    pub fail_over_mac: FailOverMac,
    /// `Transmit Hash Policy`, when printed.
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    /// `Primary Slave` (`None` prints as such, and when the line is absent).
    pub primary: Option<String>,
    /// ` (primary_reselect X)` after the primary slave.
    pub primary_reselect: Option<PrimaryReselect>,
    /// `Currently Active Slave`, when the mode has one and one is active.
    pub active_slave: Option<String>,
    /// The bond's `MII Status` (its carrier).
    pub carrier: bool,
    /// `MII Polling Interval (ms)`.
    pub miimon_ms: u32,
    /// `Up Delay (ms)`.
    pub updelay_ms: u32,
    /// `Down Delay (ms)`.
    pub downdelay_ms: u32,
    /// `Peer Notification Delay (ms)` (kernels since 5.1).
    pub peer_notif_delay_ms: Option<u32>,
    /// `ARP Polling Interval (ms)`; 0 when the line is absent (the ARP monitor is off).
    pub arp_interval_ms: u32,
    /// `ARP Missed Max`.
    pub arp_missed_max: Option<u32>,
    /// `ARP IP target/s`.
    pub arp_targets: Vec<Ipv4Addr>,
    /// `NS IPv6 target/s`.
    pub ns_targets: Vec<Ipv6Addr>,
    /// The `802.3ad info` block.
    pub ad: Option<AdInfo>,
    /// The slaves, in the report's (enslave) order.
    pub slaves: Vec<Slave>,
    /// Lines with labels this parser does not know, with their line numbers (1-based).
    pub unknown_lines: Vec<(usize, String)>,
}

/// The `802.3ad info` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdInfo {
    /// `LACP active` (kernels since 5.15).
    pub lacp_active: Option<bool>,
    /// `LACP rate`.
    pub lacp_rate: Option<LacpRate>,
    /// `Min links`.
    pub min_links: Option<u32>,
    /// `Aggregator selection policy (ad_select)`, as printed.
    pub ad_select: Option<String>,
    /// Whether the reader had `CAP_NET_ADMIN`: the system lines, the active aggregator and
    /// the slaves' `details` are shown only then.
    pub privileged: bool,
    /// `System priority`.
    pub system_priority: Option<u16>,
    /// `System MAC address`.
    pub system_mac: Option<MacAddr>,
    /// `Active Aggregator Info` (`None`: "has no active aggregator", or not shown).
    pub active_aggregator: Option<ActiveAggregator>,
}

/// `Active Aggregator Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveAggregator {
    /// `Aggregator ID`.
    pub id: u16,
    /// `Number of ports`.
    pub ports: u32,
    /// `Actor Key`.
    pub actor_key: u16,
    /// `Partner Key`.
    pub partner_key: u16,
    /// `Partner Mac Address`.
    pub partner_mac: MacAddr,
}

/// One `Slave Interface` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slave {
    /// The interface.
    pub name: String,
    /// 1-based line of `Slave Interface:` in the report (for evidence).
    pub line: usize,
    /// `MII Status`.
    pub mii_status: LinkState,
    /// `Speed` in Mb/s; `None` for `Unknown`.
    pub speed_mbps: Option<u32>,
    /// `Duplex`; `None` for `Unknown`.
    pub duplex: Option<Duplex>,
    /// `Link Failure Count`.
    pub link_failure_count: u32,
    /// `Permanent HW addr`.
    pub perm_hwaddr: Option<MacAddr>,
    /// `Slave queue ID`.
    pub queue_id: Option<u16>,
    /// The 802.3ad part (802.3ad bonds only).
    pub ad: Option<SlaveAd>,
    /// ubond's micro-BFD lines (`bfd=on`; the kernel has none).
    pub bfd: Option<SlaveBfd>,
}

/// A slave's micro-BFD session (RFC 7130) as ubond's `BFD ...` lines show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaveBfd {
    /// 1-based line of `BFD Status:` (for evidence).
    pub line: usize,
    /// `BFD Status`: `admin down`, `down`, `init` or `up`.
    pub status: String,
    /// What a session that cannot start waits for (`BFD Status: down (waiting for ...)`).
    pub waiting_for: Option<String>,
    /// `BFD Remote Status`: the partner's state as it last said.
    pub remote_status: Option<String>,
    /// `BFD Diagnostic`: why the session last left Up.
    pub diagnostic: Option<String>,
    /// `BFD Detect Time (ms)`.
    pub detect_time_ms: Option<String>,
    /// `BFD Down Count`: how often the session went Down.
    pub down_count: Option<u64>,
    /// `BFD Dropped Packets`: received BFD packets refused (bad, spoofed, TTL below 255).
    pub dropped: Option<u64>,
}

/// A slave's 802.3ad lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaveAd {
    /// `Aggregator ID`; `None` for `N/A` (the port has no aggregator).
    pub aggregator_id: Option<u16>,
    /// `Actor Churn State`.
    pub actor_churn: Option<Churn>,
    /// `Partner Churn State`.
    pub partner_churn: Option<Churn>,
    /// `Actor Churned Count`.
    pub actor_churned_count: Option<i64>,
    /// `Partner Churned Count`.
    pub partner_churned_count: Option<i64>,
    /// `details actor lacp pdu` (privileged readers).
    pub actor: Option<PortInfo>,
    /// `details partner lacp pdu` (privileged readers).
    pub partner: Option<PortInfo>,
}

/// Why a text is not a bonding report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line, 0 for the report as a whole.
    pub line: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError { line, message: message.into() }
}

/// Where in the report a line is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Ad,
    ActiveAgg,
    Slave,
    ActorPdu,
    PartnerPdu,
}

impl Report {
    /// Reads a report's text.
    pub fn parse(text: &str) -> Result<Report, ParseError> {
        if text.len() > MAX_LEN {
            return Err(err(0, format!("{} bytes: too long for a bonding report", text.len())));
        }
        let mut driver_version = None;
        let mut mode = None;
        let mut report = Report {
            driver_version: String::new(),
            name: None,
            mode: Mode::BalanceRr,
            fail_over_mac: FailOverMac::None,
            xmit_hash_policy: None,
            primary: None,
            primary_reselect: None,
            active_slave: None,
            carrier: false,
            miimon_ms: 0,
            updelay_ms: 0,
            downdelay_ms: 0,
            peer_notif_delay_ms: None,
            arp_interval_ms: 0,
            arp_missed_max: None,
            arp_targets: Vec::new(),
            ns_targets: Vec::new(),
            ad: None,
            slaves: Vec::new(),
            unknown_lines: Vec::new(),
        };
        let mut section = Section::Header;
        let mut seen_carrier = false;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            if let Some(v) = line.strip_prefix("Ethernet Channel Bonding Driver: ") {
                driver_version = Some(v.strip_prefix('v').unwrap_or(v).to_string());
                continue;
            }
            if line == "802.3ad info" {
                report.ad = Some(AdInfo::default());
                section = Section::Ad;
                continue;
            }
            if let Some(name) = line.strip_prefix("Slave Interface: ") {
                if report.slaves.len() >= MAX_SLAVES {
                    return Err(err(n, format!("more than {MAX_SLAVES} slaves")));
                }
                report.slaves.push(Slave {
                    name: name.trim().to_string(),
                    line: n,
                    mii_status: LinkState::Unknown,
                    speed_mbps: None,
                    duplex: None,
                    link_failure_count: 0,
                    perm_hwaddr: None,
                    queue_id: None,
                    ad: None,
                    bfd: None,
                });
                section = Section::Slave;
                continue;
            }
            if let Some(rest) = line.strip_prefix("bond ") {
                if let Some(name) = rest.strip_suffix(" has no active aggregator") {
                    report.name = Some(name.to_string());
                    if let Some(ad) = report.ad.as_mut() {
                        ad.privileged = true;
                    }
                    continue;
                }
            }
            match (section, line) {
                (Section::Ad | Section::ActiveAgg, "Active Aggregator Info:") => {
                    if let Some(ad) = report.ad.as_mut() {
                        ad.privileged = true;
                        ad.active_aggregator = Some(ActiveAggregator::default());
                    }
                    section = Section::ActiveAgg;
                    continue;
                }
                (
                    Section::Slave | Section::ActorPdu | Section::PartnerPdu,
                    "details actor lacp pdu:",
                ) => {
                    slave_ad(&mut report)?.actor = Some(empty_port_info());
                    section = Section::ActorPdu;
                    continue;
                }
                (
                    Section::Slave | Section::ActorPdu | Section::PartnerPdu,
                    "details partner lacp pdu:",
                ) => {
                    slave_ad(&mut report)?.partner = Some(empty_port_info());
                    section = Section::PartnerPdu;
                    continue;
                }
                _ => {}
            }
            let Some((label, value)) = line.split_once(':') else {
                report.unknown_lines.push((n, line.to_string()));
                continue;
            };
            let label = label.trim();
            let value = value.trim();
            // A `details` block's lines are indented; a slave line ends it.
            if matches!(section, Section::ActorPdu | Section::PartnerPdu)
                && !line.starts_with(char::is_whitespace)
            {
                section = Section::Slave;
            }
            if section == Section::ActiveAgg && !line.starts_with(char::is_whitespace) {
                section = Section::Ad;
            }
            let known = match section {
                Section::Header => {
                    header_line(&mut report, &mut mode, &mut seen_carrier, n, label, value)?
                }
                Section::Ad => ad_line(&mut report, n, label, value)?,
                Section::ActiveAgg => agg_line(&mut report, n, label, value)?,
                Section::Slave => slave_line(&mut report, n, label, value)?,
                Section::ActorPdu | Section::PartnerPdu => {
                    pdu_line(&mut report, section == Section::ActorPdu, n, label, value)?
                }
            };
            if !known {
                report.unknown_lines.push((n, line.to_string()));
            }
        }
        report.driver_version = driver_version.ok_or_else(|| {
            err(0, "not a bonding report: no \"Ethernet Channel Bonding Driver:\" line")
        })?;
        report.mode =
            mode.ok_or_else(|| err(0, "not a bonding report: no \"Bonding Mode:\" line"))?;
        if !seen_carrier {
            return Err(err(0, "not a bonding report: no \"MII Status:\" line for the bond"));
        }
        if report.mode == Mode::Ieee8023ad && report.ad.is_none() {
            return Err(err(0, "an 802.3ad report without its \"802.3ad info\" block"));
        }
        Ok(report)
    }

    /// True when ubond (not the kernel) wrote the report. ubond prints its own version
    /// (`0.1.0`); kernels print their release (`6.1.0-56-amd64`) or, before 4.x, the driver's
    /// version (`3.7.1 (April 27, 2011)`), none of which starts with 0.
    pub fn is_ubond(&self) -> bool {
        self.driver_version.starts_with("ubond") || self.driver_version.starts_with("0.")
    }

    /// The slave named `name`.
    pub fn slave(&self, name: &str) -> Option<&Slave> {
        self.slaves.iter().find(|s| s.name == name)
    }
}

fn empty_port_info() -> PortInfo {
    PortInfo {
        system_priority: 0,
        system: MacAddr::ZERO,
        key: 0,
        port_priority: 0,
        port: 0,
        state: PortState(0),
    }
}

fn slave_ad(report: &mut Report) -> Result<&mut SlaveAd, ParseError> {
    let n = report.slaves.last().map_or(0, |s| s.line);
    let slave = report
        .slaves
        .last_mut()
        .ok_or_else(|| err(n, "LACP details outside a \"Slave Interface\" block"))?;
    Ok(slave.ad.get_or_insert_with(SlaveAd::default))
}

fn num<T: FromStr>(n: usize, label: &str, value: &str) -> Result<T, ParseError> {
    value.parse().map_err(|_| err(n, format!("\"{label}: {value}\": expected a number")))
}

fn mac(n: usize, label: &str, value: &str) -> Result<MacAddr, ParseError> {
    value.parse().map_err(|_| err(n, format!("\"{label}: {value}\": expected a MAC address")))
}

fn up_down(n: usize, label: &str, value: &str) -> Result<bool, ParseError> {
    match value {
        "up" => Ok(true),
        "down" => Ok(false),
        _ => Err(err(n, format!("\"{label}: {value}\": expected up or down"))),
    }
}

/// `name (rest)` → (`name`, `Some(rest)`).
fn paren(value: &str) -> (&str, Option<&str>) {
    match value.split_once(" (") {
        Some((a, b)) => (a.trim(), Some(b.trim_end_matches(')'))),
        None => (value, None),
    }
}

fn list<T: FromStr>(n: usize, label: &str, value: &str) -> Result<Vec<T>, ParseError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| err(n, format!("\"{label}\": {s:?} is not an address"))))
        .collect()
}

fn header_line(
    r: &mut Report,
    mode: &mut Option<Mode>,
    seen_carrier: &mut bool,
    n: usize,
    label: &str,
    value: &str,
) -> Result<bool, ParseError> {
    match label {
        "Bonding Mode" => {
            let (long, suffix) = paren_suffix(value);
            let m = Mode::ALL.iter().copied().find(|m| m.long_name() == long).ok_or_else(|| {
                err(n, format!("\"Bonding Mode: {value}\": not a mode the kernel prints"))
            })?;
            *mode = Some(m);
            if let Some(s) = suffix.and_then(|s| s.strip_prefix("fail_over_mac ")) {
                r.fail_over_mac = s.parse().map_err(|_| {
                    err(n, format!("\"Bonding Mode: {value}\": unknown fail_over_mac {s:?}"))
                })?;
            }
        }
        "Transmit Hash Policy" => {
            let (name, _) = paren(value);
            r.xmit_hash_policy =
                Some(name.parse().map_err(|_| {
                    err(n, format!("\"{label}: {value}\": not an xmit_hash_policy"))
                })?);
        }
        "Primary Slave" => {
            let (name, rest) = paren(value);
            r.primary = (name != "None").then(|| name.to_string());
            if let Some(p) = rest.and_then(|s| s.strip_prefix("primary_reselect ")) {
                r.primary_reselect = Some(p.parse().map_err(|_| {
                    err(n, format!("\"{label}: {value}\": unknown primary_reselect {p:?}"))
                })?);
            }
        }
        "Currently Active Slave" => {
            r.active_slave = (value != "None" && !value.is_empty()).then(|| value.to_string());
        }
        "MII Status" => {
            r.carrier = up_down(n, label, value)?;
            *seen_carrier = true;
        }
        "MII Polling Interval (ms)" => r.miimon_ms = num(n, label, value)?,
        "Up Delay (ms)" => r.updelay_ms = num(n, label, value)?,
        "Down Delay (ms)" => r.downdelay_ms = num(n, label, value)?,
        "Peer Notification Delay (ms)" => r.peer_notif_delay_ms = Some(num(n, label, value)?),
        "ARP Polling Interval (ms)" => r.arp_interval_ms = num(n, label, value)?,
        "ARP Missed Max" => r.arp_missed_max = Some(num(n, label, value)?),
        "ARP IP target/s (n.n.n.n form)" => r.arp_targets = list(n, label, value)?,
        "NS IPv6 target/s (xx" => {
            // `NS IPv6 target/s (xx::xx form):` splits at its first colon.
            let v = value.strip_prefix(":xx form):").unwrap_or(value);
            r.ns_targets = list(n, "NS IPv6 target/s", v)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The mode line's suffix: `fault-tolerance (active-backup) (fail_over_mac active)` →
/// (`fault-tolerance (active-backup)`, `Some("fail_over_mac active")`).
fn paren_suffix(value: &str) -> (&str, Option<&str>) {
    match value.rfind(" (fail_over_mac ") {
        Some(i) => (&value[..i], Some(value[i + 2..].trim_end_matches(')'))),
        None => (value, None),
    }
}

fn ad_line(r: &mut Report, n: usize, label: &str, value: &str) -> Result<bool, ParseError> {
    let Some(ad) = r.ad.as_mut() else { return Ok(false) };
    match label {
        "LACP active" => {
            ad.lacp_active = Some(match value {
                "on" => true,
                "off" => false,
                _ => return Err(err(n, format!("\"{label}: {value}\": expected on or off"))),
            })
        }
        "LACP rate" => {
            ad.lacp_rate = Some(
                value
                    .parse()
                    .map_err(|_| err(n, format!("\"{label}: {value}\": expected slow or fast")))?,
            )
        }
        "Min links" => ad.min_links = Some(num(n, label, value)?),
        "Aggregator selection policy (ad_select)" => ad.ad_select = Some(value.to_string()),
        "System priority" => {
            ad.privileged = true;
            ad.system_priority = Some(num(n, label, value)?);
        }
        "System MAC address" => {
            ad.privileged = true;
            ad.system_mac = Some(mac(n, label, value)?);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn agg_line(r: &mut Report, n: usize, label: &str, value: &str) -> Result<bool, ParseError> {
    let Some(agg) = r.ad.as_mut().and_then(|ad| ad.active_aggregator.as_mut()) else {
        return Ok(false);
    };
    match label {
        "Aggregator ID" => agg.id = num(n, label, value)?,
        "Number of ports" => agg.ports = num(n, label, value)?,
        "Actor Key" => agg.actor_key = num(n, label, value)?,
        "Partner Key" => agg.partner_key = num(n, label, value)?,
        "Partner Mac Address" => agg.partner_mac = mac(n, label, value)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn slave_line(r: &mut Report, n: usize, label: &str, value: &str) -> Result<bool, ParseError> {
    let Some(s) = r.slaves.last_mut() else { return Ok(false) };
    match label {
        "MII Status" => {
            s.mii_status = LinkState::parse(value).ok_or_else(|| {
                err(n, format!("\"{label}: {value}\": expected up, going down, down or going back"))
            })?
        }
        "Speed" => {
            s.speed_mbps = match value {
                "Unknown" => None,
                v => Some(num(n, label, v.trim_end_matches(" Mbps"))?),
            }
        }
        "Duplex" => {
            s.duplex = match value {
                "full" => Some(Duplex::Full),
                "half" => Some(Duplex::Half),
                "Unknown" | "unknown" => None,
                _ => {
                    return Err(err(
                        n,
                        format!("\"{label}: {value}\": expected full, half or Unknown"),
                    ))
                }
            }
        }
        "Link Failure Count" => s.link_failure_count = num(n, label, value)?,
        "Permanent HW addr" => s.perm_hwaddr = Some(mac(n, label, value)?),
        "Slave queue ID" => s.queue_id = Some(num(n, label, value)?),
        "Aggregator ID" => {
            let ad = s.ad.get_or_insert_with(SlaveAd::default);
            ad.aggregator_id = match value {
                "N/A" => None,
                v => Some(num(n, label, v)?),
            };
        }
        "Actor Churn State" | "Partner Churn State" => {
            let c = Churn::parse(value).ok_or_else(|| {
                err(n, format!("\"{label}: {value}\": expected monitoring, churned or none"))
            })?;
            let ad = s.ad.get_or_insert_with(SlaveAd::default);
            if label.starts_with("Actor") {
                ad.actor_churn = Some(c);
            } else {
                ad.partner_churn = Some(c);
            }
        }
        "Actor Churned Count" => {
            s.ad.get_or_insert_with(SlaveAd::default).actor_churned_count =
                Some(num(n, label, value)?)
        }
        "Partner Churned Count" => {
            s.ad.get_or_insert_with(SlaveAd::default).partner_churned_count =
                Some(num(n, label, value)?)
        }
        "BFD Status" => {
            let (status, waiting_for) = match value.split_once(" (waiting for ") {
                Some((st, why)) => (st, Some(why.trim_end_matches(')').to_string())),
                None => (value, None),
            };
            if !matches!(status, "admin down" | "down" | "init" | "up") {
                return Err(err(
                    n,
                    format!("\"{label}: {value}\": expected admin down, down, init or up"),
                ));
            }
            s.bfd = Some(SlaveBfd {
                line: n,
                status: status.to_string(),
                waiting_for,
                ..SlaveBfd::default()
            });
        }
        "BFD Remote Status"
        | "BFD Diagnostic"
        | "BFD Detect Time (ms)"
        | "BFD Down Count"
        | "BFD Dropped Packets"
        | "BFD Local Discriminator"
        | "BFD Remote Discriminator"
        | "BFD TX Interval (ms)"
        | "BFD RX Interval (ms)" => {
            let Some(b) = s.bfd.as_mut() else {
                return Err(err(n, format!("\"{label}\" before the slave's \"BFD Status\" line")));
            };
            match label {
                "BFD Remote Status" => b.remote_status = Some(value.to_string()),
                "BFD Diagnostic" => b.diagnostic = Some(value.to_string()),
                "BFD Detect Time (ms)" => b.detect_time_ms = Some(value.to_string()),
                "BFD Down Count" => b.down_count = Some(num(n, label, value)?),
                "BFD Dropped Packets" => b.dropped = Some(num(n, label, value)?),
                // Discriminators and intervals: shown to people, judged by no check.
                _ => {}
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn pdu_line(
    r: &mut Report,
    actor: bool,
    n: usize,
    label: &str,
    value: &str,
) -> Result<bool, ParseError> {
    let ad = slave_ad(r)?;
    let Some(p) = (if actor { ad.actor.as_mut() } else { ad.partner.as_mut() }) else {
        return Ok(false);
    };
    match label {
        "system priority" => p.system_priority = num(n, label, value)?,
        "system mac address" => p.system = mac(n, label, value)?,
        "port key" | "oper key" => p.key = num(n, label, value)?,
        "port priority" => p.port_priority = num(n, label, value)?,
        "port number" => p.port = num(n, label, value)?,
        "port state" => p.state = PortState(num(n, label, value)?),
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_report() {
        let e = Report::parse("hello\n").unwrap_err();
        assert!(e.to_string().contains("not a bonding report"), "{e}");
        let e = Report::parse("").unwrap_err();
        assert_eq!(e.line, 0);
    }

    #[test]
    fn bad_values_name_the_line() {
        let text = "Ethernet Channel Bonding Driver: v6.1\n\nBonding Mode: load balancing (round-robin)\nMII Status: up\nMII Polling Interval (ms): soon\n";
        let e = Report::parse(text).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("expected a number"), "{e}");
        let text =
            "Ethernet Channel Bonding Driver: v6.1\n\nBonding Mode: sideways\nMII Status: up\n";
        assert_eq!(Report::parse(text).unwrap_err().line, 3);
    }

    #[test]
    fn old_kernel_layout() {
        // CentOS 7 (3.10): dated version line, no peer notification, no churn, the queue ID
        // after the aggregator.
        let text = "Ethernet Channel Bonding Driver: v3.7.1 (April 27, 2011)\n\nBonding Mode: IEEE 802.3ad Dynamic link aggregation\nTransmit Hash Policy: layer2 (0)\nMII Status: up\nMII Polling Interval (ms): 100\nUp Delay (ms): 0\nDown Delay (ms): 0\n\n802.3ad info\nLACP rate: slow\nMin links: 0\nAggregator selection policy (ad_select): stable\nActive Aggregator Info:\n\tAggregator ID: 1\n\tNumber of ports: 2\n\tActor Key: 33\n\tPartner Key: 1\n\tPartner Mac Address: 00:11:22:33:44:55\n\nSlave Interface: em1\nMII Status: up\nSpeed: 10000 Mbps\nDuplex: full\nLink Failure Count: 0\nPermanent HW addr: 00:aa:bb:cc:dd:01\nAggregator ID: 1\nSlave queue ID: 0\n";
        let r = Report::parse(text).unwrap();
        assert_eq!(r.driver_version, "3.7.1 (April 27, 2011)");
        assert_eq!(r.peer_notif_delay_ms, None);
        let ad = r.ad.as_ref().unwrap();
        assert_eq!(ad.lacp_active, None);
        assert!(ad.privileged);
        assert_eq!(ad.active_aggregator.unwrap().partner_mac.to_string(), "00:11:22:33:44:55");
        assert_eq!(r.slaves[0].queue_id, Some(0));
        assert_eq!(r.slaves[0].ad.as_ref().unwrap().aggregator_id, Some(1));
        assert!(r.unknown_lines.is_empty(), "{:?}", r.unknown_lines);
    }

    #[test]
    fn unknown_labels_are_kept() {
        let text = "Ethernet Channel Bonding Driver: v9.9\n\nBonding Mode: load balancing (round-robin)\nMII Status: up\nShiny New Thing: 7\n";
        let r = Report::parse(text).unwrap();
        assert_eq!(r.unknown_lines, vec![(5, "Shiny New Thing: 7".to_string())]);
    }

    #[test]
    fn ubond_bfd_lines() {
        let head = "Ethernet Channel Bonding Driver: 0.1.0\n\nBonding Mode: load balancing (round-robin)\nMII Status: up\n\nSlave Interface: eth0\nMII Status: up\n";
        let r =
            Report::parse(&format!("{head}BFD Status: down (waiting for bfd_peer is not set)\n"))
                .unwrap();
        let b = r.slaves[0].bfd.as_ref().unwrap();
        assert_eq!((b.line, b.status.as_str()), (8, "down"));
        assert_eq!(b.waiting_for.as_deref(), Some("bfd_peer is not set"));
        let r = Report::parse(&format!(
            "{head}BFD Status: up\nBFD Remote Status: up\nBFD Local Discriminator: 7\n\
             BFD Diagnostic: control detection time expired\nBFD Down Count: 2\n\
             BFD Dropped Packets: 5\n"
        ))
        .unwrap();
        assert!(r.unknown_lines.is_empty(), "{:?}", r.unknown_lines);
        let b = r.slaves[0].bfd.as_ref().unwrap();
        assert_eq!(b.diagnostic.as_deref(), Some("control detection time expired"));
        assert_eq!((b.down_count, b.dropped), (Some(2), Some(5)));
        let e = Report::parse(&format!("{head}BFD Status: sideways\n")).unwrap_err();
        assert_eq!(e.line, 8);
        let e = Report::parse(&format!("{head}BFD Down Count: 2\n")).unwrap_err();
        assert!(e.to_string().contains("before the slave's \"BFD Status\""), "{e}");
        let e =
            Report::parse(&format!("{head}BFD Status: up\nBFD Down Count: many\n")).unwrap_err();
        assert_eq!(e.line, 9);
    }
}
