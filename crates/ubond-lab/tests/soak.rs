//! One hour of virtual time of scenario 4's topology, pinging every second, must run in a
//! few seconds even unoptimized. Prints the speed-up; asserts only a very loose bound.

use std::time::Duration;

use ubond_lab::scenario::SwitchLab;

#[test]
fn one_virtual_hour_of_the_switch_lab() {
    let wall = std::time::Instant::now();
    let mut lab = SwitchLab::new(4);
    lab.sim.run_for(Duration::from_secs(10));
    let start = lab.sim.now();
    let ip = lab.sim.host(lab.b).ip();
    lab.sim.host_mut(lab.a).start_ping(start, ip, Duration::from_secs(1), 3600);
    lab.sim.poke(lab.a);
    lab.sim.run_for(Duration::from_secs(3600));
    let took = wall.elapsed();
    let virt = lab.sim.now().saturating_duration_since(start).as_secs_f64();
    let stats = lab.sim.stats();
    println!(
        "1 h of virtual time in {:.2} s of wall time: {:.0}x real time; {} steps, {} frames",
        took.as_secs_f64(),
        virt / took.as_secs_f64().max(1e-9),
        stats.steps,
        stats.frames_delivered
    );
    let (sent, answered) =
        lab.sim.host(lab.a).ping_window(start, start + Duration::from_secs(3599));
    assert_eq!((sent, answered), (3599, 3599));
    assert!(took < Duration::from_secs(300), "far too slow: {took:?}");
}
