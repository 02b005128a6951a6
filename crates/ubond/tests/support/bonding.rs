//! What the root tests re-expressing the kernel's bonding selftests share: their topology (the
//! bond's namespace A, whose slaves are veths to a "switch" namespace B), readers of the bond's
//! report and of interfaces, and a listener for gratuitous ARPs.

use std::time::{Duration, Instant};

use super::{in_netns, sh, side, Side};

/// B's bridge address (the selftests' gateway, `g_ip4`).
pub const SWITCH_V4: &str = "192.0.2.2";
/// B's bridge IPv6 address (`g_ip6`).
pub const SWITCH_V6: &str = "2001:db8::254";

/// The `MII Status` line of slave `iface` in a report.
pub fn slave_mii(report: &str, iface: &str) -> String {
    slave_field(report, iface, "MII Status: ")
}

/// The line starting with `label` in slave `iface`'s part of a report.
pub fn slave_field(report: &str, iface: &str, label: &str) -> String {
    let head = format!("Slave Interface: {iface}\n");
    report
        .split_once(&head)
        .and_then(|(_, rest)| {
            rest.lines().take_while(|l| !l.is_empty()).find_map(|l| l.strip_prefix(label))
        })
        .unwrap_or("")
        .to_string()
}

/// The active slave a report names.
pub fn active_of(report: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix("Currently Active Slave: "))
        .unwrap_or("")
        .to_string()
}

/// Waits up to `limit` for `cond` to hold on `bond`'s report; the time it took. Panics with
/// the last report otherwise.
pub fn wait_report(
    s: &Side,
    bond: &str,
    limit: Duration,
    what: &str,
    mut cond: impl FnMut(&str) -> bool,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let r = s.report(bond);
        if cond(&r) {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < limit, "timed out after {limit:?} waiting for {what}:\n{r}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ip -o link show IFACE` in the side's namespace.
pub fn link_line(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-o", "link", "show", iface]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Two fresh namespaces (only `lo` in each) joined by veth pairs named `links` (the same name
/// at both ends), made first, so that both ends of each pair have the same interface index:
/// the kernel then treats their carrier losses as events that are not urgent
/// (`linkwatch_urgent_event`: a device whose index differs from its link's is urgent),
/// announced at most once a second, as on most physical NICs. Only A runs a daemon; B is the
/// "switch", its ends up.
pub fn same_index_links(test: &str, links: &[&str]) -> (Side, Side) {
    let mut a = side(test, "a");
    let b = side(test, "b");
    for e in links {
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

/// [`same_index_links`] with `e1` and `e2`.
pub fn same_index_pair(test: &str) -> (Side, Side) {
    same_index_links(test, &["e1", "e2"])
}

/// B as the selftests' "switch": a bridge over its ends of `links`, with [`SWITCH_V4`] and
/// [`SWITCH_V6`].
pub fn switch(b: &Side, links: &[&str]) {
    b.ip(&["link", "add", "br0", "type", "bridge"]);
    for e in links {
        b.ip(&["link", "set", e, "master", "br0"]);
    }
    b.ip(&["addr", "add", &format!("{SWITCH_V4}/24"), "dev", "br0"]);
    b.ip(&["addr", "add", &format!("{SWITCH_V6}/64"), "dev", "br0", "nodad"]);
    b.ip(&["link", "set", "br0", "up"]);
}

/// Frames an interface sent, from its counters.
pub fn tx_packets(s: &Side, iface: &str) -> u64 {
    let path = format!("/sys/class/net/{iface}/statistics/tx_packets");
    let o = sh(&["ip", "netns", "exec", &s.ns, "cat", &path]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0)
}

/// `ping -c 1 -W 1 ADDR` (IPv4 or IPv6) from the side's namespace.
pub fn ping_once(s: &Side, to: &str) -> bool {
    sh(&["ip", "netns", "exec", &s.ns, "ping", "-c", "1", "-W", "1", to]).status.success()
}

/// The selftests' `bond_check_connection`: a reply from B over IPv4 and over IPv6, each
/// within 5 s.
pub fn check_connection(a: &Side, what: &str) {
    for to in [SWITCH_V4, SWITCH_V6] {
        let t0 = Instant::now();
        while !ping_once(a, to) {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "{what}: no reply from {to} within 5 s:\n{}",
                a.report("bond0")
            );
        }
    }
}

/// The link-layer multicast addresses (`ip maddr`'s `link` lines) of `iface`.
pub fn maddrs(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "maddr", "show", "dev", iface]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `promiscuity N` of `ip -d link show IFACE`.
pub fn promiscuity(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-d", "link", "show", iface]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "promiscuity").unwrap_or(0);
    words.get(i + 1).unwrap_or(&"").to_string()
}

/// The sender MACs of the gratuitous ARPs for `ip` (sender and target address equal) heard on
/// B's `iface` during `window`, from a packet socket opened before `act` runs.
pub fn gratuitous_arps(
    b: &Side,
    iface: &str,
    ip: [u8; 4],
    window: Duration,
    act: impl FnOnce(),
) -> Vec<[u8; 6]> {
    let (ns, iface) = (b.ns.clone(), iface.to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    let listener = in_netns(&ns, move || {
        let options = ubond_sys::PacketOptions { slow_protocols: false, ..Default::default() };
        let sock = ubond_sys::PacketSocket::open(&iface, options).unwrap();
        tx.send(()).unwrap();
        let t0 = Instant::now();
        let mut buf = [0u8; 2048];
        let mut heard = Vec::new();
        while t0.elapsed() < window {
            match sock.recv(&mut buf) {
                Ok(Some(len)) if len >= 42 && buf[12..14] == [0x08, 0x06] => {
                    if buf[28..32] == ip && buf[38..42] == ip {
                        let mut mac = [0u8; 6];
                        mac.copy_from_slice(&buf[22..28]);
                        heard.push(mac);
                    }
                }
                Ok(Some(_)) => {}
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        heard
    });
    rx.recv().unwrap();
    act();
    listener.join().unwrap()
}

/// Runs `ip -n NS ARGS...` and returns its standard output (which must succeed).
pub fn ip_out(s: &Side, args: &[&str]) -> String {
    let mut v = vec!["ip", "-n", &s.ns];
    v.extend_from_slice(args);
    let o = sh(&v);
    assert!(o.status.success(), "{v:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}
