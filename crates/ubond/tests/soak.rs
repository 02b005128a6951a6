//! A daemon killed (SIGKILL) a hundred times at random moments — while it restores, while it
//! enslaves or releases, while it writes its state file after an option change, or idle — never
//! loses its bond: each next daemon reads the state file, runs the bond again with the slaves
//! it had (an interface caught half-enslaved is given back), and leaves no stray device, pin
//! or program; at the end the bond negotiates and carries traffic, the daemon holds as many
//! file descriptors as one that never died, and `ubond shutdown` gives everything back.
//!
//! The rounds follow a seeded generator (`UBOND_SOAK_SEED`, printed), their number
//! `UBOND_SOAK_ROUNDS` (100). NEEDS ROOT (see support::can_run).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

/// xorshift64*: the rounds' random choices, from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The daemon's open file descriptors, as what each is ("socket", "anon_inode:[eventpoll]",
/// a path), sorted.
fn fds(a: &Side) -> Vec<String> {
    let pid = a.daemon.as_ref().unwrap().id();
    let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| {
            let t = t.to_string_lossy().into_owned();
            // socket:[inode] and the like: the kind, not the number.
            t.split(":[").next().unwrap_or(&t).to_owned()
        })
        .collect();
    v.sort();
    v
}

/// The descriptors A's daemon holds for good: the fewest of its samples over half a second. A
/// report or state file being written (a state file is flushed to the disk, which a busy disk
/// makes slow) holds one more for a while; such passing descriptors only ever add to a sample.
fn lasting_fds(a: &Side) -> Vec<String> {
    let mut fewest = fds(a);
    for _ in 0..25 {
        std::thread::sleep(Duration::from_millis(20));
        let now = fds(a);
        if now.len() < fewest.len() {
            fewest = now;
        }
    }
    fewest
}

/// The slaves of bond0 as the daemon has them (sysfs `slaves`), sorted.
fn slaves(a: &Side) -> Vec<String> {
    let mut v: Vec<String> =
        a.ok(&["get", "bond0", "slaves"]).split_whitespace().map(str::to_owned).collect();
    v.sort();
    v
}

/// The interfaces in A's namespace.
fn links(a: &Side) -> Vec<String> {
    let out = sh(&["ip", "-n", &a.ns, "-o", "link", "show"]);
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_owned())
        .collect();
    v.sort();
    v
}

/// Kills A's daemon (SIGKILL) and reaps it.
fn kill(a: &mut Side) {
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `ubond ARGS` against A's daemon, started and left running (it may be cut off by a kill).
fn spawn_verb(a: &Side, args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .arg("--control")
        .arg(a.socket())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_hundred_kills_at_random_moments_lose_nothing() {
    if !can_run() {
        return;
    }
    let seed = std::env::var("UBOND_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| (u64::from(std::process::id()) * 0x9e37_79b9) | 1);
    let rounds: u32 =
        std::env::var("UBOND_SOAK_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    eprintln!("soak: seed {seed}, {rounds} rounds (UBOND_SOAK_SEED / UBOND_SOAK_ROUNDS)");
    let mut rng = Rng(seed);
    let fs = Bpffs::new("soak");
    let (mut a, b) = pair_with("soak", &fs.args());
    let e2_mac = mac_of(&a, "e2");
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(30), "a ping over the bond", || ping(&a, "192.0.2.2"));
    let fds_at_start = lasting_fds(&a);
    let links_at_start = links(&a);
    let both = vec!["e1".to_string(), "e2".to_string()];
    assert_eq!(slaves(&a), both);

    for round in 0..rounds {
        let before = slaves(&a);
        let what = rng.below(5);
        let mut verb = None;
        match what {
            // Idle.
            0 => {}
            // An option change: the state file is being rewritten.
            1 => {
                let v = ["100", "200", "50"][rng.below(3) as usize];
                verb = Some(spawn_verb(&a, &["set", "bond0", "miimon", v]));
            }
            // e2 released, or enslaved again.
            2 if before.len() == 2 => verb = Some(spawn_verb(&a, &["release", "bond0", "e2"])),
            2 => verb = Some(spawn_verb(&a, &["enslave", "bond0", "e2"])),
            // A slave's option (also a state write).
            3 => {
                verb =
                    Some(spawn_verb(&a, &["set-slave", "e1", "prio", &rng.below(100).to_string()]))
            }
            // Right after the start: during the restore itself.
            _ => {}
        }
        if verb.is_some() {
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        }
        kill(&mut a);
        if let Some(mut v) = verb {
            let _ = v.wait();
        }
        a.start_daemon_with(&fs.args());
        if what == 4 {
            // Killed again while it restores (the socket is published after the restore, so
            // this is at most a few milliseconds after; the next start restores again).
            kill(&mut a);
            a.start_daemon_with(&fs.args());
        }
        let log = std::fs::read_to_string(a.dir.join("daemon.log")).unwrap();
        assert!(
            !log.contains("refused") && !log.contains("cannot run it again"),
            "round {round}: {log}"
        );
        let now = slaves(&a);
        // e1 never leaves; e2 is in the bond or was given back (caught half-enslaved).
        assert!(now == both || now == ["e1"], "round {round} ({what}): slaves {now:?}\n{log}");
        assert_eq!(links(&a), links_at_start, "round {round}: devices");
        if now.len() == 1 {
            // A given-back e2 is as it was found: its own MAC, down, not promiscuous.
            let out = sh(&["ip", "-n", &a.ns, "-d", "link", "show", "e2"]);
            let e2 = String::from_utf8_lossy(&out.stdout).into_owned();
            assert_eq!(mac_of(&a, "e2"), e2_mac, "round {round}: {e2}");
            assert!(!e2.contains(",UP") && e2.contains("promiscuity 0"), "round {round}: {e2}");
        }
    }

    // Back to both slaves, as at the start; the bond negotiates and carries traffic.
    if slaves(&a) != both {
        a.ok(&["enslave", "bond0", "e2"]);
    }
    wait_for(Duration::from_secs(30), "port state 63 on both sides", || {
        [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() == 4)
    });
    wait_for(Duration::from_secs(10), "a ping over the bond", || ping(&a, "192.0.2.2"));
    // A fresh daemon with the same bonds holds as many descriptors as the first one did.
    kill(&mut a);
    a.start_daemon_with(&fs.args());
    // (A file being written holds one more for a while: what it holds between writes.)
    let settled = std::time::Instant::now() + Duration::from_secs(10);
    let mut held = fds(&a);
    while held != fds_at_start && std::time::Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(20));
        held = fds(&a);
    }
    assert_eq!(held, fds_at_start, "file descriptors");
    // One pinned link per interface in use: bond0's egress, e1's and e2's ingress (and the
    // descriptors above hold three links, as the first daemon's did: none of an earlier one).
    let ours: Vec<String> = fs
        .pins()
        .iter()
        .filter(|p| p.to_string_lossy().contains(&a.ns))
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|n| n.starts_with("link-"))
        .collect();
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert!(a.shutdown());
    let left: Vec<_> =
        fs.pins().into_iter().filter(|p| p.to_string_lossy().contains(&a.ns)).collect();
    assert!(left.is_empty(), "pins left: {left:?}");
    assert!(!links(&a).iter().any(|l| l.starts_with("bond0")), "{:?}", links(&a));
}
