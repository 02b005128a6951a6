//! Interop with the real Linux bonding driver: a Debian 6.1 kernel in a QEMU guest
//! (`interop/kernel-vm`) whose two e1000 NICs are TAP devices in a namespace of ours; a ubond
//! daemon in that namespace bonds the two taps. The guest prints its
//! `/proc/net/bonding/bond0` to its serial console every second, which is what these tests read.
//!
//! Needs root, `qemu-system-x86_64` and `python3` (run-vm.sh's monitor channel); the guest's
//! kernel is fetched by `build.sh` (`apt-get download`, cached). Skipped with a note elsewhere,
//! a failure under CI. `KERNEL_VM_DIR` may point at another copy of the scripts.
//!
//! Each test uses its own namespace `ubd-<pid>-<test>-k`, its own guest state directory, and only
//! 192.0.2.0/24; the guard stops the guest by its pid file and deletes the namespace even when
//! the test fails.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};

use support::*;

/// The guest's fixed NIC MACs (eth0 is its bond's system MAC).
const GUEST_MACS: [&str; 2] = ["52:54:00:75:6b:00", "52:54:00:75:6b:01"];
const GUEST_ADDR: &str = "192.0.2.1";
const OUR_ADDR: &str = "192.0.2.2";

fn kernel_vm_dir() -> PathBuf {
    std::env::var_os("KERNEL_VM_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/kernel-vm")),
        PathBuf::from,
    )
}

fn can_run_vm() -> bool {
    if !can_run() {
        return false;
    }
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let qemu = have("qemu-system-x86_64");
    let python = have("python3");
    let scripts = kernel_vm_dir().join("run-vm.sh").exists();
    let ok = qemu && python && scripts;
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must run the kernel interop tests: qemu={qemu} python3={python} scripts={scripts}"
    );
    if !ok {
        eprintln!("skipped: needs qemu-system-x86_64, python3 and interop/kernel-vm");
    }
    ok
}

/// build.sh once per test binary (it is cached across runs, ~5 s when warm).
fn build_kernel() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let o = Command::new(kernel_vm_dir().join("build.sh")).output().unwrap();
        assert!(
            o.status.success(),
            "kernel-vm build.sh failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    });
}

/// One guest plus our side in one namespace. Dropped: guest stopped, namespace deleted.
struct Lab {
    side: Side,
    guest: String,
    taps: [String; 2],
    run_dir: PathBuf,
}

impl Lab {
    fn start(test: &str, mode: &str) -> Lab {
        build_kernel();
        let side = side(test, "k");
        let run_dir = side.dir.join("guest");
        std::fs::create_dir_all(&run_dir).unwrap();
        let pid = std::process::id();
        let guest = format!("ukv{pid}{test}");
        let taps = [0, 1].map(|i| format!("ukv{pid}{}{i}", &test[..1]));
        // Dropped in order: the guest first (Lab::drop), then the side (daemon, namespace).
        let lab = Lab { side, guest, taps, run_dir };
        let o = lab.run_vm(&[
            "start",
            &lab.guest,
            "--netns",
            &lab.side.ns,
            "--taps",
            &lab.taps.join(","),
            "--macs",
            &GUEST_MACS.join(","),
            "--mode",
            mode,
            "--addr",
            &format!("{GUEST_ADDR}/24"),
            "--peer",
            OUR_ADDR,
            "--interval",
            "1",
        ]);
        assert!(o.status.success(), "run-vm.sh start: {}", String::from_utf8_lossy(&o.stderr));
        lab
    }

    fn run_vm(&self, args: &[&str]) -> std::process::Output {
        Command::new(kernel_vm_dir().join("run-vm.sh"))
            .args(args)
            .env("KVM_BOND_RUN_DIR", &self.run_dir)
            .output()
            .unwrap()
    }

    /// The guest's serial console so far (`\r` removed).
    fn console(&self) -> String {
        std::fs::read_to_string(self.run_dir.join(format!("{}.log", self.guest)))
            .unwrap_or_default()
            .replace('\r', "")
    }

    /// The guest's newest complete `/proc/net/bonding/bond0` dump.
    fn guest_report(&self) -> String {
        let log = self.console();
        let Some(end) = log.rfind("=== BOND-STATUS end") else { return String::new() };
        let begin = log[..end].rfind("=== BOND-STATUS begin").unwrap_or(0);
        let body = &log[begin..end];
        body.split_once('\n').map_or("", |(_, rest)| rest).to_string()
    }

    /// Summary lines printed after byte `from` of the console.
    fn summaries_after(&self, from: usize) -> Vec<String> {
        let log = self.console();
        log.get(from..)
            .unwrap_or("")
            .lines()
            .filter(|l| l.starts_with("BOND-SUMMARY"))
            .map(str::to_string)
            .collect()
    }

    fn console_len(&self) -> usize {
        self.console().len()
    }

    fn qmp(&self, command: &str) {
        let o = self.run_vm(&["qmp", &self.guest, command]);
        assert!(o.status.success(), "qmp {command}: {}", String::from_utf8_lossy(&o.stderr));
    }

    /// The ubond bond over the guest's taps, addressed, up.
    fn bond(&mut self, options: &[&str]) {
        self.side.start_daemon();
        let mut add = vec!["add", "bond0"];
        add.extend_from_slice(options);
        self.side.ok(&add);
        self.side.ok(&["enslave", "bond0", &self.taps[0], &self.taps[1]]);
        self.side.ip(&["link", "set", "bond0", "up"]);
        self.side.ip(&["addr", "add", &format!("{OUR_ADDR}/24"), "dev", "bond0"]);
        if ubond_sys::bpf::BUILT {
            // The default data path is the in-kernel one: the driver is met through it.
            let log = std::fs::read_to_string(self.side.dir.join("daemon.log")).unwrap_or_default();
            assert!(log.contains("bond0: data path: bpf"), "{log}");
        }
    }

    fn our_report(&self) -> String {
        self.side.ok(&["status", "bond0"])
    }

    fn pings(&self, count: u32) -> u32 {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.side.ns, "ping", "-n", "-q", "-i", "0.2", "-W", "1"])
            .args(["-c", &count.to_string(), GUEST_ADDR])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        // "5 packets transmitted, 5 received, ..."
        text.split(", ")
            .find_map(|part| part.strip_suffix(" received").and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.side.stop_daemon();
        let _ = self.run_vm(&["stop", &self.guest]);
        if std::thread::panicking() {
            let tail: String = {
                let log = self.console();
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(60)..].join("\n")
            };
            eprintln!("--- guest console (tail) ---\n{tail}");
            let daemon =
                std::fs::read_to_string(self.side.dir.join("daemon.log")).unwrap_or_default();
            eprintln!("--- ubond daemon log ---\n{daemon}");
        }
    }
}

/// The values of `key: value` lines of a report section, in order.
fn values<'a>(report: &'a str, key: &str) -> Vec<&'a str> {
    report.lines().filter_map(|l| l.trim().strip_prefix(key)).map(str::trim).collect()
}

/// The per-slave blocks of a report (text after each "Slave Interface:" line).
fn slave_blocks(report: &str) -> Vec<&str> {
    report.split("\nSlave Interface: ").skip(1).collect()
}

/// "port state" of the actor and the partner in one slave block.
fn port_states(block: &str) -> (String, String) {
    let actor = block.split("details actor lacp pdu:").nth(1).unwrap_or("");
    let partner = block.split("details partner lacp pdu:").nth(1).unwrap_or("");
    let state =
        |s: &str| values(s, "port state:").first().map(|v| v.to_string()).unwrap_or_default();
    (state(actor), state(partner))
}

fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
    t0.elapsed()
}

#[test]
fn lacp_fast_with_the_kernel_driver() {
    if !can_run_vm() {
        return;
    }
    let mut lab = Lab::start("lacp", "802.3ad");
    lab.bond(&["mode=802.3ad", "miimon=100", "lacp_rate=fast", "xmit_hash_policy=layer2+3"]);
    let our_mac = mac_of(&lab.side, "bond0");
    let took = wait_until(Duration::from_secs(120), "lacp=up in the guest", || {
        lab.summaries_after(0).iter().any(|l| l.contains(" lacp=up "))
    });
    eprintln!("guest reports lacp=up {took:?} after the bond was configured (guest boot included)");

    // The kernel's view: one aggregator holding both slaves, ubond's system MAC as partner,
    // our ports' state 63 (activity, short timeout, aggregation, sync, collecting, distributing).
    let guest = lab.guest_report();
    assert_eq!(values(&guest, "Partner Mac Address:"), [our_mac.as_str()], "{guest}");
    let active = values(&guest, "Aggregator ID:")[0].to_string();
    let slaves = slave_blocks(&guest);
    assert_eq!(slaves.len(), 2, "{guest}");
    for block in &slaves {
        assert_eq!(values(block, "Aggregator ID:"), [active.as_str()], "{guest}");
        assert_eq!(port_states(block), ("63".into(), "63".into()), "{guest}");
        assert!(block.contains(&format!("system mac address: {our_mac}")), "{guest}");
    }

    // Ours: the guest as partner on both ports, in one aggregator.
    let ours = lab.our_report();
    assert_eq!(values(&ours, "Partner Mac Address:"), [GUEST_MACS[0]], "{ours}");
    assert_eq!(values(&ours, "Number of ports:"), ["2"], "{ours}");
    for block in slave_blocks(&ours) {
        assert_eq!(port_states(block), ("63".into(), "63".into()), "{ours}");
    }
    assert!(lab.pings(5) >= 4, "ping to the kernel bond");

    // Carrier loss on the guest's first NIC (the tap on our side stays up, so we learn it
    // from the missing LACPDUs: 3 s at the fast rate).
    lab.qmp("set_link n0 off");
    let t0 = Instant::now();
    let gone = wait_until(Duration::from_secs(15), "our aggregator down to one port", || {
        values(&lab.our_report(), "Number of ports:") == ["1"]
    });
    eprintln!("one port left in our aggregator {gone:?} after the guest's link went down");
    assert!(lab.pings(5) >= 4, "ping over the surviving link");
    let mark = lab.console_len();
    lab.qmp("set_link n0 on");
    let back = wait_until(Duration::from_secs(60), "lacp=up again in the guest", || {
        lab.summaries_after(mark).iter().any(|l| l.contains(" lacp=up "))
    });
    eprintln!("re-aggregated {back:?} after the link returned ({:?} since the cut)", t0.elapsed());
    wait_until(Duration::from_secs(10), "both ports in our aggregator again", || {
        values(&lab.our_report(), "Number of ports:") == ["2"]
    });
    assert!(lab.pings(5) >= 4, "ping after re-aggregation");
}

#[test]
fn active_backup_with_the_kernel_driver() {
    if !can_run_vm() {
        return;
    }
    let mut lab = Lab::start("ab", "active-backup");
    lab.bond(&["mode=active-backup", "miimon=100"]);
    wait_until(Duration::from_secs(120), "the guest's bond configured", || {
        lab.console().contains("BOND-INIT: ready")
    });
    wait_until(Duration::from_secs(30), "ping to the guest", || lab.pings(2) >= 1);
    let ours = lab.our_report();
    assert!(ours.contains(&format!("Currently Active Slave: {}", lab.taps[0])), "{ours}");

    // A cable pull on link 0: the guest's NIC loses carrier, and so does our tap.
    lab.qmp("set_link n0 off");
    lab.side.ip(&["link", "set", &lab.taps[0], "down"]);
    wait_until(Duration::from_secs(10), "our bond on the second tap", || {
        lab.our_report().contains(&format!("Currently Active Slave: {}", lab.taps[1]))
    });
    wait_until(Duration::from_secs(15), "the guest's bond on eth1", || {
        lab.guest_report().contains("Currently Active Slave: eth1")
    });
    assert!(lab.pings(5) >= 4, "ping over the backup link");
}

impl Lab {
    /// Every complete `/proc/net/bonding/bond0` dump printed after byte `from` of the console.
    fn guest_reports_after(&self, from: usize) -> Vec<String> {
        let log = self.console();
        let log = log.get(from..).unwrap_or("");
        log.split("=== BOND-STATUS begin")
            .skip(1)
            .filter_map(|d| d.split_once("=== BOND-STATUS end").map(|(body, _)| body))
            .filter_map(|body| body.split_once('\n').map(|(_, rest)| rest.to_string()))
            .collect()
    }
}

#[test]
fn the_kernel_driver_does_not_notice_our_daemon_restarting() {
    if !can_run_vm() {
        return;
    }
    // Pins in a bpffs of the test's own, so that the programs outlive each daemon.
    let fs = Bpffs::new("kvrestart");
    let mut lab = Lab::start("restart", "802.3ad");
    lab.side.start_daemon_with(&fs.args());
    lab.side.ok(&["add", "bond0", "mode=802.3ad", "miimon=100", "lacp_rate=fast"]);
    lab.side.ok(&["enslave", "bond0", &lab.taps[0], &lab.taps[1]]);
    lab.side.ip(&["link", "set", "bond0", "up"]);
    lab.side.ip(&["addr", "add", &format!("{OUR_ADDR}/24"), "dev", "bond0"]);
    wait_until(Duration::from_secs(120), "lacp=up in the guest", || {
        lab.summaries_after(0).iter().any(|l| l.contains(" lacp=up "))
    });
    wait_until(
        Duration::from_secs(20),
        "port state 63 both ways on both ports, both sides",
        || {
            let guest = lab.guest_report();
            let ours = lab.our_report();
            [guest, ours].iter().all(|r| {
                let blocks = slave_blocks(r);
                blocks.len() == 2
                    && blocks.iter().all(|b| port_states(b) == ("63".into(), "63".into()))
            })
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let before = lab.guest_report();
    let aggregator = values(&before, "Aggregator ID:")[0].to_string();
    let churned = |r: &str| {
        [values(r, "Actor Churned Count:"), values(r, "Partner Churned Count:")].concat().join(" ")
    };
    let churn_before = churned(&before);
    assert!(!churn_before.is_empty(), "the guest's report shows churn counts: {before}");
    let mark = lab.console_len();

    for how in ["kill", "term"] {
        if how == "kill" {
            let mut child = lab.side.daemon.take().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
        } else {
            assert!(lab.side.stop_daemon());
        }
        std::thread::sleep(Duration::from_millis(500));
        lab.side.start_daemon_with(&fs.args());
        let log = std::fs::read_to_string(lab.side.dir.join("daemon.log")).unwrap();
        assert!(log.contains("bond0: adopted, 2 slave(s); LACP resumed on 2 port(s)"), "{log}");
        // Longer than the guest's 3 s timeout: it would have expired us by now.
        std::thread::sleep(Duration::from_secs(4));
    }

    // Every report the guest printed meanwhile: both ports in the same aggregator, 63 both
    // ways, no churn counted; every summary says LACP up.
    let reports = lab.guest_reports_after(mark);
    assert!(reports.len() >= 8, "{} reports of the guest", reports.len());
    for r in &reports {
        let blocks = slave_blocks(r);
        assert_eq!(blocks.len(), 2, "{r}");
        for b in &blocks {
            assert_eq!(values(b, "Aggregator ID:"), [aggregator.as_str()], "{r}");
            assert_eq!(port_states(b), ("63".into(), "63".into()), "{r}");
        }
        assert_eq!(churned(r), churn_before, "{r}");
    }
    let summaries = lab.summaries_after(mark);
    assert!(summaries.iter().all(|l| l.contains(" lacp=up ")), "{summaries:?}");
    assert!(lab.pings(5) >= 4, "ping to the kernel bond after the restarts");
    assert!(lab.side.shutdown());
}
