//! Bonding options (work in progress).
