//! Linux mechanisms for the ubond daemon, each behind a small safe API:
//!
//! - [`bond_device`]: the bond's own device, one end of a veth pair that outlives the daemon
//!   ([`bond_device::BondDevice`]);
//! - [`packet`]: an `AF_PACKET` socket on each slave ([`packet::PacketSocket`]), with batched
//!   receive and send into caller-owned buffers ([`packet::FrameBatch`]);
//! - [`link`]: interface facts and control through rtnetlink, link events
//!   ([`link::LinkMonitor`]), speed and duplex through ethtool ([`link::speed_duplex`]);
//! - [`addr`]: IP addresses and default routes through rtnetlink ([`addr::add_address`],
//!   [`addr::add_default_route`], [`addr::ip_addresses`]), address events
//!   ([`addr::AddrMonitor`]);
//! - [`netns`]: named network namespaces as iproute2 keeps them ([`netns::NetNs`]);
//! - [`icmp`]: a raw ICMP socket for echo probes ([`icmp::IcmpSocket`]), so no `ping` is needed;
//! - [`sysctl`]: the sysctls a bond sets on its slaves, and putting them back;
//! - [`igmp`]: the multicast groups a device has joined (`/proc/net/igmp{,6}`);
//! - [`bpf`]: the in-kernel fast path (tc programs and their maps);
//! - [`caps`]: keeping only the capabilities needed ([`caps::keep_only`]);
//! - [`process`]: process-wide settings ([`process::default_sigpipe`]);
//! - [`service`]: the service manager's notifications (`sd_notify(3)`);
//! - [`bond_device`]: the bond's own device, a veth pair that outlives the daemon;
//! - [`boot`]: this boot's identifier and the time since it began;
//! - [`bpffs`]: the BPF file system where the fast path pins what outlives the daemon.
//!
//! netlink-packet-route encodes and decodes every rtnetlink message; the exchanges on the
//! socket are written once, in a private module shared by [`link`] and [`addr`].
//!
//! Errors are [`SysError`]s, which name the operation and the interface. Everything works in
//! the network namespace of the calling thread. This is the only ubond crate with `unsafe`
//! code; each module that needs it says so, and each block carries a `SAFETY` comment.

pub mod addr;
pub mod bond_device;
pub mod boot;
pub mod bpf;
pub mod bpffs;
pub mod caps;
pub mod error;
pub mod icmp;
pub mod igmp;
pub mod link;
pub mod netns;
mod nft;
pub mod nft_rx;
pub mod nft_tx;
pub mod packet;
pub mod process;
pub mod redirect;
mod rtnl;
pub mod service;
pub mod sysctl;

pub use error::{Result, SysError};
pub use link::{Duplex, LinkEvent, LinkMonitor, LinkState, OperState};
pub use packet::{
    AddressSet, ControlFrames, Fanout, FrameBatch, Ipv4Octets, OctetSet, PacketOptions,
    PacketSocket, PacketStats, Receive, SendStatus, VNET_HDR_LEN,
};
