//! Module options and `/etc/modprobe.d/*.conf`.
//!
//! ```text
//! # /etc/modprobe.d/bonding.conf
//! alias bond0 bonding
//! options bond0 mode=802.3ad miimon=100 \
//!     lacp_rate=fast xmit_hash_policy=layer3+4
//! options bonding max_bonds=1
//! ```
//!
//! Lines starting with `#` are comments; a line ending in `\` continues on the next. `alias
//! NAME bonding` declares a bond; `options bonding ...` gives the options of every bond,
//! `options NAME ...` those of one aliased bond (applied after `options bonding`'s, the later
//! value of an option winning). Without any alias, `options bonding` describes the
//! `max_bonds` bonds the module creates (`bond0`, `bond1`, ...). Options are read with the
//! kernel's module-load semantics ([`parse_module_options`]). `install`, `remove`,
//! `blacklist`, `softdep` and `weakdep` lines are reported as ignored (info). This format
//! carries options only: slaves and addresses are not written here.
//!
//! [`lint_sysfs_writes`] checks shell lines that write bond options to sysfs
//! (`echo 100 > /sys/class/net/bond0/bonding/miimon`).

use std::collections::BTreeMap;

use ubond_core::options::{
    parse_module_options, parse_slaves_command, BondOptions, OptionError, OptionId, SetContext,
    SlaveCommand, SlaveState,
};

use crate::finding::{Finding, Span};
use crate::loss::Lost;
use crate::model::{BondConfig, ConfigSet, Fact, Parsed, SourceFile};
use crate::settings::{normalize, option_pairs};
use crate::text::{did_you_mean, logical_lines, suggestion_suffix, PosText};

/// The path [`emit`] writes.
pub const DEFAULT_PATH: &str = "/etc/modprobe.d/bonding.conf";

const COMMANDS: &[&str] =
    &["alias", "options", "install", "remove", "blacklist", "softdep", "weakdep"];

/// At most this many bonds are made from `max_bonds` (the kernel would create them all).
const MAX_IMPLIED_BONDS: u32 = 64;

struct OptionsLine {
    module: String,
    args: PosText,
    span: Span,
}

/// Parses modprobe.d files (in the order given, as modprobe reads them).
pub fn parse(files: &[SourceFile]) -> Parsed {
    let mut findings = Vec::new();
    let mut aliases: Vec<(String, Span)> = Vec::new();
    let mut options: Vec<OptionsLine> = Vec::new();
    for file in files {
        for line in logical_lines(&file.text, true) {
            let words = line.words();
            let Some(&(cmd_at, cmd)) = words.first() else { continue };
            let cmd_span = line.span(&file.path, cmd_at);
            let arg = |i: usize| words.get(i).map(|(_, w)| *w);
            match cmd {
                "alias" => {
                    let (Some(name), Some(module)) = (arg(1), arg(2)) else {
                        findings.push(Finding::error(
                            &cmd_span,
                            "'alias' needs a name and a module: alias bond0 bonding",
                        ));
                        continue;
                    };
                    if module == "bonding" {
                        if aliases.iter().any(|(n, _)| n == name) {
                            findings.push(Finding::warning(
                                &line.span(&file.path, words[1].0),
                                format!("bond '{name}' is declared twice"),
                            ));
                        } else {
                            aliases.push((name.to_owned(), line.span(&file.path, words[1].0)));
                        }
                    } else if let Some(s) = did_you_mean(module, ["bonding"]) {
                        findings.push(
                            Finding::error(
                                &line.span(&file.path, words[2].0),
                                format!("unknown module '{module}'{}", suggestion_suffix(Some(s))),
                            )
                            .with_fix(s),
                        );
                    } else {
                        findings.push(Finding::info(
                            &cmd_span,
                            format!("alias for module '{module}' ignored (not bonding)"),
                        ));
                    }
                }
                "options" => {
                    let Some(module) = arg(1) else {
                        findings.push(Finding::error(
                            &cmd_span,
                            "'options' needs a module name: options bonding mode=1",
                        ));
                        continue;
                    };
                    let args_at = words.get(2).map(|w| w.0).unwrap_or(line.text.len());
                    options.push(OptionsLine {
                        module: module.to_owned(),
                        args: line.slice(args_at, line.text.len()),
                        span: line.span(&file.path, words[1].0),
                    });
                }
                "install" => {
                    // `install bond0 /sbin/modprobe bonding -o bond0 mode=1 miimon=100`: a bond
                    // made by loading the module under its name.
                    let bonding = words.iter().position(|(_, w)| *w == "bonding");
                    let runs_modprobe =
                        words[..bonding.unwrap_or(0)].iter().any(|(_, w)| w.ends_with("modprobe"));
                    match (arg(1), bonding) {
                        (Some(name), Some(at)) if runs_modprobe && name != "bonding" => {
                            if !aliases.iter().any(|(n, _)| n == name) {
                                aliases.push((name.to_owned(), line.span(&file.path, words[1].0)));
                            }
                            // The arguments after `bonding` up to a shell separator.
                            let start = words.get(at + 1).map(|w| w.0).unwrap_or(line.text.len());
                            let end = words[at + 1..]
                                .iter()
                                .find(|(_, w)| matches!(*w, "&&" | ";" | "||" | "|"))
                                .map(|w| w.0)
                                .unwrap_or(line.text.len());
                            options.push(OptionsLine {
                                module: name.to_owned(),
                                args: line.slice(start, end),
                                span: line.span(&file.path, words[1].0),
                            });
                        }
                        _ => findings.push(Finding::info(
                            &cmd_span,
                            "'install' line ignored: it does not load the bonding module for a bond",
                        )),
                    }
                }
                "remove" | "blacklist" | "softdep" | "weakdep" => {
                    findings.push(Finding::info(
                        &cmd_span,
                        format!("'{cmd}' line ignored: ubond reads only alias and options lines"),
                    ));
                }
                other => {
                    let s = did_you_mean(other, COMMANDS.iter().copied());
                    let mut f = Finding::error(
                        &cmd_span,
                        format!("unknown command '{other}'{}", suggestion_suffix(s)),
                    );
                    if let Some(s) = s {
                        f = f.with_fix(s);
                    }
                    findings.push(f);
                }
            }
        }
    }

    // Which options lines belong to which bond.
    let mut global = PosText::default();
    let mut per_bond: BTreeMap<String, (PosText, Span)> = BTreeMap::new();
    let mut unaliased: Vec<(String, Span)> = Vec::new();
    for l in &options {
        if l.module == "bonding" {
            global.append(&l.args);
        } else if aliases.iter().any(|(n, _)| *n == l.module) {
            let e = per_bond
                .entry(l.module.clone())
                .or_insert_with(|| (PosText::default(), l.span.clone()));
            e.0.append(&l.args);
        } else if l.module.starts_with("bond") && did_you_mean(&l.module, ["bonding"]).is_none() {
            findings.push(
                Finding::warning(&l.span, format!("options for '{}' without 'alias {} bonding': modprobe does not apply them to the bonding module; taken as bond '{}'", l.module, l.module, l.module))
                    .with_fix(format!("alias {} bonding", l.module)),
            );
            if !unaliased.iter().any(|(n, _)| *n == l.module) {
                unaliased.push((l.module.clone(), l.span.clone()));
            }
            let e = per_bond
                .entry(l.module.clone())
                .or_insert_with(|| (PosText::default(), l.span.clone()));
            e.0.append(&l.args);
        } else if let Some(s) = did_you_mean(&l.module, ["bonding"]) {
            findings.push(
                Finding::error(
                    &l.span,
                    format!("unknown module '{}'{}", l.module, suggestion_suffix(Some(s))),
                )
                .with_fix(s),
            );
        } else {
            findings.push(Finding::info(
                &l.span,
                format!("options for module '{}' ignored (not bonding)", l.module),
            ));
        }
    }

    let mut bonds = Vec::new();
    let file0 = files.first().map(|f| f.path.as_str()).unwrap_or("");
    let declared: Vec<(String, Span)> = aliases.iter().chain(unaliased.iter()).cloned().collect();
    if declared.is_empty() {
        if !global.text.trim().is_empty() {
            let span = options
                .iter()
                .find(|l| l.module == "bonding")
                .map(|l| l.span.clone())
                .unwrap_or_else(|| Span::new(file0, 1, 1));
            let (o, spans, f) = module_options(&global, &span.file, true);
            findings.extend(f);
            let n = o.max_bonds;
            if n > MAX_IMPLIED_BONDS {
                findings.push(Finding::warning(
                    &span,
                    format!(
                        "max_bonds={n}: only the first {MAX_IMPLIED_BONDS} bonds are described"
                    ),
                ));
            }
            for i in 0..n.min(MAX_IMPLIED_BONDS) {
                let mut b = BondConfig::new(format!("bond{i}"));
                b.options = o.clone();
                b.spans.bond = Some(span.clone());
                b.spans.options = spans.clone();
                bonds.push(b);
            }
        }
    } else {
        let mut global_reported = false;
        for (name, span) in declared {
            let mut text = global.clone();
            if let Some((t, _)) = per_bond.get(&name) {
                text.append(t);
            }
            let (o, spans, f) =
                module_options(&text, &span.file, !global_reported && !text.text.trim().is_empty());
            global_reported = true;
            // Findings about the shared `options bonding` line are reported once.
            for x in f {
                if !findings.contains(&x) {
                    findings.push(x);
                }
            }
            let mut b = BondConfig::new(name);
            b.options = o;
            b.spans.bond = Some(span);
            b.spans.options = spans;
            bonds.push(b);
        }
    }
    Parsed { config: ConfigSet { bonds }, findings, unmarked: Vec::new() }
}

/// Reads a module-options text with [`parse_module_options`], reporting every bad token (not
/// only the first): a refused token is reported and dropped, and the rest is read again.
pub(crate) fn module_options(
    args: &PosText,
    file: &str,
    report_warnings: bool,
) -> (BondOptions, BTreeMap<String, Span>, Vec<Finding>) {
    let mut findings = Vec::new();
    // modprobe's own flags (`-o NAME`: load under another name, `--ignore-install`) are not
    // module options: blanked out, keeping every other byte's place.
    let mut args = args.clone();
    let words: Vec<(usize, String)> =
        args.words().into_iter().map(|(a, w)| (a, w.to_owned())).collect();
    let mut skip_next = false;
    for (at, w) in &words {
        let blank = std::mem::take(&mut skip_next) || w.starts_with('-');
        if w == "-o" || w == "--name" {
            skip_next = true;
        }
        if blank && args.text.is_char_boundary(*at) && args.text.is_char_boundary(at + w.len()) {
            args.text.replace_range(*at..at + w.len(), &" ".repeat(w.len()));
        }
    }
    let args = &args;
    let mut text = args.text.clone();
    let mut spans = BTreeMap::new();
    for (at, tok) in args.words() {
        let name = tok.trim_matches('"').split('=').next().unwrap_or("");
        let name = name.strip_prefix("bonding.").unwrap_or(name).replace('-', "_");
        let name = if name == "num_unsol_na" { "num_grat_arp".to_owned() } else { name };
        if OptionId::from_name(&name).is_some() {
            spans.insert(name, args.span(file, at));
        }
    }
    // Unknown names first, in one pass (each refusal below costs a new reading of the line).
    for (at, tok) in args.words() {
        let raw_name = tok.trim_matches('"').split('=').next().unwrap_or("");
        let name = raw_name.strip_prefix("bonding.").unwrap_or(raw_name).replace('-', "_");
        let known = OptionId::from_name(&name).is_some_and(|id| {
            !matches!(id, OptionId::Slaves | OptionId::Prio | OptionId::ActorPortPrio)
        });
        if !known && text.is_char_boundary(at) && text.is_char_boundary(at + tok.len()) {
            let suggestion = match BondOptions::lookup(&name) {
                Err(OptionError::UnknownOption { suggestion, .. }) => suggestion,
                _ => None,
            };
            let error = OptionError::UnknownOption { name: raw_name.to_owned(), suggestion };
            findings.push(token_error(args, file, at, tok, &error));
            text.replace_range(at..at + tok.len(), &" ".repeat(tok.len()));
        }
    }
    const MAX_REREADS: usize = 64;
    for _ in 0..MAX_REREADS {
        match parse_module_options(&text) {
            Ok(m) => {
                let mut o = m.options;
                normalize(&mut o);
                if report_warnings {
                    for w in m.warnings {
                        let key =
                            if w.option == "num_unsol_na" { "num_grat_arp" } else { w.option };
                        let span = spans.get(key).cloned().unwrap_or_else(|| args.span(file, 0));
                        let f = if w.message.starts_with("Forcing") {
                            Finding::info(&span, w.message)
                        } else {
                            Finding::warning(
                                &span,
                                format!(
                                    "{}: {}",
                                    w.option,
                                    w.message.trim_start_matches("Warning: ")
                                ),
                            )
                        };
                        findings.push(f);
                    }
                }
                return (o, spans, findings);
            }
            Err(e) => {
                let end = e.offset.saturating_add(e.token.len());
                findings.push(token_error(args, file, e.offset, &e.token, &e.error));
                if end > text.len()
                    || !text.is_char_boundary(e.offset)
                    || !text.is_char_boundary(end)
                    || e.token.is_empty()
                {
                    break;
                }
                text.replace_range(e.offset..end, &" ".repeat(e.token.len()));
            }
        }
    }
    findings.push(Finding::error(
        &args.span(file, 0),
        format!("more than {MAX_REREADS} refused options: the rest of this line is not read"),
    ));
    let mut o = BondOptions::default();
    normalize(&mut o);
    (o, spans, findings)
}

fn token_error(
    args: &PosText,
    file: &str,
    offset: usize,
    token: &str,
    error: &OptionError,
) -> Finding {
    let name_span = args.span(file, offset + usize::from(token.starts_with('"')));
    match error {
        OptionError::UnknownOption { name, suggestion } => {
            let mut f = Finding::error(
                &name_span,
                format!("unknown option '{name}'{}", suggestion_suffix(*suggestion)),
            );
            if let Some(s) = suggestion {
                f = f.with_fix(*s);
            }
            f
        }
        other => {
            let at = token.find('=').map(|i| offset + i + 1).unwrap_or(offset);
            Finding::error(&args.span(file, at), other.to_string())
        }
    }
}

/// Writes one modprobe.d file: `alias NAME bonding` and `options NAME ...` per bond, options
/// that differ from the kernel defaults only. What this format cannot hold (slaves,
/// addresses, routes, ...) is said in comments and returned as losses.
pub fn emit(set: &ConfigSet) -> Vec<SourceFile> {
    emit_into(set, &mut Lost::default())
}

pub(crate) fn emit_into(set: &ConfigSet, lost: &mut Lost) -> Vec<SourceFile> {
    let mut out = String::from("# bonding module options (written by ubond)\n");
    for b in &set.bonds {
        let mut c = lost.common(b, false, "modprobe.d");
        out.push_str(&format!("alias {} bonding\n", b.name));
        let args: Vec<String> = option_pairs(&b.options)
            .into_iter()
            .map(|(id, v)| format!("{}={}", id.name(), quote(&v)))
            .collect();
        if !args.is_empty() {
            out.push_str(&format!("options {} {}\n", b.name, args.join(" ")));
        }
        let why = "module options hold the bond's options only";
        if !b.options.mode.uses_arp() && b.options.miimon == 0 {
            c.push(lost.add(
                b,
                Fact::Option(OptionId::Miimon),
                "miimon=0",
                format!("in {} mode the module forces miimon=100", b.options.mode.name()),
            ));
        }
        // What the module makes of these options, read back with its semantics (it ignores
        // some options outside the modes they apply to).
        let mut text = PosText::default();
        text.push_str(&args.join(" "), 1, 1);
        let (back, _, _) = module_options(&text, "", false);
        for &id in crate::settings::APPLY_ORDER {
            let skip = matches!(
                id,
                OptionId::Slaves
                    | OptionId::QueueId
                    | OptionId::Prio
                    | OptionId::ActorPortPrio
                    | OptionId::NumUnsolNa
            ) || (id == OptionId::Miimon && b.options.miimon == 0);
            let (want, got) = (b.options.get(id.name()).ok(), back.get(id.name()).ok());
            if !skip && want != got {
                let v = want.unwrap_or_default();
                c.push(lost.add(
                    b,
                    Fact::Option(id),
                    format!("{}={}", id.name(), v.split_whitespace().next().unwrap_or("")),
                    format!("the module ignores it in mode {}", b.options.mode.name()),
                ));
            }
        }
        if !b.on_boot {
            c.push(lost.add(b, Fact::OnBoot, "not started at boot", why));
        }
        if !b.slaves.is_empty() {
            c.push(lost.add(b, Fact::Slaves, format!("slaves {}", b.slaves.join(" ")), why));
        }
        for (s, line) in b.slave_options_lines() {
            let so = b.options.slave(&s);
            if so.prio != 0
                || so.actor_port_prio
                    != ubond_core::options::SlaveOptions::default().actor_port_prio
            {
                c.push(lost.add(b, Fact::SlaveOptions(s), line, why));
            }
        }
        for (s, m) in &b.matches {
            c.push(lost.add(b, Fact::Match(s.clone()), format!("{s} found by {m}"), why));
        }
        for (a, p) in &b.addresses {
            c.push(lost.add(b, Fact::Address(*a, *p), format!("address {a}/{p}"), why));
        }
        for r in &b.routes {
            c.push(lost.add(b, Fact::Route(r.clone()), format!("route {r}"), why));
        }
        if b.dhcp4 {
            c.push(lost.add(b, Fact::Dhcp4, "DHCPv4", why));
        }
        if b.dhcp6 {
            c.push(lost.add(b, Fact::Dhcp6, "DHCPv6", why));
        }
        if !b.dns.is_empty() {
            c.push(lost.add(b, Fact::Dns, b.dns.to_string(), why));
        }
        if let Some(m) = b.mtu {
            c.push(lost.add(b, Fact::Mtu, format!("mtu {m}"), why));
        }
        if let Some(m) = b.mac {
            c.push(lost.add(b, Fact::Mac, format!("mac {m}"), why));
        }
        for l in c {
            out.push_str(&format!("# {l}\n"));
        }
    }
    vec![SourceFile::new(DEFAULT_PATH, out)]
}

fn quote(v: &str) -> String {
    if v.contains(char::is_whitespace) {
        format!("\"{v}\"")
    } else {
        v.to_owned()
    }
}

/// Parse findings plus the checks common to every format (see [`crate::checks`]).
pub fn lint(files: &[SourceFile]) -> Vec<Finding> {
    let p = parse(files);
    let mut f = p.findings;
    f.extend(crate::checks::check(&p.config, false));
    f
}

const READ_ONLY: &[&str] = &[
    "ad_aggregator",
    "ad_num_ports",
    "ad_actor_key",
    "ad_partner_key",
    "ad_partner_mac",
    "mii_status",
];
const SLAVE_FILES: &[&str] = &[
    "state",
    "mii_status",
    "link_failure_count",
    "perm_hwaddr",
    "queue_id",
    "ad_aggregator_id",
    "ad_actor_oper_port_state",
    "ad_partner_oper_port_state",
];
/// Files and directories of `/sys/class/net/IFACE/` that are not bonding's (not typos).
const OTHER_IFACE_FILES: &[&str] = &[
    "address",
    "mtu",
    "flags",
    "tx_queue_len",
    "operstate",
    "carrier",
    "queues",
    "statistics",
    "device",
    "speed",
    "duplex",
    "ifalias",
    "type",
    "power",
    "subsystem",
    "uevent",
    "master",
    "brport",
    "bridge",
    "dormant",
    "proto_down",
    "gro_flush_timeout",
    "napi_defer_hard_irqs",
];

#[derive(Default)]
struct BondState {
    options: BondOptions,
    ctx: SetContext,
}

/// Checks shell lines that write to sysfs (`echo VALUE > /sys/class/net/BOND/bonding/OPT`,
/// `>>`, `| tee [-a] PATH`): unknown directories (`bondign`, did you mean `bonding`?) and
/// options, read-only files, and — replaying the writes in order on a model of each bond,
/// with `ip link set BOND up|down` and `ifconfig BOND up|down` followed — the values the
/// kernel would refuse (an `updelay` before `miimon`, `mode` on a bond with slaves, ...).
pub fn lint_sysfs_writes(file: &SourceFile) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut bonds: BTreeMap<String, BondState> = BTreeMap::new();
    for line in logical_lines(&file.text, true) {
        let words = line.words();
        track_updown(&words, &mut bonds);
        for (i, &(at, word)) in words.iter().enumerate() {
            let (skip, path) = strip_redirect(word);
            let path_clean = path.trim_matches(|c| c == '"' || c == '\'');
            let lead = skip + path.len() - path.trim_start_matches(['"', '\'']).len();
            let Some(rest) = path_clean.strip_prefix("/sys/class/net/") else { continue };
            let is_target = skip > 0
                || (i > 0 && matches!(words[i - 1].1, ">" | ">>"))
                || words[..i].iter().rev().take(2).any(|(_, w)| *w == "tee");
            if !is_target {
                continue;
            }
            let base = at + lead + "/sys/class/net/".len();
            let value = echo_value(&words[..i]);
            check_path(&line, &file.path, base, rest, value, &mut bonds, &mut findings);
        }
    }
    findings
}

fn strip_redirect(word: &str) -> (usize, &str) {
    if let Some(p) = word.strip_prefix(">>") {
        (2, p)
    } else if let Some(p) = word.strip_prefix('>') {
        (1, p)
    } else {
        (0, word)
    }
}

/// The value an `echo` / `printf` before the redirection writes (first argument after the
/// command and its flags), unquoted, with its offset.
fn echo_value(words: &[(usize, &str)]) -> Option<(usize, String)> {
    let start = words.iter().rposition(|(_, w)| matches!(*w, "echo" | "printf"))?;
    let mut vals = words[start + 1..]
        .iter()
        .skip_while(|(_, w)| matches!(*w, "-n" | "-e" | "-E" | "-ne" | "-en"));
    let mut collected: Vec<(usize, &str)> = Vec::new();
    for &(at, w) in vals.by_ref() {
        if matches!(w, "|" | ">" | ">>") || w.starts_with('>') {
            break;
        }
        collected.push((at, w));
    }
    let &(at, _) = collected.first()?;
    let text = collected.iter().map(|(_, w)| *w).collect::<Vec<_>>().join(" ");
    let q = usize::from(text.starts_with(['"', '\'']));
    Some((at + q, text.trim_matches(|c| c == '"' || c == '\'').to_owned()))
}

fn track_updown(words: &[(usize, &str)], bonds: &mut BTreeMap<String, BondState>) {
    let w: Vec<&str> = words.iter().map(|(_, w)| *w).collect();
    let found = (0..w.len()).find_map(|i| match &w[i..] {
        ["ip", "link", "set", "dev", dev, state, ..] | ["ip", "link", "set", dev, state, ..] => {
            Some((*dev, *state))
        }
        ["ifconfig", dev, state, ..] => Some((*dev, *state)),
        _ => None,
    });
    let Some((dev, state)) = found else { return };
    if let Some(b) = bonds.get_mut(dev) {
        match state {
            "up" => b.ctx.is_up = true,
            "down" => b.ctx.is_up = false,
            _ => {}
        }
    }
}

fn check_path(
    line: &PosText,
    file: &str,
    base: usize,
    rest: &str,
    value: Option<(usize, String)>,
    bonds: &mut BTreeMap<String, BondState>,
    findings: &mut Vec<Finding>,
) {
    let parts: Vec<&str> = rest.split('/').collect();
    let mut offsets = Vec::new();
    let mut o = base;
    for p in &parts {
        offsets.push(o);
        o += p.len() + 1;
    }
    let span = |i: usize| line.span(file, offsets.get(i).copied().unwrap_or(base));
    let value_span = |v: &Option<(usize, String)>| {
        v.as_ref().map(|(at, _)| line.span(file, *at)).unwrap_or_else(|| span(0))
    };
    match parts.as_slice() {
        [name] => {
            if *name != "bonding_masters" {
                if let Some(s) = did_you_mean(name, ["bonding_masters"]) {
                    findings.push(
                        Finding::error(
                            &span(0),
                            format!("unknown file '{name}'{}", suggestion_suffix(Some(s))),
                        )
                        .with_fix(s),
                    );
                }
            } else if let Some((_, v)) = &value {
                let v = v.trim();
                if !(v.starts_with('+') || v.starts_with('-')) || v.len() < 2 {
                    findings.push(Finding::error(
                        &value_span(&value),
                        format!("bonding_masters takes +BOND or -BOND, not '{v}'"),
                    ));
                } else if let Some(n) = v.strip_prefix('+') {
                    bonds.entry(n.to_owned()).or_default();
                }
            }
        }
        [bond, dir, opt, ..] => {
            let dir = *dir;
            if dir != "bonding" && dir != "bonding_slave" {
                if !OTHER_IFACE_FILES.contains(&dir) {
                    if let Some(s) = did_you_mean(dir, ["bonding", "bonding_slave"]) {
                        findings.push(
                            Finding::error(
                                &span(1),
                                format!("unknown directory '{dir}'{}", suggestion_suffix(Some(s))),
                            )
                            .with_fix(s),
                        );
                    }
                }
                return;
            }
            if dir == "bonding_slave" {
                if SLAVE_FILES.contains(opt) {
                    findings.push(Finding::error(
                        &span(2),
                        format!(
                            "'{opt}' in bonding_slave is read-only{}",
                            if *opt == "queue_id" {
                                format!(
                                    "; write '{bond}:N' to /sys/class/net/MASTER/bonding/queue_id"
                                )
                            } else {
                                String::new()
                            }
                        ),
                    ));
                } else {
                    let s = did_you_mean(opt, SLAVE_FILES.iter().copied());
                    let mut f = Finding::error(
                        &span(2),
                        format!("unknown bonding_slave file '{opt}'{}", suggestion_suffix(s)),
                    );
                    if let Some(s) = s {
                        f = f.with_fix(s);
                    }
                    findings.push(f);
                }
                return;
            }
            if READ_ONLY.contains(opt) {
                findings.push(Finding::error(&span(2), format!("'{opt}' is read-only")));
                return;
            }
            let id = match BondOptions::lookup(opt) {
                Ok(id) => id,
                Err(OptionError::UnknownOption { suggestion, .. }) => {
                    let mut f = Finding::error(
                        &span(2),
                        format!("unknown option '{opt}'{}", suggestion_suffix(suggestion)),
                    );
                    if let Some(s) = suggestion {
                        f = f.with_fix(s);
                    }
                    findings.push(f);
                    return;
                }
                Err(_) => return,
            };
            let Some((_, v)) = &value else { return };
            let st = bonds.entry((*bond).to_owned()).or_default();
            let result = match id {
                OptionId::Slaves => match parse_slaves_command(v) {
                    Ok(SlaveCommand::Add(n)) => {
                        if !st.ctx.slaves.iter().any(|s| s.name == n) {
                            st.ctx.slaves.push(SlaveState { name: n, usable: true });
                        }
                        Ok(Vec::new())
                    }
                    Ok(SlaveCommand::Remove(n)) => {
                        st.ctx.slaves.retain(|s| s.name != n);
                        Ok(Vec::new())
                    }
                    Err(e) => Err(e),
                },
                // The active slave depends on link state that a script does not show.
                OptionId::ActiveSlave => Ok(Vec::new()),
                _ => st.options.set(id.name(), v, &st.ctx),
            };
            match result {
                Ok(ws) => {
                    for w in ws {
                        findings.push(Finding::warning(&value_span(&value), w.to_string()));
                    }
                }
                Err(e) => findings.push(Finding::error(&value_span(&value), e.to_string())),
            }
        }
        _ => {}
    }
}
