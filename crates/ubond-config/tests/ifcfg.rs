//! RHEL ifcfg files: parse, emit, lint.

mod samples;

use samples::rhel_active_backup;
use ubond_config::{ifcfg, Severity, SourceFile};
use ubond_core::options::Mode;

#[test]
fn rhel_sample() {
    let p = ifcfg::parse(&rhel_active_backup());
    assert!(!ubond_config::has_errors(&p.findings), "{:?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    assert_eq!(b.options.mode, Mode::ActiveBackup);
    assert_eq!(b.options.downdelay_ms(), 200);
    assert_eq!(b.addresses, [("192.168.1.10".parse().unwrap(), 24)]);
    let lint = ifcfg::lint(&rhel_active_backup());
    assert!(lint.is_empty(), "{lint:?}");
}

#[test]
fn lint_places() {
    let files = vec![
        SourceFile::new(
            "ifcfg-bond0",
            "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=4 miimmon=100 lacp_rate=fats\"\nIPADDR=10.1.1.1\nNETMASK=255.255.0.0\nBONDING_MASTR=yes\n",
        ),
        SourceFile::new("ifcfg-eth0", "DEVICE=eth0\nMASTER=bond0\n"),
        SourceFile::new("ifcfg-eth1", "DEVICE=eth1\nMASTER=bnod0\nSLAVE=yes\n"),
    ];
    let f = ifcfg::lint(&files);
    let show = f.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n");
    let find = |file: &str, line: u32, col: u32, sev: Severity, needle: &str| {
        f.iter().any(|x| {
            x.file == file
                && x.line == line
                && x.column == col
                && x.severity == sev
                && x.message.contains(needle)
        })
    };
    assert!(
        find(
            "ifcfg-bond0",
            3,
            22,
            Severity::Error,
            "unknown option 'miimmon' (did you mean 'miimon'?)"
        ),
        "{show}"
    );
    assert!(find("ifcfg-bond0", 3, 44, Severity::Error, "lacp_rate"), "{show}");
    assert!(
        find("ifcfg-bond0", 6, 1, Severity::Warning, "did you mean 'BONDING_MASTER'?"),
        "{show}"
    );
    assert!(find("ifcfg-eth0", 2, 1, Severity::Warning, "without SLAVE=yes"), "{show}");
    assert!(find("ifcfg-eth1", 2, 8, Severity::Warning, "did you mean 'bond0'?"), "{show}");
    let p = ifcfg::parse(&files);
    assert_eq!(p.config.bonds[0].addresses, [("10.1.1.1".parse().unwrap(), 16)]);
}

#[test]
fn round_trip_is_identical() {
    let more = vec![
        SourceFile::new(
            "ifcfg-bond1",
            "DEVICE=bond1\nTYPE=Bond\nBOOTPROTO=dhcp\nIPV6INIT=yes\nIPV6ADDR=2001:db8::2/64\nIPV6ADDR_SECONDARIES=\"2001:db8:1::2/64\"\nIPV6_DEFAULTGW=2001:db8::1\nBONDING_OPTS='mode=balance-xor arp_interval=1000 arp_ip_target=+192.0.2.1,+192.0.2.2 xmit_hash_policy=layer2+3 queue_id=eth2:3'\n",
        ),
        SourceFile::new("ifcfg-eth2", "DEVICE=eth2\nMASTER=bond1\nSLAVE=yes\n"),
        SourceFile::new("ifcfg-eth3", "DEVICE=eth3\nMASTER=bond1\nSLAVE=yes\n"),
    ];
    for files in [rhel_active_backup(), more] {
        let p1 = ifcfg::parse(&files);
        assert!(!ubond_config::has_errors(&p1.findings), "{:?}", p1.findings);
        let out = ifcfg::emit(&p1.config);
        let p2 = ifcfg::parse(&out);
        assert!(p1.config.same_meaning(&p2.config), "{out:#?}\n{:#?}\n{:#?}", p1.config, p2.config);
        assert_eq!(ifcfg::emit(&p2.config), out);
    }
}

#[test]
fn module_only_parameters_are_flagged() {
    let f = ifcfg::lint(&[SourceFile::new(
        "ifcfg-bond0",
        "DEVICE=bond0\nBONDING_OPTS=\"mode=1 miimon=100 max_bonds=2\"\n",
    )]);
    assert!(
        f.iter().any(|x| x.severity == Severity::Warning
            && x.column == 33
            && x.message.contains("module parameter only")),
        "{f:?}"
    );
}
