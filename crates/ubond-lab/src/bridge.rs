//! A Linux bridge: MAC learning with ageing, flooding, and the kernel's treatment of the
//! IEEE 802.1D link-local group addresses 01:80:c2:00:00:00-0f, which are never forwarded
//! unless their bit is set in `group_fwd_mask` — and the kernel refuses to set bits 0-2
//! (`BR_GROUPFWD_RESTRICTED`: STP, PAUSE, Slow Protocols), so LACPDUs never cross a bridge.
//! [`LinuxBridge::patched`] models the patched kernel that allows bit 2.

use std::collections::BTreeMap;
use std::time::Duration;

use ubond_core::time::Instant;
use ubond_wire::MacAddr;

use crate::sim::Outbox;

/// Most forwarding database entries (`hash_max`-like bound); beyond, new addresses are
/// flooded to, not learnt.
pub const FDB_LIMIT: usize = 4096;
/// The kernel's default `ageing_time`: 300 s.
pub const DEFAULT_AGEING: Duration = Duration::from_secs(300);
/// The kernel's `BR_GROUPFWD_RESTRICTED`: bits 0 (STP), 1 (PAUSE) and 2 (Slow Protocols).
pub const GROUPFWD_RESTRICTED: u16 = 0x0007;
/// The patched kernel's restricted bits: LACP (bit 2) may be forwarded.
pub const GROUPFWD_RESTRICTED_PATCHED: u16 = 0x0003;

/// Why `group_fwd_mask` was refused (the kernel answers `EINVAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskRefused {
    /// The restricted bits that were asked for.
    pub bits: u16,
}

impl std::fmt::Display for MaskRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "group_fwd_mask: restricted bits {:#06x} refused (EINVAL)", self.bits)
    }
}

impl std::error::Error for MaskRefused {}

/// Bridge counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BridgeStats {
    /// Frames forwarded to one known port.
    pub forwarded: u64,
    /// Frames flooded.
    pub flooded: u64,
    /// Link-local group frames not forwarded.
    pub link_local_dropped: u64,
    /// Frames dropped because the bridge is down.
    pub down_dropped: u64,
}

/// A Linux bridge. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct LinuxBridge {
    name: String,
    ports: Vec<bool>,
    up: bool,
    fdb: BTreeMap<MacAddr, (usize, Instant)>,
    ageing: Duration,
    group_fwd_mask: u16,
    restricted: u16,
    stats: BridgeStats,
}

impl LinuxBridge {
    /// A bridge with `ports` ports, as in a stock kernel.
    pub fn new(name: &str, ports: usize) -> LinuxBridge {
        LinuxBridge {
            name: name.to_string(),
            ports: vec![false; ports],
            up: true,
            fdb: BTreeMap::new(),
            ageing: DEFAULT_AGEING,
            group_fwd_mask: 0,
            restricted: GROUPFWD_RESTRICTED,
            stats: BridgeStats::default(),
        }
    }

    /// A bridge on the patched kernel, which lets `group_fwd_mask` set bit 2 (LACP).
    pub fn patched(name: &str, ports: usize) -> LinuxBridge {
        LinuxBridge { restricted: GROUPFWD_RESTRICTED_PATCHED, ..LinuxBridge::new(name, ports) }
    }

    /// The bridge's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of ports.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// The counters.
    pub fn stats(&self) -> BridgeStats {
        self.stats
    }

    /// `echo MASK > /sys/class/net/BR/bridge/group_fwd_mask`: refused if it sets a
    /// restricted bit.
    pub fn set_group_fwd_mask(&mut self, mask: u16) -> Result<(), MaskRefused> {
        let bits = mask & self.restricted;
        if bits != 0 {
            return Err(MaskRefused { bits });
        }
        self.group_fwd_mask = mask;
        Ok(())
    }

    /// The current `group_fwd_mask`.
    pub fn group_fwd_mask(&self) -> u16 {
        self.group_fwd_mask
    }

    /// `ip link set BR up|down`: a bridge that is down forwards nothing (its ports' peers
    /// keep their carrier).
    pub fn set_up(&mut self, up: bool) {
        self.up = up;
        if !up {
            self.fdb.clear();
        }
    }

    /// Whether the bridge is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Sets `ageing_time`.
    pub fn set_ageing(&mut self, ageing: Duration) {
        self.ageing = ageing;
    }

    /// The port `mac` was learnt on, if still fresh at `now`.
    pub fn lookup(&self, now: Instant, mac: MacAddr) -> Option<usize> {
        self.fdb
            .get(&mac)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ageing)
            .map(|(p, _)| *p)
    }

    /// A port's carrier changed: its learnt addresses are flushed when it goes down.
    pub fn handle_carrier(&mut self, _now: Instant, port: usize, up: bool, out: &mut Outbox) {
        if let Some(p) = self.ports.get_mut(port) {
            *p = up;
        }
        if !up {
            self.fdb.retain(|_, (p, _)| *p != port);
        }
        out.note(format!("port p{} {}", port + 1, if up { "forwarding" } else { "disabled" }));
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
        if !self.up || !self.ports.get(port).copied().unwrap_or(false) {
            self.stats.down_dropped += 1;
            return;
        }
        let (Some(dst), Some(src)) = (frame.get(0..6), frame.get(6..12)) else { return };
        let (Some(dst), Some(src)) = (MacAddr::from_slice(dst), MacAddr::from_slice(src)) else {
            return;
        };
        // Linux br_handle_frame: 01:80:c2:00:00:0X is forwarded only if its bit is in the mask.
        let link_local = dst.0[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && dst.0[5] <= 0x0f;
        if link_local && self.group_fwd_mask & (1u16 << dst.0[5]) == 0 {
            self.stats.link_local_dropped += 1;
            return;
        }
        if src.is_unicast() && !src.is_zero() {
            if self.fdb.len() < FDB_LIMIT || self.fdb.contains_key(&src) {
                self.fdb.insert(src, (port, now));
            } else {
                // Make room by dropping expired entries.
                let ageing = self.ageing;
                self.fdb.retain(|_, (_, at)| now.saturating_duration_since(*at) < ageing);
            }
        }
        match self.lookup(now, dst).filter(|_| dst.is_unicast()) {
            Some(p) if p == port => {}
            Some(p) => {
                self.stats.forwarded += 1;
                out.forward(p, id, frame.to_vec());
            }
            None => {
                self.stats.flooded += 1;
                for p in 0..self.ports.len() {
                    if p != port && self.ports[p] {
                        out.forward(p, id, frame.to_vec());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_bits_refused() {
        let mut br = LinuxBridge::new("br0", 2);
        assert_eq!(br.set_group_fwd_mask(0x4), Err(MaskRefused { bits: 0x4 }));
        assert!(br.set_group_fwd_mask(0x4000).is_ok());
        let mut p = LinuxBridge::patched("br0", 2);
        assert!(p.set_group_fwd_mask(0x4).is_ok());
        assert!(p.set_group_fwd_mask(0x1).is_err());
    }

    #[test]
    fn lacpdu_not_forwarded() {
        let mut br = LinuxBridge::new("br0", 2);
        let mut out = Outbox::default();
        br.handle_carrier(Instant::ZERO, 0, true, &mut out);
        br.handle_carrier(Instant::ZERO, 1, true, &mut out);
        let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x09];
        f.resize(124, 0);
        let mut out = Outbox::default();
        br.handle_frame(Instant::ZERO, 0, 1, &f, &mut out);
        assert!(out.frames.is_empty());
        let mut p = LinuxBridge::patched("br1", 2);
        p.handle_carrier(Instant::ZERO, 0, true, &mut out);
        p.handle_carrier(Instant::ZERO, 1, true, &mut out);
        p.set_group_fwd_mask(0x4).expect("patched kernel allows bit 2");
        let mut out = Outbox::default();
        p.handle_frame(Instant::ZERO, 0, 1, &f, &mut out);
        assert_eq!(out.frames.len(), 1);
        assert_eq!(out.frames[0].port, 1);
    }
}
