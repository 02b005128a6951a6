//! systemd-networkd .netdev/.network: parse, emit, lint.

mod samples;

use ubond_config::{networkd, parse, Fact, Format, Severity, SourceFile};
use ubond_core::options::{LacpRate, Mode};

fn files(bond_section: &str) -> Vec<SourceFile> {
    vec![
        SourceFile::new(
            "/etc/systemd/network/25-bond1.netdev",
            format!("[NetDev]\nName=bond1\nKind=bond\n\n[Bond]\n{bond_section}"),
        ),
        SourceFile::new(
            "/etc/systemd/network/25-bond1.network",
            "[Match]\nName=bond1\n\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\n",
        ),
        SourceFile::new(
            "/etc/systemd/network/30-eth0.network",
            "[Match]\nName=eth0\n\n[Network]\nBond=bond1\nPrimarySlave=true\n",
        ),
        SourceFile::new(
            "/etc/systemd/network/30-eth1.network",
            "[Match]\nName=eth1\n\n[Network]\nBond=bond1\n",
        ),
    ]
}

#[test]
fn man_page_style_bond() {
    let f = files("Mode=802.3ad\nTransmitHashPolicy=layer3+4\nMIIMonitorSec=1s\nLACPTransmitRate=fast\nUpDelaySec=2s\nDownDelaySec=8s\n");
    let p = networkd::parse(&f);
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.name, "bond1");
    assert_eq!(b.slaves, ["eth0", "eth1"]);
    assert_eq!(b.options.mode, Mode::Ieee8023ad);
    assert_eq!(b.options.miimon, 1000);
    assert_eq!(b.options.updelay_ms(), 2000);
    assert_eq!(b.options.lacp_rate, LacpRate::Fast);
    assert_eq!(b.addresses, [("192.0.2.10".parse().unwrap(), 24)]);
}

#[test]
fn bare_numbers_are_seconds_and_typos_are_named() {
    let f = files("Mode=active-backup\nMIIMonitorSec=100\nLACPTransmitRat=fast\n");
    let found = networkd::lint(&f);
    let show = found.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n");
    let w = found.iter().find(|x| x.line == 7 && x.severity == Severity::Warning).expect(&show);
    assert_eq!((w.file.as_str(), w.column), ("/etc/systemd/network/25-bond1.netdev", 15));
    assert_eq!(w.fix.as_deref(), Some("100ms"));
    let e = found.iter().find(|x| x.line == 8 && x.severity == Severity::Error).expect(&show);
    assert!(e.message.contains("did you mean 'LACPTransmitRate'?"), "{show}");
    let p = networkd::parse(&f);
    assert_eq!(p.config.bonds[0].options.miimon, 100_000);
    assert_eq!(p.config.bonds[0].options.primary.as_deref(), Some("eth0"));
}

#[test]
fn round_trip_is_identical_and_samples_convert() {
    let f = files("Mode=active-backup\nMIIMonitorSec=100ms\nARPIntervalSec=0\nGratuitousARP=3\nFailOverMACPolicy=active\nPrimaryReselectPolicy=better\n");
    let p1 = networkd::parse(&f);
    assert!(!ubond_config::has_errors(&p1.findings), "{:#?}", p1.findings);
    let out = networkd::emit(&p1.config);
    let p2 = networkd::parse(&out);
    assert!(p1.config.same_meaning(&p2.config), "{out:#?}");
    assert_eq!(networkd::emit(&p2.config), out);
    let wiki = parse(
        Format::Interfaces,
        &[SourceFile::new("/etc/network/interfaces", samples::WIKI_ACTIVE_BACKUP)],
    );
    let back = parse(Format::Networkd, &networkd::emit(&wiki.config));
    assert!(wiki.config.same_meaning(&back.config));
}

/// Drop-ins (`<unit>.d/*.conf`, systemd.network(5)) are read after their unit, in the order of
/// their file names whatever their directory: a later assignment overrides, a `[Route]` is one
/// more route, and a drop-in whose unit is not among the files is said.
#[test]
fn drop_ins_apply_after_their_unit_in_file_name_order() {
    let mut f = files("Mode=active-backup\nMIIMonitorSec=100ms\n");
    f.push(SourceFile::new(
        "/etc/systemd/network/25-bond1.netdev.d/20-jumbo.conf",
        "[NetDev]\nMTUBytes=9000\n\n[Bond]\nMIIMonitorSec=300ms\n",
    ));
    // Earlier by name although in another directory: applied first, then overridden.
    f.push(SourceFile::new(
        "/run/systemd/network/25-bond1.netdev.d/10-mii.conf",
        "[Bond]\nMIIMonitorSec=200ms\nMode=802.3ad\n",
    ));
    f.push(SourceFile::new(
        "/etc/systemd/network/25-bond1.network.d/route.conf",
        "[Route]\nDestination=198.18.0.0/15\nGateway=192.0.2.254\n",
    ));
    f.push(SourceFile::new(
        "/etc/systemd/network/40-gone.network.d/dns.conf",
        "[Network]\nDNS=192.0.2.53\n",
    ));
    let p = networkd::parse(&f);
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.options.miimon, 300);
    assert_eq!(b.options.mode, Mode::Ieee8023ad);
    assert_eq!(b.mtu, Some(9000));
    let routes: Vec<String> = b.routes.iter().map(|r| r.to_string()).collect();
    assert_eq!(routes.len(), 2, "{routes:?}");
    assert!(routes.iter().any(|r| r.contains("198.18.0.0/15")), "{routes:?}");
    let orphan: Vec<_> = p.findings.iter().filter(|x| x.file.contains("40-gone")).collect();
    assert_eq!(orphan.len(), 1, "{:#?}", p.findings);
    assert_eq!(orphan[0].severity, Severity::Warning);
    assert!(orphan[0].message.contains("40-gone.network, which is not among"), "{}", orphan[0]);
    // A drop-in of nothing but a [Bond] section is networkd's by its place.
    let only_bond = &f[f.len() - 3];
    assert_eq!(Format::detect(only_bond), Some(Format::Networkd));
}

/// An empty `DNS=` or `Domains=` clears what came before it (systemd.network(5)), as a
/// drop-in does to its main file; what follows is kept.
#[test]
fn an_empty_dns_or_domains_clears_the_list_so_far() {
    let mut f = files("Mode=active-backup\n");
    f[1].text.push_str("DNS=192.0.2.53 192.0.2.54\nDomains=old.example ~old.corp\nDNS=\n");
    f[1].text.push_str("Domains=\nDNS=192.0.2.55\nDomains=new.example\n");
    let p = networkd::parse(&f);
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.dns.servers, ["192.0.2.55".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(b.dns.search, ["new.example"]);
    assert!(b.dns.routing_domains.is_empty(), "{:?}", b.dns.routing_domains);
}

/// `Domains=~example.com` and `Domains=~.` are routing-only domains (systemd.network(5)):
/// kept apart from the search domains, written back as such, and a loss in netplan.
#[test]
fn routing_only_domains_are_not_search_domains() {
    let mut f = files("Mode=active-backup\n");
    f[1].text.push_str("DNS=192.0.2.53\nDomains=example.com ~corp.example ~.\n");
    let p = networkd::parse(&f);
    assert!(!ubond_config::has_errors(&p.findings), "{:#?}", p.findings);
    let b = &p.config.bonds[0];
    assert_eq!(b.dns.search, ["example.com"]);
    assert_eq!(b.dns.routing_domains, ["corp.example", "."]);
    let out = networkd::emit(&p.config);
    let network = out.iter().find(|f| f.path.ends_with("25-bond1.network")).unwrap();
    assert!(network.text.contains("Domains=example.com ~corp.example ~.\n"), "{}", network.text);
    let back = networkd::parse(&out);
    assert!(p.config.same_meaning(&back.config), "{out:#?}");

    let c = ubond_config::convert(&p.config, Format::Netplan);
    let lost: Vec<_> = c.losses.iter().filter(|l| l.fact == Fact::RoutingDomains).collect();
    assert_eq!(lost.len(), 1, "{:#?}", c.losses);
    assert!(lost[0].what.contains("~corp.example ~."), "{}", lost[0]);
    let at = lost[0].at.as_ref().expect("the Domains= line");
    assert_eq!((at.file.as_str(), at.line), ("/etc/systemd/network/25-bond1.network", 8));
    let text = &c.files[0].text;
    assert!(!text.contains("corp.example\"") && !text.contains("- corp"), "{text}");
    let np = parse(Format::Netplan, &c.files);
    let nb = &np.config.bonds[0];
    assert_eq!(nb.dns.search, ["example.com"]);
    assert!(nb.dns.routing_domains.is_empty());
}
