//! Open vSwitch `ovs-vsctl add-bond` lines (in shell scripts or as typed).
//!
//! ```text
//! ovs-vsctl add-bond br0 bond0 eth0 eth1 bond_mode=balance-tcp lacp=active \
//!     other_config:lacp-time=fast other_config:bond-miimon-interval=100 \
//!     other_config:bond-detect-mode=miimon bond_updelay=200
//! ```
//!
//! OVS bonds are not the kernel's, so the mapping is approximate and said so:
//! `bond_mode=active-backup` is `active-backup`; `balance-tcp` (LACP required) is `802.3ad`
//! with `xmit_hash_policy=layer3+4`; `lacp=active|passive` without a mode is `802.3ad`
//! (`lacp_active` on/off); `balance-slb` has no kernel equivalent and is read as
//! `balance-xor` with `xmit_hash_policy=vlan+srcmac` (info). `other_config:` keys:
//! `lacp-time` (`lacp_rate`), `bond-miimon-interval` with `bond-detect-mode=miimon`
//! (`miimon`), `bond-primary` (`primary`), `lacp-system-priority` (`ad_actor_sys_prio`),
//! `lacp-system-id` (`ad_actor_system`), `lacp-fallback-ab=true` (ubond's `lacp_fallback`).
//! `bond_updelay` / `bond_downdelay` are milliseconds. Addresses are not part of `add-bond`.
//! The emitter writes one `add-bond` line per bond (bridge `br0`), and comments for what OVS
//! cannot say.

use ubond_core::options::{LacpRate, Mode, OptionId, XmitHashPolicy};

use crate::finding::{Finding, Span};
use crate::model::{BondConfig, ConfigSet, Parsed, SourceFile};
use crate::settings::{apply_settings, Setting};
use crate::text::{did_you_mean, logical_lines, suggestion_suffix};

/// The path [`emit`] writes.
pub const DEFAULT_PATH: &str = "ovs-bonds.sh";

const COLUMNS: &[&str] =
    &["bond_mode", "lacp", "bond_updelay", "bond_downdelay", "bond_fake_iface"];
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

/// Parses `ovs-vsctl add-bond` lines; other lines are ignored.
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut bonds = Vec::new();
    let mut findings = Vec::new();
    for file in files {
        for line in logical_lines(&file.text, true) {
            let words = line.words();
            let Some(at) = words.iter().position(|(_, w)| *w == "add-bond") else { continue };
            if !words[..at].iter().any(|(_, w)| w.ends_with("ovs-vsctl")) {
                continue;
            }
            let args: Vec<(usize, &str)> =
                words[at + 1..].iter().copied().filter(|(_, w)| !w.starts_with("--")).collect();
            let span = |i: usize| line.span(&file.path, i);
            let (Some(_bridge), Some(&(pat, port))) = (args.first(), args.get(1)) else {
                findings.push(Finding::error(
                    &span(words[at].0),
                    "add-bond needs a bridge, a port and interfaces",
                ));
                continue;
            };
            let mut b = BondConfig::new(port);
            b.spans.bond = Some(span(pat));
            let mut settings = Vec::new();
            let mut mode: Option<(String, Span)> = None;
            let mut lacp: Option<(String, Span)> = None;
            let mut detect_miimon = false;
            let mut miimon: Option<(String, Span)> = None;
            for &(wat, w) in &args[2..] {
                let Some((k, v)) = w.split_once('=') else {
                    if !b.slaves.iter().any(|s| s == w) {
                        b.slaves.push(w.to_owned());
                        b.spans.slaves.insert(w.to_owned(), span(wat));
                    }
                    continue;
                };
                let ks = span(wat);
                let vs = span(wat + k.len() + 1);
                let v = v.trim_matches('"');
                let mut push = |id: OptionId, value: &str| {
                    settings.push(Setting {
                        id,
                        key: k.to_owned(),
                        value: value.to_owned(),
                        slave: None,
                        key_span: ks.clone(),
                        value_span: vs.clone(),
                    });
                };
                match k {
                    "bond_mode" => mode = Some((v.to_owned(), vs.clone())),
                    "lacp" => lacp = Some((v.to_owned(), vs.clone())),
                    "bond_updelay" => push(OptionId::Updelay, v),
                    "bond_downdelay" => push(OptionId::Downdelay, v),
                    "bond_fake_iface" => {}
                    "other_config:lacp-time" => push(OptionId::LacpRate, v),
                    "other_config:bond-detect-mode" => detect_miimon = v == "miimon",
                    "other_config:bond-miimon-interval" => {
                        miimon = Some((v.to_owned(), vs.clone()))
                    }
                    "other_config:bond-primary" => push(OptionId::Primary, v),
                    "other_config:lacp-system-priority" => push(OptionId::AdActorSysPrio, v),
                    "other_config:lacp-system-id" => push(OptionId::AdActorSystem, v),
                    "other_config:lacp-fallback-ab" => {
                        push(OptionId::LacpFallback, if v == "true" { "1" } else { "0" })
                    }
                    other => {
                        let (cands, prefix): (Vec<&str>, &str) =
                            match other.strip_prefix("other_config:") {
                                Some(_) => (OTHER.to_vec(), "other_config:"),
                                None => (COLUMNS.to_vec(), ""),
                            };
                        let bare = other.strip_prefix(prefix).unwrap_or(other);
                        if prefix.is_empty() || !OTHER.contains(&bare) {
                            let s = did_you_mean(bare, cands.iter().copied());
                            let mut f = Finding::warning(
                                &ks,
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
                                &ks,
                                format!("'{other}' has no kernel bonding equivalent: ignored"),
                            ));
                        }
                    }
                }
            }
            let lacp_on = lacp.as_ref().is_some_and(|(v, _)| v == "active" || v == "passive");
            let (m, xhp) = match mode.as_ref().map(|(m, s)| (m.as_str(), s)) {
                Some(("active-backup", _)) if !lacp_on => (Mode::ActiveBackup, None),
                Some(("balance-tcp", s)) => {
                    if !lacp_on {
                        findings.push(Finding::error(
                            s,
                            "bond_mode=balance-tcp needs lacp=active or lacp=passive",
                        ));
                    }
                    (Mode::Ieee8023ad, Some(XmitHashPolicy::Layer34))
                }
                Some(("balance-slb", s)) => {
                    findings.push(Finding::info(s, "balance-slb has no kernel equivalent: read as balance-xor with xmit_hash_policy=vlan+srcmac"));
                    (
                        if lacp_on { Mode::Ieee8023ad } else { Mode::BalanceXor },
                        Some(XmitHashPolicy::VlanSrcMac),
                    )
                }
                Some((other, s)) if other != "active-backup" => {
                    let sug = did_you_mean(other, ["active-backup", "balance-slb", "balance-tcp"]);
                    let mut f = Finding::error(
                        s,
                        format!("unknown bond_mode '{other}'{}", suggestion_suffix(sug)),
                    );
                    if let Some(x) = sug {
                        f = f.with_fix(x);
                    }
                    findings.push(f);
                    (Mode::ActiveBackup, None)
                }
                _ if lacp_on => (Mode::Ieee8023ad, None),
                // OVS's default bond mode.
                _ => (Mode::ActiveBackup, None),
            };
            let ms = mode.as_ref().map(|(_, s)| s.clone()).unwrap_or_else(|| span(pat));
            settings.push(Setting {
                id: OptionId::Mode,
                key: "bond_mode".into(),
                value: m.name().into(),
                slave: None,
                key_span: ms.clone(),
                value_span: ms.clone(),
            });
            if let Some(x) = xhp {
                settings.push(Setting {
                    id: OptionId::XmitHashPolicy,
                    key: "bond_mode".into(),
                    value: x.to_string(),
                    slave: None,
                    key_span: ms.clone(),
                    value_span: ms,
                });
            }
            if let Some((v, s)) = &lacp {
                match v.as_str() {
                    "passive" => settings.push(Setting {
                        id: OptionId::LacpActive,
                        key: "lacp".into(),
                        value: "off".into(),
                        slave: None,
                        key_span: s.clone(),
                        value_span: s.clone(),
                    }),
                    "active" | "off" => {}
                    other => findings.push(Finding::error(
                        s,
                        format!("lacp={other}: expected active, passive or off"),
                    )),
                }
            }
            if let Some((v, s)) = miimon {
                if detect_miimon {
                    settings.push(Setting {
                        id: OptionId::Miimon,
                        key: "other_config:bond-miimon-interval".into(),
                        value: v,
                        slave: None,
                        key_span: s.clone(),
                        value_span: s,
                    });
                } else {
                    findings.push(Finding::warning(&s, "bond-miimon-interval has no effect without other_config:bond-detect-mode=miimon").with_fix("other_config:bond-detect-mode=miimon"));
                }
            }
            let (o, f) = apply_settings(&settings);
            findings.extend(f.into_iter().filter(|x| !x.message.contains("no effect in mode")));
            for s in &settings {
                b.spans.options.insert(s.id.name().to_owned(), s.key_span.clone());
            }
            b.options = o;
            bonds.push(b);
        }
    }
    Parsed { config: ConfigSet { bonds }, findings }
}

/// Writes one `ovs-vsctl add-bond` line per bond, on bridge `br0`.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    let mut out = String::from("#!/bin/sh\n# written by ubond (bridge br0 assumed)\n");
    for b in &set.bonds {
        let o = &b.options;
        let d = ubond_core::options::BondOptions::default();
        let mut args = vec![format!("ovs-vsctl add-bond br0 {}", b.name)];
        args.extend(b.slaves.iter().cloned());
        let mut lost = Vec::new();
        match o.mode {
            Mode::ActiveBackup => args.push("bond_mode=active-backup".into()),
            Mode::Ieee8023ad => {
                if o.xmit_hash_policy == XmitHashPolicy::VlanSrcMac {
                    args.push("bond_mode=balance-slb".into());
                } else {
                    args.push("bond_mode=balance-tcp".into());
                    if o.xmit_hash_policy != XmitHashPolicy::Layer34 {
                        lost.push(format!("xmit_hash_policy={}", o.xmit_hash_policy));
                    }
                }
                args.push(format!("lacp={}", if o.lacp_active { "active" } else { "passive" }));
                if o.lacp_rate == LacpRate::Fast {
                    args.push("other_config:lacp-time=fast".into());
                }
                if o.ad_actor_sys_prio != d.ad_actor_sys_prio {
                    args.push(format!("other_config:lacp-system-priority={}", o.ad_actor_sys_prio));
                }
                if !o.ad_actor_system.is_zero() {
                    args.push(format!("other_config:lacp-system-id={}", o.ad_actor_system));
                }
                if o.lacp_fallback {
                    args.push("other_config:lacp-fallback-ab=true".into());
                }
            }
            Mode::BalanceXor if o.xmit_hash_policy == XmitHashPolicy::VlanSrcMac => {
                args.push("bond_mode=balance-slb".into())
            }
            m => lost.push(format!(
                "mode={} (OVS has active-backup, balance-slb, balance-tcp)",
                m.name()
            )),
        }
        if !b.on_boot {
            lost.push(
                "not started at boot (ovs-vsctl adds the bond to the database at once)".into(),
            );
        }
        if o.miimon != 0 {
            args.push("other_config:bond-detect-mode=miimon".into());
            args.push(format!("other_config:bond-miimon-interval={}", o.miimon));
        }
        if o.updelay != 0 {
            args.push(format!("bond_updelay={}", o.updelay_ms()));
        }
        if o.downdelay != 0 {
            args.push(format!("bond_downdelay={}", o.downdelay_ms()));
        }
        if let Some(p) = &o.primary {
            args.push(format!("other_config:bond-primary={p}"));
        }
        out.push_str(&args.join(" \\\n    "));
        out.push('\n');
        for l in lost {
            out.push_str(&format!("# {}: not expressible in OVS: {l}\n", b.name));
        }
        if !b.addresses.is_empty() {
            out.push_str(&format!("# {}: addresses go on an internal port of br0\n", b.name));
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
