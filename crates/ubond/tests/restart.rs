//! The bond outlives its daemon: a daemon killed (SIGKILL) or stopped (SIGTERM) and started
//! again loses no frame, and its LACP partner never notices. (Every start loads its programs
//! and maps afresh and takes over from the programs left running, so a restart of the same
//! build goes through the same steps as an upgrade.)
//!
//! Two namespaces joined by two veth links, a ubond daemon and an 802.3ad bond (fast rate) in
//! each; the in-kernel fast path's pins in a bpffs the test mounts in the system's mount
//! namespace (so that they outlive each daemon, as /sys/fs/bpf does under systemd). Probers
//! send a UDP datagram every 0.5 ms (2 kHz) each way over the bond and the other side counts
//! them; B's report is read every 50 ms. NEEDS ROOT (see support::can_run).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

const PROBE_PORT: u16 = 47_000;

/// A 2 kHz UDP prober from one side to the other (A is 192.0.2.1, B 192.0.2.2) and its
/// receiver.
struct Prober {
    /// When probe 0 was due (probe n is due n × 0.5 ms later).
    t0: Instant,
    stop: Arc<AtomicBool>,
    sender: Option<std::thread::JoinHandle<u64>>,
    receiver: Option<std::thread::JoinHandle<BTreeSet<u64>>>,
}

impl Prober {
    fn start(from: (&Side, &'static str), to: (&Side, &'static str)) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let rx_stop = Arc::clone(&stop);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let receiver = in_netns(&to.0.ns, move || {
            let sock = UdpSocket::bind((to.1, PROBE_PORT)).unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            // Room for seconds of probes (the default holds about 130 ms of them): a receiver
            // the scheduler holds up on a loaded machine must not lose probes the bond carried.
            rustix::net::sockopt::set_socket_recv_buffer_size_force(&sock, 16 << 20).unwrap();
            ready_tx.send(()).unwrap();
            let mut seen = BTreeSet::new();
            let mut buf = [0u8; 64];
            let mut quiet_since: Option<Instant> = None;
            loop {
                match sock.recv(&mut buf) {
                    Ok(8) => {
                        seen.insert(u64::from_le_bytes(buf[..8].try_into().unwrap()));
                        quiet_since = None;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        // After the sender stopped, wait for the stragglers a little.
                        if rx_stop.load(Ordering::Relaxed) {
                            let t = *quiet_since.get_or_insert_with(Instant::now);
                            if t.elapsed() > Duration::from_millis(300) {
                                return seen;
                            }
                        }
                    }
                }
            }
        });
        ready_rx.recv().unwrap();
        let tx_stop = Arc::clone(&stop);
        let t0 = Instant::now() + Duration::from_millis(20);
        let (src, dst) = (from.1, to.1);
        let sender = in_netns(&from.0.ns, move || {
            let sock = UdpSocket::bind((src, 0)).unwrap();
            sock.connect((dst, PROBE_PORT)).unwrap();
            let mut seq = 0u64;
            while !tx_stop.load(Ordering::Relaxed) {
                let due = t0 + Duration::from_micros(500) * seq as u32;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                // A send that fails (no route for an instant) is a lost probe too.
                let _ = sock.send(&seq.to_le_bytes());
                seq += 1;
            }
            seq
        });
        Prober { t0, stop, sender: Some(sender), receiver: Some(receiver) }
    }

    /// Milliseconds from probe 0 to `t` (to place events among the losses).
    fn at(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.t0).as_secs_f64() * 1e3
    }

    /// Stops; returns (sent, lost, the runs of lost probes as "from ms +count").
    fn finish(mut self) -> (u64, u64, String) {
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.sender.take().unwrap().join().unwrap();
        let seen = self.receiver.take().unwrap().join().unwrap();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for seq in (0..sent).filter(|s| !seen.contains(s)) {
            match runs.last_mut() {
                Some((first, n)) if *first + *n == seq => *n += 1,
                _ => runs.push((seq, 1)),
            }
        }
        let lost = runs.iter().map(|r| r.1).sum();
        let runs = runs.iter().map(|(f, n)| format!("{:.1} ms +{n}", *f as f64 / 2.0));
        (sent, lost, runs.collect::<Vec<_>>().join(", "))
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Samples side `s`'s report of bond0 every 50 ms until stopped; keeps every sample whose
/// port states are not all 63 (actor and partner, both ports).
struct Watcher {
    stop: Arc<AtomicBool>,
    bad: Arc<Mutex<Vec<String>>>,
    samples: Arc<Mutex<u32>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(s: &Side) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let bad = Arc::new(Mutex::new(Vec::new()));
        let samples = Arc::new(Mutex::new(0));
        let path = s.dir.join("bond0");
        let (st, b, n) = (Arc::clone(&stop), Arc::clone(&bad), Arc::clone(&samples));
        let handle = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let report = std::fs::read_to_string(&path).unwrap_or_default();
                if report.matches("port state: 63").count() != 4 {
                    b.lock().unwrap().push(report);
                }
                *n.lock().unwrap() += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Watcher { stop, bad, samples, handle: Some(handle) }
    }

    /// Stops; returns (samples, the reports that were not all 63).
    fn finish(mut self) -> (u32, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap();
        let n = *self.samples.lock().unwrap();
        (n, std::mem::take(&mut *self.bad.lock().unwrap()))
    }
}

/// Frames with when they came.
type Frames = Vec<(Instant, Vec<u8>)>;

/// The LACPDUs received on one interface of a side.
struct PduTap {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Frames>>,
}

impl PduTap {
    fn start(s: &Side, iface: &'static str) -> PduTap {
        use ubond_sys::packet::{PacketOptions, PacketSocket};
        let stop = Arc::new(AtomicBool::new(false));
        let st = Arc::clone(&stop);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let handle = in_netns(&s.ns, move || {
            let sock = PacketSocket::open(iface, PacketOptions::default()).unwrap();
            sock.set_slow_protocols_only(true).unwrap();
            ready_tx.send(()).unwrap();
            let mut pdus = Vec::new();
            let mut buf = [0u8; 2048];
            while !st.load(Ordering::Relaxed) {
                match sock.recv(&mut buf) {
                    // Slow Protocols, subtype 1: an LACPDU.
                    Ok(Some(n)) if n > 14 && buf[12..15] == [0x88, 0x09, 0x01] => {
                        pdus.push((Instant::now(), buf[..n].to_vec()));
                    }
                    Ok(Some(_)) => {}
                    _ => std::thread::sleep(Duration::from_micros(500)),
                }
            }
            pdus
        });
        ready_rx.recv().unwrap();
        PduTap { stop, handle: Some(handle) }
    }

    fn finish(mut self) -> Frames {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

impl Drop for PduTap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A's bond device (MTU, MAC, flags), addresses, routes and neighbours as `ip` prints them
/// (for before/after comparisons).
fn addresses_and_routes(a: &Side) -> String {
    let run = |args: &[&str]| {
        let mut v = vec!["ip", "-n", &a.ns];
        v.extend_from_slice(args);
        String::from_utf8_lossy(&sh(&v).stdout).into_owned()
    };
    run(&["-o", "link", "show", "dev", "bond0"])
        + &run(&["-o", "addr", "show", "dev", "bond0"])
        + &run(&["route", "show", "table", "main"])
        + &run(&["neigh", "show", "dev", "bond0", "nud", "permanent"])
}

/// Two fast-rate 802.3ad bonds, addressed, a route and a permanent neighbour on A, both sides
/// at port state 63, the prober's path warm.
fn lacp_pair(test: &str, fs: &Bpffs, extra: &[&str]) -> (Side, Side) {
    let mut args = fs.args().to_vec();
    args.extend_from_slice(extra);
    let (a, b) = pair_with(test, &args);
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    a.ip(&["route", "add", "198.18.0.0/15", "via", "192.0.2.2"]);
    a.ip(&[
        "neigh",
        "add",
        "192.0.2.9",
        "lladdr",
        "02:00:00:00:00:09",
        "dev",
        "bond0",
        "nud",
        "permanent",
    ]);
    wait_for(Duration::from_secs(30), "port state 63 on both sides", || {
        [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() == 4)
    });
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    // IPv6 duplicate address detection done, so that the addresses read the same later.
    wait_for(Duration::from_secs(10), "no tentative address", || {
        !addresses_and_routes(&a).contains("tentative")
    });
    (a, b)
}

/// Another build of ubond to upgrade to (`UBOND_UPGRADE_BIN`), if given.
fn upgrade_bin() -> Option<String> {
    std::env::var("UBOND_UPGRADE_BIN").ok().filter(|b| !b.is_empty())
}

/// Stops A's daemon with `how` ("kill", "term", or "upgrade": a kill, then the start of
/// [`upgrade_bin`]), waits `pause`, starts it again; the
/// probers (both ways) and B's watcher run throughout. Returns (sent, lost, samples, bad
/// samples), the probes of both ways together.
fn restart_under_probes(
    a: &mut Side,
    b: &Side,
    fs: &Bpffs,
    how: &str,
    pause: Duration,
) -> (u64, u64, u32, Vec<String>) {
    let before = addresses_and_routes(a);
    let probers = [
        ("A to B", Prober::start((a, "192.0.2.1"), (b, "192.0.2.2"))),
        ("B to A", Prober::start((b, "192.0.2.2"), (a, "192.0.2.1"))),
    ];
    let watcher = Watcher::start(b);
    let pdus = PduTap::start(b, "e1");
    // Longer than the fast rate's 1 s between LACPDUs: one is seen before the stop.
    std::thread::sleep(Duration::from_millis(1500));
    let stopping = Instant::now();
    match how {
        "kill" | "upgrade" => {
            let mut child = a.daemon.take().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
        }
        _ => assert!(a.stop_daemon(), "SIGTERM stops the daemon cleanly"),
    }
    std::thread::sleep(pause);
    let mut args = fs.args().to_vec();
    args.extend(["--datapath", "bpf"]);
    let starting = Instant::now();
    match how {
        "upgrade" => a.start_daemon_bin(&upgrade_bin().unwrap(), &args, &[]),
        _ => a.start_daemon_with(&args),
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let (mut sent, mut lost) = (0, 0);
    for (way, prober) in probers {
        let when = format!(
            "stopping at {:.1} ms, starting at {:.1} ms, answering at {:.1} ms",
            prober.at(stopping),
            prober.at(starting),
            prober.at(started)
        );
        let (n, l, runs) = prober.finish();
        if l > 0 {
            eprintln!("{how}, {way}: lost {runs}; {when}");
        }
        sent += n;
        lost += l;
    }
    let (samples, bad) = watcher.finish();
    // The first LACPDU of the new daemon: within 1 s of its start, the same as the last one.
    let pdus = pdus.finish();
    let last = pdus.iter().rev().find(|(t, _)| *t < stopping).expect("an LACPDU before the stop");
    let first = pdus.iter().find(|(t, _)| *t > starting).expect("an LACPDU after the start");
    let took = first.0 - starting;
    eprintln!("{how}: the first LACPDU {took:?} after the start");
    assert!(took <= Duration::from_secs(1), "{how}: first LACPDU {took:?} after the start");
    assert_eq!(first.1, last.1, "{how}: the first LACPDU differs from the last one before");
    assert_eq!(addresses_and_routes(a), before, "addresses, routes and neighbours kept");
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("bond0: adopted, 2 slave(s); LACP resumed on 2 port(s)"), "{log}");
    (sent, lost, samples, bad)
}

#[test]
fn a_killed_or_stopped_daemon_restarted_loses_no_probe_and_the_partner_stays_at_63() {
    if !can_run() || !ubond_sys::bpf::BUILT {
        assert!(std::env::var_os("CI").is_none() || ubond_sys::bpf::BUILT);
        return;
    }
    let fs = Bpffs::new("restart");
    let (mut a, b) = lacp_pair("restart", &fs, &["--datapath", "bpf"]);
    // With UBOND_UPGRADE_BIN (another build of ubond), also a SIGKILL and a start of that build.
    let upgrade = upgrade_bin().map(|bin| eprintln!("upgrade: to {bin}")).map(|_| "upgrade");
    for how in ["kill", "term"].into_iter().chain(upgrade) {
        let (sent, lost, samples, bad) =
            restart_under_probes(&mut a, &b, &fs, how, Duration::from_millis(500));
        eprintln!(
            "{how}: {sent} probes sent, {lost} lost; {samples} samples of the partner's report"
        );
        if lost > 0 {
            eprintln!(
                "--- A's daemon log ---\n{}",
                std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default()
            );
        }
        assert_eq!(lost, 0, "{how}: probes lost");
        assert!(samples >= 40, "{samples}");
        assert!(bad.is_empty(), "{how}: the partner left port state 63:\n{}", bad[0]);
    }
}

#[test]
fn a_bond_made_with_verbs_comes_back_with_its_options() {
    if !can_run() {
        return;
    }
    let fs = Bpffs::new("verbs");
    let (mut a, _b) = pair_with("verbs", &fs.args());
    a.ok(&["add", "bond0", "mode=active-backup", "miimon=100", "updelay=200", "primary=e2"]);
    a.ok(&["set", "bond0", "num_grat_arp", "3"]);
    a.ok(&["set", "bond0", "fail_over_mac", "active"]);
    a.ok(&["enslave", "bond0", "e1", "e2"]);
    a.ok(&["set-slave", "e1", "prio", "10"]);
    a.ok(&["set-slave", "e2", "queue_id", "1"]);
    let options = a.ok(&["get", "bond0"]);
    let slave_options = a.ok(&["get-slave", "e1"]) + &a.ok(&["get-slave", "e2"]);
    let active = a.ok(&["get", "bond0", "active_slave"]);
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    a.start_daemon_with(&fs.args());
    assert_eq!(a.ok(&["get", "bond0"]), options);
    assert_eq!(a.ok(&["get-slave", "e1"]) + &a.ok(&["get-slave", "e2"]), slave_options);
    assert_eq!(a.ok(&["get", "bond0", "active_slave"]), active, "no failover on restart");
}

#[test]
fn balance_alb_loses_nothing_on_the_fast_path_and_no_more_than_the_restart_on_the_userspace_path() {
    if !can_run() {
        return;
    }
    let paths: &[&str] = if ubond_sys::bpf::BUILT { &["bpf", "user"] } else { &["user"] };
    for &path in paths {
        let test = format!("alb-{path}");
        let fs = Bpffs::new(&test);
        let mut args = fs.args().to_vec();
        args.extend(["--datapath", path]);
        let (mut a, b) = pair_with(&test, &args);
        for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
            s.ok(&["add", "bond0", "mode=balance-alb", "miimon=100"]);
            s.ok(&["enslave", "bond0", "e1", "e2"]);
            s.ip(&["addr", "add", addr, "dev", "bond0"]);
        }
        wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
        let prober = Prober::start((&a, "192.0.2.1"), (&b, "192.0.2.2"));
        std::thread::sleep(Duration::from_millis(500));
        let down = Instant::now();
        let mut child = a.daemon.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        a.start_daemon_with(&args);
        let gap = down.elapsed();
        std::thread::sleep(Duration::from_secs(2));
        let (sent, lost, runs) = prober.finish();
        // At 2 kHz, the restart's time is worth gap/0.5 ms probes.
        let budget = (gap.as_micros() / 500) as u64;
        eprintln!("balance-alb, {path}: {sent} sent, {lost} lost; away {gap:?} ({budget} probes)");
        match path {
            "bpf" => assert_eq!(lost, 0, "lost {runs}"),
            _ => assert!(lost <= budget, "{lost} lost, more than the {budget} the restart took"),
        }
        assert!(a.shutdown());
    }
}

/// Starts A's daemon expecting it to refuse to start; returns what it said.
fn daemon_refuses(a: &Side, extra: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &a.ns, BIN, "--control"])
        .arg(a.socket())
        .arg("daemon")
        .args(extra)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the daemon started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_state_files_are_refused_with_their_place_and_the_running_bond_is_left_alone() {
    if !can_run() {
        return;
    }
    let fs = Bpffs::new("badstate");
    let (mut a, b) = pair_with("badstate", &fs.args());
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["add", "bond0", "mode=active-backup", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    let path = a.dir.join("ubond-state.json");
    let good = std::fs::read_to_string(&path).unwrap();
    let kill = |a: &mut Side| {
        let mut child = a.daemon.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    };
    kill(&mut a);

    // Newer than this build: the daemon does not start, and the file stays as it is.
    let version = good.find("\"version\": ").map(|i| &good[i..i + 12]).unwrap().to_owned();
    let newer = good.replacen(&version, "\"version\": 99", 1);
    assert_ne!(newer, good, "the file says its version as expected");
    std::fs::write(&path, &newer).unwrap();
    let said = daemon_refuses(&a, &fs.args());
    assert!(said.contains("ubond-state.json") && said.contains("99"), "{said}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), newer, "the newer file is kept");
    assert!(ping(&a, "192.0.2.2"), "the bond runs on meanwhile");

    // Torn (half of it) and garbage: refused with the place, set aside, the daemon runs
    // without bonds, and the bond it could not know keeps running untouched.
    let torn = &good[..good.len() / 2];
    for (text, says) in [
        (torn, "a damaged ubond state file (line "),
        ("\u{1}\u{2}garbage", "not a ubond state file (line 1, column 1"),
        (
            "{\"format\": \"ubond-state\", \"version\": 1, \"bonds\": 3}",
            "a damaged ubond state file (line 1, column ",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        a.start_daemon_with(&fs.args());
        let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap();
        assert!(log.contains(says), "{log}");
        assert!(log.contains("ubond-state.json.refused"), "{log}");
        assert_eq!(std::fs::read_to_string(a.dir.join("ubond-state.json.refused")).unwrap(), text);
        assert!(!a.ok(&["status"]).contains("bond0"), "nothing of a refused file is applied");
        assert!(ping(&a, "192.0.2.2"), "the bond it could not read keeps running");
        kill(&mut a);
        let _ = std::fs::remove_file(&path);
    }

    // The good file again: the bond comes back, and shutdown gives everything back.
    std::fs::write(&path, &good).unwrap();
    a.start_daemon_with(&fs.args());
    assert!(a.ok(&["status"]).contains("bond0"));
    assert!(a.shutdown());
    let left: Vec<_> =
        fs.pins().into_iter().filter(|p| p.to_string_lossy().contains(&a.ns)).collect();
    assert!(left.is_empty(), "A's pins left: {left:?}");
}

#[test]
fn a_pinned_map_of_another_build_is_not_used_and_nothing_is_lost() {
    if !can_run() || !ubond_sys::bpf::BUILT {
        assert!(std::env::var_os("CI").is_none() || ubond_sys::bpf::BUILT);
        return;
    }
    let fs = Bpffs::new("oldmap");
    let (mut a, b) = lacp_pair("oldmap", &fs, &["--datapath", "bpf"]);
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // As if an older build had left a slave map of another layout: the bond map (other value
    // size) pinned where the slave map is.
    let pins = fs.pins();
    let pin = |name: &str| {
        pins.iter().find(|p| p.to_string_lossy().contains(&a.ns) && p.ends_with(name)).unwrap()
    };
    std::fs::rename(pin("map-ubond_bonds"), pin("map-ubond_slaves")).unwrap();
    let probers = [
        Prober::start((&a, "192.0.2.1"), (&b, "192.0.2.2")),
        Prober::start((&b, "192.0.2.2"), (&a, "192.0.2.1")),
    ];
    std::thread::sleep(Duration::from_millis(200));
    a.start_daemon_with(&fs.args());
    std::thread::sleep(Duration::from_secs(1));
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap();
    assert!(
        log.contains("a map of another build's layout (keys of 4 bytes and values of "),
        "{log}"
    );
    assert!(log.contains("bond0: adopted, 2 slave(s); LACP resumed on 2 port(s)"), "{log}");
    for p in probers {
        let (sent, lost, runs) = p.finish();
        assert_eq!(lost, 0, "{sent} sent, lost {runs}");
    }
    assert!(b.report("bond0").matches("port state: 63").count() == 4);
    assert!(a.shutdown());
}

/// Both sides' BFD sessions as their reports show them: (states "up", down counts).
fn bfd_lines(s: &Side) -> (usize, String) {
    let r = s.report("bond0");
    let downs =
        r.lines().filter(|l| l.starts_with("BFD Down Count:")).collect::<Vec<_>>().join(",");
    (r.matches("BFD Status: up").count(), downs)
}

#[test]
fn a_bfd_bond_stopped_and_restarted_keeps_its_sessions_and_loses_no_probe() {
    if !can_run() || !ubond_sys::bpf::BUILT {
        assert!(std::env::var_os("CI").is_none() || ubond_sys::bpf::BUILT);
        return;
    }
    let fs = Bpffs::new("bfdr");
    let mut args = fs.args().to_vec();
    args.extend(["--datapath", "bpf"]);
    let (mut a, b) = pair_with("bfdr", &args);
    for (s, addr, peer) in [(&a, "192.0.2.1/24", "192.0.2.2"), (&b, "192.0.2.2/24", "192.0.2.1")] {
        let peer = format!("bfd_peer={peer}");
        s.ok(&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100", "bfd=on", &peer]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(30), "BFD up on both sides", || {
        [&a, &b].iter().all(|s| bfd_lines(s).0 == 2)
    });
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    let before = bfd_lines(&b);
    for round in 0..2 {
        let probers = [
            ("A to B", Prober::start((&a, "192.0.2.1"), (&b, "192.0.2.2"))),
            ("B to A", Prober::start((&b, "192.0.2.2"), (&a, "192.0.2.1"))),
        ];
        std::thread::sleep(Duration::from_millis(500));
        assert!(a.stop_daemon(), "SIGTERM stops the daemon cleanly");
        std::thread::sleep(Duration::from_millis(500));
        a.start_daemon_with(&args);
        std::thread::sleep(Duration::from_secs(2));
        let mut lost = 0;
        for (way, p) in probers {
            let (n, l, runs) = p.finish();
            eprintln!("round {round}, {way}: {n} sent, {l} lost {runs}");
            lost += l;
        }
        let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
        assert!(log.contains("LACP resumed on 2 port(s)"), "{log}");
        assert!(log.contains("; BFD resumed on 2 session(s)"), "{log}");
        assert_eq!(lost, 0, "probes lost\n{log}");
        // The partner's sessions never went down (their down counts are as before), and come
        // back to the configured timers (a Poll Sequence each, which a loaded machine may
        // take a while to finish).
        assert_eq!(bfd_lines(&b), before, "{}", b.report("bond0"));
        wait_for(
            Duration::from_secs(10),
            "the partner's sessions at the configured timers",
            || b.report("bond0").matches("BFD Detect Time (ms): 150").count() == 2,
        );
        assert_eq!(bfd_lines(&b), before, "{}", b.report("bond0"));
    }
    // A killed daemon could not ask its partner to wait: the sessions start afresh, and come
    // up again.
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    a.start_daemon_with(&args);
    wait_for(Duration::from_secs(10), "BFD up again after a kill", || {
        [&a, &b].iter().all(|s| bfd_lines(s).0 == 2)
    });
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
}

/// A daemon held up for longer than its BFD Detection Time (a loaded machine, a long restore)
/// reads the packets that waited in its sockets before it runs its timers: the partner's came
/// in time, so no session goes down. A runs 50 ms timers (a Detection Time of 150 ms: short
/// against the pauses, long enough that a busy machine's scheduling delays alone do not trip
/// it); B asks A to send only every second (`bfd_min_rx=1000`), so that B's own Detection
/// Time (3 s) outlasts A's pauses. A's daemon is stopped (SIGSTOP) for 600 ms, three times.
#[test]
fn a_daemon_held_up_reads_what_waited_before_its_bfd_timers_run_out() {
    if !can_run() {
        return;
    }
    let (a, b) = pair_with("bfdstall", &[]);
    for (s, addr, peer, rx) in
        [(&a, "192.0.2.1/24", "192.0.2.2", "50"), (&b, "192.0.2.2/24", "192.0.2.1", "1000")]
    {
        let (peer, rx) = (format!("bfd_peer={peer}"), format!("bfd_min_rx={rx}"));
        let bfd = ["bfd=on", "bfd_min_tx=50", &rx, &peer];
        s.ok(
            &[&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100"][..], &bfd].concat()
        );
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(30), "BFD up with A's 150 ms Detection Time", || {
        bfd_lines(&b).0 == 2
            && a.report("bond0").matches("BFD Detect Time (ms): 150\n").count() == 2
    });
    let pid = a.daemon.as_ref().unwrap().id().to_string();
    let before = (bfd_lines(&a), bfd_lines(&b));
    for pause in 0..3 {
        must(&["kill", "-STOP", &pid]);
        std::thread::sleep(Duration::from_millis(600));
        must(&["kill", "-CONT", &pid]);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!((bfd_lines(&a), bfd_lines(&b)), before, "pause {pause}:\n{}", a.report("bond0"));
    }
}

#[test]
fn what_changed_while_no_daemon_ran_is_reconciled_and_stale_lacp_state_is_not_trusted() {
    if !can_run() {
        return;
    }
    let fs = Bpffs::new("recon");
    let (mut a, b) = pair_with("recon", &fs.args());
    for s in [&a, &b] {
        s.ok(&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
    }
    wait_for(Duration::from_secs(30), "port state 63 on both sides", || {
        [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() == 4)
    });
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // While no daemon runs: a slave disappears, another loses its carrier (its far end goes
    // down), someone deletes the bond's device; and longer passes than the partner's 3 s
    // LACP timeout.
    a.ip(&["link", "del", "e2"]);
    b.ip(&["link", "set", "e1", "down"]);
    a.ip(&["link", "del", "bond0"]);
    // And e1's saved LACP state is damaged inside a well-formed file: it costs the port its
    // resume, not the bond.
    let path = a.dir.join("ubond-state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("\"partner_lacpdu\": \"").expect("a saved LACPDU") + 19;
    std::fs::write(&path, format!("{}zz{}", &text[..at], &text[at + 2..])).unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    a.start_daemon_with(&fs.args());
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    for said in [
        "bond0: made again: its device was deleted while no daemon ran",
        "1 slave(s); LACP negotiates afresh (the partner waited ",
        "e2 disappeared while no daemon ran",
        "e1: its saved LACP state cannot be used (",
    ] {
        assert!(log.contains(said), "{said:?} not in\n{log}");
    }
    wait_for(Duration::from_secs(10), "e1 in A's report", || {
        a.report("bond0").contains("Slave Interface: e1")
    });
    let report = a.report("bond0");
    assert!(!report.contains("Slave Interface: e2"), "{report}");
    wait_for(Duration::from_secs(10), "the slave's lost carrier seen", || {
        support::bonding::slave_mii(&a.report("bond0"), "e1") == "down"
    });
    // Its far end back, the slave negotiates again with the partner.
    b.ip(&["link", "set", "e1", "up"]);
    wait_for(Duration::from_secs(30), "port state 63 again on A's e1", || {
        a.report("bond0").matches("port state: 63").count() == 2
    });
    assert!(a.shutdown());
}
