//! No input panics a parser, every finding names a place in a given file, and random valid
//! configurations survive every conversion.

mod support;

use proptest::prelude::*;
use ubond_config::{
    convert, emit, lint, lint_sysfs_writes, parse, Fact, Finding, Format, SourceFile,
};
use ubond_core::options::Mode;

const WORDS: &[&str] = &[
    "alias",
    "options",
    "optinons",
    "bonding",
    "bond0",
    "bond1",
    "install",
    "blacklist",
    "iface",
    "auto",
    "inet",
    "inet6",
    "static",
    "manual",
    "dhcp",
    "address",
    "netmask",
    "gateway",
    "bond-slaves",
    "bond-master",
    "bond-members",
    "bond-mode",
    "bond-miimon",
    "bond_mode",
    "bond-arp-ip-target",
    "bond-queue-id",
    "bond-prio",
    "bond-primary",
    "bond-miimmon",
    "eth0",
    "eth1",
    "none",
    "mode=4",
    "mode=1",
    "miimon=100",
    "miimmon=100",
    "updelay=200",
    "arp_interval=1000",
    "arp_ip_target=+10.0.0.1",
    "primary=eth0",
    "queue_id=eth0:2",
    "lacp_rate=fast",
    "max_bonds=300",
    "802.3ad",
    "active-backup",
    "192.0.2.1/24",
    "255.255.0.0",
    "2001:db8::1/64",
    "DEVICE=bond0",
    "default",
    "-",
    "192.0.2.254",
    "255.255.255.0",
    "metric",
    "table",
    "&a",
    "*a",
    "\u{feff}",
    "TYPE=Bond",
    "MASTER=bond0",
    "SLAVE=yes",
    "BONDING_OPTS=\"mode=1",
    "miimon=100\"",
    "IPADDR=10.0.0.1",
    "PREFIX=8",
    "NETMASK=255.0.0.0",
    "IPV6ADDR=2001:db8::1/64",
    "echo",
    "100",
    ">",
    "/sys/class/net/bond0/bonding/miimon",
    "/sys/class/net/bond0/bondign/mode",
    "/sys/class/net/bonding_masters",
    "+bond0",
    "+eth0",
    "|",
    "tee",
    "-a",
    "ip",
    "link",
    "set",
    "up",
    "down",
    "#",
    "\\",
    "\"",
    "'",
    "=",
    "é",
    "\t",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}".prop_map(|s| s),
        prop::collection::vec(
            (
                prop::sample::select(WORDS),
                prop::sample::select(&[" ", " ", "\n", "\n    ", "\\\n", ""][..])
            ),
            0..60
        )
        .prop_map(|v| v.into_iter().map(|(w, s)| format!("{w}{s}")).collect()),
    ]
}

fn check_places(findings: &[Finding], files: &[SourceFile]) -> Result<(), TestCaseError> {
    for f in findings {
        let file = files.iter().find(|x| x.path == f.file);
        prop_assert!(file.is_some(), "finding names no given file: {f}");
        let lines = file.map(|x| x.text.split('\n').count()).unwrap_or(0);
        prop_assert!(f.line >= 1 && (f.line as usize) <= lines.max(1), "bad line: {f}");
        prop_assert!(f.column >= 1, "bad column: {f}");
    }
    Ok(())
}

#[test]
fn parsers_never_panic_and_name_places() {
    support::heavy(file!(), 400, (text(), text()), |(a, b)| {
        for &format in Format::ALL {
            let files = vec![
                SourceFile::new("/etc/a/ifcfg-bond0", a.clone()),
                SourceFile::new("/etc/b/ifcfg-eth0", b.clone()),
                // Route files, read by their names (RHEL's and SUSE's).
                SourceFile::new("/etc/sysconfig/network/ifroute-bond0", b.clone()),
                SourceFile::new("/etc/sysconfig/network/routes", a.clone()),
                SourceFile::new("/etc/sysconfig/network-scripts/route-bond0", a.clone()),
            ];
            let p = parse(format, &files);
            check_places(&p.findings, &files)?;
            check_places(&lint(format, &files), &files)?;
            // Whatever was understood can be written and read back.
            for &to in Format::ALL {
                let out = emit(&p.config, to);
                let _ = parse(to, &out);
            }
        }
        let f = SourceFile::new("setup.sh", a.clone());
        check_places(&lint_sysfs_writes(&f), std::slice::from_ref(&f))?;
        Ok(())
    });
}

#[test]
fn random_valid_bonds_survive_every_conversion() {
    let bond = (
        (
            prop::sample::select(Mode::ALL).prop_map(Mode::name),
            prop::sample::select(&[None, Some(0u32), Some(50), Some(100)][..]),
            0u32..4,
            any::<bool>(),
            prop::collection::vec((1u8..200, 1u8..250), 0..3),
            any::<bool>(),
            prop::sample::select(&[None, Some("layer2+3"), Some("layer3+4"), Some("encap3+4")][..]),
        ),
        (
            any::<bool>(),
            0u32..3,
            0usize..3,
            any::<bool>(),
            (
                0u8..4,
                0u8..4,
                any::<bool>(),
                0usize..3,
                any::<bool>(),
                1u16..2000,
                0u16..1024,
                0u8..3,
            ),
            (0u16..4, -5i32..5, 1u16..400, any::<bool>()),
        ),
    );
    support::heavy(
        file!(),
        400,
        bond,
        |(
            (mode, mii, updelay, arp, targets, lacp_fast, xhp),
            (primary, min_links, nslaves, addr, extra, slave_opts),
        )| {
            let (grat, igmp, all_active, adsel, passive, sys_prio, port_key, validate) = extra;
            let (qid, prio, app, auto) = slave_opts;
            let mut t = String::from(if auto { "auto bond0\n" } else { "" });
            t.push_str("iface bond0 inet static\n");
            if addr {
                t.push_str("    address 198.51.100.7/25\n    gateway 198.51.100.1\n");
            }
            let slaves: Vec<String> = (0..nslaves).map(|i| format!("eth{i}")).collect();
            t.push_str(&format!(
                "    bond-slaves {}\n",
                if slaves.is_empty() { "none".to_owned() } else { slaves.join(" ") }
            ));
            t.push_str(&format!("    bond-mode {mode}\n"));
            if let Some(m) = mii {
                t.push_str(&format!("    bond-miimon {m}\n"));
            }
            if mii.unwrap_or(0) > 0 && updelay > 0 {
                t.push_str(&format!("    bond-updelay {}\n", updelay * mii.unwrap_or(0)));
            }
            let arp_ok = !matches!(mode, "802.3ad" | "balance-tlb" | "balance-alb");
            if arp && arp_ok && mii.is_none() && !targets.is_empty() {
                t.push_str("    bond-arp-interval 1000\n");
                let ts: Vec<String> =
                    targets.iter().map(|(a, b)| format!("10.{a}.{b}.1")).collect();
                t.push_str(&format!("    bond-arp-ip-target {}\n", ts.join(" ")));
            }
            if mode == "802.3ad" {
                if lacp_fast {
                    t.push_str("    bond-lacp-rate fast\n");
                }
                t.push_str(&format!("    bond-min-links {min_links}\n"));
            }
            if let Some(x) = xhp {
                if matches!(mode, "balance-xor" | "802.3ad") {
                    t.push_str(&format!("    bond-xmit-hash-policy {x}\n"));
                }
            }
            if primary
                && matches!(mode, "active-backup" | "balance-tlb" | "balance-alb")
                && nslaves > 0
            {
                t.push_str("    bond-primary eth0\n");
            }
            t.push_str(&format!("    bond-num-grat-arp {grat}\n    bond-resend-igmp {igmp}\n"));
            if all_active {
                t.push_str("    bond-all-slaves-active 1\n");
            }
            match mode {
                "802.3ad" => {
                    t.push_str(&format!(
                        "    bond-ad-select {}\n",
                        ["stable", "bandwidth", "count"][adsel]
                    ));
                    if passive {
                        t.push_str("    bond-lacp-active off\n");
                    }
                    t.push_str(&format!("    bond-ad-actor-sys-prio {sys_prio}\n    bond-ad-user-port-key {port_key}\n"));
                    t.push_str("    bond-ad-actor-system 02:11:22:33:44:55\n");
                }
                "active-backup" => {
                    t.push_str("    bond-fail-over-mac follow\n");
                    if arp && mii.is_none() && !targets.is_empty() && validate > 0 {
                        t.push_str(&format!(
                            "    bond-arp-validate {}\n",
                            ["none", "active", "all"][usize::from(validate)]
                        ));
                        t.push_str("    bond-arp-all-targets all\n");
                    }
                }
                "balance-rr" => t.push_str("    bond-packets-per-slave 3\n"),
                "balance-tlb" => t.push_str("    bond-tlb-dynamic-lb 0\n    bond-lp-interval 5\n"),
                _ => {}
            }
            for s in &slaves {
                t.push_str(&format!("\niface {s} inet manual\n    bond-queue-id {qid}\n"));
                if matches!(mode, "active-backup" | "balance-tlb" | "balance-alb") {
                    t.push_str(&format!("    bond-prio {prio}\n"));
                }
                if mode == "802.3ad" {
                    t.push_str(&format!("    bond-actor-port-prio {app}\n"));
                }
            }
            let src = vec![SourceFile::new("/etc/network/interfaces", t.clone())];
            let p = parse(Format::Interfaces, &src);
            prop_assert!(!ubond_config::has_errors(&p.findings), "{t}\n{:#?}", p.findings);
            prop_assert_eq!(p.config.bonds[0].on_boot, auto);
            for &to in Format::ALL {
                let out = emit(&p.config, to);
                let back = parse(to, &out);
                prop_assert!(
                    !ubond_config::has_errors(&back.findings),
                    "{t}\nas {to}: {out:#?}\n{:#?}",
                    back.findings
                );
                if !to.is_kernel_like() {
                    // ovs-vsctl refuses add-bond with fewer than two interfaces: said, not written.
                    if nslaves < 2 {
                        let c = convert(&p.config, to);
                        prop_assert!(
                            c.losses.iter().any(|l| l.fact == Fact::Slaves),
                            "{:#?}",
                            c.losses
                        );
                        continue;
                    }
                    prop_assert_eq!(&p.config.bonds[0].slaves, &back.config.bonds[0].slaves);
                    continue;
                }
                // Per-slave prio and actor_port_prio have no place in modprobe or ifcfg files.
                let mut want = p.config.without_spans();
                // A bond not started at boot: said in a comment where the format cannot say it.
                if !to.has_on_boot() {
                    let said = out.iter().any(|f| f.text.contains("not started at boot"));
                    prop_assert_eq!(said, !auto, "{}\nas {}: {:#?}", t, to, out);
                    for b in &mut want.bonds {
                        b.on_boot = true;
                    }
                }
                if !matches!(to, Format::Interfaces | Format::Toml) {
                    for b in &mut want.bonds {
                        for so in b.options.slave_options.values_mut() {
                            if to != Format::Keyfile {
                                so.prio = 0;
                            }
                            so.actor_port_prio = 255;
                        }
                        b.options.slave_options.retain(|_, so| *so != Default::default());
                    }
                }
                // Nor lacp_active and per-slave options in networkd files.
                if to == Format::Networkd {
                    for b in &mut want.bonds {
                        b.options.lacp_active = true;
                        b.options.slave_options.clear();
                    }
                }
                // netplan has no key for these.
                if matches!(to, Format::Netplan | Format::CloudInit2) {
                    let d = ubond_core::options::BondOptions::default();
                    for b in &mut want.bonds {
                        let o = &mut b.options;
                        o.lacp_active = true;
                        o.slave_options.clear();
                        o.ad_actor_sys_prio = d.ad_actor_sys_prio;
                        o.ad_actor_system = d.ad_actor_system;
                        o.ad_user_port_key = d.ad_user_port_key;
                        o.tlb_dynamic_lb = d.tlb_dynamic_lb;
                    }
                }
                if to.has_slaves() {
                    prop_assert_eq!(
                        &want,
                        &back.config.without_spans(),
                        "{}\nas {}: {:#?}",
                        t,
                        to,
                        out
                    );
                } else if mii != Some(0) || arp_ok {
                    // (miimon=0 in 802.3ad/tlb/alb cannot be said in module options.)
                    prop_assert_eq!(
                        &want.bonds[0].options,
                        &back.config.bonds[0].options,
                        "{}\nas {}: {:#?}",
                        t,
                        to,
                        out
                    );
                }
            }
            Ok(())
        },
    );
}
