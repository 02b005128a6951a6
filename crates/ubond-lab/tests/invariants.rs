//! The invariant checker catches a real violation and names the seed and time.

use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::options::{BondOptions, Mode};
use ubond_lab::bridge::LinuxBridge;
use ubond_lab::host::{Host, NicModel};
use ubond_lab::sim::{Node, PortRef, Sim};
use ubond_wire::MacAddr;

/// broadcast mode sends every frame on every slave; with both slaves on one bridge the peer
/// receives each frame twice: "no frame delivered twice" must fire.
#[test]
#[should_panic(expected = "invariant violated (seed 77, t=")]
fn broadcast_mode_on_one_bridge_delivers_twice() {
    let mut sim = Sim::new(77);
    let mut o = BondOptions::new();
    o.mode = Mode::Broadcast;
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
    sim.host_mut(a).start_ping(now, Ipv4Addr::new(10, 0, 0, 2), Duration::from_secs(1), 3);
    sim.poke(a);
    sim.run_for(Duration::from_secs(5));
}
