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
use crate::model::{BondConfig, ConfigSet, Parsed, SourceFile};
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
    for file in files {
        // None: no stanza yet / in a mapping; Some(i): options go to stanzas[i].
        let mut cur: Option<usize> = None;
        let mut in_mapping = false;
        for line in logical_lines(&file.text, true) {
            let words = line.words();
            let Some(&(at0, first)) = words.first() else { continue };
            let span0 = line.span(&file.path, at0);
            match first {
                "iface" => {
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
    let config = build(&stanzas, &auto, &mut findings);
    Parsed { config, findings }
}

fn build(stanzas: &[Stanza], auto: &[String], findings: &mut Vec<Finding>) -> ConfigSet {
    let file_of = |s: &Span| s.file.clone();
    // Bonds: stanzas with bond keys other than bond-master and per-slave keys, or named by a
    // bond-master.
    let is_slave_key = |k: &str| {
        k == "bond-master"
            || k.strip_prefix("bond-").and_then(option_of).is_some_and(|id| PER_SLAVE.contains(&id))
    };
    let mut bond_names: Vec<String> = Vec::new();
    for s in stanzas {
        if s.get("bond-master").is_none()
            && s.opts.iter().any(|o| o.key.starts_with("bond-") && !is_slave_key(&o.key))
        {
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
        // Per-slave options, and bond options written on slave stanzas.
        for s in stanzas.iter().filter(|s| b.slaves.contains(&s.name)) {
            let f = file_of(&s.span);
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
                    settings.push(setting(o, id, None, &f));
                }
            }
        }
        let (options, f) = apply_settings(&settings);
        findings.extend(f);
        for s in &settings {
            if s.slave.is_none() {
                b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
            }
        }
        b.options = options;
        // Without a stanza of its own the bond is made by ifenslave when a slave comes up.
        b.on_boot =
            auto.contains(name) || (stanza.is_none() && b.slaves.iter().any(|s| auto.contains(s)));
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
        bonds.push(b);
    }
    ConfigSet { bonds }
}

fn setting(o: &Opt, id: OptionId, slave: Option<String>, file: &str) -> Setting {
    let v = o.value.text.trim();
    let value = match v {
        "yes" => "1".to_owned(),
        "no" => "0".to_owned(),
        _ => v.to_owned(),
    };
    Setting {
        id,
        key: o.raw_key.clone(),
        value,
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
    for (_, method) in &st.families {
        if method == "dhcp" {
            b.dhcp = true;
        }
    }
    for o in &st.opts {
        let v = o.value.text.trim();
        let vspan = value_span(o, &f);
        match o.key.as_str() {
            "bond-slaves" | "bond-members" => {
                for (at, w) in o.value.words() {
                    if w == "none" {
                        continue;
                    }
                    if !b.slaves.iter().any(|s| s == w) {
                        b.slaves.push(w.to_owned());
                        b.spans.slaves.insert(w.to_owned(), o.value.span(&f, at));
                    }
                }
            }
            "bond-master" => {}
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
                Ok(ip) => b.gateway = Some(ip),
                Err(_) => findings.push(Finding::error(&vspan, format!("invalid gateway '{v}'"))),
            },
            k => {
                let Some(rest) = k.strip_prefix("bond-") else { continue };
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
                    Some(id) => settings.push(setting(o, id, None, &f)),
                    None => unknown_key(o, known, &f, findings),
                }
            }
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
        b.addresses.push((ip, prefix));
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `255.255.255.0` or `24`: the prefix length, and whether it is an IPv4 netmask.
fn netmask_prefix(v: &str) -> Option<(u8, bool)> {
    if let Ok(n) = v.parse::<u8>() {
        return (n <= 128).then_some((n, n <= 32));
    }
    let m: std::net::Ipv4Addr = v.parse().ok()?;
    let bits = u32::from(m);
    let p = bits.leading_ones();
    (bits.checked_shl(p).unwrap_or(0) == 0).then_some((u8::try_from(p).ok()?, true))
}

/// Writes one interfaces file: per bond an `inet` stanza (and an `inet6` one for IPv6
/// addresses) with `bond-slaves` and the options that differ from the defaults, then a
/// `manual` stanza per slave holding its per-slave options.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    let mut out = String::from("# bonds (written by ubond)\n");
    for b in &set.bonds {
        let v4: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv4()).collect();
        let v6: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv6()).collect();
        let method = if b.dhcp && v4.is_empty() {
            "dhcp"
        } else if v4.is_empty() {
            "manual"
        } else {
            "static"
        };
        out.push('\n');
        if b.on_boot {
            out.push_str(&format!("auto {}\n", b.name));
        }
        out.push_str(&format!("iface {} inet {method}\n", b.name));
        for (a, p) in &v4 {
            out.push_str(&format!("    address {a}/{p}\n"));
        }
        if let Some(g) = b.gateway.filter(|g| g.is_ipv4()) {
            out.push_str(&format!("    gateway {g}\n"));
        }
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
        if !v6.is_empty() || b.gateway.is_some_and(|g| g.is_ipv6()) {
            out.push_str(&format!("\niface {} inet6 static\n", b.name));
            for (a, p) in &v6 {
                out.push_str(&format!("    address {a}/{p}\n"));
            }
            if let Some(g) = b.gateway.filter(|g| g.is_ipv6()) {
                out.push_str(&format!("    gateway {g}\n"));
            }
        }
        let per_slave = slave_settings(&b.options);
        for s in &b.slaves {
            out.push_str(&format!("\niface {s} inet manual\n"));
            let so = b.options.slave(s);
            if so.queue_id != 0 {
                out.push_str(&format!("    bond-queue-id {}\n", so.queue_id));
            }
            for (id, v) in per_slave.get(s).into_iter().flatten() {
                out.push_str(&format!("    bond-{} {v}\n", id.name().replace('_', "-")));
            }
        }
        // Per-slave options of interfaces that are not slaves cannot be written here.
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
