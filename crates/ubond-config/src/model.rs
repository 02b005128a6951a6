//! The one typed model every format parses into and emits from.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ubond_core::options::{BondOptions, OptionId, SlaveOptions};

use crate::finding::{Finding, Span};
use crate::settings::{apply_settings, option_pairs, Setting};

/// A file's path and text: what parsers read and emitters write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path (as given; for emitted files, the conventional path, e.g.
    /// `/etc/sysconfig/network-scripts/ifcfg-bond0`).
    pub path: String,
    /// The whole text.
    pub text: String,
}

impl SourceFile {
    /// A file with this path and text.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile { path: path.into(), text: text.into() }
    }
}

/// Where the parts of a bond were defined (empty for a bond built in code). Not part of a
/// bond's meaning: [`BondConfig::same_meaning`] ignores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spans {
    /// Where the bond is declared (its stanza, file or `alias` line).
    pub bond: Option<Span>,
    /// Where each option was set, by kernel option name.
    pub options: BTreeMap<String, Span>,
    /// Where each slave was named.
    pub slaves: BTreeMap<String, Span>,
    /// For a bond not started at boot ([`BondConfig::on_boot`] false): where the file says so
    /// and how, e.g. `ONBOOT=no` at its line, or `no "auto bond1" line` at the bond's
    /// `iface` stanza.
    #[serde(default)]
    pub not_on_boot: Option<(Span, String)>,
}

/// One bond: its name, its options with the kernel's semantics, its slaves in enslave order,
/// its IP configuration, and where all that was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondConfig {
    /// The bond device's name (`bond0`).
    pub name: String,
    /// The options. Per-slave options (`queue_id`, `prio`, `actor_port_prio`) are in
    /// `options.slave_options`. Serialized as a map of kernel option names to values (only
    /// those that differ from the defaults) plus the per-slave options.
    #[serde(serialize_with = "ser_options", deserialize_with = "de_options")]
    pub options: BondOptions,
    /// The slaves, in enslave order.
    pub slaves: Vec<String>,
    /// Static addresses with their prefix length.
    pub addresses: Vec<(IpAddr, u8)>,
    /// The default gateway through the bond.
    pub gateway: Option<IpAddr>,
    /// Addresses come from DHCP (`inet dhcp`, `BOOTPROTO=dhcp`).
    #[serde(default)]
    pub dhcp: bool,
    /// Brought up at boot (and by `ubond up` without bond names): an `auto`,
    /// `allow-auto` or `allow-hotplug` line in interfaces, `ONBOOT` other than `no` in ifcfg,
    /// `autoconnect` other than `false` in a keyfile, no `on_boot = false` in ubond's TOML.
    /// Always true in the formats that cannot say otherwise (modprobe, networkd, netplan,
    /// OVS).
    #[serde(default = "yes")]
    pub on_boot: bool,
    /// Where it was written.
    #[serde(default)]
    pub spans: Spans,
}

impl BondConfig {
    /// A bond with default options, no slaves and no addresses.
    pub fn new(name: impl Into<String>) -> BondConfig {
        BondConfig {
            name: name.into(),
            options: BondOptions::default(),
            slaves: Vec::new(),
            addresses: Vec::new(),
            gateway: None,
            dhcp: false,
            on_boot: true,
            spans: Spans::default(),
        }
    }

    /// Same bond, ignoring where it was written and whether it starts at boot.
    pub fn same_meaning_but_boot(&self, other: &BondConfig) -> bool {
        BondConfig { on_boot: true, ..self.without_spans() }
            == BondConfig { on_boot: true, ..other.without_spans() }
    }

    /// Why the bond is not started at boot, with the place (`ONBOOT=no at
    /// /etc/sysconfig/network-scripts/ifcfg-bond1:6:1`); `None` when it is.
    pub fn not_on_boot_reason(&self) -> Option<String> {
        if self.on_boot {
            return None;
        }
        Some(match &self.spans.not_on_boot {
            Some((at, says)) => format!("{says} at {at}"),
            None => "marked not to start at boot".to_owned(),
        })
    }

    /// The per-slave options as `slave: queue_id=N prio=N actor_port_prio=N` lines, for
    /// formats that cannot say them (their emitters write them as comments).
    pub(crate) fn slave_options_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.options.slave_options.iter().map(|(s, so)| {
            format!(
                "{s}: queue_id={} prio={} actor_port_prio={}",
                so.queue_id, so.prio, so.actor_port_prio
            )
        })
    }

    /// The per-slave options of `slave` (defaults when none were set).
    pub fn slave_options(&self, slave: &str) -> SlaveOptions {
        self.options.slave(slave)
    }

    /// Same bond, ignoring where it was written.
    pub fn same_meaning(&self, other: &BondConfig) -> bool {
        self.without_spans() == other.without_spans()
    }

    /// A copy without source spans.
    pub fn without_spans(&self) -> BondConfig {
        BondConfig { spans: Spans::default(), ..self.clone() }
    }

    /// The bond's options in module-option syntax for creating it (`mode=802.3ad miimon=100
    /// lacp_rate=fast`, what `ubond add` takes): the options that differ from the mode's
    /// defaults, without the module-only parameters and without those that need slaves
    /// (`active_slave`, `queue_id`: set them after enslaving).
    pub fn creation_options(&self) -> String {
        crate::settings::sysfs_option_pairs(&self.options)
            .into_iter()
            .filter(|(id, _)| !matches!(id, OptionId::ActiveSlave | OptionId::QueueId))
            .map(|(id, v)| format!("{}={v}", id.name()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Where option `name` was set, else where the bond was declared.
    pub fn option_span(&self, name: &str) -> Option<&Span> {
        self.spans.options.get(name).or(self.spans.bond.as_ref())
    }
}

/// All the bonds of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSet {
    /// The bonds, in the order they were found.
    pub bonds: Vec<BondConfig>,
}

impl ConfigSet {
    /// The bond named `name`.
    pub fn bond(&self, name: &str) -> Option<&BondConfig> {
        self.bonds.iter().find(|b| b.name == name)
    }

    /// A copy without source spans.
    pub fn without_spans(&self) -> ConfigSet {
        ConfigSet { bonds: self.bonds.iter().map(BondConfig::without_spans).collect() }
    }

    /// Same bonds in the same order, ignoring where they were written.
    pub fn same_meaning(&self, other: &ConfigSet) -> bool {
        self.without_spans() == other.without_spans()
    }
}

fn yes() -> bool {
    true
}

/// What a parser returns: the configuration it understood and what it has to say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The bonds found.
    pub config: ConfigSet,
    /// Errors, warnings and notes, each with its place.
    pub findings: Vec<Finding>,
}

#[derive(Serialize, Deserialize)]
struct OptionsRepr {
    #[serde(default)]
    settings: BTreeMap<String, String>,
    #[serde(default)]
    per_slave: BTreeMap<String, SlaveRepr>,
}

#[derive(Serialize, Deserialize)]
struct SlaveRepr {
    queue_id: u16,
    prio: i32,
    actor_port_prio: u16,
}

fn ser_options<S: Serializer>(o: &BondOptions, s: S) -> Result<S::Ok, S::Error> {
    let settings = option_pairs(o)
        .into_iter()
        .filter(|(id, _)| *id != OptionId::QueueId)
        .map(|(id, v)| (id.name().to_owned(), v))
        .collect();
    let per_slave = o
        .slave_options
        .iter()
        .map(|(n, s)| {
            (
                n.clone(),
                SlaveRepr {
                    queue_id: s.queue_id,
                    prio: s.prio,
                    actor_port_prio: s.actor_port_prio,
                },
            )
        })
        .collect();
    OptionsRepr { settings, per_slave }.serialize(s)
}

fn de_options<'de, D: Deserializer<'de>>(d: D) -> Result<BondOptions, D::Error> {
    let repr = OptionsRepr::deserialize(d)?;
    let mut settings = Vec::new();
    for (name, value) in &repr.settings {
        let id = OptionId::from_name(name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown bonding option {name:?}")))?;
        settings.push(Setting {
            id,
            key: name.clone(),
            value: value.clone(),
            slave: None,
            key_span: Span::default(),
            value_span: Span::default(),
        });
    }
    let (mut o, findings) = apply_settings(&settings);
    if let Some(e) = findings.iter().find(|f| f.severity == crate::Severity::Error) {
        return Err(serde::de::Error::custom(&e.message));
    }
    for (n, s) in repr.per_slave {
        o.slave_options.insert(
            n,
            SlaveOptions { queue_id: s.queue_id, prio: s.prio, actor_port_prio: s.actor_port_prio },
        );
    }
    crate::settings::normalize(&mut o);
    Ok(o)
}
