#!/usr/bin/env bash
# The Hugging Face reference venv (tests/py/hf_venv.sh: transformers 4.46.3
# over Debian's torch) plus PyPI's gguf (and the sentencepiece it imports) and accelerate, pinned, which transformers needs to
# load a GGUF file (from_pretrained(..., gguf_file=...)). Used by the SmolLM2
# GGUF logits test (tests/test_llama_gguf.c). Idempotent; parallel callers
# wait on hf_venv.sh's lock. On success prints the venv's python. Exits 77
# (the tests' "skip") with a message when the venv or gguf cannot be had.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(bash "$here/hf_venv.sh")" || exit 77
py="$(printf '%s\n' "$out" | sed -n 1p)"
venv="$(dirname "$(dirname "$py")")"
exec 9>"$venv.gguf.lock"
flock 9 || { echo "gguf_run_hf_venv: cannot lock $venv.gguf.lock" >&2; exit 77; }
ok() { "$py" -c 'import gguf, transformers, accelerate; from gguf import GGUFReader, dequantize; assert gguf.__file__' 2>/dev/null; }
if ! ok; then
  "$venv/bin/pip" install -q --disable-pip-version-check 'gguf==0.10.0' 'sentencepiece==0.2.0' 'accelerate==0.34.2' >&2 ||
    { echo "gguf_run_hf_venv: cannot install gguf 0.10.0, sentencepiece 0.2.0 and accelerate 0.34.2 from PyPI into $venv" >&2; exit 77; }
  ok || { echo "gguf_run_hf_venv: gguf does not import in $venv" >&2; exit 77; }
fi
echo "$py"
