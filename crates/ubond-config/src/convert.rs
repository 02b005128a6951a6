//! One entry point per operation, whatever the format.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::loss::{Conversion, Lost};
use crate::model::{ConfigSet, Parsed, SourceFile};
use crate::{ifcfg, interfaces, keyfile, modprobe, native, netplan, networkd, ovs};

/// A configuration format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Module options and `/etc/modprobe.d/*.conf` (options only).
    Modprobe,
    /// Debian `/etc/network/interfaces`.
    Interfaces,
    /// RHEL `ifcfg-*` files.
    Ifcfg,
    /// systemd-networkd `.netdev` and `.network` files.
    Networkd,
    /// NetworkManager keyfiles (`*.nmconnection`).
    Keyfile,
    /// netplan YAML.
    Netplan,
    /// `ovs-vsctl add-bond` lines (approximate).
    Ovs,
    /// ubond's own TOML.
    Toml,
}

impl Format {
    /// Every format.
    pub const ALL: &'static [Format] = &[
        Format::Modprobe,
        Format::Interfaces,
        Format::Ifcfg,
        Format::Networkd,
        Format::Keyfile,
        Format::Netplan,
        Format::Ovs,
        Format::Toml,
    ];

    /// The format's name (`modprobe`, `interfaces`, `ifcfg`, `networkd`, `keyfile`, `netplan`,
    /// `ovs`, `toml`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Modprobe => "modprobe",
            Format::Interfaces => "interfaces",
            Format::Ifcfg => "ifcfg",
            Format::Networkd => "networkd",
            Format::Keyfile => "keyfile",
            Format::Netplan => "netplan",
            Format::Ovs => "ovs",
            Format::Toml => "toml",
        }
    }

    /// Whether the format holds slaves and addresses (modprobe holds options only).
    pub fn has_slaves(self) -> bool {
        self != Format::Modprobe
    }

    /// Whether the format can say a bond is not started at boot (interfaces without `auto`,
    /// ifcfg `ONBOOT=no`, keyfile `autoconnect=false`, TOML `on_boot = false`); the others
    /// write it as a comment.
    pub fn has_on_boot(self) -> bool {
        matches!(self, Format::Interfaces | Format::Ifcfg | Format::Keyfile | Format::Toml)
    }

    /// Whether the format can hold the kernel's modes and addresses (OVS bonds are only
    /// approximately the kernel's, and `add-bond` carries no addresses).
    pub fn is_kernel_like(self) -> bool {
        self != Format::Ovs
    }

    /// Guesses the format from a file's path and text: `ifcfg-*`, `interfaces` (or `iface`
    /// stanzas), `modprobe.d` / `alias`/`options` lines.
    pub fn detect(file: &SourceFile) -> Option<Format> {
        let base = file.path.rsplit('/').next().unwrap_or(&file.path);
        if base.ends_with(".netdev") || base.ends_with(".network") {
            return Some(Format::Networkd);
        }
        if base.ends_with(".nmconnection") {
            return Some(Format::Keyfile);
        }
        if file.path.contains("netplan") || base.ends_with(".yaml") || base.ends_with(".yml") {
            return Some(Format::Netplan);
        }
        if base.ends_with(".toml") {
            return Some(Format::Toml);
        }
        if base.starts_with("ifcfg-") {
            return Some(Format::Ifcfg);
        }
        if base == "interfaces" || file.path.contains("interfaces.d/") {
            return Some(Format::Interfaces);
        }
        if file.path.contains("modprobe") {
            return Some(Format::Modprobe);
        }
        if file.text.contains("add-bond") {
            return Some(Format::Ovs);
        }
        let first = |w: &str| file.text.lines().any(|l| l.split_whitespace().next() == Some(w));
        if first("iface") {
            Some(Format::Interfaces)
        } else if first("options") || first("alias") {
            Some(Format::Modprobe)
        } else if file.text.lines().any(|l| l.trim_start().starts_with("DEVICE=")) {
            Some(Format::Ifcfg)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL.iter().copied().find(|f| f.name() == s).ok_or_else(|| {
            format!(
                "unknown format '{s}' (known: {})",
                Format::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// Parses `files` as `format`.
pub fn parse(format: Format, files: &[SourceFile]) -> Parsed {
    match format {
        Format::Modprobe => modprobe::parse(files),
        Format::Interfaces => interfaces::parse(files),
        Format::Ifcfg => ifcfg::parse(files),
        Format::Networkd => networkd::parse(files),
        Format::Keyfile => keyfile::parse(files),
        Format::Netplan => netplan::parse(files),
        Format::Ovs => ovs::parse(files),
        Format::Toml => native::parse(files),
    }
}

/// Writes `set` as `format` (what the format cannot hold is written as comments; see
/// [`convert`] for the list).
pub fn emit(set: &ConfigSet, format: Format) -> Vec<SourceFile> {
    convert(set, format).files
}

/// Converts a configuration to `format`'s files, with every fact the format cannot hold
/// (or holds only approximately) as a [`Loss`], each also written as a comment in the files.
pub fn convert(set: &ConfigSet, format: Format) -> Conversion {
    let mut lost = Lost::default();
    let files = match format {
        Format::Modprobe => modprobe::emit_into(set, &mut lost),
        Format::Interfaces => interfaces::emit_into(set, &mut lost),
        Format::Ifcfg => ifcfg::emit_into(set, &mut lost),
        Format::Networkd => networkd::emit_into(set, &mut lost),
        Format::Keyfile => keyfile::emit_into(set, &mut lost),
        Format::Netplan => netplan::emit_into(set, &mut lost),
        Format::Ovs => ovs::emit_into(set, &mut lost),
        Format::Toml => native::emit_into(set, &mut lost),
    };
    Conversion { files, losses: lost.losses }
}

/// Parse findings plus the shared checks ([`crate::checks::check`]), in file order (as the
/// files were given), then by line and column.
pub fn lint(format: Format, files: &[SourceFile]) -> Vec<Finding> {
    let mut found = lint_unsorted(format, files);
    let index = |f: &Finding| files.iter().position(|x| x.path == f.file).unwrap_or(usize::MAX);
    found.sort_by_key(|f| (index(f), f.line, f.column));
    found
}

fn lint_unsorted(format: Format, files: &[SourceFile]) -> Vec<Finding> {
    match format {
        Format::Modprobe => modprobe::lint(files),
        Format::Interfaces => interfaces::lint(files),
        Format::Ifcfg => ifcfg::lint(files),
        Format::Networkd => networkd::lint(files),
        Format::Keyfile => keyfile::lint(files),
        Format::Netplan => netplan::lint(files),
        Format::Ovs => ovs::lint(files),
        Format::Toml => native::lint(files),
    }
}
