//! Named namespaces, veth pairs across them and ICMP echo, made without iproute2 or ping, as
//! `ubond demo` does. NEEDS ROOT (fails without it). Two namespaces of the test's own joined
//! by one veth pair, 192.0.2.0/24 only; both are deleted at the end, also on failure.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use ubond_sys::icmp::IcmpSocket;
use ubond_sys::netns::NetNs;
use ubond_sys::{addr, link};

/// Deletes the namespaces when the test ends, however it ends.
struct Guard(Vec<String>);

impl Drop for Guard {
    fn drop(&mut self) {
        for name in &self.0 {
            if let Ok(ns) = NetNs::open(name) {
                let _ = ns.delete();
            }
        }
    }
}

/// An ICMP echo request: type 8, code 0, checksum, identifier, sequence number, payload.
fn echo(id: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(b"ubond-sys test");
    let sum = ubond_wire::icmp::icmpv4_checksum(&m);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

#[test]
fn namespaces_veths_and_echo_without_tools() {
    common::require_root("namespaces_veths_and_echo_without_tools");
    let names = [0, 1].map(|i| format!("ubs-ns-{}-{i}", std::process::id()));
    let guard = Guard(names.to_vec());
    let a = NetNs::create(&names[0]).expect("create a");
    let b = NetNs::create(&names[1]).expect("create b");
    assert!(NetNs::create(&names[0]).is_err(), "a second namespace of one name");
    // iproute2 sees them.
    let listed = Command::new("ip").args(["netns", "list"]).output().map(|o| o.stdout);
    if let Ok(out) = listed {
        let out = String::from_utf8_lossy(&out);
        assert!(names.iter().all(|n| out.contains(n.as_str())), "{out}");
    }

    let b_file = b.file().expect("b's file");
    a.run(|| {
        use std::os::fd::AsFd;
        link::add_veth("va", "vb", Some(b_file.as_fd())).expect("add veth");
        link::set_up("lo", true).expect("lo up");
        link::set_up("va", true).expect("va up");
        addr::add_address("va", IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 24).expect("address");
        assert!(link::ifindex("vb").is_err(), "the peer went to b");
    })
    .expect("in a");
    b.run(|| {
        link::set_up("vb", true).expect("vb up");
        addr::add_address("vb", IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 24).expect("address");
    })
    .expect("in b");

    let sock = a.run(IcmpSocket::open).expect("in a").expect("icmp socket");
    let id = std::process::id() as u16;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answered = false;
    let mut seq = 0u16;
    while !answered && Instant::now() < deadline {
        seq += 1;
        sock.send_to(&echo(id, seq), Ipv4Addr::new(192, 0, 2, 2)).expect("send");
        let mut buf = [0u8; 2048];
        let until = Instant::now() + Duration::from_millis(200);
        while let Some(n) =
            sock.recv(&mut buf, until.saturating_duration_since(Instant::now())).expect("recv")
        {
            let ihl = usize::from(buf[0] & 0x0f) * 4;
            let icmp = &buf[ihl..n];
            if icmp[0] == 0 && icmp[4..6] == id.to_be_bytes() {
                answered = true;
                break;
            }
        }
    }
    assert!(answered, "no echo reply from 192.0.2.2");

    // A process started inside b sees b's interfaces.
    let mut cmd = Command::new("cat");
    cmd.arg("/proc/self/net/dev").stdout(std::process::Stdio::piped());
    let out = b.spawn(&mut cmd).expect("spawn").wait_with_output().expect("wait");
    let dev = String::from_utf8_lossy(&out.stdout);
    assert!(dev.contains("vb:") && !dev.contains("va:"), "{dev}");

    a.delete().expect("delete a");
    b.delete().expect("delete b");
    for n in &names {
        assert!(!std::path::Path::new("/run/netns").join(n).exists(), "{n} is still there");
    }
    drop(guard);
}
