#!/usr/bin/env bash
# The quantization tools people use, for tests/cli/qtools_real.sh: a venv
# outside the repository (~/.cache/trueq/venv-qtools, or $TRUEQ_QTOOLS_VENV)
# with pinned PyPI packages that quantize and pack on the CPU:
#   torch 2.15.0 (PyPI's Linux wheel is the CUDA build: it does not import
#     without its nvidia-* libraries, so they come too, ~5 GB; nothing here
#     uses a GPU), compressed-tensors 0.20.1 (+ transformers, accelerate),
#     bitsandbytes 0.50.2 (its CPU backend: quantize_4bit, int8),
#   autoawq 0.2.9 and auto-gptq 0.7.1 without their dependencies: only their
#     packing and unpacking modules are imported (WQLinear_GEMM, GPTQ's
#     QuantLinear and its GPTQ solver), which are plain torch; their package
#     roots import model code that newer transformers broke, and their CUDA
#     kernels are never built or loaded.
# Idempotent; parallel callers wait on a lock; the install log is $venv.log.
# On success prints the venv's python. Exits 77 (the tests' "skip") with a
# message when the venv cannot be made (no PyPI, a failed install).
set -uo pipefail
venv="${TRUEQ_QTOOLS_VENV:-${HOME:-/root}/.cache/trueq/venv-qtools}"
py="$venv/bin/python"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 || { echo "qtools_venv: cannot lock $venv.lock" >&2; exit 77; }
ok() {
  "$py" - 2>/dev/null <<'EOF'
import importlib.util, torch, bitsandbytes, compressed_tensors, safetensors, numpy
assert torch.__version__.startswith("2.15.0") and bitsandbytes.__version__ == "0.50.2"
assert compressed_tensors.__version__.startswith("0.20.1")
assert importlib.util.find_spec("awq") and importlib.util.find_spec("auto_gptq")
torch.zeros(2).sum()
EOF
}
if ! ok; then
  echo "qtools_venv: installing torch (CPU use, ~5 GB with its CUDA libraries), compressed-tensors," \
       "bitsandbytes, autoawq, auto-gptq into $venv (log: $venv.log)" >&2
  { /usr/bin/python3 -m venv "$venv" &&
    "$venv/bin/pip" install --disable-pip-version-check 'torch==2.15.0' 'compressed-tensors==0.20.1' \
      'bitsandbytes==0.50.2' 'transformers==5.24.0' 'accelerate==1.16.0' 'safetensors==0.8.0' numpy &&
    "$venv/bin/pip" install --disable-pip-version-check --no-deps 'autoawq==0.2.9' 'auto-gptq==0.7.1'
  } > "$venv.log" 2>&1 ||
    { echo "qtools_venv: cannot install the tools from PyPI into $venv; see $venv.log" >&2; exit 77; }
  ok || { echo "qtools_venv: torch or a tool does not import in $venv; see $venv.log" >&2; exit 77; }
fi
echo "$py"
