//! Root tests that re-express the checks of the Linux bonding driver's own selftests
//! (`tools/testing/selftests/drivers/net/bonding/`) against ubond bonds in network namespaces,
//! written from what each check observes: a carrier loss seen within `miimon` even when the
//! kernel announces it late, recovery with `updelay` in active-backup and balance-xor
//! (`mode-1-recovery-updelay.sh`, `mode-2-recovery-updelay.sh`), multicast membership instead
//! of promiscuous mode (`dev_addr_lists.sh`, `bond_options.sh` arp_validate with NS targets),
//! `fail_over_mac=follow`, a released slave left down, ARP monitoring of a bond that is down
//! (`bond-arp-interval-causes-panic.sh`).
//!
//! Skipped (with a note) when not run as root or without `ip`. Namespaces are named
//! `ubd-<pid>-<test>-<letter>`; addresses are in 192.0.2.0/24 and 2001:db8::/32 only.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

mod support;

use support::*;

/// The `MII Status` line of slave `iface` in a report.
fn slave_mii(report: &str, iface: &str) -> String {
    let head = format!("Slave Interface: {iface}\n");
    report
        .split_once(&head)
        .and_then(|(_, rest)| rest.lines().find_map(|l| l.strip_prefix("MII Status: ")))
        .unwrap_or("")
        .to_string()
}

/// The active slave a report names.
fn active_of(report: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix("Currently Active Slave: "))
        .unwrap_or("")
        .to_string()
}

/// `ip -o link show IFACE` in the side's namespace.
fn link_line(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-o", "link", "show", iface]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Two fresh namespaces (only `lo` in each) joined by veth pairs `e1` and `e2` made first, so
/// that both ends of each pair have the same interface index: the kernel then treats their
/// carrier losses as events that are not urgent (`linkwatch_urgent_event`: a device whose
/// index differs from its link's is urgent), announced at most once a second, as on most
/// physical NICs. Only A runs a daemon; B is the "switch".
fn same_index_pair(test: &str) -> (Side, Side) {
    let mut a = side(test, "a");
    let b = side(test, "b");
    for e in ["e1", "e2"] {
        a.ip(&["link", "add", e, "type", "veth", "peer", "name", e, "netns", &b.ns]);
        b.ip(&["link", "set", e, "up"]);
        let line = link_line(&a, e);
        let index = line.split(':').next().unwrap_or("").trim().to_string();
        assert!(
            line.contains(&format!("{e}@if{index}:")),
            "the premise: both ends of {e} have index {index}: {line}"
        );
    }
    a.start_daemon();
    (a, b)
}

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
    let mut delays = Vec::new();
    for _ in 0..3 {
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

/// Frames an interface sent, from its counters.
fn tx_packets(s: &Side, iface: &str) -> u64 {
    let path = format!("/sys/class/net/{iface}/statistics/tx_packets");
    let o = sh(&["ip", "netns", "exec", &s.ns, "cat", &path]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0)
}

/// `ping -c 1 -W 1 ADDR` from the side's namespace.
fn ping_once(s: &Side, to: &str) -> bool {
    sh(&["ip", "netns", "exec", &s.ns, "ping", "-c", "1", "-W", "1", to]).status.success()
}

/// B as the selftests' "switch": a bridge over its ends of e1 and e2, with 192.0.2.2 and
/// 2001:db8::254.
fn switch(b: &Side) {
    b.ip(&["link", "add", "br0", "type", "bridge"]);
    for e in ["e1", "e2"] {
        b.ip(&["link", "set", e, "master", "br0"]);
    }
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "br0"]);
    b.ip(&["addr", "add", "2001:db8::254/64", "dev", "br0", "nodad"]);
    b.ip(&["link", "set", "br0", "up"]);
}

#[test]
fn recovery_with_updelay_when_no_slave_is_up_in_modes_1_and_2() {
    // mode-1-recovery-updelay.sh / mode-2-recovery-updelay.sh: the switch side of eth0 goes
    // down; 2 s later it comes back while eth1 goes down. With no slave up, the recovering
    // one is used at once, whatever updelay says; and right after enslaving too.
    if !can_run() {
        return;
    }
    for (i, mode) in ["active-backup", "balance-xor"].iter().enumerate() {
        let (a, b) = same_index_pair(&format!("recov{i}"));
        switch(&b);
        a.ok(&["add", "bond0", &format!("mode={mode}"), "miimon=100", "updelay=10000"]);
        a.ok(&["enslave", "bond0", "e1", "e2"]);
        a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
        a.ip(&["link", "set", "bond0", "up"]);
        let took = wait_for(Duration::from_secs(5), &format!("{mode}: a first ping"), || {
            ping_once(&a, "192.0.2.2")
        });
        eprintln!("{mode}: connectivity {took:?} after enslaving (updelay 10 s)");
        wait_for(Duration::from_secs(15), "both slaves up", || {
            let r = a.report("bond0");
            slave_mii(&r, "e1") == "up" && slave_mii(&r, "e2") == "up"
        });
        b.ip(&["link", "set", "e1", "down"]);
        std::thread::sleep(Duration::from_secs(2));
        b.ip(&["link", "set", "e1", "up"]);
        b.ip(&["link", "set", "e2", "down"]);
        let t0 = Instant::now();
        let ok = sh(&["ip", "netns", "exec", &a.ns, "ping", "-c", "2", "192.0.2.2"]);
        eprintln!(
            "{mode}: after the flap: {:?}: {}",
            t0.elapsed(),
            String::from_utf8_lossy(&ok.stdout)
                .lines()
                .find(|l| l.contains("received"))
                .unwrap_or("")
        );
        assert!(
            ok.status.success(),
            "{mode}: ping -c 2 after the flap: {}\n{}",
            String::from_utf8_lossy(&ok.stdout),
            a.report("bond0")
        );
        assert_eq!(slave_mii(&a.report("bond0"), "e1"), "up", "{mode}: e1 used at once");
    }
}

/// The link-layer multicast addresses (`ip maddr`'s `link` lines) of `iface`.
fn maddrs(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "maddr", "show", "dev", iface]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `promiscuity N` of `ip -d link show IFACE`.
fn promiscuity(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-d", "link", "show", iface]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "promiscuity").unwrap_or(0);
    words.get(i + 1).unwrap_or(&"").to_string()
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
fn backups_join_the_ns_targets_solicited_node_groups_with_arp_validate() {
    // bond_options.sh arp_validate with ns_ip6_target: every backup joins the targets'
    // solicited-node groups (`ip maddr`), the active slave does not; no promiscuous mode.
    // Made in one step: rtnetlink's rules keep arp_interval without arp_ip_target.
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("nsmc");
    switch(&b);
    a.ok(&[
        "add",
        "bond0",
        "mode=active-backup",
        "arp_interval=100",
        "ns_ip6_target=2001:db8::254",
        "arp_validate=all",
        "primary=e1",
    ]);
    assert_eq!(a.ok(&["get", "bond0", "arp_interval"]).trim(), "100");
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["addr", "add", "2001:db8::1/64", "dev", "bond0", "nodad"]);
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(10), "e1 active", || active_of(&a.report("bond0")) == "e1");
    let group = "33:33:ff:00:02:54";
    wait_for(Duration::from_secs(5), "the backup in the target's group", || {
        maddrs(&a, "e2").contains(group)
    });
    assert!(!maddrs(&a, "e1").contains(group), "the active slave: {}", maddrs(&a, "e1"));
    for e in ["e1", "e2"] {
        assert_eq!(promiscuity(&a, e), "0", "{e}: no promiscuous mode");
    }
    // The bond's own groups go to the slave receiving for it (all-nodes, its address's
    // solicited-node group).
    wait_for(Duration::from_secs(5), "the bond's groups on the active slave", || {
        maddrs(&a, "e1").contains("33:33:ff:00:00:01")
    });
}

#[test]
fn fail_over_mac_follow_a_returning_first_slave_gets_another_address() {
    if !can_run() {
        return;
    }
    let (a, _b) = same_index_pair("fomf");
    a.ok(&["add", "bond0", "mode=active-backup", "miimon=100", "fail_over_mac=follow"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    let bond_mac = mac_of(&a, "bond0");
    assert_eq!(mac_of(&a, "e1"), bond_mac);
    a.ok(&["release", "bond0", "e1"]);
    assert_eq!(mac_of(&a, "e1"), bond_mac, "its own address back (the bond's)");
    a.ok(&["enslave", "bond0", "e1"]);
    let again = mac_of(&a, "e1");
    assert_ne!(again, bond_mac, "a returning slave may not share the bond's address");
    assert_ne!(again, mac_of(&a, "e2"));
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
    switch(&b);
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
    // Down: nothing at all.
    a.ip(&["link", "set", "bond0", "down"]);
    std::thread::sleep(Duration::from_millis(300));
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

/// Gratuitous ARPs for `ip` (sender and target address equal) heard on B's `iface` during
/// `window`, from a packet socket opened before `act` runs.
fn gratuitous_arps(
    b: &Side,
    iface: &str,
    ip: [u8; 4],
    window: Duration,
    act: impl FnOnce(),
) -> usize {
    let (ns, iface) = (b.ns.clone(), iface.to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    let listener = in_netns(&ns, move || {
        let options = ubond_sys::PacketOptions { slow_protocols: false, ..Default::default() };
        let sock = ubond_sys::PacketSocket::open(&iface, options).unwrap();
        tx.send(()).unwrap();
        let t0 = Instant::now();
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while t0.elapsed() < window {
            match sock.recv(&mut buf) {
                Ok(Some(len)) if len >= 42 && buf[12..14] == [0x08, 0x06] => {
                    n += usize::from(buf[28..32] == ip && buf[38..42] == ip);
                }
                Ok(Some(_)) => {}
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        n
    });
    rx.recv().unwrap();
    act();
    listener.join().unwrap()
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
        let heard = gratuitous_arps(&b, "e2", [192, 0, 2, 1], Duration::from_millis(1500), || {
            a.ip(&["link", "set", "e1", "down"]);
        });
        assert_eq!(heard, count, "num_grat_arp {count}: gratuitous ARPs after the failover");
        a.ip(&["link", "set", "e1", "up"]);
    }
}

#[test]
fn a_hash_policy_spreads_flows_over_every_slave() {
    // The xdp_bonding/hash checks: many layer3+4 flows through balance-xor use both slaves.
    if !can_run() {
        return;
    }
    let (a, b) = same_index_pair("spread");
    switch(&b);
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
    for (strict, carrier) in [("on", "down"), ("off", "up")] {
        a.ok(&["del", "bond0"]);
        a.ok(&["add", "bond0", "mode=802.3ad", "miimon=100", &format!("lacp_strict={strict}")]);
        a.ok(&["enslave", "bond0", "e1", "e2"]);
        a.ip(&["link", "set", "bond0", "up"]);
        std::thread::sleep(Duration::from_secs(2));
        let r = a.report("bond0");
        assert_eq!(slave_mii(&r, "e1"), "up", "carrier on the slaves: {r}");
        let bond_mii = r.lines().find_map(|l| l.strip_prefix("MII Status: ")).unwrap_or("");
        assert_eq!(bond_mii, carrier, "lacp_strict={strict}: {r}");
    }
}
