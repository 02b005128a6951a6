//! Network namespaces for the tests that need root.
//!
//! Every such test makes its own namespace `ubs-<pid>-<n>` (so tests run in parallel, and two
//! runs never meet), runs its body on a dedicated thread that entered it with `setns`, and
//! deletes it when the [`Netns`] guard drops, even when the body panicked. Nothing inside
//! routes out: the namespace has no link to the host.
#![allow(unsafe_code, dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);
static CREATE: Mutex<()> = Mutex::new(());

/// Fails the test (never skips it) when not root: CI runs these as root.
pub fn require_root(test: &str) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "{test} needs root (it creates a network namespace, tap and veth devices); \
         run the tests as root (sudo -E cargo test -p ubond-sys)"
    );
}

/// A network namespace, deleted on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a fresh namespace, with IPv6 off (so no router solicitations or MLD reports mix
    /// with the tests' frames) and `lo` up.
    pub fn new(test: &str) -> Netns {
        require_root(test);
        let name = format!("ubs-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        {
            // Serialised: the first `ip netns add` sets up /run/netns mounts.
            let _g = CREATE.lock().unwrap_or_else(|e| e.into_inner());
            run("ip", &["netns", "add", &name]);
        }
        let ns = Netns { name };
        ns.run(|| {
            // /proc/sys/net is the writing thread's namespace's. A kernel without IPv6 has no
            // such files, which is as good.
            for which in ["all", "default"] {
                let _ =
                    std::fs::write(format!("/proc/sys/net/ipv6/conf/{which}/disable_ipv6"), "1");
            }
        });
        ns.ip("link set lo up");
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> <args>` (space-separated), failing the test if it fails.
    pub fn ip(&self, args: &str) {
        let mut all = vec!["-n", &self.name];
        all.extend(args.split_whitespace());
        run("ip", &all);
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    pub fn exec(&self, cmd: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(cmd);
        run("ip", &all)
    }

    /// Runs `body` on a new thread inside the namespace, and returns its result; a panic in the
    /// body is re-raised here (after which the guard still deletes the namespace).
    pub fn run<R: Send>(&self, body: impl FnOnce() -> R + Send) -> R {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            let handle = s.spawn(move || {
                let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // SAFETY: `f` is an open namespace file; setns only changes this thread's
                // network namespace (a dedicated thread, which ends with the body).
                let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                body()
            });
            match handle.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Runs a command, failing the test with its stderr if it fails; returns its stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out =
        Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Calls `poll` until it returns `Some`, or fails the test after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut poll: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = poll() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
