//! Configuration formats for ubond: one typed model ([`BondConfig`], [`ConfigSet`]), a parser,
//! an emitter and a linter per format, and conversion between formats.
//!
//! Formats done: module options and `/etc/modprobe.d` ([`modprobe`]), Debian
//! `/etc/network/interfaces` ([`interfaces`]), RHEL `ifcfg-*` ([`ifcfg`]), systemd-networkd
//! ([`networkd`]), NetworkManager keyfiles ([`keyfile`]), netplan ([`netplan`]), `ovs-vsctl add-bond`
//! lines ([`ovs`], approximate: OVS bonds are not the kernel's), and ubond's own TOML ([`native`]). Every finding names
//! a file, line and column ([`Finding`]), with a did-you-mean where one is close.
//!
//! Round trip is the contract: for every format, parse → emit → parse gives the same
//! [`ConfigSet`] (ignoring source spans).

pub mod convert;
pub mod finding;
pub mod ifcfg;
mod ini;
pub mod interfaces;
pub mod keyfile;
pub mod lint;
pub mod model;
pub mod modprobe;
pub mod native;
pub mod netplan;
pub mod networkd;
pub mod ovs;
mod settings;
mod text;

pub use convert::{convert, emit, lint, parse, Format};
pub use finding::{has_errors, Finding, Severity, Span};
pub use model::{BondConfig, ConfigSet, Parsed, SourceFile, Spans};
pub use modprobe::lint_sysfs_writes;
