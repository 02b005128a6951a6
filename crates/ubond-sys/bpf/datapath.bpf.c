// SPDX-License-Identifier: MIT OR Apache-2.0
//
// ubond's in-kernel fast data path: two tc programs (attached with TCX links).
//
// * `ubond_tap_egress`, on a bond's tap: a frame the host stack sends through the bond goes
//   straight to the slave `TxPlan::select` (crates/ubond-core/src/bond/plan.rs) would pick,
//   with the transmit hash of `ubond_core::hash::xmit_hash` (the kernel's `bond_xmit_hash`),
//   bit for bit. Anything this program does not model exactly returns TC_ACT_OK: the frame
//   then reaches the tap's file descriptor and the daemon's userspace path handles it.
// * `ubond_slave_ingress`, on each slave: data frames the bond delivers are redirected into
//   the tap's receive path; the others are dropped. Slow-protocol frames (LACP, Marker) are
//   the daemon's: its packet socket saw them before tc ingress (ETH_P_ALL taps run first), so
//   they are dropped here and the slave's own stack never sees them.
//
// A bond or slave without an enabled map entry is left alone (TC_ACT_OK): the daemon clears
// the `enabled` word whenever the bond must stay on the userspace path (balance-tlb/alb, the
// ARP monitor, too many slaves).
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

#define POL_L2 0
#define POL_L34 1
#define POL_L23 2
#define POL_E23 3
#define POL_E34 4
#define POL_VLAN_SRCMAC 5

struct bond_cfg {
    u32 enabled;
    u32 mode;
    u32 policy;
    u32 packets_per_slave;
    u32 igmp_ifindex; // 0: none
    u32 count;        // slaves[0..count] may transmit, in enslave order
    u32 slaves[MAX_SLAVES];
};

#define RX_ENABLED 1
#define RX_DELIVER 2
#define RX_UNICAST_ONLY 4

struct slave_rx {
    u32 tap_ifindex;
    u32 flags;
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

// balance-rr's counter, one per CPU and bond (Linux keeps one per CPU too).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, MAX_BONDS);
    __type(key, u32);
    __type(value, u32);
} ubond_rr SEC(".maps");

// Verdicts counted (an index into `struct counters`).
#define VERDICT_FORWARDED 0 // tap: sent to a slave; slave: delivered up the bond
#define VERDICT_PASSED 1    // left to the daemon (TC_ACT_OK; a slave's Slow Protocols frames)
#define VERDICT_DROPPED 2   // TC_ACT_SHOT
#define VERDICTS 3

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
// the tap, or HASH_PUNT when this program does not model it.
static __attribute__((noinline)) u64 xmit_hash(struct __sk_buff *skb, u32 policy) {
    u8 eth[14];
    if (bpf_skb_load_bytes(skb, 0, eth, 14))
        return HASH_PUNT;
    int vlan = skb->vlan_present;
    u16 real_type = (u16)eth[12] << 8 | eth[13];
    // The EtherType at octets 12..14 as userspace sees it.
    u16 l2_proto = vlan ? __builtin_bswap16((u16)skb->vlan_proto) : real_type;
    u32 eth_hash = (u32)(eth[5] ^ eth[11]) ^ l2_proto;

    if (policy == POL_VLAN_SRCMAC) {
        u32 vendor = (u32)eth[6] << 16 | (u32)eth[7] << 8 | eth[8];
        u32 dev = (u32)eth[9] << 16 | (u32)eth[10] << 8 | eth[11];
        return vendor ^ dev; // TxPlan::select passes no accelerated tag
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
    case MODE_XOR:
    case MODE_8023AD: {
        u64 h = xmit_hash(skb, cfg->policy);
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

SEC("classifier")
int ubond_tap_egress(struct __sk_buff *skb) {
    u32 key = skb->ifindex;
    struct bond_cfg *cfg = bpf_map_lookup_elem(&ubond_bonds, &key);
    if (!cfg || !cfg->enabled)
        return TC_ACT_OK;
    u32 len = skb->len;
    int act = tap_egress(skb, cfg, key);
    count(key, verdict_of(act), len);
    return act;
}

// `slave_ingress`'s verdict for a Slow Protocols frame: dropped here, but the daemon's packet
// socket has it (counted as passed to the daemon).
#define ACT_DAEMONS -100

// What becomes of a frame received on a slave whose bond is on the fast path.
INLINE int slave_ingress(struct __sk_buff *skb, struct slave_rx *rx) {
    u8 eth[14];
    if (bpf_skb_load_bytes(skb, 0, eth, 14))
        return TC_ACT_SHOT;
    // The packet socket took its copy of LACPDUs and Markers already; a tagged frame's
    // EtherType is in the metadata, so octets 12..14 are the inner type either way.
    if (!skb->vlan_present && eth[12] == 0x88 && eth[13] == 0x09)
        return ACT_DAEMONS;
    int unicast = (eth[0] & 1) == 0;
    if ((rx->flags & RX_DELIVER) || (unicast && (rx->flags & RX_UNICAST_ONLY)))
        return bpf_redirect(rx->tap_ifindex, BPF_F_INGRESS);
    return TC_ACT_SHOT;
}

SEC("classifier")
int ubond_slave_ingress(struct __sk_buff *skb) {
    u32 key = skb->ifindex;
    struct slave_rx *rx = bpf_map_lookup_elem(&ubond_slaves, &key);
    if (!rx || !(rx->flags & RX_ENABLED))
        return TC_ACT_OK;
    u32 len = skb->len;
    int act = slave_ingress(skb, rx);
    if (act == ACT_DAEMONS) {
        count(key, VERDICT_PASSED, len);
        return TC_ACT_SHOT;
    }
    count(key, verdict_of(act), len);
    return act;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
