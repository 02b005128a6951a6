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
use ubond_wire::MacAddr;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::finding::{Finding, Span};
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Match, Parsed, Route, SourceFile};
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

/// What cloud-init makes of a file with two YAML documents.
pub(crate) const SECOND_DOCUMENT_CLOUD_INIT: &str = "a second YAML document: cloud-init reads none of a file with more than one (YAML: expected a single document in the stream)";

/// At most this deep a YAML document is kept (deeper content is dropped with an error).
const MAX_DEPTH: usize = 32;

/// At most this many nodes are made by expanding YAML aliases (`*name`) in one document (a
/// "billion laughs" document stops there, with an error).
const MAX_ALIAS_NODES: usize = 10_000;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Scalar(String, Marker),
    Seq(Vec<Node>, Marker),
    Map(Vec<(String, Marker, Node)>, Marker),
}

impl Node {
    pub(crate) fn mark(&self) -> Marker {
        match self {
            Node::Scalar(_, m) | Node::Seq(_, m) | Node::Map(_, m) => *m,
        }
    }
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(e, _) => e.iter().rev().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }
    pub(crate) fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar(s, _) => Some(s),
            _ => None,
        }
    }
    /// How many nodes it has, itself included.
    fn size(&self) -> usize {
        1 + match self {
            Node::Scalar(..) => 0,
            Node::Seq(items, _) => items.iter().map(Node::size).sum(),
            Node::Map(entries, _) => entries.iter().map(|(_, _, v)| v.size()).sum(),
        }
    }
}

/// An open container: the node, a map's pending key, the container's anchor id.
type Open = (Node, Option<(String, Marker)>, usize);

/// Builds a tree of nodes from the parser's events, with a depth limit; aliases are expanded
/// (as netplan's libyaml does) within [`MAX_ALIAS_NODES`].
#[derive(Default)]
pub(crate) struct Builder {
    /// Open containers.
    stack: Vec<Open>,
    pub(crate) root: Option<Node>,
    /// Events inside containers past [`MAX_DEPTH`].
    skipped: usize,
    pub(crate) too_deep: Option<Marker>,
    /// Anchored nodes by anchor id, with their sizes.
    anchors: std::collections::BTreeMap<usize, (Node, usize)>,
    /// Nodes made by aliases so far.
    expanded: usize,
    /// Where an alias was not expanded (the budget spent).
    pub(crate) too_many_aliases: Option<Marker>,
}

impl Builder {
    /// Says where the document went past the depth or alias limits.
    pub(crate) fn report_limits(&self, cx: &mut Cx<'_>) {
        if let Some(m) = self.too_deep {
            cx.error(m, format!("nested more than {MAX_DEPTH} levels deep: ignored"));
        }
        if let Some(m) = self.too_many_aliases {
            cx.error(m, format!("aliases expand to more than {MAX_ALIAS_NODES} nodes: this one and the rest are not expanded"));
        }
    }

    fn anchor(&mut self, id: usize, node: &Node) {
        if id > 0 {
            self.anchors.insert(id, (node.clone(), node.size()));
        }
    }

    fn alias(&mut self, id: usize, mark: Marker) -> Node {
        match self.anchors.get(&id) {
            Some((node, size)) if self.expanded + size <= MAX_ALIAS_NODES => {
                self.expanded += size;
                node.clone()
            }
            _ => {
                self.too_many_aliases.get_or_insert(mark);
                Node::Scalar(String::new(), mark)
            }
        }
    }

    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((Node::Seq(items, _), _, _)) => items.push(node),
            Some((Node::Map(entries, _), pending, _)) => match pending.take() {
                None => {
                    let key = node.scalar().unwrap_or("?").to_owned();
                    *pending = Some((key, node.mark()));
                }
                Some((k, m)) => entries.push((k, m, node)),
            },
            Some((Node::Scalar(..), _, _)) => {}
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
            Event::Scalar(s, _, anchor, _) => {
                let node = Node::Scalar(s, mark);
                self.anchor(anchor, &node);
                self.push_value(node);
            }
            Event::Alias(id) => {
                let node = self.alias(id, mark);
                self.push_value(node);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.skipped = 1;
                self.too_deep.get_or_insert(mark);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((Node::Seq(Vec::new(), mark), None, anchor))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((Node::Map(Vec::new(), mark), None, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _, anchor)) = self.stack.pop() {
                    self.anchor(anchor, &node);
                    self.push_value(node);
                }
            }
            _ => {}
        }
    }
}

pub(crate) struct Cx<'a> {
    pub(crate) file: &'a str,
    /// The file's lines' lengths in characters (to keep places inside the file: the parser
    /// reports an error at the end of input one line further).
    pub(crate) lines: Vec<usize>,
    pub(crate) findings: Vec<Finding>,
}

impl Cx<'_> {
    pub(crate) fn span(&self, m: Marker) -> Span {
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
    pub(crate) fn error(&mut self, m: Marker, msg: impl Into<String>) {
        let s = self.span(m);
        self.findings.push(Finding::error(&s, msg));
    }
    pub(crate) fn warning(&mut self, m: Marker, msg: impl Into<String>) {
        let s = self.span(m);
        self.findings.push(Finding::warning(&s, msg));
    }
}

/// After `parser` loaded a file's first document: where a further document with content
/// starts (`---`), or where the text after the first one does not parse. An empty document
/// (a trailing `---`) holds nothing and is passed over.
pub(crate) fn further_document<T: Iterator<Item = char>>(parser: &mut Parser<T>) -> Option<Marker> {
    let mut start = None;
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => return None,
            Ok((Event::DocumentStart, m)) => start = Some(m),
            Ok((Event::DocumentEnd, _)) => {}
            Ok((Event::Scalar(s, ..), _)) if s.is_empty() => {}
            Ok((_, m)) => return Some(start.unwrap_or(m)),
            Err(e) => return Some(start.unwrap_or(*e.marker())),
        }
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

pub(crate) fn list(n: &Node) -> Vec<(&str, Marker)> {
    match n {
        Node::Seq(items, _) => {
            items.iter().filter_map(|i| i.scalar().map(|s| (s, i.mark()))).collect()
        }
        Node::Scalar(s, m) => vec![(s.as_str(), *m)],
        Node::Map(..) => Vec::new(),
    }
}

pub(crate) fn yes(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Some(true),
        "false" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// What a netplan document defines, across files (later files override earlier ones, as
/// netplan merges them).
struct Defs<'a> {
    /// (id, file index, key mark, definition)
    ethernets: Vec<(&'a str, usize, Marker, &'a Node)>,
    bonds: Vec<(&'a str, usize, Marker, &'a Node)>,
    bridges: Vec<(&'a str, usize, Marker, &'a Node)>,
    vlans: Vec<(&'a str, usize, Marker, &'a Node)>,
    /// Open vSwitch patch ports (`network.openvswitch.ports`).
    patch_ports: Vec<&'a str>,
}

fn defs_of<'a>(roots: &'a [(Option<Node>, bool)], cxs: &mut [Cx<'_>]) -> Defs<'a> {
    let mut d = Defs {
        ethernets: Vec::new(),
        bonds: Vec::new(),
        bridges: Vec::new(),
        vlans: Vec::new(),
        patch_ports: Vec::new(),
    };
    for (i, (root, top_level)) in roots.iter().enumerate() {
        let Some(root) = root else { continue };
        let net = match root.get("network") {
            Some(n) => n,
            None if *top_level && root.get("version").is_some() => root,
            None => continue,
        };
        if let Some(Node::Seq(pairs, _)) = net.get("openvswitch").and_then(|o| o.get("ports")) {
            for p in pairs {
                d.patch_ports.extend(list(p).into_iter().map(|(s, _)| s));
            }
        }
        for (key, list) in [
            ("ethernets", &mut d.ethernets),
            ("bonds", &mut d.bonds),
            ("bridges", &mut d.bridges),
            ("vlans", &mut d.vlans),
        ] {
            match net.get(key) {
                Some(Node::Map(entries, _)) => {
                    for (id, m, v) in entries {
                        list.retain(|(x, ..)| *x != id.as_str());
                        list.push((id.as_str(), i, *m, v));
                    }
                }
                Some(other) => cxs[i].error(other.mark(), format!("network.{key}: expected a map")),
                None => {}
            }
        }
    }
    d
}

/// Parses netplan files (their `network:` maps, in file order).
pub fn parse(files: &[SourceFile]) -> Parsed {
    parse_flavour(files, false)
}

/// Reads the YAML of `files`; `top_level`: cloud-init's version 2, whose keys may stand at
/// the top instead of under `network:`.
pub(crate) fn parse_flavour(files: &[SourceFile], top_level: bool) -> Parsed {
    let mut cxs: Vec<Cx<'_>> = Vec::new();
    let mut roots = Vec::new();
    for file in files {
        let lines = file.text.split('\n').map(|l| l.chars().count()).collect();
        let mut cx = Cx { file: &file.path, lines, findings: Vec::new() };
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(&file.text);
        match parser.load(&mut b, false) {
            Err(e) => cx.error(*e.marker(), format!("YAML: {}", e.info())),
            // netplan's libyaml loads a file's first document and never reads the rest;
            // cloud-init's PyYAML refuses a file with two ("expected a single document in the
            // stream") and reads none of it.
            Ok(()) => match (further_document(&mut parser), top_level) {
                (None, _) => {}
                (Some(m), false) => cx.warning(
                    m,
                    "a second YAML document: ignored (netplan reads only a file's first document)",
                ),
                (Some(m), true) => cx.error(m, SECOND_DOCUMENT_CLOUD_INIT),
            },
        }
        b.report_limits(&mut cx);
        // A document that is a string or a list (an ifcfg or interfaces file given as YAML)
        // defines nothing: said, not ignored.
        if let Some(r @ (Node::Scalar(..) | Node::Seq(..))) = &b.root {
            if !matches!(r, Node::Scalar(s, _) if s.is_empty()) {
                cx.error(
                    r.mark(),
                    "not a netplan document: expected a map with a 'network:' key (is this file in another format? give --format)",
                );
            }
        }
        // netplan knows one top-level key: anything else (a JSON or YAML file of another
        // tool) is refused, not read as an empty configuration.
        if let (Some(Node::Map(entries, _)), false) = (&b.root, top_level) {
            for (k, km, _) in entries.iter().filter(|(k, _, _)| k != "network") {
                let sug = did_you_mean(k, ["network"]);
                cx.error(
                    *km,
                    format!(
                        "unknown key '{k}'{}: a netplan file holds 'network:'",
                        suggestion_suffix(sug)
                    ),
                );
            }
        }
        if let Some(v) =
            b.root.as_ref().and_then(|r| r.get("network")).and_then(|n| n.get("version"))
        {
            if v.scalar().is_some_and(|s| s != "2") {
                cx.error(v.mark(), format!("network version {}: netplan reads version 2 (version 1 is cloud-init's: use --format cloud-init-v1)", v.scalar().unwrap_or("")));
            }
        }
        roots.push((b.root, top_level));
        cxs.push(cx);
    }
    let d = defs_of(&roots, &mut cxs);
    let mut bonds = Vec::new();
    for &(name, fi, m, v) in &d.bonds {
        let b = bond(&mut cxs, fi, name, m, v, &d);
        bonds.push(b);
    }
    // One interface the primary of two bonds (netplan refuses it whatever the mode).
    let mut primaries: Vec<(String, &str)> = Vec::new();
    for &(bn, fi, _, bv) in &d.bonds {
        let Some(p) = bv.get("parameters").and_then(|p| p.get("primary")) else { continue };
        let Some(v) = p.scalar() else { continue };
        match primaries.iter().find(|(x, _)| x == v) {
            Some((_, first)) => {
                let s = cxs[fi].span(p.mark());
                cxs[fi].findings.push(Finding::error(&s, format!("primary '{v}' of bond '{bn}' is named by two bonds (also '{first}'); netplan refuses it")));
            }
            None => primaries.push((v.to_owned(), bn)),
        }
    }
    // A NIC (by netplan id) in a bond and in a bridge.
    for &(br, fi, _, v) in &d.bridges {
        let Some(list) = v.get("interfaces") else { continue };
        for (id, im) in self::list(list) {
            for &(bn, _, _, bv) in &d.bonds {
                let members = bv.get("interfaces").map(self::list).unwrap_or_default();
                if members.iter().any(|(x, _)| *x == id) {
                    let s = cxs[fi].span(im);
                    cxs[fi].findings.push(Finding::error(&s, format!("'{id}' is a member of bond '{bn}' and of bridge '{br}': an interface has one master; make the bond the bridge's member")).with_fix(bn.to_owned()));
                }
            }
        }
    }
    let findings = cxs.into_iter().flat_map(|c| c.findings).collect();
    Parsed { config: ConfigSet { bonds }, findings, unmarked: Vec::new() }
}

/// Keys of a member's (`ethernets:`) definition that put IP configuration on it.
const MEMBER_IP_KEYS: &[&str] =
    &["addresses", "gateway4", "gateway6", "routes", "nameservers", "dhcp4", "dhcp6"];

/// Resolves member `id` of bond `b`: its name (`set-name`, a plain `match: name`, or the id)
/// and its match rule; its IP configuration is a mistake, its other keys extras.
fn member(cxs: &mut [Cx<'_>], b: &mut BondConfig, id: &str, at: Span, d: &Defs<'_>) -> String {
    let Some(&(_, fi, _, def)) = d.ethernets.iter().find(|(x, ..)| *x == id) else {
        if d.patch_ports.contains(&id) {
            push_slave(b, id, at);
            return id.to_owned();
        }
        let kind = [("bonds", &d.bonds), ("bridges", &d.bridges), ("vlans", &d.vlans)]
            .iter()
            .find(|(_, l)| l.iter().any(|(x, ..)| *x == id))
            .map(|(k, _)| *k);
        let msg = match kind {
            Some(k) => format!(
                "bond '{}': '{id}' is defined under {k}:, not ethernets: (netplan refuses it)",
                b.name
            ),
            None => format!(
                "bond '{}': interface '{id}' is not defined under ethernets: (netplan refuses it)",
                b.name
            ),
        };
        if let Some(c) = cxs.iter_mut().find(|c| c.file == at.file) {
            c.findings
                .push(Finding::error(&at, msg).with_fix(format!("ethernets: {{{id}: {{}}}}")));
        }
        push_slave(b, id, at);
        return id.to_owned();
    };
    let cx = &mut cxs[fi];
    let mut rule = Match::default();
    let mut set_name: Option<String> = None;
    let mut rule_at = None;
    if let Node::Map(entries, _) = def {
        for (k, km, v) in entries {
            match k.as_str() {
                "match" => {
                    rule_at = Some(cx.span(*km));
                    if let Node::Map(me, _) = v {
                        for (mk, mm, mv) in me {
                            let s = mv.scalar().unwrap_or("").to_owned();
                            match mk.as_str() {
                                "macaddress" | "permanent-mac-address" => {
                                    match s.parse::<MacAddr>() {
                                        Ok(mac) => rule.mac = Some(mac),
                                        Err(_) => {
                                            cx.error(mv.mark(), format!("invalid macaddress '{s}'"))
                                        }
                                    }
                                }
                                "name" => rule.name = Some(s),
                                "driver" => rule.driver = Some(s),
                                other => cx.error(
                                    *mm,
                                    format!(
                                        "unknown match key '{other}' (macaddress, name, driver)"
                                    ),
                                ),
                            }
                        }
                    }
                }
                "set-name" => set_name = v.scalar().map(str::to_owned),
                "renderer" => {}
                "dhcp4" | "dhcp6" if v.scalar().and_then(yes) == Some(false) => {}
                key => {
                    let text = format!("{id}: {key}: {}", flat(v));
                    if MEMBER_IP_KEYS.contains(&key) {
                        let s = cx.span(*km);
                        cx.findings.push(Finding::warning(&s, format!("'{key}' on '{id}', a member of bond '{}': addresses, routes and name servers go on the bond", b.name)));
                    }
                    b.extra(text, cx.span(*km));
                }
            }
        }
    }
    let at = rule_at.clone().unwrap_or(at);
    let name = match (&set_name, &rule) {
        (Some(n), _) => {
            rule.rename = true;
            n.clone()
        }
        (None, r) if r.is_name_only() => {
            let n = r.name.clone().unwrap_or_default();
            rule = Match::default();
            n
        }
        _ => id.to_owned(),
    };
    if rule != Match::default() {
        b.note(&Fact::Match(name.clone()), at.clone());
        b.matches.insert(name.clone(), rule);
    }
    push_slave(b, &name, at);
    name
}

fn push_slave(b: &mut BondConfig, name: &str, at: Span) {
    if !b.slaves.iter().any(|x| x == name) {
        b.slaves.push(name.to_owned());
        b.spans.slaves.insert(name.to_owned(), at);
    }
}

/// A node as one line of text (for extras).
pub(crate) fn flat(n: &Node) -> String {
    match n {
        Node::Scalar(s, _) => s.clone(),
        Node::Seq(items, _) => {
            format!("[{}]", items.iter().map(flat).collect::<Vec<_>>().join(", "))
        }
        Node::Map(e, _) => format!(
            "{{{}}}",
            e.iter().map(|(k, _, v)| format!("{k}: {}", flat(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn bond(
    cxs: &mut [Cx<'_>],
    fi: usize,
    name: &str,
    m: Marker,
    v: &Node,
    d: &Defs<'_>,
) -> BondConfig {
    let mut b = BondConfig::new(name);
    b.spans.bond = Some(cxs[fi].span(m));
    let mut settings = Vec::new();
    let Node::Map(entries, _) = v else {
        cxs[fi].error(v.mark(), format!("bond '{name}': expected a map"));
        return b;
    };
    let mut ovs_items: Vec<crate::ovs::Item> = Vec::new();
    let mut ovs = false;
    // netplan ids of the members and the interfaces they are.
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut ovs_mode: Option<(String, Span)> = None;
    for (key, km, val) in entries {
        let kspan = cxs[fi].span(*km);
        match key.as_str() {
            "interfaces" => {
                for (s, sm) in list(val) {
                    let at = cxs[fi].span(sm);
                    let name = member(cxs, &mut b, s, at, d);
                    ids.push((s.to_owned(), name));
                }
            }
            "addresses" => {
                // Plain `A/P` items, or netplan's advanced `- "A/P": {lifetime: 0, label: x}`
                // (the options are kept as an extra: no other format holds them).
                let items: Vec<&Node> = match val {
                    Node::Seq(items, _) => items.iter().collect(),
                    other => vec![other],
                };
                for item in items {
                    let (a, am, options) = match item {
                        Node::Scalar(a, am) => (a.as_str(), *am, None),
                        Node::Map(e, _) if e.len() == 1 => (e[0].0.as_str(), e[0].1, Some(&e[0].2)),
                        other => {
                            cxs[fi].error(
                                other.mark(),
                                format!(
                                    "addresses: expected ADDRESS/PREFIX, found {}",
                                    flat(other)
                                ),
                            );
                            continue;
                        }
                    };
                    match crate::net::prefixed(a) {
                        Some(x) => {
                            b.note(&Fact::Address(x.0, x.1), cxs[fi].span(am));
                            b.addresses.push(x);
                            if let Some(o) = options {
                                b.extra(format!("address {a}: {}", flat(o)), cxs[fi].span(am));
                            }
                        }
                        None => cxs[fi]
                            .error(am, format!("invalid address '{a}' (expected ADDRESS/PREFIX)")),
                    }
                }
            }
            "gateway4" | "gateway6" => match val.scalar().map(str::parse::<IpAddr>) {
                Some(Ok(ip)) => {
                    let r = Route::default_via(ip);
                    b.note(&Fact::Route(r.clone()), kspan.clone());
                    b.routes.push(r);
                }
                _ => cxs[fi].error(val.mark(), format!("invalid {key}")),
            },
            "routes" => {
                if let Node::Seq(routes, _) = val {
                    for r in routes {
                        route(&mut cxs[fi], &mut b, r);
                    }
                }
            }
            "dhcp4" | "dhcp6" => match val.scalar().and_then(yes) {
                Some(on) => {
                    if key == "dhcp4" {
                        b.dhcp4 = on;
                    } else {
                        b.dhcp6 = on;
                    }
                    b.note(if key == "dhcp4" { &Fact::Dhcp4 } else { &Fact::Dhcp6 }, kspan.clone());
                }
                None => cxs[fi].error(
                    val.mark(),
                    format!(
                        "{key}: expected true or false, found '{}'",
                        val.scalar().unwrap_or("")
                    ),
                ),
            },
            "mtu" => match val.scalar().map(str::parse::<u32>) {
                Some(Ok(n)) if (68..=65535).contains(&n) => {
                    b.mtu = Some(n);
                    b.note(&Fact::Mtu, kspan.clone());
                }
                _ => cxs[fi].error(
                    val.mark(),
                    format!("invalid mtu '{}': 68-65535", val.scalar().unwrap_or("")),
                ),
            },
            "macaddress" => match val.scalar().map(str::parse::<MacAddr>) {
                Some(Ok(mac)) => {
                    b.mac = Some(mac);
                    b.note(&Fact::Mac, kspan.clone());
                }
                _ => cxs[fi].error(
                    val.mark(),
                    format!("invalid macaddress '{}'", val.scalar().unwrap_or("")),
                ),
            },
            "nameservers" => {
                if let Some(a) = val.get("addresses") {
                    for (s, sm) in list(a) {
                        match s.parse::<IpAddr>() {
                            Ok(ip) => b.dns.servers.push(ip),
                            Err(_) => cxs[fi].error(sm, format!("invalid name server '{s}'")),
                        }
                    }
                }
                if let Some(s) = val.get("search") {
                    // netplan hands the list to networkd's `Domains=` and NetworkManager's
                    // `dns-search` as written: a `~` entry is routing-only to both.
                    for (s, sm) in list(s) {
                        if b.dns.add_domain(s) {
                            b.note(&Fact::RoutingDomains, cxs[fi].span(sm));
                        }
                    }
                }
                b.note(&Fact::Dns, kspan.clone());
            }
            "openvswitch" => {
                ovs = true;
                if let Node::Map(oe, _) = val {
                    for (ok, om, ov) in oe {
                        let cx = &mut cxs[fi];
                        match (ok.as_str(), ov) {
                            ("lacp", Node::Scalar(v, vm)) => ovs_items.push(crate::ovs::Item {
                                key: "lacp".into(),
                                value: v.clone(),
                                key_span: cx.span(*om),
                                value_span: cx.span(*vm),
                            }),
                            // Passed through to the Port record: `other_config:KEY=VALUE`,
                            // `external_ids:KEY=VALUE`.
                            ("other-config" | "external-ids", Node::Map(kv, _)) => {
                                let column = if ok == "other-config" {
                                    "other_config"
                                } else {
                                    "external_ids"
                                };
                                for (k, km, v) in kv {
                                    ovs_items.push(crate::ovs::Item {
                                        key: format!("{column}:{k}"),
                                        value: v.scalar().unwrap_or("").to_owned(),
                                        key_span: cx.span(*km),
                                        value_span: cx.span(v.mark()),
                                    });
                                }
                            }
                            _ => {
                                let known = [
                                    "fail-mode",
                                    "mcast-snooping",
                                    "rstp",
                                    "protocols",
                                    "controller",
                                    "ssl",
                                    "ports",
                                ];
                                if !known.contains(&ok.as_str())
                                    && ok != "lacp"
                                    && ok != "other-config"
                                    && ok != "external-ids"
                                {
                                    let sug =
                                        did_you_mean(ok, ["lacp", "other-config", "external-ids"]);
                                    let s = cx.span(*om);
                                    cx.findings.push(Finding::warning(
                                        &s,
                                        format!(
                                            "unknown openvswitch key '{ok}'{}",
                                            suggestion_suffix(sug)
                                        ),
                                    ));
                                }
                                b.extra(format!("openvswitch: {ok}: {}", flat(ov)), cx.span(*om));
                            }
                        }
                    }
                }
            }
            "parameters" => {
                let Node::Map(params, _) = val else {
                    cxs[fi].error(val.mark(), "parameters: expected a map");
                    continue;
                };
                for (i, (pk, pm, pv)) in params.iter().enumerate() {
                    let cx = &mut cxs[fi];
                    if params[..i].iter().any(|(k, _, _)| k == pk) {
                        let s = cx.span(*pm);
                        cx.findings.push(Finding::error(
                            &s,
                            format!("'{pk}' is set twice (netplan refuses it)"),
                        ));
                    }
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
                    if id == OptionId::Mode
                        && raw.as_deref().is_some_and(|m| m == "balance-tcp" || m == "balance-slb")
                    {
                        ovs = true;
                        ovs_mode = raw.clone().map(|r| (r, cx.span(pv.mark())));
                        continue;
                    }
                    let value = raw.clone().and_then(|r| match kind {
                        Kind::Plain | Kind::List => Some(r),
                        Kind::Bool => yes(&r).map(|b| u8::from(b).to_string()),
                        Kind::Millis => time(&r, 1_000, 1_000).map(|n| n.to_string()),
                        Kind::Seconds => time(&r, 1_000_000, 1_000_000).map(|n| n.to_string()),
                    });
                    let Some(value) = value else {
                        cx.error(
                            pv.mark(),
                            format!("invalid value '{}' for '{pk}'", raw.unwrap_or_default()),
                        );
                        continue;
                    };
                    settings.push(Setting {
                        id,
                        key: pk.clone(),
                        value,
                        raw: raw.unwrap_or_default(),
                        slave: None,
                        key_span: cx.span(*pm),
                        value_span: cx.span(pv.mark()),
                    });
                }
            }
            "renderer" => {}
            other if BOND_KEYS.contains(&other) => {
                b.extra(format!("{other}: {}", flat(val)), kspan)
            }
            other => {
                let s = did_you_mean(other, BOND_KEYS.iter().copied());
                let mut f = Finding::warning(
                    &kspan,
                    format!("unknown key '{other}'{}", suggestion_suffix(s)),
                );
                if let Some(s) = s {
                    f = f.with_fix(s);
                }
                cxs[fi].findings.push(f);
            }
        }
    }
    // An Open vSwitch bond: `openvswitch:`, OVS's modes, or a bridge of OVS holding it.
    let bridge = d.bridges.iter().find(|(_, _, _, bv)| {
        bv.get("interfaces").map(list).unwrap_or_default().iter().any(|(x, _)| *x == name)
    });
    // OVS's patch ports make a bridge (or a bond) an Open vSwitch one.
    let patched = |n: &Node| {
        n.get("interfaces")
            .map(list)
            .unwrap_or_default()
            .iter()
            .any(|(x, _)| d.patch_ports.contains(x))
    };
    if bridge.is_some_and(|(_, _, _, bv)| bv.get("openvswitch").is_some() || patched(bv))
        || patched(v)
    {
        ovs = true;
    }
    for (id, _, _, bv) in d.bridges.iter().chain(d.vlans.iter()) {
        if ovs && bridge.is_some_and(|(b, ..)| b == id) {
            continue; // the OVS bond's own bridge
        }
        let on_it =
            bv.get("interfaces").map(list).unwrap_or_default().iter().any(|(x, _)| *x == name)
                || bv.get("link").and_then(Node::scalar) == Some(name);
        if on_it {
            let kind = if bv.get("link").is_some() { "vlan" } else { "bridge" };
            let at = b.spans.bond.clone().unwrap_or_default();
            b.extra(format!("{kind} {id} on {name}"), at);
        }
    }
    if ovs {
        // netplan's bond keys in OVS spelling.
        if let Some((m, s)) = ovs_mode {
            ovs_items.push(crate::ovs::Item {
                key: "bond_mode".into(),
                value: m,
                key_span: s.clone(),
                value_span: s,
            });
        }
        for s in &settings {
            let (k, v) = match s.id {
                OptionId::Mode => ("bond_mode", s.value.clone()),
                OptionId::LacpRate => ("other_config:lacp-time", s.value.clone()),
                OptionId::Miimon => {
                    ovs_items.push(crate::ovs::Item {
                        key: "other_config:bond-detect-mode".into(),
                        value: "miimon".into(),
                        key_span: s.key_span.clone(),
                        value_span: s.value_span.clone(),
                    });
                    ("other_config:bond-miimon-interval", s.value.clone())
                }
                OptionId::Updelay => ("bond_updelay", s.value.clone()),
                OptionId::Downdelay => ("bond_downdelay", s.value.clone()),
                OptionId::Primary => ("other_config:bond-primary", s.value.clone()),
                _ => {
                    cxs[fi].findings.push(Finding::warning(
                        &s.key_span,
                        format!(
                            "'{}' has no Open vSwitch equivalent: ignored for this OVS bond",
                            s.key
                        ),
                    ));
                    continue;
                }
            };
            ovs_items.push(crate::ovs::Item {
                key: k.into(),
                value: v,
                key_span: s.key_span.clone(),
                value_span: s.value_span.clone(),
            });
        }
        if b.slaves.len() < 2 {
            let at = b.spans.bond.clone().unwrap_or_default();
            cxs[fi].findings.push(Finding::error(&at, format!("bond '{name}' is an Open vSwitch bond: it needs two member interfaces or more (netplan refuses it)")));
        }
        let br = bridge.map(|(n, ..)| *n).unwrap_or("br0");
        let at = b.spans.bond.clone().unwrap_or_default();
        crate::ovs::read_bond(&mut b, br, &ovs_items, &at, &mut cxs[fi].findings);
        return b;
    }
    // `primary` names a member by its netplan id.
    for s in settings.iter_mut().filter(|s| s.id == OptionId::Primary) {
        match ids.iter().find(|(id, name)| *id == s.value || *name == s.value) {
            Some((_, name)) => s.value = name.clone(),
            None if !ids.is_empty() => {
                let f = Finding::error(
                    &s.value_span,
                    format!(
                        "primary '{}' is not a member of bond '{name}' (netplan refuses it)",
                        s.raw
                    ),
                );
                cxs[fi].findings.push(f);
            }
            None => {}
        }
    }
    let (o, f) = apply_settings(&settings);
    cxs[fi].findings.extend(f);
    for s in &settings {
        b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
    }
    b.options = o;
    b
}

/// One `routes:` item.
fn route(cx: &mut Cx<'_>, b: &mut BondConfig, r: &Node) {
    let Node::Map(entries, _) = r else {
        cx.error(r.mark(), "a route is a map (to:, via:, metric:, table:)");
        return;
    };
    let at = cx.span(r.mark());
    let get = |k: &str| r.get(k).and_then(Node::scalar);
    let via = get("via").map(str::parse::<IpAddr>);
    let v6 = matches!(via, Some(Ok(IpAddr::V6(_)))) || get("to").is_some_and(|t| t.contains(':'));
    let to = get("to").and_then(|t| crate::net::destination(t, v6));
    let Some(to) = to else {
        cx.error(r.mark(), format!("route: invalid 'to' ({})", flat(r)));
        return;
    };
    let via = match get("via").map(str::parse::<IpAddr>) {
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            cx.error(r.mark(), format!("route: invalid via '{}'", get("via").unwrap_or("")));
            return;
        }
        None => None,
    };
    let metric = get("metric").map(str::parse::<u32>);
    let table = get("table").map(str::parse::<u32>);
    if matches!(metric, Some(Err(_))) || matches!(table, Some(Err(_))) {
        cx.error(r.mark(), format!("route: invalid metric or table ({})", flat(r)));
        return;
    }
    let other: Vec<&String> = entries
        .iter()
        .map(|(k, _, _)| k)
        .filter(|k| !matches!(k.as_str(), "to" | "via" | "metric" | "table"))
        .collect();
    if !other.is_empty() {
        b.extra(format!("route {}", flat(r)), at);
        return;
    }
    let route =
        Route { to, via, metric: metric.and_then(Result::ok), table: table.and_then(Result::ok) };
    b.note(&Fact::Route(route.clone()), at);
    b.routes.push(route);
}

pub(crate) fn yaml_str(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-+:/".contains(c))
        && !s.contains(": ")
        && !s.ends_with(':')
        && !s.starts_with(':')
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

/// Writes one netplan file with every bond and its slaves as `ethernets` (matched ones with
/// their `match:` and `set-name:`), OVS bonds with their `openvswitch:` and bridge.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    vec![SourceFile::new(DEFAULT_PATH, emit_text(set, lost, "netplan"))]
}

/// The text of a netplan (or cloud-init version 2) document for `set`.
pub(crate) fn emit_text(set: &ConfigSet, lost: &mut Lost, format: &str) -> String {
    let mut out = String::from("# written by ubond\nnetwork:\n  version: 2\n");
    let mut ethernets = String::new();
    let mut seen: Vec<&String> = Vec::new();
    for b in &set.bonds {
        for s in &b.slaves {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
            // netplan has no match by path: without another criterion, the entry is the NIC
            // of that name (the loss is said with the bond).
            let rule = b
                .matches
                .get(s)
                .filter(|m| m.mac.is_some() || m.name.is_some() || m.driver.is_some());
            match rule {
                None => ethernets.push_str(&format!("    {}: {{}}\n", yaml_str(s))),
                Some(m) => {
                    ethernets.push_str(&format!("    {}:\n      match:\n", yaml_str(s)));
                    if let Some(mac) = m.mac {
                        ethernets.push_str(&format!("        macaddress: \"{mac}\"\n"));
                    }
                    if let Some(n) = &m.name {
                        ethernets.push_str(&format!("        name: {}\n", yaml_str(n)));
                    }
                    if let Some(d) = &m.driver {
                        ethernets.push_str(&format!("        driver: {}\n", yaml_str(d)));
                    }
                    if m.rename {
                        ethernets.push_str(&format!("      set-name: {}\n", yaml_str(s)));
                    }
                }
            }
        }
    }
    if !ethernets.is_empty() {
        out.push_str("  ethernets:\n");
        out.push_str(&ethernets);
    }
    if set.bonds.is_empty() {
        return out;
    }
    // Open vSwitch bridges and their bonds, each bridge once.
    let mut bridges: Vec<(&str, Vec<&str>)> = Vec::new();
    out.push_str("  bonds:\n");
    for b in &set.bonds {
        let mut lost_lines = lost.common(b, true, format);
        // netplan documents `nameservers: search:` as search domains only (its renderers
        // pass a `~` entry through unchanged, but that is not netplan's meaning of it).
        lost_lines.extend(lost.routing_domains(b, format));
        for (s, m) in b.matches.iter().filter(|(_, m)| m.path.is_some()) {
            lost_lines.push(lost.add(
                b,
                Fact::Match(s.clone()),
                format!("{s} found by {m}"),
                format!("{format} matches by macaddress, name and driver, not by path"),
            ));
        }
        out.push_str(&format!("    {}:\n", yaml_str(&b.name)));
        let start = out.len();
        if !b.slaves.is_empty() {
            let l: Vec<String> = b.slaves.iter().map(|s| yaml_str(s)).collect();
            out.push_str(&format!("      interfaces: [{}]\n", l.join(", ")));
        }
        if let Some(m) = b.mtu {
            out.push_str(&format!("      mtu: {m}\n"));
        }
        if let Some(m) = b.mac {
            out.push_str(&format!("      macaddress: \"{m}\"\n"));
        }
        if !b.addresses.is_empty() {
            let l: Vec<String> =
                b.addresses.iter().map(|(a, p)| yaml_str(&format!("{a}/{p}"))).collect();
            out.push_str(&format!("      addresses: [{}]\n", l.join(", ")));
        }
        if b.dhcp4 {
            out.push_str("      dhcp4: true\n");
        }
        if b.dhcp6 {
            out.push_str("      dhcp6: true\n");
        }
        if !b.routes.is_empty() {
            out.push_str("      routes:\n");
            for r in &b.routes {
                // `default` takes its family from `via`: an IPv6 one without says `::/0`.
                let to = if r.is_default() && (r.via.is_some() || r.is_ipv4()) {
                    "default".to_owned()
                } else if r.is_default() {
                    "::/0".to_owned()
                } else {
                    format!("{}/{}", r.to.0, r.to.1)
                };
                out.push_str(&format!("        - to: {}\n", yaml_str(&to)));
                if let Some(v) = r.via {
                    out.push_str(&format!("          via: {}\n", yaml_str(&v.to_string())));
                }
                if let Some(m) = r.metric {
                    out.push_str(&format!("          metric: {m}\n"));
                }
                if let Some(t) = r.table {
                    out.push_str(&format!("          table: {t}\n"));
                }
            }
        }
        if !b.dns.servers.is_empty() || !b.dns.search.is_empty() {
            out.push_str("      nameservers:\n");
            if !b.dns.servers.is_empty() {
                let l: Vec<String> =
                    b.dns.servers.iter().map(|s| yaml_str(&s.to_string())).collect();
                out.push_str(&format!("        addresses: [{}]\n", l.join(", ")));
            }
            if !b.dns.search.is_empty() {
                let l: Vec<String> = b.dns.search.iter().map(|s| yaml_str(s)).collect();
                out.push_str(&format!("        search: [{}]\n", l.join(", ")));
            }
        }
        let mut params = String::new();
        if let Some(o) = &b.ovs {
            // netplan's keys for an OVS bond, `other-config` and `external-ids` passed
            // through; OVS's other columns are lost.
            let mut ovs_keys = String::new();
            let mut other_config = String::new();
            let mut external_ids = String::new();
            let mut rest = Vec::new();
            for (k, v) in &o.settings {
                match k.as_str() {
                    "bond_mode" => params.push_str(&format!("        mode: {}\n", yaml_str(v))),
                    "lacp" => ovs_keys.push_str(&format!("        lacp: {}\n", yaml_str(v))),
                    "other_config:lacp-time" => {
                        params.push_str(&format!("        lacp-rate: {}\n", yaml_str(v)))
                    }
                    "other_config:bond-detect-mode" if v == "miimon" => {}
                    "other_config:bond-miimon-interval"
                        if o.get("other_config:bond-detect-mode") == Some("miimon") =>
                    {
                        params.push_str(&format!("        mii-monitor-interval: {v}\n"))
                    }
                    "bond_updelay" => params.push_str(&format!("        up-delay: {v}\n")),
                    "bond_downdelay" => params.push_str(&format!("        down-delay: {v}\n")),
                    "other_config:bond-primary" => {
                        params.push_str(&format!("        primary: {}\n", yaml_str(v)))
                    }
                    _ => match (k.strip_prefix("other_config:"), k.strip_prefix("external_ids:")) {
                        (Some(key), _) => other_config.push_str(&format!(
                            "          {}: {}\n",
                            yaml_str(key),
                            yaml_str(v)
                        )),
                        (_, Some(key)) => external_ids.push_str(&format!(
                            "          {}: {}\n",
                            yaml_str(key),
                            yaml_str(v)
                        )),
                        _ => rest.push(format!("{k}={v}")),
                    },
                }
            }
            if !other_config.is_empty() {
                ovs_keys.push_str("        other-config:\n");
                ovs_keys.push_str(&other_config);
            }
            if !external_ids.is_empty() {
                ovs_keys.push_str("        external-ids:\n");
                ovs_keys.push_str(&external_ids);
            }
            if !rest.is_empty() {
                lost_lines.push(lost.add(
                    b,
                    Fact::Ovs,
                    format!("Open vSwitch settings {}", rest.join(" ")),
                    "netplan has no key for them",
                ));
            }
            out.push_str("      openvswitch:");
            out.push_str(if ovs_keys.is_empty() { " {}\n" } else { "\n" });
            out.push_str(&ovs_keys);
            match bridges.iter_mut().find(|(br, _)| *br == o.bridge) {
                Some((_, bonds)) => bonds.push(&b.name),
                None => bridges.push((&o.bridge, vec![&b.name])),
            }
        } else {
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
                    None => lost_lines.push(lost.add(
                        b,
                        Fact::Option(id),
                        format!("{}={v}", id.name()),
                        format!("{format} has no bond parameter for it"),
                    )),
                }
            }
            for (s, line) in b.slave_options_lines() {
                lost_lines.push(lost.add(
                    b,
                    Fact::SlaveOptions(s),
                    line,
                    format!("{format} has no per-member bond options"),
                ));
            }
        }
        if !b.on_boot {
            lost_lines.push(lost.add(
                b,
                Fact::OnBoot,
                "not started at boot",
                format!("{format} brings up every bond it defines"),
            ));
        }
        if !params.is_empty() {
            out.push_str("      parameters:\n");
            out.push_str(&params);
        }
        if out.len() == start {
            // Nothing to say but the name: an empty map.
            out.truncate(start - 2);
            out.push_str(": {}\n");
        }
        for l in lost_lines {
            out.push_str(&format!("      # {l}\n"));
        }
    }
    if !bridges.is_empty() {
        out.push_str("  bridges:\n");
        for (br, bonds) in bridges {
            let l: Vec<String> = bonds.iter().map(|b| yaml_str(b)).collect();
            out.push_str(&format!(
                "    {}:\n      interfaces: [{}]\n      openvswitch: {{}}\n",
                yaml_str(br),
                l.join(", ")
            ));
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
