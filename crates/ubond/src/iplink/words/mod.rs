//! The words after `ip link`, read as iproute2 reads them (`ip/iplink.c` `iplink_parse`,
//! `ip/iplink_bond.c` `bond_parse_opt`, `ip/iplink_bond_slave.c`, `ip/link_veth.c`, and the
//! filters of `ip/ipaddress.c`): the same keywords (with iproute2's prefix matching where it
//! uses it), the same number syntax (`0x` hex, leading-`0` octal), and the same errors with the
//! same exit status. Nothing here touches the system: interface names are looked up through
//! [`Devices`].
//!
//! This module reads `ip link` itself (`add`, `set`, `del`, `show` and their common words);
//! the words after `type bond` and `type bond_slave` are in `bond`, and iproute2's readers of
//! numbers and addresses in `numbers`.

use ubond_core::options::netlink::BondAttr;

mod bond;
mod numbers;

use bond::{parse_bond, parse_bond_slave};
use numbers::{get_s32, get_unsigned};
pub use numbers::{ll_addr_a2n, matches};

/// How `ip` fails: what it prints on standard error, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpError {
    /// The whole text for standard error (with its newlines).
    pub message: String,
    /// The exit status (`exit(-1)` is 255; a command that returns -1 gives 1, a refusal by
    /// the kernel 2).
    pub status: u8,
}

impl IpError {
    /// Any message and status.
    pub fn new(message: impl Into<String>, status: u8) -> IpError {
        IpError { message: message.into(), status }
    }

    /// `invarg`: `Error: argument "ARG" is wrong: MSG`, exit 255.
    pub fn invarg(msg: &str, arg: &str) -> IpError {
        IpError::new(format!("Error: argument \"{arg}\" is wrong: {msg}\n"), 255)
    }

    /// `incomplete_command`.
    fn incomplete() -> IpError {
        IpError::new("Command line is not complete. Try option \"help\"\n", 255)
    }

    /// `duparg`.
    fn duparg(key: &str, arg: &str) -> IpError {
        IpError::new(format!("Error: duplicate \"{key}\": \"{arg}\" is the second value.\n"), 255)
    }

    /// `duparg2`.
    fn duparg2(key: &str, arg: &str) -> IpError {
        IpError::new(
            format!("Error: either \"{key}\" is duplicate, or \"{arg}\" is garbage.\n"),
            255,
        )
    }

    /// `nodev`: the command returns -1.
    pub fn nodev(dev: &str) -> IpError {
        IpError::new(format!("Cannot find device \"{dev}\"\n"), 1)
    }

    /// A word `ip` knows that ubond does not carry out.
    fn unsupported(word: &str) -> IpError {
        IpError::new(
            format!("ubond: \"{word}\" is not supported by \"ubond link\"; use ip link for it\n"),
            1,
        )
    }
}

/// Looks interface names up (`ll_name_to_index`).
pub trait Devices {
    /// The index of interface `name`, if it exists.
    fn index(&self, name: &str) -> Option<u32>;
}

/// A per-slave option of `type bond_slave`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveAttr {
    /// `queue_id`, `prio` or `actor_port_prio`.
    pub option: &'static str,
    /// Its value.
    pub value: i64,
}

/// What follows `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `type bond [OPTIONS]`.
    Bond(Vec<BondAttr>),
    /// `type bond_slave [OPTIONS]`.
    BondSlave(Vec<SlaveAttr>),
    /// `type veth [peer ...]`.
    Veth(Option<Box<Request>>),
    /// Any other kind, without options (`dummy`, `bridge`, ...).
    Other(String),
}

/// `IFLA_*` settings of one request, in the order `ip` reads them (the last one of a kind wins,
/// as in the kernel).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The device (`dev NAME`, or the first word that is no keyword).
    pub dev: Option<String>,
    /// `name NAME`: a new name (or, for `add`, the name).
    pub name: Option<String>,
    /// `ifi_change`: the `IFF_*` flags to change.
    pub change: u32,
    /// `ifi_flags`: their new values.
    pub flags: u32,
    /// `address`.
    pub address: Option<Vec<u8>>,
    /// `broadcast` / `brd`.
    pub broadcast: Option<Vec<u8>>,
    /// `txqueuelen` / `qlen` / `txqlen`.
    pub txqlen: Option<u32>,
    /// `mtu`.
    pub mtu: Option<u32>,
    /// `master DEV` (its name) / `nomaster` (`Some(None)`).
    pub master: Option<Option<String>>,
    /// `carrier on|off`.
    pub carrier: Option<bool>,
    /// `alias NAME`.
    pub alias: Option<String>,
    /// `group GROUP` (its word, resolved by the caller).
    pub group: Option<String>,
    /// `mode default|dormant`.
    pub linkmode: Option<u8>,
    /// `state STATE`.
    pub operstate: Option<u8>,
    /// `numtxqueues`.
    pub numtxqueues: Option<u32>,
    /// `numrxqueues`.
    pub numrxqueues: Option<u32>,
    /// `protodown on|off`.
    pub protodown: Option<bool>,
    /// `addrgenmode eui64|none|stable_secret|random`.
    pub addrgenmode: Option<u8>,
    /// `gso_max_size`, `gso_max_segs`, `gro_max_size`, `gso_ipv4_max_size`,
    /// `gro_ipv4_max_size`, in that order.
    pub sizes: [Option<u32>; 5],
    /// `netns NAME` (`veth ... peer ... netns NAME` only).
    pub netns: Option<String>,
    /// `type KIND ...`.
    pub kind: Option<Kind>,
}

/// One `ip link` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show` / `list` / `lst` (or nothing).
    Show(ShowArgs),
    /// `add`.
    Add(Request),
    /// `set` / `change`.
    Set(Request),
    /// `delete` / `del`.
    Delete(Request),
}

/// The arguments of `ip link show`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowArgs {
    /// `dev NAME` / `NAME`.
    pub dev: Option<String>,
    /// `up`.
    pub up: bool,
    /// `down`.
    pub down: bool,
    /// `master DEV` (its index).
    pub master: Option<u32>,
    /// `nomaster`.
    pub nomaster: bool,
    /// `type KIND` (`KIND_slave` sets [`ShowArgs::slave_kind`]).
    pub kind: Option<String>,
    /// The `KIND` of `type KIND_slave`.
    pub slave_kind: Option<String>,
    /// `group GROUP`.
    pub group: Option<String>,
}

/// Words, with iproute2's `NEXT_ARG`.
struct Args<'a> {
    words: &'a [String],
    at: usize,
}

impl<'a> Args<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.at).map(String::as_str)
    }

    fn next_arg(&mut self) -> Result<&'a str, IpError> {
        self.at += 1;
        self.peek().ok_or_else(IpError::incomplete)
    }

    fn advance(&mut self) {
        self.at += 1;
    }

    fn rest(&self) -> &'a [String] {
        &self.words[self.at.min(self.words.len())..]
    }
}

/// The usage text of `ubond link help` (the words this command knows).
pub const USAGE: &str = "\
Usage: ubond link add [ name ] NAME [ mtu MTU ] [ txqueuelen PACKETS ] [ up ]
                      type { bond [ BOND_OPTIONS ] | veth [ peer [ name ] PEER ] | dummy | ... }
       ubond link { delete | del } { DEVICE | dev DEVICE } [ type TYPE ]
       ubond link { set | change } { DEVICE | dev DEVICE } [ { up | down } ]
                      [ master DEVICE | nomaster ] [ mtu MTU ] [ address LLADDR ]
                      [ txqueuelen PACKETS ] [ alias NAME ] [ group GROUP ] ...
                      [ type bond BOND_OPTIONS | type bond_slave SLAVE_OPTIONS ]
       ubond [ -d ] [ -j [ -p ] ] [ -o | -br ] link [ show [ DEVICE | dev DEVICE ] ]
                      [ up | down ] [ master DEVICE | nomaster ] [ type TYPE ] [ group GROUP ]
The words and their values are iproute2's (\"ubond link add type bond help\" lists the bond's);
ubond bonds and their slaves are shown and changed through the ubond daemon, every other
interface through the kernel.
";

/// Reads the words after `ip link`.
pub fn parse(words: &[String], devices: &dyn Devices) -> Result<Command, IpError> {
    let Some(first) = words.first() else { return Ok(Command::Show(ShowArgs::default())) };
    let rest = &words[1..];
    if matches(first, "add") {
        Ok(Command::Add(parse_request(rest, devices, true)?))
    } else if matches(first, "set") || matches(first, "change") {
        Ok(Command::Set(parse_request(rest, devices, false)?))
    } else if matches(first, "replace") {
        Err(IpError::unsupported("ip link replace"))
    } else if matches(first, "delete") {
        Ok(Command::Delete(parse_request(rest, devices, false)?))
    } else if matches(first, "show") || matches(first, "lst") || matches(first, "list") {
        parse_show(rest, devices).map(Command::Show)
    } else if matches(first, "help") {
        Err(IpError::new(USAGE, 255))
    } else if matches(first, "xstats") || matches(first, "afstats") || matches(first, "property") {
        Err(IpError::unsupported(&format!("ip link {first}")))
    } else {
        Err(IpError::new(format!("Command \"{first}\" is unknown, try \"ip link help\".\n"), 255))
    }
}

fn on_off(word: &str, value: &str) -> Result<bool, IpError> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(IpError::new(
            format!("Error: argument of \"{word}\" must be \"on\" or \"off\", not \"{value}\"\n"),
            1,
        )),
    }
}

/// `parse_on_off`: its own wording, and the command returns -EINVAL (exit 1).
fn parse_on_off(msg: &str, value: &str) -> Result<bool, IpError> {
    match value {
        "off" => Ok(false),
        "on" => Ok(true),
        _ => Err(IpError::new(
            format!(
                "Error: argument of \"{msg}\" must be one of \"off\", \"on\", not \"{value}\"\n"
            ),
            1,
        )),
    }
}

const IFF_UP: u32 = 0x1;
const IFF_NOTRAILERS: u32 = 0x20;
const IFF_NOARP: u32 = 0x80;
const IFF_PROMISC: u32 = 0x100;
const IFF_ALLMULTI: u32 = 0x200;
const IFF_MULTICAST: u32 = 0x1000;
const IFF_DYNAMIC: u32 = 0x8000;

/// `iplink_parse`, then the kind's `parse_opt` (`iplink_modify`).
fn parse_request(
    words: &[String],
    devices: &dyn Devices,
    create: bool,
) -> Result<Request, IpError> {
    let (mut r, kind, rest) = iplink_parse(words, devices, create, false)?;
    match kind {
        None if create => {
            return Err(IpError::new("Not enough information: \"type\" argument is required\n", 1))
        }
        None => {}
        Some("bond") => r.kind = Some(Kind::Bond(parse_bond(rest, devices)?)),
        Some("bond_slave") => r.kind = Some(Kind::BondSlave(parse_bond_slave(rest)?)),
        Some("veth") => r.kind = Some(Kind::Veth(parse_veth(rest, devices)?)),
        Some(k) if rest.is_empty() => r.kind = Some(Kind::Other(k.to_string())),
        Some(k) if matches!(k, "dummy" | "ifb" | "nlmon") || !KINDS.contains(&k) => {
            if matches(&rest[0], "help") {
                return Err(IpError::new(USAGE, 255));
            }
            return Err(IpError::new(
                format!(
                    "Garbage instead of arguments \"{} ...\". Try \"ip link help\".\n",
                    rest[0]
                ),
                1,
            ));
        }
        Some(k) => return Err(IpError::unsupported(&format!("type {k} {}", rest.join(" ")))),
    }
    Ok(r)
}

/// `iplink_parse`: the generic words, up to `type KIND`; returns the request, the kind and
/// the words after it. `peer` is a veth peer's words (which may say `netns NAME`).
fn iplink_parse<'a>(
    words: &'a [String],
    devices: &dyn Devices,
    create: bool,
    peer: bool,
) -> Result<(Request, Option<&'a str>, &'a [String]), IpError> {
    let mut r = Request::default();
    let mut a = Args { words, at: 0 };
    let mut name_given = false;
    let mut kind: Option<&str> = None;
    while let Some(w) = a.peek() {
        if w == "up" || w == "down" {
            r.change |= IFF_UP;
            if w == "up" {
                r.flags |= IFF_UP;
            } else {
                r.flags &= !IFF_UP;
            }
        } else if w == "name" {
            let v = a.next_arg()?;
            if name_given {
                return Err(IpError::duparg("name", v));
            }
            if !ubond_core::options::valid_interface_name(v) {
                return Err(IpError::invarg("\"name\" not a valid ifname", v));
            }
            name_given = true;
            r.name = Some(v.to_string());
            if r.dev.is_none() {
                r.dev = Some(v.to_string());
            }
        } else if w == "netns" && peer {
            let v = a.next_arg()?;
            if r.netns.is_some() {
                return Err(IpError::duparg("netns", v));
            }
            r.netns = Some(v.to_string());
        } else if w == "index" || w == "vf" || w == "inet" || w == "vrf" || w == "netns" {
            return Err(IpError::unsupported(w));
        } else if matches(w, "link") {
            return Err(IpError::unsupported("link"));
        } else if matches(w, "address") {
            r.address = Some(ll_addr_a2n(a.next_arg()?)?);
        } else if matches(w, "broadcast") || w == "brd" {
            r.broadcast = Some(ll_addr_a2n(a.next_arg()?)?);
        } else if matches(w, "txqueuelen") || w == "qlen" || matches(w, "txqlen") {
            let v = a.next_arg()?;
            if r.txqlen.is_some() {
                return Err(IpError::duparg("txqueuelen", v));
            }
            let n =
                get_s32(v).ok_or_else(|| IpError::invarg("Invalid \"txqueuelen\" value\n", v))?;
            r.txqlen = Some(n as u32);
        } else if w == "mtu" {
            let v = a.next_arg()?;
            if r.mtu.is_some() {
                return Err(IpError::duparg("mtu", v));
            }
            let n = get_s32(v).ok_or_else(|| IpError::invarg("Invalid \"mtu\" value\n", v))?;
            r.mtu = Some(n as u32);
        } else if matches!(w, "xdpgeneric" | "xdpdrv" | "xdpoffload" | "xdp") {
            return Err(IpError::unsupported(w));
        } else if let Some((bit, invert)) = match w {
            "multicast" => Some((IFF_MULTICAST, false)),
            "allmulticast" => Some((IFF_ALLMULTI, false)),
            "promisc" => Some((IFF_PROMISC, false)),
            "trailers" => Some((IFF_NOTRAILERS, true)),
            "arp" => Some((IFF_NOARP, true)),
            _ => None,
        } {
            let on = on_off(w, a.next_arg()?)?;
            r.change |= bit;
            if on != invert {
                r.flags |= bit;
            } else {
                r.flags &= !bit;
            }
        } else if w == "carrier" {
            r.carrier = Some(parse_on_off("carrier", a.next_arg()?)?);
        } else if matches(w, "master") {
            let v = a.next_arg()?;
            if devices.index(v).is_none() {
                return Err(IpError::invarg("Device does not exist\n", v));
            }
            r.master = Some(Some(v.to_string()));
        } else if matches(w, "nomaster") {
            r.master = Some(None);
        } else if matches(w, "dynamic") {
            let on = on_off("dynamic", a.next_arg()?)?;
            r.change |= IFF_DYNAMIC;
            if on {
                r.flags |= IFF_DYNAMIC;
            } else {
                r.flags &= !IFF_DYNAMIC;
            }
        } else if matches(w, "type") {
            kind = Some(a.next_arg()?);
            a.advance();
            break;
        } else if matches(w, "alias") {
            let v = a.next_arg()?;
            if v.len() >= 256 {
                return Err(IpError::invarg("alias too long\n", v));
            }
            r.alias = Some(v.to_string());
        } else if w == "group" {
            let v = a.next_arg()?;
            if r.group.is_some() {
                return Err(IpError::duparg("group", v));
            }
            r.group = Some(v.to_string());
        } else if w == "mode" {
            let v = a.next_arg()?;
            r.linkmode = Some(match v.to_ascii_lowercase().as_str() {
                "default" => 0,
                "dormant" => 1,
                _ => return Err(IpError::invarg("Invalid link mode\n", v)),
            });
        } else if w == "state" {
            let v = a.next_arg()?;
            const STATES: [&str; 7] =
                ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];
            let i = STATES
                .iter()
                .position(|s| s.eq_ignore_ascii_case(v))
                .ok_or_else(|| IpError::invarg("Invalid operstate\n", v))?;
            r.operstate = u8::try_from(i).ok();
        } else if matches(w, "numtxqueues") || matches(w, "numrxqueues") {
            let tx = matches(w, "numtxqueues");
            let key = if tx { "numtxqueues" } else { "numrxqueues" };
            let v = a.next_arg()?;
            let slot = if tx { &mut r.numtxqueues } else { &mut r.numrxqueues };
            if slot.is_some() {
                return Err(IpError::duparg(key, v));
            }
            let n = get_s32(v)
                .ok_or_else(|| IpError::invarg(&format!("Invalid \"{key}\" value\n"), v))?;
            *slot = Some(n as u32);
        } else if matches(w, "addrgenmode") {
            let v = a.next_arg()?;
            r.addrgenmode = Some(match v {
                "eui64" => 0,
                "none" => 1,
                "stable_secret" => 2,
                "random" => 3,
                _ => return Err(IpError::invarg("Invalid address generation mode\n", v)),
            });
        } else if matches(w, "link-netns") || matches(w, "link-netnsid") {
            return Err(IpError::unsupported(w));
        } else if w == "protodown" {
            r.protodown = Some(parse_on_off("protodown", a.next_arg()?)?);
        } else if w == "protodown_reason" || w == "parentdev" {
            return Err(IpError::unsupported(w));
        } else if let Some(slot) = [
            "gso_max_size",
            "gso_max_segs",
            "gro_max_size",
            "gso_ipv4_max_size",
            "gro_ipv4_max_size",
        ]
        .iter()
        .position(|k| *k == w)
        {
            let v = a.next_arg()?;
            let n = get_unsigned(v, u64::from(u32::MAX))
                .filter(|n| slot != 1 || *n <= 65535)
                .ok_or_else(|| IpError::invarg(&format!("Invalid \"{w}\" value\n"), v))?;
            r.sizes[slot] = u32::try_from(n).ok();
        } else {
            if matches(w, "help") {
                return Err(IpError::new(USAGE, 255));
            }
            let w = if w == "dev" { a.next_arg()? } else { w };
            if r.dev.is_some() && r.dev != r.name {
                return Err(IpError::duparg2("dev", w));
            }
            if w.is_empty() || w.len() >= 16 || w.contains(['/']) || w.contains(char::is_whitespace)
            {
                return Err(IpError::invarg("\"dev\" not a valid ifname", w));
            }
            r.dev = Some(w.to_string());
        }
        a.advance();
    }
    if create {
        if let (Some(n), Some(d)) = (&r.name, &r.dev) {
            if n != d {
                return Err(IpError::new(
                    "both \"name\" and \"dev\" cannot be used when creating devices.\n",
                    255,
                ));
            }
        }
    } else {
        let Some(dev) = &r.dev else {
            return Err(IpError::new(
                "Not enough information: \"dev\" argument is required.\n",
                255,
            ));
        };
        if devices.index(dev).is_none() {
            return Err(IpError::nodev(dev));
        }
        if r.name.as_deref() == Some(dev.as_str()) {
            r.name = None;
        }
    }
    Ok((r, kind, a.rest()))
}

/// The kinds iproute2 knows (`iplink_types_usage`).
const KINDS: [&str; 43] = [
    "amt",
    "bareudp",
    "bond",
    "bond_slave",
    "bridge",
    "bridge_slave",
    "dsa",
    "dummy",
    "erspan",
    "geneve",
    "gre",
    "gretap",
    "gtp",
    "hsr",
    "ifb",
    "ip6erspan",
    "ip6gre",
    "ip6gretap",
    "ip6tnl",
    "ipip",
    "ipoib",
    "ipvlan",
    "ipvtap",
    "macsec",
    "macvlan",
    "macvtap",
    "netdevsim",
    "netkit",
    "nlmon",
    "pfcp",
    "rmnet",
    "sit",
    "team",
    "team_slave",
    "vcan",
    "veth",
    "vlan",
    "vrf",
    "vti",
    "vxcan",
    "vxlan",
    "wwan",
    "xfrm",
];

/// `veth_parse_opt`: `peer` and the peer's own `iplink_parse` words (no `type`).
fn parse_veth(words: &[String], devices: &dyn Devices) -> Result<Option<Box<Request>>, IpError> {
    let Some(first) = words.first() else { return Ok(None) };
    if first != "peer" {
        return Err(IpError::new(
            "Usage: ip link <options> type veth [peer <options>]\nTo get <options> type 'ip link help'\n",
            1,
        ));
    }
    let (peer, kind, rest) = iplink_parse(&words[1..], devices, true, true)?;
    if kind.is_some() {
        let at = words.len() - rest.len() - 1;
        return Err(IpError::duparg("type", &words[at]));
    }
    Ok(Some(Box::new(peer)))
}

/// The filters of `ip link show` (`ipaddr_list_flush_or_save`).
fn parse_show(words: &[String], devices: &dyn Devices) -> Result<ShowArgs, IpError> {
    const ADDR_FLAGS: [&str; 15] = [
        "secondary",
        "temporary",
        "nodad",
        "optimistic",
        "dadfailed",
        "home",
        "deprecated",
        "tentative",
        "permanent",
        "mngtmpaddr",
        "noprefixroute",
        "autojoin",
        "stable-privacy",
        "dynamic",
        "primary",
    ];
    let mut s = ShowArgs::default();
    let mut a = Args { words, at: 0 };
    while let Some(w) = a.peek() {
        if matches!(w, "to" | "scope" | "label") {
            a.next_arg()?;
        } else if w == "up" {
            s.up = true;
        } else if w == "down" {
            s.down = true;
        } else if ADDR_FLAGS.contains(&w.strip_prefix('-').unwrap_or(w)) {
        } else if w == "group" {
            s.group = Some(a.next_arg()?.to_string());
        } else if w == "master" {
            let v = a.next_arg()?;
            s.master = Some(
                devices.index(v).ok_or_else(|| IpError::invarg("Device does not exist\n", v))?,
            );
        } else if w == "vrf" {
            return Err(IpError::unsupported("vrf"));
        } else if w == "nomaster" {
            s.nomaster = true;
        } else if w == "type" {
            let v = a.next_arg()?;
            match v.strip_suffix("_slave") {
                Some(k) => s.slave_kind = Some(k.to_string()),
                None => s.kind = Some(v.to_string()),
            }
        } else if w == "proto" {
            let v = a.next_arg()?;
            get_unsigned(v, 255)
                .ok_or_else(|| IpError::invarg("\"proto\" value is invalid\n", v))?;
        } else if w == "novf" {
        } else {
            let dev = if w == "dev" {
                a.next_arg()?
            } else if matches(w, "help") {
                return Err(IpError::new(USAGE, 255));
            } else {
                w
            };
            if s.dev.is_some() {
                return Err(IpError::duparg2("dev", dev));
            }
            s.dev = Some(dev.to_string());
        }
        a.advance();
    }
    if let Some(dev) = &s.dev {
        if devices.index(dev).is_none() {
            return Err(IpError::new(format!("Device \"{dev}\" does not exist.\n"), 1));
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
