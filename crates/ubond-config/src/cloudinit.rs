//! cloud-init's network configuration, version 1 (a list of `config:` entries) and version 2
//! (netplan's syntax, also accepted at the top level of the document).
//!
//! ```yaml
//! network:
//!   version: 1
//!   config:
//!     - type: physical
//!       name: gbe0
//!       mac_address: "cd:11:22:33:44:00"
//!     - type: physical
//!       name: gbe1
//!       mac_address: "cd:11:22:33:44:02"
//!     - type: bond
//!       name: bond0
//!       bond_interfaces: [gbe0, gbe1]
//!       mtu: 9000
//!       params:
//!         bond-mode: 802.3ad
//!         bond-miimon: 100
//!       subnets:
//!         - type: static
//!           address: 192.0.2.10/24
//!           gateway: 192.0.2.1
//!           dns_nameservers: [192.0.2.53]
//!           routes:
//!             - network: 198.51.100.0
//!               netmask: 255.255.255.0
//!               gateway: 192.0.2.254
//! ```
//!
//! A `physical` entry with a `mac_address` names the NIC with that address (cloud-init
//! renames it): a slave found by MAC and renamed. `params` take the kernel's option names,
//! with or without `bond-`, `-` or `_`. Subnets: `static` / `static6` (`address` with a prefix
//! or `netmask`, `gateway`, `dns_nameservers`, `dns_search`, `routes`), `dhcp` / `dhcp4`,
//! `dhcp6`; other subnet types, `nameserver` and `route` entries of the whole system, and VLANs
//! or bridges on the bond are kept as extras.

use std::net::IpAddr;

use ubond_core::options::OptionId;
use ubond_wire::MacAddr;
use yaml_rust2::parser::Parser;

use crate::finding::Finding;
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Match, Parsed, Route, SourceFile};
use crate::netplan::{flat, list, yaml_str, Builder, Cx, Node};
use crate::settings::{apply_settings, sysfs_option_pairs, Setting};

/// The path [`emit_v1`] and [`emit_v2`] write.
pub const DEFAULT_PATH: &str = "/etc/cloud/cloud.cfg.d/50-network.cfg";

/// Parses version 1 documents.
pub fn parse_v1(files: &[SourceFile]) -> Parsed {
    let mut bonds = Vec::new();
    let mut findings = Vec::new();
    for file in files {
        let lines = file.text.split('\n').map(|l| l.chars().count()).collect();
        let mut cx = Cx { file: &file.path, lines, findings: Vec::new() };
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(&file.text);
        match parser.load(&mut b, false) {
            Err(e) => cx.error(*e.marker(), format!("YAML: {}", e.info())),
            Ok(()) => {
                if let Some(m) = crate::netplan::further_document(&mut parser) {
                    cx.error(m, crate::netplan::SECOND_DOCUMENT_CLOUD_INIT);
                }
            }
        }
        b.report_limits(&mut cx);
        let Some(root) = &b.root else {
            findings.extend(cx.findings);
            continue;
        };
        if !matches!(root, Node::Map(..) | Node::Scalar(..))
            || matches!(root, Node::Scalar(s, _) if !s.is_empty())
        {
            cx.error(
                root.mark(),
                "not a cloud-init network configuration: expected a map with 'version: 1' and 'config:' (is this file in another format? give --format)",
            );
        }
        let net = root.get("network").unwrap_or(root);
        if let Some(v) = net.get("version") {
            if v.scalar() != Some("1") {
                cx.error(v.mark(), format!("version {}: this is cloud-init's version 1 reader (version 2 is netplan's syntax: --format cloud-init-v2)", v.scalar().unwrap_or("?")));
            }
        }
        match net.get("config") {
            Some(Node::Seq(entries, _)) => read_config(&mut cx, entries, &mut bonds),
            Some(other) => cx.error(other.mark(), "config: expected a list of entries"),
            None => {}
        }
        findings.extend(cx.findings);
    }
    Parsed { config: ConfigSet { bonds }, findings, unmarked: Vec::new() }
}

fn scalar<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get(key).and_then(Node::scalar)
}

fn read_config(cx: &mut Cx<'_>, entries: &[Node], bonds: &mut Vec<BondConfig>) {
    // Physical NICs named by MAC address.
    let physical: Vec<(&str, Option<MacAddr>, &Node)> = entries
        .iter()
        .filter(|e| scalar(e, "type") == Some("physical"))
        .filter_map(|e| {
            let name = scalar(e, "name")?;
            let mac = scalar(e, "mac_address").and_then(|m| m.parse::<MacAddr>().ok());
            Some((name, mac, e))
        })
        .collect();
    for e in entries.iter().filter(|e| scalar(e, "type") == Some("bond")) {
        let Some(name) = scalar(e, "name") else {
            cx.error(e.mark(), "a bond entry needs a name");
            continue;
        };
        let mut b = BondConfig::new(name);
        b.spans.bond = Some(cx.span(e.get("name").map(Node::mark).unwrap_or(e.mark())));
        let mut settings = Vec::new();
        let Node::Map(keys, _) = e else { continue };
        for (k, km, v) in keys {
            let kspan = cx.span(*km);
            match k.as_str() {
                "type" | "name" => {}
                "bond_interfaces" => {
                    for (s, sm) in list(v) {
                        let at = cx.span(sm);
                        if !b.slaves.iter().any(|x| x == s) {
                            b.slaves.push(s.to_owned());
                            b.spans.slaves.insert(s.to_owned(), at.clone());
                        }
                        match physical.iter().find(|(n, ..)| *n == s) {
                            Some((_, mac, def)) => {
                                if let Some(mac) = mac {
                                    b.note(&Fact::Match(s.to_owned()), at);
                                    b.matches.insert(
                                        s.to_owned(),
                                        Match { mac: Some(*mac), rename: true, ..Match::default() },
                                    );
                                }
                                member_facts(cx, &mut b, s, def);
                            }
                            None => {
                                let f = Finding::warning(
                                    &at,
                                    format!("bond '{name}': no 'physical' entry for '{s}'"),
                                );
                                cx.findings.push(f);
                            }
                        }
                    }
                }
                "mtu" => match v.scalar().map(str::parse::<u32>) {
                    Some(Ok(m)) if (68..=65535).contains(&m) => {
                        b.mtu = Some(m);
                        b.note(&Fact::Mtu, kspan);
                    }
                    _ => cx.error(
                        v.mark(),
                        format!("invalid mtu '{}': 68-65535", v.scalar().unwrap_or("")),
                    ),
                },
                "mac_address" => match v.scalar().map(str::parse::<MacAddr>) {
                    Some(Ok(m)) => {
                        b.mac = Some(m);
                        b.note(&Fact::Mac, kspan);
                    }
                    _ => cx.error(
                        v.mark(),
                        format!("invalid mac_address '{}'", v.scalar().unwrap_or("")),
                    ),
                },
                "params" => {
                    let Node::Map(params, _) = v else {
                        cx.error(v.mark(), "params: expected a map");
                        continue;
                    };
                    for (pk, pm, pv) in params {
                        let name = pk
                            .strip_prefix("bond-")
                            .or_else(|| pk.strip_prefix("bond_"))
                            .unwrap_or(pk)
                            .replace('-', "_");
                        let raw = match pv {
                            Node::Seq(..) => {
                                list(pv).into_iter().map(|(s, _)| s).collect::<Vec<_>>().join(",")
                            }
                            other => other.scalar().unwrap_or("").to_owned(),
                        };
                        let id = match OptionId::from_name(&name) {
                            Some(OptionId::Slaves) | None => {
                                let ro = [
                                    "ad_actor_key",
                                    "ad_aggregator",
                                    "ad_num_ports",
                                    "ad_partner_key",
                                    "ad_partner_mac",
                                    "mii_status",
                                ];
                                if ro.contains(&name.as_str()) {
                                    let s = cx.span(*pm);
                                    cx.findings.push(Finding::warning(
                                        &s,
                                        format!("'{pk}' is read-only in the kernel: ignored"),
                                    ));
                                } else {
                                    let s = cx.span(*pm);
                                    cx.findings.push(Finding::error(
                                        &s,
                                        format!("unknown bond parameter '{pk}'"),
                                    ));
                                }
                                continue;
                            }
                            Some(id) => id,
                        };
                        let value = match raw.as_str() {
                            "true" | "yes" | "on" => "1".to_owned(),
                            "false" | "no" | "off" if id != OptionId::LacpActive => "0".to_owned(),
                            _ => raw.clone(),
                        };
                        settings.push(Setting {
                            id,
                            key: pk.clone(),
                            value,
                            raw,
                            slave: None,
                            key_span: cx.span(*pm),
                            value_span: cx.span(pv.mark()),
                        });
                    }
                }
                "subnets" => {
                    if let Node::Seq(subnets, _) = v {
                        for s in subnets {
                            subnet(cx, &mut b, s);
                        }
                    }
                }
                _ => b.extra(format!("{k}: {}", flat(v)), kspan),
            }
        }
        // What stands on the bond, and the system-wide entries.
        for other in entries {
            let t = scalar(other, "type").unwrap_or("");
            let on = match t {
                "vlan" => scalar(other, "vlan_link") == Some(name),
                "bridge" => other
                    .get("bridge_interfaces")
                    .map(list)
                    .unwrap_or_default()
                    .iter()
                    .any(|(x, _)| *x == name),
                "route" => scalar(other, "interface").is_none_or(|i| i == name),
                // The system's name servers: cloud-init gives them to every interface.
                "nameserver" if scalar(other, "interface").is_none_or(|i| i == name) => {
                    let at = cx.span(other.mark());
                    for (a, am) in other.get("address").map(list).unwrap_or_default() {
                        match a.parse::<IpAddr>() {
                            Ok(ip) if !b.dns.servers.contains(&ip) => b.dns.servers.push(ip),
                            Ok(_) => {}
                            Err(_) => cx.error(am, format!("invalid name server '{a}'")),
                        }
                    }
                    for (s, _) in other.get("search").map(list).unwrap_or_default() {
                        if b.dns.add_domain(s) {
                            b.note(&Fact::RoutingDomains, at.clone());
                        }
                    }
                    b.note(&Fact::Dns, at);
                    false
                }
                _ => false,
            };
            if on {
                b.extra(format!("{t} entry: {}", flat(other)), cx.span(other.mark()));
            }
        }
        crate::settings::take_use_carrier_off(&mut settings, &mut b, &mut cx.findings);
        let (o, f) = apply_settings(&settings);
        cx.findings.extend(f);
        for s in &settings {
            b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
        }
        b.options = o;
        bonds.push(b);
    }
}

/// A member's `physical` entry: IP configuration on it is a mistake; its other keys extras.
fn member_facts(cx: &mut Cx<'_>, b: &mut BondConfig, name: &str, def: &Node) {
    let Node::Map(keys, _) = def else { return };
    for (k, km, v) in keys {
        match k.as_str() {
            "type" | "name" | "mac_address" => {}
            "subnets" => {
                let at = cx.span(*km);
                let manual = list_of_types(v).iter().all(|t| *t == "manual");
                if !manual {
                    cx.findings.push(Finding::warning(&at, format!("subnets on '{name}', a member of bond '{}': addresses, routes and name servers go on the bond", b.name)));
                    b.extra(format!("{name}: subnets: {}", flat(v)), at);
                }
            }
            _ => b.extra(format!("{name}: {k}: {}", flat(v)), cx.span(*km)),
        }
    }
}

fn list_of_types(n: &Node) -> Vec<&str> {
    match n {
        Node::Seq(items, _) => items.iter().map(|i| scalar(i, "type").unwrap_or("")).collect(),
        _ => Vec::new(),
    }
}

fn subnet(cx: &mut Cx<'_>, b: &mut BondConfig, s: &Node) {
    let at = cx.span(s.mark());
    match scalar(s, "type").unwrap_or("") {
        "dhcp" | "dhcp4" => {
            b.dhcp4 = true;
            b.note(&Fact::Dhcp4, at);
            return;
        }
        "dhcp6" => {
            b.dhcp6 = true;
            b.note(&Fact::Dhcp6, at);
            return;
        }
        "static" | "static6" => {}
        "manual" => return,
        other => {
            b.extra(format!("subnet type {other}: {}", flat(s)), at);
            return;
        }
    }
    let Node::Map(keys, _) = s else { return };
    for (k, km, v) in keys {
        let kspan = cx.span(*km);
        match k.as_str() {
            "type" | "netmask" | "metric" => {}
            "address" => {
                let a = v.scalar().unwrap_or("");
                let parsed = crate::net::prefixed(a).or_else(|| {
                    let ip: IpAddr = a.parse().ok()?;
                    let (p, _) = crate::net::netmask_prefix(scalar(s, "netmask")?)?;
                    Some((ip, p))
                });
                match parsed {
                    Some(x) => {
                        b.note(&Fact::Address(x.0, x.1), kspan);
                        b.addresses.push(x);
                    }
                    None => cx.error(
                        v.mark(),
                        format!("invalid address '{a}' (ADDRESS/PREFIX, or a netmask)"),
                    ),
                }
            }
            "gateway" => match v.scalar().map(str::parse::<IpAddr>) {
                Some(Ok(g)) => {
                    let mut r = Route::default_via(g);
                    r.metric = scalar(s, "metric").and_then(|m| m.parse().ok());
                    b.note(&Fact::Route(r.clone()), kspan);
                    b.routes.push(r);
                }
                _ => cx.error(v.mark(), format!("invalid gateway '{}'", v.scalar().unwrap_or(""))),
            },
            "dns_nameservers" => {
                for (d, dm) in list(v) {
                    match d.parse::<IpAddr>() {
                        Ok(ip) => b.dns.servers.push(ip),
                        Err(_) => cx.error(dm, format!("invalid name server '{d}'")),
                    }
                }
                b.note(&Fact::Dns, kspan);
            }
            "dns_search" => {
                // A `~` domain is routing-only where cloud-init hands the list on
                // (networkd's `Domains=`, netplan).
                for (d, _) in list(v) {
                    if b.dns.add_domain(d) {
                        b.note(&Fact::RoutingDomains, kspan.clone());
                    }
                }
                b.note(&Fact::Dns, kspan);
            }
            "routes" => {
                if let Node::Seq(routes, _) = v {
                    for r in routes {
                        route(cx, b, r);
                    }
                }
            }
            _ => b.extra(format!("subnet {k}: {}", flat(v)), kspan),
        }
    }
}

fn route(cx: &mut Cx<'_>, b: &mut BondConfig, r: &Node) {
    let at = cx.span(r.mark());
    let net = scalar(r, "network").or_else(|| scalar(r, "destination")).unwrap_or("");
    let to = crate::net::prefixed(net).or_else(|| {
        let ip: IpAddr = net.parse().ok()?;
        let p = match scalar(r, "netmask").or_else(|| scalar(r, "prefix")) {
            Some(m) => crate::net::netmask_prefix(m)?.0,
            None => crate::net::max_prefix(ip),
        };
        Some((ip, p))
    });
    let via = scalar(r, "gateway").map(str::parse::<IpAddr>);
    let metric = scalar(r, "metric").map(str::parse::<u32>);
    match (to, via.transpose(), metric.transpose()) {
        (Some(to), Ok(via), Ok(metric)) => {
            let route = Route { to, via, metric, table: None };
            b.note(&Fact::Route(route.clone()), at);
            b.routes.push(route);
        }
        _ => cx.error(r.mark(), format!("invalid route ({})", flat(r))),
    }
}

/// Writes a version 1 document.
pub fn emit_v1(set: &ConfigSet) -> Vec<SourceFile> {
    emit_v1_into(set, &mut Lost::default())
}

pub(crate) fn emit_v1_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = String::from("# written by ubond\nnetwork:\n  version: 1\n  config:\n");
    let mut seen: Vec<&String> = Vec::new();
    for b in &set.bonds {
        let mut comments = lost.common(b, false, "cloud-init version 1");
        comments.extend(lost.routing_domains(b, "cloud-init version 1 (dns_search)"));
        for s in &b.slaves {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
            out.push_str(&format!("    - type: physical\n      name: {}\n", yaml_str(s)));
            if let Some(m) = b.matches.get(s) {
                if let Some(mac) = m.mac {
                    out.push_str(&format!("      mac_address: \"{mac}\"\n"));
                }
                if !m.rename
                    || m.name.is_some()
                    || m.driver.is_some()
                    || m.path.is_some()
                    || m.mac.is_none()
                {
                    comments.push(lost.add(
                        b,
                        Fact::Match(s.clone()),
                        format!("{s} found by {m}"),
                        "cloud-init names a NIC by its MAC address (and renames it)",
                    ));
                }
            }
        }
        out.push_str(&format!("    - type: bond\n      name: {}\n", yaml_str(&b.name)));
        let l: Vec<String> = b.slaves.iter().map(|s| yaml_str(s)).collect();
        out.push_str(&format!("      bond_interfaces: [{}]\n", l.join(", ")));
        if let Some(m) = b.mtu {
            out.push_str(&format!("      mtu: {m}\n"));
        }
        if let Some(m) = b.mac {
            out.push_str(&format!("      mac_address: \"{m}\"\n"));
        }
        let opts = sysfs_option_pairs(&b.options);
        if !opts.is_empty() {
            out.push_str("      params:\n");
            for (id, v) in opts {
                out.push_str(&format!(
                    "        bond-{}: {}\n",
                    id.name().replace('_', "-"),
                    yaml_str(&v)
                ));
            }
        }
        let mut subnets = String::new();
        let v4: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv4()).collect();
        let v6: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv6()).collect();
        let mut dns_done = b.dns.servers.is_empty() && b.dns.search.is_empty();
        let mut routes_left: Vec<&Route> = b.routes.iter().collect();
        for (kind, addrs) in [("static", v4), ("static6", v6)] {
            for (i, (a, p)) in addrs.iter().enumerate() {
                subnets.push_str(&format!(
                    "        - type: {kind}\n          address: {}\n",
                    yaml_str(&format!("{a}/{p}"))
                ));
                if i == 0 {
                    let fam = a.is_ipv4();
                    if let Some(pos) = routes_left.iter().position(|r| {
                        r.is_default() && r.is_ipv4() == fam && r.via.is_some() && r.table.is_none()
                    }) {
                        let r = routes_left.remove(pos);
                        if let Some(v) = r.via {
                            subnets.push_str(&format!(
                                "          gateway: {}\n",
                                yaml_str(&v.to_string())
                            ));
                        }
                        if let Some(m) = r.metric {
                            subnets.push_str(&format!("          metric: {m}\n"));
                        }
                    }
                    let mine: Vec<&Route> = routes_left
                        .iter()
                        .copied()
                        .filter(|r| {
                            r.is_ipv4() == fam
                                && r.via.is_some()
                                && r.table.is_none()
                                && !r.is_default()
                        })
                        .collect();
                    if !mine.is_empty() {
                        subnets.push_str("          routes:\n");
                        for r in &mine {
                            subnets.push_str(&format!(
                                "            - network: {}\n              prefix: {}\n",
                                yaml_str(&r.to.0.to_string()),
                                r.to.1
                            ));
                            if let Some(v) = r.via {
                                subnets.push_str(&format!(
                                    "              gateway: {}\n",
                                    yaml_str(&v.to_string())
                                ));
                            }
                            if let Some(m) = r.metric {
                                subnets.push_str(&format!("              metric: {m}\n"));
                            }
                        }
                        routes_left.retain(|r| !mine.contains(r));
                    }
                    if !dns_done {
                        if !b.dns.servers.is_empty() {
                            let s: Vec<String> =
                                b.dns.servers.iter().map(|s| yaml_str(&s.to_string())).collect();
                            subnets.push_str(&format!(
                                "          dns_nameservers: [{}]\n",
                                s.join(", ")
                            ));
                        }
                        if !b.dns.search.is_empty() {
                            let s: Vec<String> = b.dns.search.iter().map(|s| yaml_str(s)).collect();
                            subnets
                                .push_str(&format!("          dns_search: [{}]\n", s.join(", ")));
                        }
                        dns_done = true;
                    }
                }
            }
        }
        if b.dhcp4 {
            subnets.push_str("        - type: dhcp4\n");
        }
        if b.dhcp6 {
            subnets.push_str("        - type: dhcp6\n");
        }
        if !subnets.is_empty() {
            out.push_str("      subnets:\n");
            out.push_str(&subnets);
        }
        if !dns_done {
            comments.push(lost.add(
                b,
                Fact::Dns,
                crate::model::Dns { routing_domains: Vec::new(), ..b.dns.clone() }.to_string(),
                "cloud-init version 1 gives name servers with a static subnet",
            ));
        }
        for r in routes_left {
            comments.push(lost.add(b, Fact::Route(r.clone()), format!("route {r}"), "cloud-init version 1 gives routes through a gateway, without a table, with a static subnet of their family"));
        }
        if !b.on_boot {
            comments.push(lost.add(
                b,
                Fact::OnBoot,
                "not started at boot",
                "cloud-init brings up every bond it defines",
            ));
        }
        for (s, line) in b.slave_options_lines() {
            let so = b.options.slave(&s);
            if so.prio != 0
                || so.actor_port_prio
                    != ubond_core::options::SlaveOptions::default().actor_port_prio
            {
                comments.push(lost.add(
                    b,
                    Fact::SlaveOptions(s),
                    line,
                    "cloud-init has no per-member bond options",
                ));
            }
        }
        for c in comments {
            out.push_str(&format!("      # {c}\n"));
        }
    }
    vec![SourceFile::new(DEFAULT_PATH, out)]
}

/// Parses version 2 documents (netplan's syntax; the keys may stand at the top level).
pub fn parse_v2(files: &[SourceFile]) -> Parsed {
    crate::netplan::parse_flavour(files, true)
}

/// Writes a version 2 document.
pub fn emit_v2(set: &ConfigSet) -> Vec<SourceFile> {
    emit_v2_into(set, &mut Lost::default())
}

pub(crate) fn emit_v2_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    vec![SourceFile::new(
        DEFAULT_PATH,
        crate::netplan::emit_text(set, lost, "cloud-init version 2"),
    )]
}

/// Parse findings plus the checks common to every format (version 1).
pub fn lint_v1(files: &[SourceFile]) -> Vec<Finding> {
    let p = parse_v1(files);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, true));
    f
}

/// Parse findings plus the checks common to every format (version 2).
pub fn lint_v2(files: &[SourceFile]) -> Vec<Finding> {
    let p = parse_v2(files);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, true));
    f
}
