//! The one typed model every format parses into and emits from.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ubond_core::options::{BondOptions, OptionId, SlaveOptions};
use ubond_wire::MacAddr;

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
    /// Where the other facts were written, by [`Fact::key`].
    #[serde(default)]
    pub facts: BTreeMap<String, Span>,
}

/// A route through the bond: `to` (`0.0.0.0/0` or `::/0` for the default route), the
/// gateway, and the metric and routing table when the file gives them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Route {
    /// Destination address and prefix length.
    pub to: (IpAddr, u8),
    /// The gateway (`None`: on-link).
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// The metric, when given.
    #[serde(default)]
    pub metric: Option<u32>,
    /// The routing table, when not the main one.
    #[serde(default)]
    pub table: Option<u32>,
}

impl Route {
    /// The default route of `via`'s family through `via`.
    pub fn default_via(via: IpAddr) -> Route {
        let any = if via.is_ipv4() {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        };
        Route { to: (any, 0), via: Some(via), metric: None, table: None }
    }

    /// A default route (prefix length 0).
    pub fn is_default(&self) -> bool {
        self.to.1 == 0
    }

    /// A default route through a gateway, in the main table, without a metric: what every
    /// format can say (a `gateway` line).
    pub fn is_plain_default(&self) -> bool {
        self.is_default() && self.via.is_some() && self.metric.is_none() && self.table.is_none()
    }

    /// Whether it is an IPv4 route.
    pub fn is_ipv4(&self) -> bool {
        self.to.0.is_ipv4()
    }
}

impl std::fmt::Display for Route {
    /// As `ip route` writes it: `default via 192.0.2.1`, `198.51.100.0/24 via 192.0.2.254
    /// metric 100 table 10`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_default() {
            f.write_str("default")?;
        } else {
            write!(f, "{}/{}", self.to.0, self.to.1)?;
        }
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        Ok(())
    }
}

/// Name servers, search domains and routing-only domains given with the bond.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Name servers, in order.
    #[serde(default)]
    pub servers: Vec<IpAddr>,
    /// Search domains, in order: appended to single-label names and used to pick the
    /// link a query goes to.
    #[serde(default)]
    pub search: Vec<String>,
    /// Routing-only domains, without their `~` (`example.com` for networkd's
    /// `Domains=~example.com`, `.` for `~.`: this link's name servers for every domain
    /// without a better match): they only pick the link a query for a name in them goes to,
    /// and never complete a name (systemd.network(5) `Domains=`, NetworkManager's
    /// `dns-search=~example.com;`). Formats without them declare a loss.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_domains: Vec<String>,
}

impl Dns {
    /// No server and no domain.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.search.is_empty() && self.routing_domains.is_empty()
    }

    /// Adds a domain as networkd's `Domains=` and NetworkManager's `dns-search` spell it:
    /// `~example.com` (or `~.`) is a routing-only domain, anything else a search domain;
    /// each kept once. Returns whether it was a routing-only one.
    pub fn add_domain(&mut self, word: &str) -> bool {
        let (list, name) = match word.strip_prefix('~') {
            Some(d) => (&mut self.routing_domains, d),
            None => (&mut self.search, word),
        };
        if !list.iter().any(|x| x == name) {
            list.push(name.to_owned());
        }
        word.starts_with('~')
    }

    /// The routing-only domains as networkd and NetworkManager spell them (`~example.com`,
    /// `~.`).
    pub fn routing_tilde(&self) -> impl Iterator<Item = String> + '_ {
        self.routing_domains.iter().map(|d| format!("~{d}"))
    }
}

impl std::fmt::Display for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s: Vec<String> = self.servers.iter().map(|s| s.to_string()).collect();
        write!(f, "dns {}", s.join(" "))?;
        if !self.search.is_empty() {
            write!(f, " search {}", self.search.join(" "))?;
        }
        if !self.routing_domains.is_empty() {
            write!(f, " routing-only {}", self.routing_tilde().collect::<Vec<_>>().join(" "))?;
        }
        Ok(())
    }
}

/// How a slave is found when the files do not (only) name it: netplan's `match:` with
/// `set-name:`, a NetworkManager port's `mac-address=`, networkd's `[Match] MACAddress=` or
/// `Path=`, an ifcfg `HWADDR=`, SUSE's `BONDING_SLAVEn=bus-pci-...`, cloud-init's
/// `mac_address`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Match {
    /// The NIC's permanent MAC address.
    #[serde(default, with = "opt_mac")]
    pub mac: Option<MacAddr>,
    /// A kernel name or shell pattern (`enp*`).
    #[serde(default)]
    pub name: Option<String>,
    /// The driver (`ixgbe`).
    #[serde(default)]
    pub driver: Option<String>,
    /// The NIC's place on its bus as udev's `ID_PATH` spells it (`pci-0000:06:08.1`):
    /// networkd's `[Match] Path=`, NetworkManager's `[match] path=`, SUSE's hardware
    /// descriptions (`bus-pci-0000:06:08.1`).
    #[serde(default)]
    pub path: Option<String>,
    /// The matching NIC is renamed to the slave's name (`set-name:`, ifcfg's `HWADDR=` with
    /// `DEVICE=`, cloud-init's `physical` entries); without it the slave's name in
    /// [`BondConfig::slaves`] is only the file's name for the NIC, and the running system says
    /// which interface it is.
    #[serde(default)]
    pub rename: bool,
}

impl Match {
    /// Whether the match names its interface itself (only `name`, without a wildcard), so
    /// that nothing needs resolving.
    pub fn is_name_only(&self) -> bool {
        self.mac.is_none()
            && self.driver.is_none()
            && self.path.is_none()
            && self.name.as_deref().is_some_and(|n| !crate::files::has_wildcard(n))
    }
}

impl std::fmt::Display for Match {
    /// `macaddress 52:54:00:12:34:56 driver ixgbe (renamed)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(m) = self.mac {
            parts.push(format!("macaddress {m}"));
        }
        if let Some(n) = &self.name {
            parts.push(format!("name {n}"));
        }
        if let Some(d) = &self.driver {
            parts.push(format!("driver {d}"));
        }
        if let Some(p) = &self.path {
            parts.push(format!("path {p}"));
        }
        if parts.is_empty() {
            parts.push("any interface".to_owned());
        }
        write!(f, "{}", parts.join(" "))?;
        if self.rename {
            f.write_str(" (renamed)")?;
        }
        Ok(())
    }
}

/// An Open vSwitch bond as OVS has it: its bridge and its settings as `ovs-vsctl` spells
/// them (`bond_mode=balance-slb`, `lacp=active`, `other_config:lacp-time=fast`), kept so
/// that an OVS bond written again as an OVS bond means exactly what it did. Its meaning in
/// kernel terms (an approximation) is in [`BondConfig::options`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvsBond {
    /// The bridge the bond port is on.
    pub bridge: String,
    /// The bond's settings in `ovs-vsctl` spelling, in the order written.
    #[serde(default)]
    pub settings: Vec<(String, String)>,
}

impl OvsBond {
    /// The value of setting `key` (`bond_mode`, `other_config:lacp-time`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One fact of a bond definition, for saying what a conversion could not keep
/// ([`crate::Loss`]) and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    /// A bond option.
    Option(OptionId),
    /// The per-slave options of one slave.
    SlaveOptions(String),
    /// The slaves.
    Slaves,
    /// The MTU.
    Mtu,
    /// The MAC address.
    Mac,
    /// One static address.
    Address(IpAddr, u8),
    /// One route.
    Route(Route),
    /// Name servers and search domains.
    Dns,
    /// Routing-only DNS domains ([`Dns::routing_domains`]).
    RoutingDomains,
    /// DHCPv4.
    Dhcp4,
    /// DHCPv6.
    Dhcp6,
    /// Not started at boot.
    OnBoot,
    /// How one slave is found.
    Match(String),
    /// The Open vSwitch spelling of the bond.
    Ovs,
    /// A line of the bond's definition that ubond does not model (as written).
    Extra(String),
}

impl Fact {
    /// The key under which [`Spans::facts`] keeps the fact's place.
    pub fn key(&self) -> String {
        match self {
            Fact::Option(id) => format!("option:{}", id.name()),
            Fact::SlaveOptions(s) => format!("slave-options:{s}"),
            Fact::Slaves => "slaves".to_owned(),
            Fact::Mtu => "mtu".to_owned(),
            Fact::Mac => "mac".to_owned(),
            Fact::Address(a, p) => format!("address:{a}/{p}"),
            Fact::Route(r) => format!("route:{r}"),
            Fact::Dns => "dns".to_owned(),
            Fact::RoutingDomains => "routing-domains".to_owned(),
            Fact::Dhcp4 => "dhcp4".to_owned(),
            Fact::Dhcp6 => "dhcp6".to_owned(),
            Fact::OnBoot => "on-boot".to_owned(),
            Fact::Match(s) => format!("match:{s}"),
            Fact::Ovs => "ovs".to_owned(),
            Fact::Extra(t) => format!("extra:{t}"),
        }
    }
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
    /// The slaves, in enslave order: interface names, or for a slave found by a
    /// [`Match`] without renaming, the file's name for it.
    pub slaves: Vec<String>,
    /// Static addresses with their prefix length.
    pub addresses: Vec<(IpAddr, u8)>,
    /// Routes through the bond, the default route(s) included.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// IPv4 addresses come from DHCP (`inet dhcp`, `BOOTPROTO=dhcp`, `dhcp4: true`).
    #[serde(default)]
    pub dhcp4: bool,
    /// IPv6 addresses come from DHCPv6 (`inet6 dhcp`, `DHCPV6C=yes`, `dhcp6: true`).
    #[serde(default)]
    pub dhcp6: bool,
    /// Name servers and search domains.
    #[serde(default)]
    pub dns: Dns,
    /// The bond's MTU.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// The bond's MAC address (`hwaddress`, `MACADDR`, `MACAddress=`, `macaddress:`,
    /// `cloned-mac-address`).
    #[serde(default, with = "opt_mac")]
    pub mac: Option<MacAddr>,
    /// Brought up at boot (and by `ubond up` without bond names): an `auto`,
    /// `allow-auto` or `allow-hotplug` line in interfaces, `ONBOOT` other than `no` in ifcfg,
    /// `autoconnect` other than `false` in a keyfile, no `on_boot = false` in ubond's TOML.
    /// Always true in the formats that cannot say otherwise (modprobe, networkd, netplan,
    /// OVS).
    #[serde(default = "yes")]
    pub on_boot: bool,
    /// How slaves are found, by their entry in [`BondConfig::slaves`], for those the files
    /// match rather than name.
    #[serde(default)]
    pub matches: BTreeMap<String, Match>,
    /// The bond as Open vSwitch has it, for an OVS bond.
    #[serde(default)]
    pub ovs: Option<OvsBond>,
    /// Lines of the bond's (and its slaves') definition that ubond does not model, as
    /// written (`post-up ip route add ...`, `ETHTOOL_OPTS=...`, a VLAN on the bond):
    /// every conversion says they are not carried over.
    #[serde(default)]
    pub extras: Vec<String>,
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
            routes: Vec::new(),
            dhcp4: false,
            dhcp6: false,
            dns: Dns::default(),
            mtu: None,
            mac: None,
            on_boot: true,
            matches: BTreeMap::new(),
            ovs: None,
            extras: Vec::new(),
            spans: Spans::default(),
        }
    }

    /// The gateways of the default routes (IPv4 first, as written).
    pub fn gateways(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.routes.iter().filter(|r| r.is_default()).filter_map(|r| r.via)
    }

    /// The first default route's gateway of the family (`v4`), for formats with one
    /// `gateway` per family.
    pub fn gateway(&self, v4: bool) -> Option<IpAddr> {
        self.routes.iter().find(|r| r.is_plain_default() && r.is_ipv4() == v4).and_then(|r| r.via)
    }

    /// Whether the bond takes an address from DHCP (v4 or v6).
    pub fn dhcp(&self) -> bool {
        self.dhcp4 || self.dhcp6
    }

    /// Records where `fact` was written.
    pub fn note(&mut self, fact: &Fact, at: Span) {
        self.spans.facts.entry(fact.key()).or_insert(at);
    }

    /// Where `fact` was written (for an option: where it was set), else where the bond was
    /// declared.
    pub fn fact_span(&self, fact: &Fact) -> Option<&Span> {
        let own = match fact {
            Fact::Option(id) => self.spans.options.get(id.name()),
            Fact::SlaveOptions(s) => self
                .spans
                .facts
                .get(&fact.key())
                .or_else(|| self.spans.slaves.get(s))
                .or_else(|| self.spans.options.get("queue_id")),
            Fact::Slaves => self.spans.slaves.values().next(),
            Fact::OnBoot => self.spans.not_on_boot.as_ref().map(|(s, _)| s),
            Fact::RoutingDomains => {
                self.spans.facts.get(&fact.key()).or_else(|| self.spans.facts.get("dns"))
            }
            Fact::Match(s) => {
                self.spans.facts.get(&fact.key()).or_else(|| self.spans.slaves.get(s))
            }
            _ => self.spans.facts.get(&fact.key()),
        };
        own.or(self.spans.bond.as_ref())
    }

    /// Adds a line the model does not hold (kept once), with its place.
    pub fn extra(&mut self, text: impl Into<String>, at: Span) {
        let text = text.into();
        if !self.extras.contains(&text) {
            self.note(&Fact::Extra(text.clone()), at);
            self.extras.push(text);
        }
    }

    /// Makes `fact` what it is in `other` (tests compare two bonds but for the facts a
    /// conversion said it could not keep).
    pub fn adopt(&mut self, other: &BondConfig, fact: &Fact) {
        match fact {
            Fact::Option(id) => {
                crate::settings::copy_option(&mut self.options, &other.options, *id)
            }
            Fact::SlaveOptions(s) => {
                match other.options.slave_options.get(s) {
                    Some(o) => self.options.slave_options.insert(s.clone(), *o),
                    None => self.options.slave_options.remove(s),
                };
            }
            Fact::Slaves => {
                self.slaves = other.slaves.clone();
                self.matches = other.matches.clone();
            }
            Fact::Mtu => self.mtu = other.mtu,
            Fact::Mac => self.mac = other.mac,
            Fact::Address(a, p) => {
                self.addresses.retain(|x| *x != (*a, *p));
                if other.addresses.contains(&(*a, *p)) {
                    self.addresses = other.addresses.clone();
                }
            }
            Fact::Route(r) => {
                self.routes.retain(|x| x != r);
                // Whatever the other made of it (none, or a changed route).
                let extra: Vec<Route> =
                    other.routes.iter().filter(|x| !self.routes.contains(x)).cloned().collect();
                self.routes.extend(extra);
                let order = |x: &Route| other.routes.iter().position(|o| o == x);
                self.routes.sort_by_key(order);
            }
            Fact::Dns => self.dns = other.dns.clone(),
            Fact::RoutingDomains => self.dns.routing_domains = other.dns.routing_domains.clone(),
            Fact::Dhcp4 => self.dhcp4 = other.dhcp4,
            Fact::Dhcp6 => self.dhcp6 = other.dhcp6,
            Fact::OnBoot => self.on_boot = other.on_boot,
            Fact::Match(s) => {
                match other.matches.get(s) {
                    Some(m) => self.matches.insert(s.clone(), m.clone()),
                    None => self.matches.remove(s),
                };
            }
            Fact::Ovs => self.ovs = other.ovs.clone(),
            Fact::Extra(t) => self.extras.retain(|x| x != t),
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
    pub(crate) fn slave_options_lines(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.options.slave_options.iter().map(|(s, so)| {
            (
                s.clone(),
                format!(
                    "{s}: queue_id={} prio={} actor_port_prio={}",
                    so.queue_id, so.prio, so.actor_port_prio
                ),
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

    /// A copy without source spans, in a canonical order where order means nothing: IPv4
    /// addresses before IPv6 ones (each family in its own order: the first address of a
    /// subnet is its primary), routes sorted (a routing table is a set), no delay counted in
    /// MII intervals without the MII monitor.
    pub fn without_spans(&self) -> BondConfig {
        let mut c = BondConfig { spans: Spans::default(), ..self.clone() };
        c.addresses.sort_by_key(|(a, _)| a.is_ipv6());
        c.routes.sort();
        // The delays count MII intervals: without the MII monitor there is none.
        if c.options.miimon == 0 {
            c.options.updelay = 0;
            c.options.downdelay = 0;
            c.options.peer_notif_delay = 0;
        }
        c
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
    /// Interfaces defined like a bond but that nothing in their own files marks as one (an
    /// `ifcfg-bond0` without `TYPE`, `BONDING_OPTS` or slaves naming it): a bond when
    /// modprobe.d makes a bonding device of that name (`alias bond0 bonding`), as initscripts
    /// then treat it ([`crate::system::merge`] takes them so).
    pub unmarked: Vec<BondConfig>,
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
            raw: value.clone(),
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

/// `Option<MacAddr>` as an optional string (`"52:54:00:12:34:56"`).
mod opt_mac {
    use serde::{Deserialize, Deserializer, Serializer};
    use ubond_wire::MacAddr;

    pub fn serialize<S: Serializer>(m: &Option<MacAddr>, s: S) -> Result<S::Ok, S::Error> {
        match m {
            Some(m) => s.serialize_some(&m.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MacAddr>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        v.map(|t| t.parse::<MacAddr>().map_err(serde::de::Error::custom)).transpose()
    }
}
