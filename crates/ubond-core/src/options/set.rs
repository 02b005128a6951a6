//! The checked writes: [`BondOptions::set`] and [`BondOptions::set_slave`] with the kernel's
//! order of checks (name, mode, no-slaves, bond-down, value), and the `slaves` command.

use super::parse::{self, first_word, parse_value};
use super::spec::{allowed, IFDOWN, NOSLAVES};
use super::{
    cut_newline, BondOptions, OptionError, OptionId, Scope, SetContext, SlaveCommand, Warning,
};

/// Parses a write to the `slaves` file (`+eth0`, `-eth0`), as `bond_option_slaves_set`.
pub fn parse_slaves_command(value: &str) -> Result<SlaveCommand, OptionError> {
    let command = first_word(value, parse::IFNAMSIZ);
    let bad = || OptionError::NotPermitted {
        option: "slaves",
        value: cut_newline(value).to_owned(),
        reason: "no command found in slaves file - use +ifname or -ifname".to_owned(),
    };
    let name = command.get(1..).ok_or_else(bad)?;
    if !parse::dev_valid_name(name) {
        return Err(bad());
    }
    match command.as_bytes().first() {
        Some(b'+') => Ok(SlaveCommand::Add(name.to_owned())),
        Some(b'-') => Ok(SlaveCommand::Remove(name.to_owned())),
        _ => Err(bad()),
    }
}

impl BondOptions {
    /// The kernel's `bond_opt_check_deps`: mode, then no-slaves, then bond-down.
    fn check_deps(&self, id: OptionId, ctx: &SetContext) -> Result<(), OptionError> {
        let spec = id.spec();
        let option = spec.name;
        if !id.applies_to(self.mode) {
            return Err(OptionError::NotSupportedInMode {
                option,
                mode: self.mode,
                supported: id.modes(),
            });
        }
        if spec.flags & NOSLAVES != 0 && ctx.has_slaves() {
            return Err(OptionError::HasSlaves { option });
        }
        if spec.flags & IFDOWN != 0 && ctx.is_up {
            return Err(OptionError::BondIsUp { option });
        }
        Ok(())
    }

    /// Sets option `name` to `value` as a write to its sysfs file would (see the module docs
    /// for the order of checks). `value` may end in a newline, as `echo` writes it. Returns the
    /// kernel's warnings for an accepted value; on error nothing changed.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        ctx: &SetContext,
    ) -> Result<Vec<Warning>, OptionError> {
        let id = Self::lookup(name)?;
        match id.scope() {
            Scope::Module => return Err(OptionError::ModuleOnly { option: id.name() }),
            Scope::Action => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "enslaving and releasing are bond operations, not settings (see parse_slaves_command)",
                })
            }
            Scope::Slave => {
                return Err(OptionError::NotASetting {
                    option: id.name(),
                    hint: "a per-slave option: use set_slave(slave, name, value, ctx)",
                })
            }
            Scope::Bond => {}
        }
        self.check_deps(id, ctx)?;
        self.apply_value(id, value, ctx)
    }

    /// Parses `value` and applies it, with its side effects, without the mode and flag
    /// checks (`set` makes those first).
    pub(super) fn apply_value(
        &mut self,
        id: OptionId,
        value: &str,
        ctx: &SetContext,
    ) -> Result<Vec<Warning>, OptionError> {
        let mut warnings = Vec::new();
        if let Some(tbl) = id.spec().table {
            let v = parse_value(tbl, value).ok_or_else(|| OptionError::InvalidValue {
                option: id.name(),
                value: cut_newline(value).to_owned(),
                allowed: allowed(tbl),
            })?;
            self.apply(id, v, &mut warnings)?;
        } else {
            self.apply_raw(id, value, ctx, &mut warnings)?;
        }
        Ok(warnings)
    }

    /// Sets a per-slave option (`queue_id`, `prio`, `actor_port_prio`) of `slave`, as
    /// `ip link set <slave> type bond_slave <name> <value>` does. The slave must be in
    /// `ctx.slaves`. Values are decimal numbers.
    pub fn set_slave(
        &mut self,
        slave: &str,
        name: &str,
        value: &str,
        ctx: &SetContext,
    ) -> Result<Vec<Warning>, OptionError> {
        let id = Self::lookup(name)?;
        let option = id.name();
        let shown = cut_newline(value).to_owned();
        if !matches!(id, OptionId::QueueId | OptionId::Prio | OptionId::ActorPortPrio) {
            return Err(OptionError::NotASetting {
                option,
                hint: "not a per-slave option (per-slave: queue_id, prio, actor_port_prio)",
            });
        }
        self.check_deps(id, ctx)?;
        if ctx.slave(slave).is_none() {
            return Err(OptionError::NoSuchSlave { option, name: slave.to_owned() });
        }
        let word = value.trim_matches(|c: char| c.is_ascii_whitespace());
        let mut warnings = Vec::new();
        match id {
            OptionId::QueueId => {
                let qid: u16 = word.parse().map_err(|_| OptionError::InvalidValue {
                    option,
                    value: shown.clone(),
                    allowed: format!("0-{}", self.tx_queues),
                })?;
                self.set_queue_id(slave, qid, ctx).map_err(|reason| OptionError::NotPermitted {
                    option,
                    value: shown,
                    reason,
                })?;
            }
            OptionId::Prio => {
                let prio: i32 = word.parse().map_err(|_| OptionError::InvalidValue {
                    option,
                    value: shown,
                    allowed: format!("{}-{}", i32::MIN, i32::MAX),
                })?;
                self.slave_options.entry(slave.to_owned()).or_default().prio = prio;
                if self.primary.is_some() {
                    warnings.push(Warning::new(
                        option,
                        "prio updated, but will not affect failover re-selection as primary slave have been set",
                    ));
                }
            }
            _ => {
                let prio: u16 = word.parse().map_err(|_| OptionError::InvalidValue {
                    option,
                    value: shown,
                    allowed: "0-65535".to_owned(),
                })?;
                self.slave_options.entry(slave.to_owned()).or_default().actor_port_prio = prio;
            }
        }
        Ok(warnings)
    }
}
