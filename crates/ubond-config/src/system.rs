//! A system's own bond configuration: the files each format keeps in their usual places
//! ([`LOCATIONS`]), read through [`Files`] and merged into one [`ConfigSet`] ([`merge`]).
//!
//! Merging, as a machine booting with several tools would end up:
//!
//! * A bond defined by one format (with its slaves) is taken as is.
//! * A bond defined with the same meaning by two formats is taken once; with different
//!   meanings it is an error at the second definition (which one would win depends on which
//!   tool runs last, so ubond does not guess). A bond one format starts at boot and another
//!   does not is started at boot (the first tool brings it up), said as a note.
//! * `/etc/modprobe.d` holds options only: they apply to the bond of that name defined
//!   elsewhere when that definition sets no options itself (the distribution's tool writes its
//!   own options over the module's otherwise, which is said as a warning); an ifcfg file of
//!   that name that nothing else marks as a bond (no `TYPE`, `BONDING_OPTS` or slaves) is
//!   that bond's, as initscripts read it; a bond only modprobe.d defines is created without
//!   slaves, as loading the module would.

use crate::convert::{parse, Format};
use crate::files::{glob_match, Files};
use crate::finding::{Finding, Span};
use crate::interfaces;
use crate::model::{ConfigSet, Parsed, SourceFile};

/// Where each format's files are, as a directory and a shell pattern for the names, in the
/// order they are read: ubond's own first, modprobe.d (options only) last. networkd's drop-ins
/// (`<unit>.d/*.conf` in its directory) are read with its units.
pub const LOCATIONS: &[(Format, &str, &str)] = &[
    (Format::Toml, "/etc/ubond", "*.toml"),
    (Format::Interfaces, "/etc/network", "interfaces"),
    (Format::Ifcfg, "/etc/sysconfig/network-scripts", "ifcfg-*"),
    (Format::Ifcfg, "/etc/sysconfig/network-scripts", "route-*"),
    (Format::Ifcfg, "/etc/sysconfig/network-scripts", "route6-*"),
    (Format::Ifcfg, "/etc/sysconfig/network", "ifcfg-*"),
    (Format::Ifcfg, "/etc/sysconfig/network", "ifroute-*"),
    (Format::Ifcfg, "/etc/sysconfig/network", "routes"),
    (Format::Networkd, "/etc/systemd/network", "*.netdev"),
    (Format::Networkd, "/etc/systemd/network", "*.network"),
    (Format::Networkd, "/etc/systemd/network", "*.link"),
    (Format::Keyfile, "/etc/NetworkManager/system-connections", "*.nmconnection"),
    (Format::Netplan, "/etc/netplan", "*.yaml"),
    (Format::Modprobe, "/etc/modprobe.d", "*.conf"),
];

/// Backup and package-manager leftovers that initscripts and the others skip.
const IGNORED_SUFFIXES: &[&str] =
    &["~", ".bak", ".old", ".orig", ".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-dist"];

/// What [`read_system`] found.
#[derive(Debug, Clone, Default)]
pub struct SystemConfig {
    /// The bonds, merged.
    pub config: ConfigSet,
    /// Parse findings of every file read, and the merge's.
    pub findings: Vec<Finding>,
    /// The files read, by format (for `interfaces`, with the files it includes).
    pub files: Vec<(Format, Vec<String>)>,
}

/// Reads every file of [`LOCATIONS`] that exists below `fs` and merges their bonds.
pub fn read_system(fs: &dyn Files) -> SystemConfig {
    let mut parsed: Vec<(Format, Parsed)> = Vec::new();
    let mut files: Vec<(Format, Vec<String>)> = Vec::new();
    let mut formats: Vec<Format> = Vec::new();
    for (format, _, _) in LOCATIONS {
        if !formats.contains(format) {
            formats.push(*format);
        }
    }
    let mut findings = Vec::new();
    for format in formats {
        if format == Format::Interfaces {
            let path = "/etc/network/interfaces";
            // Absent is normal; unreadable is said (by load, at line 1).
            if fs.read(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
                continue;
            }
            let (sources, f) = interfaces::load(path, fs);
            findings.extend(f.iter().cloned());
            let mut p = interfaces::parse_following(&[path], fs);
            // parse_following repeats load's findings: keep them once.
            p.findings.retain(|x| !f.contains(x));
            files.push((format, sources.iter().map(|s| s.path.clone()).collect()));
            parsed.push((format, p));
            continue;
        }
        let mut sources = Vec::new();
        for (_, dir, pattern) in LOCATIONS.iter().filter(|(f, _, _)| *f == format) {
            let Ok(names) = fs.list(dir) else { continue };
            for name in names {
                if !glob_match(pattern, &name) || IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s))
                {
                    continue;
                }
                let path = format!("{dir}/{name}");
                if fs.is_dir(&path) {
                    continue;
                }
                read_into(fs, path, &mut sources, &mut findings);
            }
        }
        if format == Format::Networkd {
            // Drop-ins: `<unit>.d/*.conf` next to the units.
            let dir = "/etc/systemd/network";
            for name in fs.list(dir).unwrap_or_default() {
                let sub = format!("{dir}/{name}");
                if crate::networkd::dropin_target(&format!("{sub}/x.conf")).is_none()
                    || !fs.is_dir(&sub)
                {
                    continue;
                }
                for conf in fs.list(&sub).unwrap_or_default() {
                    let path = format!("{sub}/{conf}");
                    if conf.ends_with(".conf") && !fs.is_dir(&path) {
                        read_into(fs, path, &mut sources, &mut findings);
                    }
                }
            }
        }
        if sources.is_empty() {
            continue;
        }
        // The content decides the format; the place only when the content does not say.
        let mut groups: Vec<(Format, Vec<SourceFile>)> = Vec::new();
        for f in sources {
            let fmt = match Format::detect(&f) {
                Some(d)
                    if d != format && !(format == Format::Netplan && d == Format::CloudInit2) =>
                {
                    findings.push(Finding::info(
                        &Span::new(f.path.clone(), 1, 1),
                        format!("read as {d} (its content), not {format} (its place)"),
                    ));
                    d
                }
                _ => format,
            };
            match groups.iter_mut().find(|(x, _)| *x == fmt) {
                Some((_, g)) => g.push(f),
                None => groups.push((fmt, vec![f])),
            }
        }
        for (fmt, group) in groups {
            files.push((fmt, group.iter().map(|s| s.path.clone()).collect()));
            parsed.push((fmt, parse(fmt, &group)));
        }
    }
    let (config, merged) = merge(parsed);
    findings.extend(merged);
    SystemConfig { config, findings, files }
}

/// Reads the file at `path` into `sources`; one that cannot be read is a warning.
fn read_into(
    fs: &dyn Files,
    path: String,
    sources: &mut Vec<SourceFile>,
    findings: &mut Vec<Finding>,
) {
    match fs.read(&path) {
        Ok(text) => sources.push(SourceFile::new(path, text)),
        Err(e) => findings.push(Finding::warning(
            &Span::new(path.clone(), 1, 1),
            format!("cannot read '{path}': {e}"),
        )),
    }
}

/// Lints the files of several formats together, as a system reads them ([`merge`]): each
/// format's findings, the merge's, and the shared checks ([`crate::checks::check`]) on the
/// merged bonds (modprobe.d alone: bonds without slaves are its way), sorted by the order of
/// `files`, then line and column. Returns the merged bonds too, for the live checks.
pub fn lint(parsed: Vec<(Format, Parsed)>, files: &[String]) -> (ConfigSet, Vec<Finding>) {
    let with_slaves = parsed.iter().any(|(f, _)| f.has_slaves());
    let (set, mut findings) = merge(parsed);
    findings.extend(crate::checks::check(&set, with_slaves));
    let index = |f: &Finding| files.iter().position(|x| *x == f.file).unwrap_or(usize::MAX);
    findings.sort_by_key(|f| (index(f), f.line, f.column));
    (set, findings)
}

fn where_(b: &crate::BondConfig) -> String {
    b.spans.bond.as_ref().map(|s| s.to_string()).unwrap_or_else(|| "<config>".to_owned())
}

/// Merges the bonds of several formats (see the module docs); returns the parse findings
/// followed by the merge's.
pub fn merge(parsed: Vec<(Format, Parsed)>) -> (ConfigSet, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut out = ConfigSet::default();
    let mut modprobe = Vec::new();
    let mut unmarked = Vec::new();
    for (format, p) in parsed {
        findings.extend(p.findings);
        unmarked.extend(p.unmarked);
        if !format.has_slaves() {
            modprobe.extend(p.config.bonds);
            continue;
        }
        for b in p.config.bonds {
            match out.bonds.iter_mut().find(|o| o.name == b.name) {
                // Twice in one format: the format's own checks say so; keep the first.
                Some(first) if first.same_meaning(&b) => findings.push(Finding::info(
                    &b.spans.bond.clone().unwrap_or_else(|| Span::new("<config>", 1, 1)),
                    format!(
                        "bond '{}' is also defined at {} (same meaning)",
                        b.name,
                        where_(first)
                    ),
                )),
                // Started at boot by one tool and not by the other: it is started at boot.
                Some(first) if first.same_meaning_but_boot(&b) => {
                    let (on, off) = if first.on_boot { (&*first, &b) } else { (&b, &*first) };
                    findings.push(Finding::info(
                        &b.spans.bond.clone().unwrap_or_else(|| Span::new("<config>", 1, 1)),
                        format!(
                            "bond '{}' is also defined at {} (same meaning); it starts at boot as {} says, although {}",
                            b.name,
                            where_(first),
                            where_(on),
                            off.not_on_boot_reason().unwrap_or_default()
                        ),
                    ));
                    if b.on_boot {
                        first.on_boot = true;
                        first.spans.not_on_boot = None;
                    }
                }
                Some(first) => findings.push(
                    Finding::error(
                        &b.spans.bond.clone().unwrap_or_else(|| Span::new("<config>", 1, 1)),
                        format!(
                            "bond '{}' is also defined at {} with a different meaning",
                            b.name,
                            where_(first)
                        ),
                    )
                    .with_fix(
                        "keep one definition of the bond (or name the files to use with --from)",
                    ),
                ),
                None => out.bonds.push(b),
            }
        }
    }
    for m in modprobe {
        let at = m.spans.bond.clone().unwrap_or_else(|| Span::new("<config>", 1, 1));
        match out.bonds.iter_mut().find(|b| b.name == m.name) {
            Some(b) if b.spans.options.is_empty() => {
                b.options = m.options.clone();
                b.spans.options = m.spans.options.clone();
            }
            Some(b) if b.options != m.options => findings.push(
                Finding::warning(
                    &at,
                    format!(
                        "these module options for '{}' are overridden by the options at {}",
                        m.name,
                        where_(b)
                    ),
                )
                .with_fix("set the bond's options in one place"),
            ),
            Some(_) => {}
            None => match unmarked.iter().position(|u| u.name == m.name) {
                // initscripts' old split: `ifcfg-bond0` holds the addresses, modprobe.d
                // makes the bonding device and gives its options.
                Some(i) => {
                    let mut b = unmarked.swap_remove(i);
                    // The parser's "only if modprobe.d makes one" has its answer.
                    let said = b.spans.bond.clone();
                    findings.retain(|f| {
                        !(Some(f.span()) == said && f.message.contains("a bond only if modprobe.d"))
                    });
                    findings.push(Finding::info(
                        &b.spans.bond.clone().unwrap_or_else(|| at.clone()),
                        format!(
                            "'{}' is a bond: the module options at {at} make a bonding device of that name",
                            b.name
                        ),
                    ));
                    b.options = m.options.clone();
                    b.spans.options = m.spans.options.clone();
                    out.bonds.push(b);
                }
                None => out.bonds.push(m),
            },
        }
    }
    (out, findings)
}
