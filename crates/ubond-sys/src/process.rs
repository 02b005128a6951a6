//! Process-wide settings of the command-line client.
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
