#!/usr/bin/env bash
# Reads that cannot crash (issue 14 point 1), through the CLI: inspect, verify,
# spectrum, embed and generate on a weight file that shrinks right after trueq
# maps it (the LD_PRELOAD shim tests/shim/shrink_on_map.c truncates it inside
# the mmap call, keeping the header). Each must fail with exit 2 and a message
# naming the file and the offset where it ends, never die of a signal (SIGBUS
# is exit 135). Convert's own cases are tests/test_faults.c and faults.sh.
set -u
TQ=${TQ_CLI:-build/trueq}
SHIM=${TQ_BUILD_DIR:-build}/libtq_shrink_on_map.so
[ -f "$SHIM" ] || { echo "skip: $SHIM not built"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails+1)); fi; }
# header bytes of a safetensors file: 8 + the little-endian u64 at 0
hdr() { echo $(( 8 + $(od -An -tu8 -N8 "$1" | tr -d ' ') )); }
# shrunk NAME FILE CMD...: run CMD with FILE truncated to its header + 16 bytes once mapped
shrunk() {
  local name=$1 f=$2; shift 2
  local keep=$(( $(hdr "$f") + 16 ))
  cp "$f" "$f.orig"
  TQ_SHRINK_FILE="$f" TQ_SHRINK_TO=$keep LD_PRELOAD="$SHIM" ASAN_OPTIONS=verify_asan_link_order=0 "$@" \
    >/dev/null 2>"$T/$name.err"
  local rc=$?
  check "$name: exit 2 (got $rc; 135 would be SIGBUS)" "[ $rc -eq 2 ]"
  check "$name: TQ_E_IO naming the file and the offset" \
    "grep -q '$(basename "$f"): the file ends at offset $keep, ' '$T/$name.err'"
  cat "$T/$name.err" | head -2 | sed "s/^/# /"
  mv "$f.orig" "$f"
}

"$TQ" synth "$T/m" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 --seed 3 >/dev/null 2>&1
"$TQ" convert "$T/m" -o "$T/q" --bits 4 >/dev/null 2>&1
check "fixtures" '[ -f $T/m/model.safetensors ] && [ -f $T/q/model.safetensors ]'

# inspect's value scans (src/inspect/ledger.c) read with pread too
shrunk "inspect" "$T/m/model.safetensors" "$TQ" inspect "$T/m"
shrunk "inspect of a quantized model" "$T/q/model.safetensors" "$TQ" inspect "$T/q"
shrunk "verify, the original shrinks" "$T/m/model.safetensors" "$TQ" verify "$T/m" "$T/q"
shrunk "verify, the quantized shrinks" "$T/q/model.safetensors" "$TQ" verify "$T/m" "$T/q"
shrunk "spectrum" "$T/m/model.safetensors" "$TQ" spectrum "$T/m"
shrunk "embed" "$T/m/model.safetensors" "$TQ" embed "$T/m" "the cat sat"
shrunk "embed of a quantized model" "$T/q/model.safetensors" "$TQ" embed "$T/q" "the cat sat"

S=${TRUEQ_MODELS:-${TQ_SOURCE_DIR:-.}/../shared/models}/stories260k
if [ -f "$S/stories260K.safetensors" ] && [ -f "$S/tok512.bin" ]; then
  mkdir -p "$T/s" && cp "$S"/* "$T/s/" 2>/dev/null
  shrunk "generate" "$T/s/stories260K.safetensors" "$TQ" generate "$T/s" --steps 4 --quiet
else
  echo "skip - generate: stories260k not found (set TRUEQ_MODELS)"
fi
[ $fails -eq 0 ]
