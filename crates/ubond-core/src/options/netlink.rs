//! `ip link add|set BOND type bond ...`: a bond's attributes in one rtnetlink request
//! (`IFLA_BOND_*`), with the kernel's `bond_changelink` rules.
//!
//! Each attribute is applied by the same `__bond_opt_set` as a sysfs write, so [`changelink`]
//! turns a request into the sysfs writes that have the same effect, and the daemon applies
//! those with [`BondOptions::set`] semantics. What netlink adds on top of sysfs is all here:
//!
//! * **A fixed order, whatever the order on the command line**: `mode`, `active_slave`,
//!   `miimon`, `updelay`, `downdelay`, `peer_notif_delay`, `use_carrier`, `arp_interval`,
//!   `arp_ip_target`, `ns_ip6_target`, `arp_validate`, ... (`bond_changelink`, [`ORDER`]). So
//!   `updelay 200 miimon 100` works, where sysfs needs `miimon` first.
//! * **No module-parameter rules**: `arp_interval 100 ns_ip6_target 2001:db8::254` makes an
//!   NS-monitored bond (`modprobe bonding arp_interval=100` without `arp_ip_target` resets the
//!   interval to 0).
//! * **Two checks against the request itself**: a non-zero `arp_interval` or `arp_validate`
//!   together with a non-zero `miimon` *in the same request* is refused ("ARP monitoring
//!   cannot be used with MII monitoring"), after the attributes before it were applied.
//! * **Target lists replace**: `arp_ip_target A,B` clears the list, then adds A and B; an empty
//!   list clears it.
//! * An attribute given twice counts once, with its last value (`nla_parse`).
//!
//! The request is not atomic in the kernel either: on a refusal, the attributes before the
//! refused one stay applied (`ip link add` then deletes the new device).
//!
//! [`parse_words`] reads the same request written as `OPTION=VALUE` words (`ubond add`).
//!
//! [`extack_message`] gives the text the kernel attaches to each kind of refusal, which `ip`
//! prints as `Error: TEXT.`.

use std::net::{Ipv4Addr, Ipv6Addr};

use ubond_wire::MacAddr;

use super::module::{tokens, unquote};
use super::{BondOptions, ModuleOptions, ModuleOptionsError, OptionError, OptionId, SetContext};

/// The order in which `bond_changelink` applies the attributes (then ubond's extensions).
pub const ORDER: [OptionId; 41] = [
    OptionId::Mode,
    OptionId::ActiveSlave,
    OptionId::Miimon,
    OptionId::Updelay,
    OptionId::Downdelay,
    OptionId::PeerNotifDelay,
    OptionId::UseCarrier,
    OptionId::ArpInterval,
    OptionId::ArpIpTarget,
    OptionId::NsIp6Target,
    OptionId::ArpValidate,
    OptionId::ArpAllTargets,
    OptionId::Primary,
    OptionId::PrimaryReselect,
    OptionId::FailOverMac,
    OptionId::XmitHashPolicy,
    OptionId::ResendIgmp,
    OptionId::NumGratArp,
    OptionId::AllSlavesActive,
    OptionId::MinLinks,
    OptionId::LpInterval,
    OptionId::PacketsPerSlave,
    OptionId::LacpActive,
    OptionId::LacpRate,
    OptionId::AdSelect,
    OptionId::AdActorSysPrio,
    OptionId::AdUserPortKey,
    OptionId::AdActorSystem,
    OptionId::TlbDynamicLb,
    OptionId::ArpMissedMax,
    OptionId::CoupledControl,
    OptionId::BroadcastNeighbor,
    OptionId::LacpStrict,
    OptionId::LacpFallback,
    OptionId::AdUnknownSpeed,
    OptionId::Bfd,
    OptionId::BfdMinTx,
    OptionId::BfdMinRx,
    OptionId::BfdMultiplier,
    OptionId::BfdPeer,
    OptionId::TcpDupDiscard,
];

/// The value of one `IFLA_BOND_*` attribute, as iproute2 encodes the words it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// A number: an integer option's value, or a word's index in the option's table
    /// (`802.3ad` is 4, `fast` is 1, `on` is 1).
    Num(u64),
    /// An interface, which iproute2 sends as its index and the kernel turns back into a name
    /// (`active_slave`, `primary`); `None` is index 0 (`clear_active_slave`).
    Iface(Option<String>),
    /// `arp_ip_target`: the whole list (empty: clear it).
    Ipv4(Vec<Ipv4Addr>),
    /// `ns_ip6_target`: the whole list (empty: clear it).
    Ipv6(Vec<Ipv6Addr>),
    /// `ad_actor_system`.
    Mac(MacAddr),
    /// A ubond extension's value, in its sysfs form (`ad_unknown_speed refuse`).
    Text(String),
}

/// One attribute of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondAttr {
    /// The option it sets (`num_grat_arp` for `IFLA_BOND_NUM_PEER_NOTIF`).
    pub id: OptionId,
    /// Its value.
    pub value: AttrValue,
}

/// A sysfs write: `echo VALUE > /sys/class/net/BOND/bonding/OPTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsWrite {
    /// The option (sysfs file) name.
    pub option: &'static str,
    /// What to write.
    pub value: String,
}

/// A refusal that comes from `bond_changelink` itself, not from an option's own checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The errno the request fails with.
    pub errno: i32,
    /// The kernel's extended-ACK text.
    pub message: &'static str,
}

/// What a request does: these writes in order, then (if any) this refusal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changelink {
    /// The sysfs writes with the same effect, in the kernel's order. Apply them one by one and
    /// stop at the first refused one.
    pub writes: Vec<SysfsWrite>,
    /// `bond_changelink` refuses the request after the writes above.
    pub refusal: Option<Refusal>,
}

const EINVAL: i32 = 22;

/// Plans the request `attrs` against a bond whose options are `current` (for the target
/// lists it replaces). See the module documentation for the rules.
pub fn changelink(attrs: &[BondAttr], current: &BondOptions) -> Changelink {
    let mut out = Changelink::default();
    let last = |id: OptionId| attrs.iter().rev().find(|a| a.id == id).map(|a| &a.value);
    // `miimon` as given in this request (0 when absent), as the kernel's local variable.
    let miimon = match last(OptionId::Miimon) {
        Some(AttrValue::Num(n)) => *n,
        _ => 0,
    };
    for id in ORDER {
        let Some(value) = last(id) else { continue };
        let option = id.name();
        let write = |value: String| SysfsWrite { option, value };
        match value {
            AttrValue::Num(n) => {
                let clash = match id {
                    OptionId::ArpInterval => {
                        Some("ARP monitoring cannot be used with MII monitoring")
                    }
                    OptionId::ArpValidate => {
                        Some("ARP validating cannot be used with MII monitoring")
                    }
                    _ => None,
                };
                if let Some(message) = clash.filter(|_| *n != 0 && miimon != 0) {
                    out.refusal = Some(Refusal { errno: EINVAL, message });
                    return out;
                }
                out.writes.push(write(n.to_string()));
            }
            AttrValue::Iface(name) => out.writes.push(write(name.clone().unwrap_or_default())),
            AttrValue::Mac(mac) => out.writes.push(write(mac.to_string())),
            AttrValue::Text(t) => out.writes.push(write(t.clone())),
            AttrValue::Ipv4(list) => {
                let old = current.arp_ip_target.iter().map(|t| write(format!("-{t}")));
                out.writes.extend(old);
                out.writes.extend(list.iter().map(|t| write(format!("+{t}"))));
            }
            AttrValue::Ipv6(list) => {
                let old = current.ns_ip6_target.iter().map(|t| write(format!("-{t}")));
                out.writes.extend(old);
                out.writes.extend(list.iter().map(|t| write(format!("+{t}"))));
            }
        }
    }
    out
}

/// A new bond's options from `OPTION=VALUE` words (`mode=active-backup arp_interval=100
/// ns_ip6_target=2001:db8::254`), as `ip link add BOND type bond` with the same attributes makes
/// it: the kernel's defaults, then each option with sysfs semantics in [`ORDER`], a word given
/// twice counting once with its last value, target lists (`A,B`) as the whole list, and
/// `arp_interval` or `arp_validate` refused next to a non-zero `miimon` of the same request.
/// No module-parameter rule applies (an `arp_interval` without `arp_ip_target` is kept).
pub fn parse_words(s: &str) -> Result<ModuleOptions, ModuleOptionsError> {
    let mut words: Vec<(OptionId, usize, &str, String)> = Vec::new();
    for (offset, raw) in tokens(s) {
        let tok = unquote(raw);
        let err = |error| ModuleOptionsError { token: raw.to_owned(), offset, error };
        let (name, value) = tok.split_once('=').unwrap_or((tok, ""));
        let norm = name.replace('-', "_");
        let id = match OptionId::from_name(&norm) {
            Some(OptionId::NumUnsolNa) => OptionId::NumGratArp,
            Some(id) if ORDER.contains(&id) => id,
            Some(_) | None => {
                return Err(err(OptionError::UnknownOption {
                    name: name.to_owned(),
                    suggestion: super::parse::did_you_mean(&norm, ORDER.iter().map(|o| o.name())),
                }))
            }
        };
        if !tok.contains('=') {
            return Err(err(OptionError::InvalidValue {
                option: id.name(),
                value: String::new(),
                allowed: format!("{}=<value>", id.name()),
            }));
        }
        words.retain(|w| w.0 != id);
        words.push((id, offset, raw, unquote(value).to_owned()));
    }
    words.sort_by_key(|w| ORDER.iter().position(|o| *o == w.0));
    let ctx = SetContext::new();
    let mut o = BondOptions::new();
    let mut warnings = Vec::new();
    let mut miimon = 0;
    for (id, offset, raw, value) in words {
        let err = |error| ModuleOptionsError { token: raw.to_owned(), offset, error };
        let name = id.name();
        let mut next = o.clone();
        match id {
            OptionId::ArpIpTarget | OptionId::NsIp6Target => {
                let old: Vec<String> = match id {
                    OptionId::ArpIpTarget => {
                        o.arp_ip_target.iter().map(|t| t.to_string()).collect()
                    }
                    _ => o.ns_ip6_target.iter().map(|t| t.to_string()).collect(),
                };
                for t in old {
                    next.set(name, &format!("-{t}"), &ctx).map_err(err)?;
                }
                for t in value.split(',').filter(|t| !t.is_empty()) {
                    let t = t.strip_prefix('+').unwrap_or(t);
                    warnings.extend(next.set(name, &format!("+{t}"), &ctx).map_err(err)?);
                }
            }
            _ => warnings.extend(next.set(name, &value, &ctx).map_err(err)?),
        }
        let clash = match id {
            OptionId::Miimon => {
                miimon = next.miimon;
                None
            }
            OptionId::ArpInterval if next.arp_interval != 0 => {
                Some("ARP monitoring cannot be used with MII monitoring")
            }
            OptionId::ArpValidate if next.arp_validate != super::ArpValidate::None => {
                Some("ARP validating cannot be used with MII monitoring")
            }
            _ => None,
        };
        if let Some(message) = clash.filter(|_| miimon != 0) {
            return Err(err(OptionError::InvalidValue {
                option: name,
                value,
                allowed: format!("0 while miimon is set in the same request ({message})"),
            }));
        }
        o = next;
    }
    Ok(ModuleOptions { options: o, warnings })
}

/// The text the kernel attaches to a refused bond option (`bond_opt_error_interpret`) for
/// errno `errno`, which `ip` prints as `Error: TEXT.`; `None` where the kernel attaches none
/// (`ip` then prints `RTNETLINK answers: ` and the errno's description).
pub fn extack_message(errno: i32) -> Option<&'static str> {
    match errno {
        22 => Some("invalid option value"),         // EINVAL
        13 => Some("option not supported in mode"), // EACCES
        39 => Some("unable to set option because the bond device has slaves"), // ENOTEMPTY
        16 => Some("unable to set option because the bond is up"), // EBUSY
        19 => Some("interface does not exist"),     // ENODEV
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(id: OptionId, n: u64) -> BondAttr {
        BondAttr { id, value: AttrValue::Num(n) }
    }

    fn writes(c: &Changelink) -> Vec<String> {
        c.writes.iter().map(|w| format!("{}={}", w.option, w.value)).collect()
    }

    /// The order is the kernel's, not the command line's: `updelay` before `miimon` works.
    #[test]
    fn kernel_order_whatever_the_words_order() {
        let attrs = [
            num(OptionId::LacpRate, 1),
            num(OptionId::Updelay, 200),
            num(OptionId::Miimon, 100),
            num(OptionId::Mode, 4),
            num(OptionId::XmitHashPolicy, 1),
        ];
        let c = changelink(&attrs, &BondOptions::default());
        assert_eq!(
            writes(&c),
            ["mode=4", "miimon=100", "updelay=200", "xmit_hash_policy=1", "lacp_rate=1"]
        );
        assert_eq!(c.refusal, None);
        // And the writes are accepted in that order by a fresh bond (down, no slaves).
        let mut o = BondOptions::default();
        for w in &c.writes {
            o.set(w.option, &w.value, &super::super::SetContext::new()).unwrap();
        }
        assert_eq!(o.updelay_ms(), 200);
        assert_eq!(o.lacp_rate, super::super::LacpRate::Fast);
    }

    /// The NS-monitored bond in one step: no module-parameter reset of arp_interval.
    #[test]
    fn arp_interval_with_ns_targets_only() {
        let t: Ipv6Addr = "2001:db8::254".parse().unwrap();
        let attrs = [
            BondAttr { id: OptionId::NsIp6Target, value: AttrValue::Ipv6(vec![t]) },
            num(OptionId::ArpInterval, 100),
        ];
        let c = changelink(&attrs, &BondOptions::default());
        assert_eq!(writes(&c), ["arp_interval=100", "ns_ip6_target=+2001:db8::254"]);
        let mut o = BondOptions::default();
        for w in &c.writes {
            o.set(w.option, &w.value, &super::super::SetContext::new()).unwrap();
        }
        assert_eq!((o.arp_interval, o.ns_ip6_target.clone()), (100, vec![t]));
    }

    /// `arp_interval` (or `arp_validate`) with `miimon` in the same request: refused after
    /// the attributes before it were applied, with the kernel's text.
    #[test]
    fn arp_with_miimon_in_the_same_request() {
        let attrs = [num(OptionId::ArpInterval, 100), num(OptionId::Miimon, 100)];
        let c = changelink(&attrs, &BondOptions::default());
        assert_eq!(writes(&c), ["miimon=100"]);
        let r = c.refusal.unwrap();
        assert_eq!((r.errno, r.message), (22, "ARP monitoring cannot be used with MII monitoring"));
        let attrs = [num(OptionId::ArpValidate, 1), num(OptionId::Miimon, 50)];
        let c = changelink(&attrs, &BondOptions::default());
        assert_eq!(c.refusal.unwrap().message, "ARP validating cannot be used with MII monitoring");
        // `miimon 0` in the request is no clash, and neither is a miimon already set.
        let attrs = [num(OptionId::ArpInterval, 100), num(OptionId::Miimon, 0)];
        assert_eq!(changelink(&attrs, &BondOptions::default()).refusal, None);
        let o = BondOptions { miimon: 100, ..BondOptions::default() };
        assert_eq!(changelink(&[num(OptionId::ArpInterval, 100)], &o).refusal, None);
    }

    /// A target list replaces the bond's; an empty one clears it.
    #[test]
    fn target_lists_replace() {
        let a: Ipv4Addr = "192.0.2.1".parse().unwrap();
        let b: Ipv4Addr = "192.0.2.2".parse().unwrap();
        let current = BondOptions { arp_ip_target: vec![a], ..BondOptions::default() };
        let attrs = [BondAttr { id: OptionId::ArpIpTarget, value: AttrValue::Ipv4(vec![b, a]) }];
        let c = changelink(&attrs, &current);
        assert_eq!(
            writes(&c),
            ["arp_ip_target=-192.0.2.1", "arp_ip_target=+192.0.2.2", "arp_ip_target=+192.0.2.1"]
        );
        let attrs = [BondAttr { id: OptionId::ArpIpTarget, value: AttrValue::Ipv4(vec![]) }];
        assert_eq!(writes(&changelink(&attrs, &current)), ["arp_ip_target=-192.0.2.1"]);
    }

    /// Twice the same attribute: the last value; interfaces by name, index 0 clears.
    #[test]
    fn last_value_and_interfaces() {
        let attrs = [
            num(OptionId::Miimon, 100),
            BondAttr { id: OptionId::ActiveSlave, value: AttrValue::Iface(None) },
            num(OptionId::Miimon, 200),
            BondAttr { id: OptionId::Primary, value: AttrValue::Iface(Some("eth1".into())) },
        ];
        assert_eq!(
            writes(&changelink(&attrs, &BondOptions::default())),
            ["active_slave=", "miimon=200", "primary=eth1"]
        );
    }

    #[test]
    fn extack_texts_by_errno() {
        assert_eq!(extack_message(22), Some("invalid option value"));
        assert_eq!(extack_message(16), Some("unable to set option because the bond is up"));
        assert_eq!(extack_message(1), None);
    }

    #[test]
    fn words_follow_the_netlink_rules() {
        // An NS-monitored bond in one step (module parameters would reset arp_interval to 0).
        let o = parse_words("mode=active-backup arp_interval=100 ns_ip6_target=2001:db8::254")
            .map(|m| m.options)
            .unwrap_or_default();
        assert_eq!((o.arp_interval, o.miimon), (100, 0));
        assert_eq!(o.ns_ip6_target.len(), 1);
        // Any order; the last of two counts.
        let o =
            parse_words("updelay=200 miimon=50 miimon=100").map(|m| m.options).unwrap_or_default();
        assert_eq!((o.miimon, o.updelay_ms()), (100, 200));
        let o = parse_words("arp_ip_target=192.0.2.1,192.0.2.2 arp_interval=100 mode=1")
            .map(|m| m.options)
            .unwrap_or_default();
        assert_eq!(o.arp_ip_target.len(), 2);
        // ARP monitoring next to miimon in the same request is refused.
        let e = parse_words("miimon=100 arp_interval=100 arp_ip_target=192.0.2.1");
        assert!(e.is_err(), "{e:?}");
        // Options of the wrong mode are refused as the kernel refuses them, not ignored.
        assert!(parse_words("mode=active-backup lacp_rate=fast").is_err());
        assert!(parse_words("mode=802.3ad lacp_rate=fast").is_ok());
        assert!(parse_words("nosuch=1").is_err());
        assert!(parse_words("miimon").is_err());
    }
}
