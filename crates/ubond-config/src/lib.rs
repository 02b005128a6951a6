//! Configuration formats for ubond: one typed model ([`BondConfig`], [`ConfigSet`]), a parser,
//! an emitter and a linter per format, and conversion between formats.
//!
//! Formats done: module options and `/etc/modprobe.d` ([`modprobe`]), Debian
//! `/etc/network/interfaces` with ifupdown2's and ifupdown-ng's extensions ([`interfaces`]),
//! RHEL and SUSE `ifcfg-*` with `route-*` files ([`ifcfg`]), systemd-networkd with `.link`
//! files ([`networkd`]), NetworkManager keyfiles ([`keyfile`]), netplan ([`netplan`]),
//! cloud-init's network config versions 1 and 2 ([`cloudinit`]), Open vSwitch bonds
//! (`ovs-vsctl` lines in [`ovs`], and in the formats that hold them), and ubond's own TOML
//! ([`native`]). Every finding names a file, line and column ([`Finding`]), with a
//! did-you-mean where one is close. The model ([`BondConfig`]) holds everything a bond's
//! definition says in these formats; what a target format cannot hold is a [`Loss`] of the
//! conversion, named with the place it came from and written as a comment.
//!
//! ```
//! use ubond_config::{convert, lint, parse, Format, Severity, SourceFile};
//!
//! let conf = SourceFile::new(
//!     "/etc/modprobe.d/bonding.conf",
//!     "alias bond0 bonding\noptinons bond0 mode=802.3ad miimmon=100\n",
//! );
//! let findings = lint(Format::Modprobe, std::slice::from_ref(&conf));
//! assert_eq!(
//!     findings.iter().find(|f| f.severity == Severity::Error).unwrap().to_string(),
//!     "/etc/modprobe.d/bonding.conf:2:1: error: unknown command 'optinons' (did you mean 'options'?)"
//! );
//!
//! let debian = SourceFile::new(
//!     "/etc/network/interfaces",
//!     "iface bond0 inet static\n  address 192.0.2.10/24\n  bond-slaves eth0 eth1\n  bond-mode 802.3ad\n  bond-miimon 100\n",
//! );
//! let parsed = parse(Format::Interfaces, &[debian]);
//! let ifcfg = convert(&parsed.config, Format::Ifcfg);
//! assert!(ifcfg.files[0].text.contains("BONDING_OPTS=\"mode=802.3ad miimon=100\""));
//! assert!(parse(Format::Ifcfg, &ifcfg.files).config.same_meaning(&parsed.config));
//! // What a format cannot hold is said: modprobe.d holds neither slaves nor addresses.
//! let modprobe = convert(&parsed.config, Format::Modprobe);
//! let said: Vec<String> = modprobe.losses.iter().map(|l| l.to_string()).collect();
//! assert!(said.contains(&"/etc/network/interfaces:2:11: bond0: address 192.0.2.10/24 not written: module options hold the bond's options only".to_owned()), "{said:#?}");
//! ```
//!
//! Beyond the files: [`live`] checks a configuration's slaves against the running system
//! (through a probe trait, faked in tests), and [`system`] finds and merges a system's own
//! files in their usual places.
//!
//! Round trip is the contract: for every format, parse → emit → parse gives the same
//! [`ConfigSet`] (ignoring source spans).

#![forbid(unsafe_code)]

pub mod checks;
pub mod cloudinit;
pub mod convert;
pub mod files;
pub mod finding;
pub mod ifcfg;
mod ini;
pub mod interfaces;
pub mod keyfile;
pub mod live;
pub mod loss;
pub mod model;
pub mod modprobe;
pub mod native;
mod net;
pub mod netplan;
pub mod networkd;
pub mod ovs;
mod settings;
pub mod system;
mod text;

pub use convert::{convert, emit, lint, parse, Format};
pub use finding::{has_errors, Finding, Severity, Span};
pub use loss::{Conversion, Loss};
pub use model::{
    BondConfig, ConfigSet, Dns, Fact, Match, OvsBond, Parsed, Route, SourceFile, Spans,
};
pub use modprobe::lint_sysfs_writes;
