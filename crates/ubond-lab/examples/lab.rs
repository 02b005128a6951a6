//! A stand-in for `ubond lab ...` until the CLI wires the lab in:
//!
//! ```text
//! cargo run -p ubond-lab --example lab -- run FILE.lab [--seed N] [--pcap-dir DIR]
//! cargo run -p ubond-lab --example lab -- seed N [--seed S]     # built-in scenario 1..=4
//! cargo run -p ubond-lab --example lab -- swarm FIRST LAST      # swarm seeds FIRST..=LAST
//! ```
//!
//! Exit status: 0 if every goal held, 1 if one failed, 2 on a usage or file error.

use std::process::ExitCode;

use ubond_lab::scenario;
use ubond_lab::script::Script;
use ubond_lab::swarm::{self, SwarmConfig};

fn usage() -> ExitCode {
    eprintln!("usage: lab run FILE.lab [--seed N] | lab seed N [--seed S] | lab swarm FIRST LAST");
    ExitCode::from(2)
}

fn flag(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => {
            let Some(path) = args.get(1) else { return usage() };
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{path}: {e}");
                    return ExitCode::from(2);
                }
            };
            let script = match Script::parse(&text) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{path}:{e}");
                    return ExitCode::from(2);
                }
            };
            let seed = flag(&args, "--seed").unwrap_or(script.seed());
            match script.run(seed) {
                Ok(r) => {
                    println!("{}", r.render());
                    if let Some(i) = args.iter().position(|a| a == "--pcap-dir") {
                        let Some(dir) = args.get(i + 1) else { return usage() };
                        for (name, bytes) in &r.captures {
                            let file = std::path::Path::new(dir)
                                .join(format!("{}.pcap", name.replace(':', "-")));
                            if let Err(e) = std::fs::write(&file, bytes) {
                                eprintln!("{}: {e}", file.display());
                                return ExitCode::from(2);
                            }
                            eprintln!("wrote {}", file.display());
                        }
                    }
                    if r.passed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("{path}:{e}");
                    ExitCode::from(2)
                }
            }
        }
        Some("seed") => {
            let Some(n) = args.get(1).and_then(|a| a.parse().ok()) else { return usage() };
            let seed = flag(&args, "--seed").unwrap_or(u64::from(n));
            let Some(r) = scenario::run(n, seed) else {
                eprintln!("no built-in scenario {n} (there are {:?})", scenario::SCENARIOS);
                return ExitCode::from(2);
            };
            println!("{}", r.render());
            if r.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Some("swarm") => {
            let first: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
            let last: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(first + 99);
            let mut bad = 0u64;
            for seed in first..=last.min(first.saturating_add(1_000_000)) {
                let out = swarm::run(seed, SwarmConfig::default());
                let ok = out.recovered();
                bad += u64::from(!ok);
                println!(
                    "seed {seed}: {} ping during faults {}/{}, after {}/{}, distributing {:?}",
                    if ok { "ok" } else { "FAILED" },
                    out.ping_during.1,
                    out.ping_during.0,
                    out.ping_after.1,
                    out.ping_after.0,
                    out.distributing_after
                );
            }
            if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        _ => usage(),
    }
}
