//! Link monitors: the MII (carrier) monitor with `updelay`/`downdelay`, and (later) the ARP
//! and IPv6 NS monitors. Each is sans-IO: observations and time go in, link-state
//! transitions and deadlines come out.

pub mod mii;
