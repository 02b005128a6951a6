#!/usr/bin/env bash
# ubond's benchmark suite. As root: builds its own network namespaces (two, joined by veth
# pairs), runs ubond daemons in them, measures, prints a table and writes docs/PERFORMANCE.md.
#
#   bench/run.sh                     # everything (about an hour)
#   bench/run.sh tcp failover        # some sections: tcp modes burst agg failover lacp core idle bfd
#                                    #   silent
#   BENCH_SECONDS=5 BENCH_REPS=1 BENCH_OUT=/tmp/p.md bench/run.sh tcp
#   BENCH_PERF=/tmp/profile.txt bench/run.sh tcp   # also profile a bond run (perf)
#   BENCH_DATAPATHS=user BENCH_PERF=/tmp/p.txt BENCH_PERF_STREAMS=4 bench/run.sh tcp
#   BENCH_DATAPATHS=bpf bench/run.sh modes          # one data path only (default: bpf user)
#   BENCH_MODES="broadcast 802.3ad" bench/run.sh modes   # some modes only
#   BENCH_MODES_HASH=layer2 bench/run.sh modes           # the hashed modes with another policy
#
# Needs iproute2, tc, iperf3 and python3. Addresses are 192.0.2.0/24 and
# 198.18.0.0/15 inside the namespaces only; nothing is routed out. Everything it creates is
# deleted on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# BENCH_BIN: measure another build of the daemon (say, an older commit) with the same suite.
BIN=${BENCH_BIN:-$ROOT/target/release/ubond}
DUR=${BENCH_SECONDS:-10}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_OUT:-$ROOT/docs/PERFORMANCE.md}
RATE_MBIT=${BENCH_RATE_MBIT:-500}
# balance-rr is also measured with this tcp_reordering on the sender (empty: not at all).
export BENCH_RR_REORDERING=${BENCH_RR_REORDERING-127}
TRIALS=${BENCH_TRIALS:-20}
# The data paths the "tcp", "modes" and "burst" sections measure.
DATAPATHS=${BENCH_DATAPATHS:-bpf user}
# The modes the "modes" section measures (active-backup+arp: active-backup with the ARP monitor).
MODES=${BENCH_MODES:-balance-rr active-backup balance-xor broadcast 802.3ad balance-tlb balance-alb active-backup+arp}
# The xmit_hash_policy of the hashed modes in the modes section (balance-xor, 802.3ad,
# balance-tlb/alb): layer3+4 spreads the streams of one pair of hosts over the members;
# layer2 (Linux's default) is the one the userspace path can hash in the kernel.
export BENCH_MODES_HASH=${BENCH_MODES_HASH:-layer3+4}
# BENCH_KERNEL_VM: the folder of the kernel-guest recipe (run-vm.sh, see tools/); when set, the
# default run adds the "kernel" section: LACP convergence between ubond and the Linux bonding
# driver in a QEMU guest.
KVM=${BENCH_KERNEL_VM:-}
SECTIONS=${*:-tcp modes burst agg failover lacp core idle bfd silent ${KVM:+kernel}}

TAG=ubb$$
NA=$TAG-a
NB=$TAG-b
NK=$TAG-k
NS=$TAG-s
GUEST=
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")
PIDS=()
RESULTS=$WORK/results.txt
: >"$RESULTS"

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    [ -n "$GUEST" ] && KVM_BOND_RUN_DIR=$WORK/vm "$KVM/run-vm.sh" stop "$GUEST" >/dev/null 2>&1
    ip netns del "$NA" 2>/dev/null
    ip netns del "$NB" 2>/dev/null
    ip netns del "$NK" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '== %s\n' "$*" >&2; }
# result KEY VALUE: one measured figure (key=value lines, read by bench/report.py).
result() { printf '%s=%s\n' "$1" "$2" >>"$RESULTS"; say "$1 = $2"; }
in_a() { ip netns exec "$NA" "$@"; }
in_b() { ip netns exec "$NB" "$@"; }
ua() { "$BIN" --control "$WORK/a/control.sock" "$@"; }
ub() { "$BIN" --control "$WORK/b/control.sock" "$@"; }

for tool in ip tc iperf3 python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces)" >&2; exit 1; }

if [ -z "${BENCH_BIN:-}" ]; then
    say "building (release)"
    cargo build --release -q -p ubond
fi

# --- topology -------------------------------------------------------------------------------
# e1, e2: the bond's members; p0: the plain veth pair the bond is compared with.
ip netns add "$NA"
ip netns add "$NB"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
for e in e1 e2 p0; do
    ip -n "$NA" link add "$e" type veth peer name "$e" netns "$NB"
done
ip -n "$NA" addr add 198.18.0.1/24 dev p0
ip -n "$NB" addr add 198.18.0.2/24 dev p0
ip -n "$NA" link set p0 up
ip -n "$NB" link set p0 up

# Builds before the fast path have no --datapath (BENCH_BIN): they get their only path.
HAS_DATAPATH=$("$BIN" daemon --help 2>/dev/null | grep -c -- --datapath || true)
start_daemon() { # side ns [datapath]
    mkdir -p "$WORK/$1"
    local dp=()
    [ "$HAS_DATAPATH" = 0 ] || dp=(--datapath "${3:-auto}")
    ip netns exec "$2" "$BIN" --control "$WORK/$1/control.sock" daemon "${dp[@]}" \
        2>>"$WORK/$1/daemon.log" &
    PIDS+=($!)
    eval "PID_$1=$!"
    for _ in $(seq 100); do [ -S "$WORK/$1/control.sock" ] && return 0; sleep 0.05; done
    echo "bench: daemon $1 did not start" >&2; exit 1
}
start_daemon a "$NA"
start_daemon b "$NB"
# restart_daemons DATAPATH: both daemons again, with `--datapath DATAPATH` (no bond exists).
restart_daemons() {
    local p
    for p in "$PID_a" "$PID_b"; do
        kill -TERM "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
    start_daemon a "$NA" "$1"
    start_daemon b "$NB" "$1"
}

# Not through in_b: `$!` of a backgrounded function is a subshell's pid, and ending that
# would leave the server running.
ip netns exec "$NB" iperf3 -s -p 5201 >/dev/null 2>&1 &
PIDS+=($!)

# distributing: both members of both sides in state 63 (LACP) in the report.
lacp_up() {
    [ "$(grep -c 'port state: 63' "$WORK/a/bond0" 2>/dev/null)" -ge 4 ] &&
        [ "$(grep -c 'port state: 63' "$WORK/b/bond0" 2>/dev/null)" -ge 4 ]
}
wait_until() { # seconds command...
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@"; do
        [ $SECONDS -lt $end ] || { echo "bench: timed out: $*" >&2; return 1; }
        sleep "${POLL:-0.05}"
    done
}
pings() { in_a ping -c 1 -W 1 192.0.2.2 >/dev/null 2>&1; }

bond_up() { # options...
    ua add bond0 "$@" >/dev/null
    ub add bond0 "$@" >/dev/null
    ua enslave bond0 e1 e2
    ub enslave bond0 e1 e2
    ip -n "$NA" addr add 192.0.2.1/24 dev bond0
    ip -n "$NB" addr add 192.0.2.2/24 dev bond0
    case "$*" in *802.3ad*) wait_until 30 lacp_up ;; esac
    wait_until 20 pings
}
bond_down() {
    ua del bond0 || true
    ub del bond0 || true
}

# iperf3 KEY ADDR STREAMS [extra...]: received bit/s and retransmits into the results.
# Also the CPU each daemon used during the run (% of one CPU) and the machine's idle share.
cpu_ns_of() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
machine_idle() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
iperf() {
    local key=$1 addr=$2 streams=$3; shift 3
    local json=$WORK/$key.json
    local a0 b0 i0 j0 w0 a1 b1 i1 j1 w1
    a0=$(cpu_ns_of "$PID_a"); b0=$(cpu_ns_of "$PID_b"); read -r i0 j0 < <(machine_idle)
    w0=$(date +%s%N)
    if ! in_a iperf3 -c "$addr" -p 5201 -t "$DUR" -O 1 -P "$streams" -J "$@" >"$json"; then
        say "iperf3 $key failed: $(head -c 300 "$json")"
        result "$key.gbit" "nan"
        return 0
    fi
    a1=$(cpu_ns_of "$PID_a"); b1=$(cpu_ns_of "$PID_b"); read -r i1 j1 < <(machine_idle)
    w1=$(date +%s%N)
    {
        echo "$key.cpu_a=$(((a1 - a0) * 100 / (w1 - w0)))"
        echo "$key.cpu_b=$(((b1 - b0) * 100 / (w1 - w0)))"
        echo "$key.idle=$(((i1 - i0) * 100 / (j1 - j0 + 1)))"
    } >>"$RESULTS"
    python3 - "$json" "$key" >>"$RESULTS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["end"]
print(f"{sys.argv[2]}.gbit={d['sum_received']['bits_per_second'] / 1e9:.3f}")
print(f"{sys.argv[2]}.retrans={d['sum_sent'].get('retransmits', 0)}")
PY
    say "$key: $(grep "^$key.gbit=" "$RESULTS" | tail -1)"
}

section() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# --- (1) TCP through an 802.3ad bond vs a plain veth pair ------------------------------------
if section tcp; then
    say "(1) TCP: plain veth vs 802.3ad layer3+4 bond, userspace and in-kernel data paths"
    # tcp.user.*: every frame through the daemons (--datapath user); tcp.bond.*: the in-kernel
    # fast path (--datapath bpf). Plain and bond runs alternate, REPS times each: the ratio is
    # the median of the ratios of neighbouring runs, which a busy machine disturbs less than
    # any single pair.
    # The last data path's bond stays up for the profile (BENCH_DATAPATHS=user: the userspace
    # path's).
    tcp_paths=$(printf '%s\n' user bpf | grep -xF -f <(printf '%s\n' $DATAPATHS) || true)
    for dp in $tcp_paths; do
        restart_daemons "$dp"
        key=$([ "$dp" = bpf ] && echo bond || echo user)
        bond_up mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4
        for p in 1 4; do
            for rep in $(seq "$REPS"); do
                iperf "tcp.plain.$key.p$p.r$rep" 198.18.0.2 "$p"
                iperf "tcp.$key.p$p.r$rep" 192.0.2.2 "$p"
            done
        done
        [ "$dp" = "$(echo $tcp_paths | awk '{print $NF}')" ] || bond_down
    done
    if [ -n "${BENCH_PERF:-}" ] && command -v perf >/dev/null; then
        # Where the time goes: a profile of both daemons during one more run
        # (BENCH_PERF_STREAMS streams, default 1).
        streams=${BENCH_PERF_STREAMS:-1}
        say "profiling the daemons during a $streams-stream run into $BENCH_PERF"
        perf record -q -g -p "$PID_a,$PID_b" -o "$WORK/perf.data" -- sleep "$DUR" 2>/dev/null &
        perf_pid=$!
        iperf "tcp.$key.profiled.p$streams" 192.0.2.2 "$streams"
        wait "$perf_pid" || true
        perf report -i "$WORK/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null |
            grep '%' | head -n 60 >"$BENCH_PERF" || true
        perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
            grep '%' >"$BENCH_PERF.dso" || true
        # Inclusive time per system call (what each kind of call costs in all).
        perf report -i "$WORK/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
            grep -E '__x64_sys_|\] (tun_|packet_|veth_|tcp_v4_rcv|ip_rcv|net_rx_action)' |
            head -n 30 >"$BENCH_PERF.calls" || true
    fi
    bond_down
fi

# --- (1b) every mode, both data paths ---------------------------------------------------------
# balance-tlb and balance-alb need a switch between the hosts (a backup member of balance-tlb
# receives nothing for the bond): their members f1, f2 and their baseline pair p1 cross a Linux
# bridge in a third namespace. The other modes use e1, e2 and p0, joined directly.
switch_up() {
    [ -n "${SWITCH_UP:-}" ] && return 0
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" link add br0 type bridge
    ip -n "$NS" link set br0 up
    local side ns e
    for side in a b; do
        ns=$([ $side = a ] && echo "$NA" || echo "$NB")
        for e in f1 f2 p1; do
            ip -n "$NS" link add "$side$e" type veth peer name "$e" netns "$ns"
            ip -n "$NS" link set "$side$e" master br0
            ip -n "$NS" link set "$side$e" up
        done
    done
    ip -n "$NA" addr add 198.19.0.1/24 dev p1
    ip -n "$NB" addr add 198.19.0.2/24 dev p1
    ip -n "$NA" link set p1 up
    ip -n "$NB" link set p1 up
    SWITCH_UP=1
}
# twice_on / twice_off: every frame A sends on p0 also goes out on d0 (tc mirred), whose far end
# has B's p0 MAC, so B's stack receives each frame twice, as from a broadcast bond's members.
twice_on() {
    if [ -z "${TWICE_UP:-}" ]; then
        ip -n "$NA" link add d0 type veth peer name d0 netns "$NB"
        ip -n "$NB" link set d0 address "$(ip -n "$NB" -br link show p0 | awk '{print $3}')"
        for ns in "$NA" "$NB"; do
            ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.d0.rp_filter=0
            ip -n "$ns" link set d0 up
        done
        tc -n "$NA" qdisc add dev p0 clsact
        TWICE_UP=1
    fi
    tc -n "$NA" filter add dev p0 egress protocol all pref 1 u32 match u32 0 0 \
        action mirred egress mirror dev d0
}
twice_off() { tc -n "$NA" filter del dev p0 egress pref 1; }
if section modes; then
    say "(1b) TCP through a bond of every mode, both data paths"
    switch_up
    for dp in $DATAPATHS; do
        restart_daemons "$dp"
        for mode in $MODES; do
            members="e1 e2"
            base=198.18.0.2
            case $mode in
            802.3ad) opts="mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=$BENCH_MODES_HASH" ;;
            balance-xor) opts="mode=balance-xor miimon=100 xmit_hash_policy=$BENCH_MODES_HASH" ;;
            balance-tlb | balance-alb)
                opts="mode=$mode miimon=100 xmit_hash_policy=$BENCH_MODES_HASH"
                members="f1 f2"
                base=198.19.0.2
                ;;
            active-backup+arp) opts="mode=active-backup arp_interval=100 arp_ip_target=192.0.2.2" ;;
            *) opts="mode=$mode miimon=100" ;;
            esac
            # shellcheck disable=SC2086
            { ua add bond0 $opts >/dev/null && ub add bond0 $opts >/dev/null; } || continue
            # shellcheck disable=SC2086
            ua enslave bond0 $members && ub enslave bond0 $members
            ip -n "$NA" addr add 192.0.2.1/24 dev bond0
            ip -n "$NB" addr add 192.0.2.2/24 dev bond0
            case $mode in 802.3ad) wait_until 30 lacp_up ;; esac
            if wait_until 20 pings; then
                for p in 1 4; do
                    for rep in $(seq "$REPS"); do
                        iperf "modes.plain.$dp.$mode.p$p.r$rep" "$base" "$p"
                        iperf "modes.$dp.$mode.p$p.r$rep" 192.0.2.2 "$p"
                        # broadcast delivers every frame twice: also against a plain pair
                        # whose every frame the kernel itself sends twice (the mode's own cost).
                        if [ "$mode" = broadcast ]; then
                            twice_on
                            iperf "modes.twice.$dp.$mode.p$p.r$rep" "$base" "$p"
                            twice_off
                            # And with every copy delivered, as Linux does (builds before
                            # tcp_dup_discard have no such option and always do).
                            if ua set bond0 tcp_dup_discard off >/dev/null 2>&1 &&
                                ub set bond0 tcp_dup_discard off >/dev/null 2>&1; then
                                iperf "modes.linux.$dp.$mode.p$p.r$rep" 192.0.2.2 "$p"
                                ua set bond0 tcp_dup_discard on >/dev/null
                                ub set bond0 tcp_dup_discard on >/dev/null
                            fi
                        fi
                    done
                done
            else
                say "$mode ($dp): no ping through the bond"
            fi
            bond_down
        done
    done
    restart_daemons auto
fi

# --- (1c) a control-plane burst during a bulk transfer ----------------------------------------
if section burst; then
    say "(1c) 100 ubond set/status requests during a 4-stream transfer, both data paths"
    for dp in $DATAPATHS; do
        restart_daemons "$dp"
        bond_up mode=balance-xor miimon=100 xmit_hash_policy=layer3+4
        for rep in $(seq "$REPS"); do
            iperf "burst.$dp.quiet.r$rep" 192.0.2.2 4
            # The burst: 50 option changes and 50 reports, back to back, once the transfer runs.
            ( sleep 2; for i in $(seq 50); do
                ua set bond0 miimon $((100 + i % 2)) >/dev/null; ua status bond0 >/dev/null
              done ) &
            burst_pid=$!
            iperf "burst.$dp.busy.r$rep" 192.0.2.2 4
            wait "$burst_pid" || true
        done
        bond_down
    done
    restart_daemons auto
fi

# --- (2) aggregation over members shaped to R -------------------------------------------------
shape() { # dev... : tbf at RATE_MBIT on A's egress
    for d in "$@"; do
        tc -n "$NA" qdisc replace dev "$d" root tbf rate "${RATE_MBIT}mbit" burst 256kb latency 100ms
    done
}
unshape() { for d in "$@"; do tc -n "$NA" qdisc del dev "$d" root 2>/dev/null || true; done; }
if section agg; then
    say "(2) aggregation: members shaped to ${RATE_MBIT} Mbit/s"
    result agg.rate_mbit "$RATE_MBIT"
    shape p0
    iperf agg.plain_one_link.p1 198.18.0.2 1
    unshape p0
    shape e1 e2
    bond_up mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4
    iperf agg.lacp.p8 192.0.2.2 8
    bond_down
    bond_up mode=balance-rr miimon=100
    iperf agg.rr.p1 192.0.2.2 1
    if [ -n "${BENCH_RR_REORDERING:-}" ]; then
        # Linux's bonding documentation advises a larger tcp_reordering for balance-rr.
        old=$(in_a sysctl -n net.ipv4.tcp_reordering)
        in_a sysctl -q -w net.ipv4.tcp_reordering="$BENCH_RR_REORDERING"
        result agg.rr_reordering "$BENCH_RR_REORDERING"
        iperf agg.rr_reordering.p1 192.0.2.2 1
        in_a sysctl -q -w net.ipv4.tcp_reordering="$old"
    fi
    bond_down
    unshape e1 e2
fi

# --- (3) carrier-loss failover ----------------------------------------------------------------
if section failover; then
    say "(3) failover: $TRIALS carrier losses under a 2 kHz prober"
    bond_up mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4
    python3 "$ROOT/bench/failover.py" --ns-a "$NA" --ns-b "$NB" --trials "$TRIALS" \
        --report-a "$WORK/a/bond0" --report-b "$WORK/b/bond0" --dst 192.0.2.2 >>"$RESULTS"
    grep '^failover' "$RESULTS" >&2 || true
    # The same carrier losses at the far end of the member (its peer, "the switch port", goes
    # down): the member keeps IFF_UP and its carrier loss may be announced a second late.
    say "(3b) failover: $TRIALS carrier losses at the members' far end"
    python3 "$ROOT/bench/failover.py" --ns-a "$NA" --ns-b "$NB" --trials "$TRIALS" --far-end \
        --prefix failover_far --report-a "$WORK/a/bond0" --report-b "$WORK/b/bond0" \
        --dst 192.0.2.2 >>"$RESULTS"
    grep '^failover_far' "$RESULTS" >&2 || true
    bond_down
fi

# --- (4) LACP convergence ---------------------------------------------------------------------
if section lacp; then
    say "(4) LACP convergence: enslave to distributing, ubond <-> ubond"
    for side in a b; do
        "$BIN" --control "$WORK/$side/control.sock" add bond0 mode=802.3ad lacp_rate=fast \
            miimon=100 xmit_hash_policy=layer3+4 >/dev/null
    done
    : >"$WORK/lacp.txt"
    for t in $(seq 5); do
        ub enslave bond0 e1 e2
        t0=$(date +%s%N)
        ua enslave bond0 e1 e2
        # Polled every 5 ms (the reports are rewritten as the state changes), not 50 ms.
        POLL=0.005 wait_until 30 lacp_up
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000)) >>"$WORK/lacp.txt"
        ua release bond0 e1 e2
        ub release bond0 e1 e2
        sleep 0.5
    done
    result lacp.ms "$(sort -n "$WORK/lacp.txt" | tr '\n' ' ')"
    bond_down
fi

# --- (4b) LACP convergence against the Linux bonding driver in a guest (optional) -------------
if section kernel; then
    [ -x "$KVM/run-vm.sh" ] || { echo "bench: BENCH_KERNEL_VM has no run-vm.sh" >&2; exit 1; }
    say "(4) LACP convergence: enslave to distributing, ubond <-> Linux bonding in a guest"
    ip netns add "$NK"
    ip -n "$NK" link set lo up
    GUEST=ubb$$
    export KVM_BOND_RUN_DIR=$WORK/vm
    "$KVM/run-vm.sh" start "$GUEST" --netns "$NK" --taps k0,k1 --mode 802.3ad --lacp-rate fast \
        --hash layer3+4 --addr 192.0.2.3/24 >/dev/null
    start_daemon k "$NK"
    "$KVM/run-vm.sh" wait "$GUEST" 'BOND-INIT: ready' 180 >/dev/null
    uk() { "$BIN" --control "$WORK/k/control.sock" "$@"; }
    lacp_up_k() { [ "$(grep -c 'port state: 63' "$WORK/k/bond0" 2>/dev/null)" -ge 4 ]; }
    uk add bond0 mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4 >/dev/null
    : >"$WORK/kernel.txt"
    for t in $(seq "${BENCH_KERNEL_TRIALS:-3}"); do
        t0=$(date +%s%N)
        uk enslave bond0 k0 k1
        if wait_until 90 lacp_up_k; then
            t1=$(date +%s%N)
            echo $(((t1 - t0) / 1000000)) >>"$WORK/kernel.txt"
        fi
        uk release bond0 k0 k1
        # The guest's ports must forget us: 3 s to EXPIRED at the fast rate, 3 s more to
        # DEFAULTED. Sooner, an EXPIRED port still holds our information and merely resyncs.
        sleep 10
    done
    result kernel.ms "$(sort -n "$WORK/kernel.txt" | tr '\n' ' ')"
    "$KVM/run-vm.sh" stop "$GUEST" >/dev/null 2>&1 || true
    GUEST=
fi

# --- (6) daemon RSS and idle CPU with one bond ------------------------------------------------
if section idle; then
    say "(6) RSS and idle CPU, one 802.3ad bond"
    bond_up mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4
    sleep 2
    # CPU time in ns of all the daemon's threads (schedstat), over 20 s of wall time.
    cpu_ns() { cpu_ns_of "$PID_a"; }
    c0=$(cpu_ns); t0=$(date +%s%N)
    sleep 20
    c1=$(cpu_ns); t1=$(date +%s%N)
    result idle.cpu_pct "$(python3 -c "print(f'{100 * ($c1 - $c0) / ($t1 - $t0):.3f}')")"
    result idle.rss_kb "$(awk '/^VmRSS/ {print $2}' "/proc/$PID_a/status")"
    result idle.hwm_kb "$(awk '/^VmHWM/ {print $2}' "/proc/$PID_a/status")"
    bond_down
fi

# --- (7) micro-BFD: the daemon's CPU with two bonds x two members at 10 ms --------------------
if section bfd; then
    say "(7) CPU of micro-BFD: two bonds x two members, bfd_min_tx=bfd_min_rx=10"
    # Members g1..g4 and addresses 198.19.10.0/24 and 198.19.11.0/24 of their own: the switch of
    # the "modes" section (f1, f2, p1 with 198.19.0.0/24) may still be there.
    for e in g1 g2 g3 g4; do
        ip -n "$NA" link add "$e" type veth peer name "$e" netns "$NB"
    done
    bfd_bond() { # side bond members... ; peer and address from the bond's number
        local side=$1 bond=$2 n=${2#bfd} me peer
        shift 2
        if [ "$side" = a ]; then me=1 peer=2; else me=2 peer=1; fi
        "u$side" add "$bond" mode=802.3ad lacp_rate=fast miimon=100 bfd=on bfd_min_tx=10 \
            bfd_min_rx=10 bfd_multiplier=3 "bfd_peer=198.19.1$n.$peer" >/dev/null
        "u$side" enslave "$bond" "$@"
        ip -n "$([ "$side" = a ] && echo "$NA" || echo "$NB")" addr add "198.19.1$n.$me/24" dev "$bond"
    }
    for side in a b; do
        bfd_bond "$side" bfd0 g1 g2
        bfd_bond "$side" bfd1 g3 g4
    done
    bfd_up() {
        local f
        for f in "$WORK"/a/bfd0 "$WORK"/a/bfd1 "$WORK"/b/bfd0 "$WORK"/b/bfd1; do
            [ "$(grep -c '^BFD Status: up$' "$f" 2>/dev/null)" = 2 ] || return 1
        done
    }
    wait_until 30 bfd_up
    sleep 2
    # utime + stime of the daemon (/proc/PID/stat fields 14 and 15, in clock ticks), over 10 s.
    ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
    hz=$(getconf CLK_TCK)
    if [ -n "${BENCH_PERF:-}" ] && command -v perf >/dev/null; then
        perf record -q -g -p "$PID_a" -o "$WORK/perf-bfd.data" -- sleep 10 2>/dev/null &
        perf_pid=$!
    fi
    a0=$(ticks_of "$PID_a"); b0=$(ticks_of "$PID_b"); t0=$(date +%s%N)
    sleep 10
    a1=$(ticks_of "$PID_a"); b1=$(ticks_of "$PID_b"); t1=$(date +%s%N)
    if [ -n "${perf_pid:-}" ]; then
        wait "$perf_pid" || true
        perf report -i "$WORK/perf-bfd.data" --children --sort sym --stdio -g none 2>/dev/null |
            grep '%' | head -n 60 >"$BENCH_PERF.bfd" || true
        perf_pid=
    fi
    pct() { python3 -c "print(f'{100 * ($1) / $hz / (($t1 - $t0) / 1e9):.2f}')"; }
    result bfd.cpu_pct_a "$(pct "$a1 - $a0")"
    result bfd.cpu_pct_b "$(pct "$b1 - $b0")"
    result bfd.up "$(bfd_up && echo 1 || echo 0)"
    for side in a b; do "u$side" del bfd0 || true; "u$side" del bfd1 || true; done
fi

# --- (8) a silent member failure: the outage with micro-BFD, and with LACP alone ---------------
# The root test crates/ubond/tests/bfd_silent.rs does the work (its own namespaces, a flow probed
# every millisecond, a member's frames redirected into a down veth; UBOND_SILENT_TRIALS=full asks
# for 20 trials each way, where the test suite makes 8); it prints one summary line per case, read
# here. The goal (p99 <= 50 ms) is judged in the table.
if section silent; then
    say "(8) silent member failure: micro-BFD at 10 ms x 3 against LACP alone (cargo test)"
    UBOND_SILENT_TRIALS=full cargo test --release -q -p ubond --test bfd_silent -- --nocapture --test-threads=1 \
        >"$WORK/silent.txt" 2>&1 || say "bfd_silent failed: see the figures and its output"
    grep -E 'trials, outage|went down by itself|panicked' "$WORK/silent.txt" >&2 || true
    python3 - "$WORK/silent.txt" >>"$RESULTS" <<'PY'
import re, sys
names = {"micro-BFD, one-way": "bfd.one", "micro-BFD, two-way": "bfd.two",
         "LACP only (fast), one-way": "lacp.one", "LACP only (fast), two-way": "lacp.two"}
pat = re.compile(r"(.+?): (\d+) trials, outage min ([\d.]+) ms, mean ([\d.]+) ms, "
                 r"p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms")
for line in open(sys.argv[1]):
    m = pat.search(line)
    if m and m.group(1).strip() in names:
        k = "silent." + names[m.group(1).strip()]
        for i, f in enumerate(["trials", "min", "mean", "p50", "p99", "max"], start=2):
            print(f"{k}.{f}={m.group(i)}")
PY
fi

# --- (5) the core: hash + slave selection, frames through the core, the LACP machines ---------
if section core; then
    say "(5) cargo bench -p ubond-core (hash + selection, LACP)"
    cargo bench -q -p ubond-core --bench datapath 2>/dev/null | tee "$WORK/core.txt" >&2
    grep '^core\.' "$WORK/core.txt" >>"$RESULTS" || true
    # The LACP bench prints lacp.NAME.ns; kept apart from section (4)'s lacp.* as core.lacp.*.
    cargo bench -q -p ubond-core --bench lacp 2>/dev/null | tee "$WORK/core-lacp.txt" >&2
    sed -n 's/^lacp\./core.lacp./p' "$WORK/core-lacp.txt" >>"$RESULTS"
fi

python3 "$ROOT/bench/report.py" "$RESULTS" "$OUT" "$DUR"
