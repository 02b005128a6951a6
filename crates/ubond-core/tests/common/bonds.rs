//! Two `Bond`s joined by wires, with skipped time.

use ubond_core::bond::{Bond, SlaveId};
use ubond_core::time::Instant;

/// A wire between two bonds' slaves.
pub struct Wire2 {
    pub a: (usize, SlaveId),
    pub b: (usize, SlaveId),
    pub up: bool,
}

/// Panics if a bond's LACP breaks an invariant.
fn check(bonds: &[Bond; 2], now: Instant) {
    for (n, bond) in bonds.iter().enumerate() {
        if let Some(Err(v)) = bond.lacp().map(|l| l.check_invariants()) {
            panic!("bond {n} at {now:?}: {v}");
        }
    }
}

/// Runs two bonds joined by wires until `until`, moving control frames across (and checking
/// the LACP invariants after every step).
pub fn run_pair(bonds: &mut [Bond; 2], wires: &[Wire2], from: Instant, until: Instant) {
    let mut now = from;
    for _ in 0..1_000_000 {
        let mut moved = true;
        while moved {
            check(bonds, now);
            moved = false;
            for n in 0..2 {
                while let Some(tx) = bonds[n].poll_transmit() {
                    let Some(w) =
                        wires.iter().find(|w| w.a == (n, tx.slave) || w.b == (n, tx.slave))
                    else {
                        continue;
                    };
                    if !w.up {
                        continue;
                    }
                    let to = if w.a == (n, tx.slave) { w.b } else { w.a };
                    bonds[to.0].handle_frame(now, to.1, &tx.frame);
                    moved = true;
                }
            }
        }
        let next = bonds.iter().filter_map(Bond::poll_timeout).min();
        match next {
            Some(t) if t <= until => {
                now = now.max(t);
                for b in bonds.iter_mut() {
                    if b.poll_timeout().is_some_and(|d| d <= now) {
                        b.handle_timeout(now);
                    }
                }
            }
            _ => return,
        }
    }
}
