//! A switch whose port groups are LACP bonds (port-channels): each group is a real
//! [`Bond`] in 802.3ad mode on the switch side, and the switch learns addresses per
//! port-channel (or per standalone port) and forwards between them. Link-local group frames
//! on a standalone port are consumed, as a real switch does.

use std::collections::BTreeMap;
use std::time::Duration;

use ubond_core::bond::{
    Bond, BondError, BondEvent, RxVerdict, SlaveConfig, SlaveId, TxCursor, TxDecision,
};
use ubond_core::lacp::{LinkState, PortId};
use ubond_core::options::{BondOptions, LacpRate, Mode};
use ubond_core::report;
use ubond_core::time::Instant;
use ubond_wire::MacAddr;

use crate::host::describe_lacp;
use crate::sim::Outbox;

/// Most forwarding database entries.
pub const FDB_LIMIT: usize = 4096;
/// Address ageing.
pub const AGEING: Duration = Duration::from_secs(300);

/// Where the switch sends a frame: a port-channel or a standalone port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dest {
    /// Port-channel index.
    Channel(usize),
    /// Standalone port index.
    Port(usize),
}

/// Why a switch could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchError {
    /// A port-channel's bond refused its options or a member.
    Bond(BondError),
    /// A group names a port the switch does not have, or one already in another group.
    PortUnusable(usize),
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwitchError::Bond(e) => e.fmt(f),
            SwitchError::PortUnusable(p) => write!(f, "port {p} unusable"),
        }
    }
}

impl std::error::Error for SwitchError {}

impl From<BondError> for SwitchError {
    fn from(e: BondError) -> Self {
        SwitchError::Bond(e)
    }
}

#[derive(Debug)]
struct Channel {
    bond: Bond,
    /// (switch port, slave): the member's one identity is its slave handle.
    members: Vec<(usize, SlaveId)>,
    cursor: TxCursor,
}

/// A switch with LACP port-channels. See the [module docs](self).
#[derive(Debug)]
pub struct LacpSwitch {
    name: String,
    ports: Vec<bool>,
    /// Per port: its channel, if any.
    member_of: Vec<Option<usize>>,
    channels: Vec<Channel>,
    fdb: BTreeMap<MacAddr, (Dest, Instant)>,
}

/// The switch side's bond options: 802.3ad, `lacp_rate fast`, `miimon 100`.
pub fn switch_bond_options() -> BondOptions {
    let mut o = BondOptions::new();
    o.mode = Mode::Ieee8023ad;
    o.lacp_rate = LacpRate::Fast;
    o.miimon = 100;
    o
}

impl LacpSwitch {
    /// A switch with `ports` ports (1000 Mbit/s full duplex each) and port-channels `groups`
    /// (each a list of port indices), all sharing the system address `system`.
    pub fn new(
        name: &str,
        system: MacAddr,
        ports: usize,
        groups: &[&[usize]],
        opts: &BondOptions,
    ) -> Result<LacpSwitch, SwitchError> {
        let mut member_of = vec![None; ports];
        let mut channels = Vec::new();
        for (c, group) in groups.iter().enumerate() {
            let mut bond = Bond::new(&format!("Po{}", c + 1), opts.clone(), Some(system))?;
            let mut members = Vec::new();
            for &p in group.iter() {
                if p >= ports || member_of[p].is_some() {
                    return Err(SwitchError::PortUnusable(p));
                }
                member_of[p] = Some(c);
                let idx = u8::try_from(p + 1).unwrap_or(u8::MAX);
                let mac =
                    MacAddr([system.0[0], system.0[1], system.0[2], system.0[3], system.0[4], idx]);
                let cfg = SlaveConfig { name: format!("p{}", p + 1), perm_mac: mac };
                let slave = bond.enslave(Instant::ZERO, cfg, LinkState::down())?;
                members.push((p, slave));
            }
            while bond.poll_event().is_some() {}
            while bond.poll_transmit().is_some() {}
            channels.push(Channel { bond, members, cursor: TxCursor::default() });
        }
        Ok(LacpSwitch {
            name: name.to_string(),
            ports: vec![false; ports],
            member_of,
            channels,
            fdb: BTreeMap::new(),
        })
    }

    /// The switch's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of ports.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// The port-channels' bonds.
    pub fn bonds(&self) -> impl Iterator<Item = &Bond> + '_ {
        self.channels.iter().map(|c| &c.bond)
    }

    /// Port-channel `c`'s report, as `/proc/net/bonding` prints it.
    pub fn proc_report(&self, c: usize) -> Option<String> {
        self.channels.get(c).map(|ch| report::render_proc(&ch.bond.status("3.7.1"), true))
    }

    /// Where `mac` was learnt, if still fresh.
    pub fn lookup(&self, now: Instant, mac: MacAddr) -> Option<Dest> {
        self.fdb
            .get(&mac)
            .filter(|(_, at)| now.saturating_duration_since(*at) < AGEING)
            .map(|(d, _)| *d)
    }

    fn drain(&mut self, c: usize, out: &mut Outbox) {
        let ch = &mut self.channels[c];
        for _ in 0..ubond_core::bond::QUEUE_LIMIT {
            let Some(tx) = ch.bond.poll_transmit() else { break };
            if let Some(&(p, _)) = ch.members.iter().find(|m| m.1 == tx.slave) {
                out.send(p, tx.frame);
            }
        }
        for _ in 0..ubond_core::bond::QUEUE_LIMIT {
            let Some(ev) = ch.bond.poll_event() else { break };
            let bond = ch.bond.name().to_string();
            let name_of = |port: PortId| {
                let slave = ch.bond.slave_of_port(port);
                ch.members
                    .iter()
                    .find(|m| Some(m.1) == slave)
                    .map_or("?".to_string(), |m| format!("p{}", m.0 + 1))
            };
            let note = match &ev {
                BondEvent::Carrier { up } => {
                    Some(format!("{bond} carrier {}", if *up { "up" } else { "down" }))
                }
                BondEvent::Lacp(e) => describe_lacp(&bond, e, name_of),
                _ => None,
            };
            if let Some(n) = note {
                out.note(n);
            }
        }
    }

    /// A port's carrier changed.
    pub fn handle_carrier(&mut self, now: Instant, port: usize, up: bool, out: &mut Outbox) {
        let Some(p) = self.ports.get_mut(port) else { return };
        *p = up;
        if !up {
            let dest = self.dest_of(port);
            self.fdb.retain(|_, (d, _)| Some(*d) != dest || matches!(d, Dest::Channel(_)));
        }
        if let Some(c) = self.member_of[port] {
            let link = if up { LinkState::up(1000) } else { LinkState::down() };
            if let Some(&(_, slave)) = self.channels[c].members.iter().find(|m| m.0 == port) {
                let _ = self.channels[c].bond.handle_link(now, slave, link);
            }
            self.drain(c, out);
        }
    }

    fn dest_of(&self, port: usize) -> Option<Dest> {
        match self.member_of.get(port)? {
            Some(c) => Some(Dest::Channel(*c)),
            None => Some(Dest::Port(port)),
        }
    }

    /// A frame arrived on `port`.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        port: usize,
        id: u64,
        frame: &[u8],
        out: &mut Outbox,
    ) {
        if !self.ports.get(port).copied().unwrap_or(false) {
            return;
        }
        let Some(ingress) = self.dest_of(port) else { return };
        if let Dest::Channel(c) = ingress {
            let Some(&(_, slave)) = self.channels[c].members.iter().find(|m| m.0 == port) else {
                return;
            };
            let verdict = self.channels[c].bond.handle_frame(now, slave, frame);
            self.drain(c, out);
            if verdict != RxVerdict::Deliver {
                return;
            }
        }
        let (Some(dst), Some(src)) = (
            frame.get(0..6).and_then(MacAddr::from_slice),
            frame.get(6..12).and_then(MacAddr::from_slice),
        ) else {
            return;
        };
        if dst.0[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && dst.0[5] <= 0x0f {
            return;
        }
        if src.is_unicast()
            && !src.is_zero()
            && (self.fdb.len() < FDB_LIMIT || self.fdb.contains_key(&src))
        {
            self.fdb.insert(src, (ingress, now));
        }
        match self.lookup(now, dst).filter(|_| dst.is_unicast()) {
            Some(d) if d == ingress => {}
            Some(d) => self.send_to(d, id, frame, out),
            None => {
                let mut dests: Vec<Dest> = (0..self.channels.len()).map(Dest::Channel).collect();
                dests.extend(
                    (0..self.ports.len()).filter(|p| self.member_of[*p].is_none()).map(Dest::Port),
                );
                for d in dests {
                    if d != ingress {
                        self.send_to(d, id, frame, out);
                    }
                }
            }
        }
    }

    fn send_to(&mut self, d: Dest, id: u64, frame: &[u8], out: &mut Outbox) {
        match d {
            Dest::Port(p) => {
                if self.ports.get(p).copied().unwrap_or(false) {
                    out.forward(p, id, frame.to_vec());
                }
            }
            Dest::Channel(c) => {
                let ch = &mut self.channels[c];
                let mut frame = frame.to_vec();
                let ports: Vec<usize> = match ch.bond.tx_plan().decide(&mut frame, &mut ch.cursor) {
                    TxDecision::Send(s) => {
                        ch.members.iter().filter(|m| m.1 == s).map(|m| m.0).collect()
                    }
                    TxDecision::Broadcast => {
                        let slaves = &ch.bond.tx_plan().slaves;
                        ch.members.iter().filter(|m| slaves.contains(&m.1)).map(|m| m.0).collect()
                    }
                    // A port-channel is 802.3ad: never balance-alb's control-plane ARP.
                    TxDecision::ControlPlane | TxDecision::Drop => Vec::new(),
                };
                for p in ports {
                    out.forward(p, id, frame.clone());
                }
            }
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        for c in 0..self.channels.len() {
            let ch = &mut self.channels[c];
            if ch.bond.poll_timeout().is_some_and(|t| t <= now) {
                ch.bond.handle_timeout_with_load(now, &mut ch.cursor.load);
                self.drain(c, out);
            }
        }
    }

    /// When [`LacpSwitch::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.channels.iter().filter_map(|c| c.bond.poll_timeout()).min()
    }
}
