//! `ubond doctor`: gathers bond reports — the kernel's `/proc/net/bonding/*`, the daemon's,
//! or files — with what the host can add (option values, bridges), and prints what
//! [`ubond_doctor::diagnose`] finds.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ubond_doctor::diagnose::Bridged;
use ubond_doctor::{Bond, Facts, Report, Severity};

use crate::control::{self, Request};

/// The kernel's reports.
const PROC_BONDING: &str = "/proc/net/bonding";

/// Runs `ubond doctor TARGET...`; `Ok(false)` when something is wrong (a warning or an error).
pub fn run(socket: &Path, targets: &[String]) -> Result<bool> {
    let bonds = if targets.is_empty() { everything(socket)? } else { gather(socket, targets)? };
    if bonds.is_empty() {
        println!(
            "no bonds: none in {PROC_BONDING} and no ubond daemon at {} \
             (give a bond's name or a report file)",
            socket.display()
        );
        return Ok(true);
    }
    let findings = ubond_doctor::diagnose(&bonds);
    let mut worst = None;
    for b in &bonds {
        let mine: Vec<_> = findings.iter().filter(|f| f.bond == b.name).collect();
        let driver = if b.report.is_ubond() {
            format!("ubond {}", b.report.driver_version.trim_start_matches("ubond-"))
        } else {
            format!("Linux {}", b.report.driver_version)
        };
        let up = b
            .report
            .slaves
            .iter()
            .filter(|s| s.mii_status == ubond_doctor::report::LinkState::Up)
            .count();
        println!(
            "{}: {}, {} slave(s), {up} up ({driver})",
            b.name,
            b.report.mode,
            b.report.slaves.len()
        );
        if mine.is_empty() {
            println!("  no problem found");
        }
        for f in mine {
            print_finding(f);
            worst = Some(worst.map_or(f.severity, |w: Severity| w.min(f.severity)));
        }
    }
    for f in findings.iter().filter(|f| !bonds.iter().any(|b| b.name == f.bond)) {
        println!("{}:", f.bond);
        print_finding(f);
        worst = Some(worst.map_or(f.severity, |w: Severity| w.min(f.severity)));
    }
    Ok(!matches!(worst, Some(Severity::Error | Severity::Warning)))
}

fn print_finding(f: &ubond_doctor::Finding) {
    println!("  {} [{}]", f.severity, f.code);
    print_wrapped("    ", &f.summary);
    for e in &f.evidence {
        print_wrapped("    evidence: ", e);
    }
    print_wrapped("    fix: ", &f.fix);
}

/// Prints `text` after `lead`, wrapped at 100 columns, continuation lines indented by four.
fn print_wrapped(lead: &str, text: &str) {
    let mut line = lead.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > 100 {
            println!("{line}");
            line = "      ".to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    println!("{line}");
}

/// Every kernel bond, then every bond of the daemon (if one answers).
fn everything(socket: &Path) -> Result<Vec<Bond>> {
    let mut bonds = Vec::new();
    if let Ok(dir) = std::fs::read_dir(PROC_BONDING) {
        let mut names: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            bonds.push(from_file(&path, socket)?);
        }
    }
    if let Ok(resp) = control::call(socket, &Request::Status { bond: None, json: true }) {
        let list: serde_json::Value = serde_json::from_str(&resp.output).unwrap_or_default();
        for name in list.as_array().into_iter().flatten().filter_map(|b| b["name"].as_str()) {
            bonds.push(from_daemon(socket, name)?);
        }
    }
    Ok(bonds)
}

fn gather(socket: &Path, targets: &[String]) -> Result<Vec<Bond>> {
    let mut bonds = Vec::new();
    for t in targets {
        let path = Path::new(t);
        let bond = if t == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("reading standard input")?;
            let report = Report::parse(&text).map_err(|e| anyhow!("standard input: {e}"))?;
            Bond { name: "stdin".into(), report, facts: Facts::default() }
        } else if t.contains('/') || path.is_file() {
            from_file(path, socket)?
        } else if Path::new(PROC_BONDING).join(t).exists() {
            from_file(&Path::new(PROC_BONDING).join(t), socket)?
        } else {
            from_daemon(socket, t).with_context(|| {
                format!(
                    "{t}: not a file, not in {PROC_BONDING}, and the ubond daemon at {} does \
                     not answer for it",
                    socket.display()
                )
            })?
        };
        bonds.push(bond);
    }
    // Names must tell the bonds apart (two files of two hosts both say bond0).
    for i in 0..bonds.len() {
        if bonds.iter().filter(|b| b.name == bonds[i].name).count() > 1 {
            bonds[i].name = format!("{} ({})", bonds[i].name, targets[i]);
        }
    }
    Ok(bonds)
}

/// A report file: the kernel's (`/proc/net/bonding/X`: options from sysfs), the daemon's
/// (a file next to its control socket: options from the daemon), or any copy.
fn from_file(path: &Path, socket: &Path) -> Result<Bond> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut report = Report::parse(&text)
        .map_err(|e| anyhow!("{}: not a bonding report: {e}", path.display()))?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(""));
    let live_kernel = dir == Path::new(PROC_BONDING);
    let live_ubond = socket.parent().is_some_and(|d| d == dir) && report.is_ubond();
    if live_kernel || live_ubond {
        report.name.get_or_insert_with(|| file_name.clone());
    }
    let name = match &report.name {
        Some(n) if live_kernel || live_ubond => n.clone(),
        _ => file_name.clone(),
    };
    let mut facts = Facts::default();
    if live_kernel {
        facts.options = sysfs_options(&file_name);
        facts.bridged = bridged(&report);
    } else if live_ubond {
        if let Ok(f) = daemon_facts(socket, &file_name, &report) {
            facts = f;
        }
    }
    Ok(Bond { name, report, facts })
}

fn from_daemon(socket: &Path, name: &str) -> Result<Bond> {
    let resp =
        control::call(socket, &Request::Status { bond: Some(name.to_string()), json: false })?;
    if let Some(e) = resp.error {
        bail!("{e}");
    }
    let mut report =
        Report::parse(&resp.output).map_err(|e| anyhow!("{name}: the daemon's report: {e}"))?;
    report.name = Some(name.to_string());
    let facts = daemon_facts(socket, name, &report)?;
    Ok(Bond { name: name.to_string(), report, facts })
}

fn daemon_facts(socket: &Path, name: &str, report: &Report) -> Result<Facts> {
    let resp = control::call(socket, &Request::Get { bond: name.to_string(), option: None })?;
    if let Some(e) = resp.error {
        bail!("{e}");
    }
    let mut facts = Facts::from_get_output(&resp.output);
    facts.bridged = bridged(report);
    Ok(facts)
}

/// `/sys/class/net/BOND/bonding/*`, first line of each.
fn sysfs_options(bond: &str) -> Vec<(String, String)> {
    let dir = Path::new("/sys/class/net").join(bond).join("bonding");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<(String, String)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let value = std::fs::read_to_string(e.path()).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                value.lines().next().unwrap_or("").to_string(),
            ))
        })
        .collect();
    out.sort();
    out
}

/// The slaves that reach their partner through a Linux bridge here.
fn bridged(report: &Report) -> Vec<Bridged> {
    use ubond_config::live::LinkProbe;
    report
        .slaves
        .iter()
        .filter_map(|s| {
            let facts = crate::probe::SystemProbe.probe(&s.name)?;
            Some(Bridged { slave: s.name.clone(), bridge: facts.bridge?, via: facts.bridge_via })
        })
        .collect()
}
