//! RHEL / Fedora / SUSE-style `ifcfg-*` files (initscripts, NetworkManager's ifcfg-rh plugin).
//!
//! ```text
//! # /etc/sysconfig/network-scripts/ifcfg-bond0
//! DEVICE=bond0
//! TYPE=Bond
//! BONDING_MASTER=yes
//! BOOTPROTO=none
//! IPADDR=192.0.2.10
//! PREFIX=24
//! GATEWAY=192.0.2.1
//! BONDING_OPTS="mode=active-backup miimon=100 primary=eth0"
//!
//! # /etc/sysconfig/network-scripts/ifcfg-eth0
//! DEVICE=eth0
//! TYPE=Ethernet
//! MASTER=bond0
//! SLAVE=yes
//! ```
//!
//! A configuration is a set of files: one per interface. A file is a bond when it has
//! `TYPE=Bond`, `BONDING_MASTER=yes` or `BONDING_OPTS` (and no `MASTER`); a slave when it has
//! `MASTER=`. The device is `DEVICE=`, else the file name after `ifcfg-`. Slaves are in the
//! order their files are given. `BONDING_OPTS` holds sysfs option names (`arp_ip_target` as a
//! comma list, `+` allowed; `queue_id=eth0:2`), applied with sysfs semantics in dependency
//! order, as initscripts write them. Addresses: `IPADDR`/`IPADDRn` with `PREFIX`/`PREFIXn` or
//! `NETMASK`/`NETMASKn`, `GATEWAY`, `IPV6ADDR`, `IPV6ADDR_SECONDARIES`, `IPV6_DEFAULTGW`;
//! `BOOTPROTO=dhcp`. `ONBOOT=no` on the bond's file: not started at boot (absent or `yes`:
//! started; [`emit`] writes the bond's value on its slaves' files too). Per-slave `prio` and `actor_port_prio` have no ifcfg key (they are
//! written as a comment).
//!
//! Routes: `route-IFACE` / `route6-IFACE` (`ADDRESSn=` variables or `ip route` arguments), and
//! SUSE's `ifroute-IFACE` and `/etc/sysconfig/network/routes` (routes(5): `DESTINATION
//! GATEWAY NETMASK INTERFACE [OPTIONS]`). SUSE's `BONDING_MODULE_OPTS`, `BONDING_SLAVE_n`,
//! `STARTMODE`, `LLADDR` and `PREFIXLEN` are read too. A file without `TYPE` that nothing marks
//! as a bond (the kernel documentation's `ifcfg-bond0` with the options in modprobe.d and no
//! slave files) is kept aside in [`crate::Parsed::unmarked`]: it is the bond modprobe.d makes
//! of that name, when modprobe.d does ([`crate::system::merge`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ubond_core::options::{BondOptions, OptionError, OptionId, Scope};

use crate::finding::{Finding, Span};
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Match, Parsed, Route, SourceFile};
use crate::settings::{apply_settings, slave_settings, sysfs_option_pairs, Setting};
use crate::text::{did_you_mean, logical_lines, suggestion_suffix, PosText};

/// Where [`emit`] puts the files.
pub const DIR: &str = "/etc/sysconfig/network-scripts";

const KNOWN: &[&str] = &[
    "DEVICE",
    "NAME",
    "TYPE",
    "ONBOOT",
    "BOOTPROTO",
    "IPADDR",
    "PREFIX",
    "NETMASK",
    "GATEWAY",
    "BONDING_OPTS",
    "BONDING_MASTER",
    "MASTER",
    "SLAVE",
    "HWADDR",
    "MACADDR",
    "UUID",
    "NM_CONTROLLED",
    "USERCTL",
    "IPV6INIT",
    "IPV6ADDR",
    "IPV6ADDR_SECONDARIES",
    "IPV6_DEFAULTGW",
    "IPV6_AUTOCONF",
    "IPV6_DEFROUTE",
    "IPV6_FAILURE_FATAL",
    "DEFROUTE",
    "MTU",
    "ZONE",
    "PEERDNS",
    "PEERROUTES",
    "DNS1",
    "DNS2",
    "DNS3",
    "DOMAIN",
    "SEARCH",
    "IPV4_FAILURE_FATAL",
    "PROXY_METHOD",
    "BROWSER_ONLY",
    "ETHTOOL_OPTS",
    "HOTPLUG",
    "IPV6_ADDR_GEN_MODE",
    "IPV6_PEERDNS",
    "IPV6_PEERROUTES",
    "AUTOCONNECT_PRIORITY",
    "AUTOCONNECT_SLAVES",
    "METRIC",
    "NOZEROCONF",
    "LINKDELAY",
    "DHCP_HOSTNAME",
    "BRIDGE",
    "VLAN",
    "PHYSDEV",
    "TEAM_MASTER",
    "TEAM_CONFIG",
    "DEVICETYPE",
];

struct Var {
    key: String,
    key_span: Span,
    value: PosText,
}

struct IfcfgFile {
    device: String,
    span: Span,
    vars: Vec<Var>,
}

impl IfcfgFile {
    fn get(&self, key: &str) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.key == key)
    }
    fn val(&self, key: &str) -> Option<&str> {
        self.get(key).map(|v| v.value.text.as_str())
    }
    fn yes(&self, key: &str) -> bool {
        self.val(key).is_some_and(|v| {
            v.eq_ignore_ascii_case("yes") || v == "1" || v.eq_ignore_ascii_case("true")
        })
    }
}

fn device_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.strip_prefix("ifcfg-").unwrap_or(base).to_owned()
}

/// Reads one file's `KEY=VALUE` lines (shell quoting: `"..."` with `\` escapes, `'...'`).
fn read_file(file: &SourceFile, findings: &mut Vec<Finding>) -> IfcfgFile {
    let mut vars = Vec::new();
    for (i, raw) in file.text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let mut line = PosText::default();
        line.push_str(raw, line_no, 1);
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let lead = raw.len() - t.len();
        let t = t.strip_prefix("export ").unwrap_or(t);
        let lead = lead + (raw.len() - lead - t.len());
        let Some(eq) = t.find('=') else {
            findings.push(Finding::error(
                &line.span(&file.path, lead),
                format!("expected KEY=VALUE, found '{}'", t.trim_end()),
            ));
            continue;
        };
        let key = &t[..eq];
        let key_span = line.span(&file.path, lead);
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            findings.push(Finding::error(&key_span, format!("invalid variable name '{key}'")));
            continue;
        }
        let vstart = lead + eq + 1;
        let (value, rest_at) = shell_value(&line, vstart);
        if let Some(at) = rest_at {
            let rest = line.text[at..].trim_start();
            if !rest.starts_with('#') {
                findings.push(Finding::warning(
                    &line.span(&file.path, at),
                    format!("text after the value of {key} ignored (quote values with spaces)"),
                ));
            }
        }
        if let Some(quote_err) = value.1 {
            findings.push(Finding::error(&line.span(&file.path, vstart), quote_err));
        }
        vars.push(Var { key: key.to_owned(), key_span, value: value.0 });
    }
    IfcfgFile { device: device_from_path(&file.path), span: Span::new(&file.path, 1, 1), vars }
}

/// The value starting at byte `at`: its text with positions, an error for an unterminated
/// quote, and where unparsed text after it starts.
fn shell_value(line: &PosText, at: usize) -> ((PosText, Option<String>), Option<usize>) {
    let mut out = PosText::default();
    let s = &line.text;
    let mut i = at;
    let mut quote: Option<char> = None;
    while i < s.len() {
        let Some(c) = s[i..].chars().next() else { break };
        let (l, col) = line.at(i);
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(n) = s[i + 1..].chars().next() {
                    let (l2, c2) = line.at(i + 1);
                    out.push_str(&n.to_string(), l2, c2);
                    i += 1 + n.len_utf8();
                    continue;
                }
            }
            (None, c) if c.is_whitespace() => {
                return ((out, None), Some(i));
            }
            _ => out.push_str(&c.to_string(), l, col),
        }
        i += c.len_utf8();
    }
    let err = quote.map(|q| format!("unterminated {q} quote"));
    ((out, err), None)
}

/// Variables NetworkManager and the installers write with their default values: they say
/// nothing a conversion could lose.
const DEFAULTS: &[(&str, &[&str])] = &[
    ("NM_CONTROLLED", &["yes", "no"]),
    ("USERCTL", &["no", "yes"]),
    ("DEFROUTE", &["yes"]),
    ("IPV6_DEFROUTE", &["yes"]),
    ("IPV4_FAILURE_FATAL", &["no", "yes"]),
    ("IPV6_FAILURE_FATAL", &["no", "yes"]),
    ("PROXY_METHOD", &["none"]),
    ("BROWSER_ONLY", &["no"]),
    ("PEERDNS", &["yes"]),
    ("PEERROUTES", &["yes"]),
    ("IPV6_PEERDNS", &["yes"]),
    ("IPV6_PEERROUTES", &["yes"]),
    ("IPV6INIT", &["no"]),
    ("IPV6_AUTOCONF", &["no"]),
    ("IPV6_ADDR_GEN_MODE", &["stable-privacy", "eui64", "default"]),
    ("AUTOCONNECT_SLAVES", &["yes", "no"]),
    ("AUTOCONNECT_PORTS", &["yes", "no", "-1"]),
    ("NOZEROCONF", &["yes"]),
    ("HOTPLUG", &["yes"]),
    ("IPV6_FORCE_ACCEPT_RA", &["no"]),
    ("USERS", &[]),
];

/// Variables that name, type or link the file (not facts of the interface).
const STRUCTURE: &[&str] = &[
    "DEVICE",
    "NAME",
    "TYPE",
    "UUID",
    "BONDING_MASTER",
    "BONDING_OPTS",
    "BONDING_MODULE_OPTS",
    "MASTER",
    "SLAVE",
    "ONBOOT",
    "STARTMODE",
    "BOOTPROTO",
    "DEVICETYPE",
    "OVS_BRIDGE",
    "BOND_IFACES",
    "OVS_OPTIONS",
    "_nm_name",
    "MASTER_UUID",
    "CONNECTED_MODE",
];

/// Variables read into a bond's IP configuration.
const IP_VARS: &[&str] = &[
    "IPADDR",
    "PREFIX",
    "PREFIXLEN",
    "NETMASK",
    "GATEWAY",
    "IPV6ADDR",
    "IPV6ADDR_SECONDARIES",
    "IPV6_DEFAULTGW",
    "DHCPV6C",
    "DNS",
    "DOMAIN",
    "METRIC",
    "MTU",
    "MACADDR",
    "LLADDR",
];

fn ip_var(key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    IP_VARS.contains(&key) || IP_VARS.contains(&base)
}

fn is_default(key: &str, value: &str) -> bool {
    DEFAULTS.iter().any(|(k, vs)| {
        *k == key && (vs.is_empty() || vs.iter().any(|v| v.eq_ignore_ascii_case(value)))
    })
}

/// Whether the file is an Open vSwitch bond (`TYPE=OVSBond`).
fn is_ovs_bond(f: &IfcfgFile) -> bool {
    f.val("TYPE").is_some_and(|t| t.eq_ignore_ascii_case("OVSBond"))
}

/// Parses a set of ifcfg files (a bond's and its slaves', and `route-*` / `route6-*`
/// files).
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let (route_files, files): (Vec<&SourceFile>, Vec<&SourceFile>) =
        files.iter().partition(|f| is_routes_file(&f.path));
    let parsed: Vec<IfcfgFile> = files.iter().map(|f| read_file(f, &mut findings)).collect();
    let mut files_dev = Vec::new();
    for mut f in parsed {
        if let Some(d) = f.val("DEVICE") {
            if !d.is_empty() {
                f.device = d.to_owned();
            }
        }
        for v in &f.vars {
            if !KNOWN.contains(&v.key.as_str())
                && !is_indexed(&v.key)
                && !v.key.starts_with("IPV6")
                && !v.key.starts_with("DHCP")
                && !v.key.starts_with("BONDING_SLAVE")
                && !STRUCTURE.contains(&v.key.as_str())
                && !ip_var(&v.key)
            {
                if let Some(s) = did_you_mean(&v.key, KNOWN.iter().copied()) {
                    findings.push(
                        Finding::warning(
                            &v.key_span,
                            format!("unknown variable '{}'{}", v.key, suggestion_suffix(Some(s))),
                        )
                        .with_fix(s),
                    );
                }
            }
        }
        files_dev.push(f);
    }
    let masters: Vec<String> =
        files_dev.iter().filter_map(|f| f.val("MASTER").map(str::to_owned)).collect();
    let is_bond = |f: &IfcfgFile| {
        f.get("MASTER").is_none()
            && (f.val("TYPE").is_some_and(|t| t.eq_ignore_ascii_case("bond") || t == "Bonding")
                || f.yes("BONDING_MASTER")
                || f.get("BONDING_OPTS").is_some()
                || f.get("BONDING_MODULE_OPTS").is_some()
                || is_ovs_bond(f)
                // The old split: the options in modprobe.d, the slaves naming the bond.
                || masters.contains(&f.device))
    };
    let mut bonds: Vec<BondConfig> = Vec::new();
    for f in files_dev.iter().filter(|f| is_bond(f)) {
        let b = bond_of(f, &mut findings);
        if bonds.iter().any(|x| x.name == b.name) {
            findings.push(Finding::error(
                b.spans.bond.as_ref().unwrap_or(&f.span),
                format!("bond '{}' is defined by two files", b.name),
            ));
            continue;
        }
        bonds.push(b);
    }
    // Files without TYPE that nothing marks as a bond (the old split: `ifcfg-bond0` with
    // only its addresses, the options in modprobe.d): a bond if the bonding module makes a
    // device of that name, which only modprobe.d says (see crate::system::merge).
    let named = |f: &IfcfgFile| bonds.iter().any(|b| b.slaves.contains(&f.device));
    let mut unmarked = Vec::new();
    for f in files_dev.iter().filter(|f| {
        !is_bond(f) && f.get("MASTER").is_none() && f.get("TYPE").is_none() && !named(f)
    }) {
        // What such a file has to say is said if it becomes a bond; not otherwise.
        if f.device.starts_with("bond") {
            findings.push(Finding::info(
                f.get("DEVICE").map(|v| &v.key_span).unwrap_or(&f.span),
                format!("'{0}' has no TYPE=Bond, BONDING_OPTS or slave files naming it: a bond only if modprobe.d makes one ('alias {0} bonding')", f.device),
            ));
        }
        unmarked.push(bond_of(f, &mut Vec::new()));
    }
    for f in &files_dev {
        let Some(m) = f.get("MASTER") else {
            // A SUSE slave: named by its bond's BONDING_SLAVEn.
            if let Some(b) = bonds.iter_mut().find(|b| b.slaves.contains(&f.device)) {
                member(f, b, &mut findings);
            }
            continue;
        };
        let master = m.value.text.clone();
        let mspan = m.value.span(&m.key_span.file, 0);
        if !f.yes("SLAVE") {
            findings.push(
                Finding::warning(
                    &m.key_span,
                    format!(
                        "MASTER={master} without SLAVE=yes: initscripts do not enslave {}",
                        f.device
                    ),
                )
                .with_fix("SLAVE=yes"),
            );
        }
        match bonds.iter_mut().find(|b| b.name == master) {
            Some(b) => {
                if !b.slaves.contains(&f.device) {
                    b.slaves.push(f.device.clone());
                    b.spans.slaves.insert(f.device.clone(), m.key_span.clone());
                }
                member(f, b, &mut findings);
            }
            None => {
                let s = did_you_mean(
                    &master,
                    files_dev.iter().filter(|x| is_bond(x)).map(|x| x.device.as_str()),
                );
                let mut fnd = Finding::warning(&mspan, format!("MASTER={master}: no ifcfg file for bond '{master}' among the files given{}", suggestion_suffix(s)));
                if let Some(s) = s {
                    fnd = fnd.with_fix(s);
                }
                findings.push(fnd);
            }
        }
    }
    for rf in route_files {
        let base = rf.path.rsplit('/').next().unwrap_or(&rf.path);
        if base == "routes" {
            // SUSE's routes of every interface: the lines naming a bond are its.
            suse_routes(rf, None, &mut bonds, &mut findings);
            suse_routes(rf, None, &mut unmarked, &mut Vec::new());
            continue;
        }
        let dev = routes_device(base);
        if unmarked.iter().any(|b| b.name == dev) {
            routes_file(rf, &mut unmarked, &mut Vec::new());
        } else {
            routes_file(rf, &mut bonds, &mut findings);
        }
    }
    Parsed { config: ConfigSet { bonds }, findings, unmarked }
}

/// A bond's own file: its options (or its OVS settings), SUSE's `BONDING_SLAVEn`, its IP
/// configuration, its boot flag and the lines ubond does not model.
fn bond_of(f: &IfcfgFile, findings: &mut Vec<Finding>) -> BondConfig {
    let mut b = BondConfig::new(f.device.clone());
    b.spans.bond =
        Some(f.get("DEVICE").map(|v| v.key_span.clone()).unwrap_or_else(|| f.span.clone()));
    if is_ovs_bond(f) {
        ovs_bond(f, &mut b, findings);
    } else {
        let mut settings = Vec::new();
        for key in ["BONDING_OPTS", "BONDING_MODULE_OPTS"] {
            if let Some(v) = f.get(key) {
                settings.extend(bonding_opts(&v.value, &v.key_span.file, findings));
            }
        }
        crate::settings::take_use_carrier_off(&mut settings, &mut b, findings);
        let (o, fs) = apply_settings(&settings);
        findings.extend(fs);
        for s in &settings {
            b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
        }
        b.options = o;
        // SUSE: BONDING_SLAVE0, BONDING_SLAVE1, ... in their numbers' order.
        let mut numbered: Vec<(u32, &Var)> = f
            .vars
            .iter()
            .filter_map(|v| {
                v.key
                    .strip_prefix("BONDING_SLAVE")
                    .and_then(|n| n.trim_start_matches('_').parse().ok())
                    .map(|n| (n, v))
            })
            .collect();
        numbered.sort_by_key(|(n, _)| *n);
        for (_, v) in numbered {
            let n = v.value.text.trim().to_owned();
            if !n.is_empty() && !b.slaves.contains(&n) {
                // A hardware description (bonding.rst: `bus-pci-0000:06:08.1`) names the NIC
                // by its place on the bus, udev's ID_PATH `pci-0000:06:08.1`.
                if let Some(path) = n.strip_prefix("bus-").filter(|p| p.contains('-')) {
                    let m = Match { path: Some(path.to_owned()), ..Match::default() };
                    b.note(&Fact::Match(n.clone()), v.key_span.clone());
                    b.matches.insert(n.clone(), m);
                }
                b.spans.slaves.insert(n.clone(), v.key_span.clone());
                b.slaves.push(n);
            }
        }
    }
    addresses(f, &mut b, findings);
    on_boot(f, &mut b, findings);
    for v in &f.vars {
        let k = v.key.as_str();
        if STRUCTURE.contains(&k)
            || ip_var(k)
            || k.starts_with("BONDING_SLAVE")
            || is_default(k, &v.value.text)
            || v.value.text.is_empty()
            // Derived from the address (initscripts compute them).
            || matches!(k, "BROADCAST" | "NETWORK")
        {
            continue;
        }
        if k == "IPV6INIT" && (b.dhcp6 || b.addresses.iter().any(|(a, _)| a.is_ipv6())) {
            continue;
        }
        b.extra(format!("{k}={}", v.value.text), v.key_span.clone());
    }
    b
}

/// A slave's file: `HWADDR=` binds the name to a NIC (initscripts rename the NIC with that
/// address to `DEVICE`); an address, route or name server on a slave is a mistake; the rest
/// is kept as an extra.
fn member(f: &IfcfgFile, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    for v in &f.vars {
        let k = v.key.as_str();
        let val = v.value.text.as_str();
        if val.is_empty() {
            continue;
        }
        if k == "BOND_PORT_QUEUE_ID" {
            match val.parse::<u16>() {
                Ok(q) => {
                    b.options.slave_options.entry(f.device.clone()).or_default().queue_id = q;
                    b.note(&Fact::SlaveOptions(f.device.clone()), v.key_span.clone());
                }
                Err(_) => findings.push(Finding::error(
                    &v.value.span(&v.key_span.file, 0),
                    format!("invalid BOND_PORT_QUEUE_ID '{val}'"),
                )),
            }
            continue;
        }
        if k == "HWADDR" {
            match val.parse::<ubond_wire::MacAddr>() {
                Ok(mac) => {
                    let m = Match { mac: Some(mac), rename: true, ..Match::default() };
                    b.note(&Fact::Match(f.device.clone()), v.key_span.clone());
                    b.matches.insert(f.device.clone(), m);
                }
                Err(_) => findings.push(Finding::error(
                    &v.value.span(&v.key_span.file, 0),
                    format!("invalid HWADDR '{val}'"),
                )),
            }
            continue;
        }
        if k == "BOOTPROTO" && !matches!(val.to_ascii_lowercase().as_str(), "none" | "static" | "")
        {
            findings.push(Finding::warning(&v.key_span, format!("BOOTPROTO={val} on '{}', a slave of bond '{}': a slave carries no IP configuration", f.device, b.name)).with_fix("BOOTPROTO=none"));
            b.extra(format!("{}: {k}={val}", f.device), v.key_span.clone());
            continue;
        }
        if STRUCTURE.contains(&k) || is_default(k, val) {
            continue;
        }
        if k == "BRIDGE" {
            findings.push(
                Finding::error(&v.key_span, format!("'{}' is a slave of bond '{}' and a port of bridge '{val}': an interface has one master; make the bond the bridge's port", f.device, b.name))
                    .with_fix(format!("BRIDGE={val} in ifcfg-{}", b.name)),
            );
        }
        let base = k.trim_end_matches(|c: char| c.is_ascii_digit());
        if matches!(base, "IPADDR" | "GATEWAY" | "DNS" | "IPV6ADDR" | "IPV6_DEFAULTGW" | "DOMAIN") {
            findings.push(Finding::warning(
                &v.key_span,
                format!("{k} on '{}', a slave of bond '{}': addresses, routes and name servers go on the bond", f.device, b.name),
            ));
        }
        b.extra(format!("{}: {k}={val}", f.device), v.key_span.clone());
    }
}

/// `TYPE=OVSBond` (Open vSwitch's ifcfg scripts): `OVS_BRIDGE`, `BOND_IFACES`,
/// `OVS_OPTIONS`.
fn ovs_bond(f: &IfcfgFile, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    if let Some(v) = f.get("BOND_IFACES") {
        for (at, w) in v.value.words() {
            if !b.slaves.iter().any(|s| s == w) {
                b.spans.slaves.insert(w.to_owned(), v.value.span(&v.key_span.file, at));
                b.slaves.push(w.to_owned());
            }
        }
    }
    let mut items = Vec::new();
    if let Some(v) = f.get("OVS_OPTIONS") {
        let file = v.key_span.file.clone();
        for (at, w) in v.value.words() {
            match w.split_once('=') {
                Some((k, val)) => items.push(crate::ovs::Item {
                    key: k.to_owned(),
                    value: val.to_owned(),
                    key_span: v.value.span(&file, at),
                    value_span: v.value.span(&file, at + k.len() + 1),
                }),
                None => findings.push(Finding::warning(
                    &v.value.span(&file, at),
                    format!("OVS_OPTIONS: '{w}' is not KEY=VALUE"),
                )),
            }
        }
    }
    let bridge = f.val("OVS_BRIDGE").unwrap_or("br0").to_owned();
    if f.get("OVS_BRIDGE").is_none() {
        findings
            .push(Finding::error(&f.span, format!("OVS bond '{}' without OVS_BRIDGE", f.device)));
    }
    let at = b.spans.bond.clone().unwrap_or_else(|| f.span.clone());
    crate::ovs::read_bond(b, &bridge, &items, &at, findings);
    if b.slaves.len() < 2 {
        findings.push(Finding::error(
            &at,
            format!("OVS bond '{}' needs two interfaces or more in BOND_IFACES", f.device),
        ));
    }
}

/// Whether `path` is a routes file: RHEL's `route-IFACE` / `route6-IFACE`, SUSE's
/// `ifroute-IFACE` and `/etc/sysconfig/network/routes`.
pub(crate) fn is_routes_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.starts_with("route-")
        || base.starts_with("route6-")
        || base.starts_with("ifroute-")
        || (base == "routes" && path.contains("sysconfig/network"))
}

/// The interface of a per-interface routes file.
fn routes_device(base: &str) -> &str {
    base.strip_prefix("route6-")
        .or_else(|| base.strip_prefix("route-"))
        .or_else(|| base.strip_prefix("ifroute-"))
        .unwrap_or("")
}

/// SUSE's routes (`ifroute-IFACE`, `routes`): `DESTINATION GATEWAY NETMASK INTERFACE
/// [OPTIONS]` a line, `-` for an empty column (routes(5)). In `ifroute-IFACE` (`dev`) an
/// empty interface is the file's; in `routes` the lines naming a bond of `bonds` are read.
fn suse_routes(
    rf: &SourceFile,
    dev: Option<&str>,
    bonds: &mut [BondConfig],
    findings: &mut Vec<Finding>,
) {
    let base = rf.path.rsplit('/').next().unwrap_or(&rf.path);
    for line in logical_lines(&rf.text, true) {
        let words = line.words();
        let Some(&(at0, dest)) = words.first() else { continue };
        let span = line.span(&rf.path, at0);
        let col = |i: usize| words.get(i).map(|w| w.1).filter(|w| *w != "-");
        let Some(iface) = col(3).or(dev) else { continue };
        let Some(b) = bonds.iter_mut().find(|b| b.name == iface) else { continue };
        let text = line.text.trim().to_owned();
        if dest.contains('=') {
            // RHEL's `ADDRESS0=` syntax (old cloud-init wrote it here): wicked does not read it.
            findings.push(Finding::warning(
                &span,
                format!("'{text}': {base} takes routes(5) lines (DESTINATION GATEWAY NETMASK INTERFACE), not route-{iface}'s variables: not a route for wicked"),
            ));
            b.extra(format!("{base}: {text}"), span);
            continue;
        }
        let via = match col(1).filter(|g| !matches!(*g, "0.0.0.0" | "::")) {
            Some(g) => match g.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    findings.push(Finding::error(&span, format!("invalid gateway '{g}'")));
                    continue;
                }
            },
            None => None,
        };
        let v6 = via.is_some_and(|v| v.is_ipv6()) || dest.contains(':');
        let to = crate::net::destination(dest, v6).and_then(|mut to| {
            match col(2).filter(|m| *m != "0.0.0.0" || dest != "default") {
                Some(m) if !dest.contains('/') && dest != "default" => {
                    to.1 = crate::net::netmask_prefix(m).filter(|(_, v4)| *v4)?.0;
                }
                _ => {}
            }
            Some(to)
        });
        let Some(to) = to else {
            findings.push(Finding::error(
                &span,
                format!("route '{text}': invalid destination or netmask (DESTINATION GATEWAY NETMASK INTERFACE)"),
            ));
            continue;
        };
        let mut r = Route { to, via, metric: None, table: None };
        // `ip route add` options after the interface: the metric and table are read, the
        // rest keeps the line as written.
        let opts: Vec<&str> = words.iter().skip(4).map(|w| w.1).collect();
        let mut understood = true;
        let mut i = 0;
        while i < opts.len() {
            match (opts[i], opts.get(i + 1).map(|v| v.parse::<u32>())) {
                ("metric" | "preference", Some(Ok(m))) => r.metric = Some(m),
                ("table", Some(Ok(t))) => r.table = Some(t).filter(|t| *t != 254),
                _ => {
                    understood = false;
                    break;
                }
            }
            i += 2;
        }
        if understood {
            b.note(&Fact::Route(r.clone()), span);
            b.routes.push(r);
        } else {
            b.extra(format!("{base}: {text}"), span);
        }
    }
}

/// A `route-IFACE` (or `route6-IFACE`) file: `ADDRESSn=`/`NETMASKn=`/`GATEWAYn=`/`METRICn=`
/// variables, or `ip route` arguments one route a line; SUSE's `ifroute-IFACE` (see
/// [`suse_routes`]).
fn routes_file(rf: &SourceFile, bonds: &mut [BondConfig], findings: &mut Vec<Finding>) {
    let base = rf.path.rsplit('/').next().unwrap_or(&rf.path);
    let dev = routes_device(base);
    if base.starts_with("ifroute-") {
        if !bonds.iter().any(|b| b.name == dev) {
            findings.push(Finding::info(
                &Span::new(&rf.path, 1, 1),
                format!("routes of '{dev}', which is not a bond here: not read"),
            ));
        }
        suse_routes(rf, Some(dev), bonds, findings);
        return;
    }
    let Some(b) = bonds.iter_mut().find(|b| b.name == dev) else {
        findings.push(Finding::info(
            &Span::new(&rf.path, 1, 1),
            format!("routes of '{dev}', which is not a bond here: not read"),
        ));
        return;
    };
    let v6 = base.starts_with("route6-");
    let mut vars: BTreeMap<String, (String, Span)> = BTreeMap::new();
    for line in logical_lines(&rf.text, true) {
        let t = line.text.trim();
        let lead = line.text.len() - line.text.trim_start().len();
        let span = line.span(&rf.path, lead);
        if let Some((k, v)) = t
            .split_once('=')
            .filter(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            vars.insert(k.to_owned(), (v.trim_matches(['"', '\'']).to_owned(), span));
            continue;
        }
        let cmd = format!("ip {}route add {t}", if v6 { "-6 " } else { "" });
        let cmd = if t.contains(" dev ") { cmd } else { format!("{cmd} dev {dev}") };
        match crate::net::ip_route(&cmd, dev) {
            Some(r) => {
                b.note(&Fact::Route(r.clone()), span);
                b.routes.push(r);
            }
            None => {
                findings.push(Finding::warning(
                    &span,
                    format!("route '{t}' not understood: kept as written"),
                ));
                b.extra(format!("{base}: {t}"), span);
            }
        }
    }
    for i in 0..256 {
        let Some((a, span)) = vars.get(&format!("ADDRESS{i}")).cloned() else { continue };
        let mask =
            vars.get(&format!("NETMASK{i}")).map(|(m, _)| m.as_str()).unwrap_or("255.255.255.255");
        let dest = a
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .zip(crate::net::netmask_prefix(mask).filter(|(_, v4)| *v4).map(|(p, _)| p));
        let Some((ip, p)) = dest else {
            findings.push(Finding::error(
                &span,
                format!("ADDRESS{i}={a} with NETMASK{i}={mask}: not a route"),
            ));
            continue;
        };
        let via = vars.get(&format!("GATEWAY{i}")).and_then(|(g, _)| g.parse::<IpAddr>().ok());
        let metric = vars.get(&format!("METRIC{i}")).and_then(|(m, _)| m.parse().ok());
        let r = Route { to: (IpAddr::V4(ip), p), via, metric, table: None };
        b.note(&Fact::Route(r.clone()), span);
        b.routes.push(r);
    }
}

/// `ONBOOT` (absent or anything but a no is yes, as initscripts and NetworkManager read it),
/// or SUSE's `STARTMODE` (`auto`, `hotplug`, `onboot`, `nfsroot`: at boot).
fn on_boot(f: &IfcfgFile, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    if let Some(v) = f.get("STARTMODE") {
        let t = v.value.text.to_ascii_lowercase();
        match t.as_str() {
            "auto" | "onboot" | "on" | "boot" | "hotplug" | "nfsroot" => {}
            "manual" | "off" | "ifplugd" => {
                b.on_boot = false;
                b.spans.not_on_boot =
                    Some((v.key_span.clone(), format!("STARTMODE={}", v.value.text)));
            }
            _ => findings.push(Finding::warning(
                &v.value.span(&v.key_span.file, 0),
                format!("STARTMODE={}: expected auto, hotplug, manual or off", v.value.text),
            )),
        }
        return;
    }
    let Some(v) = f.get("ONBOOT") else { return };
    let t = v.value.text.to_ascii_lowercase();
    match t.as_str() {
        "no" | "n" | "false" | "0" => {
            b.on_boot = false;
            b.spans.not_on_boot = Some((v.key_span.clone(), format!("ONBOOT={}", v.value.text)));
        }
        "yes" | "y" | "true" | "1" => {}
        _ => findings.push(
            Finding::warning(
                &v.value.span(&v.key_span.file, 0),
                format!("ONBOOT={}: expected yes or no; taken as yes", v.value.text),
            )
            .with_fix("yes"),
        ),
    }
}

fn is_indexed(key: &str) -> bool {
    ["IPADDR", "PREFIX", "NETMASK", "GATEWAY"].iter().any(|p| {
        key.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Splits `BONDING_OPTS` into settings, reporting unknown names with a did-you-mean.
pub(crate) fn bonding_opts(v: &PosText, file: &str, findings: &mut Vec<Finding>) -> Vec<Setting> {
    let mut out = Vec::new();
    for (at, tok) in v.words() {
        let span = v.span(file, at);
        let Some((name, value)) = tok.split_once('=') else {
            findings.push(Finding::error(&span, format!("'{tok}' is not name=value")));
            continue;
        };
        let id = match BondOptions::lookup(name) {
            Ok(OptionId::Slaves | OptionId::Prio | OptionId::ActorPortPrio) => {
                findings
                    .push(Finding::error(&span, format!("'{name}' cannot be set in BONDING_OPTS")));
                continue;
            }
            Ok(id) if id.scope() == Scope::Module => {
                findings.push(Finding::warning(&span, format!("'{name}' is a module parameter only (no sysfs file): it has no effect in BONDING_OPTS; put it in /etc/modprobe.d")));
                continue;
            }
            Ok(id) => id,
            Err(OptionError::UnknownOption { suggestion, .. }) => {
                let mut f = Finding::error(
                    &span,
                    format!("unknown option '{name}'{}", suggestion_suffix(suggestion)),
                );
                if let Some(s) = suggestion {
                    f = f.with_fix(s);
                }
                findings.push(f);
                continue;
            }
            Err(e) => {
                findings.push(Finding::error(&span, e.to_string()));
                continue;
            }
        };
        out.push(Setting {
            id,
            key: name.to_owned(),
            value: value.to_owned(),
            raw: value.to_owned(),
            slave: None,
            key_span: span,
            value_span: v.span(file, at + name.len() + 1),
        });
    }
    out
}

fn prefix_of(f: &IfcfgFile, idx: &str, max: u8, findings: &mut Vec<Finding>) -> Option<u8> {
    // RHEL's PREFIXn, SUSE's PREFIXLEN_x.
    for key in [format!("PREFIX{idx}"), format!("PREFIXLEN{idx}")] {
        if let Some(p) = f.get(&key) {
            return match p.value.text.parse::<u8>() {
                Ok(n) if n <= max => Some(n),
                _ => {
                    findings.push(Finding::error(
                        &p.value.span(&p.key_span.file, 0),
                        format!("invalid {key} '{}': 0-{max}", p.value.text),
                    ));
                    None
                }
            };
        }
    }
    let m = f.get(&format!("NETMASK{idx}"))?;
    let bits = m.value.text.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
    match bits {
        Some(b) if b.checked_shl(b.leading_ones()).unwrap_or(0) == 0 => {
            u8::try_from(b.leading_ones()).ok()
        }
        _ => {
            findings.push(Finding::error(
                &m.value.span(&m.key_span.file, 0),
                format!("invalid NETMASK{idx} '{}'", m.value.text),
            ));
            None
        }
    }
}

fn addresses(f: &IfcfgFile, b: &mut BondConfig, findings: &mut Vec<Finding>) {
    if let Some(v) = f.get("BOOTPROTO") {
        if matches!(v.value.text.to_ascii_lowercase().as_str(), "dhcp" | "dhcp4" | "dhcp+autoip") {
            b.dhcp4 = true;
            b.note(&Fact::Dhcp4, v.key_span.clone());
        }
    }
    if let Some(v) = f.get("DHCPV6C") {
        if f.yes("DHCPV6C") {
            b.dhcp6 = true;
            b.note(&Fact::Dhcp6, v.key_span.clone());
        }
    }
    if f.val("BOOTPROTO").is_some_and(|p| p.eq_ignore_ascii_case("dhcp6")) {
        b.dhcp6 = true;
    }
    // IPADDR, then IPADDR0, IPADDR1, ... (SUSE: IPADDR_x) by number.
    let mut idx: Vec<(i64, String)> = Vec::new();
    for v in &f.vars {
        if let Some(n) = v.key.strip_prefix("IPADDR") {
            let k = if n.is_empty() {
                -1
            } else {
                n.trim_start_matches('_').parse::<i64>().unwrap_or(i64::MAX - 1)
            };
            let ok = n.is_empty() || n.chars().all(|c| c.is_ascii_digit()) || n.starts_with('_');
            if ok && !idx.iter().any(|(_, s)| s == n) {
                idx.push((k, n.to_owned()));
            }
        }
    }
    idx.sort();
    for (_, n) in idx {
        let Some(v) = f.get(&format!("IPADDR{n}")) else { continue };
        let span = v.value.span(&v.key_span.file, 0);
        let text = v.value.text.trim();
        if text.is_empty() {
            continue;
        }
        // SUSE writes IPADDR='192.0.2.10/24'.
        let (addr, inline) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let Ok(ip) = addr.parse::<IpAddr>() else {
            findings.push(Finding::error(&span, format!("invalid IPADDR{n} '{}'", v.value.text)));
            continue;
        };
        let p = match inline.map(str::parse::<u8>) {
            Some(Ok(p)) if p <= crate::net::max_prefix(ip) => Some(p),
            Some(_) => {
                findings.push(Finding::error(
                    &span,
                    format!("invalid prefix in IPADDR{n} '{}'", v.value.text),
                ));
                continue;
            }
            None => prefix_of(f, &n, crate::net::max_prefix(ip), findings),
        };
        let p = p.unwrap_or_else(|| {
            findings.push(Finding::warning(
                &span,
                format!(
                    "IPADDR{n} without PREFIX{n} or NETMASK{n}: /{} assumed",
                    crate::net::max_prefix(ip)
                ),
            ));
            crate::net::max_prefix(ip)
        });
        b.note(&Fact::Address(ip, p), v.key_span.clone());
        b.addresses.push((ip, p));
    }
    let mut v6 = Vec::new();
    for key in ["IPV6ADDR", "IPV6ADDR_SECONDARIES"] {
        if let Some(v) = f.get(key) {
            for (at, w) in v.value.words() {
                v6.push((w.to_owned(), v.value.span(&v.key_span.file, at)));
            }
        }
    }
    for (w, span) in v6 {
        let (a, p) = w.split_once('/').unwrap_or((&w, "64"));
        match (a.parse::<std::net::Ipv6Addr>(), p.parse::<u8>()) {
            (Ok(ip), Ok(p)) if p <= 128 => {
                b.note(&Fact::Address(IpAddr::V6(ip), p), span.clone());
                b.addresses.push((IpAddr::V6(ip), p));
            }
            _ => findings.push(Finding::error(&span, format!("invalid IPv6 address '{w}'"))),
        }
    }
    let metric = f.get("METRIC").and_then(|m| match m.value.text.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            findings.push(Finding::error(
                &m.value.span(&m.key_span.file, 0),
                format!("invalid METRIC '{}'", m.value.text),
            ));
            None
        }
    });
    let defroute = !f.val("DEFROUTE").is_some_and(|v| v.eq_ignore_ascii_case("no"));
    for key in ["GATEWAY", "GATEWAY0", "IPV6_DEFAULTGW"] {
        if let Some(v) = f.get(key) {
            let text = v.value.text.split('%').next().unwrap_or("");
            match text.parse::<IpAddr>() {
                Ok(ip) if b.gateway(ip.is_ipv4()).is_none() && (defroute || !ip.is_ipv4()) => {
                    let mut r = Route::default_via(ip);
                    if ip.is_ipv4() {
                        r.metric = metric;
                    }
                    b.note(&Fact::Route(r.clone()), v.key_span.clone());
                    b.routes.push(r);
                }
                Ok(_) => {}
                Err(_) => findings.push(Finding::error(
                    &v.value.span(&v.key_span.file, 0),
                    format!("invalid {key} '{}'", v.value.text),
                )),
            }
        }
    }
    if let Some(v) = f.get("MTU") {
        match v.value.text.parse::<u32>() {
            Ok(m) if (68..=65535).contains(&m) => {
                b.mtu = Some(m);
                b.note(&Fact::Mtu, v.key_span.clone());
            }
            _ => findings.push(Finding::error(
                &v.value.span(&v.key_span.file, 0),
                format!("invalid MTU '{}': 68-65535", v.value.text),
            )),
        }
    }
    for key in ["MACADDR", "LLADDR"] {
        if let Some(v) = f.get(key) {
            match v.value.text.parse::<ubond_wire::MacAddr>() {
                Ok(m) => {
                    b.mac = Some(m);
                    b.note(&Fact::Mac, v.key_span.clone());
                }
                Err(_) => findings.push(Finding::error(
                    &v.value.span(&v.key_span.file, 0),
                    format!("invalid {key} '{}'", v.value.text),
                )),
            }
        }
    }
    let mut dns: Vec<(u32, &Var)> = f
        .vars
        .iter()
        .filter_map(|v| v.key.strip_prefix("DNS").and_then(|n| n.parse().ok()).map(|n| (n, v)))
        .collect();
    dns.sort_by_key(|(n, _)| *n);
    for (_, v) in dns {
        match v.value.text.parse::<IpAddr>() {
            Ok(ip) => {
                b.note(&Fact::Dns, v.key_span.clone());
                b.dns.servers.push(ip);
            }
            Err(_) => findings.push(Finding::error(
                &v.value.span(&v.key_span.file, 0),
                format!("invalid {} '{}'", v.key, v.value.text),
            )),
        }
    }
    if let Some(v) = f.get("DOMAIN") {
        // NetworkManager takes DOMAIN as its dns-search: a `~` domain is routing-only.
        for w in v.value.text.split_whitespace() {
            if b.dns.add_domain(w) {
                b.note(&Fact::RoutingDomains, v.key_span.clone());
            }
        }
        b.note(&Fact::Dns, v.key_span.clone());
    }
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || "\"'$\\`#".contains(c)) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_owned()
    }
}

/// Writes `ifcfg-BOND`, one `ifcfg-SLAVE` per slave and, for routes other than the default
/// one, `route-BOND` / `route6-BOND`, per bond.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = Vec::new();
    for b in &set.bonds {
        let mut comments = lost.common(b, true, "ifcfg");
        comments.extend(lost.routing_domains(b, "ifcfg (DOMAIN=)"));
        let mut t = String::from("# written by ubond\n");
        let kv = |t: &mut String, k: &str, v: &str| t.push_str(&format!("{k}={}\n", quote(v)));
        kv(&mut t, "DEVICE", &b.name);
        kv(&mut t, "NAME", &b.name);
        match &b.ovs {
            Some(_) => {
                kv(&mut t, "DEVICETYPE", "ovs");
                kv(&mut t, "TYPE", "OVSBond");
            }
            None => {
                kv(&mut t, "TYPE", "Bond");
                kv(&mut t, "BONDING_MASTER", "yes");
            }
        }
        let onboot = if b.on_boot { "yes" } else { "no" };
        kv(&mut t, "ONBOOT", onboot);
        kv(&mut t, "BOOTPROTO", if b.dhcp4 { "dhcp" } else { "none" });
        let v4: Vec<_> = b.addresses.iter().filter(|(a, _)| a.is_ipv4()).collect();
        for (i, (a, p)) in v4.iter().enumerate() {
            let n = if i == 0 { String::new() } else { i.to_string() };
            kv(&mut t, &format!("IPADDR{n}"), &a.to_string());
            kv(&mut t, &format!("PREFIX{n}"), &p.to_string());
        }
        let v6: Vec<String> = b
            .addresses
            .iter()
            .filter(|(a, _)| a.is_ipv6())
            .map(|(a, p)| format!("{a}/{p}"))
            .collect();
        if !v6.is_empty() || b.dhcp6 {
            kv(&mut t, "IPV6INIT", "yes");
        }
        if b.dhcp6 {
            kv(&mut t, "DHCPV6C", "yes");
        }
        if let Some((first, rest)) = v6.split_first() {
            kv(&mut t, "IPV6ADDR", first);
            if !rest.is_empty() {
                kv(&mut t, "IPV6ADDR_SECONDARIES", &rest.join(" "));
            }
        }
        // The first default route of each family as GATEWAY (with METRIC) / IPV6_DEFAULTGW;
        // every other route in the route files.
        let gw4 = b
            .routes
            .iter()
            .position(|r| r.is_default() && r.is_ipv4() && r.via.is_some() && r.table.is_none());
        let gw6 = b.routes.iter().position(|r| r.is_plain_default() && !r.is_ipv4());
        if let Some(r) = gw4.map(|i| &b.routes[i]) {
            kv(&mut t, "GATEWAY", &r.via.map(|v| v.to_string()).unwrap_or_default());
            if let Some(m) = r.metric {
                kv(&mut t, "METRIC", &m.to_string());
            }
        }
        if let Some(v) = gw6.and_then(|i| b.routes[i].via) {
            kv(&mut t, "IPV6_DEFAULTGW", &v.to_string());
        }
        if let Some(m) = b.mtu {
            kv(&mut t, "MTU", &m.to_string());
        }
        if let Some(m) = b.mac {
            kv(&mut t, "MACADDR", &m.to_string());
        }
        for (i, s) in b.dns.servers.iter().enumerate() {
            kv(&mut t, &format!("DNS{}", i + 1), &s.to_string());
        }
        if !b.dns.search.is_empty() {
            kv(&mut t, "DOMAIN", &b.dns.search.join(" "));
        }
        match &b.ovs {
            Some(o) => {
                kv(&mut t, "OVS_BRIDGE", &o.bridge);
                kv(&mut t, "BOND_IFACES", &b.slaves.join(" "));
                let s: Vec<String> = o.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if !s.is_empty() {
                    kv(&mut t, "OVS_OPTIONS", &s.join(" "));
                }
            }
            None => {
                let opts: Vec<String> = sysfs_option_pairs(&b.options)
                    .into_iter()
                    .map(|(id, v)| format!("{}={v}", id.name()))
                    .collect();
                if !opts.is_empty() {
                    kv(&mut t, "BONDING_OPTS", &opts.join(" "));
                }
            }
        }
        let mut route_files = Vec::new();
        for (fam, v4) in [("route", true), ("route6", false)] {
            let mut rt = String::new();
            for (i, r) in b.routes.iter().enumerate() {
                if r.is_ipv4() != v4 || Some(i) == gw4 || Some(i) == gw6 {
                    continue;
                }
                let dest = if r.is_default() {
                    "default".to_owned()
                } else {
                    format!("{}/{}", r.to.0, r.to.1)
                };
                let mut line = dest;
                if let Some(v) = r.via {
                    line.push_str(&format!(" via {v}"));
                }
                line.push_str(&format!(" dev {}", b.name));
                if let Some(m) = r.metric {
                    line.push_str(&format!(" metric {m}"));
                }
                if let Some(tb) = r.table {
                    line.push_str(&format!(" table {tb}"));
                }
                rt.push_str(&line);
                rt.push('\n');
            }
            if !rt.is_empty() {
                route_files.push(SourceFile::new(
                    format!("{DIR}/{fam}-{}", b.name),
                    format!("# written by ubond\n{rt}"),
                ));
            }
        }
        let per_slave: BTreeMap<_, _> = slave_settings(&b.options);
        let mut slaves = Vec::new();
        for s in &b.slaves {
            let mut st = String::from("# written by ubond\n");
            kv(&mut st, "DEVICE", s);
            kv(&mut st, "NAME", s);
            kv(&mut st, "TYPE", "Ethernet");
            kv(&mut st, "BOOTPROTO", "none");
            // A slave brought up at boot would create its bond: they go together.
            kv(&mut st, "ONBOOT", onboot);
            if b.ovs.is_none() {
                kv(&mut st, "MASTER", &b.name);
                kv(&mut st, "SLAVE", "yes");
            }
            if let Some(m) = b.matches.get(s) {
                if let Some(mac) = m.mac {
                    kv(&mut st, "HWADDR", &mac.to_string());
                }
                if m.name.is_some()
                    || m.driver.is_some()
                    || m.path.is_some()
                    || !m.rename
                    || m.mac.is_none()
                {
                    comments.push(lost.add(
                        b,
                        Fact::Match(s.clone()),
                        format!("slave {s} found by {m}"),
                        "ifcfg binds a name to a MAC address only (HWADDR=, and the NIC is renamed to DEVICE)",
                    ));
                }
            }
            for (id, v) in per_slave.get(s).into_iter().flatten() {
                let line = format!("{s}: {}={v}", id.name());
                let c = lost.add(
                    b,
                    Fact::SlaveOptions(s.clone()),
                    line,
                    format!(
                        "no ifcfg variable (ip link set {s} type bond_slave {} {v})",
                        id.name()
                    ),
                );
                st.push_str(&format!("# {c}\n"));
            }
            slaves.push(SourceFile::new(format!("{DIR}/ifcfg-{s}"), st));
        }
        for (s, line) in b.slave_options_lines() {
            if !b.slaves.contains(&s) {
                comments.push(lost.add(
                    b,
                    Fact::SlaveOptions(s),
                    line,
                    "per-slave options of an interface that is not a slave",
                ));
            }
        }
        for c in comments {
            t.push_str(&format!("# {c}\n"));
        }
        out.push(SourceFile::new(format!("{DIR}/ifcfg-{}", b.name), t));
        out.extend(route_files);
        out.extend(slaves);
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
