//! ubond's own format: TOML, with the kernel's option names and values.
//!
//! ```toml
//! [[bond]]
//! name = "bond0"
//! slaves = ["eth0", "eth1"]
//! addresses = ["192.0.2.10/24", "2001:db8::10/64"]
//! gateway = "192.0.2.1"
//! dhcp = false
//! on_boot = true                  # false: only `ubond up bond0` brings it up
//! dns = ["192.0.2.53"]
//! dns_search = ["example.com"]
//! dns_routing_domains = ["corp.example"]  # routing-only ("." for every domain)
//!
//! [bond.options]
//! mode = "802.3ad"
//! miimon = 100
//! lacp_rate = "fast"
//! arp_ip_target = ["192.0.2.1"]   # lists for arp_ip_target and ns_ip6_target
//!
//! [bond.slave-options.eth0]
//! queue_id = 2
//! prio = 10
//! actor_port_prio = 100
//! ```
//!
//! Options take the kernel's names (sysfs spelling) and values: a name, a number, `true` /
//! `false` for 1 / 0. They are applied with sysfs semantics in dependency order, as the other
//! formats', so their order does not matter. This is the only format that holds every part of
//! [`BondConfig`], per-slave `prio` and `actor_port_prio` included.

use std::net::IpAddr;

use toml::de::{DeTable, DeValue};
use toml::Spanned;
use ubond_core::options::{BondOptions, OptionError, OptionId};

use crate::finding::{Finding, Span};
use ubond_wire::MacAddr;

use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Match, OvsBond, Parsed, Route, SourceFile};
use crate::settings::{apply_settings, option_pairs, Setting};
use crate::text::{did_you_mean, suggestion_suffix};

/// The path [`emit`] writes.
pub const DEFAULT_PATH: &str = "/etc/ubond/bonds.toml";

const BOND_KEYS: &[&str] = &[
    "name",
    "slaves",
    "addresses",
    "gateway",
    "routes",
    "dhcp",
    "dhcp6",
    "dns",
    "dns_search",
    "dns_routing_domains",
    "mtu",
    "mac",
    "on_boot",
    "options",
    "slave-options",
    "match",
    "ovs",
];

struct Ctx<'a> {
    file: &'a SourceFile,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    /// The place of byte `at`.
    fn span(&self, at: usize) -> Span {
        let text = &self.file.text;
        let mut at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        Span::new(
            &self.file.path,
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }
    fn error<T>(&mut self, v: &Spanned<T>, msg: impl Into<String>) {
        let s = self.span(v.span().start);
        self.findings.push(Finding::error(&s, msg));
    }
}

fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A scalar as option text: strings as they are, integers in decimal, booleans as 1 / 0.
fn scalar(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => i128::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Boolean(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

/// Parses native TOML files (each may hold several `[[bond]]` tables).
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut bonds = Vec::new();
    let mut findings = Vec::new();
    for file in files {
        let mut cx = Ctx { file, findings: Vec::new() };
        let (doc, errors) = DeTable::parse_recoverable(&file.text);
        for e in errors {
            let at = e.span().map(|r| r.start).unwrap_or(0);
            let s = cx.span(at);
            cx.findings.push(Finding::error(&s, e.message().trim().to_owned()));
        }
        for (k, v) in doc.get_ref().iter() {
            if k.get_ref() != "bond" {
                let s = did_you_mean(k.get_ref(), ["bond"]);
                cx.error(k, format!("unknown key '{}'{}", k.get_ref(), suggestion_suffix(s)));
                continue;
            }
            match v.get_ref() {
                DeValue::Array(items) => {
                    for item in items {
                        match item.get_ref() {
                            DeValue::Table(t) => {
                                if let Some(b) = bond(&mut cx, item, t) {
                                    bonds.push(b);
                                }
                            }
                            other => cx.error(
                                item,
                                format!("a bond is a table ([[bond]]), not {}", kind(other)),
                            ),
                        }
                    }
                }
                DeValue::Table(t) => {
                    if let Some(b) = bond(&mut cx, v, t) {
                        bonds.push(b);
                    }
                }
                other => cx.error(
                    v,
                    format!("'bond' is an array of tables ([[bond]]), not {}", kind(other)),
                ),
            }
        }
        findings.extend(cx.findings);
    }
    Parsed { config: ConfigSet { bonds }, findings, unmarked: Vec::new() }
}

fn string_list(cx: &mut Ctx<'_>, v: &Spanned<DeValue<'_>>, what: &str) -> Vec<(String, Span)> {
    match v.get_ref() {
        DeValue::Array(items) => items
            .iter()
            .filter_map(|i| match i.get_ref() {
                DeValue::String(s) => Some((s.to_string(), cx.span(i.span().start))),
                other => {
                    cx.error(i, format!("{what}: expected a string, found {}", kind(other)));
                    None
                }
            })
            .collect(),
        other => {
            cx.error(v, format!("{what}: expected an array of strings, found {}", kind(other)));
            Vec::new()
        }
    }
}

fn bond(cx: &mut Ctx<'_>, whole: &Spanned<DeValue<'_>>, t: &DeTable<'_>) -> Option<BondConfig> {
    let name = match t.get("name").map(|v| (v, v.get_ref())) {
        Some((_, DeValue::String(s))) => s.to_string(),
        Some((v, other)) => {
            cx.error(v, format!("name: expected a string, found {}", kind(other)));
            return None;
        }
        None => {
            cx.error(whole, "a bond needs a name: name = \"bond0\"");
            return None;
        }
    };
    let mut b = BondConfig::new(name);
    b.spans.bond = t.get("name").map(|v| cx.span(v.span().start));
    let mut settings = Vec::new();
    let mut ovs: Option<(OvsBond, Span)> = None;
    for (k, v) in t.iter() {
        match k.get_ref().as_ref() {
            "name" => {}
            "slaves" => {
                for (s, span) in string_list(cx, v, "slaves") {
                    if !b.slaves.contains(&s) {
                        b.spans.slaves.insert(s.clone(), span);
                        b.slaves.push(s);
                    }
                }
            }
            "addresses" => {
                for (a, span) in string_list(cx, v, "addresses") {
                    let parsed = a.split_once('/').and_then(|(ip, p)| {
                        let ip: IpAddr = ip.parse().ok()?;
                        let p: u8 = p.parse().ok()?;
                        (p <= if ip.is_ipv4() { 32 } else { 128 }).then_some((ip, p))
                    });
                    match parsed {
                        Some(x) => {
                            b.note(&Fact::Address(x.0, x.1), span.clone());
                            b.addresses.push(x);
                        }
                        None => cx.findings.push(Finding::error(
                            &span,
                            format!("invalid address '{a}' (expected ADDRESS/PREFIX)"),
                        )),
                    }
                }
            }
            "gateway" => match v.get_ref() {
                DeValue::String(s) => match s.parse::<IpAddr>() {
                    Ok(ip) => {
                        let r = Route::default_via(ip);
                        b.note(&Fact::Route(r.clone()), cx.span(k.span().start));
                        b.routes.push(r);
                    }
                    Err(_) => cx.error(v, format!("invalid gateway '{s}'")),
                },
                other => cx.error(v, format!("gateway: expected a string, found {}", kind(other))),
            },
            "routes" => match v.get_ref() {
                DeValue::Array(items) => {
                    for item in items {
                        match item.get_ref() {
                            DeValue::Table(rt) => route(cx, &mut b, item, rt),
                            other => cx.error(
                                item,
                                format!(
                                    "a route is a table ({{ to = ..., via = ... }}), not {}",
                                    kind(other)
                                ),
                            ),
                        }
                    }
                }
                other => cx.error(
                    v,
                    format!("routes: expected an array of tables, found {}", kind(other)),
                ),
            },
            "dhcp" | "dhcp6" => match v.get_ref() {
                DeValue::Boolean(x) => {
                    let fact = if k.get_ref() == "dhcp" { Fact::Dhcp4 } else { Fact::Dhcp6 };
                    if k.get_ref() == "dhcp" {
                        b.dhcp4 = *x;
                    } else {
                        b.dhcp6 = *x;
                    }
                    b.note(&fact, cx.span(k.span().start));
                }
                other => cx.error(
                    v,
                    format!("{}: expected true or false, found {}", k.get_ref(), kind(other)),
                ),
            },
            "dns" => {
                for (s, span) in string_list(cx, v, "dns") {
                    match s.parse::<IpAddr>() {
                        Ok(ip) => b.dns.servers.push(ip),
                        Err(_) => cx
                            .findings
                            .push(Finding::error(&span, format!("invalid name server '{s}'"))),
                    }
                }
                b.note(&Fact::Dns, cx.span(k.span().start));
            }
            "dns_search" => {
                b.dns.search.extend(string_list(cx, v, "dns_search").into_iter().map(|(s, _)| s));
                b.note(&Fact::Dns, cx.span(k.span().start));
            }
            "dns_routing_domains" => {
                // Spelled with or without networkd's `~`.
                for (s, _) in string_list(cx, v, "dns_routing_domains") {
                    let d = s.strip_prefix('~').unwrap_or(&s);
                    b.dns.add_domain(&format!("~{d}"));
                }
                b.note(&Fact::RoutingDomains, cx.span(k.span().start));
            }
            "mtu" => match scalar(v.get_ref()).map(|s| s.parse::<u32>()) {
                Some(Ok(m)) if (68..=65535).contains(&m) => {
                    b.mtu = Some(m);
                    b.note(&Fact::Mtu, cx.span(k.span().start));
                }
                _ => cx.error(v, "mtu: expected an integer 68-65535"),
            },
            "mac" => match v.get_ref() {
                DeValue::String(s) => match s.parse::<MacAddr>() {
                    Ok(m) => {
                        b.mac = Some(m);
                        b.note(&Fact::Mac, cx.span(k.span().start));
                    }
                    Err(e) => cx.error(v, format!("mac: {e}")),
                },
                other => cx.error(v, format!("mac: expected a string, found {}", kind(other))),
            },
            "match" => match v.get_ref() {
                DeValue::Table(per) => {
                    for (slave, m) in per.iter() {
                        match m.get_ref() {
                            DeValue::Table(mt) => {
                                let rule = match_rule(cx, mt);
                                b.note(
                                    &Fact::Match(slave.get_ref().to_string()),
                                    cx.span(slave.span().start),
                                );
                                b.matches.insert(slave.get_ref().to_string(), rule);
                            }
                            other => cx.error(
                                m,
                                format!(
                                    "match.{}: expected a table, found {}",
                                    slave.get_ref(),
                                    kind(other)
                                ),
                            ),
                        }
                    }
                }
                other => cx.error(v, format!("match: expected a table, found {}", kind(other))),
            },
            "ovs" => match v.get_ref() {
                DeValue::Table(ot) => {
                    let mut o = OvsBond::default();
                    for (ok, ov) in ot.iter() {
                        match (ok.get_ref().as_ref(), ov.get_ref()) {
                            ("bridge", DeValue::String(s)) => o.bridge = s.to_string(),
                            ("settings", DeValue::Table(st)) => {
                                for (sk, sv) in st.iter() {
                                    match scalar(sv.get_ref()) {
                                        Some(s) => o.settings.push((sk.get_ref().to_string(), s)),
                                        None => cx.error(sv, "ovs.settings: expected strings"),
                                    }
                                }
                            }
                            (other, _) => cx.error(
                                ok,
                                format!("ovs: unknown key '{other}' (bridge, settings)"),
                            ),
                        }
                    }
                    ovs = Some((o, cx.span(k.span().start)));
                }
                other => cx.error(v, format!("ovs: expected a table, found {}", kind(other))),
            },
            "on_boot" => match v.get_ref() {
                DeValue::Boolean(x) => {
                    b.on_boot = *x;
                    if !x {
                        b.spans.not_on_boot =
                            Some((cx.span(k.span().start), "on_boot = false".to_owned()));
                    }
                }
                other => {
                    cx.error(v, format!("on_boot: expected true or false, found {}", kind(other)))
                }
            },
            "options" => match v.get_ref() {
                DeValue::Table(opts) => options(cx, opts, None, &mut settings),
                other => cx.error(v, format!("options: expected a table, found {}", kind(other))),
            },
            "slave-options" => match v.get_ref() {
                DeValue::Table(per) => {
                    for (slave, so) in per.iter() {
                        match so.get_ref() {
                            DeValue::Table(opts) => {
                                options(cx, opts, Some(slave.get_ref().to_string()), &mut settings)
                            }
                            other => cx.error(
                                so,
                                format!(
                                    "slave-options.{}: expected a table, found {}",
                                    slave.get_ref(),
                                    kind(other)
                                ),
                            ),
                        }
                    }
                }
                other => {
                    cx.error(v, format!("slave-options: expected a table, found {}", kind(other)))
                }
            },
            other => {
                let s = did_you_mean(other, BOND_KEYS.iter().copied());
                let mut f = Finding::error(
                    &cx.span(k.span().start),
                    format!("unknown key '{other}'{}", suggestion_suffix(s)),
                );
                if let Some(s) = s {
                    f = f.with_fix(s);
                }
                cx.findings.push(f);
            }
        }
    }
    if let Some((o, at)) = ovs {
        // The kernel reading of an OVS bond comes from its OVS settings.
        let items: Vec<crate::ovs::Item> = o
            .settings
            .iter()
            .map(|(k, v)| crate::ovs::Item {
                key: k.clone(),
                value: v.clone(),
                key_span: at.clone(),
                value_span: at.clone(),
            })
            .collect();
        if !settings.iter().all(|s| s.slave.is_some()) {
            cx.findings.push(Finding::warning(
                &at,
                "an OVS bond's options come from ovs.settings: [bond.options] ignored",
            ));
        }
        crate::ovs::read_bond(&mut b, &o.bridge, &items, &at, &mut cx.findings);
        return Some(b);
    }
    let (o, f) = apply_settings(&settings);
    cx.findings.extend(f);
    for s in &settings {
        match &s.slave {
            None => {
                b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
            }
            Some(sl) => b.note(&Fact::SlaveOptions(sl.clone()), s.key_span.clone()),
        }
    }
    b.options = o;
    Some(b)
}

fn match_rule(cx: &mut Ctx<'_>, t: &DeTable<'_>) -> Match {
    let mut m = Match::default();
    for (k, v) in t.iter() {
        match (k.get_ref().as_ref(), v.get_ref()) {
            ("mac", DeValue::String(s)) => match s.parse::<MacAddr>() {
                Ok(mac) => m.mac = Some(mac),
                Err(e) => cx.error(v, format!("mac: {e}")),
            },
            ("name", DeValue::String(s)) => m.name = Some(s.to_string()),
            ("driver", DeValue::String(s)) => m.driver = Some(s.to_string()),
            ("path", DeValue::String(s)) => m.path = Some(s.to_string()),
            ("rename", DeValue::Boolean(x)) => m.rename = *x,
            (other, _) => cx.error(k, format!("match: unknown key or wrong type '{other}' (mac, name, driver, path: strings; rename: a boolean)")),
        }
    }
    m
}

fn route(cx: &mut Ctx<'_>, b: &mut BondConfig, whole: &Spanned<DeValue<'_>>, t: &DeTable<'_>) {
    let get = |k: &str| t.get(k).and_then(|v| scalar(v.get_ref()));
    let via = get("via").map(|s| s.parse::<IpAddr>());
    let v6 = matches!(via, Some(Ok(IpAddr::V6(_))));
    let to = get("to").and_then(|s| crate::net::destination(&s, v6 || s.contains(':')));
    let metric = get("metric").map(|s| s.parse::<u32>());
    let table = get("table").map(|s| s.parse::<u32>());
    let unknown =
        t.iter().any(|(k, _)| !matches!(k.get_ref().as_ref(), "to" | "via" | "metric" | "table"));
    match (to, via.transpose(), metric.transpose(), table.transpose()) {
        (Some(to), Ok(via), Ok(metric), Ok(table)) if !unknown => {
            let r = Route { to, via, metric, table };
            b.note(&Fact::Route(r.clone()), cx.span(whole.span().start));
            b.routes.push(r);
        }
        _ => cx.error(
            whole,
            "a route is { to = \"A/P\" or \"default\", via = \"GW\", metric = N, table = N }",
        ),
    }
}

fn options(cx: &mut Ctx<'_>, opts: &DeTable<'_>, slave: Option<String>, out: &mut Vec<Setting>) {
    for (k, v) in opts.iter() {
        let key = k.get_ref().to_string();
        let key_span = cx.span(k.span().start);
        let id = match BondOptions::lookup(&key) {
            Ok(id) => id,
            Err(OptionError::UnknownOption { suggestion, .. }) => {
                let mut f = Finding::error(
                    &key_span,
                    format!("unknown option '{key}'{}", suggestion_suffix(suggestion)),
                );
                if let Some(s) = suggestion {
                    f = f.with_fix(s);
                }
                cx.findings.push(f);
                continue;
            }
            Err(e) => {
                cx.findings.push(Finding::error(&key_span, e.to_string()));
                continue;
            }
        };
        let per_slave = matches!(id, OptionId::QueueId | OptionId::Prio | OptionId::ActorPortPrio);
        if slave.is_some() && !per_slave {
            cx.findings.push(Finding::error(&key_span, format!("'{key}' is a bond option, not a per-slave one (per-slave: queue_id, prio, actor_port_prio)")));
            continue;
        }
        let value = match v.get_ref() {
            DeValue::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(|i| scalar(i.get_ref())).collect();
                if parts.len() != items.len() {
                    cx.error(v, format!("{key}: expected an array of strings"));
                    continue;
                }
                parts.join(",")
            }
            other => match scalar(other) {
                Some(s) => s,
                None => {
                    cx.error(
                        v,
                        format!(
                            "{key}: expected a string, an integer or a boolean, found {}",
                            kind(other)
                        ),
                    );
                    continue;
                }
            },
        };
        out.push(Setting {
            id,
            key,
            raw: value.clone(),
            value,
            slave: slave.clone(),
            key_span,
            value_span: cx.span(v.span().start),
        });
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list<T: AsRef<str>>(items: &[T]) -> String {
    format!("[{}]", items.iter().map(|s| toml_str(s.as_ref())).collect::<Vec<_>>().join(", "))
}

/// Writes every bond as a `[[bond]]` table.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = String::from("# ubond bonds\n");
    for b in &set.bonds {
        let comments = lost.common(b, true, "ubond TOML");
        out.push_str(&format!("\n[[bond]]\nname = {}\n", toml_str(&b.name)));
        if !b.slaves.is_empty() {
            out.push_str(&format!("slaves = {}\n", toml_list(&b.slaves)));
        }
        if let Some(m) = b.mtu {
            out.push_str(&format!("mtu = {m}\n"));
        }
        if let Some(m) = b.mac {
            out.push_str(&format!("mac = {}\n", toml_str(&m.to_string())));
        }
        if !b.addresses.is_empty() {
            let a: Vec<String> = b.addresses.iter().map(|(ip, p)| format!("{ip}/{p}")).collect();
            out.push_str(&format!("addresses = {}\n", toml_list(&a)));
        }
        if !b.routes.is_empty() {
            let rs: Vec<String> = b
                .routes
                .iter()
                .map(|r| {
                    // `default` takes its family from `via`: an IPv6 one without is `::/0`.
                    let to = if r.is_default() && (r.via.is_some() || r.is_ipv4()) {
                        "default".to_owned()
                    } else if r.is_default() {
                        "::/0".to_owned()
                    } else {
                        format!("{}/{}", r.to.0, r.to.1)
                    };
                    let mut s = format!("{{ to = {}", toml_str(&to));
                    if let Some(v) = r.via {
                        s.push_str(&format!(", via = {}", toml_str(&v.to_string())));
                    }
                    if let Some(m) = r.metric {
                        s.push_str(&format!(", metric = {m}"));
                    }
                    if let Some(t) = r.table {
                        s.push_str(&format!(", table = {t}"));
                    }
                    s.push_str(" }");
                    s
                })
                .collect();
            out.push_str(&format!("routes = [{}]\n", rs.join(", ")));
        }
        if b.dhcp4 {
            out.push_str("dhcp = true\n");
        }
        if b.dhcp6 {
            out.push_str("dhcp6 = true\n");
        }
        if !b.dns.servers.is_empty() {
            let s: Vec<String> = b.dns.servers.iter().map(|s| s.to_string()).collect();
            out.push_str(&format!("dns = {}\n", toml_list(&s)));
        }
        if !b.dns.search.is_empty() {
            out.push_str(&format!("dns_search = {}\n", toml_list(&b.dns.search)));
        }
        if !b.dns.routing_domains.is_empty() {
            out.push_str(&format!("dns_routing_domains = {}\n", toml_list(&b.dns.routing_domains)));
        }
        if !b.on_boot {
            out.push_str("on_boot = false\n");
        }
        for c in &comments {
            out.push_str(&format!("# {c}\n"));
        }
        if let Some(o) = &b.ovs {
            out.push_str(&format!("\n[bond.ovs]\nbridge = {}\n", toml_str(&o.bridge)));
            out.push_str("\n[bond.ovs.settings]\n");
            for (k, v) in &o.settings {
                out.push_str(&format!("{} = {}\n", toml_str(k), toml_str(v)));
            }
        } else {
            let pairs: Vec<_> = option_pairs(&b.options)
                .into_iter()
                .filter(|(id, _)| *id != OptionId::QueueId)
                .collect();
            if !pairs.is_empty() {
                out.push_str("\n[bond.options]\n");
                for (id, v) in pairs {
                    let v = match id {
                        OptionId::ArpIpTarget | OptionId::NsIp6Target => {
                            toml_list(&v.split(',').collect::<Vec<_>>())
                        }
                        _ if !v.is_empty()
                            && v.len() < 10
                            && v.bytes().all(|c| c.is_ascii_digit()) =>
                        {
                            v
                        }
                        _ => toml_str(&v),
                    };
                    out.push_str(&format!("{} = {v}\n", id.name()));
                }
            }
        }
        let d = ubond_core::options::SlaveOptions::default();
        for (slave, so) in &b.options.slave_options {
            out.push_str(&format!("\n[bond.slave-options.{}]\n", toml_str(slave)));
            if so.queue_id != d.queue_id {
                out.push_str(&format!("queue_id = {}\n", so.queue_id));
            }
            if so.prio != d.prio {
                out.push_str(&format!("prio = {}\n", so.prio));
            }
            if so.actor_port_prio != d.actor_port_prio {
                out.push_str(&format!("actor_port_prio = {}\n", so.actor_port_prio));
            }
        }
        for (slave, m) in &b.matches {
            out.push_str(&format!("\n[bond.match.{}]\n", toml_str(slave)));
            if let Some(mac) = m.mac {
                out.push_str(&format!("mac = {}\n", toml_str(&mac.to_string())));
            }
            if let Some(n) = &m.name {
                out.push_str(&format!("name = {}\n", toml_str(n)));
            }
            if let Some(dr) = &m.driver {
                out.push_str(&format!("driver = {}\n", toml_str(dr)));
            }
            if let Some(p) = &m.path {
                out.push_str(&format!("path = {}\n", toml_str(p)));
            }
            if m.rename {
                out.push_str("rename = true\n");
            }
        }
    }
    vec![SourceFile::new(DEFAULT_PATH, out)]
}

/// Parse findings plus the checks common to every format (see [`crate::checks`]).
pub fn lint(files: &[SourceFile]) -> Vec<Finding> {
    let p = parse(files);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, true));
    f
}
