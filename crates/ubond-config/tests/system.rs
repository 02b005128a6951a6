//! A system's own files: where they are looked for and how several formats merge.

use ubond_config::files::{MemFiles, RootDir};
use ubond_config::system::read_system;
use ubond_config::{Format, Severity};

mod samples;

#[test]
fn an_empty_system_has_no_files() {
    let s = read_system(&MemFiles::new().with("/etc/hostname", "x\n"));
    assert!(s.files.is_empty());
    assert!(s.config.bonds.is_empty());
}

#[test]
fn debian_with_includes_and_modprobe_options() {
    let fs = MemFiles::new()
        .with("/etc/network/interfaces", "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n")
        .with(
            "/etc/network/interfaces.d/bond0",
            "auto bond0\niface bond0 inet static\n    address 192.0.2.10/24\n    bond-slaves eth0 eth1\n",
        )
        .with("/etc/modprobe.d/bonding.conf", "alias bond0 bonding\noptions bond0 mode=802.3ad miimon=100 lacp_rate=fast\n")
        .with("/etc/modprobe.d/bonding.conf~", "options bond0 mode=balance-rr\n")
        .with("/etc/modprobe.d/blacklist.conf", "blacklist pcspkr\n");
    let s = read_system(&fs);
    assert!(!ubond_config::has_errors(&s.findings), "{:#?}", s.findings);
    assert_eq!(s.config.bonds.len(), 1);
    let b = &s.config.bonds[0];
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    assert_eq!(b.creation_options(), "mode=802.3ad miimon=100 lacp_rate=fast");
    assert_eq!(b.addresses.len(), 1);
    let read: Vec<(Format, usize)> = s.files.iter().map(|(f, v)| (*f, v.len())).collect();
    assert_eq!(read, [(Format::Interfaces, 2), (Format::Modprobe, 2)]);
}

#[test]
fn rhel_files_with_overriding_module_options() {
    let mut fs = MemFiles::new()
        .with(
            "/etc/modprobe.d/bonding.conf",
            "alias bond0 bonding\noptions bond0 mode=balance-rr miimon=50\n",
        )
        .with(
            "/etc/sysconfig/network-scripts/ifcfg-bond0.bak",
            "DEVICE=bond9\nBONDING_OPTS=\"mode=4\"\n",
        );
    for f in samples::rhel_active_backup() {
        fs = fs.with(f.path, f.text);
    }
    let s = read_system(&fs);
    let b = &s.config.bonds[0];
    assert_eq!(s.config.bonds.len(), 1, "the .bak file is skipped");
    assert_eq!(b.options.mode.name(), "active-backup", "BONDING_OPTS wins");
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    let w: Vec<String> = s
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        w,
        ["/etc/modprobe.d/bonding.conf:1:7: warning: these module options for 'bond0' are overridden by the options at /etc/sysconfig/network-scripts/ifcfg-bond0:1:1"],
        "{:#?}",
        s.findings
    );
}

#[test]
fn two_formats_disagreeing_is_an_error() {
    let fs = MemFiles::new()
        .with("/etc/network/interfaces", samples::IFENSLAVE_LACP)
        .with("/etc/ubond/bonds.toml", "[[bond]]\nname = \"bond0\"\nslaves = [\"eth0\"]\n[bond.options]\nmode = \"active-backup\"\nmiimon = 100\n");
    let s = read_system(&fs);
    let e: Vec<&ubond_config::Finding> =
        s.findings.iter().filter(|f| f.severity == Severity::Error).collect();
    assert_eq!(e.len(), 1, "{:#?}", s.findings);
    assert!(e[0].message.contains("also defined at /etc/ubond/bonds.toml"), "{}", e[0]);
    assert_eq!(e[0].file, "/etc/network/interfaces");
}

#[test]
fn every_location_is_read_from_a_real_tree() {
    let dir = std::env::temp_dir().join(format!("ubond-system-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let put = |p: &str, t: &str| {
        let path = dir.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).ok();
        std::fs::write(path, t).ok();
    };
    put(
        "/etc/systemd/network/bond1.netdev",
        "[NetDev]\nName=bond1\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\n",
    );
    put("/etc/systemd/network/eth2.network", "[Match]\nName=eth2\n\n[Network]\nBond=bond1\n");
    put("/etc/netplan/01-bond.yaml", "network:\n  version: 2\n  ethernets:\n    eth3: {}\n  bonds:\n    bond2:\n      interfaces: [eth3]\n      parameters:\n        mode: balance-xor\n        mii-monitor-interval: 100\n");
    put("/etc/NetworkManager/system-connections/bond3.nmconnection", "[connection]\nid=bond3\ntype=bond\ninterface-name=bond3\n\n[bond]\nmode=802.3ad\nmiimon=100\n\n[connection-slave]\n");
    put("/etc/NetworkManager/system-connections/eth4.nmconnection", "[connection]\nid=eth4\ntype=ethernet\ninterface-name=eth4\nmaster=bond3\nslave-type=bond\n");
    let s = read_system(&RootDir::new(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<(&str, Vec<String>)> =
        s.config.bonds.iter().map(|b| (b.name.as_str(), b.slaves.clone())).collect();
    assert_eq!(
        names,
        [
            ("bond1", vec!["eth2".to_owned()]),
            ("bond3", vec!["eth4".to_owned()]),
            ("bond2", vec!["eth3".to_owned()])
        ],
        "{:#?}",
        s.findings
    );
}

mod random {
    use proptest::prelude::*;
    use ubond_config::files::MemFiles;
    use ubond_config::system::read_system;

    const LINES: &[&str] = &[
        "iface bond0 inet static",
        "    bond-slaves eth0 eth1",
        "    bond-mode 802.3ad",
        "    address 192.0.2.1/24",
        "source /etc/network/interfaces",
        "source-directory /etc/network",
        "alias bond0 bonding",
        "options bond0 mode=1 miimon=100",
        "options bonding max_bonds=3",
        "DEVICE=bond0",
        "MASTER=bond0",
        "BONDING_OPTS=\"mode=4\"",
        "[NetDev]",
        "Name=bond0",
        "Kind=bond",
        "[Network]",
        "Bond=bond0",
        "[connection]",
        "type=bond",
        "interface-name=bond0",
        "network:",
        "  bonds:",
        "    bond0:",
        "      interfaces: [eth0]",
        "[[bond]]",
        "name = \"bond0\"",
        "slaves = [\"eth1\"]",
        "\t",
        "é",
    ];

    fn file() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(LINES), 0..10).prop_map(|v| v.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Whatever the files hold: no panic, every finding in a file that exists.
        #[test]
        fn any_system_tree_is_read_without_panic(t in prop::collection::vec(file(), 8)) {
            let paths = [
                "/etc/network/interfaces",
                "/etc/sysconfig/network-scripts/ifcfg-bond0",
                "/etc/modprobe.d/bonding.conf",
                "/etc/systemd/network/bond0.netdev",
                "/etc/systemd/network/eth0.network",
                "/etc/NetworkManager/system-connections/bond0.nmconnection",
                "/etc/netplan/01.yaml",
                "/etc/ubond/bonds.toml",
            ];
            let mut fs = MemFiles::new();
            for (p, text) in paths.iter().zip(t) {
                fs = fs.with(*p, text);
            }
            let s = read_system(&fs);
            for f in &s.findings {
                prop_assert!(paths.contains(&f.file.as_str()), "{f}");
            }
        }
    }
}

#[test]
fn the_content_of_a_file_decides_its_format_not_its_directory() {
    let fs = MemFiles::new().with(
        "/etc/netplan/ifcfg-bond0.yaml",
        "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=active-backup miimon=100\"\nIPADDR=192.0.2.10\nPREFIX=24\n",
    );
    let s = read_system(&fs);
    assert!(!ubond_config::has_errors(&s.findings), "{:#?}", s.findings);
    assert_eq!(s.config.bonds.len(), 1, "{:#?}", s.findings);
    assert_eq!(s.config.bonds[0].addresses.len(), 1);
    assert!(
        s.findings.iter().any(|f| f.severity == Severity::Info
            && f.message == "read as ifcfg (its content), not netplan (its place)"),
        "{:#?}",
        s.findings
    );
    assert_eq!(s.files, [(Format::Ifcfg, vec!["/etc/netplan/ifcfg-bond0.yaml".to_owned()])]);
}

#[test]
fn an_ifcfg_file_alone_is_the_bond_modprobe_d_makes() {
    // bonding.rst's initscripts example without the slaves' files: ifcfg-bond0 has no TYPE
    // and no BONDING_OPTS; modprobe.d makes the bonding device and gives its options.
    let bond0 = "DEVICE=bond0\nIPADDR=192.168.1.1\nNETMASK=255.255.255.0\nNETWORK=192.168.1.0\nBROADCAST=192.168.1.255\nONBOOT=yes\nBOOTPROTO=none\nUSERCTL=no\n";
    let fs = MemFiles::new()
        .with("/etc/sysconfig/network-scripts/ifcfg-bond0", bond0)
        .with("/etc/sysconfig/network-scripts/route-bond0", "198.51.100.0/24 via 192.168.1.254\n")
        .with("/etc/sysconfig/network-scripts/ifcfg-eth9", "DEVICE=eth9\nBOOTPROTO=dhcp\n")
        .with(
            "/etc/modprobe.d/bonding.conf",
            "alias bond0 bonding\noptions bond0 mode=balance-alb miimon=100\n",
        );
    let s = read_system(&fs);
    assert!(!ubond_config::has_errors(&s.findings), "{:#?}", s.findings);
    assert_eq!(s.config.bonds.len(), 1, "{:#?}", s.config.bonds);
    let b = &s.config.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.creation_options(), "mode=balance-alb miimon=100");
    assert_eq!(b.addresses, [("192.168.1.1".parse().unwrap(), 24)]);
    assert_eq!(b.routes.len(), 1);
    // Without modprobe.d it is no bond, and the file says so.
    let p = ubond_config::parse(
        Format::Ifcfg,
        &[ubond_config::SourceFile::new("/etc/sysconfig/network-scripts/ifcfg-bond0", bond0)],
    );
    assert!(p.config.bonds.is_empty());
    assert!(
        p.findings.iter().any(|f| f.message.contains("a bond only if modprobe.d makes one")),
        "{:#?}",
        p.findings
    );
}

/// networkd's drop-ins next to the units are read with them.
#[test]
fn networkd_drop_ins_are_read_with_their_units() {
    let fs = MemFiles::new()
        .with(
            "/etc/systemd/network/25-bond0.netdev",
            "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\n",
        )
        .with("/etc/systemd/network/25-bond0.netdev.d/mii.conf", "[Bond]\nMIIMonitorSec=100ms\n")
        .with("/etc/systemd/network/25-bond0.netdev.d/notes.txt", "not a drop-in\n")
        .with(
            "/etc/systemd/network/30-eth0.network",
            "[Match]\nName=eth0\n[Network]\nBond=bond0\n",
        );
    let s = read_system(&fs);
    assert!(!ubond_config::has_errors(&s.findings), "{:#?}", s.findings);
    let b = &s.config.bonds[0];
    assert_eq!((b.name.as_str(), b.options.miimon), ("bond0", 100));
    let read: Vec<&String> = s.files.iter().flat_map(|(_, f)| f).collect();
    assert!(read.iter().any(|f| f.ends_with("25-bond0.netdev.d/mii.conf")), "{read:?}");
    assert!(!read.iter().any(|f| f.ends_with("notes.txt")), "{read:?}");
}
