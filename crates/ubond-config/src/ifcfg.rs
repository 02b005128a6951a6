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

use std::collections::BTreeMap;
use std::net::IpAddr;

use ubond_core::options::{BondOptions, OptionError, OptionId, Scope};

use crate::finding::{Finding, Span};
use crate::model::{BondConfig, ConfigSet, Parsed, SourceFile};
use crate::settings::{apply_settings, slave_settings, sysfs_option_pairs, Setting};
use crate::text::{did_you_mean, suggestion_suffix, PosText};

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

/// Parses a set of ifcfg files (a bond's and its slaves').
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
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
    let is_bond = |f: &IfcfgFile| {
        f.get("MASTER").is_none()
            && (f.val("TYPE").is_some_and(|t| t.eq_ignore_ascii_case("bond"))
                || f.yes("BONDING_MASTER")
                || f.get("BONDING_OPTS").is_some())
    };
    let mut bonds: Vec<BondConfig> = Vec::new();
    for f in files_dev.iter().filter(|f| is_bond(f)) {
        let mut b = BondConfig::new(f.device.clone());
        b.spans.bond =
            Some(f.get("DEVICE").map(|v| v.key_span.clone()).unwrap_or_else(|| f.span.clone()));
        let settings = match f.get("BONDING_OPTS") {
            Some(v) => bonding_opts(&v.value, &v.key_span.file, &mut findings),
            None => Vec::new(),
        };
        let (o, fs) = apply_settings(&settings);
        findings.extend(fs);
        for s in &settings {
            b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
        }
        b.options = o;
        addresses(f, &mut b, &mut findings);
        on_boot(f, &mut b, &mut findings);
        if bonds.iter().any(|x| x.name == b.name) {
            findings.push(Finding::error(
                b.spans.bond.as_ref().unwrap_or(&f.span),
                format!("bond '{}' is defined by two files", b.name),
            ));
            continue;
        }
        bonds.push(b);
    }
    for f in &files_dev {
        let Some(m) = f.get("MASTER") else { continue };
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
    Parsed { config: ConfigSet { bonds }, findings }
}

/// `ONBOOT`: absent or anything but a no is yes, as initscripts and NetworkManager read it.
fn on_boot(f: &IfcfgFile, b: &mut BondConfig, findings: &mut Vec<Finding>) {
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
            slave: None,
            key_span: span,
            value_span: v.span(file, at + name.len() + 1),
        });
    }
    out
}

fn prefix_of(f: &IfcfgFile, idx: &str, findings: &mut Vec<Finding>) -> Option<u8> {
    if let Some(p) = f.get(&format!("PREFIX{idx}")) {
        return match p.value.text.parse::<u8>() {
            Ok(n) if n <= 32 => Some(n),
            _ => {
                findings.push(Finding::error(
                    &p.value.span(&p.key_span.file, 0),
                    format!("invalid PREFIX{idx} '{}'", p.value.text),
                ));
                None
            }
        };
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
    b.dhcp = f.val("BOOTPROTO").is_some_and(|v| v.eq_ignore_ascii_case("dhcp"));
    // IPADDR, then IPADDR0, IPADDR1, ... by number.
    let mut idx: Vec<(i64, String)> = Vec::new();
    for v in &f.vars {
        if let Some(n) = v.key.strip_prefix("IPADDR") {
            let k = if n.is_empty() { -1 } else { n.parse::<i64>().unwrap_or(i64::MAX) };
            if (n.is_empty() || n.chars().all(|c| c.is_ascii_digit()))
                && !idx.iter().any(|(_, s)| s == n)
            {
                idx.push((k, n.to_owned()));
            }
        }
    }
    idx.sort();
    for (_, n) in idx {
        let Some(v) = f.get(&format!("IPADDR{n}")) else { continue };
        let span = v.value.span(&v.key_span.file, 0);
        let Ok(ip) = v.value.text.parse::<std::net::Ipv4Addr>() else {
            findings.push(Finding::error(&span, format!("invalid IPADDR{n} '{}'", v.value.text)));
            continue;
        };
        let p = prefix_of(f, &n, findings).unwrap_or_else(|| {
            findings.push(Finding::warning(
                &span,
                format!("IPADDR{n} without PREFIX{n} or NETMASK{n}: /32 assumed"),
            ));
            32
        });
        b.addresses.push((IpAddr::V4(ip), p));
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
            (Ok(ip), Ok(p)) if p <= 128 => b.addresses.push((IpAddr::V6(ip), p)),
            _ => findings.push(Finding::error(&span, format!("invalid IPv6 address '{w}'"))),
        }
    }
    for key in ["GATEWAY", "IPV6_DEFAULTGW"] {
        if let Some(v) = f.get(key) {
            let text = v.value.text.split('%').next().unwrap_or("");
            match text.parse::<IpAddr>() {
                Ok(ip) if b.gateway.is_none() => b.gateway = Some(ip),
                Ok(_) => {}
                Err(_) => findings.push(Finding::error(
                    &v.value.span(&v.key_span.file, 0),
                    format!("invalid {key} '{}'", v.value.text),
                )),
            }
        }
    }
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || "\"'$\\`#".contains(c)) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_owned()
    }
}

/// Writes `ifcfg-BOND` and one `ifcfg-SLAVE` per slave, per bond.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    let mut out = Vec::new();
    for b in &set.bonds {
        let mut t = String::from("# written by ubond\n");
        let kv = |t: &mut String, k: &str, v: &str| t.push_str(&format!("{k}={}\n", quote(v)));
        kv(&mut t, "DEVICE", &b.name);
        kv(&mut t, "NAME", &b.name);
        kv(&mut t, "TYPE", "Bond");
        kv(&mut t, "BONDING_MASTER", "yes");
        let onboot = if b.on_boot { "yes" } else { "no" };
        kv(&mut t, "ONBOOT", onboot);
        kv(&mut t, "BOOTPROTO", if b.dhcp { "dhcp" } else { "none" });
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
        if let Some((first, rest)) = v6.split_first() {
            kv(&mut t, "IPV6INIT", "yes");
            kv(&mut t, "IPV6ADDR", first);
            if !rest.is_empty() {
                kv(&mut t, "IPV6ADDR_SECONDARIES", &rest.join(" "));
            }
        }
        match b.gateway {
            Some(g @ IpAddr::V4(_)) => kv(&mut t, "GATEWAY", &g.to_string()),
            Some(g @ IpAddr::V6(_)) => kv(&mut t, "IPV6_DEFAULTGW", &g.to_string()),
            None => {}
        }
        let opts: Vec<String> = sysfs_option_pairs(&b.options)
            .into_iter()
            .map(|(id, v)| format!("{}={v}", id.name()))
            .collect();
        if !opts.is_empty() {
            kv(&mut t, "BONDING_OPTS", &opts.join(" "));
        }
        out.push(SourceFile::new(format!("{DIR}/ifcfg-{}", b.name), t));
        let per_slave: BTreeMap<_, _> = slave_settings(&b.options);
        for s in &b.slaves {
            let mut t = String::from("# written by ubond\n");
            kv(&mut t, "DEVICE", s);
            kv(&mut t, "NAME", s);
            kv(&mut t, "TYPE", "Ethernet");
            kv(&mut t, "BOOTPROTO", "none");
            // A slave brought up at boot would create its bond: they go together.
            kv(&mut t, "ONBOOT", onboot);
            kv(&mut t, "MASTER", &b.name);
            kv(&mut t, "SLAVE", "yes");
            for (id, v) in per_slave.get(s).into_iter().flatten() {
                t.push_str(&format!("# {}={v} (no ifcfg variable: set with ip link set {s} type bond_slave {} {v})\n", id.name(), id.name()));
            }
            out.push(SourceFile::new(format!("{DIR}/ifcfg-{s}"), t));
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
