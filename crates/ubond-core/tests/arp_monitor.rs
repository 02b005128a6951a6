//! The ARP / NS monitor on scripted time lines, driven the way a bond drives it: frames in,
//! a tick every `arp_interval` (inspect + commit, reselection, probe), transitions and probes
//! out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use ubond_core::bond::SlaveId;
use ubond_core::monitor::arp::{
    arp_probe, ns_probe, ArpConfig, ArpLinkChange, ArpMode, ArpMonitor, ArpRx, ArpSlaveView,
    ArpTarget, Family, NsTarget,
};
use ubond_core::monitor::mii::LinkStatus;
use ubond_core::options::{ArpAllTargets, ArpValidate, BondOptions, Mode};
use ubond_core::time::Instant;
use ubond_wire::ethernet::{EtherType, EthernetRepr, Frame, HEADER_LEN};
use ubond_wire::icmp::{Icmpv6Packet, NaFlags, NdiscRepr};
use ubond_wire::ip::Protocol;
use ubond_wire::{arp, ipv6, MacAddr};

const BOND_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const PEER_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x09]);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const T1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);
const T2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const A: SlaveId = SlaveId(1);
const B: SlaveId = SlaveId(2);

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn our_ip6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}

fn t6() -> Ipv6Addr {
    "2001:db8::9".parse().unwrap()
}

fn config(mode: ArpMode, validate: ArpValidate, targets: &[Ipv4Addr]) -> ArpConfig {
    ArpConfig {
        mode,
        interval: Duration::from_millis(100),
        arp_targets: targets.iter().map(|&ip| ArpTarget { ip, src: OUR_IP }).collect(),
        ns_targets: Vec::new(),
        validate,
        all_targets: ArpAllTargets::Any,
        missed_max: 2,
        local_v4: vec![OUR_IP],
        local_v6: vec![our_ip6()],
    }
}

fn eth(dst: MacAddr, src: MacAddr, ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; (HEADER_LEN + payload.len()).max(60)];
    EthernetRepr { dst_addr: dst, src_addr: src, outer_tag: None, inner_tag: None, ethertype }
        .emit(&mut Frame::new_unchecked(&mut f[..]))
        .unwrap();
    f[HEADER_LEN..HEADER_LEN + payload.len()].copy_from_slice(payload);
    f
}

/// The target's ARP reply to our request.
fn arp_reply(from: Ipv4Addr) -> Vec<u8> {
    let repr = arp::ArpRepr {
        operation: arp::Operation::Reply,
        sender_mac: PEER_MAC,
        sender_ip: from,
        target_mac: BOND_MAC,
        target_ip: OUR_IP,
    };
    let mut p = [0u8; 28];
    repr.emit(&mut arp::Packet::new_unchecked(&mut p[..])).unwrap();
    eth(BOND_MAC, PEER_MAC, EtherType::Arp, &p)
}

/// The target's solicited Neighbor Advertisement, to `dst`.
fn na_reply(from: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let na = NdiscRepr::NeighborAdvert {
        flags: NaFlags { router: false, solicited: true, override_: true },
        target_addr: from,
        target_ll_addr: Some(PEER_MAC),
    };
    let len = na.buffer_len();
    let mut p = vec![0u8; ipv6::HEADER_LEN + len];
    ipv6::Ipv6Repr::new(from, dst, Protocol::Icmpv6, len as u16, 255)
        .emit(&mut ipv6::Packet::new_unchecked(&mut p[..]))
        .unwrap();
    na.emit(&from, &dst, &mut Icmpv6Packet::new_unchecked(&mut p[ipv6::HEADER_LEN..])).unwrap();
    eth(BOND_MAC, PEER_MAC, EtherType::Ipv6, &p)
}

/// A bond around the monitor: carrier per slave, an active slave chosen as Linux does when
/// asked to fail over (the current one if still up, else the first up slave).
struct Rig {
    mon: ArpMonitor,
    views: Vec<ArpSlaveView>,
    active: Option<SlaveId>,
    log: Vec<(u64, SlaveId, ArpLinkChange)>,
    probes: Vec<(u64, SlaveId, Vec<u8>)>,
}

impl Rig {
    fn new(cfg: ArpConfig, slaves: &[SlaveId]) -> Rig {
        let mut mon = ArpMonitor::new(cfg);
        let mut views = Vec::new();
        for &id in slaves {
            assert_eq!(mon.add_slave(ms(0), id, BOND_MAC, true), Some(LinkStatus::Up));
            views.push(ArpSlaveView { id, up: true, primary: false, prio: 0 });
        }
        mon.start(ms(0));
        let mut rig = Rig { mon, views, active: None, log: Vec::new(), probes: Vec::new() };
        if rig.mon.config().mode == ArpMode::ActiveBackup {
            rig.active = slaves.first().copied();
            rig.mon.set_active_slave(ms(0), rig.active);
        }
        rig
    }

    fn status(&self, id: SlaveId) -> LinkStatus {
        self.mon.link_status(id).unwrap()
    }

    fn reselect(&mut self, t: u64) {
        let up = |id: SlaveId| self.mon.link_status(id) == Some(LinkStatus::Up);
        let keep = self.active.filter(|a| up(*a));
        let new = keep.or_else(|| self.views.iter().map(|v| v.id).find(|id| up(*id)));
        if new != self.active || self.mon.config().mode == ArpMode::LoadBalance {
            self.active = new;
            self.mon.set_active_slave(ms(t), new);
        }
    }

    /// One `arp_interval` tick at `t` ms, as the bond runs it.
    fn tick(&mut self, t: u64) {
        assert_eq!(self.mon.poll_timeout(), Some(ms(t)), "tick due");
        let c = self.mon.handle_tick(ms(t), &self.views);
        self.log.extend(c.transitions.iter().map(|x| (t, x.slave, x.change)));
        if c.failover {
            self.reselect(t);
        }
        let p = self.mon.probe(ms(t), &self.views);
        self.log.extend(p.transitions.iter().map(|x| (t, x.slave, x.change)));
        self.probes.extend(p.probes.into_iter().map(|p| (t, p.slave, p.frame)));
    }

    fn rx(&mut self, t: u64, slave: SlaveId, frame: &[u8]) -> ArpRx {
        let active = self.active == Some(slave);
        self.mon.handle_frame(ms(t), slave, frame, active)
    }

    fn probes_at(&self, t: u64) -> Vec<SlaveId> {
        self.probes.iter().filter(|p| p.0 == t).map(|p| p.1).collect()
    }

    fn changes(&self) -> Vec<(u64, SlaveId, ArpLinkChange)> {
        self.log.clone()
    }
}

// ---- load balancing --------------------------------------------------------------------------

#[test]
fn loadbalance_target_answers_then_stops_on_one_slave() {
    let mut r = Rig::new(config(ArpMode::LoadBalance, ArpValidate::None, &[T1]), &[A, B]);
    r.reselect(0);
    for t in (0..=100).step_by(100) {
        r.tick(t);
        assert_eq!(r.probes_at(t), [A, B], "probes on every slave");
        assert_eq!(r.rx(t + 1, A, &arp_reply(T1)), ArpRx::Traffic, "validate none: counted");
        assert_eq!(r.rx(t + 1, B, &arp_reply(T1)), ArpRx::Traffic);
    }
    // B hears nothing after t=101: probes at 200 and 300 go unanswered (missed_max = 2).
    for t in (200..=300).step_by(100) {
        r.tick(t);
        r.rx(t + 1, A, &arp_reply(T1));
    }
    assert!(r.changes().is_empty());
    r.tick(400);
    assert_eq!(r.changes(), [(400, B, ArpLinkChange::InterfaceDown)]);
    assert_eq!(ArpLinkChange::InterfaceDown.to_string(), "interface is now down");
    assert_eq!(r.mon.link_failure_count(B), Some(1));
    assert_eq!(r.probes_at(400), [A, B], "a down slave with carrier still probes");
    // B hears again: up at the next tick, having sent and received within one interval.
    r.rx(401, A, &arp_reply(T1));
    r.rx(401, B, &arp_reply(T1));
    r.tick(500);
    assert_eq!(r.changes().last(), Some(&(500, B, ArpLinkChange::InterfaceUp)));
    assert_eq!(r.status(B), LinkStatus::Up);
}

#[test]
fn loadbalance_needs_both_tx_and_rx() {
    let mut r = Rig::new(config(ArpMode::LoadBalance, ArpValidate::None, &[T1]), &[A]);
    r.reselect(0);
    // No replies: the first probe went out at 0, the slave's last_rx predates enslaving.
    r.tick(0);
    r.tick(100);
    assert!(r.changes().is_empty());
    r.tick(200);
    assert_eq!(r.changes(), [(200, A, ArpLinkChange::InterfaceDown)]);
    assert_eq!(r.active, None, "the active slave went down: failover to nothing");
    // Receiving without sending (no carrier: no probes) keeps a down slave down.
    r.views[0].up = false;
    r.tick(300);
    for t in (400..=600).step_by(100) {
        r.rx(t - 50, A, &arp_reply(T1));
        r.tick(t);
        assert!(r.probes_at(t).is_empty(), "no carrier, no probe");
    }
    assert_eq!(r.status(A), LinkStatus::Down, "received but never sent");
    r.views[0].up = true;
    r.tick(700);
    r.rx(701, A, &arp_reply(T1));
    r.tick(800);
    assert_eq!(
        r.changes().last(),
        Some(&(800, A, ArpLinkChange::Up)),
        "no active slave: 'definitely up'"
    );
    assert_eq!(r.active, Some(A));
    assert_eq!(ArpLinkChange::Up.to_string(), "link status definitely up");
}

// ---- active-backup ---------------------------------------------------------------------------

#[test]
fn activebackup_probes_on_the_active_slave_and_backup_sees_them() {
    let mut r = Rig::new(config(ArpMode::ActiveBackup, ArpValidate::All, &[T1]), &[A, B]);
    r.tick(0);
    assert_eq!(r.probes_at(0), [A], "only the active slave probes");
    let probe = r.probes[0].2.clone();
    // The backup sees the broadcast request before the active slave heard any reply: the
    // active slave has not received since it became active, so this does not count.
    assert_eq!(r.rx(0, B, &probe), ArpRx::Rejected);
    assert_eq!(r.rx(1, A, &arp_reply(T1)), ArpRx::Validated { family: Family::Arp, slot: 0 });
    // A reply arriving on the backup does not validate it (its sender is a target, but the
    // backup rule wants the active slave's request: sender ours, target a target).
    assert_eq!(r.rx(1, B, &arp_reply(T1)), ArpRx::Rejected);
    for t in (100..=1000).step_by(100) {
        r.tick(t);
        assert_eq!(r.rx(t, B, &probe), ArpRx::Validated { family: Family::Arp, slot: 0 });
        r.rx(t + 1, A, &arp_reply(T1));
    }
    assert!(r.changes().is_empty(), "{:?}", r.changes());
    assert_eq!(r.mon.last_rx(B), Some(ms(1000)));
    // The backup stops seeing the active's probes (its wire is cut): it has missed_max + 1
    // intervals, plus half of one.
    for t in (1100..=1300).step_by(100) {
        r.tick(t);
        r.rx(t + 1, A, &arp_reply(T1));
    }
    assert!(r.changes().is_empty());
    r.tick(1400);
    assert_eq!(r.changes(), [(1400, B, ArpLinkChange::Down)]);
    assert_eq!(
        ArpLinkChange::Down.to_string(),
        "link status definitely down, disabling slave",
        "the kernel's words"
    );
    assert_eq!(r.active, Some(A));
}

#[test]
fn activebackup_target_stops_answering_fails_over_then_rotates() {
    let mut r = Rig::new(config(ArpMode::ActiveBackup, ArpValidate::All, &[T1]), &[A, B]);
    for t in (0..=100).step_by(100) {
        r.tick(t);
        r.rx(t + 1, A, &arp_reply(T1));
        r.rx(t + 2, B, &arp_probe(BOND_MAC, &ArpTarget { ip: T1, src: OUR_IP }));
    }
    // The target goes silent after t=101.
    r.tick(200);
    r.tick(300);
    assert!(r.changes().is_empty());
    r.tick(400);
    assert_eq!(r.changes(), [(400, A, ArpLinkChange::Down)], "active: missed_max intervals");
    assert_eq!(r.active, Some(B), "failover to the backup, which still looked alive");
    assert_eq!(r.probes_at(400), [B], "the new active slave probes at once");
    // B got active at 400: two intervals of grace, then missed_max intervals without replies.
    for t in (500..=700).step_by(100) {
        r.tick(t);
    }
    assert_eq!(r.changes()[1..], [(700, B, ArpLinkChange::Down), (700, B, ArpLinkChange::Back)]);
    assert_eq!(r.active, None);
    // No active slave: the probe rotation starts after the first slave, each probed slave
    // "going back"; a probed slave that heard nothing fails.
    assert_eq!(r.mon.current_arp_slave(), Some(B));
    assert_eq!(r.status(B), LinkStatus::Back);
    assert_eq!(r.probes_at(700), [B]);
    r.tick(800);
    assert_eq!(r.probes_at(800), [A]);
    assert_eq!((r.status(A), r.status(B)), (LinkStatus::Back, LinkStatus::Fail));
    r.tick(900);
    assert_eq!(r.probes_at(900), [B]);
    assert_eq!((r.status(A), r.status(B)), (LinkStatus::Fail, LinkStatus::Back));
    assert_eq!(r.mon.is_active(B), Some(true), "the probed slave is active while probed");
    // The target answers B: B comes up, becomes active, and probing goes back to normal.
    assert_eq!(r.rx(901, B, &arp_reply(T1)), ArpRx::Validated { family: Family::Arp, slot: 0 });
    r.tick(1000);
    assert_eq!(r.changes().last(), Some(&(1000, B, ArpLinkChange::Up)));
    assert_eq!((r.active, r.mon.current_arp_slave()), (Some(B), None));
    assert_eq!(r.probes_at(1000), [B]);
    assert_eq!(r.mon.link_failure_count(A), Some(1));
}

#[test]
fn backup_without_carrier_goes_down_during_rotation() {
    let mut r = Rig::new(config(ArpMode::ActiveBackup, ArpValidate::None, &[T1]), &[A, B]);
    r.active = None;
    r.mon.set_active_slave(ms(0), None);
    r.views[1].up = false;
    r.tick(0);
    assert_eq!(
        r.changes(),
        [(0, B, ArpLinkChange::BackupDown), (0, A, ArpLinkChange::Back)],
        "B lost carrier; the rotation wraps around to A"
    );
    assert_eq!(ArpLinkChange::BackupDown.to_string(), "backup interface is now down");
    assert_eq!(r.probes_at(0), [A]);
}

/// Which `arp_validate` values validate which slaves, per the kernel's bit masks.
#[test]
fn validate_variants_on_active_and_backup() {
    let probe = arp_probe(BOND_MAC, &ArpTarget { ip: T1, src: OUR_IP });
    let ipv4 = eth(BOND_MAC, PEER_MAC, EtherType::Ipv4, &[0x45; 20]);
    let cases = [
        // (validate, active rx of plain IPv4, backup rx of plain IPv4, backup rx of the probe)
        (ArpValidate::None, ArpRx::Traffic, ArpRx::Traffic, ArpRx::Traffic),
        (ArpValidate::Active, ArpRx::Ignored, ArpRx::Traffic, ArpRx::Traffic),
        (
            ArpValidate::Backup,
            ArpRx::Traffic,
            ArpRx::Ignored,
            ArpRx::Validated { family: Family::Arp, slot: 0 },
        ),
        (
            ArpValidate::All,
            ArpRx::Ignored,
            ArpRx::Ignored,
            ArpRx::Validated { family: Family::Arp, slot: 0 },
        ),
        (ArpValidate::Filter, ArpRx::Ignored, ArpRx::Ignored, ArpRx::Traffic),
        (ArpValidate::FilterActive, ArpRx::Ignored, ArpRx::Ignored, ArpRx::Traffic),
        (
            ArpValidate::FilterBackup,
            ArpRx::Ignored,
            ArpRx::Ignored,
            ArpRx::Validated { family: Family::Arp, slot: 0 },
        ),
    ];
    for (validate, active_ip, backup_ip, backup_probe) in cases {
        let mut r = Rig::new(config(ArpMode::ActiveBackup, validate, &[T1]), &[A, B]);
        r.tick(0);
        r.rx(1, A, &arp_reply(T1));
        assert_eq!(r.rx(5, A, &ipv4), active_ip, "{validate} active IPv4");
        assert_eq!(r.rx(5, B, &ipv4), backup_ip, "{validate} backup IPv4");
        assert_eq!(r.rx(6, B, &probe), backup_probe, "{validate} backup sees the probe");
        let a_reply = r.rx(7, A, &arp_reply(T1));
        let expect = if matches!(
            validate,
            ArpValidate::Active | ArpValidate::All | ArpValidate::FilterActive
        ) {
            ArpRx::Validated { family: Family::Arp, slot: 0 }
        } else {
            ArpRx::Traffic
        };
        assert_eq!(a_reply, expect, "{validate} active reply");
    }
}

#[test]
fn all_targets_any_versus_all() {
    for (all, expect_down) in [(ArpAllTargets::Any, false), (ArpAllTargets::All, true)] {
        let mut cfg = config(ArpMode::ActiveBackup, ArpValidate::Active, &[T1, T2]);
        cfg.all_targets = all;
        let mut r = Rig::new(cfg, &[A]);
        for t in (0..=500).step_by(100) {
            r.tick(t);
            assert_eq!(r.probes.iter().filter(|p| p.0 == t).count(), 2, "one per target");
            // Only T1 answers.
            assert_eq!(
                r.rx(t + 1, A, &arp_reply(T1)),
                ArpRx::Validated { family: Family::Arp, slot: 0 }
            );
        }
        let went_down = r.changes().iter().any(|c| c.2 == ArpLinkChange::Down);
        assert_eq!(went_down, expect_down, "arp_all_targets {all}");
        if expect_down {
            // The two intervals of grace after coming up, then missed_max.
            assert_eq!(r.changes()[0], (300, A, ArpLinkChange::Down));
        }
        assert_eq!(r.mon.target_last_rx(A, 0), Some(ms(501)));
        assert_eq!(r.mon.target_last_rx(A, 1), None, "T2 never answered");
    }
}

#[test]
fn missed_max_sets_the_patience() {
    let mut cfg = config(ArpMode::ActiveBackup, ArpValidate::Active, &[T1]);
    cfg.missed_max = 5;
    let mut r = Rig::new(cfg, &[A]);
    r.tick(0);
    r.rx(1, A, &arp_reply(T1));
    for t in (100..=500).step_by(100) {
        r.tick(t);
    }
    assert!(r.changes().is_empty(), "5 intervals + half of one");
    r.tick(600);
    assert_eq!(
        r.changes(),
        [(600, A, ArpLinkChange::Down), (600, A, ArpLinkChange::Back)],
        "down, then probed from as the only slave with carrier"
    );
}

// ---- IPv6 NS ---------------------------------------------------------------------------------

#[test]
fn ns_monitor_with_na_replies() {
    let mut cfg = config(ArpMode::ActiveBackup, ArpValidate::All, &[]);
    cfg.ns_targets = vec![NsTarget { ip: t6(), src: our_ip6() }];
    let mut r = Rig::new(cfg, &[A, B]);
    r.tick(0);
    assert_eq!(r.probes_at(0), [A]);
    let ns = r.probes[0].2.clone();
    assert_eq!(ns, ns_probe(BOND_MAC, &NsTarget { ip: t6(), src: our_ip6() }));
    assert_eq!(&ns[..6], &[0x33, 0x33, 0xff, 0, 0, 0x09], "solicited-node multicast");
    let ip = ipv6::Packet::new_checked(&ns[HEADER_LEN..]).unwrap();
    assert_eq!(ip.dst_addr(), "ff02::1:ff00:9".parse::<Ipv6Addr>().unwrap());
    assert_eq!(ip.hop_limit(), 255);
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
    assert_eq!(NdiscRepr::parse(&icmp).unwrap(), NdiscRepr::solicit(t6(), BOND_MAC));

    assert_eq!(r.rx(0, B, &ns), ArpRx::Rejected, "active has not received yet");
    assert_eq!(
        r.rx(1, A, &na_reply(t6(), our_ip6())),
        ArpRx::Validated { family: Family::Ns, slot: 0 }
    );
    for t in (100..=300).step_by(100) {
        r.tick(t);
        assert_eq!(r.rx(t, B, &ns), ArpRx::Validated { family: Family::Ns, slot: 0 });
        // An NA to all-nodes counts too (our NS had no source address, or unsolicited).
        let na = na_reply(t6(), ipv6::ALL_NODES);
        assert_eq!(r.rx(t + 1, A, &na), ArpRx::Validated { family: Family::Ns, slot: 0 });
    }
    // An NA from a stranger, or to an address that is not ours, does not count.
    let stranger: Ipv6Addr = "2001:db8::77".parse().unwrap();
    assert_eq!(r.rx(302, A, &na_reply(stranger, our_ip6())), ArpRx::Rejected);
    assert_eq!(r.rx(302, A, &na_reply(t6(), stranger)), ArpRx::Rejected);
    // The target goes silent after 301: down at 301 + 2.5 intervals.
    r.tick(400);
    r.tick(500);
    assert!(r.changes().is_empty());
    r.tick(600);
    assert_eq!(r.changes()[0], (600, A, ArpLinkChange::Down));
}

#[test]
fn ns_probe_without_source_has_no_option() {
    let f = ns_probe(BOND_MAC, &NsTarget { ip: t6(), src: Ipv6Addr::UNSPECIFIED });
    let ip = ipv6::Packet::new_checked(&f[HEADER_LEN..]).unwrap();
    assert_eq!(ip.payload_len(), 24);
    let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
    assert_eq!(
        NdiscRepr::parse(&icmp).unwrap(),
        NdiscRepr::NeighborSolicit { target_addr: t6(), source_ll_addr: None }
    );
}

#[test]
fn arp_probe_bytes() {
    let f = arp_probe(BOND_MAC, &ArpTarget { ip: T1, src: OUR_IP });
    #[rustfmt::skip]
    let expected: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1,
        0, 0, 0, 0, 0, 0, 192, 0, 2, 9,
    ];
    assert_eq!(&f[..42], &expected);
    assert_eq!(f.len(), 60);
    assert!(f[42..].iter().all(|b| *b == 0), "zero padding");
}

// ---- garbage ---------------------------------------------------------------------------------

#[test]
fn garbage_is_ignored() {
    let mut r = Rig::new(config(ArpMode::ActiveBackup, ArpValidate::All, &[T1]), &[A, B]);
    r.tick(0);
    let before = r.mon.clone();
    let mut short_arp = arp_reply(T1);
    short_arp.truncate(HEADER_LEN + 20);
    let mut ib_arp = arp_reply(T1);
    ib_arp[HEADER_LEN + 4] = 20; // hardware length 20
    let mut udp6 = na_reply(t6(), our_ip6());
    udp6[HEADER_LEN + 6] = 17; // next header UDP
    let mut otherhost = arp_reply(T1);
    otherhost[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x55]);
    let mut zero_sender = arp_reply(T1);
    zero_sender[HEADER_LEN + 14..HEADER_LEN + 18].fill(0);
    for (what, f) in [
        ("empty", vec![]),
        ("runt", vec![0xff; 13]),
        ("short ARP", short_arp),
        ("InfiniBand ARP", ib_arp),
        ("IPv6 UDP", udp6),
        (
            "short IPv6",
            eth(BOND_MAC, PEER_MAC, EtherType::Ipv6, &[0x60; 30])[..HEADER_LEN + 30].to_vec(),
        ),
        ("other host", otherhost),
    ] {
        assert_eq!(r.rx(1, A, &f), ArpRx::Ignored, "{what}");
    }
    assert_eq!(r.rx(1, A, &zero_sender), ArpRx::Rejected, "sender 0.0.0.0");
    assert_eq!(r.mon.handle_frame(ms(1), SlaveId(99), &arp_reply(T1), true), ArpRx::Ignored);
    assert_eq!(r.mon, before, "no state changed");
}

proptest! {
    #[test]
    fn no_panic_on_any_frame(bytes in proptest::collection::vec(any::<u8>(), 0..200), kind in 0u8..4) {
        let mut cfg = config(ArpMode::ActiveBackup, ArpValidate::All, &[T1]);
        cfg.ns_targets = vec![NsTarget { ip: t6(), src: our_ip6() }];
        let mut r = Rig::new(cfg, &[A, B]);
        r.tick(0);
        let mut f = bytes;
        // Steer some inputs into the ARP and IPv6 parsers.
        if f.len() >= 14 && kind > 0 {
            f[..6].copy_from_slice(&BOND_MAC.0);
            let et: u16 = match kind { 1 => 0x0806, 2 => 0x86dd, _ => 0x8100 };
            f[12..14].copy_from_slice(&et.to_be_bytes());
        }
        let _ = r.rx(1, A, &f);
        let _ = r.rx(1, B, &f);
        r.tick(100);
    }
}

#[test]
fn from_options_takes_the_bonds_addresses() {
    let o = BondOptions {
        mode: Mode::ActiveBackup,
        arp_interval: 250,
        arp_ip_target: vec![T1, T2],
        ns_ip6_target: vec![t6(), "fe80::9".parse().unwrap()],
        arp_validate: ArpValidate::Backup,
        ..BondOptions::default()
    };
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    let c = ArpConfig::from_options(&o, &[OUR_IP], &[our_ip6(), ll]);
    assert_eq!(c.mode, ArpMode::ActiveBackup);
    assert_eq!(c.interval, Duration::from_millis(250));
    assert_eq!(c.arp_targets[1], ArpTarget { ip: T2, src: OUR_IP });
    assert_eq!(c.ns_targets[0].src, our_ip6());
    assert_eq!(c.ns_targets[1].src, ll, "link-local target, link-local source");
    let c = ArpConfig::from_options(&o, &[], &[]);
    assert_eq!(c.arp_targets[0].src, Ipv4Addr::UNSPECIFIED);
    assert_eq!(c.ns_targets[0].src, Ipv6Addr::UNSPECIFIED);
}

// ---- the real driver -------------------------------------------------------------------------
//
// Captured from Debian's 6.1.0-56 kernel (the real bonding driver) in QEMU:
//   ip netns add NS
//   KVM_BOND_RUN_DIR=... interop/kernel-vm/run-vm.sh start amon --netns NS --taps amon-0,amon-1 \
//     --macs 52:54:00:aa:00:00,52:54:00:aa:00:01 --mode active-backup --miimon 0 \
//     --addr 192.0.2.1/24 --opts arp_ip_target:+192.0.2.9,arp_validate:all,arp_interval:100
//   ip netns exec NS tcpdump -i amon-0 -w amon-0.pcap   (and amon-1); tcpdump -r ... -xx arp
// Nothing answers 192.0.2.9.

const KERNEL_MAC: MacAddr = MacAddr([0x52, 0x54, 0x00, 0xaa, 0x00, 0x00]);

/// "Request who-has 192.0.2.9 tell 192.0.2.1", 60 octets on the tap.
#[rustfmt::skip]
const KERNEL_PROBE: [u8; 60] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x00, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// The first probe, sent before the bond had its address: "tell 0.0.0.0" (no route).
#[rustfmt::skip]
const KERNEL_PROBE_NO_ROUTE: [u8; 60] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x00, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn probe_bytes_equal_the_kernels() {
    assert_eq!(arp_probe(KERNEL_MAC, &ArpTarget { ip: T1, src: OUR_IP }), KERNEL_PROBE);
    let no_route = ArpTarget { ip: T1, src: Ipv4Addr::UNSPECIFIED };
    assert_eq!(arp_probe(KERNEL_MAC, &no_route), KERNEL_PROBE_NO_ROUTE);
}

/// The same guest's log and capture, replayed (kernel times in ms of uptime, ticks every
/// ~104 ms there, 100 ms here):
/// ```text
/// [2.562] (slave eth0): Enslaving as a backup interface with a down link
/// [2.580] (slave eth1): Enslaving as a backup interface with a down link
/// [2.588] (slave eth0): link status definitely up
/// [2.588] (slave eth1): link status definitely up
/// [2.588] (slave eth0): making interface the new active one
/// [2.900] (slave eth0): link status definitely down, disabling slave
/// [2.901] (slave eth1): link status definitely down, disabling slave
/// [2.901] now running without any active interface!
/// [4.596] e1000: eth1 NIC Link is Up
/// ```
/// and the probes: on eth0 at every tick until eth1 has carrier, then eth1, eth0, eth1, ...
/// ("going back" / "going down" in /proc as the rotation passes).
#[test]
fn replays_the_kernels_boot_without_a_target() {
    let (e0, e1) = (SlaveId(0), SlaveId(1));
    let mut m = ArpMonitor::new(config(ArpMode::ActiveBackup, ArpValidate::All, &[T1]));
    // Enslaved before e1000 reported carrier: down, but "received" an interval before.
    assert_eq!(m.add_slave(ms(2562), e0, KERNEL_MAC, false), Some(LinkStatus::Down));
    assert_eq!(m.add_slave(ms(2580), e1, KERNEL_MAC, false), Some(LinkStatus::Down));
    let mut views = [
        ArpSlaveView { id: e0, up: true, primary: false, prio: 0 },
        ArpSlaveView { id: e1, up: false, primary: false, prio: 0 },
    ];
    m.start(ms(2588));
    let mut t = 2588;
    let c = m.handle_tick(ms(t), &views);
    let changes: Vec<_> = c.transitions.iter().map(|x| (x.slave, x.change)).collect();
    assert_eq!(changes, [(e0, ArpLinkChange::Up), (e1, ArpLinkChange::Up)], "the enslave quirk");
    assert!(c.failover);
    m.set_active_slave(ms(t), Some(e0));
    assert_eq!(m.probe(ms(t), &views).probes.iter().map(|p| p.slave).collect::<Vec<_>>(), [e0]);
    let mut downs = Vec::new();
    let mut probes = Vec::new();
    while t < 5000 {
        t += 100;
        views[1].up = t >= 4596;
        let c = m.handle_tick(ms(t), &views);
        for x in &c.transitions {
            if x.change == ArpLinkChange::Down {
                downs.push((t, x.slave));
            }
        }
        if c.failover {
            m.set_active_slave(ms(t), None);
        }
        let p = m.probe(ms(t), &views);
        probes.extend(p.probes.iter().map(|p| p.slave));
    }
    assert_eq!(downs, [(2888, e0), (2888, e1)], "both down at the third tick");
    assert_eq!(m.active_slave(), None);
    // 2688..=4588: eth0 alone (eth1 has no carrier); then the rotation alternates.
    let (alone, rotating) = probes.split_at(20);
    assert!(alone.iter().all(|s| *s == e0), "{alone:?}");
    assert_eq!(rotating, [e1, e0, e1, e0, e1], "4688..=5088");
    let statuses = (m.link_status(e0).unwrap(), m.link_status(e1).unwrap());
    assert_eq!(
        statuses,
        (LinkStatus::Fail, LinkStatus::Back),
        "as /proc showed: going down / going back"
    );
    assert_eq!((m.link_failure_count(e0), m.link_failure_count(e1)), (Some(1), Some(1)));
}
