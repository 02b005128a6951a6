//! Root tests: two network namespaces joined by two veth pairs, a ubond daemon in each, bonds
//! on both sides, ping across. Skipped (with a note) when not run as root or without `ip`.
//!
//! Everything stays inside namespaces named `ubd-<pid>-<test>-a/b`, addressed in 192.0.2.0/24
//! only; drop guards stop the daemons (by pid) and delete the namespaces even on failure.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ubond");

fn can_run() -> bool {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let ip = Command::new("ip").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    let tun = Path::new("/dev/net/tun").exists();
    let ping = Command::new("ping").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    let ok = root && ip && tun && ping;
    // In CI (run as root with .ci/run's packages) a missing tool is a failure, never a silent
    // pass; on a developer's machine without root the tests say they were skipped.
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must run the namespace tests: root={root} ip={ip} /dev/net/tun={tun} ping={ping}"
    );
    if !ok {
        eprintln!("skipped: needs root, iproute2, ping (iputils-ping) and /dev/net/tun");
    }
    ok
}

fn sh(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

fn must(args: &[&str]) {
    let o = sh(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// One namespace with its daemon.
struct Side {
    ns: String,
    dir: PathBuf,
    daemon: Option<Child>,
}

impl Side {
    fn socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    fn ubond(&self, args: &[&str]) -> Output {
        Command::new(BIN).arg("--control").arg(self.socket()).args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.ubond(args);
        assert!(o.status.success(), "ubond {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The error line of a failing verb.
    fn fails(&self, args: &[&str]) -> String {
        let o = self.ubond(args);
        assert!(!o.status.success(), "ubond {args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    fn ip(&self, args: &[&str]) {
        let mut v = vec!["ip", "-n", &self.ns];
        v.extend_from_slice(args);
        must(&v);
    }

    fn report(&self, bond: &str) -> String {
        std::fs::read_to_string(self.dir.join(bond)).unwrap_or_default()
    }

    fn start_daemon(&mut self) {
        let log = std::fs::File::create(self.dir.join("daemon.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, BIN, "--control"])
            .arg(self.socket())
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemon = Some(child);
        wait_for(Duration::from_secs(10), "the daemon's socket", || {
            UnixStream::connect(self.socket()).is_ok()
        });
    }

    /// SIGTERM (by pid), then wait; SIGKILL if it does not stop. True if it stopped cleanly.
    fn stop_daemon(&mut self) -> bool {
        let Some(mut child) = self.daemon.take() else { return true };
        let pid = child.id().to_string();
        let _ = sh(&["kill", "-TERM", &pid]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        self.stop_daemon();
        let _ = sh(&["ip", "netns", "del", &self.ns]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn side(test: &str, letter: &str) -> Side {
    let ns = format!("ubd-{}-{test}-{letter}", std::process::id());
    let dir = std::env::temp_dir().join(&ns);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = Side { ns, dir, daemon: None };
    must(&["ip", "netns", "add", &s.ns]);
    s.ip(&["link", "set", "lo", "up"]);
    s
}

/// Two namespaces joined by veth pairs e1<->e1 and e2<->e2, daemons running.
fn pair(test: &str) -> (Side, Side) {
    let mut a = side(test, "a");
    let mut b = side(test, "b");
    for e in ["e1", "e2"] {
        a.ip(&["link", "add", e, "type", "veth", "peer", "name", e, "netns", &b.ns]);
    }
    a.start_daemon();
    b.start_daemon();
    (a, b)
}

fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t0.elapsed()
}

fn ping(a: &Side, to: &str) -> bool {
    sh(&["ip", "netns", "exec", &a.ns, "ping", "-c", "3", "-W", "1", "-i", "0.2", to])
        .status
        .success()
}

fn mac_of(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-br", "link", "show", iface]);
    String::from_utf8_lossy(&o.stdout).split_whitespace().nth(2).unwrap_or("").to_string()
}

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
    assert!(ping(&a, "192.0.2.2"), "ping over the LACP bond");

    a.ip(&["link", "set", "e1", "down"]);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(10), "a ping after e1 went down", || ping(&a, "192.0.2.2"));
    eprintln!("ping back {:?} after e1 went down", t0.elapsed());

    // A clean stop: bond gone, slaves' addresses as found.
    assert!(a.stop_daemon(), "daemon A stopped cleanly");
    assert!(b.stop_daemon(), "daemon B stopped cleanly");
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
    let silent = UnixStream::connect(a.socket()).unwrap();
    let t0 = Instant::now();
    assert!(a.ok(&["status", "bond0"]).contains("Bonding Mode"));
    assert!(t0.elapsed() < Duration::from_secs(1), "status took {:?}", t0.elapsed());
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
    for mode in ["balance-rr", "balance-xor", "broadcast", "balance-tlb", "balance-alb"] {
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
    let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("bond0: addresses: 192.0.2.1"), "{log}");
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

/// Runs `f` on a thread inside namespace `ns` (setns): the sockets it opens live there.
fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        rustix::thread::move_into_link_name_space(
            file.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        f()
    })
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
