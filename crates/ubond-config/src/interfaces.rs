//! Debian `/etc/network/interfaces` (ifupdown with ifenslave, ifupdown2, ifupdown-ng).
//!
//! ```text
//! auto bond0
//! iface bond0 inet static
//!     address 192.0.2.10/24
//!     gateway 192.0.2.1
//!     bond-slaves eth0 eth1
//!     bond-mode 802.3ad
//!     bond-miimon 100
//!     bond-lacp-rate fast
//!     bond-xmit-hash-policy layer3+4
//! ```
//!
//! `bond-X` is the kernel option `X` with `-` for `_` (ifupdown also accepts `bond_x`, as it
//! turns both into the same environment variable). The slaves come from `bond-slaves` or
//! ifupdown-ng's `bond-members` on the bond, and from `bond-master` on the slaves' stanzas
//! (`bond-slaves none`), in that order. ifupdown2's `bond-ad-sys-mac-addr` and
//! `bond-ad-sys-priority` are read as `ad_actor_system` and `ad_actor_sys_prio`. Per-slave
//! options go on the slave's stanza: `bond-queue-id N`, `bond-prio N`, `bond-actor-port-prio
//! N`. Bond options on a slave's stanza (the old ifenslave style) apply to its bond, unless the
//! bond sets them itself. Options are applied with sysfs semantics in dependency order (so their
//! order in the file does not matter). Addresses: `address A/P`, or `address A` with
//! `netmask`, several `address` lines allowed, `gateway`, in `inet` and `inet6` stanzas; the
//! `dhcp` method is kept. Other interfaces are ignored. A bond starts at boot when an `auto`,
//! `allow-auto` or `allow-hotplug` line names it (or, for a bond without a stanza of its own,
//! one of its slaves); [`emit`] writes `auto` only for those.
//!
//! [`parse`] reads the files it is given; [`load`] and [`parse_following`] also follow
//! `source PATH` (shell wildcards in the last component; a relative path is taken from the
//! including file's directory) and `source-directory DIR` (the files whose names have only
//! letters, digits, `_` and `-`, as run-parts), at most [`MAX_INCLUDE_DEPTH`] deep and
//! [`MAX_INCLUDED_FILES`] files, refusing loops; problems are reported at the including line.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ubond_core::options::{OptionId, Scope};

use crate::files::{glob_match, has_wildcard, Files};
use crate::finding::{Finding, Span};
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Parsed, Route, SourceFile};
use crate::net::{max_prefix, netmask_prefix};
use crate::settings::{apply_settings, slave_settings, sysfs_option_pairs, Setting};
use crate::text::{did_you_mean, logical_lines, suggestion_suffix, PosText};

/// The path [`emit`] writes.
pub const DEFAULT_PATH: &str = "/etc/network/interfaces";

const STANZAS: &[&str] = &[
    "iface",
    "auto",
    "allow-auto",
    "allow-hotplug",
    "mapping",
    "source",
    "source-directory",
    "template",
];

/// Option keys of ifupdown and its usual add-ons that are not bonding's.
const KNOWN_KEYS: &[&str] = &[
    "address",
    "netmask",
    "gateway",
    "broadcast",
    "network",
    "metric",
    "hwaddress",
    "mtu",
    "pre-up",
    "up",
    "post-up",
    "down",
    "pre-down",
    "post-down",
    "dns-nameservers",
    "dns-search",
    "scope",
    "pointopoint",
    "media",
    "accept_ra",
    "autoconf",
    "privext",
    "dhcp",
    "vlan-raw-device",
    "bridge-ports",
    "bridge_ports",
    "hostname",
    "leasetime",
    "vendor",
    "client",
    "alias",
    "link-type",
    "mtu-ipv6",
];

/// ifupdown2 aliases, normalized (`-` form, without `bond-`).
const ALIASES: &[(&str, OptionId)] = &[
    ("ad-sys-mac-addr", OptionId::AdActorSystem),
    ("ad-sys-priority", OptionId::AdActorSysPrio),
    ("peer-notify-delay", OptionId::PeerNotifDelay),
];

#[derive(Debug, Default)]
struct Opt {
    /// Normalized key (lowercase, `_` → `-`).
    key: String,
    /// As written.
    raw_key: String,
    key_span: Span,
    value: PosText,
}

#[derive(Debug, Default)]
struct Stanza {
    name: String,
    span: Span,
    /// (family, method, span of the iface line)
    families: Vec<(String, String)>,
    opts: Vec<Opt>,
}

impl Stanza {
    fn get(&self, key: &str) -> Option<&Opt> {
        self.opts.iter().find(|o| o.key == key)
    }
}

fn value_span(o: &Opt, file: &str) -> Span {
    let lead = o.value.text.len() - o.value.text.trim_start().len();
    o.value.span(file, lead)
}

/// The kernel option of a `bond-*` key (normalized, without `bond-`).
fn option_of(rest: &str) -> Option<OptionId> {
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| *a == rest) {
        return Some(*id);
    }
    match OptionId::from_name(&rest.replace('-', "_")) {
        Some(OptionId::Slaves) | None => None,
        some => some,
    }
}

fn known_bond_keys() -> Vec<String> {
    let mut v: Vec<String> = OptionId::ALL
        .iter()
        .filter(|o| **o != OptionId::Slaves)
        .map(|o| format!("bond-{}", o.name().replace('_', "-")))
        .collect();
    v.extend(["bond-slaves", "bond-members", "bond-master"].map(String::from));
    v.extend(ALIASES.iter().map(|(a, _)| format!("bond-{a}")));
    v
}

const PER_SLAVE: &[OptionId] = &[OptionId::QueueId, OptionId::Prio, OptionId::ActorPortPrio];

/// Deepest nesting of `source` / `source-directory` lines followed.
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// Most files read for one interfaces file, itself included.
pub const MAX_INCLUDED_FILES: usize = 256;

/// Reads `path` and, depth first, the files its `source` and `source-directory` lines name
/// (see the module docs), in the order ifupdown reads them. Unreadable files, loops and
/// limits are findings at the including line (at line 1 of `path` when `path` itself
/// cannot be read).
pub fn load(path: &str, fs: &dyn Files) -> (Vec<SourceFile>, Vec<Finding>) {
    let mut l = Loader { fs, files: Vec::new(), findings: Vec::new(), followed: Vec::new() };
    l.visit(path, &mut vec![path.to_owned()], None);
    (l.files, l.findings)
}

/// [`load`] for each of `paths` (a file already read through an earlier one is not read
/// again), then [`parse`] of them all: the bonds of the files and of those they include.
pub fn parse_following(paths: &[&str], fs: &dyn Files) -> Parsed {
    parse_loaded(paths, fs).0
}

/// [`parse_following`], with the files read (those given and those they include, in the
/// order read).
pub fn parse_following_files(paths: &[&str], fs: &dyn Files) -> (Parsed, Vec<SourceFile>) {
    parse_loaded(paths, fs)
}

fn parse_loaded(paths: &[&str], fs: &dyn Files) -> (Parsed, Vec<SourceFile>) {
    let mut l = Loader { fs, files: Vec::new(), findings: Vec::new(), followed: Vec::new() };
    for path in paths {
        if !l.files.iter().any(|f| f.path == *path) {
            l.visit(path, &mut vec![(*path).to_owned()], None);
        }
    }
    let mut p = parse(&l.files);
    p.findings.retain(|f| !(f.message.ends_with("not followed") && l.followed.contains(&f.span())));
    p.findings.extend(l.findings);
    (p, l.files)
}

/// [`parse_following`] plus the shared checks (see [`crate::checks`]), sorted by file (in
/// the order read), line and column.
pub fn lint_following(paths: &[&str], fs: &dyn Files) -> Vec<Finding> {
    let (p, files) = parse_loaded(paths, fs);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, true));
    let index = |x: &Finding| files.iter().position(|o| o.path == x.file).unwrap_or(usize::MAX);
    f.sort_by_key(|x| (index(x), x.line, x.column));
    f
}

struct Loader<'a> {
    fs: &'a dyn Files,
    files: Vec<SourceFile>,
    findings: Vec<Finding>,
    /// The `source*` lines that were followed.
    followed: Vec<Span>,
}

/// `dir/name` (or `name` when it is absolute) with `.` and `..` folded lexically, so one
/// file has one name and loops through `..` are seen.
fn resolve(including: &str, name: &str) -> String {
    let joined = if name.starts_with('/') {
        name.to_owned()
    } else {
        match including.rfind('/') {
            Some(i) => format!("{}/{name}", &including[..i]),
            None => name.to_owned(),
        }
    };
    let absolute = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            c => parts.push(c),
        }
    }
    let path = parts.join("/");
    if absolute {
        format!("/{path}")
    } else if path.is_empty() {
        ".".to_owned()
    } else {
        path
    }
}

/// run-parts' rule for `source-directory`: letters, digits, `_` and `-` only.
fn run_parts_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Loader<'_> {
    fn visit(&mut self, path: &str, chain: &mut Vec<String>, from: Option<&Span>) {
        let text = match self.fs.read(path) {
            Ok(t) => t,
            Err(e) => {
                match from {
                    Some(at) => self.findings.push(
                        Finding::warning(at, format!("cannot read '{path}': {e}"))
                            .with_fix("remove the line or create the file"),
                    ),
                    None => self.findings.push(Finding::error(
                        &Span::new(path, 1, 1),
                        format!("cannot read '{path}': {e}"),
                    )),
                }
                return;
            }
        };
        self.files.push(SourceFile::new(path, text.clone()));
        for line in logical_lines(&text, true) {
            let words = line.words();
            let Some(&(at0, first)) = words.first() else { continue };
            let directory = match first {
                "source" => false,
                "source-directory" | "source-dir" => true,
                _ => continue,
            };
            let span = line.span(path, at0);
            let Some(&(_, arg)) = words.get(1) else {
                self.findings.push(Finding::error(&span, format!("'{first}' needs a path")));
                continue;
            };
            self.followed.push(span.clone());
            let target = resolve(path, arg);
            let (dir, last) = match target.rfind('/') {
                Some(i) => (&target[..i.max(1)], &target[i + 1..]),
                None => (".", target.as_str()),
            };
            if has_wildcard(dir) {
                self.findings.push(Finding::warning(
                    &span,
                    format!("'{arg}': wildcards are followed in the last path component only"),
                ));
                continue;
            }
            let targets: Vec<String> = if directory {
                match self.fs.list(&target) {
                    Ok(names) => names
                        .into_iter()
                        .filter(|n| run_parts_name(n))
                        .map(|n| format!("{}/{n}", target.trim_end_matches('/')))
                        .filter(|p| !self.fs.is_dir(p))
                        .collect(),
                    Err(e) => {
                        self.findings.push(Finding::warning(
                            &span,
                            format!("cannot read directory '{target}': {e}"),
                        ));
                        continue;
                    }
                }
            } else if has_wildcard(last) {
                // No match is no error, as in the shell's nullglob.
                self.fs
                    .list(dir)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|n| glob_match(last, n))
                    .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
                    .filter(|p| !self.fs.is_dir(p))
                    .collect()
            } else {
                vec![target.clone()]
            };
            for t in targets {
                if chain.contains(&t) {
                    self.findings.push(
                        Finding::error(
                            &span,
                            format!(
                                "include loop: '{t}' includes itself ({} -> {t})",
                                chain.join(" -> ")
                            ),
                        )
                        .with_fix("remove this line"),
                    );
                } else if self.files.iter().any(|f| f.path == t) {
                    self.findings.push(Finding::warning(
                        &span,
                        format!("'{t}' is already included; not read twice"),
                    ));
                } else if chain.len() >= MAX_INCLUDE_DEPTH {
                    self.findings.push(Finding::error(
                        &span,
                        format!("'{t}' not read: includes nested deeper than {MAX_INCLUDE_DEPTH}"),
                    ));
                } else if self.files.len() >= MAX_INCLUDED_FILES {
                    self.findings.push(Finding::error(
                        &span,
                        format!(
                            "'{t}' and the rest not read: more than {MAX_INCLUDED_FILES} files"
                        ),
                    ));
                    return;
                } else {
                    chain.push(t.clone());
                    self.visit(&t, chain, Some(&span));
                    chain.pop();
                }
            }
        }
    }
}

/// Parses interfaces files (in order; `source` lines are not followed: see [`load`]).
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let mut stanzas: Vec<Stanza> = Vec::new();
    let mut auto: Vec<String> = Vec::new();
    let mut allowed: Vec<String> = Vec::new();
    for file in files {
        // None: no stanza yet / in a mapping; Some(i): options go to stanzas[i].
        let mut cur: Option<usize> = None;
        let mut in_mapping = false;
        for line in logical_lines(&file.text, true) {
            let words = line.words();
            let Some(&(at0, first)) = words.first() else { continue };
            let span0 = line.span(&file.path, at0);
            match first {
                // ifupdown2's `vlan` stanzas configure a VLAN of a bridge: an interface.
                "iface" | "vlan" => {
                    in_mapping = false;
                    let (Some(&(nat, name)), fam, method) = (
                        words.get(1),
                        words.get(2).map(|w| w.1).unwrap_or("inet"),
                        words.get(3).map(|w| w.1).unwrap_or("manual"),
                    ) else {
                        findings.push(Finding::error(
                            &span0,
                            "'iface' needs a name: iface bond0 inet static",
                        ));
                        cur = None;
                        continue;
                    };
                    let i = match stanzas.iter().position(|s| s.name == name) {
                        Some(i) => i,
                        None => {
                            stanzas.push(Stanza {
                                name: name.to_owned(),
                                span: line.span(&file.path, nat),
                                ..Stanza::default()
                            });
                            stanzas.len() - 1
                        }
                    };
                    stanzas[i].families.push((fam.to_owned(), method.to_owned()));
                    cur = Some(i);
                }
                "mapping" => {
                    in_mapping = true;
                    cur = None;
                }
                "source" | "source-directory" | "source-dir" | "template" => {
                    findings.push(Finding::info(&span0, format!("'{first}' line not followed")));
                    cur = None;
                }
                w if w == "auto" || w.starts_with("allow-") => {
                    // `ifup -a` brings up the `auto` (alias `allow-auto`) interfaces, udev
                    // the `allow-hotplug` ones at boot; other classes only on request.
                    if matches!(w, "auto" | "allow-auto" | "allow-hotplug") {
                        auto.extend(words[1..].iter().map(|(_, n)| (*n).to_owned()));
                    } else {
                        // `allow-ovs`, `allow-br0`: brought up by Open vSwitch's scripts.
                        allowed.extend(words[1..].iter().map(|(_, n)| (*n).to_owned()));
                    }
                    cur = None;
                    in_mapping = false;
                }
                key => {
                    let norm = key.to_ascii_lowercase().replace('_', "-");
                    let is_bond = norm.starts_with("bond-");
                    if !is_bond
                        && !KNOWN_KEYS.contains(&norm.as_str())
                        && !KNOWN_KEYS.contains(&key)
                    {
                        if let Some(s) = did_you_mean(key, STANZAS.iter().copied()) {
                            findings.push(
                                Finding::error(
                                    &span0,
                                    format!(
                                        "unknown keyword '{key}'{}",
                                        suggestion_suffix(Some(s))
                                    ),
                                )
                                .with_fix(s),
                            );
                            continue;
                        }
                    }
                    match cur {
                        Some(i) => {
                            let vat = words.get(1).map(|w| w.0).unwrap_or(line.text.len());
                            stanzas[i].opts.push(Opt {
                                key: norm,
                                raw_key: key.to_owned(),
                                key_span: span0,
                                value: line.slice(vat, line.text.len()),
                            });
                        }
                        None if in_mapping => {}
                        None => findings.push(Finding::error(
                            &span0,
                            format!("'{key}' outside an iface stanza"),
                        )),
                    }
                }
            }
        }
    }
    let config = build(&stanzas, &auto, &allowed, &mut findings);
    Parsed { config, findings, unmarked: Vec::new() }
}

/// Keys that put an address, a route or a name server on an interface.
const IP_KEYS: &[&str] =
    &["address", "netmask", "gateway", "dns-nameservers", "dns-search", "dns-domain"];

fn is_ovs_bond(s: &Stanza) -> bool {
    s.get("ovs-type").is_some_and(|o| o.value.text.trim() == "OVSBond")
}

/// The names a port list stands for: words, `none`, ifupdown2's `glob EXPR` (expanded) and
/// `regex EXPR` (kept as written, with a warning: only the running system says).
fn port_list(o: &Opt, file: &str, findings: &mut Vec<Finding>) -> Vec<(String, Span)> {
    let mut out: Vec<(String, Span)> = Vec::new();
    let mut mode = "";
    for (at, w) in o.value.words() {
        let span = o.value.span(file, at);
        match w {
            "none" => continue,
            "glob" | "regex" => {
                mode = if w == "glob" { "glob" } else { "regex" };
                continue;
            }
            "noglob" | "noregex" => {
                mode = "";
                continue;
            }
            _ => {}
        }
        match std::mem::take(&mut mode) {
            "glob" => match crate::net::ifupdown2_glob(w) {
                Some(names) => out.extend(names.into_iter().map(|n| (n, span.clone()))),
                None => {
                    findings.push(Finding::warning(
                        &span,
                        format!("glob '{w}': not ifupdown2's syntax (swp1-4, swp[1-4].100, swp[1-2]s[0-3]); kept as one name"),
                    ));
                    out.push((w.to_owned(), span));
                }
            },
            "regex" => {
                findings.push(Finding::warning(
                    &span,
                    format!("regex '{w}': ifupdown2 matches it against the interfaces present; kept as written"),
                ));
                out.push((w.to_owned(), span));
            }
            _ => out.push((w.to_owned(), span)),
        }
    }
    out
}

fn build(
    stanzas: &[Stanza],
    auto: &[String],
    allowed: &[String],
    findings: &mut Vec<Finding>,
) -> ConfigSet {
    let file_of = |s: &Span| s.file.clone();
    // Bonds: stanzas with bond keys other than bond-master and per-slave keys, an old
    // `slaves` line or an OVS bond, or named by a bond-master.
    let is_slave_key = |k: &str| {
        k == "bond-master"
            || k == "bond-primary"
            || k.strip_prefix("bond-").and_then(option_of).is_some_and(|id| PER_SLAVE.contains(&id))
    };
    let mut bond_names: Vec<String> = Vec::new();
    for s in stanzas {
        let bondish = s.opts.iter().any(|o| o.key.starts_with("bond-") && !is_slave_key(&o.key))
            || s.get("slaves").is_some()
            || is_ovs_bond(s)
            || s.get("use").is_some_and(|u| u.value.text.split_whitespace().any(|w| w == "bond"))
            || (s.get("bond-primary").is_some()
                && s.get("bond-master").is_none()
                && s.get("bond-slaves").is_some());
        if s.get("bond-master").is_none() && bondish {
            bond_names.push(s.name.clone());
        }
    }
    for s in stanzas {
        if let Some(m) = s.get("bond-master") {
            let master = m.value.text.trim().to_owned();
            if !master.is_empty() && !bond_names.contains(&master) {
                bond_names.push(master);
            }
        }
    }
    let known = known_bond_keys();
    let mut bonds = Vec::new();
    for name in &bond_names {
        let stanza = stanzas.iter().find(|s| s.name == *name);
        let mut b = BondConfig::new(name.clone());
        let mut settings = Vec::new();
        match stanza {
            Some(st) => {
                b.spans.bond = Some(st.span.clone());
                bond_stanza(st, &mut b, &mut settings, &known, findings);
            }
            None => {
                if let Some(m) = stanzas
                    .iter()
                    .filter_map(|s| s.get("bond-master"))
                    .find(|m| m.value.text.trim() == name)
                {
                    let f = file_of(&m.key_span);
                    let sp = value_span(m, &f);
                    findings
                        .push(Finding::warning(&sp, format!("bond '{name}' has no iface stanza")));
                    b.spans.bond = Some(sp);
                }
            }
        }
        // Slaves with bond-master.
        for s in stanzas {
            let Some(m) = s.get("bond-master") else { continue };
            if m.value.text.trim() != name {
                continue;
            }
            if !b.slaves.contains(&s.name) {
                b.slaves.push(s.name.clone());
                b.spans.slaves.insert(s.name.clone(), s.span.clone());
            }
        }
        // Per-slave options, bond options written on slave stanzas, and the slaves' own
        // lines.
        let slaves = b.slaves.clone();
        for s in stanzas.iter().filter(|s| slaves.contains(&s.name)) {
            let f = file_of(&s.span);
            member_facts(s, &mut b, findings);
            for o in &s.opts {
                let Some(rest) = o.key.strip_prefix("bond-") else { continue };
                if matches!(rest, "master" | "slaves" | "members") {
                    continue;
                }
                let Some(id) = option_of(rest) else {
                    unknown_key(o, &known, &f, findings);
                    continue;
                };
                if PER_SLAVE.contains(&id) {
                    settings.push(setting(o, id, Some(s.name.clone()), &f));
                } else if stanza.is_some_and(|st| st.get(&o.key).is_some()) {
                    findings.push(Finding::info(
                        &o.key_span,
                        format!(
                            "'{}' on slave '{}' ignored: bond '{name}' sets it",
                            o.raw_key, s.name
                        ),
                    ));
                } else if !settings.iter().any(|x: &Setting| x.id == id && x.slave.is_none()) {
                    findings.push(Finding::info(&o.key_span, format!("'{}' on slave '{}' applies to bond '{name}'; better written in its stanza", o.raw_key, s.name)));
                    let mut set = setting(o, id, None, &f);
                    if id == OptionId::Primary {
                        primary_idiom(&mut set, findings);
                    }
                    settings.push(set);
                }
            }
        }
        if let Some(st) = stanza.filter(|st| is_ovs_bond(st)) {
            ovs_stanza(st, &mut b, findings);
        } else {
            let (options, f) = apply_settings(&settings);
            findings.extend(f);
            for s in &settings {
                if s.slave.is_none() {
                    b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
                } else if let Some(sl) = &s.slave {
                    b.note(&Fact::SlaveOptions(sl.clone()), s.key_span.clone());
                }
            }
            b.options = options;
        }
        // Without a stanza of its own the bond is made by ifenslave when a slave comes up.
        b.on_boot = auto.contains(name)
            || (stanza.is_none() && b.slaves.iter().any(|s| auto.contains(s)))
            || (b.ovs.is_some() && allowed.contains(name));
        if !b.on_boot {
            if let Some(at) = &b.spans.bond {
                let says = if stanza.is_some() {
                    format!("no \"auto {name}\" line for its stanza")
                } else {
                    format!("no \"auto\" line for {name} or a slave with bond-master {name}")
                };
                b.spans.not_on_boot = Some((at.clone(), says));
            }
        }
        // What is built on the bond: VLANs and bridges.
        for s in stanzas.iter().filter(|s| s.name != *name) {
            let raw = s.get("vlan-raw-device").map(|o| o.value.text.trim() == name);
            if raw == Some(true)
                || s.name.strip_prefix(name.as_str()).is_some_and(|r| r.starts_with('.'))
            {
                b.extra(format!("vlan {} on {name} (iface {})", s.name, s.name), s.span.clone());
            }
            let f = file_of(&s.span);
            let ng_bridge = s
                .get("use")
                .is_some_and(|u| u.value.text.split_whitespace().any(|w| w == "bridge"));
            if ng_bridge && s.get("bridge-ports").is_none() {
                if let Some(o) = s.get("requires") {
                    if o.value.words().iter().any(|(_, w)| *w == name) {
                        b.extra(
                            format!("{name} is a port of bridge {} (requires)", s.name),
                            o.key_span.clone(),
                        );
                    }
                }
            }
            for key in ["bridge-ports", "ovs-ports"] {
                if key == "ovs-ports" && b.ovs.is_some() {
                    continue; // its bridge, already part of the OVS bond
                }
                if let Some(o) = s.get(key) {
                    if port_list(o, &f, &mut Vec::new()).iter().any(|(p, _)| p == name) {
                        b.extra(
                            format!("{name} is a port of bridge {} ({})", s.name, o.raw_key),
                            o.key_span.clone(),
                        );
                    }
                }
            }
        }
        bonds.push(b);
    }
    // A NIC in a bond and in a bridge.
    for s in stanzas {
        let Some(o) = s.get("bridge-ports").or_else(|| s.get("ovs-ports")) else { continue };
        for (p, at) in port_list(o, &file_of(&s.span), &mut Vec::new()) {
            if let Some(b) = bonds.iter().find(|b| b.slaves.contains(&p)) {
                findings.push(Finding::error(
                    &at,
                    format!("'{p}' is a slave of bond '{}' and a port of bridge '{}': an interface has one master; make the bond the bridge's port", b.name, s.name),
                ).with_fix(b.name.clone()));
            }
        }
    }
    ConfigSet { bonds }
}

/// `bond-primary eth0 eth1`, the old ifenslave idiom: the first name is the primary.
fn primary_idiom(s: &mut Setting, findings: &mut Vec<Finding>) {
    let words: Vec<&str> = s.value.split_whitespace().collect();
    if words.len() > 1 {
        findings.push(Finding::info(
            &s.value_span,
            format!(
                "'{} {}': the first name is the primary ({}), as ifenslave reads it",
                s.key, s.value, words[0]
            ),
        ));
        s.value = words[0].to_owned();
    }
}

/// A slave's own lines: an address, a route or a name server on a slave is a mistake (the
/// bond carries the IP configuration); everything else is kept as an extra.
fn member_facts(s: &Stanza, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    for (fam, method) in &s.families {
        if !matches!(method.as_str(), "manual") {
            findings.push(Finding::warning(
                &s.span,
                format!("'{}' is a slave of bond '{}' but its stanza is 'inet{} {method}': a slave carries no IP configuration; use 'manual'", s.name, b.name, if fam == "inet6" { "6" } else { "" }),
            ).with_fix("manual"));
            b.extra(format!("{}: iface {} {fam} {method}", s.name, s.name), s.span.clone());
        }
    }
    for o in &s.opts {
        if o.key.starts_with("bond-") || o.key == "slaves" {
            continue;
        }
        let text = format!("{}: {} {}", s.name, o.raw_key, o.value.text.trim());
        let route = matches!(o.key.as_str(), "up" | "post-up" | "pre-up")
            && o.value.text.contains(" route ");
        if IP_KEYS.contains(&o.key.as_str()) || route {
            findings.push(Finding::warning(
                &o.key_span,
                format!("'{}' on '{}', a slave of bond '{}': addresses, routes and name servers go on the bond", o.raw_key, s.name, b.name),
            ));
        }
        b.extra(text, o.key_span.clone());
    }
}

/// An `ovs_type OVSBond` stanza (Debian's openvswitch-switch): `ovs_bridge`, `ovs_bonds`,
/// `ovs_options`.
fn ovs_stanza(st: &Stanza, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    let f = st.span.file.clone();
    let bridge = st.get("ovs-bridge").map(|o| o.value.text.trim().to_owned());
    if bridge.is_none() {
        findings
            .push(Finding::error(&st.span, format!("OVS bond '{}' without ovs_bridge", st.name)));
    }
    if let Some(o) = st.get("ovs-bonds") {
        for (n, at) in port_list(o, &f, findings) {
            if !b.slaves.contains(&n) {
                b.spans.slaves.insert(n.clone(), at);
                b.slaves.push(n);
            }
        }
    }
    let mut items = Vec::new();
    if let Some(o) = st.get("ovs-options") {
        for (at, w) in o.value.words() {
            let Some((k, v)) = w.split_once('=') else {
                findings.push(Finding::warning(
                    &o.value.span(&f, at),
                    format!("ovs_options: '{w}' is not KEY=VALUE"),
                ));
                continue;
            };
            items.push(crate::ovs::Item {
                key: k.to_owned(),
                value: v.trim_matches('"').to_owned(),
                key_span: o.value.span(&f, at),
                value_span: o.value.span(&f, at + k.len() + 1),
            });
        }
    }
    crate::ovs::read_bond(b, bridge.as_deref().unwrap_or("br0"), &items, &st.span, findings);
    if b.slaves.len() < 2 {
        findings.push(Finding::error(
            &st.span,
            format!("OVS bond '{}' needs two interfaces or more in ovs_bonds", st.name),
        ));
    }
}

fn setting(o: &Opt, id: OptionId, slave: Option<String>, file: &str) -> Setting {
    let v = o.value.text.trim();
    let value = match v {
        "yes" | "on" => "1".to_owned(),
        "no" | "off" if id != OptionId::LacpActive => "0".to_owned(),
        _ => v.to_owned(),
    };
    Setting {
        id,
        key: o.raw_key.clone(),
        value,
        raw: v.to_owned(),
        slave,
        key_span: o.key_span.clone(),
        value_span: value_span(o, file),
    }
}

fn unknown_key(o: &Opt, known: &[String], file: &str, findings: &mut Vec<Finding>) {
    let _ = file;
    if o.key == "bond-lacp-bypass-allow" {
        findings.push(Finding::warning(&o.key_span, format!("'{}' (Cumulus LACP bypass) is not supported; ubond's 'bond-lacp-fallback on' is similar", o.raw_key)).with_fix("bond-lacp-fallback"));
        return;
    }
    let s = did_you_mean(&o.key, known.iter().map(String::as_str));
    let mut f = Finding::error(
        &o.key_span,
        format!("unknown option '{}'{}", o.raw_key, suggestion_suffix(s)),
    );
    if let Some(s) = s {
        f = f.with_fix(s);
    }
    findings.push(f);
}

fn bond_stanza(
    st: &Stanza,
    b: &mut BondConfig,
    settings: &mut Vec<Setting>,
    known: &[String],
    findings: &mut Vec<Finding>,
) {
    let f = st.span.file.clone();
    let mut pending: Vec<(IpAddr, Option<u8>, Span)> = Vec::new();
    let mut netmask: BTreeMap<bool, u8> = BTreeMap::new();
    let mut gateways: Vec<(IpAddr, Span)> = Vec::new();
    let mut metric: Option<u32> = None;
    for (fam, method) in &st.families {
        match (fam.as_str(), method.as_str()) {
            ("inet", "dhcp") => {
                b.dhcp4 = true;
                b.note(&Fact::Dhcp4, st.span.clone());
            }
            ("inet6", "dhcp") => {
                b.dhcp6 = true;
                b.note(&Fact::Dhcp6, st.span.clone());
            }
            (_, "static" | "manual") | ("inet", "loopback") => {}
            _ => b.extra(format!("iface {} {fam} {method}", st.name), st.span.clone()),
        }
    }
    let mut down_routes: Vec<(String, Span)> = Vec::new();
    for o in &st.opts {
        let v = o.value.text.trim();
        let vspan = value_span(o, &f);
        match o.key.as_str() {
            "bond-slaves" | "bond-members" | "slaves" => {
                for (w, at) in port_list(o, &f, findings) {
                    if !b.slaves.contains(&w) {
                        b.slaves.push(w.clone());
                        b.spans.slaves.insert(w, at);
                    }
                }
            }
            "bond-master" | "network" | "broadcast" | "use" => {}
            // ifupdown-ng: with `use bond` and no bond-members, the interfaces it requires.
            "requires"
                if st
                    .get("use")
                    .is_some_and(|u| u.value.text.split_whitespace().any(|w| w == "bond"))
                    && st.get("bond-members").is_none()
                    && st.get("bond-slaves").is_none() =>
            {
                for (w, at) in port_list(o, &f, findings) {
                    if !b.slaves.contains(&w) {
                        b.slaves.push(w.clone());
                        b.spans.slaves.insert(w, at);
                    }
                }
            }
            "requires" => {}
            k if k.starts_with("ovs-") => {}
            "address" => {
                for w in v.split_whitespace() {
                    let (a, p) = match w.split_once('/') {
                        Some((a, p)) => (a, Some(p)),
                        None => (w, None),
                    };
                    let ip: Option<IpAddr> = a.parse().ok();
                    let prefix = p.map(|p| p.parse::<u8>().ok());
                    match (ip, prefix) {
                        (Some(ip), Some(Some(p))) if p <= max_prefix(ip) => {
                            pending.push((ip, Some(p), vspan.clone()))
                        }
                        (Some(ip), None) => pending.push((ip, None, vspan.clone())),
                        _ => {
                            findings.push(Finding::error(&vspan, format!("invalid address '{w}'")))
                        }
                    }
                }
            }
            "netmask" => match netmask_prefix(v) {
                Some((p, v4)) => {
                    netmask.insert(v4, p);
                }
                None => findings.push(Finding::error(&vspan, format!("invalid netmask '{v}'"))),
            },
            "gateway" => match v.parse::<IpAddr>() {
                Ok(ip) => gateways.push((ip, vspan.clone())),
                Err(_) => findings.push(Finding::error(&vspan, format!("invalid gateway '{v}'"))),
            },
            "metric" => match v.parse::<u32>() {
                Ok(m) => metric = Some(m),
                Err(_) => findings.push(Finding::error(&vspan, format!("invalid metric '{v}'"))),
            },
            "mtu" => match v.parse::<u32>() {
                Ok(m) if (68..=65535).contains(&m) => {
                    b.mtu = Some(m);
                    b.note(&Fact::Mtu, o.key_span.clone());
                }
                _ => findings.push(Finding::error(&vspan, format!("invalid mtu '{v}': 68-65535"))),
            },
            "hwaddress" => {
                let mac = v.split_whitespace().last().unwrap_or("");
                match mac.parse::<ubond_wire::MacAddr>() {
                    Ok(m) => {
                        b.mac = Some(m);
                        b.note(&Fact::Mac, o.key_span.clone());
                    }
                    Err(_) => {
                        findings.push(Finding::error(&vspan, format!("invalid hwaddress '{v}'")))
                    }
                }
            }
            "dns-nameservers" => {
                for w in v.split_whitespace() {
                    match w.parse::<IpAddr>() {
                        Ok(ip) => b.dns.servers.push(ip),
                        Err(_) => findings
                            .push(Finding::error(&vspan, format!("invalid name server '{w}'"))),
                    }
                }
                b.note(&Fact::Dns, o.key_span.clone());
            }
            "dns-search" | "dns-domain" => {
                // A `~` domain is never a search domain: taken as routing-only, as
                // networkd and NetworkManager do.
                for w in v.split_whitespace() {
                    if b.dns.add_domain(w) {
                        b.note(&Fact::RoutingDomains, o.key_span.clone());
                    }
                }
                b.note(&Fact::Dns, o.key_span.clone());
            }
            "up" | "post-up" => match crate::net::ip_route(v, &st.name) {
                Some(r) => {
                    b.note(&Fact::Route(r.clone()), o.key_span.clone());
                    b.routes.push(r);
                }
                None => b.extra(format!("{} {v}", o.raw_key), o.key_span.clone()),
            },
            "down" | "pre-down" | "post-down" => {
                down_routes.push((format!("{} {v}", o.raw_key), o.key_span.clone()))
            }
            k if k.starts_with("bond-") => {
                let rest = &k["bond-".len()..];
                match option_of(rest) {
                    Some(id) if PER_SLAVE.contains(&id) && id != OptionId::QueueId => {
                        findings.push(Finding::error(
                            &o.key_span,
                            format!(
                                "'{}' is a per-slave option: write it in the slave's stanza",
                                o.raw_key
                            ),
                        ));
                    }
                    Some(id) if id.scope() == Scope::Module => {
                        findings.push(Finding::warning(&o.key_span, format!("'{}' is a module parameter only: ifenslave cannot set it; put {}=N in /etc/modprobe.d", o.raw_key, id.name())));
                    }
                    Some(OptionId::UseCarrier) if matches!(v, "no" | "0" | "off") => {
                        findings.push(Finding::warning(
                            &o.key_span,
                            format!("'{} {v}': polling the MII registers instead of carrier is gone from Linux 6.16 and ubond; carrier is used", o.raw_key),
                        ));
                        b.extra(format!("{} {v}", o.raw_key), o.key_span.clone());
                    }
                    Some(id) => {
                        let mut s = setting(o, id, None, &f);
                        if id == OptionId::Primary {
                            primary_idiom(&mut s, findings);
                        }
                        settings.push(s);
                    }
                    None => {
                        if matches!(rest, "lacp-bypass-allow") {
                            b.extra(format!("{} {v}", o.raw_key), o.key_span.clone());
                        }
                        unknown_key(o, known, &f, findings)
                    }
                }
            }
            _ => b.extra(format!("{} {v}", o.raw_key), o.key_span.clone()),
        }
    }
    // `down ip route del ...` undoing an `up ip route add ...` is part of that route.
    for (text, at) in down_routes {
        let undoes = text.split_whitespace().collect::<Vec<_>>();
        let del = undoes
            .iter()
            .position(|w| matches!(*w, "del" | "delete"))
            .and_then(|i| undoes[i + 1..].iter().find(|w| !w.starts_with('-') && **w != "inet6"));
        let v6 = undoes.iter().any(|w| matches!(*w, "-6" | "inet6"));
        let mirrors = del
            .and_then(|d| crate::net::destination(d, v6 || d.contains(':')))
            .is_some_and(|d| b.routes.iter().any(|r| r.to == d));
        if !mirrors {
            b.extra(text, at);
        }
    }
    for (ip, p, span) in pending {
        let prefix = p.or_else(|| netmask.get(&ip.is_ipv4()).copied()).unwrap_or_else(|| {
            findings.push(Finding::warning(
                &span,
                format!(
                    "address {ip} has no prefix length or netmask: /{} assumed",
                    max_prefix(ip)
                ),
            ));
            max_prefix(ip)
        });
        b.note(&Fact::Address(ip, prefix), span);
        b.addresses.push((ip, prefix));
    }
    for (g, span) in gateways {
        let mut r = Route::default_via(g);
        // `metric` is an option of the inet methods: the IPv4 gateway's.
        r.metric = metric.filter(|_| g.is_ipv4());
        b.note(&Fact::Route(r.clone()), span);
        b.routes.insert(b.routes.iter().filter(|r| r.is_default()).count(), r);
    }
}

/// Writes one interfaces file: per bond an `inet` stanza (and an `inet6` one for IPv6
/// addresses) with `bond-slaves` and the options that differ from the defaults, then a
/// `manual` stanza per slave holding its per-slave options. An OVS bond is written as an
/// `ovs_type OVSBond` stanza.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = String::from("# bonds (written by ubond)\n");
    for b in &set.bonds {
        let mut comments = lost.common(b, true, "interfaces");
        comments.extend(lost.routing_domains(b, "interfaces (dns-search)"));
        let v4: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv4()).collect();
        let v6: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv6()).collect();
        let method = if b.dhcp4 && v4.is_empty() {
            "dhcp"
        } else if v4.is_empty() {
            "manual"
        } else {
            "static"
        };
        if b.dhcp4 && !v4.is_empty() {
            comments.push(lost.add(
                b,
                Fact::Dhcp4,
                "DHCPv4 beside static addresses",
                "an inet stanza is dhcp or static",
            ));
        }
        out.push('\n');
        if b.on_boot {
            out.push_str(&format!("auto {}\n", b.name));
        }
        out.push_str(&format!("iface {} inet {method}\n", b.name));
        for (a, p) in &v4 {
            out.push_str(&format!("    address {a}/{p}\n"));
        }
        // The first plain default route of each family is a `gateway` line; its metric a
        // `metric` line when it is the only metric; every other route an `ip route` command.
        let gw4 = b
            .routes
            .iter()
            .position(|r| r.is_default() && r.is_ipv4() && r.via.is_some() && r.table.is_none());
        let gw6 = b.routes.iter().position(|r| {
            r.is_default()
                && !r.is_ipv4()
                && r.via.is_some()
                && r.table.is_none()
                && r.metric.is_none()
        });
        if let Some(r) = gw4.map(|i| &b.routes[i]) {
            if let Some(v) = r.via {
                out.push_str(&format!("    gateway {v}\n"));
            }
            if let Some(m) = r.metric {
                out.push_str(&format!("    metric {m}\n"));
            }
        }
        if let Some(m) = b.mtu {
            out.push_str(&format!("    mtu {m}\n"));
        }
        if let Some(m) = b.mac {
            out.push_str(&format!("    hwaddress {m}\n"));
        }
        if !b.dns.servers.is_empty() {
            let s: Vec<String> = b.dns.servers.iter().map(|s| s.to_string()).collect();
            out.push_str(&format!("    dns-nameservers {}\n", s.join(" ")));
        }
        if !b.dns.search.is_empty() {
            out.push_str(&format!("    dns-search {}\n", b.dns.search.join(" ")));
        }
        for (i, r) in b.routes.iter().enumerate() {
            if Some(i) == gw4 || Some(i) == gw6 {
                continue;
            }
            let fam = if r.is_ipv4() { "" } else { "-6 " };
            let mut cmd = format!("ip {fam}route add {}", route_dest(r));
            if let Some(v) = r.via {
                cmd.push_str(&format!(" via {v}"));
            }
            cmd.push_str(&format!(" dev {}", b.name));
            if let Some(m) = r.metric {
                cmd.push_str(&format!(" metric {m}"));
            }
            if let Some(t) = r.table {
                cmd.push_str(&format!(" table {t}"));
            }
            out.push_str(&format!("    up {cmd}\n"));
            let mut del = format!("ip {fam}route del {} dev {}", route_dest(r), b.name);
            if let Some(t) = r.table {
                del.push_str(&format!(" table {t}"));
            }
            out.push_str(&format!("    down {del}\n"));
        }
        if let Some(o) = &b.ovs {
            out.push_str(&format!("    ovs_type OVSBond\n    ovs_bridge {}\n", o.bridge));
            out.push_str(&format!("    ovs_bonds {}\n", b.slaves.join(" ")));
            if !o.settings.is_empty() {
                let s: Vec<String> = o.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("    ovs_options {}\n", s.join(" ")));
            }
        } else {
            if b.slaves.is_empty() {
                out.push_str("    bond-slaves none\n");
            } else {
                out.push_str(&format!("    bond-slaves {}\n", b.slaves.join(" ")));
            }
            for (id, v) in sysfs_option_pairs(&b.options) {
                if id == OptionId::QueueId {
                    continue;
                }
                let v = if matches!(id, OptionId::ArpIpTarget | OptionId::NsIp6Target) {
                    v.replace(',', " ")
                } else {
                    v
                };
                out.push_str(&format!("    bond-{} {v}\n", id.name().replace('_', "-")));
            }
        }
        let v6_method = if b.dhcp6 && v6.is_empty() {
            Some("dhcp")
        } else if !v6.is_empty() || gw6.is_some() {
            Some("static")
        } else {
            None
        };
        if b.dhcp6 && !v6.is_empty() {
            comments.push(lost.add(
                b,
                Fact::Dhcp6,
                "DHCPv6 beside static addresses",
                "an inet6 stanza is dhcp or static",
            ));
        }
        if let Some(m6) = v6_method {
            out.push_str(&format!("\niface {} inet6 {m6}\n", b.name));
            for (a, p) in &v6 {
                out.push_str(&format!("    address {a}/{p}\n"));
            }
            if let Some(v) = gw6.and_then(|i| b.routes[i].via) {
                out.push_str(&format!("    gateway {v}\n"));
            }
        }
        for (s, m) in &b.matches {
            comments.push(lost.add(
                b,
                Fact::Match(s.clone()),
                format!("slave {s} found by {m}"),
                "ifupdown names interfaces only (a systemd .link file or udev rule can name the NIC)",
            ));
        }
        let per_slave = slave_settings(&b.options);
        let mut slave_text = String::new();
        for s in &b.slaves {
            slave_text.push_str(&format!("\niface {s} inet manual\n"));
            if b.ovs.is_some() {
                continue;
            }
            let so = b.options.slave(s);
            if so.queue_id != 0 {
                slave_text.push_str(&format!("    bond-queue-id {}\n", so.queue_id));
            }
            for (id, v) in per_slave.get(s).into_iter().flatten() {
                slave_text.push_str(&format!("    bond-{} {v}\n", id.name().replace('_', "-")));
            }
        }
        for (s, line) in b.slave_options_lines() {
            if !b.slaves.contains(&s) {
                comments.push(lost.add(
                    b,
                    Fact::SlaveOptions(s),
                    line,
                    "per-slave options go on a slave's stanza",
                ));
            }
        }
        for c in comments {
            out.push_str(&format!("# {c}\n"));
        }
        out.push_str(&slave_text);
    }
    vec![SourceFile::new(DEFAULT_PATH, out)]
}

fn route_dest(r: &Route) -> String {
    if r.is_default() {
        "default".to_owned()
    } else {
        format!("{}/{}", r.to.0, r.to.1)
    }
}

/// Parse findings plus the checks common to every format (see [`crate::checks`]).
pub fn lint(files: &[SourceFile]) -> Vec<Finding> {
    let p = parse(files);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, true));
    f
}
