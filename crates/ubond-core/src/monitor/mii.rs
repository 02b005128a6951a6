//! The MII (carrier) link monitor of Linux bonding (`bond_miimon_inspect` /
//! `bond_miimon_commit`), with deadlines instead of `miimon` ticks.
//!
//! A slave's link goes through four states, printed in `/proc/net/bonding` as `up`,
//! `going down`, `down` and `going back`:
//!
//! ```text
//!            carrier lost                 downdelay over
//!   UP ------------------------> FAIL ------------------------> DOWN
//!    ^  <------------------------  |                              |
//!    |     carrier back ("up again")                              | carrier back
//!    |                                                            v
//!    +-------------------------------------------------------- BACK
//!              updelay over (or no active slave)   <- carrier lost again: DOWN
//! ```
//!
//! `downdelay = 0` / `updelay = 0` make the transitions immediate. The kernel applies the
//! delays at its next `miimon` tick; we apply them at the exact deadline, and carrier changes
//! reported by the driver (netlink) are acted on at once instead of at the next poll.

use core::fmt;
use core::time::Duration;

use crate::time::Instant;

/// A slave's link state (Linux `BOND_LINK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkStatus {
    /// `BOND_LINK_UP`.
    Up,
    /// `BOND_LINK_FAIL`: carrier lost, waiting `downdelay`.
    Fail,
    /// `BOND_LINK_DOWN`.
    Down,
    /// `BOND_LINK_BACK`: carrier back, waiting `updelay`.
    Back,
}

impl fmt::Display for LinkStatus {
    /// The kernel's words (`bond_slave_link_status`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkStatus::Up => "up",
            LinkStatus::Fail => "going down",
            LinkStatus::Down => "down",
            LinkStatus::Back => "going back",
        })
    }
}

/// A transition the monitor decided, with the kernel's log wording in [`fmt::Display`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiiTransition {
    /// UP → FAIL: "link status down for interface, disabling it in N ms".
    GoingDown {
        /// The downdelay.
        delay: Duration,
    },
    /// FAIL → UP: "link status up again after N ms".
    UpAgain {
        /// How long the link had been failing.
        after: Duration,
    },
    /// → DOWN: "link status definitely down, disabling slave".
    Down,
    /// DOWN → BACK: "link status up, enabling it in N ms".
    GoingBack {
        /// The updelay.
        delay: Duration,
    },
    /// BACK → DOWN: "link status down again after N ms".
    DownAgain {
        /// How long the link had been coming back.
        after: Duration,
    },
    /// → UP: "link status definitely up".
    Up,
}

impl MiiTransition {
    /// The state this transition leads to.
    pub fn to(self) -> LinkStatus {
        match self {
            MiiTransition::GoingDown { .. } => LinkStatus::Fail,
            MiiTransition::UpAgain { .. } | MiiTransition::Up => LinkStatus::Up,
            MiiTransition::Down | MiiTransition::DownAgain { .. } => LinkStatus::Down,
            MiiTransition::GoingBack { .. } => LinkStatus::Back,
        }
    }
}

impl fmt::Display for MiiTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MiiTransition::GoingDown { delay } => write!(
                f,
                "link status down for interface, disabling it in {} ms",
                delay.as_millis()
            ),
            MiiTransition::UpAgain { after } => {
                write!(f, "link status up again after {} ms", after.as_millis())
            }
            MiiTransition::Down => f.write_str("link status definitely down, disabling slave"),
            MiiTransition::GoingBack { delay } => {
                write!(f, "link status up, enabling it in {} ms", delay.as_millis())
            }
            MiiTransition::DownAgain { after } => {
                write!(f, "link status down again after {} ms", after.as_millis())
            }
            MiiTransition::Up => f.write_str("link status definitely up"),
        }
    }
}

/// The delays of the MII monitor (`updelay`, `downdelay`, already rounded to multiples of
/// `miimon` by the option layer, as the kernel does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MiiDelays {
    /// `updelay`.
    pub up: Duration,
    /// `downdelay`.
    pub down: Duration,
}

/// The MII monitor's state for one slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiiLink {
    status: LinkStatus,
    carrier: bool,
    /// When the current FAIL or BACK state started.
    since: Instant,
    /// When the FAIL or BACK delay is over.
    deadline: Option<Instant>,
    link_failure_count: u32,
}

impl MiiLink {
    /// A newly enslaved slave (Linux `bond_enslave`): up if it has carrier (going back if
    /// `updelay` is set), else down.
    pub fn new(now: Instant, carrier: bool, delays: MiiDelays) -> MiiLink {
        let (status, deadline) = match carrier {
            true if delays.up.is_zero() => (LinkStatus::Up, None),
            true => (LinkStatus::Back, Some(now + delays.up)),
            false => (LinkStatus::Down, None),
        };
        MiiLink { status, carrier, since: now, deadline, link_failure_count: 0 }
    }

    /// The link state.
    pub fn status(&self) -> LinkStatus {
        self.status
    }

    /// The last carrier observed.
    pub fn carrier(&self) -> bool {
        self.carrier
    }

    /// Times the link went definitely down (`Link Failure Count`).
    pub fn link_failure_count(&self) -> u32 {
        self.link_failure_count
    }

    /// When [`MiiLink::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn enter(&mut self, now: Instant, t: MiiTransition, delays: MiiDelays) -> MiiTransition {
        self.status = t.to();
        self.since = now;
        self.deadline = match self.status {
            LinkStatus::Fail => Some(now + delays.down),
            LinkStatus::Back => Some(now + delays.up),
            LinkStatus::Up | LinkStatus::Down => None,
        };
        if matches!(t, MiiTransition::Down) {
            self.link_failure_count = self.link_failure_count.saturating_add(1);
        }
        t
    }

    /// A carrier observation (a netlink event or a `miimon` poll). `skip_updelay` is true when
    /// the bond has no usable slave at all, in which case Linux ignores `updelay`. Returns the
    /// transitions taken, in order (at most two: e.g. UP → FAIL → DOWN with no downdelay).
    pub fn observe(
        &mut self,
        now: Instant,
        carrier: bool,
        delays: MiiDelays,
        skip_updelay: bool,
    ) -> Transitions {
        self.carrier = carrier;
        let mut out = Transitions::default();
        match (self.status, carrier) {
            (LinkStatus::Up, false) => {
                out.push(self.enter(now, MiiTransition::GoingDown { delay: delays.down }, delays));
                if delays.down.is_zero() {
                    out.push(self.enter(now, MiiTransition::Down, delays));
                }
            }
            (LinkStatus::Fail, true) => {
                let after = now - self.since;
                out.push(self.enter(now, MiiTransition::UpAgain { after }, delays));
            }
            (LinkStatus::Down, true) => {
                out.push(self.enter(now, MiiTransition::GoingBack { delay: delays.up }, delays));
                if delays.up.is_zero() || skip_updelay {
                    out.push(self.enter(now, MiiTransition::Up, delays));
                }
            }
            (LinkStatus::Back, false) => {
                let after = now - self.since;
                out.push(self.enter(now, MiiTransition::DownAgain { after }, delays));
            }
            (LinkStatus::Back, true) if skip_updelay => {
                out.push(self.enter(now, MiiTransition::Up, delays));
            }
            _ => {}
        }
        out
    }

    /// The delay of a FAIL or BACK state is over.
    pub fn handle_timeout(&mut self, now: Instant, delays: MiiDelays) -> Transitions {
        let mut out = Transitions::default();
        if self.deadline.is_some_and(|d| d <= now) {
            match self.status {
                LinkStatus::Fail => out.push(self.enter(now, MiiTransition::Down, delays)),
                LinkStatus::Back => out.push(self.enter(now, MiiTransition::Up, delays)),
                LinkStatus::Up | LinkStatus::Down => self.deadline = None,
            }
        }
        out
    }

    /// A link coming back (BACK, with carrier) goes up now, its `updelay` skipped because the
    /// bond has no usable slave (`ignore_updelay` of Linux `bond_miimon_inspect`). Nothing for
    /// a link in any other state.
    pub fn skip_updelay(&mut self, now: Instant, delays: MiiDelays) -> Transitions {
        let mut out = Transitions::default();
        if self.status == LinkStatus::Back && self.carrier {
            out.push(self.enter(now, MiiTransition::Up, delays));
        }
        out
    }

    /// Forces the link up now (Linux: a BACK slave chosen as the new active slave is "made the
    /// new active one N ms earlier"). Returns the time saved.
    pub fn force_up(&mut self, now: Instant) -> Option<Duration> {
        if self.status != LinkStatus::Back {
            return None;
        }
        let saved = self.deadline.map_or(Duration::ZERO, |d| d - now);
        self.status = LinkStatus::Up;
        self.deadline = None;
        self.since = now;
        Some(saved)
    }
}

/// Up to two transitions decided by one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transitions {
    items: [Option<MiiTransition>; 2],
}

impl Transitions {
    fn push(&mut self, t: MiiTransition) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(t);
        }
    }

    /// The transitions, in order.
    pub fn iter(&self) -> impl Iterator<Item = MiiTransition> + '_ {
        self.items.iter().flatten().copied()
    }

    /// No transition happened.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::LinkStatus::*;
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    const DELAYS: MiiDelays =
        MiiDelays { up: Duration::from_millis(200), down: Duration::from_millis(100) };

    #[test]
    fn no_delays_are_immediate() {
        let d = MiiDelays::default();
        let mut l = MiiLink::new(ms(0), true, d);
        assert_eq!(l.status(), Up);
        let t: Vec<_> = l.observe(ms(5), false, d, false).iter().collect();
        assert_eq!(t, [MiiTransition::GoingDown { delay: Duration::ZERO }, MiiTransition::Down]);
        assert_eq!((l.status(), l.link_failure_count()), (Down, 1));
        let t: Vec<_> = l.observe(ms(9), true, d, false).iter().collect();
        assert_eq!(t.last(), Some(&MiiTransition::Up));
        assert!(l.observe(ms(10), true, d, false).is_empty(), "repeated carrier: nothing");
    }

    #[test]
    fn downdelay_then_down_or_up_again() {
        let mut l = MiiLink::new(ms(0), true, DELAYS);
        assert_eq!(l.status(), Back, "updelay applies to a new slave");
        l.handle_timeout(ms(200), DELAYS);
        assert_eq!(l.status(), Up);
        l.observe(ms(1000), false, DELAYS, false);
        assert_eq!((l.status(), l.poll_timeout()), (Fail, Some(ms(1100))));
        assert_eq!(l.status().to_string(), "going down");
        let t: Vec<_> = l.observe(ms(1050), true, DELAYS, false).iter().collect();
        assert_eq!(t, [MiiTransition::UpAgain { after: Duration::from_millis(50) }]);
        assert_eq!(l.link_failure_count(), 0, "a flap within downdelay is no failure");
        l.observe(ms(2000), false, DELAYS, false);
        assert!(l.handle_timeout(ms(2099), DELAYS).is_empty());
        let t: Vec<_> = l.handle_timeout(ms(2100), DELAYS).iter().collect();
        assert_eq!(t, [MiiTransition::Down]);
        assert_eq!(l.link_failure_count(), 1);
    }

    #[test]
    fn updelay_then_up_or_down_again() {
        let mut l = MiiLink::new(ms(0), false, DELAYS);
        assert_eq!(l.status(), Down);
        l.observe(ms(10), true, DELAYS, false);
        assert_eq!((l.status(), l.status().to_string()), (Back, "going back".to_string()));
        let t: Vec<_> = l.observe(ms(60), false, DELAYS, false).iter().collect();
        assert_eq!(t, [MiiTransition::DownAgain { after: Duration::from_millis(50) }]);
        l.observe(ms(100), true, DELAYS, false);
        l.handle_timeout(ms(300), DELAYS);
        assert_eq!(l.status(), Up);
        assert_eq!(l.link_failure_count(), 0, "never went down from up");
    }

    #[test]
    fn updelay_is_skipped_when_the_bond_has_no_usable_slave() {
        let mut l = MiiLink::new(ms(0), false, DELAYS);
        l.observe(ms(10), true, DELAYS, true);
        assert_eq!(l.status(), Up);
        let mut l = MiiLink::new(ms(0), false, DELAYS);
        l.observe(ms(10), true, DELAYS, false);
        assert_eq!(l.force_up(ms(110)), Some(Duration::from_millis(100)));
        assert_eq!(l.status(), Up);
    }

    #[test]
    fn messages_are_the_kernels() {
        assert_eq!(
            MiiTransition::GoingDown { delay: Duration::from_millis(200) }.to_string(),
            "link status down for interface, disabling it in 200 ms"
        );
        assert_eq!(MiiTransition::Up.to_string(), "link status definitely up");
    }
}
