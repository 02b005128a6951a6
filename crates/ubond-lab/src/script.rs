//! Scenario files: a line-oriented description of a topology, a timed script of faults and
//! pings, and expectations, run on the simulator. `#` starts a comment; times are `10s`,
//! `250ms` or `1.5s`.
//!
//! ```text
//! title two hosts over a switch with LACP bonds
//! seed 4
//! host hostA 10.0.0.1 eth0=e1000 eth1=e1000      # NIC models: e1000, virtio, virtio@SPEED
//! host hostB 10.0.0.2 eth0=e1000 eth1=e1000
//! bond hostA mode 802.3ad                          # sysfs option names and values
//! bond hostA lacp_rate fast
//! switch sw1 4 1,2 3,4                             # ports, then one group per port-channel
//! bridge br0 2 [patched]                           # a Linux bridge (patched: bit 2 allowed)
//! mask br0 4                                       # group_fwd_mask (refusal is a failed goal)
//! link hostA:eth0 sw1:p1
//! capture hostA:eth0                               # pcap of that port's link
//! at 10s ping hostA hostB 10                        # 10 echo requests, one a second
//! at 21s down hostA:eth0                            # also: up, loss P, oneway, twoway
//! at 21s bridge br0 down                            # or up
//! at 10s expect hostA report "port state: 63" == 4  # count of a text in /proc/net/bonding
//! at 10s expect hostA timeline "speed/duplex" >= 2  # count of timeline lines of that node
//! expect ping hostA 10s..20s >= 10                  # answered echo requests sent in a window
//! run 40s
//! ```
//!
//! Errors name the line and column. Every loop is bounded by the file's size.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::options::{BondOptions, Mode, SetContext};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

use crate::bridge::LinuxBridge;
use crate::host::{Host, NicModel};
use crate::scenario::{GoalCheck, ScenarioResult};
use crate::sim::{LinkId, Node, NodeId, PortRef, Sim};
use crate::switch::{switch_bond_options, LacpSwitch};

/// Largest scenario file accepted.
pub const MAX_FILE_LEN: usize = 1 << 20;
/// Longest virtual time a file may ask for.
pub const MAX_RUN: Duration = Duration::from_secs(7 * 24 * 3600);

/// A scenario file's mistake, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column of the offending word.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ScriptError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ge,
    Le,
}

impl Cmp {
    fn holds(self, got: usize, want: usize) -> bool {
        match self {
            Cmp::Eq => got == want,
            Cmp::Ge => got >= want,
            Cmp::Le => got <= want,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ge => ">=",
            Cmp::Le => "<=",
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Ping { from: String, to: String, count: u32 },
    Carrier { port: (String, String), up: bool },
    Loss { port: (String, String), loss: f64 },
    OneWay { port: (String, String), dead: bool },
    Bridge { name: String, up: bool },
    Expect { node: String, what: Source, text: String, cmp: Cmp, n: usize, line: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Report,
    Timeline,
}

#[derive(Debug, Clone)]
struct PingExpect {
    host: String,
    from: Duration,
    to: Duration,
    cmp: Cmp,
    n: usize,
    line: usize,
}

#[derive(Debug, Clone)]
enum Decl {
    Host { name: String, ip: Ipv4Addr, nics: Vec<(String, NicModel)>, line: usize },
    Bridge { name: String, ports: usize, patched: bool },
    Switch { name: String, ports: usize, groups: Vec<Vec<usize>> },
}

/// `NODE:PORT` as written.
type PortName = (String, String);

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Script {
    title: String,
    seed: u64,
    decls: Vec<Decl>,
    bond_opts: Vec<(String, String, String, usize)>,
    masks: Vec<(String, u16, usize)>,
    links: Vec<(PortName, PortName, usize)>,
    captures: Vec<(PortName, usize)>,
    actions: Vec<(Duration, usize, Action)>,
    pings: Vec<PingExpect>,
    run: Duration,
}

struct Words<'a> {
    line: usize,
    words: Vec<(usize, &'a str)>,
    next: usize,
}

impl<'a> Words<'a> {
    fn new(line: usize, text: &'a str) -> Words<'a> {
        let mut words = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'#' {
                break;
            }
            if bytes[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            if bytes[i] == b'"' {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += 1;
                }
                words.push((start + 1, &text[start + 1..i.min(text.len())]));
                i += 1;
            } else {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                words.push((start + 1, &text[start..i]));
            }
        }
        Words { line, words, next: 0 }
    }

    fn err(&self, column: usize, message: impl Into<String>) -> ScriptError {
        ScriptError { line: self.line, column, message: message.into() }
    }

    fn col(&self) -> usize {
        self.words
            .get(self.next)
            .map_or_else(|| self.words.last().map_or(1, |w| w.0 + w.1.len()), |w| w.0)
    }

    fn word(&mut self, what: &str) -> Result<&'a str, ScriptError> {
        let w = self
            .words
            .get(self.next)
            .ok_or_else(|| self.err(self.col(), format!("expected {what}")))?;
        self.next += 1;
        Ok(w.1)
    }

    fn opt(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.next)?;
        self.next += 1;
        Some(w.1)
    }

    fn num<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, ScriptError> {
        let col = self.col();
        let w = self.word(what)?;
        w.parse().map_err(|_| self.err(col, format!("expected {what}, found `{w}`")))
    }

    fn time(&mut self) -> Result<Duration, ScriptError> {
        let col = self.col();
        let w = self.word("a time (10s, 250ms)")?;
        parse_time(w).ok_or_else(|| {
            self.err(col, format!("expected a time such as 10s or 250ms, found `{w}`"))
        })
    }

    fn cmp(&mut self) -> Result<Cmp, ScriptError> {
        let col = self.col();
        match self.word("==, >= or <=")? {
            "==" => Ok(Cmp::Eq),
            ">=" => Ok(Cmp::Ge),
            "<=" => Ok(Cmp::Le),
            w => Err(self.err(col, format!("expected ==, >= or <=, found `{w}`"))),
        }
    }

    fn port(&mut self) -> Result<(String, String), ScriptError> {
        let col = self.col();
        let w = self.word("NODE:PORT")?;
        let (n, p) = w
            .split_once(':')
            .ok_or_else(|| self.err(col, format!("expected NODE:PORT, found `{w}`")))?;
        Ok((n.to_string(), p.to_string()))
    }

    fn end(&self) -> Result<(), ScriptError> {
        match self.words.get(self.next) {
            Some((col, w)) => Err(self.err(*col, format!("unexpected `{w}`"))),
            None => Ok(()),
        }
    }
}

fn parse_time(w: &str) -> Option<Duration> {
    let (num, scale) = if let Some(n) = w.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = w.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    let v: f64 = num.parse().ok()?;
    let secs = v * scale;
    (secs.is_finite() && secs >= 0.0 && secs <= MAX_RUN.as_secs_f64())
        .then(|| Duration::from_secs_f64(secs))
}

fn nic_model(w: &str) -> Option<NicModel> {
    match w {
        "e1000" => Some(NicModel::E1000),
        "virtio" => Some(NicModel::Virtio { speed_mbps: None }),
        _ => w
            .strip_prefix("virtio@")
            .and_then(|s| s.parse().ok())
            .map(|s| NicModel::Virtio { speed_mbps: Some(s) }),
    }
}

impl Script {
    /// Parses a scenario file.
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        if text.len() > MAX_FILE_LEN {
            return Err(ScriptError { line: 1, column: 1, message: "file too large".to_string() });
        }
        let mut s = Script {
            title: String::new(),
            seed: 1,
            decls: Vec::new(),
            bond_opts: Vec::new(),
            masks: Vec::new(),
            links: Vec::new(),
            captures: Vec::new(),
            actions: Vec::new(),
            pings: Vec::new(),
            run: Duration::ZERO,
        };
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let mut w = Words::new(line, raw);
            let Some(&(col, keyword)) = w.words.first() else { continue };
            w.next = 1;
            match keyword {
                "title" => {
                    s.title = w.words[1..].iter().map(|x| x.1).collect::<Vec<_>>().join(" ");
                    continue;
                }
                "seed" => s.seed = w.num("a seed")?,
                "host" => {
                    let ncol = w.col();
                    let name = w.word("a host name")?.to_string();
                    let ip: Ipv4Addr = w.num("an IPv4 address")?;
                    let mut nics = Vec::new();
                    while let Some(nic) = w.opt() {
                        let c = w.words[w.next - 1].0;
                        let (n, m) =
                            nic.split_once('=').ok_or_else(|| w.err(c, "expected NIC=MODEL"))?;
                        let model = nic_model(m).ok_or_else(|| {
                            w.err(
                                c,
                                format!("unknown NIC model `{m}` (e1000, virtio, virtio@SPEED)"),
                            )
                        })?;
                        nics.push((n.to_string(), model));
                    }
                    if nics.is_empty() {
                        return Err(w.err(w.col(), "a host needs at least one NIC=MODEL"));
                    }
                    if names.insert(name.clone(), line).is_some() {
                        return Err(w.err(ncol, format!("`{name}` is already declared")));
                    }
                    s.decls.push(Decl::Host { name, ip, nics, line });
                }
                "bridge" => {
                    let ncol = w.col();
                    let name = w.word("a bridge name")?.to_string();
                    let ports = w.num("a port count")?;
                    let patched = match w.opt() {
                        None => false,
                        Some("patched") => true,
                        Some(x) => {
                            return Err(w.err(
                                w.words[w.next - 1].0,
                                format!("unexpected `{x}` (patched?)"),
                            ))
                        }
                    };
                    if names.insert(name.clone(), line).is_some() {
                        return Err(w.err(ncol, format!("`{name}` is already declared")));
                    }
                    s.decls.push(Decl::Bridge { name, ports, patched });
                }
                "switch" => {
                    let ncol = w.col();
                    let name = w.word("a switch name")?.to_string();
                    let ports: usize = w.num("a port count")?;
                    let mut groups = Vec::new();
                    while let Some(g) = w.opt() {
                        let c = w.words[w.next - 1].0;
                        let mut group = Vec::new();
                        for p in g.split(',') {
                            let p: usize = p.parse().map_err(|_| {
                                w.err(c, format!("expected port numbers such as 1,2, found `{g}`"))
                            })?;
                            if p == 0 || p > ports {
                                return Err(w.err(c, format!("port {p} outside 1..={ports}")));
                            }
                            group.push(p - 1);
                        }
                        groups.push(group);
                    }
                    if names.insert(name.clone(), line).is_some() {
                        return Err(w.err(ncol, format!("`{name}` is already declared")));
                    }
                    s.decls.push(Decl::Switch { name, ports, groups });
                }
                "bond" => {
                    let host = w.word("a host name")?.to_string();
                    let opt = w.word("an option name")?.to_string();
                    let val = w.word("a value")?.to_string();
                    s.bond_opts.push((host, opt, val, line));
                }
                "mask" => {
                    let br = w.word("a bridge name")?.to_string();
                    let c = w.col();
                    let v = w.word("a mask")?;
                    let mask = parse_u16(v)
                        .ok_or_else(|| w.err(c, format!("expected a 16-bit mask, found `{v}`")))?;
                    s.masks.push((br, mask, line));
                }
                "capture" => {
                    let p = w.port()?;
                    s.captures.push((p, line));
                }
                "link" => {
                    let a = w.port()?;
                    let b = w.port()?;
                    s.links.push((a, b, line));
                }
                "at" => {
                    let t = w.time()?;
                    let action = parse_action(&mut w, line)?;
                    s.actions.push((t, line, action));
                }
                "expect" => {
                    let c = w.col();
                    if w.word("ping")? != "ping" {
                        return Err(
                            w.err(c, "expected `ping` (timed checks are `at T expect ...`)")
                        );
                    }
                    let host = w.word("a host name")?.to_string();
                    let c = w.col();
                    let range = w.word("a window FROM..TO")?;
                    let (a, b) = range
                        .split_once("..")
                        .and_then(|(a, b)| Some((parse_time(a)?, parse_time(b)?)))
                        .ok_or_else(|| {
                            w.err(c, format!("expected a window such as 10s..20s, found `{range}`"))
                        })?;
                    let cmp = w.cmp()?;
                    let n = w.num("a count")?;
                    s.pings.push(PingExpect { host, from: a, to: b, cmp, n, line });
                }
                "run" => s.run = w.time()?,
                other => {
                    let hint = [
                        "title", "seed", "host", "bridge", "switch", "bond", "mask", "link", "at",
                        "expect", "run",
                    ]
                    .iter()
                    .find(|k| k.starts_with(&other.chars().take(2).collect::<String>()))
                    .map_or(String::new(), |k| format!(" (did you mean `{k}`?)"));
                    return Err(w.err(col, format!("unknown keyword `{other}`{hint}")));
                }
            }
            w.end()?;
        }
        s.actions.sort_by_key(|a| (a.0, a.1));
        let last = s.actions.last().map_or(Duration::ZERO, |a| a.0);
        let last_ping =
            s.pings.iter().map(|p| p.to + Duration::from_secs(1)).max().unwrap_or_default();
        s.run = s.run.max(last).max(last_ping);
        Ok(s)
    }

    /// The file's `seed` (1 if none).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Builds the topology and runs the script with PRNG seed `seed`.
    pub fn run(&self, seed: u64) -> Result<ScenarioResult, ScriptError> {
        let at_line = |line: usize, message: String| ScriptError { line, column: 1, message };
        let mut sim = Sim::new(seed);
        let mut nodes: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut checks = Vec::new();
        for (k, d) in self.decls.iter().enumerate() {
            let id = match d {
                Decl::Host { name, ip, nics, line } => {
                    let mut o = BondOptions::new();
                    o.mode = Mode::Ieee8023ad;
                    o.miimon = 100;
                    for (h, opt, val, l) in &self.bond_opts {
                        if h == name {
                            o.set(opt, val, &SetContext::new())
                                .map_err(|e| at_line(*l, format!("{h}: {e}")))?;
                        }
                    }
                    let n = u8::try_from(k + 1).unwrap_or(u8::MAX);
                    let list: Vec<(&str, NicModel, MacAddr)> = nics
                        .iter()
                        .enumerate()
                        .map(|(i, (nic, m))| {
                            (
                                nic.as_str(),
                                *m,
                                MacAddr([
                                    0x52,
                                    0x54,
                                    0,
                                    0,
                                    n,
                                    u8::try_from(i + 1).unwrap_or(u8::MAX),
                                ]),
                            )
                        })
                        .collect();
                    let host = Host::new(name, "bond0", o, &list, *ip)
                        .map_err(|e| at_line(*line, format!("{name}: {e}")))?;
                    sim.add_node(Node::Host(Box::new(host)))
                }
                Decl::Bridge { name, ports, patched } => {
                    let mut br = if *patched {
                        LinuxBridge::patched(name, *ports)
                    } else {
                        LinuxBridge::new(name, *ports)
                    };
                    for (b, mask, _) in &self.masks {
                        if b == name {
                            let res = br.set_group_fwd_mask(*mask);
                            checks.push(GoalCheck {
                                goal: format!("{name}: group_fwd_mask={mask:#x}"),
                                ok: res.is_ok(),
                                detail: res
                                    .map_or_else(|e| e.to_string(), |()| "accepted".to_string()),
                            });
                        }
                    }
                    sim.add_node(Node::Bridge(br))
                }
                Decl::Switch { name, ports, groups } => {
                    let n = u8::try_from(k + 1).unwrap_or(u8::MAX);
                    let groups: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
                    let sw = LacpSwitch::new(
                        name,
                        MacAddr([0x02, 0x5a, 0, 0, n, 0]),
                        *ports,
                        &groups,
                        &switch_bond_options(),
                    )
                    .map_err(|e| at_line(1, format!("{name}: {e}")))?;
                    sim.add_node(Node::Switch(Box::new(sw)))
                }
            };
            let name = match d {
                Decl::Host { name, .. } | Decl::Bridge { name, .. } | Decl::Switch { name, .. } => {
                    name
                }
            };
            nodes.insert(name.clone(), id);
        }
        for (b, _, line) in &self.masks {
            if !self.decls.iter().any(|d| matches!(d, Decl::Bridge { name, .. } if name == b)) {
                return Err(at_line(*line, format!("no bridge named `{b}`")));
            }
        }
        let resolve =
            |sim: &Sim, (n, p): &(String, String), line: usize| -> Result<PortRef, ScriptError> {
                let node =
                    *nodes.get(n).ok_or_else(|| at_line(line, format!("no node named `{n}`")))?;
                let port = match sim.node(node) {
                    Node::Host(h) => (0..h.port_count()).find(|&i| h.nic_name(i) == p),
                    other => p
                        .strip_prefix('p')
                        .and_then(|x| x.parse::<usize>().ok())
                        .filter(|&x| x >= 1 && x <= other.port_count())
                        .map(|x| x - 1),
                };
                let port = port.ok_or_else(|| at_line(line, format!("`{n}` has no port `{p}`")))?;
                Ok(PortRef { node, port })
            };
        let mut plugged: BTreeMap<PortRef, LinkId> = BTreeMap::new();
        for (a, b, line) in &self.links {
            let pa = resolve(&sim, a, *line)?;
            let pb = resolve(&sim, b, *line)?;
            if plugged.contains_key(&pa) || plugged.contains_key(&pb) || pa == pb {
                return Err(at_line(*line, "port already linked".to_string()));
            }
            let l = sim.connect(pa, pb);
            plugged.insert(pa, l);
            plugged.insert(pb, l);
        }
        let mut captures = Vec::new();
        for (port, line) in &self.captures {
            let p = resolve(&sim, port, *line)?;
            let l =
                *plugged.get(&p).ok_or_else(|| at_line(*line, "port not linked".to_string()))?;
            sim.start_capture(l);
            captures.push((format!("{}:{}", port.0, port.1), l));
        }
        let host_of = |name: &str, line: usize| -> Result<NodeId, ScriptError> {
            let id =
                *nodes.get(name).ok_or_else(|| at_line(line, format!("no node named `{name}`")))?;
            Ok(id)
        };
        for (t, line, action) in &self.actions {
            sim.run_until(Instant::ZERO + *t);
            let now = sim.now();
            let line = *line;
            match action {
                Action::Ping { from, to, count } => {
                    let a = host_of(from, line)?;
                    let b = host_of(to, line)?;
                    let (Node::Host(_), Node::Host(hb)) = (sim.node(a), sim.node(b)) else {
                        return Err(at_line(line, "ping is between two hosts".to_string()));
                    };
                    let ip = hb.ip();
                    sim.host_mut(a).start_ping(now, ip, Duration::from_secs(1), *count);
                    sim.poke(a);
                }
                Action::Carrier { port, up } => {
                    let p = resolve(&sim, port, line)?;
                    let l = *plugged
                        .get(&p)
                        .ok_or_else(|| at_line(line, "port not linked".to_string()))?;
                    sim.set_carrier(l, *up);
                }
                Action::Loss { port, loss } => {
                    let p = resolve(&sim, port, line)?;
                    let l = *plugged
                        .get(&p)
                        .ok_or_else(|| at_line(line, "port not linked".to_string()))?;
                    sim.set_loss(l, *loss);
                }
                Action::OneWay { port, dead } => {
                    let p = resolve(&sim, port, line)?;
                    let l = *plugged
                        .get(&p)
                        .ok_or_else(|| at_line(line, "port not linked".to_string()))?;
                    let from_a = sim.link(l).a == p;
                    sim.set_one_way_failure(l, from_a, *dead);
                }
                Action::Bridge { name, up } => {
                    let id = host_of(name, line)?;
                    let Node::Bridge(_) = sim.node(id) else {
                        return Err(at_line(line, format!("`{name}` is not a bridge")));
                    };
                    sim.bridge_mut(id).set_up(*up);
                }
                Action::Expect { node, what, text, cmp, n, line } => {
                    let id = host_of(node, *line)?;
                    let got = match what {
                        Source::Report => match sim.node(id) {
                            Node::Host(h) => h.proc_report().matches(text.as_str()).count(),
                            Node::Switch(s) => (0..s.bonds().count())
                                .filter_map(|c| s.proc_report(c))
                                .map(|r| r.matches(text.as_str()).count())
                                .sum(),
                            Node::Bridge(_) => 0,
                        },
                        Source::Timeline => sim
                            .timeline()
                            .iter()
                            .filter(|e| &e.node == node && e.what.contains(text.as_str()))
                            .count(),
                    };
                    let src = if *what == Source::Report { "report" } else { "timeline" };
                    checks.push(GoalCheck {
                        goal: format!(
                            "line {line}: at {now} {node} {src} \"{text}\" {} {n}",
                            cmp.word()
                        ),
                        ok: cmp.holds(got, *n),
                        detail: format!("{got} found"),
                    });
                }
            }
        }
        sim.run_until(Instant::ZERO + self.run);
        for p in &self.pings {
            let id = host_of(&p.host, p.line)?;
            let Node::Host(h) = sim.node(id) else {
                return Err(at_line(p.line, format!("`{}` is not a host", p.host)));
            };
            let (sent, answered) = h.ping_window(Instant::ZERO + p.from, Instant::ZERO + p.to);
            checks.push(GoalCheck {
                goal: format!(
                    "line {}: {} pings answered in {:?}..{:?} {} {}",
                    p.line,
                    p.host,
                    p.from,
                    p.to,
                    p.cmp.word(),
                    p.n
                ),
                ok: p.cmp.holds(answered, p.n),
                detail: format!("{answered}/{sent}"),
            });
        }
        let reports = nodes
            .iter()
            .filter_map(|(name, id)| match sim.node(*id) {
                Node::Host(h) => Some((name.clone(), h.proc_report())),
                _ => None,
            })
            .collect();
        Ok(ScenarioResult {
            scenario: 0,
            title: self.title.clone(),
            seed,
            timeline: sim.timeline().to_vec(),
            reports,
            checks,
            digest: sim.digest(),
            stats: sim.stats(),
            elapsed: sim.now().saturating_duration_since(Instant::ZERO),
            captures: captures.into_iter().map(|(name, l)| (name, sim.pcap(l))).collect(),
        })
    }
}

fn parse_u16(w: &str) -> Option<u16> {
    match w.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16).ok(),
        None => w.parse().ok(),
    }
}

fn parse_action(w: &mut Words<'_>, line: usize) -> Result<Action, ScriptError> {
    let col = w.col();
    let verb = w.word("an action (ping, down, up, loss, oneway, twoway, bridge, expect)")?;
    Ok(match verb {
        "ping" => {
            let from = w.word("a host")?.to_string();
            let to = w.word("a host")?.to_string();
            let count = w.num("a count")?;
            Action::Ping { from, to, count }
        }
        "down" | "up" => Action::Carrier { port: w.port()?, up: verb == "up" },
        "loss" => {
            let port = w.port()?;
            let c = w.col();
            let loss: f64 = w.num("a probability")?;
            if !(0.0..=1.0).contains(&loss) {
                return Err(w.err(c, "loss is a probability in 0..=1"));
            }
            Action::Loss { port, loss }
        }
        "oneway" | "twoway" => Action::OneWay { port: w.port()?, dead: verb == "oneway" },
        "bridge" => {
            let name = w.word("a bridge")?.to_string();
            let c = w.col();
            let up = match w.word("up or down")? {
                "up" => true,
                "down" => false,
                x => return Err(w.err(c, format!("expected up or down, found `{x}`"))),
            };
            Action::Bridge { name, up }
        }
        "expect" => {
            let node = w.word("a node")?.to_string();
            let c = w.col();
            let what = match w.word("report or timeline")? {
                "report" => Source::Report,
                "timeline" => Source::Timeline,
                x => return Err(w.err(c, format!("expected report or timeline, found `{x}`"))),
            };
            let text = w.word("a quoted text")?.to_string();
            let cmp = w.cmp()?;
            let n = w.num("a count")?;
            Action::Expect { node, what, text, cmp, n, line }
        }
        other => return Err(w.err(col, format!("unknown action `{other}`"))),
    })
}
