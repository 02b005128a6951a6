//! Samples written after the formats' documentation.
#![allow(dead_code)]

use ubond_config::SourceFile;

/// The Debian wiki's active-backup example (slaves name their master, `bond-slaves none`).
pub const WIKI_ACTIVE_BACKUP: &str = "\
# The loopback network interface
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet manual
    bond-master bond0
    bond-primary eth0

auto eth1
iface eth1 inet manual
    bond-master bond0

auto bond0
iface bond0 inet static
    address 192.168.1.10
    netmask 255.255.255.0
    network 192.168.1.0
    gateway 192.168.1.1
    bond-slaves none
    bond-mode active-backup
    bond-miimon 100
    bond-downdelay 200
    bond-updelay 200
";

/// ifenslave README's 802.3ad example.
pub const IFENSLAVE_LACP: &str = "\
auto bond0
iface bond0 inet static
    address 10.0.0.2/24
    gateway 10.0.0.1
    bond-slaves eth0 eth1
    bond-mode 802.3ad
    bond-miimon 100
    bond-lacp-rate 1
    bond-xmit-hash-policy layer3+4
    bond-min-links 1
";

/// The RHEL 7 networking guide's active-backup bond.
pub fn rhel_active_backup() -> Vec<SourceFile> {
    vec![
        SourceFile::new(
            "/etc/sysconfig/network-scripts/ifcfg-bond0",
            "DEVICE=bond0\nNAME=bond0\nTYPE=Bond\nBONDING_MASTER=yes\nIPADDR=192.168.1.10\nPREFIX=24\nGATEWAY=192.168.1.1\nONBOOT=yes\nBOOTPROTO=none\nBONDING_OPTS=\"mode=active-backup miimon=100 updelay=200 downdelay=200 primary=eth0\"\n",
        ),
        SourceFile::new(
            "/etc/sysconfig/network-scripts/ifcfg-eth0",
            "DEVICE=eth0\nNAME=bond0-slave\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\nMASTER=bond0\nSLAVE=yes\n",
        ),
        SourceFile::new(
            "/etc/sysconfig/network-scripts/ifcfg-eth1",
            "DEVICE=eth1\nNAME=bond0-slave\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\nMASTER=bond0\nSLAVE=yes\n",
        ),
    ]
}
