//! Interop of ubond's BFD with an independent implementation, FRRouting's `bfdd` (Debian
//! package `frr`), over a real link, without the ubond daemon.
//!
//! Two namespaces joined by a veth pair, `e1` on both sides: `a` holds 192.0.2.1 and ubond's
//! session (the core's [`MicroBfd`] with one member, driven here over an `AF_PACKET` socket,
//! on the single-hop port 3784 instead of micro-BFD's 6784 since bfdd speaks RFC 5881); `b`
//! holds 192.0.2.2 and bfdd, started alone with a configuration file (no zebra, no vtysh
//! configuration; `vtysh --vty_socket` only reads its state). The two sides are configured
//! with different timers, so the negotiated ones say whether each side heard the other:
//!
//! | | Desired Min TX | Required Min RX | Detect Mult |
//! |---|---|---|---|
//! | ubond | 30 ms | 50 ms | 4 |
//! | bfdd | 40 ms | 60 ms | 5 |
//!
//! ubond then sends every max(30, 60) = 60 ms and detects after 5 × max(50, 40) = 250 ms; bfdd
//! sends every max(40, 50) = 50 ms and detects after 4 × max(60, 30) = 240 ms. The test checks
//! the session comes Up on both sides with these values after Poll/Final exchanges in both
//! directions; then blackholes the link in both directions while carriers stay up (tc redirects
//! everything `e1` sends and receives in `b` into a veth that is down) and checks that ubond's
//! session goes Down, with "control detection time expired", within the Detection Time; then
//! restores the link and checks the session comes back Up.
//!
//! Root only; skipped with a message without root or bfdd, failed under CI (`CI` set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant as StdInstant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use ubond_core::bfd::{
    Event, MemberId, MemberStatus, MicroBfd, MicroConfig, SessionConfig, UdpChecksum,
};
use ubond_core::time::Instant;
use ubond_sys::packet::{PacketOptions, PacketSocket, RxChecksum};
use ubond_wire::bfd::{self, Diagnostic, State};

use support::{in_netns, must, sh, side, wait_for};

const BFDD: &str = "/usr/lib/frr/bfdd";
const OURS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const THEIRS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const MEMBER: MemberId = MemberId(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn can_run() -> bool {
    if !support::can_run() {
        return false;
    }
    let bfdd = Path::new(BFDD).exists();
    let vtysh = Command::new("vtysh").arg("--help").output().is_ok();
    let frr_user = sh(&["id", "-u", "frr"]).status.success();
    let ok = bfdd && vtysh && frr_user;
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must run the FRRouting interop test: {BFDD}={bfdd} vtysh={vtysh} user frr={frr_user} \
         (Debian package frr)"
    );
    if !ok {
        eprintln!("skipped: needs FRRouting's bfdd and vtysh (Debian/Ubuntu: apt-get install frr)");
    }
    ok
}

/// bfdd, stopped (by pid) when dropped.
struct Bfdd {
    child: Child,
    dir: std::path::PathBuf,
}

impl Bfdd {
    fn start(ns: &str, dir: &Path) -> Bfdd {
        // bfdd drops to user frr: its files live in a directory of frr's.
        std::fs::write(
            dir.join("bfdd.conf"),
            format!(
                "bfd\n peer {OURS} local-address {THEIRS}\n  detect-multiplier 5\n  \
                 receive-interval 60\n  transmit-interval 40\n !\n!\n"
            ),
        )
        .unwrap();
        must(&["chown", "-R", "frr:frr", dir.to_str().unwrap()]);
        let d = dir.display();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, BFDD])
            .arg("-f")
            .arg(dir.join("bfdd.conf"))
            .arg("--vty_socket")
            .arg(dir)
            .arg("-i")
            .arg(dir.join("bfdd.pid"))
            .arg("-z")
            .arg(dir.join("zserv.api"))
            .args(["-u", "frr", "-g", "frr", "-P", "0"])
            .arg(format!("--log=file:{d}/bfdd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("bfdd.stderr")).unwrap())
            .spawn()
            .unwrap();
        let b = Bfdd { child, dir: dir.to_path_buf() };
        wait_for(Duration::from_secs(10), "bfdd's vty socket", || dir.join("bfdd.vty").exists());
        b
    }

    /// `show bfd peers json`: bfdd's only peer.
    fn peer(&self) -> serde_json::Value {
        let o = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", "show bfd peers json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!("vtysh: {e}: {}{}", String::from_utf8_lossy(&o.stdout), self.log())
        });
        v.as_array().and_then(|a| a.first()).cloned().unwrap_or_default()
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("bfdd.log")).unwrap_or_default();
        let err = std::fs::read_to_string(self.dir.join("bfdd.stderr")).unwrap_or_default();
        format!("\n--- bfdd log ---\n{log}{err}")
    }
}

impl Drop for Bfdd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the session thread shares with the test.
#[derive(Default)]
struct Shared {
    /// Events with the wall time they happened at.
    events: Vec<(StdInstant, Event)>,
    status: Option<MemberStatus>,
    error: Option<String>,
}

/// ubond's session, run on a thread inside namespace `a`; stopped when dropped.
struct Runner {
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    handle: Option<JoinHandle<()>>,
}

impl Runner {
    fn start(ns: &str) -> Runner {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (s, sh) = (stop.clone(), shared.clone());
        let handle = in_netns(ns, move || {
            if let Err(e) = run_session(&s, &sh) {
                sh.lock().unwrap_or_else(|e| e.into_inner()).error = Some(e);
            }
        });
        Runner { stop, shared, handle: Some(handle) }
    }

    /// The latest status (waiting for the first one).
    fn status(&self) -> MemberStatus {
        let mut got = None;
        wait_for(Duration::from_secs(5), "the session thread's status", || {
            let sh = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            got = sh.status;
            got.is_some() || sh.error.is_some()
        });
        let error = self.shared.lock().unwrap_or_else(|e| e.into_inner()).error.clone();
        if let Some(e) = error {
            panic!("the session thread failed: {e}");
        }
        got.expect("a status")
    }

    fn events(&self) -> Vec<(StdInstant, Event)> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner()).events.clone()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The driver loop: frames from the packet socket and deadlines into the core, the core's
/// frames out of the socket. Timers are the core's deadlines; the thread sleeps in `poll(2)`
/// until the next one or a frame.
fn run_session(stop: &AtomicBool, shared: &Mutex<Shared>) -> Result<(), String> {
    let options = PacketOptions { slow_protocols: false, ..PacketOptions::default() };
    let sock = PacketSocket::open("e1", options).map_err(|e| e.to_string())?;
    // bfdd's packets are for 192.0.2.1:3784; a bound socket keeps the kernel from answering
    // them with ICMP port unreachable (the packet socket sees them all the same).
    let _absorb = UdpSocket::bind((OURS, bfd::SINGLE_HOP_PORT)).map_err(|e| e.to_string())?;
    let mac = ubond_sys::link::mac("e1").map_err(|e| e.to_string())?;
    let session = SessionConfig {
        desired_min_tx: ms(30),
        required_min_rx: ms(50),
        detect_mult: 4,
        passive: false,
    };
    let config = MicroConfig {
        port: bfd::SINGLE_HOP_PORT,
        ..MicroConfig::new(IpAddr::V4(OURS), IpAddr::V4(THEIRS), session)
    };
    let start = StdInstant::now();
    let now = || Instant::from_nanos(start.elapsed().as_nanos() as u64);
    let mut bfd =
        MicroBfd::new(config, u64::from(std::process::id())).map_err(|e| e.to_string())?;
    bfd.add_member(now(), MEMBER, mac).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        while let Some(t) = bfd.poll_transmit() {
            sock.send(t.frame.frame()).map_err(|e| e.to_string())?;
        }
        {
            let mut sh = shared.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(e) = bfd.poll_event() {
                sh.events.push((StdInstant::now(), e));
            }
            sh.status = bfd.member_status(MEMBER);
        }
        let t = now();
        let wait =
            bfd.poll_timeout().map_or(ms(20), |d| d.saturating_duration_since(t)).min(ms(20));
        let timeout = Timespec::try_from(wait).map_err(|e| e.to_string())?;
        let mut fds = [PollFd::new(&sock, PollFlags::IN)];
        poll(&mut fds, Some(&timeout)).map_err(|e| e.to_string())?;
        while let Some((n, sum)) = sock.recv_with_checksum(&mut buf).map_err(|e| e.to_string())? {
            // bfdd's kernel leaves the UDP checksum to veth's offload: the kernel says so.
            let checksum = match sum {
                RxChecksum::Unknown => UdpChecksum::Verify,
                RxChecksum::Partial | RxChecksum::Valid => UdpChecksum::Trusted,
            };
            bfd.handle_frame(now(), MEMBER, &buf[..n], checksum);
        }
        bfd.handle_timeout(now());
    }
    Ok(())
}

/// tc in namespace `ns`: everything `e1` receives and sends goes to `sink`, a veth that is down.
fn blackhole(ns: &str, on: bool) {
    for dir in ["ingress", "egress"] {
        if on {
            must(&[
                "ip", "netns", "exec", ns, "tc", "filter", "add", "dev", "e1", dir, "prio", "1",
                "protocol", "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress",
                "redirect", "dev", "sink",
            ]);
        } else {
            must(&[
                "ip", "netns", "exec", ns, "tc", "filter", "del", "dev", "e1", dir, "prio", "1",
            ]);
        }
    }
}

#[test]
fn ubond_and_frr_bfdd_come_up_negotiate_detect_a_blackhole_and_recover() {
    if !can_run() {
        return;
    }
    let a = side("bfdfrr", "a");
    let b = side("bfdfrr", "b");
    a.ip(&["link", "add", "e1", "type", "veth", "peer", "name", "e1", "netns", &b.ns]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "e1"]);
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "e1"]);
    b.ip(&["link", "add", "sink", "type", "veth", "peer", "name", "sink-peer"]);
    a.ip(&["link", "set", "e1", "up"]);
    b.ip(&["link", "set", "e1", "up"]);
    must(&["ip", "netns", "exec", &b.ns, "tc", "qdisc", "add", "dev", "e1", "clsact"]);
    let bfdd = Bfdd::start(&b.ns, &b.dir);
    let ours = Runner::start(&a.ns);

    // Up on both sides.
    let up = |r: &Runner| r.status().session.state == State::Up;
    let t0 = StdInstant::now();
    while !up(&ours) {
        if t0.elapsed() > Duration::from_secs(15) {
            panic!(
                "ubond's session is not Up after 15 s:\nubond {:#?}\nbfdd {:#}{}",
                ours.status(),
                bfdd.peer(),
                bfdd.log(),
            );
        }
        std::thread::sleep(ms(50));
    }
    let took = t0.elapsed();
    wait_for(Duration::from_secs(5), "bfdd's session up", || bfdd.peer()["status"] == "up");
    eprintln!("up after {took:?}");

    // Timers negotiated as both sides configured them, through Poll/Final both ways.
    wait_for(Duration::from_secs(5), "the Poll Sequences to end", || {
        let s = ours.status().session;
        !s.polling && s.stats.polls_completed >= 1 && s.stats.finals_sent >= 1
    });
    let s = ours.status().session;
    let peer = bfdd.peer();
    let ctx = format!("ubond {s:#?}\nbfdd {peer:#}{}", bfdd.log());
    assert_eq!(s.tx_interval, ms(60), "ubond sends at max(30, bfdd's 60): {ctx}");
    assert_eq!(s.detection_time, ms(250), "5 x max(50, bfdd's 40): {ctx}");
    assert_eq!(
        (s.remote_desired_min_tx, s.remote_min_rx, s.remote_detect_mult),
        (ms(40), ms(60), 5),
        "{ctx}"
    );
    assert_eq!(s.remote_discr, peer["id"].as_u64().unwrap() as u32, "{ctx}");
    assert_eq!(u64::from(s.local_discr), peer["remote-id"].as_u64().unwrap(), "{ctx}");
    assert_eq!(peer["remote-transmit-interval"], 30, "bfdd heard our Desired Min TX: {ctx}");
    assert_eq!(peer["remote-receive-interval"], 50, "bfdd heard our Required Min RX: {ctx}");
    assert_eq!(peer["remote-detect-multiplier"], 4, "{ctx}");
    assert!(s.stats.polls_completed >= 1, "bfdd answered our Poll with a Final: {ctx}");
    assert!(s.stats.finals_sent >= 1, "we answered bfdd's Poll with a Final: {ctx}");
    assert_eq!(s.stats.down_count, 0, "no flap while negotiating: {ctx}");
    let src_port = ours.status().src_port;
    assert!(src_port >= bfd::SOURCE_PORT_MIN);
    // Stays Up for a while (no false detection at these rates).
    std::thread::sleep(ms(1000));
    assert_eq!(ours.status().session.state, State::Up);
    assert_eq!(ours.status().session.stats.down_count, 0, "{}", bfdd.log());
    assert_eq!(ours.status().drops.total(), 0, "{:?}", ours.status().drops);

    // Blackhole the link both ways; carriers stay up.
    let before = StdInstant::now();
    blackhole(&b.ns, true);
    let after = StdInstant::now();
    wait_for(Duration::from_secs(5), "ubond's session Down", || !up(&ours));
    let down = ours
        .events()
        .into_iter()
        .find_map(|(t, e)| match e {
            Event::State { from: State::Up, to, diag, .. } => Some((t, to, diag)),
            _ => None,
        })
        .expect("a state event out of Up");
    assert_eq!((down.1, down.2), (State::Down, Diagnostic::ControlDetectionTimeExpired));
    assert!(down.0 > before, "not down before the blackhole");
    // Down one Detection Time after the last packet, which came before the blackhole was
    // complete (the Detection Time itself is checked exactly above); the slack is this
    // thread's wake-up latency, which a loaded machine stretches (it runs at normal priority).
    let latency = down.0 - after;
    eprintln!("down {latency:?} after the blackhole (Detection Time 250 ms)");
    assert!(latency <= ms(250) + ms(150), "down {latency:?} after the blackhole");
    wait_for(Duration::from_secs(5), "bfdd's session down", || bfdd.peer()["status"] != "up");
    assert_eq!(bfdd.peer()["diagnostic"], "control detection time expired");

    // The link heals: back Up on both sides.
    blackhole(&b.ns, false);
    wait_for(Duration::from_secs(15), "ubond's session Up again", || up(&ours));
    wait_for(Duration::from_secs(5), "bfdd's session up again", || bfdd.peer()["status"] == "up");
    let s = ours.status();
    assert_eq!((s.session.stats.up_count, s.session.stats.down_count), (2, 1));
    assert_eq!(s.src_port, src_port, "one source port for the session's life (RFC 5881 4)");
    assert_eq!(s.drops.total(), 0, "{:?}", s.drops);
    drop(ours);
    drop(bfdd);
}
