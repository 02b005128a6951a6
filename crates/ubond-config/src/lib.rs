//! Configuration formats for ubond: one typed model ([`BondConfig`], [`ConfigSet`]), a parser,
//! an emitter and a linter per format, and conversion between formats.
//!
//! Formats done: module options and `/etc/modprobe.d` ([`modprobe`]), Debian
//! `/etc/network/interfaces` ([`interfaces`]), RHEL `ifcfg-*` ([`ifcfg`]), systemd-networkd
//! ([`networkd`]), NetworkManager keyfiles ([`keyfile`]), netplan ([`netplan`]), `ovs-vsctl add-bond`
//! lines ([`ovs`], approximate: OVS bonds are not the kernel's), and ubond's own TOML ([`native`]). Every finding names
//! a file, line and column ([`Finding`]), with a did-you-mean where one is close.
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
//! let ifcfg_files = convert(&parsed.config, Format::Ifcfg);
//! assert!(ifcfg_files[0].text.contains("BONDING_OPTS=\"mode=802.3ad miimon=100\""));
//! assert!(parse(Format::Ifcfg, &ifcfg_files).config.same_meaning(&parsed.config));
//! ```
//!
//! Beyond the files: [`live`] checks a configuration's slaves against the running system
//! (through a probe trait, faked in tests), and [`system`] finds and merges a system's own
//! files in their usual places.
//!
//! Round trip is the contract: for every format, parse → emit → parse gives the same
//! [`ConfigSet`] (ignoring source spans).

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
