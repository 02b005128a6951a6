//! `ubond doctor` as a user runs it: on the reports `ubond lab seed N` prints (the seed's
//! four environments, played by the lab), on the kernel's captured reports, from standard
//! input; exit codes and the words printed.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ubond(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ubond"))
        .args(args)
        // No daemon is asked: a socket path that does not exist.
        .arg("--control")
        .arg("/nonexistent/ubond-doctor-test.sock")
        .output()
        .expect("run ubond")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `ubond lab seed N` and writes each report it prints (`--- HOST`, then the report) to a
/// file of a fresh directory; returns the files in order.
fn seed_reports(n: u32) -> Vec<PathBuf> {
    let out = ubond(&["lab", "seed", &n.to_string()]);
    assert!(out.status.success(), "lab seed {n}: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let dir = std::env::temp_dir().join(format!("ubond-doctor-seed{n}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut files = Vec::new();
    for section in stdout.split("\n--- ").skip(1) {
        let (title, body) = section.split_once('\n').expect("a title line");
        if title == "timeline" {
            continue;
        }
        let path = dir.join(format!("{}.txt", title.replace(' ', "-")));
        std::fs::write(&path, body).expect("write");
        files.push(path);
    }
    assert!(files.len() >= 2, "lab seed {n} printed {} reports:\n{stdout}", files.len());
    files
}

fn doctor(files: &[&Path]) -> (Option<i32>, String) {
    let args: Vec<&str> = std::iter::once("doctor")
        .chain(files.iter().map(|p| p.to_str().expect("a UTF-8 path")))
        .collect();
    let out = ubond(&args);
    (out.status.code(), text(&out))
}

#[test]
fn seed_1_bridges_no_lacpdu_crosses() {
    let files = seed_reports(1);
    let (code, out) = doctor(&[&files[0]]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("error [no-partner]"), "{out}");
    assert!(out.contains("a Linux bridge never forwards 01:80:c2:00:00:02"), "{out}");
    assert!(out.contains("warning [aggregator-split]"), "{out}");
}

#[test]
fn seed_2_virtio_without_speed() {
    let files = seed_reports(2);
    let (code, out) = doctor(&[&files[0], &files[1]]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out.matches("error [speed-unknown]").count(), 2, "{out}");
    assert!(out.contains("failed to get link speed/duplex"), "{out}");
    assert!(out.contains("error [bond-down]"), "{out}");
}

#[test]
fn seed_3_one_link_lost_and_seed_4_back_to_healthy() {
    // Seed 3 ends with one of hostA's links down: hostA runs on one link, and hostB's port
    // on the dead path hears no partner any more.
    let files = seed_reports(3);
    let host = |name: &str| files.iter().find(|f| f.ends_with(format!("{name}.txt"))).unwrap();
    let (code, out) = doctor(&[host("hostA")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("warning [slave-down]"), "{out}");
    assert!(out.contains("warning [single-link]"), "{out}");
    let (code, out) = doctor(&[host("hostB")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("warning [no-partner]") && out.contains("warning [aggregator-split]"),
        "{out}"
    );
    // Seed 4 ends after the link came back: nothing wrong (layer2 hashing and the flap are
    // only worth knowing).
    let files = seed_reports(4);
    for f in &files {
        let (code, out) = doctor(&[f]);
        assert_eq!(code, Some(0), "{}: {out}", f.display());
        assert!(!out.contains("warning [") && !out.contains("error ["), "{out}");
    }
    let (_, out) = doctor(&[&files[0]]);
    assert!(out.contains("info [link-flaps]"), "{out}");
}

#[test]
fn kernel_reports_of_both_ends() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ubond-doctor/tests/fixtures");
    let (code, out) = doctor(&[
        &dir.join("kernel-6.1-oneway-hears.txt"),
        &dir.join("kernel-6.1-oneway-deaf.txt"),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("kernel-6.1-oneway-hears.txt: 802.3ad, 2 slave(s), 2 up (Linux 6.1"),
        "{out}"
    );
    assert!(out.contains("error [partner-does-not-hear-us]"), "{out}");
    assert!(out.contains("error [one-way-loss]"), "{out}");
}

#[test]
fn standard_input_and_bad_input() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ubond-core/tests/golden/kernel-6.1-802.3ad-negotiated.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ubond"))
        .args(["doctor", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run ubond");
    child.stdin.take().unwrap().write_all(&std::fs::read(golden).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("stdin: 802.3ad, 2 slave(s), 2 up") && shown.contains("no problem found"),
        "{shown}"
    );

    let junk = std::env::temp_dir().join(format!("ubond-doctor-junk-{}", std::process::id()));
    std::fs::write(&junk, "Ethernet Channel Bonding Driver: v6.1\nBonding Mode: nonsense\n")
        .unwrap();
    let (code, out) = doctor(&[&junk]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not a bonding report: line 2"), "{out}");
    let (code, out) = doctor(&[Path::new("no-such-bond")]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("no-such-bond: not a file, not in /proc/net/bonding"), "{out}");
}

/// A live ubond bond whose slaves reach nobody but a Linux bridge: `ubond doctor bond0` asks
/// the daemon (report and options) and the system (the slaves' veth peers are bridge ports).
/// NEEDS ROOT (skips without it outside CI); a namespace of its own, 192.0.2.0/24 unused.
#[test]
fn live_bond_behind_a_bridge() {
    if !support::can_run() {
        return;
    }
    let mut s = support::side("doctor", "a");
    s.ip(&["link", "add", "br0", "type", "bridge"]);
    for (e, p) in [("e1", "p1"), ("e2", "p2")] {
        s.ip(&["link", "add", e, "type", "veth", "peer", "name", p]);
        s.ip(&["link", "set", p, "master", "br0", "up"]);
    }
    s.ip(&["link", "set", "br0", "up"]);
    s.start_daemon();
    s.ok(&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100"]);
    s.ok(&["enslave", "bond0", "e1", "e2"]);
    // Long enough for both ports to time out into defaulted (3 s at the fast rate).
    support::wait_for(std::time::Duration::from_secs(20), "both ports defaulted", || {
        let r = s.report("bond0");
        r.matches("system mac address: 00:00:00:00:00:00").count() == 2
    });
    // The doctor runs in the daemon's namespace (its probes look at the interfaces there).
    let out = Command::new("ip")
        .args(["netns", "exec", &s.ns, env!("CARGO_BIN_EXE_ubond"), "--control"])
        .arg(s.socket())
        .args(["doctor", "bond0"])
        .output()
        .expect("run ubond doctor");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("bond0: 802.3ad, 2 slave(s), 2 up (ubond 0."), "{shown}");
    assert!(shown.contains("error [no-partner]"), "{shown}");
    assert!(shown.contains("through Linux bridge br0"), "{shown}");
    assert!(shown.contains("e1's veth peer p1 is a port of Linux bridge br0"), "{shown}");
    // The daemon's report file works the same way as a target.
    let file = s.dir.join("bond0");
    let out = Command::new(env!("CARGO_BIN_EXE_ubond"))
        .arg("--control")
        .arg(s.socket())
        .arg("doctor")
        .arg(&file)
        .output()
        .expect("run ubond doctor");
    assert!(text(&out).contains("error [no-partner]"), "{}", text(&out));
}
