#!/usr/bin/env bash
# convert's row-chunked path (src/convert/execute.c, write_chunked) gives the
# same bytes as the whole-tensor path (TRUEQ_CONVERT_WHOLE=1) and as itself at
# 1 and 2 threads: an embedding of 3001 rows x 384 (4.6 MB, over the 4 MiB
# chunk; 3001 rows is no multiple of the 2730-row step, so the last chunk is
# short), per-row int8, group-wise 4-bit and affine.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
"$TQ" synth "$T/m" --layers 1 --dim 384 --hidden 1536 --heads 4 --vocab 3001 >/dev/null 2>&1 || { echo "not ok - synth"; exit 1; }
for a in "--bits 8" "--bits 4 --granularity group:64" "--bits 8 --scheme affine" "--bits 4"; do
  "$TQ" convert "$T/m" -o "$T/c" $a --quantize-embeddings >/dev/null 2>&1 &&
  TRUEQ_CONVERT_WHOLE=1 "$TQ" convert "$T/m" -o "$T/w" $a --quantize-embeddings >/dev/null 2>&1 &&
  "$TQ" convert "$T/m" -o "$T/c1" $a --quantize-embeddings --threads 1 >/dev/null 2>&1 || { echo "not ok - convert $a"; fails=$((fails+1)); continue; }
  if cmp -s "$T/c/model.safetensors" "$T/w/model.safetensors" && cmp -s "$T/c/model.safetensors" "$T/c1/model.safetensors"; then
    echo "ok - $a: chunked = whole-tensor = 1 thread"
  else
    echo "not ok - $a: bytes differ"; fails=$((fails+1))
  fi
  rm -rf "$T/c" "$T/w" "$T/c1"
done
[ $fails -eq 0 ] && echo "all passed"
exit $fails
