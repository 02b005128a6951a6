//! Root tests of the in-kernel fast path (`ubond daemon --datapath bpf`): the member each frame
//! leaves on is the one `ubond_core::hash::xmit_hash` picks, bit for bit, for every policy; a
//! killed daemon leaves no program behind; a bond that turns to the ARP monitor goes back to
//! the userspace path without losing its traffic.
//!
//! Namespaces `ubd-<pid>-<test>-a/b`, addresses in 192.0.2.0/24 and 198.18.0.0/15 only; drop
//! guards stop the daemons (by pid) and delete the namespaces even on failure.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ubond_core::hash::{xmit_hash, XmitHashPolicy};
use ubond_sys::bpf::{tcx_programs, Hook, BUILT};
use ubond_sys::{PacketOptions, PacketSocket};

mod support;

use support::bonding::{slave_mii, wait_report};
use support::frames::*;
use support::*;

/// Whether the fast path can be tested here; in CI it must be.
fn fast_path_built() -> bool {
    assert!(BUILT || std::env::var_os("CI").is_none(), "CI must build the BPF programs (clang)");
    if !BUILT {
        eprintln!("skipped: this build has no BPF programs (no clang at build time)");
    }
    BUILT
}

fn tap_tx_packets(s: &Side) -> u64 {
    let o =
        sh(&["ip", "netns", "exec", &s.ns, "cat", "/sys/class/net/bond0/statistics/tx_packets"]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0)
}

const MEMBERS: [&str; 3] = ["e1", "e2", "e3"];

/// Sides A and B of `test`, joined by the veth pairs [`MEMBERS`] (up on B's side).
fn member_sides(test: &str) -> (Side, Side) {
    let a = side(test, "a");
    let b = side(test, "b");
    for m in MEMBERS {
        a.ip(&["link", "add", m, "type", "veth", "peer", "name", m, "netns", &b.ns]);
        b.ip(&["link", "set", m, "up"]);
    }
    (a, b)
}

/// Sends `frames` on `dev` in A's namespace (one VLAN device or the bond itself) and returns,
/// per frame number, the member of B's side it arrived on.
fn send_and_watch(a: &Side, b: &Side, dev: &str, frames: Vec<Vec<u8>>) -> HashMap<u32, usize> {
    let mut seen = HashMap::new();
    for (id, m) in send_and_collect(a, b, dev, frames, 1) {
        assert!(seen.insert(id, m).is_none(), "frame {id} arrived twice");
    }
    seen
}

/// Sends `frames` on `dev` in A's namespace and returns every (frame number, member of B's
/// side) arrival, once `copies` per frame have arrived (and no other for 300 ms) or 5 s have
/// passed.
fn send_and_collect(
    a: &Side,
    b: &Side,
    dev: &str,
    frames: Vec<Vec<u8>>,
    copies: usize,
) -> Vec<(u32, usize)> {
    let want = frames.len() * copies;
    let frames = frames.into_iter().map(|f| (dev.to_string(), f)).collect();
    support::frames::send_and_watch(&a.ns, &b.ns, &MEMBERS, true, frames, want)
}

/// Three members, balance-xor, every hash policy: each frame leaves on the member
/// `xmit_hash(policy, frame) % 3` names (the frame as the bond sends it; a VLAN device's tag
/// in-line), and the frames did not go through the daemon (the tap's fd counts none).
#[test]
fn fast_path_picks_the_member_xmit_hash_picks_for_every_policy() {
    if !can_run() || !fast_path_built() {
        return;
    }
    let (mut a, b) = member_sides("fphash");
    a.start_daemon_with(&["--datapath", "bpf"]);
    let mut rng = Rng(0x5eed_f00d);
    let mut next_id = 0u32;
    for policy in XmitHashPolicy::ALL {
        let p = format!("xmit_hash_policy={policy}");
        a.ok(&["add", "bond0", "mode=balance-xor", "miimon=100", &p]);
        a.ok(&["enslave", "bond0", "e1", "e2", "e3"]);
        // A VLAN device on the bond: its frames reach the tap with the tag in the skb's
        // metadata. Kernels without 8021q have none; the in-line tags are tested anyway.
        let vlan = sh(&[
            "ip",
            "-n",
            &a.ns,
            "link",
            "add",
            "link",
            "bond0",
            "name",
            "bond0.100",
            "type",
            "vlan",
            "id",
            "100",
        ])
        .status
        .success();
        if vlan {
            a.ip(&["link", "set", "bond0.100", "up"]);
        } else if policy == XmitHashPolicy::Layer2 {
            eprintln!("no VLAN devices here (8021q): accelerated tags not tested");
        }
        wait_for(Duration::from_secs(10), "the bond and its three members up", || {
            a.report("bond0").matches("MII Status: up").count() >= 4
        });
        for (dev, count) in [("bond0", 400), ("bond0.100", 100)] {
            if dev == "bond0.100" && !vlan {
                continue;
            }
            let frames: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    next_id += 1;
                    let mut f = frame(&mut rng, next_id);
                    if dev == "bond0.100" && f[12..14] == [0x81, 0x00] {
                        f[12..14].copy_from_slice(&[0x08, 0x00]); // one tag is enough here
                    }
                    f
                })
                .collect();
            // What the bond transmits: a VLAN device's frames carry its tag after the MACs.
            let expect: HashMap<u32, usize> = frames
                .iter()
                .map(|f| {
                    let mut sent = f.clone();
                    if dev == "bond0.100" {
                        sent.splice(12..12, [0x81, 0x00, 0x00, 100]);
                    }
                    let member = (xmit_hash(policy, &sent, None) % 3) as usize;
                    (id_of(f).unwrap(), member)
                })
                .collect();
            let tx0 = tap_tx_packets(&a);
            let seen = send_and_watch(&a, &b, dev, frames);
            let through_daemon = tap_tx_packets(&a) - tx0;
            assert!(
                seen.len() * 100 >= expect.len() * 95,
                "{policy} on {dev}: {} of {} frames arrived",
                seen.len(),
                expect.len()
            );
            let wrong: Vec<_> = seen
                .iter()
                .filter(|(id, m)| expect.get(id) != Some(m))
                .map(|(id, m)| (*id, MEMBERS[*m], expect.get(id).map(|e| MEMBERS[*e])))
                .collect();
            assert!(wrong.is_empty(), "{policy} on {dev}: (frame, left on, expected): {wrong:?}");
            let used = (0..3).filter(|m| seen.values().any(|v| v == m)).count();
            assert!(used >= 2, "{policy} on {dev}: all frames on one member");
            // A few of the bond's own frames (IPv6 ND, MLD) may cross the daemon; ours did not.
            assert!(
                through_daemon < 20,
                "{policy} on {dev}: {through_daemon} frames went through the daemon"
            );
        }
        a.ok(&["del", "bond0"]);
    }
}

/// The other modes the fast path serves: active-backup sends everything on the active member,
/// balance-rr spreads frames over all of them, broadcast sends each frame on every member; and
/// none of it crosses the daemon.
#[test]
fn fast_path_modes_send_where_the_mode_says() {
    modes_send_where_the_mode_says("fpmodes", Hook::Auto);
}

/// The same with the programs in `clsact` filters, as on kernels before TCX (Linux 6.6).
#[test]
fn fast_path_modes_send_where_the_mode_says_from_clsact_filters() {
    modes_send_where_the_mode_says("fpmodescls", Hook::Clsact);
}

fn modes_send_where_the_mode_says(test: &str, hook: Hook) {
    if !can_run() || !fast_path_built() {
        return;
    }
    let (mut a, b) = member_sides(test);
    a.start_daemon_with(&["--datapath", "bpf", "--tc-hook", hook.name()]);
    let mut rng = Rng(0xb0d5);
    let mut next_id = 0u32;
    for mode in ["active-backup", "balance-rr", "broadcast"] {
        a.ok(&["add", "bond0", &format!("mode={mode}"), "miimon=100"]);
        a.ok(&["enslave", "bond0", "e1", "e2", "e3"]);
        wait_for(Duration::from_secs(10), "the bond and its three members up", || {
            a.report("bond0").matches("MII Status: up").count() >= 4
        });
        let frames: Vec<Vec<u8>> = (0..300)
            .map(|_| {
                next_id += 1;
                frame(&mut rng, next_id)
            })
            .collect();
        let n = frames.len();
        let copies = if mode == "broadcast" { 3 } else { 1 };
        let tx0 = tap_tx_packets(&a);
        if hook == Hook::Clsact {
            assert_eq!(programs(&a, "bond0", hook), (0, 1), "the filter on bond0");
            assert_eq!(programs(&a, "bond0", Hook::Tcx), (0, 0), "no TCX link on bond0");
        }
        let got = send_and_collect(&a, &b, "bond0", frames, copies);
        assert!(tap_tx_packets(&a) - tx0 < 20, "{mode}: frames went through the daemon");
        assert!(got.len() * 100 >= n * copies * 95, "{mode}: {} arrivals of {}", got.len(), n);
        let per_member: Vec<usize> =
            (0..3).map(|m| got.iter().filter(|(_, g)| *g == m).count()).collect();
        match mode {
            "active-backup" => {
                let active = a.ok(&["get", "bond0", "active_slave"]).trim().to_string();
                let i = MEMBERS.iter().position(|m| *m == active).unwrap();
                assert_eq!(per_member[i], got.len(), "{mode}: all on {active}: {per_member:?}");
            }
            "balance-rr" => {
                // One counter per CPU: the sender may move, so not strictly in turn.
                assert!(per_member.iter().all(|&c| c >= n / 6), "{mode}: {per_member:?}");
            }
            _ => {
                for id in got.iter().map(|(id, _)| *id) {
                    let members: Vec<usize> =
                        got.iter().filter(|(i, _)| *i == id).map(|(_, m)| *m).collect();
                    assert_eq!(members.len(), 3, "{mode}: frame {id} on {members:?}");
                }
            }
        }
        a.ok(&["del", "bond0"]);
    }
    if hook == Hook::Clsact {
        let e1 = sh(&["tc", "-n", &a.ns, "qdisc", "show", "dev", "e1"]);
        let e1 = String::from_utf8_lossy(&e1.stdout);
        assert!(!e1.contains("clsact"), "the clsact qdisc stays after the bond: {e1}");
    }
}

/// How many TCX programs (`hook` [`Hook::Tcx`] or [`Hook::Auto`]) or ubond `clsact` filters
/// (`hook` [`Hook::Clsact`]) `iface` in `s`'s namespace has at ingress and at egress.
fn programs(s: &Side, iface: &str, hook: Hook) -> (usize, usize) {
    if hook == Hook::Clsact {
        let handle = format!("handle {:#x}", ubond_sys::bpf::TC_HANDLE);
        let count = |dir: &str| {
            let out = sh(&["tc", "-n", &s.ns, "filter", "show", "dev", iface, dir]);
            assert!(out.status.success(), "tc: {}", String::from_utf8_lossy(&out.stderr));
            let out = String::from_utf8_lossy(&out.stdout);
            out.lines().filter(|l| l.contains(" bpf ") && l.contains(&handle)).count()
        };
        return (count("ingress"), count("egress"));
    }
    let iface = iface.to_string();
    in_netns(&s.ns, move || {
        (tcx_programs(&iface, true).unwrap(), tcx_programs(&iface, false).unwrap())
    })
    .join()
    .unwrap()
}

#[test]
fn a_killed_daemons_programs_keep_forwarding_until_the_next_replaces_them() {
    killed_daemons_programs_keep_forwarding("fpkill", Hook::Auto);
}

/// The same with the programs in `clsact` filters, as on kernels before TCX (Linux 6.6): the
/// filters stay with no daemon, and the next daemon replaces each filter's program in place.
#[test]
fn a_killed_daemons_clsact_filters_keep_forwarding_until_the_next_replaces_them() {
    killed_daemons_programs_keep_forwarding("fpkillcls", Hook::Clsact);
}

fn killed_daemons_programs_keep_forwarding(test: &str, hook: Hook) {
    if !can_run() || !fast_path_built() {
        return;
    }
    let programs = |s: &Side, iface: &str| programs(s, iface, hook);
    let fs = Bpffs::new(test);
    let mut args = vec!["--datapath", "bpf", "--tc-hook", hook.name()];
    args.extend(fs.args());
    let (mut a, b) = pair_with(test, &args);
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["add", "bond0", "mode=balance-xor", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    assert_eq!(programs(&a, "e1"), (1, 0), "the receive program on e1");
    assert_eq!(programs(&a, "e2"), (1, 0), "the receive program on e2");
    assert_eq!(programs(&a, "bond0"), (0, 1), "the transmit program on bond0");
    wait_for(Duration::from_secs(10), "a ping over the fast path", || ping(&a, "192.0.2.2"));

    // SIGKILL: the pinned programs stay, and forward with no daemon running.
    let mut child = a.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(programs(&a, "e1"), (1, 0));
    assert_eq!(programs(&a, "bond0"), (0, 1));
    assert!(ping(&a, "192.0.2.2"), "a ping with no daemon on A");

    // The next daemon puts its own programs in their place: one on each, not two.
    a.start_daemon_with(&args);
    assert_eq!(a.ok(&["get", "bond0", "slaves"]).trim(), "e1 e2");
    wait_for(Duration::from_secs(5), "one program on each interface", || {
        programs(&a, "e1") == (1, 0)
            && programs(&a, "e2") == (1, 0)
            && programs(&a, "bond0") == (0, 1)
    });
    assert!(ping(&a, "192.0.2.2"));
    if hook == Hook::Clsact {
        // A daemon of the other hook (a kernel that gained TCX) takes over: its links in
        // place, it removes the filters the earlier daemon marked; and back again.
        for (now, before) in [(Hook::Tcx, Hook::Clsact), (Hook::Clsact, Hook::Tcx)] {
            let mut child = a.daemon.take().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            let mut other = vec!["--datapath", "bpf", "--tc-hook", now.name()];
            other.extend(fs.args());
            a.start_daemon_with(&other);
            wait_for(Duration::from_secs(5), "the programs of the new hook only", || {
                ["e1", "e2"].iter().all(|m| {
                    crate::programs(&a, m, now) == (1, 0)
                        && crate::programs(&a, m, before) == (0, 0)
                }) && crate::programs(&a, "bond0", now) == (0, 1)
                    && crate::programs(&a, "bond0", before) == (0, 0)
            });
            assert!(ping(&a, "192.0.2.2"), "a ping with the {} hook", now.name());
        }
    }
    // A release takes its program off; `ubond shutdown` takes every one off, and the pins.
    a.ok(&["release", "bond0", "e2"]);
    wait_for(Duration::from_secs(5), "no program on e2", || programs(&a, "e2") == (0, 0));
    assert!(a.shutdown());
    wait_for(Duration::from_secs(5), "no program left", || programs(&a, "e1") == (0, 0));
    let instance: String = a
        .dir
        .to_string_lossy()
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    let left: Vec<_> =
        fs.pins().into_iter().filter(|p| p.to_string_lossy().contains(&instance)).collect();
    assert!(left.is_empty(), "A's pins left after shutdown: {left:?}");
}

#[test]
fn a_bond_turning_to_the_arp_monitor_stays_on_the_fast_path_and_its_monitor_hears() {
    if !can_run() || !fast_path_built() {
        return;
    }
    let (a, b) = pair_with("fparp", &["--datapath", "bpf"]);
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["add", "bond0", "mode=balance-xor", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(10), "a ping over the fast path", || ping(&a, "192.0.2.2"));
    let log = || std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log().contains("bond0: data path: bpf"), "{}", log());
    // No --bpffs, and `ip netns exec` gave the daemon a /sys without a bpffs: it mounted one
    // there and pinned into it; and said that its pins live as long as its mount namespace,
    // when it can tell (where process 1's namespace cannot be read, as in some containers, it
    // cannot).
    if std::fs::read_link("/proc/1/ns/mnt").is_ok() {
        assert!(log().contains("runs in a mount namespace of its own"), "{}", log());
    }
    let pid = a.daemon.as_ref().unwrap().id().to_string();
    let in_daemons_mounts = |cmd: &[&str]| {
        let o = sh(&[&["nsenter", "-t", &pid, "-m"][..], cmd].concat());
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(in_daemons_mounts(&["stat", "-f", "-c", "%T", "/sys/fs/bpf"]).trim(), "bpf_fs");
    let pins = in_daemons_mounts(&["find", "/sys/fs/bpf/ubond", "-type", "f"]);
    assert!(pins.lines().count() >= 3, "the links of e1, e2 and bond0 pinned: {pins}");
    let tx0 = tap_tx_packets(&a);
    assert!(ping(&a, "192.0.2.2"));
    assert!(tap_tx_packets(&a) - tx0 < 3, "pings crossed the daemon on the fast path");

    a.ok(&["set", "bond0", "arp_ip_target", "+192.0.2.2"]);
    a.ok(&["set", "bond0", "arp_interval", "100"]);
    assert!(!log().contains("data path: userspace"), "{}", log());
    // The monitor hears the replies (the packet socket reads ARP) and the kernel's receive
    // times: the bond and the member B answers on stay up (balance-xor: the other may hear
    // nothing, and go down, as with Linux's load-balancing ARP monitor).
    std::thread::sleep(Duration::from_millis(1500));
    let report = a.report("bond0");
    assert!(report.contains("ARP Polling Interval (ms): 100"), "{report}");
    assert!(report.matches("MII Status: up").count() >= 2, "{report}");
    let tx0 = tap_tx_packets(&a);
    assert!(ping(&a, "192.0.2.2"));
    assert!(tap_tx_packets(&a) - tx0 < 3, "pings crossed the daemon with the ARP monitor");
    // Traffic keeps a member up without any reply of its own (arp_validate none: every frame
    // counts). A's probes are answered on the member B's hash picks; the other hears nothing
    // from B and goes down. Frames B sends on that member, none of them ARP, bring it up and
    // keep it up; once they stop, it goes down again.
    let mut silent = "";
    wait_for(Duration::from_secs(5), "the member that hears no reply to go down", || {
        let r = a.report("bond0");
        silent = ["e1", "e2"].into_iter().find(|e| slave_mii(&r, e) == "down").unwrap_or("");
        !silent.is_empty()
    });
    let sending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sender = {
        let bytes = |mac: String| -> Vec<u8> {
            mac.split(':').map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
        };
        let (to, from) = (bytes(mac_of(&a, "bond0")), bytes(mac_of(&b, "bond0")));
        let (sending, silent) = (sending.clone(), silent.to_string());
        in_netns(&b.ns, move || {
            let opts = PacketOptions { slow_protocols: false, ..Default::default() };
            let s = PacketSocket::open(&silent, opts).unwrap();
            // A local experimental EtherType: a frame no monitor or stack answers.
            let mut frame = [to, from].concat();
            frame.extend_from_slice(&[0x88, 0xb5]);
            frame.resize(60, 0);
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                s.send(&frame).unwrap();
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let mii = || slave_mii(&a.report("bond0"), silent);
    wait_for(Duration::from_secs(3), "B's frames to bring the silent member up", || mii() == "up");
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(mii(), "up", "{silent} while B sends on it: {}", a.report("bond0"));
    }
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    wait_for(Duration::from_secs(3), "the silent member down again", || mii() == "down");

    // And back.
    a.ok(&["set", "bond0", "arp_interval", "0"]);
    a.ok(&["set", "bond0", "miimon", "100"]);
    wait_for(Duration::from_secs(10), "a ping over the fast path again", || ping(&a, "192.0.2.2"));
    assert!(!log().contains("data path: userspace"), "{}", log());
}

/// A broadcast bond the fast path cannot hold (more slaves than its maps have room for) goes
/// to the userspace path, and back once it can: on the fast path the threads' sockets on a
/// slave only send (the kernel hands them no frame: no fanout hash, no filter per frame), on
/// the userspace path they are a fanout group that takes the slave's frames, and the userspace
/// path's tc filters run behind the fast path's idle programs; pings cross the bond
/// throughout.
#[test]
fn a_bond_the_fast_path_cannot_hold_goes_to_the_data_threads_and_back() {
    fast_path_cannot_hold("fpback", Hook::Tcx);
}

/// The same with the fast path's programs as clsact filters.
#[test]
fn a_bond_the_fast_path_cannot_hold_goes_to_the_data_threads_and_back_from_clsact_filters() {
    fast_path_cannot_hold("fpbackcls", Hook::Clsact);
}

fn fast_path_cannot_hold(test: &str, hook: Hook) {
    if !can_run() || !fast_path_built() {
        return;
    }
    let (a, b) = pair_with(test, &["--datapath", "bpf", "--tc-hook", hook.name()]);
    for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
        s.ok(&["add", "bond0", "mode=broadcast", "miimon=100"]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", addr, "dev", "bond0"]);
    }
    wait_for(Duration::from_secs(10), "a ping over the fast path", || ping(&a, "192.0.2.2"));
    let log = || std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    assert!(log().contains("bond0: data path: bpf"), "{}", log());
    // The control plane's socket, and the threads' that only send.
    let (listening, threads) = settled_packet_sockets(&a, "e1", |(l, t)| l == 1 && t >= 1);
    assert_eq!(listening, 1, "the control plane's socket only");
    assert!(threads >= 1, "the data threads' sockets only send: {threads}");

    // 15 more slaves (veth pairs inside A, down: no carrier): 17, one more than the maps hold.
    let extra: Vec<String> = (0..15).map(|i| format!("x{i}")).collect();
    for x in &extra {
        a.ip(&["link", "add", x, "type", "veth", "peer", "name", &format!("y{x}")]);
    }
    let names: Vec<&str> = extra.iter().map(String::as_str).collect();
    a.ok(&[&["enslave", "bond0"][..], &names].concat());
    wait_for(Duration::from_secs(5), "the bond on the userspace path", || {
        log().contains("bond0: data path: userspace (more slaves than the fast path holds)")
    });
    let pinged = ping(&a, "192.0.2.2");
    assert!(pinged, "a ping through the data threads: {}", log());
    // tc hands the bond every frame but TCP (broadcast's copies: `RxMatch::AllButTcp`); the
    // threads take the rest of the TCP, as a group again.
    let (listening, sending) = settled_packet_sockets(&a, "e1", |n| n == (1 + threads, 0));
    assert_eq!((listening, sending), (1 + threads, 0), "the threads' sockets take frames");

    a.ok(&[&["release", "bond0"][..], &names].concat());
    wait_for(Duration::from_secs(5), "the bond on the fast path again", || {
        log().matches("bond0: data path: bpf").count() >= 2
    });
    assert!(ping(&a, "192.0.2.2"), "a ping over the fast path again");
    let (listening, sending) = settled_packet_sockets(&a, "e1", |n| n == (1, threads));
    assert_eq!(listening, 1, "the control plane's socket only, again");
    assert_eq!(sending, threads, "the data threads' sockets only send again");
    drop(b);
}

/// balance-tlb, balance-alb and active-backup with the ARP monitor between two daemons whose
/// members meet on a Linux bridge (the switch these modes expect: a backup member of balance-tlb
/// receives nothing for the bond): the data frames take the fast path (none crosses the tap's
/// descriptor but ARP, which balance-alb's receive balancing rewrites), the ARP monitor keeps
/// the members up, and balance-alb's ARP handling still works (the peer learns the address of
/// one of the bond's members).
#[test]
fn tlb_alb_and_arp_monitored_bonds_forward_in_the_kernel() {
    if !can_run() || !fast_path_built() {
        return;
    }
    let mut a = side("fpalb", "a");
    let mut b = side("fpalb", "b");
    let sw = side("fpalb", "s");
    sw.ip(&["link", "add", "br0", "type", "bridge"]);
    sw.ip(&["link", "set", "br0", "up"]);
    for (s, letter) in [(&a, "a"), (&b, "b")] {
        for e in ["e1", "e2"] {
            let port = format!("{letter}{e}");
            sw.ip(&["link", "add", &port, "type", "veth", "peer", "name", e, "netns", &s.ns]);
            sw.ip(&["link", "set", &port, "master", "br0"]);
            sw.ip(&["link", "set", &port, "up"]);
        }
    }
    a.start_daemon_with(&["--datapath", "bpf"]);
    b.start_daemon_with(&["--datapath", "bpf"]);
    let log = || std::fs::read_to_string(a.dir.join("daemon.log")).unwrap_or_default();
    for mode in [
        &["mode=balance-tlb", "miimon=100"][..],
        &["mode=balance-alb", "miimon=100"][..],
        &["mode=active-backup", "arp_interval=100", "arp_ip_target=192.0.2.2"][..],
    ] {
        for (s, addr) in [(&a, "192.0.2.1/24"), (&b, "192.0.2.2/24")] {
            let mut args = vec!["add", "bond0"];
            args.extend_from_slice(mode);
            s.ok(&args);
            s.ok(&["enslave", "bond0", "e1", "e2"]);
            s.ip(&["addr", "add", addr, "dev", "bond0"]);
        }
        let what = format!("a ping, {mode:?}");
        wait_for(Duration::from_secs(10), &what, || ping(&a, "192.0.2.2"));
        assert!(!log().contains("data path: userspace"), "{mode:?}: {}", log());
        let tx0 = tap_tx_packets(&a);
        let flood = sh(&[
            "ip",
            "netns",
            "exec",
            &a.ns,
            "ping",
            "-c",
            "200",
            "-i",
            "0.002",
            "-q",
            "192.0.2.2",
        ]);
        assert!(flood.status.success(), "{mode:?}: {}", String::from_utf8_lossy(&flood.stdout));
        let crossed = tap_tx_packets(&a) - tx0;
        assert!(crossed < 20, "{mode:?}: {crossed} of 200 pings crossed the daemon");
        // Long enough for a monitor that hears nothing to take its members down; then the bond
        // and both members up (a backup member of the ARP monitor comes up once it hears the
        // active one's probes through the bridge, which a loaded machine may delay).
        std::thread::sleep(Duration::from_millis(1000));
        let what = format!("the bond and both members up, {mode:?}");
        wait_report(&a, "bond0", Duration::from_secs(10), &what, |r| {
            r.matches("MII Status: up").count() == 3
        });
        if mode[0] == "mode=balance-alb" {
            // B learnt A's address from an ARP A's daemon sent (or rewrote) for a member.
            let neigh = sh(&["ip", "-n", &b.ns, "neigh", "show", "192.0.2.1"]);
            let neigh = String::from_utf8_lossy(&neigh.stdout).to_string();
            let members = [mac_of(&a, "e1"), mac_of(&a, "e2"), mac_of(&a, "bond0")];
            assert!(members.iter().any(|m| neigh.contains(m.as_str())), "{neigh} {members:?}");
        }
        for s in [&a, &b] {
            s.ok(&["del", "bond0"]);
        }
    }
}

/// A frame for balance-tlb/alb's rules: one of [`frame`]'s, or one of the kinds these modes
/// treat apart (broadcast, multicast and all-nodes destinations, IGMP, an IPv4 broadcast, IPv6
/// neighbour discovery, a DAD probe, ARP).
fn tlb_frame(rng: &mut Rng, id: u32) -> Vec<u8> {
    let mut f = frame(rng, id);
    match rng.next() % 12 {
        0 => f[..6].copy_from_slice(&[0xff; 6]),
        1 => f[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0, 0, rng.byte()]),
        2 if f[12..14] == [0x86, 0xdd] => f[..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]),
        3 if f[12..14] == [0x08, 0x00] => f[14 + 9] = 2, // IGMP
        4 if f[12..14] == [0x08, 0x00] => f[14 + 16..14 + 20].copy_from_slice(&[0xff; 4]),
        5 if f[12..14] == [0x86, 0xdd] => {
            // A Neighbor Solicitation or Advertisement.
            f[14 + 6] = 58;
            f[14 + 40] = 135 + (rng.byte() & 1);
        }
        6 if f[12..14] == [0x86, 0xdd] => f[14 + 8..14 + 24].fill(0), // DAD: no source
        7 => {
            let mut arp = f[..12].to_vec();
            arp.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2]);
            arp.extend_from_slice(&rng.bytes::<20>());
            arp.extend_from_slice(MAGIC);
            arp.extend_from_slice(&id.to_le_bytes());
            f = arp;
        }
        _ => {}
    }
    f
}

/// Sends `frames` on `dev` in A's namespace and returns every arrival that carries a marker:
/// (frame number, interface, the frame as received), on B's `watch_b` and A's `watch_a`
/// interfaces, until nothing more arrives for 300 ms after the last send (or 30 s pass).
fn send_and_capture(
    a: &Side,
    b: &Side,
    dev: &str,
    frames: Vec<Vec<u8>>,
    watch_a: &[&str],
    watch_b: &[&str],
) -> Vec<(u32, String, Vec<u8>)> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let sent = Arc::new(AtomicBool::new(false));
    let mut watchers = Vec::new();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for (ns, names) in [(&a.ns, watch_a), (&b.ns, watch_b)] {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let (sent, ready_tx) = (sent.clone(), ready_tx.clone());
        watchers.push(in_netns(ns, move || {
            let opts =
                PacketOptions { promiscuous: true, slow_protocols: false, ..Default::default() };
            let socks: Vec<PacketSocket> =
                names.iter().map(|m| PacketSocket::open(m, opts).unwrap()).collect();
            for s in &socks {
                s.set_recv_buffer(8 << 20).unwrap();
            }
            ready_tx.send(()).unwrap();
            let mut seen = Vec::new();
            let mut buf = vec![0u8; 9000];
            let t0 = Instant::now();
            let mut quiet_since: Option<Instant> = None;
            while t0.elapsed() < Duration::from_secs(30) {
                let mut idle = true;
                for (i, s) in socks.iter().enumerate() {
                    while let Ok(Some(n)) = s.recv(&mut buf) {
                        if let Some(id) = id_of(&buf[..n]) {
                            idle = false;
                            seen.push((id, names[i].clone(), buf[..n].to_vec()));
                        }
                    }
                }
                if !idle || !sent.load(Ordering::SeqCst) {
                    quiet_since = None;
                } else if quiet_since.get_or_insert_with(Instant::now).elapsed()
                    > Duration::from_millis(300)
                {
                    break;
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            seen
        }));
    }
    for _ in 0..2 {
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    let dev = dev.to_string();
    in_netns(&a.ns, move || {
        let opts = PacketOptions { slow_protocols: false, ..Default::default() };
        let s = PacketSocket::open(&dev, opts).unwrap();
        for f in &frames {
            // A frame the program drops is refused at once (ENOBUFS): a few tries only.
            for _ in 0..5 {
                if s.send(f).unwrap() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    })
    .join()
    .unwrap();
    sent.store(true, std::sync::atomic::Ordering::SeqCst);
    watchers.into_iter().flat_map(|w| w.join().unwrap()).collect()
}

/// What the test asks of the thread that holds the programs in A's namespace.
enum TlbCmd {
    /// Write this bond configuration (fresh counters).
    Set(Box<ubond_sys::bpf::BondConfig>),
    /// Read the bytes counted per bucket.
    Read,
}

/// balance-tlb (every policy, `tlb_dynamic_lb` on and off) and balance-alb with random
/// transmit tables written straight into the programs' map: every frame leaves on the member
/// `TxPlan::decide` picks, with the source address it writes; a frame the core drops never
/// leaves; a frame left to the daemon (balance-alb's ARP, an in-line tag to hash) goes on
/// through the bond device unchanged; and the bytes the kernel counts per bucket are those the
/// core counts.
#[test]
fn fast_path_follows_tlb_and_alb_tables_as_the_core_does() {
    use ubond_core::bond::tlb::{AlbMode, TlbLoad, TlbTable, TLB_HASH_TABLE_SIZE};
    use ubond_core::bond::{SlaveId, TxCursor, TxDecision, TxPlan};
    use ubond_core::options::Mode;
    use ubond_sys::bpf::{BondConfig, FastPath, TlbConfig};
    use ubond_wire::MacAddr;
    if !can_run() || !fast_path_built() {
        return;
    }
    let (a, b) = member_sides("fptlb");
    for m in MEMBERS {
        a.ip(&["link", "set", m, "up"]);
    }
    // The "bond": any device will do for its egress program; its peer sees what is punted.
    a.ip(&["link", "add", "bond0", "type", "veth", "peer", "name", "bond0p"]);
    // No frames of the host's own on it (IPv6's MLD and router solicitations) in the counts.
    must(&["ip", "netns", "exec", &a.ns, "sysctl", "-qw", "net.ipv6.conf.bond0.disable_ipv6=1"]);
    a.ip(&["link", "set", "bond0", "up"]);
    a.ip(&["link", "set", "bond0p", "up"]);

    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel::<TlbCmd>();
    let (reply_tx, reply_rx) = std::sync::mpsc::channel();
    let holder = in_netns(&a.ns, move || {
        let mut fp = FastPath::load(None, ubond_sys::bpf::Hook::Auto).unwrap();
        let _link = fp.attach_tap("bond0").unwrap();
        let tap = ubond_sys::link::ifindex("bond0").unwrap();
        let members: Vec<u32> =
            MEMBERS.iter().map(|m| ubond_sys::link::ifindex(m).unwrap()).collect();
        reply_tx.send(Err(members)).unwrap();
        while let Ok(cmd) = cmd_rx.recv() {
            match cmd {
                TlbCmd::Set(cfg) => {
                    fp.remove_bond(tap);
                    fp.set_bond(tap, &cfg).unwrap();
                    reply_tx.send(Ok(None)).unwrap();
                }
                TlbCmd::Read => reply_tx.send(Ok(fp.tlb_load(tap).unwrap())).unwrap(),
            }
        }
    });
    let Err(ifindexes) = reply_rx.recv().unwrap() else { panic!("no ifindexes") };
    let ids = [SlaveId(1), SlaveId(2), SlaveId(3)];
    let macs: Vec<MacAddr> = (1..=3).map(|i| MacAddr([0x02, 0xaa, 0, 0, 0, i])).collect();

    let mut rng = Rng(0x71b_a1b);
    let mut next_id = 0u32;
    let mut cases: Vec<(AlbMode, bool, XmitHashPolicy)> = Vec::new();
    for policy in XmitHashPolicy::ALL {
        cases.push((AlbMode::Tlb, true, policy));
    }
    cases.push((AlbMode::Tlb, false, XmitHashPolicy::Layer34));
    cases.push((AlbMode::Alb, true, XmitHashPolicy::Layer2));
    cases.push((AlbMode::Alb, true, XmitHashPolicy::Layer34));
    for (round, (mode, dynamic, policy)) in cases.into_iter().enumerate() {
        // A random table: buckets on any slave or none, an active slave (none once).
        let mut table = TlbTable::empty(mode);
        table.dynamic = dynamic;
        table.policy = policy;
        for bucket in table.buckets.iter_mut() {
            let r = rng.next() % 10;
            *bucket = if r == 0 { None } else { Some(ids[(r % 3) as usize]) };
        }
        table.active = if round == 3 { None } else { Some(ids[(rng.next() % 3) as usize]) };
        table.usable = ids.iter().copied().filter(|_| rng.next() % 4 != 0).collect();
        table.macs = ids.iter().copied().zip(macs.iter().copied()).collect();
        let slot = |s: SlaveId| (s.0 - 1) as u8;
        let mut buckets = [None; TLB_HASH_TABLE_SIZE];
        for (b, s) in buckets.iter_mut().zip(table.buckets.iter()) {
            *b = s.map(slot);
        }
        let cfg = BondConfig {
            enabled: true,
            mode: if mode == AlbMode::Alb { 6 } else { 5 },
            policy: u32::from(policy.number()),
            packets_per_slave: 1,
            igmp_ifindex: 0,
            slaves: ifindexes.clone(),
            tlb: Some(TlbConfig {
                alb: mode == AlbMode::Alb,
                dynamic,
                slots: ifindexes.iter().zip(macs.iter()).map(|(&i, m)| (i, Some(m.0))).collect(),
                active: table.active.map(slot),
                usable: table.usable.iter().map(|&s| slot(s)).collect(),
                buckets,
            }),
        };
        cmd_tx.send(TlbCmd::Set(Box::new(cfg))).unwrap();
        reply_rx.recv().unwrap().unwrap();

        let mode_name = if mode == AlbMode::Alb { Mode::BalanceAlb } else { Mode::BalanceTlb };
        let plan = TxPlan { tlb: Some(table), ..TxPlan::empty(mode_name) };
        let frames: Vec<Vec<u8>> = (0..300)
            .map(|_| {
                next_id += 1;
                tlb_frame(&mut rng, next_id)
            })
            .collect();
        let mut cursor = TxCursor::default();
        let expect: HashMap<u32, (TxDecision, Vec<u8>)> = frames
            .iter()
            .map(|f| {
                let mut sent = f.clone();
                let d = plan.decide(&mut sent, &mut cursor);
                (id_of(f).unwrap(), (d, sent))
            })
            .collect();
        let originals: HashMap<u32, Vec<u8>> =
            frames.iter().map(|f| (id_of(f).unwrap(), f.clone())).collect();
        let got = send_and_capture(&a, &b, "bond0", frames, &["bond0p"], &MEMBERS);
        let case = format!("{mode:?} dynamic={dynamic} {policy}");
        let mut punted_load = TlbLoad::default();
        let mut arrived = std::collections::HashSet::new();
        let mut wrong = Vec::new();
        for (id, iface, bytes) in &got {
            assert!(arrived.insert(*id), "{case}: frame {id} arrived twice");
            let (decision, sent) = &expect[id];
            if iface == "bond0p" {
                // Left to the daemon: unchanged, and only of the kinds the program leaves.
                let f = &originals[id];
                assert_eq!(bytes, f, "{case}: frame {id} punted changed");
                let tagged = matches!(f[12..14], [0x81, 0x00] | [0x88, 0xa8]);
                let arp = f[12..14] == [0x08, 0x06] && mode == AlbMode::Alb;
                assert!(tagged || arp, "{case}: frame {id} left to the daemon: {f:02x?}");
                // The daemon's path counts it instead.
                let mut c = TxCursor::default();
                plan.decide(&mut f.clone(), &mut c);
                punted_load.merge(&c.load);
                continue;
            }
            let member = MEMBERS.iter().position(|m| m == iface).unwrap();
            if *decision != TxDecision::Send(ids[member]) || bytes != sent {
                wrong.push((*id, iface.clone(), *decision));
            }
        }
        assert!(wrong.is_empty(), "{case}: (frame, left on, core's decision): {wrong:?}");
        // A frame may get lost on a busy machine (as in the tests above); none goes astray.
        let mut lost = Vec::new();
        for (id, (decision, _)) in &expect {
            if let TxDecision::Send(_) = decision {
                if !arrived.contains(id) {
                    lost.push(*id);
                }
            } else if *decision == TxDecision::Drop {
                // (Left to the daemon is allowed: it drops it then.)
                let on_member = got.iter().any(|(i, iface, _)| i == id && iface != "bond0p");
                assert!(!on_member, "{case}: frame {id} should have been dropped");
            }
        }
        assert!(lost.len() * 100 <= expect.len() * 2, "{case}: frames lost: {lost:?}");
        let used = (0..3).filter(|m| got.iter().any(|(_, i, _)| i == MEMBERS[*m])).count();
        assert!(used >= 2 || !dynamic, "{case}: all frames on one member");
        // The bytes per bucket: the kernel's equal the core's, less what the daemon sends.
        cmd_tx.send(TlbCmd::Read).unwrap();
        let kernel = reply_rx.recv().unwrap().unwrap().expect("counters");
        let mut want = cursor.load.clone();
        for (w, p) in want.buckets.iter_mut().zip(punted_load.buckets.iter()) {
            *w -= p;
        }
        want.unbalanced -= punted_load.unbalanced;
        assert_eq!(kernel.buckets, want.buckets, "{case}: bytes per bucket");
        assert_eq!(kernel.unbalanced, want.unbalanced, "{case}: unbalanced bytes");
        assert!(!dynamic || want.buckets.iter().any(|&b| b > 0), "{case}: nothing counted");
    }
    drop(cmd_tx);
    holder.join().unwrap();
}

/// A TCP segment from B to A's bond (`dst`), IPv4 or IPv6, with random addresses, ports,
/// sequence and acknowledgment numbers, window and timestamps, and the marker and `id` in its
/// 64 octets of payload. `udp`: the same frame with protocol 17 (never a copy to discard).
fn tcp_segment(rng: &mut Rng, dst: [u8; 6], v6: bool, udp: bool, id: u32) -> Vec<u8> {
    let mut tcp = rng.bytes::<12>().to_vec(); // ports, sequence and acknowledgment numbers
    tcp.extend_from_slice(&[8 << 4, 0x18]); // 32 octets of header, PSH ACK
    tcp.extend_from_slice(&rng.bytes::<2>()); // window
    tcp.extend_from_slice(&[0; 4]); // checksum, urgent pointer
    tcp.extend_from_slice(&[1, 1, 8, 10]); // NOP NOP Timestamps
    tcp.extend_from_slice(&rng.bytes::<8>());
    tcp.extend_from_slice(MAGIC);
    tcp.extend_from_slice(&id.to_le_bytes());
    tcp.resize(32 + 64, 0xab);
    let proto = if udp { 17 } else { 6 };
    let mut f = dst.to_vec();
    f.extend_from_slice(&[0x02, 0x22, 0, 0, 0, 1]);
    if v6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        f.extend_from_slice(&[proto, 64]);
        for _ in 0..2 {
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            f.extend_from_slice(&rng.bytes::<12>());
        }
    } else {
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1]);
    }
    f.extend_from_slice(&tcp);
    f
}

/// Broadcast's copies of a TCP segment (`tcp_dup_discard`, on by default): of the copies that
/// arrive on A's three members, the first goes up the bond and the others are discarded,
/// exactly as the core's `RxCopies` decides for the same arrivals (the fast path's table has
/// the core's key, hash and rule); UDP goes up every time; with the option off every copy goes
/// up, as in Linux. On both data paths.
#[test]
fn broadcast_discards_tcp_copies_as_the_core_does() {
    broadcast_discards_tcp_copies("fpdupb", "bpf");
}

/// The same on the userspace path: its data threads share the bond's table.
#[test]
fn broadcast_discards_tcp_copies_as_the_core_does_on_the_userspace_path() {
    broadcast_discards_tcp_copies("fpdupu", "user");
}

fn broadcast_discards_tcp_copies(test: &str, datapath: &str) {
    use ubond_core::bond::copies::{CopyKey, RxCopies};
    use ubond_core::bond::RxPlan;

    if !can_run() || (datapath == "bpf" && !fast_path_built()) {
        return;
    }
    let (mut a, b) = member_sides(test);
    a.start_daemon_with(&["--datapath", datapath, "--metrics"]);
    a.ok(&["add", "bond0", "mode=broadcast", "miimon=100"]);
    a.ok(&["enslave", "bond0", "e1", "e2", "e3"]);
    a.ip(&["link", "set", "bond0", "up"]);
    wait_for(Duration::from_secs(10), "the bond and its three members up", || {
        a.report("bond0").matches("MII Status: up").count() >= 4
    });
    assert_eq!(a.ok(&["get", "bond0", "tcp_dup_discard"]).trim(), "on 1");
    let bond = ifindex(&a, "bond0");
    let members = MEMBERS.map(|m| ifindex(&a, m));
    let mac: Vec<u8> =
        mac_of(&a, "bond0").split(':').map(|x| u8::from_str_radix(x, 16).unwrap()).collect();
    let dst: [u8; 6] = mac.try_into().unwrap();

    // The frames: TCP segments (IPv4 and IPv6), one UDP datagram, and two segments that share
    // the first one's slot in the table (the hash decides which ones those are).
    let mut rng = Rng(0xd0b1e);
    let mut pool: Vec<Vec<u8>> =
        (0..6).map(|i| tcp_segment(&mut rng, dst, i % 2 == 1, false, i)).collect();
    pool.push(tcp_segment(&mut rng, dst, false, true, 6));
    let slot = CopyKey::of(bond, &pool[0]).unwrap().slot();
    let mut id = 7;
    while pool.len() < 9 {
        let f = tcp_segment(&mut rng, dst, false, false, id);
        if CopyKey::of(bond, &f).unwrap().slot() == slot {
            pool.push(f);
        }
        id += 1;
    }
    let ids: Vec<u32> = pool.iter().map(|f| id_of(f).unwrap()).collect();

    // Bursts of arrivals (pool index, member) sent back to back, 120 ms apart: an arrival is
    // either microseconds or more than twice the window after any earlier one. The fast path
    // gets any order (the sender runs on one CPU, so the kernel handles its frames in order);
    // the userspace path's threads may take the members' frames in another order than sent,
    // so its bursts send each frame at most once per member, and none of the three that share a
    // slot (then the count does not depend on the order).
    let user = datapath == "user";
    let mut bursts: Vec<Vec<(usize, usize)>> =
        if user { Vec::new() } else { vec![vec![(7, 0), (8, 0), (7, 1)]] };
    for _ in 0..30 {
        let n = 1 + rng.next() as usize % 8;
        let mut burst: Vec<(usize, usize)> = Vec::new();
        while burst.len() < n {
            let row = if user {
                (1 + rng.next() as usize % 6, rng.next() as usize % 3)
            } else {
                (rng.next() as usize % pool.len(), rng.next() as usize % 3)
            };
            if !user || !burst.contains(&row) {
                burst.push(row);
            }
        }
        bursts.push(burst);
    }
    let send = |bursts: Vec<Vec<(usize, usize)>>, pool: Vec<Vec<u8>>| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let watcher = in_netns(&a.ns, move || {
            let opts =
                PacketOptions { promiscuous: true, slow_protocols: false, ..Default::default() };
            let s = PacketSocket::open("bond0", opts).unwrap();
            s.set_recv_buffer(8 << 20).unwrap();
            ready_tx.send(()).unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0u8; 9000];
            loop {
                match s.recv(&mut buf) {
                    Ok(Some(n)) => got.extend(id_of(&buf[..n])),
                    _ if stopped.load(std::sync::atomic::Ordering::Relaxed) => return got,
                    _ => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let sent = in_netns(&b.ns, move || {
            let mut one_cpu = rustix::thread::CpuSet::new();
            one_cpu.set(0);
            rustix::thread::sched_setaffinity(None, &one_cpu).unwrap();
            let opts = PacketOptions { slow_protocols: false, ..Default::default() };
            let socks: Vec<PacketSocket> =
                MEMBERS.iter().map(|m| PacketSocket::open(m, opts).unwrap()).collect();
            let mut at = Vec::new();
            for burst in &bursts {
                std::thread::sleep(Duration::from_millis(120));
                for &(f, m) in burst {
                    at.push((f, m, Instant::now()));
                    assert!(socks[m].send(&pool[f]).unwrap(), "a full queue on {}", MEMBERS[m]);
                }
            }
            at
        })
        .join()
        .unwrap();
        // Then whatever goes up has, well within a second.
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (sent, watcher)
    };
    let (sent, watcher) = send(bursts.clone(), pool.clone());
    // What the core decides for the same arrivals, at the times they were sent.
    let plan = RxPlan { copies: true, ..RxPlan::default() };
    let mut table = RxCopies::default();
    let t0 = sent[0].2;
    let mut want: HashMap<u32, usize> = HashMap::new();
    let mut up = Vec::new();
    for &(f, m, t) in &sent {
        let now = ubond_core::time::Instant::from_nanos(1 + (t - t0).as_nanos() as u64);
        up.push(!plan.discards_copy(&mut table, bond, members[m], &pool[f], now));
        if up[up.len() - 1] {
            *want.entry(ids[f]).or_default() += 1;
        }
    }
    let want_total: usize = want.values().sum();
    assert!(want_total < sent.len(), "the arrivals include copies to discard: {want:?}");
    let got_ids = watcher.join().unwrap();
    let mut got: HashMap<u32, usize> = HashMap::new();
    for id in got_ids {
        *got.entry(id).or_default() += 1;
    }
    assert_eq!(got, want, "{datapath}: arrivals that went up, per frame (got, want)");
    if !user {
        // The fast path counts what it discarded, per slave.
        let discarded = (sent.len() - want_total) as u64;
        let counted: u64 = scrape(&a.ns)
            .lines()
            .filter(|l| {
                l.starts_with("ubond_fastpath_receive_frames_total{")
                    && l.contains("verdict=\"duplicate\"")
            })
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
            .sum();
        assert_eq!(counted, discarded, "duplicates in the metrics");
    }
    if !user {
        // The first burst: the second segment took the first one's slot, so the first one's
        // copy goes up too (a fast path with another hash would discard it).
        assert_eq!(up[..3], [true, true, true]);
    }

    // Off: every copy goes up.
    a.ok(&["set", "bond0", "tcp_dup_discard", "off"]);
    let copies: Vec<Vec<(usize, usize)>> = vec![vec![(0, 0), (0, 1), (0, 2), (1, 2), (1, 0)]];
    let (sent, watcher) = send(copies, pool);
    let mut got = watcher.join().unwrap();
    got.sort();
    assert_eq!(got, [ids[0], ids[0], ids[0], ids[1], ids[1]], "off: {sent:?}");
}
