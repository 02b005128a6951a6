//! BFD frames as `ubond_wire::bfd` emits them, dissected by tshark (Wireshark's BFD, IP and UDP
//! dissectors, checksums verified) and compared field by field with what we meant to write.
//!
//! The frames cover IPv4 and IPv6, micro-BFD (UDP 6784, decoded with `-d udp.port==6784,bfd`)
//! and single-hop BFD (UDP 3784, which tshark decodes as BFD by itself), every state, the flag
//! bits, diagnostics, and each kind of authentication section.
//!
//! Needs `tshark` (Debian/Ubuntu package `tshark`). Without it the test says it was skipped,
//! except under CI (`CI` set), where it fails: CI installs tshark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use ubond_wire::bfd::{
    self, Auth, AuthData, ControlRepr, Diagnostic, Encapsulation, FrameRepr, Password, State,
};
use ubond_wire::udp::IpPair;
use ubond_wire::MacAddr;

/// The fields asked of tshark, in this order (`tshark -G fields` names, Wireshark 4.0).
const FIELDS: &[&str] = &[
    "frame.number",
    "eth.dst",
    "eth.src",
    "ip.ttl",
    "ip.dsfield",
    "ip.checksum.status",
    "ipv6.hlim",
    "ipv6.tclass",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.checksum.status",
    "bfd.version",
    "bfd.diag",
    "bfd.sta",
    "bfd.flags.p",
    "bfd.flags.f",
    "bfd.flags.c",
    "bfd.flags.a",
    "bfd.flags.d",
    "bfd.flags.m",
    "bfd.detect_time_multiplier",
    "bfd.message_length",
    "bfd.my_discriminator",
    "bfd.your_discriminator",
    "bfd.desired_min_tx_interval",
    "bfd.required_min_rx_interval",
    "bfd.required_min_echo_interval",
    "bfd.auth.type",
    "bfd.auth.len",
    "bfd.auth.key",
    "bfd.auth.password",
    "bfd.auth.seq_num",
    "bfd.checksum",
];

fn control(state: State) -> ControlRepr {
    ControlRepr {
        version: bfd::VERSION,
        diag: Diagnostic::NoDiagnostic,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discriminator: 0x1234_5678,
        your_discriminator: 0,
        desired_min_tx: 1_000_000,
        required_min_rx: 10_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

/// The frames to dissect.
fn frames() -> Vec<FrameRepr> {
    let v4 = IpPair::V4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
    let v6 = IpPair::V6(
        "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
        "2001:db8::2".parse::<Ipv6Addr>().unwrap(),
    );
    let encap = |ips, dst_port, dst_mac| Encapsulation {
        src_mac: MacAddr([0x02, 0, 0, 0, 0x0a, 0x01]),
        dst_mac,
        ips,
        ttl: bfd::TTL,
        src_port: 49152 + 77,
        dst_port,
    };
    let peer = MacAddr([0x02, 0, 0, 0, 0x0b, 0x01]);
    let mut out = Vec::new();
    for (ips, port, mac) in [
        (v4, bfd::MICRO_BFD_PORT, bfd::MICRO_BFD_MAC),
        (v6, bfd::MICRO_BFD_PORT, peer),
        (v4, bfd::SINGLE_HOP_PORT, peer),
        (v6, bfd::SINGLE_HOP_PORT, bfd::MICRO_BFD_MAC),
    ] {
        for state in [State::AdminDown, State::Down, State::Init, State::Up] {
            out.push(FrameRepr { encap: encap(ips, port, mac), control: control(state) });
        }
        let busy = ControlRepr {
            diag: Diagnostic::ControlDetectionTimeExpired,
            poll: true,
            demand: true,
            control_plane_independent: true,
            your_discriminator: 0xfedc_ba98,
            desired_min_tx: 10_000,
            required_min_rx: 0,
            required_min_echo_rx: 50_000,
            detect_mult: 255,
            ..control(State::Up)
        };
        out.push(FrameRepr { encap: encap(ips, port, mac), control: busy });
        let fin = ControlRepr {
            diag: Diagnostic::Other(31),
            final_: true,
            multipoint: true,
            version: 7,
            ..control(State::Init)
        };
        out.push(FrameRepr { encap: encap(ips, port, mac), control: fin });
    }
    let auths = [
        Auth::SimplePassword { key_id: 7, password: Password::new(b"ubond-frr").unwrap() },
        Auth::SimplePassword { key_id: 0, password: Password::new(&[b'x'; 16]).unwrap() },
        Auth::KeyedMd5 { meticulous: false, key_id: 1, sequence: 1, digest: [0x11; 16] },
        Auth::KeyedMd5 { meticulous: true, key_id: 2, sequence: 0xffff_fffe, digest: [0xa5; 16] },
        Auth::KeyedSha1 { meticulous: false, key_id: 3, sequence: 77, hash: [0x22; 20] },
        Auth::KeyedSha1 { meticulous: true, key_id: 255, sequence: 1 << 31, hash: [0x5a; 20] },
        Auth::Other { auth_type: 9, data: AuthData::new(&[1, 2, 3, 4]).unwrap() },
    ];
    for auth in auths {
        let c = ControlRepr { auth: Some(auth), ..control(State::Up) };
        out.push(FrameRepr { encap: encap(v4, bfd::MICRO_BFD_PORT, peer), control: c });
    }
    out
}

fn tshark_present() -> bool {
    let ok = Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success());
    assert!(ok || std::env::var_os("CI").is_none(), "CI must have tshark (apt-get install tshark)");
    if !ok {
        eprintln!("skipped: needs tshark (Debian/Ubuntu: apt-get install -y tshark)");
    }
    ok
}

/// tshark's dissection of `path`: one map of field -> value per frame, in order.
fn tshark(path: &Path) -> Vec<BTreeMap<&'static str, String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path);
    cmd.args(["-d", "udp.port==6784,bfd", "-o", "ip.check_checksum:TRUE"]);
    cmd.args(["-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=,"]);
    cmd.args(["-E", "aggregator=;", "-E", "occurrence=a", "-E", "quote=n"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("tshark output is UTF-8");
    text.lines()
        .map(|line| {
            let values: Vec<&str> = line.split(',').collect();
            assert_eq!(
                values.len(),
                FIELDS.len(),
                "tshark line with the wrong field count: {line}"
            );
            FIELDS.iter().copied().zip(values.iter().map(|v| v.to_string())).collect()
        })
        .collect()
}

/// A tshark integer: decimal, or hexadecimal with `0x`.
fn num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A tshark boolean: `1`/`0` or `True`/`False` depending on the version.
fn flag(s: &str) -> Option<bool> {
    match s {
        "1" | "True" => Some(true),
        "0" | "False" => Some(false),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[test]
fn tshark_dissects_our_bfd_frames_as_we_meant_them() {
    if !tshark_present() {
        return;
    }
    let frames = frames();
    let dir = std::env::temp_dir().join(format!("ubond-bfd-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bfd.pcap");
    {
        let file = std::fs::File::create(&path).unwrap();
        let header = PcapHeader { datalink: DataLink::ETHERNET, ..Default::default() };
        let mut w = PcapWriter::with_header(file, header).unwrap();
        for (i, f) in frames.iter().enumerate() {
            let mut b = vec![0u8; f.buffer_len()];
            f.emit(&mut b).unwrap();
            let ts = std::time::Duration::from_millis(i as u64);
            w.write_packet(&PcapPacket::new(ts, b.len() as u32, &b)).unwrap();
        }
    }
    let rows = tshark(&path);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(rows.len(), frames.len(), "tshark saw every frame");

    let mut mismatches = Vec::new();
    for (n, (f, row)) in frames.iter().zip(&rows).enumerate() {
        let mut int = |field: &str, ours: u64| {
            if num(&row[field]) != Some(ours) {
                mismatches.push(format!(
                    "frame {}: {field}: tshark {:?}, ours {ours}",
                    n + 1,
                    row[field]
                ));
            }
        };
        let c = &f.control;
        let e = &f.encap;
        match e.ips {
            IpPair::V4(..) => {
                int("ip.ttl", e.ttl.into());
                int("ip.dsfield", bfd::TOS.into());
                int("ip.checksum.status", 1); // PROTO_CHECKSUM_E_GOOD
            }
            IpPair::V6(..) => {
                int("ipv6.hlim", e.ttl.into());
                int("ipv6.tclass", bfd::TOS.into());
            }
        }
        int("udp.srcport", e.src_port.into());
        int("udp.dstport", e.dst_port.into());
        int("udp.length", (8 + c.buffer_len()) as u64);
        int("udp.checksum.status", 1);
        int("bfd.version", c.version.into());
        int("bfd.diag", u8::from(c.diag).into());
        int("bfd.sta", c.state.bits().into());
        int("bfd.detect_time_multiplier", c.detect_mult.into());
        int("bfd.message_length", c.buffer_len() as u64);
        int("bfd.my_discriminator", c.my_discriminator.into());
        int("bfd.your_discriminator", c.your_discriminator.into());
        int("bfd.desired_min_tx_interval", c.desired_min_tx.into());
        int("bfd.required_min_rx_interval", c.required_min_rx.into());
        int("bfd.required_min_echo_interval", c.required_min_echo_rx.into());
        match &c.auth {
            None => {}
            Some(auth) => {
                int("bfd.auth.type", u8::from(auth.auth_type()).into());
                int("bfd.auth.len", auth.section_len() as u64);
                match auth {
                    Auth::SimplePassword { key_id, password } => {
                        int("bfd.auth.key", (*key_id).into());
                        let theirs = &row["bfd.auth.password"];
                        if theirs.as_bytes() != password.as_bytes() {
                            mismatches.push(format!("frame {}: password {theirs:?}", n + 1));
                        }
                    }
                    Auth::KeyedMd5 { key_id, sequence, digest, .. } => {
                        int("bfd.auth.key", (*key_id).into());
                        int("bfd.auth.seq_num", (*sequence).into());
                        if row["bfd.checksum"].replace(':', "") != hex(digest) {
                            mismatches.push(format!(
                                "frame {}: digest {:?}",
                                n + 1,
                                row["bfd.checksum"]
                            ));
                        }
                    }
                    Auth::KeyedSha1 { key_id, sequence, hash, .. } => {
                        int("bfd.auth.key", (*key_id).into());
                        int("bfd.auth.seq_num", (*sequence).into());
                        if row["bfd.checksum"].replace(':', "") != hex(hash) {
                            mismatches.push(format!(
                                "frame {}: hash {:?}",
                                n + 1,
                                row["bfd.checksum"]
                            ));
                        }
                    }
                    Auth::Other { .. } => {}
                }
            }
        }
        for (field, ours) in [
            ("bfd.flags.p", c.poll),
            ("bfd.flags.f", c.final_),
            ("bfd.flags.c", c.control_plane_independent),
            ("bfd.flags.a", c.auth.is_some()),
            ("bfd.flags.d", c.demand),
            ("bfd.flags.m", c.multipoint),
        ] {
            if flag(&row[field]) != Some(ours) {
                mismatches.push(format!(
                    "frame {}: {field}: tshark {:?}, ours {ours}",
                    n + 1,
                    row[field]
                ));
            }
        }
        for (field, ours) in [("eth.dst", e.dst_mac), ("eth.src", e.src_mac)] {
            if row[field] != ours.to_string() {
                mismatches.push(format!(
                    "frame {}: {field}: tshark {:?}, ours {ours}",
                    n + 1,
                    row[field]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
