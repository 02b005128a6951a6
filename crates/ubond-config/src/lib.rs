//! Configuration formats for ubond (work in progress: see the issues).
