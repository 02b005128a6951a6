//! Process-wide settings: of the command-line client, the daemon's heap, its threads' signals.
#![allow(unsafe_code)]

/// Restores the default action of `SIGPIPE` (end the process), which the Rust runtime sets
/// to "ignore" at startup: `ubond status | head` then ends quietly when `head` has read
/// enough, as other command-line tools do, instead of failing on its next `print!`.
///
/// Only for commands that hold no state to clean up. Writes to sockets must then pass
/// `MSG_NOSIGNAL` (a daemon that hung up is an error to report, not a reason to die).
pub fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler (no code runs in signal context);
    // it changes one process-wide disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Gives the heap's free memory back to the kernel (`malloc_trim(0)`): after a one-time
/// burst, such as loading the BPF object (which parses the kernel's BTF, megabytes), so that
/// the resident size of a long-running daemon is what it uses.
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks and releases the allocator's free memory; it has no
    // preconditions and touches no memory the program owns.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs `f` with every signal blocked in the calling thread, then restores the thread's mask.
/// A thread `f` starts inherits the blocked set and never runs a signal handler: the process's
/// signals (SIGTERM and SIGINT, which stop the daemon) then interrupt the calling thread's
/// wait, not another thread's.
pub fn without_signals<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: all-zero is a valid sigset_t, which sigfillset then fills.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above; pthread_sigmask writes the old mask into it.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are valid and outlive the calls, which change only this thread's
    // signal mask.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
    }
    let result = f();
    // SAFETY: `old` is the mask read above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    result
}
