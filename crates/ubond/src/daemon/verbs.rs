//! The control verbs: each [`Request`] checked, carried out on the [`Bonds`], and answered
//! with the text the client prints or an error that says what to do.

use anyhow::{anyhow, bail, Result};
use ubond_core::bond::{Bond, SlaveId};
use ubond_core::options::{
    netlink::parse_words, parse_module_options, parse_slaves_command, OptionId, Scope, SlaveCommand,
};
use ubond_sys::link;

use super::bond::BondRt;
use super::bonds::Bonds;
use super::event_loop::Poller;
use super::VERSION;
use crate::control::{Request, Response};

/// Carries out `req`; the answer's output, or its error.
pub(super) fn respond(bonds: &mut Bonds, poller: &Poller, req: Request) -> Response {
    match handle(bonds, poller, req) {
        Ok(out) => Response::ok(out),
        Err(e) => Response::refused(format!("{e:#}"), refused_errno(&e)),
    }
}

/// The kernel's errno for a refused bonding option somewhere in `e`'s causes.
fn refused_errno(e: &anyhow::Error) -> Option<i32> {
    e.chain().find_map(|c| match c.downcast_ref::<ubond_core::bond::BondError>()? {
        ubond_core::bond::BondError::Config(ubond_core::bond::ConfigError::Option(o)) => {
            Some(o.errno())
        }
        _ => None,
    })
}

fn handle(bonds: &mut Bonds, poller: &Poller, req: Request) -> Result<String> {
    match req {
        Request::Add { bond, options, netlink } => {
            add(bonds, poller, &bond, &options, netlink, true)
        }
        // The kernel's module-load warnings are not `ip link add`'s.
        Request::NewLink { bond } => {
            add(bonds, poller, &bond, "", false, false).map(|_| String::new())
        }
        Request::Enslave { bond, ifaces } => {
            let bi = bonds.index(&bond)?;
            bonds.enslave(poller, bi, &ifaces)?;
            Ok(String::new())
        }
        Request::Release { bond, ifaces } => {
            let bi = bonds.index(&bond)?;
            for i in &ifaces {
                bonds.release(bi, i)?;
            }
            Ok(String::new())
        }
        Request::Set { bond, option, value } => {
            let bi = bonds.index(&bond)?;
            set(bonds, poller, bi, &option, &value)
        }
        Request::SetSlave { iface, option, value } => set_slave(bonds, &iface, &option, &value),
        Request::GetSlave { iface, option } => get_slave(bonds, &iface, option.as_deref()),
        Request::Get { bond, option } => {
            let bi = bonds.index(&bond)?;
            get(&bonds.list[bi], option.as_deref())
        }
        Request::Del { bond } => {
            let bi = bonds.index(&bond)?;
            bonds.delete(bi);
            Ok(String::new())
        }
        Request::Shutdown => {
            bonds.shutdown = true;
            Ok(String::new())
        }
        Request::Status { bond, json } => status(bonds, bond.as_deref(), json),
    }
}

/// `add BOND OPTIONS`: a new bond with `name=value` options, read with rtnetlink's rules
/// (`netlink`, as `ip link add` with these attributes) or the module parameters'; the answer is
/// the options' warnings. `up` brings its device up (`ip link add` leaves it down).
fn add(
    bonds: &mut Bonds,
    poller: &Poller,
    name: &str,
    options: &str,
    netlink: bool,
    up: bool,
) -> Result<String> {
    if bonds.index(name).is_ok() {
        bail!("bond {name} exists already: change it with `ubond set {name} OPTION VALUE`");
    }
    if link::ifindex(name).is_ok() {
        bail!("an interface named {name} exists already: pick another bond name");
    }
    let parsed = if netlink { parse_words(options) } else { parse_module_options(options) };
    let parsed = parsed.map_err(|e| anyhow!("bad option {e}"))?;
    let bond = Bond::new(name, parsed.options, None).map_err(anyhow::Error::msg)?;
    bonds.create(poller, bond, up)?;
    Ok(parsed.warnings.iter().map(|w| format!("warning: {w}\n")).collect())
}

/// `set BOND OPTION VALUE`, with sysfs semantics (`slaves` `+IFACE`/`-IFACE` enslaves and
/// releases).
fn set(bonds: &mut Bonds, poller: &Poller, bi: usize, option: &str, value: &str) -> Result<String> {
    if option == "slaves" {
        match parse_slaves_command(value).map_err(anyhow::Error::msg)? {
            SlaveCommand::Add(i) => bonds.enslave(poller, bi, &[i])?,
            SlaveCommand::Remove(i) => bonds.release(bi, &i)?,
        }
        return Ok(String::new());
    }
    let now = bonds.clock.now();
    let rt = &mut bonds.list[bi];
    // `ip link set BOND up|down` just before: its link event may still be on the way, and
    // some options may be set only while the bond is down.
    if let Some(up) = link::link_state(rt.bond.name()).ok().map(|st| st.admin_up) {
        if up != rt.admin_up {
            rt.admin_up = up;
            rt.bond.set_admin_up(now, up);
        }
    }
    let warnings = rt.bond.set_option(now, option, value).map_err(|e| {
        let what = format!("{}: cannot set {option} to {value:?}", rt.bond.name());
        anyhow::Error::new(e).context(what)
    })?;
    rt.drain();
    rt.dirty = true;
    rt.data_changed();
    bonds.sync_fast(bi);
    bonds.save_state(&[]);
    Ok(warnings.iter().map(|w| format!("warning: {w}\n")).collect())
}

/// `set-slave IFACE OPTION VALUE` (`ip link set IFACE type bond_slave OPTION VALUE`).
fn set_slave(bonds: &mut Bonds, iface: &str, option: &str, value: &str) -> Result<String> {
    let Some(bi) = bonds.list.iter().position(|b| b.slaves.iter().any(|s| s.name == iface)) else {
        bail!("{iface} is not enslaved to any bond: enslave it first with `ubond enslave BOND {iface}`");
    };
    let now = bonds.clock.now();
    let rt = &mut bonds.list[bi];
    let id = rt.slaves.iter().find(|s| s.name == iface).map(|s| s.id).unwrap_or(SlaveId(0));
    let warnings = rt.bond.set_slave_option(now, id, option, value).map_err(|e| {
        let what = format!("{}: {iface}: cannot set {option} to {value:?}", rt.bond.name());
        anyhow::Error::new(e).context(what)
    })?;
    rt.drain();
    rt.dirty = true;
    bonds.save_state(&[]);
    Ok(warnings.iter().map(|w| format!("warning: {w}\n")).collect())
}

/// `get-slave IFACE [OPTION]`: a slave's own options (`queue_id`, `prio`,
/// `actor_port_prio`), one or all three.
fn get_slave(bonds: &Bonds, iface: &str, option: Option<&str>) -> Result<String> {
    let Some(rt) = bonds.list.iter().find(|b| b.slaves.iter().any(|s| s.name == iface)) else {
        bail!("{iface} is not enslaved to any bond: `ubond status` lists the slaves");
    };
    let opts = rt.bond.options();
    let value = |o: &str| opts.get_slave(iface, o).map_err(|e| anyhow!("{iface}: {e}"));
    match option {
        Some(o) => Ok(value(o)? + "\n"),
        None => ["queue_id", "prio", "actor_port_prio"]
            .iter()
            .map(|o| Ok(format!("{o}: {}\n", value(o)?)))
            .collect(),
    }
}

/// `get BOND [OPTION]`: one option, or `slaves` and every bond option, one per line.
fn get(rt: &BondRt, option: Option<&str>) -> Result<String> {
    let opts = rt.bond.options();
    // As sysfs: `slaves` and `active_slave` show the bond's state, the rest its options.
    let value = |name: &str| -> Result<String> {
        Ok(match name {
            "slaves" => rt.slaves.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" "),
            "active_slave" => {
                rt.bond.active_slave().and_then(|a| rt.bond.slave_name(a)).unwrap_or("").to_string()
            }
            // Per-slave options as sysfs shows `queue_id`: `SLAVE:VALUE` for every slave.
            o if o == "queue_id"
                || OptionId::from_name(o).is_some_and(|id| id.scope() == Scope::Slave) =>
            {
                rt.slaves
                    .iter()
                    .map(|s| {
                        let v = opts.get_slave(&s.name, o).unwrap_or_default();
                        format!("{}:{v}", s.name)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            o => opts.get(o).map_err(|e| anyhow!("{}: {e}", rt.bond.name()))?,
        })
    };
    match option {
        Some(o) => Ok(value(o)? + "\n"),
        None => {
            let mut out = format!("slaves: {}\n", value("slaves")?);
            for id in OptionId::ALL.iter().filter(|id| id.scope() == Scope::Bond) {
                if let Ok(v) = value(id.name()) {
                    out.push_str(&format!("{}: {v}\n", id.name()));
                }
            }
            Ok(out)
        }
    }
}

/// `status [BOND] [--json]`: the /proc report of one bond or of all, or their JSON.
fn status(bonds: &Bonds, bond: Option<&str>, json: bool) -> Result<String> {
    let which: Vec<&BondRt> = match bond {
        Some(b) => vec![&bonds.list[bonds.index(b)?]],
        None => bonds.list.iter().collect(),
    };
    if json {
        let all: Vec<_> = which.iter().map(|b| b.bond.status(VERSION)).collect();
        let v = match bond {
            Some(_) => serde_json::to_string_pretty(&all[0])?,
            None => serde_json::to_string_pretty(&all)?,
        };
        return Ok(v + "\n");
    }
    let mut out = String::new();
    for b in which {
        if bond.is_none() {
            out.push_str(&format!("==> {} <==\n", b.bond.name()));
        }
        out.push_str(&ubond_core::report::render_proc(&b.bond.status(VERSION), true));
    }
    Ok(out)
}
