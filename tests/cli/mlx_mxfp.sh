#!/usr/bin/env bash
# MLX's mxfp4 / mxfp8 modes against mlx itself: tests/py/mlx_mxfp.py in
# venv-mlx (tests/py/mlx_venv.sh: mlx[cpu] 0.32.4, mlx-lm 0.32.2): files made
# by mx.quantize + mx.save_safetensors (with and without config.json) and by
# mlx_lm.convert --q-mode, and every element code under every exponent:
# inspect's codec, bits, group, bits per weight and bytes; decode equal to
# mx.dequantize bit for bit, and refused by name where mlx's own decode is not
# finite. Skips (77) when the venv cannot be had, and under the sanitizer build.
set -u
. "${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/cli/lib/pylib.sh"   # S, B, lib; skips under sanitizers
py=$(bash "$S/tests/py/mlx_venv.sh") || { echo "SKIP: no mlx venv"; exit 77; }
W=$(mktemp -d "${TMPDIR:-/tmp}/trueq-mlx-mxfp.XXXXXX")
trap 'rm -rf "$W"' EXIT
TRUEQ_LIBRARY="$lib" PYTHONPATH="$S/python" "$py" "$S/tests/py/mlx_mxfp.py" "$B/trueq" "$W"
