#!/usr/bin/env bash
# trueq's MLX output and reader against mlx and mlx_lm themselves:
# tests/py/mlx_client.py in venv-mlx (tests/py/mlx_venv.sh: mlx[cpu] 0.32.4,
# mlx-lm 0.32.2): mlx-made files read by trueq (inspect's bits per weight and
# bytes, decode == mx.dequantize), `convert --format mlx` read by mx.load and
# mlx_lm (decode equal, 64 greedy tokens equal `trueq generate`'s on the same
# directory), and an encoder loaded into an mlx.nn-quantized BERT (embeddings
# within 1e-4 of `trueq embed`). Skips (77) when the venv cannot be had or
# stories260k is absent, and under the sanitizer build.
set -u
S=${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${TQ_BUILD_DIR:-$S/build}
if [ "${TQ_SANITIZE:-0}" = 1 ]; then echo "SKIP: runs in the plain build (no sanitizer runtime in python3)"; exit 77; fi
M=${TRUEQ_MODELS:-/work/shared/models}/stories260k
[ -f "$M/stories260K.safetensors" ] || { echo "SKIP: no stories260k under ${TRUEQ_MODELS:-/work/shared/models}"; exit 77; }
py=$(bash "$S/tests/py/mlx_venv.sh") || { echo "SKIP: no mlx venv"; exit 77; }
lib=$(ls "$B"/libtrueq.so* 2>/dev/null | head -1)
[ -n "$lib" ] || { echo "not ok - $B has no libtrueq.so"; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/trueq-mlx-client.XXXXXX")
trap 'rm -rf "$W"' EXIT
TRUEQ_LIBRARY="$lib" PYTHONPATH="$S/python" "$py" "$S/tests/py/mlx_client.py" "$B/trueq" "$W" "$M"
