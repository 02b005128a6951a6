//! The invariant checker catches a real violation and names the seed and time.

use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::options::{BondOptions, Mode};
use ubond_lab::bridge::LinuxBridge;
use ubond_lab::host::{Host, NicModel};
use ubond_lab::sim::{Node, PortRef, Sim};
use ubond_wire::MacAddr;

/// hostA's two NICs on one bridge, in `mode`; hostB pings it through the bridge.
fn two_nics_on_one_bridge(mode: Mode) -> Sim {
    let mut sim = Sim::new(77);
    let mut o = BondOptions::new();
    o.mode = mode;
    o.miimon = 100;
    let nics = [
        ("eth0", NicModel::E1000, MacAddr([2, 0, 0, 0, 0xa, 1])),
        ("eth1", NicModel::E1000, MacAddr([2, 0, 0, 0, 0xa, 2])),
    ];
    let a =
        Host::new("hostA", "bond0", o.clone(), &nics, Ipv4Addr::new(10, 0, 0, 1)).expect("host");
    let nics_b = [("eth0", NicModel::E1000, MacAddr([2, 0, 0, 0, 0xb, 1]))];
    let b = Host::new("hostB", "bond0", o, &nics_b, Ipv4Addr::new(10, 0, 0, 2)).expect("host");
    let a = sim.add_node(Node::Host(Box::new(a)));
    let b = sim.add_node(Node::Host(Box::new(b)));
    let br = sim.add_node(Node::Bridge(LinuxBridge::new("br0", 3)));
    sim.connect(PortRef { node: a, port: 0 }, PortRef { node: br, port: 0 });
    sim.connect(PortRef { node: a, port: 1 }, PortRef { node: br, port: 1 });
    sim.connect(PortRef { node: b, port: 0 }, PortRef { node: br, port: 2 });
    sim.run_for(Duration::from_secs(1));
    let now = sim.now();
    sim.host_mut(b).start_ping(now, Ipv4Addr::new(10, 0, 0, 1), Duration::from_secs(1), 3);
    sim.poke(b);
    sim.run_for(Duration::from_secs(5));
    sim
}

/// balance-rr delivers what arrives on every slave: hostB's broadcast ARP request, flooded
/// by the bridge to both of hostA's NICs, comes up twice — the checker must say so, with the
/// seed and the time, and the run must stop there.
#[test]
fn a_frame_flooded_to_two_slaves_is_delivered_twice() {
    let sim = two_nics_on_one_bridge(Mode::BalanceRr);
    let v = sim.violation().expect("a violation");
    assert!(v.starts_with("invariant violated (seed 77, t="), "{v}");
    assert!(v.contains("hostA: frame #") && v.contains("delivered twice"), "{v}");
    assert!(
        sim.now() < ubond_core::time::Instant::ZERO + Duration::from_secs(6),
        "run did not stop"
    );
}

/// active-backup drops what arrives on the backup slave: the same flood is delivered once.
#[test]
fn active_backup_delivers_the_flood_once() {
    let sim = two_nics_on_one_bridge(Mode::ActiveBackup);
    assert_eq!(sim.violation(), None);
}
