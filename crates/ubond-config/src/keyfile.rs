//! NetworkManager keyfiles (`/etc/NetworkManager/system-connections/*.nmconnection`).
//!
//! ```text
//! [connection]                 [connection]
//! id=bond0                     id=bond0-port-eth0
//! type=bond                    type=ethernet
//! interface-name=bond0         interface-name=eth0
//!                              controller=bond0
//! [bond]                       port-type=bond
//! mode=802.3ad
//! miimon=100                   [bond-port]
//!                              queue-id=2
//! [ipv4]
//! method=manual
//! address1=192.0.2.10/24,192.0.2.1
//! ```
//!
//! The `[bond]` section holds kernel option names and values (NetworkManager writes them to
//! sysfs); they are applied with sysfs semantics in dependency order. A port names its bond
//! with `controller=` (or the older `master=`) — by interface name, connection id or uuid —
//! and `port-type=bond` (`slave-type=bond`). `[bond-port]` gives `queue-id` and `prio`.
//! Addresses: `addressN=ADDR/PREFIX[,GATEWAY]` or `addresses=`, `gateway=` in `[ipv4]` and
//! `[ipv6]`; `method=auto` is DHCP. `autoconnect=false` in the bond's `[connection]`: not
//! started at boot ([`emit`] writes it on the ports too).

use std::net::IpAddr;

use ubond_core::options::{BondOptions, OptionError, OptionId};

use crate::finding::{Finding, Span};
use crate::ini::{read, Unit};
use ubond_wire::MacAddr;

use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Match, Parsed, Route, SourceFile};
use crate::settings::{apply_settings, slave_settings, sysfs_option_pairs, Setting};
use crate::text::{did_you_mean, suggestion_suffix};

/// The directory [`emit`] writes to.
pub const DIR: &str = "/etc/NetworkManager/system-connections";

fn get<'a>(u: &'a Unit, section: &str, key: &str) -> Option<&'a str> {
    u.last(section, key).map(|e| e.value.as_str())
}

/// `[connection]` keys that name, type or link the connection.
const CONNECTION_KEYS: &[&str] = &[
    "id",
    "uuid",
    "type",
    "interface-name",
    "controller",
    "master",
    "port-type",
    "slave-type",
    "autoconnect",
    "timestamp",
    "permissions",
    "autoconnect-slaves",
    "autoconnect-ports",
    "autoconnect-priority",
];

/// Keys whose values NetworkManager writes with their defaults (nothing to lose).
const DEFAULTS: &[(&str, &str, &str)] = &[
    ("ipv4", "may-fail", "true"),
    ("ipv6", "may-fail", "true"),
    ("ipv6", "addr-gen-mode", "stable-privacy"),
    ("ipv6", "addr-gen-mode", "default"),
    ("ipv6", "addr-gen-mode", "eui64"),
    ("ipv4", "dns-search", ""),
    ("ipv6", "dns-search", ""),
    ("ethernet", "mac-address-blacklist", ""),
    ("ethernet", "mac-address-denylist", ""),
];

fn ifname(u: &Unit) -> Option<&str> {
    get(u, "connection", "interface-name").or_else(|| get(u, "connection", "id"))
}

/// The section of a key: NetworkManager accepts the long names too.
fn section(s: &str) -> &str {
    match s {
        "802-3-ethernet" => "ethernet",
        other => other,
    }
}

/// The name a port found by its MAC address stands under: its connection id when that is
/// a valid interface name, else the id's last word when that is one (`cloud-init eth0`), else
/// the id as it is.
fn port_name(id: &str) -> &str {
    let valid = |s: &str| ubond_core::options::valid_interface_name(s);
    if valid(id) {
        return id;
    }
    match id.split_whitespace().last() {
        Some(last) if valid(last) => last,
        _ => id,
    }
}

/// Parses keyfiles (a bond's and its ports').
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let mut units: Vec<Unit> = files.iter().map(|f| read(f, &mut findings)).collect();
    for u in &mut units {
        for e in &mut u.entries {
            e.section = section(&e.section).to_owned();
        }
    }
    let mut bonds: Vec<(BondConfig, Vec<Setting>, usize)> = Vec::new();
    for (ui, u) in units.iter().enumerate() {
        if get(u, "connection", "type") != Some("bond") {
            continue;
        }
        let Some(name) = ifname(u) else {
            let s = u
                .last("connection", "type")
                .map(|e| e.key_span.clone())
                .unwrap_or_else(|| Span::new(&u.path, 1, 1));
            findings.push(Finding::error(&s, "a bond connection needs interface-name="));
            continue;
        };
        let mut b = BondConfig::new(name);
        b.spans.bond = u
            .last("connection", "interface-name")
            .or_else(|| u.last("connection", "id"))
            .map(|e| e.value_span.clone());
        let mut settings = Vec::new();
        for e in u.entries.iter().filter(|e| e.section == "bond") {
            let id = match BondOptions::lookup(&e.key) {
                Ok(
                    OptionId::Slaves
                    | OptionId::Prio
                    | OptionId::ActorPortPrio
                    | OptionId::MaxBonds
                    | OptionId::TxQueues,
                ) => {
                    findings.push(Finding::error(
                        &e.key_span,
                        format!("'{}' cannot be set in [bond]", e.key),
                    ));
                    continue;
                }
                Ok(id) => id,
                Err(OptionError::UnknownOption { suggestion, .. }) => {
                    let mut f = Finding::error(
                        &e.key_span,
                        format!("unknown option '{}'{}", e.key, suggestion_suffix(suggestion)),
                    );
                    if let Some(s) = suggestion {
                        f = f.with_fix(s);
                    }
                    findings.push(f);
                    continue;
                }
                Err(err) => {
                    findings.push(Finding::error(&e.key_span, err.to_string()));
                    continue;
                }
            };
            settings.push(Setting {
                id,
                key: e.key.clone(),
                value: e.value.clone(),
                raw: e.value.clone(),
                slave: None,
                key_span: e.key_span.clone(),
                value_span: e.value_span.clone(),
            });
        }
        // NetworkManager's default: miimon=100 unless the file sets miimon or arp_interval.
        let set = |k: &str| {
            u.last("bond", k).is_some_and(|e| k != "arp_interval" || e.value.trim() != "0")
        };
        if !set("miimon") && !set("arp_interval") {
            let at = b.spans.bond.clone().unwrap_or_else(|| Span::new(&u.path, 1, 1));
            settings.push(Setting {
                id: OptionId::Miimon,
                key: "miimon".into(),
                value: "100".into(),
                raw: "100".into(),
                slave: None,
                key_span: at.clone(),
                value_span: at,
            });
        }
        ip(u, &mut b, &mut findings);
        if let Some(e) = u.last("connection", "autoconnect") {
            match e.value.to_ascii_lowercase().as_str() {
                "false" | "no" | "off" | "0" => {
                    b.on_boot = false;
                    b.spans.not_on_boot =
                        Some((e.key_span.clone(), format!("autoconnect={}", e.value)));
                }
                "true" | "yes" | "on" | "1" => {}
                _ => findings.push(
                    Finding::error(
                        &e.value_span,
                        format!("autoconnect={}: expected true or false", e.value),
                    )
                    .with_fix("false"),
                ),
            }
        }
        for e in &u.entries {
            match (e.section.as_str(), e.key.as_str()) {
                ("connection", k) if CONNECTION_KEYS.contains(&k) => {}
                ("bond" | "ipv4" | "ipv6", _) => {}
                ("ethernet", "mtu") => match e.value.parse::<u32>() {
                    Ok(0) => {}
                    Ok(m) if (68..=65535).contains(&m) => {
                        b.mtu = Some(m);
                        b.note(&Fact::Mtu, e.key_span.clone());
                    }
                    _ => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid mtu '{}': 68-65535", e.value),
                    )),
                },
                ("ethernet", "cloned-mac-address") => match e.value.parse::<MacAddr>() {
                    Ok(m) => {
                        b.mac = Some(m);
                        b.note(&Fact::Mac, e.key_span.clone());
                    }
                    // `preserve`, `permanent`, `random`, `stable`: a policy, not an address.
                    Err(_) => b.extra(
                        format!("[ethernet] cloned-mac-address={}", e.value),
                        e.key_span.clone(),
                    ),
                },
                (s, k) if DEFAULTS.iter().any(|d| d.0 == s && d.1 == k && d.2 == e.value) => {}
                ("proxy", _) => {}
                (s, k) => b.extra(format!("[{s}] {k}={}", e.value), e.key_span.clone()),
            }
        }
        bonds.push((b, settings, ui));
    }
    // Ports.
    for u in &units {
        let Some(ctl) =
            u.last("connection", "controller").or_else(|| u.last("connection", "master"))
        else {
            continue;
        };
        let port_type =
            get(u, "connection", "port-type").or_else(|| get(u, "connection", "slave-type"));
        if port_type.is_some_and(|t| t != "bond") {
            continue;
        }
        // The NIC: by interface-name, or found by its MAC address ([ethernet] mac-address)
        // or a [match] rule, the connection's id standing for it.
        let mut rule = Match::default();
        if let Some(e) = u.last("ethernet", "mac-address") {
            match e.value.parse::<MacAddr>() {
                Ok(m) => rule.mac = Some(m),
                Err(_) => findings.push(Finding::error(
                    &e.value_span,
                    format!("invalid mac-address '{}'", e.value),
                )),
            }
        }
        if let Some(e) = u.last("match", "interface-name") {
            rule.name = Some(e.value.trim_end_matches(';').to_owned());
        }
        if let Some(e) = u.last("match", "driver") {
            rule.driver = Some(e.value.trim_end_matches(';').to_owned());
        }
        if let Some(e) = u.last("match", "path") {
            rule.path = Some(e.value.trim_end_matches(';').to_owned());
        }
        let port = match (get(u, "connection", "interface-name"), get(u, "connection", "id")) {
            (Some(n), _) => n,
            (None, Some(id)) if rule != Match::default() => port_name(id),
            _ => {
                findings.push(Finding::warning(
                    &ctl.key_span,
                    "port without interface-name= or mac-address=: no slave named",
                ));
                continue;
            }
        };
        if port_type.is_none() {
            findings.push(
                Finding::warning(
                    &ctl.key_span,
                    format!("{}={} without port-type=bond", ctl.key, ctl.value),
                )
                .with_fix("port-type=bond"),
            );
        }
        let target = bonds.iter_mut().find(|(b, _, ui)| {
            let bu = &units[*ui];
            b.name == ctl.value
                || get(bu, "connection", "id") == Some(&ctl.value)
                || get(bu, "connection", "uuid") == Some(&ctl.value)
        });
        let Some((b, settings, _)) = target else {
            let names: Vec<String> = bonds.iter().map(|(b, _, _)| b.name.clone()).collect();
            let s = did_you_mean(&ctl.value, names.iter().map(String::as_str));
            let mut f = Finding::warning(
                &ctl.value_span,
                format!(
                    "{}={}: no bond connection among the files given{}",
                    ctl.key,
                    ctl.value,
                    suggestion_suffix(s)
                ),
            );
            if let Some(s) = s {
                f = f.with_fix(s);
            }
            findings.push(f);
            continue;
        };
        if !b.slaves.iter().any(|s| s == port) {
            b.slaves.push(port.to_owned());
            b.spans.slaves.insert(port.to_owned(), ctl.key_span.clone());
        }
        if rule != Match::default() {
            b.note(&Fact::Match(port.to_owned()), ctl.key_span.clone());
            b.matches.insert(port.to_owned(), rule);
        }
        for e in &u.entries {
            match (e.section.as_str(), e.key.as_str()) {
                ("connection", k) if CONNECTION_KEYS.contains(&k) => {}
                ("ethernet", "mac-address")
                | ("match", "interface-name" | "driver" | "path")
                | ("bond-port", _) => {}
                ("proxy", _) => {}
                ("ipv4" | "ipv6", "method")
                    if matches!(e.value.as_str(), "disabled" | "ignore" | "link-local") => {}
                (s @ ("ipv4" | "ipv6"), k) => {
                    findings.push(Finding::warning(&e.key_span, format!("[{s}] {k}= on port '{port}' of bond '{}': a port carries no IP configuration", b.name)));
                    b.extra(format!("{port}: [{s}] {k}={}", e.value), e.key_span.clone());
                }
                (s, k) if DEFAULTS.iter().any(|d| d.0 == s && d.1 == k && d.2 == e.value) => {}
                (s, k) => b.extra(format!("{port}: [{s}] {k}={}", e.value), e.key_span.clone()),
            }
        }
        for e in u.entries.iter().filter(|e| e.section == "bond-port") {
            let id = match e.key.as_str() {
                "queue-id" => OptionId::QueueId,
                "prio" => OptionId::Prio,
                other => {
                    let s = did_you_mean(other, ["queue-id", "prio"]);
                    let mut f = Finding::error(
                        &e.key_span,
                        format!("unknown [bond-port] key '{other}'{}", suggestion_suffix(s)),
                    );
                    if let Some(s) = s {
                        f = f.with_fix(s);
                    }
                    findings.push(f);
                    continue;
                }
            };
            settings.push(Setting {
                id,
                key: e.key.clone(),
                value: e.value.clone(),
                raw: e.value.clone(),
                slave: Some(port.to_owned()),
                key_span: e.key_span.clone(),
                value_span: e.value_span.clone(),
            });
        }
    }
    let mut out = Vec::new();
    for (mut b, mut settings, _) in bonds {
        crate::settings::take_use_carrier_off(&mut settings, &mut b, &mut findings);
        let (o, f) = apply_settings(&settings);
        findings.extend(f);
        for s in &settings {
            match &s.slave {
                None => {
                    b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
                }
                Some(sl) => b.note(&Fact::SlaveOptions(sl.clone()), s.key_span.clone()),
            }
        }
        b.options = o;
        out.push(b);
    }
    Parsed { config: ConfigSet { bonds: out }, findings, unmarked: Vec::new() }
}

/// `[ipv4]` and `[ipv6]`: `method`, `addressN` / `addresses`, `gateway`, `dns`,
/// `dns-search`, `routeN` (with `routeN_options=table=N`), `route-metric`, `route-table`.
fn ip(u: &Unit, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    for fam in ["ipv4", "ipv6"] {
        let v4 = fam == "ipv4";
        if !u.entries.iter().any(|e| e.section == fam) {
            // NetworkManager adds the section with method=auto.
            let at = b.spans.bond.clone().unwrap_or_else(|| Span::new(&u.path, 1, 1));
            if v4 {
                b.dhcp4 = true;
                b.note(&Fact::Dhcp4, at);
            } else {
                b.dhcp6 = true;
                b.note(&Fact::Dhcp6, at);
            }
        }
        if let Some(m) = u.last(fam, "method") {
            let dhcp = matches!(m.value.as_str(), "auto" | "dhcp");
            if v4 && dhcp {
                b.dhcp4 = true;
                b.note(&Fact::Dhcp4, m.key_span.clone());
            } else if !v4 && dhcp {
                b.dhcp6 = true;
                b.note(&Fact::Dhcp6, m.key_span.clone());
            } else if !matches!(m.value.as_str(), "manual" | "disabled" | "ignore") {
                b.extra(format!("[{fam}] method={}", m.value), m.key_span.clone());
            }
        }
        // -1 (the default) and 0 (main) say nothing; a value NetworkManager refuses is an
        // error, not the main table or no metric.
        let mut number = |key: &str, min: i64| -> Option<u32> {
            let e = u.last(fam, key)?;
            match e.value.trim().parse::<i64>() {
                Ok(n) if n >= min && n <= i64::from(u32::MAX) => u32::try_from(n).ok(),
                _ => {
                    findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid {key} '{}': a number from {min} to {}", e.value, u32::MAX),
                    ));
                    None
                }
            }
        };
        let route_metric = number("route-metric", -1);
        let route_table = number("route-table", 0).filter(|t| *t != 0 && *t != 254);
        let mut entries: Vec<_> = u
            .entries
            .iter()
            .filter(|e| {
                e.section == fam
                    && (e.key == "addresses"
                        || e.key.strip_prefix("address").is_some_and(|n| {
                            !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())
                        }))
            })
            .collect();
        entries.sort_by_key(|e| {
            e.key.strip_prefix("address").and_then(|n| n.parse::<u32>().ok()).unwrap_or(0)
        });
        let mut gateways = Vec::new();
        for e in entries {
            for item in e.value.split(';').filter(|s| !s.trim().is_empty()) {
                let mut parts = item.split(',');
                let addr = parts.next().unwrap_or("").trim();
                match crate::net::prefixed(addr) {
                    Some(x) => {
                        b.note(&Fact::Address(x.0, x.1), e.key_span.clone());
                        b.addresses.push(x);
                    }
                    None => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid address '{addr}' (expected ADDRESS/PREFIX)"),
                    )),
                }
                if let Some(g) = parts.next().map(str::trim).filter(|g| !g.is_empty()) {
                    match g.parse::<IpAddr>() {
                        Ok(ip) => gateways.push((ip, e.key_span.clone())),
                        Err(_) => findings
                            .push(Finding::error(&e.value_span, format!("invalid gateway '{g}'"))),
                    }
                }
            }
        }
        if let Some(e) = u.last(fam, "gateway") {
            match e.value.parse::<IpAddr>() {
                Ok(ip) => gateways.insert(0, (ip, e.key_span.clone())),
                Err(_) => findings
                    .push(Finding::error(&e.value_span, format!("invalid gateway '{}'", e.value))),
            }
        }
        if let Some((ip, at)) = gateways.into_iter().next() {
            let mut r = Route::default_via(ip);
            r.metric = route_metric;
            r.table = route_table;
            b.note(&Fact::Route(r.clone()), at);
            b.routes.push(r);
        }
        // routeN=DEST/PREFIX[,GATEWAY[,METRIC]], routeN_options=table=N,...
        let mut routes: Vec<(u32, &crate::ini::Entry)> = u
            .entries
            .iter()
            .filter(|e| e.section == fam)
            .filter_map(|e| {
                e.key.strip_prefix("route").and_then(|n| n.parse::<u32>().ok()).map(|n| (n, e))
            })
            .collect();
        routes.sort_by_key(|(n, _)| *n);
        for (n, e) in routes {
            let mut parts = e.value.split(',').map(str::trim);
            let dest = parts.next().and_then(|d| crate::net::destination(d, !v4));
            let via = parts
                .next()
                .filter(|g| !g.is_empty() && *g != "0.0.0.0" && *g != "::")
                .map(str::parse::<IpAddr>);
            let metric = parts.next().filter(|m| !m.is_empty()).map(str::parse::<u32>);
            let (Some(to), Ok(via), Ok(metric)) = (dest, via.transpose(), metric.transpose())
            else {
                findings.push(Finding::error(
                    &e.value_span,
                    format!("invalid route '{}' (DEST/PREFIX,GATEWAY,METRIC)", e.value),
                ));
                continue;
            };
            let mut r = Route { to, via, metric: metric.or(route_metric), table: route_table };
            if let Some(o) = u.last(fam, &format!("route{n}_options")) {
                for opt in o.value.split(',') {
                    match opt.trim().split_once('=') {
                        Some(("table", t)) => match t.trim().parse::<u32>() {
                            Ok(t) => r.table = Some(t).filter(|t| *t != 0 && *t != 254),
                            Err(_) => findings.push(Finding::error(
                                &o.value_span,
                                format!("invalid table '{t}' in route{n}_options: a number"),
                            )),
                        },
                        _ => b.extra(
                            format!("[{fam}] route{n}_options={}", o.value),
                            o.key_span.clone(),
                        ),
                    }
                }
            }
            b.note(&Fact::Route(r.clone()), e.key_span.clone());
            b.routes.push(r);
        }
        if let Some(e) = u.last(fam, "dns") {
            for w in e.value.split(';').map(str::trim).filter(|w| !w.is_empty()) {
                match w.parse::<IpAddr>() {
                    Ok(ip) => b.dns.servers.push(ip),
                    Err(_) => {
                        findings.push(Finding::error(&e.value_span, format!("invalid dns '{w}'")))
                    }
                }
            }
            b.note(&Fact::Dns, e.key_span.clone());
        }
        if let Some(e) = u.last(fam, "dns-search") {
            // `~example.com` (and `~.`) are routing-only domains (nm-settings(5)).
            for w in e.value.split(';').map(str::trim).filter(|w| !w.is_empty()) {
                if b.dns.add_domain(w) {
                    b.note(&Fact::RoutingDomains, e.key_span.clone());
                }
            }
            b.note(&Fact::Dns, e.key_span.clone());
        }
        for e in u.entries.iter().filter(|e| e.section == fam) {
            let k = e.key.as_str();
            let known = matches!(
                k,
                "method"
                    | "addresses"
                    | "gateway"
                    | "dns"
                    | "dns-search"
                    | "route-metric"
                    | "route-table"
            ) || k
                .strip_prefix("address")
                .is_some_and(|n| n.bytes().all(|c| c.is_ascii_digit()))
                || k.strip_prefix("route").is_some_and(|n| {
                    n.trim_end_matches("_options").bytes().all(|c| c.is_ascii_digit())
                });
            if !known && !DEFAULTS.iter().any(|d| d.0 == fam && d.1 == k && d.2 == e.value) {
                b.extra(format!("[{fam}] {k}={}", e.value), e.key_span.clone());
            }
        }
    }
}

/// Writes a keyfile per bond and one per port.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = Vec::new();
    for b in &set.bonds {
        let mut comments = lost.common(b, false, "NetworkManager");
        let mut t = format!(
            "# written by ubond\n[connection]\nid={0}\ntype=bond\ninterface-name={0}\n",
            b.name
        );
        if !b.on_boot {
            t.push_str("autoconnect=false\n");
        }
        if b.mtu.is_some() || b.mac.is_some() {
            t.push_str("\n[ethernet]\n");
            if let Some(m) = b.mac {
                t.push_str(&format!("cloned-mac-address={m}\n"));
            }
            if let Some(m) = b.mtu {
                t.push_str(&format!("mtu={m}\n"));
            }
        }
        let v4_first = b.dns.servers.windows(2).all(|w| w[0].is_ipv4() || w[1].is_ipv6());
        if !v4_first {
            comments.push(lost.add(
                b,
                Fact::Dns,
                b.dns.to_string(),
                "NetworkManager keeps IPv4 and IPv6 name servers apart: IPv4 ones first",
            ));
        }
        let mut opts = sysfs_option_pairs(&b.options);
        // NetworkManager sets miimon=100 on a bond whose file sets no link monitor.
        if b.options.miimon == 0 && b.options.arp_interval == 0 {
            opts.insert(
                usize::from(!opts.is_empty() && opts[0].0 == OptionId::Mode),
                (OptionId::Miimon, "0".into()),
            );
        }
        if !opts.is_empty() {
            t.push_str("\n[bond]\n");
            for (id, v) in opts {
                if id == OptionId::QueueId {
                    continue; // in the ports' [bond-port]
                }
                t.push_str(&format!("{}={v}\n", id.name()));
            }
        }
        for fam in ["ipv4", "ipv6"] {
            let v4 = fam == "ipv4";
            let addrs: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv4() == v4).collect();
            let dhcp = if v4 { b.dhcp4 } else { b.dhcp6 };
            let method = if dhcp {
                "auto"
            } else if !addrs.is_empty() {
                "manual"
            } else if v4 {
                "disabled"
            } else {
                "ignore"
            };
            t.push_str(&format!("\n[{fam}]\nmethod={method}\n"));
            for (i, (a, p)) in addrs.iter().enumerate() {
                t.push_str(&format!("address{}={a}/{p}\n", i + 1));
            }
            let gw = b.routes.iter().position(|r| r.is_plain_default() && r.is_ipv4() == v4);
            if let Some(v) = gw.and_then(|i| b.routes[i].via) {
                t.push_str(&format!("gateway={v}\n"));
            }
            let dns: Vec<String> = b
                .dns
                .servers
                .iter()
                .filter(|s| s.is_ipv4() == v4)
                .map(|s| format!("{s};"))
                .collect();
            if !dns.is_empty() {
                t.push_str(&format!("dns={}\n", dns.concat()));
            }
            let domains: Vec<String> =
                b.dns.search.iter().cloned().chain(b.dns.routing_tilde()).collect();
            if v4 && !domains.is_empty() {
                t.push_str(&format!(
                    "dns-search={}\n",
                    domains.iter().map(|s| format!("{s};")).collect::<String>()
                ));
            }
            let mut n = 0;
            for (i, r) in b.routes.iter().enumerate() {
                if r.is_ipv4() != v4 || Some(i) == gw {
                    continue;
                }
                n += 1;
                let mut v = format!("{}/{}", r.to.0, r.to.1);
                if r.via.is_some() || r.metric.is_some() {
                    v.push_str(&format!(
                        ",{}",
                        r.via.map(|g| g.to_string()).unwrap_or_else(|| if v4 {
                            "0.0.0.0".into()
                        } else {
                            "::".into()
                        })
                    ));
                }
                if let Some(m) = r.metric {
                    v.push_str(&format!(",{m}"));
                }
                t.push_str(&format!("route{n}={v}\n"));
                if let Some(tb) = r.table {
                    t.push_str(&format!("route{n}_options=table={tb}\n"));
                }
            }
        }
        let per = slave_settings(&b.options);
        let mut ports = Vec::new();
        for s in &b.slaves {
            let rule = b.matches.get(s);
            let mut t = format!(
                "# written by ubond\n[connection]\nid={0}-port-{s}\ntype=ethernet\n",
                b.name
            );
            match rule {
                Some(m) if !m.rename => {
                    t = format!("# written by ubond\n[connection]\nid={s}\ntype=ethernet\n")
                }
                _ => t.push_str(&format!("interface-name={s}\n")),
            }
            t.push_str(&format!("controller={}\nport-type=bond\n", b.name));
            if !b.on_boot {
                // Its ports wait for the bond: none connects at boot either.
                t.push_str("autoconnect=false\n");
            }
            if let Some(m) = rule {
                if m.rename {
                    comments.push(lost.add(
                        b,
                        Fact::Match(s.clone()),
                        format!("{s}: the NIC found by {m}"),
                        "NetworkManager does not rename NICs: written as a port named both ways",
                    ));
                }
                if let Some(mac) = m.mac {
                    t.push_str(&format!("\n[ethernet]\nmac-address={mac}\n"));
                }
                if m.name.is_some() || m.driver.is_some() || m.path.is_some() {
                    t.push_str("\n[match]\n");
                    if let Some(n) = &m.name {
                        t.push_str(&format!("interface-name={n}\n"));
                    }
                    if let Some(d) = &m.driver {
                        t.push_str(&format!("driver={d}\n"));
                    }
                    if let Some(p) = &m.path {
                        t.push_str(&format!("path={p}\n"));
                    }
                }
            }
            let so = b.options.slave(s);
            let mut port = String::new();
            if so.queue_id != 0 {
                port.push_str(&format!("queue-id={}\n", so.queue_id));
            }
            for (id, v) in per.get(s).into_iter().flatten() {
                match id {
                    OptionId::Prio => port.push_str(&format!("prio={v}\n")),
                    _ => {
                        let c = lost.add(
                            b,
                            Fact::SlaveOptions(s.clone()),
                            format!("{s}: {}={v}", id.name()),
                            "no keyfile setting",
                        );
                        t.push_str(&format!("# {c}\n"));
                    }
                }
            }
            if !port.is_empty() {
                t.push_str("\n[bond-port]\n");
                t.push_str(&port);
            }
            ports.push(SourceFile::new(format!("{DIR}/{}-port-{s}.nmconnection", b.name), t));
        }
        for (s, line) in b.slave_options_lines() {
            if !b.slaves.contains(&s) {
                comments.push(lost.add(
                    b,
                    Fact::SlaveOptions(s),
                    line,
                    "per-port options of an interface that is not a port",
                ));
            }
        }
        for c in comments {
            t.push_str(&format!("# {c}\n"));
        }
        out.push(SourceFile::new(format!("{DIR}/{}.nmconnection", b.name), t));
        out.extend(ports);
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
