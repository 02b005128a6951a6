//! `ubond`: userspace Linux NIC bonding.
//!
//! Today the binary decodes captures; the daemon, control verbs, configuration tools and the lab
//! arrive as their issues land.

use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use pcap_file::pcap::PcapReader;
use ubond_wire::slow::{self, LacpduRepr, MarkerRepr, PortInfo, Subtype};
use ubond_wire::MacAddr;

#[derive(Parser)]
#[command(name = "ubond", version, about = "Userspace Linux NIC bonding (link aggregation)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode the LACPDUs and Marker PDUs of pcap captures (tcpdump -w, tshark -F pcap).
    Decode {
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { files } => files.iter().try_for_each(decode),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ubond: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn decode(path: &PathBuf) -> Result<()> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut reader = PcapReader::new(file).with_context(|| {
        format!(
            "{}: not a pcap file (pcapng? convert it with `editcap -F pcap IN OUT`)",
            path.display()
        )
    })?;
    let mut first = None;
    let mut n = 0u64;
    let mut out = String::new();
    while let Some(packet) = reader.next_packet() {
        n += 1;
        let packet =
            packet.with_context(|| format!("{}: frame {n}: truncated record", path.display()))?;
        let t0 = *first.get_or_insert(packet.timestamp);
        let t = packet.timestamp.saturating_sub(t0).as_secs_f64();
        if let Some(line) = describe(&packet.data) {
            writeln!(out, "{n:6} {t:11.6} {line}")?;
        }
    }
    if n == 0 {
        bail!("{}: the capture holds no frames", path.display());
    }
    print!("{out}");
    Ok(())
}

fn info(label: &str, p: &PortInfo) -> String {
    let flags = p.state.flags();
    format!(
        "{label} {} prio {} key {} port {} port-prio {} state {} ({})",
        p.system,
        p.system_priority,
        p.key,
        p.port,
        p.port_priority,
        p.state,
        String::from_utf8_lossy(&flags)
    )
}

/// One line for a Slow Protocols frame, `None` for any other frame.
fn describe(frame: &[u8]) -> Option<String> {
    if frame.len() < 14 || frame[12..14] != slow::ETHERTYPE.to_be_bytes() {
        return None;
    }
    let src = MacAddr::from_slice(&frame[6..12])?;
    let Ok(packet) = slow::Packet::new_checked(&frame[14..]) else {
        return Some(format!("{src} slow protocols: short PDU ({} octets)", frame.len() - 14));
    };
    Some(match packet.subtype() {
        Subtype::Lacp => match LacpduRepr::parse(&packet) {
            Ok(pdu) => format!(
                "{src} LACPv{} {} | {}",
                pdu.version,
                info("ACTOR", &pdu.actor),
                info("PARTNER", &pdu.partner)
            ),
            Err(e) => format!("{src} LACPDU: {e}"),
        },
        Subtype::Marker => match MarkerRepr::parse(&packet) {
            Ok(m) => format!(
                "{src} Marker {:?} requester {} port {} transaction {:#010x}",
                m.kind, m.requester_system, m.requester_port, m.requester_transaction_id
            ),
            Err(e) => format!("{src} Marker: {e}"),
        },
        Subtype::Other(s) => format!("{src} slow protocols subtype {s}"),
    })
}
