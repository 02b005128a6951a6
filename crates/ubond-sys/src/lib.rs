//! Linux mechanisms for the ubond daemon, each behind a small safe API:
//!
//! - [`tap`]: the bond's own device, a TAP interface ([`tap::Tap`]);
//! - [`packet`]: an `AF_PACKET` socket on each slave ([`packet::PacketSocket`]), with batched
//!   receive and send into caller-owned buffers ([`packet::FrameBatch`]);
//! - [`link`]: interface facts and control through rtnetlink, link events
//!   ([`link::LinkMonitor`]), speed and duplex through ethtool ([`link::speed_duplex`]);
//! - [`process`]: the client's process-wide settings ([`process::default_sigpipe`]);
//! - [`addr`]: IP addresses and default routes through rtnetlink ([`addr::add_address`],
//!   [`addr::add_default_route`]);
//! - [`netns`]: named network namespaces as iproute2 keeps them ([`netns::NetNs`]);
//! - [`icmp`]: a raw ICMP socket for echo probes ([`icmp::IcmpSocket`]), so no `ping` is needed.
//!
//! Errors are [`SysError`]s, which name the operation and the interface. Everything works in
//! the network namespace of the calling thread. This is the only ubond crate with `unsafe`
//! code; each module that needs it says so, and each block carries a `SAFETY` comment.

pub mod addr;
pub mod bpf;
pub mod error;
pub mod icmp;
pub mod link;
pub mod netns;
pub mod packet;
pub mod process;
pub mod tap;

pub use error::{Result, SysError};
pub use link::{Duplex, LinkEvent, LinkMonitor, LinkState, OperState};
pub use packet::{FrameBatch, PacketOptions, PacketSocket, PacketStats, SendStatus, VNET_HDR_LEN};
pub use tap::{Tap, TapOptions};
