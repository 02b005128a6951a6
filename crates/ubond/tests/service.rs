//! The daemon as a systemd `Type=notify` service: it says READY=1 once it answers, pets the
//! watchdog at half its timeout, and says STOPPING=1 when it stops; SIGTERM leaves its bonds
//! running. The test plays the service manager: it binds the `$NOTIFY_SOCKET` datagram socket
//! and sets `$WATCHDOG_USEC`. NEEDS ROOT (see support::can_run).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use support::*;

/// The service manager's end: every notification the daemon sent, with when it came.
struct Manager {
    sock: UnixDatagram,
    got: Vec<(Instant, String)>,
}

impl Manager {
    fn bind(path: &std::path::Path) -> Manager {
        let sock = UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        Manager { sock, got: Vec::new() }
    }

    /// Collects notifications until one has a line `line`, or `limit` passes.
    fn until(&mut self, line: &str, limit: Duration) -> bool {
        let t0 = Instant::now();
        let mut buf = [0u8; 4096];
        while t0.elapsed() < limit {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let found = msg.lines().any(|l| l == line);
                self.got.push((Instant::now(), msg));
                if found {
                    return true;
                }
            }
        }
        false
    }

    /// The notifications with a line `line`.
    fn count(&self, line: &str) -> usize {
        self.got.iter().filter(|(_, m)| m.lines().any(|l| l == line)).count()
    }
}

#[test]
fn the_daemon_speaks_the_notify_protocol_and_sigterm_keeps_its_bonds() {
    if !can_run() {
        return;
    }
    let fs = Bpffs::new("notify");
    let mut a = side("notify", "a");
    let path = a.dir.join("notify.sock");
    let mut manager = Manager::bind(&path);
    // A 200 ms watchdog: the daemon must notify every 100 ms.
    let env = [("NOTIFY_SOCKET", path.as_os_str()), ("WATCHDOG_USEC", "200000".as_ref())];
    a.start_daemon_env(&fs.args(), &env);
    assert!(manager.until("READY=1", Duration::from_secs(10)), "no READY=1: {:?}", manager.got);
    let ready = manager.got.last().unwrap().1.clone();
    assert!(ready.lines().any(|l| l.starts_with("STATUS=listening on ")), "{ready}");

    a.ok(&["add", "bond0", "mode=active-backup", "miimon=100"]);
    manager.got.clear();
    let t0 = Instant::now();
    assert!(!manager.until("never", Duration::from_secs(1)));
    let pets = manager.count("WATCHDOG=1");
    assert!(pets >= 8, "{pets} WATCHDOG=1 in {:?} with a 200 ms watchdog", t0.elapsed());
    let gaps = manager.got.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap();
    assert!(gaps < Duration::from_millis(200), "the watchdog went {gaps:?} without news");

    let pid = a.daemon.as_ref().unwrap().id().to_string();
    must(&["kill", "-TERM", &pid]);
    assert!(manager.until("STOPPING=1", Duration::from_secs(10)), "{:?}", manager.got);
    assert!(a.stop_daemon(), "the daemon exits cleanly on SIGTERM");
    must(&["ip", "-n", &a.ns, "link", "show", "bond0"]);

    // The next daemon adopts the bond, and `ubond shutdown` says STOPPING=1 too.
    a.start_daemon_env(&fs.args(), &env);
    assert!(manager.until("READY=1", Duration::from_secs(10)), "{:?}", manager.got);
    assert!(a.ok(&["status"]).contains("bond0"));
    a.ok(&["shutdown"]);
    assert!(manager.until("STOPPING=1", Duration::from_secs(10)), "{:?}", manager.got);
    assert!(a.shutdown_done());
    assert!(!sh(&["ip", "-n", &a.ns, "link", "show", "bond0"]).status.success());
}
