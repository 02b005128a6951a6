//! Link monitors: the MII (carrier) monitor with `updelay`/`downdelay`, and the ARP and IPv6
//! NS monitor. Each is sans-IO: observations and time go in, link-state
//! transitions and deadlines come out.

pub mod arp;
pub mod mii;
