//! Slow Protocols frames captured from the real Linux bonding driver (Debian 6.1 kernel in a QEMU
//! guest, `interop/kernel-vm`), decoded by `ubond_wire::slow` and cross-checked field by field
//! against tshark's dissection of the same frames.
//!
//! Recipe: `tools/capture-kernel-vectors.sh` (as root; ~5 minutes) writes every pcap in
//! `tests/vectors/`; `tests/vectors/README.md` says what each file holds. The guest's NICs are
//! 52:54:00:0a:00:00 (eth0, also the bond's system id) and 52:54:00:0a:00:01 (eth1); the scripted
//! partner in the namespace sends from 02:00:00:00:0b:01/02 with system id 02:00:00:00:00:0b.
//!
//! This test needs `tshark` (Debian/Ubuntu package `tshark`; CI installs it). Without it the test
//! FAILS, on purpose: a silently skipped cross-check is worse than none.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;
use ubond_wire::slow::{self, LacpduRepr, MarkerKind, MarkerRepr, Packet, Subtype};
use ubond_wire::MacAddr;

/// The guest's NIC MACs: frames from these were sent by the kernel.
const GUEST_MACS: [MacAddr; 2] =
    [MacAddr([0x52, 0x54, 0x00, 0x0a, 0x00, 0x00]), MacAddr([0x52, 0x54, 0x00, 0x0a, 0x00, 0x01])];

/// Files the capture recipe writes; each must be present and hold Slow Protocols frames.
const EXPECTED_FILES: [&str; 5] = [
    "kernel-6.1-lacp-fast.pcap",
    "kernel-6.1-lacp-slow.pcap",
    "kernel-6.1-lacp-passive.pcap",
    "kernel-6.1-lacp-expire.pcap",
    "kernel-6.1-marker.pcap",
];

/// The fields asked of tshark, in this order (`tshark -G fields` names, Wireshark 4.0).
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.len",
    "eth.dst",
    "eth.src",
    "eth.type",
    "slow.subtype",
    "lacp.version",
    "lacp.tlv_type",
    "lacp.tlv_length",
    "lacp.actor.sys_priority",
    "lacp.actor.sysid",
    "lacp.actor.key",
    "lacp.actor.port_priority",
    "lacp.actor.port",
    "lacp.actor.state",
    "lacp.actor.reserved",
    "lacp.partner.sys_priority",
    "lacp.partner.sysid",
    "lacp.partner.key",
    "lacp.partner.port_priority",
    "lacp.partner.port",
    "lacp.partner.state",
    "lacp.partner.reserved",
    "lacp.collector.max_delay",
    "lacp.coll_reserved",
    "lacp.pad",
    "marker.version",
    "marker.tlvType",
    "marker.tlvLen",
    "marker.requesterPort",
    "marker.requesterSystem",
    "marker.requesterTransId",
    "marker.requesterPad",
    "marker.reserved",
];

/// Reserved octet ranges of an LACPDU (offsets from the subtype): actor, partner, collector
/// reserved, and the 50 octets after the Terminator TLV.
const LACPDU_RESERVED: [(usize, usize); 4] = [(19, 22), (39, 42), (46, 58), (60, 110)];
/// Reserved octet ranges of a Marker PDU: the 2-octet pad and the 90 octets after the Terminator.
const MARKER_RESERVED: [(usize, usize); 2] = [(16, 18), (20, 110)];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("vectors")
}

/// One captured frame, numbered from 1 as tshark numbers them.
struct Frame {
    number: u64,
    data: Vec<u8>,
}

fn read_pcap(path: &Path) -> Vec<Frame> {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader =
        PcapReader::new(file).unwrap_or_else(|e| panic!("{}: not a pcap: {e}", path.display()));
    assert_eq!(
        reader.header().datalink,
        DataLink::ETHERNET,
        "{}: link type must be Ethernet",
        path.display()
    );
    let mut frames = Vec::new();
    let mut number = 0;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap_or_else(|e| panic!("{}: bad record: {e}", path.display()));
        number += 1;
        assert_eq!(
            packet.orig_len as usize,
            packet.data.len(),
            "{} frame {number}: truncated capture (snaplen)",
            path.display()
        );
        frames.push(Frame { number, data: packet.data.into_owned() });
    }
    frames
}

/// tshark's dissection: frame number -> field name -> value as printed by `-T fields`
/// (repeated fields joined with `;`).
type Dissection = BTreeMap<u64, BTreeMap<&'static str, String>>;

fn tshark(path: &Path) -> Dissection {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path).args(["-T", "fields", "-E", "separator=,"]);
    cmd.args(["-E", "aggregator=;", "-E", "occurrence=a", "-E", "quote=n"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "tshark is not installed, and this test cross-checks our Slow Protocols decoder \
             against Wireshark's dissector: install it (Debian/Ubuntu: `apt-get install -y \
             tshark`; CI installs it) and run again"
        ),
        Err(e) => panic!("cannot run tshark: {e}"),
    };
    assert!(
        out.status.success(),
        "tshark -r {} failed ({}): {}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("tshark output is UTF-8");
    let mut rows = Dissection::new();
    for line in text.lines() {
        let values: Vec<&str> = line.split(',').collect();
        assert_eq!(values.len(), FIELDS.len(), "tshark line with the wrong field count: {line}");
        let row: BTreeMap<&'static str, String> =
            FIELDS.iter().copied().zip(values.iter().map(|v| v.to_string())).collect();
        let number = num(&row["frame.number"]);
        rows.insert(number, row);
    }
    rows
}

/// A tshark integer: decimal, or hexadecimal with `0x`.
fn num(s: &str) -> u64 {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.unwrap_or_else(|e| panic!("tshark printed {s:?}, not an integer: {e}"))
}

/// A repeated tshark field as integers.
fn nums(s: &str) -> Vec<u64> {
    s.split(';').map(num).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Compares one tshark field with our value; collects the mismatch instead of stopping.
struct Check<'a> {
    file: &'a str,
    number: u64,
    row: &'a BTreeMap<&'static str, String>,
    mismatches: &'a mut Vec<String>,
}

impl Check<'_> {
    fn int(&mut self, field: &str, ours: u64) {
        let theirs = self.row[field].as_str();
        if theirs.is_empty() || num(theirs) != ours {
            self.mismatches.push(format!(
                "{} frame {}: {field}: tshark {theirs:?}, ubond {ours} (0x{ours:x})",
                self.file, self.number
            ));
        }
    }

    fn text(&mut self, field: &str, ours: &str) {
        let theirs = self.row[field].as_str();
        if !theirs.eq_ignore_ascii_case(ours) {
            self.mismatches.push(format!(
                "{} frame {}: {field}: tshark {theirs:?}, ubond {ours:?}",
                self.file, self.number
            ));
        }
    }
}

fn check_port_info(c: &mut Check<'_>, who: &str, info: &slow::PortInfo) {
    c.int(&format!("lacp.{who}.sys_priority"), info.system_priority.into());
    c.text(&format!("lacp.{who}.sysid"), &info.system.to_string());
    c.int(&format!("lacp.{who}.key"), info.key.into());
    c.int(&format!("lacp.{who}.port_priority"), info.port_priority.into());
    c.int(&format!("lacp.{who}.port"), info.port.into());
    c.int(&format!("lacp.{who}.state"), info.state.0.into());
}

/// Copies `pdu` with the given ranges zeroed.
fn without(pdu: &[u8], ranges: &[(usize, usize)]) -> Vec<u8> {
    let mut v = pdu.to_vec();
    for &(a, b) in ranges {
        v[a..b].fill(0);
    }
    v
}

fn all_zero(pdu: &[u8], ranges: &[(usize, usize)]) -> bool {
    ranges.iter().all(|&(a, b)| pdu[a..b].iter().all(|&x| x == 0))
}

#[derive(Default)]
struct Totals {
    lacpdus: usize,
    kernel_lacpdus: usize,
    markers: usize,
    kernel_marker_responses: usize,
}

fn check_file(path: &Path, totals: &mut Totals, mismatches: &mut Vec<String>) {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("?").to_string();
    let frames = read_pcap(path);
    let dissection = tshark(path);
    assert_eq!(
        dissection.len(),
        frames.len(),
        "{file}: tshark saw {} frames, pcap-file {}",
        dissection.len(),
        frames.len()
    );
    let mut slow_frames = 0;
    // Marker PDUs seen so far in this file: (sender is the kernel, repr, the 110 PDU octets).
    let mut markers: Vec<(bool, MarkerRepr, Vec<u8>)> = Vec::new();

    for frame in &frames {
        let d = &frame.data;
        let n = frame.number;
        let row = &dissection[&n];
        let ethertype = d.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let is_slow = ethertype == Some(slow::ETHERTYPE);
        assert_eq!(
            is_slow,
            !row["slow.subtype"].is_empty(),
            "{file} frame {n}: tshark and we disagree on whether this is a Slow Protocols frame"
        );
        if !is_slow {
            continue;
        }
        slow_frames += 1;
        let dst = MacAddr::from_slice(&d[0..6]).expect("6 octets");
        let src = MacAddr::from_slice(&d[6..12]).expect("6 octets");
        let from_kernel = GUEST_MACS.contains(&src);
        let mut c = Check { file: &file, number: n, row, mismatches };
        c.text("eth.dst", &dst.to_string());
        c.text("eth.src", &src.to_string());
        c.int("frame.len", d.len() as u64);

        let pdu_bytes = &d[14..];
        let packet = Packet::new_checked(pdu_bytes)
            .unwrap_or_else(|e| panic!("{file} frame {n}: Packet::new_checked: {e}"));
        c.int("slow.subtype", u8::from(packet.subtype()).into());
        let pdu = &pdu_bytes[..slow::PDU_LEN];
        let mut emitted = [0u8; slow::PDU_LEN];

        match packet.subtype() {
            Subtype::Lacp => {
                totals.lacpdus += 1;
                let repr = LacpduRepr::parse(&packet)
                    .unwrap_or_else(|e| panic!("{file} frame {n}: LacpduRepr::parse: {e}"));
                assert!(
                    MarkerRepr::parse(&packet).is_err(),
                    "{file} frame {n}: an LACPDU parsed as a Marker"
                );
                c.int("lacp.version", repr.version.into());
                check_port_info(&mut c, "actor", &repr.actor);
                check_port_info(&mut c, "partner", &repr.partner);
                c.int("lacp.collector.max_delay", repr.collector_max_delay.into());
                // TLV types and lengths as tshark walked them, against the raw octets.
                let ours_types = [pdu[2], pdu[22], pdu[42], pdu[58]].map(u64::from).to_vec();
                let ours_lens = [pdu[3], pdu[23], pdu[43], pdu[59]].map(u64::from).to_vec();
                if nums(&row["lacp.tlv_type"]) != ours_types
                    || nums(&row["lacp.tlv_length"]) != ours_lens
                {
                    c.mismatches.push(format!(
                        "{file} frame {n}: TLVs: tshark types {} lengths {}, octets {ours_types:?} {ours_lens:?}",
                        row["lacp.tlv_type"], row["lacp.tlv_length"]
                    ));
                }
                // Reserved fields: tshark's view against the raw octets.
                c.text("lacp.actor.reserved", &hex(&pdu[19..22]));
                c.text("lacp.partner.reserved", &hex(&pdu[39..42]));
                c.text("lacp.coll_reserved", &hex(&pdu[46..58]));
                c.text("lacp.pad", &hex(&pdu[60..110]));
                assert_eq!(
                    packet.extension_tlvs().count(),
                    0,
                    "{file} frame {n}: v1 has no extension TLVs"
                );

                // Re-emit: the same 110 octets, reserved fields aside (we zero them).
                repr.emit(&mut Packet::new_unchecked(&mut emitted[..]))
                    .unwrap_or_else(|e| panic!("{file} frame {n}: emit: {e}"));
                if all_zero(pdu, &LACPDU_RESERVED) {
                    assert_eq!(emitted[..], pdu[..], "{file} frame {n}: re-emitted LACPDU differs");
                } else {
                    assert_eq!(
                        emitted[..],
                        without(pdu, &LACPDU_RESERVED)[..],
                        "{file} frame {n}: re-emitted LACPDU differs outside the reserved fields"
                    );
                }

                if from_kernel {
                    totals.kernel_lacpdus += 1;
                    // What we rely on about the kernel's LACPDUs.
                    assert!(d.len() >= slow::FRAME_LEN, "{file} frame {n}: {} octets", d.len());
                    assert!(
                        d[slow::FRAME_LEN..].iter().all(|&b| b == 0),
                        "{file} frame {n}: non-zero padding after the PDU"
                    );
                    assert_eq!(dst, slow::MULTICAST_ADDR, "{file} frame {n}: destination");
                    assert_eq!(repr.version, 1, "{file} frame {n}: version");
                    assert_eq!(
                        (pdu[2], pdu[3], pdu[22], pdu[23], pdu[42], pdu[43], pdu[58], pdu[59]),
                        (1, 20, 2, 20, 3, 16, 0, 0),
                        "{file} frame {n}: TLV types/lengths"
                    );
                    assert!(
                        all_zero(pdu, &LACPDU_RESERVED),
                        "{file} frame {n}: the kernel sent non-zero reserved octets"
                    );
                    assert_eq!(repr.actor.system, GUEST_MACS[0], "{file} frame {n}: actor system");
                    assert_eq!(
                        src,
                        GUEST_MACS[usize::from(repr.actor.port) - 1],
                        "{file} frame {n}: port N is sent from ethN-1's MAC"
                    );
                }
            }
            Subtype::Marker => {
                totals.markers += 1;
                let repr = MarkerRepr::parse(&packet)
                    .unwrap_or_else(|e| panic!("{file} frame {n}: MarkerRepr::parse: {e}"));
                assert!(
                    LacpduRepr::parse(&packet).is_err(),
                    "{file} frame {n}: a Marker parsed as an LACPDU"
                );
                c.int("marker.version", repr.version.into());
                // tshark also lists the Terminator TLV: "0x01;0x00".
                let types = nums(&row["marker.tlvType"]);
                let lens = nums(&row["marker.tlvLen"]);
                if types != [u64::from(u8::from(repr.kind)), 0] || lens != [u64::from(pdu[3]), 0] {
                    c.mismatches.push(format!(
                        "{file} frame {n}: marker TLVs: tshark types {} lengths {}, ubond kind {:?} length {}",
                        row["marker.tlvType"], row["marker.tlvLen"], repr.kind, pdu[3]
                    ));
                }
                c.int("marker.requesterPort", repr.requester_port.into());
                c.text("marker.requesterSystem", &repr.requester_system.to_string());
                c.int("marker.requesterTransId", repr.requester_transaction_id.into());
                c.int("marker.requesterPad", u16::from_be_bytes([pdu[16], pdu[17]]).into());
                c.text("marker.reserved", &hex(&pdu[20..110]));

                repr.emit(&mut Packet::new_unchecked(&mut emitted[..]))
                    .unwrap_or_else(|e| panic!("{file} frame {n}: emit: {e}"));
                if all_zero(pdu, &MARKER_RESERVED) {
                    assert_eq!(emitted[..], pdu[..], "{file} frame {n}: re-emitted Marker differs");
                } else {
                    assert_eq!(
                        emitted[..],
                        without(pdu, &MARKER_RESERVED)[..],
                        "{file} frame {n}: re-emitted Marker differs outside pad/reserved"
                    );
                }

                if from_kernel {
                    // The kernel only answers: every Marker it sends is the Response to the
                    // latest Marker Information with the same requester fields, and it echoes
                    // that PDU octet for octet (pad and reserved included) but for the TLV type.
                    totals.kernel_marker_responses += 1;
                    assert_eq!(d.len(), slow::FRAME_LEN, "{file} frame {n}: length");
                    assert_eq!(dst, slow::MULTICAST_ADDR, "{file} frame {n}: destination");
                    assert_eq!(repr.kind, MarkerKind::Response, "{file} frame {n}: kind");
                    let (_, info, info_pdu) = markers
                        .iter()
                        .rev()
                        .find(|(k, m, _)| {
                            !k && m.kind == MarkerKind::Information && m.response() == repr
                        })
                        .unwrap_or_else(|| {
                            panic!("{file} frame {n}: a Marker Response with no Marker Information")
                        });
                    assert_eq!(info.response(), repr);
                    let mut expected = info_pdu.clone();
                    expected[2] = 2;
                    assert_eq!(pdu[..], expected[..], "{file} frame {n}: not an octet-exact echo");
                }
                markers.push((from_kernel, repr, pdu.to_vec()));
            }
            Subtype::Other(t) => panic!("{file} frame {n}: unexpected Slow Protocols subtype {t}"),
        }
    }

    // Every Marker Information sent to the kernel was answered, and nothing else was.
    for (i, (from_kernel, m, _)) in markers.iter().enumerate() {
        if *from_kernel {
            continue;
        }
        let answered = markers[i + 1..].iter().any(|(k, r, _)| *k && *r == m.response());
        match m.kind {
            MarkerKind::Information => {
                assert!(answered, "{file}: Marker Information {m:?} got no Marker Response")
            }
            _ => assert!(!answered, "{file}: the kernel answered a non-Information Marker {m:?}"),
        }
    }
    assert!(slow_frames > 0, "{file}: no Slow Protocols frames");
    eprintln!("{file}: {} frames, {slow_frames} Slow Protocols frames checked", frames.len());
}

#[test]
fn kernel_vectors_decode_like_tshark() {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    for name in EXPECTED_FILES {
        assert!(
            files.iter().any(|p| p.ends_with(name)),
            "missing vector {name} in {}",
            dir.display()
        );
    }

    let mut totals = Totals::default();
    let mut mismatches = Vec::new();
    for path in &files {
        check_file(path, &mut totals, &mut mismatches);
    }
    assert!(
        mismatches.is_empty(),
        "ubond_wire::slow and tshark disagree ({} fields):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(totals.kernel_lacpdus > 0 && totals.kernel_marker_responses > 0);
    eprintln!(
        "{} files: {} LACPDUs ({} from the kernel), {} Marker PDUs ({} kernel Marker Responses)",
        files.len(),
        totals.lacpdus,
        totals.kernel_lacpdus,
        totals.markers,
        totals.kernel_marker_responses
    );
}
