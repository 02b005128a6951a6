//! The deterministic, sans-IO core of ubond.
//!
//! Nothing here reads a clock, opens a socket, spawns a thread or iterates a `HashMap`: every
//! input carries the time ([`time::Instant`]), and every output is polled. The same code runs
//! in the daemon (driven by real sockets and the monotonic clock) and in every simulated host
//! of the lab (driven by a virtual clock), which is what makes the lab's runs reproducible and
//! the tests exact.
//!
//! * [`lacp`]: IEEE 802.1AX Link Aggregation Control Protocol for one bond (bonding mode
//!   802.3ad) — the Receive, Periodic Transmission, Selection, Mux, Transmit and Churn
//!   Detection machines, one module each, and the Marker responder. Its module docs state the
//!   driver contract (inputs, outputs, polling order, time rules).
//! * [`bfd`]: Bidirectional Forwarding Detection (RFC 5880) and micro-BFD on a bond's members
//!   (RFC 7130): the session state machine, timer negotiation, the member gate.
//! * [`bond`]: a bond — slaves, the MII monitor, the mode's engine (802.3ad through [`lacp`],
//!   balance-tlb/alb), the active slave — and the data path's read-only plans with the one
//!   transmit decision every driver uses (`TxPlan::decide`).
//! * [`hash`]: the Linux transmit hash policies, bit for bit.
//! * [`options`]: every bonding option with the kernel's names, values, defaults and checks.
//! * [`report`]: the bond status model, `/proc/net/bonding/bondX` byte for byte, and JSON.
#![forbid(unsafe_code)]

pub mod bfd;
pub mod bond;
pub mod hash;
pub mod lacp;
pub mod monitor;
pub mod options;
pub mod report;
pub mod time;
