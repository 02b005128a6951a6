//! Root tests of `ubond up` and of `ubond config lint`'s live checks: a network namespace of
//! its own with veth slaves named like the samples' (eth0, eth1, eth2), a ubond daemon in it,
//! `ubond up` run in it. Skipped (with a note) when not root or without `ip`; under `CI` a
//! missing tool fails instead.
//!
//! Everything stays inside namespaces named `ubd-<pid>-<test>-u`, addressed in 192.0.2.0/24
//! only (the samples' 192.168.1.0/24 is rewritten); drop guards stop the daemon (by pid) and
//! delete the namespace and the scratch directory even on failure.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Output};

use ubond_config::{emit, parse, Format, SourceFile};

#[path = "../../ubond-config/tests/samples/mod.rs"]
mod samples;

mod support;

use support::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A namespace with veth slaves eth0..eth2 (peers p0..p2, up) and a daemon.
struct Ns {
    side: Side,
}

impl std::ops::Deref for Ns {
    type Target = Side;
    fn deref(&self) -> &Side {
        &self.side
    }
}

impl std::ops::DerefMut for Ns {
    fn deref_mut(&mut self) -> &mut Side {
        &mut self.side
    }
}

impl Ns {
    fn new(test: &str) -> Ns {
        let s = Ns { side: side(test, "u") };
        for i in 0..3 {
            let (e, p) = (format!("eth{i}"), format!("p{i}"));
            s.ip(&["link", "add", &e, "type", "veth", "peer", "name", &p]);
            s.ip(&["link", "set", &p, "up"]);
        }
        s
    }

    fn ip_out(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", &self.ns];
        v.extend_from_slice(args);
        text(&sh(&v).stdout)
    }

    /// `ubond ARGS` run inside the namespace.
    fn ubond(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns, BIN, "--control"])
            .arg(self.socket())
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.ubond(args);
        assert!(o.status.success(), "ubond {args:?}: {}{}", text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    }

    /// Writes `files` below `sub/` of the scratch directory (by base name); their paths.
    fn write(&self, sub: &str, files: &[SourceFile]) -> Vec<String> {
        let d = self.dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        files
            .iter()
            .map(|f| {
                let base = f.path.rsplit('/').next().unwrap();
                let p = d.join(base);
                std::fs::write(&p, &f.text).unwrap();
                p.display().to_string()
            })
            .collect()
    }

    /// `ubond up --from FILES`, which must succeed; its standard output.
    fn up_from(&self, files: &[String]) -> String {
        let mut args = vec!["up", "--from"];
        args.extend(files.iter().map(String::as_str));
        self.ok(&args)
    }

    /// The running bond as a user sees it: every option (`ubond get`, without the active
    /// slave, which depends on link timing), its IPv4 addresses and its default route.
    fn state(&self, bond: &str) -> String {
        let get = self.ok(&["get", bond]);
        let options: Vec<&str> = get.lines().filter(|l| !l.starts_with("active_slave:")).collect();
        let addrs: Vec<String> = self
            .ip_out(&["-4", "-o", "addr", "show", "dev", bond])
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).map(String::from))
            .collect();
        let route = self.ip_out(&["route", "show", "default"]);
        format!("{}\naddresses: {}\nroute: {}", options.join("\n"), addrs.join(" "), route.trim())
    }
}

/// The samples' 192.168.1.0/24 moved to 192.0.2.0/24.
fn documentation_net(files: Vec<SourceFile>) -> Vec<SourceFile> {
    files
        .into_iter()
        .map(|f| SourceFile::new(f.path, f.text.replace("192.168.1.", "192.0.2.")))
        .collect()
}

fn debian() -> Vec<SourceFile> {
    documentation_net(vec![SourceFile::new("/etc/network/interfaces", samples::WIKI_ACTIVE_BACKUP)])
}

fn centos() -> Vec<SourceFile> {
    documentation_net(samples::rhel_active_backup())
}

#[test]
fn seed_examples_give_the_same_running_bond_in_every_format() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("same");
    ns.start_daemon();
    let mut forms: Vec<(String, Vec<SourceFile>)> =
        vec![("debian".into(), debian()), ("centos".into(), centos())];
    let parsed = parse(Format::Interfaces, &debian());
    assert!(!ubond_config::has_errors(&parsed.findings), "{:?}", parsed.findings);
    for &to in Format::ALL.iter().filter(|f| f.has_slaves() && f.is_kernel_like()) {
        forms.push((format!("debian as {to}"), emit(&parsed.config, to)));
    }
    // modprobe.d holds the options only: with an interfaces file naming the slaves and the
    // addresses, as on a system that splits them so.
    let mut split = emit(&parsed.config, Format::Modprobe);
    split.push(SourceFile::new(
        "/etc/network/interfaces",
        "auto bond0\niface bond0 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n    bond-slaves eth0 eth1\n",
    ));
    forms.push(("debian as modprobe + slaves in interfaces".into(), split));
    let centos_parsed = parse(Format::Ifcfg, &centos());
    for to in [Format::Interfaces, Format::Netplan, Format::Networkd] {
        forms.push((format!("centos as {to}"), emit(&centos_parsed.config, to)));
    }
    let mut first: Option<String> = None;
    for (i, (name, files)) in forms.iter().enumerate() {
        let paths = ns.write(&format!("form{i}"), files);
        let out = ns.up_from(&paths);
        assert!(out.starts_with("bond0: created"), "{name}: {out}");
        let state = ns.state("bond0");
        match &first {
            None => {
                // What the Debian example says, as the daemon and the kernel report it.
                for want in [
                    "slaves: eth0 eth1\n",
                    "mode: active-backup 1\n",
                    "miimon: 100\n",
                    "updelay: 200\n",
                    "downdelay: 200\n",
                    "primary: eth0\n",
                    "addresses: 192.0.2.10/24\n",
                    "route: default via 192.0.2.1 dev bond0",
                ] {
                    assert!(state.contains(want), "{name}: {want:?} not in\n{state}");
                }
                first = Some(state);
            }
            Some(f) => assert_eq!(f, &state, "{name} differs from the Debian example"),
        }
        ns.ok(&["del", "bond0"]);
        assert!(ns.ip_out(&["route", "show", "default"]).is_empty(), "route gone with the bond");
    }
}

#[test]
fn up_on_a_running_bond_changes_only_what_differs() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("again");
    ns.start_daemon();
    let first = ns.write("a", &debian());
    ns.up_from(&first);
    let index = ns.ip_out(&["-o", "link", "show", "bond0"]);
    let index = index.split(':').next().unwrap().to_string();

    // The same file again: nothing to do.
    assert_eq!(ns.up_from(&first), "bond0: up to date\n");

    // Another miimon, a third slave, another address: set, enslaved, added; same device.
    let changed = debian()
        .into_iter()
        .map(|f| {
            let t = f
                .text
                .replace("bond-miimon 100", "bond-miimon 50")
                .replace("bond-downdelay 200", "bond-downdelay 100")
                .replace("bond-updelay 200", "bond-updelay 100")
                + "\niface eth2 inet manual\n    bond-master bond0\n\niface bond0 inet static\n    address 192.0.2.11/24\n";
            SourceFile::new(f.path, t)
        })
        .collect::<Vec<_>>();
    let out = ns.up_from(&ns.write("b", &changed));
    assert!(out.contains("miimon 50 (was 100)"), "{out}");
    assert!(out.contains("enslaved eth2"), "{out}");
    assert!(out.contains("address 192.0.2.11/24"), "{out}");
    let state = ns.state("bond0");
    assert!(state.contains("slaves: eth0 eth1 eth2\nmode"), "{state}");
    assert!(state.contains("miimon: 50\n") && state.contains("updelay: 100\n"), "{state}");
    assert!(state.contains("addresses: 192.0.2.10/24 192.0.2.11/24\n"), "{state}");
    assert_eq!(ns.ip_out(&["-o", "link", "show", "bond0"]).split(':').next().unwrap(), index);

    // The first file again: eth2 stays enslaved (said), miimon goes back.
    let o = ns.ubond(&["up", "--from", &first[0]]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("eth2 not in the file: left enslaved"), "{}", text(&o.stderr));
    assert!(ns.state("bond0").contains("slaves: eth0 eth1 eth2\n"));

    // Another gateway while a default route exists: kept, and said.
    let gw = debian()
        .into_iter()
        .map(|f| {
            SourceFile::new(f.path, f.text.replace("gateway 192.0.2.1", "gateway 192.0.2.254"))
        })
        .collect::<Vec<_>>();
    let o = ns.ubond(&["up", "--from", &ns.write("g", &gw)[0]]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("a default route exists already: kept"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        ns.ip_out(&["route", "show", "default"]).trim(),
        "default via 192.0.2.1 dev bond0 proto static"
    );

    // Another mode with slaves enslaved: refused in one line, the bond untouched.
    let lacp = ns.write(
        "c",
        &[SourceFile::new(
            "/etc/network/interfaces",
            "auto bond0\niface bond0 inet manual\n    bond-slaves eth0 eth1\n    bond-mode 802.3ad\n    bond-miimon 100\n",
        )],
    );
    let o = ns.ubond(&["up", "--from", &lacp[0]]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "the mode only changes without slaves; `ubond del bond0` then `ubond up bond0`"
        ),
        "{err}"
    );
    assert!(ns.state("bond0").contains("mode: active-backup 1\n"));

    // A queue id for a slave: set once, then up to date.
    let qid = debian()
        .into_iter()
        .map(|f| {
            SourceFile::new(
                f.path,
                f.text.replace(
                    "    bond-primary eth0\n",
                    "    bond-primary eth0\n    bond-queue-id 2\n",
                ),
            )
        })
        .collect::<Vec<_>>();
    let qid = ns.write("q", &qid);
    let out = ns.up_from(&qid);
    assert!(out.contains("queue_id eth0:2"), "{out}");
    assert_eq!(
        ns.ok(&["get", "bond0", "queue_id"]).split_whitespace().find(|q| q.starts_with("eth0:")),
        Some("eth0:2")
    );
    let o = ns.ubond(&["up", "--from", &qid[0]]);
    assert!(!text(&o.stdout).contains("queue_id"), "{}", text(&o.stdout));
}

#[test]
fn up_without_from_reads_the_system_files() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("system");
    ns.start_daemon();
    let root = ns.dir.join("root");
    let put = |p: &str, t: &str| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    };
    put(
        "etc/network/interfaces",
        "auto lo\niface lo inet loopback\n\nsource-directory /etc/network/interfaces.d\n",
    );
    put(
        "etc/network/interfaces.d/bond0",
        "auto bond0\niface bond0 inet static\n    address 192.0.2.20/24\n    bond-slaves eth0 eth1\n",
    );
    put("etc/modprobe.d/bonding.conf", "alias bond0 bonding\noptions bond0 mode=balance-xor miimon=100 xmit_hash_policy=layer3+4\n");
    put(
        "etc/network/interfaces.d/bond1",
        "iface bond1 inet manual\n    bond-slaves eth2\n    bond-mode active-backup\n    bond-miimon 100\n",
    );
    // Named bonds only.
    let out = ns.ok(&["up", "bond1", "--root", root.to_str().unwrap()]);
    assert!(out.starts_with("bond1: created"), "{out}");
    assert!(!ns.ubond(&["get", "bond0"]).status.success(), "bond0 was not named");
    // Those started at boot: bond0 created; bond1 (no `auto bond1`) said, not touched.
    let out = ns.ok(&["up", "--root", root.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0]
            .starts_with("bond0: created (mode=balance-xor miimon=100 xmit_hash_policy=layer3+4)"),
        "{out}"
    );
    assert_eq!(
        lines[1..],
        // The system's own path, as the administrator knows it.
        ["bond1: not started at boot (no \"auto bond1\" line for its stanza at /etc/network/interfaces.d/bond1:1:7); name it to bring it up: ubond up bond1"],
        "{out}"
    );
    let state = ns.state("bond0");
    assert!(state.contains("slaves: eth0 eth1\nmode: balance-xor 2\n"), "{state}");
    assert!(state.contains("xmit_hash_policy: layer3+4 1\n"), "{state}");
    assert!(state.contains("addresses: 192.0.2.20/24\n"), "{state}");

    // A name the files lack is one line.
    let o = ns.ubond(&["up", "bond7", "--root", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr), "ubond: no bond bond7 in the files (they define bond0, bond1)\n");
    // An empty tree: says where it looked and what to do.
    let empty = ns.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = ns.ubond(&["up", "--root", empty.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("no bond configuration found") && err.contains("--from FILE"), "{err}");
}

#[test]
fn up_outside_the_daemons_namespace_says_so_and_undoes() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("outside");
    ns.start_daemon();
    // A bond name this test owns, so the caller's namespace surely has no such device.
    let bond = format!("ubu{}", std::process::id() % 100_000);
    let file = ns.write(
        "f",
        &[SourceFile::new(
            "/etc/network/interfaces",
            format!("auto {bond}\niface {bond} inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n"),
        )],
    );
    // Run in the test's own namespace, not the daemon's.
    let o = Command::new(BIN)
        .arg("--control")
        .arg(ns.socket())
        .args(["up", "--from", &file[0]])
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("run `ubond up` in the daemon's network namespace"), "{err}");
    let get = ns.ubond(&["get", &bond]);
    assert!(!get.status.success(), "the bond created by mistake was deleted again");
}

#[test]
fn lint_flags_a_lacp_member_in_a_real_bridge() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("bridge");
    ns.ip(&["link", "add", "br0", "type", "bridge"]);
    ns.ip(&["link", "set", "eth0", "master", "br0"]);
    // lo answers no ethtool speed query: what a virtio NIC without speed looks like to the
    // bonding driver.
    let file = ns.write(
        "f",
        &[SourceFile::new(
            "/etc/network/interfaces",
            "iface bond0 inet manual\n    bond-mode 802.3ad\n    bond-miimon 100\n    bond-slaves eth0 eth1 lo absent9\nauto bond0\n",
        )],
    );
    let o = ns.ubond(&["config", "lint", &file[0]]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let f = &file[0];
    assert!(
        out.contains(&format!(
            "{f}:4:17: error: 'eth0' of 802.3ad bond 'bond0' is a port of Linux bridge 'br0'"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("{f}:4:27: warning: 'lo' reports no speed/duplex")), "{out}");
    // eth1 (a veth: 10000 Mb/s full) and the absent interface: nothing.
    assert!(!out.contains("'eth1'") && !out.contains("absent9"), "{out}");

    // --offline: the file alone, which is fine.
    let o = ns.ubond(&["config", "lint", "--offline", &file[0]]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(!text(&o.stdout).contains("br0"));

    // `ubond up` refuses it before changing anything.
    ns.start_daemon();
    let o = ns.ubond(&["up", "--from", &file[0]]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is a port of Linux bridge 'br0'"), "{err}");
    assert!(err.contains("nothing brought up"), "{err}");
    assert!(!ns.ubond(&["get", "bond0"]).status.success(), "no bond created");

    // Out of the bridge, but its veth peer in: still an error, naming the peer.
    ns.ip(&["link", "set", "eth0", "nomaster"]);
    ns.ip(&["link", "set", "p0", "master", "br0"]);
    let o = ns.ubond(&["config", "lint", &file[0]]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("{f}:4:17: error: 'eth0' of 802.3ad bond 'bond0' is a veth whose peer 'p0' is a port of Linux bridge 'br0'")), "{out}");

    // Neither: no error left.
    ns.ip(&["link", "set", "p0", "nomaster"]);
    let o = ns.ubond(&["config", "lint", &file[0]]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

#[test]
fn arp_targets_change_one_by_one() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("arp");
    ns.start_daemon();
    let file = |targets: &str| {
        vec![SourceFile::new(
            "/etc/network/interfaces",
            format!("auto bond0\niface bond0 inet manual\n    bond-slaves eth0 eth1\n    bond-mode active-backup\n    bond-arp-interval 1000\n    bond-arp-ip-target {targets}\n"),
        )]
    };
    let out = ns.up_from(&ns.write("a", &file("192.0.2.1 192.0.2.2")));
    assert!(out.contains("arp_ip_target=192.0.2.1,192.0.2.2 arp_interval=1000"), "{out}");
    assert_eq!(ns.ok(&["get", "bond0", "arp_ip_target"]), "192.0.2.1 192.0.2.2\n");
    let out = ns.up_from(&ns.write("b", &file("192.0.2.2 192.0.2.3")));
    assert_eq!(out, "bond0: arp_ip_target +192.0.2.3 -192.0.2.1\n");
    assert_eq!(ns.ok(&["get", "bond0", "arp_ip_target"]), "192.0.2.2 192.0.2.3\n");
}

#[test]
fn options_the_kernel_changes_only_with_the_bond_down_say_how() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("down");
    ns.start_daemon();
    let file = |extra: &str| {
        vec![SourceFile::new(
            "/etc/network/interfaces",
            format!("auto bond0\niface bond0 inet manual\n    bond-slaves eth0 eth1\n    bond-mode 802.3ad\n    bond-miimon 100\n{extra}"),
        )]
    };
    ns.up_from(&ns.write("a", &file("")));
    let fast = ns.write("b", &file("    bond-lacp-rate fast\n"));
    let o = ns.ubond(&["up", "--from", &fast[0]]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "ubond: bond0: lacp_rate is \"slow 0\", the file says \"fast 1\": it only changes with the bond down; `ip link set bond0 down` then `ubond up bond0` sets it and brings the bond up again\n"
    );
    assert_eq!(ns.ok(&["get", "bond0", "lacp_rate"]), "slow 0\n");
    // Doing what it says works.
    ns.ip(&["link", "set", "bond0", "down"]);
    assert_eq!(ns.up_from(&fast), "bond0: lacp_rate fast (was slow 0); device up\n");
    assert_eq!(ns.ok(&["get", "bond0", "lacp_rate"]), "fast 1\n");
    assert!(ns.ip_out(&["-o", "link", "show", "bond0"]).contains(",UP"), "bond0 up again");
}

#[test]
fn dhcp_and_missing_slaves_are_said() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("dhcp");
    ns.start_daemon();
    let f = ns.write(
        "a",
        &[SourceFile::new(
            "/etc/network/interfaces",
            "iface bond0 inet dhcp\n    bond-slaves none\n    bond-mode active-backup\n    bond-miimon 100\nauto bond0\n",
        )],
    );
    let o = ns.ubond(&["up", "--from", &f[0]]);
    assert!(o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains(":1:7: warning: bond 'bond0' has no slaves"), "{err}");
    assert!(err.contains("ubond: bond0: warning: the file takes the addresses from DHCP: `ubond up` runs no DHCP client; start one on bond0"), "{err}");
    assert_eq!(text(&o.stdout), "bond0: created (mode=active-backup miimon=100)\n");

    // A slave that is not there: the bond is up with the others, the line says what to check.
    let g = ns.write(
        "b",
        &[SourceFile::new(
            "/etc/network/interfaces",
            "auto bond1\niface bond1 inet manual\n    bond-slaves eth1 eth9\n    bond-mode active-backup\n    bond-miimon 100\n",
        )],
    );
    let o = ns.ubond(&["up", "--from", &g[0]]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "ubond: bond1: no interface eth9: check the name with `ip link`\n");
    assert_eq!(text(&o.stdout), "bond1: created (mode=active-backup miimon=100); enslaved eth1\n");
}

#[test]
fn up_without_names_brings_up_the_bonds_started_at_boot() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("boot");
    ns.start_daemon();
    let file = ns.write(
        "f",
        &[SourceFile::new(
            "/etc/network/interfaces",
            "auto bond0\niface bond0 inet static\n    address 192.0.2.30/24\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n\niface bond1 inet static\n    address 192.0.2.31/24\n    bond-slaves eth1\n    bond-mode active-backup\n    bond-miimon 100\n",
        )],
    );
    let f = &file[0];
    // As at boot: bond0 only; bond1 one line saying why and how.
    let o = ns.ubond(&["up", "--from", f]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        format!("bond0: created (mode=active-backup miimon=100); enslaved eth0; address 192.0.2.30/24\nbond1: not started at boot (no \"auto bond1\" line for its stanza at {f}:8:7); name it to bring it up: ubond up bond1 --from {f}\n")
    );
    assert!(ns.state("bond0").contains("slaves: eth0\n"));
    assert!(!ns.ubond(&["get", "bond1"]).status.success(), "bond1 was brought up");
    assert!(ns.ip_out(&["-o", "link", "show", "bond1"]).is_empty(), "a bond1 device exists");

    // Named, as the line says: it comes up whatever the file says about boot.
    let out = ns.ok(&["up", "bond1", "--from", f]);
    assert_eq!(
        out,
        "bond1: created (mode=active-backup miimon=100); enslaved eth1; address 192.0.2.31/24\n"
    );
    assert!(ns.state("bond1").contains("slaves: eth1\n"));
    assert!(ns.state("bond1").contains("addresses: 192.0.2.31/24\n"));

    // Running now, bond1 is still skipped without names (and left as it is).
    let out = ns.ok(&["up", "--from", f]);
    assert_eq!(out.lines().next(), Some("bond0: up to date"), "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("bond1: not started at boot"), "{out}");
    assert!(ns.state("bond1").contains("slaves: eth1\n"));
}

#[test]
fn up_applies_mtu_routes_and_matches_and_says_what_it_does_not() {
    if !can_run() {
        return;
    }
    let mut ns = Ns::new("facts");
    ns.start_daemon();
    // The NIC the file finds by its MAC address, under a name of the file's own.
    let link = ns.ip_out(&["-o", "link", "show", "eth1"]);
    let mac = link.split("link/ether ").nth(1).unwrap().split_whitespace().next().unwrap();
    let file = ns.write(
        "f",
        &[SourceFile::new(
            "/etc/netplan/01-bond.yaml",
            format!(
                "network:\n  version: 2\n  ethernets:\n    eth0: {{}}\n    port1:\n      match:\n        macaddress: \"{mac}\"\n  bonds:\n    bond0:\n      interfaces: [eth0, port1]\n      mtu: 1400\n      addresses: [192.0.2.40/24]\n      routes:\n        - to: 198.18.0.0/15\n          via: 192.0.2.254\n          metric: 50\n      nameservers:\n        addresses: [192.0.2.53]\n      parameters:\n        mode: active-backup\n        mii-monitor-interval: 100\n"
            ),
        )],
    );
    let o = ns.ubond(&["up", "--from", &file[0]]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("enslaved eth0 eth1"), "{out}");
    assert!(
        out.contains("mtu 1400") && out.contains("route 198.18.0.0/15 via 192.0.2.254 metric 50"),
        "{out}"
    );
    assert!(err.contains(&format!("port1: the file's macaddress {mac} is eth1 here")), "{err}");
    assert!(err.contains("not applied: dns 192.0.2.53"), "{err}");
    assert!(ns.state("bond0").contains("slaves: eth0 eth1\n"));
    assert!(ns.ip_out(&["-o", "link", "show", "bond0"]).contains("mtu 1400"));
    assert!(
        ns.ip_out(&["-o", "link", "show", "eth1"]).contains("mtu 1400"),
        "the slaves take the bond's MTU"
    );
    let routes = ns.ip_out(&["route", "show", "198.18.0.0/15"]);
    assert!(
        routes.contains("via 192.0.2.254 dev bond0") && routes.contains("metric 50"),
        "{routes}"
    );
    // Enslaved, eth1 may carry the bond's address: a second `up` still finds it by its own.
    let o = ns.ubond(&["up", "--from", &file[0]]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{out}{err}");
    assert!(err.contains(&format!("port1: the file's macaddress {mac} is eth1 here")), "{err}");
    assert!(out.contains("bond0: up to date"), "{out}{err}");
}

#[test]
fn convert_fails_on_a_silent_loss_unless_allowed() {
    let dir = std::env::temp_dir().join(format!("ubond-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("01-bond.yaml");
    std::fs::write(
        &path,
        "network:\n  version: 2\n  ethernets:\n    eth0: {}\n    eth1: {}\n  bonds:\n    bond0:\n      interfaces: [eth0, eth1]\n      mtu: 9000\n      parameters:\n        mode: 802.3ad\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let o = Command::new(BIN).args(["config", "convert", "--to", "ovs", p]).output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{p}:9:7: bond0: mtu 9000 not written")), "{err}");
    assert!(text(&o.stdout).contains("# bond0: mtu 9000 not written"), "the output says it too");
    let o = Command::new(BIN)
        .args(["config", "convert", "--to", "ovs", "--allow-loss", p])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Nothing lost: exit 0 without the flag.
    let o = Command::new(BIN).args(["config", "convert", "--to", "networkd", p]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
