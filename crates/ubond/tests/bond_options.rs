//! Root tests that re-express the checks of the kernel's `bond_options.sh`
//! (`tools/testing/selftests/drivers/net/bonding/`) against ubond bonds, written from what each
//! check observes:
//!
//! * `prio` with `primary` and `primary_reselect` always, better and failure: in
//!   active-backup, balance-tlb and balance-alb with the MII monitor, and in active-backup with
//!   the ARP monitor over an ARP target and over an NS target;
//! * `arp_validate` 0 to 6 with an ARP target and with NS targets: every slave is judged up
//!   and stays so under the same active slave, and with NS targets the backups (only they) join
//!   the targets' solicited-node groups, before and after a failover;
//! * `fail_over_mac` none, active and follow: which addresses the bond and its slaves have,
//!   before and after a failover, and that the peer learns the bond's new address.
//!
//! The topology is `bond_topo_3d1c.sh`'s: the bond's namespace A with slaves e1, e2, e3 (the
//! selftests' eth0, eth1, eth2), veths to a bridge in namespace B that holds the gateway's and
//! the client's addresses. Skipped (with a note) when not run as root or without `ip`.
//! Namespaces are named `ubd-<pid>-<test>-<letter>`; addresses are in 192.0.2.0/24 and
//! 2001:db8::/32 only.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::bonding::*;
use support::*;

const LINKS: [&str; 3] = ["e1", "e2", "e3"];
/// The selftests' client address (`c_ip6`), B's too: a second NS target.
const CLIENT_V6: &str = "2001:db8::10";
/// The NS targets' solicited-node groups (`g_maddr`, `c_maddr`).
const NS_GROUPS: [&str; 2] = ["33:33:ff:00:02:54", "33:33:ff:00:00:10"];
/// How long a check waits for the bond to get somewhere.
const LIMIT: Duration = Duration::from_secs(5);

/// A with e1, e2, e3 to B's bridge (the gateway's and the client's addresses), A's daemon.
fn topology(test: &str) -> (Side, Side) {
    let (a, b) = same_index_links(test, &LINKS);
    switch(&b, &LINKS);
    b.ip(&["addr", "add", &format!("{CLIENT_V6}/64"), "dev", "br0", "nodad"]);
    (a, b)
}

/// The selftests' `bond_reset`: bond0 deleted and made again with `options`, e1, e2, e3
/// enslaved in that order, its addresses, up.
fn bond_reset(a: &Side, options: &[String]) {
    let _ = a.ubond(&["del", "bond0"]);
    let mut args = vec!["add", "bond0"];
    args.extend(options.iter().map(String::as_str));
    a.ok(&args);
    a.ok(&["enslave", "bond0", "e1", "e2", "e3"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
    a.ip(&["addr", "add", "2001:db8::1/64", "dev", "bond0", "nodad"]);
    a.ip(&["link", "set", "bond0", "up"]);
}

fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

/// `ubond WORDS...` (the `ip` words) run in A's namespace; its standard output.
fn ubond_ip(a: &Side, w: &[&str]) -> String {
    let o = Command::new("ip")
        .args(["netns", "exec", &a.ns, BIN])
        .args(w)
        .env("UBOND_CONTROL", a.socket())
        .output()
        .unwrap();
    assert!(o.status.success(), "ubond {w:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `prio N` of `ubond -d link show IFACE` (iproute2's `bond_slave` details).
fn prio_shown(a: &Side, iface: &str) -> String {
    let text = ubond_ip(a, &["-d", "link", "show", iface]);
    let w: Vec<&str> = text.split_whitespace().collect();
    w.iter().position(|w| *w == "prio").and_then(|i| w.get(i + 1)).unwrap_or(&"").to_string()
}

/// `ip link set IFACE type bond_slave prio N` for each, read back as `ip -d link show` shows it.
fn set_prios(a: &Side, prios: &[(&str, &str)]) {
    for (iface, prio) in prios {
        ubond_ip(a, &["link", "set", iface, "type", "bond_slave", "prio", prio]);
    }
    for (iface, prio) in prios {
        assert_eq!(prio_shown(a, iface), *prio, "{iface}'s prio");
    }
}

/// Waits for `want` to be the active slave.
fn wait_active(a: &Side, want: &str, what: &str) {
    wait_report(a, "bond0", LIMIT, &format!("{what}: {want} active"), |r| active_of(r) == want);
}

/// Waits for slave `iface`'s link to be up.
fn wait_up(a: &Side, iface: &str, what: &str) {
    wait_report(a, "bond0", LIMIT, &format!("{what}: {iface} up"), |r| slave_mii(r, iface) == "up");
}

/// The active slave is `want` and stays so for a few monitor intervals (a reselection that
/// should not happen would have happened with the link change already waited for).
fn holds_active(a: &Side, want: &str, what: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(400) {
        let r = a.report("bond0");
        assert_eq!(active_of(&r), want, "{what}: {want} stays active:\n{r}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn set_link(a: &Side, iface: &str, state: &str) {
    a.ip(&["link", "set", iface, state]);
}

/// bond_options.sh `prio_test` with the bond options `monitor` and `primary_reselect`
/// `reselect`: e1, e2, e3 with prio 0, 10, 11 and e2 the primary.
fn prio_test(a: &Side, monitor: &[&str], reselect: &str) {
    let label = format!("{} primary_reselect {reselect}", monitor.join(" "));
    let what = |step: &str| format!("{label}: {step}");
    let mut options = words(monitor);
    options.extend(words(&["primary=e2", &format!("primary_reselect={reselect}")]));
    let t0 = Instant::now();
    bond_reset(a, &options);
    set_prios(a, &[("e1", "0"), ("e2", "10"), ("e3", "11")]);
    check_connection(a, &what("setup"));
    // The primary is made active when enslaved, whatever primary_reselect says.
    wait_active(a, "e2", &what("setup"));
    // The active slave fails: the highest prio of the others.
    set_link(a, "e2", "down");
    wait_active(a, "e3", &what("fail over"));
    check_connection(a, &what("fail over"));
    set_link(a, "e3", "down");
    wait_active(a, "e1", &what("only 1 slave up"));
    check_connection(a, &what("only 1 slave up"));
    // A slave of higher prio returns: only `always` takes it.
    set_link(a, "e3", "up");
    wait_up(a, "e3", &what("higher prio slave up"));
    let kept = if reselect == "always" { "e3" } else { "e1" };
    wait_active(a, kept, &what("higher prio slave up"));
    holds_active(a, kept, &what("higher prio slave up"));
    check_connection(a, &what("higher prio slave up"));
    // The primary returns: `always` takes it; `better` (the same speed) and `failure` keep
    // the active slave, `failure` until it fails.
    set_link(a, "e2", "up");
    wait_up(a, "e2", &what("primary slave up"));
    match reselect {
        "always" => wait_active(a, "e2", &what("primary slave up")),
        _ => holds_active(a, kept, &what("primary slave up")),
    }
    check_connection(a, &what("primary slave up"));
    if reselect == "failure" {
        set_link(a, kept, "down");
        wait_active(a, "e2", &what("pre_active slave down"));
        check_connection(a, &what("pre_active slave down"));
    }
    if reselect == "always" {
        // New prios: the primary stays; without it the highest prio wins.
        set_prios(a, &[("e1", "1000000"), ("e2", "0"), ("e3", "-50")]);
        holds_active(a, "e2", &what("changed slave prio"));
        set_link(a, "e2", "down");
        wait_active(a, "e1", &what("changed slave prio"));
        check_connection(a, &what("changed slave prio"));
    }
    eprintln!("prio, {label}: {:?}", t0.elapsed());
}

fn prio_all_reselects(test: &str, monitor: &[&str]) {
    let (a, _b) = topology(test);
    for reselect in ["always", "better", "failure"] {
        prio_test(&a, monitor, reselect);
    }
}

#[test]
fn prio_active_backup_miimon() {
    if !can_run() {
        return;
    }
    prio_all_reselects("prio1", &["mode=active-backup", "miimon=100"]);
}

#[test]
fn prio_balance_tlb_miimon() {
    if !can_run() {
        return;
    }
    prio_all_reselects("prio5", &["mode=balance-tlb", "miimon=100"]);
}

#[test]
fn prio_balance_alb_miimon() {
    if !can_run() {
        return;
    }
    prio_all_reselects("prio6", &["mode=balance-alb", "miimon=100"]);
}

#[test]
fn prio_active_backup_arp_ip_target() {
    if !can_run() {
        return;
    }
    let target = format!("arp_ip_target={SWITCH_V4}");
    prio_all_reselects("prioarp", &["mode=active-backup", "arp_interval=100", &target]);
}

#[test]
fn prio_active_backup_ns_ip6_target() {
    if !can_run() {
        return;
    }
    let target = format!("ns_ip6_target={SWITCH_V6}");
    prio_all_reselects("prions", &["mode=active-backup", "arp_interval=100", &target]);
}

/// `arp_validate`'s values, by number as the selftest sets them.
const ARP_VALIDATE: [&str; 7] =
    ["none", "active", "backup", "all", "filter", "filter_active", "filter_backup"];

/// bond_options.sh `arp_validate_test`: a bond monitored through `target` with
/// `arp_validate` `value` reaches B, every slave is judged up, and they stay up (no link
/// failure at all) under the same active slave. The active slave.
fn arp_validate_test(a: &Side, target: &str, value: usize) -> String {
    let what = format!("{target} arp_validate {value} ({})", ARP_VALIDATE[value]);
    let validate = format!("arp_validate={value}");
    bond_reset(a, &words(&["mode=active-backup", "arp_interval=100", target, &validate]));
    check_connection(a, &what);
    let all_up = |r: &str| LINKS.iter().all(|e| slave_mii(r, e) == "up");
    wait_report(a, "bond0", LIMIT, &format!("{what}: every slave up"), |r| {
        all_up(r) && !active_of(r).is_empty()
    });
    let active = active_of(&a.report("bond0"));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(800) {
        let r = a.report("bond0");
        assert!(all_up(&r) && active_of(&r) == active, "{what}: every slave stays up:\n{r}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = a.report("bond0");
    for e in LINKS {
        assert_eq!(slave_field(&r, e, "Link Failure Count: "), "0", "{what}: {e} never down:\n{r}");
    }
    active
}

#[test]
fn arp_validate_with_an_arp_target_keeps_every_slave_up() {
    if !can_run() {
        return;
    }
    let (a, _b) = topology("arpval4");
    let target = format!("arp_ip_target={SWITCH_V4}");
    for value in 0..ARP_VALIDATE.len() {
        arp_validate_test(&a, &target, value);
    }
}

/// bond_options.sh `arp_validate_mcast`: with `arp_validate`, every slave but the active one
/// is in both NS targets' solicited-node groups; the active slave is in neither, and without
/// `arp_validate` no slave is.
fn check_ns_groups(a: &Side, validate: bool, what: &str) {
    let t0 = Instant::now();
    loop {
        let active = active_of(&a.report("bond0"));
        let wrong: Vec<String> = LINKS
            .iter()
            .filter_map(|e| {
                let m = maddrs(a, e);
                let want = validate && *e != active;
                let ok = NS_GROUPS.iter().all(|g| m.contains(g) == want);
                (!ok).then(|| format!("{e} (active {active}, want groups: {want}):\n{m}"))
            })
            .collect();
        if wrong.is_empty() {
            return;
        }
        assert!(t0.elapsed() < LIMIT, "{what}: the NS targets' groups: {}", wrong.join("\n"));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn arp_validate_with_ns_targets_keeps_every_slave_up_and_backups_join_the_groups() {
    if !can_run() {
        return;
    }
    let (a, _b) = topology("arpval6");
    let target = format!("ns_ip6_target={SWITCH_V6},{CLIENT_V6}");
    for (value, name) in ARP_VALIDATE.iter().enumerate() {
        let what = format!("arp_validate {value} ({name})");
        let active = arp_validate_test(&a, &target, value);
        if value == 0 {
            // Made in one step: rtnetlink's rules keep arp_interval without arp_ip_target.
            assert_eq!(a.ok(&["get", "bond0", "arp_interval"]).trim(), "100");
        }
        check_ns_groups(&a, value > 0, &what);
        // No slave is promiscuous; the bond's own groups (its address's solicited-node
        // group) are on the slave receiving for it.
        for e in LINKS {
            assert_eq!(promiscuity(&a, e), "0", "{what}: {e} not promiscuous");
        }
        wait_for(LIMIT, "the bond's own groups on the active slave", || {
            maddrs(&a, &active).contains("33:33:ff:00:00:01")
        });
        // A failover: the groups follow the backups.
        set_link(&a, &active, "down");
        wait_report(&a, "bond0", LIMIT, &format!("{what}: another active slave"), |r| {
            !active_of(r).is_empty() && active_of(r) != active
        });
        check_ns_groups(&a, value > 0, &format!("{what}, after a failover"));
        check_connection(&a, &format!("{what}, after a failover"));
    }
}

/// The selftest topology's slave addresses (`mac[0..2]`, locally administered here).
const MACS: [&str; 3] = ["02:0a:0b:0c:0d:01", "02:0a:0b:0c:0d:02", "02:0a:0b:0c:0d:03"];

/// `do_active_backup_failover`: the active slave goes down until another is active, then
/// comes back up.
fn failover(a: &Side, what: &str) {
    let active = active_of(&a.report("bond0"));
    set_link(a, &active, "down");
    wait_report(a, "bond0", LIMIT, &format!("{what}: failover from {active}"), |r| {
        !active_of(r).is_empty() && active_of(r) != active
    });
    set_link(a, &active, "up");
    wait_up(a, &active, what);
}

/// The addresses of bond0 and of e1, e2, e3, and the active slave.
fn addresses(a: &Side) -> (String, [String; 3], String) {
    let bond = mac_of(a, "bond0");
    let slaves = LINKS.map(|e| mac_of(a, e));
    (bond, slaves, active_of(&a.report("bond0")))
}

/// Waits up to [`LIMIT`] for `check` to pass on [`addresses`]; panics with its complaint.
fn addresses_become(a: &Side, what: &str, check: impl Fn(&str, &[String; 3], usize) -> String) {
    let t0 = Instant::now();
    loop {
        let (bond, slaves, active) = addresses(a);
        let i = LINKS.iter().position(|e| *e == active);
        let why = i.map_or_else(|| "no active slave".to_string(), |i| check(&bond, &slaves, i));
        if why.is_empty() {
            return;
        }
        assert!(
            t0.elapsed() < LIMIT,
            "{what}: {why}: bond0 {bond}, slaves {slaves:?}, active {active}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// fail_over_mac 0: every slave has the bond's address, the first slave's.
fn all_mac_same(bond: &str, slaves: &[String; 3], _: usize) -> String {
    if bond != MACS[0] {
        return "the bond's address is not the first slave's".into();
    }
    if slaves.iter().any(|m| m != bond) {
        return "a slave's address is not the bond's".into();
    }
    String::new()
}

/// fail_over_mac 1: the bond has the active slave's address; backups keep their own.
fn bond_mac_is_the_actives(bond: &str, slaves: &[String; 3], active: usize) -> String {
    if *bond != slaves[active] {
        return "the bond's address is not the active slave's".into();
    }
    if (0..3).any(|i| i != active && slaves[i] != MACS[i]) {
        return "a backup's address changed".into();
    }
    String::new()
}

/// fail_over_mac 2: the bond keeps the first slave's address, the active slave has it, and the
/// backups have the other slaves' own addresses.
fn active_follows_the_bond(bond: &str, slaves: &[String; 3], active: usize) -> String {
    if bond != MACS[0] {
        return "the bond's address is not the first slave's".into();
    }
    if *bond != slaves[active] {
        return "the active slave's address is not the bond's".into();
    }
    if (0..3).any(|i| i != active && !MACS[1..].contains(&slaves[i].as_str())) {
        return "a backup's address is not mac[1] or mac[2]".into();
    }
    String::new()
}

#[test]
fn fail_over_mac_none_active_and_follow() {
    if !can_run() {
        return;
    }
    let (a, b) = topology("fomac");
    for (e, mac) in LINKS.iter().zip(MACS) {
        a.ip(&["link", "set", e, "address", mac]);
    }
    // The first slave's switch port is down, so that another slave becomes active.
    b.ip(&["link", "set", "e1", "down"]);

    // none: every slave has the bond's address, after a failover too.
    bond_reset(&a, &words(&["mode=active-backup", "miimon=100", "fail_over_mac=0"]));
    check_connection(&a, "fail_over_mac 0");
    addresses_become(&a, "fail_over_mac 0", all_mac_same);
    failover(&a, "fail_over_mac 0");
    addresses_become(&a, "fail_over_mac 0, failover", all_mac_same);

    // active: the bond takes the active slave's address; backups keep theirs; the peer
    // learns the new address from the gratuitous ARP.
    bond_reset(&a, &words(&["mode=active-backup", "miimon=100", "fail_over_mac=1"]));
    check_connection(&a, "fail_over_mac 1");
    addresses_become(&a, "fail_over_mac 1", bond_mac_is_the_actives);
    // (One probe may be lost on a loaded machine: B reaches the bond within the limit.)
    wait_for(LIMIT, "B to reach the bond", || ping_once(&b, "192.0.2.1"));
    let peer_sees = || ip_out(&b, &["neigh", "show", "192.0.2.1", "dev", "br0"]);
    let (before, _, _) = addresses(&a);
    assert!(peer_sees().contains(&before), "B's neighbour entry: {}", peer_sees());
    // (The window includes the failover itself, which a loaded machine may take long to do.)
    let announced = gratuitous_arps(&b, "br0", [192, 0, 2, 1], Duration::from_secs(3), || {
        failover(&a, "fail_over_mac 1");
    });
    addresses_become(&a, "fail_over_mac 1, failover", bond_mac_is_the_actives);
    let (after, _, _) = addresses(&a);
    assert_ne!(after, before, "the bond's address follows the active slave");
    let hex = |m: &[u8; 6]| m.map(|o| format!("{o:02x}")).join(":");
    let announced: Vec<String> = announced.iter().map(hex).collect();
    assert!(announced.contains(&after), "a gratuitous ARP from {after}: {announced:?}");
    wait_for(LIMIT, "B's neighbour entry for the bond to have its new address", || {
        peer_sees().contains(&after)
    });
    check_connection(&a, "fail_over_mac 1, failover");

    // follow: the bond keeps its address, the active slave takes it, backups inherit.
    bond_reset(&a, &words(&["mode=active-backup", "miimon=100", "fail_over_mac=2"]));
    check_connection(&a, "fail_over_mac 2");
    addresses_become(&a, "fail_over_mac 2", active_follows_the_bond);
    failover(&a, "fail_over_mac 2");
    addresses_become(&a, "fail_over_mac 2, failover", active_follows_the_bond);
    check_connection(&a, "fail_over_mac 2, failover");
    // A first slave released and enslaved again gets another address (it would otherwise
    // share the bond's); released, its own address back.
    a.ok(&["release", "bond0", "e1"]);
    assert_eq!(mac_of(&a, "e1"), MACS[0], "released: its own address");
    a.ok(&["enslave", "bond0", "e1"]);
    let again = mac_of(&a, "e1");
    assert!(!MACS.contains(&again.as_str()), "a returning first slave: {again}");
    a.ok(&["release", "bond0", "e1"]);
    assert_eq!(mac_of(&a, "e1"), MACS[0], "released again: its own address");
}
