//! `ubond demo`: a real two-host network built on the spot, bonded with ubond.
//!
//! As root: two network namespaces as hosts, two veth links between them, a ubond daemon in
//! each with an 802.3ad bond (`lacp_rate=fast`) over both links and an address on it. It needs
//! nothing but the kernel and this binary: namespaces, links and addresses are made through
//! rtnetlink and mounts (`ubond_sys::netns`, `ubond_sys::link`, `ubond_sys::addr`) and the
//! pings are its own ICMP echoes (`ubond_sys::icmp`), and it prints the equivalent `ip` and
//! `ping` command of each step, so it doubles as a recipe. It shows LACP negotiating (port
//! states as they change) and which data path the daemons took (and why, when not the
//! in-kernel one), pings across, takes one link down and shows traffic continuing, prints both
//! `/proc/net/bonding/bond0` reports, and removes everything it made — also on Ctrl-C or an
//! error. Without root it says what it needs and runs the same topology in the simulator.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ubond_sys::icmp::IcmpSocket;
use ubond_sys::netns::NetNs;
use ubond_sys::{addr, link};

use crate::control::{call, Request};

/// The bond options of both hosts (the lab's demo uses the same).
const OPTIONS: &str = ubond_lab::demo::DEMO_BOND_OPTIONS;
/// The two hosts: letter, address.
const HOSTS: [(&str, Ipv4Addr); 2] =
    [("a", Ipv4Addr::new(192, 0, 2, 1)), ("b", Ipv4Addr::new(192, 0, 2, 2))];
/// The links, named alike at both ends.
const LINKS: [&str; 2] = ["eth0", "eth1"];

/// Runs the demo; `Ok(true)` when everything it shows worked.
pub fn run() -> Result<bool> {
    if !rustix::process::geteuid().is_root() {
        println!("ubond demo builds real network namespaces and needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN);");
        println!("run it as `sudo ubond demo`. Meanwhile, the same topology in the simulator:");
        println!();
        return run_simulated();
    }
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    let mut demo = Demo::new(stop)?;
    let result = demo.play();
    drop(demo);
    println!("\nremoved both namespaces, their links and the daemons");
    result
}

/// The simulated demo, for users without root: the same topology in the lab.
fn run_simulated() -> Result<bool> {
    let mut out = std::io::stdout().lock();
    Ok(ubond_lab::demo::run_demo(&mut out)?)
}

/// What the demo made, removed on drop.
struct Demo {
    id: String,
    dir: PathBuf,
    made_ns: Vec<NetNs>,
    daemons: Vec<Child>,
    stop: Arc<AtomicBool>,
    t0: Instant,
}

impl Demo {
    fn new(stop: Arc<AtomicBool>) -> Result<Demo> {
        let id = format!("ubond-demo-{}", std::process::id());
        let dir = std::env::temp_dir().join(&id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Demo { id, dir, made_ns: Vec::new(), daemons: Vec::new(), stop, t0: Instant::now() })
    }

    fn ns_name(&self, host: &str) -> String {
        format!("{}-{host}", self.id)
    }

    /// Host `host`'s namespace (made by [`Demo::play`]).
    fn ns(&self, host: &str) -> Result<&NetNs> {
        let name = self.ns_name(host);
        self.made_ns.iter().find(|n| n.name() == name).ok_or_else(|| anyhow!("no host {host}"))
    }

    /// Does `what` inside host `host`'s namespace, printing `shown` (the equivalent command).
    fn inside<R: Send>(
        &self,
        host: &str,
        shown: &str,
        what: impl FnOnce() -> ubond_sys::Result<R> + Send,
    ) -> Result<R> {
        println!("  + {shown}");
        Ok(self.ns(host)?.run(what)??)
    }

    fn socket(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{host}.sock"))
    }

    fn check_stop(&self) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }

    fn say(&self, text: &str) {
        println!("[{:5.2}s] {text}", self.t0.elapsed().as_secs_f64());
        let _ = std::io::stdout().flush();
    }

    /// Sends a request to host's daemon, echoing the equivalent command line.
    fn ubond(&self, host: &str, shown: &str, request: &Request) -> Result<String> {
        println!("  + ubond --control {} {shown}", self.socket(host).display());
        let answer = call(&self.socket(host), request)?;
        match answer.error {
            Some(e) => Err(anyhow!("{host}: {e}")),
            None => Ok(answer.output),
        }
    }

    fn play(&mut self) -> Result<bool> {
        self.say("two hosts (network namespaces) joined by two veth links");
        println!("          (made through rtnetlink; each step's iproute2 command is shown)");
        for (host, _) in HOSTS {
            let name = self.ns_name(host);
            println!("  + ip netns add {name}");
            self.made_ns.push(NetNs::create(&name)?);
            self.inside(host, &format!("ip -n {name} link set lo up"), || {
                link::set_up("lo", true)
            })?;
        }
        let (a, b) = (self.ns_name("a"), self.ns_name("b"));
        let b_file = self.ns("b")?.file()?;
        for l in LINKS {
            self.inside(
                "a",
                &format!("ip -n {a} link add {l} type veth peer name {l} netns {b}"),
                || link::add_veth(l, l, Some(b_file.as_fd())),
            )?;
        }
        drop(b_file);
        self.check_stop()?;

        self.say("a ubond daemon in each host");
        let exe = std::env::current_exe().context("finding the ubond executable")?;
        for (host, _) in HOSTS {
            let log = std::fs::File::create(self.dir.join(format!("{host}.log")))?;
            println!(
                "  + ip netns exec {} ubond --control {} daemon &",
                self.ns_name(host),
                self.socket(host).display()
            );
            let mut cmd = Command::new(&exe);
            cmd.arg("--control")
                .arg(self.socket(host))
                .arg("daemon")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            let child = self.ns(host)?.spawn(&mut cmd).context("starting a daemon")?;
            self.daemons.push(child);
        }
        for (host, _) in HOSTS {
            self.wait(Duration::from_secs(10), &format!("host {host}'s daemon"), |d| {
                std::os::unix::net::UnixStream::connect(d.socket(host)).is_ok()
            })?;
        }

        self.say(&format!("an 802.3ad bond over both links in each host ({OPTIONS})"));
        for (host, ip) in HOSTS {
            let ns = self.ns_name(host);
            let add =
                Request::Add { bond: "bond0".into(), options: OPTIONS.into(), netlink: false };
            self.ubond(host, &format!("add bond0 {OPTIONS}"), &add)?;
            let enslave =
                Request::Enslave { bond: "bond0".into(), ifaces: LINKS.map(String::from).to_vec() };
            self.ubond(host, "enslave bond0 eth0 eth1", &enslave)?;
            self.inside(host, &format!("ip -n {ns} link set bond0 up"), || {
                link::set_up("bond0", true)
            })?;
            self.inside(host, &format!("ip -n {ns} addr add {ip}/24 dev bond0"), || {
                addr::add_address("bond0", IpAddr::V4(ip), 24)
            })?;
        }
        self.data_paths();
        self.check_stop()?;

        self.say("LACP negotiating (host a's ports: actor state / partner state)");
        let started = Instant::now();
        let mut last = String::new();
        let negotiated = loop {
            let states = self.port_states("a")?;
            if states != last {
                println!("          {states}");
                last.clone_from(&states);
            }
            if self.both_distributing()? {
                break true;
            }
            if started.elapsed() > Duration::from_secs(30) {
                break false;
            }
            self.check_stop()?;
            std::thread::sleep(Duration::from_millis(20));
        };
        if !negotiated {
            self.say("LACP did not negotiate within 30 s; the reports follow");
            self.reports()?;
            return Ok(false);
        }
        self.say(&format!(
            "negotiated in {:.2} s: both ports of both hosts in one aggregator, state 63 \
             (activity, short timeout, aggregation, sync, collecting, distributing)",
            started.elapsed().as_secs_f64()
        ));

        self.say("ping across the bond (the demo's own ICMP echoes)");
        let sock = self.ns("a")?.run(IcmpSocket::open)??;
        let peer = HOSTS[1].1;
        println!("  + ip netns exec {a} ping -c 10 -i 0.1 {peer}");
        let first = ping(&sock, peer, 10, Duration::from_millis(100), &self.stop)?;
        println!("          {first}");
        self.check_stop()?;

        self.say("taking eth0 down in host a, with a ping running every 10 ms");
        println!("  + ip netns exec {a} ping -c 300 -i 0.01 {peer} &");
        let during = std::thread::scope(|s| -> Result<Pings> {
            let pinger = s.spawn(|| ping(&sock, peer, 300, Duration::from_millis(10), &self.stop));
            std::thread::sleep(Duration::from_millis(500));
            let down = self.inside("a", &format!("ip -n {a} link set eth0 down"), || {
                link::set_up("eth0", false)
            });
            let pings = pinger.join().map_err(|_| anyhow!("the pinger panicked"))?;
            down?;
            pings
        })?;
        println!(
            "          {} of {} replies ({} lost, one every 10 ms: about {} ms without traffic)",
            during.received,
            during.sent,
            during.sent - during.received,
            (during.sent - during.received) * 10
        );
        self.say("host a's bond after the loss: the aggregator keeps one port");
        println!("          {}", self.port_states("a")?);

        self.say("both reports (/proc/net/bonding/bond0 as ubond prints it)");
        self.reports()?;
        // Traffic continued: most of the 3 s run was answered. (The outage itself is a few
        // milliseconds on a quiet machine; bench/ measures it. On a loaded one, the daemons'
        // reaction to the carrier loss waits for a CPU, so this only asks that traffic went on.)
        Ok(first.received == first.sent && during.sent > 0 && during.received * 2 >= during.sent)
    }

    fn wait(&self, limit: Duration, what: &str, f: impl Fn(&Demo) -> bool) -> Result<()> {
        let t = Instant::now();
        while !f(self) {
            self.check_stop()?;
            if t.elapsed() > limit {
                bail!("timed out waiting for {what}; logs are in {}", self.dir.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn status(&self, host: &str) -> Result<serde_json::Value> {
        let answer =
            call(&self.socket(host), &Request::Status { bond: Some("bond0".into()), json: true })?;
        if let Some(e) = answer.error {
            bail!("{host}: {e}");
        }
        let value: serde_json::Value = serde_json::from_str(&answer.output)?;
        // One bond asked for: an object, or a list holding it.
        Ok(match value {
            serde_json::Value::Array(mut v) if !v.is_empty() => v.swap_remove(0),
            v => v,
        })
    }

    fn port_states(&self, host: &str) -> Result<String> {
        let status = self.status(host)?;
        let mut line = String::new();
        for slave in status["slaves"].as_array().into_iter().flatten() {
            let ad = &slave["ad"];
            let _ = write!(
                line,
                "{}: agg {} actor {:>3} partner {:>3}   ",
                slave["name"].as_str().unwrap_or("?"),
                ad["aggregator_id"],
                ad["actor"]["port_state"],
                ad["partner"]["port_state"],
            );
        }
        Ok(line.trim_end().to_string())
    }

    fn both_distributing(&self) -> Result<bool> {
        for (host, _) in HOSTS {
            let status = self.status(host)?;
            let slaves = status["slaves"].as_array().cloned().unwrap_or_default();
            let ok = slaves.len() == 2
                && slaves.iter().all(|s| {
                    s["ad"]["actor"]["port_state"] == 63 && s["ad"]["partner"]["port_state"] == 63
                });
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Says which data path each host's bond took, from the daemons' logs; plainly when the
    /// in-kernel fast path is absent, with the daemon's reason.
    fn data_paths(&self) {
        for (host, _) in HOSTS {
            let log =
                std::fs::read_to_string(self.dir.join(format!("{host}.log"))).unwrap_or_default();
            // The bond's own line, else the daemon's start line (a daemon without the fast
            // path's programs says there why).
            let bond = log.lines().rev().find_map(|l| l.strip_prefix("bond0: data path: "));
            let daemon = log.lines().find_map(|l| {
                let rest = l.split_once("(data path: ")?.1;
                Some(rest.strip_suffix(')').unwrap_or(rest))
            });
            let Some(path) = bond.or(daemon) else { continue };
            if path.starts_with("bpf") {
                println!(
                    "          host {host}: data frames take the in-kernel fast path (tc eBPF); \
                     the daemon keeps LACP"
                );
            } else {
                println!(
                    "          host {host}: NO in-kernel fast path, data frames cross the daemon: {path}"
                );
            }
        }
    }

    fn reports(&self) -> Result<()> {
        for (host, _) in HOSTS {
            let answer = call(
                &self.socket(host),
                &Request::Status { bond: Some("bond0".into()), json: false },
            )?;
            println!("\n----- host {host}: ubond status bond0 -----");
            print!("{}", answer.output);
        }
        Ok(())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // Daemons first: `ubond shutdown` removes their bonds and everything the bonds hold
        // (devices, programs, pins) and gives the slaves back; a daemon that does not answer
        // is sent SIGTERM by pid. Then the namespaces with the links in them.
        let sockets: Vec<PathBuf> = HOSTS.iter().map(|(host, _)| self.socket(host)).collect();
        for (child, socket) in self.daemons.iter_mut().zip(&sockets) {
            let answered = call(socket, &Request::Shutdown).is_ok_and(|a| a.error.is_none());
            if answered {
                continue;
            }
            if let Ok(pid) = i32::try_from(child.id()) {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                }
            }
        }
        for child in &mut self.daemons {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        for ns in self.made_ns.drain(..).rev() {
            let _ = ns.delete();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What an echo run gave.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pings {
    sent: u32,
    received: u32,
    /// Fastest, mean and slowest round trip, ms.
    rtt_ms: Option<(f64, f64, f64)>,
}

impl std::fmt::Display for Pings {
    /// ping's summary: `10 packets transmitted, 10 received, 0% packet loss, rtt ...`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loss = (100 * (self.sent - self.received)).checked_div(self.sent).unwrap_or(0);
        write!(
            f,
            "{} packets transmitted, {} received, {loss}% packet loss",
            self.sent, self.received
        )?;
        if let Some((min, avg, max)) = self.rtt_ms {
            write!(f, ", rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms")?;
        }
        Ok(())
    }
}

/// An ICMP echo request (type 8) with identifier `id`, sequence number `seq`.
fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![0u8; 8 + 16];
    m[0] = 8;
    m[4..6].copy_from_slice(&id.to_be_bytes());
    m[6..8].copy_from_slice(&seq.to_be_bytes());
    m[8..].copy_from_slice(b"ubond demo echo!");
    ubond_wire::icmp::Icmpv4Packet::new_unchecked(&mut m[..]).fill_checksum();
    m
}

/// The sequence number of an echo reply with identifier `id` in `packet` (an IPv4 packet as a
/// raw ICMP socket delivers it), if that is what it is.
fn echo_reply(packet: &[u8], id: u16) -> Option<u16> {
    let ip = ubond_wire::ipv4::Packet::new_checked(packet).ok()?;
    let icmp = ubond_wire::icmp::Icmpv4Packet::new_checked(ip.payload()).ok()?;
    (icmp.msg_type() == ubond_wire::icmp::Icmpv4Type::EchoReply && icmp.identifier() == Some(id))
        .then(|| icmp.sequence_number())
        .flatten()
}

/// Sends `count` echo requests to `dst`, one every `interval`, and counts the replies that
/// come within a second of the last one.
fn ping(
    sock: &IcmpSocket,
    dst: Ipv4Addr,
    count: u16,
    interval: Duration,
    stop: &AtomicBool,
) -> Result<Pings> {
    // Distinct per run and process: replies to other pingers are someone else's.
    static RUNS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let id = (std::process::id() as u16).wrapping_add(RUNS.fetch_add(1, Ordering::Relaxed) << 12);
    let start = Instant::now();
    let mut sent_at: Vec<Instant> = Vec::with_capacity(usize::from(count));
    let mut answered = vec![false; usize::from(count)];
    let mut rtts: Vec<f64> = Vec::new();
    let mut buf = [0u8; 1500];
    let end_of_sending = start + interval * u32::from(count);
    let deadline = end_of_sending + Duration::from_secs(1);
    loop {
        let now = Instant::now();
        if stop.load(Ordering::Relaxed) || now >= deadline {
            break;
        }
        let due = start + interval * sent_at.len() as u32;
        if sent_at.len() < usize::from(count) && now >= due {
            sock.send_to(&echo_request(id, sent_at.len() as u16), dst)?;
            sent_at.push(now);
            continue;
        }
        let next = if sent_at.len() < usize::from(count) { due } else { deadline };
        if let Some(n) = sock.recv(&mut buf, next.saturating_duration_since(now))? {
            if let Some(seq) = echo_reply(&buf[..n], id) {
                let i = usize::from(seq);
                if i < sent_at.len() && !answered[i] {
                    answered[i] = true;
                    rtts.push(sent_at[i].elapsed().as_secs_f64() * 1000.0);
                }
            }
            if sent_at.len() == usize::from(count) && answered.iter().all(|&a| a) {
                break;
            }
        }
    }
    let rtt_ms = (!rtts.is_empty()).then(|| {
        let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rtts.iter().copied().fold(0.0, f64::max);
        (min, rtts.iter().sum::<f64>() / rtts.len() as f64, max)
    });
    Ok(Pings { sent: sent_at.len() as u32, received: rtts.len() as u32, rtt_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_requests_and_replies() {
        let req = echo_request(0x1234, 7);
        let view = ubond_wire::icmp::Icmpv4Packet::new_checked(&req[..]).expect("8 octets");
        assert!(view.verify_checksum());
        assert_eq!(view.msg_type(), ubond_wire::icmp::Icmpv4Type::EchoRequest);
        assert_eq!((view.identifier(), view.sequence_number()), (Some(0x1234), Some(7)));
        // The reply as a raw socket shows it: a 20-octet IPv4 header, then type 0.
        let mut reply = req.clone();
        reply[0] = 0;
        let mut packet = vec![0x45, 0, 0, (20 + reply.len()) as u8, 0, 0, 0x40, 0, 64, 1, 0, 0];
        packet.extend_from_slice(&[192, 0, 2, 2, 192, 0, 2, 1]);
        packet.extend_from_slice(&reply);
        assert_eq!(echo_reply(&packet, 0x1234), Some(7));
        assert_eq!(echo_reply(&packet, 0x4321), None, "another pinger's");
        assert_eq!(echo_reply(&packet[..24], 0x1234), None, "truncated");
        let pings = Pings { sent: 10, received: 9, rtt_ms: Some((0.1, 0.2, 0.3)) };
        assert_eq!(
            pings.to_string(),
            "10 packets transmitted, 9 received, 10% packet loss, rtt min/avg/max = 0.100/0.200/0.300 ms"
        );
    }
}
