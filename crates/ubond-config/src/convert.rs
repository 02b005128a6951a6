//! One entry point per operation, whatever the format.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::loss::{Conversion, Lost};
use crate::model::{ConfigSet, Parsed, SourceFile};
use crate::{cloudinit, ifcfg, interfaces, keyfile, modprobe, native, netplan, networkd, ovs};

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
    /// cloud-init network configuration, version 1.
    CloudInit1,
    /// cloud-init network configuration, version 2 (netplan's syntax).
    CloudInit2,
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
        Format::CloudInit1,
        Format::CloudInit2,
    ];

    /// The format's name (`modprobe`, `interfaces`, `ifcfg`, `networkd`, `keyfile`, `netplan`,
    /// `ovs`, `toml`, `cloud-init-v1`, `cloud-init-v2`).
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
            Format::CloudInit1 => "cloud-init-v1",
            Format::CloudInit2 => "cloud-init-v2",
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

    /// The format of a file, read from its content; its path decides only when the content
    /// does not (an empty file, a netplan-style document that may be cloud-init's).
    pub fn detect(file: &SourceFile) -> Option<Format> {
        let base = file.path.rsplit('/').next().unwrap_or(&file.path);
        let lines: Vec<&str> = file
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
            .collect();
        let first_word = |w: &str| lines.iter().any(|l| l.split_whitespace().next() == Some(w));
        let cloudy = file.path.contains("/etc/cloud/")
            || base.contains("network-config")
            || base.ends_with(".cfg");
        // YAML: netplan and cloud-init.
        let top = |k: &str| {
            file.text.lines().any(|l| l.trim_end() == k || l.starts_with(&format!("{k} ")))
        };
        if top("network:")
            || (top("version: 2") || top("version: 1")) && !lines.iter().any(|l| l.starts_with('['))
        {
            let v1 = file.text.lines().any(|l| {
                let l = l.trim();
                l == "version: 1" || l == "version: \"1\"" || l == "version: '1'"
            });
            if v1 {
                return Some(Format::CloudInit1);
            }
            let nested = top("network:");
            return Some(if cloudy || !nested { Format::CloudInit2 } else { Format::Netplan });
        }
        // INI: systemd units and NetworkManager keyfiles; a networkd drop-in may hold only a
        // `[Bond]` section.
        let section = |s: &str| lines.iter().any(|l| l.eq_ignore_ascii_case(s));
        if crate::networkd::dropin_target(&file.path).is_some()
            && lines.iter().any(|l| l.starts_with('['))
        {
            return Some(Format::Networkd);
        }
        if section("[connection]") {
            return Some(Format::Keyfile);
        }
        if section("[netdev]") || section("[match]") || section("[network]") || section("[link]") {
            return Some(Format::Networkd);
        }
        if lines
            .iter()
            .any(|l| l.starts_with("[[bond]]") || l.starts_with("[bond.") || *l == "[bond]")
        {
            return Some(Format::Toml);
        }
        // ifupdown stanzas (before OVS: interfaces files may run ovs-vsctl in up lines).
        if first_word("iface") || first_word("auto") && lines.iter().any(|l| l.starts_with("bond"))
        {
            return Some(Format::Interfaces);
        }
        if lines.iter().any(|l| l.split_whitespace().any(|w| w.ends_with("ovs-vsctl"))) {
            return Some(Format::Ovs);
        }
        if first_word("options") || first_word("alias") || first_word("install") {
            return Some(Format::Modprobe);
        }
        // Shell-style KEY=VALUE: ifcfg (RHEL, SUSE) and route-* files.
        let kv = lines
            .iter()
            .filter(|l| {
                l.split_once('=').is_some_and(|(k, _)| {
                    !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                })
            })
            .count();
        if kv > 0 && kv * 2 >= lines.len() {
            return Some(Format::Ifcfg);
        }
        if crate::ifcfg::is_routes_file(&file.path) {
            return Some(Format::Ifcfg);
        }
        if !lines.is_empty() {
            return None;
        }
        // Nothing to read: the path says.
        if base.ends_with(".netdev") || base.ends_with(".network") || base.ends_with(".link") {
            Some(Format::Networkd)
        } else if base.ends_with(".nmconnection") {
            Some(Format::Keyfile)
        } else if base.ends_with(".yaml") || base.ends_with(".yml") {
            Some(Format::Netplan)
        } else if base.ends_with(".toml") {
            Some(Format::Toml)
        } else if base.starts_with("ifcfg-") {
            Some(Format::Ifcfg)
        } else if base == "interfaces" || file.path.contains("interfaces.d/") {
            Some(Format::Interfaces)
        } else if file.path.contains("modprobe") {
            Some(Format::Modprobe)
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
        Format::CloudInit1 => cloudinit::parse_v1(files),
        Format::CloudInit2 => cloudinit::parse_v2(files),
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
        Format::CloudInit1 => cloudinit::emit_v1_into(set, &mut lost),
        Format::CloudInit2 => cloudinit::emit_v2_into(set, &mut lost),
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
        Format::CloudInit1 => cloudinit::lint_v1(files),
        Format::CloudInit2 => cloudinit::lint_v2(files),
    }
}
