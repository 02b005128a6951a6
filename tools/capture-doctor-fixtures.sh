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
GUEST_NS=udr
GUEST_TAG=doctor
# shellcheck source=tools/lib/kernel-guests.sh
. "$HERE/lib/kernel-guests.sh"

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
