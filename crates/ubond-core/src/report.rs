//! The bond status model and its renderers: `/proc/net/bonding/bondX` byte for byte, and JSON.
//!
//! [`BondStatus`] is everything the kernel's report prints (plus the few options the report
//! leaves out but `ubond status --json` wants), in typed form. [`render_proc`] prints it the way
//! Linux's `drivers/net/bonding/bond_procfs.c` (`bond_info_show_master`,
//! `bond_info_show_slave`) does, every `seq_printf` and every condition, so that scripts and
//! monitoring agents that parse the kernel's file can read ubond's. The JSON form is serde's
//! (`serde_json::to_string(&status)`), with the kernel's spellings for every value.
//!
//! The renderer is checked against files captured from the real 6.1 driver
//! (`tests/golden/`, `tools/capture-proc-goldens.sh`).
//!
//! # What the kernel prints when
//!
//! * `Bonding Mode:` always; ` (fail_over_mac X)` only in active-backup with `fail_over_mac` not
//!   `none`.
//! * `Transmit Hash Policy:` in balance-xor and 802.3ad, and in balance-tlb/balance-alb with
//!   `tlb_dynamic_lb=0` (`bond_mode_uses_xmit_hash`).
//! * `Primary Slave:` / `Currently Active Slave:` in active-backup, balance-tlb and balance-alb;
//!   ` (primary_reselect X)` only when a primary slave is enslaved.
//! * The delays are printed as `value * miimon` of the kernel's tick counts: see
//!   [`BondStatus::updelay_ms`].
//! * The ARP block only when `arp_interval > 0`; the NS line only on kernels with IPv6
//!   (always here).
//! * The 802.3ad block only in 802.3ad mode; from `System priority` on only for a reader with
//!   `CAP_NET_ADMIN` (`privileged`), and the same for each slave's `details ... lacp pdu`.
//! * Per slave in 802.3ad: `Aggregator ID: N/A` and nothing more when the port has no
//!   aggregator.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Serialize, Serializer};
use ubond_wire::bfd::{Diagnostic as BfdDiagnostic, State as BfdState};
use ubond_wire::slow::PortInfo;
use ubond_wire::MacAddr;

use crate::lacp::ChurnState;
use crate::monitor::mii::LinkStatus;
use crate::options::{
    AdSelect, ArpValidate, FailOverMac, LacpRate, Mode, PrimaryReselect, XmitHashPolicy,
};

/// Which kernel generation's `/proc/net/bonding/bondX` to print.
///
/// Linux 6.1 (Debian 12, the kernel of the golden files) and current mainline print the same
/// lines under the same conditions: checked against mainline's `bond_procfs.c` and
/// `bond_mode_uses_xmit_hash`, against the format strings in Debian's 6.1 `bonding.ko`, and
/// against the captured files. They differ only in values a 6.1 kernel cannot hold
/// (`ad_select actor_port_prio` and a per-port `actor_port_prio` shown as `port priority`,
/// Linux 6.18), which the model carries as they are. The switch is the one place a layout
/// difference goes when one is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum ProcFlavor {
    /// Linux 6.1.
    Linux6_1,
    /// Current mainline (the default).
    #[default]
    Current,
}

/// A slave's duplex as ethtool reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplex {
    /// `half`.
    Half,
    /// `full`.
    Full,
}

impl fmt::Display for Duplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Duplex::Half => "half",
            Duplex::Full => "full",
        })
    }
}

/// The state of one bond, as `/proc/net/bonding/bondX` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BondStatus {
    /// The bond's interface name (`bond0`), printed in "bond bond0 has no active aggregator".
    pub name: String,
    /// What follows `Ethernet Channel Bonding Driver: v`. The kernel prints its release
    /// (`6.1.0-56-amd64`); ubond prints its own version. Given by the caller.
    pub driver_version: String,
    /// `mode`.
    #[serde(serialize_with = "display")]
    pub mode: Mode,
    /// `fail_over_mac` (printed only in active-backup, and only when not `none`).
    #[serde(serialize_with = "display")]
    pub fail_over_mac: FailOverMac,
    /// `xmit_hash_policy` (printed when the mode hashes: see [`BondStatus::uses_xmit_hash`]).
    #[serde(serialize_with = "display")]
    pub xmit_hash_policy: XmitHashPolicy,
    /// `tlb_dynamic_lb` (balance-tlb/alb: false makes them hash by `xmit_hash_policy`).
    pub tlb_dynamic_lb: bool,
    /// The primary slave, if one is set *and enslaved* (the kernel's `primary_slave`; a
    /// `primary` option naming an absent interface prints `None`).
    pub primary: Option<String>,
    /// `primary_reselect` (printed only next to a primary slave).
    #[serde(serialize_with = "display")]
    pub primary_reselect: PrimaryReselect,
    /// The currently active slave (modes with a primary), `None` if there is none.
    pub active_slave: Option<String>,
    /// The bond's carrier: `MII Status: up` or `down`. In 802.3ad it is up only with an active
    /// aggregator of at least `min_links` ports.
    pub carrier: bool,
    /// `miimon`, ms (0 = MII monitoring off).
    pub miimon_ms: u32,
    /// `Up Delay (ms)` as the kernel prints it: the kernel keeps `updelay` in miimon ticks
    /// (rounded down when set) and prints ticks × miimon, so this is 0 when `miimon` is 0.
    pub updelay_ms: u32,
    /// `Down Delay (ms)`, as [`BondStatus::updelay_ms`].
    pub downdelay_ms: u32,
    /// `Peer Notification Delay (ms)`, as [`BondStatus::updelay_ms`].
    pub peer_notif_delay_ms: u32,
    /// `arp_interval`, ms (0 = ARP monitoring off, and no ARP lines).
    pub arp_interval_ms: u32,
    /// `arp_missed_max`.
    pub arp_missed_max: u8,
    /// `arp_validate` (not printed by the kernel; in the JSON).
    #[serde(serialize_with = "display")]
    pub arp_validate: ArpValidate,
    /// `arp_ip_target`, in the kernel's order (at most 16).
    pub arp_targets: Vec<Ipv4Addr>,
    /// `ns_ip6_target`, in the kernel's order (at most 16).
    pub ns_targets: Vec<Ipv6Addr>,
    /// The 802.3ad block; printed only in 802.3ad mode (if `None` there, the kernel's defaults
    /// with no active aggregator are printed).
    pub ad: Option<AdStatus>,
    /// The slaves, in enslave order.
    pub slaves: Vec<SlaveStatus>,
}

impl BondStatus {
    /// `bond_mode_uses_xmit_hash`: balance-xor, 802.3ad, and balance-tlb/alb without dynamic
    /// load balancing.
    pub const fn uses_xmit_hash(&self) -> bool {
        match self.mode {
            Mode::BalanceXor | Mode::Ieee8023ad => true,
            Mode::BalanceTlb | Mode::BalanceAlb => !self.tlb_dynamic_lb,
            _ => false,
        }
    }
}

/// The bond's 802.3ad block (`802.3ad info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdStatus {
    /// `lacp_active`: `LACP active: on|off`.
    pub lacp_active: bool,
    /// `lacp_rate`.
    #[serde(serialize_with = "display")]
    pub lacp_rate: LacpRate,
    /// `min_links`.
    pub min_links: u32,
    /// `ad_select`.
    #[serde(serialize_with = "display")]
    pub ad_select: AdSelect,
    /// `ad_actor_sys_prio` (privileged readers only).
    pub system_priority: u16,
    /// The actor system MAC: `ad_actor_system`, or the bond's MAC (privileged readers only).
    #[serde(serialize_with = "display")]
    pub system_mac: MacAddr,
    /// The active aggregator; `None` prints "bond NAME has no active aggregator" (privileged
    /// readers only).
    pub active_aggregator: Option<ActiveAggregator>,
}

impl Default for AdStatus {
    /// The kernel's defaults: LACP active, slow, `min_links` 0, `stable`, system priority
    /// 65535, no system MAC, no active aggregator.
    fn default() -> Self {
        AdStatus {
            lacp_active: true,
            lacp_rate: LacpRate::Slow,
            min_links: 0,
            ad_select: AdSelect::Stable,
            system_priority: 65535,
            system_mac: MacAddr::ZERO,
            active_aggregator: None,
        }
    }
}

/// `Active Aggregator Info:` (`bond_3ad_get_active_agg_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActiveAggregator {
    /// `Aggregator ID`.
    pub id: u16,
    /// `Number of ports`: the ports attached to the aggregator.
    pub ports: u32,
    /// `Actor Key`: the aggregator's actor operational key.
    pub actor_key: u16,
    /// `Partner Key`.
    pub partner_key: u16,
    /// `Partner Mac Address` (all zero without a partner).
    #[serde(serialize_with = "display")]
    pub partner_mac: MacAddr,
}

/// One slave's block (`Slave Interface: ...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaveStatus {
    /// The interface name.
    pub name: String,
    /// The bonding link state: `up`, `going down`, `down`, `going back`.
    #[serde(serialize_with = "display")]
    pub mii_status: LinkStatus,
    /// Speed in Mb/s; `None` prints `Unknown` (`SPEED_UNKNOWN`).
    pub speed_mbps: Option<u32>,
    /// Duplex; `None` prints `Unknown` (`DUPLEX_UNKNOWN`).
    pub duplex: Option<Duplex>,
    /// `Link Failure Count`.
    pub link_failure_count: u32,
    /// `Permanent HW addr`: the slave's MAC before it was enslaved.
    #[serde(serialize_with = "display")]
    pub perm_hwaddr: MacAddr,
    /// `Slave queue ID`.
    pub queue_id: u16,
    /// The slave's `prio` (`ip link set IFACE type bond_slave prio N`): not in the /proc
    /// report (the kernel prints it in `ip -d link show`), in the JSON.
    pub prio: i32,
    /// The 802.3ad part, printed only in 802.3ad mode; `None` there prints
    /// `Aggregator ID: N/A` (the port has no aggregator) and nothing more.
    pub ad: Option<SlaveAdStatus>,
    /// ubond's micro-BFD (`bfd=on`; not kernel): printed after the kernel's lines, each line
    /// starting with `BFD `.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bfd: Option<SlaveBfdStatus>,
}

/// A slave's micro-BFD session (RFC 7130), ubond's own lines of the report: `BFD Status: up`
/// and the rest, after the kernel's lines of the slave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaveBfdStatus {
    /// `BFD Status`: the session's state (`admin down`, `down`, `init`, `up`).
    #[serde(serialize_with = "display")]
    pub state: BfdState,
    /// No session runs until this is there (`bfd_peer is not set`, `the bond has no IPv4
    /// address`): printed after the state, and nothing more.
    pub waiting_for: Option<String>,
    /// `BFD Remote Status`: the partner's state as it last said.
    #[serde(serialize_with = "display")]
    pub remote_state: BfdState,
    /// `BFD Local Discriminator`.
    pub local_discriminator: u32,
    /// `BFD Remote Discriminator` (0: not heard yet).
    pub remote_discriminator: u32,
    /// `BFD Diagnostic`: why the session last left Up (RFC 5880 wording, lower case).
    #[serde(serialize_with = "display")]
    pub diagnostic: BfdDiagnostic,
    /// `BFD TX Interval (ms)`: the negotiated interval between our packets, in microseconds.
    pub tx_interval_us: u64,
    /// `BFD RX Interval (ms)`: the negotiated interval between the partner's packets.
    pub rx_interval_us: u64,
    /// `BFD Detect Time (ms)`: how long without a packet before the session goes down.
    pub detection_time_us: u64,
    /// `BFD Down Count`: departures from Up.
    pub down_count: u64,
    /// `BFD Dropped Packets`: packets to the BFD port refused (malformed, TTL, spoofed, ...).
    pub dropped: u64,
}

impl Default for SlaveBfdStatus {
    /// A session that is down and has heard nothing.
    fn default() -> SlaveBfdStatus {
        SlaveBfdStatus {
            state: BfdState::Down,
            waiting_for: None,
            remote_state: BfdState::Down,
            local_discriminator: 0,
            remote_discriminator: 0,
            diagnostic: BfdDiagnostic::NoDiagnostic,
            tx_interval_us: 0,
            rx_interval_us: 0,
            detection_time_us: 0,
            down_count: 0,
            dropped: 0,
        }
    }
}

/// A duration shown in milliseconds: whole (`10`) or with up to three decimals (`12.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub std::time::Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        let (ms, frac) = (us / 1000, us % 1000);
        if frac == 0 {
            write!(f, "{ms}")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{ms}.{}", s.trim_end_matches('0'))
        }
    }
}

/// A slave's 802.3ad part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaveAdStatus {
    /// `Aggregator ID`: the aggregator the port is in.
    pub aggregator_id: u16,
    /// `Actor Churn State`: `monitoring`, `churned` or `none`.
    #[serde(serialize_with = "display")]
    pub actor_churn_state: ChurnState,
    /// `Partner Churn State`.
    #[serde(serialize_with = "display")]
    pub partner_churn_state: ChurnState,
    /// `Actor Churned Count`.
    pub actor_churned_count: u32,
    /// `Partner Churned Count`.
    pub partner_churned_count: u32,
    /// `details actor lacp pdu` (privileged readers only): system priority, system MAC, operational
    /// key, port priority, port number, operational state.
    #[serde(serialize_with = "port_info")]
    pub actor: PortInfo,
    /// `details partner lacp pdu` (privileged readers only): the partner's operational
    /// information.
    #[serde(serialize_with = "port_info")]
    pub partner: PortInfo,
}

fn display<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn port_info<S: Serializer>(p: &PortInfo, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct PortInfoJson {
        system_priority: u16,
        system_mac: String,
        key: u16,
        port_priority: u16,
        port_number: u16,
        port_state: u8,
    }
    PortInfoJson {
        system_priority: p.system_priority,
        system_mac: p.system.to_string(),
        key: p.key,
        port_priority: p.port_priority,
        port_number: p.port,
        port_state: p.state.0,
    }
    .serialize(s)
}

/// Renders `/proc/net/bonding/<name>` as current kernels print it. `privileged` is whether the
/// reader has `CAP_NET_ADMIN` (it gates the 802.3ad details).
pub fn render_proc(status: &BondStatus, privileged: bool) -> String {
    render_proc_flavor(status, privileged, ProcFlavor::Current)
}

/// Renders `/proc/net/bonding/<name>` as the kernel generation `flavor` prints it.
pub fn render_proc_flavor(status: &BondStatus, privileged: bool, flavor: ProcFlavor) -> String {
    let mut out = String::with_capacity(1024 + 512 * status.slaves.len());
    // Writing into a String cannot fail; the fmt::Result is only there for the trait.
    let _ = write_proc(&mut out, status, privileged, flavor);
    out
}

fn write_proc(
    o: &mut String,
    st: &BondStatus,
    privileged: bool,
    _flavor: ProcFlavor,
) -> fmt::Result {
    // bond_info_seq_show: the version line and an empty line (`"%s\n"` of a string that ends
    // in "\n").
    writeln!(o, "Ethernet Channel Bonding Driver: v{}", st.driver_version)?;
    o.push('\n');

    // bond_info_show_master
    write!(o, "Bonding Mode: {}", st.mode.long_name())?;
    if st.mode == Mode::ActiveBackup && st.fail_over_mac != FailOverMac::None {
        write!(o, " (fail_over_mac {})", st.fail_over_mac)?;
    }
    o.push('\n');

    if st.uses_xmit_hash() {
        writeln!(
            o,
            "Transmit Hash Policy: {} ({})",
            st.xmit_hash_policy,
            st.xmit_hash_policy.number()
        )?;
    }

    if st.mode.uses_primary() {
        write!(o, "Primary Slave: {}", st.primary.as_deref().unwrap_or("None"))?;
        if st.primary.is_some() {
            write!(o, " (primary_reselect {})", st.primary_reselect)?;
        }
        writeln!(o, "\nCurrently Active Slave: {}", st.active_slave.as_deref().unwrap_or("None"))?;
    }

    writeln!(o, "MII Status: {}", if st.carrier { "up" } else { "down" })?;
    writeln!(o, "MII Polling Interval (ms): {}", st.miimon_ms)?;
    writeln!(o, "Up Delay (ms): {}", st.updelay_ms)?;
    writeln!(o, "Down Delay (ms): {}", st.downdelay_ms)?;
    writeln!(o, "Peer Notification Delay (ms): {}", st.peer_notif_delay_ms)?;

    if st.arp_interval_ms > 0 {
        writeln!(o, "ARP Polling Interval (ms): {}", st.arp_interval_ms)?;
        writeln!(o, "ARP Missed Max: {}", st.arp_missed_max)?;
        o.push_str("ARP IP target/s (n.n.n.n form):");
        write_list(o, &st.arp_targets)?;
        o.push_str("NS IPv6 target/s (xx::xx form):");
        write_list(o, &st.ns_targets)?;
    }

    if st.mode == Mode::Ieee8023ad {
        let default_ad;
        let ad = match &st.ad {
            Some(ad) => ad,
            None => {
                default_ad = AdStatus::default();
                &default_ad
            }
        };
        o.push_str("\n802.3ad info\n");
        writeln!(o, "LACP active: {}", if ad.lacp_active { "on" } else { "off" })?;
        writeln!(o, "LACP rate: {}", ad.lacp_rate)?;
        writeln!(o, "Min links: {}", ad.min_links)?;
        writeln!(o, "Aggregator selection policy (ad_select): {}", ad.ad_select)?;
        if privileged {
            writeln!(o, "System priority: {}", ad.system_priority)?;
            writeln!(o, "System MAC address: {}", ad.system_mac)?;
            match &ad.active_aggregator {
                None => writeln!(o, "bond {} has no active aggregator", st.name)?,
                Some(agg) => {
                    o.push_str("Active Aggregator Info:\n");
                    writeln!(o, "\tAggregator ID: {}", agg.id)?;
                    writeln!(o, "\tNumber of ports: {}", agg.ports)?;
                    writeln!(o, "\tActor Key: {}", agg.actor_key)?;
                    writeln!(o, "\tPartner Key: {}", agg.partner_key)?;
                    writeln!(o, "\tPartner Mac Address: {}", agg.partner_mac)?;
                }
            }
        }
    }

    for slave in &st.slaves {
        write_slave(o, st.mode, slave, privileged)?;
    }
    Ok(())
}

/// `" a", " b"` joined by commas, then a newline (the kernel's `printed` loop).
fn write_list<T: fmt::Display>(o: &mut String, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        write!(o, " {item}")?;
    }
    o.push('\n');
    Ok(())
}

fn write_slave(o: &mut String, mode: Mode, s: &SlaveStatus, privileged: bool) -> fmt::Result {
    // bond_info_show_slave
    writeln!(o, "\nSlave Interface: {}", s.name)?;
    writeln!(o, "MII Status: {}", s.mii_status)?;
    match s.speed_mbps {
        // SPEED_UNKNOWN is -1; a speed the kernel would print as negative does not exist.
        Some(speed) => writeln!(o, "Speed: {speed} Mbps")?,
        None => o.push_str("Speed: Unknown\n"),
    }
    match s.duplex {
        Some(d) => writeln!(o, "Duplex: {d}")?,
        None => o.push_str("Duplex: Unknown\n"),
    }
    writeln!(o, "Link Failure Count: {}", s.link_failure_count)?;
    writeln!(o, "Permanent HW addr: {}", s.perm_hwaddr)?;
    writeln!(o, "Slave queue ID: {}", s.queue_id)?;

    write_slave_ad(o, mode, s, privileged)?;
    if let Some(bfd) = &s.bfd {
        write_slave_bfd(o, bfd)?;
    }
    Ok(())
}

/// ubond's micro-BFD lines, after the kernel's.
fn write_slave_bfd(o: &mut String, b: &SlaveBfdStatus) -> fmt::Result {
    if let Some(why) = &b.waiting_for {
        return writeln!(o, "BFD Status: {} (waiting for {why})", b.state);
    }
    let ms = |us: u64| Millis(std::time::Duration::from_micros(us));
    writeln!(o, "BFD Status: {}", b.state)?;
    writeln!(o, "BFD Remote Status: {}", b.remote_state)?;
    writeln!(o, "BFD Local Discriminator: {}", b.local_discriminator)?;
    writeln!(o, "BFD Remote Discriminator: {}", b.remote_discriminator)?;
    writeln!(o, "BFD Diagnostic: {}", b.diagnostic)?;
    writeln!(o, "BFD TX Interval (ms): {}", ms(b.tx_interval_us))?;
    writeln!(o, "BFD RX Interval (ms): {}", ms(b.rx_interval_us))?;
    writeln!(o, "BFD Detect Time (ms): {}", ms(b.detection_time_us))?;
    writeln!(o, "BFD Down Count: {}", b.down_count)?;
    writeln!(o, "BFD Dropped Packets: {}", b.dropped)
}

/// The slave's 802.3ad lines (`bond_info_show_slave`).
fn write_slave_ad(o: &mut String, mode: Mode, s: &SlaveStatus, privileged: bool) -> fmt::Result {
    if mode != Mode::Ieee8023ad {
        return Ok(());
    }
    let Some(ad) = &s.ad else {
        o.push_str("Aggregator ID: N/A\n");
        return Ok(());
    };
    writeln!(o, "Aggregator ID: {}", ad.aggregator_id)?;
    writeln!(o, "Actor Churn State: {}", ad.actor_churn_state)?;
    writeln!(o, "Partner Churn State: {}", ad.partner_churn_state)?;
    // `%d` of the kernel's u32 counters.
    writeln!(o, "Actor Churned Count: {}", ad.actor_churned_count as i32)?;
    writeln!(o, "Partner Churned Count: {}", ad.partner_churned_count as i32)?;
    if privileged {
        let a = &ad.actor;
        o.push_str("details actor lacp pdu:\n");
        writeln!(o, "    system priority: {}", a.system_priority)?;
        writeln!(o, "    system mac address: {}", a.system)?;
        writeln!(o, "    port key: {}", a.key)?;
        writeln!(o, "    port priority: {}", a.port_priority)?;
        writeln!(o, "    port number: {}", a.port)?;
        writeln!(o, "    port state: {}", a.state.0)?;
        let p = &ad.partner;
        o.push_str("details partner lacp pdu:\n");
        writeln!(o, "    system priority: {}", p.system_priority)?;
        writeln!(o, "    system mac address: {}", p.system)?;
        writeln!(o, "    oper key: {}", p.key)?;
        writeln!(o, "    port priority: {}", p.port_priority)?;
        writeln!(o, "    port number: {}", p.port)?;
        writeln!(o, "    port state: {}", p.state.0)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ubond_wire::slow::PortState;

    const MAC0: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0]);
    const PEER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0b]);

    fn slave(name: &str) -> SlaveStatus {
        SlaveStatus {
            name: name.into(),
            mii_status: LinkStatus::Up,
            speed_mbps: Some(10000),
            duplex: Some(Duplex::Full),
            link_failure_count: 0,
            perm_hwaddr: MAC0,
            queue_id: 0,
            prio: 0,
            ad: None,
            bfd: None,
        }
    }

    fn status(mode: Mode) -> BondStatus {
        BondStatus {
            name: "bond7".into(),
            driver_version: "ubond-0.1.0".into(),
            mode,
            fail_over_mac: FailOverMac::None,
            xmit_hash_policy: XmitHashPolicy::Layer34,
            tlb_dynamic_lb: true,
            primary: None,
            primary_reselect: PrimaryReselect::Always,
            active_slave: None,
            carrier: true,
            miimon_ms: 100,
            updelay_ms: 0,
            downdelay_ms: 0,
            peer_notif_delay_ms: 0,
            arp_interval_ms: 0,
            arp_missed_max: 2,
            arp_validate: ArpValidate::None,
            arp_targets: vec![],
            ns_targets: vec![],
            ad: None,
            slaves: vec![slave("eth0")],
        }
    }

    fn port_info(system: MacAddr, key: u16, state: u8) -> PortInfo {
        PortInfo {
            system_priority: 65535,
            system,
            key,
            port_priority: 255,
            port: 1,
            state: PortState(state),
        }
    }

    fn ad_status(mode_agg: Option<ActiveAggregator>) -> BondStatus {
        let mut st = status(Mode::Ieee8023ad);
        st.ad =
            Some(AdStatus { system_mac: MAC0, active_aggregator: mode_agg, ..AdStatus::default() });
        st.slaves[0].ad = Some(SlaveAdStatus {
            aggregator_id: 1,
            actor_churn_state: ChurnState::NoChurn,
            partner_churn_state: ChurnState::NoChurn,
            actor_churned_count: 0,
            partner_churned_count: 0,
            actor: port_info(MAC0, 15, 61),
            partner: port_info(PEER, 15, 61),
        });
        st
    }

    fn agg() -> ActiveAggregator {
        ActiveAggregator { id: 1, ports: 1, actor_key: 15, partner_key: 15, partner_mac: PEER }
    }

    #[test]
    fn header_and_trailing_newline() {
        let out = render_proc(&status(Mode::BalanceRr), true);
        assert!(out.starts_with("Ethernet Channel Bonding Driver: vubond-0.1.0\n\nBonding Mode: load balancing (round-robin)\nMII Status: up\n"));
        assert!(out.ends_with("Slave queue ID: 0\n"));
        assert!(!out.contains("Transmit Hash Policy"));
        assert!(!out.contains("Primary Slave"));
    }

    #[test]
    fn unprivileged_reader_sees_no_lacp_details() {
        let st = ad_status(Some(agg()));
        let full = render_proc(&st, true);
        let short = render_proc(&st, false);
        assert!(full.contains("System priority: 65535\nSystem MAC address: 52:54:00:00:00:00\nActive Aggregator Info:\n\tAggregator ID: 1\n\tNumber of ports: 1\n\tActor Key: 15\n\tPartner Key: 15\n\tPartner Mac Address: 02:00:00:00:00:0b\n"));
        assert!(full.contains("details actor lacp pdu:\n    system priority: 65535\n    system mac address: 52:54:00:00:00:00\n    port key: 15\n    port priority: 255\n    port number: 1\n    port state: 61\ndetails partner lacp pdu:\n    system priority: 65535\n    system mac address: 02:00:00:00:00:0b\n    oper key: 15\n"));
        for hidden in [
            "System priority",
            "System MAC",
            "Active Aggregator",
            "details actor",
            "details partner",
        ] {
            assert!(!short.contains(hidden), "{hidden} shown to an unprivileged reader");
        }
        assert!(short.contains(
            "Aggregator selection policy (ad_select): stable\n\nSlave Interface: eth0\n"
        ));
        assert!(short.contains("Actor Churn State: none\nPartner Churn State: none\nActor Churned Count: 0\nPartner Churned Count: 0\n"));
    }

    #[test]
    fn no_active_aggregator() {
        let out = render_proc(&ad_status(None), true);
        assert!(out.contains("System MAC address: 52:54:00:00:00:00\nbond bond7 has no active aggregator\n\nSlave Interface: eth0\n"));
        assert!(!render_proc(&ad_status(None), false).contains("no active aggregator"));
    }

    #[test]
    fn slave_without_aggregator_prints_na_only() {
        let mut st = ad_status(Some(agg()));
        st.slaves[0].ad = None;
        for privileged in [true, false] {
            let out = render_proc(&st, privileged);
            assert!(out.ends_with("Slave queue ID: 0\nAggregator ID: N/A\n"), "{out}");
        }
        // Outside 802.3ad the slave's 802.3ad part is not printed at all.
        let mut rr = status(Mode::BalanceRr);
        rr.slaves[0].ad = ad_status(None).slaves[0].ad.clone();
        assert!(!render_proc(&rr, true).contains("Aggregator ID"));
    }

    #[test]
    fn missing_ad_block_prints_the_defaults() {
        let mut st = status(Mode::Ieee8023ad);
        st.ad = None;
        let out = render_proc(&st, true);
        assert!(out.contains("\n802.3ad info\nLACP active: on\nLACP rate: slow\nMin links: 0\nAggregator selection policy (ad_select): stable\nSystem priority: 65535\nSystem MAC address: 00:00:00:00:00:00\nbond bond7 has no active aggregator\n"));
    }

    #[test]
    fn speed_and_duplex_unknown() {
        let mut st = status(Mode::ActiveBackup);
        st.slaves[0].speed_mbps = None;
        st.slaves[0].duplex = None;
        let out = render_proc(&st, true);
        assert!(out.contains("Speed: Unknown\nDuplex: Unknown\n"));
        st.slaves[0].speed_mbps = Some(100);
        st.slaves[0].duplex = Some(Duplex::Half);
        assert!(render_proc(&st, true).contains("Speed: 100 Mbps\nDuplex: half\n"));
    }

    #[test]
    fn slave_link_states_use_the_kernel_words() {
        let mut st = status(Mode::BalanceRr);
        for (state, word) in [
            (LinkStatus::Up, "up"),
            (LinkStatus::Fail, "going down"),
            (LinkStatus::Down, "down"),
            (LinkStatus::Back, "going back"),
        ] {
            st.slaves[0].mii_status = state;
            assert!(render_proc(&st, true).contains(&format!("eth0\nMII Status: {word}\n")));
        }
    }

    #[test]
    fn fail_over_mac_only_in_active_backup() {
        let mut st = status(Mode::ActiveBackup);
        st.fail_over_mac = FailOverMac::Follow;
        assert!(render_proc(&st, true)
            .contains("Bonding Mode: fault-tolerance (active-backup) (fail_over_mac follow)\n"));
        st.mode = Mode::BalanceTlb;
        assert!(render_proc(&st, true).contains("Bonding Mode: transmit load balancing\n"));
    }

    #[test]
    fn hash_policy_line_follows_bond_mode_uses_xmit_hash() {
        for (mode, dynamic, shown) in [
            (Mode::BalanceRr, false, false),
            (Mode::ActiveBackup, false, false),
            (Mode::BalanceXor, true, true),
            (Mode::Broadcast, false, false),
            (Mode::Ieee8023ad, true, true),
            (Mode::BalanceTlb, true, false),
            (Mode::BalanceTlb, false, true),
            (Mode::BalanceAlb, true, false),
            (Mode::BalanceAlb, false, true),
        ] {
            let st = BondStatus { tlb_dynamic_lb: dynamic, ..status(mode) };
            let out = render_proc(&st, true);
            assert_eq!(out.contains("\nTransmit Hash Policy: layer3+4 (1)\n"), shown, "{mode}");
        }
    }

    #[test]
    fn primary_lines() {
        let mut st = status(Mode::BalanceAlb);
        assert!(render_proc(&st, true)
            .contains("\nPrimary Slave: None\nCurrently Active Slave: None\nMII Status"));
        st.primary = Some("eth0".into());
        st.primary_reselect = PrimaryReselect::Failure;
        st.active_slave = Some("eth0".into());
        assert!(render_proc(&st, true).contains(
            "\nPrimary Slave: eth0 (primary_reselect failure)\nCurrently Active Slave: eth0\n"
        ));
    }

    #[test]
    fn arp_block() {
        let mut st = status(Mode::ActiveBackup);
        st.arp_interval_ms = 500;
        st.arp_missed_max = 4;
        let out = render_proc(&st, true);
        assert!(out.contains("Peer Notification Delay (ms): 0\nARP Polling Interval (ms): 500\nARP Missed Max: 4\nARP IP target/s (n.n.n.n form):\nNS IPv6 target/s (xx::xx form):\n\n"));
        st.arp_targets = vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 9)];
        st.ns_targets =
            vec!["2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED), Ipv6Addr::LOCALHOST];
        let out = render_proc(&st, true);
        assert!(out.contains("ARP IP target/s (n.n.n.n form): 192.0.2.1, 192.0.2.9\nNS IPv6 target/s (xx::xx form): 2001:db8::1, ::1\n"));
    }

    #[test]
    fn flavors_agree() {
        let st = ad_status(Some(agg()));
        assert_eq!(render_proc_flavor(&st, true, ProcFlavor::Linux6_1), render_proc(&st, true));
    }

    #[test]
    fn churn_counts_print_as_the_kernels_int() {
        let mut st = ad_status(Some(agg()));
        if let Some(ad) = st.slaves[0].ad.as_mut() {
            ad.partner_churned_count = u32::MAX;
        }
        assert!(render_proc(&st, true).contains("Partner Churned Count: -1\n"));
    }

    #[test]
    fn json_uses_kernel_spellings() -> Result<(), serde_json::Error> {
        let mut st = ad_status(Some(agg()));
        st.slaves[0].mii_status = LinkStatus::Back;
        st.slaves[0].speed_mbps = None;
        let v = serde_json::to_value(&st)?;
        assert_eq!(v["mode"], "802.3ad");
        assert_eq!(v["xmit_hash_policy"], "layer3+4");
        assert_eq!(v["fail_over_mac"], "none");
        assert_eq!(v["ad"]["lacp_rate"], "slow");
        assert_eq!(v["ad"]["ad_select"], "stable");
        assert_eq!(v["ad"]["active_aggregator"]["partner_mac"], "02:00:00:00:00:0b");
        let s = &v["slaves"][0];
        assert_eq!(s["mii_status"], "going back");
        assert_eq!(s["speed_mbps"], serde_json::Value::Null);
        assert_eq!(s["duplex"], "full");
        assert_eq!(s["perm_hwaddr"], "52:54:00:00:00:00");
        assert_eq!(s["ad"]["actor_churn_state"], "none");
        assert_eq!(s["ad"]["partner"]["system_mac"], "02:00:00:00:00:0b");
        assert_eq!(s["ad"]["partner"]["port_state"], 61);
        Ok(())
    }
}
