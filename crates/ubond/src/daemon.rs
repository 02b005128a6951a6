//! `ubond daemon`: one thread driving the sans-IO [`Bond`](ubond_core::bond::Bond)s of
//! `ubond-core` with the system's frames, link events, requests and time.
//!
//! Each job has its module, and each module owns what its job needs:
//!
//! | module | owns |
//! |---|---|
//! | this one | [`run`]: start-up (control socket, fast path, privileges, recovery) and shut-down |
//! | [`clock`] | `Clock`, the one time source, handed to what needs the time |
//! | [`event_loop`] | the poll set (`Poller`), the wait for the next deadline, and handing each wakeup to its owner |
//! | [`control_socket`] | who may connect, reading a request line, answering |
//! | [`verbs`] | what each request does, and its answer |
//! | [`bonds`] | the bonds (`Bonds`) and their lifecycle: create, enslave, release, delete, with the journal |
//! | [`bond`] | one bond (`BondRt`): its tap, its report file, the core's outputs carried out |
//! | [`slave`] | one slave (`SlaveRt`): taken as found, made ready, given back; recovery after a kill |
//! | [`journal`] | the journal file of enslaved interfaces |
//! | [`fastpath`] | the in-kernel fast path kept in step with each bond's plan |
//! | [`events`] | link and address notifications given to the bonds |
//! | [`datapath`] | frames between a bond's tap and its slaves' packet sockets |
//!
//! The Linux mechanisms themselves (rtnetlink, packet sockets, the tap, sysctls, BPF,
//! capabilities) are in `ubond-sys`.

mod bond;
mod bonds;
mod clock;
mod control_socket;
mod datapath;
mod event_loop;
mod events;
mod fastpath;
mod journal;
mod slave;
mod state;
mod verbs;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use ubond_sys::bpf::FastPath;

use crate::access::Access;
use bonds::Bonds;
use clock::Clock;
use control_socket::ControlSocket;
use event_loop::Daemon;
use fastpath::Fast;

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
    /// The userspace path only (every frame crosses the daemon).
    User,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(control: &Path, access: Access, datapath: DatapathChoice) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    let dir = control.parent().unwrap_or(Path::new("/")).to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let socket = ControlSocket::bind(control, access)?;
    // Loading BPF programs and creating their maps needs CAP_BPF (or CAP_SYS_ADMIN): before
    // the capabilities go. Attaching and map updates later work with the kept ones.
    let (fast, path_line) = match datapath {
        DatapathChoice::User => (None, "userspace (--datapath user)".to_string()),
        DatapathChoice::Auto | DatapathChoice::Bpf => match FastPath::load(None) {
            Ok(f) => (
                Some(f),
                "bpf (in-kernel fast path; userspace for tlb/alb and ARP monitoring)".to_string(),
            ),
            Err(e) if datapath == DatapathChoice::Bpf => {
                bail!("{e}; start with --datapath user or auto to use the userspace data path")
            }
            Err(e) => (None, format!("userspace ({e})")),
        },
    };
    // Loading parsed the kernel's BTF (megabytes, freed since): hand that memory back.
    ubond_sys::process::trim_heap();
    // Before any thread exists (threads inherit the sets); chown above was the last need
    // for more than CAP_NET_ADMIN and CAP_NET_RAW.
    crate::privs::drop_to_needed()?;
    slave::recover(&dir);
    let clock = Clock::start();
    let mut daemon = Daemon::new(clock, socket, Bonds::new(dir, Fast::new(fast), clock))?;
    // Only now may clients find the socket: with the privileges dropped, the interfaces a
    // killed daemon left given back, and everything in the poll set.
    daemon.publish()?;
    eprintln!("ubond: daemon listening on {} (data path: {path_line})", control.display());
    let result = daemon.run(&stop);
    daemon.shut_down();
    eprintln!("ubond: daemon stopped");
    result
}
