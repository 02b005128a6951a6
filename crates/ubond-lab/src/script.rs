//! Scenario files in TOML: a topology, a timeline of faults and actions, traffic flows and
//! goals, run on the simulator. [`Script::parse`] reads one (errors name line and column and
//! say what to write instead); [`Script::run`] builds the topology and plays it with a seed;
//! [`Script::to_toml`] writes one back (the swarm writes its failing seeds this way).
//!
//! ```toml
//! title = "two hosts over a switch with LACP bonds"
//! seed = 4                       # the PRNG seed (`ubond lab run --seed N` overrides it)
//! run = "45s"                    # optional: the run lasts at least this long
//!
//! [[host]]
//! name = "hostA"
//! ip = "10.0.0.1"
//! nics = ["eth0", "eth1"]        # default: eth0 and eth1
//! model = "e1000"                # e1000 | virtio | virtio@SPEED (Mbit/s); default e1000
//! bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100 }   # sysfs names and values;
//!                                # mode, miimon, arp_interval and the targets are set first
//! # clock_ppm = 50               # this host's clock runs 50 ppm fast (default 0)
//!
//! [[host]]
//! name = "hostB"
//! ip = "10.0.0.2"
//! bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100 }
//!
//! [[switch]]                     # its port-channels are 802.3ad bonds (lacp_rate fast)
//! name = "sw1"
//! ports = 4
//! channels = [[1, 2], [3, 4]]    # 1-based port numbers, one list per port-channel
//! # bond = { lacp_rate = "slow" }  # options of the port-channels' bonds
//!
//! # [[bridge]]: name, ports (2), patched (false: the stock kernel), group_fwd_mask,
//! #             ageing ("300s")
//!
//! [[link]]
//! a = "hostA:eth0"               # NODE:NIC for hosts, NODE:pN for bridges and switches
//! b = "sw1:p1"
//! capture = true                 # a pcap of this link (`--pcap DIR`)
//! rate = "100Mbit"               # optional line rate (bit, kbit, Mbit, Gbit), both ways
//! queue = 100                    # frames waiting for the line, per direction (tail drop)
//! # latency = "1us", jitter = "1us", loss = 0.0
//!
//! [[link]]
//! a = "hostA:eth1"
//! b = "sw1:p2"
//!
//! [[link]]
//! a = "hostB:eth0"
//! b = "sw1:p3"
//!
//! [[link]]
//! a = "hostB:eth1"
//! b = "sw1:p4"
//!
//! [[flow]]                       # UDP frames at a fixed rate, counted by the receiver
//! name = "video"
//! from = "hostA"
//! to = "hostB"
//! start = "10s"
//! rate = 500                     # frames per second
//! duration = "20s"               # or count = 10000
//! size = 1000                    # payload octets (16 to 1472; default 100)
//!
//! [[event]]                      # one action per event
//! at = "10s"
//! ping = { from = "hostA", to = "hostB", count = 20 }   # interval = "1s" by default
//!
//! [[event]]
//! at = "21s"
//! down = "hostA:eth0"            # also: up, oneway (frames sent from that port lost),
//!                                # repair (undo oneway), loss = { port = "...", p = 0.2 },
//!                                # bridge_down = "br0", bridge_up = "br0",
//!                                # flap = { port = "...", count = 5, period = "400ms" }
//!
//! [[goal]]                       # checked at `at` (before that instant's events)
//! at = "10s"
//! report = { node = "hostA", text = "port state: 63", count = 4 }
//!                                # occurrences of `text` in /proc/net/bonding/bond0;
//!                                # count = N, at_least = N or at_most = N
//!
//! [[goal]]
//! at = "10s"
//! negotiated = "hostB"           # every port with carrier collecting and distributing
//!
//! [[goal]]                       # answered echo requests sent in [from, to)
//! ping = { host = "hostA", from = "10s", to = "20s", at_least = 10 }
//!
//! [[goal]]
//! flow = { name = "video", after = "25s", delivered = 100.0 }
//!                                # frames sent from `after` on arrived, in percent
//!                                # (default 100: no loss after `after`; 0 when a count,
//!                                # at_least or at_most on the frames delivered is given)
//! ```
//!
//! An event is a table with `at` and one action, a goal a table with (optionally) `at` and
//! one check: the key names it, the value holds its parameters. Other checks:
//! `timeline = { node = NODE, text = "...", count = N }` (lines of that node's timeline so
//! far; node `link` for the cables' lines), `aggregators_differ = HOST` (its ports sit in
//! more than one aggregator, as over stock bridges),
//! `active_aggregator = { host = HOST, ports = ["eth1"] }` (the NICs of its active
//! aggregator), `converged = true` (every pair of LACP ports that see each other agree on
//! each other's identity and state, and a port with carrier whose partner answered is
//! distributing exactly when its partner is). Ping and flow goals are checked at the end of
//! the run. Every run also checks the engine's invariants after every step (at most one
//! active aggregator per bond, distributing ⇒ collecting ⇒ selected, no frame delivered
//! twice): a violation is a failed goal and stops the run.
//!
//! A malformed file is refused with the line and column of the mistake and what was
//! expected there: an unknown key or a value of the wrong type where it is written, a
//! missing field or a second action in one event at its table.
//!
//! Hosts without `bond` get the kernel's defaults (balance-rr, miimon 0). Times are written
//! `10s`, `1.5s`, `250ms`, `100us`, `10ns`.
//!
//! The module's parts: [`values`] (times, rates, ports), [`spec`] (the tables), `tagged` (a
//! table with one tagged entry), `build` (the topology, with names and options checked),
//! `run` (the timeline played on the simulator) and `goals` (the checks).

mod build;
mod goals;
mod run;
pub mod spec;
mod tagged;
pub mod values;

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use build::Lab;
pub use goals::{converged, negotiated};
pub use spec::{
    Action, ActiveAggregator, BridgeSpec, Cmp, EventSpec, FlapSpec, FlowGoal, FlowSpec, Goal,
    GoalSpec, HostSpec, LinkSpec, LossSpec, PingGoal, PingSpec, SwitchSpec, TextCount, MAX_FLAPS,
};
pub use values::{OptValue, PortName, Rate, Time};

/// Largest scenario file accepted.
pub const MAX_FILE_LEN: usize = 1 << 20;
/// Longest virtual time a file may ask for.
pub const MAX_RUN: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most nodes, links, flows, events or goals in one file.
pub const MAX_ITEMS: usize = 4096;
/// Most NICs per host and ports per bridge or switch.
pub const MAX_PORTS: usize = 64;
/// Bond options applied first, in this order; the others follow in name order.
pub const FIRST_OPTIONS: [&str; 5] =
    ["mode", "miimon", "arp_interval", "arp_ip_target", "ns_ip6_target"];
/// Most frames one flow may send.
pub const MAX_FLOW_COUNT: u64 = 1 << 24;

/// A scenario file's mistake, with where it is (line 0: a generated scenario, no file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, and what to write instead when there is an obvious fix.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ScriptError {}

fn one() -> u64 {
    1
}

/// A scenario file. See the [module docs](self).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// What it shows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// The PRNG seed.
    #[serde(default = "one")]
    pub seed: u64,
    /// The least virtual time the run lasts (it also lasts past every event and goal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Time>,
    /// Hosts.
    #[serde(default, rename = "host", skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Spanned<HostSpec>>,
    /// Linux bridges.
    #[serde(default, rename = "bridge", skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<Spanned<BridgeSpec>>,
    /// Switches with LACP port-channels.
    #[serde(default, rename = "switch", skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<Spanned<SwitchSpec>>,
    /// Cables.
    #[serde(default, rename = "link", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Spanned<LinkSpec>>,
    /// Traffic flows.
    #[serde(default, rename = "flow", skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Spanned<FlowSpec>>,
    /// The timeline of faults and actions.
    #[serde(default, rename = "event", skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Spanned<EventSpec>>,
    /// Goals.
    #[serde(default, rename = "goal", skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<Spanned<GoalSpec>>,
    /// Byte offsets of the source's line starts (empty for a generated scenario).
    #[serde(skip)]
    line_starts: Vec<usize>,
}

/// Wraps a value built in code (no source position) for a [`Script`].
pub fn unspanned<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

impl Script {
    /// An empty scenario (for building one in code).
    pub fn new(title: &str, seed: u64) -> Script {
        Script {
            title: title.to_string(),
            seed,
            run: None,
            hosts: Vec::new(),
            bridges: Vec::new(),
            switches: Vec::new(),
            links: Vec::new(),
            flows: Vec::new(),
            events: Vec::new(),
            goals: Vec::new(),
            line_starts: Vec::new(),
        }
    }

    /// Parses a scenario file and checks that its names, options and goals make sense.
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        if text.len() > MAX_FILE_LEN {
            return Err(ScriptError {
                line: 1,
                column: 1,
                message: format!("file too large (more than {MAX_FILE_LEN} octets)"),
            });
        }
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut s: Script = toml::from_str(text).map_err(|e| {
            let (line, column) = position(&starts, e.span().map_or(0, |r| r.start));
            ScriptError { line, column, message: e.message().trim_end().to_string() }
        })?;
        s.line_starts = starts;
        s.validate()?;
        Ok(s)
    }

    /// The scenario as a TOML file that [`Script::parse`] reads back to the same run.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot write the scenario: {e}\n"))
    }

    /// The file's `seed`.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The error `message` at the start of `span` in the source.
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScriptError {
        let (line, column) = if self.line_starts.is_empty() {
            (0, 0)
        } else {
            position(&self.line_starts, span.start)
        };
        ScriptError { line, column, message: message.into() }
    }

    /// The run's length: at least `run`, and past every event, goal and flow.
    pub fn duration(&self) -> Duration {
        let mut d = self.run.map_or(Duration::ZERO, |t| t.0);
        for e in self.events.iter().map(Spanned::get_ref) {
            let end = match &e.action {
                Action::Ping(p) => p.interval.0.saturating_mul(p.count.saturating_add(1)),
                Action::Flap(f) => f.period.0.saturating_mul(f.count),
                _ => Duration::ZERO,
            };
            d = d.max(e.at.0 + end);
        }
        for g in self.goals.iter().map(Spanned::get_ref) {
            d = d.max(g.at.map_or(Duration::ZERO, |t| t.0));
            if let Goal::Ping(p) = &g.goal {
                d = d.max(p.to.0 + Duration::from_secs(1));
            }
        }
        for f in &self.flows {
            d = d.max(f.get_ref().end() + Duration::from_secs(1));
        }
        d.min(MAX_RUN)
    }
}

/// 1-based (line, column) of a byte offset.
fn position(starts: &[usize], offset: usize) -> (usize, usize) {
    let line = starts.partition_point(|&s| s <= offset).max(1);
    (line, offset - starts[line - 1] + 1)
}
