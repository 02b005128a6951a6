//! Frames for the root tests of the data paths: a small deterministic generator of every kind
//! of frame a bond must handle (tagged, tunnelled, fragmented, with IP options, ARP, MPLS,
//! PPPoE), each marked with its number so that it can be recognised where it arrives.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ubond_sys::{PacketOptions, PacketSocket};

use super::in_netns;

/// The frames' marker, followed by the frame's number (little-endian u32).
pub const MAGIC: &[u8; 8] = b"ubondFP!";

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u32 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }
}

pub fn ipv4(rng: &mut Rng, proto: u8, frag: u16, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0, 0];
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&[192, 0, 2, rng.byte()]);
    h.extend_from_slice(&[198, 18 + (rng.byte() & 1), rng.byte(), rng.byte()]);
    h.extend_from_slice(l4);
    h
}

pub fn ipv6(rng: &mut Rng, next: u8, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 64];
    for _ in 0..2 {
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&rng.bytes::<12>());
    }
    h.extend_from_slice(l4);
    h
}

pub fn ports(rng: &mut Rng, tcp: bool) -> Vec<u8> {
    let mut l4 = rng.bytes::<4>().to_vec();
    l4.extend_from_slice(if tcp { &[0; 16] } else { &[0; 4] });
    l4
}

/// One random frame (from the bond's MAC's point of view any source will do), with the marker
/// and `id` at its end.
pub fn frame(rng: &mut Rng, id: u32) -> Vec<u8> {
    let mut f = vec![0x02, rng.byte(), 0, 0, rng.byte(), rng.byte()];
    f.extend_from_slice(&[0x02, 0x11, rng.byte(), 0, rng.byte(), rng.byte()]);
    let (ethertype, body): (u16, Vec<u8>) = match rng.next() % 20 {
        0 => (0x0800, {
            let l4 = ports(rng, false);
            ipv4(rng, 17, 0, &l4)
        }),
        1 => (0x0800, {
            let l4 = ports(rng, true);
            ipv4(rng, 6, 0x4000, &l4)
        }),
        2 => (0x86dd, {
            let l4 = ports(rng, false);
            ipv6(rng, 17, &l4)
        }),
        3 => {
            let mut hbh = vec![6, 0, 0, 0, 0, 0, 0, 0];
            hbh.extend_from_slice(&ports(rng, true));
            (0x86dd, ipv6(rng, 0, &hbh))
        }
        4 => {
            // An in-line VLAN tag in the bytes.
            let mut t = vec![0x00, 0x64, 0x08, 0x00];
            t.extend_from_slice(&{
                let l4 = ports(rng, false);
                ipv4(rng, 17, 0, &l4)
            });
            (0x8100, t)
        }
        5 => {
            // A fragment: MF set, any offset.
            let frag = 0x2000 | u16::from(rng.byte() & 3);
            let l4 = ports(rng, false);
            (0x0800, ipv4(rng, 17, frag, &l4))
        }
        6 => {
            let mut echo = vec![8, 0, 0, 0];
            echo.extend_from_slice(&rng.bytes::<4>());
            (0x0800, ipv4(rng, 1, 0, &echo))
        }
        7 => {
            let quoted = {
                let l4 = ports(rng, false);
                ipv4(rng, 17, 0, &l4)
            };
            let mut err = vec![3, 3, 0, 0, 0, 0, 0, 0];
            err.extend_from_slice(&quoted);
            (0x0800, ipv4(rng, 1, 0, &err))
        }
        8 => {
            let mut gre = vec![0x20, 0x00, 0x08, 0x00];
            gre.extend_from_slice(&rng.bytes::<4>());
            gre.extend_from_slice(&{
                let l4 = ports(rng, true);
                ipv4(rng, 6, 0, &l4)
            });
            (0x0800, ipv4(rng, 47, 0, &gre))
        }
        9 => {
            let inner = {
                let l4 = ports(rng, false);
                ipv4(rng, 17, 0, &l4)
            };
            (0x0800, ipv4(rng, 4, 0, &inner))
        }
        10 => {
            let inner = {
                let l4 = ports(rng, true);
                ipv6(rng, 6, &l4)
            };
            (0x0800, ipv4(rng, 41, 0, &inner))
        }
        11 => {
            let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
            arp.extend_from_slice(&rng.bytes::<20>());
            (0x0806, arp)
        }
        13 => {
            // PPPoE session carrying IPv4 UDP.
            let mut p = vec![0x11, 0x00, 0x12, 0x34, 0x00, 0x40, 0x00, 0x21];
            let l4 = ports(rng, false);
            p.extend_from_slice(&ipv4(rng, 17, 0, &l4));
            (0x8864, p)
        }
        14 => (0x8847, rng.bytes::<24>().to_vec()), // MPLS: no addresses for encap*
        15 => {
            // IPv6 fragment header, then UDP.
            let mut fh = vec![17, 0, 0x00, 0x01];
            fh.extend_from_slice(&rng.bytes::<4>());
            fh.extend_from_slice(&ports(rng, false));
            (0x86dd, ipv6(rng, 44, &fh))
        }
        16 => {
            // GRE transparent Ethernet bridging: an inner Ethernet frame with IPv4 TCP.
            let mut teb = vec![0x00, 0x00, 0x65, 0x58];
            teb.extend_from_slice(&rng.bytes::<12>());
            teb.extend_from_slice(&[0x08, 0x00]);
            let l4 = ports(rng, true);
            teb.extend_from_slice(&ipv4(rng, 6, 0, &l4));
            (0x0800, ipv4(rng, 47, 0, &teb))
        }
        17 => {
            // ICMPv6 echo request, or an error quoting a UDP packet.
            if rng.byte() & 1 == 0 {
                let mut echo = vec![128, 0, 0, 0];
                echo.extend_from_slice(&rng.bytes::<4>());
                (0x86dd, ipv6(rng, 58, &echo))
            } else {
                let l4 = ports(rng, false);
                let quoted = ipv6(rng, 17, &l4);
                let mut err = vec![1, 4, 0, 0, 0, 0, 0, 0];
                err.extend_from_slice(&quoted);
                (0x86dd, ipv6(rng, 58, &err))
            }
        }
        18 => {
            // IPv4 with options (IHL 6), then TCP.
            let l4 = ports(rng, true);
            let mut h = ipv4(rng, 6, 0, &[]);
            h[0] = 0x46;
            h.extend_from_slice(&[1, 1, 1, 0]);
            h.extend_from_slice(&l4);
            (0x0800, h)
        }
        _ => {
            // QinQ: 802.1ad outer, 802.1Q inner, IPv6 TCP.
            let mut t = vec![0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x86, 0xdd];
            t.extend_from_slice(&{
                let l4 = ports(rng, true);
                ipv6(rng, 6, &l4)
            });
            (0x88a8, t)
        }
    };
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(&body);
    f.extend_from_slice(MAGIC);
    f.extend_from_slice(&id.to_le_bytes());
    f
}

/// The frame's number, if it carries the marker.
pub fn id_of(frame: &[u8]) -> Option<u32> {
    let at = frame.windows(MAGIC.len()).position(|w| w == MAGIC)? + MAGIC.len();
    Some(u32::from_le_bytes(frame.get(at..at + 4)?.try_into().ok()?))
}

/// Sends each frame on its interface of namespace `from` and returns every arrival on the
/// interfaces `ups` of namespace `to` (with `promiscuous`, in promiscuous mode) as (frame
/// number, which of `ups`), once `expected` have arrived and 300 ms passed without another (a
/// late copy counts), or after 5 s.
pub fn send_and_watch(
    from: &str,
    to: &str,
    ups: &[&str],
    promiscuous: bool,
    frames: Vec<(String, Vec<u8>)>,
    expected: usize,
) -> Vec<(u32, usize)> {
    send_and_watch_sources(from, to, ups, promiscuous, frames, expected)
        .into_iter()
        .map(|(id, i, _)| (id, i))
        .collect()
}

/// [`send_and_watch`], with each arrival's source address: (frame number, which of `ups`,
/// source).
pub fn send_and_watch_sources(
    from: &str,
    to: &str,
    ups: &[&str],
    promiscuous: bool,
    frames: Vec<(String, Vec<u8>)>,
    expected: usize,
) -> Vec<(u32, usize, [u8; 6])> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let ups: Vec<String> = ups.iter().map(|u| u.to_string()).collect();
    let watcher = in_netns(to, move || {
        let opts = PacketOptions { promiscuous, slow_protocols: false, ..Default::default() };
        let socks: Vec<PacketSocket> =
            ups.iter().map(|up| PacketSocket::open(up, opts).unwrap()).collect();
        for s in &socks {
            // Room for every frame of a burst on one interface (the default holds about 250).
            s.set_recv_buffer(8 << 20).unwrap();
        }
        ready_tx.send(()).unwrap();
        let (mut got, mut buf) = (Vec::new(), vec![0u8; 9000]);
        let (t0, mut last) = (Instant::now(), Instant::now());
        while t0.elapsed() < Duration::from_secs(5)
            && (got.len() < expected || last.elapsed() < Duration::from_millis(300))
        {
            let mut idle = true;
            for (i, sock) in socks.iter().enumerate() {
                while let Some(n) = sock.recv(&mut buf).unwrap() {
                    idle = false;
                    if let Some(id) = id_of(&buf[..n]) {
                        got.push((id, i, buf[6..12].try_into().unwrap()));
                        last = Instant::now();
                    }
                }
            }
            if idle {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        got
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    in_netns(from, move || {
        let mut socks = BTreeMap::new();
        for (dev, f) in &frames {
            let s = socks.entry(dev.clone()).or_insert_with(|| {
                let opts = PacketOptions { slow_protocols: false, ..Default::default() };
                PacketSocket::open(dev, opts).unwrap()
            });
            // A full queue: wait a little; a frame refused 100 times counts as lost.
            for _ in 0..100 {
                if s.send(f).unwrap() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    })
    .join()
    .unwrap();
    watcher.join().unwrap()
}
