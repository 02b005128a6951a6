//! Two `Bond`s joined by wires, with skipped time.

use ubond_core::bond::{Bond, SlaveId};
use ubond_core::time::Instant;

/// A wire between two bonds' slaves.
pub struct Wire2 {
    pub a: (usize, SlaveId),
    pub b: (usize, SlaveId),
    pub up: bool,
}

/// Runs two bonds joined by wires until `until`, moving control frames across (and checking
/// the bonds' invariants, LACP's included, after every step).
pub fn run_pair(bonds: &mut [Bond; 2], wires: &[Wire2], from: Instant, until: Instant) {
    let mut now = from;
    for _ in 0..1_000_000 {
        let mut moved = true;
        while moved {
            for (n, bond) in bonds.iter().enumerate() {
                if let Err(e) = bond.check_invariants() {
                    panic!("bond {n} at {now:?}: {e}");
                }
            }
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
                    check(&bonds[to.0]);
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
                        check(b);
                    }
                }
            }
            _ => return,
        }
    }
}

/// The bond's invariants hold (after every step of a run).
pub fn check(bond: &Bond) {
    if let Err(e) = bond.check_invariants() {
        panic!("invariant broken: {e}");
    }
}
