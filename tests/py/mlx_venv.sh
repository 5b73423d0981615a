#!/usr/bin/env bash
# Reference environment for the MLX conformance tests: a venv outside the
# repository (~/.cache/trueq/venv-mlx, or $TRUEQ_MLX_VENV) with pinned PyPI
# packages: mlx[cpu] 0.32.4 (the Linux CPU build: mx.quantize is the
# known-answer reference) and mlx-lm 0.32.2 (the loader trueq's MLX output
# must satisfy). Idempotent. On success prints the venv's python. Exits 77
# (the tests' "skip") with a message when the venv cannot be made.
set -uo pipefail
venv="${TRUEQ_MLX_VENV:-${HOME:-/root}/.cache/trueq/venv-mlx}"
py="$venv/bin/python"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 || { echo "mlx_venv: cannot lock $venv.lock" >&2; exit 77; }
ok() { "$py" -c 'import mlx.core as mx, numpy; assert mx.__version__.startswith("0.32.4")' 2>/dev/null; }
if ! ok; then
  { /usr/bin/python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check 'mlx[cpu]==0.32.4' 'numpy' 'mlx-lm==0.32.2'; } >&2 ||
    { echo "mlx_venv: cannot install mlx[cpu] from PyPI into $venv" >&2; exit 77; }
  ok || { echo "mlx_venv: mlx does not import in $venv" >&2; exit 77; }
fi
echo "$py"
