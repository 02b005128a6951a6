//! Interop with the real Linux bonding driver: a Debian 6.1 kernel in a QEMU guest
//! (`interop/kernel-vm`) whose two e1000 NICs are TAP devices in a namespace of ours; a ubond
//! daemon in that namespace bonds the two taps. The guest prints its
//! `/proc/net/bonding/bond0` to its serial console every second, which is what these tests read.
//!
//! Needs root, `qemu-system-x86_64` and `python3` (run-vm.sh's monitor channel); the guest's
//! kernel is fetched by `build.sh` (`apt-get download`, cached). Skipped with a note elsewhere,
//! a failure under CI. `KERNEL_VM_DIR` may point at another copy of the scripts.
//!
//! One test runs ubond in the guest instead of the bonding driver (build.sh puts this build's
//! binary in the guest's initramfs): ubond on both ends, the guest's on a kernel without TCX.
//!
//! Each test uses its own namespace `ubd-<pid>-<test>-k`, its own guest state directory, and only
//! 192.0.2.0/24; the guard stops the guest by its pid file and deletes the namespace even when
//! the test fails.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::*;

/// The guest's fixed NIC MACs (eth0 is its bond's system MAC).
const GUEST_MACS: [&str; 2] = ["52:54:00:75:6b:00", "52:54:00:75:6b:01"];
const GUEST_MACS_JOINED: &str = "52:54:00:75:6b:00,52:54:00:75:6b:01";
const GUEST_ADDR: &str = "192.0.2.1";
const OUR_ADDR: &str = "192.0.2.2";

fn kernel_vm_dir() -> PathBuf {
    std::env::var_os("KERNEL_VM_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/kernel-vm")),
        PathBuf::from,
    )
}

fn can_run_vm() -> bool {
    vm_tools() && built(build_kernel())
}

/// Root, iproute2, ping, qemu, python3 and the scripts (a failure under CI, else a skip).
fn vm_tools() -> bool {
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
    let ci = std::env::var_os("CI").is_some();
    assert!(
        ok || !ci,
        "CI must run the kernel interop tests: qemu={qemu} python3={python} scripts={scripts}"
    );
    if !ok {
        eprintln!("skipped: needs qemu-system-x86_64, python3 and interop/kernel-vm");
    }
    ok
}

/// Whether the guest's kernel and initramfs were built (build.sh needs apt-get download or its
/// cache, kmod, busybox-static and cpio): `error` is build.sh's (a failure under CI, else a
/// skip).
fn built(error: Option<&str>) -> bool {
    let Some(error) = error else { return true };
    let ci = std::env::var_os("CI").is_some();
    assert!(!ci, "CI must run the kernel interop tests: kernel-vm build.sh failed: {error}");
    eprintln!("skipped: no guest kernel image: interop/kernel-vm/build.sh failed: {error}");
    false
}

/// build.sh once per test binary (it is cached across runs, ~5 s when warm): its error, if
/// it failed.
fn build_kernel() -> Option<&'static str> {
    static BUILD: OnceLock<Option<String>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let o = Command::new(kernel_vm_dir().join("build.sh")).output().unwrap();
            (!o.status.success()).then(|| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
        })
        .as_deref()
}

/// build.sh with this test binary's ubond in the initramfs (`KVM_BOND_EXTRA_BINS`), once per
/// test binary (reused from the cache while the binary stays the same, ~15 s otherwise): the
/// initramfs, or build.sh's error.
fn build_ubond_guest() -> Result<PathBuf, String> {
    static BUILD: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let o = Command::new(kernel_vm_dir().join("build.sh"))
                .env("KVM_BOND_EXTRA_BINS", BIN)
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            // "build.sh: done: VMLINUZ INITRAMFS"
            let initrd = out
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("build.sh: done: "))
                .and_then(|l| l.split_whitespace().nth(1));
            match initrd {
                Some(path) if o.status.success() => Ok(PathBuf::from(path)),
                _ => Err(format!("{out}{}", String::from_utf8_lossy(&o.stderr))),
            }
        })
        .clone()
}

/// One guest plus our side in one namespace. Dropped: guest stopped, namespace deleted.
struct Lab {
    side: Side,
    guest: String,
    taps: [String; 2],
    run_dir: PathBuf,
}

impl Lab {
    /// A guest in `mode` with 192.0.2.1 that pings us forever (its console shows the replies).
    fn start(test: &str, mode: &str) -> Lab {
        Lab::boot(test, &["--mode", mode, "--peer", OUR_ADDR])
    }

    /// A guest with 192.0.2.1 on its bond, configured by run-vm.sh's further `args`.
    fn boot(test: &str, args: &[&str]) -> Lab {
        let side = side(test, "k");
        let run_dir = side.dir.join("guest");
        std::fs::create_dir_all(&run_dir).unwrap();
        let pid = std::process::id();
        let guest = format!("ukv{pid}{test}");
        let taps = [0, 1].map(|i| format!("ukv{pid}{}{i}", &test[..1]));
        // Dropped in order: the guest first (Lab::drop), then the side (daemon, namespace).
        let lab = Lab { side, guest, taps, run_dir };
        let mut start = vec![
            "start",
            &lab.guest,
            "--netns",
            &lab.side.ns,
            "--macs",
            GUEST_MACS_JOINED,
            "--interval",
            "1",
        ];
        let taps = lab.taps.join(",");
        let addr = format!("{GUEST_ADDR}/24");
        start.extend_from_slice(&["--taps", &taps, "--addr", &addr]);
        start.extend_from_slice(args);
        let o = lab.run_vm(&start);
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

/// Frames through one member, as our side of its wire counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Frames {
    /// Sent by our side (ubond, or the bridge) towards the guest's NIC (or member).
    to: u64,
    /// Received from it.
    from: u64,
}

/// What one run of `ping` saw.
#[derive(Debug, Clone, Copy, Default)]
struct Pinged {
    received: u32,
    duplicates: u32,
}

impl Pinged {
    /// Reads the summary of iputils' and busybox's `ping` ("10 packets transmitted, 10
    /// received, +30 duplicates" / "10 packets received, 30 duplicates").
    fn parse(out: &str) -> Pinged {
        let num = |suffixes: &[&str]| {
            out.lines()
                .flat_map(|l| l.split(", "))
                .find_map(|part| {
                    let part = part.trim().trim_start_matches('+');
                    suffixes.iter().find_map(|s| part.strip_suffix(s)?.parse().ok())
                })
                .unwrap_or(0)
        };
        Pinged {
            received: num(&[" packets received", " received"]),
            duplicates: num(&[" duplicates"]),
        }
    }
}

impl Lab {
    /// Runs `command` in the guest (its shell, with guest-init.sh's functions); its status and
    /// output.
    fn guest_run(&self, command: &str) -> (bool, String) {
        let o = Command::new(kernel_vm_dir().join("run-vm.sh"))
            .args(["exec", &self.guest, command])
            .env("KVM_BOND_RUN_DIR", &self.run_dir)
            .env("KVM_BOND_EXEC_TIMEOUT", "60")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        (o.status.success(), out + &String::from_utf8_lossy(&o.stderr))
    }

    /// [`Lab::guest_run`], which must succeed.
    fn guest(&self, command: &str) -> String {
        let (ok, out) = self.guest_run(command);
        assert!(ok, "in the guest: {command}: {out}");
        out
    }

    fn wait_booted(&self) {
        wait_until(Duration::from_secs(180), "the guest's bond configured", || {
            self.console().contains("BOND-INIT: ready")
        });
        let console = self.console();
        assert!(!console.contains("BOND-INIT: FAILED"), "{console}");
    }

    /// Gives the guest a new bond: guest-init.sh's `bond_setup` with `key=value` arguments.
    fn guest_bond(&self, settings: &[&str]) {
        self.guest(&format!("bond_setup {}", settings.join(" ")));
    }

    /// The guest's `/proc/net/bonding/bond0`, now.
    fn guest_proc(&self) -> String {
        self.guest("cat /proc/net/bonding/bond0")
    }

    /// The MAC address of a guest interface.
    fn guest_mac(&self, iface: &str) -> String {
        self.guest(&format!("cat /sys/class/net/{iface}/address")).trim().to_string()
    }

    /// `ping` from the guest to `to`, `count` probes 50 ms apart.
    fn guest_ping(&self, to: &str, count: u32) -> Pinged {
        Pinged::parse(&self.guest_run(&format!("ping -c {count} -i 0.05 -W 3 {to}")).1)
    }

    /// `ping` from namespace `ns` to `to`, `count` probes 50 ms apart.
    fn ping_from(ns: &str, to: &str, count: u32) -> Pinged {
        let o = Command::new("ip")
            .args(["netns", "exec", ns, "ping", "-n", "-q", "-i", "0.05", "-W", "1"])
            .args(["-c", &count.to_string(), to])
            .output()
            .unwrap();
        Pinged::parse(&String::from_utf8_lossy(&o.stdout))
    }

    /// The packet counters of `ifaces` in our namespace, from our side.
    fn frames(&self, ifaces: &[&str]) -> Vec<Frames> {
        let files: Vec<String> = ifaces
            .iter()
            .flat_map(|i| {
                ["tx", "rx"].map(|d| format!("/sys/class/net/{i}/statistics/{d}_packets"))
            })
            .collect();
        let mut args = vec!["ip", "netns", "exec", &self.side.ns, "cat"];
        args.extend(files.iter().map(String::as_str));
        let o = sh(&args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let n: Vec<u64> =
            String::from_utf8_lossy(&o.stdout).lines().map(|l| l.trim().parse().unwrap()).collect();
        n.chunks(2).map(|c| Frames { to: c[0], from: c[1] }).collect()
    }

    /// The frames each of `ifaces` carried while `f` ran.
    fn during<T>(&self, ifaces: &[&str], f: impl FnOnce() -> T) -> (T, Vec<Frames>) {
        let before = self.frames(ifaces);
        let out = f();
        let after = self.frames(ifaces);
        let delta = before
            .iter()
            .zip(&after)
            .map(|(b, a)| Frames { to: a.to - b.to, from: a.from - b.from })
            .collect();
        (out, delta)
    }

    /// Our bond0 (made again if it exists) over `members`, addressed, up.
    fn our_bond(&mut self, options: &[&str], members: &[&str]) {
        if self.side.daemon.is_none() {
            self.side.start_daemon();
        }
        if self.side.ubond(&["status", "bond0"]).status.success() {
            self.side.ok(&["del", "bond0"]);
        }
        let mut add = vec!["add", "bond0"];
        add.extend_from_slice(options);
        self.side.ok(&add);
        let mut enslave = vec!["enslave", "bond0"];
        enslave.extend_from_slice(members);
        self.side.ok(&enslave);
        self.side.ip(&["link", "set", "bond0", "up"]);
        self.side.ip(&["addr", "add", &format!("{OUR_ADDR}/24"), "dev", "bond0"]);
    }

    /// A cable pull on wire `i`: the guest's NIC loses carrier, and so does our tap.
    fn cut(&self, i: usize) {
        self.qmp(&format!("set_link n{i} off"));
        self.side.ip(&["link", "set", &self.taps[i], "down"]);
    }

    /// The cable back.
    fn mend(&self, i: usize) {
        self.qmp(&format!("set_link n{i} on"));
        self.side.ip(&["link", "set", &self.taps[i], "up"]);
    }

    /// Waits until both bonds see every member's MII status as `expected` (ours: the taps,
    /// the guest's: eth0, eth1).
    fn wait_mii(&self, expected: [&str; 2]) {
        self.wait_mii_of([&self.taps[0], &self.taps[1]], expected);
    }

    /// [`Lab::wait_mii`] with our bond's members named.
    fn wait_mii_of(&self, ours: [&str; 2], expected: [&str; 2]) {
        let want = |report: &str, names: [&str; 2]| {
            names.iter().zip(expected).all(|(n, e)| slave_field(report, n, "MII Status") == e)
        };
        wait_until(Duration::from_secs(30), &format!("our members {expected:?}"), || {
            want(&self.our_report(), ours)
        });
        wait_until(Duration::from_secs(30), &format!("the guest's slaves {expected:?}"), || {
            want(&self.guest_proc(), ["eth0", "eth1"])
        });
    }
}

/// One field of one slave's block in a report ("" if absent).
fn slave_field(report: &str, slave: &str, key: &str) -> String {
    slave_blocks(report)
        .into_iter()
        .find(|b| b.lines().next() == Some(slave))
        .and_then(|b| values(b, &format!("{key}:")).first().map(|v| v.to_string()))
        .unwrap_or_default()
}

/// A `/proc/net/bonding` report reduced to what two implementations of one configuration in
/// the same state must agree on: the driver's version line goes; slave names become their
/// enslave position, MAC addresses (but the all-zero one) `<mac>`; what depends on the
/// hardware or on numbering — link speed, aggregator ids, LACP keys (the speed is in them) —
/// becomes a placeholder.
fn normalised(report: &str) -> Vec<String> {
    let slaves: Vec<&str> =
        report.lines().filter_map(|l| l.strip_prefix("Slave Interface: ")).collect();
    let is_mac = |v: &str| {
        v.len() == 17
            && v.split(':').count() == 6
            && v.split(':').all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let token = |t: &str| -> String {
        if let Some(i) = slaves.iter().position(|s| *s == t) {
            format!("<slave{}>", i + 1)
        } else if is_mac(t) && t != "00:00:00:00:00:00" {
            "<mac>".into()
        } else {
            t.into()
        }
    };
    report
        .lines()
        .filter(|l| !l.starts_with("Ethernet Channel Bonding Driver:"))
        .map(|line| {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            let Some((key, value)) = body.split_once(": ") else { return line.to_string() };
            let value = match key {
                "Speed" if value != "Unknown" => "<speed>".to_string(),
                "Aggregator ID" | "Actor Key" | "Partner Key" | "port key" | "oper key" => {
                    "<n>".to_string()
                }
                _ => value.split(' ').map(token).collect::<Vec<_>>().join(" "),
            };
            format!("{indent}{key}: {value}")
        })
        .collect()
}

/// The lines where ubond's report differs from the kernel's once both are [`normalised`]:
/// `-` the kernel's, `+` ours, in order (empty when they agree).
fn report_differences(kernel: &str, ours: &str) -> Vec<String> {
    let (k, o) = (normalised(kernel), normalised(ours));
    // Longest common subsequence, then the lines outside it.
    let mut lcs = vec![vec![0usize; o.len() + 1]; k.len() + 1];
    for i in (0..k.len()).rev() {
        for j in (0..o.len()).rev() {
            lcs[i][j] =
                if k[i] == o[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < k.len() || j < o.len() {
        if i < k.len() && j < o.len() && k[i] == o[j] {
            (i, j) = (i + 1, j + 1);
        } else if j == o.len() || (i < k.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", k[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", o[j]));
            j += 1;
        }
    }
    out
}

/// Asserts that the two reports agree ([`report_differences`]).
fn assert_same_report(what: &str, kernel: &str, ours: &str) {
    let diff = report_differences(kernel, ours);
    assert!(
        diff.is_empty(),
        "{what}: ubond's report differs from the kernel's:\n{}\n--- kernel ---\n{kernel}\n--- ubond ---\n{ours}",
        diff.join("\n")
    );
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
    // lacp=up is the aggregator's; its second port may still be joining (a loaded machine).
    let settled = wait_until(Duration::from_secs(20), "both guest ports at 63/63", || {
        let blocks = lab.guest_report();
        let blocks = slave_blocks(&blocks);
        blocks.len() == 2 && blocks.iter().all(|b| port_states(b) == ("63".into(), "63".into()))
    });
    eprintln!("both of the guest's ports at 63/63 {settled:?} after that");

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

    // Ours: the guest as partner on both ports, in one aggregator. The guest's report can show
    // 63 before its LACPDU saying so has reached us (its transmit machine runs on a 100 ms
    // tick), so wait for that PDU.
    wait_until(Duration::from_secs(10), "both our ports at 63/63", || {
        let ours = lab.our_report();
        let blocks = slave_blocks(&ours);
        blocks.len() == 2 && blocks.iter().all(|b| port_states(b) == ("63".into(), "63".into()))
    });
    let ours = lab.our_report();
    assert_eq!(values(&ours, "Partner Mac Address:"), [GUEST_MACS[0]], "{ours}");
    assert_eq!(values(&ours, "Number of ports:"), ["2"], "{ours}");
    for block in slave_blocks(&ours) {
        assert_eq!(port_states(block), ("63".into(), "63".into()), "{ours}");
    }
    // For up to about a second after both ends show 63/63 no ping is answered (in two runs of
    // three). Captures on both taps show why: the guest, which pings us every second, asked for
    // our address while our port was not yet collecting (so its request was dropped, as 802.1AX
    // says); until its neighbour code asks again, a second later (`retrans_time_ms`), it holds
    // its replies to our pings. So the count below starts once one reply came.
    wait_until(Duration::from_secs(10), "a first ping to the kernel bond", || lab.pings(2) >= 1);
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

/// active-backup against the kernel's: a cable pull moves both bonds to the second member,
/// its return moves neither back (no primary, the same prio), and a primary enslaved second is
/// made active at once on both, even with `primary_reselect failure`.
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

    // The cable back: without a primary, and of the same prio, the first member does not
    // take the active role back, on either bond (bond_miimon_commit reselects only for a
    // primary or a higher prio).
    lab.mend(0);
    lab.wait_mii(["up", "up"]);
    std::thread::sleep(Duration::from_secs(2));
    let (ours, guest) = (lab.our_report(), lab.guest_report());
    assert!(ours.contains(&format!("Currently Active Slave: {}", lab.taps[1])), "{ours}");
    assert!(guest.contains("Currently Active Slave: eth1"), "{guest}");
    assert!(lab.pings(5) >= 4, "ping with both links back");

    // The primary, enslaved after the other member, is made active at once whatever
    // primary_reselect says (bond_enslave's force_primary: "When initially enslaved, the
    // primary slave is always made the active slave").
    lab.guest_bond(&["mode=active-backup", "opts=primary:eth1,primary_reselect:failure"]);
    let taps = [lab.taps[0].clone(), lab.taps[1].clone()];
    let primary = format!("primary={}", taps[1]);
    let options = ["mode=active-backup", "miimon=100", &primary, "primary_reselect=failure"];
    lab.our_bond(&options, &[&taps[0], &taps[1]]);
    lab.wait_mii(["up", "up"]);
    wait_until(Duration::from_secs(10), "the guest's bond on its primary eth1", || {
        lab.guest_proc().contains("Currently Active Slave: eth1")
    });
    let ours = lab.our_report();
    assert!(ours.contains(&format!("Currently Active Slave: {}", taps[1])), "{ours}");
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

/// An ICMP echo between two bonds as `xmit_hash` sees it (Ethernet + IPv4 header + ICMP).
fn echo_frame(dst_mac: &str, src_mac: &str, src_ip: &str, dst_ip: &str) -> Vec<u8> {
    let mac =
        |m: &str| -> Vec<u8> { m.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect() };
    let ip = |a: &str| a.parse::<std::net::Ipv4Addr>().unwrap().octets();
    let mut f = [mac(dst_mac), mac(src_mac), vec![0x08, 0x00]].concat();
    f.extend_from_slice(&[0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0]);
    f.extend_from_slice(&ip(src_ip));
    f.extend_from_slice(&ip(dst_ip));
    f.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]);
    f
}

/// The member index (enslave order, two members) the kernel's `layer2+3` hash gives a frame.
fn layer23_member(frame: &[u8]) -> usize {
    let hash = ubond_core::hash::xmit_hash(ubond_core::hash::XmitHashPolicy::Layer23, frame, None);
    ubond_core::hash::select(hash, 2).unwrap()
}

/// balance-rr, balance-xor and broadcast, the guest's bond wired back to back to ours (its NICs
/// are our members), one boot for the three: for each mode the same configuration on both sides,
/// the reports compared, ping both ways with the spread each mode promises counted per member,
/// then a cable pull that both must survive (and the reports compared again).
#[test]
fn balance_modes_back_to_back_with_the_kernel_driver() {
    if !can_run_vm() {
        return;
    }
    const N: u32 = 20;
    let mut lab = Lab::boot("static", &["--mode", "balance-rr", "--hash", "layer2+3"]);
    lab.wait_booted();
    let taps = [lab.taps[0].clone(), lab.taps[1].clone()];
    let taps = [taps[0].as_str(), taps[1].as_str()];
    for mode in ["balance-rr", "balance-xor", "broadcast"] {
        eprintln!("--- {mode}");
        if mode != "balance-rr" {
            lab.guest_bond(&[&format!("mode={mode}")]);
        }
        lab.our_bond(&[&format!("mode={mode}"), "miimon=100", "xmit_hash_policy=layer2+3"], &taps);
        lab.wait_mii(["up", "up"]);
        wait_until(Duration::from_secs(30), "ping to the guest", || lab.pings(2) >= 1);
        assert_same_report(mode, &lab.guest_proc(), &lab.our_report());

        let ours = |n| Lab::ping_from(&lab.side.ns, GUEST_ADDR, n);
        let (seen, by_us) = lab.during(&taps, || ours(N));
        let (seen_by_guest, by_guest) = lab.during(&taps, || lab.guest_ping(OUR_ADDR, N));
        eprintln!("{mode}: ours {seen:?} {by_us:?}; the guest's {seen_by_guest:?} {by_guest:?}");
        assert!(seen.received >= N - 1 && seen_by_guest.received >= N - 1, "{mode}: ping");
        match mode {
            // Packet by packet over both members: requests and replies, ours and the guest's.
            "balance-rr" => {
                for (who, f) in [("ours", &by_us), ("the guest's", &by_guest)] {
                    for (i, m) in f.iter().enumerate() {
                        assert!(m.to >= u64::from(N) * 2 / 5, "{who}: member {i} sent {m:?}");
                        assert!(m.from >= u64::from(N) * 2 / 5, "{who}: member {i} got {m:?}");
                    }
                }
            }
            // Every frame on every member, so every probe is answered twice by each side's
            // stack and each answer arrives twice: three duplicates per probe, both ways.
            "broadcast" => {
                for f in [&by_us, &by_guest] {
                    for (i, m) in f.iter().enumerate() {
                        assert!(
                            m.to >= u64::from(N) && m.from >= u64::from(N),
                            "member {i}: {f:?}"
                        );
                    }
                }
                for p in [seen, seen_by_guest] {
                    assert!(p.duplicates >= 2 * N, "duplicates: {p:?}");
                }
            }
            _ => {}
        }
        if mode == "balance-xor" {
            xor_flows(&lab, &taps);
        }

        // A cable pull: both bonds carry on over the other member.
        lab.cut(0);
        lab.wait_mii(["down", "up"]);
        assert_same_report(&format!("{mode}, link 0 cut"), &lab.guest_proc(), &lab.our_report());
        let (seen, f) = lab.during(&taps, || (ours(N), lab.guest_ping(OUR_ADDR, N)));
        eprintln!("{mode}, link 0 cut: {seen:?} {f:?}");
        assert!(seen.0.received >= N - 1 && seen.1.received >= N - 1, "{mode}: ping after the cut");
        assert!(f[1].to >= u64::from(2 * N) && f[1].from >= u64::from(2 * N), "{f:?}");
        lab.mend(0);
        lab.wait_mii(["up", "up"]);
    }
}

/// balance-xor's promise: each flow stays on the member its `layer2+3` hash names, on both
/// sides, and flows spread over both members. The flows are ping between our address and
/// eight of the guest's.
fn xor_flows(lab: &Lab, taps: &[&str; 2]) {
    let our_mac = mac_of(&lab.side, "bond0");
    let guest_mac = lab.guest_mac("bond0");
    let (mut ours_used, mut guests_used) = ([false; 2], [false; 2]);
    for n in 0..8 {
        let addr = format!("192.0.2.{}", 100 + n);
        lab.guest(&format!("ip addr add {addr}/24 dev bond0"));
        assert!(Lab::ping_from(&lab.side.ns, &addr, 1).received == 1, "ping {addr}");
        let ((), f) = lab.during(taps, || {
            Lab::ping_from(&lab.side.ns, &addr, 10);
        });
        let ours = layer23_member(&echo_frame(&guest_mac, &our_mac, OUR_ADDR, &addr));
        let guests = layer23_member(&echo_frame(&our_mac, &guest_mac, &addr, OUR_ADDR));
        eprintln!(
            "flow {OUR_ADDR} <-> {addr}: expected ours on {ours}, the guest's on {guests}: {f:?}"
        );
        assert!(f[ours].to >= 10 && f[1 - ours].to <= 3, "our requests to {addr}: {f:?}");
        assert!(f[guests].from >= 10 && f[1 - guests].from <= 3, "the guest's replies: {f:?}");
        (ours_used[ours], guests_used[guests]) = (true, true);
    }
    assert_eq!((ours_used, guests_used), ([true; 2], [true; 2]), "flows over both members");
}

#[test]
fn normalised_reports_keep_what_must_agree() {
    let kernel = "Ethernet Channel Bonding Driver: v6.1.0-57-amd64\n\nBonding Mode: adaptive load balancing\nPrimary Slave: eth1 (primary_reselect always)\nCurrently Active Slave: eth0\n\nSlave Interface: eth0\nMII Status: up\nSpeed: 1000 Mbps\nPermanent HW addr: 52:54:00:75:6b:00\n\nSlave Interface: eth1\nMII Status: down\nSpeed: 1000 Mbps\nPermanent HW addr: 52:54:00:75:6b:01\n";
    let ours = kernel
        .replace("v6.1.0-57-amd64", "ubond 0.1.0")
        .replace("eth0", "tap0")
        .replace("eth1", "tap1")
        .replace("52:54:00:75", "02:00:00:00")
        .replace("1000 Mbps", "10 Mbps");
    assert_eq!(report_differences(kernel, &ours), Vec::<String>::new());
    assert_eq!(normalised(kernel)[2], "Primary Slave: <slave2> (primary_reselect always)");
    // What must agree still counts: the active slave, a link state, a missing line.
    let swapped = ours.replacen("Currently Active Slave: tap0", "Currently Active Slave: tap1", 1);
    assert_eq!(
        report_differences(kernel, &swapped),
        ["- Currently Active Slave: <slave1>", "+ Currently Active Slave: <slave2>"]
    );
    let down = ours.replacen("MII Status: up", "MII Status: down", 1);
    assert_eq!(report_differences(kernel, &down).len(), 2);
    let short = ours.replacen("Primary Slave: tap1 (primary_reselect always)\n", "", 1);
    assert_eq!(
        report_differences(kernel, &short),
        ["- Primary Slave: <slave2> (primary_reselect always)"]
    );
}

/// One ARP frame as a client received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arp {
    eth_dst: String,
    eth_src: String,
    /// 1 request, 2 reply.
    op: u16,
    sha: String,
    spa: std::net::Ipv4Addr,
    tha: String,
    tpa: std::net::Ipv4Addr,
    /// When it arrived.
    at: std::time::Instant,
}

impl Arp {
    fn parse(f: &[u8], at: std::time::Instant) -> Option<Arp> {
        if f.len() < 42 || f[12..14] != [0x08, 0x06] {
            return None;
        }
        let mac = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":");
        let ip = |b: &[u8]| std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Some(Arp {
            eth_dst: mac(&f[0..6]),
            eth_src: mac(&f[6..12]),
            op: u16::from_be_bytes([f[20], f[21]]),
            sha: mac(&f[22..28]),
            spa: ip(&f[28..32]),
            tha: mac(&f[32..38]),
            tpa: ip(&f[38..42]),
            at,
        })
    }

    /// The frame with each MAC replaced by its role in `roles` (name, MAC), so that the
    /// kernel's frames and ours can be compared.
    fn roles(&self, roles: &[(&str, &str)]) -> String {
        let r = |m: &str| {
            roles.iter().find(|(_, mac)| *mac == m).map_or(m.to_string(), |(n, _)| n.to_string())
        };
        format!(
            "{} {} > {}: {} sha={} tha={}",
            if self.op == 2 { "reply" } else { "request" },
            r(&self.eth_src),
            r(&self.eth_dst),
            self.spa,
            r(&self.sha),
            r(&self.tha)
        )
    }
}

/// The ARP frames arriving at a namespace's interface, caught by a thread in it.
struct ArpCapture {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Arp>>>,
}

impl ArpCapture {
    fn start(ns: &str, iface: &str) -> ArpCapture {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (ready, is_ready) = std::sync::mpsc::channel();
        let (flag, iface) = (stop.clone(), iface.to_string());
        let thread = in_netns(ns, move || {
            let options = ubond_sys::PacketOptions { slow_protocols: false, ..Default::default() };
            let sock = ubond_sys::PacketSocket::open(&iface, options).unwrap();
            ready.send(()).unwrap();
            let (mut seen, mut buf) = (Vec::new(), [0u8; 2048]);
            while !flag.load(Ordering::Relaxed) {
                match sock.recv(&mut buf).unwrap() {
                    Some(n) => seen.extend(Arp::parse(&buf[..n], std::time::Instant::now())),
                    None => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            seen
        });
        is_ready.recv_timeout(Duration::from_secs(10)).unwrap();
        ArpCapture { stop, thread: Some(thread) }
    }

    fn finish(mut self) -> Vec<Arp> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for ArpCapture {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A client namespace on the bridge: its veth `c` (peer `peer` on the bridge), one address.
struct Client {
    side: Side,
    addr: String,
}

impl Client {
    fn new(lab: &Lab, name: &str, addr: &str) -> Client {
        let side = side(&format!("tlb{name}"), "c");
        let peer = format!("{name}p");
        lab.side
            .ip(&["link", "add", &peer, "type", "veth", "peer", "name", "c", "netns", &side.ns]);
        lab.side.ip(&["link", "set", &peer, "master", "br0", "up"]);
        side.ip(&["link", "set", "c", "up"]);
        side.ip(&["addr", "add", &format!("{addr}/24"), "dev", "c"]);
        Client { side, addr: addr.to_string() }
    }

    fn mac(&self) -> String {
        mac_of(&self.side, "c")
    }

    /// The MAC this client's ARP cache holds for `ip` ("" if none).
    fn neighbour(&self, ip: &str) -> String {
        let o = sh(&["ip", "-n", &self.side.ns, "neigh", "show", ip, "dev", "c"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.split_whitespace().skip_while(|w| *w != "lladdr").nth(1).unwrap_or("").to_string()
    }

    fn ping(&self, to: &str, n: u32) -> Pinged {
        Lab::ping_from(&self.side.ns, to, n)
    }
}

/// The member a flow of `count` frames took: the one that carried most of it (index into the
/// deltas), asserted to carry at least 60 % of it.
fn carrier(f: &[Frames], sent: impl Fn(&Frames) -> u64, count: u32, what: &str) -> usize {
    let i = if sent(&f[0]) >= sent(&f[1]) { 0 } else { 1 };
    assert!(sent(&f[i]) * 5 >= u64::from(count) * 3, "{what}: {f:?}");
    i
}

/// The guest's bond (in `mode`, the kernel's tlb/alb) and ours (over veths m0, m1: made by
/// the caller) on one Linux bridge with two client namespaces (192.0.2.21, .22); each bond is
/// a client of the other too.
fn bridge_lab(test: &str, mode: &str) -> (Lab, [Client; 2]) {
    let lab = Lab::boot(test, &["--mode", mode]);
    lab.side.ip(&["link", "add", "br0", "type", "bridge"]);
    // The bridge shares our bond's namespace: without this it answers ARP requests for the
    // bond's address with its own MAC (arp_ignore 0 answers for any local address), before
    // the bond does, and its replies, flooded back to the members, make balance-alb forget
    // its clients (the bond's address seen at another MAC: `rlb_purge_src_ip`).
    let arp_ignore = sh(&[
        "ip",
        "netns",
        "exec",
        &lab.side.ns,
        "sysctl",
        "-qw",
        "net.ipv4.conf.br0.arp_ignore=1",
    ]);
    assert!(arp_ignore.status.success(), "{arp_ignore:?}");
    lab.side.ip(&["link", "set", "br0", "up"]);
    for t in &lab.taps {
        lab.side.ip(&["link", "set", t, "master", "br0"]);
    }
    for m in ["m0", "m1"] {
        let p = format!("{m}p");
        lab.side.ip(&["link", "add", m, "type", "veth", "peer", "name", &p]);
        lab.side.ip(&["link", "set", &p, "master", "br0", "up"]);
    }
    let clients = [
        Client::new(&lab, &format!("{test}1"), "192.0.2.21"),
        Client::new(&lab, &format!("{test}2"), "192.0.2.22"),
    ];
    lab.wait_booted();
    // The guest's bond takes as active the first slave whose link it finds up after boot,
    // either one as both come up together; ours takes its first member. Make it the first on
    // both, so the reports compare and a test may take the second away.
    lab.guest("echo eth0 > /sys/class/net/bond0/bonding/active_slave");
    wait_until(Duration::from_secs(10), "the guest's eth0 active", || {
        values(&lab.guest_proc(), "Currently Active Slave:") == ["eth0"]
    });
    (lab, clients)
}

/// balance-tlb through a Linux bridge ([`bridge_lab`]): transmit by destination, each staying
/// on one member, and receive on the active member only, on both bonds; the reports compared.
#[test]
fn balance_tlb_through_a_bridge_with_the_kernel_driver() {
    if !can_run_vm() {
        return;
    }
    const N: u32 = 20;
    let members = ["m0", "m1"];
    let (mut lab, clients) = bridge_lab("tlb", "balance-tlb");
    let taps = [lab.taps[0].clone(), lab.taps[1].clone()];
    let taps = [taps[0].as_str(), taps[1].as_str()];
    lab.our_bond(&["mode=balance-tlb", "miimon=100"], &members);
    lab.wait_mii_of(members, ["up", "up"]);
    wait_until(Duration::from_secs(30), "ping to the guest", || lab.pings(2) >= 1);
    assert_same_report("balance-tlb", &lab.guest_proc(), &lab.our_report());
    // Transmit by destination, receive on the active member only: for each destination (the
    // other bond, c1 and c2) the member our echo requests left by and the one the replies came
    // back on, and the same for the guest's. Which member a new destination gets depends on
    // the loads measured at the last rebalance (every 10 s; the active member's counts the
    // broadcasts and multicasts sent since), so only its staying on one member is compared.
    let mut ours = Vec::new();
    for to in [GUEST_ADDR, &clients[0].addr, &clients[1].addr] {
        assert!(Lab::ping_from(&lab.side.ns, to, 1).received == 1, "ping {to}");
        let (p, f) = lab.during(&members, || Lab::ping_from(&lab.side.ns, to, N));
        assert!(p.received >= N - 1, "our ping to {to}: {p:?}");
        let what = format!("our ping to {to}");
        ours.push((carrier(&f, |m| m.to, N, &what), carrier(&f, |m| m.from, N, &what)));
        eprintln!("balance-tlb: ours to {to}: {f:?}");
    }
    let mut kernel = Vec::new();
    for to in [OUR_ADDR, &clients[0].addr, &clients[1].addr] {
        assert!(lab.guest_ping(to, 1).received == 1, "the guest's ping to {to}");
        let (p, f) = lab.during(&taps, || lab.guest_ping(to, N));
        assert!(p.received >= N - 1, "the guest's ping to {to}: {p:?}");
        let what = format!("the guest's ping to {to}");
        kernel.push((carrier(&f, |m| m.from, N, &what), carrier(&f, |m| m.to, N, &what)));
        eprintln!("balance-tlb: the guest's to {to}: {f:?}");
    }
    eprintln!(
        "balance-tlb: (transmit, receive) members by destination: kernel {kernel:?}, ours {ours:?}"
    );
    for (who, v) in [("the kernel", &kernel), ("ubond", &ours)] {
        assert!(v.iter().all(|&(_, rx)| rx == 0), "{who}: receive on the active member: {v:?}");
    }
    // Receive: on the active member only, whose MAC (the bond's) every client holds.
    let (our_mac, guest_mac) = (mac_of(&lab.side, "bond0"), lab.guest_mac("bond0"));
    for c in &clients {
        assert_eq!(
            (c.neighbour(OUR_ADDR), c.neighbour(GUEST_ADDR)),
            (our_mac.clone(), guest_mac.clone())
        );
    }
}

/// balance-alb through a Linux bridge ([`bridge_lab`]): the clients told members' MACs by ARP
/// (receive spread), every ARP reply naming a member as the kernel's do, and a member's loss:
/// the clients it served moved by ARP to the other member, in the rounds the kernel sends
/// (both bonds held to the same frames and spacing), the others never told the lost member.
#[test]
fn balance_alb_through_a_bridge_with_the_kernel_driver() {
    if !can_run_vm() {
        return;
    }
    const N: u32 = 20;
    let members = ["m0", "m1"];
    let (mut lab, clients) = bridge_lab("alb", "balance-alb");
    let taps = [lab.taps[0].clone(), lab.taps[1].clone()];
    let taps = [taps[0].as_str(), taps[1].as_str()];
    lab.our_bond(&["mode=balance-alb", "miimon=100"], &members);
    lab.wait_mii_of(members, ["up", "up"]);
    wait_until(Duration::from_secs(30), "ping to the guest", || lab.pings(2) >= 1);
    assert_same_report("balance-alb", &lab.guest_proc(), &lab.our_report());
    let our_macs = members.map(|m| mac_of(&lab.side, m));
    let guest_macs = [lab.guest_mac("eth0"), lab.guest_mac("eth1")];
    for c in &clients {
        c.side.ip(&["neigh", "flush", "dev", "c"]);
    }
    let captures = clients.each_ref().map(|c| ArpCapture::start(&c.side.ns, "c"));
    // Each client asks each server for its MAC, in turn.
    for server in [OUR_ADDR, GUEST_ADDR] {
        for c in &clients {
            assert_eq!(c.ping(server, 1).received, 1, "{} to {server}", c.addr);
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let arps = captures.map(ArpCapture::finish);
    // Receive spread: the clients hold different members' MACs, and their frames arrive there.
    let told = |server: &str| clients.each_ref().map(|c| c.neighbour(server));
    let (ours_told, guests_told) = (told(OUR_ADDR), told(GUEST_ADDR));
    eprintln!("balance-alb: clients told {ours_told:?} (ours {our_macs:?}), {guests_told:?} (the guest's {guest_macs:?})");
    for (k, a) in arps.iter().enumerate() {
        eprintln!("balance-alb: ARP frames client {k} got: {a:#?}");
        // Each client asked each server, and was answered.
        for server in [OUR_ADDR, GUEST_ADDR] {
            let ip: std::net::Ipv4Addr = server.parse().unwrap();
            assert!(
                a.iter().any(|a| a.spa == ip && a.op == 2),
                "client {k}: no reply from {server}"
            );
        }
    }
    let member_of = |macs: &[String; 2], mac: &str| macs.iter().position(|m| m == mac);
    // Every ARP reply a client gets from a server names one of the server's members, in the
    // Ethernet header and in the ARP sender field alike.
    for (k, got) in arps.iter().enumerate() {
        for (server, macs) in [(GUEST_ADDR, &guest_macs), (OUR_ADDR, &our_macs)] {
            let ip: std::net::Ipv4Addr = server.parse().unwrap();
            for a in got.iter().filter(|a| a.spa == ip && a.op == 2) {
                assert!(
                    a.eth_src == a.sha && member_of(macs, &a.sha).is_some(),
                    "{server} to client {k}: {a:?} (members {macs:?})"
                );
            }
        }
    }
    let ours_at =
        ours_told.each_ref().map(|m| member_of(&our_macs, m).expect("one of our members' MACs"));
    let guests_at =
        guests_told.each_ref().map(|m| member_of(&guest_macs, m).expect("one of the guest's MACs"));
    // The frames of each client arrive on the member it was told.
    for (k, c) in clients.iter().enumerate() {
        let (p, f) = lab.during(&members, || c.ping(OUR_ADDR, N));
        assert!(p.received >= N - 1, "{} to us: {p:?}", c.addr);
        assert_eq!(carrier(&f, |m| m.from, N, "to us"), ours_at[k], "{} to us: {f:?}", c.addr);
        let (p, f) = lab.during(&taps, || c.ping(GUEST_ADDR, N));
        assert!(p.received >= N - 1, "{} to the guest: {p:?}", c.addr);
        assert_eq!(
            carrier(&f, |m| m.to, N, "to the guest"),
            guests_at[k],
            "{} to the guest: {f:?}",
            c.addr
        );
    }
    // Receive spread: the clients (the two and the other bond) are spread over both members.
    let guest_told_ours = lab.guest(&format!("ip neigh show {OUR_ADDR}"));
    let ours_told_guest = String::from_utf8_lossy(
        &sh(&["ip", "-n", &lab.side.ns, "neigh", "show", GUEST_ADDR]).stdout,
    )
    .into_owned();
    let spread = |at: &[usize; 2], other: &str, macs: &[String; 2]| {
        let mut used = [false; 2];
        for &i in at {
            used[i] = true;
        }
        for (i, m) in macs.iter().enumerate() {
            used[i] |= other.contains(m.as_str());
        }
        used
    };
    assert_eq!(
        spread(&guests_at, &ours_told_guest, &guest_macs),
        [true; 2],
        "the kernel's clients over both members"
    );
    assert_eq!(
        spread(&ours_at, &guest_told_ours, &our_macs),
        [true; 2],
        "our clients over both members"
    );

    // A member's loss: the second (not the active one) on both bonds; the clients it served
    // are told the other member's MAC, in rounds of RLB_ARP_BURST_SIZE (2) replies, the first
    // once RLB_UPDATE_DELAY (2 s) has passed, then RLB_UPDATE_RETRY (3) more, 2 s apart: all
    // of them caught here, by waiting long enough.
    let captures = clients.each_ref().map(|c| ArpCapture::start(&c.side.ns, "c"));
    let cut = std::time::Instant::now();
    lab.qmp("set_link n1 off");
    lab.side.ip(&["link", "set", "m1p", "down"]);
    lab.wait_mii_of(members, ["up", "down"]);
    std::thread::sleep(Duration::from_secs(11));
    let arps_after = captures.map(ArpCapture::finish);
    // The ARP frames from `server` client `k` got, with the MACs named by role, and when.
    let updates = |k: usize, server: &str, macs: &[String; 2]| {
        let server_ip: std::net::Ipv4Addr = server.parse().unwrap();
        let names =
            [("client", clients[k].mac()), ("m0", macs[0].clone()), ("m1", macs[1].clone())];
        let names: Vec<(&str, &str)> = names.iter().map(|(n, m)| (*n, m.as_str())).collect();
        arps_after[k]
            .iter()
            .filter(|a| a.spa == server_ip)
            .map(|a| (a.roles(&names), a.at - cut))
            .collect::<Vec<_>>()
    };
    // What the clients the lost member served got (`moved`), and what the others got.
    let got = |at: &[usize; 2], server: &str, macs: &[String; 2], moved: bool| {
        (0..2)
            .filter(|&k| (at[k] == 1) == moved)
            .map(|k| updates(k, server, macs))
            .collect::<Vec<_>>()
    };
    let kernel_updates = got(&guests_at, GUEST_ADDR, &guest_macs, true);
    let our_updates = got(&ours_at, OUR_ADDR, &our_macs, true);
    eprintln!(
        "balance-alb, member 1 lost: updates: kernel {kernel_updates:?}, ours {our_updates:?}"
    );
    // The rounds of replies: when each began (frames less than 500 ms apart are one), and
    // how many frames it had.
    let rounds = |u: &[(String, Duration)]| {
        let mut rounds: Vec<(Duration, usize)> = Vec::new();
        for (_, t) in u.iter().filter(|(f, _)| f.starts_with("reply")) {
            match rounds.last_mut() {
                Some((start, n)) if *t <= *start + Duration::from_millis(500) => *n += 1,
                _ => rounds.push((*t, 1)),
            }
        }
        rounds
    };
    // The first four rounds a moved client got, the server's address left out, per bond.
    let mut first_rounds: Vec<(&str, Vec<String>)> = Vec::new();
    for (server, u) in kernel_updates
        .iter()
        .map(|u| (GUEST_ADDR, u))
        .chain(our_updates.iter().map(|u| (OUR_ADDR, u)))
    {
        // A round already due may still name the lost member, before its loss is seen (the
        // kernel too); from the first reply naming the other one on, all do.
        let told_m1 = format!("reply m1 > client: {server} sha=m1 tha=client");
        let told_m0 = format!("reply m0 > client: {server} sha=m0 tha=client");
        let after: Vec<_> = u.iter().skip_while(|(f, _)| *f == told_m1).cloned().collect();
        assert!(
            after.iter().all(|(f, _)| !f.starts_with("reply") || *f == told_m0),
            "{server}: {u:?}"
        );
        // At least the four rounds the loss started (more if a client's reply to a neighbour
        // probe asks for another one meanwhile, in the kernel as here).
        let r = rounds(&after);
        assert!(r.len() >= 4 && r[..4].iter().all(|&(_, n)| n == 2), "{server}: {r:?}");
        for w in r[..4].windows(2) {
            let gap = w[1].0 - w[0].0;
            assert!(
                gap >= Duration::from_millis(1900) && gap <= Duration::from_millis(3000),
                "{server}: rounds 2 s apart: {r:?}"
            );
        }
        let replies = after.iter().filter(|(f, _)| f.starts_with("reply"));
        let frames = replies.take(8).map(|(f, _)| f.replace(server, "server")).collect();
        first_rounds.push((server, frames));
    }
    // The same frames from both, where both moved a client.
    let (kernel, ours): (Vec<_>, Vec<_>) = first_rounds.iter().partition(|(s, _)| *s == GUEST_ADDR);
    if let (Some(k), Some(o)) = (kernel.first(), ours.first()) {
        assert_eq!(o.1, k.1, "the frames telling a client of the lost member the other one");
    }
    // The clients of the other member are never told the lost one (they may be told their
    // own again, should they be waiting for an update when the rounds begin).
    let others = [
        got(&guests_at, GUEST_ADDR, &guest_macs, false),
        got(&ours_at, OUR_ADDR, &our_macs, false),
    ];
    for u in others.iter().flatten() {
        assert!(u.iter().all(|(f, _)| !f.contains("m1")), "{u:?}");
    }
    for c in &clients {
        assert_eq!(c.neighbour(OUR_ADDR), our_macs[0], "{} moved to our first member", c.addr);
        assert_eq!(
            c.neighbour(GUEST_ADDR),
            guest_macs[0],
            "{} moved to the guest's first NIC",
            c.addr
        );
        for server in [OUR_ADDR, GUEST_ADDR] {
            let p = c.ping(server, 5);
            // (What each end holds, should it fail.)
            let neigh = |ns: &str| {
                String::from_utf8_lossy(&sh(&["ip", "-n", ns, "neigh"]).stdout).into_owned()
            };
            assert!(
                p.received >= 4,
                "{} to {server} after the loss: {p:?}; the client's neighbours: {}; the guest's: {}",
                c.addr,
                neigh(&c.side.ns),
                lab.guest("ip neigh")
            );
        }
    }
    assert_same_report("balance-alb, member 1 lost", &lab.guest_proc(), &lab.our_report());
}

/// The (actor, partner) port states of each slave of a report.
fn lacp_states(report: &str) -> Vec<(String, String)> {
    slave_blocks(report).into_iter().map(port_states).collect()
}

/// 802.3ad variants against the kernel, one boot: the slow rate, ubond passive facing the
/// kernel active and the kernel passive facing ubond, `ad_select` bandwidth and count. For
/// each, both ports aggregate with the port states the variant gives (activity and timeout
/// bits), seen alike from both ends, and the reports agree.
#[test]
fn lacp_variants_with_the_kernel_driver() {
    if !can_run_vm() {
        return;
    }
    let mut lab = Lab::boot("variants", &["--mode", "802.3ad", "--lacp-rate", "slow"]);
    lab.wait_booted();
    let taps = [lab.taps[0].clone(), lab.taps[1].clone()];
    let taps = [taps[0].as_str(), taps[1].as_str()];
    // (name, the guest's settings, ours, the guest's actor and partner port state)
    type Variant<'a> = (&'a str, &'a [&'a str], &'a [&'a str], (&'a str, &'a str));
    let variants: [Variant; 5] = [
        ("slow", &[], &["lacp_rate=slow"], ("61", "61")),
        (
            "ubond passive",
            &["lacp_rate=fast"],
            &["lacp_rate=fast", "lacp_active=off"],
            ("63", "62"),
        ),
        (
            "kernel passive",
            &["lacp_rate=fast", "opts=lacp_active:off"],
            &["lacp_rate=fast"],
            ("62", "63"),
        ),
        (
            "ad_select bandwidth",
            &["lacp_rate=fast", "opts=ad_select:bandwidth"],
            &["lacp_rate=fast", "ad_select=bandwidth"],
            ("63", "63"),
        ),
        (
            "ad_select count",
            &["lacp_rate=fast", "opts=ad_select:count"],
            &["lacp_rate=fast", "ad_select=count"],
            ("63", "63"),
        ),
    ];
    for (i, (name, guest, ours, (actor, partner))) in variants.into_iter().enumerate() {
        eprintln!("--- 802.3ad, {name}");
        if i > 0 {
            let mut settings = vec!["mode=802.3ad", "opts="];
            settings.extend_from_slice(guest);
            lab.guest_bond(&settings);
        }
        let mut options = vec!["mode=802.3ad", "miimon=100", "xmit_hash_policy=layer2+3"];
        options.extend_from_slice(ours);
        lab.our_bond(&options, &taps);
        let want = vec![(actor.to_string(), partner.to_string()); 2];
        let mirrored = vec![(partner.to_string(), actor.to_string()); 2];
        let took =
            wait_until(Duration::from_secs(60), &format!("{name}: port states {want:?}"), || {
                lacp_states(&lab.guest_proc()) == want && lacp_states(&lab.our_report()) == mirrored
            });
        eprintln!("802.3ad, {name}: aggregated in {took:?}");
        let guest = lab.guest_proc();
        assert_eq!(values(&guest, "Number of ports:"), ["2"], "{name}: {guest}");
        wait_until(Duration::from_secs(10), "ping to the guest", || lab.pings(2) >= 1);
        // Where both ends are configured alike, so are the reports.
        if actor == partner {
            assert_same_report(&format!("802.3ad, {name}"), &guest, &lab.our_report());
        }
    }
}

/// Asserts that the guest's daemon forwards bond0 in the kernel on the guest's 6.1 kernel,
/// which has no TCX (tc BPF links came in 6.6): the TCX attach fails (EINVAL), the daemon says
/// so once and attaches its programs as `bpf` filters on clsact qdiscs instead, and bond0's
/// last `bond0: data path:` line says the fast path carries it.
fn assert_guest_data_path(line: &str, daemon_log: &str) {
    assert_eq!(line, "bond0: data path: bpf (in-kernel)", "{daemon_log}");
    let said =
        daemon_log.lines().filter(|l| l.starts_with("ubond: this kernel has no TCX, so ")).count();
    assert_eq!(said, 1, "the fall-back to clsact, said once:\n{daemon_log}");
    assert!(!daemon_log.contains("uses the userspace data path"), "{daemon_log}");
}

/// ubond on both ends of the wires: our daemon bonds the taps, the guest's (ubond in its
/// initramfs, no bonding driver) bonds its NICs on the Debian 6.1 kernel with the default
/// `--datapath auto`, 802.3ad with fast LACP on both. The guest's daemon forwards in the kernel
/// through clsact filters (the kernel has no TCX), their LACP meets, ping crosses both ways,
/// and the guest's report shows both slaves up in one aggregator.
#[test]
fn ubond_in_the_guest_on_linux_6_1() {
    if !vm_tools() {
        return;
    }
    let initrd = build_ubond_guest();
    if !built(initrd.as_ref().err().map(String::as_str)) {
        return;
    }
    let initrd = initrd.unwrap();
    let t0 = Instant::now();
    let initrd = initrd.to_str().unwrap();
    // The console's status dumps (a `ubond status` every 2 s) only show progress: the checks
    // ask the guest.
    let mut lab = Lab::boot(
        "ubondguest",
        &["--mode", "802.3ad", "--impl", "ubond", "--initrd", initrd, "--interval", "2"],
    );
    lab.bond(&["mode=802.3ad", "miimon=100", "lacp_rate=fast", "xmit_hash_policy=layer2+3"]);
    let our_mac = mac_of(&lab.side, "bond0");
    lab.wait_booted();
    eprintln!("the guest's ubond bond configured {:?} after the start", t0.elapsed());
    let console = lab.console();
    assert!(console.contains(" impl=ubond "), "{console}");

    // What the guest's daemon said: it started, and which data path its bond0 uses.
    let daemon_log = lab.guest("cat /tmp/ubond-daemon.log");
    let started = daemon_log
        .lines()
        .any(|l| l.starts_with("ubond: daemon listening on /run/ubond/control.sock (data path: "));
    assert!(started, "no startup line from the guest's daemon:\n{daemon_log}");
    for l in daemon_log.lines().filter(|l| l.contains("data path") || l.contains("fast path")) {
        eprintln!("the guest's daemon: {l}");
    }
    let data_path = daemon_log.lines().rev().find(|l| l.starts_with("bond0: data path: "));
    let Some(data_path) = data_path else { panic!("no data path line for bond0:\n{daemon_log}") };
    assert_guest_data_path(data_path, &daemon_log);
    let guest_kernel = lab.guest("uname -r");
    assert!(guest_kernel.starts_with("6.1."), "{guest_kernel}");
    // The guest has no bonding driver: the bond is ubond's.
    assert!(!lab.guest_run("test -e /sys/class/net/bonding_masters").0);
    // The daemon mounted the system's bpffs for its pins (the guest's /init does not).
    let mounts = lab.guest("cat /proc/mounts");
    assert!(mounts.lines().any(|l| l.starts_with("bpf /sys/fs/bpf bpf ")), "{mounts}");
    // Where its filters are, marked in its pin directory: the bond's egress and each slave's
    // ingress.
    let filters_marked = || {
        let marks = lab.guest("ls -1 /sys/fs/bpf/ubond/*/");
        let egress = marks.lines().filter(|l| l.starts_with("tc-egress-")).count();
        let ingress = marks.lines().filter(|l| l.starts_with("tc-ingress-")).count();
        assert_eq!((egress, ingress), (1, 2), "{marks}");
    };
    filters_marked();

    // LACP between the two daemons: both ports of both ends in one aggregator, 63 both ways.
    let both_63 = |report: &str| {
        let blocks = slave_blocks(report);
        blocks.len() == 2 && blocks.iter().all(|b| port_states(b) == ("63".into(), "63".into()))
    };
    let took = wait_until(Duration::from_secs(60), "port state 63/63 on both ends", || {
        both_63(&lab.guest("bond_report")) && both_63(&lab.our_report())
    });
    eprintln!("aggregated {took:?} after the guest's bond was configured");
    let guest = lab.guest("bond_report");
    assert_eq!(slave_field(&guest, "eth0", "MII Status"), "up", "{guest}");
    assert_eq!(slave_field(&guest, "eth1", "MII Status"), "up", "{guest}");
    assert_eq!(values(&guest, "Number of ports:"), ["2"], "{guest}");
    assert_eq!(values(&guest, "Partner Mac Address:"), [our_mac.as_str()], "{guest}");
    let ours = lab.our_report();
    assert_eq!(values(&ours, "Number of ports:"), ["2"], "{ours}");
    assert_eq!(values(&ours, "Partner Mac Address:"), [GUEST_MACS[0]], "{ours}");

    // Ping both ways across the two bonds.
    assert!(lab.pings(5) >= 4, "ping from our bond to the guest's");
    let pinged = lab.guest_ping(OUR_ADDR, 5);
    assert!(pinged.received >= 4, "ping from the guest's bond to ours: {pinged:?}");

    // The bond outlives its daemon on 6.1 too: the guest's daemon killed, its clsact filters
    // keep forwarding; the next daemon adopts the bond and swaps the filters' programs in place.
    lab.guest("kill -9 $(cat /run/ubond-daemon.pid)");
    wait_until(Duration::from_secs(10), "the guest's daemon gone", || {
        !lab.guest_run("kill -0 $(cat /run/ubond-daemon.pid)").0
    });
    assert!(lab.pings(5) >= 4, "ping to the guest's bond with no daemon in the guest");
    lab.guest(
        "ubond daemon </dev/null >/tmp/ubond-daemon2.log 2>&1 & echo $! >/run/ubond-daemon.pid",
    );
    wait_until(Duration::from_secs(30), "the guest's next daemon", || {
        lab.guest_run("ubond status bond0").0
    });
    let log = lab.guest("cat /tmp/ubond-daemon2.log");
    for l in log.lines() {
        eprintln!("the guest's next daemon: {l}");
    }
    assert!(!log.contains("userspace data path") && !log.contains("refused"), "{log}");
    filters_marked();
    // (Fast LACP: a daemon away longer than 3 s lets the partner expire, and they negotiate
    // again, as the next daemon says.)
    wait_until(Duration::from_secs(30), "port state 63/63 on both ends again", || {
        both_63(&lab.guest("bond_report")) && both_63(&lab.our_report())
    });
    assert!(lab.pings(5) >= 4, "ping to the guest's bond after its daemon's restart");
    eprintln!("done {:?} after the start", t0.elapsed());
}
