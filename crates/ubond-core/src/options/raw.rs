//! The options whose set function parses the text itself (`BOND_OPTFLAG_RAWVAL`): the
//! `+addr`/`-addr` target commands, `primary`, `active_slave`, `queue_id`'s `ifname:N`,
//! `ad_actor_system`, `ad_unknown_speed` and `bfd_peer`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::parse::{self, first_word, in4_pton, ip6_target_ok, ip_target_ok, mac_pton};
use super::{
    cut_newline, BondOptions, OptionError, OptionId, SetContext, UnknownSpeed, Warning, MAX_TARGETS,
};

impl BondOptions {
    /// The options whose set function parses the text itself (`BOND_OPTFLAG_RAWVAL`).
    pub(super) fn apply_raw(
        &mut self,
        id: OptionId,
        value: &str,
        ctx: &SetContext,
        w: &mut Vec<Warning>,
    ) -> Result<(), OptionError> {
        let option = id.name();
        let shown = cut_newline(value).to_owned();
        match id {
            OptionId::ArpIpTarget => self.arp_target_command(value, w),
            OptionId::NsIp6Target => self.ns_target_command(value),
            OptionId::Primary => {
                self.set_primary(cut_newline(value), ctx, w);
                Ok(())
            }
            OptionId::ActiveSlave => self.set_active_slave(value, ctx),
            OptionId::QueueId => self.set_queue_id_command(value, ctx),
            OptionId::AdActorSystem => {
                let mac = mac_pton(value.as_bytes()).ok_or_else(|| OptionError::InvalidValue {
                    option,
                    value: shown.clone(),
                    allowed: "a unicast MAC address aa:bb:cc:dd:ee:ff".to_owned(),
                })?;
                if mac.is_multicast() {
                    return Err(OptionError::Rejected {
                        option,
                        value: shown,
                        reason: "Invalid ad_actor_system MAC address. (a multicast address cannot be a system ID)"
                            .to_owned(),
                    });
                }
                self.ad_actor_system = mac;
                Ok(())
            }
            OptionId::AdUnknownSpeed => {
                self.ad_unknown_speed =
                    parse_unknown_speed(value).ok_or(OptionError::InvalidValue {
                        option,
                        value: shown,
                        allowed: "refuse, default (10000), or a speed in Mbit/s 1-4294967295"
                            .to_owned(),
                    })?;
                Ok(())
            }
            OptionId::BfdPeer => {
                self.bfd_peer = parse_bfd_peer(value).map_err(|reason| OptionError::Rejected {
                    option,
                    value: shown,
                    reason,
                })?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `bond_option_arp_ip_targets_set` for a sysfs write: `+a.b.c.d` or `-a.b.c.d`.
    fn arp_target_command(&mut self, value: &str, w: &mut Vec<Warning>) -> Result<(), OptionError> {
        let option = "arp_ip_target";
        let shown = cut_newline(value).to_owned();
        let bytes = value.as_bytes();
        let perm = |reason: &str| OptionError::NotPermitted {
            option,
            value: shown.clone(),
            reason: reason.to_owned(),
        };
        let ip = bytes
            .get(1..)
            .and_then(in4_pton)
            .ok_or_else(|| perm("invalid ARP target specified (use +a.b.c.d or -a.b.c.d)"))?;
        match bytes.first() {
            Some(b'+') => self.add_arp_target(ip).map_err(|reason| OptionError::Rejected {
                option,
                value: shown.clone(),
                reason,
            }),
            Some(b'-') => {
                let Some(i) = self.arp_ip_target.iter().position(|t| *t == ip) else {
                    let reason = if ip_target_ok(ip) {
                        format!("unable to remove nonexistent ARP target {ip}")
                    } else {
                        format!("invalid ARP target {ip} specified for removal")
                    };
                    return Err(OptionError::Rejected { option, value: shown, reason });
                };
                if self.arp_ip_target.len() == 1 && self.arp_interval != 0 {
                    w.push(Warning::new(option, "Removing last arp target with arp_interval on"));
                }
                self.arp_ip_target.remove(i);
                Ok(())
            }
            _ => Err(perm("no command found in arp_ip_targets file - use +<addr> or -<addr>")),
        }
    }

    /// `_bond_option_arp_ip_target_add`: the kernel's reason on refusal.
    fn add_arp_target(&mut self, ip: Ipv4Addr) -> Result<(), String> {
        if !ip_target_ok(ip) {
            return Err(format!("invalid ARP target {ip} specified for addition"));
        }
        if self.arp_ip_target.contains(&ip) {
            return Err(format!("ARP target {ip} is already present"));
        }
        if self.arp_ip_target.len() >= MAX_TARGETS {
            return Err("ARP target table is full!".to_owned());
        }
        self.arp_ip_target.push(ip);
        Ok(())
    }

    /// `ns_ip6_target`: `+addr` / `-addr` as for `arp_ip_target` (the upstream kernel sets NS
    /// targets through netlink only, as a whole list; the sysfs-style command is ubond's).
    fn ns_target_command(&mut self, value: &str) -> Result<(), OptionError> {
        let option = "ns_ip6_target";
        let shown = cut_newline(value).to_owned();
        let word = first_word(value, 64);
        let (cmd, addr) = match word.as_bytes().first() {
            Some(b'+') => (true, &word[1..]),
            Some(b'-') => (false, &word[1..]),
            _ => {
                return Err(OptionError::NotPermitted {
                    option,
                    value: shown,
                    reason: "no command found in ns_ip6_target - use +<addr> or -<addr>".to_owned(),
                })
            }
        };
        let ip: Ipv6Addr = addr.parse().map_err(|_| OptionError::NotPermitted {
            option,
            value: shown.clone(),
            reason: "invalid NS target specified (use +<ipv6> or -<ipv6>)".to_owned(),
        })?;
        if cmd {
            self.add_ns_target(ip).map_err(|reason| OptionError::Rejected {
                option,
                value: shown,
                reason,
            })
        } else {
            let i = self.ns_ip6_target.iter().position(|t| *t == ip).ok_or_else(|| {
                OptionError::Rejected {
                    option,
                    value: shown.clone(),
                    reason: format!("unable to remove nonexistent NS target {ip}"),
                }
            })?;
            self.ns_ip6_target.remove(i);
            Ok(())
        }
    }

    fn add_ns_target(&mut self, ip: Ipv6Addr) -> Result<(), String> {
        if !ip6_target_ok(ip) {
            return Err(format!("invalid NS target {ip} specified for addition"));
        }
        if self.ns_ip6_target.contains(&ip) {
            return Err(format!("NS target {ip} is already present"));
        }
        if self.ns_ip6_target.len() >= MAX_TARGETS {
            return Err("NS target table is full!".to_owned());
        }
        self.ns_ip6_target.push(ip);
        Ok(())
    }

    /// `bond_option_primary_set`: any text is recorded (at most 15 bytes), enslaved or not.
    fn set_primary(&mut self, p: &str, ctx: &SetContext, w: &mut Vec<Warning>) {
        if p.is_empty() {
            self.primary = None;
            return;
        }
        if ctx.slave(p).is_some() {
            self.primary = Some(p.to_owned());
            return;
        }
        let mut cut = p.len().min(parse::IFNAMSIZ - 1);
        while !p.is_char_boundary(cut) {
            cut -= 1;
        }
        let recorded = &p[..cut];
        w.push(Warning::new(
            "primary",
            format!("Recording {recorded} as primary, but it has not been enslaved yet"),
        ));
        self.primary = Some(recorded.to_owned());
    }

    /// `bond_option_active_slave_set`.
    fn set_active_slave(&mut self, value: &str, ctx: &SetContext) -> Result<(), OptionError> {
        let option = "active_slave";
        let name = first_word(value, parse::IFNAMSIZ - 1);
        if name.is_empty() || value.starts_with('\n') {
            self.active_slave = None;
            return Ok(());
        }
        let Some(slave) = ctx.slave(name) else {
            return Err(OptionError::NoSuchSlave { option, name: name.to_owned() });
        };
        if ctx.active_slave.as_deref() == Some(name) {
            self.active_slave = Some(name.to_owned());
            return Ok(());
        }
        if ctx.active_slave.is_none() || !slave.usable {
            return Err(OptionError::Rejected {
                option,
                value: name.to_owned(),
                reason: format!(
                    "Could not set as active slave; either {name} is down or the link is down{}",
                    if ctx.active_slave.is_none() {
                        " (or the bond has no active slave yet)"
                    } else {
                        ""
                    }
                ),
            });
        }
        self.active_slave = Some(name.to_owned());
        Ok(())
    }

    /// `bond_option_queue_id_set`: `ifname:N`.
    fn set_queue_id_command(&mut self, value: &str, ctx: &SetContext) -> Result<(), OptionError> {
        let shown = cut_newline(value).to_owned();
        let perm = |reason: String| OptionError::NotPermitted {
            option: "queue_id",
            value: shown.clone(),
            reason,
        };
        let (name, qid) = value.split_once(':').ok_or_else(|| {
            perm("invalid input for queue_id set: use ifname:queue_id".to_owned())
        })?;
        let qid = scan_short(qid).ok_or_else(|| {
            perm("invalid input for queue_id set: use ifname:queue_id".to_owned())
        })?;
        self.set_queue_id(name, qid, ctx).map_err(perm)
    }

    pub(super) fn set_queue_id(
        &mut self,
        name: &str,
        qid: u16,
        ctx: &SetContext,
    ) -> Result<(), String> {
        if !parse::dev_valid_name(name) {
            return Err(format!("{name:?} is not a valid interface name"));
        }
        // The kernel compares with `>`: a queue id equal to the number of queues is accepted.
        if qid > self.tx_queues {
            return Err(format!("queue id {qid} is above tx_queues ({})", self.tx_queues));
        }
        if ctx.slave(name).is_none() {
            return Err(format!("{name} is not a slave of this bond"));
        }
        if qid != 0 {
            if let Some(other) =
                ctx.slaves.iter().find(|s| s.name != name && self.slave(&s.name).queue_id == qid)
            {
                return Err(format!("queue id {qid} is already used by {}", other.name));
            }
        }
        self.slave_options.entry(name.to_owned()).or_default().queue_id = qid;
        Ok(())
    }
}

/// `sscanf("%hd")`: optional white space and sign, then digits; the kernel stores the result in
/// a `u16`, so `-1` becomes 65535 (and is then refused as above `tx_queues`).
fn scan_short(s: &str) -> Option<u16> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().ok()?;
    let n = if neg { -n } else { n };
    let n = i16::try_from(n).ok()?;
    Some(n as u16)
}

/// `ad_unknown_speed`: `refuse`, `default` (10000) or a speed in Mbit/s (at least 1).
fn parse_unknown_speed(value: &str) -> Option<UnknownSpeed> {
    match first_word(value, 32) {
        "refuse" => Some(UnknownSpeed::Refuse),
        "default" => Some(UnknownSpeed::default()),
        w => match w.parse::<u32>() {
            Ok(n) if n > 0 => Some(UnknownSpeed::Assume(n)),
            _ => None,
        },
    }
}

/// `bfd_peer`: an IPv4 or IPv6 unicast address, or nothing (or `none`) to clear it.
fn parse_bfd_peer(value: &str) -> Result<Option<IpAddr>, String> {
    let word = first_word(value, 64);
    if word.is_empty() || word == "none" {
        return Ok(None);
    }
    let ip: IpAddr = word.parse().map_err(|_| {
        "not an address: give the partner's IPv4 or IPv6 address (bfd_peer 192.0.2.2)".to_owned()
    })?;
    let unicast = match ip {
        IpAddr::V4(a) => ip_target_ok(a) && !a.is_multicast() && !a.is_loopback(),
        IpAddr::V6(a) => ip6_target_ok(a),
    };
    if !unicast {
        return Err(format!("{ip} is not a unicast address of a partner"));
    }
    Ok(Some(ip))
}
