//! Open vSwitch bonds: `ovs-vsctl add-bond` lines (in shell scripts or as typed), and the
//! reading of an OVS bond's settings that the other formats holding OVS bonds share
//! (Debian's `ovs_type OVSBond` stanzas, ifcfg `TYPE=OVSBond`, netplan's `openvswitch:`).
//!
//! ```text
//! ovs-vsctl add-bond br0 bond0 eth0 eth1 bond_mode=balance-tcp lacp=active \
//!     other_config:lacp-time=fast other_config:bond-miimon-interval=100 \
//!     other_config:bond-detect-mode=miimon bond_updelay=200
//! ovs-vsctl set port bond0 other_config:lacp-fallback-ab=true
//! ```
//!
//! An OVS bond is kept as OVS has it ([`crate::model::OvsBond`]: its bridge and settings as
//! written), so that it is written back to an OVS format unchanged. Its kernel reading, in
//! [`crate::BondConfig::options`], is an approximation with the differences said (info):
//! OVS's default `bond_mode` is `active-backup`; `lacp=active|passive` without a mode is
//! still active-backup in OVS (LACP negotiated, traffic on one member: the kernel has no
//! such mode, read as `active-backup`); `balance-tcp` (LACP) is `802.3ad` with
//! `xmit_hash_policy=layer3+4`; `balance-slb` has no kernel equivalent and is read as
//! `balance-xor` (`802.3ad` with LACP) with `xmit_hash_policy=vlan+srcmac`. OVS detects
//! link failure by carrier by default (`bond-detect-mode=carrier`), read as `miimon=100`;
//! `bond-detect-mode=miimon` polls every `bond-miimon-interval` ms (default 200).
//! `other_config:` keys: `lacp-time` (`lacp_rate`), `bond-primary` (`primary`),
//! `lacp-system-priority` (`ad_actor_sys_prio`), `lacp-system-id` (`ad_actor_system`),
//! `lacp-fallback-ab=true` (ubond's `lacp_fallback`); `bond_updelay` / `bond_downdelay`
//! are milliseconds. Addresses are not part of `add-bond` (they go on an internal port), and
//! `ovs-vsctl` refuses an `add-bond` with fewer than two interfaces: the emitter says so
//! and writes the command as a comment (an `add-port` of the bond's name would make a port
//! of a device that does not exist).

use ubond_core::options::{LacpRate, Mode, OptionId, XmitHashPolicy};

use crate::finding::{Finding, Span};
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, OvsBond, Parsed, SourceFile};
use crate::settings::{apply_settings, Setting};
use crate::text::{did_you_mean, logical_lines, suggestion_suffix};

/// The path [`emit`] writes.
pub const DEFAULT_PATH: &str = "ovs-bonds.sh";

const COLUMNS: &[&str] = &[
    "bond_mode",
    "lacp",
    "bond_updelay",
    "bond_downdelay",
    "bond_fake_iface",
    "vlan_mode",
    "tag",
    "trunks",
];
const OTHER: &[&str] = &[
    "lacp-time",
    "bond-detect-mode",
    "bond-miimon-interval",
    "bond-primary",
    "lacp-system-priority",
    "lacp-system-id",
    "lacp-fallback-ab",
    "bond-rebalance-interval",
    "lacp-port-id",
    "lacp-port-priority",
    "lacp-aggregation-key",
];

/// One OVS setting as written, with its places.
pub(crate) struct Item {
    pub key: String,
    pub value: String,
    pub key_span: Span,
    pub value_span: Span,
}

/// Reads an OVS bond's settings (`bond_mode=...`, `other_config:...`) into `b`: its
/// [`OvsBond`] on `bridge`, and its kernel reading in `b.options` (see the module docs).
pub(crate) fn read_bond(
    b: &mut BondConfig,
    bridge: &str,
    items: &[Item],
    at: &Span,
    findings: &mut Vec<Finding>,
) {
    let mut settings = Vec::new();
    let mut ovs = OvsBond { bridge: bridge.to_owned(), settings: Vec::new() };
    let mut mode: Option<&Item> = None;
    let mut lacp: Option<&Item> = None;
    let mut detect: Option<&Item> = None;
    let mut interval: Option<&Item> = None;
    for it in items {
        ovs.settings.push((it.key.clone(), it.value.clone()));
        let mut push = |id: OptionId, value: &str| {
            settings.push(Setting {
                id,
                key: it.key.clone(),
                value: value.to_owned(),
                raw: it.value.clone(),
                slave: None,
                key_span: it.key_span.clone(),
                value_span: it.value_span.clone(),
            });
        };
        let v = it.value.as_str();
        match it.key.as_str() {
            "bond_mode" => mode = Some(it),
            "lacp" => lacp = Some(it),
            "bond_updelay" => push(OptionId::Updelay, v),
            "bond_downdelay" => push(OptionId::Downdelay, v),
            "bond_fake_iface" | "vlan_mode" | "tag" | "trunks" => {}
            "other_config:lacp-time" => push(OptionId::LacpRate, v),
            "other_config:bond-detect-mode" => detect = Some(it),
            "other_config:bond-miimon-interval" => interval = Some(it),
            "other_config:bond-primary" => push(OptionId::Primary, v),
            "other_config:lacp-system-priority" => push(OptionId::AdActorSysPrio, v),
            "other_config:lacp-system-id" => push(OptionId::AdActorSystem, v),
            "other_config:lacp-fallback-ab" => {
                push(OptionId::LacpFallback, if v == "true" { "1" } else { "0" })
            }
            other if other.starts_with("external_ids:") => findings.push(Finding::info(
                &it.key_span,
                format!("'{other}' is Open vSwitch's own: kept for OVS only"),
            )),
            other => {
                let (cands, prefix): (Vec<&str>, &str) = match other.strip_prefix("other_config:") {
                    Some(_) => (OTHER.to_vec(), "other_config:"),
                    None => (COLUMNS.to_vec(), ""),
                };
                let bare = other.strip_prefix(prefix).unwrap_or(other);
                if prefix.is_empty() || !OTHER.contains(&bare) {
                    let s = did_you_mean(bare, cands.iter().copied());
                    let mut f = Finding::warning(
                        &it.key_span,
                        format!(
                            "'{other}' is not read by ubond{}",
                            suggestion_suffix(s.map(|s| format!("{prefix}{s}")).as_deref())
                        ),
                    );
                    if let Some(s) = s {
                        f = f.with_fix(format!("{prefix}{s}"));
                    }
                    findings.push(f);
                } else {
                    findings.push(Finding::info(
                        &it.key_span,
                        format!("'{other}' has no kernel bonding equivalent: kept for OVS only"),
                    ));
                }
            }
        }
    }
    let lacp_on = match lacp.map(|l| l.value.as_str()) {
        None | Some("off") => false,
        Some("active" | "passive") => true,
        Some(other) => {
            if let Some(l) = lacp {
                findings.push(Finding::error(
                    &l.value_span,
                    format!("lacp={other}: expected active, passive or off"),
                ));
            }
            false
        }
    };
    let ms = mode.map(|m| m.value_span.clone()).unwrap_or_else(|| at.clone());
    let (m, xhp) = match mode.map(|m| m.value.as_str()) {
        None | Some("active-backup") => {
            if lacp_on {
                findings.push(Finding::info(
                    &ms,
                    "an OVS active-backup bond with LACP negotiates LACP and sends on one member: the kernel has no such mode; read as active-backup",
                ));
            }
            (Mode::ActiveBackup, None)
        }
        Some("balance-tcp") => {
            if !lacp_on {
                findings.push(
                    Finding::warning(
                        &ms,
                        "bond_mode=balance-tcp needs LACP: without lacp=active or lacp=passive OVS falls back to active-backup",
                    )
                    .with_fix("lacp=active"),
                );
                (Mode::ActiveBackup, None)
            } else {
                (Mode::Ieee8023ad, Some(XmitHashPolicy::Layer34))
            }
        }
        Some("balance-slb") => {
            findings.push(Finding::info(
                &ms,
                "balance-slb has no kernel equivalent: read as balance-xor (802.3ad with LACP) with xmit_hash_policy=vlan+srcmac, without OVS's rebalancing",
            ));
            (
                if lacp_on { Mode::Ieee8023ad } else { Mode::BalanceXor },
                Some(XmitHashPolicy::VlanSrcMac),
            )
        }
        Some(other) => {
            let sug = did_you_mean(other, ["active-backup", "balance-slb", "balance-tcp"]);
            let mut f = Finding::error(
                &ms,
                format!("unknown bond_mode '{other}'{}", suggestion_suffix(sug)),
            );
            if let Some(x) = sug {
                f = f.with_fix(x);
            }
            findings.push(f);
            (Mode::ActiveBackup, None)
        }
    };
    let mut fixed = |id: OptionId, value: String, span: &Span| {
        settings.push(Setting {
            id,
            key: "bond_mode".into(),
            value: value.clone(),
            raw: value,
            slave: None,
            key_span: span.clone(),
            value_span: span.clone(),
        });
    };
    fixed(OptionId::Mode, m.name().into(), &ms);
    if let Some(x) = xhp {
        fixed(OptionId::XmitHashPolicy, x.to_string(), &ms);
    }
    if lacp.is_some_and(|l| l.value == "passive") && m == Mode::Ieee8023ad {
        let l = lacp.map(|l| l.value_span.clone()).unwrap_or_else(|| at.clone());
        fixed(OptionId::LacpActive, "off".into(), &l);
    }
    match detect.map(|d| d.value.as_str()) {
        Some("miimon") => {
            let (v, s) = match interval {
                Some(i) => (i.value.clone(), i.value_span.clone()),
                None => (
                    "200".to_owned(),
                    detect.map(|d| d.value_span.clone()).unwrap_or_else(|| at.clone()),
                ),
            };
            fixed(OptionId::Miimon, v, &s);
        }
        None | Some("carrier") => {
            if let Some(i) = interval {
                findings.push(
                    Finding::warning(
                        &i.key_span,
                        "bond-miimon-interval has no effect without other_config:bond-detect-mode=miimon",
                    )
                    .with_fix("other_config:bond-detect-mode=miimon"),
                );
            }
            // OVS watches carrier: read as the kernel's carrier-based MII monitor.
            let s = detect.map(|d| d.value_span.clone()).unwrap_or_else(|| at.clone());
            fixed(OptionId::Miimon, "100".into(), &s);
        }
        Some(other) => {
            if let Some(d) = detect {
                findings.push(Finding::error(
                    &d.value_span,
                    format!("bond-detect-mode={other}: expected carrier or miimon"),
                ));
            }
        }
    }
    // The kernel wants miimon before the delays; apply_settings orders them.
    let (o, f) = apply_settings(&settings);
    findings.extend(f.into_iter().filter(|x| !x.message.contains("no effect in mode")));
    for s in &settings {
        b.spans.options.entry(s.id.name().to_owned()).or_insert_with(|| s.key_span.clone());
    }
    b.options = o;
    // One value per setting (the last written), in a fixed order: OVS columns are a map.
    let mut settings: Vec<(String, String)> = Vec::new();
    for (k, v) in ovs.settings {
        settings.retain(|(x, _)| *x != k);
        settings.push((k, v));
    }
    settings.sort();
    ovs.settings = settings;
    b.note(&Fact::Ovs, at.clone());
    b.ovs = Some(ovs);
}

/// `key=value` words as OVS settings (quotes removed).
fn items_of(
    words: &[(usize, &str)],
    span: &dyn Fn(usize) -> Span,
) -> (Vec<Item>, Vec<(usize, String)>) {
    let mut items = Vec::new();
    let mut plain = Vec::new();
    for &(at, w) in words {
        match w.split_once('=') {
            Some((k, v)) => items.push(Item {
                key: k.to_owned(),
                value: v.trim_matches('"').to_owned(),
                key_span: span(at),
                value_span: span(at + k.len() + 1),
            }),
            None => plain.push((at, w.to_owned())),
        }
    }
    (items, plain)
}

/// Parses `ovs-vsctl add-bond` lines and the `set port BOND ...` lines that set their
/// columns; other lines are ignored.
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut bonds: Vec<(BondConfig, String, Vec<Item>, Span)> = Vec::new();
    let mut findings = Vec::new();
    let mut later: Vec<(String, Vec<Item>)> = Vec::new();
    let mut iface_sets: Vec<(String, String, Span)> = Vec::new();
    for file in files {
        for line in logical_lines(&file.text, true) {
            let words = line.words();
            let Some(start) = words.iter().position(|(_, w)| w.ends_with("ovs-vsctl")) else {
                continue;
            };
            let span = |i: usize| line.span(&file.path, i);
            // Commands separated by `--`, each with its leading `--option`s.
            let mut commands: Vec<Vec<(usize, &str)>> = vec![Vec::new()];
            for &(at, w) in &words[start + 1..] {
                if w == "--" {
                    commands.push(Vec::new());
                } else if let Some(c) = commands.last_mut() {
                    if !(c.is_empty() && w.starts_with("--")) {
                        c.push((at, w));
                    }
                }
            }
            for cmd in commands {
                let Some(&(cat, verb)) = cmd.first() else { continue };
                let args = &cmd[1..];
                match verb {
                    "add-bond" => {
                        let (Some(&(_, bridge)), Some(&(pat, port))) = (args.first(), args.get(1))
                        else {
                            findings.push(Finding::error(
                                &span(cat),
                                "add-bond needs a bridge, a port and interfaces",
                            ));
                            continue;
                        };
                        let mut b = BondConfig::new(port);
                        b.spans.bond = Some(span(pat));
                        let (items, plain) = items_of(&args[2..], &span);
                        for (at, w) in plain {
                            if w.starts_with("--") {
                                continue;
                            }
                            if !b.slaves.contains(&w) {
                                b.spans.slaves.insert(w.clone(), span(at));
                                b.slaves.push(w);
                            }
                        }
                        if b.slaves.len() < 2 {
                            findings.push(
                                Finding::error(
                                    &span(pat),
                                    format!("add-bond {port}: ovs-vsctl needs at least two interfaces for a bond"),
                                )
                                .with_fix("name two interfaces, or use add-port for one"),
                            );
                        }
                        bonds.push((b, bridge.to_owned(), items, span(pat)));
                    }
                    "set" => {
                        let (Some(&(_, table)), Some(&(rat, record))) = (args.first(), args.get(1))
                        else {
                            continue;
                        };
                        let (items, _) = items_of(&args[2..], &span);
                        match table.to_ascii_lowercase().as_str() {
                            "port" => later.push((record.to_owned(), items)),
                            "interface" => {
                                let text =
                                    args.iter().map(|(_, w)| *w).collect::<Vec<_>>().join(" ");
                                iface_sets.push((
                                    record.to_owned(),
                                    format!("ovs-vsctl set {text}"),
                                    span(rat),
                                ));
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let mut out = Vec::new();
    for (mut b, bridge, mut items, at) in bonds {
        for (port, extra) in later.iter_mut().filter(|(p, _)| *p == b.name) {
            let _ = port;
            items.append(extra);
        }
        read_bond(&mut b, &bridge, &items, &at, &mut findings);
        for (iface, text, s) in &iface_sets {
            if b.slaves.contains(iface) {
                b.extra(text.clone(), s.clone());
            }
        }
        out.push(b);
    }
    Parsed { config: ConfigSet { bonds: out }, findings, unmarked: Vec::new() }
}

/// The OVS settings for a kernel bond, and the kernel options OVS cannot say.
fn ovs_settings(
    b: &BondConfig,
    lost: &mut Lost,
    comments: &mut Vec<String>,
) -> Vec<(String, String)> {
    let o = &b.options;
    let d = ubond_core::options::BondOptions::default();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut kv = |k: &str, v: String| out.push((k.to_owned(), v));
    let mut lose = |id: OptionId, why: &str| {
        let v = o.get(id.name()).unwrap_or_default();
        comments.push(lost.add(
            b,
            Fact::Option(id),
            format!("{}={}", id.name(), v.split_whitespace().next().unwrap_or("")),
            why,
        ));
    };
    match o.mode {
        Mode::ActiveBackup => kv("bond_mode", "active-backup".into()),
        Mode::Ieee8023ad => {
            if o.xmit_hash_policy == XmitHashPolicy::VlanSrcMac {
                kv("bond_mode", "balance-slb".into());
            } else {
                kv("bond_mode", "balance-tcp".into());
            }
            kv("lacp", if o.lacp_active { "active" } else { "passive" }.into());
            if o.lacp_rate == LacpRate::Fast {
                kv("other_config:lacp-time", "fast".into());
            }
            if o.ad_actor_sys_prio != d.ad_actor_sys_prio {
                kv("other_config:lacp-system-priority", o.ad_actor_sys_prio.to_string());
            }
            if !o.ad_actor_system.is_zero() {
                kv("other_config:lacp-system-id", o.ad_actor_system.to_string());
            }
            if o.lacp_fallback {
                kv("other_config:lacp-fallback-ab", "true".into());
            }
        }
        Mode::BalanceXor if o.xmit_hash_policy == XmitHashPolicy::VlanSrcMac => {
            kv("bond_mode", "balance-slb".into())
        }
        m => lose(
            OptionId::Mode,
            &format!("OVS has active-backup, balance-slb and balance-tcp, not {}", m.name()),
        ),
    }
    if o.miimon != 0 {
        kv("other_config:bond-detect-mode", "miimon".into());
        kv("other_config:bond-miimon-interval", o.miimon.to_string());
    }
    if o.updelay != 0 {
        kv("bond_updelay", o.updelay_ms().to_string());
    }
    if o.downdelay != 0 {
        kv("bond_downdelay", o.downdelay_ms().to_string());
    }
    if let Some(p) = &o.primary {
        kv("other_config:bond-primary", p.clone());
    }
    // What the kernel reading of these settings gives back; the rest is lost.
    let items: Vec<Item> = out
        .iter()
        .map(|(k, v)| Item {
            key: k.clone(),
            value: v.clone(),
            key_span: Span::default(),
            value_span: Span::default(),
        })
        .collect();
    let mut back = BondConfig::new(&b.name);
    read_bond(&mut back, "br0", &items, &Span::default(), &mut Vec::new());
    for &id in crate::settings::APPLY_ORDER {
        if matches!(
            id,
            OptionId::Mode
                | OptionId::QueueId
                | OptionId::Prio
                | OptionId::ActorPortPrio
                | OptionId::Slaves
                | OptionId::NumUnsolNa
        ) {
            continue;
        }
        let (want, got) = (o.get(id.name()).ok(), back.options.get(id.name()).ok());
        if want != got && !(id == OptionId::Miimon && o.miimon == 0) {
            lose(id, "no Open vSwitch equivalent");
        }
    }
    if o.miimon == 0 {
        comments.push(lost.add(
            b,
            Fact::Option(OptionId::Miimon),
            "miimon=0",
            "OVS always watches carrier (bond-detect-mode=carrier)",
        ));
    }
    for (s, line) in b.slave_options_lines() {
        comments.push(lost.add(b, Fact::SlaveOptions(s), line, "no Open vSwitch equivalent"));
    }
    out
}

/// Writes one `ovs-vsctl add-bond` line per bond (on its OVS bridge, else `br0`).
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = String::from("#!/bin/sh\n# written by ubond\n");
    for b in &set.bonds {
        let mut comments = lost.common(b, true, "ovs-vsctl");
        let (bridge, settings) = match &b.ovs {
            Some(o) => (o.bridge.clone(), o.settings.clone()),
            None => {
                comments.push(format!("{}: bridge br0 assumed", b.name));
                ("br0".to_owned(), ovs_settings(b, lost, &mut comments))
            }
        };
        let mut args = vec![format!("ovs-vsctl add-bond {bridge} {}", b.name)];
        args.extend(b.slaves.iter().cloned());
        args.extend(settings.iter().map(|(k, v)| format!("{k}={v}")));
        if b.slaves.len() >= 2 {
            out.push_str(&args.join(" \\\n    "));
            out.push('\n');
        } else {
            comments.push(lost.add(
                b,
                Fact::Slaves,
                format!("bond of {} interface(s)", b.slaves.len()),
                "ovs-vsctl add-bond needs two interfaces or more: the command is a comment",
            ));
            out.push_str(&format!("# {}\n", args.join(" ")));
        }
        if !b.on_boot {
            comments.push(lost.add(
                b,
                Fact::OnBoot,
                "not started at boot",
                "ovs-vsctl adds the bond to the database at once",
            ));
        }
        for (a, p) in &b.addresses {
            comments.push(lost.add(
                b,
                Fact::Address(*a, *p),
                format!("address {a}/{p}"),
                "addresses go on an internal port of the bridge",
            ));
        }
        for r in &b.routes {
            comments.push(lost.add(
                b,
                Fact::Route(r.clone()),
                format!("route {r}"),
                "routes go on an internal port of the bridge",
            ));
        }
        if b.dhcp4 {
            comments.push(lost.add(
                b,
                Fact::Dhcp4,
                "DHCPv4",
                "addresses go on an internal port of the bridge",
            ));
        }
        if b.dhcp6 {
            comments.push(lost.add(
                b,
                Fact::Dhcp6,
                "DHCPv6",
                "addresses go on an internal port of the bridge",
            ));
        }
        if !b.dns.is_empty() {
            comments.push(lost.add(b, Fact::Dns, b.dns.to_string(), "not part of an OVS bond"));
        }
        if let Some(m) = b.mtu {
            comments.push(lost.add(
                b,
                Fact::Mtu,
                format!("mtu {m}"),
                "set mtu_request on the members' Interface records",
            ));
        }
        if let Some(m) = b.mac {
            comments.push(lost.add(b, Fact::Mac, format!("mac {m}"), "not part of add-bond"));
        }
        for (s, m) in &b.matches {
            comments.push(lost.add(
                b,
                Fact::Match(s.clone()),
                format!("{s} found by {m}"),
                "ovs-vsctl names interfaces",
            ));
        }
        for c in comments {
            out.push_str(&format!("# {c}\n"));
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
