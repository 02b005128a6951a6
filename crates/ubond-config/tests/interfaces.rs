//! Debian /etc/network/interfaces: parse, emit, lint.

mod samples;

use samples::{IFENSLAVE_LACP, WIKI_ACTIVE_BACKUP};
use ubond_config::{interfaces, Severity, SourceFile};
use ubond_core::options::{LacpRate, Mode};

fn file(text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new("/etc/network/interfaces", text)]
}

#[test]
fn wiki_active_backup() {
    let p = interfaces::parse(&file(WIKI_ACTIVE_BACKUP));
    assert_eq!(p.config.bonds.len(), 1, "{:?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    assert_eq!(b.options.mode, Mode::ActiveBackup);
    assert_eq!(b.options.miimon, 100);
    assert_eq!(b.options.updelay_ms(), 200);
    assert_eq!(b.options.primary.as_deref(), Some("eth0"));
    assert_eq!(b.addresses, [("192.168.1.10".parse().unwrap(), 24)]);
    assert_eq!(b.gateway(true), Some("192.168.1.1".parse().unwrap()));
    assert!(!ubond_config::has_errors(&p.findings), "{:?}", p.findings);
    let lint = interfaces::lint(&file(WIKI_ACTIVE_BACKUP));
    assert!(lint.iter().all(|f| f.severity == Severity::Info), "{lint:#?}");
}

#[test]
fn ifenslave_lacp_and_members_spelling() {
    let p = interfaces::parse(&file(IFENSLAVE_LACP));
    let b = &p.config.bonds[0];
    assert_eq!(b.options.mode, Mode::Ieee8023ad);
    assert_eq!(b.options.lacp_rate, LacpRate::Fast);
    assert_eq!(b.options.min_links, 1);
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    let ng = interfaces::parse(&file(
        &IFENSLAVE_LACP.replace("bond-slaves", "bond-members").replace("bond-mode", "bond_mode"),
    ));
    assert!(p.config.same_meaning(&ng.config));
}

#[test]
fn lint_findings_name_their_places() {
    let text = "\
auto bond0
iface bond0 inet manual
    bond-slaves eth0 eth1
    bond-mode active-backup
    bond-miimmon 100
    bond-lacp-rate fast
    bond-xmit-hash-policy layer3+4
    bond-arp-interval 1000
    bond-arp-ip-target 192.0.2.1
    bond-miimon 100
    bond-updelay abc

iface bond1 inet manual
    bond-slaves eth1
    bond-mode balance-alb
    bond-miimon 100

ifcae bond2 inet manual
";
    let f = interfaces::lint(&file(text));
    let show = |f: &[ubond_config::Finding]| {
        f.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n")
    };
    let has = |line: u32, sev: Severity, needle: &str| {
        f.iter().any(|x| x.line == line && x.severity == sev && x.message.contains(needle))
    };
    assert!(
        has(5, Severity::Error, "unknown option 'bond-miimmon' (did you mean 'bond-miimon'?)"),
        "{}",
        show(&f)
    );
    assert!(has(6, Severity::Warning, "has no effect in mode active-backup"), "{}", show(&f));
    assert!(has(7, Severity::Warning, "has no effect in mode active-backup"), "{}", show(&f));
    assert!(has(8, Severity::Warning, "both set"), "{}", show(&f));
    assert!(has(11, Severity::Error, "updelay"), "{}", show(&f));
    assert!(has(14, Severity::Error, "claimed by two bonds"), "{}", show(&f));
    assert!(has(18, Severity::Error, "did you mean 'iface'?"), "{}", show(&f));
    let typo = f.iter().find(|x| x.line == 5).unwrap();
    assert_eq!((typo.column, typo.fix.as_deref()), (5, Some("bond-miimon")));
    let upd = f.iter().find(|x| x.line == 11 && x.severity == Severity::Error).unwrap();
    assert_eq!(upd.column, 18);
}

#[test]
fn bond_without_slaves_is_reported() {
    let f =
        interfaces::lint(&file("iface bond0 inet dhcp\n    bond-mode 1\n    bond-miimon 100\n"));
    assert!(
        f.iter().any(|x| x.severity == Severity::Warning
            && x.message.contains("no slaves")
            && x.line == 1),
        "{f:?}"
    );
}

#[test]
fn round_trip_is_identical() {
    let extra = "\
iface bond1 inet dhcp
    bond-slaves eth2 eth3
    bond-mode balance-xor
    bond-arp-interval 500
    bond-arp-ip-target 192.0.2.1 192.0.2.2
    bond-arp-validate all
    bond-xmit-hash-policy layer2+3

iface bond1 inet6 static
    address 2001:db8::5/64
    gateway 2001:db8::1

iface eth2 inet manual
    bond-queue-id 2

iface bond2 inet manual
    bond-slaves eth4 eth5
    bond-mode 802.3ad
    bond-ad-actor-system 02:00:00:00:00:01
    bond-lacp-active off

iface eth5 inet manual
    bond-actor-port-prio 100
";
    for src in [WIKI_ACTIVE_BACKUP, IFENSLAVE_LACP, extra] {
        let p1 = interfaces::parse(&file(src));
        assert!(!ubond_config::has_errors(&p1.findings), "{:?}", p1.findings);
        let out = interfaces::emit(&p1.config);
        let p2 = interfaces::parse(&out);
        assert!(!ubond_config::has_errors(&p2.findings), "{:?}", p2.findings);
        assert!(
            p1.config.same_meaning(&p2.config),
            "{}\n{:#?}\n{:#?}",
            out[0].text,
            p1.config,
            p2.config
        );
        assert_eq!(interfaces::emit(&p2.config), out);
    }
    let p = interfaces::parse(&file(extra));
    let b1 = p.config.bond("bond1").unwrap();
    assert!(b1.dhcp4);
    assert_eq!(b1.options.arp_ip_target.len(), 2);
    assert_eq!(b1.options.slave("eth2").queue_id, 2);
    assert_eq!(p.config.bond("bond2").unwrap().options.slave("eth5").actor_port_prio, 100);
}
