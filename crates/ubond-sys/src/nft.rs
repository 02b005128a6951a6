//! What ubond's nftables tables share: nfnetlink requests and batches of family `netdev`, and
//! the expressions their rules are made of ([`crate::nft_tx`], [`crate::nft_rx`]). The
//! messages are encoded by netlink-packet-netfilter.

use std::io;

use netlink_packet_core::{
    DefaultNla, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_REQUEST,
};
use netlink_packet_netfilter::nftables::{
    Bitwise, Cmp, DataAttribute, ExpressionAttribute, Expressions, Immediate, ListAttribute,
    NfTablesMessage, Operator, Payload, Register, RuleAttribute, RuleMessage, TableAttribute,
    TableFlags, TableMessage, Verdict, VerdictAttribute,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{
    NetfilterHeader, NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily,
};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use crate::error::{Result, SysError};

/// `NFNL_SUBSYS_NFTABLES`: the batch's subsystem.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// `NFT_PAYLOAD_LL_HEADER`: offsets from the Ethernet header.
pub(crate) const LL_HEADER: u32 = 0;
/// `NFT_PAYLOAD_NETWORK_HEADER`: offsets from the IP header.
pub(crate) const NETWORK_HEADER: u32 = 1;
/// `NF_ACCEPT`: a base chain's policy, a rule's verdict.
pub(crate) const ACCEPT: u32 = 1;
/// `NF_DROP`: a rule's verdict.
pub(crate) const DROP: u32 = 0;
/// `NFT_DATA_VERDICT`: the data type of a map to verdicts.
pub(crate) const DATA_VERDICT: u32 = 0xffff_ff00;
/// `NFTA_FWD_SREG_DEV`.
const FWD_SREG_DEV: u16 = 1;

/// Deletes table `table`, if there is one (also where the kernel has no nftables: then there
/// is none).
pub(crate) fn delete_table(op: &'static str, iface: &str, table: &str) -> Result<()> {
    delete(
        op,
        iface,
        NfTablesMessage::DeleteTable(TableMessage {
            attributes: vec![TableAttribute::Name(table.to_string())],
        }),
    )
}

/// Sends `delete` (a deletion) alone; what it deletes not being there is no error.
pub(crate) fn delete(op: &'static str, iface: &str, delete: NfTablesMessage) -> Result<()> {
    match batch(op, iface, vec![(delete, 0)]) {
        // No such thing; no nftables at all (the socket's EPROTONOSUPPORT, nfnetlink's
        // EOPNOTSUPP or EINVAL without the subsystem, EAFNOSUPPORT without the family).
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(
                    libc::ENOENT
                        | libc::EPROTONOSUPPORT
                        | libc::EOPNOTSUPP
                        | libc::EINVAL
                        | libc::EAFNOSUPPORT
                )
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Whether table `table` is there (where the kernel has no nftables, it is not).
pub(crate) fn table_present(op: &'static str, iface: &str, table: &str) -> Result<bool> {
    let get = NfTablesMessage::GetTable(TableMessage {
        attributes: vec![TableAttribute::Name(table.to_string())],
    });
    match request(op, iface, get, NLM_F_ACK) {
        Ok(tables) => Ok(!tables.is_empty()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EPROTONOSUPPORT)) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// `fwd` to the interface whose index is in the first register (put there by `ifindex`).
pub(crate) fn forward_to(ifindex: u32) -> [ListAttribute<ExpressionAttribute>; 2] {
    [
        immediate(Register::Reg1, ifindex.to_ne_bytes().to_vec()),
        Expressions::Other {
            expression_type: "fwd".to_string(),
            attributes: vec![DefaultNla::new(FWD_SREG_DEV, be32(u32::from(Register::Reg1)))],
        }
        .into(),
    ]
}

/// Sends one request of family `netdev` (with `flags`: a dump, or an acknowledgement) and
/// returns the messages of its answer; a refusal is the error.
pub(crate) fn request(
    op: &'static str,
    iface: &str,
    msg: NfTablesMessage,
    flags: u16,
) -> Result<Vec<NfTablesMessage>> {
    let fail = |e: io::Error| SysError::new(op, Some(iface), e);
    let socket = open(op, iface)?;
    let netdev = NetfilterHeader::new(NetfilterProtoFamily::NetDev, 0, 0);
    let mut out = Vec::new();
    encode(&mut out, NetfilterMessage::new(netdev, NetfilterMessageInner::from(msg)), flags, 1);
    socket.send_to(&out, &SocketAddr::new(0, 0), 0).map_err(fail)?;
    let mut answer = Vec::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let n = socket.recv(&mut buf, 0).map_err(fail)?;
        for msg in messages(&buf[..n]) {
            match msg.map_err(fail)?.payload {
                NetlinkPayload::Done(_) => return Ok(answer),
                NetlinkPayload::Error(e) => {
                    return match e.code {
                        None => Ok(answer),
                        Some(_) => Err(fail(e.to_io())),
                    };
                }
                NetlinkPayload::InnerMessage(m) => {
                    if let NetfilterMessageInner::NfTables(m) = m.inner {
                        answer.push(m);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Appends `m` to `out` as a netlink request with `flags` and sequence number `seq`.
pub(crate) fn encode(out: &mut Vec<u8>, m: NetfilterMessage, flags: u16, seq: u32) {
    let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(m));
    nl.header.flags = NLM_F_REQUEST | flags;
    nl.header.sequence_number = seq;
    nl.finalize();
    let at = out.len();
    out.resize(at + nl.buffer_len(), 0);
    nl.serialize(&mut out[at..]);
}

/// The first messages of a batch that replaces table `table` whole: made if missing (so that
/// the delete finds it), deleted, made again; the batch then fills it.
pub(crate) fn replacing(table: &str) -> Vec<(NfTablesMessage, u16)> {
    let delete = TableMessage { attributes: vec![TableAttribute::Name(table.to_string())] };
    vec![
        (NfTablesMessage::NewTable(table_msg(table)), NLM_F_CREATE),
        (NfTablesMessage::DeleteTable(delete), 0),
        (NfTablesMessage::NewTable(table_msg(table)), NLM_F_CREATE),
    ]
}

/// A table of family `netdev` named `table`, no flags.
pub(crate) fn table_msg(table: &str) -> TableMessage {
    TableMessage {
        attributes: vec![
            TableAttribute::Name(table.to_string()),
            TableAttribute::Flags(TableFlags::default()),
        ],
    }
}

/// A rule of `expressions` at the end of chain `chain` of `table`.
pub(crate) fn rule(
    table: &str,
    chain: &str,
    expressions: Vec<ListAttribute<ExpressionAttribute>>,
) -> NfTablesMessage {
    NfTablesMessage::NewRule(RuleMessage {
        attributes: vec![
            RuleAttribute::Table(table.to_string()),
            RuleAttribute::Chain(chain.to_string()),
            RuleAttribute::Expressions(expressions),
        ],
    })
}

/// `len` octets at `offset` of the Ethernet header, loaded into or stored from a register.
pub(crate) fn payload(
    register: Payload,
    base: u32,
    offset: u32,
    len: u32,
) -> ListAttribute<ExpressionAttribute> {
    Expressions::Payload(vec![
        register,
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

/// `len` octets at `offset` of the Ethernet header into the first register.
pub(crate) fn ll(offset: u32, len: u32) -> ListAttribute<ExpressionAttribute> {
    payload(Payload::DestinationRegister(Register::Reg1), LL_HEADER, offset, len)
}

/// `len` octets at `offset` of the IP header into register `reg`.
pub(crate) fn nh(reg: Register, offset: u32, len: u32) -> ListAttribute<ExpressionAttribute> {
    payload(Payload::DestinationRegister(reg), NETWORK_HEADER, offset, len)
}

/// The first register masked with `mask` (as many octets as it has).
pub(crate) fn masked(mask: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    let len = u32::try_from(mask.len()).unwrap_or(u32::MAX);
    let zero = vec![0; mask.len()];
    Expressions::Bitwise(vec![
        Bitwise::SourceRegister(Register::Reg1),
        Bitwise::DestinationRegister(Register::Reg1),
        Bitwise::Length(len),
        Bitwise::Mask(DataAttribute::Value(mask)),
        Bitwise::Xor(DataAttribute::Value(zero)),
    ])
    .into()
}

/// Register `reg` compares to `value` by `op` (as octets in order: a big-endian number), or
/// the rule ends.
pub(crate) fn compare(
    reg: Register,
    op: Operator,
    value: Vec<u8>,
) -> ListAttribute<ExpressionAttribute> {
    Expressions::Cmp(vec![
        Cmp::SourceRegister(reg),
        Cmp::Op(op),
        Cmp::Data(DataAttribute::Value(value)),
    ])
    .into()
}

/// The first register differs from `value`, or the rule ends.
pub(crate) fn not_equal(value: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    compare(Register::Reg1, Operator::NotEqual, value)
}

/// The first register equals `value`, or the rule ends.
pub(crate) fn equal(value: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    compare(Register::Reg1, Operator::Equal, value)
}

/// `value` into register `reg`.
pub(crate) fn immediate(reg: Register, value: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(reg),
        Immediate::Data(DataAttribute::Value(value)),
    ])
    .into()
}

/// The rule's verdict `code` (`NF_ACCEPT`, `NF_DROP`): the frame goes no further in the
/// table.
pub(crate) fn verdict(code: u32) -> ListAttribute<ExpressionAttribute> {
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(Register::Verdict),
        Immediate::Data(DataAttribute::Verdict(vec![VerdictAttribute::Code(Verdict::Other(code))])),
    ])
    .into()
}

/// `v` as a netlink attribute's big-endian 32-bit value.
pub(crate) fn be32(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// An nfnetlink socket, bound, whose reads give up after 5 s.
pub(crate) fn open(op: &'static str, iface: &str) -> Result<Socket> {
    let fail = |e: io::Error| SysError::new(op, Some(iface), e);
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(fail)?;
    socket.bind_auto().map_err(fail)?;
    // The kernel always answers; a bound, should it not.
    let timeout = Some(std::time::Duration::from_secs(5));
    rustix::net::sockopt::set_socket_timeout(&socket, rustix::net::sockopt::Timeout::Recv, timeout)
        .map_err(|e| fail(e.into()))?;
    Ok(socket)
}

/// The messages of one datagram.
pub(crate) fn messages(
    datagram: &[u8],
) -> impl Iterator<Item = io::Result<NetlinkMessage<NetfilterMessage>>> + '_ {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.len() < 16 {
            return None;
        }
        let msg = NetlinkMessage::<NetfilterMessage>::deserialize(rest)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
        let len = msg.as_ref().map_or(0, |m| m.header.length as usize);
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        let next = (len + 3) & !3;
        rest = if len == 0 || next >= rest.len() { &[] } else { &rest[next..] };
        Some(msg)
    })
}

/// Sends `msgs` (each with its extra flags) as one nfnetlink batch of family `netdev` and
/// waits for its answer: the kernel answers a message it refuses, and acknowledges the last
/// one (only it asks), after processing the whole batch; the first refusal is the error (the
/// kernel then applied none of them).
pub(crate) fn batch(
    op: &'static str,
    iface: &str,
    msgs: Vec<(NfTablesMessage, u16)>,
) -> Result<()> {
    let fail = |e: io::Error| SysError::new(op, Some(iface), e);
    let socket = open(op, iface)?;
    // Refusals carry the refused message's header only; room for many.
    let _ = socket.set_cap_ack(true);
    let _ = socket.set_ext_ack(true);
    let _ = socket.set_rx_buf_sz(1 << 20);
    let control = |m: ControlMessage| {
        let header = NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, NFNL_SUBSYS_NFTABLES);
        (NetfilterMessage::new(header, m), 0)
    };
    let netdev = NetfilterHeader::new(NetfilterProtoFamily::NetDev, 0, 0);
    let count = msgs.len();
    let inner = msgs.into_iter().enumerate().map(|(i, (m, flags))| {
        let ack = if i + 1 == count { NLM_F_ACK } else { 0 };
        (NetfilterMessage::new(netdev.clone(), NetfilterMessageInner::from(m)), ack | flags)
    });
    let all: Vec<(NetfilterMessage, u16)> = std::iter::once(control(ControlMessage::BatchBegin))
        .chain(inner)
        .chain([control(ControlMessage::BatchEnd)])
        .collect();
    // The sequence number of the last inner message.
    let last = u32::try_from(all.len() - 1).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    for (seq, (m, flags)) in (1u32..).zip(all) {
        encode(&mut out, m, flags, seq);
    }
    socket.send_to(&out, &SocketAddr::new(0, 0), 0).map_err(fail)?;
    let mut refused = None;
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let n = socket.recv(&mut buf, 0).map_err(fail)?;
        for msg in messages(&buf[..n]) {
            let msg = msg.map_err(fail)?;
            let seq = msg.header.sequence_number;
            if let NetlinkPayload::Error(e) = msg.payload {
                if e.code.is_some() && refused.is_none() {
                    refused = Some(e.to_io());
                }
                // The last message's answer (or the batch's own refusal) ends it.
                if seq == last || seq <= 1 {
                    return refused.map_or(Ok(()), |e| Err(fail(e)));
                }
            }
        }
    }
}
