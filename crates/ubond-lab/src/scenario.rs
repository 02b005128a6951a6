//! What a scenario run produces ([`ScenarioResult`]), and the seed's four environments:
//! scenario files under `scenarios/`, built into the binary ([`SEEDS`]), so that
//! `ubond lab seed N` runs file N with PRNG seed N and `ubond lab run` runs the same file.
//!
//! | seed | file | topology | what it shows |
//! |---|---|---|---|
//! | 1 | `seed1-bridges.toml` | two hosts, 802.3ad, two stock Linux bridges, e1000 NICs | LACP never negotiates; each port is its own aggregator; connectivity depends on which bridge is up, and dies when the two hosts' active aggregators face different bridges |
//! | 2 | `seed2-virtio.toml` | the same over patched bridges (LACPDUs forwarded), virtio NICs, `ad_unknown_speed refuse` | "failed to get link speed/duplex": no aggregation, no connectivity |
//! | 3 | `seed3-patched.toml` | patched bridges, e1000 NICs | aggregation works; a link loss keeps connectivity |
//! | 4 | `seed4-switch.toml` | two hosts on a switch with LACP port-channels | both negotiate (port state 63), ping works and survives a member loss |
//!
//! `seed2-virtio-speed.toml` and `seed2-virtio-assume.toml` are seed 2 fixed the kernel's
//! way (a NIC speed) and ubond's (`ad_unknown_speed` assumes one).

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use crate::script::{Lab, Script, ScriptError};
use crate::sim::{SimStats, TimelineEntry};

/// One of the seed's environments: a scenario file built into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedScenario {
    /// Its number (`ubond lab seed N`), also its default PRNG seed.
    pub number: u32,
    /// The file's name under `scenarios/`.
    pub file: &'static str,
    /// The file.
    pub text: &'static str,
}

/// The seed's environments, in number order.
pub const SEEDS: [SeedScenario; 4] = [
    SeedScenario {
        number: 1,
        file: "seed1-bridges.toml",
        text: include_str!("../scenarios/seed1-bridges.toml"),
    },
    SeedScenario {
        number: 2,
        file: "seed2-virtio.toml",
        text: include_str!("../scenarios/seed2-virtio.toml"),
    },
    SeedScenario {
        number: 3,
        file: "seed3-patched.toml",
        text: include_str!("../scenarios/seed3-patched.toml"),
    },
    SeedScenario {
        number: 4,
        file: "seed4-switch.toml",
        text: include_str!("../scenarios/seed4-switch.toml"),
    },
];

/// Why a seed scenario cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedError {
    /// There is no seed scenario with this number.
    Unknown(u32),
    /// The built-in file does not parse (a bug of this build).
    Script {
        /// The file's name.
        file: &'static str,
        /// Its mistake.
        error: ScriptError,
    },
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedError::Unknown(n) => {
                let numbers: Vec<String> = SEEDS.iter().map(|s| s.number.to_string()).collect();
                write!(f, "no built-in scenario {n}; there are {}", numbers.join(", "))
            }
            SeedError::Script { file, error } => write!(f, "{file}:{error}"),
        }
    }
}

impl std::error::Error for SeedError {}

impl SeedScenario {
    /// Seed scenario `number`.
    pub fn get(number: u32) -> Result<&'static SeedScenario, SeedError> {
        SEEDS.iter().find(|s| s.number == number).ok_or(SeedError::Unknown(number))
    }

    /// The file, parsed.
    pub fn script(&self) -> Result<Script, SeedError> {
        Script::parse(self.text).map_err(|error| SeedError::Script { file: self.file, error })
    }
}

/// Runs seed scenario `n` with PRNG seed `seed`.
pub fn run(n: u32, seed: u64) -> Result<ScenarioResult, SeedError> {
    let s = SeedScenario::get(n)?;
    let mut r = s.script()?.run(seed).map_err(|error| SeedError::Script { file: s.file, error })?;
    r.scenario = n;
    Ok(r)
}

/// Seed scenario `n`'s topology on a simulator seeded with `seed`, its timeline not played
/// (for tests and benchmarks that drive the simulator themselves).
pub fn lab(n: u32, seed: u64) -> Result<Lab, SeedError> {
    let s = SeedScenario::get(n)?;
    s.script()?.lab(seed).map_err(|error| SeedError::Script { file: s.file, error })
}

/// One goal of a scenario and whether the run met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalCheck {
    /// What was expected.
    pub goal: String,
    /// Whether it held.
    pub ok: bool,
    /// What was observed.
    pub detail: String,
}

/// What a scenario run produced.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The seed scenario's number (0: another scenario file).
    pub scenario: u32,
    /// Its title.
    pub title: String,
    /// The PRNG seed.
    pub seed: u64,
    /// State changes in order.
    pub timeline: Vec<TimelineEntry>,
    /// (host, its `/proc/net/bonding/bond0` at the end of the run), in name order.
    pub reports: Vec<(String, String)>,
    /// Goal checks.
    pub checks: Vec<GoalCheck>,
    /// Hash of every frame delivery (equal ⇒ byte-identical runs).
    pub digest: u64,
    /// Engine counters.
    pub stats: SimStats,
    /// Virtual time simulated.
    pub elapsed: Duration,
    /// Link captures asked for (scenario files' `capture`): (`NODE:PORT`, pcap file bytes).
    pub captures: Vec<(String, Vec<u8>)>,
}

impl ScenarioResult {
    /// True if every goal held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The timeline, one line per entry.
    pub fn timeline_text(&self) -> String {
        let mut s = String::new();
        for e in &self.timeline {
            let _ = writeln!(s, "{e}");
        }
        s
    }

    /// A human-readable summary: goals, then reports, then the timeline.
    pub fn render(&self) -> String {
        let mut s = match self.scenario {
            0 => format!("{} (seed {})\n", self.title, self.seed),
            n => format!("scenario {n} (seed {}): {}\n", self.seed, self.title),
        };
        for c in &self.checks {
            let _ =
                writeln!(s, "  [{}] {}: {}", if c.ok { "ok" } else { "FAILED" }, c.goal, c.detail);
        }
        for (who, r) in &self.reports {
            let _ = writeln!(s, "--- {who}\n{r}");
        }
        s.push_str("--- timeline\n");
        s.push_str(&self.timeline_text());
        s
    }
}
