#!/usr/bin/env bash
# capture-doctor-fixtures.sh - put the REAL Linux bonding driver (Debian's 6.1 kernel in QEMU
# guests, interop/kernel-vm) into the failure states `ubond doctor` diagnoses, and keep what it
# reports: crates/ubond-doctor/tests/fixtures/kernel-6.1-<state>.txt is exactly what
# `cat /proc/net/bonding/bond0` printed in the guest (moved out base64-encoded), and
# kernel-6.1-<state>.sysfs the bond's options as `NAME: VALUE` lines read from
# /sys/class/net/bond0/bonding/* (what `ubond get BOND` prints for ubond's bonds).
#
# The states (guests wired tap to tap in a private namespace with tc mirred, as
# capture-proc-goldens.sh does; every bond 802.3ad lacp_rate fast unless said):
#   oneway-hears / oneway-deaf   A and B wired both ways on eth0; on eth1 only B -> A passes:
#                                A hears B on eth1 (B's state there: defaulted), B hears nothing
#   partner-system-differs       A.eth0 - B.eth0, A.eth1 - C.eth0: two partner systems
#   partner-key-differs          A.eth0 - B.eth0, A.eth1 - C.eth0, C with B's system MAC as
#                                ad_actor_system and ad_user_port_key 1: one system, two keys
#   rate-mismatch                A (fast) - B (slow), both links
#   speed-unknown                802.3ad over virtio-net NICs without speed/duplex, no partner
#   no-miimon                    active-backup, miimon 0, no ARP monitor
#   no-peer-notification         active-backup, fail_over_mac active, num_grat_arp 0
#   duplicate-mac                balance-xor, both NICs with one MAC (balance-alb refuses to
#                                enslave the second: "RTNETLINK answers: Bad address")
#   partner-absent               802.3ad slow, nothing answers, 70 s after start (churned)
# Each is read once the report shows the state (grab_when), so re-runs reproduce the files
# except for the counters that depend on timing.
#
# Needs: root (netns, taps, tc), qemu-system-x86_64, python3 (run-vm.sh exec), base64; about 4
# minutes under TCG. Network hygiene as in capture-proc-goldens.sh: one fresh namespace udr-<pid>
# holding every tap, no addresses, no routes; on exit (also on failure) only the guests started
# here are stopped (by pid file) and the namespace is deleted.
#
# Usage: tools/capture-doctor-fixtures.sh [OUTDIR]   (default crates/ubond-doctor/tests/fixtures)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/crates/ubond-doctor/tests/fixtures}
if [ -z "${KERNEL_VM_DIR:-}" ]; then
  if [ -x "$ROOT/interop/kernel-vm/run-vm.sh" ]; then KERNEL_VM_DIR=$ROOT/interop/kernel-vm
  else echo "$(basename "$0"): set KERNEL_VM_DIR to the kernel-vm folder (the one with run-vm.sh)" >&2; exit 1; fi
fi
RUNVM=$KERNEL_VM_DIR/run-vm.sh

T_START=$(date +%s.%N)
say() { printf '[%6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T_START" 'BEGIN { print a - b }')" "$*"; }
die() { echo "capture-doctor-fixtures.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (netns, taps)"
for t in ip tc qemu-system-x86_64 python3 base64 awk; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -x "$RUNVM" ] || die "no $RUNVM (set KERNEL_VM_DIR)"

NS=udr-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ubr-doctor.XXXXXX")
export KVM_BOND_RUN_DIR=$WORK/run
mkdir -p "$KVM_BOND_RUN_DIR" "$OUT"
GUESTS=()

cleanup() {
  local rc=$? g
  set +e
  for g in "${GUESTS[@]}"; do "$RUNVM" stop "$g" >/dev/null 2>&1; done
  ip netns list | awk -v n="$NS" '$1 == n { f = 1 } END { exit !f }' && ip netns del "$NS"
  if [ "${KEEP:-0}" = 1 ]; then say "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$KERNEL_VM_DIR/build.sh" >/dev/null || die "build.sh failed"
ip netns add "$NS"
ip -n "$NS" link set lo up
say "netns $NS, run dir $KVM_BOND_RUN_DIR, output $OUT"

IDX=0
# start_guest NAME [run-vm.sh start options...]: taps ur<pid>-<n>a/b, MACs 52:54:00:0c:<n>:00/01
start_guest() {
  local name=$1; shift
  IDX=$((IDX + 1))
  local n; n=$(printf '%02x' "$IDX")
  GUESTS+=("$name")
  "$RUNVM" start "$name" --netns "$NS" --taps "ur$$-${IDX}a,ur$$-${IDX}b" \
    --macs "52:54:00:0c:$n:00,52:54:00:0c:$n:01" --interval 1 "$@" >/dev/null
  echo "$name: $*" >> "$WORK/configs"
}

# ready NAME: wait for the guest's setup to finish, fail on a setup error
ready() {
  "$RUNVM" wait "$1" 'BOND-INIT: (ready|FAILED)' 120 || die "$1 did not boot"
  if grep -a 'BOND-INIT: FAILED' "$("$RUNVM" log "$1")" | tr -d '\r' >&2; then die "$1: setup failed"; fi
}

# wait_log NAME REGEX [SECONDS]
wait_log() { "$RUNVM" wait "$1" "$2" "${3:-60}" || die "$1: no /$2/ within ${3:-60}s"; }
both_up() { wait_log "$1" 'BOND-SUMMARY .*slaves=eth0:mii=up[^,]*,eth1:mii=up' 60; }

# dump NAME DEST [unpriv]: cat /proc/net/bonding/bond0 in the guest (as nobody with "unpriv")
dump() {
  local name=$1 dest=$2 cmd='cat /proc/net/bonding/bond0 > /tmp/g'
  if [ "${3:-}" = unpriv ]; then
    cmd='grep -q ^nobody: /etc/passwd || echo nobody:x:65534:65534:nobody:/:/bin/sh >> /etc/passwd; grep -q ^nogroup: /etc/group 2>/dev/null || echo nogroup:x:65534: >> /etc/group; su -s /bin/sh nobody -c "cat /proc/net/bonding/bond0" > /tmp/g'
  fi
  "$RUNVM" exec "$name" "$cmd && base64 /tmp/g" | tr -d '\r' | base64 -d > "$dest" \
    || die "$name: reading /proc/net/bonding/bond0 failed"
  [ -s "$dest" ] || die "$name: empty dump"
}

# grab NAME FILE-NAME [unpriv]: save a dump as OUT/kernel-6.1-FILE-NAME.txt
grab() {
  local file=$OUT/kernel-6.1-$2.txt
  dump "$1" "$file.tmp" "${3:-}"
  mv -f "$file.tmp" "$file"
  say "  $2: $(wc -l < "$file") lines"
}

# grab_when NAME FILE-NAME SECONDS CHECK: dump every 0.5 s until CHECK (a shell condition on the
# dump in $F) holds, then save that dump; dies after SECONDS
grab_when() {
  local name=$1 file=$OUT/kernel-6.1-$2.txt secs=$3 check=$4 end F
  end=$(( $(date +%s) + secs ))
  F=$file.tmp
  while :; do
    dump "$name" "$F"
    if eval "$check"; then break; fi
    [ "$(date +%s)" -lt "$end" ] || die "$name: the report never satisfied: $check"
    sleep 0.5
  done
  mv -f "$F" "$file"
  say "  $2: $(wc -l < "$file") lines"
}
# conditions for grab_when
all_up='[ "$(grep -c "^MII Status: up" "$F")" = 3 ]'
has() { printf 'grep -q %q "$F"' "$1"; }

# wire A B: a cable between two taps in the namespace (tc ingress + mirred, both directions; u32
# match-all because this host's kernel may lack cls_matchall)
wire() {
  local a=$1 b=$2 x y
  for x in "$a:$b" "$b:$a"; do
    y=${x#*:}; x=${x%%:*}
    ip netns exec "$NS" tc qdisc add dev "$x" ingress
    ip netns exec "$NS" tc filter add dev "$x" parent ffff: protocol all u32 match u32 0 0 \
      action mirred egress redirect dev "$y"
  done
}

# sysfs NAME STATE: the bond's options as NAME: VALUE lines
sysfs() {
  "$RUNVM" exec "$1" 'cd /sys/class/net/bond0/bonding && for f in *; do printf "%s: %s\n" "$f" "$(head -n1 $f 2>/dev/null)"; done | sed "s/ \$//" > /tmp/s && base64 /tmp/s' \
    | tr -d '\r' | base64 -d > "$OUT/kernel-6.1-$2.sysfs" || die "$1: reading sysfs failed"
}
# keep NAME STATE SECONDS CHECK: the report once CHECK holds, and the options
keep() { grab_when "$1" "$2" "$3" "$4"; sysfs "$1" "$2"; }

# oneway X Y: frames leaving tap X are delivered on tap Y, not the reverse
oneway() {
  ip netns exec "$NS" tc qdisc add dev "$1" ingress
  ip netns exec "$NS" tc filter add dev "$1" parent ffff: protocol all u32 match u32 0 0 \
    action mirred egress redirect dev "$2"
}
tap() { echo "ur$$-$1"; }

# BATCHES=13 runs only batches 1 and 3 (the guests keep their indexes, so their MACs)
BATCHES=${BATCHES:-123}
batch() { [[ "$BATCHES" == *"$1"* ]]; }

# --- batch 1: one-way loss, two partner systems, two keys -----------------------------------------
if batch 1; then
say "batch 1: one-way, partner system, partner key"
start_guest ow-a --mode 802.3ad --hash layer3+4        # 1
start_guest ow-b --mode 802.3ad --hash layer3+4        # 2
wire "$(tap 1a)" "$(tap 2a)"
oneway "$(tap 2b)" "$(tap 1b)"
start_guest sys-a --mode 802.3ad --hash layer3+4       # 3
start_guest sys-b --mode 802.3ad --hash layer3+4       # 4
start_guest sys-c --mode 802.3ad --hash layer3+4       # 5
wire "$(tap 3a)" "$(tap 4a)"
wire "$(tap 3b)" "$(tap 5a)"
for g in ow-a ow-b sys-a sys-b sys-c; do ready "$g"; done
sleep 10   # B's eth1 has long defaulted (3 s with the fast rate)
keep ow-a oneway-hears 60 '[ "$(grep -c "system mac address: 52:54:00:0c:02:00" "$F")" = 2 ]'
keep ow-b oneway-deaf 60 "$(has 'system mac address: 00:00:00:00:00:00')"
keep sys-a partner-system-differs 60 "$(has 'system mac address: 52:54:00:0c:04:00') && $(has 'system mac address: 52:54:00:0c:05:00')"
for g in ow-a ow-b sys-a sys-b sys-c; do "$RUNVM" stop "$g" >/dev/null; done
else IDX=5; fi

if batch 2; then
say "batch 2: partner key, rate mismatch, speed unknown"
start_guest key-a --mode 802.3ad --hash layer3+4       # 6
start_guest key-b --mode 802.3ad --hash layer3+4       # 7
start_guest key-c --mode 802.3ad --hash layer3+4 --opts ad_actor_system:52:54:00:0c:07:00,ad_user_port_key:1  # 8
wire "$(tap 6a)" "$(tap 7a)"
wire "$(tap 6b)" "$(tap 8a)"
start_guest rate-a --mode 802.3ad --hash layer3+4 --lacp-rate fast   # 9
start_guest rate-b --mode 802.3ad --hash layer3+4 --lacp-rate slow   # 10
wire "$(tap 9a)" "$(tap 10a)"
wire "$(tap 9b)" "$(tap 10b)"
for g in key-a key-b key-c rate-a rate-b; do ready "$g"; done
sleep 5
keep key-a partner-key-differs 60 '[ "$(grep -c "system mac address: 52:54:00:0c:07:00" "$F")" = 2 ] && grep -q "oper key: 73" "$F"' 
keep rate-a rate-mismatch 60 '[ "$(grep -c "port state: 63" "$F")" -ge 2 ] && grep -q "port state: 61" "$F"'
for g in key-a key-b key-c rate-a rate-b; do "$RUNVM" stop "$g" >/dev/null; done
else IDX=10; fi

if batch 3; then
say "batch 3: speed unknown, no miimon, no peer notification, duplicate MAC, partner absent"
start_guest virtio --mode 802.3ad --hash layer3+4 --nic virtio-net-pci          # 11
start_guest nomii --mode active-backup --miimon 0                                # 12
start_guest nonotify --mode active-backup --opts fail_over_mac:active,num_grat_arp:0   # 13
IDX=$((IDX + 1)); n=$(printf '%02x' "$IDX"); GUESTS+=(dupmac)                    # 14
"$RUNVM" start dupmac --netns "$NS" --taps "ur$$-${IDX}a,ur$$-${IDX}b" --macs "52:54:00:0c:$n:00,52:54:00:0c:$n:00" \
  --interval 1 --mode balance-xor --hash layer3+4 >/dev/null
start_guest alone --mode 802.3ad --hash layer2 --lacp-rate slow                  # 15
for g in virtio nomii nonotify dupmac alone; do ready "$g"; done
T_ALONE=$(date +%s)
sleep 5
keep virtio speed-unknown 60 "$(has 'Speed: Unknown')"
keep nomii no-miimon 60 "$(has 'Currently Active Slave: eth')"
keep nonotify no-peer-notification 60 "$all_up"
keep dupmac duplicate-mac 60 "$all_up"
say "partner absent: waiting for the churn timer (60 s)"
while [ $(( $(date +%s) - T_ALONE )) -lt 75 ]; do sleep 1; done
keep alone partner-absent 20 "$(has 'Partner Churn State: churned')"
for g in virtio nomii nonotify dupmac alone; do "$RUNVM" stop "$g" >/dev/null; done
fi

say "configs:"
sed 's/^/  /' "$WORK/configs"
say "done"
