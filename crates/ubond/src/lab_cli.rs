//! `ubond lab`: scenario files, the seed's environments, the swarm and the rootless demo.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use ubond_lab::scenario::{self, ScenarioResult};
use ubond_lab::script::Script;
use ubond_lab::swarm::{self, SwarmConfig};

/// The lab's subcommands.
#[derive(Subcommand)]
pub enum LabCommand {
    /// Run a TOML scenario file: prints the goals, the reports and the timeline of state
    /// changes; exits 1 if a goal fails (printing the seed), 2 on a bad file.
    Run {
        /// The scenario file (`.toml`; its format is in the ubond-lab crate's docs).
        file: PathBuf,
        /// The seed (default: the file's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Capture every link and write one pcap per link into this directory
        /// (tshark/Wireshark read them).
        #[arg(long)]
        pcap: Option<PathBuf>,
    },
    /// Run one of the seed's environments (1: two Linux bridges, 2: patched bridges with
    /// virtio NICs, 3: patched bridges with e1000 NICs, 4: a switch with LACP bonds): the
    /// scenario files `seed1-bridges.toml` .. `seed4-switch.toml`, built in.
    Seed {
        /// Scenario number, 1 to 4.
        number: u32,
        /// The seed (default: the scenario number).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Random topologies, modes and faults, then a quiet phase in which everything must
    /// converge; exits 1 if a seed fails (each failure is printed with its seed).
    Swarm {
        /// How many seeds to run.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Write a scenario file reproducing each failing seed into this directory
        /// (`ubond lab run DIR/swarm-seed-N.toml` fails the same way).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: the available cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Seconds of quiet after the faults before the final checks (default 100).
        #[arg(long)]
        quiet: Option<u64>,
        /// Print each seed's scenario as a TOML file instead of running it.
        #[arg(long)]
        print: bool,
    },
    /// Two hosts, two direct links, an 802.3ad bond on each: LACP negotiates, ping crosses,
    /// a link goes down and traffic continues (what `ubond demo` shows without root).
    Demo,
}

/// Runs a lab command; `Ok(false)` when a goal failed.
pub fn run(command: LabCommand) -> Result<bool> {
    let report = |r: &ScenarioResult, seed: u64| {
        println!("{}", r.render());
        if !r.passed() {
            eprintln!("ubond lab: a goal failed; reproduce with --seed {seed}");
        }
        r.passed()
    };
    match command {
        LabCommand::Run { file, seed, pcap } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("{}: cannot read", file.display()))?;
            let script =
                Script::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
            let seed = seed.unwrap_or(script.seed());
            let r = script
                .run_capturing(seed, pcap.is_some())
                .map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
            if let Some(dir) = pcap {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("{}: cannot create", dir.display()))?;
                for (name, bytes) in &r.captures {
                    let path = dir.join(format!("{}.pcap", name.replace(':', "-")));
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("{}: cannot write", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
            }
            Ok(report(&r, seed))
        }
        LabCommand::Seed { number, seed } => {
            let seed = seed.unwrap_or(u64::from(number));
            let r = scenario::run(number, seed)?;
            Ok(report(&r, seed))
        }
        LabCommand::Swarm { seeds, first, out, threads, quiet, print } => {
            let mut cfg = SwarmConfig::default();
            if let Some(q) = quiet {
                cfg.quiet = std::time::Duration::from_secs(q.min(24 * 3600));
            }
            if print {
                for seed in first..first.saturating_add(seeds.min(10_000)) {
                    println!(
                        "# ==> swarm seed {seed} <==\n{}",
                        swarm::scenario(seed, cfg).0.to_toml()
                    );
                }
                return Ok(true);
            }
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("{}: cannot create", dir.display()))?;
            }
            let threads = threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let mut failed = Vec::new();
            let mut written = Vec::new();
            let mut kinds: BTreeMap<(&str, &str), u64> = BTreeMap::new();
            let mut error = None;
            let range = first..first.saturating_add(seeds);
            swarm::run_many(range, cfg, threads, |o| {
                *kinds.entry((o.topology.name(), o.mode)).or_default() += 1;
                if o.passed() {
                    return;
                }
                println!(
                    "seed {}: FAILED ({} {}): {}",
                    o.seed,
                    o.topology.name(),
                    o.mode,
                    o.failure().unwrap_or_default()
                );
                failed.push(o.seed);
                if let Some(dir) = &out {
                    let path = dir.join(format!("swarm-seed-{}.toml", o.seed));
                    let text = format!(
                        "# Reproduces `ubond lab swarm` seed {}: `ubond lab run {}`\n# fails with: {}\n{}",
                        o.seed,
                        path.display(),
                        o.failure().unwrap_or_default().replace('\n', " "),
                        o.script.to_toml()
                    );
                    match std::fs::write(&path, text) {
                        Ok(()) => written.push(path),
                        Err(e) => error = Some(format!("{}: cannot write: {e}", path.display())),
                    }
                }
            });
            if let Some(e) = error {
                bail!(e);
            }
            for p in &written {
                println!("wrote {}", p.display());
            }
            let mix: Vec<String> =
                kinds.iter().map(|((t, m), n)| format!("{t} {m}: {n}")).collect();
            println!("ran {seeds} seeds ({})", mix.join(", "));
            println!("{} passed, {} failed", seeds - failed.len() as u64, failed.len());
            if !failed.is_empty() {
                println!("failed seeds: {failed:?}");
            }
            Ok(failed.is_empty())
        }
        LabCommand::Demo => {
            let mut out = std::io::stdout().lock();
            Ok(ubond_lab::demo::run_demo(&mut out)?)
        }
    }
}
