#!/usr/bin/env bash
# Quantized decoders are held as stored by default (issue 12): a Phi-3-shaped
# model (fused qkv_proj / gate_up_proj) converted to int8 (a kernel) and to
# 2-bit affine groups (no kernel: decoded by row tiles) generates the ids the
# float32-decoded weights (--decode-weights) give, fused matrices included as
# row views; --verbose names how the products run; compare keeps the codes on
# both sides with far less weight memory, its KL within the kernel error;
# a BF16 encoder holds its matrices as stored.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib/tap.sh"

"$TQ" synth "$T/phi" --arch phi3 --shape tiny --dtype F32 -q > /dev/null || { echo "synth failed"; exit 1; }
"$TQ" convert "$T/phi" -o "$T/q8" > /dev/null 2>&1 || { echo "convert int8 failed"; exit 1; }
"$TQ" convert "$T/phi" -o "$T/a2" --bits 2 --scheme affine --granularity group:32 > /dev/null 2>&1 ||
  { echo "convert 2-bit failed"; exit 1; }
echo "1 5 9 17 33 65" > "$T/ids"
for q in q8 a2; do
  "$TQ" generate "$T/$q" --ids "$T/ids" -n 12 --decode-weights --quiet > "$T/$q.dec" 2>&1
  TRUEQ_ISA=decode "$TQ" generate "$T/$q" --ids "$T/ids" -n 12 --verbose --quiet > "$T/$q.keep" 2> "$T/$q.kerr"; rc=$?
  check "$q: kept codes decoded by row tiles give the --decode-weights ids" \
    '[ $rc -eq 0 ] && [ "$(wc -w < "$T/$q.dec")" -eq 18 ] && cmp -s "$T/$q.dec" "$T/$q.keep"'
  [ $rc -eq 0 ] || sed 's/^/# /' "$T/$q.kerr"
  "$TQ" generate "$T/$q" --ids "$T/ids" -n 12 --verbose --quiet > "$T/$q.kern" 2> "$T/$q.verr"
  sed 's/^/# /' "$T/$q.verr"
done
# 2 layers x (q, k, v, o, gate, up, down): the fused parts are row views, counted one each
check "int8 copy --verbose: every kept matrix (fused parts too) runs a kernel" \
  'grep -qE "^trueq generate: ([0-9]+) matrices kept as stored codes: \1 multiplied by a kernel .*, 0 decoded by row tiles$" "$T/q8.verr" &&
   [ "$(sed -nE "s/^trueq generate: ([0-9]+) matrices kept.*/\1/p" "$T/q8.verr")" -ge 14 ]'
check "2-bit affine copy --verbose: no kernel for its codec, decoded by row tiles, named" \
  'grep -qE "^trueq generate: ([0-9]+) matrices kept as stored codes: 0 multiplied by a kernel .*, \1 decoded by row tiles \(no kernel for linear-affine/2/group:32\)$" "$T/a2.verr"'
check "2-bit affine copy: the same ids with TRUEQ_ISA=decode and without (no kernel either way)" 'cmp -s "$T/a2.kern" "$T/a2.keep"'
"$TQ" generate "$T/q8" --ids "$T/ids" -n 2 --decode-weights --keep-quantized > /dev/null 2> "$T/both.err"; rc=$?
check "--decode-weights with --keep-quantized: usage error" '[ $rc -eq 1 ] && grep -q "not both" "$T/both.err"'

# compare: codes kept by default on the quantized side, far less weight memory, KL within the kernel error
"$TQ" compare "$T/phi" "$T/q8" --ids "$T/ids" --decode-weights --json > "$T/cd.json" 2> "$T/cd.err"
"$TQ" compare "$T/phi" "$T/q8" --ids "$T/ids" --json > "$T/ck.json" 2> "$T/ck.err"
check "compare: kept by default (9 stored matrices: fused ones once), less weight memory, KL within 4x + 2e-3" '"$PY" - "$T/ck.json" "$T/cd.json" <<PYEOF
import json, sys
k, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert k["int8_matrices_quant"] == 9 and d["int8_matrices_quant"] == 0, (k, d)
# float32 embeddings dominate this tiny model: the layer matrices and lm_head shrink 4x
assert k["memory_bytes_quant"] < 0.7 * d["memory_bytes_quant"], (k, d)
assert k["kl_mean"] < 4 * d["kl_mean"] + 2e-3, (k, d)
PYEOF'
[ -s "$T/ck.err" ] && sed 's/^/# /' "$T/ck.err"
# encoders: BF16 matrices and word embeddings are held as stored (half the float32 bytes), not widened
"$TQ" synth "$T/bf" --arch bert --shape tiny --dtype F32 -q > /dev/null
"$TQ" synth "$T/bb" --arch bert --shape tiny --dtype BF16 -q > /dev/null
"$TQ" compare "$T/bf" "$T/bb" --json > "$T/enc.json" 2> "$T/enc.err"
check "encoder BF16: matrices held as stored (memory near the stored bytes, no int8), outputs at BF16 rounding" '"$PY" - "$T/enc.json" <<PYEOF
import json, sys
j = json.load(open(sys.argv[1]))
assert j["int8_matrices_quant"] == 0 and j["stored_bytes_quant"] * 2 == j["stored_bytes_orig"], j
assert j["memory_bytes_quant"] < 0.6 * j["memory_bytes_orig"], j
assert j["pooled_cos_min"] > 0.9999, j
PYEOF'
tap_end
