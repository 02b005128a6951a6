//! The tables of a scenario file: hosts, bridges, switches, links, flows, events and goals.
//! Each is a serde type. An event, a goal and a count are tables with their own fields and
//! one tagged entry (`at` and `down = "hostA:eth0"`), read by the `tagged` module so that a
//! malformed one is refused where it is written.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use toml::Spanned;

use super::tagged::{self, Shape};
use super::values::{OptValue, PortName, Rate, Time};

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
    /// Bond options with sysfs names and values ([`FIRST_OPTIONS`](super::FIRST_OPTIONS) are applied first).
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
    pub(crate) fn frames(&self) -> u64 {
        match (self.count, self.duration) {
            (Some(n), _) => n,
            (None, Some(d)) => (d.0.as_nanos() * u128::from(self.rate) / 1_000_000_000)
                .min(u128::from(u64::MAX)) as u64,
            (None, None) => 0,
        }
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.rate.max(1)))
    }

    pub(crate) fn end(&self) -> Duration {
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

/// One timed action.
#[derive(Debug, Clone, Serialize)]
pub struct EventSpec {
    /// When.
    pub at: Time,
    /// What happens (its key in the file names it).
    #[serde(flatten)]
    pub action: Action,
}

/// What an event does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Start pinging.
    Ping(PingSpec),
    /// Pull the cable at this port (carrier lost at both ends).
    Down(PortName),
    /// Plug it back.
    Up(PortName),
    /// Frames sent from this port are lost; carrier stays (a one-way failure).
    Oneway(PortName),
    /// Undo `oneway` for this port.
    Repair(PortName),
    /// Random loss on a link.
    Loss(LossSpec),
    /// `ip link set BR down` (its ports' peers keep carrier).
    BridgeDown(String),
    /// `ip link set BR up`.
    BridgeUp(String),
    /// A flapping cable: `count` times, carrier lost for half a `period`, then back.
    Flap(FlapSpec),
}

const EVENT: Shape = Shape {
    what: "an event",
    tag: "action",
    required: true,
    fix: ": split it into several [[event]] tables",
    example: "{ at = \"21s\", down = \"hostA:eth0\" }",
};

impl<'de> Deserialize<'de> for EventSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventSpec, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            at: Time,
        }
        let (Fields { at }, action) = tagged::read_one(d, &EVENT)?;
        Ok(EventSpec { at, action })
    }
}

/// One goal: when it is checked, and what.
#[derive(Debug, Clone, Serialize)]
pub struct GoalSpec {
    /// When (default: the end of the run; ping and flow goals are checked there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// What must hold (its key in the file names it).
    #[serde(flatten)]
    pub goal: Goal,
}

/// What a goal checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Count `text` in this node's `/proc/net/bonding` report(s).
    Report(TextCount),
    /// Count this node's timeline lines that contain `text` (node `link`: the cables').
    Timeline(TextCount),
    /// Every port with carrier of this node's bond(s) is collecting and distributing.
    Negotiated(String),
    /// This host's ports are in more than one aggregator.
    AggregatorsDiffer(String),
    /// This host's active aggregator holds exactly these NICs.
    ActiveAggregator(ActiveAggregator),
    /// `true`: every pair of LACP ports that see each other agree (see the module docs);
    /// `false`: some pair does not.
    Converged(bool),
    /// Count this host's answered echo requests sent in [`from`, `to`).
    Ping(PingGoal),
    /// The share of a flow's frames that arrived.
    Flow(FlowGoal),
}

const GOAL: Shape = Shape {
    what: "a goal",
    tag: "check",
    required: true,
    fix: "",
    example: "{ at = \"10s\", negotiated = \"hostB\" }",
};

impl<'de> Deserialize<'de> for GoalSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GoalSpec, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            at: Option<Time>,
        }
        let (Fields { at }, goal) = tagged::read_one(d, &GOAL)?;
        Ok(GoalSpec { at, goal })
    }
}

/// What a goal compares a count with: `count = N`, `at_least = N` or `at_most = N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmp {
    /// Exactly.
    Count(u64),
    /// At least.
    AtLeast(u64),
    /// At most.
    AtMost(u64),
}

impl Cmp {
    /// Whether `got` compares as asked.
    pub fn holds(self, got: u64) -> bool {
        match self {
            Cmp::Count(n) => got == n,
            Cmp::AtLeast(n) => got >= n,
            Cmp::AtMost(n) => got <= n,
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cmp::Count(n) => write!(f, "== {n}"),
            Cmp::AtLeast(n) => write!(f, ">= {n}"),
            Cmp::AtMost(n) => write!(f, "<= {n}"),
        }
    }
}

/// Occurrences of `text` in a node's report or timeline:
/// `{ node = "hostA", text = "port state: 63", count = 4 }`.
#[derive(Debug, Clone, Serialize)]
pub struct TextCount {
    /// The node.
    pub node: String,
    /// The text counted.
    pub text: String,
    /// How many there must be.
    #[serde(flatten)]
    pub expect: Cmp,
}

const TEXT_COUNT: Shape = Shape {
    what: "a report or timeline goal",
    tag: "comparison",
    required: true,
    fix: "",
    example: "{ node = \"hostA\", text = \"port state: 63\", count = 4 }",
};

impl<'de> Deserialize<'de> for TextCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TextCount, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            node: String,
            text: String,
        }
        let (Fields { node, text }, expect) = tagged::read_one(d, &TEXT_COUNT)?;
        Ok(TextCount { node, text, expect })
    }
}

/// A host's answered echo requests sent in a window:
/// `{ host = "hostA", from = "10s", to = "20s", at_least = 10 }`.
#[derive(Debug, Clone, Serialize)]
pub struct PingGoal {
    /// The pinging host.
    pub host: String,
    /// Start of the window.
    pub from: Time,
    /// End of the window (excluded).
    pub to: Time,
    /// How many answered.
    #[serde(flatten)]
    pub expect: Cmp,
}

const PING_GOAL: Shape = Shape {
    what: "a ping goal",
    tag: "comparison",
    required: true,
    fix: "",
    example: "{ host = \"hostA\", from = \"10s\", to = \"20s\", at_least = 10 }",
};

impl<'de> Deserialize<'de> for PingGoal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PingGoal, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            host: String,
            from: Time,
            to: Time,
        }
        let (Fields { host, from, to }, expect) = tagged::read_one(d, &PING_GOAL)?;
        Ok(PingGoal { host, from, to, expect })
    }
}

/// The frames of a flow that arrived: `{ name = "video", after = "25s", delivered = 99.5 }`.
#[derive(Debug, Clone, Serialize)]
pub struct FlowGoal {
    /// The flow.
    pub name: String,
    /// Frames sent from this time on are counted (default: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Time>,
    /// Least share of them that must arrive, in percent (default 100, or 0 with a
    /// comparison: the count decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<f64>,
    /// How many of them must arrive.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Cmp>,
}

const FLOW_GOAL: Shape = Shape {
    what: "a flow goal",
    tag: "comparison",
    required: false,
    fix: "",
    example: "{ name = \"video\", after = \"25s\", delivered = 99.5 }",
};

impl<'de> Deserialize<'de> for FlowGoal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FlowGoal, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            name: String,
            after: Option<Time>,
            delivered: Option<f64>,
        }
        let (Fields { name, after, delivered }, expect) = tagged::read(d, &FLOW_GOAL)?;
        Ok(FlowGoal { name, after, delivered, expect })
    }
}

/// The NICs of a host's active aggregator: `{ host = "hostB", ports = ["eth1"] }` (an empty
/// list: no active aggregator).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveAggregator {
    /// The host.
    pub host: String,
    /// Its NICs in the active aggregator, in any order.
    pub ports: Vec<String>,
}
