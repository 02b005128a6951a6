#!/usr/bin/env bash
# capture-hash-vectors.sh - observe on which NIC the REAL Linux bonding driver (Debian 12's 6.1,
# interop/kernel-vm) transmits each of a set of flows, for every xmit_hash_policy and for 2, 3
# and 4 NICs, and write crates/ubond-core/tests/vectors/hash/linux-6.1-balance-xor.csv for
# crates/ubond-core/tests/hash_vectors.rs.
#
# Recipe: one guest, mode balance-xor (slave = usable[hash % count], enslave order eth0..eth3),
# 4 e1000 NICs on taps <ns>-0..3 in a fresh namespace, bond0 = 192.0.2.1/24, 198.18.0.1/15,
# 2001:db8::1/64. For N = 4, 3, 2 (eth3, then eth2 released and set down) and for each policy
# (xmit_hash_policy changed at run time through sysfs) and each of two bond MACs, one "round":
#   * frames injected on tap 0 from scripted peers (192.0.2.128+, 198.18.x.y, 2001:db8::1xx,
#     MACs 02:5e:..): UDP to closed ports (the guest answers ICMP/ICMPv6 port unreachable,
#     which the bond hashes on the quoted packet), TCP SYNs to closed ports (the guest answers
#     RST), ICMP/ICMPv6 echo requests with chosen ids (echo replies), one echo request of 1600
#     octets payload sent as two IPv4 fragments (the reply is fragmented too), IPv6 NS (NA);
#   * from the guest: TCP SYNs (busybox nc -p SPORT) and pings (busybox ping, ping -s 1600 for
#     IPv4 fragments, ping6) to 192.0.2.64+ and 2001:db8::1xx, arping.
# Every IPv4 peer and destination gets a static ARP entry in the guest (busybox arp -s, re-added
# after each bond MAC change, which flushes the neighbour table); IPv6 peers are learned from
# the NS each round starts with.
# A python3 collector (AF_PACKET on the four taps, inside the namespace) records every frame
# the guest sends during the round window with the tap it left on; frames whose source MAC is
# not the bond's are ignored. The CSV has one row per frame: policy, NIC count, tap index,
# origin, decoded headers and the first 160 octets in hex. Rows of origin `sock-tcp` (TCP from
# a guest socket) carry skb->l4_hash (sk_txhash), so under encap3+4 the kernel returns that
# random skb->hash: the test skips them for encap3+4 only. Likewise IPv6 with automatic flow
# labels (net.ipv6.auto_flowlabels=1, the default: ip6_make_flowlabel sets skb->hash with
# l4_hash): encap3+4 rounds run with auto_flowlabels=0, the others with the default.
#
# No VLAN: the guest initramfs has no 8021q module, so vlan+srcmac is observed with TCI 0 only.
#
# Needs: root, qemu-system-x86_64, python3 (no extra modules), the kernel-vm folder (its
# build.sh is run here; cached). tcpdump is not needed. Takes about 3 minutes (measured 2m42s: one TCG boot,
# 36 rounds of ~4 s).
#
# Usage: tools/capture-hash-vectors.sh [OUTFILE]
#   KERNEL_VM_DIR  the kernel-vm folder (default: interop/kernel-vm in this checkout if it
#                  exists; otherwise it must be set)
#   KEEP=1         keep the work dir (guest console, raw capture log)
#
# Network hygiene: a fresh namespace ubh-<pid> with taps ubh<pid>-0..3; only 192.0.2.0/24,
# 198.18.0.0/15 and 2001:db8::/32 (documentation) addresses, inside the guest and in injected
# frames; the namespace has no addresses or routes. The guest runs in a private
# KVM_BOND_RUN_DIR. On exit (also on failure) the script stops only the guest it started (by
# its pid file) and the collector it started (by pid), and deletes the taps and the namespace.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/crates/ubond-core/tests/vectors/hash/linux-6.1-balance-xor.csv}
if [ -z "${KERNEL_VM_DIR:-}" ]; then
  if [ -x "$ROOT/interop/kernel-vm/run-vm.sh" ]; then KERNEL_VM_DIR=$ROOT/interop/kernel-vm
  else echo "$(basename "$0"): set KERNEL_VM_DIR to the kernel-vm folder (the one with run-vm.sh)" >&2; exit 1; fi
fi
VM=$KERNEL_VM_DIR/run-vm.sh
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }

NS=ubh-$$
NAME=ubh$$
TAPS=$NAME-0,$NAME-1,$NAME-2,$NAME-3
WORK=$(mktemp -d /tmp/ubh-capture.XXXXXX)
export KVM_BOND_RUN_DIR=$WORK/run
mkdir -p "$KVM_BOND_RUN_DIR"
STARTED_VM=
NS_CREATED=

cleanup() {
  set +e
  if [ -n "$STARTED_VM" ]; then "$VM" stop "$NAME" >/dev/null 2>&1; fi
  if [ -n "$NS_CREATED" ]; then
    for t in ${TAPS//,/ }; do ip -n "$NS" link del "$t" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
  fi
  if [ -n "${KEEP:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$KERNEL_VM_DIR/build.sh" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
ip netns add "$NS"
NS_CREATED=1
STARTED_VM=1
"$VM" start "$NAME" --netns "$NS" --taps "$TAPS" --mode balance-xor --hash layer2 \
  --addr 192.0.2.1/24 --interval 600 --miimon 100 --macs \
  52:54:00:7a:00:00,52:54:00:7a:00:01,52:54:00:7a:00:02,52:54:00:7a:00:03
"$VM" wait "$NAME" 'BOND-INIT: ready' 120 >/dev/null
KVER=$("$VM" exec "$NAME" 'uname -r' | tr -d '\r\n')

cat >"$WORK/driver.py" <<'PYEOF'
import os, socket, struct, subprocess, sys, threading, time

VM, NAME, TAPS, KVER, OUT = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4], sys.argv[5]
POLICIES = ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"]
BOND_MACS = ["52:54:00:7a:00:00", "02:b0:4d:c3:5a:e7"]
G4, G4B, G6 = "192.0.2.1", "198.18.0.1", "2001:db8::1"

def gx(cmd, timeout=60):
    env = dict(os.environ, KVM_BOND_EXEC_TIMEOUT=str(timeout))
    r = subprocess.run([VM, "exec", NAME, cmd], capture_output=True, text=True, env=env)
    return r.returncode, r.stdout

def mac_b(m): return bytes(int(x, 16) for x in m.split(":"))
def mac_s(b): return ":".join("%02x" % x for x in b)
def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, proto, payload, ident=0x1234, frag=0x4000, total=None):
    total = total if total is not None else 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def ip6(src, dst, nh, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload

def l4sum4(src, dst, proto, seg):
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, len(seg))
    return csum(ph + seg)

def l4sum6(src, dst, nh, seg):
    ph = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack("!IxxxB", len(seg), nh)
    return csum(ph + seg)

def udp(src, dst, sp, dp, v6=False):
    seg = struct.pack("!HHHH", sp, dp, 8 + 4, 0) + b"ubh!"
    c = l4sum6(src, dst, 17, seg) if v6 else l4sum4(src, dst, 17, seg)
    return seg[:6] + struct.pack("!H", c or 0xffff) + seg[8:]

def tcp_syn(src, dst, sp, dp, v6=False):
    seg = struct.pack("!HHIIBBHHH", sp, dp, 0x01020304, 0, 5 << 4, 0x02, 8192, 0, 0)
    c = l4sum6(src, dst, 6, seg) if v6 else l4sum4(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]

def icmp_echo(ident, seq, data=b"ubh-echo", v6=None):
    t = 128 if v6 else 8
    m = struct.pack("!BBHHH", t, 0, 0, ident, seq) + data
    c = l4sum6(v6[0], v6[1], 58, m) if v6 else csum(m)
    return m[:2] + struct.pack("!H", c) + m[4:]

def eth(dst, src, et, payload): return mac_b(dst) + mac_b(src) + struct.pack("!H", et) + payload

# Scripted peers: (ip, mac). v4 peers for injection; guest-originated destinations get arp -s.
PEERS4 = [("192.0.2.%d" % (128 + k), "02:5e:00:00:%02x:%02x" % (k, (k * 37) & 0xff)) for k in range(8)] + \
         [("198.18.%d.%d" % (k * 3, 200 - k), "02:5e:01:%02x:00:%02x" % (k, k * 11)) for k in range(1, 7)]
PEERS6 = [("2001:db8::%x" % (0x100 + k * 0x11), "02:5e:06:00:%02x:%02x" % (k, 0xf0 - k)) for k in range(6)]
DSTS4 = [("192.0.2.%d" % (64 + k), "02:d0:00:%02x:%02x:%02x" % (k, k * 5, (k * 29) & 0xff)) for k in range(8)]

def injections(bond_mac):
    """Frames the peers send into tap 0, each eliciting one or more frames from the guest."""
    fr = []
    for k, (p, pm) in enumerate(PEERS4):
        g = G4B if p.startswith("198.18.") else G4
        sp, dp = 1024 + k * 1111, 33434 + k * 7
        fr.append(eth(bond_mac, pm, 0x0800, ip4(p, g, 17, udp(p, g, sp, dp))))          # -> ICMP port unreach
        sp, dp = 20000 + k * 2345, 1 + k * 3
        fr.append(eth(bond_mac, pm, 0x0800, ip4(p, g, 6, tcp_syn(p, g, sp, dp))))       # -> RST
        fr.append(eth(bond_mac, pm, 0x0800, ip4(p, g, 1, icmp_echo([0, 1, 0x100, 0x1234, 0xbeef, 7, 0x8000, 0xffff, 42, 0x5a5a, 3, 4, 5, 6][k], k))))
    # One fragmented echo request (1600 octets of data): the reply is fragmented as well.
    p, pm = PEERS4[1]
    body = icmp_echo(0x4242, 1, b"F" * 1600)
    fr.append(eth(bond_mac, pm, 0x0800, ip4(p, G4, 1, body[:1480], ident=0x7777, frag=0x2000, total=1500)))
    fr.append(eth(bond_mac, pm, 0x0800, ip4(p, G4, 1, body[1480:], ident=0x7777, frag=1480 // 8, total=20 + len(body) - 1480)))
    for k, (p, pm) in enumerate(PEERS6):
        # NS from the peer: the guest learns its MAC (STALE entry) and answers NA.
        ns = struct.pack("!BBHI", 135, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, G6) + bytes([1, 1]) + mac_b(pm)
        ns = ns[:2] + struct.pack("!H", l4sum6(p, G6, 58, ns)) + ns[4:]
        fr.append(eth(bond_mac, pm, 0x86dd, struct.pack("!IHBB", 0x60000000, len(ns), 58, 255) + socket.inet_pton(socket.AF_INET6, p) + socket.inet_pton(socket.AF_INET6, G6) + ns))
    for k, (p, pm) in enumerate(PEERS6):
        fr.append(eth(bond_mac, pm, 0x86dd, ip6(p, G6, 17, udp(p, G6, 5000 + k * 321, 40000 + k, v6=True))))
        fr.append(eth(bond_mac, pm, 0x86dd, ip6(p, G6, 6, tcp_syn(p, G6, 30000 + k * 99, 7 + k, v6=True))))
        fr.append(eth(bond_mac, pm, 0x86dd, ip6(p, G6, 58, icmp_echo([0, 0x2a, 0x1001, 0xfffe, 0x0102, 0x8001][k], k, v6=(p, G6)))))
    return fr

def guest_traffic(round_no):
    cmds = []
    for k, (d, _) in enumerate(DSTS4):
        sp = 40000 + ((round_no * 131 + k * 977) % 20000)
        dp = [80, 443, 22, 8080, 5201, 53, 179, 3306][k]
        cmds.append("nc -w1 -p %d %s %d </dev/null >/dev/null 2>&1 &" % (sp, d, dp))
    for d, _ in DSTS4[:4]:
        cmds.append("ping -c1 -W1 %s >/dev/null 2>&1 &" % d)
    cmds.append("ping -c1 -W1 -s 1600 %s >/dev/null 2>&1 &" % DSTS4[5][0])
    for p, _ in PEERS6[:3]:
        cmds.append("ping6 -c1 -W1 %s >/dev/null 2>&1 &" % p)
    cmds.append("arping -c1 -w1 -I bond0 192.0.2.250 >/dev/null 2>&1 &")
    cmds.append("wait")
    return " ".join(cmds)

# ---- collector -------------------------------------------------------------------------------
lock = threading.Lock()
state = {"round": None}
captured = []  # (round, tap, frame)
def listen(idx, tap):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((tap, 0))
    s.settimeout(0.2)
    while True:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        with lock:
            if state["round"] is not None:
                captured.append((state["round"], idx, data))
for i, t in enumerate(TAPS):
    threading.Thread(target=listen, args=(i, t), daemon=True).start()
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind((TAPS[0], 0))

# ---- guest setup -----------------------------------------------------------------------------
setup = ["echo 0 > /proc/sys/net/ipv4/icmp_ratelimit",
         "echo 1000000 > /proc/sys/net/ipv4/icmp_msgs_per_sec",
         "echo 1000000 > /proc/sys/net/ipv4/icmp_msgs_burst",
         "echo 0 > /proc/sys/net/ipv6/icmp/ratelimit",
         "echo 0 > /proc/sys/net/ipv6/conf/bond0/accept_dad",
         "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad",
         "ip addr add 198.18.0.1/15 dev bond0",
         "ip addr add 2001:db8::1/64 dev bond0"]
rc, out = gx("; ".join(setup))
if rc != 0:
    sys.exit("guest setup failed: rc=%d %s" % (rc, out))
time.sleep(2)

rounds = []
round_no = 0
for nics in (4, 3, 2):
    if nics < 4:
        gx("ip link set eth%d nomaster; ip link set eth%d down" % (nics, nics))
        time.sleep(1.0)
    rc, out = gx("cat /sys/class/net/bond0/bonding/slaves")
    if out.split() != ["eth%d" % i for i in range(nics)]:
        sys.exit("unexpected slaves for %d NICs: %r" % (nics, out))
    for policy in POLICIES:
        for mac in BOND_MACS:
            # A MAC change flushes the neighbour table, static entries included: re-add them.
            arps = "; ".join("arp -s %s %s" % d for d in DSTS4 + PEERS4)
            # IPv6 auto flow labels hash the flow into skb->hash with l4_hash set, which
            # encap3+4 returns as is (random per boot): turn them off for encap3+4 rounds.
            afl = "0" if policy == "encap3+4" else "1"
            rc, out = gx("echo %s > /proc/sys/net/ipv6/auto_flowlabels; echo %s > /sys/class/net/bond0/bonding/xmit_hash_policy; ip link set bond0 address %s; %s; cat /sys/class/net/bond0/bonding/xmit_hash_policy" % (afl, policy, mac, arps))
            if not out.startswith(policy + " "):
                sys.exit("could not set policy %s: %r" % (policy, out))
            time.sleep(0.7)
            with lock:
                state["round"] = round_no
            for f in injections(mac):
                tx.send(f)
                time.sleep(0.005)
            gx(guest_traffic(round_no))
            time.sleep(1.0)
            with lock:
                state["round"] = None
            rounds.append((policy, nics, mac))
            print("round %d: %s nics=%d mac=%s frames so far %d" % (round_no, policy, nics, mac, len(captured)), flush=True)
            round_no += 1

# ---- decode + write ----------------------------------------------------------------------------
def decode(f):
    d = dict(dst_mac=mac_s(f[0:6]), src_mac=mac_s(f[6:12]), ethertype="%04x" % struct.unpack("!H", f[12:14])[0],
             src_ip="", dst_ip="", proto="", sport="", dport="", icmp_type="", icmp_code="", icmp_id="",
             frag="", inner_src="", inner_dst="", inner_proto="", inner_sport="", inner_dport="", origin="kernel")
    et = struct.unpack("!H", f[12:14])[0]
    def l4(proto, b, pre=""):
        if proto in (6, 17) and len(b) >= 4:
            d[pre + "sport"], d[pre + "dport"] = struct.unpack("!HH", b[:4])
    if et == 0x0800:
        ihl = (f[14] & 15) * 4
        d["src_ip"], d["dst_ip"] = socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34])
        proto = f[23]; d["proto"] = proto
        fo = struct.unpack("!H", f[20:22])[0]
        d["frag"] = "%d%s" % ((fo & 0x1fff) * 8, "+" if fo & 0x2000 else "") if fo & 0x3fff else ""
        b = f[14 + ihl:]
        if fo & 0x3fff and fo & 0x1fff:
            return d
        l4(proto, b)
        if proto == 6 and len(b) >= 14 and b[13] & 0x12 == 0x02:
            d["origin"] = "sock-tcp"
        if proto == 1 and len(b) >= 8:
            d["icmp_type"], d["icmp_code"] = b[0], b[1]
            if b[0] in (0, 8, 13, 14): d["icmp_id"] = struct.unpack("!H", b[4:6])[0]
            if b[0] in (3, 4, 5, 11, 12) and len(b) >= 28:
                q = b[8:]
                d["inner_src"], d["inner_dst"], d["inner_proto"] = socket.inet_ntoa(q[12:16]), socket.inet_ntoa(q[16:20]), q[9]
                l4(q[9], q[(q[0] & 15) * 4:], "inner_")
    elif et == 0x86dd:
        d["src_ip"] = socket.inet_ntop(socket.AF_INET6, f[22:38]); d["dst_ip"] = socket.inet_ntop(socket.AF_INET6, f[38:54])
        nh = f[20]; d["proto"] = nh
        b = f[54:]
        l4(nh, b)
        if nh == 6 and len(b) >= 14 and b[13] & 0x12 == 0x02:
            d["origin"] = "sock-tcp"
        if nh == 58 and len(b) >= 8:
            d["icmp_type"], d["icmp_code"] = b[0], b[1]
            if b[0] in (128, 129): d["icmp_id"] = struct.unpack("!H", b[4:6])[0]
            if b[0] < 128 and len(b) >= 48:
                q = b[8:]
                d["inner_src"] = socket.inet_ntop(socket.AF_INET6, q[8:24]); d["inner_dst"] = socket.inet_ntop(socket.AF_INET6, q[24:40]); d["inner_proto"] = q[6]
                l4(q[6], q[40:], "inner_")
    return d

COLS = ["policy", "nics", "tap", "origin", "src_mac", "dst_mac", "ethertype", "src_ip", "dst_ip", "proto",
        "sport", "dport", "icmp_type", "icmp_code", "icmp_id", "frag", "inner_src", "inner_dst", "inner_proto",
        "inner_sport", "inner_dport", "frame_hex"]
rows, stray, seen = [], 0, set()
for rnd, tap, f in captured:
    policy, nics, mac = rounds[rnd]
    if f[6:12] != mac_b(mac):
        stray += 1
        continue
    if tap >= nics:
        sys.exit("frame from the bond on tap %d with only %d NICs enslaved" % (tap, nics))
    key = (policy, nics, f[:160])
    if key in seen:
        continue
    seen.add(key)
    d = decode(f)
    d.update(policy=policy, nics=nics, tap=tap, frame_hex=f[:160].hex())
    rows.append(d)

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as o:
    o.write("# Transmit hash vectors observed on the real Linux bonding driver (kernel %s, Debian 12),\n" % KVER)
    o.write("# captured by tools/capture-hash-vectors.sh on %s: mode balance-xor, e1000 NICs eth0..eth%d,\n" % (time.strftime("%Y-%m-%d"), 3))
    o.write("# xmit_hash_policy set through sysfs, N NICs = eth0..eth(N-1) enslaved in that order.\n")
    o.write("# Each row is one frame the guest's bond transmitted; `tap` is the index of the NIC it left on\n")
    o.write("# (= usable[hash % N]). frame_hex is the frame's first 160 octets as seen on the tap (no VLAN\n")
    o.write("# tags: accel TCI 0). origin sock-tcp = TCP from a guest socket (skb carries sk_txhash, so\n")
    o.write("# encap3+4 returns that random skb->hash for it). encap3+4 rounds ran with\n")
    o.write("# net.ipv6.auto_flowlabels=0 (else IPv6 skbs carry an l4 hash too). Unique (policy, nics, frame) only.\n")
    o.write(",".join(COLS) + "\n")
    for d in rows:
        o.write(",".join(str(d[c]) for c in COLS) + "\n")
print("wrote %d vectors (%d stray frames from other MACs ignored) to %s" % (len(rows), stray, OUT))
PYEOF

ip netns exec "$NS" python3 "$WORK/driver.py" "$VM" "$NAME" "$TAPS" "$KVER" "$OUT"
