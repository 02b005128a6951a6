//! Addresses, default routes and veth peers against the real kernel, in a network namespace of
//! the test's own. NEEDS ROOT (fails without it). Addresses from 192.0.2.0/24 only, on a
//! veth pair; nothing routes out of the namespace.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::Netns;
use ubond_sys::{addr, link};

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
