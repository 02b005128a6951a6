//! Feeds each input, as text, to every configuration format's parser and linter (and to the
//! sysfs-write linter), and checks what the property tests check: no panic, every finding
//! names a place inside the given file, and whatever was understood converts to every format
//! and reads back without a panic. The first byte picks a file name, so the ifcfg, networkd
//! and keyfile parsers, which read meaning from names, see their own kinds of file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ubond_config::{convert, lint, lint_sysfs_writes, parse, Finding, Format, SourceFile};

const NAMES: &[&str] = &[
    "/etc/modprobe.d/bonding.conf",
    "/etc/network/interfaces",
    "/etc/sysconfig/network-scripts/ifcfg-bond0",
    "/etc/sysconfig/network-scripts/ifcfg-eth0",
    "/etc/systemd/network/bond0.netdev",
    "/etc/systemd/network/bond0.network",
    "/etc/systemd/network/10-eth0.link",
    "/etc/sysconfig/network-scripts/route-bond0",
    "/etc/NetworkManager/system-connections/bond0.nmconnection",
    "/etc/netplan/01-bond.yaml",
    "ovs.sh",
    "/etc/ubond/bonds.toml",
    "/etc/cloud/cloud.cfg.d/50-network.cfg",
];

fn check(findings: &[Finding], file: &SourceFile) {
    let lines = file.text.lines().count().max(1);
    for f in findings {
        assert_eq!(f.file, file.path, "finding names another file: {f}");
        assert!(f.line >= 1 && f.line as usize <= lines + 1, "line out of the file: {f}");
        assert!(f.column >= 1, "column 0: {f}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest).into_owned();
    let file = SourceFile::new(NAMES[usize::from(pick) % NAMES.len()], text);
    let files = std::slice::from_ref(&file);
    let _ = Format::detect(&file);
    for &format in Format::ALL {
        let parsed = parse(format, files);
        check(&parsed.findings, &file);
        check(&lint(format, files), &file);
        for &to in Format::ALL {
            let _ = parse(to, &convert(&parsed.config, to).files);
        }
    }
    check(&lint_sysfs_writes(&file), &file);
});
