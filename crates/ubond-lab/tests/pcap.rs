//! Link captures: the LACPDUs and pings of seed 4's switch topology, as a pcap file.

use std::time::Duration;

use ubond_lab::scenario;

#[test]
fn capture_of_a_member_link() {
    let mut lab = scenario::lab(4, 4).expect("seed scenario 4");
    let (a, b) = (lab.node("hostA").expect("hostA"), lab.node("hostB").expect("hostB"));
    let cable = lab.link("hostA:eth0").expect("hostA:eth0 is linked");
    lab.sim.start_capture(cable);
    lab.sim.run_for(Duration::from_secs(5));
    let now = lab.sim.now();
    let ip = lab.sim.host(b).ip();
    lab.sim.host_mut(a).start_ping(now, ip, Duration::from_secs(1), 3);
    lab.sim.poke(a);
    lab.sim.run_for(Duration::from_secs(4));
    let cap = lab.sim.capture(cable).expect("capture started");
    let lacpdus = cap.iter().filter(|c| c.frame.get(12..14) == Some(&[0x88, 0x09][..])).count();
    // Fast rate: about one PDU a second each way, plus the exchanges of the negotiation.
    assert!(lacpdus >= 16, "only {lacpdus} LACPDUs in 9 s");
    assert!(cap.windows(2).all(|w| w[0].at <= w[1].at), "capture out of order");
    let pcap = lab.sim.pcap(cable);
    let records = pcap.len() - 24;
    assert_eq!(records, cap.iter().map(|c| 16 + c.frame.len()).sum::<usize>());
    // If tcpdump is installed, it must read the file.
    let path = std::env::temp_dir().join(format!("ubond-lab-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).expect("write pcap");
    if let Ok(out) = std::process::Command::new("tcpdump").arg("-nr").arg(&path).output() {
        let text = String::from_utf8_lossy(&out.stdout);
        println!("{}", text.lines().take(8).collect::<Vec<_>>().join("\n"));
        assert!(out.status.success(), "tcpdump: {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("LACP"), "tcpdump saw no LACP");
    }
    let _ = std::fs::remove_file(&path);
}
