//! `ubond doctor`'s mind: read a bond's `/proc/net/bonding/bondX` report and say, in plain
//! sentences with the evidence and the fix, what is wrong with the bond.
//!
//! * [`report`]: the report's text as a typed model ([`Report::parse`]), for the kernel's
//!   reports (any version since 3.x) and ubond's (the same bytes);
//! * [`diagnose`](mod@diagnose): a pure function from reports (and, when known, the bond's option values)
//!   to [`Finding`]s, each with a stable [`Code`].
//!
//! A crate of its own rather than part of ubond-core: its input is the report's text, the
//! contract every Linux bond shares, not the bond's internals, so it serves the kernel's bonds
//! as well as ubond's and does not change when the core does; it takes only the option enums
//! (the kernel's names) from ubond-core and the MAC and port-state types from ubond-wire.
//!
//! Nothing here reads a file or a socket: the `ubond doctor` command gathers the reports (the
//! kernel's `/proc/net/bonding/*`, the daemon's, or files copied from other machines) and the
//! option values (`/sys/class/net/BOND/bonding/*`, `ubond get BOND`), so the same checks run
//! on a live host, on a report pasted into a ticket, and in tests.
//!
//! ```
//! use ubond_doctor::{diagnose, Bond, Code, Facts, Report};
//!
//! let text = "Ethernet Channel Bonding Driver: v6.1.0-56-amd64\n\n\
//!     Bonding Mode: fault-tolerance (active-backup)\nPrimary Slave: None\n\
//!     Currently Active Slave: eth0\nMII Status: up\nMII Polling Interval (ms): 0\n\
//!     Up Delay (ms): 0\nDown Delay (ms): 0\nPeer Notification Delay (ms): 0\n\n\
//!     Slave Interface: eth0\nMII Status: up\nSpeed: 1000 Mbps\nDuplex: full\n\
//!     Link Failure Count: 0\nPermanent HW addr: 52:54:00:0c:01:00\nSlave queue ID: 0\n";
//! let bond = Bond { name: "bond0".into(), report: Report::parse(text)?, facts: Facts::default() };
//! let findings = diagnose(&[bond]);
//! assert!(findings.iter().any(|f| f.code == Code::NoLinkMonitoring));
//! assert!(findings.iter().any(|f| f.code == Code::SingleLink));
//! # Ok::<(), ubond_doctor::ParseError>(())
//! ```
#![forbid(unsafe_code)]

pub mod diagnose;
pub mod report;

pub use diagnose::{diagnose, Bond, Code, Facts, Finding, Severity};
pub use report::{ParseError, Report};
