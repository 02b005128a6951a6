//! The checks every bond gets: its slaves and carrier, the link monitor, speeds and duplex,
//! addresses, active-backup and the active slave of balance-tlb/alb, the hash policy, and
//! ubond's micro-BFD sessions.

use super::*;

impl<'a> Ctx<'a> {
    pub(super) fn slaves_and_carrier(&mut self) {
        let r = self.r;
        if r.slaves.is_empty() {
            self.push(
                Code::NoSlaves,
                Severity::Error,
                &[],
                "the bond has no slaves, so it has no link at all".into(),
                vec!["no \"Slave Interface\" block in the report".into()],
                "enslave its interfaces (ip link set eth0 master bond0, or ubond enslave bond0 eth0 eth1)",
            );
        }
        for s in &r.slaves {
            if s.mii_status == LinkState::Up {
                continue;
            }
            let why = match s.mii_status {
                LinkState::GoingDown => format!(
                    "lost its link and is still in use until downdelay ({} ms) has passed: frames \
                     sent into it meanwhile are lost",
                    r.downdelay_ms
                ),
                LinkState::GoingBack => format!(
                    "has its link back and is not used until updelay ({} ms) has passed",
                    r.updelay_ms
                ),
                LinkState::Unknown => "is in an unknown link state; it carries no traffic".into(),
                _ if refused_for_speed(r, s) => "is kept down because its speed/duplex cannot be \
                     read (see speed-unknown); it carries no traffic"
                    .into(),
                _ => {
                    "has no link (no carrier, or the link monitor declared it failed); it carries \
                     no traffic"
                        .into()
                }
            };
            let fix = if s.mii_status == LinkState::GoingBack {
                "nothing if the link stays up; if it keeps going back and down, the link flaps \
                 (cable, optics, switch port)"
                    .to_string()
            } else {
                format!(
                    "check {}'s cable, optics and the switch port (ip link show {}; ethtool {}); \
                     a port that is administratively down comes back with ip link set {} up",
                    s.name, s.name, s.name, s.name
                )
            };
            self.push(
                Code::SlaveDown,
                Severity::Warning,
                &[&s.name],
                format!("{} {why}", s.name),
                vec![format!(
                    "{}: MII Status: {}, Link Failure Count: {}",
                    s.name, s.mii_status, s.link_failure_count
                )],
                fix,
            );
        }
        for s in r.slaves.iter().filter(|s| s.mii_status == LinkState::Up) {
            if s.link_failure_count > 0 {
                self.push(
                    Code::LinkFlaps,
                    Severity::Info,
                    &[&s.name],
                    format!(
                        "{} is up now but has lost its link {} time(s) since it was enslaved",
                        s.name, s.link_failure_count
                    ),
                    vec![format!("{}: Link Failure Count: {}", s.name, s.link_failure_count)],
                    format!(
                        "if the count keeps growing, the link flaps: check the cable/optics and \
                         the switch port's error counters (ethtool -S {})",
                        s.name
                    ),
                );
            }
        }
        if !r.carrier && !r.slaves.is_empty() {
            let why = if self.up().is_empty() {
                "no slave has a usable link".to_string()
            } else if r.mode == Mode::Ieee8023ad {
                let ad = r.ad.as_ref();
                match (ad.and_then(|a| a.active_aggregator), ad.and_then(|a| a.min_links)) {
                    (Some(agg), Some(min)) if min > 0 && agg.ports < min => format!(
                        "the active aggregator has {} port(s), fewer than min_links {min}",
                        agg.ports
                    ),
                    (None, _) if ad.is_some_and(|a| a.privileged) => {
                        "there is no active aggregator".to_string()
                    }
                    _ => "no aggregator can carry traffic".to_string(),
                }
            } else {
                "no slave is usable".to_string()
            };
            self.push(
                Code::BondDown,
                Severity::Error,
                &[],
                format!("the bond is down (no carrier): {why}; nothing crosses it"),
                vec!["MII Status: down (the bond's, first in the report)".into()],
                "see the findings below for each slave's cause",
            );
        }
        // Redundancy: the links that carry traffic.
        let usable: Vec<&str> = match r.mode {
            Mode::Ieee8023ad => {
                let active = r.ad.as_ref().and_then(|a| a.active_aggregator).map(|a| a.id);
                r.slaves
                    .iter()
                    .filter(|s| s.mii_status == LinkState::Up)
                    .filter(|s| match (active, s.ad.as_ref()) {
                        (Some(id), Some(ad)) => ad.aggregator_id == Some(id),
                        _ => true,
                    })
                    .map(|s| s.name.as_str())
                    .collect()
            }
            _ => self.up().iter().map(|s| s.name.as_str()).collect(),
        };
        if r.carrier && usable.len() == 1 {
            let total = r.slaves.len();
            let (summary, fix) = if total == 1 {
                (
                    format!(
                        "the bond has one slave ({}): a failure of that link takes it down",
                        usable[0]
                    ),
                    "enslave a second interface, on a different switch or line card if you can",
                )
            } else {
                (
                    format!(
                        "the bond runs on one link ({}) out of {total}: no redundancy left{}",
                        usable[0],
                        if r.mode == Mode::Ieee8023ad {
                            ", and no more bandwidth than one port"
                        } else {
                            ""
                        }
                    ),
                    "bring the other links back (the findings about them say why they are out)",
                )
            };
            let mut evidence: Vec<String> = r
                .slaves
                .iter()
                .map(|s| {
                    let agg =
                        s.ad.as_ref()
                            .map(|ad| match ad.aggregator_id {
                                Some(id) => format!(", Aggregator ID: {id}"),
                                None => ", Aggregator ID: N/A".into(),
                            })
                            .unwrap_or_default();
                    format!("{}: MII Status: {}{agg}", s.name, s.mii_status)
                })
                .collect();
            if let Some(agg) = r.ad.as_ref().and_then(|a| a.active_aggregator) {
                evidence.push(format!(
                    "Active Aggregator Info: Aggregator ID: {}, Number of ports: {}",
                    agg.id, agg.ports
                ));
            }
            self.push(Code::SingleLink, Severity::Warning, &[usable[0]], summary, evidence, fix);
        }
    }

    pub(super) fn monitoring(&mut self) {
        let r = self.r;
        if r.miimon_ms == 0 && r.arp_interval_ms == 0 {
            let extra = if r.mode == Mode::Ieee8023ad {
                " In 802.3ad only the LACP timeout (3 s fast, 90 s slow) would notice a dead \
                 partner, and the kernel cannot follow the ports' speed and duplex."
            } else {
                ""
            };
            self.push(
                Code::NoLinkMonitoring,
                Severity::Error,
                &[],
                format!(
                    "no link monitoring: neither miimon nor arp_interval is set, so a slave that \
                     loses its link is never taken out and traffic keeps going into it.{extra}"
                ),
                vec!["MII Polling Interval (ms): 0".into(), "no ARP Polling Interval line".into()],
                format!(
                    "set miimon=100 (BONDING_OPTS=\"miimon=100\", bond-miimon 100, echo 100 > \
                     /sys/class/net/{0}/bonding/miimon, or ubond set {0} miimon 100)",
                    self.bond_name()
                ),
            );
        }
        if r.arp_interval_ms > 0 && r.arp_targets.is_empty() && r.ns_targets.is_empty() {
            self.push(
                Code::ArpNoTargets,
                Severity::Error,
                &[],
                "the ARP monitor runs without a target: it has nothing to probe, so it cannot \
                 tell a working slave from a failed one"
                    .into(),
                vec![
                    format!("ARP Polling Interval (ms): {}", r.arp_interval_ms),
                    "ARP IP target/s (n.n.n.n form): (none)".into(),
                ],
                "add arp_ip_target=+GATEWAY (an address that always answers), or use miimon",
            );
        }
    }

    pub(super) fn speeds(&mut self) {
        let r = self.r;
        let unknown: Vec<&Slave> = r
            .slaves
            .iter()
            .filter(|s| s.speed_mbps.is_none() || s.duplex.is_none())
            .filter(|s| s.mii_status == LinkState::Up || refused_for_speed(r, s))
            .collect();
        if !unknown.is_empty() && needs_speed(r.mode) {
            let names: Vec<&str> = unknown.iter().map(|s| s.name.as_str()).collect();
            // ubond's default assumes 10000 Mb/s (its actor key then has a speed); the kernel
            // and ubond's `ad_unknown_speed refuse` refuse the port.
            let assumed = unknown.iter().all(|s| {
                s.ad.as_ref().and_then(|a| a.actor.as_ref()).is_some_and(|a| key_speed(a.key) != 0)
            });
            let evidence = unknown
                .iter()
                .map(|s| {
                    let key = s
                        .ad
                        .as_ref()
                        .and_then(|a| a.actor.as_ref())
                        .map(|a| format!(", port key: {} (speed code {})", a.key, key_speed(a.key)))
                        .unwrap_or_default();
                    format!(
                        "{}: Speed: {}, Duplex: {}, MII Status: {}{key}",
                        s.name,
                        s.speed_mbps.map_or("Unknown".into(), |v| format!("{v} Mbps")),
                        match s.duplex {
                            Some(Duplex::Full) => "full",
                            Some(Duplex::Half) => "half",
                            None => "Unknown",
                        },
                        s.mii_status
                    )
                })
                .collect();
            let fix = "give the NICs a speed: QEMU's -device virtio-net-pci,...,speed=10000,duplex=full, \
                 or ethtool -s IFACE speed 10000 duplex full inside the guest (virtio_net accepts \
                 it); tap and some USB NICs cannot report one: use active-backup or balance-xor \
                 there, or ubond (which assumes 10000 Mb/s full duplex)";
            if assumed {
                self.push(
                    Code::SpeedUnknown,
                    Severity::Info,
                    &names,
                    format!(
                        "{} no speed/duplex; ubond assumes 10000 Mb/s full duplex for them \
                         (ad_unknown_speed assume), so they aggregate. The Linux driver would refuse \
                         them (\"failed to get link speed/duplex\").",
                        they(&names, "reports", "report")
                    ),
                    evidence,
                    "nothing needed; to aggregate like Linux would, give the NICs a real speed",
                );
            } else {
                let (what, severity) = match r.mode {
                    Mode::Ieee8023ad => (
                        "802.3ad needs every port's speed and duplex to compute its key: the \
                         driver logs \"failed to get link speed/duplex\" and keeps the port down \
                         or alone in its own aggregator, so LACP never aggregates it",
                        Severity::Error,
                    ),
                    _ => (
                        "balance-tlb/alb share the load by speed: the driver logs \"failed to get \
                         link speed/duplex\" and does not use the port",
                        Severity::Error,
                    ),
                };
                self.push(
                    Code::SpeedUnknown,
                    severity,
                    &names,
                    format!(
                        "{} no speed/duplex (Speed: Unknown). {what}.",
                        they(&names, "reports", "report")
                    ),
                    evidence,
                    fix,
                );
            }
        }
        if r.mode == Mode::Ieee8023ad {
            let half: Vec<&str> = r
                .slaves
                .iter()
                .filter(|s| s.duplex == Some(Duplex::Half))
                .map(|s| s.name.as_str())
                .collect();
            if !half.is_empty() {
                self.push(
                    Code::HalfDuplex,
                    Severity::Error,
                    &half,
                    format!(
                        "{} half duplex: 802.3ad aggregates only full-duplex links, so each \
                         such port is an individual link",
                        they(&half, "runs", "run")
                    ),
                    half.iter().map(|n| format!("{n}: Duplex: half")).collect(),
                    "fix the autonegotiation (both ends auto, or both forced to the same speed and full duplex)",
                );
            }
        }
        if matches!(r.mode, Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast) {
            let speeds: BTreeSet<u32> = self.up().iter().filter_map(|s| s.speed_mbps).collect();
            if speeds.len() > 1 {
                let evidence = self
                    .up()
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: Speed: {}",
                            s.name,
                            s.speed_mbps.map_or("Unknown".into(), |v| format!("{v} Mbps"))
                        )
                    })
                    .collect();
                self.push(
                    Code::SpeedMismatch,
                    Severity::Warning,
                    &[],
                    format!(
                        "the slaves run at different speeds ({}); {} spreads traffic evenly, so the \
                         slowest link limits the bond and frames queue on it",
                        speeds.iter().map(|s| format!("{s} Mb/s")).collect::<Vec<_>>().join(", "),
                        r.mode
                    ),
                    evidence,
                    "use links of one speed, or balance-tlb/balance-alb (which weigh by speed), or \
                     active-backup with the fast link as primary",
                );
            }
        }
    }

    pub(super) fn macs(&mut self) {
        let r = self.r;
        let mut seen: Vec<(MacAddr, &str)> = Vec::new();
        for s in &r.slaves {
            let Some(mac) = s.perm_hwaddr else { continue };
            if mac.is_zero() || mac.is_multicast() {
                self.push(
                    Code::MacConflict,
                    Severity::Error,
                    &[&s.name],
                    format!(
                        "{} has no valid permanent MAC address ({mac}): it cannot be told apart \
                         on the wire, and the bond may take it over as its own address",
                        s.name
                    ),
                    vec![format!("{}: Permanent HW addr: {mac}", s.name)],
                    "give the NIC a unicast MAC (the hypervisor's NIC settings, or ip link set IFACE address ...)",
                );
                continue;
            }
            if let Some((_, other)) = seen.iter().find(|(m, _)| *m == mac) {
                let other = (*other).to_string();
                let severity = if matches!(r.mode, Mode::BalanceTlb | Mode::BalanceAlb) {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                self.push(
                    Code::MacConflict,
                    severity,
                    &[&other, &s.name],
                    format!(
                        "{other} and {} have the same permanent MAC address {mac}: cloned VM NICs \
                         or a MAC set by hand. balance-tlb/alb give each slave its own MAC and then \
                         cannot tell them apart; in every mode the two collide once released",
                        s.name
                    ),
                    vec![
                        format!("{other}: Permanent HW addr: {mac}"),
                        format!("{}: Permanent HW addr: {mac}", s.name),
                    ],
                    "give every NIC its own MAC address (regenerate it in the VM's configuration)",
                );
            } else {
                seen.push((mac, &s.name));
            }
        }
        if let Some(own) = r.ad.as_ref().and_then(|a| a.system_mac) {
            let looped: Vec<&str> = self
                .ports()
                .iter()
                .filter(|p| !own.is_zero() && p.partner.system == own)
                .map(|p| p.slave.name.as_str())
                .collect();
            if !looped.is_empty() {
                self.push(
                    Code::MacConflict,
                    Severity::Error,
                    &looped,
                    format!(
                        "{} LACPDUs carrying this bond's own system MAC {own}: the link \
                         is looped back to this bond, or another bond uses the same ad_actor_system",
                        they(&looped, "hears", "hear")
                    ),
                    vec![
                        format!("System MAC address: {own}"),
                        format!("{}: details partner lacp pdu: system mac address: {own}", looped[0]),
                    ],
                    "check the cabling for a loop; give every bond its own ad_actor_system (or leave it unset)",
                );
            }
        }
    }

    pub(super) fn active_backup(&mut self) {
        self.active_slave();
        let r = self.r;
        let notify = self.b.facts.number("num_grat_arp").or(self.b.facts.number("num_unsol_na"));
        if notify == Some(0) && r.slaves.len() > 1 {
            let moved = if r.fail_over_mac == FailOverMac::Active {
                " With fail_over_mac active the bond's MAC changes too, so peers keep sending to \
                 the old MAC until their ARP/neighbour entries expire."
            } else {
                ""
            };
            self.push(
                Code::NoPeerNotification,
                Severity::Warning,
                &[],
                format!(
                    "after a failover nothing tells the network that the bond moved \
                     (num_grat_arp/num_unsol_na 0): the switches keep sending the bond's frames to \
                     the old port until their MAC tables age out (300 s by default).{moved}"
                ),
                vec![
                    format!("num_grat_arp: {}", self.b.facts.option("num_grat_arp").unwrap_or("?")),
                    format!("Bonding Mode: {}", r.mode.long_name()),
                ],
                "set num_grat_arp=1 (the default) or more; with several VLANs above the bond, \
                 raise it so each one is announced",
            );
        }
    }

    pub(super) fn active_slave(&mut self) {
        let r = self.r;
        if r.active_slave.is_none() && !self.up().is_empty() {
            let up: Vec<&str> = self.up().iter().map(|s| s.name.as_str()).collect();
            self.push(
                Code::NoActiveSlave,
                Severity::Error,
                &[],
                format!(
                    "{} has no active slave although {} up: nothing is sent",
                    r.mode,
                    if up.len() == 1 {
                        format!("{} is", up[0])
                    } else {
                        format!("{} are", join(&up))
                    }
                ),
                vec!["Currently Active Slave: None".into()],
                format!(
                    "select one: echo {} > /sys/class/net/{}/bonding/active_slave (ubond: ubond set {} active_slave {})",
                    up[0],
                    self.bond_name(),
                    self.bond_name(),
                    up[0]
                ),
            );
        }
    }

    pub(super) fn hashing(&mut self) {
        let r = self.r;
        if r.xmit_hash_policy == Some(XmitHashPolicy::Layer2)
            && matches!(r.mode, Mode::Ieee8023ad | Mode::BalanceXor)
            && self.up().len() > 1
        {
            self.push(
                Code::Layer2Hash,
                Severity::Info,
                &[],
                "xmit_hash_policy layer2 picks the link by MAC addresses only: all traffic to one \
                 peer — typically the default gateway — leaves by the same link, so a routed \
                 host gets one link's bandwidth"
                    .into(),
                vec!["Transmit Hash Policy: layer2 (0)".into()],
                "use xmit_hash_policy=layer3+4 (flows spread by IP and port) or layer2+3",
            );
        }
    }
}

impl Ctx<'_> {
    /// ubond's micro-BFD (`bfd=on`): a member whose session is not up is disabled for
    /// distribution although its MII status may say up.
    pub(super) fn bfd(&mut self) {
        let r = self.r;
        let bond = self.bond_name();
        for s in &r.slaves {
            let Some(b) = &s.bfd else { continue };
            let mut evidence =
                vec![format!("line {}: {}: BFD Status: {}", b.line, s.name, b.status)];
            if b.status == "up" {
                if let Some(n) = b.down_count.filter(|&n| n > 0) {
                    evidence.push(format!("{}: BFD Down Count: {n}", s.name));
                    if let Some(d) = &b.diagnostic {
                        evidence.push(format!("{}: BFD Diagnostic: {d}", s.name));
                    }
                    self.push(
                        Code::BfdFlaps,
                        Severity::Info,
                        &[&s.name],
                        format!(
                            "{}'s micro-BFD session is up now but has gone down {n} time(s): \
                             each time the member stopped carrying traffic until it came back",
                            s.name
                        ),
                        evidence,
                        format!(
                            "if the count keeps growing, frames are lost on {} (errors on the \
                             link, an overloaded partner, or intervals too short for the path: \
                             ubond set {bond} bfd_min_rx / bfd_multiplier)",
                            s.name
                        ),
                    );
                }
                continue;
            }
            let (why, fix) = match &b.waiting_for {
                Some(w) => {
                    evidence[0] = format!(
                        "line {}: {}: BFD Status: {} (waiting for {w})",
                        b.line, s.name, b.status
                    );
                    (
                        format!("its session cannot start: it waits for {w}"),
                        format!(
                            "give the bond the address its sessions run over (ip addr add ... \
                             dev {bond}) and the partner's (ubond set {bond} bfd_peer ADDRESS), \
                             or turn micro-BFD off (ubond set {bond} bfd off)"
                        ),
                    )
                }
                None => {
                    for (what, v) in [
                        ("BFD Remote Status", &b.remote_status),
                        ("BFD Diagnostic", &b.diagnostic),
                        ("BFD Detect Time (ms)", &b.detect_time_ms),
                    ] {
                        if let Some(v) = v {
                            evidence.push(format!("{}: {what}: {v}", s.name));
                        }
                    }
                    if let Some(n) = b.dropped.filter(|&n| n > 0) {
                        evidence.push(format!("{}: BFD Dropped Packets: {n}", s.name));
                    }
                    let diag = b.diagnostic.as_deref().filter(|d| *d != "ok");
                    let why = match (b.status.as_str(), diag) {
                        ("init", _) => "its session hears the partner, but the partner says it \
                             hears nothing from this side (BFD Remote Status: down): frames \
                             sent on this link are lost on the way"
                            .to_string(),
                        ("admin down", _) => "its session is administratively down".to_string(),
                        (_, Some(d)) => format!(
                            "its session went down ({d}): the partner's BFD packets stopped \
                             arriving or said the partner no longer hears this side"
                        ),
                        (st, None) => {
                            format!("its session is {st} and has never heard the partner")
                        }
                    };
                    (
                        why,
                        format!(
                            "check that the partner runs micro-BFD (RFC 7130) on {} towards this \
                             bond's address, that UDP port 6784 passes both ways, and that \
                             bfd_peer is the partner's address (ubond get {bond} bfd_peer); a \
                             link that drops frames silently is exactly what BFD is there to \
                             catch, so also check the link itself",
                            s.name
                        ),
                    )
                }
            };
            let mii = if s.mii_status == LinkState::Up { " although its link is up" } else { "" };
            self.push(
                Code::BfdDown,
                Severity::Warning,
                &[&s.name],
                format!("{} carries no traffic{mii}: {why}", s.name),
                evidence,
                fix,
            );
        }
    }
}
