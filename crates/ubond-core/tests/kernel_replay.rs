//! Differential replay against the real Linux driver.
//!
//! `ubond-wire/tests/vectors/kernel-6.1-*.pcap` hold a Debian 6.1 kernel bond (802.3ad,
//! lacp_rate=fast, two e1000 NICs, system 52:54:00:0a:00:00) negotiating with a scripted
//! peer (recipe: `tools/capture-kernel-vectors.sh` and the vectors' README). Here a ubond core is
//! configured like that kernel bond and receives the *peer's* LACPDUs at their captured
//! times. The standard then fixes our reaction, and the kernel's own PDUs in the capture show
//! what the reference implementation did with the same input:
//!
//! * after each peer PDU our partner information equals the peer's actor information
//!   (recordPDU), and every PDU we send echoes it;
//! * the port states we announce pass through the kernel's announced states in the same order
//!   (we may announce extra transient states: Linux sends at most one PDU per 1/3 s tick, we
//!   send as soon as NTT is set) and end in the same state;
//! * we reach Collecting+Distributing no later than the kernel did.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use ubond_core::lacp::{Lacp, LacpConfig, LinkState, PortConfig, PortId};
use ubond_core::time::Instant;
use ubond_wire::slow::{self, LacpduRepr};
use ubond_wire::MacAddr;

const KERNEL_SYSTEM: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x0a, 0x00, 0x00]);

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ubond-wire/tests/vectors")
}

struct Frame {
    at: Instant,
    src: MacAddr,
    pdu: LacpduRepr,
    bytes: Vec<u8>,
}

fn lacpdus(name: &str) -> Vec<Frame> {
    let path = vectors().join(name);
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("pcap");
    let mut out = Vec::new();
    let mut t0 = None;
    while let Some(p) = reader.next_packet() {
        let p = p.expect("record");
        let t = p.timestamp.saturating_sub(*t0.get_or_insert(p.timestamp));
        let data = p.data.to_vec();
        if data.len() < slow::FRAME_LEN || data[12..14] != slow::ETHERTYPE.to_be_bytes() {
            continue;
        }
        let Ok(packet) = slow::Packet::new_checked(&data[14..]) else { continue };
        let Ok(pdu) = LacpduRepr::parse(&packet) else { continue };
        let src = MacAddr::from_slice(&data[6..12]).expect("mac");
        out.push(Frame { at: Instant::from_nanos(t.as_nanos() as u64), src, pdu, bytes: data });
    }
    out
}

/// Which kernel port (0 or 1) a frame belongs to: sent by it, or sent to it by the peer.
fn kernel_port(f: &Frame) -> usize {
    if f.src.0[..5] == KERNEL_SYSTEM.0[..5] {
        usize::from(f.src.0[5])
    } else {
        usize::from(f.src.0[5]) - 1 // the peer's 02:00:00:00:0b:01 faces eth0
    }
}

fn is_kernel(f: &Frame) -> bool {
    f.src.0[..5] == KERNEL_SYSTEM.0[..5]
}

/// Consecutive duplicates removed.
fn distinct(states: impl IntoIterator<Item = u8>) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for s in states {
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

fn is_subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

/// What one replay produced, per kernel port.
struct Replay {
    /// The kernel's own LACPDUs (time, PDU).
    kernel: [Vec<(Instant, LacpduRepr)>; 2],
    /// Ours, fed the peer's PDUs of the same capture.
    ours: [Vec<(Instant, LacpduRepr)>; 2],
    /// The last PDU the peer sent on each port.
    last_peer: [Option<LacpduRepr>; 2],
}

type Sent = [Vec<(Instant, LacpduRepr)>; 2];

fn drain(lacp: &mut Lacp, ports: &[Option<PortId>; 2], ours: &mut Sent, now: Instant) {
    if let Err(v) = lacp.check_invariants() {
        panic!("at {now:?}: {v}");
    }
    while let Some(tx) = lacp.poll_transmit() {
        let k = ports.iter().position(|p| *p == Some(tx.port)).expect("port");
        let pkt = slow::Packet::new_checked(&tx.frame[14..]).expect("pdu");
        ours[k].push((now, LacpduRepr::parse(&pkt).expect("lacpdu")));
    }
}

fn advance(lacp: &mut Lacp, ports: &[Option<PortId>; 2], ours: &mut Sent, to: Instant) {
    while let Some(t) = lacp.poll_timeout().filter(|t| *t <= to) {
        lacp.handle_timeout(t);
        drain(lacp, ports, ours, t);
    }
}

fn replay(name: &str) -> Replay {
    let frames = lacpdus(name);
    assert!(frames.len() > 20, "{name}: capture too small: {}", frames.len());
    // The kernel's own timing: the fixed 2 s Aggregate_Wait_Time, without ubond's early attach,
    // and each LACPDU sent when its NTT is set (no coalescing window), so every state the
    // kernel announced is announced here too.
    let config = LacpConfig {
        lacp_fast: true,
        early_attach: false,
        tx_coalesce: std::time::Duration::ZERO,
        ..LacpConfig::new(KERNEL_SYSTEM)
    };
    let mut lacp = Lacp::new(config);
    // Each of our ports starts when the kernel's port sent its first PDU (its link came up).
    let mut ports: [Option<PortId>; 2] = [None, None];
    let mut r = Replay {
        kernel: [Vec::new(), Vec::new()],
        ours: [Vec::new(), Vec::new()],
        last_peer: [None, None],
    };
    for f in &frames {
        advance(&mut lacp, &ports, &mut r.ours, f.at);
        let k = kernel_port(f);
        if is_kernel(f) {
            r.kernel[k].push((f.at, f.pdu));
            if ports[k].is_none() {
                let mac = MacAddr([0x52, 0x54, 0x00, 0x0a, 0x00, k as u8]);
                let id =
                    lacp.add_port(f.at, PortConfig::new(mac), LinkState::up(1000)).expect("port");
                ports[k] = Some(id);
                drain(&mut lacp, &ports, &mut r.ours, f.at);
            }
            continue;
        }
        let Some(id) = ports[k] else { continue };
        lacp.handle_frame(f.at, id, &f.bytes);
        drain(&mut lacp, &ports, &mut r.ours, f.at);
        r.last_peer[k] = Some(f.pdu);
        // recordPDU: the peer's actor information is now our partner information (the
        // Synchronization bit is ours to derive).
        let partner = lacp.port_status(id).expect("status").partner;
        let mut want = f.pdu.actor;
        want.state.set(
            slow::PortState::SYNCHRONIZATION,
            partner.state.has(slow::PortState::SYNCHRONIZATION),
        );
        assert_eq!(partner, want, "{name}: recordPDU at {:?}", f.at);
    }
    let end = frames.last().expect("frames").at;
    advance(&mut lacp, &ports, &mut r.ours, end);
    r
}

/// The checks common to every capture (see the module docs).
fn compare(name: &str, r: &Replay) {
    for k in 0..2 {
        let kernel_states = distinct(r.kernel[k].iter().map(|(_, p)| p.actor.state.0));
        let our_states = distinct(r.ours[k].iter().map(|(_, p)| p.actor.state.0));
        eprintln!("{name} port {k}: kernel {kernel_states:?}, ubond {our_states:?}");
        assert!(
            is_subsequence(&kernel_states, &our_states),
            "{name} port {k}: kernel {kernel_states:?} not within ubond {our_states:?}"
        );
        assert_eq!(kernel_states.last(), our_states.last(), "{name} port {k}: final states differ");
        // Our actor information is the kernel's, field for field, in the final PDU.
        let their = r.kernel[k].last().expect("kernel pdu").1.actor;
        let mine = r.ours[k].last().expect("our pdu").1.actor;
        assert_eq!(mine, their, "{name} port {k}: final actor information");
        // And we echo the peer's actor information as our partner information.
        if let Some(peer) = r.last_peer[k] {
            let echoed = r.ours[k].last().expect("our pdu").1.partner;
            assert_eq!(
                (echoed.system, echoed.key, echoed.port),
                (peer.actor.system, peer.actor.key, peer.actor.port),
                "{name} port {k}: partner echo"
            );
        }
    }
}

/// When the port first announced a state with all of `bits`.
fn first_with(sent: &[(Instant, LacpduRepr)], bits: u8) -> Option<Instant> {
    sent.iter().find(|(_, p)| p.actor.state.has(bits)).map(|(t, _)| *t)
}

#[test]
fn replaying_the_kernels_peer_reproduces_the_kernels_negotiation() {
    let r = replay("kernel-6.1-lacp-fast.pcap");
    compare("fast", &r);
    // We distribute no later than the kernel did (its wait, our wait: both 2 s).
    let cd = slow::PortState::COLLECTING | slow::PortState::DISTRIBUTING;
    for k in 0..2 {
        let kt = first_with(&r.kernel[k], cd).expect("the kernel distributed");
        let ot = first_with(&r.ours[k], cd)
            .unwrap_or_else(|| panic!("port {k}: the kernel distributed at {kt:?}, we never did"));
        assert!(
            ot <= kt + Duration::from_millis(50),
            "port {k}: we distributed at {ot:?}, the kernel at {kt:?}"
        );
    }
}

#[test]
fn a_silent_peer_expires_and_defaults_like_the_kernel() {
    // The capture's peer goes silent, then talks again: the kernel's ports go EXPIRED (143),
    // then DEFAULTED (79 on the port whose aggregator stays active, 71 on the other), then
    // back to 63. Fed the same peer PDUs, we must announce the same states in the same order,
    // and expire 3 s (the short timeout) after the peer's last PDU, as the kernel does.
    let r = replay("kernel-6.1-lacp-expire.pcap");
    compare("expire", &r);
    let expired = slow::PortState::EXPIRED;
    let cd = slow::PortState::COLLECTING | slow::PortState::DISTRIBUTING;
    // The first Expired announcement after the port had been distributing.
    let expiry = |sent: &[(Instant, LacpduRepr)]| {
        let start = sent.iter().position(|(_, p)| p.actor.state.has(cd))?;
        first_with(&sent[start..], expired)
    };
    for k in 0..2 {
        let (Some(kt), Some(ot)) = (expiry(&r.kernel[k]), expiry(&r.ours[k])) else {
            panic!("port {k}: the capture should show the partner expiring, in both");
        };
        // The kernel evaluates on a 100 ms tick and sends on a 1/3 s slot.
        let gap = if kt > ot { kt - ot } else { ot - kt };
        assert!(
            gap <= Duration::from_millis(450),
            "port {k}: kernel expired at {kt:?}, we at {ot:?}"
        );
    }
}
