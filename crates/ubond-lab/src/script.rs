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
//! report = "hostA"               # occurrences of `text` in /proc/net/bonding/bond0
//! text = "port state: 63"
//! count = 4                      # or at_least = N, at_most = N
//!
//! [[goal]]
//! at = "10s"
//! negotiated = "hostB"           # every port with carrier collecting and distributing
//!
//! [[goal]]
//! ping = "hostA"                 # answered echo requests sent in [from, to)
//! from = "10s"
//! to = "20s"
//! at_least = 10
//!
//! [[goal]]
//! flow = "video"
//! after = "25s"                  # frames sent from then on...
//! delivered = 100.0              # ...arrived, in percent (default 100: no loss after t;
//!                                # 0 when a count, at_least or at_most on the frames
//!                                # delivered is given)
//! ```
//!
//! Other goals: `timeline = NODE` with `text` (lines of that node's timeline so far; `link`
//! for the cables' lines),
//! `aggregators_differ = HOST` (its ports sit in more than one aggregator, as over stock
//! bridges), `converged = true` (every pair of LACP ports that see each other agree on each
//! other's identity and state, and a port with carrier whose partner answered is
//! distributing exactly when its partner is). Every run also checks the engine's invariants
//! after every step (at most one active aggregator per bond, distributing ⇒ collecting ⇒
//! selected, no frame delivered twice): a violation is a failed goal and stops the run.
//!
//! Hosts without `bond` get the kernel's defaults (balance-rr, miimon 0). Times are written
//! `10s`, `1.5s`, `250ms`, `100us`, `10ns`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;
use ubond_core::bond::Bond;
use ubond_core::options::{BondOptions, SetContext};
use ubond_core::time::Instant;
use ubond_wire::slow::PortState;
use ubond_wire::MacAddr;

use crate::bridge::LinuxBridge;
use crate::host::{Host, NicModel, MAX_CLOCK_PPM};
use crate::scenario::{GoalCheck, ScenarioResult};
use crate::sim::{LinkId, Node, NodeId, PortRef, Sim, MAX_LINK_QUEUE};
use crate::switch::{switch_bond_options, LacpSwitch};

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

/// A span of virtual time, written `10s`, `1.5s`, `250ms`, `100us` or `10ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Time(pub Duration);

impl Time {
    /// `s` seconds.
    pub fn secs(s: u64) -> Time {
        Time(Duration::from_secs(s))
    }

    /// `ms` milliseconds.
    pub fn millis(ms: u64) -> Time {
        Time(Duration::from_millis(ms))
    }

    /// The instant this long after time zero.
    pub fn instant(self) -> Instant {
        Instant::ZERO + self.0
    }

    fn parse(w: &str) -> Option<Time> {
        let w = w.trim();
        let (num, scale) = if let Some(n) = w.strip_suffix("ns") {
            (n, 1e-9)
        } else if let Some(n) = w.strip_suffix("us") {
            (n, 1e-6)
        } else if let Some(n) = w.strip_suffix("ms") {
            (n, 1e-3)
        } else if let Some(n) = w.strip_suffix('s') {
            (n, 1.0)
        } else {
            return None;
        };
        let v: f64 = num.trim().parse().ok()?;
        let secs = v * scale;
        (secs.is_finite() && secs >= 0.0 && secs <= MAX_RUN.as_secs_f64())
            .then(|| Time(Duration::from_nanos((secs * 1e9).round() as u64)))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns % 1_000_000_000 == 0 {
            write!(f, "{}s", ns / 1_000_000_000)
        } else if ns % 1_000_000 == 0 {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns % 1000 == 0 {
            write!(f, "{}us", ns / 1000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = String::deserialize(d)?;
        Time::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "expected a time such as \"10s\", \"1.5s\" or \"250ms\" (at most a week), found \"{s}\""
            ))
        })
    }
}

/// A line rate in bits per second, written `"100Mbit"`, `"1Gbit"`, `"64kbit"` or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub u64);

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let text = if r % 1_000_000_000 == 0 {
            format!("{}Gbit", r / 1_000_000_000)
        } else if r % 1_000_000 == 0 {
            format!("{}Mbit", r / 1_000_000)
        } else if r % 1000 == 0 {
            format!("{}kbit", r / 1000)
        } else {
            format!("{r}bit")
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        let bad = |s: &str| {
            de::Error::custom(format!(
                "expected a rate such as \"100Mbit\", \"1Gbit\" or \"64kbit\", found \"{s}\""
            ))
        };
        match Raw::deserialize(d)? {
            Raw::N(0) => Err(bad("0")),
            Raw::N(n) => Ok(Rate(n)),
            Raw::S(s) => {
                let t = s.trim();
                let lower = t.to_ascii_lowercase();
                let (num, scale) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
                    .iter()
                    .find_map(|(suf, k)| lower.strip_suffix(suf).map(|n| (n.to_string(), *k)))
                    .ok_or_else(|| bad(&s))?;
                let v: f64 = num.trim().parse().map_err(|_| bad(&s))?;
                let r = v * scale;
                if !(1.0..=1e13).contains(&r) {
                    return Err(bad(&s));
                }
                Ok(Rate(r.round() as u64))
            }
        }
    }
}

/// `NODE:PORT`: a host's NIC (`hostA:eth0`) or a bridge or switch port (`sw1:p1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortName {
    /// The node.
    pub node: String,
    /// The NIC or port.
    pub port: String,
}

impl PortName {
    /// `node:port`.
    pub fn new(node: &str, port: &str) -> PortName {
        PortName { node: node.to_string(), port: port.to_string() }
    }
}

impl fmt::Display for PortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.port)
    }
}

impl Serialize for PortName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PortName, D::Error> {
        let s = String::deserialize(d)?;
        match s.split_once(':') {
            Some((n, p)) if !n.is_empty() && !p.is_empty() => Ok(PortName::new(n, p)),
            _ => Err(de::Error::custom(format!(
                "expected NODE:PORT such as \"hostA:eth0\" or \"sw1:p1\", found \"{s}\""
            ))),
        }
    }
}

/// A bond option's value as written (`"fast"`, `100`, `true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptValue {
    /// A number.
    Int(i64),
    /// A boolean (written as 1 or 0 to the option).
    Bool(bool),
    /// A word.
    Text(String),
}

impl fmt::Display for OptValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptValue::Int(n) => write!(f, "{n}"),
            OptValue::Bool(b) => write!(f, "{}", u8::from(*b)),
            OptValue::Text(s) => f.write_str(s),
        }
    }
}

fn default_nics() -> Vec<String> {
    vec!["eth0".to_string(), "eth1".to_string()]
}

fn is_default_nics(n: &[String]) -> bool {
    n == default_nics().as_slice()
}

fn e1000() -> String {
    "e1000".to_string()
}

fn is_e1000(s: &str) -> bool {
    s == "e1000"
}

fn two() -> usize {
    2
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn one() -> u64 {
    1
}

/// A host: a bond over its NICs and an IPv4 address on the bond.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Its name.
    pub name: String,
    /// The address on its bond.
    pub ip: Ipv4Addr,
    /// NIC names, in enslave order.
    #[serde(default = "default_nics", skip_serializing_if = "is_default_nics")]
    pub nics: Vec<String>,
    /// NIC model: `e1000`, `virtio` or `virtio@SPEED`.
    #[serde(default = "e1000", skip_serializing_if = "is_e1000")]
    pub model: String,
    /// Bond options with sysfs names and values ([`FIRST_OPTIONS`] are applied first).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bond: BTreeMap<String, Spanned<OptValue>>,
    /// How fast (positive) or slow the host's clock runs, in parts per million (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_ppm: Option<i32>,
}

/// A Linux bridge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeSpec {
    /// Its name.
    pub name: String,
    /// How many ports.
    #[serde(default = "two")]
    pub ports: usize,
    /// The patched kernel that lets `group_fwd_mask` forward LACPDUs (bit 2).
    #[serde(default, skip_serializing_if = "is_false")]
    pub patched: bool,
    /// `group_fwd_mask` to write (a refusal is a failed goal, as the kernel's EINVAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_fwd_mask: Option<u16>,
    /// `ageing_time` of learnt addresses (default 300 s, as the kernel's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ageing: Option<Time>,
}

/// A switch whose port-channels are LACP bonds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    /// Its name.
    pub name: String,
    /// How many ports.
    pub ports: usize,
    /// Port-channels: lists of 1-based port numbers.
    #[serde(default)]
    pub channels: Vec<Vec<usize>>,
    /// Options of every port-channel's bond, on top of 802.3ad, `lacp_rate fast` and
    /// `miimon 100` (for example `lacp_rate = "slow"`, `ad_select = "count"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bond: BTreeMap<String, Spanned<OptValue>>,
}

/// A cable between two ports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One end.
    pub a: PortName,
    /// The other end.
    pub b: PortName,
    /// One-way latency (default 1 µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Time>,
    /// Extra random latency, uniform in [0, jitter) (default 1 µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Time>,
    /// Line rate, each direction (default: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Frames waiting for the line per direction (default 1000; needs `rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<usize>,
    /// Loss probability from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Capture this link to a pcap file.
    #[serde(default, skip_serializing_if = "is_false")]
    pub capture: bool,
}

/// A UDP-like flow at a fixed frame rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Its name, for goals.
    pub name: String,
    /// The sending host.
    pub from: String,
    /// The receiving host.
    pub to: String,
    /// When the first frame leaves.
    pub start: Time,
    /// Frames per second.
    pub rate: u32,
    /// How many frames (or give `duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// For how long (or give `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Time>,
    /// UDP payload octets (16 to 1472, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
}

impl FlowSpec {
    fn frames(&self) -> u64 {
        match (self.count, self.duration) {
            (Some(n), _) => n,
            (None, Some(d)) => (d.0.as_nanos() * u128::from(self.rate) / 1_000_000_000)
                .min(u128::from(u64::MAX)) as u64,
            (None, None) => 0,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.rate.max(1)))
    }

    fn end(&self) -> Duration {
        self.start.0 + self.interval().saturating_mul(u32::try_from(self.frames()).unwrap_or(0))
    }
}

/// Echo requests from one host to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingSpec {
    /// The pinging host.
    pub from: String,
    /// The pinged host.
    pub to: String,
    /// How many (default 10).
    #[serde(default = "ten")]
    pub count: u32,
    /// How far apart (default 1 s).
    #[serde(default = "one_second")]
    pub interval: Time,
}

fn ten() -> u32 {
    10
}

fn one_second() -> Time {
    Time::secs(1)
}

/// Random loss on a link from now on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossSpec {
    /// A port at one end of the link.
    pub port: PortName,
    /// Loss probability in [0, 1].
    pub p: f64,
}

/// One timed action: exactly one of the optional fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When.
    pub at: Time,
    /// Start pinging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<PingSpec>,
    /// Pull the cable at this port (carrier lost at both ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<PortName>,
    /// Plug it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<PortName>,
    /// Frames sent from this port are lost; carrier stays (a one-way failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oneway: Option<PortName>,
    /// Undo `oneway` for this port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<PortName>,
    /// Random loss on a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSpec>,
    /// `ip link set BR down` (its ports' peers keep carrier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_down: Option<String>,
    /// `ip link set BR up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_up: Option<String>,
    /// A flapping cable: `count` times, carrier lost for half a `period`, then back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<FlapSpec>,
}

/// A flapping cable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlapSpec {
    /// A port at one end of the cable.
    pub port: PortName,
    /// How many flaps (1 to [`MAX_FLAPS`]).
    pub count: u32,
    /// One flap: down for the first half, up for the second.
    pub period: Time,
}

/// Most flaps in one `flap` event.
pub const MAX_FLAPS: u32 = 10_000;

/// One goal: exactly one subject field, and its parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalSpec {
    /// When timed goals are checked (default: the end of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// Count `text` in this node's `/proc/net/bonding` report(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// Count this node's timeline lines that contain `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
    /// Every port with carrier of this node's bond(s) is collecting and distributing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<String>,
    /// This host's ports are in more than one aggregator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregators_differ: Option<String>,
    /// Every pair of LACP ports that see each other agree (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    /// Count this host's answered echo requests sent in [`from`, `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<String>,
    /// The share of a flow's frames that arrived (`after`, `delivered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// The text counted by `report` and `timeline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The count must be exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The count must be at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u64>,
    /// The count must be at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u64>,
    /// Start of the ping window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Time>,
    /// End of the ping window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Time>,
    /// Flow frames sent from this time on are counted (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Time>,
    /// Least share of them that must arrive, in percent (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<f64>,
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

/// What a goal compares a count with.
#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq(u64),
    Ge(u64),
    Le(u64),
}

impl Cmp {
    fn holds(self, got: u64) -> bool {
        match self {
            Cmp::Eq(n) => got == n,
            Cmp::Ge(n) => got >= n,
            Cmp::Le(n) => got <= n,
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cmp::Eq(n) => write!(f, "== {n}"),
            Cmp::Ge(n) => write!(f, ">= {n}"),
            Cmp::Le(n) => write!(f, "<= {n}"),
        }
    }
}

/// The built topology: names to nodes, ports to links.
struct Built {
    sim: Sim,
    nodes: BTreeMap<String, NodeId>,
    checks: Vec<GoalCheck>,
    captures: Vec<(String, LinkId)>,
    flows: Vec<(FlowSpec, NodeId, NodeId)>,
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
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let pos = |offset: usize| position(&starts, offset);
        if text.len() > MAX_FILE_LEN {
            return Err(ScriptError {
                line: 1,
                column: 1,
                message: format!("file too large (more than {MAX_FILE_LEN} octets)"),
            });
        }
        let mut s: Script = toml::from_str(text).map_err(|e| {
            let (line, column) = pos(e.span().map_or(0, |r| r.start));
            let mut message = e.message().trim_end().to_string();
            if message.starts_with("unknown field") && message.contains("`at`") {
                message.push_str(" (an event has `at` and one action)");
            }
            ScriptError { line, column, message }
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

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScriptError {
        let (line, column) = if self.line_starts.is_empty() {
            (0, 0)
        } else {
            position(&self.line_starts, span.start)
        };
        ScriptError { line, column, message: message.into() }
    }

    fn validate(&self) -> Result<(), ScriptError> {
        let counts = [
            self.hosts.len() + self.bridges.len() + self.switches.len(),
            self.links.len(),
            self.flows.len(),
            self.events.len(),
            self.goals.len(),
        ];
        if counts.iter().any(|&n| n > MAX_ITEMS) {
            return Err(self.err(0..0, format!("more than {MAX_ITEMS} items of one kind")));
        }
        for e in &self.events {
            let v = e.get_ref();
            let n = [
                v.ping.is_some(),
                v.down.is_some(),
                v.up.is_some(),
                v.oneway.is_some(),
                v.repair.is_some(),
                v.loss.is_some(),
                v.bridge_down.is_some(),
                v.bridge_up.is_some(),
                v.flap.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if n != 1 {
                return Err(self.err(
                    e.span(),
                    format!(
                        "an event needs exactly one action (ping, down, up, oneway, repair, loss, bridge_down, bridge_up, flap); this one has {n}: split it into several [[event]] tables"
                    ),
                ));
            }
            if let Some(l) = &v.loss {
                if !(0.0..=1.0).contains(&l.p) {
                    return Err(self.err(e.span(), "loss: p is a probability in 0..=1"));
                }
            }
            if let Some(f) = &v.flap {
                if f.count == 0 || f.count > MAX_FLAPS || f.period.0 < Duration::from_micros(2) {
                    return Err(self.err(
                        e.span(),
                        format!("flap: count 1 to {MAX_FLAPS}, period at least 2us"),
                    ));
                }
            }
        }
        for g in &self.goals {
            self.goal_kind(g)?;
        }
        for f in &self.flows {
            let v = f.get_ref();
            if v.rate == 0 || (v.count.is_some() == v.duration.is_some()) {
                return Err(self.err(
                    f.span(),
                    format!(
                        "flow `{}`: give a rate above 0 and exactly one of count or duration",
                        v.name
                    ),
                ));
            }
            if v.frames() > MAX_FLOW_COUNT {
                return Err(self.err(
                    f.span(),
                    format!("flow `{}`: more than {MAX_FLOW_COUNT} frames", v.name),
                ));
            }
        }
        for l in &self.links {
            if let Some(p) = l.get_ref().loss {
                if !(0.0..=1.0).contains(&p) {
                    return Err(self.err(l.span(), "loss is a probability in 0..=1"));
                }
            }
        }
        // Build the topology once: names, ports and bond options are checked here.
        self.build(self.seed, false).map(|_| ())
    }

    /// The run's length: at least `run`, and past every event, goal and flow.
    pub fn duration(&self) -> Duration {
        let mut d = self.run.map_or(Duration::ZERO, |t| t.0);
        for e in &self.events {
            d = d.max(e.get_ref().at.0);
            if let Some(p) = &e.get_ref().ping {
                let n = p.count.saturating_add(1);
                d = d.max(e.get_ref().at.0 + p.interval.0.saturating_mul(n));
            }
            if let Some(f) = &e.get_ref().flap {
                d = d.max(e.get_ref().at.0 + f.period.0.saturating_mul(f.count));
            }
        }
        for g in &self.goals {
            let g = g.get_ref();
            for t in [g.at, g.to.map(|t| Time(t.0 + Duration::from_secs(1)))].into_iter().flatten()
            {
                d = d.max(t.0);
            }
        }
        for f in &self.flows {
            d = d.max(f.get_ref().end() + Duration::from_secs(1));
        }
        d.min(MAX_RUN)
    }

    fn goal_kind(&self, g: &Spanned<GoalSpec>) -> Result<(), ScriptError> {
        let v = g.get_ref();
        let subjects = [
            v.report.is_some(),
            v.timeline.is_some(),
            v.negotiated.is_some(),
            v.aggregators_differ.is_some(),
            v.converged.is_some(),
            v.ping.is_some(),
            v.flow.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if subjects != 1 {
            return Err(self.err(
                g.span(),
                format!(
                    "a goal needs exactly one of report, timeline, negotiated, aggregators_differ, converged, ping, flow; this one has {subjects}"
                ),
            ));
        }
        let cmps = [v.count, v.at_least, v.at_most].iter().filter(|x| x.is_some()).count();
        let counted = v.report.is_some() || v.timeline.is_some() || v.ping.is_some();
        if counted && cmps != 1 {
            return Err(self.err(g.span(), "this goal needs one of count, at_least or at_most"));
        }
        if v.flow.is_some() && cmps > 1 {
            return Err(self.err(g.span(), "give at most one of count, at_least or at_most"));
        }
        if !counted && v.flow.is_none() && cmps != 0 {
            return Err(self.err(
                g.span(),
                "count, at_least and at_most go with report, timeline, ping and flow goals",
            ));
        }
        if (v.report.is_some() || v.timeline.is_some()) != v.text.is_some() {
            return Err(self.err(g.span(), "report and timeline goals need `text` (and only they)"));
        }
        if v.ping.is_some() != (v.from.is_some() && v.to.is_some()) {
            return Err(self.err(
                g.span(),
                "a ping goal needs a window: from = \"10s\", to = \"20s\" (and only it has one)",
            ));
        }
        if v.flow.is_none() && (v.after.is_some() || v.delivered.is_some()) {
            return Err(self.err(g.span(), "after and delivered go with flow goals"));
        }
        if let Some(p) = v.delivered {
            if !(0.0..=100.0).contains(&p) {
                return Err(self.err(g.span(), "delivered is a percentage in 0..=100"));
            }
        }
        if (v.ping.is_some() || v.flow.is_some()) && v.at.is_some() {
            return Err(self.err(
                g.span(),
                "ping and flow goals are checked at the end of the run: remove `at`",
            ));
        }
        Ok(())
    }

    fn cmp(g: &GoalSpec) -> Cmp {
        match (g.count, g.at_least, g.at_most) {
            (Some(n), _, _) => Cmp::Eq(n),
            (_, Some(n), _) => Cmp::Ge(n),
            (_, _, Some(n)) => Cmp::Le(n),
            _ => Cmp::Ge(0),
        }
    }

    fn build(&self, seed: u64, capture_all: bool) -> Result<Built, ScriptError> {
        let mut sim = Sim::new(seed);
        let mut nodes: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut checks = Vec::new();
        let mut k = 0usize;
        let mut declare = |name: &str, span: Range<usize>, nodes: &BTreeMap<String, NodeId>| {
            k += 1;
            if name.is_empty() || name.contains(':') {
                return Err(
                    self.err(span, format!("`{name}`: a node name is non-empty, without `:`"))
                );
            }
            if nodes.contains_key(name) {
                return Err(
                    self.err(span, format!("`{name}` is already declared: names are unique"))
                );
            }
            Ok(u8::try_from(k).unwrap_or(u8::MAX))
        };
        for h in &self.hosts {
            let spec = h.get_ref();
            let n = declare(&spec.name, h.span(), &nodes)?;
            let model = nic_model(&spec.model).ok_or_else(|| {
                self.err(
                    h.span(),
                    format!(
                        "{}: unknown NIC model `{}` (e1000, virtio, virtio@SPEED)",
                        spec.name, spec.model
                    ),
                )
            })?;
            if spec.nics.is_empty() || spec.nics.len() > MAX_PORTS {
                return Err(
                    self.err(h.span(), format!("{}: give 1 to {MAX_PORTS} NICs", spec.name))
                );
            }
            let mut o = BondOptions::new();
            // The mode and the monitors first (other options depend on them, as with sysfs
            // writes), then the rest in name order.
            let mut opts: Vec<_> = spec.bond.iter().collect();
            opts.sort_by_key(|(name, _)| {
                FIRST_OPTIONS.iter().position(|f| f == name).unwrap_or(FIRST_OPTIONS.len())
            });
            for (name, value) in opts {
                o.set(name, &value.get_ref().to_string(), &SetContext::new()).map_err(|e| {
                    self.err(value.span(), format!("{}: bond option {name}: {e}", spec.name))
                })?;
            }
            let list: Vec<(&str, NicModel, MacAddr)> = spec
                .nics
                .iter()
                .enumerate()
                .map(|(i, nic)| {
                    let mac =
                        MacAddr([0x52, 0x54, 0, 0, n, u8::try_from(i + 1).unwrap_or(u8::MAX)]);
                    (nic.as_str(), model, mac)
                })
                .collect();
            let mut host = Host::new(&spec.name, "bond0", o, &list, spec.ip)
                .map_err(|e| self.err(h.span(), format!("{}: {e}", spec.name)))?;
            if let Some(ppm) = spec.clock_ppm {
                if ppm.abs() > MAX_CLOCK_PPM {
                    return Err(self.err(
                        h.span(),
                        format!("{}: clock_ppm is at most {MAX_CLOCK_PPM} either way", spec.name),
                    ));
                }
                host.set_clock_ppm(ppm);
            }
            let id = sim.add_node(Node::Host(Box::new(host)));
            nodes.insert(spec.name.clone(), id);
        }
        for b in &self.bridges {
            let spec = b.get_ref();
            declare(&spec.name, b.span(), &nodes)?;
            if spec.ports == 0 || spec.ports > MAX_PORTS {
                return Err(
                    self.err(b.span(), format!("{}: give 1 to {MAX_PORTS} ports", spec.name))
                );
            }
            let mut br = if spec.patched {
                LinuxBridge::patched(&spec.name, spec.ports)
            } else {
                LinuxBridge::new(&spec.name, spec.ports)
            };
            if let Some(t) = spec.ageing {
                br.set_ageing(t.0);
            }
            if let Some(mask) = spec.group_fwd_mask {
                let res = br.set_group_fwd_mask(mask);
                checks.push(GoalCheck {
                    goal: format!("{}: group_fwd_mask={mask:#x}", spec.name),
                    ok: res.is_ok(),
                    detail: res.map_or_else(|e| e.to_string(), |()| "accepted".to_string()),
                });
            }
            let id = sim.add_node(Node::Bridge(br));
            nodes.insert(spec.name.clone(), id);
        }
        for s in &self.switches {
            let spec = s.get_ref();
            let n = declare(&spec.name, s.span(), &nodes)?;
            if spec.ports == 0 || spec.ports > MAX_PORTS {
                return Err(
                    self.err(s.span(), format!("{}: give 1 to {MAX_PORTS} ports", spec.name))
                );
            }
            let mut groups = Vec::new();
            for g in &spec.channels {
                let mut group = Vec::new();
                for &p in g {
                    if p == 0 || p > spec.ports {
                        return Err(self.err(
                            s.span(),
                            format!("{}: channel port {p} outside 1..={}", spec.name, spec.ports),
                        ));
                    }
                    group.push(p - 1);
                }
                groups.push(group);
            }
            let groups: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
            let mut o = switch_bond_options();
            let mut opts: Vec<_> = spec.bond.iter().collect();
            opts.sort_by_key(|(name, _)| {
                FIRST_OPTIONS.iter().position(|f| f == name).unwrap_or(FIRST_OPTIONS.len())
            });
            for (name, value) in opts {
                o.set(name, &value.get_ref().to_string(), &SetContext::new()).map_err(|e| {
                    self.err(value.span(), format!("{}: bond option {name}: {e}", spec.name))
                })?;
            }
            let sw = LacpSwitch::new(
                &spec.name,
                MacAddr([0x02, 0x5a, 0, 0, n, 0]),
                spec.ports,
                &groups,
                &o,
            )
            .map_err(|e| {
                self.err(s.span(), format!("{}: {e} (a port in two channels?)", spec.name))
            })?;
            let id = sim.add_node(Node::Switch(Box::new(sw)));
            nodes.insert(spec.name.clone(), id);
        }
        let mut captures = Vec::new();
        for l in &self.links {
            let spec = l.get_ref();
            let pa = resolve(&sim, &nodes, &spec.a).map_err(|m| self.err(l.span(), m))?;
            let pb = resolve(&sim, &nodes, &spec.b).map_err(|m| self.err(l.span(), m))?;
            if pa == pb || sim.link_of(pa).is_some() || sim.link_of(pb).is_some() {
                return Err(self.err(
                    l.span(),
                    format!("{} or {} is already linked: one cable per port", spec.a, spec.b),
                ));
            }
            let id = sim.connect(pa, pb);
            let dflt = Duration::from_micros(1);
            sim.set_latency(
                id,
                spec.latency.map_or(dflt, |t| t.0),
                spec.jitter.map_or(dflt, |t| t.0),
            );
            if let Some(r) = spec.rate {
                let q = spec.queue.unwrap_or(crate::sim::DEFAULT_LINK_QUEUE);
                if q == 0 || q > MAX_LINK_QUEUE {
                    return Err(self.err(l.span(), format!("queue: 1 to {MAX_LINK_QUEUE} frames")));
                }
                sim.set_rate(id, r.0, q);
            } else if spec.queue.is_some() {
                return Err(self.err(l.span(), "queue needs a rate (rate = \"100Mbit\")"));
            }
            if let Some(p) = spec.loss {
                sim.set_loss(id, p);
            }
            if capture_all {
                sim.start_capture(id);
                captures.push((format!("{}_{}", spec.a, spec.b), id));
            } else if spec.capture {
                sim.start_capture(id);
                captures.push((spec.a.to_string(), id));
            }
        }
        let host_named = |name: &str, span: Range<usize>| -> Result<NodeId, ScriptError> {
            match nodes.get(name) {
                Some(&id) if matches!(sim.node(id), Node::Host(_)) => Ok(id),
                Some(_) => Err(self.err(span, format!("`{name}` is not a host"))),
                None => {
                    Err(self
                        .err(span, format!("no host named `{name}`{}", did_you_mean(name, &nodes))))
                }
            }
        };
        let mut flows = Vec::new();
        let mut flow_names = BTreeMap::new();
        for f in &self.flows {
            let spec = f.get_ref();
            let a = host_named(&spec.from, f.span())?;
            let b = host_named(&spec.to, f.span())?;
            if flow_names.insert(spec.name.clone(), ()).is_some() {
                return Err(self.err(f.span(), format!("flow `{}` is already declared", spec.name)));
            }
            flows.push((spec.clone(), a, b));
        }
        for e in &self.events {
            let v = e.get_ref();
            let span = e.span();
            if let Some(p) = &v.ping {
                host_named(&p.from, span.clone())?;
                host_named(&p.to, span.clone())?;
            }
            let flap = v.flap.as_ref().map(|f| &f.port);
            for port in [v.down.as_ref(), v.up.as_ref(), v.oneway.as_ref(), v.repair.as_ref(), flap]
                .into_iter()
                .flatten()
            {
                let p = resolve(&sim, &nodes, port).map_err(|m| self.err(span.clone(), m))?;
                if sim.link_of(p).is_none() {
                    return Err(self.err(span.clone(), format!("{port} is not linked")));
                }
            }
            if let Some(l) = &v.loss {
                let p = resolve(&sim, &nodes, &l.port).map_err(|m| self.err(span.clone(), m))?;
                if sim.link_of(p).is_none() {
                    return Err(self.err(span.clone(), format!("{} is not linked", l.port)));
                }
            }
            for br in [&v.bridge_down, &v.bridge_up].into_iter().flatten() {
                match nodes.get(br.as_str()).map(|id| sim.node(*id)) {
                    Some(Node::Bridge(_)) => {}
                    _ => return Err(self.err(span.clone(), format!("no bridge named `{br}`"))),
                }
            }
        }
        for g in &self.goals {
            let v = g.get_ref();
            // `link` names the cables' own timeline lines (carrier, one-way failures).
            let timeline = v.timeline.as_ref().filter(|n| n.as_str() != "link");
            for name in [v.report.as_ref(), timeline, v.negotiated.as_ref()].into_iter().flatten() {
                if !nodes.contains_key(name.as_str()) {
                    return Err(self.err(
                        g.span(),
                        format!("no node named `{name}`{}", did_you_mean(name, &nodes)),
                    ));
                }
            }
            for name in [&v.aggregators_differ, &v.ping].into_iter().flatten() {
                host_named(name, g.span())?;
            }
            if let Some(f) = &v.flow {
                if !flow_names.contains_key(f) {
                    return Err(self.err(g.span(), format!("no flow named `{f}`")));
                }
            }
        }
        Ok(Built { sim, nodes, checks, captures, flows })
    }

    /// Builds the topology and plays the scenario with PRNG seed `seed`.
    pub fn run(&self, seed: u64) -> Result<ScenarioResult, ScriptError> {
        self.run_capturing(seed, false)
    }

    /// [`Script::run`], capturing every link if `all_links` (the captures are named
    /// `A_B` after the link's ends), else the links marked `capture` (named after end `a`).
    /// Captures do not change the run.
    pub fn run_capturing(&self, seed: u64, all_links: bool) -> Result<ScenarioResult, ScriptError> {
        let Built { mut sim, nodes, mut checks, captures, flows } = self.build(seed, all_links)?;
        // The agenda: (time, kind, index). At one instant goals come first (they see the state
        // just before that instant's actions), then flow starts, then events in file order.
        let mut agenda: Vec<(Duration, u8, usize)> = Vec::new();
        for (i, g) in self.goals.iter().enumerate() {
            if let Some(t) = g.get_ref().at {
                agenda.push((t.0, 0, i));
            }
        }
        for (i, (f, _, _)) in flows.iter().enumerate() {
            agenda.push((f.start.0, 1, i));
        }
        for (i, e) in self.events.iter().enumerate() {
            let e = e.get_ref();
            agenda.push((e.at.0, 2, i));
            // A flap: down at the start of each period (kind 3), up at its middle (kind 4).
            if let Some(f) = &e.flap {
                for k in 0..f.count {
                    let t = e.at.0 + f.period.0 * k;
                    agenda.push((t, 3, i));
                    agenda.push((t + f.period.0 / 2, 4, i));
                }
            }
        }
        agenda.sort();
        let port = |sim: &Sim, p: &PortName| resolve(sim, &nodes, p).ok();
        for (t, kind, i) in agenda {
            sim.run_until(Instant::ZERO + t);
            if sim.violation().is_some() {
                break;
            }
            let now = sim.now();
            match kind {
                0 => {
                    let g = self.goals[i].get_ref();
                    checks.push(self.check(&sim, &nodes, &flows, g, i));
                }
                1 => {
                    let (f, a, b) = &flows[i];
                    let ip = sim.host(*b).ip();
                    let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    let size = f.size.unwrap_or(100);
                    sim.host_mut(*a).start_flow(now, id, ip, f.rate, f.frames(), size);
                    sim.poke(*a);
                }
                3 | 4 => {
                    let f = self.events[i].get_ref().flap.as_ref();
                    if let Some(l) =
                        f.and_then(|f| port(&sim, &f.port)).and_then(|p| sim.link_of(p))
                    {
                        sim.set_carrier(l, kind == 4);
                    }
                }
                _ => {
                    let e = self.events[i].get_ref();
                    if let Some(p) = &e.ping {
                        let (a, b) = (nodes[&p.from], nodes[&p.to]);
                        let ip = sim.host(b).ip();
                        sim.host_mut(a).start_ping(now, ip, p.interval.0, p.count);
                        sim.poke(a);
                    }
                    for (pn, up) in [(&e.down, false), (&e.up, true)] {
                        if let Some(l) =
                            pn.as_ref().and_then(|p| port(&sim, p)).and_then(|p| sim.link_of(p))
                        {
                            sim.set_carrier(l, up);
                        }
                    }
                    for (pn, dead) in [(&e.oneway, true), (&e.repair, false)] {
                        if let Some(p) = pn.as_ref().and_then(|p| port(&sim, p)) {
                            if let Some(l) = sim.link_of(p) {
                                let from_a = sim.link(l).a == p;
                                sim.set_one_way_failure(l, from_a, dead);
                            }
                        }
                    }
                    if let Some(ls) = &e.loss {
                        if let Some(l) = port(&sim, &ls.port).and_then(|p| sim.link_of(p)) {
                            sim.set_loss(l, ls.p);
                        }
                    }
                    for (br, up) in [(&e.bridge_down, false), (&e.bridge_up, true)] {
                        if let Some(id) = br.as_ref().and_then(|b| nodes.get(b.as_str())) {
                            sim.bridge_mut(*id).set_up(up);
                            sim.record_note(
                                br.as_deref().unwrap_or("?"),
                                if up { "up" } else { "down" },
                            );
                        }
                    }
                }
            }
        }
        if sim.violation().is_none() {
            sim.run_until(Instant::ZERO + self.duration());
        }
        for (i, g) in self.goals.iter().enumerate() {
            if g.get_ref().at.is_none() {
                checks.push(self.check(&sim, &nodes, &flows, g.get_ref(), i));
            }
        }
        checks.push(GoalCheck {
            goal: "invariants held after every step".to_string(),
            ok: sim.violation().is_none(),
            detail: sim.violation().unwrap_or("none violated").to_string(),
        });
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

    fn check(
        &self,
        sim: &Sim,
        nodes: &BTreeMap<String, NodeId>,
        flows: &[(FlowSpec, NodeId, NodeId)],
        g: &GoalSpec,
        i: usize,
    ) -> GoalCheck {
        let when = g.at.map_or_else(|| "end".to_string(), |t| t.to_string());
        let label = |what: String| format!("goal {}: at {when}: {what}", i + 1);
        let cmp = Self::cmp(g);
        let text = g.text.clone().unwrap_or_default();
        if let Some(name) = &g.report {
            let got = match sim.node(nodes[name]) {
                Node::Host(h) => h.proc_report().matches(text.as_str()).count(),
                Node::Switch(s) => (0..s.bonds().count())
                    .filter_map(|c| s.proc_report(c))
                    .map(|r| r.matches(text.as_str()).count())
                    .sum(),
                Node::Bridge(_) => 0,
            } as u64;
            return GoalCheck {
                goal: label(format!("{name} report \"{text}\" {cmp}")),
                ok: cmp.holds(got),
                detail: format!("{got} found"),
            };
        }
        if let Some(name) = &g.timeline {
            let got = sim
                .timeline()
                .iter()
                .filter(|e| &e.node == name && e.what.contains(text.as_str()))
                .count() as u64;
            return GoalCheck {
                goal: label(format!("{name} timeline \"{text}\" {cmp}")),
                ok: cmp.holds(got),
                detail: format!("{got} lines"),
            };
        }
        if let Some(name) = &g.negotiated {
            let (ok, detail) = negotiated(sim.node(nodes[name]).bonds());
            return GoalCheck { goal: label(format!("{name} negotiated")), ok, detail };
        }
        if let Some(name) = &g.aggregators_differ {
            let ids: Vec<Option<u16>> = sim
                .host(nodes[name])
                .bond()
                .lacp()
                .map(|l| {
                    l.port_ids().filter_map(|p| l.port_status(p)).map(|s| s.aggregator_id).collect()
                })
                .unwrap_or_default();
            let ok = ids.windows(2).any(|w| w[0] != w[1]);
            return GoalCheck {
                goal: label(format!("{name}'s ports in different aggregators")),
                ok,
                detail: format!("aggregator IDs {ids:?}"),
            };
        }
        if g.converged.is_some() {
            let (ok, detail) = converged(sim);
            return GoalCheck { goal: label("LACP converged".to_string()), ok, detail };
        }
        if let (Some(name), Some(from), Some(to)) = (&g.ping, g.from, g.to) {
            let (sent, answered) = sim.host(nodes[name]).ping_window(from.instant(), to.instant());
            return GoalCheck {
                goal: label(format!("{name} pings sent in {from}..{to} answered {cmp}")),
                ok: cmp.holds(answered as u64),
                detail: format!("{answered}/{sent} answered"),
            };
        }
        if let Some(name) = &g.flow {
            let Some((f, _, b)) = flows.iter().find(|(f, _, _)| &f.name == name) else {
                return GoalCheck {
                    goal: label(format!("flow {name}")),
                    ok: false,
                    detail: "no such flow".to_string(),
                };
            };
            let idx = flows.iter().position(|(x, _, _)| x.name == f.name).unwrap_or(0);
            let id = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let n = f.frames();
            let after = g.after.unwrap_or(f.start);
            let interval = f.interval().as_nanos().max(1);
            let since = after.0.saturating_sub(f.start.0).as_nanos();
            let first = u64::try_from(since.div_ceil(interval)).unwrap_or(u64::MAX).min(n);
            let got = sim.host(*b).flow_rx(id).map_or(0, |rx| rx.count(first, n));
            let want = n - first;
            let pct = if want == 0 { 0.0 } else { 100.0 * got as f64 / want as f64 };
            let has_cmp = g.count.is_some() || g.at_least.is_some() || g.at_most.is_some();
            // With a count comparison, `delivered` defaults to 0 (the count decides).
            let need = g.delivered.unwrap_or(if has_cmp { 0.0 } else { 100.0 });
            let count_part =
                if has_cmp { format!(", delivered frames {cmp}") } else { String::new() };
            return GoalCheck {
                goal: label(format!(
                    "flow {name}: frames sent from {after} on delivered >= {need}%{count_part}"
                )),
                ok: want > 0 && pct >= need && (!has_cmp || cmp.holds(got)),
                detail: format!("{got}/{want} ({pct:.2}%)"),
            };
        }
        GoalCheck { goal: label("?".to_string()), ok: false, detail: "empty goal".to_string() }
    }
}

/// 1-based (line, column) of a byte offset.
fn position(starts: &[usize], offset: usize) -> (usize, usize) {
    let line = starts.partition_point(|&s| s <= offset).max(1);
    (line, offset - starts[line - 1] + 1)
}

fn did_you_mean(name: &str, nodes: &BTreeMap<String, NodeId>) -> String {
    nodes
        .keys()
        .find(|k| {
            let mut stem = k.chars();
            stem.next_back();
            k.eq_ignore_ascii_case(name)
                || (k.chars().count() > 2 && name.starts_with(stem.as_str()))
        })
        .map_or_else(
            || format!(" (declared: {})", nodes.keys().cloned().collect::<Vec<_>>().join(", ")),
            |k| format!(" (did you mean `{k}`?)"),
        )
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

fn resolve(sim: &Sim, nodes: &BTreeMap<String, NodeId>, p: &PortName) -> Result<PortRef, String> {
    let node = *nodes
        .get(&p.node)
        .ok_or_else(|| format!("no node named `{}`{}", p.node, did_you_mean(&p.node, nodes)))?;
    let port = match sim.node(node) {
        Node::Host(h) => (0..h.port_count()).find(|&i| h.nic_name(i) == p.port),
        other => p
            .port
            .strip_prefix('p')
            .and_then(|x| x.parse::<usize>().ok())
            .filter(|&x| x >= 1 && x <= other.port_count())
            .map(|x| x - 1),
    };
    let port = port.ok_or_else(|| match sim.node(node) {
        Node::Host(h) => format!(
            "`{}` has no NIC `{}` (it has {})",
            p.node,
            p.port,
            (0..h.port_count()).map(|i| h.nic_name(i)).collect::<Vec<_>>().join(", ")
        ),
        other => format!("`{}` has no port `{}` (p1 to p{})", p.node, p.port, other.port_count()),
    })?;
    Ok(PortRef { node, port })
}

/// Whether every port with carrier of these bonds collects and distributes with a partner.
pub fn negotiated(bonds: Vec<&Bond>) -> (bool, String) {
    let mut up = 0;
    let mut dist = 0;
    for bond in bonds {
        let Some(l) = bond.lacp() else {
            return (false, format!("{} is not in 802.3ad mode", bond.name()));
        };
        for s in l.port_ids().filter_map(|p| l.port_status(p)).filter(|s| s.enabled) {
            up += 1;
            if s.distributing && s.collecting && !s.partner.system.is_zero() {
                dist += 1;
            }
        }
    }
    (up > 0 && up == dist, format!("{dist} of {up} ports with carrier distributing"))
}

/// Both ends agree: for every LACP port with carrier whose partner is a port of this
/// simulation, each records the other's identity and current state, and they distribute
/// together. A partner that is not in the simulation (a ghost) is a failure too.
pub fn converged(sim: &Sim) -> (bool, String) {
    let mut all = Vec::new();
    for n in 0..usize::MAX {
        let Some(node) = sim.try_node(NodeId(n)) else { break };
        for bond in node.bonds() {
            let Some(l) = bond.lacp() else { continue };
            for s in l.port_ids().filter_map(|p| l.port_status(p)) {
                let who = format!("{} {} port {}", node.name(), bond.name(), s.actor.port);
                all.push((who, s));
            }
        }
    }
    let mut pairs = 0;
    for (who, s) in &all {
        let defaulted =
            s.partner.state.has(PortState::DEFAULTED) || s.actor.state.has(PortState::DEFAULTED);
        if !s.enabled || defaulted || s.partner.system.is_zero() {
            continue;
        }
        // The partner is the port with that (system, port) identity; a switch's port-channels
        // share one system, so among several the one that names this port back is meant.
        let candidates: Vec<_> = all
            .iter()
            .filter(|(_, q)| q.actor.system == s.partner.system && q.actor.port == s.partner.port)
            .collect();
        let mutual = candidates
            .iter()
            .find(|(_, q)| q.partner.system == s.actor.system && q.partner.port == s.actor.port);
        let Some((pwho, p)) = mutual.or(candidates.first()).copied() else {
            return (
                false,
                format!(
                    "{who}: its partner {} port {} is not here",
                    s.partner.system, s.partner.port
                ),
            );
        };
        pairs += 1;
        if p.partner.system != s.actor.system || p.partner.port != s.actor.port {
            return (
                false,
                format!(
                    "{who} sees {pwho}, which sees {} port {}",
                    p.partner.system, p.partner.port
                ),
            );
        }
        if s.partner.state != p.actor.state || s.partner.key != p.actor.key {
            return (
                false,
                format!(
                    "{who} records {pwho} as state {} key {}, it is state {} key {}",
                    s.partner.state.0, s.partner.key, p.actor.state.0, p.actor.key
                ),
            );
        }
        if s.distributing != p.distributing {
            return (
                false,
                format!(
                    "{who} distributing={}, {pwho} distributing={}",
                    s.distributing, p.distributing
                ),
            );
        }
    }
    (true, format!("{pairs} ports agree with their partners"))
}
