//! The ubond lab: a deterministic discrete-event network simulator that runs the real
//! [`ubond_core::bond::Bond`] in every simulated host and switch port-channel.
//!
//! * [`sim`]: the engine (virtual clock, event queue, links with latency, jitter, line rate
//!   and a tail-drop queue, carrier, loss and one-way failure; invariant checks after every
//!   step, the first violation recorded and the run stopped).
//! * [`host`]: a host with a bond and a minimal IPv4 stack (ARP, ICMP echo, UDP-like flows
//!   counted per sequence number at the receiver); the bond is driven as the daemon drives it,
//!   on the host's own clock (which may drift, in parts per million).
//! * [`bridge`]: a Linux bridge (learning, ageing, flooding, `group_fwd_mask`).
//! * [`switch`]: a switch whose port groups are LACP bonds.
//! * [`pcap`]: per-link captures as pcap files.
//! * [`script`]: scenario files in TOML — topology, flows, timed faults and actions, goals;
//!   the format, with a documented example, is in that module.
//! * [`scenario`]: what a run produces, and the seed's four environments, which are scenario
//!   files under `scenarios/` built into the binary (`ubond lab seed N`).
//! * [`swarm`]: random topologies, modes and fault mixes from a seed, then a quiet phase in
//!   which everything must converge; a failing seed is written as a scenario file.
//! * [`demo`]: the topology of `ubond demo`, narrated, for machines without root.
//!
//! A scenario file, in short (see [`script`] for every key):
//!
//! ```
//! let text = r#"
//! title = "two hosts back to back, 802.3ad"
//! seed = 1
//!
//! [[host]]
//! name = "a"
//! ip = "10.0.0.1"
//! bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100 }
//!
//! [[host]]
//! name = "b"
//! ip = "10.0.0.2"
//! bond = { mode = "802.3ad", lacp_rate = "fast", miimon = 100 }
//!
//! [[link]]
//! a = "a:eth0"
//! b = "b:eth0"
//!
//! [[link]]
//! a = "a:eth1"
//! b = "b:eth1"
//!
//! [[event]]
//! at = "5s"
//! down = "a:eth0"
//!
//! [[goal]]
//! at = "4s"
//! negotiated = "a"
//!
//! [[goal]]
//! at = "8s"
//! report = { node = "b", text = "Number of ports: 1", count = 1 }
//! "#;
//! let script = ubond_lab::script::Script::parse(text)?;
//! let result = script.run(script.seed())?;
//! assert!(result.passed(), "{}", result.render());
//! # Ok::<(), ubond_lab::script::ScriptError>(())
//! ```
#![forbid(unsafe_code)]

pub mod bridge;
pub mod demo;
pub mod host;
pub mod pcap;
pub mod scenario;
pub mod script;
pub mod sim;
pub mod swarm;
pub mod switch;
