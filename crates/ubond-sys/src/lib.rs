//! Linux mechanisms for ubond (work in progress: see the issues).
