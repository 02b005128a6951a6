//! netplan YAML (`/etc/netplan/*.yaml`): `network: bonds:`.
//!
//! ```yaml
//! network:
//!   version: 2
//!   ethernets:
//!     eth0: {}
//!     eth1: {}
//!   bonds:
//!     bond0:
//!       interfaces: [eth0, eth1]
//!       addresses: [192.0.2.10/24]
//!       routes:
//!         - to: default
//!           via: 192.0.2.1
//!       parameters:
//!         mode: 802.3ad
//!         lacp-rate: fast
//!         mii-monitor-interval: 100
//!         transmit-hash-policy: layer3+4
//! ```
//!
//! `parameters:` keys map to kernel options as netplan documents them (`mii-monitor-interval`
//! is `miimon`, `gratuitous-arp` is `num_grat_arp`, `packets-per-member` or the older
//! `packets-per-slave` is `packets_per_slave`, ...). Intervals and delays are milliseconds
//! unless they carry a time unit (`learn-packet-interval`: seconds). The gateway comes from a
//! default route (`to: default` or `0.0.0.0/0`, `::/0`) or the deprecated `gateway4` /
//! `gateway6`; `dhcp4: true` is DHCP. Options netplan has no key for (`lacp_active`,
//! `ad_actor_*`, `ns_ip6_target`, `tlb_dynamic_lb`, `peer_notif_delay`, `arp_missed_max`,
//! per-slave options) are written as comments.

use std::net::IpAddr;

use ubond_core::options::OptionId;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::finding::{Finding, Span};
use crate::model::{BondConfig, ConfigSet, Parsed, SourceFile};
use crate::settings::{apply_settings, option_pairs, Setting};
use crate::text::{did_you_mean, suggestion_suffix};

/// The path [`emit`] writes.
pub const DEFAULT_PATH: &str = "/etc/netplan/60-bonds.yaml";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Millis,
    Seconds,
    Bool,
    List,
}

const PARAMS: &[(&str, OptionId, Kind)] = &[
    ("mode", OptionId::Mode, Kind::Plain),
    ("lacp-rate", OptionId::LacpRate, Kind::Plain),
    ("mii-monitor-interval", OptionId::Miimon, Kind::Millis),
    ("min-links", OptionId::MinLinks, Kind::Plain),
    ("transmit-hash-policy", OptionId::XmitHashPolicy, Kind::Plain),
    ("ad-select", OptionId::AdSelect, Kind::Plain),
    ("all-members-active", OptionId::AllSlavesActive, Kind::Bool),
    ("arp-interval", OptionId::ArpInterval, Kind::Millis),
    ("arp-ip-targets", OptionId::ArpIpTarget, Kind::List),
    ("arp-validate", OptionId::ArpValidate, Kind::Plain),
    ("arp-all-targets", OptionId::ArpAllTargets, Kind::Plain),
    ("up-delay", OptionId::Updelay, Kind::Millis),
    ("down-delay", OptionId::Downdelay, Kind::Millis),
    ("fail-over-mac-policy", OptionId::FailOverMac, Kind::Plain),
    ("gratuitous-arp", OptionId::NumGratArp, Kind::Plain),
    ("packets-per-member", OptionId::PacketsPerSlave, Kind::Plain),
    ("primary-reselect-policy", OptionId::PrimaryReselect, Kind::Plain),
    ("resend-igmp", OptionId::ResendIgmp, Kind::Plain),
    ("learn-packet-interval", OptionId::LpInterval, Kind::Seconds),
    ("primary", OptionId::Primary, Kind::Plain),
    // Older spellings netplan still reads.
    ("all-slaves-active", OptionId::AllSlavesActive, Kind::Bool),
    ("packets-per-slave", OptionId::PacketsPerSlave, Kind::Plain),
    ("gratuitious-arp", OptionId::NumGratArp, Kind::Plain),
];

const BOND_KEYS: &[&str] = &[
    "interfaces",
    "parameters",
    "addresses",
    "gateway4",
    "gateway6",
    "routes",
    "dhcp4",
    "dhcp6",
    "nameservers",
    "mtu",
    "macaddress",
    "optional",
    "renderer",
    "accept-ra",
    "link-local",
    "critical",
    "dhcp-identifier",
    "routing-policy",
    "openvswitch",
    "activation-mode",
];

/// At most this deep a YAML document is kept (deeper content is dropped with an error).
const MAX_DEPTH: usize = 32;

#[derive(Debug)]
enum Node {
    Scalar(String, Marker),
    Seq(Vec<Node>, Marker),
    Map(Vec<(String, Marker, Node)>, Marker),
}

impl Node {
    fn mark(&self) -> Marker {
        match self {
            Node::Scalar(_, m) | Node::Seq(_, m) | Node::Map(_, m) => *m,
        }
    }
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(e, _) => e.iter().rev().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }
    fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar(s, _) => Some(s),
            _ => None,
        }
    }
}

/// Builds a tree of nodes from the parser's events, with a depth limit.
#[derive(Default)]
struct Builder {
    stack: Vec<(Node, Option<(String, Marker)>)>,
    root: Option<Node>,
    /// Events inside containers past [`MAX_DEPTH`].
    skipped: usize,
    too_deep: Option<Marker>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((Node::Seq(items, _), _)) => items.push(node),
            Some((Node::Map(entries, _), pending)) => match pending.take() {
                None => {
                    let key = node.scalar().unwrap_or("?").to_owned();
                    *pending = Some((key, node.mark()));
                }
                Some((k, m)) => entries.push((k, m, node)),
            },
            Some((Node::Scalar(..), _)) => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.skipped > 0 {
            match ev {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipped += 1,
                Event::SequenceEnd | Event::MappingEnd => self.skipped -= 1,
                _ => {}
            }
            return;
        }
        match ev {
            Event::Scalar(s, ..) => self.push_value(Node::Scalar(s, mark)),
            Event::Alias(_) => self.push_value(Node::Scalar(String::new(), mark)),
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.skipped = 1;
                self.too_deep.get_or_insert(mark);
            }
            Event::SequenceStart(..) => self.stack.push((Node::Seq(Vec::new(), mark), None)),
            Event::MappingStart(..) => self.stack.push((Node::Map(Vec::new(), mark), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    self.push_value(node);
                }
            }
            _ => {}
        }
    }
}

struct Cx<'a> {
    file: &'a str,
    /// The file's lines' lengths in characters (to keep places inside the file: the parser
    /// reports an error at the end of input one line further).
    lines: Vec<usize>,
    findings: Vec<Finding>,
}

impl Cx<'_> {
    fn span(&self, m: Marker) -> Span {
        let n = self.lines.len().max(1);
        let (line, col) = if m.line() > n {
            (n, self.lines.last().copied().unwrap_or(0) + 1)
        } else {
            (m.line().max(1), m.col() + 1)
        };
        Span::new(
            self.file,
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }
    fn error(&mut self, m: Marker, msg: impl Into<String>) {
        let s = self.span(m);
        self.findings.push(Finding::error(&s, msg));
    }
}

/// A time in `unit` microseconds: a bare number is in the default unit (`default_us`).
fn time(v: &str, default_us: u128, unit_us: u128) -> Option<u128> {
    let v = v.trim();
    let us = if !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) {
        v.parse::<u128>().ok()?.checked_mul(default_us)?
    } else {
        let n_end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
        let n: u128 = v[..n_end].parse().ok()?;
        let mult: u128 = match v[n_end..].trim() {
            "us" | "usec" => 1,
            "ms" | "msec" => 1_000,
            "s" | "sec" => 1_000_000,
            "m" | "min" => 60_000_000,
            _ => return None,
        };
        n.checked_mul(mult)?
    };
    (us % unit_us == 0).then_some(us / unit_us)
}

fn list(n: &Node) -> Vec<(&str, Marker)> {
    match n {
        Node::Seq(items, _) => {
            items.iter().filter_map(|i| i.scalar().map(|s| (s, i.mark()))).collect()
        }
        Node::Scalar(s, m) => vec![(s.as_str(), *m)],
        Node::Map(..) => Vec::new(),
    }
}

fn yes(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Some(true),
        "false" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// Parses netplan files (their `network: bonds:` maps, in file order).
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut bonds = Vec::new();
    let mut findings = Vec::new();
    for file in files {
        let lines = file.text.split('\n').map(|l| l.chars().count()).collect();
        let mut cx = Cx { file: &file.path, lines, findings: Vec::new() };
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(&file.text);
        if let Err(e) = parser.load(&mut b, false) {
            cx.error(*e.marker(), format!("YAML: {}", e.info()));
        }
        if let Some(m) = b.too_deep {
            cx.error(m, format!("nested more than {MAX_DEPTH} levels deep: ignored"));
        }
        if let Some(bs) =
            b.root.as_ref().and_then(|r| r.get("network")).and_then(|n| n.get("bonds"))
        {
            match bs {
                Node::Map(entries, _) => {
                    for (name, m, v) in entries {
                        bonds.push(bond(&mut cx, name, *m, v));
                    }
                }
                other => cx.error(other.mark(), "network.bonds: expected a map of bonds"),
            }
        }
        findings.extend(cx.findings);
    }
    Parsed { config: ConfigSet { bonds }, findings }
}

fn bond(cx: &mut Cx<'_>, name: &str, m: Marker, v: &Node) -> BondConfig {
    let mut b = BondConfig::new(name);
    b.spans.bond = Some(cx.span(m));
    let mut settings = Vec::new();
    let Node::Map(entries, _) = v else {
        cx.error(v.mark(), format!("bond '{name}': expected a map"));
        return b;
    };
    for (key, km, val) in entries {
        match key.as_str() {
            "interfaces" => {
                for (s, sm) in list(val) {
                    if !b.slaves.iter().any(|x| x == s) {
                        b.slaves.push(s.to_owned());
                        b.spans.slaves.insert(s.to_owned(), cx.span(sm));
                    }
                }
            }
            "addresses" => {
                for (a, am) in list(val) {
                    let parsed = a.split_once('/').and_then(|(ip, p)| {
                        let ip: IpAddr = ip.parse().ok()?;
                        let p: u8 = p.parse().ok()?;
                        (p <= if ip.is_ipv4() { 32 } else { 128 }).then_some((ip, p))
                    });
                    match parsed {
                        Some(x) => b.addresses.push(x),
                        None => {
                            cx.error(am, format!("invalid address '{a}' (expected ADDRESS/PREFIX)"))
                        }
                    }
                }
            }
            "gateway4" | "gateway6" => match val.scalar().map(str::parse::<IpAddr>) {
                Some(Ok(ip)) => {
                    b.gateway.get_or_insert(ip);
                }
                _ => cx.error(val.mark(), format!("invalid {key}")),
            },
            "routes" => {
                if let Node::Seq(routes, _) = val {
                    for r in routes {
                        let to = r.get("to").and_then(Node::scalar);
                        if matches!(to, Some("default" | "0.0.0.0/0" | "::/0")) {
                            match r.get("via").and_then(Node::scalar).map(str::parse::<IpAddr>) {
                                Some(Ok(ip)) => {
                                    b.gateway.get_or_insert(ip);
                                }
                                _ => cx.error(r.mark(), "default route without a valid 'via'"),
                            }
                        }
                    }
                }
            }
            "dhcp4" => b.dhcp = val.scalar().and_then(yes).unwrap_or(false),
            "parameters" => {
                let Node::Map(params, _) = val else {
                    cx.error(val.mark(), "parameters: expected a map");
                    continue;
                };
                for (pk, pm, pv) in params {
                    let Some(&(_, id, kind)) = PARAMS.iter().find(|p| p.0 == pk) else {
                        let s = did_you_mean(pk, PARAMS.iter().map(|p| p.0));
                        let mut f = Finding::error(
                            &cx.span(*pm),
                            format!("unknown bond parameter '{pk}'{}", suggestion_suffix(s)),
                        );
                        if let Some(s) = s {
                            f = f.with_fix(s);
                        }
                        cx.findings.push(f);
                        continue;
                    };
                    let raw = match (kind, pv) {
                        (Kind::List, n) => {
                            Some(list(n).into_iter().map(|(s, _)| s).collect::<Vec<_>>().join(","))
                        }
                        (_, Node::Scalar(s, _)) => Some(s.clone()),
                        _ => None,
                    };
                    let value = raw.and_then(|r| match kind {
                        Kind::Plain | Kind::List => Some(r),
                        Kind::Bool => yes(&r).map(|b| u8::from(b).to_string()),
                        Kind::Millis => time(&r, 1_000, 1_000).map(|n| n.to_string()),
                        Kind::Seconds => time(&r, 1_000_000, 1_000_000).map(|n| n.to_string()),
                    });
                    let Some(value) = value else {
                        cx.error(pv.mark(), format!("invalid value for '{pk}'"));
                        continue;
                    };
                    settings.push(Setting {
                        id,
                        key: pk.clone(),
                        value,
                        slave: None,
                        key_span: cx.span(*pm),
                        value_span: cx.span(pv.mark()),
                    });
                }
            }
            other if BOND_KEYS.contains(&other) => {}
            other => {
                let s = did_you_mean(other, BOND_KEYS.iter().copied());
                let mut f = Finding::warning(
                    &cx.span(*km),
                    format!("unknown key '{other}'{}", suggestion_suffix(s)),
                );
                if let Some(s) = s {
                    f = f.with_fix(s);
                }
                cx.findings.push(f);
            }
        }
    }
    let (o, f) = apply_settings(&settings);
    cx.findings.extend(f);
    for s in &settings {
        b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
    }
    b.options = o;
    b
}

fn yaml_str(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-+:/".contains(c))
        && !s.contains(": ")
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        );
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Writes one netplan file with every bond and its slaves as `ethernets`.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    let mut out = String::from("# written by ubond\nnetwork:\n  version: 2\n");
    let slaves: Vec<&String> = set.bonds.iter().flat_map(|b| b.slaves.iter()).collect();
    if !slaves.is_empty() {
        out.push_str("  ethernets:\n");
        let mut seen = Vec::new();
        for s in slaves {
            if !seen.contains(&s) {
                out.push_str(&format!("    {}: {{}}\n", yaml_str(s)));
                seen.push(s);
            }
        }
    }
    if set.bonds.is_empty() {
        return vec![SourceFile::new(DEFAULT_PATH, out)];
    }
    out.push_str("  bonds:\n");
    for b in &set.bonds {
        out.push_str(&format!("    {}:\n", yaml_str(&b.name)));
        if !b.slaves.is_empty() {
            let l: Vec<String> = b.slaves.iter().map(|s| yaml_str(s)).collect();
            out.push_str(&format!("      interfaces: [{}]\n", l.join(", ")));
        }
        if !b.addresses.is_empty() {
            let l: Vec<String> =
                b.addresses.iter().map(|(a, p)| yaml_str(&format!("{a}/{p}"))).collect();
            out.push_str(&format!("      addresses: [{}]\n", l.join(", ")));
        }
        if b.dhcp {
            out.push_str("      dhcp4: true\n");
        }
        if let Some(g) = b.gateway {
            out.push_str(&format!(
                "      routes:\n        - to: default\n          via: {}\n",
                yaml_str(&g.to_string())
            ));
        }
        let mut params = String::new();
        let mut lost = Vec::new();
        for (id, v) in option_pairs(&b.options) {
            match PARAMS.iter().find(|p| p.1 == id) {
                Some(&(key, _, kind)) => {
                    let v = match kind {
                        Kind::List => format!(
                            "[{}]",
                            v.split(',').map(yaml_str).collect::<Vec<_>>().join(", ")
                        ),
                        Kind::Bool => if v == "1" { "true" } else { "false" }.to_owned(),
                        Kind::Seconds => format!("{v}s"),
                        Kind::Millis => format!("{v}ms"),
                        Kind::Plain => yaml_str(&v),
                    };
                    params.push_str(&format!("        {key}: {v}\n"));
                }
                None => lost.push(format!("{}={v}", id.name())),
            }
        }
        if !b.on_boot {
            lost.push("not started at boot (netplan brings up every bond it defines)".to_owned());
        }
        lost.extend(b.slave_options_lines());
        if !params.is_empty() {
            out.push_str("      parameters:\n");
            out.push_str(&params);
        }
        for l in lost {
            out.push_str(&format!("      # not settable in netplan: {l}\n"));
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
