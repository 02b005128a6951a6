//! The control socket ([`ControlSocket`]): who may connect ([`Access`]), each connection read
//! without blocking the data path until its request line is whole, and answered once. What a
//! request does is [`super::verbs`]'s business.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustix::event::epoll::EventFlags;
use ubond_core::time::Instant;

use super::event_loop::Poller;
use crate::access::Access;
use crate::control::{parse_request, Request, Response, MAX_REQUEST};

/// Most control connections open at once.
const MAX_CONNS: usize = 16;
/// Longest a connection may take to send its request line.
const REQUEST_TIME: Duration = Duration::from_secs(5);

/// The listening socket and the connections waiting for their request line.
pub(super) struct ControlSocket {
    path: PathBuf,
    /// Where the socket is until it is published at `path`.
    unpublished: Option<PathBuf>,
    listener: UnixListener,
    access: Access,
    conns: Vec<Conn>,
}

/// A control connection waiting for its request line.
struct Conn {
    stream: UnixStream,
    token: u64,
    line: Vec<u8>,
    deadline: Instant,
}

impl ControlSocket {
    /// Listens on `path`: first under another name in the same directory (mode 0600 from the
    /// start, then given to `access`'s group, if any), so that the socket appears at `path`
    /// only when the daemon is started ([`ControlSocket::publish`]): a client that reaches it
    /// (or a script that waits for the file) finds the privileges dropped and the interfaces
    /// a killed daemon left given back. Refuses if a daemon answers at `path` already.
    pub(super) fn bind(path: &Path, access: Access) -> Result<ControlSocket> {
        if UnixStream::connect(path).is_ok() {
            bail!("a ubond daemon is already running at {}", path.display());
        }
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let unpublished = path.with_file_name(format!(".{name}.{}", std::process::id()));
        let _ = std::fs::remove_file(&unpublished);
        // Created 0600 from the start: no window in which others could connect.
        let listener = {
            let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
            let l = UnixListener::bind(&unpublished);
            rustix::process::umask(old);
            l.with_context(|| format!("cannot listen on {}", unpublished.display()))?
        };
        std::fs::set_permissions(&unpublished, std::fs::Permissions::from_mode(0o600))?;
        access.apply(&unpublished)?;
        listener.set_nonblocking(true)?;
        Ok(ControlSocket {
            path: path.to_path_buf(),
            unpublished: Some(unpublished),
            listener,
            access,
            conns: Vec::new(),
        })
    }

    /// Puts the socket at its path (over a stale one a killed daemon left).
    pub(super) fn publish(&mut self) -> Result<()> {
        if let Some(from) = &self.unpublished {
            std::fs::rename(from, &self.path).with_context(|| {
                format!("cannot listen on {}: moving {} there", self.path.display(), from.display())
            })?;
            self.unpublished = None;
        }
        Ok(())
    }

    /// The listening socket, for the poll set.
    pub(super) fn listener(&self) -> &UnixListener {
        &self.listener
    }

    /// Accepts waiting connections: those [`Access`] allows, up to [`MAX_CONNS`], each given
    /// until [`REQUEST_TIME`] after `now` to send its request.
    pub(super) fn accept(&mut self, poller: &Poller, now: Instant) {
        while let Ok((stream, _)) = self.listener.accept() {
            let allowed = rustix::net::sockopt::socket_peercred(&stream).is_ok_and(|cred| {
                self.access.allows(
                    cred.uid.as_raw(),
                    cred.gid.as_raw(),
                    cred.pid.as_raw_nonzero().get(),
                )
            });
            if !allowed {
                answer(stream, &Response::err(self.access.denied()));
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                answer(stream, &Response::err("busy: too many control connections; try again"));
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let Ok(token) = poller.add(&stream, EventFlags::IN) else { continue };
            let deadline = now + REQUEST_TIME;
            self.conns.push(Conn { stream, token, line: Vec::new(), deadline });
        }
    }

    /// If `token` is a connection's: reads what it sent and, once a whole line (or too much)
    /// is in, answers it with `handle`'s response to the request. False if `token` is not a
    /// connection's.
    pub(super) fn serve(&mut self, token: u64, handle: impl FnOnce(Request) -> Response) -> bool {
        let Some(ci) = self.conns.iter().position(|c| c.token == token) else { return false };
        let mut chunk = [0u8; 4096];
        let outcome = loop {
            let conn = &mut self.conns[ci];
            match conn.stream.read(&mut chunk) {
                Ok(0) => break Some(None),
                Ok(n) => {
                    conn.line.extend_from_slice(&chunk[..n]);
                    if let Some(end) = conn.line.iter().position(|&b| b == b'\n') {
                        conn.line.truncate(end);
                        break Some(None);
                    }
                    if conn.line.len() > MAX_REQUEST {
                        let e = format!("bad request: longer than {MAX_REQUEST} bytes");
                        break Some(Some(Response::err(e)));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break None,
                Err(e) => break Some(Some(Response::err(format!("bad request: {e}")))),
            }
        };
        let Some(early) = outcome else { return true };
        let conn = self.conns.swap_remove(ci);
        let response = early.unwrap_or_else(|| match parse_request(&conn.line) {
            Ok(req) => handle(req),
            Err(resp) => resp,
        });
        answer(conn.stream, &response);
        true
    }

    /// Drops the connections that sent no whole request by `now`.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some(ci) = self.conns.iter().position(|c| c.deadline <= now) {
            let conn = self.conns.swap_remove(ci);
            answer(conn.stream, &Response::err("bad request: no whole line within 5 seconds"));
        }
    }

    /// Stops listening: the socket file goes.
    pub(super) fn close(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for ControlSocket {
    /// A daemon that did not start leaves no socket file behind.
    fn drop(&mut self) {
        if let Some(file) = &self.unpublished {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Writes the response and closes the connection.
fn answer(stream: UnixStream, response: &Response) {
    let mut stream = stream;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    if let Ok(mut text) = serde_json::to_string(response) {
        text.push('\n');
        let _ = stream.write_all(text.as_bytes());
    }
}
