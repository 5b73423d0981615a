#!/usr/bin/env bash
# convert's row-streamed path (src/convert/rowstream.c: 1 MiB row chunks, the
# next one read while this one is quantized, entries written by a task of the
# next pool run; execute.c write_chunked, gguf_export.c) gives the same bytes
# as the whole-tensor path (TRUEQ_CONVERT_WHOLE=1) and as itself at 1 and 2
# threads: an embedding of 3001 rows x 384 (4.6 MB: 5 chunks of 682 rows, the
# last one short), per-row int8, group-wise 4-bit and affine; and the GGUF
# writer's Q8_0 / Q4_K / Q6_K output of the same model.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
"$TQ" synth "$T/m" --layers 1 --dim 384 --hidden 1536 --heads 4 --vocab 3001 >/dev/null 2>&1 || { echo "not ok - synth"; exit 1; }
# same FILE ARGS...: streamed (2 threads) = whole-tensor = streamed at 1 thread, FILE of each output
same() {
  local f=$1; shift
  "$TQ" convert "$T/m" -o "$T/c" "$@" >/dev/null 2>&1 &&
  TRUEQ_CONVERT_WHOLE=1 "$TQ" convert "$T/m" -o "$T/w" "$@" >/dev/null 2>&1 &&
  "$TQ" convert "$T/m" -o "$T/c1" "$@" --threads 1 >/dev/null 2>&1 || { echo "not ok - convert $*"; fails=$((fails+1)); return; }
  if cmp -s "$T/c/$f" "$T/w/$f" && cmp -s "$T/c/$f" "$T/c1/$f"; then
    echo "ok - $*: streamed = whole-tensor = 1 thread"
  else
    echo "not ok - $*: bytes differ"; fails=$((fails+1))
  fi
  rm -rf "$T/c" "$T/w" "$T/c1"
}
for a in "--bits 8" "--bits 4 --granularity group:64" "--bits 8 --scheme affine" "--bits 4"; do
  same model.safetensors $a --quantize-embeddings
done
same model.safetensors --bits 8   # the embedding kept: copied in pieces beside the quantization
for t in Q8_0 Q4_K Q6_K; do same model.gguf --format gguf --type $t; done
# a NaN in a later chunk of a streamed tensor (row 2900: the fifth chunk): the same message (flat index, row, column) as the
# whole-tensor path, and with --allow-nonfinite the same bytes
/usr/bin/python3 - "$T/nan.safetensors" <<'PY'
import json, struct, sys
rows, cols = 3001, 384
vals = [((i * 2654435761) % 1000 - 500) / 1000.0 for i in range(rows * cols)]
vals[2900 * cols + 5] = float("nan")
hdr = json.dumps({"layer.weight": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, 4 * rows * cols]}}).encode()
hdr += b" " * (-len(hdr) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(hdr)) + hdr + struct.pack("<%df" % len(vals), *vals))
PY
"$TQ" convert "$T/nan.safetensors" -o "$T/nc" --bits 8 > /dev/null 2> "$T/ec"; rc1=$?
TRUEQ_CONVERT_WHOLE=1 "$TQ" convert "$T/nan.safetensors" -o "$T/nw" --bits 8 > /dev/null 2> "$T/ew"; rc2=$?
if [ $rc1 -ne 0 ] && [ $rc1 -eq $rc2 ] && grep -q "flat index $((2900 * 384 + 5)) (row 2900, column 5)" "$T/ec" && cmp -s "$T/ec" "$T/ew" && [ ! -e "$T/nc" ]; then
  echo "ok - NaN in a later chunk: the whole-tensor message, nothing written"
else
  echo "not ok - NaN in a later chunk (rc $rc1/$rc2): $(cat "$T/ec")"; fails=$((fails+1))
fi
"$TQ" convert "$T/nan.safetensors" -o "$T/ac" --bits 8 --allow-nonfinite > /dev/null 2>&1 &&
TRUEQ_CONVERT_WHOLE=1 "$TQ" convert "$T/nan.safetensors" -o "$T/aw" --bits 8 --allow-nonfinite > /dev/null 2>&1 &&
cmp -s "$T/ac/model.safetensors" "$T/aw/model.safetensors" && echo "ok - --allow-nonfinite: same bytes" ||
  { echo "not ok - --allow-nonfinite differs"; fails=$((fails+1)); }
[ $fails -eq 0 ] && echo "all passed"
exit $fails
