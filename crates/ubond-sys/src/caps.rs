//! Capabilities: a process keeps only those it needs. The others leave the effective,
//! permitted, inheritable and bounding sets, and `no_new_privs` is set, so that neither the
//! process nor anything it could be tricked into executing regains them.

use std::io;

use rustix::thread::{
    capabilities, remove_capability_from_bounding_set, set_capabilities, set_no_new_privs,
    CapabilitySet, CapabilitySets,
};

use crate::error::{Result, SysError};

/// A capability ubond keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `CAP_NET_ADMIN`: TAP devices, MAC/MTU/up changes, sysctls under `/proc/sys/net`, tc
    /// programs.
    NetAdmin,
    /// `CAP_NET_RAW`: packet sockets.
    NetRaw,
}

fn set_of(caps: &[Capability]) -> CapabilitySet {
    caps.iter().fold(CapabilitySet::empty(), |set, cap| {
        set | match cap {
            Capability::NetAdmin => CapabilitySet::NET_ADMIN,
            Capability::NetRaw => CapabilitySet::NET_RAW,
        }
    })
}

fn fail(op: &'static str) -> impl Fn(rustix::io::Errno) -> SysError {
    move |e| SysError::new(op, None, io::Error::from(e))
}

/// Whether the calling thread has every one of `caps` in its effective set.
pub fn effective_has(caps: &[Capability]) -> Result<bool> {
    let now = capabilities(None).map_err(fail("read capabilities"))?;
    Ok(now.effective.contains(set_of(caps)))
}

/// Keeps only `caps` (those of them the thread has) in the calling thread's sets, takes every
/// other one out of the bounding set (when the thread may: `CAP_SETPCAP`), and sets
/// `no_new_privs`. Threads started later inherit the sets: call it before starting any.
pub fn keep_only(caps: &[Capability]) -> Result<()> {
    let keep = set_of(caps);
    let now = capabilities(None).map_err(fail("read capabilities"))?;
    // The bounding set first: dropping from it needs CAP_SETPCAP, which goes next.
    if now.effective.contains(CapabilitySet::SETPCAP) {
        for bit in 0..64 {
            let cap = CapabilitySet::from_bits_retain(1 << bit);
            if !keep.contains(cap) {
                // Bits the kernel does not know fail with EINVAL: nothing to drop there.
                let _ = remove_capability_from_bounding_set(cap);
            }
        }
    }
    let kept = now.permitted & keep;
    let sets =
        CapabilitySets { effective: kept, permitted: kept, inheritable: CapabilitySet::empty() };
    set_capabilities(None, sets).map_err(fail("drop capabilities"))?;
    set_no_new_privs(true).map_err(fail("set no_new_privs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_only_what_it_asks_for() {
        // Capabilities and no_new_privs are per thread: the test's own leaves the others be.
        let outcome = std::thread::spawn(|| {
            let had = effective_has(&[Capability::NetRaw]).expect("read capabilities");
            keep_only(&[Capability::NetRaw]).expect("drop capabilities");
            let now = capabilities(None).expect("read capabilities");
            let want = if had { CapabilitySet::NET_RAW } else { CapabilitySet::empty() };
            assert_eq!((now.effective, now.permitted), (want, want));
            assert!(now.inheritable.is_empty());
            assert_eq!(effective_has(&[Capability::NetRaw]).expect("read"), had);
            assert!(!effective_has(&[Capability::NetAdmin, Capability::NetRaw]).expect("read"));
            assert!(rustix::thread::no_new_privs().expect("read no_new_privs"));
        })
        .join();
        assert!(outcome.is_ok(), "the thread's checks failed");
    }
}
