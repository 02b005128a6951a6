//! Named network namespaces as iproute2 keeps them (`ip netns add|del|exec`): a namespace is
//! kept alive by a bind mount of its `/proc/.../ns/net` file on `/run/netns/NAME`, so `ip
//! netns` and every other tool see the ones made here, and the reverse.
//!
//! [`NetNs::create`] makes one, [`NetNs::run`] runs a closure on a thread inside it (every
//! rtnetlink call of this crate then acts there), [`NetNs::spawn`] starts a process inside it,
//! [`NetNs::delete`] removes it. Unlike `ip netns exec`, [`NetNs::spawn`] does not remount
//! `/sys` for the child: a process that needs `/sys/class/net` of its namespace must mount it
//! itself (the ubond daemon reads none).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::error::{Result, SysError};

/// Where iproute2 keeps named namespaces.
pub const RUN_DIR: &str = "/run/netns";

/// A named network namespace (`/run/netns/NAME`).
#[derive(Debug)]
pub struct NetNs {
    name: String,
    path: PathBuf,
}

fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `mount(src, dst, "none", flags, NULL)`.
fn mount(src: &Path, dst: &Path, flags: libc::c_ulong) -> io::Result<()> {
    let (src, dst, none) = (cstr(src)?, cstr(dst)?, c"none");
    // SAFETY: all strings are NUL-terminated and outlive the call; no data argument.
    check(unsafe {
        libc::mount(src.as_ptr(), dst.as_ptr(), none.as_ptr(), flags, std::ptr::null())
    })
}

/// Makes `/run/netns` a shared mount point, as `ip netns add` does, so that namespaces mounted
/// here are seen from other mount namespaces (and the reverse).
fn shared_run_dir() -> io::Result<()> {
    let dir = Path::new(RUN_DIR);
    std::fs::create_dir_all(dir)?;
    let shared = libc::MS_SHARED | libc::MS_REC;
    match mount(Path::new(""), dir, shared) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // Not a mount point yet: bind it on itself, then share it.
            mount(dir, dir, libc::MS_BIND | libc::MS_REC)?;
            mount(Path::new(""), dir, shared)
        }
        other => other,
    }
}

impl NetNs {
    /// Creates namespace `name` (`ip netns add NAME`); fails if it exists.
    pub fn create(name: &str) -> Result<NetNs> {
        const OP: &str = "create network namespace";
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a namespace name");
            return Err(SysError::new(OP, Some(name), e));
        }
        let fail = |e: io::Error| SysError::new(OP, Some(name), e);
        shared_run_dir().map_err(fail)?;
        let path = Path::new(RUN_DIR).join(name);
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(fail)?;
        let ns = NetNs { name: name.to_string(), path };
        // A thread of its own moves into a new namespace and pins it with the bind mount;
        // the thread then ends, the mount keeps the namespace.
        let target = ns.path.clone();
        let made = std::thread::spawn(move || -> io::Result<()> {
            // SAFETY: unshare(2) with CLONE_NEWNET changes only this thread's namespace.
            check(unsafe { libc::unshare(libc::CLONE_NEWNET) })?;
            mount(Path::new("/proc/thread-self/ns/net"), &target, libc::MS_BIND)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")));
        if let Err(e) = made {
            let _ = std::fs::remove_file(&ns.path);
            return Err(fail(e));
        }
        Ok(ns)
    }

    /// An existing namespace (`/run/netns/NAME`).
    pub fn open(name: &str) -> Result<NetNs> {
        let path = Path::new(RUN_DIR).join(name);
        File::open(&path).map_err(|e| SysError::new("open network namespace", Some(name), e))?;
        Ok(NetNs { name: name.to_string(), path })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The namespace's file, open (for [`crate::link::add_veth`]'s peer, or `setns(2)`).
    pub fn file(&self) -> Result<File> {
        File::open(&self.path)
            .map_err(|e| SysError::new("open network namespace", Some(&self.name), e))
    }

    /// Runs `body` on a new thread inside the namespace and returns what it returns; a panic
    /// in `body` is raised again here.
    pub fn run<R: Send>(&self, body: impl FnOnce() -> R + Send) -> Result<R> {
        let file = self.file()?;
        let name = self.name.as_str();
        std::thread::scope(|s| {
            let handle = s.spawn(move || {
                // SAFETY: `file` is an open namespace file; setns changes only this thread's
                // network namespace, and the thread ends with `body`.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                if rc != 0 {
                    return Err(SysError::last_os("enter network namespace", Some(name)));
                }
                drop(file);
                Ok(body())
            });
            match handle.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    /// Starts `cmd` inside the namespace (`ip netns exec NAME CMD`, without remounting `/sys`).
    pub fn spawn(&self, cmd: &mut Command) -> Result<Child> {
        let file = self.file()?;
        let fd = file.as_raw_fd();
        // SAFETY: the hook runs in the forked child before exec and only calls setns(2), which
        // is async-signal-safe; `fd` stays open in the child until exec (it is close-on-exec),
        // and `file` outlives the spawn call that forks.
        unsafe {
            cmd.pre_exec(move || check(libc::setns(fd, libc::CLONE_NEWNET)));
        }
        let child = cmd
            .spawn()
            .map_err(|e| SysError::new("start a process in a namespace", Some(&self.name), e));
        drop(file);
        child
    }

    /// Removes the namespace (`ip netns del NAME`): its interfaces go when its last user
    /// (a process inside it, or another mount) is gone.
    pub fn delete(self) -> Result<()> {
        let fail = |e: io::Error| SysError::new("delete network namespace", Some(&self.name), e);
        let path = cstr(&self.path).map_err(fail)?;
        // SAFETY: `path` is NUL-terminated and outlives the call.
        let rc = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(fail(e));
            }
        }
        std::fs::remove_file(&self.path).map_err(fail)
    }
}

/// The namespace ids (`nsid`) the caller's network namespace has given to the named
/// namespaces in `/run/netns`, by name: how `ip link` prints `link-netns NAME` for a peer
/// whose `IFLA_LINK_NETNSID` it knows. Namespaces without an id, and files that cannot be
/// read, are left out.
pub fn named_ids() -> Vec<(i32, String)> {
    use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
    use netlink_packet_route::RouteNetlinkMessage;
    let Ok(dir) = std::fs::read_dir(RUN_DIR) else { return Vec::new() };
    let mut ids = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(file) = File::open(entry.path()) else { continue };
        let Ok(fd) = u32::try_from(file.as_raw_fd()) else { continue };
        let mut msg = NsidMessage::default();
        msg.attributes.push(NsidAttribute::Fd(fd));
        let Ok(answer) = crate::rtnl::request(
            RouteNetlinkMessage::GetNsId(msg),
            0,
            "read namespace id",
            Some(&name),
        ) else {
            continue;
        };
        let id = answer.iter().find_map(|m| match m {
            RouteNetlinkMessage::NewNsId(n) => n.attributes.iter().find_map(|a| match a {
                NsidAttribute::Id(id) if *id >= 0 => Some(*id),
                _ => None,
            }),
            _ => None,
        });
        if let Some(id) = id {
            ids.push((id, name));
        }
    }
    ids.sort();
    ids
}
