// SPDX-License-Identifier: MIT OR Apache-2.0
//
// ubond's in-kernel fast data path: two tc programs (attached with TCX links).
//
// * `ubond_tap_egress`, on a bond's tap: a frame the host stack sends through the bond goes
//   straight to the slave `TxPlan::decide` (crates/ubond-core/src/bond/plan.rs) would pick,
//   with the transmit hash of `ubond_core::hash::xmit_hash` (the kernel's `bond_xmit_hash`),
//   bit for bit. balance-tlb/alb follow the control plane's table (`TlbTable`, tlb.rs): the
//   source-address rewrite included, and each frame's bytes counted per bucket in a per-CPU
//   map the daemon reads at its timer. Anything this program does not model exactly (and
//   balance-alb's ARP, which receive load balancing rewrites) returns TC_ACT_OK: the frame
//   then reaches the tap's file descriptor and the daemon's userspace path handles it.
// * `ubond_slave_ingress`, on each slave: data frames the bond delivers are redirected into
//   the tap's receive path (a frame for a slave's own address given the bond's, as
//   `RxPlan::to_bond` does); the others are dropped. The daemon's control frames are the
//   packet socket's, which saw them before tc ingress (ETH_P_ALL taps run first, and its
//   socket filter takes only those): Slow Protocols (LACP, Marker) and micro-BFD (UDP 6784)
//   are dropped here; ARP and neighbour discovery, which the ARP monitor and balance-alb's
//   receive balancing only read, go on like data. For the ARP monitor, the last time each
//   slave received a frame for this host is kept in a per-CPU map (its `last_rx`). In
//   broadcast with `tcp_dup_discard`, another slave's copy of a TCP segment is discarded
//   (`is_copy`, the core's `RxCopies`).
//
// A bond or slave without an enabled map entry is left alone: the daemon clears the `enabled`
// word whenever the bond must stay on the userspace path (too many slaves, its programs not
// attached). Left alone is TC_ACT_UNSPEC (TCX_NEXT), not TC_ACT_OK: what else is attached to
// the hook still runs, as the userspace path's own tc filters on the slaves must (TC_ACT_OK
// from a TCX program, or from a direct-action filter ahead of them, would skip them).
//
// Each program counts, per CPU and per interface, the frames (and bytes) it handled while
// enabled, by verdict: forwarded (to a slave, or up the bond), passed to userspace, dropped.
// The daemon sums the CPUs for its metrics.
//
// Self-contained on purpose (no libbpf headers): the few helpers are declared below. Build:
//   clang -O2 -g -target bpf -c datapath.bpf.c -o datapath.bpf.o

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#define INLINE static __attribute__((always_inline)) inline

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   u64 flags) = (void *)2;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_skb_store_bytes)(struct __sk_buff *skb, u32 offset, const void *from, u32 len,
                                   u64 flags) = (void *)9;
static long (*bpf_clone_redirect)(struct __sk_buff *skb, u32 ifindex, u64 flags) = (void *)13;
static long (*bpf_redirect)(u32 ifindex, u64 flags) = (void *)23;
static long (*bpf_skb_load_bytes)(const void *skb, u32 offset, void *to, u32 len) = (void *)26;

// Keep in step with crates/ubond-sys/src/bpf.rs.
#define MAX_BONDS 64
#define MAX_SLAVE_ENTRIES 1024
#define MAX_SLAVES 16

// Bonding modes and hash policies: the kernel's numbers.
#define MODE_RR 0
#define MODE_AB 1
#define MODE_XOR 2
#define MODE_BROADCAST 3
#define MODE_8023AD 4
#define MODE_TLB 5
#define MODE_ALB 6

#define POL_L2 0
#define POL_L34 1
#define POL_L23 2
#define POL_E23 3
#define POL_E34 4
#define POL_VLAN_SRCMAC 5

#define TLB_HASH_TABLE_SIZE 256
#define NO_SLOT 0xff
#define TLB_ON 1      // balance-tlb/alb: the table below is in use
#define TLB_DYNAMIC 2 // tlb_dynamic_lb
#define TLB_ALB 4     // balance-alb (the key is the destination IP address)

struct bond_cfg {
    u32 enabled;
    u32 mode;
    u32 policy;
    u32 packets_per_slave;
    u32 igmp_ifindex; // 0: none
    u32 count;        // slaves[0..count] may transmit, in enslave order
    u32 slaves[MAX_SLAVES];
    // balance-tlb/alb: `TlbTable`, its slaves numbered by slot.
    u32 tlb_flags;
    u32 tlb_count;    // slots in use
    u32 tlb_mac_mask; // bit i: tlb_macs[i] is slot i's own address
    u32 tlb_slaves[MAX_SLAVES];  // the ifindex of each slot
    u8 tlb_macs[MAX_SLAVES][6];
    u8 active;       // the slot of `TlbTable::active`, NO_SLOT: none
    u8 usable_count; // `TlbTable::usable`, as slots
    u8 usable[MAX_SLAVES];
    u8 pad[2];
    u8 buckets[TLB_HASH_TABLE_SIZE]; // the slot of each bucket, NO_SLOT: none
};

// The layouts src/bpf.rs writes (`CFG_LEN`, `RX_LEN`).
_Static_assert(sizeof(struct bond_cfg) == 536, "struct bond_cfg: 536 octets");

// Bytes sent per bucket since the map entry was made (`TlbLoad`), one per CPU and bond; the
// daemon reads the sums at its timer and hands the growth to the core. The program makes the
// entry at the bond's first counted frame.
struct tlb_load {
    u64 buckets[TLB_HASH_TABLE_SIZE];
    u64 unbalanced;
};

#define RX_ENABLED 1
#define RX_DELIVER 2
#define RX_UNICAST_ONLY 4
#define RX_STAMP 8 // the ARP monitor: keep the slave's `rx_seen`
#define RX_COPIES 16 // broadcast: discard the other slaves' copies of a TCP segment (`RxCopies`)

struct slave_rx {
    u32 tap_ifindex;
    u32 flags;
    u8 own_mac[6];  // the slave's address: unicast to another is not for this host
    u8 bond_mac[6]; // `RxPlan::bond_mac`
    u32 mac_count;  // `RxPlan::slave_macs`
    u8 macs[MAX_SLAVES][6];
};

_Static_assert(sizeof(struct slave_rx) == 120, "struct slave_rx: 120 octets");

// When a slave last received a frame for this host (CLOCK_MONOTONIC ns), any and ARP or IPv6
// only (what `arp_validate=filter` counts): the ARP monitor's `last_rx`, one per CPU.
struct rx_seen {
    u64 any;
    u64 arp_ipv6;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_BONDS);
    __type(key, u32); // the tap's ifindex
    __type(value, struct bond_cfg);
} ubond_bonds SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_SLAVE_ENTRIES);
    __type(key, u32); // the slave's ifindex
    __type(value, struct slave_rx);
} ubond_slaves SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, MAX_BONDS);
    __type(key, u32); // the tap's ifindex
    __type(value, struct tlb_load);
} ubond_tlb_load SEC(".maps");

// All zeros, never written: the first value of a bond's `ubond_tlb_load` entry (too large
// for the stack).
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct tlb_load);
} ubond_tlb_zero SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, MAX_SLAVE_ENTRIES);
    __type(key, u32); // the slave's ifindex
    __type(value, struct rx_seen);
} ubond_rx_seen SEC(".maps");

// balance-rr's counter, one per CPU and bond (Linux keeps one per CPU too).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, MAX_BONDS);
    __type(key, u32);
    __type(value, u32);
} ubond_rr SEC(".maps");

// `RxCopies` (crates/ubond-core/src/bond/copies.rs): the TCP segments delivered lately, one
// per slot, the slot chosen by the key's hash. Keep in step with `COPY_SLOTS`, `COPY_WINDOW`.
// No lock (bpf_spin_lock needs Linux 5.1 and BTF; the programs load on older kernels): two CPUs
// writing one slot at the same moment can leave one segment's key with the other's slave, so
// that a copy of it goes up, or, within 50 ms and on the slave of the other write, a
// retransmission of it is taken for a copy. A slot whose key words mix two segments matches
// neither.
#define COPY_SLOTS 1024
#define COPY_WINDOW_NS 50000000ULL
#define COPY_KEY_WORDS 18

struct copy_key {
    u32 w[COPY_KEY_WORDS];
};

struct copy_slot {
    u32 slave; // the ifindex it arrived on; 0: an empty slot
    u32 pad;
    u64 at;    // when (CLOCK_MONOTONIC ns)
    struct copy_key key;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, COPY_SLOTS);
    __type(key, u32);
    __type(value, struct copy_slot);
} ubond_copies SEC(".maps");

// Verdicts counted (an index into `struct counters`).
#define VERDICT_FORWARDED 0 // tap: sent to a slave; slave: delivered up the bond
#define VERDICT_PASSED 1    // left to the daemon (TC_ACT_OK; a slave's Slow Protocols frames)
#define VERDICT_DROPPED 2   // TC_ACT_SHOT
#define VERDICT_DUPLICATE 3 // slave: another slave's copy of a TCP segment, discarded (SHOT)
#define VERDICTS 4

struct counters {
    u64 frames[VERDICTS];
    u64 bytes[VERDICTS];
};

// Frame counters, one per CPU and interface (a bond's tap or a slave).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, MAX_BONDS + MAX_SLAVE_ENTRIES);
    __type(key, u32); // the interface's ifindex
    __type(value, struct counters);
} ubond_counters SEC(".maps");

// The verdict a tc action counts as.
INLINE u32 verdict_of(int act) {
    return act == TC_ACT_REDIRECT ? VERDICT_FORWARDED
           : act == TC_ACT_OK     ? VERDICT_PASSED
                                  : VERDICT_DROPPED;
}

// Counts a frame of `len` bytes handled on `ifindex` with verdict `v`. A full map only stops
// the counting.
INLINE void count(u32 ifindex, u32 v, u32 len) {
    struct counters *c = bpf_map_lookup_elem(&ubond_counters, &ifindex);
    if (!c) {
        struct counters zero = {};
        bpf_map_update_elem(&ubond_counters, &ifindex, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&ubond_counters, &ifindex);
        if (!c)
            return;
    }
    if (v >= VERDICTS)
        return;
    c->frames[v] += 1;
    c->bytes[v] += len;
}

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_PPP_SES 0x8864
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define ETH_P_RARP 0x8035
#define ETH_P_TIPC 0x88ca
#define ETH_P_FCOE 0x8906
#define ETH_P_BATMAN 0x4305
#define ETH_P_TEB 0x6558
#define ETH_P_SLOW 0x8809
#define MAX_FLOW_DISSECT_HDRS 15

// The frame is read as userspace would see it: an accelerated VLAN tag (skb metadata) is
// in-line there, at octets 12..16. `vlan` says so; all reads below use real skb offsets, and
// the callers account for the 4 octets.

INLINE int be16(struct __sk_buff *skb, u32 off, u16 *out) {
    u8 b[2];
    if (bpf_skb_load_bytes(skb, off, b, 2))
        return -1;
    *out = (u16)b[0] << 8 | b[1];
    return 0;
}

// A plain 32-bit load on a little-endian machine (the kernel's way with `__be32` fields).
INLINE int le32(struct __sk_buff *skb, u32 off, u32 *out) {
    u8 b[4];
    if (bpf_skb_load_bytes(skb, off, b, 4))
        return -1;
    *out = (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
    return 0;
}

struct keys {
    u32 src;
    u32 dst;
    u32 ports;
    u32 icmp_type;
    u32 icmp_code;
    u32 icmp_id;
};

// `__skb_flow_get_ports()`.
INLINE u32 get_ports(struct __sk_buff *skb, u32 thoff, u8 proto) {
    u32 at, w;
    switch (proto) {
    case 6: case 17: case 136: case 132: case 33: case 50:
        at = 0;
        break;
    case 51:
        at = 4;
        break;
    default:
        return 0;
    }
    if (le32(skb, thoff + at, &w))
        return 0;
    return w;
}

// `skb_flow_get_icmp_tci()`, current kernels.
INLINE void get_icmp_tci(struct __sk_buff *skb, u32 thoff, struct keys *k) {
    u8 ih[8];
    if (bpf_skb_load_bytes(skb, thoff, ih, 8))
        return;
    k->icmp_type = ih[0];
    k->icmp_code = ih[1];
    switch (ih[0]) {
    case 0: case 8: case 13: case 14: case 128: case 129: {
        u16 id = (u16)ih[4] << 8 | ih[5];
        k->icmp_id = id ? id : 1;
        break;
    }
    default:
        k->icmp_id = 0;
    }
}

// `bond_flow_ip()`. `*ip_proto` < 0: none (an IPv4 fragment).
INLINE int bond_flow_ip(struct __sk_buff *skb, struct keys *k, u16 l2_proto, u32 *nhoff,
                        int *ip_proto, int l34) {
    u32 at = *nhoff;
    if (l2_proto == ETH_P_IP) {
        u8 iph[20];
        if (bpf_skb_load_bytes(skb, at, iph, 20))
            return 0;
        k->src = (u32)iph[12] | (u32)iph[13] << 8 | (u32)iph[14] << 16 | (u32)iph[15] << 24;
        k->dst = (u32)iph[16] | (u32)iph[17] << 8 | (u32)iph[18] << 16 | (u32)iph[19] << 24;
        *nhoff = at + (u32)(iph[0] & 0x0f) * 4;
        u16 frag = (u16)iph[6] << 8 | iph[7];
        if ((frag & 0x3fff) == 0)
            *ip_proto = iph[9];
    } else if (l2_proto == ETH_P_IPV6) {
        u32 w[8];
        if (bpf_skb_load_bytes(skb, at + 8, w, 32))
            return 0;
        u8 nh;
        if (bpf_skb_load_bytes(skb, at + 6, &nh, 1))
            return 0;
        k->src = w[0] ^ w[1] ^ w[2] ^ w[3];
        k->dst = w[4] ^ w[5] ^ w[6] ^ w[7];
        *nhoff = at + 40;
        *ip_proto = nh;
    } else {
        return 0;
    }
    if (l34 && *ip_proto >= 0)
        k->ports = get_ports(skb, *nhoff, (u8)*ip_proto);
    return 1;
}

// `bond_flow_dissect()` for layer2+3 and layer3+4. 0: fall back to the layer2 hash.
INLINE int bond_flow_dissect(struct __sk_buff *skb, struct keys *k, u16 l2_proto, int l34) {
    u32 nhoff = ETH_HLEN;
    int ip_proto = -1;
    int is_err = 0;
    if (!bond_flow_ip(skb, k, l2_proto, &nhoff, &ip_proto, l34))
        return 0;
    if (ip_proto == 1) {
        get_icmp_tci(skb, nhoff, k);
        is_err = k->icmp_type == 3 || k->icmp_type == 4 || k->icmp_type == 5 ||
                 k->icmp_type == 11 || k->icmp_type == 12;
    } else if (ip_proto == 58) {
        get_icmp_tci(skb, nhoff, k);
        is_err = (k->icmp_type & 0x80) == 0;
    }
    if (is_err) {
        nhoff += 8;
        if (!bond_flow_ip(skb, k, l2_proto, &nhoff, &ip_proto, l34))
            return 0;
    }
    return 1;
}

enum ret { OUT_GOOD, OUT_BAD, PROTO_AGAIN, IP_PROTO_AGAIN, CONTINUE };

// `__skb_flow_dissect_gre()`.
INLINE enum ret gre(struct __sk_buff *skb, u16 *proto, u32 *nhoff) {
    u16 flags, p;
    if (be16(skb, *nhoff, &flags) || be16(skb, *nhoff + 2, &p))
        return OUT_BAD;
    if (flags & 0x4000)
        return OUT_GOOD;
    u16 ver = flags & 0x0007;
    if (ver > 1)
        return OUT_GOOD;
    *proto = p;
    if (ver == 1 && !(p == 0x880b && (flags & 0x2000)))
        return OUT_GOOD;
    u32 offset = 4;
    if (flags & 0x8000)
        offset += 4;
    if (flags & 0x2000) {
        u32 key;
        if (le32(skb, *nhoff + offset, &key))
            return OUT_BAD;
        offset += 4;
    }
    if (flags & 0x1000)
        offset += 4;
    if (ver == 0) {
        if (*proto == ETH_P_TEB) {
            u16 inner;
            if (be16(skb, *nhoff + offset + 12, &inner))
                return OUT_BAD;
            *proto = inner;
            offset += ETH_HLEN;
        }
    } else {
        if (flags & 0x0080)
            offset += 4;
        u16 ppp;
        if (be16(skb, *nhoff + offset + 2, &ppp))
            return OUT_BAD;
        if (ppp == 0x0021)
            *proto = ETH_P_IP;
        else if (ppp == 0x0057)
            *proto = ETH_P_IPV6;
        offset += 4;
    }
    *nhoff += offset;
    return PROTO_AGAIN;
}

#define DISSECT_OK 1
#define DISSECT_BAD 0
#define DISSECT_PUNT -1
#define DISSECT_MORE 2

// The flow dissector's state between two headers.
struct dissect {
    struct keys k;
    u32 proto;
    u32 nhoff;
    u32 num_hdrs;
    u32 ip_proto;
    u32 is_fragment;
    u32 in_ip; // 0: at `proto` (the kernel's proto_again), 1: at `ip_proto` (ip_proto_again)
};

// One step of `__skb_flow_dissect()` with the bonding key set: one header. A global function,
// so the verifier checks it once, not once per header and path.
__attribute__((noinline)) int dissect_step(struct __sk_buff *skb, struct dissect *d) {
    if (!skb || !d)
        return DISSECT_PUNT;
    u16 proto = d->proto;
    u32 nhoff = d->nhoff;
    u8 ip_proto = d->ip_proto;
    enum ret r;
    if (!d->in_ip) {
        switch (proto) {
        case ETH_P_IP: {
            u8 iph[20];
            if (bpf_skb_load_bytes(skb, nhoff, iph, 20) || (iph[0] & 0x0f) < 5) {
                r = OUT_BAD;
                break;
            }
            d->nhoff = nhoff + (u32)(iph[0] & 0x0f) * 4;
            d->ip_proto = iph[9];
            d->k.src = (u32)iph[12] | (u32)iph[13] << 8 | (u32)iph[14] << 16 |
                       (u32)iph[15] << 24;
            d->k.dst = (u32)iph[16] | (u32)iph[17] << 8 | (u32)iph[18] << 16 |
                       (u32)iph[19] << 24;
            u16 frag = (u16)iph[6] << 8 | iph[7];
            if (frag & 0x3fff) {
                d->is_fragment = 1;
                r = OUT_GOOD;
            } else {
                r = CONTINUE;
            }
            break;
        }
        case ETH_P_IPV6: {
            u32 w[8];
            u8 nh;
            if (bpf_skb_load_bytes(skb, nhoff + 8, w, 32) ||
                bpf_skb_load_bytes(skb, nhoff + 6, &nh, 1)) {
                r = OUT_BAD;
                break;
            }
            d->ip_proto = nh;
            d->nhoff = nhoff + 40;
            d->k.src = w[0] ^ w[1] ^ w[2] ^ w[3];
            d->k.dst = w[4] ^ w[5] ^ w[6] ^ w[7];
            r = CONTINUE;
            break;
        }
        case ETH_P_8021Q:
        case ETH_P_8021AD: {
            u16 p;
            if (be16(skb, nhoff + 2, &p)) {
                r = OUT_BAD;
                break;
            }
            d->proto = p;
            d->nhoff = nhoff + 4;
            r = PROTO_AGAIN;
            break;
        }
        case ETH_P_PPP_SES: {
            u8 h[8];
            if (bpf_skb_load_bytes(skb, nhoff, h, 8) || h[0] != 0x11 || h[1] != 0) {
                r = OUT_BAD;
                break;
            }
            u16 pp = (u16)h[6] << 8 | h[7];
            d->nhoff = nhoff + 8;
            r = PROTO_AGAIN;
            if (pp == 0x0021)
                d->proto = ETH_P_IP;
            else if (pp == 0x0057)
                d->proto = ETH_P_IPV6;
            else if (pp == 0x0281)
                d->proto = ETH_P_MPLS_UC;
            else if (pp == 0x0283)
                d->proto = ETH_P_MPLS_MC;
            else if ((pp & 0x0101) == 0x0001)
                r = OUT_GOOD;
            else
                r = OUT_BAD;
            break;
        }
        case ETH_P_TIPC: {
            u32 node;
            if (le32(skb, nhoff + 12, &node)) {
                r = OUT_BAD;
                break;
            }
            d->k.src = node;
            d->k.dst = 0;
            r = OUT_GOOD;
            break;
        }
        case ETH_P_MPLS_UC:
        case ETH_P_MPLS_MC:
        case ETH_P_ARP:
        case ETH_P_RARP:
            r = OUT_GOOD;
            break;
        case ETH_P_FCOE:
            r = (skb->len < nhoff || skb->len - nhoff < 38) ? OUT_BAD : OUT_GOOD;
            break;
        case ETH_P_BATMAN: {
            u8 h[24];
            if (bpf_skb_load_bytes(skb, nhoff, h, 24) || h[1] != 15 || h[0] != 0x40) {
                r = OUT_BAD;
                break;
            }
            d->proto = (u16)h[22] << 8 | h[23];
            d->nhoff = nhoff + 24;
            r = PROTO_AGAIN;
            break;
        }
        default:
            r = OUT_BAD;
        }
        if (r == OUT_GOOD)
            return DISSECT_OK;
        if (r == OUT_BAD)
            return DISSECT_BAD;
        if (r == PROTO_AGAIN) {
            d->num_hdrs++;
            return d->num_hdrs > MAX_FLOW_DISSECT_HDRS ? DISSECT_OK : DISSECT_MORE;
        }
        d->in_ip = 1;
        return DISSECT_MORE;
    }
    // ip_proto_again
    switch (ip_proto) {
    case 47: {
        u16 p = proto;
        u32 off = nhoff;
        r = gre(skb, &p, &off);
        d->proto = p;
        d->nhoff = off;
        break;
    }
    case 0:
    case 43:
    case 60: {
        if (proto != ETH_P_IPV6) {
            r = CONTINUE;
            break;
        }
        u8 h[2];
        if (bpf_skb_load_bytes(skb, nhoff, h, 2)) {
            r = OUT_BAD;
            break;
        }
        d->ip_proto = h[0];
        d->nhoff = nhoff + (((u32)h[1] + 1) << 3);
        r = IP_PROTO_AGAIN;
        break;
    }
    case 44: {
        if (proto != ETH_P_IPV6) {
            r = CONTINUE;
            break;
        }
        u8 fh[8];
        if (bpf_skb_load_bytes(skb, nhoff, fh, 8)) {
            r = OUT_BAD;
            break;
        }
        d->is_fragment = 1;
        d->nhoff = nhoff + 8;
        d->ip_proto = fh[0];
        r = OUT_GOOD;
        break;
    }
    case 4:
        d->proto = ETH_P_IP;
        r = PROTO_AGAIN;
        break;
    case 41:
        d->proto = ETH_P_IPV6;
        r = PROTO_AGAIN;
        break;
    case 137:
        d->proto = ETH_P_MPLS_UC;
        r = PROTO_AGAIN;
        break;
    case 1:
    case 58:
        get_icmp_tci(skb, nhoff, &d->k);
        r = CONTINUE;
        break;
    default:
        r = CONTINUE;
    }
    if (!d->is_fragment)
        d->k.ports = get_ports(skb, d->nhoff, (u8)d->ip_proto);
    if (r == PROTO_AGAIN || r == IP_PROTO_AGAIN) {
        d->num_hdrs++;
        if (d->num_hdrs > MAX_FLOW_DISSECT_HDRS)
            return DISSECT_OK;
        d->in_ip = r == IP_PROTO_AGAIN;
        return DISSECT_MORE;
    }
    return r == OUT_BAD ? DISSECT_BAD : DISSECT_OK;
}

// `__skb_flow_dissect()` from `proto` at `nhoff`, `hdrs` headers walked already.
INLINE int flow_dissect(struct __sk_buff *skb, struct keys *k, u32 proto, u32 nhoff, u32 hdrs) {
    struct dissect d = {};
    d.proto = proto;
    d.nhoff = nhoff;
    d.num_hdrs = hdrs;
    for (int i = 0; i < 40; i++) {
        int r = dissect_step(skb, &d);
        if (r != DISSECT_MORE) {
            *k = d.k;
            return r == DISSECT_OK ? DISSECT_OK : r == DISSECT_BAD ? DISSECT_BAD : DISSECT_PUNT;
        }
    }
    return DISSECT_PUNT;
}

#define HASH_PUNT ((u64)1 << 32)

// `ubond_core::hash::xmit_hash(policy, frame, None)` of the frame as userspace reads it from
// the tap (`lifted` 0), or `xmit_hash(policy, frame without its tag, Some(tci))` of the frame as
// the kernel holds it, an accelerated tag in the metadata (`lifted` 1, balance-tlb/alb's view);
// HASH_PUNT when this program does not model it.
static __attribute__((noinline)) u64 xmit_hash(struct __sk_buff *skb, u32 policy, u32 lifted) {
    u8 eth[14];
    if (bpf_skb_load_bytes(skb, 0, eth, 14))
        return HASH_PUNT;
    int vlan = skb->vlan_present;
    u16 real_type = (u16)eth[12] << 8 | eth[13];
    // The EtherType at octets 12..14 of the frame hashed.
    u16 l2_proto = vlan && !lifted ? __builtin_bswap16((u16)skb->vlan_proto) : real_type;
    u32 eth_hash = (u32)(eth[5] ^ eth[11]) ^ l2_proto;

    if (policy == POL_VLAN_SRCMAC) {
        u32 vendor = (u32)eth[6] << 16 | (u32)eth[7] << 8 | eth[8];
        u32 dev = (u32)eth[9] << 16 | (u32)eth[10] << 8 | eth[11];
        // TxPlan::select passes no accelerated tag; balance-tlb passes the lifted one.
        u32 tci = vlan && lifted ? (u16)skb->vlan_tci : 0;
        return tci ^ vendor ^ dev;
    }
    if (policy == POL_L2)
        return eth_hash;

    struct keys k = {};
    int ok;
    if (policy == POL_E23 || policy == POL_E34) {
        // An accelerated tag is the in-line first tag userspace sees: walked once already.
        if (vlan)
            ok = flow_dissect(skb, &k, real_type, ETH_HLEN, 1);
        else
            ok = flow_dissect(skb, &k, real_type, ETH_HLEN, 0);
        if (ok == DISSECT_PUNT)
            return HASH_PUNT;
    } else if (policy == POL_L23 || policy == POL_L34) {
        // A tag in front (in-line or accelerated) is not IP: the layer2 fallback.
        ok = bond_flow_dissect(skb, &k, l2_proto, policy == POL_L34);
    } else {
        return HASH_PUNT;
    }
    if (!ok)
        return eth_hash;
    u32 hash;
    if (policy == POL_L23 || policy == POL_E23)
        hash = eth_hash;
    else if (k.icmp_id)
        hash = k.icmp_type | k.icmp_code << 8 | k.icmp_id << 16;
    else
        hash = k.ports;
    hash ^= k.dst ^ k.src;
    hash ^= hash >> 16;
    hash ^= hash >> 8;
    if (policy == POL_L34 || policy == POL_E34)
        hash >>= 1;
    return hash;
}

// `is_igmp()` of plan.rs on the frame as userspace sees it.
INLINE int is_igmp(struct __sk_buff *skb) {
    u16 type;
    u8 proto;
    u32 off;
    if (skb->vlan_present) {
        if (__builtin_bswap16((u16)skb->vlan_proto) != ETH_P_8021Q)
            return 0;
        off = 14; // real offsets: the tag is not in the bytes
    } else {
        if (be16(skb, 12, &type))
            return 0;
        off = type == ETH_P_8021Q ? 18 : 14;
    }
    if (be16(skb, off - 2, &type) || type != ETH_P_IP)
        return 0;
    if (bpf_skb_load_bytes(skb, off + 9, &proto, 1))
        return 0;
    return proto == 2;
}

#define TLB_PUNT 0x100
#define TLB_DROP 0x101
#define ACC_NONE 0xffff
#define ACC_UNBALANCED TLB_HASH_TABLE_SIZE

// `is_nd()` of tlb.rs, the network header at (real) offset `l3`.
INLINE int tlb_is_nd(struct __sk_buff *skb, u32 l3) {
    u8 nh, type;
    if (skb->len < l3 + 40 || bpf_skb_load_bytes(skb, l3 + 6, &nh, 1))
        return 1;
    if (nh != 58)
        return 0;
    if (skb->len < l3 + 48 || bpf_skb_load_bytes(skb, l3 + 40, &type, 1))
        return 1;
    return type == 135 || type == 136;
}

// `tlb_select()` of tlb.rs: the slot to send on (bits 0..7) and where its bytes count (bits
// 16..31: a bucket, ACC_UNBALANCED or ACC_NONE), or TLB_PUNT (the daemon's: balance-alb's ARP,
// an in-line tag to hash) or TLB_DROP.
static __attribute__((noinline)) u32 tlb_select(struct __sk_buff *skb, struct bond_cfg *cfg) {
    if (!skb || !cfg)
        return TLB_PUNT;
    u32 flags = cfg->tlb_flags;
    u32 fallback_acc = (flags & TLB_DYNAMIC) ? ACC_UNBALANCED : ACC_NONE;
    u32 key = 0;
    int has_key = 0;
    u8 eth[14];
    if (bpf_skb_load_bytes(skb, 0, eth, 14))
        goto fallback;
    // `l2()`: one tag after the addresses is lifted out, as the kernel holds an accelerated
    // one (real offsets below).
    int vlan = skb->vlan_present;
    u16 type = (u16)eth[12] << 8 | eth[13];
    u32 l3 = ETH_HLEN;
    int inline_tag = 0;
    if (!vlan && (type == ETH_P_8021Q || type == ETH_P_8021AD)) {
        if (be16(skb, 16, &type))
            goto fallback;
        l3 = 18;
        inline_tag = 1;
    }
    int mcast = eth[0] & 1;
    int bcast = (eth[0] & eth[1] & eth[2] & eth[3] & eth[4] & eth[5]) == 0xff;
    if (!(flags & TLB_ALB)) {
        int balanced =
            !mcast && (type == ETH_P_IP || (type == ETH_P_IPV6 && !tlb_is_nd(skb, l3)));
        if (balanced) {
            if (inline_tag)
                return TLB_PUNT;
            u64 h = xmit_hash(skb, cfg->policy, 1);
            if (h == HASH_PUNT)
                return TLB_PUNT;
            key = (u32)h;
            has_key = 1;
        }
    } else if (type == ETH_P_IP) {
        u8 ip[20];
        if (!bcast && !bpf_skb_load_bytes(skb, l3, ip, 20)) {
            int ip_bcast = (ip[16] & ip[17] & ip[18] & ip[19]) == 0xff;
            if (!ip_bcast && ip[9] != 2) { // not IGMP
                key = ip[16] ^ ip[17] ^ ip[18] ^ ip[19];
                has_key = 1;
            }
        }
    } else if (type == ETH_P_IPV6) {
        int all_nodes = eth[0] == 0x33 && eth[1] == 0x33 && eth[2] == 0 && eth[3] == 0 &&
                        eth[4] == 0 && eth[5] == 1;
        u8 ip6[40];
        if (!bcast && !all_nodes && !tlb_is_nd(skb, l3) &&
            !bpf_skb_load_bytes(skb, l3, ip6, 40)) {
            u8 src = 0, x = 0;
            for (int i = 8; i < 24; i++)
                src |= ip6[i];
            for (int i = 24; i < 40; i++)
                x ^= ip6[i];
            if (src) { // a DAD probe (no source) is not balanced
                key = x;
                has_key = 1;
            }
        }
    } else if (type == ETH_P_ARP) {
        return TLB_PUNT; // receive load balancing may rewrite it
    }
    if (!has_key)
        goto fallback;
    if (flags & TLB_DYNAMIC) {
        u32 b = key & 0xff;
        u8 slot = cfg->buckets[b];
        if (slot == NO_SLOT)
            goto fallback;
        return slot | b << 16;
    }
    // tlb_dynamic_lb=0: usable[bond_xmit_hash % count].
    if (flags & TLB_ALB) {
        if (inline_tag)
            return TLB_PUNT;
        u64 h = xmit_hash(skb, cfg->policy, 1);
        if (h == HASH_PUNT)
            return TLB_PUNT;
        key = (u32)h;
    }
    u32 n = cfg->usable_count;
    if (n == 0 || n > MAX_SLAVES)
        goto fallback;
    u32 i = key % n;
    asm volatile("%0 &= 15" : "+r"(i));
    return cfg->usable[i] | ACC_NONE << 16;
fallback:
    if (cfg->active == NO_SLOT)
        return TLB_DROP;
    return cfg->active | fallback_acc << 16;
}

// balance-tlb/alb: the frame leaves by the table's slave, with that slave's address as its
// source unless it is the active one, and its bytes are counted.
INLINE int tlb_xmit(struct __sk_buff *skb, struct bond_cfg *cfg, u32 key) {
    u32 r = tlb_select(skb, cfg);
    if (r == TLB_PUNT)
        return TC_ACT_OK;
    if (r == TLB_DROP)
        return TC_ACT_SHOT;
    u32 slot = r & 0xff;
    u32 acc = r >> 16;
    if (slot >= cfg->tlb_count || slot >= MAX_SLAVES)
        return TC_ACT_SHOT;
    asm volatile("%0 &= 15" : "+r"(slot));
    if (slot != cfg->active && (cfg->tlb_mac_mask >> slot) & 1) {
        u8 mac[6];
        __builtin_memcpy(mac, cfg->tlb_macs[slot], 6);
        if (bpf_skb_store_bytes(skb, 6, mac, 6, 0))
            return TC_ACT_SHOT;
    }
    if (acc != ACC_NONE) {
        struct tlb_load *load = bpf_map_lookup_elem(&ubond_tlb_load, &key);
        if (!load) {
            u32 zero = 0;
            struct tlb_load *z = bpf_map_lookup_elem(&ubond_tlb_zero, &zero);
            if (z)
                bpf_map_update_elem(&ubond_tlb_load, &key, z, BPF_NOEXIST);
            load = bpf_map_lookup_elem(&ubond_tlb_load, &key);
        }
        if (load) {
            // The frame as userspace reads it: an accelerated tag in-line.
            u64 len = skb->len + (skb->vlan_present ? 4 : 0);
            if (acc == ACC_UNBALANCED) {
                load->unbalanced += len;
            } else {
                asm volatile("%0 &= 255" : "+r"(acc));
                load->buckets[acc] += len;
            }
        }
    }
    return bpf_redirect(cfg->tlb_slaves[slot], 0);
}

// Where a frame the host sends through bond `key` goes.
INLINE int tap_egress(struct __sk_buff *skb, struct bond_cfg *cfg, u32 key) {
    u32 n = cfg->count;
    if (n == 0)
        return TC_ACT_SHOT;
    if (n > MAX_SLAVES)
        return TC_ACT_OK;
    u32 idx;
    switch (cfg->mode) {
    case MODE_BROADCAST:
        // A clone to every member but the last, which gets the skb itself: the sender sees
        // the frame sent (a TC_ACT_SHOT would tell it NET_XMIT_DROP, and TCP would resend).
        for (u32 i = 0; i < MAX_SLAVES; i++) {
            if (i + 1 >= n)
                break;
            bpf_clone_redirect(skb, cfg->slaves[i], 0);
        }
        idx = n - 1;
        break;
    case MODE_AB:
        return bpf_redirect(cfg->slaves[0], 0);
    case MODE_RR: {
        if (cfg->igmp_ifindex && is_igmp(skb))
            return bpf_redirect(cfg->igmp_ifindex, 0);
        u32 *c = bpf_map_lookup_elem(&ubond_rr, &key);
        if (!c) {
            u32 zero = 0;
            bpf_map_update_elem(&ubond_rr, &key, &zero, BPF_NOEXIST);
            c = bpf_map_lookup_elem(&ubond_rr, &key);
            if (!c)
                return TC_ACT_OK;
        }
        u32 x = *c;
        u32 per = cfg->packets_per_slave;
        if (per == 0) {
            x = (x + 0x9e3779b9) | 1;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *c = x;
            idx = x % n;
        } else {
            x += 1;
            *c = x;
            idx = (per == 1 ? x : x / per) % n;
        }
        break;
    }
    case MODE_TLB:
    case MODE_ALB:
        if (cfg->tlb_flags & TLB_ON)
            return tlb_xmit(skb, cfg, key);
        // No table: the hash, as balance-xor (`TxPlan::select`).
        // fall through
    case MODE_XOR:
    case MODE_8023AD: {
        u64 h = xmit_hash(skb, cfg->policy, 0);
        if (h == HASH_PUNT)
            return TC_ACT_OK;
        idx = (u32)h % n;
        break;
    }
    default:
        return TC_ACT_OK;
    }
    // idx < n <= MAX_SLAVES (a power of two): the mask only shows the verifier the bound
    // (in asm, or clang drops it as redundant).
    asm volatile("%0 &= 15" : "+r"(idx));
    return bpf_redirect(cfg->slaves[idx], 0);
}

// Micro-BFD (RFC 7130: UDP port 6784), untagged: the daemon's, like LACPDUs.
INLINE int is_micro_bfd(struct __sk_buff *skb, u16 type) {
    u8 proto;
    u32 l4;
    if (type == ETH_P_IP) {
        u8 iph[20];
        if (bpf_skb_load_bytes(skb, ETH_HLEN, iph, 20) || ((u16)iph[6] << 8 | iph[7]) & 0x1fff)
            return 0;
        proto = iph[9];
        l4 = ETH_HLEN + (u32)(iph[0] & 0x0f) * 4;
    } else if (type == ETH_P_IPV6) {
        if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &proto, 1))
            return 0;
        l4 = ETH_HLEN + 40;
    } else {
        return 0;
    }
    u16 port;
    return proto == 17 && !be16(skb, l4 + 2, &port) && port == 6784;
}

SEC("classifier")
int ubond_tap_egress(struct __sk_buff *skb) {
    u32 key = skb->ifindex;
    struct bond_cfg *cfg = bpf_map_lookup_elem(&ubond_bonds, &key);
    if (!cfg || !cfg->enabled)
        return TC_ACT_UNSPEC;
    u32 len = skb->len;
    int act = tap_egress(skb, cfg, key);
    count(key, verdict_of(act), len);
    return act;
}

// Octets `off..off + 4` of `b` as a little-endian word (the key's words, `CopyKey`).
INLINE u32 word_at(const u8 *b, u32 off) {
    return (u32)b[off] | (u32)b[off + 1] << 8 | (u32)b[off + 2] << 16 | (u32)b[off + 3] << 24;
}

// `CopyKey::of`: a TCP segment with payload, untagged, unfragmented, is known by its bond, its
// length, its addresses and the first 32 octets of its TCP header (ports, sequence and
// acknowledgment numbers, flags, window, checksum, and the options' first 12 octets, where the
// timestamps usually are). 0: not a candidate.
INLINE int copy_key(struct __sk_buff *skb, u32 bond, u16 type, struct copy_key *k) {
    u32 l4, payload;
    k->w[0] = bond;
    k->w[1] = skb->len;
    if (type == ETH_P_IP) {
        u8 iph[20];
        if (bpf_skb_load_bytes(skb, ETH_HLEN, iph, 20) || iph[9] != 6 ||
            ((u16)iph[6] << 8 | iph[7]) & 0x3fff)
            return 0;
        u32 ihl = (u32)(iph[0] & 0x0f) * 4;
        payload = ((u32)iph[2] << 8 | iph[3]);
        if (ihl < 20 || payload < ihl)
            return 0;
        payload -= ihl;
        l4 = ETH_HLEN + ihl;
        k->w[2] = word_at(iph, 12);
        k->w[3] = word_at(iph, 16);
    } else if (type == ETH_P_IPV6) {
        u8 ip6[40];
        if (bpf_skb_load_bytes(skb, ETH_HLEN, ip6, 40) || ip6[6] != 6)
            return 0;
        payload = ((u32)ip6[4] << 8 | ip6[5]);
        l4 = ETH_HLEN + 40;
        for (u32 i = 0; i < 8; i++)
            k->w[2 + i] = word_at(ip6, 8 + i * 4);
    } else {
        return 0;
    }
    u8 tcp[32] = {};
    if (bpf_skb_load_bytes(skb, l4, tcp, 20))
        return 0;
    u32 doff = (u32)(tcp[12] >> 4) * 4;
    if (doff < 20 || payload <= doff)
        return 0;
    if (doff >= 32 && bpf_skb_load_bytes(skb, l4 + 20, tcp + 20, 12))
        return 0;
    for (u32 i = 0; i < 8; i++)
        k->w[10 + i] = word_at(tcp, i * 4);
    return 1;
}

// `RxCopies::is_copy`: whether this TCP segment is another slave's copy of one delivered less
// than `COPY_WINDOW_NS` ago (then it is discarded); otherwise it is remembered as delivered.
INLINE int is_copy(struct __sk_buff *skb, u32 bond, u32 slave, u16 type) {
    struct copy_key k = {};
    if (!copy_key(skb, bond, type, &k))
        return 0;
    u32 h = 2166136261u;
    for (u32 i = 0; i < COPY_KEY_WORDS; i++)
        h = (h ^ k.w[i]) * 16777619u;
    u32 idx = (h ^ h >> 16) & (COPY_SLOTS - 1);
    struct copy_slot *slot = bpf_map_lookup_elem(&ubond_copies, &idx);
    if (!slot)
        return 0;
    u64 now = bpf_ktime_get_ns();
    int copy = 0;
    int same = slot->slave != 0;
    for (u32 i = 0; i < COPY_KEY_WORDS; i++)
        same &= slot->key.w[i] == k.w[i];
    // Saturating, as the core's: another CPU may have written the slot just after `now`.
    u64 age = now > slot->at ? now - slot->at : 0;
    if (same && slot->slave != slave && age < COPY_WINDOW_NS) {
        copy = 1;
    } else {
        slot->key = k;
        slot->slave = slave;
        slot->at = now;
    }
    return copy;
}

// `slave_ingress`'s verdict for a Slow Protocols frame: dropped here, but the daemon's packet
// socket has it (counted as passed to the daemon).
#define ACT_DAEMONS -100
// `slave_ingress`'s verdict for a copy `is_copy` discards (counted as a duplicate).
#define ACT_DUPLICATE -101

// What becomes of a frame received on a slave whose bond is on the fast path.
INLINE int slave_ingress(struct __sk_buff *skb, struct slave_rx *rx, u32 key) {
    u8 eth[14];
    if (bpf_skb_load_bytes(skb, 0, eth, 14))
        return TC_ACT_SHOT;
    // The packet socket took its copy of the daemon's frames already; a tagged frame's
    // EtherType is in the metadata, so octets 12..14 are the inner type either way.
    u16 type = (u16)eth[12] << 8 | eth[13];
    if (!skb->vlan_present && (type == ETH_P_SLOW || is_micro_bfd(skb, type)))
        return ACT_DAEMONS;
    int unicast = (eth[0] & 1) == 0;
    if (rx->flags & RX_STAMP) {
        // `ArpMonitor::handle_frame`'s traffic: not another host's unicast.
        int other = unicast && (eth[0] != rx->own_mac[0] || eth[1] != rx->own_mac[1] ||
                                eth[2] != rx->own_mac[2] || eth[3] != rx->own_mac[3] ||
                                eth[4] != rx->own_mac[4] || eth[5] != rx->own_mac[5]);
        if (!other) {
            u64 now = bpf_ktime_get_ns();
            int arp_ipv6 = type == ETH_P_ARP || type == ETH_P_IPV6;
            struct rx_seen *seen = bpf_map_lookup_elem(&ubond_rx_seen, &key);
            if (seen) {
                seen->any = now;
                if (arp_ipv6)
                    seen->arp_ipv6 = now;
            } else {
                struct rx_seen first = {now, arp_ipv6 ? now : 0};
                bpf_map_update_elem(&ubond_rx_seen, &key, &first, BPF_NOEXIST);
            }
        }
    }
    if (!(rx->flags & RX_DELIVER) && !(unicast && (rx->flags & RX_UNICAST_ONLY)))
        return TC_ACT_SHOT;
    if ((rx->flags & RX_COPIES) && !skb->vlan_present && is_copy(skb, rx->tap_ifindex, key, type))
        return ACT_DUPLICATE;
    // `RxPlan::to_bond`: a frame for one of the slaves' own addresses is the bond's.
    u32 n = rx->mac_count;
    for (u32 i = 0; i < MAX_SLAVES; i++) {
        if (i >= n)
            break;
        u8 *m = rx->macs[i];
        if (eth[0] == m[0] && eth[1] == m[1] && eth[2] == m[2] && eth[3] == m[3] &&
            eth[4] == m[4] && eth[5] == m[5]) {
            u8 mac[6];
            __builtin_memcpy(mac, rx->bond_mac, 6);
            if (bpf_skb_store_bytes(skb, 0, mac, 6, 0))
                return TC_ACT_SHOT;
            break;
        }
    }
    return bpf_redirect(rx->tap_ifindex, BPF_F_INGRESS);
}

SEC("classifier")
int ubond_slave_ingress(struct __sk_buff *skb) {
    u32 key = skb->ifindex;
    struct slave_rx *rx = bpf_map_lookup_elem(&ubond_slaves, &key);
    if (!rx || !(rx->flags & RX_ENABLED))
        return TC_ACT_UNSPEC;
    u32 len = skb->len;
    int act = slave_ingress(skb, rx, key);
    if (act == ACT_DAEMONS) {
        count(key, VERDICT_PASSED, len);
        return TC_ACT_SHOT;
    }
    if (act == ACT_DUPLICATE) {
        count(key, VERDICT_DUPLICATE, len);
        return TC_ACT_SHOT;
    }
    count(key, verdict_of(act), len);
    return act;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
