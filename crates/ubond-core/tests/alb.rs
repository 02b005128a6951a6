//! balance-tlb and balance-alb: the data path's table, the control plane's buckets, learning
//! packets, and balance-alb's receive load balancing, against `drivers/net/bonding/bond_alb.c`.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use ubond_core::bond::alb::{
    arp_reply, rx_deliver, Alb, AlbConfig, AlbEvent, AlbTransmit, AlbVlan, RLB_ARP_BURST_SIZE,
};
use ubond_core::bond::tlb::{
    learning_packet, tlb_select, Account, AlbMode, TlbLoad, TlbTable, TlbTx,
};
use ubond_core::bond::SlaveId;
use ubond_core::hash::{xmit_hash, XmitHashPolicy};
use ubond_core::monitor::mii::LinkStatus;
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

const S1: SlaveId = SlaveId(1);
const S2: SlaveId = SlaveId(2);
const S3: SlaveId = SlaveId(3);
const BOND_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn mac(n: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 1, n])
}

fn client_mac(n: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 9, n])
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// Balancer with slaves 1.. (MACs `mac(i)`, speeds as given), the first one active and its
/// MAC the bond's, all enslaved at t=0 as `bond_enslave` would.
fn alb(mode: AlbMode, speeds: &[u32]) -> Alb {
    let cfg = AlbConfig {
        mode,
        dynamic: true,
        policy: XmitHashPolicy::Layer2,
        lp_interval: 1,
        bond_mac: mac(1),
    };
    let mut a = Alb::new(ms(0), cfg);
    for (i, &speed) in speeds.iter().enumerate() {
        let id = SlaveId(i as u32 + 1);
        a.add_slave(ms(0), id, mac(i as u8 + 1), LinkStatus::Up, speed).expect("add");
        if i == 0 {
            a.handle_active_change(ms(0), Some(id));
        }
    }
    drain(&mut a);
    // The monitor's first tick (bond_open queues it at once): it runs the rebalance the new
    // slaves asked for.
    run(&mut a, ms(0));
    a
}

fn drain(a: &mut Alb) -> (Vec<AlbTransmit>, Vec<AlbEvent>) {
    let mut tx = Vec::new();
    while let Some(t) = a.poll_transmit() {
        tx.push(t);
    }
    let mut ev = Vec::new();
    while let Some(e) = a.poll_event() {
        ev.push(e);
    }
    (tx, ev)
}

/// Runs the monitor from its next tick up to `until`, collecting what it sends with the time.
fn run(a: &mut Alb, until: Instant) -> Vec<(Instant, AlbTransmit)> {
    let mut out = Vec::new();
    while let Some(t) = a.poll_timeout().filter(|&t| t <= until) {
        a.handle_timeout(t);
        while let Some(x) = a.poll_transmit() {
            out.push((t, x));
        }
        while a.poll_event().is_some() {}
    }
    out
}

fn eth(dst: MacAddr, src: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn ipv4(dst_mac: MacAddr, src: Ipv4Addr, dst: Ipv4Addr, proto: u8) -> Vec<u8> {
    let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, proto, 0, 0];
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(&[0x30, 0x39, 0x00, 0x50, 0, 0, 0, 0]);
    eth(dst_mac, mac(1), 0x0800, &ip)
}

fn ipv6(dst_mac: MacAddr, src: [u8; 16], dst: [u8; 16], next: u8, icmp_type: u8) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0, 0, 8, next, 255];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    ip.extend_from_slice(&[icmp_type, 0, 0, 0, 0, 0, 0, 0]);
    eth(dst_mac, mac(1), 0x86dd, &ip)
}

fn arp(
    op: u16,
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
    eth_dst: MacAddr,
) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sha.0);
    a.extend_from_slice(&spa.octets());
    a.extend_from_slice(&tha.0);
    a.extend_from_slice(&tpa.octets());
    eth(eth_dst, sha, 0x0806, &a)
}

/// A unicast IPv4 frame whose layer2 hash lands in `bucket` (d[5] ^ s[5] ^ 0x0800, low byte).
fn frame_in_bucket(bucket: u8) -> Vec<u8> {
    let dst = MacAddr([2, 0, 0, 0, 7, bucket ^ mac(1).0[5]]);
    let f = ipv4(dst, BOND_IP, Ipv4Addr::new(192, 0, 2, 99), 6);
    assert_eq!(xmit_hash(XmitHashPolicy::Layer2, &f, None) & 0xff, u32::from(bucket));
    f
}

/// Sends `bytes` in `bucket` through the data path and hands the counters back.
fn send(a: &mut Alb, bucket: u8, bytes: usize) -> SlaveId {
    let f = frame_in_bucket(bucket);
    let TlbTx::Send { slave, account, .. } = a.tx_table().select(&f) else { panic!("not sent") };
    assert_eq!(account, Account::Bucket(bucket));
    let mut load = TlbLoad::default();
    load.add(account, bytes);
    a.handle_load(&load);
    slave
}

// ----- balance-tlb ---------------------------------------------------------------------------

#[test]
fn buckets_go_to_the_least_loaded_slave_and_are_cleared_every_10_s() {
    let mut a = alb(AlbMode::Tlb, &[1000, 1000]);
    // Fresh buckets have no history: the first slave has the largest gap and takes them all,
    // as the kernel's first interval does.
    assert!(a.tx_table().buckets.iter().all(|&s| s == Some(S1)));
    assert_eq!(send(&mut a, 1, 10_000_000), S1);
    assert_eq!(send(&mut a, 2, 5_000_000), S1);
    assert_eq!(a.tlb_buckets()[1].slave, Some(S1));
    assert_eq!(a.tlb_buckets()[1].tx_bytes, 10_000_000);
    // The first tick (t=0) rebalanced an empty table; the next clear is 100 ticks later.
    run(&mut a, ms(9_950));
    assert_eq!(a.tlb_buckets()[1].slave, Some(S1), "kept until the 10 s clear");
    run(&mut a, ms(10_000));
    let b = a.tlb_buckets();
    assert_eq!((b[1].slave, b[1].tx_bytes, b[1].load_history), (None, 0, 1_000_001));
    assert_eq!((b[2].slave, b[2].load_history), (None, 500_001));
    assert_eq!(b[3].load_history, 0, "unused buckets keep their history");
    // The published table walks the buckets: 1 (1 MB/s) lands on eth1 (tie), 2 on eth2 (larger
    // gap), and every later fresh bucket on eth2 whose gap is still the larger.
    let t = a.tx_table();
    assert_eq!(
        (t.buckets[0], t.buckets[1], t.buckets[2], t.buckets[3]),
        (Some(S1), Some(S1), Some(S2), Some(S2))
    );
    assert_eq!(send(&mut a, 2, 100), S2);
    assert_eq!(a.tlb_load(S2), Some(500_001));
    assert_eq!(a.tlb_load(S1), Some(0), "bucket 1 is not assigned until used");
    assert_eq!(send(&mut a, 1, 100), S1);
    assert_eq!(a.tlb_load(S1), Some(1_000_001));
}

#[test]
fn faster_slaves_win_and_the_gap_is_the_kernels() {
    let a = alb(AlbMode::Tlb, &[100, 1000]);
    assert!(a.tx_table().buckets.iter().all(|&s| s == Some(S2)));
    // 10 Gbit/s: (10000 << 20) wraps in the kernel's u32 to 1895825408, still above 1000 << 20.
    let a = alb(AlbMode::Tlb, &[1000, 10_000]);
    assert!(a.tx_table().buckets.iter().all(|&s| s == Some(S2)));
    // 100 Gbit/s wraps below 40 Gbit/s: the kernel prefers the 40G slave, so do we.
    let a = alb(AlbMode::Tlb, &[100_000, 40_000]);
    assert!(a.tx_table().buckets.iter().all(|&s| s == Some(S2)));
}

#[test]
fn a_failed_slave_loses_its_buckets_to_the_others() {
    let mut a = alb(AlbMode::Tlb, &[1000, 1000]);
    for b in 0..8 {
        send(&mut a, b, 1_000_000);
    }
    run(&mut a, ms(10_000));
    for b in 0..8 {
        send(&mut a, b, 1_000_000);
    }
    let on2: Vec<usize> = (0..8).filter(|&b| a.tlb_buckets()[b].slave == Some(S2)).collect();
    assert!(!on2.is_empty(), "history spreads the buckets: {:?}", a.tlb_buckets()[..8].to_vec());
    a.handle_link(ms(10_100), S2, LinkStatus::Down, 1000);
    let (_, ev) = drain(&mut a);
    assert!(ev.contains(&AlbEvent::TableChanged));
    assert!(a.tlb_buckets().iter().all(|b| b.slave != Some(S2)));
    assert!(a.tx_table().buckets.iter().all(|&s| s == Some(S1)));
    assert_eq!(a.tx_table().usable, vec![S1]);
    for b in on2 {
        assert_eq!(send(&mut a, b as u8, 10), S1);
    }
    // Coming back orders a rebalance at the next tick.
    a.handle_link(ms(10_200), S2, LinkStatus::Up, 1000);
    run(&mut a, ms(10_300));
    assert!(a.tlb_buckets().iter().all(|b| b.slave.is_none()));
    assert!(a.tx_table().buckets.contains(&Some(S2)));
}

#[test]
fn frames_on_another_slave_carry_its_mac() {
    let mut a = alb(AlbMode::Tlb, &[100, 1000]);
    let f = frame_in_bucket(5);
    assert_eq!(
        a.tx_table().select(&f),
        TlbTx::Send { slave: S2, set_src: Some(mac(2)), account: Account::Bucket(5) }
    );
    a.handle_link(ms(1), S2, LinkStatus::Down, 1000);
    assert_eq!(
        a.tx_table().select(&f),
        TlbTx::Send { slave: S1, set_src: None, account: Account::Bucket(5) }
    );
    a.handle_link(ms(2), S1, LinkStatus::Down, 1000);
    assert_eq!(a.tx_table().select(&f), TlbTx::Drop);
}

#[test]
fn non_dynamic_tlb_hashes_over_the_usable_slaves() {
    let mut a = alb(AlbMode::Tlb, &[1000, 1000, 1000]);
    a.set_options(false, XmitHashPolicy::Layer34, 1);
    let t = a.tx_table().clone();
    for port in 0..64u16 {
        let mut f = ipv4(mac(9), BOND_IP, Ipv4Addr::new(192, 0, 2, 7), 6);
        f[34..36].copy_from_slice(&(1000 + port).to_be_bytes());
        let h = xmit_hash(XmitHashPolicy::Layer34, &f, None);
        let want = [S1, S2, S3][(h % 3) as usize];
        let set_src = (want != S1).then(|| mac(want.0 as u8));
        assert_eq!(t.select(&f), TlbTx::Send { slave: want, set_src, account: Account::None });
    }
    // A slave down shrinks the array: hash % 2.
    a.handle_link(ms(2), S2, LinkStatus::Down, 1000);
    let f = ipv4(mac(9), BOND_IP, Ipv4Addr::new(192, 0, 2, 7), 6);
    let h = xmit_hash(XmitHashPolicy::Layer34, &f, None);
    let want = [S1, S3][(h % 2) as usize];
    assert!(matches!(a.tx_table().select(&f), TlbTx::Send { slave, .. } if slave == want));
}

#[test]
fn multicast_nd_and_non_ip_leave_by_the_active_slave() {
    let a = alb(AlbMode::Tlb, &[100, 1000]);
    let t = a.tx_table();
    let active = TlbTx::Send { slave: S1, set_src: None, account: Account::Unbalanced };
    let ll = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let other = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mcast = MacAddr([0x01, 0, 0x5e, 0, 0, 1]);
    assert_eq!(t.select(&ipv4(mcast, BOND_IP, Ipv4Addr::new(224, 0, 0, 1), 17)), active);
    assert_eq!(t.select(&ipv4(MacAddr::BROADCAST, BOND_IP, Ipv4Addr::BROADCAST, 17)), active);
    // NS (135) and NA (136) to a unicast MAC are not balanced; an echo request (128) is.
    assert_eq!(t.select(&ipv6(mac(9), ll, other, 58, 135)), active);
    assert_eq!(t.select(&ipv6(mac(9), ll, other, 58, 136)), active);
    assert!(matches!(t.select(&ipv6(mac(9), ll, other, 58, 128)), TlbTx::Send { slave: S2, .. }));
    assert_eq!(
        t.select(&arp(
            1,
            mac(1),
            BOND_IP,
            MacAddr::ZERO,
            Ipv4Addr::new(192, 0, 2, 9),
            MacAddr::BROADCAST
        )),
        active
    );
    assert_eq!(t.select(&eth(mac(9), mac(1), 0x88cc, &[0; 46])), active);
    // A frame on a VLAN of the bond is classified by its inner EtherType.
    let mut tagged = ipv4(mac(9), BOND_IP, Ipv4Addr::new(192, 0, 2, 7), 6);
    tagged.splice(12..12, [0x81, 0x00, 0x00, 0x0a]);
    assert!(matches!(t.select(&tagged), TlbTx::Send { slave: S2, .. }));
}

#[test]
fn learning_packets_every_lp_interval_per_slave_and_vlan() {
    let mut a = alb(AlbMode::Tlb, &[1000, 1000]);
    a.set_vlans(&[
        AlbVlan { proto: 0x8100, vid: 10, mac: None },
        AlbVlan { proto: 0x8100, vid: 20, mac: Some(mac(0x20)) },
    ]);
    a.set_options(true, XmitHashPolicy::Layer2, 2);
    let sent = run(&mut a, ms(4_000));
    // Ticks at 0, 100 ms, ...; the 20th tick (t = 1.9 s) and the 40th (3.9 s) send.
    let times: Vec<Instant> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 12);
    assert!(times[..6].iter().all(|&t| t == ms(1_900)));
    assert!(times[6..].iter().all(|&t| t == ms(3_900)));
    let frames: Vec<(SlaveId, Vec<u8>)> =
        sent[..6].iter().map(|(_, x)| (x.slave, x.frame.clone())).collect();
    // eth0 carries the bond's MAC (it is active), eth1 its own.
    let want = vec![
        (S1, learning_packet(mac(1), None)),
        (S1, learning_packet(mac(1), Some((0x8100, 10)))),
        (S1, learning_packet(mac(0x20), Some((0x8100, 20)))),
        (S2, learning_packet(mac(2), None)),
        (S2, learning_packet(mac(2), Some((0x8100, 10)))),
        (S2, learning_packet(mac(0x20), Some((0x8100, 20)))),
    ];
    assert_eq!(frames, want);
    let mut bytes = vec![2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 2, 0x90, 0x00];
    bytes.resize(60, 0);
    assert_eq!(frames[3].1, bytes);
}

#[test]
fn failover_swaps_macs_and_announces_them() {
    let mut a = alb(AlbMode::Tlb, &[1000, 1000]);
    assert_eq!((a.slave_mac(S1), a.slave_mac(S2)), (Some(mac(1)), Some(mac(2))));
    a.handle_link(ms(100), S1, LinkStatus::Down, 1000);
    drain(&mut a);
    a.handle_active_change(ms(100), Some(S2));
    let (tx, ev) = drain(&mut a);
    // alb_swap_mac_addr: eth1 takes the bond's MAC, eth0 gets eth1's.
    assert_eq!((a.slave_mac(S1), a.slave_mac(S2)), (Some(mac(2)), Some(mac(1))));
    assert!(ev.contains(&AlbEvent::SlaveMac { slave: S2, mac: mac(1) }));
    assert!(ev.contains(&AlbEvent::SlaveMac { slave: S1, mac: mac(2) }));
    // alb_fasten_mac_swap: learning packets only on the slave that can transmit.
    assert_eq!(tx, vec![AlbTransmit { slave: S2, frame: learning_packet(mac(1), None) }]);
    assert_eq!(a.tx_table().active, Some(S2));
    assert!(a.tx_table().buckets.iter().all(|&s| s == Some(S2)));
}

#[test]
fn a_returning_slave_with_the_bonds_mac_gets_a_free_one() {
    let mut a = alb(AlbMode::Alb, &[1000, 1000]);
    // Release the active eth0: eth1 becomes active and takes the bond's MAC (eth0's).
    a.handle_active_change(ms(1), None);
    a.remove_slave(ms(1), S1);
    a.handle_active_change(ms(1), Some(S2));
    let (tx, _) = drain(&mut a);
    assert_eq!(a.slave_mac(S2), Some(mac(1)));
    assert_eq!(tx, vec![AlbTransmit { slave: S2, frame: learning_packet(mac(1), None) }]);
    // eth0 comes back with its permanent MAC, which the bond uses: it gets eth1's free one.
    a.add_slave(ms(2), S1, mac(1), LinkStatus::Up, 1000).expect("add");
    assert_eq!(a.slave_mac(S1), Some(mac(2)));
    let (_, ev) = drain(&mut a);
    assert!(ev.iter().any(|e| matches!(e, AlbEvent::Log { slave: Some(S1), message } if message.contains("in use by the bond"))));
}

// ----- balance-alb ---------------------------------------------------------------------------

#[test]
fn alb_balances_by_destination_ip_and_not_broadcasts() {
    let a = alb(AlbMode::Alb, &[1000, 1000]);
    let t = a.tx_table();
    let f = ipv4(mac(9), BOND_IP, Ipv4Addr::new(192, 0, 2, 77), 6);
    let bucket = 192 ^ 2 ^ 77;
    assert!(matches!(t.select(&f), TlbTx::Send { account: Account::Bucket(b), .. } if b == bucket));
    let active = TlbTx::Send { slave: S1, set_src: None, account: Account::Unbalanced };
    assert_eq!(t.select(&ipv4(mac(9), BOND_IP, Ipv4Addr::BROADCAST, 17)), active);
    assert_eq!(t.select(&ipv4(mac(9), BOND_IP, Ipv4Addr::new(224, 0, 0, 22), 2)), active, "IGMP");
    let ll = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let dst = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let all_nodes = MacAddr([0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(t.select(&ipv6(all_nodes, ll, dst, 58, 128)), active);
    assert_eq!(t.select(&ipv6(mac(9), ll, dst, 58, 135)), active, "NS");
    assert_eq!(t.select(&ipv6(mac(9), [0; 16], dst, 58, 128)), active, "DAD");
    assert!(matches!(
        t.select(&ipv6(mac(9), ll, dst, 6, 0)),
        TlbTx::Send { account: Account::Bucket(0x7c), .. } // 0xfe ^ 0x80 ^ 0x02
    ));
    let a_req =
        arp(1, mac(1), BOND_IP, MacAddr::ZERO, Ipv4Addr::new(192, 0, 2, 9), MacAddr::BROADCAST);
    assert_eq!(t.select(&a_req), TlbTx::Arp);
    assert_eq!(tlb_select(t, &[]), active);
}

fn reply_to(client: u8) -> Vec<u8> {
    let ip = Ipv4Addr::new(192, 0, 2, client);
    arp(2, mac(1), BOND_IP, client_mac(client), ip, client_mac(client))
}

#[test]
fn rlb_rewrites_replies_with_the_clients_slave_and_spreads_clients() {
    let mut a = alb(AlbMode::Alb, &[1000, 1000, 1000]);
    let mut got = Vec::new();
    for c in 10..16u8 {
        let mut f = reply_to(c);
        let slave = a.handle_arp_tx(&mut f).expect("sent");
        got.push(slave);
        let m = a.slave_mac(slave).expect("mac");
        assert_eq!(&f[22..28], &m.0, "ARP sender MAC is the slave's");
        let eth_src = if slave == S1 { mac(1) } else { m };
        assert_eq!(&f[6..12], &eth_src.0, "Ethernet source");
        let e = a.rlb().and_then(|r| r.client(Ipv4Addr::new(192, 0, 2, c))).expect("client");
        assert_eq!((e.slave, e.mac_dst, e.ip_src), (Some(slave), client_mac(c), BOND_IP));
    }
    assert_eq!(got, [S1, S2, S3, S1, S2, S3]);
    // An ARP not from the bond (bridged) is not touched and leaves by the active slave.
    let mut foreign = arp(
        2,
        client_mac(99),
        BOND_IP,
        client_mac(20),
        Ipv4Addr::new(192, 0, 2, 20),
        client_mac(20),
    );
    let before = foreign.clone();
    assert_eq!(a.handle_arp_tx(&mut foreign), Some(S1));
    assert_eq!(foreign, before);
}

/// A bond with 3 slaves and clients .10 (eth0), .11 (eth1), .12 (eth2) whose first updates are
/// already sent.
fn alb_with_clients() -> Alb {
    let mut a = alb(AlbMode::Alb, &[1000, 1000, 1000]);
    for c in 10..13u8 {
        a.handle_arp_tx(&mut reply_to(c));
    }
    let sent = run(&mut a, ms(5_000));
    // Known MACs: each new client is updated once (2 ARPs), at the next tick.
    assert_eq!(
        sent.iter().filter(|(_, x)| x.frame[12..14] == [8, 6]).count(),
        3 * RLB_ARP_BURST_SIZE
    );
    assert!(!a.rlb().expect("rlb").needs_update());
    a
}

#[test]
fn rlb_updates_after_a_slave_fails_count_spacing_and_retries() {
    let mut a = alb_with_clients();
    a.handle_link(ms(5_010), S2, LinkStatus::Down, 1000);
    let (tx, ev) = drain(&mut a);
    // rlb_teach_disabled_mac_on_primary: the active slave goes promiscuous and learns eth1's MAC.
    assert!(ev.contains(&AlbEvent::Promisc { slave: S1, on: true }));
    assert_eq!(tx, vec![AlbTransmit { slave: S1, frame: learning_packet(mac(2), None) }]);
    let moved = a.rlb().and_then(|r| r.client(Ipv4Addr::new(192, 0, 2, 11))).expect("client");
    let new_slave = moved.slave.expect("reassigned");
    assert_ne!(new_slave, S2);
    let sent: Vec<(Instant, AlbTransmit)> =
        run(&mut a, ms(20_000)).into_iter().filter(|(_, x)| x.frame[12..14] == [8, 6]).collect();
    // RLB_UPDATE_RETRY (3) extra rounds, RLB_UPDATE_DELAY (20 ticks) + 1 apart, 2 ARPs each.
    // The delay set by the previous round (at t=0) only counts down while updates are
    // pending (`rx_ntt`), as in bond_alb_monitor: the first round waits 20 ticks.
    let times: Vec<u64> = sent.iter().map(|(t, _)| t.as_nanos() / 1_000_000).collect();
    assert_eq!(times, [7_100, 7_100, 9_200, 9_200, 11_300, 11_300, 13_400, 13_400]);
    let m = a.slave_mac(new_slave).expect("mac");
    let want =
        arp_reply(client_mac(11), m, BOND_IP, client_mac(11), Ipv4Addr::new(192, 0, 2, 11), 0);
    assert!(sent.iter().all(|(_, x)| x.slave == new_slave && x.frame == want));
    assert_eq!(want.len(), 60);
    assert_eq!(&want[..14], &[&client_mac(11).0[..], &m.0[..], &[8, 6][..]].concat()[..]);
    // The promiscuous mode ends 10 s after it began (RLB_PROMISC_TIMEOUT).
    let mut a2 = alb_with_clients();
    a2.handle_link(ms(5_010), S2, LinkStatus::Down, 1000);
    drain(&mut a2);
    let mut off = None;
    while let Some(t) = a2.poll_timeout().filter(|&t| t <= ms(20_000)) {
        a2.handle_timeout(t);
        let (_, ev) = drain(&mut a2);
        if ev.contains(&AlbEvent::Promisc { slave: S1, on: false }) {
            off = Some(t);
        }
    }
    assert_eq!(off, Some(ms(15_000)));
}

#[test]
fn rlb_rebalances_when_a_slave_comes_back() {
    let mut a = alb_with_clients();
    a.handle_link(ms(5_010), S3, LinkStatus::Down, 1000);
    run(&mut a, ms(15_000));
    let on =
        |a: &Alb, s| a.rlb().expect("rlb").clients().filter(|(_, c)| c.slave == Some(s)).count();
    assert_eq!(on(&a, S3), 0);
    a.handle_link(ms(15_010), S3, LinkStatus::Up, 1000);
    run(&mut a, ms(15_100));
    assert!(on(&a, S3) >= 1, "rlb_rebalance deals clients to eth2 again at the next tick");
    let sent = run(&mut a, ms(18_000));
    let to3: Vec<Instant> = sent
        .iter()
        .filter(|(_, x)| x.slave == S3 && x.frame[12..14] == [8, 6])
        .map(|(t, _)| *t)
        .collect();
    // The rebalance tick (15.1 s) already counts the first of the 20 delay ticks.
    assert_eq!(to3[..2], [ms(17_100), ms(17_100)], "after the 20-tick delay");
}

#[test]
fn received_arp_replies_teach_client_macs() {
    let mut a = alb(AlbMode::Alb, &[1000, 1000]);
    let client = Ipv4Addr::new(192, 0, 2, 20);
    // The bond asks who has .20: a placeholder entry with no MAC yet, no update.
    let mut req = arp(1, mac(1), BOND_IP, MacAddr::ZERO, client, MacAddr::BROADCAST);
    let slave = a.handle_arp_tx(&mut req).expect("sent");
    let e = *a.rlb().and_then(|r| r.client(client)).expect("entry");
    assert_eq!((e.mac_dst, e.ntt, e.slave), (MacAddr::ZERO, false, Some(slave)));
    // The client answers on some slave: its MAC is learnt and an update is scheduled.
    let rep = arp(2, client_mac(20), client, mac(1), BOND_IP, mac(1));
    a.handle_arp_rx(&rep);
    let e = *a.rlb().and_then(|r| r.client(client)).expect("entry");
    assert_eq!((e.mac_dst, e.ntt), (client_mac(20), true));
    // The request reset RLB_UPDATE_DELAY: the update waits 20 ticks (0.1 s .. 2.0 s) and
    // goes at the 21st.
    let sent: Vec<Instant> = run(&mut a, ms(3_000))
        .into_iter()
        .filter(|(_, x)| x.frame[12..14] == [8, 6])
        .map(|(t, _)| t)
        .collect();
    assert_eq!(sent, [ms(2_100), ms(2_100)]);
    // Another host now answers for the bond's address: entries for it are purged.
    let thief = arp(2, client_mac(66), BOND_IP, client_mac(20), client, client_mac(20));
    a.handle_arp_rx(&thief);
    assert!(a.rlb().and_then(|r| r.client(client)).is_none());
}

/// The ARP frames `sent` carried, as (when, slave, client address, ARP sender MAC), in order.
fn arp_updates(sent: &[(Instant, AlbTransmit)]) -> Vec<(Instant, SlaveId, u8, MacAddr)> {
    sent.iter()
        .filter(|(_, x)| x.frame[12..14] == [8, 6])
        .map(|(t, x)| {
            let f = &x.frame;
            let sha = MacAddr([f[22], f[23], f[24], f[25], f[26], f[27]]);
            (*t, x.slave, f[41], sha)
        })
        .collect()
}

/// The bond's own ARP request goes to every client of the subnet (broadcast) and teaches them
/// the bond's MAC, the active slave's: `rlb_arp_xmit` then has `rlb_req_update_subnet_clients`
/// schedule an update for each client of the bond's address whose slave is another one, and
/// resets `rlb_update_delay_counter` so the updates come RLB_UPDATE_DELAY later, after the
/// clients' ARP lock time (1 s) has passed and they accept a new MAC again. A client the bond
/// asks directly (a unicast probe: the target hardware address of a Linux request is zero, and
/// `rlb_choose_channel` copies it, as it is not broadcast) is updated once its reply has
/// taught the bond its MAC again (`rlb_update_entry_from_arp`).
#[test]
fn rlb_updates_the_clients_the_bonds_arp_request_taught_its_mac() {
    let mut a = alb_with_clients();
    let ip = |n| Ipv4Addr::new(192, 0, 2, n);
    // A broadcast request for a new host, .20.
    let mut req = arp(1, mac(1), BOND_IP, MacAddr::ZERO, ip(20), MacAddr::BROADCAST);
    let unchanged = req.clone();
    assert_eq!(a.handle_arp_tx(&mut req), Some(S1), "the new client's slave, the active one");
    assert_eq!(req, unchanged, "a request keeps the bond's MAC as its sender");
    let new = *a.rlb().and_then(|r| r.client(ip(20))).expect("entry");
    assert_eq!((new.mac_dst, new.ntt), (MacAddr::ZERO, false), "no MAC to update yet");
    assert!(a.rlb().expect("rlb").needs_update());
    // The clients of eth1 and eth2 are told their slave's MAC again (newest entry first, as
    // the kernel walks its used list) once the 20 passes of delay have counted down
    // (5.1 s .. 7.0 s); the client of eth0, which has the bond's MAC, and the new one are not.
    let sent = arp_updates(&run(&mut a, ms(10_000)));
    let t = ms(7_100);
    assert_eq!(
        sent,
        [(t, S3, 12, mac(3)), (t, S3, 12, mac(3)), (t, S2, 11, mac(2)), (t, S2, 11, mac(2))]
    );
    assert!(!a.rlb().expect("rlb").needs_update());

    // A unicast probe of .11: the entry forgets the client's MAC until it answers.
    let mut probe = arp(1, mac(1), BOND_IP, MacAddr::ZERO, ip(11), client_mac(11));
    assert_eq!(a.handle_arp_tx(&mut probe), Some(S2), "by the client's slave");
    assert_eq!(&probe[6..12], &mac(2).0, "with that slave's MAC as Ethernet source");
    assert_eq!(&probe[22..28], &mac(1).0, "and the bond's as ARP sender");
    let e = *a.rlb().and_then(|r| r.client(ip(11))).expect("entry");
    assert_eq!(e.mac_dst, MacAddr::ZERO);
    // .12 is updated as before; .11 only after its reply (between the passes at 10.0 s and
    // 10.1 s), which it sends to the bond's MAC.
    a.handle_arp_rx(&arp(2, client_mac(11), ip(11), mac(1), BOND_IP, mac(1)));
    let e = *a.rlb().and_then(|r| r.client(ip(11))).expect("entry");
    assert_eq!((e.mac_dst, e.ntt), (client_mac(11), true));
    let sent = arp_updates(&run(&mut a, ms(15_000)));
    let t = ms(12_100);
    assert_eq!(
        sent,
        [(t, S3, 12, mac(3)), (t, S3, 12, mac(3)), (t, S2, 11, mac(2)), (t, S2, 11, mac(2))]
    );
}

/// What balance-alb sends when a slave fails, as the Linux 6.1 driver did in the same test
/// (crates/ubond/tests/kernel_vm.rs, balance-alb through a bridge): the failed slave's
/// clients, and only they, get RLB_UPDATE_RETRY + 1 rounds of RLB_ARP_BURST_SIZE replies
/// naming the slave that took them over, RLB_UPDATE_DELAY + 1 passes apart, the first one
/// RLB_UPDATE_DELAY + 1 passes after the failure when an earlier round left the delay set.
#[test]
fn rlb_tells_only_the_failed_slaves_clients_in_four_rounds() {
    let mut a = alb(AlbMode::Alb, &[1000, 1000]);
    let ip = |n| Ipv4Addr::new(192, 0, 2, n);
    for c in [21, 22] {
        a.handle_arp_tx(&mut reply_to(c));
    }
    assert_eq!(arp_updates(&run(&mut a, ms(5_000))).len(), 2 * RLB_ARP_BURST_SIZE);
    let on = |a: &Alb, c| a.rlb().and_then(|r| r.client(ip(c))).and_then(|e| e.slave);
    assert_eq!((on(&a, 21), on(&a, 22)), (Some(S1), Some(S2)));
    a.handle_link(ms(5_050), S2, LinkStatus::Down, 1000);
    drain(&mut a);
    let sent = arp_updates(&run(&mut a, ms(20_000)));
    let rounds = [7_100, 9_200, 11_300, 13_400];
    let want: Vec<_> =
        rounds.iter().flat_map(|&t| [(ms(t), S1, 22, mac(1)), (ms(t), S1, 22, mac(1))]).collect();
    assert_eq!(sent, want);
}

#[test]
fn rx_delivery_in_tlb_and_alb() {
    let uni = eth(mac(1), mac(9), 0x0800, &[]);
    let bcast = eth(MacAddr::BROADCAST, mac(9), 0x0806, &[]);
    assert!(rx_deliver(AlbMode::Tlb, true, false, &bcast));
    assert!(!rx_deliver(AlbMode::Tlb, false, false, &uni));
    assert!(rx_deliver(AlbMode::Alb, false, false, &uni));
    assert!(!rx_deliver(AlbMode::Alb, false, false, &bcast));
    assert!(rx_deliver(AlbMode::Alb, false, true, &bcast));
}

#[test]
fn empty_table_drops() {
    let t = TlbTable::empty(AlbMode::Tlb);
    assert_eq!(t.select(&frame_in_bucket(3)), TlbTx::Drop);
}

proptest! {
    #[test]
    fn no_panic_on_any_frame(frame in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut a = alb(AlbMode::Alb, &[1000, 100, 10_000]);
        let _ = a.tx_table().select(&frame);
        let mut f = frame.clone();
        let _ = a.handle_arp_tx(&mut f);
        a.handle_arp_rx(&frame);
        let mut t = a.tx_table().clone();
        t.dynamic = false;
        t.mode = AlbMode::Tlb;
        let _ = t.select(&frame);
        run(&mut a, ms(3_000));
    }
}

/// Bytes from the real driver: Debian 12's 6.1.0-56 `bonding.ko`, balance-alb over two e1000
/// NICs (eth0 52:54:00:22:ca:00 active, eth1 52:54:00:22:ca:01), 192.0.2.1/24 pinging an absent
/// 192.0.2.2. Captured on the guest's taps with
/// `run-vm.sh start albg --netns NS --taps albt0,albt1 --mode balance-alb --addr 192.0.2.1/24
/// --peer 192.0.2.2` and `ip netns exec NS tcpdump -i albt1 -w t1.pcap` (interop/kernel-vm).
/// The kernel sent a learning packet per slave every ~1.04 s (10 ticks of a delayed work that
/// re-arms after it runs), and its ARP requests first on eth0, then, once eth1's link was up
/// and `rlb_rebalance` had moved the client, on eth1 with eth1's MAC as Ethernet source but the
/// bond's as ARP sender.
#[test]
fn matches_the_kernel_6_1_capture() {
    let m0 = MacAddr([0x52, 0x54, 0, 0x22, 0xca, 0x00]);
    let m1 = MacAddr([0x52, 0x54, 0, 0x22, 0xca, 0x01]);
    let hex = |s: &str| -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    };
    let lp_eth1 =
        hex("5254 0022 ca01 5254 0022 ca01 9000 0000 0000 0000 0000 0000 0000 0000 0000 0000
         0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000");
    let req_on_eth1 =
        hex("ffff ffff ffff 5254 0022 ca01 0806 0001 0800 0604 0001 5254 0022 ca00 c000 0201
         0000 0000 0000 c000 0202 0000 0000 0000 0000 0000 0000 0000 0000 0000");
    let cfg = AlbConfig {
        mode: AlbMode::Alb,
        dynamic: true,
        policy: XmitHashPolicy::Layer2,
        lp_interval: 1,
        bond_mac: m0,
    };
    let mut a = Alb::new(ms(0), cfg);
    a.add_slave(ms(0), S1, m0, LinkStatus::Up, 1000).expect("eth0");
    a.handle_active_change(ms(0), Some(S1));
    a.add_slave(ms(0), S2, m1, LinkStatus::Down, 0).expect("eth1");
    drain(&mut a);
    // The request as the bond device emits it: from the bond's MAC.
    let mut req = req_on_eth1.clone();
    req[6..12].copy_from_slice(&m0.0);
    let mut first = req.clone();
    assert_eq!(a.handle_arp_tx(&mut first), Some(S1));
    assert_eq!(first, req, "on the active slave nothing is rewritten");
    a.handle_link(ms(1_900), S2, LinkStatus::Up, 1000);
    let sent = run(&mut a, ms(3_000));
    assert!(sent.iter().any(|(_, x)| x.slave == S2 && x.frame == lp_eth1));
    let mut later = req.clone();
    assert_eq!(a.handle_arp_tx(&mut later), Some(S2));
    assert_eq!(later, req_on_eth1);
}
