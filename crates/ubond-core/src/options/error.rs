//! Errors and warnings of option setting, with the kernel's errno for each case.

use std::fmt;

use super::values::Mode;

/// Why an option could not be set. Each variant names the option, and where there is one, the
/// value; [`OptionError::errno`] gives the errno the kernel returns for the same case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// No option has this name (the kernel: no such sysfs file, `ENOENT`).
    UnknownOption {
        /// The name given.
        name: String,
        /// The closest option name, if one is close.
        suggestion: Option<&'static str>,
    },
    /// The value is not a name or number of the option's table, or is out of range (`EINVAL`,
    /// `bond_opt_error_interpret`'s "invalid value" and "allowed values" lines).
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value given (up to its first newline).
        value: String,
        /// What the option accepts, e.g. `balance-rr(0), active-backup(1), ...`.
        allowed: String,
    },
    /// The option does not apply in the bond's mode (`EACCES`, "mode dependency failed").
    NotSupportedInMode {
        /// The option.
        option: &'static str,
        /// The bond's mode.
        mode: Mode,
        /// The modes in which it applies.
        supported: Vec<Mode>,
    },
    /// `BOND_OPTFLAG_NOSLAVES`: settable only while the bond has no slaves (`ENOTEMPTY`).
    HasSlaves {
        /// The option.
        option: &'static str,
    },
    /// `BOND_OPTFLAG_IFDOWN`: settable only while the bond is down (`EBUSY`).
    BondIsUp {
        /// The option.
        option: &'static str,
    },
    /// The value is well-formed but the option's own check refused it (duplicate or missing
    /// ARP target, full table, multicast `ad_actor_system`, slave not usable, ...): `EINVAL`.
    Rejected {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// The kernel's reason, worded as its log line.
        reason: String,
    },
    /// The kernel's `EPERM` cases: delays without miimon, `arp_ip_target` or `queue_id`
    /// syntax errors.
    NotPermitted {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// The kernel's reason.
        reason: String,
    },
    /// The named interface is not a slave of this bond (`ENODEV`).
    NoSuchSlave {
        /// The option.
        option: &'static str,
        /// The interface name given.
        name: String,
    },
    /// `max_bonds` and `tx_queues` exist only as module parameters.
    ModuleOnly {
        /// The option.
        option: &'static str,
    },
    /// The option is an action, not a setting (`slaves`: enslave or release).
    NotASetting {
        /// The option.
        option: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
}

impl OptionError {
    /// The errno the kernel returns for the same refusal (`EINVAL` is 22, and so on).
    pub const fn errno(&self) -> i32 {
        match self {
            OptionError::UnknownOption { .. } => 2,       // ENOENT
            OptionError::InvalidValue { .. } => 22,       // EINVAL
            OptionError::NotSupportedInMode { .. } => 13, // EACCES
            OptionError::HasSlaves { .. } => 39,          // ENOTEMPTY
            OptionError::BondIsUp { .. } => 16,           // EBUSY
            OptionError::Rejected { .. } => 22,           // EINVAL
            OptionError::NotPermitted { .. } => 1,        // EPERM
            OptionError::NoSuchSlave { .. } => 19,        // ENODEV
            OptionError::ModuleOnly { .. } => 2,          // no sysfs file
            OptionError::NotASetting { .. } => 22,
        }
    }

    /// The option concerned (the name given, for an unknown option).
    pub fn option(&self) -> &str {
        match self {
            OptionError::UnknownOption { name, .. } => name,
            OptionError::InvalidValue { option, .. }
            | OptionError::NotSupportedInMode { option, .. }
            | OptionError::HasSlaves { option }
            | OptionError::BondIsUp { option }
            | OptionError::Rejected { option, .. }
            | OptionError::NotPermitted { option, .. }
            | OptionError::NoSuchSlave { option, .. }
            | OptionError::ModuleOnly { option }
            | OptionError::NotASetting { option, .. } => option,
        }
    }
}

fn mode_list(modes: &[Mode]) -> String {
    modes.iter().map(|m| format!("{}({})", m.name(), m.number())).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::UnknownOption { name, suggestion } => {
                write!(f, "unknown bonding option {name:?}")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean {s:?}?")?;
                }
                Ok(())
            }
            OptionError::InvalidValue { option, value, allowed } => {
                write!(f, "option {option}: invalid value {value:?}; allowed: {allowed}")
            }
            OptionError::NotSupportedInMode { option, mode, supported } => write!(
                f,
                "option {option}: mode dependency failed, not supported in mode {}({}); it applies to {}",
                mode.name(),
                mode.number(),
                mode_list(supported)
            ),
            OptionError::HasSlaves { option } => {
                write!(f, "option {option}: unable to set because the bond device has slaves")
            }
            OptionError::BondIsUp { option } => {
                write!(f, "option {option}: unable to set because the bond device is up")
            }
            OptionError::Rejected { option, value, reason }
            | OptionError::NotPermitted { option, value, reason } => {
                write!(f, "option {option}: value {value:?} refused: {reason}")
            }
            OptionError::NoSuchSlave { option, name } => {
                write!(f, "option {option}: interface {name:?} is not a slave of this bond")
            }
            OptionError::ModuleOnly { option } => write!(
                f,
                "option {option}: only a module parameter (modprobe bonding {option}=N), it cannot be changed on a bond"
            ),
            OptionError::NotASetting { option, hint } => write!(f, "option {option}: {hint}"),
        }
    }
}

impl std::error::Error for OptionError {}

/// Something the kernel logs while accepting a value (rounded delays, a monitor switched off,
/// a module parameter reset to its default). The option was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The option whose setting produced the warning.
    pub option: &'static str,
    /// The kernel's log text.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(option: &'static str, message: impl Into<String>) -> Warning {
        Warning { option, message: message.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option {}: {}", self.option, self.message)
    }
}
