//! NetworkManager keyfiles: parse, emit, lint.

mod samples;

use ubond_config::{keyfile, parse, Format, Severity, SourceFile};
use ubond_core::options::Mode;

fn files() -> Vec<SourceFile> {
    vec![
        SourceFile::new(
            "/etc/NetworkManager/system-connections/bond0.nmconnection",
            "[connection]\nid=bond0\nuuid=7a1c7a52-0c0c-4c1e-9f39-3f1a0c0f1f10\ntype=bond\ninterface-name=bond0\n\n[bond]\nmode=active-backup\nmiimon=100\nprimary=eth0\n\n[ipv4]\nmethod=manual\naddress1=192.168.1.10/24,192.168.1.1\n\n[ipv6]\nmethod=ignore\n",
        ),
        SourceFile::new(
            "/etc/NetworkManager/system-connections/bond0-port1.nmconnection",
            "[connection]\nid=bond0-port1\ntype=ethernet\ninterface-name=eth0\ncontroller=bond0\nport-type=bond\n\n[bond-port]\nqueue-id=1\n",
        ),
        SourceFile::new(
            "/etc/NetworkManager/system-connections/bond0-port2.nmconnection",
            "[connection]\nid=bond0-port2\ntype=ethernet\ninterface-name=eth1\nmaster=7a1c7a52-0c0c-4c1e-9f39-3f1a0c0f1f10\nslave-type=bond\n",
        ),
    ]
}

#[test]
fn nmcli_style_bond() {
    let p = keyfile::parse(&files());
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    assert_eq!(b.options.mode, Mode::ActiveBackup);
    assert_eq!(b.options.slave("eth0").queue_id, 1);
    assert_eq!(b.addresses, [("192.168.1.10".parse().unwrap(), 24)]);
    assert_eq!(b.gateway(true), Some("192.168.1.1".parse().unwrap()));
}

#[test]
fn typos_are_named() {
    let mut f = files();
    f[0].text = f[0].text.replace("miimon=100", "miimmon=100");
    f[1].text = f[1].text.replace("controller=bond0", "controller=bnod0");
    let found = keyfile::lint(&f);
    let show = found.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n");
    assert!(
        found.iter().any(|x| x.line == 9
            && x.column == 1
            && x.severity == Severity::Error
            && x.message.contains("did you mean 'miimon'?")),
        "{show}"
    );
    assert!(
        found.iter().any(|x| x.file.ends_with("port1.nmconnection")
            && x.line == 5
            && x.column == 12
            && x.message.contains("did you mean 'bond0'?")),
        "{show}"
    );
}

#[test]
fn round_trip_and_conversion() {
    let p1 = keyfile::parse(&files());
    let out = keyfile::emit(&p1.config);
    let p2 = keyfile::parse(&out);
    assert!(p2.findings.is_empty(), "{:#?}", p2.findings);
    assert!(p1.config.same_meaning(&p2.config), "{out:#?}");
    assert_eq!(keyfile::emit(&p2.config), out);
    let wiki = parse(
        Format::Interfaces,
        &[SourceFile::new("/etc/network/interfaces", samples::WIKI_ACTIVE_BACKUP)],
    );
    let back = parse(Format::Keyfile, &keyfile::emit(&wiki.config));
    assert!(wiki.config.same_meaning(&back.config));
}

/// `dns-search=~corp.example;` is a routing-only domain (nm-settings(5)): read apart from the
/// search domains, from either family's section, and written back with its `~`.
#[test]
fn routing_only_domains_in_dns_search() {
    let mut f = files();
    f[0].text = f[0].text.replace(
        "[ipv6]\nmethod=ignore\n",
        "dns=192.0.2.53;\ndns-search=example.com;~corp.example;\n\n[ipv6]\nmethod=ignore\ndns-search=~.;\n",
    );
    let p = keyfile::parse(&f);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.dns.search, ["example.com"]);
    assert_eq!(b.dns.routing_domains, ["corp.example", "."]);
    let out = keyfile::emit(&p.config);
    assert!(out[0].text.contains("dns-search=example.com;~corp.example;~.;\n"), "{}", out[0].text);
    let back = keyfile::parse(&out);
    assert!(p.config.same_meaning(&back.config), "{out:#?}");
    // Into networkd they stay routing-only.
    let nd = parse(Format::Networkd, &ubond_config::emit(&p.config, Format::Networkd));
    assert_eq!(nd.config.bonds[0].dns, b.dns);
}
