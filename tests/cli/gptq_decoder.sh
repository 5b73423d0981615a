#!/usr/bin/env bash
# Calibrated quantization of decoders (convert --method gptq | awq | awq-gptq on
# a Llama-family model; src/quant/calibrate_dec.c, docs/quality.md):
#   - stories260k at 4 bits (linear-affine group:32 --pad) and 3 bits (mlx
#     group:32, the FFN down kept: 172 columns have no mlx group): GPTQ's mean
#     KL against the float model is below RTN's, with files of the same size
#     and layout; awq-gptq's bytes are the same for 1 and 3 threads; at 8 bits
#     AWQ's KL stays within 2x RTN's (its folds are exact: a wrong fold would
#     show as a large KL);
#   - synthetic tiny Llama (GQA), Qwen2 (q/k/v biases) and Phi-3 (fused
#     qkv_proj / gate_up_proj): GPTQ's KL below RTN's; AWQ at 8 bits close to
#     RTN's; the folded RMSNorm gains are written (they differ from the input's);
#   - errors: F16 weights, no tokenizer, a codec without a grid, a missing
#     calibration file: named.
set -u
TQ=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
. "$SRC/tests/cli/lib/stories.sh"   # sets M, or skips
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$SRC/tests/cli/lib/tap.sh"
ST="$M/stories260K.safetensors"
kl() { "$TQ" compare "$1" "$2" --json > "$T/cmp.json" 2>/dev/null && jget "$T/cmp.json" "d['kl_mean']"; }
lt() { $PY -c "import sys; sys.exit(0 if float('$1') < float('$2') else 1)"; }
within2() { $PY -c "import sys; sys.exit(0 if float('$1') <= 2 * float('$2') + 1e-6 else 1)"; }
layout() { "$TQ" inspect "$1" --json | $PY -c "import json,sys; d=json.load(sys.stdin); [print(t['name'], t.get('dtype'), t.get('shape')) for t in d['tensors']]"; }

# ---- stories260k ------------------------------------------------------------------
Q4="--scheme affine --bits 4 --granularity group:32 --pad"
Q3="--codec mlx --bits 3 --granularity group:32 --exclude layers.*.feed_forward.w2.weight"
for b in 4 3; do
  eval "Q=\$Q$b"
  "$TQ" convert "$ST" -o "$T/r$b" $Q > /dev/null 2>&1
  "$TQ" convert "$ST" -o "$T/g$b" $Q --method gptq > /dev/null 2> "$T/g$b.err"; rc=$?
  check "stories260k $b-bit gptq: converts, notes the 188 built-in texts and the matrices" \
    '[ $rc -eq 0 ] && grep -q "calibration: 188 texts (.* tokens with BOS 1), built-in set, $([ $b = 4 ] && echo 35 || echo 30) matrices" $T/g$b.err'
  kr=$(kl "$ST" "$T/r$b/model.safetensors"); kg=$(kl "$ST" "$T/g$b/model.safetensors")
  echo "# stories260k $b-bit: KL rtn $kr, gptq $kg"
  check "stories260k $b-bit: gptq KL ($kg) < rtn KL ($kr)" 'lt "$kg" "$kr"'
  check "stories260k $b-bit: the same file size and layout as rtn" \
    '[ "$(size $T/r$b/model.safetensors)" = "$(size $T/g$b/model.safetensors)" ] && [ "$(layout $T/r$b/model.safetensors)" = "$(layout $T/g$b/model.safetensors)" ]'
done
"$TQ" convert "$ST" -o "$T/t1" $Q4 --method awq-gptq -j 1 > /dev/null 2>&1
TRUEQ_THREADS=3 "$TQ" convert "$ST" -o "$T/t3" $Q4 --method awq-gptq -j 3 > /dev/null 2>&1
check "stories260k awq-gptq: the same bytes with 1 and 3 threads" 'cmp -s $T/t1/model.safetensors $T/t3/model.safetensors'
Q8="--scheme affine --bits 8 --granularity group:32 --pad"
"$TQ" convert "$ST" -o "$T/r8" $Q8 > /dev/null 2>&1
"$TQ" convert "$ST" -o "$T/a8" $Q8 --method awq > /dev/null 2>&1
kr=$(kl "$ST" "$T/r8/model.safetensors"); ka=$(kl "$ST" "$T/a8/model.safetensors")
check "stories260k 8-bit awq: KL $ka within 2x rtn's $kr (exact folds)" 'within2 "$ka" "$kr"'

# ---- synthetic decoders -------------------------------------------------------------
for a in llama qwen2 phi3; do
  "$TQ" synth "$T/s_$a" --arch $a --shape tiny --vocab 512 -q > /dev/null 2>&1
  cp "$M/tok512.bin" "$T/s_$a/"
  QS="--scheme affine --bits 4 --granularity group:32"
  "$TQ" convert "$T/s_$a" -o "$T/s_${a}_r" $QS > /dev/null 2>&1
  "$TQ" convert "$T/s_$a" -o "$T/s_${a}_g" $QS --method gptq > /dev/null 2>&1; rc=$?
  kr=$(kl "$T/s_$a" "$T/s_${a}_r"); kg=$(kl "$T/s_$a" "$T/s_${a}_g")
  check "synthetic $a 4-bit: gptq converts, KL $kg < rtn's $kr" '[ $rc -eq 0 ] && lt "$kg" "$kr"'
  "$TQ" convert "$T/s_$a" -o "$T/s_${a}_r8" $Q8 > /dev/null 2>&1
  "$TQ" convert "$T/s_$a" -o "$T/s_${a}_a8" $Q8 --method awq > /dev/null 2>&1
  kr=$(kl "$T/s_$a" "$T/s_${a}_r8"); ka=$(kl "$T/s_$a" "$T/s_${a}_a8")
  check "synthetic $a 8-bit awq: KL $ka within 2x rtn's $kr (exact folds)" 'within2 "$ka" "$kr"'
done
# the folded gains are written: layer 1's attention norm differs from the input's
gain() { $PY - "$1" <<'PYEOF'
import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n))
e = h["model.layers.1.input_layernorm.weight"]; f.seek(8 + n + e["data_offsets"][0])
print(f.read(e["data_offsets"][1] - e["data_offsets"][0]).hex())
PYEOF
}
check "synthetic llama awq: the folded RMSNorm gain is written" \
  '[ -n "$(gain $T/s_llama_a8/model.safetensors)" ] && [ "$(gain $T/s_llama_a8/model.safetensors)" != "$(gain $T/s_llama/model.safetensors)" ]'
check "synthetic llama rtn: the gain is the input's" '[ "$(gain $T/s_llama_r8/model.safetensors)" = "$(gain $T/s_llama/model.safetensors)" ]'

# ---- errors ----------------------------------------------------------------------------
"$TQ" synth "$T/h" --arch llama --shape tiny --vocab 512 --dtype F16 -q > /dev/null 2>&1; cp "$M/tok512.bin" "$T/h/"
"$TQ" convert "$T/h" -o "$T/x" $Q4 --method gptq > /dev/null 2> "$T/err"; rc=$?
check "F16 decoder: refused, the tensor named" '[ $rc -ne 0 ] && grep -q "tensor \"model.layers.0.self_attn.q_proj.weight\": the decoder holds it as stored" $T/err && [ ! -e $T/x ]'
"$TQ" synth "$T/n" --arch llama --shape tiny --vocab 512 -q > /dev/null 2>&1
"$TQ" convert "$T/n" -o "$T/x" $Q4 --method gptq > /dev/null 2> "$T/err"; rc=$?
check "no tokenizer: named" '[ $rc -ne 0 ] && grep -q "calibration tokenizer" $T/err && [ ! -e $T/x ]'
"$TQ" convert "$ST" -o "$T/x" --codec nf4 --granularity group:32 --pad --method gptq > /dev/null 2> "$T/err"; rc=$?
check "a codec without a grid: named" '[ $rc -ne 0 ] && grep -q "calibrated quantization needs linear-sym, linear-affine or mlx" $T/err && [ ! -e $T/x ]'
"$TQ" convert "$ST" -o "$T/x" $Q4 --method awq --calib "$T/none.txt" > /dev/null 2> "$T/err"; rc=$?
check "a missing calibration file: named" '[ $rc -ne 0 ] && grep -q "none.txt: cannot open the calibration file" $T/err && [ ! -e $T/x ]'
"$TQ" convert "$ST" -o "$T/none" $Q4 --method gptq --exclude 'layers.*' > /dev/null 2> "$T/err"; rc=$?
check "no block matrix quantized: converts, says so" '[ $rc -eq 0 ] && grep -q "the plan quantizes no decoder block matrix" $T/err'
tap_end
