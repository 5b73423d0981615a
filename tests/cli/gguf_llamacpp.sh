#!/usr/bin/env bash
# llama.cpp judges trueq's GGUF writer (tests/py/gguf_write_llamacpp.py):
# byte-identical tensors and equal metadata (but trueq.converter) against
# llama.cpp's own quantizer for every --type, on stories260k and on a
# synthetic Llama with 256-multiple widths; llama.cpp loads trueq's files, its
# F32 greedy text equals `trueq generate`'s, quantized top-1 agreement and KL.
# Skips (77) when stories260k or the llama.cpp venv (never built here:
# TRUEQ_LLAMA_NO_BUILD) is absent.
set -u
CLI=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/stories.sh"   # sets M, or skips
PY=$(TRUEQ_LLAMA_NO_BUILD=1 bash "$SRC/tests/py/llama_venv.sh") || { echo "skip: llama.cpp (llama-cpp-python) venv not built"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$PY" "$SRC/tests/py/gguf_write_llamacpp.py" "$CLI" "$M/stories260K.safetensors" "$T" 2> "$T/stderr.log"; rc=$?
if [ $rc -ne 0 ]; then grep -v "^llama_model_quantize\|^\[\|^warning\|^converting\|^llama_model_loader" "$T/stderr.log" | tail -20; fi
exit $rc
