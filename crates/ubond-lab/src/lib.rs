//! The ubond lab: a deterministic network simulator (work in progress: see the issues).
