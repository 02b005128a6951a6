//! Why a bond refused a request, by who is at fault (the rustls way): the caller's misuse of
//! the API, a configuration the kernel's rules refuse, or an environment that does not allow
//! it. Each variant carries typed values, never a sentence made in advance; `Display` words
//! it, with the kernel's wording where there is one.

use std::fmt;

use crate::options::OptionError;

use super::alb::AlbError;
use super::{SlaveId, MAX_SLAVES};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondError {
    /// The caller's mistake: the request does not fit the bond as it is.
    Misuse(Misuse),
    /// A name or an option the kernel's rules refuse.
    Config(ConfigError),
    /// Something outside the bond does not allow it.
    Environment(EnvironmentError),
}

/// A request that does not fit the bond as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misuse {
    /// No slave with that handle.
    UnknownSlave(SlaveId),
    /// The interface (named) is already a slave of this bond.
    AlreadyEnslaved(String),
    /// The bond has [`MAX_SLAVES`] slaves.
    TooManySlaves,
    /// What was given to resume a slave's LACP port cannot be used (why); the port starts
    /// afresh.
    BadResume(&'static str),
}

/// A configuration the kernel's rules refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not a valid interface name (Linux `dev_valid_name`), for the bond or a slave.
    InvalidName(String),
    /// An option was refused; the error says which and why.
    Option(OptionError),
}

/// Something outside the bond does not allow the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentError {
    /// balance-alb/tlb: the interfaces' MAC addresses leave no free address for the new slave.
    MacAddress(AlbError),
}

impl fmt::Display for BondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BondError::Misuse(e) => e.fmt(f),
            BondError::Config(e) => e.fmt(f),
            BondError::Environment(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misuse::UnknownSlave(id) => write!(f, "slave #{} is not a slave of this bond", id.0),
            Misuse::AlreadyEnslaved(name) => write!(f, "{name} is already a slave of this bond"),
            Misuse::TooManySlaves => write!(f, "a bond has at most {MAX_SLAVES} slaves"),
            Misuse::BadResume(why) => write!(f, "cannot resume the slave's LACP port: {why}"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidName(name) => write!(
                f,
                "{name:?} is not a valid interface name: use 1 to 15 characters without '/', ':' or spaces"
            ),
            ConfigError::Option(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for EnvironmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvironmentError::MacAddress(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BondError {}
impl std::error::Error for Misuse {}
impl std::error::Error for ConfigError {}
impl std::error::Error for EnvironmentError {}

impl From<Misuse> for BondError {
    fn from(e: Misuse) -> Self {
        BondError::Misuse(e)
    }
}

impl From<ConfigError> for BondError {
    fn from(e: ConfigError) -> Self {
        BondError::Config(e)
    }
}

impl From<OptionError> for BondError {
    fn from(e: OptionError) -> Self {
        BondError::Config(ConfigError::Option(e))
    }
}

impl From<EnvironmentError> for BondError {
    fn from(e: EnvironmentError) -> Self {
        BondError::Environment(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_is_worded() {
        let cases: [(BondError, &str); 4] = [
            (Misuse::UnknownSlave(SlaveId(9)).into(), "slave #9 is not a slave of this bond"),
            (Misuse::TooManySlaves.into(), "a bond has at most 256 slaves"),
            (
                ConfigError::InvalidName("a b".into()).into(),
                "\"a b\" is not a valid interface name: use 1 to 15 characters without '/', ':' or spaces",
            ),
            (
                EnvironmentError::MacAddress(AlbError::NoFreeAddress).into(),
                "the slave hw address is in use by the bond; couldn't find a slave with a free hw address to give it (this should not have happened)",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
    }
}
