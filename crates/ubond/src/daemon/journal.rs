//! The daemon's journal of enslaved interfaces: how each was found (MAC, admin state, MTU, the
//! sysctls changed), rewritten whenever a slave comes or goes. A daemon that stops cleanly gives
//! every slave back and removes the journal; one that was killed (SIGKILL, a crash, a power cut
//! of the service manager) leaves it, and the next daemon on the same control socket directory
//! puts those interfaces back as they were before it starts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The journal's file name in the control socket's directory: longer than an interface name
/// can be, so no bond's report file can take it.
pub const FILE: &str = "enslaved-interfaces.json";

/// One enslaved interface, as it was before the daemon changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSlave {
    /// The bond it was enslaved to.
    pub bond: String,
    /// The interface.
    pub iface: String,
    /// Its MAC address as found.
    pub mac: String,
    /// Whether it was administratively up.
    pub up: bool,
    /// Its MTU as found.
    pub mtu: Option<u32>,
    /// The sysctls changed, with their values as found.
    pub sysctls: Vec<(PathBuf, String)>,
}

/// Writes the journal (atomically: a new file renamed over the old); an empty list removes it.
pub fn save(dir: &Path, slaves: &[SavedSlave]) -> Result<()> {
    let path = dir.join(FILE);
    if slaves.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => return Ok(()),
        }
    }
    let tmp = dir.join(format!(".{FILE}.tmp"));
    let text = serde_json::to_string_pretty(slaves)?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a journal left behind; none is an empty list. A journal that cannot be read is an
/// error that names the file, so the operator can look at it (the daemon goes on).
pub fn load(dir: &Path) -> Result<Vec<SavedSlave>> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a ubond journal ({} bytes); move it away if it is stale",
            path.display(),
            text.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ubond-journal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn saves_loads_and_removes() {
        let d = dir("round");
        let s = SavedSlave {
            bond: "bond0".into(),
            iface: "eth0".into(),
            mac: "52:54:00:12:34:56".into(),
            up: false,
            mtu: Some(1500),
            sysctls: vec![("/proc/sys/net/ipv4/conf/eth0/arp_ignore".into(), "0".into())],
        };
        assert_eq!(load(&d).ok(), Some(vec![]));
        assert!(save(&d, std::slice::from_ref(&s)).is_ok());
        assert_eq!(load(&d).ok(), Some(vec![s]));
        assert!(save(&d, &[]).is_ok());
        assert!(!d.join(FILE).exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn garbage_names_the_file() {
        let d = dir("garbage");
        let _ = std::fs::write(d.join(FILE), "{not json");
        let msg = load(&d).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(msg.contains(FILE) && msg.contains("move it away"), "{msg}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
