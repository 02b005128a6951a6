//! balance-alb through a Linux bridge with two clients, as the kernel guest test does it
//! (crates/ubond/tests/kernel_vm.rs): the simulated hosts must see what the clients of the
//! real driver saw, its receive spread by ARP and the ARP frames that move a lost member's
//! clients.

use std::net::Ipv4Addr;
use std::time::Duration;

use ubond_core::time::Instant;
use ubond_lab::script::Script;
use ubond_wire::MacAddr;

const TOPOLOGY: &str = r#"
title = "balance-alb through a bridge"
seed = 14

[[host]]
name = "server"
ip = "192.0.2.2"
nics = ["eth0", "eth1"]
bond = { mode = "balance-alb", miimon = 100 }

[[host]]
name = "c1"
ip = "192.0.2.21"
nics = ["eth0"]
bond = { mode = "active-backup", miimon = 100 }

[[host]]
name = "c2"
ip = "192.0.2.22"
nics = ["eth0"]
bond = { mode = "active-backup", miimon = 100 }

[[bridge]]
name = "br0"
ports = 4

[[link]]
a = "server:eth0"
b = "br0:p1"

[[link]]
a = "server:eth1"
b = "br0:p2"

[[link]]
a = "c1:eth0"
b = "br0:p3"

[[link]]
a = "c2:eth0"
b = "br0:p4"
"#;

/// An ARP reply as a client received it: (when, Ethernet source, sender MAC, sender IP).
type Reply = (Instant, MacAddr, MacAddr, Ipv4Addr);

fn replies(frames: &[ubond_lab::pcap::Captured], to: MacAddr) -> Vec<Reply> {
    let mac = |b: &[u8]| MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]]);
    frames
        .iter()
        .map(|c| (c.at, &c.frame))
        .filter(|(_, f)| f.len() >= 42 && f[12..14] == [8, 6] && f[20..22] == [0, 2])
        .filter(|(_, f)| f[0..6] == to.0)
        .map(|(t, f)| {
            (t, mac(&f[6..12]), mac(&f[22..28]), Ipv4Addr::new(f[28], f[29], f[30], f[31]))
        })
        .collect()
}

#[test]
fn receive_spread_and_a_lost_members_clients_as_the_kernel_moves_them() {
    let script = Script::parse(TOPOLOGY).expect("parses");
    let mut lab = script.lab(script.seed()).expect("builds");
    let (server, c1, c2) = ["server", "c1", "c2"].map(|n| lab.node(n).expect("declared")).into();
    let server_ip = lab.sim.host(server).ip();
    lab.sim.run_for(Duration::from_secs(3));
    let bond = lab.sim.host(server).bond();
    let [eth0, eth1] = ["eth0", "eth1"].map(|n| bond.slave_by_name(n).expect("slave"));
    let members = [eth0, eth1].map(|s| bond.slave_mac(s).expect("mac"));
    assert_eq!(members[0], bond.mac(), "eth0 is active and has the bond's MAC");
    // Each client asks for the server's MAC in turn: the replies name one member each, the
    // first client eth0, the next one eth1 (`rlb_next_rx_slave`).
    for c in [c1, c2] {
        let now = lab.sim.now();
        lab.sim.host_mut(c).start_ping(now, server_ip, Duration::from_millis(50), 1);
        lab.sim.poke(c);
        lab.sim.run_for(Duration::from_secs(1));
        assert_eq!(lab.sim.host(c).ping_window(now, lab.sim.now()), (1, 1));
    }
    lab.sim.run_for(Duration::from_secs(3));
    let told = [c1, c2].map(|c| lab.sim.host(c).arp_entry(server_ip));
    assert_eq!(told, [Some(members[0]), Some(members[1])], "members {members:?}");

    // eth1's loss: its client is told eth0, in RLB_UPDATE_RETRY + 1 rounds of
    // RLB_ARP_BURST_SIZE replies 2.1 s apart, the first 2.1 s after the loss is seen (the
    // delay the last round left counts down again); the other client is told nothing. The
    // kernel did the same (4 rounds of 2, 2.1-2.2 s apart, the first 1.5-1.8 s after the
    // cable was pulled, its monitor's phase unknown).
    let cables = [lab.link("c1:eth0"), lab.link("c2:eth0")].map(|l| l.expect("cabled"));
    for l in cables {
        lab.sim.start_capture(l);
    }
    let cut = lab.sim.now();
    lab.sim.set_carrier(lab.link("server:eth1").expect("cabled"), false);
    lab.sim.run_for(Duration::from_secs(10));
    let [got1, got2] = cables.map(|l| lab.sim.capture(l).expect("capturing").to_vec());
    let [mac1, mac2] = [c1, c2].map(|c| lab.sim.host(c).bond().mac());
    let moved = replies(&got2, mac2);
    assert!(replies(&got1, mac1).is_empty(), "{:?}", replies(&got1, mac1));
    assert_eq!(moved.len(), 8, "{moved:?}");
    assert!(moved
        .iter()
        .all(|&(_, src, sha, ip)| src == members[0] && sha == members[0] && ip == server_ip));
    let since: Vec<u64> =
        moved.iter().map(|(t, ..)| (t.as_nanos() - cut.as_nanos()) / 100_000_000).collect();
    // In tenths of a second: the loss is seen at the next MII pass (< 0.1 s), then 21 passes.
    let first = since[0];
    assert!((21..=22).contains(&first), "{since:?}");
    assert_eq!(since, [0, 0, 21, 21, 42, 42, 63, 63].map(|d| first + d), "{since:?}");
    assert_eq!(lab.sim.host(c2).arp_entry(server_ip), Some(members[0]));
    // Both clients still reach the server.
    for c in [c1, c2] {
        let now = lab.sim.now();
        lab.sim.host_mut(c).start_ping(now, server_ip, Duration::from_millis(50), 5);
        lab.sim.poke(c);
        lab.sim.run_for(Duration::from_secs(1));
        assert_eq!(lab.sim.host(c).ping_window(now, lab.sim.now()), (5, 5));
    }
}
