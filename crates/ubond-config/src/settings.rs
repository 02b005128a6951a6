//! From option settings as written in a file to [`BondOptions`], and back.
//!
//! Every format but the module-options one applies its settings with sysfs semantics
//! ([`BondOptions::set`] on a bond that is down and has no slaves yet), as the distributions'
//! scripts (ifenslave, initscripts' `ifup-eth`) write them to sysfs — but in a fixed
//! dependency order ([`APPLY_ORDER`]: `mode` first, `miimon` before the delays, ARP targets
//! before `arp_interval`, `primary` before `primary_reselect`), so the order in the file never
//! matters. The emitters write the options that differ from the kernel defaults, in the same
//! order, so that emit → parse gives the same options back.

use std::collections::BTreeMap;

use ubond_core::options::{BondOptions, Mode, OptionError, OptionId, SetContext, SlaveOptions};

use crate::finding::{Finding, Span};

/// The order in which settings are applied and emitted.
pub(crate) const APPLY_ORDER: &[OptionId] = &[
    OptionId::MaxBonds,
    OptionId::TxQueues,
    OptionId::Mode,
    OptionId::FailOverMac,
    OptionId::XmitHashPolicy,
    OptionId::LacpRate,
    OptionId::LacpActive,
    OptionId::AdSelect,
    OptionId::AdActorSysPrio,
    OptionId::AdActorSystem,
    OptionId::AdUserPortKey,
    OptionId::CoupledControl,
    OptionId::BroadcastNeighbor,
    OptionId::LacpStrict,
    OptionId::LacpFallback,
    OptionId::AdUnknownSpeed,
    OptionId::Bfd,
    OptionId::BfdMinTx,
    OptionId::BfdMinRx,
    OptionId::BfdMultiplier,
    OptionId::BfdPeer,
    OptionId::TcpDupDiscard,
    OptionId::MinLinks,
    OptionId::Miimon,
    OptionId::Updelay,
    OptionId::Downdelay,
    OptionId::PeerNotifDelay,
    OptionId::UseCarrier,
    OptionId::ArpIpTarget,
    OptionId::NsIp6Target,
    OptionId::ArpInterval,
    OptionId::ArpValidate,
    OptionId::ArpAllTargets,
    OptionId::ArpMissedMax,
    OptionId::Primary,
    OptionId::PrimaryReselect,
    OptionId::ActiveSlave,
    OptionId::NumGratArp,
    OptionId::NumUnsolNa,
    OptionId::ResendIgmp,
    OptionId::AllSlavesActive,
    OptionId::PacketsPerSlave,
    OptionId::LpInterval,
    OptionId::TlbDynamicLb,
    OptionId::QueueId,
    OptionId::Prio,
    OptionId::ActorPortPrio,
    OptionId::Slaves,
];

fn order(id: OptionId) -> usize {
    APPLY_ORDER.iter().position(|o| *o == id).unwrap_or(APPLY_ORDER.len())
}

/// One setting as written in a file.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    /// The option.
    pub id: OptionId,
    /// The key as written (`bond-miimon`, `miimon`), for messages.
    pub key: String,
    /// The value, converted to the kernel's spelling (`100` for netplan's `100ms`).
    pub value: String,
    /// The value as the file spells it, for messages.
    pub raw: String,
    /// For per-slave options (`queue_id`, `prio`, `actor_port_prio`) set on a slave.
    pub slave: Option<String>,
    /// Where the key is.
    pub key_span: Span,
    /// Where the value is.
    pub value_span: Span,
}

fn is_list(id: OptionId) -> bool {
    matches!(id, OptionId::ArpIpTarget | OptionId::NsIp6Target | OptionId::QueueId)
}

fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty())
}

fn mode_names(modes: &[Mode]) -> String {
    modes.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
}

/// Applies settings in [`APPLY_ORDER`]; returns the options and the findings (refused values
/// are errors, options without effect in the mode and overridden settings are warnings).
pub(crate) fn apply_settings(settings: &[Setting]) -> (BondOptions, Vec<Finding>) {
    let mut findings = Vec::new();
    // The last setting of an option wins (lists accumulate); earlier ones are reported.
    let mut kept: Vec<Setting> = Vec::new();
    for s in settings {
        let same = |k: &Setting| {
            k.slave == s.slave
                && (k.id == s.id
                    || matches!(
                        (k.id, s.id),
                        (OptionId::NumGratArp, OptionId::NumUnsolNa)
                            | (OptionId::NumUnsolNa, OptionId::NumGratArp)
                    ))
        };
        if !is_list(s.id) {
            if let Some(i) = kept.iter().position(same) {
                let old = kept.remove(i);
                findings.push(Finding::warning(
                    &old.key_span,
                    format!(
                        "'{}' is set again at line {}; this value is overridden",
                        old.key, s.key_span.line
                    ),
                ));
            }
        }
        kept.push(s.clone());
    }
    kept.sort_by_key(|s| order(s.id));

    let mut o = BondOptions::default();
    let ctx = SetContext::new();
    let given = |id: OptionId| kept.iter().find(|s| s.id == id && s.slave.is_none());
    let miimon_given = given(OptionId::Miimon).is_some();
    for s in &kept {
        let bad = |msg: String| Finding::error(&s.value_span, msg);
        match (s.id, &s.slave) {
            (OptionId::MaxBonds, _) => match s.value.trim().parse::<u32>() {
                Ok(n) if n <= i32::MAX.unsigned_abs() => o.max_bonds = n,
                _ => findings.push(bad(format!(
                    "invalid value '{}' for '{}': 0-{}",
                    s.value,
                    s.key,
                    i32::MAX
                ))),
            },
            (OptionId::TxQueues, _) => match s.value.trim().parse::<u16>() {
                Ok(n) if (1..=255).contains(&n) => o.tx_queues = n,
                _ => findings
                    .push(bad(format!("invalid value '{}' for '{}': 1-255", s.value, s.key))),
            },
            (OptionId::ArpIpTarget | OptionId::NsIp6Target, _) => {
                for item in list_items(&s.value) {
                    let item = item.strip_prefix('+').unwrap_or(item);
                    if let Err(e) = o.set(s.id.name(), &format!("+{item}"), &ctx) {
                        findings.push(refused(s, &e, o.mode));
                    }
                }
            }
            (OptionId::ActiveSlave, _) => {
                let name = s.value.split_whitespace().next().unwrap_or("");
                if !o.mode.uses_primary() {
                    findings.push(no_effect(s, o.mode));
                } else {
                    o.active_slave = (!name.is_empty()).then(|| name.to_owned());
                }
            }
            (OptionId::QueueId, None) => {
                for item in list_items(&s.value) {
                    match item.split_once(':').map(|(n, q)| (n, q.parse::<u16>())) {
                        Some((n, Ok(q))) if !n.is_empty() && q <= o.tx_queues => {
                            o.slave_options.entry(n.to_owned()).or_default().queue_id = q;
                        }
                        _ => findings.push(bad(format!(
                            "invalid value '{item}' for '{}': use ifname:queue_id, queue_id at most tx_queues ({})",
                            s.key, o.tx_queues
                        ))),
                    }
                }
            }
            (OptionId::QueueId | OptionId::Prio | OptionId::ActorPortPrio, Some(slave)) => {
                if !s.id.applies_to(o.mode) {
                    findings.push(no_effect(s, o.mode));
                    continue;
                }
                let v = s.value.trim();
                let entry = |o: &mut BondOptions| -> SlaveOptions {
                    o.slave_options.get(slave).copied().unwrap_or_default()
                };
                let mut so = entry(&mut o);
                let ok = match s.id {
                    OptionId::QueueId => {
                        v.parse::<u16>().ok().filter(|q| *q <= o.tx_queues).map(|q| so.queue_id = q)
                    }
                    OptionId::Prio => v.parse::<i32>().ok().map(|p| so.prio = p),
                    _ => v.parse::<u16>().ok().map(|p| so.actor_port_prio = p),
                };
                if ok.is_some() {
                    o.slave_options.insert(slave.clone(), so);
                } else {
                    findings.push(bad(format!("invalid value '{}' for '{}'", s.value, s.key)));
                }
            }
            (OptionId::Prio | OptionId::ActorPortPrio, None) => findings.push(Finding::error(
                &s.key_span,
                format!("'{}' is a per-slave option: set it on the slave", s.key),
            )),
            (OptionId::Slaves, _) => findings.push(Finding::error(
                &s.key_span,
                format!("'{}': slaves are not an option here", s.key),
            )),
            // A zero delay without the MII monitor: the default, which the kernel would
            // still refuse to write (ifupdown2 and NetworkManager skip it).
            (OptionId::Updelay | OptionId::Downdelay | OptionId::PeerNotifDelay, _)
                if o.miimon == 0 && s.value.trim() == "0" =>
            {
                findings.push(Finding::info(
                    &s.key_span,
                    format!("'{}' 0 without miimon: the default, nothing to set", s.key),
                ));
            }
            (id, _) => match o.set(id.name(), &s.value, &ctx) {
                Ok(warnings) => {
                    for w in warnings {
                        let m = &w.message;
                        if id == OptionId::Mode && miimon_given && m.contains("MII monitoring") {
                            continue;
                        }
                        if m.contains("not been enslaved yet") {
                            continue; // the slaves are checked by the common lint
                        }
                        if m.contains("cannot be used with") {
                            continue; // reported below, once, with both places
                        }
                        if m.contains("no ARP targets") {
                            continue; // the shared checks look at the final options
                        }
                        let f = if id == OptionId::Mode {
                            Finding::info(&s.value_span, format!("'{}': {m}", s.key))
                        } else {
                            Finding::warning(&s.value_span, format!("'{}': {m}", s.key))
                        };
                        findings.push(f);
                    }
                }
                Err(e) => findings.push(refused(s, &e, o.mode)),
            },
        }
    }

    // Two link monitors: the one applied last switches the other off.
    if let (Some(m), Some(a)) = (given(OptionId::Miimon), given(OptionId::ArpInterval)) {
        let on = |s: &Setting| s.value.trim() != "0";
        if on(m) && on(a) {
            findings.push(Finding::warning(
                &a.key_span,
                format!(
                    "'{}' and '{}' (line {}) both set: the kernel runs one link monitor, and ARP monitoring switches MII monitoring off; keep one",
                    a.key, m.key, m.key_span.line
                ),
            ));
        }
    }
    // Options the kernel accepts in every mode but that do nothing in this one.
    if let Some(s) = given(OptionId::XmitHashPolicy) {
        let useful = matches!(o.mode, Mode::BalanceXor | Mode::Ieee8023ad)
            || (o.mode == Mode::BalanceTlb && !o.tlb_dynamic_lb);
        if !useful {
            findings.push(no_effect_note(
                s,
                o.mode,
                "balance-xor, 802.3ad, balance-tlb with tlb_dynamic_lb=0",
            ));
        }
    }
    if let Some(s) = given(OptionId::FailOverMac) {
        if o.mode != Mode::ActiveBackup && s.value.trim() != "none" && s.value.trim() != "0" {
            findings.push(no_effect_note(s, o.mode, "active-backup"));
        }
    }
    normalize(&mut o);
    (o, findings)
}

/// `use_carrier=0` (poll the MII registers instead of the carrier), valid in the files of every
/// kernel before Linux 6.16, which removed it (as ubond has no such poll): taken out of
/// `settings` with a warning, and kept as a line the conversions say they do not carry.
pub(crate) fn take_use_carrier_off(
    settings: &mut Vec<Setting>,
    b: &mut crate::model::BondConfig,
    findings: &mut Vec<Finding>,
) {
    settings.retain(|s| {
        let off = s.id == OptionId::UseCarrier
            && s.slave.is_none()
            && matches!(s.value.trim().to_ascii_lowercase().as_str(), "0" | "off" | "no" | "false");
        if off {
            findings.push(Finding::warning(
                &s.key_span,
                format!(
                    "'{}' {}: polling the MII registers instead of carrier is gone from Linux 6.16 and ubond; carrier is used",
                    s.key, s.raw
                ),
            ));
            b.extra(format!("{}={}", s.key, s.raw), s.key_span.clone());
        }
        !off
    });
}

fn no_effect(s: &Setting, mode: Mode) -> Finding {
    no_effect_note(s, mode, &mode_names(&s.id.modes()))
}

fn no_effect_note(s: &Setting, mode: Mode, modes: &str) -> Finding {
    Finding::warning(
        &s.key_span,
        format!("'{}' has no effect in mode {}: it applies to {}", s.key, mode.name(), modes),
    )
}

fn refused(s: &Setting, e: &OptionError, mode: Mode) -> Finding {
    match e {
        OptionError::NotSupportedInMode { supported, .. } => {
            // A value the option refuses in every mode is an error all the same.
            let mut probe = BondOptions::default();
            let ctx = SetContext::new();
            let tried = supported.first().map(|m| {
                let _ = probe.set("mode", m.name(), &ctx);
                probe.set(s.id.name(), &s.value, &ctx)
            });
            match tried {
                Some(Err(inner @ OptionError::InvalidValue { .. })) => refused(s, &inner, mode),
                _ => no_effect(s, mode),
            }
        }
        _ => {
            // Quote the value as the file spells it.
            let mut m = e.to_string();
            if s.raw != s.value && !s.value.is_empty() {
                m = m.replace(&format!("{:?}", s.value), &format!("{:?}", s.raw));
            }
            Finding::error(&s.value_span, format!("'{}': {m}", s.key))
        }
    }
}

/// The options that differ from the kernel defaults, in [`APPLY_ORDER`], with values as a
/// module-options string writes them (lists comma-separated). Per-slave `prio` and
/// `actor_port_prio` are not included (see [`slave_settings`]); `queue_id` is, as
/// `ifname:N,...`.
pub(crate) fn option_pairs(o: &BondOptions) -> Vec<(OptionId, String)> {
    // Compared in the same mode, as some options read back empty outside 802.3ad.
    // What setting the mode alone gives (802.3ad, tlb and alb force miimon=100).
    let mut d = BondOptions::default();
    let _ = d.set("mode", o.mode.name(), &SetContext::new());
    let mut out = Vec::new();
    // Written as people write them: mode and the MII monitor first (parsing does not depend
    // on the order).
    let first = [OptionId::Mode, OptionId::Miimon, OptionId::Updelay, OptionId::Downdelay];
    let rest = APPLY_ORDER.iter().copied().filter(|id| !first.contains(id));
    for id in first.into_iter().chain(rest) {
        let value = match id {
            OptionId::Slaves | OptionId::Prio | OptionId::ActorPortPrio | OptionId::NumUnsolNa => {
                continue
            }
            OptionId::ArpIpTarget => join(&o.arp_ip_target),
            OptionId::NsIp6Target => join(&o.ns_ip6_target),
            OptionId::QueueId => o
                .slave_options
                .iter()
                .filter(|(_, s)| s.queue_id != 0)
                .map(|(n, s)| format!("{n}:{}", s.queue_id))
                .collect::<Vec<_>>()
                .join(","),
            OptionId::Primary | OptionId::ActiveSlave => o.get(id.name()).unwrap_or_default(),
            _ => {
                let v = o.get(id.name()).unwrap_or_default();
                let base = if id == OptionId::Mode { BondOptions::default() } else { d.clone() };
                // A running MII monitor is always written, even where the mode implies it.
                let explicit = id == OptionId::Miimon && o.miimon != 0;
                if v == base.get(id.name()).unwrap_or_default() && !explicit {
                    continue;
                }
                v.split_whitespace().next().unwrap_or("").to_owned()
            }
        };
        if !value.is_empty() {
            out.push((id, value));
        }
    }
    out
}

/// Per-slave `prio` and `actor_port_prio` that differ from the defaults, by slave.
pub(crate) fn slave_settings(o: &BondOptions) -> BTreeMap<String, Vec<(OptionId, String)>> {
    let d = SlaveOptions::default();
    let mut out: BTreeMap<String, Vec<(OptionId, String)>> = BTreeMap::new();
    for (name, s) in &o.slave_options {
        let e = out.entry(name.clone()).or_default();
        if s.prio != d.prio {
            e.push((OptionId::Prio, s.prio.to_string()));
        }
        if s.actor_port_prio != d.actor_port_prio {
            e.push((OptionId::ActorPortPrio, s.actor_port_prio.to_string()));
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",")
}

/// Drops per-slave entries that hold only defaults (so equal meaning compares equal).
pub(crate) fn normalize(o: &mut BondOptions) {
    let d = SlaveOptions::default();
    o.slave_options.retain(|_, s| *s != d);
}

/// [`option_pairs`] without the module-only parameters (`max_bonds`, `tx_queues`), for formats
/// that set options through sysfs.
pub(crate) fn sysfs_option_pairs(o: &BondOptions) -> Vec<(OptionId, String)> {
    option_pairs(o)
        .into_iter()
        .filter(|(id, _)| id.scope() != ubond_core::options::Scope::Module)
        .collect()
}

/// Copies option `id` of `from` into `to` (for comparing two bonds but for one option).
pub(crate) fn copy_option(to: &mut BondOptions, from: &BondOptions, id: OptionId) {
    match id {
        OptionId::Mode => to.mode = from.mode,
        OptionId::PacketsPerSlave => to.packets_per_slave = from.packets_per_slave,
        OptionId::XmitHashPolicy => to.xmit_hash_policy = from.xmit_hash_policy,
        OptionId::ArpValidate => to.arp_validate = from.arp_validate,
        OptionId::ArpAllTargets => to.arp_all_targets = from.arp_all_targets,
        OptionId::FailOverMac => to.fail_over_mac = from.fail_over_mac,
        OptionId::ArpInterval => to.arp_interval = from.arp_interval,
        OptionId::ArpMissedMax => to.arp_missed_max = from.arp_missed_max,
        OptionId::ArpIpTarget => to.arp_ip_target = from.arp_ip_target.clone(),
        OptionId::NsIp6Target => to.ns_ip6_target = from.ns_ip6_target.clone(),
        OptionId::Downdelay => to.downdelay = from.downdelay,
        OptionId::Updelay => to.updelay = from.updelay,
        OptionId::LacpActive => to.lacp_active = from.lacp_active,
        OptionId::LacpRate => to.lacp_rate = from.lacp_rate,
        OptionId::MinLinks => to.min_links = from.min_links,
        OptionId::AdSelect => to.ad_select = from.ad_select,
        OptionId::NumUnsolNa | OptionId::NumGratArp => to.num_peer_notif = from.num_peer_notif,
        // The delays count miimon intervals: another miimon is other delays.
        OptionId::Miimon => {
            to.miimon = from.miimon;
            to.updelay = from.updelay;
            to.downdelay = from.downdelay;
            to.peer_notif_delay = from.peer_notif_delay;
        }
        OptionId::Primary => to.primary = from.primary.clone(),
        OptionId::PrimaryReselect => to.primary_reselect = from.primary_reselect,
        OptionId::UseCarrier => to.use_carrier = from.use_carrier,
        OptionId::ActiveSlave => to.active_slave = from.active_slave.clone(),
        OptionId::QueueId | OptionId::Prio | OptionId::ActorPortPrio | OptionId::Slaves => {
            to.slave_options = from.slave_options.clone()
        }
        OptionId::AllSlavesActive => to.all_slaves_active = from.all_slaves_active,
        OptionId::ResendIgmp => to.resend_igmp = from.resend_igmp,
        OptionId::LpInterval => to.lp_interval = from.lp_interval,
        OptionId::TlbDynamicLb => to.tlb_dynamic_lb = from.tlb_dynamic_lb,
        OptionId::AdActorSysPrio => to.ad_actor_sys_prio = from.ad_actor_sys_prio,
        OptionId::AdActorSystem => to.ad_actor_system = from.ad_actor_system,
        OptionId::AdUserPortKey => to.ad_user_port_key = from.ad_user_port_key,
        OptionId::PeerNotifDelay => to.peer_notif_delay = from.peer_notif_delay,
        OptionId::CoupledControl => to.coupled_control = from.coupled_control,
        OptionId::BroadcastNeighbor => to.broadcast_neighbor = from.broadcast_neighbor,
        OptionId::LacpStrict => to.lacp_strict = from.lacp_strict,
        OptionId::MaxBonds => to.max_bonds = from.max_bonds,
        OptionId::TxQueues => to.tx_queues = from.tx_queues,
        OptionId::LacpFallback => to.lacp_fallback = from.lacp_fallback,
        OptionId::AdUnknownSpeed => to.ad_unknown_speed = from.ad_unknown_speed,
        OptionId::Bfd => to.bfd = from.bfd,
        OptionId::BfdMinTx => to.bfd_min_tx = from.bfd_min_tx,
        OptionId::BfdMinRx => to.bfd_min_rx = from.bfd_min_rx,
        OptionId::BfdMultiplier => to.bfd_multiplier = from.bfd_multiplier,
        OptionId::TcpDupDiscard => to.tcp_dup_discard = from.tcp_dup_discard,
        OptionId::BfdPeer => to.bfd_peer = from.bfd_peer,
    }
}
