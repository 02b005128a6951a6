//! `modprobe bonding` / `BONDING_OPTS` strings, with the semantics of the kernel's
//! `bond_check_params`.
//!
//! # What is modelled
//!
//! The string is split like the kernel's `parse_args` (white space separates `name=value`
//! tokens; double quotes protect spaces; `-` and `_` in names are the same; a `bonding.` prefix,
//! as on the kernel command line, is allowed). A parameter given twice takes its last value,
//! with a warning.
//!
//! **The module parameters** (`mode`, `miimon`, `updelay`, `downdelay`, `use_carrier`,
//! `arp_interval`, `arp_ip_target`, `arp_validate`, `arp_all_targets`, `primary`,
//! `primary_reselect`, `fail_over_mac`, `xmit_hash_policy`, `lacp_rate`, `ad_select`,
//! `min_links`, `num_grat_arp`/`num_unsol_na`, `all_slaves_active`, `resend_igmp`,
//! `packets_per_slave`, `lp_interval`, `max_bonds`, `tx_queues`) are applied as
//! `bond_check_params` does, **whatever their order in the string**: `mode` first, then the
//! others in the kernel's fixed order, with its warnings and resets (an out-of-range
//! `resend_igmp` is reset to 1 with a warning, `miimon` is forced to 100 in 802.3ad/tlb/alb,
//! `lacp_rate` and `xmit_hash_policy` are ignored — not even parsed — in modes where they are
//! irrelevant, `primary_reselect` is read only together with `primary`, `arp_validate` without
//! `arp_interval` is an error, ...). Integer parameters are read as the kernel's `kstrtoint`
//! (`0x` hex and leading-`0` octal are accepted: `miimon=010` is 8); word parameters as
//! `bond_opt_parse`.
//!
//! **Every other option** (`BONDING_OPTS` and NetworkManager's `bond.options` accept them, as
//! their scripts write them to sysfs: `lacp_active`, `ad_actor_system`, `arp_missed_max`,
//! `peer_notif_delay`, `ns_ip6_target`, `tlb_dynamic_lb`, `coupled_control`, ... and ubond's
//! `lacp_fallback`, `ad_unknown_speed`) is applied afterwards with sysfs semantics
//! ([`BondOptions::set`] on a bond that is down with no slaves), in a fixed order that
//! satisfies their dependencies (`peer_notif_delay` after `miimon`, everything after `mode`).
//! `active_slave` and `queue_id=ifname:N` are recorded without checking the slaves, which do
//! not exist yet. So sysfs's order constraints (`miimon` before `updelay`, `mode` before
//! `arp_validate`, ...) never bite here.
//!
//! Differences from the kernel, deliberately: `arp_ip_target` elements may carry the `+`
//! of `BONDING_OPTS` (`arp_ip_target=+192.0.2.1,+192.0.2.2`); a negative `min_links` is refused
//! (the kernel stores it and shows 4294967295).

use std::fmt;

use super::parse::{did_you_mean, in4_pton, ip_target_ok, kstrtoint, kstrtouint, parse_value};
use super::spec::{allowed, OptionId};
use super::values::{self as v, Mode};
use super::{ad_select_from_number, BondOptions, OptionError, SetContext, Warning, MAX_TARGETS};

/// The result of [`parse_module_options`]: the options, and what the kernel would have logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOptions {
    /// The bond's options.
    pub options: BondOptions,
    /// The kernel's warnings (resets, ignored parameters, rounded delays), in its order.
    pub warnings: Vec<Warning>,
}

/// A module-options string that the kernel would refuse (module load fails), or an option
/// that ubond cannot apply. Names the token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOptionsError {
    /// The `name=value` token concerned.
    pub token: String,
    /// Its byte offset in the string.
    pub offset: usize,
    /// What is wrong with it.
    pub error: OptionError,
}

impl fmt::Display for ModuleOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}, {:?}: {}", self.offset, self.token, self.error)
    }
}

impl std::error::Error for ModuleOptionsError {}

struct Params(Vec<(OptionId, Param)>);

impl Params {
    fn get(&self, id: OptionId) -> Option<&Param> {
        self.0.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }
}

#[derive(Debug, Clone)]
struct Param {
    value: String,
    token: String,
    offset: usize,
}

/// Splits like the kernel's `next_arg`: white space outside double quotes separates tokens.
pub(super) fn tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if super::parse::is_space(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut in_quote = false;
        while i < b.len() && (in_quote || !super::parse::is_space(b[i])) {
            if b[i] == b'"' {
                in_quote = !in_quote;
            }
            i += 1;
        }
        // Token boundaries are ASCII bytes, so these are char boundaries.
        out.push((start, &s[start..i]));
    }
    out
}

pub(super) fn unquote(s: &str) -> &str {
    let s = s.strip_prefix('"').unwrap_or(s);
    s.strip_suffix('"').unwrap_or(s)
}

/// Parses a `modprobe bonding` / `BONDING_OPTS` string (`mode=802.3ad miimon=100
/// lacp_rate=fast xmit_hash_policy=layer2+3 arp_ip_target=192.0.2.1,192.0.2.2`) into options,
/// with the kernel's module-load semantics; see the module docs for the rules.
pub fn parse_module_options(s: &str) -> Result<ModuleOptions, ModuleOptionsError> {
    let mut params: Vec<(OptionId, Param)> = Vec::new();
    let mut warnings = Vec::new();
    for (offset, raw) in tokens(s) {
        let tok = unquote(raw);
        let (name, value) = match tok.split_once('=') {
            Some((n, v)) => (n, Some(unquote(v))),
            None => (tok, None),
        };
        let norm = name.strip_prefix("bonding.").unwrap_or(name).replace('-', "_");
        let err = |error| ModuleOptionsError { token: raw.to_owned(), offset, error };
        let id = match OptionId::from_name(&norm) {
            Some(OptionId::NumGratArp) => OptionId::NumUnsolNa,
            Some(OptionId::Slaves | OptionId::Prio | OptionId::ActorPortPrio) | None => {
                return Err(err(OptionError::UnknownOption {
                    name: name.to_owned(),
                    suggestion: did_you_mean(
                        &norm,
                        OptionId::ALL
                            .iter()
                            .filter(|o| {
                                !matches!(
                                    o,
                                    OptionId::Slaves | OptionId::Prio | OptionId::ActorPortPrio
                                )
                            })
                            .map(|o| o.name()),
                    ),
                }))
            }
            Some(id) => id,
        };
        let Some(value) = value else {
            return Err(err(OptionError::InvalidValue {
                option: id.name(),
                value: String::new(),
                allowed: format!("{}=<value>", id.name()),
            }));
        };
        let param = Param { value: value.to_owned(), token: raw.to_owned(), offset };
        if let Some(slot) = params.iter_mut().find(|(i, _)| *i == id) {
            warnings.push(Warning::new(
                id.name(),
                format!("given twice; the last value ({value:?}) is used"),
            ));
            slot.1 = param;
        } else {
            params.push((id, param));
        }
    }
    let params = Params(params);
    let mut cp = CheckParams { o: BondOptions::default(), w: warnings };
    cp.check_params(&params)?;
    cp.sysfs_only(&params)?;
    Ok(ModuleOptions { options: cp.o, warnings: cp.w })
}

struct CheckParams {
    o: BondOptions,
    w: Vec<Warning>,
}

fn fail(p: &Param, error: OptionError) -> ModuleOptionsError {
    ModuleOptionsError { token: p.token.clone(), offset: p.offset, error }
}

fn invalid(id: OptionId, p: &Param, allowed: String) -> ModuleOptionsError {
    fail(p, OptionError::InvalidValue { option: id.name(), value: p.value.clone(), allowed })
}

fn table_value(id: OptionId, p: &Param) -> Result<u64, ModuleOptionsError> {
    let tbl = id.spec().table.unwrap_or(&[]);
    parse_value(tbl, &p.value).ok_or_else(|| invalid(id, p, allowed(tbl)))
}

fn int_param(id: OptionId, get: &Params, default: i32) -> Result<i32, ModuleOptionsError> {
    match get.get(id) {
        None => Ok(default),
        Some(p) => kstrtoint(&p.value).ok_or_else(|| {
            invalid(id, p, "an integer (decimal, 0x hex or 0-prefixed octal)".to_owned())
        }),
    }
}

const INT_MAX: i32 = i32::MAX;

impl CheckParams {
    fn warn(&mut self, id: OptionId, msg: String) {
        self.w.push(Warning::new(id.name(), msg));
    }

    /// `bond_check_params`, in its order.
    fn check_params(&mut self, get: &Params) -> Result<(), ModuleOptionsError> {
        use OptionId as O;
        let mode = match get.get(O::Mode) {
            Some(p) => Mode::from_number(table_value(O::Mode, p)?).unwrap_or_default(),
            None => Mode::BalanceRr,
        };
        self.o.mode = mode;

        if let Some(p) = get.get(O::XmitHashPolicy) {
            if matches!(mode, Mode::BalanceRr | Mode::ActiveBackup | Mode::Broadcast) {
                self.warn(
                    O::XmitHashPolicy,
                    format!("xmit_hash_policy param is irrelevant in mode {}", mode.long_name()),
                );
            } else {
                let n = table_value(O::XmitHashPolicy, p)?;
                self.o.xmit_hash_policy = super::XmitHashPolicy::from_number(n).unwrap_or_default();
            }
        }
        if let Some(p) = get.get(O::LacpRate) {
            if mode != Mode::Ieee8023ad {
                self.warn(
                    O::LacpRate,
                    format!("lacp_rate param is irrelevant in mode {}", mode.long_name()),
                );
            } else {
                let n = table_value(O::LacpRate, p)?;
                self.o.lacp_rate = v::LacpRate::from_number(n).unwrap_or_default();
            }
        }
        if let Some(p) = get.get(O::AdSelect) {
            self.o.ad_select =
                ad_select_from_number(table_value(O::AdSelect, p)?).unwrap_or_default();
            if mode != Mode::Ieee8023ad {
                self.warn(O::AdSelect, "ad_select param only affects 802.3ad mode".to_owned());
            }
        }

        let mut max_bonds = int_param(O::MaxBonds, get, 1)?;
        if max_bonds < 0 {
            self.warn(O::MaxBonds, format!("Warning: max_bonds ({max_bonds}) not in range 0-{INT_MAX}, so it was reset to BOND_DEFAULT_MAX_BONDS (1)"));
            max_bonds = 1;
        }
        let mut miimon = int_param(O::Miimon, get, 0)?;
        if miimon < 0 {
            self.warn(O::Miimon, format!("Warning: miimon module parameter ({miimon}), not in range 0-{INT_MAX}, so it was reset to 0"));
            miimon = 0;
        }
        let mut updelay = int_param(O::Updelay, get, 0)?;
        if updelay < 0 {
            self.warn(O::Updelay, format!("Warning: updelay module parameter ({updelay}), not in range 0-{INT_MAX}, so it was reset to 0"));
            updelay = 0;
        }
        let mut downdelay = int_param(O::Downdelay, get, 0)?;
        if downdelay < 0 {
            self.warn(O::Downdelay, format!("Warning: downdelay module parameter ({downdelay}), not in range 0-{INT_MAX}, so it was reset to 0"));
            downdelay = 0;
        }
        let use_carrier = int_param(O::UseCarrier, get, 1)?;
        if use_carrier != 1 {
            if let Some(p) = get.get(O::UseCarrier) {
                return Err(fail(p, OptionError::InvalidValue {
                    option: "use_carrier",
                    value: p.value.clone(),
                    allowed: "1 (Linux 6.16 removed use_carrier=0: \"Error: invalid use_carrier parameter\")".to_owned(),
                }));
            }
        }
        let mut num_peer_notif = int_param(O::NumUnsolNa, get, 1)?;
        if !(0..=255).contains(&num_peer_notif) {
            self.warn(O::NumUnsolNa, format!("Warning: num_grat_arp/num_unsol_na ({num_peer_notif}) not in range 0-255 so it was reset to 1"));
            num_peer_notif = 1;
        }
        if !mode.uses_arp() && miimon == 0 {
            self.warn(O::Miimon, "Warning: miimon must be specified, otherwise bonding will not detect link failure, speed and duplex which are essential for 802.3ad operation".to_owned());
            self.warn(O::Miimon, "Forcing miimon to 100msec".to_owned());
            miimon = 100;
        }
        let mut tx_queues = int_param(O::TxQueues, get, 16)?;
        if !(1..=255).contains(&tx_queues) {
            self.warn(
                O::TxQueues,
                format!(
                    "Warning: tx_queues ({tx_queues}) should be between 1 and 255, resetting to 16"
                ),
            );
            tx_queues = 16;
        }
        let mut all_slaves_active = int_param(O::AllSlavesActive, get, 0)?;
        if all_slaves_active != 0 && all_slaves_active != 1 {
            self.warn(O::AllSlavesActive, format!("Warning: all_slaves_active module parameter ({all_slaves_active}), not of valid value (0/1), so it was set to 0"));
            all_slaves_active = 0;
        }
        let mut resend_igmp = int_param(O::ResendIgmp, get, 1)?;
        if !(0..=255).contains(&resend_igmp) {
            self.warn(O::ResendIgmp, format!("Warning: resend_igmp ({resend_igmp}) should be between 0 and 255, resetting to 1"));
            resend_igmp = 1;
        }
        let mut packets_per_slave = int_param(O::PacketsPerSlave, get, 1)?;
        if !(0..=65535).contains(&packets_per_slave) {
            self.warn(O::PacketsPerSlave, format!("Warning: packets_per_slave ({packets_per_slave}) should be between 0 and 65535 resetting to 1"));
            packets_per_slave = 1;
        }
        if mode == Mode::BalanceAlb {
            self.warn(O::Mode, format!("In ALB mode you might experience client disconnections upon reconnection of a link if the bonding module updelay parameter ({updelay} msec) is incompatible with the forwarding delay time of the switch"));
        }
        let mut arp_interval = int_param(O::ArpInterval, get, 0)?;
        if miimon == 0 {
            if updelay != 0 || downdelay != 0 {
                self.warn(O::Miimon, format!("Warning: miimon module parameter not set and updelay ({updelay}) or downdelay ({downdelay}) module parameter is set; updelay and downdelay have no effect unless miimon is set"));
            }
        } else {
            if arp_interval != 0 {
                self.warn(O::ArpInterval, format!("Warning: miimon ({miimon}) and arp_interval ({arp_interval}) can't be used simultaneously, disabling ARP monitoring"));
                arp_interval = 0;
            }
            if updelay % miimon != 0 {
                self.warn(O::Updelay, format!("Warning: updelay ({updelay}) is not a multiple of miimon ({miimon}), updelay rounded to {} ms", updelay / miimon * miimon));
            }
            updelay /= miimon;
            if downdelay % miimon != 0 {
                self.warn(O::Downdelay, format!("Warning: downdelay ({downdelay}) is not a multiple of miimon ({miimon}), downdelay rounded to {} ms", downdelay / miimon * miimon));
            }
            downdelay /= miimon;
        }
        if arp_interval < 0 {
            self.warn(O::ArpInterval, format!("Warning: arp_interval module parameter ({arp_interval}), not in range 0-{INT_MAX}, so it was reset to 0"));
            arp_interval = 0;
        }
        if let Some(p) = get.get(O::ArpIpTarget) {
            let elems: Vec<&str> = p.value.split(',').collect();
            if elems.len() > MAX_TARGETS {
                return Err(invalid(O::ArpIpTarget, p, format!("at most {MAX_TARGETS} addresses (\"can only take {MAX_TARGETS} arguments\")")));
            }
            for e in elems {
                let addr = e.strip_prefix('+').unwrap_or(e);
                match in4_pton(addr.as_bytes()).filter(|ip| ip_target_ok(*ip)) {
                    None => {
                        self.warn(O::ArpIpTarget, format!("Warning: bad arp_ip_target module parameter ({e}), ARP monitoring will not be performed"));
                        arp_interval = 0;
                    }
                    Some(ip) if self.o.arp_ip_target.contains(&ip) => {
                        self.warn(
                            O::ArpIpTarget,
                            format!("Warning: duplicate address {ip} in arp_ip_target, skipping"),
                        );
                    }
                    Some(ip) => self.o.arp_ip_target.push(ip),
                }
            }
        }
        if arp_interval != 0 && self.o.arp_ip_target.is_empty() {
            self.warn(O::ArpInterval, format!("Warning: arp_interval module parameter ({arp_interval}) specified without providing an arp_ip_target parameter, arp_interval was reset to 0"));
            arp_interval = 0;
        }
        if let Some(p) = get.get(O::ArpValidate) {
            if arp_interval == 0 {
                return Err(fail(
                    p,
                    OptionError::Rejected {
                        option: "arp_validate",
                        value: p.value.clone(),
                        reason: "arp_validate requires arp_interval (and arp_ip_target)".to_owned(),
                    },
                ));
            }
            self.o.arp_validate =
                v::ArpValidate::from_number(table_value(O::ArpValidate, p)?).unwrap_or_default();
        }
        if let Some(p) = get.get(O::ArpAllTargets) {
            match parse_value(v::ARP_ALL_TARGETS_TBL, &p.value) {
                Some(n) => {
                    self.o.arp_all_targets = v::ArpAllTargets::from_number(n).unwrap_or_default()
                }
                None => self.warn(
                    O::ArpAllTargets,
                    format!("Error: invalid arp_all_targets_value \"{}\" (using any)", p.value),
                ),
            }
        }
        if miimon == 0 && arp_interval == 0 && max_bonds != 0 {
            self.warn(O::Miimon, "Warning: either miimon or arp_interval and arp_ip_target module parameters must be specified, otherwise bonding will not detect link failures! see bonding.txt for details".to_owned());
        }
        let mut primary = get.get(O::Primary).map(|p| p.value.clone());
        if let Some(name) = &primary {
            if !mode.uses_primary() {
                self.warn(
                    O::Primary,
                    format!(
                        "Warning: {name} primary device specified but has no effect in {} mode",
                        mode.long_name()
                    ),
                );
                primary = None;
            }
        }
        if let Some(p) = get.get(O::PrimaryReselect) {
            if primary.is_some() {
                let n = table_value(O::PrimaryReselect, p)?;
                self.o.primary_reselect = v::PrimaryReselect::from_number(n).unwrap_or_default();
            } else {
                self.warn(O::PrimaryReselect, "ignored: the kernel reads primary_reselect only together with a usable primary".to_owned());
            }
        }
        if let Some(p) = get.get(O::FailOverMac) {
            self.o.fail_over_mac =
                v::FailOverMac::from_number(table_value(O::FailOverMac, p)?).unwrap_or_default();
            if mode != Mode::ActiveBackup {
                self.warn(
                    O::FailOverMac,
                    "Warning: fail_over_mac only affects active-backup mode".to_owned(),
                );
            }
        }
        let mut lp_interval = match get.get(O::LpInterval) {
            None => 1,
            Some(p) => kstrtouint(&p.value)
                .ok_or_else(|| invalid(O::LpInterval, p, "an unsigned integer".to_owned()))?,
        };
        if lp_interval == 0 {
            self.warn(
                O::LpInterval,
                format!(
                    "Warning: ip_interval must be between 1 and {INT_MAX}, so it was reset to 1"
                ),
            );
            lp_interval = 1;
        }
        let min_links = int_param(O::MinLinks, get, 0)?;
        if min_links < 0 {
            if let Some(p) = get.get(O::MinLinks) {
                return Err(invalid(O::MinLinks, p, format!("0-{INT_MAX}")));
            }
        }

        let o = &mut self.o;
        o.max_bonds = u32::try_from(max_bonds).unwrap_or(1);
        o.miimon = u32::try_from(miimon).unwrap_or(0);
        o.updelay = u32::try_from(updelay).unwrap_or(0);
        o.downdelay = u32::try_from(downdelay).unwrap_or(0);
        o.num_peer_notif = u8::try_from(num_peer_notif).unwrap_or(1);
        o.tx_queues = u16::try_from(tx_queues).unwrap_or(16);
        o.all_slaves_active = all_slaves_active == 1;
        o.resend_igmp = u8::try_from(resend_igmp).unwrap_or(1);
        o.packets_per_slave = u16::try_from(packets_per_slave).unwrap_or(1);
        o.arp_interval = u32::try_from(arp_interval).unwrap_or(0);
        o.lp_interval = lp_interval.min(INT_MAX.unsigned_abs());
        o.min_links = u32::try_from(min_links).unwrap_or(0);
        o.primary = primary.map(|p| {
            let mut cut = p.len().min(super::parse::IFNAMSIZ - 1);
            while !p.is_char_boundary(cut) {
                cut -= 1;
            }
            p[..cut].to_owned()
        });
        Ok(())
    }

    /// The options that are not module parameters, with sysfs semantics, in dependency order.
    fn sysfs_only(&mut self, get: &Params) -> Result<(), ModuleOptionsError> {
        use OptionId as O;
        let ctx = SetContext::new();
        for id in [
            O::PeerNotifDelay,
            O::ArpMissedMax,
            O::LacpActive,
            O::AdActorSysPrio,
            O::AdActorSystem,
            O::AdUserPortKey,
            O::TlbDynamicLb,
            O::CoupledControl,
            O::BroadcastNeighbor,
            O::LacpStrict,
            O::LacpFallback,
            O::AdUnknownSpeed,
            O::Bfd,
            O::BfdMinTx,
            O::BfdMinRx,
            O::BfdMultiplier,
            O::BfdPeer,
            O::TcpDupDiscard,
        ] {
            if let Some(p) = get.get(id) {
                let w = self.o.set(id.name(), &p.value, &ctx).map_err(|e| fail(p, e))?;
                self.w.extend(w);
            }
        }
        if let Some(p) = get.get(O::NsIp6Target) {
            for e in p.value.split(',') {
                let cmd = if e.starts_with('+') { e.to_owned() } else { format!("+{e}") };
                self.o.set("ns_ip6_target", &cmd, &ctx).map_err(|e| fail(p, e))?;
            }
        }
        if let Some(p) = get.get(O::ActiveSlave) {
            let name = super::parse::first_word(&p.value, super::parse::IFNAMSIZ - 1);
            self.o.active_slave = (!name.is_empty()).then(|| name.to_owned());
        }
        if let Some(p) = get.get(O::QueueId) {
            for e in p.value.split(',') {
                let bad = || invalid(O::QueueId, p, "ifname:queue_id".to_owned());
                let (name, qid) = e.split_once(':').ok_or_else(bad)?;
                let qid: u16 = qid.trim().parse().map_err(|_| bad())?;
                if !super::parse::dev_valid_name(name) || qid > self.o.tx_queues {
                    return Err(bad());
                }
                self.o.slave_options.entry(name.to_owned()).or_default().queue_id = qid;
            }
        }
        Ok(())
    }
}
