#!/usr/bin/env bash
# Foreign quantized layouts as the real tools write them (issue 11): a tiny
# Llama quantized and saved by bitsandbytes (through transformers), by
# compressed-tensors, by AutoAWQ's packer and by AutoGPTQ's solver and packer
# (tests/py/qtools_fixtures.py in venv-qtools, tests/py/qtools_venv.sh): 22
# checkpoints, 14 modules each. tests/py/qtools_check.py then asks trueq:
# inspect's codec, bits, group, bits per weight (= the module's stored bytes)
# and bytes reconciling with the file; decode equal to the tool's own decode
# (bit for bit in float32, or once rounded to the tool's 16-bit dtype);
# trueq verify against that decode (0, or half an ulp of the 16-bit dtype).
# Skips (77) when the venv cannot be had, and under the sanitizer build.
set -u
. "${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/cli/lib/pylib.sh"   # S, B, lib; skips under sanitizers
py=$(bash "$S/tests/py/qtools_venv.sh") || { echo "SKIP: no venv-qtools (tests/py/qtools_venv.sh)"; exit 77; }
W=$(mktemp -d "${TMPDIR:-/tmp}/trueq-qtools.XXXXXX")
trap 'rm -rf "$W"' EXIT
"$py" "$S/tests/py/qtools_fixtures.py" "$W" > "$W.log" 2>&1 ||
  { echo "not ok - the tools could not make the fixtures:"; tail -20 "$W.log"; rm -f "$W.log"; exit 1; }
grep '^made ' "$W.log" | sed 's/^/# /'
rm -f "$W.log"
TRUEQ_LIBRARY="$lib" PYTHONPATH="$S/python" "$py" "$S/tests/py/qtools_check.py" "$B/trueq" "$W"
