//! The report of a live `Bond`, rendered, against `/proc/net/bonding/bond0` of the real Linux
//! 6.1 driver in the same configuration and state (`tests/golden/`, captured by
//! `tools/capture-proc-goldens.sh`). Each test builds the bond from the same options, drives
//! its slaves through the same events, and compares the whole text. Only values that must
//! differ are taken from the golden file: the interfaces' MAC addresses (and so the system MAC)
//! and the driver version line.
//!

mod common;

use common::bonds::{run_pair, Wire2};
use ubond_core::bond::{Bond, SlaveConfig, SlaveId};
use ubond_core::lacp::LinkState;
use ubond_core::options::parse_module_options;
use ubond_core::report::{render_proc_flavor, ProcFlavor};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

const VERSION: &str = "6.1.0-56-amd64";

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/kernel-6.1-{name}.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The values after `label` on every line that starts with it, as MAC addresses.
fn macs(text: &str, label: &str) -> Vec<MacAddr> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix(label))
        .map(|v| v.trim().parse().expect("mac"))
        .collect()
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// A bond built from module options, its slaves named and addressed as in the golden file.
fn bond_like(golden: &str, options: &str, links: &[LinkState]) -> (Bond, Vec<SlaveId>) {
    let opts = parse_module_options(options).expect("options").options;
    let mut bond = Bond::new("bond0", opts, None).expect("bond");
    let perm = macs(golden, "Permanent HW addr:");
    let ids = perm
        .iter()
        .zip(links)
        .enumerate()
        .map(|(i, (mac, link))| {
            bond.enslave(ms(0), SlaveConfig { name: format!("eth{i}"), perm_mac: *mac }, *link)
                .expect("enslave")
        })
        .collect();
    (bond, ids)
}

fn check(bond: &Bond, golden_name: &str, privileged: bool) {
    common::bonds::check(bond);
    let want = golden(golden_name);
    let got = render_proc_flavor(&bond.status(VERSION), privileged, ProcFlavor::Linux6_1);
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (w, g))| w != g)
            .map(|(i, (w, g))| format!("line {}: kernel {w:?}\n         ubond  {g:?}", i + 1))
            .collect();
        panic!(
            "{golden_name}: the report differs from the kernel's ({} vs {} lines):\n{}\n--- ubond:\n{got}",
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

const UP: LinkState =
    LinkState { up: true, speed_mbps: Some(1000), duplex: ubond_core::lacp::Duplex::Full };

#[test]
fn active_backup() {
    let g = golden("active-backup");
    let (b, _) = bond_like(&g, "mode=active-backup miimon=100", &[UP, UP]);
    check(&b, "active-backup", true);
    check(&b, "active-backup-unpriv", false);
}

#[test]
fn active_backup_primary_better() {
    let g = golden("active-backup-primary");
    // As the capture did it, through sysfs (as a module parameter, Linux reads
    // primary_reselect only together with primary).
    let (mut b, _) = bond_like(&g, "mode=active-backup miimon=100", &[UP, UP]);
    b.set_option(ms(10), "primary", "eth1").expect("primary");
    b.set_option(ms(10), "primary_reselect", "better").expect("primary_reselect");
    check(&b, "active-backup-primary", true);
}

#[test]
fn active_backup_fail_over_mac_active() {
    let g = golden("active-backup-fail_over_mac-active");
    let (b, _) = bond_like(&g, "mode=active-backup miimon=100 fail_over_mac=active", &[UP, UP]);
    check(&b, "active-backup-fail_over_mac-active", true);
}

#[test]
fn active_backup_speed_unknown() {
    let g = golden("active-backup-speed-unknown");
    let unknown = LinkState::up_unknown_speed();
    let (b, _) = bond_like(&g, "mode=active-backup miimon=100", &[unknown, unknown]);
    check(&b, "active-backup-speed-unknown", true);
}

#[test]
fn delays_through_all_four_link_states() {
    let g = golden("delays-up");
    let opts = "mode=active-backup miimon=100 updelay=20000 downdelay=10000 peer_notif_delay=300";
    // eth1's carrier comes up a second after enslaving: it is going back for 20 s.
    let (mut b, s) = bond_like(&g, opts, &[UP, LinkState::down()]);
    b.handle_link(ms(1000), s[1], UP).expect("link");
    check(&b, "delays-going-back", true);
    while let Some(t) = b.poll_timeout().filter(|t| *t <= ms(22_000)) {
        b.handle_timeout(t);
    }
    check(&b, "delays-up", true);
    // The carrier goes (the NIC then reports no speed): going down for 10 s, then down.
    b.handle_link(ms(30_000), s[1], LinkState::down()).expect("link");
    check(&b, "delays-going-down", true);
    while let Some(t) = b.poll_timeout().filter(|t| *t <= ms(41_000)) {
        b.handle_timeout(t);
    }
    check(&b, "delays-down", true);
}

#[test]
fn load_balancing_modes() {
    for (name, opts) in [
        ("balance-xor-layer3+4", "mode=balance-xor miimon=100 xmit_hash_policy=layer3+4"),
        ("balance-rr", "mode=balance-rr miimon=100"),
        ("broadcast", "mode=broadcast miimon=100"),
    ] {
        let g = golden(name);
        let (b, _) = bond_like(&g, opts, &[UP, UP]);
        check(&b, name, true);
    }
}

#[test]
fn ieee8023ad_negotiated_with_a_partner() {
    let g = golden("802.3ad-negotiated");
    let opts = "mode=802.3ad miimon=100 xmit_hash_policy=layer3+4 lacp_rate=fast ad_select=bandwidth min_links=1";
    let (a, sa) = bond_like(&g, opts, &[UP, UP]);
    // The partner: another bond, with the partner system MAC the kernel saw.
    let partner_mac = macs(&g, "Partner Mac Address:")[0];
    let o = parse_module_options(opts).expect("options").options;
    let mut b = Bond::new("bond0", o, None).expect("bond");
    let sb: Vec<SlaveId> = (0..2u8)
        .map(|i| {
            let mac = MacAddr([
                partner_mac.0[0],
                partner_mac.0[1],
                partner_mac.0[2],
                partner_mac.0[3],
                partner_mac.0[4],
                i,
            ]);
            b.enslave(ms(0), SlaveConfig { name: format!("eth{i}"), perm_mac: mac }, UP)
                .expect("enslave")
        })
        .collect();
    assert_eq!(b.mac(), partner_mac);
    let wires: Vec<Wire2> =
        (0..2).map(|i| Wire2 { a: (0, sa[i]), b: (1, sb[i]), up: true }).collect();
    let mut bonds = [a, b];
    // "2 s after LACP came up", well inside the 60 s churn window.
    run_pair(&mut bonds, &wires, ms(0), ms(5_000));
    check(&bonds[0], "802.3ad-negotiated", true);
    check(&bonds[0], "802.3ad-negotiated-unpriv", false);
}

#[test]
fn ieee8023ad_unpartnered_then_churned() {
    let g = golden("802.3ad-unpartnered");
    let (mut b, _) =
        bond_like(&g, "mode=802.3ad miimon=100 xmit_hash_policy=layer2 lacp_rate=slow", &[UP, UP]);
    while let Some(t) = b.poll_timeout().filter(|t| *t <= ms(8_000)) {
        b.handle_timeout(t);
    }
    check(&b, "802.3ad-unpartnered", true);
    check(&b, "802.3ad-unpartnered-unpriv", false);
    while let Some(t) = b.poll_timeout().filter(|t| *t <= ms(70_000)) {
        b.handle_timeout(t);
    }
    check(&b, "802.3ad-unpartnered-churned", true);
}

#[test]
fn transmit_and_adaptive_load_balancing() {
    for (name, opts) in [
        ("balance-tlb", "mode=balance-tlb miimon=100 xmit_hash_policy=layer2+3"),
        (
            "balance-tlb-dynamic_lb-0",
            "mode=balance-tlb miimon=100 xmit_hash_policy=layer3+4 tlb_dynamic_lb=0",
        ),
        ("balance-alb", "mode=balance-alb miimon=100 xmit_hash_policy=layer2+3"),
    ] {
        let g = golden(name);
        let (b, _) = bond_like(&g, opts, &[UP, UP]);
        check(&b, name, true);
    }
}

#[test]
fn active_backup_with_the_arp_monitor() {
    let g = golden("active-backup-arp");
    let opts = "mode=active-backup miimon=0 arp_interval=1000 arp_ip_target=192.0.2.2,192.0.2.3 arp_validate=all arp_missed_max=3";
    let (mut b, s) = bond_like(&g, opts, &[UP, UP]);
    b.set_addresses(vec![std::net::Ipv4Addr::new(192, 0, 2, 1)], vec![]);
    // 192.0.2.2 answers every probe the bond sends (on whichever slave sent it); .3 does not
    // exist. The capture's bridge floods the replies and requests to both slaves.
    let mut t = 0;
    while t <= 10_000 {
        while let Some(when) = b.poll_timeout().filter(|w| *w <= ms(t)) {
            b.handle_timeout(when);
        }
        let mut frames = Vec::new();
        while let Some(tx) = b.poll_transmit() {
            frames.push(tx.frame);
        }
        for probe in frames {
            if probe[12..14] != [0x08, 0x06] || probe[38..42] != [192, 0, 2, 2] {
                continue;
            }
            // The request itself, flooded to the other slave, and the target's reply.
            let mut reply = probe.clone();
            reply[0..6].copy_from_slice(&probe[6..12]);
            reply[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
            reply[20..22].copy_from_slice(&[0, 2]);
            reply[22..28].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
            reply[28..32].copy_from_slice(&[192, 0, 2, 2]);
            reply[32..38].copy_from_slice(&probe[6..12]);
            reply[38..42].copy_from_slice(&probe[28..32]);
            for &id in &s {
                b.handle_frame(ms(t), id, &probe);
                b.handle_frame(ms(t), id, &reply);
            }
        }
        t += 100;
    }
    check(&b, "active-backup-arp", true);
}
