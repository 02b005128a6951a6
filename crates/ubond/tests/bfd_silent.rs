//! Root test: a silent member failure (carriers up, frames gone) between two ubond hosts, found
//! by micro-BFD (RFC 7130) in milliseconds, and by LACP alone in seconds.
//!
//! Three namespaces: `a` and `b` run a daemon each with an 802.3ad bond over `e1` and `e2`;
//! `m` in the middle wires them (`a:e1 - m:a1`, `m:b1 - b:e1`, the same for 2) with tc mirred
//! redirects, so that the carriers of every link stay up whatever happens in `m`. A failure
//! redirects what arrives on `m:a2` (a to b over member 2), and for a two-way failure also on
//! `m:b2`, into `blk`, a veth that is down: the frames vanish, nobody's carrier moves.
//!
//! A flow from `a` to `b` is chosen that `a` sends over member 2; numbered probes go every
//! millisecond, the sender notes when it sent each and `b` which arrived. The outage of one
//! trial is its longest run of lost probes, from the send time of the first lost to that of
//! the next one that arrived (send times: a receiver held up by the scheduler does not count).
//! The daemons run at a real-time priority, as a BFD daemon is deployed: a 30 ms detection
//! time leaves no room for waiting behind a loaded machine's builds. With `bfd=on
//! bfd_min_tx=10 bfd_min_rx=10 bfd_multiplier=3`, 8 one-way and 8 two-way trials: the median
//! outage at most 50 ms and every one under a second (LACP alone takes seconds). The goal of
//! a p99 at most 50 ms is a figure of this machine's load, not a behaviour: `bench/run.sh
//! silent` runs this test on a quiet machine with `UBOND_SILENT_TRIALS=full`, 20 trials each
//! way (of which p99 is the worst), and judges it there.
//! Between trials the failure is mended in two steps: first only `b` to `a`,
//! while `a` to `b` stays cut — `a`'s session then hears `b` but cannot come Up, and a probe
//! lost then would mean the member came back before its session; then fully, and the member is
//! back once its sessions are Up on both sides.
//!
//! LACP alone (`bfd=off`, `lacp_rate=fast`) is measured the same way, in fewer trials (each
//! waits out LACP's 3 s timeout): 2 one-way and 1 two-way, 3 each way for the benchmark. The
//! figures are printed for docs/PERFORMANCE.md.
//!
//! Root only; skipped with a message otherwise (failed under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{in_netns, must, sh, side, wait_for, Side};

const PROBE_PORT: u16 = 9999;

/// The test's namespaces and wiring.
struct Net {
    a: Side,
    b: Side,
    m: Side,
}

fn tc_redirect(m: &Side, from: &str, to: &str) {
    must(&[
        "tc", "-n", &m.ns, "filter", "replace", "dev", from, "ingress", "pref", "1", "handle",
        "800::1", "protocol", "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress",
        "redirect", "dev", to,
    ]);
}

impl Net {
    fn new(test: &str, options: &[&str]) -> Net {
        let a = side(test, "a");
        let b = side(test, "b");
        let m = side(test, "m");
        for (s, tag) in [(&a, "a"), (&b, "b")] {
            for i in ["1", "2"] {
                let peer = format!("{tag}{i}");
                s.ip(&[
                    "link",
                    "add",
                    &format!("e{i}"),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &peer,
                    "netns",
                    &m.ns,
                ]);
                m.ip(&["link", "set", &peer, "up"]);
                must(&["tc", "-n", &m.ns, "qdisc", "add", "dev", &peer, "clsact"]);
            }
        }
        // A device that is down (a veth pair, both ends left down): what arrives is dropped.
        m.ip(&["link", "add", "blk", "type", "veth", "peer", "name", "blk-peer"]);
        let mut net = Net { a, b, m };
        net.mend();
        net.a.start_daemon();
        net.b.start_daemon();
        // A 30 ms detection time asks the daemons to run within a few milliseconds of their
        // timers: as a BFD daemon is deployed, at a real-time priority (on a loaded machine a
        // daemon at the default priority may wait longer than that for a CPU).
        for s in [&net.a, &net.b] {
            let pid = s.daemon.as_ref().unwrap().id().to_string();
            must(&["chrt", "--fifo", "--pid", "10", &pid]);
        }
        for (s, addr, peer) in
            [(&net.a, "192.0.2.1/24", "192.0.2.2"), (&net.b, "192.0.2.2/24", "192.0.2.1")]
        {
            let mut add = vec!["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100"];
            add.push("xmit_hash_policy=layer3+4");
            add.extend_from_slice(options);
            let peer = format!("bfd_peer={peer}");
            add.push(&peer);
            s.ok(&add);
            s.ok(&["enslave", "bond0", "e1", "e2"]);
            s.ip(&["addr", "add", addr, "dev", "bond0"]);
            s.ip(&["link", "set", "bond0", "up"]);
        }
        net
    }

    /// Both members wired both ways.
    fn mend(&self) {
        for i in ["1", "2"] {
            tc_redirect(&self.m, &format!("a{i}"), &format!("b{i}"));
            tc_redirect(&self.m, &format!("b{i}"), &format!("a{i}"));
        }
    }

    /// Member 2 silent from a to b, and from b to a too if `two_way`.
    fn fail(&self, two_way: bool) {
        tc_redirect(&self.m, "a2", "blk");
        if two_way {
            tc_redirect(&self.m, "b2", "blk");
        }
    }

    /// Packets received on `m`'s end of a member (what `a` or `b` sent on it).
    fn rx_packets(&self, iface: &str) -> u64 {
        let o = sh(&["ip", "-n", &self.m.ns, "-s", "-j", "link", "show", iface]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
    }

    /// The probe flow is on member 2 (most of the ~100 probes of 100 ms arrive on `m:a2`).
    fn flow_on_member_2(&self) -> bool {
        let before = self.rx_packets("a2");
        std::thread::sleep(Duration::from_millis(100));
        self.rx_packets("a2") - before >= 50
    }

    fn both_bfd_up(&self) -> bool {
        [&self.a, &self.b]
            .iter()
            .all(|s| s.report("bond0").matches("BFD Status: up\n").count() == 2)
    }

    fn lacp_both_distributing(&self) -> bool {
        // Actor port state 63 (all but expired/defaulted) on both members, both sides.
        [&self.a, &self.b].iter().all(|s| {
            let r = s.report("bond0");
            r.matches("details actor lacp pdu:").count() == 2
                && r.split("details actor lacp pdu:").skip(1).all(|p| p.contains("port state: 63"))
        })
    }
}

/// Probes from `a` to `b` every millisecond on one UDP flow, each with its sequence number;
/// the sender notes when it sent each, the receiver which arrived. Lost probes, not arrival
/// gaps, make an outage, so a thread that the scheduler holds up does not count as one.
struct Probe {
    stop: Arc<AtomicBool>,
    sent: Arc<Mutex<Vec<Instant>>>,
    got: Arc<Mutex<Vec<bool>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Probes sent this recently may still be on their way: not judged yet.
const IN_FLIGHT: Duration = Duration::from_millis(20);

impl Probe {
    fn start(net: &Net, sport: u16) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(Mutex::new(Vec::with_capacity(1 << 18)));
        let got = Arc::new(Mutex::new(Vec::with_capacity(1 << 18)));
        let (st, g) = (stop.clone(), got.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let rx = in_netns(&net.b.ns, move || {
            let sock = UdpSocket::bind(("0.0.0.0", PROBE_PORT)).unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            // Room for seconds of probes (the default holds a few hundred): a receiver the
            // scheduler holds up must not turn probes the bond carried into lost ones.
            rustix::net::sockopt::set_socket_recv_buffer_size_force(&sock, 16 << 20).unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 64];
            while !st.load(Ordering::Relaxed) {
                if let Ok(8) = sock.recv(&mut buf) {
                    let seq = u64::from_be_bytes(buf[..8].try_into().unwrap()) as usize;
                    let mut g = g.lock().unwrap();
                    if g.len() <= seq {
                        g.resize(seq + 1, false);
                    }
                    g[seq] = true;
                }
            }
        });
        ready_rx.recv().unwrap();
        let (st, se) = (stop.clone(), sent.clone());
        let tx = in_netns(&net.a.ns, move || {
            let sock = UdpSocket::bind(("192.0.2.1", sport)).unwrap();
            sock.connect(("192.0.2.2", PROBE_PORT)).unwrap();
            let mut seq = 0u64;
            while !st.load(Ordering::Relaxed) {
                se.lock().unwrap().push(Instant::now());
                let _ = sock.send(&seq.to_be_bytes());
                seq += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Probe { stop, sent, got, threads: vec![rx, tx] }
    }

    /// The longest outage among the probes sent since `from` (but the last few, still on their
    /// way): from the first probe lost to the next one that arrived.
    fn outage_since(&self, from: Instant) -> Duration {
        let sent = self.sent.lock().unwrap().clone();
        let got = self.got.lock().unwrap().clone();
        let until = Instant::now() - IN_FLIGHT;
        let arrived = |i: usize| got.get(i).copied().unwrap_or(false);
        let mut worst = Duration::ZERO;
        let mut lost_since: Option<Instant> = None;
        for (i, &t) in sent.iter().enumerate().filter(|(_, t)| **t >= from && **t <= until) {
            match (arrived(i), lost_since) {
                (false, None) => lost_since = Some(t),
                (true, Some(l)) => {
                    worst = worst.max(t - l);
                    lost_since = None;
                }
                _ => {}
            }
        }
        if let Some(l) = lost_since {
            worst = worst.max(until - l);
        }
        worst
    }

    /// Probes sent since `from` (but the last few) that never arrived.
    fn lost_since(&self, from: Instant) -> usize {
        let sent = self.sent.lock().unwrap().clone();
        let got = self.got.lock().unwrap().clone();
        let until = Instant::now() - IN_FLIGHT;
        sent.iter()
            .enumerate()
            .filter(|(i, t)| **t >= from && **t <= until && !got.get(*i).copied().unwrap_or(false))
            .count()
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

/// A source port whose flow `a` sends over member 2 (`m` sees it arrive on `a2`).
fn flow_over_member_2(net: &Net) -> u16 {
    for sport in 40000..40064u16 {
        let before = (net.rx_packets("a1"), net.rx_packets("a2"));
        let sent = in_netns(&net.a.ns, move || {
            let sock = UdpSocket::bind(("192.0.2.1", sport)).unwrap();
            for _ in 0..300 {
                let _ = sock.send_to(b"which", ("192.0.2.2", PROBE_PORT));
            }
        });
        sent.join().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let after = (net.rx_packets("a1"), net.rx_packets("a2"));
        if after.1 - before.1 >= 300 && after.0 - before.0 < 100 {
            return sport;
        }
    }
    panic!("no flow over member 2 in 64 source ports");
}

/// Member 1's BFD down counts on both sides: it is never cut, so they move only when a
/// session misses its partner by itself.
fn healthy_downs(net: &Net) -> (String, String) {
    (slave_line(&net.a, "e1", "BFD Down Count"), slave_line(&net.b, "e1", "BFD Down Count"))
}

/// One trial: fail, wait `hold`, measure. Returns the outage.
fn trial(net: &Net, probe: &Probe, two_way: bool, hold: Duration) -> Duration {
    let t0 = Instant::now();
    net.fail(two_way);
    std::thread::sleep(hold);
    probe.outage_since(t0)
}

/// Slave `iface`'s line `label: value` in the side's report.
fn slave_line(s: &Side, iface: &str, label: &str) -> String {
    let r = s.report("bond0");
    let block = r.split(&format!("Slave Interface: {iface}\n")).nth(1).unwrap_or("");
    let block = block.split("\nSlave Interface: ").next().unwrap_or("");
    block.lines().find_map(|l| l.strip_prefix(&format!("{label}: "))).unwrap_or("").to_string()
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    let i = ((s.len() as f64) * p).ceil() as usize;
    s[i.clamp(1, s.len()) - 1]
}

fn summary(name: &str, v: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    format!(
        "{name}: {} trials, outage min {:.1} ms, mean {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        v.len(),
        ms(*v.iter().min().unwrap()),
        mean,
        ms(percentile(v, 0.5)),
        ms(percentile(v, 0.99)),
        ms(*v.iter().max().unwrap())
    )
}

/// Trials each way: `full` for the benchmark (`UBOND_SILENT_TRIALS=full`), `quick` in the test
/// suite, where the behaviour is judged and the figures are not.
fn trials(full: usize, quick: usize) -> usize {
    match std::env::var("UBOND_SILENT_TRIALS").as_deref() {
        Ok("full") => full,
        _ => quick,
    }
}

/// The two tests measure outages in milliseconds: one at a time, not each loading the
/// machine under the other's measurement.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn micro_bfd_finds_a_silent_member_failure_in_tens_of_milliseconds() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !support::can_run() {
        return;
    }
    let net = Net::new("bfds", &["bfd=on", "bfd_min_tx=10", "bfd_min_rx=10", "bfd_multiplier=3"]);
    wait_for(Duration::from_secs(20), "LACP and both BFD sessions up", || {
        net.lacp_both_distributing() && net.both_bfd_up()
    });
    // Up, the sessions leave the slow start's 1 s timers through a Poll Sequence: wait for its
    // end rather than read the report at one instant.
    wait_for(Duration::from_secs(10), "the configured BFD timers on both members", || {
        let report = net.a.report("bond0");
        report.matches("BFD TX Interval (ms): 10\n").count() == 2
            && report.matches("BFD Detect Time (ms): 30\n").count() == 2
    });
    let sport = flow_over_member_2(&net);
    let probe = Probe::start(&net, sport);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(probe.lost_since(Instant::now() - Duration::from_millis(200)), 0);
    // (Measured over 100 ms of the sender's probes: a sender held up then would send too few;
    // the flow is on member 2 once it is seen there.)
    wait_for(Duration::from_secs(10), "the probe flow on member 2", || net.flow_on_member_2());
    let mut figures = Vec::new();
    let mut false_downs = 0;
    let per_way = trials(20, 8);
    for two_way in [false, true] {
        let mut outages = Vec::new();
        for n in 0..per_way {
            let outage = trial(&net, &probe, two_way, Duration::from_millis(400));
            eprintln!("trial {n} (two-way: {two_way}): outage {outage:?}");
            outages.push(outage);
            // Half mended: b to a only. a's session hears b's Down packets but b cannot hear
            // a: nobody is Up, and the flow must keep away from member 2 (still cut a to b).
            tc_redirect(&net.m, "b2", "a2");
            let healthy = healthy_downs(&net);
            let half = Instant::now();
            // Member 1's sessions watched throughout: up on both sides, never down meanwhile.
            let mut member_1_steady = true;
            while half.elapsed() < Duration::from_millis(1500) {
                std::thread::sleep(Duration::from_millis(20));
                member_1_steady &=
                    [&net.a, &net.b].iter().all(|s| slave_line(s, "e1", "BFD Status") == "up");
            }
            let lost = probe.lost_since(half);
            if member_1_steady && healthy_downs(&net) == healthy {
                assert_eq!(
                    lost, 0,
                    "trial {n}: member 2 carried traffic before its session was up"
                );
            } else {
                // Member 1 itself went down meanwhile (a daemon or the kernel's packet
                // processing held up for 30 ms on a loaded machine): the flow had nowhere to go.
                false_downs += 1;
                eprintln!("trial {n}: member 1 went down by itself; loss not judged");
            }
            assert_ne!(slave_line(&net.a, "e2", "BFD Status"), "up", "trial {n}");
            assert_ne!(slave_line(&net.b, "e2", "BFD Status"), "up", "trial {n}");
            net.mend();
            // LACP too: a member cut for almost 2 s may have let the partner's LACP state age;
            // each trial starts from the bond as the first did.
            wait_for(Duration::from_secs(20), "both BFD sessions and LACP up again", || {
                net.both_bfd_up() && net.lacp_both_distributing()
            });
            wait_for(Duration::from_secs(10), "the flow back on member 2", || {
                net.flow_on_member_2()
            });
        }
        // Every trial took member 2 down on each side (and a false detection may have added
        // one); member 1 only by itself, as counted.
        let cut = per_way * (1 + usize::from(two_way));
        for side in [&net.a, &net.b] {
            let downs: usize = slave_line(side, "e2", "BFD Down Count").parse().unwrap();
            assert!(downs >= cut, "{downs} < {cut}");
        }
        let line =
            summary(if two_way { "micro-BFD, two-way" } else { "micro-BFD, one-way" }, &outages);
        eprintln!("{line}");
        figures.push(line);
        // Tens of milliseconds, not LACP's seconds; the p99 goal is judged by the benchmark.
        let p50 = percentile(&outages, 0.5);
        assert!(p50 <= Duration::from_millis(50), "{}", figures.join("\n"));
        let worst = *outages.iter().max().unwrap();
        assert!(worst < Duration::from_secs(1), "{}", figures.join("\n"));
    }
    probe.stop();
    let windows = 2 * per_way;
    eprintln!("member 1 went down by itself in {false_downs} of {windows} half-mended windows");
    assert!(
        false_downs * 4 < windows,
        "member 1 kept failing by itself: the machine is too loaded"
    );
    let log = std::fs::read_to_string(net.a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("(e2): BFD session down ("), "{log}");
}

#[test]
fn lacp_alone_finds_it_in_seconds() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !support::can_run() {
        return;
    }
    let net = Net::new("bfdl", &[]);
    wait_for(Duration::from_secs(20), "LACP distributing", || net.lacp_both_distributing());
    let sport = flow_over_member_2(&net);
    let probe = Probe::start(&net, sport);
    std::thread::sleep(Duration::from_millis(300));
    wait_for(Duration::from_secs(10), "the probe flow on member 2", || net.flow_on_member_2());
    let mut figures = Vec::new();
    for two_way in [false, true] {
        let mut outages = Vec::new();
        // (One two-way trial in the test suite: mended, both partners wait out the slow
        // periodic rate, which is most of such a trial's time.)
        for _ in 0..trials(3, if two_way { 1 } else { 2 }) {
            outages.push(trial(&net, &probe, two_way, Duration::from_millis(6000)));
            net.mend();
            // After a two-way cut longer than LACP's timeout both partners are defaulted and
            // send at the slow rate (802.1AX's Periodic Transmission machine follows the
            // partner's timeout): up to 30 s before they hear each other again.
            let t = Instant::now();
            while !net.lacp_both_distributing() {
                assert!(
                    t.elapsed() < Duration::from_secs(45),
                    "LACP not distributing again:\n{}\n{}",
                    net.a.report("bond0"),
                    net.b.report("bond0")
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            wait_for(Duration::from_secs(20), "the flow back on member 2", || {
                net.flow_on_member_2()
            });
        }
        let line = summary(
            if two_way { "LACP only (fast), two-way" } else { "LACP only (fast), one-way" },
            &outages,
        );
        eprintln!("{line}");
        figures.push(line);
        // LACP's fast timeout is 3 s: seconds, not milliseconds.
        assert!(percentile(&outages, 0.5) > Duration::from_millis(1000), "{}", figures.join("\n"));
    }
    probe.stop();
}
