//! Whether a bond starts at boot: read from every format that says it, written back, and
//! said as a comment by the formats that cannot.

use ubond_config::files::MemFiles;
use ubond_config::system::read_system;
use ubond_config::{emit, parse, BondConfig, ConfigSet, Format, Severity, SourceFile};

fn one(format: Format, files: &[SourceFile]) -> Vec<(String, bool, Option<String>)> {
    let p = parse(format, files);
    assert!(!ubond_config::has_errors(&p.findings), "{format}: {:#?}", p.findings);
    p.config.bonds.iter().map(|b| (b.name.clone(), b.on_boot, b.not_on_boot_reason())).collect()
}

fn row(name: &str, on_boot: bool, why: Option<&str>) -> (String, bool, Option<String>) {
    (name.to_owned(), on_boot, why.map(str::to_owned))
}

#[test]
fn interfaces_auto_allow_hotplug_and_none() {
    let f = SourceFile::new(
        "/etc/network/interfaces",
        "auto lo bond0\niface lo inet loopback\n\niface bond0 inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n\nallow-hotplug bond1\niface bond1 inet manual\n    bond-slaves eth1\n    bond-mode active-backup\n\niface bond2 inet manual\n    bond-slaves eth2\n    bond-mode active-backup\n\nallow-ovs bond3\niface bond3 inet manual\n    bond-slaves eth3\n    bond-mode active-backup\n\nallow-auto bond4\niface bond4 inet manual\n    bond-slaves eth4\n    bond-mode active-backup\n",
    );
    assert_eq!(
        one(Format::Interfaces, &[f]),
        [
            row("bond0", true, None),
            row("bond1", true, None),
            row(
                "bond2",
                false,
                Some("no \"auto bond2\" line for its stanza at /etc/network/interfaces:13:7")
            ),
            row(
                "bond3",
                false,
                Some("no \"auto bond3\" line for its stanza at /etc/network/interfaces:18:7")
            ),
            row("bond4", true, None),
        ]
    );
}

#[test]
fn interfaces_bond_without_stanza_follows_its_slaves() {
    // Old ifenslave style: the bond is made when its slave comes up.
    let f = |auto: &str| {
        vec![SourceFile::new(
            "/etc/network/interfaces",
            format!("{auto}iface eth0 inet manual\n    bond-master bond0\n    bond-mode active-backup\n"),
        )]
    };
    let p = parse(Format::Interfaces, &f("auto eth0\n"));
    assert!(p.config.bonds[0].on_boot);
    let p = parse(Format::Interfaces, &f(""));
    assert!(!p.config.bonds[0].on_boot);
    assert_eq!(
        p.config.bonds[0].not_on_boot_reason().unwrap(),
        "no \"auto\" line for bond0 or a slave with bond-master bond0 at /etc/network/interfaces:2:17"
    );
}

#[test]
fn interfaces_emits_auto_only_for_bonds_started_at_boot() {
    let mut set = ConfigSet::default();
    for (name, boot) in [("bond0", true), ("bond1", false)] {
        let mut b = BondConfig::new(name);
        b.slaves = vec![format!("eth{}", &name[4..])];
        b.on_boot = boot;
        set.bonds.push(b);
    }
    let text = &emit(&set, Format::Interfaces)[0].text;
    assert!(text.contains("\nauto bond0\niface bond0 inet manual\n"), "{text}");
    assert!(!text.contains("auto bond1"), "{text}");
    let back = parse(Format::Interfaces, &emit(&set, Format::Interfaces));
    assert!(back.config.same_meaning(&set), "{text}");
}

#[test]
fn ifcfg_onboot() {
    let files = |onboot: &str| {
        vec![
            SourceFile::new(
                "/etc/sysconfig/network-scripts/ifcfg-bond0",
                format!("DEVICE=bond0\nTYPE=Bond\n{onboot}BONDING_OPTS=\"mode=active-backup miimon=100\"\n"),
            ),
            SourceFile::new(
                "/etc/sysconfig/network-scripts/ifcfg-eth0",
                "DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\n",
            ),
        ]
    };
    assert_eq!(one(Format::Ifcfg, &files("")), [row("bond0", true, None)]);
    assert_eq!(one(Format::Ifcfg, &files("ONBOOT=yes\n")), [row("bond0", true, None)]);
    assert_eq!(one(Format::Ifcfg, &files("ONBOOT=\"yes\"\n")), [row("bond0", true, None)]);
    assert_eq!(
        one(Format::Ifcfg, &files("ONBOOT=no\n")),
        [row("bond0", false, Some("ONBOOT=no at /etc/sysconfig/network-scripts/ifcfg-bond0:3:1"))]
    );
    assert_eq!(
        one(Format::Ifcfg, &files("ONBOOT=NO\n")),
        [row("bond0", false, Some("ONBOOT=NO at /etc/sysconfig/network-scripts/ifcfg-bond0:3:1"))]
    );
    // Something else: taken as yes, and said.
    let p = parse(Format::Ifcfg, &files("ONBOOT=maybe\n"));
    assert!(p.config.bonds[0].on_boot);
    let w = p.findings.iter().find(|f| f.message.contains("ONBOOT=maybe")).unwrap();
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!((w.line, w.column), (3, 8));

    // Written back: ONBOOT=no on the bond and on its slaves.
    let p = parse(Format::Ifcfg, &files("ONBOOT=no\n"));
    let out = emit(&p.config, Format::Ifcfg);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|f| f.text.contains("\nONBOOT=no\n")), "{out:#?}");
    assert!(parse(Format::Ifcfg, &out).config.same_meaning(&p.config));
    let p = parse(Format::Ifcfg, &files(""));
    let out = emit(&p.config, Format::Ifcfg);
    assert!(out.iter().all(|f| f.text.contains("\nONBOOT=yes\n")), "{out:#?}");
}

#[test]
fn keyfile_autoconnect() {
    let files = |autoconnect: &str| {
        vec![
            SourceFile::new(
                "/etc/NetworkManager/system-connections/bond0.nmconnection",
                format!("[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\n{autoconnect}\n[bond]\nmode=active-backup\nmiimon=100\n"),
            ),
            SourceFile::new(
                "/etc/NetworkManager/system-connections/bond0-port-eth0.nmconnection",
                "[connection]\nid=bond0-port-eth0\ntype=ethernet\ninterface-name=eth0\ncontroller=bond0\nport-type=bond\n",
            ),
        ]
    };
    assert_eq!(one(Format::Keyfile, &files("")), [row("bond0", true, None)]);
    assert_eq!(one(Format::Keyfile, &files("autoconnect=true\n")), [row("bond0", true, None)]);
    assert_eq!(
        one(Format::Keyfile, &files("autoconnect=false\n")),
        [row(
            "bond0",
            false,
            Some("autoconnect=false at /etc/NetworkManager/system-connections/bond0.nmconnection:5:1")
        )]
    );
    let p = parse(Format::Keyfile, &files("autoconnect=maybe\n"));
    let e = p.findings.iter().find(|f| f.message.contains("autoconnect=maybe")).unwrap();
    assert_eq!((e.severity, e.line, e.column), (Severity::Error, 5, 13));

    let p = parse(Format::Keyfile, &files("autoconnect=false\n"));
    let out = emit(&p.config, Format::Keyfile);
    assert!(out.iter().all(|f| f.text.contains("\nautoconnect=false\n")), "{out:#?}");
    assert!(parse(Format::Keyfile, &out).config.same_meaning(&p.config));
    let p = parse(Format::Keyfile, &files(""));
    let out = emit(&p.config, Format::Keyfile);
    assert!(out.iter().all(|f| !f.text.contains("autoconnect")), "{out:#?}");
}

#[test]
fn toml_on_boot() {
    let file = |extra: &str| {
        vec![SourceFile::new(
            "/etc/ubond/bonds.toml",
            format!("[[bond]]\nname = \"bond0\"\nslaves = [\"eth0\"]\n{extra}"),
        )]
    };
    assert_eq!(one(Format::Toml, &file("")), [row("bond0", true, None)]);
    assert_eq!(one(Format::Toml, &file("on_boot = true\n")), [row("bond0", true, None)]);
    assert_eq!(
        one(Format::Toml, &file("on_boot = false\n")),
        [row("bond0", false, Some("on_boot = false at /etc/ubond/bonds.toml:4:1"))]
    );
    let p = parse(Format::Toml, &file("on_boot = \"no\"\n"));
    let e = p.findings.iter().find(|f| f.message.starts_with("on_boot:")).unwrap();
    assert_eq!(e.message, "on_boot: expected true or false, found a string");
    let p = parse(Format::Toml, &file("onboot = false\n"));
    assert!(
        p.findings.iter().any(|f| f.message.contains("did you mean 'on_boot'")),
        "{:?}",
        p.findings
    );

    let p = parse(Format::Toml, &file("on_boot = false\n"));
    let out = emit(&p.config, Format::Toml);
    assert!(out[0].text.contains("\non_boot = false\n"), "{}", out[0].text);
    assert!(parse(Format::Toml, &out).config.same_meaning(&p.config));
    let p = parse(Format::Toml, &file(""));
    assert!(!emit(&p.config, Format::Toml)[0].text.contains("on_boot"));
}

#[test]
fn formats_without_the_notion_start_every_bond_and_say_what_they_lose() {
    let mut b = BondConfig::new("bond0");
    // Two slaves: an OVS bond needs two (ovs-vsctl refuses add-bond with one).
    b.slaves = vec!["eth0".into(), "eth1".into()];
    b.on_boot = false;
    let set = ConfigSet { bonds: vec![b] };
    for &to in Format::ALL {
        let out = emit(&set, to);
        let said = out.iter().any(|f| {
            f.text
                .lines()
                .any(|l| l.trim_start().starts_with('#') && l.contains("not started at boot"))
        });
        let back = parse(to, &out);
        assert!(!ubond_config::has_errors(&back.findings), "{to}: {:#?}", back.findings);
        let on_boot = back.config.bonds[0].on_boot;
        if to.has_on_boot() {
            assert!(!on_boot && !said, "{to}: {out:#?}");
        } else {
            assert!(on_boot && said, "{to}: {out:#?}");
        }
    }
}

#[test]
fn json_keeps_the_flag_and_defaults_to_true() {
    let mut b = BondConfig::new("bond0");
    b.on_boot = false;
    let set = ConfigSet { bonds: vec![b] };
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(serde_json::from_str::<ConfigSet>(&json).unwrap(), set);
    let old = json.replace("\"on_boot\":false,", "");
    assert_ne!(old, json);
    assert!(serde_json::from_str::<ConfigSet>(&old).unwrap().bonds[0].on_boot);
}

#[test]
fn merged_formats_start_a_bond_if_one_of_them_does() {
    let fs = MemFiles::new()
        .with(
            "/etc/network/interfaces",
            "iface bond0 inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n",
        )
        .with(
            "/etc/netplan/01-bond.yaml",
            "network:\n  version: 2\n  ethernets:\n    eth0: {}\n  bonds:\n    bond0:\n      interfaces: [eth0]\n      parameters:\n        mode: active-backup\n        mii-monitor-interval: 100\n",
        );
    let s = read_system(&fs);
    assert!(!ubond_config::has_errors(&s.findings), "{:#?}", s.findings);
    assert_eq!(s.config.bonds.len(), 1);
    assert!(s.config.bonds[0].on_boot);
    assert!(s.config.bonds[0].spans.not_on_boot.is_none());
    let note = s.findings.iter().find(|f| f.message.contains("starts at boot")).unwrap();
    assert_eq!(note.severity, Severity::Info);
    assert!(note.message.contains("no \"auto bond0\" line"), "{}", note.message);
    // A real difference is still an error.
    let fs = fs.with(
        "/etc/netplan/01-bond.yaml",
        "network:\n  version: 2\n  ethernets:\n    eth0: {}\n  bonds:\n    bond0:\n      interfaces: [eth0]\n      parameters:\n        mode: active-backup\n        mii-monitor-interval: 50\n",
    );
    assert!(ubond_config::has_errors(&read_system(&fs).findings));
}
