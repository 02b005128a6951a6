//! Broadcast's copies of a TCP segment discarded in the kernel without eBPF, for the
//! userspace data path: nftables' `netdev` family on the slaves' ingress (its hook runs after
//! tc's). A broadcast bond with `tcp_dup_discard` delivers the first copy of a TCP segment
//! with payload and discards the copies that arrive on another slave less than a window
//! later (`ubond_core::bond::copies`: the key, the rule and the window are that module's).
//! tc's filters on such a slave ([`crate::redirect::RxMatch::AllButTcp`]) hand the bond
//! every data frame but TCP; this table takes the TCP over IPv4 of the kind below, and the
//! data threads' sockets the rest of the TCP ([`crate::Receive::OtherTcp`]).
//!
//! The kind: untagged IPv4 (tc's `protocol ip` filter leaves no tagged frame), no IP options
//! (first octet 0x45, so the TCP header is at a fixed offset and nftables' own header checks
//! never decide), no fragment (`MF` and the offset clear), TCP. One table per bond,
//! `ubond-END-rx` (END: the bond's data-path end), as `nft` would write it:
//!
//! ```text
//! table netdev ubond-bond0-dp-rx {
//!     map seen { type (length, addresses, 32 octets of TCP header) : slave; flags timeout,
//!         dynamic; timeout 50ms; size 65536 }
//!     map doff-7 { type octet : verdict; elements = { 0x50 : goto d7-5, ..., 0xf0 : goto d7-15 } }
//!     chain in-7 {
//!         type filter hook ingress device "eth0" priority 0; policy accept;
//!         ether type ip @nh,0,8 0x45 @nh,48,16 & 0x3fff == 0 @nh,72,8 6 @nh,256,8 & 0xf0 vmap @doff-7
//!         ether type ip @nh,0,8 0x45 @nh,48,16 & 0x3fff == 0 @nh,72,8 6 fwd to "bond0-dp"
//!     }
//!     chain d7-8 {    # a TCP header of 8 words: payload when the IP length is over 52
//!         @nh,16,16 > 52 (key) @seen != 7 drop
//!         @nh,16,16 > 52 (key) update @seen { (key) : 7 } fwd to "bond0-dp"
//!         fwd to "bond0-dp"
//!     }
//! }
//! ```
//!
//! The key is what the core's is for such a frame (its length, both addresses, the first 32
//! octets of the TCP header, or the first 20 and zeros when the header is shorter), and the
//! map keeps, per key, the slave it was last delivered from for the window: a copy is a
//! frame whose key the map has with another slave; anything else goes to the data-path end's
//! egress (veth hands it to the bond's device as received, as tc's redirect does), and a
//! segment with payload is remembered (or its time renewed). A frame whose header is cut
//! short fails a load and is forwarded, as the core delivers it. Where the core's table is a
//! fixed number of slots (two segments in one slot forget each other), the map holds every
//! segment of the window, up to its size (then a segment is delivered and not remembered).
//!
//! Replaced whole in one nfnetlink transaction ([`put`]); like tc's filters it belongs to the
//! interfaces and keeps working while no daemon runs; [`clear`] takes it away, [`drop_slave`]
//! one slave's part of it.

use std::time::Duration;

use netlink_packet_core::{DefaultNla, NLM_F_APPEND, NLM_F_CREATE};
use netlink_packet_netfilter::nftables::{
    ChainAttribute, ChainMessage, DataAttribute, DevHookNumber, ExpressionAttribute, Expressions,
    Hook, HookNumber, ListAttribute, Lookup, Meta, MetaKey, NfTablesMessage, Operator, Register,
    SetAttribute, SetDescription, SetElementAttribute, SetElementList, SetElementMessage, SetFlags,
    SetMessage, Verdict, VerdictAttribute,
};

use crate::error::Result;
use crate::nft::{
    batch, be32, compare, equal, forward_to, immediate, ll, masked, nh, replacing, rule, verdict,
    ACCEPT, DATA_VERDICT, DROP,
};

/// How many segments the map holds at most (about 150 octets each in the kernel).
pub const SEEN_CAPACITY: u32 = 65_536;

/// How often the kernel takes the expired segments out of the map (they count towards
/// [`SEEN_CAPACITY`] until then).
const GC_INTERVAL_MS: u32 = 250;

/// The key's length: the frame's length, two addresses, 32 octets of TCP header.
const KEY_LEN: u32 = 4 + 8 + 32;

/// The ids of the table's maps within the transaction: `seen`, then one per slave.
const SEEN_ID: u32 = 1;

/// `NFTA_DYNSET_*` and `NFT_DYNSET_OP_UPDATE`.
const DYNSET_SET_NAME: u16 = 1;
const DYNSET_SET_ID: u16 = 2;
const DYNSET_OP: u16 = 3;
const DYNSET_SREG_KEY: u16 = 4;
const DYNSET_SREG_DATA: u16 = 5;
const DYNSET_TIMEOUT: u16 = 6;
const DYNSET_OP_UPDATE: u32 = 1;

/// The table of the bond whose data-path end is `end`.
pub fn table_of(end: &str) -> String {
    format!("ubond-{end}-rx")
}

/// One slave of the table: its name and interface index (the number the map knows it by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiesSlave {
    /// The slave's name.
    pub name: String,
    /// Its interface index.
    pub ifindex: u32,
}

/// Gives the bond whose data-path end is `end` (interface index `end_ifindex`) the table that
/// hands `slaves`' TCP over IPv4 of the module's kind to the bond, another slave's copy of a
/// segment delivered less than `window` before discarded; in place of the one it had. With
/// no slave, the table goes. Fails (said with the kernel's reason) where the kernel has no
/// nftables, no `netdev` family, no `fwd` or no dynamic maps with timeouts; the bond then has
/// what it had.
pub fn put(end: &str, end_ifindex: u32, slaves: &[CopiesSlave], window: Duration) -> Result<()> {
    const OP: &str = "discard broadcast's copies in the kernel (nftables)";
    if slaves.is_empty() {
        return clear(end);
    }
    let table = table_of(end);
    let t = || table.clone();
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    // One transaction replaces the table.
    let mut msgs = replacing(&table);
    msgs.extend([(
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(t()),
                SetAttribute::Name("seen".to_string()),
                SetAttribute::Flags(SetFlags::Map | SetFlags::Timeout | SetFlags::Eval),
                SetAttribute::KeyType(0),
                SetAttribute::KeyLen(KEY_LEN),
                SetAttribute::DataType(0),
                SetAttribute::DataLen(4),
                SetAttribute::Id(SEEN_ID),
                SetAttribute::Timeout(window_ms),
                SetAttribute::GarbageCollectionInterval(GC_INTERVAL_MS),
                SetAttribute::Description(vec![SetDescription::Size(SEEN_CAPACITY)]),
            ],
        }),
        NLM_F_CREATE,
    )]);
    for (slave, map_id) in slaves.iter().zip(SEEN_ID + 1..) {
        msgs.extend(slave_messages(&table, slave, map_id, end_ifindex, window_ms));
    }
    batch(OP, end, msgs)
}

/// A slave's part of the table: a chain per TCP header length, the map of the header
/// lengths, the base chain on the slave's ingress.
fn slave_messages(
    table: &str,
    slave: &CopiesSlave,
    map_id: u32,
    end_ifindex: u32,
    window_ms: u64,
) -> Vec<(NfTablesMessage, u16)> {
    let x = slave.ifindex;
    let chain = |name: String, hook: Option<Vec<Hook>>| {
        let mut attributes =
            vec![ChainAttribute::Table(table.to_string()), ChainAttribute::Name(name)];
        if let Some(hook) = hook {
            attributes.extend([
                ChainAttribute::Hook(hook),
                ChainAttribute::Policy(ACCEPT),
                ChainAttribute::Type("filter".to_string()),
            ]);
        }
        (NfTablesMessage::NewChain(ChainMessage { attributes }), NLM_F_CREATE)
    };
    let add =
        |chain: &str, expressions| (rule(table, chain, expressions), NLM_F_CREATE | NLM_F_APPEND);
    let doff_map = doff_map_of(x);
    let mut msgs = Vec::new();
    for words in 5..=15u8 {
        let name = doff_chain_of(x, words);
        msgs.push(chain(name.clone(), None));
        for r in doff_rules(x, words, end_ifindex, window_ms) {
            msgs.push(add(&name, r));
        }
    }
    msgs.push((
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(table.to_string()),
                SetAttribute::Name(doff_map.clone()),
                SetAttribute::Flags(SetFlags::Map),
                SetAttribute::KeyType(0),
                SetAttribute::KeyLen(1),
                SetAttribute::DataType(DATA_VERDICT),
                SetAttribute::Id(map_id),
            ],
        }),
        NLM_F_CREATE,
    ));
    let elements = (5..=15u8)
        .map(|words| {
            ListAttribute::Element(vec![
                SetElementAttribute::Key(DataAttribute::Value(vec![words << 4])),
                SetElementAttribute::Data(DataAttribute::Verdict(vec![
                    VerdictAttribute::Code(Verdict::Goto),
                    VerdictAttribute::Chain(doff_chain_of(x, words)),
                ])),
            ])
        })
        .collect();
    msgs.push((
        NfTablesMessage::NewSetElement(SetElementMessage {
            attributes: vec![
                SetElementList::Table(table.to_string()),
                SetElementList::Set(doff_map.clone()),
                SetElementList::SetId(map_id),
                SetElementList::Elements(elements),
            ],
        }),
        NLM_F_CREATE,
    ));
    let base = base_chain_of(x);
    let hook = vec![
        Hook::Number(HookNumber::Dev(DevHookNumber::Ingress)),
        Hook::Priority(0),
        Hook::NetDeviceName(slave.name.clone()),
    ];
    msgs.push(chain(base.clone(), Some(hook)));
    // The kind, then the header length's chain; the kind without a header length of at
    // least 5 words (or cut before it) goes to the bond.
    let mut by_doff = the_kind();
    by_doff.extend([
        nh(Register::Reg1, 32, 1),
        masked(vec![0xf0]),
        Expressions::Lookup(vec![
            Lookup::Set(doff_map),
            Lookup::SetId(map_id),
            Lookup::SourceRegister(Register::Reg1),
            Lookup::DestinationRegister(Register::Verdict),
        ])
        .into(),
    ]);
    msgs.push(add(&base, by_doff));
    let mut rest = the_kind();
    rest.extend(forward_to(end_ifindex));
    msgs.push(add(&base, rest));
    msgs
}

/// The base chain on slave `x`'s ingress.
fn base_chain_of(x: u32) -> String {
    format!("in-{x}")
}

/// The map of slave `x`'s TCP header lengths.
fn doff_map_of(x: u32) -> String {
    format!("doff-{x}")
}

/// Slave `x`'s chain for a TCP header of `words` 32-bit words.
fn doff_chain_of(x: u32, words: u8) -> String {
    format!("d{x}-{words}")
}

/// The rules of slave `x`'s chain for a TCP header of `words` words: a segment with payload
/// (the IP length over 20 octets of IP header and the TCP header) whose key the map has with
/// another slave is dropped; otherwise remembered as slave `x`'s and forwarded; anything
/// else forwarded.
fn doff_rules(
    x: u32,
    words: u8,
    end_ifindex: u32,
    window_ms: u64,
) -> Vec<Vec<ListAttribute<ExpressionAttribute>>> {
    let header = 20 + 4 * u16::from(words);
    let with_payload = || {
        let mut r = vec![
            nh(Register::Reg1, 2, 2),
            compare(Register::Reg1, Operator::GreaterThan, header.to_be_bytes().to_vec()),
        ];
        r.extend(key(words));
        r
    };
    let mut copy = with_payload();
    copy.extend([
        Expressions::Lookup(vec![
            Lookup::Set("seen".to_string()),
            Lookup::SetId(SEEN_ID),
            Lookup::SourceRegister(Register::Reg32_00),
            Lookup::DestinationRegister(Register::Reg32_11),
        ])
        .into(),
        compare(Register::Reg32_11, Operator::NotEqual, x.to_ne_bytes().to_vec()),
        verdict(DROP),
    ]);
    let mut first = with_payload();
    first.extend([
        immediate(Register::Reg32_12, x.to_ne_bytes().to_vec()),
        Expressions::Other {
            expression_type: "dynset".to_string(),
            attributes: vec![
                DefaultNla::new(DYNSET_SET_NAME, b"seen\0".to_vec()),
                DefaultNla::new(DYNSET_SET_ID, be32(SEEN_ID)),
                DefaultNla::new(DYNSET_OP, be32(DYNSET_OP_UPDATE)),
                DefaultNla::new(DYNSET_SREG_KEY, be32(u32::from(Register::Reg32_00))),
                DefaultNla::new(DYNSET_SREG_DATA, be32(u32::from(Register::Reg32_12))),
                DefaultNla::new(DYNSET_TIMEOUT, window_ms.to_be_bytes().to_vec()),
            ],
        }
        .into(),
    ]);
    first.extend(forward_to(end_ifindex));
    // Not a segment with payload, a header cut short, or the map full.
    let rest = forward_to(end_ifindex).to_vec();
    vec![copy, first, rest]
}

/// The key of a frame of the kind whose TCP header has `words` words, into registers
/// `Reg32_00` to `Reg32_10`: the frame's length (as the kernel counts it here: from the IP
/// header on), the source and destination addresses, the first 32 octets of the TCP header
/// (of a shorter header, the first 20 and zeros).
fn key(words: u8) -> Vec<ListAttribute<ExpressionAttribute>> {
    let tcp = if words >= 8 { 32 } else { 20 };
    let mut k = vec![
        Expressions::Meta(vec![
            Meta::DestinationRegister(Register::Reg32_00),
            Meta::Key(MetaKey::Length),
        ])
        .into(),
        nh(Register::Reg32_01, 12, 8),
        nh(Register::Reg32_03, 20, tcp),
    ];
    if tcp < 32 {
        k.push(immediate(Register::Reg32_08, vec![0; 12]));
    }
    k
}

/// The frames of the module's kind: IPv4, first octet 0x45, no fragment, TCP.
fn the_kind() -> Vec<ListAttribute<ExpressionAttribute>> {
    vec![
        ll(12, 2),
        equal(vec![0x08, 0x00]),
        nh(Register::Reg1, 0, 1),
        equal(vec![0x45]),
        nh(Register::Reg1, 6, 2),
        masked(vec![0x3f, 0xff]),
        equal(vec![0, 0]),
        nh(Register::Reg1, 9, 1),
        equal(vec![6]),
    ]
}

/// Takes the table of the bond whose data-path end is `end` away, if it has one (also where
/// the kernel has no nftables: then it has none).
pub fn clear(end: &str) -> Result<()> {
    crate::nft::delete_table("remove the bond's nftables copies table", end, &table_of(end))
}

/// Takes slave `ifindex`'s base chain out of the table of the bond whose data-path end is
/// `end`, if it is there: the slave's frames no longer meet the table (a slave given back by
/// a daemon that does not know the table's state).
pub fn drop_slave(end: &str, ifindex: u32) -> Result<()> {
    const OP: &str = "take a slave out of the bond's nftables copies table";
    let chain = ChainMessage {
        attributes: vec![
            ChainAttribute::Table(table_of(end)),
            ChainAttribute::Name(base_chain_of(ifindex)),
        ],
    };
    crate::nft::delete(OP, end, NfTablesMessage::DeleteChain(chain))
}

/// Whether the bond whose data-path end is `end` has the table.
pub fn present(end: &str) -> Result<bool> {
    crate::nft::table_present("look for the bond's nftables copies table", end, &table_of(end))
}
