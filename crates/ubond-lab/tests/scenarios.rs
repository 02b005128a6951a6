//! Each of the seed's environments (a built-in scenario file) as a test.

use ubond_lab::scenario;

fn run(n: u32, seed: u64) -> scenario::ScenarioResult {
    let r = scenario::run(n, seed).expect("built-in scenario");
    println!("{}", r.render());
    assert!(r.passed(), "scenario {n} seed {seed} failed:\n{}", r.render());
    let again = scenario::run(n, seed).expect("built-in scenario");
    assert_eq!(
        (r.digest, &r.timeline),
        (again.digest, &again.timeline),
        "file run not reproducible"
    );
    r
}

#[test]
fn seed1_two_hosts_two_linux_bridges() {
    run(1, 1);
}

#[test]
fn seed2_patched_bridges_virtio_refused() {
    run(2, 2);
}

#[test]
fn seed3_patched_bridges_e1000() {
    run(3, 3);
}

#[test]
fn seed4_switch_with_lacp_bonds() {
    let r = run(4, 4);
    assert_eq!(r.captures.len(), 1);
    let (name, pcap) = &r.captures[0];
    assert_eq!(name, "hostA:eth0");
    assert!(pcap.len() > 24 + 50 * 16, "capture too small: {} octets", pcap.len());
}
