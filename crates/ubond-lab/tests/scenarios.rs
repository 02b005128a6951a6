//! Each built-in scenario as a test.

use ubond_lab::scenario;

fn run(n: u32, seed: u64) -> scenario::ScenarioResult {
    let r = scenario::run(n, seed).expect("built-in scenario");
    println!("{}", r.render());
    assert!(r.passed(), "scenario {n} seed {seed} failed:\n{}", r.render());
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
    run(4, 4);
}
