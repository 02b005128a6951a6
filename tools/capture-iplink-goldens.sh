#!/usr/bin/env bash
# capture-iplink-goldens.sh - run the `ip link` words of a bonding script against the REAL Linux
# bonding driver (Debian's 6.1 kernel in a QEMU guest, interop/kernel-vm) with iproute2's own
# `ip`, and record what it printed: the golden file for crates/ubond/tests/iplink.rs, which runs
# the same words as `ubond link` and compares.
#
# The guest's busybox `ip` cannot show bond details, so this host's iproute2 `ip` (and the shared
# libraries it needs, found with ldd) is added to the guest's initramfs as a second cpio archive
# (the kernel unpacks concatenated archives) at /usr/local/sbin/ip. Two guests, a and b, are
# wired back to back (tc mirred between their taps) so that their bonds negotiate LACP; both run
# the same words, the capture is guest a's. Each command's standard output, standard error and
# exit status are moved out base64-encoded over the command channel, so no byte is touched.
#
# Output: crates/ubond/tests/golden/iplink/kernel-6.1.json: the kernel and iproute2 versions,
# then one record per command: {"words", "exit", "stdout", "stderr"} (words after `ip`).
#
# Needs: root (netns, taps, tc), qemu-system-x86_64, python3, base64, ldd, cpio (or busybox), and
# the kernel-vm folder (its build.sh is run here, cached in ~/.cache/kernel-vm-bond). About 40 s
# under TCG.
#
# Usage: tools/capture-iplink-goldens.sh [OUTFILE]
#   KERNEL_VM_DIR  the kernel-vm folder (default: interop/kernel-vm in this checkout)
#   KEEP=1         keep the work dir (guest consoles)
#
# Network hygiene: everything lives in a fresh namespace uil-<pid> (taps ui<pid>-<n><a|b>); the
# guests carry no addresses. On exit (also on failure) the script stops only the guests it started
# (run-vm.sh stop, by pid file) and deletes the namespace with everything in it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/crates/ubond/tests/golden/iplink/kernel-6.1.json}
KERNEL_VM_DIR=${KERNEL_VM_DIR:-$ROOT/interop/kernel-vm}
RUNVM=$KERNEL_VM_DIR/run-vm.sh
CACHE=${KVM_BOND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kernel-vm-bond}

die() { echo "capture-iplink-goldens.sh: error: $*" >&2; exit 1; }
say() { echo "capture-iplink-goldens.sh: $*"; }

[ "$(id -u)" = 0 ] || die "must run as root (netns, taps)"
for t in ip tc qemu-system-x86_64 python3 base64 ldd gzip; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -x "$RUNVM" ] || die "no $RUNVM (set KERNEL_VM_DIR)"
IPBIN=$(command -v ip)

NS=uil-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/uil-goldens.XXXXXX")
export KVM_BOND_RUN_DIR=$WORK/run
mkdir -p "$KVM_BOND_RUN_DIR" "$(dirname "$OUT")"
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

# --- the guest's initramfs plus iproute2 -----------------------------------------------------------
EXTRA=$WORK/extra
mkdir -p "$EXTRA/usr/local/sbin" "$EXTRA/etc/iproute2"
cp "$IPBIN" "$EXTRA/usr/local/sbin/ip"
ldd "$IPBIN" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
  [ -f "$lib" ] || continue
  mkdir -p "$EXTRA$(dirname "$lib")"
  cp -L "$lib" "$EXTRA$lib"
done
[ -f /etc/iproute2/group ] && cp /etc/iproute2/group "$EXTRA/etc/iproute2/group"
CPIO=(cpio --quiet -o -H newc)
command -v cpio >/dev/null 2>&1 || CPIO=(busybox cpio -o -H newc)
mkdir -p "$WORK/cache"
cp "$CACHE/vmlinuz" "$WORK/cache/vmlinuz"
{ cat "$CACHE/initramfs.gz"; (cd "$EXTRA" && find . -mindepth 1 | LC_ALL=C sort | "${CPIO[@]}" | gzip -9); } \
  > "$WORK/cache/initramfs.gz"
export KVM_BOND_CACHE=$WORK/cache

# --- two guests back to back -----------------------------------------------------------------------
ip netns add "$NS"
ip -n "$NS" link set lo up
IDX=0
for g in a b; do
  IDX=$((IDX + 1))
  GUESTS+=("$g")
  "$RUNVM" start "$g" --netns "$NS" --taps "ui$$-${IDX}a,ui$$-${IDX}b" \
    --macs "52:54:00:0d:0$IDX:00,52:54:00:0d:0$IDX:01" --mode 802.3ad >/dev/null
done
for x in "ui$$-1a:ui$$-2a" "ui$$-2a:ui$$-1a" "ui$$-1b:ui$$-2b" "ui$$-2b:ui$$-1b"; do
  ip netns exec "$NS" tc qdisc add dev "${x%%:*}" ingress
  ip netns exec "$NS" tc filter add dev "${x%%:*}" parent ffff: protocol all u32 match u32 0 0 \
    action mirred egress redirect dev "${x#*:}"
done
for g in a b; do
  "$RUNVM" wait "$g" 'BOND-INIT: (ready|FAILED)' 120 || die "$g did not boot"
done
say "guests up"

# run GUEST WORDS: `ip WORDS` in the guest; prints one JSON record (python3 builds it)
run() {
  local g=$1 words=$2 enc
  enc=$("$RUNVM" exec "$g" "/usr/local/sbin/ip $words >/tmp/o 2>/tmp/e; echo \$? >/tmp/rc; \
    base64 /tmp/o | tr -d '\\n'; echo; base64 /tmp/e | tr -d '\\n'; echo; cat /tmp/rc" | tr -d '\r') \
    || die "$g: exec failed for: ip $words"
  python3 - "$words" "$enc" <<'EOF'
import base64, json, sys
words, enc = sys.argv[1], sys.argv[2].split("\n")
out, err, rc = enc[0], enc[1], enc[2]
print(json.dumps({"words": words, "exit": int(rc),
                  "stdout": base64.b64decode(out).decode(), "stderr": base64.b64decode(err).decode()}))
EOF
}

# The words, in order. The same list is in crates/ubond/tests/iplink.rs (KERNEL_WORDS): change
# both together.
SETUP=(
  "link del bond0"
  "link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4 min_links 1 ad_select bandwidth ad_actor_sys_prio 100"
  "link set eth0 down"
  "link set eth0 master bond0"
  "link set eth1 down"
  "link set eth1 master bond0"
  "link set eth0 type bond_slave queue_id 1"
  "link set bond0 up"
)
for w in "${SETUP[@]}"; do run b "$w" > /dev/null || die "b: $w"; done
run a "link del bond0" > /dev/null  # the bond the guest's init made
say "guest b's bond made"
WORDS=(
  "${SETUP[@]:1}"
  "-d link show bond0"
  "-d -j link show bond0"
  "-d link show eth0"
  "-d -j link show eth0"
  "link set eth0 type bond_slave prio 10"
  "link set bond0 type bond lacp_rate slow"
  "link set bond0 type bond mode active-backup"
  "link set bond0 type bond arp_interval 100"
  "link set bond0 type bond min_links 2147483648"
  "link set bond0 type bond ad_user_port_key 1024"
  "link set bond0 type bond ad_actor_system 01:00:5e:00:00:01"
  "link set bond0 down"
  "link set bond0 type bond lacp_rate slow min_links 2"
  "link set bond0 up"
  "-d -j link show bond0"
  "link set eth1 nomaster"
  "-d -j link show eth1"
  "link add bond1 type bond miimon 100 arp_interval 100"
  "link add bond1 type bond arp_interval 100 ns_ip6_target 2001:db8::254"
  "-d -j link show bond1"
  "link add bond2 type bond mode active-backup arp_interval 200 arp_ip_target 192.0.2.1,192.0.2.2 arp_validate active"
  "link set bond2 type bond arp_ip_target 192.0.2.3"
  "-d link show bond2"
  "link set bond2 type bond updelay 100"
  "link set eth1 master bond2"
  "link set eth1 type bond_slave prio 10"
  "-d link show eth1"
  "link del bond2"
  "link del bond1"
  "link del bond0"
)
{
  printf '{"kernel": %s, "iproute2": %s, "commands": [\n' \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$("$RUNVM" exec a 'uname -r' | tr -d '\r\n')")" \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$("$IPBIN" -V | tr -d '\n')")"
  first=1
  for w in "${WORDS[@]}"; do
    rec=$(run a "$w")
    echo "$rec" >> "$WORK/records"
    [ "$first" = 1 ] || printf ',\n'
    printf '%s' "$rec"
    first=0
    if [ "$w" = "link set bond0 up" ] && [ "$(grep -c '"words": "link set bond0 up"' "$WORK/records")" = 1 ]; then
      # LACP with guest b before the bond is shown.
      end=$(( $(date +%s) + 60 ))
      until "$RUNVM" exec a '/usr/local/sbin/ip -d link show eth1' | grep -q 'ad_actor_oper_port_state 63 '; do
        [ "$(date +%s)" -lt "$end" ] || die "LACP did not converge"
        sleep 1
      done
      sleep 1
    fi
  done
  printf '\n]}\n'
} > "$OUT.tmp"
python3 -m json.tool "$OUT.tmp" > "$OUT"
rm -f "$OUT.tmp"
say "wrote $OUT ($(grep -c '"words"' "$OUT") commands)"
