//! The bond's own device, made to outlive the daemon: one end of a veth pair.
//!
//! Users configure the device named like the bond (`bond0`): addresses, routes, MTU, up/down.
//! The other end of the pair (the *data-path end*, marked with the interface alias
//! `ubond data path of bond0`) is where the daemon meets the stack: what the stack sends
//! through `bond0` arrives at the data-path end, where a packet socket reads it, and what the
//! daemon sends on the data-path end arrives at `bond0` as received. The in-kernel fast path
//! does without the data-path end: its programs take frames at `bond0`'s egress and redirect
//! received ones into `bond0`'s ingress.
//!
//! Why a veth pair and not a TAP device: a TAP, even a persistent one, loses its carrier the
//! moment the last process holding it closes it (the tun driver calls `netif_carrier_off` when
//! its last queue detaches), and a carrier loss flushes the device's neighbour entries, marks its
//! routes `linkdown` and, with IPv6, restarts duplicate address detection. A veth pair keeps its
//! carrier, addresses, routes and neighbours whether or not a daemon runs, so a daemon that
//! crashes or restarts is invisible to the stack. The bond's carrier is the data-path end's
//! administrative state: veth gives `bond0` carrier only while its peer is up.
//!
//! The data-path end takes no part in the stack: no ARP (`IFF_NOARP`), no IPv6, and the largest
//! MTU veth allows, so any frame `bond0` may carry passes it.

use std::io;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::error::{Result, SysError};
use crate::link;
use crate::packet::{Fanout, PacketOptions, PacketSocket, Receive};
use crate::rtnl::request as rtnl_request;

/// The alias that marks the data-path end of bond `name` (`ip link` shows it).
pub fn data_path_alias(name: &str) -> String {
    format!("ubond data path of {name}")
}

/// The MTU given to the data-path end: veth's largest, so that it never drops a frame the
/// bond's device may carry.
const DATA_PATH_MTU: u32 = 65535;

/// What [`BondDevice::find`] found under a bond's name.
#[derive(Debug)]
pub enum Found {
    /// A bond device made by ubond (a veth whose peer carries the data-path alias).
    Ours(BondDevice),
    /// No interface has that name.
    Absent,
    /// An interface that is not a ubond bond has the name; the string says what it is.
    Foreign(String),
}

/// A bond's device and its data-path end (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondDevice {
    name: String,
    ifindex: u32,
    peer: String,
    peer_ifindex: u32,
}

impl BondDevice {
    /// Creates the device `name` and its data-path end, both administratively down except
    /// the data-path end, which is up (so the device has carrier once it is brought up; call
    /// [`BondDevice::set_carrier`] to change that). Fails if an interface has the name; leaves
    /// nothing behind when a step fails.
    pub fn create(name: &str) -> Result<BondDevice> {
        const OP: &str = "create bond device";
        link::check_name(name).map_err(|e| e.with_operation(OP))?;
        let peer = peer_name(name);
        let mut peer_msg = LinkMessage::default();
        peer_msg.attributes.push(LinkAttribute::IfName(peer.clone()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        rtnl_request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL, OP, Some(name))?;
        let made = (|| {
            let dev = BondDevice {
                name: name.to_owned(),
                ifindex: link::ifindex(name)?,
                peer_ifindex: link::ifindex(&peer)?,
                peer,
            };
            dev.prepare_peer()?;
            Ok(dev)
        })();
        if made.is_err() {
            // Deleting one end of a veth pair deletes both.
            let _ = delete_link(name);
        }
        made.map_err(|e: SysError| e.with_operation(OP))
    }

    /// Looks for bond `name`'s device, as a restarted daemon does before it creates one.
    pub fn find(name: &str) -> Result<Found> {
        let index = match link::ifindex(name) {
            Ok(i) => i,
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(Found::Absent),
            Err(e) => return Err(e),
        };
        let Some(peer_ifindex) = link::veth_peer(name)? else {
            return Ok(Found::Foreign(format!("{name} exists and is not a veth device")));
        };
        let peer = link::ifname(peer_ifindex)?;
        let alias = link::link_state(&peer)?.alias;
        if alias.as_deref() != Some(data_path_alias(name).as_str()) {
            return Ok(Found::Foreign(format!(
                "{name} is a veth device whose peer {peer} is not ubond's data path"
            )));
        }
        Ok(Found::Ours(BondDevice { name: name.to_owned(), ifindex: index, peer, peer_ifindex }))
    }

    /// The device's name (the bond's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The data-path end's name.
    pub fn peer_name(&self) -> &str {
        &self.peer
    }

    /// The data-path end's interface index.
    pub fn peer_ifindex(&self) -> u32 {
        self.peer_ifindex
    }

    /// Gives the device carrier or takes it away (the data-path end up or down), as a kernel
    /// bond's carrier follows its slaves.
    pub fn set_carrier(&self, up: bool) -> Result<()> {
        link::set_up(&self.peer, up).map_err(|e| e.with_operation("set carrier"))
    }

    /// Whether the device has carrier now (its data-path end is up).
    pub fn carrier(&self) -> Result<bool> {
        Ok(link::link_state(&self.peer)?.admin_up)
    }

    /// Opens a packet socket through which the daemon's data path reads what the stack sends
    /// through the device and writes what the device receives. `vnet_hdr` as in
    /// [`PacketOptions::vnet_hdr`]; it receives `receive`, and shares the frames with the
    /// other sockets of `fanout`, if given ([`PacketOptions::fanout`]).
    pub fn open_data_socket(
        &self,
        vnet_hdr: bool,
        receive: Receive,
        fanout: Option<Fanout>,
    ) -> Result<PacketSocket> {
        PacketSocket::open(
            &self.peer,
            PacketOptions {
                slow_protocols: false,
                promiscuous: false,
                ignore_outgoing: true,
                restore_vlan_tags: true,
                vnet_hdr,
                receive,
                fanout,
            },
        )
    }

    /// Deletes the device and its data-path end (a bond being deleted).
    pub fn delete(self) -> Result<()> {
        delete_link(&self.name)
    }

    /// The data-path end takes no part in the stack and passes every frame the device may
    /// carry.
    fn prepare_peer(&self) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = self.peer_ifindex;
        msg.header.flags = LinkFlags::Noarp | LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Noarp | LinkFlags::Up;
        msg.attributes.push(LinkAttribute::Mtu(DATA_PATH_MTU));
        msg.attributes.push(LinkAttribute::IfAlias(data_path_alias(&self.name)));
        rtnl_request(RouteNetlinkMessage::SetLink(msg), 0, "set up data path", Some(&self.peer))?;
        // No IPv6 on the data-path end: no link-local address, no router or neighbour
        // solicitations of its own. Absent IPv6 support is fine.
        let path = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", self.peer);
        match std::fs::write(&path, "1") {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SysError::new("turn IPv6 off", Some(&self.peer), e)),
        }
    }
}

/// The name of the data-path end a bond named `bond` has (see [`BondDevice::peer_name`]).
pub fn data_path_end_of(bond: &str) -> String {
    peer_name(bond)
}

/// A name for the data-path end of bond `name`: `name` with a `-dp` suffix when it fits in
/// the kernel's 15 characters, else a short name made from a hash of `name`. The alias, not
/// the name, is what marks the device as ubond's.
fn peer_name(name: &str) -> String {
    let candidate = format!("{name}-dp");
    if candidate.len() <= 15 {
        return candidate;
    }
    // FNV-1a: stable across builds, so a name is chosen the same way every time.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("ubd{:08x}-dp", hash as u32)
}

/// Deletes interface `name` (`RTM_DELLINK`).
fn delete_link(name: &str) -> Result<()> {
    const OP: &str = "delete interface";
    let mut msg = LinkMessage::default();
    msg.header.index = link::ifindex(name).map_err(|e| e.with_operation(OP))?;
    rtnl_request(RouteNetlinkMessage::DelLink(msg), 0, OP, Some(name)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_names_fit_the_kernel_limit() {
        assert_eq!(peer_name("bond0"), "bond0-dp");
        assert_eq!(peer_name("bond-uplink"), "bond-uplink-dp");
        let long = peer_name("a-very-long-nam");
        assert!(long.len() <= 15, "{long}");
        assert_eq!(long, peer_name("a-very-long-nam"), "stable");
        assert_ne!(long, peer_name("a-very-long-nan"));
    }
}
