#!/usr/bin/env bash
# llama.cpp's own quantizer and loader for conformance tests: a venv outside
# the repository (~/.cache/trueq/venv-llama, or $TRUEQ_LLAMA_VENV) with PyPI's
# llama-cpp-python built from source (portable x86-64 + AVX2, no -march=native,
# one build job, low priority), plus numpy and gguf.
# The first build takes a long time (tens of minutes on a loaded machine); its
# log is $venv.log. Idempotent; parallel callers wait on a lock. On success
# prints the venv's python. Exits 77 (the tests' "skip") with a message when
# the venv cannot be made (no PyPI, no compiler, a failed build), or at once
# when it is not built yet and TRUEQ_LLAMA_NO_BUILD is set (what tests do).
set -uo pipefail
venv="${TRUEQ_LLAMA_VENV:-${HOME:-/root}/.cache/trueq/venv-llama}"
py="$venv/bin/python"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 || { echo "llama_venv: cannot lock $venv.lock" >&2; exit 77; }
ok() { "$py" -c 'import llama_cpp, gguf, numpy' 2>/dev/null; }
if ! ok && [ -n "${TRUEQ_LLAMA_NO_BUILD:-}" ]; then
  echo "llama_venv: $venv is not built (run tests/py/llama_venv.sh once; TRUEQ_LLAMA_NO_BUILD is set)" >&2; exit 77
fi
if ! ok; then
  command -v cmake >/dev/null && command -v c++ >/dev/null ||
    { echo "llama_venv: cmake and a C++ compiler are needed to build llama-cpp-python" >&2; exit 77; }
  echo "llama_venv: building llama-cpp-python into $venv (log: $venv.log); this takes long" >&2
  nice -n 19 bash -c '/usr/bin/env python3 -m venv "$0" &&
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON" CMAKE_BUILD_PARALLEL_LEVEL=1 \
      "$0/bin/pip" install --disable-pip-version-check llama-cpp-python numpy gguf' "$venv" > "$venv.log" 2>&1 ||
    { echo "llama_venv: building llama-cpp-python failed or PyPI is unreachable; see $venv.log" >&2; exit 77; }
  ok || { echo "llama_venv: llama_cpp does not import in $venv; see $venv.log" >&2; exit 77; }
fi
echo "$py"
