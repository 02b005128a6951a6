//! The sysctls a bond sets on each slave, and putting them back.
//!
//! An enslaved interface must not answer for itself: frames that reach it are the bond's. So
//! while enslaved it runs no IPv6 (`disable_ipv6=1`), its IPv4 stack answers no ARP
//! (`arp_ignore=8`) and accepts no packet whose route back is the bond (`rp_filter=1`); the
//! bond's own device answers instead. The files are `/proc/sys/net/{ipv4,ipv6}/conf/IFACE/*`,
//! those of the calling thread's network namespace.

use std::path::PathBuf;

/// A sysctl file and a value: as found (to put back) or to set.
pub type Sysctl = (PathBuf, String);

/// The sysctls set on slave `iface`, with the values they get.
fn for_slave(iface: &str) -> [(PathBuf, &'static str); 3] {
    let conf = |family: &str, name: &str| {
        PathBuf::from(format!("/proc/sys/net/{family}/conf/{iface}/{name}"))
    };
    [
        (conf("ipv6", "disable_ipv6"), "1"),
        (conf("ipv4", "arp_ignore"), "8"),
        (conf("ipv4", "rp_filter"), "1"),
    ]
}

/// Sets the slave sysctls on `iface`, each one the kernel has and lets us write; returns
/// those changed with their values as found, for [`restore_slave`]. Best effort: an interface
/// without IPv6 keeps working without `disable_ipv6`.
pub fn set_slave(iface: &str) -> Vec<Sysctl> {
    let mut found = Vec::new();
    for (path, value) in for_slave(iface) {
        if let Ok(old) = std::fs::read_to_string(&path) {
            if std::fs::write(&path, value).is_ok() {
                found.push((path, old));
            }
        }
    }
    found
}

/// Puts the values [`set_slave`] found on `iface` back. Only the files [`set_slave`] writes for
/// `iface` are written, whatever `found` names (it may come from a file on disk), and a value
/// the kernel refuses is left: the interface may be gone.
pub fn restore_slave(iface: &str, found: &[Sysctl]) {
    let ours = for_slave(iface);
    for (path, value) in found {
        if ours.iter().any(|(p, _)| p == path) {
            let _ = std::fs::write(path, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_not_set_for_the_slave_is_never_written() {
        let path = std::env::temp_dir().join(format!("ubond-sysctl-{}", std::process::id()));
        std::fs::write(&path, "kept").expect("scratch file");
        restore_slave("eth0", &[(path.clone(), "changed".into())]);
        let after = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        assert_eq!(after, "kept");
        // The same name under another interface's directory is not the slave's either.
        let other = for_slave("eth1")[1].0.clone();
        assert!(!for_slave("eth0").iter().any(|(p, _)| *p == other));
    }
}
