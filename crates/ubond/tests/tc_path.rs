//! Root tests of the userspace data path's forwarding in the kernel (tc `u32` and `mirred`:
//! `ubond_sys::redirect`). Receive: a slave's filters hand the bond exactly the frames the
//! core's receive plan delivers (`RxPlan::verdict`, `is_data_frame`), for each kind of slave
//! the plan knows; a bond on the userspace path puts them on the slave it receives from,
//! moves them when it fails over, keeps them while no daemon runs, and takes them away when
//! its slaves leave; the data threads then read none of those frames (nothing arrives twice,
//! and tc's counters count them). With the ARP monitor, the filters sort what they hand up as
//! the core's monitor does (`rx_traffic`) and keep the receive times the monitor runs on.
//! Where the slaves have addresses of their own (balance-alb), frames to the slave's own go
//! to the bond's device as received, those to another slave's to the data threads. Where a
//! broadcast bond discards copies, the nftables table on its slaves discards exactly the
//! arrivals the core's rule does, with and without a daemon. Transmit:
//! the filter on the data-path end sends every frame where the transmit plan says
//! (`TxPlan::redirect`), and follows a failover.
//!
//! Namespaces `ubd-<pid>-<test>-<letter>`, no addresses; drop guards stop the daemons (by pid)
//! and delete the namespaces even on failure.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ubond_core::bond::{is_data_frame, RxPlan, RxRedirect, RxVerdict, SlaveId};
use ubond_core::monitor::arp::{rx_traffic, RxTraffic};
use ubond_sys::nft_tx::{NftMatch, NftRoute};
use ubond_sys::redirect::{self, RxMatch, RxTo};
use ubond_sys::{link, AddressSet, PacketOptions, PacketSocket, Receive};
use ubond_wire::MacAddr;

mod support;

use support::bonding::{active_of, slave_field, slave_mii, wait_report};
use support::frames::*;
use support::*;

/// One frame of each kind the filters must tell apart: what [`frame`] makes, and the control
/// frames (LACPDUs, micro-BFD over IPv4 with any header length and over IPv6) with their
/// look-alikes (a fragment, another port, a tagged one); the destination is unicast or
/// group at random.
fn any_frame(rng: &mut Rng, id: u32) -> Vec<u8> {
    let udp = |rng: &mut Rng, port: u16| {
        let mut l4 = rng.bytes::<2>().to_vec();
        l4.extend_from_slice(&port.to_be_bytes());
        l4.extend_from_slice(&[0, 8, 0, 0]);
        l4
    };
    let mut f = match rng.next() % 12 {
        0..=5 => frame(rng, id),
        kind => {
            let mut f = vec![0x02, 0x22, 0, 0, rng.byte(), rng.byte()];
            f.extend_from_slice(&[0x02, 0x11, rng.byte(), 0, rng.byte(), rng.byte()]);
            let (ethertype, body) = match kind {
                6 => (0x8809, {
                    let mut lacpdu = vec![1, 1];
                    lacpdu.extend_from_slice(&[0; 108]);
                    lacpdu
                }),
                7 => (0x0800, {
                    let l4 = udp(rng, 6784);
                    ipv4(rng, 17, 0, &l4)
                }),
                8 => (0x0800, {
                    // IP options: a header of 6 to 15 words.
                    let words = 6 + usize::from(rng.byte() % 10);
                    let mut h = ipv4(rng, 17, 0, &[]);
                    h[0] = 0x40 | words as u8;
                    h.resize(words * 4, 1);
                    let port = if rng.byte() & 1 == 0 { 6784 } else { 3784 };
                    h.extend_from_slice(&udp(rng, port));
                    h
                }),
                9 => (0x86dd, {
                    let l4 = udp(rng, 6784);
                    ipv6(rng, 17, &l4)
                }),
                10 => (0x0800, {
                    let l4 = udp(rng, 6784);
                    // A later fragment, or the first with more to come.
                    let frag = if rng.byte() & 1 == 0 { 0x0001 } else { 0x2000 };
                    ipv4(rng, 17, frag, &l4)
                }),
                _ => (0x8100, {
                    let mut t = vec![0x00, 0x07, 0x08, 0x00];
                    let l4 = udp(rng, 6784);
                    t.extend_from_slice(&ipv4(rng, 17, 0, &l4));
                    t
                }),
            };
            f.extend_from_slice(&u16::to_be_bytes(ethertype));
            f.extend_from_slice(&body);
            f.extend_from_slice(MAGIC);
            f.extend_from_slice(&id.to_le_bytes());
            f
        }
    };
    if rng.byte() % 4 == 0 {
        f[0] |= 1;
    }
    f
}

/// Whether the data path delivers `frame`, received on `slave`, to the bond by the core's
/// plan (control frames are the control plane's).
fn data_path_delivers(plan: &RxPlan, slave: SlaveId, frame: &[u8]) -> bool {
    is_data_frame(frame) && plan.verdict(slave, frame) == RxVerdict::Deliver
}

/// Sends each frame on its interface of namespace `from` and returns the numbers of the
/// frames that arrived on `up` in namespace `to` (each as many times as it arrived), once
/// every expected one is there and 300 ms passed without another, or after 5 s.
fn send_and_collect(
    from: &str,
    to: &str,
    up: &str,
    frames: Vec<(String, Vec<u8>)>,
    expected: usize,
) -> Vec<u32> {
    send_and_watch(from, to, &[up], false, frames, expected).into_iter().map(|(id, _)| id).collect()
}

/// Compares what arrived with what the core delivers: every expected frame once, no other.
fn assert_same(got: &[u32], frames: &BTreeMap<u32, Vec<u8>>, expected: &BTreeSet<u32>) {
    let mut seen = BTreeSet::new();
    for id in got {
        assert!(seen.insert(*id), "frame {id} arrived twice: {:02x?}", frames[id]);
    }
    let extra: Vec<_> = seen.difference(expected).take(5).map(|id| &frames[id]).collect();
    let missing: Vec<_> = expected.difference(&seen).take(5).map(|id| &frames[id]).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{} delivered that the core drops, e.g. {extra:02x?}; {} missing, e.g. {missing:02x?}",
        seen.difference(expected).count(),
        expected.difference(&seen).count()
    );
}

/// Three slaves, one of each kind (all frames, unicast only, none): the filters pass up the
/// frames the core's plan delivers and no other, whatever their kind.
#[test]
fn the_kernels_redirect_delivers_what_the_core_delivers() {
    if !can_run() {
        return;
    }
    let s = side("krx", "a");
    for i in 1..=3 {
        s.ip(&["link", "add", &format!("p{i}"), "type", "veth", "peer", "name", &format!("s{i}")]);
        s.ip(&["link", "set", &format!("p{i}"), "up"]);
        s.ip(&["link", "set", &format!("s{i}"), "up"]);
    }
    s.ip(&["link", "add", "bondx", "type", "veth", "peer", "name", "endx"]);
    s.ip(&["link", "set", "bondx", "up"]);
    s.ip(&["link", "set", "endx", "up"]);
    // An administrator's own filter (one that changes nothing) is left alone.
    let tc = |args: &[&str]| sh(&[&["ip", "netns", "exec", &s.ns, "tc"][..], args].concat());
    let own = ["filter", "add", "dev", "s1", "ingress", "pref", "100", "protocol", "all"];
    tc(&["qdisc", "add", "dev", "s1", "clsact"]);
    assert!(tc(&[&own[..], &["u32", "match", "u32", "0", "0"]].concat()).status.success());
    let plan =
        RxPlan { deliver: vec![SlaveId(1)], unicast_only: vec![SlaveId(2)], ..RxPlan::default() };
    let kinds: Vec<RxRedirect> = (1..=3).map(|i| plan.redirect(SlaveId(i))).collect();
    assert_eq!(kinds, [RxRedirect::All, RxRedirect::Unicast, RxRedirect::Nothing]);
    in_netns(&s.ns, move || {
        let end = RxTo::End(link::ifindex("endx").unwrap());
        for (i, kind) in kinds.into_iter().enumerate() {
            let slave = format!("s{}", i + 1);
            let ifindex = link::ifindex(&slave).unwrap();
            match kind {
                RxRedirect::All => redirect::redirect(&slave, ifindex, RxMatch::All, end),
                RxRedirect::Unicast => redirect::redirect(&slave, ifindex, RxMatch::Unicast, end),
                RxRedirect::Nothing => redirect::clear(&slave, ifindex),
                RxRedirect::AllOnce => unreachable!("no copies in this plan"),
            }
            .unwrap();
        }
    })
    .join()
    .unwrap();

    let mut rng = Rng(0x5eed_4b52);
    let (mut frames, mut sends, mut expected) = (BTreeMap::new(), Vec::new(), BTreeSet::new());
    for id in 0..900 {
        let f = any_frame(&mut rng, id);
        let slave = id % 3 + 1;
        if data_path_delivers(&plan, SlaveId(slave), &f) {
            expected.insert(id);
        }
        sends.push((format!("p{slave}"), f.clone()));
        frames.insert(id, f);
    }
    assert!(expected.len() > 300, "the frames cover every case: {} delivered", expected.len());
    let got = send_and_collect(&s.ns, &s.ns, "bondx", sends, expected.len());
    assert_same(&got, &frames, &expected);

    // Taken away: nothing goes up any more.
    let ns = s.ns.clone();
    in_netns(&ns, move || {
        for i in 1..=3 {
            let slave = format!("s{i}");
            redirect::clear(&slave, link::ifindex(&slave).unwrap()).unwrap();
        }
    })
    .join()
    .unwrap();
    let sends: Vec<_> =
        frames.iter().take(30).map(|(id, f)| (format!("p{}", id % 3 + 1), f.clone())).collect();
    let got = send_and_collect(&s.ns, &s.ns, "bondx", sends, 0);
    assert!(got.is_empty(), "{} frames went up with no filter", got.len());
    let left = tc(&["filter", "show", "dev", "s1", "ingress"]);
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(left.contains("pref 100 u32"), "the administrator's filter is there: {left}");
    assert_eq!(left.lines().filter(|l| l.contains(" pref ")).count(), 3, "{left}");
}

/// A filter written for an interface that went (its removal not yet read by the daemon)
/// fails with what `SysError::device_gone` recognises, whichever interface went: the slave,
/// or the data-path end its frames go to; a filter that cannot be written does not. The daemon
/// takes the first for no refusal of the filters (`tc_path`): one deleted slave does not send
/// every bond's frames through the data threads.
#[test]
fn a_filter_for_an_interface_that_went_is_told_from_a_refusal() {
    if !can_run() {
        return;
    }
    // `srcx` stands for the bond's device, the far end of `endx`.
    let s = end_and_two_slaves("kgone", "a");
    let index = |ns: &str, iface: &'static str| {
        in_netns(ns, move || link::ifindex(iface).unwrap()).join().unwrap()
    };
    let (s1, s2, end, bond) =
        (index(&s.ns, "s1"), index(&s.ns, "s2"), index(&s.ns, "endx"), index(&s.ns, "srcx"));
    // A filter that cannot be written: refused, not gone.
    let refused = in_netns(&s.ns, move || {
        let own = Some([2, 0, 0, 0, 0, 1]);
        let to = RxTo::AsReceived { end, bond, own, others: AddressSet::default() };
        redirect::redirect("s2", s2, RxMatch::AllStamped { own: [2, 0, 0, 0, 0, 2] }, to)
            .unwrap_err()
    });
    assert!(!refused.join().unwrap().device_gone());
    // The slave went.
    s.ip(&["link", "del", "p1"]);
    let e = in_netns(&s.ns, move || {
        redirect::redirect("s1", s1, RxMatch::All, RxTo::End(end)).unwrap_err()
    });
    let e = e.join().unwrap();
    assert!(e.device_gone(), "{e}");
    // The data-path end went (the bond's device with it).
    s.ip(&["link", "del", "srcx"]);
    let e = in_netns(&s.ns, move || {
        redirect::redirect("s2", s2, RxMatch::All, RxTo::End(end)).unwrap_err()
    });
    let e = e.join().unwrap();
    assert!(e.device_gone(), "{e}");
}

/// A namespace with slave `s1` (its far end `p1`) and a bond's device `bondx` whose data-path
/// end is `endx`, no IPv6 (the kernel's own frames would be counted); and `s1`'s address.
fn one_slave(test: &str) -> (Side, [u8; 6]) {
    let s = side(test, "a");
    for conf in ["all", "default"] {
        let key = format!("net.ipv6.conf.{conf}.disable_ipv6=1");
        must(&["ip", "netns", "exec", &s.ns, "sysctl", "-qw", &key]);
    }
    s.ip(&["link", "add", "p1", "type", "veth", "peer", "name", "s1"]);
    s.ip(&["link", "add", "bondx", "type", "veth", "peer", "name", "endx"]);
    for i in ["p1", "s1", "bondx", "endx"] {
        s.ip(&["link", "set", i, "up"]);
    }
    let own: MacAddr = mac_of(&s, "s1").parse().unwrap();
    (s, own.0)
}

/// Where the slaves have addresses of their own (`RxTo::AsReceived`): a slave's frames to
/// its own address go to the bond's device itself, those to the other slaves' addresses stay
/// on the slave for the data threads, whose socket filter (`Receive::To`) takes exactly those,
/// and the rest go to the data-path end; every data frame once, by one of the three.
#[test]
fn frames_handed_over_as_received_go_by_their_destination() {
    if !can_run() {
        return;
    }
    let (s, own) = one_slave("kasrx");
    let others = [[0x02, 0x0a, 0, 0, 0, 1], [0x02, 0x0b, 0, 0, 0, 2]];
    let set = AddressSet::new(&others).unwrap();
    in_netns(&s.ns, move || {
        let (end, bond) = (link::ifindex("endx").unwrap(), link::ifindex("bondx").unwrap());
        let to = RxTo::AsReceived { end, bond, own: Some(own), others: set };
        redirect::redirect("s1", link::ifindex("s1").unwrap(), RxMatch::All, to).unwrap();
    })
    .join()
    .unwrap();
    // The data threads' socket on the slave, with the filter the daemon gives it.
    let threads = socket_takes(&s.ns, "s1", Receive::To(set));

    let mut rng = Rng(0x5eed_a5e1);
    let (mut frames, mut sends) = (BTreeMap::new(), Vec::new());
    let (mut up, mut stay, mut to_own) = (BTreeSet::new(), BTreeSet::new(), 0u64);
    for id in 0..600 {
        let mut f = any_frame(&mut rng, id);
        match rng.next() % 9 {
            0 | 1 => f[..6].copy_from_slice(&own),
            2 | 3 => f[..6].copy_from_slice(&others[0]),
            4 => f[..6].copy_from_slice(&others[1]),
            // Look-alikes: the last two octets of one, the first four of the other.
            5 => f[..6].copy_from_slice(&[0x02, 0x0c, 0, 0, 0, 1]),
            6 => f[..6].copy_from_slice(&[0x02, 0x0b, 0, 0, 0, 3]),
            _ => {}
        }
        if others.iter().any(|m| f[..6] == m[..]) {
            stay.insert(id);
        } else if is_data_frame(&f) {
            up.insert(id);
            to_own += u64::from(f[..6] == own);
        }
        sends.push(("p1".to_string(), f.clone()));
        frames.insert(id, f);
    }
    assert!(stay.len() > 100 && to_own > 50, "{} stay, {to_own} to the slave", stay.len());
    let got = send_and_collect(&s.ns, &s.ns, "bondx", sends, up.len());
    assert_same(&got, &frames, &up);
    let left: BTreeSet<u32> = threads.join().unwrap().into_iter().collect();
    assert_eq!(left, stay, "the data threads' socket takes the frames to the other addresses");
    let nodes = node_counts(&s.ns, "s1");
    assert_eq!(nodes.get(&0x30), Some(&to_own), "to the bond's device: {nodes:?}");
    assert_eq!(nodes.get(&0x40), Some(&(up.len() as u64 - to_own)), "to the end: {nodes:?}");
}

/// A transmit filter of IPv4 routes (`TxTo::Ipv4`) on a data-path end sends the untagged IPv4
/// frames to a unicast address from the routes' source octet by their destination's last
/// octet, each to its route's slave; every other frame stays on the end, where a socket with
/// the data threads' filter (`Receive::AllBut`) takes exactly those. Each frame once, by one
/// of the two; the filter's statistics count each route's frames and their octets, Ethernet
/// header included, as the bond counts them.
#[test]
fn ipv4_routes_send_by_the_destinations_last_octet() {
    if !can_run() {
        return;
    }
    let s = end_and_two_slaves("ktx4", "a");
    let src_last = 0x5a;
    // Octets 0-99 to s1, 100-199 to s2; 200-255 have no route.
    let slave_of = |octet: u8| (octet < 200).then_some(if octet < 100 { 0 } else { 1 });
    let to = in_netns(&s.ns, move || {
        let (s1, s2) = (link::ifindex("s1").unwrap(), link::ifindex("s2").unwrap());
        let routes = (0..200u8).map(|o| (o, if o < 100 { s1 } else { s2 })).collect();
        let to = redirect::TxTo::Ipv4 { src_last, routes };
        let end = link::ifindex("endx").unwrap();
        redirect::transmit("endx", end, &to, redirect::TxFilter::Off).unwrap();
        to
    })
    .join()
    .unwrap();
    let octets = to.octets().unwrap();
    let threads = socket_takes(&s.ns, "endx", Receive::AllBut(octets));

    let mut rng = Rng(0x7a_0005);
    let (mut frames, mut sends) = (BTreeMap::new(), Vec::new());
    let (mut routed, mut stay) = (BTreeMap::new(), BTreeSet::new());
    let mut per_octet: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
    for id in 0..900 {
        let mut f = any_frame(&mut rng, id);
        match rng.next() % 8 {
            // The common case: IPv4 from the bond's address, to anyone.
            0..=4 => {
                f = frame(&mut rng, id);
                f[11] = src_last;
                f[12..14].copy_from_slice(&[0x08, 0x00]);
                if rng.byte() % 8 == 0 {
                    f[0] |= 1;
                }
            }
            // From another address ending otherwise.
            5 => f[12..14].copy_from_slice(&[0x08, 0x00]),
            _ => {}
        }
        match slave_of(f[5]).filter(|_| octets.matches(&f)) {
            Some(slave) => {
                routed.insert(id, slave);
                let c = per_octet.entry(f[5]).or_default();
                *c = (c.0 + 1, c.1 + f.len() as u64);
            }
            None => {
                stay.insert(id);
            }
        }
        sends.push(("srcx".to_string(), f.clone()));
        frames.insert(id, f);
    }
    assert!(routed.len() > 300 && stay.len() > 200, "{} routed, {} stay", routed.len(), stay.len());
    let got = send_and_watch(&s.ns, &s.ns, &["p1", "p2"], false, sends, routed.len());
    let mut seen = BTreeMap::new();
    for (id, slave) in got {
        assert!(seen.insert(id, slave).is_none(), "frame {id} left twice: {:02x?}", frames[&id]);
    }
    let wrong: Vec<_> = routed.iter().filter(|(id, m)| seen.get(id) != Some(m)).collect();
    let extra: Vec<_> = seen.keys().filter(|id| !routed.contains_key(id)).collect();
    assert!(
        wrong.is_empty() && extra.is_empty(),
        "{} routed frames left elsewhere or not at all, e.g. {:02x?}; {} others left, e.g. {:?}",
        wrong.len(),
        wrong.first().map(|(id, _)| &frames[id]),
        extra.len(),
        extra.first().map(|id| &frames[id])
    );
    let left: BTreeSet<u32> = threads.join().unwrap().into_iter().collect();
    let (missing, more) = (stay.difference(&left).count(), left.difference(&stay).count());
    assert!(
        missing == 0 && more == 0,
        "the data threads' socket takes the frames the filter leaves: {missing} missing, {more} \
         more"
    );
    let sent = in_netns(&s.ns, move || {
        let end = link::ifindex("endx").unwrap();
        redirect::tx_sent("endx", end, redirect::TX_PREFS[0]).unwrap()
    })
    .join()
    .unwrap();
    let sent: BTreeMap<u8, (u64, u64)> =
        sent.into_iter().filter(|s| s.1 > 0).map(|(o, p, b)| (o, (p, b))).collect();
    assert_eq!(sent, per_octet, "per route, the frames and octets sent");
}

/// The routes that need the slave's own source address (`ubond_sys::nft_tx`, nftables on the
/// data-path end's ingress) next to tc's (`TxTo::Ipv4`): a frame of a tc route leaves by its
/// slave unchanged, one of an nftables route by its slave with that slave's address as its
/// source, every other frame stays for the data threads' socket (`Receive::AllBut` with both
/// routes' octets); each once. The table's counters count each route's frames and octets;
/// cleared, its frames go to the socket.
#[test]
fn nftables_routes_send_with_the_slaves_own_address() {
    if !can_run() {
        return;
    }
    let s = end_and_two_slaves("knft", "a");
    let (src_last, own2) = (0x5a, [0x02, 0x52, 0, 0, 0, 2]);
    // Octets 0-99 by tc to s1; 100-199 by nftables to s2, rewritten; 200-255 no route.
    let put = in_netns(&s.ns, move || {
        let (s1, s2) = (link::ifindex("s1").unwrap(), link::ifindex("s2").unwrap());
        let to = redirect::TxTo::Ipv4 { src_last, routes: (0..100u8).map(|o| (o, s1)).collect() };
        redirect::transmit("endx", link::ifindex("endx").unwrap(), &to, redirect::TxFilter::Off)
            .unwrap();
        let routes: Vec<ubond_sys::nft_tx::NftRoute> = (100..200u8)
            .map(|o| ubond_sys::nft_tx::NftRoute { key: o.into(), to: s2, source: Some(own2) })
            .collect();
        ubond_sys::nft_tx::put("endx", ubond_sys::nft_tx::NftMatch::Layer2 { src_last }, &routes)
    })
    .join()
    .unwrap();
    if let Err(e) = put {
        // A kernel without nftables' netdev family: the daemon leaves those frames to its
        // data threads (said).
        eprintln!("skipped: {e}");
        return;
    }
    let octets = ubond_sys::Ipv4Octets { src_last, dst_last: (0..200u8).collect() };
    let run = |first: u32, nft: bool| {
        let threads = socket_takes(&s.ns, "endx", Receive::AllBut(octets));
        let mut rng = Rng(0x4e_f700 + u64::from(first));
        let (mut sends, mut want_left, mut want_stay) =
            (Vec::new(), BTreeMap::new(), BTreeSet::new());
        let mut per_octet: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
        for id in first..first + 600 {
            let mut f = any_frame(&mut rng, id);
            if rng.next() % 4 != 0 {
                f = frame(&mut rng, id);
                f[11] = src_last;
                f[12..14].copy_from_slice(&[0x08, 0x00]);
            }
            let octet = f[5];
            match octets.matches(&f) {
                true if octet < 100 => {
                    want_left.insert(id, (0, f[6..12].try_into().unwrap()));
                }
                true if nft => {
                    want_left.insert(id, (1, own2));
                    let c = per_octet.entry(octet).or_default();
                    *c = (c.0 + 1, c.1 + f.len() as u64);
                }
                // Without the table, frames of its routes go on up the end, unread.
                true => {}
                false => {
                    want_stay.insert(id);
                }
            }
            sends.push(("srcx".to_string(), f));
        }
        let left =
            send_and_watch_sources(&s.ns, &s.ns, &["p1", "p2"], false, sends, want_left.len());
        let stayed: BTreeSet<u32> = threads.join().unwrap().into_iter().collect();
        assert_eq!(stayed, want_stay, "the data threads' socket takes what no route takes");
        let mut got = BTreeMap::new();
        for (id, i, src) in left {
            assert!(got.insert(id, (i, src)).is_none(), "frame {id} left twice");
        }
        let wrong = want_left.iter().filter(|(id, w)| got.get(id) != Some(w)).count();
        assert!(wrong == 0 && got.len() == want_left.len(), "{wrong} routed frames left wrong");
        per_octet
    };
    let per_octet = run(0, true);
    assert!(per_octet.len() > 50, "the nftables routes carried frames: {per_octet:?}");
    let sent = in_netns(&s.ns, || ubond_sys::nft_tx::sent("endx").unwrap()).join().unwrap();
    let sent: BTreeMap<u8, (u64, u64)> =
        sent.into_iter().filter(|s| s.1 > 0).map(|(o, p, b)| (o as u8, (p, b))).collect();
    assert_eq!(sent, per_octet, "per route, the frames and octets sent");
    in_netns(&s.ns, || ubond_sys::nft_tx::clear("endx").unwrap()).join().unwrap();
    run(1000, false);
    in_netns(&s.ns, || ubond_sys::nft_tx::clear("endx").unwrap()).join().unwrap();
}

/// The frames the `layer3+4` table takes: untagged TCP or UDP to a unicast address, over IPv4
/// without options or fragments (38 octets at least), or over IPv6 right after the fixed
/// header (58).
fn l34_kind(f: &[u8]) -> bool {
    let v4 = f.len() >= 38
        && f[12..14] == [0x08, 0x00]
        && f[14] == 0x45
        && f[20] & 0x3f == 0
        && f[21] == 0
        && (f[23] == 6 || f[23] == 17);
    let v6 = f.len() >= 58 && f[12..14] == [0x86, 0xdd] && (f[20] == 6 || f[20] == 17);
    f[0] & 1 == 0 && (v4 || v6)
}

/// The frames the `layer2+3` table takes: untagged IPv4 (34 octets at least) but ICMP, IPv6
/// (54) but ICMPv6, to a unicast address.
fn l23_kind(f: &[u8]) -> bool {
    let v4 = f.len() >= 34 && f[12..14] == [0x08, 0x00] && f[23] != 1;
    let v6 = f.len() >= 54 && f[12..14] == [0x86, 0xdd] && f[20] != 58;
    f[0] & 1 == 0 && (v4 || v6)
}

/// Makes `f` (a frame with the marker and its number at the end) an IPv6 one of next header
/// `next` with random addresses and ports, its Ethernet addresses and marker kept.
fn as_ipv6(rng: &mut Rng, f: &mut Vec<u8>, next: u8) {
    let tail = f.split_off(f.len() - MAGIC.len() - 4);
    let l4 = ports(rng, next != 17);
    f.truncate(12);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&ipv6(rng, next, &l4));
    f.extend_from_slice(&tail);
}

/// The `layer3+4` table (`NftMatch::Layer34`): nftables computes the kernel's hash for the
/// frames of its kind (TCP and UDP over IPv4 and IPv6), and each leaves by the route of
/// `hash & mask` as the core computes the hash (`xmit_hash`), with the route's source address
/// if it has one; every other frame, look-alikes included (IP options, fragments, ICMP, IPv6
/// extension headers, a group, a tag, too short), stays for
/// the data threads' socket (`Receive::AllButL34`). Each frame once.
#[test]
fn the_layer34_table_hashes_as_the_core_does() {
    let key = |f: &[u8]| {
        ubond_core::hash::xmit_hash(ubond_core::hash::XmitHashPolicy::Layer34, f, None) & 0xff
    };
    // TCP or UDP over IPv4 or IPv6 with any addresses and ports, or a look-alike.
    let like = |rng: &mut Rng, f: &mut Vec<u8>| {
        if rng.next() % 3 == 0 {
            let proto = if rng.byte() & 1 == 0 { 6 } else { 17 };
            as_ipv6(rng, f, proto);
            match rng.next() % 8 {
                // Hop-by-hop options first, ICMPv6.
                0 => f[20] = 0,
                1 => f[20] = 58,
                _ => {}
            }
            return;
        }
        f[14] = 0x45;
        f[20] &= 0xc0;
        f[21] = 0;
        f[23] = if rng.byte() & 1 == 0 { 6 } else { 17 };
        match rng.next() % 12 {
            0 => f[14] = 0x46,
            1 => f[20] |= 0x20,
            2 => f[21] = 1,
            3 => f[23] = 1,
            _ => {}
        }
    };
    table_hashes_as_the_core_does(
        "knft34",
        NftMatch::Layer34 { mask: 0xff },
        Receive::AllButL34,
        like,
        l34_kind,
        key,
    );
}

/// The `layer2+3` table (`NftMatch::Layer23`): nftables computes the kernel's hash (the MAC
/// addresses' last octets, the EtherType, the IP addresses) for the frames of its kind (IPv4
/// and IPv6, any header length, fragments too, but ICMP and ICMPv6), and each leaves by the
/// route of `hash & mask` as the core computes the hash (`xmit_hash`); every other frame
/// (ICMP, a group, a tag, too short) stays for the data threads' socket
/// (`Receive::AllButL23`). Each frame once.
#[test]
fn the_layer23_table_hashes_as_the_core_does() {
    let key = |f: &[u8]| {
        ubond_core::hash::xmit_hash(ubond_core::hash::XmitHashPolicy::Layer23, f, None) & 0xff
    };
    // Any IPv4 header (options, fragments, protocols: ICMP now and then), or IPv6 with any
    // next header (ICMPv6 now and then); any MAC and IP addresses.
    let like = |rng: &mut Rng, f: &mut Vec<u8>| {
        f[5] = rng.byte();
        if rng.next() % 3 == 0 {
            let next = match rng.next() % 4 {
                0 => 58,
                1 => 0,
                _ => rng.byte(),
            };
            as_ipv6(rng, f, next);
            return;
        }
        f[14] = 0x40 | (5 + rng.byte() % 11);
        f[20] = rng.byte() & 0x3f;
        f[23] = if rng.next() % 4 == 0 { 1 } else { rng.byte() };
    };
    table_hashes_as_the_core_does(
        "knft23",
        NftMatch::Layer23 { mask: 0xff },
        Receive::AllButL23,
        like,
        l23_kind,
        key,
    );
}

/// balance-alb's table (`NftMatch::Alb`): nftables computes the bucket (the XOR of the
/// destination address's octets) of the frames of its kind (over IPv4 and IPv6), and each
/// leaves by its bucket's route as the core's `_simple_hash` says; every other frame (IGMP,
/// to 255.255.255.255, IPv6 with extension headers, ICMPv6, from `::`, a group, a tag, too
/// short) stays for the data threads' socket (`Receive::AllButAlb`).
#[test]
fn the_alb_table_buckets_as_the_core_does() {
    let v6 = |f: &[u8]| f[12..14] == [0x86, 0xdd];
    let kind = |f: &[u8]| {
        let v4 = f.len() >= 34 && f[12..14] == [0x08, 0x00] && f[23] != 2 && f[30..34] != [0xff; 4];
        let v6 = f.len() >= 54
            && v6(f)
            && (f[20] == 6 || f[20] == 17)
            && f[22..38].iter().any(|&b| b != 0);
        f[0] & 1 == 0 && (v4 || v6)
    };
    let key = |f: &[u8]| {
        let daddr = if v6(f) { &f[38..54] } else { &f[30..34] };
        u32::from(ubond_core::bond::tlb::simple_hash(daddr))
    };
    let like = |rng: &mut Rng, f: &mut Vec<u8>| {
        if rng.next() % 3 == 0 {
            let proto = if rng.byte() & 1 == 0 { 6 } else { 17 };
            as_ipv6(rng, f, proto);
            match rng.next() % 10 {
                // Hop-by-hop options first, ICMPv6 (neighbour discovery), from `::`.
                0 => f[20] = 0,
                1 => f[20] = 58,
                2 => f[22..38].fill(0),
                _ => {}
            }
            return;
        }
        match rng.next() % 10 {
            0 => f[23] = 2,
            1 => f[30..34].copy_from_slice(&[0xff; 4]),
            _ => {}
        }
    };
    table_hashes_as_the_core_does("knftalb", NftMatch::Alb, Receive::AllButAlb, like, kind, key);
}

/// The frames balance-rr's table takes: untagged (EtherType not 0x8100 or 0x88a8), but IGMP
/// over IPv4 (24 octets at least).
fn rr_kind(f: &[u8]) -> bool {
    let tagged = f[12..14] == [0x81, 0x00] || f[12..14] == [0x88, 0xa8];
    let igmp = f.len() >= 24 && f[12..14] == [0x08, 0x00] && f[23] == 2;
    !tagged && !igmp
}

/// Makes `f` (of [`frame`]) IGMP over IPv4, or, now and then, 802.1Q-tagged IGMP.
fn as_igmp(rng: &mut Rng, f: &mut Vec<u8>) {
    let tail = f.split_off(f.len() - MAGIC.len() - 4);
    f.truncate(12);
    if rng.byte() % 3 == 0 {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
    }
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ipv4(rng, 2, 0, &[0x16, 0, 0, 0, 239, 1, 2, 3]));
    f.extend_from_slice(&tail);
}

/// balance-rr's table (`NftMatch::RoundRobin`): nftables counts the frames of its kind (every
/// untagged frame but IGMP over IPv4) and each leaves by the route of the count, in the order
/// they were sent, as the core's counter runs through `TxPlan::redirect_rr`'s routes from the
/// same point (here `packets_per_slave=3` over two slaves: six routes); every other frame
/// (tagged by either TPID, IGMP) stays for the data threads' socket (`Receive::AllButRr`).
/// With `packets_per_slave=0` (`random`), each frame of the kind leaves once, by every route
/// now and then. Each route here writes a source address of its own, so that the frame says
/// which key it went by.
#[test]
fn the_round_robin_table_counts_as_the_core_does() {
    use ubond_core::bond::{TxChoice, TxPlan};
    if !can_run() {
        return;
    }
    let s = end_and_two_slaves("knftrr", "a");
    let source = |key: u32| [0x02, 0x52, 0, 0, 0x0e, key as u8];
    let mut rng = Rng(0x52_5252);
    // Three frames per slave, then one at random (`packets_per_slave=0`).
    for per in [3, 0] {
        let plan = TxPlan {
            packets_per_slave: per,
            slaves: vec![SlaveId(1), SlaveId(2)],
            ..TxPlan::empty(ubond_core::options::Mode::BalanceRr)
        };
        let rr = plan.redirect_rr().unwrap();
        let (random, routes) = (rr.random, rr.routes.clone());
        let put = in_netns(&s.ns, move || {
            let (s1, s2) = (link::ifindex("s1").unwrap(), link::ifindex("s2").unwrap());
            let routes: Vec<NftRoute> = (0..)
                .zip(&routes)
                .map(|(key, slave)| {
                    let to = if *slave == SlaveId(1) { s1 } else { s2 };
                    NftRoute { key, to, source: Some(source(key)) }
                })
                .collect();
            ubond_sys::nft_tx::put("endx", NftMatch::RoundRobin { random }, &routes)
        })
        .join()
        .unwrap();
        if let Err(e) = put {
            // A kernel without nftables' `numgen`: the daemon leaves those frames to its data
            // threads (said).
            eprintln!("skipped: {e}");
            return;
        }
        let socket = socket_takes(&s.ns, "endx", Receive::AllButRr);
        let (mut sends, mut kind, mut stay, mut frames) =
            (Vec::new(), Vec::new(), BTreeSet::new(), BTreeMap::new());
        for id in 0..600 {
            let mut f = any_frame(&mut rng, id);
            if rng.next() % 6 == 0 {
                as_igmp(&mut rng, &mut f);
            }
            if rr_kind(&f) {
                kind.push(id);
            } else {
                stay.insert(id);
            }
            sends.push(("srcx".to_string(), f.clone()));
            frames.insert(id, f);
        }
        assert!(kind.len() > 300 && stay.len() > 60, "{} of the kind", kind.len());
        let left = send_and_watch_sources(&s.ns, &s.ns, &["p1", "p2"], false, sends, kind.len());
        let mut got = BTreeMap::new();
        for (id, m, src) in left {
            assert_eq!(src[..5], source(0)[..5], "frame {id} left by a route");
            assert!(got.insert(id, (m, u32::from(src[5]))).is_none(), "frame {id} left twice");
        }
        let ids: Vec<u32> = got.keys().copied().collect();
        assert_eq!(ids, kind, "the frames of the kind left, once each, and no other");
        let by_route = |m: usize, key: u32| rr.routes[key as usize] == SlaveId(m as u32 + 1);
        assert!(got.values().all(|&(m, key)| by_route(m, key)), "each by its route's slave");
        if random {
            let mut used = BTreeSet::new();
            used.extend(got.values().map(|g| g.1));
            assert_eq!(used.len(), 2, "every route now and then: {used:?}");
        } else {
            // The core, its counter where the table's count started, sends each the same way.
            let first = got[&kind[0]].1;
            let mut counter = first.wrapping_sub(1);
            for (i, id) in kind.iter().enumerate() {
                let key = got[id].1;
                assert_eq!(key, (first + i as u32) % 6, "frame {id}: the count goes on by one");
                let TxChoice::One(SlaveId(want)) = plan.select(&frames[id], &mut counter) else {
                    panic!("balance-rr chooses one slave");
                };
                assert_eq!(got[id].0 + 1, want as usize, "frame {id} by the core's slave");
            }
        }
        let stayed: BTreeSet<u32> = socket.join().unwrap().into_iter().collect();
        assert_eq!(stayed, stay, "the data threads' socket takes the others, once each");
    }
    in_netns(&s.ns, || ubond_sys::nft_tx::clear("endx").unwrap()).join().unwrap();
}

/// Puts table `what` on a data-path end with a route for each key (`0..=mask`, 256 for
/// balance-alb), to `s1` unchanged or to `s2` with another source by the parity of the key's
/// bits (so that a wrong bit anywhere in a key sends the frame the wrong way), sends frames of
/// every kind (`like` makes most of them of the table's kind or near it, some cut short), and
/// checks: the frames of the kind (`kind`) leave each by the route of its key (`key`, the
/// core's), once; all others reach the data threads' socket (`threads`), once.
fn table_hashes_as_the_core_does(
    test: &str,
    what: NftMatch,
    threads: Receive,
    like: impl Fn(&mut Rng, &mut Vec<u8>),
    kind: impl Fn(&[u8]) -> bool,
    key: impl Fn(&[u8]) -> u32,
) {
    if !can_run() {
        return;
    }
    let s = end_and_two_slaves(test, "a");
    let own2 = [0x02, 0x52, 0, 0, 0, 2];
    let put = in_netns(&s.ns, move || {
        let (s1, s2) = (link::ifindex("s1").unwrap(), link::ifindex("s2").unwrap());
        let keys = match what {
            NftMatch::Layer34 { mask } | NftMatch::Layer23 { mask } => 0..=mask,
            _ => 0..=255,
        };
        let routes: Vec<NftRoute> = keys
            .map(|key| match key.count_ones() & 1 {
                0 => NftRoute { key, to: s1, source: None },
                _ => NftRoute { key, to: s2, source: Some(own2) },
            })
            .collect();
        ubond_sys::nft_tx::put("endx", what, &routes)
    })
    .join()
    .unwrap();
    if let Err(e) = put {
        // A kernel without nftables' XOR between registers: the daemon leaves those frames to
        // its data threads (said).
        eprintln!("skipped: {e}");
        return;
    }
    let socket = socket_takes(&s.ns, "endx", threads);
    let mut rng = Rng(0x34_3434);
    let (mut sends, mut want_left, mut want_stay) = (Vec::new(), BTreeMap::new(), BTreeSet::new());
    let mut frames = BTreeMap::new();
    for id in 0..900 {
        let mut f = any_frame(&mut rng, id);
        if rng.next() % 3 != 0 {
            f = frame(&mut rng, id);
            f[0] &= !1;
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            rng.bytes::<12>().iter().enumerate().for_each(|(i, b)| f[26 + i] = *b);
            like(&mut rng, &mut f);
            match rng.next() % 12 {
                0 => f[0] |= 1,
                // Cut short, the marker (and the number) in the first octets of the payload.
                1 => {
                    let n = 30 + rng.byte() as usize % 10;
                    let tail = f[f.len() - 4 - MAGIC.len()..].to_vec();
                    f.truncate(n.saturating_sub(tail.len()).max(14));
                    f.extend(tail);
                }
                _ => {}
            }
        }
        if kind(&f) {
            let route = key(&f).count_ones() & 1;
            let src: [u8; 6] = if route == 1 { own2 } else { f[6..12].try_into().unwrap() };
            want_left.insert(id, (route as usize, src));
        } else {
            want_stay.insert(id);
        }
        sends.push(("srcx".to_string(), f.clone()));
        frames.insert(id, f);
    }
    assert!(want_left.len() > 300 && want_stay.len() > 200, "{} hashed", want_left.len());
    let left = send_and_watch_sources(&s.ns, &s.ns, &["p1", "p2"], false, sends, want_left.len());
    let mut got = BTreeMap::new();
    for (id, m, src) in left {
        assert!(got.insert(id, (m, src)).is_none(), "frame {id} left twice");
    }
    let wrong: Vec<_> = want_left.iter().filter(|(id, w)| got.get(id) != Some(w)).collect();
    assert!(
        wrong.is_empty() && got.len() == want_left.len(),
        "{} frames left elsewhere, e.g. {:02x?} (want {:?}, got {:?}); {} left in all",
        wrong.len(),
        wrong.first().map(|(id, _)| &frames[id]),
        wrong.first().map(|w| w.1),
        wrong.first().and_then(|(id, _)| got.get(id)),
        got.len()
    );
    let stayed: BTreeSet<u32> = socket.join().unwrap().into_iter().collect();
    let missing: Vec<_> = want_stay.difference(&stayed).collect();
    let more = stayed.difference(&want_stay).count();
    assert!(
        missing.is_empty() && more == 0,
        "the socket: {} missing (e.g. {:02x?}), {more} more",
        missing.len(),
        missing.first().map(|id| &frames[id])
    );
    in_netns(&s.ns, || ubond_sys::nft_tx::clear("endx").unwrap()).join().unwrap();
}

/// A namespace whose data-path end `endx` gets what is sent on `srcx`, with two slaves `s1`
/// and `s2` (their far ends `p1`, `p2`), every interface up.
fn end_and_two_slaves(test: &str, letter: &str) -> Side {
    let s = side(test, letter);
    s.ip(&["link", "add", "srcx", "type", "veth", "peer", "name", "endx"]);
    for i in ["1", "2"] {
        s.ip(&["link", "add", &format!("p{i}"), "type", "veth", "peer", "name", &format!("s{i}")]);
    }
    for i in ["srcx", "endx", "p1", "s1", "p2", "s2"] {
        s.ip(&["link", "set", i, "up"]);
    }
    s
}

/// A socket on `iface` of namespace `ns` receiving `receive`, as a data thread's would, open
/// when this returns; 2 s later its thread returns the numbers of the frames it took.
fn socket_takes(
    ns: &str,
    iface: &'static str,
    receive: Receive,
) -> std::thread::JoinHandle<Vec<u32>> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let taker = in_netns(ns, move || {
        let sock =
            PacketSocket::open(iface, PacketOptions { receive, ..Default::default() }).unwrap();
        sock.set_recv_buffer(8 << 20).unwrap();
        ready_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let (mut got, mut buf) = (Vec::new(), vec![0u8; 9000]);
        while let Some(n) = sock.recv(&mut buf).unwrap() {
            got.extend(id_of(&buf[..n]));
        }
        got
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    taker
}

/// Per node of ubond's data filter on `iface` (its number, as `fh TABLE::N`), the frames its
/// action took, as `tc -s filter show` says.
fn node_counts(ns: &str, iface: &str) -> BTreeMap<u32, u64> {
    let o = sh(&["ip", "netns", "exec", ns, "tc", "-s", "filter", "show", "dev", iface, "ingress"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let pref = format!("pref {}", redirect::PREF_FIRST + 3);
    let mut counts = BTreeMap::new();
    for chunk in text.split("filter protocol ").filter(|c| c.contains(&pref)) {
        let Some(node) = chunk.split("fh ").nth(1).and_then(|h| h.split("::").nth(1)) else {
            continue;
        };
        let Some(node) = node.split_whitespace().next() else { continue };
        let Ok(node) = u32::from_str_radix(node, 16) else { continue };
        let Some(sent) = chunk.split("Sent ").nth(1) else { continue };
        counts.insert(node, sent.split_whitespace().nth(2).unwrap().parse().unwrap());
    }
    counts
}

/// With the ARP monitor's stamps ([`RxMatch::AllStamped`]), a slave's filters deliver every
/// data frame, as without, and count apart the frames the core's monitor counts
/// (`rx_traffic`): per class, the frames the kernel's nodes took equal the core's sort of the
/// frames sent; `rx_seen` reads the times back, and a class no frame reached has none.
#[test]
fn stamped_filters_count_what_the_arp_monitor_counts() {
    if !can_run() {
        return;
    }
    let (s, own) = one_slave("kstamp");
    let put = |ns: &str| {
        in_netns(ns, move || {
            let end = RxTo::End(link::ifindex("endx").unwrap());
            let ifindex = link::ifindex("s1").unwrap();
            redirect::redirect("s1", ifindex, RxMatch::AllStamped { own }, end).unwrap();
        })
        .join()
        .unwrap();
    };
    let seen = |ns: &str| {
        in_netns(ns, || redirect::rx_seen("s1", link::ifindex("s1").unwrap()).unwrap())
            .join()
            .unwrap()
    };
    put(&s.ns);
    assert_eq!(seen(&s.ns), redirect::RxSeen::default(), "no frame yet");

    // Frames of every kind, a third of them to the slave's own address.
    let mut rng = Rng(0x5eed_57a1);
    let (mut frames, mut sends, mut expected) = (BTreeMap::new(), Vec::new(), BTreeSet::new());
    // Frames not for this host, for it, and ARP or IPv6 ones for it.
    let slot = |t| match t {
        RxTraffic::NotForHost => 0,
        RxTraffic::ForHost => 1,
        RxTraffic::ArpIpv6 => 2,
    };
    let mut want = [0u64; 3];
    for id in 0..900 {
        let mut f = any_frame(&mut rng, id);
        if rng.next() % 3 == 0 {
            f[..6].copy_from_slice(&own);
        }
        if is_data_frame(&f) {
            expected.insert(id);
            want[slot(rx_traffic(&f, MacAddr(own)))] += 1;
        }
        sends.push(("p1".to_string(), f.clone()));
        frames.insert(id, f);
    }
    assert!(want.iter().all(|&n| n > 50), "every class: {want:?}");
    let got = send_and_collect(&s.ns, &s.ns, "bondx", sends, expected.len());
    assert_same(&got, &frames, &expected);
    let nodes = node_counts(&s.ns, "s1");
    assert_eq!(nodes.len(), 8, "{nodes:?}");
    let class = |n: &[u32]| n.iter().map(|n| nodes[n]).sum::<u64>();
    let got = [class(&[0x48]), class(&[0x41, 0x44, 0x47]), class(&[0x42, 0x43, 0x45, 0x46])];
    assert_eq!(got, want, "the kernel's classes of the frames against the core's");
    let now = seen(&s.ns);
    let recent = |age: Option<Duration>| age.is_some_and(|a| a < Duration::from_secs(3));
    assert!(recent(now.any) && recent(now.arp_ipv6), "{now:?}");

    // Filters put on again count from nothing: frames for this host but no ARP or IPv6.
    put(&s.ns);
    let mut f = frame(&mut Rng(7), 5000);
    f[..6].copy_from_slice(&own);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(rx_traffic(&f, MacAddr(own)), RxTraffic::ForHost);
    let got = send_and_collect(&s.ns, &s.ns, "bondx", vec![("p1".into(), f)], 1);
    assert_eq!(got, [5000]);
    let now = seen(&s.ns);
    assert!(recent(now.any) && now.arp_ipv6.is_none(), "{now:?}");
}

/// The frames `tc -s filter show dev IFACE ingress` says ubond's redirect sent to the bond
/// (`None`: no redirect on it).
fn redirected(s: &Side, iface: &str) -> Option<u64> {
    redirected_to(s, iface, "bond0-dp")
}

/// The frames `tc -s filter show dev IFACE ingress` says a filter redirected to `to` (the
/// first such filter's).
fn redirected_to(s: &Side, iface: &str, to: &str) -> Option<u64> {
    let o =
        sh(&["ip", "netns", "exec", &s.ns, "tc", "-s", "filter", "show", "dev", iface, "ingress"]);
    let text = String::from_utf8_lossy(&o.stdout);
    // "(Egress Redirect to device END)", or "(Ingress ...)" for the bond's device itself.
    let at = text.find(&format!(" Redirect to device {to})"))?;
    let sent = text[at..].split("Sent ").nth(1)?;
    sent.split_whitespace().nth(2)?.parse().ok()
}

/// Side A (no daemon) and side B (a daemon on the userspace path), joined by `e1` and `e2`.
fn user_pair(test: &str) -> (Side, Side) {
    let a = side(test, "a");
    let mut b = side(test, "b");
    for e in ["e1", "e2"] {
        a.ip(&["link", "add", e, "type", "veth", "peer", "name", e, "netns", &b.ns]);
        a.ip(&["link", "set", e, "up"]);
    }
    b.start_daemon_with(&["--datapath", "user"]);
    (a, b)
}

/// Sends 400 frames from A's members of `on` (`e1` and `e2`: slaves 1 and 2 of the plan),
/// numbered from `first`, and checks what reaches B's bond: what the core delivers with `active` the
/// active slave, each frame once, the data frames redirected by the kernel (counted by tc).
/// With `control_plane` (a daemon runs), the control frames the core delivers too.
fn round(
    a: &Side,
    b: &Side,
    rng: &mut Rng,
    on: &[u32],
    active: u32,
    first: u32,
    control_plane: bool,
) {
    let plan = RxPlan { deliver: vec![SlaveId(active)], ..RxPlan::default() };
    let before = redirected(b, &format!("e{active}")).unwrap();
    let (mut frames, mut sends) = (BTreeMap::new(), Vec::new());
    let (mut expected, mut by_kernel) = (BTreeSet::new(), 0);
    for id in first..first + 400 {
        let f = any_frame(rng, id);
        let slave = SlaveId(on[id as usize % on.len()]);
        // The control plane delivers the control frames the core does not consume (in
        // active-backup, all of them); the data path, the others.
        let data = data_path_delivers(&plan, slave, &f);
        if data || (control_plane && plan.verdict(slave, &f) == RxVerdict::Deliver) {
            expected.insert(id);
        }
        by_kernel += u64::from(data);
        sends.push((format!("e{}", slave.0), f.clone()));
        frames.insert(id, f);
    }
    let got = send_and_collect(&a.ns, &b.ns, "bond0", sends, expected.len());
    assert_same(&got, &frames, &expected);
    // A filter replaced since (a new daemon's) counts from zero.
    let now = redirected(b, &format!("e{active}")).unwrap();
    let counted = if now < before { now } else { now - before };
    assert!(
        counted >= by_kernel,
        "the kernel redirected {counted} frames, but {by_kernel} data frames went up: the data \
         threads took them"
    );
}

/// An active-backup bond on the userspace path: its active slave's frames go up through the
/// kernel's filters (counted there; none twice, none from the backup), the filters follow a
/// failover, keep delivering while no daemon runs, are taken over by the next daemon, and go
/// when the bond does.
#[test]
fn an_active_backup_bond_receives_through_the_kernel_on_the_userspace_path() {
    if !can_run() {
        return;
    }
    let (a, mut b) = user_pair("krxab");
    b.ok(&["add", "bond0", "mode=active-backup", "miimon=50", "primary=e1"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    let active = |b: &Side, e: &str| {
        wait_report(b, "bond0", Duration::from_secs(10), e, |r| active_of(r) == e);
        wait_for(Duration::from_secs(5), "the redirect", || redirected(b, e).is_some());
    };
    active(&b, "e1");
    assert_eq!(redirected(&b, "e2"), None, "the backup's frames are dropped, not redirected");
    // The kernel takes every frame of both slaves: the data threads' sockets there only send
    // (no fanout hash, no filter run per frame); the control plane's reads.
    for e in ["e1", "e2"] {
        let (listening, sending) = settled_packet_sockets(&b, e, |(l, s)| l == 1 && s >= 1);
        assert_eq!(listening, 1, "{e}: the control plane's socket only");
        assert!(sending >= 1, "{e}: the data threads' sockets only send");
    }
    let mut rng = Rng(0xab_4b52);
    round(&a, &b, &mut rng, &[1, 2], 1, 0, true);

    // Failover: e1 loses its carrier; e2 is the active slave, and has the redirect.
    a.ip(&["link", "set", "e1", "down"]);
    active(&b, "e2");
    assert_eq!(redirected(&b, "e1"), None, "the old active slave's redirect went");
    // (Frames on e2 only: e1 has no carrier.)
    round(&a, &b, &mut rng, &[2], 2, 1000, true);
    // Back to e1, the primary, once it is up again.
    a.ip(&["link", "set", "e1", "up"]);
    active(&b, "e1");
    round(&a, &b, &mut rng, &[1, 2], 1, 2000, true);

    // The daemon dies: the filters go on handing the data frames up (the control frames,
    // without a control plane, go nowhere). The next daemon adopts the bond and its slaves.
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    round(&a, &b, &mut rng, &[1, 2], 1, 3000, false);
    b.start_daemon_with(&["--datapath", "user"]);
    active(&b, "e1");
    round(&a, &b, &mut rng, &[1, 2], 1, 4000, true);

    b.ok(&["del", "bond0"]);
    for e in ["e1", "e2"] {
        let o = sh(&["ip", "netns", "exec", &b.ns, "tc", "filter", "show", "dev", e, "ingress"]);
        assert!(o.stdout.is_empty(), "{e} keeps filters: {}", String::from_utf8_lossy(&o.stdout));
    }
}

/// Transmit on the userspace path: an active-backup bond's frames leave by its active slave
/// only, sent by the kernel's filter on the data-path end (counted there), which follows a
/// failover; a broadcast bond's leave by every slave. Each frame once per slave, whatever
/// its kind (the transmit plan is one choice for every frame: `TxPlan::redirect`).
#[test]
fn transmit_in_the_kernel_sends_where_the_plan_says() {
    if !can_run() {
        return;
    }
    let (a, b) = user_pair("krxtx");
    let mut rng = Rng(0x7c_4b52);
    // Sends 300 frames through B's bond; per frame, the members of A's side it arrived on.
    let mut send = |first: u32, expected: usize| {
        let frames: Vec<_> =
            (first..first + 300).map(|id| ("bond0".to_string(), any_frame(&mut rng, id))).collect();
        let mut on: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (id, m) in send_and_watch(&b.ns, &a.ns, &["e1", "e2"], false, frames, expected * 300) {
            on.entry(id).or_default().push(m);
        }
        on
    };
    let sent_by_tc = |b: &Side, to: &str| redirected_to(b, "bond0-dp", to);

    b.ok(&["add", "bond0", "mode=active-backup", "miimon=50", "primary=e1"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    for (active, first) in [("e1", 0), ("e2", 1000)] {
        wait_report(&b, "bond0", Duration::from_secs(10), active, |r| active_of(r) == active);
        wait_for(Duration::from_secs(5), "the transmit filter", || {
            sent_by_tc(&b, active).is_some()
        });
        let before = sent_by_tc(&b, active).unwrap();
        let on = send(first, 1);
        let want = usize::from(active == "e2");
        assert_eq!(on.len(), 300, "every frame left: {} did", on.len());
        assert!(on.values().all(|m| m == &[want]), "each once, by {active}: {on:?}");
        let counted = sent_by_tc(&b, active).unwrap() - before;
        assert!(counted >= 300, "the kernel sent {counted}: the data threads did");
        // Failover for the next round: e1 loses its carrier.
        a.ip(&["link", "set", "e1", "down"]);
    }
    a.ip(&["link", "set", "e1", "up"]);
    b.ok(&["del", "bond0"]);

    b.ok(&["add", "bond0", "mode=broadcast", "miimon=50"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up", |r| {
        r.matches("MII Status: up").count() == 3
    });
    wait_for(Duration::from_secs(5), "the transmit filter", || {
        sent_by_tc(&b, "e1").is_some() || sent_by_tc(&b, "e2").is_some()
    });
    let on = send(2000, 2);
    assert_eq!(on.len(), 300, "every frame left: {} did", on.len());
    for (id, mut m) in on {
        m.sort_unstable();
        assert_eq!(m, [0, 1], "frame {id} leaves by each slave once");
    }
}

/// Every frame a bond's filter on its data-path end sent to `to`, as `tc -s` says (each
/// node's redirect counted).
fn sent_to(s: &Side, to: &str) -> u64 {
    let o = sh(&[
        "ip", "netns", "exec", &s.ns, "tc", "-s", "filter", "show", "dev", "bond0-dp", "ingress",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    text.split(&format!(" Redirect to device {to})"))
        .skip(1)
        .filter_map(|c| c.split("Sent ").nth(1)?.split_whitespace().nth(2)?.parse::<u64>().ok())
        .sum()
}

/// Hashed transmit on the userspace path (`xmit_hash_policy=layer2`, `TxPlan::redirect_ipv4`):
/// a balance-xor bond's IPv4 frames to a unicast address from its own address leave by the
/// kernel's filter, the others by its data threads; each frame once, by the slave the core
/// chooses (`TxPlan::select`), whichever path sent it. A balance-tlb bond sends by its
/// filter the frames of the buckets its active slave has, unchanged, and the data threads
/// the rest; each frame once.
#[test]
fn hashed_transmit_in_the_kernel_sends_where_the_core_does() {
    if !can_run() {
        return;
    }
    let (a, mut b) = user_pair("ktxh");
    let mut rng = Rng(0x7c_4b53);
    // Sends 600 frames through B's bond, two thirds IPv4 from its address; per frame, the
    // members of A's side it arrived on.
    let mut send = |bond: MacAddr, first: u32| {
        let mut frames = BTreeMap::new();
        for id in first..first + 600 {
            let mut f = any_frame(&mut rng, id);
            if rng.next() % 3 != 0 {
                f = frame(&mut rng, id);
                f[6..12].copy_from_slice(&bond.0);
                f[12..14].copy_from_slice(&[0x08, 0x00]);
            }
            frames.insert(id, f);
        }
        let sends = frames.values().map(|f| ("bond0".to_string(), f.clone())).collect();
        let mut on: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (id, m) in send_and_watch(&b.ns, &a.ns, &["e1", "e2"], false, sends, 600) {
            on.entry(id).or_default().push(m);
        }
        (frames, on)
    };
    let routed =
        |bond: MacAddr, f: &[u8]| f[0] & 1 == 0 && f[6..12] == bond.0 && f[12..14] == [8, 0];

    b.ok(&["add", "bond0", "mode=balance-xor", "miimon=50"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up", |r| {
        r.matches("MII Status: up").count() == 3
    });
    wait_for(Duration::from_secs(5), "the transmit filter", || {
        sent_to(&b, "e1") + sent_to(&b, "e2") > 0 || {
            let o = sh(&[
                "ip", "netns", "exec", &b.ns, "tc", "filter", "show", "dev", "bond0-dp", "ingress",
            ]);
            String::from_utf8_lossy(&o.stdout).contains("Redirect to device e2")
        }
    });
    let bond: MacAddr = mac_of(&b, "bond0").parse().unwrap();
    let before = sent_to(&b, "e1") + sent_to(&b, "e2");
    let (frames, on) = send(bond, 0);
    let plan = ubond_core::bond::TxPlan {
        slaves: vec![SlaveId(1), SlaveId(2)],
        ..ubond_core::bond::TxPlan::empty(ubond_core::options::Mode::BalanceXor)
    };
    let mut by_kernel = 0;
    for (id, f) in &frames {
        let ubond_core::bond::TxChoice::One(SlaveId(want)) = plan.select(f, &mut 0) else {
            panic!("balance-xor chooses one slave");
        };
        assert_eq!(
            on.get(id).map(Vec::as_slice),
            Some(&[want as usize - 1][..]),
            "frame {id}: {f:02x?}"
        );
        by_kernel += u64::from(routed(bond, f));
    }
    let counted = sent_to(&b, "e1") + sent_to(&b, "e2") - before;
    assert!(
        by_kernel > 300 && counted >= by_kernel,
        "the kernel sent {counted} of {by_kernel}: the data threads did"
    );
    b.ok(&["del", "bond0"]);

    // balance-tlb: the kernel's own IPv6 frames leave unbalanced by the active slave (e1),
    // whose load starts from them at the table's first clear (10 s): then e2 is the least
    // loaded, the buckets not used yet are e2's, and their frames leave with e2's address,
    // through the nftables table on the end.
    b.ok(&["add", "bond0", "mode=balance-tlb", "miimon=50"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "e1 active", |r| active_of(r) == "e1");
    let ns = b.ns.clone();
    let nft_routes = move || {
        in_netns(&ns, || ubond_sys::nft_tx::sent("bond0-dp").map(|s| s.len()).unwrap_or(0))
            .join()
            .unwrap()
    };
    let refused = || {
        let log = std::fs::read_to_string(b.dir.join("daemon.log")).unwrap_or_default();
        log.contains("go through the data threads instead")
    };
    wait_for(Duration::from_secs(20), "the nftables routes", || nft_routes() > 0 || refused());
    if refused() {
        eprintln!(
            "skipped balance-tlb's other slave: the kernel refused the nftables table: {}",
            std::fs::read_to_string(b.dir.join("daemon.log")).unwrap_or_default()
        );
        return;
    }
    let bond: MacAddr = mac_of(&b, "bond0").parse().unwrap();
    let e2: MacAddr = mac_of(&b, "e2").parse().unwrap();
    // Sends 512 frames from the bond's address, two to each destination octet, and checks
    // each left once: by e1 unchanged, or by e2 with e2's address. Returns how many left by e2.
    let (bns, ans) = (b.ns.clone(), a.ns.clone());
    let mut round = |first: u32| through_bond_by_source(&bns, &ans, &mut rng, bond, e2, first);
    assert!(round(2000) > 0, "some frames left by e2");
    // With no daemon, only the kernel forwards: tc's filter and the nftables table.
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(round(3000) > 0, "some frames left by e2, no daemon running");
    // The next daemon adopts the bond and puts its own routes there; the bond deleted, its
    // table goes too.
    b.start_daemon_with(&["--datapath", "user"]);
    wait_for(Duration::from_secs(20), "the nftables routes again", || nft_routes() > 0);
    assert!(round(4000) > 0, "some frames left by e2 with the next daemon");
    let there = in_netns(&b.ns, || ubond_sys::nft_tx::present("bond0-dp")).join().unwrap();
    assert!(there.unwrap(), "the table is there");
    b.ok(&["del", "bond0"]);
    let left = in_netns(&b.ns, || ubond_sys::nft_tx::present("bond0-dp")).join().unwrap();
    assert!(!left.unwrap(), "the table went with the bond");

    // balance-xor with layer3+4: the TCP and UDP frames go by the table's hash, the others by
    // the data threads; each by the slave the core chooses. With no daemon, the table's alone.
    b.ok(&["add", "bond0", "mode=balance-xor", "miimon=50", "xmit_hash_policy=layer3+4"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up", |r| {
        r.matches("MII Status: up").count() == 3
    });
    let bond: MacAddr = mac_of(&b, "bond0").parse().unwrap();
    let ns = b.ns.clone();
    wait_for(Duration::from_secs(5), "the layer3+4 table", || {
        let ns = ns.clone();
        in_netns(&ns, || ubond_sys::nft_tx::sent("bond0-dp").map(|s| s.len()).unwrap_or(0))
            .join()
            .unwrap()
            == 2
    });
    use ubond_core::hash::XmitHashPolicy;
    let (ans, bns) = (a.ns.clone(), b.ns.clone());
    let mut xor_round = |first: u32, daemon: bool, policy: XmitHashPolicy| {
        let plan = ubond_core::bond::TxPlan {
            slaves: vec![SlaveId(1), SlaveId(2)],
            policy,
            ..ubond_core::bond::TxPlan::empty(ubond_core::options::Mode::BalanceXor)
        };
        let (mut sends, mut want) = (Vec::new(), BTreeMap::new());
        for id in first..first + 400 {
            let mut f = any_frame(&mut rng, id);
            if id % 3 != 0 {
                f = frame(&mut rng, id);
                f[0] &= !1;
                f[6..12].copy_from_slice(&bond.0);
                f[12..14].copy_from_slice(&[0x08, 0x00]);
                (f[14], f[20], f[21]) = (0x45, 0, 0);
                f[23] = if id % 2 == 0 { 6 } else { 17 };
            }
            // The kinds of frames the table takes (the other frames, by the data threads).
            let kind = match policy {
                XmitHashPolicy::Layer34 => l34_kind(&f),
                _ => l23_kind(&f),
            };
            let ubond_core::bond::TxChoice::One(SlaveId(slave)) = plan.select(&f, &mut 0) else {
                panic!("balance-xor chooses one slave");
            };
            if daemon || kind {
                want.insert(id, vec![slave as usize - 1]);
            }
            sends.push(("bond0".to_string(), f));
        }
        let mut on: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (id, m) in send_and_watch(&bns, &ans, &["e1", "e2"], false, sends, want.len()) {
            on.entry(id).or_default().push(m);
        }
        let wrong = want.iter().filter(|(id, w)| on.get(id) != Some(w)).count();
        assert!(
            wrong == 0 && on.len() == want.len(),
            "{policy:?}: {wrong} frames left wrong, {} left",
            on.len()
        );
    };
    xor_round(5000, true, XmitHashPolicy::Layer34);
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    xor_round(6000, false, XmitHashPolicy::Layer34);

    // layer2+3: IPv4 and IPv6 but ICMP by the table's hash, as the core hashes them; with no
    // daemon too.
    b.start_daemon_with(&["--datapath", "user"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up again", |r| {
        r.matches("MII Status: up").count() == 3
    });
    b.ok(&["set", "bond0", "xmit_hash_policy", "layer2+3"]);
    let log = b.dir.join("daemon.log");
    wait_for(Duration::from_secs(5), "the layer2+3 table", || {
        let ns = ns.clone();
        let keys = in_netns(&ns, || ubond_sys::nft_tx::sent("bond0-dp").map(|s| s.len()));
        keys.join().unwrap().unwrap_or(0) == 2
            && b.ok(&["get", "bond0", "xmit_hash_policy"]).contains("layer2+3")
    });
    xor_round(7000, true, XmitHashPolicy::Layer23);
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    xor_round(8000, false, XmitHashPolicy::Layer23);
    let said = std::fs::read_to_string(log).unwrap_or_default();
    assert!(!said.contains("go through the data threads instead"), "{said}");
}

/// Sends 512 IPv4 frames from the bond's address `bond` through bond0 of namespace `b`, to
/// every destination (the octets the hashes read vary: the destination MAC's last, the
/// destination IP's first), and checks at namespace `a` that each left once: by `e1`
/// unchanged, or by `e2` with the address `e2`. Returns how many left by `e2`.
fn through_bond_by_source(
    b: &str,
    a: &str,
    rng: &mut Rng,
    bond: MacAddr,
    e2: MacAddr,
    first: u32,
) -> usize {
    let sends: Vec<_> = (first..first + 512)
        .map(|id| {
            let mut f = frame(rng, id);
            f[0] &= !1;
            f[5] = id as u8;
            f[6..12].copy_from_slice(&bond.0);
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            f[30] = (id >> 1) as u8;
            ("bond0".to_string(), f)
        })
        .collect();
    let left = send_and_watch_sources(b, a, &["e1", "e2"], false, sends, 512);
    let mut by = BTreeMap::new();
    for (id, m, src) in left {
        assert!(by.insert(id, (m, src)).is_none(), "frame {id} left twice");
    }
    assert_eq!(by.len(), 512, "every frame left");
    for (id, (m, src)) in &by {
        let want = if *m == 0 { bond } else { e2 };
        assert_eq!(src, &want.0, "frame {id} left by e{} with the source {want}", m + 1);
    }
    by.values().filter(|(m, _)| *m == 1).count()
}

/// balance-alb's transmit on the userspace path: its balanced IPv4 frames go by the nftables
/// table (the bucket computed in the kernel), the rest by the data threads; each frame once,
/// by the active slave e1 unchanged or by e2 with e2's address; with no daemon, the table
/// alone sends them.
#[test]
fn balance_alb_transmits_through_the_kernel() {
    if !can_run() {
        return;
    }
    let (a, mut b) = user_pair("ktxalb");
    b.ok(&["add", "bond0", "mode=balance-alb", "miimon=50"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "e1 active", |r| active_of(r) == "e1");
    let ns = b.ns.clone();
    let refused = || {
        let log = std::fs::read_to_string(b.dir.join("daemon.log")).unwrap_or_default();
        log.contains("go through the data threads instead")
    };
    wait_for(Duration::from_secs(10), "balance-alb's table", || {
        let ns = ns.clone();
        let routes =
            in_netns(&ns, || ubond_sys::nft_tx::sent("bond0-dp").map(|s| s.len())).join().unwrap();
        routes.is_ok_and(|n| n == 256) || refused()
    });
    if refused() {
        eprintln!("skipped: the kernel refused the table");
        return;
    }
    // Every bucket is e1's at first (no load anywhere); the table's first clear (10 s) starts
    // e1's load from the frames it sent unbalanced (the kernel's own IPv6 ones), and the
    // buckets then go to e2 as well.
    std::thread::sleep(Duration::from_millis(10_500));
    let bond: MacAddr = mac_of(&b, "bond0").parse().unwrap();
    let e2: MacAddr = mac_of(&b, "e2").parse().unwrap();
    let mut rng = Rng(0xa1b_0001);
    let (bns, ans) = (b.ns.clone(), a.ns.clone());
    assert!(through_bond_by_source(&bns, &ans, &mut rng, bond, e2, 0) > 0, "some left by e2");
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(through_bond_by_source(&bns, &ans, &mut rng, bond, e2, 1000) > 0, "no daemon");
}

/// balance-rr's transmit on the userspace path: its untagged frames but IGMP leave by the
/// nftables table's counter (counted there), by one slave and then the other, and in runs of
/// two once `packets_per_slave` is 2; IGMP leaves by one slave (the IGMP slave), tagged frames
/// by the data threads; each frame once. With no daemon, the table alone sends (the other
/// frames go nowhere); the next daemon puts its own table there; the bond deleted, it goes.
#[test]
fn balance_rr_transmits_through_the_kernel() {
    if !can_run() {
        return;
    }
    let (a, mut b) = user_pair("ktxrr");
    b.ok(&["add", "bond0", "mode=balance-rr", "miimon=50"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    // No frames of the kernel's own (IPv6's) between the test's, so that the count is theirs.
    must(&["ip", "netns", "exec", &b.ns, "sysctl", "-qw", "net.ipv6.conf.bond0.disable_ipv6=1"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up", |r| {
        r.matches("MII Status: up").count() == 3
    });
    let ns = b.ns.clone();
    let routes = move || {
        let ns = ns.clone();
        in_netns(&ns, || ubond_sys::nft_tx::sent("bond0-dp")).join().unwrap().unwrap_or_default()
    };
    let refused = |b: &Side| {
        let log = std::fs::read_to_string(b.dir.join("daemon.log")).unwrap_or_default();
        log.contains("go through the data threads instead")
    };
    wait_for(Duration::from_secs(10), "balance-rr's table", || routes().len() == 2 || refused(&b));
    if refused(&b) {
        eprintln!("skipped: the kernel refused the table");
        return;
    }
    let (ans, bns) = (a.ns.clone(), b.ns.clone());
    let mut rng = Rng(0x4242_7272);
    // Sends 400 frames through the bond (one in six IGMP) and checks where they left.
    let mut round = |first: u32, per: usize, daemon: bool| {
        let sent_before: u64 = routes().iter().map(|r| r.1).sum();
        let (mut sends, mut kind, mut igmp) = (Vec::new(), Vec::new(), Vec::new());
        for id in first..first + 400 {
            let mut f = any_frame(&mut rng, id);
            if rng.next() % 6 == 0 {
                as_igmp(&mut rng, &mut f);
            }
            if rr_kind(&f) {
                kind.push(id);
            } else if f[12..14] == [0x08, 0x00] {
                igmp.push(id);
            }
            sends.push(("bond0".to_string(), f));
        }
        let expected = if daemon { 400 } else { kind.len() };
        let mut on: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (id, m) in send_and_watch(&bns, &ans, &["e1", "e2"], false, sends, expected) {
            on.entry(id).or_default().push(m);
        }
        assert_eq!(on.len(), expected, "every frame the bond sends left (daemon: {daemon})");
        assert!(on.values().all(|m| m.len() == 1), "each once");
        // The count runs on by one per frame of the kind: slave `((start + i) / per) % 2`.
        let by: Vec<usize> = kind.iter().map(|id| on[id][0]).collect();
        let follows =
            |start: usize| by.iter().enumerate().all(|(i, &m)| m == (start + i) / per % 2);
        assert!((0..2 * per).any(follows), "per {per}, round robin: {by:?}");
        if daemon {
            let igmp_by: BTreeSet<usize> = igmp.iter().map(|id| on[id][0]).collect();
            assert_eq!(igmp_by.len(), 1, "IGMP by the IGMP slave alone");
        }
        let counted = routes().iter().map(|r| r.1).sum::<u64>() - sent_before;
        assert!(counted >= kind.len() as u64, "the table sent {counted} of {}", kind.len());
    };
    round(0, 1, true);
    b.ok(&["set", "bond0", "packets_per_slave", "2"]);
    wait_for(Duration::from_secs(5), "the table of four routes", || routes().len() == 4);
    round(1000, 2, true);
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    round(2000, 2, false);
    b.start_daemon_with(&["--datapath", "user"]);
    wait_for(Duration::from_secs(20), "the next daemon's table", || routes().len() == 4);
    round(3000, 2, true);
    assert!(!refused(&b), "the kernel took the tables");
    b.ok(&["del", "bond0"]);
    let left = in_netns(&b.ns, || ubond_sys::nft_tx::present("bond0-dp")).join().unwrap();
    assert!(!left.unwrap(), "the table went with the bond");
}

/// The ARP monitor on the userspace path: an active-backup bond's active slave hands its
/// frames to the bond through stamped filters (the data threads read none of them), and the
/// monitor keeps the slave up on the receive times the kernel kept: the far end's pings (its
/// target never answers, so they are all the traffic there is). When the far end falls
/// silent, the monitor takes the slave down.
#[test]
fn the_arp_monitor_keeps_a_slave_up_on_the_kernels_receive_times() {
    if can_run() {
        arp_monitor_on_the_kernels_times("krxarp", &[]);
    }
}

/// The same with `fail_over_mac=active`: the slaves keep addresses of their own (the bond
/// takes the active one's), so the filters also leave the frames to the backup's address to
/// the data threads.
#[test]
fn the_arp_monitor_keeps_a_slave_up_with_fail_over_mac() {
    if can_run() {
        arp_monitor_on_the_kernels_times("krxarpf", &["fail_over_mac=active"]);
    }
}

fn arp_monitor_on_the_kernels_times(test: &str, extra: &[&str]) {
    let (a, b) = user_pair(test);
    let opts = ["mode=active-backup", "arp_interval=100", "arp_ip_target=192.0.2.99"];
    b.ok(&[&["add", "bond0"][..], &opts[..], extra].concat());
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "bond0"]);
    b.ip(&["link", "set", "bond0", "up"]);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "e1"]);
    let ns = a.ns.clone();
    let pinger = std::thread::spawn(move || {
        sh(&["ip", "netns", "exec", &ns, "ping", "-q", "-i", "0.05", "-w", "5", "192.0.2.2"])
    });
    wait_report(&b, "bond0", Duration::from_secs(5), "e1 active", |r| active_of(r) == "e1");
    wait_for(Duration::from_secs(3), "the stamped filters", || node_counts(&b.ns, "e1").len() == 8);
    let o = sh(&["ip", "netns", "exec", &b.ns, "tc", "filter", "show", "dev", "e1", "ingress"]);
    let left_to_threads = String::from_utf8_lossy(&o.stdout).contains("::10 order");
    assert_eq!(left_to_threads, !extra.is_empty(), "a node for e2's own address");
    let failures = |b: &Side| slave_field(&b.report("bond0"), "e1", "Link Failure Count");
    let (before, failed) = (redirected(&b, "e1").unwrap(), failures(&b));
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(active_of(&b.report("bond0")), "e1", "the monitor took e1 down");
    }
    let by_kernel = redirected(&b, "e1").unwrap() - before;
    assert!(by_kernel >= 20, "the kernel handed up {by_kernel} frames in 2 s of pings");
    assert_eq!(failures(&b), failed, "e1 went down and up again meanwhile");
    let pinged = pinger.join().unwrap();
    assert!(pinged.status.success(), "{}", String::from_utf8_lossy(&pinged.stdout));
    wait_report(&b, "bond0", Duration::from_secs(3), "e1 down", |r| slave_mii(r, "e1") == "down");
}

/// balance-alb on the userspace path: an inactive slave's frames to its own address (a
/// client that balance-alb gave that address) reach the bond's device through the kernel as
/// the slave received them, so the bond takes them as its own (no data thread rewrites the
/// address), and every echo is answered once. The far end is a bridge, as the switch a
/// balance-alb bond needs; its client is pinned to the inactive slave's address.
#[test]
fn balance_alb_receives_a_slaves_own_frames_through_the_kernel() {
    if !can_run() {
        return;
    }
    let (a, b) = user_pair("krxalb");
    a.ip(&["link", "add", "br0", "type", "bridge"]);
    for e in ["e1", "e2"] {
        a.ip(&["link", "set", e, "master", "br0"]);
    }
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "br0"]);
    a.ip(&["link", "set", "br0", "up"]);
    b.ok(&["add", "bond0", "mode=balance-alb", "miimon=50", "primary=e1"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "bond0"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "e1 active, both up", |r| {
        active_of(r) == "e1" && r.matches("MII Status: up").count() == 3
    });
    let e2_mac = mac_of(&b, "e2");
    assert_ne!(e2_mac, mac_of(&b, "bond0"), "balance-alb's slaves have addresses of their own");
    wait_for(Duration::from_secs(5), "e2's redirect to the bond's device", || {
        redirected_to(&b, "e2", "bond0").is_some()
    });
    let before = redirected_to(&b, "e2", "bond0").unwrap();
    a.ip(&["neigh", "replace", "192.0.2.2", "lladdr", &e2_mac, "dev", "br0", "nud", "permanent"]);
    // A switch that knows where e2 is: no copy flooded to e1 (which the bond would take as its
    // own too, as every data path does with a frame to another slave's address).
    let fdb = ["fdb", "replace", &e2_mac, "dev", "e2", "master", "static"];
    must(&[&["ip", "netns", "exec", &a.ns, "bridge"][..], &fdb[..]].concat());
    let o = sh(&[
        "ip",
        "netns",
        "exec",
        &a.ns,
        "ping",
        "-c",
        "20",
        "-i",
        "0.05",
        "-W",
        "1",
        "192.0.2.2",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("20 received"), "{text}");
    assert!(!text.contains("DUP!"), "an echo answered twice: {text}");
    let by_kernel = redirected_to(&b, "e2", "bond0").unwrap() - before;
    assert!(
        by_kernel >= 20,
        "the kernel handed up {by_kernel} of e2's frames: the data threads did"
    );

    // Frames to e2's address that reach e1 (a switch floods them while it does not know
    // where e2 is): the data threads deliver them, with the bond's address, as every data
    // path does; and the ones that reach e2 go up through the kernel. Each once.
    let e2: MacAddr = e2_mac.parse().unwrap();
    let mut rng = Rng(0xa1b_4b52);
    let sends: Vec<_> = (0..40)
        .map(|id| {
            let mut f = frame(&mut rng, id);
            f[..6].copy_from_slice(&e2.0);
            (if id % 2 == 0 { "e1" } else { "e2" }.to_string(), f)
        })
        .collect();
    let mut got = send_and_collect(&a.ns, &b.ns, "bond0", sends, 40);
    got.sort_unstable();
    assert_eq!(got, (0..40).collect::<Vec<u32>>(), "each frame once");

    // In a bridge, the bond's frames to e2's address would be forwarded, not taken: the data
    // threads take e2 back (and rewrite them), and give it up again when the bond leaves it.
    b.ip(&["link", "add", "brb", "type", "bridge"]);
    b.ip(&["link", "set", "bond0", "master", "brb"]);
    wait_for(Duration::from_secs(5), "no redirect as received under a bridge", || {
        redirected_to(&b, "e2", "bond0").is_none()
    });
    b.ip(&["link", "set", "bond0", "nomaster"]);
    wait_for(Duration::from_secs(5), "the redirect as received again", || {
        redirected_to(&b, "e2", "bond0").is_some()
    });

    // Failover: e1 loses its carrier and e2 takes the bond's address (balance-alb swaps
    // them). The filters follow the addresses: the client, still pinned to e2's old address
    // (now e1's), reaches the bond through e2, whose data threads take those frames and
    // rewrite them; e2's own frames (the bond's address now) go up through the kernel.
    a.ip(&["link", "set", "e1", "down"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "e2 active", |r| active_of(r) == "e2");
    assert_eq!(mac_of(&b, "e2"), mac_of(&b, "bond0"), "e2 has the bond's address");
    assert_eq!(mac_of(&b, "e1"), e2_mac, "e1 has e2's");
    let fdb = ["fdb", "del", &e2_mac, "dev", "e2", "master", "static"];
    must(&[&["ip", "netns", "exec", &a.ns, "bridge"][..], &fdb[..]].concat());
    wait_for(Duration::from_secs(10), "a ping after the failover", || ping(&a, "192.0.2.2"));
    a.ip(&["neigh", "del", "192.0.2.2", "dev", "br0"]);
    wait_for(Duration::from_secs(10), "a ping to the bond's address", || ping(&a, "192.0.2.2"));
    // e2's address is the bond's now: its frames go to the data-path end, as any bond's.
    assert_eq!(redirected_to(&b, "e2", "bond0"), None, "no redirect to the bond's device");
    let by_kernel = redirected_to(&b, "e2", "bond0-dp").unwrap();
    assert!(by_kernel > 0, "e2's own frames go up through the kernel");
}

/// A TCP segment's frame (without the marker) of one of the kinds the table of copies must
/// tell apart: over IPv4 with any TCP header length (options of random octets) and 0 to 60
/// octets of payload, the IP length sometimes wrong, the frame sometimes cut inside the TCP
/// header; with IP options; over IPv6; a fragment; any other frame ([`any_frame`]'s, the
/// marker then in it already).
fn copy_candidate(rng: &mut Rng, id: u32) -> Vec<u8> {
    let words = 5 + usize::from(rng.byte() % 11);
    let mut tcp = rng.bytes::<60>()[..words * 4].to_vec();
    tcp[12] = (words as u8) << 4 | (tcp[12] & 0x0f);
    let payload = if rng.next() % 3 == 0 { 0 } else { 1 + rng.next() as usize % 60 };
    tcp.extend((0..payload).map(|_| rng.byte()));
    let df = if rng.byte() & 1 == 0 { 0x4000 } else { 0 };
    let mut ip = ipv4(rng, 6, df, &tcp);
    let total = ip.len() as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let ethertype: u16 = match rng.next() % 14 {
        0 => {
            // The IP length says less, or more, than there is.
            let total = rng.next() as u16 % (ip.len() as u16 + 8);
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            0x0800
        }
        1 | 2 => {
            // Cut inside the TCP header (the marker follows).
            ip.truncate(20 + rng.next() as usize % (words * 4));
            0x0800
        }
        3 => {
            // IP options: the data threads' (`Receive::OtherTcp`).
            let ihl = 6 + rng.byte() % 10;
            let options: Vec<u8> = (0..(usize::from(ihl) - 5) * 4).map(|_| 1).collect();
            ip.splice(20..20, options);
            ip[0] = 0x40 | ihl;
            let total = ip.len() as u16;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            0x0800
        }
        4 => {
            ip = ipv6(rng, 6, &tcp);
            let len = tcp.len() as u16;
            ip[4..6].copy_from_slice(&len.to_be_bytes());
            0x86dd
        }
        5 => {
            // A fragment: more to come, or a later one.
            let frag = if rng.byte() & 1 == 0 { 0x2000 } else { 0x0001 | u16::from(rng.byte()) };
            ip[6..8].copy_from_slice(&frag.to_be_bytes());
            0x0800
        }
        6 => return any_frame(rng, id),
        _ => 0x0800,
    };
    let mut f = vec![0x02, 0x22, 0, 0, rng.byte(), rng.byte(), 0x02, 0x11, 0, 0, 0, rng.byte()];
    if rng.byte() % 8 == 0 {
        f[0] |= 1;
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(&ip);
    f
}

/// Whether the data threads take `f` from a slave that hands its TCP to the table of copies
/// (`Receive::OtherTcp`): TCP the table's kind leaves, as long as tc's filter reads.
fn threads_take_tcp(f: &[u8]) -> bool {
    match f.get(12..14) {
        Some([0x08, 0x00]) => {
            f.len() >= 26 && f[14] != 0x45 && f[23] == 6 && (f[20] & 0x3f, f[21]) == (0, 0)
        }
        Some([0x86, 0xdd]) => f.len() >= 22 && f[20] == 6,
        _ => false,
    }
}

/// Broadcast's copies on the userspace path, in the kernel (`RxMatch::AllButTcp` and
/// `nft_rx`): two slaves receive the frames of TCP segments of every kind, one to three times
/// each on either slave, as from a broadcast partner; each arrival goes up the bond or is
/// discarded exactly as the core's rule decides (`RxPlan::discards_copy`, a table per
/// segment: the kernel's map has no slots to share), the TCP the table does not take reaches
/// the data threads' sockets instead, once; 200 ms later (past the window) the same segments
/// on the other slave go up again, and their copies do not.
#[test]
fn broadcasts_copies_go_up_once_as_the_core_decides() {
    use ubond_core::bond::copies::{CopyKey, RxCopies, COPY_WINDOW};
    use ubond_sys::nft_rx::{self, CopiesSlave};

    if !can_run() {
        return;
    }
    let s = side("kcopy", "a");
    for i in 1..=2 {
        s.ip(&["link", "add", &format!("p{i}"), "type", "veth", "peer", "name", &format!("s{i}")]);
    }
    s.ip(&["link", "add", "bondx", "type", "veth", "peer", "name", "endx"]);
    for i in ["p1", "s1", "p2", "s2", "bondx", "endx"] {
        s.ip(&["link", "set", i, "up"]);
    }
    let put = in_netns(&s.ns, || {
        let end = link::ifindex("endx").unwrap();
        let slaves: Vec<CopiesSlave> = ["s1", "s2"]
            .map(|name| CopiesSlave {
                name: name.to_string(),
                ifindex: link::ifindex(name).unwrap(),
            })
            .to_vec();
        nft_rx::put("endx", end, &slaves, COPY_WINDOW)?;
        for s in &slaves {
            redirect::redirect(&s.name, s.ifindex, RxMatch::AllButTcp, RxTo::End(end))?;
        }
        Ok::<_, ubond_sys::SysError>(slaves.iter().map(|s| s.ifindex).collect::<Vec<u32>>())
    })
    .join()
    .unwrap();
    let members = match put {
        Ok(m) => m,
        Err(e) => {
            // A kernel without nftables' dynamic maps: the daemon leaves broadcast's frames to
            // its data threads (said).
            eprintln!("skipped: {e}");
            return;
        }
    };
    assert!(in_netns(&s.ns, || nft_rx::present("endx").unwrap()).join().unwrap());
    let threads = [
        socket_takes(&s.ns, "s1", Receive::OtherTcp),
        socket_takes(&s.ns, "s2", Receive::OtherTcp),
    ];

    // The core's decision, per segment, for arrivals at `now` (the two rounds are 1 s apart
    // for it, 200 ms in fact: both well past the window; within a round, a few ms).
    let plan = RxPlan { deliver: vec![SlaveId(1), SlaveId(2)], copies: true, ..RxPlan::default() };
    let mut tables: Vec<(CopyKey, RxCopies)> = Vec::new();
    let mut goes_up = |f: &[u8], member: u32, now: u64| {
        let Some(key) = CopyKey::of(1, f) else { return true };
        let at = tables.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
            tables.push((key, RxCopies::default()));
            tables.len() - 1
        });
        let now = ubond_core::time::Instant::from_millis(now);
        !plan.discards_copy(&mut tables[at].1, 1, member, f, now)
    };
    let mut rng = Rng(0xc0b1e5);
    let (mut frames, mut segments) = (BTreeMap::new(), Vec::new());
    let mut id = 0u32;
    // One round: each segment's arrivals (slave 0 or 1); what goes up the bond and what the
    // sockets take.
    let mut round =
        |rows: &[(Vec<u8>, Vec<usize>)], now: u64, frames: &mut BTreeMap<u32, Vec<u8>>| {
            let (mut sends, mut up, mut taken) =
                (Vec::new(), BTreeSet::new(), [BTreeSet::new(), BTreeSet::new()]);
            for (segment, arrivals) in rows {
                for &m in arrivals {
                    let mut f = segment.clone();
                    if id_of(&f).is_none() {
                        f.extend_from_slice(MAGIC);
                        f.extend_from_slice(&id.to_le_bytes());
                    }
                    let fid = id_of(&f).unwrap();
                    if threads_take_tcp(&f) {
                        taken[m].insert(fid);
                    } else if is_data_frame(&f) && goes_up(&f, members[m], now) {
                        up.insert(fid);
                    }
                    sends.push((format!("p{}", m + 1), f.clone()));
                    frames.insert(fid, f);
                    id += 1;
                }
            }
            (sends, up, taken)
        };
    for _ in 0..300 {
        let segment = copy_candidate(&mut rng, 100_000 + segments.len() as u32);
        let first = rng.next() as usize % 2;
        let arrivals = match rng.next() % 6 {
            0 => vec![first],
            1 | 2 => vec![first, 1 - first],
            3 => vec![first, first],
            4 => vec![first, 1 - first, first],
            _ => vec![first, 1 - first, 1 - first],
        };
        segments.push((segment, arrivals));
    }
    // any_frame's frames carry their number already: once each.
    segments.iter_mut().filter(|(f, _)| id_of(f).is_some()).for_each(|(_, a)| a.truncate(1));
    let (sends, up, taken) = round(&segments, 0, &mut frames);
    let by_threads = taken[0].len() + taken[1].len();
    assert!(up.len() > 200 && by_threads > 20, "{} up, {by_threads} to the threads", up.len());
    assert!(sends.len() - up.len() - by_threads > 100, "{} discarded", sends.len() - up.len());
    // The sender on one CPU: the kernel takes its frames in the order sent.
    let mut one_cpu = rustix::thread::CpuSet::new();
    one_cpu.set(0);
    rustix::thread::sched_setaffinity(None, &one_cpu).unwrap();
    let got = send_and_collect(&s.ns, &s.ns, "bondx", sends, up.len());
    assert_same(&got, &frames, &up);
    for (i, t) in threads.into_iter().enumerate() {
        let mut got: Vec<u32> = t.join().unwrap();
        got.sort();
        let want: Vec<u32> = taken[i].iter().copied().collect();
        assert_eq!(got, want, "what the data threads' socket on s{} took", i + 1);
    }

    // Past the window: each segment of the kind again on the other slave goes up, its copy
    // right after on the first does not.
    std::thread::sleep(Duration::from_millis(200));
    let again: Vec<(Vec<u8>, Vec<usize>)> = segments
        .iter()
        .filter(|(f, _)| id_of(f).is_none())
        .take(100)
        .map(|(f, a)| (f.clone(), vec![1 - a[0], a[0]]))
        .collect();
    let (sends, up, _) = round(&again, 1000, &mut frames);
    let got = send_and_collect(&s.ns, &s.ns, "bondx", sends, up.len());
    assert_same(&got, &frames, &up);
    in_netns(&s.ns, || nft_rx::clear("endx").unwrap()).join().unwrap();
    assert!(!in_netns(&s.ns, || nft_rx::present("endx").unwrap()).join().unwrap());
}

/// A TCP segment over IPv4 to `dst` (without the marker): random addresses, ports, sequence
/// and other header fields, a header of 32 octets, `payload` octets of payload.
fn tcp_segment_to(rng: &mut Rng, dst: MacAddr, payload: usize) -> Vec<u8> {
    let mut tcp = rng.bytes::<32>().to_vec();
    tcp[12] = 8 << 4;
    tcp.extend(std::iter::repeat_n(0xab, payload));
    let mut ip = ipv4(rng, 6, 0x4000, &tcp);
    let total = ip.len() as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let mut f = dst.0.to_vec();
    f.extend_from_slice(&[0x02, 0x11, 0, 0, 0, 1, 0x08, 0x00]);
    f.extend_from_slice(&ip);
    f
}

/// A broadcast bond on the userspace path discards its copies in the kernel: its slaves'
/// TCP over IPv4 goes through the table of copies, which the daemon puts there; each segment
/// that arrives on both members goes up once (the first), a segment without payload (a pure
/// ACK) every time, with a daemon, with none (SIGKILL: the kernel alone), and with the next
/// daemon; the table goes with the bond.
#[test]
fn a_broadcast_bond_discards_copies_in_the_kernel() {
    if !can_run() {
        return;
    }
    let (a, mut b) = user_pair("kcopyd");
    b.ok(&["add", "bond0", "mode=broadcast", "miimon=50"]);
    b.ok(&["enslave", "bond0", "e1", "e2"]);
    b.ip(&["link", "set", "bond0", "up"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up", |r| {
        r.matches("MII Status: up").count() == 3
    });
    let table = |b: &Side| {
        in_netns(&b.ns, || ubond_sys::nft_rx::present("bond0-dp").unwrap()).join().unwrap()
    };
    let refused = |b: &Side| {
        std::fs::read_to_string(b.dir.join("daemon.log"))
            .unwrap_or_default()
            .contains("broadcast's TCP goes through the data threads")
    };
    wait_for(Duration::from_secs(10), "the table of copies", || table(&b) || refused(&b));
    if refused(&b) {
        eprintln!("skipped: the kernel refused the table of copies");
        return;
    }
    let bond: MacAddr = mac_of(&b, "bond0").parse().unwrap();
    let mut rng = Rng(0x0b0c_09e5);
    // 150 TCP segments to the bond, each on e1 then on e2 (a third of them without payload);
    // the frames that go up are the first of each segment with payload, both of the others.
    let (ans, bns) = (a.ns.clone(), b.ns.clone());
    let mut round = |first: u32| {
        let (mut sends, mut up, mut frames) = (Vec::new(), BTreeSet::new(), BTreeMap::new());
        for n in 0..150u32 {
            let payload = if n % 3 == 0 { 0 } else { 100 };
            let seg = tcp_segment_to(&mut rng, bond, payload);
            for (copy, member) in ["e1", "e2"].into_iter().enumerate() {
                let id = first + 2 * n + copy as u32;
                let mut f = seg.clone();
                f.extend_from_slice(MAGIC);
                f.extend_from_slice(&id.to_le_bytes());
                if copy == 0 || payload == 0 {
                    up.insert(id);
                }
                sends.push((member.to_string(), f.clone()));
                frames.insert(id, f);
            }
        }
        let got = send_and_collect(&ans, &bns, "bond0", sends, up.len());
        assert_same(&got, &frames, &up);
    };
    let mut one_cpu = rustix::thread::CpuSet::new();
    one_cpu.set(0);
    rustix::thread::sched_setaffinity(None, &one_cpu).unwrap();
    round(0);
    // With no daemon, the kernel alone.
    let mut child = b.daemon.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(table(&b), "the table stays while no daemon runs");
    round(1000);
    // The next daemon takes the table off, then puts its own there.
    b.start_daemon_with(&["--datapath", "user"]);
    wait_report(&b, "bond0", Duration::from_secs(10), "both up again", |r| {
        r.matches("MII Status: up").count() == 3
    });
    wait_for(Duration::from_secs(10), "the table of copies again", || table(&b));
    round(2000);
    // A slave released leaves the table: its frames no longer reach the bond.
    b.ok(&["release", "bond0", "e2"]);
    let sends: Vec<(String, Vec<u8>)> = (3000..3020u32)
        .map(|id| {
            let mut f = tcp_segment_to(&mut rng, bond, 100);
            f.extend_from_slice(MAGIC);
            f.extend_from_slice(&id.to_le_bytes());
            ("e2".to_string(), f)
        })
        .collect();
    let got = send_and_collect(&a.ns, &b.ns, "bond0", sends, 0);
    assert!(got.is_empty(), "{} frames of a released slave went up the bond", got.len());
    b.ok(&["del", "bond0"]);
    assert!(!table(&b), "the table went with the bond");
}
