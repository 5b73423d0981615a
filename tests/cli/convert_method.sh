#!/usr/bin/env bash
# convert --method: rtn is the default and byte-identical to no option; search and hqq write
# the same format (same header, same size) with other scales/codes, the same bytes on any
# thread count; codecs without a searched quantizer and --format gguf refuse it.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/tap.sh"   # ok, bad, check, size, jget, tap_end
hdr()  { $PY -c "import sys,struct; b=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',b[:8])[0]; sys.stdout.buffer.write(b[:8+n])" "$1"; }

"$TQ" synth "$T/m" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 2>/dev/null
Q=(--scheme affine --bits 4 --granularity group:32)
"$TQ" convert "$T/m" -o "$T/def" "${Q[@]}" >/dev/null 2>&1
"$TQ" convert "$T/m" -o "$T/rtn" "${Q[@]}" --method rtn >/dev/null 2>&1
check "--method rtn is the default: the same bytes" 'cmp -s $T/def/model.safetensors $T/rtn/model.safetensors'
for m in search hqq; do
  "$TQ" convert "$T/m" -o "$T/$m" "${Q[@]}" --method $m --threads 1 >/dev/null 2>&1; rc=$?
  "$TQ" convert "$T/m" -o "$T/${m}2" "${Q[@]}" --method $m --threads 2 >/dev/null 2>&1
  check "$m: exit 0, the same header and size as rtn, other bytes" \
    '[ $rc -eq 0 ] && cmp -s <(hdr $T/rtn/model.safetensors) <(hdr $T/$m/model.safetensors) && ! cmp -s $T/rtn/model.safetensors $T/$m/model.safetensors'
  check "$m: the same bytes on 1 and 2 threads" 'cmp -s $T/$m/model.safetensors $T/${m}2/model.safetensors'
done
"$TQ" convert "$T/m" -o "$T/nf4" --codec nf4 --method search > /dev/null 2> "$T/err.txt"; rc=$?
check "nf4 --method search: refused naming the codec, nothing written" \
  '[ $rc -ne 0 ] && grep -q "codec nf4 has no search quantizer" $T/err.txt && [ ! -e $T/nf4/model.safetensors ]'
"$TQ" convert "$T/m" -o "$T/g" --format gguf --method search > /dev/null 2> "$T/err.txt"; rc=$?
check "--format gguf --method: refused" '[ $rc -eq 1 ] && grep -q -- "--method does not apply to --format gguf" $T/err.txt'
"$TQ" convert "$T/m" -o "$T/x" --method nearest > /dev/null 2> "$T/err.txt"; rc=$?
check "an unknown method: usage error listing the methods" '[ $rc -eq 1 ] && grep -q "rtn, search, hqq" $T/err.txt'
tap_end
