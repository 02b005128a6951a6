//! Root tests that re-express the checks of the Linux bonding driver's own selftests
//! (`tools/testing/selftests/drivers/net/bonding/`) against ubond bonds in network namespaces,
//! written from what each check observes: a carrier loss seen within `miimon` even when the
//! kernel announces it late, recovery with `updelay` 0 to 10000 ms in active-backup and
//! balance-xor (`mode-1-recovery-updelay.sh`, `mode-2-recovery-updelay.sh`), multicast
//! membership instead of promiscuous mode (`dev_addr_lists.sh`), a released slave left down,
//! ARP monitoring of a bond that is down (`bond-arp-interval-causes-panic.sh`), slave `prio`
//! read back, exact `num_grat_arp` counts, a hash policy's spread, passive LACP and
//! `lacp_strict`, and `ad_select` with two aggregators (`bond_3ad.c`'s selection).
//! `bond_options.rs` has `bond_options.sh`'s prio, arp_validate (with the NS targets'
//! multicast groups) and fail_over_mac tests.
//!
//! Skipped (with a note) when not run as root or without `ip`. Namespaces are named
//! `ubd-<pid>-<test>-<letter>`; addresses are in 192.0.2.0/24 and 2001:db8::/32 only.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

mod support;

use support::bonding::*;
use support::*;

/// Makes the kernel's link-watch run now (an urgent event: a veth pair within A, whose
/// indexes differ), so that the next event that is not urgent waits for up to a second.
fn kick_linkwatch(a: &Side) {
    a.ip(&["link", "set", "x1", "down"]);
    a.ip(&["link", "set", "x1", "up"]);
}

/// How late the kernel announces (`RTM_NEWLINK`) the carrier loss of A's `e1` when B's end goes
/// down right after [`kick_linkwatch`]. Reads nothing else meanwhile: an `RTM_GETLINK` of the
/// interface makes recent kernels run its pending event at once.
fn notification_delay(a: &Side, b: &Side) -> Duration {
    let (ns_a, ns_b) = (a.ns.clone(), b.ns.clone());
    in_netns(&a.ns, move || {
        let mut monitor = ubond_sys::LinkMonitor::new().unwrap();
        must(&["ip", "-n", &ns_a, "link", "set", "x1", "down"]);
        must(&["ip", "-n", &ns_a, "link", "set", "x1", "up"]);
        let t0 = Instant::now();
        must(&["ip", "-n", &ns_b, "link", "set", "e1", "down"]);
        let mut events = Vec::new();
        loop {
            assert!(t0.elapsed() < Duration::from_secs(5), "no notification");
            monitor.wait(Duration::from_millis(100)).unwrap();
            events.clear();
            let _ = monitor.read_events(&mut events);
            if events.iter().any(|e| e.state.name == "e1" && !e.state.carrier) {
                let took = t0.elapsed();
                must(&["ip", "-n", &ns_b, "link", "set", "e1", "up"]);
                return took;
            }
        }
    })
    .join()
    .unwrap()
}

#[test]
fn a_carrier_loss_at_the_far_end_is_seen_within_miimon_even_when_announced_late() {
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("latecar");
    a.ip(&["link", "add", "x0", "type", "veth", "peer", "name", "x1"]);
    a.ip(&["link", "set", "x0", "up"]);
    a.ip(&["link", "set", "x1", "up"]);
    a.ip(&["link", "set", "e1", "up"]);
    // The premise, before any bond reads anything: the kernel announces this carrier loss
    // late (up to a second; less when another link-watch run came shortly before ours).
    // (Link-watch runs are the whole system's: link changes of other namespaces, other tests
    // among them, shorten the wait at random; so this tries up to 10 times.)
    let mut delays = Vec::new();
    while delays.len() < 10 && !delays.iter().any(|d| *d >= Duration::from_millis(300)) {
        std::thread::sleep(Duration::from_millis(1200));
        delays.push(notification_delay(&a, &b));
    }
    eprintln!("the kernel announced the far end's carrier loss after {delays:?}");
    assert!(
        delays.iter().any(|d| *d >= Duration::from_millis(300)),
        "the premise: a carrier loss announced late at least once: {delays:?}"
    );
    a.ok(&["add", "bond0", "mode=active-backup", "miimon=50", "primary=e1"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["link", "set", "bond0", "up"]);
    let mut seen = Vec::new();
    for _ in 0..4 {
        wait_for(Duration::from_secs(10), "e1 active and e2 up", || {
            let r = a.report("bond0");
            active_of(&r) == "e1" && slave_mii(&r, "e2") == "up"
        });
        std::thread::sleep(Duration::from_millis(1200));
        kick_linkwatch(&a);
        let t0 = Instant::now();
        b.ip(&["link", "set", "e1", "down"]);
        while active_of(&a.report("bond0")) != "e2" {
            assert!(t0.elapsed() < Duration::from_secs(5), "no failover: {}", a.report("bond0"));
            std::thread::sleep(Duration::from_millis(2));
        }
        seen.push(t0.elapsed());
        b.ip(&["link", "set", "e1", "up"]);
    }
    eprintln!("failover after the far end went down: {seen:?}");
    for took in &seen {
        // miimon 50: read within 50 ms, plus the reselection and the report file.
        assert!(*took < Duration::from_millis(250), "carrier loss seen after {took:?}: {seen:?}");
    }
}

/// mode-1-recovery-updelay.sh / mode-2-recovery-updelay.sh for `mode`, through the
/// selftests' loop over `updelay` (0 to 10000 ms; some steps left out to keep it short): the
/// switch side of e1 goes down; once the bond has seen it (the selftest sleeps 2 s), e1 comes
/// back while e2 goes down. With no slave up, the recovering one is used at once, whatever
/// updelay says (read in the report within a few ticks); and right after enslaving too. The
/// selftest's `ping -c 2` then runs once B's bridge forwards on e1 again, which here takes up
/// to a second for reasons of B's own (a ping sent before that is lost whatever the bond does).
fn recovery_across_updelays(test: &str, mode: &str) {
    let (a, b) = same_index_pair(test);
    switch(&b, &["e1", "e2"]);
    for updelay in [0, 200, 1000, 10_000] {
        let what = format!("{mode}, updelay {updelay}");
        let _ = a.ubond(&["del", "bond0"]);
        for e in ["e1", "e2"] {
            b.ip(&["link", "set", e, "up"]);
        }
        let updelay_word = format!("updelay={updelay}");
        a.ok(&["add", "bond0", &format!("mode={mode}"), "miimon=100", &updelay_word]);
        a.ok(&["enslave", "bond0", "e1", "e2"]);
        a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
        a.ip(&["link", "set", "bond0", "up"]);
        let took = wait_for(Duration::from_secs(5), &format!("{what}: a first ping"), || {
            ping_once(&a, SWITCH_V4)
        });
        eprintln!("{what}: connectivity {took:?} after enslaving");
        b.ip(&["link", "set", "e1", "down"]);
        wait_report(&a, "bond0", Duration::from_secs(5), &format!("{what}: e1 down"), |r| {
            slave_mii(r, "e1") == "down"
        });
        b.ip(&["link", "set", "e1", "up"]);
        b.ip(&["link", "set", "e2", "down"]);
        // e2's loss is read at the next tick (miimon 100), and e1 is used then, well before an
        // updelay of 1 s or 10 s is over.
        let used =
            wait_report(&a, "bond0", Duration::from_secs(12), &format!("{what}: e1 up"), |r| {
                slave_mii(r, "e1") == "up"
            });
        // The "switch" is slow here, not the bond: its bridge starts forwarding on its port
        // e1 only when it hears of e1's carrier, and these links' carrier events are the
        // kind the kernel announces at most once a second (see `same_index_links`).
        let forwarding =
            wait_for(Duration::from_secs(5), &format!("{what}: B forwards on e1"), || {
                let o = sh(&["bridge", "-n", &b.ns, "link", "show", "dev", "e1"]);
                String::from_utf8_lossy(&o.stdout).contains("state forwarding")
            });
        // The selftest's `ping -c 2`, each reply awaited 1 s (not 10) when lost.
        let ok = sh(&["ip", "netns", "exec", &a.ns, "ping", "-c", "2", "-W", "1", SWITCH_V4]);
        let report = a.report("bond0");
        eprintln!(
            "{what}: after the flap: e1 used after {used:?}, B forwarding on e1 after \
             {forwarding:?}, then {}",
            String::from_utf8_lossy(&ok.stdout)
                .lines()
                .find(|l| l.contains("received"))
                .unwrap_or("")
        );
        assert!(
            used < Duration::from_millis(600),
            "{what}: e1 used only after {used:?}, as if updelay applied:\n{report}"
        );
        assert!(
            ok.status.success(),
            "{what}: ping -c 2 after the flap: {}\n{report}",
            String::from_utf8_lossy(&ok.stdout)
        );
    }
}

#[test]
fn recovery_with_updelay_when_no_slave_is_up_in_active_backup() {
    if !can_run() {
        return;
    }
    recovery_across_updelays("recov1", "active-backup");
}

#[test]
fn recovery_with_updelay_when_no_slave_is_up_in_balance_xor() {
    if !can_run() {
        return;
    }
    recovery_across_updelays("recov2", "balance-xor");
}

#[test]
fn the_lacpdu_group_is_in_the_slaves_filter_while_the_bond_is_up_and_no_slave_is_promiscuous() {
    // dev_addr_lists.sh: 01:80:c2:00:00:02 on the slave (`bridge fdb show brport`) while an
    // 802.3ad bond is up, gone when it goes down, back when it comes up.
    if !can_run() {
        return;
    }
    let (a, _b) = same_index_pair("mcast4");
    let fdb = |iface: &str| {
        let o = sh(&["bridge", "-n", &a.ns, "fdb", "show", "brport", iface]);
        String::from_utf8_lossy(&o.stdout).contains("01:80:c2:00:00:02")
    };
    a.ok(&["add", "bond0", "mode=802.3ad", "miimon=100"]);
    a.ok(&["enslave", "bond0", "e1"]);
    wait_for(Duration::from_secs(5), "the LACPDU group on e1", || fdb("e1"));
    assert_eq!(promiscuity(&a, "e1"), "0", "no promiscuous mode");
    a.ip(&["link", "set", "bond0", "down"]);
    wait_for(Duration::from_secs(5), "the LACPDU group gone from e1", || !fdb("e1"));
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(5), "the LACPDU group back on e1", || fdb("e1"));
    // A released slave leaves it (and is left down, as the kernel leaves it).
    a.ok(&["release", "bond0", "e1"]);
    assert!(!fdb("e1"), "{}", maddrs(&a, "e1"));
}

#[test]
fn a_released_slave_is_left_down() {
    // __bond_release_one closes the slave (dev_close) before restoring its address.
    if !can_run() {
        return;
    }
    let (a, _b) = same_index_pair("reldown");
    a.ip(&["link", "set", "e1", "up"]);
    a.ok(&["add", "bond0", "mode=balance-xor", "miimon=100"]);
    a.ok(&["enslave", "bond0", "e1"]);
    a.ok(&["release", "bond0", "e1"]);
    let line = link_line(&a, "e1");
    let flags = line.split('<').nth(1).and_then(|r| r.split('>').next()).unwrap_or("");
    assert!(!flags.split(',').any(|f| f == "UP"), "released e1 still up: {line}");
}

#[test]
fn a_bond_that_is_down_sends_no_arp_probes_and_backups_stay_silent() {
    // bond-arp-interval-causes-panic.sh drives the ARP monitor on a bond being set up and torn
    // down; the kernel runs it only while the bond is up (bond_open / bond_close). And a
    // backup transmits nothing.
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("arpdown");
    switch(&b, &["e1", "e2"]);
    a.ok(&[
        "add",
        "bond0",
        "mode=active-backup",
        "arp_interval=100",
        "arp_ip_target=192.0.2.2",
        "primary=e1",
    ]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(10), "e1 active", || active_of(&a.report("bond0")) == "e1");
    // Up: the active slave probes; the backup, in active-backup without arp_validate on it,
    // sends nothing at all.
    let before = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    for _ in 0..5 {
        ping_once(&a, "192.0.2.2");
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    assert!(after.0 > before.0, "the active slave sends: {before:?} -> {after:?}");
    assert_eq!(after.1, before.1, "the backup sends nothing");
    // Down: nothing at all. A probe may still leave until the daemon has read the change (late
    // on a loaded machine): first a quiet moment of three probe intervals, which a monitor
    // still probing every 100 ms never has.
    a.ip(&["link", "set", "bond0", "down"]);
    wait_for(Duration::from_secs(10), "a quiet moment once bond0 is down", || {
        let before = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
        std::thread::sleep(Duration::from_millis(300));
        (tx_packets(&a, "e1"), tx_packets(&a, "e2")) == before
    });
    let before = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    std::thread::sleep(Duration::from_millis(1000));
    let after = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    assert_eq!(after, before, "a bond that is down sends no ARP probes");
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(5), "probes again once up", || tx_packets(&a, "e1") > after.0);
}

#[test]
fn slave_prio_chooses_the_active_slave_and_reads_back() {
    // bond_options.sh prio: without a primary the highest prio wins; the value reads back.
    if !can_run() {
        return;
    }
    let (a, _b) = same_index_pair("prio");
    a.ok(&["add", "bond0", "mode=active-backup", "miimon=100"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(5), "e1 active", || active_of(&a.report("bond0")) == "e1");
    a.ok(&["set-slave", "e2", "prio", "10"]);
    a.ok(&["set", "bond0", "primary_reselect", "always"]);
    assert_eq!(a.ok(&["get-slave", "e2", "prio"]).trim(), "10");
    // Read back from the bond too: as sysfs shows queue_id, and in the JSON report.
    assert_eq!(a.ok(&["get", "bond0", "prio"]).trim(), "e1:0 e2:10");
    assert_eq!(a.ok(&["get", "bond0", "queue_id"]).trim(), "e1:0 e2:0");
    let json: String =
        a.ok(&["status", "bond0", "--json"]).chars().filter(|c| !c.is_whitespace()).collect();
    assert!(json.contains(r#""name":"e2""#) && json.contains(r#""prio":10"#), "{json}");
    // A link change asks for a reselection, which the prio decides.
    a.ip(&["link", "set", "e1", "down"]);
    wait_for(Duration::from_secs(5), "e2 active", || active_of(&a.report("bond0")) == "e2");
    a.ip(&["link", "set", "e1", "up"]);
    wait_for(Duration::from_secs(5), "e1 up", || slave_mii(&a.report("bond0"), "e1") == "up");
    assert_eq!(active_of(&a.report("bond0")), "e2", "the higher prio stays active");
}

#[test]
fn num_grat_arp_announces_a_failover_exactly_that_many_times() {
    // bond_options.sh num_grat_arp: after a failover the new active slave sends exactly
    // num_grat_arp gratuitous ARPs (peer_notif_delay apart; miimon when 0).
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("grat");
    a.ok(&["add", "bond0", "mode=active-backup", "miimon=100", "primary=e1"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
    a.ip(&["link", "set", "bond0", "up"]);
    for count in [1, 3, 5] {
        a.ok(&["set", "bond0", "num_grat_arp", &count.to_string()]);
        wait_for(Duration::from_secs(10), "e1 active, e2 up", || {
            let r = a.report("bond0");
            active_of(&r) == "e1" && slave_mii(&r, "e2") == "up"
        });
        // (The window is long: 5 announcements take half a second on a quiet machine; any
        // more than `count` within it fail the test all the same.)
        let heard = gratuitous_arps(&b, "e2", [192, 0, 2, 1], Duration::from_secs(3), || {
            a.ip(&["link", "set", "e1", "down"]);
        });
        assert_eq!(heard.len(), count, "num_grat_arp {count}: gratuitous ARPs after the failover");
        a.ip(&["link", "set", "e1", "up"]);
    }
}

#[test]
fn the_first_active_slave_announces_the_bonds_addresses() {
    // Linux bond_change_active_slave notifies peers on the first activation too (one miimon
    // tick later, once the bond has carrier): a bond configured before its slaves join tells
    // the switch and the neighbours where its address is.
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("garp1");
    a.ok(&["add", "bond0", "mode=active-backup", "miimon=100", "num_grat_arp=2"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
    a.ip(&["link", "set", "bond0", "up"]);
    let heard = gratuitous_arps(&b, "e1", [192, 0, 2, 1], Duration::from_secs(3), || {
        a.ok(&["enslave", "bond0", "e1"]);
    });
    assert_eq!(heard.len(), 2, "num_grat_arp 2: gratuitous ARPs after the first activation");
}

#[test]
fn a_hash_policy_spreads_flows_over_every_slave() {
    // The xdp_bonding/hash checks: many layer3+4 flows through balance-xor use both slaves.
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("spread");
    switch(&b, &["e1", "e2"]);
    a.ok(&["add", "bond0", "mode=balance-xor", "miimon=100", "xmit_hash_policy=layer3+4"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(10), "a ping", || ping_once(&a, "192.0.2.2"));
    let before = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    let script = "for p in $(seq 5000 5127); do echo x > /dev/udp/192.0.2.2/$p; done";
    must(&["ip", "netns", "exec", &a.ns, "bash", "-c", script]);
    let after = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    let spread = (after.0 - before.0, after.1 - before.1);
    eprintln!("128 flows: {spread:?} frames on (e1, e2)");
    assert!(spread.0 >= 16 && spread.1 >= 16, "both slaves carry flows: {spread:?}");
}

#[test]
fn passive_lacp_and_lacp_strict() {
    // Passive LACP: a passive port negotiates with an active partner (its actor state lacks
    // LACP_Activity: 62), two passive ends never do. lacp_strict: no partner, no carrier.
    if !can_run() {
        return;
    }
    let (a, b) = pair("passive");
    for (s, active) in [(&a, "off"), (&b, "on")] {
        s.ok(&[
            "add",
            "bond0",
            "mode=802.3ad",
            "miimon=100",
            "lacp_rate=fast",
            &format!("lacp_active={active}"),
        ]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
    }
    wait_for(Duration::from_secs(30), "a passive end negotiated with an active one", || {
        a.report("bond0").matches("port state: 62").count() >= 2
            && b.report("bond0").matches("port state: 63").count() >= 2
    });
    b.ok(&["del", "bond0"]);
    b.ok(&["add", "bond0", "mode=802.3ad", "miimon=100", "lacp_rate=fast", "lacp_active=off"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    // Both passive: nobody speaks first. A's ports expire their old partner and stay alone.
    wait_for(Duration::from_secs(15), "no partner on either end", || {
        [&a, &b].iter().all(|s| {
            let r = s.report("bond0");
            !r.contains("port state: 62") && !r.contains("port state: 63")
        })
    });
    std::thread::sleep(Duration::from_secs(4));
    for s in [&a, &b] {
        let r = s.report("bond0");
        assert!(!r.contains("port state: 62") && !r.contains("port state: 63"), "{r}");
    }
    // lacp_strict: without a partner the bond has no carrier; without strict it has.
    b.ok(&["del", "bond0"]);
    for e in ["e1", "e2"] {
        // Released slaves are left down: B's ends up again, with nothing speaking LACP.
        b.ip(&["link", "set", e, "up"]);
    }
    // (Waited for, not read after a fixed sleep: a loaded machine may take longer.)
    let bond_mii =
        |r: &str| r.lines().find_map(|l| l.strip_prefix("MII Status: ")).unwrap_or("").to_string();
    for strict in ["on", "off"] {
        a.ok(&["del", "bond0"]);
        a.ok(&["add", "bond0", "mode=802.3ad", "miimon=100", &format!("lacp_strict={strict}")]);
        a.ok(&["enslave", "bond0", "e1", "e2"]);
        a.ip(&["link", "set", "bond0", "up"]);
        wait_report(&a, "bond0", Duration::from_secs(10), "carrier on the slaves", |r| {
            slave_mii(r, "e1") == "up"
        });
        let t0 = Instant::now();
        if strict == "on" {
            // Longer than the bond without lacp_strict takes to get its carrier (below).
            while t0.elapsed() < Duration::from_secs(3) {
                let r = a.report("bond0");
                assert_eq!(bond_mii(&r), "down", "lacp_strict=on: {r}");
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            let took = wait_report(&a, "bond0", Duration::from_secs(10), "carrier", |r| {
                bond_mii(r) == "up"
            });
            eprintln!("lacp_strict=off: carrier {took:?} after the slaves'");
        }
    }
}

/// The `details partner lacp pdu` system MAC of slave `iface` in an 802.3ad report.
fn partner_mac(report: &str, iface: &str) -> String {
    slave_section(report, iface)
        .split_once("details partner lacp pdu:\n")
        .and_then(|(_, rest)| rest.lines().find_map(|l| l.strip_prefix("    system mac address: ")))
        .unwrap_or("")
        .to_string()
}

/// The actor's `port state` of slave `iface` in an 802.3ad report.
fn actor_state(report: &str, iface: &str) -> String {
    let section = slave_section(report, iface);
    section.lines().find_map(|l| l.strip_prefix("    port state: ")).unwrap_or("").to_string()
}

/// Slave `iface`'s part of a report.
fn slave_section<'a>(report: &'a str, iface: &str) -> &'a str {
    let head = format!("Slave Interface: {iface}\n");
    let rest = report.split_once(&head).map_or("", |(_, r)| r);
    rest.split_once("\nSlave Interface: ").map_or(rest, |(s, _)| s)
}

/// The `Active Aggregator Info` of an 802.3ad report: its number of ports and partner MAC.
fn active_aggregator(report: &str) -> (String, String) {
    let info = report.split_once("Active Aggregator Info:\n").map_or("", |(_, r)| r);
    let field = |label: &str| {
        info.lines()
            .take_while(|l| l.starts_with('\t'))
            .find_map(|l| l.trim_start().strip_prefix(label))
            .unwrap_or("")
            .to_string()
    };
    (field("Number of ports: "), field("Partner Mac Address: "))
}

#[test]
fn ad_select_stable_keeps_its_aggregator_bandwidth_and_count_take_the_bigger_one() {
    // bond_3ad.c ad_agg_selection_logic / ad_agg_selection_test with two aggregators: A's
    // bond has one port towards partner p1 and two towards partner p2 (two bonds on B). p1's
    // aggregator is active first; once p2's two ports are aggregated, stable keeps p1's
    // (it still has a link and an answering partner), bandwidth (2 x 10 Gb/s against one)
    // and count (2 ports against 1) take p2's. stable moves when p1's aggregator loses its
    // link. (One fast link against two slow ones, where bandwidth and count differ, is the
    // core's test: veths have one speed.)
    if !can_run() {
        return;
    }
    let mut a = side("adsel", "a");
    let mut b = side("adsel", "b");
    for e in ["e1", "e2", "e3"] {
        a.ip(&["link", "add", e, "type", "veth", "peer", "name", e, "netns", &b.ns]);
    }
    a.start_daemon();
    b.start_daemon();
    let lacp = ["mode=802.3ad", "miimon=100", "lacp_rate=fast"];
    for (bond, slaves) in [("p1", &["e1"][..]), ("p2", &["e2", "e3"][..])] {
        let mut args = vec!["add", bond];
        args.extend_from_slice(&lacp);
        b.ok(&args);
        let mut args = vec!["enslave", bond];
        args.extend_from_slice(slaves);
        b.ok(&args);
    }
    let system = |bond: &str| {
        let line = |r: &str| {
            r.lines().find_map(|l| l.strip_prefix("System MAC address: ")).unwrap_or("").to_string()
        };
        wait_report(&b, bond, Duration::from_secs(5), &format!("{bond}'s system MAC"), |r| {
            !matches!(line(r).as_str(), "" | "00:00:00:00:00:00")
        });
        line(&b.report(bond))
    };
    let (p1, p2) = (system("p1"), system("p2"));
    assert!(!p1.is_empty() && !p2.is_empty() && p1 != p2, "two partners: {p1:?} {p2:?}");
    let limit = Duration::from_secs(15);
    for policy in ["stable", "bandwidth", "count"] {
        let t0 = Instant::now();
        let _ = a.ubond(&["del", "bond0"]);
        let mut args = vec!["add", "bond0"];
        args.extend_from_slice(&lacp);
        let word = format!("ad_select={policy}");
        args.push(&word);
        a.ok(&args);
        a.ok(&["enslave", "bond0", "e1"]);
        wait_report(&a, "bond0", limit, &format!("{policy}: aggregated with p1"), |r| {
            active_aggregator(r) == ("1".into(), p1.clone())
        });
        a.ok(&["enslave", "bond0", "e2", "e3"]);
        // Both ports heard p2 and share one aggregator (not e1's).
        wait_report(&a, "bond0", limit, &format!("{policy}: p2's aggregator"), |r| {
            let agg = |e: &str| slave_field(r, e, "Aggregator ID: ");
            ["e2", "e3"].iter().all(|e| partner_mac(r, e) == p2)
                && agg("e2") == agg("e3")
                && agg("e2") != agg("e1")
        });
        if policy == "stable" {
            let hold = Instant::now();
            while hold.elapsed() < Duration::from_millis(1500) {
                let r = a.report("bond0");
                assert_eq!(
                    active_aggregator(&r),
                    ("1".into(), p1.clone()),
                    "stable keeps p1's:\n{r}"
                );
                // p2's ports are selected but not in sync: they carry nothing.
                assert!(["e2", "e3"].iter().all(|e| actor_state(&r, e) != "63"), "{r}");
                std::thread::sleep(Duration::from_millis(50));
            }
            // ...until its link goes.
            a.ip(&["link", "set", "e1", "down"]);
        }
        wait_report(&a, "bond0", limit, &format!("{policy}: p2's aggregator active"), |r| {
            active_aggregator(r) == ("2".into(), p2.clone())
        });
        // Its ports distribute, with the partner's agreement.
        wait_report(&a, "bond0", limit, &format!("{policy}: e2 and e3 distribute"), |r| {
            ["e2", "e3"].iter().all(|e| slave_section(r, e).matches("port state: 63").count() == 2)
        });
        eprintln!("ad_select {policy}: {:?}", t0.elapsed());
    }
}
