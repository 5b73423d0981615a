#!/usr/bin/env bash
# Reads that cannot crash (issue 14 point 1), through the CLI: inspect, verify,
# spectrum, embed and generate on a weight file that shrinks right after trueq
# maps it (the LD_PRELOAD shim tests/shim/shrink_on_map.c truncates it inside
# the mmap call, keeping the header). Each must fail with exit 2 and a message
# naming the file and the offset where it ends, never die of a signal (SIGBUS
# is exit 135). Then the headers parsed in place (docs/robustness.md, "pinned"):
# safetensors, GGUF (container, llama config, tokenizer arrays), npz and
# PyTorch zip files shrunk to 0 bytes, inside the header, inside the KV area or
# the central directory, under inspect, generate and convert; a convert must
# also leave its output directory absent and nothing beside it.
# Convert's own cases are tests/test_faults.c and faults.sh.
set -u
TQ=${TQ_CLI:-build/trueq}
SHIM=${TQ_BUILD_DIR:-build}/libtq_shrink_on_map.so
[ -f "$SHIM" ] || { echo "skip: $SHIM not built"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails+1)); fi; }
# header bytes of a safetensors file: 8 + the little-endian u64 at 0
hdr() { echo $(( 8 + $(od -An -tu8 -N8 "$1" | tr -d ' ') )); }
# at NAME FILE KEEP OUT CMD...: FILE truncated to KEEP bytes once mapped; exit 2,
# the file and offset KEEP named, OUT (when not "-") absent with nothing beside it
at() {
  local name=$1 f=$2 keep=$3 out=$4; shift 4
  cp "$f" "$f.orig"
  TQ_SHRINK_FILE="$f" TQ_SHRINK_TO=$keep LD_PRELOAD="$SHIM" ASAN_OPTIONS=verify_asan_link_order=0 "$@" \
    >/dev/null 2>"$T/$name.err"
  local rc=$?
  check "$name: exit 2 (got $rc; 135 would be SIGBUS)" "[ $rc -eq 2 ]"
  check "$name: TQ_E_IO naming the file and offset $keep" \
    "grep -q '$(basename "$f"): the file ends at offset $keep, ' '$T/$name.err'"
  if [ "$out" != - ]; then
    check "$name: no output directory, nothing beside it" \
      "[ ! -e '$out' ] && [ -z \"\$(ls -A '$(dirname "$out")' | grep -F '.$(basename "$out").trueq')\" ]"
  fi
  head -1 "$T/$name.err" | sed "s/^/# /"
  mv "$f.orig" "$f"
}
size() { stat -c %s "$1"; }

# shrunk NAME FILE CMD...: run CMD with FILE truncated to its header + 16 bytes once mapped
# (at, above, does the run and the checks)
shrunk() { local name=$1 f=$2; shift 2; at "$name" "$f" $(( $(hdr "$f") + 16 )) - "$@"; }

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

# safetensors: empty, inside the JSON header (a header over the 64 KiB the
# sniffs pin, so the parser's own pin is the one that fails)
"$TQ" synth "$T/big" --arch llama --shape tiny --layers 90 --dim 16 --hidden 32 --heads 2 --vocab 64 >/dev/null 2>&1
B=$T/big/model.safetensors
if [ -f "$B" ] && [ "$(hdr "$B")" -gt 70000 ]; then
  at "safetensors emptied" "$B" 0 - "$TQ" inspect "$B"
  at "safetensors header cut at 70000" "$B" 70000 - "$TQ" inspect "$B"
  at "convert, safetensors header cut" "$B" 70000 "$T/big-q" "$TQ" convert "$T/big" -o "$T/big-q" --bits 4
else
  check "fixture: a safetensors header over 64 KiB ($(hdr "$B" 2>/dev/null) bytes)" false
fi

if [ -f "$S/stories260K.safetensors" ] && [ -f "$S/tok512.bin" ]; then
  "$TQ" convert "$T/s" -o "$T/g" --format gguf --type Q8_0 >/dev/null 2>&1
  G=$T/g/model.gguf
  check "fixture: GGUF of stories260K" "[ -f $G ]"
  # GGUF: the magic, the KV area (tokenizer.ggml.* arrays), past the sniffed
  # head (the parser's read-ahead pin), under inspect and generate (the llama
  # config and the tokenizer arrays are read from the pinned KVs)
  at "GGUF emptied" "$G" 0 - "$TQ" inspect "$G"
  at "GGUF cut inside the magic" "$G" 2 - "$TQ" inspect "$G"
  at "GGUF cut inside the KV area" "$G" 5000 - "$TQ" inspect "$G"
  at "GGUF cut past the sniffed head" "$G" 100000 - "$TQ" inspect "$G"
  at "generate, GGUF cut inside the KV area" "$G" 5000 - "$TQ" generate "$G" --steps 4 --quiet
  at "generate, GGUF cut past the head" "$G" 100000 - "$TQ" generate "$G" --steps 4 --quiet
  mkdir -p "$T/gd" && cp "$G" "$T/gd/"
  at "convert of a GGUF cut inside the KV area" "$T/gd/model.gguf" 5000 "$T/gd-q" "$TQ" convert "$T/gd" -o "$T/gd-q" --bits 4
  # npz: the first local header, inside the central directory, inside the EOCD
  "$TQ" convert "$T/s" -o "$T/n" --format npz --bits 4 >/dev/null 2>&1
  N=$T/n/weights.npz
  check "fixture: npz of stories260K" "[ -f $N ]"
  at "npz emptied" "$N" 0 - "$TQ" inspect "$N"
  at "npz cut inside the central directory" "$N" $(( $(size "$N") - 300 )) - "$TQ" inspect "$N"
  at "npz cut inside the EOCD" "$N" $(( $(size "$N") - 10 )) - "$TQ" inspect "$N"
  at "convert of an npz cut inside the central directory" "$N" $(( $(size "$N") - 300 )) "$T/n-q" \
    "$TQ" convert "$T/n" -o "$T/n-q" --bits 8
else
  echo "skip - GGUF and npz cases: stories260k not found (set TRUEQ_MODELS)"
fi

# PyTorch zip (pytorch_model.bin written by torch.save): data.pkl, the central directory
TPY=$HOME/.cache/trueq/venv-hf/bin/python
if [ -x "$TPY" ] && "$TPY" -c 'import torch; torch.save({"a.weight": torch.arange(40000, dtype=torch.float32).reshape(200, 200), "b": torch.ones(3)}, "'"$T"'/pt.bin")' 2>/dev/null; then
  P=$T/pt.bin
  at "torch zip emptied" "$P" 0 - "$TQ" inspect "$P"
  at "torch zip cut inside data.pkl" "$P" 100 - "$TQ" inspect "$P"
  at "torch zip cut inside the central directory" "$P" $(( $(size "$P") - 150 )) - "$TQ" inspect "$P"
else
  echo "skip - PyTorch zip cases: no torch in $TPY"
fi
[ $fails -eq 0 ]
