//! A session's settings (RFC 5880 6.8.1: the timers it offers) and their checks.

use std::fmt;
use std::time::Duration;

/// The interval both timers default to: 50 ms (the default of the `bfd_min_tx` and
/// `bfd_min_rx` options).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);
/// The Detect Mult by default: 3 (the `bfd_multiplier` option's default).
pub const DEFAULT_DETECT_MULT: u8 = 3;

/// A session's settings: the timers it offers (RFC 5880 6.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.DesiredMinTxInterval once the session is Up (while it is not, at least one second
    /// is advertised, 6.8.3).
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval: the fastest rate we accept packets at.
    pub required_min_rx: Duration,
    /// bfd.DetectMult: the remote declares us gone after this many intervals without a packet.
    pub detect_mult: u8,
    /// Passive role (6.1): send nothing until the remote has sent a packet.
    pub passive: bool,
}

impl Default for SessionConfig {
    /// [`DEFAULT_INTERVAL`] both ways, [`DEFAULT_DETECT_MULT`], active.
    fn default() -> SessionConfig {
        SessionConfig::new(DEFAULT_INTERVAL, DEFAULT_DETECT_MULT)
    }
}

impl SessionConfig {
    /// `desired_min_tx` and `required_min_rx` of `interval`, Detect Mult `detect_mult`, active.
    pub const fn new(interval: Duration, detect_mult: u8) -> SessionConfig {
        SessionConfig {
            desired_min_tx: interval,
            required_min_rx: interval,
            detect_mult,
            passive: false,
        }
    }

    /// Checks the values the protocol cannot carry or use.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let us = |d: Duration| d.as_micros();
        if us(self.desired_min_tx) == 0 {
            return Err(ConfigError::ZeroInterval("desired_min_tx"));
        }
        if us(self.required_min_rx) == 0 {
            return Err(ConfigError::ZeroInterval("required_min_rx"));
        }
        for (name, d) in
            [("desired_min_tx", self.desired_min_tx), ("required_min_rx", self.required_min_rx)]
        {
            if us(d) > u128::from(u32::MAX) {
                return Err(ConfigError::IntervalTooLong(name));
            }
        }
        if self.detect_mult == 0 {
            return Err(ConfigError::ZeroDetectMult);
        }
        Ok(())
    }
}

/// A caller's mistake in a session's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// An interval below one microsecond (named).
    ZeroInterval(&'static str),
    /// An interval the 32-bit microsecond fields cannot carry (over 71 minutes).
    IntervalTooLong(&'static str),
    /// Detect Mult 0 (RFC 5880 6.8.6: receivers discard such packets).
    ZeroDetectMult,
    /// Local discriminator 0 (RFC 5880 6.8.1: it "MUST be nonzero").
    ZeroDiscriminator,
    /// A saved session to resume has a zero discriminator or Detect Mult: it was never Up.
    BadResume,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroInterval(n) => write!(f, "{n} must be at least 1 microsecond"),
            ConfigError::IntervalTooLong(n) => {
                write!(f, "{n} must be at most {} microseconds", u32::MAX)
            }
            ConfigError::ZeroDetectMult => f.write_str("the detect multiplier must be at least 1"),
            ConfigError::ZeroDiscriminator => f.write_str("a local discriminator must be nonzero"),
            ConfigError::BadResume => {
                f.write_str("a saved session has a zero discriminator or Detect Mult")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
