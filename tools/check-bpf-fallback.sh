#!/usr/bin/env bash
# check-bpf-fallback.sh - the fast path's build without clang, and its rebuild once clang appears
# (crates/ubond-sys/build.rs), as a user meets them:
#   1. no clang on the PATH: the committed object is used, the programs are built in;
#   2. no clang and an edited source: no programs, and cargo warns;
#   3. clang appears on the PATH: a plain `cargo build` runs the build script again and the
#      programs are built in.
# Checks ubond-sys in its own target directory (target/bpf-fallback-check) with a PATH holding
# only cc/ld (and, in step 3, clang); the source edit is undone on exit, also on failure.
# `cargo check` runs the build script exactly as `cargo build` does (same environment, same
# rerun rules), without generating the dependencies' code: 31 s instead of 43 s here.
set -euo pipefail
cd "$(dirname "$0")/.."
src=crates/ubond-sys/bpf/datapath.bpf.c
export CARGO_TARGET_DIR=$PWD/target/bpf-fallback-check
# Step 3 compiles an edited source on purpose: it differs from the committed object.
unset UBOND_BPF_CHECK UBOND_BPF_UPDATE
bin=$(mktemp -d "${TMPDIR:-/tmp}/bpf-fallback-path.XXXXXX")
cp "$src" "$bin/source.orig"
trap 'cp "$bin/source.orig" "$src"; rm -rf "$bin"' EXIT
for t in cc ld; do ln -s "$(command -v $t)" "$bin/$t"; done
cargo_dir=$(dirname "$(command -v cargo)")
clang=$(command -v clang)
fail() { echo "check-bpf-fallback.sh: FAILED: $*" >&2; exit 1; }
built_in() { # the cfg the last build-script run printed
  local out
  out=$(ls -td "$CARGO_TARGET_DIR"/debug/build/ubond-sys-*/output | head -n 1)
  grep -qx 'cargo::rustc-cfg=ubond_bpf' "$out"
}
build() { PATH="$bin:$cargo_dir" cargo check -p ubond-sys --locked 2>&1; }

build >/dev/null
built_in || fail "without clang, the committed object was not used"
echo "1. no clang: the committed object is built in"

echo "/* an edit */" >> "$src"
# (The output whole first: `grep -q` leaving a pipe early would break cargo's last writes.)
said=$(build)
grep -q "building without the BPF fast path" <<<"$said" || fail "no warning for an edited source: $said"
built_in && fail "an edited source without clang still claims the programs"
echo "2. no clang, edited source: built without the programs, with a warning"

sleep 1   # a new entry in a PATH directory, newer than the last build
ln -s "$clang" "$bin/clang"
build >/dev/null
built_in || fail "clang appeared on the PATH, but the build script did not compile the programs"
echo "3. clang appeared: the build script compiled the programs"
