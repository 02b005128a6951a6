//! Helpers for the root tests: namespaces with a ubond daemon in each, shell commands, waiting.
//!
//! Everything a test makes lives in namespaces named `ubd-<pid>-<test>-<letter>`; the drop
//! guards stop the daemons (by pid) and delete the namespaces even when a test fails.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::os::fd::AsFd as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod bonding;
pub mod frames;

pub const BIN: &str = env!("CARGO_BIN_EXE_ubond");

pub fn can_run() -> bool {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let ip = Command::new("ip").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    let ping = Command::new("ping").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    let ok = root && ip && ping;
    // In CI (run as root with .ci/run's packages) a missing tool is a failure, never a silent
    // pass; on a developer's machine without root the tests say they were skipped.
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must run the namespace tests: root={root} ip={ip} ping={ping}"
    );
    if !ok {
        eprintln!("skipped: needs root, iproute2 and ping (iputils-ping)");
    }
    ok
}

pub fn sh(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

pub fn must(args: &[&str]) {
    let o = sh(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// One namespace with its daemon.
pub struct Side {
    pub ns: String,
    pub dir: PathBuf,
    pub daemon: Option<Child>,
}

impl Side {
    pub fn socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    pub fn ubond(&self, args: &[&str]) -> Output {
        Command::new(BIN).arg("--control").arg(self.socket()).args(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ubond(args);
        assert!(o.status.success(), "ubond {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The error line of a failing verb.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.ubond(args);
        assert!(!o.status.success(), "ubond {args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    pub fn ip(&self, args: &[&str]) {
        let mut v = vec!["ip", "-n", &self.ns];
        v.extend_from_slice(args);
        must(&v);
    }

    pub fn report(&self, bond: &str) -> String {
        std::fs::read_to_string(self.dir.join(bond)).unwrap_or_default()
    }

    pub fn start_daemon(&mut self) {
        self.start_daemon_with(&[]);
    }

    /// Starts the daemon with further `daemon` arguments (e.g. `--group`).
    pub fn start_daemon_with(&mut self, extra: &[&str]) {
        self.start_daemon_env(extra, &[]);
    }

    /// Starts the daemon with further `daemon` arguments and environment variables.
    pub fn start_daemon_env(&mut self, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) {
        self.start_daemon_bin(BIN, extra, env);
    }

    /// Starts the daemon of binary `bin` (another build of ubond) with further `daemon`
    /// arguments and environment variables.
    pub fn start_daemon_bin(
        &mut self,
        bin: &str,
        extra: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) {
        let log = std::fs::File::create(self.dir.join("daemon.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, bin, "--control"])
            .arg(self.socket())
            .arg("daemon")
            .args(extra)
            .envs(env.iter().copied())
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

    /// `ubond shutdown`: every bond removed, slaves given back, then the daemon stops; waits
    /// for it. True if it stopped cleanly.
    pub fn shutdown(&mut self) -> bool {
        self.ok(&["shutdown"]);
        self.wait_daemon()
    }

    /// Waits for a daemon told to shut down to exit. True if it stopped cleanly.
    #[allow(dead_code)]
    pub fn shutdown_done(&mut self) -> bool {
        self.wait_daemon()
    }

    /// SIGTERM (by pid), then wait; SIGKILL if it does not stop. True if it stopped cleanly.
    /// The bonds stay for the next daemon.
    pub fn stop_daemon(&mut self) -> bool {
        let Some(child) = self.daemon.as_ref() else { return true };
        let pid = child.id().to_string();
        let _ = sh(&["kill", "-TERM", &pid]);
        self.wait_daemon()
    }

    /// Waits for the daemon to exit; SIGKILL after 10 s. True if it stopped cleanly.
    fn wait_daemon(&mut self) -> bool {
        let Some(mut child) = self.daemon.take() else { return true };
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

pub fn side(test: &str, letter: &str) -> Side {
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
pub fn pair(test: &str) -> (Side, Side) {
    pair_with(test, &[])
}

/// [`pair`] with further `daemon` arguments for both daemons (e.g. `--datapath user`).
pub fn pair_with(test: &str, extra: &[&str]) -> (Side, Side) {
    let mut a = side(test, "a");
    let mut b = side(test, "b");
    for e in ["e1", "e2"] {
        a.ip(&["link", "add", e, "type", "veth", "peer", "name", e, "netns", &b.ns]);
    }
    a.start_daemon_with(extra);
    b.start_daemon_with(extra);
    (a, b)
}

pub fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t0.elapsed()
}

pub fn ping(a: &Side, to: &str) -> bool {
    sh(&["ip", "netns", "exec", &a.ns, "ping", "-c", "3", "-W", "1", "-i", "0.2", to])
        .status
        .success()
}

/// The interface index of `iface` in side `s`'s namespace.
pub fn ifindex(s: &Side, iface: &str) -> u32 {
    let path = format!("/sys/class/net/{iface}/ifindex");
    let o = sh(&["ip", "netns", "exec", &s.ns, "cat", &path]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// The packet sockets of side `s`'s namespace bound to interface `iface`: how many the kernel
/// hands its frames (running, protocol `ETH_P_ALL`), and how many only send (protocol 0, not
/// running), from `/proc/net/packet`.
pub fn packet_sockets(s: &Side, iface: &str) -> (usize, usize) {
    let index = ifindex(s, iface).to_string();
    let o = sh(&["ip", "netns", "exec", &s.ns, "cat", "/proc/net/packet"]);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() >= 9 && c[4] == index)
        .collect();
    let count = |proto: &str, running: &str| {
        rows.iter().filter(|c| c[3] == proto && c[5] == running).count()
    };
    (count("0003", "1"), count("0000", "0"))
}

/// [`packet_sockets`] once `done` holds for them, or as they are after two seconds (the
/// caller's assertions then say what is wrong): the daemon closes the sockets it replaces on
/// a thread of its own, each within tens of milliseconds.
pub fn settled_packet_sockets(
    s: &Side,
    iface: &str,
    done: impl Fn((usize, usize)) -> bool,
) -> (usize, usize) {
    let t0 = Instant::now();
    loop {
        let n = packet_sockets(s, iface);
        if done(n) || t0.elapsed() > Duration::from_secs(2) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The MAC address of `iface` in the side's namespace.
pub fn mac_of(s: &Side, iface: &str) -> String {
    let o = sh(&["ip", "-n", &s.ns, "-br", "link", "show", iface]);
    String::from_utf8_lossy(&o.stdout).split_whitespace().nth(2).unwrap_or("").to_string()
}

/// Runs `f` on a thread inside namespace `ns` (setns): the sockets it opens live there.
pub fn in_netns<T: Send + 'static>(
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

/// The daemon's metrics address inside its namespace (the default of a bare `--metrics`).
pub const METRICS_ADDR: &str = "127.0.0.1:9677";

/// Sends `request` to the metrics listener of the daemon in namespace `ns`; the whole answer.
pub fn http(ns: &str, request: &'static [u8]) -> String {
    use std::io::{Read as _, Write as _};
    in_netns(ns, move || {
        let mut s = std::net::TcpStream::connect(METRICS_ADDR).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    })
    .join()
    .unwrap()
}

/// GET /metrics from the daemon in namespace `ns`: the body, after checking the head.
pub fn scrape(ns: &str) -> String {
    let answer = http(ns, b"GET /metrics HTTP/1.1\r\nHost: ubond\r\nAccept: text/plain\r\n\r\n");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"), "{head}");
    assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())), "{head}");
    body.to_string()
}

/// A BPF file system mounted for one test in the system's mount namespace (so that it outlives
/// each daemon the test starts in `ip netns exec`'s namespaces), unmounted on drop.
pub struct Bpffs {
    pub dir: PathBuf,
}

impl Bpffs {
    pub fn new(test: &str) -> Bpffs {
        let dir = std::env::temp_dir().join(format!("ubond-bpffs-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        must(&["mount", "-t", "bpf", "bpf", dir.to_str().unwrap()]);
        Bpffs { dir }
    }

    /// The daemon's arguments that put its pins there.
    pub fn args(&self) -> [&str; 2] {
        ["--bpffs", self.dir.to_str().unwrap()]
    }

    /// Every pin left (files below the directory).
    pub fn pins(&self) -> Vec<PathBuf> {
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir, &mut out);
        out
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        let _ = sh(&["umount", self.dir.to_str().unwrap()]);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `promtool check metrics` on `text`: `None` without promtool (outside CI; in CI promtool
/// must be there), else its verdict with what it printed.
pub fn promtool_check(text: &str) -> Option<Result<(), String>> {
    use std::io::Write as _;
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have promtool (apt-get install prometheus)"
        );
        eprintln!(
            "skipped the promtool check: promtool is not installed (apt-get install prometheus)"
        );
        return None;
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut said = String::from_utf8_lossy(&out.stdout).into_owned();
    said.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(if out.status.success() { Ok(()) } else { Err(said) })
}
