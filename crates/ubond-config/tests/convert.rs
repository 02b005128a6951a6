//! Conversion between formats keeps the meaning; JSON round trip.

use ubond_config::{emit, parse, ConfigSet, Format, SourceFile};

mod samples;

fn debian(text: &str) -> Vec<SourceFile> {
    vec![SourceFile::new("/etc/network/interfaces", text)]
}

fn options_only(set: &ConfigSet) -> Vec<(String, String)> {
    set.bonds.iter().map(|b| (b.name.clone(), format!("{:?}", b.options))).collect()
}

fn assert_clean(p: &ubond_config::Parsed, what: &str) {
    assert!(!ubond_config::has_errors(&p.findings), "{what}: {:#?}", p.findings);
}

#[test]
fn debian_wiki_and_rhel_guide_say_the_same() {
    let d = parse(Format::Interfaces, &debian(samples::WIKI_ACTIVE_BACKUP));
    let r = parse(Format::Ifcfg, &samples::rhel_active_backup());
    assert_clean(&d, "debian");
    assert_clean(&r, "rhel");
    assert!(d.config.same_meaning(&r.config), "{:#?}\n{:#?}", d.config, r.config);
}

#[test]
fn every_sample_converts_into_every_format() {
    let samples = [
        parse(Format::Interfaces, &debian(samples::WIKI_ACTIVE_BACKUP)),
        parse(Format::Interfaces, &debian(samples::IFENSLAVE_LACP)),
        parse(Format::Ifcfg, &samples::rhel_active_backup()),
        parse(
            Format::Modprobe,
            &[SourceFile::new(
                "/etc/modprobe.d/bonding.conf",
                "alias bond0 bonding\noptions bond0 mode=802.3ad miimon=100 lacp_rate=fast xmit_hash_policy=layer3+4 ad_select=bandwidth min_links=2\n",
            )],
        ),
        parse(
            Format::Modprobe,
            &[SourceFile::new(
                "/etc/modprobe.d/bonding.conf",
                "options bonding mode=active-backup arp_interval=1000 arp_ip_target=192.0.2.1,192.0.2.254 arp_validate=all primary=eth1 primary_reselect=failure fail_over_mac=follow num_grat_arp=5\n",
            )],
        ),
    ];
    for (i, s) in samples.iter().enumerate() {
        assert_clean(s, &format!("sample {i}"));
        for &to in Format::ALL.iter().filter(|f| f.is_kernel_like()) {
            // networkd names the primary on the slave's .network: a bond without slaves
            // (from modprobe) loses it.
            if to == Format::Networkd && s.config.bonds.iter().any(|b| b.slaves.is_empty()) {
                continue;
            }
            let files = emit(&s.config, to);
            let back = parse(to, &files);
            assert_clean(&back, &format!("sample {i} as {to}"));
            if to.has_slaves() {
                assert!(
                    s.config.same_meaning(&back.config),
                    "sample {i} as {to}:\n{files:#?}\n{:#?}\n{:#?}",
                    s.config,
                    back.config
                );
            } else {
                assert_eq!(
                    options_only(&s.config),
                    options_only(&back.config),
                    "sample {i} as {to}: {files:#?}"
                );
            }
            // And on to every other format.
            for &to2 in Format::ALL
                .iter()
                .filter(|f| f.has_slaves() && f.is_kernel_like() && **f != Format::Networkd)
            {
                let again = parse(to2, &emit(&back.config, to2));
                assert!(back.config.same_meaning(&again.config), "sample {i}: {to} -> {to2}");
            }
        }
    }
}

#[test]
fn json_round_trip() {
    let p = parse(Format::Interfaces, &debian(samples::WIKI_ACTIVE_BACKUP));
    let json = serde_json::to_string_pretty(&p.config).unwrap();
    assert!(json.contains("\"mode\": \"active-backup\""), "{json}");
    let back: ConfigSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p.config);
    let bad = json.replace("\"miimon\"", "\"miimmon\"");
    let err = serde_json::from_str::<ConfigSet>(&bad).unwrap_err();
    assert!(err.to_string().contains("miimmon"), "{err}");
}

#[test]
fn detect_formats() {
    assert_eq!(
        Format::detect(&SourceFile::new("/etc/sysconfig/network-scripts/ifcfg-bond0", "")),
        Some(Format::Ifcfg)
    );
    assert_eq!(
        Format::detect(&SourceFile::new("/etc/network/interfaces", "")),
        Some(Format::Interfaces)
    );
    assert_eq!(
        Format::detect(&SourceFile::new("x.conf", "options bonding mode=1\n")),
        Some(Format::Modprobe)
    );
    assert_eq!("ifcfg".parse::<Format>(), Ok(Format::Ifcfg));
}

#[test]
fn module_only_parameters_stay_in_modprobe() {
    let m = parse(
        Format::Modprobe,
        &[SourceFile::new(
            "/etc/modprobe.d/b.conf",
            "options bonding max_bonds=2 tx_queues=8 mode=1 miimon=100\n",
        )],
    );
    assert_eq!(m.config.bonds.len(), 2);
    for &to in Format::ALL.iter().filter(|f| f.has_slaves() && f.is_kernel_like()) {
        let back = parse(to, &emit(&m.config, to));
        assert!(!ubond_config::has_errors(&back.findings), "{to}: {:?}", back.findings);
        assert!(
            !back.findings.iter().any(|f| f.message.contains("module parameter")),
            "{to}: {:?}",
            back.findings
        );
        assert_eq!(back.config.bonds.len(), 2, "{to}");
        assert_eq!(back.config.bonds[1].options.mode, m.config.bonds[1].options.mode);
    }
    let again = parse(Format::Modprobe, &emit(&m.config, Format::Modprobe));
    assert!(again.config.same_meaning(&m.config));
}
