#!/usr/bin/env bash
# test-deb.sh DEB - the package installs into a clean root and puts its files where Debian
# policy expects them; then it is removed and purged without leftovers.
#
# dpkg --root on an empty directory (with an empty dpkg database) unpacks and configures the
# package; its maintainer scripts run without chroot (--force-script-chrootless, DPKG_ROOT set),
# as for a bootstrap, so the root needs no shell of its own. Dependencies (libc6) are not in
# that root: --force-depends. Needs root (dpkg). Nothing of the host is touched, except that on
# a host running systemd the postinst's `systemctl daemon-reload` (guarded by
# /run/systemd/system, not by DPKG_ROOT) reloads the host's manager, which is harmless.
set -euo pipefail
deb=${1:?usage: test-deb.sh DEB}
root=$(mktemp -d "${TMPDIR:-/tmp}/ubond-deb-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
fail() { echo "test-deb.sh: FAILED: $*" >&2; exit 1; }

# --- what the package holds ---------------------------------------------------------------
listing=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
# The units: the daemon's, and the one that brings the boot bonds up.
units=()
for name in ubond.service ubond-up.service; do
  unit=
  for dir in /usr/lib/systemd/system /lib/systemd/system; do
    grep -qx "$dir/$name" <<<"$listing" && unit=$dir/$name
  done
  [ -n "$unit" ] || fail "no $name under /usr/lib/systemd/system or /lib/systemd/system"
  units+=("$unit")
done
expected=(
  /usr/sbin/ubond
  /usr/share/man/man8/ubond.8.gz
  /usr/share/man/man8/ubond-daemon.8.gz
  /usr/share/man/man8/ubond-doctor.8.gz
  /usr/share/man/man8/ubond-config-lint.8.gz
  /usr/share/bash-completion/completions/ubond
  /usr/share/zsh/vendor-completions/_ubond
  /usr/share/fish/vendor_completions.d/ubond.fish
  /usr/share/doc/ubond/copyright
  /usr/share/doc/ubond/changelog.Debian.gz
  "${units[@]}"
)
for f in "${expected[@]}"; do
  grep -qx "$f" <<<"$listing" || fail "$f is not in the package"
done
# Nothing outside the FHS places a package may use.
if grep -vE '^/(usr/(sbin|bin|share|lib)|lib/systemd|etc)(/|$)|^/$|^/usr/$|^/lib/$' <<<"$listing" | grep -q .; then
  fail "files outside /usr, /lib/systemd, /etc: $(grep -vE '^/(usr|lib/systemd|etc)' <<<"$listing" | tr '\n' ' ')"
fi
pages=$(grep -c '^/usr/share/man/man8/ubond.*\.8\.gz$' <<<"$listing")
subcommands=$("$(dirname "$0")/../target/release/ubond" --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f && $1 != "help" { n++ } END { print n }')
[ "$pages" -gt "$subcommands" ] || fail "$pages man pages for $subcommands subcommands (+ ubond.8)"

# --- install into a clean root, run, remove ---------------------------------------------
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
: > "$root/var/lib/dpkg/status"
: > "$root/var/lib/dpkg/available"
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null -i "$deb" \
  >"$root/dpkg.out" 2>&1 || { cat "$root/dpkg.out" >&2; fail "dpkg -i into $root"; }
dpkg --root="$root" -s ubond | grep -q '^Status: install ok installed' || fail "not installed"
for f in "${expected[@]}"; do
  [ -e "$root$f" ] || fail "$f missing after dpkg -i"
done
[ "$(stat -c %a "$root/usr/sbin/ubond")" = 755 ] || fail "/usr/sbin/ubond is not 0755"
"$root/usr/sbin/ubond" --version | grep -q '^ubond ' || fail "the installed binary does not run"
zcat "$root/usr/share/man/man8/ubond-doctor.8.gz" | grep -q '^\.TH ubond-doctor 8' || fail "ubond-doctor.8 is not a section 8 page"
grep -q '^ExecStart=/usr/sbin/ubond daemon$' "$root${units[0]}" || fail "ubond.service does not start /usr/sbin/ubond daemon"
grep -q '^ExecStart=/usr/sbin/ubond up$' "$root${units[1]}" || fail "ubond-up.service does not run /usr/sbin/ubond up"
# The units are valid as systemd reads them (their binary resolved in the root). Offline:
# verify loads the units into a manager of its own, without the host's. CI has systemd-analyze
# (package systemd); elsewhere its absence is said.
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify --man=no --root="$root" "${units[@]}" >"$root/verify.out" 2>&1 \
    || { cat "$root/verify.out" >&2; fail "systemd-analyze verify ${units[*]}"; }
  rm -f "$root/verify.out"
elif [ -n "${CI:-}" ]; then
  fail "CI must have systemd-analyze (apt-get install systemd)"
else
  echo "test-deb.sh: skipped systemd-analyze verify: not installed (apt-get install systemd)" >&2
fi
# The maintainer scripts enabled both units (deb-systemd-helper, honouring DPKG_ROOT).
for name in ubond.service ubond-up.service; do
  [ -L "$root/etc/systemd/system/multi-user.target.wants/$name" ] \
    || fail "$name was not enabled by the maintainer scripts"
done
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null --purge ubond \
  >"$root/dpkg.out" 2>&1 || { cat "$root/dpkg.out" >&2; fail "dpkg --purge"; }
rm -f "$root/dpkg.out"
left=$(cd "$root" && find . -path ./var -prune -o \( -type f -o -type l \) -print)
[ -z "$left" ] || fail "left behind after purge: $left"
echo "test-deb.sh: $(basename "$deb"): ${#expected[@]} files in place, installed, ran, purged: ok"
