//! The multicast groups a device has joined, as the kernel keeps them in `/proc/net/igmp` and
//! `/proc/net/igmp6` (the files of the process's network namespace): what a bond reports again
//! after a failover (`resend_igmp`); and its link-layer multicast list (`/proc/net/dev_mcast`,
//! `ip maddr`'s `link` lines), which a bond's slaves join for it.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use ubond_wire::MacAddr;

/// The IGMP version a link runs (`/proc/net/igmp`'s `Querier` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IgmpVersion {
    /// IGMPv1 (RFC 1112).
    V1,
    /// IGMPv2 (RFC 2236).
    V2,
    /// IGMPv3 (RFC 3376), the kernel's default.
    #[default]
    V3,
}

/// The IPv4 groups `dev` has joined, in the kernel's order, and the IGMP version its link runs.
pub fn ipv4_groups(dev: &str) -> io::Result<(IgmpVersion, Vec<Ipv4Addr>)> {
    Ok(parse_v4(&std::fs::read_to_string("/proc/net/igmp")?, dev))
}

/// The IPv6 groups `dev` has joined, in the kernel's order.
pub fn ipv6_groups(dev: &str) -> io::Result<Vec<Ipv6Addr>> {
    Ok(parse_v6(&std::fs::read_to_string("/proc/net/igmp6")?, dev))
}

/// The link-layer multicast addresses interface `ifindex` has in its filter, in the kernel's
/// order (`/proc/net/dev_mcast`).
pub fn link_groups(ifindex: u32) -> io::Result<Vec<MacAddr>> {
    Ok(parse_dev_mcast(&std::fs::read_to_string("/proc/net/dev_mcast")?, ifindex))
}

/// `/proc/net/dev_mcast` text: one line per address, `ifindex name users global_users
/// address` with the address in hexadecimal without separators.
fn parse_dev_mcast(text: &str, ifindex: u32) -> Vec<MacAddr> {
    text.lines()
        .filter_map(|line| {
            let mut w = line.split_whitespace();
            let index: u32 = w.next()?.parse().ok()?;
            let hex = w.nth(3)?;
            if index != ifindex || hex.len() != 12 {
                return None;
            }
            let mut mac = [0u8; 6];
            for (i, b) in mac.iter_mut().enumerate() {
                *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(MacAddr(mac))
        })
        .collect()
}

/// `/proc/net/igmp` text: a device line (`2\tbond0     :     2      V3`) followed by one
/// indented line per group whose first word is the group in hexadecimal, in memory order.
fn parse_v4(text: &str, dev: &str) -> (IgmpVersion, Vec<Ipv4Addr>) {
    let mut version = IgmpVersion::V3;
    let mut groups = Vec::new();
    let mut ours = false;
    for line in text.lines().skip(1) {
        if line.starts_with(char::is_whitespace) {
            if ours {
                let group =
                    line.split_whitespace().next().and_then(|h| u32::from_str_radix(h, 16).ok());
                groups.extend(group.map(|g| Ipv4Addr::from(g.to_ne_bytes())));
            }
            continue;
        }
        let Some((left, right)) = line.split_once(':') else { continue };
        ours = left.split_whitespace().nth(1) == Some(dev);
        if ours {
            version = match right.split_whitespace().nth(1) {
                Some("V1") => IgmpVersion::V1,
                Some("V2") => IgmpVersion::V2,
                _ => IgmpVersion::V3,
            };
        }
    }
    (version, groups)
}

/// `/proc/net/igmp6` text: `idx dev group users flags timer`, the group as 32 hexadecimal
/// digits.
fn parse_v6(text: &str, dev: &str) -> Vec<Ipv6Addr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (_, name, hex) = (words.next()?, words.next()?, words.next()?);
            (name == dev && hex.len() == 32).then_some(())?;
            u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_igmp_is_read_per_device() {
        let text = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
                    1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n\
                    5\tbond0     :     2      V2\n\t\t\t\t030201EF     1 0:00000000\t\t1\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n";
        let (version, groups) = parse_v4(text, "bond0");
        assert_eq!(version, IgmpVersion::V2);
        let expect = if cfg!(target_endian = "little") {
            [Ipv4Addr::new(239, 1, 2, 3), Ipv4Addr::new(224, 0, 0, 1)]
        } else {
            [Ipv4Addr::new(3, 2, 1, 239), Ipv4Addr::new(1, 0, 0, 224)]
        };
        assert_eq!(groups, expect);
        assert!(parse_v4(text, "bond1").1.is_empty());
        assert!(parse_v4("garbage\n:::\n\t\tzz\n", "bond0").1.is_empty());
    }

    #[test]
    fn proc_net_igmp6_is_read_per_device() {
        let text = "1    lo              ff020000000000000000000000000001     1 0000000C 0\n\
                    5    bond0           ff0200000000000000000001ff123456     1 00000004 0\n\
                    5    bond0           short 1 0 0\n";
        let want: Ipv6Addr = "ff02::1:ff12:3456".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert_eq!(parse_v6(text, "bond0"), [want]);
    }

    #[test]
    fn loopback_has_joined_all_hosts() {
        // Every network namespace's lo is in 224.0.0.1 (with IPv4 multicast, as every distribution
        // kernel has it).
        let (_, groups) = ipv4_groups("lo").expect("/proc/net/igmp");
        assert!(groups.contains(&Ipv4Addr::new(224, 0, 0, 1)), "{groups:?}");
    }

    #[test]
    fn dev_mcast_lines_of_one_interface() {
        let text = "2    ifb0            1     0     333300000001\n\
                    7    bond0           1     0     333300000001\n\
                    7    bond0           1     0     3333ff000254\n\
                    7    bond0           1     0     01005e00\n";
        let got: Vec<String> = parse_dev_mcast(text, 7).iter().map(ToString::to_string).collect();
        assert_eq!(got, ["33:33:00:00:00:01", "33:33:ff:00:02:54"]);
        assert!(parse_dev_mcast(text, 9).is_empty());
    }
}
