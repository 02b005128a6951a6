//! Module options and modprobe.d: parse, emit, lint, sysfs writes.

use ubond_config::{lint_sysfs_writes, modprobe, Severity, SourceFile};
use ubond_core::options::{LacpRate, Mode};

fn file(text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new("/etc/modprobe.d/bonding.conf", text)]
}

#[test]
fn alias_and_options_with_continuation() {
    let p = modprobe::parse(&file(
        "# LACP bond\nalias bond0 bonding\noptions bond0 mode=802.3ad \\\n    miimon=100 lacp_rate=fast\ninstall bonding /sbin/modprobe --ignore-install bonding\n",
    ));
    assert_eq!(p.config.bonds.len(), 1);
    let b = &p.config.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.options.mode, Mode::Ieee8023ad);
    assert_eq!(b.options.miimon, 100);
    assert_eq!(b.options.lacp_rate, LacpRate::Fast);
    let lacp = &b.spans.options["lacp_rate"];
    assert_eq!((lacp.line, lacp.column), (4, 16));
    let info: Vec<_> = p.findings.iter().filter(|f| f.severity == Severity::Info).collect();
    assert_eq!(info.len(), 1, "{:?}", p.findings);
    assert_eq!(info[0].line, 5);
    assert!(!ubond_config::has_errors(&p.findings), "{:?}", p.findings);
}

#[test]
fn seed_typo_in_command() {
    let p = modprobe::parse(&file("alias bond0 bonding\n  optinons bond0 mode=802.3ad\n"));
    let e = p.findings.iter().find(|f| f.severity == Severity::Error).expect("an error");
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.message.contains("did you mean 'options'?"), "{e}");
    assert_eq!(e.fix.as_deref(), Some("options"));
    assert_eq!(
        e.to_string(),
        "/etc/modprobe.d/bonding.conf:2:3: error: unknown command 'optinons' (did you mean 'options'?)"
    );
}

#[test]
fn every_bad_option_is_reported_with_its_column() {
    let p = modprobe::parse(&file(
        "options bonding mode=4 miimmon=100 lacp_rate=fats xmit_hash_policy=layer3+4\n",
    ));
    let errors: Vec<_> = p.findings.iter().filter(|f| f.severity == Severity::Error).collect();
    assert_eq!(errors.len(), 2, "{:?}", p.findings);
    assert_eq!(errors[0].column, 24);
    assert!(errors[0].message.contains("unknown option 'miimmon' (did you mean 'miimon'?)"));
    assert_eq!(errors[0].fix.as_deref(), Some("miimon"));
    assert_eq!(errors[1].column, 46, "{}", errors[1]);
    // The rest still applies.
    let b = &p.config.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.options.mode, Mode::Ieee8023ad);
    assert_eq!(b.options.xmit_hash_policy.to_string(), "layer3+4");
}

#[test]
fn options_bonding_without_alias_makes_max_bonds_bonds() {
    let p = modprobe::parse(&file("options bonding max_bonds=2 mode=active-backup miimon=100\n"));
    let names: Vec<_> = p.config.bonds.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["bond0", "bond1"]);
}

#[test]
fn options_for_unaliased_bond_warns_with_fix() {
    let p = modprobe::parse(&file("options bond1 mode=1 miimon=100\n"));
    let w = p.findings.iter().find(|f| f.severity == Severity::Warning).expect("warning");
    assert_eq!(w.fix.as_deref(), Some("alias bond1 bonding"));
    assert_eq!(p.config.bonds[0].name, "bond1");
}

#[test]
fn emit_then_parse_is_identical() {
    let src = "alias bond0 bonding\nalias bond1 bonding\noptions bonding miimon=100\noptions bond0 mode=802.3ad lacp_rate=fast xmit_hash_policy=layer2+3 ad_actor_sys_prio=100 min_links=1\noptions bond1 mode=active-backup primary=eth2 primary_reselect=better updelay=200 downdelay=200 fail_over_mac=active num_grat_arp=3\n";
    let p1 = modprobe::parse(&file(src));
    assert!(!ubond_config::has_errors(&p1.findings), "{:?}", p1.findings);
    let out = modprobe::emit(&p1.config);
    let p2 = modprobe::parse(&out);
    assert!(
        p1.config.same_meaning(&p2.config),
        "{}\n{:?}\n{:?}",
        out[0].text,
        p1.config,
        p2.config
    );
    assert_eq!(modprobe::emit(&p2.config), out);
    assert_eq!(p2.config.bonds[1].options.updelay_ms(), 200);
}

#[test]
fn sysfs_typo_in_directory() {
    let f = SourceFile::new(
        "setup.sh",
        "#!/bin/sh\necho +bond0 > /sys/class/net/bonding_masters\necho 100 > /sys/class/net/bond0/bondign/miimon\n",
    );
    let found = lint_sysfs_writes(&f);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].line, found[0].column), (3, 33));
    assert!(found[0].message.contains("did you mean 'bonding'?"), "{}", found[0]);
    assert_eq!(found[0].fix.as_deref(), Some("bonding"));
}

#[test]
fn sysfs_unknown_option_order_and_tee() {
    let f = SourceFile::new(
        "setup.sh",
        "echo 200 > /sys/class/net/bond0/bonding/updelay\necho 100 | sudo tee /sys/class/net/bond0/bonding/miimmon\necho +eth0 > /sys/class/net/bond0/bonding/slaves\necho 1 > /sys/class/net/bond0/bonding/mode\necho fast > /sys/class/net/bond0/bonding_slave/queue_id\n",
    );
    let found = lint_sysfs_writes(&f);
    let lines: Vec<_> = found.iter().map(|f| (f.line, f.severity)).collect();
    assert_eq!(
        lines,
        [(1, Severity::Error), (2, Severity::Error), (4, Severity::Error), (5, Severity::Error)],
        "{found:#?}"
    );
    assert!(found[0].message.contains("MII monitoring is disabled"), "{}", found[0]);
    assert!(found[1].message.contains("did you mean 'miimon'?"));
    assert!(found[2].message.contains("slaves"), "{}", found[2]);
}

#[test]
fn duplicate_queue_ids_are_refused() {
    let f = modprobe::lint(&file("options bonding mode=1 miimon=100 queue_id=eth0:2,eth1:2\n"));
    assert!(
        f.iter().any(|x| x.severity == Severity::Error && x.message.contains("queue_id 2")),
        "{f:?}"
    );
}
