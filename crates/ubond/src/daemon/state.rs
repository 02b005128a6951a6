//! The daemon's state file, `ubond-state.json` in the control socket's directory: every bond with
//! its options, its slaves in enslave order with their own options, how each slave was found
//! (to give it back), and what LACP and BFD need to resume. A daemon that stops without releasing
//! (SIGTERM, SIGKILL, a crash, an upgrade) leaves it; the next one on the same directory runs
//! the same bonds from it ([`super::restore`]).
//!
//! The file is rewritten whole after every change (a new file written, flushed to disk and
//! renamed over the old one, the directory flushed too), so it is never torn: a reader finds
//! the old state or the new. A file that is not one (garbage, another program's, torn by a
//! failing disk) is refused with the place of the first error and nothing of it is applied; a
//! file written by a newer ubond is refused as such. Older formats are read and migrated:
//! version 0 is the journal of enslaved interfaces (`enslaved-interfaces.json`) that ubond
//! kept before this file existed.
//!
//! What the file holds is said in the kernel's words wherever the kernel has them: options as
//! their sysfs values ([`ubond_core::options::BondOptions::settings`]), MAC addresses and
//! sysctl values as `ip` and `/proc` show them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use ubond_core::bfd::{MemberResume, SessionResume};
use ubond_core::lacp::PortResume;
use ubond_sys::sysctl::Sysctl;

/// The state file's name in the control socket's directory: longer than an interface name can
/// be, so no bond's report file can take it.
pub(super) const FILE: &str = "ubond-state.json";
/// The journal of enslaved interfaces of older ubond versions (format version 0).
const JOURNAL_FILE: &str = "enslaved-interfaces.json";
/// What the file says it is.
const FORMAT: &str = "ubond-state";
/// The format version this build writes (and the newest it reads). Version 2 added what BFD
/// sessions need to resume (`bfd`, `bfd_held_ms`); a version 1 file reads as one without.
pub(super) const VERSION: u32 = 2;

/// Everything the daemon keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct State {
    /// Always `ubond-state`.
    pub format: String,
    /// The format's version ([`VERSION`]).
    pub version: u32,
    /// The ubond that wrote it (`ubond 0.1.0`), for people reading the file.
    pub written_by: String,
    /// The kernel's boot identifier when written: after a reboot the bonds' devices and
    /// programs are gone, and the slaves came up as the system configures them.
    pub boot_id: String,
    /// The bonds, in the order they were created.
    pub bonds: Vec<SavedBond>,
    /// Interfaces taken for a bond but not in it yet (a daemon stopped in the middle of
    /// enslaving them): the next daemon gives them back.
    #[serde(default)]
    pub preparing: Vec<SavedSlave>,
}

/// One bond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SavedBond {
    /// Its name (and its device's).
    pub name: String,
    /// Its MAC address (`aa:bb:cc:dd:ee:ff`), the LACP system identifier by default: kept so
    /// that a device made again has the same.
    pub mac: String,
    /// Its options as `(name, sysfs value)`: the mode, then those that differ from the
    /// default.
    pub options: Vec<(String, String)>,
    /// Its slaves, in enslave order.
    pub slaves: Vec<SavedSlave>,
    /// The active slave when written (active-backup, balance-tlb/alb): kept if its link is
    /// still up, so a restart is no failover.
    #[serde(default)]
    pub active_slave: Option<String>,
    /// When the bond last sent an LACPDU, in milliseconds since the boot: how long its
    /// partner has waited since, against the partner's timeout.
    #[serde(default)]
    pub lacpdu_sent_ms: Option<u64>,
    /// When the bond's BFD partners acknowledged that they wait for the next daemon (a stop
    /// for a restart), in milliseconds since the boot; its slaves' `bfd` are kept only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd_held_ms: Option<u64>,
}

/// One slave (or an interface being enslaved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SavedSlave {
    /// The interface.
    pub iface: String,
    /// The bond it belongs to.
    pub bond: String,
    /// Its settings as found, to give back.
    pub found: SavedFound,
    /// Its own options that differ from the default (`prio`, `queue_id`, `actor_port_prio`),
    /// as `(name, value)`.
    #[serde(default)]
    pub options: Vec<(String, String)>,
    /// What its LACP port needs to resume (802.3ad).
    #[serde(default)]
    pub lacp: Option<SavedPort>,
    /// What its BFD session needs to resume (`bfd=on`, kept by a stop for a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<SavedBfd>,
}

/// A member's BFD session to resume ([`MemberResume`]): RFC 5880's state variables that the
/// partner knows us by. Intervals in microseconds, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SavedBfd {
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr.
    pub remote_discr: u32,
    /// The Desired Min TX Interval we advertised last.
    pub desired_min_tx_us: u32,
    /// The Required Min RX Interval we advertised last.
    pub required_min_rx_us: u32,
    /// The Detect Mult we advertised last.
    pub detect_mult: u8,
    /// The partner's last Desired Min TX Interval.
    pub remote_desired_min_tx_us: u32,
    /// The partner's last Required Min RX Interval.
    pub remote_min_rx_us: u32,
    /// The partner's last Detect Mult.
    pub remote_detect_mult: u8,
    /// Our UDP source port.
    pub src_port: u16,
    /// The partner's MAC address (`aa:bb:cc:dd:ee:ff`), once learnt.
    pub peer_mac: Option<String>,
}

impl SavedBfd {
    /// The session's state for the core.
    pub(super) fn resume(&self) -> Result<MemberResume> {
        let peer_mac = match &self.peer_mac {
            Some(m) => Some(m.parse().map_err(|_| anyhow::anyhow!("bad peer_mac {m:?}"))?),
            None => None,
        };
        Ok(MemberResume {
            session: SessionResume {
                local_discr: self.local_discr,
                remote_discr: self.remote_discr,
                desired_min_tx: self.desired_min_tx_us,
                required_min_rx: self.required_min_rx_us,
                detect_mult: self.detect_mult,
                remote_desired_min_tx: self.remote_desired_min_tx_us,
                remote_min_rx: self.remote_min_rx_us,
                remote_detect_mult: self.remote_detect_mult,
            },
            src_port: self.src_port,
            peer_mac,
        })
    }

    /// The core's session state, to save.
    pub(super) fn of(r: &MemberResume) -> SavedBfd {
        let s = &r.session;
        SavedBfd {
            local_discr: s.local_discr,
            remote_discr: s.remote_discr,
            desired_min_tx_us: s.desired_min_tx,
            required_min_rx_us: s.required_min_rx,
            detect_mult: s.detect_mult,
            remote_desired_min_tx_us: s.remote_desired_min_tx,
            remote_min_rx_us: s.remote_min_rx,
            remote_detect_mult: s.remote_detect_mult,
            src_port: r.src_port,
            peer_mac: r.peer_mac.map(|m| m.to_string()),
        }
    }
}

/// An interface's settings as found before it was enslaved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SavedFound {
    /// Its MAC address (`aa:bb:cc:dd:ee:ff`).
    pub mac: String,
    /// Administratively up.
    pub up: bool,
    /// Its MTU.
    pub mtu: Option<u32>,
    /// The sysctls enslaving changed, with their values as found.
    pub sysctls: Vec<Sysctl>,
}

/// A port's LACP state to resume ([`PortResume`]), the partner's LACPDU in hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SavedPort {
    /// `actor_port_number`.
    pub port_number: u16,
    /// The identifier of the aggregator the port owns.
    pub aggregator_id: u16,
    /// The partner's last LACPDU, hexadecimal.
    pub partner_lacpdu: Option<String>,
}

impl SavedPort {
    /// The port's state for the core.
    pub(super) fn resume(&self) -> Result<PortResume> {
        let partner_pdu = match &self.partner_lacpdu {
            Some(hex) => Some(from_hex(hex).context("partner_lacpdu is not hexadecimal")?),
            None => None,
        };
        Ok(PortResume {
            port_number: self.port_number,
            aggregator_id: self.aggregator_id,
            partner_pdu,
        })
    }

    /// The core's port state, to save.
    pub(super) fn of(r: &PortResume) -> SavedPort {
        SavedPort {
            port_number: r.port_number,
            aggregator_id: r.aggregator_id,
            partner_lacpdu: r.partner_pdu.as_deref().map(to_hex),
        }
    }
}

impl State {
    /// An empty state of this boot.
    pub(super) fn new(boot_id: String) -> State {
        State {
            format: FORMAT.to_owned(),
            version: VERSION,
            written_by: format!("ubond {}", env!("CARGO_PKG_VERSION")),
            boot_id,
            bonds: Vec::new(),
            preparing: Vec::new(),
        }
    }
}

/// Why a state file was not used.
#[derive(Debug)]
pub(super) enum Refused {
    /// Not a state file: garbage, torn, another program's. The message names the place.
    NotAState(String),
    /// Written by a newer ubond, whose format this one does not know.
    Newer {
        /// The file's version.
        version: u32,
    },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotAState(why) => write!(f, "{why}"),
            Refused::Newer { version } => write!(
                f,
                "it was written by a newer ubond (format version {version}; this one reads up to \
                 {VERSION}): run that ubond, or move the file away to start without its bonds"
            ),
        }
    }
}

/// Reads the state left in `dir`: `Ok(None)` if there is none, `Err(Refused)` if it cannot be
/// used (nothing of it is then applied), an `anyhow` error if it cannot be read at all.
pub(super) fn load(dir: &Path) -> Result<std::result::Result<Option<State>, Refused>> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(load_journal(dir)?)),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Ok(Err(Refused::NotAState("it is not UTF-8 text".to_owned())))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(parse(&text))
}

/// Parses a state file's text (see [`load`]).
pub(super) fn parse(text: &str) -> std::result::Result<Option<State>, Refused> {
    let place = |e: &serde_json::Error| format!("line {}, column {}: {e}", e.line(), e.column());
    // First what the file says it is, so that a newer format is named as such rather than
    // refused for a field this build does not know.
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let header: Header = serde_json::from_str(text).map_err(|e| {
        // A file that names itself ours but does not parse is ours, damaged (torn).
        let what = if text.contains(&format!("\"{FORMAT}\"")) {
            "a damaged ubond state file"
        } else {
            "not a ubond state file"
        };
        Refused::NotAState(format!("{what} ({})", place(&e)))
    })?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err(Refused::NotAState(format!(
            "not a ubond state file (its \"format\" is {:?}, not {FORMAT:?})",
            header.format.unwrap_or_default()
        )));
    }
    match header.version {
        Some(v) if v > VERSION => Err(Refused::Newer { version: v }),
        Some(1 | VERSION) => serde_json::from_str::<State>(text)
            .map(|st| Some(State { version: VERSION, ..st }))
            .map_err(|e| Refused::NotAState(format!("a damaged ubond state file ({})", place(&e)))),
        v => Err(Refused::NotAState(format!(
            "a ubond state file of unknown format version {}",
            v.map_or("(none)".to_owned(), |v| v.to_string())
        ))),
    }
}

/// Reads the journal an older ubond left (format version 0) as a state whose interfaces are
/// all to be given back: it knew no bond well enough to run it again.
fn load_journal(dir: &Path) -> Result<Option<State>> {
    #[derive(Deserialize)]
    struct Journaled {
        bond: String,
        iface: String,
        mac: String,
        up: bool,
        mtu: Option<u32>,
        sysctls: Vec<Sysctl>,
    }
    let path = dir.join(JOURNAL_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let old: Vec<Journaled> = serde_json::from_str(&text).with_context(|| {
        format!("{}: not a ubond journal; move it away if it is stale", path.display())
    })?;
    let mut state = State::new(String::new());
    state.preparing = old
        .into_iter()
        .map(|j| SavedSlave {
            iface: j.iface,
            bond: j.bond,
            found: SavedFound { mac: j.mac, up: j.up, mtu: j.mtu, sysctls: j.sysctls },
            options: Vec::new(),
            lacp: None,
            bfd: None,
        })
        .collect();
    Ok(Some(state))
}

/// Moves a refused state file aside (`ubond-state.json.refused`), so that the next write does
/// not lose it and an operator can read it; returns where it went.
pub(super) fn set_aside(dir: &Path) -> Result<PathBuf> {
    let from = dir.join(FILE);
    let to = dir.join(format!("{FILE}.refused"));
    std::fs::rename(&from, &to).with_context(|| format!("cannot move {} away", from.display()))?;
    Ok(to)
}

/// Writes `state` to `dir`, replacing the file in one step; an empty state removes it (and
/// the journal of an older ubond). With `flush`, the file and the rename reach the disk before
/// this returns. Without, they reach the page cache, which a dying daemon does not lose: only
/// a power loss or a kernel crash does, and those end the boot, after which the file's bonds
/// are not run again anyway. The daemon flushes what a request changed (and what it leaves
/// when it stops), not what its links and partners changed (LACP states, the active slave, when
/// the last LACPDU left): a disk flush can stall the event loop for tens of milliseconds,
/// longer than a fast BFD Detection Time, and those changes come exactly when links fail.
pub(super) fn save(dir: &Path, state: &State, flush: bool) -> Result<()> {
    let path = dir.join(FILE);
    let _ = std::fs::remove_file(dir.join(JOURNAL_FILE));
    if state.bonds.is_empty() && state.preparing.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let mut text = serde_json::to_vec_pretty(state)?;
    text.push(b'\n');
    let tmp = dir.join(format!(".{FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode_0600()
            .open(&tmp)?;
        f.write_all(&text)?;
        if flush {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        // The rename itself reaches the disk with the directory.
        if flush {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Files of the state are the daemon's (root's) alone.
trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Result<Vec<u8>> {
    if s.len() % 2 != 0 {
        bail!("odd number of digits");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(anyhow::Error::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ubond-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    fn sample() -> State {
        let mut s = State::new("0e5e1fbe-9a6a-4bd8-9d47-43c5b7f49a8f".to_owned());
        s.bonds.push(SavedBond {
            name: "bond0".into(),
            mac: "02:00:00:00:00:01".into(),
            options: vec![("mode".into(), "802.3ad 4".into()), ("miimon".into(), "100".into())],
            slaves: vec![SavedSlave {
                iface: "eth0".into(),
                bond: "bond0".into(),
                found: SavedFound {
                    mac: "52:54:00:12:34:56".into(),
                    up: false,
                    mtu: Some(1500),
                    sysctls: vec![("/proc/sys/net/ipv4/conf/eth0/arp_ignore".into(), "0\n".into())],
                },
                options: vec![("prio".into(), "10".into())],
                lacp: Some(SavedPort {
                    port_number: 1,
                    aggregator_id: 1,
                    partner_lacpdu: Some("0101".into()),
                }),
                bfd: Some(SavedBfd {
                    local_discr: 7,
                    remote_discr: 9,
                    desired_min_tx_us: 1_000_000,
                    required_min_rx_us: 50_000,
                    detect_mult: 3,
                    remote_desired_min_tx_us: 50_000,
                    remote_min_rx_us: 50_000,
                    remote_detect_mult: 3,
                    src_port: 49_200,
                    peer_mac: Some("52:54:00:12:34:57".into()),
                }),
            }],
            active_slave: None,
            lacpdu_sent_ms: Some(123_456),
            bfd_held_ms: Some(123_400),
        });
        s
    }

    #[test]
    fn written_and_read_back_and_removed_when_empty() {
        let d = dir("round");
        assert!(matches!(load(&d).expect("load"), Ok(None)));
        let s = sample();
        save(&d, &s, true).expect("save");
        assert!(matches!(load(&d).expect("load"), Ok(Some(ref back)) if *back == s));
        assert!(!d.join(format!(".{FILE}.tmp")).exists());
        save(&d, &State::new(String::new()), false).expect("empty");
        assert!(!d.join(FILE).exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn garbage_torn_foreign_and_newer_files_are_refused_with_their_place() {
        let text = serde_json::to_string_pretty(&sample()).expect("json");
        let refused = |t: &str| match parse(t) {
            Err(r) => r.to_string(),
            Ok(s) => panic!("accepted {t:?}: {s:?}"),
        };
        let torn = &text[..text.len() / 2];
        let m = refused(torn);
        assert!(m.contains("damaged") && m.contains("line "), "{m}");
        let m = refused("\u{1}garbage");
        assert!(m.contains("not a ubond state file") && m.contains("line 1, column 1"), "{m}");
        let m = refused(r#"{"format": "something-else", "version": 1}"#);
        assert!(m.contains("\"something-else\""), "{m}");
        let version = format!("\"version\": {VERSION}");
        let m = refused(&text.replace(&version, "\"version\": 7"));
        assert!(m.contains("newer ubond") && m.contains("version 7"), "{m}");
        let m = refused(&text.replace("\"miimon\"", "\"miimon\", \"x\""));
        assert!(m.contains("line "), "{m}");
        let m = refused(&text.replace("\"bonds\"", "\"bondz\""));
        assert!(m.contains("bondz"), "{m}");
        let m = refused(&text.replace(&version, "\"version\": 0"));
        assert!(m.contains("unknown format version 0"), "{m}");
    }

    #[test]
    fn a_version_1_file_is_read_as_one_without_bfd_sessions_to_resume() {
        let mut v1 = sample();
        v1.bonds[0].bfd_held_ms = None;
        v1.bonds[0].slaves[0].bfd = None;
        let text = serde_json::to_string_pretty(&v1).expect("json");
        let text = text.replace(&format!("\"version\": {VERSION}"), "\"version\": 1");
        assert!(!text.contains("bfd"), "{text}");
        let back = parse(&text).expect("read").expect("a state");
        assert_eq!(back, v1, "read, and written again as the current version");
    }

    #[test]
    fn bfd_sessions_go_through_the_file() {
        let saved = sample().bonds[0].slaves[0].bfd.clone().expect("bfd");
        let r = saved.resume().expect("resume");
        assert_eq!(r.session.remote_patience(), std::time::Duration::from_secs(3));
        assert_eq!(SavedBfd::of(&r), saved);
        let bad = SavedBfd { peer_mac: Some("nope".into()), ..saved };
        assert!(bad.resume().is_err());
    }

    #[test]
    fn an_older_journal_is_read_as_interfaces_to_give_back() {
        let d = dir("journal");
        std::fs::write(
            d.join(JOURNAL_FILE),
            r#"[{"bond":"bond0","iface":"eth0","mac":"52:54:00:12:34:56","up":true,"mtu":1500,"sysctls":[]}]"#,
        )
        .expect("write");
        let s = load(&d).expect("load").expect("accepted").expect("a state");
        assert!(s.bonds.is_empty());
        assert_eq!(s.preparing.len(), 1);
        assert_eq!(s.preparing[0].iface, "eth0");
        // Writing the state ends the journal.
        save(&d, &sample(), false).expect("save");
        assert!(!d.join(JOURNAL_FILE).exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn lacpdus_go_through_hex() {
        let r =
            PortResume { port_number: 3, aggregator_id: 2, partner_pdu: Some(vec![1, 0xab, 0]) };
        let saved = SavedPort::of(&r);
        assert_eq!(saved.partner_lacpdu.as_deref(), Some("01ab00"));
        assert_eq!(saved.resume().expect("back"), r);
        let bad = SavedPort { partner_lacpdu: Some("0g".into()), ..saved };
        assert!(bad.resume().is_err());
    }
}
