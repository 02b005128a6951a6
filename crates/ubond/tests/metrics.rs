//! Root test of `ubond daemon --metrics` and `--metrics-textfile`: two namespaces, a daemon in
//! each, an 802.3ad bond over e1 and e2 and an active-backup bond over e3 and e4 between them;
//! the metrics of side A scraped over HTTP (inside its namespace, on 127.0.0.1) and read from
//! the textfile, checked with promtool, before and after a slave of each bond goes down, and
//! after side B's daemon stops (its LACP partner information expires, then defaults). bond0
//! runs micro-BFD: its sessions' state and down counts are followed too.
//!
//! Namespaces `ubd-<pid>-metrics-a/b`, addresses in 192.0.2.0/24 and 198.18.0.0/15 only; drop
//! guards stop the daemons (by pid) and delete the namespaces even on failure.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use ubond_sys::bpf::BUILT;

mod support;

use support::*;

/// Series (name and labels) to value.
fn series(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (s, v) = l.rsplit_once(' ').unwrap();
            (s.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn get(m: &BTreeMap<String, u64>, s: &str) -> u64 {
    *m.get(s).unwrap_or_else(|| panic!("no series {s}"))
}

/// The one series of family `name` with `labels` among its labels, and its value.
fn find<'a>(m: &'a BTreeMap<String, u64>, name: &str, labels: &[&str]) -> (&'a str, u64) {
    let mut hits = m.iter().filter(|(s, _)| {
        s.starts_with(&format!("{name}{{")) && labels.iter().all(|l| s.contains(l))
    });
    let (s, v) = hits.next().unwrap_or_else(|| panic!("no {name} with {labels:?}"));
    assert!(hits.next().is_none(), "more than one {name} with {labels:?}");
    (s, *v)
}

fn promtool_clean(text: &str, what: &str) {
    if let Some(verdict) = promtool_check(text) {
        assert_eq!(verdict, Ok(()), "promtool check metrics on {what}:\n{text}");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn metrics_over_http_and_in_a_textfile_follow_a_failover() {
    if !can_run() {
        return;
    }
    let mut a = side("metrics", "a");
    let mut b = side("metrics", "b");
    for e in ["e1", "e2", "e3", "e4"] {
        a.ip(&["link", "add", e, "type", "veth", "peer", "name", e, "netns", &b.ns]);
    }
    let textfile = a.dir.join("ubond.prom");
    let tf = textfile.to_str().unwrap().to_string();
    a.start_daemon_with(&["--metrics", "--metrics-textfile", &tf]);
    b.start_daemon();
    for (s, n, peer) in [(&a, "1", "2"), (&b, "2", "1")] {
        let peer = format!("bfd_peer=192.0.2.{peer}");
        s.ok(&["add", "bond0", "mode=802.3ad", "lacp_rate=fast", "miimon=100", "bfd=on", &peer]);
        s.ok(&["enslave", "bond0", "e1", "e2"]);
        s.ip(&["addr", "add", &format!("192.0.2.{n}/24"), "dev", "bond0"]);
        s.ok(&["add", "bond1", "mode=active-backup", "miimon=100"]);
        s.ok(&["enslave", "bond1", "e3", "e4"]);
        s.ip(&["addr", "add", &format!("198.18.0.{n}/24"), "dev", "bond1"]);
    }
    wait_for(Duration::from_secs(30), "port state 63 on both slaves, both sides", || {
        [&a, &b].iter().all(|s| s.report("bond0").matches("port state: 63").count() >= 4)
    });
    // bond1's slaves up too (nothing waited for them yet), then a ping over each bond within a
    // limit (the first may come before the data paths are ready).
    wait_for(Duration::from_secs(10), "bond1 and both its slaves up", || {
        a.report("bond1").matches("MII Status: up").count() == 3
    });
    let bfd = |m: &BTreeMap<String, u64>, e: &str, state: &str| {
        let s =
            format!("ubond_bfd_session_state{{master=\"bond0\",slave=\"{e}\",state=\"{state}\"}}");
        m.get(&s).copied()
    };
    wait_for(Duration::from_secs(10), "bond0's BFD sessions up in the metrics", || {
        let m = series(&scrape(&a.ns));
        bfd(&m, "e1", "up") == Some(1) && bfd(&m, "e2", "up") == Some(1)
    });
    wait_for(Duration::from_secs(10), "a ping over the LACP bond", || ping(&a, "192.0.2.2"));
    wait_for(Duration::from_secs(10), "a ping over the active-backup bond", || {
        ping(&a, "198.18.0.2")
    });

    // --- both bonds whole ---------------------------------------------------------------
    let text = scrape(&a.ns);
    promtool_clean(&text, "the scrape of two whole bonds");
    let m = series(&text);
    for bond in ["bond0", "bond1"] {
        assert_eq!(get(&m, &format!("node_bonding_slaves{{master=\"{bond}\"}}")), 2);
        assert_eq!(get(&m, &format!("node_bonding_active{{master=\"{bond}\"}}")), 2);
        assert_eq!(
            get(&m, &format!("ubond_bond_mii_status{{master=\"{bond}\",status=\"up\"}}")),
            1
        );
    }
    assert_eq!(
        get(&m, "ubond_bond_info{master=\"bond0\",mode=\"802.3ad\",xmit_hash_policy=\"layer2\"}"),
        1
    );
    // LACP: both ports in the active aggregator, in sync both ways, partner = side B's bond.
    let (agg, _) = find(&m, "ubond_lacp_active_aggregator_info", &["master=\"bond0\""]);
    let partner_mac = mac_of(&b, "bond0");
    assert!(agg.contains(&format!("partner_system=\"{partner_mac}\"")), "{agg}");
    // The partner's key is side B's own (its report's Actor Key).
    let b_key = b
        .report("bond0")
        .lines()
        .find_map(|l| l.trim().strip_prefix("Actor Key: ").map(str::to_string))
        .expect("side B's Actor Key");
    assert!(agg.contains(&format!("partner_key=\"{b_key}\"")), "{agg}");
    assert_eq!(get(&m, "ubond_lacp_active_aggregator_ports{master=\"bond0\"}"), 2);
    let id = |m: &BTreeMap<String, u64>, e: &str| {
        get(m, &format!("ubond_lacp_aggregator_id{{master=\"bond0\",slave=\"{e}\"}}"))
    };
    assert_eq!(id(&m, "e1"), id(&m, "e2"));
    assert!(agg.contains(&format!("aggregator_id=\"{}\"", id(&m, "e1"))), "{agg}");
    for e in ["e1", "e2"] {
        for side in ["actor", "partner"] {
            for flag in ["synchronization", "collecting", "distributing"] {
                let s = format!(
                    "ubond_lacp_port_state{{master=\"bond0\",slave=\"{e}\",side=\"{side}\",flag=\"{flag}\"}}"
                );
                assert_eq!(get(&m, &s), 1, "{s}");
            }
        }
        let (info, _) = find(&m, "ubond_lacp_partner_info", &[&format!("slave=\"{e}\"")]);
        assert!(info.contains(&format!("system=\"{partner_mac}\"")), "{info}");
        assert!(info.contains(&format!(",key=\"{b_key}\"")), "{info}");
        let pdus = |dir: &str| {
            get(&m, &format!("ubond_lacp_lacpdus_{dir}_total{{master=\"bond0\",slave=\"{e}\"}}"))
        };
        assert!(pdus("received") > 0 && pdus("sent") > 0, "{e}: LACPDUs counted");
        assert_eq!(
            get(&m, &format!("ubond_lacp_partner_expired_total{{master=\"bond0\",slave=\"{e}\"}}")),
            0
        );
    }
    // micro-BFD: a session per slave of bond0, none for bond1 (which does not run BFD).
    for e in ["e1", "e2"] {
        assert_eq!((bfd(&m, e, "up"), bfd(&m, e, "down")), (Some(1), Some(0)), "{e}");
        let labels = format!("{{master=\"bond0\",slave=\"{e}\"}}");
        assert_eq!(get(&m, &format!("ubond_bfd_session_down_total{labels}")), 0);
        assert_eq!(get(&m, &format!("ubond_bfd_dropped_packets_total{labels}")), 0);
    }
    assert!(!m.keys().any(|s| s.starts_with("ubond_bfd_") && s.contains("bond1")), "{text}");
    // The data path, and the fast path's counters when it carries the bond.
    let bpf = get(&m, "ubond_bond_datapath{master=\"bond0\",datapath=\"bpf\"}");
    assert_eq!(bpf, u64::from(BUILT), "bond0 on the fast path exactly when it is built");
    if BUILT {
        let sent = "ubond_fastpath_transmit_frames_total{master=\"bond0\",verdict=\"forwarded\"}";
        assert!(get(&m, sent) >= 3, "the pings left through the fast path");
        let delivered: u64 = m
            .iter()
            .filter(|(s, _)| {
                s.starts_with("ubond_fastpath_receive_frames_total{master=\"bond0\"")
                    && s.contains("verdict=\"forwarded\"")
            })
            .map(|(_, v)| v)
            .sum();
        assert!(delivered >= 3, "the replies came up through the fast path");
    }
    // active-backup: the active slave, no failover yet.
    let active = a.ok(&["get", "bond1", "active_slave"]).trim().to_string();
    let other = if active == "e3" { "e4" } else { "e3" };
    let info = format!("ubond_bond_active_slave_info{{master=\"bond1\",slave=\"{active}\"}}");
    assert_eq!(get(&m, &info), 1);
    assert_eq!(get(&m, "ubond_bond_failovers_total{master=\"bond1\"}"), 0);

    // --- the textfile holds the same families -------------------------------------------
    let file = read(&textfile);
    promtool_clean(&file, "the textfile");
    assert!(file.contains("node_bonding_active{master=\"bond0\"} 2\n"), "{file}");

    // --- a slave of each bond goes down ---------------------------------------------------
    a.ip(&["link", "set", "e1", "down"]);
    a.ip(&["link", "set", &active, "down"]);
    let took = wait_for(Duration::from_secs(10), "node_bonding_active to drop to 1", || {
        let m = series(&scrape(&a.ns));
        ["bond0", "bond1"]
            .iter()
            .all(|b| m.get(&format!("node_bonding_active{{master=\"{b}\"}}")) == Some(&1))
    });
    eprintln!("the metrics showed both failures {took:?} after the links went down");
    let text = scrape(&a.ns);
    promtool_clean(&text, "the scrape after the failures");
    let m = series(&text);
    assert_eq!(get(&m, "node_bonding_slaves{master=\"bond0\"}"), 2, "still enslaved");
    let mii = |e: &str, bond: &str, status: &str| {
        get(
            &m,
            &format!(
                "ubond_slave_mii_status{{master=\"{bond}\",slave=\"{e}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!((mii("e1", "bond0", "down"), mii("e1", "bond0", "up")), (1, 0));
    assert_eq!(mii("e2", "bond0", "up"), 1);
    let failures = |e: &str, bond: &str| {
        get(&m, &format!("ubond_slave_link_failures_total{{master=\"{bond}\",slave=\"{e}\"}}"))
    };
    assert_eq!((failures("e1", "bond0"), failures("e2", "bond0")), (1, 0));
    assert_eq!((failures(&active, "bond1"), failures(other, "bond1")), (1, 0));
    assert_eq!(get(&m, "ubond_bond_failovers_total{master=\"bond1\"}"), 1);
    let now_info = format!("ubond_bond_active_slave_info{{master=\"bond1\",slave=\"{other}\"}}");
    assert_eq!(get(&m, &now_info), 1);
    assert!(!m.contains_key(&info), "the old active slave's series is gone");
    assert_eq!(get(&m, "ubond_lacp_active_aggregator_ports{master=\"bond0\"}"), 1);
    assert_eq!(bfd(&m, "e2", "up"), Some(1), "e2's session stays up");
    wait_for(Duration::from_secs(10), "e1's BFD session down in the metrics", || {
        let m = series(&scrape(&a.ns));
        bfd(&m, "e1", "up") == Some(0)
            && get(&m, "ubond_bfd_session_down_total{master=\"bond0\",slave=\"e1\"}") == 1
    });
    wait_for(Duration::from_secs(10), "a ping over each bond after the failures", || {
        ping(&a, "192.0.2.2") && ping(&a, "198.18.0.2")
    });

    // The textfile follows within a couple of seconds (a state changed).
    wait_for(Duration::from_secs(5), "the textfile to show the failures", || {
        let f = read(&textfile);
        f.contains("node_bonding_active{master=\"bond0\"} 1\n")
            && f.contains("ubond_bond_failovers_total{master=\"bond1\"} 1\n")
    });
    promtool_clean(&read(&textfile), "the textfile after the failures");
    assert!(!a.dir.join(".ubond.prom.tmp").exists(), "no temporary file left");

    // --- the partner goes silent: side B's daemon stops (its bonds stay, without LACP) -----
    assert!(b.stop_daemon(), "daemon B stopped cleanly");
    let counter = |m: &BTreeMap<String, u64>, what: &str| {
        get(m, &format!("ubond_lacp_partner_{what}_total{{master=\"bond0\",slave=\"e2\"}}"))
    };
    // Fast rate: EXPIRED 3 s after the last LACPDU, DEFAULTED 3 s later.
    let took = wait_for(Duration::from_secs(15), "e2's partner to expire, then default", || {
        let m = series(&scrape(&a.ns));
        counter(&m, "expired") == 1 && counter(&m, "defaulted") == 1
    });
    eprintln!("expired and defaulted counted {took:?} after daemon B stopped");
    let text = scrape(&a.ns);
    promtool_clean(&text, "the scrape after the partner went silent");
    let m = series(&text);
    let state = |flag: &str| {
        get(
            &m,
            &format!(
                "ubond_lacp_port_state{{master=\"bond0\",slave=\"e2\",side=\"actor\",flag=\"{flag}\"}}"
            ),
        )
    };
    assert_eq!((state("defaulted"), state("expired")), (1, 0));
    let (info, _) = find(&m, "ubond_lacp_partner_info", &["slave=\"e2\""]);
    assert!(info.contains("system=\"00:00:00:00:00:00\""), "the partner defaults: {info}");
    // e2's BFD session went down too (the stopping daemon asked for 3 s; they passed).
    assert_eq!(bfd(&m, "e2", "up"), Some(0), "{text}");
    assert_eq!(get(&m, "ubond_bfd_session_down_total{master=\"bond0\",slave=\"e2\"}"), 1);

    // --- what else the listener answers --------------------------------------------------
    let head = http(&a.ns, b"HEAD /metrics HTTP/1.0\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"), "{head}");
    let nf = http(&a.ns, b"GET /nosuch HTTP/1.1\r\n\r\n");
    assert!(nf.starts_with("HTTP/1.1 404 Not Found\r\n"), "{nf}");
    let bad = http(&a.ns, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n");
    assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
    // A silent client holds no scrape up: the scrape is answered while the silent client
    // still waits (a listener held up by it would answer only after giving up on it, which
    // closes it). Not a time limit: a loaded machine may take long to scrape.
    let ns = a.ns.clone();
    let mut silent = in_netns(&ns, || TcpStream::connect(METRICS_ADDR).unwrap()).join().unwrap();
    let t0 = std::time::Instant::now();
    assert!(scrape(&a.ns).contains("node_bonding_slaves"));
    silent.set_nonblocking(true).unwrap();
    let waiting = matches!(
        silent.read(&mut [0u8; 1]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    );
    assert!(
        waiting,
        "the scrape answered only once the silent client was let go, {:?}",
        t0.elapsed()
    );
    drop(silent);
    assert!(a.ok(&["status", "bond0"]).contains("802.3ad"), "the daemon lives on");

    // --- a clean stop takes the textfile away -------------------------------------------
    assert!(a.stop_daemon(), "daemon A stopped cleanly");
    assert!(!textfile.exists(), "the textfile is removed when the daemon stops");
}
