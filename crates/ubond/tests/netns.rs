//! Root tests: two network namespaces joined by two veth pairs, a ubond daemon in each, bonds
//! on both sides, ping across. Skipped (with a note) when not run as root or without `ip`.
//!
//! Everything stays inside namespaces named `ubd-<pid>-<test>-a/b`, addressed in 192.0.2.0/24
//! only; drop guards stop the daemons (by pid) and delete the namespaces even on failure.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;

use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::*;

/// The slave sysctls the daemon changes while enslaved.
fn sysctls_of(s: &Side) -> String {
    let script =
        "cat /proc/sys/net/ipv6/conf/e1/disable_ipv6 /proc/sys/net/ipv4/conf/e1/arp_ignore \
                  /proc/sys/net/ipv4/conf/e1/rp_filter";
    let o = sh(&["ip", "netns", "exec", &s.ns, "sh", "-c", script]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn mtu_of(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-o", "link", "show", iface]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    words.iter().position(|w| *w == "mtu").and_then(|i| words.get(i + 1)).unwrap_or(&"").to_string()
}

fn bond_up(a: &Side, b: &Side, options: &[&str]) {
    for (s, addr) in [(a, "192.0.2.1/24"), (b, "192.0.2.2/24")] {
        let mut add = vec!["add", "bond0"];
        add.extend_from_slice(options);
        s.ok(&add);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
}

#[test]
fn lacp_bond_pings_and_survives_a_link_down() {
    if !can_run() {
        return;
    }
    let (mut a, mut b) = pair("lacp");
    let macs: Vec<String> = ["e1", "e2"].iter().map(|e| mac_of(&a, e)).collect();
    let sysctls = sysctls_of(&a);
    bond_up(&a, &b, &["mode=802.3ad", "lacp_rate=fast", "miimon=100"]);
    let took =
        wait_for(Duration::from_secs(30), "port state 63 on both slaves, both sides", || {
            [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() >= 4)
        });
    eprintln!("LACP converged in {took:?}");
    assert_eq!(sysctls_of(&a), "1\n8\n1\n", "no IPv6, no ARP answers, strict rp_filter");
    assert!(a.ok(&["status", "bond0"]).contains("Bonding Mode: IEEE 802.3ad"));
    let json = a.ok(&["status", "bond0", "--json"]);
    assert!(json.trim_start().starts_with('{'), "{json}");
    // (Nothing orders the data paths' readiness before the reports' port state: a ping within
    // a limit, as after every other bond's setup.)
    wait_for(Duration::from_secs(10), "a ping over the LACP bond", || ping(&a, "192.0.2.2"));

    a.ip(&["link", "set", "e1", "down"]);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(10), "a ping after e1 went down", || ping(&a, "192.0.2.2"));
    eprintln!("ping back {:?} after e1 went down", t0.elapsed());

    // `ubond shutdown`: bond gone, slaves' addresses as found. (Stopping the daemon keeps
    // the bond for the next one, see tests/restart.rs.)
    assert!(a.shutdown(), "daemon A shut down cleanly");
    assert!(b.shutdown(), "daemon B shut down cleanly");
    let after: Vec<String> = ["e1", "e2"].iter().map(|e| mac_of(&a, e)).collect();
    assert_eq!(macs, after, "slave MACs restored");
    assert_eq!(sysctls, sysctls_of(&a), "slave sysctls restored");
    assert!(!sh(&["ip", "-n", &a.ns, "link", "show", "bond0"]).status.success(), "tap gone");
}

#[test]
fn active_backup_pings_and_fails_over() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("ab");
    bond_up(&a, &b, &["mode=active-backup", "miimon=100"]);
    wait_for(Duration::from_secs(10), "a ping over active-backup", || ping(&a, "192.0.2.2"));
    let active = a.ok(&["get", "bond0", "active_slave"]).trim().to_string();
    assert!(active == "e1" || active == "e2", "active slave {active:?}");
    a.ip(&["link", "set", &active, "down"]);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(10), "a ping after the failover", || ping(&a, "192.0.2.2"));
    eprintln!("active-backup: ping back {:?} after {active} went down", t0.elapsed());
    let now = a.ok(&["get", "bond0", "active_slave"]).trim().to_string();
    assert_ne!(now, active);
    // The slaves follow the bond's MTU; a released slave gets its own back.
    a.ip(&["link", "set", "bond0", "mtu", "9000"]);
    wait_for(Duration::from_secs(5), "the slaves at MTU 9000", || {
        ["e1", "e2"].iter().all(|e| mtu_of(&a, e) == "9000")
    });
    // sysfs-style slave changes.
    a.ok(&["set", "bond0", "slaves", "-e1"]);
    assert_eq!(a.ok(&["get", "bond0", "slaves"]).trim(), "e2");
    assert_eq!(mtu_of(&a, "e1"), "1500");
    a.ok(&["set", "bond0", "slaves", "+e1"]);
    // A slave that disappears is released.
    a.ip(&["link", "del", "e1"]);
    wait_for(Duration::from_secs(5), "e1 released on both sides", || {
        [&a, &b].iter().all(|s| s.ok(&["get", "bond0", "slaves"]).trim() == "e2")
    });
    a.ok(&["del", "bond0"]);
    assert!(!sh(&["ip", "-n", &a.ns, "link", "show", "bond0"]).status.success(), "tap gone");
}

#[test]
fn user_errors_say_what_to_do() {
    if !can_run() {
        return;
    }
    let (mut a, _b) = pair("err");
    let e = a.fails(&["enslave", "nosuch", "e1"]);
    assert!(e.contains("no bond nosuch"), "{e}");
    a.ok(&["add", "bond0", "mode=active-backup"]);
    let e = a.fails(&["add", "bond1", "mode=bogus"]);
    assert!(e.contains("bad option"), "{e}");
    let e = a.fails(&["add", "bond0"]);
    assert!(e.contains("exists already"), "{e}");
    let e = a.fails(&["enslave", "bond0", "nosuch0"]);
    assert!(e.contains("no interface nosuch0"), "{e}");
    a.ok(&["enslave", "bond0", "e1"]);
    a.ok(&["add", "bond1", "mode=balance-xor"]);
    let e = a.fails(&["enslave", "bond1", "e1"]);
    assert!(e.contains("already a slave of bond0"), "{e}");
    let e = a.fails(&["set", "bond0", "miimon", "abc"]);
    assert!(e.contains("miimon"), "{e}");
    let e = a.fails(&["release", "bond1", "e1"]);
    assert!(e.contains("not a slave of bond1"), "{e}");
    assert_eq!(a.ok(&["get", "bond0", "mode"]).trim(), "active-backup 1");
    // As sysfs: the mode changes only without slaves and while the bond is down.
    let e = a.fails(&["set", "bond0", "mode", "balance-xor"]);
    assert!(e.contains("has slaves"), "{e}");
    a.ok(&["release", "bond0", "e1"]);
    let e = a.fails(&["set", "bond0", "mode", "balance-xor"]);
    assert!(e.contains("mode"), "{e}");
    a.ip(&["link", "set", "bond0", "down"]);
    wait_for(Duration::from_secs(5), "mode change with bond0 down", || {
        a.ubond(&["set", "bond0", "mode", "balance-xor"]).status.success()
    });
    a.ip(&["link", "set", "bond0", "up"]);
    assert_eq!(a.ok(&["get", "bond0", "mode"]).trim(), "balance-xor 2");
    assert_eq!(e.lines().count(), 1, "one line: {e}");

    // The socket is root's alone; a silent client does not hold up the others.
    let mode = std::fs::metadata(a.socket()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    // The status is answered while the silent client still waits: a daemon held up by it
    // would answer only after giving up on it (its request time), which closes it. (Not a
    // time limit: a loaded machine may take long to run the client.)
    let mut silent = UnixStream::connect(a.socket()).unwrap();
    let t0 = Instant::now();
    assert!(a.ok(&["status", "bond0"]).contains("Bonding Mode"));
    silent.set_nonblocking(true).unwrap();
    let waiting = matches!(silent.read(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock);
    assert!(waiting, "status answered only once the silent client was let go, {:?}", t0.elapsed());
    drop(silent);

    // Others than root: refused by the socket's mode, and by SO_PEERCRED if the mode is opened.
    let nobody = |a: &Side| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "--control"])
            .arg(a.socket())
            .arg("status")
            .output()
    };
    if let Ok(o) = nobody(&a) {
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("permission denied"), "{e}");
        let dir_mode = std::fs::metadata(&a.dir).unwrap().permissions().mode();
        std::fs::set_permissions(&a.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(a.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
        let o = nobody(&a).unwrap();
        std::fs::set_permissions(a.socket(), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&a.dir, std::fs::Permissions::from_mode(dir_mode)).unwrap();
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("only root may use the ubond control socket"), "{e}");
    }

    // Garbage and oversized requests get an error answer; the daemon lives on.
    for junk in [b"\x00\xffgarbage\n".to_vec(), vec![b'x'; 100 * 1024]] {
        let mut s = UnixStream::connect(a.socket()).unwrap();
        let _ = s.write_all(&junk);
        let mut line = String::new();
        let _ = BufReader::new(&s).read_line(&mut line);
        assert!(line.contains("bad request"), "{line}");
    }
    assert!(a.ok(&["status"]).contains("bond0"));

    assert!(a.stop_daemon());
    let e = a.fails(&["status"]);
    assert!(e.contains("is `ubond daemon` running?"), "{e}");
}

#[test]
fn other_modes_ping() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("modes");
    // (Not balance-tlb: back to back, a frame one side balances onto its second link reaches
    // the other side's backup, which drops it, as Linux's does; tlb is met through a bridge in
    // tests/fastpath.rs and tests/kernel_vm.rs.)
    for mode in ["balance-rr", "balance-xor", "broadcast", "balance-alb"] {
        let m = format!("mode={mode}");
        bond_up(&a, &b, &[&m, "miimon=100"]);
        let took = wait_for(Duration::from_secs(10), &format!("a ping over {mode}"), || {
            ping(&a, "192.0.2.2")
        });
        eprintln!("{mode}: ping after {took:?}");
        a.ip(&["link", "set", "e2", "down"]);
        wait_for(Duration::from_secs(10), &format!("a ping over {mode} with e2 down"), || {
            ping(&a, "192.0.2.2")
        });
        a.ip(&["link", "set", "e2", "up"]);
        for s in [&a, &b] {
            s.ok(&["del", "bond0"]);
        }
    }
}

/// The `MII Status` line of slave `iface` in a report.
fn slave_mii(report: &str, iface: &str) -> String {
    let head = format!("Slave Interface: {iface}\n");
    report
        .split_once(&head)
        .and_then(|(_, rest)| rest.lines().find_map(|l| l.strip_prefix("MII Status: ")))
        .unwrap_or("")
        .to_string()
}

/// Frames an interface sent, from its counters.
fn tx_packets(s: &Side, iface: &str) -> u64 {
    let path = format!("/sys/class/net/{iface}/statistics/tx_packets");
    let o = sh(&["ip", "netns", "exec", &s.ns, "cat", &path]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

#[test]
fn broadcast_sends_only_on_slaves_that_are_up() {
    if !can_run() {
        return;
    }
    // The userspace data path: the fast path takes its slaves from the plan already.
    let (a, b) = pair_with("bcast", &["--datapath", "user"]);
    for e in ["e1", "e2"] {
        b.ip(&["link", "set", e, "down"]);
    }
    a.ok(&["add", "bond0", "mode=broadcast", "miimon=100", "updelay=10000"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "bond0"]);
    // e1 comes up at once (no slave was up, so updelay does not apply); e2 then has carrier
    // but is "going back" for 10 s: Linux's bond_xmit_broadcast skips it (link not UP).
    b.ip(&["link", "set", "e1", "up"]);
    wait_for(Duration::from_secs(10), "e1 up", || slave_mii(&a.report("bond0"), "e1") == "up");
    b.ip(&["link", "set", "e2", "up"]);
    wait_for(Duration::from_secs(5), "e2 going back", || {
        slave_mii(&a.report("bond0"), "e2") == "going back"
    });
    let before = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    // Nobody answers: the stack's ARP requests are the broadcast frames.
    ping(&a, "192.0.2.2");
    let after = (tx_packets(&a, "e1"), tx_packets(&a, "e2"));
    assert_eq!(slave_mii(&a.report("bond0"), "e2"), "going back", "the window held");
    assert!(after.0 > before.0, "frames left by e1: {before:?} -> {after:?}");
    assert_eq!(after.1, before.1, "nothing left by e2 while it was not up");
}

#[test]
fn arp_monitor_active_backup() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("arp");
    a.ok(&["add", "bond0", "mode=active-backup", "arp_interval=100", "arp_ip_target=192.0.2.2"]);
    b.ok(&["add", "bond0", "mode=active-backup", "miimon=100"]);
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    let took =
        wait_for(Duration::from_secs(10), "a ping with the ARP monitor", || ping(&a, "192.0.2.2"));
    eprintln!("ARP monitor: ping after {took:?}");
    // The daemon notes the address when it reads the kernel's notification, which nothing
    // orders before the ping's replies.
    let log = || std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    wait_for(Duration::from_secs(10), "the daemon to note bond0's address", || {
        log().contains("bond0: addresses: 192.0.2.1")
    });
    let report = a.report("bond0");
    assert!(report.contains("ARP Polling Interval (ms): 100"), "{report}");
    let active = a.ok(&["get", "bond0", "active_slave"]).trim().to_string();
    b.ip(&["link", "set", &active, "down"]);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(10), "a ping after the ARP monitor's failover", || {
        ping(&a, "192.0.2.2")
    });
    eprintln!("ARP monitor: ping back {:?} after the peer's {active} went down", t0.elapsed());
}

/// A field of /proc/PID/status.
fn proc_status(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .unwrap_or("")
        .trim()
        .to_string()
}

#[test]
fn daemon_keeps_only_the_capabilities_it_needs() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("caps");
    let pid = a.daemon.as_ref().unwrap().id();
    // CAP_NET_ADMIN (12) and CAP_NET_RAW (13) only, in every set that can grant them back.
    assert_eq!(proc_status(pid, "CapEff"), "0000000000003000");
    assert_eq!(proc_status(pid, "CapPrm"), "0000000000003000");
    assert_eq!(proc_status(pid, "CapInh"), "0000000000000000");
    assert_eq!(proc_status(pid, "CapBnd"), "0000000000003000");
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    // And with that it still does its whole job.
    bond_up(&a, &b, &["mode=active-backup", "miimon=100"]);
    wait_for(Duration::from_secs(10), "a ping with reduced capabilities", || ping(&a, "192.0.2.2"));
}

#[test]
fn a_killed_daemons_bond_is_adopted_by_the_next_and_shutdown_gives_the_slaves_back() {
    if !can_run() {
        return;
    }
    let (mut a, _b) = pair("kill");
    let macs: Vec<String> = ["e1", "e2"].iter().map(|e| mac_of(&a, e)).collect();
    let sysctls = sysctls_of(&a);
    a.ok(&["add", "bond0", "mode=balance-xor", "miimon=100"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    assert_ne!(mac_of(&a, "e2"), macs[1], "e2 took the bond's MAC");
    let state = a.dir.join("ubond-state.json");
    assert!(state.exists(), "the state file lists the bond");

    // SIGKILL: no chance to clean up.
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_ne!(mac_of(&a, "e2"), macs[1], "still changed after the kill");

    // The next daemon runs the same bond: same slaves, the bond's MAC kept.
    a.start_daemon();
    assert_eq!(a.ok(&["get", "bond0", "slaves"]).trim(), "e1 e2");
    assert_ne!(mac_of(&a, "e2"), macs[1]);
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("bond0: adopted, 2 slave(s)"), "{log}");

    // `ubond shutdown` gives them back as they were found before the first daemon.
    assert!(a.shutdown(), "shut down cleanly");
    let after: Vec<String> = ["e1", "e2"].iter().map(|e| mac_of(&a, e)).collect();
    assert_eq!(after, macs, "MACs given back");
    assert_eq!(sysctls_of(&a), sysctls, "sysctls given back");
    assert!(!state.exists(), "state file removed");
    // The interfaces are free again.
    a.start_daemon();
    a.ok(&["add", "bond0", "mode=balance-xor", "miimon=100"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
}

#[test]
fn interfaces_a_killed_daemon_was_enslaving_are_given_back() {
    if !can_run() {
        return;
    }
    // A daemon killed between taking an interface and adding it to its bond left it in the
    // state file's "preparing" list (as a daemon of an older version left its journal).
    let (mut a, _b) = pair("preparing");
    let mac = mac_of(&a, "e2");
    let sysctls = sysctls_of(&a);
    a.stop_daemon();
    a.ip(&["link", "set", "e2", "address", "02:00:00:00:99:99"]);
    let journal = format!(
        r#"[{{"bond":"bond0","iface":"e2","mac":"{mac}","up":true,"mtu":1500,"sysctls":[]}}]"#
    );
    std::fs::write(a.dir.join("enslaved-interfaces.json"), journal).unwrap();
    a.start_daemon();
    assert_eq!(mac_of(&a, "e2"), mac, "e2 given back");
    assert_eq!(sysctls_of(&a), sysctls);
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("e2: given back"), "{log}");
    assert!(!a.dir.join("enslaved-interfaces.json").exists(), "the old journal is consumed");
}

#[test]
fn demo_shows_negotiation_and_failover_then_cleans_up() {
    if !can_run() {
        return;
    }
    // Nothing but the kernel and the binary: no `ip`, no `ping` on the PATH.
    let child = Command::new(BIN)
        .arg("demo")
        .env("PATH", "/nonexistent")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("negotiated in"), "{text}");
    assert!(text.contains("10 packets transmitted, 10 received, 0% packet loss"), "{text}");
    assert!(text.contains("host a: data frames take the in-kernel fast path"), "{text}");
    assert!(text.contains("----- host b: ubond status bond0 -----"), "{text}");
    assert_eq!(text.matches("Bonding Mode: IEEE 802.3ad Dynamic link aggregation").count(), 2);
    let namespaces = String::from_utf8_lossy(
        &Command::new("ip").args(["netns", "list"]).output().unwrap().stdout,
    )
    .into_owned();
    assert!(!namespaces.contains(&format!("ubond-demo-{pid}")), "left behind: {namespaces}");
    assert!(!std::env::temp_dir().join(format!("ubond-demo-{pid}")).exists());
    let pins = std::path::Path::new("/sys/fs/bpf/ubond").join(format!("tmp-ubond-demo-{pid}"));
    assert!(!pins.exists(), "the fast path's pins left behind in {}", pins.display());
}

#[test]
fn per_slave_options_through_set_slave() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("slaveopt");
    bond_up(&a, &b, &["mode=active-backup", "miimon=100"]);
    wait_for(Duration::from_secs(10), "e1 active", || {
        a.ok(&["get", "bond0", "active_slave"]).trim() == "e1"
    });
    // The highest prio among the up slaves is the active one (no primary set).
    a.ok(&["set-slave", "e2", "prio", "10"]);
    wait_for(Duration::from_secs(5), "e2 active after its prio rose", || {
        a.ok(&["get", "bond0", "active_slave"]).trim() == "e2"
    });
    a.ok(&["set-slave", "e1", "queue_id", "2"]);
    assert!(a.ok(&["get", "bond0", "queue_id"]).contains("e1:2"));
    let e = a.fails(&["set-slave", "e1", "prio", "many"]);
    assert!(e.contains("bond0: e1: cannot set prio"), "{e}");
    let e = a.fails(&["set-slave", "lo", "prio", "1"]);
    assert!(e.contains("lo is not enslaved to any bond") && e.contains("ubond enslave"), "{e}");
    // Back to back, both ends must agree on the active link (a backup drops what it receives).
    b.ok(&["set-slave", "e2", "prio", "10"]);
    wait_for(Duration::from_secs(10), "a ping over e2 at both ends", || ping(&a, "192.0.2.2"));
}

#[test]
fn a_configured_group_may_use_the_control_socket() {
    if !can_run() {
        return;
    }
    let mut a = side("group", "a");
    std::fs::set_permissions(&a.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    a.start_daemon_with(&["--group", "nogroup"]);
    let meta = std::fs::metadata(a.socket()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), 65534);
    let as_user = |ids: &[&str]| {
        Command::new("setpriv")
            .args(ids)
            .args([BIN, "--control"])
            .arg(a.socket())
            .arg("status")
            .output()
            .unwrap()
    };
    // Primary group, supplementary group: allowed. Neither: refused, even with the file's
    // mode opened up (the daemon checks the peer's credentials itself).
    assert!(as_user(&["--reuid=65534", "--regid=65534", "--clear-groups"]).status.success());
    assert!(as_user(&["--reuid=65534", "--regid=100", "--groups=65534"]).status.success());
    std::fs::set_permissions(a.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = as_user(&["--reuid=65534", "--regid=100", "--clear-groups"]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("only root and the daemon's --group"), "{e}");
}

#[test]
fn failover_resends_multicast_memberships() {
    if !can_run() {
        return;
    }
    let tshark = Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success());
    assert!(tshark || std::env::var_os("CI").is_none(), "CI must have tshark");
    if !tshark {
        eprintln!("skipped: needs tshark");
        return;
    }
    let (a, b) = pair("igmp");
    bond_up(&a, &b, &["mode=active-backup", "miimon=100"]);
    // A group joined on A's bond by the kernel's IGMP code (as a socket joining it would).
    a.ip(&["addr", "add", "239.1.2.3/32", "dev", "bond0", "autojoin"]);
    wait_for(Duration::from_secs(10), "ping over e1", || ping(&a, "192.0.2.2"));
    // Watch B's e2, then fail A over to e2: the reports must arrive there, from the bond.
    // Frames of a local experimental EtherType that B sends on e2 (which the capture sees
    // leave) mark when tshark captures: on a loaded machine it may take seconds to start.
    let filter = "igmp or (ip6 and ip6[6] == 0 and ip6[40] == 58) or ether proto 0x88b5";
    let mut capture = Command::new("ip")
        .args(["netns", "exec", &b.ns, "tshark", "-n", "-l", "-i", "e2", "-a", "duration:6"])
        .args(["-f", filter, "-T", "fields"])
        .args(["-e", "eth.src", "-e", "igmp.type", "-e", "igmp.maddr", "-e", "icmpv6.type"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = mac_of(&b, "e2");
    let sending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sender = {
        let src: Vec<u8> = marker.split(':').map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
        let sending = sending.clone();
        in_netns(&b.ns, move || {
            let opts = ubond_sys::PacketOptions { slow_protocols: false, ..Default::default() };
            let s = ubond_sys::PacketSocket::open("e2", opts).unwrap();
            let mut frame = [&[0x02, 0, 0, 0, 0, 0x01][..], &src, &[0x88, 0xb5]].concat();
            frame.resize(60, 0);
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                s.send(&frame).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let mut lines = BufReader::new(capture.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "tshark ended before capturing: {seen}");
        seen.push_str(&line);
        if line.starts_with(&marker) {
            break;
        }
    }
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    let bond_mac = mac_of(&a, "bond0");
    a.ip(&["link", "set", "e1", "down"]);
    lines.read_to_string(&mut seen).unwrap();
    capture.wait().unwrap();
    let igmp: Vec<&str> = seen.lines().filter(|l| l.contains("239.1.2.3")).collect();
    assert!(!igmp.is_empty(), "no IGMP report for 239.1.2.3 on e2 after the failover:\n{seen}");
    assert!(igmp.iter().all(|l| l.starts_with(&bond_mac) && l.contains("0x22")), "{seen}");
    assert!(seen.lines().any(|l| l.ends_with("143")), "an MLDv2 report too:\n{seen}");
}

/// The byte at offset `i` of the test stream.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8 ^ (i >> 16) as u8
}

/// Writes `len` bytes of the pattern.
fn send_pattern(s: &mut TcpStream, len: usize) {
    let mut buf = vec![0u8; 1 << 16];
    let mut off = 0;
    while off < len {
        let n = buf.len().min(len - off);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(off + i);
        }
        s.write_all(&buf[..n]).unwrap();
        off += n;
    }
}

/// Reads the stream to its end; returns (bytes, bytes that differ from the pattern).
fn check_pattern(s: &mut TcpStream) -> (usize, usize) {
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut bad) = (0, 0);
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            return (total, bad);
        }
        bad += buf[..n].iter().enumerate().filter(|(i, b)| **b != pattern(total + i)).count();
        total += n;
    }
}

#[test]
fn lacp_bond_carries_bulk_tcp_intact_both_ways() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("bulk");
    bond_up(&a, &b, &["mode=802.3ad", "lacp_rate=fast", "miimon=100", "xmit_hash_policy=layer3+4"]);
    wait_for(Duration::from_secs(30), "port state 63 on both slaves, both sides", || {
        [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() >= 4)
    });
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    if ubond_sys::bpf::BUILT {
        // The default (auto) takes the in-kernel fast path when the programs are built.
        let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
        assert!(log.contains("bond0: data path: bpf"), "{log}");
    }
    // 64 MiB each way: the stack hands the daemons GSO super-frames with checksums left to
    // do; every byte must arrive as sent.
    transfer_both_ways(&a, &b, 5301, 64 << 20);

    // Members shaped to 100 Mbit/s on A's side: their queues fill, the daemon holds frames
    // until there is room (backpressure) instead of dropping them, and nothing stalls.
    let shaped = ["e1", "e2"].iter().all(|e| {
        let args = ["-n", &a.ns, "qdisc", "add", "dev", e, "root", "tbf", "rate", "100mbit"];
        let more = ["burst", "64kb", "latency", "100ms"];
        sh(&[&["tc"][..], &args[..], &more[..]].concat()).status.success()
    });
    if shaped {
        transfer_both_ways(&a, &b, 5302, 8 << 20);
    } else {
        eprintln!("no tbf qdisc here: the shaped transfer was skipped");
    }
}

#[test]
fn lacp_bond_carries_bulk_tcp_intact_on_the_userspace_path() {
    if !can_run() {
        return;
    }
    // The userspace data path stays the fallback (and serves kernels without BPF): keep it
    // tested with the bulk transfer the fast path gets above, on three data threads (more
    // than this machine may have CPUs: the flows are spread over the threads whatever).
    let (a, b) = pair_with("bulku", &["--datapath", "user", "--data-threads", "3"]);
    bond_up(&a, &b, &["mode=802.3ad", "lacp_rate=fast", "miimon=100", "xmit_hash_policy=layer3+4"]);
    wait_for(Duration::from_secs(30), "port state 63 on both slaves, both sides", || {
        [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() >= 4)
    });
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("(data path: userspace (--datapath user); 3 data threads)"), "{log}");
    transfer_both_ways(&a, &b, 5303, 64 << 20);
    // Four flows at once, over the threads and both slaves, each intact.
    std::thread::scope(|scope| {
        for port in 5304..5308 {
            let (a, b) = (&a, &b);
            scope.spawn(move || transfer_both_ways(a, b, port, 16 << 20));
        }
    });
    // Shaped members: the data threads hold batches until there is room, and nothing stalls.
    let shaped = ["e1", "e2"].iter().all(|e| {
        let args = ["-n", &a.ns, "qdisc", "add", "dev", e, "root", "tbf", "rate", "100mbit"];
        let more = ["burst", "64kb", "latency", "100ms"];
        sh(&[&["tc"][..], &args[..], &more[..]].concat()).status.success()
    });
    if shaped {
        transfer_both_ways(&a, &b, 5308, 8 << 20);
    } else {
        eprintln!("no tbf qdisc here: the shaped transfer was skipped");
    }
}

#[test]
fn the_arp_monitor_on_the_userspace_path_counts_data_frames_as_traffic() {
    if !can_run() {
        return;
    }
    // balance-xor with the ARP monitor (arp_validate none: every frame for this host counts):
    // the probes' replies come back on one member only, the other hears nothing but data
    // frames. Those go up through the kernel's tc filters, which keep when each member
    // received for the control plane (with the data threads, they would note it).
    let (a, b) = pair_with("arpuser", &["--datapath", "user"]);
    let hash = "xmit_hash_policy=layer3+4";
    a.ok(&[
        "add",
        "bond0",
        "mode=balance-xor",
        "arp_interval=100",
        "arp_ip_target=192.0.2.2",
        hash,
    ]);
    b.ok(&["add", "bond0", "mode=balance-xor", "miimon=100", hash]);
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    let a_up = || a.report("bond0").matches("MII Status: up").count();
    // Datagrams from B to A on many ports: B's layer3+4 hash spreads them over both members.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = std::sync::Arc::clone(&stop);
        in_netns(&b.ns, move || {
            let sock = std::net::UdpSocket::bind("192.0.2.2:0").unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for port in 9000..9016 {
                    let _ = sock.send_to(b"traffic", ("192.0.2.1", port));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // Both members up (3 = the bond and its two slaves), and they stay up for 2 s of traffic.
    wait_for(Duration::from_secs(10), "both members up with traffic", || a_up() == 3);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(a_up(), 3, "{}", a.report("bond0"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    // Without the traffic, the member the replies miss goes down (the monitor does work).
    wait_for(Duration::from_secs(10), "one member down without traffic", || a_up() == 2);
}

/// `len` bytes of TCP from A to B, then `len` back, through the bond at 192.0.2.2:`port`;
/// asserts every byte arrived as sent.
fn transfer_both_ways(a: &Side, b: &Side, port: u16, len: usize) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let server = in_netns(&b.ns, move || {
        let l = TcpListener::bind(("192.0.2.2", port)).unwrap();
        ready_tx.send(()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let got = check_pattern(&mut s);
        send_pattern(&mut s, len);
        got
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let t0 = Instant::now();
    let client = in_netns(&a.ns, move || {
        let mut s = TcpStream::connect(("192.0.2.2", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        send_pattern(&mut s, len);
        s.shutdown(std::net::Shutdown::Write).unwrap();
        check_pattern(&mut s)
    });
    let up = server.join().unwrap();
    let down = client.join().unwrap();
    eprintln!("2 x {} MiB over the bond in {:?}", len >> 20, t0.elapsed());
    assert_eq!(up, (len, 0), "A to B: bytes, bytes corrupted");
    assert_eq!(down, (len, 0), "B to A: bytes, bytes corrupted");
}

/// `TcpExt` counters of namespace `s` (`/proc/net/netstat` there), by name.
fn tcp_ext(s: &Side) -> std::collections::HashMap<String, u64> {
    let o = sh(&["ip", "netns", "exec", &s.ns, "cat", "/proc/net/netstat"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    lines[0]
        .split_whitespace()
        .zip(lines[1].split_whitespace())
        .skip(1)
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

/// Two broadcast bonds back to back: every segment reaches the other side on both members.
/// With `tcp_dup_discard` on (the default) each side's TCP receives each segment once: it
/// sends (almost) no D-SACK for an old or out-of-order duplicate, where with the option off,
/// as in Linux, it sends about one per segment. Every byte arrives either way. The receiving
/// kernels' own counters judge (`TCPDSACKOldSent`, `TCPDSACKOfoSent`).
#[test]
fn a_broadcast_bonds_tcp_takes_each_segment_once() {
    if !can_run() {
        return;
    }
    let (a, b) = pair("bcdup");
    bond_up(&a, &b, &["mode=broadcast", "miimon=100"]);
    wait_for(Duration::from_secs(10), "a ping over broadcast", || ping(&a, "192.0.2.2"));
    const BYTES: usize = 64 << 20;
    let dsacks = |s: &Side| {
        let c = tcp_ext(s);
        c["TCPDSACKOldSent"] + c["TCPDSACKOfoSent"]
    };
    let mut sent_dsacks = Vec::new();
    for (on, port) in [("on", 5311), ("off", 5312)] {
        for s in [&a, &b] {
            s.ok(&["set", "bond0", "tcp_dup_discard", on]);
        }
        let before = dsacks(&a) + dsacks(&b);
        // Asserts that every byte arrived, both ways.
        transfer_both_ways(&a, &b, port, BYTES);
        sent_dsacks.push(dsacks(&a) + dsacks(&b) - before);
    }
    eprintln!("D-SACKs sent: {sent_dsacks:?} (tcp_dup_discard on, off)");
    let (on, off) = (sent_dsacks[0], sent_dsacks[1]);
    assert!(off >= 100, "with every copy delivered, TCP saw duplicates: {sent_dsacks:?}");
    assert!(on * 20 <= off, "taking each segment once, TCP saw few: {sent_dsacks:?}");
}
