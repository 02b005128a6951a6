//! A slave's frames: an `AF_PACKET` `SOCK_RAW` socket bound to one interface.
//!
//! The socket sees every frame the interface receives (`ETH_P_ALL`), with the Ethernet header,
//! and sends whole frames as given. It joins the Slow Protocols group `01:80:c2:00:00:02` so
//! LACPDUs and Marker PDUs reach it, can put the interface into promiscuous mode (balance-alb,
//! or when the bond's MAC is not the slave's), and by default does not see its own
//! transmissions (`PACKET_IGNORE_OUTGOING`). Memberships and promiscuity are tied to the
//! socket: the kernel undoes them when it closes.
//!
//! Nonblocking; put it in a `poll`/`epoll` set ([`AsFd`]). [`PacketSocket::recv_batch`] and
//! [`PacketSocket::send_batch_part`] move up to [`MAX_BATCH`] frames per system call
//! (`recvmmsg`/`sendmmsg`) through a caller-owned [`FrameBatch`], with no allocation per frame.
//!
//! Several sockets on one interface can share its frames: [`PacketOptions::fanout`] puts them
//! in a fanout group (`PACKET_FANOUT`, by flow hash), and each frame reaches one of them, every
//! frame of a flow the same one, so threads reading one socket each keep each flow in order.
//! What a socket receives at all is [`Receive`] (a classic BPF socket filter), set before the
//! socket is bound so that no other frame slips in ([`PacketOptions::receive`]) and changed at
//! any time ([`PacketSocket::set_receive`]); a socket may be shared by threads (one reading,
//! others sending or changing its filter). A socket opened to receive nothing outside a fanout
//! group is not bound to `ETH_P_ALL` at all until it is asked for frames, so that one that
//! only sends costs the interface's traffic nothing ([`PacketSocket::listening`]).
//!
//! GSO: with [`PacketOptions::vnet_hdr`] (`PACKET_VNET_HDR`) every frame read or written is
//! preceded by a [`VNET_HDR_LEN`]-byte `struct virtio_net_hdr`, as on a tap with
//! `IFF_VNET_HDR`. The kernel then hands over its GSO super-frames (up to 64 KiB) whole, with
//! the checksum state in the header, and takes such frames for sending, segmenting them only
//! where the interface cannot (on veth, never). A received frame's header can be written to a
//! tap unchanged. GSO frames of a kind the header cannot describe (only TCP and UDP-L4
//! segmentation can be: a UDP tunnel aggregated by GRO on the interface cannot) are dropped by
//! the kernel when read; turn GRO off on such an interface.
//!
//! VLAN tags: the kernel takes the 802.1Q/802.1ad tag out of every received frame (in the
//! driver with VLAN offload, or in the receive path itself) and reports it out of band. With
//! [`PacketOptions::restore_vlan_tags`] (the default) the socket reads it (`PACKET_AUXDATA`) and
//! puts the tag back, so frames come out as they were on the wire; receive buffers then keep
//! 4 bytes of room for it.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use ubond_wire::MacAddr;

use crate::error::{Result, SysError};

/// The Slow Protocols multicast address (IEEE 802.3 Annex 57A): LACPDUs and Marker PDUs.
pub const SLOW_PROTOCOLS_MAC: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
/// Most frames one [`PacketSocket::recv_batch`] or [`PacketSocket::send_batch`] call moves.
pub const MAX_BATCH: usize = 64;

const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_DROP_MEMBERSHIP: libc::c_int = 2;
const PACKET_MR_MULTICAST: libc::c_ushort = 0;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_AUXDATA: libc::c_int = 8;
const PACKET_VNET_HDR: libc::c_int = 15;
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `PACKET_FANOUT_HASH`: by the frame's flow hash.
const PACKET_FANOUT_HASH: u32 = 0;
/// `PACKET_FANOUT_FLAG_UNIQUEID`: the kernel chooses a new group's id (Linux 4.19).
const PACKET_FANOUT_FLAG_UNIQUEID: u32 = 0x2000;
/// `PACKET_FANOUT_FLAG_IGNORE_OUTGOING`: the group's `PACKET_IGNORE_OUTGOING` (Linux 6.2; a
/// member's own option does not apply to the group).
const PACKET_FANOUT_FLAG_IGNORE_OUTGOING: u32 = 0x4000;
/// `PACKET_OUTGOING`, a frame's type as a socket filter reads it.
const PACKET_OUTGOING: u32 = 4;
/// `SKF_AD_OFF + SKF_AD_PKTTYPE`: where a classic BPF filter loads a frame's packet type.
const SKF_AD_PKTTYPE: u32 = (-0x1000i32 + 4) as u32;
/// `SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT`: whether a frame's VLAN tag is in its metadata.
const SKF_AD_VLAN_TAG_PRESENT: u32 = (-0x1000i32 + 48) as u32;
const SO_SNDBUFFORCE: libc::c_int = 32;
/// Length of the `struct virtio_net_hdr` that precedes every frame with
/// [`PacketOptions::vnet_hdr`] (as on a tap with `IFF_VNET_HDR`).
pub const VNET_HDR_LEN: usize = 10;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: `csum_start`/`csum_offset` are valid.
const VNET_F_NEEDS_CSUM: u8 = 1;
const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_CSUM_VALID: u32 = 1 << 7;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const ETH_P_8021Q: u16 = 0x8100;
/// Room kept at the end of a receive buffer for a restored VLAN tag.
const VLAN_TAG_LEN: usize = 4;
/// Control buffer per received frame, in 8-byte words: room for one `PACKET_AUXDATA`
/// message (`CMSG_SPACE(20)` = 40 bytes) with margin.
const CTRL_WORDS: usize = 8;

/// `struct tpacket_auxdata`.
#[repr(C)]
#[derive(Clone, Copy)]
struct TpacketAuxdata {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}
const ETH_P_ALL: u16 = 0x0003;

/// `struct packet_mreq`.
#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

/// A packet socket's counters since they were last read ([`PacketSocket::take_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketStats {
    /// Frames the socket received (queued for it, including the dropped ones).
    pub packets: u32,
    /// Frames dropped because the socket's receive buffer was full.
    pub drops: u32,
}

/// What the kernel says of a received frame's transport (TCP/UDP) checksum, from
/// `PACKET_AUXDATA` ([`PacketSocket::recv_with_checksum`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxChecksum {
    /// Nothing (no auxiliary data: [`PacketOptions::restore_vlan_tags`] off): verify it.
    Unknown,
    /// Not computed yet (`TP_STATUS_CSUMNOTREADY`): the sender is on this host and left it
    /// to checksum offload, as veth and tap peers do; the field holds only the
    /// pseudo-header's sum. The frame is as intact as the host's memory.
    Partial,
    /// Verified by the NIC (`TP_STATUS_CSUM_VALID`).
    Valid,
}

/// How to open a [`PacketSocket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketOptions {
    /// Join the Slow Protocols group [`SLOW_PROTOCOLS_MAC`] (default: on).
    pub slow_protocols: bool,
    /// Put the interface into promiscuous mode while the socket is open (default: off).
    pub promiscuous: bool,
    /// Do not receive the frames this host sends on the interface (default: on).
    pub ignore_outgoing: bool,
    /// Put back into received frames the VLAN tag the kernel took out (default: on).
    pub restore_vlan_tags: bool,
    /// `PACKET_VNET_HDR`: frames carry a leading `virtio_net_hdr` and may be GSO super-frames
    /// (default: off).
    pub vnet_hdr: bool,
    /// What the socket receives from the moment it is bound (default: every frame).
    pub receive: Receive,
    /// Join a fanout group (default: none): the socket then receives only its share of the
    /// interface's frames (see the module documentation).
    pub fanout: Option<Fanout>,
}

/// What a packet socket receives ([`PacketOptions::receive`], [`PacketSocket::set_receive`]),
/// decided by a classic BPF socket filter (`SO_ATTACH_FILTER`). The kernel hands every frame
/// to packet sockets before tc ingress runs; a frame with an accelerated VLAN tag is seen by
/// the filter without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Receive {
    /// Every frame (no filter).
    #[default]
    All,
    /// A bond's control frames: Slow Protocols (EtherType 0x8809: LACP, Marker), micro-BFD
    /// (UDP port 6784 over IPv4 or IPv6, RFC 7130), and what [`ControlFrames`] adds.
    Control(ControlFrames),
    /// ARP frames only (EtherType 0x0806).
    Arp,
    /// The frames sent to one of these addresses (the ones the userspace path's tc filters
    /// leave to the data threads, see [`crate::redirect::RxTo::AsReceived`]).
    To(AddressSet),
    /// Every frame but the untagged IPv4 ones these octets select (the ones the userspace
    /// path's tc filter on a data-path end sends in the kernel, see
    /// [`crate::redirect::TxTo::Ipv4`]).
    AllBut(Ipv4Octets),
    /// Every frame but the ones an nftables table hashes by `layer3+4`
    /// ([`crate::nft_tx::NftMatch::Layer34`]): untagged IPv4 to a unicast address, first
    /// octet of the IP header 0x45, no fragment, TCP or UDP, at least 24 octets from the IP
    /// header on; untagged IPv6 to a unicast address, next header TCP or UDP, at least 44
    /// octets from the IP header on.
    AllButL34,
    /// Every frame but the ones an nftables table hashes by `layer2+3`
    /// ([`crate::nft_tx::NftMatch::Layer23`]): untagged IPv4 to a unicast address, at least
    /// 20 octets from the IP header on, not ICMP; untagged IPv6 to a unicast address, at
    /// least 40 octets from the IP header on, next header not ICMPv6.
    AllButL23,
    /// Every frame but balance-alb's balanced ones an nftables table sends
    /// ([`crate::nft_tx::NftMatch::Alb`]): untagged IPv4 to a unicast address, at least 20
    /// octets from the IP header on, not IGMP, not to 255.255.255.255; untagged IPv6 to a
    /// unicast address, next header TCP or UDP, from a specified address (not `::`).
    AllButAlb,
    /// Every frame but balance-rr's an nftables table sends
    /// ([`crate::nft_tx::NftMatch::RoundRobin`]): only the tagged ones (in the metadata, or
    /// EtherType 0x8100 or 0x88a8) and IGMP over IPv4 (at least 24 octets, protocol 2).
    AllButRr,
    /// The TCP a slave's tc filters leave on it ([`crate::redirect::RxMatch::AllButTcp`])
    /// that the table of broadcast's copies does not take ([`crate::nft_rx`]): untagged
    /// IPv4 TCP without a fragment whose IP header has options (first octet not 0x45), and
    /// untagged IPv6 with next header TCP; at least as long as tc's filter reads (26 and 22
    /// octets).
    OtherTcp,
    /// Nothing: the socket only sends, or another path takes its frames. A socket opened so,
    /// outside a fanout group, is not even handed the interface's frames until it is asked
    /// for some ([`PacketSocket::listening`]).
    Nothing,
}

/// A set of octet values (a value, as [`Receive`] is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OctetSet([u32; 8]);

impl OctetSet {
    /// Adds `v`.
    pub fn insert(&mut self, v: u8) {
        self.0[usize::from(v >> 5)] |= 1 << (v & 31);
    }

    /// Whether `v` is in the set.
    pub fn contains(&self, v: u8) -> bool {
        self.0[usize::from(v >> 5)] & (1 << (v & 31)) != 0
    }

    /// The values, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=u8::MAX).filter(|&v| self.contains(v))
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// The values in either set.
    pub fn union(&self, other: &OctetSet) -> OctetSet {
        let mut u = *self;
        u.0.iter_mut().zip(other.0.iter()).for_each(|(a, b)| *a |= b);
        u
    }
}

impl FromIterator<u8> for OctetSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = OctetSet::default();
        iter.into_iter().for_each(|v| set.insert(v));
        set
    }
}

/// Untagged IPv4 frames to a unicast address (the destination's I/G bit clear) from a source
/// whose last octet is `src_last`, to a destination whose last octet is in `dst_last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ipv4Octets {
    /// The source address's last octet.
    pub src_last: u8,
    /// The destination address's last octets.
    pub dst_last: OctetSet,
}

impl Ipv4Octets {
    /// Whether `frame` (a whole Ethernet frame, any tag in line) is one of these.
    pub fn matches(&self, frame: &[u8]) -> bool {
        frame.len() >= 14
            && frame[0] & 1 == 0
            && frame[11] == self.src_last
            && frame[12..14] == [0x08, 0x00]
            && self.dst_last.contains(frame[5])
    }
}

/// A few hardware addresses, for [`Receive::To`] (a value, as [`Receive`] is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressSet {
    macs: [[u8; 6]; AddressSet::CAPACITY],
    len: u8,
}

impl AddressSet {
    /// The most addresses a set holds.
    pub const CAPACITY: usize = 16;

    /// The set of `macs`; `None` if they are more than [`AddressSet::CAPACITY`].
    pub fn new(macs: &[[u8; 6]]) -> Option<AddressSet> {
        let mut set = AddressSet::default();
        set.macs.get_mut(..macs.len())?.copy_from_slice(macs);
        set.len = u8::try_from(macs.len()).ok()?;
        Some(set)
    }

    /// The addresses.
    pub fn as_slice(&self) -> &[[u8; 6]] {
        &self.macs[..usize::from(self.len)]
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A fanout group for [`PacketOptions::fanout`] (`PACKET_FANOUT_HASH`: spread by flow hash).
/// A frame the chosen socket's filter refuses is not given to another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fanout {
    /// A new group, whose id the kernel chooses ([`PacketSocket::fanout_group`] reads it).
    New,
    /// The group with this id, on the same interface.
    Join(u16),
}

/// What became of a frame given to [`PacketSocket::send_vectored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// The kernel took it.
    Sent,
    /// The socket's send buffer is full (`EAGAIN`): nothing was sent; try again once the
    /// socket is writable.
    WouldBlock,
    /// The interface's queue dropped it (`ENOBUFS`), or the link is down (`ENETDOWN`).
    Dropped,
}

impl Default for PacketOptions {
    fn default() -> Self {
        PacketOptions {
            slow_protocols: true,
            promiscuous: false,
            ignore_outgoing: true,
            restore_vlan_tags: true,
            vnet_hdr: false,
            receive: Receive::All,
            fanout: None,
        }
    }
}

/// An `AF_PACKET` raw socket on one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
    promiscuous: bool,
    restore_vlan: bool,
    vnet: bool,
    /// The fanout group it joined.
    fanout: Option<u16>,
    /// Outgoing frames are to be refused by the socket's filter (a fanout group on a kernel
    /// that cannot ignore them for the group).
    refuse_outgoing: bool,
    /// Bound to every protocol (`ETH_P_ALL`): the interface hands the socket each frame it
    /// receives (to its filter). A socket opened to receive nothing, outside a fanout group,
    /// is bound to protocol 0 instead until it is asked for frames ([`PacketSocket::listening`]).
    listening: AtomicBool,
}

impl PacketSocket {
    /// Opens a packet socket on interface `name` with `options`.
    pub fn open(name: &str, options: PacketOptions) -> Result<PacketSocket> {
        const OP: &str = "open packet socket";
        let ifindex = crate::link::ifindex(name).map_err(|e| e.with_operation(OP))?;
        // Protocol 0 until bound: no frame from another interface slips in before `bind`.
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(SysError::last_os(OP, Some(name)));
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut sock = PacketSocket {
            fd,
            ifindex,
            name: name.to_owned(),
            promiscuous: false,
            restore_vlan: options.restore_vlan_tags,
            vnet: options.vnet_hdr,
            fanout: None,
            refuse_outgoing: false,
            listening: AtomicBool::new(false),
        };
        if options.vnet_hdr {
            sock.setsockopt(PACKET_VNET_HDR, &1 as &libc::c_int, "ask for virtio-net headers")?;
        }
        if options.restore_vlan_tags {
            sock.setsockopt(PACKET_AUXDATA, &1 as &libc::c_int, "ask for VLAN tags")?;
        }

        if options.ignore_outgoing {
            sock.setsockopt(PACKET_IGNORE_OUTGOING, &1 as &libc::c_int, "ignore outgoing frames")?;
        }
        if options.slow_protocols {
            sock.join_multicast(SLOW_PROTOCOLS_MAC)?;
        }
        if options.promiscuous {
            sock.set_promiscuous(true)?;
        }
        // The filter before the bind, so that nothing else is queued; a socket joining a group
        // receives nothing until it is in it (it would get copies of the group's frames).
        let first = if options.fanout.is_some() { Receive::Nothing } else { options.receive };
        if first != Receive::All {
            sock.attach_filter(first)?;
        }

        // A socket that is to receive nothing and share no group's frames is bound to protocol
        // 0: it sends on the interface, and the kernel does not hand it (nor run its filter
        // on) a single frame until `set_receive` asks for some.
        if first == Receive::Nothing && options.fanout.is_none() {
            sock.bind(0)?;
        } else {
            sock.bind(ETH_P_ALL)?;
        }
        if let Some(fanout) = options.fanout {
            sock.join_fanout(fanout, options.ignore_outgoing)?;
            if options.receive != Receive::Nothing {
                sock.set_receive(options.receive)?;
            }
        }
        Ok(sock)
    }

    /// Joins fanout group `fanout` (the socket is bound) and records its id; `ignore_outgoing`:
    /// the group ignores outgoing frames too, or else the socket's filter refuses them.
    fn join_fanout(&mut self, fanout: Fanout, ignore_outgoing: bool) -> Result<()> {
        let (id, flags) = match fanout {
            Fanout::New => (0, PACKET_FANOUT_FLAG_UNIQUEID),
            Fanout::Join(id) => (id, 0),
        };
        let arg =
            |flags: u32| (u32::from(id) | ((PACKET_FANOUT_HASH | flags) << 16)) as libc::c_int;
        let op = "join a fanout group";
        let wanted =
            if ignore_outgoing { flags | PACKET_FANOUT_FLAG_IGNORE_OUTGOING } else { flags };
        match self.setsockopt_at(libc::SOL_PACKET, PACKET_FANOUT, &arg(wanted)) {
            Ok(()) => {}
            // A kernel before 6.2 refuses the flag (EINVAL): the filter does its job.
            Err(e) if ignore_outgoing && e.raw_os_error() == Some(libc::EINVAL) => {
                self.setsockopt(PACKET_FANOUT, &arg(flags), op)?;
                self.refuse_outgoing = true;
            }
            Err(e) => return Err(SysError::new(op, Some(&self.name), e)),
        }
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: PACKET_FANOUT reads back as an int, into `value`, whose length is passed and
        // which outlives the call.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_FANOUT,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(SysError::last_os("read the fanout group", Some(&self.name)));
        }
        self.fanout = Some((value & 0xffff) as u16);
        Ok(())
    }

    /// The id of the fanout group the socket joined ([`PacketOptions::fanout`]), to open the
    /// group's other sockets with [`Fanout::Join`].
    pub fn fanout_group(&self) -> Option<u16> {
        self.fanout
    }

    /// Whether the interface hands the socket the frames it receives (to its filter). Not
    /// while a socket opened with [`Receive::Nothing`] outside a fanout group receives
    /// nothing: such a socket costs the interface's traffic nothing at all, where a filter
    /// that refuses every frame still runs once per frame (and a fanout group hashes each
    /// frame before). [`PacketSocket::set_receive`] with anything else makes it listen, for
    /// good.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// Binds the socket to its interface and `protocol` (host order; 0: none, the socket then
    /// only sends).
    fn bind(&self, protocol: u16) -> Result<()> {
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = protocol.to_be();
        sll.sll_ifindex = self.ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the length given, alive across the call.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(SysError::last_os("bind packet socket", Some(&self.name)));
        }
        self.listening.store(protocol != 0, Ordering::Relaxed);
        Ok(())
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// True if frames carry a leading `virtio_net_hdr` ([`PacketOptions::vnet_hdr`]).
    pub fn vnet_hdr(&self) -> bool {
        self.vnet
    }

    /// True while this socket holds the interface in promiscuous mode.
    pub fn promiscuous(&self) -> bool {
        self.promiscuous
    }

    /// Reads and resets the socket's counters (`PACKET_STATISTICS`).
    pub fn take_stats(&self) -> Result<PacketStats> {
        let mut raw = [0u32; 2];
        let mut len = size_of::<[u32; 2]>() as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS writes a `struct tpacket_stats` (two u32s) into the
        // buffer, whose length is passed and which outlives the call.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                raw.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(SysError::last_os("read packet socket counters", Some(&self.name)));
        }
        Ok(PacketStats { packets: raw[0], drops: raw[1] })
    }

    /// Sets the socket's receive buffer to `bytes` (`SO_RCVBUFFORCE`, which may exceed
    /// `net.core.rmem_max` with CAP_NET_ADMIN, else `SO_RCVBUF`, which the kernel caps).
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<()> {
        self.set_buffer([libc::SO_RCVBUFFORCE, libc::SO_RCVBUF], bytes, "set receive buffer size")
    }

    /// Sets the socket's send buffer to `bytes` (`SO_SNDBUFFORCE`, else `SO_SNDBUF`). Frames
    /// waiting in the interface's queue count against it, so it bounds how much a shaped or
    /// busy interface holds before [`SendStatus::WouldBlock`].
    pub fn set_send_buffer(&self, bytes: usize) -> Result<()> {
        self.set_buffer([SO_SNDBUFFORCE, libc::SO_SNDBUF], bytes, "set send buffer size")
    }

    /// Sets a buffer size with the first of `opts` the kernel accepts (the `*FORCE` option
    /// needs CAP_NET_ADMIN; the plain one is capped by the sysctl maximum).
    fn set_buffer(&self, opts: [libc::c_int; 2], bytes: usize, op: &'static str) -> Result<()> {
        let v = bytes.min(i32::MAX as usize / 2) as libc::c_int;
        let mut last = None;
        for opt in opts {
            match self.setsockopt_at(libc::SOL_SOCKET, opt, &v) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::InvalidInput));
        Err(SysError::new(op, Some(&self.name), e))
    }

    /// Joins the link-layer multicast group `group` on the interface (`PACKET_MR_MULTICAST`).
    pub fn join_multicast(&self, group: MacAddr) -> Result<()> {
        let mut mreq = self.mreq(PACKET_MR_MULTICAST);
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&group.octets());
        self.setsockopt(PACKET_ADD_MEMBERSHIP, &mreq, "join multicast group")
    }

    /// Leaves the link-layer multicast group `group` this socket joined
    /// (`PACKET_DROP_MEMBERSHIP`; the kernel counts members, so others' memberships stay).
    pub fn leave_multicast(&self, group: MacAddr) -> Result<()> {
        let mut mreq = self.mreq(PACKET_MR_MULTICAST);
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&group.octets());
        self.setsockopt(PACKET_DROP_MEMBERSHIP, &mreq, "leave multicast group")
    }

    /// Puts the interface into promiscuous mode, or takes this socket's share of it back
    /// (`PACKET_MR_PROMISC`; the kernel counts holders, so other users are not disturbed).
    pub fn set_promiscuous(&mut self, on: bool) -> Result<()> {
        if on == self.promiscuous {
            return Ok(());
        }
        let mreq = self.mreq(PACKET_MR_PROMISC);
        let (opt, op) = if on {
            (PACKET_ADD_MEMBERSHIP, "enter promiscuous mode")
        } else {
            (PACKET_DROP_MEMBERSHIP, "leave promiscuous mode")
        };
        self.setsockopt(opt, &mreq, op)?;
        self.promiscuous = on;
        Ok(())
    }

    /// With `on`, the socket receives Slow Protocols frames (EtherType 0x8809: LACP, Marker)
    /// and micro-BFD only ([`PacketSocket::set_control_only`]); without, everything again.
    pub fn set_slow_protocols_only(&self, on: bool) -> Result<()> {
        self.set_control_only(on.then_some(ControlFrames::default()))
    }

    /// With `Some`, the socket receives only the control frames of a bond whose data frames
    /// another path forwards ([`Receive::Control`]); with `None`, everything again.
    pub fn set_control_only(&self, frames: Option<ControlFrames>) -> Result<()> {
        self.set_receive(frames.map_or(Receive::All, Receive::Control))
    }

    /// Makes the socket receive `what` from now on (frames queued already stay). A socket
    /// that was not listening ([`PacketSocket::listening`]) starts to, once its filter is in
    /// place.
    pub fn set_receive(&self, what: Receive) -> Result<()> {
        self.attach_filter(what)?;
        if what != Receive::Nothing && !self.listening() {
            self.bind(ETH_P_ALL)?;
        }
        Ok(())
    }

    /// Makes the socket's filter take `what`.
    fn attach_filter(&self, what: Receive) -> Result<()> {
        let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
        let mut code = match what {
            // Outgoing frames refused first, then everything else accepted.
            Receive::All if self.refuse_outgoing => vec![op(0x06, 0, 0, 0x0004_0000)],
            Receive::All => {
                return match self.setsockopt_at(
                    libc::SOL_SOCKET,
                    libc::SO_DETACH_FILTER,
                    &(0 as libc::c_int),
                ) {
                    // ENOENT: there was no filter.
                    Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
                        Err(SysError::new("remove the socket filter", Some(&self.name), e))
                    }
                    _ => Ok(()),
                };
            }
            Receive::Control(frames) => control_filter(frames).to_vec(),
            Receive::Arp => arp_filter().to_vec(),
            Receive::To(set) => to_filter(set.as_slice()),
            Receive::AllBut(octets) => all_but_filter(&octets).to_vec(),
            Receive::AllButL34 => all_but_l34_filter(),
            Receive::AllButL23 => all_but_l23_filter(),
            Receive::AllButAlb => all_but_alb_filter(),
            Receive::AllButRr => all_but_rr_filter().to_vec(),
            Receive::OtherTcp => other_tcp_filter().to_vec(),
            Receive::Nothing => vec![op(0x06, 0, 0, 0)],
        };
        if self.refuse_outgoing && what != Receive::Nothing {
            // ld [pkttype]; jeq #PACKET_OUTGOING, 0, 1; ret #0; then the program (its jumps
            // are relative).
            let refuse = [
                op(0x20, 0, 0, SKF_AD_PKTTYPE),
                op(0x15, 0, 1, PACKET_OUTGOING),
                op(0x06, 0, 0, 0),
            ];
            code.splice(0..0, refuse);
        }
        // `code` outlives the call, in which the kernel copies the program.
        let prog =
            libc::sock_fprog { len: code.len() as libc::c_ushort, filter: code.as_mut_ptr() };
        self.setsockopt_at(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
            .map_err(|e| SysError::new("attach a socket filter", Some(&self.name), e))
    }

    /// Sends one whole frame (Ethernet header included). `Ok(false)` when the interface's
    /// queue is full (`EAGAIN`/`ENOBUFS`): the frame was not sent.
    pub fn send(&self, frame: &[u8]) -> Result<bool> {
        // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the whole call.
        let n = unsafe {
            libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), libc::MSG_DONTWAIT)
        };
        if n < 0 {
            return self.full_or(io::Error::last_os_error(), "send frame");
        }
        Ok(true)
    }

    /// Sends one frame given in up to 4 pieces, sent as their concatenation (with
    /// [`PacketOptions::vnet_hdr`], the first [`VNET_HDR_LEN`] bytes are the header). Tells a
    /// full send buffer ([`SendStatus::WouldBlock`], retry later) from a drop.
    pub fn send_vectored(&self, parts: &[&[u8]]) -> Result<SendStatus> {
        // SAFETY: all-zero is a valid iovec.
        let mut iovs: [libc::iovec; 4] = unsafe { std::mem::zeroed() };
        let count = parts.len().min(iovs.len());
        for (iov, part) in iovs.iter_mut().zip(parts) {
            // The kernel only reads through iov_base on send.
            iov.iov_base = part.as_ptr() as *mut libc::c_void;
            iov.iov_len = part.len();
        }
        // SAFETY: all-zero is a valid msghdr.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iovs.as_mut_ptr();
        msg.msg_iovlen = count;
        // SAFETY: `msg` points at `iovs[..count]`, which point into `parts`; all alive for the
        // call, and sendmsg only reads them.
        let n = unsafe { libc::sendmsg(self.fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
        if n >= 0 {
            return Ok(SendStatus::Sent);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => Ok(SendStatus::WouldBlock),
            Some(libc::ENOBUFS | libc::ENETDOWN | libc::ENXIO) => Ok(SendStatus::Dropped),
            _ => Err(SysError::new("send frame", Some(&self.name), e)),
        }
    }

    /// Receives one frame into `buf`; `Ok(None)` when none is waiting. A frame longer than
    /// `buf` is truncated (with VLAN tags restored, a frame is cut at `buf.len() - 4` bytes as
    /// received, to keep room for its tag). With [`PacketOptions::vnet_hdr`] a frame longer than
    /// `buf` is dropped instead (its header would no longer describe it) and `Ok(Some(0))`
    /// returned, as for a GSO frame the header cannot describe (which the kernel drops).
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        Ok(self.recv_with_checksum(buf)?.map(|(n, _)| n))
    }

    /// [`PacketSocket::recv`], also saying what the kernel knows of the frame's transport
    /// checksum: a frame from a local sender over veth or tap carries a partial one, which a
    /// receiver must not verify.
    pub fn recv_with_checksum(&self, buf: &mut [u8]) -> Result<Option<(usize, RxChecksum)>> {
        let room = self.room(buf.len());
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: room };
        let mut ctrl = [0u64; CTRL_WORDS];
        // SAFETY: all-zero is a valid msghdr.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if self.restore_vlan {
            msg.msg_control = ctrl.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&ctrl);
        }
        // SAFETY: `msg` points at `iov` (the first `room` ≤ `buf.len()` bytes of `buf`) and
        // at `ctrl`, all alive and unaliased across the call.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENETDOWN) {
                // ENETDOWN: the interface went down since the last read (the kernel says so
                // once, then delivers again when it is up): nothing to read, not a failure.
                return Ok(None);
            }
            if self.vnet && e.raw_os_error() == Some(libc::EINVAL) {
                // A GSO frame no virtio-net header can describe (a UDP tunnel aggregated by
                // GRO, say): the kernel has dropped it. Not an error of the socket.
                return Ok(Some((0, RxChecksum::Unknown)));
            }
            return Err(SysError::new("receive frame", Some(&self.name), e));
        }
        let n = (n as usize).min(room);
        if msg.msg_flags & libc::MSG_TRUNC != 0 && self.vnet {
            // A cut GSO frame would not match its header: drop it rather than pass it on.
            return Ok(Some((0, RxChecksum::Unknown)));
        }
        let checksum = match auxdata(&msg) {
            Some(aux) if aux.tp_status & TP_STATUS_CSUMNOTREADY != 0 => RxChecksum::Partial,
            Some(aux) if aux.tp_status & TP_STATUS_CSUM_VALID != 0 => RxChecksum::Valid,
            _ => RxChecksum::Unknown,
        };
        Ok(Some((self.restore(&msg, buf, n), checksum)))
    }

    /// Receives up to `batch.capacity()` frames in one `recvmmsg` call, replacing the batch's
    /// contents; returns how many (0 when none is waiting). A frame longer than a slot is cut
    /// ([`FrameBatch::truncated`]); with [`PacketOptions::vnet_hdr`] a cut frame no longer
    /// matches its header and must be dropped. A GSO frame no virtio-net header can describe,
    /// which the kernel drops as it is read, is skipped.
    pub fn recv_batch(&self, batch: &mut FrameBatch) -> Result<usize> {
        let all = batch.capacity;
        self.recv_batch_max(batch, all)
    }

    /// [`PacketSocket::recv_batch`], of at most `max` frames (at least 1): fewer large frames
    /// per call keep what a batch holds in the CPU's caches until it is sent on.
    pub fn recv_batch_max(&self, batch: &mut FrameBatch, max: usize) -> Result<usize> {
        batch.clear();
        let slots = max.clamp(1, batch.capacity);
        let slot = batch.slot_size;
        let room = self.room(slot);
        // SAFETY: all-zero is a valid value for these plain structs.
        let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        let base = batch.buf.as_mut_ptr();
        let ctrl = batch.ctrl.as_mut_ptr();
        for i in 0..slots {
            // SAFETY: `i * slot` is inside `batch.buf`, which holds `capacity * slot_size`
            // bytes.
            iovs[i].iov_base = unsafe { base.add(i * slot) }.cast();
            iovs[i].iov_len = room;
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            if self.restore_vlan {
                // SAFETY: `batch.ctrl` holds `capacity * CTRL_WORDS` words.
                msgs[i].msg_hdr.msg_control = unsafe { ctrl.add(i * CTRL_WORDS) }.cast();
                msgs[i].msg_hdr.msg_controllen = CTRL_WORDS * 8;
            }
        }
        // Each EINVAL of a virtio-net socket is one frame the kernel dropped: at most one
        // retry per slot.
        let mut retries = slots;
        let n = loop {
            // SAFETY: `msgs[..slots]` point at `iovs` and at control areas, which point into
            // disjoint parts of `batch.buf` and `batch.ctrl`; all stay alive and unaliased for
            // the call.
            let n = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    slots as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                break n as usize;
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENETDOWN) {
                // The interface went down since the last read (see `recv_with_checksum`).
                return Ok(0);
            }
            if self.vnet && e.raw_os_error() == Some(libc::EINVAL) && retries > 0 {
                retries -= 1;
                continue;
            }
            return Err(SysError::new("receive frames", Some(&self.name), e));
        };
        for (i, m) in msgs.iter().take(n).enumerate() {
            let len = (m.msg_len as usize).min(room);
            let buf = &mut batch.buf[i * slot..(i + 1) * slot];
            batch.lens[i] = self.restore(&m.msg_hdr, buf, len);
            batch.truncated[i] = m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        }
        batch.count = n;
        Ok(n)
    }

    /// Bytes of a `len`-byte buffer a received frame may fill (room kept for a VLAN tag).
    fn room(&self, len: usize) -> usize {
        if self.restore_vlan && len > VLAN_TAG_LEN {
            len - VLAN_TAG_LEN
        } else {
            len
        }
    }

    /// Puts back the VLAN tag `msg`'s auxiliary data reports into the `n`-byte frame at the
    /// start of `buf`; returns the frame's new length.
    ///
    /// With a virtio-net header in front of the frame, the tag goes after the header's MAC
    /// addresses and the header's checksum start moves with the bytes.
    fn restore(&self, msg: &libc::msghdr, buf: &mut [u8], n: usize) -> usize {
        let off = if self.vnet { VNET_HDR_LEN } else { 0 };
        if !self.restore_vlan || n < off + 12 || n + VLAN_TAG_LEN > buf.len() {
            return n;
        }
        let Some((tpid, tci)) = vlan_tag(msg) else {
            return n;
        };
        buf.copy_within(off + 12..n, off + 12 + VLAN_TAG_LEN);
        buf[off + 12..off + 14].copy_from_slice(&tpid.to_be_bytes());
        buf[off + 14..off + 16].copy_from_slice(&tci.to_be_bytes());
        if self.vnet {
            // The header's offsets count from the frame's start: hdr_len (bytes 2..4, when
            // given) and, with NEEDS_CSUM, csum_start (bytes 6..8), both little-endian.
            let grow = |b: &mut [u8]| {
                let v = u16::from_le_bytes([b[0], b[1]]).saturating_add(VLAN_TAG_LEN as u16);
                b.copy_from_slice(&v.to_le_bytes());
            };
            if buf[2..4] != [0, 0] {
                grow(&mut buf[2..4]);
            }
            if buf[0] & VNET_F_NEEDS_CSUM != 0 {
                grow(&mut buf[6..8]);
            }
        }
        n + VLAN_TAG_LEN
    }

    /// Sends the frames in `batch` (see [`PacketSocket::send_batch_part`]); returns how many
    /// were sent (fewer than `batch.len()`, possibly 0, when the interface's queue fills).
    pub fn send_batch(&self, batch: &FrameBatch) -> Result<usize> {
        self.send_batch_part(batch, 0..batch.len()).map(|(sent, _)| sent)
    }

    /// Sends frames `frames` of `batch` in order, in as few `sendmmsg` calls as it takes, up
    /// to the first frame the kernel does not take. Returns how many were sent and
    /// [`SendStatus::Sent`] if that is all of them; otherwise the frame after the sent ones
    /// (`frames.start + sent`) was not, for the reason given ([`SendStatus::WouldBlock`]:
    /// retry it once the socket is writable; [`SendStatus::Dropped`]: go on with the next).
    pub fn send_batch_part(
        &self,
        batch: &FrameBatch,
        frames: std::ops::Range<usize>,
    ) -> Result<(usize, SendStatus)> {
        let end = frames.end.min(batch.count);
        let start = frames.start.min(end);
        let count = end - start;
        // SAFETY: all-zero is a valid value for these plain structs.
        let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        for i in 0..count {
            let frame = batch.frame(start + i);
            // The kernel only reads through iov_base on send.
            iovs[i].iov_base = frame.as_ptr() as *mut libc::c_void;
            iovs[i].iov_len = frame.len();
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < count {
            // SAFETY: `msgs[sent..count]` point at `iovs`, which point into `batch`'s frames;
            // all stay alive for the call, and sendmmsg only reads the frames.
            let n = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    msgs.as_mut_ptr().add(sent),
                    (count - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if n <= 0 {
                // (A later frame's error is reported by the call that starts with it.)
                let e = io::Error::last_os_error();
                return match e.raw_os_error() {
                    _ if n == 0 => Ok((sent, SendStatus::Dropped)),
                    Some(libc::EAGAIN) => Ok((sent, SendStatus::WouldBlock)),
                    Some(libc::ENOBUFS | libc::ENETDOWN | libc::ENXIO) => {
                        Ok((sent, SendStatus::Dropped))
                    }
                    _ => Err(SysError::new("send frames", Some(&self.name), e)),
                };
            }
            sent += n as usize;
        }
        Ok((sent, SendStatus::Sent))
    }

    fn full_or(&self, e: io::Error, op: &'static str) -> Result<bool> {
        if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) {
            return Ok(false);
        }
        Err(SysError::new(op, Some(&self.name), e))
    }

    fn mreq(&self, mr_type: libc::c_ushort) -> PacketMreq {
        PacketMreq { mr_ifindex: self.ifindex as i32, mr_type, mr_alen: 0, mr_address: [0; 8] }
    }

    fn setsockopt<T>(&self, opt: libc::c_int, value: &T, op: &'static str) -> Result<()> {
        self.setsockopt_at(libc::SOL_PACKET, opt, value)
            .map_err(|e| SysError::new(op, Some(&self.name), e))
    }

    /// `setsockopt(2)` at any level; `value` must be the type the option expects.
    fn setsockopt_at<T>(&self, level: libc::c_int, opt: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` points to a `T` of the size given, alive across the call; callers
        // pass the type the option expects (an int, a packet_mreq, a sock_fprog whose program
        // the kernel copies during the call).
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                opt,
                (value as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Control frames a packet socket takes besides Slow Protocols and micro-BFD
/// ([`PacketSocket::set_control_only`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlFrames {
    /// ARP (EtherType 0x0806): the ARP monitor, balance-alb's receive balancing.
    pub arp: bool,
    /// IPv6 Neighbor Solicitations and Advertisements (ICMPv6 types 135, 136, right after the
    /// IPv6 header): the NS monitor.
    pub neighbour_discovery: bool,
}

/// The classic BPF program of [`PacketSocket::set_control_only`]. A frame with an
/// accelerated VLAN tag is seen without it (octets 12..14 are the inner EtherType).
fn control_filter(frames: ControlFrames) -> [libc::sock_filter; 24] {
    const ACCEPT: u32 = 0x0004_0000;
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let (ldh, ldb, jeq, jset, ldx_msh, ldh_ind, ret) = (0x28, 0x30, 0x15, 0x45, 0xb1, 0x48, 0x06);
    [
        op(ldh, 0, 0, 12),                                                  // 0: EtherType
        op(jeq, 20, 0, 0x8809),                                             // 1: Slow Protocols: 22
        op(jeq, 18, 0, 0x0806),                                             // 2: ARP: 21
        op(jeq, 1, 0, 0x0800),                                              // 3: IPv4: 5
        op(jeq, 7, 18, 0x86dd),                                             // 4: IPv6: 12, else 23
        op(ldb, 0, 0, 14 + 9),                                              // 5: protocol
        op(jeq, 0, 16, 17),                                                 // 6: UDP, else 23
        op(ldh, 0, 0, 14 + 6),                                              // 7: fragment offset
        op(jset, 14, 0, 0x1fff),                                            // 8: not the first: 23
        op(ldx_msh, 0, 0, 14),                                              // 9: X = header length
        op(ldh_ind, 0, 0, 14 + 2),                                          // 10: destination port
        op(jeq, 10, 11, 6784),      // 11: micro-BFD: 22, else 23
        op(ldb, 0, 0, 14 + 6),      // 12: next header
        op(jeq, 0, 2, 17),          // 13: UDP, else 16
        op(ldh, 0, 0, 14 + 40 + 2), // 14: destination port
        op(jeq, 6, 7, 6784),        // 15: micro-BFD: 22, else 23
        op(jeq, 0, 6, 58),          // 16: ICMPv6, else 23
        op(ldb, 0, 0, 14 + 40),     // 17: its type
        op(jeq, 1, 0, 135),         // 18: NS: 20
        op(jeq, 0, 3, 136),         // 19: NA: 20, else 23
        op(ret, 0, 0, if frames.neighbour_discovery { ACCEPT } else { 0 }), // 20
        op(ret, 0, 0, if frames.arp { ACCEPT } else { 0 }), // 21
        op(ret, 0, 0, ACCEPT),      // 22
        op(ret, 0, 0, 0),           // 23
    ]
}

/// The classic BPF program of [`Receive::Arp`].
fn arp_filter() -> [libc::sock_filter; 4] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        op(0x28, 0, 0, 12),          // EtherType
        op(0x15, 0, 1, 0x0806),      // ARP, else 3
        op(0x06, 0, 0, 0x0004_0000), // accept
        op(0x06, 0, 0, 0),           // 3: refuse
    ]
}

/// The classic BPF program of [`Receive::To`]: for each address, its first four octets, then
/// its last two; the first match accepts.
fn to_filter(macs: &[[u8; 6]]) -> Vec<libc::sock_filter> {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let n = macs.len();
    let mut code = Vec::with_capacity(4 * n + 2);
    for (i, m) in macs.iter().enumerate() {
        // From the last compare, `accept` (at 4n + 1) is this far past the next instruction.
        let to_accept = u8::try_from(4 * (n - i) - 3).unwrap_or(u8::MAX);
        code.extend([
            op(0x20, 0, 0, 0),                                            // ld [0]
            op(0x15, 0, 2, u32::from_be_bytes([m[0], m[1], m[2], m[3]])), // else the next
            op(0x28, 0, 0, 4),                                            // ldh [4]
            op(0x15, to_accept, 0, u32::from(u16::from_be_bytes([m[4], m[5]]))),
        ]);
    }
    code.push(op(0x06, 0, 0, 0)); // refuse
    code.push(op(0x06, 0, 0, 0x0004_0000)); // accept
    code
}

/// The classic BPF program of [`Receive::AllBut`]: refuses an untagged (no tag in the
/// metadata, none in line: EtherType IPv4) frame to a unicast address from the source's last
/// octet whose destination's last octet `v` is in the set, which is eight words of bits: word
/// `v >> 5`, bit `v & 31`.
fn all_but_filter(octets: &Ipv4Octets) -> [libc::sock_filter; 46] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    // Where the shared tail starts (`st M[0]`), and the two answers.
    const SHIFT: u8 = 36;
    const ACCEPT: u8 = 44;
    let mut code = [op(0x06, 0, 0, 0); 46];
    code[..11].copy_from_slice(&[
        op(0x20, 0, 0, SKF_AD_VLAN_TAG_PRESENT), // ld vlan_avail
        op(0x15, 0, ACCEPT - 2, 0),              // jeq #0, else accept
        op(0x28, 0, 0, 12),                      // ldh [12]
        op(0x15, 0, ACCEPT - 4, 0x0800),         // jeq #IPv4, else accept
        op(0x30, 0, 0, 0),                       // ldb [0]
        op(0x45, ACCEPT - 6, 0, 1),              // jset #1 (a group): accept
        op(0x30, 0, 0, 11),                      // ldb [11]
        op(0x15, 0, ACCEPT - 8, u32::from(octets.src_last)), // jeq #src_last, else accept
        op(0x30, 0, 0, 5),                       // ldb [5]
        op(0x07, 0, 0, 0),                       // tax
        op(0x74, 0, 0, 5),                       // rsh #5: the word's number
    ]);
    for i in 0..8u8 {
        // jeq #i: to `ld #word`, at 20 + 2i.
        code[usize::from(11 + i)] = op(0x15, 8 + i, 0, u32::from(i));
        code[usize::from(20 + 2 * i)] = op(0x00, 0, 0, octets.dst_last.0[usize::from(i)]);
        code[usize::from(21 + 2 * i)] = op(0x05, 0, 0, u32::from(SHIFT - (22 + 2 * i)));
        // ja
    }
    code[19] = op(0x05, 0, 0, u32::from(ACCEPT - 20)); // ja accept (not reached)
    code[usize::from(SHIFT)..].copy_from_slice(&[
        op(0x02, 0, 0, 0),           // st M[0]: the word
        op(0x87, 0, 0, 0),           // txa
        op(0x54, 0, 0, 31),          // and #31
        op(0x07, 0, 0, 0),           // tax: the bit's number
        op(0x60, 0, 0, 0),           // ld M[0]
        op(0x7c, 0, 0, 0),           // rsh x
        op(0x54, 0, 0, 1),           // and #1
        op(0x15, 1, 0, 1),           // jeq #1: refuse
        op(0x06, 0, 0, 0x0004_0000), // accept
        op(0x06, 0, 0, 0),           // refuse
    ]);
    code
}

/// The classic BPF program of [`Receive::OtherTcp`].
fn other_tcp_filter() -> [libc::sock_filter; 19] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        op(0x20, 0, 0, SKF_AD_VLAN_TAG_PRESENT), // 0: ld vlan_avail
        op(0x15, 0, 16, 0),                      // 1: jeq #0, else refuse
        op(0x28, 0, 0, 12),                      // 2: ldh [12]
        op(0x15, 0, 8, 0x0800),                  // 3: jeq #IPv4, else 12
        op(0x80, 0, 0, 0),                       // 4: ld len
        op(0x35, 0, 12, 26),                     // 5: jge #26, else refuse
        op(0x30, 0, 0, 14),                      // 6: ldb [14]
        op(0x15, 10, 0, 0x45),                   // 7: jeq #0x45: refuse (the table's)
        op(0x30, 0, 0, 23),                      // 8: ldb [23]
        op(0x15, 0, 8, 6),                       // 9: jeq #TCP, else refuse
        op(0x28, 0, 0, 20),                      // 10: ldh [20]
        op(0x45, 6, 5, 0x3fff),                  // 11: jset #MF|offset: refuse, else accept
        op(0x15, 0, 5, 0x86dd),                  // 12: jeq #IPv6, else refuse
        op(0x80, 0, 0, 0),                       // 13: ld len
        op(0x35, 0, 3, 22),                      // 14: jge #22, else refuse
        op(0x30, 0, 0, 20),                      // 15: ldb [20]
        op(0x15, 0, 1, 6),                       // 16: jeq #TCP, else refuse
        op(0x06, 0, 0, 0x0004_0000),             // 17: accept
        op(0x06, 0, 0, 0),                       // 18: refuse
    ]
}

/// The first five instructions of a classic BPF program that refuses only some untagged
/// frames to a unicast address: a tagged frame, or one to a group, jumps to instruction
/// `accept`; then the EtherType is loaded (instruction 5 goes on from there).
fn untagged_unicast(accept: u8) -> [libc::sock_filter; 5] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        op(0x20, 0, 0, SKF_AD_VLAN_TAG_PRESENT), // 0: ld vlan_avail
        op(0x15, 0, accept - 2, 0),              // 1: jeq #0, else accept
        op(0x30, 0, 0, 0),                       // 2: ldb [0]
        op(0x45, accept - 4, 0, 1),              // 3: jset #1 (a group): accept
        op(0x28, 0, 0, 12),                      // 4: ldh [12]
    ]
}

/// The classic BPF program of [`Receive::AllButL34`]: refuses the frames it names, accepts
/// every other. Each length is tested before the loads it covers: a load past the end would
/// refuse the frame.
fn all_but_l34_filter() -> Vec<libc::sock_filter> {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let mut code = untagged_unicast(22).to_vec();
    code.extend([
        op(0x15, 0, 10, 0x0800),     // 5: jeq #IPv4, else 16
        op(0x80, 0, 0, 0),           // 6: ld len
        op(0x35, 0, 14, 14 + 24),    // 7: jge #38, else accept
        op(0x30, 0, 0, 14),          // 8: ldb [14]
        op(0x15, 0, 12, 0x45),       // 9: jeq #0x45, else accept
        op(0x28, 0, 0, 20),          // 10: ldh [20]
        op(0x45, 10, 0, 0x3fff),     // 11: jset #MF|offset (a fragment): accept
        op(0x30, 0, 0, 23),          // 12: ldb [23]
        op(0x15, 9, 0, 6),           // 13: jeq #TCP: refuse
        op(0x15, 8, 0, 17),          // 14: jeq #UDP: refuse
        op(0x05, 0, 0, 6),           // 15: ja accept
        op(0x15, 0, 5, 0x86dd),      // 16: jeq #IPv6, else accept
        op(0x80, 0, 0, 0),           // 17: ld len
        op(0x35, 0, 3, 14 + 44),     // 18: jge #58, else accept
        op(0x30, 0, 0, 20),          // 19: ldb [20]
        op(0x15, 2, 0, 6),           // 20: jeq #TCP: refuse
        op(0x15, 1, 0, 17),          // 21: jeq #UDP: refuse
        op(0x06, 0, 0, 0x0004_0000), // 22: accept
        op(0x06, 0, 0, 0),           // 23: refuse
    ]);
    code
}

/// The classic BPF program of [`Receive::AllButL23`]: refuses the frames it names, accepts
/// every other.
fn all_but_l23_filter() -> Vec<libc::sock_filter> {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let mut code = untagged_unicast(15).to_vec();
    code.extend([
        op(0x15, 0, 4, 0x0800),      // 5: jeq #IPv4, else 10
        op(0x80, 0, 0, 0),           // 6: ld len
        op(0x35, 0, 7, 14 + 20),     // 7: jge #34, else accept
        op(0x30, 0, 0, 23),          // 8: ldb [23]
        op(0x15, 5, 6, 1),           // 9: jeq #ICMP: accept, else refuse
        op(0x15, 0, 4, 0x86dd),      // 10: jeq #IPv6, else accept
        op(0x80, 0, 0, 0),           // 11: ld len
        op(0x35, 0, 2, 14 + 40),     // 12: jge #54, else accept
        op(0x30, 0, 0, 20),          // 13: ldb [20]
        op(0x15, 0, 1, 58),          // 14: jeq #ICMPv6: accept, else refuse
        op(0x06, 0, 0, 0x0004_0000), // 15: accept
        op(0x06, 0, 0, 0),           // 16: refuse
    ]);
    code
}

/// The classic BPF program of [`Receive::AllButAlb`]: refuses the frames it names, accepts
/// every other.
fn all_but_alb_filter() -> Vec<libc::sock_filter> {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let mut code = untagged_unicast(26).to_vec();
    code.extend([
        op(0x15, 0, 6, 0x0800),        // 5: jeq #IPv4, else 12
        op(0x80, 0, 0, 0),             // 6: ld len
        op(0x35, 0, 18, 14 + 20),      // 7: jge #34, else accept
        op(0x30, 0, 0, 23),            // 8: ldb [23]
        op(0x15, 16, 0, 2),            // 9: jeq #IGMP: accept
        op(0x20, 0, 0, 30),            // 10: ld [30]
        op(0x15, 14, 15, 0xffff_ffff), // 11: jeq #255.255.255.255: accept, else refuse
        op(0x15, 0, 13, 0x86dd),       // 12: jeq #IPv6, else accept
        op(0x80, 0, 0, 0),             // 13: ld len
        op(0x35, 0, 11, 14 + 40),      // 14: jge #54, else accept
        op(0x30, 0, 0, 20),            // 15: ldb [20]
        op(0x15, 1, 0, 6),             // 16: jeq #TCP: 18
        op(0x15, 0, 8, 17),            // 17: jeq #UDP, else accept
        op(0x20, 0, 0, 22),            // 18: ld [22] (the source address)
        op(0x15, 0, 7, 0),             // 19: jeq #0, else refuse
        op(0x20, 0, 0, 26),            // 20: ld [26]
        op(0x15, 0, 5, 0),             // 21: jeq #0, else refuse
        op(0x20, 0, 0, 30),            // 22: ld [30]
        op(0x15, 0, 3, 0),             // 23: jeq #0, else refuse
        op(0x20, 0, 0, 34),            // 24: ld [34]
        op(0x15, 0, 1, 0),             // 25: jeq #0 (unspecified): accept, else refuse
        op(0x06, 0, 0, 0x0004_0000),   // 26: accept
        op(0x06, 0, 0, 0),             // 27: refuse
    ]);
    code
}

/// The classic BPF program of [`Receive::AllButRr`]: accepts the frames it names, refuses
/// every other.
fn all_but_rr_filter() -> [libc::sock_filter; 12] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        op(0x20, 0, 0, SKF_AD_VLAN_TAG_PRESENT), // 0: ld vlan_avail
        op(0x15, 0, 8, 0),                       // 1: jeq #0, else accept
        op(0x28, 0, 0, 12),                      // 2: ldh [12]
        op(0x15, 6, 0, 0x8100),                  // 3: jeq #802.1Q: accept
        op(0x15, 5, 0, 0x88a8),                  // 4: jeq #802.1ad: accept
        op(0x15, 0, 5, 0x0800),                  // 5: jeq #IPv4, else refuse
        op(0x80, 0, 0, 0),                       // 6: ld len
        op(0x35, 0, 3, 14 + 10),                 // 7: jge #24, else refuse
        op(0x30, 0, 0, 23),                      // 8: ldb [23]
        op(0x15, 0, 1, 2),                       // 9: jeq #IGMP: accept, else refuse
        op(0x06, 0, 0, 0x0004_0000),             // 10: accept
        op(0x06, 0, 0, 0),                       // 11: refuse
    ]
}

/// The VLAN tag (TPID, TCI) in a received message's `PACKET_AUXDATA`, if the frame had one.
fn vlan_tag(msg: &libc::msghdr) -> Option<(u16, u16)> {
    let aux = auxdata(msg)?;
    if aux.tp_status & TP_STATUS_VLAN_VALID == 0 {
        return None;
    }
    let tpid =
        if aux.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 { aux.tp_vlan_tpid } else { ETH_P_8021Q };
    Some((tpid, aux.tp_vlan_tci))
}

/// A received message's `PACKET_AUXDATA`, if it has one.
fn auxdata(msg: &libc::msghdr) -> Option<TpacketAuxdata> {
    if msg.msg_control.is_null() {
        return None;
    }
    // SAFETY: `msg` was filled by recvmsg/recvmmsg: its control pointer and length describe
    // the control data the kernel wrote into a buffer that is still alive.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is a non-null header inside the control data (CMSG_FIRSTHDR and
        // CMSG_NXTHDR check the bounds).
        let hdr = unsafe { &*cmsg };
        let data_len = hdr.cmsg_len as usize;
        if hdr.cmsg_level == libc::SOL_PACKET
            && hdr.cmsg_type == PACKET_AUXDATA
            && data_len >= std::mem::size_of::<libc::cmsghdr>() + size_of::<TpacketAuxdata>()
        {
            // SAFETY: the message is long enough for a tpacket_auxdata after its header;
            // read unaligned, as control data guarantees no alignment for it.
            return Some(unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) });
        }
        // SAFETY: `msg` and `cmsg` are as above.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
    None
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Frames for one batched call: `capacity` slots of `slot_size` bytes in one buffer, allocated
/// once and reused.
#[derive(Debug, Clone)]
pub struct FrameBatch {
    buf: Vec<u8>,
    ctrl: Vec<u64>,
    lens: Vec<usize>,
    truncated: Vec<bool>,
    slot_size: usize,
    capacity: usize,
    count: usize,
}

impl FrameBatch {
    /// A batch of `capacity` (at most [`MAX_BATCH`], at least 1) frames of up to `slot_size`
    /// bytes each. For receiving with VLAN tags restored, make slots 4 bytes longer than the
    /// largest frame as received (1518 + 4 for a standard MTU with its tag put back).
    pub fn new(capacity: usize, slot_size: usize) -> FrameBatch {
        let capacity = capacity.clamp(1, MAX_BATCH);
        FrameBatch {
            buf: vec![0; capacity * slot_size],
            ctrl: vec![0; capacity * CTRL_WORDS],
            lens: vec![0; capacity],
            truncated: vec![false; capacity],
            slot_size,
            capacity,
            count: 0,
        }
    }

    /// How many frames the batch holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The largest frame a slot holds.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// How many frames the batch holds now.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the batch (keeps its memory).
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// Appends a copy of `frame` for sending; false (and nothing added) if the batch is full
    /// or the frame is longer than a slot.
    pub fn push(&mut self, frame: &[u8]) -> bool {
        if self.count == self.capacity || frame.len() > self.slot_size {
            return false;
        }
        let start = self.count * self.slot_size;
        self.buf[start..start + frame.len()].copy_from_slice(frame);
        self.lens[self.count] = frame.len();
        self.truncated[self.count] = false;
        self.count += 1;
        true
    }

    /// Frame `i` (0 ≤ `i` < [`FrameBatch::len`]).
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn frame(&self, i: usize) -> &[u8] {
        assert!(i < self.count, "frame {i} of a batch of {}", self.count);
        let start = i * self.slot_size;
        &self.buf[start..start + self.lens[i]]
    }

    /// Frame `i`, writable in place (to rewrite a header before forwarding).
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn frame_mut(&mut self, i: usize) -> &mut [u8] {
        assert!(i < self.count, "frame {i} of a batch of {}", self.count);
        let start = i * self.slot_size;
        &mut self.buf[start..start + self.lens[i]]
    }

    /// True if received frame `i` was longer than a slot and was cut.
    pub fn truncated(&self, i: usize) -> bool {
        i < self.count && self.truncated[i]
    }

    /// The frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.count).map(move |i| self.frame(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_push_and_read_back() {
        let mut b = FrameBatch::new(2, 4);
        assert!(b.push(&[1, 2, 3]));
        assert!(!b.push(&[0; 5]), "longer than a slot");
        assert!(b.push(&[4]));
        assert!(!b.push(&[5]), "full");
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![&[1u8, 2, 3][..], &[4][..]]);
        b.frame_mut(1)[0] = 9;
        assert_eq!(b.frame(1), &[9]);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(FrameBatch::new(1000, 1).capacity(), MAX_BATCH);
    }
}
