//! The bonds' metrics in the Prometheus text format ([`render`]), from a snapshot of each
//! bond ([`BondSample`]: the core's status model plus what only the daemon knows). Pure: no
//! clock, no system call; `ubond daemon` serves it over HTTP and writes it for
//! node_exporter's textfile collector (`daemon::metrics`).
//!
//! # Families
//!
//! node_exporter's bonding collector, exactly (names, labels, help, meaning), so that
//! dashboards and the `NodeBondingDegraded` alert
//! (`node_bonding_slaves - node_bonding_active != 0`) see ubond's bonds as they see the
//! kernel's:
//!
//! * `node_bonding_slaves{master}`: the slaves enslaved;
//! * `node_bonding_active{master}`: those whose MII status is `up` (the collector reads each
//!   slave's sysfs `mii_status`; `going down` and `going back` are not `up`).
//!
//! ubond's own, with the kernel's spellings in label values (`802.3ad`, `layer3+4`,
//! `going down`, `churned`). `master` is the bond, `slave` the slave:
//!
//! | family | type | labels | what |
//! |---|---|---|---|
//! | `ubond_build_info` | gauge | `version` | always 1 |
//! | `ubond_bond_info` | gauge | `mode`, `xmit_hash_policy` | always 1 |
//! | `ubond_bond_mii_status` | gauge | `status` (`up`, `down`) | 1 for the bond's MII status |
//! | `ubond_bond_active_slave_info` | gauge | `slave` | 1 for the active slave, if any |
//! | `ubond_bond_failovers_total` | counter | | active slave changes away from a slave |
//! | `ubond_bond_datapath` | gauge | `datapath` (`bpf`, `userspace`) | 1 for the path in use |
//! | `ubond_slave_mii_status` | gauge | `status` (`up`, `going down`, `down`, `going back`) | 1 for the current one |
//! | `ubond_slave_link_failures_total` | counter | | the report's `Link Failure Count` |
//! | `ubond_lacp_active_aggregator_info` | gauge | `aggregator_id`, `actor_key`, `partner_key`, `partner_system` | 1 |
//! | `ubond_lacp_active_aggregator_ports` | gauge | | its `Number of ports` |
//! | `ubond_lacp_aggregator_id` | gauge | | the slave's `Aggregator ID` |
//! | `ubond_lacp_port_state` | gauge | `side` (`actor`, `partner`), `flag` | 1 if the state bit is set |
//! | `ubond_lacp_actor_info`, `ubond_lacp_partner_info` | gauge | `system`, `system_priority`, `key`, `port`, `port_priority` | 1 |
//! | `ubond_lacp_churn_state` | gauge | `side`, `state` (`monitoring`, `churned`, `none`) | 1 for the current one |
//! | `ubond_lacp_churns_total` | counter | `side` | `Actor/Partner Churned Count` |
//! | `ubond_lacp_lacpdus_received_total`, `..._sent_total` | counter | | LACPDUs |
//! | `ubond_lacp_markers_received_total`, `..._sent_total` | counter | `type` (`information`, `response`) | Marker PDUs |
//! | `ubond_lacp_unknown_received_total`, `ubond_lacp_illegal_received_total`, `ubond_lacp_marker_unknown_received_total` | counter | | bad Slow Protocols frames, as Linux counts them |
//! | `ubond_lacp_loopback_received_total`, `ubond_lacp_marker_responses_suppressed_total` | counter | | ubond's |
//! | `ubond_lacp_partner_expired_total`, `ubond_lacp_partner_defaulted_total` | counter | | Receive machine CURRENT→EXPIRED, →DEFAULTED |
//! | `ubond_fastpath_transmit_frames_total`, `..._bytes_total` | counter | `verdict` | the tap's program |
//! | `ubond_fastpath_receive_frames_total`, `..._bytes_total` | counter | `slave`, `verdict` | each slave's program |
//!
//! State families are written as one series per possible value, 1 for the current one (so
//! `ubond_slave_mii_status{status="up"} == 0` finds the slaves that are not up, and a series
//! never vanishes when the state changes). Counters start at 0 when the daemon starts running
//! the bond or the slave joins it. A bond's 802.3ad families appear in 802.3ad mode only; the
//! fast path's once its programs have counted a frame of the bond.
//!
//! # BFD
//!
//! A slave's micro-BFD (RFC 7130) session, on bonds with `bfd=on` (the report's `BFD` lines):
//! `ubond_bfd_session_state` (one series per RFC 5880 state, as the other state families),
//! `ubond_bfd_session_down_total` and `ubond_bfd_dropped_packets_total`.
//!

pub mod text;

use ubond_core::lacp::{ChurnState, PortCounters};
use ubond_core::monitor::mii::LinkStatus;
use ubond_core::report::{BondStatus, SlaveStatus};
use ubond_sys::bpf::{Count, FrameCounters};
use ubond_wire::bfd::State as BfdState;
use ubond_wire::slow::{PortInfo, PortState};

use text::{Exposition, Kind, Rendered};

/// One bond at the time of a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondSample {
    /// The bond's status, as its `/proc/net/bonding` report shows it (its `slaves` are in
    /// [`BondSample::slaves`]).
    pub status: BondStatus,
    /// The slaves, in enslave order.
    pub slaves: Vec<SlaveSample>,
    /// Changes of the active slave away from a slave (to another, or to none) since the
    /// daemon began running the bond.
    pub failovers: u64,
    /// The path the bond's data frames take.
    pub datapath: Datapath,
    /// The fast path's transmit program on the bond's device, once it has counted.
    pub fast_tx: Option<FrameCounters>,
}

/// One slave at the time of a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveSample {
    /// The slave's part of the report.
    pub status: SlaveStatus,
    /// Its LACP counters (802.3ad).
    pub lacp: Option<PortCounters>,
    /// The fast path's receive program on the slave, once it has counted.
    pub fast_rx: Option<FrameCounters>,
}

/// The path a bond's data frames take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datapath {
    /// The in-kernel fast path (tc programs on the bond's device and the slaves).
    Bpf,
    /// Through the daemon.
    Userspace,
}

impl Datapath {
    const ALL: [Datapath; 2] = [Datapath::Bpf, Datapath::Userspace];

    fn name(self) -> &'static str {
        match self {
            Datapath::Bpf => "bpf",
            Datapath::Userspace => "userspace",
        }
    }
}

const LINK_STATES: [LinkStatus; 4] =
    [LinkStatus::Up, LinkStatus::Fail, LinkStatus::Down, LinkStatus::Back];
const CHURN_STATES: [ChurnState; 3] = [ChurnState::Monitor, ChurnState::Churn, ChurnState::NoChurn];
/// The port state bits, named after 802.1AX's variables.
const PORT_FLAGS: [(u8, &str); 8] = [
    (PortState::ACTIVITY, "lacp_activity"),
    (PortState::TIMEOUT, "lacp_timeout"),
    (PortState::AGGREGATION, "aggregation"),
    (PortState::SYNCHRONIZATION, "synchronization"),
    (PortState::COLLECTING, "collecting"),
    (PortState::DISTRIBUTING, "distributing"),
    (PortState::DEFAULTED, "defaulted"),
    (PortState::EXPIRED, "expired"),
];

/// The exposition of `bonds`, by a daemon of version `version`.
pub fn render(bonds: &[BondSample], version: &str) -> Rendered {
    let mut e = Exposition::new();
    node_exporter(&mut e, bonds);
    bond_families(&mut e, bonds, version);
    slave_families(&mut e, bonds);
    lacp_families(&mut e, bonds);
    lacp_counters(&mut e, bonds);
    fast_path(&mut e, bonds);
    bfd(&mut e, bonds);
    e.finish()
}

/// The RFC 5880 states, as the report names them.
const BFD_STATES: [BfdState; 4] =
    [BfdState::AdminDown, BfdState::Down, BfdState::Init, BfdState::Up];

/// Micro-BFD: the sessions of the slaves of bonds with `bfd=on`.
fn bfd(e: &mut Exposition, bonds: &[BondSample]) {
    let sessions = || {
        all_slaves(bonds)
            .filter_map(|(bond, s)| Some((bond, s.status.name.as_str(), s.status.bfd.as_ref()?)))
    };
    let mut f = e.family(
        "ubond_bfd_session_state",
        Kind::Gauge,
        "A slave's micro-BFD session state (admin down, down, init, up): 1 for the current state.",
    );
    for (bond, slave, b) in sessions() {
        for state in BFD_STATES {
            let name = state.to_string();
            f.flag(&[("master", bond), ("slave", slave), ("state", &name)], b.state == state);
        }
    }
    let mut f = e.family(
        "ubond_bfd_session_down_total",
        Kind::Counter,
        "A slave's micro-BFD session leaving Up (the report's BFD Down Count).",
    );
    for (bond, slave, b) in sessions() {
        f.sample(&[("master", bond), ("slave", slave)], b.down_count);
    }
    let mut f = e.family(
        "ubond_bfd_dropped_packets_total",
        Kind::Counter,
        "BFD packets a slave refused (malformed, TTL below 255, spoofed, unknown discriminator).",
    );
    for (bond, slave, b) in sessions() {
        f.sample(&[("master", bond), ("slave", slave)], b.dropped);
    }
}

/// The slaves of every bond, with their bond's name.
fn all_slaves(bonds: &[BondSample]) -> impl Iterator<Item = (&str, &SlaveSample)> {
    bonds.iter().flat_map(|b| b.slaves.iter().map(move |s| (b.status.name.as_str(), s)))
}

fn node_exporter(e: &mut Exposition, bonds: &[BondSample]) {
    // node_exporter's help text, word for word: a textfile next to its bonding collector must
    // not describe the same family differently.
    let mut f = e.family(
        "node_bonding_slaves",
        Kind::Gauge,
        "Number of configured slaves per bonding interface.",
    );
    for b in bonds {
        f.sample(&[("master", &b.status.name)], b.slaves.len() as u64);
    }
    let mut f = e.family(
        "node_bonding_active",
        Kind::Gauge,
        "Number of active slaves per bonding interface.",
    );
    for b in bonds {
        let up = b.slaves.iter().filter(|s| s.status.mii_status == LinkStatus::Up).count();
        f.sample(&[("master", &b.status.name)], up as u64);
    }
}

fn bond_families(e: &mut Exposition, bonds: &[BondSample], version: &str) {
    e.family("ubond_build_info", Kind::Gauge, "The version of the ubond daemon; always 1.")
        .sample(&[("version", version)], 1);
    let mut f = e.family(
        "ubond_bond_info",
        Kind::Gauge,
        "A bond's mode and xmit_hash_policy, as the kernel spells them; always 1.",
    );
    for b in bonds {
        let st = &b.status;
        f.sample(
            &[
                ("master", &st.name),
                ("mode", st.mode.name()),
                ("xmit_hash_policy", st.xmit_hash_policy.name()),
            ],
            1,
        );
    }
    let mut f = e.family(
        "ubond_bond_mii_status",
        Kind::Gauge,
        "A bond's MII status (its carrier; in 802.3ad up only with an active aggregator of at \
         least min_links ports): 1 for the current status.",
    );
    for b in bonds {
        for (status, on) in [("up", b.status.carrier), ("down", !b.status.carrier)] {
            f.flag(&[("master", &b.status.name), ("status", status)], on);
        }
    }
    let mut f = e.family(
        "ubond_bond_active_slave_info",
        Kind::Gauge,
        "A bond's currently active slave (active-backup, balance-tlb, balance-alb, 802.3ad in \
         LACP fallback); no series while it has none.",
    );
    for b in bonds {
        if let Some(active) = &b.status.active_slave {
            f.sample(&[("master", &b.status.name), ("slave", active)], 1);
        }
    }
    let mut f = e.family(
        "ubond_bond_failovers_total",
        Kind::Counter,
        "Changes of a bond's active slave away from a slave (to another one, or to none).",
    );
    for b in bonds {
        f.sample(&[("master", &b.status.name)], b.failovers);
    }
    let mut f = e.family(
        "ubond_bond_datapath",
        Kind::Gauge,
        "The path a bond's data frames take: bpf (in the kernel) or userspace (through the \
         daemon); 1 for the one in use.",
    );
    for b in bonds {
        for d in Datapath::ALL {
            f.flag(&[("master", &b.status.name), ("datapath", d.name())], d == b.datapath);
        }
    }
}

fn slave_families(e: &mut Exposition, bonds: &[BondSample]) {
    let mut f = e.family(
        "ubond_slave_mii_status",
        Kind::Gauge,
        "A slave's MII status as the kernel names it (up, going down, down, going back): 1 for \
         the current status.",
    );
    for (bond, s) in all_slaves(bonds) {
        for status in LINK_STATES {
            let name = status.to_string();
            let labels = [("master", bond), ("slave", s.status.name.as_str()), ("status", &name)];
            f.flag(&labels, s.status.mii_status == status);
        }
    }
    let mut f = e.family(
        "ubond_slave_link_failures_total",
        Kind::Counter,
        "A slave's link failures (the report's Link Failure Count).",
    );
    for (bond, s) in all_slaves(bonds) {
        let labels = [("master", bond), ("slave", s.status.name.as_str())];
        f.sample(&labels, u64::from(s.status.link_failure_count));
    }
}

fn lacp_families(e: &mut Exposition, bonds: &[BondSample]) {
    let mut f = e.family(
        "ubond_lacp_active_aggregator_info",
        Kind::Gauge,
        "An 802.3ad bond's active aggregator: its ID, actor and partner keys and partner \
         system; always 1, no series while there is none.",
    );
    for b in bonds {
        let Some(agg) = b.status.ad.as_ref().and_then(|ad| ad.active_aggregator) else {
            continue;
        };
        f.sample(
            &[
                ("master", &b.status.name),
                ("aggregator_id", &agg.id.to_string()),
                ("actor_key", &agg.actor_key.to_string()),
                ("partner_key", &agg.partner_key.to_string()),
                ("partner_system", &agg.partner_mac.to_string()),
            ],
            1,
        );
    }
    let mut f = e.family(
        "ubond_lacp_active_aggregator_ports",
        Kind::Gauge,
        "The ports of an 802.3ad bond's active aggregator (the report's Number of ports).",
    );
    for b in bonds {
        if let Some(agg) = b.status.ad.as_ref().and_then(|ad| ad.active_aggregator) {
            f.sample(&[("master", &b.status.name)], u64::from(agg.ports));
        }
    }
    // The slave's 802.3ad part exists when its port has an aggregator.
    let ad_slaves = || all_slaves(bonds).filter_map(|(b, s)| Some((b, s, s.status.ad.as_ref()?)));
    let mut f = e.family(
        "ubond_lacp_aggregator_id",
        Kind::Gauge,
        "The aggregator an 802.3ad slave's port is in (ports in another aggregator than the \
         active one carry no traffic).",
    );
    for (bond, s, ad) in ad_slaves() {
        f.sample(&[("master", bond), ("slave", &s.status.name)], u64::from(ad.aggregator_id));
    }
    let mut f = e.family(
        "ubond_lacp_port_state",
        Kind::Gauge,
        "An 802.3ad port's state bits, ours (actor) and as the partner last told (partner): 1 \
         if the flag is set.",
    );
    for (bond, s, ad) in ad_slaves() {
        for (side, info) in [("actor", &ad.actor), ("partner", &ad.partner)] {
            for (bit, flag) in PORT_FLAGS {
                let labels =
                    [("master", bond), ("slave", &s.status.name), ("side", side), ("flag", flag)];
                f.flag(&labels, info.state.has(bit));
            }
        }
    }
    for (name, help, side) in [
        (
            "ubond_lacp_actor_info",
            "An 802.3ad port's own LACP identity: system, system priority, operational key, \
             port and port priority; always 1.",
            true,
        ),
        (
            "ubond_lacp_partner_info",
            "An 802.3ad port's partner as it last told (system 00:00:00:00:00:00: none heard): \
             system, system priority, operational key, port and port priority; always 1.",
            false,
        ),
    ] {
        let mut f = e.family(name, Kind::Gauge, help);
        for (bond, s, ad) in ad_slaves() {
            port_info(&mut f, bond, &s.status.name, if side { &ad.actor } else { &ad.partner });
        }
    }
    let mut f = e.family(
        "ubond_lacp_churn_state",
        Kind::Gauge,
        "An 802.3ad port's churn detection state, ours (actor) and the partner's (monitoring, \
         churned, none): 1 for the current state.",
    );
    for (bond, s, ad) in ad_slaves() {
        for (side, now) in [("actor", ad.actor_churn_state), ("partner", ad.partner_churn_state)] {
            for state in CHURN_STATES {
                let name = state.to_string();
                let labels =
                    [("master", bond), ("slave", &s.status.name), ("side", side), ("state", &name)];
                f.flag(&labels, now == state);
            }
        }
    }
    let mut f = e.family(
        "ubond_lacp_churns_total",
        Kind::Counter,
        "Times an 802.3ad port's churn detection found it out of sync, ours (actor) and the \
         partner's (the report's Churned Count).",
    );
    for (bond, s, ad) in ad_slaves() {
        for (side, n) in [("actor", ad.actor_churned_count), ("partner", ad.partner_churned_count)]
        {
            f.sample(&[("master", bond), ("slave", &s.status.name), ("side", side)], u64::from(n));
        }
    }
}

fn port_info(f: &mut text::Family<'_>, bond: &str, slave: &str, p: &PortInfo) {
    f.sample(
        &[
            ("master", bond),
            ("slave", slave),
            ("system", &p.system.to_string()),
            ("system_priority", &p.system_priority.to_string()),
            ("key", &p.key.to_string()),
            ("port", &p.port.to_string()),
            ("port_priority", &p.port_priority.to_string()),
        ],
        1,
    );
}

fn lacp_counters(e: &mut Exposition, bonds: &[BondSample]) {
    let lacp_slaves = || all_slaves(bonds).filter_map(|(b, s)| Some((b, &s.status.name, s.lacp?)));
    type Field = fn(&PortCounters) -> u64;
    let simple: [(&'static str, &'static str, Field); 9] = [
        ("ubond_lacp_lacpdus_received_total", "LACPDUs received on an 802.3ad port.", |c| {
            c.lacpdu_rx
        }),
        ("ubond_lacp_lacpdus_sent_total", "LACPDUs sent on an 802.3ad port.", |c| c.lacpdu_tx),
        (
            "ubond_lacp_unknown_received_total",
            "Slow Protocols frames of an unknown subtype received on an 802.3ad port (Linux's \
             LACPDU Unknown type Rx).",
            |c| c.lacpdu_unknown_rx,
        ),
        (
            "ubond_lacp_illegal_received_total",
            "Slow Protocols frames received on an 802.3ad port that were too short for their \
             subtype (Linux's LACPDU Illegal Rx).",
            |c| c.lacpdu_illegal_rx,
        ),
        (
            "ubond_lacp_marker_unknown_received_total",
            "Marker PDUs of an unknown TLV type received on an 802.3ad port (Linux's Marker \
             unknown type Rx).",
            |c| c.marker_unknown_rx,
        ),
        (
            "ubond_lacp_loopback_received_total",
            "LACPDUs carrying this bond's own system ID received on an 802.3ad port (the link \
             is looped back) and dropped.",
            |c| c.loopback_rx,
        ),
        (
            "ubond_lacp_marker_responses_suppressed_total",
            "Marker Information PDUs an 802.3ad port left unanswered (over the rate limit).",
            |c| c.marker_resp_suppressed,
        ),
        (
            "ubond_lacp_partner_expired_total",
            "Times an 802.3ad port's partner information expired: no LACPDU within the timeout \
             (Receive machine CURRENT to EXPIRED).",
            |c| c.rx_expired,
        ),
        (
            "ubond_lacp_partner_defaulted_total",
            "Times an 802.3ad port fell back to the partner defaults: no LACPDU within a further \
             timeout (Receive machine DEFAULTED).",
            |c| c.rx_defaulted,
        ),
    ];
    let per_port = |e: &mut Exposition,
                    (name, help, field): (&'static str, &'static str, Field)| {
        let mut f = e.family(name, Kind::Counter, help);
        for (bond, slave, c) in lacp_slaves() {
            f.sample(&[("master", bond), ("slave", slave)], field(&c));
        }
    };
    let [lacpdus_rx, lacpdus_tx, rest @ ..] = simple;
    per_port(e, lacpdus_rx);
    per_port(e, lacpdus_tx);
    let markers: [(&'static str, &'static str, [Field; 2]); 2] = [
        (
            "ubond_lacp_markers_received_total",
            "Marker PDUs received on an 802.3ad port, by type (information, response).",
            [|c| c.marker_rx, |c| c.marker_resp_rx],
        ),
        (
            "ubond_lacp_markers_sent_total",
            "Marker PDUs sent on an 802.3ad port, by type (information, response; like Linux, \
             ubond sends responses only).",
            [|c| c.marker_tx, |c| c.marker_resp_tx],
        ),
    ];
    for (name, help, [information, response]) in markers {
        let mut f = e.family(name, Kind::Counter, help);
        for (bond, slave, c) in lacp_slaves() {
            for (kind, field) in [("information", information), ("response", response)] {
                f.sample(&[("master", bond), ("slave", slave), ("type", kind)], field(&c));
            }
        }
    }
    for family in rest {
        per_port(e, family);
    }
}

/// The verdicts of the fast path's counters.
fn verdicts(c: &FrameCounters) -> [(&'static str, Count); 4] {
    [
        ("forwarded", c.forwarded),
        ("passed", c.passed),
        ("dropped", c.dropped),
        ("duplicate", c.duplicate),
    ]
}

fn fast_path(e: &mut Exposition, bonds: &[BondSample]) {
    for (name, help, bytes) in [
        (
            "ubond_fastpath_transmit_frames_total",
            "Frames the in-kernel fast path handled on a bond's device, by verdict (forwarded: \
             sent on a slave in the kernel; passed: left to the daemon; dropped: no slave to \
             send on).",
            false,
        ),
        (
            "ubond_fastpath_transmit_bytes_total",
            "Bytes of the frames the in-kernel fast path handled on a bond's device, by verdict.",
            true,
        ),
    ] {
        let mut f = e.family(name, Kind::Counter, help);
        for b in bonds {
            let Some(c) = &b.fast_tx else { continue };
            // A bond's device has no duplicates.
            for (verdict, n) in verdicts(c).into_iter().take(3) {
                let v = if bytes { n.bytes } else { n.frames };
                f.sample(&[("master", &b.status.name), ("verdict", verdict)], v);
            }
        }
    }
    for (name, help, bytes) in [
        (
            "ubond_fastpath_receive_frames_total",
            "Frames the in-kernel fast path handled on a slave, by verdict (forwarded: delivered \
             up the bond in the kernel; passed: Slow Protocols frames, which the daemon reads; \
             dropped: not delivered, as an inactive slave's; duplicate: broadcast's copy of a \
             TCP segment another slave delivered, discarded by tcp_dup_discard).",
            false,
        ),
        (
            "ubond_fastpath_receive_bytes_total",
            "Bytes of the frames the in-kernel fast path handled on a slave, by verdict.",
            true,
        ),
    ] {
        let mut f = e.family(name, Kind::Counter, help);
        for (bond, s) in all_slaves(bonds) {
            let Some(c) = &s.fast_rx else { continue };
            for (verdict, n) in verdicts(c) {
                let v = if bytes { n.bytes } else { n.frames };
                let labels =
                    [("master", bond), ("slave", s.status.name.as_str()), ("verdict", verdict)];
                f.sample(&labels, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use ubond_core::options::{Mode, XmitHashPolicy};
    use ubond_core::report::{ActiveAggregator, AdStatus, Duplex, SlaveAdStatus};
    use ubond_wire::MacAddr;

    const PARTNER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xbb]);
    const OURS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);

    fn bond(name: &str, mode: Mode) -> BondStatus {
        BondStatus {
            name: name.to_string(),
            driver_version: "0.1.0".to_string(),
            mode,
            fail_over_mac: Default::default(),
            xmit_hash_policy: XmitHashPolicy::Layer34,
            tlb_dynamic_lb: true,
            primary: None,
            primary_reselect: Default::default(),
            active_slave: None,
            carrier: true,
            miimon_ms: 100,
            updelay_ms: 0,
            downdelay_ms: 0,
            peer_notif_delay_ms: 0,
            arp_interval_ms: 0,
            arp_missed_max: 2,
            arp_validate: Default::default(),
            arp_targets: Vec::new(),
            ns_targets: Vec::new(),
            ad: None,
            slaves: Vec::new(),
        }
    }

    fn slave(name: &str, mii: LinkStatus, failures: u32) -> SlaveSample {
        SlaveSample {
            status: SlaveStatus {
                name: name.to_string(),
                mii_status: mii,
                speed_mbps: Some(10000),
                duplex: Some(Duplex::Full),
                link_failure_count: failures,
                perm_hwaddr: MacAddr([0x02, 0, 0, 0, 1, 1]),
                queue_id: 0,
                prio: 0,
                ad: None,
                bfd: None,
            },
            lacp: None,
            fast_rx: None,
        }
    }

    fn port(system: MacAddr, key: u16, port: u16, state: u8) -> PortInfo {
        PortInfo {
            system_priority: 65535,
            system,
            key,
            port_priority: 255,
            port,
            state: PortState(state),
        }
    }

    fn ad(aggregator_id: u16, actor: u8, partner: u8) -> SlaveAdStatus {
        SlaveAdStatus {
            aggregator_id,
            actor_churn_state: ChurnState::NoChurn,
            partner_churn_state: ChurnState::Churn,
            actor_churned_count: 1,
            partner_churned_count: 3,
            actor: port(OURS, 15, 1, actor),
            partner: port(PARTNER, 9, 7, partner),
        }
    }

    fn count(frames: u64) -> Count {
        Count { frames, bytes: frames * 100 }
    }

    /// bond0: 802.3ad, e1 up and distributing in aggregator 1, e2 going down in aggregator 2;
    /// bond1: active-backup on the userspace path, e3 active, e4 down, two failovers.
    fn samples() -> Vec<BondSample> {
        let mut lacp = bond("bond0", Mode::Ieee8023ad);
        lacp.ad = Some(AdStatus {
            active_aggregator: Some(ActiveAggregator {
                id: 1,
                ports: 1,
                actor_key: 15,
                partner_key: 9,
                partner_mac: PARTNER,
            }),
            ..AdStatus::default()
        });
        let mut e1 = slave("e1", LinkStatus::Up, 0);
        e1.status.ad = Some(ad(1, 61, 63));
        e1.lacp = Some(PortCounters {
            lacpdu_rx: 40,
            lacpdu_tx: 41,
            lacpdu_unknown_rx: 2,
            lacpdu_illegal_rx: 3,
            marker_rx: 4,
            marker_resp_tx: 4,
            marker_resp_rx: 1,
            rx_expired: 5,
            rx_defaulted: 6,
            ..PortCounters::default()
        });
        e1.fast_rx = Some(FrameCounters {
            forwarded: count(10),
            passed: count(40),
            dropped: count(0),
            duplicate: count(3),
        });
        let mut e2 = slave("e2", LinkStatus::Fail, 1);
        e2.status.ad = Some(ad(2, 0x45, 0x41));
        e2.lacp = Some(PortCounters::default());
        let mut ab = bond("bond1", Mode::ActiveBackup);
        ab.active_slave = Some("e3".to_string());
        vec![
            BondSample {
                status: lacp,
                slaves: vec![e1, e2],
                failovers: 0,
                datapath: Datapath::Bpf,
                fast_tx: Some(FrameCounters {
                    forwarded: count(7),
                    passed: count(1),
                    dropped: count(2),
                    duplicate: count(0),
                }),
            },
            BondSample {
                status: ab,
                slaves: vec![slave("e3", LinkStatus::Up, 0), slave("e4", LinkStatus::Down, 4)],
                failovers: 2,
                datapath: Datapath::Userspace,
                fast_tx: None,
            },
        ]
    }

    /// Every sample line: series (name and labels) to value.
    fn series(text: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("series and value");
            let old = out.insert(series.to_string(), value.parse().expect("whole number"));
            assert!(old.is_none(), "{series} twice");
        }
        out
    }

    fn value(text: &str, series_: &str) -> u64 {
        *series(text).get(series_).unwrap_or_else(|| panic!("no {series_} in\n{text}"))
    }

    #[test]
    fn node_exporter_families_count_slaves_and_those_up() {
        let text = render(&samples(), "0.1.0").text;
        // The help text is node_exporter's, to the letter (see `node_exporter`).
        assert!(text.contains(
            "# HELP node_bonding_slaves Number of configured slaves per bonding interface.\n\
             # TYPE node_bonding_slaves gauge\n\
             node_bonding_slaves{master=\"bond0\"} 2\n\
             node_bonding_slaves{master=\"bond1\"} 2\n"
        ));
        assert!(text.contains(
            "# HELP node_bonding_active Number of active slaves per bonding interface.\n\
             # TYPE node_bonding_active gauge\n\
             node_bonding_active{master=\"bond0\"} 1\n\
             node_bonding_active{master=\"bond1\"} 1\n"
        ));
    }

    #[test]
    fn bond_families() {
        let text = render(&samples(), "1.2.3").text;
        let v = |s: &str| value(&text, s);
        assert_eq!(v("ubond_build_info{version=\"1.2.3\"}"), 1);
        assert_eq!(
            v("ubond_bond_info{master=\"bond0\",mode=\"802.3ad\",xmit_hash_policy=\"layer3+4\"}"),
            1
        );
        assert_eq!(v("ubond_bond_mii_status{master=\"bond0\",status=\"up\"}"), 1);
        assert_eq!(v("ubond_bond_mii_status{master=\"bond0\",status=\"down\"}"), 0);
        assert_eq!(v("ubond_bond_active_slave_info{master=\"bond1\",slave=\"e3\"}"), 1);
        assert!(!text.contains("ubond_bond_active_slave_info{master=\"bond0\""));
        assert_eq!(v("ubond_bond_failovers_total{master=\"bond1\"}"), 2);
        assert_eq!(v("ubond_bond_failovers_total{master=\"bond0\"}"), 0);
        assert_eq!(v("ubond_bond_datapath{master=\"bond0\",datapath=\"bpf\"}"), 1);
        assert_eq!(v("ubond_bond_datapath{master=\"bond0\",datapath=\"userspace\"}"), 0);
        assert_eq!(v("ubond_bond_datapath{master=\"bond1\",datapath=\"userspace\"}"), 1);
    }

    #[test]
    fn slave_families() {
        let text = render(&samples(), "0.1.0").text;
        let v = |s: &str| value(&text, s);
        for (slave, now) in [("e1", "up"), ("e2", "going down"), ("e3", "up"), ("e4", "down")] {
            let bond = if slave < "e3" { "bond0" } else { "bond1" };
            for status in ["up", "going down", "down", "going back"] {
                let s = format!(
                    "ubond_slave_mii_status{{master=\"{bond}\",slave=\"{slave}\",status=\"{status}\"}}"
                );
                assert_eq!(v(&s), u64::from(status == now), "{s}");
            }
        }
        assert_eq!(v("ubond_slave_link_failures_total{master=\"bond1\",slave=\"e4\"}"), 4);
        assert_eq!(v("ubond_slave_link_failures_total{master=\"bond0\",slave=\"e2\"}"), 1);
    }

    #[test]
    fn lacp_families() {
        let text = render(&samples(), "0.1.0").text;
        let v = |s: &str| value(&text, s);
        assert_eq!(
            v("ubond_lacp_active_aggregator_info{master=\"bond0\",aggregator_id=\"1\",\
               actor_key=\"15\",partner_key=\"9\",partner_system=\"02:00:00:00:00:bb\"}"),
            1
        );
        assert_eq!(v("ubond_lacp_active_aggregator_ports{master=\"bond0\"}"), 1);
        assert_eq!(v("ubond_lacp_aggregator_id{master=\"bond0\",slave=\"e1\"}"), 1);
        assert_eq!(v("ubond_lacp_aggregator_id{master=\"bond0\",slave=\"e2\"}"), 2);
        // 61 = activity, aggregation, synchronization, collecting, distributing; not timeout.
        for (flag, on) in [
            ("lacp_activity", 1),
            ("lacp_timeout", 0),
            ("aggregation", 1),
            ("synchronization", 1),
            ("collecting", 1),
            ("distributing", 1),
            ("defaulted", 0),
            ("expired", 0),
        ] {
            let s = format!(
                "ubond_lacp_port_state{{master=\"bond0\",slave=\"e1\",side=\"actor\",flag=\"{flag}\"}}"
            );
            assert_eq!(v(&s), on, "{s}");
        }
        // e2's partner: 0x41 = activity and defaulted.
        let partner = |flag: &str| {
            v(&format!(
                "ubond_lacp_port_state{{master=\"bond0\",slave=\"e2\",side=\"partner\",flag=\"{flag}\"}}"
            ))
        };
        assert_eq!((partner("defaulted"), partner("synchronization")), (1, 0));
        assert_eq!(
            v("ubond_lacp_partner_info{master=\"bond0\",slave=\"e1\",system=\"02:00:00:00:00:bb\",\
               system_priority=\"65535\",key=\"9\",port=\"7\",port_priority=\"255\"}"),
            1
        );
        assert_eq!(
            v("ubond_lacp_actor_info{master=\"bond0\",slave=\"e2\",system=\"02:00:00:00:00:aa\",\
               system_priority=\"65535\",key=\"15\",port=\"1\",port_priority=\"255\"}"),
            1
        );
        for (side, state, on) in [
            ("actor", "none", 1),
            ("actor", "churned", 0),
            ("partner", "churned", 1),
            ("partner", "monitoring", 0),
        ] {
            let s = format!(
                "ubond_lacp_churn_state{{master=\"bond0\",slave=\"e1\",side=\"{side}\",state=\"{state}\"}}"
            );
            assert_eq!(v(&s), on, "{s}");
        }
        assert_eq!(v("ubond_lacp_churns_total{master=\"bond0\",slave=\"e1\",side=\"partner\"}"), 3);
        // Nothing of 802.3ad on the active-backup bond.
        assert!(!text.contains("ubond_lacp_aggregator_id{master=\"bond1\""));
        assert!(!text.contains("ubond_lacp_lacpdus_received_total{master=\"bond1\""));
    }

    #[test]
    fn lacp_counters() {
        let text = render(&samples(), "0.1.0").text;
        let v = |name: &str, extra: &str| {
            value(&text, &format!("{name}{{master=\"bond0\",slave=\"e1\"{extra}}}"))
        };
        assert_eq!(v("ubond_lacp_lacpdus_received_total", ""), 40);
        assert_eq!(v("ubond_lacp_lacpdus_sent_total", ""), 41);
        assert_eq!(v("ubond_lacp_unknown_received_total", ""), 2);
        assert_eq!(v("ubond_lacp_illegal_received_total", ""), 3);
        assert_eq!(v("ubond_lacp_markers_received_total", ",type=\"information\""), 4);
        assert_eq!(v("ubond_lacp_markers_received_total", ",type=\"response\""), 1);
        assert_eq!(v("ubond_lacp_markers_sent_total", ",type=\"response\""), 4);
        assert_eq!(v("ubond_lacp_markers_sent_total", ",type=\"information\""), 0);
        assert_eq!(v("ubond_lacp_partner_expired_total", ""), 5);
        assert_eq!(v("ubond_lacp_partner_defaulted_total", ""), 6);
        assert_eq!(
            value(&text, "ubond_lacp_lacpdus_received_total{master=\"bond0\",slave=\"e2\"}"),
            0
        );
    }

    #[test]
    fn fast_path_families() {
        let text = render(&samples(), "0.1.0").text;
        let v = |s: &str| value(&text, s);
        assert_eq!(
            v("ubond_fastpath_transmit_frames_total{master=\"bond0\",verdict=\"forwarded\"}"),
            7
        );
        assert_eq!(
            v("ubond_fastpath_transmit_bytes_total{master=\"bond0\",verdict=\"dropped\"}"),
            200
        );
        assert_eq!(
            v("ubond_fastpath_receive_frames_total{master=\"bond0\",slave=\"e1\",verdict=\"duplicate\"}"),
            3
        );
        assert!(!text.contains(
            "ubond_fastpath_transmit_frames_total{master=\"bond0\",verdict=\"duplicate\"}"
        ));
        assert_eq!(
            v("ubond_fastpath_receive_frames_total{master=\"bond0\",slave=\"e1\",verdict=\"passed\"}"),
            40
        );
        assert!(!text.contains("ubond_fastpath_transmit_frames_total{master=\"bond1\""));
        assert!(!text.contains("ubond_fastpath_receive_frames_total{master=\"bond0\",slave=\"e2\""));
    }

    #[test]
    fn without_bonds_only_the_build_info() {
        let text = render(&[], "0.1.0").text;
        assert_eq!(
            text,
            "# HELP ubond_build_info The version of the ubond daemon; always 1.\n\
             # TYPE ubond_build_info gauge\n\
             ubond_build_info{version=\"0.1.0\"} 1\n"
        );
    }

    #[test]
    fn each_family_is_whole_and_typed_once() {
        let text = render(&samples(), "0.1.0").text;
        let mut seen = Vec::new();
        let mut current = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(!seen.contains(&name), "{name} typed twice");
                seen.push(name);
                current = name;
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                assert_eq!(name, current, "{line} outside its family");
            }
        }
        // Every family is there in this sample.
        assert_eq!(seen.len(), 33, "{seen:?}");
    }

    #[test]
    fn bfd_sessions_of_bonds_that_run_them() {
        use ubond_core::report::SlaveBfdStatus;
        let mut bonds = samples();
        let text = render(&bonds, "0.1.0").text;
        assert!(!text.contains("ubond_bfd_session_state{"), "no session, no series: {text}");
        bonds[0].slaves[0].status.bfd = Some(SlaveBfdStatus {
            state: BfdState::Up,
            down_count: 2,
            dropped: 7,
            ..SlaveBfdStatus::default()
        });
        let text = render(&bonds, "0.1.0").text;
        let v = |s: &str| value(&text, s);
        let (bond, slave) =
            (bonds[0].status.name.as_str(), bonds[0].slaves[0].status.name.as_str());
        for (state, on) in [("admin down", 0), ("down", 0), ("init", 0), ("up", 1)] {
            let series = format!(
                "ubond_bfd_session_state{{master=\"{bond}\",slave=\"{slave}\",state=\"{state}\"}}"
            );
            assert_eq!(v(&series), on, "{series}");
        }
        let labels = format!("{{master=\"{bond}\",slave=\"{slave}\"}}");
        assert_eq!(v(&format!("ubond_bfd_session_down_total{labels}")), 2);
        assert_eq!(v(&format!("ubond_bfd_dropped_packets_total{labels}")), 7);
        if let Some(checked) = promtool_check(&text) {
            checked.expect("promtool");
        }
    }

    #[test]
    fn a_counter_moving_keeps_the_state_a_state_changing_does_not() {
        let before = render(&samples(), "0.1.0");
        let mut more = samples();
        more[0].slaves[0].lacp.as_mut().expect("lacp").lacpdu_rx += 1;
        let after = render(&more, "0.1.0");
        assert_ne!(before.text, after.text);
        assert_eq!(before.state, after.state);
        more[1].status.active_slave = Some("e4".to_string());
        assert_ne!(render(&more, "0.1.0").state, before.state);
    }

    /// `promtool check metrics` on the text: `None` without promtool (outside CI).
    pub(crate) fn promtool_check(text: &str) -> Option<Result<(), String>> {
        let child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have promtool (apt-get install prometheus)"
            );
            eprintln!("skipped: promtool is not installed (apt-get install prometheus)");
            return None;
        };
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
        let out = child.wait_with_output().expect("promtool");
        if out.status.success() {
            Some(Ok(()))
        } else {
            let mut why = String::from_utf8_lossy(&out.stdout).into_owned();
            why.push_str(&String::from_utf8_lossy(&out.stderr));
            Some(Err(why))
        }
    }

    #[test]
    fn promtool_finds_nothing_to_lint() {
        let text = render(&samples(), "0.1.0").text;
        if let Some(result) = promtool_check(&text) {
            assert_eq!(result, Ok(()), "promtool check metrics on\n{text}");
            // And it does find what it should: a counter without `_total`.
            let bad = "# HELP ubond_x A count.\n# TYPE ubond_x counter\nubond_x 1\n";
            assert!(promtool_check(bad).is_some_and(|r| r.is_err()));
        }
    }
}
