//! Who may use the control socket: root always; the members of one configured group
//! (`ubond daemon --group NAME`) too, in which case the socket is `root:GROUP` mode 0660. Each
//! connection's peer credentials (`SO_PEERCRED`) are checked, and for group members the
//! supplementary groups of the peer process as well, so file modes are not the only guard.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The control socket's access rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// The group whose members are allowed besides root.
    pub group: Option<u32>,
}

impl Access {
    /// Resolves `--group` (a name from `/etc/group`, or a number).
    pub fn new(group: Option<&str>) -> Result<Access> {
        let Some(group) = group else { return Ok(Access::default()) };
        if let Ok(gid) = group.parse::<u32>() {
            return Ok(Access { group: Some(gid) });
        }
        let text = std::fs::read_to_string("/etc/group").context("cannot read /etc/group")?;
        match gid_of(&text, group) {
            Some(gid) => Ok(Access { group: Some(gid) }),
            None => bail!(
                "no group {group:?} in /etc/group: create it (groupadd {group}) or give its number"
            ),
        }
    }

    /// Gives the socket to the group (mode 0660); without a group it stays root's, 0600.
    pub fn apply(&self, socket: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let Some(gid) = self.group else { return Ok(()) };
        std::os::unix::fs::chown(socket, Some(0), Some(gid))
            .with_context(|| format!("cannot give {} to group {gid}", socket.display()))?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
            .with_context(|| format!("cannot set the mode of {}", socket.display()))
    }

    /// Whether the peer (uid, gid, pid) may use the socket.
    pub fn allows(&self, uid: u32, gid: u32, pid: i32) -> bool {
        if uid == 0 {
            return true;
        }
        let Some(group) = self.group else { return false };
        if gid == group {
            return true;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let member = supplementary_groups(&status).any(|g| g == group);
        member
    }

    /// The refusal's words.
    pub fn denied(&self) -> &'static str {
        if self.group.is_some() {
            "permission denied: only root and the daemon's --group may use the ubond control socket"
        } else {
            "permission denied: only root may use the ubond control socket"
        }
    }
}

/// The gid of `name` in an `/etc/group` text.
fn gid_of(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

/// The `Groups:` line of `/proc/PID/status`.
fn supplementary_groups(status: &str) -> impl Iterator<Item = u32> + '_ {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|g| g.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_found_by_name_and_number() {
        let text = "root:x:0:\nnetdev:x:108:alice,bob\nbroken line\n";
        assert_eq!(gid_of(text, "netdev"), Some(108));
        assert_eq!(gid_of(text, "net"), None);
        assert_eq!(gid_of(text, "broken line"), None);
        assert_eq!(Access::new(Some("108")).ok(), Some(Access { group: Some(108) }));
        assert_eq!(Access::new(None).ok(), Some(Access::default()));
    }

    #[test]
    fn root_always_others_only_through_the_group() {
        let none = Access::default();
        assert!(none.allows(0, 0, 1));
        assert!(!none.allows(1000, 1000, 1));
        let netdev = Access { group: Some(108) };
        assert!(netdev.allows(1000, 108, 1));
        assert!(!netdev.allows(1000, 1000, i32::MAX));
        let status = "Name:\tx\nGroups:\t24 108 1000 \n";
        assert_eq!(supplementary_groups(status).collect::<Vec<_>>(), [24, 108, 1000]);
    }
}
