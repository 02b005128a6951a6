//! Micro-BFD (RFC 7130): one BFD session on every member of a bond, so that a member whose
//! carrier stays up while frames stop is taken out of use within the Detection Time.
//!
//! Each member runs an independent Asynchronous-mode session ([`Session`]) over single-hop
//! UDP (RFC 5881) to destination port 6784, between the bond's address and the partner's
//! (`bfd_peer`), IPv4 or IPv6, the same on every member (RFC 7130 section 2). Its frames go out
//! of that member only, to the dedicated MAC `01:00:5e:90:00:01` until the session is Up and
//! then to the partner's MAC as learned from its packets, from a UDP source port of
//! 49152..=65535 that stays the same for the session and differs between members (RFC 5881 4),
//! with TTL or hop limit 255; received packets must arrive with 255 too (RFC 5881 5).
//!
//! Received frames are demultiplexed by member (the link they arrived on picks the session,
//! which is what RFC 7130 asks when Your Discriminator is zero) and then by discriminator (a
//! nonzero Your Discriminator must be that session's, or the packet came from elsewhere, e.g.
//! crossed links). Every frame sent to the BFD port that is not accepted is counted by reason
//! ([`DropReason`]).
//!
//! A member may carry traffic only while its session is Up ([`MicroBfd::allows_distribution`]):
//! RFC 7130 (sections 2 and 3) keeps a member out of the bond's load balancing until its
//! session is Up and takes it out as soon as the session goes down. The bond combines that
//! gate with its own (carrier, LACP).
//!
//! [`MemberSession`] is one member's session with its addressing, usable on its own;
//! [`MicroBfd`] holds a bond's members, hands out distinct discriminators and source ports,
//! and gathers their output.

use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ubond_wire::bfd::{self, ControlRepr, Diagnostic, Encapsulation, FrameRepr, State};
use ubond_wire::udp::IpPair;
use ubond_wire::MacAddr;

use super::session::{
    ConfigError, DropCounters, DropReason, Session, SessionConfig, SessionEvent, SessionResume,
    SessionStatus,
};
use super::timers::Rng;
use crate::time::Instant;

/// Most members one [`MicroBfd`] holds (a bond's most slaves). Every loop is bounded by it.
pub const MAX_MEMBERS: usize = 256;
/// Most frames waiting in [`MicroBfd`]'s transmit queue; more are dropped and counted.
pub const TX_QUEUE_LIMIT: usize = 1024;
/// Most events waiting in [`MicroBfd`]'s event queue; the oldest are dropped and counted.
pub const EVENT_QUEUE_LIMIT: usize = 1024;
/// The longest frame a member sends: Ethernet, IPv6, UDP and a Control packet without
/// authentication.
pub const MAX_TX_FRAME_LEN: usize = 14 + 40 + 8 + bfd::HEADER_LEN;

/// A bond's micro-BFD settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MicroConfig {
    /// The bond's address: the source of our packets, the destination of the partner's.
    pub local_addr: IpAddr,
    /// The partner's address (`bfd_peer`).
    pub peer_addr: IpAddr,
    /// The timers every member's session offers.
    pub session: SessionConfig,
    /// The UDP destination port: [`bfd::MICRO_BFD_PORT`] (6784). Tests against single-hop
    /// implementations set [`bfd::SINGLE_HOP_PORT`].
    pub port: u16,
}

impl MicroConfig {
    /// Micro-BFD between `local_addr` and `peer_addr` on port 6784.
    pub const fn new(local_addr: IpAddr, peer_addr: IpAddr, session: SessionConfig) -> MicroConfig {
        MicroConfig { local_addr, peer_addr, session, port: bfd::MICRO_BFD_PORT }
    }

    /// The addresses as a source/destination pair for our packets.
    fn ips(&self) -> Option<IpPair> {
        IpPair::new(self.local_addr, self.peer_addr)
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), MicroError> {
        self.session.validate().map_err(MicroError::Config)?;
        if self.ips().is_none() {
            return Err(MicroError::AddressFamilies);
        }
        Ok(())
    }
}

/// A caller's misuse of [`MicroBfd`] or [`MemberSession`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicroError {
    /// Bad timers.
    Config(ConfigError),
    /// The local and peer addresses are not of one family.
    AddressFamilies,
    /// No such member.
    UnknownMember(MemberId),
    /// The member is there already.
    DuplicateMember(MemberId),
    /// [`MAX_MEMBERS`] members already.
    TooManyMembers,
    /// A saved session's discriminator or source port is another member's.
    ResumeConflict,
}

impl fmt::Display for MicroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MicroError::Config(e) => write!(f, "bfd: {e}"),
            MicroError::AddressFamilies => {
                f.write_str("bfd: the bond's address and bfd_peer must be both IPv4 or both IPv6")
            }
            MicroError::UnknownMember(m) => write!(f, "bfd: {m} is not a member"),
            MicroError::DuplicateMember(m) => write!(f, "bfd: {m} is a member already"),
            MicroError::TooManyMembers => write!(f, "bfd: at most {MAX_MEMBERS} members"),
            MicroError::ResumeConflict => {
                f.write_str("bfd: a saved session's discriminator or source port is taken")
            }
        }
    }
}

impl std::error::Error for MicroError {}

/// What a member's session needs to resume after a restart of its driver (see
/// [`crate::bfd::session`]'s `resume`): the session's state, and the member's UDP source port
/// and partner MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberResume {
    /// The session.
    pub session: SessionResume,
    /// The UDP source port.
    pub src_port: u16,
    /// The partner's MAC address, learnt from its packets (our frames go to it once Up).
    pub peer_mac: Option<MacAddr>,
}

/// A member handle chosen by the caller (the bond's slave number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(pub u32);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member#{}", self.0)
    }
}

/// What the driver knows of a received frame's UDP checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UdpChecksum {
    /// Nothing: the core verifies it, and drops the frame if it is wrong.
    Verify,
    /// The kernel says it was verified, or that it is partial because the sender is on this
    /// host and left it to offload (veth, tap: Linux's `CHECKSUM_PARTIAL`, which a packet
    /// socket reports as `TP_STATUS_CSUMNOTREADY`). The core does not verify it.
    Trusted,
}

/// What became of a frame given to `handle_frame`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameVerdict {
    /// Not a UDP datagram to the BFD port: not ours, left to the caller.
    NotBfd,
    /// A BFD packet, accepted by the member's session.
    Accepted,
    /// A BFD packet, dropped and counted for this reason. Do not deliver it further.
    Dropped(DropReason),
}

/// A frame to send out of one member.
#[derive(Clone, PartialEq, Eq)]
pub struct TxFrame {
    len: u8,
    buf: [u8; MAX_TX_FRAME_LEN],
}

impl TxFrame {
    /// The whole Ethernet frame.
    pub fn frame(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl fmt::Debug for TxFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxFrame({} octets)", self.len)
    }
}

/// A frame [`MicroBfd`] sends on `member`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The member to send it on (and only there).
    pub member: MemberId,
    /// The frame.
    pub frame: TxFrame,
}

/// What [`MicroBfd`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A member's session changed state. Into or out of Up, the member's distribution gate
    /// ([`MicroBfd::allows_distribution`]) changed with it.
    State {
        /// The member.
        member: MemberId,
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// Why (bfd.LocalDiag): e.g. control detection time expired, neighbor signaled
        /// session down.
        diag: Diagnostic,
    },
    /// A member's negotiated timers changed.
    Timers {
        /// The member.
        member: MemberId,
        /// The interval between our packets, before jitter.
        tx_interval: Duration,
        /// How long we wait for the partner's packets.
        detection_time: Duration,
    },
}

/// One member's session, addressing and counters, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberStatus {
    /// The session.
    pub session: SessionStatus,
    /// Our UDP source port.
    pub src_port: u16,
    /// The partner's MAC as learned from its packets.
    pub peer_mac: Option<MacAddr>,
    /// Frames sent to the BFD port and dropped, by reason.
    pub drops: DropCounters,
}

/// One member's micro-BFD session: the [`Session`], the member's MAC, the partner's learned
/// MAC, the UDP source port, and drop counters. A bond may own one per slave; [`MicroBfd`]
/// holds a whole bond's.
///
/// Driver contract as [`Session`]'s: after every input drain [`MemberSession::poll_transmit`]
/// (frames to send on this member) and [`MemberSession::poll_event`], then call
/// [`MemberSession::handle_timeout`] at [`MemberSession::poll_timeout`].
#[derive(Debug, Clone)]
pub struct MemberSession {
    config: MicroConfig,
    session: Session,
    mac: MacAddr,
    peer_mac: Option<MacAddr>,
    src_port: u16,
    drops: DropCounters,
}

impl MemberSession {
    /// A session for a member whose MAC is `mac`, with discriminator `local_discr` (nonzero,
    /// unique on the system), UDP source port `src_port` (49152..=65535, unique on the system
    /// at best), jitter from `seed`.
    pub fn new(
        now: Instant,
        config: MicroConfig,
        mac: MacAddr,
        local_discr: u32,
        src_port: u16,
        seed: u64,
    ) -> Result<MemberSession, MicroError> {
        config.validate()?;
        let session =
            Session::new(now, config.session, local_discr, seed).map_err(MicroError::Config)?;
        Ok(MemberSession::with(config, session, mac, src_port, None))
    }

    /// A member around `session`, its counters at zero.
    fn with(
        config: MicroConfig,
        session: Session,
        mac: MacAddr,
        src_port: u16,
        peer_mac: Option<MacAddr>,
    ) -> MemberSession {
        MemberSession {
            config,
            session,
            mac,
            peer_mac,
            src_port: src_port.max(bfd::SOURCE_PORT_MIN),
            drops: DropCounters::default(),
        }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// A member's session resumed where an earlier run of the driver left it (see
    /// [`Session::resume`]).
    pub fn resume(
        now: Instant,
        config: MicroConfig,
        mac: MacAddr,
        resume: &MemberResume,
        seed: u64,
    ) -> Result<MemberSession, MicroError> {
        config.validate()?;
        let session = Session::resume(now, config.session, &resume.session, seed)
            .map_err(MicroError::Config)?;
        Ok(MemberSession::with(config, session, mac, resume.src_port, resume.peer_mac))
    }

    /// What the session needs to resume after a restart of the driver; `None` unless Up.
    pub fn resume_info(&self) -> Option<MemberResume> {
        let session = self.session.resume_info()?;
        Some(MemberResume { session, src_port: self.src_port, peer_mac: self.peer_mac })
    }

    /// The member may carry traffic: its session is Up.
    pub fn allows_distribution(&self) -> bool {
        self.session.state() == State::Up
    }

    /// State, timers and counters.
    pub fn status(&self) -> MemberStatus {
        MemberStatus {
            session: self.session.status(),
            src_port: self.src_port,
            peer_mac: self.peer_mac,
            drops: self.drops,
        }
    }

    /// The member's MAC changed (the source of our frames).
    pub fn set_mac(&mut self, mac: MacAddr) {
        self.mac = mac;
    }

    /// New settings: timers as [`Session::set_config`] applies them; addresses at once (a
    /// session to the old partner then times out and comes up with the new one).
    pub fn set_config(&mut self, now: Instant, config: MicroConfig) -> Result<(), MicroError> {
        config.validate()?;
        self.session.set_config(now, config.session).map_err(MicroError::Config)?;
        if (config.local_addr, config.peer_addr) != (self.config.local_addr, self.config.peer_addr)
        {
            self.peer_mac = None;
        }
        self.config = config;
        Ok(())
    }

    /// Holds the session administratively down, or releases it.
    pub fn set_admin_down(&mut self, now: Instant, down: bool) {
        self.session.set_admin_down(now, down);
    }

    /// A frame arrived on this member. Frames that are not UDP to the BFD port are left alone
    /// ([`FrameVerdict::NotBfd`]); the others are accepted or counted and dropped.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        frame: &[u8],
        checksum: UdpChecksum,
    ) -> FrameVerdict {
        if bfd::udp_dst_port(frame) != Some(self.config.port) {
            return FrameVerdict::NotBfd;
        }
        match self.receive(now, frame, checksum) {
            Ok(()) => FrameVerdict::Accepted,
            Err(reason) => {
                self.drops.count(reason);
                FrameVerdict::Dropped(reason)
            }
        }
    }

    fn receive(
        &mut self,
        now: Instant,
        frame: &[u8],
        checksum: UdpChecksum,
    ) -> Result<(), DropReason> {
        let verify = checksum == UdpChecksum::Verify;
        let (encap, payload) =
            Encapsulation::parse_with(frame, verify).map_err(|_| DropReason::Malformed)?;
        // RFC 5881 5: "All received BFD Control packets that are demultiplexed to the session
        // MUST be discarded if the received TTL or Hop Limit is not equal to 255."
        if encap.ttl != bfd::TTL {
            return Err(DropReason::Ttl);
        }
        if encap.ips.src() != self.config.peer_addr || encap.ips.dst() != self.config.local_addr {
            return Err(DropReason::Address);
        }
        let packet = bfd::Packet::new_checked(payload).map_err(|_| DropReason::Length)?;
        let control = ControlRepr::parse(&packet).map_err(|_| DropReason::Malformed)?;
        self.session.handle_packet(now, &control)?;
        // RFC 7130 section 2: the partner's MAC, learned from its packets, replaces the dedicated
        // one once the session is Up.
        self.peer_mac = Some(encap.src_mac).filter(MacAddr::is_unicast);
        Ok(())
    }

    /// Time has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }

    /// The next frame to send on this member.
    pub fn poll_transmit(&mut self) -> Option<TxFrame> {
        let control = self.session.poll_transmit()?;
        let dst_mac = match (self.session.state(), self.peer_mac) {
            (State::Up, Some(mac)) => mac,
            _ => bfd::MICRO_BFD_MAC,
        };
        let encap = Encapsulation {
            src_mac: self.mac,
            dst_mac,
            ips: self.config.ips()?,
            ttl: bfd::TTL,
            src_port: self.src_port,
            dst_port: self.config.port,
        };
        let repr = FrameRepr { encap, control };
        let mut out = TxFrame { len: 0, buf: [0; MAX_TX_FRAME_LEN] };
        repr.emit(&mut out.buf).ok()?;
        out.len = repr.buffer_len() as u8;
        Some(out)
    }

    /// The next event of the session.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.session.poll_event()
    }

    /// When to call [`MemberSession::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }
}

/// The micro-BFD sessions of one bond. See the [module docs](self).
///
/// # Driver contract
///
/// * **Inputs**: [`MicroBfd::add_member`], [`MicroBfd::remove_member`],
///   [`MicroBfd::handle_frame`] (every frame received on a member; it takes UDP datagrams to
///   the BFD port and leaves the rest), [`MicroBfd::handle_timeout`], and the commands
///   [`MicroBfd::set_config`], [`MicroBfd::set_admin_down`], [`MicroBfd::set_member_mac`].
///   Each takes `now`, which must not go backwards.
/// * **Outputs**: after every input, drain [`MicroBfd::poll_transmit`] (frames to send, each
///   on its member only) and [`MicroBfd::poll_event`], then call [`MicroBfd::handle_timeout`]
///   at [`MicroBfd::poll_timeout`]. Calling it late is harmless (transmissions resume from
///   then), early does nothing.
/// * **Queries**: [`MicroBfd::allows_distribution`] (the member gate),
///   [`MicroBfd::member_status`].
#[derive(Debug, Clone)]
pub struct MicroBfd {
    config: MicroConfig,
    members: Vec<(MemberId, MemberSession)>,
    rng: Rng,
    now: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    dropped_transmits: u64,
    dropped_events: u64,
}

impl MicroBfd {
    /// A bond's micro-BFD with no members. Discriminators, source ports and jitter come from
    /// `seed`: a daemon seeds each bond differently (from the system's random source), so that
    /// discriminators differ across bonds as RFC 5880 wants; the lab seeds from its run.
    pub fn new(config: MicroConfig, seed: u64) -> Result<MicroBfd, MicroError> {
        config.validate()?;
        Ok(MicroBfd {
            config,
            members: Vec::new(),
            rng: Rng::new(seed),
            now: Instant::ZERO,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped_transmits: 0,
            dropped_events: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &MicroConfig {
        &self.config
    }

    fn clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn index(&self, id: MemberId) -> Result<usize, MicroError> {
        self.members.iter().position(|(m, _)| *m == id).ok_or(MicroError::UnknownMember(id))
    }

    /// A nonzero discriminator no member has.
    fn fresh_discriminator(&mut self) -> u32 {
        loop {
            let d = self.rng.next_u64() as u32;
            if d != 0 && !self.members.iter().any(|(_, m)| m.session.local_discr() == d) {
                return d;
            }
        }
    }

    /// A source port in 49152..=65535 no member has (there are 16384, members at most 256).
    fn fresh_port(&mut self) -> u16 {
        loop {
            let p = bfd::SOURCE_PORT_MIN + (self.rng.below(16384) as u16);
            if !self.members.iter().any(|(_, m)| m.src_port == p) {
                return p;
            }
        }
    }

    /// Starts a session on a new member whose MAC is `mac`.
    pub fn add_member(
        &mut self,
        now: Instant,
        id: MemberId,
        mac: MacAddr,
    ) -> Result<(), MicroError> {
        let now = self.clock(now);
        self.room_for(id)?;
        let discr = self.fresh_discriminator();
        let port = self.fresh_port();
        let seed = self.rng.next_u64();
        let member = MemberSession::new(now, self.config, mac, discr, port, seed)?;
        self.push(id, member);
        Ok(())
    }

    /// Member `id` may join: it is not one yet, and there is room.
    fn room_for(&self, id: MemberId) -> Result<(), MicroError> {
        if self.index(id).is_ok() {
            return Err(MicroError::DuplicateMember(id));
        }
        if self.members.len() >= MAX_MEMBERS {
            return Err(MicroError::TooManyMembers);
        }
        Ok(())
    }

    /// Adds a member and moves out what its start queued.
    fn push(&mut self, id: MemberId, member: MemberSession) {
        self.members.push((id, member));
        self.collect(self.members.len() - 1);
    }

    /// Starts a member's session where an earlier run of the driver left it (see
    /// [`MemberSession::resume`]): its first packet says Up, with the same discriminators.
    pub fn resume_member(
        &mut self,
        now: Instant,
        id: MemberId,
        mac: MacAddr,
        resume: &MemberResume,
    ) -> Result<(), MicroError> {
        let now = self.clock(now);
        self.room_for(id)?;
        if self.members.iter().any(|(_, m)| {
            m.session.local_discr() == resume.session.local_discr
                || m.src_port == resume.src_port.max(bfd::SOURCE_PORT_MIN)
        }) {
            return Err(MicroError::ResumeConflict);
        }
        let seed = self.rng.next_u64();
        let member = MemberSession::resume(now, self.config, mac, resume, seed)?;
        self.push(id, member);
        Ok(())
    }

    /// What member `id`'s session needs to resume after a restart of the driver; `None`
    /// unless it is Up.
    pub fn member_resume(&self, id: MemberId) -> Option<MemberResume> {
        self.members.iter().find(|(m, _)| *m == id)?.1.resume_info()
    }

    /// Before a planned restart of the driver, every member's session asks its partner to wait
    /// `wait` for the next run: a Desired Min TX Interval of `wait` divided by our Detect Mult
    /// (see [`Session::hold_for_restart`]).
    pub fn hold_for_restart(&mut self, now: Instant, wait: Duration) {
        let now = self.clock(now);
        let mult = u64::from(self.config.session.detect_mult.max(1));
        let wait_us = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let hold = Duration::from_micros(wait_us.div_ceil(mult));
        for i in 0..self.members.len() {
            self.members[i].1.session.hold_for_restart(now, hold);
            self.collect(i);
        }
    }

    /// Every partner has acknowledged the hold (or has nothing to hold: not Up).
    pub fn restart_held(&self) -> bool {
        self.members.iter().all(|(_, m)| m.session.restart_held())
    }

    /// Ends a member's session, telling the partner with one AdminDown packet (RFC 5880
    /// 6.8.16) when the rate limit lets it go at once.
    pub fn remove_member(&mut self, now: Instant, id: MemberId) -> Result<(), MicroError> {
        let now = self.clock(now);
        let i = self.index(id)?;
        self.members[i].1.set_admin_down(now, true);
        self.collect(i);
        self.members.remove(i);
        Ok(())
    }

    /// A member's MAC changed.
    pub fn set_member_mac(&mut self, id: MemberId, mac: MacAddr) -> Result<(), MicroError> {
        let i = self.index(id)?;
        self.members[i].1.set_mac(mac);
        Ok(())
    }

    /// New settings for every member (see [`MemberSession::set_config`]).
    pub fn set_config(&mut self, now: Instant, config: MicroConfig) -> Result<(), MicroError> {
        config.validate()?;
        let now = self.clock(now);
        self.config = config;
        for i in 0..self.members.len() {
            self.members[i].1.set_config(now, config)?;
            self.collect(i);
        }
        Ok(())
    }

    /// Holds every member's session administratively down, or releases them.
    pub fn set_admin_down(&mut self, now: Instant, down: bool) {
        let now = self.clock(now);
        for i in 0..self.members.len() {
            self.members[i].1.set_admin_down(now, down);
            self.collect(i);
        }
    }

    /// A frame arrived on member `id` (see [`MemberSession::handle_frame`]). Frames for an
    /// unknown member are not ours.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        id: MemberId,
        frame: &[u8],
        checksum: UdpChecksum,
    ) -> FrameVerdict {
        let now = self.clock(now);
        let Ok(i) = self.index(id) else { return FrameVerdict::NotBfd };
        let verdict = self.members[i].1.handle_frame(now, frame, checksum);
        self.collect(i);
        verdict
    }

    /// Time has passed: runs every member whose deadline has come. A member that sent a
    /// periodic packet then joins the next periodic packet of another member if its own bounds
    /// allow ([`Session::align_next_tx`]): the members of a bond soon send together, so a
    /// driver wakes once per interval for all of them rather than once per member.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        for i in 0..self.members.len() {
            if self.members[i].1.poll_timeout().is_some_and(|t| t <= now) {
                let sent = self.members[i].1.session.stats.tx;
                self.members[i].1.handle_timeout(now);
                if self.members[i].1.session.stats.tx != sent {
                    self.align(i);
                }
                self.collect(i);
            }
        }
    }

    /// Member `i`'s next periodic packet joins the earliest other member's that its bounds
    /// allow, if any.
    fn align(&mut self, i: usize) {
        let mut others: Vec<Instant> = (0..self.members.len())
            .filter(|&j| j != i)
            .filter_map(|j| self.members[j].1.session.next_periodic_tx())
            .collect();
        others.sort();
        for at in others {
            if self.members[i].1.session.align_next_tx(at) {
                return;
            }
        }
    }

    /// Moves member `i`'s frames and events to the bond's queues.
    fn collect(&mut self, i: usize) {
        let Some((id, member)) = self.members.get_mut(i) else { return };
        let id = *id;
        while let Some(frame) = member.poll_transmit() {
            if self.transmits.len() >= TX_QUEUE_LIMIT {
                self.dropped_transmits += 1;
            } else {
                self.transmits.push_back(Transmit { member: id, frame });
            }
        }
        while let Some(e) = member.poll_event() {
            let event = match e {
                SessionEvent::State { from, to, diag } => {
                    Event::State { member: id, from, to, diag }
                }
                SessionEvent::Timers { tx_interval, detection_time } => {
                    Event::Timers { member: id, tx_interval, detection_time }
                }
            };
            if self.events.len() >= EVENT_QUEUE_LIMIT {
                self.events.pop_front();
                self.dropped_events += 1;
            }
            self.events.push_back(event);
        }
    }

    /// The member gate: `id`'s session is Up. False for a member not known here.
    pub fn allows_distribution(&self, id: MemberId) -> bool {
        self.index(id).is_ok_and(|i| self.members[i].1.allows_distribution())
    }

    /// A member's state, timers and counters.
    pub fn member_status(&self, id: MemberId) -> Option<MemberStatus> {
        self.index(id).ok().map(|i| self.members[i].1.status())
    }

    /// The members, in the order they were added.
    pub fn members(&self) -> impl Iterator<Item = MemberId> + '_ {
        self.members.iter().map(|(id, _)| *id)
    }

    /// Frames and events dropped because the driver did not drain the queues.
    pub fn queue_drops(&self) -> (u64, u64) {
        (self.dropped_transmits, self.dropped_events)
    }

    /// Whether frames or events wait in the queues (for a driver that drains only then).
    pub fn has_output(&self) -> bool {
        !self.transmits.is_empty() || !self.events.is_empty()
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`MicroBfd::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.members.iter().filter_map(|(_, m)| m.poll_timeout()).min()
    }
}
