#!/usr/bin/env bash
# The "mlx" codec against mlx itself: tests/py/mlx_codec_ref.py in venv-mlx
# (tests/py/mlx_venv.sh: mlx[cpu] 0.32.4 from PyPI) loads the built
# libtrueq.so through python/trueq/_lib.py and compares codes, scales, biases
# and decodes with mx.quantize / mx.dequantize for every bits x group x dtype.
# Skips (77) when the venv cannot be had, and under the sanitizer build.
set -u
S=${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${TQ_BUILD_DIR:-$S/build}
if [ "${TQ_SANITIZE:-0}" = 1 ]; then echo "SKIP: runs in the plain build (no sanitizer runtime in python3)"; exit 77; fi
py=$(bash "$S/tests/py/mlx_venv.sh") || { echo "SKIP: no mlx venv"; exit 77; }
lib=$(ls "$B"/libtrueq.so* 2>/dev/null | head -1)
[ -n "$lib" ] || { echo "not ok - $B has no libtrueq.so"; exit 1; }
TRUEQ_LIBRARY="$lib" PYTHONPATH="$S/python" "$py" "$S/tests/py/mlx_codec_ref.py"
