//! Bonds in every implemented mode, driven through the sans-IO API.

use std::net::Ipv4Addr;
use std::time::Duration;

mod common;

use common::bonds::{check, run_pair, Wire2};
use ubond_core::bond::{
    Bond, BondError, BondEvent, ConfigError, Misuse, RxVerdict, SlaveConfig, SlaveId, TxChoice,
};
use ubond_core::lacp::LinkState;
use ubond_core::monitor::mii::LinkStatus;
use ubond_core::options::{BondOptions, Mode, PrimaryReselect};
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn opts(mode: Mode) -> BondOptions {
    BondOptions { mode, miimon: 100, ..BondOptions::default() }
}

fn slave(n: u8) -> SlaveConfig {
    SlaveConfig { name: format!("eth{n}"), perm_mac: MacAddr([2, 0, 0, 0, 1, n]) }
}

/// A bond with `n` up slaves named eth0.., enslaved at t=0.
fn bond(o: BondOptions, n: u8) -> (Bond, Vec<SlaveId>) {
    let mut b = Bond::new("bond0", o, None).expect("bond");
    let ids =
        (0..n).map(|i| b.enslave(ms(0), slave(i), LinkState::up(1000)).expect("enslave")).collect();
    (b, ids)
}

fn run(b: &mut Bond, until: Instant) {
    while let Some(t) = b.poll_timeout().filter(|t| *t <= until) {
        b.handle_timeout(t);
        check(b);
    }
}

fn logs(b: &mut Bond) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(e) = b.poll_event() {
        if let BondEvent::Log { slave, message } = e {
            out.push(format!("{}: {message}", slave.unwrap_or_default()));
        }
    }
    out
}

#[test]
fn active_backup_fails_over_at_once_and_notifies_peers() {
    let (mut b, s) = bond(opts(Mode::ActiveBackup), 2);
    b.set_addresses(vec![Ipv4Addr::new(192, 0, 2, 1)], vec![]);
    assert_eq!(b.active_slave(), Some(s[0]));
    assert_eq!(b.mac(), MacAddr([2, 0, 0, 0, 1, 0]), "the first slave's MAC becomes the bond's");
    assert_eq!(b.tx_plan().slaves, [s[0]]);
    assert_eq!(
        b.rx_plan().verdict(s[1], &[0u8; 60]),
        RxVerdict::Drop,
        "backup slaves' frames are dropped"
    );
    assert!(b.carrier());
    logs(&mut b);
    b.handle_link(ms(1000), s[0], LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(s[1]));
    assert_eq!(b.tx_plan().slaves, [s[1]]);
    assert_eq!(b.slave_link(s[0]), Some((LinkStatus::Down, 1)));
    assert!(b.carrier());
    let log = logs(&mut b);
    assert!(
        log.contains(&"eth0: link status definitely down, disabling slave".to_string()),
        "{log:?}"
    );
    assert!(log.contains(&"eth1: making interface the new active one".to_string()), "{log:?}");
    // num_peer_notif (1) gratuitous ARP from the bond MAC on the new active slave, at once
    // (Linux bond_change_active_slave: the bond has carrier, so NETDEV_NOTIFY_PEERS now).
    assert_eq!(b.poll_timeout(), Some(ms(1000)), "due now");
    run(&mut b, ms(1000));
    let garp = b.poll_transmit().expect("gratuitous ARP");
    assert_eq!(garp.slave, s[1]);
    assert_eq!(&garp.frame[6..12], &b.mac().0);
    assert_eq!(&garp.frame[12..14], &[0x08, 0x06]);
    assert!(b.poll_transmit().is_none());
    // Both down: no carrier, nothing to send on.
    b.handle_link(ms(2000), s[1], LinkState::down()).unwrap();
    assert!(!b.carrier());
    assert_eq!(b.tx_plan().select(&[0; 60], &mut 0), TxChoice::Drop);
}

#[test]
fn the_first_activation_is_announced_one_monitor_tick_later_and_only_while_up() {
    // Linux bond_change_active_slave sets send_peer_notif on the first activation too, but the
    // bond's carrier comes on only after the change, so bond_mii_monitor's next tick sends it.
    for (mode, admin_up, want) in [
        (Mode::ActiveBackup, true, vec![ms(100), ms(200), ms(300)]),
        (Mode::ActiveBackup, false, vec![]),
        (Mode::BalanceTlb, true, vec![]),
    ] {
        let o = BondOptions { num_peer_notif: 3, ..opts(mode) };
        let mut b = Bond::new("bond0", o, None).unwrap();
        b.set_admin_up(ms(0), admin_up);
        b.set_addresses(vec![Ipv4Addr::new(192, 0, 2, 1)], vec![]);
        let s = b.enslave(ms(0), slave(0), LinkState::up(1000)).unwrap();
        assert_eq!(b.active_slave(), Some(s));
        let mut sent = Vec::new();
        for t in (0..=1000).step_by(10) {
            run(&mut b, ms(t));
            while let Some(tx) = b.poll_transmit() {
                if tx.frame[12..14] == [0x08, 0x06] {
                    sent.push(ms(t));
                }
            }
        }
        assert_eq!(sent, want, "{mode:?}, admin up {admin_up}");
    }
}

#[test]
fn a_new_prio_reselects_only_without_a_primary_slave() {
    // Linux bond_option_prio_set: bond_select_active_slave when no primary slave is set, else
    // only a warning (the next re-selection uses the new prio).
    for primary in [None, Some("eth0")] {
        let o = BondOptions { primary: primary.map(str::to_owned), ..opts(Mode::ActiveBackup) };
        let (mut b, s) = bond(o, 3);
        b.handle_link(ms(1000), s[0], LinkState::down()).unwrap();
        assert_eq!(b.active_slave(), Some(s[1]), "primary {primary:?}");
        let warnings = b.set_slave_option(ms(2000), s[2], "prio", "10").unwrap();
        let want = if primary.is_some() { s[1] } else { s[2] };
        assert_eq!(b.active_slave(), Some(want), "primary {primary:?}");
        assert_eq!(warnings.is_empty(), primary.is_none(), "{warnings:?}");
        b.set_slave_option(ms(2100), s[1], "queue_id", "3").unwrap();
        assert_eq!(b.active_slave(), Some(want), "queue_id does not re-select");
    }
}

#[test]
fn downdelay_keeps_the_active_slave_while_going_down() {
    // Delays are kept in multiples of miimon (100 ms), as the kernel keeps them.
    let o = BondOptions { downdelay: 2, updelay: 3, ..opts(Mode::ActiveBackup) };
    let mut b = Bond::new("bond0", o, None).unwrap();
    // With updelay a new slave starts "going back"; having no active slave, the bond makes
    // it the active one at once ("N ms earlier"), as Linux does.
    let a = b.enslave(ms(0), slave(0), LinkState::up(1000)).unwrap();
    assert_eq!((b.active_slave(), b.slave_link(a).unwrap().0), (Some(a), LinkStatus::Up));
    let c = b.enslave(ms(0), slave(1), LinkState::up(1000)).unwrap();
    run(&mut b, ms(400));
    assert_eq!(b.active_slave(), Some(a));
    b.handle_link(ms(1000), a, LinkState::down()).unwrap();
    assert_eq!(b.slave_link(a).unwrap().0, LinkStatus::Fail);
    assert_eq!(b.active_slave(), Some(a), "still active while going down");
    run(&mut b, ms(1199));
    assert_eq!(b.active_slave(), Some(a));
    run(&mut b, ms(1200));
    assert_eq!(b.active_slave(), Some(c));
    // Coming back takes updelay.
    b.handle_link(ms(2000), a, LinkState::up(1000)).unwrap();
    assert_eq!(b.slave_link(a).unwrap().0, LinkStatus::Back);
    run(&mut b, ms(2299));
    assert_eq!(b.slave_link(a).unwrap().0, LinkStatus::Back);
    run(&mut b, ms(2300));
    assert_eq!(b.slave_link(a).unwrap().0, LinkStatus::Up);
}

#[test]
fn primary_and_primary_reselect() {
    for (policy, back_to_primary) in [
        (PrimaryReselect::Always, true),
        (PrimaryReselect::Failure, false),
        (PrimaryReselect::Better, false),
    ] {
        let (mut b, s) =
            bond(BondOptions { primary_reselect: policy, ..opts(Mode::ActiveBackup) }, 2);
        b.set_option(ms(10), "primary", "eth1").unwrap();
        assert_eq!(b.active_slave(), Some(s[1]), "{policy:?}: a new primary takes over");
        b.handle_link(ms(100), s[1], LinkState::down()).unwrap();
        assert_eq!(b.active_slave(), Some(s[0]));
        b.handle_link(ms(200), s[1], LinkState::up(1000)).unwrap();
        let want = if back_to_primary { s[1] } else { s[0] };
        assert_eq!(b.active_slave(), Some(want), "{policy:?}");
    }
    // better: a faster primary wins back.
    let mut b = Bond::new(
        "bond0",
        BondOptions { primary_reselect: PrimaryReselect::Better, ..opts(Mode::ActiveBackup) },
        None,
    )
    .unwrap();
    let s0 = b.enslave(ms(0), slave(0), LinkState::up(1000)).unwrap();
    let s1 = b.enslave(ms(0), slave(1), LinkState::up(10000)).unwrap();
    b.set_option(ms(10), "primary", "eth1").unwrap();
    b.handle_link(ms(100), s1, LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(s0));
    b.handle_link(ms(200), s1, LinkState::up(10000)).unwrap();
    assert_eq!(b.active_slave(), Some(s1));
}

#[test]
fn the_primary_is_made_active_when_enslaved_whatever_primary_reselect_says() {
    // bonding.rst: "When initially enslaved, the primary slave is always made the active
    // slave" (bond_enslave sets force_primary); bond_options.sh's prio test relies on it.
    for mode in [Mode::ActiveBackup, Mode::BalanceTlb, Mode::BalanceAlb] {
        for policy in [PrimaryReselect::Always, PrimaryReselect::Better, PrimaryReselect::Failure] {
            let o = BondOptions {
                primary: Some("eth1".into()),
                primary_reselect: policy,
                ..opts(mode)
            };
            let (b, s) = bond(o.clone(), 3);
            assert_eq!(b.active_slave(), Some(s[1]), "{mode:?} {policy:?}");
            // Enslaved while down, it takes over when its link comes up.
            let mut b = Bond::new("bond0", o.clone(), None).unwrap();
            let s0 = b.enslave(ms(0), slave(0), LinkState::up(1000)).unwrap();
            let s1 = b.enslave(ms(0), slave(1), LinkState::down()).unwrap();
            assert_eq!(b.active_slave(), Some(s0));
            b.handle_link(ms(100), s1, LinkState::up(1000)).unwrap();
            assert_eq!(b.active_slave(), Some(s1), "{mode:?} {policy:?}: once up");
            // Only once: after a failure, primary_reselect decides again.
            b.handle_link(ms(200), s1, LinkState::down()).unwrap();
            b.handle_link(ms(300), s1, LinkState::up(1000)).unwrap();
            let want = if policy == PrimaryReselect::Always { s1 } else { s0 };
            assert_eq!(b.active_slave(), Some(want), "{mode:?} {policy:?}: after a failure");
            // A slave a restarted driver adopts is no new enslavement.
            if policy != PrimaryReselect::Always {
                let mut b = Bond::new("bond0", o, None).unwrap();
                let s0 = b.adopt(ms(0), slave(0), LinkState::up(1000)).unwrap();
                b.adopt(ms(0), slave(1), LinkState::up(1000)).unwrap();
                assert_eq!(b.active_slave(), Some(s0), "{mode:?} {policy:?}: adopted");
            }
        }
    }
}

#[test]
fn a_returning_slave_takes_the_active_role_back_only_by_prio_or_as_primary() {
    // Linux bond_miimon_commit chooses the active slave again when a slave comes up only if
    // there is none, the slave is the primary or its prio is higher than the active one's.
    // (bond_choose_primary_or_current would otherwise move the role to the first slave of the
    // highest prio: a needless failback.)
    for mode in [Mode::ActiveBackup, Mode::BalanceTlb, Mode::BalanceAlb] {
        let (mut b, s) = bond(opts(mode), 3);
        assert_eq!(b.active_slave(), Some(s[0]));
        b.handle_link(ms(100), s[0], LinkState::down()).unwrap();
        assert_eq!(b.active_slave(), Some(s[1]), "{mode:?}");
        b.handle_link(ms(200), s[0], LinkState::up(1000)).unwrap();
        assert_eq!(b.active_slave(), Some(s[1]), "{mode:?}: no failback on the same prio");
        // A backup's flap changes nothing either.
        b.handle_link(ms(300), s[2], LinkState::down()).unwrap();
        b.handle_link(ms(400), s[2], LinkState::up(1000)).unwrap();
        assert_eq!(b.active_slave(), Some(s[1]), "{mode:?}: a backup's flap");
        // A higher prio does take it back.
        b.set_slave_option(ms(500), s[2], "prio", "5").unwrap();
        assert_eq!(b.active_slave(), Some(s[2]), "{mode:?}: the highest prio");
        b.handle_link(ms(600), s[2], LinkState::down()).unwrap();
        assert_eq!(b.active_slave(), Some(s[0]), "{mode:?}: the first of the rest");
        b.handle_link(ms(700), s[2], LinkState::up(1000)).unwrap();
        assert_eq!(b.active_slave(), Some(s[2]), "{mode:?}: back by prio");
    }
}

#[test]
fn a_carrier_change_does_not_choose_the_active_slave_again_under_the_arp_monitor() {
    // Linux leaves the choice to the ARP monitor's commit (bond_ab_arp_commit); a carrier
    // change alone (NETDEV_CHANGE) does not call bond_select_active_slave.
    let o = ubond_core::options::parse_module_options(
        "mode=active-backup arp_interval=100 arp_ip_target=192.0.2.9",
    )
    .unwrap()
    .options;
    let mut b = Bond::new("bond0", o, None).unwrap();
    b.set_addresses(vec![Ipv4Addr::new(192, 0, 2, 1)], vec![]);
    let s: Vec<SlaveId> =
        (0..3).map(|i| b.enslave(ms(0), slave(i), LinkState::up(1000)).unwrap()).collect();
    // arp_validate none: any frame keeps a slave up. `quiet` hears nothing.
    let feed = |b: &mut Bond, from: u64, to: u64, quiet: Option<SlaveId>| {
        for t in (from..to).step_by(50) {
            run(b, ms(t));
            while b.poll_transmit().is_some() {}
            for &id in s.iter().filter(|id| Some(**id) != quiet) {
                b.handle_frame(ms(t), id, &[0xff; 60]);
            }
        }
    };
    feed(&mut b, 0, 1000, None);
    assert_eq!(b.active_slave(), Some(s[0]));
    assert!((0..3).all(|i| b.slave_link(s[i]).unwrap().0 == LinkStatus::Up));
    feed(&mut b, 1000, 2000, Some(s[0]));
    assert_eq!(b.active_slave(), Some(s[1]), "s0 heard nothing: failover");
    feed(&mut b, 2000, 3000, None);
    assert_eq!(b.slave_link(s[0]).unwrap().0, LinkStatus::Up);
    assert_eq!(b.active_slave(), Some(s[1]), "s0 back: no failback on the same prio");
    // A backup's carrier flaps between two ticks.
    b.handle_link(ms(3010), s[2], LinkState::down()).unwrap();
    b.handle_link(ms(3020), s[2], LinkState::up(1000)).unwrap();
    assert_eq!(b.active_slave(), Some(s[1]), "a carrier change chooses nothing");
    feed(&mut b, 3050, 4000, None);
    assert_eq!(b.active_slave(), Some(s[1]));
}

#[test]
fn slave_prio_chooses_the_active_slave_without_a_primary() {
    let (mut b, s) = bond(opts(Mode::ActiveBackup), 3);
    assert_eq!(b.active_slave(), Some(s[0]));
    b.set_slave_option(ms(10), s[2], "prio", "10").unwrap();
    assert_eq!(b.active_slave(), Some(s[2]));
    b.handle_link(ms(20), s[2], LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(s[0]));
}

#[test]
fn all_slaves_active_delivers_backup_frames() {
    let (mut b, s) = bond(BondOptions { all_slaves_active: true, ..opts(Mode::ActiveBackup) }, 2);
    assert_eq!(b.handle_frame(ms(1), s[1], &[0u8; 60]), RxVerdict::Deliver);
    assert_eq!(b.tx_plan().slaves, [s[0]]);
}

/// A TCP/IPv4 segment with 10 octets of payload and sequence number `seq`.
fn tcp_segment(seq: u32) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 20 + 10];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&50u16.to_be_bytes());
    f[14 + 9] = 6;
    f[34 + 4..34 + 8].copy_from_slice(&seq.to_be_bytes());
    f[34 + 12] = 5 << 4;
    f
}

#[test]
fn broadcast_delivers_a_tcp_segment_once_unless_tcp_dup_discard_is_off() {
    let (mut b, s) = bond(opts(Mode::Broadcast), 3);
    assert!(b.rx_plan().copies, "on by default");
    let (one, two) = (tcp_segment(1), tcp_segment(2));
    let verdicts = |b: &mut Bond, f: &[u8]| {
        s.iter().map(|&id| b.handle_frame(ms(1), id, f)).collect::<Vec<_>>()
    };
    use RxVerdict::{Deliver, Drop};
    assert_eq!(verdicts(&mut b, &one), [Deliver, Drop, Drop]);
    assert_eq!(verdicts(&mut b, &two), [Deliver, Drop, Drop]);
    // Not TCP with payload: every copy, as Linux.
    assert_eq!(verdicts(&mut b, &[0u8; 60]), [Deliver, Deliver, Deliver]);
    b.set_option(ms(2), "tcp_dup_discard", "off").unwrap();
    assert!(!b.rx_plan().copies);
    assert_eq!(verdicts(&mut b, &tcp_segment(3)), [Deliver, Deliver, Deliver]);
    // Only in broadcast.
    let (mut rr, _) = bond(opts(Mode::BalanceRr), 2);
    assert!(!rr.rx_plan().copies);
    assert!(rr.set_option(ms(2), "tcp_dup_discard", "on").is_err());
}

#[test]
fn without_miimon_carrier_is_not_watched() {
    let (mut b, s) = bond(BondOptions { miimon: 0, ..opts(Mode::ActiveBackup) }, 2);
    b.handle_link(ms(10), s[0], LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(s[0]), "Linux: no link monitoring, no failover");
    assert_eq!(b.slave_link(s[0]).unwrap().0, LinkStatus::Up);
}

#[test]
fn load_balancing_modes_use_every_up_slave() {
    for mode in [Mode::BalanceRr, Mode::BalanceXor, Mode::Broadcast] {
        let (mut b, s) = bond(opts(mode), 3);
        assert_eq!(b.tx_plan().slaves, s, "{mode:?}");
        for &id in &s {
            assert_eq!(b.handle_frame(ms(1), id, &[0u8; 60]), RxVerdict::Deliver);
        }
        b.handle_link(ms(10), s[1], LinkState::down()).unwrap();
        assert_eq!(b.tx_plan().slaves, [s[0], s[2]], "{mode:?}");
        assert!(b.carrier());
    }
    let (b, s) = bond(opts(Mode::BalanceXor), 2);
    // A layer2 hash: d[5] ^ s[5] ^ ethertype.
    let mut frame = [0u8; 60];
    frame[5] = 1;
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(b.tx_plan().select(&frame, &mut 0), TxChoice::One(s[1]));
}

/// An IPv4/UDP frame from the bond to `dst_ip` via `dst_mac`.
fn udp(dst_mac: [u8; 6], dst_ip: [u8; 4], sport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 1, 0]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&46u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[192, 0, 2, 1]);
    f[30..34].copy_from_slice(&dst_ip);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    f
}

#[test]
fn balance_tlb_balances_by_table_and_sends_learning_packets() {
    let (mut b, s) = bond(opts(Mode::BalanceTlb), 2);
    assert_eq!(b.active_slave(), Some(s[0]));
    assert!(b.tx_plan().tlb.is_some(), "the data path gets the TLB table");
    assert_eq!(b.tx_plan().slaves, s);
    let mut c = 0;
    for n in 0..8u8 {
        let choice =
            b.tx_plan().select(&udp([2, 0, 0, 9, 9, n], [192, 0, 2, 10 + n], 1000), &mut c);
        assert!(matches!(choice, TxChoice::One(x) if s.contains(&x)), "{choice:?}");
    }
    // Broadcast goes by the active slave; only the active slave delivers up.
    assert_eq!(b.tx_plan().select(&[0xff; 60], &mut c), TxChoice::One(s[0]));
    assert_eq!(b.handle_frame(ms(1), s[0], &udp([2; 6], [192, 0, 2, 1], 1)), RxVerdict::Deliver);
    assert_eq!(b.handle_frame(ms(1), s[1], &udp([2; 6], [192, 0, 2, 1], 1)), RxVerdict::Drop);
    // Learning packets (EtherType 0x9000) on every slave within lp_interval (1 s).
    run(&mut b, ms(1200));
    let mut learning = Vec::new();
    while let Some(tx) = b.poll_transmit() {
        if tx.frame[12..14] == [0x90, 0x00] {
            learning.push(tx.slave);
        }
    }
    learning.sort();
    learning.dedup();
    assert_eq!(learning, s);
    // The active slave fails: the other takes over and carries everything.
    b.handle_link(ms(1300), s[0], LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(s[1]));
    assert_eq!(
        b.tx_plan().select(&udp([2, 0, 0, 9, 9, 1], [192, 0, 2, 11], 1000), &mut c),
        TxChoice::One(s[1])
    );
}

#[test]
fn balance_alb_receives_unicast_on_every_slave_and_routes_arp_through_the_control_plane() {
    let (mut b, s) = bond(opts(Mode::BalanceAlb), 2);
    assert_eq!(b.handle_frame(ms(1), s[1], &udp([2; 6], [192, 0, 2, 1], 1)), RxVerdict::Deliver);
    assert_eq!(
        b.handle_frame(ms(1), s[1], &[0xff; 60]),
        RxVerdict::Drop,
        "broadcast only on the active slave"
    );
    // An ARP reply the bond sends to a client goes through the control plane (RLB).
    let mut arp = ubond_core::bond::notify::gratuitous_arp(b.mac(), Ipv4Addr::new(192, 0, 2, 1));
    arp[0..6].copy_from_slice(&[2, 0, 0, 9, 9, 9]);
    arp[20..22].copy_from_slice(&[0, 2]); // reply
    arp[32..38].copy_from_slice(&[2, 0, 0, 9, 9, 9]);
    arp[38..42].copy_from_slice(&[192, 0, 2, 50]);
    assert_eq!(b.tx_plan().select(&arp, &mut 0), TxChoice::ControlPlane);
    let slave = b.handle_arp_tx(ms(2), &mut arp).expect("a slave for the client");
    assert!(s.contains(&slave));
    let macs: Vec<MacAddr> = (0..2).map(|i| MacAddr([2, 0, 0, 0, 1, i])).collect();
    assert!(macs.contains(&MacAddr::from_slice(&arp[22..28]).unwrap()), "sender MAC is a slave's");
}

#[test]
fn balance_alb_failover_moves_the_addresses_and_says_where_they_are() {
    // bond_alb_handle_active_change swaps the addresses of the old and the new active slave:
    // `slave_mac` is what each interface has afterwards (the data paths match on it), and the
    // set of the slaves' own addresses stays.
    let (mut b, s) = bond(opts(Mode::BalanceAlb), 2);
    let (bond_mac, own) = (b.mac(), b.slave_mac(s[1]).unwrap());
    assert_eq!(b.slave_mac(s[0]), Some(bond_mac), "the active slave has the bond's address");
    assert_ne!(own, bond_mac);
    let slave_macs = b.rx_plan().slave_macs.clone();
    while b.poll_event().is_some() {}
    b.handle_link(ms(100), s[0], LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(s[1]));
    assert_eq!(b.slave_mac(s[1]), Some(bond_mac), "the new active slave has the bond's address");
    assert_eq!(b.slave_mac(s[0]), Some(own), "the old one has the new one's");
    assert_eq!(b.rx_plan().slave_macs, slave_macs);
    let mut told = Vec::new();
    while let Some(e) = b.poll_event() {
        if let BondEvent::SlaveMac { slave, mac } = e {
            told.push((slave, mac));
        }
    }
    told.sort();
    assert_eq!(told, [(s[0], own), (s[1], bond_mac)]);
}

#[test]
fn arp_monitor_drives_active_backup() {
    let o = ubond_core::options::parse_module_options(
        "mode=active-backup arp_interval=100 arp_ip_target=192.0.2.9",
    )
    .unwrap()
    .options;
    let mut b = Bond::new("bond0", o, None).unwrap();
    b.set_addresses(vec![Ipv4Addr::new(192, 0, 2, 1)], vec![]);
    let s: Vec<SlaveId> =
        (0..2).map(|i| b.enslave(ms(0), slave(i), LinkState::up(1000)).unwrap()).collect();
    // The target answers on every slave: probes go out, links stay up.
    let reply = |b: &Bond| {
        let mut f = ubond_core::bond::notify::gratuitous_arp(
            MacAddr([2, 0, 0, 9, 9, 9]),
            Ipv4Addr::new(192, 0, 2, 9),
        );
        f[0..6].copy_from_slice(&b.mac().0);
        f[20..22].copy_from_slice(&[0, 2]);
        f[32..38].copy_from_slice(&b.mac().0);
        f[38..42].copy_from_slice(&[192, 0, 2, 1]);
        f
    };
    let mut probes = 0;
    for t in (0..2000).step_by(50) {
        run(&mut b, ms(t));
        while let Some(tx) = b.poll_transmit() {
            if tx.frame[12..14] == [0x08, 0x06] && tx.frame[38..42] == [192, 0, 2, 9] {
                probes += 1;
            }
        }
        let f = reply(&b);
        for &id in &s {
            b.handle_frame(ms(t), id, &f);
        }
    }
    assert!(probes >= 10, "ARP probes to the target: {probes}");
    assert_eq!(b.active_slave(), Some(s[0]));
    assert_eq!(b.slave_link(s[0]).unwrap().0, LinkStatus::Up);
    assert!(b.carrier());
    // The target goes silent: the links go down and the bond loses carrier.
    run(&mut b, ms(3000));
    assert_ne!(b.slave_link(s[0]).unwrap().0, LinkStatus::Up);
    assert!(!b.carrier(), "no slave answers ARP");
    assert!(logs(&mut b).iter().any(|l| l.contains("link status definitely down")));
}

fn lacp_pair(tweak: impl Fn(&mut BondOptions)) -> ([Bond; 2], Vec<Wire2>, [Vec<SlaveId>; 2]) {
    let mut o = opts(Mode::Ieee8023ad);
    o.lacp_rate = ubond_core::options::LacpRate::Fast;
    tweak(&mut o);
    let mut a =
        Bond::new("bond0", o.clone(), Some(MacAddr([2, 0, 0, 0, 0xa, 0]))).expect("lacp pair");
    let mut b = Bond::new("bond0", o, Some(MacAddr([2, 0, 0, 0, 0xb, 0]))).expect("lacp pair");
    let mut ids = [Vec::new(), Vec::new()];
    let mut wires = Vec::new();
    for i in 0..2u8 {
        let x = a
            .enslave(
                ms(0),
                SlaveConfig { name: format!("eth{i}"), perm_mac: MacAddr([2, 0, 0, 0xa, 1, i]) },
                LinkState::up(1000),
            )
            .expect("lacp pair");
        let y = b
            .enslave(
                ms(0),
                SlaveConfig { name: format!("eth{i}"), perm_mac: MacAddr([2, 0, 0, 0xb, 1, i]) },
                LinkState::up(1000),
            )
            .expect("lacp pair");
        ids[0].push(x);
        ids[1].push(y);
        wires.push(Wire2 { a: (0, x), b: (1, y), up: true });
    }
    ([a, b], wires, ids)
}

#[test]
fn lacp_bonds_negotiate_and_distribute_over_both_links() {
    let (mut bonds, wires, ids) = lacp_pair(|_| {});
    run_pair(&mut bonds, &wires, ms(0), ms(3000));
    for n in 0..2 {
        assert_eq!(bonds[n].tx_plan().slaves, ids[n], "bond {n}");
        assert!(bonds[n].carrier());
        for &s in &ids[n] {
            assert_eq!(bonds[n].handle_frame(ms(3000), s, &[0u8; 60]), RxVerdict::Deliver);
        }
    }
    // A link's carrier goes: distribution shrinks at once.
    bonds[0].handle_link(ms(3500), ids[0][0], LinkState::down()).unwrap();
    assert_eq!(bonds[0].tx_plan().slaves, [ids[0][1]]);
    assert!(bonds[0].carrier());
}

#[test]
fn unpartnered_802_3ad_default_strict_and_fallback() {
    // Nobody answers LACP (the wires are cut).
    let cut = |wires: &mut Vec<Wire2>| wires.iter_mut().for_each(|w| w.up = false);
    // Default (Linux): carrier up, one port carries traffic, silently.
    let (mut bonds, mut wires, ids) = lacp_pair(|_| {});
    cut(&mut wires);
    run_pair(&mut bonds, &wires, ms(0), ms(10_000));
    assert!(bonds[0].carrier());
    assert_eq!(bonds[0].tx_plan().slaves.len(), 1);
    // lacp_strict: no carrier, nothing sent, nothing delivered.
    let (mut bonds, mut wires, ids2) = lacp_pair(|o| o.lacp_strict = true);
    cut(&mut wires);
    run_pair(&mut bonds, &wires, ms(0), ms(10_000));
    assert!(!bonds[0].carrier());
    assert!(bonds[0].tx_plan().slaves.is_empty());
    assert_eq!(bonds[0].handle_frame(ms(10_000), ids2[0][0], &[0u8; 60]), RxVerdict::Drop);
    // lacp_fallback: active-backup over the slaves until a partner speaks.
    let (mut bonds, mut wires, ids3) = lacp_pair(|o| o.lacp_fallback = true);
    cut(&mut wires);
    run_pair(&mut bonds, &wires, ms(0), ms(10_000));
    assert!(bonds[0].carrier());
    assert_eq!(bonds[0].active_slave(), Some(ids3[0][0]));
    assert_eq!(bonds[0].tx_plan().slaves, [ids3[0][0]]);
    bonds[0].handle_link(ms(10_100), ids3[0][0], LinkState::down()).unwrap();
    assert_eq!(bonds[0].active_slave(), Some(ids3[0][1]), "fails over like active-backup");
    // The partner starts speaking: back to 802.3ad over every negotiated link.
    bonds[0].handle_link(ms(10_200), ids3[0][0], LinkState::up(1000)).unwrap();
    wires.iter_mut().for_each(|w| w.up = true);
    run_pair(&mut bonds, &wires, ms(10_200), ms(16_000));
    assert_eq!(bonds[0].active_slave(), None);
    assert_eq!(bonds[0].tx_plan().slaves, ids3[0]);
    let _ = ids;
    let _ = Duration::ZERO;
}

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let (mut b, s) = bond(opts(Mode::ActiveBackup), 2);
    let err = b.enslave(ms(1), slave(0), LinkState::up(1000)).unwrap_err();
    assert_eq!(err, BondError::Misuse(Misuse::AlreadyEnslaved("eth0".into())));
    assert_eq!(err.to_string(), "eth0 is already a slave of this bond");
    assert!(matches!(
        b.release(ms(1), SlaveId(99)),
        Err(BondError::Misuse(Misuse::UnknownSlave(_)))
    ));
    let err = b.set_option(ms(1), "miimmon", "100").unwrap_err();
    assert!(err.to_string().contains("miimon"), "did-you-mean: {err}");
    let err = b.set_option(ms(1), "mode", "802.3ad").unwrap_err();
    assert!(err.to_string().contains("slaves"), "mode needs no slaves: {err}");
    for bad in ["", "a/b", "bond:0", "a name", "sixteen-chars-xx"] {
        assert!(
            matches!(
                Bond::new(bad, opts(Mode::BalanceRr), None),
                Err(BondError::Config(ConfigError::InvalidName(_)))
            ),
            "{bad:?}"
        );
    }
    let bad_slave = SlaveConfig { name: "eth 9".into(), perm_mac: MacAddr([2, 0, 0, 0, 1, 9]) };
    assert!(matches!(
        b.enslave(ms(1), bad_slave, LinkState::up(1000)),
        Err(BondError::Config(ConfigError::InvalidName(_)))
    ));
    // The bond is untouched.
    assert_eq!(b.options().mode, Mode::ActiveBackup);
    assert_eq!(b.slave_ids().collect::<Vec<_>>(), s);
    assert_eq!(b.active_slave(), Some(s[0]));
}

#[test]
fn fail_over_mac_follow_swaps_addresses_and_igmp_is_resent() {
    let o = BondOptions { resend_igmp: 3, ..opts(Mode::ActiveBackup) };
    let mut b = Bond::new("bond0", o, None).unwrap();
    b.set_option(ms(0), "fail_over_mac", "follow").unwrap();
    let s: Vec<SlaveId> =
        (0..2).map(|i| b.enslave(ms(0), slave(i), LinkState::up(1000)).unwrap()).collect();
    let (bond_mac, own1) = (MacAddr([2, 0, 0, 0, 1, 0]), MacAddr([2, 0, 0, 0, 1, 1]));
    assert_eq!((b.slave_mac(s[0]), b.slave_mac(s[1])), (Some(bond_mac), Some(own1)));
    while b.poll_event().is_some() {}
    b.handle_link(ms(1000), s[0], LinkState::down()).unwrap();
    // follow: the new active slave takes the bond's address, the old one the new one's.
    assert_eq!((b.slave_mac(s[1]), b.slave_mac(s[0])), (Some(bond_mac), Some(own1)));
    assert_eq!(b.mac(), bond_mac, "the bond keeps its address");
    let mut igmp = Vec::new();
    run(&mut b, ms(2000));
    while let Some(e) = b.poll_event() {
        if let BondEvent::ResendIgmp { slave } = e {
            igmp.push(slave);
        }
    }
    assert_eq!(igmp, [s[1]; 3], "resend_igmp reports through the new active slave");
    // Without fail_over_mac every slave gets the bond's address.
    let (b, s) = bond(opts(Mode::BalanceXor), 2);
    assert_eq!(b.slave_mac(s[1]), Some(bond_mac));
}

#[test]
fn a_partner_heard_in_lacp_fallback_ends_it_at_once() {
    // lacp_fallback runs active-backup while nobody speaks LACP. The first LACPDU a partner
    // sends ends it: the bond has no active slave from that frame on, not from its next timer.
    let (mut bonds, mut wires, ids) = lacp_pair(|o| o.lacp_fallback = true);
    wires.iter_mut().for_each(|w| w.up = false);
    run_pair(&mut bonds, &wires, ms(0), ms(10_000));
    assert_eq!(bonds[0].active_slave(), Some(ids[0][0]));
    while bonds[0].poll_event().is_some() {}
    // Bond 1's next LACPDU reaches bond 0 on its first slave; no timer of bond 0 runs.
    let (at, pdu) = loop {
        let t = bonds[1].poll_timeout().expect("LACP runs timers");
        bonds[1].handle_timeout(t);
        if let Some(tx) = bonds[1].poll_transmit() {
            break (t, tx);
        }
    };
    let to = if pdu.slave == ids[1][0] { ids[0][0] } else { ids[0][1] };
    assert_eq!(bonds[0].handle_frame(at, to, &pdu.frame), RxVerdict::Consumed);
    assert_eq!(bonds[0].active_slave(), None, "out of fallback: no active slave");
    let events: Vec<BondEvent> = std::iter::from_fn(|| bonds[0].poll_event()).collect();
    assert!(events.contains(&BondEvent::ActiveSlave { slave: None }), "{events:?}");
}

#[test]
fn active_backup_keeps_sending_on_the_active_slave_during_downdelay() {
    // Linux `bond_xmit_activebackup` sends on `curr_active_slave` whatever its link says, so
    // the active slave carries traffic until downdelay is over and the failover happens.
    let o = BondOptions { downdelay: 3, ..opts(Mode::ActiveBackup) };
    let (mut b, s) = bond(o, 2);
    b.handle_link(ms(1000), s[0], LinkState::down()).unwrap();
    assert_eq!(b.slave_link(s[0]).unwrap().0, LinkStatus::Fail);
    assert_eq!(b.tx_plan().slaves, [s[0]], "going down, still the one sending");
    assert_eq!(b.rx_plan().verdict(s[0], &[0u8; 60]), RxVerdict::Deliver);
    run(&mut b, ms(1299));
    assert_eq!(b.tx_plan().slaves, [s[0]]);
    run(&mut b, ms(1300));
    assert_eq!(b.tx_plan().slaves, [s[1]], "downdelay over: failed over");
    // balance-xor's slave array keeps a failing slave too; balance-rr skips it at once.
    for (mode, keeps) in [(Mode::BalanceXor, true), (Mode::BalanceRr, false)] {
        let o = BondOptions { downdelay: 3, ..opts(mode) };
        let (mut b, s) = bond(o, 2);
        b.handle_link(ms(1000), s[0], LinkState::down()).unwrap();
        assert_eq!(b.tx_plan().slaves.contains(&s[0]), keeps, "{mode:?}");
        run(&mut b, ms(1300));
        assert_eq!(b.tx_plan().slaves, [s[1]], "{mode:?}");
    }
}

#[test]
fn updelay_is_ignored_while_no_slave_is_usable_in_xor_as_in_active_backup() {
    // Linux `bond_miimon_inspect`: active-backup ignores updelay while there is no active
    // slave, the other modes with a slave array while it is empty; at most one slave per tick.
    for mode in [Mode::ActiveBackup, Mode::BalanceXor] {
        let o = BondOptions { updelay: 50, ..opts(mode) };
        let mut b = Bond::new("bond0", o, None).unwrap();
        // Right after enslaving, with no other slave: used at once.
        let s0 = b.enslave(ms(0), slave(0), LinkState::up(1000)).unwrap();
        assert_eq!(b.slave_link(s0).unwrap().0, LinkStatus::Up, "{mode:?}: first slave");
        assert!(b.carrier(), "{mode:?}");
        // A second one waits its updelay: a slave is usable.
        let s1 = b.enslave(ms(10), slave(1), LinkState::up(1000)).unwrap();
        assert_eq!(b.slave_link(s1).unwrap().0, LinkStatus::Back, "{mode:?}: second slave");
        run(&mut b, ms(5010));
        assert_eq!(b.slave_link(s1).unwrap().0, LinkStatus::Up, "{mode:?}");
        // The selftest's flap: eth0 goes down; later it comes back (going back, eth1 being
        // up) and at the same moment eth1 goes down: eth0 is used at once.
        b.handle_link(ms(6000), s0, LinkState::down()).unwrap();
        b.handle_link(ms(8000), s0, LinkState::up(1000)).unwrap();
        assert_eq!(b.slave_link(s0).unwrap().0, LinkStatus::Back, "{mode:?}");
        b.handle_link(ms(8000), s1, LinkState::down()).unwrap();
        assert_eq!(b.slave_link(s0).unwrap().0, LinkStatus::Up, "{mode:?}: no wait");
        assert_eq!(b.tx_plan().slaves, [s0], "{mode:?}");
        assert!(b.carrier(), "{mode:?}");
    }
}

#[test]
fn fail_over_mac_follow_gives_a_returning_first_slave_another_address() {
    // Linux `bond_enslave` with fail_over_mac=follow: a slave that joins a bond with slaves
    // while having the bond's address gets a random one, or two slaves would share it.
    let mut b = Bond::new("bond0", opts(Mode::ActiveBackup), None).unwrap();
    b.set_option(ms(0), "fail_over_mac", "follow").unwrap();
    let s0 = b.enslave(ms(0), slave(0), LinkState::up(1000)).unwrap();
    let s1 = b.enslave(ms(0), slave(1), LinkState::up(1000)).unwrap();
    let bond_mac = b.mac();
    assert_eq!(b.slave_mac(s0), Some(bond_mac), "the first slave keeps its own (the bond's)");
    b.release(ms(100), s0).unwrap();
    while b.poll_event().is_some() {}
    let again = b.enslave(ms(200), slave(0), LinkState::up(1000)).unwrap();
    let mac = b.slave_mac(again).unwrap();
    assert_ne!(mac, bond_mac);
    assert_ne!(Some(mac), b.slave_mac(s1));
    assert!(mac.is_unicast() && mac.0[0] & 0x02 != 0, "locally administered unicast: {mac}");
    let mut told = false;
    while let Some(e) = b.poll_event() {
        told |= matches!(e, BondEvent::SlaveMac { slave, mac: m } if slave == again && m == mac);
    }
    assert!(told, "the driver is told to set it");
    // When it becomes the active slave it takes the bond's address, the old one its address.
    b.handle_link(ms(1000), s1, LinkState::down()).unwrap();
    assert_eq!(b.active_slave(), Some(again));
    assert_eq!((b.slave_mac(again), b.slave_mac(s1)), (Some(bond_mac), Some(mac)));
}

#[test]
fn the_arp_monitor_sends_nothing_while_the_bond_is_down() {
    // Linux `bond_close` cancels the ARP monitor's work; `bond_open` queues it again.
    let o = ubond_core::options::parse_module_options(
        "mode=active-backup arp_interval=100 arp_ip_target=192.0.2.9",
    )
    .unwrap()
    .options;
    let mut b = Bond::new("bond0", o, None).unwrap();
    b.set_addresses(vec![Ipv4Addr::new(192, 0, 2, 1)], vec![]);
    b.set_admin_up(ms(0), false);
    for i in 0..2 {
        b.enslave(ms(0), slave(i), LinkState::up(1000)).unwrap();
    }
    let probes = |b: &mut Bond| {
        let mut n = 0;
        while let Some(tx) = b.poll_transmit() {
            n += usize::from(tx.frame[12..14] == [0x08, 0x06]);
        }
        n
    };
    run(&mut b, ms(2000));
    assert_eq!(probes(&mut b), 0, "a bond that is down probes nobody");
    assert_eq!(b.poll_timeout(), None, "and has nothing to wake up for");
    b.set_admin_up(ms(2000), true);
    run(&mut b, ms(2500));
    assert!(probes(&mut b) > 0, "up again: probing again");
}
