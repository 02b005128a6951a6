#!/usr/bin/env python3
"""Turns bench/run.sh's key=value results into a table: printed, and written into the
performance document between its BEGIN/END markers (the prose around them is kept; a missing
document is created with the markers only).

usage: report.py RESULTS OUT SECONDS
"""

import datetime
import os
import platform
import re
import sys

BEGIN = "<!-- BEGIN bench/run.sh output -->"
END = "<!-- END bench/run.sh output -->"


def load(path):
    r = {}
    for line in open(path):
        if "=" in line:
            k, v = line.strip().split("=", 1)
            r[k] = v
    return r


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return None


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fmt(x, unit="", digits=2):
    return "–" if x is None else f"{x:.{digits}f}{unit}"


def verdict(ok):
    return "–" if ok is None else ("yes" if ok else "**no**")


def tcp_rows(r, out, ratio_row, key, path, p):
    """The (1) rows of one data path (`key`: tcp.KEY.* results) for `p` streams."""
    name = (f"(1) TCP, {p} stream{'s' if p != '1' else ''}, 802.3ad layer3+4 bond of 2 veth, "
            f"{path}")
    pairs = []
    rep = 1
    while f"tcp.{key}.p{p}.r{rep}.gbit" in r:
        base = f"tcp.plain.{key}.p{p}.r{rep}.gbit"
        if base not in r:
            base = f"tcp.plain.p{p}.r{rep}.gbit"  # results of runs before the user/bpf split
        b, v = num(r, base), num(r, f"tcp.{key}.p{p}.r{rep}.gbit")
        if b and v is not None:
            pairs.append((v, b, r.get(f"tcp.{key}.p{p}.r{rep}.retrans", "–")))
        rep += 1
    if pairs:
        ratios = sorted(v / b for v, b, _ in pairs)
        ratio = median(ratios)
        out.append((name, f"median {median([v for v, _, _ in pairs]):.2f} Gbit/s "
                    f"({', '.join(f'{v:.1f}' for v, _, _ in pairs)})",
                    f"plain veth: median {median([b for _, b, _ in pairs]):.2f} Gbit/s "
                    f"({', '.join(f'{b:.1f}' for _, b, _ in pairs)}); ratio per pair: "
                    f"{', '.join(f'{v / b:.2f}' for v, b, _ in pairs)}",
                    f"{ratio:.2f}×", "≥ 0.5×", verdict(ratio >= 0.5),
                    ", ".join(str(t) for _, _, t in pairs)))
    else:
        ratio_row(name, f"tcp.{key}.p{p}.gbit", f"tcp.plain.p{p}.gbit", 0.5, "plain veth")
    cpu = [(num(r, f"tcp.{key}.p{p}.r{i}.cpu_a"), num(r, f"tcp.{key}.p{p}.r{i}.cpu_b"),
            num(r, f"tcp.{key}.p{p}.r{i}.idle"),
            num(r, f"tcp.plain.{key}.p{p}.r{i}.idle") or num(r, f"tcp.plain.p{p}.r{i}.idle"))
           for i in range(1, rep)]
    cpu = [c for c in cpu if None not in c]
    if cpu:
        out.append((f"(1) CPU during the {p}-stream bond runs, {path}",
                    "daemon A " + ", ".join(f"{c[0]:.0f}" for c in cpu) + " %; daemon B "
                    + ", ".join(f"{c[1]:.0f}" for c in cpu) + " % (of one CPU)",
                    "machine idle during bond runs: " + ", ".join(f"{c[2]:.0f}" for c in cpu)
                    + " %; during plain runs: " + ", ".join(f"{c[3]:.0f}" for c in cpu) + " %",
                    "–", "–", "–", "–"))


MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb",
         "balance-alb", "active-backup+arp")
# The targets: the in-kernel path (the default) at 1 and 4 streams, the userspace path at 4.
MODE_TARGETS = {("bpf", "1"): 0.85, ("bpf", "4"): 0.9, ("user", "4"): 0.6}


def paired(r, key, base):
    """(bond, baseline, retrans) of every rep of a key that has both."""
    pairs, rep = [], 1
    while f"{key}.r{rep}.gbit" in r:
        b, v = num(r, f"{base}.r{rep}.gbit"), num(r, f"{key}.r{rep}.gbit")
        if b and v is not None:
            pairs.append((v, b, r.get(f"{key}.r{rep}.retrans", "–")))
        rep += 1
    return pairs


def ratio_row(label, pairs, base, target=None, retrans=True):
    """One (1b) row: the bond's runs against `base`'s (a label), the median of their ratios."""
    ratios = [v / b for v, b, _ in pairs]
    ratio = median(ratios)
    return (label,
            f"median {fmt(median([v for v, _, _ in pairs]), ' Gbit/s')}",
            f"{base}: median {fmt(median([b for _, b, _ in pairs]), ' Gbit/s')}; "
            f"ratio per pair: {', '.join(f'{x:.2f}' for x in ratios)}",
            fmt(ratio, "×"), "–" if target is None else f"≥ {target}×",
            "–" if target is None else verdict(ratio >= target),
            ", ".join(str(t) for _, _, t in pairs) if retrans else "–")


def modes_rows(r, out):
    """(1b): every mode on both data paths, the median of the ratios of neighbouring runs."""
    for dp, path in (("bpf", "in-kernel fast path"), ("user", "userspace data path")):
        for mode in MODES:
            for p in ("1", "4"):
                key, plain = f"modes.{dp}.{mode}.p{p}", f"modes.plain.{dp}.{mode}.p{p}"
                pairs = paired(r, key, plain)
                if not pairs:
                    continue
                via = " (members and baseline through a bridge)" if "tlb" in mode or "alb" in mode else ""
                hashed = mode in ("balance-xor", "802.3ad", "balance-tlb", "balance-alb")
                if hashed and os.environ.get("BENCH_MODES_HASH", "layer3+4") != "layer3+4":
                    via += f", xmit_hash_policy={os.environ['BENCH_MODES_HASH']}"
                out.append(ratio_row(
                    f"(1b) TCP, {p} stream{'s' if p != '1' else ''}, {mode}, {path}{via}",
                    pairs, "plain", MODE_TARGETS.get((dp, p))))
                # broadcast: against a plain pair that receives every frame twice, and with
                # every copy delivered (tcp_dup_discard off), as Linux does.
                twice = paired(r, key, f"modes.twice.{dp}.{mode}.p{p}")
                if twice:
                    out.append(ratio_row("(1b) the same, against a plain pair that receives "
                                         "every frame twice (tc mirred)",
                                         twice, "plain, every frame twice", retrans=False))
                linux = paired(r, f"modes.linux.{dp}.{mode}.p{p}", plain)
                if linux:
                    out.append(ratio_row("(1b) the same with every copy delivered, as Linux "
                                         "does (tcp_dup_discard off)", linux, "plain"))


def burst_rows(r, out):
    """(1c): a control-plane burst during a 4-stream transfer, against one without."""
    for dp, path in (("bpf", "in-kernel fast path"), ("user", "userspace data path")):
        pairs = paired(r, f"burst.{dp}.busy", f"burst.{dp}.quiet")
        if not pairs:
            continue
        ratios = [v / b for v, b, _ in pairs]
        cost = 1 - median(ratios)
        out.append((f"(1c) 100 `ubond set`/`status` during a 4-stream transfer, balance-xor, {path}",
                    f"median {fmt(median([v for v, _, _ in pairs]), ' Gbit/s')}",
                    f"without the burst: median {fmt(median([b for _, b, _ in pairs]), ' Gbit/s')}; "
                    f"ratio per pair: {', '.join(f'{x:.2f}' for x in ratios)}",
                    f"cost {cost * 100:.1f} %", "< 5 %", verdict(cost < 0.05),
                    ", ".join(str(t) for _, _, t in pairs)))


def rows(r):
    out = []

    def ratio_row(name, key, base_key, target, base_label):
        v, b = num(r, key), num(r, base_key)
        if v is None and b is None:
            return
        ratio = v / b if v is not None and b else None
        out.append((name, fmt(v, " Gbit/s"), f"{fmt(b, ' Gbit/s')} ({base_label})",
                    fmt(ratio, "×"), f"≥ {target}×",
                    verdict(None if ratio is None else ratio >= target),
                    r.get(key.replace(".gbit", ".retrans"), "–")))

    for key, path in (("user", "userspace data path (--datapath user)"),
                      ("bond", "in-kernel fast path (--datapath bpf)")):
        for p in ("1", "4"):
            tcp_rows(r, out, ratio_row, key, path, p)
    modes_rows(r, out)
    burst_rows(r, out)
    rate = num(r, "agg.rate_mbit")
    if rate:
        # tbf counts whole frames, iperf3 counts TCP payload: one shaped plain veth, measured
        # in the same run, is the most a link at R carries (about 1448/1514 of R). The ratio
        # is against two of those; against the nominal 2R it is given in the detail column.
        two_r = 2 * rate / 1000
        one = num(r, "agg.plain_one_link.p1.gbit")
        for key, label in (
            ("agg.lacp.p8.gbit", "(2) 802.3ad layer3+4, 8 flows, 2 members shaped to R"),
            ("agg.rr.p1.gbit", "(2) balance-rr, 1 flow, 2 members shaped to R"),
            ("agg.rr_reordering.p1.gbit",
             "(2) balance-rr, 1 flow, sender's tcp_reordering=%s" % r.get("agg.rr_reordering", "127")),
        ):
            v = num(r, key)
            if v is None:
                continue
            ratio = v / (2 * one) if one else None
            out.append((label, fmt(v, " Gbit/s", 3),
                        f"2 × one shaped plain veth = {fmt(2 * one if one else None, ' Gbit/s', 3)}"
                        f" (R = {rate:.0f} Mbit/s; ÷ nominal 2R: {v / two_r:.2f}×)",
                        fmt(ratio, "×"), "≥ 0.95×",
                        verdict(None if ratio is None else ratio >= 0.95),
                        r.get(key.replace(".gbit", ".retrans"), "–")))
    if "failover.p99_ms" in r:
        p50, p99 = num(r, "failover.p50_ms"), num(r, "failover.p99_ms")
        out.append((f"(3) carrier-loss failover, {r.get('failover.trials')} trials, "
                    f"{r.get('failover.rate_hz')} Hz prober",
                    f"p50 {fmt(p50, ' ms')}, p99 {fmt(p99, ' ms')}",
                    f"max {fmt(num(r, 'failover.max_ms'), ' ms')}; probes lost in the 50 ms "
                    f"after a carrier loss: at most {r.get('failover.lost_max', '?')} per trial; "
                    f"lost over the whole run (link-ups included): {r.get('failover.lost')}",
                    "–", "p99 ≤ 5 ms",
                    verdict(p99 is not None and p99 <= 5), "–"))
    if "failover_far.p99_ms" in r:
        # The far end goes down: no IFF_UP change on the member, carrier read every miimon
        # (100 ms) or announced by the kernel, which may wait up to 1 s (link-watch).
        p50, p99 = num(r, "failover_far.p50_ms"), num(r, "failover_far.p99_ms")
        out.append((f"(3b) carrier loss at the member's far end, "
                    f"{r.get('failover_far.trials')} trials, miimon 100",
                    f"p50 {fmt(p50, ' ms')}, p99 {fmt(p99, ' ms')}",
                    f"max {fmt(num(r, 'failover_far.max_ms'), ' ms')}; probes lost over the "
                    f"run: {r.get('failover_far.lost')}",
                    "–", "p99 ≤ miimon + 20 ms",
                    verdict(p99 is not None and p99 <= 120), "–"))
    if "lacp.ms" in r:
        ms = sorted(int(x) for x in r["lacp.ms"].split())
        med = ms[len(ms) // 2]
        out.append((f"(4) LACP enslave → distributing, ubond ↔ ubond, {len(ms)} trials",
                    f"median {med / 1000:.2f} s", f"all: {', '.join(f'{m / 1000:.2f}' for m in ms)} s",
                    "–", "≤ 0.1 s", verdict(med <= 100), "–"))
    if r.get("kernel.ms", "").strip():
        ms = sorted(int(x) for x in r["kernel.ms"].split())
        med = ms[len(ms) // 2]
        out.append((f"(4) LACP enslave → distributing, ubond ↔ Linux 6.1 bonding (QEMU guest, "
                    f"TCG), {len(ms)} trials", f"median {med / 1000:.2f} s",
                    f"all: {', '.join(f'{m / 1000:.2f}' for m in ms)} s", "–", "–", "–", "–"))
    if "core.select_8023ad_l34.mps" in r:
        out.append(("(5) hash + slave choice, 802.3ad layer3+4 (one core)",
                    f"{fmt(num(r, 'core.select_8023ad_l34.ns'), ' ns')} "
                    f"= {fmt(num(r, 'core.select_8023ad_l34.mps'), ' M/s', 1)}",
                    f"hash alone {fmt(num(r, 'core.hash_l34.ns'), ' ns')}; balance-rr "
                    f"{fmt(num(r, 'core.select_rr.ns'), ' ns')}", "–", "≥ 50 M/s",
                    verdict(num(r, "core.select_8023ad_l34.mps") >= 50), "–"))
        out.append(("(5) received frames through the core (`Bond::handle_frame`)",
                    f"{fmt(num(r, 'core.rx_frame_xor.ns'), ' ns')} "
                    f"= {fmt(num(r, 'core.rx_frame_xor.mps'), ' M frames/s', 1)}",
                    "balance-xor, 2 slaves", "–", "–", "–", "–"))
    lacp_rx = sorted((int(k.split(".")[2][len("pdu_rx_"):-len("ports")]), k) for k in r
                     if k.startswith("core.lacp.pdu_rx_") and k.endswith("ports.ns"))
    if lacp_rx:
        out.append(("(5) one LACPDU through the LACP core on a converged bond",
                    ", ".join(f"{n} ports: {fmt(num(r, k), ' ns', 1)}" for n, k in lacp_rx),
                    "Receive, every machine of every port to a fixed point, Transmit, publish",
                    "–", "–", "–", "–"))
    if "core.lacp.negotiate_8ports.ns" in r:
        ns = num(r, "core.lacp.negotiate_8ports.ns")
        out.append(("(5) a whole LACP negotiation, two cores of 8 ports each",
                    f"{fmt(None if ns is None else ns / 1000, ' µs', 1)}",
                    "from no partner to every port distributing, frames moved instantly", "–",
                    "–", "–", "–"))
    if "idle.rss_kb" in r:
        rss, hwm, cpu = num(r, "idle.rss_kb"), num(r, "idle.hwm_kb"), num(r, "idle.cpu_pct")
        out.append(("(6) daemon with one 802.3ad bond, idle",
                    f"RSS {rss / 1024:.1f} MB, CPU {cpu:.3f} %",
                    f"peak RSS over the whole run {hwm / 1024:.1f} MB (loading the BPF "
                    "programs parses the kernel's BTF once, at start)", "–",
                    "≤ 16 MB, < 1 %", verdict(rss <= 16 * 1024 and cpu < 1), "–"))
    if "bfd.cpu_pct_a" in r:
        a, b = num(r, "bfd.cpu_pct_a"), num(r, "bfd.cpu_pct_b")
        out.append(("(7) micro-BFD: daemon with two 802.3ad bonds × two members, "
                    "bfd_min_tx=bfd_min_rx=10 ms",
                    f"CPU daemon A {a:.2f} %, daemon B {b:.2f} % (of one CPU)",
                    "utime + stime from /proc/PID/stat over 10 s, every session up "
                    f"at the end: {'yes' if num(r, 'bfd.up') == 1 else 'no'}", "–",
                    "< 2 %", verdict(max(a, b) < 2), "–"))
    for way, label in (("one", "one-way"), ("two", "two-way")):
        k = f"silent.bfd.{way}"
        if f"{k}.p99" not in r:
            continue
        p50, p99, top = num(r, f"{k}.p50"), num(r, f"{k}.p99"), num(r, f"{k}.max")
        lacp = num(r, f"silent.lacp.{way}.p50")
        lacp_text = "not measured" if lacp is None else f"p50 {lacp:.0f} ms"
        out.append((f"(8) silent member failure ({label}), micro-BFD 10 ms × 3, "
                    f"{num(r, f'{k}.trials'):.0f} trials",
                    f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                    f"max {top:.1f} ms; LACP alone (fast rate): {lacp_text}", "–",
                    "p99 ≤ 50 ms", verdict(p99 <= 50), "–"))
    return out


def table(r, seconds):
    head = ["measurement", "ubond", "baseline / detail", "ratio", "target", "met", "TCP retrans"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows(r):
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    machine = (f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}; "
               f"run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
               f"iperf3 runs of {seconds} s (first second omitted).")
    return machine + "\n\n" + "\n".join(lines) + "\n"


def main():
    results, out, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
    r = load(results)
    t = table(r, seconds)
    print()
    print(t)
    block = f"{BEGIN}\n{t}{END}"
    doc = open(out).read() if os.path.exists(out) else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN in doc and END in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc += "\n" + block + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    open(out, "w").write(doc)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
