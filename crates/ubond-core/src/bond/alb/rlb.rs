//! balance-alb's receive load balancing (RLB), `bond_alb.c`'s `rlb_*` functions: the client
//! table, the ARP packets the bond sends (`rlb_arp_xmit`) and receives (`rlb_arp_recv`), and
//! the ARP replies that move each client to its slave.

use std::net::Ipv4Addr;

use ubond_wire::ethernet::{ETHERTYPE_ARP, ETHERTYPE_VLAN};
use ubond_wire::MacAddr;

use crate::time::Instant;

use super::super::tlb;
use super::super::SlaveId;
use super::{is_valid_ether_addr, Alb, AlbEvent, AlbSlave, ALB_TIMER_TICKS_PER_SEC};

/// Entries in the RLB client table (`RLB_HASH_TABLE_SIZE`): the key is one byte.
pub const RLB_HASH_TABLE_SIZE: usize = 256;
/// Monitor passes with updates waiting between two rounds of client updates
/// (`RLB_UPDATE_DELAY`, 2 s).
pub const RLB_UPDATE_DELAY: u32 = 2 * ALB_TIMER_TICKS_PER_SEC;
/// ARP replies per client per round (`RLB_ARP_BURST_SIZE`).
pub const RLB_ARP_BURST_SIZE: usize = 2;
/// Extra rounds after a slave change (`RLB_UPDATE_RETRY`).
pub const RLB_UPDATE_RETRY: u32 = 3;
/// Monitor passes the active slave stays promiscuous after learning a disabled slave's MAC
/// (`RLB_PROMISC_TIMEOUT`, 10 s).
pub const RLB_PROMISC_TIMEOUT: u32 = 10 * ALB_TIMER_TICKS_PER_SEC;

/// One RLB client (`struct rlb_client_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RlbClient {
    /// `ip_src`: the bond's address the client talks to.
    pub ip_src: Ipv4Addr,
    /// `ip_dst`: the client's address (the table's key, `_simple_hash` of it).
    pub ip_dst: Ipv4Addr,
    /// `mac_src`: the bond-side sender MAC of the ARP that created the entry.
    pub mac_src: MacAddr,
    /// `mac_dst`: the client's MAC (broadcast until its reply is seen).
    pub mac_dst: MacAddr,
    /// `assigned`.
    pub assigned: bool,
    /// `ntt`: the client must be sent an update.
    pub ntt: bool,
    /// The slave the client should send to.
    pub slave: Option<SlaveId>,
    /// `vlan_id`: the TCI of the ARP that created the entry (0 for none).
    pub vlan_id: u16,
}

impl RlbClient {
    const EMPTY: RlbClient = RlbClient {
        ip_src: Ipv4Addr::UNSPECIFIED,
        ip_dst: Ipv4Addr::UNSPECIFIED,
        mac_src: MacAddr::ZERO,
        mac_dst: MacAddr::ZERO,
        assigned: false,
        ntt: false,
        slave: None,
        vlan_id: 0,
    };
}

/// balance-alb's receive load balancing state (the `rx_hashtbl` and its counters).
#[derive(Debug, Clone)]
pub struct Rlb {
    pub(super) table: Vec<RlbClient>,
    /// Indices of assigned entries, newest first (`rx_hashtbl_used_head`).
    pub(super) used: Vec<u8>,
    pub(super) rx_ntt: bool,
    pub(super) rx_slave: Option<SlaveId>,
    pub(super) primary_is_promisc: bool,
    /// When the active slave leaves promiscuous mode (while `primary_is_promisc`).
    pub(super) promisc_until: Instant,
    /// `rlb_update_delay_counter`: not a deadline, a count. The kernel counts it down only in
    /// monitor passes that find updates waiting (`rx_ntt`), so the delay stands still while
    /// none are.
    pub(super) update_delay_counter: u32,
    /// Rounds of updates still to repeat (`rlb_update_retry_counter`).
    pub(super) update_retry_counter: u32,
    pub(super) rebalance: bool,
}

impl Rlb {
    pub(super) fn new() -> Rlb {
        Rlb {
            table: vec![RlbClient::EMPTY; RLB_HASH_TABLE_SIZE],
            used: Vec::new(),
            rx_ntt: false,
            rx_slave: None,
            primary_is_promisc: false,
            promisc_until: Instant::ZERO,
            update_delay_counter: 0,
            update_retry_counter: 0,
            rebalance: false,
        }
    }

    /// The assigned clients, newest first, with their table index.
    pub fn clients(&self) -> impl Iterator<Item = (u8, &RlbClient)> + '_ {
        self.used.iter().map(|&i| (i, &self.table[usize::from(i)]))
    }

    /// The client entry for `ip` (whatever client currently holds its bucket), if assigned
    /// to that address.
    pub fn client(&self, ip: Ipv4Addr) -> Option<&RlbClient> {
        let c = &self.table[usize::from(tlb::simple_hash(&ip.octets()))];
        (c.assigned && c.ip_dst == ip).then_some(c)
    }

    /// Whether clients are waiting for an update (`rx_ntt`).
    pub fn needs_update(&self) -> bool {
        self.rx_ntt
    }

    /// Whether the active slave was made promiscuous (`primary_is_promisc`).
    pub fn primary_is_promisc(&self) -> bool {
        self.primary_is_promisc
    }

    pub(super) fn delete(&mut self, index: u8) {
        self.used.retain(|&i| i != index);
        let e = &mut self.table[usize::from(index)];
        e.assigned = false;
        e.slave = None;
        e.vlan_id = 0;
    }
}

impl Alb {
    // ----- RLB ----------------------------------------------------------------------------

    /// `__rlb_next_rx_slave`: round robin over the slaves that can transmit, preferring the
    /// fastest.
    fn rlb_next_rx_slave(&mut self) -> Option<SlaveId> {
        let rx = self.rlb.as_ref()?.rx_slave;
        let mut before: Option<&AlbSlave> = None;
        let mut after: Option<&AlbSlave> = None;
        let mut found = false;
        for s in self.slaves.iter().filter(|s| s.can_tx()) {
            if !found {
                if before.is_none_or(|b| b.speed < s.speed) {
                    before = Some(s);
                }
            } else if after.is_none_or(|a| a.speed < s.speed) {
                after = Some(s);
            }
            if Some(s.id) == rx {
                found = true;
            }
        }
        let pick = match (after, before) {
            (None, b) => b,
            (Some(a), Some(b)) if a.speed < b.speed => Some(b),
            (a, _) => a,
        }
        .map(|s| s.id);
        if let (Some(p), Some(rlb)) = (pick, &mut self.rlb) {
            rlb.rx_slave = Some(p);
        }
        pick
    }

    /// `rlb_update_client`: `RLB_ARP_BURST_SIZE` ARP replies telling the client that the bond's
    /// address is at its slave's MAC.
    fn rlb_update_client(&mut self, client: RlbClient) {
        let Some(slave) = client.slave else { return };
        if !is_valid_ether_addr(client.mac_dst) {
            return;
        }
        let Some(slave_mac) = self.slave_mac(slave) else { return };
        let frame = arp_reply(
            client.mac_dst,
            slave_mac,
            client.ip_src,
            client.mac_dst,
            client.ip_dst,
            client.vlan_id,
        );
        for _ in 0..RLB_ARP_BURST_SIZE {
            self.transmit(slave, frame.clone());
        }
    }

    /// `rlb_update_rx_clients`.
    fn rlb_update_rx_clients(&mut self) {
        let Some(rlb) = &self.rlb else { return };
        let used = rlb.used.clone();
        for i in used {
            let Some(client) = self.rlb.as_ref().map(|r| r.table[usize::from(i)]) else { return };
            if client.ntt {
                self.rlb_update_client(client);
                if let Some(rlb) = &mut self.rlb {
                    if rlb.update_retry_counter == 0 {
                        rlb.table[usize::from(i)].ntt = false;
                    }
                }
            }
        }
        if let Some(rlb) = &mut self.rlb {
            rlb.update_delay_counter = RLB_UPDATE_DELAY;
        }
    }

    /// `rlb_req_update_slave_clients`: the slave's MAC changed.
    pub(super) fn rlb_req_update_slave_clients(&mut self, slave: SlaveId) {
        let Some(rlb) = &mut self.rlb else { return };
        let mut ntt = false;
        for &i in &rlb.used {
            let c = &mut rlb.table[usize::from(i)];
            if c.slave == Some(slave) && is_valid_ether_addr(c.mac_dst) {
                c.ntt = true;
                ntt = true;
            }
        }
        if ntt {
            rlb.rx_ntt = true;
            rlb.update_retry_counter = RLB_UPDATE_RETRY;
        }
    }

    /// `rlb_req_update_subnet_clients`: after an ARP request (broadcast, it taught every
    /// client the bond's MAC), the clients of `src_ip` on another slave need their update.
    fn rlb_req_update_subnet_clients(&mut self, src_ip: Ipv4Addr) {
        let bond_mac = self.cfg.bond_mac;
        let macs: Vec<(SlaveId, MacAddr)> = self.slaves.iter().map(|s| (s.id, s.mac)).collect();
        let Some(rlb) = &mut self.rlb else { return };
        for &i in &rlb.used {
            let c = &mut rlb.table[usize::from(i)];
            let Some(slave) = c.slave else { continue };
            let slave_mac = macs.iter().find(|(s, _)| *s == slave).map(|(_, m)| *m);
            if c.ip_src == src_ip && slave_mac != Some(bond_mac) && is_valid_ether_addr(c.mac_dst) {
                c.ntt = true;
                rlb.rx_ntt = true;
            }
        }
    }

    /// `rlb_teach_disabled_mac_on_primary`: the active slave goes promiscuous for
    /// `RLB_PROMISC_TIMEOUT` passes from now (again from now if it already is).
    pub(super) fn rlb_teach_disabled_mac_on_primary(&mut self, now: Instant, mac: MacAddr) {
        let Some(active) = self.active else { return };
        let until = self.pass_deadline(now, RLB_PROMISC_TIMEOUT);
        let mut on = false;
        if let Some(rlb) = &mut self.rlb {
            if !rlb.primary_is_promisc {
                rlb.primary_is_promisc = true;
                on = true;
            }
            rlb.promisc_until = until;
        }
        if on {
            self.event(AlbEvent::Promisc { slave: active, on: true });
        }
        self.send_learning_packets(active, mac, true);
    }

    /// `rlb_clear_slave`: the clients of a slave that went down or left move to the next
    /// slave and are told so, `RLB_UPDATE_RETRY` more times than usual.
    pub(super) fn rlb_clear_slave(&mut self, now: Instant, slave: SlaveId, slave_mac: MacAddr) {
        if self.rlb.is_none() {
            return;
        }
        let used = self.rlb.as_ref().map(|r| r.used.clone()).unwrap_or_default();
        for i in used {
            let idx = usize::from(i);
            if self.rlb.as_ref().is_some_and(|r| r.table[idx].slave == Some(slave)) {
                let next = self.rlb_next_rx_slave();
                let Some(rlb) = &mut self.rlb else { return };
                let c = &mut rlb.table[idx];
                c.slave = next;
                if next.is_some() && is_valid_ether_addr(c.mac_dst) {
                    c.ntt = true;
                    rlb.rx_ntt = true;
                    rlb.update_retry_counter = RLB_UPDATE_RETRY;
                }
            }
        }
        if Some(slave) != self.active {
            self.rlb_teach_disabled_mac_on_primary(now, slave_mac);
        }
    }

    /// `rlb_rebalance`: deal the clients out again over the slaves.
    fn rlb_rebalance(&mut self) {
        let used = self.rlb.as_ref().map(|r| r.used.clone()).unwrap_or_default();
        let mut ntt = false;
        for i in used {
            let idx = usize::from(i);
            let assigned = self.rlb_next_rx_slave();
            let Some(rlb) = &mut self.rlb else { return };
            let c = &mut rlb.table[idx];
            if assigned.is_some() && c.slave != assigned {
                c.slave = assigned;
                if !c.mac_dst.is_zero() {
                    c.ntt = true;
                    ntt = true;
                }
            }
        }
        if let Some(rlb) = &mut self.rlb {
            if ntt {
                rlb.rx_ntt = true;
            }
        }
    }

    /// `rlb_choose_channel`: the slave a client's ARP traffic from the bond goes out by.
    fn rlb_choose_channel(&mut self, arp: &ArpFields, vlan_id: u16) -> Option<SlaveId> {
        let active = self.active;
        let index = tlb::simple_hash(&arp.ip_dst.octets());
        let idx = usize::from(index);
        let client = self.rlb.as_ref()?.table[idx];
        if client.assigned {
            if client.ip_src == arp.ip_src && client.ip_dst == arp.ip_dst {
                let rlb = self.rlb.as_mut()?;
                let c = &mut rlb.table[idx];
                if arp.mac_dst != MacAddr::BROADCAST {
                    c.mac_dst = arp.mac_dst;
                }
                c.mac_src = arp.mac_src;
                if let Some(s) = c.slave {
                    return Some(s);
                }
            } else if let Some(a) = active.filter(|&a| client.slave != Some(a)) {
                // Another client holds the entry: move it to the active slave so that the new
                // client can take it.
                let moved = {
                    let rlb = self.rlb.as_mut()?;
                    rlb.table[idx].slave = Some(a);
                    rlb.table[idx]
                };
                self.rlb_update_client(moved);
            }
        }
        let assigned = self.rlb_next_rx_slave()?;
        let rlb = self.rlb.as_mut()?;
        let c = &mut rlb.table[idx];
        c.ip_src = arp.ip_src;
        c.ip_dst = arp.ip_dst;
        c.mac_dst = arp.mac_dst;
        c.mac_src = arp.mac_src;
        c.slave = Some(assigned);
        if is_valid_ether_addr(c.mac_dst) {
            c.ntt = true;
            rlb.rx_ntt = true;
        } else {
            c.ntt = false;
        }
        c.vlan_id = vlan_id;
        if !c.assigned {
            c.assigned = true;
            rlb.used.insert(0, index);
        }
        Some(assigned)
    }

    /// balance-alb's part of a monitor pass: the end of the promiscuous mode, the rebalance
    /// of the clients, and the rounds of client updates.
    pub(super) fn rlb_pass(&mut self, now: Instant) {
        // A new period of RLB_PROMISC_TIMEOUT passes, should the mode stay on.
        let restart = self.pass_deadline(now, RLB_PROMISC_TIMEOUT);
        let active = self.active;
        let Some(rlb) = &mut self.rlb else { return };
        let mut off = None;
        if rlb.primary_is_promisc && now >= rlb.promisc_until {
            rlb.promisc_until = restart;
            if let Some(a) = active {
                rlb.primary_is_promisc = false;
                off = Some(a);
            }
        }
        if let Some(a) = off {
            self.event(AlbEvent::Promisc { slave: a, on: false });
        }
        if self.rlb.as_ref().is_some_and(|r| r.rebalance) {
            if let Some(rlb) = &mut self.rlb {
                rlb.rebalance = false;
            }
            self.rlb_rebalance();
        }
        let Some(rlb) = &mut self.rlb else { return };
        if rlb.rx_ntt {
            if rlb.update_delay_counter > 0 {
                rlb.update_delay_counter -= 1;
            } else {
                self.rlb_update_rx_clients();
                if let Some(rlb) = &mut self.rlb {
                    if rlb.update_retry_counter > 0 {
                        rlb.update_retry_counter -= 1;
                    } else {
                        rlb.rx_ntt = false;
                    }
                }
            }
        }
    }

    /// An ARP packet the bond sends (the data path's [`super::tlb::TlbTx::Arp`]): balance-alb's
    /// `rlb_arp_xmit` then `bond_do_alb_xmit`. A reply is sent by the slave chosen for its
    /// client, with that slave's MAC as the ARP sender address; a request is sent by the
    /// client's slave too, and schedules updates for the clients it confused. The frame is
    /// rewritten in place (ARP sender address, Ethernet source); the answer is the slave to
    /// send it on, or `None` to drop it.
    pub fn handle_arp_tx(&mut self, frame: &mut [u8]) -> Option<SlaveId> {
        let mut tx_slave = None;
        let l2 = tlb::l2(frame);
        if let (Some(l2), true) = (l2, self.rlb.is_some()) {
            if l2.ethertype == ETHERTYPE_ARP {
                if let Some(arp) = ArpFields::read(frame, l2.l3) {
                    // Only ARPs from the bond itself (or a VLAN on it) are balanced.
                    if self.slave_with_mac(arp.mac_src).is_some() {
                        let vlan_id = l2.tci.unwrap_or(0);
                        match arp.op {
                            2 => {
                                tx_slave = self.rlb_choose_channel(&arp, vlan_id);
                                if let Some(mac) = tx_slave.and_then(|s| self.slave_mac(s)) {
                                    frame[l2.l3 + 8..l2.l3 + 14].copy_from_slice(&mac.0);
                                }
                            }
                            1 => {
                                tx_slave = self.rlb_choose_channel(&arp, vlan_id);
                                if let Some(rlb) = &mut self.rlb {
                                    rlb.update_delay_counter = RLB_UPDATE_DELAY;
                                }
                                self.rlb_req_update_subnet_clients(arp.ip_src);
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        // bond_do_alb_xmit
        let tx = match tx_slave {
            Some(s) => Some(s),
            None => {
                if self.cfg.dynamic {
                    self.tlb.unbalanced = self.tlb.unbalanced.wrapping_add(frame.len() as u32);
                }
                self.active
            }
        };
        let result = match tx {
            Some(s) if self.can_tx(s) => {
                if Some(s) != self.active {
                    if let (Some(mac), Some(src)) = (self.slave_mac(s), frame.get_mut(6..12)) {
                        src.copy_from_slice(&mac.0);
                    }
                }
                Some(s)
            }
            Some(s) => {
                if self.cfg.dynamic {
                    self.tlb.clear_slave(s, false);
                }
                None
            }
            None => None,
        };
        self.publish();
        result
    }

    /// An ARP frame received on a slave (`rlb_arp_recv`): forgets clients whose bond-side
    /// address now belongs to another MAC (`rlb_purge_src_ip`) and learns a client's MAC from
    /// its ARP reply (`rlb_update_entry_from_arp`). The frame is then delivered as any other.
    pub fn handle_arp_rx(&mut self, frame: &[u8]) {
        let Some(rlb) = &mut self.rlb else { return };
        let Some(l2) = tlb::l2(frame) else { return };
        if l2.ethertype != ETHERTYPE_ARP {
            return;
        }
        let Some(arp) = ArpFields::read(frame, l2.l3) else { return };
        // rlb_purge_src_ip: every entry whose ip_src is the sender's address but whose mac_src
        // differs is deleted (the kernel walks the entries chained under hash(ip_src); these
        // are exactly the assigned entries with that ip_src).
        let victims: Vec<u8> = rlb
            .used
            .iter()
            .copied()
            .filter(|&i| {
                let e = &rlb.table[usize::from(i)];
                e.ip_src == arp.ip_src && e.mac_src != arp.mac_src
            })
            .collect();
        for i in victims {
            rlb.delete(i);
        }
        if arp.op == 2 {
            let idx = usize::from(tlb::simple_hash(&arp.ip_src.octets()));
            let c = &mut rlb.table[idx];
            if c.assigned
                && c.ip_src == arp.ip_dst
                && c.ip_dst == arp.ip_src
                && c.mac_dst != arp.mac_src
            {
                c.mac_dst = arp.mac_src;
                c.ntt = true;
                rlb.rx_ntt = true;
            }
        }
    }
}

/// The fields of `struct arp_pkt`, read without checking the hardware or protocol types, as
/// the kernel does.
#[derive(Debug, Clone, Copy)]
struct ArpFields {
    op: u16,
    mac_src: MacAddr,
    ip_src: Ipv4Addr,
    mac_dst: MacAddr,
    ip_dst: Ipv4Addr,
}

impl ArpFields {
    fn read(frame: &[u8], at: usize) -> Option<ArpFields> {
        let a = frame.get(at..at.checked_add(28)?)?;
        let mac = |o: usize| MacAddr([a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5]]);
        let ip = |o: usize| Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]);
        Some(ArpFields {
            op: u16::from_be_bytes([a[6], a[7]]),
            mac_src: mac(8),
            ip_src: ip(14),
            mac_dst: mac(18),
            ip_dst: ip(24),
        })
    }
}

/// `arp_create(ARPOP_REPLY, ETH_P_ARP, dest_ip, dev, src_ip, dest_hw, src_hw, target_hw)` as
/// `rlb_update_client` calls it, with the VLAN tag in line when `vlan_tci` is not 0, padded
/// to 60 octets.
pub fn arp_reply(
    dest_hw: MacAddr,
    src_hw: MacAddr,
    src_ip: Ipv4Addr,
    target_hw: MacAddr,
    dest_ip: Ipv4Addr,
    vlan_tci: u16,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dest_hw.0);
    f.extend_from_slice(&src_hw.0);
    if vlan_tci != 0 {
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&vlan_tci.to_be_bytes());
    }
    f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    f.extend_from_slice(&src_hw.0);
    f.extend_from_slice(&src_ip.octets());
    f.extend_from_slice(&target_hw.0);
    f.extend_from_slice(&dest_ip.octets());
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}
