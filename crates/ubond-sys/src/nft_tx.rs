//! The bond's frames forwarded in the kernel without eBPF where tc cannot do it, for the
//! userspace data path: nftables' `netdev` family on the data-path end's ingress (its hook
//! runs after tc's). Two uses:
//!
//! * **A source address to write** ([`NftMatch::Layer2`]): balance-tlb sends a frame by a
//!   slave other than the active one with that slave's address as its source
//!   (`bond_do_alb_xmit`). tc's `u32` and `mirred` ([`crate::redirect`]) cannot write a frame
//!   on a kernel without `pedit` or `skbmod`, and a frame tc redirects from an ingress skips
//!   netfilter's egress hooks (`nf_skip_egress`), so the slave's egress cannot either. The
//!   table matches what [`crate::redirect::TxTo::Ipv4`] matches and looks the destination's
//!   last octet up.
//! * **A hash to compute** ([`NftMatch::Layer34`], [`NftMatch::Layer23`]):
//!   `xmit_hash_policy=layer3+4` folds the ports and the addresses, `layer2+3` the MAC
//!   addresses' last octets, the EtherType and the addresses, which `u32` cannot; nftables
//!   XORs and shifts registers. The table computes the kernel's hash (`layer3+4`: for TCP
//!   and UDP over IPv4 without options or fragments, and over IPv6 right after the fixed
//!   header; `layer2+3`: IPv4 and IPv6 but ICMP) and looks the masked hash up.
//! * **A counter to keep** ([`NftMatch::RoundRobin`]): balance-rr sends frame after frame
//!   by the next slave, which no classifier of tc's can; nftables' `numgen` counts the
//!   frames modulo the number of routes (or picks one at random) and looks the count up.
//!
//! A table per end, `ubond-END`, as `nft` would write the second kind:
//!
//! ```text
//! table netdev ubond-bond0-dp {
//!     map routes { type ... : verdict; elements = { 0x0 : jump k0, 0x1 : jump k1 } }
//!     chain tx {
//!         type filter hook ingress device "bond0-dp" priority 0; policy accept;
//!         ether type ip @ll,0,8 & 0x01 == 0 @nh,0,8 0x45 @nh,48,16 & 0x3fff == 0
//!             @nh,72,8 6 (saddr ^ daddr ^ ports, folded, >> 1, & mask) vmap @routes
//!         (the same for UDP)
//!     }
//!     chain k1 { counter ether saddr set SLAVE fwd to SLAVE }
//! }
//! ```
//!
//! one map lookup per frame, each route counting its frames for balance-tlb's load
//! ([`sent`]). Frames the table does not take go on up the end, where the data threads'
//! sockets take exactly those ([`crate::Receive::AllBut`], [`crate::Receive::AllButL34`]:
//! the table's matches use only octets a classic BPF program can read too, and every key has
//! a route). The table is replaced whole in one nfnetlink transaction ([`put`]): all of it or
//! nothing, and no frame meets half a table. Like tc's filters it belongs to the interface
//! and keeps forwarding while no daemon runs; [`clear`] takes it away. The messages are
//! encoded by netlink-packet-netfilter.

use netlink_packet_core::{DefaultNla, Nla, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP};
use netlink_packet_netfilter::nftables::{
    Bitwise, ChainAttribute, ChainMessage, DataAttribute, DevHookNumber, ExpressionAttribute,
    Expressions, Hook, HookNumber, ListAttribute, Lookup, NfTablesMessage, Payload, Register,
    RuleAttribute, RuleMessage, SetAttribute, SetElementAttribute, SetElementList,
    SetElementMessage, SetFlags, SetMessage, Verdict, VerdictAttribute,
};

use crate::error::Result;
use crate::nft::{
    batch, be32, equal, forward_to, immediate, ll, masked, nh, not_equal, payload, replacing,
    request, rule, verdict, ACCEPT, DATA_VERDICT, LL_HEADER,
};

/// Which frames a table takes, and the key its map looks them up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NftMatch {
    /// The frames of [`crate::redirect::TxTo::Ipv4`] (untagged IPv4 to a unicast address,
    /// from a source whose last octet is `src_last`), by the destination's last octet.
    Layer2 {
        /// The source address's last octet.
        src_last: u8,
    },
    /// Untagged IPv4 to a unicast address, no IP options (first octet 0x45), no fragment,
    /// TCP or UDP, at least 24 octets from the IP header on; and untagged IPv6 to a unicast
    /// address, next header TCP or UDP, at least 44 octets from the IP header on (the data
    /// threads' sockets: [`crate::Receive::AllButL34`]), by the `layer3+4` hash: ports,
    /// source and destination address (over IPv6 each the XOR of its four words) XORed as
    /// words of the machine, folded (`h ^= h >> 16; h ^= h >> 8`), shifted right once and
    /// masked with `mask`.
    Layer34 {
        /// The key's mask.
        mask: u32,
    },
    /// Untagged IPv4 to a unicast address, at least 20 octets from the IP header on, not
    /// ICMP; untagged IPv6 to a unicast address, at least 40 octets from the IP header on,
    /// next header not ICMPv6 (the data threads' sockets: [`crate::Receive::AllButL23`]), by
    /// the `layer2+3` hash: the MAC addresses' last octets, the EtherType, the source and
    /// destination address (over IPv6 each the XOR of its four words) XORed as words of the
    /// machine, folded (`h ^= h >> 16; h ^= h >> 8`) and masked with `mask`.
    Layer23 {
        /// The key's mask.
        mask: u32,
    },
    /// balance-alb's balanced frames: untagged IPv4 to a unicast address, at least 20 octets
    /// from the IP header on, not IGMP, not to 255.255.255.255; untagged IPv6 to a unicast
    /// address, next header TCP or UDP, from a specified address (the data threads' sockets:
    /// [`crate::Receive::AllButAlb`]), by the XOR of the destination address's octets.
    Alb,
    /// balance-rr's frames: every untagged frame (EtherType not 0x8100 or 0x88a8; the
    /// kernel's tag, held apart, reads as one here) but IGMP over IPv4 (EtherType IPv4, at
    /// least 24 octets, protocol 2; the data threads' sockets take the others:
    /// [`crate::Receive::AllButRr`]), by a counter of the frames modulo the number of
    /// routes, whose keys are `0..routes.len()` (`numgen inc`), or at random (`numgen
    /// random`).
    RoundRobin {
        /// Pick the route at random, not by the counter.
        random: bool,
    },
}

/// One route: the frames of key `key` leave by interface `to`, with source address
/// `source` if there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NftRoute {
    /// The key (for [`NftMatch::Layer2`], the destination address's last octet).
    pub key: u32,
    /// The interface index of the slave.
    pub to: u32,
    /// The source address the frames get (a slave's own); `None`: they leave unchanged.
    pub source: Option<[u8; 6]>,
}

/// `NFT_BITWISE_RSHIFT` and `NFT_BITWISE_XOR` (between two registers).
const RSHIFT: u32 = 2;
const XOR: u32 = 5;
/// `NFTA_COUNTER_BYTES`, `NFTA_COUNTER_PACKETS`.
const COUNTER_BYTES: u16 = 1;
const COUNTER_PACKETS: u16 = 2;
/// The map's id within the transaction.
const MAP_ID: u32 = 1;
/// `NFTA_NG_DREG`, `NFTA_NG_MODULUS`, `NFTA_NG_TYPE`, `NFTA_NG_OFFSET`; `NFT_NG_INCREMENTAL`,
/// `NFT_NG_RANDOM`.
const NG_DREG: u16 = 1;
const NG_MODULUS: u16 = 2;
const NG_TYPE: u16 = 3;
const NG_OFFSET: u16 = 4;
const NG_INCREMENTAL: u32 = 0;
const NG_RANDOM: u32 = 1;

/// The table of data-path end `end`.
pub fn table_of(end: &str) -> String {
    format!("ubond-{end}")
}

/// The chain of route `key`.
fn chain_of(key: u32) -> String {
    format!("k{key:x}")
}

/// Gives data-path end `end` the table that sends the frames `what` selects by `routes`, in
/// place of the one it had. With no route, the table goes. Fails (said with the kernel's
/// reason) where the kernel has no nftables, no `netdev` family, no `fwd`, or (for
/// [`NftMatch::Layer34`] and [`NftMatch::Alb`]) no XOR between registers, (for
/// [`NftMatch::RoundRobin`]) no `numgen`; the end then has what it had.
pub fn put(end: &str, what: NftMatch, routes: &[NftRoute]) -> Result<()> {
    const OP: &str = "forward the bond's frames in the kernel (nftables)";
    if routes.is_empty() {
        return clear(end);
    }
    let table = table_of(end);
    let t = || table.clone();
    let key_of = |key: u32| match what {
        NftMatch::Layer2 { .. } => vec![key as u8],
        _ => key.to_ne_bytes().to_vec(),
    };
    let key_len = match what {
        NftMatch::Layer2 { .. } => 1,
        _ => 4,
    };
    // One transaction replaces the table.
    let mut msgs = replacing(&table);
    msgs.extend([(
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(t()),
                SetAttribute::Name("routes".to_string()),
                SetAttribute::Flags(SetFlags::Map),
                SetAttribute::KeyType(0),
                SetAttribute::KeyLen(key_len),
                SetAttribute::DataType(DATA_VERDICT),
                SetAttribute::Id(MAP_ID),
            ],
        }),
        NLM_F_CREATE,
    )]);
    for r in routes {
        let chain = chain_of(r.key);
        msgs.push((
            NfTablesMessage::NewChain(ChainMessage {
                attributes: vec![ChainAttribute::Table(t()), ChainAttribute::Name(chain.clone())],
            }),
            NLM_F_CREATE,
        ));
        let mut forward =
            vec![Expressions::Other { expression_type: "counter".to_string(), attributes: vec![] }
                .into()];
        if let Some(source) = r.source {
            forward.push(immediate(Register::Reg1, source.to_vec()));
            forward.push(payload(Payload::SourceRegister(Register::Reg1), LL_HEADER, 6, 6));
        }
        forward.extend(forward_to(r.to));
        msgs.push((rule(&table, &chain, forward), NLM_F_CREATE | NLM_F_APPEND));
    }
    let elements = routes
        .iter()
        .map(|r| {
            ListAttribute::Element(vec![
                SetElementAttribute::Key(DataAttribute::Value(key_of(r.key))),
                SetElementAttribute::Data(DataAttribute::Verdict(vec![
                    VerdictAttribute::Code(Verdict::Jump),
                    VerdictAttribute::Chain(chain_of(r.key)),
                ])),
            ])
        })
        .collect();
    msgs.push((
        NfTablesMessage::NewSetElement(SetElementMessage {
            attributes: vec![
                SetElementList::Table(t()),
                SetElementList::Set("routes".to_string()),
                SetElementList::SetId(MAP_ID),
                SetElementList::Elements(elements),
            ],
        }),
        NLM_F_CREATE,
    ));
    let hook = vec![
        Hook::Number(HookNumber::Dev(DevHookNumber::Ingress)),
        Hook::Priority(0),
        Hook::NetDeviceName(end.to_string()),
    ];
    msgs.push((
        NfTablesMessage::NewChain(ChainMessage {
            attributes: vec![
                ChainAttribute::Table(t()),
                ChainAttribute::Name("tx".to_string()),
                ChainAttribute::Hook(hook),
                ChainAttribute::Policy(ACCEPT),
                ChainAttribute::Type("filter".to_string()),
            ],
        }),
        NLM_F_CREATE,
    ));
    let modulus = u32::try_from(routes.len()).unwrap_or(u32::MAX);
    for lookup in base_rules(what, modulus) {
        msgs.push((rule(&table, "tx", lookup), NLM_F_CREATE | NLM_F_APPEND));
    }
    batch(OP, end, msgs)
}

/// The base chain's rules for `what` (a table of `routes` routes), each ending in the map's
/// lookup or, for frames left to the data threads, in `accept`. An outer VLAN tag is in the
/// skb's metadata here; nftables reads the EtherType in line (at 12), the tag's, so a tagged
/// frame is no IPv4 or IPv6 there, as for tc's filter.
fn base_rules(what: NftMatch, routes: u32) -> Vec<Vec<ListAttribute<ExpressionAttribute>>> {
    // Of this EtherType, to a unicast address.
    let unicast = |ethertype: [u8; 2]| {
        vec![ll(12, 2), equal(ethertype.to_vec()), ll(0, 1), masked(vec![0x01]), equal(vec![0x00])]
    };
    let unicast_ipv4 = unicast([0x08, 0x00]);
    let lookup = || {
        Expressions::Lookup(vec![
            Lookup::Set("routes".to_string()),
            Lookup::SetId(MAP_ID),
            Lookup::SourceRegister(Register::Reg1),
            Lookup::DestinationRegister(Register::Verdict),
        ])
        .into()
    };
    // reg1 op= reg2, on four octets.
    let with_reg2 = |op: u32| {
        Expressions::Bitwise(vec![
            Bitwise::SourceRegister(Register::Reg1),
            Bitwise::SourceRegister2(Register::Reg2),
            Bitwise::DestinationRegister(Register::Reg1),
            Bitwise::Length(4),
            Bitwise::Op(op),
        ])
        .into()
    };
    // `to` = reg1 >> `by`.
    let shifted = |to: Register, by: u32| {
        Expressions::Bitwise(vec![
            Bitwise::SourceRegister(Register::Reg1),
            Bitwise::DestinationRegister(to),
            Bitwise::Length(4),
            Bitwise::Op(RSHIFT),
            Bitwise::Data(DataAttribute::Value(by.to_ne_bytes().to_vec())),
        ])
        .into()
    };
    // The fold of reg1: `h ^= h >> 16; h ^= h >> 8`.
    let fold = || {
        vec![
            shifted(Register::Reg2, 16),
            with_reg2(XOR),
            shifted(Register::Reg2, 8),
            with_reg2(XOR),
        ]
    };
    match what {
        NftMatch::RoundRobin { random } => {
            // Tagged (by either TPID), and IGMP over IPv4: the data threads'.
            let mut rules: Vec<_> = [[0x81, 0x00], [0x88, 0xa8]]
                .map(|tpid| vec![ll(12, 2), equal(tpid.to_vec()), verdict(ACCEPT)])
                .into();
            rules.push(vec![
                ll(12, 2),
                equal(vec![0x08, 0x00]),
                nh(Register::Reg1, 9, 1),
                equal(vec![2]),
                verdict(ACCEPT),
            ]);
            let kind = if random { NG_RANDOM } else { NG_INCREMENTAL };
            let numgen = Expressions::Other {
                expression_type: "numgen".to_string(),
                attributes: vec![
                    DefaultNla::new(NG_DREG, be32(u32::from(Register::Reg1))),
                    DefaultNla::new(NG_MODULUS, be32(routes)),
                    DefaultNla::new(NG_TYPE, be32(kind)),
                    DefaultNla::new(NG_OFFSET, be32(0)),
                ],
            };
            rules.push(vec![numgen.into(), lookup()]);
            rules
        }
        NftMatch::Alb => {
            let mut r = unicast_ipv4;
            r.extend([
                nh(Register::Reg1, 9, 1),
                not_equal(vec![2]),
                nh(Register::Reg1, 16, 4),
                not_equal(vec![0xff; 4]),
            ]);
            // The XOR of the four octets: the low octet of the fold, whatever the byte order.
            r.extend(fold());
            r.extend([masked(0xffu32.to_ne_bytes().to_vec()), lookup()]);
            // IPv6 (TCP or UDP right after the fixed header, so no neighbour discovery) from
            // a specified address: the XOR of the destination's sixteen octets, the same way.
            let ipv6 = [6u8, 17].map(|proto| {
                let mut r = unicast([0x86, 0xdd]);
                r.extend([
                    nh(Register::Reg1, 6, 1),
                    equal(vec![proto]),
                    nh(Register::Reg1, 8, 16),
                    not_equal(vec![0; 16]),
                    nh(Register::Reg1, 24, 4),
                ]);
                for word in 1..4 {
                    r.extend([nh(Register::Reg2, 24 + 4 * word, 4), with_reg2(XOR)]);
                }
                r.extend(fold());
                r.extend([masked(0xffu32.to_ne_bytes().to_vec()), lookup()]);
                r
            });
            std::iter::once(r).chain(ipv6).collect()
        }
        NftMatch::Layer2 { src_last } => {
            let mut r = unicast_ipv4;
            r.extend([ll(11, 1), equal(vec![src_last]), ll(5, 1), lookup()]);
            vec![r]
        }
        NftMatch::Layer23 { mask } => {
            // The MAC addresses' last octets (each loaded alone: the rest of its word is
            // zero) and the EtherType, then the addresses, folded, masked, looked up.
            let eth_hash = |ethertype: u16| {
                vec![
                    ll(5, 1),
                    payload(Payload::DestinationRegister(Register::Reg2), LL_HEADER, 11, 1),
                    with_reg2(XOR),
                    Expressions::Bitwise(vec![
                        Bitwise::SourceRegister(Register::Reg1),
                        Bitwise::DestinationRegister(Register::Reg1),
                        Bitwise::Length(4),
                        Bitwise::Mask(DataAttribute::Value(vec![0xff; 4])),
                        Bitwise::Xor(DataAttribute::Value(
                            u32::from(ethertype).to_ne_bytes().to_vec(),
                        )),
                    ])
                    .into(),
                ]
            };
            let keyed = || {
                let mut r = fold();
                r.extend([masked(mask.to_ne_bytes().to_vec()), lookup()]);
                r
            };
            // IPv4 (the addresses' loads also need the 20 octets), not ICMP.
            let mut v4 = unicast_ipv4;
            v4.extend([nh(Register::Reg1, 9, 1), not_equal(vec![1])]);
            v4.extend(eth_hash(0x0800));
            for at in [12, 16] {
                v4.extend([nh(Register::Reg2, at, 4), with_reg2(XOR)]);
            }
            v4.extend(keyed());
            // IPv6 (the 40 octets), not ICMPv6.
            let mut v6 = unicast([0x86, 0xdd]);
            v6.extend([nh(Register::Reg1, 6, 1), not_equal(vec![58])]);
            v6.extend(eth_hash(0x86dd));
            for word in 0..8 {
                v6.extend([nh(Register::Reg2, 8 + 4 * word, 4), with_reg2(XOR)]);
            }
            v6.extend(keyed());
            vec![v4, v6]
        }
        NftMatch::Layer34 { mask } => {
            // The end of each rule: fold, shift, mask, look up.
            let keyed = || {
                let mut r = fold();
                r.extend([
                    shifted(Register::Reg1, 1),
                    masked(mask.to_ne_bytes().to_vec()),
                    lookup(),
                ]);
                r
            };
            // IPv6: next header TCP or UDP right after the fixed header; the hash: the ports
            // ^ the XOR of each address's four words (`ipv6_addr_hash`); the ports' load also
            // needs the 44 octets.
            let ipv6 = [6u8, 17].iter().map(|&proto| {
                let mut r = unicast([0x86, 0xdd]);
                r.extend([nh(Register::Reg1, 6, 1), equal(vec![proto]), nh(Register::Reg1, 40, 4)]);
                for word in 0..8 {
                    r.extend([nh(Register::Reg2, 8 + 4 * word, 4), with_reg2(XOR)]);
                }
                r.extend(keyed());
                r
            });
            let ipv4 = [6u8, 17].iter().map(|&proto| {
                let mut r = unicast_ipv4.clone();
                r.extend([
                    nh(Register::Reg1, 0, 1),
                    equal(vec![0x45]),
                    nh(Register::Reg1, 6, 2),
                    masked(vec![0x3f, 0xff]),
                    equal(vec![0, 0]),
                    nh(Register::Reg1, 9, 1),
                    equal(vec![proto]),
                    // The hash: ports ^ saddr ^ daddr (the ports' load also needs the 24
                    // octets), folded.
                    nh(Register::Reg1, 12, 4),
                    nh(Register::Reg2, 16, 4),
                    with_reg2(XOR),
                    nh(Register::Reg2, 20, 4),
                    with_reg2(XOR),
                ]);
                r.extend(keyed());
                r
            });
            ipv4.chain(ipv6).collect()
        }
    }
}

/// Takes data-path end `end`'s table away, if it has one (also where the kernel has no
/// nftables: then it has none).
pub fn clear(end: &str) -> Result<()> {
    crate::nft::delete_table("remove the bond's nftables forwarding", end, &table_of(end))
}

/// What data-path end `end`'s table sent since it was put there: per route (its key), the
/// frames and their octets (whole Ethernet frames, as the bond counts them:
/// the hook's counters leave out the Ethernet header, 14 octets, which is added back).
pub fn sent(end: &str) -> Result<Vec<(u32, u64, u64)>> {
    const OP: &str = "read the bond's nftables forwarding counters";
    let get = NfTablesMessage::GetRule(RuleMessage {
        attributes: vec![RuleAttribute::Table(table_of(end))],
    });
    let rules = request(OP, end, get, NLM_F_DUMP)?;
    Ok(rules
        .iter()
        .filter_map(|m| match m {
            NfTablesMessage::NewRule(rule) => route_counts(rule),
            _ => None,
        })
        .collect())
}

/// Whether data-path end `end` has ubond's table (where the kernel has no nftables, it has
/// none).
pub fn present(end: &str) -> Result<bool> {
    crate::nft::table_present("look for the bond's nftables table", end, &table_of(end))
}

/// A route chain's rule: its key, and its counter's frames and octets (plus the headers).
fn route_counts(rule: &RuleMessage) -> Option<(u32, u64, u64)> {
    let chain = rule.attributes.iter().find_map(|a| match a {
        RuleAttribute::Chain(c) => Some(c.as_str()),
        _ => None,
    })?;
    let key = u32::from_str_radix(chain.strip_prefix('k')?, 16).ok()?;
    let expressions = rule.attributes.iter().find_map(|a| match a {
        RuleAttribute::Expressions(e) => Some(e),
        _ => None,
    })?;
    let u64_of = |attributes: &[DefaultNla], kind: u16| {
        let a = attributes.iter().find(|a| a.kind() == kind)?;
        let mut v = [0u8; 8];
        if a.value_len() != v.len() {
            return None;
        }
        a.emit_value(&mut v);
        Some(u64::from_be_bytes(v))
    };
    expressions.iter().find_map(|e| {
        let ListAttribute::Element(attrs) = e else { return None };
        attrs.iter().find_map(|a| match a {
            ExpressionAttribute::Data(Expressions::Other { expression_type, attributes })
                if expression_type == "counter" =>
            {
                let packets = u64_of(attributes, COUNTER_PACKETS)?;
                let bytes = u64_of(attributes, COUNTER_BYTES)?;
                Some((key, packets, bytes.saturating_add(packets.saturating_mul(14))))
            }
            _ => None,
        })
    })
}
