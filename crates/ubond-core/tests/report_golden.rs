//! `/proc/net/bonding/bond0` golden files from the real Linux 6.1 bonding driver, rendered back
//! from a [`BondStatus`] byte for byte.
//!
//! Each file in `tests/golden/` was captured by `tools/capture-proc-goldens.sh` from Debian's
//! 6.1 kernel in a QEMU guest (the configuration of each is in `tests/golden/README.md`). For
//! each, the test builds the `BondStatus` that describes that kernel bond — its configuration
//! and its state, as the file shows them — renders it with [`ProcFlavor::Linux6_1`] and compares
//! line for line, printing a diff on failure. Only the values that must differ from run to run
//! or machine to machine are read from the file: the version line (the kernel release) and the
//! MAC addresses; everything else is written out here.
//!
//! Today these statuses are built by hand. The `Bond` type (`ubond_core::bond`) will later
//! produce them from a live bond driven through the same configuration and events, and the same
//! goldens will then be compared against what it reports.

use std::net::Ipv4Addr;

use ubond_core::lacp::ChurnState;
use ubond_core::monitor::mii::LinkStatus;
use ubond_core::options::{
    AdSelect, ArpValidate, FailOverMac, LacpRate, Mode, PrimaryReselect, XmitHashPolicy,
};
use ubond_core::report::{
    render_proc_flavor, ActiveAggregator, AdStatus, BondStatus, Duplex, ProcFlavor, SlaveAdStatus,
    SlaveStatus,
};
use ubond_wire::slow::{PortInfo, PortState};
use ubond_wire::MacAddr;

/// The golden file `kernel-6.1-<name>.txt`.
fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/kernel-6.1-{name}.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The value after `label` on the `n`-th line (from 0) that starts with `label`.
fn nth_value<'a>(text: &'a str, label: &str, n: usize) -> Option<&'a str> {
    text.lines().filter_map(|l| l.trim_start().strip_prefix(label)).nth(n).map(str::trim)
}

/// The `n`-th MAC address printed after `label`.
fn mac(text: &str, label: &str, n: usize) -> MacAddr {
    let v = nth_value(text, label, n).unwrap_or_else(|| panic!("no {label:?} #{n} in the file"));
    v.parse().unwrap_or_else(|_| panic!("not a MAC: {v:?}"))
}

/// The `n`-th slave's permanent MAC.
fn perm(text: &str, n: usize) -> MacAddr {
    mac(text, "Permanent HW addr:", n)
}

/// Renders `status` as Linux 6.1 does and compares with the golden file, line by line.
fn check(name: &str, text: &str, status: &BondStatus, privileged: bool) {
    let got = render_proc_flavor(status, privileged, ProcFlavor::Linux6_1);
    if got == text {
        return;
    }
    let mut diff = String::new();
    let (want_lines, got_lines): (Vec<_>, Vec<_>) =
        (text.split_inclusive('\n').collect(), got.split_inclusive('\n').collect());
    for i in 0..want_lines.len().max(got_lines.len()) {
        match (want_lines.get(i), got_lines.get(i)) {
            (Some(w), Some(g)) if w == g => diff.push_str(&format!("  {w:?}\n")),
            (w, g) => {
                if let Some(w) = w {
                    diff.push_str(&format!("- {w:?}\n"));
                }
                if let Some(g) = g {
                    diff.push_str(&format!("+ {g:?}\n"));
                }
            }
        }
    }
    panic!("{name}: rendering differs from the kernel's (- kernel, + ours):\n{diff}");
}

/// A bond as the capture script sets it up: two e1000 slaves eth0, eth1 (1000 Mb/s full
/// duplex, up), miimon 100, every other option at its default.
fn bond(text: &str, mode: Mode) -> BondStatus {
    let version = nth_value(text, "Ethernet Channel Bonding Driver: v", 0).unwrap_or_default();
    BondStatus {
        name: "bond0".into(),
        driver_version: version.into(),
        mode,
        fail_over_mac: FailOverMac::None,
        xmit_hash_policy: XmitHashPolicy::Layer2,
        tlb_dynamic_lb: true,
        primary: None,
        primary_reselect: PrimaryReselect::Always,
        active_slave: None,
        carrier: true,
        miimon_ms: 100,
        updelay_ms: 0,
        downdelay_ms: 0,
        peer_notif_delay_ms: 0,
        arp_interval_ms: 0,
        arp_missed_max: 2,
        arp_validate: ArpValidate::None,
        arp_targets: vec![],
        ns_targets: vec![],
        ad: None,
        slaves: (0..2).map(|i| slave(text, i)).collect(),
    }
}

fn slave(text: &str, i: usize) -> SlaveStatus {
    SlaveStatus {
        name: format!("eth{i}"),
        mii_status: LinkStatus::Up,
        speed_mbps: Some(1000),
        duplex: Some(Duplex::Full),
        link_failure_count: 0,
        perm_hwaddr: perm(text, i),
        queue_id: 0,
        prio: 0,
        ad: None,
        bfd: None,
    }
}

fn active_backup(text: &str) -> BondStatus {
    BondStatus { active_slave: Some("eth0".into()), ..bond(text, Mode::ActiveBackup) }
}

#[test]
fn active_backup_plain() {
    let text = golden("active-backup");
    check("active-backup", &text, &active_backup(&text), true);
}

#[test]
fn active_backup_unprivileged_is_the_same() {
    // Outside 802.3ad nothing depends on CAP_NET_ADMIN.
    let text = golden("active-backup-unpriv");
    check("active-backup-unpriv", &text, &active_backup(&text), false);
    check("active-backup-unpriv (privileged)", &text, &active_backup(&text), true);
}

#[test]
fn active_backup_primary() {
    let text = golden("active-backup-primary");
    let st = BondStatus {
        primary: Some("eth1".into()),
        primary_reselect: PrimaryReselect::Better,
        active_slave: Some("eth1".into()),
        ..active_backup(&text)
    };
    check("active-backup-primary", &text, &st, true);
}

#[test]
fn active_backup_fail_over_mac_active() {
    let text = golden("active-backup-fail_over_mac-active");
    let st = BondStatus { fail_over_mac: FailOverMac::Active, ..active_backup(&text) };
    check("active-backup-fail_over_mac-active", &text, &st, true);
}

#[test]
fn active_backup_speed_unknown() {
    // virtio-net without speed/duplex properties: SPEED_UNKNOWN, DUPLEX_UNKNOWN.
    let text = golden("active-backup-speed-unknown");
    let mut st = active_backup(&text);
    for s in &mut st.slaves {
        s.speed_mbps = None;
        s.duplex = None;
    }
    check("active-backup-speed-unknown", &text, &st, true);
}

#[test]
fn active_backup_arp_monitor() {
    let text = golden("active-backup-arp");
    let st = BondStatus {
        miimon_ms: 0,
        arp_interval_ms: 1000,
        arp_missed_max: 3,
        arp_validate: ArpValidate::All,
        arp_targets: vec![Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 3)],
        ..active_backup(&text)
    };
    check("active-backup-arp", &text, &st, true);
}

fn delays(text: &str) -> BondStatus {
    BondStatus {
        updelay_ms: 20000,
        downdelay_ms: 10000,
        peer_notif_delay_ms: 300,
        ..active_backup(text)
    }
}

#[test]
fn delays_going_back() {
    let text = golden("delays-going-back");
    let mut st = delays(&text);
    st.slaves[1].mii_status = LinkStatus::Back;
    check("delays-going-back", &text, &st, true);
}

#[test]
fn delays_up() {
    let text = golden("delays-up");
    check("delays-up", &text, &delays(&text), true);
}

#[test]
fn delays_going_down() {
    // QEMU `set_link n1 off`: e1000 reports no speed/duplex without carrier, at once; the
    // failure is counted only when the link is declared down.
    let text = golden("delays-going-down");
    let mut st = delays(&text);
    let s = &mut st.slaves[1];
    s.mii_status = LinkStatus::Fail;
    s.speed_mbps = None;
    s.duplex = None;
    check("delays-going-down", &text, &st, true);
}

#[test]
fn delays_down() {
    // Then downdelay later: down, one link failure.
    let text = golden("delays-down");
    let mut st = delays(&text);
    let s = &mut st.slaves[1];
    s.mii_status = LinkStatus::Down;
    s.speed_mbps = None;
    s.duplex = None;
    s.link_failure_count = 1;
    check("delays-down", &text, &st, true);
}

#[test]
fn balance_xor_layer34() {
    let text = golden("balance-xor-layer3+4");
    let st =
        BondStatus { xmit_hash_policy: XmitHashPolicy::Layer34, ..bond(&text, Mode::BalanceXor) };
    check("balance-xor-layer3+4", &text, &st, true);
}

#[test]
fn balance_rr() {
    let text = golden("balance-rr");
    check("balance-rr", &text, &bond(&text, Mode::BalanceRr), true);
}

#[test]
fn broadcast() {
    let text = golden("broadcast");
    check("broadcast", &text, &bond(&text, Mode::Broadcast), true);
}

#[test]
fn balance_tlb() {
    // guest-init writes xmit_hash_policy=layer2+3 in tlb mode too; with tlb_dynamic_lb=1 the
    // report does not show it.
    let text = golden("balance-tlb");
    let st = BondStatus {
        xmit_hash_policy: XmitHashPolicy::Layer23,
        active_slave: Some("eth0".into()),
        ..bond(&text, Mode::BalanceTlb)
    };
    check("balance-tlb", &text, &st, true);
}

#[test]
fn balance_tlb_without_dynamic_lb_shows_the_hash() {
    let text = golden("balance-tlb-dynamic_lb-0");
    let st = BondStatus {
        xmit_hash_policy: XmitHashPolicy::Layer34,
        tlb_dynamic_lb: false,
        active_slave: Some("eth0".into()),
        ..bond(&text, Mode::BalanceTlb)
    };
    check("balance-tlb-dynamic_lb-0", &text, &st, true);
}

#[test]
fn balance_alb() {
    let text = golden("balance-alb");
    let st = BondStatus {
        xmit_hash_policy: XmitHashPolicy::Layer23,
        active_slave: Some("eth0".into()),
        ..bond(&text, Mode::BalanceAlb)
    };
    check("balance-alb", &text, &st, true);
}

// --- 802.3ad ----------------------------------------------------------------------------------

fn port(system: MacAddr, key: u16, port: u16, state: u8) -> PortInfo {
    PortInfo {
        system_priority: 65535,
        system,
        key,
        port_priority: 255,
        port,
        state: PortState(state),
    }
}

/// The kernel's default partner (`PARTNER_ADMIN_DEFAULTS` as it shows them): priority 65535,
/// MAC zero, key 1, port 1, port priority 255, state 0.
fn default_partner() -> PortInfo {
    port(MacAddr::ZERO, 1, 1, 0)
}

/// ad-a of the capture: lacp_rate fast, layer3+4, ad_select bandwidth, min_links 1, negotiated
/// with another 6.1 guest (ad-b) over two wires: both ports in aggregator 1, state 63.
fn negotiated(text: &str) -> BondStatus {
    let system = perm(text, 0);
    let partner = nth_value(text, "Partner Mac Address:", 0)
        .map_or_else(|| MacAddr([0x52, 0x54, 0, 0x0c, 2, 0]), |v| v.parse().unwrap_or_default());
    let mut st = BondStatus {
        xmit_hash_policy: XmitHashPolicy::Layer34,
        ad: Some(AdStatus {
            lacp_active: true,
            lacp_rate: LacpRate::Fast,
            min_links: 1,
            ad_select: AdSelect::Bandwidth,
            system_priority: 65535,
            system_mac: system,
            active_aggregator: Some(ActiveAggregator {
                id: 1,
                ports: 2,
                actor_key: 9,
                partner_key: 9,
                partner_mac: partner,
            }),
        }),
        ..bond(text, Mode::Ieee8023ad)
    };
    for (i, s) in st.slaves.iter_mut().enumerate() {
        let n = i as u16 + 1;
        s.ad = Some(SlaveAdStatus {
            aggregator_id: 1,
            actor_churn_state: ChurnState::Monitor,
            partner_churn_state: ChurnState::Monitor,
            actor_churned_count: 0,
            partner_churned_count: 0,
            actor: port(system, 9, n, 63),
            partner: port(partner, 9, n, 63),
        });
    }
    st
}

#[test]
fn ad_negotiated() {
    let text = golden("802.3ad-negotiated");
    check("802.3ad-negotiated", &text, &negotiated(&text), true);
}

#[test]
fn ad_negotiated_unprivileged() {
    let text = golden("802.3ad-negotiated-unpriv");
    check("802.3ad-negotiated-unpriv", &text, &negotiated(&text), false);
}

/// ad-alone of the capture: lacp_rate slow, layer2, nothing answers LACP. Each port is an
/// individual link in its own aggregator with the default partner; aggregator 1 (eth0) is
/// active. Actor states: eth0 77 = 0x4d = activity + aggregation + sync + defaulted (attached,
/// but never collecting: the default partner is not in sync); eth1 69 = 0x45 = activity +
/// aggregation + defaulted (its aggregator is not the active one).
fn unpartnered(text: &str, churned: bool) -> BondStatus {
    let system = perm(text, 0);
    let mut st = BondStatus {
        ad: Some(AdStatus {
            lacp_active: true,
            lacp_rate: LacpRate::Slow,
            min_links: 0,
            ad_select: AdSelect::Stable,
            system_priority: 65535,
            system_mac: system,
            active_aggregator: Some(ActiveAggregator {
                id: 1,
                ports: 1,
                actor_key: 9,
                partner_key: 1,
                partner_mac: MacAddr::ZERO,
            }),
        }),
        ..bond(text, Mode::Ieee8023ad)
    };
    for (i, s) in st.slaves.iter_mut().enumerate() {
        let n = i as u16 + 1;
        let (actor_churn, actor_count) = match (churned, i) {
            (false, _) => (ChurnState::Monitor, 0),
            // eth0 is in sync (it is the active aggregator's only port); eth1 never is.
            (true, 0) => (ChurnState::NoChurn, 0),
            (true, _) => (ChurnState::Churn, 1),
        };
        let (partner_churn, partner_count) =
            if churned { (ChurnState::Churn, 1) } else { (ChurnState::Monitor, 0) };
        s.ad = Some(SlaveAdStatus {
            aggregator_id: n,
            actor_churn_state: actor_churn,
            partner_churn_state: partner_churn,
            actor_churned_count: actor_count,
            partner_churned_count: partner_count,
            actor: port(system, 9, n, if i == 0 { 77 } else { 69 }),
            partner: default_partner(),
        });
    }
    st
}

#[test]
fn ad_unpartnered() {
    let text = golden("802.3ad-unpartnered");
    check("802.3ad-unpartnered", &text, &unpartnered(&text, false), true);
}

#[test]
fn ad_unpartnered_unprivileged() {
    let text = golden("802.3ad-unpartnered-unpriv");
    check("802.3ad-unpartnered-unpriv", &text, &unpartnered(&text, false), false);
}

#[test]
fn ad_unpartnered_churned() {
    let text = golden("802.3ad-unpartnered-churned");
    check("802.3ad-unpartnered-churned", &text, &unpartnered(&text, true), true);
}

/// The 802.3ad file captured earlier for `ubond-wire` (a scripted LACP partner: system
/// 02:00:00:00:00:0b, priority 32769, key 2828, port priority 200, ports 0x0b01/0x0b02).
#[test]
fn ad_negotiated_with_scripted_partner() {
    let path = format!(
        "{}/../ubond-wire/tests/vectors/kernel-6.1-proc-bond0-802.3ad-negotiated.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let system = perm(&text, 0);
    let partner = mac(&text, "Partner Mac Address:", 0);
    let mut st = BondStatus {
        xmit_hash_policy: XmitHashPolicy::Layer23,
        ad: Some(AdStatus {
            lacp_active: true,
            lacp_rate: LacpRate::Fast,
            min_links: 0,
            ad_select: AdSelect::Stable,
            system_priority: 65535,
            system_mac: system,
            active_aggregator: Some(ActiveAggregator {
                id: 1,
                ports: 2,
                actor_key: 9,
                partner_key: 2828,
                partner_mac: partner,
            }),
        }),
        ..bond(&text, Mode::Ieee8023ad)
    };
    for (i, s) in st.slaves.iter_mut().enumerate() {
        s.ad = Some(SlaveAdStatus {
            aggregator_id: 1,
            actor_churn_state: ChurnState::Monitor,
            partner_churn_state: ChurnState::Monitor,
            actor_churned_count: 0,
            partner_churned_count: 0,
            actor: port(system, 9, i as u16 + 1, 63),
            partner: PortInfo {
                system_priority: 32769,
                system: partner,
                key: 2828,
                port_priority: 200,
                port: 0x0b01 + i as u16,
                state: PortState(63),
            },
        });
    }
    check("ubond-wire 802.3ad-negotiated", &text, &st, true);
}

/// Every golden file in the directory has a test above (a new capture must get one).
#[test]
fn every_golden_is_checked() {
    let src = include_str!("report_golden.rs");
    let dir = format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| Some(f.strip_prefix("kernel-6.1-")?.strip_suffix(".txt")?.to_owned()))
        .collect();
    names.sort();
    assert!(names.len() >= 19, "expected the captured goldens, found {names:?}");
    for n in names {
        assert!(src.contains(&format!("golden(\"{n}\")")), "golden {n} has no test");
    }
}
