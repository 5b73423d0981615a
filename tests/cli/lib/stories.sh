# Sourced by the end-to-end tests that need stories260k: sets M to its
# directory (../shared/models beside the source tree, or $TRUEQ_MODELS) and
# exits 77 (the ctest skip) with a message when its weights or tokenizer are
# absent. Not a test itself (tests/cli/lib/ is outside CMake's glob).
M=${TRUEQ_MODELS:-${TQ_SOURCE_DIR:-.}/../shared/models}/stories260k
if [ ! -f "$M/stories260K.safetensors" ] || [ ! -f "$M/tok512.bin" ]; then
  echo "skip: stories260k not found (set TRUEQ_MODELS)"; exit 77
fi
