#!/usr/bin/env bash
# safetensors from every writer (issue #11.4): mx.save_safetensors (writes
# "__metadata__": null), safetensors.numpy / .torch, transformers
# save_pretrained (BF16, sharded, tied embedding stored once), made in the
# venvs by tests/py/st_writers.py and read back by trueq value for value.
# Skips (77) when neither venv can be had; a writer whose venv is missing is
# left out (its fixtures are not made) with a message.
set -u
S=${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${TQ_BUILD_DIR:-$S/build}
if [ "${TQ_SANITIZE:-0}" = 1 ]; then echo "SKIP: runs in the plain build (no sanitizer runtime in python3)"; exit 77; fi
lib=$(ls "$B"/libtrueq.so* 2>/dev/null | head -1)
[ -n "$lib" ] || { echo "not ok - $B has no libtrueq.so"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mpy=$(bash "$S/tests/py/mlx_venv.sh") || { echo "SKIP: no mlx venv (the reader side runs there)"; exit 77; }
"$mpy" "$S/tests/py/st_writers.py" make-mlx "$T" || { echo "not ok - the mlx/numpy writers ran"; exit 1; }
hpy=$(bash "$S/tests/py/hf_venv.sh" | head -1) && [ -n "$hpy" ] &&
  { "$hpy" "$S/tests/py/st_writers.py" make-hf "$T" || { echo "not ok - the torch/transformers writers ran"; exit 1; }; } ||
  echo "note: no venv-hf; safetensors.torch and save_pretrained fixtures left out"
TRUEQ_LIBRARY="$lib" PYTHONPATH="$S/python" "$mpy" "$S/tests/py/st_writers.py" check "$T"
