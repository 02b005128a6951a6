//! Dialects and mistakes the corpus does not show on its own: each as small as it can be.

#![allow(clippy::unwrap_used)]

use ubond_config::{convert, lint, parse, Fact, Format, Severity, SourceFile};

fn one(path: &str, text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new(path, text)]
}

fn errors(f: &[ubond_config::Finding]) -> Vec<String> {
    f.iter().filter(|x| x.severity == Severity::Error).map(|x| x.to_string()).collect()
}

#[test]
fn ifupdown2_vlan_stanzas_and_old_slaves_keyword_are_read() {
    let text = "auto bond0\niface bond0\n    slaves eth0 eth1\n    bond_mode active-backup\n    bond_miimon 100\n\nauto bridge.4094\nvlan bridge.4094\n    bridge-igmp-querier-src 172.16.101.1\n";
    let f = one("/etc/network/interfaces", text);
    let found = lint(Format::Interfaces, &f);
    assert!(errors(&found).is_empty(), "{found:#?}");
    let b = &parse(Format::Interfaces, &f).config.bonds[0];
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    // Written back as bond-slaves, which every tool (and ubond) reads.
    let out = &convert(&parse(Format::Interfaces, &f).config, Format::Interfaces).files[0].text;
    assert!(out.contains("bond-slaves eth0 eth1"), "{out}");
}

#[test]
fn the_content_decides_the_format_not_the_directory() {
    let f = SourceFile::new(
        "/etc/netplan/ifcfg-bond0",
        "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=1 miimon=100\"\n",
    );
    assert_eq!(Format::detect(&f), Some(Format::Ifcfg));
    let y = SourceFile::new("/srv/bond.conf", "network:\n  version: 1\n  config: []\n");
    assert_eq!(Format::detect(&y), Some(Format::CloudInit1));
    let n = SourceFile::new("/srv/x", "[NetDev]\nName=bond0\nKind=bond\n");
    assert_eq!(Format::detect(&n), Some(Format::Networkd));
}

#[test]
fn ip_configuration_on_a_slave_is_said_and_kept_as_lost() {
    let text = "auto bond0\niface bond0 inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n\niface eth0 inet static\n    address 192.0.2.5/24\n";
    let f = one("/etc/network/interfaces", text);
    let found = lint(Format::Interfaces, &f);
    assert!(
        found.iter().any(|x| x.severity == Severity::Warning
            && x.line == 8
            && x.message.contains("'address' on 'eth0', a slave of bond 'bond0'")),
        "{found:#?}"
    );
    let c = convert(&parse(Format::Interfaces, &f).config, Format::Netplan);
    assert!(
        c.losses
            .iter()
            .any(|l| matches!(&l.fact, Fact::Extra(e) if e.contains("address 192.0.2.5/24"))
                && l.to_string().starts_with("/etc/network/interfaces:8:5: bond0:")),
        "{:#?}",
        c.losses
    );
}

#[test]
fn a_netplan_member_must_be_defined_and_values_are_quoted_as_written() {
    let text = "network:\n  version: 2\n  ethernets:\n    eth0: {}\n  bonds:\n    bond0:\n      interfaces: [eth0, eth9]\n      parameters:\n        mode: 802.3ad\n        lacp-rate: abcd\n";
    let found = lint(Format::Netplan, &one("/etc/netplan/01.yaml", text));
    let e = errors(&found);
    assert!(
        e.iter().any(|x| x.starts_with("/etc/netplan/01.yaml:7:26: error: bond 'bond0': interface 'eth9' is not defined under ethernets:")),
        "{e:#?}"
    );
    assert!(e.iter().any(|x| x.contains(":10:20:") && x.contains("\"abcd\"")), "{e:#?}");
}

#[test]
fn ovs_lacp_without_a_mode_is_active_backup_and_says_so() {
    let f = one("ovs.sh", "ovs-vsctl add-bond br0 bond0 eth0 eth1 lacp=active\n");
    let p = parse(Format::Ovs, &f);
    let b = &p.config.bonds[0];
    assert_eq!(b.options.mode.name(), "active-backup");
    assert!(p
        .findings
        .iter()
        .any(|x| x.message.contains("negotiates LACP and sends on one member")));
    // No "no link monitoring" warning: OVS watches carrier.
    let found = lint(Format::Ovs, &f);
    assert!(!found.iter().any(|x| x.message.contains("no link monitoring")), "{found:#?}");
    // To a kernel format: the OVS spelling is said lost, with the kernel mode written instead.
    let c = convert(&p.config, Format::Networkd);
    assert!(
        c.losses.iter().any(|l| l.fact == Fact::Ovs && l.why.contains("active-backup")),
        "{:#?}",
        c.losses
    );
}

#[test]
fn an_ovs_bond_of_one_interface_is_never_written_as_add_bond() {
    let f = one("/etc/network/interfaces", "auto bond0\niface bond0 inet manual\n    bond-slaves eth0\n    bond-mode active-backup\n    bond-miimon 100\n");
    let c = convert(&parse(Format::Interfaces, &f).config, Format::Ovs);
    assert!(
        !c.files[0].text.lines().any(|l| l.starts_with("ovs-vsctl add-bond")),
        "{}",
        c.files[0].text
    );
    assert!(c.losses.iter().any(|l| l.fact == Fact::Slaves), "{:#?}", c.losses);
}

#[test]
fn an_ovs_bond_of_one_interface_is_written_as_a_comment_not_as_another_port() {
    let f = one("ovs.sh", "ovs-vsctl add-bond br0 bond0 eth0 eth1 bond_mode=active-backup\n");
    let mut set = parse(Format::Ovs, &f).config;
    set.bonds[0].slaves.truncate(1);
    let c = convert(&set, Format::Ovs);
    let text = &c.files[0].text;
    // `add-port br0 bond0` would make a port of a device that does not exist.
    assert!(!text.lines().any(|l| l.starts_with("ovs-vsctl")), "{text}");
    assert!(text.contains("# ovs-vsctl add-bond br0 bond0 eth0 bond_mode=active-backup"), "{text}");
}

#[test]
fn netplan_addresses_with_options_are_kept_and_their_options_said() {
    let text = "network:\n  version: 2\n  ethernets:\n    eth0: {}\n    eth1: {}\n  bonds:\n    bond0:\n      interfaces: [eth0, eth1]\n      addresses:\n        - \"10.0.0.15/24\":\n            lifetime: 0\n            label: \"maas\"\n        - \"2001:db8::1/64\"\n      parameters:\n        mode: active-backup\n        mii-monitor-interval: 100\n";
    let f = one("/etc/netplan/01.yaml", text);
    let found = lint(Format::Netplan, &f);
    assert!(errors(&found).is_empty(), "{found:#?}");
    let p = parse(Format::Netplan, &f);
    let b = &p.config.bonds[0];
    let want: Vec<(std::net::IpAddr, u8)> =
        vec![("10.0.0.15".parse().unwrap(), 24), ("2001:db8::1".parse().unwrap(), 64)];
    assert_eq!(b.addresses, want);
    // The options have no other home: every conversion says so, at the address.
    let c = convert(&p.config, Format::Ifcfg);
    assert!(
        c.losses.iter().any(|l| l
            .to_string()
            .starts_with("/etc/netplan/01.yaml:10:11: bond0: 'address 10.0.0.15/24: {lifetime: 0, label: maas}' not written")),
        "{:#?}",
        c.losses
    );
    assert!(c.files[0].text.contains("IPADDR=10.0.0.15"), "{}", c.files[0].text);
}

#[test]
fn a_route_in_a_named_table_is_not_moved_to_the_main_table() {
    let text = "auto bond0\niface bond0 inet static\n    address 192.0.2.10/24\n    up ip route add default via 192.0.2.1 dev bond0 table mgmt\n    bond-slaves eth0 eth1\n    bond-mode active-backup\n    bond-miimon 100\n";
    let p = parse(Format::Interfaces, &one("/etc/network/interfaces", text));
    let b = &p.config.bonds[0];
    assert!(b.routes.is_empty(), "{:#?}", b.routes);
    let c = convert(&p.config, Format::Netplan);
    assert!(!c.files[0].text.contains("to: default"), "{}", c.files[0].text);
    assert!(
        c.losses.iter().any(|l| l.to_string().starts_with("/etc/network/interfaces:4:5: bond0: 'up ip route add default via 192.0.2.1 dev bond0 table mgmt' not written")),
        "{:#?}",
        c.losses
    );
}

#[test]
fn a_keyfile_route_table_that_is_not_a_number_is_an_error() {
    let text = "[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\n\n[bond]\nmode=active-backup\n\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24\nroute1=198.51.100.0/24,192.0.2.254\nroute1_options=table=mgmt\nroute-table=abc\n";
    let found = lint(
        Format::Keyfile,
        &one("/etc/NetworkManager/system-connections/bond0.nmconnection", text),
    );
    let e = errors(&found);
    assert!(e.iter().any(|x| x.contains(":13:") && x.contains("invalid table 'mgmt'")), "{e:#?}");
    assert!(
        e.iter().any(|x| x.contains(":14:") && x.contains("invalid route-table 'abc'")),
        "{e:#?}"
    );
}

#[test]
fn a_yaml_file_that_is_not_a_map_is_said_not_ignored() {
    let f = one(
        "/etc/netplan/ifcfg-bond0",
        "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=1 miimon=100\"\n",
    );
    let e = errors(&lint(Format::Netplan, &f));
    assert!(
        e.iter()
            .any(|x| x.starts_with("/etc/netplan/ifcfg-bond0:1:1: error: not a netplan document")),
        "{e:#?}"
    );
    let e = errors(&lint(Format::CloudInit1, &f));
    assert!(e.iter().any(|x| x.contains("not a cloud-init network configuration")), "{e:#?}");
}

#[test]
fn suse_routes_files_are_read() {
    let files = vec![
        SourceFile::new(
            "/etc/sysconfig/network/ifcfg-bond0",
            "STARTMODE='onboot'\nBOOTPROTO='static'\nIPADDR='192.168.0.1/24'\nBONDING_MASTER='yes'\nBONDING_SLAVE_0='eth0'\nBONDING_SLAVE_1='eth1'\nBONDING_MODULE_OPTS='mode=active-backup miimon=100'\n",
        ),
        SourceFile::new(
            "/etc/sysconfig/network/ifroute-bond0",
            "# Destination  Gateway  Netmask  Interface  Options\n10.10.0.0/16 192.168.0.254 - -\n172.16.0.0 192.168.0.253 255.255.0.0 bond0 metric 5\ndefault 192.168.0.1 - -\n",
        ),
        SourceFile::new(
            "/etc/sysconfig/network/routes",
            "127.0.0.0/8 - - lo\n198.51.100.0/24 192.168.0.252 - bond0 table 7\n203.0.113.0/24 192.168.0.251 - bond0 mtu 1400\n",
        ),
    ];
    for f in &files {
        assert_eq!(Format::detect(f), Some(Format::Ifcfg), "{}", f.path);
    }
    let p = parse(Format::Ifcfg, &files);
    assert!(errors(&p.findings).is_empty(), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    let routes: Vec<String> = b.routes.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes,
        [
            "10.10.0.0/16 via 192.168.0.254",
            "172.16.0.0/16 via 192.168.0.253 metric 5",
            "default via 192.168.0.1",
            "198.51.100.0/24 via 192.168.0.252 table 7"
        ]
    );
    // A route with an option ubond does not model is kept as written, and said.
    assert!(
        b.extras.iter().any(|e| e == "routes: 203.0.113.0/24 192.168.0.251 - bond0 mtu 1400"),
        "{:#?}",
        b.extras
    );
}

#[test]
fn two_ovs_bonds_on_one_bridge_stay_on_it_in_netplan() {
    let f = one(
        "ovs.sh",
        "ovs-vsctl add-bond ovsbr1 bond0 eth0 eth1 bond_mode=balance-slb\novs-vsctl add-bond ovsbr1 bond1 eth2 eth3 bond_mode=active-backup\n",
    );
    let set = parse(Format::Ovs, &f).config;
    for to in [Format::Netplan, Format::CloudInit2] {
        let c = convert(&set, to);
        let back = parse(to, &c.files);
        assert!(errors(&back.findings).is_empty(), "{:#?}", back.findings);
        assert!(
            back.config.same_meaning(&set),
            "as {to}:\n{}\n{:#?}",
            c.files[0].text,
            back.config
        );
    }
}

#[test]
fn use_carrier_0_is_accepted_and_said_in_every_format_that_writes_sysfs() {
    let cases = [
        (Format::Ifcfg, "/etc/sysconfig/network-scripts/ifcfg-bond0", "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=1 miimon=100 use_carrier=0\"\n"),
        (Format::Keyfile, "/etc/NetworkManager/system-connections/bond0.nmconnection", "[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\n\n[bond]\nmode=active-backup\nmiimon=100\nuse_carrier=0\n"),
        (Format::CloudInit1, "network-config", "version: 1\nconfig:\n  - type: bond\n    name: bond0\n    params:\n      bond-mode: active-backup\n      bond-miimon: 100\n      bond-use-carrier: 0\n"),
        (Format::Interfaces, "/etc/network/interfaces", "iface bond0 inet manual\n    bond-slaves none\n    bond-mode active-backup\n    bond-miimon 100\n    bond-use-carrier no\n"),
    ];
    for (format, path, text) in cases {
        let f = one(path, text);
        let found = lint(format, &f);
        assert!(errors(&found).is_empty(), "{format}: {found:#?}");
        assert!(
            found.iter().any(|x| x.message.contains("gone from Linux 6.16")),
            "{format}: {found:#?}"
        );
        let p = parse(format, &f);
        assert!(p.config.bonds[0].options.use_carrier, "{format}");
        let c = convert(&p.config, Format::Netplan);
        assert!(
            c.losses
                .iter()
                .any(|l| l.what.contains("use_carrier") || l.what.contains("use-carrier")),
            "{format}: {:#?}",
            c.losses
        );
    }
}

#[test]
fn a_yaml_map_of_another_tool_is_not_an_empty_netplan_file() {
    let f =
        one("team0.json", "{\n  \"device\": \"team0\",\n  \"runner\": {\"name\": \"lacp\"}\n}\n");
    let e = errors(&lint(Format::Netplan, &f));
    assert!(
        e.iter().any(|x| x.starts_with("team0.json:2:3: error: unknown key 'device'")),
        "{e:#?}"
    );
}

#[test]
fn a_nic_found_by_its_bus_path_stays_found_by_it() {
    // SUSE's hardware description (bonding.rst), networkd's Path=, NetworkManager's path=.
    let suse = one(
        "/etc/sysconfig/network/ifcfg-bond0",
        "BONDING_MASTER=yes\nBONDING_MODULE_OPTS=\"mode=active-backup miimon=100\"\nBONDING_SLAVE0=eth0\nBONDING_SLAVE1=bus-pci-0000:06:08.1\n",
    );
    let p = parse(Format::Ifcfg, &suse);
    let b = &p.config.bonds[0];
    assert_eq!(b.matches["bus-pci-0000:06:08.1"].path.as_deref(), Some("pci-0000:06:08.1"));
    for to in [Format::Networkd, Format::Keyfile, Format::Toml] {
        let c = convert(&p.config, to);
        assert!(c.losses.is_empty(), "{to}: {:#?}", c.losses);
        let back = parse(to, &c.files);
        assert!(back.config.same_meaning(&p.config), "{to}: {:#?}", c.files);
    }
    // netplan has no match by path: said, and the entry is not an empty match (any NIC).
    let c = convert(&p.config, Format::Netplan);
    assert!(c.losses.iter().any(|l| l.fact == Fact::Match("bus-pci-0000:06:08.1".into())));
    assert!(!c.files[0].text.contains("match:"), "{}", c.files[0].text);
}

#[test]
fn names_linux_refuses_are_errors_at_their_place() {
    let text = "auto bond0\niface bond0 inet manual\n    bond-slaves averyveryverylongname0 eth/1 eth0\n    bond-mode active-backup\n    bond-miimon 100\n";
    let e = errors(&lint(Format::Interfaces, &one("/etc/network/interfaces", text)));
    assert!(e.iter().any(|x| x.starts_with("/etc/network/interfaces:3:17: error: slave 'averyveryverylongname0' is not an interface name Linux accepts")), "{e:#?}");
    assert!(
        e.iter().any(|x| x.starts_with("/etc/network/interfaces:3:40: error: slave 'eth/1'")),
        "{e:#?}"
    );
    assert_eq!(e.len(), 2, "{e:#?}");
}
