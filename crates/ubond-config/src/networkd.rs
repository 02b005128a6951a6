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

use std::net::IpAddr;

use ubond_core::options::OptionId;

use crate::finding::{Finding, Span};
use crate::ini::{read, Unit};
use crate::model::{BondConfig, ConfigSet, Parsed, SourceFile};
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

/// Parses `.netdev` and `.network` files.
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let units: Vec<Unit> = files.iter().map(|f| read(f, &mut findings)).collect();
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
                slave: None,
                key_span: e.key_span.clone(),
                value_span: e.value_span.clone(),
            });
        }
        // Slaves, with PrimarySlave= / ActiveSlave=.
        for n in units.iter().filter(|n| !n.is_netdev()) {
            let Some(bond) = n.last("Network", "Bond") else { continue };
            if bond.value != b.name {
                continue;
            }
            let Some(m) = n.last("Match", "Name") else {
                findings.push(Finding::warning(
                    &bond.key_span,
                    "Bond= in a .network without [Match] Name=: no slave named",
                ));
                continue;
            };
            for s in m.value.split_whitespace() {
                if s.contains(['*', '?', '[']) {
                    findings.push(Finding::info(
                        &m.value_span,
                        format!("slave pattern '{s}' kept as written"),
                    ));
                }
                if !b.slaves.iter().any(|x| x == s) {
                    b.slaves.push(s.to_owned());
                    b.spans.slaves.insert(s.to_owned(), m.value_span.clone());
                }
                for (key, id) in
                    [("PrimarySlave", OptionId::Primary), ("ActiveSlave", OptionId::ActiveSlave)]
                {
                    if let Some(e) = n.last("Network", key) {
                        match bool_value(&e.value) {
                            Some(true) => settings.push(Setting {
                                id,
                                key: key.to_owned(),
                                value: s.to_owned(),
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
            }
        }
        // The bond's own .network: addresses.
        for n in units.iter().filter(|n| !n.is_netdev()) {
            let Some(m) = n.last("Match", "Name") else { continue };
            if !m.value.split_whitespace().any(|x| x == b.name) {
                continue;
            }
            if let Some(d) = n.last("Network", "DHCP") {
                b.dhcp = matches!(d.value.as_str(), "yes" | "true" | "ipv4" | "ipv6" | "1" | "on");
            }
            for e in n.all("Network", "Address").chain(n.all("Address", "Address")) {
                let parsed = e.value.split_once('/').and_then(|(ip, p)| {
                    let ip: IpAddr = ip.parse().ok()?;
                    let p: u8 = p.parse().ok()?;
                    (p <= if ip.is_ipv4() { 32 } else { 128 }).then_some((ip, p))
                });
                match parsed {
                    Some(a) => b.addresses.push(a),
                    None => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid Address '{}' (expected ADDRESS/PREFIX)", e.value),
                    )),
                }
            }
            for e in n.all("Network", "Gateway").chain(n.all("Route", "Gateway")) {
                match e.value.parse::<IpAddr>() {
                    Ok(ip) if b.gateway.is_none() => b.gateway = Some(ip),
                    Ok(_) => {}
                    Err(_) => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid Gateway '{}'", e.value),
                    )),
                }
            }
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
    Parsed { config: ConfigSet { bonds }, findings }
}

/// Writes per bond a `.netdev`, the bond's `.network`, and a `.network` per slave.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    let mut out = Vec::new();
    for b in &set.bonds {
        let mut nd = format!("# written by ubond\n[NetDev]\nName={}\nKind=bond\n", b.name);
        let mut bond_sec = String::new();
        let mut lost = Vec::new();
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
                None => lost.push(format!("{}={v}", id.name())),
            }
        }
        if !b.on_boot {
            lost.push("not started at boot (networkd brings up every bond it defines)".to_owned());
        }
        lost.extend(b.slave_options_lines());
        if !bond_sec.is_empty() {
            nd.push_str("\n[Bond]\n");
            nd.push_str(&bond_sec);
        }
        for l in lost {
            nd.push_str(&format!("# not settable by systemd-networkd: {l}\n"));
        }
        out.push(SourceFile::new(format!("{DIR}/25-{}.netdev", b.name), nd));
        let mut nw = format!("# written by ubond\n[Match]\nName={}\n\n[Network]\n", b.name);
        if b.dhcp {
            nw.push_str("DHCP=yes\n");
        }
        for (a, p) in &b.addresses {
            nw.push_str(&format!("Address={a}/{p}\n"));
        }
        if let Some(g) = b.gateway {
            nw.push_str(&format!("Gateway={g}\n"));
        }
        out.push(SourceFile::new(format!("{DIR}/25-{}.network", b.name), nw));
        for s in &b.slaves {
            let mut t =
                format!("# written by ubond\n[Match]\nName={s}\n\n[Network]\nBond={}\n", b.name);
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

/// The networkd `[Bond]` key of a kernel option, if networkd has one.
pub fn key_of(id: OptionId) -> Option<&'static str> {
    KEYS.iter().find(|k| k.1 == id).map(|k| k.0)
}
