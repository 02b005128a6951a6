//! The control protocol between `ubond` client verbs and `ubond daemon`: one JSON request per
//! line on a unix socket, one JSON response line back.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

/// The default control socket.
pub const DEFAULT_SOCKET: &str = "/run/ubond/control.sock";
/// The largest request line the daemon reads.
pub const MAX_REQUEST: usize = 64 * 1024;

/// A request to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case")]
pub enum Request {
    /// Create a bond with `name=value` options.
    Add {
        /// Bond name.
        bond: String,
        /// `name=value ...`
        options: String,
        /// The options follow rtnetlink's rules (`ip link add BOND type bond ...`, what
        /// `ubond add` does); otherwise the module parameters' (`BONDING_OPTS`, `ubond up`).
        #[serde(default)]
        netlink: bool,
    },
    /// Enslave interfaces.
    Enslave {
        /// Bond name.
        bond: String,
        /// Interfaces.
        ifaces: Vec<String>,
    },
    /// Release interfaces.
    Release {
        /// Bond name.
        bond: String,
        /// Interfaces.
        ifaces: Vec<String>,
    },
    /// Set an option with sysfs semantics.
    Set {
        /// Bond name.
        bond: String,
        /// Option name.
        option: String,
        /// Value.
        value: String,
    },
    /// Set a per-slave option (`prio`, `queue_id`, `actor_port_prio`), as
    /// `ip link set IFACE type bond_slave OPTION VALUE`.
    SetSlave {
        /// The slave.
        iface: String,
        /// Option name.
        option: String,
        /// Value.
        value: String,
    },
    /// Read a per-slave option (`prio`, `queue_id`, `actor_port_prio`), or all three, as
    /// `ip -d link show IFACE` shows them in its `bond_slave` part.
    GetSlave {
        /// The slave.
        iface: String,
        /// Option name.
        option: Option<String>,
    },
    /// Read one option, or all.
    Get {
        /// Bond name.
        bond: String,
        /// Option name.
        option: Option<String>,
    },
    /// Create a bond as `ip link add BOND type bond` does: the kernel's defaults, the device
    /// left down. Options follow as `Set`s.
    NewLink {
        /// Bond name.
        bond: String,
    },
    /// Delete every bond (their slaves given back, their devices and programs removed) and
    /// stop the daemon: what stopping it (SIGTERM) does not do.
    Shutdown,
    /// Delete a bond.
    Del {
        /// Bond name.
        bond: String,
    },
    /// The /proc report of one bond or all, or JSON.
    Status {
        /// Bond name.
        bond: Option<String>,
        /// JSON instead of text.
        json: bool,
    },
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Response {
    /// What to print on standard output.
    pub output: String,
    /// What went wrong (the request had no effect beyond what `output` says).
    pub error: Option<String>,
    /// The errno the kernel returns for the same refusal, when a bonding option was refused
    /// (`EINVAL` 22, `EBUSY` 16, ...): what `ubond link` words its error with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
}

impl Response {
    /// A success.
    pub fn ok(output: impl Into<String>) -> Response {
        Response { output: output.into(), error: None, errno: None }
    }

    /// A failure.
    pub fn err(error: impl Into<String>) -> Response {
        Response { output: String::new(), error: Some(error.into()), errno: None }
    }

    /// A failure caused by a refused bonding option, with the kernel's errno for it.
    pub fn refused(error: impl Into<String>, errno: Option<i32>) -> Response {
        Response { errno, ..Response::err(error) }
    }
}

/// The control socket path: `--control`, else `UBOND_CONTROL`, else the default.
pub fn socket_path(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("UBOND_CONTROL").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

/// Sends one request and reads the response.
pub fn call(path: &Path, request: &Request) -> Result<Response> {
    let unreachable = || {
        anyhow!("cannot reach the ubond daemon at {}: is `ubond daemon` running?", path.display())
    };
    let stream = UnixStream::connect(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            anyhow!("permission denied on {}: the ubond control socket is for root", path.display())
        } else {
            unreachable()
        }
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    // A daemon that refuses the caller answers before reading: read the answer even if
    // the write failed.
    // MSG_NOSIGNAL: the client runs with SIGPIPE's default action (ubond_sys::process).
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        match rustix::net::send(&stream, rest, rustix::net::SendFlags::NOSIGNAL) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => rest = &rest[n..],
        }
    }
    let mut reader = BufReader::new(stream.take(16 << 20));
    let mut answer = String::new();
    reader.read_line(&mut answer).map_err(|_| unreachable())?;
    if answer.is_empty() {
        return Err(anyhow!(
            "the ubond daemon at {} closed the connection without answering (are you root?)",
            path.display()
        ));
    }
    serde_json::from_str(&answer).map_err(|e| anyhow!("bad answer from the daemon: {e}"))
}

/// Parses one request line; a line that is not a request gets an error response.
pub fn parse_request(line: &[u8]) -> std::result::Result<Request, Response> {
    serde_json::from_slice(line).map_err(|e| Response::err(format!("bad request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let r = Request::Set { bond: "b0".into(), option: "slaves".into(), value: "+eth2".into() };
        let s = serde_json::to_string(&r).unwrap_or_default();
        assert_eq!(parse_request(s.as_bytes()).ok(), Some(r));
    }

    /// Older clients and daemons leave the new fields out; both directions still parse.
    #[test]
    fn errno_is_optional_on_the_wire() {
        let old: Response = serde_json::from_str(r#"{"output":"","error":"x"}"#).unwrap();
        assert_eq!(old, Response::err("x"));
        let s = serde_json::to_string(&Response::ok("y")).unwrap_or_default();
        assert_eq!(s, r#"{"output":"y","error":null}"#);
        let r = Response::refused("bad", Some(22));
        let back: Response = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.errno, Some(22));
        let req = Request::GetSlave { iface: "eth0".into(), option: Some("prio".into()) };
        let s = serde_json::to_string(&req).unwrap_or_default();
        assert_eq!(s, r#"{"verb":"get_slave","iface":"eth0","option":"prio"}"#);
        assert_eq!(
            parse_request(br#"{"verb":"new_link","bond":"b0"}"#).ok(),
            Some(Request::NewLink { bond: "b0".into() })
        );
    }

    #[test]
    fn socket_path_flag_then_env_then_default() {
        std::env::set_var("UBOND_CONTROL", "/tmp/from-env.sock");
        assert_eq!(socket_path(None), PathBuf::from("/tmp/from-env.sock"));
        assert_eq!(socket_path(Some("/x.sock".into())), PathBuf::from("/x.sock"));
        std::env::remove_var("UBOND_CONTROL");
        assert_eq!(socket_path(None), PathBuf::from(DEFAULT_SOCKET));
    }

    #[test]
    fn garbage_is_an_error_response() {
        let e = parse_request(b"\xff{not json").err().unwrap_or_default();
        assert!(e.error.unwrap_or_default().starts_with("bad request"));
        assert!(parse_request(br#"{"verb":"explode"}"#).is_err());
    }

    #[test]
    fn unreachable_daemon_says_what_to_do() {
        let path = Path::new("/nonexistent/ubond.sock");
        let e = call(path, &Request::Status { bond: None, json: false }).err();
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("is `ubond daemon` running?"), "{msg}");
    }
}
