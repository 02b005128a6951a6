use core::net::Ipv4Addr;
use core::time::Duration;

use super::*;
use crate::options::ArpValidate;

fn cfg() -> ArpConfig {
    ArpConfig {
        mode: ArpMode::ActiveBackup,
        interval: Duration::from_millis(100),
        arp_targets: vec![ArpTarget {
            ip: Ipv4Addr::new(192, 0, 2, 9),
            src: Ipv4Addr::new(192, 0, 2, 1),
        }],
        ns_targets: Vec::new(),
        validate: ArpValidate::None,
        all_targets: ArpAllTargets::Any,
        missed_max: 2,
        local_v4: vec![Ipv4Addr::new(192, 0, 2, 1)],
        local_v6: Vec::new(),
    }
}

#[test]
fn validate_masks_are_the_kernels() {
    // slave_do_arp_validate: arp_validate & (1 << state), active = 0, backup = 1.
    let table = [
        (ArpValidate::None, false, false, false),
        (ArpValidate::Active, true, false, false),
        (ArpValidate::Backup, false, true, false),
        (ArpValidate::All, true, true, false),
        (ArpValidate::Filter, false, false, true),
        (ArpValidate::FilterActive, true, false, true),
        (ArpValidate::FilterBackup, false, true, true),
    ];
    for (validate, active, backup, filter) in table {
        let c = ArpConfig { validate, ..cfg() };
        assert_eq!((c.validates(true), c.validates(false), c.filters()), (active, backup, filter));
    }
}

#[test]
fn traffic_seen_elsewhere_counts_as_unvalidated_frames_do() {
    let at = Instant::from_millis(40);
    let later = Instant::from_millis(90);
    for (validate, active, want_any, want_arp) in [
        (ArpValidate::None, true, true, false),
        (ArpValidate::Filter, true, false, true),
        (ArpValidate::Active, false, true, false),
        (ArpValidate::Active, true, false, false),
        (ArpValidate::All, false, false, false),
    ] {
        let mut m = ArpMonitor::new(ArpConfig { validate, ..cfg() });
        m.add_slave(Instant::from_millis(1), SlaveId(1), MacAddr::ZERO, true);
        let rx = m.handle_traffic(SlaveId(1), Some(later), Some(at), active);
        let want = if want_any {
            Some(later)
        } else if want_arp {
            Some(at)
        } else {
            None
        };
        assert_eq!(m.last_rx(SlaveId(1)), want, "{validate:?}, active {active}");
        assert_eq!(rx == ArpRx::Traffic, want.is_some());
        // Never backwards: an older time leaves the newer one.
        m.handle_traffic(SlaveId(1), Some(at), Some(at), active);
        assert_eq!(m.last_rx(SlaveId(1)), want);
    }
    let mut m = ArpMonitor::new(cfg());
    assert_eq!(m.handle_traffic(SlaveId(7), Some(at), None, true), ArpRx::Ignored);
}

#[test]
fn time_in_interval_bounds() {
    let m = ArpMonitor::new(cfg());
    let ms = |n: i128| n * 1_000_000;
    // [last - Δ, last + mod·Δ + Δ/2], both ends included.
    assert!(m.in_interval(ms(1000), ms(1100), 1));
    assert!(!m.in_interval(ms(999), ms(1100), 1));
    assert!(m.in_interval(ms(1250), ms(1100), 1));
    assert!(!m.in_interval(ms(1250) + 1, ms(1100), 1));
    assert!(m.in_interval(ms(1350), ms(1100), 2));
}

#[test]
fn limits_apply() {
    let t = |n: u8| ArpTarget { ip: Ipv4Addr::new(10, 0, 0, n), src: Ipv4Addr::UNSPECIFIED };
    let mut c = cfg();
    c.arp_targets = (1..=20).map(t).collect();
    c.missed_max = 0;
    c.interval = Duration::ZERO;
    let m = ArpMonitor::new(c.clone());
    assert_eq!(m.config().arp_targets.len(), MAX_TARGETS);
    assert_eq!((m.config().missed_max, m.config().interval), (1, Duration::from_millis(1)));
    c.arp_targets = vec![t(1), ArpTarget { ip: Ipv4Addr::UNSPECIFIED, ..t(0) }, t(3)];
    assert_eq!(ArpMonitor::new(c).config().arp_targets, [t(1)], "the list ends at 0.0.0.0");
}

#[test]
fn slaves_are_bounded_and_unique() {
    let mut m = ArpMonitor::new(cfg());
    let now = Instant::from_millis(5);
    assert_eq!(m.add_slave(now, SlaveId(0), MacAddr::ZERO, false), Some(LinkStatus::Down));
    assert_eq!(m.add_slave(now, SlaveId(0), MacAddr::ZERO, true), None, "duplicate");
    for n in 1..MAX_SLAVES as u32 {
        assert!(m.add_slave(now, SlaveId(n), MacAddr::ZERO, true).is_some());
    }
    assert_eq!(m.add_slave(now, SlaveId(999), MacAddr::ZERO, true), None, "full");
    assert_eq!(m.last_rx(SlaveId(0)), None, "never received");
    m.remove_slave(SlaveId(0));
    assert_eq!(m.link_status(SlaveId(0)), None);
}

#[test]
fn tick_reschedules_and_new_targets_restart() {
    let mut m = ArpMonitor::new(cfg());
    assert_eq!(m.poll_timeout(), None);
    m.start(Instant::from_millis(7));
    assert_eq!(m.poll_timeout(), Some(Instant::from_millis(7)));
    m.add_slave(Instant::ZERO, SlaveId(1), MacAddr::ZERO, true);
    m.handle_tick(Instant::from_millis(7), &[]);
    assert_eq!(m.poll_timeout(), Some(Instant::from_millis(107)));
    let mut c = cfg();
    c.arp_targets[0].ip = Ipv4Addr::new(192, 0, 2, 77);
    c.interval = Duration::from_millis(200);
    m.set_config(Instant::from_millis(50), c);
    assert_eq!(m.target_last_rx(SlaveId(1), 0), Some(Instant::from_millis(50)));
    assert_eq!(m.poll_timeout(), Some(Instant::from_millis(50)), "new interval: tick now");
}

/// `bond_rcv_validate` sees a frame after the stack's `eth_type_trans` (`PACKET_OTHERHOST`
/// for another host's unicast, which the bond never counts) and one VLAN tag taken off.
#[test]
fn received_traffic_is_what_reaches_the_bond_for_this_host() {
    use RxTraffic::*;
    let own = MacAddr([2, 0, 0, 0, 0, 1]);
    let frame = |dst: [u8; 6], after_src: &[u8]| {
        let mut f = dst.to_vec();
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
        f.extend_from_slice(after_src);
        f.resize(60, 0);
        f
    };
    let table: [([u8; 6], &[u8], RxTraffic); 10] = [
        (own.0, &[0x08, 0x00], ForHost),
        (own.0, &[0x08, 0x06], ArpIpv6),
        (own.0, &[0x86, 0xdd], ArpIpv6),
        (own.0, &[0x88, 0x09], ForHost),
        ([2, 0, 0, 0, 0, 9], &[0x08, 0x06], NotForHost),
        ([0xff; 6], &[0x08, 0x06], ArpIpv6),
        ([0x01, 0, 0x5e, 0, 0, 1], &[0x08, 0x00], ForHost),
        ([0xff; 6], &[0x81, 0x00, 0, 5, 0x86, 0xdd], ArpIpv6),
        ([0xff; 6], &[0x88, 0xa8, 0, 5, 0x08, 0x06], ArpIpv6),
        // Under two tags the bond sees a VLAN frame.
        (own.0, &[0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 6, 0x08, 0x06], ForHost),
    ];
    for (dst, rest, want) in table {
        assert_eq!(rx_traffic(&frame(dst, rest), own), want, "{dst:02x?} {rest:02x?}");
    }
    assert_eq!(rx_traffic(&[0xff; 10], own), NotForHost, "not a frame");
}
