//! systemd-networkd: a `.netdev` with `Kind=bond` and a `[Bond]` section, the bond's
//! `.network` (addresses), and one `.network` per slave with `Bond=`.
//!
//! ```text
//! # 25-bond0.netdev            # 25-bond0.network         # 25-bond0-eth0.network
//! [NetDev]                     [Match]                    [Match]
//! Name=bond0                   Name=bond0                 Name=eth0
//! Kind=bond                                               [Network]
//!                              [Network]                  Bond=bond0
//! [Bond]                       Address=192.0.2.10/24      PrimarySlave=yes
//! Mode=active-backup           Gateway=192.0.2.1
//! MIIMonitorSec=100ms
//! ```
//!
//! Keys map to kernel options as in `systemd.netdev(5)` (`TransmitHashPolicy=` is
//! `xmit_hash_policy`, `LACPTransmitRate=` is `lacp_rate`, ...). Times are systemd time spans:
//! **a number without a unit is seconds** (`MIIMonitorSec=100` is 100 s; the linter says so).
//! The slaves are the names in `[Match] Name=` of the `.network` files with `Bond=`;
//! `PrimarySlave=yes` and `ActiveSlave=yes` there give `primary` and `active_slave`. Options
//! that networkd cannot set (`lacp_active`, `ns_ip6_target`, `coupled_control`, per-slave
//! options, ...) are written as comments.
//!
//! Drop-ins (`25-bond0.network.d/mtu.conf`) are read after their unit, as networkd reads them
//! ([`dropin_target`]); one whose unit is not among the files is said, never dropped silently.

use std::net::IpAddr;

use ubond_core::options::OptionId;

use crate::finding::{Finding, Span};
use std::collections::BTreeMap;

use ubond_wire::MacAddr;

use crate::ini::{read, Entry, Unit};
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Match, Parsed, Route, SourceFile};
use crate::settings::{apply_settings, option_pairs, Setting};
use crate::text::{did_you_mean, suggestion_suffix};

/// The directory [`emit`] writes to.
pub const DIR: &str = "/etc/systemd/network";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Kernel value as is.
    Plain,
    /// A time span, in ms for the kernel.
    Millis,
    /// A time span, in s for the kernel.
    Seconds,
    /// A systemd boolean, 1/0 for the kernel.
    Bool,
    /// A space-separated list.
    List,
}

const KEYS: &[(&str, OptionId, Kind)] = &[
    ("Mode", OptionId::Mode, Kind::Plain),
    ("TransmitHashPolicy", OptionId::XmitHashPolicy, Kind::Plain),
    ("LACPTransmitRate", OptionId::LacpRate, Kind::Plain),
    ("MIIMonitorSec", OptionId::Miimon, Kind::Millis),
    ("UpDelaySec", OptionId::Updelay, Kind::Millis),
    ("DownDelaySec", OptionId::Downdelay, Kind::Millis),
    ("PeerNotifyDelaySec", OptionId::PeerNotifDelay, Kind::Millis),
    ("LearnPacketIntervalSec", OptionId::LpInterval, Kind::Seconds),
    ("AdSelect", OptionId::AdSelect, Kind::Plain),
    ("AdActorSystemPriority", OptionId::AdActorSysPrio, Kind::Plain),
    ("AdUserPortKey", OptionId::AdUserPortKey, Kind::Plain),
    ("AdActorSystem", OptionId::AdActorSystem, Kind::Plain),
    ("FailOverMACPolicy", OptionId::FailOverMac, Kind::Plain),
    ("ARPValidate", OptionId::ArpValidate, Kind::Plain),
    ("ARPIntervalSec", OptionId::ArpInterval, Kind::Millis),
    ("ARPIPTargets", OptionId::ArpIpTarget, Kind::List),
    ("ARPAllTargets", OptionId::ArpAllTargets, Kind::Plain),
    ("ARPMissedMax", OptionId::ArpMissedMax, Kind::Plain),
    ("PrimaryReselectPolicy", OptionId::PrimaryReselect, Kind::Plain),
    ("ResendIGMP", OptionId::ResendIgmp, Kind::Plain),
    ("PacketsPerSlave", OptionId::PacketsPerSlave, Kind::Plain),
    ("GratuitousARP", OptionId::NumGratArp, Kind::Plain),
    ("AllSlavesActive", OptionId::AllSlavesActive, Kind::Bool),
    ("DynamicTransmitLoadBalancing", OptionId::TlbDynamicLb, Kind::Bool),
    ("MinLinks", OptionId::MinLinks, Kind::Plain),
];

/// A systemd time span in microseconds (`100ms`, `1s 500ms`, `2min`; a bare number is
/// seconds).
fn time_us(v: &str) -> Option<u128> {
    let mut total: u128 = 0;
    let mut rest = v.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if n_end == 0 {
            return None;
        }
        let n: u128 = rest[..n_end].parse().ok()?;
        rest = rest[n_end..].trim_start();
        let u_end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..u_end];
        rest = rest[u_end..].trim_start();
        let mult: u128 = match unit {
            "" | "s" | "sec" | "second" | "seconds" => 1_000_000,
            "us" | "usec" | "µs" => 1,
            "ms" | "msec" => 1_000,
            "m" | "min" | "minute" | "minutes" => 60_000_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(total)
}

fn bool_value(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// A `.link` file's renaming: the NICs it matches get `[Link] Name=`.
struct Rename {
    rule: Match,
    name: String,
}

fn link_renames(units: &[Unit], findings: &mut Vec<Finding>) -> Vec<Rename> {
    let mut out = Vec::new();
    for u in units.iter().filter(|u| u.is_link()) {
        let Some(name) = u.last("Link", "Name") else { continue };
        let mut rule = Match { rename: true, ..Match::default() };
        for e in u.entries.iter().filter(|e| e.section == "Match") {
            match e.key.as_str() {
                "MACAddress" | "PermanentMACAddress" => match e.value.parse::<MacAddr>() {
                    Ok(m) => rule.mac = Some(m),
                    Err(_) => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid {} '{}'", e.key, e.value),
                    )),
                },
                "OriginalName" => rule.name = Some(e.value.clone()),
                "Driver" => rule.driver = Some(e.value.clone()),
                "Path" => rule.path = Some(e.value.clone()),
                _ => {}
            }
        }
        out.push(Rename { rule, name: name.value.clone() });
    }
    out
}

/// The slave a port's `.network` matches: its name (a plain `Name=`, or a `.link` file's
/// new name for what it matches), and the match rule when there is one.
fn port_of(
    n: &Unit,
    bond: &str,
    renames: &[Rename],
    findings: &mut Vec<Finding>,
) -> Vec<(String, Option<Match>, Span)> {
    let name = n.last("Match", "Name");
    let mut rule = Match::default();
    for e in n.entries.iter().filter(|e| e.section == "Match") {
        match e.key.as_str() {
            "MACAddress" | "PermanentMACAddress" => {
                match e.value.split_whitespace().next().unwrap_or("").parse::<MacAddr>() {
                    Ok(m) => rule.mac = Some(m),
                    Err(_) => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid {} '{}'", e.key, e.value),
                    )),
                }
            }
            "Driver" => rule.driver = Some(e.value.clone()),
            "Path" => rule.path = Some(e.value.clone()),
            _ => {}
        }
    }
    let at = name
        .map(|m| m.value_span.clone())
        .or_else(|| n.entries.iter().find(|e| e.section == "Match").map(|e| e.key_span.clone()))
        .unwrap_or_else(|| Span::new(&n.path, 1, 1));
    let names: Vec<&str> = name.map(|m| m.value.split_whitespace().collect()).unwrap_or_default();
    if rule == Match::default()
        && !names.is_empty()
        && !names.iter().any(|s| crate::files::has_wildcard(s))
    {
        return names
            .into_iter()
            .map(|s| {
                // A name a `.link` file gives.
                let r = renames.iter().find(|r| r.name == s).map(|r| r.rule.clone());
                (s.to_owned(), r, at.clone())
            })
            .collect();
    }
    if let [one] = names.as_slice() {
        if !crate::files::has_wildcard(one) {
            // A NIC of that name and that MAC address (or driver): the name is the slave's.
            return vec![((*one).to_owned(), Some(rule), at)];
        }
        rule.name = Some(names[0].to_owned());
    } else if names.len() > 1 {
        findings.push(Finding::warning(
            &at,
            format!(
                "Name={}: several names with a MAC or driver match: the first pattern is kept",
                names.join(" ")
            ),
        ));
        rule.name = Some(names[0].to_owned());
    }
    if rule == Match::default() {
        return Vec::new();
    }
    // The file's name stands for the NIC (`25-bond0-port1.network` is port1).
    let stem = n.stem().trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches('-');
    let id = stem.strip_prefix(&format!("{bond}-")).unwrap_or(stem).to_owned();
    vec![(id, Some(rule), at)]
}

/// Parses `.netdev`, `.network` and `.link` files.
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let units: Vec<Unit> = files.iter().map(|f| read(f, &mut findings)).collect();
    let units = with_dropins(units, &mut findings);
    let renames = link_renames(&units, &mut findings);
    let mut bonds: Vec<BondConfig> = Vec::new();
    let key_names: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
    for u in units.iter().filter(|u| u.is_netdev()) {
        let is_bond = u.last("NetDev", "Kind").is_some_and(|k| k.value == "bond");
        if !is_bond {
            continue;
        }
        let Some(name) = u.last("NetDev", "Name") else {
            let s = u
                .last("NetDev", "Kind")
                .map(|k| k.key_span.clone())
                .unwrap_or_else(|| Span::new(&u.path, 1, 1));
            findings.push(Finding::error(&s, "a bond .netdev needs [NetDev] Name="));
            continue;
        };
        let mut b = BondConfig::new(name.value.clone());
        b.spans.bond = Some(name.value_span.clone());
        for e in u.entries.iter().filter(|e| e.section == "NetDev") {
            match e.key.as_str() {
                "Name" | "Kind" | "Description" => {}
                "MTUBytes" => mtu(&mut b, e, &mut findings),
                "MACAddress" => mac(&mut b, e, &mut findings),
                _ => b.extra(
                    format!("{}: [NetDev] {}={}", u.stem(), e.key, e.value),
                    e.key_span.clone(),
                ),
            }
        }
        let mut settings = Vec::new();
        for e in u.entries.iter().filter(|e| e.section == "Bond") {
            let Some(&(_, id, kind)) = KEYS.iter().find(|k| k.0 == e.key) else {
                let s = did_you_mean(&e.key, key_names.iter().copied());
                let mut f = Finding::error(
                    &e.key_span,
                    format!("unknown [Bond] key '{}'{}", e.key, suggestion_suffix(s)),
                );
                if let Some(s) = s {
                    f = f.with_fix(s);
                }
                findings.push(f);
                continue;
            };
            let value = match kind {
                Kind::Plain | Kind::List => Some(e.value.clone()),
                Kind::Bool => bool_value(&e.value).map(|b| u8::from(b).to_string()),
                Kind::Millis | Kind::Seconds => {
                    let unit = if kind == Kind::Millis { 1_000 } else { 1_000_000 };
                    match time_us(&e.value) {
                        Some(us) if us % unit == 0 => {
                            if e.value.trim().bytes().all(|c| c.is_ascii_digit())
                                && kind == Kind::Millis
                                && us > 0
                            {
                                findings.push(
                                    Finding::warning(&e.value_span, format!("{}={} is {} seconds (a number without a unit is seconds in systemd); write {}ms if milliseconds were meant", e.key, e.value, e.value, e.value))
                                        .with_fix(format!("{}ms", e.value)),
                                );
                            }
                            Some((us / unit).to_string())
                        }
                        _ => None,
                    }
                }
            };
            let Some(value) = value else {
                findings.push(Finding::error(
                    &e.value_span,
                    format!("invalid value '{}' for {}", e.value, e.key),
                ));
                continue;
            };
            settings.push(Setting {
                id,
                key: e.key.clone(),
                value,
                raw: e.value.clone(),
                slave: None,
                key_span: e.key_span.clone(),
                value_span: e.value_span.clone(),
            });
        }
        // Slaves, with PrimarySlave= / ActiveSlave=.
        for n in units.iter().filter(|n| !n.is_netdev() && !n.is_link()) {
            let Some(bond) = n.last("Network", "Bond") else { continue };
            if bond.value != b.name {
                continue;
            }
            let ports = port_of(n, &b.name, &renames, &mut findings);
            if ports.is_empty() {
                findings.push(Finding::warning(
                    &bond.key_span,
                    "Bond= in a .network without [Match] Name= or MACAddress=: no slave named",
                ));
                continue;
            }
            for (s, rule, at) in ports {
                if !b.slaves.contains(&s) {
                    b.slaves.push(s.clone());
                    b.spans.slaves.insert(s.clone(), at.clone());
                }
                if let Some(r) = rule {
                    b.note(&Fact::Match(s.clone()), at.clone());
                    b.matches.insert(s.clone(), r);
                }
                for (key, id) in
                    [("PrimarySlave", OptionId::Primary), ("ActiveSlave", OptionId::ActiveSlave)]
                {
                    if let Some(e) = n.last("Network", key) {
                        match bool_value(&e.value) {
                            Some(true) => settings.push(Setting {
                                id,
                                key: key.to_owned(),
                                value: s.clone(),
                                raw: s.clone(),
                                slave: None,
                                key_span: e.key_span.clone(),
                                value_span: e.value_span.clone(),
                            }),
                            Some(false) => {}
                            None => findings.push(Finding::error(
                                &e.value_span,
                                format!("invalid boolean '{}' for {key}", e.value),
                            )),
                        }
                    }
                }
                port_facts(n, &mut b, &s, &mut findings);
            }
        }
        // The bond's own .network: its IP configuration.
        for n in units.iter().filter(|n| !n.is_netdev() && !n.is_link()) {
            let Some(m) = n.last("Match", "Name") else { continue };
            if !m.value.split_whitespace().any(|x| x == b.name)
                || n.last("Network", "Bond").is_some()
            {
                continue;
            }
            bond_network(n, &mut b, &mut findings);
        }
        let (o, f) = apply_settings(&settings);
        findings.extend(f);
        for s in &settings {
            b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
        }
        b.options = o;
        bonds.push(b);
    }
    // Bond= naming a bond that no .netdev defines.
    for n in units.iter().filter(|n| !n.is_netdev()) {
        if let Some(bond) = n.last("Network", "Bond") {
            if !bonds.iter().any(|b| b.name == bond.value) {
                let s = did_you_mean(&bond.value, bonds.iter().map(|b| b.name.as_str()));
                let mut f = Finding::warning(
                    &bond.value_span,
                    format!(
                        "Bond={}: no .netdev defines this bond among the files given{}",
                        bond.value,
                        suggestion_suffix(s)
                    ),
                );
                if let Some(s) = s {
                    f = f.with_fix(s);
                }
                findings.push(f);
            }
        }
    }
    Parsed { config: ConfigSet { bonds }, findings, unmarked: Vec::new() }
}

fn mtu(b: &mut BondConfig, e: &Entry, findings: &mut Vec<Finding>) {
    let v = e.value.trim();
    let n = v
        .strip_suffix('K')
        .and_then(|k| k.parse::<u32>().ok())
        .map(|k| k * 1024)
        .or_else(|| v.parse().ok());
    match n {
        Some(n) if (68..=65535).contains(&n) => {
            b.mtu = Some(n);
            b.note(&Fact::Mtu, e.key_span.clone());
        }
        _ => findings.push(Finding::error(
            &e.value_span,
            format!("invalid {} '{}': 68-65535", e.key, e.value),
        )),
    }
}

fn mac(b: &mut BondConfig, e: &Entry, findings: &mut Vec<Finding>) {
    match e.value.parse::<MacAddr>() {
        Ok(m) => {
            b.mac = Some(m);
            b.note(&Fact::Mac, e.key_span.clone());
        }
        Err(_) => findings
            .push(Finding::error(&e.value_span, format!("invalid MACAddress '{}'", e.value))),
    }
}

/// A port's `.network`: addresses, routes and name servers on it are a mistake; its other
/// keys are kept as extras.
fn port_facts(n: &Unit, b: &mut BondConfig, port: &str, findings: &mut Vec<Finding>) {
    for e in &n.entries {
        let key = (e.section.as_str(), e.key.as_str());
        match key {
            ("Match", _) | ("Network", "Bond" | "PrimarySlave" | "ActiveSlave") => continue,
            ("Network", "Address" | "Gateway" | "DNS" | "Domains") | ("Address" | "Route", _) => {
                findings.push(Finding::warning(&e.key_span, format!("{}= on '{port}', a slave of bond '{}': addresses, routes and name servers go on the bond", e.key, b.name)));
            }
            ("Network", "DHCP") if !matches!(e.value.as_str(), "no" | "false" | "0") => {
                findings.push(Finding::warning(&e.key_span, format!("DHCP={} on '{port}', a slave of bond '{}': a slave carries no IP configuration", e.value, b.name)).with_fix("DHCP=no"));
            }
            ("Network", "DHCP") => continue,
            ("Network", "Bridge") => {
                findings.push(Finding::error(&e.key_span, format!("'{port}' is a slave of bond '{}' and a port of bridge '{}': an interface has one master; make the bond the bridge's port", b.name, e.value)));
            }
            _ => {}
        }
        b.extra(format!("{port}: [{}] {}={}", e.section, e.key, e.value), e.key_span.clone());
    }
}

/// The bond's own `.network`: `Address=`, `Gateway=`, `DNS=`, `Domains=`, `DHCP=`,
/// `[Address]`, `[Route]`, `[Link] MTUBytes=` / `MACAddress=`; anything else is an extra.
fn bond_network(n: &Unit, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    let mut route_sections: BTreeMap<usize, Vec<&Entry>> = BTreeMap::new();
    for e in &n.entries {
        match (e.section.as_str(), e.key.as_str()) {
            ("Match", "Name") => {}
            ("Network", "DHCP") => {
                let v = e.value.to_ascii_lowercase();
                let (v4, v6) = match v.as_str() {
                    "yes" | "true" | "both" | "1" | "on" => (true, true),
                    "ipv4" => (true, false),
                    "ipv6" => (false, true),
                    "no" | "false" | "0" | "off" => (false, false),
                    _ => {
                        findings.push(Finding::error(
                            &e.value_span,
                            format!("DHCP={}: expected yes, no, ipv4 or ipv6", e.value),
                        ));
                        (false, false)
                    }
                };
                b.dhcp4 = v4;
                b.dhcp6 = v6;
                b.note(&Fact::Dhcp4, e.key_span.clone());
                b.note(&Fact::Dhcp6, e.key_span.clone());
            }
            ("Network" | "Address", "Address") => match crate::net::prefixed(&e.value) {
                Some(a) => {
                    b.note(&Fact::Address(a.0, a.1), e.key_span.clone());
                    b.addresses.push(a);
                }
                None => findings.push(Finding::error(
                    &e.value_span,
                    format!("invalid Address '{}' (expected ADDRESS/PREFIX)", e.value),
                )),
            },
            ("Network", "Gateway") => match e.value.parse::<IpAddr>() {
                Ok(ip) => {
                    let r = Route::default_via(ip);
                    b.note(&Fact::Route(r.clone()), e.key_span.clone());
                    b.routes.push(r);
                }
                Err(_) => findings
                    .push(Finding::error(&e.value_span, format!("invalid Gateway '{}'", e.value))),
            },
            // An empty assignment clears the list so far (systemd.network(5)): a drop-in's
            // `DNS=` then `DNS=192.0.2.53` replaces what the main file said.
            ("Network", "DNS") if e.value.trim().is_empty() => b.dns.servers.clear(),
            ("Network", "Domains") if e.value.trim().is_empty() => {
                b.dns.search.clear();
                b.dns.routing_domains.clear();
            }
            ("Network", "DNS") => {
                for w in e.value.split_whitespace() {
                    match w.parse::<IpAddr>() {
                        Ok(ip) => b.dns.servers.push(ip),
                        Err(_) => findings
                            .push(Finding::error(&e.value_span, format!("invalid DNS '{w}'"))),
                    }
                }
                b.note(&Fact::Dns, e.key_span.clone());
            }
            ("Network", "Domains") => {
                // `~example.com` (and `~.`) are routing-only domains (systemd.network(5)).
                for w in e.value.split_whitespace() {
                    if b.dns.add_domain(w) {
                        b.note(&Fact::RoutingDomains, e.key_span.clone());
                    }
                }
                b.note(&Fact::Dns, e.key_span.clone());
            }
            ("Link", "MTUBytes") => mtu(b, e, findings),
            ("Link", "MACAddress") => mac(b, e, findings),
            ("Route", _) => route_sections.entry(e.index).or_default().push(e),
            _ => b.extra(
                format!("{}: [{}] {}={}", b.name, e.section, e.key, e.value),
                e.key_span.clone(),
            ),
        }
    }
    for (_, entries) in route_sections {
        let get = |k: &str| entries.iter().rev().find(|e| e.key == k);
        let at = entries[0].key_span.clone();
        let via = get("Gateway").map(|e| e.value.parse::<IpAddr>());
        let v6 = matches!(via, Some(Ok(IpAddr::V6(_))));
        let to = match get("Destination") {
            Some(d) => crate::net::destination(&d.value, v6 || d.value.contains(':')),
            None => crate::net::destination("default", v6),
        };
        let metric = get("Metric").map(|e| e.value.parse::<u32>());
        let table = get("Table").map(|e| crate::net::table_number(&e.value));
        let others = entries
            .iter()
            .any(|e| !matches!(e.key.as_str(), "Destination" | "Gateway" | "Metric" | "Table"));
        match (to, via, metric, table) {
            (Some(to), via, metric, table)
                if !matches!(via, Some(Err(_)))
                    && !matches!(metric, Some(Err(_)))
                    && !matches!(table, Some(None))
                    && !others =>
            {
                let mut r = Route {
                    to,
                    via: via.and_then(Result::ok),
                    metric: metric.and_then(Result::ok),
                    table: table.flatten(),
                };
                if r.table == Some(254) {
                    r.table = None;
                }
                b.note(&Fact::Route(r.clone()), at);
                b.routes.push(r);
            }
            _ if others => {
                let text: Vec<String> =
                    entries.iter().map(|e| format!("{}={}", e.key, e.value)).collect();
                b.extra(format!("{}: [Route] {}", b.name, text.join(" ")), at);
            }
            _ => findings.push(Finding::error(
                &at,
                "[Route]: invalid Destination, Gateway, Metric or Table",
            )),
        }
    }
}

/// Writes per bond a `.netdev`, the bond's `.network`, a `.network` per slave, and a
/// `.link` file per slave that a match renames.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = Vec::new();
    for b in &set.bonds {
        let mut comments = lost.common(b, false, "systemd-networkd");
        let mut nd = format!("# written by ubond\n[NetDev]\nName={}\nKind=bond\n", b.name);
        if let Some(m) = b.mtu {
            nd.push_str(&format!("MTUBytes={m}\n"));
        }
        if let Some(m) = b.mac {
            nd.push_str(&format!("MACAddress={m}\n"));
        }
        let mut bond_sec = String::new();
        for (id, v) in option_pairs(&b.options) {
            if matches!(id, OptionId::Primary | OptionId::ActiveSlave) && b.slaves.contains(&v) {
                continue; // on the slave's .network
            }
            match KEYS.iter().find(|k| k.1 == id) {
                Some(&(key, _, kind)) => {
                    let v = match kind {
                        Kind::Millis => format!("{v}ms"),
                        Kind::Seconds => format!("{v}s"),
                        Kind::Bool => if v == "1" { "yes" } else { "no" }.to_owned(),
                        Kind::List => v.replace(',', " "),
                        Kind::Plain => v,
                    };
                    bond_sec.push_str(&format!("{key}={v}\n"));
                }
                None => comments.push(lost.add(
                    b,
                    Fact::Option(id),
                    format!("{}={v}", id.name()),
                    "systemd-networkd has no [Bond] key for it",
                )),
            }
        }
        if !b.on_boot {
            comments.push(lost.add(
                b,
                Fact::OnBoot,
                "not started at boot",
                "networkd brings up every bond it defines",
            ));
        }
        for (s, line) in b.slave_options_lines() {
            comments.push(lost.add(
                b,
                Fact::SlaveOptions(s),
                line,
                "systemd-networkd has no per-slave bond options",
            ));
        }
        if !bond_sec.is_empty() {
            nd.push_str("\n[Bond]\n");
            nd.push_str(&bond_sec);
        }
        for c in comments {
            nd.push_str(&format!("# {c}\n"));
        }
        out.push(SourceFile::new(format!("{DIR}/25-{}.netdev", b.name), nd));
        let mut nw = format!("# written by ubond\n[Match]\nName={}\n\n[Network]\n", b.name);
        match (b.dhcp4, b.dhcp6) {
            (true, true) => nw.push_str("DHCP=yes\n"),
            (true, false) => nw.push_str("DHCP=ipv4\n"),
            (false, true) => nw.push_str("DHCP=ipv6\n"),
            (false, false) => {}
        }
        for (a, p) in &b.addresses {
            nw.push_str(&format!("Address={a}/{p}\n"));
        }
        for r in b.routes.iter().filter(|r| r.is_plain_default()) {
            if let Some(v) = r.via {
                nw.push_str(&format!("Gateway={v}\n"));
            }
        }
        if !b.dns.servers.is_empty() {
            let s: Vec<String> = b.dns.servers.iter().map(|s| s.to_string()).collect();
            nw.push_str(&format!("DNS={}\n", s.join(" ")));
        }
        let domains: Vec<String> =
            b.dns.search.iter().cloned().chain(b.dns.routing_tilde()).collect();
        if !domains.is_empty() {
            nw.push_str(&format!("Domains={}\n", domains.join(" ")));
        }
        for r in b.routes.iter().filter(|r| !r.is_plain_default()) {
            nw.push_str("\n[Route]\n");
            if !r.is_default() {
                nw.push_str(&format!("Destination={}/{}\n", r.to.0, r.to.1));
            } else if r.via.is_none() {
                nw.push_str(&format!(
                    "Destination={}\n",
                    if r.is_ipv4() { "0.0.0.0/0" } else { "::/0" }
                ));
            }
            if let Some(v) = r.via {
                nw.push_str(&format!("Gateway={v}\n"));
            }
            if let Some(m) = r.metric {
                nw.push_str(&format!("Metric={m}\n"));
            }
            if let Some(t) = r.table {
                nw.push_str(&format!("Table={t}\n"));
            }
        }
        out.push(SourceFile::new(format!("{DIR}/25-{}.network", b.name), nw));
        for s in &b.slaves {
            let rule = b.matches.get(s);
            let mut t = String::from("# written by ubond\n[Match]\n");
            match rule {
                Some(m) if m.rename => {
                    t.push_str(&format!("Name={s}\n"));
                    let mut l = String::from("# written by ubond\n[Match]\n");
                    if let Some(mac) = m.mac {
                        l.push_str(&format!("PermanentMACAddress={mac}\n"));
                    }
                    if let Some(n) = &m.name {
                        l.push_str(&format!("OriginalName={n}\n"));
                    }
                    if let Some(d) = &m.driver {
                        l.push_str(&format!("Driver={d}\n"));
                    }
                    if let Some(p) = &m.path {
                        l.push_str(&format!("Path={p}\n"));
                    }
                    l.push_str(&format!("\n[Link]\nName={s}\n"));
                    out.push(SourceFile::new(format!("{DIR}/10-{s}.link"), l));
                }
                Some(m) => {
                    if let Some(mac) = m.mac {
                        t.push_str(&format!("PermanentMACAddress={mac}\n"));
                    }
                    if let Some(n) = &m.name {
                        t.push_str(&format!("Name={n}\n"));
                    }
                    if let Some(d) = &m.driver {
                        t.push_str(&format!("Driver={d}\n"));
                    }
                    if let Some(p) = &m.path {
                        t.push_str(&format!("Path={p}\n"));
                    }
                }
                None => t.push_str(&format!("Name={s}\n")),
            }
            t.push_str(&format!("\n[Network]\nBond={}\n", b.name));
            if b.options.primary.as_deref() == Some(s) {
                t.push_str("PrimarySlave=yes\n");
            }
            if b.options.active_slave.as_deref() == Some(s) {
                t.push_str("ActiveSlave=yes\n");
            }
            out.push(SourceFile::new(format!("{DIR}/25-{}-{s}.network", b.name), t));
        }
    }
    out
}

/// Parse findings plus the checks common to every format (see [`crate::checks`]).
pub fn lint(files: &[SourceFile]) -> Vec<Finding> {
    let p = parse(files);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, true));
    f
}

/// The unit a systemd drop-in extends (`25-bond0.network` for
/// `/etc/systemd/network/25-bond0.network.d/mtu.conf`), if `path` is one: a `.conf` file in a
/// directory named after a `.network`, `.netdev` or `.link` unit plus `.d`.
pub fn dropin_target(path: &str) -> Option<&str> {
    let (dir, name) = path.rsplit_once('/')?;
    if !name.ends_with(".conf") {
        return None;
    }
    let unit = dir.rsplit('/').next()?.strip_suffix(".d")?;
    let known = [".network", ".netdev", ".link"].iter().any(|x| unit.ends_with(x));
    (known && unit.len() > ".link".len()).then_some(unit)
}

/// The units with their drop-ins applied, as systemd.network(5) says: every drop-in of a unit
/// is read after it, in the order of the drop-ins' file names (whatever their directory), so a
/// later assignment overrides an earlier one and a section a drop-in holds (`[Route]`) is one
/// more of that name. A drop-in whose unit is not among the files is a warning.
fn with_dropins(units: Vec<Unit>, findings: &mut Vec<Finding>) -> Vec<Unit> {
    let base = |u: &Unit| u.path.rsplit('/').next().unwrap_or(&u.path).to_owned();
    let (mut dropins, mut mains): (Vec<Unit>, Vec<Unit>) =
        units.into_iter().partition(|u| dropin_target(&u.path).is_some());
    dropins.sort_by_key(base);
    for d in dropins {
        let Some(target) = dropin_target(&d.path) else { continue };
        let mut applied = false;
        for u in mains.iter_mut().filter(|u| base(u) == target) {
            applied = true;
            let mut sections: BTreeMap<String, usize> = BTreeMap::new();
            for e in &u.entries {
                let n = sections.entry(e.section.clone()).or_default();
                *n = (*n).max(e.index + 1);
            }
            u.entries.extend(d.entries.iter().map(|e| Entry {
                index: e.index + sections.get(&e.section).copied().unwrap_or(0),
                ..e.clone()
            }));
        }
        if !applied {
            findings.push(Finding::warning(
                &Span::new(&d.path, 1, 1),
                format!(
                    "a drop-in of {target}, which is not among the files read: its settings \
                     are not applied (give {target} with it)"
                ),
            ));
        }
    }
    mains
}

/// The networkd `[Bond]` key of a kernel option, if networkd has one.
pub fn key_of(id: OptionId) -> Option<&'static str> {
    KEYS.iter().find(|k| k.1 == id).map(|k| k.0)
}
