//! The checks of an 802.3ad bond: its aggregators, its ports' LACP state and what the
//! partner says, as `bond_3ad.c` decides them.

use super::*;

impl<'a> Ctx<'a> {
    pub(super) fn lacp(&mut self) {
        let r = self.r;
        let Some(ad) = r.ad.as_ref() else { return };
        if !ad.privileged {
            let aggs: BTreeSet<u16> = r
                .slaves
                .iter()
                .filter(|s| s.mii_status == LinkState::Up)
                .filter_map(|s| s.ad.as_ref()?.aggregator_id)
                .collect();
            let split = if aggs.len() > 1 {
                format!(
                    " The slaves are in different aggregators ({}), so some carry no traffic.",
                    aggs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                )
            } else {
                String::new()
            };
            self.push(
                Code::Unprivileged,
                if split.is_empty() { Severity::Info } else { Severity::Warning },
                &[],
                format!(
                    "the report was read without CAP_NET_ADMIN, so it hides the partner and the \
                     port states: the LACP checks could not run.{split}"
                ),
                vec!["no \"System priority\" line and no \"details ... lacp pdu\" blocks".into()],
                "run ubond doctor as root (or read /proc/net/bonding/BOND as root)",
            );
            return;
        }
        let ports = self.ports();
        let up: Vec<&Port<'_>> =
            ports.iter().filter(|p| p.slave.mii_status == LinkState::Up).collect();
        let active = ad.active_aggregator;

        // Ports that hear nobody.
        let silent: Vec<&Port<'_>> = up.iter().copied().filter(|p| !p.hears()).collect();
        if !silent.is_empty() {
            let names: Vec<&str> = silent.iter().map(|p| p.name()).collect();
            let all = silent.len() == up.len();
            let passive = ad.lacp_active == Some(false);
            let mut evidence: Vec<String> = silent
                .iter()
                .map(|p| {
                    format!(
                        "{}: partner system mac address: {}, actor port state: {}",
                        p.name(),
                        p.partner.system,
                        state_words(p.actor.state)
                    )
                })
                .collect();
            if let Some(agg) = active {
                evidence.push(format!(
                    "Active Aggregator Info: Partner Mac Address: {}",
                    agg.partner_mac
                ));
            }
            let bridged: Vec<&Bridged> =
                self.b.facts.bridged.iter().filter(|b| names.contains(&b.slave.as_str())).collect();
            for b in &bridged {
                evidence.push(match &b.via {
                    Some(peer) => format!(
                        "{}'s veth peer {peer} is a port of Linux bridge {}",
                        b.slave, b.bridge
                    ),
                    None => format!("{} is a port of Linux bridge {}", b.slave, b.bridge),
                });
            }
            let consequence = if all {
                if r.carrier {
                    " Without a partner each port is an aggregator of its own, and the driver \
                     still sends through one of them (no LACP, no redundancy, no aggregation): \
                     frames reach the other side only if it accepts them without LACP."
                } else {
                    ""
                }
            } else {
                " These ports sit in aggregators of their own and carry no traffic."
            };
            let summary = if let Some(b) = bridged.first() {
                format!(
                    "{} no LACPDU from a partner (partner 00:00:00:00:00:00, port defaulted).{consequence} \
                     The cause is on this host: {} reaches its partner through Linux bridge {}, and a \
                     Linux bridge never forwards LACPDUs (01:80:c2:00:00:02; its group_fwd_mask \
                     cannot have bit 2, the kernel refuses it).",
                    they(&names, "hears", "hear"),
                    b.slave,
                    b.bridge
                )
            } else {
                format!(
                "{} no LACPDU from a partner (partner 00:00:00:00:00:00, port defaulted).{consequence} \
                 Either the other end does not run LACP (a switch port that is not in an LACP \
                 port-channel, a static LAG, a server whose bond is not 802.3ad), or something \
                 between drops LACPDUs: a Linux bridge never forwards 01:80:c2:00:00:02 \
                 (its group_fwd_mask cannot have bit 2, the kernel refuses it), as with VM NICs \
                 on a host bridge; or frames from the partner are lost on the way here \
                 (one-way loss: the partner's report then shows this bond as its partner).",
                they(&names, "hears", "hear")
            )
            };
            let fix = if passive {
                "this bond is passive (lacp_active off): if the partner is passive too, nobody \
                 starts; set lacp_active=on here, or LACP mode active on the switch port"
            } else {
                "configure the switch ports as one LACP port-channel in active mode (Cisco: \
                 channel-group N mode active; Juniper: lacp active); for VMs, do not connect the \
                 bonded NICs through a Linux bridge (use macvtap/passthrough, an Open vSwitch \
                 port, or run the bond on the host); or use active-backup, which needs no partner"
            };
            self.push(
                Code::NoPartner,
                if all { Severity::Error } else { Severity::Warning },
                &names,
                summary,
                evidence,
                fix,
            );
            if passive && all {
                self.push(
                    Code::Passive,
                    Severity::Warning,
                    &names,
                    "this bond is passive (LACP active: off): it only answers LACPDUs and never \
                     starts, so a passive partner never hears from it either"
                        .into(),
                    vec!["LACP active: off".into()],
                    "set lacp_active=on on at least one side",
                );
            }
        }

        // The partner went silent: LACPDUs stopped (EXPIRED).
        let expired: Vec<&str> =
            up.iter().filter(|p| p.actor.state.has(PortState::EXPIRED)).map(|p| p.name()).collect();
        if !expired.is_empty() {
            self.push(
                Code::PartnerExpired,
                Severity::Warning,
                &expired,
                format!(
                    "{} hearing LACPDUs from the partner (receive machine EXPIRED): the \
                     partner, or the way from it, stopped working a moment ago",
                    they(&expired, "stopped", "stopped")
                ),
                up.iter()
                    .filter(|p| p.actor.state.has(PortState::EXPIRED))
                    .map(|p| format!("{}: actor port state: {}", p.name(), state_words(p.actor.state)))
                    .collect(),
                "look at the partner and the link from it; the port leaves the aggregator if no LACPDU comes within the timeout",
            );
        }

        // We hear the partner, the partner does not hear us.
        for p in up.iter().filter(|p| p.hears()) {
            let ps = p.partner.state;
            if ps.has(PortState::DEFAULTED) || ps.has(PortState::EXPIRED) {
                self.push(
                    Code::PartnerDoesNotHearUs,
                    Severity::Error,
                    &[p.name()],
                    format!(
                        "{} hears its partner {}, but the partner hears nothing from this bond on that \
                         link (its own state says {}): LACPDUs from here are lost on the way out \
                         (a one-way link: a bad transmitter, fibre or cable pair, a filter or \
                         storm-control dropping 01:80:c2:00:00:02), so the partner keeps the port out \
                         of its aggregate",
                        p.name(),
                        p.partner.system,
                        if ps.has(PortState::DEFAULTED) { "defaulted" } else { "expired" }
                    ),
                    vec![format!("{}: partner port state: {}", p.name(), state_words(ps))],
                    format!(
                        "check {}'s transmit direction: swap the cable/optic, look at the switch \
                         port's receive errors and ACLs; capture on the partner side to confirm",
                        p.name()
                    ),
                );
            } else if !ps.has(PortState::AGGREGATION) {
                self.push(
                    Code::PartnerIndividual,
                    Severity::Warning,
                    &[p.name()],
                    format!(
                        "{}'s partner marks its port as an individual link (aggregation bit clear): \
                         the switch will not put it in a port-channel, so it stays alone",
                        p.name()
                    ),
                    vec![format!("{}: partner port state: {}", p.name(), state_words(ps))],
                    "on the switch, make the port a member of the LACP port-channel (not an individual/standalone port)",
                );
            }
        }
        let mismatched: Vec<&Port<'_>> = up
            .iter()
            .copied()
            .filter(|p| p.hears())
            .filter(|p| p.partner.state.0 & (PortState::DEFAULTED | PortState::EXPIRED) == 0)
            .filter(|p| {
                p.actor.state.has(PortState::TIMEOUT) != p.partner.state.has(PortState::TIMEOUT)
            })
            .collect();
        if let Some(first) = mismatched.first() {
            let fast_here = first.actor.state.has(PortState::TIMEOUT);
            let (here, there, detect_here, detect_there) = if fast_here {
                ("fast (1 s)", "slow (30 s)", "3 s", "90 s")
            } else {
                ("slow (30 s)", "fast (1 s)", "90 s", "3 s")
            };
            let names: Vec<&str> = mismatched.iter().map(|p| p.name()).collect();
            let mut evidence = vec![format!(
                "LACP rate: {}",
                ad.lacp_rate.map_or("?".into(), |r: LacpRate| r.to_string())
            )];
            for p in &mismatched {
                evidence.push(format!(
                    "{}: actor port state: {}",
                    p.name(),
                    state_words(p.actor.state)
                ));
                evidence.push(format!(
                    "{}: partner port state: {}",
                    p.name(),
                    state_words(p.partner.state)
                ));
            }
            self.push(
                Code::LacpRateMismatch,
                Severity::Warning,
                &names,
                format!(
                    "on {} this bond asks for {here} LACPDUs and the partner for {there}: this side \
                     notices a dead partner after {detect_here}, the partner notices a dead link \
                     after {detect_there}, and traffic into a dead link is lost until then",
                    join(&names)
                ),
                evidence,
                "use the same rate on both sides, preferably fast (lacp_rate=fast here, lacp rate \
                 fast on the switch port)",
            );
        }

        // Churn.
        for p in &up {
            let Some(sad) = p.slave.ad.as_ref() else { continue };
            let actor = sad.actor_churn == Some(Churn::Churned);
            let partner = sad.partner_churn == Some(Churn::Churned);
            if !(actor || partner) {
                continue;
            }
            let cause = if !p.hears() {
                "as a consequence of hearing no partner (see no-partner)".to_string()
            } else if actor && partner {
                "neither this port nor its partner reached sync within 60 s: the two ends do \
                 not agree on the aggregate (see the findings above)"
                    .to_string()
            } else if actor {
                "this port did not reach sync within 60 s: it is not selected into the active \
                 aggregator (different partner or key from the other ports, or speed/duplex)"
                    .to_string()
            } else {
                "the partner did not put its port in sync within 60 s: on the switch the port is \
                 not in the same port-channel as the others, or was suspended (e.g. lacp \
                 suspend-individual, a key or speed mismatch there)"
                    .to_string()
            };
            self.push(
                Code::Churned,
                if p.hears() { Severity::Warning } else { Severity::Info },
                &[p.name()],
                format!("{} is churned: {cause}", p.name()),
                vec![format!(
                    "{}: Actor Churn State: {}, Partner Churn State: {}, Actor Churned Count: {}, Partner Churned Count: {}",
                    p.name(),
                    sad.actor_churn.map_or("?".into(), |c| c.to_string()),
                    sad.partner_churn.map_or("?".into(), |c| c.to_string()),
                    sad.actor_churned_count.unwrap_or(0),
                    sad.partner_churned_count.unwrap_or(0)
                )],
                "fix the cause named; the churn state clears by itself once the port is in sync",
            );
        }

        // Aggregator split: up ports outside the active aggregator, and why.
        let Some(active) = active else { return };
        let members: Vec<&Port<'_>> =
            up.iter().copied().filter(|p| p.agg == Some(active.id)).collect();
        let outside: Vec<&Port<'_>> =
            up.iter().copied().filter(|p| p.agg != Some(active.id)).collect();
        if outside.is_empty() || up.len() < 2 {
            return;
        }
        let reference = members.iter().find(|p| p.hears()).or(members.first()).copied();
        let mut reasons = Vec::new();
        let mut evidence = Vec::new();
        let mut fixes = BTreeSet::new();
        for p in &outside {
            evidence.push(format!(
                "{}: Aggregator ID: {} (the active aggregator is {}), partner {} key {}, actor key {}",
                p.name(),
                p.agg.map_or("N/A".into(), |a| a.to_string()),
                active.id,
                p.partner.system,
                p.partner.key,
                p.actor.key
            ));
            let reason = match reference {
                _ if !p.hears() => {
                    fixes.insert("make the partner speak LACP on every port (see no-partner)");
                    format!("{} hears no partner", p.name())
                }
                Some(m) if !m.hears() => {
                    fixes.insert("make the partner speak LACP on every port (see no-partner)");
                    format!(
                        "{} hears partner {}, while the active aggregator's {} hears none",
                        p.name(),
                        p.partner.system,
                        m.name()
                    )
                }
                Some(m)
                    if p.partner.system != m.partner.system
                        || p.partner.system_priority != m.partner.system_priority =>
                {
                    fixes.insert(
                        "connect all ports to the same switch, or make the two switches one LACP \
                         system (stacking, MLAG/vPC/MC-LAG)",
                    );
                    format!(
                        "{} and {} reach different partner systems ({} and {}): the ports go to two \
                         switches that are not one LACP system (no stack/MLAG), or a cable is in \
                         the wrong switch",
                        p.name(),
                        m.name(),
                        p.partner.system,
                        m.partner.system
                    )
                }
                Some(m) if p.partner.key != m.partner.key => {
                    fixes
                        .insert("put the partner's ports into one port-channel (one LAG, one key)");
                    format!(
                        "the partner gives {} key {} and {} key {}: on the switch these ports are in \
                         different port-channels (LAGs)",
                        p.name(),
                        p.partner.key,
                        m.name(),
                        m.partner.key
                    )
                }
                Some(m) if p.actor.key != m.actor.key => {
                    fixes.insert("use ports of one speed and duplex (each speed gets its own key)");
                    format!(
                        "{} has key {} and {} key {} on this side: the ports differ in speed or \
                         duplex (or ad_user_port_key), and only equal keys aggregate",
                        p.name(),
                        p.actor.key,
                        m.name(),
                        m.actor.key
                    )
                }
                _ if !p.actor.state.has(PortState::AGGREGATION)
                    || !p.partner.state.has(PortState::AGGREGATION) =>
                {
                    fixes.insert("make both ends of every port aggregatable (full duplex, in the port-channel)");
                    format!("{} is an individual link (aggregation bit clear)", p.name())
                }
                _ => {
                    fixes.insert(
                        "if it persists for more than a few seconds, compare both ends' reports \
                         (ubond doctor HERE.txt THERE.txt)",
                    );
                    format!(
                        "{} has the same partner and keys as the active aggregator's ports but is \
                         not attached yet (selection still settling, or ad_select {} preferred \
                         another aggregator)",
                        p.name(),
                        ad.ad_select.as_deref().unwrap_or("?")
                    )
                }
            };
            reasons.push(reason);
        }
        if let Some(m) = reference {
            evidence.push(format!(
                "{}: Aggregator ID: {} (active), partner {} key {}, actor key {}",
                m.name(),
                active.id,
                m.partner.system,
                m.partner.key,
                m.actor.key
            ));
        }
        let names: Vec<&str> = outside.iter().map(|p| p.name()).collect();
        let ids: Vec<String> =
            up.iter().map(|p| p.agg.map_or("N/A".into(), |a| a.to_string())).collect();
        self.push(
            Code::AggregatorSplit,
            Severity::Warning,
            &names,
            format!(
                "the ports are in different aggregators (Aggregator ID {}) and only aggregator {} \
                 carries traffic, so {} idle: {}",
                ids.join(", "),
                active.id,
                they(&names, "is", "are"),
                reasons.join("; ")
            ),
            evidence,
            fixes.into_iter().collect::<Vec<_>>().join("; "),
        );
    }
}
