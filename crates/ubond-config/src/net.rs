//! Address, route and name helpers the parsers share.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::Route;

/// The longest prefix of `ip`'s family.
pub(crate) fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `ADDRESS/PREFIX`.
pub(crate) fn prefixed(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = s.trim().split_once('/')?;
    let ip: IpAddr = a.parse().ok()?;
    let p: u8 = p.parse().ok()?;
    (p <= max_prefix(ip)).then_some((ip, p))
}

/// `255.255.255.0` or `24`: the prefix length, and whether it is an IPv4 netmask.
pub(crate) fn netmask_prefix(v: &str) -> Option<(u8, bool)> {
    if let Ok(n) = v.parse::<u8>() {
        return (n <= 128).then_some((n, n <= 32));
    }
    if let Ok(m) = v.parse::<Ipv6Addr>() {
        let bits = u128::from(m);
        let p = bits.leading_ones();
        return (bits.checked_shl(p).unwrap_or(0) == 0).then_some((u8::try_from(p).ok()?, false));
    }
    let m: Ipv4Addr = v.parse().ok()?;
    let bits = u32::from(m);
    let p = bits.leading_ones();
    (bits.checked_shl(p).unwrap_or(0) == 0).then_some((u8::try_from(p).ok()?, true))
}

/// The destination of a route: `default`, `A/P`, or a host address.
pub(crate) fn destination(s: &str, v6_hint: bool) -> Option<(IpAddr, u8)> {
    match s {
        "default" | "0.0.0.0/0" if !v6_hint => Some((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        "default" | "::/0" => Some((IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)),
        "0.0.0.0/0" => Some((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        _ => prefixed(s).or_else(|| {
            let ip: IpAddr = s.parse().ok()?;
            Some((ip, max_prefix(ip)))
        }),
    }
}

/// An `ip route add` command's route (`[ip [-4|-6]] route add|replace DEST [via GW] [dev
/// DEV] [metric N] [table N] [proto static]`), when it is one and names no other device
/// than `dev`. Words it does not know make it `None` (kept as written elsewhere).
pub(crate) fn ip_route(command: &str, dev: &str) -> Option<Route> {
    // `... || true` (cloud-init writes it): the command is the same.
    let command = command.trim().strip_suffix("|| true").unwrap_or(command).trim();
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.first().is_some_and(|w| w.rsplit('/').next() == Some("route")) {
        return net_tools_route(&words, dev);
    }
    let mut i = 0;
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_owned();
    if words.get(i).map(|w| base(w)) != Some("ip".to_owned()) {
        return None;
    }
    i += 1;
    let mut v6 = false;
    while let Some(w) = words.get(i).filter(|w| w.starts_with('-')) {
        match *w {
            "-4" => {}
            "-6" => v6 = true,
            "-family" | "-f" => {
                v6 = words.get(i + 1) == Some(&"inet6");
                i += 1;
            }
            _ => return None,
        }
        i += 1;
    }
    if !matches!(words.get(i), Some(&("route" | "r" | "ro" | "rou"))) {
        return None;
    }
    if !matches!(words.get(i + 1), Some(&("add" | "a" | "replace" | "append"))) {
        return None;
    }
    i += 2;
    let dest = destination(words.get(i)?, v6)?;
    i += 1;
    let mut r = Route { to: dest, via: None, metric: None, table: None };
    while i < words.len() {
        let arg = words.get(i + 1).copied();
        match words[i] {
            "via" => r.via = Some(arg?.parse().ok()?),
            "dev" => {
                if arg? != dev {
                    return None;
                }
            }
            "metric" | "preference" => r.metric = Some(arg?.parse().ok()?),
            // A table by name (`table mgmt`, from /etc/iproute2/rt_tables) is not a
            // number ubond can write elsewhere: the command is kept as written.
            "table" => r.table = Some(table_number(arg?)?),
            "proto" if arg == Some("static") || arg == Some("boot") => {}
            _ => return None,
        }
        i += 2;
    }
    if r.via.is_some_and(|v| v.is_ipv4() != r.to.0.is_ipv4()) {
        return None;
    }
    if r.table == Some(254) {
        r.table = None;
    }
    Some(r)
}

/// net-tools' `route add [-net|-host] DEST[/P] [netmask M] [gw G] [metric N] [dev D]` and
/// `route add -A inet6 DEST/P gw G`.
fn net_tools_route(words: &[&str], dev: &str) -> Option<Route> {
    if !matches!(words.get(1), Some(&"add")) {
        return None;
    }
    let mut i = 2;
    let mut v6 = false;
    let mut dest: Option<&str> = None;
    let mut mask: Option<&str> = None;
    let mut via = None;
    let mut metric = None;
    while i < words.len() {
        let arg = words.get(i + 1).copied();
        match words[i] {
            "-A" => {
                v6 = arg? == "inet6";
                i += 2;
            }
            "-net" | "-host" => i += 1,
            "netmask" => {
                mask = Some(arg?);
                i += 2;
            }
            "gw" => {
                via = Some(arg?.parse::<IpAddr>().ok()?);
                i += 2;
            }
            "metric" => {
                metric = Some(arg?.parse().ok()?);
                i += 2;
            }
            "dev" => {
                if arg? != dev {
                    return None;
                }
                i += 2;
            }
            w if dest.is_none() && !w.starts_with('-') => {
                dest = Some(w);
                i += 1;
            }
            _ => return None,
        }
    }
    let mut to = destination(dest?, v6)?;
    if let Some(m) = mask {
        to.1 = netmask_prefix(m)?.0;
    }
    if via.is_some_and(|v: IpAddr| v.is_ipv4() != to.0.is_ipv4()) {
        return None;
    }
    Some(Route { to, via, metric, table: None })
}

/// A routing table number (`main` is 254: no table of its own).
pub(crate) fn table_number(s: &str) -> Option<u32> {
    match s {
        "main" => Some(254),
        _ => s.parse().ok(),
    }
}

/// ifupdown2's glob port expressions (`swp1-4`, `swp[1-4].100`, `swp[1-2]s[0-1]`): the names
/// they expand to, or `None` when `expr` is not one of them (ifupdown2 then keeps it as is).
/// At most 4096 names.
pub(crate) fn ifupdown2_glob(expr: &str) -> Option<Vec<String>> {
    fn num(s: &str) -> Option<(u32, &str)> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        Some((s[..end].parse().ok()?, &s[end..]))
    }
    fn ident_end(s: &str) -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(s.len())
    }
    // `[a-b]` at the start of `s`: (a, b, rest).
    fn bracket(s: &str) -> Option<(u32, u32, &str)> {
        let s = s.strip_prefix('[')?;
        let (a, s) = num(s)?;
        let s = s.strip_prefix('-')?;
        let (b, s) = num(s)?;
        Some((a, b, s.strip_prefix(']')?))
    }
    const MAX: usize = 4096;
    let mut out = Vec::new();
    if let Some(open) = expr.find('[') {
        let prefix = &expr[..open];
        if prefix.is_empty() || ident_end(prefix) != prefix.len() {
            return None;
        }
        let (a, b, rest) = bracket(&expr[open..])?;
        if let Some(open2) = rest.find('[') {
            let mid = &rest[..open2];
            if let Some((c, d, suffix)) = bracket(&rest[open2..]).filter(|_| !mid.is_empty()) {
                for i in a..=b {
                    for j in c..=d {
                        out.push(format!("{prefix}{i}{mid}{j}{suffix}"));
                        if out.len() > MAX {
                            return None;
                        }
                    }
                }
                return Some(out);
            }
        }
        for i in a..=b {
            out.push(format!("{prefix}{i}{rest}"));
            if out.len() > MAX {
                return None;
            }
        }
        return Some(out);
    }
    // `swp1-4.100`: a name ending in a letter, a number, `-`, a number.
    let dash = expr.find('-')?;
    let head = &expr[..dash];
    let digits_at = head.rfind(|c: char| !c.is_ascii_digit())? + 1;
    if digits_at == head.len() || !head[..digits_at].ends_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let a: u32 = head[digits_at..].parse().ok()?;
    let (b, suffix) = num(&expr[dash + 1..])?;
    for i in a..=b {
        out.push(format!("{}{i}{suffix}", &head[..digits_at]));
        if out.len() > MAX {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_ifupdown2_expands_them() {
        assert_eq!(
            ifupdown2_glob("swp1-3"),
            Some(vec!["swp1".into(), "swp2".into(), "swp3".into()])
        );
        assert_eq!(
            ifupdown2_glob("swp[1-2].100"),
            Some(vec!["swp1.100".into(), "swp2.100".into()])
        );
        assert_eq!(
            ifupdown2_glob("swp[1-2]s[0-1]"),
            Some(vec!["swp1s0".into(), "swp1s1".into(), "swp2s0".into(), "swp2s1".into()])
        );
        assert_eq!(ifupdown2_glob("eth0"), None);
    }

    #[test]
    fn ip_route_commands() {
        let r =
            ip_route("ip route add 198.51.100.0/24 via 192.0.2.254 dev bond0 metric 5", "bond0");
        assert_eq!(
            r.map(|r| r.to_string()).as_deref(),
            Some("198.51.100.0/24 via 192.0.2.254 metric 5")
        );
        assert_eq!(
            ip_route("ip route add 198.51.100.0/24 via 192.0.2.254 dev eth9", "bond0"),
            None
        );
        assert_eq!(ip_route("ip rule add from 192.0.2.1 table 5", "bond0"), None);
        // A table by name is not the main table.
        assert_eq!(
            ip_route("ip route add default via 192.0.2.1 dev bond0 table mgmt", "bond0"),
            None
        );
        assert_eq!(
            ip_route("ip route add default via 192.0.2.1 table main", "bond0")
                .map(|r| r.to_string())
                .as_deref(),
            Some("default via 192.0.2.1")
        );
    }
}
