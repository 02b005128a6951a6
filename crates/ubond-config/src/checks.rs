//! Checks on the model that every format shares (after parsing).

use std::collections::BTreeMap;

use ubond_core::options::{valid_interface_name, Mode};

use crate::finding::{Finding, Span};
use crate::model::{BondConfig, ConfigSet};

fn invalid_name(what: &str, name: &str) -> String {
    format!(
        "{what} '{}' is not an interface name Linux accepts: 1 to 15 bytes, not '.' or '..', without '/', ':' or white space",
        name.escape_debug()
    )
}

fn bond_span(b: &BondConfig) -> Span {
    b.spans.bond.clone().unwrap_or_else(|| Span::new("<config>", 1, 1))
}

fn slave_span(b: &BondConfig, slave: &str) -> Span {
    b.spans.slaves.get(slave).cloned().unwrap_or_else(|| bond_span(b))
}

fn option_span(b: &BondConfig, name: &str) -> Span {
    b.option_span(name).cloned().unwrap_or_else(|| bond_span(b))
}

/// Checks on a parsed configuration: bonds declared twice, slaves claimed by two bonds or
/// that are bonds themselves, no link monitoring, ARP monitoring without targets, a queue id
/// given to two slaves, and — for
/// formats that list slaves (`with_slaves`) — bonds without slaves, and `primary`,
/// `active_slave` and per-slave options that name an interface that is not a slave.
pub fn check(set: &ConfigSet, with_slaves: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    // One primary named by two bonds: an interface is the slave of one bond at most.
    let mut primaries: BTreeMap<&str, &str> = BTreeMap::new();
    for b in &set.bonds {
        let Some(p) = b.options.primary.as_deref() else { continue };
        if !b.options.mode.uses_primary() {
            continue;
        }
        match primaries.get(p) {
            Some(first) if *first != b.name => out.push(Finding::error(
                &option_span(b, "primary"),
                format!("primary '{p}' is named by two bonds, '{first}' and '{}': an interface is the slave of one bond only", b.name),
            )),
            _ => {
                primaries.insert(p, &b.name);
            }
        }
    }
    for (i, b) in set.bonds.iter().enumerate() {
        if set.bonds[..i].iter().any(|o| o.name == b.name) {
            out.push(Finding::error(&bond_span(b), format!("bond '{}' is declared twice", b.name)));
        }
        // Names the kernel refuses (an OVS bond's name is a port of OVS's, not a device).
        if b.ovs.is_none() && !valid_interface_name(&b.name) {
            out.push(Finding::error(&bond_span(b), invalid_name("bond", &b.name)));
        }
        for s in &b.slaves {
            // A slave found by a match without renaming goes by the file's name for it.
            let own_name = b.matches.get(s).is_some_and(|m| !m.rename);
            if !own_name && !valid_interface_name(s) {
                out.push(Finding::error(&slave_span(b, s), invalid_name("slave", s)));
            }
        }
        if with_slaves && b.slaves.is_empty() {
            out.push(Finding::warning(&bond_span(b), format!("bond '{}' has no slaves", b.name)));
        }
        for s in &b.slaves {
            if set.bonds.iter().any(|o| o.name == *s) {
                out.push(Finding::error(
                    &slave_span(b, s),
                    format!(
                        "'{s}' is a bond and cannot be a slave of '{}' (no nested bonds)",
                        b.name
                    ),
                ));
            }
            match owner.get(s.as_str()) {
                Some(first) if *first != b.name => out.push(Finding::error(
                    &slave_span(b, s),
                    format!("'{s}' is claimed by two bonds: '{first}' and '{}'", b.name),
                )),
                _ => {
                    owner.insert(s, &b.name);
                }
            }
        }
        let o = &b.options;
        if o.miimon == 0 && o.arp_interval == 0 {
            out.push(Finding::warning(
                &bond_span(b),
                format!(
                    "bond '{}' has no link monitoring (miimon=0, arp_interval=0): failed links will not be detected",
                    b.name
                ),
            ));
        }
        if o.arp_interval != 0 && o.arp_ip_target.is_empty() && o.ns_ip6_target.is_empty() {
            out.push(Finding::warning(
                &option_span(b, "arp_interval"),
                "ARP monitoring without arp_ip_target: every slave will be seen as down",
            ));
        }
        if with_slaves {
            for (opt, name) in [("primary", &o.primary), ("active_slave", &o.active_slave)] {
                if let Some(n) = name {
                    if !b.slaves.contains(n) && o.mode.uses_primary() {
                        out.push(Finding::warning(
                            &option_span(b, opt),
                            format!("{opt} '{n}' is not a slave of '{}'", b.name),
                        ));
                    }
                }
            }
            for n in o.slave_options.keys() {
                if !b.slaves.contains(n) {
                    out.push(Finding::warning(
                        &option_span(b, "queue_id"),
                        format!(
                            "per-slave options for '{n}', which is not a slave of '{}'",
                            b.name
                        ),
                    ));
                }
            }
        }
        // The kernel refuses a non-zero queue id already used by another slave.
        let mut seen: BTreeMap<u16, &str> = BTreeMap::new();
        for (slave, so) in &o.slave_options {
            if so.queue_id == 0 {
                continue;
            }
            match seen.get(&so.queue_id) {
                Some(first) => out.push(Finding::error(
                    &option_span(b, "queue_id"),
                    format!("queue_id {} is given to both '{first}' and '{slave}'; the kernel refuses the second", so.queue_id),
                )),
                None => {
                    seen.insert(so.queue_id, slave);
                }
            }
        }
        if o.mode == Mode::Ieee8023ad && o.min_links as usize > b.slaves.len() && with_slaves {
            out.push(Finding::warning(
                &option_span(b, "min_links"),
                format!(
                    "min_links={} is more than the {} slave(s): the bond will never have carrier",
                    o.min_links,
                    b.slaves.len()
                ),
            ));
        }
    }
    out
}
