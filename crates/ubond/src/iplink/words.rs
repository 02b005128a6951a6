//! The words after `ip link`, read as iproute2 reads them (`ip/iplink.c` `iplink_parse`,
//! `ip/iplink_bond.c` `bond_parse_opt`, `ip/iplink_bond_slave.c`, `ip/link_veth.c`, and the
//! filters of `ip/ipaddress.c`): the same keywords (with iproute2's prefix matching where it
//! uses it), the same number syntax (`0x` hex, leading-`0` octal), and the same errors with the
//! same exit status. Nothing here touches the system: interface names are looked up through
//! [`Devices`].

use std::net::{Ipv4Addr, Ipv6Addr};

use ubond_core::options::netlink::{AttrValue, BondAttr};
use ubond_core::options::OptionId;
use ubond_wire::MacAddr;

use super::show::{
    AD_SELECT_TBL, ARP_ALL_TARGETS_TBL, ARP_VALIDATE_TBL, FAIL_OVER_MAC_TBL, LACP_ACTIVE_TBL,
    LACP_RATE_TBL, MODE_TBL, PRIMARY_RESELECT_TBL, XMIT_HASH_POLICY_TBL,
};

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

/// `matches(prefix, keyword)`: `word` is a non-empty prefix of `keyword`.
pub fn matches(word: &str, keyword: &str) -> bool {
    !word.is_empty() && keyword.starts_with(word)
}

/// `strtoul`/`strtol` with base 0 over the whole string: leading white space, a sign, `0x`
/// hex or leading-`0` octal; `None` if anything is left over or nothing was read. A minus sign
/// negates in 64 bits, as C does.
fn strto(s: &str) -> Option<(bool, u64)> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.starts_with(|c: char| c.is_ascii_hexdigit()) {
            (16, h)
        } else {
            (10, &t[..1])
        }
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    Some((neg, v))
}

/// `get_u32`/`get_u16`/`get_u8` (base 0): at most `max`.
fn get_unsigned(s: &str, max: u64) -> Option<u64> {
    let (neg, v) = strto(s)?;
    let v = if neg { v.wrapping_neg() } else { v };
    (v <= max).then_some(v)
}

/// `get_s32` / `get_integer` (base 0): within `i32`.
fn get_s32(s: &str) -> Option<i32> {
    let (neg, v) = strto(s)?;
    let v = i64::try_from(v).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// `get_index`: a table word, or its index as a decimal number.
fn get_index(tbl: &[&str], word: &str) -> Option<usize> {
    let n: Option<i64> = word.parse().ok().filter(|_| {
        let t = word.trim_start();
        !t.is_empty() && t.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit())
    });
    if let Some(i) = n.and_then(|n| usize::try_from(n).ok()).filter(|i| *i < tbl.len()) {
        return Some(i);
    }
    tbl.iter().position(|t| *t == word)
}

/// `get_addr_ipv4`: one to four numbers (base 0, each at most 255) separated by dots.
fn get_addr_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut rest = s;
    for (i, byte) in out.iter_mut().enumerate() {
        let end = rest.find('.').unwrap_or(rest.len());
        let (neg, n) = strto(&rest[..end]).filter(|_| end > 0)?;
        if neg && n != 0 {
            return None;
        }
        *byte = u8::try_from(n).ok()?;
        if end == rest.len() {
            break;
        }
        if i == 3 {
            return None;
        }
        rest = &rest[end + 1..];
    }
    Some(Ipv4Addr::from(out))
}

/// `get_addr_1(AF_INET)`: `default`, `any` and `all` are 0.0.0.0.
fn get_addr32(s: &str) -> Option<Ipv4Addr> {
    match s {
        "default" | "any" | "all" => Some(Ipv4Addr::UNSPECIFIED),
        s if s.contains(':') => None,
        s => get_addr_ipv4(s),
    }
}

/// `get_addr_1(AF_INET6)`.
fn get_addr6(s: &str) -> Option<Ipv6Addr> {
    match s {
        "default" | "any" | "all" => Some(Ipv6Addr::UNSPECIFIED),
        s if s.contains(':') => s.parse().ok(),
        _ => None,
    }
}

/// `ll_addr_a2n`: `aa:bb:...` (each part `%x`, at most 255), or a dotted IPv4 address.
pub fn ll_addr_a2n(s: &str) -> Result<Vec<u8>, IpError> {
    // iproute2 cuts the word at each ':' as it goes: an error names the part it was reading.
    let bad = |part: &str| IpError::new(format!("\"{part}\" is invalid lladdr.\n"), 1);
    if s.contains('.') {
        return get_addr_ipv4(s).map(|a| a.octets().to_vec()).ok_or_else(|| bad(s));
    }
    let mut out = Vec::new();
    for part in s.split(':').take(32) {
        let bad = || bad(part);
        // sscanf("%x"): white space, a sign, an optional 0x, then hex digits (the rest ignored).
        let t = part.trim_start();
        let t = t.strip_prefix('+').unwrap_or(t);
        let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        let digits: String = t.chars().take_while(char::is_ascii_hexdigit).collect();
        let v = u64::from_str_radix(&digits, 16).map_err(|_| bad())?;
        out.push(u8::try_from(v).map_err(|_| bad())?);
    }
    Ok(out)
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

const BOND_USAGE: &str = "\
Usage: ... bond [ mode BONDMODE ] [ active_slave SLAVE_DEV ]
                [ clear_active_slave ] [ miimon MIIMON ]
                [ updelay UPDELAY ] [ downdelay DOWNDELAY ]
                [ peer_notify_delay DELAY ]
                [ use_carrier USE_CARRIER ]
                [ arp_interval ARP_INTERVAL ]
                [ arp_validate ARP_VALIDATE ]
                [ arp_all_targets ARP_ALL_TARGETS ]
                [ arp_ip_target [ ARP_IP_TARGET, ... ] ]
                [ ns_ip6_target [ NS_IP6_TARGET, ... ] ]
                [ primary SLAVE_DEV ]
                [ primary_reselect PRIMARY_RESELECT ]
                [ fail_over_mac FAIL_OVER_MAC ]
                [ xmit_hash_policy XMIT_HASH_POLICY ]
                [ resend_igmp RESEND_IGMP ]
                [ num_grat_arp|num_unsol_na NUM_GRAT_ARP|NUM_UNSOL_NA ]
                [ all_slaves_active ALL_SLAVES_ACTIVE ]
                [ min_links MIN_LINKS ]
                [ lp_interval LP_INTERVAL ]
                [ packets_per_slave PACKETS_PER_SLAVE ]
                [ tlb_dynamic_lb TLB_DYNAMIC_LB ]
                [ lacp_rate LACP_RATE ]
                [ lacp_active LACP_ACTIVE]
                [ coupled_control COUPLED_CONTROL ]
                [ broadcast_neighbor BROADCAST_NEIGHBOR ]
                [ ad_select AD_SELECT ]
                [ ad_user_port_key PORTKEY ]
                [ ad_actor_sys_prio SYSPRIO ]
                [ ad_actor_system LLADDR ]
                [ arp_missed_max MISSED_MAX ]

BONDMODE := balance-rr|active-backup|balance-xor|broadcast|802.3ad|balance-tlb|balance-alb
ARP_VALIDATE := none|active|backup|all|filter|filter_active|filter_backup
ARP_ALL_TARGETS := any|all
PRIMARY_RESELECT := always|better|failure
FAIL_OVER_MAC := none|active|follow
XMIT_HASH_POLICY := layer2|layer2+3|layer3+4|encap2+3|encap3+4|vlan+srcmac
LACP_ACTIVE := off|on
LACP_RATE := slow|fast
AD_SELECT := stable|bandwidth|count
COUPLED_CONTROL := off|on
BROADCAST_NEIGHBOR := off|on
";

/// ubond's extensions, accepted after iproute2's words (which `ip` does not know).
const BOND_EXTENSIONS: &str = "\
ubond also reads: [ lacp_strict { off | on } ] [ lacp_fallback { off | on } ]
                  [ ad_unknown_speed { refuse | MBPS } ]
";

/// `bond_parse_opt`.
fn parse_bond(words: &[String], devices: &dyn Devices) -> Result<Vec<BondAttr>, IpError> {
    let mut out = Vec::new();
    let mut a = Args { words, at: 0 };
    let mut push = |id: OptionId, value: AttrValue| out.push(BondAttr { id, value });
    while let Some(w) = a.peek() {
        let table = |a: &mut Args<'_>, tbl: &[&str], what: &str| -> Result<u64, IpError> {
            let v = a.next_arg()?;
            get_index(tbl, v)
                .map(|i| i as u64)
                .ok_or_else(|| IpError::invarg(&format!("invalid {what}"), v))
        };
        let unsigned = |a: &mut Args<'_>, max: u64, what: &str| -> Result<u64, IpError> {
            let v = a.next_arg()?;
            get_unsigned(v, max).ok_or_else(|| IpError::invarg(&format!("invalid {what}"), v))
        };
        const U32: u64 = u32::MAX as u64;
        const U16: u64 = u16::MAX as u64;
        const U8: u64 = u8::MAX as u64;
        if matches(w, "mode") {
            push(OptionId::Mode, AttrValue::Num(table(&mut a, &MODE_TBL, "mode")?));
        } else if matches(w, "active_slave") {
            let v = a.next_arg()?;
            if devices.index(v).is_none() {
                return Err(IpError::nodev(v));
            }
            push(OptionId::ActiveSlave, AttrValue::Iface(Some(v.to_string())));
        } else if matches(w, "clear_active_slave") {
            push(OptionId::ActiveSlave, AttrValue::Iface(None));
        } else if matches(w, "miimon") {
            push(OptionId::Miimon, AttrValue::Num(unsigned(&mut a, U32, "miimon")?));
        } else if matches(w, "updelay") {
            push(OptionId::Updelay, AttrValue::Num(unsigned(&mut a, U32, "updelay")?));
        } else if matches(w, "downdelay") {
            push(OptionId::Downdelay, AttrValue::Num(unsigned(&mut a, U32, "downdelay")?));
        } else if matches(w, "peer_notify_delay") {
            let n = unsigned(&mut a, U32, "peer_notify_delay")?;
            push(OptionId::PeerNotifDelay, AttrValue::Num(n));
        } else if matches(w, "use_carrier") {
            push(OptionId::UseCarrier, AttrValue::Num(unsigned(&mut a, U8, "use_carrier")?));
        } else if matches(w, "arp_interval") {
            push(OptionId::ArpInterval, AttrValue::Num(unsigned(&mut a, U32, "arp_interval")?));
        } else if matches(w, "arp_ip_target") {
            let mut list = Vec::new();
            if a.at + 1 < words.len() {
                let v = a.next_arg()?;
                for t in v.split(',').filter(|t| !t.is_empty()).take(16) {
                    list.push(get_addr32(t).ok_or_else(|| {
                        IpError::new(
                            format!("Error: an IP address is expected rather than \"{t}\"\n"),
                            1,
                        )
                    })?);
                }
            }
            push(OptionId::ArpIpTarget, AttrValue::Ipv4(list));
        } else if w == "ns_ip6_target" {
            let mut list = Vec::new();
            if a.at + 1 < words.len() {
                let v = a.next_arg()?;
                for t in v.split(',').filter(|t| !t.is_empty()).take(16) {
                    list.push(get_addr6(t).ok_or_else(|| {
                        IpError::new(
                            format!("Error: inet6 address is expected rather than \"{t}\".\n"),
                            1,
                        )
                    })?);
                }
            }
            push(OptionId::NsIp6Target, AttrValue::Ipv6(list));
        } else if matches(w, "arp_validate") {
            let n = table(&mut a, &ARP_VALIDATE_TBL, "arp_validate")?;
            push(OptionId::ArpValidate, AttrValue::Num(n));
        } else if matches(w, "arp_all_targets") {
            let n = table(&mut a, &ARP_ALL_TARGETS_TBL, "arp_all_targets")?;
            push(OptionId::ArpAllTargets, AttrValue::Num(n));
        } else if w == "arp_missed_max" {
            push(OptionId::ArpMissedMax, AttrValue::Num(unsigned(&mut a, U8, "arp_missed_max")?));
        } else if matches(w, "primary") {
            let v = a.next_arg()?;
            if devices.index(v).is_none() {
                return Err(IpError::nodev(v));
            }
            push(OptionId::Primary, AttrValue::Iface(Some(v.to_string())));
        } else if matches(w, "primary_reselect") {
            let n = table(&mut a, &PRIMARY_RESELECT_TBL, "primary_reselect")?;
            push(OptionId::PrimaryReselect, AttrValue::Num(n));
        } else if matches(w, "fail_over_mac") {
            let n = table(&mut a, &FAIL_OVER_MAC_TBL, "fail_over_mac")?;
            push(OptionId::FailOverMac, AttrValue::Num(n));
        } else if matches(w, "xmit_hash_policy") {
            let n = table(&mut a, &XMIT_HASH_POLICY_TBL, "xmit_hash_policy")?;
            push(OptionId::XmitHashPolicy, AttrValue::Num(n));
        } else if matches(w, "resend_igmp") {
            push(OptionId::ResendIgmp, AttrValue::Num(unsigned(&mut a, U32, "resend_igmp")?));
        } else if matches(w, "num_grat_arp") || matches(w, "num_unsol_na") {
            let n = unsigned(&mut a, U8, "num_grat_arp|num_unsol_na")?;
            push(OptionId::NumGratArp, AttrValue::Num(n));
        } else if matches(w, "all_slaves_active") {
            let n = unsigned(&mut a, U8, "all_slaves_active")?;
            push(OptionId::AllSlavesActive, AttrValue::Num(n));
        } else if matches(w, "min_links") {
            push(OptionId::MinLinks, AttrValue::Num(unsigned(&mut a, U32, "min_links")?));
        } else if matches(w, "lp_interval") {
            push(OptionId::LpInterval, AttrValue::Num(unsigned(&mut a, U32, "lp_interval")?));
        } else if matches(w, "packets_per_slave") {
            let n = unsigned(&mut a, U32, "packets_per_slave")?;
            push(OptionId::PacketsPerSlave, AttrValue::Num(n));
        } else if matches(w, "lacp_rate") {
            push(OptionId::LacpRate, AttrValue::Num(table(&mut a, &LACP_RATE_TBL, "lacp_rate")?));
        } else if w == "lacp_active" {
            let n = table(&mut a, &LACP_ACTIVE_TBL, "lacp_active")?;
            push(OptionId::LacpActive, AttrValue::Num(n));
        } else if let Some(id) = match w {
            "coupled_control" => Some(OptionId::CoupledControl),
            "broadcast_neighbor" => Some(OptionId::BroadcastNeighbor),
            _ => None,
        } {
            let on = parse_on_off(w, a.next_arg()?)?;
            push(id, AttrValue::Num(u64::from(on)));
        } else if matches(w, "ad_select") {
            push(OptionId::AdSelect, AttrValue::Num(table(&mut a, &AD_SELECT_TBL, "ad_select")?));
        } else if matches(w, "ad_user_port_key") {
            let n = unsigned(&mut a, U16, "ad_user_port_key")?;
            push(OptionId::AdUserPortKey, AttrValue::Num(n));
        } else if matches(w, "ad_actor_sys_prio") {
            let n = unsigned(&mut a, U16, "ad_actor_sys_prio")?;
            push(OptionId::AdActorSysPrio, AttrValue::Num(n));
        } else if matches(w, "ad_actor_system") {
            let bytes = ll_addr_a2n(a.next_arg()?)?;
            let mac = <[u8; 6]>::try_from(bytes.as_slice()).map_err(|_| {
                // The kernel checks the length: EINVAL, without a message.
                IpError::new("RTNETLINK answers: Invalid argument\n", 2)
            })?;
            push(OptionId::AdActorSystem, AttrValue::Mac(MacAddr(mac)));
        } else if matches(w, "tlb_dynamic_lb") {
            let n = unsigned(&mut a, U8, "tlb_dynamic_lb")?;
            push(OptionId::TlbDynamicLb, AttrValue::Num(n));
        } else if let Some(id) = match w {
            "lacp_strict" => Some(OptionId::LacpStrict),
            "lacp_fallback" => Some(OptionId::LacpFallback),
            _ => None,
        } {
            let on = parse_on_off(w, a.next_arg()?)?;
            push(id, AttrValue::Num(u64::from(on)));
        } else if w == "ad_unknown_speed" {
            push(OptionId::AdUnknownSpeed, AttrValue::Text(a.next_arg()?.to_string()));
        } else if matches(w, "help") {
            return Err(IpError::new(format!("{BOND_USAGE}{BOND_EXTENSIONS}"), 1));
        } else {
            return Err(IpError::new(format!("bond: unknown command \"{w}\"?\n{BOND_USAGE}"), 1));
        }
        a.advance();
    }
    Ok(out)
}

const BOND_SLAVE_USAGE: &str = "\
Usage: ... bond_slave [ queue_id ID ] [ prio PRIORITY ]
                      [ actor_port_prio PRIORITY ]
";

/// `bond_slave_parse_opt`.
fn parse_bond_slave(words: &[String]) -> Result<Vec<SlaveAttr>, IpError> {
    let mut out = Vec::new();
    let mut a = Args { words, at: 0 };
    while let Some(w) = a.peek() {
        if matches(w, "queue_id") {
            let v = a.next_arg()?;
            let n =
                get_unsigned(v, 0xffff).ok_or_else(|| IpError::invarg("queue_id is invalid", v))?;
            out.push(SlaveAttr { option: "queue_id", value: n as i64 });
        } else if w == "prio" {
            let v = a.next_arg()?;
            let n = get_s32(v).ok_or_else(|| IpError::invarg("prio is invalid", v))?;
            out.push(SlaveAttr { option: "prio", value: i64::from(n) });
        } else if w == "actor_port_prio" {
            let v = a.next_arg()?;
            let n = get_unsigned(v, 0xffff)
                .ok_or_else(|| IpError::invarg("actor prio is invalid", v))?;
            out.push(SlaveAttr { option: "actor_port_prio", value: n as i64 });
        } else {
            let mut msg = String::new();
            if !matches(w, "help") {
                msg = format!("bond_slave: unknown option \"{w}\"?\n");
            }
            return Err(IpError::new(msg + BOND_SLAVE_USAGE, 1));
        }
        a.advance();
    }
    Ok(out)
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
mod tests {
    use super::*;

    struct Fake;
    impl Devices for Fake {
        fn index(&self, name: &str) -> Option<u32> {
            ["lo", "eth0", "eth1", "bond0"].iter().position(|n| *n == name).map(|i| i as u32 + 1)
        }
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn parse_str(s: &str) -> Result<Command, IpError> {
        parse(&w(s), &Fake)
    }

    fn bond_attrs(s: &str) -> Vec<BondAttr> {
        match parse_str(&format!("add bond9 type bond {s}")) {
            Ok(Command::Add(Request { kind: Some(Kind::Bond(a)), .. })) => a,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn err(s: &str) -> (String, u8) {
        let e = parse_str(s).err().unwrap_or_else(|| panic!("{s} should fail"));
        (e.message, e.status)
    }

    fn num(id: OptionId, n: u64) -> BondAttr {
        BondAttr { id, value: AttrValue::Num(n) }
    }

    #[test]
    fn matches_is_a_prefix_test() {
        assert!(matches("a", "add") && matches("add", "add"));
        assert!(!matches("", "add") && !matches("adds", "add"));
    }

    /// C's `strtoul` with base 0, over the whole word.
    #[test]
    fn numbers_as_iproute2_reads_them() {
        assert_eq!(get_unsigned("100", u64::from(u32::MAX)), Some(100));
        assert_eq!(get_unsigned("0x64", 1000), Some(100));
        assert_eq!(get_unsigned("010", 1000), Some(8));
        assert_eq!(get_unsigned("0", 10), Some(0));
        assert_eq!(get_unsigned("08", 100), None);
        assert_eq!(get_unsigned("12x", 100), None);
        assert_eq!(get_unsigned("", 100), None);
        assert_eq!(get_unsigned("256", 255), None);
        assert_eq!(get_unsigned("-1", u64::from(u32::MAX)), None);
        assert_eq!(get_unsigned("-0", 5), Some(0));
        assert_eq!(get_s32("-50"), Some(-50));
        assert_eq!(get_s32("2147483648"), None);
        assert_eq!(get_index(&MODE_TBL, "4"), Some(4));
        assert_eq!(get_index(&MODE_TBL, "802.3ad"), Some(4));
        assert_eq!(get_index(&MODE_TBL, "7"), None);
        assert_eq!(get_index(&MODE_TBL, "802.3AD"), None);
        assert_eq!(get_addr_ipv4("10.1"), Some(Ipv4Addr::new(10, 1, 0, 0)));
        assert_eq!(get_addr_ipv4("0x0a.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(get_addr_ipv4("1.2.3.4.5"), None);
        assert_eq!(get_addr_ipv4("1.2.3.256"), None);
        assert_eq!(ll_addr_a2n("02:00:0:a:0B:ff").ok(), Some(vec![2, 0, 0, 10, 11, 255]));
        assert_eq!(ll_addr_a2n("02:100").err().map(|e| e.status), Some(1));
    }

    /// Every bond keyword of `bond_parse_opt`, its attribute and value.
    #[test]
    fn every_bond_keyword() {
        let ip4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let ip6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let cases: Vec<(&str, BondAttr)> = vec![
            ("mode 802.3ad", num(OptionId::Mode, 4)),
            ("mode 1", num(OptionId::Mode, 1)),
            (
                "active_slave eth0",
                BondAttr {
                    id: OptionId::ActiveSlave,
                    value: AttrValue::Iface(Some("eth0".into())),
                },
            ),
            (
                "clear_active_slave",
                BondAttr { id: OptionId::ActiveSlave, value: AttrValue::Iface(None) },
            ),
            ("miimon 100", num(OptionId::Miimon, 100)),
            ("updelay 200", num(OptionId::Updelay, 200)),
            ("downdelay 0x10", num(OptionId::Downdelay, 16)),
            ("peer_notify_delay 300", num(OptionId::PeerNotifDelay, 300)),
            ("use_carrier 1", num(OptionId::UseCarrier, 1)),
            ("arp_interval 100", num(OptionId::ArpInterval, 100)),
            (
                "arp_ip_target 192.0.2.1,,192.0.2.2",
                BondAttr {
                    id: OptionId::ArpIpTarget,
                    value: AttrValue::Ipv4(vec![ip4("192.0.2.1"), ip4("192.0.2.2")]),
                },
            ),
            (
                "ns_ip6_target 2001:db8::254",
                BondAttr {
                    id: OptionId::NsIp6Target,
                    value: AttrValue::Ipv6(vec![ip6("2001:db8::254")]),
                },
            ),
            ("arp_validate filter_backup", num(OptionId::ArpValidate, 6)),
            ("arp_all_targets all", num(OptionId::ArpAllTargets, 1)),
            ("arp_missed_max 3", num(OptionId::ArpMissedMax, 3)),
            (
                "primary eth1",
                BondAttr { id: OptionId::Primary, value: AttrValue::Iface(Some("eth1".into())) },
            ),
            ("primary_reselect better", num(OptionId::PrimaryReselect, 1)),
            ("fail_over_mac follow", num(OptionId::FailOverMac, 2)),
            ("xmit_hash_policy layer3+4", num(OptionId::XmitHashPolicy, 1)),
            ("xmit_hash_policy vlan+srcmac", num(OptionId::XmitHashPolicy, 5)),
            ("resend_igmp 3", num(OptionId::ResendIgmp, 3)),
            ("num_grat_arp 5", num(OptionId::NumGratArp, 5)),
            ("num_unsol_na 6", num(OptionId::NumGratArp, 6)),
            ("all_slaves_active 1", num(OptionId::AllSlavesActive, 1)),
            ("min_links 2", num(OptionId::MinLinks, 2)),
            ("lp_interval 4", num(OptionId::LpInterval, 4)),
            ("packets_per_slave 0", num(OptionId::PacketsPerSlave, 0)),
            ("lacp_rate fast", num(OptionId::LacpRate, 1)),
            ("lacp_active off", num(OptionId::LacpActive, 0)),
            ("coupled_control off", num(OptionId::CoupledControl, 0)),
            ("broadcast_neighbor on", num(OptionId::BroadcastNeighbor, 1)),
            ("ad_select actor_port_prio", num(OptionId::AdSelect, 3)),
            ("ad_user_port_key 17", num(OptionId::AdUserPortKey, 17)),
            ("ad_actor_sys_prio 100", num(OptionId::AdActorSysPrio, 100)),
            (
                "ad_actor_system 02:00:00:00:00:01",
                BondAttr {
                    id: OptionId::AdActorSystem,
                    value: AttrValue::Mac(MacAddr([2, 0, 0, 0, 0, 1])),
                },
            ),
            ("tlb_dynamic_lb 0", num(OptionId::TlbDynamicLb, 0)),
            ("lacp_strict on", num(OptionId::LacpStrict, 1)),
            ("lacp_fallback on", num(OptionId::LacpFallback, 1)),
            (
                "ad_unknown_speed refuse",
                BondAttr { id: OptionId::AdUnknownSpeed, value: AttrValue::Text("refuse".into()) },
            ),
            // iproute2's prefixes.
            ("m balance-xor", num(OptionId::Mode, 2)),
            ("mi 50", num(OptionId::Miimon, 50)),
            ("xmit layer2+3", num(OptionId::XmitHashPolicy, 2)),
            (
                "prim eth0",
                BondAttr { id: OptionId::Primary, value: AttrValue::Iface(Some("eth0".into())) },
            ),
            ("lacp fast", num(OptionId::LacpRate, 1)),
            ("ad 2", num(OptionId::AdSelect, 2)),
        ];
        for (words, want) in cases {
            assert_eq!(bond_attrs(words), vec![want], "{words}");
        }
        // An empty target list clears (no word after it).
        assert_eq!(
            bond_attrs("arp_ip_target"),
            vec![BondAttr { id: OptionId::ArpIpTarget, value: AttrValue::Ipv4(vec![]) }]
        );
        // At most 16 targets are sent, as iproute2 does.
        let many: Vec<String> = (1..=20).map(|i| format!("192.0.2.{i}")).collect();
        match &bond_attrs(&format!("arp_ip_target {}", many.join(",")))[0].value {
            AttrValue::Ipv4(l) => assert_eq!(l.len(), 16),
            other => panic!("{other:?}"),
        }
    }

    /// iproute2's error for each kind of bad bond word, and its exit status.
    #[test]
    fn bond_word_errors() {
        let e = err("add bond9 type bond mode 9");
        assert_eq!(e, ("Error: argument \"9\" is wrong: invalid mode\n".into(), 255));
        let e = err("add bond9 type bond miimon x");
        assert_eq!(e, ("Error: argument \"x\" is wrong: invalid miimon\n".into(), 255));
        let e = err("add bond9 type bond num_grat_arp 256");
        assert_eq!(e.0, "Error: argument \"256\" is wrong: invalid num_grat_arp|num_unsol_na\n");
        let e = err("add bond9 type bond lacp_rate medium");
        assert_eq!(e.0, "Error: argument \"medium\" is wrong: invalid lacp_rate\n");
        let e = err("add bond9 type bond coupled_control yes");
        assert_eq!(
            e,
            ("Error: argument of \"coupled_control\" must be one of \"off\", \"on\", not \"yes\"\n".into(), 1)
        );
        let e = err("add bond9 type bond active_slave eth7");
        assert_eq!(e, ("Cannot find device \"eth7\"\n".into(), 1));
        let e = err("add bond9 type bond arp_ip_target 192.0.2.x");
        assert_eq!(e, ("Error: an IP address is expected rather than \"192.0.2.x\"\n".into(), 1));
        let e = err("add bond9 type bond ns_ip6_target 192.0.2.1");
        assert_eq!(e, ("Error: inet6 address is expected rather than \"192.0.2.1\".\n".into(), 1));
        let e = err("add bond9 type bond ad_actor_system zz:00");
        assert_eq!(e, ("\"zz\" is invalid lladdr.\n".into(), 1));
        let e = err("add bond9 type bond ad_actor_system 02:00");
        assert_eq!(e, ("RTNETLINK answers: Invalid argument\n".into(), 2));
        let e = err("add bond9 type bond mode");
        assert_eq!(e, ("Command line is not complete. Try option \"help\"\n".into(), 255));
        let e = err("add bond9 type bond frobnicate 1");
        assert!(e.0.starts_with(
            "bond: unknown command \"frobnicate\"?\nUsage: ... bond [ mode BONDMODE ]"
        ));
        assert_eq!(e.1, 1);
        let e = err("add bond9 type bond help");
        assert!(e.0.starts_with("Usage: ... bond") && e.1 == 1);
        // `lacp_active` and `arp_missed_max` are compared whole, not by prefix.
        assert!(err("add bond9 type bond lacp_act on")
            .0
            .starts_with("bond: unknown command \"lacp_act\"?"));
        assert!(err("add bond9 type bond arp_missed 2")
            .0
            .starts_with("bond: unknown command \"arp_missed\"?"));
    }

    #[test]
    fn bond_slave_words() {
        let r = match parse_str("set eth0 type bond_slave prio -5 queue_id 2 actor_port_prio 0x10")
        {
            Ok(Command::Set(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.dev.as_deref(), Some("eth0"));
        assert_eq!(
            r.kind,
            Some(Kind::BondSlave(vec![
                SlaveAttr { option: "prio", value: -5 },
                SlaveAttr { option: "queue_id", value: 2 },
                SlaveAttr { option: "actor_port_prio", value: 16 },
            ]))
        );
        assert_eq!(
            err("set eth0 type bond_slave prio x"),
            ("Error: argument \"x\" is wrong: prio is invalid\n".into(), 255)
        );
        assert_eq!(
            err("set eth0 type bond_slave queue_id 65536").0,
            "Error: argument \"65536\" is wrong: queue_id is invalid\n"
        );
        assert_eq!(
            err("set eth0 type bond_slave actor_port_prio -1").0,
            "Error: argument \"-1\" is wrong: actor prio is invalid\n"
        );
        let e = err("set eth0 type bond_slave weight 3");
        assert_eq!(e.0, format!("bond_slave: unknown option \"weight\"?\n{BOND_SLAVE_USAGE}"));
        assert_eq!(e.1, 1);
        assert_eq!(err("set eth0 type bond_slave help").0, BOND_SLAVE_USAGE);
    }

    #[test]
    fn generic_words() {
        let r = match parse_str("set dev eth0 down mtu 9000 address 02:00:00:00:00:09 master bond0 txqlen 500 alias up-link arp off promisc on group 7") {
            Ok(Command::Set(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.dev.as_deref(), Some("eth0"));
        assert_eq!((r.change & IFF_UP, r.flags & IFF_UP), (IFF_UP, 0));
        assert_eq!((r.change & IFF_NOARP, r.flags & IFF_NOARP), (IFF_NOARP, IFF_NOARP));
        assert_eq!((r.change & IFF_PROMISC, r.flags & IFF_PROMISC), (IFF_PROMISC, IFF_PROMISC));
        assert_eq!(r.mtu, Some(9000));
        assert_eq!(r.address, Some(vec![2, 0, 0, 0, 0, 9]));
        assert_eq!(r.master, Some(Some("bond0".to_string())));
        assert_eq!(r.txqlen, Some(500));
        assert_eq!(r.alias.as_deref(), Some("up-link"));
        assert_eq!(r.group.as_deref(), Some("7"));
        let r = match parse_str("set eth0 nomaster up") {
            Ok(Command::Set(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!((r.master, r.flags & IFF_UP), (Some(None), IFF_UP));
        // `m` is `master`: iproute2 matches by prefix.
        assert!(matches!(
            parse_str("set eth0 m bond0"),
            Ok(Command::Set(Request { master: Some(Some(_)), .. }))
        ));
        assert_eq!(
            err("set eth0 master bond7"),
            ("Error: argument \"bond7\" is wrong: Device does not exist\n\n".into(), 255)
        );
        assert_eq!(err("set eth7 up"), ("Cannot find device \"eth7\"\n".into(), 1));
        assert_eq!(err("set up").0, "Not enough information: \"dev\" argument is required.\n");
        assert_eq!(
            err("set eth0 mtu 1500 mtu 9000"),
            ("Error: duplicate \"mtu\": \"9000\" is the second value.\n".into(), 255)
        );
        assert_eq!(
            err("set eth0 eth1"),
            ("Error: either \"dev\" is duplicate, or \"eth1\" is garbage.\n".into(), 255)
        );
        assert_eq!(
            err("set eth0 arp maybe"),
            ("Error: argument of \"arp\" must be \"on\" or \"off\", not \"maybe\"\n".into(), 1)
        );
        assert_eq!(
            err("set eth0 mtu big").0,
            "Error: argument \"big\" is wrong: Invalid \"mtu\" value\n\n"
        );
        assert_eq!(
            err("add bond9"),
            ("Not enough information: \"type\" argument is required\n".into(), 1)
        );
        assert_eq!(
            err("add name x y type bond").0,
            "both \"name\" and \"dev\" cannot be used when creating devices.\n"
        );
        assert_eq!(
            err("frob"),
            ("Command \"frob\" is unknown, try \"ip link help\".\n".into(), 255)
        );
        assert_eq!(err("set eth0 netns other").1, 1);
        assert_eq!(
            err("add d0 type dummy extra"),
            ("Garbage instead of arguments \"extra ...\". Try \"ip link help\".\n".into(), 1)
        );
    }

    #[test]
    fn add_and_delete_words() {
        match parse_str("add name bond9 mtu 9000 up type bond mode 4") {
            Ok(Command::Add(r)) => {
                assert_eq!((r.dev.as_deref(), r.name.as_deref()), (Some("bond9"), Some("bond9")));
                assert_eq!((r.mtu, r.flags & IFF_UP), (Some(9000), IFF_UP));
                assert_eq!(r.kind, Some(Kind::Bond(vec![num(OptionId::Mode, 4)])));
            }
            other => panic!("{other:?}"),
        }
        match parse_str("add v0 type veth peer name v1 mtu 1400") {
            Ok(Command::Add(Request { kind: Some(Kind::Veth(Some(p))), .. })) => {
                assert_eq!((p.dev.as_deref(), p.mtu), (Some("v1"), Some(1400)));
            }
            other => panic!("{other:?}"),
        }
        for del in ["del bond0", "delete dev bond0", "d bond0 type bond"] {
            match parse_str(del) {
                Ok(Command::Delete(r)) => assert_eq!(r.dev.as_deref(), Some("bond0"), "{del}"),
                other => panic!("{del}: {other:?}"),
            }
        }
        assert_eq!(err("del bond7"), ("Cannot find device \"bond7\"\n".into(), 1));
    }

    #[test]
    fn show_words() {
        assert_eq!(parse_str(""), Ok(Command::Show(ShowArgs::default())));
        let s = match parse_str("show dev eth0 up type bond_slave master bond0 group default") {
            Ok(Command::Show(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.dev.as_deref(), Some("eth0"));
        assert!(s.up && !s.down);
        assert_eq!((s.kind, s.slave_kind.as_deref()), (None, Some("bond")));
        assert_eq!((s.master, s.group.as_deref()), (Some(4), Some("default")));
        assert!(matches!(parse_str("ls bond0"), Ok(Command::Show(ShowArgs { dev: Some(_), .. }))));
        assert!(matches!(
            parse_str("list type bond"),
            Ok(Command::Show(ShowArgs { kind: Some(_), .. }))
        ));
        assert_eq!(err("show eth9"), ("Device \"eth9\" does not exist.\n".into(), 1));
        assert_eq!(
            err("show master eth9").0,
            "Error: argument \"eth9\" is wrong: Device does not exist\n\n"
        );
        assert_eq!(
            err("show eth0 eth1").0,
            "Error: either \"dev\" is duplicate, or \"eth1\" is garbage.\n"
        );
    }
}
