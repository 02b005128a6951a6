//! `ubond daemon`: a control-plane thread driving the sans-IO [`Bond`](ubond_core::bond::Bond)s
//! of `ubond-core` with the system's control frames, link events, requests and time, and data
//! threads forwarding the data frames of the userspace data path with the plans it publishes.
//!
//! Each job has its module, and each module owns what its job needs:
//!
//! | module | owns |
//! |---|---|
//! | this one | [`run`]: start-up (state file, control socket, fast path, privileges) and the two ways to stop |
//! | [`clock`] | `Clock`, the one time source, handed to what needs the time |
//! | [`event_loop`] | the poll set (`Poller`), the wait for the next deadline, and handing each wakeup to its owner |
//! | [`control_socket`] | who may connect, reading a request line, answering |
//! | [`verbs`] | what each request does, and its answer |
//! | [`bonds`] | the bonds (`Bonds`) and their lifecycle: create, enslave, release, delete, with the state file |
//! | [`bond`] | one bond (`BondRt`): its device, its report file, the core's outputs carried out |
//! | [`slave`] | one slave (`SlaveRt`): taken as found or adopted, made ready, given back |
//! | [`state`] | the state file: what a daemon that stops leaves for the next one |
//! | [`restore`] | the next one: every bond of the state file run again where it was |
//! | [`fastpath`] | the in-kernel fast path kept in step with each bond's plan |
//! | [`events`] | link and address notifications given to the bonds |
//! | [`datapath`] | frames between a bond's device and its slaves' packet sockets: what is shared, and the control plane's part |
//! | [`workers`] | the data threads, and the snapshot of each bond they forward with |
//! | [`forward`] | one data thread: batches of data frames decided by the core's plans |
//! | [`metrics`] | the bonds' metrics over HTTP and in node_exporter's textfile directory |
//!
//! A bond outlives its daemon: its device is a veth pair, the fast path's links are pinned, and
//! the state file holds the rest. Stopping the daemon (SIGTERM, SIGINT, a crash) leaves all of
//! it running; `ubond shutdown` removes it.
//!
//! The Linux mechanisms themselves (rtnetlink, packet sockets, the bond device, sysctls, BPF,
//! capabilities) are in `ubond-sys`.

mod bfd;
mod bond;
mod bonds;
mod clock;
mod control_socket;
mod datapath;
mod event_loop;
mod events;
mod fastpath;
mod forward;
mod metrics;
mod restore;
mod slave;
mod state;
mod tc_path;
mod verbs;
mod workers;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use ubond_sys::bpf::{FastPath, Hook};
use ubond_sys::service::ServiceManager;

use crate::access::Access;
use bonds::Bonds;
use clock::Clock;
use control_socket::ControlSocket;
use event_loop::Daemon;
use fastpath::Fast;
use metrics::Metrics;
pub use metrics::{parse_listen, MetricsOptions, DEFAULT_LISTEN as DEFAULT_METRICS_LISTEN};
use state::Refused;
use workers::Workers;
pub(crate) use workers::MAX_THREADS as MAX_DATA_THREADS;

/// The driver version shown on the report's first line.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which data path the daemon uses (`ubond daemon --datapath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DatapathChoice {
    /// The in-kernel fast path when its programs load, else the userspace path.
    #[default]
    Auto,
    /// The in-kernel fast path; the daemon does not start without it.
    Bpf,
    /// The userspace path only, without eBPF: frames cross the daemon's data threads, or tc's
    /// u32 and mirred filters where the bond's plans are plain choices.
    User,
}

/// How the fast path's programs hook into an interface (`ubond daemon --tc-hook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TcHook {
    /// TCX where the kernel has it (Linux 6.6 and later), else clsact.
    #[default]
    Auto,
    /// TCX links only.
    Tcx,
    /// `bpf` filters on the clsact qdisc only.
    Clsact,
}

impl From<TcHook> for Hook {
    fn from(h: TcHook) -> Hook {
        match h {
            TcHook::Auto => Hook::Auto,
            TcHook::Tcx => Hook::Tcx,
            TcHook::Clsact => Hook::Clsact,
        }
    }
}

/// The daemon's data path options.
#[derive(Debug, Clone, Default)]
pub struct PathOptions {
    /// Which data path (`--datapath`).
    pub choice: DatapathChoice,
    /// How the fast path's programs hook in (`--tc-hook`).
    pub hook: TcHook,
    /// Where the fast path pins its maps and links (`--bpffs`; none: /sys/fs/bpf).
    pub bpffs: Option<std::path::PathBuf>,
    /// Threads of the userspace data path (`--data-threads`; 0: one per CPU, at most 4).
    pub data_threads: usize,
}

/// Runs the daemon until SIGTERM or SIGINT, which stop it and leave every bond running for the
/// next daemon to adopt, or until `ubond shutdown`, which removes every bond first.
pub fn run(
    control: &Path,
    access: Access,
    path: &PathOptions,
    metrics: &MetricsOptions,
) -> Result<()> {
    let datapath = path.choice;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    let dir = control.parent().unwrap_or(Path::new("/")).to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let service = ServiceManager::from_env();
    let boot_id = ubond_sys::boot::boot_id().unwrap_or_default();
    // The state first: a file this build cannot use stops it before it touches anything.
    let saved = match state::load(&dir)? {
        Ok(saved) => saved,
        Err(refused @ Refused::Newer { .. }) => {
            bail!("{}: {refused}", dir.join(state::FILE).display())
        }
        Err(refused) => {
            let aside = state::set_aside(&dir)?;
            eprintln!(
                "ubond: {}: {refused}; moved to {} and not used: the daemon starts without \
                 bonds (bonds that daemon ran keep running without control: `ubond link show` \
                 lists them, `ip link del BOND` removes one)",
                dir.join(state::FILE).display(),
                aside.display()
            );
            None
        }
    };
    let socket = ControlSocket::bind(control, access)?;
    let metrics = Metrics::open(metrics)?;
    // Loading BPF programs and creating their maps needs CAP_BPF (or CAP_SYS_ADMIN), and
    // mounting a bpffs CAP_SYS_ADMIN: before the capabilities go. Attaching and map updates
    // later work with the kept ones.
    let (fast, pins, path_line) = match datapath {
        DatapathChoice::User => (None, None, "userspace (--datapath user)".to_string()),
        DatapathChoice::Auto | DatapathChoice::Bpf => {
            let pins = pin_dir(&dir, path.bpffs.as_deref());
            match FastPath::load(pins.as_deref(), path.hook.into()) {
                Ok(f) => {
                    if let Some(why) = f.inherited_unread() {
                        eprintln!(
                            "ubond: the earlier daemon's slave map {why}: not used (replaced by \
                             this build's); its bonds' slaves take every frame in userspace \
                             until this daemon's programs take over"
                        );
                    }
                    let line = match f.hook() {
                        Hook::Auto => "bpf (in-kernel fast path)".to_string(),
                        hook => format!("bpf (in-kernel fast path, {} hook)", hook.name()),
                    };
                    (Some(f), pins, line)
                }
                Err(e) if datapath == DatapathChoice::Bpf => {
                    bail!("{e}; start with --datapath user or auto to use the userspace data path")
                }
                Err(e) => (None, None, format!("userspace ({e})")),
            }
        }
    };
    // Loading parsed the kernel's BTF (megabytes, freed since): hand that memory back.
    ubond_sys::process::trim_heap();
    // Before any thread exists (threads inherit the sets); chown above was the last need
    // for more than CAP_NET_ADMIN and CAP_NET_RAW.
    crate::privs::drop_to_needed()?;
    let clock = Clock::start();
    let data_threads = match path.data_threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from).min(4),
        n => n,
    };
    let workers = Workers::start(data_threads, clock)?;
    let bonds = Bonds::new(dir, Fast::new(fast, pins), workers, clock, boot_id.clone());
    let mut daemon = Daemon::new(clock, socket, bonds, service, metrics)?;
    if let Some(saved) = saved {
        daemon.restore(saved, &boot_id);
    }
    // Only now may clients find the socket: with the privileges dropped, the bonds of the
    // daemon that ran before running again, and everything in the poll set.
    daemon.publish()?;
    eprintln!(
        "ubond: daemon listening on {} (data path: {path_line}; {data_threads} data thread{})",
        control.display(),
        if data_threads == 1 { "" } else { "s" }
    );
    if let Some(at) = daemon.metrics_at() {
        eprintln!("ubond: metrics at {at}");
    }
    service.ready(&format!("listening on {}", control.display()));
    let result = daemon.run(&stop);
    if daemon.shutdown_requested() {
        service.stopping("removing every bond (ubond shutdown)");
        daemon.shut_down();
        eprintln!("ubond: every bond removed; daemon stopped");
    } else {
        service.stopping("stopping; the bonds keep running");
        daemon.hold_bfd();
        daemon.stop();
        eprintln!("ubond: daemon stopped; its bonds keep running for the next daemon");
    }
    result
}

/// Where the fast path pins its links: a directory named after the control socket's directory
/// (so daemons of different directories keep theirs apart) in `bpffs`, or in the system's
/// bpffs (mounted if it is not). Without one, the fast path does not outlive the daemon: said.
fn pin_dir(dir: &Path, bpffs: Option<&Path>) -> Option<std::path::PathBuf> {
    let instance: String = dir
        .to_string_lossy()
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    let instance = if instance.is_empty() { "root".to_owned() } else { instance };
    match ubond_sys::bpffs::pin_dir(bpffs, &instance) {
        Ok(p) => {
            if bpffs.is_none() && !ubond_sys::bpffs::in_system_mount_namespace() {
                eprintln!(
                    "ubond: warning: this daemon runs in a mount namespace of its own: if it \
                     mounted {} there, its pins die with it (--bpffs names one that outlives it)",
                    ubond_sys::bpffs::SYSTEM_BPFFS
                );
            }
            Some(p)
        }
        Err(e) => {
            eprintln!("ubond: {e}; the fast path's programs will not outlive the daemon");
            None
        }
    }
}
