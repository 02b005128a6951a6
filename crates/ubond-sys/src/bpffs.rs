//! The BPF file system (bpffs): where the fast path pins what must outlive the daemon.
//!
//! A BPF object (a program, a map, a link) lives as long as something refers to it: an open
//! file descriptor, another object, or a pin — a file in a bpffs. The fast path pins its TCX
//! links (and, for inspection, its maps), so that a daemon that dies leaves its programs
//! attached and forwarding. Pins live in the bpffs *instance*: one mounted inside a private
//! mount namespace (`ip netns exec` makes one) disappears with that namespace, and its pins
//! with it; the system's `/sys/fs/bpf` (which systemd mounts at boot) does not.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, SysError};

/// `BPF_FS_MAGIC`, the bpffs `f_type` in `statfs(2)`.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The system's place for a bpffs.
pub const SYSTEM_BPFFS: &str = "/sys/fs/bpf";

fn c_path(path: &Path, op: &'static str) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        SysError::new(op, None, io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
    })
}

/// Whether `path` is in a mounted bpffs.
pub fn is_bpffs(path: &Path) -> bool {
    let Ok(c) = c_path(path, "check for a BPF file system") else { return false };
    // SAFETY: all-zero is a valid `struct statfs`.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a statfs the call fills; both outlive it.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    // `f_type` is an i64 on x86_64 but narrower on other targets.
    #[allow(clippy::useless_conversion)]
    let f_type = i64::from(st.f_type);
    rc == 0 && f_type == BPF_FS_MAGIC
}

/// Mounts a new bpffs at `path` (an existing directory). Needs CAP_SYS_ADMIN.
pub fn mount(path: &Path) -> Result<()> {
    const OP: &str = "mount a BPF file system";
    let target = c_path(path, OP)?;
    let source = c"bpf";
    // SAFETY: every pointer is a NUL-terminated string that outlives the call; no data.
    let rc = unsafe {
        libc::mount(source.as_ptr(), target.as_ptr(), source.as_ptr(), 0, std::ptr::null())
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return Err(SysError::new(
            OP,
            None,
            io::Error::new(e.kind(), format!("{}: {e}", path.display())),
        ));
    }
    Ok(())
}

/// Whether this process shares the mount namespace of process 1 (the system's): pins made in
/// a bpffs mounted only inside a private namespace die with that namespace.
pub fn in_system_mount_namespace() -> bool {
    match (std::fs::read_link("/proc/self/ns/mnt"), std::fs::read_link("/proc/1/ns/mnt")) {
        (Ok(a), Ok(b)) => a == b,
        // Without access to process 1's namespace (a container), assume the best.
        _ => true,
    }
}

/// Finds or makes the bpffs directory for the fast path's pins: `preferred` if given (it
/// must be in a bpffs), else `/sys/fs/bpf`, mounting a bpffs there if none is (as systemd does
/// at boot). Returns the directory `<bpffs>/ubond/<instance>`, created.
pub fn pin_dir(preferred: Option<&Path>, instance: &str) -> Result<PathBuf> {
    const OP: &str = "prepare the BPF pin directory";
    let root = match preferred {
        Some(p) => {
            if !is_bpffs(p) {
                return Err(SysError::new(
                    OP,
                    None,
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is not a BPF file system (mount -t bpf bpf {0})", p.display()),
                    ),
                ));
            }
            p.to_path_buf()
        }
        None => {
            let p = PathBuf::from(SYSTEM_BPFFS);
            if !is_bpffs(&p) {
                std::fs::create_dir_all(&p).map_err(|e| SysError::new(OP, None, e))?;
                mount(&p)?;
            }
            p
        }
    };
    let dir = root.join("ubond").join(instance);
    std::fs::create_dir_all(&dir).map_err(|e| SysError::new(OP, None, e))?;
    Ok(dir)
}
