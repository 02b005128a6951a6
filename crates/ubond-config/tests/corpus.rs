//! The corpus: real bond configurations from the documentation, man pages and test data of
//! the tools that write them (`tests/corpus/*/`, origins and licences in
//! `tests/corpus/SOURCES`), each with its meaning written by hand in an `expect` file, read as
//! the file's own tool reads it.
//!
//! For every case: the findings (no error but those expected, every expected one present),
//! the meaning (bond by bond), the format detected from the content, the conversion to every
//! format and back (the same meaning but for the losses the conversion declared), and the
//! plan of `ubond up` (the options `ubond add` is given make the same bond).
//!
//! `expect` syntax, one fact a line:
//!
//! ```text
//! format netplan                       # or `auto`: each file's format detected, then merged
//! bond bond0
//!   slaves eth0 eth1
//!   mode 802.3ad                       # any kernel option: name and value
//!   slave-option eth0 queue_id 2
//!   address 192.0.2.10/24
//!   route default via 192.0.2.1 metric 100 table 5
//!   dns 192.0.2.53 192.0.2.54
//!   search example.org
//!   mtu 9000
//!   mac 02:00:00:00:00:01
//!   dhcp4 / dhcp6
//!   boot no
//!   match port1 mac 00:11:22:33:44:55 name en* driver ixgbe path pci-0000:06:08.1 rename
//!   ovs br0 bond_mode=balance-tcp lacp=active
//!   extras 2                           # lines ubond does not model
//!   extra post-up                      # ... one of them contains this
//! error 01-netcfg.yaml:12 lacp-rate    # FILE:LINE and a part of the message
//! warning interfaces:7 slave
//! ```

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ubond_config::{
    convert, parse, system, BondConfig, ConfigSet, Fact, Finding, Format, Match, OvsBond, Route,
    Severity, SourceFile,
};
use ubond_core::options::{BondOptions, OptionId, SetContext, SlaveOptions};

/// A bond being read from `expect`: the bond, its options as written, the number of extras
/// and parts of them.
type Pending = Option<(BondConfig, Vec<(String, String)>, usize, Vec<String>)>;

struct Case {
    name: String,
    format: Option<Format>,
    files: Vec<SourceFile>,
    bonds: Vec<(BondConfig, usize, Vec<String>)>,
    findings: Vec<(Severity, String, u32, String)>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn load(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let expect = std::fs::read_to_string(dir.join("expect")).unwrap();
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let base = p.file_name().unwrap().to_string_lossy().into_owned();
        if base == "expect" {
            continue;
        }
        files.push(SourceFile::new(base, std::fs::read_to_string(&p).unwrap()));
    }
    let mut case = Case { name, format: None, files, bonds: Vec::new(), findings: Vec::new() };
    let mut cur: Pending = None;
    let finish =
        |cur: &mut Pending, out: &mut Vec<(BondConfig, usize, Vec<String>)>, case: &str| {
            if let Some((mut b, opts, n, extras)) = cur.take() {
                b.options = options(&opts, case);
                out.push((b, n, extras));
            }
        };
    for (i, line) in expect.lines().enumerate() {
        let line = line.split(" # ").next().unwrap().trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = format!("{}/expect:{}", case.name, i + 1);
        match words[0] {
            "format" => {
                case.format = match words[1] {
                    "auto" => None,
                    f => Some(f.parse().unwrap_or_else(|e| panic!("{at}: {e}"))),
                }
            }
            "bond" => {
                finish(&mut cur, &mut case.bonds, &case.name);
                cur = Some((BondConfig::new(words[1]), Vec::new(), 0, Vec::new()));
            }
            "error" | "warning" | "info" => {
                let sev = match words[0] {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    _ => Severity::Info,
                };
                let (file, l) = words[1].rsplit_once(':').unwrap();
                let rest = line.splitn(3, ' ').nth(2).unwrap_or("").to_owned();
                case.findings.push((sev, file.to_owned(), l.parse().unwrap(), rest));
            }
            _ => {
                let (b, opts, n, extras) =
                    cur.as_mut().unwrap_or_else(|| panic!("{at}: a fact outside a bond"));
                let rest = || words[1..].join(" ");
                match words[0] {
                    "slaves" if line.contains(',') => {
                        b.slaves =
                            line["slaves".len()..].split(',').map(|s| s.trim().to_owned()).collect()
                    }
                    "slaves" => b.slaves = words[1..].iter().map(|s| s.to_string()).collect(),
                    "address" => b.addresses.push(prefixed(words[1])),
                    "route" => b.routes.push(route(&words[1..], &at)),
                    "dns" => b.dns.servers.extend(words[1..].iter().map(|s| ip(s))),
                    "search" => b.dns.search.extend(words[1..].iter().map(|s| s.to_string())),
                    "mtu" => b.mtu = Some(words[1].parse().unwrap()),
                    "mac" => b.mac = Some(words[1].parse().unwrap()),
                    "dhcp4" => b.dhcp4 = true,
                    "dhcp6" => b.dhcp6 = true,
                    "boot" => b.on_boot = words[1] != "no",
                    "match" => {
                        let mut m = Match::default();
                        // A name with spaces is quoted: match "cloud-init eth0" mac ...
                        let (name, mut i) = if words[1].starts_with('"') {
                            let end = words
                                .iter()
                                .position(|w| w.ends_with('"') && w.len() > 1 || *w == "\"")
                                .unwrap_or(1);
                            let end =
                                if words[1].len() > 1 && words[1].ends_with('"') { 1 } else { end };
                            (words[1..=end].join(" ").trim_matches('"').to_owned(), end + 1)
                        } else {
                            (words[1].to_owned(), 2)
                        };
                        while i < words.len() {
                            match words[i] {
                                "mac" => m.mac = Some(words[i + 1].parse().unwrap()),
                                "name" => m.name = Some(words[i + 1].to_owned()),
                                "driver" => m.driver = Some(words[i + 1].to_owned()),
                                "path" => m.path = Some(words[i + 1].to_owned()),
                                "rename" => {
                                    m.rename = true;
                                    i += 1;
                                    continue;
                                }
                                w => panic!("{at}: unknown match word {w}"),
                            }
                            i += 2;
                        }
                        b.matches.insert(name, m);
                    }
                    "ovs" => {
                        let mut settings: Vec<(String, String)> = words[2..]
                            .iter()
                            .map(|kv| {
                                let (k, v) = kv.split_once('=').unwrap();
                                (k.to_owned(), v.to_owned())
                            })
                            .collect();
                        settings.sort();
                        b.ovs = Some(OvsBond { bridge: words[1].to_owned(), settings });
                    }
                    "extras" => *n = words[1].parse().unwrap(),
                    "extra" => extras.push(rest()),
                    "slave-option" => {
                        opts.push((format!("{}:{}", words[1], words[2]), words[3].to_owned()))
                    }
                    name => {
                        assert!(
                            OptionId::from_name(name).is_some(),
                            "{at}: unknown fact or option '{name}'"
                        );
                        opts.push((name.to_owned(), rest()));
                    }
                }
            }
        }
    }
    finish(&mut cur, &mut case.bonds, &case.name);
    case
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("not an address: {s}"))
}

fn prefixed(s: &str) -> (IpAddr, u8) {
    let (a, p) = s.split_once('/').unwrap();
    (ip(a), p.parse().unwrap())
}

fn route(words: &[&str], at: &str) -> Route {
    let to = match words[0] {
        "default" => None,
        d => Some(prefixed(d)),
    };
    let mut via = None;
    let mut metric = None;
    let mut table = None;
    for kv in words[1..].chunks(2) {
        match kv[0] {
            "via" => via = Some(ip(kv[1])),
            "metric" => metric = Some(kv[1].parse().unwrap()),
            "table" => table = Some(kv[1].parse().unwrap()),
            w => panic!("{at}: unknown route word {w}"),
        }
    }
    let to = to.unwrap_or_else(|| {
        let v6 = via.is_some_and(|v: IpAddr| v.is_ipv6()) || words.contains(&"v6");
        (if v6 { ip("::") } else { ip("0.0.0.0") }, 0)
    });
    Route { to, via, metric, table }
}

/// The options, applied with sysfs semantics.
fn options(opts: &[(String, String)], case: &str) -> BondOptions {
    let mut o = BondOptions::default();
    let ctx = SetContext::new();
    // A set of facts: applied in the kernel's dependency order (the mode, the monitors'
    // intervals and targets first).
    let rank = |k: &str| match k {
        "mode" => 0,
        "miimon" | "arp_ip_target" | "ns_ip6_target" => 1,
        "arp_interval" => 2,
        "primary" => 3,
        _ => 4,
    };
    let mut opts = opts.to_vec();
    opts.sort_by_key(|(k, _)| rank(k));
    for (k, v) in &opts {
        if let Some((slave, opt)) = k.split_once(':') {
            let so = o.slave_options.entry(slave.to_owned()).or_insert_with(SlaveOptions::default);
            match opt {
                "queue_id" => so.queue_id = v.parse().unwrap(),
                "prio" => so.prio = v.parse().unwrap(),
                "actor_port_prio" => so.actor_port_prio = v.parse().unwrap(),
                _ => panic!("{case}: unknown per-slave option {opt}"),
            }
            continue;
        }
        let id = OptionId::from_name(k).unwrap();
        match id {
            OptionId::ArpIpTarget | OptionId::NsIp6Target => {
                for t in v.split([',', ' ']).filter(|t| !t.is_empty()) {
                    o.set(k, &format!("+{t}"), &ctx).unwrap_or_else(|e| panic!("{case}: {e}"));
                }
            }
            OptionId::ActiveSlave => o.active_slave = Some(v.clone()),
            OptionId::MaxBonds => o.max_bonds = v.parse().unwrap(),
            OptionId::TxQueues => o.tx_queues = v.parse().unwrap(),
            _ => {
                o.set(k, v, &ctx).unwrap_or_else(|e| panic!("{case}: {k} {v}: {e}"));
            }
        }
    }
    o
}

/// Parses a case's files as its format, or each file as the format its content says and
/// merged as a system would.
fn read(case: &Case) -> (ConfigSet, Vec<Finding>) {
    match case.format {
        Some(f) => {
            let p = parse(f, &case.files);
            let mut findings = p.findings;
            findings.extend(ubond_config::checks::check(&p.config, f.has_slaves()));
            (p.config, findings)
        }
        None => {
            let mut groups: Vec<(Format, Vec<SourceFile>)> = Vec::new();
            for f in &case.files {
                let fmt = Format::detect(f)
                    .unwrap_or_else(|| panic!("{}: format of {} not detected", case.name, f.path));
                match groups.iter_mut().find(|(x, _)| *x == fmt) {
                    Some((_, v)) => v.push(f.clone()),
                    None => groups.push((fmt, vec![f.clone()])),
                }
            }
            let parsed = groups.into_iter().map(|(f, g)| (f, parse(f, &g))).collect();
            let (set, mut findings) = system::merge(parsed);
            findings.extend(ubond_config::checks::check(&set, true));
            (set, findings)
        }
    }
}

fn show(f: &[Finding]) -> String {
    f.iter().map(|x| format!("  {x}")).collect::<Vec<_>>().join("\n")
}

fn check_case(case: &Case) -> Result<(), String> {
    let (set, findings) = read(case);
    // Findings.
    for (sev, file, line, text) in &case.findings {
        let found = findings.iter().any(|f| {
            f.severity == *sev
                && f.file.rsplit('/').next() == Some(file.as_str())
                && f.line == *line
                && f.message.contains(text.as_str())
        });
        if !found {
            return Err(format!(
                "expected {sev} {file}:{line} '{text}' not found in\n{}",
                show(&findings)
            ));
        }
    }
    for f in findings.iter().filter(|f| f.severity == Severity::Error) {
        let expected = case.findings.iter().any(|(sev, file, line, _)| {
            *sev == Severity::Error
                && f.file.rsplit('/').next() == Some(file.as_str())
                && f.line == *line
        });
        if !expected {
            return Err(format!("unexpected error: {f}\nall findings:\n{}", show(&findings)));
        }
    }
    // Detection by content.
    if let Some(fmt) = case.format {
        for f in &case.files {
            let got = Format::detect(f);
            if got != Some(fmt) {
                return Err(format!("{} detected as {got:?}, not {fmt}", f.path));
            }
        }
    }
    // Meaning.
    if set.bonds.len() != case.bonds.len() {
        return Err(format!(
            "{} bond(s) read, {} expected: {:#?}",
            set.bonds.len(),
            case.bonds.len(),
            set.bonds.iter().map(|b| &b.name).collect::<Vec<_>>()
        ));
    }
    for (got, (want, n_extras, extras)) in set.bonds.iter().zip(&case.bonds) {
        let mut g = got.without_spans();
        let got_extras = std::mem::take(&mut g.extras);
        if g != *want {
            return Err(format!("bond {} reads as\n{g:#?}\nexpected\n{want:#?}", want.name));
        }
        if got_extras.len() != *n_extras
            || !extras.iter().all(|e| got_extras.iter().any(|x| x.contains(e.as_str())))
        {
            return Err(format!(
                "bond {}: extras {got_extras:#?}, expected {n_extras} with {extras:?}",
                want.name
            ));
        }
    }
    // A configuration with errors is not converted (`ubond config convert` refuses it).
    if ubond_config::has_errors(&findings) {
        return Ok(());
    }
    // Every conversion keeps the meaning, but for what it says it lost.
    for &to in Format::ALL {
        let conv = convert(&set, to);
        let back = parse(to, &conv.files);
        if ubond_config::has_errors(&back.findings) {
            return Err(format!(
                "as {to}: errors reading it back:\n{}\n{:#?}",
                show(&back.findings),
                conv.files
            ));
        }
        for b in &set.bonds {
            let losses: Vec<&Fact> =
                conv.losses.iter().filter(|l| l.bond == b.name).map(|l| &l.fact).collect();
            let Some(again) = back.config.bond(&b.name) else {
                if losses.contains(&&Fact::Slaves) {
                    continue; // an OVS bond needs two interfaces: said
                }
                return Err(format!("as {to}: bond {} gone\n{:#?}", b.name, conv.files));
            };
            let mut want = b.without_spans();
            let mut got = again.without_spans();
            for f in &losses {
                want.adopt(&got, f);
            }
            if want.ovs.is_none() {
                got.ovs = None; // an OVS format writes a kernel bond as an OVS bond
            }
            if want != got {
                return Err(format!(
                    "as {to}: bond {} changed without saying so\nwas  {want:#?}\nnow  {got:#?}\nlosses {losses:?}\n{:#?}",
                    b.name, conv.files
                ));
            }
        }
    }
    // `ubond up`'s plan: `ubond add BOND OPTIONS` makes the same bond (the options set after
    // enslaving aside).
    for b in &set.bonds {
        let mut o = BondOptions::default();
        let ctx = SetContext::new();
        for kv in b.creation_options().split_whitespace() {
            let (k, v) = kv.split_once('=').unwrap();
            if matches!(k, "arp_ip_target" | "ns_ip6_target") {
                for t in v.split(',') {
                    o.set(k, &format!("+{t}"), &ctx).map_err(|e| format!("up plan: {e}"))?;
                }
            } else {
                o.set(k, v, &ctx).map_err(|e| format!("up plan {kv}: {e}"))?;
            }
        }
        let mut want = b.options.clone();
        want.active_slave = None;
        want.slave_options.clear();
        want.max_bonds = o.max_bonds;
        want.tx_queues = o.tx_queues;
        if o != want {
            return Err(format!(
                "up plan for {}: `{}` gives\n{o:#?}\nnot\n{want:#?}",
                b.name,
                b.creation_options()
            ));
        }
    }
    Ok(())
}

#[test]
fn corpus() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let sources = std::fs::read_to_string(corpus_dir().join("SOURCES")).unwrap();
    let mut failures = BTreeMap::new();
    for d in &dirs {
        let case = load(d);
        assert!(
            sources.lines().any(|l| l.starts_with(&format!("{} ", case.name))),
            "{}: no line in SOURCES",
            case.name
        );
        if let Err(e) = check_case(&case) {
            failures.insert(case.name.clone(), e);
        }
    }
    let n = failures.len();
    for (name, e) in &failures {
        eprintln!("=== {name}\n{e}\n");
    }
    assert_eq!(
        n,
        0,
        "{n} of {} corpus cases failed: {:?}",
        dirs.len(),
        failures.keys().collect::<Vec<_>>()
    );
    assert!(dirs.len() >= 100, "the corpus has {} cases", dirs.len());
}
