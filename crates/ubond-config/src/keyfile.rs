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
use crate::model::{BondConfig, ConfigSet, Parsed, SourceFile};
use crate::settings::{apply_settings, slave_settings, sysfs_option_pairs, Setting};
use crate::text::{did_you_mean, suggestion_suffix};

/// The directory [`emit`] writes to.
pub const DIR: &str = "/etc/NetworkManager/system-connections";

fn get<'a>(u: &'a Unit, section: &str, key: &str) -> Option<&'a str> {
    u.last(section, key).map(|e| e.value.as_str())
}

fn ifname(u: &Unit) -> Option<&str> {
    get(u, "connection", "interface-name").or_else(|| get(u, "connection", "id"))
}

/// Parses keyfiles (a bond's and its ports').
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let units: Vec<Unit> = files.iter().map(|f| read(f, &mut findings)).collect();
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
                slave: None,
                key_span: e.key_span.clone(),
                value_span: e.value_span.clone(),
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
        let Some(port) = get(u, "connection", "interface-name") else {
            findings.push(Finding::warning(
                &ctl.key_span,
                "port without interface-name=: no slave named",
            ));
            continue;
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
                slave: Some(port.to_owned()),
                key_span: e.key_span.clone(),
                value_span: e.value_span.clone(),
            });
        }
    }
    let mut out = Vec::new();
    for (mut b, settings, _) in bonds {
        let (o, f) = apply_settings(&settings);
        findings.extend(f);
        for s in settings.iter().filter(|s| s.slave.is_none()) {
            b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
        }
        b.options = o;
        out.push(b);
    }
    Parsed { config: ConfigSet { bonds: out }, findings }
}

fn ip(u: &Unit, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    for fam in ["ipv4", "ipv6"] {
        if fam == "ipv4" && get(u, fam, "method") == Some("auto") {
            b.dhcp = true;
        }
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
        for e in entries {
            for item in e.value.split(';').filter(|s| !s.trim().is_empty()) {
                let mut parts = item.split(',');
                let addr = parts.next().unwrap_or("").trim();
                let parsed = addr.split_once('/').and_then(|(a, p)| {
                    let a: IpAddr = a.parse().ok()?;
                    let p: u8 = p.parse().ok()?;
                    (p <= if a.is_ipv4() { 32 } else { 128 }).then_some((a, p))
                });
                match parsed {
                    Some(x) => b.addresses.push(x),
                    None => findings.push(Finding::error(
                        &e.value_span,
                        format!("invalid address '{addr}' (expected ADDRESS/PREFIX)"),
                    )),
                }
                if let Some(g) = parts.next().map(str::trim).filter(|g| !g.is_empty()) {
                    match g.parse::<IpAddr>() {
                        Ok(ip) if b.gateway.is_none() => b.gateway = Some(ip),
                        Ok(_) => {}
                        Err(_) => findings
                            .push(Finding::error(&e.value_span, format!("invalid gateway '{g}'"))),
                    }
                }
            }
        }
        if let Some(e) = u.last(fam, "gateway") {
            match e.value.parse::<IpAddr>() {
                Ok(ip) if b.gateway.is_none() => b.gateway = Some(ip),
                Ok(_) => {}
                Err(_) => findings
                    .push(Finding::error(&e.value_span, format!("invalid gateway '{}'", e.value))),
            }
        }
    }
}

/// Writes a keyfile per bond and one per port.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    let mut out = Vec::new();
    for b in &set.bonds {
        let mut t = format!(
            "# written by ubond\n[connection]\nid={0}\ntype=bond\ninterface-name={0}\n",
            b.name
        );
        if !b.on_boot {
            t.push_str("autoconnect=false\n");
        }
        let opts = sysfs_option_pairs(&b.options);
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
            let gw = b.gateway.filter(|g| g.is_ipv4() == v4);
            let method = if v4 && b.dhcp {
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
            if let Some(g) = gw {
                t.push_str(&format!("gateway={g}\n"));
            }
        }
        out.push(SourceFile::new(format!("{DIR}/{}.nmconnection", b.name), t));
        let per = slave_settings(&b.options);
        for s in &b.slaves {
            let mut t = format!(
                "# written by ubond\n[connection]\nid={0}-port-{s}\ntype=ethernet\ninterface-name={s}\ncontroller={0}\nport-type=bond\n",
                b.name
            );
            if !b.on_boot {
                // Its ports wait for the bond: none connects at boot either.
                t.push_str("autoconnect=false\n");
            }
            let so = b.options.slave(s);
            let mut port = String::new();
            if so.queue_id != 0 {
                port.push_str(&format!("queue-id={}\n", so.queue_id));
            }
            for (id, v) in per.get(s).into_iter().flatten() {
                match id {
                    OptionId::Prio => port.push_str(&format!("prio={v}\n")),
                    _ => t.push_str(&format!("# {}={v}: no keyfile setting\n", id.name())),
                }
            }
            if !port.is_empty() {
                t.push_str("\n[bond-port]\n");
                t.push_str(&port);
            }
            out.push(SourceFile::new(format!("{DIR}/{}-port-{s}.nmconnection", b.name), t));
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
