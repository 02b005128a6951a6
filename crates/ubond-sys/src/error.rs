//! [`SysError`]: a failed system call, named by what ubond was doing and on which interface.

use std::fmt;
use std::io;

/// A failed operation on the system: what was being done, on which interface, and the OS error.
///
/// Displayed as `cannot <operation> on <interface>: <OS error> (<hint>)`, for example
/// `cannot open packet socket on eth9: No such device (os error 19) (is the interface name
/// right?)`.
#[derive(Debug)]
pub struct SysError {
    op: &'static str,
    iface: Option<String>,
    source: io::Error,
    /// The kernel's own explanation (a netlink extended ACK message), if it gave one.
    kernel_message: Option<String>,
}

impl SysError {
    /// An error for `op` (a verb phrase: "open packet socket") on interface `iface`.
    pub fn new(op: &'static str, iface: Option<&str>, source: io::Error) -> SysError {
        SysError { op, iface: iface.map(str::to_owned), source, kernel_message: None }
    }

    /// The same error with the kernel's explanation attached (netlink's extended ACK).
    pub(crate) fn with_kernel_message(mut self, message: Option<String>) -> SysError {
        self.kernel_message = message.filter(|m| !m.is_empty());
        self
    }

    /// What the kernel said about the refusal, when it said something (rtnetlink's extended
    /// ACK, `NLMSGERR_ATTR_MSG`): the text `ip` prints as `Error: ...`.
    pub fn kernel_message(&self) -> Option<&str> {
        self.kernel_message.as_deref()
    }

    /// The last OS error (`errno`) for `op` on `iface`.
    pub fn last_os(op: &'static str, iface: Option<&str>) -> SysError {
        SysError::new(op, iface, io::Error::last_os_error())
    }

    /// The same error, reported as a failure of `op` (a step failed inside a larger one).
    pub(crate) fn with_operation(mut self, op: &'static str) -> SysError {
        self.op = op;
        self
    }

    /// The operation that failed ("open packet socket", "set carrier", …).
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// The interface concerned, if any.
    pub fn interface(&self) -> Option<&str> {
        self.iface.as_deref()
    }

    /// The kind of the underlying OS error.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The OS error number, if the error came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// Whether the kernel said an interface the operation named does not exist (ENODEV): one
    /// that went while the caller still knew it (its removal not read yet), not a refusal of
    /// the operation itself.
    pub fn device_gone(&self) -> bool {
        self.source.raw_os_error() == Some(libc::ENODEV)
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    fn hint(&self) -> Option<&'static str> {
        let errno = self.source.raw_os_error()?;
        match errno {
            libc::ENODEV => Some("is the interface name right?"),
            libc::EPERM | libc::EACCES => Some("this needs root or CAP_NET_ADMIN/CAP_NET_RAW"),
            libc::EBUSY => Some("is the interface in use by another program?"),
            libc::ENOBUFS => Some("events were lost; re-read the interfaces' state"),
            _ => None,
        }
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {}", self.op)?;
        if let Some(iface) = &self.iface {
            write!(f, " on {iface}")?;
        }
        write!(f, ": {}", self.source)?;
        if let Some(m) = &self.kernel_message {
            write!(f, ": {m}")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SysError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The result of an operation in this crate.
pub type Result<T, E = SysError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_interface_and_hint() {
        let e = SysError::new(
            "open packet socket",
            Some("eth9"),
            io::Error::from_raw_os_error(libc::ENODEV),
        );
        let s = e.to_string();
        assert!(s.starts_with("cannot open packet socket on eth9: No such device"), "{s}");
        assert!(s.ends_with("(is the interface name right?)"), "{s}");
        assert_eq!(e.interface(), Some("eth9"));
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
        assert!(e.device_gone());
        assert!(!SysError::new("x", None, io::Error::from_raw_os_error(libc::EPERM)).device_gone());
    }
}
