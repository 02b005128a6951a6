//! The ubond lab: a deterministic discrete-event network simulator that runs the real
//! [`ubond_core::bond::Bond`] in every simulated host and switch port-channel.
//!
//! * [`sim`]: the engine (virtual clock, event queue, links with latency, carrier, loss and
//!   one-way failure, invariant checks after every step).
//! * [`host`]: a host with a bond and a minimal IPv4 stack (ARP, ICMP echo).
//! * [`bridge`]: a Linux bridge (learning, ageing, flooding, `group_fwd_mask`).
//! * [`switch`]: a switch whose port groups are LACP bonds.
//! * [`pcap`]: per-link captures as pcap files.
//! * [`scenario`]: the seed's environments as built-in scenarios with goal checks.
//! * [`script`]: scenario files (topology, timed faults and pings, expectations).
//! * [`swarm`]: random faults from a seed, invariants after every step, recovery checks.
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
