//! The daemon's metrics ([`crate::metrics`] says what they are): served over HTTP with
//! `--metrics ADDR`, written for node_exporter's textfile collector with
//! `--metrics-textfile PATH`. Both are off unless asked for.
//!
//! * [`sample`] takes a bond's snapshot: the core's status model (`Bond::status`), its ports'
//!   LACP counters, the failovers counted here ([`Failovers`]), the data path and the fast
//!   path's counters. It is the one place where the metrics read a `Bond`.
//! * [`Http`]: a TCP listener in the daemon's poll set. Each connection is non-blocking: read
//!   until its request head is whole (at most [`REQUEST_MAX`] bytes), answered with the text
//!   rendered then, written as the client takes it, and closed; at most [`MAX_CONNS`] at once,
//!   each given [`CONN_TIME`] in all. A slow or silent client holds one slot for a while,
//!   never the loop that forwards frames.
//! * [`Textfile`]: the same text written to a temporary file renamed over the real one (a
//!   reader never sees half a file), within about a second of a state change and every
//!   [`TEXTFILE_PERIOD`] otherwise, so that node_exporter's `node_textfile_mtime_seconds`
//!   shows the daemon alive; removed when the daemon stops.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustix::event::epoll::EventFlags;
use ubond_core::bond::SlaveId;
use ubond_core::time::Instant;

use super::bond::BondRt;
use super::bonds::Bonds;
use super::event_loop::Poller;
use super::VERSION;
use crate::metrics::text::Rendered;
use crate::metrics::{self, BondSample, Datapath, SlaveSample};

/// The port `--metrics` listens on without one: in the range Prometheus exporters use, not
/// node_exporter's 9100 (which may run beside the daemon, for the kernel's bonds and the
/// textfile), nor 9587, which another exporter uses.
pub const DEFAULT_PORT: u16 = 9677;
/// Where `--metrics` listens without an address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9677";
/// Most HTTP connections open at once; more are answered "503" and closed.
const MAX_CONNS: usize = 16;
/// Largest request head (request line and headers) read.
const REQUEST_MAX: usize = 8192;
/// Most headers in a request.
const MAX_HEADERS: usize = 64;
/// Longest a connection may stay, from accept to close.
const CONN_TIME: Duration = Duration::from_secs(10);
/// How often the textfile's text is rendered to look for a state change.
const TEXTFILE_CHECK: Duration = Duration::from_secs(1);
/// How often the textfile is rewritten without a state change (counters, liveness).
const TEXTFILE_PERIOD: Duration = Duration::from_secs(15);
/// The media type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Where the metrics go (`ubond daemon --metrics`, `--metrics-textfile`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Serve them over HTTP at this address.
    pub listen: Option<SocketAddr>,
    /// Write them to this file.
    pub textfile: Option<PathBuf>,
}

/// `--metrics`'s value: `PORT` (on 127.0.0.1), `IPV4:PORT` or `[IPV6]:PORT`.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse().map_err(|_| {
        format!(
            "{s:?} is not an address to listen on: expected PORT, IPV4:PORT or [IPV6]:PORT \
             (e.g. 127.0.0.1:{DEFAULT_PORT}, or 0.0.0.0:{DEFAULT_PORT} for every address)"
        )
    })
}

/// A bond's failovers, counted from the core's `ActiveSlave` events.
#[derive(Debug, Clone, Default)]
pub(super) struct Failovers {
    active: Option<SlaveId>,
    count: u64,
}

impl Failovers {
    /// The active slave is now `slave`: a change away from a slave is a failover (the first
    /// choice, or one after none was left, is not).
    pub(super) fn active_slave(&mut self, slave: Option<SlaveId>) {
        if self.active.is_some() && slave != self.active {
            self.count += 1;
        }
        self.active = slave;
    }

    /// The failovers so far.
    pub(super) fn count(&self) -> u64 {
        self.count
    }
}

/// Bond `rt`'s snapshot for the metrics.
fn sample(rt: &BondRt, bonds: &Bonds) -> BondSample {
    let mut status = rt.bond.status(VERSION);
    let lacp = rt.bond.lacp();
    let slaves = std::mem::take(&mut status.slaves)
        .into_iter()
        .map(|st| {
            let slave = rt.slaves.iter().find(|s| s.name == st.name);
            let port = slave.and_then(|s| rt.bond.slave_port(s.id));
            SlaveSample {
                lacp: port.and_then(|p| Some(lacp?.port_status(p)?.counters)),
                fast_rx: slave.and_then(|s| bonds.fast.counters(s.ifindex)),
                status: st,
            }
        })
        .collect();
    BondSample {
        status,
        slaves,
        failovers: rt.failovers.count(),
        datapath: if rt.fast.in_use() { Datapath::Bpf } else { Datapath::Userspace },
        fast_tx: bonds.fast.counters(rt.dev.ifindex()),
    }
}

/// Every bond's metrics.
fn render(bonds: &Bonds) -> Rendered {
    let samples: Vec<BondSample> = bonds.list.iter().map(|rt| sample(rt, bonds)).collect();
    metrics::render(&samples, VERSION)
}

/// The HTTP listener and the textfile, as asked for.
pub(super) struct Metrics {
    http: Option<Http>,
    textfile: Option<Textfile>,
}

impl Metrics {
    /// Opens what `opts` asks for: listens (before the daemon drops its capabilities, so that
    /// a port below 1024 works as root) and checks the textfile's place.
    pub(super) fn open(opts: &MetricsOptions) -> Result<Metrics> {
        let http = opts.listen.map(Http::bind).transpose()?;
        let textfile = opts.textfile.as_deref().map(Textfile::new).transpose()?;
        Ok(Metrics { http, textfile })
    }

    /// Puts the listener into the poll set and writes the textfile a first time (an error
    /// here stops the daemon's start: the directory is not writable, say).
    pub(super) fn start(&mut self, poller: &Poller, bonds: &Bonds, now: Instant) -> Result<()> {
        if let Some(http) = &mut self.http {
            http.token = poller.add(&http.listener, EventFlags::IN)?;
        }
        if let Some(t) = &mut self.textfile {
            let r = render(bonds);
            t.write(&r).with_context(|| format!("cannot write {}", t.path.display()))?;
            t.written = Some((r.state, now));
            t.next_check = now + TEXTFILE_CHECK;
        }
        Ok(())
    }

    /// Where the metrics are, for the start-up line (`None`: nowhere).
    pub(super) fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(http) = &self.http {
            parts.push(format!("http://{}/metrics", http.addr));
        }
        if let Some(t) = &self.textfile {
            parts.push(t.path.display().to_string());
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }

    /// Whether poll-set token `token` is the listener's or a connection's.
    pub(super) fn owns(&self, token: u64) -> bool {
        self.http.as_ref().is_some_and(|h| h.token == token || h.conn(token).is_some())
    }

    /// Handles a wakeup of the listener or a connection.
    pub(super) fn ready(&mut self, token: u64, poller: &Poller, now: Instant, bonds: &Bonds) {
        let Some(http) = &mut self.http else { return };
        if token == http.token {
            http.accept(poller, now);
        } else if let Some(ci) = http.conn(token) {
            http.advance(ci, poller, bonds);
        }
    }

    /// Drops connections past their time, and keeps the textfile up to date.
    pub(super) fn tick(&mut self, now: Instant, bonds: &Bonds) {
        if let Some(http) = &mut self.http {
            http.conns.retain(|c| c.deadline > now);
        }
        if let Some(t) = &mut self.textfile {
            t.refresh(now, || render(bonds));
        }
    }

    /// Stops: the listener closes, the textfile goes (no daemon, no metrics: a file left
    /// behind would show the bonds as they were).
    pub(super) fn close(self) {
        if let Some(t) = self.textfile {
            let _ = std::fs::remove_file(&t.path);
            let _ = std::fs::remove_file(&t.tmp);
        }
    }
}

/// The listener and its connections.
struct Http {
    listener: TcpListener,
    addr: SocketAddr,
    /// The listener's poll-set token (0 until started).
    token: u64,
    conns: Vec<Conn>,
}

/// A connection, from its request to its close.
struct Conn {
    stream: TcpStream,
    token: u64,
    phase: Phase,
    deadline: Instant,
}

enum Phase {
    /// Reading the request head.
    Reading(Vec<u8>),
    /// Writing the response.
    Writing { out: Vec<u8>, sent: usize },
    /// Answered and shut for writing: reading what the client still sends until it closes,
    /// so that unread bytes do not make the kernel reset the connection before the client
    /// has read the answer.
    Draining,
}

/// What a connection waits for next.
enum Step {
    Wait(EventFlags),
    Close,
}

impl Http {
    fn bind(addr: SocketAddr) -> Result<Http> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            let hint = match e.kind() {
                ErrorKind::AddrInUse => {
                    "; something listens there already (another ubond daemon?): choose another \
                     port with --metrics ADDR"
                }
                ErrorKind::AddrNotAvailable => "; no interface has that address",
                ErrorKind::PermissionDenied => "; a port below 1024 needs root",
                _ => "",
            };
            anyhow::anyhow!("cannot listen on {addr} for --metrics: {e}{hint}")
        })?;
        listener.set_nonblocking(true)?;
        // The port chosen by the system when asked for port 0.
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(Http { listener, addr, token: 0, conns: Vec::new() })
    }

    fn conn(&self, token: u64) -> Option<usize> {
        self.conns.iter().position(|c| c.token == token)
    }

    /// Accepts the connections waiting (at most [`MAX_CONNS`] per wakeup; more wake the loop
    /// again). Beyond [`MAX_CONNS`] open, a connection gets "503" and is closed.
    fn accept(&mut self, poller: &Poller, now: Instant) {
        for _ in 0..MAX_CONNS {
            let Ok((stream, _)) = self.listener.accept() else { return };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                let busy = plain(
                    "503 Service Unavailable",
                    "busy: too many metrics connections; try again\n",
                );
                let _ = (&stream).write(&busy);
                continue;
            }
            let Ok(token) = poller.add(&stream, EventFlags::IN) else { continue };
            let deadline = now + CONN_TIME;
            self.conns.push(Conn { stream, token, phase: Phase::Reading(Vec::new()), deadline });
        }
    }

    /// Moves connection `ci` on as far as it goes without waiting.
    fn advance(&mut self, ci: usize, poller: &Poller, bonds: &Bonds) {
        let conn = &mut self.conns[ci];
        match conn.advance(|| render(bonds).text) {
            Step::Wait(flags) => {
                if poller.watch(&conn.stream, conn.token, flags).is_err() {
                    self.conns.swap_remove(ci);
                }
            }
            Step::Close => {
                self.conns.swap_remove(ci);
            }
        }
    }
}

impl Conn {
    fn advance(&mut self, metrics: impl FnOnce() -> String) -> Step {
        let mut metrics = Some(metrics);
        loop {
            match &mut self.phase {
                Phase::Reading(head) => {
                    let eof = match read_head(&mut self.stream, head) {
                        Ok(eof) => eof,
                        Err(()) => return Step::Close,
                    };
                    let out = match parse(head) {
                        Parsed::Partial if head.len() >= REQUEST_MAX => plain(
                            "431 Request Header Fields Too Large",
                            &format!("request head longer than {REQUEST_MAX} bytes\n"),
                        ),
                        Parsed::Partial if eof => return Step::Close,
                        Parsed::Partial => return Step::Wait(EventFlags::IN),
                        Parsed::Bad(why) => plain("400 Bad Request", &format!("{why}\n")),
                        Parsed::Request { method, target } => answer(method, target, || {
                            metrics.take().map_or_else(String::new, |render| render())
                        }),
                    };
                    self.phase = Phase::Writing { out, sent: 0 };
                }
                Phase::Writing { out, sent } => match self.stream.write(&out[*sent..]) {
                    Ok(n) => {
                        *sent += n;
                        if *sent >= out.len() {
                            let _ = self.stream.shutdown(Shutdown::Write);
                            self.phase = Phase::Draining;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        return Step::Wait(EventFlags::OUT)
                    }
                    Err(_) => return Step::Close,
                },
                Phase::Draining => {
                    let mut sink = [0u8; 4096];
                    // Bounded, so that a client that keeps sending does not keep the loop.
                    for _ in 0..16 {
                        match self.stream.read(&mut sink) {
                            Ok(0) => return Step::Close,
                            Ok(_) => {}
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(_) => return Step::Close,
                        }
                    }
                    return Step::Wait(EventFlags::IN);
                }
            }
        }
    }
}

/// Reads what the client sent into `head`, up to [`REQUEST_MAX`] bytes; `Ok(true)` at the end
/// of its stream.
fn read_head(stream: &mut TcpStream, head: &mut Vec<u8>) -> Result<bool, ()> {
    let mut chunk = [0u8; 2048];
    while head.len() < REQUEST_MAX {
        let room = (REQUEST_MAX - head.len()).min(chunk.len());
        match stream.read(&mut chunk[..room]) {
            Ok(0) => return Ok(true),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(_) => return Err(()),
        }
    }
    Ok(false)
}

/// A request head, as far as it came.
#[derive(Debug, PartialEq, Eq)]
enum Parsed<'a> {
    /// Not whole yet.
    Partial,
    /// Not HTTP/1.x, with why.
    Bad(&'static str),
    /// A whole head: its method and target (path and query).
    Request { method: Method, target: &'a str },
}

/// A request's method, as far as the answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    /// GET without the body.
    Head,
    /// Not allowed.
    Other,
}

fn parse(head: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => Parsed::Request {
            method: match req.method {
                Some("GET") => Method::Get,
                Some("HEAD") => Method::Head,
                _ => Method::Other,
            },
            target: req.path.unwrap_or("/"),
        },
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Bad("too many headers"),
        Err(_) => Parsed::Bad("not an HTTP/1.x request"),
    }
}

/// The answer to a whole request for `target` (path and query); `metrics` renders the text.
fn answer(method: Method, target: &str, metrics: impl FnOnce() -> String) -> Vec<u8> {
    const TEXT: &str = "text/plain; charset=utf-8";
    let head_only = match method {
        Method::Get => false,
        Method::Head => true,
        Method::Other => {
            return response(
                "405 Method Not Allowed",
                TEXT,
                "Allow: GET, HEAD\r\n",
                "only GET and HEAD: GET /metrics\n",
                false,
            );
        }
    };
    let path = target.split('?').next().unwrap_or_default();
    match path {
        "/metrics" => response("200 OK", CONTENT_TYPE, "", &metrics(), head_only),
        "/" => response(
            "200 OK",
            TEXT,
            "",
            "ubond daemon: the Prometheus metrics are at /metrics\n",
            head_only,
        ),
        _ => response(
            "404 Not Found",
            TEXT,
            "",
            "not found: the metrics are at /metrics\n",
            head_only,
        ),
    }
}

/// An error answer in plain text.
fn plain(status: &str, body: &str) -> Vec<u8> {
    response(status, "text/plain; charset=utf-8", "", body, false)
}

/// A whole response; `headers` are further header lines, each ending in CRLF.
fn response(
    status: &str,
    content_type: &str,
    headers: &str,
    body: &str,
    head_only: bool,
) -> Vec<u8> {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let mut out = format!(
        "HTTP/1.1 {status}\r\nDate: {date}\r\n{headers}Content-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// The file for node_exporter's textfile collector.
struct Textfile {
    path: PathBuf,
    /// Written first, then renamed to `path`. Its name does not end in `.prom`, so the
    /// collector never reads it.
    tmp: PathBuf,
    /// When the text is rendered next to look for a change.
    next_check: Instant,
    /// The state fingerprint last written, and when.
    written: Option<(u64, Instant)>,
    /// The last write failed (said once, until one succeeds again).
    failing: bool,
}

impl Textfile {
    fn new(path: &Path) -> Result<Textfile> {
        let flag = "--metrics-textfile";
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            bail!("{flag} {}: not a file name", path.display());
        };
        if !name.ends_with(".prom") || name.starts_with('.') {
            bail!(
                "{flag} {}: node_exporter's textfile collector reads only files named *.prom \
                 (e.g. ubond.prom)",
                path.display()
            );
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            bail!(
                "{flag} {}: no directory {} (the directory of node_exporter's \
                 --collector.textfile.directory)",
                path.display(),
                dir.display()
            );
        }
        Ok(Textfile {
            path: path.to_path_buf(),
            tmp: dir.join(format!(".{name}.tmp")),
            next_check: Instant::ZERO,
            written: None,
            failing: false,
        })
    }

    /// Writes `r` through the temporary file, readable by all (node_exporter runs as its own
    /// user).
    fn write(&self, r: &Rendered) -> std::io::Result<()> {
        std::fs::write(&self.tmp, &r.text)?;
        std::fs::set_permissions(&self.tmp, std::fs::Permissions::from_mode(0o644))?;
        std::fs::rename(&self.tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&self.tmp);
        })
    }

    /// Every [`TEXTFILE_CHECK`]: renders, and writes if a state changed or the last write is
    /// [`TEXTFILE_PERIOD`] old.
    fn refresh(&mut self, now: Instant, render: impl FnOnce() -> Rendered) {
        if now < self.next_check {
            return;
        }
        self.next_check = now + TEXTFILE_CHECK;
        let r = render();
        let due = self.written.is_none_or(|(state, at)| {
            state != r.state || now.saturating_duration_since(at) >= TEXTFILE_PERIOD
        });
        if !due {
            return;
        }
        match self.write(&r) {
            Ok(()) => {
                if self.failing {
                    eprintln!("ubond: metrics written to {} again", self.path.display());
                }
                self.failing = false;
                self.written = Some((r.state, now));
            }
            Err(e) => {
                if !self.failing {
                    eprintln!("ubond: cannot write the metrics to {}: {e}", self.path.display());
                }
                self.failing = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let default = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT);
        assert_eq!(parse_listen(DEFAULT_LISTEN), Ok(default));
        assert_eq!(parse_listen("9677"), Ok("127.0.0.1:9677".parse().unwrap()));
        assert_eq!(parse_listen("0.0.0.0:80"), Ok("0.0.0.0:80".parse().unwrap()));
        assert_eq!(parse_listen("[::1]:9677"), Ok("[::1]:9677".parse().unwrap()));
        let e = parse_listen("localhost:9677").unwrap_err();
        assert!(e.contains("expected PORT, IPV4:PORT or [IPV6]:PORT"), "{e}");
        assert!(parse_listen("::1:9677").is_err());
        assert!(parse_listen("70000").is_err());
    }

    #[test]
    fn failovers_count_changes_away_from_a_slave() {
        let mut f = Failovers::default();
        f.active_slave(Some(SlaveId(1)));
        assert_eq!(f.count(), 0, "the first choice");
        f.active_slave(Some(SlaveId(1)));
        assert_eq!(f.count(), 0, "no change");
        f.active_slave(Some(SlaveId(2)));
        assert_eq!(f.count(), 1);
        f.active_slave(None);
        assert_eq!(f.count(), 2, "the last one lost");
        f.active_slave(Some(SlaveId(1)));
        assert_eq!(f.count(), 2, "one back after none");
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }

    #[test]
    fn requests_and_their_answers() {
        let get = |head: &str| match parse(head.as_bytes()) {
            Parsed::Request { method, target } => {
                text(&answer(method, target, || "m 1\n".to_string()))
            }
            other => format!("{other:?}"),
        };
        let ok = get("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{ok}");
        assert!(ok.contains(" GMT\r\n"), "an IMF-fixdate: {ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(ok.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\nm 1\n"), "{ok}");
        let q = get("GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
        assert!(q.starts_with("HTTP/1.1 200 OK\r\n") && q.ends_with("m 1\n"), "{q}");
        let head = get("HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"), "{head}");
        assert!(get("GET / HTTP/1.1\r\n\r\n").contains("the Prometheus metrics are at /metrics"));
        assert!(get("GET /other HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found\r\n"));
        let post = get("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{post}");
        assert!(post.contains("\r\nAllow: GET, HEAD\r\n"), "{post}");
        assert!(post.contains("\r\n\r\nonly GET and HEAD"), "{post}");
        assert_eq!(parse(b"GET /metrics HTTP/1.1\r\nHost:"), Parsed::Partial);
        assert_eq!(parse(b"\x16\x03\x01 hello"), Parsed::Bad("not an HTTP/1.x request"));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        let many = format!("GET /metrics HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse(many.as_bytes()), Parsed::Bad("too many headers"));
    }

    #[test]
    fn textfile_names_and_places() {
        let dir = std::env::temp_dir().join(format!("ubond-textfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = Textfile::new(&dir.join("ubond.txt")).err().unwrap().to_string();
        assert!(e.contains("reads only files named *.prom"), "{e}");
        let e = Textfile::new(&dir.join("nosuch/ubond.prom")).err().unwrap().to_string();
        assert!(e.contains("no directory"), "{e}");
        let t = Textfile::new(&dir.join("ubond.prom")).unwrap();
        assert_eq!(t.tmp, dir.join(".ubond.prom.tmp"));
        let r = Rendered { text: "x 1\n".to_string(), state: 1 };
        t.write(&r).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("ubond.prom")).unwrap(), "x 1\n");
        let mode = std::fs::metadata(dir.join("ubond.prom")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        assert!(!t.tmp.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn textfile_is_rewritten_on_a_state_change_or_when_old() {
        let dir = std::env::temp_dir().join(format!("ubond-refresh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ubond.prom");
        let mut t = Textfile::new(&path).unwrap();
        let at = |s: u64| Instant::ZERO + Duration::from_secs(s);
        let r = |text: &str, state: u64| Rendered { text: text.to_string(), state };
        let read = || std::fs::read_to_string(&path).unwrap();
        t.refresh(at(1), || r("a\n", 1));
        assert_eq!(read(), "a\n", "the first time");
        t.refresh(at(1), || panic!("not rendered again within the check interval"));
        t.refresh(at(2), || r("b\n", 1));
        assert_eq!(read(), "a\n", "counters only: not yet");
        t.refresh(at(3), || r("c\n", 2));
        assert_eq!(read(), "c\n", "a state changed");
        t.refresh(at(17), || r("d\n", 2));
        assert_eq!(read(), "c\n", "14 s old");
        t.refresh(at(18), || r("e\n", 2));
        assert_eq!(read(), "e\n", "15 s old");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
