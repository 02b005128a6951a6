//! What a bond changes on an interface it enslaves, and puts back: the slave sysctls and the
//! MAC address. NEEDS ROOT (fails without it); each test in its own network namespace, on a
//! veth pair without addresses.

mod common;

use common::Netns;
use ubond_sys::{link, sysctl};
use ubond_wire::MacAddr;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

#[test]
fn slave_sysctls_are_set_then_put_back_as_found() {
    let ns = Netns::new("slave_sysctls_are_set_then_put_back_as_found");
    ns.ip("link add va type veth peer name vb");
    ns.run(|| {
        let files = [
            "/proc/sys/net/ipv6/conf/va/disable_ipv6",
            "/proc/sys/net/ipv4/conf/va/arp_ignore",
            "/proc/sys/net/ipv4/conf/va/rp_filter",
        ];
        // Values other than those a slave gets, so that putting back is seen.
        std::fs::write(files[0], "0").expect("disable_ipv6");
        std::fs::write(files[1], "2").expect("arp_ignore");
        std::fs::write(files[2], "2").expect("rp_filter");
        let found = sysctl::set_slave("va");
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(files.map(read), ["1", "8", "1"]);
        // vb is left alone.
        assert_eq!(read("/proc/sys/net/ipv4/conf/vb/arp_ignore"), "0");

        sysctl::restore_slave("va", &found);
        assert_eq!(files.map(read), ["0", "2", "2"]);
        // Values found on va are not va's to give to vb.
        let before = read("/proc/sys/net/ipv4/conf/vb/arp_ignore");
        sysctl::restore_slave("vb", &sysctl::set_slave("va"));
        assert_eq!(read("/proc/sys/net/ipv4/conf/vb/arp_ignore"), before);
        assert_eq!(read(files[1]), "8");
        assert!(sysctl::set_slave("nope0").is_empty());
    });
}

#[test]
fn a_mac_change_keeps_the_admin_state() {
    let ns = Netns::new("a_mac_change_keeps_the_admin_state");
    ns.ip("link add va type veth peer name vb");
    ns.run(|| {
        let mac: MacAddr = "02:00:00:00:0a:07".parse().expect("mac");
        link::set_up("va", true).expect("up");
        link::change_mac("va", mac).expect("change while up");
        assert_eq!(link::mac("va").expect("mac"), mac);
        assert!(link::link_state("va").expect("state").admin_up);
        link::change_mac("va", mac).expect("the same again is nothing");

        let other: MacAddr = "02:00:00:00:0a:08".parse().expect("mac");
        link::set_up("va", false).expect("down");
        link::change_mac("va", other).expect("change while down");
        assert_eq!(link::mac("va").expect("mac"), other);
        assert!(!link::link_state("va").expect("state").admin_up);
        let e = link::change_mac("nope0", mac).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("nope0"), "{e}");
    });
}
