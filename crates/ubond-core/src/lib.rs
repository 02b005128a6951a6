//! ubond-core
