#!/usr/bin/env bash
# pytorch_model.bin (issue 11 point 5), end to end: fixtures written by
# torch.save itself (tests/py/torch_bin.py, in the reference venv of
# tests/py/hf_venv.sh): every storage dtype, tied weights, a view at a storage
# offset, an nn.Parameter, a non-tensor value, a sharded index, a
# non-contiguous view, the legacy format, and three malicious checkpoints
# whose pickles run os.system / eval / subprocess.Popen when torch.load opens
# them. Checks: convert .bin -> safetensors gives, bit for bit, what torch.load
# gives (read back by the safetensors library); inspect / verify / spectrum /
# a directory lookup take the .bin; each malicious file is refused naming its
# global and its payload never runs (while torch.load does run it).
set -u
TQ=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
venv=$(bash "$SRC/tests/py/hf_venv.sh" 2>&1); rc=$?
[ $rc -eq 0 ] || { echo "skip: reference venv: $venv"; exit 77; }
PY=$(echo "$venv" | head -1)
"$PY" -c 'import torch, safetensors' 2>/dev/null || { echo "skip: torch or safetensors missing in $PY"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails+1)); fi; }
"$PY" "$SRC/tests/py/torch_bin.py" make "$T" || { echo "not ok - fixtures"; exit 1; }

# ---- a state dict of every dtype, tied, offset view, Parameter
"$TQ" convert "$T/all.bin" -o "$T/st" --exclude '*' >/dev/null 2>"$T/err"; rc=$?
check "convert .bin -> safetensors (nothing quantized) exits 0" '[ $rc -eq 0 ] && [ -f $T/st/model.safetensors ]'
out=$("$PY" "$SRC/tests/py/torch_bin.py" check "$T/all.bin" "$T/st/model.safetensors" 2>&1); rc=$?
check "the safetensors tensors equal torch.load's bit for bit ($out)" '[ $rc -eq 0 ]'
"$TQ" inspect "$T/all.bin" --json > "$T/ins.json"; rc=$?
check "inspect reads the .bin: 17 tensors, the non-tensor value skipped" \
  '[ $rc -eq 0 ] && "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"tensors\"])==17, len(d[\"tensors\"])" $T/ins.json'
"$TQ" convert "$T/all.bin" -o "$T/q8" --bits 8 >/dev/null 2>&1; rc=$?
check "convert .bin with quantization exits 0" '[ $rc -eq 0 ]'
"$TQ" verify "$T/all.bin" "$T/q8" > "$T/verify.txt" 2>&1; rc=$?
check "verify the .bin against its conversion" '[ $rc -eq 0 ] && grep -q "f32" $T/verify.txt'
"$TQ" spectrum "$T/all.bin" > "$T/spec.txt" 2>&1; rc=$?
check "spectrum reads the .bin (analyses mat.weight)" '[ $rc -eq 0 ] && grep "^mat.weight" $T/spec.txt | grep -qv skipped'
mkdir -p "$T/dir" && cp "$T/all.bin" "$T/dir/pytorch_model.bin"
"$TQ" inspect "$T/dir" > "$T/dir.txt" 2>&1; rc=$?
check "a directory with only pytorch_model.bin is opened through it" '[ $rc -eq 0 ] && grep -q "dir/pytorch_model.bin" $T/dir.txt'

# ---- an encoder saved as pytorch_model.bin embeds exactly as its safetensors
"$TQ" synth "$T/enc" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 --seed 3 >/dev/null 2>&1
mkdir -p "$T/encbin" && cp "$T/enc"/* "$T/encbin/" && rm "$T/encbin/model.safetensors"
"$PY" -c 'import sys, torch; from safetensors.torch import load_file; torch.save(load_file(sys.argv[1]), sys.argv[2])' \
  "$T/enc/model.safetensors" "$T/encbin/pytorch_model.bin"
"$TQ" embed "$T/enc" "the cat sat on the mat." --json > "$T/e_st.json" 2>&1
"$TQ" embed "$T/encbin" "the cat sat on the mat." --json > "$T/e_bin.json" 2>"$T/err"; rc=$?
check "embed of the encoder's pytorch_model.bin = embed of its safetensors (all but the model path)" \
  '[ $rc -eq 0 ] && [ "$(sed "s/\"model\":\"[^\"]*\",//" $T/e_st.json)" = "$(sed "s/\"model\":\"[^\"]*\",//" $T/e_bin.json)" ] && grep -q vector $T/e_bin.json'

# ---- sharded index
"$TQ" convert "$T/sharded" -o "$T/sh_st" --exclude '*' >/dev/null 2>&1; rc=$?
check "a sharded pytorch_model.bin.index.json converts" '[ $rc -eq 0 ]'
for s in 1 2; do
  out=$("$PY" - "$T/sharded/pytorch_model-0000$s-of-00002.bin" "$T/sh_st/model.safetensors" <<'PYEOF' 2>&1
import sys, torch
from safetensors.torch import load_file
w, g = torch.load(sys.argv[1]), load_file(sys.argv[2])
assert all(torch.equal(v.view(torch.uint8), g[k].view(torch.uint8)) and v.dtype == g[k].dtype for k, v in w.items())
PYEOF
); rc=$?
  check "shard $s: its tensors are in the output, bit for bit" '[ $rc -eq 0 ]'
done

cp "$T/all.bin" "$T/sharded/pytorch_model-extra.bin"
"$TQ" inspect "$T/sharded" > /dev/null 2>"$T/err"; rc=$?
check "a stray pytorch shard the index does not name is refused" \
  '[ $rc -eq 2 ] && grep -q "stray shard pytorch_model-extra.bin in .* is not named by the index" $T/err'
rm "$T/sharded/pytorch_model-extra.bin"

# ---- refused, each with its message
"$TQ" inspect "$T/noncontig.bin" > /dev/null 2>"$T/err"; rc=$?
check "a non-contiguous view is refused by name (exit 2)" \
  '[ $rc -eq 2 ] && grep -q "tensor \"t\" is a non-contiguous view (stride (1, 4))" $T/err'
"$TQ" inspect "$T/legacy.bin" > /dev/null 2>"$T/err"; rc=$?
check "the legacy format is named with the fix" \
  '[ $rc -eq 2 ] && grep -q "legacy torch.save format (pre-1.6): re-save with torch.save(..., _use_new_zipfile_serialization=True)" $T/err'

# ---- malicious: torch.load runs the payload; trueq refuses it by name and runs nothing
for case in "os_system posix.system" "eval __builtin__.eval" "popen commands.Popen"; do
  name=${case%% *}; glob=${case#* }
  f="$T/evil_$name.bin"; pwn="$T/PWNED_$name"
  cp "$f" "$T/probe.bin"
  "$PY" "$SRC/tests/py/torch_bin.py" load "$T/probe.bin" >/dev/null 2>&1
  check "$name: the fixture is live (torch.load runs its payload)" '[ -e "$pwn" ]'
  rm -f "$pwn"
  for cmd in "inspect $f" "convert $f -o $T/evil_out" "verify $f $f" "spectrum $f"; do
    "$TQ" $cmd > /dev/null 2>"$T/err"; rc=$?
    check "$name: trueq ${cmd%% *} refuses it naming \"$glob\", and nothing ran" \
      '[ $rc -eq 2 ] && grep -q "pickle global \"$glob\" is not allowed" $T/err && [ ! -e "$pwn" ] && [ ! -e $T/evil_out ]'
  done
done
[ $fails -eq 0 ]
