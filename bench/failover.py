#!/usr/bin/env python3
"""Carrier-loss failover under a fixed-rate prober (bench/run.sh, section "failover").

Runs in namespace A (it enters it itself): sends UDP probes at a fixed rate to the bond's
peer address, whose receiver (this script with --recv, started in namespace B) stamps their
arrival. Each trial finds the member that carries the probe flow (its tx counter moves),
takes it down through rtnetlink, brings it back after a while and waits for LACP to
distribute on both members again. The failover time of a trial is from the moment the link
went down (the rtnetlink request returned) until traffic flows again: the send time of the
first probe sent at or after that moment that arrived. (Send times, not arrival times, so the
receiver's own scheduling delays do not count; the sender runs at a real-time priority so
that its probes leave on time on a busy machine.) Both ends read CLOCK_MONOTONIC, which
namespaces share. Probes lost per trial are counted as a cross-check.

With FAILOVER_DEBUG set, also prints to stderr, per trial, the probes lost and when, counted
from the moment the link came back (a member that carries traffic before both ends collect
on it shows here).

With --far-end the member's far end (its veth peer in namespace B, "the switch port") goes
down instead of the member itself: A's member loses carrier without being set down, which the
kernel may announce up to a second late (link-watch), so this measures the MII monitor's own
carrier reads.

Prints key=value lines (prefix "failover", or --prefix): .p50_ms, .p99_ms, .max_ms, .trials,
.lost (probes lost over all trials), .all_ms (every trial, sorted).
"""

import argparse
import ctypes
import os
import socket
import struct
import subprocess
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
PROBE = struct.Struct("!QQ")  # sequence number, send time (ns, CLOCK_MONOTONIC)
STOP = 0xFFFFFFFFFFFFFFFF


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {name}")
    os.close(fd)


def receiver(port, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(60)  # gone quiet: the controller has stopped (or died)
    got = []
    while True:
        try:
            data = s.recv(64)
        except socket.timeout:
            break
        now = time.monotonic_ns()
        if len(data) < PROBE.size:
            continue
        seq, sent = PROBE.unpack_from(data)
        if seq == STOP:
            break
        got.append((seq, sent, now))
    with open(out, "w") as f:
        for g in got:
            f.write("%d %d %d\n" % g)


def set_link(ifname, up, far=None):
    """RTM_NEWLINK with IFF_UP changed; returns once the kernel acknowledged it. With `far`
    (a netlink socket opened in namespace B and B's interface indexes), B's end of the member
    goes down instead: A's member loses its carrier without being set down."""
    if far:
        s, indexes = far
        index = indexes[ifname]
    else:
        index = socket.if_nametoindex(ifname)
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    ifi = struct.pack("=BxHiII", 0, 0, index, 1 if up else 0, 1)
    hdr = struct.pack("=IHHII", 16 + len(ifi), 16, 1 | 4, 1, 0)  # RTM_NEWLINK, REQUEST|ACK
    s.send(hdr + ifi)
    s.recv(4096)
    if not far:
        s.close()


def tx_packets():
    counts = {}
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, rest = line.split(":", 1)
            counts[name.strip()] = int(rest.split()[9])
    return counts


def lacp_up(reports):
    try:
        return all(open(r).read().count("port state: 63") >= 4 for r in reports)
    except OSError:
        return False


def wait(cond, limit):
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("LACP did not come back")
        time.sleep(0.02)


def percentile(sorted_values, p):
    """Nearest rank."""
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recv", type=int)
    ap.add_argument("--out")
    ap.add_argument("--ns-a")
    ap.add_argument("--ns-b")
    ap.add_argument("--dst", default="192.0.2.2")
    ap.add_argument("--port", type=int, default=5999)
    ap.add_argument("--rate", type=int, default=2000, help="probes per second")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--members", default="e1,e2")
    ap.add_argument("--report-a")
    ap.add_argument("--report-b")
    ap.add_argument("--far-end", action="store_true",
                    help="take down the member's far end (in namespace B), not the member")
    ap.add_argument("--prefix", default="failover", help="the printed keys' prefix")
    a = ap.parse_args()
    if a.recv:
        return receiver(a.recv, a.out)

    out = f"/tmp/ubond-failover-{os.getpid()}.txt"
    rx = subprocess.Popen(["ip", "netns", "exec", a.ns_b, sys.executable, __file__,
                           "--recv", str(a.port), "--out", out])
    members = a.members.split(",")
    far = None
    if a.far_end:
        # A netlink socket keeps the namespace it was opened in.
        enter_netns(a.ns_b)
        far = (socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0),
               {m: socket.if_nametoindex(m) for m in members})
    enter_netns(a.ns_a)
    time.sleep(0.5)
    reports = [a.report_a, a.report_b]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stop = threading.Event()
    sent_log = []

    def send_probes():
        try:  # this thread only: probes on time even when the CPUs are busy
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except (AttributeError, OSError):
            pass
        period = 1e9 / a.rate
        seq = 0
        t0 = time.monotonic_ns()
        while not stop.is_set():
            now = time.monotonic_ns()
            try:
                s.sendto(PROBE.pack(seq, now), (a.dst, a.port))
            except OSError:
                pass
            sent_log.append((seq, now))
            seq += 1
            nxt = t0 + seq * period
            delay = (nxt - time.monotonic_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)

    sender = threading.Thread(target=send_probes, daemon=True)
    sender.start()
    downs = []
    ups = []
    try:
        for _ in range(a.trials):
            wait(lambda: lacp_up(reports), 30)
            time.sleep(0.3)
            c0 = tx_packets()
            time.sleep(0.1)
            c1 = tx_packets()
            victim = max(members, key=lambda m: c1.get(m, 0) - c0.get(m, 0))
            moved = {m: c1.get(m, 0) - c0.get(m, 0) for m in members}
            print(f"failover: trial {len(downs) + 1}: {victim} down (tx in 100 ms: {moved})",
                  file=sys.stderr)
            set_link(victim, False, far)
            downs.append(time.monotonic_ns())
            time.sleep(0.3)
            set_link(victim, True, far)
            ups.append(time.monotonic_ns())
        wait(lambda: lacp_up(reports), 30)
    finally:
        stop.set()
        sender.join()
        for _ in range(5):
            s.sendto(PROBE.pack(STOP, 0), (a.dst, a.port))
            time.sleep(0.05)
        try:
            rx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rx.terminate()
            rx.wait()
    got = []
    with open(out) as f:
        for line in f:
            got.append(tuple(int(x) for x in line.split()))
    os.unlink(out)
    got.sort(key=lambda g: g[1])
    received = {g[0] for g in got}
    sent = max(received) + 1 if received else 0
    times = []
    lost_per_trial = []
    for t in downs:
        after = [g[1] for g in got if g[1] >= t]
        if after:
            times.append((min(after) - t) / 1e6)
        # Probes sent in the 50 ms after the link went down that never arrived.
        window = [q for q, sent_at in sent_log if t <= sent_at < t + 50_000_000]
        lost_per_trial.append(len(set(window) - received))
    if os.environ.get("FAILOVER_DEBUG"):
        lost = sorted((at, q) for q, at in sent_log if q not in received and q < sent)
        for i, (d, u) in enumerate(zip(downs, ups)):
            mine = [at for at, q in lost if d <= at < (downs[i + 1] if i + 1 < len(downs) else 1 << 62)]
            after_up = [(at - u) / 1e6 for at in mine if at >= u]
            print(f"trial {i+1}: lost {len(mine)}, after link-up {len(after_up)}"
                  + (f" from {after_up[0]:.1f} to {after_up[-1]:.1f} ms" if after_up else ""),
                  file=sys.stderr)
    times.sort()
    p = a.prefix
    if not times:
        print(f"{p}.trials=0")
        return
    print(f"{p}.trials={len(times)}")
    print(f"{p}.p50_ms={percentile(times, 50):.2f}")
    print(f"{p}.p99_ms={percentile(times, 99):.2f}")
    print(f"{p}.max_ms={times[-1]:.2f}")
    print(f"{p}.lost={sent - len(received)}")
    print(f"{p}.lost_max={max(lost_per_trial, default=0)}")
    print(f"{p}.rate_hz={a.rate}")
    print(f"{p}.all_ms=" + " ".join(f"{t:.1f}" for t in times))

if __name__ == "__main__":
    main()
