//! Addresses (listed and listened to), default routes and veth peers against the real kernel,
//! in a network namespace of the test's own. NEEDS ROOT (fails without it). Addresses from
//! 192.0.2.0/24 and 2001:db8::/32 only, on a veth pair; nothing routes out of the namespace.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{wait_for, Netns};
use ubond_sys::addr::{self, AddrMonitor};
use ubond_sys::link;

fn v4(a: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, a))
}

#[test]
fn addresses_and_default_route_are_added_once() {
    let ns = Netns::new("addresses_and_default_route_are_added_once");
    ns.ip("link add va type veth peer name vb");
    ns.ip("link set va up");
    ns.run(|| {
        assert_eq!(
            addr::addresses("va").expect("list").iter().filter(|(a, _)| a.is_ipv4()).count(),
            0
        );
        assert!(addr::add_address("va", v4(10), 24).expect("add"), "added");
        assert!(!addr::add_address("va", v4(10), 24).expect("add again"), "already there");
        assert!(addr::add_address("va", v4(11), 24).expect("add second"));
        let v: Vec<(IpAddr, u8)> =
            addr::addresses("va").expect("list").into_iter().filter(|(a, _)| a.is_ipv4()).collect();
        assert_eq!(v, [(v4(10), 24), (v4(11), 24)]);
        assert!(addr::add_address("va", v4(12), 33).is_err(), "prefix /33 refused");

        assert!(addr::default_gateways("va").expect("routes").is_empty());
        assert!(addr::add_default_route("va", v4(1)).expect("route"));
        assert!(!addr::add_default_route("va", v4(254)).expect("route again"), "one default");
        assert_eq!(addr::default_gateways("va").expect("routes"), [v4(1)]);
        // A gateway outside every subnet of the interface: the kernel's error, named.
        let e =
            addr::add_default_route("vb", v4(99)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("add default route") && e.contains("vb"), "{e}");
        assert!(addr::addresses("nope0").is_err());
    });
    let shown = ns.exec(&["ip", "-4", "-o", "addr", "show", "dev", "va"]);
    assert!(shown.contains("192.0.2.10/24 brd 192.0.2.255"), "{shown}");
}

#[test]
fn veth_peer_is_found_in_the_same_namespace_only() {
    let ns = Netns::new("veth_peer_is_found_in_the_same_namespace_only");
    let other = Netns::new("veth_peer_is_found_in_the_same_namespace_only-2");
    ns.ip("link add va type veth peer name vb");
    ns.ip(&format!("link add vc type veth peer name vd netns {}", other.name()));
    ns.ip("link add br9 type bridge");
    ns.run(|| {
        let vb = link::ifindex("vb").expect("vb");
        assert_eq!(link::veth_peer("va").expect("va"), Some(vb));
        assert_eq!(link::veth_peer("vc").expect("vc"), None, "peer in another namespace");
        assert_eq!(link::veth_peer("br9").expect("br9"), None, "not a veth");
        assert!(link::veth_peer("nope0").is_err());
    });
}

#[test]
fn address_changes_are_heard_and_listed_by_index() {
    let ns = Netns::new("address_changes_are_heard_and_listed_by_index");
    ns.ip("link add va type veth peer name vb");
    ns.ip("link set va up");
    let mut monitor = ns.run(|| AddrMonitor::new().expect("monitor"));
    let va = ns.run(|| {
        // The namespace starts without IPv6; this interface gets it back, without duplicate
        // address detection (whose end would be one more notification, late).
        std::fs::write("/proc/sys/net/ipv6/conf/va/accept_dad", "0").expect("no DAD on va");
        std::fs::write("/proc/sys/net/ipv6/conf/va/disable_ipv6", "0").expect("ipv6 on va");
        link::ifindex("va").expect("va")
    });
    let heard = |monitor: &mut AddrMonitor| {
        wait_for("an address notification", Duration::from_secs(10), || {
            monitor.drain().then_some(())
        })
    };
    while monitor.drain() {}
    assert!(!monitor.drain(), "nothing new");

    ns.ip("addr add 192.0.2.20/24 dev va");
    heard(&mut monitor);
    ns.ip("addr add 192.0.2.21/25 dev va");
    ns.ip("addr add 2001:db8::20/64 dev va nodad");
    let listed = ns.run(|| addr::ip_addresses(va).expect("list"));
    assert_eq!(listed.v4, [Ipv4Addr::new(192, 0, 2, 20), Ipv4Addr::new(192, 0, 2, 21)]);
    let v6: Ipv6Addr = "2001:db8::20".parse().expect("address");
    assert!(listed.v6.contains(&v6), "{listed:?}");
    assert!(listed.v6.iter().all(|a| a.segments()[0] == 0x2001 || a.is_unicast_link_local()));

    while monitor.drain() {}
    ns.ip("addr del 192.0.2.20/24 dev va");
    heard(&mut monitor);
    let listed = ns.run(|| addr::ip_addresses(va).expect("list"));
    assert_eq!(listed.v4, [Ipv4Addr::new(192, 0, 2, 21)]);
    // Another interface's addresses are not va's, and an index nobody has has none.
    let vb = ns.run(|| link::ifindex("vb").expect("vb"));
    assert!(ns.run(|| addr::ip_addresses(vb).expect("list")).v4.is_empty());
    assert_eq!(ns.run(|| addr::ip_addresses(u32::MAX).expect("list")), Default::default());
}
