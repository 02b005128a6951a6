//! Micro-BFD on the bond's members (RFC 7130, `bfd=on`): one [`MicroBfd`] session per slave,
//! and the member gate it adds to the mode's own.
//!
//! * **The gate**: in 802.3ad a slave distributes only while LACP says so *and* its session
//!   is Up; in balance-rr, balance-xor and broadcast it carries traffic only while its link is
//!   up and its session is Up; in active-backup the session is one more link monitor: a slave
//!   whose session is not Up cannot be (or stay) the active one. A session leaving Up takes
//!   its slave out at once (the plans are derived again after the very input that saw it go:
//!   a timeout past the Detection Time, or the partner's packet saying Down) and counts in
//!   the session's down count. balance-tlb and balance-alb have their own balancer; `bfd` is
//!   refused there.
//! * **Addressing**: the sessions run between the bond's address and `bfd_peer`, of the same
//!   family (for an IPv6 peer, a link-local address of the bond when the peer's is
//!   link-local, a global one otherwise). While either is missing no session runs, and the
//!   gate stays closed: `bfd=on` promises that no member carries traffic unchecked. The
//!   report says what is missing.
//! * **Reconciliation**: [`Bond::sync_bfd`] runs in every `after_input`, so the sessions follow
//!   the options, the addresses, the slaves and their MACs whatever input changed them; its
//!   frames and events ([`Bond::take_bfd_outputs`]) are taken before the active slave is
//!   chosen again, so a session that went down fails over in the same input.
//! * **Determinism**: discriminators, source ports and jitter come from the bond's BFD seed
//!   ([`Bond::set_bfd_seed`]); the lab seeds from its run, the daemon from the system's random
//!   source.

use std::fmt::Write as _;
use std::net::IpAddr;

use ubond_wire::bfd::{self, State};

use crate::bfd::{Event, FrameVerdict, MemberId, MemberResume, MicroBfd, MicroConfig, UdpChecksum};
use crate::options::Mode;
use crate::report;
use crate::time::Instant;

use super::{Bond, SlaveId};

/// A bond's micro-BFD: the sessions when they can run, and what makes them.
#[derive(Debug, Clone)]
pub(crate) struct BondBfd {
    /// The sessions, while `bfd` is on and both addresses are known.
    pub micro: Option<MicroBfd>,
    /// The seed of new sessions.
    pub seed: u64,
    /// The UDP destination port: 6784, or 3784 in tests against single-hop implementations.
    pub port: u16,
    /// Sessions of an earlier run of the driver to resume, by slave name, until when: each is
    /// used when its slave's session starts, or dropped.
    pub pending: Vec<(String, MemberResume, Instant)>,
}

impl Default for BondBfd {
    fn default() -> BondBfd {
        BondBfd { micro: None, seed: 0, port: bfd::MICRO_BFD_PORT, pending: Vec::new() }
    }
}

/// Most saved sessions waiting to be resumed (a bond's members at most).
const MAX_PENDING: usize = crate::bfd::micro::MAX_MEMBERS;

/// A member's handle in [`MicroBfd`]: the slave's.
fn member(id: SlaveId) -> MemberId {
    MemberId(id.0)
}

impl Bond {
    /// Seeds the discriminators, source ports and jitter of sessions started from now on
    /// (a daemon gives each bond a random seed, so discriminators differ across bonds and
    /// runs; the lab gives its run's).
    pub fn set_bfd_seed(&mut self, seed: u64) {
        self.bfd.seed = seed;
    }

    /// Test-only: the UDP destination port of the sessions, 6784 unless set. Tests against
    /// single-hop BFD implementations (RFC 5881) set 3784.
    pub fn set_bfd_port(&mut self, now: Instant, port: u16) {
        self.input(now, |b, _| b.bfd.port = port);
    }

    /// What slave `id`'s session needs to resume after a restart of the driver; `None` unless
    /// it is Up.
    pub fn bfd_resume(&self, id: SlaveId) -> Option<MemberResume> {
        self.bfd.micro.as_ref()?.member_resume(member(id))
    }

    /// A restarted driver's saved session for slave `iface`: when that slave's session starts
    /// (the slave enslaved again and the bond's address known) before `until`, it resumes
    /// from `resume` in Up, so the partner sees no change, rather than starting in Down. Call
    /// it before enslaving the slave again. A resume that cannot be used (too late, or its
    /// discriminator taken) is dropped and the session starts afresh.
    pub fn resume_bfd(&mut self, iface: &str, resume: MemberResume, until: Instant) {
        self.bfd.pending.retain(|(name, _, _)| name != iface);
        if self.bfd.pending.len() < MAX_PENDING {
            self.bfd.pending.push((iface.to_owned(), resume, until));
        }
    }

    /// Before a planned restart of the driver: every session asks its partner to wait `wait`
    /// for the next run (see [`MicroBfd::hold_for_restart`]); [`Bond::bfd_restart_held`] says
    /// when the partners have taken it.
    pub fn hold_bfd_for_restart(&mut self, now: Instant, wait: std::time::Duration) {
        self.input(now, |b, now| {
            if let Some(m) = b.bfd.micro.as_mut() {
                m.hold_for_restart(now, wait);
                b.stale = true;
            }
        });
    }

    /// Every partner has acknowledged the hold, or there is nothing to hold.
    pub fn bfd_restart_held(&self) -> bool {
        self.bfd.micro.as_ref().is_none_or(MicroBfd::restart_held)
    }

    /// The micro-BFD sessions, while they run.
    pub fn bfd(&self) -> Option<&MicroBfd> {
        self.bfd.micro.as_ref()
    }

    /// Whether slave `id` passes the micro-BFD gate (see the module docs); true when `bfd`
    /// is off.
    pub fn bfd_gate(&self, id: SlaveId) -> bool {
        self.bfd_allows(id)
    }

    /// A frame arrived on a slave, with what the driver knows of its UDP checksum: as
    /// [`Bond::handle_frame`] (which verifies checksums itself).
    pub fn handle_frame_with_checksum(
        &mut self,
        now: Instant,
        id: SlaveId,
        frame: &[u8],
        checksum: UdpChecksum,
    ) -> super::RxVerdict {
        self.now = self.now.max(now);
        let now = self.now;
        let consumed = self.on_bfd_frame(now, id, frame, checksum) || self.on_frame(now, id, frame);
        self.after_input(now);
        if consumed {
            super::RxVerdict::Consumed
        } else {
            let verdict = self.plans.rx.verdict(id, frame);
            // The bond is number 0 here: its table is its own.
            if verdict == super::RxVerdict::Deliver
                && self.plans.rx.discards_copy(&mut self.copies, 0, id.0, frame, now)
            {
                super::RxVerdict::Drop
            } else {
                verdict
            }
        }
    }

    /// Micro-BFD applies: `bfd=on`, in a mode it gates.
    pub(super) fn bfd_on(&self) -> bool {
        self.opts.bfd && !matches!(self.opts.mode, Mode::BalanceTlb | Mode::BalanceAlb)
    }

    /// The member gate: BFD is off, or the slave's session is Up.
    pub(super) fn bfd_allows(&self, id: SlaveId) -> bool {
        !self.bfd_on() || self.bfd.micro.as_ref().is_some_and(|m| m.allows_distribution(member(id)))
    }

    /// The sessions' settings, or what is missing for them.
    fn bfd_config(&self) -> Result<MicroConfig, &'static str> {
        let peer = self.opts.bfd_peer.ok_or("bfd_peer is not set")?;
        let local = match peer {
            IpAddr::V4(_) => self
                .addrs4
                .first()
                .copied()
                .map(IpAddr::V4)
                .ok_or("the bond has no IPv4 address")?,
            IpAddr::V6(p) => {
                let ll = p.is_unicast_link_local();
                self.addrs6
                    .iter()
                    .find(|a| a.is_unicast_link_local() == ll)
                    .copied()
                    .map(IpAddr::V6)
                    .ok_or(if ll {
                        "the bond has no IPv6 link-local address"
                    } else {
                        "the bond has no global IPv6 address"
                    })?
            }
        };
        let mut config = MicroConfig::new(local, peer, self.opts.bfd_session_config());
        config.port = self.bfd.port;
        Ok(config)
    }

    /// Brings the sessions in line with the options, the addresses and the slaves: started or
    /// stopped (with an AdminDown packet to the partner), reconfigured (timers through a Poll
    /// Sequence), one per slave from the slave's current MAC.
    pub(super) fn sync_bfd(&mut self, now: Instant) {
        let config = if self.bfd_on() { self.bfd_config().ok() } else { None };
        let Some(config) = config else {
            if let Some(mut m) = self.bfd.micro.take() {
                m.set_admin_down(now, true);
                self.bfd.micro = Some(m);
                self.take_bfd_outputs();
                self.bfd.micro = None;
                self.active.reselect_pending = true;
            }
            return;
        };
        let m = match &mut self.bfd.micro {
            Some(m) => {
                if *m.config() != config {
                    if let Err(e) = m.set_config(now, config) {
                        self.out.log(None, format!("internal error: {e}"));
                    }
                }
                m
            }
            None => match MicroBfd::new(config, self.bfd.seed) {
                Ok(m) => {
                    self.active.reselect_pending = true;
                    self.bfd.micro.insert(m)
                }
                Err(e) => {
                    self.out.log(None, format!("internal error: {e}"));
                    return;
                }
            },
        };
        let gone: Vec<MemberId> =
            m.members().filter(|&id| !self.slaves.iter().any(|s| member(s.id) == id)).collect();
        for id in gone {
            let _ = m.remove_member(now, id);
        }
        let pending = &mut self.bfd.pending;
        pending.retain(|(_, _, until)| *until > now);
        for s in &self.slaves {
            if m.set_member_mac(member(s.id), s.mac).is_err() {
                let resumed =
                    pending.iter().position(|(name, _, _)| *name == s.name).is_some_and(|i| {
                        let (_, r, _) = pending.swap_remove(i);
                        m.resume_member(now, member(s.id), s.mac, &r).is_ok()
                    });
                if !resumed {
                    let _ = m.add_member(now, member(s.id), s.mac);
                }
            }
        }
    }

    /// A frame for the sessions: true if it was one (accepted, or dropped and counted).
    fn on_bfd_frame(
        &mut self,
        now: Instant,
        id: SlaveId,
        frame: &[u8],
        checksum: UdpChecksum,
    ) -> bool {
        let Some(m) = self.bfd.micro.as_mut() else { return false };
        match m.handle_frame(now, member(id), frame, checksum) {
            FrameVerdict::NotBfd => false,
            FrameVerdict::Accepted | FrameVerdict::Dropped(_) => {
                // A change of state (the gate with it) or an answer owed comes out of the
                // queues; a packet that changed nothing leaves the plans alone.
                if m.has_output() {
                    self.stale = true;
                }
                true
            }
        }
    }

    /// Moves the sessions' frames to the bond's queue and words their events; a session
    /// entering or leaving Up asks for the active slave to be chosen again.
    pub(super) fn take_bfd_outputs(&mut self) {
        let Some(m) = self.bfd.micro.as_mut() else { return };
        while let Some(t) = m.poll_transmit() {
            self.out.transmit(SlaveId(t.member.0), t.frame.frame().to_vec());
        }
        while let Some(e) = m.poll_event() {
            let (id, message) = match e {
                Event::State { member, from, to, diag } => {
                    if from == State::Up || to == State::Up {
                        self.active.reselect_pending = true;
                    }
                    let message = match (from, to) {
                        (_, State::Up) => "BFD session up, link enabled for distribution".into(),
                        (State::Up, _) => {
                            format!("BFD session {to} ({diag}), link disabled for distribution")
                        }
                        _ => format!("BFD session {to} (was {from})"),
                    };
                    (member, message)
                }
                Event::Timers { member, tx_interval, detection_time } => {
                    let message = format!(
                        "BFD timers: transmit every {} ms, detection time {} ms",
                        report::Millis(tx_interval),
                        report::Millis(detection_time)
                    );
                    (member, message)
                }
            };
            let name = self.slaves.iter().find(|s| s.id.0 == id.0).map(|s| s.name.as_str());
            self.out.log(name, message);
        }
    }

    /// A slave's micro-BFD lines in the report, when `bfd` is on.
    pub(super) fn bfd_status(&self, id: SlaveId) -> Option<report::SlaveBfdStatus> {
        if !self.bfd_on() {
            return None;
        }
        let waiting = |why: &str| report::SlaveBfdStatus {
            waiting_for: Some(why.to_string()),
            ..report::SlaveBfdStatus::default()
        };
        let Some(m) = &self.bfd.micro else {
            return Some(waiting(self.bfd_config().err().unwrap_or("the sessions to start")));
        };
        let Some(st) = m.member_status(member(id)) else {
            return Some(waiting("the session to start"));
        };
        let s = st.session;
        let rx_interval = match s.remote_detect_mult {
            0 => s.required_min_rx,
            n => s.detection_time / u32::from(n),
        };
        Some(report::SlaveBfdStatus {
            state: s.state,
            waiting_for: None,
            remote_state: s.remote_state,
            local_discriminator: s.local_discr,
            remote_discriminator: s.remote_discr,
            diagnostic: s.local_diag,
            tx_interval_us: duration_us(s.tx_interval),
            rx_interval_us: duration_us(rx_interval),
            detection_time_us: duration_us(s.detection_time),
            down_count: s.stats.down_count,
            dropped: st.drops.total(),
        })
    }

    /// What [`Bond::check_invariants`] checks of micro-BFD: sessions exactly while `bfd` is on
    /// and configured, one per slave, and only slaves whose session is Up in the transmit
    /// plan.
    pub(super) fn check_bfd(&self, why: &mut String) {
        let Some(m) = &self.bfd.micro else {
            if self.bfd_on() && self.bfd_config().is_ok() {
                why.push_str("bfd is on and configured, but no session runs; ");
            }
            return;
        };
        if !self.bfd_on() {
            why.push_str("BFD sessions run while bfd is off; ");
        }
        let members: Vec<MemberId> = m.members().collect();
        let slaves: Vec<MemberId> = self.slaves.iter().map(|s| member(s.id)).collect();
        let mut sorted = members.clone();
        sorted.sort();
        let mut want = slaves.clone();
        want.sort();
        if sorted != want {
            let _ = write!(why, "BFD members {members:?} are not the slaves {slaves:?}; ");
        }
        if let Some(s) = self.plans.tx.slaves.iter().find(|s| !self.bfd_allows(**s)) {
            let _ = write!(why, "slave #{} transmits without its BFD session up; ", s.0);
        }
    }
}

fn duration_us(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
