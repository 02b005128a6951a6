//! The data path's view of a bond: which slave carries a frame, and which received frames are
//! delivered up. A [`TxPlan`] is a plain value the control plane republishes on every change
//! (`BondEvent::PlanChanged`); the forwarding threads read their copy without any lock, and
//! choosing a slave is a pure function of the plan, the frame and a per-thread counter.

use crate::hash;
use crate::options::{Mode, XmitHashPolicy};

use super::tlb::{TlbTable, TlbTx};
use super::SlaveId;

/// Where one frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxChoice {
    /// On this slave.
    One(SlaveId),
    /// On every slave of [`TxPlan::slaves`] (broadcast mode).
    All,
    /// Nowhere: the bond has no usable slave (Linux counts it as a tx drop).
    Drop,
    /// balance-alb: an ARP packet the bond sends; give it to
    /// [`Bond::handle_arp_tx`](super::Bond::handle_arp_tx), which may rewrite it and picks the
    /// slave.
    ControlPlane,
}

/// How the data path picks the slave for a frame (Linux's `usable_slaves` array plus the mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxPlan {
    /// The bonding mode.
    pub mode: Mode,
    /// `xmit_hash_policy`, for the hash modes.
    pub policy: XmitHashPolicy,
    /// `packets_per_slave`, for balance-rr.
    pub packets_per_slave: u32,
    /// The slaves that may transmit, in enslave order: the active slave alone in
    /// active-backup (and in 802.3ad's LACP fallback), the distributing ports of the active
    /// aggregator in 802.3ad, every slave whose link is up otherwise.
    pub slaves: Vec<SlaveId>,
    /// The slave IGMP reports leave by in balance-rr (Linux: the current active slave, so
    /// that a switch keeps one membership port).
    pub igmp_slave: Option<SlaveId>,
    /// balance-tlb/alb: the transmit table (256 buckets by load). Use
    /// [`TxPlan::select_tlb`] to also get the source-address rewrite and the byte accounting.
    pub tlb: Option<TlbTable>,
}

impl TxPlan {
    /// A plan that drops everything.
    pub fn empty(mode: Mode) -> TxPlan {
        TxPlan {
            mode,
            policy: XmitHashPolicy::default(),
            packets_per_slave: 1,
            slaves: Vec::new(),
            igmp_slave: None,
            tlb: None,
        }
    }

    /// balance-tlb/alb: the full decision for a frame (slave, source MAC to write, where to
    /// count its bytes), or `None` in the other modes.
    pub fn select_tlb(&self, frame: &[u8]) -> Option<TlbTx> {
        self.tlb.as_ref().map(|t| t.select(frame))
    }

    /// The slave for `frame` (a whole Ethernet frame). `counter` is the forwarding thread's
    /// own round-robin counter (Linux keeps one per CPU); it also seeds the random choice of
    /// `packets_per_slave=0`, which keeps every run reproducible.
    pub fn select(&self, frame: &[u8], counter: &mut u32) -> TxChoice {
        let n = self.slaves.len();
        if n == 0 {
            return TxChoice::Drop;
        }
        let pick = |h: u32| TxChoice::One(self.slaves[(h as usize) % n]);
        match self.mode {
            Mode::Broadcast => TxChoice::All,
            Mode::ActiveBackup => TxChoice::One(self.slaves[0]),
            Mode::BalanceRr => {
                if let Some(igmp) = self.igmp_slave.filter(|_| is_igmp(frame)) {
                    return TxChoice::One(igmp);
                }
                let id = match self.packets_per_slave {
                    // Linux: get_random_u32(). Ours: xorshift32 on the counter, deterministic.
                    0 => {
                        let mut x = counter.wrapping_add(0x9e37_79b9) | 1;
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        *counter = x;
                        x
                    }
                    1 => {
                        *counter = counter.wrapping_add(1);
                        *counter
                    }
                    per => {
                        *counter = counter.wrapping_add(1);
                        *counter / per
                    }
                };
                pick(id)
            }
            Mode::BalanceTlb | Mode::BalanceAlb if self.tlb.is_some() => {
                match self.select_tlb(frame) {
                    Some(TlbTx::Send { slave, .. }) => TxChoice::One(slave),
                    Some(TlbTx::Arp) => TxChoice::ControlPlane,
                    Some(TlbTx::Drop) | None => TxChoice::Drop,
                }
            }
            Mode::BalanceXor | Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb => {
                pick(hash::xmit_hash(self.policy, frame, None))
            }
        }
    }
}

/// An IPv4 IGMP frame (protocol 2), untagged or with one VLAN tag.
fn is_igmp(frame: &[u8]) -> bool {
    let off = match frame.get(12..14) {
        Some([0x81, 0x00]) => 18,
        _ => 14,
    };
    frame.get(off - 2..off) == Some(&[0x08, 0x00][..]) && frame.get(off + 9) == Some(&2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mode: Mode, n: u32) -> TxPlan {
        TxPlan { slaves: (1..=n).map(SlaveId).collect(), ..TxPlan::empty(mode) }
    }

    #[test]
    fn round_robin_and_packets_per_slave() {
        let mut c = 0;
        let p = plan(Mode::BalanceRr, 3);
        let got: Vec<_> = (0..6).map(|_| p.select(&[0; 60], &mut c)).collect();
        let want: Vec<_> = [2, 3, 1, 2, 3, 1].iter().map(|&i| TxChoice::One(SlaveId(i))).collect();
        assert_eq!(got, want);
        let p = TxPlan { packets_per_slave: 2, ..plan(Mode::BalanceRr, 2) };
        let mut c = 0;
        let got: Vec<_> = (0..6).map(|_| p.select(&[0; 60], &mut c)).collect();
        let ids: Vec<u32> =
            got.iter().map(|c| if let TxChoice::One(s) = c { s.0 } else { 0 }).collect();
        assert_eq!(ids, [1, 2, 2, 1, 1, 2]);
        let p = TxPlan { packets_per_slave: 0, ..plan(Mode::BalanceRr, 4) };
        let mut c = 7;
        let mut seen = [0; 5];
        for _ in 0..400 {
            if let TxChoice::One(s) = p.select(&[0; 60], &mut c) {
                seen[s.0 as usize] += 1;
            }
        }
        assert!(seen[1..].iter().all(|&n| n > 50), "random choice uses every slave: {seen:?}");
    }

    #[test]
    fn igmp_goes_to_the_igmp_slave_in_round_robin() {
        let p = TxPlan { igmp_slave: Some(SlaveId(2)), ..plan(Mode::BalanceRr, 3) };
        let mut frame = [0u8; 60];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frame[14 + 9] = 2;
        let mut c = 0;
        for _ in 0..4 {
            assert_eq!(p.select(&frame, &mut c), TxChoice::One(SlaveId(2)));
        }
    }

    #[test]
    fn active_backup_broadcast_and_empty() {
        let mut c = 0;
        assert_eq!(plan(Mode::ActiveBackup, 1).select(&[], &mut c), TxChoice::One(SlaveId(1)));
        assert_eq!(plan(Mode::Broadcast, 3).select(&[], &mut c), TxChoice::All);
        assert_eq!(plan(Mode::BalanceXor, 0).select(&[], &mut c), TxChoice::Drop);
    }
}
