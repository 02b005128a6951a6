# tools/lib/kernel-guests.sh - what the capture recipes that read the REAL Linux bonding driver
# (Debian's 6.1 kernel in QEMU guests, interop/kernel-vm) share: finding run-vm.sh, a private
# namespace for the guests' taps, starting and waiting for guests, reading
# /proc/net/bonding/bond0 out of a guest byte for byte, and tc-mirred "cables" between taps.
#
# Sourced (not run) by tools/capture-proc-goldens.sh and tools/capture-doctor-fixtures.sh after
# they set:
#   ROOT       the repository's root
#   OUT        the output folder
#   GUEST_NS   the namespace's prefix (the namespace is GUEST_NS-<pid>)
#   GUEST_TAG  a word for the work folder's name (ubr-GUEST_TAG.XXXXXX)
# Environment: KERNEL_VM_DIR (default interop/kernel-vm in this checkout), KEEP=1 keeps the work
# folder. On exit (also on failure) only the guests started here are stopped (run-vm.sh stop, by
# pid file) and the namespace is deleted with everything in it.

if [ -z "${KERNEL_VM_DIR:-}" ]; then
  if [ -x "$ROOT/interop/kernel-vm/run-vm.sh" ]; then KERNEL_VM_DIR=$ROOT/interop/kernel-vm
  else echo "$(basename "$0"): set KERNEL_VM_DIR to the kernel-vm folder (the one with run-vm.sh)" >&2; exit 1; fi
fi
RUNVM=$KERNEL_VM_DIR/run-vm.sh

T_START=$(date +%s.%N)
say() { printf '[%6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T_START" 'BEGIN { print a - b }')" "$*"; }
die() { echo "$(basename "$0"): error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (netns, taps)"
for t in ip tc qemu-system-x86_64 python3 base64 awk; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -x "$RUNVM" ] || die "no $RUNVM (set KERNEL_VM_DIR)"

NS=$GUEST_NS-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ubr-$GUEST_TAG.XXXXXX")
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
