//! Transmit hash policies (work in progress).
