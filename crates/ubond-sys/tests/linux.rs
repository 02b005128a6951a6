//! The mechanisms against the real kernel, each test in its own network namespace.
//!
//! All these tests NEED ROOT (they create namespaces, tap and veth devices) and fail, rather
//! than skip, without it. They use no IP addresses at all and nothing routes out.

mod common;

use std::time::Duration;

use common::{wait_for, Netns};
use ubond_sys::link::{self, Duplex, LinkMonitor, OperState};
use ubond_sys::packet::{
    Fanout, FrameBatch, PacketOptions, PacketSocket, Receive, SendStatus, SLOW_PROTOCOLS_MAC,
};
use ubond_wire::MacAddr;

/// How long a test waits for what the kernel does at once on an idle machine (a frame, a
/// carrier event) or in deferred work (a link's release): generous, for a loaded one.
const WAIT: Duration = Duration::from_secs(10);
/// IEEE local experimental EtherType: nothing else in the namespace sends it.
const TEST_ETHERTYPE: u16 = 0x88b5;
const SLOW_PROTOCOLS_ETHERTYPE: u16 = 0x8809;

/// A frame of `len` bytes from `src` to `dst` with `ethertype`, carrying `seq` at byte 20.
fn frame(dst: MacAddr, src: MacAddr, ethertype: u16, len: usize, seq: u8) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&dst.octets());
    f[6..12].copy_from_slice(&src.octets());
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    f[14] = 1; // LACP subtype / filler
    f[15] = 1; // version
    f[20] = seq;
    for (i, b) in f.iter_mut().enumerate().skip(21) {
        *b = i as u8;
    }
    f
}

fn is_ours(f: &[u8], ethertype: u16) -> bool {
    f.len() > 20 && f[12..14] == ethertype.to_be_bytes()
}

/// Waits for the next frame with `ethertype` on `sock`.
fn recv_ours(sock: &PacketSocket, ethertype: u16) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    wait_for("a frame on the packet socket", WAIT, || {
        let n = sock.recv(&mut buf).expect("recv")?;
        is_ours(&buf[..n], ethertype).then(|| buf[..n].to_vec())
    })
}

/// True if a frame with `ethertype` arrives on `sock` within `d`.
fn sees_any(sock: &PacketSocket, ethertype: u16, d: Duration) -> bool {
    let mut buf = [0u8; 2048];
    let end = std::time::Instant::now() + d;
    while std::time::Instant::now() < end {
        while let Some(n) = sock.recv(&mut buf).expect("recv") {
            if is_ours(&buf[..n], ethertype) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn veth_pair(ns: &Netns) {
    ns.ip("link add va type veth peer name vb");
    ns.ip("link set va address 02:00:00:00:0a:01");
    ns.ip("link set vb address 02:00:00:00:0b:01");
    ns.ip("link set va up");
    ns.ip("link set vb up");
}

#[test]
fn veth_lacpdu_to_slow_protocols_group_and_own_frames_hidden() {
    let ns = Netns::new("veth_lacpdu_to_slow_protocols_group_and_own_frames_hidden");
    veth_pair(&ns);
    ns.run(|| {
        let a = PacketSocket::open("va", PacketOptions::default()).expect("open va");
        let b = PacketSocket::open("vb", PacketOptions::default()).expect("open vb");
        let a_all = PacketSocket::open(
            "va",
            PacketOptions {
                ignore_outgoing: false,
                slow_protocols: false,
                ..PacketOptions::default()
            },
        )
        .expect("open va without PACKET_IGNORE_OUTGOING");
        assert_eq!(a.ifindex(), link::ifindex("va").expect("ifindex"));
        assert_eq!(a.name(), "va");

        // The Slow Protocols membership is on vb's multicast list.
        let maddr = common::run("ip", &["-n", ns.name(), "maddr", "show", "dev", "vb"]);
        assert!(maddr.contains("01:80:c2:00:00:02"), "{maddr}");

        // A LACPDU-sized frame (124 bytes) to the Slow Protocols group.
        let src = link::mac("va").expect("mac");
        let pdu = frame(SLOW_PROTOCOLS_MAC, src, SLOW_PROTOCOLS_ETHERTYPE, 124, 7);
        assert!(a.send(&pdu).expect("send"));
        assert_eq!(recv_ours(&b, SLOW_PROTOCOLS_ETHERTYPE), pdu);
        // A socket without PACKET_IGNORE_OUTGOING sees va's own transmission; `a` does not.
        assert_eq!(recv_ours(&a_all, SLOW_PROTOCOLS_ETHERTYPE), pdu);
        assert!(!sees_any(&a, SLOW_PROTOCOLS_ETHERTYPE, Duration::from_millis(100)));

        // Promiscuity is counted on the interface and dropped with the socket's share.
        let mut b = b;
        let before = promiscuity("vb");
        b.set_promiscuous(true).expect("promisc on");
        assert!(b.promiscuous());
        assert_eq!(promiscuity("vb"), before + 1);
        b.set_promiscuous(false).expect("promisc off");
        assert_eq!(promiscuity("vb"), before);

        // The error names the operation and the interface.
        let e = PacketSocket::open("eth9", PacketOptions::default()).expect_err("no eth9");
        let msg = e.to_string();
        assert!(msg.starts_with("cannot open packet socket on eth9: No such device"), "{msg}");
        assert!(msg.ends_with("(is the interface name right?)"), "{msg}");
    });
}

fn promiscuity(name: &str) -> u32 {
    link::link_state(name).expect("state").promiscuity
}

/// An IPv4/UDP frame of flow `flow` (its source port), numbered `seq` in its payload.
fn udp_frame(dst: MacAddr, src: MacAddr, flow: u16, seq: u8) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 8];
    f[..6].copy_from_slice(&dst.octets());
    f[6..12].copy_from_slice(&src.octets());
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&36u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[192, 0, 2, 1]);
    f[30..34].copy_from_slice(&[192, 0, 2, 2]);
    f[34..36].copy_from_slice(&flow.to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes());
    f[38..40].copy_from_slice(&16u16.to_be_bytes());
    f[42] = seq;
    f
}

#[test]
fn a_fanout_group_gives_each_flow_to_one_socket_in_order_and_filters_choose_what_arrives() {
    let ns = Netns::new("fanout_group");
    veth_pair(&ns);
    ns.run(|| {
        let opts = PacketOptions { slow_protocols: false, ..PacketOptions::default() };
        let a = PacketSocket::open("va", opts).expect("open va");
        let first = PacketSocket::open("vb", PacketOptions { fanout: Some(Fanout::New), ..opts })
            .expect("a new group");
        let group = first.fanout_group().expect("its id");
        let second =
            PacketSocket::open("vb", PacketOptions { fanout: Some(Fanout::Join(group)), ..opts })
                .expect("join it");
        assert_eq!(second.fanout_group(), Some(group));
        let arp = PacketSocket::open("vb", PacketOptions { receive: Receive::Arp, ..opts })
            .expect("an ARP socket");
        let nothing = PacketSocket::open("vb", PacketOptions { receive: Receive::Nothing, ..opts })
            .expect("a socket that only sends");
        let (src, dst) = (link::mac("va").expect("mac"), link::mac("vb").expect("mac"));

        // 8 flows of 6 frames, interleaved, in batches; one ARP frame.
        let mut tx = FrameBatch::new(48, 128);
        for seq in 0..6u8 {
            for flow in 0..8u16 {
                assert!(tx.push(&udp_frame(dst, src, 1000 + flow, seq)));
            }
        }
        assert_eq!(a.send_batch_part(&tx, 8..48).expect("send"), (40, SendStatus::Sent));
        assert_eq!(a.send_batch_part(&tx, 0..8).expect("send"), (8, SendStatus::Sent));
        assert_eq!(a.send_batch_part(&tx, 60..70).expect("beyond"), (0, SendStatus::Sent));
        assert!(a.send(&frame(dst, src, 0x0806, 60, 0)).expect("send ARP"));

        let mut rx = FrameBatch::new(16, 256);
        let mut got: Vec<(usize, u16, u8)> = Vec::new();
        wait_for("48 frames on the group", WAIT, || {
            for (i, s) in [&first, &second].iter().enumerate() {
                while s.recv_batch(&mut rx).expect("recv") > 0 {
                    for f in rx.iter().filter(|f| f.len() > 42 && f[23] == 17) {
                        got.push((i, u16::from_be_bytes([f[34], f[35]]), f[42]));
                    }
                }
            }
            (got.len() >= 48).then_some(())
        });
        assert_eq!(got.len(), 48, "each frame once");
        for flow in 1000..1008u16 {
            let of: Vec<_> = got.iter().filter(|g| g.1 == flow).collect();
            assert!(of.iter().all(|g| g.0 == of[0].0), "flow {flow} on one socket: {of:?}");
            // The second batch was sent first: seq 1..6 of this flow, then 0.
            let seqs: Vec<u8> = of.iter().map(|g| g.2).collect();
            assert_eq!(seqs, [1, 2, 3, 4, 5, 0], "flow {flow} in order");
        }
        // What vb sends is no frame for the group (nor for the ARP socket).
        assert!(nothing.send(&udp_frame(src, dst, 2000, 0)).expect("send from vb"));
        assert!(nothing.send(&frame(src, dst, 0x0806, 60, 0)).expect("send ARP from vb"));
        assert!(!sees_any(&first, 0x0800, Duration::from_millis(50)), "outgoing, first");
        assert!(!sees_any(&second, 0x0800, Duration::from_millis(20)), "outgoing, second");
        assert!(sees_any(&arp, 0x0806, Duration::from_millis(100)), "the ARP socket has it");
        assert!(!sees_any(&arp, 0x0800, Duration::from_millis(20)), "and nothing else");
        assert!(!sees_any(&nothing, 0x0806, Duration::from_millis(20)));
        assert!(!sees_any(&nothing, 0x0800, Duration::from_millis(20)));
        // It sent, yet the kernel does not hand it the interface's frames at all (`R` 0, no
        // protocol, in /proc/net/packet), unlike a group's socket refusing them all.
        assert!(!nothing.listening());
        assert_eq!(kernel_binding(&nothing), (0, false), "bound to no protocol, not running");
        second.set_receive(Receive::Nothing).expect("a group's socket takes nothing");
        assert_eq!(kernel_binding(&second), (3, true), "still handed every frame");
        nothing.set_receive(Receive::All).expect("everything again");
        assert!(nothing.listening());
        assert_eq!(kernel_binding(&nothing), (3, true), "ETH_P_ALL, running");
        assert!(a.send(&frame(dst, src, TEST_ETHERTYPE, 60, 1)).expect("send"));
        assert!(sees_any(&nothing, TEST_ETHERTYPE, WAIT));
    });
}

/// The protocol a packet socket is bound to and whether the kernel runs it (hands it frames),
/// as `/proc/net/packet` says (its `Proto` and `R` columns, found by the socket's inode).
fn kernel_binding(sock: &PacketSocket) -> (u16, bool) {
    use std::os::fd::{AsFd, AsRawFd};
    let fd = format!("/proc/self/fd/{}", sock.as_fd().as_raw_fd());
    let link = std::fs::read_link(fd).expect("the socket's descriptor");
    let inode =
        link.to_string_lossy().trim_start_matches("socket:[").trim_end_matches(']').to_string();
    let table = std::fs::read_to_string("/proc/thread-self/net/packet")
        .expect("read /proc/thread-self/net/packet");
    let row = table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c.len() >= 9 && c[8] == inode)
        .expect("the socket in /proc/net/packet");
    (u16::from_str_radix(row[3], 16).expect("Proto"), row[5] == "1")
}

#[test]
fn an_interface_that_went_down_is_no_receive_error() {
    // The bond's data-path end goes down whenever the bond loses its carrier; the kernel then
    // reports ENETDOWN once on every packet socket bound to it. That is no failure to read.
    let ns = Netns::new("an_interface_that_went_down_is_no_receive_error");
    veth_pair(&ns);
    ns.run(|| {
        let one = PacketSocket::open("vb", PacketOptions::default()).expect("open vb");
        let batch = PacketSocket::open("vb", PacketOptions::default()).expect("open vb");
        ns.ip("link set vb down");
        ns.ip("link set vb up");
        let mut buf = [0u8; 2048];
        assert_eq!(one.recv(&mut buf).expect("recv after down and up"), None);
        let mut rx = FrameBatch::new(4, 2048);
        assert_eq!(batch.recv_batch(&mut rx).expect("recv batch after down and up"), 0);
        // And frames arrive again.
        let (src, dst) = (link::mac("va").expect("mac"), link::mac("vb").expect("mac"));
        let f = frame(dst, src, TEST_ETHERTYPE, 64, 1);
        let a = PacketSocket::open("va", PacketOptions::default()).expect("open va");
        assert!(a.send(&f).expect("send"));
        assert_eq!(recv_ours(&one, TEST_ETHERTYPE), f);
    });
}

#[test]
fn veth_batches_of_32_frames() {
    let ns = Netns::new("veth_batches_of_32_frames");
    veth_pair(&ns);
    ns.run(|| {
        let a = PacketSocket::open("va", PacketOptions::default()).expect("open va");
        let b = PacketSocket::open("vb", PacketOptions::default()).expect("open vb");
        let src = link::mac("va").expect("mac");
        let dst = link::mac("vb").expect("mac");

        let mut tx = FrameBatch::new(32, 1518);
        for seq in 0..32u8 {
            assert!(tx.push(&frame(dst, src, TEST_ETHERTYPE, 64 + usize::from(seq) * 40, seq)));
        }
        assert_eq!(tx.len(), 32);
        // veth's queue takes 32 frames at once; one sendmmsg call moves them all.
        assert_eq!(a.send_batch(&tx).expect("send batch"), 32);

        let mut rx = FrameBatch::new(32, 2048);
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut calls = 0;
        wait_for("32 frames on vb", WAIT, || {
            calls += 1;
            b.recv_batch(&mut rx).expect("recv batch");
            for i in 0..rx.len() {
                assert!(!rx.truncated(i));
            }
            got.extend(rx.iter().filter(|f| is_ours(f, TEST_ETHERTYPE)).map(<[u8]>::to_vec));
            (got.len() >= 32).then_some(())
        });
        assert_eq!(got.len(), 32);
        for (seq, f) in got.iter().enumerate() {
            assert_eq!(f, tx.frame(seq), "frame {seq} in order and intact");
        }
        assert!(calls < 32, "batched: {calls} recvmmsg calls for 32 frames");
        // Nothing left, and `a` saw none of its own.
        assert_eq!(b.recv_batch(&mut rx).expect("recv"), 0);
        let stats = b.take_stats().expect("stats");
        assert!(stats.packets >= 32 && stats.drops == 0, "{stats:?}");
        assert_eq!(b.take_stats().expect("stats").packets, 0, "reading resets the counters");
        b.set_recv_buffer(4 << 20).expect("receive buffer");
        assert!(!sees_any(&a, TEST_ETHERTYPE, Duration::from_millis(50)));
    });
}

#[test]
fn carrier_events_follow_the_peer_and_speed_duplex() {
    let ns = Netns::new("carrier_events_follow_the_peer_and_speed_duplex");
    veth_pair(&ns);
    let mut monitor = ns.run(|| LinkMonitor::new().expect("monitor"));
    let va = ns.run(|| link::ifindex("va").expect("ifindex"));

    let mut next_carrier = |want: bool| {
        let mut events = Vec::new();
        wait_for("a carrier event for va", WAIT, || {
            monitor.wait(Duration::from_millis(20)).expect("wait");
            events.clear();
            monitor.read_events(&mut events).expect("read events");
            events
                .iter()
                .find(|e| e.state.ifindex == va && e.state.carrier == want && !e.removed)
                .cloned()
        })
    };

    ns.ip("link set vb down");
    let e = next_carrier(false);
    assert_eq!(e.state.name, "va");
    assert!(e.state.admin_up);
    assert_eq!(e.state.oper_state, OperState::LowerLayerDown);
    assert!(!ns.run(|| link::link_state("va").expect("state")).carrier);

    ns.ip("link set vb up");
    let e = next_carrier(true);
    assert_eq!(e.state.name, "va");
    assert_eq!(e.state.oper_state, OperState::Up);

    ns.run(|| {
        assert_eq!(link::speed_duplex("va").expect("ethtool"), (Some(10000), Duplex::Full));
        let e = link::speed_duplex("eth9").expect_err("no eth9");
        assert!(e.to_string().contains("eth9"), "{e}");
    });
}

#[test]
fn vlan_tags_taken_out_by_the_kernel_are_put_back() {
    let ns = Netns::new("vlan_tags_taken_out_by_the_kernel_are_put_back");
    veth_pair(&ns);
    ns.run(|| {
        let a = PacketSocket::open("va", PacketOptions::default()).expect("open va");
        let b = PacketSocket::open("vb", PacketOptions::default()).expect("open vb");
        let raw = PacketSocket::open(
            "vb",
            PacketOptions { restore_vlan_tags: false, ..PacketOptions::default() },
        )
        .expect("open vb without tag restoring");
        let src = link::mac("va").expect("mac");
        let dst = link::mac("vb").expect("mac");

        // 802.1Q, PCP 5, VID 42, then our EtherType.
        let inner = frame(dst, src, TEST_ETHERTYPE, 64, 9);
        let mut tagged = inner[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0xa0, 0x2a]);
        tagged.extend_from_slice(&inner[12..]);
        assert!(a.send(&tagged).expect("send"));

        assert_eq!(recv_ours(&b, 0x8100), tagged, "tag restored");
        assert_eq!(recv_ours(&raw, TEST_ETHERTYPE), inner, "the kernel took the tag out");

        // Batches restore tags too, and leave untagged frames alone.
        let mut tx = FrameBatch::new(4, 1518);
        assert!(tx.push(&tagged));
        assert!(tx.push(&inner));
        assert_eq!(a.send_batch(&tx).expect("send batch"), 2);
        let mut rx = FrameBatch::new(8, 1522);
        let mut got: Vec<Vec<u8>> = Vec::new();
        wait_for("2 frames on vb", WAIT, || {
            b.recv_batch(&mut rx).expect("recv batch");
            got.extend(
                rx.iter()
                    .filter(|f| is_ours(f, 0x8100) || is_ours(f, TEST_ETHERTYPE))
                    .map(<[u8]>::to_vec),
            );
            (got.len() >= 2).then_some(())
        });
        assert_eq!(got, vec![tagged.clone(), inner.clone()]);
    });
}

#[test]
fn veth_gso_frames_cross_whole_with_vnet_headers() {
    let ns = Netns::new("veth_gso_frames_cross_whole_with_vnet_headers");
    veth_pair(&ns);
    ns.run(|| {
        let opts = PacketOptions { vnet_hdr: true, ..PacketOptions::default() };
        let a = PacketSocket::open("va", opts).expect("open va");
        let b = PacketSocket::open("vb", opts).expect("open vb");
        assert!(a.vnet_hdr() && b.vnet_hdr());
        a.set_send_buffer(1 << 20).expect("send buffer");
        let src = link::mac("va").expect("mac");
        let dst = link::mac("vb").expect("mac");

        // An IPv4/TCP super-frame of 20,000 payload bytes, checksum left to do, to be cut in
        // 1448-byte segments: header NEEDS_CSUM, GSO_TCPV4, hdr_len 54, gso_size 1448,
        // csum_start 34, csum_offset 16 (all little-endian).
        let payload = 20_000usize;
        let mut f = frame(dst, src, 0x0800, 54 + payload, 0);
        let ip_len = (40 + payload) as u16;
        f[14..34].copy_from_slice(&[
            0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
        ]);
        f[16..18].copy_from_slice(&ip_len.to_be_bytes());
        f[34..54].copy_from_slice(&[
            0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        let hdr: [u8; 10] = [1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0];
        assert_eq!(a.send_vectored(&[&hdr, &f]).expect("send"), SendStatus::Sent);
        // A plain frame behind an all-zero header.
        let small = frame(dst, src, TEST_ETHERTYPE, 60, 7);
        assert_eq!(a.send_vectored(&[&[0u8; 10], &small]).expect("send"), SendStatus::Sent);
        // A VLAN-tagged TCP frame with its checksum left to do (csum_start 38 counts the tag):
        // the receiving kernel takes the tag out, the socket puts it back and moves
        // csum_start with it.
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        tagged.extend_from_slice(&f[12..54 + 100]);
        tagged[18..20].copy_from_slice(&140u16.to_be_bytes());
        let thdr: [u8; 10] = [1, 0, 0, 0, 0, 0, 38, 0, 16, 0];
        assert_eq!(a.send_vectored(&[&thdr, &tagged]).expect("send"), SendStatus::Sent);

        let mut buf = vec![0u8; 70_000];
        let mut got: Vec<Vec<u8>> = Vec::new();
        wait_for("the three frames on vb", WAIT, || {
            while let Some(n) = b.recv(&mut buf).expect("recv") {
                let body = &buf[10..n];
                if is_ours(body, 0x0800) || is_ours(body, TEST_ETHERTYPE) || is_ours(body, 0x8100) {
                    got.push(buf[..n].to_vec());
                }
            }
            (got.len() >= 3).then_some(())
        });
        // One whole super-frame, still marked GSO TCPv4 with its segment size.
        assert_eq!(got[0].len(), 10 + f.len(), "not segmented");
        assert_eq!(got[0][1], 1, "gso_type TCPv4");
        assert_eq!(u16::from_le_bytes([got[0][4], got[0][5]]), 1448, "gso_size");
        assert_eq!(&got[0][10..], &f[..]);
        assert_eq!(got[1][1], 0, "no GSO");
        assert_eq!(&got[1][10..], &small[..]);
        assert_eq!(&got[2][10..], &tagged[..], "tag restored");
        assert_eq!(got[2][0] & 1, 1, "checksum still to do");
        assert_eq!(u16::from_le_bytes([got[2][6], got[2][7]]), 38, "csum_start counts the tag");
        assert_eq!(u16::from_le_bytes([got[2][8], got[2][9]]), 16, "csum_offset");
    });
}

#[test]
fn bond_device_keeps_its_carrier_and_neighbours_without_an_owner() {
    use ubond_sys::bond_device::{BondDevice, Found};
    let ns = Netns::new("bond_device_keeps_its_carrier_and_neighbours_without_an_owner");
    ns.run(|| {
        assert!(matches!(BondDevice::find("ubb0").expect("find"), Found::Absent));
        let dev = BondDevice::create("ubb0").expect("create");
        assert_eq!(dev.name(), "ubb0");
        assert_eq!(dev.peer_name(), "ubb0-dp");
        assert_eq!(link::ifindex("ubb0").expect("ifindex"), dev.ifindex());
        // A second creation under the same name fails and leaves the first as it was.
        assert!(BondDevice::create("ubb0").is_err());
        // Found again as ubond's, as a restarted daemon finds it.
        match BondDevice::find("ubb0").expect("find") {
            Found::Ours(again) => assert_eq!(again, dev),
            other => panic!("{other:?}"),
        }
        // Other devices under the name are not taken for a bond.
        link::ifindex("lo").expect("lo");
        assert!(matches!(BondDevice::find("lo").expect("find"), Found::Foreign(_)));

        // Carrier follows the data-path end's state once the device is up.
        link::set_up("ubb0", true).expect("up");
        let peer = link::link_state(dev.peer_name()).expect("peer");
        assert_eq!(peer.alias.as_deref(), Some("ubond data path of ubb0"));
        assert_eq!(peer.mtu, Some(65535));
        wait_for("carrier", WAIT, || {
            link::link_state("ubb0").expect("state").carrier.then_some(())
        });
        dev.set_carrier(false).expect("carrier off");
        wait_for("no carrier", WAIT, || {
            (!link::link_state("ubb0").expect("s").carrier).then_some(())
        });
        assert!(!dev.carrier().expect("carrier"));
        dev.set_carrier(true).expect("carrier on");
        wait_for("carrier again", WAIT, || {
            link::link_state("ubb0").expect("s").carrier.then_some(())
        });

        // Frames both ways through the data-path end.
        let mac = MacAddr([0x02, 0, 0, 0, 0x7b, 0x01]);
        link::set_mac("ubb0", mac).expect("mac");
        let stack = PacketSocket::open("ubb0", PacketOptions::default()).expect("packet on bond");
        let data = dev.open_data_socket(false, Receive::All, None).expect("data socket");
        let peer_mac = MacAddr([0x02, 0, 0, 0, 0x99, 0x02]);
        let into = frame(mac, peer_mac, TEST_ETHERTYPE, 60, 1);
        assert!(data.send(&into).expect("send into the bond"));
        assert_eq!(recv_ours(&stack, TEST_ETHERTYPE), into);
        let out = frame(peer_mac, mac, TEST_ETHERTYPE, 60, 2);
        assert!(stack.send(&out).expect("send from the bond"));
        assert_eq!(recv_ours(&data, TEST_ETHERTYPE), out);

        // Every socket closed (the daemon gone): carrier and neighbours stay.
        ns.ip("neigh add 192.0.2.9 lladdr 02:00:00:00:00:09 dev ubb0 nud reachable");
        drop(stack);
        drop(data);
        std::thread::sleep(Duration::from_millis(300));
        let s = link::link_state("ubb0").expect("state");
        assert!(s.admin_up && s.carrier, "{s:?}");
        let neigh = ns.exec(&["ip", "neigh", "show", "dev", "ubb0"]);
        assert!(neigh.contains("192.0.2.9"), "{neigh}");

        match BondDevice::find("ubb0").expect("find") {
            Found::Ours(d) => d.delete().expect("delete"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(BondDevice::find("ubb0").expect("find"), Found::Absent));
        assert!(link::ifindex("ubb0-dp").is_err());
    });
}

/// A bpffs mounted for one test in the test's own directory, unmounted (and the directory
/// removed) on drop.
struct TestBpffs {
    dir: std::path::PathBuf,
}

impl TestBpffs {
    fn new(test: &str) -> TestBpffs {
        let dir = std::env::temp_dir().join(format!("ubs-bpffs-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        ubond_sys::bpffs::mount(&dir).expect("mount bpffs");
        TestBpffs { dir }
    }
}

impl Drop for TestBpffs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// For the fast path's tests: a bpffs, and a namespace with veth pairs va–vb (the slave and
/// its sender) and vc–vd (where delivered frames go), all up; none (said) in a build without
/// the programs.
fn fast_path_lab(test: &str) -> Option<(TestBpffs, Netns)> {
    if !ubond_sys::bpf::BUILT {
        assert!(std::env::var_os("CI").is_none(), "CI builds the BPF programs");
        eprintln!("skipped: this build has no BPF programs (no clang at build time)");
        return None;
    }
    let fs = TestBpffs::new(test);
    let ns = Netns::new(&format!("{test}_fast_path_forwards_without_its_loader"));
    veth_pair(&ns);
    ns.ip("link add vc type veth peer name vd");
    ns.ip("link set vc up");
    ns.ip("link set vd up");
    Some((fs, ns))
}

/// The frame the fast path's tests send from vb to va.
fn fast_path_frame() -> Vec<u8> {
    frame(MacAddr([2, 0, 0, 0, 0x0a, 1]), MacAddr([2, 0, 0, 0, 0x0b, 1]), TEST_ETHERTYPE, 60, 7)
}

#[test]
fn pinned_fast_path_forwards_without_its_loader_and_is_replaced_in_one_step() {
    use ubond_sys::bpf::{pinned_links, tcx_programs, FastPath, Hook, SlaveRx};
    let Some((fs, ns)) = fast_path_lab("pinned") else { return };
    ns.run(|| {
        let pins = ubond_sys::bpffs::pin_dir(Some(&fs.dir), "test").expect("pin dir");
        let va = link::ifindex("va").expect("va");
        let vc = link::ifindex("vc").expect("vc");
        {
            let mut fast = FastPath::load(Some(&pins), Hook::Auto).expect("load");
            let attachment = fast.attach_slave("va").expect("attach");
            assert!(attachment.pinned());
            // Frames received on va go into vc's receive path.
            let rx =
                SlaveRx { tap_ifindex: vc, enabled: true, deliver: true, ..SlaveRx::default() };
            fast.set_slave(va, &rx).expect("map");
            // The loader goes away, as a daemon that dies.
        }
        assert_eq!(tcx_programs("va", true).expect("query"), 1, "still attached");
        let links = pinned_links(&pins).expect("list");
        assert_eq!(links.len(), 1);
        assert!(links[0].ingress && links[0].ifindex == va, "{links:?}");

        let watch = PacketSocket::open("vc", PacketOptions::default()).expect("packet on vc");
        let sender = PacketSocket::open("vb", PacketOptions::default()).expect("packet on vb");
        let f = fast_path_frame();
        assert!(sender.send(&f).expect("send"));
        assert_eq!(recv_ours(&watch, TEST_ETHERTYPE), f, "forwarded with no loader alive");

        // A new loader takes over: one program on va at the end, the new one (its map is
        // empty, so frames are no longer redirected).
        let mut fast = FastPath::load(Some(&pins), Hook::Auto).expect("load again");
        let attachment = fast.attach_slave("va").expect("attach again");
        // The kernel releases a link whose last reference went in deferred work: wait.
        let one = || (tcx_programs("va", true).expect("query") == 1).then_some(());
        wait_for("the old link's release", WAIT, one);
        assert!(sender.send(&f).expect("send"));
        assert!(!sees_any(&watch, TEST_ETHERTYPE, Duration::from_millis(200)));
        attachment.detach();
        let none = || (tcx_programs("va", true).expect("query") == 0).then_some(());
        wait_for("the link's release", WAIT, none);
        assert!(pinned_links(&pins).expect("list").is_empty());
    });
}

/// ubond's `clsact` filters on `iface` in the current namespace at ingress (`ingress`) or
/// egress, as `tc filter show` lists them.
fn ubond_filters(iface: &str, ingress: bool) -> usize {
    let dir = if ingress { "ingress" } else { "egress" };
    let out = std::process::Command::new("tc")
        .args(["filter", "show", "dev", iface, dir])
        .output()
        .expect("tc");
    assert!(out.status.success(), "tc filter show: {}", String::from_utf8_lossy(&out.stderr));
    let handle = format!("handle {:#x}", ubond_sys::bpf::TC_HANDLE);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" bpf ") && l.contains(&handle) && l.contains("direct-action"))
        .count()
}

/// `tc qdisc show dev IFACE` in the current namespace.
fn qdiscs(iface: &str) -> String {
    let out = std::process::Command::new("tc")
        .args(["qdisc", "show", "dev", iface])
        .output()
        .expect("tc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn clsact_fast_path_forwards_without_its_loader_and_is_replaced_in_one_step() {
    use ubond_sys::bpf::{pinned_links, tcx_programs, FastPath, Hook, SlaveRx};
    let Some((fs, ns)) = fast_path_lab("clsact") else { return };
    ns.run(|| {
        let pins = ubond_sys::bpffs::pin_dir(Some(&fs.dir), "test").expect("pin dir");
        let va = link::ifindex("va").expect("va");
        let vc = link::ifindex("vc").expect("vc");
        let rx = SlaveRx { tap_ifindex: vc, enabled: true, deliver: true, ..SlaveRx::default() };
        {
            let mut fast = FastPath::load(Some(&pins), Hook::Clsact).expect("load");
            let attachment = fast.attach_slave("va").expect("attach");
            assert!(attachment.pinned());
            assert_eq!(attachment.hook(), Hook::Clsact);
            fast.set_slave(va, &rx).expect("map");
            // The loader goes away, as a daemon that dies.
        }
        assert_eq!(ubond_filters("va", true), 1, "still attached");
        assert_eq!(tcx_programs("va", true).expect("query"), 0, "a filter, not a TCX link");
        let links = pinned_links(&pins).expect("list");
        assert_eq!(links.len(), 1);
        assert!(links[0].ingress && links[0].ifindex == va, "{links:?}");
        assert_eq!(links[0].hook, Hook::Clsact);

        let watch = PacketSocket::open("vc", PacketOptions::default()).expect("packet on vc");
        let sender = PacketSocket::open("vb", PacketOptions::default()).expect("packet on vb");
        let f = fast_path_frame();
        assert!(sender.send(&f).expect("send"));
        assert_eq!(recv_ours(&watch, TEST_ETHERTYPE), f, "forwarded with no loader alive");

        // A new loader takes over: its program replaces the old one in the same filter (its
        // map is empty, so frames are no longer redirected).
        let mut fast = FastPath::load(Some(&pins), Hook::Clsact).expect("load again");
        let attachment = fast.attach_slave("va").expect("attach again");
        assert_eq!(ubond_filters("va", true), 1, "replaced, not added");
        assert!(sender.send(&f).expect("send"));
        assert!(!sees_any(&watch, TEST_ETHERTYPE, Duration::from_millis(200)));
        // Its map filled, the new program forwards.
        fast.set_slave(va, &rx).expect("map");
        assert!(sender.send(&f).expect("send"));
        assert_eq!(recv_ours(&watch, TEST_ETHERTYPE), f, "forwarded by the new program");
        attachment.detach();
        assert_eq!(ubond_filters("va", true), 0, "detached");
        assert!(pinned_links(&pins).expect("list").is_empty());

        // A mark left by a daemon whose slave was released while none ran: removing it
        // deletes the filter.
        let attachment = fast.attach_slave("va").expect("attach a third time");
        drop(attachment);
        assert_eq!(ubond_filters("va", true), 1);
        let links = pinned_links(&pins).expect("list");
        assert_eq!(links.len(), 1);
        links[0].remove().expect("remove");
        assert_eq!(ubond_filters("va", true), 0, "the mark's removal deleted the filter");
        assert!(pinned_links(&pins).expect("list").is_empty());

        assert!(!qdiscs("va").contains("clsact"), "the qdisc ubond added is gone with its filter");

        // Without a pin directory, the filter goes with its attachment; a clsact qdisc that
        // has another filter stays.
        let tc = |args: &str| {
            let st = std::process::Command::new("tc").args(args.split(' ')).status();
            assert!(st.expect("tc").success(), "tc {args}");
        };
        tc("qdisc add dev vc clsact");
        tc("filter add dev vc egress pref 100 protocol all u32 match u32 0 0 classid 1:1");
        let mut fast = FastPath::load(None, Hook::Clsact).expect("load unpinned");
        let attachment = fast.attach_tap("vc").expect("attach to egress");
        assert!(!attachment.pinned());
        assert_eq!(ubond_filters("vc", false), 1);
        drop(attachment);
        assert_eq!(ubond_filters("vc", false), 0, "dropped, detached");
        assert!(qdiscs("vc").contains("clsact"), "another filter uses the qdisc");

        // An empty clsact qdisc that was there before ubond (an administrator's) stays when
        // ubond's filter goes: dropped unpinned, detached, or removed by its mark.
        tc("filter del dev vc egress pref 100");
        drop(fast.attach_tap("vc").expect("attach to an empty qdisc"));
        assert_eq!(ubond_filters("vc", false), 0);
        assert!(qdiscs("vc").contains("clsact"), "the empty qdisc that was there stays");
        tc("qdisc add dev va clsact");
        let mut fast = FastPath::load(Some(&pins), Hook::Clsact).expect("load pinned");
        fast.attach_slave("va").expect("attach").detach();
        assert_eq!(ubond_filters("va", true), 0);
        assert!(qdiscs("va").contains("clsact"), "detached: the qdisc that was there stays");
        drop(fast.attach_slave("va").expect("attach"));
        pinned_links(&pins).expect("list")[0].remove().expect("remove");
        assert_eq!(ubond_filters("va", true), 0);
        assert!(qdiscs("va").contains("clsact"), "pruned: the qdisc that was there stays");
        let marks: Vec<_> = std::fs::read_dir(&pins)
            .expect("pins")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("tc-"))
            .map(|e| e.file_name())
            .collect();
        assert!(marks.is_empty(), "marks left: {marks:?}");
    });
}
