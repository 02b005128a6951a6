//! The bond's own device: a TAP interface created through `/dev/net/tun`.
//!
//! The daemon creates a TAP device named like the bond (`bond0`); users give it addresses with
//! `ip`, and the kernel's IP stack sends and receives through it. Frames the stack sends are
//! read from the [`Tap`] (and go out on a slave); frames received on the slaves are written to
//! it (and reach the stack). The device is not persistent: it disappears when the [`Tap`] is
//! dropped (when the last copy of its file descriptor closes; the descriptor is close-on-exec,
//! but a child forked at that moment holds a copy until it calls `exec`).
//!
//! The file descriptor is nonblocking, so it can sit in a `poll`/`epoll` set ([`AsFd`]).
#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use ubond_wire::MacAddr;

use crate::error::{Result, SysError};
use crate::link::ifreq_for;

/// `TUN_F_TSO_ECN`: TSO frames may carry ECN (CWR).
const TUN_F_TSO_ECN: libc::c_uint = 0x08;

/// The operation named in errors from [`Tap::create`].
pub(crate) const CREATE_OP: &str = "create tap device";

/// How to create a [`Tap`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapOptions {
    /// `IFF_VNET_HDR`: every frame read or written is preceded by a `struct virtio_net_hdr`
    /// (checksum and GSO offload information). Off by default; the caller must then handle
    /// the header itself.
    pub vnet_hdr: bool,
    /// With `vnet_hdr`: tell the kernel (`TUNSETOFFLOAD`) that the reader takes frames whose
    /// checksum is left to do (`TUN_F_CSUM`) and TCP GSO super-frames (`TUN_F_TSO4`,
    /// `TUN_F_TSO6`, `TUN_F_TSO_ECN`), so the stack sends up to 64 KiB per frame and the
    /// device advertises TSO and checksum offload. The header is then
    /// [`crate::VNET_HDR_LEN`] bytes (`TUNSETVNETHDRSZ`), as on a packet socket with
    /// [`crate::PacketOptions::vnet_hdr`], so frames pass between the two unchanged.
    pub offload: bool,
}

/// A TAP device (`IFF_TAP | IFF_NO_PI`), open and owned: it disappears when dropped.
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    name: String,
    vnet_hdr: bool,
}

impl Tap {
    /// Creates the TAP device `name` (or attaches to it if a persistent one exists), with the
    /// default options. The device starts administratively down; bring it up with
    /// [`crate::link::set_up`].
    pub fn create(name: &str) -> Result<Tap> {
        Tap::with_options(name, TapOptions::default())
    }

    /// Creates the TAP device `name` with `options`.
    pub fn with_options(name: &str, options: TapOptions) -> Result<Tap> {
        const OP: &str = CREATE_OP;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(|e| SysError::new(OP, Some(name), e))?;
        let fd = OwnedFd::from(file);
        let mut req = ifreq_for(name, OP)?;
        let mut flags = libc::IFF_TAP | libc::IFF_NO_PI;
        if options.vnet_hdr {
            flags |= libc::IFF_VNET_HDR;
        }
        // Every flag fits in the kernel's short ifr_flags.
        req.ifr_ifru.ifru_flags = flags as libc::c_short;
        // SAFETY: `fd` is an open /dev/net/tun descriptor; TUNSETIFF reads and writes one
        // `struct ifreq`, and `req` is a valid, initialised ifreq that outlives the call.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) };
        if rc < 0 {
            return Err(SysError::last_os(OP, Some(name)));
        }
        // The kernel may have completed a pattern like "tap%d": read back the real name.
        let name = name_from_ifreq(&req).unwrap_or_else(|| name.to_owned());
        let tap = Tap { fd, name, vnet_hdr: options.vnet_hdr };
        tap.int_ioctl(libc::TUNSETPERSIST, 0, "turn persistence off")?;
        if options.vnet_hdr {
            let size = crate::packet::VNET_HDR_LEN as libc::c_int;
            // SAFETY: TUNSETVNETHDRSZ reads one int through its pointer argument; `size`
            // lives across the call, and `tap.fd` is an attached tun descriptor.
            let rc = unsafe {
                libc::ioctl(tap.fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &size as *const libc::c_int)
            };
            if rc < 0 {
                return Err(SysError::last_os("set virtio-net header size", Some(&tap.name)));
            }
            if options.offload {
                let flags = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6 | TUN_F_TSO_ECN;
                tap.int_ioctl(libc::TUNSETOFFLOAD, flags as i32, "turn offloads on")?;
            }
        }
        Ok(tap)
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True if frames carry a `virtio_net_hdr` ([`TapOptions::vnet_hdr`]).
    pub fn vnet_hdr(&self) -> bool {
        self.vnet_hdr
    }

    /// The device's interface index.
    pub fn ifindex(&self) -> Result<u32> {
        crate::link::ifindex(&self.name)
    }

    /// Sets the device's MAC address (`SIOCSIFHWADDR` on the tun descriptor).
    pub fn set_mac(&self, mac: MacAddr) -> Result<()> {
        const OP: &str = "set MAC address";
        let mut req = ifreq_for(&self.name, OP)?;
        // SAFETY: writing plain data into the union member the ioctl reads.
        unsafe {
            req.ifr_ifru.ifru_hwaddr.sa_family = libc::ARPHRD_ETHER;
            for (d, s) in req.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac.octets()) {
                *d = s as libc::c_char;
            }
        }
        // SAFETY: `self.fd` is an attached tun descriptor; SIOCSIFHWADDR reads one ifreq,
        // which `req` is and which outlives the call.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCSIFHWADDR, &mut req) };
        if rc < 0 {
            return Err(SysError::last_os(OP, Some(&self.name)));
        }
        Ok(())
    }

    /// Reads the device's MAC address (`SIOCGIFHWADDR` on the tun descriptor).
    pub fn mac(&self) -> Result<MacAddr> {
        const OP: &str = "read MAC address";
        let mut req = ifreq_for(&self.name, OP)?;
        // SAFETY: SIOCGIFHWADDR writes one ifreq, which `req` is and which outlives the call.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
        if rc < 0 {
            return Err(SysError::last_os(OP, Some(&self.name)));
        }
        // SAFETY: the kernel filled ifru_hwaddr; reading plain bytes from it.
        let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
        let mut mac = [0u8; 6];
        for (d, s) in mac.iter_mut().zip(data) {
            *d = s as u8;
        }
        Ok(MacAddr(mac))
    }

    /// Sets the device's carrier (`TUNSETCARRIER`): the bond's carrier as the IP stack and
    /// `ip link` see it (`NO-CARRIER`, operstate `DOWN` when off).
    pub fn set_carrier(&self, up: bool) -> Result<()> {
        let carrier: libc::c_int = up.into();
        // SAFETY: TUNSETCARRIER reads one int through its pointer argument; `carrier` lives
        // across the call, and `self.fd` is an attached tun descriptor.
        let rc = unsafe {
            libc::ioctl(self.fd.as_raw_fd(), libc::TUNSETCARRIER, &carrier as *const libc::c_int)
        };
        if rc < 0 {
            return Err(SysError::last_os("set carrier", Some(&self.name)));
        }
        Ok(())
    }

    /// Reads one frame the kernel sent through the device into `buf`. `Ok(None)` when no frame
    /// is waiting. A frame longer than `buf` is truncated to `buf.len()`.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(SysError::new("read frame from tap device", Some(&self.name), e));
        }
        Ok(Some(n as usize))
    }

    /// Writes one frame into the device: the kernel receives it as if from a wire. `Ok(false)`
    /// when the device cannot take it now (`EAGAIN`); the frame is then not delivered.
    pub fn send(&self, frame: &[u8]) -> Result<bool> {
        self.send_vectored(&[frame])
    }

    /// Writes one frame given in up to 4 pieces (their concatenation; with
    /// [`TapOptions::vnet_hdr`] the first [`crate::VNET_HDR_LEN`] bytes are the header), as
    /// [`Tap::send`] does.
    pub fn send_vectored(&self, parts: &[&[u8]]) -> Result<bool> {
        // SAFETY: all-zero is a valid iovec.
        let mut iovs: [libc::iovec; 4] = unsafe { std::mem::zeroed() };
        let count = parts.len().min(iovs.len());
        for (iov, part) in iovs.iter_mut().zip(parts) {
            // The kernel only reads through iov_base on write.
            iov.iov_base = part.as_ptr() as *mut libc::c_void;
            iov.iov_len = part.len();
        }
        // SAFETY: `iovs[..count]` point into `parts`, alive for the call; writev only reads.
        let n = unsafe { libc::writev(self.fd.as_raw_fd(), iovs.as_ptr(), count as libc::c_int) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(false);
            }
            return Err(SysError::new("write frame to tap device", Some(&self.name), e));
        }
        Ok(true)
    }

    fn int_ioctl(&self, request: libc::Ioctl, value: i32, op: &'static str) -> Result<()> {
        // SAFETY: `request` is TUNSETPERSIST or TUNSETOFFLOAD, which take their integer
        // argument by value (the kernel reads `arg` itself), and `self.fd` is an attached tun
        // descriptor.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), request, value as libc::c_ulong) };
        if rc < 0 {
            return Err(SysError::last_os(op, Some(&self.name)));
        }
        Ok(())
    }
}

fn name_from_ifreq(req: &libc::ifreq) -> Option<String> {
    let bytes: Vec<u8> = req.ifr_name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
}

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Tap {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
