//! The `ubond` binary's verbs as a user runs them: exit codes and the words printed.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ubond(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ubond")).args(args).output().expect("run ubond")
}

/// Writes `text` to a file called `name` in a directory of its own: tests run in parallel in one
/// process, and two of them may use the same file name.
fn scratch(name: &str, text: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ubond-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn config_lint_flags_the_seeds_typos_with_place_and_fix() {
    let conf =
        scratch("bonding.conf", "alias bond0 bonding\noptinons bond0 mode=802.3ad miimon=100\n");
    let sh = scratch("setup.sh", "echo 100 > /sys/class/net/bond0/bondign/miimon\n");
    let out = ubond(&["config", "lint", conf.to_str().unwrap(), sh.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "bonding.conf:2:1: error: unknown command 'optinons' (did you mean 'options'?)"
        ),
        "{text}"
    );
    assert!(text.contains("setup.sh:1:") && text.contains("did you mean 'bonding'?"), "{text}");
}

#[test]
fn config_convert_debian_to_ifcfg() {
    let interfaces = scratch(
        "interfaces",
        "auto bond0\niface bond0 inet static\n    address 192.0.2.10/24\n    bond-slaves eth0 eth1\n    bond-mode active-backup\n    bond-miimon 100\n    bond-primary eth0\n",
    );
    let out = ubond(&[
        "config",
        "convert",
        "--to",
        "ifcfg",
        "--from",
        "interfaces",
        interfaces.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("BONDING_OPTS=\"mode=active-backup miimon=100 primary=eth0\""), "{text}");
    assert!(text.contains("MASTER=bond0"));
}

#[test]
fn lab_seed_scenarios_pass_and_bad_input_is_refused() {
    let out = ubond(&["lab", "seed", "4"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("port state: 63"));
    let out = ubond(&["lab", "seed", "9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no built-in scenario 9"));
    let bad = scratch("bad.toml", "seed = 1\n[[host]]\nname = \"a\"\nip = \"10.0.0.300\"\n");
    let out = ubond(&["lab", "run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:4:6: "), "{err}");
}

#[test]
fn lab_run_a_scenario_file_and_a_failing_goal() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../ubond-lab/scenarios/seed4-switch.toml");
    let dir = std::env::temp_dir().join(format!("ubond-cli-pcap-{}", std::process::id()));
    let out = ubond(&["lab", "run", file, "--pcap", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("[ok] goal 1: at 10s: hostA report \"port state: 63\" == 4"), "{text}");
    assert!(text.contains("--- timeline") && text.contains("carrier down hostA:eth0<->sw1:p1"));
    // One capture per link, each a pcap file.
    let pcaps = std::fs::read_dir(&dir).expect("pcap dir").count();
    assert_eq!(pcaps, 4);
    let bytes = std::fs::read(dir.join("hostA-eth0_sw1-p1.pcap")).expect("capture");
    assert_eq!(&bytes[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
    let _ = std::fs::remove_dir_all(&dir);
    // The same file with a goal it cannot meet: exit 1, and the seed to reproduce it.
    let text = std::fs::read_to_string(file).expect("read").replace("count = 4", "count = 3");
    let bad = scratch("unmet.toml", &text);
    let out = ubond(&["lab", "run", bad.to_str().unwrap(), "--seed", "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[FAILED] goal 1"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reproduce with --seed 9"));
}

#[test]
fn lab_swarm_failures_are_written_and_replay() {
    // Without a quiet phase some seeds cannot converge: they fail, each is printed with its
    // seed and written as a scenario file that fails the same way on its own.
    let dir = std::env::temp_dir().join(format!("ubond-cli-swarm-{}", std::process::id()));
    let out =
        ubond(&["lab", "swarm", "--seeds", "12", "--quiet", "0", "--out", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text.lines().find(|l| l.contains(": FAILED (")).expect("a failed seed");
    let seed: u64 = line
        .strip_prefix("seed ")
        .and_then(|l| l.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("seed number");
    let file = dir.join(format!("swarm-seed-{seed}.toml"));
    let out = ubond(&["lab", "run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let replay = String::from_utf8_lossy(&out.stdout);
    let goal = line.split("): ").nth(1).expect("the failed goal");
    assert!(replay.contains(&format!("[FAILED] {goal}")), "{goal}\n{replay}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("--seed {seed}")));
    let _ = std::fs::remove_dir_all(&dir);
    // And with the default quiet phase they pass.
    let out = ubond(&["lab", "swarm", "--seeds", "12"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn lab_demo_runs_without_root() {
    let out = ubond(&["lab", "demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("demo: everything above worked"), "{text}");
}

#[test]
fn decode_prints_the_kernels_lacpdus() {
    let pcap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ubond-wire/tests/vectors/kernel-6.1-lacp-fast.pcap"
    );
    let out = ubond(&["decode", pcap]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("LACPv1 ACTOR 52:54:00:0a:00:00") && text.contains("state 63 (**DCSGSA)"),
        "{text}"
    );
}

#[test]
fn up_errors_are_one_line_that_says_what_to_do() {
    let err = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    // A file with errors: the finding, then why nothing was done.
    let bad = scratch("bad-interfaces", "iface bond0 inet manual\n    bond-slaves eth0\n    bond-mode 802.3ad\n    bond-miimmon 100\n");
    let out = ubond(&[
        "--control",
        "/nonexistent/ubond.sock",
        "up",
        "--from",
        bad.to_str().unwrap(),
        "--format",
        "interfaces",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = err(&out);
    assert!(e.contains("bad-interfaces:4:5: error:") && e.contains("bond-miimon"), "{e}");
    assert!(e.ends_with("ubond: nothing brought up: fix the errors above first (`ubond config lint FILE...` lists every finding with its fix)\n"), "{e}");
    // A good file but no daemon.
    let good = scratch("good-interfaces", "auto bond0\niface bond0 inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n");
    let out = ubond(&[
        "--control",
        "/nonexistent/ubond.sock",
        "up",
        "--from",
        good.to_str().unwrap(),
        "--format",
        "interfaces",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        err(&out),
        "ubond: cannot reach the ubond daemon at /nonexistent/ubond.sock: is `ubond daemon` running?\n"
    );
    // No bond started at boot: each said, the daemon not needed.
    let manual = scratch("manual-interfaces", "iface bond0 inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n");
    let m = manual.to_str().unwrap();
    let out = ubond(&[
        "--control",
        "/nonexistent/ubond.sock",
        "up",
        "--from",
        m,
        "--format",
        "interfaces",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("bond0: not started at boot (no \"auto bond0\" line for its stanza at {m}:1:7); name it to bring it up: ubond up bond0 --from {m} --format interfaces\n")
    );
    // A bond the files lack.
    let out = ubond(&["up", "bond9", "--from", good.to_str().unwrap(), "--format", "interfaces"]);
    assert_eq!(err(&out), "ubond: no bond bond9 in the files (they define bond0)\n");
    // A file that is not there.
    let out = ubond(&["up", "--from", "/nonexistent/interfaces"]);
    assert!(err(&out).starts_with("ubond: /nonexistent/interfaces: cannot read"), "{}", err(&out));
}

#[test]
fn a_reader_that_leaves_early_ends_the_output_quietly() {
    // `ubond decode ... | head -1`: more output than a pipe holds, its reader gone at once.
    let pcap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ubond-wire/tests/vectors/kernel-6.1-lacp-fast.pcap"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_ubond"))
        .arg("decode")
        .args(std::iter::repeat_n(pcap, 200))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ubond");
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().expect("stdout"), &mut first).expect("read");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "{err}");
    use std::os::unix::process::ExitStatusExt;
    const SIGPIPE: i32 = 13; // Linux
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?}", out.status);
}

#[test]
fn config_lint_reads_files_of_several_formats_as_one_system() {
    // bonding.rst's initscripts split: the options are modprobe.d's, not missing.
    let bond = scratch(
        "ifcfg-bond0",
        "DEVICE=bond0\nIPADDR=192.0.2.1\nNETMASK=255.255.255.0\nONBOOT=yes\nBOOTPROTO=none\n",
    );
    let eth0 = scratch("ifcfg-eth0", "DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\nBOOTPROTO=none\n");
    let conf = scratch(
        "bonding.conf",
        "alias bond0 bonding\noptions bond0 mode=active-backup miimon=100\n",
    );
    let args = [bond.to_str().unwrap(), eth0.to_str().unwrap(), conf.to_str().unwrap()];
    let out = ubond(&["config", "lint", "--offline", args[0], args[1], args[2]]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("no link monitoring"), "{text}");
}

/// A networkd unit given alone brings its drop-ins (`<unit>.d/*.conf`) with it, as networkd
/// reads them, and says so.
#[test]
fn config_convert_reads_a_networkd_units_drop_ins() {
    let netdev = scratch(
        "25-bond0.netdev",
        "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\n",
    );
    let dropins = PathBuf::from(format!("{}.d", netdev.display()));
    std::fs::create_dir_all(&dropins).expect("dir");
    std::fs::write(dropins.join("mii.conf"), "[Bond]\nMIIMonitorSec=250ms\n").expect("write");
    let out = ubond(&["config", "convert", "--to", "ifcfg", netdev.to_str().unwrap()]);
    let (text, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}{err}");
    assert!(text.contains("miimon=250"), "{text}{err}");
    assert!(err.contains("also reading") && err.contains("mii.conf"), "{err}");
}
