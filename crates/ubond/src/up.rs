//! `ubond up [BOND...] [--from FILE...]`: brings bonds described in configuration files up in
//! the running daemon.
//!
//! The files are any format `ubond config` reads (detected per file, or `--format`); without
//! `--from`, the system's own files in their usual places ([`ubond_config::system`]). Errors
//! in the files and the live checks' errors ([`ubond_config::live`]: a LACP member in a Linux
//! bridge) stop the command before anything changes. Then, for each bond (without names,
//! those the files start at boot — `auto`/`allow-hotplug` in interfaces, `ONBOOT` not `no`,
//! `autoconnect` not `false`, TOML `on_boot` not `false` — each other one being one line
//! saying why it is skipped and how to bring it up; with names, the bonds named, whatever the
//! files say about boot; `--from` or not):
//!
//! * **A bond the daemon does not have** is created with its options (`add`, module-option
//!   syntax), its slaves are enslaved in order, then `queue_id` and `active_slave` are set.
//!   If the new TAP device is not in this network namespace, the bond is deleted again and
//!   the command says to run in the daemon's namespace.
//! * **A bond the daemon has** is brought to the file's configuration without tearing it
//!   down: each option that differs is set with sysfs semantics (`set`; an option the daemon
//!   refuses now, such as one that needs the bond down, is reported, not forced), missing
//!   slaves are enslaved, and slaves the file does not name are left enslaved (and said). A
//!   different mode on a bond with slaves changes nothing and says how to recreate the bond.
//!
//! Then, client-side through rtnetlink (the bond is a TAP device in the daemon's network
//! namespace, so `ubond up` must run in that namespace, as root): the bond device is brought
//! up, the file's addresses are added (those present are kept, others are not removed) and
//! its gateway becomes the default route unless one exists. Every change is printed on one
//! line per bond; a step that fails is one line saying what to do, and the exit status is 1
//! (2 when nothing could be done).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use ubond_config::files::RootDir;
use ubond_config::{interfaces, live, system, BondConfig, ConfigSet, Format, Parsed, Severity};
use ubond_core::options::{OptionId, Scope, SlaveOptions};
use ubond_sys::{addr, link};
use ubond_wire::MacAddr;

use crate::control::{self, Request};
use crate::probe::SystemProbe;

/// What `ubond up` was asked.
pub struct UpArgs {
    /// The bonds to bring up (empty: those the files start at boot).
    pub bonds: Vec<String>,
    /// The files (empty: the system's own).
    pub from: Vec<PathBuf>,
    /// The files' format, when it cannot be detected.
    pub format: Option<Format>,
    /// Where the system's files are read from (`/` but in tests).
    pub root: PathBuf,
}

/// The daemon, by its control socket.
struct Daemon<'a> {
    socket: &'a Path,
}

impl Daemon<'_> {
    /// Sends a request; `Ok(Err(message))` when the daemon refused it.
    fn call(&self, request: &Request) -> Result<std::result::Result<String, String>> {
        let resp = control::call(self.socket, request)?;
        Ok(match resp.error {
            None => Ok(resp.output),
            Some(e) => Err(e),
        })
    }

    /// The bond's options and slaves as `ubond get BOND` prints them, or `None` when the
    /// daemon has no such bond.
    fn get(&self, bond: &str) -> Result<Option<Vec<(String, String)>>> {
        match self.call(&Request::Get { bond: bond.to_owned(), option: None })? {
            Ok(out) => Ok(Some(
                out.lines()
                    .filter_map(|l| {
                        l.split_once(": ").or_else(|| l.strip_suffix(':').map(|n| (n, "")))
                    })
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )),
            Err(e) if e.starts_with(&format!("no bond {bond}")) => Ok(None),
            Err(e) => bail!("{e}"),
        }
    }
}

/// Reads the configuration: the files given, or the system's.
fn load(args: &UpArgs) -> Result<(ConfigSet, Vec<ubond_config::Finding>)> {
    if args.from.is_empty() {
        let root = RootDir::new(&args.root);
        let sys = system::read_system(&root);
        if sys.files.is_empty() {
            let places: Vec<String> = system::LOCATIONS
                .iter()
                .map(|(_, d, p)| root.real(&format!("{d}/{p}")).display().to_string())
                .collect();
            bail!(
                "no bond configuration found (looked for {}): give the files with --from FILE",
                places.join(", ")
            );
        }
        return Ok((sys.config, sys.findings));
    }
    let sources = crate::read_sources(&args.from)?;
    let mut parsed: Vec<(Format, Parsed)> = Vec::new();
    for (format, group) in crate::by_format(sources, args.format)? {
        if format == Format::Interfaces {
            // Follow `source` lines, as ifup would.
            let paths: Vec<&str> = group.iter().map(|f| f.path.as_str()).collect();
            parsed.push((format, interfaces::parse_following(&paths, &RootDir::new("/"))));
        } else {
            parsed.push((format, ubond_config::parse(format, &group)));
        }
    }
    Ok(system::merge(parsed))
}

/// Runs `ubond up`; `Ok(false)` when some step failed (each said on standard error).
pub fn run(socket: &Path, args: UpArgs) -> Result<bool> {
    let (config, mut findings) = load(&args)?;
    // The checks every format shares (a slave claimed by two bonds, a bond without slaves).
    findings.extend(ubond_config::checks::check(&config, true));
    // Without names, as at boot: the bonds marked to start at boot.
    let wanted = |b: &BondConfig| {
        if args.bonds.is_empty() {
            b.on_boot
        } else {
            args.bonds.contains(&b.name)
        }
    };
    let daemon = Daemon { socket };
    // Slaves the files find by MAC address, name pattern or driver: the interfaces here.
    let mut resolved = Vec::new();
    let config = ConfigSet {
        bonds: config
            .bonds
            .iter()
            .map(|b| {
                if !wanted(b) || b.matches.is_empty() {
                    return b.clone();
                }
                let (r, said) = resolve(b, &daemon);
                resolved.push((b.name.clone(), said));
                r
            })
            .collect(),
    };
    let chosen = ConfigSet { bonds: config.bonds.iter().filter(|b| wanted(b)).cloned().collect() };
    // What the slaves are on this system (a LACP member in a Linux bridge is an error).
    findings.extend(live::check(&chosen, &SystemProbe));
    let mut errors = false;
    for f in findings.iter().filter(|f| f.severity != Severity::Info) {
        eprintln!("{f}");
        errors |= f.severity == Severity::Error;
    }
    if errors {
        bail!("nothing brought up: fix the errors above first (`ubond config lint FILE...` lists every finding with its fix)");
    }
    let known: Vec<&str> = config.bonds.iter().map(|b| b.name.as_str()).collect();
    if known.is_empty() {
        bail!("the files define no bond: check them with `ubond config lint FILE...`");
    }
    let selected: Vec<&BondConfig> = if args.bonds.is_empty() {
        config.bonds.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &args.bonds {
            match config.bond(name) {
                Some(b) => v.push(b),
                None => bail!("no bond {name} in the files (they define {})", known.join(", ")),
            }
        }
        v
    };
    let mut ok = true;
    for b in selected {
        if !wanted(b) {
            println!("{}", skipped(b, &args));
            continue;
        }
        let mut report = Report { bond: &b.name, changes: Vec::new(), failed: false };
        for (_, said) in resolved.iter().filter(|(n, _)| *n == b.name) {
            for s in said {
                report.warn(s);
            }
        }
        not_applied(b, &mut report);
        let result = match daemon.get(&b.name)? {
            None => create(&daemon, b, &mut report),
            Some(current) => update(&daemon, b, &current, &mut report),
        };
        match result {
            Ok(()) => {}
            Err(e) => {
                eprintln!("ubond: {}: {e:#}", b.name);
                report.failed = true;
            }
        }
        if !report.changes.is_empty() {
            println!("{}: {}", b.name, report.changes.join("; "));
        }
        ok &= !report.failed;
    }
    Ok(ok)
}

/// The line for a bond `ubond up` without names leaves down: why, and the command that
/// brings it up.
fn skipped(b: &BondConfig, args: &UpArgs) -> String {
    let mut again = format!("ubond up {}", b.name);
    if !args.from.is_empty() {
        again.push_str(" --from");
        for f in &args.from {
            let f = f.display().to_string();
            again.push(' ');
            if f.contains(|c: char| c.is_whitespace() || "'\"$`\\;&|<>()*?#~".contains(c)) {
                again.push_str(&format!("'{}'", f.replace('\'', r"'\''")));
            } else {
                again.push_str(&f);
            }
        }
        if let Some(format) = args.format {
            again.push_str(&format!(" --format {format}"));
        }
    }
    format!(
        "{}: not started at boot ({}); name it to bring it up: {again}",
        b.name,
        b.not_on_boot_reason().unwrap_or_default()
    )
}

/// What was done to one bond.
struct Report<'a> {
    bond: &'a str,
    changes: Vec<String>,
    failed: bool,
}

impl Report<'_> {
    fn done(&mut self, what: impl Into<String>) {
        self.changes.push(what.into());
    }

    /// A step that failed: one line, and the exit status becomes 1.
    fn fail(&mut self, what: impl std::fmt::Display) {
        eprintln!("ubond: {}: {what}", self.bond);
        self.failed = true;
    }

    fn warn(&mut self, what: impl std::fmt::Display) {
        eprintln!("ubond: {}: warning: {what}", self.bond);
    }
}

fn namespace_error(bond: &str) -> anyhow::Error {
    anyhow!(
        "the daemon has bond {bond} but there is no {bond} device in this network namespace: run `ubond up` in the daemon's network namespace"
    )
}

fn create(daemon: &Daemon<'_>, b: &BondConfig, r: &mut Report<'_>) -> Result<()> {
    let options = b.creation_options();
    match daemon.call(&Request::Add {
        bond: b.name.clone(),
        options: options.clone(),
        netlink: false,
    })? {
        Ok(out) => {
            for w in out.lines() {
                r.warn(w.trim_start_matches("warning: "));
            }
        }
        Err(e) => bail!("{e}"),
    }
    if link::ifindex(&b.name).is_err() {
        // Created in another namespace: undo what this command just did.
        let _ = daemon.call(&Request::Del { bond: b.name.clone() })?;
        return Err(anyhow!(
            "the daemon made bond {0} in another network namespace (deleted again): run `ubond up` in the daemon's network namespace",
            b.name
        ));
    }
    r.done(if options.is_empty() { "created".to_owned() } else { format!("created ({options})") });
    enslave(daemon, b, &[], r)?;
    slave_options(daemon, b, r)?;
    ip_config(b, r);
    Ok(())
}

/// Enslaves the slaves of `b` not in `current`, in order.
fn enslave(
    daemon: &Daemon<'_>,
    b: &BondConfig,
    current: &[&str],
    r: &mut Report<'_>,
) -> Result<()> {
    let mut added = Vec::new();
    for s in b.slaves.iter().filter(|s| !current.contains(&s.as_str())) {
        match daemon.call(&Request::Enslave { bond: b.name.clone(), ifaces: vec![s.clone()] })? {
            Ok(_) => added.push(s.as_str()),
            Err(e) => r.fail(e),
        }
    }
    if !added.is_empty() {
        r.done(format!("enslaved {}", added.join(" ")));
    }
    Ok(())
}

/// `queue_id`, `prio` and `actor_port_prio` per slave (the latter two when the file gives a
/// value other than the default, through `set-slave`), then `active_slave`.
fn slave_options(daemon: &Daemon<'_>, b: &BondConfig, r: &mut Report<'_>) -> Result<()> {
    let d = SlaveOptions::default();
    let queue_ids = daemon
        .call(&Request::Get { bond: b.name.clone(), option: Some("queue_id".into()) })?
        .unwrap_or_default();
    for (slave, o) in &b.options.slave_options {
        // `eth0:2 eth1:0`; a slave not listed has queue id 0.
        let prefix = format!("{slave}:");
        let have = queue_ids
            .split_whitespace()
            .find_map(|q| q.strip_prefix(&prefix))
            .and_then(|n| n.parse::<u16>().ok())
            .unwrap_or(0);
        let qid = format!("{slave}:{}", o.queue_id);
        if have != o.queue_id && set(daemon, b, "queue_id", &qid, r)? {
            r.done(format!("queue_id {qid}"));
        }
        let per_slave = [
            ("prio", o.prio != d.prio, o.prio.to_string()),
            (
                "actor_port_prio",
                o.actor_port_prio != d.actor_port_prio,
                o.actor_port_prio.to_string(),
            ),
        ];
        for (option, differs, value) in per_slave {
            if !differs {
                continue;
            }
            let request = Request::SetSlave {
                iface: slave.clone(),
                option: option.to_owned(),
                value: value.clone(),
            };
            match daemon.call(&request)? {
                Ok(_) => r.done(format!("{option} {slave} {value}")),
                Err(e) => r.fail(e),
            }
        }
    }
    if let Some(active) = &b.options.active_slave {
        if b.options.mode.uses_primary() {
            let now = daemon.call(&Request::Get {
                bond: b.name.clone(),
                option: Some("active_slave".into()),
            })?;
            if now.as_deref().map(str::trim) != Ok(active.as_str()) {
                set(daemon, b, "active_slave", active, r)?;
            }
        }
    }
    Ok(())
}

fn set(
    daemon: &Daemon<'_>,
    b: &BondConfig,
    option: &str,
    value: &str,
    r: &mut Report<'_>,
) -> Result<bool> {
    let request =
        Request::Set { bond: b.name.clone(), option: option.to_owned(), value: value.to_owned() };
    match daemon.call(&request)? {
        Ok(out) => {
            for w in out.lines() {
                r.warn(w.trim_start_matches("warning: "));
            }
            Ok(true)
        }
        Err(e) => {
            // The daemon's words already name the bond, the option and the value.
            let e = e.strip_prefix(&format!("{}: ", b.name)).unwrap_or(&e);
            r.fail(e);
            Ok(false)
        }
    }
}

/// The order options are compared and set in: the mode first, targets before the ARP
/// interval, miimon before the delays (the kernel's dependencies), then the kernel's order.
fn set_order() -> Vec<OptionId> {
    let first = [OptionId::Mode, OptionId::ArpIpTarget, OptionId::NsIp6Target, OptionId::Miimon];
    first
        .into_iter()
        .chain(OptionId::ALL.iter().copied().filter(|id| !first.contains(id)))
        .filter(|id| id.scope() == Scope::Bond)
        .filter(|id| {
            !matches!(
                id,
                OptionId::ActiveSlave
                    | OptionId::QueueId
                    | OptionId::NumUnsolNa
                    | OptionId::UseCarrier
            )
        })
        .collect()
}

fn update(
    daemon: &Daemon<'_>,
    b: &BondConfig,
    current: &[(String, String)],
    r: &mut Report<'_>,
) -> Result<()> {
    if link::ifindex(&b.name).is_err() {
        return Err(namespace_error(&b.name).context("nothing changed"));
    }
    let now = |name: &str| {
        current.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    for id in set_order() {
        let want = b.options.get(id.name()).unwrap_or_default();
        // Read again: setting one option (the mode) can change others.
        let have = if id == OptionId::Mode {
            now(id.name())
        } else {
            daemon
                .call(&Request::Get { bond: b.name.clone(), option: Some(id.name().to_owned()) })?
                .map(|v| v.trim_end().to_owned())
                .unwrap_or_default()
        };
        if want == have {
            continue;
        }
        if matches!(id, OptionId::ArpIpTarget | OptionId::NsIp6Target) {
            let want_v: Vec<&str> = want.split_whitespace().collect();
            let have_v: Vec<&str> = have.split_whitespace().collect();
            let mut changed = Vec::new();
            for t in want_v.iter().filter(|t| !have_v.contains(t)) {
                if set(daemon, b, id.name(), &format!("+{t}"), r)? {
                    changed.push(format!("+{t}"));
                }
            }
            for t in have_v.iter().filter(|t| !want_v.contains(t)) {
                if set(daemon, b, id.name(), &format!("-{t}"), r)? {
                    changed.push(format!("-{t}"));
                }
            }
            if !changed.is_empty() {
                r.done(format!("{} {}", id.name(), changed.join(" ")));
            }
            continue;
        }
        // `802.3ad 4` → `802.3ad`: what a sysfs write takes.
        let value = want.split_whitespace().next().unwrap_or("");
        let has_slaves = !now("slaves").is_empty();
        if id == OptionId::Mode && has_slaves {
            r.fail(format!(
                "mode is {have:?}, the file says {want:?}: the mode only changes without slaves; `ubond del {0}` then `ubond up {0}` recreates it; nothing changed",
                b.name
            ));
            // The rest of the file is meant for the other mode: change nothing else.
            return Ok(());
        }
        if id.needs_no_slaves() && has_slaves {
            r.fail(format!(
                "{} is {have:?}, the file says {want:?}: it only changes without slaves; `ubond del {1}` then `ubond up {1}` recreates the bond",
                id.name(),
                b.name
            ));
            continue;
        }
        if id.needs_bond_down() && link::link_state(&b.name).is_ok_and(|s| s.admin_up) {
            r.fail(format!(
                "{} is {have:?}, the file says {want:?}: it only changes with the bond down; `ip link set {1} down` then `ubond up {1}` sets it and brings the bond up again",
                id.name(),
                b.name
            ));
            continue;
        }
        if set(daemon, b, id.name(), value, r)? {
            r.done(format!(
                "{} {value} (was {})",
                id.name(),
                if have.is_empty() { "\"\"" } else { &have }
            ));
        }
    }
    let slaves = now("slaves");
    let slaves: Vec<&str> = slaves.split_whitespace().collect();
    enslave(daemon, b, &slaves, r)?;
    let extra: Vec<&str> =
        slaves.iter().copied().filter(|s| !b.slaves.iter().any(|x| x == s)).collect();
    if !extra.is_empty() {
        r.warn(format!(
            "{} not in the file: left enslaved (`ubond release {} {}` removes them)",
            extra.join(" "),
            b.name,
            extra.join(" ")
        ));
    }
    slave_options(daemon, b, r)?;
    ip_config(b, r);
    if r.changes.is_empty() && !r.failed {
        r.done("up to date");
    }
    Ok(())
}

/// The bond device up with its MTU (its slaves' too, as the kernel's bond sets them), the
/// file's addresses and routes on it.
fn ip_config(b: &BondConfig, r: &mut Report<'_>) {
    if let Some(mtu) = b.mtu {
        if link::link_state(&b.name).ok().and_then(|s| s.mtu) != Some(mtu) {
            let mut ok = true;
            for dev in std::iter::once(&b.name).chain(b.slaves.iter()) {
                if let Err(e) = link::set_mtu(dev, mtu) {
                    ok = false;
                    r.fail(e);
                }
            }
            if ok {
                r.done(format!("mtu {mtu}"));
            }
        }
    }
    let up = link::link_state(&b.name).map(|s| s.admin_up).unwrap_or(false);
    if !up {
        match link::set_up(&b.name, true) {
            Ok(()) => r.done("device up"),
            Err(e) => r.fail(e),
        }
    }
    if b.dhcp() {
        let which = match (b.dhcp4, b.dhcp6) {
            (true, true) => "DHCP and DHCPv6",
            (true, false) => "DHCP",
            _ => "DHCPv6",
        };
        r.warn(format!(
            "the file takes the addresses from {which}: `ubond up` runs no DHCP client; start one on {}",
            b.name
        ));
    }
    let mut added = Vec::new();
    for (ip, prefix) in &b.addresses {
        match addr::add_address(&b.name, *ip, *prefix) {
            Ok(true) => added.push(format!("{ip}/{prefix}")),
            Ok(false) => {}
            Err(e) => r.fail(e),
        }
    }
    if !added.is_empty() {
        r.done(format!("address {}", added.join(" ")));
    }
    for route in &b.routes {
        match (route.is_plain_default(), route.via) {
            (true, Some(gw)) => gateway(b, gw, r),
            _ => {
                match addr::add_route(
                    &b.name,
                    route.to.0,
                    route.to.1,
                    route.via,
                    route.metric,
                    route.table,
                ) {
                    Ok(true) => r.done(format!("route {route}")),
                    Ok(false) => {}
                    Err(e) => r.fail(format!("route {route}: {e}")),
                }
            }
        }
    }
}

/// Says what `ubond up` does not apply: name servers, the MAC address (the daemon gives the
/// bond its first slave's, as the kernel does), an Open vSwitch bond's own behaviour, and the
/// lines ubond does not model.
fn not_applied(b: &BondConfig, r: &mut Report<'_>) {
    let at = |f: &ubond_config::Fact| b.fact_span(f).map(|s| format!(" ({s})")).unwrap_or_default();
    if !b.dns.is_empty() {
        r.warn(format!(
            "not applied: {}{}: `ubond up` does not manage name resolution",
            b.dns,
            at(&ubond_config::Fact::Dns)
        ));
    }
    if let Some(m) = b.mac {
        r.warn(format!(
            "not applied: mac {m}{}: the bond takes its first slave's address",
            at(&ubond_config::Fact::Mac)
        ));
    }
    if let Some(o) = &b.ovs {
        let s: Vec<String> = o.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        r.warn(format!(
            "an Open vSwitch bond ({}){}: brought up as a kernel bond in mode {} ({})",
            s.join(" "),
            at(&ubond_config::Fact::Ovs),
            b.options.mode.name(),
            b.creation_options()
        ));
    }
    for e in &b.extras {
        r.warn(format!("not applied: '{e}'{}", at(&ubond_config::Fact::Extra(e.clone()))));
    }
}

/// The permanent MAC address of each slave of `bond` as the daemon's report says it
/// (`Permanent HW addr`), for a bond it runs: an enslaved NIC may carry the bond's address.
fn permanent_macs(daemon: &Daemon<'_>, bond: &str) -> Vec<(String, MacAddr)> {
    let Ok(Ok(report)) = daemon.call(&Request::Status { bond: Some(bond.to_owned()), json: false })
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut slave: Option<&str> = None;
    for line in report.lines() {
        if let Some(n) = line.strip_prefix("Slave Interface: ") {
            slave = Some(n.trim());
        } else if let Some(m) = line.strip_prefix("Permanent HW addr: ") {
            if let (Some(n), Ok(mac)) = (slave.take(), m.trim().parse::<MacAddr>()) {
                out.push((n.to_owned(), mac));
            }
        }
    }
    out
}

/// The bond with its matched slaves replaced by the interfaces here that match, and what
/// was found (or not) on one line each. A NIC is matched by its own (permanent) MAC address:
/// once enslaved it may carry the bond's.
fn resolve(b: &BondConfig, daemon: &Daemon<'_>) -> (BondConfig, Vec<String>) {
    let mut out = b.clone();
    let mut said = Vec::new();
    let links = link::links().unwrap_or_default();
    let reported = permanent_macs(daemon, &b.name);
    let own_mac = |l: &link::LinkState| {
        reported.iter().find(|(n, _)| *n == l.name).map(|(_, m)| *m).or(l.perm_mac).or(l.mac)
    };
    for (entry, m) in &b.matches {
        // A renamed NIC that has its name already needs nothing.
        if m.rename && links.iter().any(|l| l.name == *entry) {
            continue;
        }
        let found: Vec<&str> = links
            .iter()
            .filter(|l| m.mac.is_none_or(|mac| own_mac(l) == Some(mac)))
            .filter(|l| {
                m.name.as_deref().is_none_or(|n| ubond_config::files::glob_match(n, &l.name))
            })
            .filter(|l| {
                m.driver.as_deref().is_none_or(|d| driver_of(&l.name).as_deref() == Some(d))
            })
            .filter(|l| m.path.as_deref().is_none_or(|p| path_of(&l.name).as_deref() == Some(p)))
            .filter(|l| l.name != "lo")
            .map(|l| l.name.as_str())
            .collect();
        match found.as_slice() {
            [one] => {
                if let Some(s) = out.slaves.iter_mut().find(|s| *s == entry) {
                    *s = (*one).to_owned();
                }
                if let Some(p) = out.options.primary.as_mut().filter(|p| *p == entry) {
                    *p = (*one).to_owned();
                }
                if let Some(so) = out.options.slave_options.remove(entry) {
                    out.options.slave_options.insert((*one).to_owned(), so);
                }
                said.push(format!(
                    "{entry}: the file's {m} is {one} here{}",
                    if m.rename { " (not renamed: `ubond up` renames no NIC)" } else { "" }
                ));
            }
            [] => said.push(format!("{entry}: no interface here matches {m}: left as named")),
            many => said.push(format!(
                "{entry}: {} interfaces match {m} ({}): left as named",
                many.len(),
                many.join(" ")
            )),
        }
    }
    out.matches.clear();
    (out, said)
}

/// The PCI place of interface `name` as udev's `ID_PATH` spells it (`pci-0000:06:08.1`): the
/// last PCI address on the way to its device (a virtio NIC's is its PCI function's).
fn path_of(name: &str) -> Option<String> {
    let p = std::path::Path::new("/sys/class/net").join(name).join("device");
    let real = std::fs::canonicalize(p).ok()?;
    let is_pci = |c: &str| {
        let b = c.as_bytes();
        c.len() == 12 && b[4] == b':' && b[7] == b':' && b[10] == b'.'
    };
    real.iter().filter_map(|c| c.to_str()).rev().find(|c| is_pci(c)).map(|a| format!("pci-{a}"))
}

/// The driver of interface `name` (`/sys/class/net/NAME/device/driver`).
fn driver_of(name: &str) -> Option<String> {
    let p = std::path::Path::new("/sys/class/net").join(name).join("device/driver");
    std::fs::read_link(p).ok()?.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn gateway(b: &BondConfig, gw: IpAddr, r: &mut Report<'_>) {
    if addr::default_gateways(&b.name).map(|g| g.contains(&gw)).unwrap_or(false) {
        return;
    }
    match addr::add_default_route(&b.name, gw) {
        Ok(true) => r.done(format!("default via {gw}")),
        Ok(false) => r.warn(format!(
            "a default route exists already: kept (the file's gateway {gw} is not added; `ip route replace default via {gw} dev {}` would)",
            b.name
        )),
        Err(e) => r.fail(format!("{e} (is the gateway {gw} inside one of the bond's subnets?)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_bond_says_why_and_the_command_to_run() {
        let p = ubond_config::parse(
            Format::Ifcfg,
            &[ubond_config::SourceFile::new(
                "/etc/sysconfig/network-scripts/ifcfg-bond1",
                "DEVICE=bond1\nTYPE=Bond\nONBOOT=no\n",
            )],
        );
        let b = &p.config.bonds[0];
        let mut args =
            UpArgs { bonds: Vec::new(), from: Vec::new(), format: None, root: PathBuf::from("/") };
        assert_eq!(
            skipped(b, &args),
            "bond1: not started at boot (ONBOOT=no at /etc/sysconfig/network-scripts/ifcfg-bond1:3:1); name it to bring it up: ubond up bond1"
        );
        args.from = vec![PathBuf::from("/srv/it's here/bond1.cfg"), PathBuf::from("/srv/b")];
        args.format = Some(Format::Ifcfg);
        assert!(
            skipped(b, &args).ends_with(
                r"name it to bring it up: ubond up bond1 --from '/srv/it'\''s here/bond1.cfg' /srv/b --format ifcfg"
            ),
            "{}",
            skipped(b, &args)
        );
    }
}
